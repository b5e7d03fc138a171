//! The harness as a client backend's test suite uses it: the shared flows (`common`) on a
//! harness of the defaults, harnesses side by side, and each kind of database.

mod common;

use common::{history, order};
use payments_api::payments::*;
use payments_harness::{Database, Harness};

#[tokio::test]
async fn card_payments_at_both_pgs_are_stored_and_read_back() {
    let harness = Harness::start().await.unwrap();
    common::card_payments_at_both_pgs_are_stored_and_read_back(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn deposits_reach_the_inbox() {
    let harness = Harness::start().await.unwrap();
    common::deposits_reach_the_inbox(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn a_client_that_is_down_gets_the_event_when_the_clock_moves() {
    let harness = Harness::start().await.unwrap();
    common::a_client_that_is_down_gets_the_event_when_the_clock_moves(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn billing_keys_register_at_both_pgs() {
    let harness = Harness::start().await.unwrap();
    common::billing_keys_register_at_both_pgs(&harness).await;
    harness.shutdown().await;
}

#[tokio::test]
async fn harnesses_run_side_by_side() {
    let (a, b) = tokio::join!(Harness::start(), Harness::start());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.payments_url(), b.payments_url());
    let order = order();
    let key = a.toss().card_payment(&order, 1000).await.unwrap();
    let refused = b
        .client()
        .create_history(&history(
            VendorCode::TossPayments,
            &key,
            &order,
            1000.0,
            b.inbox().url(),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        refused.status(),
        Some(422),
        "b's fake Toss knows nothing of a's payment"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_mariadb_database_is_made_per_harness_and_dropped() {
    let harness = Harness::builder()
        .database(Database::AnyMariaDb)
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (server, _) = harness.database_url().rsplit_once('/').unwrap();
    let server = server.to_owned();
    // Keeps a server this process started for the tests running past the first harness.
    let keeper = Harness::builder()
        .database(Database::AnyMariaDb)
        .start()
        .await
        .unwrap();
    let order = order();
    let key = harness.toss().card_payment(&order, 1000).await.unwrap();
    harness
        .client()
        .create_history(&history(
            VendorCode::TossPayments,
            &key,
            &order,
            1000.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    let name = harness
        .database_url()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(name.starts_with("payments_h_"), "{name}");
    assert!(harness_databases(&server).await.contains(&name));
    harness.shutdown().await;
    assert!(
        !harness_databases(&server).await.contains(&name),
        "its database was dropped"
    );
    keeper.shutdown().await;
}

async fn harness_databases(server: &str) -> Vec<String> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(server).await.unwrap();
    let rows = sqlx::query("SHOW DATABASES LIKE 'payments\\_h\\_%'")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn a_private_mariadbd_serves_one_harness() {
    let harness = Harness::builder()
        .database(Database::PrivateMariaDb)
        .start()
        .await
        .unwrap();
    let order = order();
    let imp_uid = harness.iamport().card_payment(&order, 3000).await.unwrap();
    let stored = harness
        .client()
        .create_history(&history(
            VendorCode::Iamport,
            &imp_uid,
            &order,
            3000.0,
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
async fn portone_v2_payments_and_billing_keys_go_through_the_third_fake() {
    let harness = Harness::start().await.unwrap();
    common::portone_v2_payments_and_billing_keys_go_through_the_third_fake(&harness).await;
    harness.shutdown().await;
}
