//! Toss's error answers: a `{code, message}` body with the status Toss uses for the code.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payments_api::toss::TossError;

/// An error answer of the fake Toss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TossFault {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
}

impl TossFault {
    /// An error with `code`'s usual status and message.
    pub fn of(code: &str) -> Self {
        Self {
            status: status_for(code),
            code: Cow::Owned(code.to_owned()),
            message: message_for(code).to_owned(),
        }
    }

    /// An error with `code`'s usual status and a message of its own.
    pub fn with(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: status_for(code),
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }

    /// `INVALID_REQUEST` (400) saying what is wrong.
    pub fn invalid(detail: impl std::fmt::Display) -> Self {
        Self::with("INVALID_REQUEST", format!("잘못된 요청입니다. {detail}"))
    }

    pub fn not_found_payment() -> Self {
        Self::of("NOT_FOUND_PAYMENT")
    }

    pub fn unauthorized() -> Self {
        Self::of("UNAUTHORIZED_KEY")
    }
}

impl IntoResponse for TossFault {
    fn into_response(self) -> Response {
        let body = TossError {
            code: self.code.into_owned(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

/// The answer to a request no handler took: Toss's `NOT_FOUND` for an unknown route,
/// `INVALID_REQUEST` for a malformed one, and for a wrong method or a body too large the
/// HTTP status with a code saying so (Toss documents no code for either).
pub fn reject(status: StatusCode, detail: &str) -> TossFault {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("NOT_FOUND", "요청한 경로를 찾을 수 없습니다.".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "허용되지 않은 메서드입니다. This route does not take this method.".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "REQUEST_TOO_LARGE",
            format!("요청 본문이 너무 큽니다. {detail}"),
        ),
        _ if status.is_server_error() => {
            return TossFault {
                status,
                ..TossFault::of("FAILED_INTERNAL_SYSTEM_PROCESSING")
            };
        }
        _ => {
            return TossFault {
                status,
                ..TossFault::invalid(detail)
            };
        }
    };
    TossFault {
        status,
        code: Cow::Borrowed(code),
        message,
    }
}

/// Renders an injected fault (a fault rule or a `TossPayments-Test-Code`).
pub fn render(code: &str, status: Option<u16>, message: Option<&str>) -> Response {
    let mut fault = TossFault::of(code);
    if let Some(status) = status.and_then(|s| StatusCode::from_u16(s).ok()) {
        fault.status = status;
    }
    if let Some(message) = message {
        fault.message = message.to_owned();
    }
    fault.into_response()
}

/// The HTTP status Toss answers a code with (its error-code reference); 400 for codes it
/// does not list.
pub fn status_for(code: &str) -> StatusCode {
    match code {
        "UNAUTHORIZED_KEY" => StatusCode::UNAUTHORIZED,
        "IDEMPOTENT_REQUEST_PROCESSING" => StatusCode::CONFLICT,
        "REJECT_ACCOUNT_PAYMENT"
        | "REJECT_CARD_PAYMENT"
        | "REJECT_CARD_COMPANY"
        | "FORBIDDEN_REQUEST"
        | "REJECT_TOSSPAY_INVALID_ACCOUNT"
        | "EXCEED_MAX_AUTH_COUNT"
        | "EXCEED_MAX_ONE_DAY_AMOUNT"
        | "NOT_AVAILABLE_BANK"
        | "INVALID_PASSWORD"
        | "INCORRECT_BASIC_AUTH_FORMAT"
        | "FDS_ERROR"
        | "NOT_CANCELABLE_AMOUNT"
        | "FORBIDDEN_CONSECUTIVE_REQUEST"
        | "NOT_CANCELABLE_PAYMENT"
        | "EXCEED_MAX_REFUND_DUE"
        | "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT"
        | "NOT_ALLOWED_PARTIAL_REFUND"
        | "NOT_CANCELABLE_PAYMENT_FOR_DORMANT_USER"
        | "NOT_MATCHES_CUSTOMER_KEY" => StatusCode::FORBIDDEN,
        c if c.starts_with("NOT_FOUND") => StatusCode::NOT_FOUND,
        c if c.starts_with("FAILED_") => StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_PAYMENT_ERROR" | "COMMON_ERROR" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn message_for(code: &str) -> &'static str {
    match code {
        "UNAUTHORIZED_KEY" => "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        "INCORRECT_BASIC_AUTH_FORMAT" => "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.",
        "NOT_FOUND_PAYMENT" => "존재하지 않는 결제 입니다.",
        "NOT_FOUND_PAYMENT_SESSION" => "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
        "NOT_FOUND" => "존재하지 않는 정보 입니다.",
        "ALREADY_PROCESSED_PAYMENT" => "이미 처리된 결제 입니다.",
        "ALREADY_CANCELED_PAYMENT" => "이미 취소된 결제 입니다.",
        "NOT_CANCELABLE_AMOUNT" => "취소 할 수 없는 금액 입니다.",
        "NOT_CANCELABLE_PAYMENT" => "취소 할 수 없는 결제 입니다.",
        "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT" => {
            "입금 대기중인 결제는 부분 환불이 불가합니다."
        }
        "NOT_MATCHES_REFUNDABLE_AMOUNT" => "잔액 결과가 일치하지 않습니다.",
        "INVALID_REFUND_ACCOUNT_INFO" => "환불 계좌번호와 예금주명이 일치하지 않습니다.",
        "INVALID_REFUND_ACCOUNT_NUMBER" => "잘못된 환불 계좌번호입니다.",
        "DUPLICATED_ORDER_ID" => "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.",
        "NOT_MATCHES_CUSTOMER_KEY" => "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.",
        "IDEMPOTENT_REQUEST_PROCESSING" => "이전 멱등 요청이 처리중입니다.",
        "INVALID_CARD_NUMBER" => "카드번호를 다시 확인해주세요.",
        "INVALID_CARD_EXPIRATION" => "카드 정보를 다시 확인해주세요. (유효기간)",
        "REJECT_CARD_COMPANY" => "결제 승인이 거절되었습니다.",
        "REJECT_CARD_PAYMENT" => "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
        "EXCEED_MAX_DAILY_PAYMENT_COUNT" => "하루 결제 가능 횟수를 초과했습니다.",
        "EXCEED_MAX_PAYMENT_AMOUNT" => "하루 결제 가능 금액을 초과했습니다.",
        "INVALID_STOPPED_CARD" => "정지된 카드 입니다.",
        "PROVIDER_ERROR" => "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.",
        "FAILED_INTERNAL_SYSTEM_PROCESSING" => {
            "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요."
        }
        "INVALID_REQUEST" => "잘못된 요청입니다.",
        "INVALID_TRANSACTION_KEY" => "잘못된 페이징 키 입니다.",
        _ => "테스트 코드로 재현한 오류입니다.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_tosss_statuses() {
        assert_eq!(status_for("UNAUTHORIZED_KEY"), StatusCode::UNAUTHORIZED);
        assert_eq!(status_for("NOT_FOUND_PAYMENT"), StatusCode::NOT_FOUND);
        assert_eq!(status_for("NOT_CANCELABLE_AMOUNT"), StatusCode::FORBIDDEN);
        assert_eq!(
            status_for("ALREADY_CANCELED_PAYMENT"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_for("FAILED_INTERNAL_SYSTEM_PROCESSING"),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(status_for("SOMETHING_NEW"), StatusCode::BAD_REQUEST);
    }
}
