//! The Toss Payments connector: `Basic base64(secretKey + ":")` on every call.
//!
//! A Toss payment is verified by confirming it with the order (the source id) and the
//! amount; one approved already is accepted if it is that order's, for that amount. Refund
//! accounts go to Toss as digits only. Toss notifies `PAYMENT_STATUS_CHANGED` with the
//! payment, and every change of a virtual account (issue, deposit, cancel) also as a
//! `DEPOSIT_CALLBACK` naming only the order and the account's secret; both make the server
//! re-read the payment, so the second changes nothing more.

use base64::Engine as _;
use payments_api::payments::{PaymentData, ReservationData};
use payments_api::toss::*;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    BadNotice, BillingKey, CancelOrder, Claim, Connector, Notice, Payment, PgError, Summary,
    amount, cancels, segment,
};
use crate::config::TossAccount;

/// One Toss Payments merchant account.
#[derive(Debug)]
pub struct Toss {
    base: String,
    authorization: String,
    http: reqwest::Client,
}

impl Toss {
    /// The connector of one account, on a shared HTTP client.
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
    async fn confirm(&self, claim: Claim<'_>) -> Result<(TossPayment, serde_json::Value), PgError> {
        let body = TossPaymentConfirm {
            payment_key: claim.uid.to_owned(),
            order_id: claim.order_id.to_owned(),
            amount: claim.price.to_f64(),
        };
        // The same approval always carries the same key, so a retry after a lost answer
        // gets the first answer again instead of a second approval attempt.
        let key = idempotency_key(&[
            "confirm",
            claim.uid,
            claim.order_id,
            &body.amount.to_string(),
        ]);
        self.call(
            Method::POST,
            "/v1/payments/confirm",
            Some(&body),
            Some(&key),
        )
        .await
    }

    async fn fetch(&self, payment_key: &str) -> Result<(TossPayment, serde_json::Value), PgError> {
        let path = format!("/v1/payments/{}", segment(payment_key)?);
        self.call::<(), _>(Method::GET, &path, None, None).await
    }

    /// One call; `idempotency_key`, when given, makes Toss do the call's effect once
    /// whatever number of times it is sent.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<(T, serde_json::Value), PgError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", &self.authorization);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(PgError::transport)?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(PgError::busy(response.headers()));
        }
        let text = response.text().await.map_err(PgError::transport)?;
        if status.is_server_error() {
            return Err(PgError::Failed(format!("Toss Payments answered {status}")));
        }
        if !status.is_success() {
            let error: TossError = serde_json::from_str(&text).unwrap_or(TossError {
                code: status.as_str().to_owned(),
                message: format!("Toss Payments answered {status}"),
            });
            // The same Idempotency-Key is being handled: its answer comes to whoever waits.
            if error.code == "IDEMPOTENT_REQUEST_PROCESSING" {
                return Err(PgError::Unavailable { retry_after_s: 1 });
            }
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

impl Connector for Toss {
    async fn verify_payment(&self, claim: Claim<'_>) -> Result<Payment, PgError> {
        let (payment, raw) = match self.confirm(claim).await {
            Ok(confirmed) => confirmed,
            // Approved already (a billing-key charge, or a payment the client approved
            // itself): accept it if it is this order's, for this amount.
            Err(PgError::Refused { code, .. }) if code == "ALREADY_PROCESSED_PAYMENT" => {
                let (payment, raw) = self.fetch(claim.uid).await?;
                let base = payment.base();
                if base.order_id != claim.order_id || amount(base.total_amount)? != claim.price {
                    return Err(PgError::Mismatch(format!(
                        "the approved payment is for order {:?} and {}, not {:?} and {}",
                        base.order_id, base.total_amount, claim.order_id, claim.price
                    )));
                }
                (payment, raw)
            }
            Err(e) => return Err(e),
        };
        if matches!(
            payment.base().status,
            TossPaymentStatus::Aborted | TossPaymentStatus::Expired
        ) {
            return Err(PgError::PaymentFailed);
        }
        payment_of(payment, raw)
    }

    async fn payment(&self, uid: &str) -> Result<Payment, PgError> {
        let (payment, raw) = self.fetch(uid).await?;
        payment_of(payment, raw)
    }

    async fn cancel(&self, order: CancelOrder<'_>) -> Result<Payment, PgError> {
        let request = TossPaymentCancelCreate {
            cancel_reason: order.reason.to_owned(),
            cancel_amount: Some(order.price.to_f64()),
            refund_receive_account: order.account.map(|a| TossRefundReceiveAccount {
                bank: a.bank.clone(),
                // Toss takes digits only; clients write numbers with dashes.
                account_number: a.account.chars().filter(char::is_ascii_digit).collect(),
                holder_name: a.holder.clone(),
            }),
            ..Default::default()
        };
        let path = format!("/v1/payments/{}/cancel", segment(order.uid)?);
        let (payment, raw) = self
            .call(Method::POST, &path, Some(&request), Some(order.guard.key))
            .await?;
        payment_of(payment, raw)
    }

    /// Toss checks a billing key against its customer: the record's source id.
    async fn verify_billing_key(&self, uid: &str, customer: &str) -> Result<BillingKey, PgError> {
        let path = format!("/v1/billing/authorizations/{}", segment(uid)?);
        let body = TossCustomerKey {
            customer_key: customer.to_owned(),
        };
        let (key, raw) = self.call(Method::POST, &path, Some(&body), None).await?;
        Ok(BillingKey {
            data: ReservationData::Toss(key),
            raw,
        })
    }
}

/// An `Idempotency-Key` made of `parts`: the same parts always give the same key.
fn idempotency_key(parts: &[&str]) -> String {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn payment_of(payment: TossPayment, raw: serde_json::Value) -> Result<Payment, PgError> {
    Ok(Payment {
        summary: summary(&payment)?,
        data: PaymentData::Toss(payment),
        raw,
    })
}

/// What a record derives from a Toss payment: Toss keeps no refund total, so it is the sum
/// of the cancels; the approval time counts only once the payment is paid.
fn summary(payment: &TossPayment) -> Result<Summary, PgError> {
    let base = payment.base();
    let cancels = cancels(base.cancels.iter().flatten().map(|c| {
        let at_ms = c.canceled_at.timestamp_millis();
        (c.cancel_reason.as_str(), c.cancel_amount, at_ms)
    }))?;
    let refund = cancels
        .iter()
        .try_fold(crate::money::Amount::ZERO, |sum, c| {
            sum.checked_add(c.price)
        })
        .ok_or_else(|| PgError::Failed("the PG's cancels add up to more than money".into()))?;
    let paid = matches!(
        base.status,
        TossPaymentStatus::Done | TossPaymentStatus::Canceled | TossPaymentStatus::PartialCanceled
    );
    Ok(Summary {
        currency: base.currency.clone(),
        price: amount(base.total_amount)?,
        refund: refund.is_positive().then_some(refund),
        paid_at_ms: base
            .approved_at
            .filter(|_| paid)
            .map(|t| t.timestamp_millis()),
        cancelled_at_ms: cancels.first().map(|c| c.at_ms),
        cancels,
    })
}

/// Reads a notification: `PAYMENT_STATUS_CHANGED` names the payment by its key; a
/// `DEPOSIT_CALLBACK` (also sent without `eventType`) only by its order and secret. Events
/// of Toss's other products are none of this server's business.
pub fn read_notice(_content_type: Option<&str>, body: &[u8]) -> Result<Notice, BadNotice> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BadNotice(format!("the body is not JSON: {e}")))?;
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    match value.get("eventType").and_then(|v| v.as_str()) {
        Some("PAYMENT_STATUS_CHANGED") => text("/data/paymentKey")
            .map(Notice::Payment)
            .ok_or_else(|| BadNotice("PAYMENT_STATUS_CHANGED without data.paymentKey".into())),
        Some("DEPOSIT_CALLBACK") | None if value.get("secret").is_some() => Ok(Notice::Order {
            order_id: text("/orderId").unwrap_or_default(),
            secret: text("/secret").unwrap_or_default(),
        }),
        _ => Ok(Notice::Ignored),
    }
}

/// The secret a virtual account's `DEPOSIT_CALLBACK` carries.
pub fn order_secret(data: &PaymentData) -> Option<&str> {
    match data {
        PaymentData::Toss(TossPayment::VirtualAccount(account)) => Some(&account.secret),
        _ => None,
    }
}
