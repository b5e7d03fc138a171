//! Middleware every fake has: the journal of requests, the PG's error shape for answers no
//! handler gave, and request ids with tracing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::clock::Clock;
use crate::core::Fake;
use crate::faults::FaultApplied;
use crate::journal::{self, Journal};

/// The largest request body a fake accepts.
pub const MAX_BODY: usize = 1 << 20;

/// The header carrying a request's id, in both directions.
pub const REQUEST_ID: &str = "x-request-id";

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
    /// The PG's answer to a body too large or unreadable.
    pub reject: fn(StatusCode, &str) -> Response,
}

/// Reads the body (at most [`MAX_BODY`] bytes) and records every request with its
/// status, request id, merchant, injected fault and body.
pub async fn record(State(layer): State<JournalLayer>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = request.into_parts();
    let (response, body) = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let kept = journal::Body::keep(&bytes);
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            (response, kept)
        }
        Err(error) if error.is::<LengthLimitError>() => (
            (layer.reject)(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request bodies are limited to {MAX_BODY} bytes"),
            ),
            None,
        ),
        Err(error) => (
            (layer.reject)(
                StatusCode::BAD_REQUEST,
                &format!("the request body could not be read: {error}"),
            ),
            None,
        ),
    };
    layer.journal.request(journal::Request {
        at_ms: layer.clock.now_ms(),
        method,
        path,
        status: response.status().as_u16(),
        request_id,
        merchant: response
            .extensions()
            .get::<MerchantLabel>()
            .map(|m| m.0.clone()),
        fault: response
            .extensions()
            .get::<FaultApplied>()
            .map(|f| f.0.clone()),
        body,
    });
    response
}

/// Gives every error answer the PG's shape: the handlers answer in it already, but what
/// the framework refuses before a handler runs (a wrong method, a body too large, a
/// malformed path or query) comes as plain text or empty.
pub async fn in_pg_shape<F: Fake>(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // The checkout pages' own error pages (HTML) stay as they are.
    if !(status.is_client_error() || status.is_server_error())
        || is_json(response.headers())
        || is_html(response.headers())
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    // The framework's own texts are short; a longer one is cut.
    let text = match Limited::new(body, 1024).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let mut answer = F::reject(status, text.trim());
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Gives every request an id (`x-request-id`, kept if the client sent one, answered in
/// the response) and a tracing span with the fake's name, the method, the matched route
/// and the id.
pub fn traced<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    fake: &'static str,
) -> Router<S> {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(Sequential::new(fake)))
            .layer(
                TraceLayer::new_for_http().make_span_with(move |request: &Request| {
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::debug_span!("request", fake, method = %request.method(), route, id)
                }),
            )
            .layer(PropagateRequestIdLayer::x_request_id()),
    )
}

/// Request ids `toss-1`, `toss-2`, …: unique within a fake, and cheaper than random ones.
#[derive(Debug, Clone)]
struct Sequential {
    fake: &'static str,
    next: Arc<AtomicU64>,
}

impl Sequential {
    fn new(fake: &'static str) -> Self {
        Self {
            fake,
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for Sequential {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.fake))
            .ok()
            .map(RequestId::new)
    }
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
