//! The fake Toss's state: one merchant's records, and every rule by which they are made
//! and change. The handlers in `routes` only read requests, call these, and answer.
//!
//! - [`payment`]: payments by card and virtual account, through Toss's state machine.
//! - [`billing`]: billing keys, the card-registration window's authKeys, charges.
//! - [`receipts`]: cash receipts.

mod billing;
mod payment;
mod receipts;

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, Timelike};
use payments_api::toss::*;

pub use billing::{AuthKeyRecord, BillingRecord, check_customer_key};
pub use payment::{Order, Payment, check_cancel_reason, positive};
pub use receipts::ReceiptRecord;

use super::error::TossFault;
use crate::ids::random_alnum;
use crate::store::VolatileStore;

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
    /// Payments by paymentKey.
    payments: VolatileStore<Payment>,
    /// orderId → paymentKey, for lookups by order and duplicate checks.
    orders: HashMap<Box<str>, Box<str>>,
    billings: VolatileStore<BillingRecord>,
    auth_keys: VolatileStore<AuthKeyRecord>,
    receipts: VolatileStore<ReceiptRecord>,
    pub idempotency: VolatileStore<Idempotent>,
}

/// A change a webhook reports: the payment as it is after the change.
#[derive(Debug, Clone)]
pub enum Event {
    StatusChanged(TossPayment),
    /// A deposit into a virtual account, with the account's secret.
    Deposit(TossPayment),
}

impl MerchantData {
    pub fn new(ttl_ms: i64, capacity: usize) -> Self {
        Self {
            webhook_url: None,
            payments: VolatileStore::new(ttl_ms, capacity),
            orders: HashMap::new(),
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
        match self.payment_by_order(order_id, now_ms) {
            Some(_) => Err(TossFault::of("DUPLICATED_ORDER_ID")),
            None => Ok(()),
        }
    }

    /// Stores a new payment under a new paymentKey, which it returns, and indexes its
    /// orderId.
    pub fn insert_payment(&mut self, payment: Payment, now_ms: i64) -> String {
        let key = random_alnum(50);
        let order: Box<str> = payment.order_id().into();
        for (evicted_key, evicted) in self.payments.insert(key.clone(), payment, now_ms) {
            let order_id = evicted.order_id();
            if self
                .orders
                .get(order_id)
                .is_some_and(|k| **k == *evicted_key)
            {
                self.orders.remove(order_id);
            }
        }
        self.orders.insert(order, key.as_str().into());
        key
    }

    /// The live payment with `key`.
    pub fn payment(&self, key: &str, now_ms: i64) -> Result<&Payment, TossFault> {
        self.payments
            .get(key, now_ms)
            .ok_or_else(TossFault::not_found_payment)
    }

    /// The live payment with `key`, to change it.
    pub fn payment_mut(&mut self, key: &str, now_ms: i64) -> Result<&mut Payment, TossFault> {
        self.payments
            .get_mut(key, now_ms)
            .ok_or_else(TossFault::not_found_payment)
    }

    /// The live payment of an order, with its paymentKey.
    pub fn payment_by_order(&self, order_id: &str, now_ms: i64) -> Option<(&str, &Payment)> {
        let key = self.orders.get(order_id)?;
        self.payments.get(key, now_ms).map(|p| (&**key, p))
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
