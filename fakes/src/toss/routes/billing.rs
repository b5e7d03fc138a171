//! `/v1/billing`: billing keys and charges with them.

use axum::Json;
use axum::extract::{Extension, Path, State};
use payments_api::toss::*;

use super::super::FakeToss;
use super::super::error::TossFault;
use super::super::model;
use super::{Merchant, Reply, TossJson};

/// `POST /v1/billing/authorizations/card`: a billing key from card data.
pub(in super::super) async fn by_card(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossBillingCreate>,
) -> Reply<TossBilling> {
    let now = fake.inner.core.clock.now_kst();
    model::check_card(
        &input.card_number,
        &input.card_expiration_year,
        &input.card_expiration_month,
        now,
    )?;
    model::check_customer_key(&input.customer_key)?;
    let birthday = &input.customer_birthday;
    if !matches!(birthday.len(), 6 | 10) || !birthday.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TossFault::invalid(
            "customerBirthday must be YYMMDD (or a 10-digit business number)",
        ));
    }
    let billing = merchant.lock().issue_billing_key(
        &input.customer_key,
        &input.card_number,
        now,
        fake.now_ms(),
    );
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

/// `POST /v1/billing/{billingKey}`: charges a billing key.
pub(in super::super) async fn charge(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(billing_key): Path<String>,
    TossJson(input): TossJson<TossBillingCharge>,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_kst().timestamp();
    let now_ms = fake.now_ms();
    let mut data = merchant.lock();
    let key = data.charge(&billing_key, &input, now, now_ms)?;
    let payment = data.payment(&key, now_ms)?.render(&key);
    Ok(Json(payment))
}
