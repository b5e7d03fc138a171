//! The database: one code path for MariaDB and SQLite through sqlx's `Any` driver, runtime
//! queries only, times as integer milliseconds so both databases store them alike. The
//! tables' queries live with their owners: `records::store` and `outbox`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

/// The schema's migrations for MariaDB, embedded in the binary.
pub static MARIADB_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/mariadb");
/// The same steps for SQLite.
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How long a request waits for a database connection before it is answered 503: while
/// the database is unreachable, clients learn it at once instead of after sqlx's default
/// 30 s, and the pool reconnects by itself once the database is back.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a connection may have been idle in the pool and still be used without a
/// check (a ping) first.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Which database the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    MariaDb,
    Sqlite,
}

/// A connection pool and what it is connected to.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (expected mysql://… or sqlite:…)")]
    Scheme,
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Connects; a SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            (Backend::MariaDb, url.replacen("mariadb:", "mysql:", 1))
        } else if url.starts_with("sqlite:") {
            let url = if url.contains("memory") || url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else {
            return Err(DbError::Scheme);
        };
        let options = AnyConnectOptions::from_str(&url).map_err(DbError::Connect)?;
        // An in-memory SQLite database lives in one connection; a file takes one writer.
        let max = match backend {
            Backend::MariaDb => 32,
            Backend::Sqlite if url.contains("memory") => 1,
            Backend::Sqlite => 4,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx pings every idle connection before handing it out (and again when it is
            // returned): under load that is a round trip to the database per query, as
            // costly there as a point select. A connection returned a moment ago was just
            // pinged; only one idle for longer is checked, so a database that went away
            // while the pool was quiet is still noticed before a query fails on it.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for > CHECK_IDLE_AFTER {
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        Ok(Self { pool, backend })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::MariaDb => &MARIADB_MIGRATOR,
            Backend::Sqlite => &SQLITE_MIGRATOR,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers a trivial query within [`ACQUIRE_TIMEOUT`].
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let query = sqlx::query("SELECT 1").execute(&self.pool);
        match tokio::time::timeout(ACQUIRE_TIMEOUT, query).await {
            Ok(done) => done.map(drop),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }
}

/// Every table of records and client events, children before their parents.
const TABLES: [&str; 6] = [
    "payment_webhook_attempts",
    "payment_webhook_events",
    "payment_pending_events",
    "payment_history_cancels",
    "payment_histories",
    "payment_reservations",
];

impl Db {
    /// Deletes every record and client event, keeping the schema: a sandbox's reset, so a
    /// test suite can reuse one database between tests. Never called by the server itself.
    pub async fn delete_all_records(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for table in TABLES {
            sqlx::query(trusted(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}

/// Marks SQL assembled from the code's own constants (never from input) as safe.
pub(crate) fn trusted(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// Whether an error means the database cannot be reached now (down, restarting, the
/// connection lost) rather than that the query was wrong: worth a retry later.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // MariaDB's "server shutdown in progress", "connection was killed", "gone away" and
        // "lost connection".
        sqlx::Error::Database(e) => matches!(
            e.code().as_deref(),
            Some("1053" | "1927" | "2006" | "2013" | "08S01" | "70100")
        ),
        _ => false,
    }
}

/// Whether an error is a unique-key violation (a duplicate record).
pub fn is_duplicate(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
