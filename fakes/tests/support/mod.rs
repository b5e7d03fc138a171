//! Helpers of the fakes' integration tests: a fake on a loopback port, a client for it, and
//! a webhook receiver standing in for a merchant's server.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

/// Serves `router` on a fresh loopback port; returns its base URL.
pub async fn spawn(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(payments_fakes::serve::serve(
        listener,
        router,
        std::future::pending(),
        Duration::from_secs(1),
    ));
    url
}

pub fn client() -> reqwest::Client {
    payments_fakes::tls::install_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `Basic base64(key + ":")`.
pub fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// A client of one fake, authenticated as one merchant.
#[derive(Clone)]
pub struct Api {
    pub url: String,
    pub http: reqwest::Client,
    pub auth: Option<String>,
}

/// A response: status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// Asserts a Toss error and returns its code.
    pub fn error(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        self.body["code"].as_str().expect("an error code")
    }

    pub fn ok(&self) -> &Value {
        assert!(
            (200..300).contains(&self.status),
            "{} {}",
            self.status,
            self.body
        );
        &self.body
    }
}

impl Api {
    pub fn new(url: &str, key: Option<&str>) -> Self {
        Self {
            url: url.to_owned(),
            http: client(),
            auth: key.map(basic),
        }
    }

    pub fn as_merchant(&self, key: &str) -> Self {
        Self {
            auth: Some(basic(key)),
            ..self.clone()
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(auth) = &self.auth {
            request = request.header("authorization", auth);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the fake answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer { status, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body), &[])
            .await
    }

    pub async fn put(&self, path: &str, body: Option<Value>) -> Answer {
        self.send(reqwest::Method::PUT, path, body, &[]).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, None, &[]).await
    }
}

type Event = (HeaderMap, Value);
type ReceiverState = (mpsc::UnboundedSender<Event>, Arc<AtomicU16>);

/// A merchant's webhook endpoint: records what arrives, answers with a settable status.
pub struct Receiver {
    pub url: String,
    status: Arc<AtomicU16>,
    events: Mutex<mpsc::UnboundedReceiver<(HeaderMap, Value)>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(200));
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State((tx, status)): State<ReceiverState>,
                     headers: HeaderMap,
                     body: String| async move {
                        let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
                        let _ = tx.send((headers, value));
                        StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
                    },
                ),
            )
            .with_state((tx, status.clone()));
        let url = format!("{}/hook", spawn(app).await);
        Self {
            url,
            status,
            events: Mutex::new(rx),
        }
    }

    /// Makes the receiver answer every later delivery with `status`.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// The next webhook, or panics after `timeout`.
    pub async fn next(&self, timeout: Duration) -> (HeaderMap, Value) {
        tokio::time::timeout(timeout, self.events.lock().await.recv())
            .await
            .expect("a webhook arrives in time")
            .expect("the receiver is open")
    }

    /// A webhook already received, if any (no waiting).
    pub async fn try_next(&self) -> Option<(HeaderMap, Value)> {
        self.events.lock().await.try_recv().ok()
    }
}
