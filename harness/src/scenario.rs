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
use yaml_rust2::Yaml;

use crate::{Harness, Inbox, PORTONE_API_SECRET, TOSS_SECRET_KEY};

/// What a scenario runs against: a harness in this process, or a sandbox running elsewhere
/// (`harness serve`), with an inbox of this process.
#[derive(Debug)]
pub struct Target<'a> {
    pub payments_url: String,
    pub iamport_url: String,
    pub toss_url: String,
    pub portone_url: String,
    pub codec: BodyCodec,
    pub imp_key: String,
    pub imp_secret: String,
    pub toss_secret_key: String,
    /// The PortOne V2 API secret of the store the server uses.
    pub portone_api_secret: String,
    pub http: reqwest::Client,
    pub inbox: &'a Inbox,
    /// The in-process server, whose clock `clock: {payments: …}` moves; `None` for a
    /// sandbox elsewhere.
    pub server: Option<&'a payments_server::App>,
    /// A sandbox's admin API (`…/admin`), through which `clock: {payments: …}` moves the
    /// server's clock when `server` is `None`.
    pub admin_url: Option<String>,
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
            portone_url: self.portone_url().to_owned(),
            codec: BodyCodec::new(key, iv).expect("the harness's key and IV are valid"),
            imp_key: imp_key.to_owned(),
            imp_secret: imp_secret.to_owned(),
            toss_secret_key: TOSS_SECRET_KEY.to_owned(),
            portone_api_secret: PORTONE_API_SECRET.to_owned(),
            http: self.http.clone(),
            inbox: self.inbox(),
            server: Some(self.server()),
            admin_url: None,
        }
    }
}

/// A scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// Variables that get a fresh UUID each run.
    pub generate: Vec<String>,
    /// Variables with fixed values.
    pub vars: BTreeMap<String, Value>,
    pub steps: Vec<Step>,
}

/// The file as written; its steps are read one by one, so an error names the step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    #[serde(default)]
    generate: Vec<String>,
    #[serde(default)]
    vars: BTreeMap<String, Value>,
    steps: Vec<serde_norway::Value>,
}

/// One step of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "StepFile")]
pub struct Step {
    /// Shown in progress and errors.
    pub name: Option<String>,
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `payments|iamport|toss|portone: METHOD /path`: a request to one of the four.
    Request(Request),
    /// `webhook: {…}`: wait for the next client event at the inbox.
    Webhook(WebhookWait),
    /// `clock: {payments?: s, iamport?: s, toss?: s, portone?: s}`: move clocks forward by
    /// seconds.
    Clock(BTreeMap<Service, f64>),
    /// `inbox_answers: 503`: the inbox answers deliveries with this status from now on.
    InboxAnswers(u16),
}

/// What a scenario talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// The payments server (bodies encrypted for you).
    Payments,
    /// The fake I'mport (a token is fetched for you).
    Iamport,
    /// The fake Toss (authenticated for you).
    Toss,
    /// The fake PortOne V2 (authenticated for you, as the server's store).
    PortOne,
}

impl Service {
    const ALL: [Self; 4] = [Self::Payments, Self::Iamport, Self::Toss, Self::PortOne];
}

impl Service {
    /// The service's key in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payments => "payments",
            Self::Iamport => "iamport",
            Self::Toss => "toss",
            Self::PortOne => "portone",
        }
    }
}

/// A request step.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub to: Service,
    /// `METHOD /path`, templated.
    pub line: String,
    pub body: Option<Value>,
    /// Extra request headers, templated (a webhook's signature headers, say).
    pub headers: BTreeMap<String, String>,
    pub expect: Option<Expect>,
    /// Variables to take from the answer: `name: dotted.path`.
    pub save: BTreeMap<String, String>,
    /// Record the answer (ids and times redacted) in the scenario's snapshot.
    pub snapshot: bool,
}

/// A step as written: one kind key, and what goes with it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    payments: Option<String>,
    #[serde(default)]
    iamport: Option<String>,
    #[serde(default)]
    toss: Option<String>,
    #[serde(default)]
    portone: Option<String>,
    #[serde(default)]
    webhook: Option<WebhookWait>,
    #[serde(default)]
    clock: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    inbox_answers: Option<u16>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    save: BTreeMap<String, String>,
    #[serde(default)]
    snapshot: bool,
}

impl TryFrom<StepFile> for Step {
    type Error = String;

    fn try_from(file: StepFile) -> Result<Self, String> {
        let requests = [
            (Service::Payments, file.payments),
            (Service::Iamport, file.iamport),
            (Service::Toss, file.toss),
            (Service::PortOne, file.portone),
        ]
        .into_iter()
        .filter_map(|(to, line)| line.map(|line| (to, line)));
        let mut actions: Vec<Action> = requests
            .map(|(to, line)| {
                Action::Request(Request {
                    to,
                    line,
                    body: None,
                    headers: BTreeMap::new(),
                    expect: None,
                    save: BTreeMap::new(),
                    snapshot: false,
                })
            })
            .collect();
        actions.extend(file.webhook.map(Action::Webhook));
        if let Some(clocks) = file.clock {
            actions.push(Action::Clock(clocks_of(clocks)?));
        }
        actions.extend(file.inbox_answers.map(Action::InboxAnswers));
        let (Some(mut action), None) = (actions.pop(), actions.pop()) else {
            return Err(
                "a step is exactly one of payments, iamport, toss, portone, webhook, clock, inbox_answers"
                    .into(),
            );
        };
        match &mut action {
            Action::Request(request) => {
                request.body = file.body;
                request.headers = file.headers;
                request.expect = file.expect;
                request.save = file.save;
                request.snapshot = file.snapshot;
            }
            _ if file.body.is_some()
                || !file.headers.is_empty()
                || file.expect.is_some()
                || !file.save.is_empty()
                || file.snapshot =>
            {
                return Err(
                    "body, headers, expect, save and snapshot go with a payments, iamport, toss or portone request"
                        .into(),
                );
            }
            _ => {}
        }
        Ok(Self {
            name: file.name,
            action,
        })
    }
}

/// Clocks only move forward, by an amount a `Duration` can hold, and there are four.
fn clocks_of(clocks: BTreeMap<String, f64>) -> Result<BTreeMap<Service, f64>, String> {
    clocks
        .into_iter()
        .map(|(which, seconds)| {
            let service = Service::ALL
                .into_iter()
                .find(|s| s.as_str() == which)
                .ok_or_else(|| {
                    format!(
                        "clock.{which}: unknown clock; expected payments, iamport, toss or portone"
                    )
                })?;
            if !(0.0..=1e12).contains(&seconds) {
                return Err(format!(
                    "clock.{which}: expected seconds from 0 to 1e12, got {seconds}"
                ));
            }
            Ok((service, seconds))
        })
        .collect()
}

/// What an answer must be.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
    /// The step's number, counted from 1 the same way in load and run errors; `None` for
    /// the file as a whole.
    pub step: Option<usize>,
    pub message: String,
}

/// A scenario's outcome: the recorded snapshots, by step.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Outcome {
    pub snapshots: Vec<(String, Value)>,
}

impl Outcome {
    /// The body of the scenario's snapshot file: the recorded answers as YAML, each a
    /// `[step, answer]` pair. `cargo test` and `harness run` both write it, so their files
    /// agree.
    pub fn snapshot_body(&self) -> String {
        snapshot_body(&self.snapshots)
    }
}

/// [`Outcome::snapshot_body`] of these recorded answers.
pub fn snapshot_body(recorded: &[(String, Value)]) -> String {
    let pairs = recorded
        .iter()
        .map(|(step, answer)| Yaml::Array(vec![Yaml::String(step.clone()), yaml_of(answer)]))
        .collect();
    to_yaml(&Yaml::Array(pairs))
}

/// `document` in block style, without the `---` that opens it, ending in a line break.
/// This is the layout of insta's YAML snapshots (insta's emitter is the one of yaml-rust,
/// which yaml-rust2 continues), so the snapshot files written before keep matching.
pub fn to_yaml(document: &Yaml) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = yaml_rust2::YamlEmitter::new(&mut text).dump(document);
    let mut body = text.strip_prefix("---\n").unwrap_or(&text).to_owned();
    body.push('\n');
    body
}

/// A JSON value as YAML. Numbers are written as insta wrote them: integers in full,
/// fractions as Rust prints an `f64` (`1.5`, `0.001`, never an exponent).
fn yaml_of(value: &Value) -> Yaml {
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Yaml::Integer(i),
            (None, Some(u), _) => Yaml::Real(u.to_string()),
            (None, None, Some(f)) => Yaml::Real(f.to_string()),
            // Only with serde_json's arbitrary_precision, which this crate does not use.
            (None, None, None) => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(yaml_of).collect()),
        Value::Object(map) => Yaml::Hash(
            map.iter()
                .map(|(k, v)| (Yaml::String(k.clone()), yaml_of(v)))
                .collect(),
        ),
    }
}

impl Scenario {
    /// Reads a scenario file; an error names the step it is in.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: path.display().to_string(),
            place: "file".into(),
            step: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Reads the text of a scenario file named `file` (for error messages); an error names
    /// the step it is in. Whatever the text, an error and never a panic.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        // `i` counts steps from 0; `place` names them from 1, as `run_on` does.
        let fail = |step: Option<(usize, Option<String>)>, message: String| ScenarioError {
            file: file.to_owned(),
            place: step
                .as_ref()
                .map_or_else(|| "file".to_owned(), |(i, name)| place(*i, name.as_deref())),
            step: step.map(|(i, _)| i + 1),
            message,
        };
        let file: ScenarioFile =
            serde_norway::from_str(text).map_err(|e| fail(None, e.to_string()))?;
        let steps = file
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, value)| {
                let name = value
                    .get("name")
                    .and_then(|n| n.as_str())
                    .map(str::to_owned);
                serde_norway::from_value::<Step>(value)
                    .map_err(|e| fail(Some((i, name)), e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: file.name,
            generate: file.generate,
            vars: file.vars,
            steps,
        })
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
            let here = place(i, step.name.as_deref());
            progress(i, &here);
            // The payments server's time as a webhook timestamp would carry it, so a
            // scenario can sign (or forge) a fresh one.
            vars.insert("now_s".into(), Value::from(now_s(harness).await));
            let fail = |message: String| ScenarioError {
                file: file.to_owned(),
                place: here.clone(),
                step: Some(i + 1),
                message,
            };
            match &step.action {
                Action::InboxAnswers(status) => harness.inbox.answer(*status),
                Action::Clock(clocks) => {
                    for (&which, &seconds) in clocks {
                        move_clock(harness, which, seconds).await.map_err(fail)?;
                    }
                }
                Action::Webhook(wait) => {
                    let event = harness
                        .inbox
                        .next(Duration::from_millis(wait.timeout_ms))
                        .await
                        .map_err(|e| fail(format!("webhook: {e}")))?;
                    let value =
                        serde_json::to_value(&event.event).map_err(|e| fail(e.to_string()))?;
                    if let Some(expected) = &wait.expect {
                        let expected = render(expected, &vars).map_err(&fail)?;
                        matches("event", &expected, &value).map_err(&fail)?;
                    }
                    save(&wait.save, &value, &mut vars).map_err(&fail)?;
                    if wait.snapshot {
                        outcome.snapshots.push((here.clone(), redact(&value)));
                    }
                }
                Action::Request(request) => {
                    let target = request.to.as_str();
                    let line = render(&Value::from(request.line.as_str()), &vars).map_err(&fail)?;
                    let line = line.as_str().unwrap_or_default();
                    let (method, path) = line.split_once(' ').ok_or_else(|| {
                        fail(format!("{target}: expected `METHOD /path`, got {line:?}"))
                    })?;
                    let method: reqwest::Method = method
                        .parse()
                        .map_err(|_| fail(format!("{target}: unknown method {method:?}")))?;
                    let body = request
                        .body
                        .as_ref()
                        .map(|b| render(b, &vars))
                        .transpose()
                        .map_err(&fail)?;
                    let headers = request
                        .headers
                        .iter()
                        .map(|(name, value)| {
                            let value = render(&Value::from(value.as_str()), &vars)?;
                            Ok((name.clone(), value.as_str().unwrap_or_default().to_owned()))
                        })
                        .collect::<Result<Vec<_>, String>>()
                        .map_err(&fail)?;
                    let (status, answer) = call(harness, request.to, method, path, body, &headers)
                        .await
                        .map_err(|e| fail(format!("{target} {line}: {e}")))?;
                    if let Some(expect) = &request.expect {
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
                    save(&request.save, &answer, &mut vars).map_err(&fail)?;
                    if request.snapshot {
                        outcome.snapshots.push((
                            here.clone(),
                            serde_json::json!({"status": status, "body": redact(&answer)}),
                        ));
                    }
                }
            }
        }
        Ok(outcome)
    }
}

fn place(i: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("step {} ({name})", i + 1),
        None => format!("step {}", i + 1),
    }
}

/// Moves one clock forward: the payments server's in this process, or a fake's through its
/// controls.
async fn move_clock(harness: &Target<'_>, which: Service, seconds: f64) -> Result<(), String> {
    let fake = match which {
        Service::Payments => {
            if let Some(server) = harness.server {
                server.clock().advance(Duration::from_secs_f64(seconds));
                server.wake_relay();
                return Ok(());
            }
            let admin = harness.admin_url.as_deref().ok_or(
                "clock: the payments server's clock moves in a harness of this process, \
                 or through a sandbox's admin API",
            )?;
            let moved = harness
                .http
                .post(format!("{admin}/clock"))
                .json(&serde_json::json!({"seconds": seconds, "only": ["server"]}))
                .send()
                .await
                .map_err(|e| format!("clock: the admin API at {admin}: {e}"))?;
            if !moved.status().is_success() {
                let status = moved.status();
                let body = moved.text().await.unwrap_or_default();
                return Err(format!("clock: the admin API answered {status}: {body}"));
            }
            return Ok(());
        }
        Service::Toss => &harness.toss_url,
        Service::Iamport => &harness.iamport_url,
        Service::PortOne => &harness.portone_url,
    };
    let moved = harness
        .http
        .post(format!("{fake}/internal/clock"))
        .json(&serde_json::json!({"seconds": seconds}))
        .send()
        .await
        .map_err(|e| format!("clock: {e}"))?;
    if !moved.status().is_success() {
        return Err(format!("clock: the fake answered {}", moved.status()));
    }
    Ok(())
}

/// Unix seconds on the payments server's clock: read through the admin API for a sandbox
/// elsewhere, or this machine's when that cannot be read.
async fn now_s(harness: &Target<'_>) -> i64 {
    if let Some(server) = harness.server {
        return server.clock().now_ms().div_euclid(1000);
    }
    if let Some(admin) = &harness.admin_url {
        let read = async {
            let clocks: Value = harness
                .http
                .get(format!("{admin}/clock"))
                .send()
                .await
                .ok()?
                .error_for_status()
                .ok()?
                .json()
                .await
                .ok()?;
            let now = clocks["server"]["now"].as_str()?;
            Some(chrono::DateTime::parse_from_rfc3339(now).ok()?.timestamp())
        };
        if let Some(now) = read.await {
            return now;
        }
    }
    chrono::Utc::now().timestamp()
}

async fn call(
    harness: &Target<'_>,
    to: Service,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    headers: &[(String, String)],
) -> Result<(u16, Value), String> {
    match to {
        Service::Payments => {
            let codec = &harness.codec;
            let mut request = harness
                .http
                .request(method, format!("{}{path}", harness.payments_url));
            for (name, value) in headers {
                request = request.header(name, value);
            }
            // The PGs' notifications are plain JSON, as the PGs send them; everything
            // else the server takes encrypted.
            let plain = path.starts_with("/payments/webhooks/");
            if let Some(body) = body {
                request = if plain {
                    request
                        .header("content-type", "application/json")
                        .body(body.to_string())
                } else {
                    request
                        .header("content-type", "text/plain")
                        .body(codec.encrypt_json(&body).map_err(|e| e.to_string())?)
                };
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
        Service::Toss => {
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
                headers,
            )
            .await
        }
        Service::PortOne => {
            raw(
                harness,
                method,
                &format!("{}{path}", harness.portone_url),
                &format!("PortOne {}", harness.portone_api_secret),
                body,
                headers,
            )
            .await
        }
        Service::Iamport => {
            let (_, token) = raw(
                harness,
                reqwest::Method::POST,
                &format!("{}/users/getToken", harness.iamport_url),
                "",
                Some(serde_json::json!({"imp_key": harness.imp_key, "imp_secret": harness.imp_secret})),
                &[],
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
                headers,
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
    headers: &[(String, String)],
) -> Result<(u16, Value), String> {
    let mut request = harness
        .http
        .request(method, url)
        .header("authorization", auth);
    for (name, value) in headers {
        request = request.header(name, value);
    }
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

/// A variable's value. `now+N` and `now-N` are not variables but times: `now_s` moved by N
/// seconds, in RFC 3339 (a schedule's time, an expiry).
fn lookup(name: &str, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
    if let Some(value) = vars.get(name) {
        return Ok(value.clone());
    }
    let unknown = || format!("unknown variable {{{{{name}}}}}");
    let offset = match name.strip_prefix("now") {
        Some(rest) if rest.starts_with(['+', '-']) => rest
            .trim_start_matches('+')
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{{{{{name}}}}}: expected now+SECONDS or now-SECONDS"))?,
        _ => return Err(unknown()),
    };
    let now = vars
        .get("now_s")
        .and_then(Value::as_i64)
        .ok_or_else(unknown)?;
    now.checked_add(offset)
        .and_then(|at| chrono::DateTime::from_timestamp(at, 0))
        .map(|at| Value::from(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .ok_or_else(|| format!("{{{{{name}}}}}: out of range"))
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
                return lookup(name.trim(), vars);
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
                match lookup(name, vars)? {
                    Value::String(s) => out.push_str(&s),
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
        // A Toss payment's `receipt.url` and `checkout.url` carry its paymentKey.
        "url",
        // PortOne V2's attempt, PG and schedule ids.
        "transactionId",
        "pgTxId",
        "pgCancellationId",
        "scheduleId",
        "paymentToken",
        "txId",
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

    /// Snapshot bodies as insta's YAML snapshots wrote them (these texts are insta's own
    /// output for the same answers), so files written before still match byte for byte.
    #[test]
    fn snapshot_bodies_are_laid_out_as_insta_wrote_them() {
        let body = |answer: Value| snapshot_body(&[("step 1".to_owned(), answer)]);
        assert_eq!(
            body(
                json!({"a": 1, "b": -5, "c": 18446744073709551615u64, "d": 1.5, "e": 1.0,
                "f": 1e20, "g": 0.001})
            ),
            "- - step 1\n  - a: 1\n    b: -5\n    c: 18446744073709551615\n    d: 1.5\n    e: 1\n    f: 100000000000000000000\n    g: 0.001\n"
        );
        assert_eq!(
            body(json!([
                "",
                " x",
                "a: b",
                "-x",
                "true",
                "no",
                "~",
                "null",
                "1",
                "0x1F",
                ".5",
                "2014-12-31",
                "two\nlines",
                "quote\"s",
                "#x",
                "x,y",
                "ok text",
                "한국어",
                "\u{1}"
            ])),
            "- - step 1\n  - - \"\"\n    - \" x\"\n    - \"a: b\"\n    - \"-x\"\n    - \"true\"\n    - \"no\"\n    - \"~\"\n    - \"null\"\n    - \"1\"\n    - \"0x1F\"\n    - \".5\"\n    - 2014-12-31\n    - \"two\\nlines\"\n    - \"quote\\\"s\"\n    - \"#x\"\n    - \"x,y\"\n    - ok text\n    - 한국어\n    - \"\\u0001\"\n"
        );
        assert_eq!(
            body(json!({"empty": [], "none": {}, "null": null, "t": true,
                "nested": [[1, [2, 3]], {"k": [{"a": {}}]}]})),
            "- - step 1\n  - empty: []\n    nested:\n      - - 1\n        - - 2\n          - 3\n      - k:\n          - a: {}\n    none: {}\n    \"null\": ~\n    t: true\n"
        );
        assert_eq!(snapshot_body(&[]), "[]\n");
    }

    fn step(yaml: &str) -> Result<Step, String> {
        let value: serde_norway::Value = serde_norway::from_str(yaml).unwrap();
        serde_norway::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn a_step_is_one_typed_action() {
        let request =
            step("{name: pay, toss: POST /x, body: {a: 1}, save: {k: paymentKey}}").unwrap();
        assert_eq!(request.name.as_deref(), Some("pay"));
        let Action::Request(request) = request.action else {
            panic!("a request")
        };
        assert_eq!(
            (request.to, request.line.as_str()),
            (Service::Toss, "POST /x")
        );
        assert_eq!(request.body, Some(json!({"a": 1})));
        assert_eq!(
            step("{clock: {payments: 5, toss: 1}}").unwrap().action,
            Action::Clock(BTreeMap::from([
                (Service::Payments, 5.0),
                (Service::Toss, 1.0)
            ]))
        );
        assert_eq!(
            step("{inbox_answers: 503}").unwrap().action,
            Action::InboxAnswers(503)
        );
        assert!(matches!(
            step("{webhook: {timeout_ms: 5}}").unwrap().action,
            Action::Webhook(WebhookWait { timeout_ms: 5, .. })
        ));
    }

    #[test]
    fn what_goes_with_a_request_goes_with_a_request_only() {
        for yaml in [
            "{webhook: {}, body: {a: 1}}",
            "{inbox_answers: 503, snapshot: true}",
            "{clock: {toss: 1}, expect: {status: 200}}",
        ] {
            let error = step(yaml).unwrap_err();
            assert!(
                error.contains("go with a payments, iamport, toss or portone request"),
                "{error}"
            );
        }
        assert!(
            step("{name: nothing}")
                .unwrap_err()
                .contains("exactly one of")
        );
        assert!(
            step("{toss: GET /a, typo: 1}")
                .unwrap_err()
                .contains("typo")
        );
    }

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
    fn now_plus_seconds_is_a_time_on_the_scenario_clock() {
        let vars = BTreeMap::from([("now_s".to_string(), json!(1_767_225_600))]);
        assert_eq!(
            render(
                &json!({"at": "{{now+3600}}", "before": "{{ now-60 }}", "s": "{{now_s}}"}),
                &vars
            )
            .unwrap(),
            json!({"at": "2026-01-01T01:00:00Z", "before": "2025-12-31T23:59:00Z", "s": 1_767_225_600})
        );
        for bad in ["{{now+soon}}", "{{now+99999999999999999}}"] {
            let error = render(&json!(bad), &vars).unwrap_err();
            assert!(error.contains("now+"), "{error}");
        }
        assert!(
            render(&json!("{{now+1}}"), &BTreeMap::new())
                .unwrap_err()
                .contains("unknown variable")
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
