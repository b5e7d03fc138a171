//! PortOne V2's error answers: a `{type, message}` body, the HTTP status going with the
//! type as the OpenAPI document lists it (`x-portone-status-code` of each `…Error` schema).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payments_api::portone::PortOneError;

/// An error answer of the fake PortOne.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortOneFault {
    pub status: StatusCode,
    pub kind: String,
    pub message: String,
    /// The PG's code and message, for `PG_PROVIDER`.
    pub pg: Option<(String, String)>,
}

impl PortOneFault {
    /// An error of `kind` with its status and a message.
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            status: status_for(kind),
            kind: kind.to_owned(),
            message: message.into(),
            pg: None,
        }
    }

    /// `INVALID_REQUEST` (400) saying what is wrong.
    pub fn invalid(detail: impl std::fmt::Display) -> Self {
        Self::new(
            "INVALID_REQUEST",
            format!("요청된 입력 정보가 유효하지 않습니다: {detail}"),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new("UNAUTHORIZED", "인증 정보가 올바르지 않습니다.")
    }

    pub fn forbidden(store_id: &str) -> Self {
        Self::new(
            "FORBIDDEN",
            format!("상점 {store_id}에 대한 접근 권한이 없습니다."),
        )
    }

    pub fn payment_not_found() -> Self {
        Self::new("PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
    }

    pub fn billing_key_not_found() -> Self {
        Self::new("BILLING_KEY_NOT_FOUND", "빌링키가 존재하지 않습니다.")
    }

    pub fn billing_key_deleted() -> Self {
        Self::new(
            "BILLING_KEY_ALREADY_DELETED",
            "빌링키가 이미 삭제되었습니다.",
        )
    }

    pub fn already_paid() -> Self {
        Self::new("ALREADY_PAID", "결제가 이미 완료되었습니다.")
    }

    /// `PG_PROVIDER` (502): the PG refused, with its own code and message.
    pub fn pg(code: &str, message: &str) -> Self {
        Self {
            pg: Some((code.to_owned(), message.to_owned())),
            ..Self::new(
                "PG_PROVIDER",
                format!("PG사에서 오류를 전달했습니다: {message}"),
            )
        }
    }
}

impl IntoResponse for PortOneFault {
    fn into_response(self) -> Response {
        let (pg_code, pg_message) = match self.pg {
            Some((code, message)) => (Some(code), Some(message)),
            // The schema requires both with `PG_PROVIDER`, injected faults included.
            None if self.kind == "PG_PROVIDER" => (Some(String::new()), Some(String::new())),
            None => (None, None),
        };
        let body = PortOneError {
            kind: self.kind,
            message: Some(self.message),
            pg_code,
            pg_message,
        };
        (self.status, Json(body)).into_response()
    }
}

/// The answer to a request no handler took: `INVALID_REQUEST` with the HTTP status saying
/// why (PortOne documents no type for an unknown route, a wrong method or a body too large).
pub fn reject(status: StatusCode, detail: &str) -> PortOneFault {
    let detail = match status {
        StatusCode::NOT_FOUND => "no such route".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this route does not take this method".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => format!("the body is too large {detail}"),
        _ => detail.to_owned(),
    };
    PortOneFault {
        status,
        ..PortOneFault::invalid(detail)
    }
}

/// Renders an injected fault.
pub fn render(kind: &str, status: Option<u16>, message: Option<&str>) -> Response {
    let mut fault = PortOneFault::new(kind, message.unwrap_or("주입된 오류입니다."));
    if kind == "PG_PROVIDER" {
        fault.pg = Some(("FAKE".to_owned(), fault.message.clone()));
    }
    if let Some(status) = status.and_then(|s| StatusCode::from_u16(s).ok()) {
        fault.status = status;
    }
    fault.into_response()
}

/// The HTTP status of an error type, from the OpenAPI document; 400 for types it does not
/// list.
pub fn status_for(kind: &str) -> StatusCode {
    match kind {
        "UNAUTHORIZED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "PAYMENT_NOT_FOUND"
        | "BILLING_KEY_NOT_FOUND"
        | "BILLING_KEY_NOT_ISSUED"
        | "PAYMENT_SCHEDULE_NOT_FOUND"
        | "WEBHOOK_NOT_FOUND"
        | "CASH_RECEIPT_NOT_FOUND"
        | "CHANNEL_NOT_FOUND" => StatusCode::NOT_FOUND,
        "ALREADY_PAID"
        | "ALREADY_PAID_OR_WAITING"
        | "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"
        | "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"
        | "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT"
        | "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"
        | "MAX_CANCEL_COUNT_REACHED"
        | "PAYMENT_ALREADY_CANCELLED"
        | "PAYMENT_NOT_PAID"
        | "PAYMENT_NOT_WAITING_FOR_DEPOSIT"
        | "BILLING_KEY_ALREADY_DELETED"
        | "PAYMENT_SCHEDULE_ALREADY_EXISTS"
        | "PAYMENT_SCHEDULE_ALREADY_PROCESSED"
        | "PAYMENT_SCHEDULE_ALREADY_REVOKED"
        | "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT"
        | "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT"
        | "INFORMATION_MISMATCH" => StatusCode::CONFLICT,
        "PG_PROVIDER" | "CHANNEL_SPECIFIC" => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_have_the_documents_statuses() {
        assert_eq!(status_for("UNAUTHORIZED"), StatusCode::UNAUTHORIZED);
        assert_eq!(status_for("PAYMENT_NOT_FOUND"), StatusCode::NOT_FOUND);
        assert_eq!(status_for("ALREADY_PAID"), StatusCode::CONFLICT);
        assert_eq!(status_for("PG_PROVIDER"), StatusCode::BAD_GATEWAY);
        assert_eq!(status_for("INVALID_PAYMENT_TOKEN"), StatusCode::BAD_REQUEST);
        assert_eq!(
            status_for("MAX_WEBHOOK_RETRY_COUNT_REACHED"),
            StatusCode::BAD_REQUEST
        );
    }
}
