//! Webhooks: what the PGs post to the server, the client-facing event log and
//! redelivery, and the test receiver of client events.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use payments_api::payments::*;
use uuid::Uuid;

use super::error::ApiError;
use super::{AppState, Encrypted, Reply, encrypted};
use crate::clock::time;
use crate::pg;
use crate::records::{Lookup, RecordError};

/// `POST /payments/webhooks/{pg}`: a PG's notification, plain JSON or form-encoded as the
/// PG sends it. Only what names the payment is used: the payment is re-read from the PG.
pub async fn notified(
    code: VendorCode,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
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
    Encrypted(input): Encrypted<PaymentSourceAccessor>,
) -> Reply {
    let row = s
        .records
        .history_row(Lookup::Source(&input.source), &input.password)
        .await?;
    let events: Vec<PaymentWebhookEvent> = s
        .records
        .db
        .events_of(&row.id)
        .await
        .map_err(RecordError::from)?
        .into_iter()
        .map(|(event, attempts)| view(event, attempts))
        .collect();
    Ok(encrypted(&s.codec, StatusCode::OK, &events))
}

/// `PUT /payments/histories/webhooks/redeliver`: makes an event due again now.
pub async fn redeliver(
    State(s): State<AppState>,
    Encrypted(input): Encrypted<PaymentWebhookRedeliver>,
) -> Reply {
    let row = s
        .records
        .history_row(Lookup::Source(&input.source), &input.password)
        .await?;
    let event_id = input.event_id.to_string();
    let now = s.records.clock.now_ms();
    let redelivered = s
        .records
        .db
        .redeliver(&row.id, &event_id, now)
        .await
        .map_err(RecordError::from)?;
    if !redelivered {
        return Err(RecordError::NotFound("event of this payment").into());
    }
    s.records.wake.notify_one();
    let event = s
        .records
        .db
        .events_of(&row.id)
        .await
        .map_err(RecordError::from)?
        .into_iter()
        .find(|(e, _)| e.id == event_id)
        .map(|(e, a)| view(e, a))
        .ok_or(RecordError::NotFound("event of this payment"))?;
    Ok(encrypted(&s.codec, StatusCode::OK, &event))
}

fn view(event: crate::db::EventRow, attempts: Vec<crate::db::AttemptRow>) -> PaymentWebhookEvent {
    let state = match event.state.as_str() {
        "delivered" => WebhookEventState::Delivered,
        "failed" => WebhookEventState::Failed,
        _ => WebhookEventState::Pending,
    };
    PaymentWebhookEvent {
        id: Uuid::parse_str(&event.id).unwrap_or_default(),
        webhook_url: event.webhook_url,
        state,
        created_at: time(event.created_at),
        next_attempt_at: (state == WebhookEventState::Pending).then(|| time(event.next_attempt_at)),
        delivered_at: event.delivered_at.map(time),
        attempts: attempts
            .into_iter()
            .map(|a| PaymentWebhookAttempt {
                attempted_at: time(a.attempted_at),
                status: a.status.and_then(|s| u16::try_from(s).ok()),
                latency_ms: u64::try_from(a.latency_ms).unwrap_or(0),
                excerpt: a.excerpt,
            })
            .collect(),
    }
}

/// `POST /payments/internal/webhook`: a receiver of client events, as the original's test
/// client had; it decrypts and keeps the newest ones in memory.
pub async fn sink(
    State(s): State<AppState>,
    Encrypted(event): Encrypted<PaymentWebhook>,
) -> Response {
    let mut received = s.received.lock().unwrap_or_else(|e| e.into_inner());
    if received.len() >= 1000 {
        received.pop_front();
    }
    tracing::info!(event = %event.id, payment = %event.current.id, "client event received");
    received.push_back(event);
    StatusCode::CREATED.into_response()
}
