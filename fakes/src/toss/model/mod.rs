//! The fake Toss's state: one merchant's records, and every rule by which they are made
//! and change. The handlers in `routes` only read requests, call these, and answer.
//!
//! - [`payment`]: payments by card and virtual account, through Toss's state machine.
//! - [`billing`]: billing keys, the card-registration window's authKeys, charges.
//! - [`receipts`]: cash receipts.

mod billing;
mod lists;
mod payment;
mod receipts;

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, Timelike};
use payments_api::toss::*;

pub use billing::{AuthKeyRecord, BillingRecord, check_customer_key};
pub use lists::{parse_date, parse_date_time, parse_limit};
pub use payment::{
    Due, Order, Payment, card_decline, check_cancel_reason, easy_pay_provider, positive,
};
pub use receipts::ReceiptRecord;

use super::error::TossFault;
use crate::compat::{Compat, card_digits};
use crate::ids::random_alnum;
use crate::registry::Records;
use crate::store::{Budget, VolatileStore};
use crate::timers::Deadlines;

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
    /// The merchant's own compat mode, replacing the configured one.
    pub compat: Option<Compat>,
    /// Payments by paymentKey.
    payments: VolatileStore<Payment>,
    /// orderId → paymentKey, for lookups by order and duplicate checks.
    orders: HashMap<Box<str>, Box<str>>,
    billings: VolatileStore<BillingRecord>,
    auth_keys: VolatileStore<AuthKeyRecord>,
    receipts: VolatileStore<ReceiptRecord>,
    pub idempotency: VolatileStore<Idempotent>,
    /// When payments have something due: a payment window or an unpaid virtual account
    /// expiring, a refund settling.
    deadlines: Deadlines<Box<str>>,
    /// The payments' transactions in time order, for `GET /v1/transactions`.
    transactions: lists::TransactionIndex,
    /// The cash receipts' issues and cancels by day, for `GET /v1/cash-receipts`.
    receipt_days: lists::ReceiptIndex,
}

/// A change a webhook reports: the payment as it is after the change.
#[derive(Debug, Clone)]
pub enum Event {
    StatusChanged(TossPayment),
    /// A status change of a payment already written as JSON for the request's answer: the
    /// webhook carries those bytes instead of writing the payment again.
    StatusChangedJson {
        payment_key: String,
        json: axum::body::Bytes,
    },
    /// A change of a virtual account's payment (issue, deposit, deposit taken back,
    /// cancel), told with the account's secret.
    Deposit(TossPayment),
}

impl Event {
    /// What Toss tells of a payment whose status changed: `PAYMENT_STATUS_CHANGED`, and
    /// for a virtual account `DEPOSIT_CALLBACK` too (its webhook-events reference: a
    /// merchant registered for both hears of each change twice). `json` is the payment
    /// written as JSON, for the request's answer.
    pub fn of_change_json(payment: &TossPayment, json: axum::body::Bytes) -> Vec<Event> {
        let mut events = vec![Event::StatusChangedJson {
            payment_key: payment.base().payment_key.clone(),
            json,
        }];
        if matches!(payment, TossPayment::VirtualAccount(_)) {
            events.push(Event::Deposit(payment.clone()));
        }
        events
    }

    /// [`Event::of_change_json`] for a payment not written as JSON.
    pub fn of_change(payment: &TossPayment) -> Vec<Event> {
        let mut events = vec![Event::StatusChanged(payment.clone())];
        if matches!(payment, TossPayment::VirtualAccount(_)) {
            events.push(Event::Deposit(payment.clone()));
        }
        events
    }
}

impl MerchantData {
    /// A merchant with no records yet, whose stores count in `budget`.
    pub fn new(ttl_ms: i64, capacity: usize, budget: Budget) -> Self {
        Self {
            webhook_url: None,
            compat: None,
            payments: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            orders: HashMap::new(),
            billings: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            auth_keys: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            receipts: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            // Toss keeps a key 15 days whatever else expires sooner; the capacity bounds it.
            idempotency: VolatileStore::sharing(
                super::IDEMPOTENCY_KEY_DAYS * 24 * 3600 * 1000,
                capacity,
                budget,
            ),
            deadlines: Deadlines::default(),
            transactions: lists::TransactionIndex::default(),
            receipt_days: lists::ReceiptIndex::default(),
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

    /// Stores a new payment under a new paymentKey, which it returns, indexes its orderId
    /// and arms its expiry.
    pub fn insert_payment(&mut self, payment: Payment, now_ms: i64) -> String {
        let key = random_alnum(50);
        let order: Box<str> = payment.order_id().into();
        let expiry = payment.due_at_ms();
        let transactions = payment.transactions();
        for (evicted_key, evicted) in self.payments.insert(key.clone(), payment, now_ms) {
            for (transaction_key, _, _) in evicted.transactions() {
                self.transactions.remove(transaction_key);
            }
            let order_id = evicted.order_id();
            if self
                .orders
                .get(order_id)
                .is_some_and(|k| **k == *evicted_key)
            {
                self.orders.remove(order_id);
            }
            self.deadlines
                .update(&evicted_key.into_boxed_str(), evicted.due_at_ms(), None);
        }
        self.orders.insert(order, key.as_str().into());
        self.deadlines.update(&key.as_str().into(), None, expiry);
        self.transactions.sync(&key, &[], &transactions);
        key
    }

    /// The live payment with `key`.
    pub fn payment(&self, key: &str, now_ms: i64) -> Result<&Payment, TossFault> {
        self.payments
            .get(key, now_ms)
            .ok_or_else(TossFault::not_found_payment)
    }

    /// Changes the live payment with `key` by `change`, and its expiry with it.
    pub fn change_payment<T>(
        &mut self,
        key: &str,
        now_ms: i64,
        change: impl FnOnce(&mut Payment) -> T,
    ) -> Result<T, TossFault> {
        let (result, before, after) = self
            .deadlines
            .change(
                &mut self.payments,
                key,
                now_ms,
                Payment::due_at_ms,
                |payment| {
                    let before = payment.transactions();
                    let result = change(payment);
                    (result, before, payment.transactions())
                },
            )
            .ok_or_else(TossFault::not_found_payment)?;
        if before != after {
            self.transactions.sync(key, &before, &after);
        }
        Ok(result)
    }

    /// Does what is due by `now_ms` (expiries, refunds settling), and answers the events
    /// it makes: an expiry's status change. A refund settling changes `refundStatus` only,
    /// of which Toss documents no webhook (its `CANCEL_STATUS_CHANGED` is for overseas
    /// easy pay).
    pub fn run_due(&mut self, now_ms: i64) -> Vec<Event> {
        let mut events = Vec::new();
        // Settling a refund arms the payment's next one, which may be due already.
        loop {
            let due = self.deadlines.take_due(now_ms);
            if due.is_empty() {
                return events;
            }
            for (due_ms, key) in due {
                let done = self.change_payment(&key, now_ms, |payment| {
                    payment
                        .on_due(due_ms)
                        .map(|due| (due, payment.render(&key)))
                });
                if let Ok(Some((Due::Expired, payment))) = done {
                    events.push(Event::StatusChanged(payment));
                }
            }
        }
    }

    /// The live payment of an order, with its paymentKey.
    pub fn payment_by_order(&self, order_id: &str, now_ms: i64) -> Option<(&str, &Payment)> {
        let key = self.orders.get(order_id)?;
        self.payments.get(key, now_ms).map(|p| (&**key, p))
    }
}

impl Records for MerchantData {
    fn clear(&mut self) {
        self.payments.clear();
        self.orders.clear();
        self.billings.clear();
        self.auth_keys.clear();
        self.receipts.clear();
        self.idempotency.clear();
        self.deadlines.clear();
        self.transactions.clear();
        self.receipt_days.clear();
    }
}

/// Checks card data and answers the card number's digits: 15 or 16 digits, a month
/// `01`–`12`, a two-digit year, not expired. `Compat::Original` also takes 13 to 16 digits
/// in dash-separated groups, and an expired date.
pub fn check_card(
    number: &str,
    year: &str,
    month: &str,
    now: DateTime<FixedOffset>,
    compat: Compat,
) -> Result<String, TossFault> {
    let digits = if compat.original() {
        card_digits(number, 13..=16)
    } else {
        card_digits(number, 15..=16).filter(|_| !number.contains('-'))
    };
    let digits = digits.ok_or_else(|| TossFault::of("INVALID_CARD_NUMBER"))?;
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
    if (year, month) < (now.year(), now.month()) && !compat.original() {
        return Err(TossFault::of("INVALID_CARD_EXPIRATION"));
    }
    Ok(digits)
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
