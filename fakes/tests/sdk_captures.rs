//! Drives both fakes through their main flows over HTTP and writes every answer to
//! `$CARGO_TARGET_TMPDIR/sdk-captures/{toss,iamport}.json`, for `sdk-checks/v1` to check
//! against the schemas the npm SDKs ship (`bash .ci/run` runs both). Here, every answer
//! must be a success: a capture of an error would check nothing.

mod support;

use std::path::PathBuf;

use payments_fakes::Fake as _;
use payments_fakes::iamport::{FakeIamport, IamportConfig};
use payments_fakes::toss::{FakeToss, TossConfig};
use serde_json::{Value, json};
use support::{Api, spawn};

/// An API client that keeps every answer it gets.
struct Recorder {
    fake: &'static str,
    api: Api,
    captures: Vec<Value>,
}

impl Recorder {
    /// A Toss virtual account issued, paid into and refunded in full to `account_number`;
    /// answers its payment key.
    async fn refunded_account(&mut self, account_number: &str) -> String {
        let account = self
            .call(
                "POST",
                "/v1/virtual-accounts",
                Some(
                    json!({"method": "virtual-account", "orderId": order(), "orderName": "토스 티셔츠",
                            "bank": "신한", "customerName": "홍길동", "amount": 20000}),
                ),
            )
            .await;
        let key = account["paymentKey"].as_str().unwrap().to_owned();
        self.call("PUT", &format!("/internal/{key}/deposit"), None)
            .await;
        self.call(
            "POST",
            &format!("/v1/payments/{key}/cancel"),
            Some(json!({"cancelReason": "환불", "refundReceiveAccount":
                        {"bank": "신한", "accountNumber": account_number, "holderName": "홍길동"}})),
        )
        .await;
        key
    }

    async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call_with(method, path, body, &[]).await
    }

    async fn call_with(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Value {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = self.api.send(verb, path, body, headers).await;
        let body = answer.ok().clone();
        if self.fake == "iamport" {
            assert_eq!(body["code"], 0, "{method} {path}: {body}");
        }
        self.captures.push(json!({
            "fake": self.fake,
            "method": method,
            "path": path,
            "status": answer.status,
            "body": body,
        }));
        body
    }

    fn write(&self) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sdk-captures");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{}.json", self.fake));
        std::fs::write(&file, serde_json::to_vec_pretty(&self.captures).unwrap()).unwrap();
    }
}

fn order() -> String {
    format!("order-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn toss_answers_are_captured() {
    let fake = FakeToss::new(TossConfig::default());
    let url = spawn(fake.router()).await;
    let mut r = Recorder {
        fake: "toss",
        api: Api::new(&url, Some("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R")),
        captures: Vec::new(),
    };
    let key_in = |order_id: &str, approved: bool| {
        json!({
            "method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "49",
            "cardExpirationMonth": "12", "cardPassword": "12", "amount": 15000,
            "orderId": order_id, "orderName": "토스 티셔츠", "customerBirthday": "880311",
            "__approved": approved,
        })
    };
    let paid = r
        .call("POST", "/v1/payments/key-in", Some(key_in(&order(), true)))
        .await;
    let key = paid["paymentKey"].as_str().unwrap().to_owned();
    r.call("GET", &format!("/v1/payments/{key}"), None).await;
    let cancel = format!("/v1/payments/{key}/cancel");
    r.call(
        "POST",
        &cancel,
        Some(json!({"cancelReason": "부분", "cancelAmount": 5000})),
    )
    .await;
    let receipt = r
        .call(
            "POST",
            "/v1/cash-receipts",
            Some(
                json!({"type": "소득공제", "paymentKey": key, "orderId": paid["orderId"],
                        "orderName": "토스 티셔츠", "registrationNumber": "01012345678",
                        "amount": 10000}),
            ),
        )
        .await;
    r.call("GET", &format!("/v1/payments/{key}"), None).await;
    let receipt_key = receipt["receiptKey"].as_str().unwrap();
    r.call(
        "POST",
        &format!("/v1/cash-receipts/{receipt_key}/cancel"),
        Some(json!({})),
    )
    .await;
    r.call("POST", &cancel, Some(json!({"cancelReason": "전액"})))
        .await;

    // Approved later, by the legacy path and by /confirm; one refused by a test code.
    for approval in ["legacy", "confirm", "refused"] {
        let order_id = order();
        let waiting = r
            .call(
                "POST",
                "/v1/payments/key-in",
                Some(key_in(&order_id, false)),
            )
            .await;
        let key = waiting["paymentKey"].as_str().unwrap().to_owned();
        match approval {
            "legacy" => {
                r.call(
                    "POST",
                    &format!("/v1/payments/{key}"),
                    Some(json!({"orderId": order_id, "amount": 15000})),
                )
                .await;
            }
            "confirm" => {
                r.call(
                    "POST",
                    "/v1/payments/confirm",
                    Some(json!({"paymentKey": key, "orderId": order_id, "amount": 15000})),
                )
                .await;
            }
            _ => {
                let refused = r
                    .api
                    .send(
                        reqwest::Method::POST,
                        "/v1/payments/confirm",
                        Some(json!({"paymentKey": key, "orderId": order_id, "amount": 15000})),
                        &[("TossPayments-Test-Code", "REJECT_CARD_COMPANY")],
                    )
                    .await;
                assert_eq!(refused.status, 403);
                r.call("GET", &format!("/v1/payments/{key}"), None).await;
            }
        }
    }

    let key = r.refunded_account("12345678901").await;
    // The refund's later states: settled on the fake's clock, and one the bank refuses.
    let refused = r.refunded_account("11000000002").await;
    fake.advance(chrono::Duration::hours(1)).await;
    for key in [&key, &refused] {
        r.call("GET", &format!("/v1/payments/{key}"), None).await;
    }

    let billing = r
        .call(
            "POST",
            "/v1/billing/authorizations/card",
            Some(
                json!({"customerKey": "customer-1", "cardNumber": "5365101234567540",
                        "cardExpirationYear": "49", "cardExpirationMonth": "03",
                        "cardPassword": "99", "customerBirthday": "880311"}),
            ),
        )
        .await;
    let billing_key = billing["billingKey"].as_str().unwrap().to_owned();
    r.call(
        "POST",
        &format!("/v1/billing/authorizations/{billing_key}"),
        Some(json!({"customerKey": "customer-1"})),
    )
    .await;
    r.call(
        "POST",
        &format!("/v1/billing/{billing_key}"),
        Some(
            json!({"customerKey": "customer-1", "orderId": order(), "amount": 4900,
                    "orderName": "월간 구독"}),
        ),
    )
    .await;
    // The list routes, which the SDK does not model (the check reports them so).
    let transactions = r
        .call(
            "GET",
            "/v1/transactions?startDate=2000-01-01T00:00:00&endDate=2999-12-31T23:59:59",
            None,
        )
        .await;
    assert!(transactions.as_array().unwrap().len() > 5);
    let day = receipt["approvedAt"].as_str().unwrap()[..10].to_owned();
    let receipts = r
        .call("GET", &format!("/v1/cash-receipts?requestDate={day}"), None)
        .await;
    assert_eq!(receipts["data"].as_array().unwrap().len(), 2);
    assert!(r.captures.len() > 15);
    r.write();
}

#[tokio::test]
async fn iamport_answers_are_captured() {
    let fake = FakeIamport::new(IamportConfig::default());
    let url = spawn(fake.router()).await;
    let anonymous = Api::new(&url, None);
    let mut r = Recorder {
        fake: "iamport",
        api: anonymous,
        captures: Vec::new(),
    };
    let user = r
        .call(
            "POST",
            "/users/getToken",
            Some(json!({"imp_key": "test_imp_key", "imp_secret": "test_imp_secret"})),
        )
        .await;
    r.api.auth = Some(
        user["response"]["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let onetime = |merchant_uid: &str, number: &str| {
        json!({
            "card_number": number, "expiry": "2049-12", "birth": "880311", "pwd_2digit": "12",
            "merchant_uid": merchant_uid, "amount": 11000, "name": "월간 구독",
            "buyer_name": "홍길동", "buyer_email": "gildong@example.com",
        })
    };
    let paid = r
        .call(
            "POST",
            "/subscribe/payments/onetime",
            Some(onetime(&order(), "4092-0230-1234-5678")),
        )
        .await;
    // A declined card: `code: 0` and a failed payment.
    r.call(
        "POST",
        "/subscribe/payments/onetime",
        Some(onetime(&order(), "4000-0000-0000-0002")),
    )
    .await;
    let imp_uid = paid["response"]["imp_uid"].as_str().unwrap().to_owned();
    r.call("GET", &format!("/payments/{imp_uid}"), None).await;
    r.call(
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": imp_uid, "amount": 1100, "checksum": null, "reason": "x"})),
    )
    .await;
    let receipt = format!("/receipts/{imp_uid}");
    r.call(
        "POST",
        &receipt,
        Some(json!({"imp_uid": imp_uid, "identifier": "01012345678", "identifier_type": "phone"})),
    )
    .await;
    r.call("GET", &receipt, None).await;
    r.call("DELETE", &receipt, None).await;
    r.call(
        "POST",
        &format!("/internal/cancel/{imp_uid}"),
        Some(json!({"amount": 1000, "reason": "콘솔 부분취소"})),
    )
    .await;
    r.call(
        "POST",
        "/payments/cancel",
        Some(json!({"imp_uid": imp_uid, "checksum": null, "reason": "x"})),
    )
    .await;

    let customer = "/subscribe/customers/customer-1";
    r.call(
        "POST",
        customer,
        Some(
            json!({"customer_uid": "customer-1", "card_number": "5365-1012-3456-7540",
                    "expiry": "2049-03", "birth": "880311", "pwd_2digit": "99",
                    "customer_name": "홍길동"}),
        ),
    )
    .await;
    r.call("GET", customer, None).await;
    r.call(
        "GET",
        "/subscribe/customers?customer_uid[]=customer-1",
        None,
    )
    .await;
    r.call(
        "POST",
        "/subscribe/payments/again",
        Some(
            json!({"customer_uid": "customer-1", "merchant_uid": order(), "amount": 9900,
                    "name": "월간 구독"}),
        ),
    )
    .await;
    // Schedules: moved, listed, revoked, then charged at once and rescheduled.
    let at = fake.clock().now().timestamp() + 3600;
    let (first, second) = (order(), order());
    r.call(
        "POST",
        "/subscribe/payments/schedule",
        Some(json!({"customer_uid": "customer-1", "schedules": [
            {"merchant_uid": first, "schedule_at": at, "amount": 9900, "name": "월간 구독"},
            {"merchant_uid": second, "schedule_at": at, "amount": 9900, "name": "월간 구독"}
        ]})),
    )
    .await;
    r.call(
        "PUT",
        &format!("/subscribe/payments/schedule/{first}"),
        Some(json!({"schedule_at": at + 600})),
    )
    .await;
    let range = format!("from={at}&to={}", at + 3600);
    r.call(
        "GET",
        &format!(
            "/subscribe/payments/schedule?schedule_from={at}&schedule_to={}",
            at + 3600
        ),
        None,
    )
    .await;
    r.call(
        "GET",
        &format!("/subscribe/payments/schedule/customers/customer-1?{range}"),
        None,
    )
    .await;
    r.call(
        "POST",
        "/subscribe/payments/unschedule",
        Some(json!({"customer_uid": "customer-1", "merchant_uid": [first, second]})),
    )
    .await;
    let retried = r
        .call(
            "POST",
            &format!("/subscribe/payments/schedule/{first}/retry"),
            None,
        )
        .await;
    let imp_uid = retried["response"]["imp_uid"].as_str().unwrap().to_owned();
    r.call("GET", &format!("/payments/{imp_uid}"), None).await;
    r.call("GET", &format!("/payments/{imp_uid}/balance"), None)
        .await;
    r.call(
        "POST",
        &format!("/subscribe/payments/schedule/{second}/reschedule"),
        Some(json!({"schedule_at": at + 1200})),
    )
    .await;
    r.call("GET", &format!("{customer}/payments"), None).await;
    r.call("DELETE", customer, None).await;

    let due = fake.clock().now().timestamp() + 86_400;
    let account = r
        .call(
            "POST",
            "/vbanks",
            Some(
                json!({"merchant_uid": order(), "amount": 20000, "vbank_code": "088",
                        "vbank_due": due, "vbank_holder": "홍길동"}),
            ),
        )
        .await;
    let imp_uid = account["response"]["imp_uid"].as_str().unwrap().to_owned();
    r.call(
        "PUT",
        "/vbanks",
        Some(json!({"imp_uid": imp_uid, "amount": 21000})),
    )
    .await;
    r.call("PUT", &format!("/internal/deposit/{imp_uid}"), None)
        .await;
    r.call("GET", &format!("/payments/{imp_uid}"), None).await;

    let requested = r
        .call(
            "POST",
            "/certifications/otp/request",
            Some(
                json!({"name": "홍길동", "phone": "010-1234-5678", "birth": "880311",
                        "gender_digit": "1", "carrier": "SKT"}),
            ),
        )
        .await;
    let imp_uid = requested["response"]["imp_uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let certification = format!("/certifications/{imp_uid}");
    let pending = r.call("GET", &certification, None).await;
    let otp = pending["response"]["__otp"].as_str().unwrap().to_owned();
    r.call(
        "POST",
        &format!("/certifications/otp/confirm/{imp_uid}"),
        Some(json!({"otp": otp})),
    )
    .await;
    r.call("DELETE", &certification, None).await;
    assert!(r.captures.len() > 15);
    r.write();
}
