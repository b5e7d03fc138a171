//! The webhook inbox: an HTTP endpoint standing in for a client backend. It checks each
//! delivery's signature, decrypts it, and hands the events to the test in arrival order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use payments_api::BodyCodec;
use payments_api::payments::PaymentWebhook;
use tokio::sync::{Mutex, mpsc};

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

/// Why no event came.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("no event arrived within {0:?}")]
    Timeout(Duration),
    #[error("the inbox is closed")]
    Closed,
}

/// The inbox. Its URL is what histories name as their `webhook_url`.
#[derive(Debug)]
pub struct Inbox {
    url: String,
    status: Arc<AtomicU16>,
    events: Mutex<mpsc::UnboundedReceiver<InboxEvent>>,
    /// Events taken off the queue by a filtered `next` but not matching it, kept in order.
    skipped: Mutex<std::collections::VecDeque<InboxEvent>>,
}

#[derive(Clone)]
struct Shared {
    events: mpsc::UnboundedSender<InboxEvent>,
    status: Arc<AtomicU16>,
    codec: BodyCodec,
    secret: String,
}

impl Inbox {
    /// Listens on a loopback port; deliveries must carry a valid signature of `secret` and a
    /// body encrypted with `codec`.
    pub async fn start(
        codec: BodyCodec,
        secret: &str,
    ) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(200));
        let shared = Shared {
            events: tx,
            status: status.clone(),
            codec,
            secret: secret.to_owned(),
        };
        let router = axum::Router::new()
            .route("/webhook", axum::routing::post(receive))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhook", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((
            Self {
                url,
                status,
                events: Mutex::new(rx),
                skipped: Mutex::new(Default::default()),
            },
            task,
        ))
    }

    /// Where to send events: a history's `webhook_url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Makes the inbox answer later deliveries with `status` (e.g. 503 to play a client
    /// that is down); events answered with a non-2xx status are not handed out.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
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

    /// The next event for which `filter` holds, waiting at most `timeout`.
    pub async fn next_matching(
        &self,
        timeout: Duration,
        filter: impl Fn(&InboxEvent) -> bool,
    ) -> Result<InboxEvent, InboxError> {
        {
            let mut skipped = self.skipped.lock().await;
            if let Some(i) = skipped.iter().position(&filter) {
                return Ok(skipped.remove(i).expect("the position exists"));
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut events = self.events.lock().await;
        loop {
            let event = tokio::time::timeout_at(deadline, events.recv())
                .await
                .map_err(|_| InboxError::Timeout(timeout))?
                .ok_or(InboxError::Closed)?;
            if filter(&event) {
                return Ok(event);
            }
            self.skipped.lock().await.push_back(event);
        }
    }

    /// An event already received, without waiting.
    pub async fn try_next(&self) -> Option<InboxEvent> {
        if let Some(event) = self.skipped.lock().await.pop_front() {
            return Some(event);
        }
        self.events.lock().await.try_recv().ok()
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
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
    let signed = payments_api::signature::verify(
        &shared.secret,
        &id,
        &timestamp,
        &signature,
        &body,
        chrono::Utc::now().timestamp(),
        365 * 86_400,
    );
    if signed.is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let status = shared.status.load(Ordering::SeqCst);
    if !(200..300).contains(&status) {
        return StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    }
    let Ok(event) = shared.codec.decrypt_json::<PaymentWebhook>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let _ = shared.events.send(InboxEvent {
        id,
        event,
        timestamp,
        signature,
        body,
    });
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}
