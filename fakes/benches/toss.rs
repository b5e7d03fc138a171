//! Throughput of the fake Toss over loopback HTTP: payment lookup and key-in.
//!
//! `cargo bench -p payments-fakes --bench toss [-- SECONDS [CONNECTIONS]]`
//!
//! The fake and the load generator share the machine, as they do in a test suite: the
//! figures are what a test run on the same machine can get out of the fake.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use hyper::Request;
use hyper_util::rt::TokioIo;
use payments_fakes::toss::{FakeToss, TossConfig};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str = "test_sk_bench_merchant_0001";

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let connections: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(Duration::from_secs(seconds), connections));
}

async fn run(duration: Duration, connections: usize) {
    let fake = FakeToss::new(TossConfig::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address").to_string();
    tokio::spawn(payments_fakes::serve::serve(
        listener,
        fake.router(),
        std::future::pending(),
        Duration::from_secs(1),
    ));
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"))
    );
    let mut setup = Connection::open(&address, &auth).await;
    let created = setup
        .send("POST", "/v1/payments/key-in", Some(key_in("bench-seed")))
        .await;
    let payment: serde_json::Value = serde_json::from_slice(&created).expect("a payment");
    let lookup = format!(
        "/v1/payments/{}",
        payment["paymentKey"].as_str().expect("a key")
    );

    println!(
        "fake Toss, {connections} keep-alive connections, {} s per scenario, {} cores",
        duration.as_secs(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    report(
        "GET  /v1/payments/{paymentKey}",
        drive(&address, &auth, connections, duration, {
            let lookup = lookup.clone();
            move |_| ("GET", lookup.clone(), None)
        })
        .await,
    );
    report(
        "POST /v1/payments/key-in",
        drive(&address, &auth, connections, duration, |n| {
            (
                "POST",
                "/v1/payments/key-in".to_owned(),
                Some(key_in(&format!("bench-{n}"))),
            )
        })
        .await,
    );
}

fn key_in(order_id: &str) -> String {
    serde_json::json!({
        "method": "card",
        "cardNumber": "4330123412341234",
        "cardExpirationYear": "49",
        "cardExpirationMonth": "12",
        "amount": 15000,
        "orderId": order_id,
        "orderName": "bench",
    })
    .to_string()
}

struct Outcome {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn drive(
    address: &str,
    auth: &str,
    connections: usize,
    duration: Duration,
    make: impl Fn(u64) -> (&'static str, String, Option<String>) + Send + Sync + 'static,
) -> Outcome {
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (make, stop) = (make.clone(), stop.clone());
        let mut connection = Connection::open(address, auth).await;
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
    Outcome {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

fn report(name: &str, mut outcome: Outcome) {
    outcome.latencies.sort();
    let at = |q: f64| {
        let i = ((outcome.latencies.len() as f64 * q) as usize).min(outcome.latencies.len() - 1);
        outcome.latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "{name:<34} {:>9.0} requests/s   p50 {:.2} ms   p99 {:.2} ms   ({} requests)",
        outcome.requests as f64 / outcome.elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
        outcome.requests
    );
}

struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Body>,
    auth: String,
    host: String,
}

impl Connection {
    async fn open(address: &str, auth: &str) -> Self {
        let stream = TcpStream::connect(address).await.expect("the fake accepts");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("an HTTP/1 connection");
        tokio::spawn(connection);
        Self {
            sender,
            auth: auth.to_owned(),
            host: address.to_owned(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, body: Option<String>) -> axum::body::Bytes {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("a request");
        self.sender.ready().await.expect("the connection is ready");
        let response = self.sender.send_request(request).await.expect("an answer");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        assert!(
            status.is_success(),
            "{status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        bytes
    }
}
