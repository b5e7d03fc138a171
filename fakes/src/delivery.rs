//! Webhook delivery with retries on the fake's clock.
//!
//! A fake hands each webhook to its [`Dispatcher`]. In [`DeliveryMode::Async`] a background
//! worker posts them one at a time, in order; in [`DeliveryMode::Sync`] the request that
//! caused them waits until the first attempt of each is done, so a test sees the webhook
//! before it sees the response. A failed attempt (no answer, or a status other than 2xx) is
//! retried after each delay of the schedule in turn, measured on the fake's clock: moving
//! the clock forward makes due retries run.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::journal::{DeliveryRecord, Journal};

/// When the first attempt of a webhook happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryMode {
    /// In the background, right after the response (as the PGs do).
    #[default]
    Async,
    /// Before the response that caused it returns: deterministic tests.
    Sync,
}

/// A webhook to deliver.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: String,
    /// A label for the journal, e.g. `PAYMENT_STATUS_CHANGED`.
    pub event: String,
    /// What it is about: a paymentKey or an imp_uid.
    pub subject: String,
    pub body: Body,
}

/// A webhook body and its content type.
#[derive(Debug, Clone)]
pub enum Body {
    /// `application/json`.
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

/// The state of one webhook, as `GET /internal/webhooks` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: u64,
    pub event: String,
    pub subject: String,
    pub url: String,
    pub attempts: u32,
    /// `pending`, `delivered` or `failed` (all attempts used up).
    pub state: DeliveryState,
    pub next_attempt_at: Option<String>,
    pub body: serde_json::Value,
}

/// Where a webhook stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

/// The delivery settings of a fake.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub mode: DeliveryMode,
    /// The delays before the 2nd, 3rd, … attempts.
    pub retry_schedule: Vec<Duration>,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How many webhooks are remembered; the oldest finished ones are forgotten first.
    pub capacity: usize,
}

/// Delivers a fake's webhooks.
#[derive(Debug)]
pub struct Dispatcher {
    config: DeliveryConfig,
    client: reqwest::Client,
    clock: Arc<Clock>,
    journal: Arc<Journal>,
    state: Mutex<State>,
    worker: OnceLock<mpsc::UnboundedSender<u64>>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    deliveries: HashMap<u64, Delivery>,
    order: VecDeque<u64>,
    /// Due retries: (due at, in ms on the fake's clock; id) → id.
    retries: BTreeMap<(i64, u64), u64>,
}

#[derive(Debug)]
struct Delivery {
    outgoing: Outgoing,
    attempts: u32,
    state: DeliveryState,
    next_attempt_ms: Option<i64>,
}

impl Dispatcher {
    /// A dispatcher posting with its own HTTP client.
    pub fn new(config: DeliveryConfig, clock: Arc<Clock>, journal: Arc<Journal>) -> Self {
        crate::tls::install_provider();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("payments-fakes/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS provider is installed, so the client builds");
        Self {
            config,
            client,
            clock,
            journal,
            state: Mutex::new(State::default()),
            worker: OnceLock::new(),
        }
    }

    /// The delivery mode.
    pub fn mode(&self) -> DeliveryMode {
        self.config.mode
    }

    /// Queues webhooks; in sync mode, also makes their first attempt before returning.
    pub async fn send(self: &Arc<Self>, batch: Vec<Outgoing>) {
        if batch.is_empty() {
            return;
        }
        let ids: Vec<u64> = {
            let mut state = self.lock();
            batch
                .into_iter()
                .map(|outgoing| state.add(outgoing, self.config.capacity))
                .collect()
        };
        match self.config.mode {
            DeliveryMode::Sync => {
                for id in ids {
                    self.attempt(id).await;
                }
            }
            DeliveryMode::Async => {
                let worker = self.worker.get_or_init(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(work(Arc::downgrade(self), rx));
                    tx
                });
                for id in ids {
                    let _ = worker.send(id);
                }
            }
        }
    }

    /// Attempts every retry that is due on the fake's clock, oldest first.
    pub async fn run_due(&self) {
        loop {
            let now = self.clock.now_ms();
            let next = {
                let mut state = self.lock();
                let due = state
                    .retries
                    .keys()
                    .next()
                    .copied()
                    .filter(|(at, _)| *at <= now);
                due.and_then(|key| state.retries.remove(&key))
            };
            match next {
                Some(id) => self.attempt(id).await,
                None => break,
            }
        }
    }

    /// Every remembered webhook, oldest first.
    pub fn list(&self) -> Vec<DeliveryView> {
        let state = self.lock();
        state
            .order
            .iter()
            .filter_map(|id| state.deliveries.get(id).map(|d| (id, d)))
            .map(|(id, d)| DeliveryView {
                id: *id,
                event: d.outgoing.event.clone(),
                subject: d.outgoing.subject.clone(),
                url: d.outgoing.url.clone(),
                attempts: d.attempts,
                state: d.state,
                next_attempt_at: d.next_attempt_ms.map(format_ms),
                body: match &d.outgoing.body {
                    Body::Json(v) => v.clone(),
                    Body::Form(pairs) => serde_json::Value::Object(
                        pairs
                            .iter()
                            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                            .collect(),
                    ),
                },
            })
            .collect()
    }

    /// Forgets every webhook, pending ones included.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.deliveries.clear();
        state.order.clear();
        state.retries.clear();
    }

    async fn attempt(&self, id: u64) {
        let Some(outgoing) = ({
            let state = self.lock();
            state
                .deliveries
                .get(&id)
                .filter(|d| d.state == DeliveryState::Pending)
                .map(|d| d.outgoing.clone())
        }) else {
            return;
        };
        let request = self.client.post(&outgoing.url);
        let request = match &outgoing.body {
            Body::Json(value) => request.json(value),
            Body::Form(pairs) => request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form_encode(pairs)),
        };
        let (status, error) = match request.send().await {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(e) => (None, Some(describe(&e))),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let now = self.clock.now_ms();
        let (attempt, next_attempt_ms) = {
            let mut state = self.lock();
            let Some(delivery) = state.deliveries.get_mut(&id) else {
                return;
            };
            delivery.attempts += 1;
            let attempt = delivery.attempts;
            let retry_delay = self.config.retry_schedule.get(attempt as usize - 1);
            delivery.next_attempt_ms = None;
            if delivered {
                delivery.state = DeliveryState::Delivered;
            } else if let Some(delay) = retry_delay {
                let at = now + delay.as_millis() as i64;
                delivery.next_attempt_ms = Some(at);
                state.retries.insert((at, id), id);
            } else {
                delivery.state = DeliveryState::Failed;
            }
            let next = state.deliveries.get(&id).and_then(|d| d.next_attempt_ms);
            (attempt, next)
        };
        self.journal.delivery(DeliveryRecord {
            seq: 0,
            at: format_ms(now),
            delivery: id,
            event: outgoing.event,
            subject: outgoing.subject,
            url: outgoing.url,
            attempt,
            status,
            error,
            delivered,
            next_attempt_at: next_attempt_ms.map(format_ms),
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn add(&mut self, outgoing: Outgoing, capacity: usize) -> u64 {
        while self.order.len() >= capacity.max(1) {
            // Forget the oldest finished webhook; if all are pending, the oldest pending.
            let position = self
                .order
                .iter()
                .position(|id| {
                    self.deliveries
                        .get(id)
                        .is_none_or(|d| d.state != DeliveryState::Pending)
                })
                .unwrap_or(0);
            if let Some(id) = self.order.remove(position)
                && let Some(d) = self.deliveries.remove(&id)
                && let Some(at) = d.next_attempt_ms
            {
                self.retries.remove(&(at, id));
            }
        }
        self.next_id += 1;
        let id = self.next_id;
        self.deliveries.insert(
            id,
            Delivery {
                outgoing,
                attempts: 0,
                state: DeliveryState::Pending,
                next_attempt_ms: None,
            },
        );
        self.order.push_back(id);
        id
    }
}

async fn work(dispatcher: Weak<Dispatcher>, mut queue: mpsc::UnboundedReceiver<u64>) {
    while let Some(id) = queue.recv().await {
        let Some(dispatcher) = dispatcher.upgrade() else {
            break;
        };
        dispatcher.attempt(id).await;
    }
}

fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        // The innermost cause says the most ("connection closed before message completed").
        let mut source: &dyn std::error::Error = error;
        while let Some(next) = source.source() {
            source = next;
        }
        source.to_string()
    }
}

/// Encodes pairs as `application/x-www-form-urlencoded`.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    fn encode(text: &str, out: &mut String) {
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.push(byte as char)
                }
                b' ' => out.push('+'),
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(key, &mut out);
        out.push('=');
        encode(value, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_what_it_must() {
        let pairs = vec![
            ("imp_uid".to_string(), "imp_1".to_string()),
            ("status".to_string(), "a b&c=ü".to_string()),
        ];
        assert_eq!(form_encode(&pairs), "imp_uid=imp_1&status=a+b%26c%3D%C3%BC");
    }
}
