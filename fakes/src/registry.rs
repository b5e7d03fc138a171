//! The merchants of a fake: one per credential, created on first use, bounded in number.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

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

/// At most `max` merchants; the least recently created is forgotten first.
#[derive(Debug)]
pub struct Registry<M> {
    max: usize,
    inner: Mutex<Members<M>>,
}

/// The merchants by key, and their keys oldest first.
type Members<M> = (HashMap<String, Arc<Merchant<M>>>, VecDeque<String>);

impl<M> Registry<M> {
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// The merchant named `key`, made by `make` if it is new.
    pub fn get_or_create(&self, key: &str, make: impl FnOnce() -> M) -> Arc<Merchant<M>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(merchant) = inner.0.get(key) {
            return merchant.clone();
        }
        while inner.0.len() >= self.max {
            let Some(oldest) = inner.1.pop_front() else {
                break;
            };
            inner.0.remove(&oldest);
        }
        let merchant = Arc::new(Merchant {
            key: key.to_owned(),
            data: Mutex::new(make()),
        });
        inner.0.insert(key.to_owned(), merchant.clone());
        inner.1.push_back(key.to_owned());
        merchant
    }

    /// The merchant named `key`, if it exists.
    pub fn get(&self, key: &str) -> Option<Arc<Merchant<M>>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.get(key).cloned()
    }

    /// Forgets every merchant.
    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.clear();
        inner.1.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchants_are_created_once_and_bounded() {
        let registry = Registry::new(2);
        let a = registry.get_or_create("a", || 1);
        *a.lock() = 5;
        assert_eq!(*registry.get_or_create("a", || 1).lock(), 5);
        registry.get_or_create("b", || 2);
        registry.get_or_create("c", || 3);
        assert!(registry.get("a").is_none());
        assert_eq!(registry.get("c").map(|m| *m.lock()), Some(3));
        registry.clear();
        assert!(registry.get("c").is_none());
    }
}
