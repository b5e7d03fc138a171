//! The fake Toss under load over loopback HTTP: every API path, on a store that grows to
//! its capacity, on a full one and on an empty one, with a merchant endpoint that answers
//! webhooks and with one that is unreachable; and the memory a stored payment costs.
//!
//! `cargo bench -p payments-fakes --bench toss [-- REQUESTS [CONNECTIONS]]`
//!
//! REQUESTS per scenario (default 40,000) over CONNECTIONS keep-alive connections (default
//! 64). The fake and the load generator share the machine, as they do in a test suite; the
//! `sysbench cpu` score printed before and after says how fast the machine was meanwhile.

mod load;

use base64::Engine as _;
use load::{Args, Call, Target, machine, report};
use payments_fakes::toss::{FakeToss, TossConfig};
use serde_json::{Value, json};

const KEY: &str = "test_sk_bench_merchant_0001";

fn main() {
    load::main(run);
}

fn headers() -> Vec<(String, String)> {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"))
    );
    vec![
        ("authorization".into(), auth),
        ("content-type".into(), "application/json".into()),
    ]
}

async fn start(config: TossConfig, args: &Args) -> (FakeToss, Target) {
    let headers = headers();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    load::start(FakeToss::new(config), &headers, args).await
}

async fn run(args: Args) {
    machine("before");
    println!(
        "fake Toss: {} requests per scenario over {} keep-alive connections",
        args.requests, args.connections
    );
    let capacity = TossConfig::default().capacity;
    let live = load::receiver().await;

    println!("\n-- a store growing to its capacity ({capacity} payments), then full");
    let (_full, target) = start(
        TossConfig {
            webhook_url: Some(live.clone()),
            ..TossConfig::default()
        },
        &args,
    )
    .await;
    load::fill_to_capacity(
        &target,
        capacity,
        &format!("POST /v1/payments/key-in, 0 → {capacity} stored"),
        |i| Call::post("/v1/payments/key-in", key_in(&format!("bad-{i}"), "1234")),
        |i| Call::post("/v1/payments/key-in", key_in(&format!("k-{i}"), CARD)),
    )
    .await;
    let mut setup = target.connect().await;
    let one = setup.json("GET", "/v1/payments/orders/k-99999", None).await["paymentKey"]
        .as_str()
        .expect("a payment key")
        .to_owned();
    let n = args.requests;
    let full_one = report(
        "GET  /v1/payments/{paymentKey}, full store",
        target
            .run(n, move |_| Call::get(format!("/v1/payments/{one}")), None)
            .await,
    );
    let full_orders = report(
        "GET  /v1/payments/orders/{orderId}, full, any order",
        target
            .run(
                n,
                move |i| Call::get(format!("/v1/payments/orders/k-{}", (i * 7919) % capacity)),
                None,
            )
            .await,
    );
    report(
        "POST /v1/payments/key-in, full store (evicting)",
        target
            .run(
                n,
                |i| Call::post("/v1/payments/key-in", key_in(&format!("f-{i}"), CARD)),
                None,
            )
            .await,
    );

    println!("\n-- an empty store, webhooks answered");
    let (_fake, target) = start(
        TossConfig {
            webhook_url: Some(live.clone()),
            ..TossConfig::default()
        },
        &args,
    )
    .await;
    let empty_one;
    let empty_orders;
    {
        let cards = report(
            "POST /v1/payments/key-in",
            target
                .run(
                    n,
                    |i| Call::post("/v1/payments/key-in", key_in(&format!("k-{i}"), CARD)),
                    Some(payment_key),
                )
                .await,
        )
        .kept();
        let one = cards[0].clone();
        empty_one = report(
            "GET  /v1/payments/{paymentKey}",
            target
                .run(n, move |_| Call::get(format!("/v1/payments/{one}")), None)
                .await,
        );
        empty_orders = report(
            "GET  /v1/payments/orders/{orderId}, any order",
            target
                .run(
                    n,
                    move |i| Call::get(format!("/v1/payments/orders/k-{}", (i * 7919) % n)),
                    None,
                )
                .await,
        );
        let window = report(
            "POST /internal/payments (payment window)",
            target
                .run(
                    n,
                    |i| {
                        Call::post(
                            "/internal/payments",
                            json!({"orderId": format!("w-{i}"), "amount": 15000}),
                        )
                    },
                    Some(payment_key),
                )
                .await,
        )
        .kept();
        let half = n / 2;
        let confirm = window.clone();
        report(
            "POST /v1/payments/confirm",
            target
                .run(
                    half,
                    move |i| {
                        Call::post(
                            "/v1/payments/confirm",
                            json!({"paymentKey": confirm[i], "orderId": format!("w-{i}"), "amount": 15000}),
                        )
                    },
                    None,
                )
                .await,
        );
        report(
            "POST /v1/payments/{paymentKey} (approval, older form)",
            target
                .run(
                    n - half,
                    move |i| {
                        let i = i + half;
                        Call::post(
                            format!("/v1/payments/{}", window[i]),
                            json!({"orderId": format!("w-{i}"), "amount": 15000}),
                        )
                    },
                    None,
                )
                .await,
        );
        let cancelled = cards.clone();
        report(
            "POST /v1/payments/{paymentKey}/cancel (part)",
            target
                .run(
                    n,
                    move |i| {
                        Call::post(
                            format!("/v1/payments/{}/cancel", cancelled[i]),
                            json!({"cancelReason": "bench", "cancelAmount": 1000}),
                        )
                    },
                    None,
                )
                .await,
        );
        let receipts = report(
            "POST /v1/cash-receipts",
            target
                .run(
                    n,
                    move |i| {
                        Call::post(
                            "/v1/cash-receipts",
                            json!({"type": "소득공제", "paymentKey": cards[i], "orderId": format!("k-{i}"),
                                   "orderName": "bench", "registrationNumber": "01012345678", "amount": 1000}),
                        )
                    },
                    Some(|v| v["receiptKey"].as_str().map(str::to_owned)),
                )
                .await,
        )
        .kept();
        report(
            "POST /v1/cash-receipts/{receiptKey}/cancel",
            target
                .run(
                    n,
                    move |i| {
                        Call::post(
                            format!("/v1/cash-receipts/{}/cancel", receipts[i]),
                            json!({}),
                        )
                    },
                    None,
                )
                .await,
        );
        let accounts = report(
            "POST /v1/virtual-accounts",
            target
                .run(
                    n,
                    |i| Call::post("/v1/virtual-accounts", virtual_account(&format!("v-{i}"))),
                    Some(payment_key),
                )
                .await,
        )
        .kept();
        report(
            "PUT  /internal/{paymentKey}/deposit",
            target
                .run(
                    n,
                    move |i| {
                        Call::with(
                            "PUT",
                            format!("/internal/{}/deposit", accounts[i]),
                            json!({}),
                        )
                    },
                    None,
                )
                .await,
        );
        let billing = report(
            "POST /v1/billing/authorizations/card",
            target
                .run(
                    n,
                    |i| {
                        Call::post(
                            "/v1/billing/authorizations/card",
                            billing_card(&format!("c-{i}")),
                        )
                    },
                    Some(|v| v["billingKey"].as_str().map(str::to_owned)),
                )
                .await,
        )
        .kept();
        let looked_up = billing.clone();
        report(
            "POST /v1/billing/authorizations/{billingKey}",
            target
                .run(
                    n,
                    move |i| {
                        Call::post(
                            format!("/v1/billing/authorizations/{}", looked_up[i]),
                            json!({"customerKey": format!("c-{i}")}),
                        )
                    },
                    None,
                )
                .await,
        );
        report(
            "POST /v1/billing/{billingKey} (charge)",
            target
                .run(
                    n,
                    move |i| {
                        Call::post(
                            format!("/v1/billing/{}", billing[i]),
                            json!({"customerKey": format!("c-{i}"), "orderId": format!("b-{i}"),
                                   "amount": 9900, "orderName": "bench"}),
                        )
                    },
                    None,
                )
                .await,
        );
        let auth_keys = report(
            "POST /internal/billing/authorizations",
            target
                .run(
                    n,
                    |i| {
                        Call::post(
                            "/internal/billing/authorizations",
                            json!({"customerKey": format!("a-{i}")}),
                        )
                    },
                    Some(|v| v["authKey"].as_str().map(str::to_owned)),
                )
                .await,
        )
        .kept();
        report(
            "POST /v1/billing/authorizations/issue",
            target
                .run(
                    n,
                    move |i| {
                        Call::post(
                            "/v1/billing/authorizations/issue",
                            json!({"authKey": auth_keys[i], "customerKey": format!("a-{i}")}),
                        )
                    },
                    None,
                )
                .await,
        );
    }

    println!("\n-- webhooks to an unreachable endpoint");
    let (fake, target) = start(
        TossConfig {
            webhook_url: Some(load::unreachable().await),
            ..TossConfig::default()
        },
        &args,
    )
    .await;
    let accounts = report(
        "POST /v1/virtual-accounts",
        target
            .run(
                n,
                |i| Call::post("/v1/virtual-accounts", virtual_account(&format!("v-{i}"))),
                Some(payment_key),
            )
            .await,
    )
    .kept();
    report(
        "PUT  /internal/{paymentKey}/deposit",
        target
            .run(
                n,
                move |i| {
                    Call::with(
                        "PUT",
                        format!("/internal/{}/deposit", accounts[i]),
                        json!({}),
                    )
                },
                None,
            )
            .await,
    );
    let cards = target
        .run(
            n,
            |i| Call::post("/v1/payments/key-in", key_in(&format!("k-{i}"), CARD)),
            Some(payment_key),
        )
        .await
        .kept();
    report(
        "POST /v1/payments/{paymentKey}/cancel (part)",
        target
            .run(
                n,
                move |i| {
                    Call::post(
                        format!("/v1/payments/{}/cancel", cards[i]),
                        json!({"cancelReason": "bench", "cancelAmount": 1000}),
                    )
                },
                None,
            )
            .await,
    );
    let mut setup = target.connect().await;
    let webhooks = setup.json("GET", "/internal/webhooks", None).await;
    let webhooks = webhooks.as_array().map_or(0, Vec::len);
    println!("{:<52} {webhooks:>8} webhooks remembered", "webhooks");
    drop(fake);

    webhook_queue().await;

    println!(
        "\nlookups, full store / empty store: by paymentKey {:.2}, by order {:.2}",
        full_one.rate() / empty_one.rate(),
        full_orders.rate() / empty_orders.rate()
    );
    machine("after");
}

/// What adding a webhook costs with an empty queue and with a full one: the endpoint
/// takes each connection and never answers, so every webhook stays pending.
async fn webhook_queue() {
    use payments_fakes::clock::Clock;
    use payments_fakes::delivery::{Body, DeliveryConfig, DeliveryMode, Dispatcher, Outgoing};
    use payments_fakes::journal::Journal;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    println!("\n-- the webhook queue, every webhook pending (an endpoint that never answers)");
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}/hook", silent.local_addr().expect("an address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let capacity = TossConfig::default().max_webhooks;
    let dispatcher = Arc::new(Dispatcher::new(
        DeliveryConfig {
            mode: DeliveryMode::Async,
            retry_schedule: vec![Duration::from_secs(3600); 7],
            timeout: Duration::from_secs(600),
            capacity,
            retry_jitter: Duration::ZERO,
        },
        Arc::new(Clock::default()),
        Arc::new(Journal::default()),
    ));
    let body = Body::json(&virtual_account("bench"));
    let mut pending = 0;
    for (label, n) in [
        ("0", 1_000),
        ("1,000", capacity - 1_000),
        ("10,000 (full)", 10_000),
    ] {
        let started = Instant::now();
        for i in 0..n {
            let outgoing = Outgoing {
                url: url.clone(),
                event: "PAYMENT_STATUS_CHANGED".into(),
                subject: format!("key-{i}"),
                body: body.clone(),
                signing: None,
            };
            dispatcher.send(vec![outgoing]).await;
        }
        let per_add = started.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!(
            "{:<52} {per_add:>7.2} µs per webhook added ({n} added)",
            format!("adding webhooks, {label} pending before")
        );
        pending = (pending + n).min(capacity);
    }
    println!("{:<52} {pending:>7} webhooks pending", "queue");
}

const CARD: &str = "4330123412341234";

fn key_in(order_id: &str, card_number: &str) -> Value {
    json!({
        "method": "card",
        "cardNumber": card_number,
        "cardExpirationYear": "49",
        "cardExpirationMonth": "12",
        "amount": 15000,
        "orderId": order_id,
        "orderName": "bench",
    })
}

fn virtual_account(order_id: &str) -> Value {
    json!({
        "orderId": order_id,
        "orderName": "bench",
        "amount": 15000,
        "bank": "신한",
        "customerName": "홍길동",
    })
}

fn billing_card(customer_key: &str) -> Value {
    json!({
        "customerKey": customer_key,
        "cardNumber": CARD,
        "cardExpirationYear": "49",
        "cardExpirationMonth": "12",
        "cardPassword": "12",
        "customerBirthday": "880311",
    })
}

fn payment_key(answer: &Value) -> Option<String> {
    answer["paymentKey"].as_str().map(str::to_owned)
}
