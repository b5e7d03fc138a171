//! Throughput of the fake I'mport over loopback HTTP: token-authenticated payment lookup and
//! one-time card payment.
//!
//! `cargo bench -p payments-fakes --bench iamport [-- SECONDS [CONNECTIONS]]`
//!
//! The fake and the load generator share the machine, as they do in a test suite.

mod load;

use std::time::Duration;

use load::{Connection, drive, report};
use payments_fakes::Fake as _;
use payments_fakes::iamport::{FakeIamport, IamportConfig};
use tokio::net::TcpListener;

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
    let fake = FakeIamport::new(IamportConfig::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address").to_string();
    tokio::spawn(payments_fakes::serve::serve(
        listener,
        fake.router(),
        std::future::pending(),
        Duration::from_secs(1),
    ));
    let mut anonymous = Connection::open(&address, &[("content-type", "application/json")]).await;
    let token = anonymous
        .send(
            "POST",
            "/users/getToken",
            Some(r#"{"imp_key":"test_imp_key","imp_secret":"test_imp_secret"}"#.to_owned()),
        )
        .await;
    let token: serde_json::Value = serde_json::from_slice(&token).expect("a token");
    let token = token["response"]["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let headers = [
        ("authorization", token.as_str()),
        ("content-type", "application/json"),
    ];
    let mut setup = Connection::open(&address, &headers).await;
    let created = setup
        .send(
            "POST",
            "/subscribe/payments/onetime",
            Some(onetime("bench-seed")),
        )
        .await;
    let payment: serde_json::Value = serde_json::from_slice(&created).expect("a payment");
    let lookup = format!(
        "/payments/{}",
        payment["response"]["imp_uid"].as_str().expect("an imp_uid")
    );

    println!(
        "fake I'mport, {connections} keep-alive connections, {} s per scenario, {} cores",
        duration.as_secs(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    report(
        "GET  /payments/{imp_uid}",
        drive(&address, &headers, connections, duration, move |_| {
            ("GET", lookup.clone(), None)
        })
        .await,
    );
    report(
        "POST /subscribe/payments/onetime",
        drive(&address, &headers, connections, duration, |n| {
            (
                "POST",
                "/subscribe/payments/onetime".to_owned(),
                Some(onetime(&format!("bench-{n}"))),
            )
        })
        .await,
    );
}

fn onetime(merchant_uid: &str) -> String {
    serde_json::json!({
        "card_number": "4092-0230-1234-5678",
        "expiry": "2049-12",
        "birth": "880311",
        "merchant_uid": merchant_uid,
        "amount": 15000,
        "name": "bench",
    })
    .to_string()
}
