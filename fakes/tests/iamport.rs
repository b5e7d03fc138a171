//! The fake I'mport over real HTTP on loopback.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use payments_api::iamport::{
    IamportBalanceAmounts, IamportCertification, IamportPayment, IamportPaymentBalance,
    IamportPaymentPage, IamportPaymentStatus, IamportReceipt, IamportResponse, IamportSchedule,
    IamportScheduleStatus, IamportSubscription, IamportUser, IamportWebhook,
};
use payments_fakes::Fake as _;
use payments_fakes::compat::Compat;
use payments_fakes::delivery::{DeliveryMode, PER_ENDPOINT};
use payments_fakes::iamport::{Credentials, FakeIamport, IamportConfig, WebhookFormat};
use serde_json::{Value, json};
use support::{Answer, Api, Receiver, spawn};

const WAIT: Duration = Duration::from_secs(5);

struct Setup {
    /// Authenticated with a token of the default merchant.
    api: Api,
    /// Not authenticated.
    anonymous: Api,
    fake: FakeIamport,
}

fn second_merchant() -> Credentials {
    Credentials {
        imp_key: "imp_other_key".into(),
        imp_secret: "imp_other_secret".into(),
    }
}

async fn start(config: IamportConfig) -> Setup {
    let mut config = config;
    config.credentials.push(second_merchant());
    let fake = FakeIamport::new(config);
    let url = spawn(fake.router()).await;
    let anonymous = Api::new(&url, None);
    let api = login(&anonymous, "test_imp_key", "test_imp_secret").await;
    Setup {
        api,
        anonymous,
        fake,
    }
}

async fn start_default() -> Setup {
    start(IamportConfig::default()).await
}

async fn start_with_receiver() -> (Setup, Receiver) {
    let receiver = Receiver::start().await;
    let setup = start(IamportConfig {
        webhook_url: Some(receiver.url.clone()),
        webhook_mode: DeliveryMode::Sync,
        ..IamportConfig::default()
    })
    .await;
    (setup, receiver)
}

async fn token(anonymous: &Api, key: &str, secret: &str) -> IamportUser {
    let answer = anonymous
        .post(
            "/users/getToken",
            json!({"imp_key": key, "imp_secret": secret}),
        )
        .await;
    let envelope: IamportResponse<IamportUser> =
        serde_json::from_value(answer.ok().clone()).unwrap();
    envelope.response.unwrap()
}

async fn login(anonymous: &Api, key: &str, secret: &str) -> Api {
    let user = token(anonymous, key, secret).await;
    Api {
        auth: Some(user.access_token),
        ..anonymous.clone()
    }
}

/// The envelope's payload of a success.
fn response(answer: &Answer) -> &Value {
    let body = answer.ok();
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["message"], "success");
    &body["response"]
}

/// Asserts an error in I'mport's envelope; returns its message.
fn refused(answer: &Answer, status: u16) -> String {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_ne!(answer.body["code"], 0, "{}", answer.body);
    assert_eq!(answer.body["response"], Value::Null);
    answer.body["message"].as_str().unwrap().to_owned()
}

fn order() -> String {
    format!("order-{}", uuid::Uuid::new_v4().simple())
}

fn onetime(merchant_uid: &str, amount: u32) -> Value {
    json!({
        "card_number": "4092-0230-1234-5678",
        "expiry": "2049-12",
        "birth": "880311",
        "pwd_2digit": "12",
        "merchant_uid": merchant_uid,
        "amount": amount,
        "name": "월간 구독",
        "buyer_name": "홍길동",
        "buyer_email": "gildong@example.com",
    })
}

fn typed(value: &Value) -> IamportPayment {
    serde_json::from_value(value.clone()).expect("the SDK's payment type reads it")
}

async fn paid(api: &Api, amount: u32) -> Value {
    response(
        &api.post("/subscribe/payments/onetime", onetime(&order(), amount))
            .await,
    )
    .clone()
}

fn uid(payment: &Value) -> String {
    payment["imp_uid"].as_str().unwrap().to_owned()
}

async fn vbank(api: &Api, fake: &FakeIamport, amount: u32, due_in: i64) -> Value {
    let due = fake.clock().now().timestamp() + due_in;
    let answer = api
        .post(
            "/vbanks",
            json!({"merchant_uid": order(), "amount": amount, "vbank_code": "088", "vbank_due": due, "vbank_holder": "홍길동"}),
        )
        .await;
    response(&answer).clone()
}

#[tokio::test]
async fn tokens_last_thirty_minutes_and_are_reused() {
    let s = start_default().await;
    let first = token(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    assert_eq!(first.expired_at - first.now, 1800);
    let again = token(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    assert_eq!(again.access_token, first.access_token);

    // Raw and Bearer forms both work.
    let bearer = Api {
        auth: Some(format!("Bearer {}", first.access_token)),
        ..s.anonymous.clone()
    };
    assert_eq!(bearer.get("/payments/imp_000000000000").await.status, 404);

    // In its last minute, asking again extends it by five minutes.
    s.fake
        .advance(chrono::Duration::minutes(29) + chrono::Duration::seconds(30))
        .await;
    let extended = token(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    assert_eq!(extended.access_token, first.access_token);
    assert_eq!(extended.expired_at, first.expired_at + 300);

    s.fake.advance(chrono::Duration::minutes(6)).await;
    let expired = s.api.get("/payments/imp_000000000000").await;
    assert_eq!(refused(&expired, 401), "Unauthorized");
    let fresh = token(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    assert_ne!(fresh.access_token, first.access_token);
}

#[tokio::test]
async fn get_token_takes_form_bodies_and_refuses_bad_keys() {
    let s = start_default().await;
    let form = s
        .anonymous
        .http
        .post(format!("{}/users/getToken", s.anonymous.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("imp_key=test_imp_key&imp_secret=test_imp_secret")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let wrong = s
        .anonymous
        .post(
            "/users/getToken",
            json!({"imp_key": "test_imp_key", "imp_secret": "nope"}),
        )
        .await;
    assert!(refused(&wrong, 401).contains("API키와 secret"));
    let missing = s
        .anonymous
        .post("/users/getToken", json!({"imp_key": "x"}))
        .await;
    assert!(refused(&missing, 400).contains("누락"));
    for auth in [None, Some("not-a-token"), Some("Bearer ")] {
        let api = Api {
            auth: auth.map(str::to_owned),
            ..s.anonymous.clone()
        };
        assert_eq!(
            refused(&api.get("/payments/imp_1").await, 401),
            "Unauthorized"
        );
    }
}

/// A body that does not read, JSON or form, is a 400 in the envelope naming the fault
/// (getToken `consumes` both, v1.openapi.json `/users/getToken`); a missing half of the
/// key pair is named as such, in JSON and in a form alike.
#[tokio::test]
async fn get_token_refuses_a_malformed_body_in_the_envelope() {
    let s = start_default().await;
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    for (content_type, body, expected) in [
        (
            json,
            r#"{"imp_key": "test_imp_key", "#,
            "요청 형식이 올바르지 않습니다: EOF while parsing",
        ),
        (
            json,
            r#"{"imp_key": 1, "imp_secret": "x"}"#,
            "요청 형식이 올바르지 않습니다: invalid type: integer",
        ),
        (
            json,
            r#""text""#,
            "요청 형식이 올바르지 않습니다: invalid type: string",
        ),
        (
            form,
            "imp_key[0]=test_imp_key&imp_secret=test_imp_secret",
            "요청 형식이 올바르지 않습니다: invalid type: sequence",
        ),
        (
            form,
            "imp_key=test_imp_key",
            "imp_key, imp_secret 파라메터가 누락되었습니다.",
        ),
    ] {
        let answer = send_text(
            &s.anonymous,
            reqwest::Method::POST,
            "/users/getToken",
            content_type,
            body,
        )
        .await;
        let message = refused(&answer, 400);
        assert_eq!(answer.body["code"], -1);
        assert!(message.starts_with(expected), "{body}: {message}");
    }
}

#[tokio::test]
async fn merchants_see_only_their_own_data() {
    let s = start_default().await;
    let other = login(&s.anonymous, "imp_other_key", "imp_other_secret").await;
    let payment = paid(&s.api, 1000).await;
    let answer = other.get(&format!("/payments/{}", uid(&payment))).await;
    assert_eq!(refused(&answer, 404), "존재하지 않는 결제정보입니다.");
    // The same merchant_uid is free for the other merchant.
    let again = other
        .post(
            "/subscribe/payments/onetime",
            onetime(payment["merchant_uid"].as_str().unwrap(), 2000),
        )
        .await;
    response(&again);
}

#[tokio::test]
async fn onetime_pays_by_card_in_the_sdks_shape_and_finds_it_every_way() {
    let (s, hooks) = start_with_receiver().await;
    let merchant_uid = order();
    let answer = s
        .api
        .post("/subscribe/payments/onetime", onetime(&merchant_uid, 20000))
        .await;
    assert_eq!(answer.status, 200);
    let payment = response(&answer).clone();
    let IamportPayment::Card(card) = typed(&payment) else {
        panic!("a card payment: {payment}")
    };
    assert_eq!(payment["status"], "paid");
    assert_eq!(payment["pay_method"], "card");
    assert_eq!(card.card_number, "4092-0230-1234-5678");
    assert!(card.base.paid_at > 1_700_000_000 && payment["paid_at"].is_i64());
    assert_eq!(payment["cancel_history"], json!([]));
    assert_eq!(payment["channel"], "api");
    assert!(uid(&payment).starts_with("imp_"));
    let (headers, hook) = hooks.next(WAIT).await;
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        hook,
        json!({"imp_uid": uid(&payment), "merchant_uid": merchant_uid, "status": "paid"})
    );

    let imp_uid = uid(&payment);
    assert_eq!(
        response(&s.api.get(&format!("/payments/{imp_uid}")).await),
        &payment
    );
    assert_eq!(
        response(&s.api.get(&format!("/payments/find/{merchant_uid}")).await),
        &payment
    );
    assert_eq!(
        response(
            &s.api
                .get(&format!("/payments/find/{merchant_uid}/paid"))
                .await
        ),
        &payment
    );
    refused(
        &s.api
            .get(&format!("/payments/find/{merchant_uid}/ready"))
            .await,
        404,
    );
    refused(
        &s.api
            .get(&format!("/payments/find/{merchant_uid}/nonsense"))
            .await,
        400,
    );
    let other = paid(&s.api, 500).await;
    let many = s
        .api
        .get(&format!(
            "/payments?imp_uid[]={imp_uid}&merchant_uid[]={}&imp_uid[]=imp_000000000000",
            other["merchant_uid"].as_str().unwrap()
        ))
        .await;
    // v1.openapi.json, `GET /payments`: 207 when some of the payments asked for were not
    // found, 200 when all were.
    assert_eq!(many.status, 207);
    let list = response(&many).as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    let all = s
        .api
        .get(&format!(
            "/payments?imp_uid[]={imp_uid}&imp_uid[]={}",
            uid(&other)
        ))
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(response(&all).as_array().unwrap().len(), 2);
    refused(
        &s.api.get("/payments?imp_uid[]=imp_000000000000").await,
        404,
    );
    refused(&s.api.get("/payments").await, 400);

    let duplicate = s
        .api
        .post("/subscribe/payments/onetime", onetime(&merchant_uid, 20000))
        .await;
    assert!(refused(&duplicate, 400).contains("merchant_uid"));
}

#[tokio::test]
async fn bad_cards_are_refused_and_magic_numbers_are_declined() {
    let s = start_default().await;
    let mut short = onetime(&order(), 1000);
    short["card_number"] = json!("1234-5678");
    assert!(
        refused(&s.api.post("/subscribe/payments/onetime", short).await, 400).contains("카드번호")
    );
    let mut expired = onetime(&order(), 1000);
    expired["expiry"] = json!("2020-01");
    assert!(
        refused(
            &s.api.post("/subscribe/payments/onetime", expired).await,
            400
        )
        .contains("유효기간")
    );
    let mut no_amount = onetime(&order(), 1000);
    no_amount["amount"] = json!(-1);
    refused(
        &s.api.post("/subscribe/payments/onetime", no_amount).await,
        400,
    );
    let malformed = s
        .api
        .post("/subscribe/payments/onetime", json!({"amount": "x"}))
        .await;
    assert!(refused(&malformed, 400).contains("요청 형식"));

    for (number, reason) in [
        ("4000-0000-0000-0002", "카드사 승인 거절"),
        ("4000000000009995", "잔액 부족"),
    ] {
        let merchant_uid = order();
        let mut declined = onetime(&merchant_uid, 1000);
        declined["card_number"] = json!(number);
        declined["customer_uid"] = json!("never-registered");
        // PortOne V1 (v1.openapi.json, `POST /subscribe/payments/onetime`): a declined
        // card is `code: 0` with a payment whose `status` is `failed`, with `fail_reason`.
        let answer = s.api.post("/subscribe/payments/onetime", declined).await;
        assert_eq!(answer.status, 200);
        let payment = response(&answer);
        assert_eq!(payment["status"], "failed");
        assert!(payment["fail_reason"].as_str().unwrap().contains(reason));
        // The failed payment is on record; the merchant_uid can be paid again.
        let failed = s
            .api
            .get(&format!("/payments/find/{merchant_uid}/failed"))
            .await;
        let failed = response(&failed).clone();
        assert!(failed["fail_reason"].as_str().unwrap().contains(reason));
        assert!(failed["failed_at"].as_i64().unwrap() > 0);
        response(
            &s.api
                .post("/subscribe/payments/onetime", onetime(&merchant_uid, 1000))
                .await,
        );
    }
    refused(
        &s.api.get("/subscribe/customers/never-registered").await,
        404,
    );
}

/// Has the merchant's business errors answered with HTTP 200 (`business_errors_as_200`).
async fn business_errors_as_200(api: &Api) {
    let settings = api
        .put(
            "/internal/merchant",
            Some(json!({"business_errors_as_200": true})),
        )
        .await;
    assert_eq!(response(&settings)["business_errors_as_200"], true);
}

#[tokio::test]
async fn business_errors_can_come_as_http_200_like_the_real_api() {
    let s = start_default().await;
    business_errors_as_200(&s.api).await;
    let answer = s
        .api
        .post(
            "/payments/cancel",
            json!({"imp_uid": "imp_000000000000", "checksum": null, "reason": "x"}),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["code"], 1);
    assert_eq!(answer.body["message"], "취소할 결제건이 존재하지 않습니다.");
    assert_eq!(answer.body["response"], Value::Null);
    // Lookups and auth keep their statuses.
    refused(&s.api.get("/payments/imp_000000000000").await, 404);
    refused(&s.anonymous.get("/payments/imp_000000000000").await, 401);
}

#[tokio::test]
async fn prepared_amounts_are_enforced() {
    let s = start_default().await;
    let merchant_uid = order();
    let prepared = s
        .api
        .post(
            "/payments/prepare",
            json!({"merchant_uid": merchant_uid, "amount": 15000}),
        )
        .await;
    assert_eq!(response(&prepared)["amount"], 15000);
    refused(
        &s.api
            .post(
                "/payments/prepare",
                json!({"merchant_uid": merchant_uid, "amount": 1}),
            )
            .await,
        400,
    );
    let read = s
        .api
        .get(&format!("/payments/prepare/{merchant_uid}"))
        .await;
    assert_eq!(response(&read)["amount"], 15000);
    refused(&s.api.get("/payments/prepare/nothing").await, 404);

    let wrong = s
        .api
        .post("/subscribe/payments/onetime", onetime(&merchant_uid, 14000))
        .await;
    assert!(refused(&wrong, 400).contains("사전 등록된 결제금액"));
    let window = s
        .api
        .post(
            "/internal/payments",
            json!({"merchant_uid": merchant_uid, "amount": 100}),
        )
        .await;
    refused(&window, 400);
    let failed = s.api.get(&format!("/payments/find/{merchant_uid}")).await;
    assert_eq!(response(&failed)["status"], "failed");

    let updated = s
        .api
        .put(
            "/payments/prepare",
            Some(json!({"merchant_uid": merchant_uid, "amount": 14000})),
        )
        .await;
    response(&updated);
    response(
        &s.api
            .post("/subscribe/payments/onetime", onetime(&merchant_uid, 14000))
            .await,
    );
}

#[tokio::test]
async fn cancels_are_partial_or_full_and_over_cancel_changes_nothing() {
    let (s, hooks) = start_with_receiver().await;
    let payment = paid(&s.api, 20000).await;
    hooks.next(WAIT).await;
    let imp_uid = uid(&payment);
    let cancel = |body: Value| {
        let api = s.api.clone();
        async move { api.post("/payments/cancel", body).await }
    };
    let over =
        cancel(json!({"imp_uid": imp_uid, "amount": 20001, "checksum": null, "reason": "x"})).await;
    assert!(refused(&over, 400).contains("잔여 금액"));
    let checksum =
        cancel(json!({"imp_uid": imp_uid, "amount": 100, "checksum": 100, "reason": "x"})).await;
    assert!(refused(&checksum, 400).contains("checksum"));
    let untouched = response(&s.api.get(&format!("/payments/{imp_uid}")).await).clone();
    assert_eq!(untouched["cancel_amount"], 0);
    assert!(hooks.try_next().await.is_none());

    let partial = cancel(
        json!({"imp_uid": imp_uid, "amount": 5000, "checksum": 20000, "reason": "부분 환불", "enable_webhook": true}),
    )
    .await;
    let partial = response(&partial).clone();
    assert_eq!(
        partial["status"], "paid",
        "a partial cancel leaves the payment paid"
    );
    assert_eq!(partial["cancel_amount"], 5000);
    assert_eq!(partial["cancel_reason"], "부분 환불");
    assert!(partial["cancelled_at"].as_i64().unwrap() > 0);
    let history = partial["cancel_history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["amount"], 5000);
    let cancellation_id = history[0]["cancellation_id"].as_str().unwrap().to_owned();
    typed(&partial);
    let (_, hook) = hooks.next(WAIT).await;
    let hook: IamportWebhook = serde_json::from_value(hook).unwrap();
    assert_eq!(
        hook.cancellation_id.as_deref(),
        Some(cancellation_id.as_str())
    );
    assert_eq!(serde_json::to_value(hook.status).unwrap(), "cancelled");

    // By merchant_uid, amount 0 meaning "the rest".
    let rest = cancel(json!({"merchant_uid": payment["merchant_uid"], "amount": 0, "checksum": null, "reason": "전액", "enable_webhook": true})).await;
    let rest = response(&rest).clone();
    assert_eq!(rest["status"], "cancelled");
    assert_eq!(rest["cancel_amount"], 20000);
    assert_eq!(rest["cancel_history"][1]["amount"], 15000);
    hooks.next(WAIT).await;
    let again = cancel(json!({"imp_uid": imp_uid, "checksum": null, "reason": "x"})).await;
    assert_eq!(refused(&again, 400), "이미 전액취소된 주문입니다.");
    let unknown =
        cancel(json!({"imp_uid": "imp_000000000000", "checksum": null, "reason": "x"})).await;
    assert_eq!(refused(&unknown, 404), "취소할 결제건이 존재하지 않습니다.");
    refused(&cancel(json!({"checksum": null, "reason": "x"})).await, 400);
}

/// PortOne V1 (v1.openapi.json, `POST /payments/cancel`, `enable_webhook`): "default
/// false"; a cancel through the API notifies the merchant only when it asks. The
/// `original_webhooks` setting brings back the original fakes' habit of notifying all.
#[tokio::test]
async fn api_cancels_notify_only_with_enable_webhook() {
    let (s, hooks) = start_with_receiver().await;
    let payment = paid(&s.api, 3000).await;
    hooks.next(WAIT).await;
    let cancel = |enable: Option<bool>| {
        let mut body =
            json!({"imp_uid": uid(&payment), "amount": 1000, "checksum": null, "reason": "x"});
        if let Some(enable) = enable {
            body["enable_webhook"] = json!(enable);
        }
        s.api.post("/payments/cancel", body)
    };
    response(&cancel(None).await);
    response(&cancel(Some(false)).await);
    assert!(hooks.try_next().await.is_none());
    response(&cancel(Some(true)).await);
    assert_eq!(hooks.next(WAIT).await.1["status"], "cancelled");
    assert!(hooks.try_next().await.is_none());

    s.api
        .put(
            "/internal/merchant",
            Some(json!({"original_webhooks": true})),
        )
        .await
        .ok();
    let other = paid(&s.api, 3000).await;
    hooks.next(WAIT).await;
    let body = json!({"imp_uid": uid(&other), "checksum": null, "reason": "x"});
    response(&s.api.post("/payments/cancel", body).await);
    assert_eq!(hooks.next(WAIT).await.1["status"], "cancelled");
}

/// The webhook guide ("웹훅 발생 이벤트": "관리자 콘솔에서 결제 취소되었을 때 - cancelled")
/// and the console guide ("관리자 콘솔에서 취소를 하셨을시 … 웹훅 전송"): a cancel from the
/// console always notifies the merchant, whose server did not ask for it; refused as an
/// API cancel is, changing nothing.
#[tokio::test]
async fn a_console_cancel_always_sends_its_webhook() {
    let (s, hooks) = start_with_receiver().await;
    let payment = paid(&s.api, 3000).await;
    hooks.next(WAIT).await;
    let path = format!("/internal/cancel/{}", uid(&payment));
    let part = s
        .api
        .post(&path, json!({"amount": 1000, "reason": "콘솔 부분취소"}))
        .await;
    let part = typed(response(&part));
    assert_eq!(part.base().cancel_amount, 1000.0);
    let (_, hook) = hooks.next(WAIT).await;
    assert_eq!(hook["status"], "cancelled");
    assert_eq!(
        hook["cancellation_id"],
        json!(part.base().cancel_history[0].cancellation_id)
    );
    refused(&s.api.post(&path, json!({"amount": 5000})).await, 400);
    assert!(hooks.try_next().await.is_none(), "a refusal sends nothing");
    let whole = s.api.post(&path, json!({"reason": "콘솔 전액취소"})).await;
    assert_eq!(response(&whole)["status"], "cancelled");
    assert_eq!(hooks.next(WAIT).await.1["status"], "cancelled");
    refused(
        &s.api
            .post("/internal/cancel/imp_000000000000", json!({}))
            .await,
        404,
    );
}

#[tokio::test]
async fn virtual_accounts_are_issued_changed_deposited_and_refunded_to_an_account() {
    let (s, hooks) = start_with_receiver().await;
    let account = vbank(&s.api, &s.fake, 19900, 86_400).await;
    let IamportPayment::VBank(typed_account) = typed(&account) else {
        panic!("a vbank payment")
    };
    assert_eq!(account["status"], "ready");
    assert_eq!(account["paid_at"], 0);
    assert_eq!(typed_account.vbank_name, "신한은행");
    assert_eq!(typed_account.vbank_holder, "홍길동");
    assert_eq!(hooks.next(WAIT).await.1["status"], "ready");
    let imp_uid = uid(&account);

    let ready_cancel = s
        .api
        .post("/payments/cancel", json!({"imp_uid": imp_uid, "checksum": null, "reason": "x", "refund_holder": "a", "refund_bank": "088", "refund_account": "1"}))
        .await;
    assert!(refused(&ready_cancel, 400).contains("DELETE /vbanks"));

    let due = chrono::Utc::now().timestamp() + 2 * 86_400;
    let changed = s
        .api
        .put(
            &format!("/vbanks/{imp_uid}"),
            Some(json!({"amount": 21000, "vbank_due": due})),
        )
        .await;
    let changed = response(&changed).clone();
    assert_eq!(
        (changed["amount"].clone(), changed["vbank_date"].clone()),
        (json!(21000), json!(due))
    );
    let by_body = s
        .api
        .put(
            "/vbanks",
            Some(json!({"imp_uid": imp_uid, "amount": 22000})),
        )
        .await;
    assert_eq!(response(&by_body)["amount"], 22000);
    // A change of the account is not among the real webhook's triggers
    // (developers.portone.io/opi/ko/integration/webhook/readme-v1, "웹훅 호출 시점").
    assert!(hooks.try_next().await.is_none());

    let deposited = s
        .api
        .put(&format!("/internal/deposit/{imp_uid}"), None)
        .await;
    let deposited = response(&deposited).clone();
    assert_eq!(deposited["status"], "paid");
    assert!(deposited["paid_at"].as_i64().unwrap() > 0);
    assert_eq!(hooks.next(WAIT).await.1["status"], "paid");
    refused(
        &s.api.get(&format!("/internal/deposit/{imp_uid}")).await,
        400,
    );
    refused(
        &s.api
            .put(&format!("/vbanks/{imp_uid}"), Some(json!({"amount": 1})))
            .await,
        400,
    );

    let no_account = s
        .api
        .post(
            "/payments/cancel",
            json!({"imp_uid": imp_uid, "checksum": null, "reason": "x"}),
        )
        .await;
    assert!(refused(&no_account, 400).contains("계좌번호, 예금주, 은행명"));
    let refunded = s
        .api
        .post("/payments/cancel", json!({"imp_uid": imp_uid, "checksum": null, "reason": "x", "refund_holder": "홍길동", "refund_bank": "088", "refund_account": "110123456789", "refund_tel": "01012345678"}))
        .await;
    assert_eq!(response(&refunded)["status"], "cancelled");
}

#[tokio::test]
async fn an_unpaid_virtual_account_fails_at_its_deadline_or_is_revoked() {
    let (s, hooks) = start_with_receiver().await;
    let account = vbank(&s.api, &s.fake, 5000, 3600).await;
    hooks.next(WAIT).await;
    let imp_uid = uid(&account);
    s.fake.advance(chrono::Duration::minutes(59)).await;
    // Tokens expire after 30 minutes of fake time: log in again.
    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    assert_eq!(
        response(&api.get(&format!("/payments/{imp_uid}")).await)["status"],
        "ready"
    );
    s.fake.advance(chrono::Duration::minutes(2)).await;
    let expired = response(&api.get(&format!("/payments/{imp_uid}")).await).clone();
    assert_eq!(expired["status"], "failed");
    assert_eq!(expired["fail_reason"], "가상계좌 입금기한 만료");
    // Neither a deadline passing nor a revoke is among the real webhook's triggers
    // (developers.portone.io/opi/ko/integration/webhook/readme-v1, "웹훅 호출 시점").
    assert!(hooks.try_next().await.is_none());
    refused(
        &api.put(&format!("/internal/deposit/{imp_uid}"), None).await,
        400,
    );

    let other = vbank(&api, &s.fake, 5000, 3600).await;
    hooks.next(WAIT).await;
    let revoked = api.delete(&format!("/vbanks/{}", uid(&other))).await;
    assert_eq!(response(&revoked)["status"], "cancelled");
    assert!(hooks.try_next().await.is_none());
    // The original fakes' webhooks, on request.
    api.put(
        "/internal/merchant",
        Some(json!({"original_webhooks": true})),
    )
    .await
    .ok();
    let third = vbank(&api, &s.fake, 5000, 3600).await;
    hooks.next(WAIT).await;
    response(&api.delete(&format!("/vbanks/{}", uid(&third))).await);
    assert_eq!(hooks.next(WAIT).await.1["status"], "cancelled");
    refused(&api.delete(&format!("/vbanks/{}", uid(&other))).await, 400);
    let past = api
        .post(
            "/vbanks",
            json!({"merchant_uid": order(), "amount": 1, "vbank_code": "088", "vbank_due": 1}),
        )
        .await;
    refused(&past, 400);
}

fn card(customer_uid: &str) -> Value {
    json!({
        "customer_uid": customer_uid,
        "card_number": "5365-1012-3456-7540",
        "expiry": "2049-03",
        "birth": "880311",
        "pwd_2digit": "99",
        "customer_name": "홍길동",
        "customer_tel": "01012345678",
        "customr_addr": "서울",
    })
}

#[tokio::test]
async fn billing_keys_are_registered_charged_and_deleted() {
    let (s, hooks) = start_with_receiver().await;
    let customer_uid = format!("customer-{}", uuid::Uuid::new_v4().simple());
    let path = format!("/subscribe/customers/{customer_uid}");
    let registered = s.api.post(&path, card(&customer_uid)).await;
    let key: IamportSubscription = serde_json::from_value(response(&registered).clone()).unwrap();
    assert_eq!(key.customer_uid, customer_uid);
    assert_eq!(key.card_name, "현대카드");
    assert_eq!(key.customer_addr.as_deref(), Some("서울"));
    assert_eq!(
        response(&s.api.get(&path).await)["customer_uid"],
        customer_uid.as_str()
    );

    let again = s
        .api
        .post(
            "/subscribe/payments/again",
            json!({"customer_uid": customer_uid, "merchant_uid": order(), "amount": 9900, "name": "정기 결제"}),
        )
        .await;
    let payment = response(&again).clone();
    assert_eq!(payment["status"], "paid");
    assert_eq!(payment["card_number"], "5365-1012-3456-7540");
    assert_eq!(payment["customer_uid_usage"], "payment");
    assert_eq!(
        payment["buyer_name"], "홍길동",
        "the buyer defaults to the card's customer"
    );
    hooks.next(WAIT).await;
    let stranger = s
        .api
        .post(
            "/subscribe/payments/again",
            json!({"customer_uid": "nobody", "merchant_uid": order(), "amount": 9900, "name": "x"}),
        )
        .await;
    assert_eq!(refused(&stranger, 404), "등록되지 않은 구매자입니다.");

    let deleted = s.api.delete(&path).await;
    assert_eq!(response(&deleted)["customer_uid"], customer_uid.as_str());
    assert!(refused(&s.api.get(&path).await, 404).contains(&customer_uid));
    refused(&s.api.delete(&path).await, 404);

    let mut declined = card(&customer_uid);
    declined["card_number"] = json!("4000-0000-0000-0002");
    refused(&s.api.post(&path, declined).await, 400);

    // onetime with a customer_uid registers the card too.
    let mut with_key = onetime(&order(), 1000);
    with_key["customer_uid"] = json!(customer_uid);
    let first = response(&s.api.post("/subscribe/payments/onetime", with_key).await).clone();
    assert_eq!(first["customer_uid_usage"], "issue");
    response(&s.api.get(&path).await);
}

/// Escrow (v1.openapi.json, the Payment's `escrow`: "에스크로결제 여부"): a payment the
/// window made with `escrow: true` says so.
#[tokio::test]
async fn escrow_is_stored_and_echoed() {
    let s = start_default().await;
    let escrow = s
        .api
        .post(
            "/internal/payments",
            json!({"merchant_uid": order(), "amount": 1000, "escrow": true}),
        )
        .await;
    assert_eq!(response(&escrow)["escrow"], true);
    let imp_uid = uid(response(&escrow));
    assert_eq!(
        response(&s.api.get(&format!("/payments/{imp_uid}")).await)["escrow"],
        true
    );
    assert_eq!(paid(&s.api, 1000).await["escrow"], false);
}

#[tokio::test]
async fn masked_card_numbers_on_request() {
    let s = start_default().await;
    s.api
        .put(
            "/internal/merchant",
            Some(json!({"mask_card_numbers": true})),
        )
        .await
        .ok();
    let payment = paid(&s.api, 1000).await;
    assert_eq!(payment["card_number"], "4092-02**-****-5678");
}

#[tokio::test]
async fn scheduled_payments_run_when_the_clock_reaches_them() {
    let (s, hooks) = start_with_receiver().await;
    let customer_uid = "scheduled-customer";
    response(
        &s.api
            .post(
                &format!("/subscribe/customers/{customer_uid}"),
                card(customer_uid),
            )
            .await,
    );
    let at = chrono::Utc::now().timestamp() + 600;
    let created = s
        .api
        .post(
            "/subscribe/payments/schedule",
            json!({"customer_uid": customer_uid, "schedules": [
                {"merchant_uid": "sub-1", "schedule_at": at, "amount": 9900, "name": "1월"},
                {"merchant_uid": "sub-2", "schedule_at": at + 600, "amount": 9900, "name": "2월"},
                {"merchant_uid": "sub-3", "schedule_at": at + 1200, "amount": 9900}
            ]}),
        )
        .await;
    let schedules: Vec<IamportSchedule> =
        serde_json::from_value(response(&created).clone()).unwrap();
    assert_eq!(schedules.len(), 3);
    assert!(schedules.iter().all(|s| s.imp_uid.is_none()));
    let duplicate = s
        .api
        .post(
            "/subscribe/payments/schedule",
            json!({"customer_uid": customer_uid, "schedules": [{"merchant_uid": "sub-1", "schedule_at": at, "amount": 1}]}),
        )
        .await;
    refused(&duplicate, 400);
    let past = s
        .api
        .post(
            "/subscribe/payments/schedule",
            json!({"customer_uid": customer_uid, "schedules": [{"merchant_uid": "sub-9", "schedule_at": 1, "amount": 1}]}),
        )
        .await;
    refused(&past, 400);
    let unknown = s
        .api
        .post(
            "/subscribe/payments/schedule",
            json!({"customer_uid": "nobody", "schedules": [{"merchant_uid": "sub-9", "schedule_at": at, "amount": 1}]}),
        )
        .await;
    refused(&unknown, 404);
    let revoked = s
        .api
        .post(
            "/subscribe/payments/unschedule",
            json!({"customer_uid": customer_uid, "merchant_uid": ["sub-3"]}),
        )
        .await;
    assert_eq!(response(&revoked)[0]["schedule_status"], "revoked");

    s.fake.advance(chrono::Duration::minutes(11)).await;
    let (_, hook) = hooks.next(WAIT).await;
    assert_eq!(hook["merchant_uid"], "sub-1");
    assert_eq!(hook["status"], "paid");
    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    let executed = response(&api.get("/subscribe/payments/schedule/sub-1").await).clone();
    assert_eq!(executed["schedule_status"], "executed");
    assert_eq!(executed["payment_status"], "paid");
    let imp_uid = executed["imp_uid"].as_str().unwrap();
    let payment = response(&api.get(&format!("/payments/{imp_uid}")).await).clone();
    assert_eq!(payment["customer_uid_usage"], "payment.scheduled");
    assert_eq!(payment["amount"], 9900);
    // `payment_status` follows the payment: `cancelled` once refunded
    // (v1.openapi.json, `ScheduleResultAnnotation.payment_status`).
    let refund = json!({"imp_uid": imp_uid, "reason": "해지"});
    response(&api.post("/payments/cancel", refund).await);
    assert_eq!(
        response(&api.get("/subscribe/payments/schedule/sub-1").await)["payment_status"],
        "cancelled"
    );
    let range = format!("schedule_from={at}&schedule_to={}", at + 1);
    let listed = api
        .get(&format!("/subscribe/payments/schedule?{range}"))
        .await;
    assert_eq!(response(&listed)[0]["payment_status"], "cancelled");
    assert_eq!(
        response(&api.get("/subscribe/payments/schedule/sub-2").await)["schedule_status"],
        "scheduled"
    );

    s.fake.advance(chrono::Duration::minutes(30)).await;
    assert_eq!(hooks.next(WAIT).await.1["merchant_uid"], "sub-2");
    assert!(
        hooks.try_next().await.is_none(),
        "the revoked schedule never ran"
    );
    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    let nothing = api
        .post(
            "/subscribe/payments/unschedule",
            json!({"customer_uid": customer_uid}),
        )
        .await;
    assert_eq!(
        refused(&nothing, 400),
        "취소할 예약결제 기록이 존재하지 않습니다."
    );
    refused(&api.get("/subscribe/payments/schedule/nothing").await, 404);
}

/// Schedules listed by time range, status and customer, as v1.openapi.json describes
/// "결제예약 복수조회" (`GET /subscribe/payments/schedule`: `schedule_from` <= `schedule_at`
/// < `schedule_to`, both required; `schedule_status`; `page`; `limit` up to 1,000, default
/// 20; `sorting=scheduled` oldest first, newest first by default) and "결제예약
/// 복수조회(빌링키)" (`GET /subscribe/payments/schedule/customers/{customer_uid}`: `from`,
/// `to`, `schedule-status`, `page`); both answer `response` as an array of schedules
/// (`ScheduleResponse`).
#[tokio::test]
async fn schedules_are_listed_by_time_range_status_and_customer() {
    let s = start_default().await;
    for customer in ["list-a", "list-b"] {
        response(
            &s.api
                .post(&format!("/subscribe/customers/{customer}"), card(customer))
                .await,
        );
    }
    let at = chrono::Utc::now().timestamp() + 3600;
    let schedule = |customer: &str, uid: &str, offset: i64| json!({"customer_uid": customer, "schedules": [{"merchant_uid": uid, "schedule_at": at + offset, "amount": 1000}]});
    for (customer, uid, offset) in [
        ("list-a", "a-1", 0),
        ("list-b", "b-1", 30),
        ("list-a", "a-2", 60),
        ("list-a", "a-3", 120),
    ] {
        response(
            &s.api
                .post(
                    "/subscribe/payments/schedule",
                    schedule(customer, uid, offset),
                )
                .await,
        );
    }
    response(
        &s.api
            .post(
                "/subscribe/payments/unschedule",
                json!({"merchant_uid": ["a-3"]}),
            )
            .await,
    );
    let uids = |answer: &Answer| -> Vec<String> {
        response(answer)
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["merchant_uid"].as_str().unwrap().to_owned())
            .collect()
    };
    let range = format!("schedule_from={at}&schedule_to={}", at + 121);
    let all = s
        .api
        .get(&format!("/subscribe/payments/schedule?{range}"))
        .await;
    assert_eq!(uids(&all), ["a-3", "a-2", "b-1", "a-1"], "newest first");
    let page = s
        .api
        .get(&format!(
            "/subscribe/payments/schedule?{range}&sorting=scheduled&limit=2&page=2"
        ))
        .await;
    assert_eq!(uids(&page), ["a-2", "a-3"]);
    let until = s
        .api
        .get(&format!(
            "/subscribe/payments/schedule?schedule_from={at}&schedule_to={}",
            at + 60
        ))
        .await;
    assert_eq!(uids(&until), ["b-1", "a-1"], "`schedule_to` is exclusive");
    let revoked = s
        .api
        .get(&format!(
            "/subscribe/payments/schedule?{range}&schedule_status=revoked"
        ))
        .await;
    assert_eq!(uids(&revoked), ["a-3"]);
    assert_eq!(response(&revoked)[0]["schedule_status"], "revoked");
    let customer = s
        .api
        .get(&format!(
            "/subscribe/payments/schedule/customers/list-a?from={at}&to={}&schedule-status=scheduled",
            at + 121
        ))
        .await;
    assert_eq!(uids(&customer), ["a-2", "a-1"]);
    // "빌링키 결제예약 조회": the same under `/subscribe/customers/{customer_uid}/schedules`.
    let alias = s
        .api
        .get(&format!(
            "/subscribe/customers/list-a/schedules?from={at}&to={}&schedule-status=scheduled",
            at + 121
        ))
        .await;
    assert_eq!(uids(&alias), ["a-2", "a-1"]);
    let other = s
        .api
        .get(&format!(
            "/subscribe/payments/schedule/customers/list-b?from={at}&to={}",
            at + 121
        ))
        .await;
    assert_eq!(uids(&other), ["b-1"]);

    // The range is required; paging is bounded.
    refused(&s.api.get("/subscribe/payments/schedule").await, 400);
    refused(
        &s.api
            .get("/subscribe/payments/schedule/customers/list-a")
            .await,
        400,
    );
    refused(
        &s.api
            .get(&format!("/subscribe/payments/schedule?{range}&limit=1001"))
            .await,
        400,
    );
    refused(
        &s.api
            .get(&format!("/subscribe/payments/schedule?{range}&page=0"))
            .await,
        400,
    );
}

/// Asserts that the schedule `merchant_uid` can be neither rescheduled (to `schedule_at`)
/// nor retried: a schedule still waiting, or one executed and paid, is a 400 to both.
async fn neither_rescheduled_nor_retried(api: &Api, merchant_uid: &str, schedule_at: i64) {
    let path = format!("/subscribe/payments/schedule/{merchant_uid}");
    let reschedule = json!({"schedule_at": schedule_at});
    refused(
        &api.post(&format!("{path}/reschedule"), reschedule).await,
        400,
    );
    refused(&api.post(&format!("{path}/retry"), json!({})).await, 400);
}

/// Changing schedules as v1.openapi.json has it: "결제요청 예약시각 수정" (`PUT
/// /subscribe/payments/schedule/{merchant_uid}`: a waiting schedule only; 400 for one
/// executed or revoked or a time in the past, 404 for none), "결제 실패 재예약" (`POST
/// …/reschedule`: a failed or revoked schedule waits again; 400 for one not yet executed or
/// paid) and "결제 실패 재시도" (`POST …/retry`: charged at once, `PaymentResponse` whether
/// paid or failed; 404 for no schedule or no billing key).
#[tokio::test]
async fn schedules_are_moved_rescheduled_and_retried_after_a_failure() {
    let (s, hooks) = start_with_receiver().await;
    let customer = "/subscribe/customers/resched";
    response(&s.api.post(customer, card("resched")).await);
    let at = s.fake.clock().now().timestamp() + 600;
    let entry = |uid: &str, at: i64| json!({"merchant_uid": uid, "schedule_at": at, "amount": 9900, "name": "구독"});
    response(
        &s.api
            .post(
                "/subscribe/payments/schedule",
                json!({"customer_uid": "resched", "schedules": [
                    entry("move-1", at), entry("fail-1", at), entry("revoke-1", at + 600)
                ]}),
            )
            .await,
    );
    let moved = s
        .api
        .put(
            "/subscribe/payments/schedule/move-1",
            Some(json!({"schedule_at": at + 3600})),
        )
        .await;
    let moved: IamportSchedule = serde_json::from_value(response(&moved).clone()).unwrap();
    assert_eq!(moved.schedule_at, at + 3600);
    assert_eq!(moved.schedule_status, IamportScheduleStatus::Scheduled);
    let past = json!({"schedule_at": at - 3600});
    refused(
        &s.api
            .put("/subscribe/payments/schedule/move-1", Some(past))
            .await,
        400,
    );
    refused(
        &s.api
            .put(
                "/subscribe/payments/schedule/nothing",
                Some(json!({"schedule_at": at})),
            )
            .await,
        404,
    );
    neither_rescheduled_nor_retried(&s.api, "move-1", at + 60).await;
    response(
        &s.api
            .post(
                "/subscribe/payments/unschedule",
                json!({"merchant_uid": ["revoke-1"]}),
            )
            .await,
    );
    // The key is deleted: `fail-1` fails at its time; `move-1` waits for its new one.
    response(&s.api.delete(customer).await);
    s.fake.advance(chrono::Duration::minutes(11)).await;
    let (_, hook) = hooks.next(WAIT).await;
    assert_eq!(
        (&hook["merchant_uid"], &hook["status"]),
        (&json!("fail-1"), &json!("failed"))
    );
    assert!(hooks.try_next().await.is_none(), "move-1 did not run");
    refused(
        &s.api
            .put(
                "/subscribe/payments/schedule/fail-1",
                Some(json!({"schedule_at": at + 7200})),
            )
            .await,
        400,
    );
    let no_key = s
        .api
        .post("/subscribe/payments/schedule/fail-1/retry", json!({}))
        .await;
    refused(&no_key, 404);

    // With a new key, the failed schedule is charged at once, answered as a payment.
    response(&s.api.post(customer, card("resched")).await);
    let retried = s
        .api
        .post("/subscribe/payments/schedule/fail-1/retry", json!({}))
        .await;
    let payment = typed(response(&retried));
    assert_eq!(payment.base().status, IamportPaymentStatus::Paid);
    assert_eq!(payment.base().merchant_uid, "fail-1");
    assert_eq!(hooks.next(WAIT).await.1["status"], "paid");
    let executed = response(&s.api.get("/subscribe/payments/schedule/fail-1").await).clone();
    assert_eq!(executed["schedule_status"], "executed");
    assert_eq!(executed["payment_status"], "paid");
    assert_eq!(executed["imp_uid"], json!(payment.base().imp_uid));
    neither_rescheduled_nor_retried(&s.api, "fail-1", at + 7200).await;

    // The revoked schedule waits again, as a new one does.
    let again = s
        .api
        .post(
            "/subscribe/payments/schedule/revoke-1/reschedule",
            json!({"schedule_at": at + 7200}),
        )
        .await;
    let again = response(&again).clone();
    assert_eq!(again["schedule_status"], "scheduled");
    assert_eq!(again["schedule_at"], at + 7200);
    assert_eq!(again["revoked_at"], 0);
    // Empty, not null: v1.openapi.json `#/definitions/ScheduleResultAnnotation` types it
    // as a string.
    assert_eq!(again["imp_uid"], "");
    assert_eq!(again["payment_status"], "");
    refused(
        &s.api
            .post("/subscribe/payments/schedule/nothing/retry", json!({}))
            .await,
        404,
    );

    s.fake.advance(chrono::Duration::hours(1)).await;
    let (_, hook) = hooks.next(WAIT).await;
    assert_eq!(
        (&hook["merchant_uid"], &hook["status"]),
        (&json!("move-1"), &json!("paid"))
    );
    s.fake.advance(chrono::Duration::hours(1)).await;
    let (_, hook) = hooks.next(WAIT).await;
    assert_eq!(
        (&hook["merchant_uid"], &hook["status"]),
        (&json!("revoke-1"), &json!("paid"))
    );
    assert!(hooks.try_next().await.is_none());
}

/// A card short of funds registers as a billing key (registering charges nothing) and its
/// charges fail: a scheduled one with the `failed` webhook ("예약결제가 시도되었을 때 -
/// paid or failed") and `fail_reason`, `again` with `code: 0` and the failed payment. Once
/// a good card replaces it, "결제 실패 재시도" (`POST …/retry`) pays the failed schedule.
#[tokio::test]
async fn a_key_short_of_funds_fails_its_schedule_until_a_new_card_and_a_retry() {
    let (s, hooks) = start_with_receiver().await;
    let customer = "/subscribe/customers/short";
    let mut short = card("short");
    short["card_number"] = json!("4000-0000-0000-9995");
    response(&s.api.post(customer, short).await);
    let again = s
        .api
        .post(
            "/subscribe/payments/again",
            json!({"customer_uid": "short", "merchant_uid": order(), "amount": 9900, "name": "구독"}),
        )
        .await;
    let declined = typed(response(&again));
    assert_eq!(declined.base().status, IamportPaymentStatus::Failed);
    assert!(
        hooks.try_next().await.is_none(),
        "a declined charge sends nothing"
    );
    let at = s.fake.clock().now().timestamp() + 600;
    response(
        &s.api
            .post(
                "/subscribe/payments/schedule",
                json!({"customer_uid": "short", "schedules": [
                    {"merchant_uid": "short-1", "schedule_at": at, "amount": 9900, "name": "구독"}
                ]}),
            )
            .await,
    );
    s.fake.advance(chrono::Duration::minutes(11)).await;
    let (_, hook) = hooks.next(WAIT).await;
    assert_eq!(
        (&hook["merchant_uid"], &hook["status"]),
        (&json!("short-1"), &json!("failed"))
    );
    let executed = response(&s.api.get("/subscribe/payments/schedule/short-1").await).clone();
    assert_eq!(executed["payment_status"], "failed");
    assert_eq!(executed["fail_reason"], "[4004] 잔액 부족");

    response(&s.api.post(customer, card("short")).await);
    let retried = s
        .api
        .post("/subscribe/payments/schedule/short-1/retry", json!({}))
        .await;
    assert_eq!(
        typed(response(&retried)).base().status,
        IamportPaymentStatus::Paid
    );
    assert_eq!(hooks.next(WAIT).await.1["status"], "paid");
    let mut declined = card("refused");
    declined["card_number"] = json!("4000-0000-0000-0002");
    refused(
        &s.api.post("/subscribe/customers/refused", declined).await,
        400,
    );
}

/// v1.openapi.json, "결제 상세내역 조회" (`GET /payments/{imp_uid}/balance`,
/// `PaymentBalanceResponseAnnotation`): the amount, and by kind (`cash_receipt`, `primary`,
/// `secondary`, `discount`) the tax-free, supply, VAT and service parts after refunds, with
/// one history entry per change; 404 for an unknown imp_uid.
#[tokio::test]
async fn a_payments_balance_splits_its_amount_and_lists_each_change() {
    let s = start_default().await;
    let payment = paid(&s.api, 11000).await;
    let imp_uid = uid(&payment);
    let path = format!("/payments/{imp_uid}/balance");
    let read = |answer: &Answer| -> IamportPaymentBalance {
        serde_json::from_value(response(answer).clone()).unwrap()
    };
    let balance = read(&s.api.get(&path).await);
    assert_eq!(balance.amount, 11000.0);
    assert_eq!(
        (balance.primary.supply, balance.primary.vat),
        (10000.0, 1000.0)
    );
    assert_eq!(balance.primary.tax_free + balance.primary.service, 0.0);
    assert_eq!(balance.cash_receipt, IamportBalanceAmounts::default());
    assert_eq!(balance.histories.len(), 1);
    assert_eq!(
        balance.histories[0].created,
        payment["paid_at"].as_i64().unwrap()
    );

    let cancel = json!({"imp_uid": imp_uid, "amount": 1100, "reason": "부분 환불"});
    response(&s.api.post("/payments/cancel", cancel).await);
    response(
        &s.api
            .post(
                &format!("/receipts/{imp_uid}"),
                json!({"identifier": "01012345678", "identifier_type": "phone"}),
            )
            .await,
    );
    let balance = read(&s.api.get(&path).await);
    assert_eq!(balance.amount, 11000.0, "the amount paid at first");
    assert_eq!(
        (balance.primary.supply, balance.primary.vat),
        (9000.0, 900.0)
    );
    assert_eq!(
        (balance.cash_receipt.supply, balance.cash_receipt.vat),
        (9000.0, 900.0)
    );
    assert_eq!(balance.histories.len(), 2);
    let refund = &balance.histories[1].primary;
    assert_eq!((refund.supply, refund.vat), (-1000.0, -100.0));

    let account = vbank(&s.api, &s.fake, 5000, 3600).await;
    let waiting = read(
        &s.api
            .get(&format!("/payments/{}/balance", uid(&account)))
            .await,
    );
    assert_eq!(waiting.amount, 5000.0);
    assert_eq!(
        waiting.primary,
        IamportBalanceAmounts::default(),
        "nothing paid yet"
    );
    assert!(waiting.histories.is_empty());
    refused(&s.api.get("/payments/imp_000000000000/balance").await, 404);
}

/// PortOne V1 (v1.openapi.json): `DELETE /subscribe/customers/{customer_uid}` deletes a key
/// with schedules waiting; a schedule that fires later makes a failed payment, announced
/// as the webhook guide says ("예약결제가 시도되었을 때 - paid or failed").
/// `POST /subscribe/payments/unschedule` takes `customer_uid` optionally ("누락될 경우
/// merchant_uid들에 해당하는 결제예약정보를 일괄취소").
#[tokio::test]
async fn a_deleted_key_fails_its_schedules_and_unschedule_needs_no_customer() {
    let (s, hooks) = start_with_receiver().await;
    let at = chrono::Utc::now().timestamp() + 600;
    for customer_uid in ["deleted-customer", "other-customer"] {
        response(
            &s.api
                .post(
                    &format!("/subscribe/customers/{customer_uid}"),
                    card(customer_uid),
                )
                .await,
        );
        let merchant_uid = format!("{customer_uid}-1");
        response(
            &s.api
                .post(
                    "/subscribe/payments/schedule",
                    json!({"customer_uid": customer_uid, "schedules": [
                        {"merchant_uid": merchant_uid, "schedule_at": at, "amount": 9900, "name": "1월"},
                        {"merchant_uid": format!("{customer_uid}-2"), "schedule_at": at, "amount": 9900}
                    ]}),
                )
                .await,
        );
    }
    let deleted = s.api.delete("/subscribe/customers/deleted-customer").await;
    assert_eq!(response(&deleted)["customer_uid"], "deleted-customer");
    // Without a customer_uid: the named schedules, whoever's they are.
    let revoked = s
        .api
        .post(
            "/subscribe/payments/unschedule",
            json!({"merchant_uid": ["other-customer-1", "other-customer-2", "deleted-customer-2"]}),
        )
        .await;
    let revoked = response(&revoked).as_array().unwrap().clone();
    assert_eq!(revoked.len(), 3);
    assert!(revoked.iter().all(|r| r["schedule_status"] == "revoked"));
    let nothing = s
        .api
        .post("/subscribe/payments/unschedule", json!({}))
        .await;
    refused(&nothing, 400);

    s.fake.advance(chrono::Duration::minutes(11)).await;
    let (_, hook) = hooks.next(WAIT).await;
    assert_eq!(hook["merchant_uid"], "deleted-customer-1");
    assert_eq!(hook["status"], "failed");
    assert!(
        hooks.try_next().await.is_none(),
        "revoked schedules never ran"
    );
    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    let executed = response(
        &api.get("/subscribe/payments/schedule/deleted-customer-1")
            .await,
    )
    .clone();
    assert_eq!(executed["payment_status"], "failed");
    let imp_uid = executed["imp_uid"].as_str().unwrap();
    let payment = response(&api.get(&format!("/payments/{imp_uid}")).await).clone();
    assert_eq!(payment["status"], "failed");
    assert!(payment["fail_reason"].as_str().unwrap().contains("빌링키"));
    assert_eq!(payment["amount"], 9900);
}

/// v1.openapi.json, `GET /payments/find/{merchant_uid}/{payment_status}`: `sorting` picks
/// which of an order's payments comes first (`-started` by default).
#[tokio::test]
async fn find_sorts_the_payments_of_an_order() {
    let s = start_default().await;
    let merchant_uid = order();
    let mut declined = onetime(&merchant_uid, 1000);
    declined["card_number"] = json!("4000-0000-0000-0002");
    let failed = response(&s.api.post("/subscribe/payments/onetime", declined).await).clone();
    s.fake.advance(chrono::Duration::seconds(5)).await;
    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    let paid = response(
        &api.post("/subscribe/payments/onetime", onetime(&merchant_uid, 1000))
            .await,
    )
    .clone();
    let first = |query: &'static str| {
        let api = api.clone();
        let path = format!("/payments/find/{merchant_uid}{query}");
        async move { response(&api.get(&path).await)["imp_uid"].clone() }
    };
    assert_eq!(first("").await, paid["imp_uid"]);
    assert_eq!(first("?sorting=-started").await, paid["imp_uid"]);
    assert_eq!(first("?sorting=started").await, failed["imp_uid"]);
    assert_eq!(first("?sorting=paid").await, failed["imp_uid"]);
    assert_eq!(first("?sorting=-paid").await, paid["imp_uid"]);
    assert_eq!(first("/failed?sorting=-started").await, failed["imp_uid"]);
    refused(
        &api.get(&format!("/payments/find/{merchant_uid}?sorting=amount"))
            .await,
        400,
    );
}

#[tokio::test]
async fn certifications_confirm_with_the_otp_once() {
    let s = start_default().await;
    let requested = s
        .api
        .post(
            "/certifications/otp/request",
            json!({"name": "홍길동", "phone": "010-1234-5678", "birth": "19880311", "gender_digit": "1", "carrier": "SKT"}),
        )
        .await;
    let imp_uid = response(&requested)["imp_uid"].as_str().unwrap().to_owned();
    let path = format!("/certifications/{imp_uid}");
    let pending: IamportCertification =
        serde_json::from_value(response(&s.api.get(&path).await).clone()).unwrap();
    assert!(!pending.certified);
    assert_eq!(pending.birthday, "19880311");
    assert_eq!(pending.phone, "01012345678");
    let otp = pending.otp.clone().unwrap();
    assert_eq!(otp.len(), 6);

    let confirm = format!("/certifications/otp/confirm/{imp_uid}");
    refused(&s.api.post(&confirm, json!({"otp": "000000x"})).await, 400);
    let confirmed = s.api.post(&confirm, json!({"otp": otp})).await;
    let confirmed = response(&confirmed).clone();
    assert_eq!(confirmed["certified"], true);
    assert!(confirmed["certified_at"].as_i64().unwrap() > 0);
    refused(&s.api.post(&confirm, json!({"otp": otp})).await, 400);
    response(&s.api.delete(&path).await);
    refused(&s.api.get(&path).await, 404);
    // PortOne V1 (v1.openapi.json, `POST /certifications/otp/request`): `birth` is
    // `YYMMDD`, symbols ignored; the century follows `gender_digit` (3 and 4: 2000s).
    for (birth, digit, birthday) in [
        ("880311", "1", "19880311"),
        ("88-03-11", "2", "19880311"),
        ("050311", "3", "20050311"),
    ] {
        let requested = s
            .api
            .post(
                "/certifications/otp/request",
                json!({"name": "홍길동", "phone": "01012345678", "birth": birth, "gender_digit": digit, "carrier": "KT"}),
            )
            .await;
        let imp_uid = response(&requested)["imp_uid"].as_str().unwrap().to_owned();
        let read = s.api.get(&format!("/certifications/{imp_uid}")).await;
        assert_eq!(response(&read)["birthday"], birthday, "{birth}");
    }
    for birth in ["8803", "881311", "1988031"] {
        let bad_birth = s
            .api
            .post(
                "/certifications/otp/request",
                json!({"name": "홍길동", "phone": "01012345678", "birth": birth, "gender_digit": "1", "carrier": "KT"}),
            )
            .await;
        refused(&bad_birth, 400);
    }
}

#[tokio::test]
async fn cash_receipts_are_issued_for_paid_payments_and_cancelled() {
    let s = start_default().await;
    let payment = paid(&s.api, 11000).await;
    let imp_uid = uid(&payment);
    s.api
        .post(
            "/payments/cancel",
            json!({"imp_uid": imp_uid, "amount": 1100, "checksum": null, "reason": "x"}),
        )
        .await
        .ok();
    let path = format!("/receipts/{imp_uid}");
    let issued = s
        .api
        .post(
            &path,
            json!({"imp_uid": imp_uid, "identifier": "01012345678", "identifier_type": "phone"}),
        )
        .await;
    let receipt: IamportReceipt = serde_json::from_value(response(&issued).clone()).unwrap();
    assert_eq!(receipt.amount, 9900.0, "the balance after cancels");
    assert_eq!(receipt.vat, 900.0);
    assert_eq!(
        response(&s.api.get(&format!("/payments/{imp_uid}")).await)["cash_receipt_issue"],
        true
    );
    refused(
        &s.api
            .post(&path, json!({"identifier": "01012345678"}))
            .await,
        400,
    );
    assert_eq!(
        response(&s.api.get(&path).await)["receipt_uid"],
        receipt.receipt_uid.as_str()
    );

    let cancelled = s.api.delete(&path).await;
    assert!(response(&cancelled)["cancelled_at"].as_i64().unwrap() > 0);
    assert_eq!(
        response(&s.api.get(&format!("/payments/{imp_uid}")).await)["cash_receipt_issue"],
        false
    );
    refused(&s.api.delete(&path).await, 400);
    // Issued again after its cancellation.
    response(
        &s.api
            .post(&path, json!({"identifier": "01012345678"}))
            .await,
    );

    let account = vbank(&s.api, &s.fake, 1000, 3600).await;
    let unpaid = s
        .api
        .post(
            &format!("/receipts/{}", uid(&account)),
            json!({"identifier": "01012345678"}),
        )
        .await;
    refused(&unpaid, 400);
    refused(&s.api.get("/receipts/imp_000000000000").await, 404);
    refused(&s.api.delete("/receipts/imp_000000000000").await, 400);
}

#[tokio::test]
async fn the_payment_window_pays_by_card_or_issues_a_virtual_account() {
    let (s, hooks) = start_with_receiver().await;
    let card = s
        .api
        .post(
            "/internal/payments",
            json!({"merchant_uid": order(), "amount": 12000, "name": "주문"}),
        )
        .await;
    let card = response(&card).clone();
    assert_eq!(
        (card["status"].clone(), card["channel"].clone()),
        (json!("paid"), json!("pc"))
    );
    assert_eq!(hooks.next(WAIT).await.1["status"], "paid");
    let account = s
        .api
        .post(
            "/internal/payments",
            json!({"merchant_uid": order(), "amount": 12000, "pay_method": "vbank"}),
        )
        .await;
    assert_eq!(response(&account)["status"], "ready");
    assert_eq!(hooks.next(WAIT).await.1["status"], "ready");
    let declined = s
        .api
        .post(
            "/internal/payments",
            json!({"merchant_uid": order(), "amount": 1, "card_number": "4000000000000002"}),
        )
        .await;
    refused(&declined, 400);
    refused(
        &s.api
            .post(
                "/internal/payments",
                json!({"merchant_uid": order(), "amount": 1, "pay_method": "bitcoin"}),
            )
            .await,
        400,
    );
}

#[tokio::test]
async fn webhooks_go_to_the_notice_url_and_can_be_form_encoded() {
    let (s, hooks) = start_with_receiver().await;
    let elsewhere = Receiver::start().await;
    let mut body = onetime(&order(), 1000);
    body["notice_url"] = json!(elsewhere.url);
    response(&s.api.post("/subscribe/payments/onetime", body).await);
    assert_eq!(elsewhere.next(WAIT).await.1["status"], "paid");
    assert!(hooks.try_next().await.is_none());

    s.api
        .put(
            "/internal/merchant",
            Some(json!({"webhook_format": "form"})),
        )
        .await
        .ok();
    let payment = paid(&s.api, 1000).await;
    let (headers, form) = hooks.next(WAIT).await;
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    let expected = format!(
        "imp_uid={}&merchant_uid={}&status=paid",
        uid(&payment),
        payment["merchant_uid"].as_str().unwrap()
    );
    assert_eq!(form, Value::String(expected));
}

/// The delivery of the webhook of `imp_uid`, as `GET /internal/webhooks` shows it.
async fn delivery(s: &Setup, imp_uid: &str) -> Value {
    let list = s.anonymous.get("/internal/webhooks").await;
    list.ok()
        .as_array()
        .unwrap()
        .iter()
        .rfind(|d| d["subject"] == imp_uid)
        .cloned()
        .expect("a webhook of the payment")
}

/// PortOne V1's webhook guide (developers.portone.io/opi/ko/integration/webhook/readme-v1,
/// "웹훅 재 전송이 가능한가요?"): a webhook is sent once by default; a merchant who asks
/// for retries gets up to 5 more, one minute apart, only after a network error or a 5xx
/// answer. Here the merchant turns them on with `webhook_retries`.
#[tokio::test]
async fn webhooks_are_sent_once_unless_the_merchant_turns_retries_on_then_after_5xx_or_network_errors()
 {
    let (s, receiver) = start_with_receiver().await;
    let settings = response(&s.api.get("/internal/merchant").await).clone();
    assert!(settings.get("webhook_retries").is_none(), "{settings}");
    receiver.answer(500);
    let once = paid(&s.api, 1000).await;
    receiver.next(WAIT).await;
    s.fake.advance(chrono::Duration::hours(1)).await;
    assert!(receiver.try_next().await.is_none(), "no retry by default");
    assert_eq!(delivery(&s, &uid(&once)).await["attempts"], 1);

    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    let set = api
        .put("/internal/merchant", Some(json!({"webhook_retries": true})))
        .await;
    assert_eq!(response(&set)["webhook_retries"], true);
    let retried = paid(&api, 1000).await;
    receiver.next(WAIT).await;
    s.fake.advance(chrono::Duration::seconds(60)).await;
    receiver.next(WAIT).await;
    receiver.answer(404);
    s.fake.advance(chrono::Duration::seconds(60)).await;
    receiver.next(WAIT).await;
    s.fake.advance(chrono::Duration::hours(1)).await;
    assert!(receiver.try_next().await.is_none(), "a 4xx is not retried");
    let state = delivery(&s, &uid(&retried)).await;
    assert_eq!(state["state"], "failed");
    assert_eq!(state["attempts"], 3);

    // Nothing listens on the merchant's URL: a network error, retried.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    api.put(
        "/internal/merchant",
        Some(json!({"webhook_retries": true, "webhook_url": nowhere})),
    )
    .await
    .ok();
    let unreachable = paid(&api, 1000).await;
    let state = delivery(&s, &uid(&unreachable)).await;
    assert_eq!(state["state"], "pending", "{state}");
    assert_eq!(state["attempts"], 1);
    s.fake.advance(chrono::Duration::seconds(60)).await;
    assert_eq!(delivery(&s, &uid(&unreachable)).await["attempts"], 2);

    // A merchant's `false` wins over retries configured for the whole fake.
    let configured = start(IamportConfig {
        webhook_url: Some(receiver.url.clone()),
        webhook_mode: DeliveryMode::Sync,
        webhook_retries: true,
        ..IamportConfig::default()
    })
    .await;
    configured
        .api
        .put(
            "/internal/merchant",
            Some(json!({"webhook_retries": false})),
        )
        .await
        .ok();
    receiver.answer(503);
    let off = paid(&configured.api, 1000).await;
    receiver.next(WAIT).await;
    configured.fake.advance(chrono::Duration::hours(1)).await;
    assert!(receiver.try_next().await.is_none());
    assert_eq!(delivery(&configured, &uid(&off)).await["state"], "failed");
}

/// The webhook guide ("웹훅 관련 정보"): a first webhook gives up when the merchant's
/// server does not answer within the read timeout (30 s), a retried one when the whole
/// attempt exceeds its timeout (15 s). Shortened here, they let a server that accepts the
/// connection and never answers end each attempt as `timed out`, and only the retry is
/// made again.
#[tokio::test]
async fn a_server_that_never_answers_times_out_each_attempt() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            held.push(connection);
        }
    });
    let s = start(IamportConfig {
        webhook_url: Some(url),
        webhook_mode: DeliveryMode::Sync,
        webhook_retries: true,
        webhook_read_timeout: Duration::from_millis(300),
        webhook_retry_timeout: Duration::from_millis(300),
        ..IamportConfig::default()
    })
    .await;
    let payment = paid(&s.api, 1000).await;
    let state = delivery(&s, &uid(&payment)).await;
    assert_eq!(
        (&state["state"], &state["attempts"]),
        (&json!("pending"), &json!(1))
    );
    s.fake.advance(chrono::Duration::seconds(60)).await;
    assert_eq!(delivery(&s, &uid(&payment)).await["attempts"], 2);
    let journal = s.anonymous.get("/internal/journal").await;
    let attempts: Vec<&Value> = journal.ok()["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["subject"] == uid(&payment).as_str())
        .collect();
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts.iter().all(|a| a["error"] == "timed out"),
        "{attempts:?}"
    );
}

/// An endpoint that accepts connections and answers none until it is opened: then it
/// answers 200 to each webhook, in turn, and hands on its `imp_uid`.
struct HeldEndpoint {
    url: String,
    open: tokio::sync::watch::Sender<bool>,
    accepted: Arc<AtomicUsize>,
    received: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl HeldEndpoint {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (open, gate) = tokio::sync::watch::channel(false);
        let (tx, received) = tokio::sync::mpsc::unbounded_channel();
        let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let hook: Value = serde_json::from_slice(&body).unwrap_or_default();
                let _ = tx.send(hook["imp_uid"].as_str().unwrap_or_default().to_owned());
                "ok"
            }
        });
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut gate = gate.clone();
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    // The request waits unread in the socket until the endpoint opens.
                    if gate.wait_for(|open| *open).await.is_ok() {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    }
                });
            }
        });
        Self {
            url,
            open,
            accepted,
            received,
        }
    }
}

/// First attempts go out in lanes per endpoint: while an endpoint holds webhooks
/// unanswered (the real first attempt waits up to 30 s for the answer, webhook guide
/// "웹훅 관련 정보"), another merchant's webhook still arrives. The held endpoint has at most
/// `PER_ENDPOINT` of its own open at once, one per payment, and gets them all once it
/// answers.
#[tokio::test]
async fn an_endpoint_that_never_answers_holds_up_only_its_own_webhooks() {
    let mut held = HeldEndpoint::start().await;
    let s = start(IamportConfig {
        webhook_url: Some(held.url.clone()),
        webhook_mode: DeliveryMode::Async,
        ..IamportConfig::default()
    })
    .await;
    let mut made = Vec::new();
    for _ in 0..PER_ENDPOINT + 2 {
        made.push(uid(&paid(&s.api, 1000).await));
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while held.accepted.load(Ordering::SeqCst) < PER_ENDPOINT {
        assert!(
            tokio::time::Instant::now() < deadline,
            "attempts to the held endpoint: {}",
            held.accepted.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let other = login(&s.anonymous, "imp_other_key", "imp_other_secret").await;
    let receiver = Receiver::start().await;
    other
        .put(
            "/internal/merchant",
            Some(json!({"webhook_url": receiver.url})),
        )
        .await
        .ok();
    let payment = paid(&other, 2000).await;
    // Well under the 10 s connect and 30 s read timeouts of the held attempts.
    let (_, hook) = receiver.next(WAIT).await;
    assert_eq!(hook["imp_uid"], json!(uid(&payment)));
    assert!(held.received.try_recv().is_err(), "nothing answered yet");
    assert_eq!(
        held.accepted.load(Ordering::SeqCst),
        PER_ENDPOINT,
        "no more attempts at once to the held endpoint than its bound"
    );

    held.open.send(true).unwrap();
    let mut arrived = Vec::new();
    for _ in 0..made.len() {
        let imp_uid = tokio::time::timeout(WAIT, held.received.recv())
            .await
            .expect("a webhook arrives in time")
            .expect("the endpoint is open");
        arrived.push(imp_uid);
    }
    arrived.sort();
    made.sort();
    assert_eq!(arrived, made);
}

/// The webhook guide's events ("웹훅 발생 이벤트": `paid`, `ready`, a scheduled payment's
/// `paid` or `failed`, `cancelled`) are all sent by default; a merchant may switch one off
/// with `webhook_events`, and then that event sends nothing while the others still go.
#[tokio::test]
async fn an_event_switched_off_sends_nothing() {
    let (s, hooks) = start_with_receiver().await;
    let defaults = response(&s.api.get("/internal/merchant").await).clone();
    assert_eq!(
        defaults["webhook_events"],
        json!({"paid": true, "ready": true, "failed": true, "cancelled": true})
    );
    let set = s
        .api
        .put(
            "/internal/merchant",
            Some(json!({"webhook_events": {"paid": false}})),
        )
        .await;
    assert_eq!(
        response(&set)["webhook_events"],
        json!({"paid": false, "ready": true, "failed": true, "cancelled": true})
    );
    let payment = paid(&s.api, 1000).await;
    assert!(hooks.try_next().await.is_none(), "no `paid` webhook");
    let account = vbank(&s.api, &s.fake, 5000, 3600).await;
    assert_eq!(hooks.next(WAIT).await.1["status"], "ready");
    s.api
        .put(&format!("/internal/deposit/{}", uid(&account)), None)
        .await
        .ok();
    assert!(hooks.try_next().await.is_none(), "a deposit is `paid` too");
    let cancel = json!({"imp_uid": uid(&payment), "enable_webhook": true, "reason": "x"});
    response(&s.api.post("/payments/cancel", cancel).await);
    assert_eq!(hooks.next(WAIT).await.1["status"], "cancelled");

    s.api
        .put(
            "/internal/merchant",
            Some(json!({"webhook_events": {"cancelled": false, "ready": false}})),
        )
        .await
        .ok();
    let payment = paid(&s.api, 1000).await;
    assert_eq!(hooks.next(WAIT).await.1["status"], "paid");
    let cancel = json!({"imp_uid": uid(&payment), "enable_webhook": true, "reason": "x"});
    response(&s.api.post("/payments/cancel", cancel).await);
    vbank(&s.api, &s.fake, 5000, 3600).await;
    assert!(
        hooks.try_next().await.is_none(),
        "no `cancelled` or `ready`"
    );
    refused(
        &s.api
            .put(
                "/internal/merchant",
                Some(json!({"webhook_events": {"paid": "no"}})),
            )
            .await,
        400,
    );
}

#[tokio::test]
async fn form_webhooks_are_the_default_when_configured_and_retries_follow_the_clock() {
    let receiver = Receiver::start().await;
    let s = start(IamportConfig {
        webhook_url: Some(receiver.url.clone()),
        webhook_mode: DeliveryMode::Sync,
        webhook_format: WebhookFormat::Form,
        webhook_retries: true,
        ..IamportConfig::default()
    })
    .await;
    receiver.answer(500);
    paid(&s.api, 1000).await;
    receiver.next(WAIT).await;
    for attempt in 2..=6 {
        s.fake.advance(chrono::Duration::seconds(59)).await;
        assert!(receiver.try_next().await.is_none(), "not yet due");
        s.fake.advance(chrono::Duration::seconds(1)).await;
        let (_, body) = receiver.next(WAIT).await;
        assert!(
            body.as_str().unwrap().contains("status=paid"),
            "attempt {attempt}"
        );
    }
    s.fake.advance(chrono::Duration::hours(1)).await;
    assert!(
        receiver.try_next().await.is_none(),
        "five retries, then none"
    );
    let list = s.anonymous.get("/internal/webhooks").await;
    assert_eq!(list.ok()[0]["state"], "failed");
    assert_eq!(list.body[0]["attempts"], 6);
}

#[tokio::test]
async fn async_webhooks_arrive_after_the_response() {
    let receiver = Receiver::start().await;
    let s = start(IamportConfig {
        webhook_url: Some(receiver.url.clone()),
        ..IamportConfig::default()
    })
    .await;
    let payment = paid(&s.api, 1000).await;
    let (_, hook) = receiver.next(WAIT).await;
    assert_eq!(hook["imp_uid"], uid(&payment).as_str());
}

#[tokio::test]
async fn controls_faults_journal_sink_and_reset() {
    let s = start_default().await;
    let payment = paid(&s.api, 1000).await;
    let path = format!("/payments/{}", uid(&payment));
    s.anonymous
        .post("/internal/faults", json!({"path": "/payments/*", "action": "error", "code": "-1", "message": "PG 점검 중"}))
        .await
        .ok();
    let down = s.api.get(&path).await;
    assert_eq!(refused(&down, 500), "PG 점검 중");
    s.anonymous
        .post(
            "/internal/faults",
            json!({"path": "/payments/*", "action": "drop"}),
        )
        .await
        .ok();
    let dropped = s
        .api
        .http
        .get(format!("{}{path}", s.api.url))
        .header("authorization", s.api.auth.clone().unwrap())
        .send()
        .await;
    assert!(dropped.is_err());
    response(&s.api.get(&path).await);
    refused(
        &s.anonymous
            .post("/internal/faults", json!({"path": "x", "action": "drop"}))
            .await,
        400,
    );

    let form = s
        .anonymous
        .http
        .post(format!("{}/internal/webhook", s.anonymous.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("imp_uid=imp_1&merchant_uid=m&status=paid")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let journal = s.anonymous.get("/internal/journal").await;
    let journal = journal.ok();
    assert_eq!(journal["received"][0]["body"]["status"], "paid");
    let requests = journal["requests"].as_array().unwrap();
    assert!(requests.iter().any(|r| r["path"] == "/users/getToken"));
    assert!(
        requests
            .iter()
            .any(|r| r["merchant"] == "test_imp_key" && r["path"] == path.as_str())
    );

    assert_eq!(
        s.anonymous.post("/internal/reset", json!({})).await.status,
        204
    );
    assert_eq!(
        refused(&s.api.get(&path).await, 401),
        "Unauthorized",
        "tokens are gone too"
    );
    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;
    refused(&api.get(&path).await, 404);
    refused(&s.anonymous.get("/nothing/here").await, 404);
}

#[tokio::test]
async fn records_expire_and_the_capacity_evicts_the_oldest() {
    let s = start(IamportConfig {
        capacity: 2,
        ttl: Duration::from_secs(600),
        ..IamportConfig::default()
    })
    .await;
    let first = paid(&s.api, 1000).await;
    let second = paid(&s.api, 1000).await;
    let third = paid(&s.api, 1000).await;
    refused(&s.api.get(&format!("/payments/{}", uid(&first))).await, 404);
    response(&s.api.get(&format!("/payments/{}", uid(&second))).await);
    s.fake.advance(chrono::Duration::minutes(11)).await;
    refused(&s.api.get(&format!("/payments/{}", uid(&third))).await, 404);
    // The merchant_uid of an evicted payment is free again.
    response(
        &s.api
            .post(
                "/subscribe/payments/onetime",
                onetime(first["merchant_uid"].as_str().unwrap(), 1000),
            )
            .await,
    );
}

#[tokio::test]
async fn what_no_handler_answers_is_in_the_envelope_too() {
    let s = start_default().await;
    let wrong_method = s
        .api
        .send(reqwest::Method::PATCH, "/payments/cancel", None, &[])
        .await;
    refused(&wrong_method, 405);
    let too_large = s
        .api
        .post("/payments/cancel", json!({"reason": "x".repeat(2 << 20)}))
        .await;
    refused(&too_large, 413);
    refused(&s.api.get("/payments/%FF%FE").await, 400);
    refused(&s.anonymous.get("/internal/journal?limit=all").await, 400);
    let unknown = s.api.get("/nothing/here").await;
    assert_eq!(refused(&unknown, 404), "요청한 API 를 찾을 수 없습니다.");
    let id = s
        .api
        .http
        .get(format!("{}/payments/imp_000000000000", s.api.url))
        .header("authorization", s.api.auth.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        id.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .starts_with("iamport-")
    );
}

/// The drop-in mode for suites written against the original fakes: per fake or per
/// merchant, `original` also accepts an expired card and 13 to 16 digits in dash-separated
/// groups; the real mode refuses both.
#[tokio::test]
async fn the_original_compat_mode_relaxes_what_the_original_fakes_accepted() {
    let relaxed = |api: Api| async move {
        let mut expired = onetime(&order(), 1000);
        expired["expiry"] = json!("2019-01");
        let mut short = onetime(&order(), 1000);
        short["card_number"] = json!("4092-0230-1234-5");
        (
            api.post("/subscribe/payments/onetime", expired).await,
            api.post("/subscribe/payments/onetime", short).await,
        )
    };
    let s = start(IamportConfig {
        compat: Compat::Original,
        ..IamportConfig::default()
    })
    .await;
    let (expired, short) = relaxed(s.api.clone()).await;
    assert_eq!(response(&expired)["status"], "paid");
    assert_eq!(response(&short)["card_number"], "4092-0230-1234-5");

    let s = start_default().await;
    let (expired, short) = relaxed(s.api.clone()).await;
    assert!(refused(&expired, 400).contains("유효기간"));
    assert!(refused(&short, 400).contains("카드번호"));
    s.api
        .put("/internal/merchant", Some(json!({"compat": "original"})))
        .await
        .ok();
    let (expired, short) = relaxed(s.api.clone()).await;
    assert_eq!(response(&expired)["status"], "paid");
    assert_eq!(response(&short)["status"], "paid");
    let other = login(&s.anonymous, "imp_other_key", "imp_other_secret").await;
    let (expired, _) = relaxed(other).await;
    refused(&expired, 400);
}

/// v1.openapi.json: `GET /payments/findAll/{merchant_uid}[/{payment_status}]` lists every
/// payment of an order, and `GET /payments/status/{payment_status}` every payment in a
/// status (`all` for any) within `from`..`to`; both a page at a time (`page` from 1,
/// `limit` up to 1,000) with `total`, `previous` and `next`.
#[tokio::test]
async fn payments_are_listed_by_order_and_by_status_a_page_at_a_time() {
    let s = start_default().await;
    let merchant_uid = order();
    let mut declined = onetime(&merchant_uid, 1000);
    declined["card_number"] = json!("4000-0000-0000-0002");
    let failed = response(&s.api.post("/subscribe/payments/onetime", declined).await).clone();
    s.fake.advance(chrono::Duration::seconds(5)).await;
    let latest = response(
        &s.api
            .post("/subscribe/payments/onetime", onetime(&merchant_uid, 1000))
            .await,
    )
    .clone();
    let all = s
        .api
        .get(&format!("/payments/findAll/{merchant_uid}"))
        .await;
    let all = response(&all).clone();
    assert_eq!(
        (
            all["total"].clone(),
            all["previous"].clone(),
            all["next"].clone()
        ),
        (json!(2), json!(0), json!(0))
    );
    assert_eq!(all["list"][0]["imp_uid"], latest["imp_uid"]);
    assert_eq!(all["list"][1]["imp_uid"], failed["imp_uid"]);
    let first = s
        .api
        .get(&format!(
            "/payments/findAll/{merchant_uid}?limit=1&sorting=started"
        ))
        .await;
    let first = response(&first).clone();
    assert_eq!(first["list"][0]["imp_uid"], failed["imp_uid"]);
    assert_eq!(
        (first["previous"].clone(), first["next"].clone()),
        (json!(0), json!(2))
    );
    let failed_only = s
        .api
        .get(&format!("/payments/findAll/{merchant_uid}/failed"))
        .await;
    assert_eq!(response(&failed_only)["total"], 1);
    refused(&s.api.get("/payments/findAll/nothing").await, 404);
    refused(
        &s.api
            .get(&format!("/payments/findAll/{merchant_uid}?limit=1001"))
            .await,
        400,
    );

    for _ in 0..3 {
        paid(&s.api, 500).await;
    }
    let by_status = s.api.get("/payments/status/paid?limit=2&page=2").await;
    let by_status = response(&by_status).clone();
    assert_eq!(by_status["total"], 4);
    assert_eq!(by_status["list"].as_array().unwrap().len(), 2);
    assert_eq!(
        (by_status["previous"].clone(), by_status["next"].clone()),
        (json!(1), json!(0))
    );
    assert!(
        by_status["list"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "paid")
    );
    assert_eq!(
        response(&s.api.get("/payments/status/all").await)["total"],
        5
    );
    assert_eq!(
        response(&s.api.get("/payments/status/failed").await)["total"],
        1
    );
    let future = s.fake.clock().now().timestamp() + 3600;
    let none = s
        .api
        .get(&format!("/payments/status/all?from={future}"))
        .await;
    assert_eq!(response(&none)["total"], 0);
    refused(&s.api.get("/payments/status/unknown").await, 400);
}

/// Sends `body` form-encoded, as I'mport's PHP, Python and Java clients do (the Java one
/// names the charset).
async fn form(api: &Api, method: reqwest::Method, path: &str, body: &str) -> Answer {
    let content_type = "application/x-www-form-urlencoded; charset=UTF-8";
    send_text(api, method, path, content_type, body).await
}

/// Sends `body` as it is, of `content_type`.
async fn send_text(
    api: &Api,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> Answer {
    let response = api
        .http
        .request(method, format!("{}{path}", api.url))
        .header("authorization", api.auth.clone().unwrap_or_default())
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// Every V1 POST and PUT route `consumes` `application/json` and
/// `application/x-www-form-urlencoded` (v1.openapi.json). A form carries text only: the
/// numbers and booleans of the body come as text (PHP's `http_build_query` writes `1`
/// for true), text that looks like a number stays text, and the answer is the one JSON
/// gets.
#[tokio::test]
async fn form_bodies_pay_register_and_cancel_like_json() {
    let s = start_default().await;
    let merchant_uid = format!("{}", 20_240_000_000_000u64 + u64::from(rand_digits()));
    let body = format!(
        "card_number=4092-0230-1234-5678&expiry=2049-12&birth=880311&pwd_2digit=01\
         &merchant_uid={merchant_uid}&amount=1000&name=%EC%9B%94%EA%B0%84&use_card_point=1\
         &interest_free_by_merchant=false&card_quota=3&customer_uid=0012"
    );
    let answer = form(
        &s.api,
        reqwest::Method::POST,
        "/subscribe/payments/onetime",
        &body,
    )
    .await;
    let payment = response(&answer).clone();
    typed(&payment);
    assert_eq!(payment["status"], "paid");
    assert_eq!(payment["merchant_uid"], merchant_uid.as_str());
    assert_eq!(payment["amount"], 1000);
    assert_eq!(payment["name"], "월간");
    assert_eq!(payment["card_quota"], 3);
    assert_eq!(payment["customer_uid"], "0012", "text stays text");
    let key = response(&s.api.get("/subscribe/customers/0012").await).clone();
    assert_eq!(key["card_number"], "4092-0230-1234-5678");

    let cancelled = form(
        &s.api,
        reqwest::Method::POST,
        "/payments/cancel",
        &format!(
            "imp_uid={}&amount=400&checksum=1000&reason=test",
            uid(&payment)
        ),
    )
    .await;
    let cancelled = response(&cancelled).clone();
    assert_eq!(cancelled["cancel_amount"], 400);

    // `PUT /payments/prepare` (v1.openapi.json `consumes`) the same way.
    let prepared_uid = order();
    let prepared = form(
        &s.api,
        reqwest::Method::POST,
        "/payments/prepare",
        &format!("merchant_uid={prepared_uid}&amount=2500.5"),
    )
    .await;
    assert_eq!(response(&prepared)["amount"], 2500.5);
    let changed = form(
        &s.api,
        reqwest::Method::PUT,
        "/payments/prepare",
        &format!("merchant_uid={prepared_uid}&amount=3000"),
    )
    .await;
    assert_eq!(response(&changed)["amount"], 3000);
}

fn rand_digits() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32 % 1_000_000
}

/// Arrays and objects in a form: PHP's `http_build_query` writes
/// `schedules%5B0%5D%5Bmerchant_uid%5D=…` (brackets percent-encoded), other clients
/// `schedules[0][merchant_uid]=…` or `merchant_uid[]=…` (v1.openapi.json,
/// `POST /subscribe/payments/schedule`'s `schedules` and `unschedule`'s `merchant_uid`
/// arrays).
#[tokio::test]
async fn form_bodies_carry_arrays_of_schedules_and_of_orders() {
    let s = start_default().await;
    let customer_uid = format!("customer-{}", uuid::Uuid::new_v4().simple());
    response(
        &s.api
            .post(
                &format!("/subscribe/customers/{customer_uid}"),
                card(&customer_uid),
            )
            .await,
    );
    let at = chrono::Utc::now().timestamp() + 3600;
    let (first, second, third) = (order(), order(), order());
    let body = format!(
        "customer_uid={customer_uid}&checking_amount=0\
         &schedules%5B0%5D%5Bmerchant_uid%5D={first}&schedules%5B0%5D%5Bamount%5D=1100\
         &schedules%5B0%5D%5Bschedule_at%5D={at}&schedules%5B0%5D%5Bname%5D=A\
         &schedules[1][merchant_uid]={second}&schedules[1][amount]=1200\
         &schedules[1][schedule_at]={}\
         &schedules[2][merchant_uid]={third}&schedules[2][amount]=1300\
         &schedules[2][schedule_at]={}",
        at + 60,
        at + 120,
    );
    let answer = form(
        &s.api,
        reqwest::Method::POST,
        "/subscribe/payments/schedule",
        &body,
    )
    .await;
    let schedules: Vec<IamportSchedule> =
        serde_json::from_value(response(&answer).clone()).unwrap();
    let merchant_uids: Vec<&str> = schedules.iter().map(|s| s.merchant_uid.as_str()).collect();
    assert_eq!(merchant_uids, [&first, &second, &third]);
    assert_eq!(schedules[0].amount, 1100.0);
    assert_eq!(schedules[2].schedule_at, at + 120);

    let revoked = form(
        &s.api,
        reqwest::Method::POST,
        "/subscribe/payments/unschedule",
        &format!("customer_uid={customer_uid}&merchant_uid[]={first}&merchant_uid[]={second}"),
    )
    .await;
    let revoked: Vec<IamportSchedule> = serde_json::from_value(response(&revoked).clone()).unwrap();
    assert_eq!(revoked.len(), 2);
    // A lone `merchant_uid=…` is a list of one.
    let alone = form(
        &s.api,
        reqwest::Method::POST,
        "/subscribe/payments/unschedule",
        &format!("customer_uid={customer_uid}&merchant_uid={third}"),
    )
    .await;
    let alone: Vec<IamportSchedule> = serde_json::from_value(response(&alone).clone()).unwrap();
    assert_eq!(alone[0].merchant_uid, third);
    assert_eq!(alone[0].schedule_status, IamportScheduleStatus::Revoked);
}

/// A form whose number is not one, or that misses a required field, is refused in the
/// envelope like a bad JSON body, and changes nothing.
#[tokio::test]
async fn bad_form_bodies_are_refused_and_change_nothing() {
    let s = start_default().await;
    let merchant_uid = order();
    for (body, why) in [
        (
            format!(
                "card_number=4092-0230-1234-5678&expiry=2049-12&birth=880311\
                 &merchant_uid={merchant_uid}&amount=lots&name=x"
            ),
            "\"lots\", expected f64",
        ),
        (
            format!(
                "card_number=4092-0230-1234-5678&expiry=2049-12&birth=880311\
                 &merchant_uid={merchant_uid}&amount=1000&name=x&use_card_point=maybe"
            ),
            "\"maybe\", expected a boolean",
        ),
        (
            format!("card_number=4092-0230-1234-5678&merchant_uid={merchant_uid}&amount=1000"),
            "missing field `expiry`",
        ),
        (
            format!("merchant_uid[a][b][c][d][e]={merchant_uid}&amount=1000&name=x"),
            "missing field `card_number`",
        ),
        ("%ZZ=%&&&==[".to_owned(), "missing field"),
    ] {
        let answer = form(
            &s.api,
            reqwest::Method::POST,
            "/subscribe/payments/onetime",
            &body,
        )
        .await;
        let message = refused(&answer, 400);
        assert!(
            message.contains("요청 형식이 올바르지 않습니다"),
            "{body}: {message}"
        );
        assert!(message.contains(why), "{body}: {message}");
    }
    refused(
        &s.api.get(&format!("/payments/find/{merchant_uid}")).await,
        404,
    );
}

/// `GET /subscribe/customers/{customer_uid}/payments` (v1.openapi.json, `customer_payments`:
/// "구매자의 빌링키로 결제된 결제목록", `page` from 1 its only parameter, a
/// `PaymentListResponse` whose `PagedPaymentAnnotation` has `total`, `previous` and `next` (0
/// where there is none) and a `list` of "최대 20개"; 404 for an invalid `customer_uid`): the
/// payments made with one billing key, whichever way (the `onetime` that registered it,
/// `again`, a schedule), newest first, a page at a time. A deleted key is no longer a valid
/// `customer_uid` ("삭제된 빌링키는 복구할 수 없습니다", `DELETE
/// /subscribe/customers/{customer_uid}`): its list is a 404, as the key itself is, while
/// its payments stay, each found by its imp_uid.
#[tokio::test]
async fn a_billing_keys_payments_are_listed_newest_first_a_page_at_a_time() {
    let s = start_default().await;
    let customer_uid = format!("customer-{}", uuid::Uuid::new_v4().simple());
    let mut registering = onetime(&order(), 1000);
    registering["customer_uid"] = json!(customer_uid);
    response(&s.api.post("/subscribe/payments/onetime", registering).await);
    let mut again = Vec::new();
    for _ in 0..20 {
        s.fake.advance(chrono::Duration::seconds(1)).await;
        let answer = s
            .api
            .post(
                "/subscribe/payments/again",
                json!({"customer_uid": customer_uid, "merchant_uid": order(), "amount": 9900, "name": "정기 결제"}),
            )
            .await;
        again.push(uid(response(&answer)));
    }
    // Another key's payment and a payment without a key are not listed.
    let mut other = onetime(&order(), 500);
    other["customer_uid"] = json!("someone-else");
    response(&s.api.post("/subscribe/payments/onetime", other).await);
    paid(&s.api, 700).await;
    let at = chrono::Utc::now().timestamp() + 600;
    response(
        &s.api
            .post(
                "/subscribe/payments/schedule",
                json!({"customer_uid": customer_uid, "schedules": [{"merchant_uid": order(), "schedule_at": at, "amount": 4900}]}),
            )
            .await,
    );
    s.fake.advance(chrono::Duration::minutes(11)).await;
    let api = login(&s.anonymous, "test_imp_key", "test_imp_secret").await;

    let path = format!("/subscribe/customers/{customer_uid}/payments");
    let first = response(&api.get(&path).await).clone();
    let page: IamportPaymentPage = serde_json::from_value(first.clone()).unwrap();
    assert_eq!((page.total, page.previous, page.next), (22, 0, 2));
    assert_eq!(page.list.len(), 20);
    for payment in first["list"].as_array().unwrap() {
        typed(payment);
    }
    let usages: Vec<_> = page
        .list
        .iter()
        .map(|p| p.base().customer_uid_usage.clone().unwrap())
        .collect();
    assert_eq!(usages[0], "payment.scheduled", "newest first");
    assert_eq!(usages[1], "payment");
    assert_eq!(page.list[1].base().imp_uid, again[19]);
    assert!(
        page.list
            .iter()
            .all(|p| p.base().customer_uid.as_deref() == Some(&customer_uid))
    );

    let second: IamportPaymentPage =
        serde_json::from_value(response(&api.get(&format!("{path}?page=2")).await).clone())
            .unwrap();
    assert_eq!((second.total, second.previous, second.next), (22, 1, 0));
    let usages: Vec<_> = second
        .list
        .iter()
        .map(|p| p.base().customer_uid_usage.clone().unwrap())
        .collect();
    assert_eq!(
        usages,
        ["payment", "issue"],
        "the registering payment is the oldest"
    );
    let past_the_end: IamportPaymentPage =
        serde_json::from_value(response(&api.get(&format!("{path}?page=3")).await).clone())
            .unwrap();
    assert!(past_the_end.list.is_empty());

    // No `limit`: a page is 20 whatever the query says.
    let unlimited: IamportPaymentPage =
        serde_json::from_value(response(&api.get(&format!("{path}?limit=100")).await).clone())
            .unwrap();
    assert_eq!((unlimited.list.len(), unlimited.next), (20, 2));

    let zero = refused(&api.get(&format!("{path}?page=0")).await, 400);
    assert!(zero.contains("page") && !zero.contains("limit"), "{zero}");
    refused(&api.get(&format!("{path}?page=first")).await, 400);
    let unknown = api.get("/subscribe/customers/nobody/payments").await;
    assert!(refused(&unknown, 404).contains("nobody"));
    refused(&s.anonymous.get(&path).await, 401);

    response(
        &api.delete(&format!("/subscribe/customers/{customer_uid}"))
            .await,
    );
    let deleted = api.get(&path).await;
    assert!(refused(&deleted, 404).contains(&customer_uid));
    let kept = response(&api.get(&format!("/payments/{}", again[0])).await).clone();
    assert_eq!(kept["customer_uid"], customer_uid.as_str());
}

/// v1.openapi.json `#/definitions/PaymentAnnotation/required` lists `sandbox` ("결제가
/// 발생한 포트원 채널의 테스트 채널 여부", a boolean): every payment answer carries it, card
/// and virtual account alike, on every route that answers payments. The fake's payments are
/// all tests.
#[tokio::test]
async fn every_payment_says_it_was_made_on_a_test_channel() {
    let s = start_default().await;
    let card = paid(&s.api, 1000).await;
    let account = vbank(&s.api, &s.fake, 2000, 3600).await;
    assert_eq!(card["sandbox"], true, "{card}");
    assert_eq!(account["sandbox"], true, "{account}");
    let imp_uid = uid(&card);
    let one = s.api.get(&format!("/payments/{imp_uid}")).await;
    assert_eq!(response(&one)["sandbox"], true);
    let many = s.api.get(&format!("/payments?imp_uid[]={imp_uid}")).await;
    assert_eq!(response(&many)[0]["sandbox"], true);
    let merchant_uid = card["merchant_uid"].as_str().unwrap();
    let page = s
        .api
        .get(&format!("/payments/findAll/{merchant_uid}"))
        .await;
    assert_eq!(response(&page)["list"][0]["sandbox"], true);
    let cancelled = s
        .api
        .post(
            "/payments/cancel",
            json!({"imp_uid": imp_uid, "reason": "x"}),
        )
        .await;
    assert_eq!(response(&cancelled)["sandbox"], true);
    // The typed payment reads it back.
    assert_eq!(typed(response(&one)).base().sandbox, Some(true));
}

/// v1.openapi.json `#/definitions/ScheduleResultAnnotation/properties` types every text
/// field of a schedule as a plain string (`imp_uid`, `name`, `buyer_*`, `custom_data`,
/// `payment_status`, `fail_reason`), and the SDK does not model schedules: what is not known
/// (yet) is `""`, never `null`, on every route that answers schedules. The Rust type reads
/// `""` back as `None`.
#[tokio::test]
async fn a_schedules_unknown_text_is_empty_never_null() {
    let s = start_default().await;
    let registered = s
        .api
        .post(
            "/subscribe/customers/text-1",
            json!({"card_number": "5365-1012-3456-7540", "expiry": "2049-03", "birth": "880311"}),
        )
        .await;
    response(&registered);
    let at = s.fake.clock().now().timestamp() + 3600;
    let created = s
        .api
        .post(
            "/subscribe/payments/schedule",
            json!({"customer_uid": "text-1", "schedules": [
                {"merchant_uid": "text-order-1", "schedule_at": at, "amount": 1000}]}),
        )
        .await;
    let range = format!("from={at}&to={}", at + 1);
    let answers = [
        response(&created)[0].clone(),
        response(&s.api.get("/subscribe/payments/schedule/text-order-1").await).clone(),
        response(
            &s.api
                .get(&format!(
                    "/subscribe/payments/schedule?schedule_from={at}&schedule_to={}",
                    at + 1
                ))
                .await,
        )[0]
        .clone(),
        response(
            &s.api
                .get(&format!(
                    "/subscribe/payments/schedule/customers/text-1?{range}"
                ))
                .await,
        )[0]
        .clone(),
    ];
    for schedule in &answers {
        for field in [
            "imp_uid",
            "name",
            "buyer_name",
            "buyer_email",
            "buyer_tel",
            "buyer_addr",
            "buyer_postcode",
            "custom_data",
            "payment_status",
            "fail_reason",
        ] {
            assert_eq!(schedule[field], "", "{field} in {schedule}");
        }
        let typed: IamportSchedule = serde_json::from_value(schedule.clone()).unwrap();
        assert_eq!((typed.imp_uid, typed.payment_status), (None, None));
    }
    let revoked = s
        .api
        .post(
            "/subscribe/payments/unschedule",
            json!({"customer_uid": "text-1", "merchant_uid": ["text-order-1"]}),
        )
        .await;
    assert_eq!(response(&revoked)[0]["imp_uid"], "");
    assert_eq!(response(&revoked)[0]["schedule_status"], "revoked");

    // Once charged, the payment's id and status are there.
    let retried = s
        .api
        .post("/subscribe/payments/schedule/text-order-1/retry", json!({}))
        .await;
    let imp_uid = uid(response(&retried));
    let executed = s.api.get("/subscribe/payments/schedule/text-order-1").await;
    assert_eq!(response(&executed)["imp_uid"], imp_uid.as_str());
    assert_eq!(response(&executed)["payment_status"], "paid");
    assert_eq!(response(&executed)["fail_reason"], "");
}

/// With `business_errors_as_200`, refusals come with the statuses v1.openapi.json documents
/// for each operation: `GET /payments/prepare/{merchant_uid}` (`getPaymentPrepareByMerchantUid`)
/// and `POST /payments/cancel` (`cancelPayment`) list only 200 and 401, so an unknown
/// order and a cancel naming no payment are HTTP 200 with a non-zero `code`;
/// `PUT /payments/prepare` (`editPreparePayment`) lists 404, which it keeps.
#[tokio::test]
async fn refusals_as_200_keep_to_the_statuses_the_schema_documents() {
    let s = start_default().await;
    let unknown = format!("/payments/prepare/{}", order());
    // By default, typed clients get the HTTP status that says why.
    refused(&s.api.get(&unknown).await, 404);
    let no_payment = json!({"reason": "x"});
    refused(
        &s.api.post("/payments/cancel", no_payment.clone()).await,
        400,
    );

    business_errors_as_200(&s.api).await;
    let prepared = s.api.get(&unknown).await;
    assert_eq!(prepared.status, 200, "{}", prepared.body);
    assert_eq!(prepared.body["code"], 1);
    assert_eq!(prepared.body["response"], Value::Null);
    let cancel = s.api.post("/payments/cancel", no_payment).await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    assert_eq!(cancel.body["code"], -1);
    assert!(
        cancel.body["message"]
            .as_str()
            .unwrap()
            .contains("merchant_uid")
    );
    let edit = s
        .api
        .put(
            "/payments/prepare",
            Some(json!({"merchant_uid": order(), "amount": 1000})),
        )
        .await;
    refused(&edit, 404);
}

/// v1.openapi.json `GET /subscribe/customers` (`customer_view_multiple`): several billing
/// keys by `customer_uid[]`, answered as `MultipleCustomersResponse` (an array of
/// `CustomerAnnotation`); 200 when all were found, 207 when some were not ("요청된
/// customer_uid 중 일부 빌키정보 조회 실패"), 404 when none was.
#[tokio::test]
async fn several_billing_keys_are_read_at_once() {
    let s = start_default().await;
    for uid in ["many-1", "many-2"] {
        let registered = s
            .api
            .post(
                &format!("/subscribe/customers/{uid}"),
                json!({"card_number": "5365-1012-3456-7540", "expiry": "2049-03", "birth": "880311"}),
            )
            .await;
        assert_eq!(response(&registered)["sandbox"], true);
    }
    let both = s
        .api
        .get("/subscribe/customers?customer_uid[]=many-1&customer_uid[]=many-2")
        .await;
    let keys: Vec<IamportSubscription> = serde_json::from_value(response(&both).clone()).unwrap();
    assert_eq!(both.status, 200);
    // `#/definitions/CustomerAnnotation/required` lists `sandbox`, as for payments.
    assert!(keys.iter().all(|k| k.sandbox == Some(true)));
    assert_eq!(response(&both)[0]["sandbox"], true);
    assert_eq!(
        keys.iter()
            .map(|k| k.customer_uid.as_str())
            .collect::<Vec<_>>(),
        ["many-1", "many-2"]
    );
    let some = s
        .api
        .get("/subscribe/customers?customer_uid[]=many-2&customer_uid[]=nobody")
        .await;
    assert_eq!(some.status, 207, "{}", some.body);
    assert_eq!(some.body["code"], 0);
    assert_eq!(some.body["response"][0]["customer_uid"], "many-2");
    assert_eq!(some.body["response"].as_array().unwrap().len(), 1);
    refused(
        &s.api
            .get("/subscribe/customers?customer_uid[]=nobody")
            .await,
        404,
    );
    refused(&s.api.get("/subscribe/customers").await, 400);
    let too_many: String = (0..101)
        .map(|i| format!("customer_uid[]=k{i}"))
        .collect::<Vec<_>>()
        .join("&");
    refused(
        &s.api.get(&format!("/subscribe/customers?{too_many}")).await,
        400,
    );
    refused(
        &s.anonymous
            .get("/subscribe/customers?customer_uid[]=many-1")
            .await,
        401,
    );
    // Another merchant's key is not found.
    let other = login(&s.anonymous, "imp_other_key", "imp_other_secret").await;
    refused(
        &other
            .get("/subscribe/customers?customer_uid[]=many-1")
            .await,
        404,
    );
}
