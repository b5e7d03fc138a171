//! The fake I'mport (PortOne V1 REST API): tokens, payments by card, billing key and
//! virtual account, cancels, pre-registered amounts, scheduled payments, certifications and
//! cash receipts over in-memory state, in the real API's envelope, plus fake-only controls
//! under `/internal`.

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
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use payments_api::iamport::{IamportPaymentStatus, IamportWebhook};

pub use error::IamportFault;
pub use model::{Settings, WebhookEvents, WebhookFormat};

use crate::compat::Compat;
use crate::core::{Core, CoreConfig, Fake};
use crate::delivery::{Body, DeliveryConfig, DeliveryMode, Outgoing};
use crate::http::MerchantLabel;
use crate::ids::random_alnum;
use crate::journal::{DEFAULT_JOURNAL_BYTES, DEFAULT_JOURNAL_CAPACITY};
use crate::registry::Registry;
use crate::store::VolatileStore;
use error::BusinessError;
use model::{Due, MerchantData, Payment};

/// A merchant of the fake I'mport, as the auth middleware hands it to the handlers.
pub(crate) type MerchantHandle = crate::registry::Merchant<MerchantData>;

/// The port the original fake listened on; `harness fake iamport` uses it by default.
pub const DEFAULT_PORT: u16 = 10851;

/// The REST API key of the original ecosystem's tests and samples.
pub const DEFAULT_IMP_KEY: &str = "test_imp_key";

/// The REST API secret that goes with [`DEFAULT_IMP_KEY`].
pub const DEFAULT_IMP_SECRET: &str = "test_imp_secret";

/// A REST API key pair; each is a merchant with its own data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub imp_key: String,
    pub imp_secret: String,
}

/// How the fake I'mport behaves.
#[derive(Debug, Clone)]
pub struct IamportConfig {
    /// The accepted key pairs.
    pub credentials: Vec<Credentials>,
    /// Where webhooks go when neither the payment (`notice_url`) nor the merchant names a URL.
    pub webhook_url: Option<String>,
    /// JSON or form-encoded webhooks, unless a merchant chooses.
    pub webhook_format: WebhookFormat,
    /// Whether webhooks are delivered before the triggering response returns.
    pub webhook_mode: DeliveryMode,
    /// Whether webhooks are retried, unless a merchant chooses. Off by default: the real API
    /// sends a webhook once unless the merchant asked PortOne for retries.
    pub webhook_retries: bool,
    /// Delays between webhook attempts when retries are on: [`RETRY_SCHEDULE`] by default.
    /// Either way only a network error or a 5xx answer is retried.
    pub webhook_retry_schedule: Vec<Duration>,
    /// How long a first webhook attempt may take to connect (the real API's 10 s).
    pub webhook_connect_timeout: Duration,
    /// How long a first webhook attempt waits for the answer (the real API's 30 s).
    pub webhook_read_timeout: Duration,
    /// How long a retried webhook attempt may take in all (the real API's 15 s).
    pub webhook_retry_timeout: Duration,
    /// How long an access token lives.
    pub token_ttl: Duration,
    /// How long records live.
    pub ttl: Duration,
    /// How many records of each kind a merchant keeps.
    pub capacity: usize,
    /// How many merchants (and live tokens per merchant, ×100) are kept.
    pub max_merchants: usize,
    /// How many records all merchants keep together; beyond it the least recently used
    /// merchants other than the one at work are forgotten first.
    pub max_records: usize,
    /// How many webhooks are remembered; the oldest delivered ones are forgotten first.
    pub max_webhooks: usize,
    /// How many journal entries of each kind are kept.
    pub journal_entries: usize,
    /// How many bytes the journal keeps in all.
    pub journal_bytes: usize,
    /// Whether merchants also get what the original fakes accepted (a merchant may set its
    /// own `compat` with `PUT /internal/merchant`).
    pub compat: Compat,
}

impl Default for IamportConfig {
    fn default() -> Self {
        Self {
            credentials: vec![Credentials {
                imp_key: DEFAULT_IMP_KEY.to_owned(),
                imp_secret: DEFAULT_IMP_SECRET.to_owned(),
            }],
            webhook_url: None,
            webhook_format: WebhookFormat::Json,
            webhook_mode: DeliveryMode::Async,
            webhook_retries: false,
            webhook_retry_schedule: RETRY_SCHEDULE.to_vec(),
            webhook_connect_timeout: Duration::from_secs(10),
            webhook_read_timeout: Duration::from_secs(30),
            webhook_retry_timeout: Duration::from_secs(15),
            token_ttl: Duration::from_secs(30 * 60),
            ttl: Duration::from_secs(24 * 3600),
            capacity: 100_000,
            max_merchants: 1_000,
            max_records: 200_000,
            max_webhooks: 10_000,
            journal_entries: DEFAULT_JOURNAL_CAPACITY,
            journal_bytes: DEFAULT_JOURNAL_BYTES,
            compat: Compat::Real,
        }
    }
}

/// The retries PortOne makes when a merchant asks for them: 5, one minute apart (webhook
/// guide, "웹훅 재 전송이 가능한가요?").
pub const RETRY_SCHEDULE: [Duration; 5] = [Duration::from_secs(60); 5];

/// A running fake I'mport: cheap to clone, all clones share the state.
#[derive(Debug, Clone)]
pub struct FakeIamport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: IamportConfig,
    core: Core,
    merchants: Registry<MerchantData>,
    /// access token → (imp_key, expires at in ms).
    tokens: Mutex<VolatileStore<(String, i64)>>,
}

/// A handle on a [`FakeIamport`] that does not keep it alive.
#[derive(Debug, Clone)]
pub struct WeakFakeIamport(Weak<Inner>);

impl FakeIamport {
    /// A fake with no data yet. Webhooks are delivered by tasks of the Tokio runtime that
    /// serves the router.
    pub fn new(config: IamportConfig) -> Self {
        let core = Core::new(CoreConfig {
            delivery: DeliveryConfig {
                mode: config.webhook_mode,
                retry_schedule: config.webhook_retry_schedule.clone(),
                // Replaced by the split timeouts below.
                timeout: config.webhook_read_timeout,
                capacity: config.max_webhooks,
                retry_jitter: Duration::ZERO,
            },
            journal_entries: config.journal_entries,
            journal_bytes: config.journal_bytes,
        });
        core.webhooks.retry_server_errors_only();
        core.webhooks.split_timeouts(
            config.webhook_connect_timeout,
            config.webhook_read_timeout,
            config.webhook_retry_timeout,
        );
        let token_life = i64::try_from(config.token_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        Self {
            inner: Arc::new(Inner {
                merchants: Registry::new(config.max_merchants, config.max_records),
                tokens: Mutex::new(VolatileStore::new(
                    token_life.saturating_add(3_600_000),
                    config.max_merchants.saturating_mul(100),
                )),
                config,
                core,
            }),
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &IamportConfig {
        &self.inner.config
    }

    fn now_ms(&self) -> i64 {
        self.inner.core.clock.now_ms()
    }

    fn merchant(&self, imp_key: &str) -> Arc<MerchantHandle> {
        let config = &self.inner.config;
        self.inner.merchants.get_or_create(imp_key, |budget| {
            let mut data = MerchantData::new(
                i64::try_from(config.ttl.as_millis()).unwrap_or(i64::MAX),
                config.capacity,
                budget,
            );
            data.configured_compat = config.compat;
            data
        })
    }

    /// The webhook announcing `status` for a payment, and whether it may be retried, if the
    /// merchant has that event on and it has somewhere to go: the payment's `notice_url`,
    /// else the merchant's URL, else the configured one.
    fn webhook(
        &self,
        settings: &Settings,
        imp_uid: &str,
        payment: &Payment,
        status: IamportPaymentStatus,
        cancellation_id: Option<String>,
    ) -> Option<(Outgoing, bool)> {
        if !settings.webhook_events.sends(status) {
            return None;
        }
        let retries = settings
            .webhook_retries
            .unwrap_or(self.inner.config.webhook_retries);
        let url =
            payment
                .notice_url()
                .map(str::to_owned)
                .or_else(|| match &settings.webhook_url {
                    Some(own) => own.clone(),
                    None => self.inner.config.webhook_url.clone(),
                })?;
        let status_text = status_text(status);
        let format = settings
            .webhook_format
            .unwrap_or(self.inner.config.webhook_format);
        let body = match format {
            WebhookFormat::Json => Body::json(&IamportWebhook {
                imp_uid: imp_uid.to_owned(),
                merchant_uid: payment.merchant_uid().to_owned(),
                status,
                cancellation_id,
            }),
            WebhookFormat::Form => {
                let mut pairs = vec![
                    ("imp_uid", imp_uid),
                    ("merchant_uid", payment.merchant_uid()),
                    ("status", status_text.as_str()),
                ];
                if let Some(id) = &cancellation_id {
                    pairs.push(("cancellation_id", id));
                }
                Body::form(&pairs)
            }
        };
        let outgoing = Outgoing {
            url,
            event: status_text,
            subject: imp_uid.to_owned(),
            body,
            signing: None,
        };
        Some((outgoing, retries))
    }

    /// The access token of the merchant `imp_key` and when it expires (ms): the same
    /// token until its last minute, when asking again extends it by five minutes, as the
    /// real API does; a new one once expired.
    fn token(&self, imp_key: &str) -> (String, i64) {
        let merchant = self.merchant(imp_key);
        let now = self.now_ms();
        let life = i64::try_from(self.inner.config.token_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let mut data = merchant.lock();
        let (token, expires) = match data.token.clone() {
            Some((token, expires)) if now < expires - 60_000 => return (token, expires),
            Some((token, expires)) if now < expires => (token, expires + 300_000),
            _ => (random_alnum(40).to_lowercase(), now.saturating_add(life)),
        };
        data.token = Some((token.clone(), expires));
        // Renewing the entry of a token moves it in the store; it does not add one.
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), (imp_key.to_owned(), expires), now);
        (token, expires)
    }

    async fn send(&self, outgoing: Vec<(Outgoing, bool)>) {
        self.inner.core.webhooks.send_each(outgoing).await;
    }
}

fn status_text(status: IamportPaymentStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Fake for FakeIamport {
    type Weak = WeakFakeIamport;

    const NAME: &'static str = "iamport";

    fn core(&self) -> &Core {
        &self.inner.core
    }

    fn downgrade(&self) -> Self::Weak {
        WeakFakeIamport(Arc::downgrade(&self.inner))
    }

    fn upgrade(weak: &Self::Weak) -> Option<Self> {
        weak.0.upgrade().map(|inner| Self { inner })
    }

    async fn run_due(&self) {
        let now_ms = self.now_ms();
        let now = now_ms / 1000;
        let mut outgoing = Vec::new();
        for merchant in self.inner.merchants.all() {
            let mut data = merchant.lock();
            for (due_ms, due) in data.take_due(now_ms) {
                let imp_uid = match &due {
                    Due::Deadline(imp_uid) => {
                        let expired = data
                            .change_payment(imp_uid, now_ms, |p| p.expire_vbank(due_ms, now))
                            .unwrap_or(false);
                        // The real webhook's triggers do not include a deadline passing.
                        if !expired || !data.settings.original_webhooks {
                            continue;
                        }
                        imp_uid.to_string()
                    }
                    Due::Schedule(merchant_uid) => {
                        match data.execute_schedule(merchant_uid, due_ms, now_ms) {
                            Some(imp_uid) => imp_uid,
                            None => continue,
                        }
                    }
                };
                if let Ok(payment) = data.payment(&imp_uid, now_ms) {
                    let status = payment.status();
                    outgoing.extend(self.webhook(&data.settings, &imp_uid, payment, status, None));
                }
            }
        }
        self.send(outgoing).await;
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        openapi::document()
    }

    fn forget(&self) {
        self.inner.merchants.clear();
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// I'mport's API, and the customer's actions and the merchant's settings, which fault
    /// rules reach as well.
    fn api(&self) -> Router<Self> {
        Router::new()
            .route("/payments", get(routes::payments::many))
            .route("/payments/{imp_uid}", get(routes::payments::one))
            .route(
                "/payments/{imp_uid}/balance",
                get(routes::payments::balance),
            )
            .route("/payments/find/{merchant_uid}", get(routes::payments::find))
            .route(
                "/payments/findAll/{merchant_uid}",
                get(routes::payments::find_all),
            )
            .route(
                "/payments/findAll/{merchant_uid}/{payment_status}",
                get(routes::payments::find_all_with_status),
            )
            .route(
                "/payments/status/{payment_status}",
                get(routes::payments::by_status),
            )
            .route(
                "/payments/find/{merchant_uid}/{payment_status}",
                get(routes::payments::find_with_status),
            )
            .route("/payments/cancel", post(routes::payments::cancel))
            .route(
                "/payments/prepare",
                post(routes::prepare::prepare).put(routes::prepare::change),
            )
            .route(
                "/payments/prepare/{merchant_uid}",
                get(routes::prepare::read),
            )
            .route(
                "/subscribe/payments/onetime",
                post(routes::subscribe::onetime),
            )
            .route("/subscribe/payments/again", post(routes::subscribe::again))
            .route(
                "/subscribe/payments/schedule",
                get(routes::schedules::list).post(routes::schedules::schedule),
            )
            .route(
                "/subscribe/payments/schedule/customers/{customer_uid}",
                get(routes::schedules::of_customer),
            )
            .route(
                "/subscribe/payments/unschedule",
                post(routes::schedules::unschedule),
            )
            .route(
                "/subscribe/payments/schedule/{merchant_uid}",
                get(routes::schedules::read).put(routes::schedules::change),
            )
            .route(
                "/subscribe/payments/schedule/{merchant_uid}/reschedule",
                post(routes::schedules::reschedule),
            )
            .route(
                "/subscribe/payments/schedule/{merchant_uid}/retry",
                post(routes::schedules::retry),
            )
            .route(
                "/subscribe/customers/{customer_uid}/payments",
                get(routes::payments::of_customer),
            )
            .route(
                "/subscribe/customers/{customer_uid}/schedules",
                get(routes::schedules::of_customer),
            )
            .route("/subscribe/customers", get(routes::customers::many))
            .route(
                "/subscribe/customers/{customer_uid}",
                get(routes::customers::read)
                    .post(routes::customers::register)
                    .delete(routes::customers::delete),
            )
            .route(
                "/vbanks",
                post(routes::vbanks::issue).put(routes::vbanks::change_by_body),
            )
            .route(
                "/vbanks/{imp_uid}",
                put(routes::vbanks::change).delete(routes::vbanks::revoke),
            )
            .route(
                "/certifications/otp/request",
                post(routes::certifications::request),
            )
            .route(
                "/certifications/otp/confirm/{imp_uid}",
                post(routes::certifications::confirm),
            )
            .route(
                "/certifications/{imp_uid}",
                get(routes::certifications::read).delete(routes::certifications::delete),
            )
            .route(
                "/receipts/{imp_uid}",
                get(routes::receipts::read)
                    .post(routes::receipts::issue)
                    .delete(routes::receipts::cancel),
            )
            .route(
                "/internal/deposit/{imp_uid}",
                put(internal::deposit).get(internal::deposit),
            )
            .route("/internal/payments", post(internal::payment_window))
            .route("/internal/cancel/{imp_uid}", post(internal::console_cancel))
            .route(
                "/internal/merchant",
                get(internal::settings).put(internal::set_settings),
            )
            .route_layer(from_fn_with_state(self.clone(), authenticate))
            .route("/users/getToken", post(routes::token::get_token))
    }

    /// `iamport.js` at the real CDN's paths, and the checkout page.
    fn browser(&self) -> Router<Self> {
        Router::new()
            .route("/v1/iamport.js", get(checkout::script))
            .route("/js/iamport.payment-1.2.0.js", get(checkout::script))
            .route("/js/iamport.payment-1.1.8.js", get(checkout::script))
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

/// Finds the merchant of the access token (raw, or after `Bearer `) and hands it on; turns
/// business refusals into HTTP 200 for merchants that asked for the real API's habit.
async fn authenticate(
    State(fake): State<FakeIamport>,
    mut request: Request,
    next: Next,
) -> Response {
    Fake::ensure_ticker(&fake);
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            match v.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                _ => v,
            }
            .to_owned()
        });
    let now = fake.now_ms();
    let imp_key = token.and_then(|token| {
        let tokens = fake.inner.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(&token, now)
            .filter(|(_, expires)| now < *expires)
            .map(|(key, _)| key.clone())
    });
    let Some(imp_key) = imp_key else {
        return IamportFault::unauthorized().into_response();
    };
    let merchant = fake.merchant(&imp_key);
    let as_200 = merchant.lock().settings.business_errors_as_200;
    request.extensions_mut().insert(merchant);
    let mut response = next.run(request).await;
    // Whatever the request stored, all merchants together stay within their bound.
    fake.inner.merchants.enforce(&imp_key);
    if as_200 && response.extensions().get::<BusinessError>().is_some() {
        *response.status_mut() = StatusCode::OK;
    }
    response.extensions_mut().insert(MerchantLabel(imp_key));
    response
}
