//! Payments (histories) and billing keys (reservations): verified at the PG, sealed at
//! rest, opened only with their password, and kept in step with the PG as it notifies
//! changes.
//!
//! [`Records`] is the use-case layer: it checks input (`input`), asks the PG through the
//! seam in `pg`, reads and writes rows through [`store`], and hands client events to the
//! outbox in the same transaction as the change they report. It answers [`RecordError`],
//! which the HTTP layer maps to statuses.

use std::sync::Arc;

use payments_api::payments::*;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::clock::{Clock, time};
use crate::config::DEFAULT_STORE;
use crate::crypto::{Passwords, Sealer};
use crate::db::{Db, is_duplicate};
use crate::outbox::Outbox;
use crate::pg::{self, Claim, Gateways, Notice, Payment, PgError, Summary};
use store::{CancelRow, HistoryRow, Identity, Key, ReservationRow, Store, Table, Taken};

pub use error::{RecordError, Refusal};

mod cancel;
mod error;
mod input;
pub mod intents;
pub mod store;

/// The record store and the PGs behind it.
#[derive(Debug)]
pub struct Records {
    store: Store,
    intents: intents::Intents,
    sealer: Arc<Sealer>,
    passwords: Passwords,
    pgs: Gateways,
    clock: Arc<Clock>,
    outbox: Arc<Outbox>,
}

/// What a PG's notification did to a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// The payment changed; the client event with this id is on its way.
    Changed(Uuid),
    /// The PG reports nothing new.
    Unchanged,
    /// No client stored the payment yet: the notification is kept for when one does.
    Pending,
    /// The PG does not know the payment, or the notification is not about one: ignored.
    Unknown,
}

/// How a client names one record.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// The record's id, as the client sent it.
    Id(&'a str),
    Source(&'a PaymentSource),
}

impl Lookup<'_> {
    /// The database key; an id that is no UUID is refused before any query.
    fn key(&self) -> Result<Key<'_>, RecordError> {
        match self {
            Lookup::Id(id) => Uuid::parse_str(id)
                .map(Key::Id)
                .map_err(|_| RecordError::invalid("the id must be a UUID")),
            Lookup::Source(source) => Ok(Key::Source(source)),
        }
    }
}

/// The sealing context of a record's PG data: a value copied to another row does not open.
fn data_context<T: Table>(id: Uuid) -> String {
    format!("{}.data:{id}", T::NAME)
}

fn reason_context(id: Uuid, seq: usize) -> String {
    format!("payment_history_cancels.reason:{id}:{seq}")
}

impl Records {
    /// Records on `db`, sealed with `sealer`, verified at `pgs`, their client events
    /// written to `outbox`; `clock` is the outbox's too.
    pub fn new(
        db: Db,
        sealer: Arc<Sealer>,
        passwords: Passwords,
        pgs: Gateways,
        clock: Arc<Clock>,
        outbox: Arc<Outbox>,
    ) -> Self {
        Self {
            intents: intents::Intents::new(db.clone()),
            store: Store::new(db, sealer.clone()),
            sealer,
            passwords,
            pgs,
            clock,
            outbox,
        }
    }

    /// Verifies a payment at the PG and keeps it.
    pub async fn create_history(
        &self,
        input: PaymentHistoryCreate,
    ) -> Result<PaymentHistory, RecordError> {
        let price = input::history(&input)?;
        let (vendor, source) = (&input.vendor, &input.source);
        // Duplicates are refused before the PG is asked, so they leave no trace there.
        self.refuse_duplicate::<HistoryRow>(
            vendor,
            source,
            "a payment with this PG id is stored already",
            "a payment for this source is stored already",
        )
        .await?;
        let payment = self
            .pgs
            .get(vendor.code, &vendor.store_id)?
            .verify_payment(Claim {
                uid: &vendor.uid,
                order_id: &source.id,
                price,
            })
            .await?;

        let identity = Identity::new(vendor, source);
        let id = identity.id;
        let now = self.clock.now_ms();
        let summary = &payment.summary;
        let row = HistoryRow {
            identity,
            webhook_url: Some(input.webhook_url.clone()),
            webhook_url_sealed: None,
            currency: summary.currency.clone(),
            price: summary.price,
            refund: summary.refund,
            paid_at: summary.paid_at_ms,
            cancelled_at: summary.cancelled_at_ms,
            data: self.seal_data::<HistoryRow>(id, &payment.raw),
            password_hash: self.passwords.hash(&id.to_string(), &input.password),
            created_at: now,
            updated_at: now,
            version: 0,
            cancels: self.seal_cancels(id, summary),
            stored_cancels: 0,
        };
        match self.store.insert_history(&row).await {
            Ok(()) => {}
            Err(e) if is_duplicate(&e) => {
                return Err(RecordError::Duplicate(
                    "a payment with this PG id or source exists",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        // Notifications the PG sent before the client stored the payment: apply them now.
        // The payment was just read from the PG, so usually they change nothing; one that
        // raced the insert is caught here.
        if self.store.take_pending(vendor.code, &vendor.uid).await? > 0 {
            self.refresh(vendor.code, &vendor.uid).await?;
            let id = id.to_string();
            return self.history(Lookup::Id(&id), &input.password).await;
        }
        Ok(history_of(&row, payment.data, &payment.summary))
    }

    /// Whether the database answers now.
    pub async fn ready(&self) -> Result<(), RecordError> {
        self.store
            .ping()
            .await
            .map_err(|e| match RecordError::from(e) {
                RecordError::Internal(_) => RecordError::DatabaseUnavailable,
                other => other,
            })
    }

    /// Whether a notification to the PG of `code` comes from it (see
    /// [`Gateways::authenticate`]), on the server's clock.
    pub fn authenticate(
        &self,
        code: VendorCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let now_s = self.clock.now_ms().div_euclid(1000);
        self.pgs.authenticate(code, headers, body, now_s)
    }

    /// A PG's notification: re-read what it names. A notification naming an order is
    /// genuine only with the secret the PG gave that payment, compared in constant time.
    pub async fn notified(&self, code: VendorCode, notice: Notice) -> Result<Refresh, RecordError> {
        match notice {
            Notice::Payment(uid) => self.refresh(code, &uid).await,
            Notice::Ignored => Ok(Refresh::Unknown),
            Notice::Order { order_id, secret } => {
                for row in self.store.histories_of_order(code, &order_id).await? {
                    let history = self.open_history(&row)?;
                    let Some(expected) = (pg::vendor(code).order_secret)(&history.data) else {
                        continue;
                    };
                    if !bool::from(expected.as_bytes().ct_eq(secret.as_bytes())) {
                        return Err(RecordError::BadSecret(
                            "the notification's secret is not the one the PG gave the payment",
                        ));
                    }
                    return self.refresh(code, &row.identity.vendor_uid).await;
                }
                // The PG also notifies by the payment's own id; an unknown order is
                // acknowledged so the PG does not retry it for days.
                Ok(Refresh::Unknown)
            }
        }
    }

    /// A PG said something happened to payment `uid`: re-fetch it from the PG (the
    /// notification's body is never trusted), and if it changed, update the record and
    /// write the client event in the same transaction. Concurrent notifications of one
    /// payment are serialised by the record's version: a change computed from a stale read
    /// is redone.
    pub async fn refresh(&self, code: VendorCode, uid: &str) -> Result<Refresh, RecordError> {
        let key = Key::Vendor(code, uid);
        for _ in 0..8 {
            let Some(row) = self.store.find::<HistoryRow>(key).await? else {
                // Kept only if the PG knows the payment: notifications are unauthenticated,
                // and forged ones must not fill the table.
                match self.pgs.get(code, DEFAULT_STORE)?.payment(uid).await {
                    Ok(_) => {}
                    Err(PgError::Refused { .. }) => return Ok(Refresh::Unknown),
                    Err(e) => return Err(e.into()),
                }
                self.store
                    .add_pending(code, uid, self.clock.now_ms())
                    .await?;
                // The client may have stored it between the lookup and the insert.
                if self.store.find::<HistoryRow>(key).await?.is_some() {
                    self.store.take_pending(code, uid).await?;
                    continue;
                }
                return Ok(Refresh::Pending);
            };
            let previous = self.open_history(&row)?;
            let payment = self
                .pgs
                .get(code, &row.identity.vendor_store_id)?
                .payment(uid)
                .await?;
            if let Some(outcome) = self.apply(row, previous, payment).await? {
                return Ok(outcome);
            }
        }
        Err(RecordError::internal(format!(
            "payment {uid} keeps changing under concurrent notifications"
        )))
    }

    /// Writes the PG's `payment` into the record read as `row` (shown to the client as
    /// `previous`), with a client event if anything changed. `None`: the record changed
    /// since it was read; nothing was written.
    async fn apply(
        &self,
        mut row: HistoryRow,
        previous: PaymentHistory,
        payment: Payment,
    ) -> Result<Option<Refresh>, RecordError> {
        let Payment { data, raw, summary } = payment;
        row.currency = summary.currency.clone();
        row.price = summary.price;
        row.refund = summary.refund;
        row.paid_at = summary.paid_at_ms;
        row.cancelled_at = summary.cancelled_at_ms;
        let current = history_of(&row, data, &summary);
        if current == previous {
            return Ok(Some(Refresh::Unchanged));
        }
        let id = row.identity.id;
        row.data = self.seal_data::<HistoryRow>(id, &raw);
        row.updated_at = self.clock.now_ms();
        row.cancels = self.seal_cancels(id, &summary);
        let event = match row.webhook_url.clone() {
            Some(webhook_url) => {
                let event = PaymentWebhook {
                    id: Uuid::new_v4(),
                    source: current.source.clone(),
                    previous,
                    current,
                };
                let sealed = self
                    .outbox
                    .seal(&event, webhook_url)
                    .map_err(|e| RecordError::internal(format!("a client event: {e}")))?;
                Some(sealed)
            }
            None => None,
        };
        if !self.store.update_history(&row, event.as_ref()).await? {
            return Ok(None);
        }
        Ok(Some(match event {
            Some(event) => {
                // Inside the request's span: its id links the request to the event's
                // delivery attempts, which the relay logs with the event's id.
                tracing::info!(event = %event.id, "client event written");
                self.outbox.written();
                Refresh::Changed(event.id)
            }
            None => Refresh::Unchanged,
        }))
    }

    /// Refuses a record of table `T` whose PG id or source is taken.
    async fn refuse_duplicate<T: Table>(
        &self,
        vendor: &PaymentVendor,
        source: &PaymentSource,
        same_uid: &'static str,
        same_source: &'static str,
    ) -> Result<(), RecordError> {
        match self.store.taken::<T>(vendor, source).await? {
            Some(Taken::Vendor) => Err(RecordError::Duplicate(same_uid)),
            Some(Taken::Source) => Err(RecordError::Duplicate(same_source)),
            None => Ok(()),
        }
    }

    /// The record `lookup` names, if `password` opens it.
    async fn unlock<T: Table>(&self, lookup: Lookup<'_>, password: &str) -> Result<T, RecordError> {
        let row = self
            .store
            .find::<T>(lookup.key()?)
            .await?
            .ok_or(RecordError::NotFound(T::WHAT))?;
        let id = row.identity().id.to_string();
        if !self.passwords.verify(&id, password, row.password_hash()) {
            return Err(RecordError::WrongPassword);
        }
        Ok(row)
    }

    /// A payment, opened with its password.
    pub async fn history(
        &self,
        lookup: Lookup<'_>,
        password: &str,
    ) -> Result<PaymentHistory, RecordError> {
        let row = self.unlock::<HistoryRow>(lookup, password).await?;
        self.open_history(&row)
    }

    /// The client events of a payment, with every delivery attempt.
    pub async fn webhook_events(
        &self,
        access: &PaymentSourceAccessor,
    ) -> Result<Vec<PaymentWebhookEvent>, RecordError> {
        let lookup = Lookup::Source(&access.source);
        let row = self.unlock::<HistoryRow>(lookup, &access.password).await?;
        Ok(self.outbox.list(row.identity.id).await?)
    }

    /// Sends a client event of a payment again, now.
    pub async fn redeliver(
        &self,
        input: &PaymentWebhookRedeliver,
    ) -> Result<PaymentWebhookEvent, RecordError> {
        let lookup = Lookup::Source(&input.source);
        let row = self.unlock::<HistoryRow>(lookup, &input.password).await?;
        self.outbox
            .redeliver(row.identity.id, input.event_id)
            .await?
            .ok_or(RecordError::NotFound("event of this payment"))
    }

    /// Verifies a billing key at the PG and keeps it.
    pub async fn create_reservation(
        &self,
        input: PaymentReservationCreate,
    ) -> Result<PaymentReservation, RecordError> {
        input::reservation(&input)?;
        let (vendor, source) = (&input.vendor, &input.source);
        const TAKEN: &str = "a billing key with this PG id or source is stored already";
        self.refuse_duplicate::<ReservationRow>(vendor, source, TAKEN, TAKEN)
            .await?;
        let key = self
            .pgs
            .get(vendor.code, &vendor.store_id)?
            .verify_billing_key(&vendor.uid, &source.id)
            .await?;
        let identity = Identity::new(vendor, source);
        let id = identity.id;
        let row = ReservationRow {
            identity,
            title: input.title.clone(),
            title_sealed: None,
            data: self.seal_data::<ReservationRow>(id, &key.raw),
            password_hash: self.passwords.hash(&id.to_string(), &input.password),
            created_at: self.clock.now_ms(),
        };
        match self.store.insert_reservation(&row).await {
            Ok(()) => Ok(reservation_of(&row, key.data)),
            Err(e) if is_duplicate(&e) => Err(RecordError::Duplicate(TAKEN)),
            Err(e) => Err(e.into()),
        }
    }

    /// A billing key, opened with its password.
    pub async fn reservation(
        &self,
        lookup: Lookup<'_>,
        password: &str,
    ) -> Result<PaymentReservation, RecordError> {
        let row = self.unlock::<ReservationRow>(lookup, password).await?;
        let (id, code) = (row.identity.id, row.identity.vendor_code);
        let plain = self.open_data::<ReservationRow>(id, &row.data)?;
        let data = serde_json::from_slice(&plain)
            .and_then(|value| ReservationData::from_json(code, value))
            .map_err(|e| RecordError::internal(format!("billing key {id}: {e}")))?;
        Ok(reservation_of(&row, data))
    }

    /// The API's view of a stored payment (read with its cancels).
    fn open_history(&self, row: &HistoryRow) -> Result<PaymentHistory, RecordError> {
        let (id, code) = (row.identity.id, row.identity.vendor_code);
        // Straight from the opened JSON text into the payment's type: every read does it.
        let plain = self.open_data::<HistoryRow>(id, &row.data)?;
        let data = PaymentData::from_slice(code, &plain)
            .map_err(|e| RecordError::internal(format!("payment {id}: {e}")))?;
        let mut cancels = Vec::with_capacity(row.cancels.len());
        for (seq, cancel) in row.cancels.iter().enumerate() {
            let reason = self
                .sealer
                .open(&reason_context(id, seq), &cancel.reason)
                .map_err(|e| RecordError::internal(format!("payment {id} cancel {seq}: {e}")))?;
            cancels.push(pg::Cancel {
                reason: String::from_utf8(reason)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                price: cancel.price,
                at_ms: cancel.created_at,
            });
        }
        let summary = Summary {
            currency: row.currency.clone(),
            price: row.price,
            refund: row.refund,
            paid_at_ms: row.paid_at,
            cancelled_at_ms: row.cancelled_at,
            cancels,
        };
        Ok(history_of(row, data, &summary))
    }

    fn seal_data<T: Table>(&self, id: Uuid, raw: &serde_json::Value) -> Vec<u8> {
        self.sealer
            .seal(&data_context::<T>(id), raw.to_string().as_bytes())
    }

    /// A record's PG data, opened: its JSON text.
    fn open_data<T: Table>(&self, id: Uuid, sealed: &[u8]) -> Result<Vec<u8>, RecordError> {
        self.sealer
            .open(&data_context::<T>(id), sealed)
            .map_err(|e| RecordError::internal(format!("{} {id}: {e}", T::NAME)))
    }

    fn seal_cancels(&self, id: Uuid, summary: &Summary) -> Vec<CancelRow> {
        summary
            .cancels
            .iter()
            .enumerate()
            .map(|(seq, c)| CancelRow {
                price: c.price,
                reason: self
                    .sealer
                    .seal(&reason_context(id, seq), c.reason.as_bytes()),
                created_at: c.at_ms,
            })
            .collect()
    }
}

fn history_of(row: &HistoryRow, data: PaymentData, summary: &Summary) -> PaymentHistory {
    PaymentHistory {
        id: row.identity.id,
        vendor: row.identity.vendor(),
        source: row.identity.source(),
        data,
        webhook_url: row.webhook_url.clone(),
        currency: summary.currency.clone(),
        price: summary.price.to_f64(),
        refund: summary.refund.map(|r| r.to_f64()),
        cancels: summary
            .cancels
            .iter()
            .map(|c| PaymentCancelHistory {
                reason: c.reason.clone(),
                price: c.price.to_f64(),
                created_at: time(c.at_ms),
            })
            .collect(),
        created_at: time(row.created_at),
        paid_at: summary.paid_at_ms.map(time),
        cancelled_at: summary.cancelled_at_ms.map(time),
    }
}

fn reservation_of(row: &ReservationRow, data: ReservationData) -> PaymentReservation {
    PaymentReservation {
        id: row.identity.id,
        vendor: row.identity.vendor(),
        source: row.identity.source(),
        title: row.title.clone(),
        data,
        created_at: time(row.created_at),
    }
}
