//! The database: one code path for MariaDB and SQLite through sqlx's `Any` driver, runtime
//! queries only, times as integer milliseconds so both databases store them alike. The
//! tables' queries live with their owners: `records::store` and `outbox`.

use std::str::FromStr;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

/// The schema's migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

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
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        Ok(Self { pool, backend })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), DbError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
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

/// Whether an error is a unique-key violation (a duplicate record).
pub fn is_duplicate(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
