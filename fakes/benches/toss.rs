//! Throughput of the fake Toss over loopback HTTP: payment lookup and key-in.
//!
//! `cargo bench -p payments-fakes --bench toss [-- SECONDS [CONNECTIONS]]`
//!
//! The fake and the load generator share the machine, as they do in a test suite: the
//! figures are what a test run on the same machine can get out of the fake.

mod load;

use std::time::Duration;

use base64::Engine as _;
use load::{Connection, drive, report};
use payments_fakes::Fake as _;
use payments_fakes::toss::{FakeToss, TossConfig};
use tokio::net::TcpListener;

const KEY: &str = "test_sk_bench_merchant_0001";

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let connections: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(Duration::from_secs(seconds), connections));
}

async fn run(duration: Duration, connections: usize) {
    let fake = FakeToss::new(TossConfig::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address").to_string();
    tokio::spawn(payments_fakes::serve::serve(
        listener,
        fake.router(),
        std::future::pending(),
        Duration::from_secs(1),
    ));
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"))
    );
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let mut setup = Connection::open(&address, &headers).await;
    let created = setup
        .send("POST", "/v1/payments/key-in", Some(key_in("bench-seed")))
        .await;
    let payment: serde_json::Value = serde_json::from_slice(&created).expect("a payment");
    let lookup = format!(
        "/v1/payments/{}",
        payment["paymentKey"].as_str().expect("a key")
    );

    println!(
        "fake Toss, {connections} keep-alive connections, {} s per scenario, {} cores",
        duration.as_secs(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    report(
        "GET  /v1/payments/{paymentKey}",
        drive(&address, &headers, connections, duration, {
            let lookup = lookup.clone();
            move |_| ("GET", lookup.clone(), None)
        })
        .await,
    );
    report(
        "POST /v1/payments/key-in",
        drive(&address, &headers, connections, duration, |n| {
            (
                "POST",
                "/v1/payments/key-in".to_owned(),
                Some(key_in(&format!("bench-{n}"))),
            )
        })
        .await,
    );
}

fn key_in(order_id: &str) -> String {
    serde_json::json!({
        "method": "card",
        "cardNumber": "4330123412341234",
        "cardExpirationYear": "49",
        "cardExpirationMonth": "12",
        "amount": 15000,
        "orderId": order_id,
        "orderName": "bench",
    })
    .to_string()
}
