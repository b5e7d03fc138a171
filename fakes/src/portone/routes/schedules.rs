//! Payment schedules: `POST /payments/{paymentId}/schedule`, `GET`/`DELETE
//! /payment-schedules`. A schedule is charged when its time comes on the fake's clock.

use axum::Json;
use axum::extract::{Extension, Path, State};
use payments_api::portone::*;

use super::super::FakePortOne;
use super::super::model::ScheduleRecord;
use super::{Merchant, PortOneJson, QueryOrBody, Reply, page};

/// `POST /payments/{paymentId}/schedule`.
pub(in super::super) async fn create(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    PortOneJson(input): PortOneJson<CreatePaymentScheduleBody>,
) -> Reply<CreatePaymentScheduleResponse> {
    let now = fake.now();
    let mut data = merchant.lock();
    data.check_store(input.payment.store_id.as_deref())?;
    let id = data.schedule(&payment_id, input.payment, input.time_to_pay, now)?;
    Ok(Json(CreatePaymentScheduleResponse {
        schedule: PaymentScheduleSummary { id },
    }))
}

/// `GET /payment-schedules`: a page of the store's schedules, by time to pay.
pub(in super::super) async fn list(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    QueryOrBody(input): QueryOrBody<GetPaymentSchedulesBody>,
) -> Reply<GetPaymentSchedulesResponse> {
    let filter = input.filter.unwrap_or_default();
    let data = merchant.lock();
    data.check_store(filter.store_id.as_deref())?;
    let mut found: Vec<(&str, &ScheduleRecord)> = data
        .schedules(fake.now_ms())
        .filter(|(_, s)| {
            filter
                .billing_key
                .as_ref()
                .is_none_or(|k| *k == s.input.billing_key)
        })
        .filter(|(_, s)| filter.from.is_none_or(|from| s.time_to_pay >= from))
        .filter(|(_, s)| filter.until.is_none_or(|until| s.time_to_pay < until))
        .filter(|(_, s)| {
            filter
                .status
                .as_ref()
                .is_none_or(|statuses| statuses.contains(&s.status))
        })
        .collect();
    found.sort_by(|a, b| (a.1.time_to_pay, a.0).cmp(&(b.1.time_to_pay, b.0)));
    let (items, page) = page(found, input.page)?;
    Ok(Json(GetPaymentSchedulesResponse {
        items: items
            .into_iter()
            .map(|(id, s)| s.render(id, &data.store))
            .collect(),
        page,
    }))
}

/// `DELETE /payment-schedules`: revokes the listed schedules, or a billing key's.
pub(in super::super) async fn revoke(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    QueryOrBody(input): QueryOrBody<RevokePaymentSchedulesBody>,
) -> Reply<RevokePaymentSchedulesResponse> {
    let now = fake.now();
    let mut data = merchant.lock();
    data.check_store(input.store_id.as_deref())?;
    let revoked = data.revoke(
        input.billing_key.as_deref(),
        input.schedule_ids.as_deref(),
        now,
    )?;
    Ok(Json(RevokePaymentSchedulesResponse {
        revoked_schedule_ids: revoked,
        revoked_at: Some(now),
    }))
}
