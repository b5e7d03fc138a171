//! The fakes' browser side over loopback HTTP: the stand-in scripts at the real CDNs' paths,
//! the checkout pages, and what the pages post, which drives the same state as the API.

mod support;

use payments_fakes::Fake as _;
use payments_fakes::iamport::{FakeIamport, IamportConfig};
use payments_fakes::portone::{self, FakePortOne, PortOneConfig};
use payments_fakes::toss::{self, FakeToss, TossConfig};
use serde_json::{Value, json};
use support::{basic, client, spawn};

async fn get(url: &str) -> (u16, String, String) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

async fn post(url: &str, body: &Value) -> (u16, Value) {
    let response = client().post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The checkout page's URL for a request.
fn page_url(base: &str, key: &str, kind: &str, request: &Value) -> String {
    let mut url = reqwest::Url::parse(&format!("{base}/checkout")).unwrap();
    url.query_pairs_mut()
        .append_pair("key", key)
        .append_pair("kind", kind)
        .append_pair("mode", "iframe")
        .append_pair("origin", "http://shop.test")
        .append_pair("window", "w1")
        .append_pair("request", &request.to_string());
    url.into()
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn each_fake_serves_its_sdk_stand_in_at_the_cdn_path() {
    let toss = spawn(FakeToss::new(TossConfig::default()).router()).await;
    let iamport = spawn(FakeIamport::new(IamportConfig::default()).router()).await;
    let portone = spawn(FakePortOne::new(PortOneConfig::default()).router()).await;
    for (url, entry) in [
        (format!("{toss}/v1/payment"), "window.TossPayments"),
        (format!("{toss}/v2/standard"), "window.TossPayments"),
        (format!("{iamport}/v1/iamport.js"), "window.IMP"),
        (
            format!("{iamport}/js/iamport.payment-1.2.0.js"),
            "window.IMP",
        ),
        (format!("{portone}/v2/browser-sdk.js"), "window.PortOne"),
    ] {
        let (status, kind, body) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(kind, "text/javascript; charset=utf-8", "{url}");
        assert!(body.contains(entry), "{url} lacks {entry}");
        assert!(body.contains("/checkout?"), "{url} opens no window");
    }
}

#[tokio::test]
async fn the_page_shows_the_order_escaped_and_labels_its_fields() {
    let toss = spawn(FakeToss::new(TossConfig::default()).router()).await;
    let request = json!({
        "method": "카드", "amount": 15000, "orderId": "order-1",
        "orderName": "<script>alert(1)</script> 티셔츠",
    });
    let (status, kind, html) = get(&page_url(&toss, "test_ck_page", "payment", &request)).await;
    assert_eq!(status, 200, "{html}");
    assert!(kind.starts_with("text/html"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; 티셔츠"));
    assert!(
        !html.contains("<script>alert(1)"),
        "the order name ends up as markup"
    );
    assert!(html.contains("15,000 KRW"));
    assert!(html.contains("<label for=\"card-number\">Card number"));
    assert!(html.contains("<label for=\"bank\">Bank"));
}

#[tokio::test]
async fn bad_parameters_get_an_error_page_that_says_why() {
    let toss = spawn(FakeToss::new(TossConfig::default()).router()).await;
    let iamport = spawn(FakeIamport::new(IamportConfig::default()).router()).await;
    let portone = spawn(FakePortOne::new(PortOneConfig::default()).router()).await;
    let cases = [
        (
            page_url(
                &toss,
                "test_ck_x",
                "payment",
                &json!({"amount": 100, "orderName": "a"}),
            ),
            "orderId is missing",
        ),
        (
            page_url(&toss, "live_ck_x", "payment", &json!({})),
            "is not a client key of this fake",
        ),
        (
            format!("{toss}/checkout?key=test_ck_x&request=%7Bnot%20json"),
            "request is not JSON",
        ),
        (
            page_url(
                &iamport,
                "imp00000000",
                "payment",
                &json!({"merchant_uid": "m", "amount": 1}),
            ),
            "is not a merchant code of this fake",
        ),
        (
            page_url(
                &portone,
                &portone::store_id(portone::DEFAULT_API_SECRET),
                "payment",
                &json!({"channelKey": "other", "paymentId": "p"}),
            ),
            "채널 other",
        ),
    ];
    for (url, says) in cases {
        let (status, kind, html) = get(&url).await;
        assert_eq!(status, 400, "{url}: {html}");
        assert!(kind.starts_with("text/html"), "{url}: {kind}");
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(html.contains(says), "{url}: {html} does not say {says:?}");
    }
}

#[tokio::test]
async fn a_toss_window_payment_is_the_one_the_merchant_confirms() {
    let fake = FakeToss::new(TossConfig::default());
    let url = spawn(fake.router()).await;
    let secret = "test_sk_windowmerchant";
    let client_key = toss::checkout::client_key(secret).unwrap();
    assert_eq!(client_key, "test_ck_windowmerchant");
    let request = json!({
        "method": "카드", "amount": 15000, "orderId": "order-w1", "orderName": "티셔츠",
        "successUrl": "http://shop.test/success", "failUrl": "http://shop.test/fail",
    });
    let pay = |card: &str, action: &str, request: &Value| {
        json!({"key": client_key, "kind": "payment", "request": request, "action": action,
               "method": "card", "card_number": card})
    };
    // A declined card goes to failUrl with its code, and leaves no payment.
    let (status, declined) = post(
        &format!("{url}/checkout/api"),
        &pay("4000 0000 0000 0002", "pay", &request),
    )
    .await;
    assert_eq!(status, 200, "{declined}");
    let fail = query_of(declined["redirect"].as_str().unwrap());
    assert!(
        declined["redirect"]
            .as_str()
            .unwrap()
            .starts_with("http://shop.test/fail?")
    );
    assert_eq!(fail["code"], "REJECT_CARD_COMPANY");
    assert_eq!(fail["orderId"], "order-w1");
    assert_eq!(declined["result"]["code"], "REJECT_CARD_COMPANY");
    // A cancelled window reports PAY_PROCESS_CANCELED by redirect, USER_CANCEL by promise.
    let (_, cancelled) = post(&format!("{url}/checkout/api"), &pay("", "cancel", &request)).await;
    assert_eq!(
        query_of(cancelled["redirect"].as_str().unwrap())["code"],
        "PAY_PROCESS_CANCELED"
    );
    assert_eq!(cancelled["result"]["code"], "USER_CANCEL");
    // A good card goes to successUrl; the merchant confirms that very payment.
    let (status, paid) = post(
        &format!("{url}/checkout/api"),
        &pay("4330 1234 1234 1234", "pay", &request),
    )
    .await;
    assert_eq!(status, 200, "{paid}");
    let success = query_of(paid["redirect"].as_str().unwrap());
    assert_eq!(success["orderId"], "order-w1");
    assert_eq!(success["amount"], "15000");
    assert_eq!(success["paymentType"], "NORMAL");
    let confirmed = client()
        .post(format!("{url}/v1/payments/confirm"))
        .header("authorization", basic(secret))
        .json(&json!({"paymentKey": success["paymentKey"], "orderId": "order-w1", "amount": 15000}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(confirmed["status"], "DONE");
    assert_eq!(confirmed["orderName"], "티셔츠");
    // Another merchant's key does not see it.
    let other = client()
        .get(format!("{url}/v1/payments/{}", success["paymentKey"]))
        .header("authorization", basic("test_sk_someoneelse"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // A bad card number is refused with a message the page shows; nothing is made.
    let (status, refused) = post(
        &format!("{url}/checkout/api"),
        &pay("1234", "pay", &request),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("15 or 16 digits")
    );
    fake.reset();
}

#[tokio::test]
async fn a_toss_card_registration_hands_back_an_auth_key_the_merchant_exchanges() {
    let url = spawn(FakeToss::new(TossConfig::default()).router()).await;
    let request = json!({"method": "카드", "customerKey": "customer-1",
        "successUrl": "http://shop.test/billing/success", "failUrl": "http://shop.test/billing/fail"});
    let (status, registered) = post(
        &format!("{url}/checkout/api"),
        &json!({"key": "test_ck_billing", "kind": "billing", "request": request, "action": "pay",
                "card_number": "4330123412341234"}),
    )
    .await;
    assert_eq!(status, 200, "{registered}");
    let success = query_of(registered["redirect"].as_str().unwrap());
    assert_eq!(success["customerKey"], "customer-1");
    let issued: Value = client()
        .post(format!("{url}/v1/billing/authorizations/issue"))
        .header("authorization", basic("test_sk_billing"))
        .json(&json!({"authKey": success["authKey"], "customerKey": "customer-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(issued["billingKey"].as_str().is_some(), "{issued}");
}

#[tokio::test]
async fn an_iamport_window_payment_is_paid_and_a_declined_one_says_why() {
    let url = spawn(FakeIamport::new(IamportConfig::default()).router()).await;
    let code =
        payments_fakes::iamport::checkout::merchant_code(payments_fakes::iamport::DEFAULT_IMP_KEY);
    // The same on every run: the README gives it.
    assert_eq!(code, "imp35910035");
    let request = |uid: &str| {
        json!({"pay_method": "card", "merchant_uid": uid, "amount": 1000, "name": "노트",
        "m_redirect_url": "http://shop.test/done"})
    };
    let (status, paid) = post(
        &format!("{url}/checkout/api"),
        &json!({"key": code, "request": request("m-1"), "action": "pay", "method": "card",
                "card_number": "4092 0230 1234 5678"}),
    )
    .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["result"]["success"], true, "{paid}");
    assert_eq!(paid["result"]["status"], "paid");
    assert_eq!(paid["result"]["paid_amount"], 1000);
    let imp_uid = paid["result"]["imp_uid"].as_str().unwrap().to_owned();
    let done = query_of(paid["redirect"].as_str().unwrap());
    assert_eq!(done["imp_uid"], imp_uid);
    assert_eq!(done["imp_success"], "true");
    // The backend reads the same payment through the API.
    let token: Value = client()
        .post(format!("{url}/users/getToken"))
        .json(&json!({"imp_key": "test_imp_key", "imp_secret": "test_imp_secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["response"]["access_token"].as_str().unwrap();
    let read: Value = client()
        .get(format!("{url}/payments/{imp_uid}"))
        .header("authorization", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["response"]["status"], "paid", "{read}");
    assert_eq!(read["response"]["merchant_uid"], "m-1");
    let (_, declined) = post(
        &format!("{url}/checkout/api"),
        &json!({"key": code, "request": request("m-2"), "action": "pay", "method": "card",
                "card_number": "4000-0000-0000-0002"}),
    )
    .await;
    assert_eq!(declined["result"]["success"], false, "{declined}");
    assert!(
        declined["result"]["error_msg"]
            .as_str()
            .unwrap()
            .contains("카드 승인에 실패")
    );
    assert_eq!(
        query_of(declined["redirect"].as_str().unwrap())["imp_success"],
        "false"
    );
}

#[tokio::test]
async fn a_portone_window_payment_and_billing_key_are_the_stores() {
    let url = spawn(FakePortOne::new(PortOneConfig::default()).router()).await;
    let store = portone::store_id(portone::DEFAULT_API_SECRET);
    let request = json!({"storeId": store, "channelKey": portone::CHANNEL_KEY, "paymentId": "pay-w1",
        "orderName": "머그컵", "totalAmount": 8000, "currency": "KRW", "payMethod": "CARD",
        "redirectUrl": "http://shop.test/portone"});
    let (status, paid) = post(
        &format!("{url}/checkout/api"),
        &json!({"key": store, "kind": "payment", "request": request, "action": "pay", "method": "CARD",
                "card_number": "4330123412341234"}),
    )
    .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["result"]["paymentId"], "pay-w1");
    assert_eq!(paid["result"]["transactionType"], "PAYMENT");
    assert!(paid["result"].get("code").is_none(), "{paid}");
    let back = query_of(paid["redirect"].as_str().unwrap());
    assert_eq!(back["paymentId"], "pay-w1");
    assert_eq!(back["txId"], paid["result"]["txId"].as_str().unwrap());
    let read: Value = client()
        .get(format!("{url}/payments/pay-w1"))
        .header(
            "authorization",
            format!("PortOne {}", portone::DEFAULT_API_SECRET),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "PAID", "{read}");
    let (_, cancelled) = post(
        &format!("{url}/checkout/api"),
        &json!({"key": store, "kind": "payment", "request": request, "action": "cancel"}),
    )
    .await;
    assert_eq!(cancelled["result"]["code"], "FAILURE_TYPE_PG");
    assert_eq!(cancelled["result"]["pgCode"], "PAY_PROCESS_CANCELED");
    let billing =
        json!({"storeId": store, "channelKey": portone::CHANNEL_KEY, "billingKeyMethod": "CARD"});
    let (status, issued) = post(
        &format!("{url}/checkout/api"),
        &json!({"key": store, "kind": "billing", "request": billing, "action": "pay",
                "card_number": "4330123412341234"}),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let key = issued["result"]["billingKey"].as_str().unwrap();
    let read = client()
        .get(format!("{url}/billing-keys/{key}"))
        .header(
            "authorization",
            format!("PortOne {}", portone::DEFAULT_API_SECRET),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
}

/// Toss's direct window (docs.tosspayments.com/guides/payment/integration-direct): a card
/// window opened with `flowMode: "DIRECT"` and `easyPay: "NAVERPAY"` goes straight to the
/// provider; the payment the merchant confirms is an easy pay (`method: "간편결제"`), paid by
/// the card registered in the wallet or, with none entered, by the wallet's balance.
#[tokio::test]
async fn a_toss_easy_pay_window_makes_an_easy_pay_payment() {
    let url = spawn(FakeToss::new(TossConfig::default()).router()).await;
    let secret = "test_sk_easypaymerchant";
    let client_key = toss::checkout::client_key(secret).unwrap();
    let request = |order: &str, easy_pay: &str| {
        json!({
            "method": "카드", "amount": 12000, "orderId": order, "orderName": "티셔츠",
            "flowMode": "DIRECT", "easyPay": easy_pay,
        })
    };
    // The page opens on the easy-pay method, naming the provider asked for as the
    // provider's own window does.
    let (status, _, html) = get(&page_url(
        &url,
        &client_key,
        "payment",
        &request("order-e1", "NAVERPAY"),
    ))
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("value=\"easy-pay\" checked> 간편결제 · 네이버페이 ("),
        "{html}"
    );
    // v1's method may be the provider itself; the name is what the page shows either way.
    let mut by_method = request("order-e3", "KAKAOPAY");
    by_method["method"] = json!("토스페이");
    by_method.as_object_mut().unwrap().remove("easyPay");
    let (status, _, html) = get(&page_url(&url, &client_key, "payment", &by_method)).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("value=\"easy-pay\" checked> 간편결제 · 토스페이 ("),
        "{html}"
    );
    // A card window names no provider.
    let mut card = request("order-e4", "");
    card.as_object_mut().unwrap().remove("easyPay");
    card.as_object_mut().unwrap().remove("flowMode");
    let (status, _, html) = get(&page_url(&url, &client_key, "payment", &card)).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("value=\"card\" checked"), "{html}");
    assert!(
        !html.contains("토스페이") && !html.contains("네이버페이"),
        "{html}"
    );
    let (status, refused, _) = get(&page_url(
        &url,
        &client_key,
        "payment",
        &request("order-e0", "NOPAY"),
    ))
    .await;
    assert_eq!(status, 400, "an unknown provider: {refused}");

    let confirm = |order: &str, key: &Value| {
        client()
            .post(format!("{url}/v1/payments/confirm"))
            .header("authorization", basic(secret))
            .json(&json!({"paymentKey": key, "orderId": order, "amount": 12000}))
            .send()
    };
    for (order, card) in [("order-e1", "4330 1234 1234 1234"), ("order-e2", "")] {
        let (status, paid) = post(
            &format!("{url}/checkout/api"),
            &json!({"key": client_key, "kind": "payment", "request": request(order, "NAVERPAY"),
                    "action": "pay", "method": "easy-pay", "card_number": card}),
        )
        .await;
        assert_eq!(status, 200, "{paid}");
        let confirmed: Value = confirm(order, &paid["result"]["paymentKey"])
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(confirmed["status"], "DONE", "{confirmed}");
        assert_eq!(confirmed["method"], "간편결제");
        assert_eq!(confirmed["easyPay"]["provider"], "네이버페이");
        if card.is_empty() {
            assert_eq!(confirmed["card"], Value::Null);
            assert_eq!(confirmed["easyPay"]["amount"], 12000);
        } else {
            assert_eq!(confirmed["card"]["amount"], 12000);
            assert_eq!(confirmed["easyPay"]["amount"], 0);
        }
    }
}
