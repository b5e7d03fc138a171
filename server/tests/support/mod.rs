//! The payments server over real HTTP, wired to both fakes on loopback, on SQLite or on
//! MariaDB (a fresh database per test on the first MariaDB the test kit finds: see
//! `Database::AnyMariaDb`), made with the workspace's test kit.

#![allow(dead_code)]

use std::time::Duration;

use base64::Engine as _;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_fakes::Fake as _;
use payments_fakes::iamport::{FakeIamport, IamportConfig};
use payments_fakes::portone::{FakePortOne, PortOneConfig};
use payments_fakes::toss::{FakeToss, TossConfig};
use payments_server::App;
use payments_server::config::{
    Config, IamportAccount, PortOneAccount, SANDBOX_WEBHOOK_SECRET, TossAccount,
};
use payments_testkit::{Database, Provisioned};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const TOSS_KEY: &str = "test_sk_server_tests_000000";
/// The Toss account of store `store-2`: another merchant at the fake.
pub const TOSS_KEY_2: &str = "test_sk_server_tests_store2";
pub const PASSWORD: &str = "some-password";

/// Where a test's payment comes from in the shop: order `id`.
pub fn source(id: &str) -> payments_api::payments::PaymentSource {
    payments_api::payments::PaymentSource {
        schema: "shop".into(),
        table: "orders".into(),
        id: id.into(),
    }
}
/// The PortOne V2 store of the tests.
pub const PORTONE_SECRET: &str = "test_portone_server_tests";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MariaDb,
}

/// Runs `$body` as two tests, on SQLite and on MariaDB.
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$ctx:ident| $body:block) => {
        mod $name {
            use super::*;

            #[allow(unused_mut)]
            async fn run(mut $ctx: support::Ctx) {
                $body
                $ctx.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(support::Ctx::start(support::Backend::Sqlite).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                run(support::Ctx::start(support::Backend::MariaDb).await).await;
            }
        }
    };
}

/// A running server with its fakes.
pub struct Ctx {
    pub backend: Backend,
    /// The running server (its clock, its relay).
    pub app: Option<App>,
    pub url: String,
    pub client: PaymentsClient,
    pub http: reqwest::Client,
    pub toss_url: String,
    pub iamport_url: String,
    pub toss: FakeToss,
    pub iamport: FakeIamport,
    pub portone_url: String,
    pub portone: FakePortOne,
    pub config: Config,
    iamport_token: String,
    /// Removed when the test finishes, or when it fails before.
    database: Option<Provisioned>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Ctx {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts with the test configuration changed by `adjust` first.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let database = match backend {
            Backend::Sqlite => Database::Sqlite,
            Backend::MariaDb => Database::AnyMariaDb,
        };
        Self::start_on_with(backend, database, adjust).await
    }

    /// A server on `database`, a database of `backend`.
    pub async fn start_on(backend: Backend, database: Database) -> Self {
        Self::start_on_with(backend, database, |_| {}).await
    }

    /// A server on `database`, with the test configuration changed by `adjust` first.
    pub async fn start_on_with(
        backend: Backend,
        database: Database,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        // Sync delivery: a fake's webhook has reached the server when the fake answers.
        let toss = FakeToss::new(TossConfig {
            webhook_mode: payments_fakes::delivery::DeliveryMode::Sync,
            ..TossConfig::default()
        });
        let iamport = FakeIamport::new(IamportConfig {
            webhook_mode: payments_fakes::delivery::DeliveryMode::Sync,
            ..IamportConfig::default()
        });
        let portone = FakePortOne::new(PortOneConfig {
            webhook_mode: payments_fakes::delivery::DeliveryMode::Sync,
            ..PortOneConfig::default()
        });
        let toss_url = payments_testkit::serve(toss.router()).await.unwrap();
        let portone_url = payments_testkit::serve(portone.router()).await.unwrap();
        let iamport_url = payments_testkit::serve(iamport.router()).await.unwrap();
        let database = payments_testkit::provision(&database)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut config = Config::sandbox(database.url.clone());
        config.pg.iamport.insert(
            "default".into(),
            IamportAccount::new(&iamport_url, "test_imp_key", "test_imp_secret"),
        );
        config
            .pg
            .toss
            .insert("default".into(), TossAccount::new(&toss_url, TOSS_KEY));
        config
            .pg
            .toss
            .insert("store-2".into(), TossAccount::new(&toss_url, TOSS_KEY_2));
        config.pg.portone.insert(
            "default".into(),
            PortOneAccount::new(
                &portone_url,
                PORTONE_SECRET,
                &portone.config().webhook_secret,
            ),
        );
        config.pg.timeout_seconds = 1.0;
        config.relay.poll_interval_ms = 100;
        adjust(&mut config);
        payments_fakes::tls::install_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let mut ctx = Self {
            backend,
            app: None,
            url: String::new(),
            client: PaymentsClient::new("http://unused", SANDBOX_KEY, SANDBOX_IV).unwrap(),
            http,
            toss_url,
            iamport_url,
            toss,
            iamport,
            portone_url,
            portone,
            config,
            iamport_token: String::new(),
            database: Some(database),
            stop: None,
            task: None,
        };
        ctx.boot().await;
        let token = ctx
            .iamport_call(
                reqwest::Method::POST,
                "/users/getToken",
                Some(json!({"imp_key": "test_imp_key", "imp_secret": "test_imp_secret"})),
            )
            .await;
        ctx.iamport_token = token.1["response"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        ctx.point_fakes_at_server().await;
        ctx
    }

    async fn boot(&mut self) {
        let app = App::build(&self.config).await.expect("the server starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.url = format!("http://{}", listener.local_addr().unwrap());
        self.client = PaymentsClient::new(&self.url, SANDBOX_KEY, SANDBOX_IV).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        self.stop = Some(stop);
        self.app = Some(app.clone());
        self.task = Some(tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        }));
        // The fakes notify this server, wherever it now listens.
        if !self.iamport_token.is_empty() {
            self.point_fakes_at_server().await;
        }
    }

    /// Makes both fakes send their webhooks to the server's intake.
    pub async fn point_fakes_at_server(&self) {
        let toss_hook = format!("{}/payments/webhooks/toss", self.url);
        let (status, _) = self
            .toss_call(
                reqwest::Method::PUT,
                "/internal/merchant",
                Some(json!({"webhookUrl": toss_hook})),
            )
            .await;
        assert_eq!(status, 200);
        let portone_hook = format!("{}/payments/webhooks/portone", self.url);
        let (status, body) = self
            .portone_call(
                reqwest::Method::PUT,
                "/internal/merchant",
                Some(json!({"webhookUrl": portone_hook})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let iamport_hook = format!("{}/payments/webhooks/iamport", self.url);
        let (status, _) = self
            .iamport_call(
                reqwest::Method::PUT,
                "/internal/merchant",
                Some(json!({"webhook_url": iamport_hook})),
            )
            .await;
        assert_eq!(status, 200);
    }

    /// The running server.
    pub fn app(&self) -> &App {
        self.app.as_ref().expect("the server runs")
    }

    /// Moves the server's clock forward and lets its relay look for due events.
    pub fn advance(&self, by: Duration) {
        self.app().clock().advance(by);
        self.app().wake_relay();
    }

    /// Stops the server and starts a new one on the same database.
    pub async fn restart(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.boot().await;
    }

    /// Kills the test's private `mariadbd`, as a crash would.
    pub async fn kill_database(&mut self) {
        let database = self.database.as_mut().expect("a database");
        database.kill_server().await.unwrap();
    }

    /// Starts the killed private `mariadbd` again.
    pub async fn restart_database(&mut self) {
        let database = self.database.as_mut().expect("a database");
        database.restart_server().await.unwrap();
    }

    /// Stops the server and drops the test database.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(database) = self.database.take() {
            database.release().await;
        }
    }

    /// Every byte stored in every column of every table, as text, for leak checks.
    pub async fn dump(&self) -> String {
        sqlx::any::install_default_drivers();
        let url = self.config.database_url.expose();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        let mut out = String::new();
        for table in [
            "payment_histories",
            "payment_history_cancels",
            "payment_reservations",
            "payment_webhook_events",
            "payment_webhook_attempts",
        ] {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
                .fetch_all(&pool)
                .await
                .unwrap();
            for row in rows {
                for i in 0..row.len() {
                    if let Ok(text) = row.try_get::<String, _>(i) {
                        out.push_str(&text);
                    } else if let Ok(bytes) = row.try_get::<Vec<u8>, _>(i) {
                        out.push_str(&String::from_utf8_lossy(&bytes));
                    }
                    out.push('|');
                }
                out.push('\n');
            }
        }
        pool.close().await;
        out
    }

    /// How many rows `table` holds.
    pub async fn rows(&self, table: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(self.config.database_url.expose())
            .await
            .unwrap();
        let count: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        count
    }

    /// The first column of every row `sql` selects, as text.
    pub async fn scalars(&self, sql: &str) -> Vec<String> {
        self.scalars_at(sql, 0).await
    }

    /// The text in `column` of each row `sql` answers.
    pub async fn scalars_at(&self, sql: &str, column: usize) -> Vec<String> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(self.config.database_url.expose())
            .await
            .unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows.iter()
            .map(|row| row.get::<String, _>(column))
            .collect()
    }

    /// A counter of the MariaDB server's `GLOBAL_STATUS` (`INNODB_DEADLOCKS`, …): what it
    /// has counted since it started.
    pub async fn innodb_counter(&self, name: &str) -> i64 {
        let value = self
            .scalars(&format!(
                "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS \
                 WHERE VARIABLE_NAME = '{name}'"
            ))
            .await;
        value[0].parse().expect("a count")
    }

    /// The LATEST DETECTED DEADLOCK section of the InnoDB monitor: the two transactions,
    /// their statements and the locks they held and waited for.
    pub async fn latest_deadlock(&self) -> String {
        let status = self.scalars_at("SHOW ENGINE INNODB STATUS", 2).await;
        let status = status.into_iter().next().unwrap_or_default();
        let from = status.find("LATEST DETECTED DEADLOCK").unwrap_or(0);
        let to = status[from..]
            .find("\nTRANSACTIONS\n")
            .map_or(status.len(), |to| from + to);
        status[from..to].to_owned()
    }

    // --- the fakes, as the customer and the merchant's own code would use them ---

    pub async fn toss_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.toss_call_as(TOSS_KEY, method, path, body).await
    }

    /// A call to the fake Toss as the merchant of `secret_key`.
    pub async fn toss_call_as(
        &self,
        secret_key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{secret_key}:"))
        );
        call(
            &self.http,
            method,
            &format!("{}{path}", self.toss_url),
            &auth,
            body,
        )
        .await
    }

    pub async fn iamport_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        call(
            &self.http,
            method,
            &format!("{}{path}", self.iamport_url),
            &self.iamport_token,
            body,
        )
        .await
    }

    /// A call to the fake PortOne V2 as the tests' store.
    pub async fn portone_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        call(
            &self.http,
            method,
            &format!("{}{path}", self.portone_url),
            &format!("PortOne {PORTONE_SECRET}"),
            body,
        )
        .await
    }

    /// A PortOne V2 card payment the customer paid in the payment window; its paymentId
    /// is `payment_id`.
    pub async fn portone_card(&self, payment_id: &str, amount: u32) {
        let (status, body) = self
            .portone_call(
                reqwest::Method::POST,
                &format!("/internal/payments/{payment_id}"),
                Some(json!({"orderName": "주문", "amount": {"total": amount}})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("code").is_none(), "{body}");
    }

    /// A PortOne V2 virtual account issued for `payment_id`, waiting for its deposit.
    pub async fn portone_virtual_account(&self, payment_id: &str, amount: u32) {
        let (status, body) = self
            .portone_call(
                reqwest::Method::POST,
                &format!("/internal/payments/{payment_id}"),
                Some(json!({"orderName": "주문", "amount": {"total": amount}, "method": "VIRTUAL_ACCOUNT", "bank": "SHINHAN"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// A PortOne V2 billing key registered for `customer`; returns the key.
    pub async fn portone_billing_key(&self, customer: &str) -> String {
        let (status, body) = self
            .portone_call(
                reqwest::Method::POST,
                "/internal/billing-keys",
                Some(json!({"customer": {"id": customer}})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["billingKey"].as_str().unwrap().to_owned()
    }

    /// A Toss card payment waiting for approval; returns its paymentKey.
    pub async fn toss_card(&self, order_id: &str, amount: u32) -> String {
        let (status, body) = self
            .toss_call(
                reqwest::Method::POST,
                "/v1/payments/key-in",
                Some(json!({"method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": amount, "orderId": order_id, "orderName": "주문", "__approved": false})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["paymentKey"].as_str().unwrap().to_owned()
    }

    /// A Toss virtual account waiting for its deposit; returns its paymentKey.
    pub async fn toss_virtual_account(&self, order_id: &str, amount: u32) -> String {
        let (status, body) = self
            .toss_call(
                reqwest::Method::POST,
                "/v1/virtual-accounts",
                Some(json!({"orderId": order_id, "orderName": "주문", "bank": "신한", "customerName": "홍길동", "amount": amount})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["paymentKey"].as_str().unwrap().to_owned()
    }

    /// A paid I'mport card payment; returns its imp_uid.
    pub async fn iamport_card(&self, merchant_uid: &str, amount: u32) -> String {
        let (status, body) = self
            .iamport_call(
                reqwest::Method::POST,
                "/subscribe/payments/onetime",
                Some(json!({"card_number": "4092-0230-1234-5678", "expiry": "2049-12", "birth": "880311", "merchant_uid": merchant_uid, "amount": amount, "name": "주문", "buyer_name": "김결제자"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["response"]["imp_uid"].as_str().unwrap().to_owned()
    }

    /// An I'mport virtual account waiting for its deposit; returns its imp_uid.
    pub async fn iamport_vbank(&self, merchant_uid: &str, amount: u32) -> String {
        let due = self.iamport.clock().now().timestamp() + 86_400;
        let (status, body) = self
            .iamport_call(
                reqwest::Method::POST,
                "/vbanks",
                Some(json!({"merchant_uid": merchant_uid, "amount": amount, "vbank_code": "088", "vbank_due": due, "vbank_holder": "테스트상점"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["response"]["imp_uid"].as_str().unwrap().to_owned()
    }

    /// Raw HTTP to the payments server with an encrypted body.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, String) {
        let codec = payments_api::BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request
                .header("content-type", "text/plain")
                .body(codec.encrypt_json(body).unwrap());
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

impl Ctx {
    /// Raw HTTP to the payments server with an encrypted body: the status, the
    /// `Retry-After` header and the JSON error body (`null` for an encrypted answer).
    pub async fn raw_with_headers(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (u16, Option<String>, Value) {
        let codec = payments_api::BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).unwrap();
        let response = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("content-type", "text/plain")
            .body(codec.encrypt_json(body).unwrap())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        (
            status,
            retry_after,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    auth: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url).header("authorization", auth);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A client backend's webhook endpoint: the test kit's inbox, checking the server's
/// signatures and decrypting with its key; `next` fails the test when nothing comes.
pub struct Inbox {
    pub url: String,
    inner: payments_testkit::Inbox,
}

/// One accepted delivery.
pub type Delivery = payments_testkit::InboxEvent;

impl Inbox {
    pub async fn start() -> Self {
        let codec = payments_api::BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).unwrap();
        let (inner, _) = payments_testkit::Inbox::start(codec, SANDBOX_WEBHOOK_SECRET)
            .await
            .unwrap();
        Self {
            url: inner.url().to_owned(),
            inner,
        }
    }

    /// Answers every later delivery with `status`.
    pub fn answer(&self, status: u16) {
        self.inner.answer(status);
    }

    /// The next accepted event, or panics after `timeout`.
    pub async fn next(&self, timeout: Duration) -> Delivery {
        self.inner
            .next(timeout)
            .await
            .expect("an event arrives in time")
    }

    /// An event accepted already, if any.
    pub async fn try_next(&self) -> Option<Delivery> {
        self.inner.try_next().await
    }
}
