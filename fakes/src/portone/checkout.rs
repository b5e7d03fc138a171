//! PortOne V2's payment window in the browser: a stand-in for the browser SDK
//! (`cdn.portone.io/v2/browser-sdk.js`: `PortOne.requestPayment`,
//! `PortOne.requestIssueBillingKey`) and the checkout page it opens. The `storeId` is that
//! of a configured API secret ([`super::store_id`]); the `channelKey` the fake's
//! ([`super::model::CHANNEL_KEY`]).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::routes::PortOneJson;
use super::{FakePortOne, internal, model, store_id};
use crate::checkout::{
    self, Action, Kind, Mode, PageQuery, View, answer, error_page, http_url, json_of, refuse,
    required, text, with_query,
};
use crate::core::Fake;

const BRAND: &str = "PortOne";

/// The browser SDK, as `cdn.portone.io/v2/browser-sdk.js` serves it.
pub const SCRIPT: &str = concat!(
    "/* Stand-in for the PortOne V2 browser SDK, served by the payments sandbox. */\n",
    "(function () {\n\"use strict\";\n",
    include_str!("../checkout/window.js"),
    include_str!("checkout/browser-sdk.js"),
    "})();\n"
);

pub(super) async fn script() -> Response {
    checkout::script(SCRIPT)
}

const CANCELLED: &str = "사용자에 의해 결제가 취소되었습니다.";

/// The API secret of a store id.
fn secret_of(fake: &FakePortOne, store: &str) -> Option<String> {
    fake.inner
        .config
        .api_secrets
        .iter()
        .find(|secret| store_id(secret) == store)
        .cloned()
}

/// The currency without the old SDK's `CURRENCY_` prefix.
fn currency(request: &serde_json::Map<String, Value>) -> Result<String, String> {
    let currency = required(request, "currency")?;
    Ok(currency
        .strip_prefix("CURRENCY_")
        .unwrap_or(&currency)
        .to_owned())
}

fn view(kind: Kind, mode: Mode, request: &serde_json::Map<String, Value>) -> Result<View, String> {
    if mode == Mode::Redirect {
        http_url(request, "redirectUrl")?;
    }
    model::check_channel(Some(&required(request, "channelKey")?)).map_err(|f| f.message)?;
    let (order_name, amount, method) = match kind {
        Kind::Payment => {
            required(request, "paymentId")?;
            let amount = checkout::amount(request.get("totalAmount"), "totalAmount")?;
            if amount <= 0.0 {
                return Err("totalAmount must be more than 0".to_owned());
            }
            let method = required(request, "payMethod")?;
            if !matches!(method.as_str(), "CARD" | "VIRTUAL_ACCOUNT") {
                return Err(format!(
                    "payMethod {method:?} is not one the sandbox window offers (CARD, VIRTUAL_ACCOUNT)"
                ));
            }
            (
                required(request, "orderName")?,
                checkout::shown_amount(amount, &currency(request)?),
                method,
            )
        }
        Kind::Billing => {
            let method = required(request, "billingKeyMethod")?;
            if method != "CARD" {
                return Err(format!(
                    "billingKeyMethod {method:?} is not one the sandbox window offers (CARD)"
                ));
            }
            (
                text(request, "issueName").unwrap_or_else(|| "카드 등록".to_owned()),
                "0 KRW".to_owned(),
                method,
            )
        }
    };
    Ok(View {
        brand: BRAND,
        colour: "#fc6b2d",
        order_name,
        amount,
        methods: vec![
            ("CARD", "카드 (card)".into()),
            ("VIRTUAL_ACCOUNT", "가상계좌 (virtual account)".into()),
        ],
        method,
        banks: vec![
            ("SHINHAN", "신한은행"),
            ("KOOKMIN", "KB국민은행"),
            ("WOORI", "우리은행"),
            ("HANA", "하나은행"),
        ],
    })
}

/// `GET /checkout`: the payment or billing-key window.
pub(super) async fn page(
    State(fake): State<FakePortOne>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let parsed = PageQuery::parse(&query).and_then(|q| {
        secret_of(&fake, &q.key)
            .ok_or_else(|| format!("{:?} is not a store id of this fake", q.key))?;
        Ok(q)
    });
    match parsed.and_then(|q| view(q.kind, q.mode, &q.request).map(|v| (q, v))) {
        Ok((query, view)) => checkout::page(&query, &view),
        Err(message) => error_page(StatusCode::BAD_REQUEST, BRAND, &message),
    }
}

/// `POST /checkout/api`: the customer confirms or cancels the window.
pub(super) async fn act(State(fake): State<FakePortOne>, Json(action): Json<Action>) -> Response {
    match act_on(&fake, &action).await {
        Ok(response) => response,
        Err(message) => refuse(message),
    }
}

async fn act_on(fake: &FakePortOne, action: &Action) -> Result<Response, String> {
    Fake::ensure_ticker(fake);
    let secret = secret_of(fake, &action.key)
        .ok_or_else(|| format!("{:?} is not a store id of this fake", action.key))?;
    let kind = action.kind()?;
    let request = &action.request;
    view(kind, Mode::Iframe, request)?;
    let redirect_url = text(request, "redirectUrl");
    let payment_id = text(request, "paymentId").unwrap_or_default();
    let transaction_type = match kind {
        Kind::Payment => "PAYMENT",
        Kind::Billing => "ISSUE_BILLING_KEY",
    };
    // What the SDK resolves with, and the redirect carrying the same fields.
    let finish = |result: Value| {
        let pairs: Vec<(String, String)> = result
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.clone(), s.clone())),
                _ => None,
            })
            .collect();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let redirect = redirect_url
            .as_deref()
            .and_then(|url| with_query(url, &pairs));
        answer(result, redirect)
    };
    let failure = |code: &str, message: &str| {
        let mut result =
            json!({"transactionType": transaction_type, "code": code, "message": message});
        if kind == Kind::Payment {
            result["paymentId"] = json!(payment_id);
            result["txId"] = json!(uuid::Uuid::new_v4().to_string());
        }
        result
    };
    if action.cancelled()? {
        let mut result = failure(
            "FAILURE_TYPE_PG",
            &format!("[PAY_PROCESS_CANCELED] {CANCELLED}"),
        );
        result["pgCode"] = json!("PAY_PROCESS_CANCELED");
        result["pgMessage"] = json!(CANCELLED);
        return Ok(finish(result));
    }
    let merchant = fake.merchant(&secret);
    let card = action.card_digits();
    let result = match kind {
        Kind::Billing => {
            let input =
                serde_json::from_value(json!({"cardNumber": card.ok_or("enter a card number")?}))
                    .map_err(|e| e.to_string())?;
            let (status, body) = json_of(
                internal::billing_key_window(
                    State(fake.clone()),
                    Extension(merchant),
                    PortOneJson(input),
                )
                .await,
            )
            .await;
            if status.is_success() {
                json!({"transactionType": transaction_type, "billingKey": body["billingKey"]})
            } else {
                failure(
                    body["type"].as_str().unwrap_or("FAILURE_TYPE_PG"),
                    body["message"].as_str().unwrap_or_default(),
                )
            }
        }
        Kind::Payment => {
            let method = action.method.as_deref().unwrap_or("CARD");
            if method == "CARD" && card.is_none() {
                return Err("enter a card number".to_owned());
            }
            let valid_hours = request
                .get("virtualAccount")
                .and_then(|v| v.get("accountExpiry"))
                .and_then(|v| v.get("validHours"))
                .and_then(Value::as_i64);
            let total = checkout::amount(request.get("totalAmount"), "totalAmount")?;
            if total.fract() != 0.0 || total > 1e15 {
                return Err("totalAmount must be a whole number".to_owned());
            }
            let input = serde_json::from_value(json!({
                "orderName": text(request, "orderName"),
                // Whole and bounded above, so the conversion is exact.
                "amount": {"total": total as i64},
                "currency": currency(request)?,
                "method": method,
                "cardNumber": card,
                "bank": action.bank,
                "validHours": valid_hours,
            }))
            .map_err(|e| e.to_string())?;
            let (status, body) = json_of(
                internal::payment_window(
                    State(fake.clone()),
                    Extension(merchant),
                    Path(payment_id.clone()),
                    PortOneJson(input),
                )
                .await,
            )
            .await;
            if status.is_success() {
                body
            } else {
                failure(
                    body["type"].as_str().unwrap_or("FAILURE_TYPE_PG"),
                    body["message"].as_str().unwrap_or_default(),
                )
            }
        }
    };
    fake.inner.merchants.enforce(&secret);
    Ok(finish(result))
}
