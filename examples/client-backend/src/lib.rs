//! A shop's checkout, as a client backend of the payments server writes it: after the
//! customer paid in the PG's window, store the payment for the order; read it back for a
//! receipt; refund part of it.

use payments_api::client::{ClientError, PaymentsClient};
use payments_api::payments::*;

/// The shop's side of payments.
#[derive(Debug, Clone)]
pub struct Checkout {
    client: PaymentsClient,
    /// Where the payments server sends payment events for this shop.
    webhook_url: String,
    /// The per-record password the shop keeps for its payments.
    password: String,
}

impl Checkout {
    pub fn new(client: PaymentsClient, webhook_url: &str, password: &str) -> Self {
        Self {
            client,
            webhook_url: webhook_url.to_owned(),
            password: password.to_owned(),
        }
    }

    fn source(order_id: &str) -> PaymentSource {
        PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: order_id.into(),
        }
    }

    /// The customer paid `amount` for `order_id` at Toss (`payment_key` from the success
    /// redirect): confirm and keep it.
    pub async fn paid_with_toss(
        &self,
        order_id: &str,
        payment_key: &str,
        amount: f64,
    ) -> Result<PaymentHistory, ClientError> {
        self.client
            .create_history(&PaymentHistoryCreate {
                vendor: PaymentVendor {
                    code: VendorCode::TossPayments,
                    store_id: "shop".into(),
                    uid: payment_key.into(),
                },
                source: Self::source(order_id),
                webhook_url: self.webhook_url.clone(),
                price: amount,
                password: self.password.clone(),
            })
            .await
    }

    /// The order's payment, for a receipt.
    pub async fn payment_of(&self, order_id: &str) -> Result<PaymentHistory, ClientError> {
        self.client
            .history_by_source(&PaymentSourceAccessor {
                source: Self::source(order_id),
                password: self.password.clone(),
            })
            .await
    }

    /// Refunds part of the order's payment.
    pub async fn refund(
        &self,
        order_id: &str,
        amount: f64,
        reason: &str,
    ) -> Result<PaymentHistory, ClientError> {
        self.client
            .cancel_history(&PaymentCancelCreate {
                source: Self::source(order_id),
                password: self.password.clone(),
                price: amount,
                reason: reason.into(),
                account: None,
            })
            .await
    }
}
