//! `harness trigger`, `harness logs` and `serve --plain-json`, as processes against a live
//! `harness serve`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn harness() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    for name in [
        "PAYMENTS_DATABASE_URL",
        "PAYMENTS_SANDBOX_ADMIN_URL",
        "PAYMENTS_SANDBOX_JSON",
        "PAYMENTS_SANDBOX_PLAIN_JSON",
        "PAYMENTS_SANDBOX_KEYS_FILE",
    ] {
        command.env_remove(name);
    }
    command
}

/// A running process and the lines it prints on one of its outputs.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(mut command: Command, stderr: bool) -> Self {
        command.stdin(Stdio::null());
        if stderr {
            command.stderr(Stdio::piped()).stdout(Stdio::piped());
        } else {
            command.stdout(Stdio::piped());
        }
        let mut child = command.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let mut readers: Vec<Box<dyn std::io::Read + Send>> =
            vec![Box::new(child.stdout.take().unwrap())];
        if stderr {
            readers.push(Box::new(child.stderr.take().unwrap()));
        }
        for reader in readers {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self { child, lines }
    }

    /// The next line for which `pick` holds, skipping others.
    fn line_where(&self, pick: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("the awaited line came");
            if pick(&line) {
                return line;
            }
        }
    }

    /// The first line for which each pick holds, whatever their order.
    fn lines_where<const N: usize>(&self, picks: [&dyn Fn(&str) -> bool; N]) -> [String; N] {
        let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
        while found.iter().any(Option::is_none) {
            let line = self.line_where(|_| true);
            for (pick, slot) in picks.iter().zip(found.iter_mut()) {
                if slot.is_none() && pick(&line) {
                    *slot = Some(line.clone());
                }
            }
        }
        found.map(Option::unwrap_or_default)
    }

    fn interrupt(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `harness serve --json` on free ports; answers it and its discovery document.
fn sandbox(extra: &[&str]) -> (Running, Value) {
    let mut command = harness();
    command.args(["serve", "--json", "--pg-timeout", "2"]);
    for port in [
        "--payments-port",
        "--iamport-port",
        "--toss-port",
        "--portone-port",
        "--inbox-port",
    ] {
        command.args([port, "0"]);
    }
    command.args(extra);
    let running = Running::start(command, false);
    let doc: Value = serde_json::from_str(&running.line_where(|_| true)).unwrap();
    (running, doc)
}

fn trigger(admin: &str, args: &[&str]) -> Output {
    harness()
        .args(["trigger", "--admin", admin])
        .args(args)
        .output()
        .unwrap()
}

/// The one line a successful trigger prints.
fn line(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    text.trim_end().to_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&line(out)).unwrap()
}

#[test]
fn without_a_sandbox_triggers_and_logs_fail_clearly() {
    // Nothing listens on the discard port.
    for args in [
        vec!["trigger", "--admin", "http://127.0.0.1:9", "card"],
        vec!["logs", "--admin", "http://127.0.0.1:9"],
    ] {
        let out = harness().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no sandbox answers at http://127.0.0.1:9/admin"),
            "{stderr}"
        );
        assert!(stderr.contains("harness serve"), "{stderr}");
    }
    let out = harness()
        .args(["trigger", "clock", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a duration"));
}

#[test]
fn each_trigger_acts_on_a_live_sandbox_and_logs_follow_it() {
    let (_sandbox, doc) = sandbox(&[]);
    let admin = doc["admin"]["url"].as_str().unwrap().to_owned();
    // Without `/admin`, as the default is written.
    let base = admin.trim_end_matches("/admin");
    let logs = Running::start(
        {
            let mut command = harness();
            command.args(["logs", "--json", "--admin", base]);
            command
        },
        true,
    );
    logs.line_where(|l| l.starts_with("harness logs: following"));
    let human = Running::start(
        {
            let mut command = harness();
            command.args(["logs", "--admin", &admin]);
            command
        },
        true,
    );
    human.line_where(|l| l.starts_with("harness logs: following"));

    // Card payments at each PG, stored at the server.
    let toss = line(&trigger(
        &admin,
        &["card", "--pg", "toss", "--amount", "15000"],
    ));
    assert!(toss.starts_with("toss card payment "), "{toss}");
    assert!(toss.contains(": 15000 won; stored as history "), "{toss}");
    assert!(toss.contains("(paid, password \"secret\")"), "{toss}");
    let payment_key = toss.split_whitespace().nth(3).unwrap().to_owned();
    for pg in ["iamport", "portone"] {
        let paid = json_of(&trigger(
            &admin,
            &["--json", "card", "--pg", pg, "--amount", "7000"],
        ));
        assert_eq!(paid["pg"], pg);
        assert_eq!(paid["amount"], 7000);
        assert_eq!(paid["history"]["price"], 7000.0, "{paid}");
        assert!(paid["history"]["paid_at"].is_string(), "{paid}");
    }

    // A partial cancel at the PG.
    let cancelled = line(&trigger(
        &admin,
        &["cancel", "--pg", "toss", &payment_key, "--amount", "5000"],
    ));
    assert_eq!(
        cancelled,
        format!("toss payment {payment_key} cancelled: 5000 of 15000 won, PARTIAL_CANCELED")
    );

    // A virtual account, stored unpaid, then paid in: the client's event reaches the inbox.
    let account = json_of(&trigger(
        &admin,
        &[
            "virtual-account",
            "--pg",
            "toss",
            "--amount",
            "25000",
            "--json",
        ],
    ));
    assert!(account["history"]["paid_at"].is_null(), "{account}");
    let order = account["order"].as_str().unwrap().to_owned();
    let deposited = line(&trigger(
        &admin,
        &["deposit", "--pg", "toss", account["id"].as_str().unwrap()],
    ));
    assert!(
        deposited.ends_with("25000 won paid in, DONE"),
        "{deposited}"
    );
    // The fake's journal and the inbox are read in turn: their lines come in either order.
    let [event, request] = logs.lines_where([
        &|l: &str| l.contains(r#""type":"inbox""#) && l.contains(&order),
        &|l: &str| l.contains(r#""type":"fake_request""#) && l.contains("/deposit"),
    ]);
    let event: Value = serde_json::from_str(&event).unwrap();
    assert_eq!(event["accepted"], true);
    assert!(event["event"]["current"]["paid_at"].is_string(), "{event}");
    let request: Value = serde_json::from_str(&request).unwrap();
    assert_eq!(
        (request["fake"].as_str(), request["status"].as_u64()),
        (Some("toss"), Some(200))
    );
    let seen = human.line_where(|l| l.starts_with("inbox: event") && l.contains(&order));
    assert!(
        seen.contains(": paid at ") && seen.ends_with("accepted (200)"),
        "{seen}"
    );

    // Refunded to the customer's account, then refused by the bank on demand.
    let id = account["id"].as_str().unwrap();
    let cancelled = line(&trigger(&admin, &["cancel", "--pg", "toss", id]));
    assert_eq!(
        cancelled,
        format!("toss payment {id} cancelled: 25000 of 25000 won, CANCELED")
    );
    let refused = line(&trigger(&admin, &["refund", id, "--result", "failed"]));
    assert_eq!(
        refused,
        format!("toss refund of {id} settled FAILED: refundStatus FAILED, CANCELED")
    );
    // Nothing is left to settle: the fake's refusal is the trigger's.
    let again = trigger(&admin, &["refund", id]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("no refund pending"), "{stderr}");
    let partly = json_of(&trigger(
        &admin,
        &[
            "virtual-account",
            "--pg",
            "toss",
            "--amount",
            "6000",
            "--json",
        ],
    ));
    let id = partly["id"].as_str().unwrap();
    line(&trigger(&admin, &["deposit", id]));
    line(&trigger(&admin, &["cancel", id, "--amount", "1000"]));
    let settled = json_of(&trigger(&admin, &["refund", id, "--json"]));
    assert_eq!(
        settled,
        json!({"pg": "toss", "id": id, "result": "COMPLETED", "refund_status": "COMPLETED", "status": "PARTIAL_CANCELED"})
    );

    // The same at the other PGs.
    for (pg, paid, partly) in [
        ("iamport", "paid", "paid"),
        ("portone", "PAID", "PARTIAL_CANCELLED"),
    ] {
        let account = json_of(&trigger(
            &admin,
            &["virtual-account", "--pg", pg, "--amount", "9000", "--json"],
        ));
        assert!(account["history"]["paid_at"].is_null(), "{account}");
        let id = account["id"].as_str().unwrap();
        let deposited = line(&trigger(&admin, &["deposit", "--pg", pg, id]));
        assert_eq!(
            deposited,
            format!("{pg} deposit into {id}: 9000 won paid in, {paid}")
        );
        let card = json_of(&trigger(
            &admin,
            &["card", "--pg", pg, "--amount", "8000", "--json"],
        ));
        let id = card["id"].as_str().unwrap();
        let cancelled = line(&trigger(
            &admin,
            &["cancel", "--pg", pg, id, "--amount", "3000"],
        ));
        assert_eq!(
            cancelled,
            format!("{pg} payment {id} cancelled: 3000 of 8000 won, {partly}")
        );
    }

    // Billing keys at each PG.
    for pg in ["toss", "iamport", "portone"] {
        let key = json_of(&trigger(&admin, &["billing-key", "--pg", pg, "--json"]));
        assert!(!key["billing_key"].as_str().unwrap().is_empty(), "{key}");
    }
    let key = line(&trigger(
        &admin,
        &["billing-key", "--pg", "iamport", "--customer", "c-1"],
    ));
    assert_eq!(key, "iamport billing key c-1 for customer c-1");

    // The next check of a payment fails at the PG: the server refuses to store it.
    let failing = line(&trigger(&admin, &["fail-next", "--pg", "toss"]));
    assert_eq!(
        failing,
        "toss: the next 1 request to /v1/payments/* fail with FAILED_INTERNAL_SYSTEM_PROCESSING"
    );
    let refused = trigger(&admin, &["card", "--pg", "toss"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("refused to store it (502)"), "{stderr}");
    logs.line_where(|l| {
        l.contains(r#""type":"fake_request""#) && l.contains("FAILED_INTERNAL_SYSTEM_PROCESSING")
    });

    // The clocks move together.
    let moved = json_of(&trigger(&admin, &["clock", "2h", "--json"]));
    assert!(
        moved["server"]["offset_seconds"].as_f64().unwrap() >= 7200.0,
        "{moved}"
    );
    for fake in ["iamport", "toss", "portone"] {
        assert!(
            moved["fakes"][fake]["offset_seconds"].as_f64().unwrap() >= 7200.0,
            "{moved}"
        );
    }
    let moved = line(&trigger(&admin, &["clock", "1d 30m"]));
    assert!(
        moved.starts_with("clocks moved forward by 1day 30m: the server's is now "),
        "{moved}"
    );

    assert!(logs.interrupt().success(), "logs stop cleanly on Ctrl-C");
    assert!(human.interrupt().success());
}

#[test]
fn plain_json_goes_through_a_sandbox_that_takes_it_and_only_then() {
    payments_fakes::tls::install_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_plain, doc) = sandbox(&["--plain-json"]);
    assert_eq!(doc["payments"]["plain_json"], true);
    let admin = doc["admin"]["url"].as_str().unwrap();
    let paid = json_of(&trigger(
        admin,
        &["card", "--pg", "toss", "--no-store", "--json"],
    ));
    let payments = doc["payments"]["url"].as_str().unwrap().to_owned();
    let order = paid["order"].as_str().unwrap().to_owned();
    let body = json!({
        "vendor": {"code": "toss.payments", "store_id": "shop", "uid": paid["id"]},
        "source": {"schema": "shop", "table": "orders", "id": order},
        "webhook_url": doc["inbox"]["url"],
        "price": 15000,
        "password": "secret",
    });
    let http = reqwest::Client::new();
    runtime.block_on(async {
        // A generic HTTP client: JSON in, JSON out.
        let stored = http
            .post(format!("{payments}/payments/histories"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(stored.status(), 201);
        assert!(
            stored.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let history: Value = stored.json().await.unwrap();
        assert_eq!(history["source"]["id"], order.as_str());
        assert!(history["paid_at"].is_string(), "{history}");
        let id = history["id"].as_str().unwrap();

        let read: Value = http
            .patch(format!("{payments}/payments/histories/{id}"))
            .json(&json!({"password": "secret"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(read["id"], id);
        let wrong = http
            .patch(format!("{payments}/payments/histories/{id}"))
            .json(&json!({"password": "not-it"}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403);
        let broken = http
            .post(format!("{payments}/payments/histories"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(broken.status(), 400);
        let error: Value = broken.json().await.unwrap();
        assert_eq!(error["code"], "invalid_json", "{error}");
        // The encrypted wire still works beside it.
        let sealed = http
            .patch(format!("{payments}/payments/histories/{id}"))
            .header("content-type", "text/plain")
            .body(
                payments_api::BodyCodec::new(
                    doc["payments"]["encryption"]["key"].as_str().unwrap(),
                    doc["payments"]["encryption"]["iv"].as_str().unwrap(),
                )
                .unwrap()
                .encrypt_json(&json!({"password": "secret"}))
                .unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(sealed.status(), 200);
        assert!(
            sealed.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
    });

    // Without the flag, plain JSON is refused as before.
    let (_sealed, doc) = sandbox(&[]);
    assert_eq!(doc["payments"]["plain_json"], false);
    let payments = doc["payments"]["url"].as_str().unwrap().to_owned();
    runtime.block_on(async {
        let refused = http
            .post(format!("{payments}/payments/histories"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["code"], "not_text_plain", "{error}");
    });
}
