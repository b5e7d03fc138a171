//! What the fakes' benchmarks share: an HTTP/1 load generator over keep-alive connections
//! (each sends its next request as soon as the previous answer is read), the figures it
//! prints, the process's resident memory, and the machine's `sysbench cpu` score printed
//! beside them, since absolute figures mean little without the speed of the machine.
//!
//! The webhook endpoint that answers stands for the merchant's server, which runs
//! elsewhere in real use: it is a child process (this bench's binary again, started by
//! [`receiver`]), so the CPU time printed per request is the fake's and the load
//! generator's, and the receiver's is printed beside it.

#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use http_body_util::BodyExt as _;
use hyper::Request;
use hyper_util::rt::TokioIo;
use payments_fakes::Fake;
use payments_fakes::delivery::Dispatcher;
use tokio::net::{TcpListener, TcpStream};

/// The allocator of the harness binary, which runs the fakes in `harness serve` and
/// `harness fake`, so that the figures are those of the fakes as users run them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Set in the environment of the child process that [`receiver`] starts.
const RECEIVER_CHILD: &str = "PAYMENTS_BENCH_WEBHOOK_RECEIVER";

/// Whether [`main`] runs this process, so that [`receiver`] may start this binary again as
/// its child (a bench with a `main` of its own gets an in-process receiver).
static CHILD_RECEIVER: AtomicBool = AtomicBool::new(false);

/// The receiver's child process, once started.
static RECEIVER: OnceLock<Mutex<Child>> = OnceLock::new();

/// A bench's `main`: runs `run` with the arguments given after `--`, on a runtime with a
/// worker per core, as the fakes run in the harness. Started as the webhook receiver's
/// child, it is the receiver instead.
pub fn main<F: Future<Output = ()>>(run: impl FnOnce(Args) -> F) {
    if std::env::var_os(RECEIVER_CHILD).is_some() {
        return receiver_child();
    }
    CHILD_RECEIVER.store(true, Ordering::Relaxed);
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(args));
}

/// Serves `fake` on a loopback port; answers it with the target of requests that carry
/// `headers` over the connections `args` asks for.
pub async fn start<F: Fake>(fake: F, headers: &[(&str, &str)], args: &Args) -> (F, Target) {
    let address = serve(fake.router()).await;
    let mut target = Target::new(&address, headers, args.connections);
    target.webhooks = Some(fake.core().webhooks.clone());
    (fake, target)
}

/// The arguments every fake's bench takes: `[REQUESTS [CONNECTIONS]]` after `--`.
pub struct Args {
    /// Requests per scenario.
    pub requests: usize,
    /// Keep-alive connections sending them.
    pub connections: usize,
}

impl Args {
    pub fn parse() -> Self {
        let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
        Self {
            requests: args.next().and_then(|s| s.parse().ok()).unwrap_or(40_000),
            connections: args.next().and_then(|s| s.parse().ok()).unwrap_or(64),
        }
    }
}

/// One request of a scenario.
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
}

impl Call {
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: "GET",
            path: path.into(),
            body: None,
        }
    }

    pub fn post(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::with("POST", path, body)
    }

    pub fn with(method: &'static str, path: impl Into<String>, body: serde_json::Value) -> Self {
        Self {
            method,
            path: path.into(),
            body: Some(body.to_string()),
        }
    }
}

/// What a scenario measured, and what its answers held when asked to keep something.
pub struct Outcome {
    pub requests: usize,
    pub elapsed: Duration,
    /// CPU time the whole process (fake and load generator) spent meanwhile, until the
    /// webhooks the scenario queued had their first attempt.
    pub cpu: Duration,
    /// CPU time the webhook receiver's process spent meanwhile.
    pub receiver_cpu: Duration,
    /// How long after the last answer the fake's webhook queue took to empty.
    pub drain: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
    pub errors: usize,
    pub first_error: Option<String>,
    /// What `keep` took out of each answer, by request number.
    pub kept: Vec<Option<String>>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1);
        self.latencies[i].as_secs_f64() * 1000.0
    }

    /// The kept values, all of which must be there.
    pub fn kept(&self) -> Vec<String> {
        self.kept
            .iter()
            .map(|k| k.clone().expect("every answer held what the bench keeps"))
            .collect()
    }
}

/// A fake under load: its address and the headers every request carries.
#[derive(Clone)]
pub struct Target {
    pub address: String,
    pub headers: Vec<(String, String)>,
    pub connections: usize,
    /// The fake's webhook queue: a scenario ends once it is empty, so that no scenario
    /// pays for the webhooks of the one before.
    pub webhooks: Option<Arc<Dispatcher>>,
}

impl Target {
    pub fn new(address: &str, headers: &[(&str, &str)], connections: usize) -> Self {
        Self {
            address: address.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            connections,
            webhooks: None,
        }
    }

    /// One more connection to the fake.
    pub async fn connect(&self) -> Connection {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Connection::open(&self.address, &headers).await
    }

    /// Sends `count` requests made by `make(i)` over the connections and measures them;
    /// `keep` takes something out of each successful answer (a key for a later scenario).
    /// As a load generator such as wrk does, the requests are made before the clock starts
    /// and the kept answers read after it stops, so that the figures count the fake's work
    /// and the exchanges, not the building of JSON bodies and the parsing of answers.
    pub async fn run(
        &self,
        count: usize,
        make: impl Fn(usize) -> Call + Send + Sync + 'static,
        keep: Option<fn(&serde_json::Value) -> Option<String>>,
    ) -> Outcome {
        self.run_calls(calls(count, make), keep).await
    }

    /// Sends `calls` as [`Self::run`] does.
    pub async fn run_calls(
        &self,
        calls: Arc<Vec<Call>>,
        keep: Option<fn(&serde_json::Value) -> Option<String>>,
    ) -> Outcome {
        let count = calls.len();
        let next = Arc::new(AtomicUsize::new(0));
        let mut connections = Vec::new();
        for _ in 0..self.connections.min(count.max(1)) {
            connections.push(self.connect().await);
        }
        let started = Instant::now();
        let cpu = cpu_time();
        let receiver_cpu = receiver_cpu_time();
        let mut tasks = Vec::new();
        for mut connection in connections {
            let (calls, next) = (calls.clone(), next.clone());
            let keeping = keep.is_some();
            tasks.push(tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let call = &calls[i];
                    let sent = Instant::now();
                    let (status, body) = connection
                        .exchange(call.method, &call.path, call.body.clone())
                        .await;
                    let latency = sent.elapsed();
                    let answer = if (200..300).contains(&status) {
                        Ok(keeping.then_some(body))
                    } else {
                        Err(format!(
                            "{} {} → {status}: {}",
                            call.method,
                            call.path,
                            String::from_utf8_lossy(&body)
                        ))
                    };
                    done.push((i, latency, answer));
                }
                done
            }));
        }
        let mut outcome = Outcome {
            requests: 0,
            elapsed: Duration::ZERO,
            cpu: Duration::ZERO,
            receiver_cpu: Duration::ZERO,
            drain: Duration::ZERO,
            latencies: Vec::with_capacity(count),
            errors: 0,
            first_error: None,
            kept: vec![None; count],
        };
        let mut answers = Vec::new();
        for task in tasks {
            for (i, latency, answer) in task.await.expect("a load task") {
                outcome.latencies.push(latency);
                match answer {
                    Ok(Some(body)) => answers.push((i, body)),
                    Ok(None) => {}
                    Err(error) => {
                        outcome.errors += 1;
                        outcome.first_error.get_or_insert(error);
                    }
                }
            }
        }
        outcome.elapsed = started.elapsed();
        if let Some(webhooks) = &self.webhooks {
            while webhooks.waiting() > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            outcome.drain = started.elapsed().saturating_sub(outcome.elapsed);
        }
        outcome.cpu = cpu_time().saturating_sub(cpu);
        outcome.receiver_cpu = receiver_cpu_time().saturating_sub(receiver_cpu);
        if let Some(keep) = keep {
            for (i, body) in answers {
                outcome.kept[i] = serde_json::from_slice(&body).ok().and_then(|v| keep(&v));
            }
        }
        outcome.requests = outcome.latencies.len();
        outcome.latencies.sort();
        outcome
    }
}

/// The requests `make(i)` makes for `i` in `0..count`.
pub fn calls(count: usize, make: impl Fn(usize) -> Call) -> Arc<Vec<Call>> {
    Arc::new((0..count).map(make).collect())
}

/// Sends requests made by `make(n)` over `connections` for `duration`, each connection
/// numbering its requests from its own range; every answer must be a success.
pub async fn drive(
    address: &str,
    headers: &[(&str, &str)],
    connections: usize,
    duration: Duration,
    make: impl Fn(u64) -> (&'static str, String, Option<String>) + Send + Sync + 'static,
) -> Outcome {
    let make = Arc::new(make);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let cpu = cpu_time();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (make, stop) = (make.clone(), stop.clone());
        let mut connection = Connection::open(address, headers).await;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = c as u64 * 1_000_000_000;
            while !stop.load(Ordering::Relaxed) {
                let (method, path, body) = make(n);
                n += 1;
                let sent = Instant::now();
                connection.send(method, &path, body).await;
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a load task"));
    }
    latencies.sort();
    Outcome {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        cpu: cpu_time().saturating_sub(cpu),
        receiver_cpu: Duration::ZERO,
        drain: Duration::ZERO,
        latencies,
        errors: 0,
        first_error: None,
        kept: Vec::new(),
    }
}

/// Prints one line of figures; returns the outcome for what follows.
pub fn report(name: &str, outcome: Outcome) -> Outcome {
    let errors = match (&outcome.first_error, outcome.errors) {
        (None, _) => String::new(),
        (Some(first), n) => format!("   {n} errors, first: {first:.200}"),
    };
    let per_request = |d: Duration| d.as_secs_f64() * 1e6 / outcome.requests.max(1) as f64;
    let receiver = if outcome.receiver_cpu.is_zero() {
        String::new()
    } else {
        format!(" + {:.0} receiver", per_request(outcome.receiver_cpu))
    };
    // The queue is polled every millisecond: less than a few of them is no backlog.
    let drain = if outcome.drain > Duration::from_millis(5) {
        format!(
            ", webhooks {:.0} ms after",
            outcome.drain.as_secs_f64() * 1000.0
        )
    } else {
        String::new()
    };
    println!(
        "{name:<52} {:>7.0} req/s  p50 {:>5.2} ms  p99 {:>6.2} ms  {:>4.0}{receiver} µs CPU/req  ({} requests{drain}){errors}",
        outcome.rate(),
        outcome.quantile_ms(0.50),
        outcome.quantile_ms(0.99),
        per_request(outcome.cpu),
        outcome.requests,
    );
    outcome
}

/// One keep-alive HTTP/1 connection.
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Body>,
    headers: Vec<(String, String)>,
    host: String,
}

impl Connection {
    /// A keep-alive connection sending `headers` with every request.
    pub async fn open(address: &str, headers: &[(&str, &str)]) -> Self {
        let stream = TcpStream::connect(address).await.expect("the fake accepts");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("an HTTP/1 connection");
        tokio::spawn(connection);
        Self {
            sender,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            host: address.to_owned(),
        }
    }

    /// Sends one request that must succeed; answers its body.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> axum::body::Bytes {
        let (status, bytes) = self.exchange(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        bytes
    }

    /// Sends one request; answers its status and body.
    pub async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> (u16, axum::body::Bytes) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = request
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("a request");
        self.sender.ready().await.expect("the connection is ready");
        let response = self.sender.send_request(request).await.expect("an answer");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        (status, bytes)
    }

    /// Sends one request that must succeed; answers its JSON body.
    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let (status, bytes) = self
            .exchange(method, path, body.map(|b| b.to_string()))
            .await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} → {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON answer")
        }
    }
}

/// The CPU time this process has used, user and system, from `/proc/self/stat`.
pub fn cpu_time() -> Duration {
    process_cpu_time("/proc/self/stat")
}

/// The CPU time the webhook receiver's child process has used; zero without one.
pub fn receiver_cpu_time() -> Duration {
    RECEIVER
        .get()
        .map(|child| child.lock().unwrap_or_else(|e| e.into_inner()).id())
        .map_or(Duration::ZERO, |pid| {
            process_cpu_time(&format!("/proc/{pid}/stat"))
        })
}

/// The CPU time, user and system, of the process whose `stat` file is at `path`.
fn process_cpu_time(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are the 12th and 13th fields after the name, in clock ticks.
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |t| t.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    // Linux reports them in USER_HZ, 100 per second on every architecture it runs on.
    Duration::from_millis(ticks * 10)
}

/// The resident memory of this process, in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The machine's single-thread `sysbench cpu` score (events per second), measured now.
pub fn sysbench_cpu() -> String {
    let output = std::process::Command::new("sysbench")
        .args(["cpu", "--threads=1", "--time=5", "run"])
        .output();
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|l| l.trim().strip_prefix("events per second:"))
            .map(|s| format!("{} events/s", s.trim()))
            .unwrap_or_else(|| "unreadable".into()),
        _ => "not measured (sysbench is not installed)".into(),
    }
}

/// Prints the machine's figures a bench's own figures are read against.
pub fn machine(label: &str) {
    println!(
        "{label}: {} cores, sysbench cpu single-thread {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        sysbench_cpu()
    );
}

/// A webhook endpoint answering 200 to everything, as a merchant's server that is up: a
/// child process when [`main`] runs the bench (once, shared by every caller), else a task
/// of this process.
pub async fn receiver() -> String {
    if CHILD_RECEIVER.load(Ordering::Relaxed) {
        return child_receiver();
    }
    let app = axum::Router::new().fallback(|| async { "ok" });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The URL of the receiver's child process, started on the first call.
fn child_receiver() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let mut child = Command::new(std::env::current_exe().expect("this bench's binary"))
            .env(RECEIVER_CHILD, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the receiver starts");
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("its output"))
            .read_line(&mut url)
            .expect("the receiver prints its URL");
        // Its stdin stays open while this process lives: the child ends when it closes.
        let _ = RECEIVER.set(Mutex::new(child));
        url.trim().to_owned()
    })
    .clone()
}

/// The receiver's child process: on one thread, answers every request 200 with an empty
/// body over HTTP/1 keep-alive (the least a merchant's server can do), until its stdin
/// closes, which it does when the bench ends.
fn receiver_child() {
    use hyper::service::service_fn;
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        let mut out = std::io::stdout();
        writeln!(out, "{url}").expect("the URL is printed");
        out.flush().expect("the URL is printed");
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                TokioIo::new(stream),
                service_fn(
                    |request: hyper::Request<hyper::body::Incoming>| async move {
                        // Read to the end, so that the connection is kept for the next one.
                        let _ = request.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Empty::<axum::body::Bytes>::new(),
                        ))
                    },
                ),
            ));
        }
    });
}

/// A webhook URL nothing listens on: every attempt fails at once (connection refused).
pub async fn unreachable() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    drop(listener);
    url
}

/// Serves `router` on a loopback port; answers its address.
pub async fn serve(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address").to_string();
    tokio::spawn(payments_fakes::serve::serve(
        listener,
        router,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    address
}

/// How many refused requests fill a fake's journal (which is bounded) before its store is
/// measured.
pub const JOURNAL_FILL: usize = 12_000;

/// Fills the empty store of the fake at `target` to its `capacity`, reported as `label`,
/// and prints what one stored record costs in resident memory. [`JOURNAL_FILL`] requests
/// that `refused(i)` makes, each of which the fake must refuse, go first: they fill the
/// journal with entries like the ones that follow, so that the store is all that grows
/// while `stored(i)` makes the `capacity` requests that fill it.
pub async fn fill_to_capacity(
    target: &Target,
    capacity: usize,
    label: &str,
    refused: impl Fn(usize) -> Call + Send + Sync + 'static,
    stored: impl Fn(usize) -> Call + Send + Sync + 'static,
) {
    let refusals = target.run(JOURNAL_FILL, refused, None).await;
    assert_eq!(
        refusals.errors, JOURNAL_FILL,
        "the first requests are refused"
    );
    // Made before the empty store is measured, and kept until the full one is: the requests
    // are the load generator's, not the store's.
    let calls = calls(capacity, stored);
    let empty = rss_bytes();
    report(label, target.run_calls(calls.clone(), None).await);
    let full = rss_bytes();
    drop(calls);
    println!(
        "{:<52} {:>8.0} bytes of RSS per stored payment ({:.1} MB for {capacity})",
        "memory",
        (full.saturating_sub(empty)) as f64 / capacity as f64,
        (full.saturating_sub(empty)) as f64 / 1e6
    );
}
