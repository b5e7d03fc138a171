//! `payments-server`: run the payments server, or migrate its database.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use payments_server::App;
use payments_server::config::Config;
use payments_server::db::Db;

#[derive(Debug, Parser)]
#[command(
    name = "payments-server",
    version,
    about = "The integrated payment server for I'mport and Toss Payments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the payments API until Ctrl-C or SIGTERM.
    Serve {
        /// The TOML configuration; `PAYMENTS_…` environment variables override it.
        #[arg(long, short, env = "PAYMENTS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Apply the database migrations, then exit.
    Migrate {
        #[arg(long, short, env = "PAYMENTS_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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
        Command::Serve { config } => {
            let config = Config::load(config.as_deref()).map_err(|e| e.to_string())?;
            let app = App::build(&config).await.map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            println!("payments server listening on http://{address}");
            app.serve(listener, shutdown_signal())
                .await
                .map_err(|e| e.to_string())?;
            println!("stopped");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
