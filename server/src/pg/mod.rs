//! Connectors to the PGs, by vendor and `store_id`, configured by base URL and credentials
//! alone: the same code talks to the real PGs and to the fakes.

pub mod iamport;
pub mod toss;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{DEFAULT_STORE, Pgs};

/// Why a PG call did not give what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PgError {
    /// The PG answered and refused (unknown payment, wrong amount, over-cancel, …).
    #[error("the PG refused: {message}")]
    Refused { code: String, message: String },
    /// The PG failed or answered something unreadable.
    #[error("the PG failed: {0}")]
    Failed(String),
    /// The PG did not answer in time.
    #[error("the PG did not answer in time")]
    Timeout,
    /// No account is configured for the store.
    #[error("no {vendor} account is configured for store {store:?}")]
    UnknownStore { vendor: &'static str, store: String },
}

impl PgError {
    pub(crate) fn transport(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Failed("could not connect to the PG".into())
        } else {
            Self::Failed(error.without_url().to_string())
        }
    }
}

/// The configured PG accounts.
#[derive(Debug)]
pub struct Gateways {
    iamport: BTreeMap<String, Arc<iamport::Iamport>>,
    toss: BTreeMap<String, Arc<toss::Toss>>,
}

impl Gateways {
    pub fn new(config: &Pgs) -> Self {
        static PROVIDER: std::sync::Once = std::sync::Once::new();
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let http = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(config.timeout())
            .user_agent(concat!("payments-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS provider is installed, so the client builds");
        Self {
            iamport: config
                .iamport
                .iter()
                .map(|(store, account)| {
                    (
                        store.clone(),
                        Arc::new(iamport::Iamport::new(account, http.clone())),
                    )
                })
                .collect(),
            toss: config
                .toss
                .iter()
                .map(|(store, account)| {
                    (
                        store.clone(),
                        Arc::new(toss::Toss::new(account, http.clone())),
                    )
                })
                .collect(),
        }
    }

    /// The I'mport account of `store`, or the default one.
    pub fn iamport(&self, store: &str) -> Result<Arc<iamport::Iamport>, PgError> {
        self.iamport
            .get(store)
            .or_else(|| self.iamport.get(DEFAULT_STORE))
            .cloned()
            .ok_or_else(|| PgError::UnknownStore {
                vendor: "iamport",
                store: store.to_owned(),
            })
    }

    /// The Toss Payments account of `store`, or the default one.
    pub fn toss(&self, store: &str) -> Result<Arc<toss::Toss>, PgError> {
        self.toss
            .get(store)
            .or_else(|| self.toss.get(DEFAULT_STORE))
            .cloned()
            .ok_or_else(|| PgError::UnknownStore {
                vendor: "toss.payments",
                store: store.to_owned(),
            })
    }
}
