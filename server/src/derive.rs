//! What a record derives from the PG's own data: currency, price, refunds, and the times
//! of payment and cancellation, all as the PG reports them (never "now").

use chrono::{DateTime, Utc};
use payments_api::iamport::IamportPayment;
use payments_api::payments::PaymentData;
use payments_api::toss::{TossPayment, TossPaymentStatus};

use crate::money::{Amount, NotMoney};

/// A cancel as the PG reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancel {
    pub reason: String,
    pub price: Amount,
    pub at_ms: i64,
}

/// The record's view of a PG payment.
#[derive(Debug, Clone, PartialEq)]
pub struct Props {
    pub currency: String,
    pub price: Amount,
    pub refund: Option<Amount>,
    pub paid_at_ms: Option<i64>,
    /// The first cancel's time.
    pub cancelled_at_ms: Option<i64>,
    /// Oldest first.
    pub cancels: Vec<Cancel>,
}

/// What a record derives from the PG's payment; an amount that is no money is refused.
pub fn props(data: &PaymentData) -> Result<Props, NotMoney> {
    match data {
        PaymentData::Iamport(p) => iamport(p),
        PaymentData::Toss(p) => toss(p),
    }
}

fn iamport(payment: &IamportPayment) -> Result<Props, NotMoney> {
    let base = payment.base();
    let mut cancels: Vec<Cancel> = base
        .cancel_history
        .iter()
        .map(|c| {
            Ok(Cancel {
                reason: c.reason.clone(),
                price: Amount::from_f64(c.amount)?,
                at_ms: c.cancelled_at.saturating_mul(1000),
            })
        })
        .collect::<Result<_, NotMoney>>()?;
    cancels.sort_by_key(|c| c.at_ms);
    let cancelled_at_ms = cancels
        .first()
        .map(|c| c.at_ms)
        // A virtual account revoked before its deposit has a time but no cancel entry.
        .or((base.cancelled_at > 0).then(|| base.cancelled_at.saturating_mul(1000)));
    let refund = Amount::from_f64(base.cancel_amount)?;
    Ok(Props {
        currency: serde_json::to_value(&base.currency)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        price: Amount::from_f64(base.amount)?,
        refund: refund.is_positive().then_some(refund),
        paid_at_ms: (base.paid_at > 0).then(|| base.paid_at.saturating_mul(1000)),
        cancelled_at_ms,
        cancels,
    })
}

fn toss(payment: &TossPayment) -> Result<Props, NotMoney> {
    let base = payment.base();
    let mut cancels: Vec<Cancel> = base
        .cancels
        .iter()
        .flatten()
        .map(|c| {
            Ok(Cancel {
                reason: c.cancel_reason.clone(),
                price: Amount::from_f64(c.cancel_amount)?,
                at_ms: c.canceled_at.timestamp_millis(),
            })
        })
        .collect::<Result<_, NotMoney>>()?;
    cancels.sort_by_key(|c| c.at_ms);
    let refund = cancels
        .iter()
        .try_fold(Amount::ZERO, |sum, c| sum.checked_add(c.price))
        .ok_or(NotMoney(f64::INFINITY))?;
    let paid = matches!(
        base.status,
        TossPaymentStatus::Done | TossPaymentStatus::Canceled | TossPaymentStatus::PartialCanceled
    );
    Ok(Props {
        currency: base.currency.clone(),
        price: Amount::from_f64(base.total_amount)?,
        refund: refund.is_positive().then_some(refund),
        paid_at_ms: base
            .approved_at
            .filter(|_| paid)
            .map(|t| t.timestamp_millis()),
        cancelled_at_ms: cancels.first().map(|c| c.at_ms),
        cancels,
    })
}

/// A time in milliseconds as the API shows it.
pub fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
