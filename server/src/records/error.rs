//! Why an operation on records did not happen, in the records' own terms; the HTTP layer
//! turns each kind into its status and code in one place.

use crate::pg::PgError;

/// Why the PG disagreed (all of them are the client's business, not the server's failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The PG refused the request itself (unknown payment, over-cancel, wrong customer, …).
    Refused,
    /// The PG's amount is not the client's.
    AmountMismatch,
    /// The payment failed at the PG.
    PaymentFailed,
    /// No PG account serves the record's store.
    UnknownStore,
}

/// Why a records operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The input is malformed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An amount that is not a whole, non-negative number of the currency's unit.
    #[error("{0}")]
    InvalidAmount(&'static str),
    /// No such record (what was looked for: `payment`, `billing key`, …).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The password does not open the record.
    #[error("wrong password")]
    WrongPassword,
    /// A record with the same PG id or the same source exists.
    #[error("{0}")]
    Duplicate(&'static str),
    /// A PG notification claims a secret it does not have.
    #[error("{0}")]
    BadSecret(&'static str),
    /// The PG disagrees with the request.
    #[error("{message}")]
    PgRefused { refusal: Refusal, message: String },
    /// The PG failed or answered nonsense.
    #[error("the PG failed: {0}")]
    PgFailed(String),
    /// The PG did not answer in time.
    #[error("the PG did not answer in time")]
    PgTimedOut,
    /// The PG asks to be called later: nothing was done.
    #[error("the PG is busy; retry in {retry_after_s} s")]
    PgUnavailable { retry_after_s: u64 },
    /// The database cannot be reached now: nothing was done.
    #[error("the database is unavailable; retry shortly")]
    DatabaseUnavailable,
    /// Another cancel of the payment is under way; its outcome decides what is left.
    #[error("another cancel of this payment is under way; retry shortly")]
    CancelInProgress,
    /// An `Idempotency-Key` sent again with another request.
    #[error("this Idempotency-Key was used for another cancel of this payment")]
    KeyReused,
    /// The server failed (database, a sealed value that does not open, …); the cause is
    /// for the log, not for the client.
    #[error("internal: {0}")]
    Internal(String),
}

impl RecordError {
    /// A server-side failure with its cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
}

impl From<PgError> for RecordError {
    fn from(error: PgError) -> Self {
        match error {
            PgError::Refused { code, message } => Self::PgRefused {
                refusal: Refusal::Refused,
                message: format!("the PG refused ({code}): {message}"),
            },
            PgError::Mismatch(message) => Self::PgRefused {
                refusal: Refusal::AmountMismatch,
                message,
            },
            PgError::PaymentFailed => Self::PgRefused {
                refusal: Refusal::PaymentFailed,
                message: error.to_string(),
            },
            PgError::Failed(message) => Self::PgFailed(message),
            PgError::Timeout => Self::PgTimedOut,
            PgError::Unavailable { retry_after_s } => Self::PgUnavailable { retry_after_s },
            PgError::UnknownStore { .. } => Self::PgRefused {
                refusal: Refusal::UnknownStore,
                message: error.to_string(),
            },
        }
    }
}

impl From<sqlx::Error> for RecordError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            tracing::warn!(%error, "the database is unavailable");
            return Self::DatabaseUnavailable;
        }
        Self::Internal(format!("database: {error}"))
    }
}
