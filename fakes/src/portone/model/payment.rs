//! Payments: their attempts, PortOne's state machine, cancellations and cash receipts.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use payments_api::portone::*;

use super::super::error::PortOneFault;
use super::{Event, Store, card_brand};

/// How many cancellations one payment takes; beyond, `MAX_CANCEL_COUNT_REACHED`.
pub const MAX_CANCELLATIONS: usize = 20;

/// How many of a payment's webhooks it remembers for `resend-webhook`.
pub const MAX_REMEMBERED_WEBHOOKS: usize = 10;

/// How many times a payment's webhooks may be resent.
pub const MAX_RESENDS: u32 = 10;

/// How a payment is paid.
#[derive(Debug, Clone)]
pub enum Method {
    Card {
        /// Masked.
        number: Box<str>,
        brand: &'static str,
        installment_month: i32,
        /// Eight digits, written with leading zeros.
        approval_number: u32,
    },
    /// Boxed: the larger part, and the rarer.
    VirtualAccount(Box<Account>),
}

/// A virtual account issued for a payment.
#[derive(Debug, Clone)]
pub struct Account {
    pub bank: String,
    pub account_number: String,
    pub remittee_name: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A webhook the payment caused. The payment keeps up to [`MAX_REMEMBERED_WEBHOOKS`] of
/// them, so it holds only what its own fields do not: the rest of the event is the
/// payment's ([`PaymentRecord::sent_event`]), and the URL is shared with the store's other
/// payments.
#[derive(Debug, Clone)]
pub struct SentWebhook {
    /// The `msg_` id without its prefix ([`SentWebhook::id`] writes it whole).
    pub uuid: uuid::Uuid,
    pub url: Arc<str>,
    pub kind: WebhookType,
    pub status: PaymentStatus,
    pub cancellation_id: Option<Box<str>>,
    pub at: DateTime<Utc>,
}

impl SentWebhook {
    /// Its id on the wire: `msg_` and 32 hex digits.
    pub fn id(&self) -> String {
        message_id(self.uuid)
    }
}

/// A webhook's id on the wire.
pub fn message_id(uuid: uuid::Uuid) -> String {
    format!("msg_{}", uuid.simple())
}

/// A cash receipt issued with a payment.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// `PERSONAL` or `CORPORATE`.
    pub kind: &'static str,
    pub issue_number: String,
    pub amount: i64,
    pub issued_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// What a new attempt pays for.
#[derive(Debug, Clone)]
pub struct Order {
    pub order_name: Box<str>,
    pub total: i64,
    pub tax_free: i64,
    /// One of those [`check_currency`] takes.
    pub currency: &'static str,
    /// None when the merchant said nothing of the customer, as most API payments.
    pub customer: Option<Box<Customer>>,
    pub custom_data: Option<Box<str>>,
}

impl Order {
    /// Checks the amounts of an input.
    pub fn new(
        order_name: &str,
        amount: PaymentAmountInput,
        currency: &str,
        customer: Option<&CustomerInput>,
        custom_data: Option<&str>,
    ) -> Result<Self, PortOneFault> {
        if order_name.trim().is_empty() || order_name.len() > 200 {
            return Err(PortOneFault::invalid(
                "orderName must be 1 to 200 characters",
            ));
        }
        if amount.total <= 0 {
            return Err(PortOneFault::invalid("amount.total must be positive"));
        }
        let tax_free = amount.tax_free.unwrap_or(0);
        if tax_free < 0 || amount.vat.is_some_and(|v| v < 0) {
            return Err(PortOneFault::invalid("amounts must not be negative"));
        }
        if tax_free + amount.vat.unwrap_or(0) > amount.total {
            return Err(PortOneFault::new(
                "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT",
                "면세 금액 등 하위 항목들의 합이 전체 결제 금액을 초과했습니다.",
            ));
        }
        let currency = check_currency(currency)?;
        if custom_data.is_some_and(|d| d.len() > 10_000) {
            return Err(PortOneFault::invalid("customData is at most 10,000 bytes"));
        }
        Ok(Self {
            order_name: order_name.into(),
            total: amount.total,
            tax_free,
            currency,
            customer: customer
                .map(customer_of)
                .filter(|c| *c != Customer::default())
                .map(Box::new),
            custom_data: custom_data.map(Box::from),
        })
    }
}

/// The currencies the fake takes: the won, and the dollar and yen for overseas channels.
pub fn check_currency(currency: &str) -> Result<&'static str, PortOneFault> {
    match currency {
        "KRW" => Ok("KRW"),
        "USD" => Ok("USD"),
        "JPY" => Ok("JPY"),
        other => Err(PortOneFault::invalid(format!(
            "currency {other:?} is not one the channel takes (KRW, USD, JPY)"
        ))),
    }
}

/// A customer as a payment shows it.
pub fn customer_of(input: &CustomerInput) -> Customer {
    let name = input.name.as_ref().and_then(|n| {
        n.full.clone().or_else(|| {
            n.separated
                .as_ref()
                .map(|s| format!("{}{}", s.last, s.first))
        })
    });
    Customer {
        id: input.id.clone(),
        name,
        email: input.email.clone(),
        phone_number: input.phone_number.clone(),
    }
}

/// One payment, by the merchant's paymentId.
#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub id: String,
    /// The current attempt's id: a record is one attempt, replaced by the next.
    pub transaction_id: uuid::Uuid,
    pub status: PaymentStatus,
    pub method: Option<Method>,
    pub order: Order,
    pub paid: i64,
    pub cancelled: i64,
    pub cancelled_tax_free: i64,
    pub billing_key: Option<Box<str>>,
    pub schedule_id: Option<Box<str>>,
    pub platform: &'static str,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// When and why it failed; boxed, as few payments fail.
    pub failure: Option<Box<(DateTime<Utc>, PaymentFailure)>>,
    pub pg_tx_id: Option<Box<str>>,
    pub cancellations: Vec<Cancellation>,
    /// The type of cash receipt asked for (`PERSONAL`, `CORPORATE`).
    pub cash_receipt_kind: Option<&'static str>,
    /// Boxed, as few payments ask for one.
    pub cash_receipt: Option<Box<Receipt>>,
    /// The token the payment window hands over when the merchant confirms payments itself.
    pub payment_token: Option<Box<str>>,
    pub webhooks: Vec<SentWebhook>,
    pub resends: u32,
}

impl PaymentRecord {
    /// A new attempt, `READY`.
    pub fn new(id: &str, order: Order, platform: &'static str, now: DateTime<Utc>) -> Self {
        Self {
            id: id.to_owned(),
            transaction_id: uuid::Uuid::new_v4(),
            status: PaymentStatus::Ready,
            method: None,
            order,
            paid: 0,
            cancelled: 0,
            cancelled_tax_free: 0,
            billing_key: None,
            schedule_id: None,
            platform,
            requested_at: now,
            updated_at: now,
            status_changed_at: now,
            paid_at: None,
            failure: None,
            pg_tx_id: None,
            cancellations: Vec::new(),
            cash_receipt_kind: None,
            cash_receipt: None,
            payment_token: None,
            webhooks: Vec::new(),
            resends: 0,
        }
    }

    fn set_status(&mut self, status: PaymentStatus, now: DateTime<Utc>) {
        self.status = status;
        self.updated_at = now;
        self.status_changed_at = now;
    }

    /// Whether a new attempt under the same paymentId is refused: once paid or waiting
    /// for a deposit, a paymentId is taken.
    pub fn blocks_new_attempt(&self) -> bool {
        !matches!(self.status, PaymentStatus::Ready | PaymentStatus::Failed)
    }

    /// The PG approves it.
    pub fn pay(&mut self, now: DateTime<Utc>) -> Event {
        self.set_status(PaymentStatus::Paid, now);
        self.paid = self.order.total;
        self.paid_at = Some(now);
        self.payment_token = None;
        self.pg_tx_id = Some(super::pg_tx_id().into());
        if let Some(kind) = self.cash_receipt_kind {
            self.cash_receipt = Some(Box::new(Receipt {
                kind,
                issue_number: crate::ids::random_digits(9),
                amount: self.order.total,
                issued_at: now,
                cancelled_at: None,
            }));
        }
        self.event(WebhookType::TransactionPaid)
    }

    /// The PG refuses it.
    pub fn fail(&mut self, code: &str, message: &str, now: DateTime<Utc>) -> Event {
        self.set_status(PaymentStatus::Failed, now);
        self.payment_token = None;
        self.failure = Some(Box::new((
            now,
            PaymentFailure {
                reason: Some(message.to_owned()),
                pg_code: Some(code.to_owned()),
                pg_message: Some(message.to_owned()),
            },
        )));
        self.event(WebhookType::TransactionFailed)
    }

    /// A virtual account is issued for it.
    pub fn issue_account(&mut self, account: Account, now: DateTime<Utc>) -> Event {
        self.method = Some(Method::VirtualAccount(Box::new(account)));
        self.set_status(PaymentStatus::VirtualAccountIssued, now);
        self.pg_tx_id = Some(super::pg_tx_id().into());
        self.event(WebhookType::TransactionVirtualAccountIssued)
    }

    /// When its virtual account expires, if it waits for a deposit.
    pub fn deposit_deadline_ms(&self) -> Option<i64> {
        match (&self.method, self.status) {
            (Some(Method::VirtualAccount(account)), PaymentStatus::VirtualAccountIssued) => {
                Some(account.expires_at.timestamp_millis())
            }
            _ => None,
        }
    }

    /// The customer pays into the virtual account.
    pub fn deposit(&mut self, now: DateTime<Utc>) -> Result<Event, PortOneFault> {
        if self.status != PaymentStatus::VirtualAccountIssued {
            return Err(not_waiting());
        }
        Ok(self.pay(now))
    }

    /// The merchant closes the virtual account, or it expires: the payment fails.
    pub fn close_account(
        &mut self,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Event, PortOneFault> {
        if self.status != PaymentStatus::VirtualAccountIssued {
            return Err(not_waiting());
        }
        Ok(self.fail("VIRTUAL_ACCOUNT_CLOSED", reason, now))
    }

    /// Cancels all that remains or part of it.
    pub fn cancel(
        &mut self,
        input: &CancelPaymentBody,
        now: DateTime<Utc>,
    ) -> Result<(Cancellation, Event), PortOneFault> {
        match self.status {
            PaymentStatus::Paid | PaymentStatus::PartialCancelled => {}
            PaymentStatus::Cancelled => {
                return Err(PortOneFault::new(
                    "PAYMENT_ALREADY_CANCELLED",
                    "결제가 이미 취소되었습니다.",
                ));
            }
            _ => {
                return Err(PortOneFault::new(
                    "PAYMENT_NOT_PAID",
                    "결제가 완료되지 않았습니다.",
                ));
            }
        }
        if input.reason.trim().is_empty() || input.reason.len() > 200 {
            return Err(PortOneFault::invalid("reason must be 1 to 200 characters"));
        }
        if matches!(self.method, Some(Method::VirtualAccount(_))) {
            let Some(account) = &input.refund_account else {
                return Err(PortOneFault::invalid(
                    "refundAccount is required to refund a virtual-account payment",
                ));
            };
            if account.holder_name.trim().is_empty()
                || account.number.is_empty()
                || !account
                    .number
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'-')
            {
                return Err(PortOneFault::invalid(
                    "refundAccount needs a holderName and a number of digits",
                ));
            }
            super::check_bank(&account.bank)?;
        }
        let remaining = self.paid - self.cancelled;
        if let Some(expected) = input.current_cancellable_amount
            && expected != remaining
        {
            return Err(PortOneFault::new(
                "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
                format!("취소 가능 금액이 {remaining}원으로, 요청의 {expected}원과 다릅니다."),
            ));
        }
        if self.cancellations.len() >= MAX_CANCELLATIONS {
            return Err(PortOneFault::new(
                "MAX_CANCEL_COUNT_REACHED",
                "결제 취소 횟수가 최대에 도달했습니다.",
            ));
        }
        let amount = input.amount.unwrap_or(remaining);
        if amount <= 0 {
            return Err(PortOneFault::invalid("amount must be positive"));
        }
        if amount > remaining {
            return Err(PortOneFault::new(
                "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
                format!("취소 금액이 취소 가능 금액({remaining}원)을 초과합니다."),
            ));
        }
        let tax_free_remaining = self.order.tax_free - self.cancelled_tax_free;
        let tax_free = match input.tax_free_amount {
            Some(t) if t < 0 => {
                return Err(PortOneFault::invalid("taxFreeAmount must not be negative"));
            }
            Some(t) => t,
            // A full cancel takes the rest of the tax-free part with it.
            None if amount == remaining => tax_free_remaining,
            None => 0,
        };
        if tax_free > tax_free_remaining {
            return Err(PortOneFault::new(
                "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT",
                "취소 면세 금액이 취소 가능한 면세 금액을 초과합니다.",
            ));
        }
        if tax_free > amount {
            return Err(PortOneFault::new(
                "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT",
                "면세 금액 등 하위 항목들의 합이 취소 금액을 초과했습니다.",
            ));
        }
        let taxable = amount - tax_free;
        let vat = match input.vat_amount {
            Some(v) if v < 0 || v > taxable => {
                return Err(PortOneFault::new(
                    "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT",
                    "취소 과세 금액이 취소 가능한 과세 금액을 초과합니다.",
                ));
            }
            Some(v) => v,
            None => vat_of(taxable),
        };
        let cancellation = Cancellation {
            id: uuid::Uuid::new_v4().to_string(),
            pg_cancellation_id: Some(super::pg_tx_id()),
            total_amount: amount,
            tax_free_amount: tax_free,
            vat_amount: vat,
            reason: input.reason.clone(),
            cancelled_at: Some(now),
            requested_at: now,
            trigger: Some("API".to_owned()),
        };
        self.cancelled += amount;
        self.cancelled_tax_free += tax_free;
        self.cancellations.push(cancellation.clone());
        let kind = if self.cancelled == self.paid {
            self.set_status(PaymentStatus::Cancelled, now);
            if let Some(receipt) = &mut self.cash_receipt {
                receipt.cancelled_at = Some(now);
            }
            WebhookType::TransactionCancelled
        } else {
            self.set_status(PaymentStatus::PartialCancelled, now);
            WebhookType::TransactionPartialCancelled
        };
        let mut event = self.event(kind);
        event.cancellation_id = Some(cancellation.id.clone());
        Ok((cancellation, event))
    }

    /// An event about this payment as it is now.
    pub fn event(&self, kind: WebhookType) -> Event {
        Event {
            kind,
            status: Some(self.status),
            payment_id: Some(self.id.clone()),
            transaction_id: Some(self.transaction_id.to_string()),
            cancellation_id: None,
            billing_key: None,
        }
    }

    /// Remembers a webhook it caused, forgetting the oldest beyond the bound.
    pub fn remember(&mut self, webhook: SentWebhook) {
        if self.webhooks.len() >= MAX_REMEMBERED_WEBHOOKS {
            self.webhooks.remove(0);
        } else {
            // Most payments cause one or two webhooks: room for four would double what
            // the list costs.
            self.webhooks.reserve_exact(1);
        }
        self.webhooks.push(webhook);
    }

    /// The event a webhook it caused reported.
    pub fn sent_event(&self, sent: &SentWebhook) -> Event {
        let mut event = self.event(sent.kind);
        event.status = Some(sent.status);
        event.cancellation_id = sent.cancellation_id.as_deref().map(str::to_owned);
        event
    }

    /// The payment on the wire.
    pub fn render(&self, store: &Store) -> Payment {
        let method = self.method.as_ref().map(|method| match method {
            Method::Card {
                number,
                brand,
                installment_month,
                approval_number,
            } => PaymentMethod::PaymentMethodCard(PaymentMethodCard {
                card: Some(Card {
                    publisher: Some(card_brand_name(brand).to_owned()),
                    issuer: Some(card_brand_name(brand).to_owned()),
                    brand: Some((*brand).to_owned()),
                    kind: Some("CREDIT".to_owned()),
                    bin: Some(number.chars().take(6).collect()),
                    name: None,
                    number: Some(number.to_string()),
                }),
                approval_number: Some(format!("{approval_number:08}")),
                installment: Some(PaymentInstallment {
                    month: *installment_month,
                    is_interest_free: false,
                }),
            }),
            Method::VirtualAccount(account) => {
                PaymentMethod::PaymentMethodVirtualAccount(PaymentMethodVirtualAccount {
                    bank: Some(account.bank.clone()),
                    account_number: account.account_number.clone(),
                    account_type: Some("NORMAL".to_owned()),
                    remittee_name: account.remittee_name.clone(),
                    expired_at: Some(account.expires_at),
                    issued_at: Some(account.issued_at),
                })
            }
        });
        let taxable = self.order.total - self.order.tax_free;
        let vat = vat_of(taxable);
        let base = PaymentBase {
            id: self.id.clone(),
            transaction_id: self.transaction_id.to_string(),
            merchant_id: store.merchant_id.clone(),
            store_id: store.store_id.clone(),
            method,
            channel: Some(store.channel()),
            version: "V2".to_owned(),
            schedule_id: owned(&self.schedule_id),
            billing_key: owned(&self.billing_key),
            requested_at: self.requested_at,
            updated_at: self.updated_at,
            status_changed_at: self.status_changed_at,
            order_name: self.order.order_name.to_string(),
            amount: PaymentAmount {
                total: self.order.total,
                tax_free: self.order.tax_free,
                vat: Some(vat),
                supply: Some(taxable - vat),
                discount: 0,
                paid: self.paid,
                cancelled: self.cancelled,
                cancelled_tax_free: self.cancelled_tax_free,
            },
            currency: self.order.currency.to_owned(),
            customer: self.order.customer.as_deref().cloned().unwrap_or_default(),
            origin: PaymentOrigin {
                platform_type: self.platform.to_owned(),
                ip_address: "127.0.0.1".to_owned(),
            },
            custom_data: owned(&self.order.custom_data),
        };
        let receipt_url = self
            .pg_tx_id
            .as_ref()
            .map(|tx| format!("https://receipt.example.com/{tx}"));
        let cash_receipt = self.cash_receipt.as_ref().map(|r| {
            let info = PaymentCashReceiptInfo {
                kind: Some(r.kind.to_owned()),
                issue_number: r.issue_number.clone(),
                total_amount: r.amount,
                currency: self.order.currency.to_owned(),
                issued_at: r.issued_at,
            };
            match r.cancelled_at {
                None => PaymentCashReceipt::Issued(info),
                Some(cancelled_at) => {
                    PaymentCashReceipt::Cancelled(CancelledPaymentCashReceiptInfo {
                        receipt: info,
                        cancelled_at,
                    })
                }
            }
        });
        let cancelled = || CancelledPayment {
            base: base.clone(),
            paid_at: self.paid_at,
            pg_tx_id: owned(&self.pg_tx_id),
            cash_receipt: cash_receipt.clone(),
            receipt_url: receipt_url.clone(),
            cancellations: self
                .cancellations
                .iter()
                .cloned()
                .map(PaymentCancellation::Succeeded)
                .collect(),
            cancelled_at: self.status_changed_at,
        };
        match self.status {
            PaymentStatus::Ready => Payment::Ready(base),
            PaymentStatus::PayPending => Payment::PayPending(PendingPayment {
                pg_tx_id: owned(&self.pg_tx_id),
                base,
            }),
            PaymentStatus::VirtualAccountIssued => Payment::VirtualAccountIssued(PendingPayment {
                pg_tx_id: owned(&self.pg_tx_id),
                base,
            }),
            PaymentStatus::Paid => Payment::Paid(PaidPayment {
                paid_at: self.paid_at.unwrap_or(self.status_changed_at),
                pg_tx_id: owned(&self.pg_tx_id),
                cash_receipt,
                receipt_url,
                disputes: Vec::new(),
                base,
            }),
            PaymentStatus::Failed => {
                let (failed_at, failure) = self.failure.as_deref().cloned().unwrap_or((
                    self.status_changed_at,
                    PaymentFailure {
                        reason: None,
                        pg_code: None,
                        pg_message: None,
                    },
                ));
                Payment::Failed(FailedPayment {
                    base,
                    failed_at,
                    failure,
                })
            }
            PaymentStatus::PartialCancelled => Payment::PartialCancelled(cancelled()),
            PaymentStatus::Cancelled => Payment::Cancelled(cancelled()),
        }
    }

    /// Its cash receipt on the wire, if it has one.
    pub fn render_cash_receipt(&self, store: &Store) -> Option<CashReceipt> {
        let r = self.cash_receipt.as_ref()?;
        let info = CashReceiptInfo {
            merchant_id: store.merchant_id.clone(),
            store_id: store.store_id.clone(),
            payment_id: self.id.clone(),
            channel: store.channel(),
            amount: r.amount,
            currency: self.order.currency.to_owned(),
            order_name: self.order.order_name.to_string(),
            is_manual: false,
            kind: Some(r.kind.to_owned()),
            issue_number: r.issue_number.clone(),
            issued_at: r.issued_at,
        };
        Some(match r.cancelled_at {
            None => CashReceipt::Issued(info),
            Some(cancelled_at) => CashReceipt::Cancelled(CancelledCashReceiptInfo {
                receipt: info,
                cancelled_at,
            }),
        })
    }
}

/// A string kept boxed, as the wire types take it.
fn owned(kept: &Option<Box<str>>) -> Option<String> {
    kept.as_deref().map(str::to_owned)
}

/// The VAT included in a taxable amount: a tenth of the supply value, rounded.
pub fn vat_of(taxable: i64) -> i64 {
    (taxable + 5) / 11
}

fn card_brand_name(brand: &str) -> &'static str {
    match brand {
        "VISA" => "비자",
        "MASTER" => "마스터",
        "AMEX" => "아멕스",
        "JCB" => "JCB",
        _ => "국내카드",
    }
}

fn not_waiting() -> PortOneFault {
    PortOneFault::new(
        "PAYMENT_NOT_WAITING_FOR_DEPOSIT",
        "결제 건이 입금 대기 상태가 아닙니다.",
    )
}

/// A card's method after a successful charge.
pub fn card_method(number: &str, installment_month: i32) -> Method {
    Method::Card {
        number: mask_card(number).into(),
        brand: card_brand(number),
        installment_month,
        approval_number: approval_number(),
    }
}

/// A card approval number: eight random digits.
pub fn approval_number() -> u32 {
    // Below 10^8, so the cast keeps every value.
    crate::ids::random_below(100_000_000) as u32
}

/// The number as the real API shows it: the middle digits masked.
pub fn mask_card(number: &str) -> String {
    number
        .chars()
        .enumerate()
        .map(|(i, c)| if (6..12).contains(&i) { '*' } else { c })
        .collect()
}
