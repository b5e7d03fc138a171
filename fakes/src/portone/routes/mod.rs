//! PortOne's V2 API, one module per resource. A handler reads the request, asks the model
//! for the change under the store's lock, sends the webhooks the change makes, and answers.

pub(super) mod auth;
pub(super) mod billing_keys;
pub(super) mod payments;
pub(super) mod schedules;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, Query, Request};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::MerchantHandle;
use super::error::PortOneFault;

/// A JSON body; a malformed one is `INVALID_REQUEST`. An empty body reads as `{}`.
pub(super) struct PortOneJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PortOneJson<T> {
    type Rejection = PortOneFault;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| PortOneFault::invalid(e.body_text()))?;
        parse(&bytes).map(PortOneJson)
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PortOneFault> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(PortOneFault::invalid)
}

/// The input of a `GET` (or `DELETE`) that PortOne takes either as a JSON body or as the
/// JSON text of the `requestBody` query parameter.
pub(super) struct QueryOrBody<T>(pub T);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestBodyParam {
    request_body: Option<String>,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for QueryOrBody<T> {
    type Rejection = PortOneFault;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Query(in_query) = Query::<RequestBodyParam>::try_from_uri(request.uri())
            .map_err(|e| PortOneFault::invalid(e.body_text()))?;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| PortOneFault::invalid(e.body_text()))?;
        match in_query.request_body {
            Some(text) => parse(text.as_bytes()).map(QueryOrBody),
            None => parse(&bytes).map(QueryOrBody),
        }
    }
}

/// The optional `storeId` query parameter of single-record routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(super) struct StoreQuery {
    pub store_id: Option<String>,
}

pub(super) type Reply<T> = Result<Json<T>, PortOneFault>;
pub(super) type Merchant = Extension<Arc<MerchantHandle>>;

/// A page of `items`: `number` from 0, `size` 10 by default and at most 1,000.
pub(super) fn page<T>(
    items: Vec<T>,
    input: Option<payments_api::portone::PageInput>,
) -> Result<(Vec<T>, payments_api::portone::PageInfo), PortOneFault> {
    let input = input.unwrap_or_default();
    let number = input.number.unwrap_or(0);
    let size = input.size.unwrap_or(10);
    if number < 0 || !(1..=1000).contains(&size) {
        return Err(PortOneFault::invalid(
            "page.number must be 0 or more and page.size 1 to 1000",
        ));
    }
    let total = i32::try_from(items.len()).unwrap_or(i32::MAX);
    let skip = usize::try_from(number)
        .unwrap_or(0)
        .saturating_mul(usize::try_from(size).unwrap_or(0));
    let taken: Vec<T> = items
        .into_iter()
        .skip(skip)
        .take(usize::try_from(size).unwrap_or(0))
        .collect();
    let info = payments_api::portone::PageInfo {
        number,
        size: i32::try_from(taken.len()).unwrap_or(i32::MAX),
        total_count: total,
    };
    Ok((taken, info))
}
