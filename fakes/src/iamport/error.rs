//! I'mport's error answers: the `{code, message, response: null}` envelope with a non-2xx
//! status, so typed clients throw; or, for merchants that ask for it, the real API's habit
//! of answering business refusals with HTTP 200 and a non-zero code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use payments_api::iamport::IamportResponse;

/// An error answer of the fake I'mport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamportFault {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    /// A refusal the real API answers with HTTP 200 and `code != 0`.
    pub business: bool,
}

/// Marks a response carrying a business refusal, for merchants that want it as HTTP 200.
#[derive(Debug, Clone, Copy)]
pub struct BusinessError;

impl IamportFault {
    /// 401: no token, an unknown or expired one.
    pub fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: -1,
            message: "Unauthorized".into(),
            business: false,
        }
    }

    /// 400: a malformed request.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: -1,
            message: message.into(),
            business: false,
        }
    }

    /// 404: no such record.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: -1,
            message: message.into(),
            business: false,
        }
    }

    /// 400: a refusal the real API reports with HTTP 200 and `code` 1 or -1.
    pub fn refused(code: i64, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            business: true,
        }
    }

    /// Like [`not_found`](Self::not_found), for the lookups the real API answers with HTTP
    /// 200 and `code` 1 (cancelling an unknown payment, charging an unknown customer).
    pub fn missing(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: 1,
            message: message.into(),
            business: true,
        }
    }
}

impl IntoResponse for IamportFault {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(IamportResponse::<()>::error(self.code, self.message)),
        )
            .into_response();
        if self.business {
            response.extensions_mut().insert(BusinessError);
        }
        response
    }
}

/// The answer to a request no handler took, in the envelope with `code` -1: the status
/// says why, the message what was wrong.
pub fn reject(status: StatusCode, detail: &str) -> IamportFault {
    let message = match status {
        StatusCode::NOT_FOUND => "요청한 API 를 찾을 수 없습니다.".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => {
            "허용되지 않은 메서드입니다. This route does not take this method.".to_owned()
        }
        StatusCode::PAYLOAD_TOO_LARGE => format!("요청 본문이 너무 큽니다. {detail}"),
        _ if detail.is_empty() => "잘못된 요청입니다.".to_owned(),
        _ => detail.to_owned(),
    };
    IamportFault {
        status,
        code: -1,
        message,
        business: false,
    }
}

/// Renders an injected fault: `code` is the envelope's code (a number; -1 otherwise).
pub fn render(code: &str, status: Option<u16>, message: Option<&str>) -> Response {
    IamportFault {
        status: status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        code: code.trim().parse().unwrap_or(-1),
        message: message
            .unwrap_or("일시적인 오류가 발생했습니다.")
            .to_owned(),
        business: false,
    }
    .into_response()
}
