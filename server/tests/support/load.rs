//! `payments-server` processes that replace themselves (`payments-server reload`), and a
//! steady load of reads and writes against them that counts every failure; shared by the
//! reload tests and the reload benchmark.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::payments::*;
use serde_json::json;

pub const TOSS_KEY: &str = "test_sk_reload_suite_0000000";
pub const PASSWORD: &str = "reload-suite-password";
pub const SIGNING_SECRET: &str = "whsec_cmVsb2FkLXN1aXRlLXNlY3JldA==";
pub const PEPPER: &str = "a-pepper-for-the-reload-suite";
pub const STORAGE_KEY: &str = "CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=";
/// The relay's poll interval in these runs.
pub const POLL_MS: u64 = 1000;

/// Every secret the configuration holds, and the records' password: none may appear in a
/// log.
pub fn secrets() -> Vec<&'static str> {
    vec![
        SANDBOX_KEY,
        SANDBOX_IV,
        PASSWORD,
        PEPPER,
        STORAGE_KEY,
        TOSS_KEY,
        SIGNING_SECRET,
        // The signing secret's key, as it is once decoded from Base64.
        "reload-suite-secret",
    ]
}

/// The configuration file of the servers of a run.
pub fn write_config(dir: &Path, database_url: &str, toss_url: &str) -> PathBuf {
    let config = format!(
        r#"
listen = "127.0.0.1:0"
database_url = "{database_url}"

[encryption]
key = "{SANDBOX_KEY}"
iv = "{SANDBOX_IV}"

[storage]
active_key = "k1"
password_pepper = "{PEPPER}"

[storage.keys]
k1 = "{STORAGE_KEY}"

[pg.toss.default]
base_url = "{toss_url}"
secret_key = "{TOSS_KEY}"

[relay]
signing_secrets = ["{SIGNING_SECRET}"]
poll_interval_ms = {POLL_MS}
timeout_seconds = 5
allow_private = ["127.0.0.0/8"]
"#
    );
    let path = dir.join("payments.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// One server instance: a process that replaces itself on reload, known by its pid file;
/// its standard output and error go to files in its directory (its successors append).
pub struct Instance {
    pub dir: PathBuf,
    pub pid_file: PathBuf,
    pub url: String,
    /// The first process, ours to reap; its successors are not our children.
    first: Option<Child>,
}

impl Instance {
    /// Starts `payments-server serve` with `config`, its files in `dir`, listening on
    /// `listen` (with `SO_REUSEPORT` if `reuse_port`).
    pub fn start(dir: &Path, config: &Path, listen: &str, reuse_port: bool) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let pid_file = dir.join("server.pid");
        let stdout = append(&dir.join("stdout.log"));
        let stderr = append(&dir.join("stderr.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_payments-server"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PAYMENTS_") || name.starts_with("LISTEN_") {
                command.env_remove(name);
            }
        }
        command
            .args(["--log-format", "json", "serve", "--config"])
            .arg(config)
            .arg("--pid-file")
            .arg(&pid_file)
            .args(["--drain-seconds", "5"])
            .env("PAYMENTS_LISTEN", listen)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        if reuse_port {
            command.arg("--reuse-port");
        }
        let first = command.spawn().unwrap();
        let mut instance = Self {
            dir: dir.to_owned(),
            pid_file,
            url: String::new(),
            first: Some(first),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = std::fs::read_to_string(dir.join("stdout.log")).unwrap_or_default();
            if let Some(address) = out
                .lines()
                .find_map(|l| l.strip_prefix("payments server listening on "))
            {
                instance.url = address.trim().to_owned();
                if instance.pid().is_some() {
                    return instance;
                }
            }
            if let Some(status) = instance.first.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the server exited at start ({status}): {}",
                    instance.stderr()
                );
            }
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process serving now, from the pid file.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `payments-server reload`: its success, or its error message.
    pub fn reload(&mut self) -> Result<String, String> {
        let out = Command::new(env!("CARGO_BIN_EXE_payments-server"))
            .arg("reload")
            .arg("--pid-file")
            .arg(&self.pid_file)
            .output()
            .unwrap();
        self.reap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// Stops the serving process with SIGTERM and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(30);
            while alive(pid) {
                self.reap();
                assert!(Instant::now() < deadline, "process {pid} did not stop");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if let Some(mut first) = self.first.take() {
            let _ = first.kill();
            let _ = first.wait();
        }
    }

    /// Waits for the processes replaced so far to be gone (each drains, then exits).
    pub fn wait_replaced(&mut self, pids: &[u32]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for &pid in pids {
            while alive(pid) {
                self.reap();
                assert!(Instant::now() < deadline, "process {pid} did not exit");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    fn reap(&mut self) {
        if let Some(first) = self.first.as_mut()
            && first.try_wait().ok().flatten().is_some()
        {
            self.first = None;
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(pid) = self.pid()
            && alive(pid)
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        if let Some(mut first) = self.first.take() {
            let _ = first.kill();
            let _ = first.wait();
        }
    }
}

fn append(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// Whether process `pid` runs (a zombie, exited but not reaped by its new parent, does not).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// What a load saw.
#[derive(Debug, Default)]
pub struct Counts {
    pub reads: usize,
    pub writes: usize,
    /// Answers with an error status.
    pub failed: usize,
    /// Requests that got no answer (refused, reset, closed).
    pub connection_errors: usize,
    /// The first few failures, to show.
    pub errors: Vec<String>,
    /// Each request's latency, with when it started (since the load began).
    pub latencies: Vec<(Duration, Duration)>,
    /// Each cancel answered: its order id and when its answer came.
    pub cancels: Vec<(String, chrono::DateTime<chrono::Utc>)>,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.reads += other.reads;
        self.writes += other.writes;
        self.failed += other.failed;
        self.connection_errors += other.connection_errors;
        self.errors.extend(other.errors);
        self.errors.truncate(10);
        self.latencies.extend(other.latencies);
        self.cancels.extend(other.cancels);
    }
}

/// A steady load: readers reading one payment over and over, writers each storing a
/// payment (confirmed at the fake Toss) and cancelling part of it (a client event), one
/// after the other, over keep-alive connections.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Counts>>,
    pub started: Instant,
}

/// A payment at the fake Toss, waiting to be stored: its order id and paymentKey.
async fn toss_payment(http: &reqwest::Client, toss_url: &str, order: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_KEY}:"));
    let response = http
        .post(format!("{toss_url}/v1/payments/key-in"))
        .header("authorization", format!("Basic {auth}"))
        .json(&json!({"method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": 10000, "orderId": order, "orderName": "주문", "__approved": false}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let body: serde_json::Value = response.json().await.unwrap();
    body["paymentKey"].as_str().unwrap().to_owned()
}

fn source(order: &str) -> PaymentSource {
    PaymentSource {
        schema: "shop".into(),
        table: "orders".into(),
        id: order.to_owned(),
    }
}

/// Stores a payment through `client`; answers its order id.
pub async fn store_payment(
    client: &PaymentsClient,
    http: &reqwest::Client,
    toss_url: &str,
    webhook_url: &str,
    order: &str,
) -> Result<(), payments_api::client::ClientError> {
    let key = toss_payment(http, toss_url, order).await;
    client
        .create_history(&PaymentHistoryCreate {
            vendor: PaymentVendor {
                code: VendorCode::TossPayments,
                store_id: "default".into(),
                uid: key,
            },
            source: source(order),
            webhook_url: webhook_url.to_owned(),
            price: 10000.0,
            password: PASSWORD.into(),
        })
        .await
        .map(drop)
}

/// Stores a payment and cancels part of it (a client event), both of which must succeed.
pub async fn store_and_cancel(
    client: &PaymentsClient,
    toss_url: &str,
    webhook_url: &str,
    order: &str,
) {
    let http = reqwest::Client::new();
    store_payment(client, &http, toss_url, webhook_url, order)
        .await
        .unwrap();
    client
        .cancel_history(&PaymentCancelCreate {
            source: source(order),
            password: PASSWORD.into(),
            price: 1000.0,
            reason: "부분 취소".into(),
            account: None,
        })
        .await
        .unwrap();
}

impl Load {
    /// Starts `readers` readers and `writers` writers against `server_url`.
    pub async fn start(
        server_url: &str,
        toss_url: &str,
        webhook_url: &str,
        readers: usize,
        writers: usize,
    ) -> Self {
        let client = PaymentsClient::new(server_url, SANDBOX_KEY, SANDBOX_IV).unwrap();
        let http = reqwest::Client::new();
        let read_order = format!("reload-read-{}", uuid::Uuid::new_v4().simple());
        store_payment(&client, &http, toss_url, webhook_url, &read_order)
            .await
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let sequence = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..readers {
            let (client, stop, order) = (client.clone(), stop.clone(), read_order.clone());
            tasks.push(tokio::spawn(async move {
                let mut counts = Counts::default();
                let accessor = PaymentSourceAccessor {
                    source: source(&order),
                    password: PASSWORD.into(),
                };
                while !stop.load(Ordering::SeqCst) {
                    let at = Instant::now();
                    let outcome = client.history_by_source(&accessor).await;
                    counts.latencies.push((at - started, at.elapsed()));
                    match outcome {
                        Ok(_) => counts.reads += 1,
                        Err(e) => failure(&mut counts, e),
                    }
                }
                counts
            }));
        }
        for _ in 0..writers {
            let (client, stop, sequence) = (client.clone(), stop.clone(), sequence.clone());
            let (http, toss_url, webhook_url) =
                (http.clone(), toss_url.to_owned(), webhook_url.to_owned());
            let run = uuid::Uuid::new_v4().simple().to_string();
            tasks.push(tokio::spawn(async move {
                let mut counts = Counts::default();
                while !stop.load(Ordering::SeqCst) {
                    let n = sequence.fetch_add(1, Ordering::SeqCst);
                    let order = format!("reload-write-{run}-{n}");
                    let at = Instant::now();
                    let stored =
                        store_payment(&client, &http, &toss_url, &webhook_url, &order).await;
                    counts.latencies.push((at - started, at.elapsed()));
                    if let Err(e) = stored {
                        failure(&mut counts, e);
                        continue;
                    }
                    counts.writes += 1;
                    let at = Instant::now();
                    let cancelled = client
                        .cancel_history(&PaymentCancelCreate {
                            source: source(&order),
                            password: PASSWORD.into(),
                            price: 1000.0,
                            reason: "부분 취소".into(),
                            account: None,
                        })
                        .await;
                    counts.latencies.push((at - started, at.elapsed()));
                    match cancelled {
                        Ok(_) => {
                            counts.writes += 1;
                            counts.cancels.push((order, chrono::Utc::now()));
                        }
                        Err(e) => failure(&mut counts, e),
                    }
                }
                counts
            }));
        }
        Self {
            stop,
            tasks,
            started,
        }
    }

    /// Stops the load and adds up what every task saw.
    pub async fn finish(self) -> Counts {
        self.stop.store(true, Ordering::SeqCst);
        let mut total = Counts::default();
        for task in self.tasks {
            total.add(task.await.unwrap());
        }
        total
    }
}

fn failure(counts: &mut Counts, error: payments_api::client::ClientError) {
    if error.status().is_some() {
        counts.failed += 1;
    } else {
        counts.connection_errors += 1;
    }
    if counts.errors.len() < 10 {
        counts.errors.push(error.to_string());
    }
}

/// The client events the inbox accepted, as [`events_by_order`] answers them.
pub struct Seen {
    /// Per order id, the ids of its events.
    pub by_order: std::collections::BTreeMap<String, Vec<String>>,
    /// When each event first arrived.
    pub first: std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>>,
    /// How many deliveries repeated an event that had arrived.
    pub duplicates: usize,
}

/// The client events the inbox accepted, by order id.
pub fn events_by_order(inbox: &payments_testkit::Inbox) -> Seen {
    let mut by_order = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut first = std::collections::BTreeMap::new();
    let mut duplicates = 0;
    for delivery in inbox.deliveries(0) {
        if !(delivery.accepted() && delivery.signature_valid) {
            continue;
        }
        let Some(event) = delivery.event else {
            continue;
        };
        if first.contains_key(&delivery.id) {
            duplicates += 1;
            continue;
        }
        first.insert(delivery.id.clone(), delivery.received_at);
        by_order
            .entry(event.source.id.clone())
            .or_default()
            .push(delivery.id);
    }
    Seen {
        by_order,
        first,
        duplicates,
    }
}

/// The value at quantile `q` of `values` (sorted here).
pub fn quantile(values: &mut [Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index]
}
