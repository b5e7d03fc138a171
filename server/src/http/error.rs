//! Error answers of the payments API: clear JSON with a stable code, never a stack trace.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payments_api::payments::ErrorBody;

use crate::pg::PgError;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the input is malformed.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// 403: the password does not open the record.
    pub fn wrong_password() -> Self {
        Self::new(StatusCode::FORBIDDEN, "wrong_password", "wrong password")
    }

    /// 404: no such record.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 409: a record with the same PG id or the same source exists.
    pub fn duplicate(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "duplicate", message)
    }

    /// 422: the PG disagrees with the request.
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
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

impl From<PgError> for ApiError {
    fn from(error: PgError) -> Self {
        match error {
            PgError::Refused { code, message } => {
                Self::refused("pg_refused", format!("the PG refused ({code}): {message}"))
            }
            PgError::Failed(message) => Self::new(
                StatusCode::BAD_GATEWAY,
                "pg_failed",
                format!("the PG failed: {message}"),
            ),
            PgError::Timeout => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                "pg_timeout",
                "the PG did not answer in time",
            ),
            PgError::UnknownStore { .. } => Self::refused("unknown_store", error.to_string()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(format!("database: {error}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}
