//! `/v1/billing`: billing keys and charges with them.

use axum::Json;
use axum::extract::{Extension, Path, State};
use payments_api::toss::*;

use axum::http::HeaderMap;

use super::super::error::TossFault;
use super::super::model;
use super::super::{FakeToss, forced_code};
use super::{Merchant, Reply, TossJson};

/// `POST /v1/billing/authorizations/card`: a billing key from card data.
pub(in super::super) async fn by_card(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossBillingCreate>,
) -> Reply<TossBilling> {
    let now = fake.inner.core.clock.now_kst();
    let card_number = model::check_card(
        &input.card_number,
        &input.card_expiration_year,
        &input.card_expiration_month,
        now,
        fake.compat(&merchant),
    )?;
    model::check_customer_key(&input.customer_key)?;
    // Toss's billing reference (docs.tosspayments.com/reference#카드-번호로-빌링키-발급):
    // the owner check is `customerIdentityNumber`; the SDK's `customerBirthday` stands in
    // for it when absent.
    let identity = input
        .customer_identity_number
        .as_deref()
        .or(input.customer_birthday.as_deref())
        .unwrap_or_default();
    if !matches!(identity.len(), 6 | 10) || !identity.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TossFault::invalid(
            "customerIdentityNumber must be YYMMDD or a 10-digit business number",
        ));
    }
    let billing =
        merchant
            .lock()
            .issue_billing_key(&input.customer_key, &card_number, now, fake.now_ms());
    Ok(Json(billing))
}

/// `POST /v1/billing/authorizations/issue`: exchanges an authKey for a billing key.
pub(in super::super) async fn issue(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossBillingIssue>,
) -> Reply<TossBilling> {
    let now = fake.inner.core.clock.now_kst();
    let billing = merchant.lock().exchange_auth_key(
        &input.auth_key,
        &input.customer_key,
        now,
        fake.now_ms(),
    )?;
    Ok(Json(billing))
}

/// `POST /v1/billing/authorizations/{billingKey}`: a billing key, for its `customerKey`.
pub(in super::super) async fn lookup(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(billing_key): Path<String>,
    TossJson(input): TossJson<TossCustomerKey>,
) -> Reply<TossBilling> {
    let now_ms = fake.now_ms();
    let billing = merchant
        .lock()
        .billing(&billing_key, &input.customer_key, now_ms)?
        .clone();
    Ok(Json(billing))
}

/// `DELETE /v1/billing/{billingKey}`: deletes a billing key; later charges and lookups
/// find nothing. Answers 200 with no body.
pub(in super::super) async fn delete(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(billing_key): Path<String>,
) -> Result<(), TossFault> {
    merchant
        .lock()
        .delete_billing_key(&billing_key, fake.now_ms())
}

/// `POST /v1/billing/{billingKey}`: charges a billing key. A charge the issuer refuses (a
/// magic card number, a test code) leaves an `ABORTED` payment and answers the refusal.
pub(in super::super) async fn charge(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(billing_key): Path<String>,
    headers: HeaderMap,
    TossJson(input): TossJson<TossBillingCharge>,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_kst().timestamp();
    let now_ms = fake.now_ms();
    let compat = fake.compat(&merchant);
    let mut data = merchant.lock();
    let key = data.charge(
        &billing_key,
        &input,
        forced_code(&headers),
        compat,
        now,
        now_ms,
    )?;
    let payment = data.payment(&key, now_ms)?.render(&key);
    Ok(Json(payment))
}
