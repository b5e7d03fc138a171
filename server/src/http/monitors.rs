//! `/monitors/health`, `/monitors/ready`, `/monitors/performance`, `/monitors/system`, and
//! `/metrics` (the Prometheus text format).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use payments_api::monitors::*;
use uuid::Uuid;

use super::{AppState, Asked, Reply, encrypted};

/// Process-wide counters and identity.
#[derive(Debug)]
pub struct Monitor {
    uid: Uuid,
    started: DateTime<Utc>,
    started_instant: std::time::Instant,
    total: AtomicU64,
    in_flight: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    /// Set when the server stops accepting connections (a reload or a stop): every answer
    /// then asks its client to close the connection, so that clients move to the listener's
    /// next owner cleanly instead of finding a kept-alive connection closed under them.
    draining: AtomicBool,
}

impl Monitor {
    /// From now on, every HTTP/1 answer closes its connection.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
}

impl Default for Monitor {
    fn default() -> Self {
        Self {
            uid: Uuid::new_v4(),
            started: Utc::now(),
            started_instant: std::time::Instant::now(),
            total: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            client_errors: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            draining: AtomicBool::new(false),
        }
    }
}

/// Counts requests by outcome, and those in flight; records each in the metrics by route,
/// method and status; while draining, closes the connection after the answer.
pub async fn count(State(monitor): State<Arc<Monitor>>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    // The route as declared, not as asked for: a bounded set of label values (a shared
    // string, not copied).
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = known_method(request.method());
    let http1 = request.version() <= Version::HTTP_11;
    monitor.in_flight.fetch_add(1, Ordering::SeqCst);
    let mut response = InFlight {
        monitor: monitor.clone(),
        request: Box::pin(next.run(request)),
    }
    .await;
    monitor.total.fetch_add(1, Ordering::Relaxed);
    if response.status().is_client_error() {
        monitor.client_errors.fetch_add(1, Ordering::Relaxed);
    } else if response.status().is_server_error() {
        monitor.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    crate::metrics::request(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    // HTTP/2 has no such header; its connections are closed by the graceful shutdown's
    // GOAWAY, which tells the client which requests were served.
    if http1 && monitor.draining.load(Ordering::SeqCst) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The method as a metrics label: the standard ones by name, any other as `other`.
fn known_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A request being handled: counted in flight until it completes or is dropped (a client
/// that hangs up makes the server drop its request mid-way).
struct InFlight<F> {
    monitor: Arc<Monitor>,
    request: Pin<Box<F>>,
}

impl<F: Future> Future for InFlight<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.request.as_mut().poll(cx)
    }
}

impl<F> Drop for InFlight<F> {
    /// Runs before the request itself is dropped: once anything the request held is
    /// released, it no longer counts.
    fn drop(&mut self) {
        self.monitor.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `/monitors/health`: an empty 200 while the server runs.
pub async fn health() -> StatusCode {
    StatusCode::OK
}

/// `/monitors/ready`: an empty 200 while the server can serve requests (its database
/// answers), else 503 `database_unavailable` with `Retry-After`: for orchestrators, which
/// send traffic only to ready instances, while `/monitors/health` says the process lives.
pub async fn ready(axum::extract::State(s): axum::extract::State<AppState>) -> Reply {
    s.records.ready().await?;
    Ok(StatusCode::OK.into_response())
}

/// `/metrics`: the server's figures in the Prometheus text format (version 0.0.4).
pub async fn metrics(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    let text = crate::metrics::render(&s.db, s.clock.now_ms()).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// `/monitors/performance`: CPU, memory, uptime and request counts.
pub async fn performance(
    axum::extract::State(s): axum::extract::State<AppState>,
    Asked(scheme): Asked,
) -> Reply {
    let m = &s.monitor;
    let (user, system) = cpu_micros();
    let (rss, virtual_size) = memory_bytes();
    let value = Performance {
        cpu: CpuUsage { user, system },
        memory: MemoryUsage { rss, virtual_size },
        uptime: m.started_instant.elapsed().as_secs_f64(),
        requests: RequestCounts {
            total: m.total.load(Ordering::Relaxed),
            in_flight: m.in_flight.load(Ordering::SeqCst),
            client_errors: m.client_errors.load(Ordering::Relaxed),
            server_errors: m.server_errors.load(Ordering::Relaxed),
        },
    };
    Ok(encrypted(&s.codec, scheme, StatusCode::OK, &value))
}

/// `/monitors/system`: the program's name, version, commit and start time.
pub async fn system(
    axum::extract::State(s): axum::extract::State<AppState>,
    Asked(scheme): Asked,
) -> Reply {
    let commit = option_env!("PAYMENTS_BUILD_COMMIT").map(|hash| Commit {
        hash: hash.to_owned(),
        branch: option_env!("PAYMENTS_BUILD_BRANCH").map(str::to_owned),
        subject: option_env!("PAYMENTS_BUILD_SUBJECT").map(str::to_owned),
        committed_at: option_env!("PAYMENTS_BUILD_COMMITTED_AT")
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|t| DateTime::from_timestamp(t, 0)),
    });
    let value = System {
        uid: s.monitor.uid,
        // The program's name only: arguments can carry secrets (a database URL with its
        // password), and the monitors need no authentication.
        arguments: std::env::args()
            .take(1)
            .map(|program| {
                std::path::Path::new(&program)
                    .file_name()
                    .map_or(program.clone(), |name| name.to_string_lossy().into_owned())
            })
            .collect(),
        package: Package {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        commit,
        created_at: s.monitor.started,
    };
    Ok(encrypted(&s.codec, scheme, StatusCode::OK, &value))
}

/// User and system CPU time of this process in µs, from `/proc` (zero where it is absent).
fn cpu_micros() -> (u64, u64) {
    // Fields 14 and 15 of /proc/self/stat, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) * 10_000, ticks(12) * 10_000)
}

/// Resident and virtual memory of this process in bytes, from `/proc`.
fn memory_bytes() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (kib("VmRSS:"), kib("VmSize:"))
}
