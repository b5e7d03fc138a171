//! Scenario files: payment flows written as data.
//!
//! ```yaml
//! name: Toss card payment stored and read back
//! generate: [order]                 # fresh UUIDs, as {{order}}
//! steps:
//!   - name: the customer pays in Toss's window
//!     toss: POST /internal/payments
//!     body: {orderId: "{{order}}", amount: 15000}
//!     expect: {status: 200}
//!     save: {key: paymentKey}       # {{key}} = the answer's paymentKey
//!   - name: the backend stores it
//!     payments: POST /payments/histories
//!     body: {…, webhook_url: "{{inbox}}"}
//!     expect: {status: 201, body: {price: 15000, paid_at: "*"}}
//!     snapshot: true
//!   - webhook: {expect: {current: {paid_at: "*"}}}
//! ```
//!
//! See `scenarios/README.md` for the whole format.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use payments_api::BodyCodec;
use serde::Deserialize;
use serde_json::Value;

use crate::{Harness, Inbox, TOSS_SECRET_KEY};

/// What a scenario runs against: a harness in this process, or a sandbox running elsewhere
/// (`harness serve`), with an inbox of this process.
#[derive(Debug)]
pub struct Target<'a> {
    pub payments_url: String,
    pub iamport_url: String,
    pub toss_url: String,
    pub codec: BodyCodec,
    pub imp_key: String,
    pub imp_secret: String,
    pub toss_secret_key: String,
    pub http: reqwest::Client,
    pub inbox: &'a Inbox,
    /// The in-process server, whose clock `clock: {payments: …}` moves; `None` for a
    /// sandbox elsewhere.
    pub server: Option<&'a payments_server::App>,
}

impl Harness {
    /// The harness as a scenario target.
    pub fn target(&self) -> Target<'_> {
        let (key, iv) = self.encryption();
        let (imp_key, imp_secret) = self.iamport_credentials();
        Target {
            payments_url: self.payments_url().to_owned(),
            iamport_url: self.iamport_url().to_owned(),
            toss_url: self.toss_url().to_owned(),
            codec: BodyCodec::new(key, iv).expect("the harness's key and IV are valid"),
            imp_key: imp_key.to_owned(),
            imp_secret: imp_secret.to_owned(),
            toss_secret_key: TOSS_SECRET_KEY.to_owned(),
            http: self.http.clone(),
            inbox: self.inbox(),
            server: Some(self.server()),
        }
    }
}

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// Variables that get a fresh UUID each run.
    #[serde(default)]
    pub generate: Vec<String>,
    /// Variables with fixed values.
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
    pub steps: Vec<Step>,
}

/// One step: a request to one of the three, a wait for a client event, a clock move, or a
/// change of the inbox's answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub name: Option<String>,
    /// `METHOD /path` at the payments server (bodies encrypted for you).
    #[serde(default)]
    pub payments: Option<String>,
    /// `METHOD /path` at the fake I'mport (a token is fetched for you).
    #[serde(default)]
    pub iamport: Option<String>,
    /// `METHOD /path` at the fake Toss (authenticated for you).
    #[serde(default)]
    pub toss: Option<String>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Variables to take from the answer: `name: dotted.path`.
    #[serde(default)]
    pub save: BTreeMap<String, String>,
    /// Record the answer (ids and times redacted) in the scenario's snapshot.
    #[serde(default)]
    pub snapshot: bool,
    /// Wait for the next client event at the inbox.
    #[serde(default)]
    pub webhook: Option<WebhookWait>,
    /// Move a clock: `{payments|iamport|toss: seconds}`.
    #[serde(default)]
    pub clock: Option<BTreeMap<String, f64>>,
    /// Make the inbox answer deliveries with this status from now on.
    #[serde(default)]
    pub inbox_answers: Option<u16>,
}

/// What an answer must be.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub status: Option<u16>,
    /// A JSON subset of the answer: objects may have more keys; `"*"` matches any
    /// non-null value.
    #[serde(default)]
    pub body: Option<Value>,
}

/// A wait for a client event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookWait {
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub expect: Option<Value>,
    #[serde(default)]
    pub save: BTreeMap<String, String>,
    #[serde(default)]
    pub snapshot: bool,
}

fn default_timeout() -> u64 {
    10_000
}

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {place}: {message}")]
pub struct ScenarioError {
    pub file: String,
    /// `step 3 (store it)`, or `file` for the file as a whole.
    pub place: String,
    pub message: String,
}

/// A scenario's outcome: the recorded snapshots, by step.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Outcome {
    pub snapshots: Vec<(String, Value)>,
}

impl Scenario {
    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let fail = |message: String| ScenarioError {
            file: path.display().to_string(),
            place: "file".into(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let scenario: Scenario = serde_norway::from_str(&text).map_err(|e| fail(e.to_string()))?;
        for (i, step) in scenario.steps.iter().enumerate() {
            let kinds = [
                step.payments.is_some(),
                step.iamport.is_some(),
                step.toss.is_some(),
                step.webhook.is_some(),
                step.clock.is_some(),
                step.inbox_answers.is_some(),
            ]
            .iter()
            .filter(|k| **k)
            .count();
            if kinds != 1 {
                return Err(ScenarioError {
                    file: path.display().to_string(),
                    place: place(i, step),
                    message: "a step is exactly one of payments, iamport, toss, webhook, clock, inbox_answers".into(),
                });
            }
            if let Some(clocks) = &step.clock {
                check_clock(clocks).map_err(|message| ScenarioError {
                    file: path.display().to_string(),
                    place: place(i, step),
                    message,
                })?;
            }
        }
        Ok(scenario)
    }

    /// Runs the scenario on `harness`, reporting each step to `progress`.
    pub async fn run(
        &self,
        file: &str,
        harness: &Harness,
        progress: impl FnMut(usize, &str),
    ) -> Result<Outcome, ScenarioError> {
        self.run_on(file, &harness.target(), progress).await
    }

    /// Runs the scenario on `target`, reporting each step to `progress`.
    pub async fn run_on(
        &self,
        file: &str,
        harness: &Target<'_>,
        mut progress: impl FnMut(usize, &str),
    ) -> Result<Outcome, ScenarioError> {
        let mut vars: BTreeMap<String, Value> = self.vars.clone();
        vars.insert("inbox".into(), Value::from(harness.inbox.url()));
        for name in &self.generate {
            vars.insert(name.clone(), Value::from(uuid::Uuid::new_v4().to_string()));
        }
        let mut outcome = Outcome::default();
        for (i, step) in self.steps.iter().enumerate() {
            let here = place(i, step);
            progress(i, &here);
            let fail = |message: String| ScenarioError {
                file: file.to_owned(),
                place: here.clone(),
                message,
            };
            if let Some(status) = step.inbox_answers {
                harness.inbox.answer(status);
                continue;
            }
            if let Some(clocks) = &step.clock {
                check_clock(clocks).map_err(fail)?;
                for (which, &seconds) in clocks {
                    let fake = match which.as_str() {
                        "payments" => {
                            let server = harness.server.ok_or_else(|| {
                                fail("clock: the payments server's clock moves only in a harness of this process".into())
                            })?;
                            server.clock().advance(Duration::from_secs_f64(seconds));
                            server.wake_relay();
                            continue;
                        }
                        "toss" => &harness.toss_url,
                        "iamport" => &harness.iamport_url,
                        other => return Err(fail(format!("clock: unknown clock {other:?}"))),
                    };
                    let moved = harness
                        .http
                        .post(format!("{fake}/internal/clock"))
                        .json(&serde_json::json!({"seconds": seconds}))
                        .send()
                        .await
                        .map_err(|e| fail(format!("clock: {e}")))?;
                    if !moved.status().is_success() {
                        return Err(fail(format!("clock: the fake answered {}", moved.status())));
                    }
                }
                continue;
            }
            if let Some(wait) = &step.webhook {
                let event = harness
                    .inbox
                    .next(Duration::from_millis(wait.timeout_ms))
                    .await
                    .map_err(|e| fail(format!("webhook: {e}")))?;
                let value = serde_json::to_value(&event.event).map_err(|e| fail(e.to_string()))?;
                if let Some(expected) = &wait.expect {
                    let expected = render(expected, &vars).map_err(&fail)?;
                    matches("event", &expected, &value).map_err(&fail)?;
                }
                save(&wait.save, &value, &mut vars).map_err(&fail)?;
                if wait.snapshot {
                    outcome.snapshots.push((here.clone(), redact(&value)));
                }
                continue;
            }
            let (target, line) = match (&step.payments, &step.iamport, &step.toss) {
                (Some(line), _, _) => ("payments", line),
                (_, Some(line), _) => ("iamport", line),
                (_, _, Some(line)) => ("toss", line),
                _ => unreachable!("checked when loaded"),
            };
            let line = render(&Value::from(line.as_str()), &vars).map_err(&fail)?;
            let line = line.as_str().unwrap_or_default();
            let (method, path) = line
                .split_once(' ')
                .ok_or_else(|| fail(format!("{target}: expected `METHOD /path`, got {line:?}")))?;
            let method: reqwest::Method = method
                .parse()
                .map_err(|_| fail(format!("{target}: unknown method {method:?}")))?;
            let body = step
                .body
                .as_ref()
                .map(|b| render(b, &vars))
                .transpose()
                .map_err(&fail)?;
            let (status, answer) = call(harness, target, method, path, body)
                .await
                .map_err(|e| fail(format!("{target} {line}: {e}")))?;
            if let Some(expect) = &step.expect {
                if let Some(expected) = expect.status
                    && expected != status
                {
                    return Err(fail(format!(
                        "status: expected {expected}, got {status}: {answer}"
                    )));
                }
                if let Some(expected) = &expect.body {
                    let expected = render(expected, &vars).map_err(&fail)?;
                    matches("body", &expected, &answer).map_err(&fail)?;
                }
            } else if !(200..300).contains(&status) {
                return Err(fail(format!("answered {status}: {answer}")));
            }
            save(&step.save, &answer, &mut vars).map_err(&fail)?;
            if step.snapshot {
                outcome.snapshots.push((
                    here.clone(),
                    serde_json::json!({"status": status, "body": redact(&answer)}),
                ));
            }
        }
        Ok(outcome)
    }
}

/// Clocks only move forward, by an amount a `Duration` can hold, and there are three.
fn check_clock(clocks: &BTreeMap<String, f64>) -> Result<(), String> {
    for (which, &seconds) in clocks {
        if !matches!(which.as_str(), "payments" | "iamport" | "toss") {
            return Err(format!(
                "clock.{which}: unknown clock; expected payments, iamport or toss"
            ));
        }
        if !(0.0..=1e12).contains(&seconds) {
            return Err(format!(
                "clock.{which}: expected seconds from 0 to 1e12, got {seconds}"
            ));
        }
    }
    Ok(())
}

fn place(i: usize, step: &Step) -> String {
    match &step.name {
        Some(name) => format!("step {} ({name})", i + 1),
        None => format!("step {}", i + 1),
    }
}

async fn call(
    harness: &Target<'_>,
    target: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    match target {
        "payments" => {
            let codec = &harness.codec;
            let mut request = harness
                .http
                .request(method, format!("{}{path}", harness.payments_url));
            if let Some(body) = body {
                request = request
                    .header("content-type", "text/plain")
                    .body(codec.encrypt_json(&body).map_err(|e| e.to_string())?);
            }
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let text = response.text().await.map_err(|e| e.to_string())?;
            let value = if text.is_empty() {
                Value::Null
            } else if (200..300).contains(&status) {
                codec.decrypt_json(&text).unwrap_or(Value::String(text))
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            Ok((status, value))
        }
        "toss" => {
            let auth = format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{}:", harness.toss_secret_key)
                )
            );
            raw(
                harness,
                method,
                &format!("{}{path}", harness.toss_url),
                &auth,
                body,
            )
            .await
        }
        _ => {
            let (_, token) = raw(
                harness,
                reqwest::Method::POST,
                &format!("{}/users/getToken", harness.iamport_url),
                "",
                Some(serde_json::json!({"imp_key": harness.imp_key, "imp_secret": harness.imp_secret})),
            )
            .await?;
            let token = token["response"]["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            raw(
                harness,
                method,
                &format!("{}{path}", harness.iamport_url),
                &token,
                body,
            )
            .await
        }
    }
}

async fn raw(
    harness: &Target<'_>,
    method: reqwest::Method,
    url: &str,
    auth: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let mut request = harness
        .http
        .request(method, url)
        .header("authorization", auth);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok((
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        },
    ))
}

/// Replaces `{{name}}` in strings; a string that is exactly `{{name}}` takes the variable's
/// JSON value (numbers stay numbers).
fn render(template: &Value, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
    Ok(match template {
        Value::String(text) => {
            let trimmed = text.trim();
            if let Some(name) = trimmed
                .strip_prefix("{{")
                .and_then(|t| t.strip_suffix("}}"))
                && !name.contains("{{")
            {
                return vars
                    .get(name.trim())
                    .cloned()
                    .ok_or_else(|| format!("unknown variable {{{{{}}}}}", name.trim()));
            }
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(start) = rest.find("{{") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let end = after
                    .find("}}")
                    .ok_or_else(|| format!("unclosed {{{{ in {text:?}"))?;
                let name = after[..end].trim();
                let value = vars
                    .get(name)
                    .ok_or_else(|| format!("unknown variable {{{{{name}}}}}"))?;
                match value {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
                rest = &after[end + 2..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render(i, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render(v, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Checks that `actual` contains `expected`; names the first differing path.
fn matches(path: &str, expected: &Value, actual: &Value) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(s), a) if s == "*" => {
            if a.is_null() {
                Err(format!("{path}: expected a value, got null"))
            } else {
                Ok(())
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let here = format!("{path}.{key}");
                match a.get(key) {
                    Some(actual) => matches(&here, value, actual)?,
                    None => return Err(format!("{here}: missing")),
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: expected {} items, got {}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                matches(&format!("{path}[{i}]"), e, a)?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

fn save(
    save: &BTreeMap<String, String>,
    value: &Value,
    vars: &mut BTreeMap<String, Value>,
) -> Result<(), String> {
    for (name, path) in save {
        let mut current = value;
        for part in path.split('.') {
            current = match (current, part.parse::<usize>()) {
                (Value::Array(items), Ok(i)) => items.get(i),
                (Value::Object(map), _) => map.get(part),
                _ => None,
            }
            .ok_or_else(|| format!("save {name}: the answer has no {path}"))?;
        }
        vars.insert(name.clone(), current.clone());
    }
    Ok(())
}

/// Ids, keys, secrets, numbers the PGs draw at random, and times, replaced by placeholders,
/// so snapshots hold only what a run cannot change.
pub fn redact(value: &Value) -> Value {
    const RANDOM: &[&str] = &[
        "id",
        "uid",
        "imp_uid",
        "paymentKey",
        "transactionKey",
        "orderId",
        "merchant_uid",
        "secret",
        "billingKey",
        "customerKey",
        "customer_uid",
        "pg_tid",
        "apply_num",
        "approveNo",
        "accountNumber",
        "vbank_num",
        "receipt_url",
        "receiptUrl",
        "cancellation_id",
        "webhook_url",
        "access_token",
        "receiptKey",
        "approvalNumber",
        "issueNumber",
        "authKey",
        "lastTransactionKey",
    ];
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let timed = k.ends_with("_at")
                        || k.ends_with("At")
                        || matches!(
                            k.as_str(),
                            "dueDate" | "vbank_date" | "inserted" | "updated"
                        );
                    let redacted = if v.is_null() {
                        Value::Null
                    } else if RANDOM.contains(&k.as_str()) && !v.is_object() && !v.is_array() {
                        Value::from("[random]")
                    } else if timed && !v.is_object() && v.as_i64() != Some(0) {
                        Value::from("[time]")
                    } else {
                        redact(v)
                    };
                    (k.clone(), redacted)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_keep_types_and_interpolate() {
        let vars = BTreeMap::from([("n".to_string(), json!(5)), ("s".to_string(), json!("x"))]);
        assert_eq!(
            render(&json!({"a": "{{n}}", "b": "id-{{s}}-{{n}}"}), &vars).unwrap(),
            json!({"a": 5, "b": "id-x-5"})
        );
        assert!(
            render(&json!("{{missing}}"), &vars)
                .unwrap_err()
                .contains("missing")
        );
    }

    #[test]
    fn subsets_match_and_name_the_difference() {
        let actual = json!({"a": 1, "b": {"c": [1, 2], "d": null}, "e": "x"});
        assert!(matches("body", &json!({"b": {"c": [1, 2]}, "e": "*"}), &actual).is_ok());
        assert_eq!(
            matches("body", &json!({"b": {"d": "*"}}), &actual).unwrap_err(),
            "body.b.d: expected a value, got null"
        );
        assert_eq!(
            matches("body", &json!({"a": 2}), &actual).unwrap_err(),
            "body.a: expected 2, got 1"
        );
        assert_eq!(
            matches("body", &json!({"z": 1}), &actual).unwrap_err(),
            "body.z: missing"
        );
        assert!(matches("body", &json!({"a": 1.0}), &actual).is_ok());
    }

    #[test]
    fn redaction_hides_what_changes_between_runs() {
        let value = json!({"id": "abc", "price": 3, "paid_at": "2026-01-01T00:00:00.000Z", "cancelled_at": 0, "refund": null, "vendor": {"uid": "k", "code": "iamport"}});
        assert_eq!(
            redact(&value),
            json!({"id": "[random]", "price": 3, "paid_at": "[time]", "cancelled_at": 0, "refund": null, "vendor": {"uid": "[random]", "code": "iamport"}})
        );
    }
}
