//! `/receipts/{imp_uid}`: a payment's cash receipt.

use axum::extract::{Extension, Path, State};
use payments_api::iamport::*;

use super::super::FakeIamport;
use super::{IamportBody, Merchant, Reply, ok};

/// `POST`: issues it.
pub(in super::super) async fn issue(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
    IamportBody(input): IamportBody<IamportReceiptCreate>,
) -> Reply<IamportReceipt> {
    let now = fake.now_ms();
    let receipt = merchant.lock().issue_receipt(&imp_uid, &input, now)?;
    ok(receipt)
}

/// `GET`: reads it.
pub(in super::super) async fn read(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportReceipt> {
    let now = fake.now_ms();
    let receipt = merchant.lock().receipt(&imp_uid, now)?.clone();
    ok(receipt)
}

/// `DELETE`: cancels it.
pub(in super::super) async fn cancel(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportReceipt> {
    let now = fake.now_ms();
    let receipt = merchant.lock().cancel_receipt(&imp_uid, now)?;
    ok(receipt)
}
