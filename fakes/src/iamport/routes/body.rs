//! Request bodies as the real API reads them: JSON, or `application/x-www-form-urlencoded`
//! as I'mport's PHP, Python and Java clients send them.
//!
//! A form carries only text: `amount=1000`, `enable_webhook=true` (PHP's
//! `http_build_query` writes `1` and `0` for booleans), arrays as `key[]=…` or `key[0]=…`,
//! objects as `key[0][field]=…`. `serde_qs` reads the brackets into a tree of strings; the
//! strings the route's own published schema types as numbers or booleans are then read as
//! such, so a numeric-looking text field (`card_number`, `birth`, `merchant_uid`) stays
//! text, and the tree is read like a JSON body, with the same rules and errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::super::error::IamportFault;

/// A JSON or form-encoded body; a malformed one is a 400 in I'mport's envelope. Empty
/// reads as `{}`.
pub(in super::super) struct IamportBody<T>(pub T);

/// How deep a form's brackets nest: `schedules[0][merchant_uid]` is 2. Deeper keys are
/// read as plain names, which no body has.
const FORM_DEPTH: usize = 3;

/// How many `$ref`s and combinators a schema may chain at one spot of a body: a bound
/// against a schema that refers to itself.
const SCHEMA_DEPTH: usize = 16;

impl<S: Send + Sync, T: DeserializeOwned + ToSchema> FromRequest<S> for IamportBody<T> {
    type Rejection = IamportFault;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| IamportFault::invalid(e.body_text()))?;
        let parsed = if is_form {
            read_form::<T>(&bytes)
        } else {
            let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
                b"{}"
            } else {
                &bytes
            };
            serde_json::from_slice(bytes).map_err(|e| e.to_string())
        };
        parsed
            .map(IamportBody)
            .map_err(|e| IamportFault::invalid(format!("요청 형식이 올바르지 않습니다: {e}")))
    }
}

/// Reads a form body as `T`, its strings typed by `T`'s schema.
fn read_form<T: DeserializeOwned + ToSchema>(bytes: &[u8]) -> Result<T, String> {
    let tree: Value = serde_qs::Config::new()
        .max_depth(FORM_DEPTH)
        .use_form_encoding(true)
        .deserialize_bytes(bytes)
        .map_err(|e| e.to_string())?;
    let mut components = Vec::new();
    T::schemas(&mut components);
    let components: Map<String, Value> = components
        .into_iter()
        .filter_map(|(name, schema)| Some((name, serde_json::to_value(schema).ok()?)))
        .collect();
    let schema = serde_json::to_value(T::schema()).map_err(|e| e.to_string())?;
    let typed = Typing {
        components: &components,
    }
    .value(tree, &schema, 0);
    serde_json::from_value(typed).map_err(|e| e.to_string())
}

/// Types a form's strings by an OpenAPI schema (as JSON) whose `$ref`s point into
/// `components`.
struct Typing<'a> {
    components: &'a Map<String, Value>,
}

impl Typing<'_> {
    fn value(&self, value: Value, schema: &Value, depth: usize) -> Value {
        if depth > SCHEMA_DEPTH {
            return value;
        }
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            let name = target.rsplit('/').next().unwrap_or_default();
            return match self.components.get(name) {
                Some(schema) => self.value(value, schema, depth + 1),
                None => value,
            };
        }
        // `allOf` is a flattened body's parts; `oneOf` / `anyOf` an optional one's
        // `null | T`. Each part types the strings it knows; what one part typed, another
        // that calls it text leaves as it is.
        let mut value = value;
        for key in ["allOf", "oneOf", "anyOf"] {
            for part in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                value = self.value(value, part, depth + 1);
            }
        }
        let types = types(schema);
        match value {
            Value::String(text) => scalar(text, &types),
            Value::Object(fields) if types.contains(&"array") => {
                // `key[0]=…&key[1]=…` may come as a map of indices; a sequence in index
                // order is what the body means.
                let mut items: Vec<(u64, Value)> = Vec::with_capacity(fields.len());
                for (index, item) in fields {
                    match index.parse() {
                        Ok(index) => items.push((index, item)),
                        Err(_) => return Value::Object(Map::new()),
                    }
                }
                items.sort_by_key(|(index, _)| *index);
                let items = items.into_iter().map(|(_, item)| item).collect();
                self.value(Value::Array(items), schema, depth + 1)
            }
            Value::Object(fields) => {
                let properties = schema.get("properties");
                Value::Object(
                    fields
                        .into_iter()
                        .map(|(name, field)| {
                            let field = match properties.and_then(|p| p.get(&name)) {
                                Some(schema) => self.value(field, schema, 0),
                                None => field,
                            };
                            (name, field)
                        })
                        .collect(),
                )
            }
            Value::Array(items) => {
                let Some(item_schema) = schema.get("items") else {
                    return Value::Array(items);
                };
                Value::Array(
                    items
                        .into_iter()
                        .map(|item| self.value(item, item_schema, 0))
                        .collect(),
                )
            }
            other => other,
        }
    }
}

/// The JSON types a schema allows: `"type": "number"` or `"type": ["number", "null"]`.
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A form's text where the schema wants a number, a boolean or an array; text that does not
/// read as one stays text, for the body's reader to refuse with its usual message.
fn scalar(text: String, types: &[&str]) -> Value {
    if types.contains(&"string") {
        return Value::String(text);
    }
    if types.contains(&"integer") || types.contains(&"number") {
        let trimmed = text.trim();
        let number = trimmed
            .parse::<i64>()
            .map(serde_json::Number::from)
            .ok()
            .or_else(|| trimmed.parse::<u64>().ok().map(serde_json::Number::from))
            .or_else(|| {
                trimmed
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
            });
        if let Some(number) = number {
            return Value::Number(number);
        }
    }
    if types.contains(&"boolean") {
        match text.as_str() {
            "true" | "1" => return Value::Bool(true),
            "false" | "0" => return Value::Bool(false),
            _ => {}
        }
    }
    if types.contains(&"array") {
        // A lone `key=…` where a list is wanted: a list of one.
        return Value::Array(vec![Value::String(text)]);
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use payments_api::iamport::{IamportScheduleCreate, IamportSubscriptionOnetime};
    use proptest::prelude::*;

    #[test]
    fn indices_are_read_in_their_order_and_a_gap_is_refused() {
        let body = "customer_uid=c&schedules[1][merchant_uid]=b&schedules[1][schedule_at]=2\
                    &schedules[1][amount]=2&schedules[0][merchant_uid]=a\
                    &schedules[0][schedule_at]=1&schedules[0][amount]=1.5";
        let read: IamportScheduleCreate = read_form(body.as_bytes()).unwrap();
        let uids: Vec<_> = read.schedules.iter().map(|s| &s.merchant_uid[..]).collect();
        assert_eq!(uids, ["a", "b"]);
        assert_eq!(read.schedules[0].amount, 1.5);

        // serde_qs wants indices 0, 1, …: a gap is an error, not a list of that length.
        let gap = "customer_uid=c&schedules[2][merchant_uid]=a&schedules[2][schedule_at]=1\
                   &schedules[2][amount]=1";
        let refused = read_form::<IamportScheduleCreate>(gap.as_bytes()).unwrap_err();
        assert!(refused.contains("index"), "{refused}");
        // An index past what serde_qs counts is a key of a map, read as a list of one.
        let huge = "customer_uid=c&schedules[18446744073709551615][merchant_uid]=a\
                    &schedules[18446744073709551615][schedule_at]=1\
                    &schedules[18446744073709551615][amount]=1";
        let read: IamportScheduleCreate = read_form(huge.as_bytes()).unwrap();
        assert_eq!(read.schedules.len(), 1);
    }

    #[test]
    fn a_flattened_body_types_each_of_its_parts() {
        let body = "card_number=4092023012345678&expiry=2049-12&birth=880311\
                    &merchant_uid=123&amount=1000&name=x&card_quota=2&use_card_point=0";
        let read: IamportSubscriptionOnetime = read_form(body.as_bytes()).unwrap();
        assert_eq!(read.card.card_number, "4092023012345678");
        assert_eq!(read.order.merchant_uid, "123");
        assert_eq!(read.order.amount, 1000.0);
        assert_eq!(read.order.card_quota, Some(2));
        assert_eq!(read.order.use_card_point, Some(false));
    }

    proptest! {
        #[test]
        fn any_form_is_read_or_refused_without_a_panic(body in "[a-z_\\[\\]%0-9=&.]{0,200}") {
            let _ = read_form::<IamportScheduleCreate>(body.as_bytes());
            let _ = read_form::<IamportSubscriptionOnetime>(body.as_bytes());
        }
    }
}
