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
mod setup;

use std::sync::Arc;
use std::time::Duration;

use load::{drive, report};
use payments_api::BodyCodec;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::payments::*;
use payments_fakes::toss::{FakeToss, TossConfig};
use setup::Bench;

const RECORDS: usize = 500;

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
    let bench = Bench::start(database, FakeToss::new(TossConfig::default())).await;
    let (toss_url, auth) = (&bench.toss_url, &bench.toss_auth);

    // Records to read, made the way clients make them.
    let client = PaymentsClient::new(&bench.server_url, SANDBOX_KEY, SANDBOX_IV).expect("a client");
    let http = reqwest::Client::new();
    let mut ids = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let order = format!("bench-order-{i}");
        let payment: serde_json::Value = http
            .post(format!("{toss_url}/v1/payments/key-in"))
            .header("authorization", auth)
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
        bench.server_url.trim_start_matches("http://"),
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

    bench.finish().await;
}
