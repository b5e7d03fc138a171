//! A small HTTP/1 load generator shared by the fakes' benchmarks: keep-alive connections,
//! each sending its next request as soon as the previous answer is read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use http_body_util::BodyExt as _;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub struct Outcome {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

pub async fn drive(
    address: &str,
    headers: &[(&str, &str)],
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
    Outcome {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

pub fn report(name: &str, mut outcome: Outcome) {
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

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> axum::body::Bytes {
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
