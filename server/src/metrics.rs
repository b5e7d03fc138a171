//! `/metrics`: the server's figures in the Prometheus text format, through the `metrics`
//! facade and its Prometheus exporter.
//!
//! Counters and histograms are recorded where things happen (requests in `http`, PG calls
//! in `pg`, delivery attempts in `relay`); what is a state rather than an event (the
//! relay's queue, the connection pool) is read when `/metrics` is scraped. Labels take a
//! few known values only (routes as declared, never the path asked for), so the number
//! of series stays bounded whatever clients send.

use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db::Db;

/// Request and call latencies, in seconds: 1 ms to 30 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often the exporter's histograms are folded up when nobody scrapes, so that what
/// they hold between scrapes stays small.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's one recorder: the `metrics` facade has one global recorder, so every
/// server built in this process (tests build several) records into it.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Another recorder installed first (an embedding program's) keeps the figures;
        // `/metrics` then shows what this one has, which is the scrape-time gauges.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

/// Runs the exporter's upkeep for as long as it is polled: each serving server runs one.
pub async fn upkeep() {
    let handle = handle().clone();
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "payments_http_requests_total",
        "HTTP requests answered, by route, method and status"
    );
    describe_histogram!(
        "payments_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by route, method and status"
    );
    describe_histogram!(
        "payments_pg_call_duration_seconds",
        Unit::Seconds,
        "Time of one operation at a PG (token, retries and calls), by vendor, operation and outcome"
    );
    describe_counter!(
        "payments_pg_errors_total",
        "PG operations that failed, by vendor, operation and kind"
    );
    describe_counter!(
        "payments_relay_attempts_total",
        "Delivery attempts of client events, by outcome"
    );
    describe_histogram!(
        "payments_relay_attempt_duration_seconds",
        Unit::Seconds,
        "Time of one delivery attempt of a client event"
    );
    describe_gauge!(
        "payments_relay_pending_events",
        "Client events waiting for delivery (the relay's queue)"
    );
    describe_gauge!(
        "payments_relay_oldest_pending_age_seconds",
        Unit::Seconds,
        "Age of the oldest client event waiting for delivery; 0 when none waits"
    );
    describe_gauge!(
        "payments_db_pool_connections",
        "Database connections of this process, by state (idle, in_use) and the pool's maximum (max)"
    );
}

/// The series of one route, method and status: its counter and its histogram.
type RequestSeries = (metrics::Counter, metrics::Histogram);

/// Records one answered request.
pub fn request(route: &str, method: &'static str, status: u16, elapsed: Duration) {
    let (counter, histogram) = request_series(route, method, status);
    counter.increment(1);
    histogram.record(elapsed.as_secs_f64());
}

/// The series a request is recorded in, registered with the recorder the first time it is
/// answered and kept: registering builds the labels as strings and looks the key up in the
/// recorder's registry, which took more of a read than the rest of the middleware. Routes
/// are the declared ones, methods the known ones and statuses a few, so what is kept stays
/// small.
fn request_series(route: &str, method: &'static str, status: u16) -> RequestSeries {
    type Series = HashMap<String, HashMap<(&'static str, u16), RequestSeries>>;
    static SERIES: OnceLock<RwLock<Series>> = OnceLock::new();
    let series = SERIES.get_or_init(|| {
        // The recorder first: a handle registered before it is installed records nothing.
        handle();
        Default::default()
    });
    // A poisoned lock only means another request panicked while inserting; the map is
    // still whole (an insert either happened or did not).
    if let Some(found) = series
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(route)
        .and_then(|by_status| by_status.get(&(method, status)))
    {
        return found.clone();
    }
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_owned()),
        ("status", status.to_string()),
    ];
    let registered = (
        metrics::counter!("payments_http_requests_total", &labels),
        metrics::histogram!("payments_http_request_duration_seconds", &labels),
    );
    series
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(route.to_owned())
        .or_default()
        .insert((method, status), registered.clone());
    registered
}

/// Records one operation at a PG; `error` names the kind of failure, if it failed.
pub fn pg_call(
    vendor: &'static str,
    operation: &'static str,
    error: Option<&'static str>,
    elapsed: Duration,
) {
    let outcome = if error.is_some() { "error" } else { "ok" };
    metrics::histogram!(
        "payments_pg_call_duration_seconds",
        "vendor" => vendor, "operation" => operation, "outcome" => outcome
    )
    .record(elapsed.as_secs_f64());
    if let Some(kind) = error {
        metrics::counter!(
            "payments_pg_errors_total",
            "vendor" => vendor, "operation" => operation, "kind" => kind
        )
        .increment(1);
    }
}

/// Records one delivery attempt: `outcome` is `delivered`, `rejected` (the client
/// answered, not 2xx) or `unanswered` (no answer: timeout, refused, unreachable).
pub fn relay_attempt(outcome: &'static str, elapsed: Duration) {
    metrics::counter!("payments_relay_attempts_total", "outcome" => outcome).increment(1);
    metrics::histogram!("payments_relay_attempt_duration_seconds").record(elapsed.as_secs_f64());
}

/// The text of `/metrics`: the recorded figures, with the relay's queue and the pool's use
/// read now.
pub async fn render(db: &Db, now_ms: i64) -> String {
    let pool = &db.pool;
    // Connections held for reads between them are idle too, though checked out of the pool.
    let idle = (pool.num_idle() + db.held_idle()) as f64;
    let size = f64::from(pool.size());
    metrics::gauge!("payments_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("payments_db_pool_connections", "state" => "in_use").set(size - idle);
    metrics::gauge!("payments_db_pool_connections", "state" => "max")
        .set(f64::from(pool.options().get_max_connections()));
    // Uses the (state, next_attempt_at) index; pending events are few unless clients are
    // down, and then this is what an operator wants to see.
    let queue: Result<(i64, Option<i64>), sqlx::Error> = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM payment_webhook_events WHERE state = 'pending'",
    )
    .fetch_one(pool)
    .await;
    match queue {
        Ok((pending, oldest)) => {
            metrics::gauge!("payments_relay_pending_events").set(pending as f64);
            let age = oldest.map_or(0.0, |created| (now_ms - created).max(0) as f64 / 1000.0);
            metrics::gauge!("payments_relay_oldest_pending_age_seconds").set(age);
        }
        // The figures stay as last read; the database's trouble shows in `/monitors/ready`.
        Err(error) => tracing::warn!(%error, "reading the relay's queue for /metrics failed"),
    }
    handle().render()
}
