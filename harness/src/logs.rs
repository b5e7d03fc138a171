//! `harness logs`: what happens in a running sandbox, live: every request a fake gets,
//! every webhook a fake sends, every delivery the inbox gets, one line each (or one JSON
//! line with `--json`), until Ctrl-C.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use crate::trigger::{AdminArgs, Sandbox};

/// How often the journals are read: they have no notification over HTTP.
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    sandbox: AdminArgs,
    /// Also print what happened before (what the fakes and the inbox still remember).
    #[arg(long)]
    past: bool,
}

/// Prints a line; a closed standard output (a reader that went away) ends the command.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).is_ok()
    }};
}

pub fn run(args: LogsArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("harness: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Signals are listened for from the start, inside the runtime.
    let stop = {
        let _inside = runtime.enter();
        crate::fake::shutdown_signal()
    };
    match runtime.block_on(async {
        tokio::select! {
            () = stop => Ok(()),
            result = follow(&args) => result,
        }
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("harness: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Where each source was read up to.
#[derive(Default)]
struct Seen {
    inbox: u64,
    journals: BTreeMap<String, u64>,
}

async fn follow(args: &LogsArgs) -> Result<(), String> {
    let sandbox = Sandbox::discover(&args.sandbox.admin).await?;
    let json = args.sandbox.json;
    let journals: Vec<(String, String)> = sandbox.doc["fakes"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, fake)| {
            let url = fake["controls"]["journal"]["url"].as_str()?;
            Some((name.clone(), url.to_owned()))
        })
        .collect();
    let mut seen = Seen::default();
    if !args.past {
        // Only what happens from now on: start after what is there.
        seen.inbox = get(&sandbox, &format!("{}/inbox", sandbox.admin)).await?["last_seq"]
            .as_u64()
            .unwrap_or_default();
        for (name, url) in &journals {
            let journal = get(&sandbox, &format!("{url}?limit=0")).await?;
            seen.journals.insert(
                name.clone(),
                journal["last_seq"].as_u64().unwrap_or_default(),
            );
        }
    }
    eprintln!(
        "harness logs: following the sandbox of {} (Ctrl-C stops)",
        sandbox.admin
    );
    loop {
        for (name, url) in &journals {
            let after = seen.journals.get(name).copied().unwrap_or_default();
            let journal = get(&sandbox, &format!("{url}?after={after}")).await?;
            let mut lines = Vec::new();
            for request in journal["requests"].as_array().into_iter().flatten() {
                lines.push((request["seq"].as_u64(), request_line(name, request, json)));
            }
            for delivery in journal["deliveries"].as_array().into_iter().flatten() {
                lines.push((delivery["seq"].as_u64(), webhook_line(name, delivery, json)));
            }
            // One journal's kinds share one sequence: print them in the order they happened.
            lines.sort_by_key(|(seq, _)| *seq);
            for (_, line) in lines {
                if !say!("{line}") {
                    return Ok(());
                }
            }
            if let Some(last) = journal["last_seq"].as_u64() {
                seen.journals.insert(name.clone(), last.max(after));
            }
        }
        let inbox = get(
            &sandbox,
            &format!("{}/inbox?after={}", sandbox.admin, seen.inbox),
        )
        .await?;
        for delivery in inbox["deliveries"].as_array().into_iter().flatten() {
            if let Some(seq) = delivery["seq"].as_u64() {
                seen.inbox = seen.inbox.max(seq);
            }
            if !say!("{}", inbox_line(delivery, json)) {
                return Ok(());
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn get(sandbox: &Sandbox, url: &str) -> Result<Value, String> {
    let answer = sandbox
        .http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("the sandbox stopped answering ({url}: {e})"))?;
    if !answer.status().is_success() {
        return Err(format!("{url} answered {}", answer.status()));
    }
    answer
        .json()
        .await
        .map_err(|e| format!("{url} answered something that is not JSON: {e}"))
}

fn tagged(kind: &str, fake: Option<&str>, record: &Value) -> String {
    let mut line = record.clone();
    line["type"] = json!(kind);
    if let Some(fake) = fake {
        line["fake"] = json!(fake);
    }
    line.to_string()
}

fn request_line(fake: &str, request: &Value, json: bool) -> String {
    if json {
        return tagged("fake_request", Some(fake), request);
    }
    let fault = request["fault"]
        .as_str()
        .map_or(String::new(), |f| format!(" (fault: {f})"));
    format!(
        "{fake}: {} {} {}{fault}",
        text(&request["method"]),
        text(&request["path"]),
        request["status"]
    )
}

fn webhook_line(fake: &str, delivery: &Value, json: bool) -> String {
    if json {
        return tagged("fake_webhook", Some(fake), delivery);
    }
    let outcome = match (delivery["status"].as_u64(), delivery["error"].as_str()) {
        (Some(status), _) => format!("answered {status}"),
        (None, Some(error)) => format!("failed: {error}"),
        (None, None) => "no answer".to_owned(),
    };
    format!(
        "{fake}: webhook {} about {} (attempt {}) to {}: {outcome}",
        text(&delivery["event"]),
        text(&delivery["subject"]),
        delivery["attempt"],
        text(&delivery["url"])
    )
}

fn inbox_line(delivery: &Value, json: bool) -> String {
    if json {
        return tagged("inbox", None, delivery);
    }
    let verdict = match (
        delivery["signature_valid"].as_bool(),
        delivery["accepted"].as_bool(),
    ) {
        (Some(false), _) => "bad signature, refused".to_owned(),
        (_, Some(true)) => format!("accepted ({})", delivery["answered"]),
        _ => format!("refused ({})", delivery["answered"]),
    };
    let event = &delivery["event"];
    if event.is_null() {
        return format!(
            "inbox: delivery {} that is not an event; {verdict}",
            text(&delivery["id"])
        );
    }
    let source = &event["source"];
    let current = &event["current"];
    let paid = current["paid_at"]
        .as_str()
        .map_or("unpaid".to_owned(), |t| format!("paid at {t}"));
    let refund = current["refund"]
        .as_f64()
        .map_or(String::new(), |amount| format!(", {amount} refunded"));
    format!(
        "inbox: event {} for {}/{}/{}: {paid}{refund}; {verdict}",
        text(&delivery["id"]),
        text(&source["schema"]),
        text(&source["table"]),
        text(&source["id"])
    )
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}
