//! Money safe under failure, over real HTTP against both fakes, on SQLite and on MariaDB:
//! cancels happen once at the PG whatever is lost or retried, amounts are whole, a busy
//! or slow PG answers a retryable error within one deadline.

mod support;

use std::time::Duration;

use payments_api::client::ClientError;
use payments_api::payments::*;
use reqwest::Method;
use serde_json::json;
use support::{PASSWORD, source};

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn create(code: VendorCode, uid: &str, source_id: &str, price: f64) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: PaymentVendor {
            code,
            store_id: "store-1".into(),
            uid: uid.into(),
        },
        source: source(source_id),
        webhook_url: "http://127.0.0.1:9/hook".into(),
        price,
        password: PASSWORD.into(),
    }
}

fn cancel(source_id: &str, price: f64) -> PaymentCancelCreate {
    PaymentCancelCreate {
        source: source(source_id),
        password: PASSWORD.into(),
        price,
        reason: "고객 변심".into(),
        account: None,
    }
}

fn status_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String) {
    let error = result.expect_err("an error");
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

/// A paid card payment at the PG of `code`, stored at the server: its source id and PG id.
async fn paid(ctx: &support::Ctx, code: VendorCode, amount: u32) -> (String, String) {
    let order = uuid();
    let uid = match code {
        VendorCode::TossPayments => ctx.toss_card(&order, amount).await,
        VendorCode::Iamport => ctx.iamport_card(&order, amount).await,
        VendorCode::PortOne => {
            let id = uuid();
            ctx.portone_card(&id, amount).await;
            id
        }
    };
    ctx.client
        .create_history(&create(code, &uid, &order, f64::from(amount)))
        .await
        .unwrap();
    (order, uid)
}

/// The PG's own view of a payment: its cancels' amounts.
async fn pg_cancels(ctx: &support::Ctx, code: VendorCode, uid: &str) -> Vec<f64> {
    match code {
        VendorCode::TossPayments => {
            let (_, body) = ctx
                .toss_call(Method::GET, &format!("/v1/payments/{uid}"), None)
                .await;
            body["cancels"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|c| c["cancelAmount"].as_f64().unwrap())
                        .collect()
                })
                .unwrap_or_default()
        }
        VendorCode::Iamport => {
            let (_, body) = ctx
                .iamport_call(Method::GET, &format!("/payments/{uid}"), None)
                .await;
            body["response"]["cancel_history"]
                .as_array()
                .map(|c| c.iter().map(|c| c["amount"].as_f64().unwrap()).collect())
                .unwrap_or_default()
        }
        VendorCode::PortOne => {
            let (_, body) = ctx
                .portone_call(Method::GET, &format!("/payments/{uid}"), None)
                .await;
            body["cancellations"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|c| c["totalAmount"].as_f64().unwrap())
                        .collect()
                })
                .unwrap_or_default()
        }
    }
}

/// Makes the PG of `code` do the next cancel of `uid` and then answer it too late for the
/// server (the test's PG timeout is 1 s).
async fn answer_next_cancel_late(ctx: &support::Ctx, code: VendorCode, uid: &str) {
    let rule = |path: String| json!({"method": "POST", "path": path, "action": "late", "ms": 1500});
    let (status, body) = match code {
        VendorCode::TossPayments => {
            let path = format!("/v1/payments/{uid}/cancel");
            ctx.toss_call(Method::POST, "/internal/faults", Some(rule(path)))
                .await
        }
        VendorCode::Iamport => {
            let path = "/payments/cancel".to_owned();
            ctx.iamport_call(Method::POST, "/internal/faults", Some(rule(path)))
                .await
        }
        VendorCode::PortOne => {
            let path = format!("/payments/{uid}/cancel");
            ctx.portone_call(Method::POST, "/internal/faults", Some(rule(path)))
                .await
        }
    };
    assert_eq!(status, 201, "{body}");
}

const CODES: [VendorCode; 3] = [
    VendorCode::TossPayments,
    VendorCode::Iamport,
    VendorCode::PortOne,
];

on_both!(a_retried_cancel_whose_answer_was_lost_refunds_once, |ctx| {
    for code in CODES {
        let (order, uid) = paid(&ctx, code, 20000).await;
        let key = uuid();
        answer_next_cancel_late(&ctx, code, &uid).await;
        let lost = ctx
            .client
            .cancel_history_once(&cancel(&order, 5000.0), &key)
            .await;
        assert_eq!(status_of(lost), (504, "pg_timeout".into()), "{code}");
        assert_eq!(
            pg_cancels(&ctx, code, &uid).await,
            [5000.0],
            "{code}: the PG did it"
        );

        // The client retries the same cancel under the same key: answered, not redone.
        let retried = ctx
            .client
            .cancel_history_once(&cancel(&order, 5000.0), &key)
            .await
            .unwrap();
        assert_eq!(retried.refund, Some(5000.0), "{code}");
        assert_eq!(retried.cancels.len(), 1, "{code}");
        let again = ctx
            .client
            .cancel_history_once(&cancel(&order, 5000.0), &key)
            .await
            .unwrap();
        assert_eq!(again.refund, Some(5000.0), "{code}");
        assert_eq!(pg_cancels(&ctx, code, &uid).await, [5000.0], "{code}: once");

        // The same key for another cancel is refused; a new key is a new cancel.
        let reused = ctx
            .client
            .cancel_history_once(&cancel(&order, 3000.0), &key)
            .await;
        assert_eq!(
            status_of(reused),
            (422, "idempotency_key_reused".into()),
            "{code}"
        );
        let second = ctx
            .client
            .cancel_history_once(&cancel(&order, 5000.0), &uuid())
            .await
            .unwrap();
        assert_eq!(second.refund, Some(10000.0), "{code}");
        assert_eq!(
            pg_cancels(&ctx, code, &uid).await,
            [5000.0, 5000.0],
            "{code}"
        );
    }
});

on_both!(a_refused_cancel_is_answered_the_same_on_retry, |ctx| {
    for code in CODES {
        let (order, uid) = paid(&ctx, code, 1000).await;
        let key = uuid();
        let over = ctx
            .client
            .cancel_history_once(&cancel(&order, 2000.0), &key)
            .await;
        assert_eq!(status_of(over), (422, "pg_refused".into()), "{code}");
        // Even once the payment could be cancelled for that much, the key's answer stays.
        let retried = ctx
            .client
            .cancel_history_once(&cancel(&order, 2000.0), &key)
            .await;
        assert_eq!(status_of(retried), (422, "pg_refused".into()), "{code}");
        assert!(pg_cancels(&ctx, code, &uid).await.is_empty(), "{code}");
    }
});

on_both!(
    an_interrupted_cancel_blocks_the_next_until_settled_from_the_pg,
    |ctx| {
        for code in CODES {
            let (order, uid) = paid(&ctx, code, 20000).await;
            answer_next_cancel_late(&ctx, code, &uid).await;
            let lost = ctx.client.cancel_history(&cancel(&order, 5000.0)).await;
            assert_eq!(status_of(lost), (504, "pg_timeout".into()), "{code}");

            // Its outcome is unknown to the server: another cancel waits for it…
            let next = ctx.client.cancel_history(&cancel(&order, 1000.0)).await;
            assert_eq!(
                status_of(next),
                (409, "cancel_in_progress".into()),
                "{code}"
            );
            // …until the sweep settles it from the PG, once no request can still be under way.
            assert_eq!(
                ctx.app().sweep_cancels().await.unwrap(),
                0,
                "{code}: too early"
            );
            ctx.advance(Duration::from_secs(60));
            assert_eq!(ctx.app().sweep_cancels().await.unwrap(), 1, "{code}");
            let history = ctx
                .client
                .cancel_history(&cancel(&order, 1000.0))
                .await
                .unwrap();
            assert_eq!(history.refund, Some(6000.0), "{code}");
            assert_eq!(
                pg_cancels(&ctx, code, &uid).await,
                [5000.0, 1000.0],
                "{code}"
            );
        }
        let states = ctx
            .scalars("SELECT state FROM payment_cancel_intents ORDER BY created_at")
            .await;
        // Two cancels of each PG, both settled.
        assert_eq!(states, vec!["done"; 2 * CODES.len()]);
    }
);

on_both!(amounts_are_whole_units, |ctx| {
    let (order, uid) = paid(&ctx, VendorCode::TossPayments, 1000).await;
    for price in [0.1, 1e-320, -1.0, 0.0, 999.5, 1e300] {
        let refused = ctx.client.cancel_history(&cancel(&order, price)).await;
        assert_eq!(
            status_of(refused),
            (400, "invalid_amount".into()),
            "{price}"
        );
    }
    assert!(
        pg_cancels(&ctx, VendorCode::TossPayments, &uid)
            .await
            .is_empty()
    );
    let order = uuid();
    let key = ctx.toss_card(&order, 1000).await;
    for price in [0.5, -1.0, 1e-320] {
        let refused = ctx
            .client
            .create_history(&create(VendorCode::TossPayments, &key, &order, price))
            .await;
        assert_eq!(
            status_of(refused),
            (400, "invalid_amount".into()),
            "{price}"
        );
    }
    assert_eq!(ctx.rows("payment_cancel_intents").await, 0);
    assert_eq!(ctx.rows("payment_histories").await, 1);
});

on_both!(a_busy_pg_is_a_retryable_503, |ctx| {
    let order = uuid();
    let key = ctx.toss_card(&order, 1000).await;
    let (status, _) = ctx
        .toss_call(
            Method::POST,
            "/internal/faults",
            Some(json!({"path": "/v1/payments/confirm", "action": "error", "code": "TOO_MANY_REQUESTS", "status": 429})),
        )
        .await;
    assert_eq!(status, 201);
    let body = create(VendorCode::TossPayments, &key, &order, 1000.0);
    let (status, retry_after, answer) = ctx
        .raw_with_headers(
            Method::POST,
            "/payments/histories",
            &serde_json::to_value(&body).unwrap(),
        )
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["code"], "pg_unavailable");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Nothing happened: the retry succeeds.
    ctx.client.create_history(&body).await.unwrap();
});

on_both!(one_deadline_bounds_token_and_call_together, |ctx| {
    // Each call answers within the 1 s timeout; together they take longer than the deadline.
    ctx.config.pg.deadline_seconds = 1.2;
    let order = uuid();
    let uid = ctx.iamport_card(&order, 1000).await;
    // A server with no access token yet: it needs one before it can read the payment.
    ctx.restart().await;
    for path in ["/users/getToken".to_owned(), format!("/payments/{uid}")] {
        let (status, _) = ctx
            .iamport_call(
                Method::POST,
                "/internal/faults",
                Some(json!({"path": path, "action": "delay", "ms": 800})),
            )
            .await;
        assert_eq!(status, 201);
    }
    let slow = ctx
        .client
        .create_history(&create(VendorCode::Iamport, &uid, &order, 1000.0))
        .await;
    assert_eq!(status_of(slow), (504, "pg_timeout".into()));
    assert_eq!(ctx.rows("payment_histories").await, 0);
});
