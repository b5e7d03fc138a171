//! Notifications for payments no client stored yet: the PG is often faster than the shop's
//! backend, so a burst of new payments is a burst of notifications the server keeps
//! (`payment_pending_events`) and then hands to the payments as they are stored.
//!
//! Toss sends `PAYMENT_STATUS_CHANGED` for every payment whose status changes, and counts
//! only an HTTP 200 as received (docs.tosspayments.com/guides/webhook, "웹훅 이벤트").

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use payments_api::payments::*;
use payments_testkit::Database;
use serde_json::json;
use support::{Backend, Ctx, PASSWORD, source};

/// As many notifications and creates under way at once as the bench's keep-alive
/// connections.
const TASKS: usize = 32;
const PER_TASK: usize = 8;
/// Notifications no client claims (yet) in the table when the burst starts: what a day of
/// abandoned checkouts leaves.
const UNCLAIMED: usize = 200;
const PRICE: u32 = 1000;

/// Many payments notified before they are stored, and stored right after, on MariaDB: every
/// notification answers 200, every payment picks up its notification, the unclaimed ones
/// stay, and the database never rolls a statement back for a deadlock (retries hide a few,
/// but a burst that uses them all up answers the PG 500 and loses the notification until the
/// PG retries, minutes later).
///
/// The database is a private `mariadbd`, so its counters count this test's statements alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_before_creates_all_answer_are_all_claimed_and_never_deadlock() {
    let ctx = Ctx::start_on_with(Backend::MariaDb, Database::PrivateMariaDb, |config| {
        // The burst comes from one address, loopback: well within what the PG sends.
        config.pg.notifications = payments_server::config::Intake {
            per_second: 100_000,
            burst: 100_000,
        };
        config.pg.timeout_seconds = 30.0;
    })
    .await;

    // Payments at the fake Toss that no client will store: their notifications stay kept.
    let mut unclaimed = BTreeSet::new();
    for i in 0..UNCLAIMED {
        let key = ctx
            .toss_card(&order(&format!("abandoned-{i}")), PRICE)
            .await;
        assert_eq!(notify(&ctx.http, &ctx.url, &key).await, Ok(()));
        unclaimed.insert(key);
    }
    assert_eq!(ctx.rows("payment_pending_events").await, UNCLAIMED as i64);

    // Payments the shop stores, each right after the PG notified it.
    let mut shares = Vec::with_capacity(TASKS);
    for t in 0..TASKS {
        let mut share = Vec::with_capacity(PER_TASK);
        for i in 0..PER_TASK {
            let id = order(&format!("burst-{t}-{i}"));
            let key = ctx.toss_card(&id, PRICE).await;
            share.push((id, key));
        }
        shares.push(share);
    }

    let before = (
        ctx.innodb_counter("INNODB_DEADLOCKS").await,
        ctx.innodb_counter("INNODB_ROW_LOCK_WAITS").await,
    );
    let mut running = tokio::task::JoinSet::new();
    for share in shares {
        let (client, http, url) = (ctx.client.clone(), ctx.http.clone(), ctx.url.clone());
        running.spawn(async move {
            let mut failed = Vec::new();
            for (id, key) in share {
                if let Err(e) = notify(&http, &url, &key).await {
                    failed.push(format!("notification of {key}: {e}"));
                }
                let created = client
                    .create_history(&PaymentHistoryCreate {
                        vendor: PaymentVendor {
                            code: VendorCode::TossPayments,
                            store_id: "default".into(),
                            uid: key.clone(),
                        },
                        source: source(&id),
                        webhook_url: "http://127.0.0.1:9/hook".into(),
                        price: f64::from(PRICE),
                        password: PASSWORD.into(),
                    })
                    .await;
                if let Err(e) = created {
                    failed.push(format!("create of {key}: {e}"));
                }
            }
            failed
        });
    }
    let failed = running.join_all().await.concat();
    let after = (
        ctx.innodb_counter("INNODB_DEADLOCKS").await,
        ctx.innodb_counter("INNODB_ROW_LOCK_WAITS").await,
    );
    let (deadlocks, lock_waits) = (after.0 - before.0, after.1 - before.1);
    println!(
        "{} notifications, each followed by its create, over {TASKS} tasks, {UNCLAIMED} unclaimed \
         kept: {} failed, {deadlocks} deadlocks, {lock_waits} row lock waits",
        TASKS * PER_TASK,
        failed.len()
    );

    assert!(
        failed.is_empty(),
        "{} of {} notifications and creates failed, first: {:?}",
        failed.len(),
        2 * TASKS * PER_TASK,
        &failed[..failed.len().min(5)]
    );
    assert_eq!(
        deadlocks,
        0,
        "the database rolled back {deadlocks} statements for deadlocks; the latest:\n{}",
        ctx.latest_deadlock().await
    );
    // Every stored payment took its notification; the unclaimed ones are all still kept.
    let kept: BTreeSet<String> = ctx
        .scalars("SELECT vendor_uid FROM payment_pending_events")
        .await
        .into_iter()
        .collect();
    assert_eq!(kept, unclaimed);
    assert_eq!(
        ctx.rows("payment_histories").await,
        (TASKS * PER_TASK) as i64
    );
    ctx.finish().await;
}

/// A kept notification's row locked for a while (here by an open transaction, as a claim
/// or another server's statement holds it) holds up neither the notifications of other
/// payments nor the pruning: keeping one locks nothing but its own row, and the weekly
/// pruning only rows older than a week. (Each once took every row of the table, and waited
/// here until MariaDB gave up, answering the PG 500.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_pending_notification_holds_up_no_other() {
    let mut ctx = Ctx::start_on(Backend::MariaDb, Database::PrivateMariaDb).await;
    // A statement waiting for a row lock gives up after one second instead of fifty
    // (error 1205, not retried), so a wait shows as a failed notification. The private
    // server is this test's alone; the restart makes the server's connections anew.
    let pool = sqlx::AnyPool::connect(ctx.config.database_url.expose())
        .await
        .unwrap();
    sqlx::query("SET GLOBAL innodb_lock_wait_timeout = 1")
        .execute(&pool)
        .await
        .unwrap();
    ctx.restart().await;

    let day = Duration::from_secs(86_400);
    // One notification that will be a week old, and, two days later, the one held.
    let stale = ctx.toss_card(&order("stale"), PRICE).await;
    notify(&ctx.http, &ctx.url, &stale).await.unwrap();
    ctx.advance(2 * day);
    let held = ctx.toss_card(&order("held"), PRICE).await;
    notify(&ctx.http, &ctx.url, &held).await.unwrap();
    let id: String =
        sqlx::query_scalar("SELECT id FROM payment_pending_events WHERE vendor_uid = ?")
            .bind(held.clone())
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM payment_pending_events WHERE id = ? FOR UPDATE")
        .bind(id)
        .fetch_one(&mut *holder)
        .await
        .unwrap();

    // While it is held: a notification of another payment; then, six days on, one more,
    // and with it the server prunes the first notification, eight days old, past the held
    // row, six days old.
    let other = ctx.toss_card(&order("other"), PRICE).await;
    assert_eq!(notify(&ctx.http, &ctx.url, &other).await, Ok(()));
    ctx.advance(6 * day);
    let later = ctx.toss_card(&order("later"), PRICE).await;
    assert_eq!(notify(&ctx.http, &ctx.url, &later).await, Ok(()));
    assert_eq!(kept(&ctx).await, [held, other, later].into());
    holder.rollback().await.unwrap();
    pool.close().await;
    ctx.finish().await;
}

on_both!(unclaimed_notifications_are_kept_a_week, |ctx| {
    let day = Duration::from_secs(86_400);
    let first = ctx.toss_card(&order("first"), PRICE).await;
    notify(&ctx.http, &ctx.url, &first).await.unwrap();

    // Six days on, a notification of another payment: the first is still kept.
    ctx.advance(6 * day);
    let second_order = order("second");
    let second = ctx.toss_card(&second_order, PRICE).await;
    notify(&ctx.http, &ctx.url, &second).await.unwrap();
    assert_eq!(kept(&ctx).await, [first.clone(), second.clone()].into());

    // Two more days: the first, eight days old, goes as the next notification is kept.
    ctx.advance(2 * day);
    let third = ctx.toss_card(&order("third"), PRICE).await;
    notify(&ctx.http, &ctx.url, &third).await.unwrap();
    assert_eq!(kept(&ctx).await, [second.clone(), third.clone()].into());

    // The second, six days old now, is claimed when its payment is stored.
    ctx.client
        .create_history(&PaymentHistoryCreate {
            vendor: PaymentVendor {
                code: VendorCode::TossPayments,
                store_id: "default".into(),
                uid: second,
            },
            source: source(&second_order),
            webhook_url: "http://127.0.0.1:9/hook".into(),
            price: f64::from(PRICE),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    assert_eq!(kept(&ctx).await, [third].into());
});

/// A unique order id for a test's payment `what`.
fn order(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::new_v4().simple())
}

/// Toss notifies the server that payment `key` changed; `Err` says how the server answered
/// anything but 200.
async fn notify(http: &reqwest::Client, url: &str, key: &str) -> Result<(), String> {
    let notification = json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-11-24T10:00:00.000000", "data": {"paymentKey": key}});
    let response = http
        .post(format!("{url}/payments/webhooks/toss"))
        .json(&notification)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200 => Ok(()),
        status => Err(format!(
            "{status} {}",
            response.text().await.unwrap_or_default()
        )),
    }
}

/// The payments whose notifications are kept.
async fn kept(ctx: &Ctx) -> BTreeSet<String> {
    ctx.scalars("SELECT vendor_uid FROM payment_pending_events")
        .await
        .into_iter()
        .collect()
}

/// A database of the previous schema (migrations up to 0006), holding notifications kept by
/// the previous version, one expired: the server migrates it on start (the index on
/// `received_at` built over the rows there), and with the next notification the expired
/// one goes and the rest stay.
async fn upgraded(backend: Backend) {
    let provisioned = payments_testkit::provision(&match backend {
        Backend::Sqlite => Database::Sqlite,
        Backend::MariaDb => Database::AnyMariaDb,
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let db = payments_server::db::Db::connect(&provisioned.url)
        .await
        .unwrap();
    let migrator = match backend {
        Backend::Sqlite => &payments_server::db::SQLITE_MIGRATOR,
        Backend::MariaDb => &payments_server::db::MARIADB_MIGRATOR,
    };
    migrator.run_to(6, &db.pool).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    for (uid, age_days) in [("expired", 8), ("recent", 1)] {
        sqlx::query(
            "INSERT INTO payment_pending_events (id, vendor_code, vendor_uid, received_at) \
             VALUES (?, 'toss.payments', ?, ?)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(uid)
        .bind(now - age_days * 86_400_000)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    db.close().await;

    let ctx = Ctx::start_on(backend, Database::Url(provisioned.url.clone())).await;
    let key = ctx.toss_card(&order("after-upgrade"), PRICE).await;
    notify(&ctx.http, &ctx.url, &key).await.unwrap();
    assert_eq!(kept(&ctx).await, ["recent".to_owned(), key].into());
    ctx.finish().await;
    drop(provisioned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_sqlite_database_prunes_what_the_previous_version_kept() {
    upgraded(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_mariadb_database_prunes_what_the_previous_version_kept() {
    upgraded(Backend::MariaDb).await;
}
