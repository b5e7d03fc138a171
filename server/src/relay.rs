//! The relay: delivers the outbox's client events to each payment's `webhook_url`, at least
//! once, in order per payment, signed the Standard Webhooks way, retrying with exponential
//! backoff and jitter until the event is `max_age` old. State lives in the database, so a
//! restart loses nothing, and instances sharing a database each claim different events.
//!
//! The relay also keeps the outbox small: events done for longer than the retention period
//! are pruned with their attempts, a small batch at a time.
//!
//! Endpoints do not wait for each other. Each delivery runs on its own, so a slow endpoint
//! holds up nothing but itself. An endpoint (a URL's scheme, host and port) gets a few
//! attempts at a time while it answers, and one once it fails: the endpoint's other events
//! are put back unattempted until it is due again, which backs off, like an event's
//! retries, with every failure in a row. So 200 events for a dead endpoint cost one attempt
//! per backoff, not 200, and never delay another client's event.
//!
//! An endpoint that failed may be back before its backoff ends. So an event never attempted
//! yet is sent to a backing-off endpoint as a probe, one at a time and at most one per poll
//! interval; and as soon as an attempt at an endpoint succeeds, the events this instance
//! put back for it are due again at once. Retries of the events that failed keep their own
//! backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payments_api::BodyCodec;
use payments_api::signature;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::config;
use crate::crypto::OpenError;
use crate::egress::{Egress, GuardedResolver, Refused};
use crate::outbox::{AttemptRow, EventRow, EventState, Outbox};

/// How many events one claim takes.
const BATCH: i64 = 32;
/// How many deliveries may be under way at once; more due events wait for a free place.
const MAX_IN_FLIGHT: usize = 256;
/// How many deliveries may be under way at once to one endpoint that answers.
const PER_ENDPOINT: usize = 8;
/// How many characters of a client's answer are kept: enough to recognise an error page,
/// too few to hold much of what a client might echo back.
const EXCERPT: usize = 64;
/// How many bytes of a client's answer are read at most: enough for the excerpt's
/// characters at four bytes each. The rest is never read.
const EXCERPT_BYTES: usize = EXCERPT * 4;
/// How many done events one pruning removes, so it never holds the tables for long.
const PRUNE_BATCH: i64 = 200;
/// How often the relay looks for events to prune when the last look found few.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How many put-back events an endpoint remembers, to make them due again when it answers;
/// those beyond wait for the end of its backoff.
const HELD_PER_ENDPOINT: usize = 256;

/// Why an attempt got no answer from the client.
#[derive(Debug, thiserror::Error)]
enum Undelivered {
    #[error("the event cannot be opened: {0}")]
    Unopenable(#[from] OpenError),
    #[error("timed out")]
    TimedOut,
    #[error("could not connect")]
    Unreachable,
    #[error("refused: {0}")]
    Refused(#[from] Refused),
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
    /// The addresses deliveries may reach; the HTTP client's resolver applies it too.
    egress: Arc<Egress>,
    /// Endpoints with an attempt under way or backing off, by origin.
    endpoints: Mutex<HashMap<String, Endpoint>>,
    config: config::Relay,
}

/// What the relay knows of an endpoint with an attempt under way or failures in a row.
#[derive(Debug, Default)]
struct Endpoint {
    /// Attempts to it under way.
    in_flight: usize,
    /// Failed attempts in a row.
    failures: i64,
    /// No attempt before this time (ms), but probes.
    closed_until: i64,
    /// When a probe (an event never attempted) was last let through while closed (ms).
    probed_at: i64,
    /// Events put back unattempted while it was busy or closed: due again when an attempt
    /// at it succeeds.
    held: Vec<Uuid>,
}

/// The endpoint of a URL: its origin (scheme, host and port).
fn endpoint_of(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    Some(url.origin().ascii_serialization())
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
        let egress = Arc::new(Egress::new(&config.allow_private));
        // No redirect and no proxy: either would take a delivery somewhere the egress
        // rule did not check.
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(payments_api::tls::client_config())
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(GuardedResolver::new(egress.clone()))
            .user_agent(concat!("payments-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            outbox,
            codec,
            http,
            keys,
            egress,
            endpoints: Mutex::default(),
            config: config.clone(),
        })
    }

    /// Delivers until `stop` turns true: whenever an event is written, and every poll
    /// interval for retries that fell due; prunes done events on the way. Deliveries run
    /// alongside; on stop, those under way are finished.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        let mut next_prune = Instant::now();
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            // Drain: a full batch means more may be waiting.
            while running.len() < MAX_IN_FLIGHT {
                match self.start_due(&mut running).await {
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
            let full = running.len() >= MAX_IN_FLIGHT;
            tokio::select! {
                () = self.outbox.woken() => {}
                () = tokio::time::sleep(poll) => {}
                // A dropped sender (the server's task gone) stops the relay too; waiting on
                // it again would answer at once, forever.
                changed = stop.changed() => if changed.is_err() { break },
                Some(_) = running.join_next(), if full => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        while running.join_next().await.is_some() {}
    }

    /// Waits until no delivery is under way, for at most one delivery's timeout; answers
    /// whether none is. What a reset waits for before it forgets what clients received: a
    /// delivery claimed before the reset would land after it.
    pub async fn quiet(&self) -> bool {
        let deadline =
            Instant::now() + Duration::from_secs_f64(self.config.timeout_seconds.max(0.0) + 1.0);
        loop {
            let busy = self
                .endpoints
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
                .any(|endpoint| endpoint.in_flight > 0);
            if !busy {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Claims the due events and delivers them, different endpoints concurrently, waiting
    /// for those deliveries. Answers how many events were claimed.
    pub async fn tick(self: &Arc<Self>) -> Result<usize, sqlx::Error> {
        let mut running = JoinSet::new();
        let claimed = self.start_due(&mut running).await?;
        while running.join_next().await.is_some() {}
        Ok(claimed)
    }

    /// Claims the due events and starts their deliveries in `running`, one per endpoint at
    /// a time; puts back the events of endpoints that are busy or backing off. Answers how
    /// many events were claimed.
    async fn start_due(self: &Arc<Self>, running: &mut JoinSet<()>) -> Result<usize, sqlx::Error> {
        let now = self.outbox.clock().now_ms();
        let timeout_ms = (self.config.timeout_seconds * 1000.0) as i64;
        let lease = timeout_ms * 3 + 5_000;
        let events = self.outbox.claim(now + lease, BATCH).await?;
        let count = events.len();
        for event in events {
            // An event whose URL does not open is attempted: the attempt records why.
            let endpoint = self
                .outbox
                .webhook_url(&event)
                .ok()
                .and_then(|url| endpoint_of(&url));
            let held = endpoint
                .as_deref()
                .and_then(|endpoint| self.hold(endpoint, &event, now, now + timeout_ms));
            if let (Some((until, remembered)), Some(endpoint)) = (held, endpoint.as_deref()) {
                self.outbox.postpone(&event, until).await?;
                // An attempt at the endpoint that succeeded while the event was being put
                // back took it from the held ones, but could not make it due: it was still
                // leased. Making it due here is then this claim's part.
                if remembered && !self.still_held(endpoint, event.id) {
                    self.outbox.release(&[event.id], now).await?;
                }
                continue;
            }
            let relay = self.clone();
            running.spawn(async move {
                let outcome = relay.deliver(event).await;
                let delivered = outcome.is_ok();
                let released = match endpoint {
                    Some(endpoint) => relay.settle(&endpoint, outcome),
                    None => Vec::new(),
                };
                if !released.is_empty() {
                    let now = relay.outbox.clock().now_ms();
                    if let Err(error) = relay.outbox.release(&released, now).await {
                        // They are due at the end of the backoff all the same.
                        tracing::warn!(%error, "the relay could not make held events due");
                    }
                }
                if delivered {
                    // The payment's next event may be due now, and the endpoint's held ones.
                    relay.outbox.written();
                }
            });
        }
        Ok(count)
    }

    /// Takes `endpoint` for an attempt at `event` now, or answers until when the event
    /// waits: the end of the endpoint's backoff, or of the attempts under way (`busy_until`)
    /// when it has no room. A backing-off endpoint still takes an event never attempted as
    /// a probe, when nothing is under way to it and no probe went in the last poll interval.
    /// With the time, whether the event is remembered among those made due on a success.
    fn hold(
        &self,
        endpoint: &str,
        event: &EventRow,
        now: i64,
        busy_until: i64,
    ) -> Option<(i64, bool)> {
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        // Forget endpoints idle and due again: the map holds only those that matter now.
        if endpoints.len() > 1024 {
            endpoints.retain(|_, e| e.in_flight > 0 || e.closed_until > now);
        }
        let state = endpoints.entry(endpoint.to_owned()).or_default();
        let room = if state.failures == 0 { PER_ENDPOINT } else { 1 };
        let poll = self.config.poll_interval_ms as i64;
        let until = if state.closed_until > now {
            let probe = event.attempts == 0
                && state.in_flight == 0
                && now.saturating_sub(state.probed_at) >= poll;
            if probe {
                state.probed_at = now;
                state.in_flight += 1;
                return None;
            }
            state.closed_until
        } else if state.in_flight >= room {
            busy_until
        } else {
            state.in_flight += 1;
            return None;
        };
        let remembered = state.held.len() < HELD_PER_ENDPOINT;
        if remembered {
            state.held.push(event.id);
        }
        Some((until, remembered))
    }

    /// Whether `event` is still among the events held for `endpoint`, to be made due when
    /// an attempt at it succeeds.
    fn still_held(&self, endpoint: &str, event: Uuid) -> bool {
        let endpoints = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        endpoints
            .get(endpoint)
            .is_some_and(|state| state.held.contains(&event))
    }

    /// Records the outcome of an attempt at `endpoint`: a success opens it and answers the
    /// events held for it, to be made due now; a failure (at the time it carries) backs it
    /// off as a whole.
    fn settle(&self, endpoint: &str, outcome: Result<(), i64>) -> Vec<Uuid> {
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        let state = endpoints.entry(endpoint.to_owned()).or_default();
        state.in_flight = state.in_flight.saturating_sub(1);
        let Err(failed_at) = outcome else {
            state.failures = 0;
            state.closed_until = 0;
            let held = std::mem::take(&mut state.held);
            if state.in_flight == 0 {
                endpoints.remove(endpoint);
            }
            return held;
        };
        state.failures += 1;
        state.closed_until = failed_at + self.backoff(state.failures);
        Vec::new()
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

    /// One attempt at `event`, recorded; answers whether the client took it, or when it
    /// did not.
    async fn deliver(&self, event: EventRow) -> Result<(), i64> {
        let id = event.id;
        // Its log lines carry the event's id and the id of the request that wrote it.
        let request = event.request_id.clone().unwrap_or_default();
        let span = tracing::info_span!("delivery", event = %id, request = %request);
        let (delivered, at) = tracing::Instrument::instrument(self.attempt(event), span).await;
        match delivered {
            Ok(true) => Ok(()),
            Ok(false) => Err(at),
            Err(error) => {
                tracing::warn!(%error, event = %id, "recording a delivery failed; it will be retried");
                Err(at)
            }
        }
    }

    /// One attempt, recorded: whether it was delivered, and the time it ended.
    async fn attempt(&self, mut event: EventRow) -> (Result<bool, sqlx::Error>, i64) {
        let started = Instant::now();
        let attempted_at = self.outbox.clock().now_ms();
        let opened = self
            .outbox
            .open(&event)
            .and_then(|json| Ok((json, self.outbox.webhook_url(&event)?)));
        let outcome = match opened {
            Ok((json, url)) => self.post(event.id, &url, &json).await,
            Err(error) => Err(error.into()),
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let (status, excerpt) = match outcome {
            Ok(answer) => (Some(answer.status), answer.excerpt),
            Err(error) => (None, error.to_string()),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let outcome = match status {
            _ if delivered => "delivered",
            Some(_) => "rejected",
            None => "unanswered",
        };
        crate::metrics::relay_attempt(outcome, started.elapsed());
        tracing::info!(
            attempt = event.attempts + 1,
            status,
            latency_ms,
            outcome,
            "delivery attempt"
        );
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
        if let Err(error) = self.record(&event, &attempt).await {
            return (Err(error), now);
        }
        if event.state == EventState::Pending {
            tracing::info!(event = %event.id, attempt = event.attempts, "delivery failed; will retry");
        }
        (Ok(delivered), now)
    }

    /// Records an attempt. While the database cannot be reached (its node died, or is
    /// rejoining its cluster), tries again as long as the event's lease lasts: an attempt
    /// the client took and that is recorded in time is not sent again by another instance
    /// when the lease runs out. Past the lease it gives up; the event is then sent again
    /// (at least once).
    async fn record(&self, event: &EventRow, attempt: &AttemptRow) -> Result<(), sqlx::Error> {
        let lease_until = event.lease_until.unwrap_or(i64::MIN);
        let mut pause = Duration::from_millis(100);
        loop {
            match self.outbox.finish(event, attempt).await {
                Err(e)
                    if crate::db::is_unavailable(&e)
                        && self.outbox.clock().now_ms() + (pause.as_millis() as i64)
                            < lease_until =>
                {
                    tracing::debug!(error = %e, event = %event.id, "recording a delivery waits for the database");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                outcome => return outcome,
            }
        }
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
        let url = self.egress.check_url(url)?;
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
    // The guarded resolver's refusal comes back wrapped in the connector's error.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Undelivered::Refused(refused.clone());
        }
        source = cause.source();
    }
    if error.is_timeout() {
        Undelivered::TimedOut
    } else if error.is_connect() {
        Undelivered::Unreachable
    } else {
        Undelivered::Http(error.without_url().to_string())
    }
}

/// The first characters of an answer's start, sanitised: control characters and runs of
/// whitespace become one space, so an excerpt is one line of text whatever the client
/// sent. A character cut by the byte limit is left out rather than shown broken.
fn excerpt(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(EXCERPT_BYTES)];
    let whole = match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    };
    let mut out = String::new();
    let mut space = false;
    for c in String::from_utf8_lossy(whole).chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if out.chars().count() >= EXCERPT {
            break;
        }
        if std::mem::take(&mut space) {
            out.push(' ');
        }
        out.push(c);
    }
    out.chars().take(EXCERPT).collect()
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

    #[test]
    fn an_excerpt_is_one_short_line() {
        assert_eq!(
            excerpt(b"\r\n  <h1>Bad\tGateway</h1>\x1b[31m\n\n"),
            "<h1>Bad Gateway</h1> [31m"
        );
        assert_eq!(excerpt(&[b'x'; 300]).len(), EXCERPT);
    }
}
