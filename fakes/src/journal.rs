//! What a fake saw and did: the requests it answered, the webhook deliveries it attempted,
//! and the webhook bodies posted to its sink. Tests read it through `GET /internal/journal`.
//!
//! It keeps the newest entries only, bounded twice: in number, and in bytes, since callers
//! choose the size of what they send. A body is kept as the bytes that came (its first
//! [`MAX_KEPT_BODY`] bytes) and parsed only when the journal is read: a small JSON body
//! parsed up front would take many times its size.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::Value;

use crate::delivery::Outgoing;

/// How many entries of each kind the journal keeps by default.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;

/// How many bytes all entries together may take by default.
pub const DEFAULT_JOURNAL_BYTES: usize = 16 << 20;

/// How much of one body the journal keeps; the rest is counted, not kept.
pub const MAX_KEPT_BODY: usize = 64 << 10;

/// One answered request, as the journal shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestRecord {
    pub seq: u64,
    /// When it was answered, on the fake's clock (RFC 3339).
    pub at: String,
    pub method: String,
    /// Path and query.
    pub path: String,
    pub status: u16,
    /// The request's id (`x-request-id`), as the fake's logs show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The merchant it was authenticated as (its key, shortened), if any.
    pub merchant: Option<String>,
    /// The injected fault, if one applied.
    pub fault: Option<String>,
    /// The request body, if it had one: its JSON, or its text when it is not JSON or was
    /// cut at [`MAX_KEPT_BODY`] bytes.
    pub body: Option<Value>,
    /// The body's size in bytes, when the journal kept only its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_truncated_from: Option<usize>,
}

/// One attempt to deliver a webhook.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceivedRecord {
    pub seq: u64,
    pub at: String,
    pub body: Value,
}

/// The entries newer than a given sequence number.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JournalSnapshot {
    pub requests: Vec<RequestRecord>,
    pub deliveries: Vec<DeliveryRecord>,
    pub received: Vec<ReceivedRecord>,
    /// The newest sequence number handed out; pass it as `after` to read only what follows.
    pub last_seq: u64,
    /// What the journal holds now, in bytes (at most its bound).
    pub bytes: usize,
}

/// A request as the journal keeps it.
#[derive(Debug, Clone)]
pub struct Request {
    /// When it was answered, in ms on the fake's clock.
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub request_id: Option<String>,
    pub merchant: Option<String>,
    pub fault: Option<String>,
    /// The body as it came; see [`Body::keep`].
    pub body: Option<Body>,
}

/// A delivery attempt as the journal keeps it: the webhook shared with the dispatcher and
/// times in ms, so that recording one copies and formats nothing; [`DeliveryRecord`] is
/// made of it when the journal is read.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When it was made, in ms on the fake's clock.
    pub at_ms: i64,
    /// The delivery's id.
    pub delivery: u64,
    pub outgoing: Arc<Outgoing>,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub status: Option<u16>,
    pub error: Option<Cow<'static, str>>,
    pub delivered: bool,
    /// When the next attempt is due, in ms on the fake's clock, if there is one.
    pub next_attempt_ms: Option<i64>,
}

impl Attempt {
    fn record(&self, seq: u64) -> DeliveryRecord {
        DeliveryRecord {
            seq,
            at: format_ms(self.at_ms),
            delivery: self.delivery,
            event: self.outgoing.event.clone(),
            subject: self.outgoing.subject.clone(),
            url: self.outgoing.url.clone(),
            attempt: self.attempt,
            status: self.status,
            error: self.error.as_deref().map(str::to_owned),
            delivered: self.delivered,
            next_attempt_at: self.next_attempt_ms.map(format_ms),
        }
    }
}

/// A body kept in the journal: its first [`MAX_KEPT_BODY`] bytes, and its whole size.
#[derive(Debug, Clone)]
pub struct Body {
    kept: Bytes,
    size: usize,
}

impl Body {
    /// Keeps a copy of the start of `bytes` (a copy, so that a large body is not held
    /// whole through a slice of it); nothing for an empty body.
    pub fn keep(bytes: &[u8]) -> Option<Self> {
        (!bytes.is_empty()).then(|| Self {
            kept: Bytes::copy_from_slice(&bytes[..bytes.len().min(MAX_KEPT_BODY)]),
            size: bytes.len(),
        })
    }

    fn truncated(&self) -> bool {
        self.kept.len() < self.size
    }

    /// JSON when the whole body was JSON; otherwise its text.
    fn to_json(&self) -> Value {
        if !self.truncated()
            && let Ok(value) = serde_json::from_slice(&self.kept)
        {
            return value;
        }
        Value::String(String::from_utf8_lossy(&self.kept).into_owned())
    }
}

/// A webhook body posted to the sink, as the journal keeps it.
#[derive(Debug, Clone)]
struct Received {
    at_ms: i64,
    body: Body,
    /// Form-encoded rather than JSON.
    form: bool,
    size: usize,
}

/// A bounded log of requests, deliveries and received webhooks.
#[derive(Debug)]
pub struct Journal {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    seq: u64,
    requests: VecDeque<(u64, Request, usize)>,
    deliveries: VecDeque<(u64, Attempt, usize)>,
    received: VecDeque<(u64, Received)>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::new(DEFAULT_JOURNAL_CAPACITY, DEFAULT_JOURNAL_BYTES)
    }
}

impl Journal {
    /// A journal keeping `capacity` entries of each kind and `max_bytes` in all.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                capacity: capacity.max(1),
                max_bytes,
                bytes: 0,
                seq: 0,
                requests: VecDeque::new(),
                deliveries: VecDeque::new(),
                received: VecDeque::new(),
            }),
        }
    }

    /// Records a request.
    pub fn request(&self, record: Request) {
        let size = std::mem::size_of::<Request>()
            + record.method.len()
            + record.path.len()
            + record.request_id.as_ref().map_or(0, String::len)
            + record.merchant.as_ref().map_or(0, String::len)
            + record.fault.as_ref().map_or(0, String::len)
            + record.body.as_ref().map_or(0, |b| b.kept.len());
        let mut inner = self.lock();
        let seq = inner.next_seq();
        if inner.requests.len() >= inner.capacity
            && let Some((_, _, size)) = inner.requests.pop_front()
        {
            inner.bytes -= size;
        }
        inner.requests.push_back((seq, record, size));
        inner.bytes += size;
        inner.shrink();
    }

    /// Records a delivery attempt. Its webhook is counted whole, since the journal may
    /// keep it after the dispatcher forgot it.
    pub fn delivery(&self, attempt: Attempt) {
        let outgoing = &attempt.outgoing;
        let size = std::mem::size_of::<Attempt>()
            + std::mem::size_of::<Outgoing>()
            + outgoing.event.len()
            + outgoing.subject.len()
            + outgoing.url.len()
            + outgoing.body.len()
            + attempt.error.as_ref().map_or(0, |e| e.len());
        let mut inner = self.lock();
        let seq = inner.next_seq();
        if inner.deliveries.len() >= inner.capacity
            && let Some((_, _, size)) = inner.deliveries.pop_front()
        {
            inner.bytes -= size;
        }
        inner.deliveries.push_back((seq, attempt, size));
        inner.bytes += size;
        inner.shrink();
    }

    /// Records a body posted to the sink, JSON or (`form`) form-encoded; an empty one is not
    /// recorded.
    pub fn received(&self, at_ms: i64, body: &[u8], form: bool) {
        let Some(body) = Body::keep(body) else {
            return;
        };
        let size = std::mem::size_of::<Received>() + body.kept.len();
        let mut inner = self.lock();
        let seq = inner.next_seq();
        if inner.received.len() >= inner.capacity
            && let Some((_, old)) = inner.received.pop_front()
        {
            inner.bytes -= old.size;
        }
        inner.received.push_back((
            seq,
            Received {
                at_ms,
                body,
                form,
                size,
            },
        ));
        inner.bytes += size;
        inner.shrink();
    }

    /// Entries with a sequence number above `after`, at most `limit` of each kind (newest).
    pub fn snapshot(&self, after: u64, limit: usize) -> JournalSnapshot {
        let inner = self.lock();
        let requests = newest(&inner.requests, after, limit, |(seq, _, _)| *seq)
            .map(|(seq, r, _)| RequestRecord {
                seq: *seq,
                at: format_ms(r.at_ms),
                method: r.method.clone(),
                path: r.path.clone(),
                status: r.status,
                request_id: r.request_id.clone(),
                merchant: r.merchant.clone(),
                fault: r.fault.clone(),
                body: r.body.as_ref().map(Body::to_json),
                body_truncated_from: r.body.as_ref().filter(|b| b.truncated()).map(|b| b.size),
            })
            .collect();
        let deliveries = newest(&inner.deliveries, after, limit, |(seq, _, _)| *seq)
            .map(|(seq, attempt, _)| attempt.record(*seq))
            .collect();
        let received = newest(&inner.received, after, limit, |(seq, _)| *seq)
            .map(|(seq, r)| ReceivedRecord {
                seq: *seq,
                at: format_ms(r.at_ms),
                body: if r.form {
                    form_to_json(&String::from_utf8_lossy(&r.body.kept))
                } else {
                    r.body.to_json()
                },
            })
            .collect();
        JournalSnapshot {
            requests,
            deliveries,
            received,
            last_seq: inner.seq,
            bytes: inner.bytes,
        }
    }

    /// How many bytes the journal holds now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Forgets everything (sequence numbers keep growing).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.requests.clear();
        inner.deliveries.clear();
        inner.received.clear();
        inner.bytes = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the journal inconsistent: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The last `limit` items with a sequence number above `after`; items are in order.
fn newest<T>(
    items: &VecDeque<T>,
    after: u64,
    limit: usize,
    seq: impl Fn(&T) -> u64,
) -> impl Iterator<Item = &T> {
    let first_fresh = items.partition_point(|item| seq(item) <= after);
    let skip = first_fresh.max(items.len().saturating_sub(limit));
    items.range(skip..)
}

impl Inner {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Drops the oldest entries, of whatever kind, until the bytes fit.
    fn shrink(&mut self) {
        while self.bytes > self.max_bytes {
            let oldest = [
                self.requests.front().map(|(seq, _, _)| *seq),
                self.deliveries.front().map(|(seq, _, _)| *seq),
                self.received.front().map(|(seq, _)| *seq),
            ];
            let freed = match oldest
                .iter()
                .enumerate()
                .filter_map(|(kind, seq)| seq.map(|s| (s, kind)))
                .min()
            {
                Some((_, 0)) => self.requests.pop_front().map(|(_, _, size)| size),
                Some((_, 1)) => self.deliveries.pop_front().map(|(_, _, size)| size),
                Some(_) => self.received.pop_front().map(|(_, r)| r.size),
                None => None,
            };
            match freed {
                Some(size) => self.bytes -= size,
                None => break,
            }
        }
    }
}

/// A form-encoded body as a JSON object of its fields.
pub fn form_to_json(text: &str) -> Value {
    let pairs = form_urlencoded::parse(text.trim().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    Value::Object(pairs)
}

/// A time in ms on the fake's clock, as the journal shows times.
pub fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, body: &[u8]) -> Request {
        Request {
            at_ms: 0,
            method: "GET".into(),
            path: path.into(),
            status: 200,
            request_id: None,
            merchant: None,
            fault: None,
            body: Body::keep(body),
        }
    }

    #[test]
    fn keeps_the_newest_entries_and_reads_after_a_mark() {
        let journal = Journal::new(2, usize::MAX);
        journal.request(request("/a", b""));
        journal.request(request("/b", b""));
        journal.request(request("/c", b""));
        let all = journal.snapshot(0, 100);
        let paths: Vec<_> = all.requests.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/b", "/c"]);
        assert_eq!(all.last_seq, 3);
        journal.received(0, b"imp_uid=imp_1&status=a+b%26c", true);
        let later = journal.snapshot(all.last_seq, 100);
        assert!(later.requests.is_empty());
        assert_eq!(
            later.received[0].body,
            serde_json::json!({"imp_uid": "imp_1", "status": "a b&c"})
        );
        assert_eq!(journal.snapshot(0, 1).requests[0].path, "/c");
    }

    #[test]
    fn bytes_are_bounded_oldest_first_and_large_bodies_cut() {
        let body = vec![b'1'; MAX_KEPT_BODY * 2];
        let journal = Journal::new(100, 3 * MAX_KEPT_BODY);
        for path in ["/1", "/2", "/3", "/4"] {
            journal.request(request(path, &body));
        }
        let snapshot = journal.snapshot(0, 100);
        assert!(snapshot.bytes <= 3 * MAX_KEPT_BODY);
        let paths: Vec<_> = snapshot.requests.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/3", "/4"]);
        assert_eq!(snapshot.requests[1].body_truncated_from, Some(body.len()));
        assert_eq!(
            snapshot.requests[1]
                .body
                .as_ref()
                .and_then(Value::as_str)
                .map(str::len),
            Some(MAX_KEPT_BODY)
        );
        journal.request(request("/json", br#"{"a": 1}"#));
        let last = journal.snapshot(0, 1).requests.remove(0);
        assert_eq!(last.body, Some(serde_json::json!({"a": 1})));
        assert_eq!(last.body_truncated_from, None);
        journal.clear();
        assert_eq!(journal.bytes(), 0);
    }
}
