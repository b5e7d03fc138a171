//! I'mport's REST API, one module per resource. A handler reads the request, asks the
//! model for the change under the merchant's lock, sends the webhooks the change makes,
//! and answers in I'mport's envelope.

pub(super) mod certifications;
pub(super) mod customers;
pub(super) mod payments;
pub(super) mod prepare;
pub(super) mod receipts;
pub(super) mod schedules;
pub(super) mod subscribe;
pub(super) mod token;
pub(super) mod vbanks;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, Request};
use payments_api::iamport::IamportResponse;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::IamportFault;
use super::{FakeIamport, MerchantHandle};

/// A JSON body; a malformed one is a 400 in I'mport's envelope. Empty reads as `{}`.
pub(super) struct IamportJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for IamportJson<T> {
    type Rejection = IamportFault;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| IamportFault::invalid(e.body_text()))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(IamportJson)
            .map_err(|e| IamportFault::invalid(format!("요청 형식이 올바르지 않습니다: {e}")))
    }
}

pub(super) type Reply<T> = Result<Json<IamportResponse<T>>, IamportFault>;
pub(super) type Merchant = Extension<Arc<MerchantHandle>>;

pub(super) fn ok<T: Serialize>(value: T) -> Reply<T> {
    Ok(Json(IamportResponse::success(value)))
}

pub(super) fn positive(name: &str, amount: f64) -> Result<f64, IamportFault> {
    if amount.is_finite() && amount > 0.0 {
        Ok(amount)
    } else {
        Err(IamportFault::invalid(format!(
            "{name} 는 0보다 큰 숫자여야 합니다: {amount}"
        )))
    }
}

/// The fake's date in KST, against which card expiries are checked.
pub(super) fn today(fake: &FakeIamport) -> chrono::NaiveDate {
    fake.inner
        .core
        .clock
        .now()
        .with_timezone(&crate::clock::kst())
        .date_naive()
}
