//! `POST /users/getToken`: access tokens.

use axum::extract::State;
use payments_api::iamport::IamportUser;
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::FakeIamport;
use super::super::error::IamportFault;
use super::{IamportBody, Reply, ok};

/// `IamportUserAccessor` as the route reads it: either half may be missing, which the
/// real API answers with a message naming both rather than a parse error.
#[derive(Deserialize, ToSchema)]
pub(in super::super) struct KeyPair {
    imp_key: Option<String>,
    imp_secret: Option<String>,
}

/// JSON or form-encoded key pair: the merchant's token, the same until it nears expiry.
pub(in super::super) async fn get_token(
    State(fake): State<FakeIamport>,
    IamportBody(body): IamportBody<KeyPair>,
) -> Reply<IamportUser> {
    let (Some(imp_key), Some(imp_secret)) = (body.imp_key, body.imp_secret) else {
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
