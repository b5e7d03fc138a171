//! A map whose entries expire after a TTL and whose size is capped: the fakes keep every
//! record in one, so a sandbox that runs all day under load never grows without bound.

use std::collections::{HashMap, VecDeque};

/// A bounded, expiring map from string keys to values.
///
/// Expired entries read as absent at once and are purged on the next insert; when the map is
/// full, an insert evicts the oldest entry. Times are the caller's clock, in milliseconds.
#[derive(Debug)]
pub struct VolatileStore<V> {
    ttl_ms: i64,
    capacity: usize,
    entries: HashMap<String, Entry<V>>,
    /// Insertion order, oldest first: (inserted at, insertion number, key).
    order: VecDeque<(i64, u64, String)>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    inserted_ms: i64,
    seq: u64,
}

impl<V> VolatileStore<V> {
    /// An empty store keeping entries `ttl_ms` milliseconds, at most `capacity` of them.
    pub fn new(ttl_ms: i64, capacity: usize) -> Self {
        Self {
            ttl_ms,
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Inserts or replaces `key`, first purging expired entries and, if the store is full,
    /// the oldest one. Returns what was purged, so the caller can drop its indexes of them.
    pub fn insert(&mut self, key: String, value: V, now_ms: i64) -> Vec<(String, V)> {
        let mut evicted = self.purge(now_ms);
        if !self.entries.contains_key(&key) {
            while self.entries.len() >= self.capacity {
                match self.pop_oldest() {
                    Some(entry) => evicted.push(entry),
                    None => break,
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push_back((now_ms, seq, key.clone()));
        self.entries.insert(
            key,
            Entry {
                value,
                inserted_ms: now_ms,
                seq,
            },
        );
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
        // Its place in `order` goes stale and is skipped when reached.
        self.entries.remove(key).map(|e| e.value)
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
        self.entries.clear();
        self.order.clear();
    }

    /// Live entries, in no particular order.
    pub fn iter(&self, now_ms: i64) -> impl Iterator<Item = (&String, &V)> {
        self.entries
            .iter()
            .filter(move |(_, e)| !self.is_expired(e.inserted_ms, now_ms))
            .map(|(k, e)| (k, &e.value))
    }

    fn is_expired(&self, inserted_ms: i64, now_ms: i64) -> bool {
        now_ms - inserted_ms >= self.ttl_ms
    }

    fn purge(&mut self, now_ms: i64) -> Vec<(String, V)> {
        let mut evicted = Vec::new();
        while let Some(&(inserted_ms, _, _)) = self.order.front() {
            if !self.is_expired(inserted_ms, now_ms) {
                break;
            }
            if let Some(entry) = self.pop_oldest() {
                evicted.push(entry);
            }
        }
        evicted
    }

    /// Pops the oldest insertion; skips stale positions of removed or re-inserted keys.
    fn pop_oldest(&mut self) -> Option<(String, V)> {
        while let Some((_, seq, key)) = self.order.pop_front() {
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                let entry = self.entries.remove(&key)?;
                return Some((key, entry.value));
            }
        }
        None
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
