//! Toss's `/v1` API.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, Path, Request, State};
use axum::http::HeaderMap;
use payments_api::toss::*;
use serde::de::DeserializeOwned;

use super::error::TossFault;
use super::model::{self, BillingRecord, Event, PaymentRecord, ReceiptRecord};
use super::{FakeToss, MerchantHandle, forced_code};

/// A JSON body; a malformed one is Toss's `INVALID_REQUEST`. An empty body reads as `{}`.
pub(super) struct TossJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for TossJson<T> {
    type Rejection = TossFault;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| TossFault::invalid(e.body_text()))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(TossJson)
            .map_err(TossFault::invalid)
    }
}

type Reply<T> = Result<Json<T>, TossFault>;
type Merchant = Extension<Arc<MerchantHandle>>;

pub(super) async fn payment(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_ms();
    let data = merchant.lock();
    data.payments
        .get(&payment_key, now)
        .map(|r| Json(r.payment.clone()))
        .ok_or_else(TossFault::not_found_payment)
}

pub(super) async fn payment_by_order(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(order_id): Path<String>,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_ms();
    let data = merchant.lock();
    data.orders
        .get(&order_id)
        .and_then(|key| data.payments.get(key, now))
        .map(|r| Json(r.payment.clone()))
        .ok_or_else(TossFault::not_found_payment)
}

pub(super) async fn key_in(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossKeyInCreate>,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    model::check_card(
        &input.card_number,
        &input.card_expiration_year,
        &input.card_expiration_month,
        now,
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
    let mut data = merchant.lock();
    data.check_new_order(&input.order_id, now_ms)?;
    let status = if approved {
        TossPaymentStatus::Done
    } else {
        TossPaymentStatus::InProgress
    };
    let mut base = model::base(
        METHOD_CARD,
        TossPaymentType::Normal,
        status,
        &input.order_id,
        input.order_name.as_deref().unwrap_or("주문"),
        amount,
        tax_free,
        now,
    );
    base.approved_at = approved.then_some(now);
    let payment = model::card_payment(base, &input.card_number, months);
    let expires_at_ms = (!approved).then(|| now_ms + window_ms(&fake));
    data.insert_payment(
        PaymentRecord {
            payment: payment.clone(),
            expires_at_ms,
        },
        now_ms,
    );
    drop(data);
    if let Some(due) = expires_at_ms {
        fake.schedule_expiry(&merchant, &payment.base().payment_key, due);
    }
    Ok(Json(payment))
}

pub(super) async fn confirm(
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

pub(super) async fn approve(
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

async fn approve_payment(
    fake: &FakeToss,
    merchant: &Arc<MerchantHandle>,
    headers: &HeaderMap,
    payment_key: &str,
    order_id: &str,
    amount: f64,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    let (result, events, expiry) = {
        let mut data = merchant.lock();
        let record = data.payment(payment_key, now_ms)?;
        let status = record.payment.base().status;
        let mut events = Vec::new();
        let mut expiry = None;
        let result = if let Some(code) = forced_code(headers) {
            // A failed approval aborts a payment that was waiting for it.
            if status == TossPaymentStatus::InProgress {
                record.payment.base_mut().status = TossPaymentStatus::Aborted;
                record.expires_at_ms = None;
                events.push(Event::StatusChanged(record.payment.clone()));
            }
            Err(TossFault::of(&code))
        } else if record.payment.base().order_id != order_id {
            Err(TossFault::invalid(format!(
                "orderId {order_id:?} is not the order of this payment"
            )))
        } else if record.payment.base().total_amount != amount {
            Err(TossFault::invalid(format!(
                "amount {amount} differs from the payment's {}",
                record.payment.base().total_amount
            )))
        } else {
            match status {
                TossPaymentStatus::InProgress => {
                    if let TossPayment::VirtualAccount(va) = &mut record.payment {
                        // The customer chose a virtual account in the window: it is issued now.
                        va.base.status = TossPaymentStatus::WaitingForDeposit;
                        let due = va
                            .virtual_account
                            .due_date
                            .and_hms_opt(23, 59, 59)
                            .and_then(|d| d.and_local_timezone(crate::clock::kst()).single())
                            .map(|d| d.timestamp_millis());
                        record.expires_at_ms = due;
                        expiry = due;
                    } else {
                        let base = record.payment.base_mut();
                        base.status = TossPaymentStatus::Done;
                        base.approved_at = Some(now);
                        record.expires_at_ms = None;
                    }
                    events.push(Event::StatusChanged(record.payment.clone()));
                    Ok(record.payment.clone())
                }
                // An issued virtual account has nothing left to approve: approving it again
                // returns it as it is, deposited or not, so servers that approve every
                // payment work.
                TossPaymentStatus::WaitingForDeposit => Ok(record.payment.clone()),
                _ if matches!(record.payment, TossPayment::VirtualAccount(_)) => {
                    Ok(record.payment.clone())
                }
                TossPaymentStatus::Expired | TossPaymentStatus::Ready => {
                    Err(TossFault::of("NOT_FOUND_PAYMENT_SESSION"))
                }
                TossPaymentStatus::Done
                | TossPaymentStatus::Canceled
                | TossPaymentStatus::PartialCanceled
                | TossPaymentStatus::Aborted => Err(TossFault::of("ALREADY_PROCESSED_PAYMENT")),
            }
        };
        (result, events, expiry)
    };
    if let Some(due) = expiry {
        fake.schedule_expiry(merchant, payment_key, due);
    }
    fake.notify(merchant, events).await;
    result.map(Json)
}

pub(super) async fn cancel(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(payment_key): Path<String>,
    TossJson(input): TossJson<TossPaymentCancelCreate>,
) -> Reply<TossPayment> {
    if input.cancel_reason.trim().is_empty() || input.cancel_reason.chars().count() > 200 {
        return Err(TossFault::invalid(
            "cancelReason must be 1 to 200 characters",
        ));
    }
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    let payment = {
        let mut data = merchant.lock();
        let record = data.payment(&payment_key, now_ms)?;
        let status = record.payment.base().status;
        match status {
            TossPaymentStatus::Canceled => return Err(TossFault::of("ALREADY_CANCELED_PAYMENT")),
            TossPaymentStatus::Done
            | TossPaymentStatus::PartialCanceled
            | TossPaymentStatus::WaitingForDeposit => {}
            _ => return Err(TossFault::of("NOT_CANCELABLE_PAYMENT")),
        }
        let balance = record.payment.base().balance_amount;
        let amount = match input.cancel_amount {
            Some(amount) => model::positive("cancelAmount", amount)?,
            None => balance,
        };
        if amount > balance {
            return Err(TossFault::of("NOT_CANCELABLE_AMOUNT"));
        }
        if input.refundable_amount.is_some_and(|r| r != balance) {
            return Err(TossFault::of("NOT_MATCHES_REFUNDABLE_AMOUNT"));
        }
        let paid_virtual_account = matches!(record.payment, TossPayment::VirtualAccount(_))
            && status != TossPaymentStatus::WaitingForDeposit;
        if status == TossPaymentStatus::WaitingForDeposit && amount < balance {
            return Err(TossFault::of("NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT"));
        }
        if paid_virtual_account {
            check_refund_account(input.refund_receive_account.as_ref())?;
        }
        let tax_free = input.tax_free_amount.unwrap_or(0.0);
        let tax = input
            .tax_amount
            .unwrap_or_else(|| ((amount - tax_free).max(0.0) / 11.0).round());
        let remaining = balance - amount;
        let base = record.payment.base_mut();
        base.balance_amount = remaining;
        base.status = if remaining == 0.0 {
            TossPaymentStatus::Canceled
        } else {
            TossPaymentStatus::PartialCanceled
        };
        base.cancels
            .get_or_insert_with(Vec::new)
            .push(TossPaymentCancel {
                cancel_amount: amount,
                cancel_reason: input.cancel_reason.clone(),
                tax_free_amount: tax_free,
                tax_amount: tax,
                refundable_amount: remaining,
                canceled_at: now,
                transaction_key: Some(model::transaction_key()),
            });
        record.expires_at_ms = None;
        match &mut record.payment {
            TossPayment::VirtualAccount(va) if paid_virtual_account => {
                va.virtual_account.refund_status = TossRefundStatus::Completed;
            }
            TossPayment::Card(card) if remaining == 0.0 => {
                card.card.acquire_status = TossAcquireStatus::Canceled;
            }
            _ => {}
        }
        record.payment.clone()
    };
    fake.notify(&merchant, vec![Event::StatusChanged(payment.clone())])
        .await;
    Ok(Json(payment))
}

fn check_refund_account(account: Option<&TossRefundReceiveAccount>) -> Result<(), TossFault> {
    let Some(account) = account else {
        return Err(TossFault::with(
            "INVALID_REFUND_ACCOUNT_INFO",
            "가상계좌 결제를 환불하려면 refundReceiveAccount 가 필요합니다.",
        ));
    };
    if account.bank.trim().is_empty() || account.holder_name.trim().is_empty() {
        return Err(TossFault::of("INVALID_REFUND_ACCOUNT_INFO"));
    }
    let number = &account.account_number;
    if number.is_empty() || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TossFault::of("INVALID_REFUND_ACCOUNT_NUMBER"));
    }
    Ok(())
}

pub(super) async fn issue_virtual_account(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossVirtualAccountCreate>,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    let amount = model::positive("amount", input.amount)?;
    for (name, value) in [
        ("orderName", &input.order_name),
        ("bank", &input.bank),
        ("customerName", &input.customer_name),
    ] {
        if value.trim().is_empty() {
            return Err(TossFault::invalid(format!("{name} must not be empty")));
        }
    }
    let due = model::due_date(now, input.valid_hours, input.due_date)?;
    let payment = {
        let mut data = merchant.lock();
        data.check_new_order(&input.order_id, now_ms)?;
        let base = model::base(
            METHOD_VIRTUAL_ACCOUNT,
            TossPaymentType::Normal,
            TossPaymentStatus::WaitingForDeposit,
            &input.order_id,
            &input.order_name,
            amount,
            0.0,
            now,
        );
        let payment = model::virtual_account_payment(base, &input.bank, &input.customer_name, due);
        data.insert_payment(
            PaymentRecord {
                payment: payment.clone(),
                expires_at_ms: Some(due.timestamp_millis()),
            },
            now_ms,
        );
        payment
    };
    fake.schedule_expiry(
        &merchant,
        &payment.base().payment_key,
        due.timestamp_millis(),
    );
    fake.notify(&merchant, vec![Event::StatusChanged(payment.clone())])
        .await;
    Ok(Json(payment))
}

pub(super) async fn billing_by_card(
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
    check_customer_key(&input.customer_key)?;
    let birthday = &input.customer_birthday;
    if !matches!(birthday.len(), 6 | 10) || !birthday.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TossFault::invalid(
            "customerBirthday must be YYMMDD (or a 10-digit business number)",
        ));
    }
    Ok(Json(store_billing(
        &fake,
        &merchant,
        &input.customer_key,
        &input.card_number,
    )))
}

pub(super) async fn billing_issue(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossBillingIssue>,
) -> Reply<TossBilling> {
    let now_ms = fake.inner.core.clock.now_ms();
    let card_number = {
        let mut data = merchant.lock();
        let Some(auth) = data.auth_keys.get(&input.auth_key, now_ms) else {
            return Err(TossFault::with(
                "NOT_FOUND",
                "authKey 가 존재하지 않거나 이미 사용되었습니다.",
            ));
        };
        if auth.customer_key != input.customer_key {
            return Err(TossFault::of("NOT_MATCHES_CUSTOMER_KEY"));
        }
        let card_number = auth.card_number.clone();
        // An authKey is exchanged once.
        data.auth_keys.remove(&input.auth_key);
        card_number
    };
    Ok(Json(store_billing(
        &fake,
        &merchant,
        &input.customer_key,
        &card_number,
    )))
}

fn store_billing(
    fake: &FakeToss,
    merchant: &MerchantHandle,
    customer_key: &str,
    card_number: &str,
) -> TossBilling {
    let billing = TossBilling {
        m_id: "tosspayments".to_owned(),
        customer_key: customer_key.to_owned(),
        billing_key: format!("{}=", model::random_alnum(43)),
        method: METHOD_CARD.to_owned(),
        card_company: model::card_company(card_number).to_owned(),
        card_number: card_number.to_owned(),
        authenticated_at: fake.inner.core.clock.now_kst(),
    };
    merchant.lock().billings.insert(
        billing.billing_key.clone(),
        BillingRecord {
            billing: billing.clone(),
        },
        fake.inner.core.clock.now_ms(),
    );
    billing
}

pub(super) fn check_customer_key(key: &str) -> Result<(), TossFault> {
    if (2..=300).contains(&key.chars().count()) {
        Ok(())
    } else {
        Err(TossFault::invalid(
            "customerKey must be 2 to 300 characters",
        ))
    }
}

pub(super) async fn billing_lookup(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(billing_key): Path<String>,
    TossJson(input): TossJson<TossCustomerKey>,
) -> Reply<TossBilling> {
    let now_ms = fake.inner.core.clock.now_ms();
    let data = merchant.lock();
    let record = data
        .billings
        .get(&billing_key, now_ms)
        .ok_or_else(|| TossFault::with("NOT_FOUND", "존재하지 않는 빌링키 입니다."))?;
    if record.billing.customer_key != input.customer_key {
        return Err(TossFault::of("NOT_MATCHES_CUSTOMER_KEY"));
    }
    Ok(Json(record.billing.clone()))
}

pub(super) async fn billing_charge(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(billing_key): Path<String>,
    TossJson(input): TossJson<TossBillingCharge>,
) -> Reply<TossPayment> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    let amount = model::positive("amount", input.amount)?;
    let mut data = merchant.lock();
    let card_number = {
        let record = data
            .billings
            .get(&billing_key, now_ms)
            .ok_or_else(|| TossFault::with("NOT_FOUND", "존재하지 않는 빌링키 입니다."))?;
        if record.billing.customer_key != input.customer_key {
            return Err(TossFault::of("NOT_MATCHES_CUSTOMER_KEY"));
        }
        record.billing.card_number.clone()
    };
    data.check_new_order(&input.order_id, now_ms)?;
    let mut base = model::base(
        METHOD_CARD,
        TossPaymentType::Billing,
        TossPaymentStatus::Done,
        &input.order_id,
        input.order_name.as_deref().unwrap_or("정기 결제"),
        amount,
        0.0,
        now,
    );
    base.approved_at = Some(now);
    let payment = model::card_payment(base, &card_number, 0);
    data.insert_payment(
        PaymentRecord {
            payment: payment.clone(),
            expires_at_ms: None,
        },
        now_ms,
    );
    Ok(Json(payment))
}

pub(super) async fn issue_cash_receipt(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossCashReceiptCreate>,
) -> Reply<TossCashReceipt> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    let amount = model::positive("amount", input.amount)?;
    let mut data = merchant.lock();
    let record = data.payment(&input.payment_key, now_ms)?;
    let base = record.payment.base();
    if base.order_id != input.order_id {
        return Err(TossFault::invalid(
            "orderId is not the order of this payment",
        ));
    }
    if !matches!(
        base.status,
        TossPaymentStatus::Done | TossPaymentStatus::PartialCanceled
    ) {
        return Err(TossFault::invalid(
            "a cash receipt needs a completed payment",
        ));
    }
    if base.cash_receipt.is_some() {
        return Err(TossFault::invalid(
            "this payment already has a cash receipt",
        ));
    }
    if amount > base.total_amount {
        return Err(TossFault::invalid("amount exceeds the payment's total"));
    }
    let receipt_key = model::random_alnum(48);
    let receipt = TossCashReceipt {
        receipt_key: receipt_key.clone(),
        kind: input.kind,
        order_id: input.order_id.clone(),
        order_name: input.order_name.clone(),
        approval_number: model::random_digits(9),
        approved_at: now,
        canceled_at: None,
        receipt_url: format!(
            "https://dashboard.tosspayments.com/receipt/mids/tosspayments/cashreceipt/{receipt_key}"
        ),
    };
    record.payment.base_mut().cash_receipt = Some(TossCashReceiptSummary {
        kind: input.kind,
        amount,
        tax_free_amount: input.tax_free_amount.unwrap_or(0.0),
        issue_number: receipt.approval_number.clone(),
        receipt_url: receipt.receipt_url.clone(),
    });
    data.receipts.insert(
        receipt_key,
        ReceiptRecord {
            receipt: receipt.clone(),
            payment_key: input.payment_key.clone(),
        },
        now_ms,
    );
    Ok(Json(receipt))
}

pub(super) async fn cancel_cash_receipt(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    Path(receipt_key): Path<String>,
    TossJson(_input): TossJson<TossCashReceiptCancel>,
) -> Reply<TossCashReceipt> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.inner.core.clock.now_ms();
    let mut data = merchant.lock();
    let record = data
        .receipts
        .get_mut(&receipt_key, now_ms)
        .ok_or_else(|| TossFault::with("NOT_FOUND", "존재하지 않는 현금영수증 입니다."))?;
    if record.receipt.canceled_at.is_some() {
        return Err(TossFault::invalid("this cash receipt is already cancelled"));
    }
    record.receipt.canceled_at = Some(now);
    let (receipt, payment_key) = (record.receipt.clone(), record.payment_key.clone());
    if let Ok(payment) = data.payment(&payment_key, now_ms) {
        payment.payment.base_mut().cash_receipt = None;
    }
    Ok(Json(receipt))
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

/// How long a payment may wait `IN_PROGRESS`, in ms.
pub(super) fn window_ms(fake: &FakeToss) -> i64 {
    i64::try_from(fake.inner.config.payment_window.as_millis()).unwrap_or(i64::MAX)
}
