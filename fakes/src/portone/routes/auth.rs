//! `/login/api-secret` and `/token/refresh`: bearer tokens for an API secret.

use axum::Json;
use axum::extract::State;
use payments_api::portone::{LoginViaApiSecretBody, RefreshTokenBody, TokenResponse};

use super::super::FakePortOne;
use super::super::error::PortOneFault;
use super::{PortOneJson, Reply};

/// `POST /login/api-secret`.
pub(in super::super) async fn login(
    State(fake): State<FakePortOne>,
    PortOneJson(input): PortOneJson<LoginViaApiSecretBody>,
) -> Reply<TokenResponse> {
    if !fake.accepts(&input.api_secret) {
        return Err(PortOneFault::unauthorized());
    }
    let (access_token, refresh_token) = fake.issue_tokens(&input.api_secret);
    Ok(Json(TokenResponse {
        access_token,
        refresh_token,
    }))
}

/// `POST /token/refresh`: the refresh token is used up.
pub(in super::super) async fn refresh(
    State(fake): State<FakePortOne>,
    PortOneJson(input): PortOneJson<RefreshTokenBody>,
) -> Reply<TokenResponse> {
    let (access_token, refresh_token) = fake
        .refresh_tokens(&input.refresh_token)
        .ok_or_else(PortOneFault::unauthorized)?;
    Ok(Json(TokenResponse {
        access_token,
        refresh_token,
    }))
}
