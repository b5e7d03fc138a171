//! The relay: delivers the outbox's client events to each payment's `webhook_url`, at least
//! once, in order per payment, signed the Standard Webhooks way, retrying with exponential
//! backoff and jitter until the event is `max_age` old. State lives in the database, so a
//! restart loses nothing, and instances sharing a database each claim different events.
//!
//! The relay also keeps the outbox small: events done for longer than the retention period
//! are pruned with their attempts, a small batch at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use payments_api::BodyCodec;
use payments_api::signature;
use tokio::sync::watch;
use uuid::Uuid;

use crate::config;
use crate::crypto::OpenError;
use crate::outbox::{AttemptRow, EventRow, EventState, Outbox};

/// How many events one claim takes.
const BATCH: i64 = 32;
/// How many characters of a client's answer are kept.
const EXCERPT: usize = 256;
/// How many bytes of a client's answer are read at most: enough for the excerpt's
/// characters at four bytes each. The rest is never read.
const EXCERPT_BYTES: usize = EXCERPT * 4;
/// How many done events one pruning removes, so it never holds the tables for long.
const PRUNE_BATCH: i64 = 200;
/// How often the relay looks for events to prune when the last look found few.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Why an attempt got no answer from the client.
#[derive(Debug, thiserror::Error)]
enum Undelivered {
    #[error("the event cannot be opened: {0}")]
    Unopenable(#[from] OpenError),
    #[error("timed out")]
    TimedOut,
    #[error("could not connect")]
    Unreachable,
    #[error("{0}")]
    Http(String),
}

/// The client's answer to an attempt.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// The start of the body.
    excerpt: String,
}

/// The delivery worker of one server instance.
#[derive(Debug)]
pub struct Relay {
    outbox: Arc<Outbox>,
    codec: BodyCodec,
    http: reqwest::Client,
    /// The decoded signing secrets; every delivery is signed with each.
    keys: Vec<Vec<u8>>,
    config: config::Relay,
}

impl Relay {
    /// A relay for `outbox`, encrypting bodies with `codec` and signing them with `keys`.
    pub fn new(
        outbox: Arc<Outbox>,
        codec: BodyCodec,
        keys: Vec<Vec<u8>>,
        config: &config::Relay,
    ) -> Result<Self, reqwest::Error> {
        let timeout = Duration::from_secs_f64(config.timeout_seconds);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("payments-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            outbox,
            codec,
            http,
            keys,
            config: config.clone(),
        })
    }

    /// Delivers until `stop` turns true: whenever an event is written, and every poll
    /// interval for retries that fell due; prunes done events on the way.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        let mut next_prune = Instant::now();
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
            if Instant::now() >= next_prune {
                // A full batch means more are due: the next round prunes again.
                next_prune = match self.prune_batch().await {
                    Ok(n) if n as i64 == PRUNE_BATCH => Instant::now(),
                    Ok(_) => Instant::now() + PRUNE_EVERY,
                    Err(error) => {
                        tracing::warn!(%error, "the relay could not prune done events");
                        Instant::now() + PRUNE_EVERY
                    }
                };
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
        for result in futures_util::future::join_all(deliveries).await {
            if let Err(error) = result {
                tracing::warn!(%error, "recording a delivery failed; it will be retried");
            }
        }
        Ok(count)
    }

    /// Prunes every event done for longer than the retention period, batch by batch;
    /// answers how many went. The relay itself prunes one batch at a time as it runs.
    pub async fn prune(&self) -> Result<u64, sqlx::Error> {
        let mut total = 0;
        loop {
            let pruned = self.prune_batch().await?;
            total += pruned;
            if (pruned as i64) < PRUNE_BATCH {
                return Ok(total);
            }
        }
    }

    async fn prune_batch(&self) -> Result<u64, sqlx::Error> {
        let retention = i64::from(self.config.retention_days) * 86_400_000;
        let cutoff = self.outbox.clock().now_ms() - retention;
        self.outbox.prune(cutoff, PRUNE_BATCH).await
    }

    async fn deliver(&self, mut event: EventRow) -> Result<(), sqlx::Error> {
        let started = Instant::now();
        let attempted_at = self.outbox.clock().now_ms();
        let outcome = match self.outbox.open(&event) {
            Ok(json) => self.post(event.id, &event.webhook_url, &json).await,
            Err(error) => Err(error.into()),
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let (status, excerpt) = match outcome {
            Ok(answer) => (Some(answer.status), answer.excerpt),
            Err(error) => (None, error.to_string()),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        event.attempts += 1;
        let now = self.outbox.clock().now_ms();
        if delivered {
            event.state = EventState::Delivered;
            event.delivered_at = Some(now);
        } else {
            let next = now + self.backoff(event.attempts);
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
            status: status.map(i64::from),
            latency_ms,
            excerpt: Some(excerpt),
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

    /// One attempt: the event's JSON, encrypted and signed, posted to `url`. Only the start
    /// of the answer is read, however long the client makes it.
    async fn post(&self, id: Uuid, url: &str, json: &[u8]) -> Result<Answer, Undelivered> {
        let body = self.codec.encrypt(json);
        let timestamp = self.outbox.clock().now_ms() / 1000;
        let id = id.to_string();
        let signatures: Vec<String> = self
            .keys
            .iter()
            .map(|key| signature::sign(key, &id, timestamp, &body))
            .collect();
        let mut response = self
            .http
            .post(url)
            .header("content-type", "text/plain")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body)
            .send()
            .await
            .map_err(undelivered)?;
        let status = response.status().as_u16();
        let mut start = Vec::new();
        while start.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => start.extend_from_slice(&chunk),
                // The status is the answer; a body cut short still leaves its start.
                Ok(None) | Err(_) => break,
            }
        }
        // Dropping the response closes the connection with the rest unread.
        drop(response);
        Ok(Answer {
            status,
            excerpt: excerpt(&start),
        })
    }
}

fn undelivered(error: reqwest::Error) -> Undelivered {
    if error.is_timeout() {
        Undelivered::TimedOut
    } else if error.is_connect() {
        Undelivered::Unreachable
    } else {
        Undelivered::Http(error.without_url().to_string())
    }
}

/// The first characters of an answer's start; a character cut by the byte limit is left
/// out rather than shown broken.
fn excerpt(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(EXCERPT_BYTES)];
    let whole = match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    };
    String::from_utf8_lossy(whole)
        .chars()
        .take(EXCERPT)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_keeps_whole_characters_only() {
        assert_eq!(excerpt(b"ok"), "ok");
        let long = "가".repeat(1000);
        let cut = excerpt(&long.as_bytes()[..EXCERPT_BYTES]);
        assert_eq!(cut.chars().count(), EXCERPT);
        assert!(cut.chars().all(|c| c == '가'));
        // Three-byte characters: the byte limit cuts one in half; it is left out.
        let uneven = excerpt(&"é가".repeat(600).into_bytes()[..EXCERPT_BYTES + 7]);
        assert!(!uneven.contains('\u{FFFD}'), "{uneven}");
    }
}
