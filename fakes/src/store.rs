//! A map whose entries expire after a TTL and whose size is capped: the fakes keep every
//! record in one, so a sandbox that runs all day under load never grows without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hashlink::LinkedHashMap;

/// A count of entries shared by stores, so that a bound can hold over all of them (every
/// store of every merchant of a fake): each store adds what it takes in and takes off
/// what it lets go, when dropped too.
#[derive(Debug, Clone, Default)]
pub struct Budget(Arc<AtomicUsize>);

impl Budget {
    /// How many entries the stores sharing this budget hold now.
    pub fn used(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, n: usize) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    fn release(&self, n: usize) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }
}

/// A bounded, expiring map from string keys to values.
///
/// Expired entries read as absent at once and are purged on the next insert; when the map is
/// full, an insert evicts the oldest entry. Re-inserting a key renews it: it becomes the
/// newest. Times are the caller's clock, in milliseconds. Every operation costs the same
/// whatever the size: the entries are kept in insertion order in one linked hash map, so
/// the oldest is always at the front and nothing else needs to be scanned or kept.
#[derive(Debug)]
pub struct VolatileStore<V> {
    ttl_ms: i64,
    capacity: usize,
    /// Oldest insertion first.
    entries: LinkedHashMap<Box<str>, Entry<V>>,
    budget: Budget,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    inserted_ms: i64,
}

impl<V> VolatileStore<V> {
    /// An empty store keeping entries `ttl_ms` milliseconds, at most `capacity` of them.
    pub fn new(ttl_ms: i64, capacity: usize) -> Self {
        Self::sharing(ttl_ms, capacity, Budget::default())
    }

    /// An empty store like [`new`](Self::new) whose entries count in `budget`.
    pub fn sharing(ttl_ms: i64, capacity: usize, budget: Budget) -> Self {
        Self {
            ttl_ms,
            capacity: capacity.max(1),
            entries: LinkedHashMap::new(),
            budget,
        }
    }

    /// Inserts or replaces `key`, first purging expired entries and, if the store is full,
    /// the oldest one. Returns what was purged, so the caller can drop its indexes of them.
    pub fn insert(&mut self, key: String, value: V, now_ms: i64) -> Vec<(String, V)> {
        let mut evicted = self.purge(now_ms);
        if !self.entries.contains_key(key.as_str()) {
            while self.entries.len() >= self.capacity {
                match self.entries.pop_front() {
                    Some((key, entry)) => evicted.push((key.into_string(), entry.value)),
                    None => break,
                }
            }
        }
        // `insert` moves an existing key to the back: a renewed entry is the newest.
        let replaced = self.entries.insert(
            key.into_boxed_str(),
            Entry {
                value,
                inserted_ms: now_ms,
            },
        );
        self.budget.add(usize::from(replaced.is_none()));
        self.budget.release(evicted.len());
        evicted
    }

    /// The live value of `key`.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|e| !self.is_expired(e.inserted_ms, now_ms))
            .map(|e| &e.value)
    }

    /// The live value of `key`, mutably. Changing a value does not renew its TTL.
    pub fn get_mut(&mut self, key: &str, now_ms: i64) -> Option<&mut V> {
        let ttl_ms = self.ttl_ms;
        self.entries
            .get_mut(key)
            .filter(|e| now_ms - e.inserted_ms < ttl_ms)
            .map(|e| &mut e.value)
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let removed = self.entries.remove(key).map(|e| e.value);
        self.budget.release(usize::from(removed.is_some()));
        removed
    }

    /// The number of entries held, expired ones not yet purged included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.budget.release(self.entries.len());
        self.entries.clear();
    }

    /// Live entries, oldest first.
    pub fn iter(&self, now_ms: i64) -> impl Iterator<Item = (&str, &V)> {
        self.entries
            .iter()
            .filter(move |(_, e)| !self.is_expired(e.inserted_ms, now_ms))
            .map(|(k, e)| (&**k, &e.value))
    }

    fn is_expired(&self, inserted_ms: i64, now_ms: i64) -> bool {
        now_ms - inserted_ms >= self.ttl_ms
    }

    /// Removes expired entries from the front. Entries are in insertion order, so the first
    /// live one ends the purge; one inserted out of order (the caller's clock went back)
    /// still reads as absent once expired, and goes when it reaches the front.
    fn purge(&mut self, now_ms: i64) -> Vec<(String, V)> {
        let mut evicted = Vec::new();
        while let Some((_, entry)) = self.entries.front() {
            if !self.is_expired(entry.inserted_ms, now_ms) {
                break;
            }
            if let Some((key, entry)) = self.entries.pop_front() {
                evicted.push((key.into_string(), entry.value));
            }
        }
        evicted
    }
}

impl<V> Drop for VolatileStore<V> {
    fn drop(&mut self) {
        self.budget.release(self.entries.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let mut s = VolatileStore::new(1000, 10);
        s.insert("a".into(), 1, 0);
        assert_eq!(s.get("a", 999), Some(&1));
        assert_eq!(s.get("a", 1000), None);
        assert!(s.get_mut("a", 1000).is_none());
        let evicted = s.insert("b".into(), 2, 1000);
        assert_eq!(evicted, vec![("a".to_string(), 1)]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn a_full_store_evicts_the_oldest() {
        let mut s = VolatileStore::new(i64::MAX, 2);
        s.insert("a".into(), 1, 0);
        s.insert("b".into(), 2, 1);
        assert_eq!(s.insert("c".into(), 3, 2), vec![("a".to_string(), 1)]);
        assert_eq!(
            (s.get("a", 3), s.get("b", 3), s.get("c", 3)),
            (None, Some(&2), Some(&3))
        );
    }

    #[test]
    fn replacing_a_key_does_not_evict_and_renews_it() {
        let mut s = VolatileStore::new(100, 2);
        s.insert("a".into(), 1, 0);
        s.insert("b".into(), 2, 10);
        assert!(s.insert("a".into(), 3, 50).is_empty());
        // "a" was re-inserted at 50: alive at 120 although first inserted at 0.
        assert_eq!(s.get("a", 120), Some(&3));
        // Its stale first position does not evict the new value.
        assert_eq!(s.insert("c".into(), 4, 120), vec![("b".to_string(), 2)]);
        assert_eq!(s.get("a", 121), Some(&3));
    }

    #[test]
    fn stores_sharing_a_budget_count_together_until_dropped() {
        let budget = Budget::default();
        let mut a = VolatileStore::sharing(100, 2, budget.clone());
        let mut b = VolatileStore::sharing(100, 2, budget.clone());
        a.insert("x".into(), 1, 0);
        a.insert("x".into(), 2, 0);
        a.insert("y".into(), 3, 0);
        b.insert("x".into(), 4, 0);
        assert_eq!(budget.used(), 3);
        a.insert("z".into(), 5, 0);
        assert_eq!(budget.used(), 3, "a full store evicts as it takes in");
        b.insert("w".into(), 6, 200);
        assert_eq!(budget.used(), 3, "an expired entry is purged");
        a.remove("z");
        assert_eq!(budget.used(), 2);
        drop(a);
        assert_eq!(budget.used(), 1);
        b.clear();
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn removed_keys_leave_no_trace() {
        let mut s = VolatileStore::new(i64::MAX, 2);
        s.insert("a".into(), 1, 0);
        assert_eq!(s.remove("a"), Some(1));
        s.insert("b".into(), 2, 1);
        s.insert("c".into(), 3, 2);
        assert_eq!(s.len(), 2);
        assert_eq!(s.iter(3).count(), 2);
    }
}

#[cfg(test)]
mod model_check {
    //! The store against the simplest model of its contract, under random operations.

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::VolatileStore;

    const TTL: i64 = 1_000;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u32),
        Get(u8),
        Remove(u8),
        Advance(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..10, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0u8..10).prop_map(Op::Get),
            1 => (0u8..10).prop_map(Op::Remove),
            2 => (0i64..400).prop_map(Op::Advance),
        ]
    }

    /// Key → (value, inserted at, insertion number): every rule spelled out plainly.
    #[derive(Default)]
    struct Model {
        entries: BTreeMap<String, (u32, i64, u64)>,
        next: u64,
    }

    impl Model {
        fn live(&self, now: i64) -> BTreeMap<String, u32> {
            self.entries
                .iter()
                .filter(|(_, (_, at, _))| now - at < TTL)
                .map(|(k, (v, _, _))| (k.clone(), *v))
                .collect()
        }

        fn insert(&mut self, key: String, value: u32, now: i64, capacity: usize) -> Vec<String> {
            let mut evicted: Vec<String> = self
                .entries
                .iter()
                .filter(|(_, (_, at, _))| now - at >= TTL)
                .map(|(k, _)| k.clone())
                .collect();
            for key in &evicted {
                self.entries.remove(key);
            }
            if !self.entries.contains_key(&key) {
                while self.entries.len() >= capacity {
                    let oldest = self
                        .entries
                        .iter()
                        .min_by_key(|(_, (_, _, n))| *n)
                        .map(|(k, _)| k.clone())
                        .expect("a full store has an oldest entry");
                    self.entries.remove(&oldest);
                    evicted.push(oldest);
                }
            }
            self.next += 1;
            self.entries.insert(key, (value, now, self.next));
            evicted.sort();
            evicted
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn behaves_like_its_model(capacity in 1usize..6, ops in proptest::collection::vec(op(), 1..200)) {
            let mut store = VolatileStore::new(TTL, capacity);
            let mut model = Model::default();
            let mut now = 0i64;
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let mut evicted: Vec<String> = store
                            .insert(k.to_string(), v, now)
                            .into_iter()
                            .map(|(k, _)| k)
                            .collect();
                        evicted.sort();
                        prop_assert_eq!(evicted, model.insert(k.to_string(), v, now, capacity));
                    }
                    Op::Get(k) => {
                        let expected = model.live(now).get(&k.to_string()).copied();
                        prop_assert_eq!(store.get(&k.to_string(), now).copied(), expected);
                    }
                    Op::Remove(k) => {
                        let expected = model.entries.remove(&k.to_string()).map(|(v, _, _)| v);
                        prop_assert_eq!(store.remove(&k.to_string()), expected);
                    }
                    Op::Advance(ms) => now += ms,
                }
                let live: BTreeMap<String, u32> =
                    store.iter(now).map(|(k, v)| (k.to_owned(), *v)).collect();
                prop_assert_eq!(live, model.live(now));
            }
        }
    }
}
