//! `/subscribe/customers/{customer_uid}` and `/subscribe/customers`: billing keys.

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use payments_api::iamport::*;

use super::super::FakeIamport;
use super::super::error::IamportFault;
use super::{IamportBody, Merchant, Reply, ok, today};

/// The most billing keys one `GET /subscribe/customers` reads, as for payments.
const MANY_AT_ONCE: usize = 100;

/// `GET /subscribe/customers?customer_uid[]=…`: several billing keys at once
/// (v1.openapi.json `customer_view_multiple`): 200 when every one was found, 207
/// Multi-Status when only some were, 404 when none was.
pub(in super::super) async fn many(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    RawQuery(query): RawQuery,
) -> Result<(StatusCode, Json<IamportResponse<Vec<IamportSubscription>>>), IamportFault> {
    let query = query.unwrap_or_default();
    let asked: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == "customer_uid[]" || key == "customer_uid")
        .map(|(_, value)| value.into_owned())
        .collect();
    if asked.is_empty() {
        return Err(IamportFault::invalid("customer_uid[] 가 필요합니다."));
    }
    if asked.len() > MANY_AT_ONCE {
        return Err(IamportFault::invalid(
            "한 번에 100건까지 조회할 수 있습니다.",
        ));
    }
    let now = fake.now_ms();
    let data = merchant.lock();
    let found: Vec<IamportSubscription> = asked
        .iter()
        .filter_map(|uid| data.subscription(uid, now).ok())
        .map(|record| record.subscription.clone())
        .collect();
    if found.is_empty() {
        return Err(IamportFault::not_found(
            "요청하신 customer_uid 로 등록된 정보를 찾을 수 없습니다.",
        ));
    }
    let status = if found.len() < asked.len() {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    Ok((status, Json(IamportResponse::success(found))))
}

/// `GET`: a billing key.
pub(in super::super) async fn read(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let subscription = merchant
        .lock()
        .subscription(&customer_uid, now)?
        .subscription
        .clone();
    ok(subscription)
}

/// `POST`: registers (or replaces) a billing key.
pub(in super::super) async fn register(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
    IamportBody(input): IamportBody<IamportSubscriptionCreate>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let today = today(&fake);
    let subscription = merchant
        .lock()
        .register_card(&customer_uid, &input.card, today, now)?;
    ok(subscription)
}

/// `DELETE`: forgets a billing key that no schedule waits to charge.
pub(in super::super) async fn delete(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let subscription = merchant.lock().delete_customer(&customer_uid, now)?;
    ok(subscription)
}
