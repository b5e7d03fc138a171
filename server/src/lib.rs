//! The integrated payment server: it verifies payments and billing keys at the PGs, keeps
//! them encrypted behind per-record passwords, cancels through the PGs, and relays the PGs'
//! changes of a payment to the client's webhook.
//!
//! Its wire contract lives in the `payments-api` crate. [`App::build`] makes the server
//! from a [`Config`]; [`App::serve`] runs it until a shutdown signal.
//!
//! A request goes down through these layers, each knowing only those below it:
//!
//! - [`http`]: routes, the encrypted body codec, and the one mapping of [`RecordError`] to
//!   statuses and codes (`http::error`); the monitors; a request id and span per request.
//! - [`records`]: the use cases (store a payment or billing key, read it with its password,
//!   cancel it, apply a PG's notification, list and redeliver its client events), with input
//!   checks and the domain error [`RecordError`]; its tables in `records::store`.
//! - [`pg`]: one seam for every PG, one module per PG with its quirks; the checklist for
//!   adding a PG is its doc comment.
//! - [`outbox`]: client events, written with the change they report; [`relay`]: the worker
//!   that delivers them, retries, and prunes those done; [`egress`]: the addresses it may
//!   reach.
//! - [`db`], [`crypto`] (sealing at rest, record passwords), [`money`] (exact amounts),
//!   [`clock`], [`config`] (with the keys it decodes once, at start-up).
//! - [`metrics`] (`/metrics`, the Prometheus text format) and [`reload`] (handing the
//!   listening socket to a new process, which [`App::serve_draining`] serves until then).
//!
//! [`RecordError`]: records::RecordError

pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod egress;
pub mod http;
pub mod metrics;
pub mod money;
pub mod outbox;
pub mod pg;
pub mod records;
pub mod relay;
pub mod reload;
pub mod request;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::serve::ListenerExt as _;

use config::Config;
use db::Db;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot set up an HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// A built server, ready to serve.
#[derive(Debug, Clone)]
pub struct App {
    state: http::AppState,
    db: Db,
    outbox: Arc<outbox::Outbox>,
    relay: Arc<relay::Relay>,
}

impl App {
    /// Connects to the database (migrating it if configured to) and sets up the PGs.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let keys = config.validate()?;
        let db = Db::connect(config.database_url.expose()).await?;
        if config.migrate_on_start {
            db.migrate().await?;
        }
        let clock = Arc::new(clock::Clock::default());
        metrics::handle();
        let sealer = Arc::new(crypto::Sealer::new(&keys.storage));
        let outbox = Arc::new(outbox::Outbox::new(
            db.clone(),
            sealer.clone(),
            clock.clone(),
        ));
        let records = Arc::new(records::Records::new(
            db.clone(),
            sealer,
            crypto::Passwords::new(config.storage.password_pepper.expose()),
            pg::Gateways::new(&config.pg)?,
            clock.clone(),
            outbox.clone(),
        ));
        let codec = keys.codec;
        let relay = relay::Relay::new(outbox.clone(), codec.clone(), keys.signing, &config.relay)?;
        Ok(Self {
            state: http::AppState {
                records,
                codec: Arc::new(codec),
                monitor: Arc::new(http::Monitor::default()),
                received: Default::default(),
                throttle: Arc::new(http::throttle::Throttle::new(&config.pg.notifications)),
                plain_json: config.plain_json,
                db: db.clone(),
                clock,
            },
            db,
            outbox,
            relay: Arc::new(relay),
        })
    }

    /// The server's clock; tests move it forward to make retries due.
    pub fn clock(&self) -> &clock::Clock {
        self.outbox.clock()
    }

    /// Asks the relay to look for due events now.
    pub fn wake_relay(&self) {
        self.outbox.written();
    }

    /// Settles the cancels left open longer than any request lasts, from the PGs' state, as
    /// the server does at start and periodically; answers how many it settled.
    pub async fn sweep_cancels(&self) -> Result<usize, records::RecordError> {
        self.state.records.sweep().await
    }

    /// The relay, to drive it by hand (tests, benchmarks).
    pub fn relay(&self) -> &Arc<relay::Relay> {
        &self.relay
    }

    /// Client events the test receiver `/payments/internal/webhook` got, oldest first.
    pub fn received(&self) -> Vec<payments_api::payments::PaymentWebhook> {
        let received = self
            .state
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        received.iter().cloned().collect()
    }

    /// The HTTP API.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves on `listener`, and runs the relay, until `shutdown` completes; then finishes
    /// the requests in flight and the deliveries under way.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_draining(listener, async {
            shutdown.await;
            Duration::ZERO
        })
        .await
    }

    /// Serves on `listener`, and runs the relay, until `stop` completes with a drain
    /// period. Then it accepts no more connections and answers every request with
    /// `Connection: close`; once its clients have all closed their connections, or the
    /// drain period is over, it closes those left idle, finishes the requests in flight,
    /// delivers the client events due, and finishes the deliveries under way.
    pub async fn serve_draining(
        &self,
        listener: tokio::net::TcpListener,
        stop: impl Future<Output = Duration> + Send + 'static,
    ) -> std::io::Result<()> {
        let upkeep = tokio::spawn(metrics::upkeep());
        let (stop_relay, relay_stopped) = tokio::sync::watch::channel(false);
        let relay = tokio::spawn(self.relay.clone().run(relay_stopped.clone()));
        // Cancels whose answer a crash or a timeout lost are settled from the PGs.
        let sweeps = tokio::spawn(self.state.records.clone().run_sweeps(relay_stopped));
        let (stop_accepting, accepting) = tokio::sync::watch::channel(false);
        let open = Arc::new(AtomicUsize::new(0));
        let listener = reload::Accepting::new(listener, accepting, open.clone())?;
        let monitor = self.state.monitor.clone();
        let drained_for = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let draining = drained_for.clone();
        let drained = async move {
            let drain = stop.await;
            draining.store(!drain.is_zero(), Ordering::SeqCst);
            monitor.start_draining();
            let _ = stop_accepting.send(true);
            let deadline = tokio::time::Instant::now() + drain;
            while open.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        // The peer's address feeds the notification routes' rate limit.
        let served = axum::serve(
            listener.tap_io(|_| {}),
            self.router()
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(drained)
        .await;
        // Handing over to another process: the events written by the last requests are
        // delivered by this one, now, rather than by the other at its next poll.
        if drained_for.load(Ordering::SeqCst)
            && let Err(error) = self.relay.tick().await
        {
            tracing::warn!(%error, "the relay's last round failed; another instance will deliver");
        }
        let _ = stop_relay.send(true);
        let _ = relay.await;
        let _ = sweeps.await;
        upkeep.abort();
        served
    }
}
