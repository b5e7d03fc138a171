//! The fake-only controls under `/internal`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use payments_api::toss::*;
use serde::{Deserialize, Serialize};

use super::error::TossFault;
use super::model::{self, AuthKeyRecord, Event, PaymentRecord};
use super::routes::{TossJson, check_customer_key, window_ms};
use super::{FakeToss, MerchantHandle};

type Merchant = Extension<Arc<MerchantHandle>>;

/// `PUT|GET /internal/{paymentKey}/deposit`: the customer pays into the virtual account.
pub(super) async fn deposit(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
) -> Result<Json<TossPayment>, TossFault> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    let payment = {
        let mut data = merchant.lock();
        let record = data.payment(&payment_key, now_ms)?;
        let TossPayment::VirtualAccount(va) = &mut record.payment else {
            return Err(TossFault::invalid(
                "only a virtual-account payment takes a deposit",
            ));
        };
        if va.base.status != TossPaymentStatus::WaitingForDeposit {
            return Err(TossFault::invalid(format!(
                "the payment is {}, not WAITING_FOR_DEPOSIT",
                status_name(va.base.status)
            )));
        }
        va.base.status = TossPaymentStatus::Done;
        va.base.approved_at = Some(now);
        va.virtual_account.settlement_status = TossSettlementStatus::Completed;
        record.expires_at_ms = None;
        record.payment.clone()
    };
    fake.notify(
        &merchant,
        vec![
            Event::StatusChanged(payment.clone()),
            Event::Deposit(payment.clone()),
        ],
    )
    .await;
    Ok(Json(payment))
}

/// What the customer does in Toss's payment window.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WindowPayment {
    order_id: String,
    amount: f64,
    #[serde(default)]
    order_name: Option<String>,
    /// `card` (default) or `virtual-account`.
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    card_number: Option<String>,
    #[serde(default)]
    bank: Option<String>,
    #[serde(default)]
    customer_name: Option<String>,
    #[serde(default)]
    valid_hours: Option<u32>,
}

/// What Toss's success redirect carries back to the merchant.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WindowResult {
    payment_key: String,
    order_id: String,
    #[serde(with = "payments_api::wire::amount")]
    amount: f64,
}

/// `POST /internal/payments`: the customer completes the payment window; the payment waits
/// `IN_PROGRESS` for the merchant's confirmation.
pub(super) async fn payment_window(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<WindowPayment>,
) -> Result<Json<WindowResult>, TossFault> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    let amount = model::positive("amount", input.amount)?;
    let order_name = input.order_name.as_deref().unwrap_or("주문");
    let payment = {
        let mut data = merchant.lock();
        data.check_new_order(&input.order_id, now_ms)?;
        let method = input.method.as_deref().unwrap_or("card");
        let payment = match method {
            "card" | "카드" => {
                let number = input.card_number.as_deref().unwrap_or("4330123412341234");
                let base = model::base(
                    METHOD_CARD,
                    TossPaymentType::Normal,
                    TossPaymentStatus::InProgress,
                    &input.order_id,
                    order_name,
                    amount,
                    0.0,
                    now,
                );
                model::card_payment(base, number, 0)
            }
            "virtual-account" | "가상계좌" => {
                let due = model::due_date(now, input.valid_hours, None)?;
                let base = model::base(
                    METHOD_VIRTUAL_ACCOUNT,
                    TossPaymentType::Normal,
                    TossPaymentStatus::InProgress,
                    &input.order_id,
                    order_name,
                    amount,
                    0.0,
                    now,
                );
                model::virtual_account_payment(
                    base,
                    input.bank.as_deref().unwrap_or("신한"),
                    input.customer_name.as_deref().unwrap_or("홍길동"),
                    due,
                )
            }
            other => {
                return Err(TossFault::invalid(format!(
                    "method must be \"card\" or \"virtual-account\", got {other:?}"
                )));
            }
        };
        data.insert_payment(
            PaymentRecord {
                payment: payment.clone(),
                expires_at_ms: Some(now_ms + window_ms(&fake)),
            },
            now_ms,
        );
        payment
    };
    let base = payment.base();
    fake.schedule_expiry(&merchant, &base.payment_key, now_ms + window_ms(&fake));
    Ok(Json(WindowResult {
        payment_key: base.payment_key.clone(),
        order_id: base.order_id.clone(),
        amount: base.total_amount,
    }))
}

/// What the customer does in the card-registration window.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CardRegistration {
    customer_key: String,
    #[serde(default)]
    card_number: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CardRegistered {
    auth_key: String,
    customer_key: String,
}

/// `POST /internal/billing/authorizations`: the customer registers a card; the authKey is
/// exchanged at `POST /v1/billing/authorizations/issue`.
pub(super) async fn card_registration_window(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<CardRegistration>,
) -> Result<Json<CardRegistered>, TossFault> {
    check_customer_key(&input.customer_key)?;
    let card_number = input
        .card_number
        .unwrap_or_else(|| "4330123412341234".to_owned());
    if !(15..=16).contains(&card_number.len()) || !card_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TossFault::of("INVALID_CARD_NUMBER"));
    }
    let auth_key = format!("bln_{}", model::random_alnum(28));
    merchant.lock().auth_keys.insert(
        auth_key.clone(),
        AuthKeyRecord {
            customer_key: input.customer_key.clone(),
            card_number,
        },
        fake.inner.core.clock.now_ms(),
    );
    Ok(Json(CardRegistered {
        auth_key,
        customer_key: input.customer_key,
    }))
}

/// A merchant's settings.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MerchantSettings {
    /// Where this merchant's webhooks go; `null` sends none.
    webhook_url: Option<String>,
}

/// `GET /internal/merchant`: the authenticated merchant's settings.
pub(super) async fn merchant(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
) -> Json<MerchantSettings> {
    let data = merchant.lock();
    let webhook_url = match &data.webhook_url {
        Some(own) => own.clone(),
        None => fake.inner.config.webhook_url.clone(),
    };
    Json(MerchantSettings { webhook_url })
}

/// `PUT /internal/merchant`: sets the authenticated merchant's webhook URL.
pub(super) async fn set_merchant(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(settings): TossJson<MerchantSettings>,
) -> Result<Json<MerchantSettings>, TossFault> {
    if let Some(url) = &settings.webhook_url {
        check_url(url)?;
    }
    merchant.lock().webhook_url = Some(settings.webhook_url);
    Ok(self::merchant(State(fake), Extension(merchant)).await)
}

fn check_url(url: &str) -> Result<(), TossFault> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(TossFault::invalid(format!("{url:?} is not an http(s) URL"))),
    }
}

fn status_name(status: TossPaymentStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
