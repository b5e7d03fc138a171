//! The harness as a client backend's test suite uses it.

use std::time::Duration;

mod common;

use common::{history, order};
use payments_api::payments::*;
use payments_harness::{Database, Harness};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn card_payments_at_both_pgs_are_stored_and_read_back() {
    let harness = Harness::start().await.unwrap();
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
    assert_eq!(stored.price, 20000.0);
    harness.shutdown().await;
}

#[tokio::test]
async fn deposits_reach_the_inbox() {
    let harness = Harness::start().await.unwrap();
    let toss_order = order();
    let key = harness
        .toss()
        .virtual_account(&toss_order, 9900)
        .await
        .unwrap();
    harness
        .client()
        .create_history(&history(
            VendorCode::TossPayments,
            &key,
            &toss_order,
            9900.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    let iamport_order = order();
    let imp_uid = harness
        .iamport()
        .virtual_account(&iamport_order, 19900)
        .await
        .unwrap();
    harness
        .client()
        .create_history(&history(
            VendorCode::Iamport,
            &imp_uid,
            &iamport_order,
            19900.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    harness.iamport().deposit(&imp_uid).await.unwrap();
    harness.toss().deposit(&key).await.unwrap();
    // Filtered: the Toss event first, although the I'mport one came first.
    let toss_event = harness.inbox().next_for(&toss_order, WAIT).await.unwrap();
    assert!(
        toss_event.event.previous.paid_at.is_none() && toss_event.event.current.paid_at.is_some()
    );
    let iamport_event = harness.inbox().next(WAIT).await.unwrap();
    assert_eq!(iamport_event.event.source.id, iamport_order);
    assert!(harness.inbox().try_next().await.is_none());
    harness.shutdown().await;
}

#[tokio::test]
async fn a_client_that_is_down_gets_the_event_when_the_clock_moves() {
    let harness = Harness::start().await.unwrap();
    harness.inbox().answer(503);
    let order = order();
    let key = harness.toss().virtual_account(&order, 5000).await.unwrap();
    harness
        .client()
        .create_history(&history(
            VendorCode::TossPayments,
            &key,
            &order,
            5000.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    harness.toss().deposit(&key).await.unwrap();
    let refused = harness.inbox().next(Duration::from_millis(300)).await;
    assert!(refused.is_err(), "the client was down");
    harness.inbox().answer(200);
    harness.advance_server_clock(Duration::from_secs(15));
    let event = harness.inbox().next(WAIT).await.unwrap();
    assert_eq!(event.event.source.id, order);
    harness.shutdown().await;
}

#[tokio::test]
async fn billing_keys_register_at_both_pgs() {
    let harness = Harness::start().await.unwrap();
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
    harness
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
                id: customer_uid,
            },
            title: "카드".into(),
            password: "secret".into(),
        })
        .await
        .unwrap();
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
    let portone = &harness.discovery()["fakes"]["portone"];
    assert_eq!(portone["url"], harness.portone_url());
    assert_eq!(
        portone["credentials"]["api_secret"],
        payments_harness::PORTONE_API_SECRET
    );

    // A card payment, named by the store's own paymentId.
    let card_order = order();
    let card = format!("pay-{}", uuid::Uuid::new_v4().simple());
    harness.portone().card_payment(&card, 12000).await.unwrap();
    let stored = harness
        .client()
        .create_history(&history(
            VendorCode::PortOne,
            &card,
            &card_order,
            12000.0,
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

    // A virtual account, its deposit signed by the fake and relayed to the inbox.
    let account_order = order();
    let account = format!("pay-{}", uuid::Uuid::new_v4().simple());
    harness
        .portone()
        .virtual_account(&account, 9900)
        .await
        .unwrap();
    harness
        .client()
        .create_history(&history(
            VendorCode::PortOne,
            &account,
            &account_order,
            9900.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    harness.portone().deposit(&account).await.unwrap();
    let event = harness
        .inbox()
        .next_for(&account_order, WAIT)
        .await
        .unwrap();
    assert!(event.event.previous.paid_at.is_none() && event.event.current.paid_at.is_some());

    // A billing key registered, charged, and the charge stored.
    let key = harness.portone().billing_key("customer-1").await.unwrap();
    let charge = format!("pay-{}", uuid::Uuid::new_v4().simple());
    harness.portone().charge(&charge, &key, 4900).await.unwrap();
    let charged = harness
        .client()
        .create_history(&history(
            VendorCode::PortOne,
            &charge,
            &order(),
            4900.0,
            harness.inbox().url(),
        ))
        .await
        .unwrap();
    assert_eq!(charged.price, 4900.0);
    harness.shutdown().await;
}
