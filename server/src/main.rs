//! `payments-server`: run the payments server, replace a running one with a new process,
//! or migrate its database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use payments_server::App;
use payments_server::config::Config;
use payments_server::db::Db;
use payments_server::reload;
use tokio::signal::unix::{SignalKind, signal};

/// See the dependency's note in the workspace's `Cargo.toml`; the `at` bench measures what
/// it saves.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "payments-server",
    version,
    about = "The integrated payment server for I'mport and Toss Payments"
)]
struct Cli {
    /// How log lines are written to standard error: `text` for people, `json` (one object
    /// a line, with the request's id and the span fields) for log collectors.
    #[arg(long, global = true, value_enum, env = "PAYMENTS_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the payments API until Ctrl-C or SIGTERM; on SIGHUP or SIGUSR2, hand over to a
    /// new process of the same program (see `reload`).
    Serve {
        /// The TOML configuration; `PAYMENTS_…` environment variables override it.
        #[arg(long, short, env = "PAYMENTS_CONFIG")]
        config: Option<PathBuf>,
        /// Where to write the process id (replaced by the new process on a reload; removed
        /// on exit).
        #[arg(long, env = "PAYMENTS_PID_FILE")]
        pid_file: Option<PathBuf>,
        /// Bind with `SO_REUSEPORT`, so that several instances can listen on one port.
        #[arg(long, env = "PAYMENTS_REUSE_PORT")]
        reuse_port: bool,
        /// The program a reload starts; by default the path this one was started from, so
        /// replacing the file there and reloading runs the new binary.
        #[arg(long, env = "PAYMENTS_RELOAD_BINARY")]
        binary: Option<PathBuf>,
        /// How long the new process may take to be ready before the reload is given up.
        #[arg(long, env = "PAYMENTS_RELOAD_TIMEOUT_SECONDS", default_value_t = 60)]
        reload_timeout_seconds: u64,
        /// After a reload, how long clients get to close their connections (each answer
        /// asks them to) before the ones left idle are closed.
        #[arg(long, env = "PAYMENTS_DRAIN_SECONDS", default_value_t = 10)]
        drain_seconds: u64,
    },
    /// Replace the running server (found by its pid file) with a new process of the same
    /// program, without refusing a request: sends it SIGHUP and waits for the outcome.
    Reload {
        #[arg(long, env = "PAYMENTS_PID_FILE")]
        pid_file: PathBuf,
        /// How long to wait for the outcome.
        #[arg(long, default_value_t = 90)]
        timeout_seconds: u64,
    },
    /// Apply the database migrations, then exit.
    Migrate {
        #[arg(long, short, env = "PAYMENTS_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // The current span's fields at the top level of each line, and the spans above it
        // (`request` with its id, then `pg` or `delivery`) as a list.
        LogFormat::Json => logs.json().flatten_event(true).with_span_list(true).init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("payments-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("payments-server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Migrate { config } => {
            let config = Config::load(config.as_deref()).map_err(|e| e.to_string())?;
            let db = Db::connect(config.database_url.expose())
                .await
                .map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(())
        }
        Command::Reload {
            pid_file,
            timeout_seconds,
        } => request_reload(&pid_file, Duration::from_secs(timeout_seconds)).await,
        Command::Serve {
            config,
            pid_file,
            reuse_port,
            binary,
            reload_timeout_seconds,
            drain_seconds,
        } => {
            let started = start(config.as_deref(), reuse_port).await;
            let (app, listener) = match started {
                Ok(started) => started,
                Err(why) => {
                    // The process this one was to replace keeps serving, and says why.
                    reload::notify(Err(&why));
                    return Err(why);
                }
            };
            let binary = match binary {
                Some(binary) => binary,
                None => std::env::current_exe()
                    .map_err(|e| format!("cannot tell which program this is: {e}"))?,
            };
            let successor = reload::Successor {
                binary,
                args: std::env::args_os().skip(1).collect(),
                timeout: Duration::from_secs(reload_timeout_seconds),
            };
            // Kept to pass on: the server's own copy is closed when it stops accepting.
            let spare = listener
                .try_clone()
                .map_err(|e| format!("cannot keep the listening socket: {e}"))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|e| format!("cannot listen on {address}: {e}"))?;
            // The signals are handled before anyone learns of this process: a SIGHUP right
            // after the pid file names it must reload it, not end it.
            let (ended_tx, ended) = tokio::sync::oneshot::channel();
            let drain = Duration::from_secs(drain_seconds);
            let signals = until_stopped(successor, spare, pid_file.clone(), drain, ended_tx)?;
            println!("payments server listening on http://{address}");
            // Named in the pid file before the old process hears it is ready, so whoever
            // learns of the reload finds the new process there.
            if let Some(pid_file) = &pid_file
                && let Err(e) = reload::write_pid_file(pid_file)
            {
                let why = format!("cannot write {}: {e}", pid_file.display());
                reload::notify(Err(&why));
                return Err(why);
            }
            reload::notify(Ok(()));
            let served = app.serve_draining(listener, signals).await;
            if let Some(pid_file) = &pid_file {
                reload::remove_pid_file(pid_file);
            }
            served.map_err(|e| e.to_string())?;
            match ended.await {
                Ok(Some(pid)) => println!("stopped; process {pid} serves now"),
                _ => println!("stopped"),
            }
            Ok(())
        }
    }
}

/// The configuration, the server built from it, and its listening socket.
async fn start(
    config: Option<&Path>,
    reuse_port: bool,
) -> Result<(App, std::net::TcpListener), String> {
    let config = Config::load(config).map_err(|e| e.to_string())?;
    let app = App::build(&config).await.map_err(|e| e.to_string())?;
    let listener = reload::listener(config.listen, reuse_port)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    Ok((app, listener))
}

/// Resolves with the drain period once the server is to stop: at once on Ctrl-C or
/// SIGTERM; after a new process took over on SIGHUP or SIGUSR2. A reload that fails is
/// logged, written to the pid file's `.reload` file, and the server goes on. `ended` learns
/// the new process's id, if one took over.
fn until_stopped(
    successor: reload::Successor,
    listener: std::net::TcpListener,
    pid_file: Option<PathBuf>,
    drain: Duration,
    ended: tokio::sync::oneshot::Sender<Option<u32>>,
) -> Result<impl Future<Output = Duration> + Send + 'static, String> {
    let listen = |kind: SignalKind| signal(kind).map_err(|e| format!("cannot handle signals: {e}"));
    let mut terminate = listen(SignalKind::terminate())?;
    let mut hangup = listen(SignalKind::hangup())?;
    let mut user2 = listen(SignalKind::user_defined2())?;
    Ok(async move {
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = terminate.recv() => break,
                _ = hangup.recv() => {}
                _ = user2.recv() => {}
            }
            tracing::info!(binary = %successor.binary.display(), "reloading: starting a new process");
            let outcome = successor.start(&listener).await;
            // The new process may have named itself before it failed: this one serves.
            if let (Err(_), Some(pid_file)) = (&outcome, &pid_file)
                && let Err(error) = reload::write_pid_file(pid_file)
            {
                tracing::warn!(%error, "cannot write the pid file");
            }
            let report = match &outcome {
                Ok(pid) => format!("reloaded {pid}\n"),
                Err(why) => format!("failed: {why}\n"),
            };
            if let Some(pid_file) = &pid_file
                && let Err(error) =
                    reload::write_atomically(&reload::outcome_file(pid_file), &report)
            {
                tracing::warn!(%error, "cannot write the reload's outcome");
            }
            match outcome {
                Ok(pid) => {
                    tracing::info!(pid, "reloaded: the new process serves; draining");
                    let _ = ended.send(Some(pid));
                    return drain;
                }
                Err(why) => {
                    tracing::error!(%why, "the reload failed; this process goes on serving");
                }
            }
        }
        let _ = ended.send(None);
        Duration::ZERO
    })
}

/// `payments-server reload`: signals the process the pid file names and waits for the
/// outcome it writes beside the pid file.
async fn request_reload(pid_file: &Path, timeout: Duration) -> Result<(), String> {
    let text = std::fs::read_to_string(pid_file)
        .map_err(|e| format!("cannot read {}: {e}", pid_file.display()))?;
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{} holds no process id", pid_file.display()))?;
    let outcome_file = reload::outcome_file(pid_file);
    let _ = std::fs::remove_file(&outcome_file);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .map_err(|e| format!("cannot signal process {pid}: {e}"))?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(outcome) = std::fs::read_to_string(&outcome_file) {
            let outcome = outcome.trim();
            return match outcome.strip_prefix("reloaded ") {
                Some(new) => {
                    println!("reloaded: process {new} serves now (was {pid})");
                    Ok(())
                }
                None => Err(format!(
                    "process {pid} goes on serving; the reload {outcome}"
                )),
            };
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "no outcome from process {pid} within {} s; see its log",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
