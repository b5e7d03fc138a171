//! A payment of the fake Toss: how one is made, every change of state it can go through
//! (Toss's state machine), and how it reads on the wire.
//!
//! A stored payment keeps only what varies from one payment to the next, in compact form
//! (times and numbers as numbers, the virtual account's part boxed, constants and what
//! follows from other fields not at all); the wire shape ([`TossPayment`]) is built from it
//! when a payment is read or announced. A sandbox keeps up to 100,000 payments per
//! merchant, so every stored byte counts.

use chrono::{DateTime, FixedOffset, NaiveDate};
use payments_api::toss::*;

use super::super::error::TossFault;
use crate::clock::kst;
use crate::ids::{random_alnum, random_below};

/// The merchant id the fake's payments carry.
const M_ID: &str = "tosspayments";
/// The API version the fake's payments claim.
const VERSION: &str = "2022-11-16";

/// What a new payment is for.
#[derive(Debug)]
pub struct Order<'a> {
    pub order_id: &'a str,
    pub order_name: &'a str,
    pub amount: f64,
    pub tax_free: f64,
    pub kind: TossPaymentType,
}

/// A stored payment.
#[derive(Debug, Clone)]
pub struct Payment {
    order_id: Box<str>,
    order_name: Box<str>,
    transaction_key: u128,
    kind: TossPaymentType,
    status: TossPaymentStatus,
    total: f64,
    balance: f64,
    tax_free: f64,
    /// An escrow payment (`useEscrow`).
    escrow: bool,
    /// Unix seconds.
    requested_at: i64,
    approved_at: Option<i64>,
    cancels: Vec<Cancel>,
    cash_receipt: Option<Box<CashReceipt>>,
    /// Why the approval failed, for an `ABORTED` payment.
    failure: Option<Box<TossFailure>>,
    method: Method,
    /// When it expires if nothing happens (a payment window or an unpaid virtual account),
    /// in ms on the fake's clock.
    expires_at_ms: Option<i64>,
}

/// The cash receipt of a payment, in the two forms a payment reads it.
#[derive(Debug, Clone)]
pub struct CashReceipt {
    pub summary: TossCashReceiptSummary,
    pub history: TossCashReceiptHistory,
}

#[derive(Debug, Clone)]
struct Cancel {
    amount: f64,
    reason: Box<str>,
    tax_free: f64,
    tax: f64,
    refundable: f64,
    at: i64,
    transaction_key: u128,
}

#[derive(Debug, Clone)]
enum Method {
    Card(Card),
    VirtualAccount(Box<VirtualAccount>),
    EasyPay(Box<EasyPay>),
}

/// How an easy-pay payment was paid: by a card registered in the provider's wallet, or by
/// the wallet's balance, less the provider's points and coupons.
#[derive(Debug, Clone)]
struct EasyPay {
    provider: Box<str>,
    card: Option<Card>,
    discount: f64,
}

#[derive(Debug, Clone)]
struct Card {
    number: Box<str>,
    installment_months: u32,
    /// The 8-digit approval number.
    approve_no: u32,
    acquire_status: TossAcquireStatus,
}

#[derive(Debug, Clone)]
struct VirtualAccount {
    /// What the account's deposit callback carries, for the merchant to check.
    secret: Box<str>,
    /// The 13 digits after `X`.
    number: u64,
    bank: Box<str>,
    customer_name: Box<str>,
    due_date: NaiveDate,
    expired: bool,
    settlement_status: TossSettlementStatus,
    refund_status: TossRefundStatus,
    /// The deadline the account had when its deposit came, should the deposit be taken
    /// back.
    deadline_before_deposit_ms: Option<i64>,
    /// Refunds to the customer's account that the bank has not settled yet, earliest first.
    pending_refunds: Vec<PendingRefund>,
    /// Whether a settled refund went through, and whether one was refused.
    refund_completed: bool,
    refund_failed: bool,
}

impl VirtualAccount {
    /// Notes refunds settled, through or refused, and what that makes `refundStatus`.
    fn record_settled(&mut self, completed: bool) {
        if completed {
            self.refund_completed = true;
        } else {
            self.refund_failed = true;
        }
        // Toss's refund statuses: every refund through, every one refused, or some of each.
        self.refund_status = match (
            self.pending_refunds.is_empty(),
            self.refund_completed,
            self.refund_failed,
        ) {
            (false, _, _) => TossRefundStatus::Pending,
            (true, _, false) => TossRefundStatus::Completed,
            (true, false, true) => TossRefundStatus::Failed,
            (true, true, true) => TossRefundStatus::PartialFailed,
        };
    }
}

/// The two-digit code of a bank Toss issues virtual accounts at, named as a request may
/// name it: by its code, its English code or its Korean name, with or without `은행` and the
/// group's prefix. Toss's virtual-account guide lists the banks; its reference (코드 > 은행
/// 코드) gives each one's codes. `None` for a bank outside that list.
fn bank_code(bank: &str) -> Option<&'static str> {
    const BANKS: [(&str, &str, &str); 15] = [
        ("39", "KYONGNAMBANK", "경남"),
        ("34", "GWANGJUBANK", "광주"),
        ("06", "KOOKMIN", "국민"),
        ("03", "IBK", "기업"),
        ("11", "NONGHYEOP", "농협"),
        ("31", "DAEGUBANK", "대구"),
        ("32", "BUSANBANK", "부산"),
        ("45", "SAEMAUL", "새마을"),
        ("07", "SUHYEOP", "수협"),
        ("88", "SHINHAN", "신한"),
        ("20", "WOORI", "우리"),
        ("71", "POST", "우체국"),
        ("37", "JEONBUKBANK", "전북"),
        ("89", "KBANK", "케이뱅크"),
        ("81", "HANA", "하나"),
    ];
    let bank = bank.trim();
    let name = bank.strip_suffix("은행").unwrap_or(bank);
    let name = ["KB", "IBK", "NH", "DGB", "Sh"]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name);
    let name = match name {
        "새마을금고" => "새마을",
        "우체국예금보험" => "우체국",
        other => other,
    };
    BANKS
        .iter()
        .find(|(code, english, korean)| {
            bank == *code || bank.eq_ignore_ascii_case(english) || name == *korean
        })
        .map(|(code, _, _)| *code)
}

/// A refund of a virtual-account payment on its way to the customer's account.
#[derive(Debug, Clone)]
struct PendingRefund {
    /// When the bank settles it, in ms on the fake's clock.
    due_ms: i64,
    /// Whether the bank refuses it (a magic refund account).
    fails: bool,
}

/// What came of a payment's time being due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The payment expired unpaid (`EXPIRED`, a status change).
    Expired,
    /// An issued virtual account's deposit deadline passed: it is `expired`, its status
    /// unchanged.
    DepositDeadlinePassed,
    /// Refunds to a virtual-account customer settled (`refundStatus` changed).
    RefundSettled,
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

/// The fake's magic card numbers, by their last four digits: the code the issuer refuses
/// the card with at approval (key-in, confirm, billing charge), or `None` for a card it
/// approves. Toss's test cards have no such numbers; the codes and their statuses are
/// Toss's (its error-code reference, 결제 승인).
pub fn card_decline(card_number: &str) -> Option<&'static str> {
    match card_number.get(card_number.len().saturating_sub(4)..)? {
        "0002" => Some("REJECT_CARD_COMPANY"),
        "0003" => Some("EXCEED_MAX_DAILY_PAYMENT_COUNT"),
        "0004" => Some("INVALID_STOPPED_CARD"),
        "0005" => Some("EXCEED_MAX_PAYMENT_AMOUNT"),
        "9995" => Some("REJECT_CARD_PAYMENT"),
        _ => None,
    }
}

/// Whether the bank refuses a refund to this account: the fake's magic refund account
/// numbers end with `0002`, as the declining card numbers do. Toss documents no such
/// account; a refund to one ends `FAILED` instead of `COMPLETED`.
pub fn refund_declined(account_number: &str) -> bool {
    account_number.ends_with("0002")
}

/// The easy-pay providers Toss's window offers, by the code the SDKs take
/// (`easyPay: "TOSSPAY"`) and the name a payment's `easyPay.provider` carries (Toss's
/// 간편결제사 codes).
pub const EASY_PAY_PROVIDERS: [(&str, &str); 9] = [
    ("TOSSPAY", "토스페이"),
    ("NAVERPAY", "네이버페이"),
    ("KAKAOPAY", "카카오페이"),
    ("SAMSUNGPAY", "삼성페이"),
    ("APPLEPAY", "애플페이"),
    ("LPAY", "엘페이"),
    ("PAYCO", "페이코"),
    ("SSG", "SSG페이"),
    ("PINPAY", "핀페이"),
];

/// The provider's name of a code or a name (`"TOSSPAY"` or `"토스페이"`), if Toss has it.
pub fn easy_pay_provider(code_or_name: &str) -> Option<&'static str> {
    EASY_PAY_PROVIDERS
        .iter()
        .find(|(code, name)| code.eq_ignore_ascii_case(code_or_name) || *name == code_or_name)
        .map(|(_, name)| *name)
}

/// The payment window's page of a payment.
pub fn checkout_url(payment_key: &str) -> String {
    format!("https://api.tosspayments.com/v1/payments/{payment_key}/checkout")
}

/// The code Toss gives the issuer that [`card_company`] names (its card-company codes).
pub fn card_company_code(card_number: &str) -> &'static str {
    match card_company(card_number) {
        "롯데" => "71",
        "신한" => "41",
        "현대" => "61",
        "농협" => "91",
        "비씨" => "31",
        _ => "11",
    }
}

fn new_transaction_key() -> u128 {
    random_below(u128::MAX)
}

fn kst_time(seconds: i64) -> DateTime<FixedOffset> {
    DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .with_timezone(&kst())
}

impl Payment {
    fn new(order: Order<'_>, method: Method, status: TossPaymentStatus, now: i64) -> Self {
        Self {
            order_id: order.order_id.into(),
            order_name: order.order_name.into(),
            transaction_key: new_transaction_key(),
            kind: order.kind,
            status,
            total: order.amount,
            balance: order.amount,
            tax_free: order.tax_free,
            escrow: false,
            requested_at: now,
            approved_at: None,
            cancels: Vec::new(),
            cash_receipt: None,
            failure: None,
            method,
            expires_at_ms: None,
        }
    }

    /// A card payment in `status`; approved now if that is `DONE`.
    pub fn card(
        order: Order<'_>,
        card_number: &str,
        installment_months: u32,
        status: TossPaymentStatus,
        now: i64,
    ) -> Self {
        let card = Card {
            number: card_number.into(),
            installment_months,
            approve_no: random_below(100_000_000) as u32,
            acquire_status: TossAcquireStatus::Ready,
        };
        let mut payment = Self::new(order, Method::Card(card), status, now);
        if status == TossPaymentStatus::Done {
            payment.approved_at = Some(now);
        }
        payment
    }

    /// A virtual-account payment in `status`, due at `due`.
    pub fn virtual_account(
        order: Order<'_>,
        bank: &str,
        customer_name: &str,
        due: DateTime<FixedOffset>,
        status: TossPaymentStatus,
        now: i64,
    ) -> Self {
        let account = VirtualAccount {
            secret: format!("ps_{}", random_alnum(28)).into(),
            number: random_below(10_000_000_000_000) as u64,
            bank: bank.into(),
            customer_name: customer_name.into(),
            due_date: due.date_naive(),
            expired: false,
            settlement_status: TossSettlementStatus::Incompleted,
            deadline_before_deposit_ms: None,
            refund_status: TossRefundStatus::None,
            pending_refunds: Vec::new(),
            refund_completed: false,
            refund_failed: false,
        };
        Self::new(
            order,
            Method::VirtualAccount(Box::new(account)),
            status,
            now,
        )
    }

    /// An easy-pay payment through `provider` (a name of [`EASY_PAY_PROVIDERS`]), paid by
    /// the card registered in the wallet if there is one, else by the wallet's balance;
    /// `discount` is what the provider's points took off.
    pub fn easy_pay(
        order: Order<'_>,
        provider: &str,
        card_number: Option<&str>,
        discount: f64,
        status: TossPaymentStatus,
        now: i64,
    ) -> Self {
        let easy_pay = EasyPay {
            provider: provider.into(),
            card: card_number.map(|number| Card {
                number: number.into(),
                installment_months: 0,
                approve_no: random_below(100_000_000) as u32,
                acquire_status: TossAcquireStatus::Ready,
            }),
            discount,
        };
        Self::new(order, Method::EasyPay(Box::new(easy_pay)), status, now)
    }

    /// Makes it an escrow payment (`useEscrow: true`) or not.
    pub fn with_escrow(mut self, escrow: bool) -> Self {
        self.escrow = escrow;
        self
    }

    /// Has the payment expire at `at_ms` unless something happens first.
    pub fn expiring_at(mut self, at_ms: i64) -> Self {
        self.expires_at_ms = Some(at_ms);
        self
    }

    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// What the payment is for.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// The code the issuer refuses this payment's card with (a card payment's, or the card
    /// an easy pay is paid by), for a magic card number, while the payment waits for its
    /// approval.
    pub fn card_decline(&self) -> Option<&'static str> {
        if self.status != TossPaymentStatus::InProgress {
            return None;
        }
        match &self.method {
            Method::Card(card) => card_decline(&card.number),
            Method::EasyPay(easy_pay) => easy_pay
                .card
                .as_ref()
                .and_then(|card| card_decline(&card.number)),
            Method::VirtualAccount(_) => None,
        }
    }

    /// When it next has something due on the fake's clock (an expiry, a refund settling),
    /// in ms.
    pub fn due_at_ms(&self) -> Option<i64> {
        let refund = match &self.method {
            Method::VirtualAccount(account) => account.pending_refunds.first().map(|r| r.due_ms),
            _ => None,
        };
        match (self.expires_at_ms, refund) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Does what is due at `due_ms`, when its timer fires: expires a payment still waiting,
    /// or settles the refunds due. A timer whose time no longer is the payment's does
    /// nothing.
    pub fn on_due(&mut self, due_ms: i64) -> Option<Due> {
        if let Some(expired) = self.expire(due_ms) {
            return Some(expired);
        }
        let Method::VirtualAccount(account) = &mut self.method else {
            return None;
        };
        let settled = account
            .pending_refunds
            .iter()
            .take_while(|r| r.due_ms <= due_ms)
            .count();
        if settled == 0 {
            return None;
        }
        let settled: Vec<PendingRefund> = account.pending_refunds.drain(..settled).collect();
        for refund in settled {
            account.record_settled(!refund.fails);
        }
        Some(Due::RefundSettled)
    }

    /// The bank settles every refund of the payment still pending, at once: through
    /// (`completed`) or refused, whatever account it goes to (the `/internal` control a test
    /// makes any refund fail with). Refused for a payment with no refund pending, and so
    /// for anything but a refunded virtual account.
    pub fn settle_refunds(&mut self, completed: bool) -> Result<(), TossFault> {
        let Method::VirtualAccount(account) = &mut self.method else {
            return Err(TossFault::invalid(
                "only a virtual-account payment is refunded to a bank account",
            ));
        };
        if account.pending_refunds.is_empty() {
            return Err(TossFault::invalid(
                "the payment has no refund pending (none was made, or all are settled)",
            ));
        }
        account.pending_refunds.clear();
        account.record_settled(completed);
        Ok(())
    }

    pub fn transaction_key(&self) -> String {
        format!("{:032X}", self.transaction_key)
    }

    /// Approves a payment that waits in the payment window for the merchant: a card
    /// payment is done; a virtual account chosen in the window is issued and waits for its
    /// deposit until the end of its due date. An issued virtual account is answered as it
    /// is (servers that approve every payment keep working). A wrong `orderId` or `amount`
    /// is refused and changes nothing. Returns whether the payment changed.
    pub fn approve(&mut self, order_id: &str, amount: f64, now: i64) -> Result<bool, TossFault> {
        if *self.order_id != *order_id {
            return Err(TossFault::invalid(format!(
                "orderId {order_id:?} is not the order of this payment"
            )));
        }
        if self.total != amount {
            return Err(TossFault::invalid(format!(
                "amount {amount} differs from the payment's {}",
                self.total
            )));
        }
        match (self.status, &self.method) {
            (TossPaymentStatus::InProgress, Method::VirtualAccount(account)) => {
                self.status = TossPaymentStatus::WaitingForDeposit;
                self.expires_at_ms = account
                    .due_date
                    .and_hms_opt(23, 59, 59)
                    .and_then(|d| d.and_local_timezone(kst()).single())
                    .map(|d| d.timestamp_millis());
                Ok(true)
            }
            (TossPaymentStatus::InProgress, Method::Card(_) | Method::EasyPay(_)) => {
                self.status = TossPaymentStatus::Done;
                self.approved_at = Some(now);
                self.expires_at_ms = None;
                Ok(true)
            }
            (TossPaymentStatus::WaitingForDeposit, _) | (_, Method::VirtualAccount(_)) => Ok(false),
            (TossPaymentStatus::Expired | TossPaymentStatus::Ready, _) => {
                Err(TossFault::of("NOT_FOUND_PAYMENT_SESSION"))
            }
            (
                TossPaymentStatus::Done
                | TossPaymentStatus::Canceled
                | TossPaymentStatus::PartialCanceled
                | TossPaymentStatus::Aborted,
                _,
            ) => Err(TossFault::of("ALREADY_PROCESSED_PAYMENT")),
        }
    }

    /// A failed approval aborts a payment that was waiting for it, keeping why in
    /// `failure`. Whether it did.
    pub fn abort(&mut self, fault: &TossFault) -> bool {
        if self.status != TossPaymentStatus::InProgress {
            return false;
        }
        self.status = TossPaymentStatus::Aborted;
        self.expires_at_ms = None;
        self.failure = Some(Box::new(TossFailure {
            code: fault.code.to_string(),
            message: fault.message.clone(),
        }));
        true
    }

    /// Cancels all (`cancelAmount` absent) or part of a payment. A refusal changes nothing.
    /// The money of a paid virtual account goes back to the customer's refund account: the
    /// refund is `PENDING` until the bank settles it, `refund_delay_ms` later on the fake's
    /// clock.
    pub fn cancel(
        &mut self,
        input: &TossPaymentCancelCreate,
        now: i64,
        refund_delay_ms: i64,
    ) -> Result<(), TossFault> {
        let status = self.status;
        match status {
            TossPaymentStatus::Canceled => return Err(TossFault::of("ALREADY_CANCELED_PAYMENT")),
            TossPaymentStatus::Done
            | TossPaymentStatus::PartialCanceled
            | TossPaymentStatus::WaitingForDeposit => {}
            _ => return Err(TossFault::of("NOT_CANCELABLE_PAYMENT")),
        }
        let balance = self.balance;
        let amount = match input.cancel_amount {
            Some(amount) => positive("cancelAmount", amount)?,
            None => balance,
        };
        if amount > balance {
            return Err(TossFault::of("NOT_CANCELABLE_AMOUNT"));
        }
        if input.refundable_amount.is_some_and(|r| r != balance) {
            return Err(TossFault::of("NOT_MATCHES_REFUNDABLE_AMOUNT"));
        }
        let virtual_account = matches!(self.method, Method::VirtualAccount(_));
        let paid_virtual_account =
            virtual_account && status != TossPaymentStatus::WaitingForDeposit;
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
        self.balance = remaining;
        self.status = if remaining == 0.0 {
            TossPaymentStatus::Canceled
        } else {
            TossPaymentStatus::PartialCanceled
        };
        self.cancels.push(Cancel {
            amount,
            reason: input.cancel_reason.as_str().into(),
            tax_free,
            tax,
            refundable: remaining,
            at: now,
            transaction_key: new_transaction_key(),
        });
        self.expires_at_ms = None;
        match &mut self.method {
            Method::VirtualAccount(account) if paid_virtual_account => {
                let fails = input
                    .refund_receive_account
                    .as_ref()
                    .is_some_and(|a| refund_declined(&a.account_number));
                account.pending_refunds.push(PendingRefund {
                    due_ms: now.saturating_mul(1000).saturating_add(refund_delay_ms),
                    fails,
                });
                account.refund_status = TossRefundStatus::Pending;
            }
            Method::Card(card) if remaining == 0.0 => {
                card.acquire_status = TossAcquireStatus::Canceled;
            }
            Method::EasyPay(easy_pay) if remaining == 0.0 => {
                if let Some(card) = &mut easy_pay.card {
                    card.acquire_status = TossAcquireStatus::Canceled;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The customer pays into the waiting virtual account.
    pub fn deposit(&mut self, now: i64) -> Result<(), TossFault> {
        let Method::VirtualAccount(account) = &mut self.method else {
            return Err(TossFault::invalid(
                "only a virtual-account payment takes a deposit",
            ));
        };
        if self.status != TossPaymentStatus::WaitingForDeposit {
            return Err(TossFault::invalid(format!(
                "the payment is {}, not WAITING_FOR_DEPOSIT",
                status_name(self.status)
            )));
        }
        if account.expired {
            return Err(TossFault::invalid(
                "the account's deposit deadline has passed",
            ));
        }
        self.status = TossPaymentStatus::Done;
        self.approved_at = Some(now);
        account.settlement_status = TossSettlementStatus::Completed;
        account.deadline_before_deposit_ms = self.expires_at_ms.take();
        Ok(())
    }

    /// The bank takes a deposit back (the transfer failed after it was reported): the
    /// payment waits for its deposit again, until the account's deadline, as Toss's
    /// virtual-account guide describes the deposit cancelled (`DONE` back to
    /// `WAITING_FOR_DEPOSIT`, with a `DEPOSIT_CALLBACK`).
    pub fn cancel_deposit(&mut self) -> Result<(), TossFault> {
        let Method::VirtualAccount(account) = &mut self.method else {
            return Err(TossFault::invalid(
                "only a virtual-account payment takes a deposit",
            ));
        };
        if self.status != TossPaymentStatus::Done || !self.cancels.is_empty() {
            return Err(TossFault::invalid(format!(
                "the payment is {}, not DONE without cancels",
                status_name(self.status)
            )));
        }
        self.status = TossPaymentStatus::WaitingForDeposit;
        self.approved_at = None;
        account.settlement_status = TossSettlementStatus::Incompleted;
        // A deadline already past expires the payment at the next tick of the clock.
        self.expires_at_ms = account.deadline_before_deposit_ms.take();
        Ok(())
    }

    /// Expires a payment still waiting when its timer, due at `due_ms`, fires (a timer
    /// whose time no longer is the payment's is stale), and says how.
    pub fn expire(&mut self, due_ms: i64) -> Option<Due> {
        if self.expires_at_ms != Some(due_ms)
            || !matches!(
                self.status,
                TossPaymentStatus::InProgress
                    | TossPaymentStatus::WaitingForDeposit
                    | TossPaymentStatus::Ready
            )
        {
            return None;
        }
        self.expires_at_ms = None;
        match &mut self.method {
            // Toss's webhook-events reference (DEPOSIT_CALLBACK, its status flow): an issued
            // account whose deposit deadline passes stays `WAITING_FOR_DEPOSIT`, and no
            // webhook is sent (its FAQ: no callback for an expired account). The account is
            // marked `expired` and takes no deposit.
            Method::VirtualAccount(account)
                if self.status == TossPaymentStatus::WaitingForDeposit =>
            {
                account.expired = true;
                Some(Due::DepositDeadlinePassed)
            }
            method => {
                if let Method::VirtualAccount(account) = method {
                    account.expired = true;
                }
                self.status = TossPaymentStatus::Expired;
                Some(Due::Expired)
            }
        }
    }

    /// Refuses a cash receipt this payment cannot have: another order's, an incomplete
    /// payment's, a second one, or one for more than the payment.
    pub fn check_cash_receipt(&self, order_id: &str, amount: f64) -> Result<(), TossFault> {
        if *self.order_id != *order_id {
            return Err(TossFault::invalid(
                "orderId is not the order of this payment",
            ));
        }
        if !matches!(
            self.status,
            TossPaymentStatus::Done | TossPaymentStatus::PartialCanceled
        ) {
            return Err(TossFault::invalid(
                "a cash receipt needs a completed payment",
            ));
        }
        if self.cash_receipt.is_some() {
            return Err(TossFault::invalid(
                "this payment already has a cash receipt",
            ));
        }
        if amount > self.total {
            return Err(TossFault::invalid("amount exceeds the payment's total"));
        }
        Ok(())
    }

    /// Attaches or detaches the payment's cash receipt.
    pub fn set_cash_receipt(&mut self, receipt: Option<CashReceipt>) {
        self.cash_receipt = receipt.map(Box::new);
    }

    /// The payment's transactions as `GET /v1/transactions` lists them: its approval once
    /// approved (a virtual account once paid), then each cancel; as (transactionKey, unix
    /// seconds, slot), the slot 0 for the approval and `n` for the `n`th cancel, so that
    /// rendering one finds it at once. A handful per payment: the list's index is kept
    /// from these.
    pub fn transactions(&self) -> Vec<(u128, i64, u32)> {
        let approval = self.approved_at.map(|at| (self.transaction_key, at, 0));
        approval
            .into_iter()
            .chain(
                self.cancels
                    .iter()
                    .zip(1..)
                    .map(|(c, slot)| (c.transaction_key, c.at, slot)),
            )
            .collect()
    }

    /// The transaction `transaction_key` in `slot` (as [`Self::transactions`] gives them)
    /// of this payment, as Toss's Transaction object; `None` if the payment has no such
    /// transaction (any longer).
    pub fn render_transaction(
        &self,
        payment_key: &str,
        transaction_key: u128,
        slot: u32,
    ) -> Option<TossTransaction> {
        let (status, amount, at) = match slot.checked_sub(1) {
            None if transaction_key == self.transaction_key => {
                (TossPaymentStatus::Done, self.total, self.approved_at?)
            }
            None => return None,
            Some(index) => {
                let cancel = self
                    .cancels
                    .get(usize::try_from(index).ok()?)
                    .filter(|c| c.transaction_key == transaction_key)?;
                // The status the payment had once this cancel went through: nothing left
                // to cancel is `CANCELED`.
                let status = if cancel.refundable > 0.0 {
                    TossPaymentStatus::PartialCanceled
                } else {
                    TossPaymentStatus::Canceled
                };
                (status, cancel.amount, cancel.at)
            }
        };
        Some(TossTransaction {
            m_id: M_ID.to_owned(),
            transaction_key: format!("{transaction_key:032X}"),
            payment_key: payment_key.to_owned(),
            order_id: self.order_id.to_string(),
            method: self.method_name().to_owned(),
            customer_key: None,
            use_escrow: self.escrow,
            receipt_url: Some(receipt_url(payment_key)),
            status,
            transaction_at: kst_time(at),
            currency: "KRW".to_owned(),
            amount,
        })
    }

    fn method_name(&self) -> &'static str {
        match self.method {
            Method::Card(_) => METHOD_CARD,
            Method::VirtualAccount(_) => METHOD_VIRTUAL_ACCOUNT,
            Method::EasyPay(_) => METHOD_EASY_PAY,
        }
    }

    /// The payment as the API answers it.
    pub fn render(&self, payment_key: &str) -> TossPayment {
        // Korean VAT is 10% of the supplied value: amount = supplied × 1.1 (+ tax-free part).
        let taxable = (self.total - self.tax_free).max(0.0);
        let supplied = (taxable / 1.1).round();
        let cancels = (!self.cancels.is_empty()).then(|| {
            self.cancels
                .iter()
                .map(|cancel| TossPaymentCancel {
                    cancel_amount: cancel.amount,
                    cancel_reason: cancel.reason.to_string(),
                    tax_free_amount: cancel.tax_free,
                    tax_amount: cancel.tax,
                    refundable_amount: cancel.refundable,
                    canceled_at: kst_time(cancel.at),
                    transaction_key: Some(format!("{:032X}", cancel.transaction_key)),
                    // A cancel the fake records went through.
                    cancel_status: Some("DONE".to_owned()),
                    receipt_key: None,
                    // The fake keeps no tax-exempt part, does not split a cancel between
                    // an easy pay's points and money, and takes no cancel request id.
                    tax_exemption_amount: 0.0,
                    easy_pay_discount_amount: 0.0,
                    cancel_request_id: None,
                })
                .collect()
        });
        let base = TossPaymentBase {
            method: self.method_name().to_owned(),
            kind: self.kind,
            status: self.status,
            m_id: M_ID.to_owned(),
            version: VERSION.to_owned(),
            payment_key: payment_key.to_owned(),
            order_id: self.order_id.to_string(),
            transaction_key: self.transaction_key(),
            order_name: self.order_name.to_string(),
            currency: "KRW".to_owned(),
            total_amount: self.total,
            balance_amount: self.balance,
            supplied_amount: supplied,
            tax_free_amount: self.tax_free,
            vat: taxable - supplied,
            use_escrow: self.escrow,
            culture_expense: false,
            requested_at: kst_time(self.requested_at),
            approved_at: self.approved_at.map(kst_time),
            cancels,
            cash_receipt: self.cash_receipt.as_ref().map(|r| r.summary.clone()),
            last_transaction_key: Some(match self.cancels.last() {
                Some(cancel) => format!("{:032X}", cancel.transaction_key),
                None => self.transaction_key(),
            }),
            receipt: Some(TossUrl {
                url: receipt_url(payment_key),
            }),
            checkout: Some(TossUrl {
                url: checkout_url(payment_key),
            }),
            failure: self.failure.as_deref().cloned(),
            // Toss allows partial cancels of every method the fake has, except a virtual
            // account still waiting for its deposit.
            is_partial_cancelable: self.status != TossPaymentStatus::WaitingForDeposit,
            country: "KR".to_owned(),
            metadata: None,
            cash_receipts: self.cash_receipt.as_ref().map(|r| vec![r.history.clone()]),
            tax_exemption_amount: 0.0,
        };
        match &self.method {
            Method::Card(card) => TossPayment::Card(TossCardPayment {
                card: card.render(payment_key, self.total),
                discount: None,
                easy_pay: None,
                base,
            }),
            // Toss's easy-pay guide (간편결제 응답 확인): a card registered in the wallet pays
            // `card.amount` and leaves `easyPay.amount` 0; the wallet's balance pays
            // `easyPay.amount` with `card` null; points are `easyPay.discountAmount`.
            Method::EasyPay(easy_pay) => {
                let paid = self.total - easy_pay.discount;
                TossPayment::EasyPay(TossEasyPayPayment {
                    card: easy_pay
                        .card
                        .as_ref()
                        .map(|card| card.render(payment_key, paid)),
                    easy_pay: Some(TossEasyPay {
                        provider: easy_pay.provider.to_string(),
                        amount: if easy_pay.card.is_some() { 0.0 } else { paid },
                        discount_amount: easy_pay.discount,
                    }),
                    base,
                })
            }
            Method::VirtualAccount(account) => {
                TossPayment::VirtualAccount(TossVirtualAccountPayment {
                    secret: account.secret.to_string(),
                    virtual_account: TossVirtualAccount {
                        account_number: format!("X{:013}", account.number),
                        account_type: "일반".to_owned(),
                        bank: account.bank.to_string(),
                        customer_name: account.customer_name.to_string(),
                        due_date: account.due_date,
                        expired: account.expired,
                        settlement_status: account.settlement_status,
                        refund_status: account.refund_status,
                        bank_code: bank_code(&account.bank).map(str::to_owned),
                    },
                    base,
                })
            }
        }
    }
}

impl Card {
    /// The card part of a payment, of which the card paid `amount`.
    fn render(&self, payment_key: &str, amount: f64) -> TossCard {
        TossCard {
            company: card_company(&self.number).to_owned(),
            number: self.number.to_string(),
            installment_plan_months: self.installment_months,
            is_interest_free: false,
            approve_no: format!("{:08}", self.approve_no),
            use_card_point: false,
            card_type: "신용".to_owned(),
            owner_type: "개인".to_owned(),
            acquire_status: self.acquire_status,
            receipt_url: receipt_url(payment_key),
            amount,
            issuer_code: card_company_code(&self.number).to_owned(),
            acquirer_code: Some(card_company_code(&self.number).to_owned()),
            interest_payer: None,
        }
    }
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

/// Checks a cancel's reason before anything else.
pub fn check_cancel_reason(reason: &str) -> Result<(), TossFault> {
    if reason.trim().is_empty() || reason.chars().count() > 200 {
        return Err(TossFault::invalid(
            "cancelReason must be 1 to 200 characters",
        ));
    }
    Ok(())
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

fn status_name(status: TossPaymentStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(kind: TossPaymentType) -> Order<'static> {
        Order {
            order_id: "order-1",
            order_name: "토스 티셔츠",
            amount: 15_000.0,
            tax_free: 0.0,
            kind,
        }
    }

    #[test]
    fn a_card_payment_is_approved_once_and_cancelled_in_parts() {
        let mut payment = Payment::card(
            order(TossPaymentType::Normal),
            "4330123412341234",
            0,
            TossPaymentStatus::InProgress,
            1_700_000_000,
        )
        .expiring_at(1);
        assert!(payment.approve("order-2", 15_000.0, 0).is_err());
        assert!(payment.approve("order-1", 1.0, 0).is_err());
        assert_eq!(
            payment.render("key").base().status,
            TossPaymentStatus::InProgress
        );
        assert_eq!(
            payment.approve("order-1", 15_000.0, 1_700_000_060),
            Ok(true)
        );
        assert_eq!(payment.due_at_ms(), None);
        assert_eq!(
            payment.approve("order-1", 15_000.0, 0).unwrap_err().code,
            "ALREADY_PROCESSED_PAYMENT"
        );
        let part = TossPaymentCancelCreate {
            cancel_reason: "부분".into(),
            cancel_amount: Some(5_000.0),
            ..TossPaymentCancelCreate::default()
        };
        payment.cancel(&part, 1_700_000_120, 0).unwrap();
        let TossPayment::Card(card) = payment.render("key") else {
            panic!("a card payment")
        };
        assert_eq!(card.base.status, TossPaymentStatus::PartialCanceled);
        assert_eq!(card.base.balance_amount, 10_000.0);
        assert_eq!(
            (card.base.supplied_amount, card.base.vat),
            (13_636.0, 1_364.0)
        );
        assert_eq!(card.card.company, "신한");
        assert_eq!(card.card.approve_no.len(), 8);
        assert_eq!(card.base.transaction_key.len(), 32);
        assert_eq!(
            card.base.approved_at.map(|t| t.to_rfc3339()),
            Some("2023-11-15T07:14:20+09:00".to_owned())
        );
        let cancels = card.base.cancels.unwrap();
        assert_eq!((cancels.len(), cancels[0].refundable_amount), (1, 10_000.0));
        let over = TossPaymentCancelCreate {
            cancel_reason: "초과".into(),
            cancel_amount: Some(20_000.0),
            ..TossPaymentCancelCreate::default()
        };
        assert_eq!(
            payment.cancel(&over, 0, 0).unwrap_err().code,
            "NOT_CANCELABLE_AMOUNT"
        );
    }

    #[test]
    fn a_virtual_account_waits_for_its_deposit_or_expires() {
        let due = kst_time(1_700_100_000);
        let mut payment = Payment::virtual_account(
            order(TossPaymentType::Normal),
            "신한",
            "홍길동",
            due,
            TossPaymentStatus::WaitingForDeposit,
            1_700_000_000,
        )
        .expiring_at(1_700_100_000_000);
        assert_eq!(payment.expire(5), None, "a stale timer does nothing");
        let mut paid = payment.clone();
        paid.deposit(1_700_000_500).unwrap();
        assert_eq!(paid.render("key").base().status, TossPaymentStatus::Done);
        assert_eq!(paid.expire(1_700_100_000_000), None);
        assert_eq!(
            payment.expire(1_700_100_000_000),
            Some(Due::DepositDeadlinePassed)
        );
        let TossPayment::VirtualAccount(account) = payment.render("key") else {
            panic!("a virtual account")
        };
        assert!(account.virtual_account.expired);
        assert_eq!(account.base.status, TossPaymentStatus::WaitingForDeposit);
        assert!(payment.deposit(1_700_100_000).is_err());
        assert_eq!(account.virtual_account.account_number.len(), 14);
        assert!(account.secret.starts_with("ps_"));
    }
}
