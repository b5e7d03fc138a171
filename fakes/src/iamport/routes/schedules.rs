//! `/subscribe/payments/schedule`: charges of a billing key that the fake makes when its
//! clock reaches their time.

use axum::extract::{Extension, Path, State};
use payments_api::iamport::*;

use super::super::FakeIamport;
use super::super::error::IamportFault;
use super::{IamportJson, Merchant, Reply, ok};

/// `POST /subscribe/payments/schedule`.
pub(in super::super) async fn schedule(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportScheduleCreate>,
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
    IamportJson(input): IamportJson<IamportUnschedule>,
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
        .ok_or_else(|| IamportFault::not_found("예약결제 정보가 존재하지 않습니다."))?;
    ok(record.schedule.clone())
}
