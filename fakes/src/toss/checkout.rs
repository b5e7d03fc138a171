//! Toss's payment window in the browser: stand-ins for the payment SDK (v1,
//! `js.tosspayments.com/v1/payment`, and v2, `js.tosspayments.com/v2/standard`) and the
//! checkout page they open. A client key `test_ck_…` is the merchant of the secret key with
//! the same suffix (see [`secret_key_of`]).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::FakeToss;
use super::internal;
use super::routes::TossJson;
use crate::checkout::{
    self, Action, Kind, Mode, PageQuery, View, answer, error_page, http_url, json_of, refuse,
    required, text, with_query,
};
use crate::core::Fake;

const BRAND: &str = "Toss Payments";

/// The v1 payment SDK (`TossPayments(clientKey).requestPayment(method, params)`).
pub const SCRIPT_V1: &str = concat!(
    "/* Stand-in for the Toss Payments v1 payment SDK, served by the payments sandbox. */\n",
    "(function () {\n\"use strict\";\n",
    include_str!("../checkout/window.js"),
    include_str!("checkout/common.js"),
    include_str!("checkout/v1.js"),
    "})();\n"
);

/// The v2 SDK (`TossPayments(clientKey).payment({customerKey}).requestPayment({…})`).
pub const SCRIPT_V2: &str = concat!(
    "/* Stand-in for the Toss Payments v2 SDK, served by the payments sandbox. */\n",
    "(function () {\n\"use strict\";\n",
    include_str!("../checkout/window.js"),
    include_str!("checkout/common.js"),
    include_str!("checkout/v2.js"),
    "})();\n"
);

/// The prefix of Toss's test client keys.
pub const CLIENT_KEY_PREFIX: &str = "test_ck_";

/// The client key that goes with a secret key: `test_ck_` and the secret key's suffix after
/// `test_sk_` (or, for the original ecosystem's key, `test_ak_`).
pub fn client_key(secret_key: &str) -> Option<String> {
    secret_key
        .strip_prefix("test_sk_")
        .or_else(|| secret_key.strip_prefix("test_ak_"))
        .filter(|suffix| !suffix.is_empty())
        .map(|suffix| format!("{CLIENT_KEY_PREFIX}{suffix}"))
}

/// The secret key of a client key: `test_ak_…` when the fake is configured with that key,
/// else `test_sk_…` if the fake accepts it.
pub fn secret_key_of(fake: &FakeToss, client_key: &str) -> Option<String> {
    let suffix = client_key
        .strip_prefix(CLIENT_KEY_PREFIX)
        .filter(|s| !s.is_empty())?;
    let configured = &fake.inner.config.secret_keys;
    ["test_ak_", "test_sk_"]
        .iter()
        .map(|prefix| format!("{prefix}{suffix}"))
        .find(|key| configured.contains(key))
        .or_else(|| Some(format!("test_sk_{suffix}")).filter(|key| fake.accepts(key)))
}

pub(super) async fn script_v1() -> Response {
    checkout::script(SCRIPT_V1)
}

pub(super) async fn script_v2() -> Response {
    checkout::script(SCRIPT_V2)
}

/// The window's method: `card`, `virtual-account` or `easy-pay`, from the SDK's names (v1
/// also takes a provider as the method: `토스페이`).
fn method_of(method: &str) -> Result<&'static str, String> {
    match method {
        "카드" | "CARD" | "card" => Ok("card"),
        "가상계좌" | "VIRTUAL_ACCOUNT" | "virtual-account" => Ok("virtual-account"),
        "간편결제" | "EASY_PAY" | "easy-pay" => Ok("easy-pay"),
        other if super::model::easy_pay_provider(other).is_some() => Ok("easy-pay"),
        other => Err(format!(
            "method {other:?} is not one the sandbox window offers (카드/CARD, \
             가상계좌/VIRTUAL_ACCOUNT, 간편결제/EASY_PAY or a provider such as 토스페이)"
        )),
    }
}

/// The easy-pay provider a request names: `easyPay` (v1's `flowMode: "DIRECT"`), v2's
/// `card.easyPay`, or v1's method when it is a provider (`토스페이`).
fn easy_pay_of(request: &serde_json::Map<String, Value>) -> Option<String> {
    text(request, "easyPay")
        .or_else(|| {
            request
                .get("card")
                .and_then(|card| card.get("easyPay"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| {
            text(request, "method").filter(|m| super::model::easy_pay_provider(m).is_some())
        })
}

/// Checks the request and describes the page.
fn view(kind: Kind, mode: Mode, request: &serde_json::Map<String, Value>) -> Result<View, String> {
    let redirects = request.contains_key("successUrl") || mode == Mode::Redirect;
    if redirects || kind == Kind::Billing {
        http_url(request, "successUrl")?;
        http_url(request, "failUrl")?;
    }
    // The provider the SDK asked for, named on the easy-pay method as the provider's own
    // window names itself.
    let mut provider = None;
    let (order_name, amount, method) = match kind {
        Kind::Payment => {
            required(request, "orderId")?;
            let amount = checkout::amount(request.get("amount"), "amount")?;
            if amount <= 0.0 {
                return Err("amount must be more than 0".to_owned());
            }
            let mut method = method_of(&text(request, "method").unwrap_or_else(|| "카드".into()))?;
            // A card window opened straight on a provider (`flowMode: "DIRECT"`) is an easy
            // pay.
            if let Some(asked) = easy_pay_of(request) {
                provider =
                    Some(super::model::easy_pay_provider(&asked).ok_or_else(|| {
                        format!("easyPay {asked:?} is not a provider Toss offers")
                    })?);
                method = "easy-pay";
            }
            (
                required(request, "orderName")?,
                checkout::shown_amount(amount, "KRW"),
                method,
            )
        }
        Kind::Billing => {
            required(request, "customerKey")?;
            ("카드 등록".to_owned(), "0 KRW".to_owned(), "card")
        }
    };
    Ok(View {
        brand: BRAND,
        colour: "#0064ff",
        order_name,
        amount,
        methods: vec![
            ("card", "카드 (card)".into()),
            ("virtual-account", "가상계좌 (virtual account)".into()),
            ("easy-pay", easy_pay_label(provider)),
        ],
        method: method.to_owned(),
        banks: vec![
            ("신한", "신한"),
            ("국민", "국민"),
            ("우리", "우리"),
            ("하나", "하나"),
        ],
    })
}

/// The easy-pay method's label, naming the provider when the request chose one.
fn easy_pay_label(provider: Option<&str>) -> String {
    let chosen = provider
        .map(|name| format!(" · {name}"))
        .unwrap_or_default();
    format!("간편결제{chosen} (easy pay: the card registered, or none for the wallet's balance)")
}

/// `GET /checkout`: the payment or card-registration window.
pub(super) async fn page(
    State(fake): State<FakeToss>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let parsed = PageQuery::parse(&query).and_then(|q| {
        secret_key_of(&fake, &q.key)
            .ok_or_else(|| format!("{:?} is not a client key of this fake (test_ck_…)", q.key))?;
        Ok(q)
    });
    match parsed.and_then(|q| view(q.kind, q.mode, &q.request).map(|v| (q, v))) {
        Ok((query, view)) => checkout::page(&query, &view),
        Err(message) => error_page(StatusCode::BAD_REQUEST, BRAND, &message),
    }
}

/// `POST /checkout/api`: the customer confirms or cancels the window.
pub(super) async fn act(State(fake): State<FakeToss>, Json(action): Json<Action>) -> Response {
    match act_on(&fake, &action).await {
        Ok(response) => response,
        Err(message) => refuse(message),
    }
}

async fn act_on(fake: &FakeToss, action: &Action) -> Result<Response, String> {
    Fake::ensure_ticker(fake);
    let secret = secret_key_of(fake, &action.key)
        .ok_or_else(|| format!("{:?} is not a client key of this fake", action.key))?;
    let kind = action.kind()?;
    let request = &action.request;
    view(kind, Mode::Iframe, request)?;
    let fail_url = text(request, "failUrl");
    let success_url = text(request, "successUrl");
    let order_id = text(request, "orderId");
    // A failure: the promise's error, and the fail redirect.
    let fail = |promise_code: &str, redirect_code: &str, message: &str| {
        let mut pairs = vec![("code", redirect_code), ("message", message)];
        if let Some(order_id) = &order_id {
            pairs.push(("orderId", order_id));
        }
        let redirect = fail_url.as_deref().and_then(|url| with_query(url, &pairs));
        answer(json!({"code": promise_code, "message": message}), redirect)
    };
    if action.cancelled()? {
        // Toss's SDK rejects its promise with USER_CANCEL; a redirect carries
        // PAY_PROCESS_CANCELED.
        return Ok(fail(
            "USER_CANCEL",
            "PAY_PROCESS_CANCELED",
            "사용자에 의해 결제가 취소되었습니다.",
        ));
    }
    let card = action.card_digits();
    let merchant = fake.merchant(&secret);
    let response = match kind {
        Kind::Billing => {
            let card = card.ok_or("enter a card number")?;
            check_card(&card)?;
            let input = serde_json::from_value(json!({
                "customerKey": text(request, "customerKey"),
                "cardNumber": card,
            }))
            .map_err(|e| e.to_string())?;
            let (status, body) = json_of(
                internal::card_registration_window(
                    State(fake.clone()),
                    Extension(merchant),
                    TossJson(input),
                )
                .await,
            )
            .await;
            if status.is_success() {
                let auth_key = body["authKey"].as_str().unwrap_or_default();
                let customer_key = body["customerKey"].as_str().unwrap_or_default();
                let redirect = success_url.as_deref().and_then(|url| {
                    with_query(url, &[("customerKey", customer_key), ("authKey", auth_key)])
                });
                answer(body.clone(), redirect)
            } else {
                let code = body["code"].as_str().unwrap_or("INVALID_REQUEST");
                fail(code, code, body["message"].as_str().unwrap_or_default())
            }
        }
        Kind::Payment => {
            let method = method_of(action.method.as_deref().unwrap_or("card"))?;
            // An easy pay takes the card registered in the wallet, or none: the wallet's
            // balance pays.
            let number = match method {
                "card" => Some(card.as_deref().ok_or("enter a card number")?),
                "easy-pay" => card.as_deref(),
                _ => None,
            };
            if let Some(number) = number {
                check_card(number)?;
                if let Some(code) = super::model::card_decline(number) {
                    let fault = super::TossFault::of(code);
                    fake.inner.merchants.enforce(&secret);
                    return Ok(fail(code, code, &fault.message));
                }
            }
            let input = serde_json::from_value(json!({
                "orderId": order_id,
                "amount": checkout::amount(request.get("amount"), "amount")?,
                "orderName": text(request, "orderName"),
                "method": method,
                "cardNumber": card,
                "easyPay": easy_pay_of(request),
                "bank": action.bank,
                "customerName": text(request, "customerName"),
            }))
            .map_err(|e| e.to_string())?;
            let (status, body) = json_of(
                internal::payment_window(State(fake.clone()), Extension(merchant), TossJson(input))
                    .await,
            )
            .await;
            if status.is_success() {
                let amount = body["amount"].to_string();
                let payment_key = body["paymentKey"].as_str().unwrap_or_default();
                let order = body["orderId"].as_str().unwrap_or_default();
                let redirect = success_url.as_deref().and_then(|url| {
                    with_query(
                        url,
                        &[
                            ("paymentType", "NORMAL"),
                            ("orderId", order),
                            ("paymentKey", payment_key),
                            ("amount", &amount),
                        ],
                    )
                });
                answer(
                    json!({
                        "paymentType": "NORMAL",
                        "paymentKey": payment_key,
                        "orderId": order,
                        "amount": body["amount"],
                    }),
                    redirect,
                )
            } else {
                let code = body["code"].as_str().unwrap_or("INVALID_REQUEST");
                fail(code, code, body["message"].as_str().unwrap_or_default())
            }
        }
    };
    fake.inner.merchants.enforce(&secret);
    Ok(response)
}

fn check_card(number: &str) -> Result<(), String> {
    if (15..=16).contains(&number.len()) {
        Ok(())
    } else {
        Err("the card number must have 15 or 16 digits".to_owned())
    }
}
