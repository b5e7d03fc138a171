//! The fake I'mport's state: one merchant's records, and every rule by which they are made
//! and change. The handlers in `routes` only read requests, call these, and answer.
//!
//! - [`payment`]: payments by card and virtual account, cancels, deposits, deadlines.
//! - [`billing`]: billing keys, charges with them, scheduled charges.
//! - [`documents`]: pre-registered amounts, identity certifications, cash receipts.
//! - [`cards`]: card data checks, the magic test numbers, issuers and banks.

mod billing;
mod cards;
mod documents;
mod payment;

use std::collections::{BTreeSet, HashMap};

use payments_api::iamport::*;
use serde::{Deserialize, Serialize};

pub use billing::{ScheduleRecord, SubscriptionRecord, unknown_schedule};
pub use cards::{CardNumber, check_card};
pub use payment::{Channel, Order, Payment};

use super::error::IamportFault;
use crate::compat::Compat;
use crate::ids::random_digits;
use crate::registry::Records;
use crate::store::{Budget, VolatileStore};
use crate::timers::Deadlines;

/// How a merchant's webhooks are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Json,
    Form,
}

/// Which of the real webhook's events a merchant gets (webhook guide, "웹훅 발생
/// 이벤트"): all by default, as the real API sends them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = IamportWebhookEvents)]
pub struct WebhookEvents {
    /// `paid`: a payment approved (any method), a virtual account's deposit, a scheduled
    /// payment charged.
    pub paid: bool,
    /// `ready`: a virtual account issued.
    pub ready: bool,
    /// `failed`: a scheduled payment declined (no other failure sends a webhook).
    pub failed: bool,
    /// `cancelled`: a cancel from the console (`POST /internal/cancel/{imp_uid}`), or
    /// through the API with `enable_webhook: true`.
    pub cancelled: bool,
}

impl Default for WebhookEvents {
    fn default() -> Self {
        Self {
            paid: true,
            ready: true,
            failed: true,
            cancelled: true,
        }
    }
}

impl WebhookEvents {
    /// Whether the webhook announcing `status` is sent.
    pub fn sends(&self, status: IamportPaymentStatus) -> bool {
        match status {
            IamportPaymentStatus::Paid => self.paid,
            IamportPaymentStatus::Ready => self.ready,
            IamportPaymentStatus::Failed => self.failed,
            IamportPaymentStatus::Cancelled => self.cancelled,
        }
    }
}

/// A merchant's settings, changed with `PUT /internal/merchant`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = IamportMerchantSettings)]
pub struct Settings {
    /// The merchant's webhook URL; `null` sends none. Absent: the configured URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Option<String>>,
    /// JSON (default) or form-encoded webhooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_format: Option<WebhookFormat>,
    /// Which events are sent; all when absent.
    pub webhook_events: WebhookEvents,
    /// Whether a webhook that met a network error or a 5xx answer is sent again (5 times,
    /// a minute apart), as PortOne does for merchants who ask for it; absent: the fake's
    /// setting, off unless configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_retries: Option<bool>,
    /// Answer business refusals with HTTP 200 and `code != 0`, as the real API does.
    pub business_errors_as_200: bool,
    /// Mask card numbers of new payments and billing keys, as the real API does (the SDK's
    /// pattern then no longer matches).
    pub mask_card_numbers: bool,
    /// Also send the webhooks the original fakes sent and the real API does not: every API
    /// cancel (the real one notifies only those sent with `enable_webhook: true`), and a
    /// virtual account's change, revoke and deadline (not among the real webhook's
    /// triggers).
    pub original_webhooks: bool,
    /// What the merchant's requests may be (`real` or `original`); absent: the fake's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compat: Option<Compat>,
}

/// One merchant's data: everything a key pair can see.
#[derive(Debug)]
pub struct MerchantData {
    pub settings: Settings,
    /// The fake's compat mode, which the merchant's setting may replace.
    pub configured_compat: Compat,
    /// The current access token and when it expires (ms).
    pub token: Option<(String, i64)>,
    /// Payments by imp_uid.
    payments: VolatileStore<Payment>,
    /// merchant_uid → the imp_uid of its latest payment.
    orders: HashMap<Box<str>, Box<str>>,
    /// merchant_uid → the imp_uids of its earlier payments, for the few orders paid more
    /// than once (a failed payment, then another try): `find` sorts them all.
    earlier: HashMap<Box<str>, Vec<Box<str>>>,
    prepared: VolatileStore<f64>,
    subscriptions: VolatileStore<SubscriptionRecord>,
    schedules: VolatileStore<ScheduleRecord>,
    /// customer_uid → the merchant_uids of its schedules still waiting, so that revoking
    /// them or deleting the billing key looks at those alone.
    waiting: HashMap<Box<str>, BTreeSet<Box<str>>>,
    certifications: VolatileStore<IamportCertification>,
    /// Cash receipts, by the payment's imp_uid.
    receipts: VolatileStore<IamportReceipt>,
    /// Virtual accounts' deadlines and scheduled payments' times.
    deadlines: Deadlines<Due>,
}

/// What falls due on the fake's clock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Due {
    /// The deadline of a virtual account waiting for its deposit, by imp_uid.
    Deadline(Box<str>),
    /// A scheduled payment, by merchant_uid.
    Schedule(Box<str>),
}

impl Records for MerchantData {
    fn clear(&mut self) {
        self.token = None;
        self.payments.clear();
        self.orders.clear();
        self.earlier.clear();
        self.prepared.clear();
        self.subscriptions.clear();
        self.schedules.clear();
        self.waiting.clear();
        self.certifications.clear();
        self.receipts.clear();
        self.deadlines.clear();
    }
}

/// A new imp_uid: `imp_` and 12 digits, as the real API's look.
fn imp_uid() -> String {
    format!("imp_{}", random_digits(12))
}

/// The answer for an imp_uid with no live payment.
pub fn unknown_payment() -> IamportFault {
    IamportFault::not_found("존재하지 않는 결제정보입니다.")
}

impl MerchantData {
    /// A merchant with no records yet, whose stores count in `budget`.
    /// What the merchant's requests may be: its own setting, else the fake's.
    pub fn compat(&self) -> Compat {
        self.settings.compat.unwrap_or(self.configured_compat)
    }

    pub fn new(ttl_ms: i64, capacity: usize, budget: Budget) -> Self {
        Self {
            settings: Settings::default(),
            configured_compat: Compat::Real,
            token: None,
            payments: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            orders: HashMap::new(),
            earlier: HashMap::new(),
            prepared: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            subscriptions: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            schedules: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            waiting: HashMap::new(),
            certifications: VolatileStore::sharing(ttl_ms, capacity, budget.clone()),
            receipts: VolatileStore::sharing(ttl_ms, capacity, budget),
            deadlines: Deadlines::default(),
        }
    }

    /// Stores a new payment under a new imp_uid, which it returns, makes it the latest of
    /// its merchant_uid, and arms its deadline if it has one.
    pub fn insert_payment(&mut self, payment: Payment, now_ms: i64) -> String {
        let imp_uid = imp_uid();
        let merchant_uid: Box<str> = payment.merchant_uid().into();
        let deadline = payment.deadline_ms();
        for (evicted_uid, evicted) in self.payments.insert(imp_uid.clone(), payment, now_ms) {
            let order = evicted.merchant_uid();
            if self
                .orders
                .get(order)
                .is_some_and(|uid| **uid == *evicted_uid)
            {
                self.orders.remove(order);
            }
            if let Some(uids) = self.earlier.get_mut(order) {
                uids.retain(|uid| **uid != *evicted_uid);
                if uids.is_empty() {
                    self.earlier.remove(order);
                }
            }
            let due = Due::Deadline(evicted_uid.into_boxed_str());
            self.deadlines.update(&due, evicted.deadline_ms(), None);
        }
        if let Some(previous) = self
            .orders
            .insert(merchant_uid.clone(), imp_uid.as_str().into())
        {
            self.earlier.entry(merchant_uid).or_default().push(previous);
        }
        self.deadlines
            .update(&Due::Deadline(imp_uid.as_str().into()), None, deadline);
        imp_uid
    }

    /// Takes the deadlines and schedule times that came by `now_ms`.
    pub fn take_due(&mut self, now_ms: i64) -> Vec<(i64, Due)> {
        self.deadlines.take_due(now_ms)
    }

    /// The live payment `imp_uid`.
    pub fn payment(&self, imp_uid: &str, now_ms: i64) -> Result<&Payment, IamportFault> {
        self.payments
            .get(imp_uid, now_ms)
            .ok_or_else(unknown_payment)
    }

    /// Changes the live payment `imp_uid` by `change`, and its deadline with it.
    pub fn change_payment<T>(
        &mut self,
        imp_uid: &str,
        now_ms: i64,
        change: impl FnOnce(&mut Payment) -> T,
    ) -> Result<T, IamportFault> {
        let payment = self
            .payments
            .get_mut(imp_uid, now_ms)
            .ok_or_else(unknown_payment)?;
        let before = payment.deadline_ms();
        let changed = change(payment);
        let after = payment.deadline_ms();
        self.deadlines
            .update(&Due::Deadline(imp_uid.into()), before, after);
        Ok(changed)
    }

    /// The imp_uid of the latest payment of a merchant_uid, if it is live.
    pub fn imp_uid_of(&self, merchant_uid: &str, now_ms: i64) -> Option<&str> {
        let imp_uid = self.orders.get(merchant_uid)?;
        self.payments.get(imp_uid, now_ms).map(|_| &**imp_uid)
    }

    /// Every live payment, with its imp_uid, oldest first.
    pub fn all_payments(&self, now_ms: i64) -> impl Iterator<Item = (&str, &Payment)> {
        self.payments.iter(now_ms)
    }

    /// Every live payment of a merchant_uid, with its imp_uid, oldest first.
    pub fn payments_of_order(&self, merchant_uid: &str, now_ms: i64) -> Vec<(&str, &Payment)> {
        self.earlier
            .get(merchant_uid)
            .into_iter()
            .flatten()
            .chain(self.orders.get(merchant_uid))
            .filter_map(|uid| self.payments.get(uid, now_ms).map(|p| (&**uid, p)))
            .collect()
    }

    /// The latest live payment of a merchant_uid, with its imp_uid.
    pub fn payment_by_order(&self, merchant_uid: &str, now_ms: i64) -> Option<(&str, &Payment)> {
        let imp_uid = self.imp_uid_of(merchant_uid, now_ms)?;
        self.payments.get(imp_uid, now_ms).map(|p| (imp_uid, p))
    }

    /// Refuses a merchant_uid that already has a payment, other than a failed one.
    pub fn check_new_order(&self, merchant_uid: &str, now_ms: i64) -> Result<(), IamportFault> {
        if merchant_uid.is_empty() || merchant_uid.len() > 255 {
            return Err(IamportFault::invalid(
                "merchant_uid 는 1자 이상 255자 이하여야 합니다.",
            ));
        }
        match self.payment_by_order(merchant_uid, now_ms) {
            Some((_, existing)) if existing.status() != IamportPaymentStatus::Failed => {
                Err(IamportFault::refused(
                    1,
                    format!("이미 결제가 진행된 주문번호(merchant_uid: {merchant_uid})입니다."),
                ))
            }
            _ => Ok(()),
        }
    }

    /// What an API call that pays at once checks of its order: a new merchant_uid, and the
    /// pre-registered amount if there is one.
    pub fn check_order(
        &self,
        merchant_uid: &str,
        amount: f64,
        now_ms: i64,
    ) -> Result<(), IamportFault> {
        self.check_new_order(merchant_uid, now_ms)?;
        self.check_prepared(merchant_uid, amount, now_ms)
            .map_err(|m| IamportFault::refused(-1, m))
    }

    /// Refuses an amount that differs from the one pre-registered for the merchant_uid.
    pub fn check_prepared(
        &self,
        merchant_uid: &str,
        amount: f64,
        now_ms: i64,
    ) -> Result<(), String> {
        match self.prepared.get(merchant_uid, now_ms) {
            Some(&prepared) if prepared != amount => Err(format!(
                "사전 등록된 결제금액({prepared})과 요청 금액({amount})이 다릅니다."
            )),
            _ => Ok(()),
        }
    }

    /// A schedule, to read it.
    pub fn schedule_record(&self, merchant_uid: &str, now_ms: i64) -> Option<&ScheduleRecord> {
        self.schedules.get(merchant_uid, now_ms)
    }

    /// A schedule as it reads now: its `payment_status` follows its payment, `cancelled`
    /// once refunded (v1.openapi.json, `ScheduleResultAnnotation.payment_status`).
    pub fn schedule_view(&self, schedule: &IamportSchedule, now_ms: i64) -> IamportSchedule {
        let mut schedule = schedule.clone();
        if let Some(payment) = schedule
            .imp_uid
            .as_deref()
            .and_then(|uid| self.payments.get(uid, now_ms))
        {
            schedule.payment_status = Some(payment.status());
        }
        schedule
    }

    /// Every live schedule, to list them.
    pub fn schedule_records(&self, now_ms: i64) -> impl Iterator<Item = &ScheduleRecord> {
        self.schedules.iter(now_ms).map(|(_, record)| record)
    }
}
