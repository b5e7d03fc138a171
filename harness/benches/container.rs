//! How long a harness on a container database takes to be ready (feature `docker`): the
//! first of a process starts the MariaDB container; later ones get a fresh database on it.
//!
//! `cargo bench -p payments-harness --features docker --bench container [-- RUNS]`
//!
//! Needs a Docker engine (`DOCKER_HOST`) and the image (`PAYMENTS_TEST_MARIADB_IMAGE`,
//! default `mariadb:10.11`) already present: the first figure leaves the pull out.

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
    runtime.block_on(async {
        println!(
            "harness start-up on a container database, {} cores",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        let mut firsts = Vec::new();
        let mut laters = Vec::new();
        // A few rounds: each starts a container and stops it with its last harness.
        for _ in 0..3 {
            let started = Instant::now();
            let first = match Harness::builder()
                .database(Database::docker())
                .start()
                .await
            {
                Ok(harness) => harness,
                Err(error) => {
                    println!("unavailable: {error}");
                    return;
                }
            };
            firsts.push(started.elapsed());
            for _ in 0..runs / 3 {
                let started = Instant::now();
                let later = Harness::builder()
                    .database(Database::docker())
                    .start()
                    .await
                    .expect("a later harness");
                laters.push(started.elapsed());
                later.shutdown().await;
            }
            first.shutdown().await;
        }
        report("first harness (starts the container)", firsts);
        report("later harnesses (shared container)", laters);
    });
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{name:<40} n {:>3}   p50 {:>7.1} ms   max {:>7.1} ms",
        times.len(),
        at(0.5).as_secs_f64() * 1000.0,
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1000.0)
    );
}
