//! `/billing-keys`: issuing, reading, listing and deleting billing keys.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use payments_api::portone::*;
use serde::Deserialize;

use super::super::FakePortOne;
use super::super::error::PortOneFault;
use super::super::model::{self, customer_of};
use super::{Merchant, PortOneJson, QueryOrBody, Reply, page};

/// `POST /billing-keys`: issues a billing key for a card.
pub(in super::super) async fn issue(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    PortOneJson(input): PortOneJson<IssueBillingKeyBody>,
) -> Reply<IssueBillingKeyResponse> {
    let now = fake.now();
    model::check_channel(input.channel_key.as_deref())?;
    let Some(card) = &input.method.card else {
        return Err(PortOneFault::invalid("method.card is required"));
    };
    let (key, event, channel) = {
        let mut data = merchant.lock();
        data.check_store(input.store_id.as_deref())?;
        let customer = input.customer.as_ref().map(customer_of).unwrap_or_default();
        let (key, event) =
            data.issue_billing_key(&card.credential, customer, input.custom_data.clone(), now)?;
        (key, event, data.store.channel())
    };
    if input.skip_webhook != Some(true) {
        fake.notify(&merchant, vec![event]).await;
    }
    Ok(Json(IssueBillingKeyResponse {
        billing_key_info: BillingKeyInfoSummary {
            billing_key: key,
            channels: Some(vec![channel]),
            issued_at: now,
        },
    }))
}

/// `GET /billing-keys/{billingKey}`.
pub(in super::super) async fn one(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(billing_key): Path<String>,
    Query(query): Query<super::StoreQuery>,
) -> Reply<BillingKeyInfo> {
    let data = merchant.lock();
    data.check_store(query.store_id.as_deref())?;
    let record = data.billing_key(&billing_key, fake.now_ms())?;
    Ok(Json(record.render(&billing_key, &data.store)))
}

/// `GET /billing-keys`: a page of the store's billing keys, newest first.
pub(in super::super) async fn list(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    QueryOrBody(input): QueryOrBody<GetBillingKeyInfosBody>,
) -> Reply<GetBillingKeyInfosResponse> {
    let filter = input.filter.unwrap_or_default();
    let data = merchant.lock();
    data.check_store(filter.store_id.as_deref())?;
    let mut found: Vec<BillingKeyInfo> = data
        .billing_keys(fake.now_ms())
        .map(|(key, record)| record.render(key, &data.store))
        .filter(|info| {
            let status = match info {
                BillingKeyInfo::Issued(_) => "ISSUED",
                BillingKeyInfo::Deleted(_) => "DELETED",
            };
            filter
                .status
                .as_ref()
                .is_none_or(|statuses| statuses.iter().any(|s| s == status))
        })
        .filter(|info| {
            filter
                .customer_id
                .as_ref()
                .is_none_or(|id| info.base().customer.id.as_ref() == Some(id))
        })
        .collect();
    found.reverse();
    let (items, page) = page(found, input.page)?;
    Ok(Json(GetBillingKeyInfosResponse { items, page }))
}

/// The query of `DELETE /billing-keys/{billingKey}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(in super::super) struct DeleteQuery {
    store_id: Option<String>,
    #[serde(default)]
    skip_webhook: Option<bool>,
}

/// `DELETE /billing-keys/{billingKey}`.
pub(in super::super) async fn delete(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(billing_key): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Reply<DeleteBillingKeyResponse> {
    let now = fake.now();
    let event = {
        let mut data = merchant.lock();
        data.check_store(query.store_id.as_deref())?;
        data.delete_billing_key(&billing_key, now)?
    };
    if query.skip_webhook != Some(true) {
        fake.notify(&merchant, vec![event]).await;
    }
    Ok(Json(DeleteBillingKeyResponse { deleted_at: now }))
}
