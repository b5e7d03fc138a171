//! The fake PGs of a sandbox as one list, so the admin API, the discovery document and the
//! command line treat every fake alike: a new fake is one more entry.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use payments_fakes::Fake;
use payments_fakes::clock::Clock;
use payments_fakes::journal::Journal;
use serde_json::{Map, Value, json};

/// What the sandbox does with any fake, whatever its PG.
pub(crate) trait AnyFake: Send + Sync {
    fn clock(&self) -> &Clock;
    fn journal(&self) -> &Journal;
    fn advance(&self, by: chrono::Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    fn reset(&self);
}

impl<F: Fake> AnyFake for F {
    fn clock(&self) -> &Clock {
        Fake::clock(self)
    }

    fn journal(&self) -> &Journal {
        Fake::journal(self)
    }

    fn advance(&self, by: chrono::Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(Fake::advance(self, by))
    }

    fn reset(&self) {
        Fake::reset(self);
    }
}

/// One fake of the sandbox: its name, where it listens, how to authenticate, its controls.
pub(crate) struct FakeEntry {
    /// The fake's short name: `iamport`, `toss`.
    pub name: &'static str,
    pub url: String,
    /// The credentials the payments server uses at it, as the PG names them.
    pub credentials: Map<String, Value>,
    /// Its own `/internal` controls (besides the shared ones), by name.
    pub controls: Vec<(&'static str, &'static str)>,
    /// What a shop's page needs to use the fake's payment window: the stand-in scripts'
    /// URLs (by SDK), the public key the page gives the SDK, and the checkout page's URL.
    pub browser: Value,
    pub fake: Box<dyn AnyFake>,
}

impl fmt::Debug for FakeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeEntry")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The controls every fake serves (`payments_fakes::controls`).
const SHARED_CONTROLS: [(&str, &str); 6] = [
    ("clock", "GET, POST /internal/clock"),
    ("faults", "GET, POST, DELETE /internal/faults"),
    ("journal", "GET /internal/journal"),
    ("webhooks", "GET /internal/webhooks"),
    ("reset", "POST /internal/reset"),
    ("sink", "POST /internal/webhook"),
];

impl FakeEntry {
    /// The fake's part of the discovery document.
    pub fn describe(&self) -> Value {
        let controls: Map<String, Value> = SHARED_CONTROLS
            .iter()
            .chain(&self.controls)
            .map(|(name, route)| {
                let (methods, path) = route.rsplit_once(' ').unwrap_or(("GET", route));
                (
                    (*name).to_owned(),
                    json!({"methods": methods.split(", ").collect::<Vec<_>>(), "url": format!("{}{path}", self.url)}),
                )
            })
            .collect();
        json!({
            "url": self.url,
            "credentials": self.credentials,
            "controls": controls,
            "browser": self.browser,
        })
    }
}
