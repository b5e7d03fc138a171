//! The relay: delivers the outbox's client events to each payment's `webhook_url`, at least
//! once, in order per payment, signed the Standard Webhooks way, retrying with exponential
//! backoff and jitter until the event is `max_age` old. State lives in the database, so a
//! restart loses nothing, and instances sharing a database each claim different events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use payments_api::BodyCodec;
use payments_api::signature;
use tokio::sync::watch;

use crate::config;
use crate::outbox::{AttemptRow, EventRow, EventState, Outbox};

/// How many events one claim takes.
const BATCH: i64 = 32;
/// How much of a client's answer is kept.
const EXCERPT: usize = 256;

/// The delivery worker of one server instance.
#[derive(Debug)]
pub struct Relay {
    outbox: Arc<Outbox>,
    codec: BodyCodec,
    http: reqwest::Client,
    keys: Vec<Vec<u8>>,
    config: config::Relay,
}

impl Relay {
    pub fn new(
        outbox: Arc<Outbox>,
        codec: BodyCodec,
        config: &config::Relay,
    ) -> Result<Self, String> {
        let keys = config
            .signing_secrets
            .iter()
            .map(|s| signature::secret_key(s.expose()).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let timeout = Duration::from_secs_f64(config.timeout_seconds);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("payments-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            outbox,
            codec,
            http,
            keys,
            config: config.clone(),
        })
    }

    /// Delivers until `stop` turns true: whenever an event is written, and every poll
    /// interval for retries that fell due.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        loop {
            // Drain: a full batch means more may be waiting.
            loop {
                match self.tick().await {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "the relay could not claim events");
                        break;
                    }
                }
            }
            tokio::select! {
                () = self.outbox.woken() => {}
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    }

    /// Claims the due events and delivers them, different payments concurrently. Answers
    /// how many were claimed.
    pub async fn tick(&self) -> Result<usize, sqlx::Error> {
        let now = self.outbox.clock().now_ms();
        let lease = (self.config.timeout_seconds * 1000.0) as i64 * 3 + 5_000;
        let events = self.outbox.claim(now + lease, BATCH).await?;
        let count = events.len();
        let deliveries = events.into_iter().map(|event| self.deliver(event));
        for result in join_all(deliveries).await {
            if let Err(error) = result {
                tracing::warn!(%error, "recording a delivery failed; it will be retried");
            }
        }
        Ok(count)
    }

    async fn deliver(&self, mut event: EventRow) -> Result<(), sqlx::Error> {
        let started = Instant::now();
        let attempted_at = self.outbox.clock().now_ms();
        let outcome = match self.outbox.open(&event) {
            Ok(json) => {
                let body = self.codec.encrypt(&json);
                self.post(&event, body).await
            }
            Err(error) => Err(format!("the event cannot be opened: {error}")),
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let (status, excerpt, delivered) = match outcome {
            Ok((status, text)) => (
                Some(i64::from(status)),
                Some(text.chars().take(EXCERPT).collect::<String>()),
                (200..300).contains(&status),
            ),
            Err(error) => (None, Some(error), false),
        };
        event.attempts += 1;
        let now = self.outbox.clock().now_ms();
        if delivered {
            event.state = EventState::Delivered;
            event.delivered_at = Some(now);
        } else {
            let delay = self.backoff(event.attempts);
            let next = now + delay;
            let deadline = event.created_at + (self.config.max_age_seconds * 1000.0) as i64;
            if next > deadline {
                event.state = EventState::Failed;
            } else {
                event.next_attempt_at = next;
            }
        }
        let attempt = AttemptRow {
            event_id: event.id,
            attempt: event.attempts,
            attempted_at,
            status,
            latency_ms,
            excerpt,
        };
        self.outbox.finish(&event, &attempt).await?;
        if event.state == EventState::Pending {
            tracing::info!(event = %event.id, attempt = event.attempts, "delivery failed; will retry");
        }
        Ok(())
    }

    /// The delay before attempt `attempts + 1`: doubling from the initial backoff up to the
    /// maximum, ±20% jitter so failed clients are not hit by every instance at once.
    fn backoff(&self, attempts: i64) -> i64 {
        let exponent = (attempts - 1).clamp(0, 40) as i32;
        let base = (self.config.initial_backoff_seconds * 2f64.powi(exponent))
            .min(self.config.max_backoff_seconds);
        let mut random = [0u8; 2];
        let _ = getrandom::fill(&mut random);
        let jitter = f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX) * 0.4 - 0.2;
        (base * (1.0 + jitter) * 1000.0) as i64
    }

    async fn post(&self, event: &EventRow, body: String) -> Result<(u16, String), String> {
        let timestamp = self.outbox.clock().now_ms() / 1000;
        let signatures: Vec<String> = self
            .keys
            .iter()
            .map(|key| signature::sign(key, &event.id.to_string(), timestamp, &body))
            .collect();
        let response = self
            .http
            .post(&event.webhook_url)
            .header("content-type", "text/plain")
            .header("webhook-id", event.id.to_string())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_owned()
                } else if e.is_connect() {
                    "could not connect".to_owned()
                } else {
                    e.without_url().to_string()
                }
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((status, text))
    }
}

/// Runs futures concurrently; their outputs in order.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
