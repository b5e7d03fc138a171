//! Read throughput of the payments server: `PATCH /payments/histories/{id}` (the `at`
//! route: password check, unsealing, body encryption) over loopback HTTP.
//!
//! `cargo bench -p payments-server --bench at [-- SECONDS [CONNECTIONS [DATABASE]]]`
//!
//! DATABASE is `mariadb` (default; a fresh database on the server at
//! `PAYMENTS_BENCH_DATABASE_URL`, default `mysql://root@127.0.0.1:3306`, dropped after) or
//! `sqlite` (a temporary file). The server, the fake Toss that payments are created at, and
//! the load generator share the machine.

#[path = "../../fakes/benches/load/mod.rs"]
mod load;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use load::{drive, report};
use payments_api::BodyCodec;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::payments::*;
use payments_fakes::toss::{FakeToss, TossConfig};
use payments_server::App;
use payments_server::config::{BodyEncryption, Config, Pgs, Relay, Secret, Storage, TossAccount};
use tokio::net::TcpListener;

const RECORDS: usize = 500;
const TOSS_KEY: &str = "test_sk_bench";

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let connections: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let database = args.next().unwrap_or_else(|| "mariadb".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(Duration::from_secs(seconds), connections, &database));
}

async fn run(duration: Duration, connections: usize, database: &str) {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (database_url, cleanup) = match database {
        "sqlite" => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
        "mariadb" => {
            let server = std::env::var("PAYMENTS_BENCH_DATABASE_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
            let name = format!("payments_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::AnyPool::connect(&server)
                .await
                .expect("MariaDB answers");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .expect("a bench database");
            (
                format!("{}/{name}", server.trim_end_matches('/')),
                Some((admin, name)),
            )
        }
        other => panic!("DATABASE is mariadb or sqlite, not {other}"),
    };

    let toss = FakeToss::new(TossConfig::default());
    let toss_url = serve_fake(toss.router()).await;
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        database_url: Secret::new(database_url),
        migrate_on_start: true,
        encryption: BodyEncryption {
            key: Secret::new(SANDBOX_KEY),
            iv: Secret::new(SANDBOX_IV),
        },
        storage: Storage {
            active_key: "k1".into(),
            keys: BTreeMap::from([(
                "k1".to_owned(),
                Secret::new(base64::engine::general_purpose::STANDARD.encode([9u8; 32])),
            )]),
            password_pepper: Secret::new("a-pepper-for-the-benchmark"),
        },
        pg: Pgs {
            toss: BTreeMap::from([(
                "default".to_owned(),
                TossAccount {
                    base_url: toss_url.clone(),
                    secret_key: Secret::new(TOSS_KEY),
                },
            )]),
            ..Pgs::default()
        },
        relay: Relay::with_secret("whsec_YmVuY2gtc2lnbmluZy1zZWNyZXQ="),
    };
    let app = App::build(&config).await.expect("the server starts");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address").to_string();
    let server = app.clone();
    tokio::spawn(async move { server.serve(listener, std::future::pending()).await });

    // Records to read, made the way clients make them.
    let client = PaymentsClient::new(&format!("http://{address}"), SANDBOX_KEY, SANDBOX_IV)
        .expect("a client");
    let http = reqwest::Client::new();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_KEY}:"))
    );
    let mut ids = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let order = format!("bench-order-{i}");
        let payment: serde_json::Value = http
            .post(format!("{toss_url}/v1/payments/key-in"))
            .header("authorization", &auth)
            .json(&serde_json::json!({"cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": 15000, "orderId": order, "__approved": false}))
            .send()
            .await
            .expect("the fake answers")
            .json()
            .await
            .expect("a payment");
        let history = client
            .create_history(&PaymentHistoryCreate {
                vendor: PaymentVendor {
                    code: VendorCode::TossPayments,
                    store_id: "bench".into(),
                    uid: payment["paymentKey"].as_str().expect("a key").into(),
                },
                source: PaymentSource {
                    schema: "bench".into(),
                    table: "orders".into(),
                    id: order,
                },
                webhook_url: "http://127.0.0.1:9/hook".into(),
                price: 15000.0,
                password: "bench-password".into(),
            })
            .await
            .expect("a stored payment");
        ids.push(history.id);
    }
    let codec = BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).expect("a codec");
    let body = codec
        .encrypt_json(&serde_json::json!({"password": "bench-password"}))
        .expect("a body");
    let paths: Arc<Vec<String>> = Arc::new(
        ids.iter()
            .map(|id| format!("/payments/histories/{id}"))
            .collect(),
    );

    println!(
        "payments server on {database}, {RECORDS} records, {connections} keep-alive connections, {} s, {} cores",
        duration.as_secs(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let outcome = drive(
        &address,
        &[("content-type", "text/plain")],
        connections,
        duration,
        move |n| {
            (
                "PATCH",
                paths[n as usize % paths.len()].clone(),
                Some(body.clone()),
            )
        },
    )
    .await;
    report("PATCH /payments/histories/{id}", outcome);

    if let Some((admin, name)) = cleanup {
        app.db().pool.close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(&admin)
            .await;
    }
}

async fn serve_fake(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(payments_fakes::serve::serve(
        listener,
        router,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    url
}
