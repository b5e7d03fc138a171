//! A typed async client of the payments API: one method per endpoint, bodies encrypted and
//! decrypted for you, errors typed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), payments_api::client::ClientError> {
//! use payments_api::client::PaymentsClient;
//! use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
//!
//! let client = PaymentsClient::new("http://127.0.0.1:37821", SANDBOX_KEY, SANDBOX_IV)?;
//! client.health().await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::codec::{BodyCodec, DecodeError, KeyError, SCHEME_HEADER, Scheme};
use crate::monitors::{Performance, System};
use crate::payments::{
    ErrorBody, PaymentCancelCreate, PaymentHistory, PaymentHistoryCreate, PaymentPassword,
    PaymentReservation, PaymentReservationCreate, PaymentSourceAccessor,
};

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error.
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        /// The server's stable error code, e.g. `wrong_password`.
        code: String,
        message: String,
    },
    /// The request did not get an answer.
    #[error("the payments server could not be reached: {0}")]
    Transport(#[from] reqwest::Error),
    /// The answer could not be decrypted or read.
    #[error("the payments server's answer could not be read: {0}")]
    Decode(#[from] DecodeError),
    /// The key or IV is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error code of an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A client of one payments server.
#[derive(Debug, Clone)]
pub struct PaymentsClient {
    base: String,
    codec: BodyCodec,
    scheme: Scheme,
    http: reqwest::Client,
}

impl PaymentsClient {
    /// A client of the server at `base_url` using the given body key and IV.
    pub fn new(base_url: &str, key: &str, iv: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .tls_backend_preconfigured(crate::tls::client_config())
            .build()?;
        Ok(Self::with_http(base_url, BodyCodec::new(key, iv)?, http))
    }

    /// A client using an HTTP client of your own.
    pub fn with_http(base_url: &str, codec: BodyCodec, http: reqwest::Client) -> Self {
        Self {
            base: base_url.trim_end_matches('/').to_owned(),
            codec,
            scheme: Scheme::LegacyCbc,
            http,
        }
    }

    /// The same client, encrypting its bodies (and asking for answers) with `scheme`:
    /// [`Scheme::Aes256Gcm`] for bodies no one can change unnoticed. A server that does not
    /// know the scheme answers bodies this client refuses to read.
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST /payments/histories`: verifies a payment at the PG and stores it.
    pub async fn create_history(
        &self,
        input: &PaymentHistoryCreate,
    ) -> Result<PaymentHistory, ClientError> {
        self.call(Method::POST, "/payments/histories", Some(input))
            .await
    }

    /// `PATCH /payments/histories/{id}`: a payment by id.
    pub async fn history_at(
        &self,
        id: Uuid,
        password: &str,
    ) -> Result<PaymentHistory, ClientError> {
        let body = PaymentPassword {
            password: password.to_owned(),
        };
        self.call(
            Method::PATCH,
            &format!("/payments/histories/{id}"),
            Some(&body),
        )
        .await
    }

    /// `PATCH /payments/histories/get`: a payment by its source.
    pub async fn history_by_source(
        &self,
        accessor: &PaymentSourceAccessor,
    ) -> Result<PaymentHistory, ClientError> {
        self.call(Method::PATCH, "/payments/histories/get", Some(accessor))
            .await
    }

    /// `PUT /payments/histories/cancel`: cancels all or part of a payment at the PG.
    pub async fn cancel_history(
        &self,
        input: &PaymentCancelCreate,
    ) -> Result<PaymentHistory, ClientError> {
        self.call(Method::PUT, "/payments/histories/cancel", Some(input))
            .await
    }

    /// `PUT /payments/histories/cancel` with an `Idempotency-Key`: sending the same cancel
    /// again under the same key (after a timeout, a 5xx, a lost connection) answers the
    /// first one's outcome and never cancels twice.
    pub async fn cancel_history_once(
        &self,
        input: &PaymentCancelCreate,
        idempotency_key: &str,
    ) -> Result<PaymentHistory, ClientError> {
        self.call_with(
            Method::PUT,
            "/payments/histories/cancel",
            Some(input),
            Some(idempotency_key),
        )
        .await
    }

    /// `POST /payments/reservations`: verifies a billing key at the PG and stores it.
    pub async fn create_reservation(
        &self,
        input: &PaymentReservationCreate,
    ) -> Result<PaymentReservation, ClientError> {
        self.call(Method::POST, "/payments/reservations", Some(input))
            .await
    }

    /// `PATCH /payments/reservations/{id}`: a billing key by id.
    pub async fn reservation_at(
        &self,
        id: Uuid,
        password: &str,
    ) -> Result<PaymentReservation, ClientError> {
        let body = PaymentPassword {
            password: password.to_owned(),
        };
        self.call(
            Method::PATCH,
            &format!("/payments/reservations/{id}"),
            Some(&body),
        )
        .await
    }

    /// `PATCH /payments/reservations/get`: a billing key by its source.
    pub async fn reservation_by_source(
        &self,
        accessor: &PaymentSourceAccessor,
    ) -> Result<PaymentReservation, ClientError> {
        self.call(Method::PATCH, "/payments/reservations/get", Some(accessor))
            .await
    }

    /// `GET /monitors/health`.
    pub async fn health(&self) -> Result<(), ClientError> {
        let response = self
            .http
            .get(format!("{}/monitors/health", self.base))
            .send()
            .await?;
        Self::check(response).await.map(drop)
    }

    /// `GET /monitors/performance`.
    pub async fn performance(&self) -> Result<Performance, ClientError> {
        self.call::<(), _>(Method::GET, "/monitors/performance", None)
            .await
    }

    /// `GET /monitors/system`.
    pub async fn system(&self) -> Result<System, ClientError> {
        self.call::<(), _>(Method::GET, "/monitors/system", None)
            .await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        self.call_with(method, path, body, None).await
    }

    async fn call_with<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<T, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(value) = self.scheme.header_value() {
            request = request.header(SCHEME_HEADER, value);
        }
        if let Some(body) = body {
            let text = self
                .codec
                .encrypt_json_with(self.scheme, body)
                .map_err(|e| ClientError::Decode(DecodeError::Json(e)))?;
            request = request.header("content-type", "text/plain").body(text);
        }
        let text = Self::check(request.send().await?).await?;
        Ok(self.codec.decrypt_json_with(self.scheme, &text)?)
    }

    async fn check(response: reqwest::Response) -> Result<String, ClientError> {
        let status = response.status();
        let text = response.text().await?;
        if status.is_success() {
            return Ok(text);
        }
        let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => (body.code, body.message),
            Err(_) => ("http_error".to_owned(), text),
        };
        Err(ClientError::Api {
            status: status.as_u16(),
            code,
            message,
        })
    }
}

impl PaymentsClient {
    /// `PATCH /payments/histories/webhooks`: the events relayed for a payment, with their
    /// delivery attempts.
    pub async fn webhook_events(
        &self,
        accessor: &PaymentSourceAccessor,
    ) -> Result<Vec<crate::payments::PaymentWebhookEvent>, ClientError> {
        self.call(
            Method::PATCH,
            "/payments/histories/webhooks",
            Some(accessor),
        )
        .await
    }

    /// `PUT /payments/histories/webhooks/redeliver`: sends an event again now.
    pub async fn redeliver_webhook(
        &self,
        input: &crate::payments::PaymentWebhookRedeliver,
    ) -> Result<crate::payments::PaymentWebhookEvent, ClientError> {
        self.call(
            Method::PUT,
            "/payments/histories/webhooks/redeliver",
            Some(input),
        )
        .await
    }
}
