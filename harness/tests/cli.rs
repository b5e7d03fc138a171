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
