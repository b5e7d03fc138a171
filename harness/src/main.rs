//! `harness`: the command line of the payments sandbox.

use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::{BodyCodec, Scheme};

/// The fakes (and, for `serve`, the server) run in this process; see the dependency's note
/// in the workspace's `Cargo.toml`. The fakes' benches use it too, to measure what runs here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod fake;
mod logs;
mod run;
mod serve;
mod snapshots;
mod trigger;

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    version,
    about = "The payments sandbox: the payments server and fake PGs, wired together"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the sandbox: the payments server and both fake PGs wired together, until Ctrl-C.
    Serve(serve::ServeArgs),
    /// Run scenario files (or folders of them), each on a fresh harness.
    Run(run::RunArgs),
    /// Act as a customer or a PG against a running sandbox (`harness serve`): a card
    /// payment, a virtual account and its deposit, a billing key, a cancel, a failure, a
    /// clock move. Prints one line of what happened (`--json`: one JSON object).
    Trigger(trigger::TriggerArgs),
    /// Follow a running sandbox live: every request a fake gets, every webhook a fake
    /// sends, every delivery the inbox gets, one line each, until Ctrl-C.
    Logs(logs::LogsArgs),
    /// Run one fake PG alone, until Ctrl-C.
    Fake {
        #[command(subcommand)]
        pg: fake::FakeCommand,
    },
    /// Check that a sandbox's payments server answers `/monitors/health` (exit status 0 if
    /// it does): the image's health check.
    Health {
        /// The payments server's port on 127.0.0.1.
        #[arg(long, env = "PAYMENTS_SANDBOX_PAYMENTS_PORT", default_value_t = 37821)]
        port: u16,
    },
    /// Encrypt a JSON body the way payments-API clients send it (prints the Base64 text).
    ///
    /// Handy with curl: `curl -H 'Content-Type: text/plain' --data "$(harness encrypt '{…}')"`.
    Encrypt {
        /// The JSON document; read from standard input when absent.
        json: Option<String>,
        #[command(flatten)]
        keys: Keys,
    },
    /// Decrypt a payments-API body or relayed webhook event (prints the JSON, indented).
    Decrypt {
        /// The Base64 text; read from standard input when absent.
        text: Option<String>,
        /// Print the plaintext exactly as it was, without re-indenting it.
        #[arg(long)]
        raw: bool,
        #[command(flatten)]
        keys: Keys,
    },
}

#[derive(Debug, Args)]
struct Keys {
    /// The body encryption key: 16, 24 or 32 characters (AES-128/192/256).
    /// Defaults to the sandbox's public key.
    #[arg(long, env = "PAYMENTS_ENCRYPTION_KEY", hide_env_values = true, default_value = SANDBOX_KEY, hide_default_value = true)]
    key: String,
    /// The body encryption IV: 16 characters. Defaults to the sandbox's public IV.
    #[arg(long, env = "PAYMENTS_ENCRYPTION_IV", hide_env_values = true, default_value = SANDBOX_IV, hide_default_value = true)]
    iv: String,
    /// The authenticated format (AES-256-GCM) that a request asks for with the header
    /// `x-payments-encryption: aes-256-gcm`, instead of the original AES-CBC.
    #[arg(long)]
    gcm: bool,
}

impl Keys {
    fn codec(&self) -> Result<BodyCodec, String> {
        BodyCodec::new(&self.key, &self.iv).map_err(|e| e.to_string())
    }

    fn scheme(&self) -> Scheme {
        if self.gcm {
            Scheme::Aes256Gcm
        } else {
            Scheme::LegacyCbc
        }
    }
}

fn main() -> ExitCode {
    // Logs of the server and the fakes go to standard error: warnings only, unless RUST_LOG
    // asks for more (`RUST_LOG=info`; `RUST_LOG=info,tower_http=debug` for every request).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_ansi(io::stderr().is_terminal())
        .with_writer(io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fake { pg } => return fake::run(pg),
        Command::Serve(args) => return serve::run(args),
        Command::Run(args) => return run::run(args),
        Command::Logs(args) => return logs::run(args),
        Command::Trigger(args) => trigger::run(args),
        Command::Health { port } => health(port),
        Command::Encrypt { json, keys } => encrypt(json, &keys),
        Command::Decrypt { text, raw, keys } => decrypt(text, raw, &keys),
    };
    match result.and_then(|out| write_line(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("harness: {message}");
            ExitCode::FAILURE
        }
    }
}

fn health(port: u16) -> Result<String, String> {
    let url = format!("http://127.0.0.1:{port}/monitors/health");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let status = runtime.block_on(async {
        payments_fakes::tls::install_provider();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url} does not answer: {e}"))?;
        Ok::<_, String>(response.status())
    })?;
    if status.is_success() {
        Ok(format!("{url}: {status}"))
    } else {
        Err(format!("{url} answered {status}"))
    }
}

fn encrypt(json: Option<String>, keys: &Keys) -> Result<String, String> {
    let codec = keys.codec()?;
    let input = argument_or_stdin(json)?;
    // Parse first: a body that is not JSON would only fail later, at the server.
    let value: serde_json::Value =
        serde_json::from_str(&input).map_err(|e| format!("the input is not JSON: {e}"))?;
    codec
        .encrypt_json_with(keys.scheme(), &value)
        .map_err(|e| e.to_string())
}

fn decrypt(text: Option<String>, raw: bool, keys: &Keys) -> Result<String, String> {
    let codec = keys.codec()?;
    let input = argument_or_stdin(text)?;
    let plaintext = codec
        .decrypt_with(keys.scheme(), &input)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| "the decrypted body is not UTF-8 text".to_owned())
        })?;
    if raw {
        return Ok(plaintext);
    }
    let value: serde_json::Value = serde_json::from_str(&plaintext)
        .map_err(|e| format!("the decrypted body is not JSON ({e}); use --raw to see it"))?;
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

fn argument_or_stdin(argument: Option<String>) -> Result<String, String> {
    match argument {
        Some(text) => Ok(text),
        None => {
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(text)
        }
    }
}

/// Prints one JSON line; a closed standard output (a script that stopped reading) is not
/// an error worth more than stopping.
fn say_json(value: &serde_json::Value) {
    let _ = writeln!(io::stdout().lock(), "{value}");
}

fn write_line(text: &str) -> Result<(), String> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| format!("cannot write the output: {e}"))
}
