//! The fake PortOne's state: one store's records, and every rule by which they are made
//! and change. The handlers in `routes` only read requests, call these, and answer.
//!
//! - [`payment`]: payments by the merchant's paymentId, their attempts and cancellations.
//! - [`billing`]: billing keys and the payment schedules that charge them.

mod billing;
mod payment;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Utc};
use payments_api::portone::*;

pub use billing::{BillingKeyRecord, ScheduleRecord};
pub use payment::{
    Account, MAX_RESENDS, Method, Order, PaymentRecord, SentWebhook, approval_number, card_method,
    customer_of, message_id,
};

use super::error::PortOneFault;
use crate::registry::Records;
use crate::store::{Budget, VolatileStore};
use crate::timers::Deadlines;

/// The channel every payment of the fake goes through.
pub const CHANNEL_KEY: &str = "channel-key-fake-portone";

/// A change a webhook reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: WebhookType,
    /// The payment's status after the change, for a payment's event.
    pub status: Option<PaymentStatus>,
    pub payment_id: Option<String>,
    pub transaction_id: Option<String>,
    pub cancellation_id: Option<String>,
    pub billing_key: Option<String>,
}

/// Who a store is.
#[derive(Debug, Clone)]
pub struct Store {
    pub merchant_id: String,
    pub store_id: String,
}

impl Store {
    /// The test channel its payments go through.
    pub fn channel(&self) -> SelectedChannel {
        SelectedChannel {
            kind: "TEST".to_owned(),
            id: Some("channel-id-fake-portone".to_owned()),
            key: Some(CHANNEL_KEY.to_owned()),
            name: Some("fake".to_owned()),
            pg_provider: "TOSSPAYMENTS".to_owned(),
            pg_merchant_id: "tosstest".to_owned(),
        }
    }
}

/// What the amounts of a paymentId must be, registered before the customer pays.
#[derive(Debug, Clone)]
pub struct PreRegistration {
    pub total: Option<i64>,
    pub tax_free: Option<i64>,
    pub currency: Option<String>,
}

/// One store's data: everything an API secret can see.
#[derive(Debug)]
pub struct MerchantData {
    pub store: Store,
    /// The store's own webhook URL, replacing the configured one (`Some(None)`: none).
    pub webhook_url: Option<Option<String>>,
    /// The store's own webhook secret, replacing the configured one.
    pub webhook_secret: Option<String>,
    /// The URL its webhooks last went to, which every payment's remembered webhooks share.
    sent_to: Option<Arc<str>>,
    payments: VolatileStore<PaymentRecord>,
    pre_registrations: VolatileStore<PreRegistration>,
    billing_keys: VolatileStore<BillingKeyRecord>,
    schedules: VolatileStore<ScheduleRecord>,
    /// paymentId → the id of its schedule while it waits.
    scheduled: HashMap<Box<str>, Box<str>>,
    /// Virtual accounts' deadlines, by paymentId.
    deposits_due: Deadlines<Box<str>>,
    /// Schedules' times, by schedule id.
    schedules_due: Deadlines<Box<str>>,
}

impl MerchantData {
    /// A store with no records yet, whose stores count in `budget`: payments live
    /// `ttl_ms`, billing keys and schedules `billing_ttl_ms`.
    pub fn new(
        store: Store,
        ttl_ms: i64,
        billing_ttl_ms: i64,
        capacity: usize,
        budget: Budget,
    ) -> Self {
        Self {
            store,
            webhook_url: None,
            webhook_secret: None,
            sent_to: None,
            payments: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            pre_registrations: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            billing_keys: VolatileStore::sharing(billing_ttl_ms, capacity, budget.clone()),
            schedules: VolatileStore::sharing(billing_ttl_ms, capacity, budget),
            scheduled: HashMap::new(),
            deposits_due: Deadlines::default(),
            schedules_due: Deadlines::default(),
        }
    }

    /// `url` as the payments' remembered webhooks keep it: one copy while the URL stays
    /// the same, rather than one per webhook.
    pub fn shared_url(&mut self, url: &str) -> Arc<str> {
        match &self.sent_to {
            Some(last) if **last == *url => last.clone(),
            _ => self.sent_to.insert(Arc::from(url)).clone(),
        }
    }

    /// Refuses a `storeId` other than this store's.
    pub fn check_store(&self, store_id: Option<&str>) -> Result<(), PortOneFault> {
        match store_id {
            Some(id) if id != self.store.store_id => Err(PortOneFault::forbidden(id)),
            _ => Ok(()),
        }
    }

    // -- payments -------------------------------------------------------------------------

    /// The live payment `id`.
    pub fn payment(&self, id: &str, now_ms: i64) -> Result<&PaymentRecord, PortOneFault> {
        self.payments
            .get(id, now_ms)
            .ok_or_else(PortOneFault::payment_not_found)
    }

    /// Changes the live payment `id` by `change`, and its deposit deadline with it.
    pub fn change_payment<T>(
        &mut self,
        id: &str,
        now_ms: i64,
        change: impl FnOnce(&mut PaymentRecord) -> T,
    ) -> Result<T, PortOneFault> {
        self.deposits_due
            .change(
                &mut self.payments,
                id,
                now_ms,
                PaymentRecord::deposit_deadline_ms,
                change,
            )
            .ok_or_else(PortOneFault::payment_not_found)
    }

    /// Refuses a new attempt under `id` when a payment there is paid or waits, or when it
    /// does not match the pre-registered amounts.
    pub fn check_new_attempt(
        &self,
        id: &str,
        order: &Order,
        now_ms: i64,
    ) -> Result<(), PortOneFault> {
        check_payment_id(id)?;
        if self
            .payments
            .get(id, now_ms)
            .is_some_and(PaymentRecord::blocks_new_attempt)
        {
            return Err(PortOneFault::already_paid());
        }
        if let Some(pre) = self.pre_registrations.get(id, now_ms) {
            let mismatch = pre.total.is_some_and(|t| t != order.total)
                || pre.tax_free.is_some_and(|t| t != order.tax_free)
                || pre.currency.as_ref().is_some_and(|c| *c != order.currency);
            if mismatch {
                return Err(PortOneFault::invalid(
                    "the amount or currency differs from the pre-registered one",
                ));
            }
        }
        Ok(())
    }

    /// Stores a new attempt (replacing a failed or unfinished one under the same id).
    pub fn insert_payment(&mut self, payment: PaymentRecord, now_ms: i64) {
        let id = payment.id.clone();
        let deadline = payment.deposit_deadline_ms();
        if let Some(old) = self.payments.remove(&id) {
            self.deposits_due
                .update(&id.as_str().into(), old.deposit_deadline_ms(), None);
        }
        for (evicted_id, evicted) in self.payments.insert(id.clone(), payment, now_ms) {
            self.deposits_due.update(
                &evicted_id.into_boxed_str(),
                evicted.deposit_deadline_ms(),
                None,
            );
        }
        self.deposits_due
            .update(&id.into_boxed_str(), None, deadline);
    }

    /// Registers the amounts a paymentId must have.
    pub fn pre_register(
        &mut self,
        id: &str,
        pre: PreRegistration,
        now_ms: i64,
    ) -> Result<(), PortOneFault> {
        check_payment_id(id)?;
        if pre.total.is_some_and(|t| t <= 0) || pre.tax_free.is_some_and(|t| t < 0) {
            return Err(PortOneFault::invalid("amounts must be positive"));
        }
        if let Some(currency) = &pre.currency {
            payment::check_currency(currency)?;
        }
        if self
            .payments
            .get(id, now_ms)
            .is_some_and(PaymentRecord::blocks_new_attempt)
        {
            return Err(PortOneFault::already_paid());
        }
        self.pre_registrations.insert(id.to_owned(), pre, now_ms);
        Ok(())
    }

    /// Every live payment, in no particular order.
    pub fn payments(&self, now_ms: i64) -> impl Iterator<Item = &PaymentRecord> {
        self.payments.iter(now_ms).map(|(_, p)| p)
    }

    /// Fails the virtual accounts whose time came, and answers their events.
    pub fn expire_due(&mut self, now: DateTime<Utc>) -> Vec<Event> {
        let now_ms = now.timestamp_millis();
        let mut events = Vec::new();
        for (_, id) in self.deposits_due.take_due(now_ms) {
            let event = self.change_payment(&id, now_ms, |payment| {
                payment
                    .close_account("가상계좌 입금 기한이 만료되었습니다.", now)
                    .ok()
            });
            events.extend(event.ok().flatten());
        }
        events
    }

    // -- charges --------------------------------------------------------------------------

    /// Charges a billing key under `payment_id`: refused outright (`Err`), or recorded and
    /// then paid or declined by the PG (the inner result), with the webhooks' events.
    pub fn charge(
        &mut self,
        payment_id: &str,
        input: &BillingKeyPaymentInput,
        schedule_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Result<PaymentSummary, PortOneFault>, Vec<Event>), PortOneFault> {
        let now_ms = now.timestamp_millis();
        check_channel(input.channel_key.as_deref())?;
        let key = self.billing_key(&input.billing_key, now_ms)?;
        if key.deleted_at.is_some() {
            return Err(PortOneFault::billing_key_deleted());
        }
        let last_four = key.last_four.clone();
        let card_number = key.card_number.clone();
        let order = Order::new(
            &input.order_name,
            input.amount,
            &input.currency,
            input.customer.as_ref(),
            input.custom_data.as_deref(),
        )?;
        let months = check_installment(input.installment_month)?;
        let cash_receipt = cash_receipt_kind(input.cash_receipt.as_ref())?;
        if schedule_id.is_none() && self.scheduled.contains_key(payment_id) {
            return Err(PortOneFault::new(
                "PAYMENT_SCHEDULE_ALREADY_EXISTS",
                "결제 예약건이 이미 존재합니다.",
            ));
        }
        self.check_new_attempt(payment_id, &order, now_ms)?;
        let mut payment = PaymentRecord::new(payment_id, order, "API", now);
        payment.billing_key = Some(input.billing_key.as_str().into());
        payment.schedule_id = schedule_id.map(Box::from);
        payment.cash_receipt_kind = cash_receipt;
        payment.method = Some(Method::Card {
            number: card_number.into(),
            brand: key.brand,
            installment_month: months,
            approval_number: approval_number(),
        });
        let outcome = settle(&mut payment, &last_four, now);
        self.insert_payment(payment, now_ms);
        Ok(outcome)
    }

    // -- billing keys ---------------------------------------------------------------------

    /// Issues a billing key for a card, unless the issuer declines it.
    pub fn issue_billing_key(
        &mut self,
        credential: &CardCredential,
        customer: Customer,
        custom_data: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(String, Event), PortOneFault> {
        check_card(credential, now)?;
        if let Some((code, message)) = decline(&credential.number, true) {
            return Err(PortOneFault::pg(code, message));
        }
        let key = format!("billing-key-{}", uuid::Uuid::new_v4());
        let record = BillingKeyRecord::new(&credential.number, customer, custom_data, now);
        self.billing_keys
            .insert(key.clone(), record, now.timestamp_millis());
        let event = billing_event(WebhookType::BillingKeyIssued, &key);
        Ok((key, event))
    }

    /// The live billing key `key`.
    pub fn billing_key(&self, key: &str, now_ms: i64) -> Result<&BillingKeyRecord, PortOneFault> {
        self.billing_keys
            .get(key, now_ms)
            .ok_or_else(PortOneFault::billing_key_not_found)
    }

    /// Deletes a billing key with no schedules waiting on it.
    pub fn delete_billing_key(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Event, PortOneFault> {
        let now_ms = now.timestamp_millis();
        let record = self.billing_key(key, now_ms)?;
        if record.deleted_at.is_some() {
            return Err(PortOneFault::billing_key_deleted());
        }
        if self.schedules.iter(now_ms).any(|(_, s)| {
            s.input.billing_key == key && s.status == PaymentScheduleStatus::Scheduled
        }) {
            return Err(PortOneFault::new(
                "PAYMENT_SCHEDULE_ALREADY_EXISTS",
                "빌링키에 예약된 결제가 있습니다. 예약을 먼저 취소해 주세요.",
            ));
        }
        if let Some(record) = self.billing_keys.get_mut(key, now_ms) {
            record.deleted_at = Some(now);
        }
        Ok(billing_event(WebhookType::BillingKeyDeleted, key))
    }

    /// Every live billing key with its key.
    pub fn billing_keys(&self, now_ms: i64) -> impl Iterator<Item = (&str, &BillingKeyRecord)> {
        self.billing_keys.iter(now_ms)
    }

    // -- schedules ------------------------------------------------------------------------

    /// Schedules a charge of a billing key at `time_to_pay`.
    pub fn schedule(
        &mut self,
        payment_id: &str,
        input: BillingKeyPaymentInput,
        time_to_pay: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<String, PortOneFault> {
        let now_ms = now.timestamp_millis();
        check_payment_id(payment_id)?;
        check_channel(input.channel_key.as_deref())?;
        let key = self.billing_key(&input.billing_key, now_ms)?;
        if key.deleted_at.is_some() {
            return Err(PortOneFault::billing_key_deleted());
        }
        Order::new(
            &input.order_name,
            input.amount,
            &input.currency,
            input.customer.as_ref(),
            input.custom_data.as_deref(),
        )?;
        check_installment(input.installment_month)?;
        cash_receipt_kind(input.cash_receipt.as_ref())?;
        if time_to_pay <= now {
            return Err(PortOneFault::invalid("timeToPay must be in the future"));
        }
        if self
            .payments
            .get(payment_id, now_ms)
            .is_some_and(PaymentRecord::blocks_new_attempt)
        {
            return Err(PortOneFault::new(
                "ALREADY_PAID_OR_WAITING",
                "결제가 이미 완료되었거나 대기중입니다.",
            ));
        }
        if self.scheduled.contains_key(payment_id) {
            return Err(PortOneFault::new(
                "PAYMENT_SCHEDULE_ALREADY_EXISTS",
                "결제 예약건이 이미 존재합니다.",
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let record = ScheduleRecord {
            payment_id: payment_id.to_owned(),
            input,
            status: PaymentScheduleStatus::Scheduled,
            created_at: now,
            time_to_pay,
            started_at: None,
            ended_at: None,
        };
        let due = record.due_ms();
        for (evicted_id, evicted) in self.schedules.insert(id.clone(), record, now_ms) {
            self.forget_schedule(&evicted_id, &evicted);
        }
        self.schedules_due.update(&id.as_str().into(), None, due);
        self.scheduled.insert(payment_id.into(), id.as_str().into());
        Ok(id)
    }

    fn forget_schedule(&mut self, id: &str, schedule: &ScheduleRecord) {
        self.schedules_due
            .update(&id.into(), schedule.due_ms(), None);
        if self
            .scheduled
            .get(schedule.payment_id.as_str())
            .is_some_and(|s| **s == *id)
        {
            self.scheduled.remove(schedule.payment_id.as_str());
        }
    }

    /// Every live schedule with its id.
    pub fn schedules(&self, now_ms: i64) -> impl Iterator<Item = (&str, &ScheduleRecord)> {
        self.schedules.iter(now_ms)
    }

    /// Revokes waiting schedules: those listed, or else all of a billing key's.
    pub fn revoke(
        &mut self,
        billing_key: Option<&str>,
        ids: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, PortOneFault> {
        let now_ms = now.timestamp_millis();
        let ids: Vec<String> = match (ids, billing_key) {
            (Some(ids), _) if !ids.is_empty() => {
                if ids.len() > 1_000 {
                    return Err(PortOneFault::invalid("at most 1,000 scheduleIds"));
                }
                for id in ids {
                    let schedule = self.schedules.get(id, now_ms).ok_or_else(|| {
                        PortOneFault::new(
                            "PAYMENT_SCHEDULE_NOT_FOUND",
                            "결제 예약건이 존재하지 않습니다.",
                        )
                    })?;
                    if billing_key.is_some_and(|k| k != schedule.input.billing_key) {
                        return Err(PortOneFault::invalid(format!(
                            "schedule {id} is not on billing key {}",
                            billing_key.unwrap_or_default()
                        )));
                    }
                    match schedule.status {
                        PaymentScheduleStatus::Scheduled => {}
                        PaymentScheduleStatus::Revoked => {
                            return Err(PortOneFault::new(
                                "PAYMENT_SCHEDULE_ALREADY_REVOKED",
                                "결제 예약건이 이미 취소되었습니다.",
                            ));
                        }
                        _ => {
                            return Err(PortOneFault::new(
                                "PAYMENT_SCHEDULE_ALREADY_PROCESSED",
                                "결제 예약건이 이미 처리되었습니다.",
                            ));
                        }
                    }
                }
                ids.to_vec()
            }
            (_, Some(key)) => {
                let record = self.billing_key(key, now_ms)?;
                if record.deleted_at.is_some() {
                    return Err(PortOneFault::billing_key_deleted());
                }
                self.schedules
                    .iter(now_ms)
                    .filter(|(_, s)| {
                        s.input.billing_key == key && s.status == PaymentScheduleStatus::Scheduled
                    })
                    .map(|(id, _)| id.to_owned())
                    .collect()
            }
            _ => {
                return Err(PortOneFault::invalid("give a billingKey or scheduleIds"));
            }
        };
        for id in &ids {
            let Some(schedule) = self.schedules.get_mut(id, now_ms) else {
                continue;
            };
            let before = schedule.due_ms();
            schedule.status = PaymentScheduleStatus::Revoked;
            schedule.ended_at = Some(now);
            let payment_id = schedule.payment_id.clone();
            self.schedules_due.update(&id.as_str().into(), before, None);
            self.scheduled.remove(payment_id.as_str());
        }
        Ok(ids)
    }

    /// Charges the schedules whose time came, and answers the webhooks' events.
    pub fn run_schedules(&mut self, now: DateTime<Utc>) -> Vec<Event> {
        let now_ms = now.timestamp_millis();
        let mut events = Vec::new();
        for (_, id) in self.schedules_due.take_due(now_ms) {
            let Some(schedule) = self.schedules.get_mut(&id, now_ms) else {
                continue;
            };
            if schedule.status != PaymentScheduleStatus::Scheduled {
                continue;
            }
            schedule.status = PaymentScheduleStatus::Started;
            schedule.started_at = Some(now);
            let payment_id = schedule.payment_id.clone();
            let input = schedule.input.clone();
            self.scheduled.remove(payment_id.as_str());
            let outcome = self.charge(&payment_id, &input, Some(&id), now);
            let status = match outcome {
                Ok((Ok(_), charged)) => {
                    events.extend(charged);
                    PaymentScheduleStatus::Succeeded
                }
                Ok((Err(_), charged)) => {
                    events.extend(charged);
                    PaymentScheduleStatus::Failed
                }
                // Refused before a payment was made (the key deleted meanwhile, the id
                // paid): the schedule fails with no payment.
                Err(_) => PaymentScheduleStatus::Failed,
            };
            if let Some(schedule) = self.schedules.get_mut(&id, now_ms) {
                schedule.status = status;
                schedule.ended_at = Some(now);
            }
        }
        events
    }
}

impl Records for MerchantData {
    fn clear(&mut self) {
        self.payments.clear();
        self.pre_registrations.clear();
        self.billing_keys.clear();
        self.schedules.clear();
        self.scheduled.clear();
        self.deposits_due.clear();
        self.schedules_due.clear();
    }
}

/// Pays a new card payment, or fails it as the issuer declines: the PG's answer and the
/// webhook's event.
pub fn settle(
    payment: &mut PaymentRecord,
    number: &str,
    now: DateTime<Utc>,
) -> (Result<PaymentSummary, PortOneFault>, Vec<Event>) {
    match decline(number, false) {
        Some((code, message)) => {
            let event = payment.fail(code, message, now);
            (Err(PortOneFault::pg(code, message)), vec![event])
        }
        None => {
            let event = payment.pay(now);
            let summary = PaymentSummary {
                pg_tx_id: payment.pg_tx_id.as_deref().unwrap_or_default().to_owned(),
                paid_at: now,
            };
            (Ok(summary), vec![event])
        }
    }
}

fn billing_event(kind: WebhookType, key: &str) -> Event {
    Event {
        kind,
        status: None,
        payment_id: None,
        transaction_id: None,
        cancellation_id: None,
        billing_key: Some(key.to_owned()),
    }
}

/// Why the issuer declines a card, for the magic test numbers: ending `0002` (declined,
/// at registration as at payment) and `9995` (insufficient funds: registered, but every
/// charge fails).
pub fn decline(number: &str, registering: bool) -> Option<(&'static str, &'static str)> {
    if number.ends_with("0002") {
        Some(("4003", "카드사 승인 거절"))
    } else if number.ends_with("9995") && !registering {
        Some(("4004", "잔액 부족"))
    } else {
        None
    }
}

/// Checks card data: 15 or 16 digits, a two-digit month `01`–`12`, a two-digit year, not
/// expired.
pub fn check_card(card: &CardCredential, now: DateTime<Utc>) -> Result<(), PortOneFault> {
    let number = &card.number;
    if !(15..=16).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PortOneFault::invalid(
            "the card number must be 15 or 16 digits",
        ));
    }
    let month: u32 = card
        .expiry_month
        .parse()
        .ok()
        .filter(|m| (1..=12).contains(m) && card.expiry_month.len() == 2)
        .ok_or_else(|| PortOneFault::invalid("expiryMonth must be 01 to 12"))?;
    let year: i32 = card
        .expiry_year
        .parse::<i32>()
        .ok()
        .filter(|_| card.expiry_year.len() == 2)
        .map(|y| 2000 + y)
        .ok_or_else(|| PortOneFault::invalid("expiryYear must be two digits"))?;
    if (year, month) < (now.year(), now.month()) {
        return Err(PortOneFault::invalid("the card has expired"));
    }
    Ok(())
}

/// A card's brand, from its first digit as test cards are.
pub fn card_brand(number: &str) -> &'static str {
    match number.as_bytes().first() {
        Some(b'4') => "VISA",
        Some(b'5') => "MASTER",
        Some(b'3') => "AMEX",
        _ => "LOCAL",
    }
}

/// Checks a `Bank` code: upper-case letters and underscores.
pub fn check_bank(bank: &str) -> Result<(), PortOneFault> {
    if bank.is_empty()
        || bank.len() > 40
        || !bank.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
    {
        return Err(PortOneFault::invalid(format!(
            "{bank:?} is not a Bank code"
        )));
    }
    Ok(())
}

/// Refuses a channel other than the fake's.
pub fn check_channel(channel_key: Option<&str>) -> Result<(), PortOneFault> {
    match channel_key {
        Some(key) if key != CHANNEL_KEY => Err(PortOneFault::new(
            "CHANNEL_NOT_FOUND",
            format!("채널 {key}이(가) 존재하지 않습니다."),
        )),
        _ => Ok(()),
    }
}

/// Checks a paymentId: 1 to 256 visible characters.
pub fn check_payment_id(id: &str) -> Result<(), PortOneFault> {
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(PortOneFault::invalid(
            "paymentId must be 1 to 256 visible characters",
        ));
    }
    Ok(())
}

/// Checks installment months: none, or 2 to 24.
pub fn check_installment(months: Option<i32>) -> Result<i32, PortOneFault> {
    match months.unwrap_or(0) {
        m @ (0 | 2..=24) => Ok(m),
        m => Err(PortOneFault::invalid(format!(
            "installmentMonth must be 0 or 2 to 24, got {m}"
        ))),
    }
}

/// The type of cash receipt asked for, if any.
pub fn cash_receipt_kind(
    input: Option<&CashReceiptInput>,
) -> Result<Option<&'static str>, PortOneFault> {
    match input.map(|c| c.kind.as_str()) {
        None | Some("NO_RECEIPT") => Ok(None),
        Some("PERSONAL") => Ok(Some("PERSONAL")),
        Some("CORPORATE") => Ok(Some("CORPORATE")),
        Some(other) => Err(PortOneFault::invalid(format!(
            "cashReceipt.type must be PERSONAL, CORPORATE or NO_RECEIPT, got {other:?}"
        ))),
    }
}

/// When a virtual account expires: an explicit due date, or `valid_hours` from now
/// (default 168 hours, at most 2,160).
pub fn account_deadline(
    now: DateTime<Utc>,
    expiry: &VirtualAccountExpiry,
) -> Result<DateTime<Utc>, PortOneFault> {
    let due = match (expiry.due_date, expiry.valid_hours) {
        (Some(due), _) => due,
        (None, Some(hours)) if (1..=2160).contains(&hours) => {
            now + Duration::hours(i64::from(hours))
        }
        (None, Some(hours)) => {
            return Err(PortOneFault::invalid(format!(
                "validHours must be between 1 and 2160, got {hours}"
            )));
        }
        (None, None) => now + Duration::hours(168),
    };
    if due <= now {
        return Err(PortOneFault::invalid("dueDate must be in the future"));
    }
    Ok(due)
}

/// A PG transaction id.
pub fn pg_tx_id() -> String {
    crate::ids::random_alnum(20)
}
