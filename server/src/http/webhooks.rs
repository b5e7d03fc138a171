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
use crate::derive;
use crate::records::{Lookup, RecordError};

/// `POST /payments/webhooks/iamport`: `{imp_uid, merchant_uid, status}`, JSON or
/// form-encoded. Only `imp_uid` is used: the payment is re-read from I'mport.
pub async fn iamport(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Reply {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("x-www-form-urlencoded"));
    let imp_uid = if form {
        let text = String::from_utf8_lossy(&body);
        reqwest::Url::parse(&format!("http://form/?{text}"))
            .ok()
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "imp_uid")
                    .map(|(_, v)| v.into_owned())
            })
    } else {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("imp_uid").and_then(|u| u.as_str()).map(str::to_owned))
    };
    let imp_uid = imp_uid
        .filter(|u| !u.is_empty() && u.len() <= 255)
        .ok_or_else(|| ApiError::invalid("the body has no imp_uid"))?;
    s.records.refresh(VendorCode::Iamport, &imp_uid).await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /payments/webhooks/toss`: `PAYMENT_STATUS_CHANGED` (the payment in `data`) or a
/// `DEPOSIT_CALLBACK` (checked against the virtual account's `secret`). Only the payment's
/// key is used: the payment is re-read from Toss.
pub async fn toss(State(s): State<AppState>, body: Bytes) -> Reply {
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("the body is not JSON: {e}")))?;
    let event_type = value.get("eventType").and_then(|v| v.as_str());
    let payment_key = match event_type {
        Some("PAYMENT_STATUS_CHANGED") => value
            .pointer("/data/paymentKey")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::invalid("PAYMENT_STATUS_CHANGED without data.paymentKey"))?,
        Some("DEPOSIT_CALLBACK") | None if value.get("secret").is_some() => {
            match deposit_callback(&s, &value).await? {
                Some(key) => key,
                // Toss also sends PAYMENT_STATUS_CHANGED, which carries the key; an unknown
                // order is acknowledged so Toss does not retry it for days.
                None => return Ok(StatusCode::OK.into_response()),
            }
        }
        // Events of other products (payouts, BrandPay) are none of this server's business.
        _ => return Ok(StatusCode::OK.into_response()),
    };
    s.records
        .refresh(VendorCode::TossPayments, &payment_key)
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// The paymentKey of the virtual account a `DEPOSIT_CALLBACK` names, if its secret matches.
async fn deposit_callback(
    s: &AppState,
    value: &serde_json::Value,
) -> Result<Option<String>, ApiError> {
    let order_id = value
        .get("orderId")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let secret = value
        .get("secret")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let rows = s
        .records
        .db
        .histories_by_source_id(VendorCode::TossPayments.as_str(), order_id)
        .await
        .map_err(RecordError::from)?;
    for row in rows {
        let history = s.records.open_history(&row).await?;
        if let PaymentData::Toss(payments_api::toss::TossPayment::VirtualAccount(va)) =
            &history.data
        {
            let expected = va.secret.as_bytes();
            let given = secret.as_bytes();
            let same = expected.len() == given.len()
                && expected
                    .iter()
                    .zip(given)
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
            if same {
                return Ok(Some(row.vendor_uid));
            }
            return Err(RecordError::BadSecret(
                "the deposit callback's secret does not match the virtual account",
            )
            .into());
        }
    }
    Ok(None)
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
        created_at: derive::time(event.created_at),
        next_attempt_at: (state == WebhookEventState::Pending)
            .then(|| derive::time(event.next_attempt_at)),
        delivered_at: event.delivered_at.map(derive::time),
        attempts: attempts
            .into_iter()
            .map(|a| PaymentWebhookAttempt {
                attempted_at: derive::time(a.attempted_at),
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
