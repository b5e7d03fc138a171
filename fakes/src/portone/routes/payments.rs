//! `/payments`: reading payments, paying (confirmed, instantly, by billing key),
//! cancelling, closing virtual accounts, webhooks and cash receipts.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use payments_api::portone::*;

use super::super::FakePortOne;
use super::super::error::PortOneFault;
use super::super::model::{
    self, Account, MAX_RESENDS, Method, Order, PaymentRecord, PreRegistration, card_method,
};
use super::{Merchant, PortOneJson, QueryOrBody, Reply, StoreQuery, page};

/// `GET /payments/{paymentId}`.
pub(in super::super) async fn one(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    Query(query): Query<StoreQuery>,
) -> Reply<Payment> {
    let data = merchant.lock();
    data.check_store(query.store_id.as_deref())?;
    let payment = data.payment(&payment_id, fake.now_ms())?;
    Ok(Json(payment.render(&data.store)))
}

/// `GET /payments`: a page of the store's payments, newest first unless asked otherwise.
pub(in super::super) async fn list(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    QueryOrBody(input): QueryOrBody<GetPaymentsBody>,
) -> Reply<GetPaymentsResponse> {
    let filter = input.filter.unwrap_or_default();
    let by_status_change = match filter.timestamp_type.as_deref() {
        None | Some("CREATED_AT") => false,
        Some("STATUS_CHANGED_AT") => true,
        Some(other) => {
            return Err(PortOneFault::invalid(format!(
                "timestampType must be CREATED_AT or STATUS_CHANGED_AT, got {other:?}"
            )));
        }
    };
    let ascending = match filter.sort_order.as_deref() {
        None | Some("DESC") => false,
        Some("ASC") => true,
        Some(other) => {
            return Err(PortOneFault::invalid(format!(
                "sortOrder must be ASC or DESC, got {other:?}"
            )));
        }
    };
    let data = merchant.lock();
    data.check_store(filter.store_id.as_deref())?;
    let time = |p: &PaymentRecord| {
        if by_status_change {
            p.status_changed_at
        } else {
            p.requested_at
        }
    };
    let mut found: Vec<&PaymentRecord> = data
        .payments(fake.now_ms())
        .filter(|p| filter.from.is_none_or(|from| time(p) >= from))
        .filter(|p| filter.until.is_none_or(|until| time(p) < until))
        .filter(|p| {
            filter
                .status
                .as_ref()
                .is_none_or(|statuses| statuses.contains(&p.status))
        })
        .filter(|p| {
            filter
                .is_scheduled
                .is_none_or(|scheduled| scheduled == p.schedule_id.is_some())
        })
        .collect();
    found.sort_by(|a, b| (time(a), &a.id).cmp(&(time(b), &b.id)));
    if !ascending {
        found.reverse();
    }
    let (items, page) = page(found, input.page)?;
    Ok(Json(GetPaymentsResponse {
        items: items.into_iter().map(|p| p.render(&data.store)).collect(),
        page,
    }))
}

/// `GET /payments-by-cursor`: the store's payments oldest first, `size` (10 by default, at
/// most 1,000) after `cursor`.
pub(in super::super) async fn by_cursor(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    QueryOrBody(input): QueryOrBody<GetAllPaymentsByCursorBody>,
) -> Reply<GetAllPaymentsByCursorResponse> {
    let size = input.size.unwrap_or(10);
    if !(1..=1000).contains(&size) {
        return Err(PortOneFault::invalid("size must be 1 to 1000"));
    }
    // A cursor is the requested time in ms and the paymentId of the last item seen.
    let after = match &input.cursor {
        None => None,
        Some(cursor) => Some(
            cursor
                .split_once('.')
                .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.to_owned())))
                .ok_or_else(|| PortOneFault::invalid("cursor is not one this API gave"))?,
        ),
    };
    let data = merchant.lock();
    data.check_store(input.store_id.as_deref())?;
    let mut found: Vec<(i64, &PaymentRecord)> = data
        .payments(fake.now_ms())
        .filter(|p| input.from.is_none_or(|from| p.requested_at >= from))
        .filter(|p| input.until.is_none_or(|until| p.requested_at < until))
        .map(|p| (p.requested_at.timestamp_millis(), p))
        .filter(|(ms, p)| {
            after
                .as_ref()
                .is_none_or(|(after_ms, after_id)| (*ms, &p.id) > (*after_ms, after_id))
        })
        .collect();
    found.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    let items = found
        .into_iter()
        .take(usize::try_from(size).unwrap_or(0))
        .map(|(ms, p)| PaymentWithCursor {
            payment: p.render(&data.store),
            cursor: format!("{ms}.{}", p.id),
        })
        .collect();
    Ok(Json(GetAllPaymentsByCursorResponse { items }))
}

/// `POST /payments/{paymentId}/pre-register`: the amounts the customer must pay.
pub(in super::super) async fn pre_register(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    PortOneJson(input): PortOneJson<PreRegisterPaymentBody>,
) -> Reply<serde_json::Map<String, serde_json::Value>> {
    let mut data = merchant.lock();
    data.check_store(input.store_id.as_deref())?;
    data.pre_register(
        &payment_id,
        PreRegistration {
            total: input.total_amount,
            tax_free: input.tax_free_amount,
            currency: input.currency,
        },
        fake.now_ms(),
    )?;
    Ok(Json(serde_json::Map::new()))
}

/// `POST /payments/{paymentId}/confirm`: the merchant confirms a payment the customer
/// authorised in the payment window.
pub(in super::super) async fn confirm(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    PortOneJson(input): PortOneJson<ConfirmPaymentBody>,
) -> Reply<PaymentSummary> {
    let now = fake.now();
    let (outcome, events) = {
        let mut data = merchant.lock();
        data.check_store(input.store_id.as_deref())?;
        data.change_payment(&payment_id, fake.now_ms(), |payment| {
            if payment.blocks_new_attempt() {
                return Err(PortOneFault::already_paid());
            }
            if payment.payment_token.as_deref() != Some(input.payment_token.as_str())
                || input
                    .tx_id
                    .as_ref()
                    .is_some_and(|tx| *tx != payment.transaction_id.to_string())
            {
                return Err(PortOneFault::new(
                    "INVALID_PAYMENT_TOKEN",
                    "유효하지 않은 결제 토큰입니다.",
                ));
            }
            let mismatch = input.total_amount.is_some_and(|t| t != payment.order.total)
                || input
                    .tax_free_amount
                    .is_some_and(|t| t != payment.order.tax_free)
                || input
                    .currency
                    .as_ref()
                    .is_some_and(|c| c != payment.order.currency);
            if mismatch {
                return Err(PortOneFault::new(
                    "INFORMATION_MISMATCH",
                    "결제 정보가 일치하지 않습니다.",
                ));
            }
            let number = match &payment.method {
                Some(Method::Card { number, .. }) => number.to_string(),
                _ => String::new(),
            };
            Ok(model::settle(payment, &number, now))
        })??
    };
    if input.skip_webhook != Some(true) {
        fake.notify(&merchant, events).await;
    }
    outcome.map(Json)
}

/// `POST /payments/{paymentId}/instant`: pays at once by card number, or issues a virtual
/// account.
pub(in super::super) async fn instant(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    PortOneJson(input): PortOneJson<InstantPaymentInput>,
) -> Reply<PaymentSummaryResponse> {
    let now = fake.now();
    let now_ms = fake.now_ms();
    model::check_channel(input.channel_key.as_deref())?;
    let order = Order::new(
        &input.order_name,
        input.amount,
        &input.currency,
        input.customer.as_ref(),
        input.custom_data.as_deref(),
    )?;
    let (outcome, events) = {
        let mut data = merchant.lock();
        data.check_store(input.store_id.as_deref())?;
        data.check_new_attempt(&payment_id, &order, now_ms)?;
        let mut payment = PaymentRecord::new(&payment_id, order, "API", now);
        let outcome = match (&input.method.card, &input.method.virtual_account) {
            (Some(card), None) => {
                model::check_card(&card.credential, now)?;
                let months = model::check_installment(card.installment_month)?;
                payment.method = Some(card_method(&card.credential.number, months));
                model::settle(&mut payment, &card.credential.number, now)
            }
            (None, Some(account)) => {
                model::check_bank(&account.bank)?;
                if !matches!(account.option.kind.as_str(), "NORMAL" | "FIXED") {
                    return Err(PortOneFault::invalid("option.type must be NORMAL or FIXED"));
                }
                payment.cash_receipt_kind =
                    model::cash_receipt_kind(account.cash_receipt.as_ref())?;
                let expires_at = model::account_deadline(now, &account.expiry)?;
                let event = payment.issue_account(
                    Account {
                        bank: account.bank.clone(),
                        account_number: crate::ids::random_digits(14),
                        remittee_name: account.remittee_name.clone(),
                        issued_at: now,
                        expires_at,
                    },
                    now,
                );
                let summary = PaymentSummary {
                    pg_tx_id: payment.pg_tx_id.as_deref().unwrap_or_default().to_owned(),
                    paid_at: now,
                };
                (Ok(summary), vec![event])
            }
            _ => {
                return Err(PortOneFault::invalid(
                    "method must have exactly one of card and virtualAccount",
                ));
            }
        };
        data.insert_payment(payment, now_ms);
        outcome
    };
    if input.skip_webhook != Some(true) {
        fake.notify(&merchant, events).await;
    }
    outcome.map(|payment| Json(PaymentSummaryResponse { payment }))
}

/// `POST /payments/{paymentId}/billing-key`: charges a billing key.
pub(in super::super) async fn billing_key(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    PortOneJson(input): PortOneJson<BillingKeyPaymentInput>,
) -> Reply<PaymentSummaryResponse> {
    let now = fake.now();
    let (outcome, events) = {
        let mut data = merchant.lock();
        data.check_store(input.store_id.as_deref())?;
        data.charge(&payment_id, &input, None, now)?
    };
    if input.skip_webhook != Some(true) {
        fake.notify(&merchant, events).await;
    }
    outcome.map(|payment| Json(PaymentSummaryResponse { payment }))
}

/// `POST /payments/{paymentId}/cancel`: all that remains (`amount` absent) or part.
pub(in super::super) async fn cancel(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    PortOneJson(input): PortOneJson<CancelPaymentBody>,
) -> Reply<CancelPaymentResponse> {
    let now = fake.now();
    if let Some(requester) = input.requester.as_deref()
        && !matches!(requester, "CUSTOMER" | "ADMIN")
    {
        return Err(PortOneFault::invalid("requester must be CUSTOMER or ADMIN"));
    }
    let (cancellation, event) = {
        let mut data = merchant.lock();
        data.check_store(input.store_id.as_deref())?;
        data.change_payment(&payment_id, fake.now_ms(), |payment| {
            payment.cancel(&input, now)
        })??
    };
    if input.skip_webhook != Some(true) {
        fake.notify(&merchant, vec![event]).await;
    }
    Ok(Json(CancelPaymentResponse {
        cancellation: PaymentCancellation::Succeeded(cancellation),
    }))
}

/// `POST /payments/{paymentId}/virtual-account/close`: the account takes no deposit any
/// more, and the payment fails.
pub(in super::super) async fn close_virtual_account(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    Query(query): Query<StoreQuery>,
) -> Reply<CloseVirtualAccountResponse> {
    let now = fake.now();
    let event = {
        let mut data = merchant.lock();
        data.check_store(query.store_id.as_deref())?;
        data.change_payment(&payment_id, fake.now_ms(), |payment| {
            payment.close_account("가상계좌가 말소되었습니다.", now)
        })??
    };
    fake.notify(&merchant, vec![event]).await;
    Ok(Json(CloseVirtualAccountResponse { closed_at: now }))
}

/// `POST /payments/{paymentId}/resend-webhook`: the payment's last webhook (or the one
/// named) again.
pub(in super::super) async fn resend_webhook(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    PortOneJson(input): PortOneJson<ResendWebhookBody>,
) -> Reply<ResendWebhookResponse> {
    let (sent, event) = {
        let mut data = merchant.lock();
        data.check_store(input.store_id.as_deref())?;
        data.change_payment(&payment_id, fake.now_ms(), |payment| {
            let sent = match &input.webhook_id {
                Some(id) => payment.webhooks.iter().find(|w| w.id() == *id),
                None => payment.webhooks.last(),
            }
            .cloned()
            .ok_or_else(|| {
                PortOneFault::new("WEBHOOK_NOT_FOUND", "웹훅 내역이 존재하지 않습니다.")
            })?;
            if payment.resends >= MAX_RESENDS {
                return Err(PortOneFault::new(
                    "MAX_WEBHOOK_RETRY_COUNT_REACHED",
                    "웹훅 재시도 횟수가 최대에 도달했습니다.",
                ));
            }
            payment.resends += 1;
            let event = payment.sent_event(&sent);
            Ok((sent, event))
        })??
    };
    let webhook = fake.resend(&merchant, &sent, &event).await;
    Ok(Json(ResendWebhookResponse { webhook }))
}

/// `GET /payments/{paymentId}/cash-receipt`.
pub(in super::super) async fn cash_receipt(
    State(fake): State<FakePortOne>,
    Extension(merchant): Merchant,
    Path(payment_id): Path<String>,
    Query(query): Query<StoreQuery>,
) -> Reply<CashReceipt> {
    let data = merchant.lock();
    data.check_store(query.store_id.as_deref())?;
    data.payment(&payment_id, fake.now_ms())
        .ok()
        .and_then(|p| p.render_cash_receipt(&data.store))
        .map(Json)
        .ok_or_else(|| {
            PortOneFault::new("CASH_RECEIPT_NOT_FOUND", "현금영수증이 존재하지 않습니다.")
        })
}
