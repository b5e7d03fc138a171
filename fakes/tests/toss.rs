//! The fake Toss over real HTTP on loopback.

mod support;

use std::time::{Duration, Instant};

use payments_api::toss::{TossBilling, TossCashReceipt, TossPayment, TossWebhook};
use payments_fakes::Fake as _;
use payments_fakes::compat::Compat;
use payments_fakes::delivery::DeliveryMode;
use payments_fakes::toss::{DEFAULT_SECRET_KEY, FakeToss, TossConfig};
use serde_json::{Value, json};
use support::{Answer, Api, Receiver, spawn};

const KEY: &str = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R";
const WAIT: Duration = Duration::from_secs(5);

struct Setup {
    api: Api,
    internal: Api,
    fake: FakeToss,
}

async fn start(config: TossConfig) -> Setup {
    let fake = FakeToss::new(config);
    let url = spawn(fake.router()).await;
    Setup {
        api: Api::new(&url, Some(KEY)),
        internal: Api::new(&url, None),
        fake,
    }
}

async fn start_default() -> Setup {
    start(TossConfig::default()).await
}

/// A fake whose webhooks go to a fresh receiver, delivered before each response returns.
async fn start_with_receiver() -> (Setup, Receiver) {
    let receiver = Receiver::start().await;
    let setup = start(TossConfig {
        webhook_url: Some(receiver.url.clone()),
        webhook_mode: DeliveryMode::Sync,
        ..TossConfig::default()
    })
    .await;
    (setup, receiver)
}

fn order() -> String {
    format!("order-{}", uuid::Uuid::new_v4().simple())
}

fn key_in(order_id: &str, amount: u32, approved: bool) -> Value {
    json!({
        "method": "card",
        "cardNumber": "4330123412341234",
        "cardExpirationYear": "49",
        "cardExpirationMonth": "12",
        "cardPassword": "12",
        "amount": amount,
        "orderId": order_id,
        "orderName": "토스 티셔츠",
        "customerBirthday": "880311",
        "__approved": approved,
    })
}

fn virtual_account(order_id: &str, amount: u32) -> Value {
    json!({
        "method": "virtual-account",
        "orderId": order_id,
        "orderName": "토스 티셔츠",
        "bank": "신한",
        "customerName": "홍길동",
        "amount": amount,
    })
}

fn typed(value: &Value) -> TossPayment {
    serde_json::from_value(value.clone()).expect("the SDK's payment type reads it")
}

async fn paid_card(api: &Api, amount: u32) -> Value {
    api.post("/v1/payments/key-in", key_in(&order(), amount, true))
        .await
        .ok()
        .clone()
}

/// A card payment approved through `/v1/payments/confirm`: one `PAYMENT_STATUS_CHANGED`.
async fn confirmed_card(api: &Api) -> String {
    let order_id = order();
    let waiting = api
        .post("/v1/payments/key-in", key_in(&order_id, 5000, false))
        .await;
    let key = key_of(waiting.ok());
    api.post(
        "/v1/payments/confirm",
        json!({"paymentKey": key, "orderId": order_id, "amount": 5000}),
    )
    .await
    .ok();
    key
}

fn key_of(payment: &Value) -> String {
    payment["paymentKey"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn auth_accepts_the_default_and_test_keys_only() {
    let s = start_default().await;
    let path = "/v1/payments/nothing";
    // Accepted keys reach the handler (which finds no payment).
    assert_eq!(s.api.get(path).await.error(404), "NOT_FOUND_PAYMENT");
    assert_eq!(
        s.api
            .as_merchant(DEFAULT_SECRET_KEY)
            .get(path)
            .await
            .error(404),
        "NOT_FOUND_PAYMENT"
    );
    for bad in [
        s.internal.clone(),
        s.api.as_merchant("test_sk_"),
        s.api.as_merchant("live_sk_abc"),
        Api {
            auth: Some("Bearer abc".into()),
            ..s.internal.clone()
        },
        Api {
            auth: Some("Basic !!!".into()),
            ..s.internal.clone()
        },
    ] {
        let answer = bad.get(path).await;
        assert_eq!(answer.error(401), "UNAUTHORIZED_KEY");
        assert!(answer.body["message"].as_str().unwrap().len() > 10);
    }
    // Toss's error codes (docs.tosspayments.com/reference/error-codes, 403): a Basic value
    // encoded without the `:` after the key is `INCORRECT_BASIC_AUTH_FORMAT`.
    let no_colon = Api {
        auth: Some(format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, KEY)
        )),
        ..s.internal.clone()
    };
    assert_eq!(
        no_colon.get(path).await.error(403),
        "INCORRECT_BASIC_AUTH_FORMAT"
    );
}

#[tokio::test]
async fn merchants_see_only_their_own_data() {
    let s = start_default().await;
    let other = s.api.as_merchant("test_sk_other_merchant_0000");
    let order_id = order();
    let mine = s
        .api
        .post("/v1/payments/key-in", key_in(&order_id, 1000, true))
        .await;
    let key = key_of(mine.ok());
    assert_eq!(
        other.get(&format!("/v1/payments/{key}")).await.error(404),
        "NOT_FOUND_PAYMENT"
    );
    // The same orderId is free for another merchant.
    other
        .post("/v1/payments/key-in", key_in(&order_id, 2000, true))
        .await
        .ok();
    let again = s.api.get(&format!("/v1/payments/orders/{order_id}")).await;
    assert_eq!(again.ok()["totalAmount"], 1000);
}

#[tokio::test]
async fn key_in_makes_a_done_card_payment_in_the_sdks_shape() {
    let s = start_default().await;
    let order_id = order();
    let answer = s
        .api
        .post("/v1/payments/key-in", key_in(&order_id, 15000, true))
        .await;
    assert_eq!(answer.status, 200);
    let body = answer.ok();
    let payment = typed(body);
    let TossPayment::Card(card) = &payment else {
        panic!("a card payment: {body}")
    };
    assert_eq!(body["status"], "DONE");
    assert_eq!(body["method"], "카드");
    assert_eq!(body["balanceAmount"], 15000);
    assert_eq!(
        body["suppliedAmount"].as_f64().unwrap() + body["vat"].as_f64().unwrap(),
        15000.0
    );
    assert_eq!(card.card.number, "4330123412341234");
    assert!(card.base.approved_at.is_some());
    // KST, whole seconds, as the real API writes them.
    let requested = body["requestedAt"].as_str().unwrap();
    assert!(
        requested.ends_with("+09:00") && requested.len() == 25,
        "{requested}"
    );
    assert_eq!(body["cancels"], Value::Null);
    assert_eq!(body["cashReceipt"], Value::Null);

    let key = key_of(body);
    assert_eq!(s.api.get(&format!("/v1/payments/{key}")).await.ok(), body);
    assert_eq!(
        s.api
            .get(&format!("/v1/payments/orders/{order_id}"))
            .await
            .ok(),
        body
    );
    assert_eq!(
        s.api.get("/v1/payments/orders/nothing").await.error(404),
        "NOT_FOUND_PAYMENT"
    );
}

/// The Payment object of API version 2022-11-16 (docs.tosspayments.com/reference#payment-객체,
/// and the version's changelog): `lastTransactionKey`, `receipt.url`, `checkout.url`,
/// `failure`, `isPartialCancelable`, `country`, `metadata`, `cashReceipts`,
/// `taxExemptionAmount`; the card's `amount`, `issuerCode`, `acquirerCode`,
/// `interestPayer`; cancels with `transactionKey`, `cancelStatus`, `receiptKey`,
/// `taxExemptionAmount`, `easyPayDiscountAmount` and `cancelRequestId` (the reference's
/// Payment 객체 `cancels`; a cancel without a cash receipt or a request id has them `null`,
/// as Toss's answers show). Where the SDK types
/// a field differently (`card.number` unmasked, `easyPay` a name), its type is kept.
#[tokio::test]
async fn payments_have_the_2022_11_16_objects_fields() {
    let s = start_default().await;
    let paid = paid_card(&s.api, 15000).await;
    assert_eq!(paid["version"], "2022-11-16");
    assert_eq!(paid["lastTransactionKey"], paid["transactionKey"]);
    let key = key_of(&paid);
    assert!(
        paid["receipt"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert!(paid["checkout"]["url"].as_str().unwrap().contains(&key));
    assert_eq!(paid["failure"], Value::Null);
    assert_eq!(paid["isPartialCancelable"], true);
    assert_eq!(paid["country"], "KR");
    assert_eq!(paid["metadata"], Value::Null);
    assert_eq!(paid["cashReceipts"], Value::Null);
    assert_eq!(paid["taxExemptionAmount"], 0);
    assert_eq!(paid["card"]["amount"], 15000);
    assert_eq!(paid["card"]["issuerCode"], "41");
    assert_eq!(paid["card"]["acquirerCode"], "41");
    assert_eq!(paid["card"]["interestPayer"], Value::Null);

    let cancelled = s
        .api
        .post(
            &format!("/v1/payments/{key}/cancel"),
            json!({"cancelReason": "부분", "cancelAmount": 5000}),
        )
        .await;
    let cancelled = cancelled.ok();
    let cancel = &cancelled["cancels"][0];
    assert_eq!(cancel["cancelStatus"], "DONE");
    assert_eq!(cancel["receiptKey"], Value::Null);
    assert_eq!(cancel["taxExemptionAmount"], 0);
    assert_eq!(cancel["easyPayDiscountAmount"], 0);
    assert_eq!(cancel["cancelRequestId"], Value::Null);
    for field in ["receiptKey", "cancelRequestId"] {
        assert!(cancel.as_object().unwrap().contains_key(field), "{field}");
    }
    assert_eq!(cancel["transactionKey"].as_str().unwrap().len(), 32);
    assert_eq!(cancelled["lastTransactionKey"], cancel["transactionKey"]);
    assert_ne!(cancelled["lastTransactionKey"], paid["transactionKey"]);
    typed(cancelled);

    let receipt = s
        .api
        .post(
            "/v1/cash-receipts",
            json!({"paymentKey": key, "orderId": paid["orderId"], "orderName": "토스 티셔츠",
                   "amount": 10000, "type": "소득공제", "registrationNumber": "01012345678"}),
        )
        .await;
    let receipt_key = receipt.ok()["receiptKey"].clone();
    let read = s.api.get(&format!("/v1/payments/{key}")).await;
    let history = &read.ok()["cashReceipts"];
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["receiptKey"], receipt_key);
    assert_eq!(history[0]["transactionType"], "CONFIRM");
    assert_eq!(history[0]["issueStatus"], "COMPLETED");
    typed(read.ok());
}

#[tokio::test]
async fn key_in_refuses_bad_input() {
    let s = start_default().await;
    let order_id = order();
    paid_card(&s.api, 1000).await;
    s.api
        .post("/v1/payments/key-in", key_in(&order_id, 1000, true))
        .await
        .ok();
    let duplicate = s
        .api
        .post("/v1/payments/key-in", key_in(&order_id, 1000, true))
        .await;
    assert_eq!(duplicate.error(400), "DUPLICATED_ORDER_ID");

    let mut bad_card = key_in(&order(), 1000, true);
    bad_card["cardNumber"] = json!("1234");
    assert_eq!(
        s.api.post("/v1/payments/key-in", bad_card).await.error(400),
        "INVALID_CARD_NUMBER"
    );
    let mut expired = key_in(&order(), 1000, true);
    expired["cardExpirationYear"] = json!("20");
    assert_eq!(
        s.api.post("/v1/payments/key-in", expired).await.error(400),
        "INVALID_CARD_EXPIRATION"
    );
    let mut negative = key_in(&order(), 1000, true);
    negative["amount"] = json!(-5);
    assert_eq!(
        s.api.post("/v1/payments/key-in", negative).await.error(400),
        "INVALID_REQUEST"
    );
    let missing = s
        .api
        .post("/v1/payments/key-in", json!({"orderId": order()}))
        .await;
    assert_eq!(missing.error(400), "INVALID_REQUEST");
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("missing field")
    );
    let garbage = s
        .api
        .send(
            reqwest::Method::POST,
            "/v1/payments/key-in",
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(garbage.error(400), "INVALID_REQUEST");
}

#[tokio::test]
async fn confirm_checks_order_and_amount_then_approves_once() {
    let (s, hooks) = start_with_receiver().await;
    let order_id = order();
    let pending = s
        .api
        .post("/v1/payments/key-in", key_in(&order_id, 30000, false))
        .await;
    let body = pending.ok();
    assert_eq!(body["status"], "IN_PROGRESS");
    assert_eq!(body["approvedAt"], Value::Null);
    let key = key_of(body);

    let wrong_order = json!({"paymentKey": key, "orderId": "wrong-order-id", "amount": 30000});
    assert_eq!(
        s.api
            .post("/v1/payments/confirm", wrong_order)
            .await
            .error(400),
        "INVALID_REQUEST"
    );
    let wrong_amount = json!({"paymentKey": key, "orderId": order_id, "amount": 29900});
    assert_eq!(
        s.api
            .post("/v1/payments/confirm", wrong_amount)
            .await
            .error(400),
        "INVALID_REQUEST"
    );
    let unknown = json!({"paymentKey": "nope", "orderId": order_id, "amount": 30000});
    assert_eq!(
        s.api.post("/v1/payments/confirm", unknown).await.error(404),
        "NOT_FOUND_PAYMENT"
    );
    assert!(hooks.try_next().await.is_none(), "refusals change nothing");

    let good = json!({"paymentKey": key, "orderId": order_id, "amount": 30000});
    let done = s.api.post("/v1/payments/confirm", good.clone()).await;
    assert_eq!(done.ok()["status"], "DONE");
    assert!(done.body["approvedAt"].is_string());
    let (_, event) = hooks.next(WAIT).await;
    assert_eq!(event["eventType"], "PAYMENT_STATUS_CHANGED");
    assert_eq!(event["data"]["status"], "DONE");

    assert_eq!(
        s.api.post("/v1/payments/confirm", good).await.error(400),
        "ALREADY_PROCESSED_PAYMENT"
    );
    // The legacy approval path answers the same.
    let legacy = s
        .api
        .post(
            &format!("/v1/payments/{key}"),
            json!({"orderId": order_id, "amount": 30000}),
        )
        .await;
    assert_eq!(legacy.error(400), "ALREADY_PROCESSED_PAYMENT");
}

#[tokio::test]
async fn the_legacy_approval_path_approves() {
    let s = start_default().await;
    let order_id = order();
    let key = key_of(
        s.api
            .post("/v1/payments/key-in", key_in(&order_id, 5000, false))
            .await
            .ok(),
    );
    let approved = s
        .api
        .post(
            &format!("/v1/payments/{key}"),
            json!({"orderId": order_id, "amount": 5000}),
        )
        .await;
    assert_eq!(approved.ok()["status"], "DONE");
}

#[tokio::test]
async fn the_payment_window_waits_for_confirmation_and_expires() {
    let s = start_default().await;
    let order_id = order();
    let window = s
        .api
        .post(
            "/internal/payments",
            json!({"orderId": order_id, "amount": 12000}),
        )
        .await;
    let result = window.ok().clone();
    assert_eq!(result["orderId"], order_id);
    assert_eq!(result["amount"], 12000);
    let key = result["paymentKey"].as_str().unwrap().to_owned();
    let payment = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(payment.ok()["status"], "IN_PROGRESS");

    // Toss's confirm guide (docs.tosspayments.com/guides/v2/payment-widget/integration,
    // "결제 승인"): the merchant has 10 minutes after the customer authenticated; later the
    // confirmation answers `NOT_FOUND_PAYMENT_SESSION`.
    s.fake.advance(chrono::Duration::minutes(9)).await;
    let waiting = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(waiting.ok()["status"], "IN_PROGRESS");
    s.fake.advance(chrono::Duration::minutes(2)).await;
    let expired = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(expired.ok()["status"], "EXPIRED");
    let late = s
        .api
        .post(
            "/v1/payments/confirm",
            json!({"paymentKey": key, "orderId": order_id, "amount": 12000}),
        )
        .await;
    assert_eq!(late.error(404), "NOT_FOUND_PAYMENT_SESSION");
}

#[tokio::test]
async fn a_virtual_account_chosen_in_the_window_is_issued_on_confirmation() {
    let s = start_default().await;
    let order_id = order();
    let key = s
        .api
        .post(
            "/internal/payments",
            json!({"orderId": order_id, "amount": 19900, "method": "virtual-account"}),
        )
        .await
        .ok()["paymentKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirmed = s
        .api
        .post(
            "/v1/payments/confirm",
            json!({"paymentKey": key, "orderId": order_id, "amount": 19900}),
        )
        .await;
    assert_eq!(confirmed.ok()["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(
        confirmed.body["virtualAccount"]["settlementStatus"],
        "INCOMPLETED"
    );
    let deposited = s.api.put(&format!("/internal/{key}/deposit"), None).await;
    assert_eq!(deposited.ok()["status"], "DONE");
}

#[tokio::test]
async fn the_test_code_header_fails_requests_and_aborts_approvals() {
    let s = start_default().await;
    let order_id = order();
    let key = key_of(
        s.api
            .post("/v1/payments/key-in", key_in(&order_id, 1000, false))
            .await
            .ok(),
    );
    let rejected = s
        .api
        .send(
            reqwest::Method::POST,
            "/v1/payments/confirm",
            Some(json!({"paymentKey": key, "orderId": order_id, "amount": 1000})),
            &[("TossPayments-Test-Code", "REJECT_CARD_COMPANY")],
        )
        .await;
    assert_eq!(rejected.error(403), "REJECT_CARD_COMPANY");
    let aborted = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(aborted.ok()["status"], "ABORTED");
    // The Payment object (docs.tosspayments.com/reference#payment-객체): a failed payment
    // says why in `failure`.
    assert_eq!(aborted.body["failure"]["code"], "REJECT_CARD_COMPANY");
    assert!(aborted.body["failure"]["message"].as_str().unwrap().len() > 5);

    let failed_lookup = s
        .api
        .send(
            reqwest::Method::GET,
            &format!("/v1/payments/{key}"),
            None,
            &[(
                "TossPayments-Test-Code",
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
            )],
        )
        .await;
    assert_eq!(
        failed_lookup.error(500),
        "FAILED_INTERNAL_SYSTEM_PROCESSING"
    );
    let unknown_code = s
        .api
        .send(
            reqwest::Method::POST,
            "/v1/payments/key-in",
            Some(key_in(&order(), 1000, true)),
            &[("TossPayments-Test-Code", "INVALID_STOPPED_CARD")],
        )
        .await;
    assert_eq!(unknown_code.error(400), "INVALID_STOPPED_CARD");
}

/// Declines without the test header: the fake's magic card numbers (by their last four
/// digits) refuse key-in, confirm and billing charges with Toss's codes and statuses
/// (docs.tosspayments.com/reference/error-codes, 결제 승인), and leave the payment `ABORTED`
/// with its `failure`, as the test-code header and a fault rule can too.
#[tokio::test]
async fn magic_card_numbers_decline_with_tosss_codes_and_abort_the_payment() {
    let s = start_default().await;
    for (ending, code, status) in [
        ("0002", "REJECT_CARD_COMPANY", 403),
        ("0003", "EXCEED_MAX_DAILY_PAYMENT_COUNT", 400),
        ("0004", "INVALID_STOPPED_CARD", 400),
        ("0005", "EXCEED_MAX_PAYMENT_AMOUNT", 400),
        ("9995", "REJECT_CARD_PAYMENT", 403),
    ] {
        let card = format!("433012341234{ending}");
        // Key-in.
        let order_id = order();
        let mut body = key_in(&order_id, 1000, true);
        body["cardNumber"] = json!(card);
        let refused = s.api.post("/v1/payments/key-in", body).await;
        assert_eq!(refused.error(status), code);
        let aborted = s.api.get(&format!("/v1/payments/orders/{order_id}")).await;
        assert_eq!(aborted.ok()["status"], "ABORTED");
        assert_eq!(aborted.body["failure"]["code"], code);
        typed(&aborted.body);

        // Confirm of a payment waiting for it: a wrong amount is refused first.
        let order_id = order();
        let mut body = key_in(&order_id, 1000, false);
        body["cardNumber"] = json!(card);
        let key = key_of(s.api.post("/v1/payments/key-in", body).await.ok());
        let confirm = |amount: u32| {
            s.api.post(
                "/v1/payments/confirm",
                json!({"paymentKey": key, "orderId": order_id, "amount": amount}),
            )
        };
        assert_eq!(confirm(999).await.error(400), "INVALID_REQUEST");
        assert_eq!(confirm(1000).await.error(status), code);
        let aborted = s.api.get(&format!("/v1/payments/{key}")).await;
        assert_eq!(aborted.ok()["status"], "ABORTED");
        assert_eq!(aborted.body["failure"]["code"], code);

        // A billing charge.
        let mut billing = billing_card("magic-customer");
        billing["cardNumber"] = json!(card);
        let issued = s.api.post("/v1/billing/authorizations/card", billing).await;
        let billing_key = issued.ok()["billingKey"].as_str().unwrap().to_owned();
        let order_id = order();
        let charged = s
            .api
            .post(
                &format!("/v1/billing/{billing_key}"),
                json!({"customerKey": "magic-customer", "orderId": order_id, "amount": 4900, "orderName": "구독"}),
            )
            .await;
        assert_eq!(charged.error(status), code);
        let aborted = s.api.get(&format!("/v1/payments/orders/{order_id}")).await;
        assert_eq!(aborted.ok()["status"], "ABORTED");
        assert_eq!(aborted.body["type"], "BILLING");
    }

    // The same failure through Toss's own test header, on a key-in and a billing charge.
    let order_id = order();
    let header = [("TossPayments-Test-Code", "EXCEED_MAX_DAILY_PAYMENT_COUNT")];
    let refused = s
        .api
        .send(
            reqwest::Method::POST,
            "/v1/payments/key-in",
            Some(key_in(&order_id, 1000, true)),
            &header,
        )
        .await;
    assert_eq!(refused.error(400), "EXCEED_MAX_DAILY_PAYMENT_COUNT");
    let aborted = s.api.get(&format!("/v1/payments/orders/{order_id}")).await;
    assert_eq!(
        aborted.ok()["failure"]["code"],
        "EXCEED_MAX_DAILY_PAYMENT_COUNT"
    );
    let issued = s
        .api
        .post(
            "/v1/billing/authorizations/card",
            billing_card("header-customer"),
        )
        .await;
    let billing_key = issued.ok()["billingKey"].as_str().unwrap().to_owned();
    let refused = s
        .api
        .send(
            reqwest::Method::POST,
            &format!("/v1/billing/{billing_key}"),
            Some(json!({"customerKey": "header-customer", "orderId": order(), "amount": 4900})),
            &[("TossPayments-Test-Code", "REJECT_CARD_COMPANY")],
        )
        .await;
    assert_eq!(refused.error(403), "REJECT_CARD_COMPANY");

    // And through a fault rule, which answers before the fake acts.
    s.internal
        .post(
            "/internal/faults",
            json!({"path": "/v1/payments/key-in", "action": "error", "code": "INVALID_STOPPED_CARD"}),
        )
        .await
        .ok();
    let order_id = order();
    let faulted = s
        .api
        .post("/v1/payments/key-in", key_in(&order_id, 1000, true))
        .await;
    assert_eq!(faulted.error(400), "INVALID_STOPPED_CARD");
    let nothing = s.api.get(&format!("/v1/payments/orders/{order_id}")).await;
    assert_eq!(nothing.error(404), "NOT_FOUND_PAYMENT");
}

/// Every Payment object carries every method's field, `null` for the methods it was not
/// paid by: the reference's Payment 객체 and the samples of its guides (결제 취소 API: a card
/// payment answers `"virtualAccount": null`, `"transfer": null`, `"mobilePhone": null`,
/// `"giftCertificate": null`, `"discount": null`; 에러 코드's ABORTED card payment
/// `"secret": null`, `"easyPay": null`; a virtual account `"card": null`).
/// Clients that declare these fields as present but nullable read them.
#[tokio::test]
async fn payments_carry_every_methods_field() {
    let s = start_default().await;
    let fields = payments_api::toss::METHOD_FIELDS;
    let card = paid_card(&s.api, 1000).await;
    let account = s
        .api
        .post("/v1/virtual-accounts", virtual_account(&order(), 10000))
        .await
        .ok()
        .clone();
    for (payment, own) in [(&card, "card"), (&account, "virtualAccount")] {
        let object = payment.as_object().unwrap();
        for field in fields {
            assert!(object.contains_key(field), "{own} payment lacks {field}");
            let expect_set = field == own || (own == "virtualAccount" && field == "secret");
            assert_eq!(
                !object[field].is_null(),
                expect_set,
                "{own} payment's {field}"
            );
        }
        typed(payment);
    }
    let key = key_of(&card);
    let read = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(read.ok()["virtualAccount"], Value::Null);
    assert!(
        read.ok()
            .as_object()
            .unwrap()
            .contains_key("virtualAccount")
    );
}

/// The virtual account of a 2022-11-16 Payment object names its bank by `bankCode`, the
/// two-digit code of Toss's reference (코드 > 은행 코드), however the issue request named it
/// (code, English code or Korean name; docs.tosspayments.com/reference, 가상계좌 발급
/// `bank`). The SDK's `bank` stays as asked. A bank outside the guide's list of issuing
/// banks (docs.tosspayments.com/guides/payment/virtual-account-api) has no code.
#[tokio::test]
async fn a_virtual_account_names_its_bank_by_code() {
    let s = start_default().await;
    for (bank, code) in [
        ("신한", json!("88")),
        ("KB국민은행", json!("06")),
        ("KOOKMIN", json!("06")),
        ("20", json!("20")),
        ("우리은행", json!("20")),
        ("새마을금고", json!("45")),
        ("🏦", Value::Null),
    ] {
        let mut body = virtual_account(&order(), 10000);
        body["bank"] = json!(bank);
        let answer = s.api.post("/v1/virtual-accounts", body).await;
        let account = &answer.ok()["virtualAccount"];
        assert_eq!(account["bankCode"], code, "{bank}");
        assert_eq!(account["bank"], bank);
        let key = key_of(answer.ok());
        let read = s.api.get(&format!("/v1/payments/{key}")).await;
        assert_eq!(read.ok()["virtualAccount"]["bankCode"], code, "{bank}");
    }
}

/// Escrow (docs.tosspayments.com/reference, 가상계좌 발급 `useEscrow`, and the Payment
/// object's `useEscrow`): asked for in the window or on a virtual account, it is stored and
/// echoed; other payments are not escrow.
#[tokio::test]
async fn escrow_is_stored_and_echoed() {
    let s = start_default().await;
    let mut body = virtual_account(&order(), 10000);
    body["useEscrow"] = json!(true);
    let account = s.api.post("/v1/virtual-accounts", body).await;
    assert_eq!(account.ok()["useEscrow"], true);
    let plain = s
        .api
        .post("/v1/virtual-accounts", virtual_account(&order(), 10000))
        .await;
    assert_eq!(plain.ok()["useEscrow"], false);

    let order_id = order();
    let window = s
        .api
        .post(
            "/internal/payments",
            json!({"orderId": order_id, "amount": 12000, "useEscrow": true}),
        )
        .await;
    let key = window.ok()["paymentKey"].as_str().unwrap().to_owned();
    let confirmed = s
        .api
        .post(
            "/v1/payments/confirm",
            json!({"paymentKey": key, "orderId": order_id, "amount": 12000}),
        )
        .await;
    assert_eq!(confirmed.ok()["useEscrow"], true);
    assert_eq!(paid_card(&s.api, 1000).await["useEscrow"], false);
}

#[tokio::test]
async fn a_full_cancel_refunds_everything_once() {
    let (s, hooks) = start_with_receiver().await;
    let key = key_of(&paid_card(&s.api, 20000).await);
    let cancel = json!({"cancelReason": "고객 변심"});
    let cancelled = s
        .api
        .post(&format!("/v1/payments/{key}/cancel"), cancel.clone())
        .await;
    let body = cancelled.ok();
    assert_eq!(body["status"], "CANCELED");
    assert_eq!(body["balanceAmount"], 0);
    assert_eq!(body["cancels"].as_array().unwrap().len(), 1);
    assert_eq!(body["cancels"][0]["cancelAmount"], 20000);
    assert_eq!(body["cancels"][0]["refundableAmount"], 0);
    assert_eq!(body["card"]["acquireStatus"], "CANCELED");
    typed(body);
    let (_, event) = hooks.next(WAIT).await;
    assert_eq!(event["data"]["status"], "CANCELED");

    let again = s
        .api
        .post(&format!("/v1/payments/{key}/cancel"), cancel)
        .await;
    assert_eq!(again.error(400), "ALREADY_CANCELED_PAYMENT");
    assert_eq!(
        s.api
            .post("/v1/payments/nothing/cancel", json!({"cancelReason": "x"}))
            .await
            .error(404),
        "NOT_FOUND_PAYMENT"
    );
}

#[tokio::test]
async fn partial_cancels_accumulate_and_over_cancel_changes_nothing() {
    let (s, hooks) = start_with_receiver().await;
    let key = key_of(&paid_card(&s.api, 20000).await);
    let path = format!("/v1/payments/{key}/cancel");
    let over = s
        .api
        .post(&path, json!({"cancelReason": "x", "cancelAmount": 20100}))
        .await;
    assert_eq!(over.error(403), "NOT_CANCELABLE_AMOUNT");
    let mismatch = s
        .api
        .post(
            &path,
            json!({"cancelReason": "x", "cancelAmount": 100, "refundableAmount": 19000}),
        )
        .await;
    assert_eq!(mismatch.error(400), "NOT_MATCHES_REFUNDABLE_AMOUNT");
    let zero = s
        .api
        .post(&path, json!({"cancelReason": "x", "cancelAmount": 0}))
        .await;
    assert_eq!(zero.error(400), "INVALID_REQUEST");
    let untouched = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(untouched.ok()["balanceAmount"], 20000);
    assert_eq!(untouched.body["cancels"], Value::Null);

    for i in 1..=5 {
        let answer = s
            .api
            .post(
                &path,
                json!({"cancelReason": format!("부분 취소 {i}"), "cancelAmount": 4000, "refundableAmount": 20000 - 4000 * (i - 1)}),
            )
            .await;
        let body = answer.ok();
        let expected = if i < 5 {
            "PARTIAL_CANCELED"
        } else {
            "CANCELED"
        };
        assert_eq!(body["status"], expected);
        assert_eq!(body["balanceAmount"], 20000 - 4000 * i);
        assert_eq!(body["cancels"].as_array().unwrap().len(), i as usize);
        assert_eq!(
            body["cancels"][i as usize - 1]["refundableAmount"],
            20000 - 4000 * i
        );
        let (_, event) = hooks.next(WAIT).await;
        assert_eq!(event["data"]["status"], expected);
        assert_eq!(event["data"]["balanceAmount"], 20000 - 4000 * i);
    }
}

#[tokio::test]
async fn unpaid_payments_cannot_be_cancelled() {
    let s = start_default().await;
    let key = key_of(
        s.api
            .post("/v1/payments/key-in", key_in(&order(), 1000, false))
            .await
            .ok(),
    );
    let answer = s
        .api
        .post(
            &format!("/v1/payments/{key}/cancel"),
            json!({"cancelReason": "x"}),
        )
        .await;
    assert_eq!(answer.error(403), "NOT_CANCELABLE_PAYMENT");
    let no_reason = s
        .api
        .post(
            &format!("/v1/payments/{key}/cancel"),
            json!({"cancelReason": " "}),
        )
        .await;
    assert_eq!(no_reason.error(400), "INVALID_REQUEST");
}

#[tokio::test]
async fn virtual_accounts_are_issued_deposited_and_refunded_to_an_account() {
    let (s, hooks) = start_with_receiver().await;
    let order_id = order();
    let issued = s
        .api
        .post("/v1/virtual-accounts", virtual_account(&order_id, 25000))
        .await;
    let body = issued.ok().clone();
    assert_eq!(body["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(body["method"], "가상계좌");
    let secret = body["secret"].as_str().unwrap().to_owned();
    let due = body["virtualAccount"]["dueDate"].as_str().unwrap();
    assert_eq!(due.len(), 10, "a date, as the SDK types it: {due}");
    typed(&body);
    let (_, event) = hooks.next(WAIT).await;
    assert_eq!(event["data"]["status"], "WAITING_FOR_DEPOSIT");
    let (_, issued) = hooks.next(WAIT).await;
    assert_eq!(issued["status"], "WAITING_FOR_DEPOSIT");
    let key = key_of(&body);

    // Approving an issued account returns it unchanged.
    let approved = s
        .api
        .post(
            "/v1/payments/confirm",
            json!({"paymentKey": key, "orderId": order_id, "amount": 25000}),
        )
        .await;
    assert_eq!(approved.ok()["status"], "WAITING_FOR_DEPOSIT");
    let partial = s
        .api
        .post(
            &format!("/v1/payments/{key}/cancel"),
            json!({"cancelReason": "x", "cancelAmount": 1000}),
        )
        .await;
    assert_eq!(
        partial.error(403),
        "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT"
    );

    let deposited = s.api.put(&format!("/internal/{key}/deposit"), None).await;
    let paid = deposited.ok();
    assert_eq!(paid["status"], "DONE");
    assert!(paid["approvedAt"].is_string());
    assert_eq!(paid["virtualAccount"]["settlementStatus"], "COMPLETED");
    let (_, changed) = hooks.next(WAIT).await;
    assert_eq!(changed["eventType"], "PAYMENT_STATUS_CHANGED");
    assert_eq!(changed["data"]["status"], "DONE");
    let (_, deposit) = hooks.next(WAIT).await;
    assert!(deposit.get("eventType").is_none(), "{deposit}");
    assert_eq!(deposit["secret"], secret.as_str());
    assert_eq!(deposit["status"], "DONE");
    assert_eq!(deposit["orderId"], order_id.as_str());
    assert!(matches!(
        serde_json::from_value::<TossWebhook>(deposit).unwrap(),
        TossWebhook::DepositCallback(_)
    ));
    let twice = s.api.put(&format!("/internal/{key}/deposit"), None).await;
    assert_eq!(twice.error(400), "INVALID_REQUEST");

    let path = format!("/v1/payments/{key}/cancel");
    let no_account = s.api.post(&path, json!({"cancelReason": "x"})).await;
    assert_eq!(no_account.error(400), "INVALID_REFUND_ACCOUNT_INFO");
    let bad_number = s
        .api
        .post(
            &path,
            json!({"cancelReason": "x", "refundReceiveAccount": {"bank": "국민은행", "accountNumber": "123-456", "holderName": "홍길동"}}),
        )
        .await;
    assert_eq!(bad_number.error(400), "INVALID_REFUND_ACCOUNT_NUMBER");
    let refunded = s
        .api
        .post(
            &path,
            json!({"cancelReason": "x", "refundReceiveAccount": {"bank": "국민은행", "accountNumber": "12345678901234", "holderName": "홍길동"}}),
        )
        .await;
    assert_eq!(refunded.ok()["status"], "CANCELED");
    // The money is on its way to the account (see the refund test below).
    assert_eq!(refunded.body["virtualAccount"]["refundStatus"], "PENDING");
}

/// A deposit the bank takes back: Toss's virtual-account webhook guide
/// (docs.tosspayments.com/guides/learn/virtual-account-webhook) describes the deposit
/// cancelled, the payment back to `WAITING_FOR_DEPOSIT`, and a `DEPOSIT_CALLBACK` with
/// `{createdAt, secret, status, transactionKey, orderId}` as for the deposit.
#[tokio::test]
async fn a_deposit_taken_back_leaves_the_account_waiting_again_until_its_deadline() {
    let (s, hooks) = start_with_receiver().await;
    let order_id = order();
    let mut input = virtual_account(&order_id, 9900);
    input["validHours"] = json!(2);
    let issued = s.api.post("/v1/virtual-accounts", input).await.ok().clone();
    let key = key_of(&issued);
    let secret = issued["secret"].as_str().unwrap().to_owned();
    hooks.next(WAIT).await;
    hooks.next(WAIT).await;
    s.api
        .put(&format!("/internal/{key}/deposit"), None)
        .await
        .ok();
    hooks.next(WAIT).await;
    hooks.next(WAIT).await;

    let taken_back = s.api.delete(&format!("/internal/{key}/deposit")).await;
    let waiting = taken_back.ok();
    assert_eq!(waiting["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(waiting["approvedAt"], Value::Null);
    assert_eq!(waiting["virtualAccount"]["settlementStatus"], "INCOMPLETED");
    typed(waiting);
    let (_, changed) = hooks.next(WAIT).await;
    assert_eq!(changed["eventType"], "PAYMENT_STATUS_CHANGED");
    assert_eq!(changed["data"]["status"], "WAITING_FOR_DEPOSIT");
    let (_, callback) = hooks.next(WAIT).await;
    assert!(callback.get("eventType").is_none(), "{callback}");
    for field in ["createdAt", "transactionKey"] {
        assert!(callback[field].is_string(), "{field}: {callback}");
    }
    assert_eq!(callback["secret"], secret.as_str());
    assert_eq!(callback["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(callback["orderId"], order_id.as_str());

    // Only a deposited payment gives one back; the account takes a deposit again.
    let twice = s.api.delete(&format!("/internal/{key}/deposit")).await;
    assert_eq!(twice.error(400), "INVALID_REQUEST");
    let again = s.api.put(&format!("/internal/{key}/deposit"), None).await;
    assert_eq!(again.ok()["status"], "DONE");
    hooks.next(WAIT).await;
    hooks.next(WAIT).await;

    // Taken back again, it expires at the deadline it was issued with.
    s.api.delete(&format!("/internal/{key}/deposit")).await.ok();
    hooks.next(WAIT).await;
    hooks.next(WAIT).await;
    s.fake.advance(chrono::Duration::minutes(121)).await;
    let expired = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(expired.ok()["virtualAccount"]["expired"], true);
}

#[tokio::test]
async fn deposits_only_go_to_virtual_accounts() {
    let s = start_default().await;
    let key = key_of(&paid_card(&s.api, 1000).await);
    let answer = s.api.get(&format!("/internal/{key}/deposit")).await;
    assert_eq!(answer.error(400), "INVALID_REQUEST");
    assert_eq!(
        s.api
            .put("/internal/nothing/deposit", None)
            .await
            .error(404),
        "NOT_FOUND_PAYMENT"
    );
    assert_eq!(
        s.internal
            .put(&format!("/internal/{key}/deposit"), None)
            .await
            .error(401),
        "UNAUTHORIZED_KEY"
    );
}

fn billing_card(customer_key: &str) -> Value {
    json!({
        "customerKey": customer_key,
        "cardNumber": "5365101234567540",
        "cardExpirationYear": "49",
        "cardExpirationMonth": "03",
        "cardPassword": "99",
        "customerBirthday": "880311",
        "consumerName": "남정호",
    })
}

/// Toss's billing reference (docs.tosspayments.com/reference, "카드 번호로 빌링키 발급"):
/// the request takes `customerIdentityNumber` (birth date `YYMMDD` or a 10-digit business
/// number), with no card password; the SDK's `customerBirthday` form is accepted too.
#[tokio::test]
async fn a_billing_key_from_card_data_takes_the_real_requests_form() {
    let s = start_default().await;
    let card = |identity: Option<&str>| {
        let mut body = json!({
            "customerKey": "customer-real-form",
            "cardNumber": "4330123412341234",
            "cardExpirationYear": "49",
            "cardExpirationMonth": "07",
        });
        if let Some(identity) = identity {
            body["customerIdentityNumber"] = json!(identity);
        }
        body
    };
    for identity in ["881212", "1234567890"] {
        let issued = s
            .api
            .post("/v1/billing/authorizations/card", card(Some(identity)))
            .await;
        assert_eq!(issued.ok()["customerKey"], "customer-real-form");
    }
    for bad in [None, Some("8812"), Some("88121a")] {
        let refused = s
            .api
            .post("/v1/billing/authorizations/card", card(bad))
            .await;
        assert_eq!(refused.error(400), "INVALID_REQUEST");
        assert!(
            refused.body["message"]
                .as_str()
                .unwrap()
                .contains("customerIdentityNumber")
        );
    }
}

/// The Billing object (docs.tosspayments.com/reference, Billing 객체, version
/// 2022-11-16) describes the card in `card`: `issuerCode`, `acquirerCode`, `number`,
/// `cardType`, `ownerType`, besides the older `cardCompany` and `cardNumber` the SDK
/// declares. The card is the same one a charge of the key reports.
#[tokio::test]
async fn a_billing_key_describes_its_card() {
    let s = start_default().await;
    let issued = s
        .api
        .post(
            "/v1/billing/authorizations/card",
            json!({"customerKey": "customer-card", "cardNumber": "4330123412341234",
                   "cardExpirationYear": "49", "cardExpirationMonth": "07",
                   "customerIdentityNumber": "881212"}),
        )
        .await;
    let billing = issued.ok().clone();
    let card = &billing["card"];
    assert_eq!(card["number"], billing["cardNumber"]);
    assert_eq!(card["cardType"], "신용");
    assert_eq!(card["ownerType"], "개인");
    serde_json::from_value::<TossBilling>(billing.clone()).expect("the SDK's billing type");

    let billing_key = billing["billingKey"].as_str().unwrap();
    let charged = s
        .api
        .post(
            &format!("/v1/billing/{billing_key}"),
            json!({"customerKey": "customer-card", "amount": 1000, "orderId": order(),
                   "orderName": "정기 구독"}),
        )
        .await;
    let paid = charged.ok();
    assert_eq!(card["issuerCode"], paid["card"]["issuerCode"]);
    assert_eq!(card["acquirerCode"], paid["card"]["acquirerCode"]);
    assert_eq!(card["issuerCode"].as_str().unwrap().len(), 2);
}

/// Toss's billing reference (docs.tosspayments.com/reference, "빌링키 삭제"):
/// `DELETE /v1/billing/{billingKey}` removes the key; it charges no more.
#[tokio::test]
async fn a_billing_key_can_be_deleted() {
    let s = start_default().await;
    let issued = s
        .api
        .post(
            "/v1/billing/authorizations/card",
            billing_card("deleting-customer"),
        )
        .await;
    let key = issued.ok()["billingKey"].as_str().unwrap().to_owned();
    let path = format!("/v1/billing/{key}");
    let deleted = s.api.delete(&path).await;
    assert_eq!(deleted.status, 200);
    let charge = s
        .api
        .post(
            &path,
            json!({"customerKey": "deleting-customer", "orderId": order(), "amount": 4900}),
        )
        .await;
    assert_eq!(charge.error(404), "NOT_FOUND");
    assert_eq!(s.api.delete(&path).await.error(404), "NOT_FOUND");
}

#[tokio::test]
async fn billing_keys_are_issued_looked_up_and_charged_by_their_customer_only() {
    let s = start_default().await;
    let customer = format!("customer-{}", uuid::Uuid::new_v4().simple());
    let issued = s
        .api
        .post("/v1/billing/authorizations/card", billing_card(&customer))
        .await;
    let billing: TossBilling = serde_json::from_value(issued.ok().clone()).unwrap();
    assert_eq!(billing.customer_key, customer);
    assert_eq!(billing.method, "카드");
    assert_eq!(billing.card_number, "5365101234567540");
    let key = billing.billing_key.clone();

    let lookup = format!("/v1/billing/authorizations/{key}");
    let found = s.api.post(&lookup, json!({"customerKey": customer})).await;
    assert_eq!(found.ok()["billingKey"], key.as_str());
    let stranger = s
        .api
        .post(&lookup, json!({"customerKey": "someone-else"}))
        .await;
    assert_eq!(stranger.error(403), "NOT_MATCHES_CUSTOMER_KEY");
    let unknown = s
        .api
        .post(
            "/v1/billing/authorizations/nothing",
            json!({"customerKey": customer}),
        )
        .await;
    assert_eq!(unknown.error(404), "NOT_FOUND");

    let order_id = order();
    let charged = s
        .api
        .post(
            &format!("/v1/billing/{key}"),
            json!({"method": "billing", "billingKey": key, "customerKey": customer, "orderId": order_id, "amount": 4900, "orderName": "월간 구독"}),
        )
        .await;
    let payment = charged.ok();
    assert_eq!(payment["status"], "DONE");
    assert_eq!(payment["type"], "BILLING");
    assert_eq!(payment["card"]["number"], "5365101234567540");
    typed(payment);
    let wrong_customer = s
        .api
        .post(
            &format!("/v1/billing/{key}"),
            json!({"customerKey": "someone-else", "orderId": order(), "amount": 4900}),
        )
        .await;
    assert_eq!(wrong_customer.error(403), "NOT_MATCHES_CUSTOMER_KEY");
    let reused_order = s
        .api
        .post(
            &format!("/v1/billing/{key}"),
            json!({"customerKey": customer, "orderId": order_id, "amount": 4900}),
        )
        .await;
    assert_eq!(reused_order.error(400), "DUPLICATED_ORDER_ID");
}

#[tokio::test]
async fn the_card_registration_window_gives_an_auth_key_exchanged_once() {
    let s = start_default().await;
    let customer = format!("customer-{}", uuid::Uuid::new_v4().simple());
    let window = s
        .api
        .post(
            "/internal/billing/authorizations",
            json!({"customerKey": customer}),
        )
        .await;
    let auth_key = window.ok()["authKey"].as_str().unwrap().to_owned();
    let wrong = s
        .api
        .post(
            "/v1/billing/authorizations/issue",
            json!({"authKey": auth_key, "customerKey": "someone-else"}),
        )
        .await;
    assert_eq!(wrong.error(403), "NOT_MATCHES_CUSTOMER_KEY");
    let issued = s
        .api
        .post(
            "/v1/billing/authorizations/issue",
            json!({"authKey": auth_key, "customerKey": customer}),
        )
        .await;
    let billing: TossBilling = serde_json::from_value(issued.ok().clone()).unwrap();
    assert_eq!(billing.customer_key, customer);
    let again = s
        .api
        .post(
            "/v1/billing/authorizations/issue",
            json!({"authKey": auth_key, "customerKey": customer}),
        )
        .await;
    assert_eq!(again.error(404), "NOT_FOUND");
}

#[tokio::test]
async fn cash_receipts_are_issued_once_and_cancelled() {
    let s = start_default().await;
    let payment = paid_card(&s.api, 15000).await;
    let key = key_of(&payment);
    let request = json!({
        "type": "소득공제",
        "paymentKey": key,
        "orderId": payment["orderId"],
        "orderName": "토스 티셔츠",
        "registrationNumber": "01012345678",
        "amount": 15000,
    });
    let issued = s.api.post("/v1/cash-receipts", request.clone()).await;
    let receipt: TossCashReceipt = serde_json::from_value(issued.ok().clone()).unwrap();
    assert!(receipt.canceled_at.is_none());
    let reloaded = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(
        reloaded.ok()["cashReceipt"]["receiptUrl"],
        receipt.receipt_url.as_str()
    );
    assert_eq!(
        reloaded.body["cashReceipt"]["issueNumber"],
        receipt.approval_number.as_str()
    );

    let twice = s.api.post("/v1/cash-receipts", request.clone()).await;
    assert_eq!(twice.error(400), "INVALID_REQUEST");
    let mut too_much = request.clone();
    too_much["amount"] = json!(99999);
    assert_eq!(
        s.api.post("/v1/cash-receipts", too_much).await.error(400),
        "INVALID_REQUEST"
    );

    let cancel = format!("/v1/cash-receipts/{}/cancel", receipt.receipt_key);
    let cancelled = s.api.post(&cancel, json!({})).await;
    assert!(cancelled.ok()["canceledAt"].is_string());
    let reloaded = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(reloaded.ok()["cashReceipt"], Value::Null);
    assert_eq!(
        s.api.post(&cancel, json!({})).await.error(400),
        "INVALID_REQUEST"
    );
    assert_eq!(
        s.api
            .post("/v1/cash-receipts/nothing/cancel", json!({}))
            .await
            .error(404),
        "NOT_FOUND"
    );

    let unpaid = key_of(
        s.api
            .post("/v1/payments/key-in", key_in(&order(), 1000, false))
            .await
            .ok(),
    );
    let mut for_unpaid = request;
    for_unpaid["paymentKey"] = json!(unpaid);
    assert_eq!(
        s.api.post("/v1/cash-receipts", for_unpaid).await.error(400),
        "INVALID_REQUEST"
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let s = start_default().await;
    let order_id = order();
    let send = |key: &'static str| {
        let api = s.api.clone();
        let body = key_in(&order_id, 1000, true);
        async move {
            api.send(
                reqwest::Method::POST,
                "/v1/payments/key-in",
                Some(body),
                &[("Idempotency-Key", key)],
            )
            .await
        }
    };
    let first = send("idem-1").await;
    let replay = send("idem-1").await;
    assert_eq!(first.ok(), replay.ok());
    // Without the key, the same order is a duplicate: the replay did not pay twice.
    assert_eq!(send("idem-2").await.error(400), "DUPLICATED_ORDER_ID");
    // A repeated error is replayed too.
    assert_eq!(send("idem-2").await.error(400), "DUPLICATED_ORDER_ID");
    let long = "k".repeat(301);
    let too_long = s
        .api
        .send(
            reqwest::Method::POST,
            "/v1/payments/key-in",
            Some(key_in(&order(), 1000, true)),
            &[("Idempotency-Key", long.as_str())],
        )
        .await;
    assert_eq!(too_long.error(400), "INVALID_REQUEST");
    // Keys belong to a merchant.
    let other = s.api.as_merchant("test_sk_another_merchant_1");
    let theirs = other
        .send(
            reqwest::Method::POST,
            "/v1/payments/key-in",
            Some(key_in(&order_id, 1000, true)),
            &[("Idempotency-Key", "idem-1")],
        )
        .await;
    assert_ne!(key_of(theirs.ok()), key_of(first.ok()));
}

/// Toss's idempotency guide (docs.tosspayments.com/reference/using-api/idempotency-key): a
/// key is scoped by secret key, method and URL, and valid for 15 days from its first use.
/// The same key on a cancel after a confirm is a new request, and the cancel happens.
#[tokio::test]
async fn an_idempotency_key_is_scoped_by_method_and_url_and_kept_15_days() {
    let s = start_default().await;
    let key = key_of(&paid_card(&s.api, 1000).await);
    let idem = [("Idempotency-Key", "same-key")];
    let cancel = |reason: &'static str| {
        let api = s.api.clone();
        let path = format!("/v1/payments/{key}/cancel");
        async move {
            api.send(
                reqwest::Method::POST,
                &path,
                Some(json!({"cancelReason": reason})),
                &idem,
            )
            .await
        }
    };
    let lookup = s
        .api
        .send(
            reqwest::Method::POST,
            &format!("/v1/billing/authorizations/{key}"),
            Some(json!({"customerKey": "customer-1"})),
            &idem,
        )
        .await;
    assert_eq!(lookup.error(404), "NOT_FOUND");
    let cancelled = cancel("고객 변심").await;
    assert_eq!(cancelled.ok()["status"], "CANCELED");
    // 14 days later the key still replays the cancel's answer.
    s.fake.advance(chrono::Duration::days(14)).await;
    let replay = cancel("다시").await;
    assert_eq!(replay.ok(), cancelled.ok());
}

#[tokio::test]
async fn async_webhooks_arrive_in_order_after_the_response() {
    let receiver = Receiver::start().await;
    let s = start(TossConfig {
        webhook_url: Some(receiver.url.clone()),
        ..TossConfig::default()
    })
    .await;
    let key = key_of(
        s.api
            .post("/v1/virtual-accounts", virtual_account(&order(), 5000))
            .await
            .ok(),
    );
    s.api
        .put(&format!("/internal/{key}/deposit"), None)
        .await
        .ok();
    let (headers, first) = receiver.next(WAIT).await;
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(first["data"]["status"], "WAITING_FOR_DEPOSIT");
    let created_at = first["createdAt"].as_str().unwrap();
    assert_eq!(
        created_at.len(),
        26,
        "yyyy-MM-ddTHH:mm:ss.SSSSSS: {created_at}"
    );
    assert_eq!(receiver.next(WAIT).await.1["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(receiver.next(WAIT).await.1["data"]["status"], "DONE");
    assert_eq!(receiver.next(WAIT).await.1["status"], "DONE");
    let parsed: TossWebhook = serde_json::from_value(first).unwrap();
    assert!(matches!(parsed, TossWebhook::PaymentStatusChanged(_)));
}

/// A merchant's server that is down (nothing listens on its port): Toss's webhook guide
/// retries a webhook that got no 200, up to 7 times on its schedule. Every webhook of a
/// burst gets its own failed first attempt and its own retry, those of one payment in the
/// order they were made, although the fake connects once for the webhooks that were
/// waiting when a connection was refused; once the server is up, the retries deliver each.
#[tokio::test]
async fn webhooks_to_a_server_that_is_down_each_fail_and_are_retried_in_order() {
    use futures_util::future::join_all;
    const PAYMENTS: usize = 30;
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let s = start(TossConfig {
        webhook_url: Some(format!("http://{address}/hook")),
        ..TossConfig::default()
    })
    .await;
    let issued = join_all((0..PAYMENTS).map(|_| {
        let api = &s.api;
        async move {
            let order_id = order();
            let answer = api
                .post("/v1/virtual-accounts", virtual_account(&order_id, 5000))
                .await;
            (order_id, key_of(answer.ok()))
        }
    }))
    .await;
    let key_of_order: std::collections::HashMap<String, String> = issued.into_iter().collect();

    let webhooks_when = |done: fn(&Value) -> bool| {
        let internal = &s.internal;
        async move {
            let deadline = Instant::now() + WAIT;
            loop {
                let list = internal.get("/internal/webhooks").await.ok().clone();
                let list = list.as_array().unwrap().clone();
                if list.len() == 2 * PAYMENTS && list.iter().all(done) {
                    return list;
                }
                assert!(Instant::now() < deadline, "{list:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let failed = webhooks_when(|w| w["attempts"] == 1).await;
    assert!(
        failed
            .iter()
            .all(|w| w["state"] == "pending" && w["next_attempt_at"].is_string()),
        "{failed:?}"
    );
    let journal = s.internal.get("/internal/journal").await;
    let attempts = journal.ok()["deliveries"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 2 * PAYMENTS, "one attempt each");
    assert!(
        attempts
            .iter()
            .all(|a| a["error"] == "could not connect" && a["status"].is_null()),
        "{attempts:?}"
    );

    // The merchant's server comes up on its port; the retries are due a minute later.
    let (tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<Value>| async move {
            let _ = tx.send(body.0);
            axum::http::StatusCode::OK
        }),
    );
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    s.fake.advance(chrono::Duration::minutes(2)).await;
    let delivered = webhooks_when(|w| w["state"] == "delivered" && w["attempts"] == 2).await;

    // Per payment, the events arrived in the order they were made.
    let mut made: std::collections::HashMap<String, Vec<String>> = Default::default();
    for webhook in &delivered {
        made.entry(webhook["subject"].as_str().unwrap().into())
            .or_default()
            .push(webhook["event"].as_str().unwrap().into());
    }
    let mut got: std::collections::HashMap<String, Vec<String>> = Default::default();
    while let Ok(body) = arrived.try_recv() {
        let (order_id, event) = match body["eventType"].as_str() {
            Some(event) => (body["data"]["orderId"].clone(), event.to_owned()),
            None => (body["orderId"].clone(), "DEPOSIT_CALLBACK".to_owned()),
        };
        let key = key_of_order[order_id.as_str().unwrap()].clone();
        got.entry(key).or_default().push(event);
    }
    assert_eq!(got, made);
    assert!(made.values().all(|events| events.len() == 2));
}

#[tokio::test]
async fn a_merchant_can_set_its_own_webhook_url() {
    let receiver = Receiver::start().await;
    let s = start(TossConfig {
        webhook_mode: DeliveryMode::Sync,
        ..TossConfig::default()
    })
    .await;
    assert_eq!(
        s.api.get("/internal/merchant").await.ok()["webhookUrl"],
        Value::Null
    );
    let bad = s
        .api
        .put("/internal/merchant", Some(json!({"webhookUrl": "ftp://x"})))
        .await;
    assert_eq!(bad.error(400), "INVALID_REQUEST");
    let set = s
        .api
        .put(
            "/internal/merchant",
            Some(json!({"webhookUrl": receiver.url})),
        )
        .await;
    assert_eq!(set.ok()["webhookUrl"], receiver.url.as_str());
    confirmed_card(&s.api).await;
    assert!(
        receiver.try_next().await.is_some(),
        "sync delivery came before the answer"
    );
    // Another merchant still has none.
    let other = s.api.as_merchant("test_sk_no_webhooks_here");
    confirmed_card(&other).await;
    assert!(receiver.try_next().await.is_none());
}

#[tokio::test]
async fn failed_deliveries_retry_on_tosss_schedule_as_the_clock_moves() {
    let (s, hooks) = start_with_receiver().await;
    hooks.answer(500);
    let key = confirmed_card(&s.api).await;
    hooks.next(WAIT).await;
    let attempts = |s: &Setup| {
        let internal = s.internal.clone();
        async move {
            let list = internal.get("/internal/webhooks").await;
            list.ok()[0]["attempts"].as_u64().unwrap()
        }
    };
    assert_eq!(attempts(&s).await, 1);
    // 1, 4, 16, 64, 256, 1024, 4096 minutes after each failure.
    for (retry, minutes) in [1i64, 4, 16, 64, 256, 1024, 4096].into_iter().enumerate() {
        s.fake
            .advance(chrono::Duration::minutes(minutes) - chrono::Duration::seconds(2))
            .await;
        assert_eq!(attempts(&s).await, retry as u64 + 1, "not yet due");
        s.fake.advance(chrono::Duration::seconds(3)).await;
        let (_, body) = hooks.next(WAIT).await;
        assert_eq!(body["data"]["paymentKey"], key.as_str());
        assert_eq!(attempts(&s).await, retry as u64 + 2);
    }
    let list = s.internal.get("/internal/webhooks").await;
    assert_eq!(list.ok()[0]["state"], "failed");
    s.fake.advance(chrono::Duration::days(30)).await;
    assert!(
        hooks.try_next().await.is_none(),
        "no attempt after the last"
    );

    let journal = s.internal.get("/internal/journal").await;
    let deliveries = journal.ok()["deliveries"].as_array().unwrap().clone();
    assert_eq!(deliveries.len(), 8);
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == 500 && d["delivered"] == false)
    );
    assert_eq!(deliveries[7]["next_attempt_at"], Value::Null);
}

/// Retries that fall due together are attempted at the same time, one lane per payment as
/// for first attempts: moving the clock past the failed webhooks of a slow endpoint waits
/// about one attempt, not one per webhook. The endpoint here first refuses every webhook
/// (500), then holds each request until all the retries have arrived, or 5 s, and counts
/// the most it held at once.
#[tokio::test]
async fn retries_due_together_are_attempted_at_the_same_time() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const PAYMENTS: usize = 4;
    #[derive(Clone)]
    struct Gate {
        refusing: Arc<AtomicBool>,
        arrived: tokio::sync::watch::Sender<usize>,
        held: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }
    let gate = Gate {
        refusing: Arc::new(AtomicBool::new(true)),
        arrived: tokio::sync::watch::channel(0).0,
        held: Arc::new(AtomicUsize::new(0)),
        most: Arc::new(AtomicUsize::new(0)),
    };
    let app = axum::Router::new()
        .fallback(
            |axum::extract::State(gate): axum::extract::State<Gate>| async move {
                if gate.refusing.load(Ordering::SeqCst) {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                let mut all_in = gate.arrived.subscribe();
                gate.arrived.send_modify(|n| *n += 1);
                let now = gate.held.fetch_add(1, Ordering::SeqCst) + 1;
                gate.most.fetch_max(now, Ordering::SeqCst);
                let _ = tokio::time::timeout(WAIT, all_in.wait_for(|n| *n >= PAYMENTS)).await;
                gate.held.fetch_sub(1, Ordering::SeqCst);
                axum::http::StatusCode::OK
            },
        )
        .with_state(gate.clone());
    let url = format!("{}/hook", spawn(app).await);
    let s = start(TossConfig {
        webhook_url: Some(url),
        webhook_mode: DeliveryMode::Sync,
        ..TossConfig::default()
    })
    .await;
    for _ in 0..PAYMENTS {
        confirmed_card(&s.api).await;
    }
    let webhooks = s.internal.get("/internal/webhooks").await;
    let webhooks = webhooks.ok().as_array().unwrap().clone();
    assert_eq!(webhooks.len(), PAYMENTS);
    assert!(webhooks.iter().all(|w| w["state"] == "pending"));

    gate.refusing.store(false, Ordering::SeqCst);
    // Toss retries a failed webhook 1 minute later.
    s.fake.advance(chrono::Duration::minutes(2)).await;
    assert_eq!(gate.most.load(Ordering::SeqCst), PAYMENTS, "all at once");
    let webhooks = s.internal.get("/internal/webhooks").await;
    let webhooks = webhooks.ok().as_array().unwrap().clone();
    assert!(
        webhooks
            .iter()
            .all(|w| w["state"] == "delivered" && w["attempts"] == 2),
        "{webhooks:?}"
    );
}

#[tokio::test]
async fn a_retry_that_succeeds_stops_the_schedule() {
    let (s, hooks) = start_with_receiver().await;
    hooks.answer(503);
    confirmed_card(&s.api).await;
    hooks.next(WAIT).await;
    hooks.answer(200);
    s.fake.advance(chrono::Duration::minutes(1)).await;
    hooks.next(WAIT).await;
    let list = s.internal.get("/internal/webhooks").await;
    assert_eq!(list.ok()[0]["state"], "delivered");
    assert_eq!(list.body[0]["attempts"], 2);
    s.fake.advance(chrono::Duration::days(4)).await;
    assert!(hooks.try_next().await.is_none());
}

/// The journal's record of the first webhook attempt of a virtual account issued by a fake
/// whose merchant's webhook URL is `url`, made before the issue's answer (sync mode).
async fn first_delivery(url: &str) -> Value {
    let s = start(TossConfig {
        webhook_url: Some(url.into()),
        webhook_mode: DeliveryMode::Sync,
        ..TossConfig::default()
    })
    .await;
    s.api
        .post("/v1/virtual-accounts", virtual_account(&order(), 5000))
        .await
        .ok();
    let journal = s.internal.get("/internal/journal").await;
    journal.ok()["deliveries"][0].clone()
}

#[tokio::test]
async fn an_unreachable_webhook_url_is_retried_too() {
    let delivery = first_delivery("http://127.0.0.1:9/unreachable").await;
    assert_eq!(delivery["status"], Value::Null);
    assert_eq!(delivery["error"], "could not connect");
    assert!(delivery["next_attempt_at"].is_string());
}

/// Toss's webhook guide asks the merchant's endpoint for a 200 within 10 s, and retries
/// otherwise: a redirect is an answer like any other but a 2xx, so the attempt fails and is
/// retried at the same URL, and nothing is posted where the redirect points.
#[tokio::test]
async fn a_redirect_from_the_endpoint_is_not_followed() {
    use axum::http::{HeaderMap, StatusCode, header::LOCATION};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let moved = Arc::new(AtomicUsize::new(0));
    let elsewhere = {
        let moved = moved.clone();
        spawn(axum::Router::new().route(
            "/moved",
            axum::routing::post(move || async move {
                moved.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            }),
        ))
        .await
    };
    let redirect = spawn(axum::Router::new().route(
        "/hook",
        axum::routing::post(move || async move {
            let mut headers = HeaderMap::new();
            headers.insert(LOCATION, format!("{elsewhere}/moved").parse().unwrap());
            (StatusCode::TEMPORARY_REDIRECT, headers)
        }),
    ))
    .await;
    let delivery = first_delivery(&format!("{redirect}/hook")).await;
    assert_eq!(delivery["status"], 307, "{delivery}");
    assert_eq!(delivery["delivered"], false, "{delivery}");
    assert!(delivery["next_attempt_at"].is_string(), "{delivery}");
    assert_eq!(
        moved.load(Ordering::SeqCst),
        0,
        "nothing went where it pointed"
    );
}

/// An `https` endpoint gets TLS: the first bytes on the connection are a TLS handshake
/// record. This endpoint then hangs up, so the attempt fails as a connection that could not
/// be made.
#[tokio::test]
async fn an_https_endpoint_is_spoken_to_in_tls() {
    use tokio::io::AsyncReadExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/hook", listener.local_addr().unwrap());
    let first_bytes = tokio::spawn(async move {
        let (mut connection, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 3];
        connection.read_exact(&mut head).await.unwrap();
        head
    });
    let delivery = first_delivery(&url).await;
    // A handshake record (22) of TLS 1.x (3, x).
    assert_eq!(first_bytes.await.unwrap()[..2], [22, 3]);
    assert_eq!(delivery["error"], "could not connect");
}

/// A URL the fake cannot post to fails each attempt with the reason, and is retried on the
/// schedule like any failure (the merchant may fix it in the console meanwhile).
#[tokio::test]
async fn a_webhook_url_that_cannot_be_posted_to_fails_with_its_reason() {
    for (url, reason) in [
        (
            "ftp://127.0.0.1/hook",
            "invalid URL: ftp is not http or https",
        ),
        (
            "http://exa mple.com/hook",
            "invalid URL: invalid international domain name",
        ),
    ] {
        let delivery = first_delivery(url).await;
        assert_eq!(delivery["error"], reason, "{delivery}");
        assert!(delivery["next_attempt_at"].is_string(), "{delivery}");
    }
}

#[tokio::test]
async fn fault_rules_fail_delay_or_drop_the_next_matching_requests() {
    let s = start_default().await;
    let key = key_of(&paid_card(&s.api, 1000).await);
    let path = format!("/v1/payments/{key}");

    let rule = s
        .internal
        .post(
            "/internal/faults",
            json!({"method": "GET", "path": "/v1/payments/*", "times": 2, "action": "error", "code": "PROVIDER_ERROR"}),
        )
        .await;
    assert_eq!(rule.status, 201);
    assert_eq!(rule.body["remaining"], 2);
    assert_eq!(s.api.get(&path).await.error(400), "PROVIDER_ERROR");
    assert_eq!(s.api.get(&path).await.error(400), "PROVIDER_ERROR");
    s.api.get(&path).await.ok();

    s.internal
        .post(
            "/internal/faults",
            json!({"path": "/v1/payments/*", "action": "error", "code": "COMMON_ERROR", "status": 503, "message": "down"}),
        )
        .await
        .ok();
    let down = s.api.get(&path).await;
    assert_eq!(down.error(503), "COMMON_ERROR");
    assert_eq!(down.body["message"], "down");

    s.internal
        .post(
            "/internal/faults",
            json!({"path": path, "action": "delay", "ms": 300}),
        )
        .await
        .ok();
    let started = Instant::now();
    s.api.get(&path).await.ok();
    assert!(started.elapsed() >= Duration::from_millis(300));

    s.internal
        .post("/internal/faults", json!({"path": path, "action": "drop"}))
        .await
        .ok();
    let dropped = s
        .api
        .http
        .get(format!("{}{path}", s.api.url))
        .header("authorization", s.api.auth.clone().unwrap())
        .send()
        .await;
    assert!(dropped.is_err(), "the connection was dropped: {dropped:?}");
    s.api.get(&path).await.ok();

    s.internal
        .post(
            "/internal/faults",
            json!({"path": "/v1/*", "times": 5, "action": "drop"}),
        )
        .await
        .ok();
    assert_eq!(
        s.internal
            .get("/internal/faults")
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.internal.delete("/internal/faults").await.status, 204);
    s.api.get(&path).await.ok();

    let invalid = s
        .internal
        .post(
            "/internal/faults",
            json!({"path": "/v1", "action": "explode"}),
        )
        .await;
    assert_eq!(invalid.error(400), "INVALID_REQUEST");
    let journal = s.internal.get("/internal/journal").await;
    let faults: Vec<_> = journal.ok()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["fault"].as_str())
        .collect();
    assert_eq!(
        faults,
        [
            "error PROVIDER_ERROR",
            "error PROVIDER_ERROR",
            "error COMMON_ERROR",
            "delay 300 ms",
            "drop"
        ]
    );
}

#[tokio::test]
async fn the_journal_records_requests_and_reset_forgets_everything() {
    let s = start_default().await;
    let payment = paid_card(&s.api, 1000).await;
    let key = key_of(&payment);
    let journal = s.internal.get("/internal/journal").await;
    let requests = journal.ok()["requests"].as_array().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["path"], "/v1/payments/key-in");
    assert_eq!(requests[0]["status"], 200);
    assert_eq!(requests[0]["merchant"], "test_sk_…YG5R");
    assert_eq!(requests[0]["body"]["amount"], 1000);
    let mark = journal.body["last_seq"].as_u64().unwrap();
    s.api.get(&format!("/v1/payments/{key}")).await.ok();
    let later = s
        .internal
        .get(&format!("/internal/journal?after={mark}"))
        .await;
    assert_eq!(later.ok()["requests"].as_array().unwrap().len(), 1);

    let sink = s
        .internal
        .post("/internal/webhook", json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": key, "orderId": "o", "status": "DONE"}}))
        .await;
    assert_eq!(sink.status, 200);
    let journal = s.internal.get("/internal/journal").await;
    assert_eq!(
        journal.ok()["received"][0]["body"]["data"]["paymentKey"],
        key.as_str()
    );

    s.internal
        .post("/internal/clock", json!({"days": 1}))
        .await
        .ok();
    assert_eq!(
        s.internal.post("/internal/reset", json!({})).await.status,
        204
    );
    assert_eq!(
        s.api.get(&format!("/v1/payments/{key}")).await.error(404),
        "NOT_FOUND_PAYMENT"
    );
    let clock = s.internal.get("/internal/clock").await;
    assert_eq!(clock.ok()["offset_seconds"], 0);
    let journal = s.internal.get("/internal/journal").await;
    assert_eq!(
        journal.ok()["requests"].as_array().unwrap().len(),
        1,
        "only the lookup since"
    );
}

#[tokio::test]
async fn records_expire_and_the_capacity_evicts_the_oldest() {
    let s = start(TossConfig {
        capacity: 3,
        ttl: Duration::from_secs(3600),
        ..TossConfig::default()
    })
    .await;
    let first = paid_card(&s.api, 1000).await;
    let others = [
        paid_card(&s.api, 1000).await,
        paid_card(&s.api, 1000).await,
        paid_card(&s.api, 1000).await,
    ];
    assert_eq!(
        s.api
            .get(&format!("/v1/payments/{}", key_of(&first)))
            .await
            .error(404),
        "NOT_FOUND_PAYMENT"
    );
    // Its orderId is free again.
    s.api
        .post(
            "/v1/payments/key-in",
            key_in(first["orderId"].as_str().unwrap(), 1000, true),
        )
        .await
        .ok();
    for p in &others[1..] {
        s.api.get(&format!("/v1/payments/{}", key_of(p))).await.ok();
    }
    s.fake.advance(chrono::Duration::minutes(61)).await;
    for p in &others {
        assert_eq!(
            s.api
                .get(&format!("/v1/payments/{}", key_of(p)))
                .await
                .error(404),
            "NOT_FOUND_PAYMENT"
        );
    }
    s.api
        .post(
            "/v1/payments/key-in",
            key_in(others[2]["orderId"].as_str().unwrap(), 1000, true),
        )
        .await
        .ok();
}

#[tokio::test]
async fn unknown_routes_answer_in_tosss_shape() {
    let s = start_default().await;
    let answer = s.api.get("/v2/nothing").await;
    assert_eq!(answer.error(404), "NOT_FOUND");
    // The journal has it too: a client calling a wrong path finds its call there.
    let journal = s.internal.get("/internal/journal").await;
    let requests = journal.ok()["requests"].as_array().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r["path"] == "/v2/nothing" && r["status"] == 404),
        "{requests:?}"
    );
}

#[tokio::test]
async fn what_no_handler_answers_is_in_tosss_shape_too() {
    let s = start_default().await;
    let wrong_method = s
        .api
        .send(reqwest::Method::PUT, "/v1/payments/key-in", None, &[])
        .await;
    assert_eq!(wrong_method.error(405), "METHOD_NOT_ALLOWED");
    let control = s.internal.put("/internal/reset", None).await;
    assert_eq!(control.error(405), "METHOD_NOT_ALLOWED");
    let too_large = s
        .api
        .post(
            "/v1/payments/key-in",
            json!({"orderId": "x".repeat(2 << 20)}),
        )
        .await;
    assert_eq!(too_large.error(413), "REQUEST_TOO_LARGE");
    let garbled_path = s.api.get("/v1/payments/%FF%FE").await;
    assert_eq!(garbled_path.error(400), "INVALID_REQUEST");
    let garbled_query = s.internal.get("/internal/journal?after=soon").await;
    assert_eq!(garbled_query.error(400), "INVALID_REQUEST");
    for answer in [
        wrong_method,
        control,
        too_large,
        garbled_path,
        garbled_query,
    ] {
        assert!(
            answer.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            answer.body
        );
    }
    // Nothing was stored meanwhile.
    let journal = s.internal.get("/internal/journal").await;
    let statuses: Vec<_> = journal.ok()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [405, 413, 400]);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_that_the_journal_keeps() {
    let s = start_default().await;
    let lookup = |id: Option<&'static str>| {
        let mut request = s
            .api
            .http
            .get(format!("{}/v1/payments/nothing", s.api.url))
            .header("authorization", s.api.auth.clone().unwrap());
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    let given = lookup(None).await.unwrap();
    let id = given.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.starts_with("toss-"), "{id}");
    let other = lookup(None).await.unwrap();
    assert_ne!(other.headers()["x-request-id"].to_str().unwrap(), id);
    let own = lookup(Some("client-7")).await.unwrap();
    assert_eq!(own.headers()["x-request-id"], "client-7");
    let journal = s.internal.get("/internal/journal").await;
    let ids: Vec<_> = journal.ok()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["request_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        (ids[0].as_str(), ids[2].as_str()),
        (id.as_str(), "client-7")
    );
}

#[tokio::test]
async fn fault_rules_are_bounded_in_number_size_and_delay() {
    let s = start_default().await;
    let add = |rule: Value| s.internal.post("/internal/faults", rule);
    let forever = add(json!({"path": "/v1/*", "action": "delay", "ms": u64::MAX})).await;
    assert_eq!(forever.error(400), "INVALID_REQUEST");
    let long_path = add(json!({"path": format!("/{}", "p".repeat(5_000)), "action": "drop"})).await;
    assert_eq!(long_path.error(400), "INVALID_REQUEST");
    let long_message =
        add(json!({"path": "/v1/*", "action": "error", "code": "X", "message": "m".repeat(5_000)}))
            .await;
    assert_eq!(long_message.error(400), "INVALID_REQUEST");
    for i in 0..100 {
        let rule = add(json!({"path": format!("/v1/never/{i}"), "action": "drop"})).await;
        assert_eq!(rule.status, 201, "{}", rule.body);
    }
    let one_more = add(json!({"path": "/v1/never/more", "action": "drop"})).await;
    assert_eq!(one_more.error(400), "INVALID_REQUEST");
    let rules = s.internal.get("/internal/faults").await;
    assert_eq!(rules.ok().as_array().unwrap().len(), 100);
    // None of the refused rules took effect.
    let payment = paid_card(&s.api, 1000).await;
    s.api
        .get(&format!("/v1/payments/{}", key_of(&payment)))
        .await
        .ok();
    assert_eq!(s.internal.delete("/internal/faults").await.status, 204);
    assert_eq!(
        add(json!({"path": "/v1/never/more", "action": "drop"}))
            .await
            .status,
        201
    );
}

/// The drop-in mode for suites written against the original fakes: per fake or per
/// merchant, `original` also accepts an expired card, 13 to 16 digits in dash-separated
/// groups, and a billing charge for another customer; the real mode refuses all three.
#[tokio::test]
async fn the_original_compat_mode_relaxes_what_the_original_fakes_accepted() {
    let relaxed = |api: Api| async move {
        let mut expired = key_in(&order(), 1000, true);
        expired["cardExpirationYear"] = json!("19");
        let mut short = key_in(&order(), 1000, true);
        short["cardNumber"] = json!("4330-1234-1234-1");
        let billing = api
            .post("/v1/billing/authorizations/card", billing_card("owner"))
            .await;
        let key = billing.ok()["billingKey"].as_str().unwrap().to_owned();
        let stranger = json!({"customerKey": "someone-else", "orderId": order(), "amount": 4900});
        (
            api.post("/v1/payments/key-in", expired).await,
            api.post("/v1/payments/key-in", short).await,
            api.post(&format!("/v1/billing/{key}"), stranger).await,
        )
    };
    let s = start(TossConfig {
        compat: Compat::Original,
        ..TossConfig::default()
    })
    .await;
    let (expired, short, stranger) = relaxed(s.api.clone()).await;
    assert_eq!(expired.ok()["status"], "DONE");
    assert_eq!(short.ok()["card"]["number"], "4330123412341");
    assert_eq!(stranger.ok()["status"], "DONE");
    assert_eq!(
        s.api.get("/internal/merchant").await.ok()["compat"],
        "original"
    );

    let s = start_default().await;
    let (expired, short, stranger) = relaxed(s.api.clone()).await;
    assert_eq!(expired.error(400), "INVALID_CARD_EXPIRATION");
    assert_eq!(short.error(400), "INVALID_CARD_NUMBER");
    assert_eq!(stranger.error(403), "NOT_MATCHES_CUSTOMER_KEY");
    // One merchant opts in; the others stay real.
    let set = s
        .api
        .put("/internal/merchant", Some(json!({"compat": "original"})))
        .await;
    assert_eq!(set.ok()["compat"], "original");
    let (expired, short, stranger) = relaxed(s.api.clone()).await;
    assert_eq!(expired.ok()["status"], "DONE");
    assert_eq!(short.ok()["status"], "DONE");
    assert_eq!(stranger.ok()["status"], "DONE");
    let other = s.api.as_merchant("test_sk_another_merchant_2");
    let (expired, _, _) = relaxed(other).await;
    assert_eq!(expired.error(400), "INVALID_CARD_EXPIRATION");
    let bad = s
        .api
        .put("/internal/merchant", Some(json!({"compat": "loose"})))
        .await;
    assert_eq!(bad.error(400), "INVALID_REQUEST");
}

/// Toss's webhook-events reference (docs.tosspayments.com/reference/using-api/webhook-events,
/// DEPOSIT_CALLBACK): every change of a virtual account's status is told as a
/// `DEPOSIT_CALLBACK` — issued (`WAITING_FOR_DEPOSIT`), deposited (`DONE`), cancelled in
/// whole or part, before the deposit or after — and, to a merchant registered for both, as a
/// `PAYMENT_STATUS_CHANGED` too; `transactionKey` is the changed transaction's.
#[tokio::test]
async fn every_change_of_a_virtual_account_is_also_a_deposit_callback() {
    let (s, hooks) = start_with_receiver().await;
    // Both hooks of one change: the status change, then the callback.
    let both = || async {
        let (_, changed) = hooks.next(WAIT).await;
        assert_eq!(changed["eventType"], "PAYMENT_STATUS_CHANGED", "{changed}");
        let (_, callback) = hooks.next(WAIT).await;
        assert!(
            matches!(
                serde_json::from_value::<TossWebhook>(callback.clone()),
                Ok(TossWebhook::DepositCallback(_))
            ),
            "{callback}"
        );
        (changed, callback)
    };

    // Issued through the API.
    let order_id = order();
    let issued = s
        .api
        .post("/v1/virtual-accounts", virtual_account(&order_id, 30000))
        .await
        .ok()
        .clone();
    let key = key_of(&issued);
    let (changed, callback) = both().await;
    assert_eq!(changed["data"]["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(callback["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(callback["secret"], issued["secret"]);
    assert_eq!(callback["orderId"], order_id.as_str());
    assert_eq!(callback["transactionKey"], issued["transactionKey"]);

    s.api
        .put(&format!("/internal/{key}/deposit"), None)
        .await
        .ok();
    assert_eq!(both().await.1["status"], "DONE");

    // A partial cancel, then the rest: each cancel is its own transaction.
    let account =
        json!({"bank": "국민", "accountNumber": "12345678901234", "holderName": "홍길동"});
    let path = format!("/v1/payments/{key}/cancel");
    let part = s
        .api
        .post(
            &path,
            json!({"cancelReason": "part", "cancelAmount": 10000, "refundReceiveAccount": account}),
        )
        .await
        .ok()
        .clone();
    let (_, callback) = both().await;
    assert_eq!(callback["status"], "PARTIAL_CANCELED");
    assert_eq!(
        callback["transactionKey"],
        part["cancels"][0]["transactionKey"]
    );
    assert_ne!(callback["transactionKey"], issued["transactionKey"]);
    s.api
        .post(
            &path,
            json!({"cancelReason": "rest", "refundReceiveAccount": account}),
        )
        .await
        .ok();
    assert_eq!(both().await.1["status"], "CANCELED");

    // Cancelled before any deposit.
    let unpaid = key_of(
        s.api
            .post("/v1/virtual-accounts", virtual_account(&order(), 5000))
            .await
            .ok(),
    );
    both().await;
    s.api
        .post(
            &format!("/v1/payments/{unpaid}/cancel"),
            json!({"cancelReason": "no longer wanted"}),
        )
        .await
        .ok();
    let (_, callback) = both().await;
    assert_eq!(callback["status"], "CANCELED");

    // Chosen in the payment window: issued when the merchant confirms it.
    let order_id = order();
    let window = s
        .api
        .post(
            "/internal/payments",
            json!({"orderId": order_id, "amount": 7000, "method": "virtual-account"}),
        )
        .await
        .ok()
        .clone();
    assert!(hooks.try_next().await.is_none(), "nothing is issued yet");
    s.api
        .post(
            "/v1/payments/confirm",
            json!({"paymentKey": window["paymentKey"], "orderId": order_id, "amount": 7000}),
        )
        .await
        .ok();
    let (_, callback) = both().await;
    assert_eq!(callback["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(callback["orderId"], order_id.as_str());
    // A card's approval is no virtual account's: a status change only.
    paid_card(&s.api, 1000).await;
    assert!(hooks.try_next().await.is_none(), "a key-in sends nothing");
}

/// The refund of a paid virtual account goes to the customer's bank account: Toss's
/// Payment object (`virtualAccount.refundStatus`: `NONE`, `PENDING`, `FAILED`,
/// `PARTIAL_FAILED`, `COMPLETED`) shows it `PENDING` until the bank settles it. Toss gives
/// no delay and no webhook for it (`CANCEL_STATUS_CHANGED` is for overseas easy pay only);
/// the fake settles it `refund_delay` (10 minutes) later on its clock, and a refund account
/// number ending `0002` is refused by the bank.
#[tokio::test]
async fn a_virtual_account_refund_is_pending_until_the_fakes_clock_settles_it() {
    let (s, hooks) = start_with_receiver().await;
    let refund_status = |key: String| {
        let api = s.api.clone();
        async move {
            let payment = api.get(&format!("/v1/payments/{key}")).await;
            typed(payment.ok());
            payment.body["virtualAccount"]["refundStatus"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    let whole = paid_virtual_account(&s, &hooks, 20000).await;
    let failing = paid_virtual_account(&s, &hooks, 20000).await;
    let parts = paid_virtual_account(&s, &hooks, 20000).await;
    let card = key_of(&paid_card(&s.api, 3000).await);
    assert_eq!(refund_status(whole.clone()).await, "NONE");
    let answer = refund_to_account(&s.api, &whole, None, "12345678901234").await;
    assert_eq!(answer.ok()["status"], "CANCELED");
    assert_eq!(answer.body["virtualAccount"]["refundStatus"], "PENDING");
    refund_to_account(&s.api, &failing, None, "1100000002")
        .await
        .ok();
    refund_to_account(&s.api, &parts, Some(5000), "12345678901234")
        .await
        .ok();
    refund_to_account(&s.api, &parts, Some(5000), "98760002")
        .await
        .ok();
    for _ in 0..8 {
        hooks.next(WAIT).await;
    }
    s.fake.advance(chrono::Duration::minutes(9)).await;
    for key in [&whole, &failing, &parts] {
        assert_eq!(refund_status(key.clone()).await, "PENDING");
    }
    // Moving the clock through `/internal/clock` settles them.
    s.internal
        .post("/internal/clock", json!({"minutes": 2}))
        .await
        .ok();
    assert_eq!(refund_status(whole.clone()).await, "COMPLETED");
    assert_eq!(refund_status(failing.clone()).await, "FAILED");
    assert_eq!(refund_status(parts.clone()).await, "PARTIAL_FAILED");
    let settled = s.api.get(&format!("/v1/payments/{whole}")).await;
    assert_eq!(settled.ok()["status"], "CANCELED");
    assert!(
        hooks.try_next().await.is_none(),
        "a refund settles silently"
    );
    // A card's cancel has no refund to a bank account.
    s.api
        .post(
            &format!("/v1/payments/{card}/cancel"),
            json!({"cancelReason": "x"}),
        )
        .await
        .ok();
    assert!(s.api.get(&format!("/v1/payments/{card}")).await.ok()["virtualAccount"].is_null());
}

/// A virtual account issued and paid into, its four webhooks (issue and deposit, each a
/// status change and a deposit callback) taken off `hooks`; answers its paymentKey.
async fn paid_virtual_account(s: &Setup, hooks: &Receiver, amount: u32) -> String {
    let key = key_of(
        s.api
            .post("/v1/virtual-accounts", virtual_account(&order(), amount))
            .await
            .ok(),
    );
    s.api
        .put(&format!("/internal/{key}/deposit"), None)
        .await
        .ok();
    for _ in 0..4 {
        hooks.next(WAIT).await;
    }
    key
}

/// Cancels `amount` (all that is left if `None`) of the virtual account `key`, refunded to
/// the account `account_number` at 국민.
async fn refund_to_account(
    api: &Api,
    key: &str,
    amount: Option<u32>,
    account_number: &str,
) -> Answer {
    let mut body = json!({
        "cancelReason": "환불",
        "refundReceiveAccount": {"bank": "국민", "accountNumber": account_number, "holderName": "홍길동"},
    });
    if let Some(amount) = amount {
        body["cancelAmount"] = json!(amount);
    }
    api.post(&format!("/v1/payments/{key}/cancel"), body).await
}

/// The `/internal/{paymentKey}/refund` control settles a payment's pending refunds at once,
/// through or refused whatever the account, so a test needs neither the clock nor a magic
/// account. What it sets is Toss's Payment object's `virtualAccount.refundStatus`
/// (`COMPLETED`, `FAILED`, `PARTIAL_FAILED`); like a settling on the clock it sends no
/// webhook, Toss documenting none for it.
#[tokio::test]
async fn the_refund_control_completes_or_fails_pending_refunds_at_once() {
    let (s, hooks) = start_with_receiver().await;
    let cancel = |key: &str, amount: Option<u32>| {
        let (api, key) = (s.api.clone(), key.to_owned());
        async move {
            refund_to_account(&api, &key, amount, "12345678901234")
                .await
                .ok();
        }
    };
    let settle = |key: &str, result: &str| {
        let path = format!("/internal/{key}/refund");
        let body = json!({"result": result});
        let api = s.api.clone();
        async move { api.post(&path, body).await }
    };

    // A refund to a good account fails on demand; the answer is the payment.
    let failing = paid_virtual_account(&s, &hooks, 20000).await;
    cancel(&failing, None).await;
    let answer = settle(&failing, "FAILED").await;
    let payment = typed(answer.ok());
    assert_eq!(answer.body["paymentKey"], failing.as_str());
    assert_eq!(answer.body["status"], "CANCELED");
    assert_eq!(answer.body["virtualAccount"]["refundStatus"], "FAILED");
    assert!(matches!(payment, TossPayment::VirtualAccount(_)));

    // Settled one cancel at a time: one through, one refused.
    let parts = paid_virtual_account(&s, &hooks, 20000).await;
    cancel(&parts, Some(5000)).await;
    let answer = settle(&parts, "COMPLETED").await;
    assert_eq!(answer.ok()["virtualAccount"]["refundStatus"], "COMPLETED");
    cancel(&parts, Some(5000)).await;
    let pending = s.api.get(&format!("/v1/payments/{parts}")).await;
    assert_eq!(pending.ok()["virtualAccount"]["refundStatus"], "PENDING");
    let answer = settle(&parts, "FAILED").await;
    assert_eq!(
        answer.ok()["virtualAccount"]["refundStatus"],
        "PARTIAL_FAILED"
    );
    assert_eq!(answer.body["balanceAmount"], 10000);
    for _ in 0..6 {
        hooks.next(WAIT).await; // the three cancels' status changes and deposit callbacks
    }

    // The settled refunds' timers no longer count: the clock changes nothing.
    s.fake.advance(chrono::Duration::minutes(30)).await;
    for (key, status) in [(&failing, "FAILED"), (&parts, "PARTIAL_FAILED")] {
        let payment = s.api.get(&format!("/v1/payments/{key}")).await;
        assert_eq!(payment.ok()["virtualAccount"]["refundStatus"], status);
    }
    assert!(
        hooks.try_next().await.is_none(),
        "settling sends no webhook"
    );

    // Refused, changing nothing: nothing left pending, no refund to a bank account at all,
    // a result that is not one, a body that is not one.
    let answer = settle(&parts, "COMPLETED").await;
    assert_eq!(answer.error(400), "INVALID_REQUEST");
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("no refund pending"),
        "{}",
        answer.body
    );
    let card = key_of(&paid_card(&s.api, 3000).await);
    s.api
        .post(
            &format!("/v1/payments/{card}/cancel"),
            json!({"cancelReason": "x"}),
        )
        .await
        .ok();
    assert_eq!(settle(&card, "FAILED").await.error(400), "INVALID_REQUEST");
    let waiting = paid_virtual_account(&s, &hooks, 8000).await;
    cancel(&waiting, None).await;
    for bad in [
        json!({"result": "DONE"}),
        json!({"result": "failed"}),
        json!({}),
        json!({"result": "FAILED", "amount": 100}),
        json!([]),
    ] {
        let answer = s
            .api
            .post(&format!("/internal/{waiting}/refund"), bad.clone())
            .await;
        assert_eq!(answer.error(400), "INVALID_REQUEST", "{bad}");
    }
    let still = s.api.get(&format!("/v1/payments/{waiting}")).await;
    assert_eq!(still.ok()["virtualAccount"]["refundStatus"], "PENDING");

    // Only the payment's own merchant may settle it.
    assert_eq!(
        settle("nothing", "FAILED").await.error(404),
        "NOT_FOUND_PAYMENT"
    );
    let other = s.api.as_merchant("test_sk_someoneElse0000000000000000");
    let answer = other
        .post(
            &format!("/internal/{waiting}/refund"),
            json!({"result": "FAILED"}),
        )
        .await;
    assert_eq!(answer.error(404), "NOT_FOUND_PAYMENT");
    let answer = s
        .internal
        .post(
            &format!("/internal/{waiting}/refund"),
            json!({"result": "FAILED"}),
        )
        .await;
    assert_eq!(answer.error(401), "UNAUTHORIZED_KEY");
    let still = s.api.get(&format!("/v1/payments/{waiting}")).await;
    assert_eq!(still.ok()["virtualAccount"]["refundStatus"], "PENDING");

    // Left alone, it settles on the clock as any other.
    s.fake.advance(chrono::Duration::minutes(11)).await;
    let settled = s.api.get(&format!("/v1/payments/{waiting}")).await;
    assert_eq!(settled.ok()["virtualAccount"]["refundStatus"], "COMPLETED");
}

/// Toss's webhook-events reference (DEPOSIT_CALLBACK, its status flow) and FAQ ("가상계좌가
/// 만료된 경우에는 별도 콜백을 드리고 있지 않습니다"): an issued account whose deadline passes
/// stays `WAITING_FOR_DEPOSIT`, now `expired`, and no webhook is sent.
#[tokio::test]
async fn an_unpaid_virtual_account_expires_at_its_due_date_silently() {
    let (s, hooks) = start_with_receiver().await;
    let mut input = virtual_account(&order(), 9900);
    input["validHours"] = json!(2);
    let key = key_of(s.api.post("/v1/virtual-accounts", input).await.ok());
    hooks.next(WAIT).await;
    hooks.next(WAIT).await;

    s.fake.advance(chrono::Duration::minutes(119)).await;
    let waiting = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(waiting.ok()["virtualAccount"]["expired"], false);
    let clock = s
        .internal
        .post("/internal/clock", json!({"minutes": 2}))
        .await;
    assert_eq!(clock.ok()["offset_seconds"], 121 * 60);
    let expired = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(expired.ok()["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(expired.body["virtualAccount"]["expired"], true);
    typed(&expired.body);
    assert!(hooks.try_next().await.is_none(), "no webhook for an expiry");
    let late = s.api.put(&format!("/internal/{key}/deposit"), None).await;
    assert_eq!(late.error(400), "INVALID_REQUEST");
    // It can still be cancelled, as an unpaid account can.
    let cancelled = s
        .api
        .post(
            &format!("/v1/payments/{key}/cancel"),
            json!({"cancelReason": "expired"}),
        )
        .await;
    assert_eq!(cancelled.ok()["status"], "CANCELED");

    let backwards = s
        .internal
        .post("/internal/clock", json!({"hours": -1}))
        .await;
    assert_eq!(backwards.error(400), "INVALID_REQUEST");
    let unknown = s
        .internal
        .post("/internal/clock", json!({"weeks": 1}))
        .await;
    assert_eq!(unknown.error(400), "INVALID_REQUEST");
}

/// Toss's easy-pay response guide (docs.tosspayments.com/common/easypay-response): an easy
/// pay is `method: "간편결제"` with `easyPay: {provider, amount, discountAmount}`; paid by a
/// card registered in the wallet, `card.amount` is what the card paid and `easyPay.amount`
/// 0; paid by the wallet's balance, `card` is null and `easyPay.amount` what it paid;
/// points are `discountAmount`, and `totalAmount` is the sum. It is confirmed through
/// `/v1/payments/confirm` like a card payment.
#[tokio::test]
async fn easy_pay_payments_come_through_the_window_and_confirm_like_cards() {
    let (s, hooks) = start_with_receiver().await;
    let window = |order_id: &str, extra: Value| {
        let mut body = json!({"orderId": order_id, "amount": 15000, "method": "easy-pay"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let api = s.api.clone();
        async move { api.post("/internal/payments", body).await }
    };
    let confirm = |order_id: &str, key: &str| {
        let body = json!({"paymentKey": key, "orderId": order_id, "amount": 15000});
        let api = s.api.clone();
        async move { api.post("/v1/payments/confirm", body).await }
    };

    // A card registered in 네이버페이, and 5,000 of its points.
    let by_card = order();
    let key = key_of(
        window(
            &by_card,
            json!({"easyPay": "NAVERPAY", "cardNumber": "4330123412341234", "easyPayDiscountAmount": 5000}),
        )
        .await
        .ok(),
    );
    let waiting = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(waiting.ok()["status"], "IN_PROGRESS");
    let done = confirm(&by_card, &key).await;
    let payment = done.ok().clone();
    assert_eq!(payment["status"], "DONE");
    assert_eq!(payment["method"], "간편결제");
    assert_eq!(payment["totalAmount"], 15000);
    assert_eq!(
        payment["easyPay"],
        json!({"provider": "네이버페이", "amount": 0, "discountAmount": 5000})
    );
    assert_eq!(payment["card"]["amount"], 10000);
    assert_eq!(payment["card"]["issuerCode"], "41");
    assert!(matches!(typed(&payment), TossPayment::EasyPay(_)));
    let (_, event) = hooks.next(WAIT).await;
    assert_eq!(event["data"]["method"], "간편결제");
    assert_eq!(event["data"]["status"], "DONE");
    assert!(hooks.try_next().await.is_none(), "no deposit callback");

    // The wallet's balance (토스페이 by default): no card.
    let by_balance = order();
    let key = key_of(window(&by_balance, json!({})).await.ok());
    let payment = confirm(&by_balance, &key).await.ok().clone();
    assert_eq!(payment["card"], Value::Null);
    assert_eq!(
        payment["easyPay"],
        json!({"provider": "토스페이", "amount": 15000, "discountAmount": 0})
    );
    hooks.next(WAIT).await;
    let cancelled = s
        .api
        .post(
            &format!("/v1/payments/{key}/cancel"),
            json!({"cancelReason": "x", "cancelAmount": 5000}),
        )
        .await;
    assert_eq!(cancelled.ok()["status"], "PARTIAL_CANCELED");
    assert_eq!(cancelled.body["balanceAmount"], 10000);
    hooks.next(WAIT).await;

    // The provider's name works as well as its code; a provider Toss lacks does not.
    let named = window(&order(), json!({"easyPay": "카카오페이"})).await;
    assert!(named.ok()["paymentKey"].is_string());
    for bad in [
        json!({"easyPay": "BITPAY"}),
        json!({"easyPayDiscountAmount": 15000}),
        json!({"easyPayDiscountAmount": -1}),
        json!({"cardNumber": "1234"}),
    ] {
        let refused = window(&order(), bad.clone()).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
    }

    // A magic card registered in the wallet declines at the confirmation, as a card does.
    let declined = order();
    let key = key_of(
        window(&declined, json!({"cardNumber": "4330123412340002"}))
            .await
            .ok(),
    );
    let refused = confirm(&declined, &key).await;
    assert_eq!(refused.error(403), "REJECT_CARD_COMPANY");
    let aborted = s.api.get(&format!("/v1/payments/{key}")).await;
    assert_eq!(aborted.ok()["status"], "ABORTED");
    assert_eq!(aborted.body["failure"]["code"], "REJECT_CARD_COMPANY");
}

/// `GET /v1/transactions` between two times (`yyyy-MM-ddTHH:mm:ss`), with more parameters.
async fn transactions(api: &Api, start: &str, end: &str, more: &str) -> Answer {
    api.get(&format!(
        "/v1/transactions?startDate={start}&endDate={end}{more}"
    ))
    .await
}

/// A transaction's time in the query's form (`yyyy-MM-ddTHH:mm:ss`, KST) moved by `days`.
fn query_time(transaction: &Value, days: i64, time: &str) -> String {
    let at = chrono::DateTime::parse_from_rfc3339(transaction["transactionAt"].as_str().unwrap())
        .unwrap();
    format!(
        "{}T{time}",
        (at + chrono::Duration::days(days)).date_naive()
    )
}

fn keys(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["transactionKey"].as_str().unwrap().to_owned())
        .collect()
}

// Toss's API reference, 거래 조회 (`GET /v1/transactions`), and its guide 결제 승인 및 취소
// 기록 조회하기: each approval and each cancel of a payment is one transaction, listed by
// `transactionAt` between `startDate` and `endDate` (`endDate` taken to its whole second),
// paged with `startingAfter` (a transactionKey) and `limit`.
#[tokio::test]
async fn transactions_list_approvals_and_cancels_in_time_order() {
    // Records live a week here: the clock moves a day.
    let s = start(TossConfig {
        ttl: Duration::from_secs(7 * 24 * 3600),
        ..TossConfig::default()
    })
    .await;
    let first = paid_card(&s.api, 10_000).await;
    let second = paid_card(&s.api, 20_000).await;
    let second_key = key_of(&second);
    let cancel = format!("/v1/payments/{second_key}/cancel");
    let partly = s
        .api
        .post(
            &cancel,
            json!({"cancelReason": "일부 반품", "cancelAmount": 5000}),
        )
        .await;
    let partly = partly.ok().clone();
    // Payments not approved make no transaction: one waiting for approval, an unpaid
    // virtual account.
    s.api
        .post("/v1/payments/key-in", key_in(&order(), 3000, false))
        .await
        .ok();
    s.api
        .post("/v1/virtual-accounts", virtual_account(&order(), 4000))
        .await
        .ok();
    s.fake.advance(chrono::Duration::days(1)).await;
    let fully = s
        .api
        .post(&cancel, json!({"cancelReason": "전부 반품"}))
        .await
        .ok()
        .clone();

    let all = transactions(&s.api, "2000-01-01T00:00:00", "2999-12-31T23:59:59", "").await;
    let list = all.ok().as_array().unwrap().clone();
    let summary: Vec<_> = list
        .iter()
        .map(|t| {
            (
                t["paymentKey"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
                t["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    let first_key = key_of(&first);
    assert_eq!(
        summary,
        [
            (first_key.clone(), "DONE".to_owned(), 10_000.0),
            (second_key.clone(), "DONE".to_owned(), 20_000.0),
            (second_key.clone(), "PARTIAL_CANCELED".to_owned(), 5000.0),
            (second_key.clone(), "CANCELED".to_owned(), 15_000.0),
        ]
    );
    assert_eq!(
        keys(all.ok()),
        [
            first["transactionKey"].as_str().unwrap(),
            second["transactionKey"].as_str().unwrap(),
            partly["cancels"][0]["transactionKey"].as_str().unwrap(),
            fully["cancels"][1]["transactionKey"].as_str().unwrap(),
        ]
    );
    // Toss's Transaction object, field by field.
    let approval = &list[0];
    assert_eq!(approval["mId"], first["mId"]);
    assert_eq!(approval["orderId"], first["orderId"]);
    assert_eq!(approval["method"], "카드");
    assert_eq!(approval["currency"], "KRW");
    assert_eq!(approval["useEscrow"], false);
    assert_eq!(approval["customerKey"], Value::Null);
    assert_eq!(approval["receiptUrl"], first["receipt"]["url"]);
    assert_eq!(approval["transactionAt"], first["approvedAt"]);
    assert_eq!(list[3]["transactionAt"], fully["cancels"][1]["canceledAt"]);

    // The day of the first three, and the next day, apart.
    let day_start = query_time(&list[0], 0, "00:00:00");
    let day_end = query_time(&list[0], 0, "23:59:59");
    let next_start = query_time(&list[0], 1, "00:00:00");
    let next_end = query_time(&list[0], 1, "23:59:59");
    let day = transactions(&s.api, &day_start, &day_end, "").await;
    assert_eq!(keys(day.ok()), keys(all.ok())[..3]);
    let next = transactions(&s.api, &next_start, &next_end, "").await;
    assert_eq!(keys(next.ok()), keys(all.ok())[3..]);
    // Both ends are included, to the second.
    let at = list[0]["transactionAt"].as_str().unwrap()[..19].to_owned();
    let exact = transactions(&s.api, &at, &at, "").await;
    assert_eq!(keys(exact.ok())[0], keys(all.ok())[0]);

    // Page by page, one at a time: every transaction once, in order, then an empty page.
    let mut walked = Vec::new();
    let mut after = String::new();
    loop {
        let page = transactions(&s.api, &day_start, &next_end, &format!("&limit=1{after}")).await;
        let page = keys(page.ok());
        assert!(page.len() <= 1);
        let Some(last) = page.last() else { break };
        after = format!("&startingAfter={last}");
        walked.extend(page);
    }
    assert_eq!(walked, keys(all.ok()));
    let two = transactions(&s.api, &day_start, &next_end, "&limit=2").await;
    assert_eq!(keys(two.ok()), keys(all.ok())[..2]);
    let rest = format!("&limit=2&startingAfter={}", keys(all.ok())[1]);
    let rest = transactions(&s.api, &day_start, &next_end, &rest).await;
    assert_eq!(keys(rest.ok()), keys(all.ok())[2..]);
}

// Toss's API reference, 거래 조회: only the secret key's merchant's transactions; the
// dates in `yyyy-MM-ddTHH:mm:ss`; `limit` at most 10,000; a `startingAfter` that is no
// transaction's key is `INVALID_TRANSACTION_KEY` (as Toss answers it, 400).
#[tokio::test]
async fn transactions_are_the_merchants_own_and_refuse_bad_parameters() {
    let s = start_default().await;
    let mine = paid_card(&s.api, 1000).await;
    let (start, end) = ("2000-01-01T00:00:00", "2999-12-31T23:59:59");
    let other = s.api.as_merchant("test_sk_someone_else");
    assert_eq!(transactions(&other, start, end, "").await.ok(), &json!([]));
    let after_mine = format!(
        "&startingAfter={}",
        mine["transactionKey"].as_str().unwrap()
    );
    assert_eq!(
        transactions(&other, start, end, &after_mine)
            .await
            .error(400),
        "INVALID_TRANSACTION_KEY"
    );
    assert_eq!(
        transactions(&s.api, start, end, &after_mine).await.ok(),
        &json!([])
    );

    for bad in [
        "/v1/transactions",
        "/v1/transactions?startDate=2024-01-01T00:00:00",
        "/v1/transactions?endDate=2024-01-01T00:00:00",
        "/v1/transactions?startDate=2024-01-01&endDate=2024-01-02",
        "/v1/transactions?startDate=2024-13-01T00:00:00&endDate=2024-12-01T00:00:00",
        "/v1/transactions?startDate=2024-01-02T00:00:00&endDate=2024-01-01T00:00:00",
        "/v1/transactions?startDate=2024-01-01T00:00:00&endDate=2024-01-02T00:00:00&limit=0",
        "/v1/transactions?startDate=2024-01-01T00:00:00&endDate=2024-01-02T00:00:00&limit=10001",
        "/v1/transactions?startDate=2024-01-01T00:00:00&endDate=2024-01-02T00:00:00&limit=x",
    ] {
        let answer = s.api.get(bad).await;
        assert_eq!(answer.error(400), "INVALID_REQUEST", "{bad}");
    }
    for bad in ["nothing", "0", &"F".repeat(32), &"9".repeat(40)] {
        let answer = transactions(&s.api, start, end, &format!("&startingAfter={bad}")).await;
        assert_eq!(answer.error(400), "INVALID_TRANSACTION_KEY", "{bad}");
    }
    // The largest page is allowed.
    let most = transactions(&s.api, start, end, "&limit=10000").await;
    assert_eq!(most.ok().as_array().unwrap().len(), 1);
}

// Toss's API reference, 현금영수증 조회 (`GET /v1/cash-receipts`): the cash receipts of a
// `requestDate` (yyyy-MM-dd), `{hasNext, lastCursor, data}`, paged with `cursor` (the
// previous page's `lastCursor`) and `limit`; an issue is `CONFIRM`, its cancel `CANCEL`.
#[tokio::test]
async fn cash_receipts_are_listed_by_day_a_page_at_a_time() {
    // Records live a week here: the clock moves a day.
    let s = start(TossConfig {
        ttl: Duration::from_secs(7 * 24 * 3600),
        ..TossConfig::default()
    })
    .await;
    let mut receipts = Vec::new();
    for amount in [1000, 2000, 3000] {
        let payment = paid_card(&s.api, amount).await;
        let issued = s
            .api
            .post(
                "/v1/cash-receipts",
                json!({"type": "소득공제", "paymentKey": key_of(&payment),
                       "orderId": payment["orderId"], "orderName": "토스 티셔츠",
                       "registrationNumber": "01012345678", "amount": amount}),
            )
            .await;
        receipts.push(issued.ok().clone());
    }
    let key = |r: &Value| r["receiptKey"].as_str().unwrap().to_owned();
    let day = receipts[0]["approvedAt"].as_str().unwrap()[..10].to_owned();
    s.fake.advance(chrono::Duration::days(1)).await;
    let cancelled = s
        .api
        .post(
            &format!("/v1/cash-receipts/{}/cancel", key(&receipts[1])),
            json!({}),
        )
        .await
        .ok()
        .clone();
    let next_day = cancelled["canceledAt"].as_str().unwrap()[..10].to_owned();

    let all = s
        .api
        .get(&format!("/v1/cash-receipts?requestDate={day}"))
        .await;
    let all = all.ok();
    assert_eq!(all["hasNext"], false);
    let data = all["data"].as_array().unwrap();
    let listed: Vec<_> = data
        .iter()
        .map(|r| {
            (
                r["receiptKey"].as_str().unwrap().to_owned(),
                r["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (key(&receipts[0]), 1000.0),
            (key(&receipts[1]), 2000.0),
            (key(&receipts[2]), 3000.0)
        ]
    );
    for (entry, receipt) in data.iter().zip(&receipts) {
        assert_eq!(entry["transactionType"], "CONFIRM");
        assert_eq!(entry["issueStatus"], "COMPLETED");
        assert_eq!(entry["issueNumber"], receipt["approvalNumber"]);
        assert_eq!(entry["orderId"], receipt["orderId"]);
        assert_eq!(entry["requestedAt"], receipt["approvedAt"]);
    }

    // The cancel is listed on its own day.
    let next = s
        .api
        .get(&format!("/v1/cash-receipts?requestDate={next_day}"))
        .await;
    let next = next.ok();
    assert_eq!(next["data"].as_array().unwrap().len(), 1);
    assert_eq!(next["data"][0]["receiptKey"], key(&receipts[1]).as_str());
    assert_eq!(next["data"][0]["transactionType"], "CANCEL");
    assert_eq!(next["data"][0]["requestedAt"], cancelled["canceledAt"]);

    // Two at a time: the first page says more follow, the cursor gets the rest.
    let first = s
        .api
        .get(&format!("/v1/cash-receipts?requestDate={day}&limit=2"))
        .await
        .ok()
        .clone();
    assert_eq!(first["hasNext"], true);
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["lastCursor"].as_u64().unwrap();
    let second = s
        .api
        .get(&format!(
            "/v1/cash-receipts?requestDate={day}&limit=2&cursor={cursor}"
        ))
        .await
        .ok()
        .clone();
    assert_eq!(second["hasNext"], false);
    let mut walked: Vec<_> = first["data"].as_array().unwrap().clone();
    walked.extend(second["data"].as_array().unwrap().iter().cloned());
    assert_eq!(&walked, data);

    // Another merchant, an empty day, bad parameters.
    let other = s.api.as_merchant("test_sk_someone_else");
    let theirs = other
        .get(&format!("/v1/cash-receipts?requestDate={day}"))
        .await;
    assert_eq!(
        theirs.ok(),
        &json!({"hasNext": false, "lastCursor": null, "data": []})
    );
    for bad in [
        "/v1/cash-receipts",
        "/v1/cash-receipts?requestDate=2024-01-01T00:00:00",
        "/v1/cash-receipts?requestDate=20240101",
        "/v1/cash-receipts?requestDate=2024-01-01&limit=0",
        "/v1/cash-receipts?requestDate=2024-01-01&limit=10001",
        "/v1/cash-receipts?requestDate=2024-01-01&cursor=x",
    ] {
        assert_eq!(s.api.get(bad).await.error(400), "INVALID_REQUEST", "{bad}");
    }
}

// Toss's guide 결제 승인 및 취소 기록 조회하기: a virtual account's approval is its
// deposit. A deposit taken back (the fake's control) takes its transaction off the list,
// and a new deposit lists a new one.
#[tokio::test]
async fn a_virtual_accounts_transaction_follows_its_deposit() {
    let s = start_default().await;
    let account = s
        .api
        .post("/v1/virtual-accounts", virtual_account(&order(), 7000))
        .await;
    let key = key_of(account.ok());
    let (start, end) = ("2000-01-01T00:00:00", "2999-12-31T23:59:59");
    assert_eq!(transactions(&s.api, start, end, "").await.ok(), &json!([]));
    let deposit = format!("/internal/{key}/deposit");
    s.api.put(&deposit, None).await.ok();
    let listed = transactions(&s.api, start, end, "").await;
    let listed = listed.ok().as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["method"], "가상계좌");
    assert_eq!(listed[0]["status"], "DONE");
    assert_eq!(listed[0]["amount"], 7000);
    s.api.delete(&deposit).await.ok();
    assert_eq!(transactions(&s.api, start, end, "").await.ok(), &json!([]));
    s.api.put(&deposit, None).await.ok();
    assert_eq!(
        transactions(&s.api, start, end, "")
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
