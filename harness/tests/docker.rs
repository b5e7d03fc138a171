//! `Database::docker()` (feature `docker`): the harness on a MariaDB container, one per
//! test process, shared by every harness of the process. Needs a Docker engine
//! (`DOCKER_HOST`) and the image of `PAYMENTS_TEST_MARIADB_IMAGE` (default: the official
//! `mariadb:10.11`); without them these tests fail, with the reason.

#![cfg(feature = "docker")]

mod common;

use payments_harness::{Database, Harness};

async fn harness() -> Harness {
    let harness = Harness::builder()
        .database(Database::docker())
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = harness.database_url();
    assert!(
        url.starts_with("mysql://root@127.0.0.1:") && !url.contains(":3306/"),
        "a database on the container's published port: {url}"
    );
    harness
}

// The flows of `harness.rs`, the same code, on the container's database.

#[tokio::test]
async fn card_payments_at_both_pgs_are_stored_and_read_back() {
    let harness = harness().await;
    common::card_payments_at_both_pgs_are_stored_and_read_back(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn deposits_reach_the_inbox() {
    let harness = harness().await;
    common::deposits_reach_the_inbox(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn a_client_that_is_down_gets_the_event_when_the_clock_moves() {
    let harness = harness().await;
    common::a_client_that_is_down_gets_the_event_when_the_clock_moves(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn billing_keys_register_at_both_pgs() {
    let harness = harness().await;
    common::billing_keys_register_at_both_pgs(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn portone_v2_payments_and_billing_keys_go_through_the_third_fake() {
    let harness = harness().await;
    common::portone_v2_payments_and_billing_keys_go_through_the_third_fake(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn harnesses_share_the_container_each_with_a_database_of_its_own() {
    let (a, b) = tokio::join!(harness(), harness());
    let (a_server, a_name) = a.database_url().rsplit_once('/').unwrap();
    let (b_server, b_name) = b.database_url().rsplit_once('/').unwrap();
    assert_eq!(a_server, b_server, "one container");
    assert_ne!(a_name, b_name, "a database each");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn an_image_that_is_not_there_is_named_in_the_error() {
    let error = Harness::builder()
        .database(Database::docker().image("localhost/payments-sandbox-absent", "0"))
        .start()
        .await
        .expect_err("no such image")
        .to_string();
    assert!(
        error.contains("localhost/payments-sandbox-absent:0 is not here and cannot be pulled"),
        "{error}"
    );
}

/// This test binary again, running one test, with `env`.
fn this_test_with(test: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", test, "--test-threads=1"]);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[test]
fn without_an_engine_the_tests_fail_saying_so() {
    let output = this_test_with(
        "card_payments_at_both_pgs_are_stored_and_read_back",
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("no Docker engine answers at unix:///nonexistent/docker.sock: start one"),
        "{stdout}"
    );
}
