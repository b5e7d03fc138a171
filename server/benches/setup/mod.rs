//! What both server benchmarks stand on: a database of the kind asked for (made with the
//! workspace's test kit), a fake Toss on loopback, and the payments server between them.
//!
//! The server runs as its own process, the real `payments-server` binary started with a
//! configuration written here: the load generator and the fake then do not compete with it
//! inside one runtime, and the server's own CPU time can be read apart from theirs.

// Each bench uses part of this: only `at` measures CPU and instructions.
#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use payments_fakes::Fake as _;
use payments_fakes::toss::FakeToss;
use payments_server::config::SANDBOX_WEBHOOK_SECRET;
use payments_testkit::{Database, Provisioned};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The fake Toss's secret key, also the server's.
pub const TOSS_KEY: &str = "test_sk_bench";

/// The server binary Cargo built for this bench.
const SERVER: &str = env!("CARGO_BIN_EXE_payments-server");

/// How long the server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server process on a fresh database, with the fake Toss it verifies payments at.
pub struct Bench {
    pub server_url: String,
    pub toss_url: String,
    /// The `Authorization` header of the fake Toss's merchant.
    pub toss_auth: String,
    server: Child,
    _toss: FakeToss,
    _config: tempfile::TempDir,
    database: Provisioned,
}

impl Bench {
    /// `database` is `mariadb` (a fresh database on `PAYMENTS_BENCH_DATABASE_URL`, default
    /// `mysql://root@127.0.0.1:3306`) or `sqlite` (a temporary file).
    pub async fn start(database: &str, toss: FakeToss) -> Bench {
        let database = match database {
            "sqlite" => Database::Sqlite,
            "mariadb" => Database::MariaDb(
                std::env::var("PAYMENTS_BENCH_DATABASE_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into()),
            ),
            other => panic!("DATABASE is mariadb or sqlite, not {other}"),
        };
        let database = payments_testkit::provision(&database)
            .await
            .expect("a bench database");
        let toss_url = payments_testkit::serve(toss.router())
            .await
            .expect("a port");
        let directory = tempfile::tempdir().expect("a directory for the configuration");
        let config = directory.path().join("payments.toml");
        std::fs::write(&config, config_text(&database.url, &toss_url))
            .expect("the configuration is written");
        let (server, server_url) = spawn(&config).await;

        Bench {
            server_url,
            toss_url,
            toss_auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_KEY}:"))
            ),
            server,
            _toss: toss,
            _config: directory,
            database,
        }
    }

    /// The server process's id.
    pub fn server_pid(&self) -> Option<u32> {
        self.server.id()
    }

    /// The URL of the server's database.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    /// The CPU time the server process has used so far, user and system.
    pub fn server_cpu(&self) -> Duration {
        self.server.id().map_or(Duration::ZERO, cpu_time_of)
    }

    /// The CPU time the server process has used so far, user and system apart.
    pub fn server_usage(&self) -> Usage {
        self.server.id().map_or(Usage::default(), usage_of)
    }

    /// Stops the server and removes the database.
    pub async fn finish(mut self) {
        if let Some(pid) = self.server.id() {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.server.wait())
            .await
            .is_err()
        {
            let _ = self.server.kill().await;
        }
        self.database.release().await;
    }
}

/// A sandbox configuration on `database_url`, with the fake Toss as the default store's PG,
/// a fresh random storage key and pepper, and a relay allowed to deliver to loopback.
fn config_text(database_url: &str, toss_url: &str) -> String {
    let random = |n: usize| {
        let bytes: Vec<u8> = std::iter::repeat_with(|| uuid::Uuid::new_v4().into_bytes())
            .flatten()
            .take(n)
            .collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let toml_string = |s: &str| toml::Value::String(s.to_owned()).to_string();
    format!(
        r#"listen = "127.0.0.1:0"
database_url = {database_url}
migrate_on_start = true

[encryption]
key = {key}
iv = {iv}

[storage]
active_key = "bench"
password_pepper = {pepper}

[storage.keys]
bench = {storage_key}

[pg.toss.default]
base_url = {toss_url}
secret_key = {toss_key}

# The fake and the load generator post notifications from one address, far faster than
# a PG does: the benches measure the server, not its limit per address.
[pg.notifications]
per_second = 1000000
burst = 1000000

[relay]
signing_secrets = [{secret}]
allow_private = ["127.0.0.0/8", "::1/128"]
"#,
        database_url = toml_string(database_url),
        key = toml_string(payments_api::codec::SANDBOX_KEY),
        iv = toml_string(payments_api::codec::SANDBOX_IV),
        pepper = toml_string(&random(24)),
        storage_key = toml_string(&random(32)),
        toss_url = toml_string(toss_url),
        toss_key = toml_string(TOSS_KEY),
        secret = toml_string(SANDBOX_WEBHOOK_SECRET),
    )
}

/// Starts `payments-server serve` with `config`; answers the process and its URL, read
/// from the line it prints once it listens. Its log lines (warnings and worse unless
/// `RUST_LOG` says otherwise) go to this process's standard error.
async fn spawn(config: &Path) -> (Child, String) {
    let mut command = match std::env::var_os(CALLGRIND) {
        // Counting starts off; `Counting::start` switches it on for the reads.
        Some(directory) => {
            let mut valgrind = Command::new("valgrind");
            let out = Path::new(&directory).join("callgrind.out");
            valgrind
                .args(["--tool=callgrind", "--instr-atstart=no"])
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(SERVER);
            valgrind
        }
        None => Command::new(SERVER),
    };
    command
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--drain-seconds=0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    // Nothing of the environment but the log filter reaches the server's configuration.
    for (name, _) in std::env::vars() {
        if name.starts_with("PAYMENTS_") {
            command.env_remove(name);
        }
    }
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "warn");
    }
    let mut child = command.spawn().expect("the server binary starts");
    let stdout = child.stdout.take().expect("the server's standard output");
    let mut lines = BufReader::new(stdout).lines();
    let listening = async {
        while let Some(line) = lines.next_line().await.expect("the server's output") {
            if let Some(url) = line.strip_prefix("payments server listening on ") {
                return Some(url.trim().to_owned());
            }
        }
        None
    };
    // Under callgrind the server starts tens of times slower.
    let url = tokio::time::timeout(START_TIMEOUT * 10, listening)
        .await
        .expect("the server listens within a minute")
        .expect("the server listens (it exited; its error is above)");
    // Whatever else it prints is read and dropped, so a full pipe never stops it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// With this variable naming a directory, the server runs under `valgrind
/// --tool=callgrind` and the bench counts the instructions it executes for the reads: a
/// figure that, unlike CPU time, does not move with the machine's other load.
pub const CALLGRIND: &str = "PAYMENTS_BENCH_CALLGRIND";

/// The instructions the server executes from [`Counting::start`] to [`Counting::stop`],
/// when it runs under callgrind.
pub struct Counting {
    pid: u32,
    directory: std::path::PathBuf,
}

impl Counting {
    /// Switches callgrind's counting on, if the server runs under it.
    pub async fn start(bench: &Bench) -> Option<Counting> {
        let directory = std::env::var_os(CALLGRIND)?;
        let pid = bench.server_pid()?;
        callgrind_control(&["--instr=on", &pid.to_string()]).await;
        Some(Counting {
            pid,
            directory: directory.into(),
        })
    }

    /// Switches counting off and answers the instructions counted: the `totals:` line of
    /// the dump callgrind writes on request (`callgrind.out.N`; the one it writes at exit,
    /// `callgrind.out`, counts nothing since).
    pub async fn stop(self) -> Option<u64> {
        let pid = self.pid.to_string();
        callgrind_control(&["--instr=off", &pid]).await;
        callgrind_control(&["--dump", &pid]).await;
        std::fs::read_dir(&self.directory)
            .ok()?
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("callgrind.out.")
            })
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("totals:"))
                    .and_then(|n| n.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
            })
            .max()
    }
}

async fn callgrind_control(args: &[&str]) {
    let done = Command::new("callgrind_control")
        .args(args)
        .stdout(Stdio::null())
        .status()
        .await;
    if !matches!(done, Ok(status) if status.success()) {
        println!("callgrind_control {} failed: {done:?}", args.join(" "));
    }
}

/// A counter of MariaDB's, all sessions together (`SHOW GLOBAL STATUS`, e.g. `Bytes_sent`);
/// `None` on SQLite or when it cannot be read.
pub async fn global_status(url: &str, name: &str) -> Option<u64> {
    use sqlx::Connection as _;
    if !url.starts_with("mysql:") {
        return None;
    }
    // A name, never a pattern or anything else: SHOW takes no parameters.
    assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    let mut connection = sqlx::MySqlConnection::connect(url).await.ok()?;
    let show = format!("SHOW GLOBAL STATUS LIKE '{name}'");
    let (_, value): (String, String) = sqlx::query_as(sqlx::AssertSqlSafe(show))
        .fetch_one(&mut connection)
        .await
        .ok()?;
    value.parse().ok()
}

/// The CPU time process `pid` has used, user and system, from `/proc/PID/stat`.
pub fn cpu_time_of(pid: u32) -> Duration {
    let usage = usage_of(pid);
    usage.user + usage.system
}

/// The CPU time a process has used, in user space and in the kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub user: Duration,
    pub system: Duration,
}

impl std::ops::Sub for Usage {
    type Output = Usage;

    fn sub(self, before: Usage) -> Usage {
        Usage {
            user: self.user.saturating_sub(before.user),
            system: self.system.saturating_sub(before.system),
        }
    }
}

/// The CPU time process `pid` has used so far, from `/proc/PID/stat` (zero where it cannot
/// be read).
pub fn usage_of(pid: u32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are the 12th and 13th fields after the name, in clock ticks (USER_HZ,
    // 100 per second on every architecture Linux runs on).
    let ticks = |i: usize| {
        let ticks = fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        Duration::from_millis(ticks * 10)
    };
    Usage {
        user: ticks(11),
        system: ticks(12),
    }
}

/// The local database server's process (`mariadbd`, or `mysqld` on older installs), when
/// the database runs on this machine: its CPU time is then part of what a read costs.
pub fn database_pid() -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            matches!(name.trim(), "mariadbd" | "mysqld").then_some(pid)
        })
}

/// The machine's CPU time so far, busy and in all, summed over its cores (`/proc/stat`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Machine {
    pub busy: Duration,
    pub total: Duration,
}

impl Machine {
    pub fn now() -> Machine {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // cpu user nice system idle iowait irq softirq steal …, in clock ticks (USER_HZ).
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|v| v.parse().ok())
            .collect();
        let sum = |fields: &[usize]| {
            let ticks: u64 = fields.iter().filter_map(|&i| ticks.get(i)).sum();
            Duration::from_millis(ticks * 10)
        };
        Machine {
            busy: sum(&[0, 1, 2, 5, 6, 7]),
            total: sum(&[0, 1, 2, 3, 4, 5, 6, 7]),
        }
    }

    /// The share of the machine's CPU time that was busy since `before`.
    pub fn busy_since(&self, before: Machine) -> f64 {
        let total = self.total.saturating_sub(before.total).as_secs_f64();
        self.busy.saturating_sub(before.busy).as_secs_f64() / total.max(f64::EPSILON)
    }
}
