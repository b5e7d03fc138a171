//! Storage: one code path for MariaDB and SQLite through sqlx's `Any` driver, runtime
//! queries only, times as integer milliseconds so both databases store them alike.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

use crate::money::Amount;

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
    pub price: Amount,
    pub refund: Option<Amount>,
    pub paid_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub data: Vec<u8>,
    pub password_hash: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every change, so concurrent changes are detected.
    pub version: i64,
}

/// A stored cancel of a payment.
#[derive(Debug, Clone)]
pub struct CancelRow {
    pub price: Amount,
    /// Sealed.
    pub reason: Vec<u8>,
    pub created_at: i64,
}

/// An event of the relay's outbox.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: String,
    pub payment_history_id: String,
    pub seq: i64,
    pub webhook_url: String,
    /// The sealed JSON of the client event.
    pub body: Vec<u8>,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// One delivery attempt.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub attempt: i64,
    pub attempted_at: i64,
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub excerpt: Option<String>,
}

const EVENT_COLUMNS: &str = "e.id, e.payment_history_id, e.seq, e.webhook_url, e.body, e.state, \
     e.attempts, e.next_attempt_at, e.lease_until, e.created_at, e.delivered_at";

fn event(row: &sqlx::any::AnyRow) -> Result<EventRow, sqlx::Error> {
    Ok(EventRow {
        id: row.try_get("id")?,
        payment_history_id: row.try_get("payment_history_id")?,
        seq: row.try_get("seq")?,
        webhook_url: row.try_get("webhook_url")?,
        body: row.try_get("body")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        lease_until: row.try_get("lease_until")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
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
     password_hash, created_at, updated_at, version";

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
        version: row.try_get("version")?,
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
        .bind(row.version)
        .execute(&mut *tx)
        .await?;
        insert_cancels(&mut tx, &row.id, cancels).await?;
        tx.commit().await
    }

    /// Replaces what a payment's record derives from the PG, its cancels and, when given,
    /// records the client event of the change, all in one transaction, provided nobody
    /// changed the record since `row.version` was read. Answers `false` (and changes
    /// nothing) when somebody did.
    pub async fn update_history(
        &self,
        row: &HistoryRow,
        cancels: &[CancelRow],
        event: Option<&EventRow>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE payment_histories SET currency = ?, price = ?, refund = ?, paid_at = ?, \
             cancelled_at = ?, data = ?, updated_at = ?, version = version + 1 \
             WHERE id = ? AND version = ?",
        )
        .bind(row.currency.clone())
        .bind(row.price)
        .bind(row.refund)
        .bind(row.paid_at)
        .bind(row.cancelled_at)
        .bind(row.data.clone())
        .bind(row.updated_at)
        .bind(row.id.clone())
        .bind(row.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM payment_history_cancels WHERE payment_history_id = ?")
            .bind(row.id.clone())
            .execute(&mut *tx)
            .await?;
        insert_cancels(&mut tx, &row.id, cancels).await?;
        if let Some(event) = event {
            let seq: i64 = sqlx::query(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM payment_webhook_events WHERE payment_history_id = ?",
            )
            .bind(row.id.clone())
            .fetch_one(&mut *tx)
            .await?
            .try_get("next")?;
            sqlx::query(
                "INSERT INTO payment_webhook_events (id, payment_history_id, seq, webhook_url, body, \
                 state, attempts, next_attempt_at, lease_until, created_at, delivered_at) \
                 VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, NULL, ?, NULL)",
            )
            .bind(event.id.clone())
            .bind(row.id.clone())
            .bind(seq)
            .bind(event.webhook_url.clone())
            .bind(event.body.clone())
            .bind(event.next_attempt_at)
            .bind(event.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Payments of a vendor whose source id is `source_id` (Toss's orderId).
    pub async fn histories_by_source_id(
        &self,
        vendor_code: &str,
        source_id: &str,
    ) -> Result<Vec<HistoryRow>, sqlx::Error> {
        let rows = sqlx::query(trusted(format!(
            "SELECT {HISTORY_COLUMNS} FROM payment_histories WHERE vendor_code = ? AND source_id = ?"
        )))
        .bind(vendor_code.to_owned())
        .bind(source_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(history).collect()
    }

    /// Keeps an event for a payment not stored yet.
    pub async fn add_pending(
        &self,
        vendor_code: &str,
        vendor_uid: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        // Events never claimed within a week are forgotten: the table stays small.
        sqlx::query("DELETE FROM payment_pending_events WHERE received_at < ?")
            .bind(now - 7 * 86_400_000)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO payment_pending_events (id, vendor_code, vendor_uid, received_at) VALUES (?, ?, ?, ?)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(vendor_code.to_owned())
        .bind(vendor_uid.to_owned())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes the kept events of a payment; answers how many there were.
    pub async fn take_pending(
        &self,
        vendor_code: &str,
        vendor_uid: &str,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM payment_pending_events WHERE vendor_code = ? AND vendor_uid = ?",
        )
        .bind(vendor_code.to_owned())
        .bind(vendor_uid.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Claims due events for delivery until `lease_until`: the oldest pending event of each
    /// payment only, so a payment's events go out in order. On MariaDB the candidates are
    /// locked `FOR UPDATE SKIP LOCKED`, so instances sharing the database claim disjoint
    /// events.
    pub async fn claim_events(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        let lock = match self.backend {
            Backend::MariaDb => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(trusted(format!(
            "SELECT {EVENT_COLUMNS} FROM payment_webhook_events e \
             WHERE e.state = 'pending' AND e.next_attempt_at <= ? \
             AND (e.lease_until IS NULL OR e.lease_until < ?) \
             AND NOT EXISTS (SELECT 1 FROM payment_webhook_events p \
                 WHERE p.payment_history_id = e.payment_history_id AND p.state = 'pending' AND p.seq < e.seq) \
             ORDER BY e.next_attempt_at LIMIT ?{lock}"
        )))
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let events: Vec<EventRow> = rows.iter().map(event).collect::<Result<_, _>>()?;
        let mut claimed = Vec::with_capacity(events.len());
        for mut event in events {
            // The lease is what other instances (and a restarted one) see; the lock above
            // only keeps two claimers from taking the same row at the same moment.
            let updated = sqlx::query(
                "UPDATE payment_webhook_events SET lease_until = ? WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)",
            )
            .bind(lease_until)
            .bind(event.id.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 1 {
                event.lease_until = Some(lease_until);
                claimed.push(event);
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt and the event's new state, releasing its lease.
    pub async fn finish_attempt(
        &self,
        event: &EventRow,
        attempt: &AttemptRow,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO payment_webhook_attempts (event_id, attempt, attempted_at, status, latency_ms, excerpt) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(event.id.clone())
        .bind(attempt.attempt)
        .bind(attempt.attempted_at)
        .bind(attempt.status)
        .bind(attempt.latency_ms)
        .bind(attempt.excerpt.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE payment_webhook_events SET state = ?, attempts = ?, next_attempt_at = ?, \
             lease_until = NULL, delivered_at = ? WHERE id = ?",
        )
        .bind(event.state.clone())
        .bind(event.attempts)
        .bind(event.next_attempt_at)
        .bind(event.delivered_at)
        .bind(event.id.clone())
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The events of a payment, oldest first, with their attempts.
    pub async fn events_of(
        &self,
        history_id: &str,
    ) -> Result<Vec<(EventRow, Vec<AttemptRow>)>, sqlx::Error> {
        let rows = sqlx::query(trusted(format!(
            "SELECT {EVENT_COLUMNS} FROM payment_webhook_events e WHERE e.payment_history_id = ? ORDER BY e.seq"
        )))
        .bind(history_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let event = event(row)?;
            let attempts = sqlx::query(
                "SELECT attempt, attempted_at, status, latency_ms, excerpt FROM payment_webhook_attempts \
                 WHERE event_id = ? ORDER BY attempt",
            )
            .bind(event.id.clone())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|a| {
                Ok(AttemptRow {
                    attempt: a.try_get("attempt")?,
                    attempted_at: a.try_get("attempted_at")?,
                    status: a.try_get("status")?,
                    latency_ms: a.try_get("latency_ms")?,
                    excerpt: a.try_get("excerpt")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
            out.push((event, attempts));
        }
        Ok(out)
    }

    /// Makes an event of a payment due again now, whatever its state.
    pub async fn redeliver(
        &self,
        history_id: &str,
        event_id: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE payment_webhook_events SET state = 'pending', next_attempt_at = ?, lease_until = NULL \
             WHERE id = ? AND payment_history_id = ?",
        )
        .bind(now)
        .bind(event_id.to_owned())
        .bind(history_id.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
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
