//! `POST /users/getToken`: access tokens.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use payments_api::iamport::IamportUser;

use super::super::FakeIamport;
use super::super::error::IamportFault;
use super::{Reply, ok};

/// JSON or form-encoded key pair: the merchant's token, the same until it nears expiry.
pub(in super::super) async fn get_token(
    State(fake): State<FakeIamport>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply<IamportUser> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("x-www-form-urlencoded"));
    let fields: serde_json::Map<String, serde_json::Value> = if is_form {
        match crate::journal::form_to_json(&String::from_utf8_lossy(&body)) {
            serde_json::Value::Object(fields) => fields,
            _ => serde_json::Map::new(),
        }
    } else {
        serde_json::from_slice(&body).unwrap_or_default()
    };
    let field = |name: &str| fields.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let (Some(imp_key), Some(imp_secret)) = (field("imp_key"), field("imp_secret")) else {
        return Err(IamportFault::invalid(
            "imp_key, imp_secret 파라메터가 누락되었습니다.",
        ));
    };
    let known = fake
        .inner
        .config
        .credentials
        .iter()
        .any(|c| c.imp_key == imp_key && c.imp_secret == imp_secret);
    if !known {
        let mut fault = IamportFault::unauthorized();
        fault.message = "인증에 실패하였습니다. API키와 secret을 확인하세요.".into();
        return Err(fault);
    }
    let (token, expires) = fake.token(&imp_key);
    ok(IamportUser {
        access_token: token,
        now: fake.now_ms() / 1000,
        expired_at: expires / 1000,
    })
}
