//! The webhook inbox: an HTTP endpoint standing in for a client backend. It checks each
//! delivery's signature, decrypts it, and keeps a bounded log of every delivery, from which
//! tests take the accepted events in arrival order (or read them without taking them).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use payments_api::BodyCodec;
use payments_api::payments::PaymentWebhook;
use tokio::sync::watch;

/// How many deliveries the inbox remembers; beyond it the oldest are forgotten, taken or
/// not, so a sandbox that runs for days does not grow.
pub const INBOX_CAPACITY: usize = 10_000;

/// An event the inbox accepted.
#[derive(Debug, Clone)]
pub struct InboxEvent {
    /// The `webhook-id` header (the event's id).
    pub id: String,
    pub event: PaymentWebhook,
    /// The `webhook-timestamp` header.
    pub timestamp: String,
    /// The `webhook-signature` header: one `v1,…` signature per secret of the server.
    pub signature: String,
    /// The body as it came: the Base64 text of the encrypted event.
    pub body: String,
}

/// A delivery as the inbox recorded it, accepted or not.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Its place in the inbox's log: 1, 2, 3, … in arrival order, never reused (a clear
    /// keeps counting), so `after` cursors stay valid.
    pub seq: u64,
    pub received_at: DateTime<Utc>,
    /// The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    /// Whether the signature is one of the relay's secret over this body and timestamp.
    pub signature_valid: bool,
    /// The decrypted event, when the body decrypts to one.
    pub event: Option<PaymentWebhook>,
    /// The body as it came.
    pub body: String,
    /// The status the inbox answered: 2xx means accepted.
    pub answered: u16,
}

impl Delivery {
    /// Whether the inbox accepted it (a valid signature, an event, a 2xx answer).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.answered) && self.event.is_some()
    }

    fn to_event(&self) -> Option<InboxEvent> {
        Some(InboxEvent {
            id: self.id.clone(),
            event: self.event.clone()?,
            timestamp: self.timestamp.clone(),
            signature: self.signature.clone(),
            body: self.body.clone(),
        })
    }
}

/// Why no event came.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("no event arrived within {0:?}")]
    Timeout(Duration),
    #[error("the inbox is closed")]
    Closed,
}

/// The inbox. Its URL is what histories name as their `webhook_url`; clones share it.
#[derive(Debug, Clone)]
pub struct Inbox {
    url: String,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    status: AtomicU16,
    codec: BodyCodec,
    secret: String,
    log: Mutex<Log>,
    /// The seq of the newest delivery; waiters wake when it changes.
    newest: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Log {
    entries: VecDeque<(Delivery, bool)>,
    last_seq: u64,
}

impl Inbox {
    /// Listens on a loopback port; deliveries must carry a valid signature of `secret` and a
    /// body encrypted with `codec`.
    pub async fn start(
        codec: BodyCodec,
        secret: &str,
    ) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let inbox = Self::new(&format!("http://{}", listener.local_addr()?), codec, secret);
        let router = inbox.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((inbox, task))
    }

    /// An inbox to be served by the caller (with [`Inbox::router`]) at `base_url`.
    pub fn new(base_url: &str, codec: BodyCodec, secret: &str) -> Self {
        Self {
            url: format!("{}/webhook", base_url.trim_end_matches('/')),
            shared: Arc::new(Shared {
                status: AtomicU16::new(200),
                codec,
                secret: secret.to_owned(),
                log: Mutex::new(Log::default()),
                newest: watch::channel(0).0,
            }),
        }
    }

    /// The inbox's route, `POST /webhook`.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route("/webhook", axum::routing::post(receive))
            .with_state(self.shared.clone())
    }

    /// Where to send events: a history's `webhook_url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Makes the inbox answer later deliveries with `status` (e.g. 503 to play a client
    /// that is down); events answered with a non-2xx status are not handed out.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// The status the inbox answers valid deliveries with.
    pub fn answering(&self) -> u16 {
        self.shared.status.load(Ordering::SeqCst)
    }

    /// Forgets every delivery (the seq keeps counting).
    pub fn clear(&self) {
        self.shared.log().entries.clear();
    }

    /// The deliveries remembered whose seq is above `after`, oldest first.
    pub fn deliveries(&self, after: u64) -> Vec<Delivery> {
        let log = self.shared.log();
        log.entries
            .iter()
            .filter(|(d, _)| d.seq > after)
            .map(|(d, _)| d.clone())
            .collect()
    }

    /// The remembered delivery of the event with this `webhook-id` (the last, if it came
    /// more than once).
    pub fn delivery(&self, id: &str) -> Option<Delivery> {
        let log = self.shared.log();
        log.entries
            .iter()
            .rev()
            .find(|(d, _)| d.id == id)
            .map(|(d, _)| d.clone())
    }

    /// Changes whenever a delivery is recorded; its value is the newest seq.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.newest.subscribe()
    }

    /// The first delivery above `after` (accepted or not) for which `filter` holds, waiting
    /// at most `timeout` for one; nothing is taken, so other readers still see it.
    pub async fn wait(
        &self,
        after: u64,
        timeout: Duration,
        filter: impl Fn(&Delivery) -> bool,
    ) -> Result<Delivery, InboxError> {
        self.wait_then(timeout, |log| {
            log.entries
                .iter()
                .find(|(d, _)| d.seq > after && filter(d))
                .map(|(d, _)| d.clone())
        })
        .await
    }

    /// The next event, waiting at most `timeout`.
    pub async fn next(&self, timeout: Duration) -> Result<InboxEvent, InboxError> {
        self.next_matching(timeout, |_| true).await
    }

    /// The next event about the payment with this source id, waiting at most `timeout`;
    /// other events stay queued for later calls.
    pub async fn next_for(
        &self,
        source_id: &str,
        timeout: Duration,
    ) -> Result<InboxEvent, InboxError> {
        self.next_matching(timeout, |e| e.event.source.id == source_id)
            .await
    }

    /// The next event not yet taken for which `filter` holds, waiting at most `timeout`;
    /// it is taken, so later calls see the ones after it.
    pub async fn next_matching(
        &self,
        timeout: Duration,
        filter: impl Fn(&InboxEvent) -> bool,
    ) -> Result<InboxEvent, InboxError> {
        self.wait_then(timeout, |log| take(log, &filter)).await
    }

    /// An event already received and not yet taken, without waiting.
    pub async fn try_next(&self) -> Option<InboxEvent> {
        take(&mut self.shared.log(), |_| true)
    }

    /// Runs `look` on the log until it finds something or `timeout` passes.
    async fn wait_then<T>(
        &self,
        timeout: Duration,
        mut look: impl FnMut(&mut Log) -> Option<T>,
    ) -> Result<T, InboxError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Subscribed before looking, so a delivery between the look and the wait
            // still wakes it.
            let mut newest = self.shared.newest.subscribe();
            if let Some(found) = look(&mut self.shared.log()) {
                return Ok(found);
            }
            tokio::time::timeout_at(deadline, newest.changed())
                .await
                .map_err(|_| InboxError::Timeout(timeout))?
                .map_err(|_| InboxError::Closed)?;
        }
    }
}

fn take(log: &mut Log, filter: impl Fn(&InboxEvent) -> bool) -> Option<InboxEvent> {
    log.entries.iter_mut().find_map(|(delivery, taken)| {
        if *taken || !delivery.accepted() {
            return None;
        }
        let event = delivery.to_event()?;
        filter(&event).then(|| {
            *taken = true;
            event
        })
    })
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let timestamp = header("webhook-timestamp");
    let signature = header("webhook-signature");
    // The server's clock may run ahead in tests: accept any timestamp within a year.
    let signature_valid = payments_api::signature::verify(
        &shared.secret,
        &id,
        &timestamp,
        &signature,
        &body,
        chrono::Utc::now().timestamp(),
        365 * 86_400,
    )
    .is_ok();
    let event = shared.codec.decrypt_json::<PaymentWebhook>(&body).ok();
    let status = shared.status.load(Ordering::SeqCst);
    let answered = if !signature_valid {
        StatusCode::UNAUTHORIZED
    } else if !(200..300).contains(&status) {
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
    } else if event.is_none() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
    };
    let seq = {
        let mut log = shared.log();
        log.last_seq += 1;
        let seq = log.last_seq;
        if log.entries.len() >= INBOX_CAPACITY {
            log.entries.pop_front();
        }
        log.entries.push_back((
            Delivery {
                seq,
                received_at: Utc::now(),
                id,
                timestamp,
                signature,
                signature_valid,
                event,
                body,
                answered: answered.as_u16(),
            },
            false,
        ));
        seq
    };
    shared.newest.send_replace(seq);
    answered
}
