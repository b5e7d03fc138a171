//! Middleware both fakes share.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use http_body_util::BodyExt as _;

use crate::clock::Clock;
use crate::faults::FaultApplied;
use crate::journal::{Journal, RequestRecord};

/// The largest request body a fake accepts.
pub const MAX_BODY: usize = 1 << 20;

/// A response extension naming the merchant a request was authenticated as.
#[derive(Debug, Clone)]
pub struct MerchantLabel(pub String);

/// Shortens a credential for the journal: enough to tell merchants apart, not to use it.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return key.to_owned();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// What the journal middleware needs.
#[derive(Debug, Clone)]
pub struct JournalLayer {
    pub journal: Arc<Journal>,
    pub clock: Arc<Clock>,
}

/// Records every request with its status, merchant, injected fault and JSON body.
pub async fn record(State(layer): State<JournalLayer>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let (parts, body) = request.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return (
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("request bodies are limited to {MAX_BODY} bytes"),
            )
                .into_response();
        }
    };
    let body_json = json_of(&bytes);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    layer.journal.request(RequestRecord {
        seq: 0,
        at: layer
            .clock
            .now()
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        method,
        path,
        status: response.status().as_u16(),
        merchant: response
            .extensions()
            .get::<MerchantLabel>()
            .map(|m| m.0.clone()),
        fault: response
            .extensions()
            .get::<FaultApplied>()
            .map(|f| f.0.clone()),
        body: body_json,
    });
    response
}

fn json_of(bytes: &Bytes) -> Option<serde_json::Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_long_keys_only() {
        assert_eq!(
            mask("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"),
            "test_sk_…YG5R"
        );
        assert_eq!(mask("short"), "short");
    }
}
