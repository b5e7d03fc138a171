//! `harness fake …`: one fake PG on a port, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use base64::Engine as _;
use clap::{Args, Subcommand};
use payments_fakes::Fake as _;
use payments_fakes::compat::Compat;
use payments_fakes::delivery::DeliveryMode;
use payments_fakes::iamport::{self, Credentials, FakeIamport, IamportConfig, WebhookFormat};
use payments_fakes::portone::{self, FakePortOne, PortOneConfig};
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
    /// The fake I'mport (PortOne V1 REST API).
    Iamport {
        /// The port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = iamport::DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        common: Common,
        /// Accept this key pair too (repeatable), as `IMP_KEY:IMP_SECRET`. The default pair
        /// `test_imp_key` / `test_imp_secret` is always accepted.
        #[arg(long = "credentials", value_name = "KEY:SECRET", value_parser = parse_credentials)]
        credentials: Vec<Credentials>,
        /// Send webhooks form-encoded instead of as JSON.
        #[arg(long)]
        form_webhooks: bool,
        /// Retry webhooks after a network error or a 5xx answer (5 times, a minute apart),
        /// as PortOne does for merchants who ask; a merchant's own setting wins.
        #[arg(long)]
        webhook_retries: bool,
    },
    /// The fake PortOne V2 REST API.
    Portone {
        /// The port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = portone::DEFAULT_PORT)]
        port: u16,
        #[command(flatten)]
        common: Common,
        /// Accept this API secret too (repeatable), each a store of its own. The default
        /// secret and any secret starting with `test_portone_` are always accepted.
        #[arg(long = "api-secret", value_name = "SECRET")]
        api_secrets: Vec<String>,
        /// Sign webhooks with this `whsec_` secret instead of the default one.
        #[arg(long, value_name = "WHSEC")]
        webhook_secret: Option<String>,
        /// Print one JSON line for scripts (URL, API secret, store id, webhook secret)
        /// instead of the banner.
        #[arg(long)]
        json: bool,
    },
}

fn parse_credentials(text: &str) -> Result<Credentials, String> {
    match text.split_once(':') {
        Some((key, secret)) if !key.is_empty() && !secret.is_empty() => Ok(Credentials {
            imp_key: key.to_owned(),
            imp_secret: secret.to_owned(),
        }),
        _ => Err(format!("expected IMP_KEY:IMP_SECRET, got {text:?}")),
    }
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
    /// `original` also accepts what the original fakes accepted and the real API refuses
    /// (expired cards, 13- to 16-digit card numbers, a Toss billing charge for another
    /// customer); `real` (the default) accepts what the real API accepts.
    #[arg(long, value_name = "MODE", default_value_t = Compat::Real)]
    compat: Compat,
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
    // Listening for signals before the banner: a script that stops the fake as soon as it
    // reads the banner must get a clean stop.
    let stop = shutdown_signal();
    match command {
        FakeCommand::Toss {
            port,
            common,
            secret_keys,
        } => {
            let mut config = TossConfig {
                webhook_url: common.webhook_url()?,
                webhook_mode: common.mode(),
                compat: common.compat,
                ..TossConfig::default()
            };
            config.secret_keys.extend(secret_keys);
            let fake = FakeToss::new(config.clone());
            let (listener, url) = common.bind(port).await?;
            let default_auth = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:", toss::DEFAULT_SECRET_KEY));
            println!("fake Toss Payments listening on {url}");
            println!(
                "  secret keys:   {} or any key starting with {}",
                config.secret_keys.join(", "),
                toss::DEFAULT_SECRET_KEY_PREFIX
            );
            println!("  Authorization: Basic {default_auth}");
            println!(
                "  page script:   <script src=\"{url}/v1/payment\"></script> (v1) or {url}/v2/standard (v2), client key {}",
                toss::checkout::client_key(toss::DEFAULT_SECRET_KEY).unwrap_or_default()
            );
            common.print_webhooks(&url, "PUT {url}/internal/merchant {\"webhookUrl\": …}");
            run_until_stopped(listener, fake.router(), &url, stop).await;
        }
        FakeCommand::Iamport {
            port,
            common,
            credentials,
            form_webhooks,
            webhook_retries,
        } => {
            let mut config = IamportConfig {
                webhook_retries,
                webhook_url: common.webhook_url()?,
                webhook_mode: common.mode(),
                compat: common.compat,
                webhook_format: if form_webhooks {
                    WebhookFormat::Form
                } else {
                    WebhookFormat::Json
                },
                ..IamportConfig::default()
            };
            config.credentials.extend(credentials);
            let fake = FakeIamport::new(config.clone());
            let (listener, url) = common.bind(port).await?;
            println!("fake I'mport listening on {url}");
            let pairs: Vec<String> = config
                .credentials
                .iter()
                .map(|c| format!("{} / {}", c.imp_key, c.imp_secret))
                .collect();
            println!("  key pairs:     {}", pairs.join(", "));
            println!(
                "  token:         POST {url}/users/getToken {{\"imp_key\": \"{}\", \"imp_secret\": \"{}\"}}",
                iamport::DEFAULT_IMP_KEY,
                iamport::DEFAULT_IMP_SECRET
            );
            println!(
                "  page script:   <script src=\"{url}/js/iamport.payment-1.2.0.js\"></script>, IMP.init(\"{}\")",
                iamport::checkout::merchant_code(iamport::DEFAULT_IMP_KEY)
            );
            common.print_webhooks(&url, "PUT {url}/internal/merchant {\"webhook_url\": …}");
            run_until_stopped(listener, fake.router(), &url, stop).await;
        }
        FakeCommand::Portone {
            port,
            common,
            api_secrets,
            webhook_secret,
            json,
        } => {
            let mut config = PortOneConfig {
                webhook_url: common.webhook_url()?,
                webhook_mode: common.mode(),
                ..PortOneConfig::default()
            };
            if let Some(secret) = webhook_secret {
                if payments_api::signature::secret_key(&secret).is_err()
                    || !secret.starts_with(payments_api::signature::SECRET_PREFIX)
                {
                    return Err("--webhook-secret must be whsec_ followed by Base64".to_owned());
                }
                config.webhook_secret = secret;
            }
            config.api_secrets.extend(api_secrets);
            let fake = FakePortOne::new(config.clone());
            let (listener, url) = common.bind(port).await?;
            if json {
                let line = serde_json::json!({
                    "url": url,
                    "api_secret": portone::DEFAULT_API_SECRET,
                    "store_id": portone::store_id(portone::DEFAULT_API_SECRET),
                    "webhook_secret": config.webhook_secret,
                });
                println!("{line}");
                payments_fakes::serve::serve(listener, fake.router(), stop, Duration::from_secs(5))
                    .await;
                return Ok(());
            }
            println!("fake PortOne V2 listening on {url}");
            let stores: Vec<String> = config
                .api_secrets
                .iter()
                .map(|s| format!("{s} (store {})", portone::store_id(s)))
                .collect();
            println!("  API secrets:   {}", stores.join(", "));
            println!(
                "                or any secret starting with {}",
                portone::DEFAULT_API_SECRET_PREFIX
            );
            println!("  Authorization: PortOne {}", portone::DEFAULT_API_SECRET);
            println!("  webhook secret: {}", config.webhook_secret);
            println!(
                "  page script:   <script src=\"{url}/v2/browser-sdk.js\"></script>, storeId {}, channelKey {}",
                portone::store_id(portone::DEFAULT_API_SECRET),
                portone::CHANNEL_KEY
            );
            common.print_webhooks(&url, "PUT {url}/internal/merchant {\"webhookUrl\": …}");
            run_until_stopped(listener, fake.router(), &url, stop).await;
        }
    }
    println!("stopped");
    Ok(())
}

impl Common {
    fn webhook_url(&self) -> Result<Option<String>, String> {
        match &self.webhook_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                Err(format!("--webhook-url must be an http(s) URL, got {url:?}"))
            }
            other => Ok(other.clone()),
        }
    }

    fn mode(&self) -> DeliveryMode {
        if self.sync_webhooks {
            DeliveryMode::Sync
        } else {
            DeliveryMode::Async
        }
    }

    async fn bind(&self, port: u16) -> Result<(tokio::net::TcpListener, String), String> {
        let address = SocketAddr::new(self.host, port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e} (choose another with --port)"))?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        Ok((listener, url))
    }

    fn print_webhooks(&self, url: &str, how: &str) {
        match &self.webhook_url {
            Some(hook) => println!(
                "  webhooks:      {hook} ({})",
                if self.sync_webhooks { "sync" } else { "async" }
            ),
            None => println!(
                "  webhooks:      none (set one with --webhook-url or {})",
                how.replace("{url}", url)
            ),
        }
    }
}

async fn run_until_stopped(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    url: &str,
    stop: impl Future<Output = ()>,
) {
    println!("  controls:      {url}/internal/… (journal, clock, faults, reset)");
    println!("press Ctrl-C to stop");
    payments_fakes::serve::serve(listener, router, stop, Duration::from_secs(5)).await;
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when
/// the future is first awaited, so a signal that comes in between is not lost.
#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(interrupt) => {}
            () = wait(terminate) => {}
        }
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
