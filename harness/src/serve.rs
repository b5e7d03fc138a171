//! `harness serve`: the sandbox on the default ports until Ctrl-C.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use payments_harness::{Database, Harness, TOSS_SECRET_KEY};

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
    /// How long the payments server waits for a PG, in seconds.
    #[arg(long, env = "PAYMENTS_SANDBOX_PG_TIMEOUT", default_value = "10", value_parser = seconds)]
    pg_timeout: Duration,
    /// The server's database (`mysql://…` or `sqlite://file.db`); a fresh SQLite file in a
    /// temporary directory when absent.
    #[arg(long, env = "PAYMENTS_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Print, once ready, one JSON line with the URLs and credentials (for scripts), and
    /// nothing else.
    #[arg(long, env = "PAYMENTS_SANDBOX_JSON")]
    json: bool,
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

async fn serve(args: ServeArgs) -> Result<(), String> {
    let database = match &args.database_url {
        Some(url) => Database::Url(url.clone()),
        None => Database::Sqlite,
    };
    // Listening for signals before the ready line, so a stop right after it is clean.
    let stop = crate::fake::shutdown_signal();
    let harness = Harness::builder()
        .database(database)
        .host(args.host)
        .ports(args.payments_port, args.iamport_port, args.toss_port)
        .pg_timeout(args.pg_timeout)
        .start()
        .await
        .map_err(|e| {
            format!("{e} (choose other ports with --payments-port, --iamport-port, --toss-port)")
        })?;
    let (key, iv) = harness.encryption();
    let (imp_key, imp_secret) = harness.iamport_credentials();
    if args.json {
        let line = serde_json::json!({
            "payments": {
                "url": harness.payments_url(),
                "encryption": {"key": key, "iv": iv},
                "webhook_secret": harness.webhook_secret(),
            },
            "iamport": {"url": harness.iamport_url(), "imp_key": imp_key, "imp_secret": imp_secret},
            "toss": {"url": harness.toss_url(), "secret_key": TOSS_SECRET_KEY},
            "inbox": {"url": harness.inbox().url()},
        });
        println!("{line}");
    } else {
        println!("payments sandbox ready");
        println!("  payments server  {}", harness.payments_url());
        println!("    body key / IV  {key} / {iv}");
        println!("    webhook secret {}", harness.webhook_secret());
        println!(
            "  fake I'mport     {}   (imp_key {imp_key}, imp_secret {imp_secret})",
            harness.iamport_url()
        );
        println!(
            "  fake Toss        {}   (secret key {TOSS_SECRET_KEY})",
            harness.toss_url()
        );
        println!(
            "  webhook inbox    {}   (use it as webhook_url; events are printed here)",
            harness.inbox().url()
        );
        println!("  database         {}", redact(harness.database_url()));
        println!("press Ctrl-C to stop");
    }
    let json = args.json;
    let printer = async {
        loop {
            match harness.inbox().next(Duration::from_secs(3600)).await {
                Ok(event) if !json => println!(
                    "inbox: event {} for {}/{}/{}: paid_at {:?}, refund {:?}",
                    event.id,
                    event.event.source.schema,
                    event.event.source.table,
                    event.event.source.id,
                    event.event.current.paid_at.map(|t| t.to_rfc3339()),
                    event.event.current.refund,
                ),
                Ok(_) => {}
                Err(payments_harness::InboxError::Timeout(_)) => {}
                Err(payments_harness::InboxError::Closed) => break,
            }
        }
    };
    tokio::select! {
        () = stop => {}
        () = printer => {}
    }
    harness.shutdown().await;
    if !json {
        println!("stopped");
    }
    Ok(())
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
