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
    #[error("invalid configuration: {0}")]
    Invalid(String),
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
    /// How long a PG may take to answer, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
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

/// A Toss Payments merchant account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TossAccount {
    #[serde(default = "default_toss_url")]
    pub base_url: String,
    pub secret_key: Secret,
}

impl Default for Pgs {
    fn default() -> Self {
        Self {
            iamport: BTreeMap::new(),
            toss: BTreeMap::new(),
            timeout_seconds: default_timeout(),
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

fn default_iamport_url() -> String {
    "https://api.iamport.kr".into()
}

fn default_toss_url() -> String {
    "https://api.tosspayments.com".into()
}

/// The store id whose account serves every store without one of its own.
pub const DEFAULT_STORE: &str = "default";

impl Pgs {
    /// How long a PG may take to answer.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_seconds)
    }
}

impl Config {
    /// Reads `path` (when given), then applies the environment.
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
                        message: e.to_string(),
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
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: key sizes, URLs, the active key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        payments_api::BodyCodec::new(self.encryption.key.expose(), self.encryption.iv.expose())
            .map_err(|e| ConfigError::Invalid(format!("encryption: {e}")))?;
        if !self.storage.keys.contains_key(&self.storage.active_key) {
            return Err(ConfigError::Invalid(format!(
                "storage.active_key {:?} is not one of storage.keys",
                self.storage.active_key
            )));
        }
        for (id, key) in &self.storage.keys {
            decode_key(key).map_err(|e| ConfigError::Invalid(format!("storage.keys.{id}: {e}")))?;
            if id.is_empty()
                || id.len() > 32
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ConfigError::Invalid(format!(
                    "storage key id {id:?} must be 1 to 32 letters, digits, '-' or '_'"
                )));
            }
        }
        if self.storage.password_pepper.expose().len() < 16 {
            return Err(ConfigError::Invalid(
                "storage.password_pepper must be at least 16 characters".into(),
            ));
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
            );
        for (name, url) in urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be an http(s) URL, got {url:?}"
                )));
            }
        }
        if self.relay.signing_secrets.is_empty() {
            return Err(ConfigError::Invalid(
                "relay.signing_secrets needs at least one secret".into(),
            ));
        }
        for secret in &self.relay.signing_secrets {
            payments_api::signature::secret_key(secret.expose()).map_err(|_| {
                ConfigError::Invalid(
                    "relay.signing_secrets: each is `whsec_` followed by Base64".into(),
                )
            })?;
        }
        let relay = &self.relay;
        if !(relay.initial_backoff_seconds > 0.0
            && relay.max_backoff_seconds >= relay.initial_backoff_seconds
            && relay.max_age_seconds > 0.0
            && relay.timeout_seconds > 0.0
            && relay.poll_interval_ms > 0
            && relay.retention_days > 0)
        {
            return Err(ConfigError::Invalid(
                "relay: backoffs, max_age_seconds, timeout_seconds, poll_interval_ms and retention_days must be positive, max_backoff at least initial_backoff".into(),
            ));
        }
        if !(self.pg.timeout_seconds > 0.0 && self.pg.timeout_seconds <= 600.0) {
            return Err(ConfigError::Invalid(
                "pg.timeout_seconds must be between 0 and 600".into(),
            ));
        }
        Ok(())
    }
}

/// Decodes a storage key: 32 bytes in standard Base64.
pub fn decode_key(key: &Secret) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.expose().trim())
        .map_err(|_| "not Base64".to_owned())?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("must be 32 bytes, is {}", b.len()))
}

/// The environment variables that override the file, and where each goes.
const ENV: &[(&str, &[&str])] = &[
    ("PAYMENTS_LISTEN", &["listen"]),
    ("PAYMENTS_DATABASE_URL", &["database_url"]),
    ("PAYMENTS_MIGRATE_ON_START", &["migrate_on_start"]),
    ("PAYMENTS_ENCRYPTION_KEY", &["encryption", "key"]),
    ("PAYMENTS_ENCRYPTION_IV", &["encryption", "iv"]),
    ("PAYMENTS_PASSWORD_PEPPER", &["storage", "password_pepper"]),
    ("PAYMENTS_PG_TIMEOUT_SECONDS", &["pg", "timeout_seconds"]),
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
            "migrate_on_start" => value
                .parse::<bool>()
                .map(toml::Value::Boolean)
                .map_err(|e| e.to_string()),
            "timeout_seconds" => value
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
                    message: e.to_string(),
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
    fn the_example_configuration_is_valid() {
        let config = parse(include_str!("../payments.example.toml"), &[]).unwrap();
        assert_eq!(
            config.pg.iamport["default"].base_url,
            "http://127.0.0.1:10851"
        );
        assert_eq!(config.listen.port(), 37821);
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
