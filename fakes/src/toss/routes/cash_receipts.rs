//! `/v1/cash-receipts`: cash receipts of completed payments.

use axum::Json;
use axum::extract::{Extension, Path, State};
use payments_api::toss::*;

use super::super::FakeToss;
use super::{Merchant, Reply, TossJson};

/// `POST /v1/cash-receipts`.
pub(in super::super) async fn issue(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossCashReceiptCreate>,
) -> Reply<TossCashReceipt> {
    let now = fake.inner.core.clock.now_kst();
    let receipt = merchant
        .lock()
        .issue_cash_receipt(&input, now, fake.now_ms())?;
    Ok(Json(receipt))
}

/// `POST /v1/cash-receipts/{receiptKey}/cancel`.
pub(in super::super) async fn cancel(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(receipt_key): Path<String>,
    TossJson(_input): TossJson<TossCashReceiptCancel>,
) -> Reply<TossCashReceipt> {
    let now = fake.inner.core.clock.now_kst();
    let receipt = merchant
        .lock()
        .cancel_cash_receipt(&receipt_key, now, fake.now_ms())?;
    Ok(Json(receipt))
}
