//! Request latency while the server replaces itself: the same steady load (readers reading
//! a payment, writers storing and cancelling payments) first with nothing happening, then
//! with a reload every second; prints p50 and p99 of each, and the failures.
//!
//! `cargo bench -p payments-server --bench reload -- [SECONDS] [mariadb|sqlite]`
//! (default 5 s per phase, MariaDB at `PAYMENTS_BENCH_DATABASE_URL` or the test kit's).

#[path = "../tests/support/load.rs"]
mod load;

use std::time::Duration;

use load::{Instance, Load};
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_fakes::Fake as _;
use payments_fakes::toss::{FakeToss, TossConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(5);
    let backend = args.get(1).map_or("mariadb", String::as_str);

    payments_fakes::tls::install_provider();
    let fake = FakeToss::new(TossConfig::default());
    let toss_url = payments_testkit::serve(fake.router()).await.unwrap();
    let codec = payments_api::BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).unwrap();
    let (inbox, _) = payments_testkit::Inbox::start(codec, load::SIGNING_SECRET)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = match backend {
        "sqlite" => payments_testkit::Database::Sqlite,
        _ => match std::env::var("PAYMENTS_BENCH_DATABASE_URL") {
            Ok(url) => payments_testkit::Database::MariaDb(url),
            Err(_) => payments_testkit::Database::AnyMariaDb,
        },
    };
    let database = payments_testkit::provision(&database).await.unwrap();
    let config = load::write_config(dir.path(), &database.url, &toss_url);
    let mut server = Instance::start(&dir.path().join("a"), &config, "127.0.0.1:0", false);

    let load = Load::start(&server.url, &toss_url, inbox.url(), 4, 4).await;
    let phase = Duration::from_secs(seconds);
    tokio::time::sleep(phase).await;
    let mut reloads = 0;
    let mut replaced = Vec::new();
    let reloading_until = load.started.elapsed() + phase;
    while load.started.elapsed() < reloading_until {
        let before = server.pid().unwrap();
        tokio::task::block_in_place(|| server.reload()).expect("the reload succeeds");
        replaced.push(before);
        reloads += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let reloading_ended = load.started.elapsed();
    let counts = load.finish().await;
    let (mut steady, mut during): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    for &(at, latency) in &counts.latencies {
        if at < phase {
            steady.push(latency);
        } else if at < reloading_ended {
            during.push(latency);
        }
    }
    let line = |name: &str, values: &mut Vec<Duration>, span: Duration| {
        let n = values.len();
        let p50 = load::quantile(values, 0.5);
        let p99 = load::quantile(values, 0.99);
        println!(
            "reload bench ({backend}): {name}: {n} requests, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            n as f64 / span.as_secs_f64(),
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
        );
    };
    line("steady", &mut steady, phase);
    line(
        &format!("during {reloads} reloads"),
        &mut during,
        reloading_ended - phase,
    );
    println!(
        "reload bench ({backend}): {} failed, {} connection errors",
        counts.failed, counts.connection_errors
    );
    server.wait_replaced(&replaced);
    server.stop();
    database.release().await;
}
