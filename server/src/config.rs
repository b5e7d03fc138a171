//! The server's configuration: a TOML file, then `PAYMENTS_…` environment variables on top.
//!
//! Every secret is wrapped in [`Secret`], whose `Debug` output is `"<secret>"`, so no
//! configuration dump, log line or error message can show one.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

/// A configured secret: readable by the code that needs it, invisible in `Debug` output.
#[derive(Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<secret>\"")
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("the environment variable {name} is not valid: {message}")]
    Env { name: String, message: String },
    #[error("invalid configuration: encryption: {0}")]
    Encryption(#[from] payments_api::KeyError),
    #[error("invalid configuration: storage.active_key {0:?} is not one of storage.keys")]
    UnknownActiveKey(String),
    #[error(
        "invalid configuration: storage key id {0:?} must be 1 to 32 letters, digits, '-' or '_'"
    )]
    KeyId(String),
    #[error("invalid configuration: storage.keys.{id}: {problem}")]
    StorageKey { id: String, problem: KeyProblem },
    #[error("invalid configuration: storage.password_pepper must be at least 16 characters")]
    ShortPepper,
    #[error("invalid configuration: {name} must be an http(s) URL, got {url:?}")]
    BaseUrl { name: String, url: String },
    #[error("invalid configuration: relay.signing_secrets needs at least one secret")]
    NoSigningSecret,
    #[error("invalid configuration: relay.signing_secrets: each is `whsec_` followed by Base64")]
    SigningSecret,
    #[error(
        "invalid configuration: relay: backoffs, max_age_seconds, timeout_seconds, poll_interval_ms and retention_days must be positive, max_backoff at least initial_backoff"
    )]
    RelayTimes,
    #[error(
        "invalid configuration: pg.timeout_seconds and pg.deadline_seconds must be between 0 and 600"
    )]
    PgTimeout,
    #[error("invalid configuration: pg.notifications: per_second and burst must be positive")]
    NotificationRate,
    #[error(
        "invalid configuration: plain_json is for sandboxes only: it needs the public sandbox encryption key and IV (a server with keys of its own keeps its bodies encrypted)"
    )]
    PlainJsonOutsideSandbox,
}

/// What is wrong with a storage key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("not Base64")]
    NotBase64,
    #[error("must be 32 bytes, is {0}")]
    Length(usize),
}

/// The configuration's secrets, decoded once when it is validated: what the server runs
/// with.
pub struct Keys {
    /// The body codec of the payments API.
    pub codec: payments_api::BodyCodec,
    /// The keys of data at rest.
    pub storage: StorageKeys,
    /// The relay's signing keys, in the order of `relay.signing_secrets`.
    pub signing: Vec<Vec<u8>>,
}

/// The keys of data at rest, decoded.
pub struct StorageKeys {
    /// The id of the key that seals new values.
    pub active: String,
    /// AES-256 keys by id.
    pub keys: BTreeMap<String, [u8; 32]>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("codec", &self.codec)
            .field("storage", &self.storage)
            .field("signing", &format_args!("<{} secrets>", self.signing.len()))
            .finish()
    }
}

impl fmt::Debug for StorageKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageKeys")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// `mysql://user:password@host:3306/database` or `sqlite://path/to/file.db`
    /// (`sqlite::memory:` keeps everything in memory, for tests).
    pub database_url: Secret,
    /// Apply pending migrations when the server starts.
    #[serde(default = "yes")]
    pub migrate_on_start: bool,
    /// The body encryption of the payments API (the SDKs' AES-CBC key and IV).
    pub encryption: BodyEncryption,
    /// Encryption of PG data at rest, and the pepper of record passwords.
    pub storage: Storage,
    /// The PGs, by vendor and by `store_id`.
    #[serde(default)]
    pub pg: Pgs,
    /// Delivery of events to clients' webhooks.
    pub relay: Relay,
    /// Sandboxes only: requests sent as `application/json` are read as plain JSON and
    /// answered in plain JSON, without the body codec, for generic HTTP tools and generated
    /// clients. Refused unless `encryption` is the public sandbox key and IV, whose bodies
    /// anyone can read anyway.
    #[serde(default)]
    pub plain_json: bool,
}

/// How events reach clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relay {
    /// `whsec_<Base64>` secrets; every delivery is signed with each (two during rotation).
    pub signing_secrets: Vec<Secret>,
    /// The first retry's delay; each next one doubles it, with ±20% jitter.
    #[serde(default = "default_initial_backoff")]
    pub initial_backoff_seconds: f64,
    /// The longest delay between two attempts.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_seconds: f64,
    /// How long after its creation an event is still retried.
    #[serde(default = "default_max_age")]
    pub max_age_seconds: f64,
    /// How long one attempt may take.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// How often the worker looks for due events when nothing wakes it.
    #[serde(default = "default_poll")]
    pub poll_interval_ms: u64,
    /// How long delivered and failed events are kept, with their attempts, before they
    /// are pruned. Pending events are kept however old they are.
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// Non-public networks the relay may deliver to all the same, e.g. `["127.0.0.0/8",
    /// "::1/128"]` for a sandbox whose clients listen on loopback. Empty by default: the
    /// relay reaches public addresses only (see `egress`).
    #[serde(default)]
    pub allow_private: Vec<ipnet::IpNet>,
}

fn default_initial_backoff() -> f64 {
    10.0
}

fn default_max_backoff() -> f64 {
    6.0 * 3600.0
}

fn default_max_age() -> f64 {
    3.0 * 86_400.0
}

fn default_poll() -> u64 {
    500
}

fn default_retention() -> u32 {
    30
}

impl Relay {
    /// Relay settings with one signing secret and the defaults.
    pub fn with_secret(secret: &str) -> Self {
        Self {
            signing_secrets: vec![Secret::new(secret)],
            initial_backoff_seconds: default_initial_backoff(),
            max_backoff_seconds: default_max_backoff(),
            max_age_seconds: default_max_age(),
            timeout_seconds: default_timeout(),
            poll_interval_ms: default_poll(),
            retention_days: default_retention(),
            allow_private: Vec::new(),
        }
    }
}

/// The key and IV of the body codec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyEncryption {
    /// 16, 24 or 32 characters.
    pub key: Secret,
    /// 16 characters.
    pub iv: Secret,
}

/// The keys of data at rest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// The id of the key that encrypts new values; the others only decrypt old ones.
    pub active_key: String,
    /// AES-256 keys by id, each 32 bytes in standard Base64.
    pub keys: BTreeMap<String, Secret>,
    /// The server-wide secret mixed into record passwords before they are hashed.
    pub password_pepper: Secret,
}

/// The PG accounts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pgs {
    /// I'mport accounts by `store_id`; the one named `default` serves any other store.
    #[serde(default)]
    pub iamport: BTreeMap<String, IamportAccount>,
    /// Toss Payments accounts by `store_id`; `default` serves any other store.
    #[serde(default)]
    pub toss: BTreeMap<String, TossAccount>,
    /// PortOne V2 accounts by `store_id`; `default` serves any other store.
    #[serde(default)]
    pub portone: BTreeMap<String, PortOneAccount>,
    /// How long a PG may take to answer one call, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// How long one operation at a PG may take in all, in seconds: access token, a retry
    /// with a fresh token and the call itself together, so a client waits at most this.
    #[serde(default = "default_deadline")]
    pub deadline_seconds: f64,
    /// The rate limit of the PGs' notification routes, per source address.
    #[serde(default)]
    pub notifications: Intake,
}

/// A rate limit per source address: a steady rate, and a burst above it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intake {
    /// Requests per second, on average.
    pub per_second: u32,
    /// Requests at once, above the rate.
    pub burst: u32,
}

impl Default for Intake {
    fn default() -> Self {
        Self {
            per_second: 100,
            burst: 500,
        }
    }
}

/// An I'mport merchant account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamportAccount {
    #[serde(default = "default_iamport_url")]
    pub base_url: String,
    pub imp_key: String,
    pub imp_secret: Secret,
}

impl IamportAccount {
    /// The account of `imp_key` and `imp_secret` at the I'mport of `base_url`.
    pub fn new(base_url: impl Into<String>, imp_key: &str, imp_secret: &str) -> Self {
        Self {
            base_url: base_url.into(),
            imp_key: imp_key.to_owned(),
            imp_secret: Secret::new(imp_secret),
        }
    }
}

/// A Toss Payments merchant account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TossAccount {
    #[serde(default = "default_toss_url")]
    pub base_url: String,
    pub secret_key: Secret,
}

impl TossAccount {
    /// The account of `secret_key` at the Toss Payments of `base_url`.
    pub fn new(base_url: impl Into<String>, secret_key: &str) -> Self {
        Self {
            base_url: base_url.into(),
            secret_key: Secret::new(secret_key),
        }
    }
}

/// A PortOne V2 store: its API secret, and the `whsec_` secrets its webhooks are signed
/// with (two while one is being rotated; none refuses every webhook of the store).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortOneAccount {
    #[serde(default = "default_portone_url")]
    pub base_url: String,
    pub api_secret: Secret,
    /// PortOne's id of the store, sent with each call and matched against a webhook's
    /// `data.storeId`; needed when one API secret serves several stores.
    #[serde(default)]
    pub store_id: Option<String>,
    #[serde(default)]
    pub webhook_secrets: Vec<Secret>,
}

impl PortOneAccount {
    /// The store of `api_secret` at the PortOne of `base_url`, its webhooks signed with
    /// `webhook_secret`.
    pub fn new(base_url: impl Into<String>, api_secret: &str, webhook_secret: &str) -> Self {
        Self {
            base_url: base_url.into(),
            api_secret: Secret::new(api_secret),
            store_id: None,
            webhook_secrets: vec![Secret::new(webhook_secret)],
        }
    }
}

impl Default for Pgs {
    fn default() -> Self {
        Self {
            iamport: BTreeMap::new(),
            toss: BTreeMap::new(),
            portone: BTreeMap::new(),
            timeout_seconds: default_timeout(),
            deadline_seconds: default_deadline(),
            notifications: Intake::default(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 37821))
}

fn yes() -> bool {
    true
}

fn default_timeout() -> f64 {
    10.0
}

fn default_deadline() -> f64 {
    15.0
}

fn default_iamport_url() -> String {
    "https://api.iamport.kr".into()
}

fn default_toss_url() -> String {
    "https://api.tosspayments.com".into()
}

fn default_portone_url() -> String {
    "https://api.portone.io".into()
}

/// The store id whose account serves every store without one of its own.
pub const DEFAULT_STORE: &str = "default";

impl Pgs {
    /// How long a PG may take to answer one call.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_seconds)
    }

    /// How long one operation at a PG may take in all.
    pub fn deadline(&self) -> Duration {
        Duration::from_secs_f64(self.deadline_seconds)
    }
}

/// The relay's signing secret of sandboxes and tests: public, never for production.
pub const SANDBOX_WEBHOOK_SECRET: &str = "whsec_cGF5bWVudHMtc2FuZGJveC1zaWduaW5nLXNlY3JldA==";

impl Config {
    /// A configuration for tests and sandboxes: a free loopback port, `database_url`
    /// (migrated on start), the SDKs' public sandbox key and IV, [`SANDBOX_WEBHOOK_SECRET`],
    /// a fresh random storage key and pepper (records do not outlive the configuration),
    /// a relay that may deliver to loopback (where a sandbox's clients listen), and no PG
    /// account yet: add them to `pg`.
    pub fn sandbox(database_url: impl Into<String>) -> Self {
        let random = |n: usize| {
            let bytes: Vec<u8> = std::iter::repeat_with(|| uuid::Uuid::new_v4().into_bytes())
                .flatten()
                .take(n)
                .collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: Secret::new(database_url),
            migrate_on_start: true,
            encryption: BodyEncryption {
                key: Secret::new(payments_api::codec::SANDBOX_KEY),
                iv: Secret::new(payments_api::codec::SANDBOX_IV),
            },
            storage: Storage {
                active_key: "sandbox".into(),
                keys: BTreeMap::from([("sandbox".to_owned(), Secret::new(random(32)))]),
                password_pepper: Secret::new(random(24)),
            },
            pg: Pgs::default(),
            relay: Relay {
                allow_private: ["127.0.0.0/8", "::1/128"]
                    .iter()
                    .map(|net| net.parse().expect("loopback networks are valid"))
                    .collect(),
                ..Relay::with_secret(SANDBOX_WEBHOOK_SECRET)
            },
            plain_json: false,
        }
    }

    /// Whether this is a sandbox's configuration: its body key and IV are the public
    /// sandbox ones, so nothing its bodies carry is secret.
    pub fn is_sandbox(&self) -> bool {
        self.encryption.key.expose() == payments_api::codec::SANDBOX_KEY
            && self.encryption.iv.expose() == payments_api::codec::SANDBOX_IV
    }

    /// Reads `path` (when given), then applies the environment. What serde cannot check is
    /// checked by [`Config::validate`], which the server runs as it starts.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut table = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse {
                        path: path.display().to_string(),
                        message: parse_problem(&e, &text),
                    })?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, std::env::vars())?;
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.map_or_else(|| "(environment)".into(), |p| p.display().to_string()),
                    message: parse_problem(&e, ""),
                })?;
        Ok(config)
    }

    /// Checks what serde cannot (key sizes, URLs, the active key, times) and decodes the
    /// secrets, once: the server runs with the [`Keys`] this answers.
    pub fn validate(&self) -> Result<Keys, ConfigError> {
        if self.plain_json && !self.is_sandbox() {
            return Err(ConfigError::PlainJsonOutsideSandbox);
        }
        let codec = payments_api::BodyCodec::new(
            self.encryption.key.expose(),
            self.encryption.iv.expose(),
        )?;
        if !self.storage.keys.contains_key(&self.storage.active_key) {
            return Err(ConfigError::UnknownActiveKey(
                self.storage.active_key.clone(),
            ));
        }
        let mut storage = BTreeMap::new();
        for (id, key) in &self.storage.keys {
            let key = decode_key(key).map_err(|problem| ConfigError::StorageKey {
                id: id.clone(),
                problem,
            })?;
            if id.is_empty()
                || id.len() > 32
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ConfigError::KeyId(id.clone()));
            }
            storage.insert(id.clone(), key);
        }
        if self.storage.password_pepper.expose().len() < 16 {
            return Err(ConfigError::ShortPepper);
        }
        let urls = self
            .pg
            .iamport
            .iter()
            .map(|(store, a)| (format!("pg.iamport.{store}.base_url"), &a.base_url))
            .chain(
                self.pg
                    .toss
                    .iter()
                    .map(|(store, a)| (format!("pg.toss.{store}.base_url"), &a.base_url)),
            )
            .chain(
                self.pg
                    .portone
                    .iter()
                    .map(|(store, a)| (format!("pg.portone.{store}.base_url"), &a.base_url)),
            );
        for (name, url) in urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::BaseUrl {
                    name,
                    url: url.clone(),
                });
            }
        }
        if self.relay.signing_secrets.is_empty() {
            return Err(ConfigError::NoSigningSecret);
        }
        let signing = self
            .relay
            .signing_secrets
            .iter()
            .map(|secret| payments_api::signature::secret_key(secret.expose()))
            .collect::<Result<_, _>>()
            .map_err(|_| ConfigError::SigningSecret)?;
        let relay = &self.relay;
        if !(relay.initial_backoff_seconds > 0.0
            && relay.max_backoff_seconds >= relay.initial_backoff_seconds
            && relay.max_age_seconds > 0.0
            && relay.timeout_seconds > 0.0
            && relay.poll_interval_ms > 0
            && relay.retention_days > 0)
        {
            return Err(ConfigError::RelayTimes);
        }
        let seconds = |s: f64| s > 0.0 && s <= 600.0;
        if !(seconds(self.pg.timeout_seconds) && seconds(self.pg.deadline_seconds)) {
            return Err(ConfigError::PgTimeout);
        }
        if self.pg.notifications.per_second == 0 || self.pg.notifications.burst == 0 {
            return Err(ConfigError::NotificationRate);
        }
        Ok(Keys {
            codec,
            storage: StorageKeys {
                active: self.storage.active_key.clone(),
                keys: storage,
            },
            signing,
        })
    }
}

/// What is wrong with a configuration, without its text: TOML's own messages quote the
/// offending line and serde's the offending value, and either can be a secret. The line and
/// column (when known) and the kind of problem say where to look.
fn parse_problem(error: &toml::de::Error, text: &str) -> String {
    let problem = redact_quoted(error.message().lines().next().unwrap_or("unreadable"));
    match error.span().filter(|span| span.start <= text.len()) {
        Some(span) => {
            let before = &text.as_bytes()[..span.start];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = span.start
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                + 1;
            format!("line {line}, column {column}: {problem}")
        }
        None => problem,
    }
}

/// `text` with whatever is between double quotes replaced by `…`.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…");
            }
            quoted = !quoted;
            if !quoted {
                out.push('"');
            }
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

/// Decodes a storage key: 32 bytes in standard Base64.
fn decode_key(key: &Secret) -> Result<[u8; 32], KeyProblem> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.expose().trim())
        .map_err(|_| KeyProblem::NotBase64)?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| KeyProblem::Length(b.len()))
}

/// The environment variables that override the file, and where each goes.
const ENV: &[(&str, &[&str])] = &[
    ("PAYMENTS_LISTEN", &["listen"]),
    ("PAYMENTS_DATABASE_URL", &["database_url"]),
    ("PAYMENTS_MIGRATE_ON_START", &["migrate_on_start"]),
    ("PAYMENTS_PLAIN_JSON", &["plain_json"]),
    ("PAYMENTS_ENCRYPTION_KEY", &["encryption", "key"]),
    ("PAYMENTS_ENCRYPTION_IV", &["encryption", "iv"]),
    ("PAYMENTS_PASSWORD_PEPPER", &["storage", "password_pepper"]),
    ("PAYMENTS_PG_TIMEOUT_SECONDS", &["pg", "timeout_seconds"]),
    ("PAYMENTS_PG_DEADLINE_SECONDS", &["pg", "deadline_seconds"]),
    (
        "PAYMENTS_IAMPORT_URL",
        &["pg", "iamport", "default", "base_url"],
    ),
    (
        "PAYMENTS_IAMPORT_KEY",
        &["pg", "iamport", "default", "imp_key"],
    ),
    (
        "PAYMENTS_IAMPORT_SECRET",
        &["pg", "iamport", "default", "imp_secret"],
    ),
    ("PAYMENTS_TOSS_URL", &["pg", "toss", "default", "base_url"]),
    (
        "PAYMENTS_TOSS_SECRET_KEY",
        &["pg", "toss", "default", "secret_key"],
    ),
    (
        "PAYMENTS_PORTONE_URL",
        &["pg", "portone", "default", "base_url"],
    ),
    (
        "PAYMENTS_PORTONE_API_SECRET",
        &["pg", "portone", "default", "api_secret"],
    ),
];

/// Applies `PAYMENTS_…` variables to the parsed file. `PAYMENTS_STORAGE_KEY` sets a single
/// key with id `env` and makes it active.
fn apply_env(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, value) in vars {
        if name == "PAYMENTS_WEBHOOK_SECRET" {
            // One secret replaces the list; rotation needs the file.
            section(table, &["relay"]).insert(
                "signing_secrets".into(),
                toml::Value::Array(vec![toml::Value::String(value)]),
            );
            continue;
        }
        if name == "PAYMENTS_PORTONE_WEBHOOK_SECRET" {
            // One secret replaces the default store's list, as for the relay's.
            section(table, &["pg", "portone", "default"]).insert(
                "webhook_secrets".into(),
                toml::Value::Array(vec![toml::Value::String(value)]),
            );
            continue;
        }
        if name == "PAYMENTS_STORAGE_KEY" {
            let storage = section(table, &["storage"]);
            storage.insert("active_key".into(), toml::Value::String("env".into()));
            let keys = section(storage, &["keys"]);
            keys.insert("env".into(), toml::Value::String(value));
            continue;
        }
        let Some((_, path)) = ENV.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let typed = match *path.last().unwrap_or(&"") {
            "migrate_on_start" | "plain_json" => value
                .parse::<bool>()
                .map(toml::Value::Boolean)
                .map_err(|e| e.to_string()),
            "timeout_seconds" | "deadline_seconds" => value
                .parse::<f64>()
                .map(toml::Value::Float)
                .map_err(|e| e.to_string()),
            _ => Ok(toml::Value::String(value)),
        }
        .map_err(|message| ConfigError::Env {
            name: name.clone(),
            message,
        })?;
        let (last, parents) = path.split_last().unwrap_or((&"", &[]));
        section(table, parents).insert((*last).to_owned(), typed);
    }
    Ok(())
}

fn section<'a>(table: &'a mut toml::Table, path: &[&str]) -> &'a mut toml::Table {
    let mut current = table;
    for key in path {
        let entry = current
            .entry((*key).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
        database_url = "sqlite::memory:"
        [encryption]
        key = "MCKOxv9B23r7EatArCFcBP03nfaS03T8"
        iv = "9haeYD1tIf4v8xs7"
        [storage]
        active_key = "k1"
        password_pepper = "a-pepper-of-enough-length"
        [storage.keys]
        k1 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        [pg.toss.default]
        secret_key = "test_sk_x"
        [relay]
        signing_secrets = ["whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="]
    "#;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text.parse().unwrap();
        apply_env(
            &mut table,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )?;
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: "test".into(),
                    message: parse_problem(&e, ""),
                })?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn a_file_with_defaults() {
        let config = parse(FILE, &[]).unwrap();
        assert_eq!(config.listen.port(), 37821);
        assert!(config.migrate_on_start);
        assert_eq!(
            config.pg.toss["default"].base_url,
            "https://api.tosspayments.com"
        );
        assert_eq!(config.pg.timeout(), Duration::from_secs(10));
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let config = parse(
            FILE,
            &[
                ("PAYMENTS_LISTEN", "0.0.0.0:8080"),
                ("PAYMENTS_TOSS_URL", "http://127.0.0.1:30771"),
                ("PAYMENTS_IAMPORT_KEY", "k"),
                ("PAYMENTS_IAMPORT_SECRET", "s"),
                (
                    "PAYMENTS_STORAGE_KEY",
                    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
                ),
                ("PAYMENTS_MIGRATE_ON_START", "false"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(config.pg.toss["default"].base_url, "http://127.0.0.1:30771");
        assert_eq!(config.pg.iamport["default"].imp_key, "k");
        assert_eq!(config.storage.active_key, "env");
        assert!(!config.migrate_on_start);
    }

    #[test]
    fn bad_values_are_explained() {
        let bad_key = FILE.replace("MCKOxv9B23r7EatArCFcBP03nfaS03T8", "short");
        assert!(
            parse(&bad_key, &[])
                .unwrap_err()
                .to_string()
                .contains("16, 24 or 32")
        );
        let bad_active = FILE.replace("active_key = \"k1\"", "active_key = \"k2\"");
        assert!(
            parse(&bad_active, &[])
                .unwrap_err()
                .to_string()
                .contains("k2")
        );
        let short_storage = FILE.replace("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAA");
        assert!(
            parse(&short_storage, &[])
                .unwrap_err()
                .to_string()
                .contains("32 bytes")
        );
        let unknown = format!("{FILE}\nsurprise = 1");
        assert!(
            parse(&unknown, &[])
                .unwrap_err()
                .to_string()
                .contains("surprise")
        );
        let env = parse(FILE, &[("PAYMENTS_MIGRATE_ON_START", "maybe")]).unwrap_err();
        assert!(env.to_string().contains("PAYMENTS_MIGRATE_ON_START"));
    }

    #[test]
    fn parse_errors_say_where_without_showing_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("broken.toml");
        let secret = "hunter2-database-password";
        // A quote missing: TOML's own message would print the whole line.
        std::fs::write(
            &broken,
            format!("listen = \"127.0.0.1:1\"\ndatabase_url = \"mysql://u:{secret}@h/db\n"),
        )
        .unwrap();
        let message = Config::load(Some(&broken)).unwrap_err().to_string();
        assert!(!message.contains(secret), "{message}");
        assert!(message.contains("line 2"), "{message}");
        // A value of the wrong type: serde's message would quote it.
        let typed = dir.path().join("typed.toml");
        std::fs::write(
            &typed,
            FILE.replace(
                "[relay]",
                &format!("[relay]\ntimeout_seconds = \"{secret}\""),
            ),
        )
        .unwrap();
        let message = Config::load(Some(&typed)).unwrap_err().to_string();
        assert!(!message.contains(secret), "{message}");
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn the_example_configuration_is_valid() {
        let config = parse(include_str!("../payments.example.toml"), &[]).unwrap();
        assert_eq!(
            config.pg.iamport["default"].base_url,
            "http://127.0.0.1:10851"
        );
        assert_eq!(config.listen.port(), 37821);
    }

    #[test]
    fn a_sandbox_configuration_is_valid_with_keys_of_its_own() {
        let one = Config::sandbox("sqlite::memory:");
        let two = Config::sandbox("sqlite::memory:");
        let (keys_one, keys_two) = (one.validate().unwrap(), two.validate().unwrap());
        assert_eq!(keys_one.signing.len(), 1);
        assert_ne!(
            keys_one.storage.keys["sandbox"], keys_two.storage.keys["sandbox"],
            "each sandbox seals with a fresh key"
        );
        assert_ne!(one.storage.password_pepper, two.storage.password_pepper);
        assert_eq!(one.listen.port(), 0);
    }

    #[test]
    fn plain_json_is_for_sandbox_keys_only() {
        let mut sandbox = Config::sandbox("sqlite::memory:");
        sandbox.plain_json = true;
        assert!(sandbox.validate().is_ok());
        sandbox.encryption.key = Secret::new("SqwHmmXm1fZteI3URPtoyBWFJDMQ7FBQ");
        assert!(matches!(
            sandbox.validate(),
            Err(ConfigError::PlainJsonOutsideSandbox)
        ));
        sandbox.plain_json = false;
        assert!(sandbox.validate().is_ok(), "off, any key will do");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = parse(FILE, &[]).unwrap();
        let shown = format!("{config:?}");
        for secret in [
            "MCKOxv9B23r7EatArCFcBP03nfaS03T8",
            "9haeYD1tIf4v8xs7",
            "a-pepper",
            "test_sk_x",
            "AAAAAAAA",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }
}
