//! The fault suite: the `payments-server` binary as a process, killed with `SIGKILL` at the
//! worst moment, against the fakes. Each fault prints one `faults: …` line with its counts.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use payments_api::client::PaymentsClient;
use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::payments::*;
use payments_fakes::Fake as _;
use payments_fakes::toss::{FakeToss, TossConfig};
use serde_json::{Value, json};

const TOSS_KEY: &str = "test_sk_fault_suite_00000000";
const PASSWORD: &str = "fault-suite-password";

/// A server process on a SQLite file of `dir`, talking to the fake Toss at `toss_url`.
fn start_server(dir: &std::path::Path, toss_url: &str) -> (Child, String) {
    let config = format!(
        r#"
listen = "127.0.0.1:0"
database_url = "sqlite://{db}"

[encryption]
key = "{key}"
iv = "{iv}"

[storage]
active_key = "k1"
password_pepper = "a-pepper-for-the-fault-suite"

[storage.keys]
k1 = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="

[pg]
timeout_seconds = 10

[pg.toss.default]
base_url = "{toss_url}"
secret_key = "{TOSS_KEY}"

[relay]
signing_secrets = ["whsec_cHJvY2Vzcy1zZWNyZXQ="]
"#,
        db = dir.join("payments.db").display(),
        key = SANDBOX_KEY,
        iv = SANDBOX_IV,
    );
    let path = dir.join("payments.toml");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_payments-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PAYMENTS_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let address = banner
        .trim()
        .strip_prefix("payments server listening on ")
        .unwrap_or_else(|| panic!("unexpected banner {banner:?}"))
        .to_owned();
    (child, address)
}

async fn toss(
    http: &reqwest::Client,
    url: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_KEY}:"));
    let mut request = http
        .request(method, format!("{url}{path}"))
        .header("authorization", format!("Basic {auth}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_cancel_then_retry_refunds_once() {
    payments_fakes::tls::install_provider();
    let fake = FakeToss::new(TossConfig::default());
    let toss_url = payments_testkit::serve(fake.router()).await.unwrap();
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, url) = start_server(dir.path(), &toss_url);
    let mut client = PaymentsClient::new(&url, SANDBOX_KEY, SANDBOX_IV).unwrap();

    const ROUNDS: usize = 3;
    let mut refunds_at_pg = Vec::new();
    let mut retries = 0;
    for round in 0..ROUNDS {
        let order = format!("fault-order-{round}-{}", uuid::Uuid::new_v4().simple());
        let payment = toss(&http, &toss_url, reqwest::Method::POST, "/v1/payments/key-in", Some(json!({"method": "card", "cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": 20000, "orderId": order, "orderName": "주문", "__approved": false}))).await;
        let key = payment["paymentKey"].as_str().unwrap().to_owned();
        let source = PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: order.clone(),
        };
        client
            .create_history(&PaymentHistoryCreate {
                vendor: PaymentVendor {
                    code: VendorCode::TossPayments,
                    store_id: "default".into(),
                    uid: key.clone(),
                },
                source: source.clone(),
                webhook_url: "http://127.0.0.1:9/hook".into(),
                price: 20000.0,
                password: PASSWORD.into(),
            })
            .await
            .unwrap();

        // The PG refunds at once but answers late; the server dies before the answer.
        let rule = json!({"method": "POST", "path": format!("/v1/payments/{key}/cancel"), "action": "late", "ms": 5000});
        toss(
            &http,
            &toss_url,
            reqwest::Method::POST,
            "/internal/faults",
            Some(rule),
        )
        .await;
        let cancel = PaymentCancelCreate {
            source,
            password: PASSWORD.into(),
            price: 5000.0,
            reason: "고객 변심".into(),
            account: None,
        };
        let idempotency_key = uuid::Uuid::new_v4().to_string();
        let first = {
            let (client, cancel, key) = (client.clone(), cancel.clone(), idempotency_key.clone());
            tokio::spawn(async move { client.cancel_history_once(&cancel, &key).await })
        };
        let cancels_at_pg = || async {
            let payment = toss(
                &http,
                &toss_url,
                reqwest::Method::GET,
                &format!("/v1/payments/{key}"),
                None,
            )
            .await;
            payment["cancels"].as_array().map_or(0, Vec::len)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while cancels_at_pg().await == 0 {
            assert!(Instant::now() < deadline, "the PG never saw the cancel");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(
            first.await.unwrap().is_err(),
            "the first cancel got no answer"
        );

        let (restarted, url) = start_server(dir.path(), &toss_url);
        server = restarted;
        client = PaymentsClient::new(&url, SANDBOX_KEY, SANDBOX_IV).unwrap();
        // The client retries under the same key until it gets an answer.
        let history = loop {
            retries += 1;
            match client.cancel_history_once(&cancel, &idempotency_key).await {
                Ok(history) => break history,
                Err(e) if e.status().is_some_and(|s| s == 409 || s == 503) => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                Err(e) => panic!("the retry failed: {e}"),
            }
        };
        assert_eq!(history.refund, Some(5000.0));
        assert_eq!(history.cancels.len(), 1);
        refunds_at_pg.push(cancels_at_pg().await);
        toss(
            &http,
            &toss_url,
            reqwest::Method::DELETE,
            "/internal/faults",
            None,
        )
        .await;
    }
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "faults: kill -9 mid-cancel: {ROUNDS} cancels killed, {retries} retries, refunds at the PG per payment {refunds_at_pg:?} (want 1 each)"
    );
    assert_eq!(refunds_at_pg, vec![1; ROUNDS]);
    drop(fake);
}
