//! The fake Toss Payments: the v1 API over in-memory state, with Toss's error codes,
//! state machine, webhooks and idempotency keys, plus fake-only controls under `/internal`.
//!
//! ```no_run
//! # async fn demo() {
//! use payments_fakes::Fake as _;
//! use payments_fakes::toss::{FakeToss, TossConfig};
//!
//! let fake = FakeToss::new(TossConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let url = format!("http://{}", listener.local_addr().unwrap());
//! tokio::spawn(payments_fakes::serve::serve(
//!     listener,
//!     fake.router(),
//!     std::future::pending(),
//!     std::time::Duration::from_secs(5),
//! ));
//! // Talk to `url` with `Authorization: Basic base64("test_sk_…:")`.
//! # }
//! ```

pub mod checkout;
mod error;
mod internal;
mod model;
mod openapi;
mod routes;

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use chrono::Timelike;
use http_body_util::BodyExt as _;
use payments_api::toss::{
    EVENT_DEPOSIT_CALLBACK, EVENT_PAYMENT_STATUS_CHANGED, TossDepositCallback, TossPayment,
    TossPaymentStatusChanged, TossWebhook, payment_status_changed_json,
};

pub use error::TossFault;

use crate::clock::kst;
use crate::compat::Compat;
use crate::core::{Core, CoreConfig, Fake};
use crate::delivery::{DeliveryConfig, DeliveryMode, Outgoing};
use crate::http::{MerchantLabel, mask};
use crate::journal::{DEFAULT_JOURNAL_BYTES, DEFAULT_JOURNAL_CAPACITY};
use crate::registry::Registry;
use model::{Event, Idempotent, MerchantData};

/// How long Toss keeps an `Idempotency-Key`: 15 days from its first use.
pub const IDEMPOTENCY_KEY_DAYS: i64 = 15;

/// A merchant of the fake Toss, as the auth middleware hands it to the handlers.
pub(crate) type MerchantHandle = crate::registry::Merchant<MerchantData>;

/// The port the original fake listened on; `harness fake toss` uses it by default.
pub const DEFAULT_PORT: u16 = 30771;

/// The secret key the original ecosystem's tests and samples use.
pub const DEFAULT_SECRET_KEY: &str = "test_ak_ZORzdMaqN3wQd5k6ygr5AkYXQGwy";

/// Keys with this prefix are accepted too: any Toss test secret key works.
pub const DEFAULT_SECRET_KEY_PREFIX: &str = "test_sk_";

/// Toss's webhook retry delays, in minutes: 7 retries over about three days and 19 hours.
pub const RETRY_SCHEDULE_MINUTES: [u64; 7] = [1, 4, 16, 64, 256, 1024, 4096];

/// The request header of Toss's sandbox that makes a request fail with the given code.
pub const TEST_CODE_HEADER: &str = "TossPayments-Test-Code";

/// How the fake Toss behaves.
#[derive(Debug, Clone)]
pub struct TossConfig {
    /// Secret keys accepted as they are; each is a merchant with its own data.
    pub secret_keys: Vec<String>,
    /// Any secret key starting with one of these is accepted too.
    pub secret_key_prefixes: Vec<String>,
    /// Where every merchant's webhooks go, unless a merchant sets its own; none when `None`.
    pub webhook_url: Option<String>,
    /// Whether webhooks are delivered before the triggering response returns.
    pub webhook_mode: DeliveryMode,
    /// Delays between webhook attempts.
    pub webhook_retry_schedule: Vec<Duration>,
    /// How long one webhook attempt may take.
    pub webhook_timeout: Duration,
    /// How long records live.
    pub ttl: Duration,
    /// How many records of each kind a merchant keeps (payments, billing keys, …).
    pub capacity: usize,
    /// How many merchants are kept; the least recently used is forgotten beyond it.
    pub max_merchants: usize,
    /// How many records all merchants keep together; beyond it the least recently used
    /// merchants other than the one at work are forgotten first.
    pub max_records: usize,
    /// How long an authenticated payment (`IN_PROGRESS`) waits for the merchant's
    /// confirmation before it expires: Toss allows 10 minutes after authentication, then
    /// answers `NOT_FOUND_PAYMENT_SESSION`. (The 30 minutes Toss documents are the
    /// customer's time to authenticate in the window, which the fake's window control skips.)
    pub payment_window: Duration,
    /// How long the refund of a paid virtual account stays `PENDING` (`virtualAccount.
    /// refundStatus`) before the bank settles it. Toss documents no figure.
    pub refund_delay: Duration,
    /// How many webhooks are remembered; the oldest delivered ones are forgotten first.
    pub max_webhooks: usize,
    /// How many journal entries of each kind are kept.
    pub journal_entries: usize,
    /// How many bytes the journal keeps in all.
    pub journal_bytes: usize,
    /// Whether merchants also get what the original fakes accepted (a merchant may set its
    /// own with `PUT /internal/merchant`).
    pub compat: Compat,
}

impl Default for TossConfig {
    fn default() -> Self {
        Self {
            secret_keys: vec![DEFAULT_SECRET_KEY.to_owned()],
            secret_key_prefixes: vec![DEFAULT_SECRET_KEY_PREFIX.to_owned()],
            webhook_url: None,
            webhook_mode: DeliveryMode::Async,
            webhook_retry_schedule: RETRY_SCHEDULE_MINUTES
                .iter()
                .map(|m| Duration::from_secs(m * 60))
                .collect(),
            webhook_timeout: Duration::from_secs(10),
            ttl: Duration::from_secs(24 * 3600),
            capacity: 100_000,
            max_merchants: 1_000,
            max_records: 200_000,
            payment_window: Duration::from_secs(10 * 60),
            refund_delay: Duration::from_secs(10 * 60),
            max_webhooks: 10_000,
            journal_entries: DEFAULT_JOURNAL_CAPACITY,
            journal_bytes: DEFAULT_JOURNAL_BYTES,
            compat: Compat::Real,
        }
    }
}

/// A running fake Toss: cheap to clone, all clones share the state.
#[derive(Debug, Clone)]
pub struct FakeToss {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: TossConfig,
    core: Core,
    merchants: Registry<MerchantData>,
}

impl FakeToss {
    /// A fake with no data yet. Webhooks are delivered by tasks of the Tokio runtime that
    /// serves the router.
    pub fn new(config: TossConfig) -> Self {
        let core = Core::new(CoreConfig {
            delivery: DeliveryConfig {
                mode: config.webhook_mode,
                retry_schedule: config.webhook_retry_schedule.clone(),
                timeout: config.webhook_timeout,
                capacity: config.max_webhooks,
                retry_jitter: Duration::ZERO,
            },
            journal_entries: config.journal_entries,
            journal_bytes: config.journal_bytes,
        });
        Self {
            inner: Arc::new(Inner {
                merchants: Registry::new(config.max_merchants, config.max_records),
                config,
                core,
            }),
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &TossConfig {
        &self.inner.config
    }

    fn now_ms(&self) -> i64 {
        self.inner.core.clock.now_ms()
    }

    fn accepts(&self, key: &str) -> bool {
        let config = &self.inner.config;
        config.secret_keys.iter().any(|k| k == key)
            || config
                .secret_key_prefixes
                .iter()
                .any(|p| key.len() > p.len() && key.starts_with(p.as_str()))
    }

    /// The merchant of a secret key, created on first use.
    fn merchant(&self, key: &str) -> Arc<MerchantHandle> {
        let config = &self.inner.config;
        self.inner.merchants.get_or_create(key, |budget| {
            MerchantData::new(
                i64::try_from(config.ttl.as_millis()).unwrap_or(i64::MAX),
                config.capacity,
                budget,
            )
        })
    }

    /// What `merchant` accepts: its own setting, else the fake's.
    fn compat(&self, merchant: &MerchantHandle) -> Compat {
        merchant.lock().compat.unwrap_or(self.inner.config.compat)
    }

    /// Turns events into webhooks to the merchant's URL (none if it has no URL).
    fn outgoing(&self, merchant: &MerchantHandle, events: Vec<Event>) -> Vec<Outgoing> {
        let url = {
            let data = merchant.lock();
            match &data.webhook_url {
                Some(own) => own.clone(),
                None => self.inner.config.webhook_url.clone(),
            }
        };
        let Some(url) = url else { return Vec::new() };
        let now = self.inner.core.clock.now().with_timezone(&kst());
        let created_at = now
            .with_nanosecond(now.nanosecond() / 1000 * 1000)
            .unwrap_or(now)
            .naive_local();
        events
            .into_iter()
            .map(|event| {
                let (webhook, subject) = match event {
                    Event::StatusChanged(payment) => {
                        let subject = payment.base().payment_key.clone();
                        let webhook =
                            TossWebhook::PaymentStatusChanged(Box::new(TossPaymentStatusChanged {
                                created_at,
                                data: payment,
                            }));
                        (webhook, subject)
                    }
                    Event::StatusChangedJson { payment_key, json } => {
                        let body = payment_status_changed_json(created_at, &json);
                        return Outgoing {
                            url: url.clone(),
                            event: EVENT_PAYMENT_STATUS_CHANGED.to_owned(),
                            subject: payment_key,
                            body: crate::delivery::Body::Json(body.into()),
                            signing: None,
                        };
                    }
                    Event::Deposit(payment) => {
                        let base = payment.base();
                        let secret = match &payment {
                            TossPayment::VirtualAccount(va) => va.secret.clone(),
                            _ => String::new(),
                        };
                        // The key "of the virtual-account transaction whose status changed":
                        // the latest one, a cancel's after a cancel.
                        let transaction_key = base
                            .last_transaction_key
                            .clone()
                            .unwrap_or_else(|| base.transaction_key.clone());
                        let webhook = TossWebhook::DepositCallback(TossDepositCallback {
                            created_at,
                            secret,
                            status: base.status,
                            transaction_key,
                            order_id: base.order_id.clone(),
                        });
                        (webhook, base.payment_key.clone())
                    }
                };
                let event = match webhook {
                    TossWebhook::PaymentStatusChanged(_) => EVENT_PAYMENT_STATUS_CHANGED,
                    TossWebhook::DepositCallback(_) => EVENT_DEPOSIT_CALLBACK,
                };
                Outgoing {
                    url: url.clone(),
                    event: event.to_owned(),
                    subject,
                    body: crate::delivery::Body::json(&webhook),
                    signing: None,
                }
            })
            .collect()
    }

    /// Sends the webhooks of `events` (before returning, in sync mode).
    async fn notify(&self, merchant: &MerchantHandle, events: Vec<Event>) {
        let outgoing = self.outgoing(merchant, events);
        self.inner.core.webhooks.send(outgoing).await;
    }
}

/// A handle on a [`FakeToss`] that does not keep it alive.
#[derive(Debug, Clone)]
pub struct WeakFakeToss(Weak<Inner>);

impl Fake for FakeToss {
    type Weak = WeakFakeToss;

    const NAME: &'static str = "toss";

    fn core(&self) -> &Core {
        &self.inner.core
    }

    fn downgrade(&self) -> Self::Weak {
        WeakFakeToss(Arc::downgrade(&self.inner))
    }

    fn upgrade(weak: &Self::Weak) -> Option<Self> {
        weak.0.upgrade().map(|inner| Self { inner })
    }

    async fn run_due(&self) {
        let now = self.now_ms();
        let core = &self.inner.core;
        core.run_due(
            &self.inner.merchants,
            |data: &mut MerchantData| data.run_due(now),
            |merchant, events| self.outgoing(merchant, events),
        )
        .await;
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        openapi::document()
    }

    fn forget(&self) {
        self.inner.merchants.clear();
    }

    /// Toss's `/v1` routes.
    fn api(&self) -> Router<Self> {
        Router::new()
            .route("/v1/payments/{payment_key}", get(routes::payments::one))
            .route(
                "/v1/payments/orders/{order_id}",
                get(routes::payments::by_order),
            )
            .route(
                "/v1/payments/{payment_key}/cancel",
                post(routes::payments::cancel),
            )
            .route(
                "/v1/virtual-accounts",
                post(routes::virtual_accounts::issue),
            )
            .route(
                "/v1/billing/authorizations/card",
                post(routes::billing::by_card),
            )
            .route(
                "/v1/billing/authorizations/issue",
                post(routes::billing::issue),
            )
            .route(
                "/v1/billing/authorizations/{billing_key}",
                post(routes::billing::lookup),
            )
            .route(
                "/v1/cash-receipts",
                post(routes::cash_receipts::issue).get(routes::cash_receipts::list),
            )
            .route("/v1/transactions", get(routes::transactions::list))
            .route(
                "/v1/cash-receipts/{receipt_key}/cancel",
                post(routes::cash_receipts::cancel),
            )
            .route_layer(from_fn(test_code))
            // Approvals read the test code themselves: a failed approval aborts the payment.
            .route("/v1/payments/key-in", post(routes::payments::key_in))
            .route(
                "/v1/billing/{billing_key}",
                post(routes::billing::charge).delete(routes::billing::delete),
            )
            .route("/v1/payments/confirm", post(routes::payments::confirm))
            .route(
                "/v1/payments/{payment_key}",
                post(routes::payments::approve),
            )
            .route_layer(from_fn_with_state(self.clone(), idempotency))
            .route_layer(from_fn_with_state(self.clone(), authenticate))
    }

    /// The customer's actions and the merchant's settings, as the merchant.
    fn controls(&self) -> Router<Self> {
        Router::new()
            .route(
                "/internal/{payment_key}/deposit",
                put(internal::deposit)
                    .get(internal::deposit)
                    .delete(internal::cancel_deposit),
            )
            .route(
                "/internal/{payment_key}/refund",
                post(internal::settle_refund),
            )
            .route("/internal/payments", post(internal::payment_window))
            .route(
                "/internal/billing/authorizations",
                post(internal::card_registration_window),
            )
            .route(
                "/internal/merchant",
                get(internal::merchant).put(internal::set_merchant),
            )
            .route_layer(from_fn_with_state(self.clone(), authenticate))
    }

    /// The payment SDK's stand-ins (v1 at `/v1/payment` and `/v1`, v2 at `/v2/standard`,
    /// the real CDN's paths) and the checkout page.
    fn browser(&self) -> Router<Self> {
        Router::new()
            .route("/v1/payment", get(checkout::script_v1))
            .route("/v1", get(checkout::script_v1))
            .route("/v2/standard", get(checkout::script_v2))
            .route("/checkout", get(checkout::page))
            .route("/checkout/api", post(checkout::act))
    }

    fn reject(status: StatusCode, detail: &str) -> Response {
        error::reject(status, detail).into_response()
    }

    fn render_fault(code: &str, status: Option<u16>, message: Option<&str>) -> Response {
        error::render(code, status, message)
    }
}

/// Why a request's credentials were refused.
#[derive(Debug, PartialEq, Eq)]
enum BadAuth {
    /// No `Basic` header, or one whose key Toss does not know.
    Unauthorized,
    /// A `Basic` header whose decoded value lacks the `:` after the key: Toss answers
    /// `INCORRECT_BASIC_AUTH_FORMAT` (its error-code reference), not `UNAUTHORIZED_KEY`.
    Format,
}

/// The secret key of a `Basic base64(key + ":")` header.
fn secret_key(headers: &HeaderMap) -> Result<String, BadAuth> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(BadAuth::Unauthorized)?;
    let (scheme, encoded) = value.split_once(' ').ok_or(BadAuth::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(BadAuth::Unauthorized);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .ok_or(BadAuth::Unauthorized)?;
    let (key, _password) = decoded.split_once(':').ok_or(BadAuth::Format)?;
    if key.is_empty() {
        return Err(BadAuth::Unauthorized);
    }
    Ok(key.to_owned())
}

/// Authenticates the merchant and hands it to the handler.
async fn authenticate(State(fake): State<FakeToss>, mut request: Request, next: Next) -> Response {
    Fake::ensure_ticker(&fake);
    let key = match secret_key(request.headers()) {
        Ok(key) if fake.accepts(&key) => key,
        Err(BadAuth::Format) => {
            return TossFault::of("INCORRECT_BASIC_AUTH_FORMAT").into_response();
        }
        _ => return TossFault::unauthorized().into_response(),
    };
    let merchant = fake.merchant(&key);
    request.extensions_mut().insert(merchant);
    let mut response = next.run(request).await;
    // Whatever the request stored, all merchants together stay within their bound.
    fake.inner.merchants.enforce(&key);
    response.extensions_mut().insert(MerchantLabel(mask(&key)));
    response
}

/// Fails a request that carries Toss's sandbox test-code header, as Toss's sandbox does.
async fn test_code(request: Request, next: Next) -> Response {
    match forced_code(request.headers()) {
        Some(code) => TossFault::of(&code).into_response(),
        None => next.run(request).await,
    }
}

fn forced_code(headers: &HeaderMap) -> Option<String> {
    headers
        .get(TEST_CODE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Replays the first answer to a repeated `Idempotency-Key`. A key is scoped as Toss scopes
/// it: by secret key (the merchant), method and URL, so the same key sent to another route
/// is a new request; it is kept 15 days from its first use.
async fn idempotency(State(fake): State<FakeToss>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get("Idempotency-Key")
        .map(|v| v.to_str().map(str::to_owned))
    else {
        return next.run(request).await;
    };
    let key = match key {
        Ok(key) if !key.is_empty() && key.len() <= 300 => key,
        _ => {
            return TossFault::invalid("Idempotency-Key must be 1 to 300 visible characters")
                .into_response();
        }
    };
    let Some(merchant) = request.extensions().get::<Arc<MerchantHandle>>().cloned() else {
        return next.run(request).await;
    };
    let key = format!("{} {} {key}", request.method(), request.uri());
    let now = fake.inner.core.clock.now_ms();
    {
        let mut data = merchant.lock();
        match data.idempotency.get(&key, now) {
            Some(Idempotent::Done { status, body }) => {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                return (
                    status,
                    [(header::CONTENT_TYPE, "application/json")],
                    body.clone(),
                )
                    .into_response();
            }
            Some(Idempotent::InFlight) => {
                return TossFault::of("IDEMPOTENT_REQUEST_PROCESSING").into_response();
            }
            None => {
                data.idempotency
                    .insert(key.clone(), Idempotent::InFlight, now);
            }
        }
    }
    // If the request is abandoned midway, the key must not stay "in flight" for ever.
    struct Abandoned(Option<(Arc<MerchantHandle>, String)>);
    impl Drop for Abandoned {
        fn drop(&mut self) {
            if let Some((merchant, key)) = self.0.take() {
                merchant.lock().idempotency.remove(&key);
            }
        }
    }
    let mut guard = Abandoned(Some((merchant.clone(), key.clone())));
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    guard.0 = None;
    let now = fake.inner.core.clock.now_ms();
    merchant.lock().idempotency.insert(
        key,
        Idempotent::Done {
            status: parts.status.as_u16(),
            body: bytes.clone(),
        },
        now,
    );
    Response::from_parts(parts, Body::from(bytes))
}
