//! The controls every fake serves under `/internal`: its clock, fault rules, journal,
//! webhooks, a reset, and a webhook sink.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

use crate::clock::kst;
use crate::core::Fake;
use crate::faults::FaultRule;

/// The shared control routes of fake `F`.
pub fn routes<F: Fake>() -> Router<F> {
    Router::new()
        .route("/internal/clock", get(clock::<F>).post(advance::<F>))
        .route(
            "/internal/faults",
            get(faults::<F>)
                .post(add_fault::<F>)
                .delete(clear_faults::<F>),
        )
        .route("/internal/journal", get(journal::<F>))
        .route("/internal/webhooks", get(deliveries::<F>))
        .route("/internal/reset", post(reset::<F>))
        .route("/internal/webhook", post(sink::<F>))
        .route("/openapi.json", get(crate::openapi::serve::<F>))
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// The fake's clock, as `/internal/clock` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClockState {
    /// The fake's time, in KST.
    pub now: String,
    /// How far it is ahead of real time.
    pub offset_seconds: i64,
}

fn clock_state<F: Fake>(fake: &F) -> ClockState {
    let clock = &fake.core().clock;
    ClockState {
        now: clock
            .now()
            .with_timezone(&kst())
            .to_rfc3339_opts(SecondsFormat::Secs, false),
        offset_seconds: clock.offset().num_seconds(),
    }
}

async fn clock<F: Fake>(State(fake): State<F>) -> Json<ClockState> {
    Json(clock_state(&fake))
}

/// How far to move the clock; the parts add up.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Advance {
    #[serde(default)]
    days: f64,
    #[serde(default)]
    hours: f64,
    #[serde(default)]
    minutes: f64,
    #[serde(default)]
    seconds: f64,
}

async fn advance<F: Fake>(State(fake): State<F>, body: Bytes) -> Response {
    let by: Advance = match parse(&body) {
        Ok(by) => by,
        Err(message) => return F::reject(StatusCode::BAD_REQUEST, &message),
    };
    let seconds = by.days * 86_400.0 + by.hours * 3_600.0 + by.minutes * 60.0 + by.seconds;
    if !(0.0..=3_650.0 * 86_400.0).contains(&seconds) {
        return F::reject(
            StatusCode::BAD_REQUEST,
            "the clock only moves forward, by at most ten years",
        );
    }
    fake.advance(chrono::Duration::milliseconds((seconds * 1000.0) as i64))
        .await;
    Json(clock_state(&fake)).into_response()
}

async fn faults<F: Fake>(State(fake): State<F>) -> Response {
    Json(fake.core().faults.list()).into_response()
}

async fn add_fault<F: Fake>(State(fake): State<F>, body: Bytes) -> Response {
    let rule: FaultRule = match parse(&body) {
        Ok(rule) => rule,
        Err(message) => return F::reject(StatusCode::BAD_REQUEST, &message),
    };
    match fake.core().faults.add(rule) {
        Ok(active) => (StatusCode::CREATED, Json(active)).into_response(),
        Err(message) => F::reject(StatusCode::BAD_REQUEST, &message),
    }
}

async fn clear_faults<F: Fake>(State(fake): State<F>) -> StatusCode {
    fake.core().faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct JournalQuery {
    /// Only entries after this sequence number.
    #[serde(default)]
    after: u64,
    /// At most this many entries of each kind (default 1000).
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    1000
}

async fn journal<F: Fake>(State(fake): State<F>, Query(query): Query<JournalQuery>) -> Response {
    Json(fake.core().journal.snapshot(query.after, query.limit)).into_response()
}

async fn deliveries<F: Fake>(State(fake): State<F>) -> Response {
    Json(fake.core().webhooks.list()).into_response()
}

async fn reset<F: Fake>(State(fake): State<F>) -> StatusCode {
    fake.reset();
    StatusCode::NO_CONTENT
}

/// Records a posted webhook body, JSON or form-encoded, in the journal.
async fn sink<F: Fake>(State(fake): State<F>, body: Bytes) -> Response {
    let form = if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
        false
    } else if std::str::from_utf8(&body).is_ok_and(|text| text.contains('=')) {
        true
    } else {
        return F::reject(
            StatusCode::BAD_REQUEST,
            "the body is neither JSON nor form-encoded",
        );
    };
    fake.core()
        .journal
        .received(fake.core().clock.now_ms(), &body, form);
    StatusCode::OK.into_response()
}
