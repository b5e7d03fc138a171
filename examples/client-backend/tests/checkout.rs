//! The shop's checkout, tested end to end against the sandbox: no real PG, no browser.

use std::time::Duration;

use client_backend_example::Checkout;
use payments_harness::Harness;

#[tokio::test]
async fn a_paid_order_is_kept_read_back_and_partly_refunded() {
    let harness = Harness::start().await.unwrap();
    let checkout = Checkout::new(
        harness.client().clone(),
        harness.inbox().url(),
        "shop-secret",
    );

    // The customer pays 30,000 won by card in Toss's window.
    let payment_key = harness
        .toss()
        .card_payment("order-1001", 30000)
        .await
        .unwrap();
    let payment = checkout
        .paid_with_toss("order-1001", &payment_key, 30000.0)
        .await
        .unwrap();
    assert!(payment.paid_at.is_some());
    assert_eq!(checkout.payment_of("order-1001").await.unwrap(), payment);

    // A partial refund; the shop's webhook hears of it.
    let refunded = checkout
        .refund("order-1001", 10000.0, "one item returned")
        .await
        .unwrap();
    assert_eq!(refunded.refund, Some(10000.0));
    let event = harness.inbox().next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(event.event.previous.refund, None);
    assert_eq!(event.event.current.refund, Some(10000.0));
    harness.shutdown().await;
}

#[tokio::test]
async fn a_tampered_amount_is_refused() {
    let harness = Harness::start().await.unwrap();
    let checkout = Checkout::new(
        harness.client().clone(),
        harness.inbox().url(),
        "shop-secret",
    );
    let payment_key = harness
        .toss()
        .card_payment("order-1002", 30000)
        .await
        .unwrap();
    let refused = checkout
        .paid_with_toss("order-1002", &payment_key, 300.0)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(422));
    harness.shutdown().await;
}
