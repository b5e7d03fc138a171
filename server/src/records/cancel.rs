//! Cancels, exactly once: the intent is written before the PG is asked, the PG gets its own
//! guard against a repeat (Toss's `Idempotency-Key` is the intent's id; I'mport's
//! `checksum` is the balance before the cancel), and an intent whose answer was lost is
//! settled from the PG's state: by the client's retry under the same `Idempotency-Key`, by
//! the next cancel of the payment, or by the sweep.

use std::time::Duration;

use payments_api::payments::{PaymentCancelCreate, PaymentHistory};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::intents::{Intent, State};
use super::store::{HistoryRow, Key};
use super::{Lookup, RecordError, Records, input};
use crate::db::is_duplicate;
use crate::pg::{CancelGuard, CancelOrder, PgError};

/// How many stale intents one sweep settles at most; the next sweep takes the rest.
const SWEEP_BATCH: i64 = 100;

impl Records {
    /// Cancels all or part of a payment at the PG and records the PG's answer. With a
    /// client's `Idempotency-Key`, a retry of the same cancel is answered from what the
    /// first did (or finishes it), and never cancels twice.
    pub async fn cancel_history(
        &self,
        input: PaymentCancelCreate,
        client_key: Option<&str>,
    ) -> Result<PaymentHistory, RecordError> {
        let price = input::cancel(&input)?;
        if let Some(key) = client_key {
            input::idempotency_key(key)?;
        }
        let lookup = Lookup::Source(&input.source);
        for _ in 0..4 {
            let row = self.unlock::<HistoryRow>(lookup, &input.password).await?;
            let history_id = row.identity.id;
            let fingerprint = self.fingerprint(history_id, &input);
            if let Some(key) = client_key
                && let Some(intent) = self.intents.by_key(history_id, key).await?
            {
                if !bool::from(intent.fingerprint.ct_eq(&fingerprint)) {
                    return Err(RecordError::KeyReused);
                }
                match intent.state {
                    State::Done => return self.history(lookup, &input.password).await,
                    State::Refused => return Err(refusal(&intent)),
                    // Sent again with the same guard: the PG does it at most once.
                    State::Open => return self.attempt(row, &intent, &input, true).await,
                    // Settled meanwhile as never done: its key is free; start afresh.
                    State::Abandoned => continue,
                }
            }
            let now = self.clock.now_ms();
            let intent = Intent {
                id: Uuid::new_v4(),
                history_id,
                client_key: client_key.map(str::to_owned),
                price,
                refund_before: row.refund.unwrap_or_default(),
                fingerprint,
                state: State::Open,
                error_code: None,
                error_message: None,
                updated_at: now,
            };
            match self.intents.open(&intent, now).await {
                Ok(()) => return self.attempt(row, &intent, &input, false).await,
                Err(e) if is_duplicate(&e) => {}
                Err(e) => return Err(e.into()),
            }
            // The same key raced this request (the next round finds its intent), or another
            // cancel of the payment is open: wait for it, unless its answer was lost.
            let Some(open) = self.intents.open_of(history_id).await? else {
                continue;
            };
            if client_key.is_some() && open.client_key.as_deref() == client_key {
                continue;
            }
            if !self.is_stale(&open) {
                return Err(RecordError::CancelInProgress);
            }
            self.settle(&open).await?;
        }
        Err(RecordError::CancelInProgress)
    }

    /// Asks the PG for the cancel of `intent` and settles it from the answer. A lost answer
    /// (timeout, failure) leaves it open. `again`: the intent was tried before, so a
    /// refusal may be the PG's guard refusing a repeat, and the PG's state tells.
    async fn attempt(
        &self,
        row: HistoryRow,
        intent: &Intent,
        input: &PaymentCancelCreate,
        again: bool,
    ) -> Result<PaymentHistory, RecordError> {
        let identity = &row.identity;
        let gateway = self
            .pgs
            .get(identity.vendor_code, &identity.vendor_store_id)?;
        let key = intent.id.to_string();
        let balance = row
            .price
            .checked_sub(intent.refund_before)
            .unwrap_or_default();
        let answer = gateway
            .cancel(CancelOrder {
                uid: &identity.vendor_uid,
                price: intent.price,
                reason: &input.reason,
                account: input.account.as_ref(),
                guard: CancelGuard { key: &key, balance },
            })
            .await;
        let id = identity.id.to_string();
        match answer {
            Ok(payment) => {
                let (code, uid) = (identity.vendor_code, identity.vendor_uid.clone());
                // The cancel is a change like any other: recorded with its client event. A
                // PG notification that updated the record meanwhile makes us re-read the PG.
                let previous = self.open_history(&row)?;
                if self.apply(row, previous, payment).await?.is_none() {
                    self.refresh(code, &uid).await?;
                }
                let now = self.clock.now_ms();
                self.intents
                    .settle(intent.id, State::Done, None, now)
                    .await?;
                self.history(Lookup::Id(&id), &input.password).await
            }
            Err(error) if settles(&error) => {
                if again && self.settle(intent).await? {
                    return self.history(Lookup::Id(&id), &input.password).await;
                }
                let (code, message) = match &error {
                    PgError::Refused { code, message } => (code.clone(), message.clone()),
                    other => ("refused".to_owned(), other.to_string()),
                };
                let now = self.clock.now_ms();
                let settled = Some((code.as_str(), message.as_str()));
                self.intents
                    .settle(intent.id, State::Refused, settled, now)
                    .await?;
                Err(error.into())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Settles `intent` from the PG's state, which the record also takes: done if the PG's
    /// refunds reached the intent's amount beyond what was refunded before it. An intent
    /// found not done is left for the caller to settle, except by [`Records::sweep`] and
    /// the next cancel, which know its request is over and abandon it.
    async fn settle(&self, intent: &Intent) -> Result<bool, RecordError> {
        let now = self.clock.now_ms();
        let Some(row) = self
            .store
            .find::<HistoryRow>(Key::Id(intent.history_id))
            .await?
        else {
            self.intents
                .settle(intent.id, State::Abandoned, None, now)
                .await?;
            return Ok(false);
        };
        let (code, uid) = (row.identity.vendor_code, row.identity.vendor_uid.clone());
        let payment = self
            .pgs
            .get(code, &row.identity.vendor_store_id)?
            .payment(&uid)
            .await?;
        let refunded = payment.summary.refund.unwrap_or_default();
        let done = intent
            .refund_before
            .checked_add(intent.price)
            .is_some_and(|target| refunded >= target);
        let previous = self.open_history(&row)?;
        if self.apply(row, previous, payment).await?.is_none() {
            self.refresh(code, &uid).await?;
        }
        if done {
            self.intents
                .settle(intent.id, State::Done, None, now)
                .await?;
        } else if self.is_stale(intent) {
            self.intents
                .settle(intent.id, State::Abandoned, None, now)
                .await?;
        }
        Ok(done)
    }

    /// Settles intents left open longer than any request lasts (their server crashed, or
    /// the PG's answer was lost and nobody retried), from the PG's state. Answers how many
    /// were settled; one whose PG cannot be read now stays open for the next sweep.
    pub async fn sweep(&self) -> Result<usize, RecordError> {
        let before = self.clock.now_ms() - self.stale_after_ms();
        let mut settled = 0;
        for intent in self.intents.stale(before, SWEEP_BATCH).await? {
            match self.settle(&intent).await {
                Ok(_) => settled += 1,
                Err(error) => {
                    tracing::warn!(intent = %intent.id, %error, "a cancel intent stays open");
                }
            }
        }
        Ok(settled)
    }

    /// Sweeps at once, then every PG deadline, until `stop` turns true.
    pub async fn run_sweeps(
        self: std::sync::Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let every = self.pgs.deadline().max(Duration::from_secs(1));
        while !*stop.borrow() {
            match self.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(settled = n, "cancel intents settled from the PG"),
                Err(error) => tracing::warn!(%error, "the cancel sweep failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                // A dropped sender (the server's task gone) stops the sweeps too; waiting
                // on it again would answer at once, forever.
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
    }

    /// How long an open intent may be younger than and still have its request under way:
    /// twice the PG deadline, and a second.
    fn stale_after_ms(&self) -> i64 {
        i64::try_from(self.pgs.deadline().as_millis())
            .unwrap_or(i64::MAX / 4)
            .saturating_mul(2)
            .saturating_add(1_000)
    }

    fn is_stale(&self, intent: &Intent) -> bool {
        self.clock.now_ms() - intent.updated_at > self.stale_after_ms()
    }

    /// What a cancel asks, hashed with the pepper (a refund account is personal data).
    fn fingerprint(&self, history_id: Uuid, input: &PaymentCancelCreate) -> Vec<u8> {
        let asked = serde_json::json!([input.price, input.reason, input.account]).to_string();
        self.passwords
            .hash(&format!("payment_cancel_intents:{history_id}"), &asked)
    }
}

/// Whether a PG's answer to a cancel is final: it refused, so nothing happened.
fn settles(error: &PgError) -> bool {
    match error {
        PgError::Refused { .. }
        | PgError::Mismatch(_)
        | PgError::PaymentFailed
        | PgError::UnknownStore { .. } => true,
        PgError::Failed(_) | PgError::Timeout | PgError::Unavailable { .. } => false,
    }
}

/// The refusal a refused intent recorded, as the first request got it.
fn refusal(intent: &Intent) -> RecordError {
    PgError::Refused {
        code: intent.error_code.clone().unwrap_or_default(),
        message: intent.error_message.clone().unwrap_or_default(),
    }
    .into()
}
