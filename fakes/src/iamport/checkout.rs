//! I'mport's payment window in the browser: a stand-in for `iamport.js` (`IMP.init(code)`,
//! `IMP.request_pay(params, callback)`) at the real CDN's paths, and the checkout page it
//! opens. The merchant code `IMP.init` takes is [`merchant_code`] of a REST API key (or the
//! key itself).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use payments_api::iamport::IamportSubscriptionCreate;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::routes::IamportBody;
use super::{FakeIamport, internal, routes};
use crate::checkout::{
    self, Action, Kind, Mode, PageQuery, View, answer, error_page, http_url, json_of, refuse,
    required, text, with_query,
};
use crate::core::Fake;

const BRAND: &str = "I'mport";

/// `iamport.js`, as `cdn.iamport.kr/v1/iamport.js` and `…/js/iamport.payment-1.2.0.js`
/// serve it.
pub const SCRIPT: &str = concat!(
    "/* Stand-in for iamport.js (I'mport / PortOne V1), served by the payments sandbox. */\n",
    "(function () {\n\"use strict\";\n",
    include_str!("../checkout/window.js"),
    include_str!("checkout/iamport.js"),
    "})();\n"
);

/// The merchant code (가맹점 식별코드) of a REST API key: `imp` and eight digits, the same
/// on every run.
pub fn merchant_code(imp_key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"merchant-code\0")
        .chain_update(imp_key.as_bytes())
        .finalize();
    let number = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 100_000_000;
    format!("imp{number:08}")
}

/// The REST API key of a merchant code.
fn imp_key_of(fake: &FakeIamport, code: &str) -> Option<String> {
    fake.inner
        .config
        .credentials
        .iter()
        .find(|c| c.imp_key == code || merchant_code(&c.imp_key) == code)
        .map(|c| c.imp_key.clone())
}

pub(super) async fn script() -> Response {
    checkout::script(SCRIPT)
}

const CANCELLED: &str = "사용자가 결제를 취소하셨습니다";

fn view(kind: Kind, mode: Mode, request: &serde_json::Map<String, Value>) -> Result<View, String> {
    if mode == Mode::Redirect {
        http_url(request, "m_redirect_url")?;
    }
    required(request, "merchant_uid")?;
    let amount = checkout::amount(request.get("amount"), "amount")?;
    if kind == Kind::Payment && amount <= 0.0 {
        return Err("amount must be more than 0".to_owned());
    }
    let method = text(request, "pay_method").unwrap_or_else(|| "card".to_owned());
    if !matches!(method.as_str(), "card" | "vbank") {
        return Err(format!(
            "pay_method {method:?} is not one the sandbox window offers (card, vbank)"
        ));
    }
    let currency = text(request, "currency").unwrap_or_else(|| "KRW".to_owned());
    Ok(View {
        brand: BRAND,
        colour: "#e5412d",
        order_name: text(request, "name").unwrap_or_else(|| "주문".to_owned()),
        amount: checkout::shown_amount(amount, &currency),
        methods: vec![
            ("card", "신용카드 (card)".into()),
            ("vbank", "가상계좌 (virtual account)".into()),
        ],
        method,
        banks: vec![
            ("088", "신한은행"),
            ("004", "KB국민은행"),
            ("020", "우리은행"),
            ("081", "하나은행"),
        ],
    })
}

/// `GET /checkout`: the payment window (or, with `customer_uid`, the card registration).
pub(super) async fn page(
    State(fake): State<FakeIamport>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let parsed = PageQuery::parse(&query).and_then(|q| {
        imp_key_of(&fake, &q.key)
            .ok_or_else(|| format!("{:?} is not a merchant code of this fake", q.key))?;
        Ok(q)
    });
    match parsed.and_then(|q| view(q.kind, q.mode, &q.request).map(|v| (q, v))) {
        Ok((query, view)) => checkout::page(&query, &view),
        Err(message) => error_page(StatusCode::BAD_REQUEST, BRAND, &message),
    }
}

/// `POST /checkout/api`: the customer confirms or cancels the window.
pub(super) async fn act(State(fake): State<FakeIamport>, Json(action): Json<Action>) -> Response {
    match act_on(&fake, &action).await {
        Ok(response) => response,
        Err(message) => refuse(message),
    }
}

/// The callback's fields of a payment, as `IMP.request_pay` hands them over.
const RESPONSE_FIELDS: [&str; 24] = [
    "imp_uid",
    "merchant_uid",
    "pay_method",
    "status",
    "name",
    "pg_provider",
    "pg_tid",
    "buyer_name",
    "buyer_email",
    "buyer_tel",
    "buyer_addr",
    "buyer_postcode",
    "custom_data",
    "paid_at",
    "receipt_url",
    "apply_num",
    "vbank_num",
    "vbank_name",
    "vbank_holder",
    "vbank_date",
    "card_name",
    "card_number",
    "card_quota",
    "currency",
];

async fn act_on(fake: &FakeIamport, action: &Action) -> Result<Response, String> {
    Fake::ensure_ticker(fake);
    let imp_key = imp_key_of(fake, &action.key)
        .ok_or_else(|| format!("{:?} is not a merchant code of this fake", action.key))?;
    let kind = action.kind()?;
    let request = &action.request;
    view(kind, Mode::Iframe, request)?;
    let merchant_uid = text(request, "merchant_uid").unwrap_or_default();
    let redirect_url = text(request, "m_redirect_url");
    let customer_uid = text(request, "customer_uid");
    let failed = |code: &str, message: &str| {
        let redirect = redirect_url.as_deref().and_then(|url| {
            with_query(
                url,
                &[
                    ("merchant_uid", merchant_uid.as_str()),
                    ("imp_success", "false"),
                    ("error_code", code),
                    ("error_msg", message),
                ],
            )
        });
        answer(
            json!({
                "success": false,
                "imp_uid": null,
                "merchant_uid": merchant_uid,
                "error_code": code,
                "error_msg": message,
            }),
            redirect,
        )
    };
    if action.cancelled()? {
        return Ok(failed("USER_CANCEL", CANCELLED));
    }
    let merchant = fake.merchant(&imp_key);
    let method = action.method.clone().unwrap_or_else(|| "card".to_owned());
    let card = match action.card_digits() {
        Some(digits) if digits.len() == 16 => Some(format!(
            "{}-{}-{}-{}",
            &digits[..4],
            &digits[4..8],
            &digits[8..12],
            &digits[12..]
        )),
        Some(_) => return Err("the card number must have 16 digits".to_owned()),
        None if method == "card" || kind == Kind::Billing => {
            return Err("enter a card number".to_owned());
        }
        None => None,
    };
    let amount = checkout::amount(request.get("amount"), "amount")?;
    let mut registered = None;
    if kind == Kind::Billing {
        let year = chrono::Datelike::year(&fake.inner.core.clock.now_kst()) + 5;
        let input: IamportSubscriptionCreate = serde_json::from_value(json!({
            "customer_uid": customer_uid,
            "card_number": card,
            "expiry": format!("{year}-12"),
            "birth": "800101",
            "customer_name": text(request, "buyer_name"),
        }))
        .map_err(|e| e.to_string())?;
        let (_, body) = json_of(
            routes::customers::register(
                State(fake.clone()),
                Extension(merchant.clone()),
                Path(customer_uid.clone().unwrap_or_default()),
                IamportBody(input),
            )
            .await,
        )
        .await;
        if body["code"] != json!(0) {
            fake.inner.merchants.enforce(&imp_key);
            let message = body["message"]
                .as_str()
                .unwrap_or("카드 등록에 실패하였습니다");
            return Ok(failed("PAYMENT_FAILED", message));
        }
        registered = Some(body["response"].clone());
    }
    let response = if let (Some(subscription), true) = (&registered, amount <= 0.0) {
        // A card registered without a first payment.
        answer(
            json!({
                "success": true,
                "imp_uid": null,
                "merchant_uid": merchant_uid,
                "customer_uid": customer_uid,
                "pay_method": "card",
                "paid_amount": 0,
                "status": "ready",
                "card_name": subscription["card_name"],
                "card_number": subscription["card_number"],
                "error_code": null,
                "error_msg": null,
            }),
            redirect_url.as_deref().and_then(|url| {
                with_query(
                    url,
                    &[
                        ("merchant_uid", merchant_uid.as_str()),
                        ("imp_success", "true"),
                    ],
                )
            }),
        )
    } else {
        let custom_data = match request.get("custom_data") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        let notice_url = match request.get("notice_url") {
            Some(Value::Array(urls)) => urls.first().and_then(Value::as_str).map(str::to_owned),
            _ => text(request, "notice_url"),
        };
        let input = serde_json::from_value(json!({
            "merchant_uid": merchant_uid,
            "amount": amount,
            "name": text(request, "name"),
            "pay_method": if kind == Kind::Billing { "card" } else { method.as_str() },
            "card_number": card,
            "vbank_code": action.bank,
            "notice_url": notice_url,
            "buyer_name": text(request, "buyer_name"),
            "buyer_email": text(request, "buyer_email"),
            "buyer_tel": text(request, "buyer_tel"),
            "custom_data": custom_data,
            "escrow": request.get("escrow").and_then(Value::as_bool).unwrap_or(false),
        }))
        .map_err(|e| e.to_string())?;
        let (_, body) = json_of(
            internal::payment_window(State(fake.clone()), Extension(merchant), IamportBody(input))
                .await,
        )
        .await;
        if body["code"] == json!(0) {
            let payment = &body["response"];
            let mut result = serde_json::Map::new();
            result.insert("success".into(), json!(true));
            for field in RESPONSE_FIELDS {
                if let Some(value) = payment.get(field) {
                    result.insert(field.into(), value.clone());
                }
            }
            result.insert("paid_amount".into(), payment["amount"].clone());
            if customer_uid.is_some() {
                result.insert("customer_uid".into(), json!(customer_uid));
            }
            result.insert("error_code".into(), Value::Null);
            result.insert("error_msg".into(), Value::Null);
            let imp_uid = payment["imp_uid"].as_str().unwrap_or_default();
            let redirect = redirect_url.as_deref().and_then(|url| {
                with_query(
                    url,
                    &[
                        ("imp_uid", imp_uid),
                        ("merchant_uid", merchant_uid.as_str()),
                        ("imp_success", "true"),
                    ],
                )
            });
            answer(Value::Object(result), redirect)
        } else {
            let message = body["message"].as_str().unwrap_or("결제에 실패하였습니다");
            failed("PAYMENT_FAILED", message)
        }
    };
    fake.inner.merchants.enforce(&imp_key);
    Ok(response)
}
