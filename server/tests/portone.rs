//! The server's PortOne V2 flows over real HTTP against the fake PortOne V2, on SQLite and
//! on MariaDB: payments stored by `paymentId`, billing keys, cancels, and the signed
//! webhook intake.

mod support;

use std::time::Duration;

use payments_api::client::ClientError;
use payments_api::payments::*;
use payments_api::portone::{BillingKeyInfo, Payment as V2Payment};
use serde_json::json;
use support::{Inbox, PASSWORD, source};

const WAIT: Duration = Duration::from_secs(10);

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn create(payment_id: &str, source_id: &str, price: f64, hook: &str) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: PaymentVendor {
            code: VendorCode::PortOne,
            store_id: "store-1".into(),
            uid: payment_id.into(),
        },
        source: source(source_id),
        webhook_url: hook.into(),
        price,
        password: PASSWORD.into(),
    }
}

fn cancel(source_id: &str, price: f64, account: Option<RefundAccount>) -> PaymentCancelCreate {
    PaymentCancelCreate {
        source: source(source_id),
        password: PASSWORD.into(),
        price,
        reason: "고객 변심".into(),
        account,
    }
}

fn accessor(source_id: &str) -> PaymentSourceAccessor {
    PaymentSourceAccessor {
        source: source(source_id),
        password: PASSWORD.into(),
    }
}

fn status_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String) {
    let error = result.expect_err("an error");
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

/// The payment as the fake PortOne has it.
async fn at_pg(ctx: &support::Ctx, payment_id: &str) -> serde_json::Value {
    let (status, body) = ctx
        .portone_call(
            reqwest::Method::GET,
            &format!("/payments/{payment_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

on_both!(a_card_payment_is_fetched_stored_and_read_back, |ctx| {
    let payment_id = new_id();
    let order = new_id();
    ctx.portone_card(&payment_id, 30000).await;
    let history = ctx
        .client
        .create_history(&create(
            &payment_id,
            &order,
            30000.0,
            "http://127.0.0.1:9/hook",
        ))
        .await
        .unwrap();
    assert_eq!(history.vendor.code, VendorCode::PortOne);
    assert_eq!(history.price, 30000.0);
    assert_eq!(history.currency, "KRW");
    assert!(history.paid_at.is_some());
    assert!(history.refund.is_none());
    let PaymentData::PortOne(V2Payment::Paid(paid)) = &history.data else {
        panic!("a paid PortOne payment: {:?}", history.data)
    };
    assert_eq!(paid.base.id, payment_id);
    assert_eq!(paid.base.amount.total, 30000);
    assert_eq!(
        ctx.client.history_at(history.id, PASSWORD).await.unwrap(),
        history
    );
    assert_eq!(
        ctx.client
            .history_by_source(&accessor(&order))
            .await
            .unwrap(),
        history
    );
    // The same payment twice is refused.
    let again = ctx
        .client
        .create_history(&create(
            &payment_id,
            &new_id(),
            30000.0,
            "http://127.0.0.1:9/hook",
        ))
        .await;
    assert_eq!(status_of(again).0, 409);
});

on_both!(
    a_payment_of_the_wrong_amount_is_cancelled_at_the_pg_and_refused,
    |ctx| {
        let payment_id = new_id();
        ctx.portone_card(&payment_id, 30000).await;
        let refused = ctx
            .client
            .create_history(&create(
                &payment_id,
                &new_id(),
                3000.0,
                "http://127.0.0.1:9/hook",
            ))
            .await;
        assert_eq!(status_of(refused).0, 422);
        let payment = at_pg(&ctx, &payment_id).await;
        assert_eq!(payment["status"], "CANCELLED");
        assert_eq!(payment["amount"]["cancelled"], 30000);
        assert_eq!(ctx.rows("payment_histories").await, 0);
    }
);

on_both!(unknown_failed_and_unpaid_payments_are_refused, |ctx| {
    let unknown = ctx
        .client
        .create_history(&create(
            &new_id(),
            &new_id(),
            1000.0,
            "http://127.0.0.1:9/hook",
        ))
        .await;
    assert_eq!(status_of(unknown), (422, "pg_refused".into()));

    // The issuer declines the card in the payment window.
    let declined = new_id();
    let (status, body) = ctx
        .portone_call(
            reqwest::Method::POST,
            &format!("/internal/payments/{declined}"),
            Some(json!({"orderName": "x", "amount": {"total": 1000}, "cardNumber": "4330123412340002"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(at_pg(&ctx, &declined).await["status"], "FAILED");
    let failed = ctx
        .client
        .create_history(&create(
            &declined,
            &new_id(),
            1000.0,
            "http://127.0.0.1:9/hook",
        ))
        .await;
    assert_eq!(status_of(failed).0, 422);
    assert_eq!(ctx.rows("payment_histories").await, 0);
});

on_both!(
    cancels_take_part_or_all_and_an_over_cancel_changes_nothing,
    |ctx| {
        let payment_id = new_id();
        let order = new_id();
        ctx.portone_card(&payment_id, 20000).await;
        ctx.client
            .create_history(&create(
                &payment_id,
                &order,
                20000.0,
                "http://127.0.0.1:9/hook",
            ))
            .await
            .unwrap();
        let partial = ctx
            .client
            .cancel_history(&cancel(&order, 5000.0, None))
            .await
            .unwrap();
        assert_eq!(partial.refund, Some(5000.0));
        assert_eq!(partial.cancels.len(), 1);
        assert_eq!(partial.cancels[0].reason, "고객 변심");
        assert!(matches!(
            partial.data,
            PaymentData::PortOne(V2Payment::PartialCancelled(_))
        ));
        let over = ctx
            .client
            .cancel_history(&cancel(&order, 15001.0, None))
            .await;
        assert_eq!(status_of(over), (422, "pg_refused".into()));
        assert_eq!(at_pg(&ctx, &payment_id).await["amount"]["cancelled"], 5000);
        let full = ctx
            .client
            .cancel_history(&cancel(&order, 15000.0, None))
            .await
            .unwrap();
        assert_eq!(full.refund, Some(20000.0));
        assert_eq!(full.cancels.len(), 2);
        assert_eq!(
            full.cancelled_at, partial.cancelled_at,
            "the first cancel's time"
        );
        assert!(matches!(
            full.data,
            PaymentData::PortOne(V2Payment::Cancelled(_))
        ));
        assert_eq!(
            ctx.client
                .history_by_source(&accessor(&order))
                .await
                .unwrap(),
            full
        );
    }
);

on_both!(a_deposit_reaches_the_record_and_the_client, |ctx| {
    let inbox = Inbox::start().await;
    let payment_id = new_id();
    let order = new_id();
    ctx.portone_virtual_account(&payment_id, 25000).await;
    let issued = ctx
        .client
        .create_history(&create(&payment_id, &order, 25000.0, &inbox.url))
        .await
        .unwrap();
    assert!(issued.paid_at.is_none());
    assert!(matches!(
        issued.data,
        PaymentData::PortOne(V2Payment::VirtualAccountIssued(_))
    ));
    // The fake's signed Transaction.Paid webhook reaches the server before it answers.
    let (status, body) = ctx
        .portone_call(
            reqwest::Method::POST,
            &format!("/internal/payments/{payment_id}/deposit"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let paid = inbox.next(WAIT).await;
    assert_eq!(paid.event.source.id, order);
    assert!(paid.event.previous.paid_at.is_none());
    assert!(paid.event.current.paid_at.is_some());
    let stored = ctx
        .client
        .history_by_source(&accessor(&order))
        .await
        .unwrap();
    assert!(matches!(
        stored.data,
        PaymentData::PortOne(V2Payment::Paid(_))
    ));

    // Refunded to an account, as virtual accounts are.
    let refund = RefundAccount {
        bank: "SHINHAN".into(),
        account: "110-123-456789".into(),
        holder: "홍길동".into(),
        mobile: "010-1234-5678".into(),
    };
    let cancelled = ctx
        .client
        .cancel_history(&cancel(&order, 25000.0, Some(refund)))
        .await
        .unwrap();
    assert_eq!(cancelled.refund, Some(25000.0));
    let event = inbox.next(WAIT).await;
    assert_eq!(event.event.current.refund, Some(25000.0));
});

on_both!(a_billing_key_is_verified_stored_and_charged, |ctx| {
    let customer = new_id();
    let key = ctx.portone_billing_key(&customer).await;
    let input = PaymentReservationCreate {
        vendor: PaymentVendor {
            code: VendorCode::PortOne,
            store_id: "store-1".into(),
            uid: key.clone(),
        },
        source: PaymentSource {
            schema: "shop".into(),
            table: "customers".into(),
            id: customer.clone(),
        },
        title: "개인 카드".into(),
        password: PASSWORD.into(),
    };
    let reservation = ctx.client.create_reservation(&input).await.unwrap();
    let ReservationData::PortOne(BillingKeyInfo::Issued(info)) = &reservation.data else {
        panic!("an issued billing key: {:?}", reservation.data)
    };
    assert_eq!(info.billing_key, key);
    assert_eq!(
        ctx.client
            .reservation_at(reservation.id, PASSWORD)
            .await
            .unwrap(),
        reservation
    );

    // The merchant charges the key; the charge is stored as a payment.
    let payment_id = new_id();
    let (status, body) = ctx
        .portone_call(
            reqwest::Method::POST,
            &format!("/payments/{payment_id}/billing-key"),
            Some(json!({"billingKey": key, "orderName": "구독", "amount": {"total": 9900}, "currency": "KRW"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let order = new_id();
    let charged = ctx
        .client
        .create_history(&create(
            &payment_id,
            &order,
            9900.0,
            "http://127.0.0.1:9/hook",
        ))
        .await
        .unwrap();
    let PaymentData::PortOne(V2Payment::Paid(paid)) = &charged.data else {
        panic!("a paid charge")
    };
    assert_eq!(paid.base.billing_key.as_deref(), Some(key.as_str()));

    // A deleted key is refused; an unknown one too.
    let deleted = ctx.portone_billing_key(&customer).await;
    let (status, _) = ctx
        .portone_call(
            reqwest::Method::DELETE,
            &format!("/billing-keys/{deleted}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut again = input.clone();
    again.source.id = new_id();
    again.vendor.uid = deleted;
    assert_eq!(
        status_of(ctx.client.create_reservation(&again).await),
        (422, "pg_refused".into())
    );
    again.vendor.uid = "billing-key-unknown".into();
    assert_eq!(
        status_of(ctx.client.create_reservation(&again).await),
        (422, "pg_refused".into())
    );
});

on_both!(
    a_forged_or_stale_webhook_is_refused_and_changes_nothing,
    |ctx| {
        let inbox = Inbox::start().await;
        let payment_id = new_id();
        let order = new_id();
        ctx.portone_virtual_account(&payment_id, 25000).await;
        let issued = ctx
            .client
            .create_history(&create(&payment_id, &order, 25000.0, &inbox.url))
            .await
            .unwrap();
        let store_id = at_pg(&ctx, &payment_id).await["storeId"].clone();
        let body = json!({"type": "Transaction.Paid", "timestamp": "2026-01-01T00:00:00Z", "data": {"storeId": store_id, "paymentId": payment_id, "transactionId": "t"}}).to_string();
        let now = ctx.app().clock().now_ms() / 1000;
        let post = |headers: Vec<(&'static str, String)>| {
            let mut request = ctx
                .http
                .post(format!("{}/payments/webhooks/portone", ctx.url))
                .header("content-type", "application/json")
                .body(body.clone());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request.send()
        };
        let sign = |secret: &str, at: i64| {
            let key = payments_api::signature::secret_key(secret).unwrap();
            vec![
                ("webhook-id", "msg_forged".to_owned()),
                ("webhook-timestamp", at.to_string()),
                (
                    "webhook-signature",
                    payments_api::signature::sign(&key, "msg_forged", at, &body),
                ),
            ]
        };
        // Unsigned, signed with another secret, signed too long ago.
        let unsigned = post(vec![]).await.unwrap();
        assert_eq!(unsigned.status(), 401);
        let error: serde_json::Value = unsigned.json().await.unwrap();
        assert_eq!(error["code"], "bad_signature");
        let forged = post(sign("whsec_Zm9yZ2VkLXNlY3JldA==", now)).await.unwrap();
        assert_eq!(forged.status(), 401);
        let genuine_secret = ctx.portone.config().webhook_secret.clone();
        let stale = post(sign(&genuine_secret, now - 3600)).await.unwrap();
        assert_eq!(stale.status(), 401);
        assert_eq!(
            ctx.client.history_at(issued.id, PASSWORD).await.unwrap(),
            issued
        );
        assert!(inbox.try_next().await.is_none(), "no client event");

        // Signed with the store's secret, it is taken; the payment is re-read from the PG,
        // still waiting for its deposit, so nothing changes either.
        let genuine = post(sign(&genuine_secret, now)).await.unwrap();
        assert_eq!(genuine.status(), 200);
        assert_eq!(
            ctx.client.history_at(issued.id, PASSWORD).await.unwrap(),
            issued
        );
    }
);
