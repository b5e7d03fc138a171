//! Error answers of the payments API: clear JSON with a stable code, never a stack trace.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payments_api::payments::ErrorBody;

use crate::records::{RecordError, Refusal};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which a retry may succeed (`Retry-After`), for failures that pass.
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// The same answer, telling the client to retry after `seconds`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// 400: the input is malformed.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// 500, with the cause logged and not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle the request; see its log",
        )
    }
}

impl From<RecordError> for ApiError {
    /// The one place where the records' errors get their status and code.
    fn from(error: RecordError) -> Self {
        let message = error.to_string();
        match error {
            RecordError::InvalidInput(message) => Self::invalid(message),
            RecordError::InvalidAmount(_) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_amount", message)
            }
            RecordError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            RecordError::WrongPassword => {
                Self::new(StatusCode::FORBIDDEN, "wrong_password", message)
            }
            RecordError::Duplicate(_) => Self::new(StatusCode::CONFLICT, "duplicate", message),
            RecordError::BadSecret(_) => Self::new(StatusCode::UNAUTHORIZED, "bad_secret", message),
            RecordError::PgRefused { refusal, .. } => {
                let code = match refusal {
                    Refusal::Refused => "pg_refused",
                    Refusal::AmountMismatch => "amount_mismatch",
                    Refusal::PaymentFailed => "payment_failed",
                    Refusal::UnknownStore => "unknown_store",
                };
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            RecordError::PgFailed(_) => Self::new(StatusCode::BAD_GATEWAY, "pg_failed", message),
            RecordError::PgTimedOut => {
                Self::new(StatusCode::GATEWAY_TIMEOUT, "pg_timeout", message)
            }
            RecordError::PgUnavailable { retry_after_s } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "pg_unavailable", message)
                    .retry_after(retry_after_s)
            }
            RecordError::DatabaseUnavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                message,
            )
            .retry_after(1),
            RecordError::CancelInProgress => {
                Self::new(StatusCode::CONFLICT, "cancel_in_progress", message).retry_after(1)
            }
            RecordError::KeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                message,
            ),
            RecordError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// Gives the answers no handler wrote (the framework's 405 with an empty body, its 413 and
/// other rejections in plain text) the API's JSON error shape, keeping an `Allow` header.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::header::{ALLOW, CONTENT_TYPE};
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    // The framework's own texts are short; a longer one is cut.
    let text = match axum::body::to_bytes(body, 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this route takes another method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the body is too large"),
        s if s.is_client_error() => ("invalid_input", "the request cannot be handled"),
        _ => (
            "internal",
            "the server failed to handle the request; see its log",
        ),
    };
    let message = match text.trim() {
        "" => message.to_owned(),
        detail => format!("{message}: {detail}"),
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    if let Some(allow) = parts.headers.get(ALLOW) {
        answer.headers_mut().insert(ALLOW, allow.clone());
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of records error, with the status and code a client sees for it.
    fn cases() -> Vec<(RecordError, u16, &'static str)> {
        let refused = |refusal| RecordError::PgRefused {
            refusal,
            message: "no".into(),
        };
        vec![
            (RecordError::invalid("bad"), 400, "invalid_input"),
            (RecordError::NotFound("payment"), 404, "not_found"),
            (RecordError::WrongPassword, 403, "wrong_password"),
            (RecordError::Duplicate("twice"), 409, "duplicate"),
            (RecordError::BadSecret("forged"), 401, "bad_secret"),
            (refused(Refusal::Refused), 422, "pg_refused"),
            (refused(Refusal::AmountMismatch), 422, "amount_mismatch"),
            (refused(Refusal::PaymentFailed), 422, "payment_failed"),
            (refused(Refusal::UnknownStore), 422, "unknown_store"),
            (RecordError::PgFailed("down".into()), 502, "pg_failed"),
            (RecordError::PgTimedOut, 504, "pg_timeout"),
            (RecordError::InvalidAmount("0.1"), 400, "invalid_amount"),
            (
                RecordError::PgUnavailable { retry_after_s: 3 },
                503,
                "pg_unavailable",
            ),
            (
                RecordError::DatabaseUnavailable,
                503,
                "database_unavailable",
            ),
            (RecordError::CancelInProgress, 409, "cancel_in_progress"),
            (RecordError::KeyReused, 422, "idempotency_key_reused"),
            (RecordError::internal("disk on fire"), 500, "internal"),
        ]
    }

    /// Which kind an error is; a new kind fails to compile here until it is numbered.
    fn kind(error: &RecordError) -> usize {
        match error {
            RecordError::InvalidInput(_) => 0,
            RecordError::NotFound(_) => 1,
            RecordError::WrongPassword => 2,
            RecordError::Duplicate(_) => 3,
            RecordError::BadSecret(_) => 4,
            RecordError::PgRefused { .. } => 5,
            RecordError::PgFailed(_) => 6,
            RecordError::PgTimedOut => 7,
            RecordError::Internal(_) => 8,
            RecordError::InvalidAmount(_) => 9,
            RecordError::PgUnavailable { .. } => 10,
            RecordError::DatabaseUnavailable => 11,
            RecordError::CancelInProgress => 12,
            RecordError::KeyReused => 13,
        }
    }
    const KINDS: usize = 14;

    #[test]
    fn each_records_error_has_its_status_and_code() {
        let cases = cases();
        let covered: std::collections::BTreeSet<usize> =
            cases.iter().map(|(error, _, _)| kind(error)).collect();
        assert_eq!(covered.len(), KINDS, "every kind of error has a case");
        for (error, status, code) in cases {
            let answer = ApiError::from(error.clone());
            assert_eq!(
                (answer.status.as_u16(), answer.code),
                (status, code),
                "{error:?}"
            );
        }
    }

    #[test]
    fn messages_say_what_happened_and_internal_causes_stay_inside() {
        let answer = ApiError::from(RecordError::NotFound("billing key"));
        assert_eq!(answer.message, "no such billing key");
        let answer = ApiError::from(RecordError::PgRefused {
            refusal: Refusal::AmountMismatch,
            message: "the PG's amount is 1000, not 999".into(),
        });
        assert_eq!(answer.message, "the PG's amount is 1000, not 999");
        let answer = ApiError::from(RecordError::internal("database: connection refused"));
        assert!(!answer.message.contains("database"), "{}", answer.message);
    }
}
