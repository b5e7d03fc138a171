//! The PGs, behind one seam.
//!
//! Records reach a PG only through a [`Gateway`]: verify a payment, fetch it, cancel it,
//! verify a billing key. Each answers the PG's own JSON as it came (sealed at rest, shown to
//! clients) and, for payments, a vendor-neutral [`Summary`] (the record's plain columns and
//! cancels). What is peculiar to one PG lives in its module: I'mport refunding a payment of
//! the wrong amount, Toss's confirmation and its `ALREADY_PROCESSED_PAYMENT`, Toss taking
//! refund accounts as digits only, the shape of each PG's notifications. Nothing outside
//! this folder asks which PG a record belongs to.
//!
//! Connectors are configured by base URL and credentials alone, so the same code talks to
//! the real PGs and to the fakes.
//!
//! # Adding a PG
//!
//! 1. `api/`: the PG's wire types in a module of their own, a [`VendorCode`] variant, and
//!    a variant of `PaymentData` and of `ReservationData` (`api/src/payments.rs`).
//! 2. `server/src/pg/<pg>.rs`: the connector, implementing [`Connector`] with the PG's
//!    quirks inside, its [`Summary`] of a payment, and how its notifications read
//!    ([`Notice`]).
//! 3. This file: a `Connectors` variant and its line in `each_gateway!`, a row in
//!    [`VENDORS`] (code, notification path, notification reader, order secret) and its arm
//!    in [`vendor`], and its accounts in [`Gateways::new`].
//! 4. `server/src/config.rs`: the accounts' section in `Pgs` (and its `PAYMENTS_…`
//!    variables, its base URLs' check in `Config::validate`).
//!
//! The compiler points at each of the matches in this file once the variants exist. The
//! HTTP routes for notifications, the records, the outbox and the relay need no change.

pub mod iamport;
pub mod portone;
pub mod toss;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use payments_api::payments::{PaymentData, RefundAccount, ReservationData, VendorCode};

use crate::config::{DEFAULT_STORE, Pgs};
use crate::money::Amount;

/// Why a PG call did not give what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PgError {
    /// The PG answered and refused (unknown payment, wrong amount, over-cancel, …).
    #[error("the PG refused: {message}")]
    Refused { code: String, message: String },
    /// The PG's payment is not the one the client reported (amount, order).
    #[error("{0}")]
    Mismatch(String),
    /// The payment failed at the PG.
    #[error("the payment failed at the PG")]
    PaymentFailed,
    /// The PG failed or answered something unreadable.
    #[error("the PG failed: {0}")]
    Failed(String),
    /// The PG did not answer in time.
    #[error("the PG did not answer in time")]
    Timeout,
    /// The PG asks to be called later (429): nothing was done, a retry is welcome.
    #[error("the PG is busy; retry in {retry_after_s} s")]
    Unavailable { retry_after_s: u64 },
    /// No account is configured for the store.
    #[error("no {vendor} account is configured for store {store:?}")]
    UnknownStore { vendor: VendorCode, store: String },
}

impl PgError {
    /// A PG's 429, with its `Retry-After` in seconds when it gives one (1 to 60 s).
    pub(crate) fn busy(headers: &reqwest::header::HeaderMap) -> Self {
        let retry_after_s = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 60);
        Self::Unavailable { retry_after_s }
    }

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

/// A cancel as the PG reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancel {
    pub reason: String,
    pub price: Amount,
    pub at_ms: i64,
}

/// What a record derives from the PG's payment: currency, price, refunds, and the times of
/// payment and cancellation, all as the PG reports them (never the server's "now").
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub currency: String,
    pub price: Amount,
    pub refund: Option<Amount>,
    pub paid_at_ms: Option<i64>,
    /// The first cancel's time.
    pub cancelled_at_ms: Option<i64>,
    /// Oldest first.
    pub cancels: Vec<Cancel>,
}

/// A payment as a PG answered it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub data: PaymentData,
    /// The PG's JSON as it came: what is sealed and shown.
    pub raw: serde_json::Value,
    pub summary: Summary,
}

/// A billing key as a PG answered it.
#[derive(Debug, Clone)]
pub struct BillingKey {
    pub data: ReservationData,
    pub raw: serde_json::Value,
}

/// A payment a client reports: the PG's id, the client's order (the source id) and the
/// amount the client expects.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub uid: &'a str,
    pub order_id: &'a str,
    pub price: Amount,
}

/// A cancel to make at the PG.
#[derive(Debug, Clone, Copy)]
pub struct CancelOrder<'a> {
    pub uid: &'a str,
    pub price: Amount,
    pub reason: &'a str,
    /// Where a virtual account's money goes back to; passed on, never stored.
    pub account: Option<&'a RefundAccount>,
    /// What makes the PG refuse to do the cancel twice.
    pub guard: CancelGuard<'a>,
}

/// The PG's own guards against a repeated cancel, each PG taking the one it has: Toss
/// replays the first answer to a repeated `Idempotency-Key`; I'mport refuses a cancel whose
/// `checksum` (the balance the caller believes is left) is not the payment's balance.
#[derive(Debug, Clone, Copy)]
pub struct CancelGuard<'a> {
    /// Unique to one cancel intent, the same on every attempt of it.
    pub key: &'a str,
    /// The payment's balance before this cancel, as the server recorded it.
    pub balance: Amount,
}

/// What one PG connector does for the records.
pub trait Connector {
    /// Verifies a payment the way this PG wants it done (fetch and compare, or confirm),
    /// refusing one that failed or is not what the client reported.
    fn verify_payment(
        &self,
        claim: Claim<'_>,
    ) -> impl Future<Output = Result<Payment, PgError>> + Send;

    /// The payment as the PG has it now.
    fn payment(&self, uid: &str) -> impl Future<Output = Result<Payment, PgError>> + Send;

    /// Cancels all or part of a payment; answers the payment after the cancel.
    fn cancel(
        &self,
        order: CancelOrder<'_>,
    ) -> impl Future<Output = Result<Payment, PgError>> + Send;

    /// Verifies a billing key, for the customer (the source id) where the PG checks it.
    fn verify_billing_key(
        &self,
        uid: &str,
        customer: &str,
    ) -> impl Future<Output = Result<BillingKey, PgError>> + Send;
}

/// One merchant account at one PG.
#[derive(Debug, Clone)]
pub struct Gateway {
    connector: Connectors,
    /// The most one operation may take, tokens, retries and every call included.
    deadline: Duration,
}

#[derive(Debug, Clone)]
enum Connectors {
    Iamport(std::sync::Arc<iamport::Iamport>),
    Toss(std::sync::Arc<toss::Toss>),
    PortOne(std::sync::Arc<portone::PortOne>),
}

impl Connectors {
    /// The vendor's code, as metrics and logs name it.
    fn vendor(&self) -> &'static str {
        match self {
            Self::Iamport(_) => "iamport",
            Self::Toss(_) => "toss",
            Self::PortOne(_) => "portone",
        }
    }
}

impl PgError {
    /// The kind of failure, as metrics label it.
    fn kind(&self) -> &'static str {
        match self {
            Self::Refused { .. } => "refused",
            Self::Mismatch(_) => "mismatch",
            Self::PaymentFailed => "payment_failed",
            Self::Failed(_) => "failed",
            Self::Timeout => "timeout",
            Self::Unavailable { .. } => "unavailable",
            Self::UnknownStore { .. } => "unknown_store",
        }
    }
}

/// Runs `$call` on the connector inside a [`Gateway`], whichever PG it is, within the
/// gateway's deadline; times it into the metrics and logs it inside a `pg` span, which sits
/// in the request's span and so carries the request's id.
macro_rules! each_gateway {
    ($gateway:expr, $operation:literal, $pg:ident => $call:expr) => {{
        use tracing::Instrument as _;
        let vendor = $gateway.connector.vendor();
        let started = std::time::Instant::now();
        let call = async {
            match &$gateway.connector {
                Connectors::Iamport($pg) => $call,
                Connectors::Toss($pg) => $call,
                Connectors::PortOne($pg) => $call,
            }
        };
        let span = tracing::info_span!("pg", vendor, operation = $operation);
        let outcome = tokio::time::timeout($gateway.deadline, call)
            .instrument(span.clone())
            .await
            .unwrap_or(Err(PgError::Timeout));
        let elapsed = started.elapsed();
        let error = outcome.as_ref().err().map(PgError::kind);
        crate::metrics::pg_call(vendor, $operation, error, elapsed);
        span.in_scope(|| {
            tracing::info!(
                outcome = error.unwrap_or("ok"),
                ms = elapsed.as_millis() as u64,
                "PG call"
            )
        });
        outcome
    }};
}

impl Gateway {
    /// See [`Connector::verify_payment`].
    pub async fn verify_payment(&self, claim: Claim<'_>) -> Result<Payment, PgError> {
        each_gateway!(self, "verify_payment", pg => pg.verify_payment(claim).await)
    }

    /// See [`Connector::payment`].
    pub async fn payment(&self, uid: &str) -> Result<Payment, PgError> {
        each_gateway!(self, "payment", pg => pg.payment(uid).await)
    }

    /// See [`Connector::cancel`].
    pub async fn cancel(&self, order: CancelOrder<'_>) -> Result<Payment, PgError> {
        each_gateway!(self, "cancel", pg => pg.cancel(order).await)
    }

    /// See [`Connector::verify_billing_key`].
    pub async fn verify_billing_key(
        &self,
        uid: &str,
        customer: &str,
    ) -> Result<BillingKey, PgError> {
        each_gateway!(self, "verify_billing_key", pg => pg.verify_billing_key(uid, customer).await)
    }
}

/// What a PG's notification asks of the server. Notifications are unauthenticated: the
/// server never trusts their body, only learns from it which payment to re-read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Re-read this payment (the PG's id).
    Payment(String),
    /// A payment named by its order (the source id); genuine only if `secret` is the one
    /// the PG gave the stored payment.
    Order { order_id: String, secret: String },
    /// Nothing for this server (another product's event).
    Ignored,
}

/// A notification that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadNotice(pub String);

/// A PG as the rest of the server sees it.
#[derive(Debug, Clone, Copy)]
pub struct Vendor {
    pub code: VendorCode,
    /// Its notifications arrive at `/payments/webhooks/{webhook_path}`.
    pub webhook_path: &'static str,
    /// Reads a notification's body, given its content type.
    pub read_notice: fn(Option<&str>, &[u8]) -> Result<Notice, BadNotice>,
    /// The secret a payment's [`Notice::Order`] must carry, if the PG has such.
    pub order_secret: fn(&PaymentData) -> Option<&str>,
}

/// Every PG the server speaks to.
pub const VENDORS: [Vendor; 3] = [
    Vendor {
        code: VendorCode::Iamport,
        webhook_path: "iamport",
        read_notice: iamport::read_notice,
        order_secret: |_| None,
    },
    Vendor {
        code: VendorCode::TossPayments,
        webhook_path: "toss",
        read_notice: toss::read_notice,
        order_secret: toss::order_secret,
    },
    Vendor {
        code: VendorCode::PortOne,
        webhook_path: "portone",
        read_notice: portone::read_notice,
        order_secret: |_| None,
    },
];

/// The PG of `code`.
pub fn vendor(code: VendorCode) -> &'static Vendor {
    // Exhaustive, so a new vendor code does not compile until it has its row.
    match code {
        VendorCode::Iamport => &VENDORS[0],
        VendorCode::TossPayments => &VENDORS[1],
        VendorCode::PortOne => &VENDORS[2],
    }
}

/// The configured PG accounts.
#[derive(Debug)]
pub struct Gateways {
    accounts: BTreeMap<(VendorCode, String), Gateway>,
    /// The `whsec_` secrets of each PortOne store, by the store's key in the configuration
    /// and by PortOne's own id of it.
    portone_secrets: BTreeMap<String, Vec<crate::config::Secret>>,
    deadline: Duration,
}

impl Gateways {
    /// One connector per configured account, sharing one HTTP client.
    pub fn new(config: &Pgs) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(payments_api::tls::client_config())
            .timeout(config.timeout())
            .connect_timeout(config.timeout())
            .user_agent(concat!("payments-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let deadline = config.deadline();
        let gateway = |connector| Gateway {
            connector,
            deadline,
        };
        let iamport = config.iamport.iter().map(|(store, account)| {
            let pg = iamport::Iamport::new(account, http.clone());
            (VendorCode::Iamport, store, Connectors::Iamport(pg.into()))
        });
        let toss = config.toss.iter().map(|(store, account)| {
            let pg = toss::Toss::new(account, http.clone());
            (VendorCode::TossPayments, store, Connectors::Toss(pg.into()))
        });
        let portone = config.portone.iter().map(|(store, account)| {
            let pg = portone::PortOne::new(account, http.clone());
            (VendorCode::PortOne, store, Connectors::PortOne(pg.into()))
        });
        let portone_secrets = config
            .portone
            .iter()
            .flat_map(|(store, account)| {
                let by_id = account.store_id.iter().map(move |id| (id.clone(), account));
                std::iter::once((store.clone(), account)).chain(by_id)
            })
            .map(|(store, account)| (store, account.webhook_secrets.clone()))
            .collect();
        Ok(Self {
            accounts: iamport
                .chain(toss)
                .chain(portone)
                .map(|(code, store, connector)| ((code, store.clone()), gateway(connector)))
                .collect(),
            portone_secrets,
            deadline,
        })
    }

    /// Checks that a notification to the PG of `code` comes from that PG. Only PortOne
    /// signs its webhooks; the others' are trusted for nothing but naming a payment to
    /// re-read. `Err` says why the notification is refused.
    pub fn authenticate(
        &self,
        code: VendorCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        now_s: i64,
    ) -> Result<(), String> {
        match code {
            VendorCode::Iamport | VendorCode::TossPayments => Ok(()),
            VendorCode::PortOne => {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                let signed = match (
                    header("webhook-id"),
                    header("webhook-timestamp"),
                    header("webhook-signature"),
                ) {
                    (Some(id), Some(timestamp), Some(signatures)) => Some(portone::Signed {
                        id,
                        timestamp,
                        signatures,
                    }),
                    _ => None,
                };
                let secrets = |store: Option<&str>| {
                    store
                        .and_then(|s| self.portone_secrets.get(s))
                        .or_else(|| self.portone_secrets.get(DEFAULT_STORE))
                        .map(Vec::as_slice)
                        .unwrap_or(&[])
                };
                portone::authenticate(secrets, signed, body, now_s)
            }
        }
    }

    /// The most one PG operation may take.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The account of `store` at the PG of `code`, or the PG's default account.
    pub fn get(&self, code: VendorCode, store: &str) -> Result<Gateway, PgError> {
        self.accounts
            .get(&(code, store.to_owned()))
            .or_else(|| self.accounts.get(&(code, DEFAULT_STORE.to_owned())))
            .cloned()
            .ok_or_else(|| PgError::UnknownStore {
                vendor: code,
                store: store.to_owned(),
            })
    }
}

/// What stays as it is in a path segment: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a path segment or a query value.
pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// `id` as one path segment of a call to a PG. Escaping keeps it one segment, but an empty
/// id and the dot segments `.` and `..` (which URLs resolve even escaped) would name another
/// path at the PG: no PG gives such an id, so the call is refused as the PG would refuse an
/// id it does not know, without being made. Notifications are unauthenticated, and their
/// ids reach these calls as they came.
pub(crate) fn segment(id: &str) -> Result<String, PgError> {
    if matches!(id, "" | "." | "..") {
        return Err(PgError::Refused {
            code: "invalid_id".into(),
            message: format!("{id:?} is not an id the PG can have"),
        });
    }
    Ok(encode(id))
}

/// A PG's cancels, oldest first, from each one's reason, amount as the PG wrote it, and
/// time in milliseconds.
fn cancels<'a>(entries: impl Iterator<Item = (&'a str, f64, i64)>) -> Result<Vec<Cancel>, PgError> {
    let mut cancels = entries
        .map(|(reason, price, at_ms)| {
            Ok(Cancel {
                reason: reason.to_owned(),
                price: amount(price)?,
                at_ms,
            })
        })
        .collect::<Result<Vec<_>, PgError>>()?;
    cancels.sort_by_key(|c| c.at_ms);
    Ok(cancels)
}

/// An amount the PG wrote; one that is no money is an answer the server cannot use.
fn amount(value: f64) -> Result<Amount, PgError> {
    Amount::from_f64(value).map_err(|e| PgError::Failed(format!("the PG's answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_vendor_code_finds_its_own_row() {
        for row in &VENDORS {
            assert_eq!(vendor(row.code).code, row.code);
        }
        let paths: std::collections::BTreeSet<_> = VENDORS.iter().map(|v| v.webhook_path).collect();
        assert_eq!(paths.len(), VENDORS.len(), "one notification path each");
    }

    #[test]
    fn a_client_s_key_stays_one_path_segment() {
        // RFC 3986's unreserved characters stay; everything else, UTF-8 included, is
        // escaped, so a key cannot add a segment or a query (the records refuse the two
        // dot segments, which URLs resolve even escaped, and so does `segment`).
        assert_eq!(encode("tgen_20240101-ab.c_~9"), "tgen_20240101-ab.c_~9");
        assert_eq!(
            encode("../a/b?c=d#e f+주문"),
            "..%2Fa%2Fb%3Fc%3Dd%23e%20f%2B%EC%A3%BC%EB%AC%B8"
        );
        assert_eq!(segment("a..b").ok().as_deref(), Some("a..b"));
        for id in ["", ".", ".."] {
            assert!(
                matches!(segment(id), Err(PgError::Refused { ref code, .. }) if code == "invalid_id"),
                "{id:?}"
            );
        }
    }
}
