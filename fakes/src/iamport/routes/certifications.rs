//! `/certifications`: identity verification by SMS code (the code is in `__otp`).

use axum::extract::{Extension, Path, State};
use payments_api::iamport::*;
use serde::Serialize;

use super::super::FakeIamport;
use super::{IamportBody, Merchant, Reply, ok};

/// What `POST /certifications/otp/request` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(in super::super) struct CertificationAccessor {
    imp_uid: String,
}

/// `POST /certifications/otp/request`.
pub(in super::super) async fn request(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportCertificationCreate>,
) -> Reply<CertificationAccessor> {
    let now = fake.now_ms();
    let imp_uid = merchant.lock().request_certification(&input, now)?;
    ok(CertificationAccessor { imp_uid })
}

/// `POST /certifications/otp/confirm/{imp_uid}`.
pub(in super::super) async fn confirm(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
    IamportBody(input): IamportBody<IamportCertificationConfirm>,
) -> Reply<IamportCertification> {
    let now = fake.now_ms();
    let certification = merchant
        .lock()
        .confirm_certification(&imp_uid, &input.otp, now)?;
    ok(certification)
}

/// `GET /certifications/{imp_uid}`.
pub(in super::super) async fn read(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportCertification> {
    let now = fake.now_ms();
    let certification = merchant.lock().certification(&imp_uid, now)?.clone();
    ok(certification)
}

/// `DELETE /certifications/{imp_uid}`.
pub(in super::super) async fn delete(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportCertification> {
    let now = fake.now_ms();
    let certification = merchant.lock().delete_certification(&imp_uid, now)?;
    ok(certification)
}
