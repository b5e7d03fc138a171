//! `/metrics`: the Prometheus text format, with labels from a bounded set whatever clients
//! ask for.

mod support;

use support::{Backend, Ctx};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_label_requests_by_declared_route_never_by_the_path_asked() {
    let ctx = Ctx::start(Backend::Sqlite).await;
    let id = uuid::Uuid::new_v4().to_string();
    for path in [
        format!("/payments/histories/{id}"),
        format!("/no/such/route/{id}"),
    ] {
        let _ = ctx
            .http
            .patch(format!("{}{path}", ctx.url))
            .send()
            .await
            .unwrap();
    }
    // A method of the client's own invention is one more `other`.
    let invented = reqwest::Method::from_bytes(format!("X{}", &id[..8]).as_bytes()).unwrap();
    let _ = ctx
        .http
        .request(invented, format!("{}/monitors/health", ctx.url))
        .send()
        .await
        .unwrap();

    let response = ctx
        .http
        .get(format!("{}/metrics", ctx.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            "payments_http_requests_total{route=\"/payments/histories/{id}\",method=\"PATCH\",status=\"400\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "payments_http_requests_total{route=\"unmatched\",method=\"PATCH\",status=\"404\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("payments_http_requests_total{route=\"/monitors/health\",method=\"other\","),
        "{text}"
    );
    assert!(
        !text.contains(&id),
        "a path or method asked for became a label"
    );
    assert!(text.contains("# TYPE payments_http_request_duration_seconds histogram"));
    assert!(text.contains("payments_relay_pending_events 0"), "{text}");
    ctx.finish().await;
}
