//! The fake PortOne V2 under load over loopback HTTP: paying, reading, cancelling and
//! charging billing keys, on a store that grows to its capacity, on a full one and on an
//! empty one, with a webhook endpoint that answers and with one that is unreachable; and
//! the memory a stored payment costs.
//!
//! `cargo bench -p payments-fakes --bench portone [-- REQUESTS [CONNECTIONS]]`
//!
//! REQUESTS per scenario (default 40,000) over CONNECTIONS keep-alive connections (default
//! 64). The fake and the load generator share the machine, as they do in a test suite; the
//! `sysbench cpu` score printed before and after says how fast the machine was meanwhile.

mod load;

use load::{Args, Call, Target, machine, report};
use payments_fakes::Fake as _;
use payments_fakes::portone::{DEFAULT_API_SECRET, FakePortOne, PortOneConfig};
use serde_json::{Value, json};

fn main() {
    load::main(run);
}

async fn start(config: PortOneConfig, args: &Args) -> (FakePortOne, Target) {
    let auth = format!("PortOne {DEFAULT_API_SECRET}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    load::start(FakePortOne::new(config), &headers, args).await
}

fn instant(number: &str, total: i64) -> Value {
    json!({
        "method": {"card": {"credential": {"number": number, "expiryYear": "39", "expiryMonth": "12"}}},
        "orderName": "bench",
        "amount": {"total": total},
        "currency": "KRW",
    })
}

const CARD: &str = "4330123412341234";

async fn run(args: Args) {
    machine("before");
    println!(
        "fake PortOne V2: {} requests per scenario over {} keep-alive connections",
        args.requests, args.connections
    );
    let capacity = PortOneConfig::default().capacity;
    let live = load::receiver().await;
    let n = args.requests;

    println!("\n-- a store growing to its capacity ({capacity} payments), then full");
    let (_full, target) = start(
        PortOneConfig {
            webhook_url: Some(live.clone()),
            ..PortOneConfig::default()
        },
        &args,
    )
    .await;
    load::fill_to_capacity(
        &target,
        capacity,
        &format!("POST /payments/{{id}}/instant, 0 → {capacity} stored"),
        |i| Call::post(format!("/payments/bad-{i}/instant"), instant("1234", 1000)),
        |i| Call::post(format!("/payments/p-{i}/instant"), instant(CARD, 1000)),
    )
    .await;
    report(
        "GET  /payments/{id}, full store, any payment",
        target
            .run(
                n,
                move |i| Call::get(format!("/payments/p-{}", (i * 7919) % capacity)),
                None,
            )
            .await,
    );
    report(
        "POST /payments/{id}/instant, full store (evicting)",
        target
            .run(
                n,
                |i| Call::post(format!("/payments/f-{i}/instant"), instant(CARD, 1000)),
                None,
            )
            .await,
    );

    println!("\n-- an empty store, webhooks answered");
    let (_fake, target) = start(
        PortOneConfig {
            webhook_url: Some(live.clone()),
            ..PortOneConfig::default()
        },
        &args,
    )
    .await;
    report(
        "POST /payments/{id}/instant",
        target
            .run(
                n,
                |i| Call::post(format!("/payments/e-{i}/instant"), instant(CARD, 10_000)),
                None,
            )
            .await,
    );
    report(
        "POST /payments/{id}/cancel (partial)",
        target
            .run(
                n,
                |i| {
                    Call::post(
                        format!("/payments/e-{i}/cancel"),
                        json!({"amount": 1000, "reason": "bench"}),
                    )
                },
                None,
            )
            .await,
    );
    let mut setup = target.connect().await;
    let issued = setup
        .json(
            "POST",
            "/billing-keys",
            Some(json!({"method": {"card": {"credential": {"number": CARD, "expiryYear": "39", "expiryMonth": "12"}}}})),
        )
        .await;
    let key = issued["billingKeyInfo"]["billingKey"]
        .as_str()
        .expect("a billing key")
        .to_owned();
    let charged = key.clone();
    report(
        "POST /payments/{id}/billing-key",
        target
            .run(
                n,
                move |i| {
                    Call::post(
                        format!("/payments/b-{i}/billing-key"),
                        json!({"billingKey": charged, "orderName": "bench", "amount": {"total": 1000}, "currency": "KRW"}),
                    )
                },
                None,
            )
            .await,
    );
    report(
        "GET  /billing-keys/{billingKey}",
        target
            .run(n, move |_| Call::get(format!("/billing-keys/{key}")), None)
            .await,
    );
    report(
        "POST /login/api-secret",
        target
            .run(
                n,
                |_| {
                    Call::post(
                        "/login/api-secret",
                        json!({"apiSecret": DEFAULT_API_SECRET}),
                    )
                },
                None,
            )
            .await,
    );

    println!("\n-- an empty store, webhook endpoint unreachable");
    let (fake, target) = start(
        PortOneConfig {
            webhook_url: Some(load::unreachable().await),
            ..PortOneConfig::default()
        },
        &args,
    )
    .await;
    report(
        "POST /payments/{id}/instant, webhooks failing",
        target
            .run(
                n,
                |i| Call::post(format!("/payments/u-{i}/instant"), instant(CARD, 1000)),
                None,
            )
            .await,
    );
    fake.advance(chrono::Duration::minutes(2)).await;
    report(
        "GET  /payments/{id}, retries pending",
        target
            .run(
                n,
                move |i| Call::get(format!("/payments/u-{}", i % n)),
                None,
            )
            .await,
    );
    machine("after");
}
