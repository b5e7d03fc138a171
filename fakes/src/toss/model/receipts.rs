//! Cash receipts of completed payments.

use chrono::{DateTime, FixedOffset};
use payments_api::toss::*;

use super::super::error::TossFault;
use super::MerchantData;
use super::lists::ReceiptEntry;
use super::payment::{CashReceipt, positive};
use crate::ids::{random_alnum, random_digits};

/// A cash receipt and the payment it belongs to.
#[derive(Debug, Clone)]
pub struct ReceiptRecord {
    pub receipt: TossCashReceipt,
    pub payment_key: String,
    /// The issue as `GET /v1/cash-receipts` lists it.
    history: TossCashReceiptHistory,
    /// Where the issue, and the cancel once made, sit in the merchant's list by day.
    issued: ReceiptEntry,
    canceled: Option<ReceiptEntry>,
}

impl ReceiptRecord {
    /// The entry `seq` of the list by day: the issue (`CONFIRM`) or the cancel (`CANCEL`).
    pub fn entry(&self, seq: u64) -> Option<TossCashReceiptHistory> {
        if self.issued.1 == seq {
            return Some(self.history.clone());
        }
        let canceled_at = self.receipt.canceled_at?;
        (self.canceled?.1 == seq).then(|| TossCashReceiptHistory {
            transaction_type: "CANCEL".to_owned(),
            requested_at: canceled_at,
            ..self.history.clone()
        })
    }

    /// Its entries in the list by day, to drop when the store lets it go.
    pub fn entries(&self) -> impl Iterator<Item = ReceiptEntry> {
        std::iter::once(self.issued).chain(self.canceled)
    }
}

impl MerchantData {
    /// Issues the cash receipt of a completed payment; one per payment.
    pub fn issue_cash_receipt(
        &mut self,
        input: &TossCashReceiptCreate,
        now: DateTime<FixedOffset>,
        now_ms: i64,
    ) -> Result<TossCashReceipt, TossFault> {
        let amount = positive("amount", input.amount)?;
        self.payment(&input.payment_key, now_ms)?
            .check_cash_receipt(&input.order_id, amount)?;
        let receipt_key = random_alnum(48);
        let receipt = TossCashReceipt {
            receipt_key: receipt_key.clone(),
            kind: input.kind,
            order_id: input.order_id.clone(),
            order_name: input.order_name.clone(),
            approval_number: random_digits(9),
            approved_at: now,
            canceled_at: None,
            receipt_url: format!(
                "https://dashboard.tosspayments.com/receipt/mids/tosspayments/cashreceipt/{receipt_key}"
            ),
        };
        let summary = TossCashReceiptSummary {
            kind: input.kind,
            amount,
            tax_free_amount: input.tax_free_amount.unwrap_or(0.0),
            issue_number: receipt.approval_number.clone(),
            receipt_url: receipt.receipt_url.clone(),
        };
        let history = TossCashReceiptHistory {
            receipt_key: receipt_key.clone(),
            order_id: input.order_id.clone(),
            order_name: input.order_name.clone(),
            kind: input.kind,
            issue_number: receipt.approval_number.clone(),
            receipt_url: receipt.receipt_url.clone(),
            transaction_type: "CONFIRM".to_owned(),
            amount,
            tax_free_amount: summary.tax_free_amount,
            issue_status: "COMPLETED".to_owned(),
            requested_at: now,
        };
        let listed = history.clone();
        self.change_payment(&input.payment_key, now_ms, |payment| {
            payment.set_cash_receipt(Some(CashReceipt { summary, history }));
        })?;
        let issued = self.receipt_days.add(&receipt_key, now);
        let evicted = self.receipts.insert(
            receipt_key,
            ReceiptRecord {
                receipt: receipt.clone(),
                payment_key: input.payment_key.clone(),
                history: listed,
                issued,
                canceled: None,
            },
            now_ms,
        );
        for (_, gone) in evicted {
            gone.entries().for_each(|e| self.receipt_days.remove(e));
        }
        Ok(receipt)
    }

    /// Cancels a cash receipt, once; its payment can have another after.
    pub fn cancel_cash_receipt(
        &mut self,
        receipt_key: &str,
        now: DateTime<FixedOffset>,
        now_ms: i64,
    ) -> Result<TossCashReceipt, TossFault> {
        let record = self
            .receipts
            .get_mut(receipt_key, now_ms)
            .ok_or_else(|| TossFault::with("NOT_FOUND", "존재하지 않는 현금영수증 입니다."))?;
        if record.receipt.canceled_at.is_some() {
            return Err(TossFault::invalid("this cash receipt is already cancelled"));
        }
        record.receipt.canceled_at = Some(now);
        record.canceled = Some(self.receipt_days.add(receipt_key, now));
        let (receipt, payment_key) = (record.receipt.clone(), record.payment_key.clone());
        // The payment may be gone meanwhile; the receipt is cancelled all the same.
        let _ = self.change_payment(&payment_key, now_ms, |payment| {
            payment.set_cash_receipt(None);
        });
        Ok(receipt)
    }
}
