//! The integrated payment server: it verifies payments and billing keys at the PGs, keeps
//! them encrypted behind per-record passwords, and cancels through the PGs.
//!
//! Its wire contract lives in the `payments-api` crate. [`App::build`] makes the server
//! from a [`Config`](config::Config); [`App::serve`] runs it until a shutdown signal.

pub mod config;
pub mod crypto;
pub mod db;
pub mod derive;
pub mod http;
pub mod pg;
pub mod records;

use std::future::Future;
use std::sync::Arc;

use config::Config;
use db::Db;
use payments_api::BodyCodec;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("{0}")]
    Keys(String),
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
}

impl App {
    /// Connects to the database (migrating it if configured to) and sets up the PGs.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        config.validate()?;
        let db = Db::connect(config.database_url.expose()).await?;
        if config.migrate_on_start {
            db.migrate().await?;
        }
        let codec = BodyCodec::new(
            config.encryption.key.expose(),
            config.encryption.iv.expose(),
        )
        .map_err(|e| StartError::Keys(e.to_string()))?;
        let records = records::Records {
            db,
            sealer: crypto::Sealer::new(&config.storage).map_err(StartError::Keys)?,
            passwords: crypto::Passwords::new(config.storage.password_pepper.expose()),
            pgs: pg::Gateways::new(&config.pg),
        };
        Ok(Self {
            state: http::AppState {
                records: Arc::new(records),
                codec,
                monitor: Arc::new(http::Monitor::default()),
            },
        })
    }

    /// The HTTP API.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.state.records.db
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the requests in flight.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }
}
