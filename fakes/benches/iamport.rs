//! The fake I'mport under load over loopback HTTP: every API path, on a store that grows to
//! its capacity, on a full one and on an empty one, with a merchant endpoint that answers
//! webhooks and with one that is unreachable; and the memory a stored payment costs.
//!
//! `cargo bench -p payments-fakes --bench iamport [-- REQUESTS [CONNECTIONS]]`
//!
//! REQUESTS per scenario (default 40,000) over CONNECTIONS keep-alive connections (default
//! 64). The fake and the load generator share the machine, as they do in a test suite; the
//! `sysbench cpu` score printed before and after says how fast the machine was meanwhile.

mod load;

use load::{Args, Call, Target, machine, report};
use payments_fakes::iamport::{FakeIamport, IamportConfig};
use serde_json::{Value, json};

fn main() {
    load::main(run);
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// A fake on a port, the target of anonymous requests, and of a merchant's.
async fn start(config: IamportConfig, args: &Args) -> (FakeIamport, Target, Target) {
    let (fake, anonymous) = load::start(FakeIamport::new(config), &[JSON], args).await;
    let address = anonymous.address.clone();
    let mut connection = anonymous.connect().await;
    let token = connection
        .json(
            "POST",
            "/users/getToken",
            Some(json!({"imp_key": "test_imp_key", "imp_secret": "test_imp_secret"})),
        )
        .await;
    let token = token["response"]["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let mut merchant = Target::new(
        &address,
        &[("authorization", token.as_str()), JSON],
        args.connections,
    );
    merchant.webhooks = anonymous.webhooks.clone();
    (fake, anonymous, merchant)
}

async fn run(args: Args) {
    machine("before");
    println!(
        "fake I'mport: {} requests per scenario over {} keep-alive connections",
        args.requests, args.connections
    );
    let n = args.requests;
    let capacity = IamportConfig::default().capacity;
    let live = load::receiver().await;

    println!(
        "\n-- a store growing to its capacity ({capacity} payments), then full (no webhook URL)"
    );
    let (_full, _, target) = start(IamportConfig::default(), &args).await;
    load::fill_to_capacity(
        &target,
        capacity,
        &format!("POST /subscribe/payments/onetime, 0 → {capacity}"),
        |i| {
            Call::post(
                "/subscribe/payments/onetime",
                onetime(&format!("bad-{i}"), "1234"),
            )
        },
        |i| {
            Call::post(
                "/subscribe/payments/onetime",
                onetime(&format!("k-{i}"), CARD),
            )
        },
    )
    .await;
    let mut setup = target.connect().await;
    let one = setup.json("GET", "/payments/find/k-99999", None).await["response"]["imp_uid"]
        .as_str()
        .expect("an imp_uid")
        .to_owned();
    let full_one = report(
        "GET  /payments/{imp_uid}, full store",
        target
            .run(n, move |_| Call::get(format!("/payments/{one}")), None)
            .await,
    );
    let full_orders = report(
        "GET  /payments/find/{merchant_uid}, full, any order",
        target
            .run(
                n,
                move |i| Call::get(format!("/payments/find/k-{}", (i * 7919) % capacity)),
                None,
            )
            .await,
    );
    report(
        "POST /subscribe/payments/onetime, full (evicting)",
        target
            .run(
                n,
                |i| {
                    Call::post(
                        "/subscribe/payments/onetime",
                        onetime(&format!("f-{i}"), CARD),
                    )
                },
                None,
            )
            .await,
    );

    println!("\n-- an empty store, webhooks answered");
    let (_fake, anonymous, target) = start(
        IamportConfig {
            webhook_url: Some(live.clone()),
            ..IamportConfig::default()
        },
        &args,
    )
    .await;
    report(
        "POST /users/getToken",
        anonymous
            .run(
                n,
                |_| {
                    Call::post(
                        "/users/getToken",
                        json!({"imp_key": "test_imp_key", "imp_secret": "test_imp_secret"}),
                    )
                },
                None,
            )
            .await,
    );
    let payments = report(
        "POST /subscribe/payments/onetime",
        target
            .run(
                n,
                |i| {
                    Call::post(
                        "/subscribe/payments/onetime",
                        onetime(&format!("k-{i}"), CARD),
                    )
                },
                Some(imp_uid),
            )
            .await,
    )
    .kept();
    let one = payments[0].clone();
    let empty_one = report(
        "GET  /payments/{imp_uid}",
        target
            .run(n, move |_| Call::get(format!("/payments/{one}")), None)
            .await,
    );
    let empty_orders = report(
        "GET  /payments/find/{merchant_uid}, any order",
        target
            .run(
                n,
                move |i| Call::get(format!("/payments/find/k-{}", (i * 7919) % n)),
                None,
            )
            .await,
    );
    report(
        "GET  /payments/find/{merchant_uid}/paid",
        target
            .run(n, |i| Call::get(format!("/payments/find/k-{i}/paid")), None)
            .await,
    );
    let listed = payments.clone();
    report(
        "GET  /payments?imp_uid[]=…&merchant_uid[]=…",
        target
            .run(
                n,
                move |i| {
                    Call::get(format!(
                        "/payments?imp_uid[]={}&merchant_uid[]=k-{}",
                        listed[i],
                        (i + 1) % n
                    ))
                },
                None,
            )
            .await,
    );
    let cancelled = payments.clone();
    report(
        "POST /payments/cancel (part)",
        target
            .run(
                n,
                move |i| {
                    Call::post(
                        "/payments/cancel",
                        json!({"imp_uid": cancelled[i], "amount": 1000, "checksum": null, "reason": "bench"}),
                    )
                },
                None,
            )
            .await,
    );
    let receipts = payments.clone();
    report(
        "POST /receipts/{imp_uid}",
        target
            .run(
                n,
                move |i| {
                    Call::post(
                        format!("/receipts/{}", receipts[i]),
                        json!({"identifier": "01012345678"}),
                    )
                },
                None,
            )
            .await,
    );
    let receipts = payments.clone();
    report(
        "GET  /receipts/{imp_uid}",
        target
            .run(
                n,
                move |i| Call::get(format!("/receipts/{}", receipts[i])),
                None,
            )
            .await,
    );
    report(
        "DELETE /receipts/{imp_uid}",
        target
            .run(
                n,
                move |i| Call::with("DELETE", format!("/receipts/{}", payments[i]), json!({})),
                None,
            )
            .await,
    );
    report(
        "POST /payments/prepare",
        target
            .run(
                n,
                |i| {
                    Call::post(
                        "/payments/prepare",
                        json!({"merchant_uid": format!("p-{i}"), "amount": 15000}),
                    )
                },
                None,
            )
            .await,
    );
    report(
        "PUT  /payments/prepare",
        target
            .run(
                n,
                |i| {
                    Call::with(
                        "PUT",
                        "/payments/prepare",
                        json!({"merchant_uid": format!("p-{i}"), "amount": 16000}),
                    )
                },
                None,
            )
            .await,
    );
    report(
        "GET  /payments/prepare/{merchant_uid}",
        target
            .run(n, |i| Call::get(format!("/payments/prepare/p-{i}")), None)
            .await,
    );
    report(
        "POST /subscribe/customers/{customer_uid}",
        target
            .run(
                n,
                |i| Call::post(format!("/subscribe/customers/c-{i}"), card()),
                None,
            )
            .await,
    );
    report(
        "GET  /subscribe/customers/{customer_uid}",
        target
            .run(
                n,
                |i| Call::get(format!("/subscribe/customers/c-{i}")),
                None,
            )
            .await,
    );
    report(
        "POST /subscribe/payments/again",
        target
            .run(
                n,
                |i| {
                    Call::post(
                        "/subscribe/payments/again",
                        json!({"customer_uid": format!("c-{i}"), "merchant_uid": format!("a-{i}"),
                               "amount": 9900, "name": "bench"}),
                    )
                },
                None,
            )
            .await,
    );
    let later = chrono::Utc::now().timestamp() + 86_400;
    report(
        "POST /subscribe/payments/schedule",
        target
            .run(
                n,
                move |i| {
                    Call::post(
                        "/subscribe/payments/schedule",
                        json!({"customer_uid": format!("c-{i}"), "schedules": [
                            {"merchant_uid": format!("s-{i}"), "schedule_at": later, "amount": 9900, "name": "bench"}
                        ]}),
                    )
                },
                None,
            )
            .await,
    );
    report(
        "GET  /subscribe/payments/schedule/{merchant_uid}",
        target
            .run(
                n,
                |i| Call::get(format!("/subscribe/payments/schedule/s-{i}")),
                None,
            )
            .await,
    );
    report(
        "POST /subscribe/payments/unschedule",
        target
            .run(
                n,
                |i| {
                    Call::post(
                        "/subscribe/payments/unschedule",
                        json!({"customer_uid": format!("c-{i}"), "merchant_uid": [format!("s-{i}")]}),
                    )
                },
                None,
            )
            .await,
    );
    report(
        "DELETE /subscribe/customers/{customer_uid}",
        target
            .run(
                n,
                |i| Call::with("DELETE", format!("/subscribe/customers/c-{i}"), json!({})),
                None,
            )
            .await,
    );
    let accounts = report(
        "POST /vbanks",
        target
            .run(
                n,
                |i| Call::post("/vbanks", vbank(&format!("v-{i}"))),
                Some(imp_uid),
            )
            .await,
    )
    .kept();
    let half = n / 2;
    let changed = accounts.clone();
    report(
        "PUT  /vbanks/{imp_uid}",
        target
            .run(
                half,
                move |i| {
                    Call::with(
                        "PUT",
                        format!("/vbanks/{}", changed[i]),
                        json!({"amount": 16000}),
                    )
                },
                None,
            )
            .await,
    );
    let changed = accounts.clone();
    report(
        "PUT  /vbanks (imp_uid in the body)",
        target
            .run(
                n - half,
                move |i| {
                    Call::with(
                        "PUT",
                        "/vbanks",
                        json!({"imp_uid": changed[i + half], "amount": 16000}),
                    )
                },
                None,
            )
            .await,
    );
    let deposited = accounts.clone();
    report(
        "PUT  /internal/deposit/{imp_uid}",
        target
            .run(
                half,
                move |i| {
                    Call::with(
                        "PUT",
                        format!("/internal/deposit/{}", deposited[i]),
                        json!({}),
                    )
                },
                None,
            )
            .await,
    );
    report(
        "DELETE /vbanks/{imp_uid}",
        target
            .run(
                n - half,
                move |i| {
                    Call::with(
                        "DELETE",
                        format!("/vbanks/{}", accounts[i + half]),
                        json!({}),
                    )
                },
                None,
            )
            .await,
    );
    let certifications = report(
        "POST /certifications/otp/request",
        target
            .run(
                n,
                |_| {
                    Call::post(
                        "/certifications/otp/request",
                        json!({"name": "홍길동", "phone": "01012345678", "birth": "19880311",
                               "gender_digit": "1", "carrier": "SKT"}),
                    )
                },
                Some(|v| v["response"]["imp_uid"].as_str().map(str::to_owned)),
            )
            .await,
    )
    .kept();
    let read = certifications.clone();
    let otps = report(
        "GET  /certifications/{imp_uid}",
        target
            .run(
                n,
                move |i| Call::get(format!("/certifications/{}", read[i])),
                Some(|v| v["response"]["__otp"].as_str().map(str::to_owned)),
            )
            .await,
    )
    .kept();
    let confirmed = certifications.clone();
    report(
        "POST /certifications/otp/confirm/{imp_uid}",
        target
            .run(
                n,
                move |i| {
                    Call::post(
                        format!("/certifications/otp/confirm/{}", confirmed[i]),
                        json!({"otp": otps[i]}),
                    )
                },
                None,
            )
            .await,
    );
    report(
        "DELETE /certifications/{imp_uid}",
        target
            .run(
                n,
                move |i| {
                    Call::with(
                        "DELETE",
                        format!("/certifications/{}", certifications[i]),
                        json!({}),
                    )
                },
                None,
            )
            .await,
    );
    report(
        "POST /internal/payments (payment window)",
        target
            .run(
                n,
                |i| {
                    Call::post(
                        "/internal/payments",
                        json!({"merchant_uid": format!("w-{i}"), "amount": 15000}),
                    )
                },
                None,
            )
            .await,
    );

    println!("\n-- webhooks to an unreachable endpoint");
    let (_down, _, target) = start(
        IamportConfig {
            webhook_url: Some(load::unreachable().await),
            ..IamportConfig::default()
        },
        &args,
    )
    .await;
    let payments = report(
        "POST /subscribe/payments/onetime",
        target
            .run(
                n,
                |i| {
                    Call::post(
                        "/subscribe/payments/onetime",
                        onetime(&format!("k-{i}"), CARD),
                    )
                },
                Some(imp_uid),
            )
            .await,
    )
    .kept();
    report(
        "POST /payments/cancel (part)",
        target
            .run(
                n,
                move |i| {
                    Call::post(
                        "/payments/cancel",
                        json!({"imp_uid": payments[i], "amount": 1000, "checksum": null, "reason": "bench"}),
                    )
                },
                None,
            )
            .await,
    );
    let accounts = report(
        "POST /vbanks",
        target
            .run(
                n,
                |i| Call::post("/vbanks", vbank(&format!("v-{i}"))),
                Some(imp_uid),
            )
            .await,
    )
    .kept();
    report(
        "PUT  /internal/deposit/{imp_uid}",
        target
            .run(
                n,
                move |i| {
                    Call::with(
                        "PUT",
                        format!("/internal/deposit/{}", accounts[i]),
                        json!({}),
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

    println!(
        "\nlookups, full store / empty store: by imp_uid {:.2}, by merchant_uid {:.2}",
        full_one.rate() / empty_one.rate(),
        full_orders.rate() / empty_orders.rate()
    );
    machine("after");
}

const CARD: &str = "4092-0230-1234-5678";

fn onetime(merchant_uid: &str, card_number: &str) -> Value {
    json!({
        "card_number": card_number,
        "expiry": "2049-12",
        "birth": "880311",
        "merchant_uid": merchant_uid,
        "amount": 15000,
        "name": "bench",
    })
}

fn card() -> Value {
    json!({
        "card_number": "5365-1012-3456-7540",
        "expiry": "2049-03",
        "birth": "880311",
        "customer_name": "홍길동",
    })
}

fn vbank(merchant_uid: &str) -> Value {
    json!({
        "merchant_uid": merchant_uid,
        "amount": 15000,
        "vbank_code": "088",
        "vbank_due": chrono::Utc::now().timestamp() + 7 * 86_400,
        "vbank_holder": "홍길동",
    })
}

fn imp_uid(answer: &Value) -> Option<String> {
    answer["response"]["imp_uid"].as_str().map(str::to_owned)
}
