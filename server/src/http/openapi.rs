//! The payments API's OpenAPI 3.1 document, served at `GET /openapi.json` and committed as
//! `openapi/payments.json`.
//!
//! The schemas come from the wire types of `payments_api` (their `ToSchema` derives follow
//! the serde attributes). The operations are declared here, on functions that only carry
//! the annotations: the handlers are generic over the SDK generation, and several routes
//! share one handler, so one annotated function per route keeps the document complete. A
//! test sends a request to every documented route and fails on one the router lacks.

// The functions below exist for their annotations only; nothing calls them.
#![allow(dead_code)]

use payments_api::codec::SCHEME_HEADER;
use payments_api::monitors::{Performance, System};
use payments_api::payments::*;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{OpenApi as Document, RefOr, Required};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document.
pub fn document() -> Document {
    PaymentsApi::openapi()
}

const DESCRIPTION: &str = "\
The payments sandbox's integrated payment server, between client backends and the PGs \
I'mport (PortOne V1), Toss Payments and PortOne V2.

**Encrypted bodies.** Every request and response body of the `histories`, `reservations`, \
`webhooks` and encrypted `monitors` operations travels as `text/plain`: the standard Base64 \
of the encrypted UTF-8 JSON. The schemas in this document are those of the JSON *before* \
encryption (requests) and *after* decryption (responses). Two schemes exist:

- without an `x-payments-encryption` header, the original one: `Base64(AES-CBC(JSON))` with \
PKCS#7 padding, key and IV being the configured strings taken as UTF-8 (a 16, 24 or \
32-byte key picks AES-128, -192 or -256; the IV is 16 bytes);
- with `x-payments-encryption: aes-256-gcm`, the authenticated one: \
`Base64(nonce ‖ AES-256-GCM(JSON) ‖ tag)` with a fresh 12-byte nonce per body and the key \
HMAC-SHA256(configured key, `payments-api body encryption: AES-256-GCM v1`); the answer \
carries the same header.

A body sent as JSON is refused (400 `not_text_plain`); one that cannot be decrypted and \
read as the request is answered 400 `undecryptable`, whatever failed.

**Records and passwords.** A record (a payment's *history*, a billing key's *reservation*) \
is created with a password chosen by the client, and read or cancelled only with it \
(403 `wrong_password`). There is no listing.

**Errors** are never encrypted: `application/json` `{code, message}` with a stable `code`; \
503 and some 409 answers carry `Retry-After`.

**Webhooks.** When a PG reports a change, the server posts a `PaymentWebhook` event, \
encrypted like the bodies above, to the payment's `webhook_url`, signed the Standard \
Webhooks way: headers `webhook-id` (the event's `id`), `webhook-timestamp` (unix seconds) \
and `webhook-signature` (space-separated `v1,<Base64 HMAC-SHA256>` over \
`id.timestamp.body`, keyed with the Base64 key after `whsec_`). Any 2xx answer is a \
delivery; others are retried with backoff for three days.";

/// The payments API.
#[derive(OpenApi)]
#[openapi(
    info(title = "payments-sandbox: payments API"),
    paths(
        create_history,
        history_by_id,
        history_by_source,
        cancel_history,
        create_reservation,
        reservation_by_id,
        reservation_by_source,
        webhook_events,
        redeliver,
        internal_webhook,
        legacy_create_history,
        legacy_history_by_id,
        legacy_history_by_source,
        legacy_cancel_history,
        legacy_create_reservation,
        legacy_reservation_by_id,
        legacy_reservation_by_source,
        legacy_internal_webhook,
        iamport_notification,
        toss_notification,
        portone_notification,
        legacy_iamport_notification,
        legacy_toss_notification,
        legacy_portone_notification,
        health,
        ready,
        performance,
        system,
        openapi_json,
        payment_event,
    ),
    components(schemas(ErrorBody, PaymentWebhook, LegacyPaymentHistory)),
    modifiers(&Finish),
    tags(
        (name = "histories", description = "Payments: verified at the PG and kept"),
        (name = "reservations", description = "Billing keys: verified at the PG and kept"),
        (name = "webhooks", description = "Events relayed to clients, and the PGs' notifications"),
        (name = "legacy", description = "The first SDK generation's routes: the same records, histories in their older shape"),
        (name = "monitors", description = "Health, readiness and process figures"),
    )
)]
struct PaymentsApi;

/// A history in the first SDK generation's shape: `currency_unit` for `currency`, and no
/// `refund` or `cancels` (what `legacy_history` writes).
#[derive(ToSchema)]
struct LegacyPaymentHistory {
    id: uuid::Uuid,
    vendor_code: VendorCode,
    vendor: PaymentVendor,
    source: PaymentSource,
    data: PaymentData,
    webhook_url: Option<String>,
    /// ISO currency code, e.g. `KRW`.
    currency_unit: String,
    price: f64,
    created_at: chrono::DateTime<chrono::Utc>,
    paid_at: Option<chrono::DateTime<chrono::Utc>>,
    cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What the attributes cannot say: the description, the encryption header on every
/// encrypted operation, and the relayed event as a webhook rather than a path.
struct Finish;

/// The path under which [`payment_event`] is declared before it moves to `webhooks`.
const EVENT_PATH: &str = "/{webhook_url}";

impl Modify for Finish {
    fn modify(&self, doc: &mut Document) {
        doc.info.description = Some(DESCRIPTION.to_owned());
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        // The event first: it is relayed in the original scheme, with no header to pick one.
        if let Some(event) = doc.paths.paths.remove(EVENT_PATH) {
            let mut webhooks = utoipa::openapi::Paths::new();
            webhooks.paths.insert("paymentEvent".to_owned(), event);
            doc.webhooks = Some(webhooks);
        }
        for item in doc.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                if is_encrypted(operation) {
                    operation
                        .parameters
                        .get_or_insert_with(Vec::new)
                        .push(RefOr::T(scheme_header()));
                }
            }
        }
    }
}

/// Whether an operation's request or an answer is an encrypted body (`text/plain`).
fn is_encrypted(operation: &utoipa::openapi::path::Operation) -> bool {
    let text = |key: &String| key.starts_with("text/plain");
    let request = match &operation.request_body {
        Some(RefOr::T(body)) => body.content.keys().any(text),
        _ => false,
    };
    request
        || operation.responses.responses.values().any(|r| match r {
            RefOr::T(response) => response.content.keys().any(text),
            RefOr::Ref(_) => false,
        })
}

fn scheme_header() -> Parameter {
    let mut header = Parameter::new(SCHEME_HEADER);
    header.parameter_in = ParameterIn::Header;
    header.required = Required::False;
    header.description = Some(
        "The body encryption of the request and of its answer: `aes-256-gcm`, or no header \
         for the original AES-CBC."
            .to_owned(),
    );
    header.schema = Some(RefOr::T(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["aes-256-gcm"]))
            .into(),
    ));
    header
}

const ENCRYPTED_BODY: &str = "Encrypted: `text/plain` Base64 of the encrypted JSON below.";

/// Verify a payment at the PG and keep it.
///
/// An I'mport payment is fetched and its amount compared with `price` (a mismatch is
/// refunded at the PG and answered 422); a Toss payment is confirmed with the source id as
/// `orderId`; a PortOne V2 payment is read by its `paymentId`.
#[utoipa::path(post, path = "/payments/histories", tag = "histories",
    request_body(content = PaymentHistoryCreate, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 201, description = "The stored record (encrypted)", body = PaymentHistory, content_type = "text/plain"),
        (status = "4XX", description = "`undecryptable`, `not_text_plain`, `invalid_input`, `invalid_amount`, `duplicate`, `pg_refused`, `amount_mismatch`, `payment_failed`, `unknown_store`", body = ErrorBody),
        (status = "5XX", description = "`pg_failed`, `pg_unavailable`, `database_unavailable`, `pg_timeout`", body = ErrorBody),
    ))]
fn create_history() {}

/// A payment's record by its id.
#[utoipa::path(patch, path = "/payments/histories/{id}", tag = "histories",
    params(("id" = String, Path, description = "The record's id")),
    request_body(content = PaymentPassword, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record (encrypted)", body = PaymentHistory, content_type = "text/plain"),
        (status = "4XX", description = "`wrong_password`, `not_found`, `undecryptable`, …", body = ErrorBody),
    ))]
fn history_by_id() {}

/// A payment's record by its source.
#[utoipa::path(patch, path = "/payments/histories/get", tag = "histories",
    request_body(content = PaymentSourceAccessor, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record (encrypted)", body = PaymentHistory, content_type = "text/plain"),
        (status = "4XX", description = "`wrong_password`, `not_found`, `undecryptable`, …", body = ErrorBody),
    ))]
fn history_by_source() {}

/// Cancel a payment, fully or partly, at the PG, once.
///
/// A retry with the same `Idempotency-Key` gets the first cancel's outcome.
#[utoipa::path(put, path = "/payments/histories/cancel", tag = "histories",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters")),
    request_body(content = PaymentCancelCreate, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record after the cancel (encrypted)", body = PaymentHistory, content_type = "text/plain"),
        (status = "4XX", description = "`wrong_password`, `not_found`, `invalid_amount`, `cancel_in_progress`, `idempotency_key_reused`, `pg_refused`, …", body = ErrorBody),
        (status = "5XX", description = "`pg_failed`, `pg_unavailable`, `database_unavailable`, `pg_timeout`", body = ErrorBody),
    ))]
fn cancel_history() {}

/// Verify a billing key at the PG and keep it.
#[utoipa::path(post, path = "/payments/reservations", tag = "reservations",
    request_body(content = PaymentReservationCreate, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 201, description = "The stored record (encrypted)", body = PaymentReservation, content_type = "text/plain"),
        (status = "4XX", description = "`undecryptable`, `invalid_input`, `duplicate`, `pg_refused`, `unknown_store`, …", body = ErrorBody),
        (status = "5XX", description = "`pg_failed`, `pg_unavailable`, `database_unavailable`, `pg_timeout`", body = ErrorBody),
    ))]
fn create_reservation() {}

/// A billing key's record by its id.
#[utoipa::path(patch, path = "/payments/reservations/{id}", tag = "reservations",
    params(("id" = String, Path, description = "The record's id")),
    request_body(content = PaymentPassword, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record (encrypted)", body = PaymentReservation, content_type = "text/plain"),
        (status = "4XX", description = "`wrong_password`, `not_found`, `undecryptable`, …", body = ErrorBody),
    ))]
fn reservation_by_id() {}

/// A billing key's record by its source.
#[utoipa::path(patch, path = "/payments/reservations/get", tag = "reservations",
    request_body(content = PaymentSourceAccessor, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record (encrypted)", body = PaymentReservation, content_type = "text/plain"),
        (status = "4XX", description = "`wrong_password`, `not_found`, `undecryptable`, …", body = ErrorBody),
    ))]
fn reservation_by_source() {}

/// The events relayed for a payment, with every delivery attempt.
#[utoipa::path(patch, path = "/payments/histories/webhooks", tag = "webhooks",
    request_body(content = PaymentSourceAccessor, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The events, oldest first (encrypted)", body = Vec<PaymentWebhookEvent>, content_type = "text/plain"),
        (status = "4XX", description = "`wrong_password`, `not_found`, `undecryptable`, …", body = ErrorBody),
    ))]
fn webhook_events() {}

/// Send an event again now.
#[utoipa::path(put, path = "/payments/histories/webhooks/redeliver", tag = "webhooks",
    request_body(content = PaymentWebhookRedeliver, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The event, due now (encrypted)", body = PaymentWebhookEvent, content_type = "text/plain"),
        (status = "4XX", description = "`wrong_password`, `not_found`, `undecryptable`, …", body = ErrorBody),
    ))]
fn redeliver() {}

/// A receiver of client events for tests: decrypts and keeps the newest ones.
#[utoipa::path(post, path = "/payments/internal/webhook", tag = "webhooks",
    request_body(content = PaymentWebhook, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 201, description = "Received"),
        (status = 400, description = "`undecryptable`, `not_text_plain`", body = ErrorBody),
    ))]
fn internal_webhook() {}

/// `POST /payments/histories` at the first SDK generation's path.
#[utoipa::path(post, path = "/histories", tag = "legacy",
    request_body(content = PaymentHistoryCreate, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 201, description = "The stored record (encrypted)", body = LegacyPaymentHistory, content_type = "text/plain"),
        (status = "4XX", description = "As `POST /payments/histories`", body = ErrorBody),
        (status = "5XX", description = "As `POST /payments/histories`", body = ErrorBody),
    ))]
fn legacy_create_history() {}

/// `PATCH /payments/histories/{id}` at the first SDK generation's path.
#[utoipa::path(patch, path = "/histories/{id}", tag = "legacy",
    params(("id" = String, Path, description = "The record's id")),
    request_body(content = PaymentPassword, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record (encrypted)", body = LegacyPaymentHistory, content_type = "text/plain"),
        (status = "4XX", description = "As `PATCH /payments/histories/{id}`", body = ErrorBody),
    ))]
fn legacy_history_by_id() {}

/// `PATCH /payments/histories/get` at the first SDK generation's path.
#[utoipa::path(patch, path = "/histories/get", tag = "legacy",
    request_body(content = PaymentSourceAccessor, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record (encrypted)", body = LegacyPaymentHistory, content_type = "text/plain"),
        (status = "4XX", description = "As `PATCH /payments/histories/get`", body = ErrorBody),
    ))]
fn legacy_history_by_source() {}

/// `PUT /payments/histories/cancel` at the first SDK generation's path.
#[utoipa::path(put, path = "/histories/cancel", tag = "legacy",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters")),
    request_body(content = PaymentCancelCreate, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record after the cancel (encrypted)", body = LegacyPaymentHistory, content_type = "text/plain"),
        (status = "4XX", description = "As `PUT /payments/histories/cancel`", body = ErrorBody),
        (status = "5XX", description = "As `PUT /payments/histories/cancel`", body = ErrorBody),
    ))]
fn legacy_cancel_history() {}

/// `POST /payments/reservations` at the first SDK generation's path.
#[utoipa::path(post, path = "/reservations", tag = "legacy",
    request_body(content = PaymentReservationCreate, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 201, description = "The stored record (encrypted)", body = PaymentReservation, content_type = "text/plain"),
        (status = "4XX", description = "As `POST /payments/reservations`", body = ErrorBody),
        (status = "5XX", description = "As `POST /payments/reservations`", body = ErrorBody),
    ))]
fn legacy_create_reservation() {}

/// `PATCH /payments/reservations/{id}` at the first SDK generation's path.
#[utoipa::path(patch, path = "/reservations/{id}", tag = "legacy",
    params(("id" = String, Path, description = "The record's id")),
    request_body(content = PaymentPassword, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record (encrypted)", body = PaymentReservation, content_type = "text/plain"),
        (status = "4XX", description = "As `PATCH /payments/reservations/{id}`", body = ErrorBody),
    ))]
fn legacy_reservation_by_id() {}

/// `PATCH /payments/reservations/get` at the first SDK generation's path.
#[utoipa::path(patch, path = "/reservations/get", tag = "legacy",
    request_body(content = PaymentSourceAccessor, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 200, description = "The record (encrypted)", body = PaymentReservation, content_type = "text/plain"),
        (status = "4XX", description = "As `PATCH /payments/reservations/get`", body = ErrorBody),
    ))]
fn legacy_reservation_by_source() {}

/// `POST /payments/internal/webhook` at the first SDK generation's path.
#[utoipa::path(post, path = "/internal/webhook", tag = "legacy",
    request_body(content = PaymentWebhook, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses(
        (status = 201, description = "Received"),
        (status = 400, description = "`undecryptable`, `not_text_plain`", body = ErrorBody),
    ))]
fn legacy_internal_webhook() {}

/// I'mport's notification (`{imp_uid, merchant_uid, status}`, JSON or form-encoded).
///
/// Only what names the payment is used: the payment is re-read from the PG. Register this
/// URL at the PG. Rate-limited per source address (429 `rate_limited`).
#[utoipa::path(post, path = "/payments/webhooks/iamport", tag = "webhooks",
    request_body(content = payments_api::iamport::IamportWebhook, description = "As I'mport sends it: JSON or form-encoded"),
    responses(
        (status = 200, description = "Taken"),
        (status = "4XX", description = "`invalid_input`, `rate_limited`, `pg_refused`, …", body = ErrorBody),
        (status = "5XX", description = "`pg_failed`, `pg_unavailable`, `database_unavailable`, `pg_timeout`", body = ErrorBody),
    ))]
fn iamport_notification() {}

/// Toss Payments' notification (a payment's status change or a deposit callback).
///
/// Only what names the payment is used: the payment is re-read from the PG. Register this
/// URL at the PG. Rate-limited per source address (429 `rate_limited`).
#[utoipa::path(post, path = "/payments/webhooks/toss", tag = "webhooks",
    request_body(content = serde_json::Value, description = "Toss's `PAYMENT_STATUS_CHANGED` event or `DEPOSIT_CALLBACK` body"),
    responses(
        (status = 200, description = "Taken"),
        (status = "4XX", description = "`invalid_input`, `rate_limited`, `pg_refused`, …", body = ErrorBody),
        (status = "5XX", description = "`pg_failed`, `pg_unavailable`, `database_unavailable`, `pg_timeout`", body = ErrorBody),
    ))]
fn toss_notification() {}

/// PortOne V2's notification, signed the Standard Webhooks way by one of the store's
/// `webhook_secrets` (else 401 `bad_signature`).
///
/// Only what names the payment is used: the payment is re-read from the PG. Rate-limited
/// per source address (429 `rate_limited`).
#[utoipa::path(post, path = "/payments/webhooks/portone", tag = "webhooks",
    request_body(content = payments_api::portone::Webhook, description = "As PortOne sends it"),
    responses(
        (status = 200, description = "Taken"),
        (status = "4XX", description = "`bad_signature`, `invalid_input`, `rate_limited`, `pg_refused`, …", body = ErrorBody),
        (status = "5XX", description = "`pg_failed`, `pg_unavailable`, `database_unavailable`, `pg_timeout`", body = ErrorBody),
    ))]
fn portone_notification() {}

/// `POST /payments/webhooks/iamport` at the first SDK generation's path.
#[utoipa::path(post, path = "/webhooks/iamport", tag = "legacy",
    request_body(content = payments_api::iamport::IamportWebhook, description = "As I'mport sends it: JSON or form-encoded"),
    responses(
        (status = 200, description = "Taken"),
        (status = "4XX", description = "As `POST /payments/webhooks/iamport`", body = ErrorBody),
        (status = "5XX", description = "As `POST /payments/webhooks/iamport`", body = ErrorBody),
    ))]
fn legacy_iamport_notification() {}

/// `POST /payments/webhooks/toss` at the first SDK generation's path.
#[utoipa::path(post, path = "/webhooks/toss", tag = "legacy",
    request_body(content = serde_json::Value, description = "Toss's `PAYMENT_STATUS_CHANGED` event or `DEPOSIT_CALLBACK` body"),
    responses(
        (status = 200, description = "Taken"),
        (status = "4XX", description = "As `POST /payments/webhooks/toss`", body = ErrorBody),
        (status = "5XX", description = "As `POST /payments/webhooks/toss`", body = ErrorBody),
    ))]
fn legacy_toss_notification() {}

/// `POST /payments/webhooks/portone` at the first SDK generation's path.
#[utoipa::path(post, path = "/webhooks/portone", tag = "legacy",
    request_body(content = payments_api::portone::Webhook, description = "As PortOne sends it"),
    responses(
        (status = 200, description = "Taken"),
        (status = "4XX", description = "As `POST /payments/webhooks/portone`", body = ErrorBody),
        (status = "5XX", description = "As `POST /payments/webhooks/portone`", body = ErrorBody),
    ))]
fn legacy_portone_notification() {}

/// Liveness: an empty 200 while the process runs.
#[utoipa::path(get, path = "/monitors/health", tag = "monitors",
    responses((status = 200, description = "Alive")))]
fn health() {}

/// Readiness: an empty 200 while the database answers.
#[utoipa::path(get, path = "/monitors/ready", tag = "monitors",
    responses(
        (status = 200, description = "Ready"),
        (status = 503, description = "`database_unavailable`, with `Retry-After`", body = ErrorBody),
    ))]
fn ready() {}

/// CPU, memory, uptime and request counts.
#[utoipa::path(get, path = "/monitors/performance", tag = "monitors",
    responses((status = 200, description = "The figures (encrypted)", body = Performance, content_type = "text/plain")))]
fn performance() {}

/// The program's name, version, commit and start time.
#[utoipa::path(get, path = "/monitors/system", tag = "monitors",
    responses((status = 200, description = "What runs (encrypted)", body = System, content_type = "text/plain")))]
fn system() {}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "monitors",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
fn openapi_json() {}

/// The event the server posts to a payment's `webhook_url` when the payment changes.
///
/// Headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (Standard Webhooks);
/// the body is encrypted like the API's. Any 2xx answer is a delivery.
#[utoipa::path(post, path = "/{webhook_url}", tag = "webhooks",
    params(
        ("webhook-id" = String, Header, description = "The event's id, stable across attempts: deduplicate on it"),
        ("webhook-timestamp" = String, Header, description = "Unix seconds of this attempt"),
        ("webhook-signature" = String, Header, description = "Space-separated `v1,<Base64 HMAC-SHA256 of id.timestamp.body>`, one per active secret"),
    ),
    request_body(content = PaymentWebhook, content_type = "text/plain", description = ENCRYPTED_BODY),
    responses((status = "2XX", description = "Delivered; any other answer is retried")))]
fn payment_event() {}
