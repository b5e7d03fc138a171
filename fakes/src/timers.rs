//! Work due at a time on the fake's clock: expiries, scheduled payments.
//!
//! Each merchant keeps the deadlines of its own records, keyed by the record, one per
//! record at most. A deadline is armed when a record starts to wait and disarmed when it
//! stops waiting or is evicted, so a merchant never holds more deadlines than waiting
//! records, and a deadline holds nothing but its time and the record's key.

use std::collections::BTreeSet;

use crate::store::VolatileStore;

/// The deadlines of one merchant's records: earliest first.
#[derive(Debug)]
pub struct Deadlines<K: Ord> {
    /// (due at, in ms on the fake's clock; the record's key).
    due: BTreeSet<(i64, K)>,
}

impl<K: Ord> Default for Deadlines<K> {
    fn default() -> Self {
        Self {
            due: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone> Deadlines<K> {
    /// Moves the deadline of `key` from `before` to `after` (either may be none).
    pub fn update(&mut self, key: &K, before: Option<i64>, after: Option<i64>) {
        if before == after {
            return;
        }
        if let Some(at) = before {
            self.due.remove(&(at, key.clone()));
        }
        if let Some(at) = after {
            self.due.insert((at, key.clone()));
        }
    }

    /// Takes every deadline due by `now_ms`, earliest first.
    pub fn take_due(&mut self, now_ms: i64) -> Vec<(i64, K)> {
        let mut due = Vec::new();
        while self.due.first().is_some_and(|(at, _)| *at <= now_ms) {
            if let Some(next) = self.due.pop_first() {
                due.push(next);
            }
        }
        due
    }

    /// How many deadlines are armed.
    pub fn len(&self) -> usize {
        self.due.len()
    }

    /// Whether none is armed.
    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        self.due.clear();
    }
}

impl Deadlines<Box<str>> {
    /// Changes the live record `key` of `store` by `change`, and moves the record's deadline
    /// (what `deadline_of` reads of it) with it, so that the two never disagree; `None` when
    /// `store` holds no live record `key`.
    pub fn change<V, T>(
        &mut self,
        store: &mut VolatileStore<V>,
        key: &str,
        now_ms: i64,
        deadline_of: impl Fn(&V) -> Option<i64>,
        change: impl FnOnce(&mut V) -> T,
    ) -> Option<T> {
        let record = store.get_mut(key, now_ms)?;
        let before = deadline_of(record);
        let changed = change(record);
        self.update(&key.into(), before, deadline_of(record));
        Some(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_come_out_when_due_in_order_and_move_with_their_record() {
        let mut deadlines = Deadlines::default();
        deadlines.update(&"c", None, Some(30));
        deadlines.update(&"a", None, Some(10));
        deadlines.update(&"b", None, Some(20));
        deadlines.update(&"c", Some(30), Some(40));
        deadlines.update(&"b", Some(20), None);
        assert_eq!(deadlines.len(), 2);
        assert!(deadlines.take_due(9).is_empty());
        assert_eq!(deadlines.take_due(40), vec![(10, "a"), (40, "c")]);
        assert!(deadlines.is_empty());
        deadlines.update(&"d", None, Some(1));
        deadlines.clear();
        assert!(deadlines.take_due(100).is_empty());
    }

    #[test]
    fn a_changed_record_moves_its_deadline() {
        let mut store = VolatileStore::new(1_000_000, 10);
        store.insert("a".into(), Some(10_i64), 0);
        let mut deadlines: Deadlines<Box<str>> = Deadlines::default();
        deadlines.update(&"a".into(), None, Some(10));
        let changed = deadlines.change(
            &mut store,
            "a",
            0,
            |due| *due,
            |due| {
                *due = Some(50);
                "moved"
            },
        );
        assert_eq!(changed, Some("moved"));
        assert!(deadlines.take_due(49).is_empty());
        assert_eq!(deadlines.take_due(50), vec![(50, "a".into())]);
        let none = deadlines.change(&mut store, "b", 0, |due| *due, |_| ());
        assert_eq!(none, None);
    }
}
