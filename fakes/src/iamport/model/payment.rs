//! A payment of the fake I'mport: how one is made, every change of state it can go
//! through, and how it reads on the wire.
//!
//! A stored payment keeps only what varies from one payment to the next, in compact form
//! (numbers as numbers, rare fields boxed, constants not at all); the wire shape
//! ([`IamportPayment`]) is built from it when a payment is read. A sandbox keeps up to
//! 100,000 payments per merchant, so every stored byte counts.

use payments_api::iamport::*;

use super::super::error::IamportFault;
use super::cards::{CardNumber, bank_name};
use crate::ids::random_below;

/// The PG the fake's payments claim to go through.
const PG_PROVIDER: &str = "html5_inicis";
const PG_ID: &str = "INIpayTest";
/// What the real API shows for payments made through its REST API.
const USER_AGENT: &str = "sorry_not_supported";

/// Where a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channel {
    /// Through the REST API.
    #[default]
    Api,
    /// In the payment window (`IMP.request_pay`) on a PC.
    Pc,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Pc => "pc",
        }
    }
}

/// The buyer and order fields a new payment copies.
#[derive(Debug, Default)]
pub struct Order<'a> {
    pub merchant_uid: &'a str,
    pub name: Option<&'a str>,
    pub amount: f64,
    pub currency: Option<IamportCurrency>,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_tel: Option<String>,
    pub buyer_addr: Option<String>,
    pub buyer_postcode: Option<String>,
    pub custom_data: Option<String>,
    pub customer_uid: Option<String>,
    /// `issue`, `payment` or `payment.scheduled`, when there is a `customer_uid`.
    pub customer_uid_usage: Option<&'static str>,
    pub channel: Channel,
    /// Where this payment's webhooks go instead of the merchant's URL.
    pub notice_url: Option<String>,
    /// An escrow payment (`IMP.request_pay`'s `escrow`), echoed in `escrow`.
    pub escrow: bool,
}

/// A stored payment.
#[derive(Debug, Clone)]
pub struct Payment {
    merchant_uid: Box<str>,
    name: Option<Box<str>>,
    amount: f64,
    cancel_amount: f64,
    currency: IamportCurrency,
    status: IamportPaymentStatus,
    channel: Channel,
    cash_receipt_issue: bool,
    escrow: bool,
    /// The 20 digits after `StdpayCARD`.
    pg_tid: u128,
    started_at: i64,
    paid_at: i64,
    failed_at: i64,
    cancelled_at: i64,
    /// The buyer's fields and `custom_data`, when any was given.
    extras: Option<Box<Extras>>,
    customer: Option<Box<Customer>>,
    fail_reason: Option<Box<str>>,
    cancel_reason: Option<Box<str>>,
    cancels: Vec<Cancel>,
    method: Method,
    notice_url: Option<Box<str>>,
}

#[derive(Debug, Clone)]
struct Extras {
    buyer_name: Option<String>,
    buyer_email: Option<String>,
    buyer_tel: Option<String>,
    buyer_addr: Option<String>,
    buyer_postcode: Option<String>,
    custom_data: Option<String>,
}

#[derive(Debug, Clone)]
struct Customer {
    uid: String,
    usage: &'static str,
}

#[derive(Debug, Clone)]
struct Cancel {
    amount: f64,
    at: i64,
    reason: Box<str>,
    /// The 14 digits after `cancel_`.
    id: u64,
}

#[derive(Debug, Clone)]
enum Method {
    Card(Card),
    VBank(Box<VBank>),
}

#[derive(Debug, Clone)]
struct Card {
    number: CardNumber,
    /// Shown masked, as the merchant asked when it was paid.
    masked: bool,
    quota: u32,
    /// The 8-digit approval number; none for a declined card.
    apply_num: Option<u32>,
}

#[derive(Debug, Clone)]
struct VBank {
    code: Box<str>,
    /// The 14-digit account number.
    num: u64,
    holder: Box<str>,
    due: i64,
    issued_at: i64,
}

/// The receipt page of a payment.
pub fn receipt_url(imp_uid: &str) -> String {
    format!("https://iniweb.inicis.com/receipt/{imp_uid}")
}

impl Payment {
    fn new(order: Order<'_>, method: Method, status: IamportPaymentStatus, now: i64) -> Self {
        let extras = [
            &order.buyer_name,
            &order.buyer_email,
            &order.buyer_tel,
            &order.buyer_addr,
            &order.buyer_postcode,
            &order.custom_data,
        ]
        .iter()
        .any(|field| field.is_some())
        .then(|| {
            Box::new(Extras {
                buyer_name: order.buyer_name,
                buyer_email: order.buyer_email,
                buyer_tel: order.buyer_tel,
                buyer_addr: order.buyer_addr,
                buyer_postcode: order.buyer_postcode,
                custom_data: order.custom_data,
            })
        });
        let customer = order
            .customer_uid
            .zip(order.customer_uid_usage)
            .map(|(uid, usage)| Box::new(Customer { uid, usage }));
        Self {
            merchant_uid: order.merchant_uid.into(),
            name: order.name.map(Into::into),
            amount: order.amount,
            cancel_amount: 0.0,
            currency: order.currency.unwrap_or(IamportCurrency::KRW),
            status,
            channel: order.channel,
            cash_receipt_issue: false,
            escrow: order.escrow,
            pg_tid: random_below(100_000_000_000_000_000_000),
            started_at: now,
            paid_at: if status == IamportPaymentStatus::Paid {
                now
            } else {
                0
            },
            failed_at: 0,
            cancelled_at: 0,
            extras,
            customer,
            fail_reason: None,
            cancel_reason: None,
            cancels: Vec::new(),
            method,
            notice_url: order.notice_url.map(Into::into),
        }
    }

    /// A card payment: paid, or failed with the decline reason of a magic card number.
    pub fn card(order: Order<'_>, number: CardNumber, quota: u32, masked: bool, now: i64) -> Self {
        let decline = number.decline_reason();
        let status = if decline.is_some() {
            IamportPaymentStatus::Failed
        } else {
            IamportPaymentStatus::Paid
        };
        let card = Card {
            number,
            masked,
            quota,
            apply_num: decline.is_none().then(|| random_below(100_000_000) as u32),
        };
        let mut payment = Self::new(order, Method::Card(card), status, now);
        if let Some(reason) = decline {
            payment.failed_at = now;
            payment.fail_reason = Some(reason.into());
        }
        payment
    }

    /// A virtual account waiting for its deposit until `due`.
    pub fn vbank(order: Order<'_>, code: &str, holder: &str, due: i64, now: i64) -> Self {
        let vbank = VBank {
            code: code.into(),
            num: random_below(100_000_000_000_000) as u64,
            holder: holder.into(),
            due,
            issued_at: now,
        };
        Self::new(
            order,
            Method::VBank(Box::new(vbank)),
            IamportPaymentStatus::Ready,
            now,
        )
    }

    /// When it started, was paid, and last changed (unix seconds), the orders that
    /// `find`'s `sorting` can ask for.
    pub fn started_at(&self) -> i64 {
        self.started_at
    }

    pub fn paid_at(&self) -> i64 {
        self.paid_at
    }

    /// When the payment reached its current status (unix seconds): the time `GET
    /// /payments/status/…` filters by.
    pub fn status_at(&self) -> i64 {
        match self.status {
            IamportPaymentStatus::Ready => self.started_at,
            IamportPaymentStatus::Paid => self.paid_at,
            IamportPaymentStatus::Cancelled => self.cancelled_at,
            IamportPaymentStatus::Failed => self.failed_at,
        }
    }

    pub fn updated_at(&self) -> i64 {
        self.started_at
            .max(self.paid_at)
            .max(self.failed_at)
            .max(self.cancelled_at)
    }

    pub fn merchant_uid(&self) -> &str {
        &self.merchant_uid
    }

    /// The billing key the payment was made with (or registered by), if any.
    pub fn customer_uid(&self) -> Option<&str> {
        self.customer.as_ref().map(|c| c.uid.as_str())
    }

    pub fn status(&self) -> IamportPaymentStatus {
        self.status
    }

    pub fn fail_reason(&self) -> Option<&str> {
        self.fail_reason.as_deref()
    }

    pub fn notice_url(&self) -> Option<&str> {
        self.notice_url.as_deref()
    }

    /// What is left to refund.
    pub fn balance(&self) -> f64 {
        self.amount - self.cancel_amount
    }

    /// The amount asked when the payment was made.
    pub fn amount(&self) -> f64 {
        self.amount
    }

    /// How the amount paid changed, as (unix seconds, amount): the payment once paid, then
    /// each cancel, negative. Nothing for a payment never paid.
    pub fn amount_changes(&self) -> Vec<(i64, f64)> {
        if self.paid_at == 0 {
            return Vec::new();
        }
        std::iter::once((self.paid_at, self.amount))
            .chain(self.cancels.iter().map(|c| (c.at, -c.amount)))
            .collect()
    }

    /// When a virtual account waiting for its deposit fails unless paid, in ms.
    pub fn deadline_ms(&self) -> Option<i64> {
        match &self.method {
            Method::VBank(vbank) if self.status == IamportPaymentStatus::Ready => {
                Some(vbank.due.saturating_mul(1000))
            }
            _ => None,
        }
    }

    /// Fails a payment refused after the card was read (a wrong amount for a
    /// pre-registered order, a deleted billing key): it never reached the issuer.
    pub fn fail(&mut self, reason: String, now: i64) {
        self.status = IamportPaymentStatus::Failed;
        self.paid_at = 0;
        self.failed_at = now;
        self.fail_reason = Some(reason.into());
        if let Method::Card(card) = &mut self.method {
            card.apply_num = None;
        }
    }

    /// Cancels `amount` (the whole balance when absent or 0) of a paid payment. `checksum`
    /// is the balance the caller believes is left; a paid virtual account is refunded only
    /// to an account the caller names (`refund_account_given`). Returns the cancellation's
    /// id; a refusal changes nothing.
    pub fn cancel(
        &mut self,
        amount: Option<f64>,
        checksum: Option<f64>,
        reason: &str,
        refund_account_given: bool,
        now: i64,
    ) -> Result<String, IamportFault> {
        match self.status {
            IamportPaymentStatus::Paid => {}
            IamportPaymentStatus::Cancelled => {
                return Err(IamportFault::refused(1, "이미 전액취소된 주문입니다."));
            }
            IamportPaymentStatus::Ready => {
                return Err(IamportFault::refused(
                    1,
                    "입금 전인 가상계좌는 취소할 수 없습니다. 발급을 취소하려면 DELETE /vbanks/{imp_uid} 를 호출하세요.",
                ));
            }
            IamportPaymentStatus::Failed => {
                return Err(IamportFault::refused(
                    1,
                    "결제에 실패한 건은 취소할 수 없습니다.",
                ));
            }
        }
        let remaining = self.balance();
        let amount = match amount {
            // Absent or 0: the whole remaining balance, as the real API reads it.
            None | Some(0.0) => remaining,
            Some(a) if a.is_finite() && a > 0.0 => a,
            Some(a) => {
                return Err(IamportFault::invalid(format!(
                    "amount 가 올바르지 않습니다: {a}"
                )));
            }
        };
        if amount > remaining {
            return Err(IamportFault::refused(
                1,
                "취소 금액은 결제 또는 잔여 금액보다 클 수 없습니다.",
            ));
        }
        if checksum.is_some_and(|c| c != remaining) {
            return Err(IamportFault::refused(
                1,
                format!(
                    "취소가능잔액(checksum)이 일치하지 않습니다. 현재 취소가능잔액: {remaining}"
                ),
            ));
        }
        if matches!(self.method, Method::VBank(_)) && !refund_account_given {
            return Err(IamportFault::refused(
                1,
                "가상계좌 취소는 계좌번호, 예금주, 은행명을 입력해야 합니다.",
            ));
        }
        let id = random_below(100_000_000_000_000) as u64;
        self.cancel_amount += amount;
        self.cancel_reason = Some(reason.into());
        self.cancelled_at = now;
        self.cancels.push(Cancel {
            amount,
            at: now,
            reason: reason.into(),
            id,
        });
        if self.cancel_amount >= self.amount {
            self.status = IamportPaymentStatus::Cancelled;
        }
        Ok(cancellation_id(id))
    }

    /// Refuses anything but a virtual account waiting for its deposit.
    pub fn check_waiting_vbank(&self) -> Result<(), IamportFault> {
        if !matches!(self.method, Method::VBank(_)) {
            return Err(IamportFault::refused(1, "가상계좌 결제건이 아닙니다."));
        }
        if self.status != IamportPaymentStatus::Ready {
            return Err(IamportFault::refused(
                1,
                "입금대기 상태의 가상계좌가 아닙니다.",
            ));
        }
        Ok(())
    }

    /// The customer pays into the waiting virtual account.
    pub fn deposit(&mut self, now: i64) -> Result<(), IamportFault> {
        self.check_waiting_vbank()?;
        self.status = IamportPaymentStatus::Paid;
        self.paid_at = now;
        Ok(())
    }

    /// Revokes a waiting virtual account.
    pub fn revoke(&mut self, now: i64) -> Result<(), IamportFault> {
        self.check_waiting_vbank()?;
        self.status = IamportPaymentStatus::Cancelled;
        self.cancelled_at = now;
        self.cancel_reason = Some("가상계좌 발급 취소".into());
        Ok(())
    }

    /// Changes the amount or the deadline of a waiting virtual account.
    pub fn change_vbank(
        &mut self,
        amount: Option<f64>,
        due: Option<i64>,
    ) -> Result<(), IamportFault> {
        self.check_waiting_vbank()?;
        if let Some(amount) = amount {
            self.amount = amount;
        }
        if let (Some(due), Method::VBank(vbank)) = (due, &mut self.method) {
            vbank.due = due;
        }
        Ok(())
    }

    /// Fails a virtual account still waiting when its deadline `due_ms` (the timer's; a
    /// deadline moved since leaves that timer stale) has come. Whether it did.
    pub fn expire_vbank(&mut self, due_ms: i64, now: i64) -> bool {
        let Method::VBank(vbank) = &self.method else {
            return false;
        };
        if self.status != IamportPaymentStatus::Ready || vbank.due.saturating_mul(1000) != due_ms {
            return false;
        }
        self.status = IamportPaymentStatus::Failed;
        self.failed_at = now;
        self.fail_reason = Some("가상계좌 입금기한 만료".into());
        true
    }

    /// Marks whether the payment has a cash receipt.
    pub fn set_cash_receipt(&mut self, issued: bool) {
        self.cash_receipt_issue = issued;
    }

    /// The payment as the API answers it.
    pub fn render(&self, imp_uid: &str) -> IamportPayment {
        let receipt_url = receipt_url(imp_uid);
        let pg_tid = format!("StdpayCARD{:020}", self.pg_tid);
        let extras = self.extras.as_deref();
        let extra = |field: fn(&Extras) -> &Option<String>| extras.and_then(|e| field(e).clone());
        let cancel_history = self
            .cancels
            .iter()
            .enumerate()
            .map(|(i, cancel)| IamportPaymentCancel {
                pg_id: PG_ID.to_owned(),
                pg_tid: format!("{pg_tid}C{}", i + 1),
                amount: cancel.amount,
                cancelled_at: cancel.at,
                reason: cancel.reason.to_string(),
                receipt_url: format!("{receipt_url}/cancel/{}", i + 1),
                cancellation_id: Some(cancellation_id(cancel.id)),
            })
            .collect();
        let base = IamportPaymentBase {
            pay_method: match self.method {
                Method::Card(_) => IamportPayMethod::Card,
                Method::VBank(_) => IamportPayMethod::Vbank,
            },
            imp_uid: imp_uid.to_owned(),
            merchant_uid: self.merchant_uid.to_string(),
            name: self.name.as_deref().map(str::to_owned),
            amount: self.amount,
            cancel_amount: self.cancel_amount,
            currency: self.currency.clone(),
            receipt_url,
            cash_receipt_issue: self.cash_receipt_issue,
            channel: self.channel.as_str().to_owned(),
            pg_provider: PG_PROVIDER.to_owned(),
            emb_pg_provider: None,
            pg_id: PG_ID.to_owned(),
            pg_tid,
            sandbox: Some(true),
            escrow: self.escrow,
            buyer_name: extra(|e| &e.buyer_name),
            buyer_email: extra(|e| &e.buyer_email),
            buyer_tel: extra(|e| &e.buyer_tel),
            buyer_addr: extra(|e| &e.buyer_addr),
            buyer_postcode: extra(|e| &e.buyer_postcode),
            customer_uid: self.customer.as_ref().map(|c| c.uid.clone()),
            customer_uid_usage: self.customer.as_ref().map(|c| c.usage.to_owned()),
            custom_data: extra(|e| &e.custom_data),
            user_agent: Some(USER_AGENT.to_owned()),
            status: self.status,
            started_at: self.started_at,
            paid_at: self.paid_at,
            failed_at: self.failed_at,
            cancelled_at: self.cancelled_at,
            fail_reason: self.fail_reason.as_deref().map(str::to_owned),
            cancel_reason: self.cancel_reason.as_deref().map(str::to_owned),
            cancel_history,
        };
        match &self.method {
            Method::Card(card) => {
                let (card_code, card_name) = card.number.company();
                IamportPayment::Card(IamportCardPayment {
                    base,
                    card_code: card_code.to_owned(),
                    card_name: card_name.to_owned(),
                    card_number: if card.masked {
                        card.number.masked()
                    } else {
                        card.number.to_string()
                    },
                    card_quota: card.quota,
                    apply_num: card
                        .apply_num
                        .map(|n| format!("{n:08}"))
                        .unwrap_or_default(),
                })
            }
            Method::VBank(vbank) => IamportPayment::VBank(IamportVBankPayment {
                base,
                vbank_code: vbank.code.to_string(),
                vbank_name: bank_name(&vbank.code).to_owned(),
                vbank_num: format!("{:014}", vbank.num),
                vbank_holder: vbank.holder.to_string(),
                vbank_date: vbank.due,
                vbank_issued_at: vbank.issued_at,
            }),
        }
    }
}

fn cancellation_id(id: u64) -> String {
    format!("cancel_{id:014}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order<'static> {
        Order {
            merchant_uid: "order-1",
            name: Some("주문"),
            amount: 20_000.0,
            buyer_name: Some("홍길동".into()),
            ..Order::default()
        }
    }

    #[test]
    fn a_card_payment_reads_in_the_sdks_shape_and_cancels_in_parts() {
        let number = CardNumber::parse("4092-0230-1234-5678", crate::compat::Compat::Real).unwrap();
        let mut payment = Payment::card(order(), number, 0, false, 1_000);
        let IamportPayment::Card(card) = payment.render("imp_123456789012") else {
            panic!("a card payment")
        };
        assert_eq!(card.card_number, "4092-0230-1234-5678");
        assert_eq!((card.card_code.as_str(), card.apply_num.len()), ("366", 8));
        assert_eq!(card.base.status, IamportPaymentStatus::Paid);
        assert_eq!(card.base.paid_at, 1_000);
        assert_eq!(card.base.buyer_name.as_deref(), Some("홍길동"));
        assert_eq!(card.base.pg_tid.len(), "StdpayCARD".len() + 20);
        assert_eq!(
            card.base.receipt_url,
            "https://iniweb.inicis.com/receipt/imp_123456789012"
        );

        let refused = payment.cancel(Some(5_000.0), Some(1.0), "x", false, 2_000);
        assert!(refused.is_err());
        let id = payment
            .cancel(Some(5_000.0), Some(20_000.0), "부분", false, 2_000)
            .unwrap();
        assert!(id.starts_with("cancel_") && id.len() == "cancel_".len() + 14);
        payment.cancel(None, None, "나머지", false, 3_000).unwrap();
        let base = payment.render("imp_1").base().clone();
        assert_eq!(base.status, IamportPaymentStatus::Cancelled);
        assert_eq!(base.cancel_amount, 20_000.0);
        assert_eq!(base.cancel_history.len(), 2);
        assert_eq!(
            base.cancel_history[0].cancellation_id.as_deref(),
            Some(id.as_str())
        );
        assert_eq!(base.cancel_history[1].pg_tid, format!("{}C2", base.pg_tid));
        assert!(payment.cancel(None, None, "again", false, 4_000).is_err());
    }

    #[test]
    fn a_virtual_account_waits_changes_and_expires_only_at_its_deadline() {
        let mut payment = Payment::vbank(order(), "088", "홍길동", 10, 1);
        payment.change_vbank(Some(21_000.0), Some(20)).unwrap();
        assert!(
            !payment.expire_vbank(10_000, 30),
            "a moved deadline's timer is stale"
        );
        assert!(payment.expire_vbank(20_000, 30));
        let IamportPayment::VBank(vbank) = payment.render("imp_1") else {
            panic!("a virtual account")
        };
        assert_eq!(vbank.base.status, IamportPaymentStatus::Failed);
        assert_eq!(
            (vbank.vbank_name.as_str(), vbank.vbank_num.len()),
            ("신한은행", 14)
        );
        assert_eq!(vbank.base.amount, 21_000.0);
        assert!(payment.deposit(40).is_err());
    }
}
