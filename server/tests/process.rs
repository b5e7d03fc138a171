//! The `payments-server` binary, run as a process.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
listen = "127.0.0.1:0"
database_url = "sqlite://DB"

[encryption]
key = "MCKOxv9B23r7EatArCFcBP03nfaS03T8"
iv = "9haeYD1tIf4v8xs7"

[storage]
active_key = "k1"
password_pepper = "a-pepper-for-the-process-test"

[storage.keys]
k1 = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="

[pg.toss.default]
base_url = "http://127.0.0.1:9"
secret_key = "test_sk_process"

[relay]
signing_secrets = ["whsec_cHJvY2Vzcy1zZWNyZXQ="]
"#;

fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("payments.toml");
    let db = dir.join("payments.db");
    std::fs::write(&path, CONFIG.replace("DB", &db.display().to_string())).unwrap();
    path
}

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_payments-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PAYMENTS_") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn serve_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let mut child = server()
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    let address = banner
        .trim()
        .strip_prefix("payments server listening on http://")
        .unwrap_or_else(|| panic!("unexpected banner {banner:?}"))
        .to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /monitors/health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

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
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopped"));
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    for secret in [
        "MCKOxv9B23r7EatArCFcBP03nfaS03T8",
        "a-pepper",
        "test_sk_process",
        "BwcHBwcH",
    ] {
        assert!(
            !log.contains(secret) && !rest.contains(secret),
            "{secret} was printed"
        );
    }
}

#[test]
fn migrate_applies_the_schema_and_the_environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let elsewhere = dir.path().join("elsewhere.db");
    let out = server()
        .args(["migrate", "--config"])
        .arg(&config)
        .env(
            "PAYMENTS_DATABASE_URL",
            format!("sqlite://{}", elsewhere.display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "migrations applied\n");
    assert!(elsewhere.exists());
    assert!(!dir.path().join("payments.db").exists());
}

#[test]
fn a_bad_configuration_is_explained_without_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let out = server()
        .args(["serve", "--config"])
        .arg(&config)
        .env("PAYMENTS_ENCRYPTION_KEY", "short-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("16, 24 or 32 bytes"), "{stderr}");
    assert!(!stderr.contains("short-secret"), "{stderr}");

    let out = server()
        .args(["serve", "--config", "/nonexistent/payments.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the configuration file"));

    let out = server()
        .args(["serve", "--config"])
        .arg(&config)
        .env("PAYMENTS_DATABASE_URL", "postgres://nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

#[test]
fn plain_json_is_refused_outside_a_sandbox_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    // Keys of its own: its bodies are secret, so they stay encrypted.
    let out = server()
        .args(["serve", "--config"])
        .arg(&config)
        .env(
            "PAYMENTS_ENCRYPTION_KEY",
            "SqwHmmXm1fZteI3URPtoyBWFJDMQ7FBQ",
        )
        .env("PAYMENTS_PLAIN_JSON", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("plain_json is for sandboxes only"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("SqwHmmXm1fZteI3URPtoyBWFJDMQ7FBQ"),
        "{stderr}"
    );

    let file = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        file.replace(
            "key = \"MCKOxv9B23r7EatArCFcBP03nfaS03T8\"",
            "key = \"SqwHmmXm1fZteI3URPtoyBWFJDMQ7FBQ\"",
        )
        .replacen("listen =", "plain_json = true\nlisten =", 1),
    )
    .unwrap();
    let out = server()
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain_json is for sandboxes only"));
}
