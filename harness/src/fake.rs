//! `harness fake …`: one fake PG on a port, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine as _;
use clap::{Args, Subcommand};
use payments_fakes::delivery::DeliveryMode;
use payments_fakes::toss::{self, FakeToss, TossConfig};

#[derive(Debug, Subcommand)]
pub enum FakeCommand {
    /// The fake Toss Payments (v1 API).
    Toss {
        /// The port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = toss::DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        common: Common,
        /// Accept this secret key too (repeatable). The default key and any `test_sk_…` key
        /// are always accepted.
        #[arg(long = "secret-key", value_name = "KEY")]
        secret_keys: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct Common {
    /// The address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Where to send webhooks (every merchant, unless it sets its own).
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,
    /// Deliver each webhook before the response that caused it returns.
    #[arg(long)]
    sync_webhooks: bool,
}

pub fn run(command: FakeCommand) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("harness: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("harness: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(command: FakeCommand) -> Result<(), String> {
    let FakeCommand::Toss {
        port,
        common,
        secret_keys,
    } = command;
    if let Some(url) = &common.webhook_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(format!("--webhook-url must be an http(s) URL, got {url:?}"));
    }
    let mut config = TossConfig {
        webhook_url: common.webhook_url.clone(),
        webhook_mode: if common.sync_webhooks {
            DeliveryMode::Sync
        } else {
            DeliveryMode::Async
        },
        ..TossConfig::default()
    };
    config.secret_keys.extend(secret_keys);
    let fake = FakeToss::new(config.clone());
    let address = SocketAddr::new(common.host, port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e} (choose another with --port)"))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let default_auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", toss::DEFAULT_SECRET_KEY));
    println!("fake Toss Payments listening on {url}");
    println!(
        "  secret keys:   {} or any key starting with {}",
        config.secret_keys.join(", "),
        toss::DEFAULT_SECRET_KEY_PREFIX
    );
    println!("  Authorization: Basic {default_auth}");
    match &config.webhook_url {
        Some(hook) => println!(
            "  webhooks:      {hook} ({})",
            if common.sync_webhooks {
                "sync"
            } else {
                "async"
            }
        ),
        None => println!(
            "  webhooks:      none (set one with --webhook-url or PUT {url}/internal/merchant)"
        ),
    }
    println!("  controls:      {url}/internal/… (journal, clock, faults, reset)");
    println!("press Ctrl-C to stop");
    payments_fakes::serve::serve(
        listener,
        fake.router(),
        shutdown_signal(),
        Duration::from_secs(5),
    )
    .await;
    println!("stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
