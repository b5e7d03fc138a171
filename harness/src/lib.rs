//! The payments sandbox in one call: a database, the payments server and both fake PGs,
//! wired to each other on loopback, with a typed client, helpers that act as the customer
//! at each PG, and a webhook inbox standing in for your backend.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use payments_api::payments::*;
//! use payments_harness::Harness;
//!
//! let harness = Harness::start().await?;
//! let key = harness.toss().card_payment("order-1", 15000).await?;
//! let history = harness
//!     .client()
//!     .create_history(&PaymentHistoryCreate {
//!         vendor: PaymentVendor { code: VendorCode::TossPayments, store_id: "shop".into(), uid: key },
//!         source: PaymentSource { schema: "shop".into(), table: "orders".into(), id: "order-1".into() },
//!         webhook_url: harness.inbox().url().to_owned(),
//!         price: 15000.0,
//!         password: "secret".into(),
//!     })
//!     .await?;
//! assert!(history.paid_at.is_some());
//! harness.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod openapi;
mod pgs;
pub mod scenario;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use payments_api::BodyCodec;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_fakes::Fake as _;
use payments_fakes::delivery::DeliveryMode;
use payments_fakes::iamport::{FakeIamport, IamportConfig};
use payments_fakes::portone::{FakePortOne, PortOneConfig};
use payments_fakes::toss::{FakeToss, TossConfig};
use payments_server::App;
use payments_server::config::{Config, IamportAccount, PortOneAccount, Secret, TossAccount};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

#[cfg(feature = "docker")]
pub use payments_testkit::Docker;
pub use payments_testkit::{Database, Delivery, Inbox, InboxError, InboxEvent};

use crate::pgs::FakeEntry;

/// How long `shutdown` waits for the server and the fakes to stop on their own before it
/// stops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The signing secret of the sandbox's relay: public, for sandboxes and tests only.
pub const SANDBOX_WEBHOOK_SECRET: &str = payments_server::config::SANDBOX_WEBHOOK_SECRET;

/// The Toss secret key the harness's payments server uses.
pub const TOSS_SECRET_KEY: &str = payments_fakes::toss::DEFAULT_SECRET_KEY;

/// The PortOne V2 API secret the harness's payments server uses.
pub const PORTONE_API_SECRET: &str = payments_fakes::portone::DEFAULT_API_SECRET;

/// Why a harness could not start or a helper failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("database: {0}")]
    Database(String),
    #[error("the payments server: {0}")]
    Server(#[from] payments_server::StartError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("the fake PG answered {status}: {body}")]
    Fake { status: u16, body: Value },
    #[error("the fake PG could not be reached: {0}")]
    Http(#[from] reqwest::Error),
}

impl From<payments_testkit::DatabaseError> for HarnessError {
    fn from(error: payments_testkit::DatabaseError) -> Self {
        Self::Database(error.0)
    }
}

/// Settings of a harness; `start` runs it.
#[derive(Debug, Clone)]
pub struct HarnessBuilder {
    database: Database,
    fake_webhooks: DeliveryMode,
    key: String,
    iv: String,
    webhook_secret: String,
    host: IpAddr,
    ports: (u16, u16, u16),
    inbox_port: u16,
    portone_port: u16,
    storage: Option<StorageSecrets>,
    pg_timeout: Duration,
    toss: TossConfig,
    iamport: IamportConfig,
    plain_json: bool,
}

impl Default for HarnessBuilder {
    fn default() -> Self {
        Self {
            database: Database::Auto,
            fake_webhooks: DeliveryMode::Sync,
            key: SANDBOX_KEY.to_owned(),
            iv: SANDBOX_IV.to_owned(),
            webhook_secret: SANDBOX_WEBHOOK_SECRET.to_owned(),
            host: IpAddr::from([127, 0, 0, 1]),
            ports: (0, 0, 0),
            inbox_port: 0,
            portone_port: 0,
            storage: None,
            pg_timeout: Duration::from_secs(10),
            toss: TossConfig::default(),
            iamport: IamportConfig::default(),
            plain_json: false,
        }
    }
}

impl HarnessBuilder {
    /// Where the server keeps its records (default: `PAYMENTS_TEST_DATABASE_URL`'s MariaDB
    /// if set, else SQLite).
    pub fn database(mut self, database: impl Into<Database>) -> Self {
        self.database = database.into();
        self
    }

    /// Whether the fakes deliver their webhooks to the server before answering the request
    /// that caused them (`Sync`, the default: deterministic tests) or after (`Async`, as
    /// the real PGs do).
    pub fn fake_webhooks(mut self, mode: DeliveryMode) -> Self {
        self.fake_webhooks = mode;
        self
    }

    /// The body encryption key and IV (default: the sandbox's public ones).
    pub fn encryption(mut self, key: &str, iv: &str) -> Self {
        self.key = key.to_owned();
        self.iv = iv.to_owned();
        self
    }

    /// The relay's signing secret (`whsec_…`; default: the sandbox's public one).
    pub fn webhook_secret(mut self, secret: &str) -> Self {
        self.webhook_secret = secret.to_owned();
        self
    }

    /// The address the server, both fakes and the inbox (with the admin API) listen on
    /// (default 127.0.0.1; 0.0.0.0 in a
    /// container, to be reachable through its published ports). The URLs they give each
    /// other stay on loopback.
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// Fixed ports for the server, the fake I'mport and the fake Toss (default: 0, free
    /// ones).
    pub fn ports(mut self, payments: u16, iamport: u16, toss: u16) -> Self {
        self.ports = (payments, iamport, toss);
        self
    }

    /// A fixed port for the fake PortOne V2 (default: 0, a free one).
    pub fn portone_port(mut self, port: u16) -> Self {
        self.portone_port = port;
        self
    }

    /// A fixed port for the webhook inbox and the admin API (default: 0, a free one).
    pub fn inbox_port(mut self, port: u16) -> Self {
        self.inbox_port = port;
        self
    }

    /// The server's storage key and password pepper (default: fresh random ones). Records
    /// written with one pair are readable only with it: a database kept between runs
    /// needs the same pair each time.
    pub fn storage(mut self, secrets: StorageSecrets) -> Self {
        self.storage = Some(secrets);
        self
    }

    /// How long the server waits for a PG (default 10 s; shorter makes timeout tests quick).
    pub fn pg_timeout(mut self, timeout: Duration) -> Self {
        self.pg_timeout = timeout;
        self
    }

    /// Whether the payments server also reads and answers plain JSON (requests sent as
    /// `application/json`), for generic HTTP tools; off by default. Needs the sandbox's
    /// public key and IV (the default `encryption`).
    pub fn plain_json(mut self, on: bool) -> Self {
        self.plain_json = on;
        self
    }

    /// Settings of the fake Toss (its webhook URL and mode are the harness's).
    pub fn toss(mut self, config: TossConfig) -> Self {
        self.toss = config;
        self
    }

    /// Settings of the fake I'mport (its webhook URL and mode are the harness's).
    pub fn iamport(mut self, config: IamportConfig) -> Self {
        self.iamport = config;
        self
    }

    /// Starts the database, both fakes, the server and the inbox.
    pub async fn start(self) -> Result<Harness, HarnessError> {
        let (stop, stopped) = watch::channel(false);
        let codec = BodyCodec::new(&self.key, &self.iv)
            .map_err(|e| HarnessError::Database(e.to_string()))?;
        let database = payments_testkit::provision(&self.database).await?;

        // Bind everything first: each side must know the others' URLs.
        let payments_listener = bind(self.host, self.ports.0).await?;
        let iamport_listener = bind(self.host, self.ports.1).await?;
        let toss_listener = bind(self.host, self.ports.2).await?;
        let portone_listener = bind(self.host, self.portone_port).await?;
        let inbox_listener = bind(self.host, self.inbox_port).await?;
        let payments_url = url_of(&payments_listener)?;
        let iamport_url = url_of(&iamport_listener)?;
        let toss_url = url_of(&toss_listener)?;
        let portone_url = url_of(&portone_listener)?;
        let inbox_base = url_of(&inbox_listener)?;

        let toss = FakeToss::new(TossConfig {
            webhook_url: Some(format!("{payments_url}/payments/webhooks/toss")),
            webhook_mode: self.fake_webhooks,
            ..self.toss.clone()
        });
        let iamport = FakeIamport::new(IamportConfig {
            webhook_url: Some(format!("{payments_url}/payments/webhooks/iamport")),
            webhook_mode: self.fake_webhooks,
            ..self.iamport.clone()
        });
        let portone = FakePortOne::new(PortOneConfig {
            webhook_url: Some(format!("{payments_url}/payments/webhooks/portone")),
            webhook_mode: self.fake_webhooks,
            ..PortOneConfig::default()
        });
        let iamport_credentials = iamport.config().credentials[0].clone();
        let mut tasks = Vec::new();
        for (listener, router) in [
            (toss_listener, toss.router()),
            (iamport_listener, iamport.router()),
            (portone_listener, portone.router()),
        ] {
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(payments_fakes::serve::serve(
                listener,
                router,
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
                Duration::from_secs(2),
            )));
        }

        let mut config = Config::sandbox(database.url.clone());
        if let Some(storage) = &self.storage {
            config.storage.keys = [(
                config.storage.active_key.clone(),
                Secret::new(storage.key.clone()),
            )]
            .into();
            config.storage.password_pepper = Secret::new(storage.pepper.clone());
        }
        config.listen = payments_listener.local_addr()?;
        config.encryption.key = Secret::new(self.key.clone());
        config.encryption.iv = Secret::new(self.iv.clone());
        config.pg.iamport.insert(
            "default".into(),
            IamportAccount::new(
                &iamport_url,
                &iamport_credentials.imp_key,
                &iamport_credentials.imp_secret,
            ),
        );
        config.pg.toss.insert(
            "default".into(),
            TossAccount::new(&toss_url, TOSS_SECRET_KEY),
        );
        config.pg.portone.insert(
            "default".into(),
            PortOneAccount::new(
                &portone_url,
                PORTONE_API_SECRET,
                &portone.config().webhook_secret,
            ),
        );
        config.pg.timeout_seconds = self.pg_timeout.as_secs_f64();
        config.relay.signing_secrets = vec![Secret::new(self.webhook_secret.clone())];
        config.relay.poll_interval_ms = 50;
        config.plain_json = self.plain_json;
        let app = App::build(&config).await?;
        {
            let app = app.clone();
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let _ = app
                    .serve(payments_listener, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
            }));
        }
        let fakes = Arc::new(vec![
            FakeEntry {
                name: "iamport",
                url: iamport_url.clone(),
                credentials: json!({"imp_key": iamport_credentials.imp_key, "imp_secret": iamport_credentials.imp_secret})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                controls: vec![
                    ("payment_window", "POST /internal/payments"),
                    ("deposit", "GET, PUT /internal/deposit/{imp_uid}"),
                    ("merchant", "GET, PUT /internal/merchant"),
                ],
                browser: json!({
                    "scripts": {"iamport.js": format!("{iamport_url}/js/iamport.payment-1.2.0.js")},
                    "merchant_code": payments_fakes::iamport::checkout::merchant_code(&iamport_credentials.imp_key),
                    "checkout": format!("{iamport_url}/checkout"),
                }),
                fake: Box::new(iamport.clone()),
            },
            FakeEntry {
                name: "toss",
                url: toss_url.clone(),
                credentials: json!({"secret_key": TOSS_SECRET_KEY})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                controls: vec![
                    ("payment_window", "POST /internal/payments"),
                    ("deposit", "GET, PUT /internal/{paymentKey}/deposit"),
                    ("refund", "POST /internal/{paymentKey}/refund"),
                    ("card_registration", "POST /internal/billing/authorizations"),
                    ("merchant", "GET, PUT /internal/merchant"),
                ],
                browser: json!({
                    "scripts": {
                        "v1": format!("{toss_url}/v1/payment"),
                        "v2": format!("{toss_url}/v2/standard"),
                    },
                    "client_key": payments_fakes::toss::checkout::client_key(TOSS_SECRET_KEY),
                    "checkout": format!("{toss_url}/checkout"),
                }),
                fake: Box::new(toss.clone()),
            },
            FakeEntry {
                name: "portone",
                url: portone_url.clone(),
                credentials: json!({
                    "api_secret": PORTONE_API_SECRET,
                    "store_id": payments_fakes::portone::store_id(PORTONE_API_SECRET),
                    "webhook_secret": portone.config().webhook_secret,
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
                controls: vec![
                    ("payment_window", "POST /internal/payments/{paymentId}"),
                    ("deposit", "POST /internal/payments/{paymentId}/deposit"),
                    ("card_registration", "POST /internal/billing-keys"),
                    ("merchant", "GET, PUT /internal/merchant"),
                ],
                browser: json!({
                    "scripts": {"browser-sdk": format!("{portone_url}/v2/browser-sdk.js")},
                    "store_id": payments_fakes::portone::store_id(PORTONE_API_SECRET),
                    "channel_key": payments_fakes::portone::CHANNEL_KEY,
                    "checkout": format!("{portone_url}/checkout"),
                }),
                fake: Box::new(portone.clone()),
            },
        ]);
        let inbox = Inbox::new(&inbox_base, codec.clone(), &self.webhook_secret);
        let admin_url = format!("{inbox_base}/admin");
        let mut discovery = discovery(
            &payments_url,
            (&self.key, &self.iv),
            &self.webhook_secret,
            &fakes,
            inbox.url(),
            &admin_url,
        );
        discovery["payments"]["plain_json"] = json!(self.plain_json);
        let discovery = Arc::new(discovery);
        let router = inbox
            .router()
            .merge(admin::router(admin::Admin {
                inbox: inbox.clone(),
                app: app.clone(),
                fakes: fakes.clone(),
                discovery: discovery.clone(),
            }))
            // Set after the merge, so they cover the inbox's route too.
            .method_not_allowed_fallback(admin::method_not_allowed)
            .fallback(admin::not_found);
        {
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(inbox_listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
            }));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .tls_backend_preconfigured(payments_api::tls::client_config())
            .build()?;
        Ok(Harness {
            client: PaymentsClient::with_http(&payments_url, codec, http.clone()),
            payments_url,
            iamport_url,
            toss_url,
            portone_url,
            key: self.key,
            iv: self.iv,
            webhook_secret: self.webhook_secret,
            inbox,
            admin_url,
            discovery,
            fakes,
            app,
            toss,
            iamport,
            portone,
            iamport_credentials,
            http,
            stop,
            tasks,
            database: Some(database),
        })
    }
}

/// The server's secrets at rest: the storage key (Base64 of 32 bytes) and the password
/// pepper.
#[derive(Clone)]
pub struct StorageSecrets {
    pub key: String,
    pub pepper: String,
}

impl std::fmt::Debug for StorageSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageSecrets(***)")
    }
}

/// Moves the server's clock and every fake's forward by `ms`.
/// Moves the server's clock (named `server`) and the fakes' forward: those `only` names, or
/// all of them.
pub(crate) async fn advance_all(app: &App, fakes: &[FakeEntry], ms: u64, only: Option<&[String]>) {
    let moves = |name: &str| only.is_none_or(|names| names.iter().any(|n| n == name));
    if moves("server") {
        app.clock().advance(Duration::from_millis(ms));
        app.wake_relay();
    }
    let by = chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX / 2));
    for fake in fakes.iter().filter(|fake| moves(fake.name)) {
        fake.fake.advance(by).await;
    }
}

/// Resets every fake, the inbox, and the server's records and clock.
pub(crate) async fn reset_all(app: &App, fakes: &[FakeEntry], inbox: &Inbox) -> Result<(), String> {
    for fake in fakes {
        fake.fake.reset();
    }
    app.clock().reset();
    app.db()
        .delete_all_records()
        .await
        .map_err(|e| e.to_string())?;
    // No event is left to claim; one claimed before would still reach the inbox after it
    // forgot, so the inbox forgets once those deliveries are over.
    app.relay().quiet().await;
    inbox.clear();
    inbox.answer(200);
    Ok(())
}

/// The discovery document.
fn discovery(
    payments_url: &str,
    (key, iv): (&str, &str),
    webhook_secret: &str,
    fakes: &[FakeEntry],
    inbox_url: &str,
    admin_url: &str,
) -> Value {
    let route = |methods: &[&str], path: &str| json!({"methods": methods, "url": format!("{admin_url}{path}")});
    json!({
        "payments": {
            "url": payments_url,
            "encryption": {"key": key, "iv": iv},
            "webhook_secret": webhook_secret,
        },
        "fakes": fakes.iter().map(|f| (f.name.to_owned(), f.describe())).collect::<serde_json::Map<_, _>>(),
        "inbox": {"url": inbox_url},
        "admin": {
            "url": admin_url,
            "routes": {
                "discovery": route(&["GET"], ""),
                "inbox": route(&["GET", "DELETE"], "/inbox"),
                "inbox_wait": route(&["GET"], "/inbox/wait"),
                "inbox_event": route(&["GET"], "/inbox/events/{id}"),
                "inbox_status": route(&["GET", "PUT", "DELETE"], "/inbox/status"),
                "clock": route(&["GET", "POST"], "/clock"),
                "reset": route(&["POST"], "/reset"),
            },
        },
    })
}

async fn bind(host: IpAddr, port: u16) -> Result<TcpListener, HarnessError> {
    let address = SocketAddr::from((host, port));
    TcpListener::bind(address)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("{address}: {e}")).into())
}

/// A listener's URL; on loopback when it listens on every address.
fn url_of(listener: &TcpListener) -> Result<String, HarnessError> {
    let mut address = listener.local_addr()?;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        });
    }
    Ok(format!("http://{address}"))
}

/// A running sandbox. Everything stops when it is dropped (or, cleanly, on `shutdown`).
#[derive(Debug)]
pub struct Harness {
    client: PaymentsClient,
    payments_url: String,
    iamport_url: String,
    toss_url: String,
    portone_url: String,
    key: String,
    iv: String,
    webhook_secret: String,
    inbox: Inbox,
    admin_url: String,
    discovery: Arc<Value>,
    fakes: Arc<Vec<FakeEntry>>,
    app: App,
    toss: FakeToss,
    iamport: FakeIamport,
    portone: FakePortOne,
    iamport_credentials: payments_fakes::iamport::Credentials,
    pub(crate) http: reqwest::Client,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    database: Option<payments_testkit::Provisioned>,
}

impl Harness {
    /// A harness with the default settings.
    pub async fn start() -> Result<Self, HarnessError> {
        Self::builder().start().await
    }

    /// Settings to start a harness with.
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder::default()
    }

    /// The typed client of the payments server.
    pub fn client(&self) -> &PaymentsClient {
        &self.client
    }

    /// The webhook inbox standing in for the client backend.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    pub fn payments_url(&self) -> &str {
        &self.payments_url
    }

    pub fn iamport_url(&self) -> &str {
        &self.iamport_url
    }

    pub fn toss_url(&self) -> &str {
        &self.toss_url
    }

    pub fn portone_url(&self) -> &str {
        &self.portone_url
    }

    /// The body encryption key and IV.
    pub fn encryption(&self) -> (&str, &str) {
        (&self.key, &self.iv)
    }

    /// The URL of the server's database (with its credentials, if it has any).
    pub fn database_url(&self) -> &str {
        self.database.as_ref().map_or("", |d| d.url.as_str())
    }

    /// The relay's signing secret.
    pub fn webhook_secret(&self) -> &str {
        &self.webhook_secret
    }

    /// The fake I'mport's key pair.
    pub fn iamport_credentials(&self) -> (&str, &str) {
        (
            &self.iamport_credentials.imp_key,
            &self.iamport_credentials.imp_secret,
        )
    }

    /// The payments server (its clock, its relay).
    pub fn server(&self) -> &App {
        &self.app
    }

    /// The fake Toss itself (its journal, its clock).
    pub fn fake_toss(&self) -> &FakeToss {
        &self.toss
    }

    /// The fake I'mport itself.
    pub fn fake_iamport(&self) -> &FakeIamport {
        &self.iamport
    }

    /// The customer and the PG's console at the fake Toss.
    pub fn toss(&self) -> TossCustomer<'_> {
        TossCustomer { harness: self }
    }

    /// The customer and the PG's console at the fake I'mport.
    pub fn iamport(&self) -> IamportCustomer<'_> {
        IamportCustomer { harness: self }
    }

    /// The fake PortOne V2 itself.
    pub fn fake_portone(&self) -> &FakePortOne {
        &self.portone
    }

    /// The customer and the store's own calls at the fake PortOne V2.
    pub fn portone(&self) -> PortOneCustomer<'_> {
        PortOneCustomer { harness: self }
    }

    /// Moves the payments server's clock forward (retries of client events fall due).
    pub fn advance_server_clock(&self, by: Duration) {
        self.app.clock().advance(by);
        self.app.wake_relay();
    }

    /// Moves the server's clock and every fake's forward together (what
    /// `POST /admin/clock` does).
    pub async fn advance_clocks(&self, by: Duration) {
        advance_all(
            &self.app,
            &self.fakes,
            u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
            None,
        )
        .await;
    }

    /// Back to a fresh state: every fake forgets everything, the inbox forgets its
    /// deliveries and answers 200, the server's records are deleted and its clock put back
    /// (what `POST /admin/reset` does).
    pub async fn reset(&self) -> Result<(), HarnessError> {
        reset_all(&self.app, &self.fakes, &self.inbox)
            .await
            .map_err(HarnessError::Database)
    }

    /// The base URL of the admin API (`…/admin`, on the inbox's port).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Every fake's journal, by the fake's name (`iamport`, `toss`).
    pub fn fake_journals(
        &self,
    ) -> impl Iterator<Item = (&'static str, &payments_fakes::journal::Journal)> {
        self.fakes.iter().map(|f| (f.name, f.fake.journal()))
    }

    /// The discovery document (`GET /admin`): every URL, credential and control.
    pub fn discovery(&self) -> &Value {
        &self.discovery
    }

    /// Stops everything and removes the database.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        // The server's relay and sweeps end with its serve task: waiting for it (briefly)
        // keeps them off the database while it is removed.
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in self.tasks.drain(..) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        if let Some(database) = self.database.take() {
            database.release().await;
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        auth: &str,
        body: Option<Value>,
    ) -> Result<Value, HarnessError> {
        let mut request = self.http.request(method, url).header("authorization", auth);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(HarnessError::Fake { status, body })
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What a customer (and the PG's console) does at the fake Toss.
#[derive(Debug, Clone, Copy)]
pub struct TossCustomer<'a> {
    harness: &'a Harness,
}

impl TossCustomer<'_> {
    fn auth(&self) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_SECRET_KEY}:"))
        )
    }

    /// Calls the fake Toss as the server's merchant.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, HarnessError> {
        let url = format!("{}{path}", self.harness.toss_url);
        self.harness.call(method, url, &self.auth(), body).await
    }

    /// The customer pays by card in Toss's window; answers the paymentKey, waiting for the
    /// server's approval.
    pub async fn card_payment(&self, order_id: &str, amount: u32) -> Result<String, HarnessError> {
        let result = self
            .call(
                reqwest::Method::POST,
                "/internal/payments",
                Some(json!({"orderId": order_id, "amount": amount})),
            )
            .await?;
        Ok(result["paymentKey"].as_str().unwrap_or_default().to_owned())
    }

    /// A virtual account is issued for the order; answers its paymentKey.
    pub async fn virtual_account(
        &self,
        order_id: &str,
        amount: u32,
    ) -> Result<String, HarnessError> {
        let payment = self
            .call(
                reqwest::Method::POST,
                "/v1/virtual-accounts",
                Some(json!({"orderId": order_id, "orderName": "주문", "bank": "신한", "customerName": "홍길동", "amount": amount})),
            )
            .await?;
        Ok(payment["paymentKey"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The customer pays into the virtual account.
    pub async fn deposit(&self, payment_key: &str) -> Result<Value, HarnessError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/internal/{payment_key}/deposit"),
            None,
        )
        .await
    }

    /// The customer registers a card for `customer_key`; answers the billing key.
    pub async fn billing_key(&self, customer_key: &str) -> Result<String, HarnessError> {
        let auth = self
            .call(
                reqwest::Method::POST,
                "/internal/billing/authorizations",
                Some(json!({"customerKey": customer_key})),
            )
            .await?;
        let billing = self
            .call(
                reqwest::Method::POST,
                "/v1/billing/authorizations/issue",
                Some(json!({"authKey": auth["authKey"], "customerKey": customer_key})),
            )
            .await?;
        Ok(billing["billingKey"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Makes the next `times` requests to `path` fail with Toss error `code`.
    pub async fn fail_next(&self, path: &str, code: &str, times: u32) -> Result<(), HarnessError> {
        self.call(
            reqwest::Method::POST,
            "/internal/faults",
            Some(json!({"path": path, "times": times, "action": "error", "code": code})),
        )
        .await
        .map(drop)
    }

    /// Moves the fake Toss's clock forward (due dates, expiries, its webhook retries).
    pub async fn advance(&self, by: chrono::Duration) {
        self.harness.toss.advance(by).await;
    }
}

/// What a customer (and the PG's console) does at the fake I'mport.
#[derive(Debug, Clone, Copy)]
pub struct IamportCustomer<'a> {
    harness: &'a Harness,
}

impl IamportCustomer<'_> {
    /// Calls the fake I'mport with a fresh token of the server's merchant.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, HarnessError> {
        let (key, secret) = self.harness.iamport_credentials();
        let token = self
            .harness
            .call(
                reqwest::Method::POST,
                format!("{}/users/getToken", self.harness.iamport_url),
                "",
                Some(json!({"imp_key": key, "imp_secret": secret})),
            )
            .await?;
        let token = token["response"]["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let url = format!("{}{path}", self.harness.iamport_url);
        let answer = self.harness.call(method, url, &token, body).await?;
        Ok(answer["response"].clone())
    }

    /// The customer pays by card in the payment window; answers the imp_uid (paid).
    pub async fn card_payment(
        &self,
        merchant_uid: &str,
        amount: u32,
    ) -> Result<String, HarnessError> {
        let payment = self
            .call(
                reqwest::Method::POST,
                "/internal/payments",
                Some(json!({"merchant_uid": merchant_uid, "amount": amount, "name": "주문"})),
            )
            .await?;
        Ok(payment["imp_uid"].as_str().unwrap_or_default().to_owned())
    }

    /// A virtual account is issued for the order, due in a week; answers its imp_uid.
    pub async fn virtual_account(
        &self,
        merchant_uid: &str,
        amount: u32,
    ) -> Result<String, HarnessError> {
        let payment = self
            .call(
                reqwest::Method::POST,
                "/internal/payments",
                Some(
                    json!({"merchant_uid": merchant_uid, "amount": amount, "pay_method": "vbank"}),
                ),
            )
            .await?;
        Ok(payment["imp_uid"].as_str().unwrap_or_default().to_owned())
    }

    /// The customer pays into the virtual account.
    pub async fn deposit(&self, imp_uid: &str) -> Result<Value, HarnessError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/internal/deposit/{imp_uid}"),
            None,
        )
        .await
    }

    /// A card is registered as the billing key `customer_uid`.
    pub async fn billing_key(&self, customer_uid: &str) -> Result<(), HarnessError> {
        self.call(
            reqwest::Method::POST,
            &format!("/subscribe/customers/{customer_uid}"),
            Some(json!({"customer_uid": customer_uid, "card_number": "4092-0230-1234-5678", "expiry": "2049-12", "birth": "880311"})),
        )
        .await
        .map(drop)
    }

    /// Makes the next `times` requests to `path` fail with HTTP 500.
    pub async fn fail_next(&self, path: &str, times: u32) -> Result<(), HarnessError> {
        self.harness
            .call(
                reqwest::Method::POST,
                format!("{}/internal/faults", self.harness.iamport_url),
                "",
                Some(json!({"path": path, "times": times, "action": "error", "code": "-1"})),
            )
            .await
            .map(drop)
    }

    /// Moves the fake I'mport's clock forward.
    pub async fn advance(&self, by: chrono::Duration) {
        self.harness.iamport.advance(by).await;
    }
}

/// What a customer (and the store's own code) does at the fake PortOne V2. Payments are
/// named by the store's own `paymentId`.
#[derive(Debug, Clone, Copy)]
pub struct PortOneCustomer<'a> {
    harness: &'a Harness,
}

impl PortOneCustomer<'_> {
    /// Calls the fake PortOne V2 as the server's store.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, HarnessError> {
        let url = format!("{}{path}", self.harness.portone_url);
        let auth = format!("PortOne {PORTONE_API_SECRET}");
        self.harness.call(method, url, &auth, body).await
    }

    /// The customer pays `payment_id` by card in PortOne's window.
    pub async fn card_payment(&self, payment_id: &str, amount: u32) -> Result<Value, HarnessError> {
        self.call(
            reqwest::Method::POST,
            &format!("/internal/payments/{payment_id}"),
            Some(json!({"orderName": "주문", "amount": {"total": amount}})),
        )
        .await
    }

    /// A virtual account is issued for `payment_id` in PortOne's window.
    pub async fn virtual_account(
        &self,
        payment_id: &str,
        amount: u32,
    ) -> Result<Value, HarnessError> {
        self.call(
            reqwest::Method::POST,
            &format!("/internal/payments/{payment_id}"),
            Some(json!({"orderName": "주문", "amount": {"total": amount}, "method": "VIRTUAL_ACCOUNT", "bank": "SHINHAN"})),
        )
        .await
    }

    /// The customer pays into the virtual account of `payment_id`.
    pub async fn deposit(&self, payment_id: &str) -> Result<Value, HarnessError> {
        self.call(
            reqwest::Method::POST,
            &format!("/internal/payments/{payment_id}/deposit"),
            Some(json!({})),
        )
        .await
    }

    /// The customer registers a card for `customer_id`; answers the billing key.
    pub async fn billing_key(&self, customer_id: &str) -> Result<String, HarnessError> {
        let registered = self
            .call(
                reqwest::Method::POST,
                "/internal/billing-keys",
                Some(json!({"customer": {"id": customer_id}})),
            )
            .await?;
        Ok(registered["billingKey"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The store charges `billing_key` as payment `payment_id`.
    pub async fn charge(
        &self,
        payment_id: &str,
        billing_key: &str,
        amount: u32,
    ) -> Result<Value, HarnessError> {
        self.call(
            reqwest::Method::POST,
            &format!("/payments/{payment_id}/billing-key"),
            Some(json!({"billingKey": billing_key, "orderName": "구독", "amount": {"total": amount}, "currency": "KRW"})),
        )
        .await
    }

    /// Makes the next `times` requests to `path` fail with PortOne error type `kind`.
    pub async fn fail_next(&self, path: &str, kind: &str, times: u32) -> Result<(), HarnessError> {
        self.call(
            reqwest::Method::POST,
            "/internal/faults",
            Some(json!({"path": path, "times": times, "action": "error", "code": kind})),
        )
        .await
        .map(drop)
    }

    /// Moves the fake PortOne's clock forward (schedules, expiries, its webhook retries).
    pub async fn advance(&self, by: chrono::Duration) {
        self.harness.portone.advance(by).await;
    }
}
