//! Payments and billing keys: verified at the PG, sealed at rest, opened only with their
//! password.

use std::sync::Arc;

use payments_api::payments::*;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::clock::Clock;
use crate::clock::time;
use crate::crypto::{Passwords, Sealer};
use crate::db::{CancelRow, Db, EventRow, HistoryKey, HistoryRow, ReservationRow, is_duplicate};
use crate::money::Amount;
use crate::pg::{self, CancelOrder, Claim, Gateways, Notice, Payment, PgError, Summary};

pub use error::{RecordError, Refusal};

mod error;
mod input;

/// The record store and the PGs behind it.
#[derive(Debug)]
pub struct Records {
    pub db: Db,
    pub sealer: Sealer,
    pub passwords: Passwords,
    pub pgs: Gateways,
    pub clock: Arc<Clock>,
    /// Wakes the relay when an event is written.
    pub wake: Arc<tokio::sync::Notify>,
}

/// What a PG event did to a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// The payment changed; the client event with this id is on its way.
    Changed(String),
    /// The PG reports nothing new.
    Unchanged,
    /// No client stored the payment yet: the event is kept for when one does.
    Pending,
    /// The PG does not know the payment: the notification is ignored.
    Unknown,
}

/// How a client names one record.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Id(&'a str),
    Source(&'a PaymentSource),
}

impl Lookup<'_> {
    /// The database key; an id that is no UUID is refused before any query.
    fn key(&self) -> Result<HistoryKey<'_>, RecordError> {
        match self {
            Lookup::Id(id) if Uuid::parse_str(id).is_err() => {
                Err(RecordError::invalid("the id must be a UUID"))
            }
            Lookup::Id(id) => Ok(HistoryKey::Id(id)),
            Lookup::Source(s) => Ok(HistoryKey::Source(&s.schema, &s.table, &s.id)),
        }
    }
}

fn data_context(table: &str, id: &str) -> String {
    format!("{table}.data:{id}")
}

/// The sealing context of a client event's body.
pub fn event_context(event_id: &str) -> String {
    format!("payment_webhook_events.body:{event_id}")
}

fn reason_context(id: &str, seq: usize) -> String {
    format!("payment_history_cancels.reason:{id}:{seq}")
}

impl Records {
    /// Verifies a payment at the PG (I'mport: fetch and compare; Toss: confirm) and keeps it.
    pub async fn create_history(
        &self,
        input: PaymentHistoryCreate,
    ) -> Result<PaymentHistory, RecordError> {
        let price = input::history(&input)?;
        // Duplicates are refused before the PG is asked, so they leave no trace there.
        self.refuse_duplicate_history(&input.vendor, &input.source)
            .await?;

        let payment = self
            .pgs
            .get(input.vendor.code, &input.vendor.store_id)?
            .verify_payment(Claim {
                uid: &input.vendor.uid,
                order_id: &input.source.id,
                price,
            })
            .await?;
        let Payment { data, raw, summary } = payment;

        let id = Uuid::new_v4().to_string();
        let props = summary;
        let now = self.clock.now_ms();
        let row = HistoryRow {
            id: id.clone(),
            vendor_code: input.vendor.code.as_str().to_owned(),
            vendor_store_id: input.vendor.store_id.clone(),
            vendor_uid: input.vendor.uid.clone(),
            source_schema: input.source.schema.clone(),
            source_table: input.source.table.clone(),
            source_id: input.source.id.clone(),
            webhook_url: Some(input.webhook_url.clone()),
            currency: props.currency.clone(),
            price: props.price,
            refund: props.refund,
            paid_at: props.paid_at_ms,
            cancelled_at: props.cancelled_at_ms,
            data: self.sealer.seal(
                &data_context("payment_histories", &id),
                raw.to_string().as_bytes(),
            ),
            password_hash: self.passwords.hash(&id, &input.password),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let cancels = self.seal_cancels(&id, &props);
        match self.db.insert_history(&row, &cancels).await {
            Ok(()) => {}
            Err(e) if is_duplicate(&e) => {
                return Err(RecordError::Duplicate(
                    "a payment with this PG id or source exists",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let history = self.history_of(&row, data, &props);
        // Events the PG sent before the client stored the payment: apply them now. The
        // payment was just read from the PG, so usually they change nothing; one that
        // raced the insert is caught here.
        if self
            .db
            .take_pending(input.vendor.code.as_str(), &input.vendor.uid)
            .await?
            > 0
        {
            self.refresh(input.vendor.code, &input.vendor.uid).await?;
            return self.history(Lookup::Id(&id), &input.password).await;
        }
        Ok(history)
    }

    /// A PG's notification: re-read what it names. A notification naming an order is
    /// genuine only with the secret the PG gave that payment, compared in constant time.
    pub async fn notified(&self, code: VendorCode, notice: Notice) -> Result<Refresh, RecordError> {
        match notice {
            Notice::Payment(uid) => self.refresh(code, &uid).await,
            Notice::Ignored => Ok(Refresh::Unknown),
            Notice::Order { order_id, secret } => {
                let rows = self
                    .db
                    .histories_by_source_id(code.as_str(), &order_id)
                    .await?;
                for row in rows {
                    let history = self.open_history(&row).await?;
                    let Some(expected) = (pg::vendor(code).order_secret)(&history.data) else {
                        continue;
                    };
                    if !bool::from(expected.as_bytes().ct_eq(secret.as_bytes())) {
                        return Err(RecordError::BadSecret(
                            "the deposit callback's secret does not match the virtual account",
                        ));
                    }
                    return self.refresh(code, &row.vendor_uid).await;
                }
                // The PG also notifies by the payment's own id; an unknown order is
                // acknowledged so the PG does not retry it for days.
                Ok(Refresh::Unknown)
            }
        }
    }

    /// A PG said something happened to payment `uid`: re-fetch it from the PG (the event's
    /// body is never trusted), and if it changed, update the record and write the client
    /// event in the same transaction. Concurrent events of one payment are serialised by
    /// the record's version: a change computed from a stale read is redone.
    pub async fn refresh(&self, code: VendorCode, uid: &str) -> Result<Refresh, RecordError> {
        for _ in 0..8 {
            let key = HistoryKey::Vendor(code.as_str(), uid);
            let Some(row) = self.db.find_history(key).await? else {
                // Kept only if the PG knows the payment: notifications are unauthenticated,
                // and forged ones must not fill the table.
                let pg = self.pgs.get(code, crate::config::DEFAULT_STORE)?;
                match pg.payment(uid).await {
                    Ok(_) => {}
                    Err(PgError::Refused { .. }) => return Ok(Refresh::Unknown),
                    Err(e) => return Err(e.into()),
                }
                self.db
                    .add_pending(code.as_str(), uid, self.clock.now_ms())
                    .await?;
                // The client may have stored it between the lookup and the insert.
                if self.db.find_history(key).await?.is_some() {
                    self.db.take_pending(code.as_str(), uid).await?;
                    continue;
                }
                return Ok(Refresh::Pending);
            };
            let previous = self.open_history(&row).await?;
            let payment = self
                .pgs
                .get(code, &row.vendor_store_id)?
                .payment(uid)
                .await?;
            if let Some(outcome) = self.apply(row, previous, payment).await? {
                return Ok(outcome);
            }
        }
        Err(RecordError::internal(format!(
            "payment {uid} keeps changing under concurrent events"
        )))
    }

    /// Writes the PG's `data` into the record read as `row` (shown to the client as
    /// `previous`), with a client event if anything changed. `None`: the record changed
    /// since it was read; nothing was written.
    async fn apply(
        &self,
        mut row: HistoryRow,
        previous: PaymentHistory,
        payment: Payment,
    ) -> Result<Option<Refresh>, RecordError> {
        let Payment {
            data,
            raw,
            summary: props,
        } = payment;
        row.currency = props.currency.clone();
        row.price = props.price;
        row.refund = props.refund;
        row.paid_at = props.paid_at_ms;
        row.cancelled_at = props.cancelled_at_ms;
        let current = self.history_of(&row, data, &props);
        if current == previous {
            return Ok(Some(Refresh::Unchanged));
        }
        let now = self.clock.now_ms();
        row.data = self.sealer.seal(
            &data_context("payment_histories", &row.id),
            raw.to_string().as_bytes(),
        );
        row.updated_at = now;
        let cancels = self.seal_cancels(&row.id, &props);
        let event = row.webhook_url.clone().map(|webhook_url| {
            let id = Uuid::new_v4();
            let body = PaymentWebhook {
                id,
                source: current.source.clone(),
                previous,
                current,
            };
            let json = serde_json::to_vec(&body).unwrap_or_default();
            EventRow {
                id: id.to_string(),
                payment_history_id: row.id.clone(),
                seq: 0,
                webhook_url,
                body: self.sealer.seal(&event_context(&id.to_string()), &json),
                state: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                lease_until: None,
                created_at: now,
                delivered_at: None,
            }
        });
        if !self
            .db
            .update_history(&row, &cancels, event.as_ref())
            .await?
        {
            return Ok(None);
        }
        self.wake.notify_one();
        Ok(Some(match event {
            Some(event) => Refresh::Changed(event.id),
            None => Refresh::Unchanged,
        }))
    }

    async fn refuse_duplicate_history(
        &self,
        vendor: &PaymentVendor,
        source: &PaymentSource,
    ) -> Result<(), RecordError> {
        if self
            .db
            .find_history(HistoryKey::Vendor(vendor.code.as_str(), &vendor.uid))
            .await?
            .is_some()
        {
            return Err(RecordError::Duplicate(
                "a payment with this PG id is stored already",
            ));
        }
        if self
            .db
            .find_history(HistoryKey::Source(
                &source.schema,
                &source.table,
                &source.id,
            ))
            .await?
            .is_some()
        {
            return Err(RecordError::Duplicate(
                "a payment for this source is stored already",
            ));
        }
        Ok(())
    }

    /// A payment, opened with its password.
    pub async fn history(
        &self,
        lookup: Lookup<'_>,
        password: &str,
    ) -> Result<PaymentHistory, RecordError> {
        let row = self.history_row(lookup, password).await?;
        self.open_history(&row).await
    }

    pub(crate) async fn history_row(
        &self,
        lookup: Lookup<'_>,
        password: &str,
    ) -> Result<HistoryRow, RecordError> {
        let row = self
            .db
            .find_history(lookup.key()?)
            .await?
            .ok_or(RecordError::NotFound("payment"))?;
        if !self.passwords.verify(&row.id, password, &row.password_hash) {
            return Err(RecordError::WrongPassword);
        }
        Ok(row)
    }

    /// Cancels all or part of a payment at the PG and records the PG's answer.
    pub async fn cancel_history(
        &self,
        input: PaymentCancelCreate,
    ) -> Result<PaymentHistory, RecordError> {
        let price = input::cancel(&input)?;
        let row = self
            .history_row(Lookup::Source(&input.source), &input.password)
            .await?;
        let code: VendorCode = row
            .vendor_code
            .parse()
            .map_err(|e| RecordError::internal(format!("stored vendor code: {e}")))?;
        let payment = self
            .pgs
            .get(code, &row.vendor_store_id)?
            .cancel(CancelOrder {
                uid: &row.vendor_uid,
                price,
                reason: &input.reason,
                account: input.account.as_ref(),
            })
            .await?;
        let previous = self.open_history(&row).await?;
        let (code, uid) = (code, row.vendor_uid.clone());
        // The cancel is a change like any other: recorded with its client event. A PG event
        // that updated the record meanwhile makes us re-read the PG instead.
        if self.apply(row, previous, payment).await?.is_none() {
            self.refresh(code, &uid).await?;
        }
        self.history(Lookup::Source(&input.source), &input.password)
            .await
    }

    fn seal_cancels(&self, id: &str, props: &Summary) -> Vec<CancelRow> {
        props
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

    /// The API's view of a stored payment.
    pub(crate) async fn open_history(
        &self,
        row: &HistoryRow,
    ) -> Result<PaymentHistory, RecordError> {
        let code: VendorCode = row
            .vendor_code
            .parse()
            .map_err(|e| RecordError::internal(format!("stored vendor code: {e}")))?;
        let plain = self
            .sealer
            .open(&data_context("payment_histories", &row.id), &row.data)
            .map_err(|e| RecordError::internal(format!("payment {}: {e}", row.id)))?;
        let value: serde_json::Value = serde_json::from_slice(&plain)
            .map_err(|e| RecordError::internal(format!("payment {} data: {e}", row.id)))?;
        let data = PaymentData::from_json(code, value)
            .map_err(|e| RecordError::internal(format!("payment {} data: {e}", row.id)))?;
        let mut cancels = Vec::new();
        for (seq, cancel) in self.db.cancels(&row.id).await?.into_iter().enumerate() {
            let reason = self
                .sealer
                .open(&reason_context(&row.id, seq), &cancel.reason)
                .map_err(|e| {
                    RecordError::internal(format!("payment {} cancel {seq}: {e}", row.id))
                })?;
            cancels.push(pg::Cancel {
                reason: String::from_utf8_lossy(&reason).into_owned(),
                price: cancel.price,
                at_ms: cancel.created_at,
            });
        }
        let props = Summary {
            currency: row.currency.clone(),
            price: row.price,
            refund: row.refund,
            paid_at_ms: row.paid_at,
            cancelled_at_ms: row.cancelled_at,
            cancels,
        };
        Ok(self.history_of(row, data, &props))
    }

    fn history_of(&self, row: &HistoryRow, data: PaymentData, props: &Summary) -> PaymentHistory {
        PaymentHistory {
            id: Uuid::parse_str(&row.id).unwrap_or_default(),
            vendor: PaymentVendor {
                code: data.vendor_code(),
                store_id: row.vendor_store_id.clone(),
                uid: row.vendor_uid.clone(),
            },
            source: PaymentSource {
                schema: row.source_schema.clone(),
                table: row.source_table.clone(),
                id: row.source_id.clone(),
            },
            data,
            webhook_url: row.webhook_url.clone(),
            currency: props.currency.clone(),
            price: props.price.to_f64(),
            refund: props.refund.map(Amount::to_f64),
            cancels: props
                .cancels
                .iter()
                .map(|c| PaymentCancelHistory {
                    reason: c.reason.clone(),
                    price: c.price.to_f64(),
                    created_at: time(c.at_ms),
                })
                .collect(),
            created_at: time(row.created_at),
            paid_at: props.paid_at_ms.map(time),
            cancelled_at: props.cancelled_at_ms.map(time),
        }
    }

    /// Verifies a billing key at the PG and keeps it.
    pub async fn create_reservation(
        &self,
        input: PaymentReservationCreate,
    ) -> Result<PaymentReservation, RecordError> {
        input::reservation(&input)?;
        let vendor_key = HistoryKey::Vendor(input.vendor.code.as_str(), &input.vendor.uid);
        let source_key =
            HistoryKey::Source(&input.source.schema, &input.source.table, &input.source.id);
        if self.db.find_reservation(vendor_key).await?.is_some()
            || self.db.find_reservation(source_key).await?.is_some()
        {
            return Err(RecordError::Duplicate(
                "a billing key with this PG id or source is stored already",
            ));
        }
        let pg::BillingKey { data, raw } = self
            .pgs
            .get(input.vendor.code, &input.vendor.store_id)?
            .verify_billing_key(&input.vendor.uid, &input.source.id)
            .await?;
        let id = Uuid::new_v4().to_string();
        let row = ReservationRow {
            id: id.clone(),
            vendor_code: input.vendor.code.as_str().to_owned(),
            vendor_store_id: input.vendor.store_id.clone(),
            vendor_uid: input.vendor.uid.clone(),
            source_schema: input.source.schema.clone(),
            source_table: input.source.table.clone(),
            source_id: input.source.id.clone(),
            title: input.title.clone(),
            data: self.sealer.seal(
                &data_context("payment_reservations", &id),
                raw.to_string().as_bytes(),
            ),
            password_hash: self.passwords.hash(&id, &input.password),
            created_at: self.clock.now_ms(),
        };
        match self.db.insert_reservation(&row).await {
            Ok(()) => Ok(reservation_of(&row, data)),
            Err(e) if is_duplicate(&e) => Err(RecordError::Duplicate(
                "a billing key with this PG id or source is stored already",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A billing key, opened with its password.
    pub async fn reservation(
        &self,
        lookup: Lookup<'_>,
        password: &str,
    ) -> Result<PaymentReservation, RecordError> {
        let row = self
            .db
            .find_reservation(lookup.key()?)
            .await?
            .ok_or(RecordError::NotFound("billing key"))?;
        if !self.passwords.verify(&row.id, password, &row.password_hash) {
            return Err(RecordError::WrongPassword);
        }
        let plain = self
            .sealer
            .open(&data_context("payment_reservations", &row.id), &row.data)
            .map_err(|e| RecordError::internal(format!("billing key {}: {e}", row.id)))?;
        let value: serde_json::Value = serde_json::from_slice(&plain)
            .map_err(|e| RecordError::internal(format!("billing key {} data: {e}", row.id)))?;
        let code: VendorCode = row
            .vendor_code
            .parse()
            .map_err(|e| RecordError::internal(format!("stored vendor code: {e}")))?;
        let data = ReservationData::from_json(code, value)
            .map_err(|e| RecordError::internal(format!("billing key {} data: {e}", row.id)))?;
        Ok(reservation_of(&row, data))
    }
}

fn reservation_of(row: &ReservationRow, data: ReservationData) -> PaymentReservation {
    PaymentReservation {
        id: Uuid::parse_str(&row.id).unwrap_or_default(),
        vendor: PaymentVendor {
            code: data.vendor_code(),
            store_id: row.vendor_store_id.clone(),
            uid: row.vendor_uid.clone(),
        },
        source: PaymentSource {
            schema: row.source_schema.clone(),
            table: row.source_table.clone(),
            id: row.source_id.clone(),
        },
        title: row.title.clone(),
        data,
        created_at: time(row.created_at),
    }
}

/// Shared handle.
pub type SharedRecords = Arc<Records>;
