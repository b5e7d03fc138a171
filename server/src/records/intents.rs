//! Cancel intents (`payment_cancel_intents`): a cancel written down before the PG is asked,
//! then settled from the PG's answer, or from the PG's state when the answer was lost (a
//! crash, a timeout). A payment has at most one open intent; a client's `Idempotency-Key`
//! names its intent, so a retry finds it.

use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::db::Db;
use crate::money::Amount;

/// Where an intent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Written; the PG's answer is not recorded yet.
    Open,
    /// The PG cancelled; the record shows it.
    Done,
    /// The PG refused; the refusal is kept to answer a retry with it.
    Refused,
    /// Never happened at the PG (its request was lost before the PG acted): a retry with the
    /// same key starts afresh.
    Abandoned,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Done => "done",
            State::Refused => "refused",
            State::Abandoned => "abandoned",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "open" => State::Open,
            "done" => State::Done,
            "refused" => State::Refused,
            "abandoned" => State::Abandoned,
            other => return Err(format!("unknown cancel intent state {other:?}")),
        })
    }
}

/// One cancel intent.
#[derive(Debug, Clone)]
pub struct Intent {
    pub id: Uuid,
    pub history_id: Uuid,
    pub client_key: Option<String>,
    pub price: Amount,
    /// The payment's refunded total before this cancel, as the record had it.
    pub refund_before: Amount,
    /// A keyed hash of what was asked (amount, reason, refund account), to tell a retry
    /// from another request under the same key.
    pub fingerprint: Vec<u8>,
    pub state: State,
    /// The PG's refusal (its code and message), for [`State::Refused`].
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, payment_history_id, client_key, price, refund_before, fingerprint, \
     state, error_code, error_message, updated_at";

impl<'r> sqlx::FromRow<'r, AnyRow> for Intent {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        let uuid = |column: &str| -> Result<Uuid, sqlx::Error> {
            let text: String = row.try_get(column)?;
            Uuid::parse_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
                index: column.into(),
                source: e.into(),
            })
        };
        let state: String = row.try_get("state")?;
        Ok(Self {
            id: uuid("id")?,
            history_id: uuid("payment_history_id")?,
            client_key: row.try_get("client_key")?,
            price: row.try_get("price")?,
            refund_before: row.try_get("refund_before")?,
            fingerprint: row.try_get("fingerprint")?,
            state: State::parse(&state).map_err(|e| sqlx::Error::ColumnDecode {
                index: "state".into(),
                source: e.into(),
            })?,
            error_code: row.try_get("error_code")?,
            error_message: row.try_get("error_message")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// The intents' queries.
#[derive(Debug, Clone)]
pub struct Intents {
    db: Db,
}

impl Intents {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Writes a new open intent. Fails with a unique-key violation when the payment has an
    /// open intent already, or when the client's key names another intent of the payment.
    pub async fn open(&self, intent: &Intent, now: i64) -> Result<(), sqlx::Error> {
        crate::db::retry_conflicts(|| {
            sqlx::query(
                "INSERT INTO payment_cancel_intents (id, payment_history_id, client_key, open_for, \
             price, refund_before, fingerprint, state, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(intent.id.to_string())
            .bind(intent.history_id.to_string())
            .bind(intent.client_key.clone())
            .bind(intent.history_id.to_string())
            .bind(intent.price)
            .bind(intent.refund_before)
            .bind(intent.fingerprint.clone())
            .bind(State::Open.as_str())
            .bind(now)
            .bind(now)
            .execute(&self.db.pool)
        })
        .await?;
        Ok(())
    }

    /// The intent of a payment that a client's key names.
    pub async fn by_key(&self, history_id: Uuid, key: &str) -> Result<Option<Intent>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payment_cancel_intents \
             WHERE payment_history_id = ? AND client_key = ?"
        )))
        .bind(history_id.to_string())
        .bind(key.to_owned())
        .fetch_optional(&self.db.pool)
        .await
    }

    /// The open intent of a payment, if any.
    pub async fn open_of(&self, history_id: Uuid) -> Result<Option<Intent>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payment_cancel_intents WHERE open_for = ?"
        )))
        .bind(history_id.to_string())
        .fetch_optional(&self.db.pool)
        .await
    }

    /// Open intents not touched since `before`, oldest first, at most `limit`.
    pub async fn stale(&self, before: i64, limit: i64) -> Result<Vec<Intent>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payment_cancel_intents \
             WHERE state = ? AND updated_at < ? ORDER BY updated_at LIMIT ?"
        )))
        .bind(State::Open.as_str())
        .bind(before)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await
    }

    /// Settles an open intent: `Done`, `Refused` (with the PG's code and message) or
    /// `Abandoned`, which also frees the client's key for a fresh attempt. Settling one
    /// settled already changes nothing.
    pub async fn settle(
        &self,
        id: Uuid,
        state: State,
        error: Option<(&str, &str)>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let keep_key = state != State::Abandoned;
        crate::db::retry_conflicts(|| {
            sqlx::query(
                "UPDATE payment_cancel_intents SET state = ?, open_for = NULL, error_code = ?, \
             error_message = ?, updated_at = ?, \
             client_key = CASE WHEN ? = 1 THEN client_key ELSE NULL END \
             WHERE id = ? AND state = ?",
            )
            .bind(state.as_str())
            .bind(error.map(|(code, _)| truncate(code, 64)))
            .bind(error.map(|(_, message)| truncate(message, 1024)))
            .bind(now)
            .bind(i64::from(keep_key))
            .bind(id.to_string())
            .bind(State::Open.as_str())
            .execute(&self.db.pool)
        })
        .await?;
        Ok(())
    }
}

/// At most `max` characters of `text`.
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
