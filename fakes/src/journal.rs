//! What a fake saw and did: the requests it answered, the webhook deliveries it attempted,
//! and the webhook bodies posted to its sink. Tests read it through `GET /internal/journal`;
//! it keeps the newest entries only, so it stays small under load.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

/// How many entries of each kind the journal keeps.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;

/// One answered request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub seq: u64,
    /// When it was answered, on the fake's clock (RFC 3339).
    pub at: String,
    pub method: String,
    /// Path and query.
    pub path: String,
    pub status: u16,
    /// The merchant it was authenticated as (its key, shortened), if any.
    pub merchant: Option<String>,
    /// The injected fault, if one applied.
    pub fault: Option<String>,
    /// The JSON request body, if it had one.
    pub body: Option<Value>,
}

/// One attempt to deliver a webhook.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub seq: u64,
    pub at: String,
    /// The delivery's id: the same for every attempt of one webhook.
    pub delivery: u64,
    /// The event, e.g. `PAYMENT_STATUS_CHANGED` or I'mport's status.
    pub event: String,
    /// What it is about: a paymentKey or an imp_uid.
    pub subject: String,
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why the attempt failed without an answer.
    pub error: Option<String>,
    /// Whether this attempt delivered the webhook.
    pub delivered: bool,
    /// When the next attempt is due, if there is one.
    pub next_attempt_at: Option<String>,
}

/// A body posted to the fake's own `/internal/webhook` sink.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedRecord {
    pub seq: u64,
    pub at: String,
    pub body: Value,
}

/// The entries newer than a given sequence number.
#[derive(Debug, Clone, Serialize)]
pub struct JournalSnapshot {
    pub requests: Vec<RequestRecord>,
    pub deliveries: Vec<DeliveryRecord>,
    pub received: Vec<ReceivedRecord>,
    /// The newest sequence number handed out; pass it as `after` to read only what follows.
    pub last_seq: u64,
}

/// A bounded log of requests, deliveries and received webhooks.
#[derive(Debug)]
pub struct Journal {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    capacity: usize,
    seq: u64,
    requests: VecDeque<RequestRecord>,
    deliveries: VecDeque<DeliveryRecord>,
    received: VecDeque<ReceivedRecord>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::new(DEFAULT_JOURNAL_CAPACITY)
    }
}

impl Journal {
    /// A journal keeping `capacity` entries of each kind.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                capacity: capacity.max(1),
                seq: 0,
                requests: VecDeque::new(),
                deliveries: VecDeque::new(),
                received: VecDeque::new(),
            }),
        }
    }

    /// Records a request; `seq` is filled in.
    pub fn request(&self, mut record: RequestRecord) {
        let mut inner = self.lock();
        record.seq = inner.next_seq();
        let capacity = inner.capacity;
        push_bounded(&mut inner.requests, record, capacity);
    }

    /// Records a delivery attempt; `seq` is filled in.
    pub fn delivery(&self, mut record: DeliveryRecord) {
        let mut inner = self.lock();
        record.seq = inner.next_seq();
        let capacity = inner.capacity;
        push_bounded(&mut inner.deliveries, record, capacity);
    }

    /// Records a body posted to the sink.
    pub fn received(&self, at: String, body: Value) {
        let mut inner = self.lock();
        let seq = inner.next_seq();
        let capacity = inner.capacity;
        push_bounded(
            &mut inner.received,
            ReceivedRecord { seq, at, body },
            capacity,
        );
    }

    /// Entries with a sequence number above `after`, at most `limit` of each kind (newest).
    pub fn snapshot(&self, after: u64, limit: usize) -> JournalSnapshot {
        let inner = self.lock();
        fn newest<T: Clone>(
            items: &VecDeque<T>,
            after: u64,
            limit: usize,
            seq: impl Fn(&T) -> u64,
        ) -> Vec<T> {
            let fresh: Vec<&T> = items.iter().filter(|r| seq(r) > after).collect();
            let skip = fresh.len().saturating_sub(limit);
            fresh.into_iter().skip(skip).cloned().collect()
        }
        JournalSnapshot {
            requests: newest(&inner.requests, after, limit, |r| r.seq),
            deliveries: newest(&inner.deliveries, after, limit, |r| r.seq),
            received: newest(&inner.received, after, limit, |r| r.seq),
            last_seq: inner.seq,
        }
    }

    /// Forgets everything (sequence numbers keep growing).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.requests.clear();
        inner.deliveries.clear();
        inner.received.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the journal inconsistent: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

fn push_bounded<T>(items: &mut VecDeque<T>, item: T, capacity: usize) {
    if items.len() >= capacity {
        items.pop_front();
    }
    items.push_back(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> RequestRecord {
        RequestRecord {
            seq: 0,
            at: String::new(),
            method: "GET".into(),
            path: path.into(),
            status: 200,
            merchant: None,
            fault: None,
            body: None,
        }
    }

    #[test]
    fn keeps_the_newest_entries_and_reads_after_a_mark() {
        let journal = Journal::new(2);
        journal.request(request("/a"));
        journal.request(request("/b"));
        journal.request(request("/c"));
        let all = journal.snapshot(0, 100);
        let paths: Vec<_> = all.requests.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/b", "/c"]);
        assert_eq!(all.last_seq, 3);
        journal.received(String::new(), Value::Null);
        let later = journal.snapshot(all.last_seq, 100);
        assert!(later.requests.is_empty());
        assert_eq!(later.received.len(), 1);
        assert_eq!(journal.snapshot(0, 1).requests[0].path, "/c");
    }
}
