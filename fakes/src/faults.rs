//! Failures on demand: rules that make the next N matching requests fail with an error,
//! answer late, or lose their connection, so client code can be tested against a PG that
//! misbehaves.

use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::serve::DropConnection;

/// How many rules may be active at once.
pub const MAX_RULES: usize = 100;

/// The longest delay a rule may ask for: ten minutes.
pub const MAX_DELAY_MS: u64 = 600_000;

/// The longest path, method, code or message a rule may carry, in bytes.
pub const MAX_FIELD: usize = 1_024;

/// A rule: which requests, how many times, and what happens to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FaultRule {
    /// The HTTP method to match; any method when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The path to match: exact, or a prefix when it ends with `*` (`/v1/payments/*`).
    pub path: String,
    /// How many matching requests the rule applies to; 1 when absent.
    #[serde(default = "one")]
    pub times: u32,
    #[serde(flatten)]
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

/// What happens to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with the PG's error body for `code`.
    Error {
        code: String,
        /// The HTTP status; the PG's usual status for the code when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Handle the request normally, after a pause.
    Delay { ms: u64 },
    /// Handle the request at once, then hold its answer back for `ms`: the change is made
    /// though the caller may stop waiting for the answer (a PG that acts, then answers late).
    Late { ms: u64 },
    /// Close the connection without answering.
    Drop,
}

/// An active rule and how many more requests it applies to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActiveFault {
    pub id: u64,
    pub remaining: u32,
    #[serde(flatten)]
    pub rule: FaultRule,
}

/// The active rules of one fake.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<(u64, Vec<ActiveFault>)>,
}

impl Faults {
    /// Adds a rule; returns it with its id, or why not: a rule that is not valid, or
    /// [`MAX_RULES`] already active.
    pub fn add(&self, rule: FaultRule) -> Result<ActiveFault, String> {
        rule.validate()?;
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.1.len() >= MAX_RULES {
            return Err(format!(
                "at most {MAX_RULES} fault rules are active at once; DELETE /internal/faults removes them"
            ));
        }
        inner.0 += 1;
        let active = ActiveFault {
            id: inner.0,
            remaining: rule.times,
            rule,
        };
        inner.1.push(active.clone());
        Ok(active)
    }

    /// The active rules.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clear();
    }

    /// Takes one use of the first rule matching the request, if any.
    pub fn take(&self, method: &str, path: &str) -> Option<FaultAction> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let rules = &mut inner.1;
        let index = rules
            .iter()
            .position(|a| a.remaining > 0 && a.rule.matches(method, path))?;
        rules[index].remaining -= 1;
        let action = rules[index].rule.action.clone();
        if rules[index].remaining == 0 {
            rules.remove(index);
        }
        Some(action)
    }
}

impl FaultRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        method_ok && path_ok
    }

    /// Checks the rule before it is stored.
    pub fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err(format!("path must start with '/', got {:?}", self.path));
        }
        let fields = [
            ("path", Some(self.path.as_str())),
            ("method", self.method.as_deref()),
            (
                "code",
                match &self.action {
                    FaultAction::Error { code, .. } => Some(code.as_str()),
                    _ => None,
                },
            ),
            (
                "message",
                match &self.action {
                    FaultAction::Error { message, .. } => message.as_deref(),
                    _ => None,
                },
            ),
        ];
        for (name, value) in fields {
            if value.is_some_and(|v| v.len() > MAX_FIELD) {
                return Err(format!("{name} must be at most {MAX_FIELD} bytes"));
            }
        }
        if let FaultAction::Delay { ms } | FaultAction::Late { ms } = self.action
            && ms > MAX_DELAY_MS
        {
            return Err(format!(
                "a delay must be at most {MAX_DELAY_MS} ms (ten minutes), got {ms}"
            ));
        }
        if self.times == 0 {
            return Err("times must be at least 1".into());
        }
        if let FaultAction::Error {
            status: Some(s), ..
        } = self.action
            && !(400..=599).contains(&s)
        {
            return Err(format!("an error status must be 4xx or 5xx, got {s}"));
        }
        Ok(())
    }
}

/// Marks a response that an injected fault produced, for the journal.
#[derive(Debug, Clone)]
pub struct FaultApplied(pub String);

/// The state of [`inject`]: the rules and how the PG renders an error.
#[derive(Debug, Clone)]
pub struct FaultLayer {
    pub faults: std::sync::Arc<Faults>,
    pub render: fn(code: &str, status: Option<u16>, message: Option<&str>) -> Response,
}

/// Middleware applying the first matching rule to each request.
pub async fn inject(State(layer): State<FaultLayer>, request: Request, next: Next) -> Response {
    let action = layer
        .faults
        .take(request.method().as_str(), request.uri().path());
    match action {
        None => next.run(request).await,
        Some(FaultAction::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let mut response = next.run(request).await;
            response
                .extensions_mut()
                .insert(FaultApplied(format!("delay {ms} ms")));
            response
        }
        Some(FaultAction::Late { ms }) => {
            let mut response = next.run(request).await;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            response
                .extensions_mut()
                .insert(FaultApplied(format!("late {ms} ms")));
            response
        }
        Some(FaultAction::Drop) => {
            let mut response = Response::default();
            response.extensions_mut().insert(DropConnection);
            response
                .extensions_mut()
                .insert(FaultApplied("drop".into()));
            response
        }
        Some(FaultAction::Error {
            code,
            status,
            message,
        }) => {
            let mut response = (layer.render)(&code, status, message.as_deref());
            response
                .extensions_mut()
                .insert(FaultApplied(format!("error {code}")));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> FaultRule {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn rules_match_by_method_and_path_and_run_out() {
        let faults = Faults::default();
        faults
            .add(rule(serde_json::json!({"method": "post", "path": "/v1/payments/*", "times": 2, "action": "drop"})))
            .unwrap();
        assert_eq!(faults.take("GET", "/v1/payments/x"), None);
        assert_eq!(faults.take("POST", "/v1/billing/x"), None);
        assert_eq!(
            faults.take("POST", "/v1/payments/x"),
            Some(FaultAction::Drop)
        );
        assert_eq!(
            faults.take("POST", "/v1/payments/confirm"),
            Some(FaultAction::Drop)
        );
        assert_eq!(faults.take("POST", "/v1/payments/x"), None);
        assert!(faults.list().is_empty());
    }

    #[test]
    fn exact_paths_and_the_wire_form() {
        let r = rule(
            serde_json::json!({"path": "/v1/payments/confirm", "action": "error", "code": "PROVIDER_ERROR"}),
        );
        assert_eq!(r.times, 1);
        assert!(r.matches("PUT", "/v1/payments/confirm"));
        assert!(!r.matches("PUT", "/v1/payments/confirm/x"));
        assert!(r.validate().is_ok());
        assert!(
            rule(serde_json::json!({"path": "v1", "action": "drop"}))
                .validate()
                .is_err()
        );
        assert!(
            rule(serde_json::json!({"path": "/", "times": 0, "action": "drop"}))
                .validate()
                .is_err()
        );
        assert!(
            rule(serde_json::json!({"path": "/", "action": "error", "code": "X", "status": 200}))
                .validate()
                .is_err()
        );
        assert!(
            serde_json::from_value::<FaultRule>(
                serde_json::json!({"path": "/", "action": "explode"})
            )
            .is_err()
        );
    }
}
