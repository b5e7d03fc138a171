//! The fault suite: the `payments-server` binary as a process, killed with `SIGKILL` at the
//! worst moment, against the fakes. Each fault prints one `faults: …` line with its counts.

#[path = "support/spawn.rs"]
mod spawn;

use std::process::Child;
use std::time::{Duration, Instant};

use base64::Engine as _;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::payments::*;
use payments_fakes::Fake as _;
use payments_fakes::toss::{FakeToss, TossConfig};
use serde_json::{Value, json};

const TOSS_KEY: &str = "test_sk_fault_suite_00000000";
const PASSWORD: &str = "fault-suite-password";
const SIGNING_SECRET: &str = "whsec_cHJvY2Vzcy1zZWNyZXQ=";

/// A server process on a SQLite file of `dir`, talking to the fake Toss at `toss_url`.
fn start_server(dir: &std::path::Path, toss_url: &str) -> (Child, String) {
    let database = format!("sqlite://{}", dir.join("payments.db").display());
    start_server_on(dir, toss_url, &database)
}

/// A server process on `database_url`, its configuration in `dir`.
fn start_server_on(dir: &std::path::Path, toss_url: &str, database_url: &str) -> (Child, String) {
    start_server_with(dir, toss_url, database_url, "")
}

/// A server process on `database_url`, its configuration in `dir`, with `relay` added to
/// the configuration's `[relay]` section.
fn start_server_with(
    dir: &std::path::Path,
    toss_url: &str,
    database_url: &str,
    relay: &str,
) -> (Child, String) {
    let config = format!(
        r#"
listen = "127.0.0.1:0"
database_url = "{database_url}"

[encryption]
key = "{key}"
iv = "{iv}"

[storage]
active_key = "k1"
password_pepper = "a-pepper-for-the-fault-suite"

[storage.keys]
k1 = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="

[pg]
timeout_seconds = 10

[pg.toss.default]
base_url = "{toss_url}"
secret_key = "{TOSS_KEY}"

[relay]
signing_secrets = ["{SIGNING_SECRET}"]
{relay}
"#,
        key = SANDBOX_KEY,
        iv = SANDBOX_IV,
    );
    let path = dir.join("payments.toml");
    std::fs::write(&path, config).unwrap();
    spawn::serve(&path)
}

async fn toss(
    http: &reqwest::Client,
    url: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_KEY}:"));
    let mut request = http
        .request(method, format!("{url}{path}"))
        .header("authorization", format!("Basic {auth}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_cancel_then_retry_refunds_once() {
    payments_fakes::tls::install_provider();
    let fake = FakeToss::new(TossConfig::default());
    let toss_url = payments_testkit::serve(fake.router()).await.unwrap();
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, url) = start_server(dir.path(), &toss_url);
    let mut client = PaymentsClient::new(&url, SANDBOX_KEY, SANDBOX_IV).unwrap();

    const ROUNDS: usize = 3;
    let mut refunds_at_pg = Vec::new();
    let mut retries = 0;
    for round in 0..ROUNDS {
        let order = format!("fault-order-{round}-{}", uuid::Uuid::new_v4().simple());
        let payment = toss(&http, &toss_url, reqwest::Method::POST, "/v1/payments/key-in", Some(json!({"method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": 20000, "orderId": order, "orderName": "주문", "__approved": false}))).await;
        let key = payment["paymentKey"].as_str().unwrap().to_owned();
        let source = PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: order.clone(),
        };
        client
            .create_history(&PaymentHistoryCreate {
                vendor: PaymentVendor {
                    code: VendorCode::TossPayments,
                    store_id: "default".into(),
                    uid: key.clone(),
                },
                source: source.clone(),
                webhook_url: "http://127.0.0.1:9/hook".into(),
                price: 20000.0,
                password: PASSWORD.into(),
            })
            .await
            .unwrap();

        // The PG refunds at once but answers late; the server dies before the answer.
        let rule = json!({"method": "POST", "path": format!("/v1/payments/{key}/cancel"), "action": "late", "ms": 5000});
        toss(
            &http,
            &toss_url,
            reqwest::Method::POST,
            "/internal/faults",
            Some(rule),
        )
        .await;
        let cancel = PaymentCancelCreate {
            source,
            password: PASSWORD.into(),
            price: 5000.0,
            reason: "고객 변심".into(),
            account: None,
        };
        let idempotency_key = uuid::Uuid::new_v4().to_string();
        let first = {
            let (client, cancel, key) = (client.clone(), cancel.clone(), idempotency_key.clone());
            tokio::spawn(async move { client.cancel_history_once(&cancel, &key).await })
        };
        let cancels_at_pg = || async {
            let payment = toss(
                &http,
                &toss_url,
                reqwest::Method::GET,
                &format!("/v1/payments/{key}"),
                None,
            )
            .await;
            payment["cancels"].as_array().map_or(0, Vec::len)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while cancels_at_pg().await == 0 {
            assert!(Instant::now() < deadline, "the PG never saw the cancel");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(
            first.await.unwrap().is_err(),
            "the first cancel got no answer"
        );

        let (restarted, url) = start_server(dir.path(), &toss_url);
        server = restarted;
        client = PaymentsClient::new(&url, SANDBOX_KEY, SANDBOX_IV).unwrap();
        // The client retries under the same key until it gets an answer.
        let history = loop {
            retries += 1;
            match client.cancel_history_once(&cancel, &idempotency_key).await {
                Ok(history) => break history,
                Err(e) if e.status().is_some_and(|s| s == 409 || s == 503) => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                Err(e) => panic!("the retry failed: {e}"),
            }
        };
        assert_eq!(history.refund, Some(5000.0));
        assert_eq!(history.cancels.len(), 1);
        refunds_at_pg.push(cancels_at_pg().await);
        toss(
            &http,
            &toss_url,
            reqwest::Method::DELETE,
            "/internal/faults",
            None,
        )
        .await;
    }
    let _ = server.kill();
    let _ = server.wait();
    report(format!(
        "faults: kill -9 mid-cancel: {ROUNDS} cancels killed, {retries} retries, refunds at the PG per payment {refunds_at_pg:?} (want 1 each)"
    ));
    assert_eq!(refunds_at_pg, vec![1; ROUNDS]);
    drop(fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_killed_under_load_is_fast_503s_then_recovery() {
    payments_fakes::tls::install_provider();
    let fake = FakeToss::new(TossConfig::default());
    let toss_url = payments_testkit::serve(fake.router()).await.unwrap();
    let http = reqwest::Client::new();
    let mut database = payments_testkit::provision(&payments_testkit::Database::PrivateMariaDb)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, url) = start_server_on(dir.path(), &toss_url, &database.url);
    let client = PaymentsClient::new(&url, SANDBOX_KEY, SANDBOX_IV).unwrap();
    let order = format!("fault-db-{}", uuid::Uuid::new_v4().simple());
    let payment = toss(&http, &toss_url, reqwest::Method::POST, "/v1/payments/key-in", Some(json!({"method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": 1000, "orderId": order, "orderName": "주문", "__approved": false}))).await;
    let source = PaymentSource {
        schema: "shop".into(),
        table: "orders".into(),
        id: order.clone(),
    };
    client
        .create_history(&PaymentHistoryCreate {
            vendor: PaymentVendor {
                code: VendorCode::TossPayments,
                store_id: "default".into(),
                uid: payment["paymentKey"].as_str().unwrap().to_owned(),
            },
            source: source.clone(),
            webhook_url: "http://127.0.0.1:9/hook".into(),
            price: 1000.0,
            password: PASSWORD.into(),
        })
        .await
        .unwrap();

    // Readers keep reading the payment while the database dies and comes back.
    const KILLING: u8 = 4;
    let phase = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (client, phase) = (client.clone(), phase.clone());
        let accessor = PaymentSourceAccessor {
            source: source.clone(),
            password: PASSWORD.into(),
        };
        readers.push(tokio::spawn(async move {
            // Per phase (before, down, after): successes, 503 database_unavailable, others.
            let mut counts = [[0u32; 3]; 3];
            let mut slowest_down = Duration::ZERO;
            loop {
                let now = phase.load(std::sync::atomic::Ordering::SeqCst);
                if now == 3 {
                    return (counts, slowest_down);
                }
                let started = Instant::now();
                let kind = match client.history_by_source(&accessor).await {
                    Ok(_) => 0,
                    Err(e) if e.code() == Some("database_unavailable") => 1,
                    Err(_) => 2,
                };
                // An answer counts in the phase it began and ended in; none while the
                // database is being killed (`KILLING`), when either answer is right.
                if now != KILLING && phase.load(std::sync::atomic::Ordering::SeqCst) == now {
                    counts[now as usize][kind] += 1;
                    if now == 1 {
                        slowest_down = slowest_down.max(started.elapsed());
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    phase.store(KILLING, std::sync::atomic::Ordering::SeqCst);
    database.kill_server().await.unwrap();
    phase.store(1, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(8)).await;
    phase.store(2, std::sync::atomic::Ordering::SeqCst);
    let restarted = Instant::now();
    database.restart_server().await.unwrap();
    // Recovered: the same server process reads the payment again.
    let recovery = loop {
        if client
            .history_by_source(&PaymentSourceAccessor {
                source: source.clone(),
                password: PASSWORD.into(),
            })
            .await
            .is_ok()
        {
            break restarted.elapsed();
        }
        assert!(restarted.elapsed() < Duration::from_secs(30), "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    phase.store(3, std::sync::atomic::Ordering::SeqCst);
    let mut counts = [[0u32; 3]; 3];
    let mut slowest_down = Duration::ZERO;
    for reader in readers {
        let (c, slowest) = reader.await.unwrap();
        for (phase, row) in c.iter().enumerate() {
            for (kind, n) in row.iter().enumerate() {
                counts[phase][kind] += n;
            }
        }
        slowest_down = slowest_down.max(slowest);
    }
    let _ = server.kill();
    let _ = server.wait();
    report(format!(
        "faults: database killed under load: before {} ok; down {} answered 503 database_unavailable, {} otherwise (slowest {} ms); back after {} ms without a server restart, then {} ok, {} 503",
        counts[0][0],
        counts[1][1],
        counts[1][0] + counts[1][2],
        slowest_down.as_millis(),
        recovery.as_millis(),
        counts[2][0],
        counts[2][1],
    ));
    assert!(
        counts[0][0] > 0 && counts[0][1] + counts[0][2] == 0,
        "{counts:?}"
    );
    assert!(
        counts[1][1] > 0 && counts[1][0] + counts[1][2] == 0,
        "{counts:?}"
    );
    assert!(counts[2][0] > 0 && counts[2][2] == 0, "{counts:?}");
    drop(fake);
    database.release().await;
}

/// Two instances relay from one MariaDB database; one dies by `SIGKILL` while a burst of
/// client events is under way. The other takes over the dead one's claimed events once
/// their lease runs out: nothing is lost, and what the dead one sent but never recorded
/// comes again (at least once, so duplicates are allowed and counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst() {
    payments_fakes::tls::install_provider();
    let fake = FakeToss::new(TossConfig::default());
    let toss_url = payments_testkit::serve(fake.router()).await.unwrap();
    let http = reqwest::Client::new();
    let database = payments_testkit::provision(&payments_testkit::Database::AnyMariaDb)
        .await
        .unwrap();

    // The client's endpoint records each delivery, then takes a moment to answer, so the
    // burst is still under way when an instance dies and some of its deliveries are sent
    // but not yet recorded as delivered.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let codec = payments_api::BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).unwrap();
    let inbox = payments_testkit::Inbox::new(
        &format!("http://{}", listener.local_addr().unwrap()),
        codec,
        SIGNING_SECRET,
    );
    let slow = inbox.router().layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let response = next.run(request).await;
            tokio::time::sleep(Duration::from_millis(400)).await;
            response
        },
    ));
    tokio::spawn(async move { axum::serve(listener, slow).await });

    // A one-second attempt timeout makes the lease on a claimed event 8 s.
    let relay = r#"
timeout_seconds = 1
poll_interval_ms = 100
initial_backoff_seconds = 0.2
max_backoff_seconds = 1
allow_private = ["127.0.0.0/8"]
"#;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, url_a) = start_server_with(dir_a.path(), &toss_url, &database.url, relay);
    let (mut b, url_b) = start_server_with(dir_b.path(), &toss_url, &database.url, relay);
    let client_a = PaymentsClient::new(&url_a, SANDBOX_KEY, SANDBOX_IV).unwrap();
    let client_b = PaymentsClient::new(&url_b, SANDBOX_KEY, SANDBOX_IV).unwrap();

    const N: usize = 60;
    let mut payments = Vec::new();
    for i in 0..N {
        let order = format!("fault-burst-{i}-{}", uuid::Uuid::new_v4().simple());
        let payment = toss(&http, &toss_url, reqwest::Method::POST, "/v1/payments/key-in", Some(json!({"method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": 10000, "orderId": order, "orderName": "주문", "__approved": false}))).await;
        let key = payment["paymentKey"].as_str().unwrap().to_owned();
        client_a
            .create_history(&PaymentHistoryCreate {
                vendor: PaymentVendor {
                    code: VendorCode::TossPayments,
                    store_id: "default".into(),
                    uid: key.clone(),
                },
                source: PaymentSource {
                    schema: "shop".into(),
                    table: "orders".into(),
                    id: order.clone(),
                },
                webhook_url: inbox.url().to_owned(),
                price: 10000.0,
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
        payments.push((order, key));
    }
    let accepted_ids = |inbox: &payments_testkit::Inbox| {
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for delivery in inbox.deliveries(0) {
            if delivery.accepted() && delivery.signature_valid {
                *counts.entry(delivery.id).or_default() += 1;
            }
        }
        counts
    };

    // The burst: every payment cancelled at the PG, then the PG's notifications reach A
    // all at once. They are posted here rather than by the fake so that each is known to
    // be stored (answered 200) before A dies: what is tested is the relay, not the intake.
    for (_, key) in &payments {
        toss(
            &http,
            &toss_url,
            reqwest::Method::POST,
            &format!("/v1/payments/{key}/cancel"),
            Some(json!({"cancelReason": "콘솔 취소", "cancelAmount": 3000})),
        )
        .await;
    }
    // The client is down while they come, so the events wait in the outbox and the burst
    // starts when it is back.
    inbox.answer(503);
    // All at once. The server runs again an update that deadlocks in the database, so a
    // notification is normally stored on its first delivery; one that is not answered 200 is
    // sent again, as the PG does, and counted.
    let mut notifications = Vec::new();
    for (_, key) in &payments {
        let (http, url) = (http.clone(), format!("{url_a}/payments/webhooks/toss"));
        let body = json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-24T10:00:00.000000", "data": {"paymentKey": key}});
        notifications.push(tokio::spawn(async move {
            for resent in 0..20 {
                let response = http.post(&url).json(&body).send().await.unwrap();
                if response.status() == 200 {
                    return resent;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("the notification was never stored");
        }));
    }
    let mut resent = 0;
    for notification in notifications {
        resent += notification.await.unwrap();
    }
    inbox.answer(200);

    // Killed once a quarter of the burst has arrived.
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted_ids(&inbox).len() < N / 4 {
        assert!(
            Instant::now() < deadline,
            "the burst never started arriving"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill().unwrap();
    a.wait().unwrap();
    let delivered_before_kill = accepted_ids(&inbox).len();
    assert!(
        delivered_before_kill < N,
        "the burst was over before the kill"
    );

    // B alone: every event the database holds ends delivered.
    let mut expected = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for (order, _) in &payments {
        let accessor = PaymentSourceAccessor {
            source: PaymentSource {
                schema: "shop".into(),
                table: "orders".into(),
                id: order.clone(),
            },
            password: PASSWORD.into(),
        };
        let events = loop {
            let events = client_b.webhook_events(&accessor).await.unwrap();
            if events.len() == 1 && events[0].state == WebhookEventState::Delivered {
                break events;
            }
            assert!(
                Instant::now() < deadline,
                "{order}: not all delivered: {events:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        expected.extend(events.into_iter().map(|e| e.id.to_string()));
    }
    let _ = b.kill();
    let _ = b.wait();

    let received = accepted_ids(&inbox);
    let lost: Vec<_> = expected
        .iter()
        .filter(|id| !received.contains_key(*id))
        .collect();
    let duplicates: usize = received.values().map(|n| n - 1).sum();
    report(format!(
        "faults: kill -9 mid-burst: {} events ({resent} notifications sent again), {delivered_before_kill} delivered before the kill, {} lost, {duplicates} duplicates",
        expected.len(),
        lost.len(),
    ));
    assert_eq!(expected.len(), N, "one event per cancel");
    assert!(lost.is_empty(), "lost: {lost:?}");
    drop(fake);
    database.release().await;
}

/// Prints a summary line and keeps it for CI (see `payments_testkit::report`).
fn report(line: String) {
    payments_testkit::report(env!("CARGO_TARGET_TMPDIR"), "faults", &line);
}
