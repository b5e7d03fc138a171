//! PG events in, client events out: the fakes notify the server, the server re-reads the
//! PG and relays `{previous, current}` to the client's endpoint, signed, durably.

mod support;

use std::time::Duration;

use payments_api::payments::*;
use payments_fakes::Fake as _;
use serde_json::json;
use support::{Inbox, PASSWORD};

const WAIT: Duration = Duration::from_secs(10);

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn create(
    code: VendorCode,
    uid: &str,
    source_id: &str,
    price: f64,
    hook: &str,
) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: PaymentVendor {
            code,
            store_id: "store-1".into(),
            uid: uid.into(),
        },
        source: PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: source_id.into(),
        },
        webhook_url: hook.into(),
        price,
        password: PASSWORD.into(),
    }
}

fn accessor(source_id: &str) -> PaymentSourceAccessor {
    PaymentSourceAccessor {
        source: PaymentSource {
            schema: "shop".into(),
            table: "orders".into(),
            id: source_id.into(),
        },
        password: PASSWORD.into(),
    }
}

fn account() -> RefundAccount {
    RefundAccount {
        bank: "신한은행".into(),
        account: "110-123-456789".into(),
        holder: "홍길동".into(),
        mobile: "010-1234-5678".into(),
    }
}

/// A virtual account stored unpaid at the server; returns its PG id.
async fn stored_virtual_account(
    ctx: &support::Ctx,
    code: VendorCode,
    order: &str,
    hook: &str,
) -> String {
    let uid = match code {
        VendorCode::TossPayments => ctx.toss_virtual_account(order, 25000).await,
        VendorCode::Iamport => ctx.iamport_vbank(order, 25000).await,
        VendorCode::PortOne => {
            let id = uuid();
            ctx.portone_virtual_account(&id, 25000).await;
            id
        }
    };
    let history = ctx
        .client
        .create_history(&create(code, &uid, order, 25000.0, hook))
        .await
        .unwrap();
    assert!(history.paid_at.is_none());
    uid
}

async fn deposit(ctx: &support::Ctx, code: VendorCode, uid: &str) {
    let (status, body) = match code {
        VendorCode::TossPayments => {
            ctx.toss_call(
                reqwest::Method::PUT,
                &format!("/internal/{uid}/deposit"),
                None,
            )
            .await
        }
        VendorCode::Iamport => {
            ctx.iamport_call(
                reqwest::Method::PUT,
                &format!("/internal/deposit/{uid}"),
                None,
            )
            .await
        }
        VendorCode::PortOne => {
            ctx.portone_call(
                reqwest::Method::POST,
                &format!("/internal/payments/{uid}/deposit"),
                Some(serde_json::json!({})),
            )
            .await
        }
    };
    assert_eq!(status, 200, "{body}");
}

on_both!(a_deposit_and_a_cancel_reach_the_client_signed, |ctx| {
    let inbox = Inbox::start().await;
    for code in [VendorCode::TossPayments, VendorCode::Iamport] {
        let order = uuid();
        let uid = stored_virtual_account(&ctx, code, &order, &inbox.url).await;
        deposit(&ctx, code, &uid).await;

        let paid = inbox.next(WAIT).await;
        assert_eq!(
            paid.id,
            paid.event.id.to_string(),
            "webhook-id is the event's id"
        );
        assert_eq!(paid.event.source.id, order);
        assert_eq!(paid.event.previous.id, paid.event.current.id);
        assert!(paid.event.previous.paid_at.is_none(), "{code}");
        assert!(paid.event.current.paid_at.is_some(), "{code}");

        ctx.client
            .cancel_history(&PaymentCancelCreate {
                source: accessor(&order).source,
                password: PASSWORD.into(),
                price: 25000.0,
                reason: "환불".into(),
                account: Some(account()),
            })
            .await
            .unwrap();
        let cancelled = inbox.next(WAIT).await;
        assert_eq!(
            cancelled.event.previous, paid.event.current,
            "previous is what the client last saw"
        );
        assert_eq!(cancelled.event.current.refund, Some(25000.0));
        assert!(cancelled.event.current.cancelled_at.is_some());

        // The PG's own cancel notification changed nothing more: two events in all, both
        // recorded as delivered once the client has answered.
        wait_until(|| async {
            let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
            events
                .iter()
                .all(|e| e.state == WebhookEventState::Delivered)
        })
        .await;
        let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
        assert_eq!(events.len(), 2, "{code}: {events:?}");
        assert!(
            events
                .iter()
                .all(|e| e.state == WebhookEventState::Delivered)
        );
        assert_eq!(events[0].id, paid.event.id);
        assert_eq!(events[0].attempts.len(), 1);
        assert_eq!(events[0].attempts[0].status, Some(200));
    }
});

on_both!(
    repeated_and_concurrent_pg_events_make_one_client_event,
    |ctx| {
        let inbox = Inbox::start().await;
        let order = uuid();
        let key = ctx.toss_card(&order, 10000).await;
        ctx.client
            .create_history(&create(
                VendorCode::TossPayments,
                &key,
                &order,
                10000.0,
                &inbox.url,
            ))
            .await
            .unwrap();
        // A cancel in Toss's console: the fake changes, its notification is held back…
        let (status, _) = ctx
            .toss_call(
                reqwest::Method::PUT,
                "/internal/merchant",
                Some(json!({"webhookUrl": null})),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = ctx
            .toss_call(
                reqwest::Method::POST,
                &format!("/v1/payments/{key}/cancel"),
                Some(json!({"cancelReason": "콘솔 취소", "cancelAmount": 3000})),
            )
            .await;
        assert_eq!(status, 200);
        // …then arrives five times at once, and once more later.
        let notification = json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-24T10:00:00.000000", "data": {"paymentKey": key}});
        let mut posts = Vec::new();
        for _ in 0..5 {
            let http = ctx.http.clone();
            let url = format!("{}/payments/webhooks/toss", ctx.url);
            let body = notification.clone();
            posts.push(tokio::spawn(async move {
                http.post(url).json(&body).send().await.unwrap().status()
            }));
        }
        for post in posts {
            assert_eq!(post.await.unwrap(), 200);
        }
        let again = ctx
            .http
            .post(format!("{}/webhooks/toss", ctx.url))
            .json(&notification)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 200, "the legacy path takes it too");

        let event = inbox.next(WAIT).await;
        assert_eq!(event.event.current.refund, Some(3000.0));
        assert_eq!(event.event.current.cancels[0].reason, "콘솔 취소");
        let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
        assert_eq!(events.len(), 1, "{events:?}");

        // A forged body changes nothing: the server asks the PG.
        let forged = ctx
            .http
            .post(format!("{}/payments/webhooks/iamport", ctx.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("imp_uid=imp_000000000000&merchant_uid=x&status=paid")
            .send()
            .await
            .unwrap();
        assert_eq!(
            forged.status(),
            200,
            "acknowledged, and ignored: the PG knows no such payment"
        );
        assert!(
            !ctx.dump().await.contains("imp_000000000000"),
            "a forged notification leaves nothing behind"
        );
        // Ids that would name another path at the PG (`GET /payments/..` is `GET /`) are
        // acknowledged like any unknown payment, and no call reaches the PG for them.
        let last = |journal: &payments_fakes::journal::Journal| {
            journal.snapshot(0, 1).requests.last().map_or(0, |r| r.seq)
        };
        let (iamport_seen, toss_seen) = (last(ctx.iamport.journal()), last(ctx.toss.journal()));
        for id in ["..", ".", ""] {
            let iamport = ctx
                .http
                .post(format!("{}/payments/webhooks/iamport", ctx.url))
                .json(&json!({"imp_uid": id, "merchant_uid": "x", "status": "paid"}))
                .send()
                .await
                .unwrap();
            // I'mport's reader refuses an empty imp_uid before anything else.
            let expected = if id.is_empty() { 400 } else { 200 };
            assert_eq!(iamport.status(), expected, "{id:?}");
            let toss = ctx
                .http
                .post(format!("{}/payments/webhooks/toss", ctx.url))
                .json(&json!({"eventType": "PAYMENT_STATUS_CHANGED",
                    "createdAt": "2026-11-24T10:00:00.000000", "data": {"paymentKey": id}}))
                .send()
                .await
                .unwrap();
            assert_eq!(toss.status(), 200, "{id:?}");
        }
        let iamport_calls = ctx.iamport.journal().snapshot(iamport_seen, 100).requests;
        assert!(iamport_calls.is_empty(), "{iamport_calls:?}");
        let toss_calls = ctx.toss.journal().snapshot(toss_seen, 100).requests;
        assert!(toss_calls.is_empty(), "{toss_calls:?}");
        let malformed = ctx
            .http
            .post(format!("{}/payments/webhooks/toss", ctx.url))
            .body("not json")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), 400);
    }
);

on_both!(
    an_event_before_the_payment_is_stored_is_applied_when_it_is,
    |ctx| {
        let inbox = Inbox::start().await;
        for code in [VendorCode::TossPayments, VendorCode::Iamport] {
            let order = uuid();
            let uid = match code {
                VendorCode::TossPayments => ctx.toss_virtual_account(&order, 9000).await,
                VendorCode::Iamport => ctx.iamport_vbank(&order, 9000).await,
                VendorCode::PortOne => {
                    let id = uuid();
                    ctx.portone_virtual_account(&id, 9000).await;
                    id
                }
            };
            // The customer pays before the client backend stores the payment.
            deposit(&ctx, code, &uid).await;
            let history = ctx
                .client
                .create_history(&create(code, &uid, &order, 9000.0, &inbox.url))
                .await
                .unwrap();
            assert!(history.paid_at.is_some(), "{code}: the deposit is not lost");
        }
        // The fakes' notifications were answered 200, not retried.
        let toss = ctx.toss.journal().snapshot(0, 1000).deliveries;
        assert!(
            !toss.is_empty() && toss.iter().all(|d| d.status == Some(200)),
            "{toss:?}"
        );
        let iamport = ctx.iamport.journal().snapshot(0, 1000).deliveries;
        assert!(!iamport.is_empty() && iamport.iter().all(|d| d.status == Some(200)));
    }
);

/// The refund status of a stored Toss virtual account, as the client sees it.
fn refund_status(history: &PaymentHistory) -> payments_api::toss::TossRefundStatus {
    match &history.data {
        PaymentData::Toss(payments_api::toss::TossPayment::VirtualAccount(account)) => {
            account.virtual_account.refund_status
        }
        other => panic!("not a Toss virtual account: {other:?}"),
    }
}

// Toss tells every change of a virtual account twice, as `PAYMENT_STATUS_CHANGED` and as
// `DEPOSIT_CALLBACK` (its webhook-events reference), the issue included; a refund's status
// settles later without a webhook. The client hears of each change once: nothing of the
// issue (the account is not stored yet), one event for the deposit, one for the cancel, and
// the settled refund with the next notification that makes the server look.
on_both!(
    a_virtual_accounts_double_callbacks_make_one_client_event_per_change,
    |ctx| {
        let inbox = Inbox::start().await;
        let order = uuid();
        let key = stored_virtual_account(&ctx, VendorCode::TossPayments, &order, &inbox.url).await;
        deposit(&ctx, VendorCode::TossPayments, &key).await;
        let paid = inbox.next(WAIT).await;
        assert!(paid.event.current.paid_at.is_some());

        let cancelled = ctx
            .client
            .cancel_history(&PaymentCancelCreate {
                source: accessor(&order).source,
                password: PASSWORD.into(),
                price: 25000.0,
                reason: "환불".into(),
                account: Some(account()),
            })
            .await
            .unwrap();
        use payments_api::toss::TossRefundStatus;
        assert_eq!(refund_status(&cancelled), TossRefundStatus::Pending);
        let refunded = inbox.next(WAIT).await;
        assert_eq!(refunded.event.current.refund, Some(25000.0));
        assert_eq!(
            refund_status(&refunded.event.current),
            TossRefundStatus::Pending
        );
        wait_until(|| async {
            let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
            events.len() == 2
                && events
                    .iter()
                    .all(|e| e.state == WebhookEventState::Delivered)
        })
        .await;

        // The bank settles the refund on the fake's clock: Toss sends nothing.
        ctx.toss.advance(chrono::Duration::minutes(11)).await;
        let (_, settled) = ctx
            .toss_call(reqwest::Method::GET, &format!("/v1/payments/{key}"), None)
            .await;
        assert_eq!(settled["virtualAccount"]["refundStatus"], "COMPLETED");
        assert!(inbox.try_next().await.is_none());
        // Toss retries its callback (as after a lost answer): the server re-reads the
        // payment and tells the client of the settled refund, once however often it comes.
        let callback = json!({
            "createdAt": "2026-11-24T10:00:00.000000",
            "secret": settled["secret"],
            "status": "CANCELED",
            "transactionKey": settled["lastTransactionKey"],
            "orderId": order,
        });
        for _ in 0..3 {
            let answer = ctx
                .http
                .post(format!("{}/payments/webhooks/toss", ctx.url))
                .json(&callback)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
        }
        let completed = inbox.next(WAIT).await;
        assert_eq!(
            refund_status(&completed.event.previous),
            TossRefundStatus::Pending
        );
        assert_eq!(
            refund_status(&completed.event.current),
            TossRefundStatus::Completed
        );
        let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
        assert_eq!(events.len(), 3, "{events:?}");
        // Every notification the fake sent (issue, deposit, cancel, each twice) was
        // answered 200, none retried.
        let deliveries = ctx.toss.journal().snapshot(0, 1000).deliveries;
        assert_eq!(deliveries.len(), 6, "{deliveries:?}");
        assert!(
            deliveries.iter().all(|d| d.status == Some(200)),
            "{deliveries:?}"
        );
    }
);

on_both!(
    a_client_that_is_down_gets_its_events_in_order_once_back,
    |ctx| {
        let inbox = Inbox::start().await;
        inbox.answer(503);
        let order = uuid();
        let uid = stored_virtual_account(&ctx, VendorCode::TossPayments, &order, &inbox.url).await;
        deposit(&ctx, VendorCode::TossPayments, &uid).await;
        ctx.client
            .cancel_history(&PaymentCancelCreate {
                source: accessor(&order).source,
                password: PASSWORD.into(),
                price: 5000.0,
                reason: "부분 환불".into(),
                account: Some(account()),
            })
            .await
            .unwrap();
        let first_attempt = |ctx: &support::Ctx| {
            let client = ctx.client.clone();
            let accessor = accessor(&order);
            async move {
                let events = client.webhook_events(&accessor).await.unwrap();
                (events[0].attempts.len(), events[1].attempts.len())
            }
        };
        wait_until(|| async { first_attempt(&ctx).await.0 >= 1 }).await;
        // The second event waits behind the first: order per payment.
        assert_eq!(first_attempt(&ctx).await, (1, 0));

        // 10 s ±20% later, the second attempt (still down).
        ctx.advance(Duration::from_secs(13));
        wait_until(|| async { first_attempt(&ctx).await.0 >= 2 }).await;
        assert!(inbox.try_next().await.is_none());

        inbox.answer(200);
        ctx.advance(Duration::from_secs(30));
        let deposit_event = inbox.next(WAIT).await;
        let cancel_event = inbox.next(WAIT).await;
        assert!(
            deposit_event.event.current.paid_at.is_some()
                && deposit_event.event.current.refund.is_none()
        );
        assert_eq!(cancel_event.event.current.refund, Some(5000.0));
        // The relay records an attempt once the client has answered.
        wait_until(|| async { first_attempt(&ctx).await.1 == 1 }).await;
        let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
        let statuses: Vec<_> = events[0].attempts.iter().map(|a| a.status).collect();
        assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
        assert!(events[0].attempts.iter().all(|a| a.excerpt.is_some()));
        assert_eq!(events[1].attempts.len(), 1);

        // Redelivery on request.
        let redelivered = ctx
            .client
            .redeliver_webhook(&PaymentWebhookRedeliver {
                source: accessor(&order).source,
                password: PASSWORD.into(),
                event_id: deposit_event.event.id,
            })
            .await
            .unwrap();
        assert_eq!(redelivered.state, WebhookEventState::Pending);
        let again = inbox.next(WAIT).await;
        assert_eq!(again.id, deposit_event.id, "the same event, the same id");
        let wrong = ctx
            .client
            .redeliver_webhook(&PaymentWebhookRedeliver {
                source: accessor(&order).source,
                password: "wrong".into(),
                event_id: deposit_event.event.id,
            })
            .await
            .unwrap_err();
        assert_eq!(wrong.status(), Some(403));
        let unknown = ctx
            .client
            .redeliver_webhook(&PaymentWebhookRedeliver {
                source: accessor(&order).source,
                password: PASSWORD.into(),
                event_id: uuid::Uuid::new_v4(),
            })
            .await
            .unwrap_err();
        assert_eq!(unknown.status(), Some(404));
    }
);

on_both!(
    a_client_back_up_gets_a_new_event_at_once_while_old_retries_keep_their_backoff,
    |ctx| {
        let inbox = Inbox::start().await;
        inbox.answer(503);
        let first = uuid();
        let uid = stored_virtual_account(&ctx, VendorCode::TossPayments, &first, &inbox.url).await;
        deposit(&ctx, VendorCode::TossPayments, &uid).await;
        let attempts = |order: &str| {
            let (client, accessor) = (ctx.client.clone(), accessor(order));
            async move {
                client.webhook_events(&accessor).await.unwrap()[0]
                    .attempts
                    .len()
            }
        };
        // Four failures in a row: the endpoint backs off for 80 s ±20% after the last.
        for (tries, wait) in [(1, 0), (2, 13), (3, 25), (4, 49)] {
            ctx.advance(Duration::from_secs(wait));
            wait_until(|| async { attempts(&first).await >= tries }).await;
        }
        assert!(inbox.try_next().await.is_none());

        // The client is back; a new payment's event goes out at once (within the poll
        // interval, no clock moved), not after the endpoint's backoff.
        inbox.answer(200);
        let second = uuid();
        let uid = stored_virtual_account(&ctx, VendorCode::TossPayments, &second, &inbox.url).await;
        deposit(&ctx, VendorCode::TossPayments, &uid).await;
        let delivered = inbox.next(WAIT).await;
        assert_eq!(delivered.event.source.id, second);
        // The failed event keeps its own backoff: not sent again yet.
        assert_eq!(attempts(&first).await, 4);
        assert!(inbox.try_next().await.is_none());
        // Once it is due, it goes.
        ctx.advance(Duration::from_secs(100));
        let retried = inbox.next(WAIT).await;
        assert_eq!(retried.event.source.id, first);
        // Recorded once the client has answered.
        wait_until(|| async { attempts(&first).await == 5 }).await;
    }
);

/// An endpoint that answers, slowly: the relay makes up to 8 attempts at once to it and puts
/// back the events it has no room for. Those are due again as soon as attempts end, not at
/// the end of the timeout of an attempt, set here beyond the test's wait.
async fn a_busy_endpoint_gets_its_events_as_it_has_room(backend: support::Backend) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const EVENTS: usize = 24;
    let ctx = support::Ctx::start_with(backend, |config| {
        config.relay.timeout_seconds = 600.0;
    })
    .await;
    // 200 ms over each event, counting how many it holds at once.
    let (now, most, arrived) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let app = {
        let (now, most, arrived) = (now.clone(), most.clone(), arrived.clone());
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move || async move {
                most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                arrived.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::OK
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut uids = Vec::new();
    for _ in 0..EVENTS {
        let order = uuid();
        uids.push(stored_virtual_account(&ctx, VendorCode::TossPayments, &order, &hook).await);
    }
    // All at once, so that the endpoint is busy when most of them are due.
    futures_util::future::join_all(
        uids.iter()
            .map(|uid| deposit(&ctx, VendorCode::TossPayments, uid)),
    )
    .await;
    wait_until(|| async { arrived.load(Ordering::SeqCst) == EVENTS }).await;
    let most = most.load(Ordering::SeqCst);
    assert!((2..=8).contains(&most), "{most} at once");
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_endpoint_gets_its_events_as_it_has_room_sqlite() {
    a_busy_endpoint_gets_its_events_as_it_has_room(support::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_endpoint_gets_its_events_as_it_has_room_mariadb() {
    a_busy_endpoint_gets_its_events_as_it_has_room(support::Backend::MariaDb).await;
}

on_both!(events_survive_a_restart_between_attempts, |ctx| {
    let inbox = Inbox::start().await;
    inbox.answer(500);
    let order = uuid();
    let uid = stored_virtual_account(&ctx, VendorCode::Iamport, &order, &inbox.url).await;
    deposit(&ctx, VendorCode::Iamport, &uid).await;
    wait_until(|| async {
        let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
        events.first().is_some_and(|e| !e.attempts.is_empty())
    })
    .await;
    ctx.restart().await;
    inbox.answer(200);
    ctx.advance(Duration::from_secs(15));
    let event = inbox.next(WAIT).await;
    assert!(event.event.current.paid_at.is_some());
});

on_both!(the_test_receiver_records_client_events, |ctx| {
    let order = uuid();
    let hook = format!("{}/payments/internal/webhook", ctx.url);
    let uid = stored_virtual_account(&ctx, VendorCode::TossPayments, &order, &hook).await;
    deposit(&ctx, VendorCode::TossPayments, &uid).await;
    wait_until(|| async { !ctx.app().received().is_empty() }).await;
    let received = ctx.app().received();
    assert_eq!(received[0].source.id, order);
    assert!(received[0].current.paid_at.is_some());
});

/// Polls `condition` every 20 ms for up to 10 s: for states only an API can show.
async fn wait_until<F, Fut>(condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the condition never held"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Three server instances on one MariaDB database: a burst of events, each delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_on_one_mariadb_deliver_each_event_once() {
    let ctx = support::Ctx::start(support::Backend::MariaDb).await;
    let mut stops = Vec::new();
    for _ in 0..2 {
        let app = payments_server::App::build(&ctx.config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    }
    let inbox = Inbox::start().await;
    let mut orders = Vec::new();
    for _ in 0..20 {
        let order = uuid();
        let uid = stored_virtual_account(&ctx, VendorCode::TossPayments, &order, &inbox.url).await;
        orders.push((order, uid));
    }
    // All the deposits at once.
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:", support::TOSS_KEY)
        )
    );
    let mut deposits = Vec::new();
    for (_, uid) in &orders {
        let request = ctx
            .http
            .put(format!("{}/internal/{uid}/deposit", ctx.toss_url))
            .header("authorization", auth.clone());
        deposits.push(tokio::spawn(async move {
            request.send().await.unwrap().status()
        }));
    }
    for deposit in deposits {
        assert_eq!(deposit.await.unwrap(), 200);
    }
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..orders.len() {
        let delivery = inbox.next(WAIT).await;
        assert!(
            ids.insert(delivery.id.clone()),
            "{} delivered twice",
            delivery.id
        );
    }
    for (order, _) in &orders {
        wait_until(|| async {
            let events = ctx.client.webhook_events(&accessor(order)).await.unwrap();
            events.len() == 1 && events[0].state == WebhookEventState::Delivered
        })
        .await;
        let events = ctx.client.webhook_events(&accessor(order)).await.unwrap();
        assert_eq!(events[0].attempts.len(), 1, "one attempt, by one instance");
    }
    assert!(inbox.try_next().await.is_none(), "no event came twice");
    for stop in stops {
        let _ = stop.send(());
    }
    ctx.finish().await;
}

on_both!(a_rotated_signing_secret_signs_beside_the_old_one, |ctx| {
    const NEW_SECRET: &str = "whsec_YS1icmFuZC1uZXctc2lnbmluZy1zZWNyZXQ=";
    ctx.config
        .relay
        .signing_secrets
        .insert(0, payments_server::config::Secret::new(NEW_SECRET));
    ctx.restart().await;
    let inbox = Inbox::start().await;
    let order = uuid();
    let uid = stored_virtual_account(&ctx, VendorCode::Iamport, &order, &inbox.url).await;
    deposit(&ctx, VendorCode::Iamport, &uid).await;
    // The inbox checked the old secret; the new one signs the same delivery.
    let delivery = inbox.next(WAIT).await;
    assert_eq!(delivery.signature.split_whitespace().count(), 2);
    payments_api::signature::verify(
        NEW_SECRET,
        &delivery.id,
        &delivery.timestamp,
        &delivery.signature,
        &delivery.body,
        chrono::Utc::now().timestamp(),
        300,
    )
    .unwrap();
});

on_both!(a_deposit_callback_must_carry_the_accounts_secret, |ctx| {
    let inbox = Inbox::start().await;
    let order = uuid();
    let key = stored_virtual_account(&ctx, VendorCode::TossPayments, &order, &inbox.url).await;
    let callback = |secret: &str| json!({"createdAt": "2026-11-24T10:00:00.000000", "secret": secret, "status": "DONE", "transactionKey": "T", "orderId": order});
    let url = format!("{}/payments/webhooks/toss", ctx.url);
    let forged = ctx
        .http
        .post(&url)
        .json(&callback("not-the-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let body: ErrorBody = forged.json().await.unwrap();
    assert_eq!(body.code, "bad_secret");
    // With the real secret (as Toss sends it after the deposit) the payment is re-read.
    let (_, payment) = ctx
        .toss_call(reqwest::Method::GET, &format!("/v1/payments/{key}"), None)
        .await;
    let secret = payment["secret"].as_str().unwrap().to_owned();
    let (status, _) = ctx
        .toss_call(
            reqwest::Method::PUT,
            "/internal/merchant",
            Some(json!({"webhookUrl": null})),
        )
        .await;
    assert_eq!(status, 200);
    deposit(&ctx, VendorCode::TossPayments, &key).await;
    let genuine = ctx
        .http
        .post(&url)
        .json(&callback(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(genuine.status(), 200);
    let event = inbox.next(WAIT).await;
    assert!(event.event.current.paid_at.is_some());
    // An order nobody stored is acknowledged and ignored.
    let mut unknown = callback(&secret);
    unknown["orderId"] = json!("nobody");
    assert_eq!(
        ctx.http
            .post(&url)
            .json(&unknown)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
});

on_both!(
    done_events_are_pruned_after_the_retention_period_and_pending_ones_never,
    |ctx| {
        // A failed attempt is retried only 80 to 120 days later, for a year: an event the
        // client never takes stays pending, untouched, through the weeks below.
        ctx.config.relay.initial_backoff_seconds = 100.0 * 86_400.0;
        ctx.config.relay.max_backoff_seconds = 100.0 * 86_400.0;
        ctx.config.relay.max_age_seconds = 365.0 * 86_400.0;
        ctx.restart().await;
        let events = |order: &str| {
            let (client, accessor) = (ctx.client.clone(), accessor(order));
            async move { client.webhook_events(&accessor).await.unwrap() }
        };
        let prune_after = |days: u64| {
            ctx.advance(Duration::from_secs(days * 86_400));
            ctx.app().relay().prune()
        };
        let inbox = Inbox::start().await;
        let delivered = uuid();
        let toss_key =
            stored_virtual_account(&ctx, VendorCode::TossPayments, &delivered, &inbox.url).await;
        deposit(&ctx, VendorCode::TossPayments, &toss_key).await;
        inbox.next(WAIT).await;
        let down = Inbox::start().await;
        down.answer(503);
        let pending = uuid();
        let uid = stored_virtual_account(&ctx, VendorCode::Iamport, &pending, &down.url).await;
        deposit(&ctx, VendorCode::Iamport, &uid).await;
        wait_until(|| async {
            events(&delivered).await[0].state == WebhookEventState::Delivered
                && events(&pending).await[0].attempts.len() == 1
        })
        .await;
        assert_eq!(ctx.rows("payment_webhook_attempts").await, 2);

        // Within the 30 days nothing goes.
        prune_after(29).await.unwrap();
        assert_eq!(events(&delivered).await.len(), 1);

        // After them the delivered event goes, with its attempt; the pending one stays.
        prune_after(2).await.unwrap();
        let done = events(&delivered).await;
        assert!(done.is_empty(), "{done:?}");
        let waiting = events(&pending).await;
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].state, WebhookEventState::Pending);
        assert_eq!(waiting[0].attempts.len(), 1);
        assert_eq!(ctx.rows("payment_webhook_events").await, 1);
        assert_eq!(ctx.rows("payment_webhook_attempts").await, 1);

        // The payment itself is untouched, and its next change (a refund in Toss's console)
        // is an event like any other.
        ctx.client
            .history_by_source(&accessor(&delivered))
            .await
            .unwrap();
        let refund = json!({"cancelReason": "콘솔 환불", "cancelAmount": 1000, "refundReceiveAccount": {"bank": "신한", "accountNumber": "110123456789", "holderName": "홍길동"}});
        let path = format!("/v1/payments/{toss_key}/cancel");
        let (status, body) = ctx
            .toss_call(reqwest::Method::POST, &path, Some(refund))
            .await;
        assert_eq!(status, 200, "{body}");
        let cancelled = inbox.next(WAIT).await;
        assert_eq!(cancelled.event.current.refund, Some(1000.0));
    }
);

on_both!(only_the_start_of_a_clients_answer_is_read, |ctx| {
    // A client that answers 200 and then sends its body for ever.
    let endless = endless_client().await;
    let order = uuid();
    let uid = stored_virtual_account(&ctx, VendorCode::TossPayments, &order, &endless).await;
    deposit(&ctx, VendorCode::TossPayments, &uid).await;
    wait_until(|| async {
        let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
        !events[0].attempts.is_empty()
    })
    .await;
    let events = ctx.client.webhook_events(&accessor(&order)).await.unwrap();
    // Had the relay read on, it would have waited for its timeout and kept nothing.
    assert_eq!(events[0].state, WebhookEventState::Delivered);
    let attempt = &events[0].attempts[0];
    assert_eq!(attempt.status, Some(200));
    assert_eq!(attempt.excerpt.as_deref(), Some("가".repeat(64).as_str()));
});

/// A webhook endpoint that reads a request and answers 200 with a body that never ends;
/// its URL.
async fn endless_client() -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // The request: headers, then as many bytes as Content-Length says.
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = "가".repeat(1000);
                let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
                // Until the relay hangs up.
                while socket.write_all(framed.as_bytes()).await.is_ok() {}
            });
        }
    });
    url
}
