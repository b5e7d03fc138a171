//! `/payments/prepare`: amounts registered before a payment, which it must then match.

use axum::extract::{Extension, Path, State};
use payments_api::iamport::*;

use super::super::FakeIamport;
use super::{IamportBody, Merchant, Reply, ok, positive};

/// `POST /payments/prepare`.
pub(in super::super) async fn prepare(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportPaymentPrepare>,
) -> Reply<IamportPaymentPrepare> {
    positive("amount", input.amount)?;
    let now = fake.now_ms();
    merchant
        .lock()
        .prepare(&input.merchant_uid, input.amount, now)?;
    ok(input)
}

/// `PUT /payments/prepare`.
pub(in super::super) async fn change(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportPaymentPrepare>,
) -> Reply<IamportPaymentPrepare> {
    positive("amount", input.amount)?;
    let now = fake.now_ms();
    merchant
        .lock()
        .change_prepared(&input.merchant_uid, input.amount, now)?;
    ok(input)
}

/// `GET /payments/prepare/{merchant_uid}`.
pub(in super::super) async fn read(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
) -> Reply<IamportPaymentPrepare> {
    let now = fake.now_ms();
    let amount = merchant.lock().prepared(&merchant_uid, now)?;
    ok(IamportPaymentPrepare {
        merchant_uid,
        amount,
    })
}
