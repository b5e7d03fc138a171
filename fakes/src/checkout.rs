//! What the three fakes' payment windows share: the checkout page (plain HTML and a little
//! JavaScript, no build step), the part of every stand-in browser script that opens it (as
//! an iframe overlay, a popup or a full-page redirect) and hears back from it, and the
//! helpers by which each fake turns the SDK's request into its own window control.
//!
//! Each fake serves, beside its API:
//! - its stand-in browser script at the path the real CDN uses;
//! - `GET /checkout?key=…&kind=payment|billing&mode=iframe|popup|redirect&request=JSON`, the
//!   checkout page (a 400 page saying what is wrong for bad parameters);
//! - `POST /checkout/api`, what the page calls when the customer confirms or cancels: it
//!   drives the same state as the fake's `/internal` controls and answers what the SDK hands
//!   the shop (`result`) and where a redirect goes (`redirect`).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use serde::Deserialize;
use serde_json::Value;

const PAGE: &str = include_str!("checkout/page.html");

/// The content type of the stand-in scripts.
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// A script answer.
pub fn script(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, JAVASCRIPT),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        source,
    )
        .into_response()
}

/// How the window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Iframe,
    Popup,
    Redirect,
}

impl Mode {
    fn parse(text: Option<&str>) -> Result<Self, String> {
        match text {
            None | Some("iframe") => Ok(Self::Iframe),
            Some("popup") => Ok(Self::Popup),
            Some("redirect") => Ok(Self::Redirect),
            Some(other) => Err(format!(
                "mode must be iframe, popup or redirect, got {other:?}"
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Iframe => "iframe",
            Self::Popup => "popup",
            Self::Redirect => "redirect",
        }
    }
}

/// What the window is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A payment (card or virtual account).
    Payment,
    /// Registering a card as a billing key.
    Billing,
}

impl Kind {
    fn parse(text: Option<&str>) -> Result<Self, String> {
        match text {
            None | Some("payment") => Ok(Self::Payment),
            Some("billing") => Ok(Self::Billing),
            Some(other) => Err(format!("kind must be payment or billing, got {other:?}")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Billing => "billing",
        }
    }
}

/// The checkout page's parameters, read from its query.
#[derive(Debug)]
pub struct PageQuery {
    /// The merchant's public key: I'mport's merchant code, Toss's client key, PortOne's
    /// store id.
    pub key: String,
    pub kind: Kind,
    pub mode: Mode,
    /// The SDK's request, as the shop's page gave it.
    pub request: serde_json::Map<String, Value>,
    /// The window's id, which its answer carries back to the script.
    pub window: String,
    /// The shop page's origin, the only one the answer is posted to.
    pub origin: String,
}

impl PageQuery {
    /// Reads the query of `GET /checkout`; the message says what is wrong.
    pub fn parse(query: &HashMap<String, String>) -> Result<Self, String> {
        let key = query
            .get("key")
            .filter(|k| !k.is_empty())
            .ok_or("key (the merchant's public key) is missing")?
            .clone();
        let request = query
            .get("request")
            .ok_or("request (the SDK's parameters as JSON) is missing")?;
        let request = match serde_json::from_str::<Value>(request) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err("request must be a JSON object".to_owned()),
            Err(e) => return Err(format!("request is not JSON: {e}")),
        };
        let origin = query.get("origin").cloned().unwrap_or_default();
        let mode = Mode::parse(query.get("mode").map(String::as_str))?;
        if mode != Mode::Redirect && reqwest::Url::parse(&origin).is_err() {
            return Err("origin (the shop page's origin) is missing or not a URL".to_owned());
        }
        Ok(Self {
            key,
            kind: Kind::parse(query.get("kind").map(String::as_str))?,
            mode,
            request,
            window: query.get("window").cloned().unwrap_or_default(),
            origin,
        })
    }
}

/// What the checkout page shows: the PG's look and the order.
#[derive(Debug)]
pub struct View {
    /// The PG's name as the window's heading shows it.
    pub brand: &'static str,
    /// A CSS colour for the heading.
    pub colour: &'static str,
    pub order_name: String,
    /// The amount with its currency, as shown.
    pub amount: String,
    /// `(value, label)` of each method the customer may pick; the first is chosen unless
    /// `method` names another. A label may name what the request chose within the method
    /// (Toss's easy-pay provider).
    pub methods: Vec<(&'static str, String)>,
    pub method: String,
    /// `(code, name)` of the banks a virtual account can be at.
    pub banks: Vec<(&'static str, &'static str)>,
}

/// The checkout page.
pub fn page(query: &PageQuery, view: &View) -> Response {
    let context = serde_json::json!({
        "key": query.key,
        "kind": query.kind.as_str(),
        "mode": query.mode.as_str(),
        "request": query.request,
        "window": query.window,
        "origin": query.origin,
    });
    let methods: String = if query.kind == Kind::Billing {
        String::new()
    } else {
        let radios: String = view
            .methods
            .iter()
            .map(|(value, label)| {
                let checked = if *value == view.method { " checked" } else { "" };
                format!(
                    "<label><input type=\"radio\" name=\"method\" value=\"{}\"{checked}> {}</label>\n",
                    escape(value),
                    escape(label)
                )
            })
            .collect();
        format!("<fieldset><legend>Payment method (결제 수단)</legend>\n{radios}</fieldset>")
    };
    let banks: String = view
        .banks
        .iter()
        .map(|(code, name)| {
            format!(
                "<option value=\"{}\">{}</option>",
                escape(code),
                escape(name)
            )
        })
        .collect();
    let (title, submit) = match query.kind {
        Kind::Payment => ("Payment", "Pay (결제하기)"),
        Kind::Billing => ("Card registration", "Register card (카드 등록)"),
    };
    let html = PAGE
        .replace("{{brand}}", &escape(view.brand))
        .replace("{{colour}}", view.colour)
        .replace("{{title}}", title)
        .replace("{{order_name}}", &escape(&view.order_name))
        .replace("{{amount}}", &escape(&view.amount))
        .replace("{{methods}}", &methods)
        .replace("{{banks}}", &banks)
        .replace("{{submit}}", submit)
        // `<` as `\u003c`, so nothing in the request can end the script element.
        .replace("{{context}}", &context.to_string().replace('<', "\\u003c"));
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// A page saying what is wrong with the window's parameters.
pub fn error_page(status: StatusCode, brand: &str, message: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{brand} payment window: error</title></head>\n\
         <body><h1>{brand} payment window</h1>\n<p role=\"alert\">The payment window cannot open: {}</p></body></html>\n",
        escape(message),
        brand = escape(brand),
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// HTML-escapes text for an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the page posts to `POST /checkout/api`.
#[derive(Debug, Deserialize)]
pub struct Action {
    pub key: String,
    #[serde(default)]
    pub kind: Option<String>,
    pub request: serde_json::Map<String, Value>,
    /// `pay` (confirm) or `cancel`.
    pub action: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub card_number: Option<String>,
    #[serde(default)]
    pub bank: Option<String>,
}

impl Action {
    pub fn kind(&self) -> Result<Kind, String> {
        Kind::parse(self.kind.as_deref())
    }

    pub fn cancelled(&self) -> Result<bool, String> {
        match self.action.as_str() {
            "pay" => Ok(false),
            "cancel" => Ok(true),
            other => Err(format!("action must be pay or cancel, got {other:?}")),
        }
    }

    /// The card number without spaces or dashes.
    pub fn card_digits(&self) -> Option<String> {
        self.card_number
            .as_deref()
            .map(|n| n.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|n| !n.is_empty())
    }
}

/// The answer of `POST /checkout/api`: what the SDK hands the shop's page, and where a
/// redirect goes.
pub fn answer(result: Value, redirect: Option<String>) -> Response {
    axum::Json(serde_json::json!({"result": result, "redirect": redirect})).into_response()
}

/// A refused window action: `{code, message}` with 400, which the page shows.
pub fn refuse(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({"code": "invalid_request", "message": message.into()})),
    )
        .into_response()
}

/// The status and JSON body of a handler's answer, to shape into what the SDK returns.
pub async fn json_of(response: impl IntoResponse) -> (StatusCode, Value) {
    let response = response.into_response();
    let status = response.status();
    let bytes = Body::new(response.into_body())
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `url` with the query pairs added.
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = reqwest::Url::parse(url).ok()?;
    url.query_pairs_mut().extend_pairs(pairs);
    Some(url.into())
}

/// An absolute http(s) URL of the request, or why not.
pub fn http_url(request: &serde_json::Map<String, Value>, field: &str) -> Result<String, String> {
    match request.get(field) {
        Some(Value::String(url)) => match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url.clone()),
            _ => Err(format!(
                "{field} must be an absolute http(s) URL, got {url:?}"
            )),
        },
        Some(_) => Err(format!("{field} must be a string")),
        None => Err(format!("{field} is missing")),
    }
}

/// A text field of the request.
pub fn text(request: &serde_json::Map<String, Value>, field: &str) -> Option<String> {
    match request.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// A required text field of the request.
pub fn required(request: &serde_json::Map<String, Value>, field: &str) -> Result<String, String> {
    text(request, field).ok_or_else(|| format!("{field} is missing"))
}

/// A positive amount of the request.
pub fn amount(value: Option<&Value>, field: &str) -> Result<f64, String> {
    let number = match value {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        None => return Err(format!("{field} is missing")),
        _ => None,
    };
    match number {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(format!("{field} must be a number of 0 or more")),
    }
}

/// An amount as the page shows it: `15,000 KRW`.
pub fn shown_amount(amount: f64, currency: &str) -> String {
    let whole = amount.trunc() as i64;
    let digits = whole.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let fraction = amount - amount.trunc();
    if fraction.abs() > f64::EPSILON {
        let cents = format!("{fraction:.2}");
        grouped.push_str(cents.trim_start_matches('0'));
    }
    format!("{grouped} {currency}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped() {
        assert_eq!(shown_amount(15000.0, "KRW"), "15,000 KRW");
        assert_eq!(shown_amount(100.0, "KRW"), "100 KRW");
        assert_eq!(shown_amount(1234567.5, "USD"), "1,234,567.50 USD");
    }

    #[test]
    fn escaping_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
