//! What every fake is made of besides its PG's API, and the [`Fake`] trait through which
//! both fakes share it: a clock, a journal, fault rules, a webhook dispatcher, a tick that
//! runs whatever fell due, and the assembly of the HTTP app around the PG's routes.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;

use crate::clock::Clock;
use crate::delivery::{DeliveryConfig, Dispatcher, Outgoing};
use crate::faults::{FaultLayer, Faults};
use crate::http::{JournalLayer, MAX_BODY};
use crate::journal::Journal;
use crate::registry::{Merchant, Records, Registry};

/// The limits of a fake's shared machinery.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub delivery: DeliveryConfig,
    /// How many journal entries of each kind are kept.
    pub journal_entries: usize,
    /// How many bytes the journal keeps in all.
    pub journal_bytes: usize,
}

/// The shared machinery of one fake.
#[derive(Debug)]
pub struct Core {
    pub clock: Arc<Clock>,
    pub journal: Arc<Journal>,
    pub faults: Arc<Faults>,
    pub webhooks: Arc<Dispatcher>,
    ticker: OnceLock<()>,
}

impl Core {
    /// A core with the given limits.
    pub fn new(config: CoreConfig) -> Self {
        let clock = Arc::new(Clock::default());
        let journal = Arc::new(Journal::new(config.journal_entries, config.journal_bytes));
        let webhooks = Arc::new(Dispatcher::new(
            config.delivery,
            clock.clone(),
            journal.clone(),
        ));
        Self {
            clock,
            journal,
            faults: Arc::new(Faults::default()),
            webhooks,
            ticker: OnceLock::new(),
        }
    }

    /// Forgets webhooks, faults and the journal, and puts the clock back to real time.
    pub fn reset(&self) {
        self.webhooks.clear();
        self.faults.clear();
        self.journal.clear();
        self.clock.reset();
    }

    /// Makes every merchant's due changes (`due`, under the merchant's lock, answers the
    /// events they make) and sends the webhooks `outgoing` makes of those events, in one
    /// batch. The lock is let go before `outgoing` runs, which takes it again as it needs.
    pub async fn run_due<D: Records, E>(
        &self,
        merchants: &Registry<D>,
        mut due: impl FnMut(&mut D) -> Vec<E>,
        mut outgoing: impl FnMut(&Merchant<D>, Vec<E>) -> Vec<Outgoing>,
    ) {
        let mut batch = Vec::new();
        for merchant in merchants.all() {
            let events = due(&mut merchant.lock());
            if !events.is_empty() {
                batch.extend(outgoing(&merchant, events));
            }
        }
        self.webhooks.send(batch).await;
    }
}

/// A fake PG: what it provides (its routes, its due work, its error shape), and what every
/// fake gets from that (the whole HTTP app, the clock, the journal, advancing, resetting).
pub trait Fake: Clone + Send + Sync + 'static {
    /// A handle that does not keep the fake alive.
    type Weak: Send + Sync + 'static;

    /// A short name for logs and request ids: `toss`, `iamport`.
    const NAME: &'static str;

    /// The shared machinery.
    fn core(&self) -> &Core;

    /// A handle that does not keep the fake alive.
    fn downgrade(&self) -> Self::Weak;

    /// The fake behind a handle, if it still runs.
    fn upgrade(weak: &Self::Weak) -> Option<Self>;

    /// The PG's API with its authentication: the routes fault rules apply to.
    fn api(&self) -> Router<Self>;

    /// The PG's own fake-only controls that fault rules leave alone (the journal records
    /// them all the same).
    fn controls(&self) -> Router<Self> {
        Router::new()
    }

    /// The PG's browser side: its stand-in scripts, the checkout page and what the page
    /// calls. Fault rules leave it alone; the journal records it.
    fn browser(&self) -> Router<Self> {
        Router::new()
    }

    /// Runs the PG's own due work (expiries, schedules); webhook retries are run after it.
    fn run_due(&self) -> impl Future<Output = ()> + Send;

    /// Forgets the PG's data; the core is reset after it.
    fn forget(&self);

    /// The OpenAPI document of the PG's routes and the fake's own controls
    /// ([`crate::openapi::document`] adds the shared controls).
    fn openapi() -> utoipa::openapi::OpenApi;

    /// The PG's error answer for a request that did not get as far as a handler, or that
    /// a shared control refuses: `status` says why (400 a malformed request, 404 no such
    /// route, 405 a wrong method, 413 a body too large), `detail` what was wrong.
    fn reject(status: StatusCode, detail: &str) -> Response;

    /// The PG's error body, for injected faults.
    fn render_fault(code: &str, status: Option<u16>, message: Option<&str>) -> Response;

    /// The whole HTTP app: the PG's API behind the fault rules, its controls, the journal
    /// of both, the shared controls, and around everything request ids, tracing, a body
    /// limit, and the PG's error shape for whatever no handler answered.
    fn router(&self) -> Router {
        let core = self.core();
        let faults = FaultLayer {
            faults: core.faults.clone(),
            render: Self::render_fault,
        };
        let journal = JournalLayer {
            journal: core.journal.clone(),
            clock: core.clock.clone(),
            reject: Self::reject,
        };
        let recorded = self
            .api()
            .layer(from_fn_with_state(faults, crate::faults::inject))
            .merge(self.controls())
            .merge(self.browser())
            // Inside the journal: a request to a path the PG does not have is one a test
            // wants to find there.
            .fallback(|| async { Self::reject(StatusCode::NOT_FOUND, "") })
            .layer(from_fn_with_state(journal, crate::http::record));
        let app = recorded
            .merge(crate::controls::routes::<Self>())
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .layer(from_fn(crate::http::in_pg_shape::<Self>));
        crate::http::traced(app, Self::NAME).with_state(self.clone())
    }

    /// The fake's clock.
    fn clock(&self) -> &Clock {
        &self.core().clock
    }

    /// What the fake saw and did.
    fn journal(&self) -> &Journal {
        &self.core().journal
    }

    /// Runs everything due: the PG's work, then webhook retries.
    fn tick(&self) -> impl Future<Output = ()> + Send {
        async move {
            self.run_due().await;
            self.core().webhooks.run_due().await;
        }
    }

    /// Moves the clock forward and runs what fell due.
    fn advance(&self, by: chrono::Duration) -> impl Future<Output = ()> + Send {
        async move {
            self.core().clock.advance(by);
            self.tick().await;
        }
    }

    /// Forgets everything and puts the clock back.
    fn reset(&self) {
        self.forget();
        self.core().reset();
    }

    /// Starts, once, a tick every second, so due work also runs in real time. The task ends
    /// when the fake is dropped.
    fn ensure_ticker(&self) {
        self.core().ticker.get_or_init(|| {
            let weak = self.downgrade();
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(Duration::from_secs(1));
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    interval.tick().await;
                    let Some(fake) = Self::upgrade(&weak) else {
                        break;
                    };
                    fake.tick().await;
                }
            });
        });
    }
}
