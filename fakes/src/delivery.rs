//! Webhook delivery with retries on the fake's clock.
//!
//! A fake hands each webhook to its [`Dispatcher`]. In [`DeliveryMode::Async`] a background
//! worker makes first attempts in lanes: the webhooks about one payment (one subject) go to
//! an endpoint one at a time, in the order they were made, while the webhooks about other
//! payments go at the same time, up to [`PER_ENDPOINT`] attempts at once to one endpoint and
//! [`MAX_IN_FLIGHT`] in all. The PGs post concurrently and say so: Toss's webhook guide has
//! the merchant order events by their `createdAt`, not by arrival. So an endpoint that never
//! answers holds up only its own webhooks, and a busy endpoint is not limited to one round
//! trip at a time. In [`DeliveryMode::Sync`] the request that
//! caused them waits until the first attempt of each is done, so a test sees the webhook
//! before it sees the response. When an endpoint refuses a connection (nothing listens
//! there), the first attempts that were waiting for it fail at that moment with the same
//! reason, each recorded and retried on its own schedule, instead of each opening a
//! connection that would be refused too: a merchant's server that is down costs the fake
//! about one refused connection per burst, not one per webhook. A failed attempt (no
//! answer, or a status other than 2xx) is retried after each delay of the schedule in turn,
//! measured on the fake's clock: moving the clock forward makes due retries run. A webhook sent without retries gets one
//! attempt.
//!
//! At most `capacity` webhooks are remembered, delivered and failed ones forgotten first.
//! Every step costs the same whatever the number pending (ordered sets, no scans), so a
//! merchant whose endpoint is down does not slow the fake down for anyone.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, Request, Uri, header};
use futures_util::StreamExt as _;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{self, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::journal::{Attempt, Journal, form_to_json, format_ms};

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
    /// How each attempt is signed, if it is.
    pub signing: Option<Signing>,
}

/// A Standard Webhooks signature: every attempt carries `webhook-id` (the same on every
/// attempt), `webhook-timestamp` (the attempt's time on the fake's clock, so that a retry
/// hours later is not stale) and `webhook-signature` over both and the body.
#[derive(Debug, Clone)]
pub struct Signing {
    pub id: String,
    /// The key of the `whsec_` secret.
    pub key: Arc<[u8]>,
}

/// A webhook body, encoded once, with its content type.
#[derive(Debug, Clone)]
pub enum Body {
    /// `application/json`.
    Json(Bytes),
    /// `application/x-www-form-urlencoded`.
    Form(Bytes),
}

impl Body {
    /// `value` as JSON.
    pub fn json(value: &impl Serialize) -> Self {
        Self::Json(serde_json::to_vec(value).unwrap_or_default().into())
    }

    /// The pairs, form-encoded.
    pub fn form(pairs: &[(&str, &str)]) -> Self {
        Self::Form(form_encode(pairs).into())
    }

    fn content_type(&self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json(_) => "application/json",
            Self::Form(_) => "application/x-www-form-urlencoded",
        })
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Json(bytes) | Self::Form(bytes) => bytes.len(),
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn bytes(&self) -> Bytes {
        match self {
            Self::Json(bytes) | Self::Form(bytes) => bytes.clone(),
        }
    }

    /// What `GET /internal/webhooks` shows: the JSON, or the form's fields as an object.
    fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Json(bytes) => serde_json::from_slice(bytes).unwrap_or_default(),
            Self::Form(bytes) => form_to_json(&String::from_utf8_lossy(bytes)),
        }
    }
}

/// The state of one webhook, as `GET /internal/webhooks` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    /// Each retry waits its delay plus a random part of this, as a real service spreads
    /// its retries; zero for none.
    pub retry_jitter: Duration,
}

/// Delivers a fake's webhooks.
#[derive(Debug)]
pub struct Dispatcher {
    config: DeliveryConfig,
    client: HttpClient,
    clock: Arc<Clock>,
    journal: Arc<Journal>,
    state: Mutex<State>,
    /// Wakes the async worker when a first attempt is queued or ends, or when the dispatcher
    /// goes.
    wake: Arc<Notify>,
    worker: OnceLock<()>,
    /// Whether a failed attempt is retried only after a network error or a 5xx answer
    /// (I'mport's rule), rather than after any answer but a 2xx (Toss's).
    server_errors_only: AtomicBool,
    /// Timeouts set apart from `config.timeout` ([`Self::split_timeouts`]).
    split: OnceLock<SplitTimeouts>,
}

/// A first attempt's connect and read timeouts, in a client of their own, and each later
/// attempt's timeout in all.
#[derive(Debug)]
struct SplitTimeouts {
    /// Connects within the connect timeout.
    client: HttpClient,
    /// Counted from the attempt's start: connecting is part of it, as it is a moment on any
    /// endpoint that answers at all.
    read: Duration,
    retry: Duration,
}

/// The HTTP client of webhook attempts: hyper's pooled client (keep-alive connections, one
/// pool per dispatcher), HTTPS by rustls with the platform's verifier. Not reqwest, whose
/// layers cost as much as the rest of an attempt and do nothing a PG does here: a PG neither
/// follows a redirect from the merchant's endpoint nor retries but on its own schedule, and
/// it posts to the merchant's server directly, through no proxy.
type HttpClient = legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client that gives up connecting after `connect`.
fn http_client(connect: Duration) -> HttpClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(crate::tls::client_config())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    legacy::Client::builder(TokioExecutor::new()).build(https)
}

/// The `User-Agent` of every attempt.
const USER_AGENT: &str = concat!("payments-fakes/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    /// Every remembered webhook, by id: oldest first.
    deliveries: BTreeMap<u64, Delivery>,
    /// Delivered or failed ones, the first to forget.
    finished: BTreeSet<u64>,
    /// Pending ones, forgotten only when all remembered ones are pending.
    pending: BTreeSet<u64>,
    /// Pending ones waiting for their first attempt by the async worker, in order.
    first_attempts: BTreeSet<u64>,
    /// The async worker's lanes, by URL: only endpoints with a first attempt waiting or
    /// being made have one.
    endpoints: HashMap<String, Endpoint>,
    /// The oldest ready id of each endpoint with room for another attempt: the first
    /// attempts that may start now, oldest first.
    startable: BTreeSet<u64>,
    /// First attempts being made by the async worker.
    in_flight: usize,
    /// Due retries: (due at, in ms on the fake's clock; id).
    retries: BTreeSet<(i64, u64)>,
}

/// The first attempts waiting for one URL, a lane per subject, and how many are being made.
#[derive(Debug)]
struct Endpoint {
    /// The URL, parsed once for all the attempts made while the endpoint has any waiting;
    /// what does not parse fails each attempt.
    url: Result<Uri, Cow<'static, str>>,
    busy: usize,
    lanes: HashMap<String, Lane>,
    /// The oldest waiting id of each lane that has no attempt being made: the ones that may
    /// start once the endpoint has room.
    ready: BTreeSet<u64>,
}

impl Endpoint {
    /// The attempt this endpoint would start next, if it has room for one.
    fn next(&self) -> Option<u64> {
        if self.busy < PER_ENDPOINT {
            self.ready.first().copied()
        } else {
            None
        }
    }
}

/// The first attempts waiting about one subject at one URL, and whether one is being made.
#[derive(Debug, Default)]
struct Lane {
    waiting: BTreeSet<u64>,
    busy: bool,
}

/// How many first attempts the async worker makes at once. Each may wait the whole read
/// timeout (30 s for I'mport) on an endpoint that never answers; a burst of webhooks to many
/// endpoints still does not open a connection each at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// How many first attempts go to one endpoint at once: enough that a merchant's server is
/// not held to one round trip at a time, few enough that [`MAX_IN_FLIGHT`] takes eight
/// endpoints that never answer before other endpoints wait.
pub const PER_ENDPOINT: usize = 8;

#[derive(Debug)]
struct Delivery {
    /// Shared with the attempts the journal keeps.
    outgoing: Arc<Outgoing>,
    /// Whether a failed attempt may be retried.
    retries: bool,
    attempts: u32,
    state: DeliveryState,
    next_attempt_ms: Option<i64>,
}

impl Dispatcher {
    /// A dispatcher posting with its own HTTP client.
    pub fn new(config: DeliveryConfig, clock: Arc<Clock>, journal: Arc<Journal>) -> Self {
        let client = http_client(config.timeout);
        Self {
            config,
            client,
            clock,
            journal,
            state: Mutex::new(State::default()),
            wake: Arc::new(Notify::new()),
            worker: OnceLock::new(),
            server_errors_only: AtomicBool::new(false),
            split: OnceLock::new(),
        }
    }

    /// From now on, times a first attempt out after `connect` to connect or `read` waiting
    /// for the answer, and each later attempt after `retry` in all, instead of the one
    /// `timeout` (I'mport's rule). Only the first call counts.
    pub fn split_timeouts(&self, connect: Duration, read: Duration, retry: Duration) {
        self.split.get_or_init(|| SplitTimeouts {
            client: http_client(connect),
            read,
            retry,
        });
    }

    /// Retries a failed attempt only after a network error or a 5xx answer from now on.
    pub fn retry_server_errors_only(&self) {
        self.server_errors_only.store(true, Ordering::Relaxed);
    }

    /// The delivery mode.
    pub fn mode(&self) -> DeliveryMode {
        self.config.mode
    }

    /// Queues webhooks, each retried as the schedule says; in sync mode, also makes their
    /// first attempt before returning.
    pub async fn send(self: &Arc<Self>, batch: Vec<Outgoing>) {
        self.send_each(batch.into_iter().map(|o| (o, true)).collect())
            .await;
    }

    /// Queues webhooks as [`Self::send`] does, each with whether it may be retried: one
    /// that may not gets a single attempt.
    pub async fn send_each(self: &Arc<Self>, batch: Vec<(Outgoing, bool)>) {
        if batch.is_empty() {
            return;
        }
        let sync = self.config.mode == DeliveryMode::Sync;
        let ids: Vec<u64> = {
            let mut state = self.lock();
            batch
                .into_iter()
                .map(|(outgoing, retries)| {
                    state.add(outgoing, retries, self.config.capacity, !sync)
                })
                .collect()
        };
        if sync {
            for id in ids {
                self.attempt(id).await;
            }
        } else {
            self.worker.get_or_init(|| {
                tokio::spawn(work(Arc::downgrade(self), self.wake.clone()));
            });
            self.wake.notify_one();
        }
    }

    /// Attempts every retry that is due on the fake's clock: the retries about one payment
    /// at one URL one after another, oldest first, and the others at the same time (up to
    /// [`MAX_IN_FLIGHT`] at once), so that moving the clock past many failed webhooks of a
    /// slow endpoint costs about one attempt's wait, not one per webhook.
    pub async fn run_due(&self) {
        loop {
            let lanes = self.take_due();
            if lanes.is_empty() {
                break;
            }
            futures_util::stream::iter(lanes)
                .map(|ids| async move {
                    for id in ids {
                        self.attempt(id).await;
                    }
                })
                .buffer_unordered(MAX_IN_FLIGHT)
                .collect::<()>()
                .await;
        }
    }

    /// Takes the retries due now off the schedule, in lanes: each lane the retries about one
    /// subject at one URL, oldest first.
    fn take_due(&self) -> Vec<Vec<u64>> {
        let now = self.clock.now_ms();
        let mut state = self.lock();
        let mut lanes: Vec<Vec<u64>> = Vec::new();
        let mut lane_of: HashMap<(String, String), usize> = HashMap::new();
        while let Some(&(at, id)) = state.retries.first()
            && at <= now
        {
            state.retries.remove(&(at, id));
            let Some(delivery) = state.deliveries.get(&id) else {
                continue;
            };
            let key = (
                delivery.outgoing.url.clone(),
                delivery.outgoing.subject.clone(),
            );
            let lane = *lane_of.entry(key).or_insert_with(|| {
                lanes.push(Vec::new());
                lanes.len() - 1
            });
            lanes[lane].push(id);
        }
        lanes
    }

    /// How many webhooks wait for their first attempt by the async worker (the ones it is
    /// making not counted).
    pub fn waiting(&self) -> usize {
        self.lock().first_attempts.len()
    }

    /// Every remembered webhook, oldest first.
    pub fn list(&self) -> Vec<DeliveryView> {
        let state = self.lock();
        state
            .deliveries
            .iter()
            .map(|(id, d)| DeliveryView {
                id: *id,
                event: d.outgoing.event.clone(),
                subject: d.outgoing.subject.clone(),
                url: d.outgoing.url.clone(),
                attempts: d.attempts,
                state: d.state,
                next_attempt_at: d.next_attempt_ms.map(format_ms),
                body: d.outgoing.body.to_json(),
            })
            .collect()
    }

    /// Forgets every webhook, pending ones included. Ids go on growing, so that an id
    /// still in hand somewhere never names a new webhook.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Makes one attempt of the webhook `id`, if it is still pending. Answers why not, if
    /// its endpoint refused the connection.
    async fn attempt(&self, id: u64) -> Option<Cow<'static, str>> {
        let (outgoing, retries, first, url) = {
            let state = self.lock();
            state
                .deliveries
                .get(&id)
                .filter(|d| d.state == DeliveryState::Pending)
                .map(|d| {
                    let url = state
                        .endpoints
                        .get(&d.outgoing.url)
                        .map(|endpoint| endpoint.url.clone());
                    (d.outgoing.clone(), d.retries, d.attempts == 0, url)
                })
        }?;
        let (status, failure) = match self.post(&outgoing, first, url).await {
            Ok(status) => (Some(status), None),
            Err(failure) => (None, Some(failure)),
        };
        let refused = failure
            .as_ref()
            .filter(|f| f.refused)
            .map(|f| f.reason.clone());
        self.record(id, outgoing, retries, status, failure.map(|f| f.reason));
        refused
    }

    /// Records the attempt of webhook `id` that answered `status` or failed with `error`,
    /// and schedules its retry, if it gets one.
    fn record(
        &self,
        id: u64,
        outgoing: Arc<Outgoing>,
        retries: bool,
        status: Option<u16>,
        error: Option<Cow<'static, str>>,
    ) {
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let retryable =
            status.is_none_or(|s| s >= 500) || !self.server_errors_only.load(Ordering::Relaxed);
        let schedule: &[Duration] = if retries && retryable {
            &self.config.retry_schedule
        } else {
            &[]
        };
        let now = self.clock.now_ms();
        let Some((attempt, next_attempt_ms)) =
            self.lock()
                .record_attempt(id, delivered, now, schedule, self.config.retry_jitter)
        else {
            return;
        };
        self.journal.delivery(Attempt {
            at_ms: now,
            delivery: id,
            outgoing,
            attempt,
            status,
            error,
            delivered,
            next_attempt_ms,
        });
    }

    /// Fails the first attempts in `waiting` (each a webhook's id, what it is and whether it
    /// may be retried), which waited for an endpoint that has just refused a connection,
    /// with the refusal's `reason`, as if each had been refused in turn.
    fn share_refusal(&self, waiting: Vec<(u64, Arc<Outgoing>, bool)>, reason: Cow<'static, str>) {
        for (id, outgoing, retries) in waiting {
            self.record(id, outgoing, retries, None, Some(reason.clone()));
        }
    }

    /// Posts `outgoing` once to `url` (its endpoint's, parsed): the answer's status, or
    /// why there is none.
    async fn post(
        &self,
        outgoing: &Outgoing,
        first: bool,
        url: Option<Result<Uri, Cow<'static, str>>>,
    ) -> Result<u16, Failure> {
        let uri = match url {
            Some(parsed) => parsed,
            // Only an attempt whose endpoint has nothing waiting (a retry) parses here.
            None => parse_url(&outgoing.url),
        }
        .map_err(Failure::other)?;
        let mut request = Request::post(uri)
            .header(header::USER_AGENT, HeaderValue::from_static(USER_AGENT))
            .header(header::CONTENT_TYPE, outgoing.body.content_type());
        if let Some(signing) = &outgoing.signing {
            let timestamp = self.clock.now().timestamp();
            let body = outgoing.body.bytes();
            let signature = payments_api::signature::sign(
                &signing.key,
                &signing.id,
                timestamp,
                &String::from_utf8_lossy(&body),
            );
            request = request
                .header(WEBHOOK_ID, &signing.id)
                .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
                .header(WEBHOOK_SIGNATURE, signature);
        }
        let request = request
            .body(Full::new(outgoing.body.bytes()))
            .map_err(|e| Failure::other(format!("invalid request: {e}").into()))?;
        // The bound of the whole attempt, from before it connects until the answer's head.
        let (client, bound) = match self.split.get() {
            Some(split) if first => (&split.client, split.read),
            Some(split) => (&split.client, split.retry),
            None => (&self.client, self.config.timeout),
        };
        match tokio::time::timeout(bound, client.request(request)).await {
            Ok(Ok(response)) => Ok(response.status().as_u16()),
            Ok(Err(error)) => Err(describe(&error)),
            Err(_) => Err(Failure::other("timed out".into())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why an attempt got no answer.
#[derive(Debug)]
struct Failure {
    reason: Cow<'static, str>,
    /// Whether the endpoint refused the connection: nothing listens there now.
    refused: bool,
}

impl Failure {
    fn other(reason: Cow<'static, str>) -> Self {
        Self {
            reason,
            refused: false,
        }
    }
}

/// A webhook URL as the HTTP client takes it; the error says why it cannot be posted to.
fn parse_url(text: &str) -> Result<Uri, Cow<'static, str>> {
    let mut url = reqwest::Url::parse(text).map_err(|e| format!("invalid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("invalid URL: {} is not http or https", url.scheme()).into());
    }
    // Never sent; and `Uri` has no place for it.
    url.set_fragment(None);
    // `Url` writes an international host name in its ASCII form, which `Uri` takes.
    Uri::try_from(url.as_str()).map_err(|e| format!("invalid URL: {e}").into())
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        // The worker wakes, finds the dispatcher gone, and ends.
        self.wake.notify_one();
    }
}

impl State {
    /// Forgets every webhook; see [`Dispatcher::clear`].
    fn clear(&mut self) {
        let next_id = self.next_id;
        let in_flight = self.in_flight;
        // The lanes with an attempt being made stay (empty) until it ends, so that a lane
        // still has one attempt at a time and the bounds on attempts at once still hold.
        let mut endpoints = std::mem::take(&mut self.endpoints);
        endpoints.retain(|_, endpoint| {
            endpoint.ready.clear();
            endpoint.lanes.retain(|_, lane| {
                lane.waiting.clear();
                lane.busy
            });
            endpoint.busy > 0
        });
        *self = State {
            next_id,
            endpoints,
            in_flight,
            ..State::default()
        };
    }

    /// Remembers a new webhook, first forgetting the oldest finished one (or, if all are
    /// pending, the oldest pending one) when full.
    fn add(&mut self, outgoing: Outgoing, retries: bool, capacity: usize, queue: bool) -> u64 {
        while self.deliveries.len() >= capacity.max(1) {
            let Some(oldest) = self
                .finished
                .first()
                .or_else(|| self.pending.first())
                .copied()
            else {
                break;
            };
            self.forget(oldest);
        }
        self.next_id += 1;
        let id = self.next_id;
        self.deliveries.insert(
            id,
            Delivery {
                outgoing: Arc::new(outgoing),
                retries,
                attempts: 0,
                state: DeliveryState::Pending,
                next_attempt_ms: None,
            },
        );
        self.pending.insert(id);
        if queue {
            self.first_attempts.insert(id);
            let outgoing = self.deliveries[&id].outgoing.clone();
            if !self.endpoints.contains_key(&outgoing.url) {
                let endpoint = Endpoint {
                    url: parse_url(&outgoing.url),
                    busy: 0,
                    lanes: HashMap::new(),
                    ready: BTreeSet::new(),
                };
                self.endpoints.insert(outgoing.url.clone(), endpoint);
            }
            self.in_endpoint(&outgoing.url, |endpoint| {
                let lane = match endpoint.lanes.get_mut(&outgoing.subject) {
                    Some(lane) => lane,
                    None => endpoint.lanes.entry(outgoing.subject.clone()).or_default(),
                };
                lane.waiting.insert(id);
                // The newest id is the lane's oldest only when nothing else waits in it.
                if !lane.busy && lane.waiting.len() == 1 {
                    endpoint.ready.insert(id);
                }
            });
        }
        id
    }

    /// Changes the lanes of the endpoint at `url`, if it has any, keeping `startable` in
    /// step with what the endpoint would start next, and removing the endpoint once it has
    /// nothing waiting and nothing being made.
    fn in_endpoint(&mut self, url: &str, change: impl FnOnce(&mut Endpoint)) {
        let Some(endpoint) = self.endpoints.get_mut(url) else {
            return;
        };
        let before = endpoint.next();
        change(endpoint);
        let after = endpoint.next();
        if before != after {
            if let Some(id) = before {
                self.startable.remove(&id);
            }
            if let Some(id) = after {
                self.startable.insert(id);
            }
        }
        if endpoint.busy == 0 && endpoint.lanes.is_empty() {
            self.endpoints.remove(url);
        }
    }

    fn forget(&mut self, id: u64) {
        let Some(delivery) = self.deliveries.remove(&id) else {
            return;
        };
        if let Some(at) = delivery.next_attempt_ms {
            self.retries.remove(&(at, id));
        }
        self.finished.remove(&id);
        self.pending.remove(&id);
        if self.first_attempts.remove(&id) {
            let subject = &delivery.outgoing.subject;
            self.in_endpoint(&delivery.outgoing.url, |endpoint| {
                let Some(lane) = endpoint.lanes.get_mut(subject) else {
                    return;
                };
                let oldest = lane.waiting.first() == Some(&id);
                lane.waiting.remove(&id);
                if oldest && !lane.busy {
                    endpoint.ready.remove(&id);
                    if let Some(&next) = lane.waiting.first() {
                        endpoint.ready.insert(next);
                    }
                }
                if lane.waiting.is_empty() && !lane.busy {
                    endpoint.lanes.remove(subject);
                }
            });
        }
    }

    /// Starts the oldest first attempt that may start now: its lane becomes busy. Nothing
    /// if none may, or if `MAX_IN_FLIGHT` are being made.
    fn start_first_attempt(&mut self) -> Option<(u64, Arc<Outgoing>)> {
        if self.in_flight >= MAX_IN_FLIGHT {
            return None;
        }
        let id = self.startable.pop_first()?;
        self.first_attempts.remove(&id);
        // A startable id is always remembered and waiting in its lane (`forget` takes it
        // out).
        let outgoing = self.deliveries.get(&id)?.outgoing.clone();
        self.in_endpoint(&outgoing.url, |endpoint| {
            endpoint.ready.remove(&id);
            endpoint.busy += 1;
            if let Some(lane) = endpoint.lanes.get_mut(&outgoing.subject) {
                lane.waiting.remove(&id);
                lane.busy = true;
            }
        });
        self.in_flight += 1;
        Some((id, outgoing))
    }

    /// Ends a first attempt of `outgoing`: the next one of its lane may start, or the lane
    /// goes.
    fn end_first_attempt(&mut self, outgoing: &Outgoing) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.in_endpoint(&outgoing.url, |endpoint| {
            endpoint.busy = endpoint.busy.saturating_sub(1);
            let Some(lane) = endpoint.lanes.get_mut(&outgoing.subject) else {
                return;
            };
            lane.busy = false;
            match lane.waiting.first() {
                Some(&next) => {
                    endpoint.ready.insert(next);
                }
                None => {
                    endpoint.lanes.remove(&outgoing.subject);
                }
            }
        });
    }

    /// Takes every first attempt waiting for the endpoint at `url` in a lane that has no
    /// attempt being made (those must wait for theirs to end), oldest first.
    fn take_waiting(&mut self, url: &str) -> Vec<u64> {
        let mut taken = Vec::new();
        self.in_endpoint(url, |endpoint| {
            endpoint.lanes.retain(|_, lane| {
                if lane.busy {
                    return true;
                }
                taken.extend(std::mem::take(&mut lane.waiting));
                false
            });
            // It held the oldest waiting id of each of those lanes, and of no other.
            endpoint.ready.clear();
        });
        for id in &taken {
            self.first_attempts.remove(id);
        }
        taken.sort_unstable();
        taken
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.first_attempts.len()
    }

    /// Counts an attempt; schedules the next one or finishes the webhook. Returns the
    /// attempt's number and when the next is due, or nothing if the webhook was forgotten
    /// meanwhile.
    fn record_attempt(
        &mut self,
        id: u64,
        delivered: bool,
        now: i64,
        schedule: &[Duration],
        jitter: Duration,
    ) -> Option<(u32, Option<i64>)> {
        let delivery = self.deliveries.get_mut(&id)?;
        delivery.attempts += 1;
        let attempt = delivery.attempts;
        let retry_delay = schedule.get(attempt as usize - 1);
        delivery.next_attempt_ms = None;
        if delivered {
            delivery.state = DeliveryState::Delivered;
        } else if let Some(delay) = retry_delay {
            let bound = jitter.as_millis();
            let jitter_ms = if bound > 0 {
                crate::ids::random_below(bound)
            } else {
                0
            };
            let delay_ms = delay.as_millis().saturating_add(jitter_ms);
            let at = now.saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
            delivery.next_attempt_ms = Some(at);
            self.retries.insert((at, id));
        } else {
            delivery.state = DeliveryState::Failed;
        }
        let next = delivery.next_attempt_ms;
        if delivery.state != DeliveryState::Pending {
            self.pending.remove(&id);
            self.finished.insert(id);
        }
        Some((attempt, next))
    }
}

/// The async worker, while the dispatcher lives: starts every first attempt that may start,
/// each in a task of its own that wakes the worker when it ends, then waits to be woken.
async fn work(dispatcher: Weak<Dispatcher>, wake: Arc<Notify>) {
    loop {
        {
            let Some(dispatcher) = dispatcher.upgrade() else {
                break;
            };
            loop {
                let next = dispatcher.lock().start_first_attempt();
                let Some((id, outgoing)) = next else {
                    break;
                };
                let dispatcher = dispatcher.clone();
                let wake = wake.clone();
                tokio::spawn(async move {
                    let refused = dispatcher.attempt(id).await;
                    let waiting = {
                        let mut state = dispatcher.lock();
                        state.end_first_attempt(&outgoing);
                        match refused {
                            // Waiting first attempts are pending: each is remembered.
                            Some(_) => state
                                .take_waiting(&outgoing.url)
                                .into_iter()
                                .filter_map(|id| {
                                    let delivery = state.deliveries.get(&id)?;
                                    Some((id, delivery.outgoing.clone(), delivery.retries))
                                })
                                .collect(),
                            None => Vec::new(),
                        }
                    };
                    if let Some(reason) = refused {
                        dispatcher.share_refusal(waiting, reason);
                    }
                    wake.notify_one();
                });
            }
        }
        wake.notified().await;
    }
}

const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");

fn describe(error: &legacy::Error) -> Failure {
    let io_error = |kind| {
        std::iter::successors(Some(error as &dyn std::error::Error), |e| e.source()).any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == kind)
        })
    };
    if io_error(std::io::ErrorKind::TimedOut) {
        // The connector's own timeout.
        Failure::other("timed out".into())
    } else if error.is_connect() {
        Failure {
            reason: "could not connect".into(),
            refused: io_error(std::io::ErrorKind::ConnectionRefused),
        }
    } else {
        // The innermost cause says the most ("connection closed before message completed").
        let mut source: &dyn std::error::Error = error;
        while let Some(next) = source.source() {
            source = next;
        }
        Failure::other(source.to_string().into())
    }
}

/// Encodes pairs as `application/x-www-form-urlencoded`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing() -> Outgoing {
        Outgoing {
            url: "http://127.0.0.1:9/hook".into(),
            event: "PAYMENT_STATUS_CHANGED".into(),
            subject: "key".into(),
            body: Body::json(&serde_json::json!({})),
            signing: None,
        }
    }

    #[test]
    fn a_full_queue_forgets_finished_webhooks_first_then_the_oldest_pending() {
        let mut state = State::default();
        let schedule = [Duration::from_secs(60)];
        let a = state.add(outgoing(), true, 3, true);
        let b = state.add(outgoing(), true, 3, true);
        let c = state.add(outgoing(), true, 3, true);
        assert_eq!(
            state.record_attempt(b, true, 0, &schedule, Duration::ZERO),
            Some((1, None))
        );
        assert_eq!(
            state.record_attempt(a, false, 0, &schedule, Duration::ZERO),
            Some((1, Some(60_000)))
        );
        let d = state.add(outgoing(), true, 3, true);
        assert!(
            !state.deliveries.contains_key(&b),
            "the delivered one goes first"
        );
        let e = state.add(outgoing(), true, 3, true);
        assert!(
            !state.deliveries.contains_key(&a),
            "then the oldest pending"
        );
        assert!(state.retries.is_empty(), "with its retry");
        assert_eq!(
            state.first_attempts.iter().copied().collect::<Vec<_>>(),
            [c, d, e]
        );
        assert_eq!(
            state.record_attempt(a, true, 0, &schedule, Duration::ZERO),
            None
        );
        assert_eq!(
            state.record_attempt(c, false, 0, &[], Duration::ZERO),
            Some((1, None))
        );
        assert_eq!(state.deliveries[&c].state, DeliveryState::Failed);
        assert_eq!(state.pending.iter().copied().collect::<Vec<_>>(), [d, e]);
    }

    fn to(url: &str) -> Outgoing {
        about(url, "key")
    }

    fn about(url: &str, subject: &str) -> Outgoing {
        Outgoing {
            url: url.into(),
            subject: subject.into(),
            ..outgoing()
        }
    }

    fn started(state: &mut State) -> Option<(u64, String, String)> {
        let (id, outgoing) = state.start_first_attempt()?;
        Some((id, outgoing.url.clone(), outgoing.subject.clone()))
    }

    #[test]
    fn lanes_start_one_attempt_per_subject_in_order_and_go_when_empty() {
        let mut state = State::default();
        let a1 = state.add(about("http://a/", "p1"), true, 100, true);
        let a2 = state.add(about("http://a/", "p1"), true, 100, true);
        let b1 = state.add(about("http://b/", "p1"), true, 100, true);
        let a3 = state.add(about("http://a/", "p1"), true, 100, true);
        let a_other = state.add(about("http://a/", "p2"), true, 100, true);
        let start = |state: &mut State| started(state).map(|(id, ..)| id);
        assert_eq!(start(&mut state), Some(a1));
        assert_eq!(start(&mut state), Some(b1));
        assert_eq!(
            start(&mut state),
            Some(a_other),
            "another payment's webhook to a goes meanwhile"
        );
        assert_eq!(start(&mut state), None, "p1 at a is busy, b has no more");
        assert_eq!(state.waiting(), 2);
        state.end_first_attempt(&about("http://b/", "p1"));
        assert!(
            !state.endpoints.contains_key("http://b/"),
            "an empty endpoint goes"
        );
        state.end_first_attempt(&about("http://a/", "p2"));
        state.forget(a2);
        assert_eq!(start(&mut state), None, "a3 waits for a1");
        state.end_first_attempt(&about("http://a/", "p1"));
        assert_eq!(start(&mut state), Some(a3));
        state.end_first_attempt(&about("http://a/", "p1"));
        assert!(state.endpoints.is_empty() && state.startable.is_empty());
        assert_eq!((state.in_flight, state.waiting()), (0, 0));
    }

    #[test]
    fn a_refusal_takes_the_waiting_lanes_of_its_endpoint_but_not_the_busy_ones() {
        let mut state = State::default();
        let p1 = state.add(about("http://a/", "p1"), true, 100, true);
        let p1_next = state.add(about("http://a/", "p1"), true, 100, true);
        let p2 = state.add(about("http://a/", "p2"), true, 100, true);
        let p2_next = state.add(about("http://a/", "p2"), true, 100, true);
        let elsewhere = state.add(about("http://b/", "p1"), true, 100, true);
        assert_eq!(started(&mut state).map(|(id, ..)| id), Some(p1));
        assert_eq!(started(&mut state).map(|(id, ..)| id), Some(p2));
        let p3 = state.add(about("http://a/", "p3"), true, 100, true);
        let p3_next = state.add(about("http://a/", "p3"), true, 100, true);
        // p1's attempt was refused and has ended; p2's is still being made.
        state.end_first_attempt(&about("http://a/", "p1"));
        assert_eq!(
            state.take_waiting("http://a/"),
            [p1_next, p3, p3_next],
            "oldest first, p2's lane waiting for its attempt"
        );
        assert_eq!(
            started(&mut state).map(|(id, ..)| id),
            Some(elsewhere),
            "another endpoint's are left"
        );
        assert_eq!(started(&mut state), None);
        state.end_first_attempt(&about("http://a/", "p2"));
        assert_eq!(started(&mut state).map(|(id, ..)| id), Some(p2_next));
        state.end_first_attempt(&about("http://a/", "p2"));
        state.end_first_attempt(&about("http://b/", "p1"));
        assert!(state.endpoints.is_empty() && state.startable.is_empty());
        assert_eq!((state.in_flight, state.waiting()), (0, 0));
    }

    #[test]
    fn one_endpoint_gets_at_most_its_bound_of_attempts_at_once() {
        let mut state = State::default();
        let ids: Vec<u64> = (0..PER_ENDPOINT + 2)
            .map(|i| state.add(about("http://a/", &format!("p{i}")), true, 100, true))
            .collect();
        let other = state.add(about("http://b/", "p0"), true, 100, true);
        let mut begun = Vec::new();
        while let Some((id, ..)) = started(&mut state) {
            begun.push(id);
        }
        let mut expected = ids[..PER_ENDPOINT].to_vec();
        expected.push(other);
        assert_eq!(begun, expected, "a's bound reached, b still goes");
        state.end_first_attempt(&about("http://a/", "p3"));
        assert_eq!(
            started(&mut state),
            Some((
                ids[PER_ENDPOINT],
                "http://a/".into(),
                format!("p{PER_ENDPOINT}")
            )),
            "room again: the oldest waiting one"
        );
        assert_eq!(started(&mut state), None);
    }

    #[test]
    fn clearing_keeps_the_bounds_of_attempts_being_made() {
        let mut state = State::default();
        for i in 0..PER_ENDPOINT {
            state.add(about("http://a/", &format!("p{i}")), true, 100, true);
        }
        while started(&mut state).is_some() {}
        state.add(about("http://a/", "gone"), true, 100, true);
        state.clear();
        assert_eq!(state.waiting(), 0);
        state.add(about("http://a/", "later"), true, 100, true);
        assert_eq!(started(&mut state), None, "a is still full");
        state.end_first_attempt(&about("http://a/", "p0"));
        assert_eq!(started(&mut state).map(|(_, _, s)| s), Some("later".into()));
    }

    #[test]
    fn no_more_than_the_bound_of_first_attempts_start_at_once() {
        let mut state = State::default();
        for i in 0..MAX_IN_FLIGHT + 1 {
            state.add(to(&format!("http://{i}/")), true, 1000, true);
        }
        for _ in 0..MAX_IN_FLIGHT {
            assert!(state.start_first_attempt().is_some());
        }
        assert!(state.start_first_attempt().is_none());
        state.end_first_attempt(&to("http://0/"));
        assert_eq!(
            started(&mut state).map(|(_, url, _)| url),
            Some(format!("http://{MAX_IN_FLIGHT}/"))
        );
    }

    #[test]
    fn jitter_delays_a_retry_by_up_to_its_bound() {
        let mut state = State::default();
        let schedule = [Duration::from_secs(60)];
        for _ in 0..50 {
            let id = state.add(outgoing(), true, 100, true);
            let (_, next) = state
                .record_attempt(id, false, 0, &schedule, Duration::from_secs(30))
                .unwrap();
            let next = next.unwrap();
            assert!((60_000..90_000).contains(&next), "{next}");
        }
    }

    /// One connection carries every webhook to an endpoint that answers, a body or not:
    /// a connection per webhook would cost a connect and an accept each.
    #[tokio::test]
    async fn webhooks_to_one_endpoint_share_one_connection() {
        use std::sync::atomic::AtomicUsize;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        let app = axum::Router::new().fallback(|| async { "ok" });
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::Relaxed);
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        });
        let dispatcher = Arc::new(Dispatcher::new(
            DeliveryConfig {
                mode: DeliveryMode::Sync,
                retry_schedule: Vec::new(),
                timeout: Duration::from_secs(5),
                capacity: 100,
                retry_jitter: Duration::ZERO,
            },
            Arc::new(Clock::default()),
            Arc::new(Journal::default()),
        ));
        for _ in 0..20 {
            let webhook = Outgoing {
                url: url.clone(),
                ..outgoing()
            };
            dispatcher.send(vec![webhook]).await;
        }
        let states: Vec<_> = dispatcher.list().iter().map(|d| d.state).collect();
        assert_eq!(states, vec![DeliveryState::Delivered; 20]);
        assert_eq!(accepted.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn form_encoding_escapes_what_it_must() {
        let pairs = [("imp_uid", "imp_1"), ("status", "a b&c=ü")];
        assert_eq!(form_encode(&pairs), "imp_uid=imp_1&status=a+b%26c%3D%C3%BC");
    }
}
