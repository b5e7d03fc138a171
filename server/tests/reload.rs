//! Replacing running `payments-server` processes under a steady load: reloads of one
//! instance, and a rolling restart of three instances sharing one port. Each prints one
//! `reload: …` line with its counts: failed requests, connection errors, client events lost
//! or duplicated, and the relay's slowest event against its poll interval.

#[path = "support/load.rs"]
mod load;

use std::time::Duration;

use load::{Instance, Load, POLL_MS};
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_fakes::Fake as _;
use payments_fakes::toss::{FakeToss, TossConfig};

/// How many reloads (or instances restarted) a run makes.
const RELOADS: usize = 3;

/// The fake Toss and an inbox standing in for the client's endpoint.
async fn surroundings() -> (FakeToss, String, payments_testkit::Inbox) {
    payments_fakes::tls::install_provider();
    let fake = FakeToss::new(TossConfig::default());
    let toss_url = payments_testkit::serve(fake.router()).await.unwrap();
    let codec = payments_api::BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).unwrap();
    let (inbox, _) = payments_testkit::Inbox::start(codec, load::SIGNING_SECRET)
        .await
        .unwrap();
    (fake, toss_url, inbox)
}

/// Runs the load against `url` while `replace` replaces instances one after the other
/// (given the round), then checks and prints the counts.
async fn under_load(
    what: &str,
    url: &str,
    toss_url: &str,
    inbox: &payments_testkit::Inbox,
    mut replace: impl FnMut(usize),
) {
    let load = Load::start(url, toss_url, inbox.url(), 4, 4).await;
    for round in 0..RELOADS {
        tokio::time::sleep(Duration::from_millis(700)).await;
        tokio::task::block_in_place(|| replace(round));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let counts = load.finish().await;

    // Every cancel answered makes one event; wait until each has arrived.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let load::Seen {
        by_order,
        first: first_seen,
        duplicates,
    } = loop {
        let seen = load::events_by_order(inbox);
        let missing = counts
            .cancels
            .iter()
            .filter(|(order, _)| !seen.by_order.contains_key(order))
            .count();
        if missing == 0 || std::time::Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let lost = counts
        .cancels
        .iter()
        .filter(|(order, _)| !by_order.contains_key(order))
        .count();
    let extra: usize = by_order
        .values()
        .map(|ids| ids.len().saturating_sub(1))
        .sum();
    // How long after the cancel's answer its event reached the client.
    let mut slowest = Duration::ZERO;
    let mut later_than_poll = 0;
    for (order, answered) in &counts.cancels {
        let Some(ids) = by_order.get(order) else {
            continue;
        };
        let arrived = first_seen[&ids[0]];
        let delay = (arrived - *answered).to_std().unwrap_or_default();
        slowest = slowest.max(delay);
        if delay > Duration::from_millis(POLL_MS) {
            later_than_poll += 1;
        }
    }
    report(format!(
        "reload: {what}: {} reads and {} writes: {} failed, {} connection errors; {} client events: {lost} lost, {} duplicated; relay: slowest event {} ms after its cancel (poll interval {POLL_MS} ms), {later_than_poll} later than the poll interval",
        counts.reads,
        counts.writes,
        counts.failed,
        counts.connection_errors,
        counts.cancels.len(),
        duplicates + extra,
        slowest.as_millis(),
    ));
    assert!(
        counts.reads > 0 && !counts.cancels.is_empty(),
        "no load ran: {counts:?}"
    );
    assert_eq!(
        (counts.failed, counts.connection_errors),
        (0, 0),
        "{:?}",
        counts.errors
    );
    assert_eq!((lost, duplicates + extra), (0, 0));
    assert_eq!(later_than_poll, 0, "the relay stalled");
}

/// Every line of a log is JSON; requests carry their id into PG calls; no configured secret
/// appears anywhere.
fn check_logs(logs: &str) {
    let mut pg_calls_with_request = 0;
    let mut requests = std::collections::HashSet::new();
    let mut attempts = Vec::new();
    for line in logs.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        for span in value["spans"].as_array().into_iter().flatten() {
            if span["name"] == "request"
                && let Some(id) = span["id"].as_str()
            {
                requests.insert(id.to_owned());
            }
        }
        if value["message"] == "delivery attempt" {
            let spans = value["spans"].as_array().expect("a span list");
            let delivery = spans
                .iter()
                .find(|s| s["name"] == "delivery")
                .expect("an attempt logs in its delivery's span");
            attempts.push(delivery["request"].as_str().unwrap_or_default().to_owned());
        }
        if value["message"] == "PG call" {
            let spans = value["spans"].as_array().expect("a span list");
            if spans.iter().any(|s| {
                s["name"] == "request" && s["id"].as_str().is_some_and(|id| !id.is_empty())
            }) {
                pg_calls_with_request += 1;
            }
        }
    }
    assert!(pg_calls_with_request > 0, "no PG call carried a request id");
    // Every event of the load is written by a cancel request: each attempt names it.
    assert!(!attempts.is_empty(), "no delivery attempt was logged");
    let unknown: Vec<&String> = attempts
        .iter()
        .filter(|id| !requests.contains(*id))
        .collect();
    assert!(
        unknown.is_empty(),
        "{} of {} delivery attempts name no request that was logged: {unknown:?}",
        unknown.len(),
        attempts.len()
    );
    for secret in load::secrets() {
        assert!(!logs.contains(secret), "a secret was logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reloads_under_load_refuse_nothing_and_lose_no_event() {
    let (_fake, toss_url, inbox) = surroundings().await;
    let database = payments_testkit::provision(&payments_testkit::Database::AnyMariaDb)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = load::write_config(dir.path(), &database.url, &toss_url);
    let mut server = Instance::start(&dir.path().join("a"), &config, "127.0.0.1:0", false);
    let url = server.url.clone();
    let mut replaced = Vec::new();
    under_load("3 reloads of one server", &url, &toss_url, &inbox, |_| {
        let before = server.pid().unwrap();
        let outcome = server.reload();
        assert!(outcome.is_ok(), "{outcome:?}: {}", server.stderr());
        assert_ne!(server.pid(), Some(before));
        replaced.push(before);
    })
    .await;

    // The figures of the process serving now, once it has stored and cancelled a payment
    // and delivered the event.
    let client = payments_api::client::PaymentsClient::new(&url, SANDBOX_KEY, SANDBOX_IV).unwrap();
    let order = format!("reload-metrics-{}", uuid::Uuid::new_v4().simple());
    load::store_and_cancel(&client, &toss_url, inbox.url(), &order).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !load::events_by_order(&inbox).by_order.contains_key(&order) {
        assert!(std::time::Instant::now() < deadline, "no event for {order}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "payments_http_requests_total{route=\"/payments/histories/cancel\",method=\"PUT\",status=\"200\"}",
        "payments_http_request_duration_seconds_bucket{route=\"/payments/histories/get\"",
        "payments_pg_call_duration_seconds_bucket{vendor=\"toss\",operation=\"cancel\",outcome=\"ok\"",
        "payments_relay_attempts_total{outcome=\"delivered\"}",
        "payments_relay_pending_events ",
        "payments_relay_oldest_pending_age_seconds ",
        "payments_db_pool_connections{state=\"max\"} 32",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} is missing:\n{metrics}"
        );
    }

    server.wait_replaced(&replaced);
    server.stop();
    let out = server.stdout();
    assert_eq!(
        out.matches("payments server listening on").count(),
        RELOADS + 1,
        "{out}"
    );
    check_logs(&server.stderr());
    database.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_of_three_instances_on_one_port_refuses_nothing() {
    let (_fake, toss_url, inbox) = surroundings().await;
    let database = payments_testkit::provision(&payments_testkit::Database::AnyMariaDb)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = load::write_config(dir.path(), &database.url, &toss_url);
    // The first takes a free port; the other two join it there.
    let first = Instance::start(&dir.path().join("0"), &config, "127.0.0.1:0", true);
    let address = first.url.trim_start_matches("http://").to_owned();
    let mut instances = vec![first];
    for i in 1..3 {
        let dir = dir.path().join(i.to_string());
        instances.push(Instance::start(&dir, &config, &address, true));
    }
    let url = format!("http://{address}");
    let mut replaced = vec![Vec::new(); 3];
    under_load(
        "rolling restart of 3 instances on one port",
        &url,
        &toss_url,
        &inbox,
        |round| {
            let instance = &mut instances[round];
            let before = instance.pid().unwrap();
            let outcome = instance.reload();
            assert!(outcome.is_ok(), "{outcome:?}: {}", instance.stderr());
            replaced[round].push(before);
        },
    )
    .await;
    let mut logs = String::new();
    for (instance, replaced) in instances.iter_mut().zip(&replaced) {
        instance.wait_replaced(replaced);
        instance.stop();
        logs.push_str(&instance.stderr());
    }
    check_logs(&logs);
    database.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_whose_new_process_cannot_start_leaves_the_old_one_serving() {
    let (_fake, toss_url, _inbox) = surroundings().await;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("payments.db").display());
    let config = load::write_config(dir.path(), &database, &toss_url);
    let mut server = Instance::start(&dir.path().join("a"), &config, "127.0.0.1:0", false);
    let before = server.pid().unwrap();
    let good = std::fs::read_to_string(&config).unwrap();
    // The new process reads the configuration again, and finds it broken.
    std::fs::write(&config, good.replace(load::PEPPER, "too-short")).unwrap();
    let refused = server.reload().unwrap_err();
    assert!(refused.contains("goes on serving"), "{refused}");
    assert!(
        refused.contains("password_pepper must be at least 16 characters"),
        "the reason is given: {refused}"
    );
    assert_eq!(server.pid(), Some(before));
    let health = reqwest::get(format!("{}/monitors/health", server.url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // Mended, the next reload goes through.
    std::fs::write(&config, good).unwrap();
    let reloaded = server.reload().unwrap();
    assert!(reloaded.contains(&format!("(was {before})")), "{reloaded}");
    assert_ne!(server.pid(), Some(before));
    server.wait_replaced(&[before]);

    // SIGUSR2 reloads as well.
    let second = server.pid().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second as i32),
        nix::sys::signal::Signal::SIGUSR2,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.pid() == Some(second) {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGUSR2 did not reload"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.wait_replaced(&[second]);
    let health = reqwest::get(format!("{}/monitors/health", server.url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.stop();
    report(format!(
        "reload: a new process that cannot start: the old one went on serving; reason given: {refused}"
    ));
}

/// Prints a summary line and keeps it for CI (see `payments_testkit::report`).
fn report(line: String) {
    payments_testkit::report(env!("CARGO_TARGET_TMPDIR"), "reload", &line);
}
