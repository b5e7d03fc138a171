//! The `harness` binary's logs: quiet by default, what `RUST_LOG` asks for otherwise, each
//! request's lines carrying its id.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// Runs the sandbox with `RUST_LOG` as given, asks the payments server for its health with
/// a request id, and answers what the sandbox wrote to standard error meanwhile.
fn sandbox_log(rust_log: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    command
        .args(["serve", "--json", "--payments-port", "0"])
        .args([
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
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = ready["payments"]["url"].as_str().unwrap();
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /monitors/health HTTP/1.1\r\nHost: {address}\r\nx-request-id: a-traced-request\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("x-request-id: a-traced-request"),
        "{answer}"
    );
    // The request's lines are written before its answer is: the log is complete here. How
    // the sandbox stops is another test's business.
    child.kill().unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn rust_log_shows_each_request_with_its_id() {
    let log = sandbox_log(Some("info,tower_http=debug"));
    let request = log
        .lines()
        .find(|l| l.contains("finished processing request"))
        .unwrap_or_else(|| panic!("no request in the log:\n{log}"));
    assert!(request.contains("id=a-traced-request"), "{request}");
    assert!(request.contains("route=/monitors/health"), "{request}");
}

#[test]
fn without_rust_log_the_sandbox_is_quiet() {
    let log = sandbox_log(None);
    assert!(!log.contains("processing request"), "{log}");
}
