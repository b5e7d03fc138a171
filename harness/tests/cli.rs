//! The `harness` binary, run as a process.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn harness(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .env_remove("PAYMENTS_ENCRYPTION_KEY")
        .env_remove("PAYMENTS_ENCRYPTION_IV")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the harness binary starts");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> &str {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::str::from_utf8(&output.stdout).unwrap()
}

#[test]
fn encrypt_uses_the_sandbox_key_by_default() {
    // Reference vector: {"password":"some-password"} under the sandbox key and IV.
    let out = harness(&["encrypt", r#"{ "password" : "some-password" }"#], None);
    assert_eq!(
        stdout(&out),
        "/Lu96CDAgYv09JxV0IsOQy8H7LuG9o4QJ29eZjgYjeI=\n"
    );
}

#[test]
fn encrypt_reads_standard_input_and_takes_other_keys() {
    let out = harness(
        &[
            "encrypt",
            "--key",
            "SqwHmmXm1fZteI3URPtoyBWFJDMQ7FBQ",
            "--iv",
            "9eSfjygAClnE1JJs",
        ],
        Some("{}\n"),
    );
    assert_eq!(stdout(&out), "ONx1vNWNdIPKeppO6gT9CQ==\n");
}

#[test]
fn keys_come_from_the_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["decrypt", "ONx1vNWNdIPKeppO6gT9CQ=="])
        .env(
            "PAYMENTS_ENCRYPTION_KEY",
            "SqwHmmXm1fZteI3URPtoyBWFJDMQ7FBQ",
        )
        .env("PAYMENTS_ENCRYPTION_IV", "9eSfjygAClnE1JJs")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "{}\n");
}

#[test]
fn decrypt_prints_indented_json_or_the_raw_text() {
    let body = "/Lu96CDAgYv09JxV0IsOQy8H7LuG9o4QJ29eZjgYjeI=";
    let out = harness(&["decrypt"], Some(&format!("  {body}\n")));
    assert_eq!(stdout(&out), "{\n  \"password\": \"some-password\"\n}\n");
    let out = harness(&["decrypt", "--raw", body], None);
    assert_eq!(stdout(&out), "{\"password\":\"some-password\"}\n");
}

#[test]
fn the_authenticated_format_round_trips_and_is_not_the_original() {
    let json = r#"{"password":"some-password"}"#;
    let sealed = stdout(&harness(&["encrypt", "--gcm", json], None))
        .trim()
        .to_owned();
    assert_ne!(sealed, "/Lu96CDAgYv09JxV0IsOQy8H7LuG9o4QJ29eZjgYjeI=");
    let again = stdout(&harness(&["encrypt", "--gcm", json], None))
        .trim()
        .to_owned();
    assert_ne!(sealed, again, "a fresh nonce per body");
    let out = harness(&["decrypt", "--gcm", "--raw", &sealed], None);
    assert_eq!(stdout(&out), format!("{json}\n"));
    // The original format does not read it, and a changed body does not open.
    let out = harness(&["decrypt", &sealed], None);
    assert_eq!(out.status.code(), Some(1));
    let mut changed = sealed.clone().into_bytes();
    changed[20] = if changed[20] == b'A' { b'B' } else { b'A' };
    let out = harness(
        &["decrypt", "--gcm", std::str::from_utf8(&changed).unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not authenticate"));
}

#[test]
fn bad_input_fails_with_a_clear_message() {
    let out = harness(&["encrypt", "not json"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("harness: the input is not JSON"));

    let out = harness(&["decrypt", "%%%"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid Base64"));

    // A body made with another key.
    let out = harness(&["decrypt", "ONx1vNWNdIPKeppO6gT9CQ=="], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not decrypt with this key"));

    let out = harness(&["encrypt", "--key", "short", "{}"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("16, 24 or 32 bytes"));
    assert!(out.stdout.is_empty());
}

#[test]
fn keys_never_appear_in_help() {
    let out = harness(&["encrypt", "--help"], None);
    let help = stdout(&out);
    assert!(!help.contains("MCKOxv9B23r7EatArCFcBP03nfaS03T8"), "{help}");
    assert!(help.contains("PAYMENTS_ENCRYPTION_KEY"), "{help}");
}

mod fake_toss {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpStream;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// Starts `harness fake toss --port 0 …`; returns the process and its URL's address.
    fn start(extra: &[&str]) -> (Child, String, BufReader<std::process::ChildStdout>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["fake", "toss", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let address = first
            .trim()
            .strip_prefix("fake Toss Payments listening on http://")
            .unwrap_or_else(|| panic!("unexpected banner: {first:?}"))
            .to_owned();
        (child, address, stdout)
    }

    fn http(address: &str, request: &str) -> String {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    fn stop(
        mut child: Child,
        mut stdout: BufReader<std::process::ChildStdout>,
    ) -> (std::process::ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut rest = String::new();
                stdout.read_to_string(&mut rest).unwrap();
                return (status, rest);
            }
            assert!(Instant::now() < deadline, "the fake did not stop on Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn serves_the_fake_prints_credentials_and_stops_on_ctrl_c() {
        let (child, address, mut stdout) = start(&["--webhook-url", "http://127.0.0.1:9/hook"]);
        let mut banner = String::new();
        for _ in 0..5 {
            stdout.read_line(&mut banner).unwrap();
        }
        assert!(
            banner.contains("test_ak_ZORzdMaqN3wQd5k6ygr5AkYXQGwy"),
            "{banner}"
        );
        assert!(banner.contains("test_sk_"), "{banner}");
        assert!(
            banner.contains("Basic dGVzdF9ha19aT1J6ZE1hcU4zd1FkNWs2eWdyNUFrWVhRR3d5Og=="),
            "{banner}"
        );
        assert!(
            banner.contains("http://127.0.0.1:9/hook (async)"),
            "{banner}"
        );

        let answer = http(
            &address,
            &format!(
                "GET /v1/payments/nothing HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic dGVzdF9ha19aT1J6ZE1hcU4zd1FkNWs2eWdyNUFrWVhRR3d5Og==\r\nConnection: close\r\n\r\n"
            ),
        );
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        assert!(answer.contains("NOT_FOUND_PAYMENT"), "{answer}");

        let (status, rest) = stop(child, stdout);
        assert!(status.success(), "{status:?}");
        assert!(rest.contains("stopped"), "{rest}");
    }

    #[test]
    fn a_taken_port_is_a_clear_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port().to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["fake", "toss", "--port", &port])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot listen on 127.0.0.1:") && stderr.contains("--port"),
            "{stderr}"
        );
    }

    #[test]
    fn a_bad_webhook_url_is_refused() {
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([
                "fake",
                "toss",
                "--port",
                "0",
                "--webhook-url",
                "localhost:3000",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--webhook-url must be an http(s) URL")
        );
    }
}

mod fake_iamport {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpStream;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    #[test]
    fn serves_the_fake_with_extra_credentials_and_stops_on_sigterm() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([
                "fake",
                "iamport",
                "--port",
                "0",
                "--credentials",
                "my_key:my_secret",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let address = first
            .trim()
            .strip_prefix("fake I'mport listening on http://")
            .unwrap_or_else(|| panic!("unexpected banner: {first:?}"))
            .to_owned();
        let mut pairs = String::new();
        stdout.read_line(&mut pairs).unwrap();
        assert!(
            pairs.contains("test_imp_key / test_imp_secret, my_key / my_secret"),
            "{pairs}"
        );

        let body = r#"{"imp_key":"my_key","imp_secret":"my_secret"}"#;
        let mut stream = TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "POST /users/getToken HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"access_token\""), "{answer}");

        assert!(
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the fake did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success());
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        assert!(rest.contains("stopped"), "{rest}");
    }

    #[test]
    fn malformed_credentials_are_a_usage_error() {
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["fake", "iamport", "--credentials", "no-colon"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("expected IMP_KEY:IMP_SECRET"));
    }
}

mod fake_portone {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpStream;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    #[test]
    fn prints_one_json_line_serves_the_fake_and_stops_on_ctrl_c() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["fake", "portone", "--port", "0", "--json"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let info: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
        let url = info["url"].as_str().unwrap();
        let secret = info["api_secret"].as_str().unwrap();
        assert_eq!(
            info["store_id"],
            payments_fakes::portone::store_id(secret).as_str()
        );
        assert!(
            info["webhook_secret"]
                .as_str()
                .unwrap()
                .starts_with("whsec_")
        );

        let address = url.trim_start_matches("http://");
        let body = format!(r#"{{"apiSecret":"{secret}"}}"#);
        let mut stream = TcpStream::connect(address).unwrap();
        write!(
            stream,
            "POST /login/api-secret HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"accessToken\""), "{answer}");

        assert!(
            Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the fake did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success());
    }

    #[test]
    fn a_bad_webhook_secret_is_refused() {
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([
                "fake",
                "portone",
                "--port",
                "0",
                "--webhook-secret",
                "plain",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--webhook-secret"));
    }
}

mod serve {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpStream;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    fn http(url: &str, request: &str) -> String {
        let address = url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .write_all(request.replace("HOST", address).as_bytes())
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn the_sandbox_prints_one_json_line_and_answers_until_ctrl_c() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([
                "serve",
                "--json",
                "--payments-port",
                "0",
                "--iamport-port",
                "0",
                "--toss-port",
                "0",
                "--portone-port",
                "0",
                "--inbox-port",
                "0",
            ])
            .env_remove("PAYMENTS_DATABASE_URL")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
        for pointer in [
            "/payments/url",
            "/payments/encryption/key",
            "/payments/encryption/iv",
            "/payments/webhook_secret",
            "/fakes/iamport/url",
            "/fakes/iamport/credentials/imp_key",
            "/fakes/iamport/credentials/imp_secret",
            "/fakes/toss/url",
            "/fakes/toss/credentials/secret_key",
            "/inbox/url",
            "/admin/url",
        ] {
            assert!(
                ready.pointer(pointer).is_some_and(|v| v.is_string()),
                "{pointer} in {line}"
            );
        }
        let health = http(
            ready["payments"]["url"].as_str().unwrap(),
            "GET /monitors/health HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\n\r\n",
        );
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        let body = r#"{"imp_key":"test_imp_key","imp_secret":"test_imp_secret"}"#;
        let token = http(
            ready["fakes"]["iamport"]["url"].as_str().unwrap(),
            &format!(
                "POST /users/getToken HTTP/1.1\r\nHost: HOST\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        );
        assert!(token.starts_with("HTTP/1.1 200"), "{token}");

        assert!(
            Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the sandbox did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success());
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        assert!(
            rest.is_empty(),
            "--json prints nothing more when nothing happens: {rest}"
        );
    }

    #[test]
    fn a_taken_port_is_explained() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port().to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([
                "serve",
                "--payments-port",
                &port,
                "--iamport-port",
                "0",
                "--toss-port",
                "0",
                "--portone-port",
                "0",
                "--inbox-port",
                "0",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--payments-port"), "{stderr}");
    }

    #[test]
    fn every_option_comes_from_the_environment_too_and_health_checks_it() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .arg("serve")
            .env_remove("PAYMENTS_DATABASE_URL")
            .env("PAYMENTS_SANDBOX_HOST", "0.0.0.0")
            .env("PAYMENTS_SANDBOX_PAYMENTS_PORT", "0")
            .env("PAYMENTS_SANDBOX_IAMPORT_PORT", "0")
            .env("PAYMENTS_SANDBOX_TOSS_PORT", "0")
            .env("PAYMENTS_SANDBOX_INBOX_PORT", "0")
            .env("PAYMENTS_SANDBOX_PG_TIMEOUT", "1.5")
            .env("PAYMENTS_SANDBOX_JSON", "true")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
        // Listening on every address, it hands out loopback URLs.
        let url = ready["payments"]["url"].as_str().unwrap();
        let port = url.strip_prefix("http://127.0.0.1:").expect(url);
        let admin = ready["admin"]["url"].as_str().unwrap();
        assert!(admin.starts_with("http://127.0.0.1:"), "{admin}");
        assert!(
            !admin.contains(":37822/"),
            "the inbox port from the environment: {admin}"
        );
        let health = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["health", "--port", port])
            .output()
            .unwrap();
        assert!(health.status.success(), "{health:?}");
        assert!(
            String::from_utf8_lossy(&health.stdout).contains("/monitors/health: 200 OK"),
            "{health:?}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        // Stopped: the health check fails, saying what it asked.
        let health = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["health", "--port", port])
            .output()
            .unwrap();
        assert!(!health.status.success());
        let error = String::from_utf8_lossy(&health.stderr);
        assert!(
            error.contains("/monitors/health does not answer"),
            "{error}"
        );
    }

    #[test]
    fn a_pg_timeout_that_is_not_seconds_is_refused() {
        for bad in ["0", "-1", "soon", "NaN"] {
            let out = Command::new(env!("CARGO_BIN_EXE_harness"))
                .args(["serve", &format!("--pg-timeout={bad}")])
                .output()
                .unwrap();
            assert!(!out.status.success());
            let error = String::from_utf8_lossy(&out.stderr);
            assert!(
                error.contains("is not a number of seconds"),
                "{bad}: {error}"
            );
        }
    }
}

mod run {
    use std::process::Command;

    fn harness(args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(args)
            .env_remove("PAYMENTS_TEST_DATABASE_URL")
            .output()
            .unwrap()
    }

    #[test]
    fn runs_scenarios_with_progress_and_a_summary() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            "name: lookup of nothing\nsteps:\n  - name: ask\n    toss: GET /v1/payments/nothing\n    expect: {status: 404, body: {code: NOT_FOUND_PAYMENT}}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a scenario").unwrap();
        let out = harness(&["run", dir.path().to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("a.yaml: lookup of nothing"), "{stdout}");
        assert!(stdout.contains("  step 1 (ask)"), "{stdout}");
        assert!(stdout.contains("scenarios: 1 passed, 0 failed"), "{stdout}");
    }

    #[test]
    fn a_failing_scenario_says_where_and_fails_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.yaml");
        std::fs::write(
            &file,
            "name: wrong expectation\nsteps:\n  - name: ask\n    toss: GET /v1/payments/nothing\n    expect: {status: 200}\n",
        )
        .unwrap();
        let out = harness(&["run", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("b.yaml: step 1 (ask): status: expected 200, got 404"),
            "{stdout}"
        );
        assert!(stdout.contains("scenarios: 0 passed, 1 failed"), "{stdout}");

        let out = harness(&["run", "/nonexistent/scenarios"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or folder"));
    }

    /// A scenario that records the fake Toss's answer to a lookup of nothing.
    const SNAPSHOTTED: &str = "name: recorded lookup\nsteps:\n  - toss: GET /v1/payments/nothing\n    expect: {status: 404}\n    snapshot: true\n";

    #[test]
    fn snapshots_are_checked_written_on_request_and_diffed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("look.yaml");
        std::fs::write(&file, SNAPSHOTTED).unwrap();
        let snap = dir.path().join("snapshots").join("look.snap");

        let out = harness(&["run", file.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("no snapshot"), "{stdout}");
        assert!(stdout.contains("--update-snapshots"), "{stdout}");
        assert!(
            stdout.contains("+      code: NOT_FOUND_PAYMENT"),
            "{stdout}"
        );
        assert!(
            !stdout.contains("    -\n"),
            "nothing removed from no file: {stdout}"
        );
        assert!(!snap.exists(), "a plain run writes nothing");

        let out = harness(&["run", "--update-snapshots", file.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("ok (snapshot written)"), "{stdout}");
        let written = std::fs::read_to_string(&snap).unwrap();
        assert!(
            written.starts_with(
                "---\nsource: harness run\ndescription: recorded lookup\n---\n- - step 1\n"
            ),
            "{written}"
        );

        let out = harness(&["run", file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );

        std::fs::write(
            &snap,
            written.replace("NOT_FOUND_PAYMENT", "SOMETHING_ELSE"),
        )
        .unwrap();
        let out = harness(&["run", file.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("differ from the snapshot"), "{stdout}");
        assert!(stdout.contains("-      code: SOMETHING_ELSE"), "{stdout}");
        assert!(
            stdout.contains("+      code: NOT_FOUND_PAYMENT"),
            "{stdout}"
        );
    }

    /// Three files: one passes, one fails when run at step 2, one fails to load at step 2.
    fn three(dir: &std::path::Path) {
        std::fs::write(
            dir.join("a-pass.yaml"),
            "name: passes\nsteps:\n  - toss: GET /v1/payments/nothing\n    expect: {status: 404}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("b-run.yaml"),
            "name: fails when run\nsteps:\n  - toss: GET /v1/payments/nothing\n    expect: {status: 404}\n  - name: second\n    toss: GET /v1/payments/nothing\n    expect: {status: 200}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("c-load.yaml"),
            "name: fails to load\nsteps:\n  - toss: GET /v1/payments/nothing\n  - name: second\n    toss: GET /a\n    typo: 1\n",
        )
        .unwrap();
    }

    #[test]
    fn json_lines_and_junit_name_the_failing_step_the_same_way_for_load_and_run() {
        let dir = tempfile::tempdir().unwrap();
        three(dir.path());
        let junit = dir.path().join("out").join("junit.xml");
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let out = harness(&[
            "run",
            "--json",
            "--junit",
            junit.to_str().unwrap(),
            "-j",
            "2",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1));
        // A harness that stopped leaves no server task behind, working on its removed
        // database while the next files run.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("unable to open database file"), "{stderr}");
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0]["status"], "passed");
        assert_eq!(lines[0]["name"], "passes");
        assert_eq!(lines[0]["snapshot"], "none");
        for (line, place) in [
            (&lines[1], "step 2 (second)"),
            (&lines[2], "step 2 (second)"),
        ] {
            assert_eq!(line["status"], "failed", "{line}");
            assert_eq!(line["step"], 2, "{line}");
            assert!(line["message"].as_str().unwrap().contains(place), "{line}");
        }
        assert!(
            lines[1]["message"]
                .as_str()
                .unwrap()
                .contains("expected 200, got 404")
        );
        assert!(lines[2]["message"].as_str().unwrap().contains("typo"));
        assert_eq!(lines[3]["type"], "summary");
        assert_eq!(
            (lines[3]["passed"].as_u64(), lines[3]["failed"].as_u64()),
            (Some(1), Some(2))
        );

        let xml = std::fs::read_to_string(&junit).unwrap();
        assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
        assert!(
            xml.contains(r#"tests="3""#) && xml.contains(r#"failures="2""#),
            "{xml}"
        );
        assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
        assert!(
            xml.contains("b-run.yaml: step 2 (second): status: expected 200, got 404"),
            "{xml}"
        );
        assert!(
            xml.contains("c-load.yaml: step 2 (second): unknown field"),
            "{xml}"
        );
    }

    #[test]
    fn filter_picks_by_name_or_file_and_jobs_keep_the_order() {
        let dir = tempfile::tempdir().unwrap();
        three(dir.path());
        let out = harness(&["run", "--filter", "passes", dir.path().to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("scenarios: 1 passed, 0 failed"), "{stdout}");

        let out = harness(&["run", "--filter", "b-run", dir.path().to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("scenarios: 0 passed, 1 failed"), "{stdout}");

        let out = harness(&[
            "run",
            "--filter",
            "nothing-like-it",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no scenario matches"));

        let out = harness(&["run", "-j", "3", "--json", dir.path().to_str().unwrap()]);
        let files: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["file"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(files.len(), 3, "{files:?}");
        assert!(
            files[0].ends_with("a-pass.yaml") && files[2].ends_with("c-load.yaml"),
            "{files:?}"
        );

        let out = harness(&["run", "-j", "0", dir.path().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
    }
}

mod run_on_a_sandbox {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    #[test]
    fn scenarios_run_against_a_running_sandbox() {
        let mut sandbox = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([
                "serve",
                "--json",
                "--payments-port",
                "0",
                "--iamport-port",
                "0",
                "--toss-port",
                "0",
                "--portone-port",
                "0",
                "--inbox-port",
                "0",
            ])
            // The shipped scenarios' slow PGs take 2.5 s: longer than this.
            .args(["--pg-timeout", "2"])
            .env_remove("PAYMENTS_DATABASE_URL")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(sandbox.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
        let scenarios = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([
                "run",
                "--target",
                ready["payments"]["url"].as_str().unwrap(),
            ])
            .args([
                "--iamport-url",
                ready["fakes"]["iamport"]["url"].as_str().unwrap(),
            ])
            .args([
                "--toss-url",
                ready["fakes"]["toss"]["url"].as_str().unwrap(),
            ])
            .args([
                "--portone-url",
                ready["fakes"]["portone"]["url"].as_str().unwrap(),
            ])
            .args(["--admin-url", ready["admin"]["url"].as_str().unwrap()])
            .arg(scenarios)
            .output()
            .unwrap();
        let _ = sandbox.kill();
        let _ = sandbox.wait();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        let shipped = std::fs::read_dir(scenarios)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "yaml")
            })
            .count();
        assert!(shipped >= 10, "{shipped}");
        // Their snapshots were checked too.
        assert!(
            stdout.contains(&format!("scenarios: {shipped} passed, 0 failed")),
            "{stdout}"
        );
    }
}
