//! The sandbox's admin API over real HTTP: what a test suite in another language uses.

use payments_api::payments::*;
use payments_harness::Harness;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn order() -> String {
    format!("order-{}", uuid::Uuid::new_v4().simple())
}

/// Calls the admin API (or any URL) and answers the status and the JSON body (null when
/// the body is empty).
async fn call(method: Method, url: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text:?}: {e}"))
    };
    (status, body)
}

async fn get(url: &str) -> (StatusCode, Value) {
    call(Method::GET, url, None).await
}

/// A Toss virtual account stored at the server with the inbox as its webhook, by HTTP
/// through the fake's controls; answers the order and the paymentKey.
async fn stored_virtual_account(harness: &Harness) -> (String, String) {
    let order = order();
    let key = harness.toss().virtual_account(&order, 5000).await.unwrap();
    harness
        .client()
        .create_history(&PaymentHistoryCreate {
            vendor: PaymentVendor {
                code: VendorCode::TossPayments,
                store_id: "shop".into(),
                uid: key.clone(),
            },
            source: PaymentSource {
                schema: "shop".into(),
                table: "orders".into(),
                id: order.clone(),
            },
            webhook_url: harness.inbox().url().to_owned(),
            price: 5000.0,
            password: "secret".into(),
        })
        .await
        .unwrap();
    (order, key)
}

fn toss_auth() -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:", payments_harness::TOSS_SECRET_KEY))
    )
}

async fn deposit(discovery: &Value, payment_key: &str) {
    let url = discovery["fakes"]["toss"]["controls"]["deposit"]["url"]
        .as_str()
        .unwrap()
        .replace("{paymentKey}", payment_key);
    let response = reqwest::Client::new()
        .put(url)
        .header("authorization", toss_auth())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

#[tokio::test]
async fn the_discovery_document_lists_every_url_credential_and_control() {
    let harness = Harness::start().await.unwrap();
    let (status, doc) = get(harness.admin_url()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&doc, harness.discovery());
    assert_eq!(doc["payments"]["url"], harness.payments_url());
    assert_eq!(doc["payments"]["encryption"]["key"], harness.encryption().0);
    assert_eq!(doc["payments"]["webhook_secret"], harness.webhook_secret());
    assert_eq!(doc["inbox"]["url"], harness.inbox().url());
    let (imp_key, imp_secret) = harness.iamport_credentials();
    assert_eq!(doc["fakes"]["iamport"]["credentials"]["imp_key"], imp_key);
    assert_eq!(
        doc["fakes"]["iamport"]["credentials"]["imp_secret"],
        imp_secret
    );
    assert_eq!(
        doc["fakes"]["toss"]["credentials"]["secret_key"],
        payments_harness::TOSS_SECRET_KEY
    );
    // Every GET route listed (without a path parameter) answers 200 with JSON.
    let mut checked = 0;
    for section in [
        &doc["admin"]["routes"],
        &doc["fakes"]["iamport"]["controls"],
        &doc["fakes"]["toss"]["controls"],
    ] {
        for (name, route) in section.as_object().unwrap() {
            let url = route["url"].as_str().unwrap();
            let methods: Vec<&str> = route["methods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap())
                .collect();
            assert!(!methods.is_empty(), "{name}");
            if methods.contains(&"GET")
                && !url.contains('{')
                && !name.starts_with("merchant")
                && !name.ends_with("wait")
            {
                let (status, _) = get(url).await;
                assert_eq!(status, StatusCode::OK, "{name} {url}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} routes checked");
    // What a shop's page needs: each fake's script URLs answer its stand-in SDK.
    let mut scripts = 0;
    for pg in ["iamport", "toss", "portone"] {
        let browser = &doc["fakes"][pg]["browser"];
        for (sdk, url) in browser["scripts"].as_object().unwrap() {
            let response = reqwest::get(url.as_str().unwrap()).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{pg} {sdk}");
            assert_eq!(
                response.headers()["content-type"],
                "text/javascript; charset=utf-8"
            );
            scripts += 1;
        }
    }
    assert_eq!(scripts, 4);
    assert_eq!(
        doc["fakes"]["iamport"]["browser"]["merchant_code"],
        "imp35910035"
    );
    assert_eq!(
        doc["fakes"]["toss"]["browser"]["client_key"],
        "test_ck_ZORzdMaqN3wQd5k6ygr5AkYXQGwy"
    );
    harness.shutdown().await;
}

#[tokio::test]
async fn a_deposit_event_is_read_waited_for_and_cleared() {
    let harness = Harness::start().await.unwrap();
    let admin = harness.admin_url().to_owned();
    let (order, key) = stored_virtual_account(&harness).await;
    let waiter = {
        let url = format!("{admin}/inbox/wait?timeout_ms=10000&source_id={order}");
        tokio::spawn(async move { get(&url).await })
    };
    deposit(harness.discovery(), &key).await;
    let (status, event) = waiter.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["accepted"], true);
    assert_eq!(event["signature_valid"], true);
    assert_eq!(event["answered"], 200);
    assert_eq!(event["event"]["source"]["id"], order);
    assert!(event["event"]["current"]["paid_at"].is_string(), "{event}");
    assert!(event["event"]["previous"]["paid_at"].is_null(), "{event}");
    let id = event["id"].as_str().unwrap();

    // The event stays readable: by id, in the list, and by a second wait.
    let (status, by_id) = get(&format!("{admin}/inbox/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id, event);
    let (_, list) = get(&format!("{admin}/inbox")).await;
    assert_eq!(list["deliveries"].as_array().unwrap(), &vec![event.clone()]);
    assert_eq!(list["last_seq"], event["seq"]);
    let (status, again) = get(&format!("{admin}/inbox/wait?event_id={id}&timeout_ms=0")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, event);
    // `after` skips what was seen.
    let seq = event["seq"].as_u64().unwrap();
    let (status, none) = get(&format!("{admin}/inbox/wait?after={seq}&timeout_ms=50")).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(none["code"], "timeout");
    let (_, list) = get(&format!("{admin}/inbox?after={seq}")).await;
    assert_eq!(list["deliveries"], json!([]));

    let (status, body) = call(Method::DELETE, &format!("{admin}/inbox"), None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (_, list) = get(&format!("{admin}/inbox")).await;
    assert_eq!(list["deliveries"], json!([]));
    let (status, _) = get(&format!("{admin}/inbox/events/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    harness.shutdown().await;
}

#[tokio::test]
async fn a_client_that_is_down_gets_the_event_after_the_clocks_move() {
    let harness = Harness::start().await.unwrap();
    let admin = harness.admin_url().to_owned();
    let (status, body) = call(
        Method::PUT,
        &format!("{admin}/inbox/status"),
        Some(r#"{"status": 503}"#),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": 503})));
    let (order, key) = stored_virtual_account(&harness).await;
    deposit(harness.discovery(), &key).await;

    // The refused delivery is listed, not accepted, and only a wait for refused ones
    // returns it.
    let (status, refused) = get(&format!(
        "{admin}/inbox/wait?accepted=false&source_id={order}"
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    let (_, list) = get(&format!("{admin}/inbox")).await;
    assert_eq!(list["deliveries"][0], refused);
    let (status, _) = get(&format!("{admin}/inbox/wait?timeout_ms=0")).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(refused["answered"], 503, "{list}");
    assert_eq!(refused["accepted"], false);
    assert_eq!(refused["signature_valid"], true);
    assert_eq!(refused["event"]["source"]["id"], order);
    let seq = refused["seq"].as_u64().unwrap();

    let (status, body) = call(Method::DELETE, &format!("{admin}/inbox/status"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": 200})));
    let (status, clocks) = call(
        Method::POST,
        &format!("{admin}/clock"),
        Some(r#"{"minutes": 1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{clocks}");
    assert_eq!(clocks["server"]["offset_seconds"], 60.0);
    assert_eq!(clocks["fakes"]["toss"]["offset_seconds"], 60.0);
    assert_eq!(clocks["fakes"]["iamport"]["offset_seconds"], 60.0);
    assert_eq!(clocks["fakes"]["portone"]["offset_seconds"], 60.0);
    let (status, event) = get(&format!(
        "{admin}/inbox/wait?after={seq}&source_id={order}&timeout_ms=10000"
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["accepted"], true);
    assert_eq!(
        event["id"], refused["id"],
        "the same event, delivered again"
    );
    let (_, read) = get(&format!("{admin}/clock")).await;
    assert_eq!(read, clocks.clone().tap_now(&read));

    // `only` moves just the clocks it names.
    let (status, clocks) = call(
        Method::POST,
        &format!("{admin}/clock"),
        Some(r#"{"seconds": 30, "only": ["server", "portone"]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{clocks}");
    assert_eq!(clocks["server"]["offset_seconds"], 90.0);
    assert_eq!(clocks["fakes"]["portone"]["offset_seconds"], 90.0);
    assert_eq!(clocks["fakes"]["toss"]["offset_seconds"], 60.0);
    assert_eq!(clocks["fakes"]["iamport"]["offset_seconds"], 60.0);
    harness.shutdown().await;
}

/// Clocks read later show later times: compare offsets only.
trait TapNow {
    fn tap_now(self, other: &Value) -> Value;
}

impl TapNow for Value {
    fn tap_now(mut self, other: &Value) -> Value {
        self["server"]["now"] = other["server"]["now"].clone();
        for name in ["toss", "iamport", "portone"] {
            self["fakes"][name]["now"] = other["fakes"][name]["now"].clone();
        }
        self
    }
}

#[tokio::test]
async fn a_reset_forgets_records_fakes_inbox_and_clocks() {
    let harness = Harness::start().await.unwrap();
    let admin = harness.admin_url().to_owned();
    let (order, key) = stored_virtual_account(&harness).await;
    deposit(harness.discovery(), &key).await;
    let (status, _) = get(&format!("{admin}/inbox/wait?source_id={order}")).await;
    assert_eq!(status, StatusCode::OK);
    call(
        Method::PUT,
        &format!("{admin}/inbox/status"),
        Some(r#"{"status": 500}"#),
    )
    .await;
    call(
        Method::POST,
        &format!("{admin}/clock"),
        Some(r#"{"days": 2}"#),
    )
    .await;
    let history = harness
        .client()
        .history_by_source(&PaymentSourceAccessor {
            source: PaymentSource {
                schema: "shop".into(),
                table: "orders".into(),
                id: order.clone(),
            },
            password: "secret".into(),
        })
        .await;
    assert!(history.is_ok(), "{history:?}");

    let (status, body) = call(Method::POST, &format!("{admin}/reset"), None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));

    let history = harness
        .client()
        .history_by_source(&PaymentSourceAccessor {
            source: PaymentSource {
                schema: "shop".into(),
                table: "orders".into(),
                id: order.clone(),
            },
            password: "secret".into(),
        })
        .await;
    assert!(history.is_err(), "the record is gone: {history:?}");
    let toss = &harness.discovery()["fakes"]["toss"]["url"];
    let (status, _) = call(
        Method::GET,
        &format!("{}/v1/payments/{key}", toss.as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no auth header: still an answer"
    );
    let found = harness
        .toss()
        .call(Method::GET, &format!("/v1/payments/{key}"), None)
        .await;
    assert!(found.is_err(), "the fake forgot the payment: {found:?}");
    let (_, list) = get(&format!("{admin}/inbox")).await;
    assert_eq!(list["deliveries"], json!([]));
    assert_eq!(list["answering"], 200);
    let (_, clocks) = get(&format!("{admin}/clock")).await;
    assert_eq!(clocks["server"]["offset_seconds"], 0.0);
    assert_eq!(clocks["fakes"]["toss"]["offset_seconds"], 0.0);

    // The sandbox works on after it: the same order can be stored again.
    let (again, _) = stored_virtual_account(&harness).await;
    assert_ne!(again, order);
    harness.shutdown().await;
}

#[tokio::test]
async fn bad_input_answers_a_json_error() {
    let harness = Harness::start().await.unwrap();
    let admin = harness.admin_url().to_owned();
    let cases: Vec<(Method, String, Option<&str>, StatusCode, &str)> = vec![
        (
            Method::GET,
            format!("{admin}/nothing"),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::GET,
            format!("{admin}/../other"),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            format!("{admin}/clock"),
            Some("{not json"),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            format!("{admin}/clock"),
            Some(r#"{"days": -1}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{admin}/clock"),
            Some(r#"{"weeks": 1}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{admin}/clock"),
            Some(r#"{"days": 100000}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{admin}/clock"),
            Some(r#"[1]"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{admin}/clock"),
            Some(r#"{"seconds": 5, "only": ["sundial"]}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{admin}/clock"),
            Some(r#"{"seconds": 5, "only": []}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{admin}/inbox/events/evt_unknown"),
            None,
            StatusCode::NOT_FOUND,
            "unknown_event",
        ),
        (
            Method::GET,
            format!("{admin}/inbox/wait?timeout_ms=-5"),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{admin}/inbox/wait?timeout_ms=600000"),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{admin}/inbox/wait?color=red"),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{admin}/inbox?after=x"),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            format!("{admin}/inbox/status"),
            Some(r#"{"status": 99}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            format!("{admin}/inbox/status"),
            Some(r#"{"status": "down"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::PUT,
            format!("{admin}/inbox/status"),
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::GET,
            format!("{admin}/reset"),
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::PUT,
            format!("{admin}/clock"),
            Some("{}"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::POST,
            format!("{admin}/inbox"),
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::GET,
            harness.inbox().url().to_owned(),
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (method, url, body, expected, code) in cases {
        let (status, answer) = call(method.clone(), &url, body).await;
        assert_eq!(status, expected, "{method} {url} {body:?}: {answer}");
        assert_eq!(answer["code"], code, "{method} {url} {body:?}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    // Nothing changed.
    let (_, clocks) = get(&format!("{admin}/clock")).await;
    assert_eq!(clocks["server"]["offset_seconds"], 0.0);
    let (_, status) = get(&format!("{admin}/inbox/status")).await;
    assert_eq!(status, json!({"status": 200}));
    harness.shutdown().await;
}

#[tokio::test]
async fn the_rust_harness_moves_the_clocks_and_resets_the_same_way() {
    let harness = Harness::start().await.unwrap();
    harness
        .advance_clocks(std::time::Duration::from_secs(3600))
        .await;
    let (_, clocks) = get(&format!("{}/clock", harness.admin_url())).await;
    assert_eq!(clocks["server"]["offset_seconds"], 3600.0);
    assert_eq!(clocks["fakes"]["iamport"]["offset_seconds"], 3600.0);
    harness.reset().await.unwrap();
    let (_, clocks) = get(&format!("{}/clock", harness.admin_url())).await;
    assert_eq!(clocks["server"]["offset_seconds"], 0.0);
    harness.shutdown().await;
}
