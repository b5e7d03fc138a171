//! The records of the fake Toss and how payments are made and changed.

use chrono::{DateTime, Duration, FixedOffset, Timelike};
use payments_api::toss::*;

use super::error::TossFault;
use crate::store::VolatileStore;

/// A payment and the fake's bookkeeping about it.
#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub payment: TossPayment,
    /// When it expires if nothing happens (a payment window or an unpaid virtual account),
    /// in ms on the fake's clock.
    pub expires_at_ms: Option<i64>,
}

/// A billing key.
#[derive(Debug, Clone)]
pub struct BillingRecord {
    pub billing: TossBilling,
}

/// An authKey from the card-registration window, not yet exchanged for a billing key.
#[derive(Debug, Clone)]
pub struct AuthKeyRecord {
    pub customer_key: String,
    pub card_number: String,
}

/// A cash receipt and the payment it belongs to.
#[derive(Debug, Clone)]
pub struct ReceiptRecord {
    pub receipt: TossCashReceipt,
    pub payment_key: String,
}

/// An `Idempotency-Key` seen before.
#[derive(Debug, Clone)]
pub enum Idempotent {
    /// The first request is still being handled.
    InFlight,
    /// The first request's answer, replayed for every repeat.
    Done {
        status: u16,
        body: axum::body::Bytes,
    },
}

/// One merchant's data: everything a secret key can see.
#[derive(Debug)]
pub struct MerchantData {
    /// The merchant's own webhook URL, replacing the configured one.
    pub webhook_url: Option<Option<String>>,
    pub payments: VolatileStore<PaymentRecord>,
    /// orderId → paymentKey, for lookups by order and duplicate checks.
    pub orders: std::collections::HashMap<String, String>,
    pub billings: VolatileStore<BillingRecord>,
    pub auth_keys: VolatileStore<AuthKeyRecord>,
    pub receipts: VolatileStore<ReceiptRecord>,
    pub idempotency: VolatileStore<Idempotent>,
}

impl MerchantData {
    pub fn new(ttl_ms: i64, capacity: usize) -> Self {
        Self {
            webhook_url: None,
            payments: VolatileStore::new(ttl_ms, capacity),
            orders: Default::default(),
            billings: VolatileStore::new(ttl_ms, capacity),
            auth_keys: VolatileStore::new(ttl_ms, capacity),
            receipts: VolatileStore::new(ttl_ms, capacity),
            idempotency: VolatileStore::new(ttl_ms, capacity),
        }
    }

    /// Refuses an orderId this merchant already used.
    pub fn check_new_order(&self, order_id: &str, now_ms: i64) -> Result<(), TossFault> {
        if order_id.is_empty() || order_id.len() > 64 {
            return Err(TossFault::invalid("orderId must be 1 to 64 characters"));
        }
        match self.orders.get(order_id) {
            Some(key) if self.payments.get(key, now_ms).is_some() => {
                Err(TossFault::of("DUPLICATED_ORDER_ID"))
            }
            _ => Ok(()),
        }
    }

    /// Stores a new payment and indexes its orderId.
    pub fn insert_payment(&mut self, record: PaymentRecord, now_ms: i64) {
        let base = record.payment.base();
        let (key, order) = (base.payment_key.clone(), base.order_id.clone());
        for (evicted_key, evicted) in self.payments.insert(key.clone(), record, now_ms) {
            let order_id = &evicted.payment.base().order_id;
            if self.orders.get(order_id) == Some(&evicted_key) {
                self.orders.remove(order_id);
            }
        }
        self.orders.insert(order, key);
    }

    /// The live payment with `key`.
    pub fn payment(&mut self, key: &str, now_ms: i64) -> Result<&mut PaymentRecord, TossFault> {
        self.payments
            .get_mut(key, now_ms)
            .ok_or_else(TossFault::not_found_payment)
    }
}

/// A change a webhook reports.
#[derive(Debug, Clone)]
pub enum Event {
    StatusChanged(TossPayment),
    Deposit(TossPayment),
}

pub use crate::ids::{random_alnum, random_digits};

/// A new transaction key (32 upper-case hex digits).
pub fn transaction_key() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

/// Checks an amount: a finite number above zero.
pub fn positive(name: &str, amount: f64) -> Result<f64, TossFault> {
    if amount.is_finite() && amount > 0.0 {
        Ok(amount)
    } else {
        Err(TossFault::invalid(format!(
            "{name} must be a positive number, got {amount}"
        )))
    }
}

/// The common fields of a new payment.
#[allow(clippy::too_many_arguments)]
pub fn base(
    method: &str,
    kind: TossPaymentType,
    status: TossPaymentStatus,
    order_id: &str,
    order_name: &str,
    amount: f64,
    tax_free: f64,
    now: DateTime<FixedOffset>,
) -> TossPaymentBase {
    // Korean VAT is 10% of the supplied value: amount = supplied × 1.1 (+ tax-free part).
    let taxable = (amount - tax_free).max(0.0);
    let supplied = (taxable / 1.1).round();
    TossPaymentBase {
        method: method.to_owned(),
        kind,
        status,
        m_id: "tosspayments".to_owned(),
        version: "2022-11-16".to_owned(),
        payment_key: random_alnum(50),
        order_id: order_id.to_owned(),
        transaction_key: transaction_key(),
        order_name: order_name.to_owned(),
        currency: "KRW".to_owned(),
        total_amount: amount,
        balance_amount: amount,
        supplied_amount: supplied,
        tax_free_amount: tax_free,
        vat: taxable - supplied,
        use_escrow: false,
        culture_expense: false,
        requested_at: now,
        approved_at: None,
        cancels: None,
        cash_receipt: None,
    }
}

/// A card payment over `base`.
pub fn card_payment(
    base: TossPaymentBase,
    card_number: &str,
    installment_months: u32,
) -> TossPayment {
    let receipt_url = receipt_url(&base.payment_key);
    TossPayment::Card(TossCardPayment {
        card: TossCard {
            company: card_company(card_number).to_owned(),
            number: card_number.to_owned(),
            installment_plan_months: installment_months,
            is_interest_free: false,
            approve_no: random_digits(8),
            use_card_point: false,
            card_type: "신용".to_owned(),
            owner_type: "개인".to_owned(),
            acquire_status: TossAcquireStatus::Ready,
            receipt_url,
        },
        discount: None,
        easy_pay: None,
        base,
    })
}

/// A virtual-account payment over `base`, due at `due`.
pub fn virtual_account_payment(
    base: TossPaymentBase,
    bank: &str,
    customer_name: &str,
    due: DateTime<FixedOffset>,
) -> TossPayment {
    TossPayment::VirtualAccount(TossVirtualAccountPayment {
        secret: format!("ps_{}", random_alnum(28)),
        virtual_account: TossVirtualAccount {
            account_number: format!("X{}", random_digits(13)),
            account_type: "일반".to_owned(),
            bank: bank.to_owned(),
            customer_name: customer_name.to_owned(),
            due_date: due.date_naive(),
            expired: false,
            settlement_status: TossSettlementStatus::Incompleted,
            refund_status: TossRefundStatus::None,
        },
        base,
    })
}

/// The receipt page of a payment (a URI, as the SDK requires).
pub fn receipt_url(payment_key: &str) -> String {
    format!("https://dashboard.tosspayments.com/receipt/redirection?transactionId={payment_key}")
}

/// The issuer of a card, guessed from its first digit as test cards are.
pub fn card_company(card_number: &str) -> &'static str {
    match card_number.as_bytes().first() {
        Some(b'3') => "롯데",
        Some(b'4') => "신한",
        Some(b'5') => "현대",
        Some(b'6') => "농협",
        Some(b'9') => "비씨",
        _ => "국민",
    }
}

/// Checks card data: 15 or 16 digits, a month `01`–`12`, a two-digit year, not expired.
pub fn check_card(
    number: &str,
    year: &str,
    month: &str,
    now: DateTime<FixedOffset>,
) -> Result<(), TossFault> {
    if !(15..=16).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TossFault::of("INVALID_CARD_NUMBER"));
    }
    let month: u32 = month
        .parse()
        .ok()
        .filter(|m| (1..=12).contains(m) && month.len() == 2)
        .ok_or_else(|| TossFault::of("INVALID_CARD_EXPIRATION"))?;
    let year: i32 = year
        .parse::<i32>()
        .ok()
        .filter(|_| year.len() == 2)
        .map(|y| 2000 + y)
        .ok_or_else(|| TossFault::of("INVALID_CARD_EXPIRATION"))?;
    use chrono::Datelike;
    if (year, month) < (now.year(), now.month()) {
        return Err(TossFault::of("INVALID_CARD_EXPIRATION"));
    }
    Ok(())
}

/// The deadline of a virtual account: an explicit due date, or `valid_hours` from now
/// (Toss's default is 168 hours; at most 2,160).
pub fn due_date(
    now: DateTime<FixedOffset>,
    valid_hours: Option<u32>,
    due: Option<DateTime<FixedOffset>>,
) -> Result<DateTime<FixedOffset>, TossFault> {
    let due = match (due, valid_hours) {
        (Some(due), _) => due,
        (None, Some(hours)) if (1..=2160).contains(&hours) => {
            now + Duration::hours(i64::from(hours))
        }
        (None, Some(hours)) => {
            return Err(TossFault::invalid(format!(
                "validHours must be between 1 and 2160, got {hours}"
            )));
        }
        (None, None) => now + Duration::hours(168),
    };
    if due <= now {
        return Err(TossFault::invalid("dueDate must be in the future"));
    }
    Ok(due.with_nanosecond(0).unwrap_or(due))
}
