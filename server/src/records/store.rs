//! The tables of records: payments (`payment_histories`) with their cancels, billing keys
//! (`payment_reservations`), and notifications for payments not stored yet
//! (`payment_pending_events`). Rows are typed as the server uses them; one lookup serves
//! both kinds of record.
//!
//! A payment is read with its cancels in one statement (a `LEFT JOIN`, one row per cancel,
//! or one row when there are none): a read is one round trip to the database, which is
//! what bounds reads on MariaDB.
//!
//! What a client chose and may carry personal data or credentials (a billing key's
//! `title`, a payment's `webhook_url`, perhaps with `user:pass@`) is sealed here, as it is
//! written, into a `…_sealed` column, and opened as it is read; rows written before those
//! columns existed keep the value in the plain column, and are read from there.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use payments_api::payments::{PaymentSource, PaymentVendor, VendorCode};
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::crypto::{OpenError, Sealer};
use crate::db::{Db, retry_conflicts, trusted};
use crate::money::Amount;
use crate::outbox::{NewEvent, Outbox};

/// What identifies a record of either kind: its id, its PG side and its source, each
/// unique.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Identity {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub vendor_code: VendorCode,
    pub vendor_store_id: String,
    pub vendor_uid: String,
    pub source_schema: String,
    pub source_table: String,
    pub source_id: String,
}

impl Identity {
    /// A new record's identity.
    pub fn new(vendor: &PaymentVendor, source: &PaymentSource) -> Self {
        Self {
            id: Uuid::new_v4(),
            vendor_code: vendor.code,
            vendor_store_id: vendor.store_id.clone(),
            vendor_uid: vendor.uid.clone(),
            source_schema: source.schema.clone(),
            source_table: source.table.clone(),
            source_id: source.id.clone(),
        }
    }

    /// The PG side, as the API shows it.
    pub fn vendor(&self) -> PaymentVendor {
        PaymentVendor {
            code: self.vendor_code,
            store_id: self.vendor_store_id.clone(),
            uid: self.vendor_uid.clone(),
        }
    }

    /// The source, as the API shows it.
    pub fn source(&self) -> PaymentSource {
        PaymentSource {
            schema: self.source_schema.clone(),
            table: self.source_table.clone(),
            id: self.source_id.clone(),
        }
    }

    /// Binds the identity's columns, in the order of `IDENTITY_COLUMNS`.
    fn bind<'q>(&self, query: Query<'q>) -> Query<'q> {
        query
            .bind(self.id.to_string())
            .bind(self.vendor_code.as_str())
            .bind(self.vendor_store_id.clone())
            .bind(self.vendor_uid.clone())
            .bind(self.source_schema.clone())
            .bind(self.source_table.clone())
            .bind(self.source_id.clone())
    }
}

/// A statement being given its values.
type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

const IDENTITY_COLUMNS: &str =
    "id, vendor_code, vendor_store_id, vendor_uid, source_schema, source_table, source_id";

/// A stored payment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    #[sqlx(flatten)]
    pub identity: Identity,
    /// The client's webhook URL: plain in rows written before sealing, then `None` in the
    /// table and opened from `webhook_url_sealed` when read.
    pub webhook_url: Option<String>,
    /// The webhook URL, sealed; written by [`Store`] from `webhook_url`.
    pub webhook_url_sealed: Option<Vec<u8>>,
    pub currency: String,
    pub price: Amount,
    pub refund: Option<Amount>,
    pub paid_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    /// The PG's payment, sealed.
    pub data: Vec<u8>,
    pub password_hash: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every change, so concurrent changes are detected.
    pub version: i64,
    /// The cancels, oldest first: read with the row, written with it.
    #[sqlx(skip)]
    pub cancels: Vec<CancelRow>,
    /// How many cancels the table held for the record when it was read (at `version`):
    /// the rows an update rewrites in place, each by its key (see [`write_cancels`]).
    /// Zero for a record not stored yet.
    #[sqlx(skip)]
    pub stored_cancels: usize,
}

impl HistoryRow {
    /// Binds what the record takes from the PG: currency, price, refund, paid_at,
    /// cancelled_at and data, in this order.
    fn bind_from_pg<'q>(&self, query: Query<'q>) -> Query<'q> {
        query
            .bind(self.currency.clone())
            .bind(self.price)
            .bind(self.refund)
            .bind(self.paid_at)
            .bind(self.cancelled_at)
            .bind(self.data.clone())
    }
}

/// A stored cancel of a payment.
#[derive(Debug, Clone, Default)]
pub struct CancelRow {
    pub price: Amount,
    /// Sealed.
    pub reason: Vec<u8>,
    pub created_at: i64,
}

/// A stored billing key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReservationRow {
    #[sqlx(flatten)]
    pub identity: Identity,
    /// The client's title: plain in rows written before sealing, then empty in the table
    /// and opened from `title_sealed` when read.
    pub title: String,
    /// The title, sealed; written by [`Store`] from `title`.
    pub title_sealed: Option<Vec<u8>>,
    /// The PG's billing key, sealed.
    pub data: Vec<u8>,
    pub password_hash: Vec<u8>,
    pub created_at: i64,
}

/// A table of records: rows with an [`Identity`], sealed data and a password.
pub trait Table: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin {
    const NAME: &'static str;
    /// The columns after the identity's.
    const COLUMNS: &'static str;
    /// What is read with the table's rows, aliased `t`: joined tables, their columns (each
    /// with its own alias) and their order within a record.
    const JOINED: Joined = Joined::NONE;
    /// What clients call a record of the table.
    const WHAT: &'static str;
    fn identity(&self) -> &Identity;
    fn password_hash(&self) -> &[u8];
    /// Opens the row's sealed client values into their plain fields.
    fn open(&mut self, sealer: &Sealer) -> Result<(), OpenError>;
    /// Takes the joined columns of one more result row of the same record.
    fn absorb(&mut self, _row: &AnyRow) -> Result<(), sqlx::Error> {
        Ok(())
    }
    /// The table's [`Selects`], one per table.
    fn selects() -> &'static Selects;
}

/// The statement a read of a payment by id runs; its one parameter is the id. The `at`
/// bench has the database run it alone, to tell what a read costs the database from what it
/// costs the server.
pub fn payment_by_id() -> &'static str {
    HistoryRow::selects().get::<HistoryRow>(KeyKind::Id)
}

/// A table's `SELECT` by each kind of [`Key`], and its check for taken keys, each written
/// the first time it is used: every read runs one, every create the other, and writing
/// their text (two dozen qualified columns) cost a read about as much as the password check.
#[derive(Debug)]
pub struct Selects {
    by_key: [OnceLock<String>; 3],
    taken: OnceLock<String>,
}

impl Selects {
    const fn new() -> Self {
        Self {
            by_key: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
            taken: OnceLock::new(),
        }
    }

    /// The statement of table `T` that finds a record by a key of `kind`.
    fn get<T: Table>(&'static self, kind: KeyKind) -> &'static str {
        self.by_key[kind as usize].get_or_init(|| select::<T>(kind.condition()))
    }

    /// The statement of table `T` that tells which of a new record's unique keys a stored
    /// record holds: one lookup in each unique index, nothing read but the answer.
    fn taken<T: Table>(&'static self) -> &'static str {
        self.taken.get_or_init(|| {
            format!(
                "SELECT 'vendor' FROM {table} WHERE vendor_code = ? AND vendor_uid = ? \
                 UNION ALL SELECT 'source' FROM {table} \
                 WHERE source_schema = ? AND source_table = ? AND source_id = ?",
                table = T::NAME
            )
        })
    }
}

/// Tables read together with a table of records, in the same statement.
#[derive(Debug, Clone, Copy)]
pub struct Joined {
    /// `LEFT JOIN …` after `FROM <table> t`.
    pub join: &'static str,
    /// `, col AS alias, …` after the record's columns.
    pub columns: &'static str,
    /// The alias of the integer column that orders a record's joined rows.
    pub seq: &'static str,
}

impl Joined {
    const NONE: Joined = Joined {
        join: "",
        columns: "",
        seq: "",
    };
}

/// The `SELECT` of table `T`'s records (each with its joined rows) that meet `condition`,
/// whose columns are qualified with `t.`. It has no `ORDER BY`: MariaDB cannot take the
/// order of an outer join's inner table from its index, and sorted every read in a
/// temporary table (on disk, for the blob columns): three to five times the CPU the read
/// costs it without; [`records`] puts the rows in order instead.
fn select<T: Table>(condition: &str) -> String {
    let columns: Vec<String> = IDENTITY_COLUMNS
        .split(", ")
        .chain(T::COLUMNS.split(", "))
        .map(|c| format!("t.{c}"))
        .collect();
    format!(
        "SELECT {}{} FROM {} t {} WHERE {condition}",
        columns.join(", "),
        T::JOINED.columns,
        T::NAME,
        T::JOINED.join,
    )
}

/// Rows of `T` out of the result of [`select`]: the rows ordered by id and by their joined
/// rows' order, then consecutive rows with the same id are one record with its joined rows.
fn records<T: Table>(mut rows: Vec<AnyRow>, sealer: &Sealer) -> Result<Vec<T>, sqlx::Error> {
    if rows.len() > 1 {
        let seq = T::JOINED.seq;
        rows.sort_by_cached_key(|row| {
            let id = sqlx::Row::try_get::<String, _>(row, "id").ok();
            let seq = (!seq.is_empty())
                .then(|| {
                    sqlx::Row::try_get::<Option<i64>, _>(row, seq)
                        .ok()
                        .flatten()
                })
                .flatten();
            (id, seq)
        });
    }
    let mut records: Vec<T> = Vec::new();
    for row in rows {
        let id: String = sqlx::Row::try_get(&row, "id")?;
        match records.last_mut() {
            Some(last) if last.identity().id.to_string() == id => last.absorb(&row)?,
            _ => {
                let mut record = T::from_row(&row)?;
                record.absorb(&row)?;
                records.push(record);
            }
        }
    }
    for record in &mut records {
        record.open(sealer).map_err(unopenable)?;
    }
    Ok(records)
}

/// The sealing context of a client value of a record: it opens only in its row and column.
fn client_context(table: &str, column: &str, id: Uuid) -> String {
    format!("{table}.{column}:{id}")
}

/// A sealed UTF-8 value, opened.
fn open_text(sealer: &Sealer, context: &str, sealed: &[u8]) -> Result<String, OpenError> {
    String::from_utf8(sealer.open(context, sealed)?).map_err(|_| OpenError::Malformed)
}

impl Table for HistoryRow {
    const NAME: &'static str = "payment_histories";
    const COLUMNS: &'static str = "webhook_url, webhook_url_sealed, currency, price, refund, \
         paid_at, cancelled_at, data, password_hash, created_at, updated_at, version";
    // One row per cancel, NULLs when there is none.
    const JOINED: Joined = Joined {
        join: "LEFT JOIN payment_history_cancels c ON c.payment_history_id = t.id",
        columns: ", c.price AS cancel_price, c.reason AS cancel_reason, \
                  c.created_at AS cancel_created_at, c.seq AS cancel_seq",
        seq: "cancel_seq",
    };
    const WHAT: &'static str = "payment";
    fn selects() -> &'static Selects {
        static SELECTS: Selects = Selects::new();
        &SELECTS
    }
    fn identity(&self) -> &Identity {
        &self.identity
    }
    fn password_hash(&self) -> &[u8] {
        &self.password_hash
    }
    fn open(&mut self, sealer: &Sealer) -> Result<(), OpenError> {
        if let Some(sealed) = &self.webhook_url_sealed {
            let context = client_context(Self::NAME, "webhook_url", self.identity.id);
            self.webhook_url = Some(open_text(sealer, &context, sealed)?);
        }
        Ok(())
    }
    fn absorb(&mut self, row: &AnyRow) -> Result<(), sqlx::Error> {
        use sqlx::Row as _;
        let Some(price) = row.try_get::<Option<Amount>, _>("cancel_price")? else {
            return Ok(());
        };
        self.cancels.push(CancelRow {
            price,
            reason: row.try_get("cancel_reason")?,
            created_at: row.try_get("cancel_created_at")?,
        });
        self.stored_cancels = self.cancels.len();
        Ok(())
    }
}

impl Table for ReservationRow {
    const NAME: &'static str = "payment_reservations";
    const COLUMNS: &'static str = "title, title_sealed, data, password_hash, created_at";
    const WHAT: &'static str = "billing key";
    fn selects() -> &'static Selects {
        static SELECTS: Selects = Selects::new();
        &SELECTS
    }
    fn identity(&self) -> &Identity {
        &self.identity
    }
    fn password_hash(&self) -> &[u8] {
        &self.password_hash
    }
    fn open(&mut self, sealer: &Sealer) -> Result<(), OpenError> {
        if let Some(sealed) = &self.title_sealed {
            let context = client_context(Self::NAME, "title", self.identity.id);
            self.title = open_text(sealer, &context, sealed)?;
        }
        Ok(())
    }
}

/// A row's sealed values that do not open: a corrupt row, or a key no longer configured.
fn unopenable(error: OpenError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

/// Which unique key of a new record a stored one holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// The PG id (vendor code and uid).
    Vendor,
    /// The source (schema, table and id).
    Source,
}

/// How to find one record.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Id(Uuid),
    Source(&'a PaymentSource),
    Vendor(VendorCode, &'a str),
}

/// The kinds of [`Key`]: which condition finds the record.
#[derive(Debug, Clone, Copy)]
enum KeyKind {
    Id = 0,
    Source = 1,
    Vendor = 2,
}

impl KeyKind {
    /// The condition on the table aliased `t`.
    fn condition(self) -> &'static str {
        match self {
            KeyKind::Id => "t.id = ?",
            KeyKind::Source => "t.source_schema = ? AND t.source_table = ? AND t.source_id = ?",
            KeyKind::Vendor => "t.vendor_code = ? AND t.vendor_uid = ?",
        }
    }
}

impl Key<'_> {
    /// Which condition finds the record, and its values.
    fn condition(&self) -> (KeyKind, Vec<String>) {
        match self {
            Key::Id(id) => (KeyKind::Id, vec![id.to_string()]),
            Key::Source(s) => (
                KeyKind::Source,
                vec![s.schema.clone(), s.table.clone(), s.id.clone()],
            ),
            Key::Vendor(code, uid) => (
                KeyKind::Vendor,
                vec![code.as_str().to_owned(), (*uid).to_owned()],
            ),
        }
    }
}

/// The records' queries.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    sealer: Arc<Sealer>,
    /// When (server clock, ms) this process last began pruning the notifications no
    /// client claimed; `i64::MIN` before the first time.
    pending_pruned_at: Arc<AtomicI64>,
}

/// Notifications for payments not stored yet that no client claims within this long are
/// forgotten.
const PENDING_RETENTION_MS: i64 = 7 * 86_400_000;
/// A process prunes them at most this often: keeping a notification is then one INSERT,
/// and the table holds at most this much beyond the retention.
const PENDING_PRUNE_EVERY_MS: u64 = 60_000;
/// At most this many rows go in one statement of the pruning: each statement locks what it
/// deletes, so a backlog (after a long stop) goes in short statements, each well within
/// SQLite's limit of bound values.
const PENDING_PRUNE_BATCH: u64 = 500;

impl Store {
    pub fn new(db: Db, sealer: Arc<Sealer>) -> Self {
        Self {
            db,
            sealer,
            pending_pruned_at: Arc::new(AtomicI64::new(i64::MIN)),
        }
    }

    /// Whether the database answers a trivial query in time.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.db.ping().await
    }

    /// The record of table `T` that `key` names, with what is read with it: one statement.
    pub async fn find<T: Table>(&self, key: Key<'_>) -> Result<Option<T>, sqlx::Error> {
        let (kind, values) = key.condition();
        let select = T::selects().get::<T>(kind);
        let rows = self
            .db
            .fetch_all(|| {
                let mut query = sqlx::query(select);
                for value in &values {
                    query = query.bind(value.clone());
                }
                query
            })
            .await?;
        Ok(records::<T>(rows, &self.sealer)?.pop())
    }

    /// Which of a new record's unique keys of table `T` a stored record holds already, its
    /// PG id first: one statement, each half of it one lookup in a unique index, nothing
    /// read but the answer.
    pub async fn taken<T: Table>(
        &self,
        vendor: &PaymentVendor,
        source: &PaymentSource,
    ) -> Result<Option<Taken>, sqlx::Error> {
        let select = T::selects().taken::<T>();
        let query = || {
            sqlx::query(select)
                .bind(vendor.code.as_str())
                .bind(vendor.uid.clone())
                .bind(source.schema.clone())
                .bind(source.table.clone())
                .bind(source.id.clone())
        };
        let mut which = Vec::new();
        for row in self.db.fetch_all(query).await? {
            which.push(sqlx::Row::try_get::<String, _>(&row, 0)?);
        }
        Ok(if which.iter().any(|which| which == "vendor") {
            Some(Taken::Vendor)
        } else if which.is_empty() {
            None
        } else {
            Some(Taken::Source)
        })
    }

    /// Stores a new payment and its cancels: one statement when it has none (atomic by
    /// itself), one transaction when it has.
    pub async fn insert_history(&self, row: &HistoryRow) -> Result<(), sqlx::Error> {
        let sealed = row.webhook_url.as_ref().map(|url| {
            let context = client_context(HistoryRow::NAME, "webhook_url", row.identity.id);
            self.sealer.seal(&context, url.as_bytes())
        });
        retry_conflicts(|| self.insert_history_once(row, sealed.clone())).await
    }

    async fn insert_history_once(
        &self,
        row: &HistoryRow,
        webhook_url_sealed: Option<Vec<u8>>,
    ) -> Result<(), sqlx::Error> {
        let insert = sqlx::query(trusted(format!(
            "INSERT INTO payment_histories ({IDENTITY_COLUMNS}, {}) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            HistoryRow::COLUMNS
        )));
        let insert = row
            .identity
            .bind(insert)
            .bind(None::<String>)
            .bind(webhook_url_sealed);
        let insert = row
            .bind_from_pg(insert)
            .bind(row.password_hash.clone())
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(row.version);
        if row.cancels.is_empty() {
            insert.execute(&self.db.pool).await?;
            return Ok(());
        }
        let mut tx = self.db.pool.begin().await?;
        insert.execute(&mut *tx).await?;
        // Inserts alone (nothing stored yet): each writes its row or fails.
        write_cancels(&mut tx, row.identity.id, 0, &row.cancels).await?;
        tx.commit().await
    }

    /// Replaces what a payment's record derives from the PG, its cancels included, and, when
    /// given, appends the client event of the change, all in one transaction, provided
    /// nobody changed the record since `row.version` was read. Answers `false` (and changes
    /// nothing) when somebody did.
    pub async fn update_history(
        &self,
        row: &HistoryRow,
        event: Option<&NewEvent>,
    ) -> Result<bool, sqlx::Error> {
        // On Galera two nodes updating one payment conflict at commit, and the database
        // rolls one back whole, so running it again is safe; its version check then tells
        // whether it still applies. (Updates of different payments on one server do not
        // deadlock: no statement here locks a range, see `write_cancels`.)
        retry_conflicts(|| self.update_history_once(row, event)).await
    }

    async fn update_history_once(
        &self,
        row: &HistoryRow,
        event: Option<&NewEvent>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.db.pool.begin().await?;
        let update = sqlx::query(
            "UPDATE payment_histories SET currency = ?, price = ?, refund = ?, paid_at = ?, \
             cancelled_at = ?, data = ?, updated_at = ?, version = version + 1 \
             WHERE id = ? AND version = ?",
        );
        let updated = row
            .bind_from_pg(update)
            .bind(row.updated_at)
            .bind(row.identity.id.to_string())
            .bind(row.version)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let id = row.identity.id;
        // The version matched, and every change of the cancels bumps it: the table holds
        // the `stored_cancels` rows read with the record, and the row lock just taken
        // keeps it so. Should it not (a row missing), the record is taken as changed.
        if !write_cancels(&mut tx, id, row.stored_cancels, &row.cancels).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(event) = event {
            Outbox::append(&mut tx, id, event).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Payments of a vendor whose source id is `source_id` (the order, for Toss).
    pub async fn histories_of_order(
        &self,
        code: VendorCode,
        source_id: &str,
    ) -> Result<Vec<HistoryRow>, sqlx::Error> {
        let rows = sqlx::query(trusted(select::<HistoryRow>(
            "t.vendor_code = ? AND t.source_id = ?",
        )))
        .bind(code.as_str())
        .bind(source_id.to_owned())
        .fetch_all(&self.db.pool)
        .await?;
        records(rows, &self.sealer)
    }

    /// Keeps a notification for a payment not stored yet, unless one is kept already; at
    /// most once a minute also forgets those older than [`PENDING_RETENTION_MS`].
    pub async fn add_pending(
        &self,
        code: VendorCode,
        uid: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let kept = retry_conflicts(|| {
            sqlx::query(
                "INSERT INTO payment_pending_events (id, vendor_code, vendor_uid, received_at) \
             VALUES (?, ?, ?, ?)",
            )
            .bind(Uuid::new_v4().to_string())
            .bind(code.as_str())
            .bind(uid.to_owned())
            .bind(now)
            .execute(&self.db.pool)
        })
        .await;
        match kept {
            // One is kept already: at most one per payment, however many arrive.
            Err(e) if crate::db::is_duplicate(&e) => {}
            other => other.map(drop)?,
        }
        if self.pending_prune_due(now) {
            // The notification is kept; pruning is the table's upkeep, and one that failed
            // is done by the next, a minute later.
            if let Err(e) = self.prune_pending(now - PENDING_RETENTION_MS).await {
                tracing::warn!(error = %e, "pruning unclaimed pending notifications failed");
            }
        }
        Ok(())
    }

    /// Whether this process should prune the pending notifications at `now`: a minute or
    /// more since it last began to (or the clock was set back as far), and no concurrent
    /// call took the turn first.
    fn pending_prune_due(&self, now: i64) -> bool {
        let last = self.pending_pruned_at.load(Ordering::Relaxed);
        now.abs_diff(last) >= PENDING_PRUNE_EVERY_MS
            && self
                .pending_pruned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Deletes the pending notifications received before `before`, at most
    /// [`PENDING_PRUNE_BATCH`] a statement, each named by its id. Why by id: on MariaDB
    /// (InnoDB, REPEATABLE READ) a `DELETE … WHERE received_at < ?` locks every row it reads
    /// until it ends, and reads past its range: without an index on `received_at` that is
    /// every row and gap of the table, which held up every notification kept and claimed
    /// meanwhile; with one it is still the first row not expired, a notification perhaps
    /// being claimed at that moment. A read that locks nothing finds the expired rows
    /// through the index, and a delete of rows by their primary key locks those alone.
    async fn prune_pending(&self, before: i64) -> Result<(), sqlx::Error> {
        loop {
            let expired: Vec<String> = sqlx::query_scalar(trusted(format!(
                "SELECT id FROM payment_pending_events WHERE received_at < ? \
                 ORDER BY received_at LIMIT {PENDING_PRUNE_BATCH}"
            )))
            .bind(before)
            .fetch_all(&self.db.pool)
            .await?;
            if expired.is_empty() {
                return Ok(());
            }
            let sql = format!(
                "DELETE FROM payment_pending_events WHERE id IN ({})",
                vec!["?"; expired.len()].join(", ")
            );
            retry_conflicts(|| {
                let mut delete = sqlx::query(trusted(sql.clone()));
                for id in &expired {
                    delete = delete.bind(id.clone());
                }
                delete.execute(&self.db.pool)
            })
            .await?;
            // Fewer than a batch: none were left (later rows are not expired).
            if (expired.len() as u64) < PENDING_PRUNE_BATCH {
                return Ok(());
            }
        }
    }

    /// Removes the kept notifications of a payment; answers how many there were.
    pub async fn take_pending(&self, code: VendorCode, uid: &str) -> Result<u64, sqlx::Error> {
        let done = retry_conflicts(|| {
            sqlx::query(
                "DELETE FROM payment_pending_events WHERE vendor_code = ? AND vendor_uid = ?",
            )
            .bind(code.as_str())
            .bind(uid.to_owned())
            .execute(&self.db.pool)
        })
        .await?;
        Ok(done.rows_affected())
    }

    /// Stores a new billing key.
    pub async fn insert_reservation(&self, row: &ReservationRow) -> Result<(), sqlx::Error> {
        let context = client_context(ReservationRow::NAME, "title", row.identity.id);
        let title = self.sealer.seal(&context, row.title.as_bytes());
        retry_conflicts(|| {
            let insert = sqlx::query(trusted(format!(
                "INSERT INTO payment_reservations ({IDENTITY_COLUMNS}, {}) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ReservationRow::COLUMNS
            )));
            row.identity
                .bind(insert)
                .bind(String::new())
                .bind(title.clone())
                .bind(row.data.clone())
                .bind(row.password_hash.clone())
                .bind(row.created_at)
                .execute(&self.db.pool)
        })
        .await?;
        Ok(())
    }
}

/// Writes payment `history_id`'s cancels over the `stored` rows the table holds for it, one
/// row per statement, each named by its whole primary key: rows `0..stored` rewritten in
/// place, the rest inserted, any stored beyond removed. Answers `false` when a row to
/// rewrite is missing (the table does not hold what the caller read).
///
/// Why by key: on MariaDB (InnoDB, REPEATABLE READ) a statement on a range of the key, such
/// as deleting all of a payment's cancels to insert them anew, locks the gap after the
/// range, even an empty one; two transactions on payments whose ids fall in one gap (any
/// two, while no payment has a cancel) each held the gap and waited to insert into the
/// other's: a deadlock, rolled back and retried, and under a burst of cancels retried
/// until a cancel answered 500. A statement on one existing row by its unique key locks
/// that row alone, and an insert waits only for gap locks, which nothing here takes.
async fn write_cancels(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    history_id: Uuid,
    stored: usize,
    cancels: &[CancelRow],
) -> Result<bool, sqlx::Error> {
    for (seq, cancel) in cancels.iter().enumerate() {
        let statement = if seq < stored {
            "UPDATE payment_history_cancels SET price = ?, reason = ?, created_at = ? \
             WHERE payment_history_id = ? AND seq = ?"
        } else {
            "INSERT INTO payment_history_cancels (price, reason, created_at, payment_history_id, seq) \
             VALUES (?, ?, ?, ?, ?)"
        };
        let written = sqlx::query(statement)
            .bind(cancel.price)
            .bind(cancel.reason.clone())
            .bind(cancel.created_at)
            .bind(history_id.to_string())
            .bind(seq as i64)
            .execute(&mut **tx)
            .await?;
        // Rows matched, not changed, on both databases (sqlx asks MariaDB for found rows).
        if written.rows_affected() != 1 {
            return Ok(false);
        }
    }
    for seq in cancels.len()..stored {
        sqlx::query("DELETE FROM payment_history_cancels WHERE payment_history_id = ? AND seq = ?")
            .bind(history_id.to_string())
            .bind(seq as i64)
            .execute(&mut **tx)
            .await?;
    }
    Ok(true)
}
