//! Answers no handler writes are JSON errors like every other: a wrong method, a body too
//! large.

mod support;

use reqwest::Method;
use serde_json::Value;
use support::{Backend, Ctx};

async fn answer(
    ctx: &Ctx,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> (u16, Value, Option<String>) {
    let response = ctx
        .http
        .request(method, format!("{}{path}", ctx.url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, json, allow)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_and_large_bodies_answer_json() {
    let ctx = Ctx::start(Backend::Sqlite).await;
    for (method, path) in [
        (Method::GET, "/payments/histories"),
        (Method::DELETE, "/payments/histories/cancel"),
        (Method::POST, "/monitors/health"),
        (Method::GET, "/payments/webhooks/toss"),
    ] {
        let (status, body, allow) = answer(&ctx, method.clone(), path, Vec::new()).await;
        assert_eq!(status, 405, "{method} {path}");
        assert_eq!(body["code"], "method_not_allowed", "{method} {path}");
        assert!(allow.is_some(), "{method} {path}: the methods it takes");
    }
    let large = vec![b'x'; 3 << 20];
    let (status, body, _) = answer(&ctx, Method::POST, "/payments/webhooks/toss", large).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("body_too_large"))
    );
    ctx.finish().await;
}
