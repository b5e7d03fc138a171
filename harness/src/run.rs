//! `harness run PATH…`: scenario files on fresh harnesses, with progress and a summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use payments_harness::scenario::Scenario;
use payments_harness::{Database, Harness};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, or folders whose `*.yaml` files to run.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The server's database for each run (a fresh SQLite file when absent; a MariaDB
    /// server URL makes a fresh database on it per scenario).
    #[arg(long, env = "PAYMENTS_TEST_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// How long the server waits for a PG, in seconds.
    #[arg(long, default_value_t = 2.0)]
    pg_timeout: f64,
    /// Run on the sandbox whose payments server is at this URL (`harness serve`) instead of
    /// fresh harnesses. Its fakes are at `--iamport-url`, `--toss-url` and `--portone-url`,
    /// its keys the sandbox's; steps that move the payments server's clock cannot run there.
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// The fake I'mport of `--target`.
    #[arg(long, default_value = "http://127.0.0.1:10851", requires = "target")]
    iamport_url: String,
    /// The fake Toss of `--target`.
    #[arg(long, default_value = "http://127.0.0.1:30771", requires = "target")]
    toss_url: String,
    /// The fake PortOne V2 of `--target`.
    #[arg(long, default_value = "http://127.0.0.1:30772", requires = "target")]
    portone_url: String,
}

pub fn run(args: RunArgs) -> ExitCode {
    let files = match collect(&args.paths) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            eprintln!("harness: no scenario files (*.yaml) in {:?}", args.paths);
            return ExitCode::from(2);
        }
        Err(message) => {
            eprintln!("harness: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("harness: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let database = match &args.database_url {
        Some(url) if url.starts_with("mysql:") || url.starts_with("mariadb:") => {
            Database::MariaDb(url.clone())
        }
        Some(url) => Database::Url(url.clone()),
        None => Database::Sqlite,
    };
    let timeout = Duration::from_secs_f64(args.pg_timeout.max(0.1));
    let started = Instant::now();
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let shown = file.display().to_string();
        let outcome = runtime.block_on(async {
            let scenario = Scenario::load(file).map_err(|e| e.to_string())?;
            println!("{shown}: {}", scenario.name);
            if let Some(target) = &args.target {
                return on_target(&scenario, &shown, target, &args).await;
            }
            let harness = Harness::builder()
                .database(database.clone())
                .pg_timeout(timeout)
                .start()
                .await
                .map_err(|e| format!("{shown}: the harness did not start: {e}"))?;
            let result = scenario
                .run(&shown, &harness, |_, step| println!("  {step}"))
                .await
                .map_err(|e| e.to_string());
            harness.shutdown().await;
            result.map(drop)
        });
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("  ok");
            }
            Err(message) => {
                failed += 1;
                println!("  FAILED: {message}");
            }
        }
    }
    println!(
        "\nscenarios: {passed} passed, {failed} failed ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs a scenario on a sandbox elsewhere, with an inbox of this process.
async fn on_target(
    scenario: &Scenario,
    shown: &str,
    url: &str,
    args: &RunArgs,
) -> Result<(), String> {
    use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
    let codec = payments_api::BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).map_err(|e| e.to_string())?;
    let (inbox, task) =
        payments_harness::Inbox::start(codec.clone(), payments_harness::SANDBOX_WEBHOOK_SECRET)
            .await
            .map_err(|e| format!("the inbox: {e}"))?;
    payments_fakes::tls::install_provider();
    let target = payments_harness::scenario::Target {
        payments_url: url.trim_end_matches('/').to_owned(),
        iamport_url: args.iamport_url.trim_end_matches('/').to_owned(),
        toss_url: args.toss_url.trim_end_matches('/').to_owned(),
        portone_url: args.portone_url.trim_end_matches('/').to_owned(),
        codec,
        imp_key: payments_fakes::iamport::DEFAULT_IMP_KEY.to_owned(),
        imp_secret: payments_fakes::iamport::DEFAULT_IMP_SECRET.to_owned(),
        toss_secret_key: payments_harness::TOSS_SECRET_KEY.to_owned(),
        portone_api_secret: payments_harness::PORTONE_API_SECRET.to_owned(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?,
        inbox: &inbox,
        server: None,
    };
    let result = scenario
        .run_on(shown, &target, |_, step| println!("  {step}"))
        .await
        .map(drop)
        .map_err(|e| e.to_string());
    task.abort();
    result
}

fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| is_yaml(p))
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or folder", path.display()));
        }
    }
    Ok(files)
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}
