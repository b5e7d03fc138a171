//! Webhooks: what the PGs post to the server, the client-facing event log and
//! redelivery, and the test receiver of client events.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use payments_api::payments::*;

use super::error::ApiError;
use super::{AppState, Encrypted, Reply, encrypted};
use crate::pg;

/// `POST /payments/webhooks/{pg}`: a PG's notification, plain JSON or form-encoded as the
/// PG sends it. Only what names the payment is used: the payment is re-read from the PG.
pub async fn notified(
    code: VendorCode,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    // A signed notification whose signature does not check out changes nothing.
    s.records
        .authenticate(code, &headers, &body)
        .map_err(|why| ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", why))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let notice = (pg::vendor(code).read_notice)(content_type, &body)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    s.records.notified(code, notice).await?;
    Ok(StatusCode::OK.into_response())
}

/// `PATCH /payments/histories/webhooks`: the events of a payment and their attempts.
pub async fn events(
    State(s): State<AppState>,
    Encrypted(input, scheme): Encrypted<PaymentSourceAccessor>,
) -> Reply {
    let events = s.records.webhook_events(&input).await?;
    Ok(encrypted(&s.codec, scheme, StatusCode::OK, &events))
}

/// `PUT /payments/histories/webhooks/redeliver`: makes an event due again now.
pub async fn redeliver(
    State(s): State<AppState>,
    Encrypted(input, scheme): Encrypted<PaymentWebhookRedeliver>,
) -> Reply {
    let event = s.records.redeliver(&input).await?;
    Ok(encrypted(&s.codec, scheme, StatusCode::OK, &event))
}

/// `POST /payments/internal/webhook`: a receiver of client events, as the original's test
/// client had; it decrypts and keeps the newest ones in memory.
pub async fn sink(
    State(s): State<AppState>,
    Encrypted(event, _): Encrypted<PaymentWebhook>,
) -> Response {
    let mut received = s.received.lock().unwrap_or_else(|e| e.into_inner());
    if received.len() >= 1000 {
        received.pop_front();
    }
    tracing::info!(event = %event.id, payment = %event.current.id, "client event received");
    received.push_back(event);
    StatusCode::CREATED.into_response()
}
