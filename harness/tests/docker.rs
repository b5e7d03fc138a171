//! `Database::docker()` (feature `docker`): the harness on a MariaDB container, one per
//! test process, shared by every harness of the process. Needs a Docker engine
//! (`DOCKER_HOST`) and the image of `PAYMENTS_TEST_MARIADB_IMAGE` (default: the official
//! `mariadb:10.11`); without them these tests fail, with the reason.

#![cfg(feature = "docker")]

use std::time::Duration;

mod common;

use common::{history, order};
use payments_api::payments::*;
use payments_harness::{Database, Harness};

const WAIT: Duration = Duration::from_secs(10);

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

#[tokio::test]
async fn card_payments_are_stored_and_read_back() {
    let harness = harness().await;
    let toss_order = order();
    let key = harness
        .toss()
        .card_payment(&toss_order, 15000)
        .await
        .unwrap();
    let stored = harness
        .client()
        .create_history(&history(
            VendorCode::TossPayments,
            &key,
            &toss_order,
            15000.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    assert!(stored.paid_at.is_some());
    assert_eq!(
        harness
            .client()
            .history_at(stored.id, "secret")
            .await
            .unwrap(),
        stored
    );
    let iamport_order = order();
    let imp_uid = harness
        .iamport()
        .card_payment(&iamport_order, 20000)
        .await
        .unwrap();
    let stored = harness
        .client()
        .create_history(&history(
            VendorCode::Iamport,
            &imp_uid,
            &iamport_order,
            20000.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    assert_eq!(
        harness
            .client()
            .history_at(stored.id, "secret")
            .await
            .unwrap(),
        stored
    );
    harness.shutdown().await;
}

#[tokio::test]
async fn a_virtual_account_deposit_reaches_the_inbox() {
    let harness = harness().await;
    let order = order();
    let key = harness.toss().virtual_account(&order, 9900).await.unwrap();
    let stored = harness
        .client()
        .create_history(&history(
            VendorCode::TossPayments,
            &key,
            &order,
            9900.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    assert!(stored.paid_at.is_none(), "not paid before the deposit");
    harness.toss().deposit(&key).await.unwrap();
    let event = harness.inbox().next_for(&order, WAIT).await.unwrap();
    assert!(event.event.previous.paid_at.is_none());
    assert!(event.event.current.paid_at.is_some());
    let read = harness
        .client()
        .history_at(stored.id, "secret")
        .await
        .unwrap();
    assert_eq!(read.paid_at, event.event.current.paid_at);
    harness.shutdown().await;
}

#[tokio::test]
async fn billing_keys_register_at_both_pgs() {
    let harness = harness().await;
    let customer = order();
    let billing_key = harness.toss().billing_key(&customer).await.unwrap();
    let reservation = harness
        .client()
        .create_reservation(&PaymentReservationCreate {
            vendor: PaymentVendor {
                code: VendorCode::TossPayments,
                store_id: "shop".into(),
                uid: billing_key,
            },
            source: PaymentSource {
                schema: "shop".into(),
                table: "customers".into(),
                id: customer.clone(),
            },
            title: "카드".into(),
            password: "secret".into(),
        })
        .await
        .unwrap();
    assert_eq!(reservation.source.id, customer);
    let customer_uid = order();
    harness.iamport().billing_key(&customer_uid).await.unwrap();
    let reservation = harness
        .client()
        .create_reservation(&PaymentReservationCreate {
            vendor: PaymentVendor {
                code: VendorCode::Iamport,
                store_id: "shop".into(),
                uid: customer_uid.clone(),
            },
            source: PaymentSource {
                schema: "shop".into(),
                table: "customers".into(),
                id: customer_uid.clone(),
            },
            title: "카드".into(),
            password: "secret".into(),
        })
        .await
        .unwrap();
    assert_eq!(reservation.source.id, customer_uid);
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
        "card_payments_are_stored_and_read_back",
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("no Docker engine answers at unix:///nonexistent/docker.sock: start one"),
        "{stdout}"
    );
}
