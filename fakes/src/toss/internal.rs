//! The fake-only controls under `/internal`.

use axum::Json;
use axum::extract::{Extension, Path, State};
use payments_api::toss::*;
use serde::{Deserialize, Serialize};

use super::error::TossFault;
use super::model::{self, Order, Payment};
use super::routes::{Merchant, PaymentJson, TossJson, answer_change, change_payment, window_ms};
use super::{FakeToss, MerchantHandle};
use crate::compat::Compat;

/// `PUT|GET /internal/{paymentKey}/deposit`: the customer pays into the virtual account.
pub(super) async fn deposit(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
) -> Result<PaymentJson, TossFault> {
    change_deposit(&fake, &merchant, &payment_key, |payment, now| {
        payment.deposit(now)
    })
    .await
}

/// `DELETE /internal/{paymentKey}/deposit`: the bank takes the deposit back; the payment
/// waits for a deposit again, and the merchant hears of it as of the deposit.
pub(super) async fn cancel_deposit(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
) -> Result<PaymentJson, TossFault> {
    change_deposit(&fake, &merchant, &payment_key, |payment, _| {
        payment.cancel_deposit()
    })
    .await
}

/// Changes a virtual account's deposit by `change`; the merchant hears of it twice, as
/// Toss tells of a deposit: the status change and the `DEPOSIT_CALLBACK`.
async fn change_deposit(
    fake: &FakeToss,
    merchant: &MerchantHandle,
    payment_key: &str,
    change: impl FnOnce(&mut Payment, i64) -> Result<(), TossFault>,
) -> Result<PaymentJson, TossFault> {
    let payment = change_payment(fake, merchant, payment_key, change)?;
    answer_change(fake, merchant, payment).await
}

/// How the bank settles a virtual account's pending refunds.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = TossRefundResult)]
pub(super) enum RefundResult {
    /// The money reaches the customer's account.
    Completed,
    /// The customer's bank refuses it.
    Failed,
}

/// A settlement of the pending refunds, now.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TossRefundSettlement)]
pub(super) struct RefundSettlement {
    result: RefundResult,
}

/// `POST /internal/{paymentKey}/refund`: the bank settles the payment's pending refunds at
/// once, through or refused, whatever account they go to. As a settling on the clock, it
/// changes `virtualAccount.refundStatus` only and sends no webhook.
pub(super) async fn settle_refund(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
    TossJson(input): TossJson<RefundSettlement>,
) -> Result<Json<TossPayment>, TossFault> {
    let completed = matches!(input.result, RefundResult::Completed);
    change_payment(&fake, &merchant, &payment_key, |payment, _| {
        payment.settle_refunds(completed)
    })
    .map(Json)
}

/// What the customer does in Toss's payment window.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TossWindowPayment)]
pub(super) struct WindowPayment {
    order_id: String,
    amount: f64,
    #[serde(default)]
    order_name: Option<String>,
    /// `card` (default), `virtual-account` or `easy-pay`.
    #[serde(default)]
    method: Option<String>,
    /// The card paid with; for an easy pay, the card registered in the wallet (none: the
    /// wallet's balance pays).
    #[serde(default)]
    card_number: Option<String>,
    /// An easy pay's provider, by the SDK's code (`TOSSPAY`, `NAVERPAY`, `KAKAOPAY`, …) or
    /// its name (`토스페이`, …); `토스페이` when absent.
    #[serde(default)]
    easy_pay: Option<String>,
    /// What an easy pay's provider points and coupons take off (`easyPay.discountAmount`).
    #[serde(default)]
    easy_pay_discount_amount: Option<f64>,
    #[serde(default)]
    bank: Option<String>,
    #[serde(default)]
    customer_name: Option<String>,
    #[serde(default)]
    valid_hours: Option<u32>,
    /// An escrow payment, as the window's `useEscrow` asks.
    #[serde(default)]
    use_escrow: bool,
}

/// What Toss's success redirect carries back to the merchant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TossWindowResult)]
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
    let now_ms = fake.now_ms();
    let amount = model::positive("amount", input.amount)?;
    let order = Order {
        order_id: &input.order_id,
        order_name: input.order_name.as_deref().unwrap_or("주문"),
        amount,
        tax_free: 0.0,
        kind: TossPaymentType::Normal,
    };
    let expires_at_ms = now_ms + window_ms(&fake);
    let key = {
        let mut data = merchant.lock();
        data.check_new_order(&input.order_id, now_ms)?;
        let payment = match input.method.as_deref().unwrap_or("card") {
            "card" | "카드" => Payment::card(
                order,
                input.card_number.as_deref().unwrap_or("4330123412341234"),
                0,
                TossPaymentStatus::InProgress,
                now.timestamp(),
            ),
            "virtual-account" | "가상계좌" => Payment::virtual_account(
                order,
                input.bank.as_deref().unwrap_or("신한"),
                input.customer_name.as_deref().unwrap_or("홍길동"),
                model::due_date(now, input.valid_hours, None)?,
                TossPaymentStatus::InProgress,
                now.timestamp(),
            ),
            "easy-pay" | "간편결제" => {
                let requested = input.easy_pay.as_deref().unwrap_or("TOSSPAY");
                let provider = model::easy_pay_provider(requested).ok_or_else(|| {
                    TossFault::invalid(format!(
                        "easyPay {requested:?} is not a provider Toss offers (TOSSPAY, \
                         NAVERPAY, KAKAOPAY, SAMSUNGPAY, APPLEPAY, LPAY, PAYCO, SSG, PINPAY)"
                    ))
                })?;
                let discount = match input.easy_pay_discount_amount {
                    None => 0.0,
                    Some(d) if d.is_finite() && d >= 0.0 && d < amount => d,
                    Some(d) => {
                        return Err(TossFault::invalid(format!(
                            "easyPayDiscountAmount must be at least 0 and below the amount, \
                             got {d}"
                        )));
                    }
                };
                let card = match input.card_number.as_deref() {
                    Some(number) => Some(window_card(number)?),
                    None => None,
                };
                Payment::easy_pay(
                    order,
                    provider,
                    card.as_deref(),
                    discount,
                    TossPaymentStatus::InProgress,
                    now.timestamp(),
                )
            }
            other => {
                return Err(TossFault::invalid(format!(
                    "method must be \"card\", \"virtual-account\" or \"easy-pay\", got \
                     {other:?}"
                )));
            }
        };
        let payment = payment
            .with_escrow(input.use_escrow)
            .expiring_at(expires_at_ms);
        data.insert_payment(payment, now_ms)
    };
    Ok(Json(WindowResult {
        payment_key: key,
        order_id: input.order_id,
        amount,
    }))
}

/// The digits of a card entered in the window: 15 or 16 of them.
fn window_card(number: &str) -> Result<String, TossFault> {
    crate::compat::card_digits(number, 15..=16).ok_or_else(|| TossFault::of("INVALID_CARD_NUMBER"))
}

/// What the customer does in the card-registration window.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TossCardRegistration)]
pub(super) struct CardRegistration {
    customer_key: String,
    #[serde(default)]
    card_number: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TossCardRegistered)]
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
    let auth_key =
        merchant
            .lock()
            .register_card(&input.customer_key, input.card_number, fake.now_ms())?;
    Ok(Json(CardRegistered {
        auth_key,
        customer_key: input.customer_key,
    }))
}

/// A merchant's settings, as `GET /internal/merchant` answers them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TossMerchantSettings)]
pub(super) struct MerchantSettings {
    /// Where this merchant's webhooks go; `null` sends none.
    webhook_url: Option<String>,
    /// What the merchant's requests may be: `real` or `original`.
    compat: Compat,
}

/// A change of a merchant's settings: the fields sent change, the others stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = TossMerchantChange)]
pub(super) struct MerchantChange {
    /// `null` sends none.
    #[serde(default, deserialize_with = "present")]
    webhook_url: Option<Option<String>>,
    #[serde(default)]
    compat: Option<Compat>,
}

/// A field that is present, `null` or not.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
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
    let compat = data.compat.unwrap_or(fake.inner.config.compat);
    Json(MerchantSettings {
        webhook_url,
        compat,
    })
}

/// `PUT /internal/merchant`: changes the authenticated merchant's webhook URL or compat
/// mode.
pub(super) async fn set_merchant(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(change): TossJson<MerchantChange>,
) -> Result<Json<MerchantSettings>, TossFault> {
    if let Some(Some(url)) = &change.webhook_url {
        check_url(url)?;
    }
    {
        let mut data = merchant.lock();
        if let Some(url) = change.webhook_url {
            data.webhook_url = Some(url);
        }
        if let Some(compat) = change.compat {
            data.compat = Some(compat);
        }
    }
    Ok(self::merchant(State(fake), Extension(merchant)).await)
}

fn check_url(url: &str) -> Result<(), TossFault> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(TossFault::invalid(format!("{url:?} is not an http(s) URL"))),
    }
}
