//! Storage: one code path for MariaDB and SQLite through sqlx's `Any` driver, runtime
//! queries only, times as integer milliseconds so both databases store them alike.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

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

/// Marks SQL assembled from this module's constants only (never from input) as safe.
fn trusted(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// Whether an error is a unique-key violation (a duplicate record).
pub fn is_duplicate(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// A stored payment, as the columns hold it.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub id: String,
    pub vendor_code: String,
    pub vendor_store_id: String,
    pub vendor_uid: String,
    pub source_schema: String,
    pub source_table: String,
    pub source_id: String,
    pub webhook_url: Option<String>,
    pub currency: String,
    pub price: f64,
    pub refund: Option<f64>,
    pub paid_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub data: Vec<u8>,
    pub password_hash: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored cancel of a payment.
#[derive(Debug, Clone)]
pub struct CancelRow {
    pub price: f64,
    /// Sealed.
    pub reason: Vec<u8>,
    pub created_at: i64,
}

/// A stored billing key.
#[derive(Debug, Clone)]
pub struct ReservationRow {
    pub id: String,
    pub vendor_code: String,
    pub vendor_store_id: String,
    pub vendor_uid: String,
    pub source_schema: String,
    pub source_table: String,
    pub source_id: String,
    pub title: String,
    pub data: Vec<u8>,
    pub password_hash: Vec<u8>,
    pub created_at: i64,
}

const HISTORY_COLUMNS: &str = "id, vendor_code, vendor_store_id, vendor_uid, source_schema, \
     source_table, source_id, webhook_url, currency, price, refund, paid_at, cancelled_at, data, \
     password_hash, created_at, updated_at";

fn history(row: &sqlx::any::AnyRow) -> Result<HistoryRow, sqlx::Error> {
    Ok(HistoryRow {
        id: row.try_get("id")?,
        vendor_code: row.try_get("vendor_code")?,
        vendor_store_id: row.try_get("vendor_store_id")?,
        vendor_uid: row.try_get("vendor_uid")?,
        source_schema: row.try_get("source_schema")?,
        source_table: row.try_get("source_table")?,
        source_id: row.try_get("source_id")?,
        webhook_url: row.try_get("webhook_url")?,
        currency: row.try_get("currency")?,
        price: row.try_get("price")?,
        refund: row.try_get("refund")?,
        paid_at: row.try_get("paid_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
        data: row.try_get("data")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// How to find one payment.
#[derive(Debug, Clone, Copy)]
pub enum HistoryKey<'a> {
    Id(&'a str),
    Source(&'a str, &'a str, &'a str),
    Vendor(&'a str, &'a str),
}

impl Db {
    pub async fn find_history(
        &self,
        key: HistoryKey<'_>,
    ) -> Result<Option<HistoryRow>, sqlx::Error> {
        let row = match key {
            HistoryKey::Id(id) => {
                sqlx::query(trusted(format!("SELECT {HISTORY_COLUMNS} FROM payment_histories WHERE id = ?")))
                    .bind(id.to_owned())
                    .fetch_optional(&self.pool)
                    .await?
            }
            HistoryKey::Source(schema, table, id) => {
                sqlx::query(trusted(format!(
                    "SELECT {HISTORY_COLUMNS} FROM payment_histories \
                     WHERE source_schema = ? AND source_table = ? AND source_id = ?"
                )))
                .bind(schema.to_owned())
                .bind(table.to_owned())
                .bind(id.to_owned())
                .fetch_optional(&self.pool)
                .await?
            }
            HistoryKey::Vendor(code, uid) => {
                sqlx::query(trusted(format!(
                    "SELECT {HISTORY_COLUMNS} FROM payment_histories WHERE vendor_code = ? AND vendor_uid = ?"
                )))
                .bind(code.to_owned())
                .bind(uid.to_owned())
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.as_ref().map(history).transpose()
    }

    pub async fn cancels(&self, history_id: &str) -> Result<Vec<CancelRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT price, reason, created_at FROM payment_history_cancels \
             WHERE payment_history_id = ? ORDER BY seq",
        )
        .bind(history_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CancelRow {
                    price: row.try_get("price")?,
                    reason: row.try_get("reason")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Stores a new payment and its cancels in one transaction.
    pub async fn insert_history(
        &self,
        row: &HistoryRow,
        cancels: &[CancelRow],
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(trusted(format!(
            "INSERT INTO payment_histories ({HISTORY_COLUMNS}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(row.id.clone())
        .bind(row.vendor_code.clone())
        .bind(row.vendor_store_id.clone())
        .bind(row.vendor_uid.clone())
        .bind(row.source_schema.clone())
        .bind(row.source_table.clone())
        .bind(row.source_id.clone())
        .bind(row.webhook_url.clone())
        .bind(row.currency.clone())
        .bind(row.price)
        .bind(row.refund)
        .bind(row.paid_at)
        .bind(row.cancelled_at)
        .bind(row.data.clone())
        .bind(row.password_hash.clone())
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(&mut *tx)
        .await?;
        insert_cancels(&mut tx, &row.id, cancels).await?;
        tx.commit().await
    }

    /// Replaces what a payment's record derives from the PG, and its cancels, in one
    /// transaction.
    pub async fn update_history(
        &self,
        row: &HistoryRow,
        cancels: &[CancelRow],
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE payment_histories SET currency = ?, price = ?, refund = ?, paid_at = ?, \
             cancelled_at = ?, data = ?, updated_at = ? WHERE id = ?",
        )
        .bind(row.currency.clone())
        .bind(row.price)
        .bind(row.refund)
        .bind(row.paid_at)
        .bind(row.cancelled_at)
        .bind(row.data.clone())
        .bind(row.updated_at)
        .bind(row.id.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM payment_history_cancels WHERE payment_history_id = ?")
            .bind(row.id.clone())
            .execute(&mut *tx)
            .await?;
        insert_cancels(&mut tx, &row.id, cancels).await?;
        tx.commit().await
    }

    pub async fn find_reservation(
        &self,
        key: HistoryKey<'_>,
    ) -> Result<Option<ReservationRow>, sqlx::Error> {
        const COLUMNS: &str = "id, vendor_code, vendor_store_id, vendor_uid, source_schema, \
             source_table, source_id, title, data, password_hash, created_at";
        let (condition, values): (&str, Vec<&str>) = match key {
            HistoryKey::Id(id) => ("id = ?", vec![id]),
            HistoryKey::Source(schema, table, id) => (
                "source_schema = ? AND source_table = ? AND source_id = ?",
                vec![schema, table, id],
            ),
            HistoryKey::Vendor(code, uid) => {
                ("vendor_code = ? AND vendor_uid = ?", vec![code, uid])
            }
        };
        let sql = format!("SELECT {COLUMNS} FROM payment_reservations WHERE {condition}");
        let mut query = sqlx::query(trusted(sql));
        for value in values {
            query = query.bind(value.to_owned());
        }
        let Some(row) = query.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        Ok(Some(ReservationRow {
            id: row.try_get("id")?,
            vendor_code: row.try_get("vendor_code")?,
            vendor_store_id: row.try_get("vendor_store_id")?,
            vendor_uid: row.try_get("vendor_uid")?,
            source_schema: row.try_get("source_schema")?,
            source_table: row.try_get("source_table")?,
            source_id: row.try_get("source_id")?,
            title: row.try_get("title")?,
            data: row.try_get("data")?,
            password_hash: row.try_get("password_hash")?,
            created_at: row.try_get("created_at")?,
        }))
    }

    pub async fn insert_reservation(&self, row: &ReservationRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO payment_reservations (id, vendor_code, vendor_store_id, vendor_uid, \
             source_schema, source_table, source_id, title, data, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(row.id.clone())
        .bind(row.vendor_code.clone())
        .bind(row.vendor_store_id.clone())
        .bind(row.vendor_uid.clone())
        .bind(row.source_schema.clone())
        .bind(row.source_table.clone())
        .bind(row.source_id.clone())
        .bind(row.title.clone())
        .bind(row.data.clone())
        .bind(row.password_hash.clone())
        .bind(row.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

async fn insert_cancels(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    history_id: &str,
    cancels: &[CancelRow],
) -> Result<(), sqlx::Error> {
    for (seq, cancel) in cancels.iter().enumerate() {
        sqlx::query(
            "INSERT INTO payment_history_cancels (payment_history_id, seq, price, reason, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(history_id.to_owned())
        .bind(seq as i64)
        .bind(cancel.price)
        .bind(cancel.reason.clone())
        .bind(cancel.created_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
