//! The Toss Payments connector: `Basic base64(secretKey + ":")` on every call.

use base64::Engine as _;
use payments_api::toss::*;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::PgError;
use super::iamport::encode;
use crate::config::TossAccount;

/// One Toss Payments merchant account.
#[derive(Debug)]
pub struct Toss {
    base: String,
    authorization: String,
    http: reqwest::Client,
}

impl Toss {
    pub fn new(account: &TossAccount, http: reqwest::Client) -> Self {
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:", account.secret_key.expose()));
        Self {
            base: account.base_url.trim_end_matches('/').to_owned(),
            authorization: format!("Basic {credentials}"),
            http,
        }
    }

    /// Approves a payment the customer authenticated (`POST /v1/payments/confirm`).
    pub async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: f64,
    ) -> Result<(TossPayment, serde_json::Value), PgError> {
        let body = TossPaymentConfirm {
            payment_key: payment_key.to_owned(),
            order_id: order_id.to_owned(),
            amount,
        };
        self.call(Method::POST, "/v1/payments/confirm", Some(&body))
            .await
    }

    /// A payment.
    pub async fn payment(
        &self,
        payment_key: &str,
    ) -> Result<(TossPayment, serde_json::Value), PgError> {
        let path = format!("/v1/payments/{}", encode(payment_key));
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// Cancels all or part of a payment; answers the payment after the cancel.
    pub async fn cancel(
        &self,
        payment_key: &str,
        request: &TossPaymentCancelCreate,
    ) -> Result<(TossPayment, serde_json::Value), PgError> {
        let path = format!("/v1/payments/{}/cancel", encode(payment_key));
        self.call(Method::POST, &path, Some(request)).await
    }

    /// A billing key, checked against its customer.
    pub async fn billing(
        &self,
        billing_key: &str,
        customer_key: &str,
    ) -> Result<(TossBilling, serde_json::Value), PgError> {
        let path = format!("/v1/billing/authorizations/{}", encode(billing_key));
        let body = TossCustomerKey {
            customer_key: customer_key.to_owned(),
        };
        self.call(Method::POST, &path, Some(&body)).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(T, serde_json::Value), PgError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", &self.authorization);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(PgError::transport)?;
        let status = response.status();
        let text = response.text().await.map_err(PgError::transport)?;
        if status.is_server_error() {
            return Err(PgError::Failed(format!("Toss Payments answered {status}")));
        }
        if !status.is_success() {
            let error: TossError = serde_json::from_str(&text).unwrap_or(TossError {
                code: status.as_str().to_owned(),
                message: format!("Toss Payments answered {status}"),
            });
            return Err(PgError::Refused {
                code: error.code,
                message: error.message,
            });
        }
        let raw: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| PgError::Failed("Toss Payments answered an unreadable body".into()))?;
        let typed = serde_json::from_value(raw.clone()).map_err(|e| {
            PgError::Failed(format!(
                "Toss Payments' answer is not of the expected shape: {e}"
            ))
        })?;
        Ok((typed, raw))
    }
}
