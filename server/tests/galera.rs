//! The server on a three-node MariaDB Galera cluster: three `payments-server` processes, one
//! per node, a burst of PG events sent to two instances at once per change, and one node
//! killed with `SIGKILL` mid-burst and restarted. Galera replicates no row locks, so
//! instances on different nodes race for the same events and the same payments; what the
//! test shows is that the database's certification, and the server's retries of the
//! transactions it rolls back, leave every event delivered once, in order, and every record
//! whole on every node.
//!
//! It needs the cluster of `scripts/galera` running, and is ignored otherwise:
//!
//! ```sh
//! scripts/galera start
//! cargo test -p payments-server --test galera -- --ignored --nocapture
//! scripts/galera stop
//! ```
//!
//! It finds the nodes with `scripts/galera urls` (so `GALERA_PORT` and `GALERA_DIR` pass
//! through), and kills and restarts node 2 with `scripts/galera kill 2` and `restart 2`.
//! With no cluster there it fails, saying so.

#[path = "support/spawn.rs"]
mod spawn;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::payments::*;
use payments_fakes::Fake as _;
use payments_fakes::toss::{FakeToss, TossConfig};
use serde_json::json;
use sqlx::Connection as _;

const TOSS_KEY: &str = "test_sk_galera_suite_0000000";
const PASSWORD: &str = "galera-suite-password";
const SIGNING_SECRET: &str = "whsec_Z2FsZXJhLXN1aXRlLXNlY3JldA==";
/// Payments in the burst; each changes twice.
const PAYMENTS: usize = 30;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/galera")
}

/// Runs `scripts/galera ARGS…`; its standard output.
fn galera(args: &[&str]) -> String {
    let output = Command::new(script())
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("scripts/galera {args:?}: {e}"));
    assert!(
        output.status.success(),
        "scripts/galera {args:?} failed ({})",
        output.status
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn connect(url: &str) -> Result<sqlx::MySqlConnection, sqlx::Error> {
    sqlx::MySqlConnection::connect(url).await
}

/// A `SHOW STATUS` value of the node at `url`.
async fn status(url: &str, name: &str) -> Result<String, sqlx::Error> {
    let mut connection = connect(url).await?;
    let row: (String, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SHOW GLOBAL STATUS LIKE '{name}'"
    )))
    .fetch_one(&mut connection)
    .await?;
    Ok(row.1)
}

/// The three nodes' URLs (`mysql://root@127.0.0.1:PORT`), checked to form one cluster.
async fn nodes() -> Vec<String> {
    let urls: Vec<String> = galera(&["urls"]).lines().map(str::to_owned).collect();
    assert_eq!(urls.len(), 3, "scripts/galera urls: {urls:?}");
    for url in &urls {
        match status(url, "wsrep_cluster_size").await {
            Ok(size) if size == "3" => {}
            found => panic!(
                "no three-node Galera cluster at {url} ({found:?}): start one with \
                 `scripts/galera start` (needs mariadb-server, galera-4 and rsync)"
            ),
        }
    }
    urls
}

/// A server process on `database_url`, its configuration in `dir`; its base URL.
fn start_server(dir: &Path, toss_url: &str, database_url: &str) -> (Child, String) {
    let config = format!(
        r#"
listen = "127.0.0.1:0"
database_url = "{database_url}"

[encryption]
key = "{key}"
iv = "{iv}"

[storage]
active_key = "k1"
password_pepper = "a-pepper-for-the-galera-suite"

[storage.keys]
k1 = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="

[pg]
timeout_seconds = 10

[pg.toss.default]
base_url = "{toss_url}"
secret_key = "{TOSS_KEY}"

[relay]
signing_secrets = ["{SIGNING_SECRET}"]
# A ten-second attempt timeout makes the lease on a claimed event 40 s: long enough for a
# killed node to come back and the instance on it to record what it delivered. A node's
# rejoin took 5.6 s in one run and 26.1 s in another (a full state transfer), so a 20 s
# lease let events be claimed again while their delivery was still unrecorded.
timeout_seconds = 10
poll_interval_ms = 100
initial_backoff_seconds = 0.2
max_backoff_seconds = 1
allow_private = ["127.0.0.0/8"]
"#,
        key = SANDBOX_KEY,
        iv = SANDBOX_IV,
    );
    let path = dir.join("payments.toml");
    std::fs::write(&path, config).unwrap();
    spawn::serve(&path)
}

async fn toss(http: &reqwest::Client, url: &str, path: &str, body: serde_json::Value) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_KEY}:"));
    let response = http
        .post(format!("{url}{path}"))
        .header("authorization", format!("Basic {auth}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.text().await.unwrap()
}

fn source(order: &str) -> PaymentSource {
    PaymentSource {
        schema: "shop".into(),
        table: "orders".into(),
        id: order.into(),
    }
}

/// Posts the PG's notification of payment `key` to instance `first` of `servers`, and to
/// the next ones in turn (as a load balancer would) until one answers 200; answers how many
/// times it had to send it again.
async fn notify(http: reqwest::Client, servers: Vec<String>, first: usize, key: String) -> usize {
    let body = json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-24T10:00:00.000000", "data": {"paymentKey": key}});
    for resent in 0..200 {
        let url = format!(
            "{}/payments/webhooks/toss",
            servers[(first + resent) % servers.len()]
        );
        if let Ok(response) = http.post(&url).json(&body).send().await
            && response.status() == 200
        {
            return resent;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the notification of {key} was never stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the Galera cluster of scripts/galera: run with --ignored"]
async fn three_instances_on_three_nodes_deliver_each_event_once_through_a_node_crash() {
    payments_fakes::tls::install_provider();
    let nodes = nodes().await;
    let name = format!("payments_g_{}", uuid::Uuid::new_v4().simple());
    {
        let mut connection = connect(&nodes[0]).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
        )))
        .execute(&mut connection)
        .await
        .unwrap();
    }
    let conflicts_before = conflicts(&nodes).await;

    let fake = FakeToss::new(TossConfig::default());
    let toss_url = payments_testkit::serve(fake.router()).await.unwrap();
    // The client's endpoint takes a moment to answer, so deliveries are under way when the
    // node dies.
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
            tokio::time::sleep(Duration::from_millis(100)).await;
            response
        },
    ));
    tokio::spawn(async move { axum::serve(listener, slow).await });

    // One instance per node; the first migrates the database.
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for (node, dir) in nodes.iter().zip(&dirs) {
        let (child, url) = start_server(dir.path(), &toss_url, &format!("{node}/{name}"));
        servers.push(child);
        urls.push(url);
    }
    let clients: Vec<_> = urls
        .iter()
        .map(|url| PaymentsClient::new(url, SANDBOX_KEY, SANDBOX_IV).unwrap())
        .collect();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let mut payments = Vec::new();
    for i in 0..PAYMENTS {
        let order = format!("galera-{i}-{}", uuid::Uuid::new_v4().simple());
        let payment: serde_json::Value = serde_json::from_str(&toss(&http, &toss_url, "/v1/payments/key-in", json!({"method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": 10000, "orderId": order, "orderName": "주문", "__approved": false})).await).unwrap();
        let key = payment["paymentKey"].as_str().unwrap().to_owned();
        clients[i % 3]
            .create_history(&PaymentHistoryCreate {
                vendor: PaymentVendor {
                    code: VendorCode::TossPayments,
                    store_id: "default".into(),
                    uid: key.clone(),
                },
                source: source(&order),
                webhook_url: inbox.url().to_owned(),
                price: 10000.0,
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
        payments.push((order, key));
    }

    // The burst: each payment is cancelled twice in part at the PG; after each cancel the
    // PG's notification reaches two instances at once, so two nodes write the same payment.
    let started = Instant::now();
    let mut burst = Vec::new();
    let rounds_done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for (i, (_, key)) in payments.iter().enumerate() {
        let (http, toss_url, urls, key) =
            (http.clone(), toss_url.clone(), urls.clone(), key.clone());
        let rounds_done = rounds_done.clone();
        burst.push(tokio::spawn(async move {
            let mut resent = 0;
            for round in 0..2 {
                toss(
                    &http,
                    &toss_url,
                    &format!("/v1/payments/{key}/cancel"),
                    json!({"cancelReason": format!("부분 취소 {round}"), "cancelAmount": 1000}),
                )
                .await;
                let both = [i % 3, (i + 1 + round) % 3].map(|first| {
                    tokio::spawn(notify(http.clone(), urls.clone(), first, key.clone()))
                });
                for one in both {
                    resent += one.await.unwrap();
                }
                rounds_done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            resent
        }));
    }
    let accepted = |inbox: &payments_testkit::Inbox| {
        let mut counts = BTreeMap::<String, Vec<u64>>::new();
        for delivery in inbox.deliveries(0) {
            if delivery.accepted() && delivery.signature_valid {
                counts.entry(delivery.id).or_default().push(delivery.seq);
            }
        }
        counts
    };

    // Node 2 dies once half the changes are stored and some events have arrived (so both
    // notifications and deliveries are under way), and comes back a second later.
    let deadline = Instant::now() + Duration::from_secs(60);
    while rounds_done.load(std::sync::atomic::Ordering::SeqCst) < PAYMENTS
        || accepted(&inbox).is_empty()
    {
        assert!(Instant::now() < deadline, "the burst never got under way");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::task::spawn_blocking(|| galera(&["kill", "2"]))
        .await
        .unwrap();
    let delivered_before_kill = accepted(&inbox).len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restart = Instant::now();
    tokio::task::spawn_blocking(|| galera(&["restart", "2"]))
        .await
        .unwrap();
    let rejoined_in = restart.elapsed();

    let mut resent = 0;
    for task in burst {
        resent += task.await.unwrap();
    }

    // Every payment ends with its two events delivered, as any instance reads them.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut chains = Vec::new();
    for (i, (order, _)) in payments.iter().enumerate() {
        let accessor = PaymentSourceAccessor {
            source: source(order),
            password: PASSWORD.into(),
        };
        let events = loop {
            let events = clients[i % 3].webhook_events(&accessor).await;
            if let Ok(events) = &events
                && events.len() >= 2
                && events
                    .iter()
                    .all(|e| e.state == WebhookEventState::Delivered)
            {
                break events.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{order}: not all delivered: {events:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        chains.push((order.clone(), events));
    }
    let burst_took = started.elapsed();

    // What the client received: each event once, a payment's events in their order, and
    // each `previous` the `current` of the event before.
    let received = accepted(&inbox);
    let mut expected = BTreeSet::new();
    let mut out_of_order = 0;
    let mut broken_chains = 0;
    let mut events_per_payment = BTreeMap::<usize, usize>::new();
    for (_, events) in &chains {
        *events_per_payment.entry(events.len()).or_default() += 1;
        let firsts: Vec<u64> = events
            .iter()
            .map(|e| {
                received
                    .get(&e.id.to_string())
                    .and_then(|seqs| seqs.first().copied())
                    .unwrap_or(u64::MAX)
            })
            .collect();
        if firsts.windows(2).any(|w| w[0] > w[1]) {
            out_of_order += 1;
        }
        let bodies: Vec<PaymentWebhook> = events
            .iter()
            .filter_map(|e| {
                inbox
                    .delivery(&e.id.to_string())
                    .and_then(|delivery| delivery.event)
            })
            .collect();
        let chained = bodies.len() == events.len()
            && bodies.windows(2).all(|w| w[0].current == w[1].previous)
            && bodies
                .first()
                .is_some_and(|b| b.previous.cancels.is_empty())
            && bodies
                .last()
                .is_some_and(|b| b.current.refund == Some(2000.0));
        if !chained {
            broken_chains += 1;
        }
        expected.extend(events.iter().map(|e| e.id.to_string()));
    }
    let lost = expected
        .iter()
        .filter(|id| !received.contains_key(*id))
        .count();
    let duplicates: usize = received.values().map(|seqs| seqs.len() - 1).sum();
    let unknown = received.keys().filter(|id| !expected.contains(*id)).count();

    // Every record reads back whole, the same through every instance.
    let mut unreadable = 0;
    for (order, _) in &payments {
        let accessor = PaymentSourceAccessor {
            source: source(order),
            password: PASSWORD.into(),
        };
        let mut seen = Vec::new();
        for client in &clients {
            match client.history_by_source(&accessor).await {
                Ok(history) => seen.push(history),
                Err(_) => unreadable += 1,
            }
        }
        if seen.len() == 3
            && !(seen.windows(2).all(|w| w[0] == w[1])
                && seen[0].refund == Some(2000.0)
                && seen[0].cancels.len() == 2)
        {
            unreadable += 1;
        }
    }
    let conflicts = conflicts(&nodes).await.saturating_sub(conflicts_before);

    for server in &mut servers {
        let _ = server.kill();
        let _ = server.wait();
    }
    if let Ok(mut connection) = connect(&nodes[0]).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(&mut connection)
            .await;
    }
    println!(
        "galera: {PAYMENTS} payments on 3 nodes, {} events (payments by event count {events_per_payment:?}), \
         {} notifications ({resent} sent again), {delivered_before_kill} delivered before node 2 was killed, \
         node 2 rejoined in {} ms, all delivered {} ms after the burst began; \
         {lost} lost, {duplicates} duplicates, {unknown} unknown, {out_of_order} out of order, \
         {broken_chains} broken previous/current chains, {unreadable} records unreadable or different; \
         {conflicts} certification conflicts and brute-force aborts on the nodes",
        expected.len(),
        PAYMENTS * 4,
        rejoined_in.as_millis(),
        burst_took.as_millis(),
    );
    assert_eq!(
        events_per_payment,
        BTreeMap::from([(2, PAYMENTS)]),
        "one event per change"
    );
    assert_eq!(lost, 0, "events lost");
    assert_eq!(duplicates, 0, "events delivered twice");
    assert_eq!(unknown, 0, "events the database does not hold");
    assert_eq!(out_of_order, 0, "payments whose events came out of order");
    assert_eq!(
        broken_chains, 0,
        "payments whose previous/current do not chain"
    );
    assert_eq!(
        unreadable, 0,
        "records unreadable or different between instances"
    );
    drop(fake);
}

/// Transactions the nodes rolled back for a conflict with another node's: certification
/// failures plus brute-force aborts, summed over the nodes that answer.
async fn conflicts(nodes: &[String]) -> u64 {
    let mut total = 0;
    for node in nodes {
        for name in ["wsrep_local_cert_failures", "wsrep_local_bf_aborts"] {
            if let Ok(value) = status(node, name).await {
                total += value.parse::<u64>().unwrap_or(0);
            }
        }
    }
    total
}
