//! Throughput of the payments server over loopback HTTP, against its database's own speed:
//! creating payments (with the fake Toss's approval in the loop), reading one by id (the
//! `at` route, `PATCH /payments/histories/{id}`: password check, unsealing, body
//! encryption) and cancelling them.
//!
//! The server is the real binary in a process of its own (see `setup`); the load generator
//! and the fake Toss run here. Each scenario prints its CPU time per request in both
//! processes, read from `/proc`: on a shared machine the rates move with the neighbours,
//! the CPU per request much less. With `PAYMENTS_BENCH_PERF=FILE`, the first reads by id
//! are profiled: `perf record -g` on the server process alone, written to FILE. With
//! `PAYMENTS_BENCH_CALLGRIND=DIRECTORY`, the server runs under callgrind (tens of times
//! slower) and the bench prints the instructions it executed per read, a count that does
//! not move with the machine's load: the figure to compare one change of the server by.
//! The reads' line also splits the server's CPU time between user space and the kernel;
//! with `PAYMENTS_BENCH_STRACE=FILE`, `strace -c -f` counts every system call of the server
//! during the reads (its summary in FILE) and the bench prints them per read (strace slows
//! the server down many times: that run's rates and CPU times are not comparable).
//!
//! `cargo bench -p payments-server --bench at [-- SECONDS [CONNECTIONS [DATABASE [COUNT]]]]`
//!
//! DATABASE is `mariadb` (default; a fresh database on the server at
//! `PAYMENTS_BENCH_DATABASE_URL`, default `mysql://root@127.0.0.1:3306`, dropped after) or
//! `sqlite` (a temporary file). COUNT payments (default 2,000) are created, read for
//! SECONDS (default 5) over CONNECTIONS (default 32) keep-alive connections, and cancelled.
//!
//! On MariaDB the anchor is the database's raw rate, measured in the same run just before
//! and just after the reads: `sysbench oltp_point_select` (8 threads, the same seconds) on a
//! database of its own on the same server. The machine is shared, so absolute figures move
//! with the neighbours; the ratio of the server's reads to the database's point selects is
//! the figure to compare between runs. The load average is printed beside every figure.
//! A second anchor, right after, is the database running the server's own read statement
//! alone (sysbench's C client, 8 threads, the same payments): what a read costs the
//! database, apart from what it costs the server. Both print the bytes MariaDB sent per
//! read or statement (`Bytes_sent`): sqlx gets a statement's column definitions with every
//! result, sysbench's client only with the first.

#[path = "../../fakes/benches/load/mod.rs"]
mod load;
mod setup;

use std::sync::Arc;
use std::time::Duration;

use load::{Call, Outcome, Target, drive, report};
use payments_api::BodyCodec;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::payments::*;
use payments_fakes::toss::{FakeToss, TossConfig};
use payments_testkit::{Database, provision};
use setup::{Bench, Counting, Machine, Usage};

/// The database's own rate is measured with as many client threads as in the issue's
/// reference runs; sysbench's C client costs far less per query than any HTTP server.
const SYSBENCH_THREADS: usize = 8;
/// The targets: reads at half the database's point-select rate or more, p99 within 10 ms.
const TARGET_RATIO: f64 = 0.5;
const TARGET_P99_MS: f64 = 10.0;
const PASSWORD: &str = "bench-password";
const PRICE: f64 = 15000.0;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let connections: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let database = args.next().unwrap_or_else(|| "mariadb".into());
    let count: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(
        Duration::from_secs(seconds),
        connections,
        &database,
        count,
    ));
}

async fn run(duration: Duration, connections: usize, database: &str, count: usize) {
    println!(
        "payments server on {database}: {count} payments, {connections} keep-alive connections, \
         reads for {} s, {} cores, load average {}",
        duration.as_secs(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    let bench = Bench::start(database, FakeToss::new(TossConfig::default())).await;
    let codec = BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).expect("a codec");
    let toss = Target::new(
        bench.toss_url.trim_start_matches("http://"),
        &[
            ("authorization", &bench.toss_auth),
            ("content-type", "application/json"),
        ],
        connections,
    );
    let server = Target::new(
        bench.server_url.trim_start_matches("http://"),
        &[("content-type", "text/plain")],
        connections,
    );
    let hook = load::receiver().await;

    // Payments waiting for approval at the fake Toss, as a payment window leaves them: half
    // approved through the server, half at the fake alone (the PG's share of a create).
    let waiting = toss
        .run(
            2 * count,
            |i| {
                Call::post(
                    "/v1/payments/key-in",
                    serde_json::json!({"cardNumber": "4330123412341234", "cardExpirationYear": "49",
                        "cardExpirationMonth": "12", "amount": PRICE, "orderId": order(i),
                        "__approved": false}),
                )
            },
            Some(|v| v["paymentKey"].as_str().map(str::to_owned)),
        )
        .await;
    assert_eq!(waiting.errors, 0, "{:?}", waiting.first_error);
    let keys = waiting.kept();

    // Creating: the server checks for duplicates, has the PG approve, seals and inserts.
    let creates: Vec<String> = (0..count)
        .map(|i| {
            codec
                .encrypt_json(&PaymentHistoryCreate {
                    vendor: PaymentVendor {
                        code: VendorCode::TossPayments,
                        store_id: "bench".into(),
                        uid: keys[i].clone(),
                    },
                    source: source(i),
                    webhook_url: hook.clone(),
                    price: PRICE,
                    password: PASSWORD.into(),
                })
                .expect("a body")
        })
        .collect();
    let creates = Arc::new(creates);
    let bodies = creates.clone();
    let load = load_average();
    let cpu = bench.server_cpu();
    let created = server
        .run(
            count,
            move |i| Call {
                method: "POST",
                path: "/payments/histories".into(),
                body: Some(bodies[i].clone()),
            },
            None,
        )
        .await;
    let created = report("POST /payments/histories (create)", created);
    split(bench.server_cpu() - cpu, &created, &load);
    let confirms: Arc<Vec<String>> = Arc::new(keys[count..].to_vec());
    let load = load_average();
    let confirmed = toss
        .run(
            count,
            move |i| {
                Call::post(
                    "/v1/payments/confirm",
                    serde_json::json!({"paymentKey": confirms[i], "orderId": order(count + i),
                        "amount": PRICE}),
                )
            },
            None,
        )
        .await;
    let confirmed = report("  its PG part alone: the fake Toss's confirm", confirmed);
    println!("{:<52} load average {load}", "");

    // Reading, between two measures of the database's own rate.
    let before = anchor(database, duration).await;
    let ids = ids_of(&bench, count).await;
    let profile = profile(&bench);
    let tracing = strace(&bench);
    let counting = Counting::start(&bench).await;
    let usage = bench.server_usage();
    // SQLite runs inside the server process; a MariaDB elsewhere is not measured.
    let database_pid = (database == "mariadb").then(setup::database_pid).flatten();
    let database_usage = database_pid.map(setup::usage_of);
    let sent = setup::global_status(bench.database_url(), "Bytes_sent").await;
    let machine = Machine::now();
    let (reads, reads_cpu, load) = read(&bench, &codec, &ids, connections, duration).await;
    let usage = bench.server_usage() - usage;
    let machine = Machine::now().busy_since(machine);
    let sent = match (
        sent,
        setup::global_status(bench.database_url(), "Bytes_sent").await,
    ) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let database_cpu = database_pid
        .zip(database_usage)
        .map(|(pid, before)| setup::usage_of(pid) - before);
    let instructions = match counting {
        Some(counting) => counting.stop().await,
        None => None,
    };
    if let Some(profile) = profile {
        profile.stop().await;
    }
    let traced = match tracing {
        Some(tracing) => Some(tracing.stop().await),
        None => None,
    };
    let reads = report("PATCH /payments/histories/{id} (at)", reads);
    split(reads_cpu, &reads, &load);
    kernel(usage, &reads);
    whole_machine(database_cpu, machine, &reads);
    if let Some(sent) = sent {
        println!(
            "{:<52} {:>7.0} bytes sent by MariaDB per read",
            "",
            sent as f64 / reads.requests.max(1) as f64
        );
    }
    if let Some(file) = traced {
        syscalls(&file, &reads);
    }
    if let Some(instructions) = instructions {
        println!(
            "{:<52} {:>7.0} instructions per read in the server process (callgrind)",
            "",
            instructions as f64 / reads.requests.max(1) as f64
        );
    }
    let after = anchor(database, duration).await;
    let statement = statement_anchor(&bench, &ids, duration).await;

    // Cancelling each payment in full at the PG, recorded with its client event.
    let cancels: Arc<Vec<String>> = Arc::new(
        (0..count)
            .map(|i| {
                codec
                    .encrypt_json(&PaymentCancelCreate {
                        source: source(i),
                        password: PASSWORD.into(),
                        price: PRICE,
                        reason: "bench".into(),
                        account: None,
                    })
                    .expect("a body")
            })
            .collect(),
    );
    let load = load_average();
    let cpu = bench.server_cpu();
    let cancelled = server
        .run(
            count,
            move |i| Call {
                method: "PUT",
                path: "/payments/histories/cancel".into(),
                body: Some(cancels[i].clone()),
            },
            None,
        )
        .await;
    let cancelled = report("PUT /payments/histories/cancel", cancelled);
    split(bench.server_cpu() - cpu, &cancelled, &load);
    let (outcome, server_cpu, load) = read(&bench, &codec, &ids, connections, duration).await;
    let outcome = report(
        "PATCH /payments/histories/{id}, each with a cancel",
        outcome,
    );
    split(server_cpu, &outcome, &load);

    println!();
    println!(
        "create: {:.0} req/s, p99 {:.2} ms; the fake PG's confirm alone {:.0} req/s, p99 {:.2} ms",
        created.rate(),
        created.quantile_ms(0.99),
        confirmed.rate(),
        confirmed.quantile_ms(0.99)
    );
    let p99 = reads.quantile_ms(0.99);
    match (before, after) {
        (Some(before), Some(after)) => {
            let anchor = (before.rate + after.rate) / 2.0;
            let ratio = reads.rate() / anchor;
            println!(
                "at: {:.0} req/s, p99 {p99:.2} ms, server CPU {:.0} µs per read; MariaDB point \
                 selects {:.0} / {:.0} per s (before / after); ratio {ratio:.2} (target ≥ \
                 {TARGET_RATIO:.2}: {}), p99 target ≤ {TARGET_P99_MS} ms: {}",
                reads.rate(),
                per_request(reads_cpu, &reads),
                before.rate,
                after.rate,
                met(ratio >= TARGET_RATIO),
                met(p99 <= TARGET_P99_MS),
            );
        }
        _ => println!(
            "at: {:.0} req/s, p99 {p99:.2} ms (target ≤ {TARGET_P99_MS} ms: {}), server CPU \
             {:.0} µs per read; no database anchor on {database}",
            reads.rate(),
            met(p99 <= TARGET_P99_MS),
            per_request(reads_cpu, &reads),
        ),
    }
    if let Some(statement) = statement {
        println!(
            "at against MariaDB running the read's statement alone ({:.0} per s): {:.2}",
            statement.rate,
            reads.rate() / statement.rate
        );
    }
    bench.finish().await;
}

/// Microseconds of `cpu` per request of `outcome`.
fn per_request(cpu: Duration, outcome: &Outcome) -> f64 {
    cpu.as_secs_f64() * 1e6 / outcome.requests.max(1) as f64
}

/// The line under a scenario's figures: its CPU per request split between the server
/// process and this one (the load generator, and the fake Toss where a request reaches
/// it), and the load average at its start.
fn split(server_cpu: Duration, outcome: &Outcome, load: &str) {
    println!(
        "{:<52} {:>4.0} µs CPU/req in the server process, {:>4.0} µs in the bench's; \
         load average {load}",
        "",
        per_request(server_cpu, outcome),
        per_request(outcome.cpu, outcome),
    );
}

/// The line under the reads' figures: the server's CPU per read in user space and in the
/// kernel. Loopback HTTP and the database's protocol cost the kernel on every read; this
/// says how much.
fn kernel(usage: Usage, outcome: &Outcome) {
    println!(
        "{:<52} {:>4.0} µs user + {:>4.0} µs system per read in the server process",
        "",
        per_request(usage.user, outcome),
        per_request(usage.system, outcome),
    );
}

/// The line under that: the database server's CPU per read when it runs on this machine,
/// and how busy the machine's cores were during the reads. Below 100 % busy, the reads wait
/// on something other than the processor.
fn whole_machine(database: Option<Usage>, busy: f64, outcome: &Outcome) {
    let database = match database {
        Some(usage) => format!(
            "{:>4.0} µs CPU per read in the database server process, ",
            per_request(usage.user + usage.system, outcome)
        ),
        None => "no database server process on this machine; ".into(),
    };
    println!("{:<52} {database}the cores {:.0} % busy", "", busy * 100.0);
}

/// The system calls of `strace -c`'s summary in `file`, per request of `outcome`: the total
/// and each call made at least once in ten requests.
fn syscalls(file: &std::path::Path, outcome: &Outcome) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let per = |calls: f64| calls / outcome.requests.max(1) as f64;
    // Rows: % time, seconds, usecs/call, calls, [errors,] name.
    let rows: Vec<(String, f64)> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields.last()?;
            let calls = fields.get(3)?.parse::<f64>().ok()?;
            Some((name.to_string(), calls))
        })
        .collect();
    let Some((_, total)) = rows.iter().find(|(name, _)| name == "total") else {
        println!("no system call count in {}", file.display());
        return;
    };
    let each: Vec<String> = rows
        .iter()
        .filter(|(name, calls)| name != "total" && per(*calls) >= 0.1)
        .map(|(name, calls)| format!("{name} {:.2}", per(*calls)))
        .collect();
    println!(
        "{:<52} {:.1} system calls per read in the server process (strace): {}",
        "",
        per(*total),
        each.join(", ")
    );
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "not met" }
}

fn order(i: usize) -> String {
    format!("bench-order-{i}")
}

fn source(i: usize) -> PaymentSource {
    PaymentSource {
        schema: "bench".into(),
        table: "orders".into(),
        id: order(i),
    }
}

/// The ids of the created payments, read back through the API by source.
async fn ids_of(bench: &Bench, count: usize) -> Vec<uuid::Uuid> {
    let client =
        payments_api::client::PaymentsClient::new(&bench.server_url, SANDBOX_KEY, SANDBOX_IV)
            .expect("a client");
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        // A create that failed (its error is reported above) left nothing to read.
        if let Ok(history) = client
            .history_by_source(&PaymentSourceAccessor {
                source: source(i),
                password: PASSWORD.into(),
            })
            .await
        {
            ids.push(history.id);
        }
    }
    assert!(!ids.is_empty(), "no payment was created");
    ids
}

/// Reads the payments by id for `duration`; answers the outcome, the server process's CPU
/// time meanwhile and the load average at the start.
async fn read(
    bench: &Bench,
    codec: &BodyCodec,
    ids: &[uuid::Uuid],
    connections: usize,
    duration: Duration,
) -> (Outcome, Duration, String) {
    let body = codec
        .encrypt_json(&serde_json::json!({"password": PASSWORD}))
        .expect("a body");
    let paths: Arc<Vec<String>> = Arc::new(
        ids.iter()
            .map(|id| format!("/payments/histories/{id}"))
            .collect(),
    );
    let load = load_average();
    let cpu = bench.server_cpu();
    let outcome = drive(
        bench.server_url.trim_start_matches("http://"),
        &[("content-type", "text/plain")],
        connections,
        duration,
        move |n| {
            (
                "PATCH",
                paths[n as usize % paths.len()].clone(),
                Some(body.clone()),
            )
        },
    )
    .await;
    (outcome, bench.server_cpu() - cpu, load)
}

/// A `perf record` of the server process, started when `PAYMENTS_BENCH_PERF` names the
/// file to write.
struct Profile(tokio::process::Child);

fn profile(bench: &Bench) -> Option<Profile> {
    let file = std::env::var_os("PAYMENTS_BENCH_PERF")?;
    let pid = bench.server_pid()?;
    let started = tokio::process::Command::new("perf")
        .args(["record", "-F", "999", "-g", "-p", &pid.to_string(), "-o"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .spawn();
    match started {
        Ok(child) => Some(Profile(child)),
        Err(e) => {
            println!("no profile: perf cannot run ({e})");
            None
        }
    }
}

impl Profile {
    /// Ends the recording (perf writes its file on SIGINT) and waits for it.
    async fn stop(mut self) {
        if let Some(pid) = self.0.id() {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        }
        let _ = self.0.wait().await;
    }
}

/// `strace -c -f` on the server process, started when `PAYMENTS_BENCH_STRACE` names the
/// file its summary goes to: every system call of the reads, counted by name.
struct Strace(tokio::process::Child, std::path::PathBuf);

fn strace(bench: &Bench) -> Option<Strace> {
    let file = std::env::var_os("PAYMENTS_BENCH_STRACE")?;
    let pid = bench.server_pid()?;
    let started = tokio::process::Command::new("strace")
        .args(["-c", "-f", "-p", &pid.to_string(), "-o"])
        .arg(&file)
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        Ok(child) => Some(Strace(child, file.into())),
        Err(e) => {
            println!("no system call count: strace cannot run ({e})");
            None
        }
    }
}

impl Strace {
    /// Detaches (strace writes its summary on SIGINT), waits for it and answers its file.
    async fn stop(mut self) -> std::path::PathBuf {
        if let Some(pid) = self.0.id() {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        }
        let _ = self.0.wait().await;
        self.1
    }
}

/// What sysbench measured.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    /// Queries per second.
    rate: f64,
    /// Queries in all.
    queries: u64,
}

/// The database's raw point-select rate (MariaDB only): `sysbench oltp_point_select` on a
/// fresh database of the same server, for `duration`. `None` (and a line saying why) when
/// the database is SQLite or sysbench cannot run.
async fn anchor(database: &str, duration: Duration) -> Option<Anchor> {
    if database != "mariadb" {
        return None;
    }
    let server = std::env::var("PAYMENTS_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let provisioned = provision(&Database::MariaDb(server))
        .await
        .expect("a database for sysbench");
    let mut test = vec!["oltp_point_select".to_owned()];
    test.extend(sysbench_connection(&provisioned.url));
    test.extend(["--tables=1".into(), "--table-size=10000".into()]);
    let measured = match sysbench(&test, &["prepare"], &[]).await {
        Ok(done) if done.status.success() => {
            sysbench_rate(
                "MariaDB alone: sysbench oltp_point_select",
                "per 10 selects",
                &test,
                &[],
                duration,
            )
            .await
        }
        Ok(done) => {
            println!(
                "sysbench prepare failed: {}",
                String::from_utf8_lossy(&done.stderr).trim()
            );
            None
        }
        Err(e) => {
            println!("no database anchor: sysbench cannot run ({e}); apt-get install sysbench");
            None
        }
    };
    provisioned.release().await;
    measured
}

/// The rate of the server's own read statement with MariaDB alone (sysbench's C client, the
/// statement prepared once per thread, a random payment of `ids` each time) on the bench's
/// database, for `duration`: what a read costs the database, apart from what it costs the
/// server. `None` on SQLite or when sysbench cannot run.
async fn statement_anchor(bench: &Bench, ids: &[uuid::Uuid], duration: Duration) -> Option<Anchor> {
    if !bench.database_url().starts_with("mysql:") {
        return None;
    }
    let files = tempfile::tempdir().ok()?;
    let script = files.path().join("read_by_id.lua");
    let listed = files.path().join("ids");
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    std::fs::write(&script, READ_BY_ID).ok()?;
    std::fs::write(&listed, ids.join("\n")).ok()?;
    let mut test = vec![script.to_string_lossy().into_owned()];
    test.extend(sysbench_connection(bench.database_url()));
    let sent = setup::global_status(bench.database_url(), "Bytes_sent").await;
    let measured = sysbench_rate(
        "MariaDB alone: the read's statement",
        "per statement",
        &test,
        &[
            (
                "PAYMENTS_BENCH_STATEMENT",
                payments_server::records::store::payment_by_id(),
            ),
            ("PAYMENTS_BENCH_IDS", &listed.to_string_lossy()),
        ],
        duration,
    )
    .await?;
    if let (Some(before), Some(after)) = (
        sent,
        setup::global_status(bench.database_url(), "Bytes_sent").await,
    ) {
        println!(
            "{:<52} {:>7.0} bytes sent by MariaDB per statement",
            "",
            after.saturating_sub(before) as f64 / measured.queries.max(1) as f64
        );
    }
    Some(measured)
}

/// A sysbench test that runs the server's read by id: the statement and the file of ids
/// come in the environment.
const READ_BY_ID: &str = r#"
local ids = {}
function thread_init()
  for line in io.lines(os.getenv("PAYMENTS_BENCH_IDS")) do ids[#ids + 1] = line end
  con = sysbench.sql.driver():connect()
  stmt = con:prepare(os.getenv("PAYMENTS_BENCH_STATEMENT"))
  id = stmt:bind_create(sysbench.sql.type.CHAR, 36)
  stmt:bind_param(id)
end
function event()
  id:set(ids[math.random(#ids)])
  local rows = stmt:execute()
  if rows then rows:free() end
end
function thread_done()
  stmt:close()
  con:disconnect()
end
"#;

/// sysbench's options to connect to the MariaDB database at `url`.
fn sysbench_connection(url: &str) -> Vec<String> {
    let url = reqwest::Url::parse(url).expect("a database URL");
    vec![
        "--db-driver=mysql".into(),
        format!("--mysql-host={}", url.host_str().unwrap_or("127.0.0.1")),
        format!("--mysql-port={}", url.port().unwrap_or(3306)),
        format!("--mysql-user={}", url.username()),
        format!("--mysql-password={}", url.password().unwrap_or("")),
        format!("--mysql-db={}", url.path().trim_start_matches('/')),
    ]
}

/// `sysbench TEST… COMMAND…` with `env`.
async fn sysbench(
    test: &[String],
    command: &[&str],
    env: &[(&str, &str)],
) -> std::io::Result<std::process::Output> {
    tokio::process::Command::new("sysbench")
        .args(test)
        .args(command)
        .envs(env.iter().copied())
        .output()
        .await
}

/// Runs `test` for `duration` over [`SYSBENCH_THREADS`] threads and prints its rate under
/// `label` (with its p99 of one event, `event` saying what that is): the queries per
/// second, or `None` and a line saying why.
async fn sysbench_rate(
    label: &str,
    event: &str,
    test: &[String],
    env: &[(&str, &str)],
    duration: Duration,
) -> Option<Anchor> {
    let load = load_average();
    let options = [
        format!("--threads={SYSBENCH_THREADS}"),
        format!("--time={}", duration.as_secs().max(1)),
        "--percentile=99".into(),
    ];
    let test: Vec<String> = test.iter().cloned().chain(options).collect();
    match sysbench(&test, &["run"], env).await {
        Ok(done) if done.status.success() => {
            let text = String::from_utf8_lossy(&done.stdout);
            let queries = text.lines().find_map(|l| l.trim().strip_prefix("queries:"));
            let rate = queries
                .and_then(|l| l.split('(').nth(1))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok());
            let queries = queries
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_default();
            let p99 = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("99th percentile:"))
                .map(|l| l.trim().to_owned())
                .unwrap_or_default();
            if let Some(rate) = rate {
                println!(
                    "{label:<52} {rate:>7.0} q/s   p99 {p99:>5} ms {event}   \
                     ({SYSBENCH_THREADS} threads)   load average {load}",
                );
            }
            rate.map(|rate| Anchor { rate, queries })
        }
        Ok(done) => {
            println!(
                "sysbench run failed: {}",
                String::from_utf8_lossy(&done.stderr).trim()
            );
            None
        }
        Err(e) => {
            println!("sysbench run failed: {e}");
            None
        }
    }
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}
