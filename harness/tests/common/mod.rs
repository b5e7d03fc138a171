//! The harness's flows as a client backend's test suite runs them, shared by `harness.rs`
//! (a harness of the defaults, and the other databases) and `docker.rs` (a harness on a
//! MariaDB container), so both run the same flow code.

use std::time::Duration;

use payments_api::payments::*;
use payments_harness::Harness;

/// How long a flow waits for a webhook at the inbox.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn history(
    code: VendorCode,
    uid: &str,
    order: &str,
    price: f64,
    hook: &str,
) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: PaymentVendor {
            code,
            store_id: "shop".into(),
            uid: uid.into(),
        },
        source: PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: order.into(),
        },
        webhook_url: hook.into(),
        price,
        password: "secret".into(),
    }
}

pub fn order() -> String {
    format!("order-{}", uuid::Uuid::new_v4().simple())
}

/// Stores a payment made at the PG through the server and checks that it reads back as
/// stored; answers the stored payment.
pub async fn store_and_read_back(
    harness: &Harness,
    code: VendorCode,
    uid: &str,
    order: &str,
    price: f64,
) -> PaymentHistory {
    let stored = harness
        .client()
        .create_history(&history(code, uid, order, price, harness.inbox().url()))
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
    stored
}

/// Card payments at Toss and I'mport, stored at the server and read back as stored.
pub async fn card_payments_at_both_pgs_are_stored_and_read_back(harness: &Harness) {
    let toss_order = order();
    let key = harness
        .toss()
        .card_payment(&toss_order, 15000)
        .await
        .unwrap();
    let stored = store_and_read_back(
        harness,
        VendorCode::TossPayments,
        &key,
        &toss_order,
        15000.0,
    )
    .await;
    assert!(stored.paid_at.is_some());

    let iamport_order = order();
    let imp_uid = harness
        .iamport()
        .card_payment(&iamport_order, 20000)
        .await
        .unwrap();
    let stored = store_and_read_back(
        harness,
        VendorCode::Iamport,
        &imp_uid,
        &iamport_order,
        20000.0,
    )
    .await;
    assert_eq!(stored.price, 20000.0);
}

/// Virtual-account deposits at both PGs: the server relays each to the inbox, the stored
/// payment reads as paid, and the inbox hands out an order's event ahead of earlier ones.
pub async fn deposits_reach_the_inbox(harness: &Harness) {
    let toss_order = order();
    let key = harness
        .toss()
        .virtual_account(&toss_order, 9900)
        .await
        .unwrap();
    let toss_stored = harness
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
    assert!(toss_stored.paid_at.is_none(), "not paid before the deposit");
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
    let read = harness
        .client()
        .history_at(toss_stored.id, "secret")
        .await
        .unwrap();
    assert_eq!(read.paid_at, toss_event.event.current.paid_at);
    let iamport_event = harness.inbox().next(WAIT).await.unwrap();
    assert_eq!(iamport_event.event.source.id, iamport_order);
    assert!(harness.inbox().try_next().await.is_none());
}

/// A client that answers 503 gets the event on the retry the moved clock makes due.
pub async fn a_client_that_is_down_gets_the_event_when_the_clock_moves(harness: &Harness) {
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
}

/// Billing keys issued at both PGs and stored as reservations.
pub async fn billing_keys_register_at_both_pgs(harness: &Harness) {
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
}

/// PortOne V2: a card payment, a virtual-account deposit relayed to the inbox, and a
/// billing key charged, each stored at the server.
pub async fn portone_v2_payments_and_billing_keys_go_through_the_third_fake(harness: &Harness) {
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
    let stored =
        store_and_read_back(harness, VendorCode::PortOne, &card, &card_order, 12000.0).await;
    assert!(stored.paid_at.is_some());

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
}
