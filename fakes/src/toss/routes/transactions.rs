//! `GET /v1/transactions`: the merchant's transactions (approvals and cancels) over a time
//! range, for reconciliation.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use payments_api::toss::*;

use super::super::FakeToss;
use super::super::error::TossFault;
use super::super::model::{parse_date_time, parse_limit};
use super::{Merchant, Reply};

/// The query's parameters; a malformed query is Toss's `INVALID_REQUEST`.
pub(super) fn parameters(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, TossFault> {
    query
        .map(|Query(q)| q)
        .map_err(|e| TossFault::invalid(e.body_text()))
}

/// `GET /v1/transactions?startDate&endDate[&startingAfter][&limit]` (Toss's reference,
/// 거래 조회): a JSON array of Transaction objects in time order.
pub(in super::super) async fn list(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Reply<Vec<TossTransaction>> {
    let query = parameters(query)?;
    let get = |name: &str| query.get(name).map(String::as_str);
    let start = parse_date_time("startDate", get("startDate"))?;
    let end = parse_date_time("endDate", get("endDate"))?;
    let limit = parse_limit(get("limit"))?;
    let page = merchant.lock().list_transactions(
        start,
        end,
        get("startingAfter"),
        limit,
        fake.now_ms(),
    )?;
    Ok(Json(page))
}
