//! `harness serve` as a process: what it prints while it runs, and records that outlive it.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use payments_api::client::PaymentsClient;
use payments_api::payments::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// A running `harness serve` and the lines it prints.
struct Sandbox {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Sandbox {
    fn start(extra: &[&str]) -> Self {
        payments_fakes::tls::install_provider();
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["serve", "--payments-port", "0", "--iamport-port", "0"])
            .args([
                "--toss-port",
                "0",
                "--portone-port",
                "0",
                "--inbox-port",
                "0",
            ])
            .args(extra)
            .env_remove("PAYMENTS_DATABASE_URL")
            .env_remove("PAYMENTS_SANDBOX_KEYS_FILE")
            .env_remove("PAYMENTS_SANDBOX_STORAGE_KEY")
            .env_remove("PAYMENTS_SANDBOX_PASSWORD_PEPPER")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .expect("the sandbox printed a line")
    }

    /// The next line for which `pick` holds, skipping others.
    fn line_where(&self, pick: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).expect("the line came");
            if pick(&line) {
                return line;
            }
        }
    }

    /// Stops it with Ctrl-C and answers whatever else it printed.
    fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(self.child.wait().unwrap().success());
        self.lines.try_iter().collect()
    }
}

/// A test that fails half-way leaves no sandbox behind.
impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(payments: &Value) -> PaymentsClient {
    PaymentsClient::new(
        payments["url"].as_str().unwrap(),
        payments["encryption"]["key"].as_str().unwrap(),
        payments["encryption"]["iv"].as_str().unwrap(),
    )
    .unwrap()
}

fn toss_auth(toss: &Value) -> String {
    let key = toss["credentials"]["secret_key"].as_str().unwrap();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// A Toss virtual account, stored at the server with the inbox as its webhook; answers
/// the order and the paymentKey.
async fn stored_virtual_account(doc: &Value, webhook_url: &str) -> (String, String) {
    let toss = &doc["fakes"]["toss"];
    let order = format!("order-{}", uuid::Uuid::new_v4().simple());
    let payment: Value = reqwest::Client::new()
        .post(format!("{}/v1/virtual-accounts", toss["url"].as_str().unwrap()))
        .header("authorization", toss_auth(toss))
        .json(&json!({"orderId": order, "orderName": "order", "bank": "신한", "customerName": "홍길동", "amount": 5000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = payment["paymentKey"].as_str().unwrap().to_owned();
    client(&doc["payments"])
        .create_history(&PaymentHistoryCreate {
            vendor: PaymentVendor {
                code: VendorCode::TossPayments,
                store_id: "shop".into(),
                uid: key.clone(),
            },
            source: PaymentSource {
                schema: "shop".into(),
                table: "orders".into(),
                id: order.clone(),
            },
            webhook_url: webhook_url.to_owned(),
            price: 5000.0,
            password: "secret".into(),
        })
        .await
        .unwrap();
    (order, key)
}

async fn deposit(doc: &Value, payment_key: &str) {
    let toss = &doc["fakes"]["toss"];
    let url = toss["controls"]["deposit"]["url"]
        .as_str()
        .unwrap()
        .replace("{paymentKey}", payment_key);
    let response = reqwest::Client::new()
        .put(url)
        .header("authorization", toss_auth(toss))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

#[tokio::test]
async fn json_mode_prints_each_inbox_delivery_and_fake_webhook() {
    let sandbox = Sandbox::start(&["--json"]);
    let doc: Value = serde_json::from_str(&sandbox.line()).unwrap();
    let (order, key) = stored_virtual_account(&doc, doc["inbox"]["url"].as_str().unwrap()).await;
    deposit(&doc, &key).await;

    let inbox: Value =
        serde_json::from_str(&sandbox.line_where(|l| l.contains(r#""type":"inbox""#))).unwrap();
    assert_eq!(inbox["event"]["source"]["id"], order);
    assert_eq!(inbox["accepted"], true);
    assert_eq!(inbox["signature_valid"], true);
    let fake: Value =
        serde_json::from_str(&sandbox.line_where(|l| {
            l.contains(r#""type":"fake_webhook""#) && l.contains("DEPOSIT_CALLBACK")
        }))
        .unwrap();
    assert_eq!(fake["fake"], "toss");
    assert_eq!(fake["status"], 200);
    for line in sandbox.stop() {
        let parsed: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("every line is JSON: {line}: {e}"));
        assert!(parsed["type"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn human_output_has_no_debug_text() {
    let sandbox = Sandbox::start(&[]);
    let mut printed = Vec::new();
    let mut admin = String::new();
    while !printed
        .last()
        .is_some_and(|l: &String| l.contains("Ctrl-C"))
    {
        let line = sandbox.line();
        if let Some(url) = line.trim().strip_prefix("admin API") {
            admin = url.split_whitespace().next().unwrap().to_owned();
        }
        printed.push(line);
    }
    let doc: Value = reqwest::get(&admin).await.unwrap().json().await.unwrap();
    let (order, key) = stored_virtual_account(&doc, doc["inbox"]["url"].as_str().unwrap()).await;
    deposit(&doc, &key).await;
    // The inbox's line and the fake's come in either order.
    let mut event = None;
    let mut webhook = None;
    while event.is_none() || webhook.is_none() {
        let line = sandbox.line();
        if line.starts_with("inbox:") {
            event = Some(line.clone());
        } else if line.starts_with("toss: webhook DEPOSIT_CALLBACK") {
            webhook = Some(line.clone());
        }
        printed.push(line);
    }
    let event = event.unwrap();
    assert!(
        event.contains(&format!("shop/orders/{order}: paid at ")),
        "{event}"
    );
    assert!(event.ends_with("accepted (200)"), "{event}");
    assert!(webhook.unwrap().ends_with("answered 200"), "{printed:?}");
    printed.extend(sandbox.stop());
    let text = printed.join("\n");
    assert!(!text.contains("Some("), "{text}");
    assert!(!text.contains("None"), "{text}");
    assert!(text.contains("storage keys   fresh for this run"), "{text}");
    assert!(text.contains("fake toss"), "{text}");
    // A shop's page is told which script to load from each fake, and with which key.
    for fake in ["iamport", "toss", "portone"] {
        let url = doc["fakes"][fake]["url"].as_str().unwrap();
        assert!(
            text.contains(&format!("page script  <script src=\"{url}/")),
            "{fake}: {text}"
        );
    }
    assert!(text.contains("client_key test_ck_"), "{text}");
    assert!(text.contains("merchant_code imp"), "{text}");
}

#[tokio::test]
async fn records_stay_readable_after_a_restart_on_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("sandbox.db").display());
    let keys_file = dir.path().join("sandbox.db.keys");

    let sandbox = Sandbox::start(&["--json", "--database-url", &database]);
    let doc: Value = serde_json::from_str(&sandbox.line()).unwrap();
    assert_eq!(
        doc["payments"]["keys_file"],
        keys_file.display().to_string(),
        "the keys file goes beside the database"
    );
    let (order, _) = stored_virtual_account(&doc, doc["inbox"]["url"].as_str().unwrap()).await;
    sandbox.stop();
    assert!(keys_file.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&keys_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner reads the keys file");
    }

    let source = PaymentSourceAccessor {
        source: PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: order.clone(),
        },
        password: "secret".into(),
    };
    let sandbox = Sandbox::start(&["--json", "--database-url", &database]);
    let doc: Value = serde_json::from_str(&sandbox.line()).unwrap();
    let history = client(&doc["payments"]).history_by_source(&source).await;
    assert_eq!(history.unwrap().source.id, order);
    sandbox.stop();

    // Other keys cannot read them: the keys are what made them readable.
    let sandbox = Sandbox::start(&[
        "--json",
        "--database-url",
        &database,
        "--keys-file",
        dir.path().join("other.keys").to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_str(&sandbox.line()).unwrap();
    let refused = client(&doc["payments"]).history_by_source(&source).await;
    assert!(refused.is_err(), "{refused:?}");
    sandbox.stop();
}

#[test]
fn a_broken_keys_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("broken.keys");
    std::fs::write(&keys, "not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["serve", "--payments-port", "0", "--iamport-port", "0"])
        .args([
            "--toss-port",
            "0",
            "--portone-port",
            "0",
            "--inbox-port",
            "0",
            "--keys-file",
        ])
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.keys"), "{stderr}");
}
