//! `/v1/cash-receipts`: cash receipts of completed payments.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use payments_api::toss::*;

use super::super::FakeToss;
use super::super::error::TossFault;
use super::super::model::{parse_date, parse_limit};
use super::transactions::parameters;
use super::{Merchant, Reply, TossJson};

/// `GET /v1/cash-receipts?requestDate[&cursor][&limit]` (Toss's reference, 현금영수증
/// 조회): the cash receipts issued and cancelled on a day, a page at a time.
pub(in super::super) async fn list(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Reply<TossCashReceiptPage> {
    let query = parameters(query)?;
    let get = |name: &str| query.get(name).map(String::as_str);
    let day = parse_date("requestDate", get("requestDate"))?;
    let limit = parse_limit(get("limit"))?;
    let cursor = get("cursor")
        .map(|c| {
            c.parse::<u64>().map_err(|_| {
                TossFault::invalid(format!("cursor must be a page's lastCursor, got {c:?}"))
            })
        })
        .transpose()?;
    let page = merchant
        .lock()
        .list_cash_receipts(day, cursor, limit, fake.now_ms());
    Ok(Json(page))
}

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
