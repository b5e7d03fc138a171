//! How long a harness takes to be ready: database, migrations, both fakes, the server and
//! the inbox.
//!
//! `cargo bench -p payments-harness --bench start [-- RUNS]`
//!
//! SQLite always; MariaDB (a fresh database per harness on `PAYMENTS_TEST_DATABASE_URL`,
//! default `mysql://root@127.0.0.1:3306`) and a private `mariadbd` when available.

use std::time::{Duration, Instant};

use payments_harness::{Database, Harness};

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let server = std::env::var("PAYMENTS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    println!(
        "harness start-up, {runs} runs each, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for (name, database, runs) in [
        ("SQLite", Database::Sqlite, runs),
        (
            "MariaDB, a database per harness",
            Database::MariaDb(server),
            runs,
        ),
        ("a private mariadbd", Database::PrivateMariaDb, runs.min(5)),
    ] {
        runtime.block_on(async {
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                let started = Instant::now();
                match Harness::builder().database(database.clone()).start().await {
                    Ok(harness) => {
                        times.push(started.elapsed());
                        harness.shutdown().await;
                    }
                    Err(error) => {
                        println!("{name:<34} unavailable: {error}");
                        return;
                    }
                }
            }
            report(name, times);
        });
    }
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{name:<34} p50 {:>7.1} ms   max {:>7.1} ms",
        at(0.5).as_secs_f64() * 1000.0,
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1000.0)
    );
}
