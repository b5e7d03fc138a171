//! The payments API over HTTP: the current routes under `/payments`, the older SDK
//! generation's at the legacy paths, and the monitors.

pub mod error;
mod monitors;
pub mod openapi;
pub mod throttle;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use payments_api::BodyCodec;
use payments_api::codec::{SCHEME_HEADER, Scheme, Undecryptable};
use payments_api::payments::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::records::{Lookup, Records};
use error::ApiError;
pub use monitors::Monitor;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub records: Arc<Records>,
    /// Shared: axum clones the state into every request's services, and a codec holds its
    /// ciphers' key schedules (about a kilobyte).
    pub codec: Arc<BodyCodec>,
    pub monitor: Arc<Monitor>,
    /// Client events posted to the test receiver `/payments/internal/webhook`.
    pub received: Arc<std::sync::Mutex<std::collections::VecDeque<PaymentWebhook>>>,
    /// The rate limit of the PGs' notification routes.
    pub throttle: Arc<throttle::Throttle>,
    /// Whether `application/json` requests are read and answered in plain JSON (a
    /// sandbox's `plain_json`).
    pub plain_json: bool,
    /// The database, for the figures `/metrics` reads when scraped.
    pub db: crate::db::Db,
    /// The server's clock, for the age of the oldest pending event.
    pub clock: Arc<crate::clock::Clock>,
}

/// The header that carries a request's id.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// The router of the whole API.
pub fn router(state: AppState) -> Router {
    let current = Router::new()
        .route("/payments/histories", post(create_history::<false>))
        .route("/payments/histories/get", patch(history_by_source::<false>))
        .route("/payments/histories/cancel", put(cancel_history::<false>))
        .route("/payments/histories/webhooks", patch(webhooks::events))
        .route(
            "/payments/histories/webhooks/redeliver",
            put(webhooks::redeliver),
        )
        .route("/payments/internal/webhook", post(webhooks::sink))
        .route("/payments/histories/{id}", patch(history_by_id::<false>))
        .route("/payments/reservations", post(create_reservation))
        .route("/payments/reservations/get", patch(reservation_by_source))
        .route("/payments/reservations/{id}", patch(reservation_by_id));
    // The first SDK generation: the same records, un-prefixed, histories in their older shape.
    let legacy = Router::new()
        .route("/histories", post(create_history::<true>))
        .route("/histories/get", patch(history_by_source::<true>))
        .route("/histories/cancel", put(cancel_history::<true>))
        .route("/histories/{id}", patch(history_by_id::<true>))
        .route("/reservations", post(create_reservation))
        .route("/reservations/get", patch(reservation_by_source))
        .route("/reservations/{id}", patch(reservation_by_id))
        .route("/internal/webhook", post(webhooks::sink));
    // Each PG's notifications, at both generations' paths.
    let mut notifications = Router::new();
    for vendor in &crate::pg::VENDORS {
        let code = vendor.code;
        let intake =
            post(move |state, headers, body| webhooks::notified(code, state, headers, body));
        notifications = notifications
            .route(
                &format!("/payments/webhooks/{}", vendor.webhook_path),
                intake.clone(),
            )
            .route(&format!("/webhooks/{}", vendor.webhook_path), intake);
    }
    let notifications =
        notifications.route_layer(from_fn_with_state(state.throttle.clone(), throttle::limit));
    current
        .merge(legacy)
        .merge(notifications)
        .route("/monitors/health", get(monitors::health))
        .route("/monitors/ready", get(monitors::ready))
        .route("/monitors/performance", get(monitors::performance))
        .route("/monitors/system", get(monitors::system))
        .route("/metrics", get(monitors::metrics))
        .route("/openapi.json", get(openapi_json))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such route") })
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(from_fn_with_state(state.monitor.clone(), monitors::count))
        .layer(axum::middleware::from_fn(within_request))
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, RequestIds::new()))
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}

/// `GET /openapi.json`: the API's OpenAPI document, built once.
async fn openapi_json() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // Writing a document of plain maps and strings cannot fail; the fallback is still JSON.
    let text = DOCUMENT.get_or_init(|| {
        openapi::document().to_pretty_json().unwrap_or_else(|e| {
            serde_json::json!({"code": "internal", "message": e.to_string()}).to_string()
        })
    });
    ([(header::CONTENT_TYPE, "application/json")], text.as_str()).into_response()
}

/// Fresh request ids: a random prefix per server and a counter, written as a UUID. Unique
/// like random ones, without asking the operating system for randomness on every request
/// (which took a tenth of the throughput of the `at` benchmark).
#[derive(Debug, Clone)]
struct RequestIds {
    prefix: u64,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        Self {
            prefix: uuid::Uuid::new_v4().as_u64_pair().0,
            next: Default::default(),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = uuid::Uuid::from_u64_pair(self.prefix, n).to_string();
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
}

/// The span of a request: its id (the client's `x-request-id`, or a fresh UUID, answered
/// in the same header), method and route; the request's log lines carry them.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("", MatchedPath::as_str);
    tracing::info_span!("request", %id, method = %request.method(), route = %route)
}

/// Runs the request's handler as part of the request: the client events it writes carry
/// its id (set by then, from the client or made here).
async fn within_request(request: Request, next: axum::middleware::Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match id {
        Some(id) => crate::request::scope(id, next.run(request)).await,
        None => next.run(request).await,
    }
}

/// How a request's body came, and so how its answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Encrypted in this scheme: what clients send.
    Sealed(Scheme),
    /// Plain JSON, taken only on a sandbox configured with `plain_json`.
    Plain,
}

/// An encrypted request body: `text/plain` Base64 of the encrypted JSON, in the scheme the
/// request's `x-payments-encryption` header names (the legacy AES-CBC without it), with
/// that scheme, which the answer uses too. With `plain_json`, an `application/json` body
/// is read as it is, and answered in plain JSON.
#[derive(Debug)]
pub struct Encrypted<T>(pub T, pub Wire);

/// The body encryption a request asked for, for routes without a request body; with
/// `plain_json`, `Accept: application/json` asks for plain JSON.
#[derive(Debug, Clone, Copy)]
pub struct Asked(pub Wire);

fn asked_scheme(headers: &HeaderMap) -> Result<Scheme, ApiError> {
    let value = match headers.get(SCHEME_HEADER) {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| unknown_scheme("(not text)"))?),
    };
    Scheme::from_header(value).map_err(|e| unknown_scheme(&e.0))
}

fn unknown_scheme(value: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "unsupported_encryption",
        payments_api::codec::UnknownScheme(value.to_owned()).to_string(),
    )
}

/// Whether header `name` names a JSON media type.
fn names_json(headers: &HeaderMap, name: header::HeaderName) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

impl FromRequestParts<AppState> for Asked {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.plain_json
            && (names_json(&parts.headers, header::ACCEPT)
                || names_json(&parts.headers, header::CONTENT_TYPE))
        {
            return Ok(Asked(Wire::Plain));
        }
        asked_scheme(&parts.headers).map(|scheme| Asked(Wire::Sealed(scheme)))
    }
}

/// The one answer to every body that cannot be decrypted and read as the request: the same
/// status, code and message whatever failed, so that answers are no padding oracle.
fn undecryptable(_: Undecryptable) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "undecryptable",
        Undecryptable.to_string(),
    )
}

impl<T: DeserializeOwned> FromRequest<AppState> for Encrypted<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let scheme = asked_scheme(request.headers())?;
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/plain")
            .to_ascii_lowercase();
        if state.plain_json && content_type.contains("json") {
            let body = Bytes::from_request(request, state)
                .await
                .map_err(|e| ApiError::invalid(e.body_text()))?;
            if body.len() > MAX_BODY {
                return Err(ApiError::invalid("the body is too large"));
            }
            // Plain JSON hides nothing, so its errors may say what is wrong.
            return serde_json::from_slice(&body)
                .map(|value| Encrypted(value, Wire::Plain))
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_json",
                        format!("the body is not this request's JSON: {e}"),
                    )
                });
        }
        // The first SDK generation sent no or any non-JSON type; the second `text/plain`.
        if content_type.contains("json") || content_type.contains("form") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "not_text_plain",
                "the body must be text/plain: the Base64 text of the encrypted JSON",
            ));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::invalid(e.body_text()))?;
        if body.len() > MAX_BODY {
            return Err(ApiError::invalid("the body is too large"));
        }
        // Base64 is ASCII: a body that is not text is one more undecryptable body.
        let text = std::str::from_utf8(&body).map_err(|_| undecryptable(Undecryptable))?;
        state
            .codec
            .open_json(scheme, text)
            .map(|value| Encrypted(value, Wire::Sealed(scheme)))
            .map_err(undecryptable)
    }
}

/// An encrypted response body, in the scheme the request asked for (plain JSON when it
/// came in plain JSON).
fn encrypted<T: Serialize>(
    codec: &BodyCodec,
    wire: Wire,
    status: StatusCode,
    value: &T,
) -> Response {
    let scheme = match wire {
        Wire::Sealed(scheme) => scheme,
        Wire::Plain => return (status, axum::Json(value)).into_response(),
    };
    match codec.encrypt_json_with(scheme, value) {
        Ok(text) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                text,
            )
                .into_response();
            if let Some(name) = scheme.header_value() {
                response.headers_mut().insert(
                    HeaderName::from_static(SCHEME_HEADER),
                    axum::http::HeaderValue::from_static(name),
                );
            }
            response
        }
        Err(e) => ApiError::internal(format!("encoding a response: {e}")).into_response(),
    }
}

type Reply = Result<Response, ApiError>;

/// A history in the shape of the SDK generation that asked: `LEGACY` for the first one.
fn shaped<const LEGACY: bool>(
    codec: &BodyCodec,
    scheme: Wire,
    status: StatusCode,
    history: &PaymentHistory,
) -> Response {
    if LEGACY {
        match legacy_history(history) {
            Ok(legacy) => encrypted(codec, scheme, status, &legacy),
            Err(e) => ApiError::internal(format!("encoding a response: {e}")).into_response(),
        }
    } else {
        encrypted(codec, scheme, status, history)
    }
}

async fn create_history<const LEGACY: bool>(
    State(s): State<AppState>,
    Encrypted(input, scheme): Encrypted<PaymentHistoryCreate>,
) -> Reply {
    let history = s.records.create_history(input).await?;
    Ok(shaped::<LEGACY>(
        &s.codec,
        scheme,
        StatusCode::CREATED,
        &history,
    ))
}

async fn history_by_source<const LEGACY: bool>(
    State(s): State<AppState>,
    Encrypted(input, scheme): Encrypted<PaymentSourceAccessor>,
) -> Reply {
    let history = s
        .records
        .history(Lookup::Source(&input.source), &input.password)
        .await?;
    Ok(shaped::<LEGACY>(&s.codec, scheme, StatusCode::OK, &history))
}

async fn history_by_id<const LEGACY: bool>(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Encrypted(input, scheme): Encrypted<PaymentPassword>,
) -> Reply {
    let history = s.records.history(Lookup::Id(&id), &input.password).await?;
    Ok(shaped::<LEGACY>(&s.codec, scheme, StatusCode::OK, &history))
}

async fn cancel_history<const LEGACY: bool>(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Encrypted(input, scheme): Encrypted<PaymentCancelCreate>,
) -> Reply {
    // A client that sends the same key with a retry gets the first cancel's outcome.
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(_)) => {
            return Err(ApiError::invalid(
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            ));
        }
    };
    let history = s.records.cancel_history(input, key).await?;
    Ok(shaped::<LEGACY>(&s.codec, scheme, StatusCode::OK, &history))
}

async fn create_reservation(
    State(s): State<AppState>,
    Encrypted(input, scheme): Encrypted<PaymentReservationCreate>,
) -> Reply {
    let reservation = s.records.create_reservation(input).await?;
    Ok(encrypted(
        &s.codec,
        scheme,
        StatusCode::CREATED,
        &reservation,
    ))
}

async fn reservation_by_source(
    State(s): State<AppState>,
    Encrypted(input, scheme): Encrypted<PaymentSourceAccessor>,
) -> Reply {
    let reservation = s
        .records
        .reservation(Lookup::Source(&input.source), &input.password)
        .await?;
    Ok(encrypted(&s.codec, scheme, StatusCode::OK, &reservation))
}

async fn reservation_by_id(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Encrypted(input, scheme): Encrypted<PaymentPassword>,
) -> Reply {
    let reservation = s
        .records
        .reservation(Lookup::Id(&id), &input.password)
        .await?;
    Ok(encrypted(&s.codec, scheme, StatusCode::OK, &reservation))
}

/// A history in the first SDK generation's shape: `currency_unit` for `currency`, and no
/// `refund` or `cancels`.
pub fn legacy_history(history: &PaymentHistory) -> serde_json::Result<serde_json::Value> {
    let mut value = serde_json::to_value(history)?;
    if let Some(object) = value.as_object_mut() {
        if let Some(currency) = object.remove("currency") {
            object.insert("currency_unit".into(), currency);
        }
        object.remove("refund");
        object.remove("cancels");
    }
    Ok(value)
}
