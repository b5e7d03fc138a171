//! `harness serve`: the sandbox on the default ports until Ctrl-C.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine as _;
use clap::Args;
use payments_harness::admin::DeliveryView;
use payments_harness::{Database, Harness, StorageSecrets};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Prints a line of what happens; a closed standard output (a script that stopped
/// reading) must not stop the sandbox, so errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// The webhook inbox's and admin API's default port, beside the server's.
pub const DEFAULT_INBOX_PORT: u16 = 37822;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (0.0.0.0: every interface, as in a container).
    #[arg(long, env = "PAYMENTS_SANDBOX_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// The payments server's port.
    #[arg(long, env = "PAYMENTS_SANDBOX_PAYMENTS_PORT", default_value_t = 37821)]
    payments_port: u16,
    /// The fake I'mport's port.
    #[arg(long, env = "PAYMENTS_SANDBOX_IAMPORT_PORT", default_value_t = payments_fakes::iamport::DEFAULT_PORT)]
    iamport_port: u16,
    /// The fake Toss's port.
    #[arg(long, env = "PAYMENTS_SANDBOX_TOSS_PORT", default_value_t = payments_fakes::toss::DEFAULT_PORT)]
    toss_port: u16,
    /// The fake PortOne V2's port.
    #[arg(long, env = "PAYMENTS_SANDBOX_PORTONE_PORT", default_value_t = payments_fakes::portone::DEFAULT_PORT)]
    portone_port: u16,
    /// The port of the webhook inbox and the admin API (`/admin`).
    #[arg(long, env = "PAYMENTS_SANDBOX_INBOX_PORT", default_value_t = DEFAULT_INBOX_PORT)]
    inbox_port: u16,
    /// How long the payments server waits for a PG, in seconds.
    #[arg(long, env = "PAYMENTS_SANDBOX_PG_TIMEOUT", default_value = "10", value_parser = seconds)]
    pg_timeout: Duration,
    /// The server's database (`mysql://…` or `sqlite://file.db`); a fresh SQLite file in a
    /// temporary directory when absent.
    #[arg(long, env = "PAYMENTS_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The file holding the server's storage key and password pepper, made on first use.
    /// With `--database-url` it defaults to `FILE.keys` beside a SQLite file, else to
    /// `payments-sandbox.keys` in the current folder, so records stay readable across
    /// restarts; without it, each start has fresh keys.
    #[arg(long, env = "PAYMENTS_SANDBOX_KEYS_FILE")]
    keys_file: Option<PathBuf>,
    /// The storage key (Base64 of 32 bytes), instead of a keys file; needs
    /// `--password-pepper`.
    #[arg(
        long,
        env = "PAYMENTS_SANDBOX_STORAGE_KEY",
        hide_env_values = true,
        requires = "password_pepper",
        conflicts_with = "keys_file"
    )]
    storage_key: Option<String>,
    /// The password pepper, instead of a keys file; needs `--storage-key`.
    #[arg(
        long,
        env = "PAYMENTS_SANDBOX_PASSWORD_PEPPER",
        hide_env_values = true,
        requires = "storage_key"
    )]
    password_pepper: Option<String>,
    /// Print, once ready, one JSON line with every URL, credential and control (the admin
    /// API's discovery document), then one JSON line per inbox delivery and per webhook a
    /// fake sends, for scripts to follow.
    #[arg(long, env = "PAYMENTS_SANDBOX_JSON")]
    json: bool,
    /// Let the payments server also take and answer plain JSON: a request sent as
    /// `Content-Type: application/json` (or, without a body, `Accept: application/json`)
    /// skips the body encryption, for generic HTTP tools and generated clients. Sandbox
    /// only; off by default.
    #[arg(long, env = "PAYMENTS_SANDBOX_PLAIN_JSON")]
    plain_json: bool,
}

/// A positive number of seconds, fractions allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 3600"
        )),
    }
}

pub fn run(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("harness: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("harness: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A keys file's content.
#[derive(Serialize, Deserialize)]
struct KeysFile {
    storage_key: String,
    password_pepper: String,
}

/// Where the storage secrets come from, as printed.
enum Keys {
    Fresh,
    Given(StorageSecrets),
    File(PathBuf, StorageSecrets),
}

fn keys(args: &ServeArgs) -> Result<Keys, String> {
    if let (Some(key), Some(pepper)) = (&args.storage_key, &args.password_pepper) {
        return Ok(Keys::Given(StorageSecrets {
            key: key.clone(),
            pepper: pepper.clone(),
        }));
    }
    let path = match (&args.keys_file, &args.database_url) {
        (Some(path), _) => path.clone(),
        (None, Some(url)) => default_keys_file(url),
        (None, None) => return Ok(Keys::Fresh),
    };
    let secrets = read_or_make_keys(&path)?;
    Ok(Keys::File(path, secrets))
}

/// `FILE.keys` beside a SQLite file, else `payments-sandbox.keys` here.
fn default_keys_file(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|file| !file.is_empty() && !file.contains(":memory:"));
    match file {
        Some(file) => PathBuf::from(format!("{file}.keys")),
        None => PathBuf::from("payments-sandbox.keys"),
    }
}

fn read_or_make_keys(path: &Path) -> Result<StorageSecrets, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let keys: KeysFile = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "the keys file {} is not one this command wrote: {e}",
                    path.display()
                )
            })?;
            Ok(StorageSecrets {
                key: keys.storage_key,
                pepper: keys.password_pepper,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keys = KeysFile {
                storage_key: random_base64(32),
                password_pepper: random_base64(24),
            };
            let text = serde_json::to_string_pretty(&keys).map_err(|e| e.to_string())?;
            write_private(path, &text)
                .map_err(|e| format!("cannot write the keys file {}: {e}", path.display()))?;
            Ok(StorageSecrets {
                key: keys.storage_key,
                pepper: keys.password_pepper,
            })
        }
        Err(e) => Err(format!("cannot read the keys file {}: {e}", path.display())),
    }
}

fn random_base64(n: usize) -> String {
    let bytes: Vec<u8> = std::iter::repeat_with(|| uuid::Uuid::new_v4().into_bytes())
        .flatten()
        .take(n)
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let database = match &args.database_url {
        Some(url) => Database::Url(url.clone()),
        None => Database::Sqlite,
    };
    let keys = keys(&args)?;
    // Listening for signals before the ready line, so a stop right after it is clean.
    let stop = crate::fake::shutdown_signal();
    let mut builder = Harness::builder()
        .database(database)
        .host(args.host)
        .ports(args.payments_port, args.iamport_port, args.toss_port)
        .portone_port(args.portone_port)
        .inbox_port(args.inbox_port)
        .pg_timeout(args.pg_timeout)
        .plain_json(args.plain_json);
    if let Keys::Given(secrets) | Keys::File(_, secrets) = &keys {
        builder = builder.storage(secrets.clone());
    }
    let harness = builder.start().await.map_err(|e| {
        format!(
            "{e} (choose other ports with --payments-port, --iamport-port, --toss-port, --portone-port, --inbox-port)"
        )
    })?;
    if args.json {
        let mut ready = harness.discovery().clone();
        if let Keys::File(path, _) = &keys {
            ready["payments"]["keys_file"] = json!(path.display().to_string());
        }
        println!("{ready}");
    } else {
        print_ready(&harness, &keys);
    }
    tokio::select! {
        () = stop => {}
        () = follow(&harness, args.json) => {}
    }
    harness.shutdown().await;
    if !args.json {
        say!("stopped");
    }
    Ok(())
}

fn print_ready(harness: &Harness, keys: &Keys) {
    let (key, iv) = harness.encryption();
    let doc = harness.discovery();
    println!("payments sandbox ready");
    println!("  payments server  {}", harness.payments_url());
    println!("    body key / IV  {key} / {iv}");
    println!("    webhook secret {}", harness.webhook_secret());
    if doc["payments"]["plain_json"] == true {
        println!("    plain JSON     taken too (Content-Type: application/json)");
    }
    match keys {
        Keys::Fresh => {
            println!("    storage keys   fresh for this run (records last until it stops)")
        }
        Keys::Given(_) => println!("    storage keys   as given"),
        Keys::File(path, _) => println!("    storage keys   {}", path.display()),
    }
    if let Some(fakes) = doc["fakes"].as_object() {
        for (name, fake) in fakes {
            let credentials: Vec<String> = fake["credentials"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or_default()))
                .collect();
            println!(
                "  fake {:<11} {}   ({})",
                name,
                fake["url"].as_str().unwrap_or_default(),
                credentials.join(", ")
            );
            print_browser(&fake["browser"]);
        }
    }
    println!(
        "  webhook inbox    {}   (use it as webhook_url; events are printed here)",
        harness.inbox().url()
    );
    println!(
        "  admin API        {}   (GET it for every URL, credential and control)",
        harness.admin_url()
    );
    println!("  database         {}", redact(harness.database_url()));
    println!("press Ctrl-C to stop");
}

/// Prints what a shop's page needs to use a fake's payment window: a `<script>` line per
/// stand-in SDK and the public key the page gives it.
fn print_browser(browser: &serde_json::Value) {
    for (sdk, url) in browser["scripts"].as_object().into_iter().flatten() {
        println!(
            "    page script  <script src=\"{}\"></script>   ({sdk})",
            url.as_str().unwrap_or_default()
        );
    }
    let keys: Vec<String> = browser
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| !matches!(name.as_str(), "scripts" | "checkout"))
        .map(|(name, value)| format!("{name} {}", value.as_str().unwrap_or_default()))
        .collect();
    if !keys.is_empty() {
        println!("    page keys    {}", keys.join(", "));
    }
}

/// Prints every inbox delivery and every webhook a fake sends, as they happen, until the
/// sandbox stops.
async fn follow(harness: &Harness, json: bool) {
    let mut newest = harness.inbox().subscribe();
    let mut inbox_seen = 0;
    let mut journal_seen: BTreeMap<&str, u64> = BTreeMap::new();
    // The fakes' journals have no notification: they are read a few times a second.
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            changed = newest.changed() => {
                if changed.is_err() {
                    return;
                }
                for delivery in harness.inbox().deliveries(inbox_seen) {
                    inbox_seen = delivery.seq;
                    print_delivery(DeliveryView::from(delivery), json);
                }
            }
            _ = tick.tick() => {
                for (name, journal) in harness.fake_journals() {
                    let seen = journal_seen.entry(name).or_default();
                    let snapshot = journal.snapshot(*seen, usize::MAX);
                    for record in snapshot.deliveries {
                        if json {
                            let mut line = serde_json::to_value(&record).unwrap_or_default();
                            line["type"] = json!("fake_webhook");
                            line["fake"] = json!(name);
                            say!("{line}");
                        } else {
                            let outcome = match (record.status, &record.error) {
                                (Some(status), _) => format!("answered {status}"),
                                (None, Some(error)) => format!("failed: {error}"),
                                (None, None) => "no answer".to_owned(),
                            };
                            say!(
                                "{name}: webhook {} about {} (attempt {}) to {}: {outcome}",
                                record.event, record.subject, record.attempt, record.url
                            );
                        }
                    }
                    *seen = snapshot.last_seq;
                }
            }
        }
    }
}

fn print_delivery(delivery: DeliveryView, json: bool) {
    if json {
        let mut line = serde_json::to_value(&delivery).unwrap_or_default();
        line["type"] = json!("inbox");
        say!("{line}");
        return;
    }
    let verdict = match (delivery.signature_valid, delivery.accepted) {
        (false, _) => "bad signature, refused".to_owned(),
        (true, true) => format!("accepted ({})", delivery.answered),
        (true, false) => format!("refused ({})", delivery.answered),
    };
    match &delivery.event {
        Some(event) => {
            let source = &event.source;
            let paid = event.current.paid_at.map_or("unpaid".to_owned(), |t| {
                format!("paid at {}", t.to_rfc3339())
            });
            let refund = event
                .current
                .refund
                .map_or(String::new(), |amount| format!(", {amount} refunded"));
            say!(
                "inbox: event {} for {}/{}/{}: {paid}{refund}; {verdict}",
                delivery.id,
                source.schema,
                source.table,
                source.id
            );
        }
        None => say!(
            "inbox: delivery {} that is not an event; {verdict}",
            delivery.id
        ),
    }
}

/// A database URL without its password.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
