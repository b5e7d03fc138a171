//! Billing keys (a card stored under the merchant's `customer_uid`), charges made with
//! them, and scheduled charges: how each is made and changed.

use payments_api::iamport::*;

use super::super::error::IamportFault;
use super::cards::{CardNumber, check_card};
use super::payment::{Channel, Order, Payment};
use super::{Due, MerchantData};

/// Why a schedule whose billing key was deleted fails.
const DELETED_KEY: &str = "빌링키가 삭제되어 결제할 수 없습니다.";

/// A billing key and the card behind it.
#[derive(Debug, Clone)]
pub struct SubscriptionRecord {
    pub subscription: IamportSubscription,
    /// The whole card number, for charges (the record may show it masked).
    pub card_number: CardNumber,
}

/// A scheduled payment and what it needs at execution.
#[derive(Debug, Clone)]
pub struct ScheduleRecord {
    pub schedule: IamportSchedule,
    pub request: IamportScheduleRequest,
    /// The billing key's card when the charge was scheduled: a key deleted meanwhile still
    /// makes a (failed) payment of that card.
    pub card: CardNumber,
}

impl ScheduleRecord {
    /// Whether the schedule still waits for its time.
    pub fn is_pending(&self) -> bool {
        self.schedule.schedule_status == IamportScheduleStatus::Scheduled
    }

    /// When a waiting schedule charges, in ms.
    fn deadline_ms(&self) -> Option<i64> {
        self.is_pending()
            .then(|| self.schedule.schedule_at.saturating_mul(1000))
    }
}

fn unknown_customer(customer_uid: &str) -> IamportFault {
    IamportFault::not_found(format!(
        "요청하신 customer_uid({customer_uid})로 등록된 정보를 찾을 수 없습니다."
    ))
}

impl MerchantData {
    /// The billing key `customer_uid`.
    pub fn subscription(
        &self,
        customer_uid: &str,
        now_ms: i64,
    ) -> Result<&SubscriptionRecord, IamportFault> {
        self.subscriptions
            .get(customer_uid, now_ms)
            .ok_or_else(|| unknown_customer(customer_uid))
    }

    /// Registers (or replaces) a billing key; a declined magic card is refused, one short of
    /// funds registers and fails its charges.
    pub fn register_card(
        &mut self,
        customer_uid: &str,
        card: &IamportCardInput,
        today: chrono::NaiveDate,
        now_ms: i64,
    ) -> Result<IamportSubscription, IamportFault> {
        if customer_uid.is_empty() || customer_uid.len() > 80 {
            return Err(IamportFault::invalid(
                "customer_uid 는 1자 이상 80자 이하여야 합니다.",
            ));
        }
        let compat = self.compat();
        let number = CardNumber::parse(&card.card_number, compat)?;
        check_card(&card.expiry, &card.birth, today, compat)?;
        if let Some(reason) = number.registration_refusal() {
            return Err(IamportFault::refused(
                -1,
                format!("카드정보 인증에 실패하였습니다. {reason}"),
            ));
        }
        let now = now_ms / 1000;
        let inserted = self
            .subscriptions
            .get(customer_uid, now_ms)
            .map_or(now, |r| r.subscription.inserted);
        let (card_code, card_name) = number.company();
        let subscription = IamportSubscription {
            customer_uid: customer_uid.to_owned(),
            pg_provider: "nice".to_owned(),
            pg_id: "iamport00m".to_owned(),
            sandbox: Some(true),
            card_name: card_name.to_owned(),
            card_code: card_code.to_owned(),
            card_number: if self.settings.mask_card_numbers {
                number.masked()
            } else {
                number.to_string()
            },
            card_type: "0".to_owned(),
            customer_name: card.customer_name.clone(),
            customer_tel: card.customer_tel.clone(),
            customer_email: card.customer_email.clone(),
            customer_addr: card.customer_addr.clone(),
            customer_postcode: card.customer_postcode.clone(),
            inserted,
            updated: now,
        };
        self.subscriptions.insert(
            customer_uid.to_owned(),
            SubscriptionRecord {
                subscription: subscription.clone(),
                card_number: number,
            },
            now_ms,
        );
        Ok(subscription)
    }

    /// A payment with the billing key `customer_uid`, the buyer's fields the order leaves
    /// out taken from the card's owner. Checked as any payment at once is.
    pub fn charge(
        &self,
        customer_uid: &str,
        mut order: Order<'_>,
        quota: u32,
        now_ms: i64,
    ) -> Result<Payment, IamportFault> {
        let Some(key) = self.subscriptions.get(customer_uid, now_ms) else {
            return Err(IamportFault::missing("등록되지 않은 구매자입니다."));
        };
        self.check_order(order.merchant_uid, order.amount, now_ms)?;
        let owner = &key.subscription;
        order.buyer_name = order.buyer_name.or_else(|| owner.customer_name.clone());
        order.buyer_email = order.buyer_email.or_else(|| owner.customer_email.clone());
        order.buyer_tel = order.buyer_tel.or_else(|| owner.customer_tel.clone());
        order.buyer_addr = order.buyer_addr.or_else(|| owner.customer_addr.clone());
        order.buyer_postcode = order
            .buyer_postcode
            .or_else(|| owner.customer_postcode.clone());
        order.customer_uid = Some(customer_uid.to_owned());
        order.customer_uid_usage = Some("payment");
        Ok(Payment::card(
            order,
            key.card_number,
            quota,
            self.settings.mask_card_numbers,
            now_ms / 1000,
        ))
    }

    /// Deletes a billing key. Its waiting schedules stay, as in the real API, and fail
    /// when their time comes.
    pub fn delete_customer(
        &mut self,
        customer_uid: &str,
        now_ms: i64,
    ) -> Result<IamportSubscription, IamportFault> {
        self.subscription(customer_uid, now_ms)?;
        self.subscriptions
            .remove(customer_uid)
            .map(|r| r.subscription)
            .ok_or_else(|| unknown_customer(customer_uid))
    }

    /// Schedules charges of the billing key `customer_uid`: all of them, or none if one is
    /// refused.
    pub fn schedule(
        &mut self,
        customer_uid: &str,
        requests: &[IamportScheduleRequest],
        now_ms: i64,
    ) -> Result<Vec<IamportSchedule>, IamportFault> {
        if requests.is_empty() {
            return Err(IamportFault::invalid("schedules 가 비어 있습니다."));
        }
        let Some(card) = self
            .subscriptions
            .get(customer_uid, now_ms)
            .map(|s| s.card_number)
        else {
            return Err(IamportFault::missing("등록되지 않은 구매자입니다."));
        };
        let mut seen = std::collections::HashSet::new();
        for request in requests {
            if !(request.amount.is_finite() && request.amount > 0.0) {
                return Err(IamportFault::invalid(format!(
                    "amount 는 0보다 큰 숫자여야 합니다: {}",
                    request.amount
                )));
            }
            let taken = !seen.insert(request.merchant_uid.as_str())
                || self
                    .schedules
                    .get(&request.merchant_uid, now_ms)
                    .is_some_and(|s| s.schedule.schedule_status != IamportScheduleStatus::Revoked);
            if taken {
                return Err(IamportFault::refused(
                    1,
                    format!("이미 예약된 merchant_uid 입니다: {}", request.merchant_uid),
                ));
            }
            self.check_new_order(&request.merchant_uid, now_ms)?;
            check_future(request.schedule_at, now_ms)?;
        }
        Ok(requests
            .iter()
            .map(|request| {
                let schedule = IamportSchedule {
                    customer_uid: customer_uid.to_owned(),
                    merchant_uid: request.merchant_uid.clone(),
                    imp_uid: None,
                    schedule_at: request.schedule_at,
                    executed_at: 0,
                    revoked_at: 0,
                    amount: request.amount,
                    name: request.name.clone(),
                    buyer_name: request.buyer_name.clone(),
                    buyer_email: request.buyer_email.clone(),
                    buyer_tel: request.buyer_tel.clone(),
                    buyer_addr: request.buyer_addr.clone(),
                    buyer_postcode: request.buyer_postcode.clone(),
                    custom_data: request.custom_data.clone(),
                    schedule_status: IamportScheduleStatus::Scheduled,
                    payment_status: None,
                    fail_reason: None,
                };
                self.store_schedule(
                    ScheduleRecord {
                        schedule: schedule.clone(),
                        request: request.clone(),
                        card,
                    },
                    now_ms,
                );
                schedule
            })
            .collect())
    }

    /// Stores a schedule, arms its time and counts it among its customer's waiting ones;
    /// a schedule the store lets go stops waiting.
    fn store_schedule(&mut self, record: ScheduleRecord, now_ms: i64) {
        let merchant_uid: Box<str> = record.schedule.merchant_uid.as_str().into();
        let customer_uid: Box<str> = record.schedule.customer_uid.as_str().into();
        let deadline = record.deadline_ms();
        for (evicted_uid, evicted) in
            self.schedules
                .insert(merchant_uid.to_string(), record, now_ms)
        {
            let customer_uid = &evicted.schedule.customer_uid;
            self.stop_waiting(&evicted_uid, customer_uid, evicted.deadline_ms());
        }
        self.deadlines
            .update(&Due::Schedule(merchant_uid.clone()), None, deadline);
        if deadline.is_some() {
            self.waiting
                .entry(customer_uid)
                .or_default()
                .insert(merchant_uid);
        }
    }

    /// Disarms a schedule that no longer waits (due at `deadline` until now), and takes
    /// it off its customer's list.
    fn stop_waiting(&mut self, merchant_uid: &str, customer_uid: &str, deadline: Option<i64>) {
        self.deadlines
            .update(&Due::Schedule(merchant_uid.into()), deadline, None);
        if let Some(uids) = self.waiting.get_mut(customer_uid) {
            uids.remove(merchant_uid);
            if uids.is_empty() {
                self.waiting.remove(customer_uid);
            }
        }
    }

    /// The merchant_uids of the live schedules of `customer_uid` still waiting.
    fn waiting_schedules(&self, customer_uid: &str, now_ms: i64) -> Vec<Box<str>> {
        self.waiting
            .get(customer_uid)
            .into_iter()
            .flatten()
            .filter(|uid| {
                self.schedules
                    .get(uid, now_ms)
                    .is_some_and(ScheduleRecord::is_pending)
            })
            .cloned()
            .collect()
    }

    /// Revokes the waiting schedules of `customer_uid`: those of `merchant_uids`, or all
    /// when it is empty. Earliest first.
    pub fn unschedule(
        &mut self,
        customer_uid: Option<&str>,
        merchant_uids: &[String],
        now_ms: i64,
    ) -> Result<Vec<IamportSchedule>, IamportFault> {
        let targets: Vec<Box<str>> = match customer_uid {
            Some(customer_uid) => self
                .waiting_schedules(customer_uid, now_ms)
                .into_iter()
                .filter(|uid| {
                    merchant_uids.is_empty() || merchant_uids.iter().any(|m| **m == **uid)
                })
                .collect(),
            // Without a customer, the schedules of `merchant_uids`, whoever's they are.
            None if merchant_uids.is_empty() => {
                return Err(IamportFault::invalid(
                    "customer_uid 가 없으면 merchant_uid 가 필요합니다.",
                ));
            }
            None => merchant_uids
                .iter()
                .filter(|uid| {
                    self.schedules
                        .get(uid, now_ms)
                        .is_some_and(ScheduleRecord::is_pending)
                })
                .map(|uid| uid.as_str().into())
                .collect(),
        };
        if targets.is_empty() {
            return Err(IamportFault::refused(
                1,
                "취소할 예약결제 기록이 존재하지 않습니다.",
            ));
        }
        let mut revoked = Vec::new();
        for uid in targets {
            let Some(record) = self
                .schedules
                .get_mut(&uid, now_ms)
                .filter(|r| r.is_pending())
            else {
                continue;
            };
            let deadline = record.deadline_ms();
            record.schedule.schedule_status = IamportScheduleStatus::Revoked;
            record.schedule.revoked_at = now_ms / 1000;
            revoked.push(record.schedule.clone());
            let customer_uid = record.schedule.customer_uid.clone();
            self.stop_waiting(&uid, &customer_uid, deadline);
        }
        revoked.sort_by_key(|s| s.schedule_at);
        Ok(revoked)
    }

    /// Charges the schedule `merchant_uid` whose time `due_ms` came, if it still waits for
    /// that time. Returns the imp_uid of the payment made, paid or declined.
    pub fn execute_schedule(
        &mut self,
        merchant_uid: &str,
        due_ms: i64,
        now_ms: i64,
    ) -> Option<String> {
        let record = self.schedules.get(merchant_uid, now_ms)?;
        if !record.is_pending() || record.schedule.schedule_at.saturating_mul(1000) != due_ms {
            return None;
        }
        let customer_uid = record.schedule.customer_uid.clone();
        self.stop_waiting(merchant_uid, &customer_uid, Some(due_ms));
        self.charge_schedule(merchant_uid, now_ms)
    }

    /// Charges the schedule `merchant_uid` now with its billing key's card, or, the key
    /// deleted, makes a failed payment of the card the key had; the schedule is executed.
    /// Returns the imp_uid of the payment made.
    fn charge_schedule(&mut self, merchant_uid: &str, now_ms: i64) -> Option<String> {
        let record = self.schedules.get(merchant_uid, now_ms)?;
        let request = record.request.clone();
        let customer_uid = record.schedule.customer_uid.clone();
        let key_card = self
            .subscriptions
            .get(&customer_uid, now_ms)
            .map(|key| key.card_number);
        let order = Order {
            merchant_uid,
            name: request.name.as_deref(),
            amount: request.amount,
            currency: request.currency.clone(),
            buyer_name: request.buyer_name.clone(),
            buyer_email: request.buyer_email.clone(),
            buyer_tel: request.buyer_tel.clone(),
            buyer_addr: request.buyer_addr.clone(),
            buyer_postcode: request.buyer_postcode.clone(),
            custom_data: request.custom_data.clone(),
            customer_uid: Some(customer_uid),
            customer_uid_usage: Some("payment.scheduled"),
            channel: Channel::Api,
            notice_url: request.notice_url.clone(),
            escrow: false,
        };
        let now = now_ms / 1000;
        let card = key_card.unwrap_or(record.card);
        let mut payment = Payment::card(order, card, 0, self.settings.mask_card_numbers, now);
        if key_card.is_none() {
            payment.fail(DELETED_KEY.to_owned(), now);
        }
        let (status, reason) = (payment.status(), payment.fail_reason().map(str::to_owned));
        let imp_uid = self.insert_payment(payment, now_ms);
        let stored = self.schedules.get_mut(merchant_uid, now_ms)?;
        let schedule = &mut stored.schedule;
        schedule.schedule_status = IamportScheduleStatus::Executed;
        schedule.executed_at = now;
        schedule.imp_uid = Some(imp_uid.clone());
        schedule.payment_status = Some(status);
        schedule.fail_reason = reason;
        Some(imp_uid)
    }

    /// Moves a schedule still waiting to `schedule_at` (v1.openapi.json, "결제요청
    /// 예약시각 수정"): 400 for one executed or revoked, or a time not after now.
    pub fn move_schedule(
        &mut self,
        merchant_uid: &str,
        schedule_at: i64,
        now_ms: i64,
    ) -> Result<IamportSchedule, IamportFault> {
        let record = self
            .schedules
            .get_mut(merchant_uid, now_ms)
            .ok_or_else(unknown_schedule)?;
        if !record.is_pending() {
            return Err(IamportFault::refused(
                1,
                "이미 실행되었거나 취소된 결제예약입니다.",
            ));
        }
        check_future(schedule_at, now_ms)?;
        let before = record.deadline_ms();
        record.schedule.schedule_at = schedule_at;
        record.request.schedule_at = schedule_at;
        let after = record.deadline_ms();
        let schedule = record.schedule.clone();
        self.deadlines
            .update(&Due::Schedule(merchant_uid.into()), before, after);
        Ok(schedule)
    }

    /// Refuses a schedule that is not failed or revoked, which alone may be charged again
    /// (v1.openapi.json, "결제 실패 재예약" and "결제 실패 재시도": 400 for one not yet
    /// executed, or paid), or whose order was paid meanwhile.
    fn check_failed_schedule(&self, merchant_uid: &str, now_ms: i64) -> Result<(), IamportFault> {
        let record = self
            .schedules
            .get(merchant_uid, now_ms)
            .ok_or_else(unknown_schedule)?;
        let schedule = &record.schedule;
        match schedule.schedule_status {
            IamportScheduleStatus::Scheduled => Err(IamportFault::refused(
                1,
                "아직 실행되지 않은 결제예약입니다.",
            )),
            IamportScheduleStatus::Executed
                if schedule.payment_status != Some(IamportPaymentStatus::Failed) =>
            {
                Err(IamportFault::refused(
                    1,
                    "이미 결제가 승인된 결제예약입니다.",
                ))
            }
            _ => self.check_new_order(merchant_uid, now_ms),
        }
    }

    /// Schedules again, at `schedule_at`, a schedule whose payment failed or which was
    /// revoked: it waits as a new one does (`imp_uid` and `payment_status` back to `null`)
    /// and charges the billing key's card of its time.
    pub fn reschedule(
        &mut self,
        merchant_uid: &str,
        schedule_at: i64,
        now_ms: i64,
    ) -> Result<IamportSchedule, IamportFault> {
        self.check_failed_schedule(merchant_uid, now_ms)?;
        check_future(schedule_at, now_ms)?;
        let mut record = self
            .schedules
            .get(merchant_uid, now_ms)
            .ok_or_else(unknown_schedule)?
            .clone();
        let schedule = &mut record.schedule;
        schedule.schedule_at = schedule_at;
        schedule.schedule_status = IamportScheduleStatus::Scheduled;
        schedule.executed_at = 0;
        schedule.revoked_at = 0;
        schedule.imp_uid = None;
        schedule.payment_status = None;
        schedule.fail_reason = None;
        record.request.schedule_at = schedule_at;
        let schedule = record.schedule.clone();
        self.store_schedule(record, now_ms);
        Ok(schedule)
    }

    /// Charges at once a schedule whose payment failed or which was revoked; 404 when its
    /// billing key is gone. Returns the imp_uid of the payment made, paid or declined.
    pub fn retry_schedule(
        &mut self,
        merchant_uid: &str,
        now_ms: i64,
    ) -> Result<String, IamportFault> {
        self.check_failed_schedule(merchant_uid, now_ms)?;
        let customer_uid = self
            .schedules
            .get(merchant_uid, now_ms)
            .map(|r| r.schedule.customer_uid.clone())
            .ok_or_else(unknown_schedule)?;
        self.subscription(&customer_uid, now_ms)?;
        self.charge_schedule(merchant_uid, now_ms)
            .ok_or_else(unknown_schedule)
    }
}

/// The answer for a merchant_uid with no schedule.
pub fn unknown_schedule() -> IamportFault {
    IamportFault::not_found("예약결제 정보가 존재하지 않습니다.")
}

/// Refuses a schedule time not after now.
fn check_future(schedule_at: i64, now_ms: i64) -> Result<(), IamportFault> {
    if schedule_at <= now_ms / 1000 {
        return Err(IamportFault::refused(
            1,
            format!("예약 시각은 현재 이후여야 합니다: {schedule_at}"),
        ));
    }
    Ok(())
}
