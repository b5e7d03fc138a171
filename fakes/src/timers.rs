//! Work due at a time on the fake's clock: expiries, scheduled payments.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

/// A queue of items, each due at a time in ms on the fake's clock.
#[derive(Debug)]
pub struct Timers<T: Ord> {
    heap: Mutex<Queue<T>>,
}

/// The last sequence number handed out, and the items by (due, sequence): earliest first,
/// and in arming order among items due at the same time.
type Queue<T> = (u64, BinaryHeap<Reverse<(i64, u64, T)>>);

impl<T: Ord> Default for Timers<T> {
    fn default() -> Self {
        Self {
            heap: Mutex::new((0, BinaryHeap::new())),
        }
    }
}

impl<T: Ord> Timers<T> {
    /// Arms `item` for `due_ms`.
    pub fn push(&self, due_ms: i64, item: T) {
        let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        heap.0 += 1;
        let seq = heap.0;
        heap.1.push(Reverse((due_ms, seq, item)));
    }

    /// Takes every item due by `now_ms`, earliest first, with its due time.
    pub fn take_due(&self, now_ms: i64) -> Vec<(i64, T)> {
        let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        let mut due = Vec::new();
        while heap
            .1
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now_ms)
        {
            if let Some(Reverse((at, _, item))) = heap.1.pop() {
                due.push((at, item));
            }
        }
        due
    }

    /// Disarms everything.
    pub fn clear(&self) {
        self.heap
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_when_due_in_order() {
        let timers = Timers::default();
        timers.push(30, "c");
        timers.push(10, "a");
        timers.push(20, "b");
        assert!(timers.take_due(9).is_empty());
        assert_eq!(timers.take_due(20), vec![(10, "a"), (20, "b")]);
        timers.clear();
        assert!(timers.take_due(100).is_empty());
    }
}
