//! The PortOne V2 connector: `Authorization: PortOne <API secret>` on every call.
//!
//! Like I'mport, V2 has no confirmation step for a paid payment: it is verified by reading
//! it by the merchant's `paymentId` and comparing its amount, and money taken for the wrong
//! amount is cancelled at once. Cancels carry `currentCancellableAmount`, the balance the
//! server recorded, so PortOne refuses one sent again after the first was done. Webhooks
//! are signed the Standard Webhooks way with the store's `whsec_` secret: the intake checks
//! the signature before reading anything else.

use payments_api::payments::{PaymentData, ReservationData};
use payments_api::portone::{
    BillingKeyInfo, CancelPaymentBody, CancelPaymentResponse, Payment as V2Payment,
    PaymentCancellation, PortOneError, RefundAccount,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    BadNotice, BillingKey, CancelOrder, Claim, Connector, Notice, Payment, PgError, Summary,
    amount, cancels, encode, segment,
};
use crate::config::{PortOneAccount, Secret};

/// How far a webhook's timestamp may be from the server's clock, in seconds (the
/// Standard Webhooks default).
pub const WEBHOOK_TOLERANCE_S: i64 = 5 * 60;

/// One PortOne V2 store.
#[derive(Debug)]
pub struct PortOne {
    base: String,
    authorization: String,
    store_id: Option<String>,
    http: reqwest::Client,
}

impl PortOne {
    /// The connector of one store, on a shared HTTP client.
    pub fn new(account: &PortOneAccount, http: reqwest::Client) -> Self {
        Self {
            base: account.base_url.trim_end_matches('/').to_owned(),
            authorization: format!("PortOne {}", account.api_secret.expose()),
            store_id: account.store_id.clone(),
            http,
        }
    }

    /// `GET /payments/{paymentId}`.
    async fn fetch(&self, payment_id: &str) -> Result<(V2Payment, serde_json::Value), PgError> {
        let mut path = format!("/payments/{}", segment(payment_id)?);
        if let Some(store) = &self.store_id {
            path.push_str(&format!("?storeId={}", encode(store)));
        }
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `POST /payments/{paymentId}/cancel`, then the payment as it is after the cancel.
    async fn cancel_at_pg(
        &self,
        payment_id: &str,
        body: &CancelPaymentBody,
    ) -> Result<Payment, PgError> {
        let path = format!("/payments/{}/cancel", segment(payment_id)?);
        let _: (CancelPaymentResponse, _) = self.call(Method::POST, &path, Some(body)).await?;
        let (payment, raw) = self.fetch(payment_id).await?;
        payment_of(payment, raw)
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
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(PgError::busy(response.headers()));
        }
        let text = response.text().await.map_err(PgError::transport)?;
        if status.is_server_error() {
            // `PG_PROVIDER` (502): the card company or bank behind PortOne failed.
            let detail = serde_json::from_str::<PortOneError>(&text)
                .map(|e| format!(" ({})", e.kind))
                .unwrap_or_default();
            return Err(PgError::Failed(format!(
                "PortOne answered {status}{detail}"
            )));
        }
        if !status.is_success() {
            let error: PortOneError = serde_json::from_str(&text).unwrap_or(PortOneError {
                kind: status.as_str().to_owned(),
                message: None,
                pg_code: None,
                pg_message: None,
            });
            return Err(PgError::Refused {
                message: error
                    .message
                    .unwrap_or_else(|| format!("PortOne answered {status}")),
                code: error.kind,
            });
        }
        let raw: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| PgError::Failed("PortOne answered an unreadable body".into()))?;
        let typed = serde_json::from_value(raw.clone()).map_err(|e| {
            PgError::Failed(format!(
                "PortOne's answer is not of the expected shape: {e}"
            ))
        })?;
        Ok((typed, raw))
    }
}

impl Connector for PortOne {
    async fn verify_payment(&self, claim: Claim<'_>) -> Result<Payment, PgError> {
        let (payment, raw) = self.fetch(claim.uid).await?;
        match payment {
            V2Payment::Failed(_) => return Err(PgError::PaymentFailed),
            // Nothing was paid or issued yet: the customer has not finished the window.
            V2Payment::Ready(_) | V2Payment::PayPending(_) => {
                return Err(PgError::Refused {
                    code: "PAYMENT_NOT_PAID".into(),
                    message: "the payment is not paid".into(),
                });
            }
            _ => {}
        }
        let payment = payment_of(payment, raw)?;
        let found = payment.summary.price;
        if found != claim.price {
            let refunded = match payment.data {
                // Money taken for the wrong amount goes back to the customer; the
                // balance guard makes the cancel happen once, should this run twice.
                PaymentData::PortOne(V2Payment::Paid(_)) => {
                    let body = CancelPaymentBody {
                        store_id: self.store_id.clone(),
                        reason: "결제 금액 불일치".into(),
                        current_cancellable_amount: Some(balance(&payment.summary)?),
                        ..Default::default()
                    };
                    match self.cancel_at_pg(claim.uid, &body).await {
                        Ok(_) => "cancelled",
                        Err(_) => "could not be cancelled",
                    }
                }
                _ => "left as it is",
            };
            return Err(PgError::Mismatch(format!(
                "the PG's amount is {found}, not {}; the payment {refunded}",
                claim.price
            )));
        }
        Ok(payment)
    }

    async fn payment(&self, uid: &str) -> Result<Payment, PgError> {
        let (payment, raw) = self.fetch(uid).await?;
        payment_of(payment, raw)
    }

    async fn cancel(&self, order: CancelOrder<'_>) -> Result<Payment, PgError> {
        let body = CancelPaymentBody {
            store_id: self.store_id.clone(),
            amount: Some(whole(order.price)?),
            reason: order.reason.to_owned(),
            // PortOne refuses the cancel unless this is the payment's balance: a cancel
            // sent again after the first was done no longer matches.
            current_cancellable_amount: Some(whole(order.guard.balance)?),
            refund_account: order.account.map(|a| RefundAccount {
                bank: a.bank.clone(),
                number: a.account.chars().filter(char::is_ascii_digit).collect(),
                holder_name: a.holder.clone(),
                holder_phone_number: Some(a.mobile.clone()),
            }),
            ..Default::default()
        };
        self.cancel_at_pg(order.uid, &body).await
    }

    /// PortOne does not tie a billing key to a customer the caller names: the key must
    /// exist and not be deleted.
    async fn verify_billing_key(&self, uid: &str, _customer: &str) -> Result<BillingKey, PgError> {
        let mut path = format!("/billing-keys/{}", segment(uid)?);
        if let Some(store) = &self.store_id {
            path.push_str(&format!("?storeId={}", encode(store)));
        }
        let (key, raw): (BillingKeyInfo, _) = self.call::<(), _>(Method::GET, &path, None).await?;
        if matches!(key, BillingKeyInfo::Deleted(_)) {
            return Err(PgError::Refused {
                code: "BILLING_KEY_ALREADY_DELETED".into(),
                message: "the billing key is deleted".into(),
            });
        }
        Ok(BillingKey {
            data: ReservationData::PortOne(key),
            raw,
        })
    }
}

/// An amount PortOne takes: whole units of the currency.
fn whole(price: crate::money::Amount) -> Result<i64, PgError> {
    let value = price.to_f64();
    if value.fract() != 0.0 {
        return Err(PgError::Refused {
            code: "INVALID_REQUEST".into(),
            message: format!("PortOne takes whole amounts, not {price}"),
        });
    }
    Ok(value as i64)
}

/// What is left to cancel of a payment.
fn balance(summary: &Summary) -> Result<i64, PgError> {
    let left = summary
        .price
        .checked_sub(summary.refund.unwrap_or_default())
        .unwrap_or_default();
    whole(left)
}

fn payment_of(payment: V2Payment, raw: serde_json::Value) -> Result<Payment, PgError> {
    Ok(Payment {
        summary: summary(&payment)?,
        data: PaymentData::PortOne(payment),
        raw,
    })
}

/// What a record derives from a V2 payment: the refund is PortOne's `amount.cancelled`,
/// the cancels its succeeded cancellations; a payment is paid once it has `paidAt`.
fn summary(payment: &V2Payment) -> Result<Summary, PgError> {
    let base = payment.base();
    let (paid_at, cancellations) = match payment {
        V2Payment::Paid(p) => (Some(p.paid_at), &[][..]),
        V2Payment::PartialCancelled(p) | V2Payment::Cancelled(p) => {
            (p.paid_at, p.cancellations.as_slice())
        }
        _ => (None, &[][..]),
    };
    let cancels = cancels(cancellations.iter().filter_map(|c| match c {
        PaymentCancellation::Succeeded(c) => Some((
            c.reason.as_str(),
            c.total_amount as f64,
            c.cancelled_at.unwrap_or(c.requested_at).timestamp_millis(),
        )),
        _ => None,
    }))?;
    let refund = amount(base.amount.cancelled as f64)?;
    Ok(Summary {
        currency: base.currency.clone(),
        price: amount(base.amount.total as f64)?,
        refund: refund.is_positive().then_some(refund),
        paid_at_ms: paid_at.map(|t| t.timestamp_millis()),
        cancelled_at_ms: cancels.first().map(|c| c.at_ms),
        cancels,
    })
}

/// Reads a webhook (already authenticated): `Transaction.*` names the payment by its
/// `paymentId`; billing-key events are none of the records' business.
pub fn read_notice(_content_type: Option<&str>, body: &[u8]) -> Result<Notice, BadNotice> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| BadNotice(format!("the body is not JSON: {e}")))?;
    let kind = value.get("type").and_then(|v| v.as_str()).unwrap_or("");
    if !kind.starts_with("Transaction.") {
        return Ok(Notice::Ignored);
    }
    value
        .pointer("/data/paymentId")
        .and_then(|v| v.as_str())
        .map(|id| Notice::Payment(id.to_owned()))
        .ok_or_else(|| BadNotice(format!("{kind} without data.paymentId")))
}

/// The Standard Webhooks headers of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signatures: &'a str,
}

/// Checks a webhook against the secrets of the store it names (`data.storeId`, read only
/// to pick the secrets): a signature by one of them, at most [`WEBHOOK_TOLERANCE_S`] from
/// `now_s`. `secrets` answers a store's secrets, or the default store's.
pub fn authenticate<'s>(
    secrets: impl Fn(Option<&str>) -> &'s [Secret],
    signed: Option<Signed<'_>>,
    body: &[u8],
    now_s: i64,
) -> Result<(), String> {
    let signed = signed
        .ok_or("the webhook-id, webhook-timestamp and webhook-signature headers are needed")?;
    let body = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8")?;
    let store = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.pointer("/data/storeId")?.as_str().map(str::to_owned));
    let mut last = "no webhook secret is configured for the store".to_owned();
    for secret in secrets(store.as_deref()) {
        match payments_api::signature::verify(
            secret.expose(),
            signed.id,
            signed.timestamp,
            signed.signatures,
            body,
            now_s,
            WEBHOOK_TOLERANCE_S,
        ) {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transaction_events_name_a_payment() {
        let paid = br#"{"type":"Transaction.Paid","timestamp":"2026-01-01T00:00:00Z","data":{"storeId":"s","paymentId":"p-1","transactionId":"t"}}"#;
        assert_eq!(
            read_notice(None, paid).unwrap(),
            Notice::Payment("p-1".into())
        );
        let key = br#"{"type":"BillingKey.Issued","timestamp":"2026-01-01T00:00:00Z","data":{"storeId":"s","billingKey":"k"}}"#;
        assert_eq!(read_notice(None, key).unwrap(), Notice::Ignored);
        assert!(read_notice(None, br#"{"type":"Transaction.Paid","data":{}}"#).is_err());
        assert!(read_notice(None, b"not json").is_err());
    }

    #[test]
    fn a_webhook_is_taken_only_with_a_fresh_signature_of_its_stores_secret() {
        let secret = Secret::new("whsec_c2VjcmV0LW9uZQ==");
        let other = Secret::new("whsec_c2VjcmV0LXR3bw==");
        let body = r#"{"type":"Transaction.Paid","data":{"storeId":"store-a","paymentId":"p"}}"#;
        let key = payments_api::signature::secret_key(secret.expose()).unwrap();
        let signature = payments_api::signature::sign(&key, "msg_1", 1_000, body);
        let signed = Some(Signed {
            id: "msg_1",
            timestamp: "1000",
            signatures: &signature,
        });
        let mine = std::slice::from_ref(&secret);
        let theirs = std::slice::from_ref(&other);
        let by_store = |store: Option<&str>| {
            if store == Some("store-a") {
                mine
            } else {
                theirs
            }
        };
        assert_eq!(
            authenticate(by_store, signed, body.as_bytes(), 1_010),
            Ok(())
        );
        // Another store's secret, a stale timestamp, a changed body, no headers.
        assert!(authenticate(|_| theirs, signed, body.as_bytes(), 1_010).is_err());
        assert!(authenticate(by_store, signed, body.as_bytes(), 1_000 + 301).is_err());
        let changed = body.replace("\"p\"", "\"q\"");
        assert!(authenticate(by_store, signed, changed.as_bytes(), 1_010).is_err());
        assert!(authenticate(by_store, None, body.as_bytes(), 1_010).is_err());
        assert!(authenticate(|_| &[], signed, body.as_bytes(), 1_010).is_err());
    }
}
