//! The fake PortOne V2 over real HTTP on loopback: every route, every error type it
//! answers, webhooks signed and retried, schedules on the fake's clock.

mod support;

use std::time::Duration;

use payments_api::portone::{
    BillingKeyInfo, CashReceipt, GetPaymentSchedulesResponse, GetPaymentsResponse, Payment,
    PaymentSchedule, Webhook, WebhookType,
};
use payments_fakes::Fake as _;
use payments_fakes::delivery::DeliveryMode;
use payments_fakes::portone::{
    CHANNEL_KEY, DEFAULT_API_SECRET, DEFAULT_WEBHOOK_SECRET, FakePortOne, PortOneConfig, store_id,
};
use serde_json::{Value, json};
use support::{Answer, Api, Receiver, spawn};

const WAIT: Duration = Duration::from_secs(5);

struct Setup {
    api: Api,
    internal: Api,
    fake: FakePortOne,
}

fn portone(url: &str, secret: &str) -> Api {
    Api {
        auth: Some(format!("PortOne {secret}")),
        ..Api::new(url, None)
    }
}

async fn start(config: PortOneConfig) -> Setup {
    let fake = FakePortOne::new(config);
    let url = spawn(fake.router()).await;
    Setup {
        api: portone(&url, DEFAULT_API_SECRET),
        internal: Api::new(&url, None),
        fake,
    }
}

async fn start_default() -> Setup {
    start(PortOneConfig::default()).await
}

/// A fake whose webhooks go to a fresh receiver, delivered before each response returns,
/// retried without jitter.
async fn start_with_receiver() -> (Setup, Receiver) {
    let receiver = Receiver::start().await;
    let setup = start(PortOneConfig {
        webhook_url: Some(receiver.url.clone()),
        webhook_mode: DeliveryMode::Sync,
        webhook_retry_jitter: Duration::ZERO,
        ..PortOneConfig::default()
    })
    .await;
    (setup, receiver)
}

/// The error type of an answer, checking its status (and keeping the body for the SDK
/// check).
fn kind(answer: &Answer, status: u16) -> String {
    let kind = error_type(answer, status);
    let type_name: String = kind
        .split('_')
        .map(|word| word[..1].to_owned() + &word[1..].to_lowercase())
        .collect();
    capture(
        &format!("{type_name}Error"),
        &kind,
        &answer.body,
        Some(answer.status),
    );
    kind
}

/// The error type of an answer in PortOne's shape, checking its status; not kept for the
/// SDK check, for answers outside the API's operations (an unknown route, a wrong method),
/// whose statuses the V2 schema does not give.
fn error_type(answer: &Answer, status: u16) -> String {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert!(answer.body["message"].is_string(), "{}", answer.body);
    answer.body["type"]
        .as_str()
        .expect("an error type")
        .to_owned()
}

/// Keeps a response for `sdk-checks/portone`, which type-checks each against the PortOne
/// SDK's type `type_name`: the body goes to `$CARGO_TARGET_TMPDIR/portone-captures` (or
/// the folder `PORTONE_RESPONSES_DIR` names) as `{"type": …, "body": …, "status": …}`, so
/// the check reads what the workspace's test run wrote instead of building this test again.
/// `status`, the answer's HTTP status, lets `sdk-checks/portone-schema` compare an error's
/// with the one the V2 schema gives its type.
fn capture(type_name: &str, name: &str, body: &Value, status: Option<u16>) {
    let dir = std::env::var_os("PORTONE_RESPONSES_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("portone-captures")
        });
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{type_name}.{name}.json"));
    let content = json!({"type": type_name, "body": body, "status": status});
    // Written aside, then renamed over the file: tests running side by side keep answers
    // of the same name (an error type), and two writes to one file could interleave.
    let aside = dir.join(format!(
        ".{type_name}.{name}.{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&aside, serde_json::to_vec_pretty(&content).unwrap()).unwrap();
    std::fs::rename(&aside, &file).unwrap();
}

/// `answer.ok()`, kept for the SDK check as a `type_name` named `name`.
fn ok_as<'a>(answer: &'a Answer, type_name: &str, name: &str) -> &'a Value {
    let body = answer.ok();
    capture(type_name, name, body, Some(answer.status));
    body
}

fn new_id() -> String {
    format!("payment-{}", uuid::Uuid::new_v4())
}

fn card(number: &str) -> Value {
    json!({"credential": {"number": number, "expiryYear": "39", "expiryMonth": "12"}})
}

fn instant_card(number: &str, total: i64) -> Value {
    json!({
        "method": {"card": card(number)},
        "orderName": "티셔츠",
        "amount": {"total": total},
        "currency": "KRW",
        "customer": {"id": "customer-1", "name": {"full": "홍길동"}},
    })
}

fn instant_account(total: i64) -> Value {
    json!({
        "method": {"virtualAccount": {
            "bank": "SHINHAN",
            "expiry": {"validHours": 2},
            "option": {"type": "NORMAL"},
            "cashReceipt": {"type": "PERSONAL", "customerIdentityNumber": "01012345678"},
        }},
        "orderName": "티셔츠",
        "amount": {"total": total},
        "currency": "KRW",
    })
}

fn typed(value: &Value) -> Payment {
    serde_json::from_value(value.clone()).expect("a Payment")
}

/// A card payment paid at once; its paymentId.
async fn paid(api: &Api, total: i64) -> String {
    let id = new_id();
    api.post(
        &format!("/payments/{id}/instant"),
        instant_card("4330123412341234", total),
    )
    .await
    .ok();
    id
}

async fn billing_key(api: &Api, number: &str) -> String {
    let issued = api
        .post(
            "/billing-keys",
            json!({"method": {"card": card(number)}, "customer": {"id": "customer-1"}}),
        )
        .await;
    issued.ok()["billingKeyInfo"]["billingKey"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn charge(key: &str, total: i64) -> Value {
    json!({"billingKey": key, "orderName": "구독", "amount": {"total": total}, "currency": "KRW"})
}

fn cancel(amount: Option<i64>) -> Value {
    match amount {
        Some(amount) => json!({"amount": amount, "reason": "고객 요청"}),
        None => json!({"reason": "고객 요청"}),
    }
}

#[tokio::test]
async fn requests_need_an_api_secret_or_a_token_from_it() {
    let s = start_default().await;
    let id = paid(&s.api, 1000).await;
    let path = format!("/payments/{id}");

    assert_eq!(kind(&s.internal.get(&path).await, 401), "UNAUTHORIZED");
    let wrong = portone(&s.api.url, "not-a-secret");
    assert_eq!(kind(&wrong.get(&path).await, 401), "UNAUTHORIZED");

    let login = s
        .internal
        .post(
            "/login/api-secret",
            json!({"apiSecret": DEFAULT_API_SECRET}),
        )
        .await;
    let access = login.ok()["accessToken"].as_str().unwrap().to_owned();
    let refresh = login.body["refreshToken"].as_str().unwrap().to_owned();
    let bearer = Api {
        auth: Some(format!("Bearer {access}")),
        ..s.internal.clone()
    };
    assert_eq!(bearer.get(&path).await.ok()["id"], id);

    let refreshed = s
        .internal
        .post("/token/refresh", json!({"refreshToken": refresh}))
        .await;
    assert_ne!(refreshed.ok()["accessToken"], access.as_str());
    let again = s
        .internal
        .post("/token/refresh", json!({"refreshToken": refresh}))
        .await;
    assert_eq!(
        kind(&again, 401),
        "UNAUTHORIZED",
        "a refresh token is used once"
    );

    let refused = s
        .internal
        .post("/login/api-secret", json!({"apiSecret": "nope"}))
        .await;
    assert_eq!(kind(&refused, 401), "UNAUTHORIZED");
    let malformed = s
        .internal
        .post("/login/api-secret", json!({"secret": 1}))
        .await;
    assert_eq!(kind(&malformed, 400), "INVALID_REQUEST");

    // Tokens expire with the fake's clock.
    s.fake.advance(chrono::Duration::minutes(31)).await;
    assert_eq!(kind(&bearer.get(&path).await, 401), "UNAUTHORIZED");
}

#[tokio::test]
async fn each_secret_is_a_store_and_another_store_id_is_forbidden() {
    let s = start_default().await;
    let id = paid(&s.api, 1000).await;
    let other = portone(&s.api.url, "test_portone_another_store");
    assert_eq!(
        kind(&other.get(&format!("/payments/{id}")).await, 404),
        "PAYMENT_NOT_FOUND"
    );

    let own = store_id(DEFAULT_API_SECRET);
    let found = s.api.get(&format!("/payments/{id}?storeId={own}")).await;
    assert_eq!(found.ok()["storeId"], own.as_str());
    let forbidden = s
        .api
        .get(&format!("/payments/{id}?storeId=store-other"))
        .await;
    assert_eq!(kind(&forbidden, 403), "FORBIDDEN");
    let merchant = s.api.get("/internal/merchant").await;
    assert_eq!(merchant.ok()["storeId"], own.as_str());
}

#[tokio::test]
async fn an_instant_card_payment_is_paid_once_and_a_declined_one_fails() {
    let s = start_default().await;
    let id = new_id();
    let path = format!("/payments/{id}/instant");
    let paid = s
        .api
        .post(&path, instant_card("4330123412341234", 12_000))
        .await;
    assert!(paid.ok()["payment"]["pgTxId"].is_string());

    let payment = s.api.get(&format!("/payments/{id}")).await;
    let body = payment.ok();
    assert_eq!(body["status"], "PAID");
    assert_eq!(body["amount"]["total"], 12_000);
    assert_eq!(body["amount"]["paid"], 12_000);
    assert_eq!(body["amount"]["vat"], 1_091);
    assert_eq!(body["method"]["type"], "PaymentMethodCard");
    assert_eq!(body["method"]["card"]["number"], "433012******1234");
    // `PaymentMethodCard.approvalNumber`: a string; the fake's are eight digits.
    let approval = body["method"]["approvalNumber"].as_str().unwrap();
    assert!(approval.len() == 8 && approval.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(body["channel"]["key"], CHANNEL_KEY);
    assert_eq!(body["customer"]["name"], "홍길동");
    assert_eq!(body["version"], "V2");
    assert!(matches!(typed(body), Payment::Paid(_)));

    let again = s
        .api
        .post(&path, instant_card("4330123412341234", 12_000))
        .await;
    assert_eq!(kind(&again, 409), "ALREADY_PAID");

    let declined_id = new_id();
    let declined = s
        .api
        .post(
            &format!("/payments/{declined_id}/instant"),
            instant_card("4330123412340002", 5_000),
        )
        .await;
    assert_eq!(kind(&declined, 502), "PG_PROVIDER");
    assert_eq!(declined.body["pgCode"], "4003");
    let failed = s.api.get(&format!("/payments/{declined_id}")).await;
    assert_eq!(failed.ok()["status"], "FAILED");
    assert_eq!(failed.body["failure"]["pgCode"], "4003");
    let first_attempt = failed.body["transactionId"].clone();

    // A failed paymentId may be tried again: a new transaction.
    s.api
        .post(
            &format!("/payments/{declined_id}/instant"),
            instant_card("4330123412341234", 5_000),
        )
        .await
        .ok();
    let retried = s.api.get(&format!("/payments/{declined_id}")).await;
    assert_eq!(retried.ok()["status"], "PAID");
    assert_ne!(retried.body["transactionId"], first_attempt);
}

#[tokio::test]
async fn an_instant_payment_refuses_bad_input_with_the_documented_types() {
    let s = start_default().await;
    let path = format!("/payments/{}/instant", new_id());
    let mut body = instant_card("4330123412341234", 1000);
    body["channelKey"] = json!("channel-key-unknown");
    assert_eq!(
        kind(&s.api.post(&path, body).await, 404),
        "CHANNEL_NOT_FOUND"
    );

    let mut body = instant_card("4330123412341234", 1000);
    body["amount"]["taxFree"] = json!(2000);
    assert_eq!(
        kind(&s.api.post(&path, body).await, 409),
        "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT"
    );

    for bad in [
        instant_card("1234", 1000),
        instant_card("4330123412341234", 0),
        json!({"method": {}, "orderName": "x", "amount": {"total": 1}, "currency": "KRW"}),
        json!({"orderName": "x"}),
    ] {
        assert_eq!(kind(&s.api.post(&path, bad).await, 400), "INVALID_REQUEST");
    }
    let mut body = instant_card("4330123412341234", 1000);
    body["currency"] = json!("XXX");
    assert_eq!(kind(&s.api.post(&path, body).await, 400), "INVALID_REQUEST");
    let raw = s
        .api
        .send(
            reqwest::Method::POST,
            &path,
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(kind(&raw, 400), "INVALID_REQUEST");
    assert_eq!(
        kind(&s.api.get(&path.replace("/instant", "")).await, 404),
        "PAYMENT_NOT_FOUND"
    );
}

#[tokio::test]
async fn a_payment_window_payment_waits_for_the_stores_confirmation() {
    let s = start_default().await;
    let id = new_id();
    let window = s
        .api
        .post(
            &format!("/internal/payments/{id}"),
            json!({"orderName": "티셔츠", "amount": {"total": 3000}, "manualConfirm": true}),
        )
        .await;
    let token = window.ok()["paymentToken"].as_str().unwrap().to_owned();
    let tx_id = window.body["txId"].as_str().unwrap().to_owned();
    assert_eq!(
        s.api.get(&format!("/payments/{id}")).await.ok()["status"],
        "READY"
    );
    let confirm = format!("/payments/{id}/confirm");

    let wrong = s.api.post(&confirm, json!({"paymentToken": "nope"})).await;
    assert_eq!(kind(&wrong, 400), "INVALID_PAYMENT_TOKEN");
    let mismatch = s
        .api
        .post(
            &confirm,
            json!({"paymentToken": token, "totalAmount": 2999}),
        )
        .await;
    assert_eq!(kind(&mismatch, 409), "INFORMATION_MISMATCH");
    let confirmed = s
        .api
        .post(
            &confirm,
            json!({"paymentToken": token, "txId": tx_id, "totalAmount": 3000, "currency": "KRW"}),
        )
        .await;
    assert!(confirmed.ok()["paidAt"].is_string());
    assert_eq!(
        s.api.get(&format!("/payments/{id}")).await.ok()["status"],
        "PAID"
    );
    let twice = s.api.post(&confirm, json!({"paymentToken": token})).await;
    assert_eq!(kind(&twice, 409), "ALREADY_PAID");
    let unknown = s
        .api
        .post(
            &format!("/payments/{}/confirm", new_id()),
            json!({"paymentToken": token}),
        )
        .await;
    assert_eq!(kind(&unknown, 404), "PAYMENT_NOT_FOUND");
}

#[tokio::test]
async fn a_pre_registered_amount_is_enforced() {
    let s = start_default().await;
    let id = new_id();
    let pre = s
        .api
        .post(
            &format!("/payments/{id}/pre-register"),
            json!({"totalAmount": 5000, "currency": "KRW"}),
        )
        .await;
    assert_eq!(pre.ok(), &json!({}));
    let wrong = s
        .api
        .post(
            &format!("/payments/{id}/instant"),
            instant_card("4330123412341234", 4000),
        )
        .await;
    assert_eq!(kind(&wrong, 400), "INVALID_REQUEST");
    s.api
        .post(
            &format!("/payments/{id}/instant"),
            instant_card("4330123412341234", 5000),
        )
        .await
        .ok();
    let late = s
        .api
        .post(
            &format!("/payments/{id}/pre-register"),
            json!({"totalAmount": 1}),
        )
        .await;
    assert_eq!(kind(&late, 409), "ALREADY_PAID");
    let bad = s
        .api
        .post(
            &format!("/payments/{}/pre-register", new_id()),
            json!({"totalAmount": -1}),
        )
        .await;
    assert_eq!(kind(&bad, 400), "INVALID_REQUEST");
}

#[tokio::test]
async fn cancels_take_part_or_all_and_refuse_what_does_not_add_up() {
    let s = start_default().await;
    let id = new_id();
    let mut body = instant_card("4330123412341234", 10_000);
    body["amount"]["taxFree"] = json!(1_000);
    s.api
        .post(&format!("/payments/{id}/instant"), body)
        .await
        .ok();
    let path = format!("/payments/{id}/cancel");

    let partial = s.api.post(&path, cancel(Some(3_000))).await;
    let cancellation = &partial.ok()["cancellation"];
    assert_eq!(cancellation["status"], "SUCCEEDED");
    assert_eq!(cancellation["totalAmount"], 3_000);
    assert!(cancellation["id"].is_string());
    let payment = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(payment.ok()["status"], "PARTIAL_CANCELLED");
    assert_eq!(payment.body["amount"]["cancelled"], 3_000);
    assert_eq!(payment.body["cancellations"][0]["id"], cancellation["id"]);

    let broken = s
        .api
        .post(
            &path,
            json!({"amount": 1000, "reason": "x", "currentCancellableAmount": 10_000}),
        )
        .await;
    assert_eq!(kind(&broken, 409), "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN");
    let over = s.api.post(&path, cancel(Some(7_001))).await;
    assert_eq!(kind(&over, 409), "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT");
    let tax_free_over = s
        .api
        .post(
            &path,
            json!({"amount": 2000, "taxFreeAmount": 1001, "reason": "x"}),
        )
        .await;
    assert_eq!(
        kind(&tax_free_over, 409),
        "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"
    );
    let parts_over = s
        .api
        .post(
            &path,
            json!({"amount": 500, "taxFreeAmount": 600, "reason": "x"}),
        )
        .await;
    assert_eq!(kind(&parts_over, 409), "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT");
    let vat_over = s
        .api
        .post(
            &path,
            json!({"amount": 500, "vatAmount": 600, "reason": "x"}),
        )
        .await;
    assert_eq!(
        kind(&vat_over, 409),
        "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT"
    );
    let no_reason = s.api.post(&path, json!({"amount": 1, "reason": " "})).await;
    assert_eq!(kind(&no_reason, 400), "INVALID_REQUEST");
    let unchanged = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(
        unchanged.ok()["amount"]["cancelled"],
        3_000,
        "refusals change nothing"
    );

    s.api.post(&path, cancel(None)).await.ok();
    let cancelled = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(cancelled.ok()["status"], "CANCELLED");
    assert_eq!(cancelled.body["amount"]["cancelled"], 10_000);
    assert_eq!(cancelled.body["amount"]["cancelledTaxFree"], 1_000);
    assert!(matches!(typed(&cancelled.body), Payment::Cancelled(_)));
    let again = s.api.post(&path, cancel(None)).await;
    assert_eq!(kind(&again, 409), "PAYMENT_ALREADY_CANCELLED");

    let unknown = s
        .api
        .post(&format!("/payments/{}/cancel", new_id()), cancel(None))
        .await;
    assert_eq!(kind(&unknown, 404), "PAYMENT_NOT_FOUND");
}

#[tokio::test]
async fn a_payment_takes_at_most_twenty_cancellations() {
    let s = start_default().await;
    let id = paid(&s.api, 100).await;
    let path = format!("/payments/{id}/cancel");
    for _ in 0..20 {
        s.api.post(&path, cancel(Some(1))).await.ok();
    }
    let refused = s.api.post(&path, cancel(Some(1))).await;
    assert_eq!(kind(&refused, 409), "MAX_CANCEL_COUNT_REACHED");
}

#[tokio::test]
async fn a_virtual_account_is_deposited_into_refunded_with_an_account_and_its_receipt_follows() {
    let (s, receiver) = start_with_receiver().await;
    let id = new_id();
    s.api
        .post(&format!("/payments/{id}/instant"), instant_account(20_000))
        .await
        .ok();
    let (_, issued) = receiver.next(WAIT).await;
    assert_eq!(issued["type"], "Transaction.VirtualAccountIssued");
    let payment = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(payment.ok()["status"], "VIRTUAL_ACCOUNT_ISSUED");
    assert_eq!(
        payment.body["method"]["type"],
        "PaymentMethodVirtualAccount"
    );
    assert_eq!(payment.body["method"]["bank"], "SHINHAN");

    let unpaid = s
        .api
        .post(&format!("/payments/{id}/cancel"), cancel(None))
        .await;
    assert_eq!(kind(&unpaid, 409), "PAYMENT_NOT_PAID");
    let no_receipt_yet = s.api.get(&format!("/payments/{id}/cash-receipt")).await;
    assert_eq!(kind(&no_receipt_yet, 404), "CASH_RECEIPT_NOT_FOUND");

    let deposited = s
        .api
        .post(&format!("/internal/payments/{id}/deposit"), json!({}))
        .await;
    assert_eq!(deposited.ok()["status"], "PAID");
    let (_, paid_hook) = receiver.next(WAIT).await;
    assert_eq!(paid_hook["type"], "Transaction.Paid");
    let receipt = s.api.get(&format!("/payments/{id}/cash-receipt")).await;
    assert_eq!(receipt.ok()["status"], "ISSUED");
    assert_eq!(receipt.body["amount"], 20_000);
    let _: CashReceipt = serde_json::from_value(receipt.body.clone()).unwrap();

    let no_account = s
        .api
        .post(&format!("/payments/{id}/cancel"), cancel(None))
        .await;
    assert_eq!(kind(&no_account, 400), "INVALID_REQUEST");
    let refunded = s
        .api
        .post(
            &format!("/payments/{id}/cancel"),
            json!({"reason": "환불", "refundAccount": {"bank": "KOOKMIN", "number": "12345678901234", "holderName": "홍길동"}}),
        )
        .await;
    refunded.ok();
    let (_, cancelled) = receiver.next(WAIT).await;
    assert_eq!(cancelled["type"], "Transaction.Cancelled");
    assert_eq!(
        cancelled["data"]["cancellationId"],
        refunded.body["cancellation"]["id"]
    );
    let receipt = s.api.get(&format!("/payments/{id}/cash-receipt")).await;
    assert_eq!(receipt.ok()["status"], "CANCELLED");

    let card_payment = paid(&s.api, 1000).await;
    let none = s
        .api
        .get(&format!("/payments/{card_payment}/cash-receipt"))
        .await;
    assert_eq!(kind(&none, 404), "CASH_RECEIPT_NOT_FOUND");
}

#[tokio::test]
async fn a_virtual_account_is_closed_or_expires_on_the_fakes_clock() {
    let (s, receiver) = start_with_receiver().await;
    let closed = new_id();
    s.api
        .post(
            &format!("/payments/{closed}/instant"),
            instant_account(1000),
        )
        .await
        .ok();
    receiver.next(WAIT).await;
    let close = s
        .api
        .send(
            reqwest::Method::POST,
            &format!("/payments/{closed}/virtual-account/close"),
            None,
            &[],
        )
        .await;
    assert!(close.ok()["closedAt"].is_string());
    let (_, failed) = receiver.next(WAIT).await;
    assert_eq!(failed["type"], "Transaction.Failed");
    assert_eq!(
        s.api.get(&format!("/payments/{closed}")).await.ok()["status"],
        "FAILED"
    );
    let again = s
        .api
        .send(
            reqwest::Method::POST,
            &format!("/payments/{closed}/virtual-account/close"),
            None,
            &[],
        )
        .await;
    assert_eq!(kind(&again, 409), "PAYMENT_NOT_WAITING_FOR_DEPOSIT");
    let unknown = s
        .api
        .send(
            reqwest::Method::POST,
            &format!("/payments/{}/virtual-account/close", new_id()),
            None,
            &[],
        )
        .await;
    assert_eq!(kind(&unknown, 404), "PAYMENT_NOT_FOUND");

    let expiring = new_id();
    s.api
        .post(
            &format!("/payments/{expiring}/instant"),
            instant_account(1000),
        )
        .await
        .ok();
    receiver.next(WAIT).await;
    s.fake.advance(chrono::Duration::hours(3)).await;
    let (_, expired) = receiver.next(WAIT).await;
    assert_eq!(expired["type"], "Transaction.Failed");
    assert_eq!(expired["data"]["paymentId"], expiring.as_str());
    let payment = s.api.get(&format!("/payments/{expiring}")).await;
    assert_eq!(payment.ok()["status"], "FAILED");
    let late = s
        .api
        .post(&format!("/internal/payments/{expiring}/deposit"), json!({}))
        .await;
    assert_eq!(kind(&late, 409), "PAYMENT_NOT_WAITING_FOR_DEPOSIT");
}

#[tokio::test]
async fn webhooks_are_signed_the_standard_webhooks_way_and_retried_on_the_fakes_clock() {
    let (s, receiver) = start_with_receiver().await;
    receiver.answer(500);
    let id = paid(&s.api, 1000).await;
    let (headers, body) = receiver.next(WAIT).await;
    let webhook: Webhook = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(webhook.kind, WebhookType::TransactionPaid);
    assert_eq!(webhook.data.payment_id.as_deref(), Some(id.as_str()));
    assert_eq!(webhook.data.store_id, store_id(DEFAULT_API_SECRET));
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    let webhook_id = header("webhook-id");
    let first_timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    // The receiver hands over parsed JSON; the typed webhook serializes back to the very
    // bytes the fake signed (the same type wrote them). The SDK check verifies raw bytes.
    let raw = serde_json::to_string(&webhook).unwrap();
    payments_api::signature::verify(
        DEFAULT_WEBHOOK_SECRET,
        &webhook_id,
        &header("webhook-timestamp"),
        &header("webhook-signature"),
        &raw,
        first_timestamp,
        300,
    )
    .expect("signed with the store's secret");
    assert!(
        payments_api::signature::verify(
            "whsec_b3RoZXItc2VjcmV0",
            &webhook_id,
            &header("webhook-timestamp"),
            &header("webhook-signature"),
            &raw,
            first_timestamp,
            300,
        )
        .is_err()
    );

    // Retries after 1, 4, 16, 64 and 256 minutes, each with the same id, signed anew.
    for minutes in [1, 4, 16, 64, 256] {
        s.fake.advance(chrono::Duration::minutes(minutes)).await;
        let (headers, retried) = receiver.next(WAIT).await;
        assert_eq!(retried, body);
        assert_eq!(headers["webhook-id"].to_str().unwrap(), webhook_id);
        let timestamp: i64 = headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(timestamp >= first_timestamp + minutes * 60);
    }
    s.fake.advance(chrono::Duration::days(1)).await;
    assert!(receiver.try_next().await.is_none(), "five retries at most");
    let deliveries = s.internal.get("/internal/webhooks").await;
    assert_eq!(deliveries.ok()[0]["attempts"], 6);
    assert_eq!(deliveries.body[0]["state"], "failed");
}

#[tokio::test]
async fn a_store_sets_its_own_webhook_url_and_secret() {
    let s = start_default().await;
    let receiver = Receiver::start().await;
    let secret = "whsec_c3RvcmUtb3duLXNlY3JldA==";
    let set = s
        .api
        .put(
            "/internal/merchant",
            Some(json!({"webhookUrl": receiver.url, "webhookSecret": secret})),
        )
        .await;
    assert_eq!(set.ok()["webhookSecret"], secret);
    paid(&s.api, 1000).await;
    let (headers, body) = receiver.next(WAIT).await;
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    payments_api::signature::verify(
        secret,
        &header("webhook-id"),
        &header("webhook-timestamp"),
        &header("webhook-signature"),
        &serde_json::to_string(&serde_json::from_value::<Webhook>(body).unwrap()).unwrap(),
        header("webhook-timestamp").parse().unwrap(),
        300,
    )
    .unwrap();
    let bad = s
        .api
        .put("/internal/merchant", Some(json!({"webhookUrl": "ftp://x"})))
        .await;
    assert_eq!(kind(&bad, 400), "INVALID_REQUEST");
    let bad = s
        .api
        .put(
            "/internal/merchant",
            Some(json!({"webhookUrl": null, "webhookSecret": "plain"})),
        )
        .await;
    assert_eq!(kind(&bad, 400), "INVALID_REQUEST");
}

#[tokio::test]
async fn a_payments_webhook_is_resent_on_demand_a_bounded_number_of_times() {
    let (s, receiver) = start_with_receiver().await;
    let id = paid(&s.api, 1000).await;
    let (first_headers, first) = receiver.next(WAIT).await;
    let path = format!("/payments/{id}/resend-webhook");
    let resent = s.api.post(&path, json!({})).await;
    let webhook = &resent.ok()["webhook"];
    assert_eq!(webhook["trigger"], "MANUAL");
    assert_eq!(webhook["paymentStatus"], "PAID");
    let (headers, body) = receiver.next(WAIT).await;
    assert_eq!(body, first);
    assert_eq!(headers["webhook-id"].to_str().unwrap(), webhook["id"]);
    assert_ne!(headers["webhook-id"], first_headers["webhook-id"]);

    let named = s
        .api
        .post(
            &path,
            json!({"webhookId": first_headers["webhook-id"].to_str().unwrap()}),
        )
        .await;
    named.ok();
    let unknown = s.api.post(&path, json!({"webhookId": "msg_unknown"})).await;
    assert_eq!(kind(&unknown, 404), "WEBHOOK_NOT_FOUND");
    for _ in 2..10 {
        s.api.post(&path, json!({})).await.ok();
    }
    let limit = s.api.post(&path, json!({})).await;
    assert_eq!(kind(&limit, 400), "MAX_WEBHOOK_RETRY_COUNT_REACHED");
    let missing = s
        .api
        .post(&format!("/payments/{}/resend-webhook", new_id()), json!({}))
        .await;
    assert_eq!(kind(&missing, 404), "PAYMENT_NOT_FOUND");

    let mut quiet = instant_card("4330123412341234", 1000);
    quiet["skipWebhook"] = json!(true);
    let quiet_id = new_id();
    s.api
        .post(&format!("/payments/{quiet_id}/instant"), quiet)
        .await
        .ok();
    while receiver.try_next().await.is_some() {}
    let nothing = s
        .api
        .post(&format!("/payments/{quiet_id}/resend-webhook"), json!({}))
        .await;
    assert_eq!(
        kind(&nothing, 404),
        "WEBHOOK_NOT_FOUND",
        "skipWebhook sent none"
    );
}

#[tokio::test]
async fn billing_keys_are_issued_charged_and_deleted() {
    let (s, receiver) = start_with_receiver().await;
    let key = billing_key(&s.api, "5365123412341234").await;
    let (_, issued) = receiver.next(WAIT).await;
    assert_eq!(issued["type"], "BillingKey.Issued");
    assert_eq!(issued["data"]["billingKey"], key.as_str());
    let info = s.api.get(&format!("/billing-keys/{key}")).await;
    assert_eq!(info.ok()["status"], "ISSUED");
    assert_eq!(
        info.body["methods"][0]["type"],
        "BillingKeyPaymentMethodCard"
    );
    assert!(matches!(
        serde_json::from_value::<BillingKeyInfo>(info.body.clone()).unwrap(),
        BillingKeyInfo::Issued(_)
    ));

    let id = new_id();
    let charged = s
        .api
        .post(&format!("/payments/{id}/billing-key"), charge(&key, 9_900))
        .await;
    assert!(charged.ok()["payment"]["pgTxId"].is_string());
    let (_, paid_hook) = receiver.next(WAIT).await;
    assert_eq!(paid_hook["type"], "Transaction.Paid");
    let payment = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(payment.ok()["billingKey"], key.as_str());
    let again = s
        .api
        .post(&format!("/payments/{id}/billing-key"), charge(&key, 9_900))
        .await;
    assert_eq!(kind(&again, 409), "ALREADY_PAID");

    let list = s
        .api
        .get("/billing-keys?requestBody=%7B%22filter%22%3A%7B%22status%22%3A%5B%22ISSUED%22%5D%7D%7D")
        .await;
    assert_eq!(list.ok()["items"][0]["billingKey"], key.as_str());
    assert_eq!(list.body["page"]["totalCount"], 1);

    let deleted = s
        .api
        .send(
            reqwest::Method::DELETE,
            &format!("/billing-keys/{key}"),
            None,
            &[],
        )
        .await;
    assert!(deleted.ok()["deletedAt"].is_string());
    let (_, gone) = receiver.next(WAIT).await;
    assert_eq!(gone["type"], "BillingKey.Deleted");
    assert_eq!(
        s.api.get(&format!("/billing-keys/{key}")).await.ok()["status"],
        "DELETED"
    );
    let charge_deleted = s
        .api
        .post(
            &format!("/payments/{}/billing-key", new_id()),
            charge(&key, 100),
        )
        .await;
    assert_eq!(kind(&charge_deleted, 409), "BILLING_KEY_ALREADY_DELETED");
    let twice = s.api.delete(&format!("/billing-keys/{key}")).await;
    assert_eq!(kind(&twice, 409), "BILLING_KEY_ALREADY_DELETED");

    let unknown = "billing-key-unknown";
    assert_eq!(
        kind(&s.api.get(&format!("/billing-keys/{unknown}")).await, 404),
        "BILLING_KEY_NOT_FOUND"
    );
    assert_eq!(
        kind(
            &s.api.delete(&format!("/billing-keys/{unknown}")).await,
            404
        ),
        "BILLING_KEY_NOT_FOUND"
    );
    let charge_unknown = s
        .api
        .post(
            &format!("/payments/{}/billing-key", new_id()),
            charge(unknown, 100),
        )
        .await;
    assert_eq!(kind(&charge_unknown, 404), "BILLING_KEY_NOT_FOUND");
}

#[tokio::test]
async fn the_issuer_declines_magic_cards_at_registration_or_at_each_charge() {
    let s = start_default().await;
    let declined = s
        .api
        .post(
            "/billing-keys",
            json!({"method": {"card": card("4330123412340002")}}),
        )
        .await;
    assert_eq!(kind(&declined, 502), "PG_PROVIDER");
    assert_eq!(declined.body["pgCode"], "4003");
    let no_card = s.api.post("/billing-keys", json!({"method": {}})).await;
    assert_eq!(kind(&no_card, 400), "INVALID_REQUEST");
    let expired = s
        .api
        .post(
            "/billing-keys",
            json!({"method": {"card": {"credential": {"number": "4330123412341234", "expiryYear": "20", "expiryMonth": "01"}}}}),
        )
        .await;
    assert_eq!(kind(&expired, 400), "INVALID_REQUEST");
    let wrong_channel = s
        .api
        .post(
            "/billing-keys",
            json!({"method": {"card": card("4330123412341234")}, "channelKey": "channel-key-x"}),
        )
        .await;
    assert_eq!(kind(&wrong_channel, 404), "CHANNEL_NOT_FOUND");

    let poor = billing_key(&s.api, "4330123412349995").await;
    let id = new_id();
    let refused = s
        .api
        .post(&format!("/payments/{id}/billing-key"), charge(&poor, 1000))
        .await;
    assert_eq!(kind(&refused, 502), "PG_PROVIDER");
    assert_eq!(refused.body["pgCode"], "4004");
    let payment = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(payment.ok()["status"], "FAILED");
    assert!(matches!(typed(&payment.body), Payment::Failed(_)));
}

#[tokio::test]
async fn a_schedule_fires_at_its_time_on_the_fakes_clock() {
    let (s, receiver) = start_with_receiver().await;
    let key = billing_key(&s.api, "4330123412341234").await;
    receiver.next(WAIT).await;
    let id = new_id();
    let at = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let path = format!("/payments/{id}/schedule");
    let created = s
        .api
        .post(
            &path,
            json!({"payment": charge(&key, 4_900), "timeToPay": at}),
        )
        .await;
    let schedule_id = created.ok()["schedule"]["id"].as_str().unwrap().to_owned();

    let duplicate = s
        .api
        .post(
            &path,
            json!({"payment": charge(&key, 4_900), "timeToPay": at}),
        )
        .await;
    assert_eq!(kind(&duplicate, 409), "PAYMENT_SCHEDULE_ALREADY_EXISTS");
    let direct = s
        .api
        .post(&format!("/payments/{id}/billing-key"), charge(&key, 4_900))
        .await;
    assert_eq!(kind(&direct, 409), "PAYMENT_SCHEDULE_ALREADY_EXISTS");
    let delete_key = s.api.delete(&format!("/billing-keys/{key}")).await;
    assert_eq!(kind(&delete_key, 409), "PAYMENT_SCHEDULE_ALREADY_EXISTS");

    let listed = s.api.get("/payment-schedules").await;
    let listed: GetPaymentSchedulesResponse = serde_json::from_value(listed.ok().clone()).unwrap();
    assert!(matches!(&listed.items[0], PaymentSchedule::Scheduled(s) if s.id == schedule_id));

    s.fake.advance(chrono::Duration::days(29)).await;
    assert!(receiver.try_next().await.is_none(), "not yet");
    s.fake.advance(chrono::Duration::days(1)).await;
    let (_, paid_hook) = receiver.next(WAIT).await;
    assert_eq!(paid_hook["type"], "Transaction.Paid");
    assert_eq!(paid_hook["data"]["paymentId"], id.as_str());
    let payment = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(payment.ok()["status"], "PAID");
    assert_eq!(payment.body["scheduleId"], schedule_id.as_str());
    let listed = s.api.get("/payment-schedules").await;
    assert_eq!(listed.ok()["items"][0]["status"], "SUCCEEDED");
    let scheduled_only = s
        .api
        .get("/payments?requestBody=%7B%22filter%22%3A%7B%22isScheduled%22%3Atrue%7D%7D")
        .await;
    assert_eq!(scheduled_only.ok()["items"][0]["id"], id.as_str());

    let on_paid = s
        .api
        .post(
            &path,
            json!({"payment": charge(&key, 1), "timeToPay": (chrono::Utc::now() + chrono::Duration::days(60)).to_rfc3339()}),
        )
        .await;
    assert_eq!(kind(&on_paid, 409), "ALREADY_PAID_OR_WAITING");
    let revoke_done = s
        .api
        .send(
            reqwest::Method::DELETE,
            "/payment-schedules",
            Some(json!({"scheduleIds": [schedule_id]})),
            &[],
        )
        .await;
    assert_eq!(
        kind(&revoke_done, 409),
        "PAYMENT_SCHEDULE_ALREADY_PROCESSED"
    );
}

#[tokio::test]
async fn schedules_are_revoked_by_id_or_by_billing_key() {
    let s = start_default().await;
    let key = billing_key(&s.api, "4330123412341234").await;
    let later = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let created = s
            .api
            .post(
                &format!("/payments/{}/schedule", new_id()),
                json!({"payment": charge(&key, 1000), "timeToPay": later}),
            )
            .await;
        ids.push(created.ok()["schedule"]["id"].as_str().unwrap().to_owned());
    }
    let revoke = |body: Value| {
        let api = s.api.clone();
        async move {
            api.send(
                reqwest::Method::DELETE,
                "/payment-schedules",
                Some(body),
                &[],
            )
            .await
        }
    };
    let one = revoke(json!({"scheduleIds": [ids[0]]})).await;
    assert_eq!(one.ok()["revokedScheduleIds"], json!([ids[0]]));
    let again = revoke(json!({"scheduleIds": [ids[0]]})).await;
    assert_eq!(kind(&again, 409), "PAYMENT_SCHEDULE_ALREADY_REVOKED");
    let unknown = revoke(json!({"scheduleIds": ["nope"]})).await;
    assert_eq!(kind(&unknown, 404), "PAYMENT_SCHEDULE_NOT_FOUND");
    let neither = revoke(json!({})).await;
    assert_eq!(kind(&neither, 400), "INVALID_REQUEST");
    let no_key = revoke(json!({"billingKey": "billing-key-unknown"})).await;
    assert_eq!(kind(&no_key, 404), "BILLING_KEY_NOT_FOUND");

    let by_key = revoke(json!({"billingKey": key})).await;
    let mut revoked: Vec<String> =
        serde_json::from_value(by_key.ok()["revokedScheduleIds"].clone()).unwrap();
    revoked.sort();
    let mut rest = ids[1..].to_vec();
    rest.sort();
    assert_eq!(revoked, rest);
    let listed = s
        .api
        .get("/payment-schedules?requestBody=%7B%22filter%22%3A%7B%22status%22%3A%5B%22REVOKED%22%5D%7D%7D")
        .await;
    assert_eq!(listed.ok()["page"]["totalCount"], 3);

    // Now the key can go, and a deleted key takes no schedule.
    s.api.delete(&format!("/billing-keys/{key}")).await.ok();
    let on_deleted = s
        .api
        .post(
            &format!("/payments/{}/schedule", new_id()),
            json!({"payment": charge(&key, 1000), "timeToPay": later}),
        )
        .await;
    assert_eq!(kind(&on_deleted, 409), "BILLING_KEY_ALREADY_DELETED");
    let revoke_deleted = revoke(json!({"billingKey": key})).await;
    assert_eq!(kind(&revoke_deleted, 409), "BILLING_KEY_ALREADY_DELETED");
    let on_unknown = s
        .api
        .post(
            &format!("/payments/{}/schedule", new_id()),
            json!({"payment": charge("billing-key-x", 1000), "timeToPay": later}),
        )
        .await;
    assert_eq!(kind(&on_unknown, 404), "BILLING_KEY_NOT_FOUND");
    let fresh = billing_key(&s.api, "4330123412341234").await;
    let past = s
        .api
        .post(
            &format!("/payments/{}/schedule", new_id()),
            json!({"payment": charge(&fresh, 1000), "timeToPay": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(kind(&past, 400), "INVALID_REQUEST");
}

#[tokio::test]
async fn payments_are_listed_by_page_with_filters_and_by_cursor() {
    let s = start_default().await;
    let mut ids = Vec::new();
    for total in 1..=5 {
        ids.push(paid(&s.api, total * 1000).await);
        // Payments requested in the same millisecond have no order of their own.
        s.fake.advance(chrono::Duration::seconds(1)).await;
    }
    let failed = new_id();
    let _ = s
        .api
        .post(
            &format!("/payments/{failed}/instant"),
            instant_card("4330123412340002", 1000),
        )
        .await;

    let all = s.api.get("/payments").await;
    let all: GetPaymentsResponse = serde_json::from_value(all.ok().clone()).unwrap();
    assert_eq!(all.page.total_count, 6);

    let body = json!({"page": {"number": 1, "size": 2}, "filter": {"status": ["PAID"], "sortOrder": "ASC"}});
    let page = s
        .api
        .send(reqwest::Method::GET, "/payments", Some(body), &[])
        .await;
    assert_eq!(page.ok()["page"]["totalCount"], 5);
    assert_eq!(page.body["page"]["number"], 1);
    let page_ids: Vec<&str> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(page_ids, [ids[2].as_str(), ids[3].as_str()]);
    let failed_only = s
        .api
        .get("/payments?requestBody=%7B%22filter%22%3A%7B%22status%22%3A%5B%22FAILED%22%5D%7D%7D")
        .await;
    assert_eq!(failed_only.ok()["items"][0]["id"], failed.as_str());
    let bad = s
        .api
        .get("/payments?requestBody=%7B%22page%22%3A%7B%22size%22%3A0%7D%7D")
        .await;
    assert_eq!(kind(&bad, 400), "INVALID_REQUEST");
    let malformed = s.api.get("/payments?requestBody=nope").await;
    assert_eq!(kind(&malformed, 400), "INVALID_REQUEST");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let body = match &cursor {
            Some(c) => json!({"size": 4, "cursor": c}),
            None => json!({"size": 4}),
        };
        let page = s
            .api
            .send(reqwest::Method::GET, "/payments-by-cursor", Some(body), &[])
            .await;
        let items = page.ok()["items"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        for item in &items {
            seen.push(item["payment"]["id"].as_str().unwrap().to_owned());
        }
        cursor = Some(items.last().unwrap()["cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 6);
    let mut expected = ids.clone();
    expected.push(failed);
    assert_eq!(seen, expected, "oldest first, each once");
    let bad_cursor = s
        .api
        .send(
            reqwest::Method::GET,
            "/payments-by-cursor",
            Some(json!({"cursor": "garbage"})),
            &[],
        )
        .await;
    assert_eq!(kind(&bad_cursor, 400), "INVALID_REQUEST");
}

#[tokio::test]
async fn the_customers_windows_pay_by_card_issue_accounts_and_register_cards() {
    let (s, receiver) = start_with_receiver().await;
    let id = new_id();
    let window = s
        .api
        .post(
            &format!("/internal/payments/{id}"),
            json!({"orderName": "티셔츠", "amount": {"total": 1000}, "platform": "MOBILE"}),
        )
        .await;
    assert_eq!(window.ok()["paymentId"], id.as_str());
    let (_, paid_hook) = receiver.next(WAIT).await;
    assert_eq!(paid_hook["type"], "Transaction.Paid");
    let payment = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(payment.ok()["origin"]["platformType"], "MOBILE");

    let declined = s
        .api
        .post(
            &format!("/internal/payments/{}", new_id()),
            json!({"orderName": "x", "amount": {"total": 1000}, "cardNumber": "4330123412340002"}),
        )
        .await;
    assert_eq!(declined.ok()["code"], "PG_PROVIDER");
    let (_, failed) = receiver.next(WAIT).await;
    assert_eq!(failed["type"], "Transaction.Failed");

    let account = new_id();
    s.api
        .post(
            &format!("/internal/payments/{account}"),
            json!({"orderName": "x", "amount": {"total": 1000}, "method": "VIRTUAL_ACCOUNT", "bank": "KOOKMIN"}),
        )
        .await
        .ok();
    let (_, issued) = receiver.next(WAIT).await;
    assert_eq!(issued["type"], "Transaction.VirtualAccountIssued");

    let registered = s
        .api
        .post("/internal/billing-keys", json!({"customer": {"id": "c-9"}}))
        .await;
    let key = registered.ok()["billingKey"].as_str().unwrap().to_owned();
    let (_, issued) = receiver.next(WAIT).await;
    assert_eq!(issued["type"], "BillingKey.Issued");
    let info = s.api.get(&format!("/billing-keys/{key}")).await;
    assert_eq!(info.ok()["customer"]["id"], "c-9");

    let bad = s
        .api
        .post(
            &format!("/internal/payments/{}", new_id()),
            json!({"orderName": "x", "amount": {"total": 1000}, "method": "CASH"}),
        )
        .await;
    assert_eq!(kind(&bad, 400), "INVALID_REQUEST");
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_injected_faults_answer_in_portones_shape() {
    let s = start_default().await;
    let unknown = s.api.get("/nothing-here").await;
    assert_eq!(error_type(&unknown, 404), "INVALID_REQUEST");
    let method = s
        .api
        .send(reqwest::Method::PUT, "/payments/x/cancel", None, &[])
        .await;
    assert_eq!(error_type(&method, 405), "INVALID_REQUEST");

    let id = paid(&s.api, 1000).await;
    s.internal
        .post(
            "/internal/faults",
            json!({"path": "/payments/*", "method": "GET", "action": "error", "code": "PG_PROVIDER"}),
        )
        .await
        .ok();
    let fault = s.api.get(&format!("/payments/{id}")).await;
    assert_eq!(kind(&fault, 502), "PG_PROVIDER");
    assert!(fault.body["pgCode"].is_string() && fault.body["pgMessage"].is_string());
    s.api.get(&format!("/payments/{id}")).await.ok();
}

#[tokio::test]
async fn a_store_keeps_at_most_its_capacity_of_payments() {
    let s = start(PortOneConfig {
        capacity: 3,
        ..PortOneConfig::default()
    })
    .await;
    let first = paid(&s.api, 1000).await;
    for _ in 0..3 {
        paid(&s.api, 1000).await;
    }
    assert_eq!(
        kind(&s.api.get(&format!("/payments/{first}")).await, 404),
        "PAYMENT_NOT_FOUND"
    );
    let listed = s.api.get("/payments").await;
    assert_eq!(listed.ok()["page"]["totalCount"], 3);
}

/// Every kind of successful answer, and raw signed webhooks, kept for the SDK check when
/// `PORTONE_RESPONSES_DIR` is set; checked here as far as the Rust types go.
#[tokio::test]
async fn every_kind_of_answer_and_webhook_for_the_sdk_check() {
    use axum::routing::post;
    let (hooks_tx, mut hooks) =
        tokio::sync::mpsc::unbounded_channel::<(axum::http::HeaderMap, String)>();
    let hook_app = axum::Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let tx = hooks_tx.clone();
            async move {
                let _ = tx.send((headers, body));
            }
        }),
    );
    let hook_url = format!("{}/hook", spawn(hook_app).await);
    let s = start(PortOneConfig {
        webhook_url: Some(hook_url),
        webhook_mode: DeliveryMode::Sync,
        ..PortOneConfig::default()
    })
    .await;
    let api = &s.api;

    let login = s
        .internal
        .post(
            "/login/api-secret",
            json!({"apiSecret": DEFAULT_API_SECRET}),
        )
        .await;
    let refresh = ok_as(&login, "LoginViaApiSecretResponse", "login")["refreshToken"].clone();
    let refreshed = s
        .internal
        .post("/token/refresh", json!({"refreshToken": refresh}))
        .await;
    ok_as(&refreshed, "RefreshTokenResponse", "refresh");

    // Payments in every status.
    let ready = new_id();
    let window = api
        .post(
            &format!("/internal/payments/{ready}"),
            json!({"orderName": "x", "amount": {"total": 1000}, "manualConfirm": true}),
        )
        .await;
    let token = window.ok()["paymentToken"].clone();
    ok_as(
        &api.get(&format!("/payments/{ready}")).await,
        "Payment",
        "ready",
    );
    let confirmed = api
        .post(
            &format!("/payments/{ready}/confirm"),
            json!({"paymentToken": token}),
        )
        .await;
    ok_as(&confirmed, "ConfirmedPaymentSummary", "confirm");

    let paid_id = new_id();
    let instant = api
        .post(
            &format!("/payments/{paid_id}/instant"),
            instant_card("4330123412341234", 10_000),
        )
        .await;
    ok_as(&instant, "PayInstantlyResponse", "card");
    ok_as(
        &api.get(&format!("/payments/{paid_id}")).await,
        "Payment",
        "paid-card",
    );
    let partial = api
        .post(&format!("/payments/{paid_id}/cancel"), cancel(Some(1000)))
        .await;
    ok_as(&partial, "CancelPaymentResponse", "partial");
    ok_as(
        &api.get(&format!("/payments/{paid_id}")).await,
        "Payment",
        "partial-cancelled",
    );
    let resent = api
        .post(&format!("/payments/{paid_id}/resend-webhook"), json!({}))
        .await;
    ok_as(&resent, "ResendWebhookResponse", "resend");

    let failed = new_id();
    let _ = api
        .post(
            &format!("/payments/{failed}/instant"),
            instant_card("4330123412340002", 1000),
        )
        .await;
    ok_as(
        &api.get(&format!("/payments/{failed}")).await,
        "Payment",
        "failed",
    );

    let account = new_id();
    let issued = api
        .post(
            &format!("/payments/{account}/instant"),
            instant_account(5000),
        )
        .await;
    ok_as(&issued, "PayInstantlyResponse", "virtual-account");
    ok_as(
        &api.get(&format!("/payments/{account}")).await,
        "Payment",
        "virtual-account-issued",
    );
    api.post(&format!("/internal/payments/{account}/deposit"), json!({}))
        .await
        .ok();
    ok_as(
        &api.get(&format!("/payments/{account}")).await,
        "Payment",
        "paid-deposit",
    );
    ok_as(
        &api.get(&format!("/payments/{account}/cash-receipt")).await,
        "CashReceipt",
        "issued",
    );
    api.post(
        &format!("/payments/{account}/cancel"),
        json!({"reason": "x", "refundAccount": {"bank": "KOOKMIN", "number": "1234", "holderName": "홍길동"}}),
    )
    .await
    .ok();
    ok_as(
        &api.get(&format!("/payments/{account}")).await,
        "Payment",
        "cancelled",
    );
    ok_as(
        &api.get(&format!("/payments/{account}/cash-receipt")).await,
        "CashReceipt",
        "cancelled",
    );
    let closing = new_id();
    api.post(
        &format!("/payments/{closing}/instant"),
        instant_account(5000),
    )
    .await
    .ok();
    let closed = api
        .send(
            reqwest::Method::POST,
            &format!("/payments/{closing}/virtual-account/close"),
            None,
            &[],
        )
        .await;
    ok_as(&closed, "CloseVirtualAccountResponse", "close");

    let pre = api
        .post(
            &format!("/payments/{}/pre-register", new_id()),
            json!({"totalAmount": 1000}),
        )
        .await;
    ok_as(&pre, "PreRegisterPaymentResponse", "pre-register");

    // One more waiting for confirmation and one waiting for its deposit, for the lists.
    api.post(
        &format!("/internal/payments/{}", new_id()),
        json!({"orderName": "x", "amount": {"total": 1000}, "manualConfirm": true}),
    )
    .await
    .ok();
    api.post(
        &format!("/payments/{}/instant", new_id()),
        instant_account(5000),
    )
    .await
    .ok();
    let payments = api
        .get("/payments?requestBody=%7B%22page%22%3A%7B%22size%22%3A100%7D%7D")
        .await;
    let listed: GetPaymentsResponse =
        serde_json::from_value(ok_as(&payments, "GetPaymentsResponse", "all").clone()).unwrap();
    let statuses: std::collections::BTreeSet<String> = listed
        .items
        .iter()
        .map(|p| format!("{:?}", p.status()))
        .collect();
    assert_eq!(
        statuses.len(),
        6,
        "every status but PAY_PENDING: {statuses:?}"
    );
    let by_cursor = api
        .send(
            reqwest::Method::GET,
            "/payments-by-cursor",
            Some(json!({"size": 3})),
            &[],
        )
        .await;
    ok_as(&by_cursor, "GetAllPaymentsByCursorResponse", "first");

    // Billing keys and schedules.
    let issued_key = api
        .post(
            "/billing-keys",
            json!({"method": {"card": card("4330123412341234")}}),
        )
        .await;
    let key =
        ok_as(&issued_key, "IssueBillingKeyResponse", "issue")["billingKeyInfo"]["billingKey"]
            .as_str()
            .unwrap()
            .to_owned();
    ok_as(
        &api.get(&format!("/billing-keys/{key}")).await,
        "BillingKeyInfo",
        "issued",
    );
    let charged = api
        .post(
            &format!("/payments/{}/billing-key", new_id()),
            charge(&key, 1000),
        )
        .await;
    ok_as(&charged, "PayWithBillingKeyResponse", "charge");
    let at = |days: i64| (s.fake.clock().now() + chrono::Duration::days(days)).to_rfc3339();
    let mut schedule_ids = Vec::new();
    for days in [1, 2, 3] {
        let created = api
            .post(
                &format!("/payments/{}/schedule", new_id()),
                json!({"payment": charge(&key, 1000), "timeToPay": at(days)}),
            )
            .await;
        schedule_ids.push(
            ok_as(&created, "CreatePaymentScheduleResponse", "schedule")["schedule"]["id"].clone(),
        );
    }
    let revoked = api
        .send(
            reqwest::Method::DELETE,
            "/payment-schedules",
            Some(json!({"scheduleIds": [schedule_ids[2]]})),
            &[],
        )
        .await;
    ok_as(&revoked, "RevokePaymentSchedulesResponse", "revoke");
    s.fake.advance(chrono::Duration::hours(30)).await;
    let schedules = api.get("/payment-schedules").await;
    let statuses: Vec<&str> = ok_as(&schedules, "GetPaymentSchedulesResponse", "all")["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["SUCCEEDED", "SCHEDULED", "REVOKED"]);
    let poor = billing_key(api, "4330123412349995").await;
    let doomed = api
        .post(
            &format!("/payments/{}/schedule", new_id()),
            json!({"payment": charge(&poor, 1000), "timeToPay": at(1)}),
        )
        .await;
    doomed.ok();
    s.fake.advance(chrono::Duration::days(2)).await;
    let failed_schedule = api
        .get("/payment-schedules?requestBody=%7B%22filter%22%3A%7B%22status%22%3A%5B%22FAILED%22%5D%7D%7D")
        .await;
    assert_eq!(
        ok_as(&failed_schedule, "GetPaymentSchedulesResponse", "failed")["page"]["totalCount"],
        1
    );

    api.send(
        reqwest::Method::DELETE,
        "/payment-schedules",
        Some(json!({"billingKey": key})),
        &[],
    )
    .await
    .ok();
    let deleted = api.delete(&format!("/billing-keys/{key}")).await;
    ok_as(&deleted, "DeleteBillingKeyResponse", "delete");
    ok_as(
        &api.get(&format!("/billing-keys/{key}")).await,
        "BillingKeyInfo",
        "deleted",
    );
    ok_as(
        &api.get("/billing-keys").await,
        "GetBillingKeyInfosResponse",
        "all",
    );

    // Every webhook, raw, with its headers, the secret it should verify with, and when it
    // was kept in real (unix) seconds: the check may run long after this test, and verifies
    // the signature's timestamp as of then.
    let captured_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut kinds = std::collections::BTreeSet::new();
    let mut n = 0;
    while let Ok((headers, body)) = hooks.try_recv() {
        let webhook: Webhook = serde_json::from_str(&body).unwrap();
        kinds.insert(webhook.kind.as_str());
        let headers: serde_json::Map<String, Value> =
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
                .iter()
                .map(|name| ((*name).to_owned(), json!(headers[*name].to_str().unwrap())))
                .collect();
        n += 1;
        capture(
            "RawWebhook",
            &format!("{n}"),
            &json!({"secret": DEFAULT_WEBHOOK_SECRET, "headers": headers, "payload": body,
                "captured_at": captured_at}),
            None,
        );
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "BillingKey.Deleted",
            "BillingKey.Issued",
            "Transaction.Cancelled",
            "Transaction.Failed",
            "Transaction.Paid",
            "Transaction.PartialCancelled",
            "Transaction.VirtualAccountIssued",
        ]
    );
}
