//! The merchants of a fake: one per credential, created on first use, bounded in number
//! and, through a [`Budget`] all their stores share, in the records they hold together.

use std::sync::{Arc, Mutex, MutexGuard};

use hashlink::LinkedHashMap;

use crate::store::Budget;

/// One merchant's data behind its own lock, so merchants never wait for each other.
#[derive(Debug)]
pub struct Merchant<M> {
    key: String,
    data: Mutex<M>,
}

impl<M> Merchant<M> {
    /// The credential that names the merchant.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The merchant's data.
    pub fn lock(&self) -> MutexGuard<'_, M> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a registry needs of a merchant's data to bound it.
pub trait Records {
    /// Forgets every record (the merchant itself is being forgotten).
    fn clear(&mut self);
}

/// At most `max` merchants, and at most `max_records` records over all of them: beyond
/// either, the least recently used merchants are forgotten first.
#[derive(Debug)]
pub struct Registry<M> {
    max: usize,
    max_records: usize,
    budget: Budget,
    /// By key, least recently used first.
    members: Mutex<LinkedHashMap<String, Arc<Merchant<M>>>>,
}

impl<M: Records> Registry<M> {
    pub fn new(max: usize, max_records: usize) -> Self {
        Self {
            max: max.max(1),
            max_records,
            budget: Budget::default(),
            members: Mutex::new(LinkedHashMap::new()),
        }
    }

    /// The merchant named `key`, made by `make` (with the budget its stores share) if it
    /// is new; either way it becomes the most recently used.
    pub fn get_or_create(&self, key: &str, make: impl FnOnce(Budget) -> M) -> Arc<Merchant<M>> {
        let mut members = self.lock();
        if let Some(merchant) = members.to_back(key) {
            return merchant.clone();
        }
        while members.len() >= self.max {
            let Some((_, oldest)) = members.pop_front() else {
                break;
            };
            oldest.lock().clear();
        }
        let merchant = Arc::new(Merchant {
            key: key.to_owned(),
            data: Mutex::new(make(self.budget.clone())),
        });
        members.insert(key.to_owned(), merchant.clone());
        merchant
    }

    /// The merchant named `key`, if it exists.
    pub fn get(&self, key: &str) -> Option<Arc<Merchant<M>>> {
        self.lock().get(key).cloned()
    }

    /// Every merchant, least recently used first.
    pub fn all(&self) -> Vec<Arc<Merchant<M>>> {
        self.lock().values().cloned().collect()
    }

    /// Forgets the least recently used merchants other than `current` while all of them
    /// together hold more than `max_records` records.
    pub fn enforce(&self, current: &str) {
        if self.budget.used() <= self.max_records {
            return;
        }
        let mut members = self.lock();
        while self.budget.used() > self.max_records {
            let Some(oldest) = members
                .iter()
                .map(|(key, _)| key)
                .find(|key| key.as_str() != current)
                .cloned()
            else {
                break;
            };
            if let Some(merchant) = members.remove(&oldest) {
                // Its records go now, not when the last request holding it ends.
                merchant.lock().clear();
            }
        }
    }

    /// How many records all merchants hold together.
    pub fn records(&self) -> usize {
        self.budget.used()
    }

    /// Forgets every merchant.
    pub fn clear(&self) {
        let mut members = self.lock();
        for (_, merchant) in members.iter() {
            merchant.lock().clear();
        }
        members.clear();
    }

    fn lock(&self) -> MutexGuard<'_, LinkedHashMap<String, Arc<Merchant<M>>>> {
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::VolatileStore;

    struct Data(VolatileStore<u32>);

    impl Records for Data {
        fn clear(&mut self) {
            self.0.clear();
        }
    }

    fn data(budget: Budget) -> Data {
        Data(VolatileStore::sharing(i64::MAX, 100, budget))
    }

    #[test]
    fn merchants_are_created_once_and_bounded() {
        let registry = Registry::new(2, usize::MAX);
        let a = registry.get_or_create("a", data);
        a.lock().0.insert("x".into(), 5, 0);
        assert_eq!(
            registry.get_or_create("a", data).lock().0.get("x", 0),
            Some(&5)
        );
        registry.get_or_create("b", data);
        registry.get_or_create("c", data);
        assert!(registry.get("a").is_none());
        assert!(registry.get("c").is_some());
        assert_eq!(
            registry.records(),
            0,
            "the forgotten merchant's records went with it"
        );
        registry.clear();
        assert!(registry.get("c").is_none());
    }

    #[test]
    fn the_records_of_all_merchants_are_bounded_least_recently_used_first() {
        let registry = Registry::new(10, 5);
        for key in ["a", "b", "c"] {
            let merchant = registry.get_or_create(key, data);
            merchant.lock().0.insert("1".into(), 1, 0);
            merchant.lock().0.insert("2".into(), 2, 0);
            registry.enforce(key);
        }
        // "a" went when "c" took the total to 6.
        assert!(registry.get("a").is_none());
        assert_eq!(registry.records(), 4);
        // Using "b" makes "c" the least recently used.
        registry.get_or_create("b", data);
        let d = registry.get_or_create("d", data);
        for n in 0..3 {
            d.lock().0.insert(n.to_string(), n, 0);
        }
        registry.enforce("d");
        assert!(registry.get("c").is_none() && registry.get("b").is_some());
        // The one in use is never forgotten for its own records.
        for n in 3..9 {
            d.lock().0.insert(n.to_string(), n, 0);
        }
        registry.enforce("d");
        assert!(registry.get("d").is_some());
        assert_eq!(registry.records(), 9);
    }
}
