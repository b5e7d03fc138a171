//! `/v1/payments`: reading payments, paying by card number, approving and cancelling.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use payments_api::toss::*;

use super::super::error::TossFault;
use super::super::model::{self, Event, Order, Payment};
use super::super::{FakeToss, MerchantHandle, forced_code};
use super::{
    Merchant, PaymentJson, Reply, TossJson, answer_change, change_payment, refund_delay_ms,
    window_ms,
};

/// `GET /v1/payments/{paymentKey}`.
pub(in super::super) async fn one(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
) -> Reply<TossPayment> {
    let now = fake.now_ms();
    let payment = merchant
        .lock()
        .payment(&payment_key, now)?
        .render(&payment_key);
    Ok(Json(payment))
}

/// `GET /v1/payments/orders/{orderId}`.
pub(in super::super) async fn by_order(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(order_id): Path<String>,
) -> Reply<TossPayment> {
    let now = fake.now_ms();
    let data = merchant.lock();
    data.payment_by_order(&order_id, now)
        .map(|(key, payment)| Json(payment.render(key)))
        .ok_or_else(TossFault::not_found_payment)
}

/// `POST /v1/payments/key-in`: pays by card number, at once or (`"__approved": false`)
/// waiting for approval.
pub(in super::super) async fn key_in(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    headers: HeaderMap,
    TossJson(input): TossJson<TossKeyInCreate>,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.now_ms();
    let card_number = model::check_card(
        &input.card_number,
        &input.card_expiration_year,
        &input.card_expiration_month,
        now,
        fake.compat(&merchant),
    )?;
    let amount = model::positive("amount", input.amount)?;
    let tax_free = tax_free(input.tax_free_amount, amount)?;
    let months = input.card_installment_plan.unwrap_or(0);
    if months > 12 || months == 1 {
        return Err(TossFault::with(
            "INVALID_CARD_INSTALLMENT_PLAN",
            "할부 개월 정보가 잘못되었습니다.",
        ));
    }
    let approved = input.approved != Some(false);
    // An approval the issuer refuses (a magic card number, a test code) leaves the payment
    // `ABORTED` with its `failure`, and answers the refusal.
    let refusal = approved
        .then(|| {
            forced_code(&headers).or_else(|| model::card_decline(&card_number).map(str::to_owned))
        })
        .flatten()
        .map(|code| TossFault::of(&code));
    let payment = {
        let mut data = merchant.lock();
        data.check_new_order(&input.order_id, now_ms)?;
        let order = Order {
            order_id: &input.order_id,
            order_name: input.order_name.as_deref().unwrap_or("주문"),
            amount,
            tax_free,
            kind: TossPaymentType::Normal,
        };
        let status = if approved && refusal.is_none() {
            TossPaymentStatus::Done
        } else {
            TossPaymentStatus::InProgress
        };
        let mut payment = Payment::card(order, &card_number, months, status, now.timestamp());
        if let Some(refusal) = &refusal {
            payment.abort(refusal);
        } else if !approved {
            payment = payment.expiring_at(now_ms + window_ms(&fake));
        }
        let key = data.insert_payment(payment, now_ms);
        data.payment(&key, now_ms)?.render(&key)
    };
    match refusal {
        Some(refusal) => Err(refusal),
        None => Ok(Json(payment)),
    }
}

/// `POST /v1/payments/confirm`.
pub(in super::super) async fn confirm(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    headers: HeaderMap,
    TossJson(input): TossJson<TossPaymentConfirm>,
) -> Reply<TossPayment> {
    approve_payment(
        &fake,
        &merchant,
        &headers,
        &input.payment_key,
        &input.order_id,
        input.amount,
    )
    .await
}

/// `POST /v1/payments/{paymentKey}`, the older form of the approval.
pub(in super::super) async fn approve(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
    headers: HeaderMap,
    TossJson(input): TossJson<TossPaymentApproval>,
) -> Reply<TossPayment> {
    approve_payment(
        &fake,
        &merchant,
        &headers,
        &payment_key,
        &input.order_id,
        input.amount,
    )
    .await
}

/// Approves a payment waiting for it; a `TossPayments-Test-Code` fails the approval and
/// aborts the payment, as Toss's sandbox does.
async fn approve_payment(
    fake: &FakeToss,
    merchant: &Arc<MerchantHandle>,
    headers: &HeaderMap,
    payment_key: &str,
    order_id: &str,
    amount: f64,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_kst().timestamp();
    let now_ms = fake.now_ms();
    let (result, events) = {
        let mut data = merchant.lock();
        data.change_payment(payment_key, now_ms, |payment| {
            // The test code, else the issuer's refusal of a magic card number (only once
            // the order and amount are right: a wrong one changes nothing).
            let refusal = forced_code(headers).or_else(|| {
                payment
                    .card_decline()
                    .filter(|_| payment.order_id() == order_id && payment.total() == amount)
                    .map(str::to_owned)
            });
            let outcome = match refusal {
                Some(code) => {
                    let fault = TossFault::of(&code);
                    Err((payment.abort(&fault), fault))
                }
                None => payment
                    .approve(order_id, amount, now)
                    .map_err(|e| (false, e)),
            };
            let rendered = payment.render(payment_key);
            // A virtual account chosen in the window is issued by the approval: Toss tells
            // of it as of every change of a virtual account, twice.
            let events = match outcome {
                Ok(true) | Err((true, _)) => Event::of_change(&rendered),
                _ => Vec::new(),
            };
            (outcome.map(|_| rendered).map_err(|(_, e)| e), events)
        })?
    };
    fake.notify(merchant, events).await;
    result.map(Json)
}

/// `POST /v1/payments/{paymentKey}/cancel`: all (`cancelAmount` absent) or part.
pub(in super::super) async fn cancel(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
    TossJson(input): TossJson<TossPaymentCancelCreate>,
) -> Result<PaymentJson, TossFault> {
    model::check_cancel_reason(&input.cancel_reason)?;
    let refund_delay_ms = refund_delay_ms(&fake);
    let payment = change_payment(&fake, &merchant, &payment_key, |payment, now| {
        payment.cancel(&input, now, refund_delay_ms)
    })?;
    answer_change(&fake, &merchant, payment).await
}

fn tax_free(value: Option<f64>, amount: f64) -> Result<f64, TossFault> {
    match value {
        None => Ok(0.0),
        Some(v) if v.is_finite() && (0.0..=amount).contains(&v) => Ok(v),
        Some(v) => Err(TossFault::invalid(format!(
            "taxFreeAmount must be between 0 and the amount, got {v}"
        ))),
    }
}
