//! The fake PortOne V2: the REST API of `https://api.portone.io` over in-memory state, with
//! PortOne's error types, payment state machine, billing keys, schedules and signed
//! webhooks, plus fake-only controls under `/internal`.
//!
//! ```no_run
//! # async fn demo() {
//! use payments_fakes::Fake as _;
//! use payments_fakes::portone::{FakePortOne, PortOneConfig};
//!
//! let fake = FakePortOne::new(PortOneConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let url = format!("http://{}", listener.local_addr().unwrap());
//! tokio::spawn(payments_fakes::serve::serve(
//!     listener,
//!     fake.router(),
//!     std::future::pending(),
//!     std::time::Duration::from_secs(5),
//! ));
//! // Talk to `url` with `Authorization: PortOne <API secret>`.
//! # }
//! ```

pub mod checkout;
mod error;
mod internal;
mod model;
mod openapi;
mod routes;

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payments_api::portone::{PaymentWebhook, Webhook, WebhookData};
use sha2::{Digest, Sha256};

pub use error::PortOneFault;
pub use model::CHANNEL_KEY;

use crate::core::{Core, CoreConfig, Fake};
use crate::delivery::{DeliveryConfig, DeliveryMode, Outgoing, Signing};
use crate::http::{MerchantLabel, mask};
use crate::journal::{DEFAULT_JOURNAL_BYTES, DEFAULT_JOURNAL_CAPACITY};
use crate::registry::Registry;
use crate::store::VolatileStore;
use model::{Event, MerchantData, SentWebhook, Store};

/// A store of the fake PortOne, as the auth middleware hands it to the handlers.
pub(crate) type MerchantHandle = crate::registry::Merchant<MerchantData>;

/// The port `harness fake portone` listens on by default, beside the fake Toss's 30771.
pub const DEFAULT_PORT: u16 = 30772;

/// The API secret the sandbox hands out.
pub const DEFAULT_API_SECRET: &str = "test_portone_v2_api_secret";

/// Secrets with this prefix are accepted too, each a store of its own.
pub const DEFAULT_API_SECRET_PREFIX: &str = "test_portone_";

/// The webhook secret every store signs with unless it sets its own.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_ZmFrZS1wb3J0b25lLXdlYmhvb2stc2VjcmV0LWtleQ==";

/// PortOne's webhook retry delays, in minutes: up to 5 retries, each with jitter.
pub const RETRY_SCHEDULE_MINUTES: [u64; 5] = [1, 4, 16, 64, 256];

/// How long an access token from `/login/api-secret` lasts.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// How long a refresh token lasts.
pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// How the fake PortOne behaves.
#[derive(Debug, Clone)]
pub struct PortOneConfig {
    /// API secrets accepted as they are; each is a store with its own data.
    pub api_secrets: Vec<String>,
    /// Any secret starting with one of these is accepted too.
    pub api_secret_prefixes: Vec<String>,
    /// Where every store's webhooks go, unless a store sets its own; none when `None`.
    pub webhook_url: Option<String>,
    /// The `whsec_` secret webhooks are signed with, unless a store sets its own.
    pub webhook_secret: String,
    /// Whether webhooks are delivered before the triggering response returns.
    pub webhook_mode: DeliveryMode,
    /// Delays between webhook attempts.
    pub webhook_retry_schedule: Vec<Duration>,
    /// Up to how much later each retry comes than its delay.
    pub webhook_retry_jitter: Duration,
    /// How long one webhook attempt may take.
    pub webhook_timeout: Duration,
    /// How long payments live.
    pub ttl: Duration,
    /// How long billing keys and schedules live: a subscription is charged months after
    /// its key was issued.
    pub billing_ttl: Duration,
    /// How many records of each kind a store keeps (payments, billing keys, …).
    pub capacity: usize,
    /// How many stores are kept; the least recently used is forgotten beyond it.
    pub max_merchants: usize,
    /// How many records all stores keep together.
    pub max_records: usize,
    /// How many access and refresh tokens are kept, each.
    pub max_tokens: usize,
    /// How many webhooks are remembered; the oldest delivered ones are forgotten first.
    pub max_webhooks: usize,
    /// How many journal entries of each kind are kept.
    pub journal_entries: usize,
    /// How many bytes the journal keeps in all.
    pub journal_bytes: usize,
}

impl Default for PortOneConfig {
    fn default() -> Self {
        Self {
            api_secrets: vec![DEFAULT_API_SECRET.to_owned()],
            api_secret_prefixes: vec![DEFAULT_API_SECRET_PREFIX.to_owned()],
            webhook_url: None,
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            webhook_mode: DeliveryMode::Async,
            webhook_retry_schedule: RETRY_SCHEDULE_MINUTES
                .iter()
                .map(|m| Duration::from_secs(m * 60))
                .collect(),
            webhook_retry_jitter: Duration::from_secs(30),
            webhook_timeout: Duration::from_secs(10),
            ttl: Duration::from_secs(24 * 3600),
            billing_ttl: Duration::from_secs(400 * 24 * 3600),
            capacity: 100_000,
            max_merchants: 1_000,
            max_records: 200_000,
            max_tokens: 10_000,
            max_webhooks: 10_000,
            journal_entries: DEFAULT_JOURNAL_CAPACITY,
            journal_bytes: DEFAULT_JOURNAL_BYTES,
        }
    }
}

/// The store id of an API secret: the same on every run, so a configuration can name it.
pub fn store_id(api_secret: &str) -> String {
    format!("store-{}", derived_uuid("store", api_secret))
}

/// The merchant id of an API secret.
pub fn merchant_id(api_secret: &str) -> String {
    format!("merchant-{}", derived_uuid("merchant", api_secret))
}

fn derived_uuid(kind: &str, secret: &str) -> uuid::Uuid {
    let digest = Sha256::new()
        .chain_update(kind.as_bytes())
        .chain_update([0])
        .chain_update(secret.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A running fake PortOne: cheap to clone, all clones share the state.
#[derive(Debug, Clone)]
pub struct FakePortOne {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: PortOneConfig,
    core: Core,
    merchants: Registry<MerchantData>,
    tokens: Mutex<Tokens>,
}

/// Tokens from `/login/api-secret`, each naming its API secret.
#[derive(Debug)]
struct Tokens {
    access: VolatileStore<String>,
    refresh: VolatileStore<String>,
}

impl FakePortOne {
    /// A fake with no data yet. Webhooks are delivered by tasks of the Tokio runtime that
    /// serves the router.
    pub fn new(config: PortOneConfig) -> Self {
        let core = Core::new(CoreConfig {
            delivery: DeliveryConfig {
                mode: config.webhook_mode,
                retry_schedule: config.webhook_retry_schedule.clone(),
                timeout: config.webhook_timeout,
                capacity: config.max_webhooks,
                retry_jitter: config.webhook_retry_jitter,
            },
            journal_entries: config.journal_entries,
            journal_bytes: config.journal_bytes,
        });
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let tokens = Tokens {
            access: VolatileStore::new(ms(ACCESS_TOKEN_TTL), config.max_tokens),
            refresh: VolatileStore::new(ms(REFRESH_TOKEN_TTL), config.max_tokens),
        };
        Self {
            inner: Arc::new(Inner {
                merchants: Registry::new(config.max_merchants, config.max_records),
                tokens: Mutex::new(tokens),
                config,
                core,
            }),
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &PortOneConfig {
        &self.inner.config
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let now = self.inner.core.clock.now();
        // Milliseconds, as the real API writes its times.
        chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    fn now_ms(&self) -> i64 {
        self.inner.core.clock.now_ms()
    }

    fn accepts(&self, secret: &str) -> bool {
        let config = &self.inner.config;
        config.api_secrets.iter().any(|s| s == secret)
            || config
                .api_secret_prefixes
                .iter()
                .any(|p| secret.len() > p.len() && secret.starts_with(p.as_str()))
    }

    /// The store of an API secret, created on first use.
    fn merchant(&self, secret: &str) -> Arc<MerchantHandle> {
        let config = &self.inner.config;
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.inner.merchants.get_or_create(secret, |budget| {
            MerchantData::new(
                Store {
                    merchant_id: merchant_id(secret),
                    store_id: store_id(secret),
                },
                ms(config.ttl),
                ms(config.billing_ttl),
                config.capacity,
                budget,
            )
        })
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.inner.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new pair of tokens for `secret`.
    fn issue_tokens(&self, secret: &str) -> (String, String) {
        let now = self.now_ms();
        let access = format!("fake.{}", crate::ids::random_alnum(40));
        let refresh = format!("fake.{}", crate::ids::random_alnum(40));
        let mut tokens = self.tokens();
        tokens.access.insert(access.clone(), secret.to_owned(), now);
        tokens
            .refresh
            .insert(refresh.clone(), secret.to_owned(), now);
        (access, refresh)
    }

    /// Trades a refresh token (used once) for a new pair.
    fn refresh_tokens(&self, refresh: &str) -> Option<(String, String)> {
        let secret = {
            let mut tokens = self.tokens();
            let now = self.now_ms();
            tokens.refresh.get(refresh, now)?;
            tokens.refresh.remove(refresh)?
        };
        Some(self.issue_tokens(&secret))
    }

    /// The API secret behind an `Authorization` header.
    fn secret_of(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, credential) = value.split_once(' ')?;
        let credential = credential.trim();
        if scheme.eq_ignore_ascii_case("portone") {
            self.accepts(credential).then(|| credential.to_owned())
        } else if scheme.eq_ignore_ascii_case("bearer") {
            self.tokens().access.get(credential, self.now_ms()).cloned()
        } else {
            None
        }
    }

    /// Turns events into signed webhooks to the store's URL (none if it has none), and
    /// remembers each on its payment.
    fn outgoing(&self, merchant: &MerchantHandle, events: Vec<Event>) -> Vec<Outgoing> {
        let now = self.now();
        let now_ms = self.now_ms();
        let mut data = merchant.lock();
        let url = match &data.webhook_url {
            Some(own) => own.clone(),
            None => self.inner.config.webhook_url.clone(),
        };
        let Some(url) = url else { return Vec::new() };
        let secret = data
            .webhook_secret
            .clone()
            .unwrap_or_else(|| self.inner.config.webhook_secret.clone());
        let Ok(key) = payments_api::signature::secret_key(&secret) else {
            return Vec::new();
        };
        let key: Arc<[u8]> = key.into();
        let store_id = data.store.store_id.clone();
        let shared_url = data.shared_url(&url);
        events
            .into_iter()
            .map(|event| {
                let uuid = uuid::Uuid::new_v4();
                if let (Some(payment_id), Some(status)) = (&event.payment_id, event.status) {
                    let sent = SentWebhook {
                        uuid,
                        url: shared_url.clone(),
                        kind: event.kind,
                        status,
                        cancellation_id: event.cancellation_id.as_deref().map(Box::from),
                        at: now,
                    };
                    let _ = data.change_payment(payment_id, now_ms, |p| p.remember(sent));
                }
                let id = model::message_id(uuid);
                outgoing_of(&event, &store_id, &url, id, key.clone(), now)
            })
            .collect()
    }

    /// Sends the webhooks of `events` (before returning, in sync mode).
    async fn notify(&self, merchant: &MerchantHandle, events: Vec<Event>) {
        let outgoing = self.outgoing(merchant, events);
        self.inner.core.webhooks.send(outgoing).await;
    }

    /// Sends a payment's webhook again, under a new id: `event` is what it reported.
    async fn resend(
        &self,
        merchant: &MerchantHandle,
        sent: &SentWebhook,
        event: &Event,
    ) -> PaymentWebhook {
        let now = self.now();
        let id = model::message_id(uuid::Uuid::new_v4());
        let (secret, store_id) = {
            let data = merchant.lock();
            (
                data.webhook_secret
                    .clone()
                    .unwrap_or_else(|| self.inner.config.webhook_secret.clone()),
                data.store.store_id.clone(),
            )
        };
        if let Ok(key) = payments_api::signature::secret_key(&secret) {
            let outgoing =
                outgoing_of(event, &store_id, &sent.url, id.clone(), key.into(), sent.at);
            self.inner.core.webhooks.send(vec![outgoing]).await;
        }
        PaymentWebhook {
            payment_status: Some(sent.status),
            id,
            url: sent.url.to_string(),
            is_async: Some(true),
            trigger: Some("MANUAL".to_owned()),
            triggered_at: Some(now),
        }
    }
}

/// The webhook of an event, in the 2024-04-25 format.
fn outgoing_of(
    event: &Event,
    store_id: &str,
    url: &str,
    id: String,
    key: Arc<[u8]>,
    at: chrono::DateTime<chrono::Utc>,
) -> Outgoing {
    let webhook = Webhook {
        kind: event.kind,
        timestamp: at,
        data: WebhookData {
            store_id: store_id.to_owned(),
            payment_id: event.payment_id.clone(),
            transaction_id: event.transaction_id.clone(),
            cancellation_id: event.cancellation_id.clone(),
            billing_key: event.billing_key.clone(),
        },
    };
    Outgoing {
        url: url.to_owned(),
        event: event.kind.as_str().to_owned(),
        subject: event
            .payment_id
            .clone()
            .or_else(|| event.billing_key.clone())
            .unwrap_or_default(),
        body: crate::delivery::Body::json(&webhook),
        signing: Some(Signing { id, key }),
    }
}

/// A handle on a [`FakePortOne`] that does not keep it alive.
#[derive(Debug, Clone)]
pub struct WeakFakePortOne(Weak<Inner>);

impl Fake for FakePortOne {
    type Weak = WeakFakePortOne;

    const NAME: &'static str = "portone";

    fn core(&self) -> &Core {
        &self.inner.core
    }

    fn downgrade(&self) -> Self::Weak {
        WeakFakePortOne(Arc::downgrade(&self.inner))
    }

    fn upgrade(weak: &Self::Weak) -> Option<Self> {
        weak.0.upgrade().map(|inner| Self { inner })
    }

    async fn run_due(&self) {
        let now = self.now();
        let due = |data: &mut MerchantData| {
            let mut events = data.expire_due(now);
            events.extend(data.run_schedules(now));
            events
        };
        let core = &self.inner.core;
        core.run_due(&self.inner.merchants, due, |merchant, events| {
            self.outgoing(merchant, events)
        })
        .await;
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        openapi::document()
    }

    fn forget(&self) {
        self.inner.merchants.clear();
        let mut tokens = self.tokens();
        tokens.access.clear();
        tokens.refresh.clear();
    }

    /// PortOne's V2 routes.
    fn api(&self) -> Router<Self> {
        use routes::{billing_keys, payments, schedules};
        let authenticated = Router::new()
            .route("/payments/{payment_id}", get(payments::one))
            .route("/payments", get(payments::list))
            .route("/payments-by-cursor", get(payments::by_cursor))
            .route(
                "/payments/{payment_id}/pre-register",
                post(payments::pre_register),
            )
            .route("/payments/{payment_id}/confirm", post(payments::confirm))
            .route("/payments/{payment_id}/instant", post(payments::instant))
            .route(
                "/payments/{payment_id}/billing-key",
                post(payments::billing_key),
            )
            .route("/payments/{payment_id}/schedule", post(schedules::create))
            .route("/payments/{payment_id}/cancel", post(payments::cancel))
            .route(
                "/payments/{payment_id}/virtual-account/close",
                post(payments::close_virtual_account),
            )
            .route(
                "/payments/{payment_id}/resend-webhook",
                post(payments::resend_webhook),
            )
            .route(
                "/payments/{payment_id}/cash-receipt",
                get(payments::cash_receipt),
            )
            .route(
                "/billing-keys",
                get(billing_keys::list).post(billing_keys::issue),
            )
            .route(
                "/billing-keys/{billing_key}",
                get(billing_keys::one).delete(billing_keys::delete),
            )
            .route(
                "/payment-schedules",
                get(schedules::list).delete(schedules::revoke),
            )
            .route_layer(from_fn_with_state(self.clone(), authenticate));
        Router::new()
            .route("/login/api-secret", post(routes::auth::login))
            .route("/token/refresh", post(routes::auth::refresh))
            .merge(authenticated)
    }

    /// The customer's actions and the store's settings, as the store.
    fn controls(&self) -> Router<Self> {
        Router::new()
            .route(
                "/internal/payments/{payment_id}",
                post(internal::payment_window),
            )
            .route(
                "/internal/payments/{payment_id}/deposit",
                post(internal::deposit),
            )
            .route("/internal/billing-keys", post(internal::billing_key_window))
            .route(
                "/internal/merchant",
                get(internal::merchant).put(internal::set_merchant),
            )
            .route_layer(from_fn_with_state(self.clone(), authenticate))
    }

    /// The browser SDK at the real CDN's path, and the checkout page.
    fn browser(&self) -> Router<Self> {
        Router::new()
            .route("/v2/browser-sdk.js", get(checkout::script))
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

/// Authenticates the store and hands it to the handler.
async fn authenticate(
    State(fake): State<FakePortOne>,
    mut request: Request,
    next: Next,
) -> Response {
    Fake::ensure_ticker(&fake);
    let Some(secret) = fake.secret_of(request.headers()) else {
        return PortOneFault::unauthorized().into_response();
    };
    let merchant = fake.merchant(&secret);
    request.extensions_mut().insert(merchant);
    let mut response = next.run(request).await;
    // Whatever the request stored, all stores together stay within their bound.
    fake.inner.merchants.enforce(&secret);
    response
        .extensions_mut()
        .insert(MerchantLabel(mask(&secret)));
    response
}
