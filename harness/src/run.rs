//! `harness run PATH…`: scenario files on fresh harnesses (or a running sandbox), with
//! progress and a summary, their snapshots checked, and reports for CI (`--junit`,
//! `--json`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use payments_harness::scenario::{Outcome, Scenario, ScenarioError};
use payments_harness::{Database, Harness};
use serde_json::json;

use crate::snapshots::{self, Checked};

#[derive(Debug, Clone, Args)]
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
    /// fresh harnesses, one file at a time. Its fakes are at `--iamport-url`, `--toss-url`
    /// and `--portone-url`, its keys the sandbox's, and the payments server's clock moves
    /// through its admin API at `--admin-url`.
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
    /// The admin API of `--target`, through which steps move the payments server's clock.
    #[arg(
        long,
        default_value = "http://127.0.0.1:37822/admin",
        requires = "target"
    )]
    admin_url: String,
    /// Write missing or changed snapshots (`snapshots/<file>.snap` beside each scenario)
    /// instead of failing on them; read them before committing.
    #[arg(long)]
    update_snapshots: bool,
    /// Also write a JUnit XML report to FILE: one testsuite, one testcase per scenario file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Print one JSON line per scenario and a summary line instead of progress.
    #[arg(long)]
    json: bool,
    /// Run only the scenarios whose name or file path contains NAME.
    #[arg(long, value_name = "NAME")]
    filter: Option<String>,
    /// How many scenario files run at once, each on its own fresh harness.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
}

/// Why a scenario failed.
#[derive(Debug, Clone)]
struct Failure {
    /// The step, counted from 1; `None` when the file as a whole failed.
    step: Option<usize>,
    message: String,
    /// A snapshot's difference, line by line.
    diff: Option<String>,
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Self {
        Self {
            step: e.step,
            message: e.to_string(),
            diff: None,
        }
    }
}

/// One scenario file's result.
#[derive(Debug)]
struct Report {
    file: String,
    name: Option<String>,
    result: Result<Checked, Failure>,
    duration: Duration,
    /// Its progress lines, printed when it ends (several run at once).
    log: Vec<String>,
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
    if args.target.is_some() && args.jobs > 1 {
        // Faults and clocks of one sandbox would leak from one scenario into another.
        eprintln!(
            "harness: -j runs fresh harnesses side by side; on a --target, files run one at a time"
        );
        return ExitCode::from(2);
    }
    // Loaded first, so that --filter can match names; a file that does not load is
    // reported (when its path matches), not dropped.
    let loaded: Vec<(PathBuf, Result<Scenario, ScenarioError>)> = files
        .into_iter()
        .map(|file| {
            let scenario = Scenario::load(&file);
            (file, scenario)
        })
        .filter(|(file, scenario)| match &args.filter {
            None => true,
            Some(filter) => {
                file.display().to_string().contains(filter.as_str())
                    || scenario
                        .as_ref()
                        .is_ok_and(|s| s.name.contains(filter.as_str()))
            }
        })
        .collect();
    if loaded.is_empty() {
        eprintln!(
            "harness: no scenario matches --filter {:?}",
            args.filter.as_deref().unwrap_or_default()
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("harness: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let live = args.jobs == 1 && !args.json;
    let args = Arc::new(args);
    let reports = runtime.block_on(run_all(loaded, args.clone(), live));
    let elapsed = started.elapsed();
    let failed = reports.iter().filter(|r| r.result.is_err()).count();
    let passed = reports.len() - failed;
    if args.json {
        for report in &reports {
            crate::say_json(&json_line(report));
        }
        crate::say_json(&json!({
            "type": "summary",
            "passed": passed,
            "failed": failed,
            "duration_ms": elapsed.as_millis() as u64,
        }));
    } else {
        println!(
            "\nscenarios: {passed} passed, {failed} failed ({:.1} s)",
            elapsed.as_secs_f64()
        );
    }
    if let Some(path) = &args.junit
        && let Err(message) = write_junit(path, &reports, elapsed)
    {
        eprintln!("harness: {message}");
        return ExitCode::FAILURE;
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs every file, `args.jobs` at a time; answers the reports in the files' order.
async fn run_all(
    loaded: Vec<(PathBuf, Result<Scenario, ScenarioError>)>,
    args: Arc<RunArgs>,
    live: bool,
) -> Vec<Report> {
    let permits = Arc::new(tokio::sync::Semaphore::new(usize::from(args.jobs)));
    let mut tasks = tokio::task::JoinSet::new();
    let count = loaded.len();
    for (index, (file, scenario)) in loaded.into_iter().enumerate() {
        let args = args.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let report = run_file(&file, scenario, &args, live).await;
            if !live && !args.json {
                // Printed whole, so that files running side by side do not interleave.
                println!("{}", report.log.join("\n"));
            }
            (index, report)
        });
    }
    let mut reports: Vec<Option<Report>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, report)) => reports[index] = Some(report),
            // A panic in a run is a bug of the harness; it is shown, and the run fails.
            Err(e) => eprintln!("harness: a scenario run stopped: {e}"),
        }
    }
    reports
        .into_iter()
        .enumerate()
        .map(|(index, report)| {
            report.unwrap_or_else(|| Report {
                file: format!("#{}", index + 1),
                name: None,
                result: Err(Failure {
                    step: None,
                    message: "the run stopped".into(),
                    diff: None,
                }),
                duration: Duration::ZERO,
                log: Vec::new(),
            })
        })
        .collect()
}

/// Runs one file and checks its snapshot.
async fn run_file(
    file: &Path,
    scenario: Result<Scenario, ScenarioError>,
    args: &RunArgs,
    live: bool,
) -> Report {
    let started = Instant::now();
    let shown = file.display().to_string();
    let mut log = Vec::new();
    let mut say = |line: String| {
        if live {
            println!("{line}");
        }
        log.push(line);
    };
    let name = scenario.as_ref().ok().map(|s| s.name.clone());
    let result = match scenario {
        Err(e) => Err(Failure::from(e)),
        Ok(scenario) => {
            say(format!("{shown}: {}", scenario.name));
            let outcome = match &args.target {
                Some(target) => on_target(&scenario, &shown, target, args, &mut say).await,
                None => on_fresh_harness(&scenario, &shown, args, &mut say).await,
            };
            outcome.and_then(|outcome| {
                snapshots::check(
                    &snapshots::path_of(file),
                    &scenario.name,
                    &outcome.snapshots,
                    args.update_snapshots,
                )
                .map_err(|m| Failure {
                    step: None,
                    message: format!("{shown}: {}", m.message),
                    diff: Some(m.diff),
                })
            })
        }
    };
    match &result {
        Ok(Checked::Written) => say("  ok (snapshot written)".into()),
        Ok(_) => say("  ok".into()),
        Err(failure) => {
            say(format!("  FAILED: {}", failure.message));
            if let Some(diff) = &failure.diff {
                for line in diff.lines() {
                    say(format!("    {line}"));
                }
            }
        }
    }
    Report {
        file: shown,
        name,
        result,
        duration: started.elapsed(),
        log,
    }
}

async fn on_fresh_harness(
    scenario: &Scenario,
    shown: &str,
    args: &RunArgs,
    say: &mut impl FnMut(String),
) -> Result<Outcome, Failure> {
    let database = match &args.database_url {
        Some(url) if url.starts_with("mysql:") || url.starts_with("mariadb:") => {
            Database::MariaDb(url.clone())
        }
        Some(url) => Database::Url(url.clone()),
        None => Database::Sqlite,
    };
    let harness = Harness::builder()
        .database(database)
        .pg_timeout(Duration::from_secs_f64(args.pg_timeout.max(0.1)))
        .start()
        .await
        .map_err(|e| Failure {
            step: None,
            message: format!("{shown}: the harness did not start: {e}"),
            diff: None,
        })?;
    let result = scenario
        .run(shown, &harness, |_, step| say(format!("  {step}")))
        .await
        .map_err(Failure::from);
    harness.shutdown().await;
    result
}

/// Runs a scenario on a sandbox elsewhere, with an inbox of this process.
async fn on_target(
    scenario: &Scenario,
    shown: &str,
    url: &str,
    args: &RunArgs,
    say: &mut impl FnMut(String),
) -> Result<Outcome, Failure> {
    use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
    let setup = |message: String| Failure {
        step: None,
        message: format!("{shown}: {message}"),
        diff: None,
    };
    let codec =
        payments_api::BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).map_err(|e| setup(e.to_string()))?;
    let (inbox, task) =
        payments_harness::Inbox::start(codec.clone(), payments_harness::SANDBOX_WEBHOOK_SECRET)
            .await
            .map_err(|e| setup(format!("the inbox: {e}")))?;
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
            .map_err(|e| setup(e.to_string()))?,
        inbox: &inbox,
        server: None,
        admin_url: Some(args.admin_url.trim_end_matches('/').to_owned()),
    };
    let result = scenario
        .run_on(shown, &target, |_, step| say(format!("  {step}")))
        .await
        .map_err(Failure::from);
    task.abort();
    result
}

fn json_line(report: &Report) -> serde_json::Value {
    let (status, snapshot, failure) = match &report.result {
        Ok(checked) => ("passed", Some(checked.as_str()), None),
        Err(failure) => ("failed", None, Some(failure)),
    };
    json!({
        "type": "scenario",
        "file": report.file,
        "name": report.name,
        "status": status,
        "snapshot": snapshot,
        "step": failure.and_then(|f| f.step),
        "message": failure.map(|f| f.message.as_str()),
        "diff": failure.and_then(|f| f.diff.as_deref()),
        "duration_ms": report.duration.as_millis() as u64,
    })
}

fn write_junit(path: &Path, reports: &[Report], elapsed: Duration) -> Result<(), String> {
    use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("scenarios");
    for report in reports {
        let status = match &report.result {
            Ok(_) => TestCaseStatus::success(),
            Err(failure) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                // The message names the step (`file: step 3 (name): …`) when one failed.
                let message = failure.message.clone();
                status.set_message(message.clone());
                status.set_description(match &failure.diff {
                    Some(diff) => format!("{message}\n{diff}"),
                    None => message,
                });
                status
            }
        };
        let mut case = TestCase::new(report.name.as_deref().unwrap_or(&report.file), status);
        case.set_classname(report.file.as_str());
        case.set_time(report.duration);
        suite.add_test_case(case);
    }
    suite.set_time(elapsed);
    let mut junit = Junit::new("harness run");
    junit.set_time(elapsed);
    junit.add_test_suite(suite);
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))?;
    junit
        .serialize(std::io::BufWriter::new(file))
        .map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))
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
