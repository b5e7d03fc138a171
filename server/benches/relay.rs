//! The relay end to end: from a virtual-account deposit at the fake Toss to the client's
//! endpoint receiving the signed event, over loopback HTTP.
//!
//! `cargo bench -p payments-server --bench relay [-- EVENTS [DATABASE]]`
//!
//! Latency: deposits one at a time, each timed until its event arrives. Throughput: a burst
//! of deposits (32 at a time), timed until the last event arrives. With
//! `PAYMENTS_BENCH_CLIENT_MS`, the client's endpoint answers each event that many
//! milliseconds after it arrived, as a slow client does. DATABASE is `mariadb`
//! (default, a fresh database on `PAYMENTS_BENCH_DATABASE_URL`, default
//! `mysql://root@127.0.0.1:3306`, dropped after) or `sqlite`.

mod setup;

use std::time::Instant;

use axum::routing::post;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::payments::*;
use payments_fakes::delivery::DeliveryMode;
use payments_fakes::toss::{FakeToss, TossConfig};
use payments_testkit::serve;
use setup::Bench;
use tokio::sync::mpsc;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let events: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(300);
    let database = args.next().unwrap_or_else(|| "mariadb".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(events, &database));
}

async fn run(events: usize, database: &str) {
    // The client's endpoint: it notes when each event arrives.
    let (tx, mut arrivals) = mpsc::unbounded_channel::<Instant>();
    let answer_after = std::time::Duration::from_millis(
        std::env::var("PAYMENTS_BENCH_CLIENT_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(0),
    );
    let inbox = serve(axum::Router::new().route(
        "/hook",
        post(move |_body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Instant::now());
                if !answer_after.is_zero() {
                    tokio::time::sleep(answer_after).await;
                }
                axum::http::StatusCode::OK
            }
        }),
    ))
    .await
    .expect("a port");
    let hook = format!("{inbox}/hook");

    let bench = Bench::start(
        database,
        FakeToss::new(TossConfig {
            webhook_mode: DeliveryMode::Async,
            ..TossConfig::default()
        }),
    )
    .await;
    let (toss_url, server_url, auth) = (&bench.toss_url, &bench.server_url, &bench.toss_auth);

    let http = reqwest::Client::new();
    http.put(format!("{toss_url}/internal/merchant"))
        .header("authorization", auth)
        .json(&serde_json::json!({"webhookUrl": format!("{server_url}/payments/webhooks/toss")}))
        .send()
        .await
        .expect("the fake answers");
    let client = PaymentsClient::new(server_url, SANDBOX_KEY, SANDBOX_IV).expect("a client");

    // Virtual accounts stored unpaid, for twice the number of events.
    let mut keys = Vec::new();
    for i in 0..events * 2 {
        let order = format!("relay-bench-{i}");
        let payment: serde_json::Value = http
            .post(format!("{toss_url}/v1/virtual-accounts"))
            .header("authorization", auth)
            .json(&serde_json::json!({"orderId": order, "orderName": "bench", "bank": "신한", "customerName": "홍길동", "amount": 9000}))
            .send()
            .await
            .expect("the fake answers")
            .json()
            .await
            .expect("a payment");
        let key = payment["paymentKey"].as_str().expect("a key").to_owned();
        client
            .create_history(&PaymentHistoryCreate {
                vendor: PaymentVendor {
                    code: VendorCode::TossPayments,
                    store_id: "bench".into(),
                    uid: key.clone(),
                },
                source: PaymentSource {
                    schema: "bench".into(),
                    table: "orders".into(),
                    id: order,
                },
                webhook_url: hook.clone(),
                price: 9000.0,
                password: "bench".into(),
            })
            .await
            .expect("a stored payment");
        keys.push(key);
    }
    let deposit = |key: &str| {
        http.put(format!("{toss_url}/internal/{key}/deposit"))
            .header("authorization", auth)
            .send()
    };

    println!(
        "relay on {database}, {events} events each way, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Latency, one event at a time.
    let mut latencies = Vec::with_capacity(events);
    for key in &keys[..events] {
        let started = Instant::now();
        deposit(key).await.expect("a deposit");
        let arrived = next_arrival(&mut arrivals).await;
        latencies.push(arrived - started);
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "deposit at the fake → client event     p50 {:.2} ms   p99 {:.2} ms",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );

    // Throughput: the PG notifies a burst of deposits at once. The fake delivers its
    // webhooks one at a time, as a PG's queue does; the burst is posted to the server's
    // intake directly, 32 at a time, so the figure is the server's and not the fake's.
    http.put(format!("{toss_url}/internal/merchant"))
        .header("authorization", auth)
        .json(&serde_json::json!({"webhookUrl": null}))
        .send()
        .await
        .expect("the fake answers");
    let burst = &keys[events..];
    for key in burst {
        deposit(key).await.expect("a deposit");
    }
    let intake = format!("{server_url}/payments/webhooks/toss");
    // MariaDB's counters, and what each counts.
    let counters = [
        ("Questions", "statements"),
        ("Handler_update", "rows updated"),
        ("Handler_write", "rows written"),
    ];
    let mut before = Vec::new();
    for (name, _) in counters {
        before.push(setup::global_status(bench.database_url(), name).await);
    }
    let started = Instant::now();
    for chunk in burst.chunks(32) {
        let sends: Vec<_> = chunk
            .iter()
            .map(|key| {
                let request = http
                    .post(&intake)
                    .json(&serde_json::json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": key}}));
                tokio::spawn(async move { request.send().await })
            })
            .collect();
        for send in sends {
            let answer = send.await.expect("a task").expect("the server answers");
            assert!(
                answer.status().is_success(),
                "the server answered a notification {}",
                answer.status()
            );
        }
    }
    for _ in 0..burst.len() {
        next_arrival(&mut arrivals).await;
    }
    let elapsed = started.elapsed();
    println!(
        "burst of {} PG events → all client events {:>6.0} events/s   ({:.2} s)",
        burst.len(),
        burst.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    // What the database did per event, whoever asked (the server's intake and its relay):
    // statements, rows updated and rows written (temporary tables' included).
    let mut per_event = Vec::new();
    for ((name, counts), before) in counters.into_iter().zip(before) {
        let after = setup::global_status(bench.database_url(), name).await;
        if let (Some(before), Some(after)) = (before, after) {
            per_event.push(format!(
                "{:.1} {counts}",
                after.saturating_sub(before) as f64 / burst.len() as f64,
            ));
        }
    }
    if !per_event.is_empty() {
        println!("  MariaDB per event of the burst: {}", per_event.join(", "));
    }

    bench.finish().await;
}

/// When the next event reached the client's endpoint. An event that does not come within
/// 10 s is lost, not late: the bench stops and says so.
async fn next_arrival(arrivals: &mut mpsc::UnboundedReceiver<Instant>) -> Instant {
    tokio::time::timeout(std::time::Duration::from_secs(10), arrivals.recv())
        .await
        .expect("an event reaches the client within 10 s")
        .expect("the client's endpoint is open")
}
