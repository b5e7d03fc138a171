//! The I'mport (PortOne V1) connector: one access token per account, refreshed once for all
//! concurrent callers shortly before it expires.
//!
//! I'mport has no confirmation step: a payment is verified by reading it and comparing its
//! amount, and money taken for the wrong amount is refunded at once. Its notifications
//! (`{imp_uid, merchant_uid, status}`, JSON or form-encoded) name the payment by `imp_uid`.

use payments_api::iamport::*;
use payments_api::payments::PaymentData;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::{
    BadNotice, BillingKey, CancelOrder, Claim, Connector, Notice, Payment, PgError, Summary,
    amount, cancels, segment,
};
use crate::config::IamportAccount;

/// Refresh a token this long before the PG says it expires, in seconds.
const MARGIN_S: i64 = 60;

/// One I'mport merchant account.
#[derive(Debug)]
pub struct Iamport {
    base: String,
    accessor: IamportUserAccessor,
    http: reqwest::Client,
    /// The current token and its expiry (unix seconds, the PG's clock).
    token: Mutex<Option<(String, i64)>>,
}

impl Iamport {
    /// The connector of one account, on a shared HTTP client.
    pub fn new(account: &IamportAccount, http: reqwest::Client) -> Self {
        Self {
            base: account.base_url.trim_end_matches('/').to_owned(),
            accessor: IamportUserAccessor {
                imp_key: account.imp_key.clone(),
                imp_secret: account.imp_secret.expose().to_owned(),
            },
            http,
            token: Mutex::new(None),
        }
    }

    async fn fetch(&self, imp_uid: &str) -> Result<(IamportPayment, serde_json::Value), PgError> {
        let path = format!("/payments/{}", segment(imp_uid)?);
        self.call::<(), _>(Method::GET, &path, None).await
    }

    async fn token(&self, stale: Option<&str>) -> Result<String, PgError> {
        // Callers queue on the lock while one of them refreshes; the others then find the
        // fresh token and use it.
        let mut token = self.token.lock().await;
        let now = chrono::Utc::now().timestamp();
        if let Some((value, expires)) = token.as_ref()
            && now < expires - MARGIN_S
            && stale != Some(value.as_str())
        {
            return Ok(value.clone());
        }
        let response = self
            .http
            .post(format!("{}/users/getToken", self.base))
            .json(&self.accessor)
            .send()
            .await
            .map_err(PgError::transport)?;
        let (user, _) = read::<IamportUser>(response).await?;
        // Measure expiry on our clock: the PG's `now` may differ from ours.
        let lifetime = user.expired_at - user.now;
        *token = Some((user.access_token.clone(), now + lifetime));
        Ok(user.access_token)
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(T, serde_json::Value), PgError> {
        let mut stale = None;
        for _ in 0..2 {
            let token = self.token(stale.as_deref()).await?;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .header("authorization", format!("Bearer {token}"));
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(PgError::transport)?;
            // A token the PG no longer takes (revoked, clocks apart): refresh once.
            if response.status() == StatusCode::UNAUTHORIZED && stale.is_none() {
                stale = Some(token);
                continue;
            }
            return read(response).await;
        }
        Err(PgError::Failed(
            "I'mport refused a fresh access token".into(),
        ))
    }
}

/// Reads I'mport's envelope: `code` 0 is success whatever the status; 5xx is a failure;
/// anything else is a refusal.
async fn read<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<(T, serde_json::Value), PgError> {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(PgError::busy(response.headers()));
    }
    let text = response.text().await.map_err(PgError::transport)?;
    if status.is_server_error() {
        return Err(PgError::Failed(format!("I'mport answered {status}")));
    }
    let envelope: IamportResponse<serde_json::Value> =
        serde_json::from_str(&text).map_err(|_| {
            PgError::Failed(format!("I'mport answered {status} with an unreadable body"))
        })?;
    match envelope.response {
        Some(raw) if envelope.code == 0 && status.is_success() => {
            let typed = serde_json::from_value(raw.clone()).map_err(|e| {
                PgError::Failed(format!(
                    "I'mport's answer is not of the expected shape: {e}"
                ))
            })?;
            Ok((typed, raw))
        }
        _ => Err(PgError::Refused {
            code: envelope.code.to_string(),
            message: envelope.message,
        }),
    }
}

impl Connector for Iamport {
    async fn verify_payment(&self, claim: Claim<'_>) -> Result<Payment, PgError> {
        let (payment, raw) = self.fetch(claim.uid).await?;
        if payment.base().status == IamportPaymentStatus::Failed {
            return Err(PgError::PaymentFailed);
        }
        let payment = payment_of(payment, raw)?;
        let paid = payment.summary.price;
        if paid != claim.price {
            // Money taken for the wrong amount goes back to the customer.
            // The checksum makes the refund happen once, should this run twice.
            let summary = &payment.summary;
            let balance = summary
                .price
                .checked_sub(summary.refund.unwrap_or_default())
                .unwrap_or_default();
            let refund = IamportPaymentCancelCreate {
                imp_uid: Some(claim.uid.to_owned()),
                reason: "결제 금액 불일치".into(),
                checksum: Some(balance.to_f64()),
                ..Default::default()
            };
            let refunded = match self
                .call::<_, IamportPayment>(Method::POST, "/payments/cancel", Some(&refund))
                .await
            {
                Ok(_) => "refunded",
                Err(_) => "could not be refunded",
            };
            return Err(PgError::Mismatch(format!(
                "the PG's amount is {paid}, not {}; the payment {refunded}",
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
        let account = order.account;
        let request = IamportPaymentCancelCreate {
            imp_uid: Some(order.uid.to_owned()),
            amount: Some(order.price.to_f64()),
            // I'mport refuses the cancel unless this is the payment's balance: a cancel
            // sent again after the first was done no longer matches.
            checksum: Some(order.guard.balance.to_f64()),
            reason: order.reason.to_owned(),
            refund_holder: account.map(|a| a.holder.clone()),
            refund_bank: account.map(|a| a.bank.clone()),
            refund_account: account.map(|a| a.account.clone()),
            refund_tel: account.map(|a| a.mobile.clone()),
            ..Default::default()
        };
        let (payment, raw) = self
            .call::<_, IamportPayment>(Method::POST, "/payments/cancel", Some(&request))
            .await?;
        payment_of(payment, raw)
    }

    /// I'mport's billing keys are named by the merchant (`customer_uid`); there is no
    /// separate customer to check.
    async fn verify_billing_key(&self, uid: &str, _customer: &str) -> Result<BillingKey, PgError> {
        let path = format!("/subscribe/customers/{}", segment(uid)?);
        let (key, raw) = self
            .call::<(), IamportSubscription>(Method::GET, &path, None)
            .await?;
        Ok(BillingKey {
            data: payments_api::payments::ReservationData::Iamport(key),
            raw,
        })
    }
}

fn payment_of(payment: IamportPayment, raw: serde_json::Value) -> Result<Payment, PgError> {
    Ok(Payment {
        summary: summary(&payment)?,
        data: PaymentData::Iamport(payment),
        raw,
    })
}

/// What a record derives from an I'mport payment. Times are unix seconds, `0` for "not
/// happened"; `cancel_amount` is I'mport's own running total of refunds.
fn summary(payment: &IamportPayment) -> Result<Summary, PgError> {
    let base = payment.base();
    let cancels = cancels(base.cancel_history.iter().map(|c| {
        let at_ms = c.cancelled_at.saturating_mul(1000);
        (c.reason.as_str(), c.amount, at_ms)
    }))?;
    let cancelled_at_ms = cancels
        .first()
        .map(|c| c.at_ms)
        // A virtual account revoked before its deposit has a time but no cancel entry.
        .or((base.cancelled_at > 0).then(|| base.cancelled_at.saturating_mul(1000)));
    let refund = amount(base.cancel_amount)?;
    Ok(Summary {
        currency: serde_json::to_value(&base.currency)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        price: amount(base.amount)?,
        refund: refund.is_positive().then_some(refund),
        paid_at_ms: (base.paid_at > 0).then(|| base.paid_at.saturating_mul(1000)),
        cancelled_at_ms,
        cancels,
    })
}

/// Reads a notification: only `imp_uid` is used, the rest is re-read from I'mport.
pub fn read_notice(content_type: Option<&str>, body: &[u8]) -> Result<Notice, BadNotice> {
    let form = content_type.is_some_and(|v| v.contains("x-www-form-urlencoded"));
    let imp_uid = if form {
        form_urlencoded::parse(body)
            .find(|(k, _)| k == "imp_uid")
            .map(|(_, v)| v.into_owned())
    } else {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("imp_uid").and_then(|u| u.as_str()).map(str::to_owned))
    };
    imp_uid
        .filter(|u| !u.is_empty() && u.len() <= 255)
        .map(Notice::Payment)
        .ok_or_else(|| BadNotice("the body has no imp_uid".into()))
}
