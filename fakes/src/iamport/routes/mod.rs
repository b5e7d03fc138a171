//! I'mport's REST API, one module per resource. A handler reads the request, asks the
//! model for the change under the merchant's lock, sends the webhooks the change makes,
//! and answers in I'mport's envelope.

mod body;
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
use axum::extract::Extension;
use payments_api::iamport::{IamportPayment, IamportPaymentStatus, IamportResponse};
use serde::Serialize;

use super::error::IamportFault;
use super::model::{Payment, Settings};
use super::{FakeIamport, MerchantHandle};

pub(super) use body::IamportBody;

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

/// Whether a change of a payment is announced, and which cancellation it is.
#[derive(Debug, Default)]
pub(super) struct Notice {
    pub send: bool,
    pub cancellation_id: Option<String>,
}

impl Notice {
    /// The change is announced.
    pub(super) fn sent() -> Self {
        Self {
            send: true,
            cancellation_id: None,
        }
    }
}

/// Changes the payment `imp_uid` by `change` (which sees the merchant's settings and the
/// time in unix seconds) under the merchant's lock, answers the payment as it is after,
/// and sends the webhook of `status` if `change` says so, once the lock is released.
/// `unknown` is the answer when there is no such payment.
pub(super) async fn change_payment(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    imp_uid: &str,
    status: IamportPaymentStatus,
    unknown: fn() -> IamportFault,
    change: impl FnOnce(&mut Payment, &Settings, i64) -> Result<Notice, IamportFault>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let (payment, outgoing) = {
        let mut data = merchant.lock();
        let settings = data.settings.clone();
        let changed = data.change_payment(imp_uid, now_ms, |payment| {
            let notice = change(payment, &settings, now_ms / 1000)?;
            let outgoing = notice
                .send
                .then(|| fake.webhook(&settings, imp_uid, payment, status, notice.cancellation_id))
                .flatten();
            Ok::<_, IamportFault>((payment.render(imp_uid), outgoing))
        });
        changed.map_err(|_| unknown())??
    };
    fake.send(outgoing.into_iter().collect()).await;
    ok(payment)
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
