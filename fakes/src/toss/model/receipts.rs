//! Cash receipts of completed payments.

use chrono::{DateTime, FixedOffset};
use payments_api::toss::*;

use super::super::error::TossFault;
use super::MerchantData;
use super::payment::{CashReceipt, positive};
use crate::ids::{random_alnum, random_digits};

/// A cash receipt and the payment it belongs to.
#[derive(Debug, Clone)]
pub struct ReceiptRecord {
    pub receipt: TossCashReceipt,
    pub payment_key: String,
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
        self.change_payment(&input.payment_key, now_ms, |payment| {
            payment.set_cash_receipt(Some(CashReceipt { summary, history }));
        })?;
        self.receipts.insert(
            receipt_key,
            ReceiptRecord {
                receipt: receipt.clone(),
                payment_key: input.payment_key.clone(),
            },
            now_ms,
        );
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
        let (receipt, payment_key) = (record.receipt.clone(), record.payment_key.clone());
        // The payment may be gone meanwhile; the receipt is cancelled all the same.
        let _ = self.change_payment(&payment_key, now_ms, |payment| {
            payment.set_cash_receipt(None);
        });
        Ok(receipt)
    }
}
