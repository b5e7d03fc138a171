//! The server's databases: an outage answered fast with a retryable 503 and survived
//! without a restart, Korean text on any MariaDB, and keys compared exactly on both
//! databases.

mod support;

use std::time::Duration;

use payments_api::client::ClientError;
use payments_api::payments::*;
use payments_testkit::Database;
use reqwest::Method;
use support::{Backend, Ctx, PASSWORD, source};

fn create(uid: &str, source_id: &str, price: f64) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: PaymentVendor {
            code: VendorCode::Iamport,
            store_id: "store-1".into(),
            uid: uid.into(),
        },
        source: source(source_id),
        webhook_url: "http://127.0.0.1:9/hook".into(),
        price,
        password: PASSWORD.into(),
    }
}

fn accessor(source_id: &str) -> PaymentSourceAccessor {
    PaymentSourceAccessor {
        source: source(source_id),
        password: PASSWORD.into(),
    }
}

/// Stores an I'mport card payment (which takes any source id) for `source_id`; answers its
/// PG id.
async fn stored(ctx: &Ctx, source_id: &str) -> Result<String, ClientError> {
    let key = ctx
        .iamport_card(&uuid::Uuid::new_v4().to_string(), 1000)
        .await;
    ctx.client
        .create_history(&create(&key, source_id, 1000.0))
        .await
        .map(|history| history.vendor.uid)
}

/// The status and `Retry-After` of a monitor.
async fn monitor(ctx: &Ctx, path: &str) -> (u16, Option<String>) {
    let response = ctx
        .http
        .request(Method::GET, format!("{}{path}", ctx.url))
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_a_fast_503_and_passes_without_a_restart() {
    let mut ctx = Ctx::start_on(Backend::MariaDb, Database::PrivateMariaDb).await;
    stored(&ctx, "before").await.unwrap();
    assert_eq!(monitor(&ctx, "/monitors/ready").await, (200, None));

    ctx.kill_database().await;
    let (status, retry_after, body) = ctx
        .raw_with_headers(
            Method::PATCH,
            "/payments/histories/get",
            &serde_json::to_value(accessor("before")).unwrap(),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("database_unavailable"))
    );
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(
        monitor(&ctx, "/monitors/ready").await,
        (503, Some("1".into()))
    );
    assert_eq!(monitor(&ctx, "/monitors/health").await, (200, None));

    // The same server serves again once the database is back.
    ctx.restart_database().await;
    let mut ready = monitor(&ctx, "/monitors/ready").await;
    for _ in 0..100 {
        if ready.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = monitor(&ctx, "/monitors/ready").await;
    }
    assert_eq!(ready, (200, None));
    let history = ctx
        .client
        .history_by_source(&accessor("before"))
        .await
        .unwrap();
    assert_eq!(history.price, 1000.0);
    stored(&ctx, "after").await.unwrap();
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn korean_source_ids_on_a_private_mariadb() {
    let ctx = Ctx::start_on(Backend::MariaDb, Database::PrivateMariaDb).await;
    let uid = stored(&ctx, "주문-1").await.unwrap();
    let history = ctx
        .client
        .history_by_source(&accessor("주문-1"))
        .await
        .unwrap();
    assert_eq!(history.vendor.uid, uid);
    assert_eq!(history.source.id, "주문-1");
    ctx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn korean_source_ids_on_a_database_made_latin1() {
    // A database an operator made on a server whose default is latin1: the migrations
    // convert it.
    let server = std::env::var("PAYMENTS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let name = format!("payments_latin1_{}", uuid::Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&server).await.unwrap();
    let sql = format!("CREATE DATABASE {name} CHARACTER SET latin1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", server.trim_end_matches('/'));
    let ctx = Ctx::start_on(Backend::MariaDb, Database::Url(url)).await;
    let uid = stored(&ctx, "주문-1").await.unwrap();
    let history = ctx
        .client
        .history_by_source(&accessor("주문-1"))
        .await
        .unwrap();
    assert_eq!(
        (history.vendor.uid, history.source.id),
        (uid, "주문-1".into())
    );
    ctx.finish().await;
    let sql = format!("DROP DATABASE {name}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}

on_both!(source_ids_are_compared_exactly, |ctx| {
    // Case, trailing spaces and accents make different orders, as they are different
    // strings to the client.
    let ids = ["CI-x-A", "ci-x-a", "trail", "trail ", "e\u{301}", "é"];
    let mut uids = Vec::new();
    for id in ids {
        uids.push(stored(&ctx, id).await.unwrap());
    }
    for (id, uid) in ids.iter().zip(&uids) {
        let history = ctx.client.history_by_source(&accessor(id)).await.unwrap();
        assert_eq!(
            (&history.source.id, &history.vendor.uid),
            (&id.to_string(), uid)
        );
    }
    assert_eq!(ctx.rows("payment_histories").await, ids.len() as i64);
});

/// A fresh database on the MariaDB server, with the server's own pool on it.
async fn fresh_mariadb() -> (payments_testkit::Provisioned, payments_server::db::Db) {
    let database = payments_testkit::provision(&Database::AnyMariaDb)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let db = payments_server::db::Db::connect(&database.url)
        .await
        .unwrap();
    (database, db)
}

/// Two transactions that lock two rows in opposite orders on MariaDB: InnoDB rolls one back
/// as a deadlock (1213), and `retry_conflicts` runs it again, so both end committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_deadlock_is_run_again_and_both_transactions_commit() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    let (database, db) = fresh_mariadb().await;
    sqlx::query("CREATE TABLE deadlock_probe (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)")
        .execute(&db.pool)
        .await
        .unwrap();
    // Both first attempts hold their first row before either asks for its second.
    let both_locked = Arc::new(tokio::sync::Barrier::new(2));
    let runs = Arc::new(AtomicU32::new(0));
    let transaction = |first: i64, second: i64| {
        let (db, both_locked, runs) = (db.clone(), both_locked.clone(), runs.clone());
        tokio::spawn(async move {
            let mut attempt = 0;
            payments_server::db::retry_conflicts(|| {
                attempt += 1;
                let (db, both_locked, runs, attempt) =
                    (db.clone(), both_locked.clone(), runs.clone(), attempt);
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let mut tx = db.pool.begin().await?;
                    for (n, id) in [first, second].into_iter().enumerate() {
                        sqlx::query("UPDATE deadlock_probe SET v = v + 1 WHERE id = ?")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        if n == 0 && attempt == 1 {
                            both_locked.wait().await;
                        }
                    }
                    tx.commit().await
                }
            })
            .await
        })
    };
    let (a, b) = (transaction(1, 2), transaction(2, 1));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 3, "one of the two ran twice");
    let values: Vec<i64> = sqlx::query_scalar("SELECT v FROM deadlock_probe ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(values, [2, 2]);
    db.close().await;
    database.release().await;
}

/// The connection a statement runs on and how many pings it has answered.
const PINGS: &str = "SELECT CAST(CONNECTION_ID() AS CHAR), VARIABLE_VALUE \
     FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_ADMIN_COMMANDS'";

/// The connection a read ran on and how many pings that connection has answered, as the
/// database counts them for its own session (MariaDB counts `COM_PING` among its
/// `Com_admin_commands`).
async fn connection_and_pings(db: &payments_server::db::Db) -> (String, String) {
    let rows = db.fetch_all(|| sqlx::query(PINGS)).await.unwrap();
    let row = &rows[0];
    (sqlx::Row::get(row, 0), sqlx::Row::get(row, 1))
}

/// A read keeps its connection for the next one instead of handing it back to sqlx's pool,
/// which pings every connection it takes back: a second round trip per read. Reads one
/// after another then run on one connection that answers no ping; when reads stop, the
/// connection goes back to the pool; one the database dropped meanwhile costs no read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_keep_their_connection_without_a_ping_between_them() {
    let (database, db) = fresh_mariadb().await;

    let (connection, pings) = connection_and_pings(&db).await;
    for _ in 0..20 {
        assert_eq!(
            connection_and_pings(&db).await,
            (connection.clone(), pings.clone())
        );
    }
    assert_eq!(db.held_idle(), 1);

    // The same reads through the pool itself: each return costs its connection a ping, so
    // the count above would have moved had it been pinged.
    let through_pool = || async {
        let row = sqlx::query(PINGS).fetch_one(&db.pool).await.unwrap();
        let (id, pings): (String, String) = (sqlx::Row::get(&row, 0), sqlx::Row::get(&row, 1));
        (id, pings.parse::<u64>().unwrap())
    };
    let (pooled, first) = through_pool().await;
    assert_ne!(
        pooled, connection,
        "the held connection stays out of the pool"
    );
    let mut last = (pooled.clone(), first);
    for _ in 0..5 {
        // The pool pings in a task of its own after the connection is dropped.
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = through_pool().await;
    }
    assert_eq!(last.0, pooled, "one idle connection in the pool");
    assert!(
        last.1 >= first + 5,
        "pings through the pool: {first} → {}",
        last.1
    );

    // Once no read used it for a moment, the held connection goes back to the pool.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(db.held_idle(), 0);
    assert_eq!(db.pool.num_idle() as u32, db.pool.size());

    // A held connection the database killed: the read runs again on a fresh connection.
    let (held, _) = connection_and_pings(&db).await;
    let admin = sqlx::AnyPool::connect(&database.url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("KILL CONNECTION {held}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (after, _) = connection_and_pings(&db).await;
    assert_ne!(after, held);
    assert_eq!(connection_and_pings(&db).await.0, after);

    db.close().await;
    database.release().await;
}

/// Reads alone cannot take every connection: with more slow reads under way than the pool
/// (32 on MariaDB) has connections, 24 of them run, the rest wait their turn, and a write
/// gets a connection while they all still run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reads_leave_a_quarter_of_the_pool_to_writes() {
    let (database, db) = fresh_mariadb().await;
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let db = db.clone();
        reads.spawn(async move {
            db.fetch_all(|| sqlx::query("SELECT SLEEP(1)"))
                .await
                .map(|rows| rows.len())
        });
    }
    // A write's transaction, on a connection no read may take.
    let mut tx = db.pool.begin().await.unwrap();
    let sleeping = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE DB = DATABASE() AND INFO LIKE 'SELECT SLEEP%'",
        )
    };
    // Until 24 sleep, and a while after: the most ever seen at once.
    let (mut most, mut after) = (0, 0);
    while after < 20 && reads.len() == 30 {
        most = most.max(sleeping().fetch_one(&mut *tx).await.unwrap());
        if most >= 24 {
            after += 1;
        }
    }
    assert_eq!(most, 24, "reads under way at once");
    assert!(
        reads.try_join_next().is_none(),
        "the write had its connection while the first reads still ran"
    );
    tx.commit().await.unwrap();
    let mut done = 0;
    while let Some(read) = reads.join_next().await {
        assert_eq!(read.unwrap().unwrap(), 1);
        done += 1;
    }
    assert_eq!(done, 30);
    db.close().await;
    database.release().await;
}
