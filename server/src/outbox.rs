//! The outbox: the events the server owes clients.
//!
//! An event is sealed here and written in the same transaction as the change of the payment
//! it reports ([`Outbox::seal`], [`Outbox::append`]), so a change is never recorded without
//! its event nor the other way round. The relay then claims due events, opens them and
//! records each attempt; the API lists a payment's events and makes one due again; and
//! events that are done (delivered or failed) are pruned with their attempts after the
//! retention period. Pending events are never pruned.
//!
//! An event's URL (which can hold credentials) and the excerpts of the client's answers
//! are sealed like its body; rows written before they were keep them plain, and are read
//! as they are.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use payments_api::payments::{
    PaymentWebhook, PaymentWebhookAttempt, PaymentWebhookEvent, WebhookEventState,
};
use sqlx::any::{Any, AnyTypeInfo};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::{Clock, time};
use crate::crypto::{OpenError, Sealer};
use crate::db::{Backend, Db, is_duplicate, retry_conflicts, trusted};

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    /// Waiting for its next attempt.
    Pending,
    /// The client answered 2xx.
    Delivered,
    /// Every attempt failed within the retry window.
    Failed,
}

impl EventState {
    /// The state as the `state` column holds it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// A `state` column holding none of the three: a corrupt row, never read as pending.
#[derive(Debug, thiserror::Error)]
#[error("unknown event state {0:?}")]
pub struct UnknownState(String);

impl std::str::FromStr for EventState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(UnknownState(other.to_owned())),
        }
    }
}

impl From<EventState> for WebhookEventState {
    fn from(state: EventState) -> Self {
        match state {
            EventState::Pending => Self::Pending,
            EventState::Delivered => Self::Delivered,
            EventState::Failed => Self::Failed,
        }
    }
}

impl sqlx::Type<Any> for EventState {
    fn type_info() -> AnyTypeInfo {
        <str as sqlx::Type<Any>>::type_info()
    }
}

impl sqlx::Encode<'_, Any> for EventState {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <&str as sqlx::Encode<'_, Any>>::encode(self.as_str(), buf)
    }
}

impl<'r> sqlx::Decode<'r, Any> for EventState {
    fn decode(value: <Any as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(<&str as sqlx::Decode<'r, Any>>::decode(value)?.parse()?)
    }
}

/// An event as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub payment_history_id: Uuid,
    /// The event's place among its payment's events: they go out in this order.
    pub seq: i64,
    /// The URL the event goes to: plain in rows written before sealing (empty after), and
    /// opened from `webhook_url_sealed` by [`Outbox::webhook_url`].
    pub webhook_url: String,
    pub webhook_url_sealed: Option<Vec<u8>>,
    /// The sealed JSON of the client event.
    pub body: Vec<u8>,
    pub state: EventState,
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// Until when the instance that claimed it is delivering it.
    pub lease_until: Option<i64>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    /// The request whose change wrote it, for the relay's log lines.
    pub request_id: Option<String>,
}

/// One delivery attempt as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    #[sqlx(try_from = "String")]
    pub event_id: Uuid,
    pub attempt: i64,
    pub attempted_at: i64,
    /// The client's HTTP status; `None` when it did not answer.
    pub status: Option<i64>,
    pub latency_ms: i64,
    /// The start of the client's answer, or why there was none.
    pub excerpt: Option<String>,
}

/// A client event sealed and ready to be written with the change it reports.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    /// The sealed URL the event goes to.
    pub webhook_url: Vec<u8>,
    pub body: Vec<u8>,
    pub created_at: i64,
    /// The request whose change writes it ([`crate::request::id`]).
    pub request_id: Option<String>,
}

const EVENT_COLUMNS: &str = "e.id, e.payment_history_id, e.seq, e.webhook_url, \
     e.webhook_url_sealed, e.body, e.state, e.attempts, e.next_attempt_at, e.lease_until, \
     e.created_at, e.delivered_at, e.request_id";

const ATTEMPT_COLUMNS: &str =
    "a.event_id, a.attempt, a.attempted_at, a.status, a.latency_ms, a.excerpt";

/// The sealing context of an event's body: a body copied to another event does not open.
fn context(event_id: Uuid) -> String {
    format!("payment_webhook_events.body:{event_id}")
}

fn url_context(event_id: Uuid) -> String {
    format!("payment_webhook_events.webhook_url:{event_id}")
}

fn excerpt_context(event_id: Uuid, attempt: i64) -> String {
    format!("payment_webhook_attempts.excerpt:{event_id}:{attempt}")
}

/// How a sealed excerpt starts in its text column (older rows hold plain text).
const SEALED_EXCERPT: &str = "sealed:";

/// The outbox of one server instance (the events themselves are shared through the
/// database).
#[derive(Debug)]
pub struct Outbox {
    db: Db,
    sealer: Arc<Sealer>,
    clock: Arc<Clock>,
    /// Wakes the relay when an event is written or made due.
    wake: Notify,
}

impl Outbox {
    pub fn new(db: Db, sealer: Arc<Sealer>, clock: Arc<Clock>) -> Self {
        Self {
            db,
            sealer,
            clock,
            wake: Notify::new(),
        }
    }

    /// The server's clock, which decides when events are due.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Seals a client event for `webhook_url`, due now.
    pub fn seal(
        &self,
        event: &PaymentWebhook,
        webhook_url: String,
    ) -> Result<NewEvent, serde_json::Error> {
        let json = serde_json::to_vec(event)?;
        Ok(NewEvent {
            id: event.id,
            webhook_url: self
                .sealer
                .seal(&url_context(event.id), webhook_url.as_bytes()),
            body: self.sealer.seal(&context(event.id), &json),
            created_at: self.clock.now_ms(),
            request_id: crate::request::id(),
        })
    }

    /// Writes `event` as the next event of payment `history_id`, inside the transaction
    /// that records the change it reports.
    pub async fn append(
        tx: &mut sqlx::Transaction<'_, Any>,
        history_id: Uuid,
        event: &NewEvent,
    ) -> Result<(), sqlx::Error> {
        let seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM payment_webhook_events WHERE payment_history_id = ?",
        )
        .bind(history_id.to_string())
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO payment_webhook_events (id, payment_history_id, seq, webhook_url, \
             webhook_url_sealed, body, state, attempts, next_attempt_at, lease_until, created_at, \
             delivered_at, request_id) VALUES (?, ?, ?, '', ?, ?, ?, 0, ?, NULL, ?, NULL, ?)",
        )
        .bind(event.id.to_string())
        .bind(history_id.to_string())
        .bind(seq)
        .bind(event.webhook_url.clone())
        .bind(event.body.clone())
        .bind(EventState::Pending)
        .bind(event.created_at)
        .bind(event.created_at)
        .bind(event.request_id.clone())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Tells the relay that an event was written.
    pub fn written(&self) {
        self.wake.notify_one();
    }

    /// Completes when an event is written or made due (or at once, if one was since the
    /// last call).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The events of payment `history_id`, oldest first, each with its attempts.
    pub async fn list(&self, history_id: Uuid) -> Result<Vec<PaymentWebhookEvent>, sqlx::Error> {
        self.views(history_id, None).await
    }

    /// Makes event `event_id` of payment `history_id` due again now, whatever its state;
    /// `None` when the payment has no such event.
    pub async fn redeliver(
        &self,
        history_id: Uuid,
        event_id: Uuid,
    ) -> Result<Option<PaymentWebhookEvent>, sqlx::Error> {
        let now = self.clock.now_ms();
        let done = retry_conflicts(|| {
            sqlx::query(
                "UPDATE payment_webhook_events SET state = ?, next_attempt_at = ?, lease_until = NULL \
                 WHERE id = ? AND payment_history_id = ?",
            )
            .bind(EventState::Pending)
            .bind(now)
            .bind(event_id.to_string())
            .bind(history_id.to_string())
            .execute(&self.db.pool)
        })
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        self.written();
        Ok(self.views(history_id, Some(event_id)).await?.pop())
    }

    /// Events with their attempts, in two queries whatever their number.
    async fn views(
        &self,
        history_id: Uuid,
        only: Option<Uuid>,
    ) -> Result<Vec<PaymentWebhookEvent>, sqlx::Error> {
        let filter = if only.is_some() { " AND e.id = ?" } else { "" };
        let mut events = sqlx::query_as::<_, EventRow>(trusted(format!(
            "SELECT {EVENT_COLUMNS} FROM payment_webhook_events e \
             WHERE e.payment_history_id = ?{filter} ORDER BY e.seq"
        )))
        .bind(history_id.to_string());
        let mut attempts = sqlx::query_as::<_, AttemptRow>(trusted(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_webhook_attempts a \
             JOIN payment_webhook_events e ON e.id = a.event_id \
             WHERE e.payment_history_id = ?{filter} ORDER BY a.attempt"
        )))
        .bind(history_id.to_string());
        if let Some(id) = only {
            events = events.bind(id.to_string());
            attempts = attempts.bind(id.to_string());
        }
        let events = events.fetch_all(&self.db.pool).await?;
        let mut by_event: BTreeMap<Uuid, Vec<AttemptRow>> = BTreeMap::new();
        for attempt in attempts.fetch_all(&self.db.pool).await? {
            by_event.entry(attempt.event_id).or_default().push(attempt);
        }
        events
            .into_iter()
            .map(|mut event| {
                let mut attempts = by_event.remove(&event.id).unwrap_or_default();
                event.webhook_url = self.webhook_url(&event).map_err(unopenable)?;
                for attempt in &mut attempts {
                    attempt.excerpt = self.open_excerpt(attempt);
                }
                Ok(view(event, attempts))
            })
            .collect()
    }

    /// The URL an event goes to.
    pub fn webhook_url(&self, event: &EventRow) -> Result<String, OpenError> {
        match &event.webhook_url_sealed {
            Some(sealed) => String::from_utf8(self.sealer.open(&url_context(event.id), sealed)?)
                .map_err(|_| OpenError::Malformed),
            None => Ok(event.webhook_url.clone()),
        }
    }

    /// An attempt's excerpt as the client may read it; one that does not open shows as
    /// such rather than failing the whole listing.
    fn open_excerpt(&self, attempt: &AttemptRow) -> Option<String> {
        let stored = attempt.excerpt.as_deref()?;
        let Some(sealed) = stored.strip_prefix(SEALED_EXCERPT) else {
            return Some(stored.to_owned());
        };
        let context = excerpt_context(attempt.event_id, attempt.attempt);
        let opened = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()
            .and_then(|bytes| self.sealer.open(&context, &bytes).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok());
        Some(opened.unwrap_or_else(|| "(the excerpt does not open)".to_owned()))
    }

    /// Claims due events for delivery until `lease_until`: the oldest pending event of each
    /// payment only, so a payment's events go out in order. On MariaDB the candidates are
    /// locked `FOR UPDATE SKIP LOCKED`, so instances sharing the database claim disjoint
    /// events. On Galera the lock holds on one node only: instances on two nodes may take
    /// the same event, and the one that commits second fails certification and claims
    /// again, seeing the other's lease.
    pub async fn claim(&self, lease_until: i64, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
        retry_conflicts(|| self.claim_once(lease_until, limit)).await
    }

    async fn claim_once(&self, lease_until: i64, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
        let now = self.clock.now_ms();
        let lock = match self.db.backend {
            Backend::MariaDb => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.db.pool.begin().await?;
        let events = sqlx::query_as::<_, EventRow>(trusted(format!(
            "SELECT {EVENT_COLUMNS} FROM payment_webhook_events e \
             WHERE e.state = ? AND e.next_attempt_at <= ? \
             AND (e.lease_until IS NULL OR e.lease_until < ?) \
             AND NOT EXISTS (SELECT 1 FROM payment_webhook_events p \
                 WHERE p.payment_history_id = e.payment_history_id AND p.state = ? AND p.seq < e.seq) \
             ORDER BY e.next_attempt_at LIMIT ?{lock}"
        )))
        .bind(EventState::Pending)
        .bind(now)
        .bind(now)
        .bind(EventState::Pending)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(events.len());
        for mut event in events {
            // The lease is what other instances (and a restarted one) see; the lock above
            // only keeps two claimers from taking the same row at the same moment.
            let updated = sqlx::query(
                "UPDATE payment_webhook_events SET lease_until = ? \
                 WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)",
            )
            .bind(lease_until)
            .bind(event.id.to_string())
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

    /// Puts a claimed event back unattempted, due at `until`.
    pub async fn postpone(&self, event: &EventRow, until: i64) -> Result<(), sqlx::Error> {
        retry_conflicts(|| {
            sqlx::query(
                "UPDATE payment_webhook_events SET next_attempt_at = ?, lease_until = NULL \
                 WHERE id = ? AND lease_until = ?",
            )
            .bind(until)
            .bind(event.id.to_string())
            .bind(event.lease_until)
            .execute(&self.db.pool)
        })
        .await?;
        Ok(())
    }

    /// Makes events put back unattempted ([`Outbox::postpone`]) due at `now`, those still
    /// waiting and not claimed since.
    pub async fn release(&self, events: &[Uuid], now: i64) -> Result<(), sqlx::Error> {
        if events.is_empty() {
            return Ok(());
        }
        let marks = vec!["?"; events.len()].join(", ");
        retry_conflicts(|| {
            let mut release = sqlx::query(trusted(format!(
                "UPDATE payment_webhook_events SET next_attempt_at = ? \
                 WHERE id IN ({marks}) AND state = ? AND lease_until IS NULL AND next_attempt_at > ?"
            )))
            .bind(now);
            for event in events {
                release = release.bind(event.to_string());
            }
            release
                .bind(EventState::Pending)
                .bind(now)
                .execute(&self.db.pool)
        })
        .await?;
        Ok(())
    }

    /// The JSON of a claimed event.
    pub fn open(&self, event: &EventRow) -> Result<Vec<u8>, OpenError> {
        self.sealer.open(&context(event.id), &event.body)
    }

    /// Records an attempt and the event's new state, releasing its lease. Recording it
    /// again is no error: when the answer to the first COMMIT was lost (the database node
    /// died), the attempt's row shows that it was recorded, with the event's state.
    pub async fn finish(&self, event: &EventRow, attempt: &AttemptRow) -> Result<(), sqlx::Error> {
        match retry_conflicts(|| self.finish_once(event, attempt)).await {
            Err(e) if is_duplicate(&e) => Ok(()),
            other => other,
        }
    }

    async fn finish_once(&self, event: &EventRow, attempt: &AttemptRow) -> Result<(), sqlx::Error> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "INSERT INTO payment_webhook_attempts (event_id, attempt, attempted_at, status, latency_ms, excerpt) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(event.id.to_string())
        .bind(attempt.attempt)
        .bind(attempt.attempted_at)
        .bind(attempt.status)
        .bind(attempt.latency_ms)
        .bind(attempt.excerpt.as_ref().map(|excerpt| {
            let sealed = self.sealer.seal(
                &excerpt_context(event.id, attempt.attempt),
                excerpt.as_bytes(),
            );
            format!(
                "{SEALED_EXCERPT}{}",
                base64::engine::general_purpose::STANDARD.encode(sealed)
            )
        }))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE payment_webhook_events SET state = ?, attempts = ?, next_attempt_at = ?, \
             lease_until = NULL, delivered_at = ? WHERE id = ?",
        )
        .bind(event.state)
        .bind(event.attempts)
        .bind(event.next_attempt_at)
        .bind(event.delivered_at)
        .bind(event.id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Removes up to `limit` events that were done before `cutoff` (delivered then, or
    /// failed with their last attempt then), with their attempts; answers how many. Pending
    /// events stay whatever their age. On MariaDB the rows are locked while they go, so a
    /// redelivery racing the pruning either comes first (and the event stays) or finds no
    /// event.
    pub async fn prune(&self, cutoff: i64, limit: i64) -> Result<u64, sqlx::Error> {
        retry_conflicts(|| self.prune_once(cutoff, limit)).await
    }

    async fn prune_once(&self, cutoff: i64, limit: i64) -> Result<u64, sqlx::Error> {
        let lock = match self.db.backend {
            Backend::MariaDb => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.db.pool.begin().await?;
        let ids: Vec<String> = sqlx::query_scalar(trusted(format!(
            "SELECT id FROM payment_webhook_events \
             WHERE (state = ? AND delivered_at < ?) OR (state = ? AND next_attempt_at < ?) \
             LIMIT ?{lock}"
        )))
        .bind(EventState::Delivered)
        .bind(cutoff)
        .bind(EventState::Failed)
        .bind(cutoff)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let marks = vec!["?"; ids.len()].join(", ");
        // Events first, and only those still done; then the attempts left without an event
        // (the foreign key's cascade removes them already where it is enforced).
        let mut events = sqlx::query(trusted(format!(
            "DELETE FROM payment_webhook_events WHERE id IN ({marks}) AND state <> ?"
        )));
        for id in &ids {
            events = events.bind(id.clone());
        }
        let pruned = events
            .bind(EventState::Pending)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let mut attempts = sqlx::query(trusted(format!(
            "DELETE FROM payment_webhook_attempts WHERE event_id IN ({marks}) \
             AND NOT EXISTS (SELECT 1 FROM payment_webhook_events e WHERE e.id = event_id)"
        )));
        for id in &ids {
            attempts = attempts.bind(id.clone());
        }
        attempts.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(pruned)
    }
}

/// An event's sealed values that do not open: a corrupt row, or a key no longer configured.
fn unopenable(error: OpenError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

/// An event as the API shows it.
fn view(event: EventRow, attempts: Vec<AttemptRow>) -> PaymentWebhookEvent {
    PaymentWebhookEvent {
        id: event.id,
        webhook_url: event.webhook_url,
        state: event.state.into(),
        created_at: time(event.created_at),
        next_attempt_at: (event.state == EventState::Pending).then(|| time(event.next_attempt_at)),
        delivered_at: event.delivered_at.map(time),
        attempts: attempts
            .into_iter()
            .map(|a| PaymentWebhookAttempt {
                attempted_at: time(a.attempted_at),
                status: a.status.and_then(|s| u16::try_from(s).ok()),
                latency_ms: u64::try_from(a.latency_ms).unwrap_or(0),
                excerpt: a.excerpt,
            })
            .collect(),
    }
}
