//! The I'mport (PortOne V1) connector: one access token per account, refreshed once for all
//! concurrent callers shortly before it expires.

use payments_api::iamport::*;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::PgError;
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

    /// A payment, with the PG's JSON as it came.
    pub async fn payment(
        &self,
        imp_uid: &str,
    ) -> Result<(IamportPayment, serde_json::Value), PgError> {
        let path = format!("/payments/{}", encode(imp_uid));
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// Cancels all or part of a payment; answers the payment after the cancel.
    pub async fn cancel(
        &self,
        request: &IamportPaymentCancelCreate,
    ) -> Result<(IamportPayment, serde_json::Value), PgError> {
        self.call(Method::POST, "/payments/cancel", Some(request))
            .await
    }

    /// A billing key.
    pub async fn subscription(
        &self,
        customer_uid: &str,
    ) -> Result<(IamportSubscription, serde_json::Value), PgError> {
        let path = format!("/subscribe/customers/{}", encode(customer_uid));
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

/// Percent-encodes a path segment.
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
