//! `/subscribe/payments/schedule`: charges of a billing key that the fake makes when its
//! clock reaches their time.

use axum::extract::{Extension, Path, Query, State};
use payments_api::iamport::*;
use serde::Deserialize;

use super::super::FakeIamport;
use super::super::error::IamportFault;
use super::super::model::unknown_schedule;
use super::{IamportBody, Merchant, Reply, ok};

/// `POST /subscribe/payments/schedule`.
pub(in super::super) async fn schedule(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportScheduleCreate>,
) -> Reply<Vec<IamportSchedule>> {
    let now_ms = fake.now_ms();
    let created = merchant
        .lock()
        .schedule(&input.customer_uid, &input.schedules, now_ms)?;
    ok(created)
}

/// `POST /subscribe/payments/unschedule`.
pub(in super::super) async fn unschedule(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportUnschedule>,
) -> Reply<Vec<IamportSchedule>> {
    let now_ms = fake.now_ms();
    let revoked =
        merchant
            .lock()
            .unschedule(input.customer_uid.as_deref(), &input.merchant_uid, now_ms)?;
    ok(revoked)
}

/// `GET /subscribe/payments/schedule/{merchant_uid}`.
pub(in super::super) async fn read(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
) -> Reply<IamportSchedule> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let record = data
        .schedule_record(&merchant_uid, now)
        .ok_or_else(unknown_schedule)?;
    ok(data.schedule_view(&record.schedule, now))
}

/// `PUT /subscribe/payments/schedule/{merchant_uid}`: a waiting schedule's new time.
pub(in super::super) async fn change(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
    IamportBody(input): IamportBody<IamportScheduleTime>,
) -> Reply<IamportSchedule> {
    let now = fake.now_ms();
    let moved = merchant
        .lock()
        .move_schedule(&merchant_uid, input.schedule_at, now)?;
    ok(moved)
}

/// `POST /subscribe/payments/schedule/{merchant_uid}/reschedule`: a failed or revoked
/// schedule waits again, for a new time.
pub(in super::super) async fn reschedule(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
    IamportBody(input): IamportBody<IamportScheduleTime>,
) -> Reply<IamportSchedule> {
    let now = fake.now_ms();
    let scheduled = merchant
        .lock()
        .reschedule(&merchant_uid, input.schedule_at, now)?;
    ok(scheduled)
}

/// `POST /subscribe/payments/schedule/{merchant_uid}/retry`: a failed or revoked schedule
/// charged at once. Answered as the API's other charges are (`code: 0` and the payment,
/// paid or failed), with the `paid` webhook when it is paid.
pub(in super::super) async fn retry(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
) -> Reply<IamportPayment> {
    let now = fake.now_ms();
    let (payment, outgoing) = {
        let mut data = merchant.lock();
        let imp_uid = data.retry_schedule(&merchant_uid, now)?;
        let payment = data.payment(&imp_uid, now)?;
        let status = payment.status();
        let outgoing = (status == IamportPaymentStatus::Paid)
            .then(|| fake.webhook(&data.settings, &imp_uid, payment, status, None))
            .flatten();
        (payment.render(&imp_uid), outgoing)
    };
    fake.send(outgoing.into_iter().collect()).await;
    ok(payment)
}

/// The query of `GET /subscribe/payments/schedule` (v1.openapi.json, "결제예약 복수조회"):
/// schedules whose `schedule_at` is in [`schedule_from`, `schedule_to`), both required Unix
/// seconds; `schedule_status` one of `scheduled`, `executed`, `revoked` (all when absent);
/// `page` from 1; `limit` 1 to 1,000, default 20; `sorting=scheduled` oldest first, newest
/// first otherwise.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(in super::super) struct ScheduleRange {
    /// Unix seconds, required: the first `schedule_at` listed.
    schedule_from: Option<i64>,
    /// Unix seconds, required: the `schedule_at` from which none is listed.
    schedule_to: Option<i64>,
    schedule_status: Option<IamportScheduleStatus>,
    /// From 1.
    page: Option<u64>,
    /// 1 to 1,000; 20 by default.
    limit: Option<u64>,
    /// `scheduled`: oldest first; latest first otherwise.
    sorting: Option<String>,
}

/// The query of `GET /subscribe/payments/schedule/customers/{customer_uid}`
/// (v1.openapi.json, "결제예약 복수조회(빌링키)"): `from` and `to` (required),
/// `schedule-status`, `page`; no `limit` or `sorting`: 20 a page, newest first.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(in super::super) struct CustomerScheduleRange {
    /// Unix seconds, required: the first `schedule_at` listed.
    from: Option<i64>,
    /// Unix seconds, required: the `schedule_at` from which none is listed.
    to: Option<i64>,
    #[serde(rename = "schedule-status")]
    schedule_status: Option<IamportScheduleStatus>,
    /// From 1.
    page: Option<u64>,
}

/// One page of the store's schedules (of `customer_uid` only, when given) that `range`
/// asks for.
fn find(
    fake: &FakeIamport,
    merchant: &Merchant,
    customer_uid: Option<&str>,
    range: ScheduleRange,
) -> Reply<Vec<IamportSchedule>> {
    let (Some(from), Some(to)) = (range.schedule_from, range.schedule_to) else {
        return Err(IamportFault::invalid(
            "조회 시작시각과 종료시각(Unix timestamp)은 필수입니다.",
        ));
    };
    let page = range.page.unwrap_or(1);
    let limit = range.limit.unwrap_or(20);
    if page == 0 || !(1..=1000).contains(&limit) {
        return Err(IamportFault::invalid(
            "page 는 1 이상, limit 은 1에서 1000 사이여야 합니다.",
        ));
    }
    let oldest_first = range.sorting.as_deref() == Some("scheduled");
    let now = fake.now_ms();
    let data = merchant.lock();
    let mut found: Vec<&IamportSchedule> = data
        .schedule_records(now)
        .map(|record| &record.schedule)
        .filter(|s| customer_uid.is_none_or(|uid| s.customer_uid == uid))
        .filter(|s| (from..to).contains(&s.schedule_at))
        .filter(|s| {
            range
                .schedule_status
                .is_none_or(|status| s.schedule_status == status)
        })
        .collect();
    found.sort_by(|a, b| {
        let order = (a.schedule_at, &a.merchant_uid).cmp(&(b.schedule_at, &b.merchant_uid));
        if oldest_first { order } else { order.reverse() }
    });
    let start = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    ok(found
        .into_iter()
        .skip(start)
        .take(limit as usize)
        .map(|s| data.schedule_view(s, now))
        .collect())
}

/// `GET /subscribe/payments/schedule`: the store's schedules in a time range.
pub(in super::super) async fn list(
    State(fake): State<FakeIamport>,
    merchant: Merchant,
    Query(range): Query<ScheduleRange>,
) -> Reply<Vec<IamportSchedule>> {
    find(&fake, &merchant, None, range)
}

/// `GET /subscribe/payments/schedule/customers/{customer_uid}`: one billing key's
/// schedules in a time range.
pub(in super::super) async fn of_customer(
    State(fake): State<FakeIamport>,
    merchant: Merchant,
    Path(customer_uid): Path<String>,
    Query(query): Query<CustomerScheduleRange>,
) -> Reply<Vec<IamportSchedule>> {
    let range = ScheduleRange {
        schedule_from: query.from,
        schedule_to: query.to,
        schedule_status: query.schedule_status,
        page: query.page,
        limit: None,
        sorting: None,
    };
    find(&fake, &merchant, Some(&customer_uid), range)
}
