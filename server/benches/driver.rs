//! What sqlx's `Any` driver costs against the native MySQL driver, on the statement every
//! `at` read makes (a payment with its cancels, by id), run back to back over a pool of
//! the server's size: the database's work is the same, so the difference is the driver's
//! client side (arguments converted per query, each row copied into an `AnyRow`).
//!
//! `cargo bench -p payments-server --bench driver [-- SECONDS [CONNECTIONS]]`
//!
//! On a fresh database of the MariaDB server at `PAYMENTS_BENCH_DATABASE_URL` (default
//! `mysql://root@127.0.0.1:3306`), dropped after. The drivers run in turn, twice each
//! (Any, native, Any, native), so a neighbour's load falls on both alike.

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use payments_server::db::Db;
use payments_testkit::{Database, provision};
use sqlx::Row as _;

const ROWS: usize = 2000;

/// The `at` read's statement, as the record store makes it.
const SELECT: &str = "SELECT t.id, t.vendor_code, t.vendor_store_id, t.vendor_uid, \
     t.source_schema, t.source_table, t.source_id, t.webhook_url, t.webhook_url_sealed, \
     t.currency, t.price, t.refund, t.paid_at, t.cancelled_at, t.data, t.password_hash, \
     t.created_at, t.updated_at, t.version, c.price AS cancel_price, \
     c.reason AS cancel_reason, c.created_at AS cancel_created_at \
     FROM payment_histories t \
     LEFT JOIN payment_history_cancels c ON c.payment_history_id = t.id \
     WHERE t.id = ? ORDER BY t.id, c.seq";

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let connections: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(run(Duration::from_secs(seconds), connections));
}

async fn run(duration: Duration, connections: u32) {
    let server = std::env::var("PAYMENTS_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let database = provision(&Database::MariaDb(server))
        .await
        .expect("a bench database");
    let db = Db::connect(&database.url).await.expect("a connection");
    db.migrate().await.expect("the schema");
    let ids = fill(&db).await;
    let native = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(connections)
        .test_before_acquire(false)
        .connect_with(
            sqlx::mysql::MySqlConnectOptions::from_str(&database.url).expect("a database URL"),
        )
        .await
        .expect("a native pool");
    let ids = Arc::new(ids);
    println!(
        "the at statement by id, {connections} concurrent callers, {} s each, load average {}",
        duration.as_secs(),
        load_average()
    );
    let mut rates = [Vec::new(), Vec::new()];
    for round in 0..2 {
        let any = drive(duration, connections, ids.clone(), {
            let pool = db.pool.clone();
            move |id| {
                let pool = pool.clone();
                async move {
                    let rows = sqlx::query(SELECT).bind(id).fetch_all(&pool).await?;
                    Ok(rows.iter().map(read_any).sum::<usize>())
                }
            }
        })
        .await;
        println!(
            "  round {round}: Any     {any:>8.0} queries/s   load average {}",
            load_average()
        );
        let mysql = drive(duration, connections, ids.clone(), {
            let pool = native.clone();
            move |id| {
                let pool = pool.clone();
                async move {
                    let rows = sqlx::query(SELECT).bind(id).fetch_all(&pool).await?;
                    Ok(rows.iter().map(read_mysql).sum::<usize>())
                }
            }
        })
        .await;
        println!(
            "  round {round}: MySQL   {mysql:>8.0} queries/s   load average {}",
            load_average()
        );
        rates[0].push(any);
        rates[1].push(mysql);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (any, mysql) = (mean(&rates[0]), mean(&rates[1]));
    println!(
        "Any {any:.0} q/s, native MySQL {mysql:.0} q/s: native / Any = {:.2}",
        mysql / any
    );
    native.close().await;
    db.close().await;
    database.release().await;
}

/// Stores `ROWS` payments of the size the server writes, one in three with a cancel;
/// answers their ids.
async fn fill(db: &Db) -> Vec<String> {
    let mut ids = Vec::with_capacity(ROWS);
    for i in 0..ROWS {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO payment_histories (id, vendor_code, vendor_store_id, vendor_uid, \
             source_schema, source_table, source_id, webhook_url, webhook_url_sealed, currency, \
             price, refund, paid_at, cancelled_at, data, password_hash, created_at, \
             updated_at, version) \
             VALUES (?, 'tosspayments', 'default', ?, 'bench', 'orders', ?, NULL, ?, 'KRW', \
             15000, NULL, 1, NULL, ?, ?, 1, 1, 0)",
        )
        .bind(id.clone())
        .bind(format!("uid-{i}"))
        .bind(format!("order-{i}"))
        .bind(vec![7u8; 80])
        .bind(vec![7u8; 1500])
        .bind(vec![7u8; 32])
        .execute(&db.pool)
        .await
        .expect("a row");
        if i % 3 == 0 {
            sqlx::query(
                "INSERT INTO payment_history_cancels (payment_history_id, seq, price, reason, \
                 created_at) VALUES (?, 0, 15000, ?, 2)",
            )
            .bind(id.clone())
            .bind(vec![7u8; 40])
            .execute(&db.pool)
            .await
            .expect("a cancel");
        }
        ids.push(id);
    }
    ids
}

macro_rules! read_columns {
    ($row:expr) => {{
        let row = $row;
        let text = |name: &str| row.try_get::<String, _>(name).expect(name).len();
        let blob = |name: &str| {
            row.try_get::<Option<Vec<u8>>, _>(name)
                .expect(name)
                .map_or(0, |b| b.len())
        };
        let int = |name: &str| row.try_get::<Option<i64>, _>(name).expect(name).is_some() as usize;
        let double =
            |name: &str| row.try_get::<Option<f64>, _>(name).expect(name).is_some() as usize;
        [
            "id",
            "vendor_code",
            "vendor_store_id",
            "vendor_uid",
            "source_schema",
            "source_table",
            "source_id",
            "currency",
        ]
        .into_iter()
        .map(text)
        .sum::<usize>()
            + [
                "webhook_url_sealed",
                "data",
                "password_hash",
                "cancel_reason",
            ]
            .into_iter()
            .map(blob)
            .sum::<usize>()
            + [
                "paid_at",
                "cancelled_at",
                "created_at",
                "updated_at",
                "version",
                "cancel_created_at",
            ]
            .into_iter()
            .map(int)
            .sum::<usize>()
            + ["price", "refund", "cancel_price"]
                .into_iter()
                .map(double)
                .sum::<usize>()
    }};
}

/// Reads every column of a row the way the store does; answers a size so nothing is
/// optimised away.
fn read_any(row: &sqlx::any::AnyRow) -> usize {
    read_columns!(row)
}

fn read_mysql(row: &sqlx::mysql::MySqlRow) -> usize {
    read_columns!(row)
}

/// Runs `query` over `connections` concurrent callers for `duration`, each on the ids in
/// turn; answers queries per second.
async fn drive<F, Fut>(duration: Duration, connections: u32, ids: Arc<Vec<String>>, query: F) -> f64
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<usize, sqlx::Error>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for caller in 0..connections as usize {
        let (stop, done, ids, query) = (stop.clone(), done.clone(), ids.clone(), query.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = caller;
            while !stop.load(Ordering::Relaxed) {
                let size = query(ids[n % ids.len()].clone()).await.expect("a read");
                assert!(size > 0);
                done.fetch_add(1, Ordering::Relaxed);
                n += connections as usize;
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("a caller");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}
