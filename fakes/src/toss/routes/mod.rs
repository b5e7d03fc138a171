//! Toss's `/v1` API, one module per resource. A handler reads the request, asks the model
//! for the change under the merchant's lock, sends the webhooks the change makes, and
//! answers.

pub(super) mod billing;
pub(super) mod cash_receipts;
pub(super) mod payments;
pub(super) mod transactions;
pub(super) mod virtual_accounts;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, Request};
use serde::de::DeserializeOwned;

use payments_api::toss::TossPayment;

use super::error::TossFault;
use super::model::{Event, Payment};
use super::{FakeToss, MerchantHandle};

/// A JSON body; a malformed one is Toss's `INVALID_REQUEST`. An empty body reads as `{}`.
pub(super) struct TossJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for TossJson<T> {
    type Rejection = TossFault;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| TossFault::invalid(e.body_text()))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(TossJson)
            .map_err(TossFault::invalid)
    }
}

pub(super) type Reply<T> = Result<Json<T>, TossFault>;

/// A payment answered as JSON written once: the same bytes go into the webhook that tells
/// of its change ([`answer_change`]). Writing the payment a second time for the webhook
/// was about a tenth of a virtual account's issue, by instructions under callgrind.
pub(super) struct PaymentJson(Bytes);

impl axum::response::IntoResponse for PaymentJson {
    fn into_response(self) -> axum::response::Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// Tells the merchant of `payment`'s change (after the first attempts, in sync mode) and
/// answers it.
pub(super) async fn answer_change(
    fake: &FakeToss,
    merchant: &MerchantHandle,
    payment: TossPayment,
) -> Result<PaymentJson, TossFault> {
    let json = Bytes::from(
        serde_json::to_vec(&payment)
            .map_err(|e| TossFault::with("FAILED_INTERNAL_SYSTEM_PROCESSING", e.to_string()))?,
    );
    fake.notify(merchant, Event::of_change_json(&payment, json.clone()))
        .await;
    Ok(PaymentJson(json))
}
pub(super) type Merchant = Extension<Arc<MerchantHandle>>;

/// Changes the payment `key` by `change` (which is given the time, in unix seconds)
/// under the merchant's lock, and answers it as it is after.
pub(super) fn change_payment(
    fake: &FakeToss,
    merchant: &MerchantHandle,
    key: &str,
    change: impl FnOnce(&mut Payment, i64) -> Result<(), TossFault>,
) -> Result<TossPayment, TossFault> {
    let now = fake.inner.core.clock.now_kst().timestamp();
    merchant
        .lock()
        .change_payment(key, fake.now_ms(), |payment| {
            change(payment, now).map(|()| payment.render(key))
        })?
}

/// How long a virtual account's refund stays `PENDING`, in ms.
pub(super) fn refund_delay_ms(fake: &FakeToss) -> i64 {
    i64::try_from(fake.inner.config.refund_delay.as_millis()).unwrap_or(i64::MAX)
}

/// How long a payment may wait `IN_PROGRESS`, in ms.
pub(super) fn window_ms(fake: &FakeToss) -> i64 {
    i64::try_from(fake.inner.config.payment_window.as_millis()).unwrap_or(i64::MAX)
}
