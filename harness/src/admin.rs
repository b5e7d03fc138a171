//! The sandbox's admin API: what a test suite in any language needs beyond the payments
//! API and the fakes' own `/internal` controls, as JSON over HTTP. It is served beside the
//! webhook inbox (same port, under `/admin`), by every [`Harness`](crate::Harness) and so
//! by `harness serve`.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /admin` | the discovery document: every URL, credential and control |
//! | `GET /admin/inbox?after=N` | the deliveries the inbox remembers (decrypted, with the signature's verdict) |
//! | `DELETE /admin/inbox` | forget them |
//! | `GET /admin/inbox/wait?timeout_ms=&after=&source_id=&event_id=&accepted=` | the first delivery matching (accepted ones unless `accepted=false`), waiting for it (long poll) |
//! | `GET /admin/inbox/events/{id}` | the delivery of one event, by its `webhook-id` |
//! | `GET`, `PUT`, `DELETE /admin/inbox/status` | the status the inbox answers: read, set (`{"status": 503}`), back to 200 |
//! | `GET`, `POST /admin/clock` | the server's and every fake's clock: read, move forward (`{days?, hours?, minutes?, seconds?, only?}`: all clocks, or those `only` names) |
//! | `POST /admin/reset` | a fresh state: every fake, the inbox, the server's records and clock |
//!
//! | `GET /openapi.json` | the OpenAPI document of these routes and the inbox's |
//!
//! Every error is `{code, message}` with a 4xx status (5xx only when the database fails).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::SecondsFormat;
use payments_server::App;
use payments_testkit::{Delivery, Inbox, InboxError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::pgs::FakeEntry;

/// The longest a wait may ask for; longer polls are a client's loop.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// What the admin API acts on.
#[derive(Clone)]
pub(crate) struct Admin {
    pub inbox: Inbox,
    pub app: App,
    pub fakes: Arc<Vec<FakeEntry>>,
    pub discovery: Arc<Value>,
}

/// The admin routes; [`not_found`] and [`method_not_allowed`] go around them and the
/// inbox's.
pub(crate) fn router(admin: Admin) -> Router {
    Router::new()
        .route("/admin", get(discovery))
        .route("/admin/inbox", get(list).delete(clear))
        .route("/admin/inbox/wait", get(wait))
        .route("/admin/inbox/events/{id}", get(event))
        .route(
            "/admin/inbox/status",
            get(status).put(set_status).delete(reset_status),
        )
        .route("/admin/clock", get(clocks).post(advance))
        .route("/admin/reset", axum::routing::post(reset))
        .route("/openapi.json", get(openapi_json))
        .with_state(admin)
}

/// The admin API (and the inbox beside it).
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "payments-sandbox: admin API",
        description = "The sandbox's admin API, served by `harness serve` beside the webhook \
            inbox (same port, default 37822): what a test suite in any language needs beyond \
            the payments API and the fakes' own `/internal` controls. Every error is JSON \
            `{code, message}` with a 4xx status (5xx only when the database fails)."
    ),
    paths(
        discovery,
        list,
        clear,
        wait,
        event,
        status,
        set_status,
        reset_status,
        clocks,
        advance,
        reset,
        openapi_json,
        inbox_webhook
    ),
    components(schemas(AdminError)),
    tags(
        (name = "admin", description = "The sandbox's controls"),
        (name = "inbox", description = "The webhook inbox: the events the payments server relayed to it"),
    )
)]
pub struct AdminApi;

/// The admin API's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = AdminApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "admin",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
async fn openapi_json() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // Writing a document of plain maps and strings cannot fail; the fallback is still JSON.
    let text = DOCUMENT.get_or_init(|| {
        document().to_pretty_json().unwrap_or_else(|e| {
            serde_json::json!({"code": "internal", "message": e.to_string()}).to_string()
        })
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text.as_str(),
    )
        .into_response()
}

/// The inbox: where the payments server relays events (a history's `webhook_url`).
///
/// It checks the Standard Webhooks signature, decrypts the body, remembers the delivery and
/// answers the status set with `PUT /admin/inbox/status` (200 by default; 401 for a bad
/// signature).
#[utoipa::path(post, path = "/webhook", tag = "inbox",
    params(
        ("webhook-id" = String, Header, description = "The event's id"),
        ("webhook-timestamp" = String, Header, description = "Unix seconds"),
        ("webhook-signature" = String, Header, description = "`v1,<Base64 HMAC-SHA256>` signatures"),
    ),
    request_body(content = String, content_type = "text/plain",
        description = "Base64 of the encrypted `PaymentWebhook` JSON"),
    responses(
        (status = 200, description = "Taken (or the status set with `PUT /admin/inbox/status`)"),
        (status = 401, description = "The signature does not check out"),
    ))]
#[allow(dead_code)] // Served by the inbox's own router; this carries the annotation.
fn inbox_webhook() {}

/// The answer to a request whose route takes another method.
pub(crate) async fn method_not_allowed() -> AdminError {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route takes another method (GET /admin lists them)",
    )
}

/// The answer to a request no route takes.
pub(crate) async fn not_found() -> AdminError {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route (GET /admin lists them)",
    )
}

/// An admin error, answered as `{code, message}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AdminError {
    #[serde(skip)]
    status: StatusCode,
    /// A stable machine-readable code, e.g. `invalid_request`.
    code: &'static str,
    /// What went wrong, for people.
    message: String,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
    AdminError {
        status,
        code,
        message: message.into(),
    }
}

fn bad_request(message: impl Into<String>) -> AdminError {
    error(StatusCode::BAD_REQUEST, "invalid_request", message)
}

/// A JSON body; an empty one reads as `{}`.
fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AdminError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
    // serde would read a struct from an array too; the API takes objects only.
    if !value.is_object() {
        return Err(bad_request("the body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| bad_request(e.to_string()))
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, AdminError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| bad_request(e.body_text()))
}

/// The discovery document: every URL, credential and control of the sandbox.
#[utoipa::path(get, path = "/admin", tag = "admin",
    responses((status = 200, description = "`{payments, fakes, inbox, admin}`", body = Object)))]
async fn discovery(State(admin): State<Admin>) -> Json<Value> {
    Json((*admin.discovery).clone())
}

/// A delivery as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub seq: u64,
    pub received_at: String,
    /// The `webhook-id` header: the event's id.
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub signature_valid: bool,
    /// The status the inbox answered.
    pub answered: u16,
    /// Whether the inbox accepted it (valid signature, an event, a 2xx answer).
    pub accepted: bool,
    /// The decrypted event (`{source, previous, current}`), or null.
    pub event: Option<payments_api::payments::PaymentWebhook>,
    /// The body as it came (Base64 of the encrypted event).
    pub body: String,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            accepted: d.accepted(),
            seq: d.seq,
            received_at: d.received_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            id: d.id,
            timestamp: d.timestamp,
            signature: d.signature,
            signature_valid: d.signature_valid,
            answered: d.answered,
            event: d.event,
            body: d.body,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only deliveries after this seq.
    #[serde(default)]
    after: u64,
}

/// The deliveries the inbox remembers.
#[derive(Debug, Serialize, ToSchema)]
struct InboxPage {
    deliveries: Vec<DeliveryView>,
    /// The seq of the newest delivery (0 before the first).
    last_seq: u64,
    /// The status the inbox answers.
    answering: u16,
}

/// The deliveries the inbox remembers (decrypted, with the signature's verdict).
#[utoipa::path(get, path = "/admin/inbox", tag = "inbox", params(ListQuery),
    responses(
        (status = 200, description = "OK", body = InboxPage),
        (status = 400, description = "`invalid_request`", body = AdminError),
    ))]
async fn list(
    State(admin): State<Admin>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let q = query(q)?;
    let deliveries: Vec<DeliveryView> = admin
        .inbox
        .deliveries(q.after)
        .into_iter()
        .map(DeliveryView::from)
        .collect();
    Ok(Json(InboxPage {
        deliveries,
        last_seq: *admin.inbox.subscribe().borrow(),
        answering: admin.inbox.answering(),
    })
    .into_response())
}

/// Forget every delivery (the seq keeps counting).
#[utoipa::path(delete, path = "/admin/inbox", tag = "inbox",
    responses((status = 204, description = "Forgotten")))]
async fn clear(State(admin): State<Admin>) -> StatusCode {
    admin.inbox.clear();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct WaitQuery {
    /// How long to wait, in milliseconds (default 10 s, at most 60 s).
    timeout_ms: Option<u64>,
    /// Only deliveries after this seq (default: any remembered).
    #[serde(default)]
    after: u64,
    /// Only events about the payment whose source id this is.
    source_id: Option<String>,
    /// Only the event with this `webhook-id`.
    event_id: Option<String>,
    /// Accepted deliveries (`true`, the default) or refused ones (`false`: to see that a
    /// client that is down was tried).
    #[serde(default = "yes")]
    accepted: bool,
}

fn yes() -> bool {
    true
}

/// The first delivery matching, waiting for it (long poll).
#[utoipa::path(get, path = "/admin/inbox/wait", tag = "inbox", params(WaitQuery),
    responses(
        (status = 200, description = "OK", body = DeliveryView),
        (status = 400, description = "`invalid_request`", body = AdminError),
        (status = 408, description = "`timeout`: nothing matching arrived in time", body = AdminError),
        (status = 503, description = "`closed`: the inbox is shutting down", body = AdminError),
    ))]
async fn wait(
    State(admin): State<Admin>,
    q: Result<Query<WaitQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let q = query(q)?;
    let timeout = Duration::from_millis(q.timeout_ms.unwrap_or(10_000));
    if timeout > MAX_WAIT {
        return Err(bad_request(format!(
            "timeout_ms is at most {} (poll again for longer)",
            MAX_WAIT.as_millis()
        )));
    }
    let found = admin
        .inbox
        .wait(q.after, timeout, |d| {
            d.accepted() == q.accepted
                && q.event_id.as_ref().is_none_or(|id| &d.id == id)
                && q.source_id
                    .as_ref()
                    .is_none_or(|id| d.event.as_ref().is_some_and(|e| &e.source.id == id))
        })
        .await;
    match found {
        Ok(delivery) => Ok(Json(DeliveryView::from(delivery)).into_response()),
        Err(InboxError::Timeout(_)) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!(
                "no matching event arrived within {} ms",
                timeout.as_millis()
            ),
        )),
        Err(InboxError::Closed) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "closed",
            "the inbox is shutting down",
        )),
    }
}

/// The delivery of one event, by its `webhook-id`.
#[utoipa::path(get, path = "/admin/inbox/events/{id}", tag = "inbox",
    params(("id" = String, Path, description = "The event's id (`webhook-id`)")),
    responses(
        (status = 200, description = "OK", body = DeliveryView),
        (status = 404, description = "`unknown_event`", body = AdminError),
    ))]
async fn event(
    State(admin): State<Admin>,
    Path(id): Path<String>,
) -> Result<Json<DeliveryView>, AdminError> {
    let delivery = admin.inbox.delivery(&id).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "unknown_event",
            format!("the inbox remembers no event {id:?}"),
        )
    })?;
    Ok(Json(DeliveryView::from(delivery)))
}

/// The status the inbox answers valid deliveries with.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InboxStatus {
    /// An HTTP status, 200 to 599.
    #[schema(minimum = 200, maximum = 599)]
    status: u16,
}

fn status_view(inbox: &Inbox) -> Response {
    Json(InboxStatus {
        status: inbox.answering(),
    })
    .into_response()
}

/// The status the inbox answers.
#[utoipa::path(get, path = "/admin/inbox/status", tag = "inbox",
    responses((status = 200, description = "OK", body = InboxStatus)))]
async fn status(State(admin): State<Admin>) -> Response {
    status_view(&admin.inbox)
}

/// Make the inbox answer later deliveries with this status (e.g. 503 to play a client
/// that is down).
#[utoipa::path(put, path = "/admin/inbox/status", tag = "inbox",
    request_body = InboxStatus,
    responses(
        (status = 200, description = "OK", body = InboxStatus),
        (status = 400, description = "`invalid_json`, `invalid_request`", body = AdminError),
    ))]
async fn set_status(State(admin): State<Admin>, body: Bytes) -> Result<Response, AdminError> {
    let body: InboxStatus = parse(&body)?;
    if !(200..=599).contains(&body.status) {
        return Err(bad_request("status must be an HTTP status from 200 to 599"));
    }
    admin.inbox.answer(body.status);
    Ok(status_view(&admin.inbox))
}

/// Answer 200 again.
#[utoipa::path(delete, path = "/admin/inbox/status", tag = "inbox",
    responses((status = 200, description = "OK", body = InboxStatus)))]
async fn reset_status(State(admin): State<Admin>) -> Response {
    admin.inbox.answer(200);
    status_view(&admin.inbox)
}

/// The server's clock and every fake's.
#[derive(Debug, Serialize, ToSchema)]
struct Clocks {
    server: ClockView,
    /// By fake name (`toss`, `iamport`, `portone`).
    fakes: BTreeMap<&'static str, ClockView>,
}

/// A clock as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// Its time, UTC.
    pub now: String,
    /// How far it is ahead of real time.
    pub offset_seconds: f64,
}

fn clocks_view(admin: &Admin) -> Response {
    let server = admin.app.clock();
    let mut fakes = BTreeMap::new();
    for fake in admin.fakes.iter() {
        let clock = fake.fake.clock();
        fakes.insert(
            fake.name,
            ClockView {
                now: clock.now().to_rfc3339_opts(SecondsFormat::Millis, true),
                offset_seconds: clock.offset().num_milliseconds() as f64 / 1000.0,
            },
        );
    }
    Json(Clocks {
        server: ClockView {
            now: payments_server::clock::time(server.now_ms())
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            offset_seconds: server.offset_ms() as f64 / 1000.0,
        },
        fakes,
    })
    .into_response()
}

/// The server's and every fake's clock.
#[utoipa::path(get, path = "/admin/clock", tag = "admin",
    responses((status = 200, description = "OK", body = Clocks)))]
async fn clocks(State(admin): State<Admin>) -> Response {
    clocks_view(&admin)
}

/// How far to move the clocks; the parts add up. None may be negative.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Advance {
    #[serde(default)]
    days: f64,
    #[serde(default)]
    hours: f64,
    #[serde(default)]
    minutes: f64,
    #[serde(default)]
    seconds: f64,
    /// The clocks to move, by name (`server` and the fakes' names, as `GET` shows them);
    /// every clock when absent.
    #[serde(default)]
    only: Option<Vec<String>>,
}

/// The most the clocks move in one call.
const MAX_ADVANCE_SECONDS: f64 = 3_650.0 * 86_400.0;

/// Move every clock forward (at most ten years at a time).
#[utoipa::path(post, path = "/admin/clock", tag = "admin",
    request_body = Advance,
    responses(
        (status = 200, description = "The clocks after the move", body = Clocks),
        (status = 400, description = "`invalid_json`, `invalid_request`", body = AdminError),
    ))]
async fn advance(State(admin): State<Admin>, body: Bytes) -> Result<Response, AdminError> {
    let by: Advance = parse(&body)?;
    let parts = [by.days, by.hours, by.minutes, by.seconds];
    if parts.iter().any(|part| *part < 0.0 || !part.is_finite()) {
        return Err(bad_request(
            "the clocks only move forward: no part may be negative",
        ));
    }
    let seconds = by.days * 86_400.0 + by.hours * 3_600.0 + by.minutes * 60.0 + by.seconds;
    if seconds > MAX_ADVANCE_SECONDS {
        return Err(bad_request(
            "the clocks move by at most ten years at a time",
        ));
    }
    if let Some(only) = &by.only {
        let known = |name: &str| name == "server" || admin.fakes.iter().any(|f| f.name == name);
        if only.is_empty() {
            return Err(bad_request(
                "`only` names no clock: leave it out to move them all",
            ));
        }
        if let Some(unknown) = only.iter().find(|name| !known(name)) {
            let names: Vec<&str> = std::iter::once("server")
                .chain(admin.fakes.iter().map(|f| f.name))
                .collect();
            return Err(bad_request(format!(
                "there is no clock named {unknown:?}; the clocks are {}",
                names.join(", ")
            )));
        }
    }
    let ms = (seconds * 1000.0) as u64;
    crate::advance_all(&admin.app, &admin.fakes, ms, by.only.as_deref()).await;
    Ok(clocks_view(&admin))
}

/// A fresh state: every fake, the inbox, the server's records and clock.
#[utoipa::path(post, path = "/admin/reset", tag = "admin",
    responses(
        (status = 204, description = "Reset"),
        (status = 500, description = "`database`: the records could not be deleted", body = AdminError),
    ))]
async fn reset(State(admin): State<Admin>) -> Result<StatusCode, AdminError> {
    crate::reset_all(&admin.app, &admin.fakes, &admin.inbox)
        .await
        .map_err(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "database",
                format!("the records could not be deleted: {e}"),
            )
        })?;
    Ok(StatusCode::NO_CONTENT)
}
