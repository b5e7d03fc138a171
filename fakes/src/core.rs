//! What every fake is made of besides its PG's API: a clock, a journal, fault rules, a
//! webhook dispatcher, and a tick that runs whatever fell due.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::response::Response;

use crate::clock::Clock;
use crate::delivery::{DeliveryConfig, Dispatcher};
use crate::faults::Faults;
use crate::journal::Journal;

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
    /// A core delivering webhooks as `delivery` says.
    pub fn new(delivery: DeliveryConfig) -> Self {
        let clock = Arc::new(Clock::default());
        let journal = Arc::new(Journal::default());
        let webhooks = Arc::new(Dispatcher::new(delivery, clock.clone(), journal.clone()));
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
}

/// A fake PG, as the shared controls and the ticker see it.
pub trait Fake: Clone + Send + Sync + 'static {
    /// A handle that does not keep the fake alive.
    type Weak: Send + Sync + 'static;

    fn core(&self) -> &Core;
    fn downgrade(&self) -> Self::Weak;
    fn upgrade(weak: &Self::Weak) -> Option<Self>;

    /// Runs the PG's own due work (expiries, schedules); webhook retries are run after it.
    fn run_due(&self) -> impl Future<Output = ()> + Send;

    /// Forgets the PG's data; the core is reset after it.
    fn forget(&self);

    /// The PG's answer to a malformed control request.
    fn bad_request(message: String) -> Response;

    /// The PG's error body, for injected faults.
    fn render_fault(code: &str, status: Option<u16>, message: Option<&str>) -> Response;

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
