//! The OpenAPI documents: the committed files match the code, every server serves its own
//! at `/openapi.json` over HTTP, and every documented route is one the server has.

use std::path::Path;

use payments_harness::Harness;
use payments_harness::openapi;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[test]
fn the_committed_documents_are_the_generated_ones() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi");
    let stale = openapi::stale(&dir);
    assert!(
        stale.is_empty(),
        "the committed OpenAPI documents are out of date:\n  {}\nregenerate them with `{}`",
        stale.join("\n  "),
        openapi::REGENERATE
    );
}

async fn fetch(method: Method, url: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .request(method, url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The documented operations of a document: (method, path).
fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("a path item") {
            if let Ok(method) = method.to_uppercase().parse::<Method>()
                && !["PARAMETERS", "SUMMARY", "DESCRIPTION"].contains(&method.as_str())
            {
                found.push((method, path.clone()));
            }
        }
    }
    found
}

/// Checks that `base` serves the document `name` at `/openapi.json`, that its paths include
/// `known`, and that no documented operation meets the answer the server gives to a route
/// it does not have. Answers how many operations were sent.
async fn check(base: &str, name: &str, known: &[&str]) -> usize {
    let (status, text) = fetch(Method::GET, &format!("{base}/openapi.json")).await;
    assert_eq!(status, StatusCode::OK, "{name}: {text}");
    let served: Value = serde_json::from_str(&text).unwrap();
    let (_, generated) = openapi::documents()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap();
    assert_eq!(
        served,
        serde_json::to_value(&generated).unwrap(),
        "{name}: the served document is the generated one"
    );
    assert_eq!(served["openapi"], "3.1.0");
    for path in known {
        assert!(
            served["paths"].get(*path).is_some(),
            "{name}: {path} is not documented"
        );
    }
    // What the server answers for a route it lacks: the same for two made-up paths.
    let unknown = fetch(Method::GET, &format!("{base}/no-such-route/at-all")).await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND, "{name}: {}", unknown.1);
    assert_eq!(
        unknown,
        fetch(Method::GET, &format!("{base}/another/made-up/route")).await,
        "{name}: the answer to an unknown route depends on the path"
    );
    let operations = operations(&served);
    for (method, path) in &operations {
        let mut url = format!("{base}{}", fill(path));
        if path.ends_with("/wait") {
            // A long poll: the shortest wait is enough to show the route is there.
            url.push_str("?timeout_ms=1");
        }
        let answer = fetch(method.clone(), &url).await;
        assert_ne!(
            answer.0,
            StatusCode::METHOD_NOT_ALLOWED,
            "{name}: {method} {path} is documented but the route takes other methods"
        );
        assert_ne!(
            answer, unknown,
            "{name}: {method} {path} is documented but not served"
        );
    }
    operations.len()
}

/// A path with each `{parameter}` filled in.
fn fill(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str("probe-0");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_server_serves_its_document_and_has_every_documented_route() {
    let harness = Harness::start().await.unwrap();
    let admin_base = harness
        .admin_url()
        .strip_suffix("/admin")
        .unwrap()
        .to_owned();
    let mut sent = 0;
    sent += check(
        harness.payments_url(),
        "payments",
        &[
            "/payments/histories",
            "/payments/histories/{id}",
            "/payments/reservations",
            "/histories",
            "/monitors/health",
        ],
    )
    .await;
    sent += check(
        &admin_base,
        "admin",
        &["/admin", "/admin/inbox", "/admin/clock", "/webhook"],
    )
    .await;
    sent += check(
        harness.toss_url(),
        "toss",
        &[
            "/v1/payments/{paymentKey}",
            "/v1/payments/confirm",
            "/internal/payments",
            "/internal/clock",
        ],
    )
    .await;
    sent += check(
        harness.iamport_url(),
        "iamport",
        &[
            "/users/getToken",
            "/payments/{imp_uid}",
            "/internal/payments",
            "/internal/faults",
        ],
    )
    .await;
    sent += check(
        harness.portone_url(),
        "portone",
        &[
            "/payments/{paymentId}",
            "/billing-keys",
            "/internal/payments/{paymentId}",
            "/internal/journal",
        ],
    )
    .await;
    println!("openapi: {sent} documented operations sent, all served");
    harness.shutdown().await;
}

#[test]
fn the_relayed_event_is_a_webhook_of_the_payments_document() {
    let (_, doc) = openapi::documents()
        .into_iter()
        .find(|(n, _)| *n == "payments")
        .unwrap();
    let doc = serde_json::to_value(&doc).unwrap();
    let event = &doc["webhooks"]["paymentEvent"]["post"];
    assert_eq!(
        event["requestBody"]["content"]["text/plain"]["schema"]["$ref"],
        "#/components/schemas/PaymentWebhook"
    );
    let headers: Vec<&str> = event["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(headers.contains(&"webhook-signature"), "{headers:?}");
    // Every encrypted operation names the header that picks the scheme.
    let create = &doc["paths"]["/payments/histories"]["post"];
    assert!(
        create["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "x-payments-encryption"),
        "{create}"
    );
}

/// Records real answers of the payments API, decrypted, to
/// `$CARGO_TARGET_TMPDIR/openapi-captures/payments.json`: `scripts/openapi-validate
/// --captures` checks them against the document's schemas (CI runs it after the tests).
#[tokio::test]
async fn the_payments_answers_are_recorded_for_the_schema_check() {
    use payments_api::payments::*;
    let harness = Harness::start().await.unwrap();
    let client = harness.client();
    let source = |id: &str| PaymentSource {
        schema: "shop".into(),
        table: "orders".into(),
        id: id.to_owned(),
    };
    let create = |code, uid: String, id: &str, price| PaymentHistoryCreate {
        vendor: PaymentVendor {
            code,
            store_id: "shop".into(),
            uid,
        },
        source: source(id),
        webhook_url: harness.inbox().url().to_owned(),
        price,
        password: "secret".into(),
    };
    let mut captures = Vec::new();
    let mut record = |method: &str, path: &str, status: u16, body: Value| {
        captures.push(serde_json::json!({
            "method": method, "path": path, "status": status, "body": body,
        }));
    };

    let toss_order = format!("order-{}", uuid::Uuid::new_v4().simple());
    let key = harness
        .toss()
        .virtual_account(&toss_order, 5000)
        .await
        .unwrap();
    let toss = client
        .create_history(&create(VendorCode::TossPayments, key, &toss_order, 5000.0))
        .await
        .unwrap();
    record(
        "POST",
        "/payments/histories",
        201,
        serde_json::to_value(&toss).unwrap(),
    );

    let iamport_order = format!("order-{}", uuid::Uuid::new_v4().simple());
    let imp_uid = harness
        .iamport()
        .card_payment(&iamport_order, 20000)
        .await
        .unwrap();
    let iamport = client
        .create_history(&create(
            VendorCode::Iamport,
            imp_uid,
            &iamport_order,
            20000.0,
        ))
        .await
        .unwrap();
    record(
        "POST",
        "/payments/histories",
        201,
        serde_json::to_value(&iamport).unwrap(),
    );
    let cancelled = client
        .cancel_history(&PaymentCancelCreate {
            source: source(&iamport_order),
            password: "secret".into(),
            price: 5000.0,
            reason: "partly".into(),
            account: None,
        })
        .await
        .unwrap();
    assert_eq!(cancelled.cancels.len(), 1);
    record(
        "PUT",
        "/payments/histories/cancel",
        200,
        serde_json::to_value(&cancelled).unwrap(),
    );
    let performance = client.performance().await.unwrap();
    record(
        "GET",
        "/monitors/performance",
        200,
        serde_json::to_value(&performance).unwrap(),
    );
    let system = client.system().await.unwrap();
    record(
        "GET",
        "/monitors/system",
        200,
        serde_json::to_value(&system).unwrap(),
    );

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi-captures");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("payments.json"),
        serde_json::to_vec_pretty(&captures).unwrap(),
    )
    .unwrap();
    harness.shutdown().await;
}
