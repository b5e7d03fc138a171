//! The time indexes behind Toss's list routes, `GET /v1/transactions` and
//! `GET /v1/cash-receipts`. Each holds one small entry per transaction (or cash-receipt
//! issue and cancel) of the records the merchant's stores keep, added when a record gains
//! one and dropped when the store lets the record go, so an index never outgrows its
//! store. A page is a range of an ordered map: a logarithmic seek, then one step per
//! entry listed.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use chrono::{NaiveDate, NaiveDateTime};
use payments_api::toss::*;

use super::super::error::TossFault;
use super::MerchantData;
use crate::clock::kst;

/// The most entries one page lists, and how many when `limit` is absent: Toss's reference
/// (거래 조회 and 현금영수증 조회, `limit`) gives a default of 100 and a maximum of 10,000.
pub const MAX_LIMIT: usize = 10_000;
pub const DEFAULT_LIMIT: usize = 100;

/// Where an entry sits: its time (unix seconds, Toss's times have no finer part), then a
/// sequence number that orders entries of the same second as they were made.
type Position = (i64, u64);

/// A transaction in the index: its key, its payment's key, its slot in the payment.
type Indexed = (u128, Box<str>, u32);

/// A merchant's transactions in time order, and where each one sits by its key.
#[derive(Debug, Default)]
pub struct TransactionIndex {
    by_time: BTreeMap<Position, Indexed>,
    by_key: HashMap<u128, Position>,
    next: u64,
}

impl TransactionIndex {
    /// Brings the index of `payment_key` from its transactions `before` a change to those
    /// `after` it (as [`super::Payment::transactions`] answers them).
    pub fn sync(
        &mut self,
        payment_key: &str,
        before: &[(u128, i64, u32)],
        after: &[(u128, i64, u32)],
    ) {
        // A change mostly appends (an approval, a cancel): then only the new ones are
        // looked at, whatever the number of cancels before.
        if let Some(added) = after.strip_prefix(before) {
            for new in added {
                self.add(payment_key, new);
            }
            return;
        }
        for gone in before.iter().filter(|t| !after.contains(t)) {
            self.remove(gone.0);
        }
        for new in after.iter().filter(|t| !before.contains(t)) {
            self.add(payment_key, new);
        }
    }

    fn add(&mut self, payment_key: &str, &(key, at, slot): &(u128, i64, u32)) {
        let position = (at, self.next);
        self.next += 1;
        self.by_time
            .insert(position, (key, payment_key.into(), slot));
        self.by_key.insert(key, position);
    }

    /// Drops a transaction, whose payment the store let go.
    pub fn remove(&mut self, transaction_key: u128) {
        if let Some(position) = self.by_key.remove(&transaction_key) {
            self.by_time.remove(&position);
        }
    }

    pub fn clear(&mut self) {
        self.by_time.clear();
        self.by_key.clear();
    }
}

/// A merchant's cash-receipt issues and cancels by day (KST) and sequence; the sequence is
/// the page's cursor.
#[derive(Debug, Default)]
pub struct ReceiptIndex {
    by_day: BTreeMap<(NaiveDate, u64), Box<str>>,
    next: u64,
}

/// Where an entry of [`ReceiptIndex`] sits.
pub type ReceiptEntry = (NaiveDate, u64);

impl ReceiptIndex {
    /// Adds an entry of `receipt_key` on the day of `at` (KST unix seconds).
    pub fn add(
        &mut self,
        receipt_key: &str,
        at: chrono::DateTime<chrono::FixedOffset>,
    ) -> ReceiptEntry {
        self.next += 1;
        let entry = (at.with_timezone(&kst()).date_naive(), self.next);
        self.by_day.insert(entry, receipt_key.into());
        entry
    }

    pub fn remove(&mut self, entry: ReceiptEntry) {
        self.by_day.remove(&entry);
    }

    pub fn clear(&mut self) {
        self.by_day.clear();
    }
}

/// Reads a `startDate`/`endDate` of `GET /v1/transactions`: `yyyy-MM-ddTHH:mm:ss` in KST,
/// optionally with a fraction of a second, which Toss's times never carry.
pub fn parse_date_time(name: &str, value: Option<&str>) -> Result<i64, TossFault> {
    let value = value.ok_or_else(|| TossFault::invalid(format!("{name} is required")))?;
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .and_then(|t| t.and_local_timezone(kst()).single())
        .map(|t| t.timestamp())
        .ok_or_else(|| {
            TossFault::invalid(format!(
                "{name} must be a date and time as yyyy-MM-ddTHH:mm:ss, got {value:?}"
            ))
        })
}

/// Reads a `requestDate` of `GET /v1/cash-receipts`: `yyyy-MM-dd`.
pub fn parse_date(name: &str, value: Option<&str>) -> Result<NaiveDate, TossFault> {
    let value = value.ok_or_else(|| TossFault::invalid(format!("{name} is required")))?;
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        TossFault::invalid(format!(
            "{name} must be a date as yyyy-MM-dd, got {value:?}"
        ))
    })
}

/// Reads a `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub fn parse_limit(value: Option<&str>) -> Result<usize, TossFault> {
    let Some(value) = value else {
        return Ok(DEFAULT_LIMIT);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            TossFault::invalid(format!(
                "limit must be a number from 1 to {MAX_LIMIT}, got {value:?}"
            ))
        })
}

/// Toss's answer to a `startingAfter` that is no transaction's key (a community answer
/// of Toss's shows it: `INVALID_TRANSACTION_KEY`, "잘못된 페이징 키 입니다.").
fn invalid_transaction_key() -> TossFault {
    TossFault::of("INVALID_TRANSACTION_KEY")
}

impl MerchantData {
    /// Up to `limit` transactions made from `start` to `end` (unix seconds, both included),
    /// in time order, after the transaction `starting_after` if given.
    pub fn list_transactions(
        &self,
        start: i64,
        end: i64,
        starting_after: Option<&str>,
        limit: usize,
        now_ms: i64,
    ) -> Result<Vec<TossTransaction>, TossFault> {
        if start > end {
            return Err(TossFault::invalid("startDate must not be after endDate"));
        }
        let mut from = Bound::Included((start, 0));
        if let Some(after) = starting_after {
            let key = (after.len() == 32)
                .then(|| u128::from_str_radix(after, 16).ok())
                .flatten()
                .ok_or_else(invalid_transaction_key)?;
            let position = *self
                .transactions
                .by_key
                .get(&key)
                .ok_or_else(invalid_transaction_key)?;
            if position.0 > end {
                return Ok(Vec::new());
            }
            if position >= (start, 0) {
                from = Bound::Excluded(position);
            }
        }
        let to = Bound::Included((end, u64::MAX));
        let page = self
            .transactions
            .by_time
            .range((from, to))
            .filter_map(|(_, (key, payment_key, slot))| {
                // A payment past its TTL reads as gone before the store purges it.
                self.payments
                    .get(payment_key, now_ms)?
                    .render_transaction(payment_key, *key, *slot)
            })
            .take(limit)
            .collect();
        Ok(page)
    }

    /// Up to `limit` cash-receipt issues and cancels of `day` (KST), in the order they were
    /// made, after the entry `cursor` if given.
    pub fn list_cash_receipts(
        &self,
        day: NaiveDate,
        cursor: Option<u64>,
        limit: usize,
        now_ms: i64,
    ) -> TossCashReceiptPage {
        let from = match cursor {
            Some(cursor) => Bound::Excluded((day, cursor)),
            None => Bound::Included((day, 0)),
        };
        let mut entries = self
            .receipt_days
            .by_day
            .range((from, Bound::Included((day, u64::MAX))))
            .filter_map(|(&(_, seq), key)| {
                let record = self.receipts.get(key, now_ms)?;
                record.entry(seq).map(|history| (seq, history))
            });
        let data: Vec<_> = entries.by_ref().take(limit).collect();
        TossCashReceiptPage {
            has_next: entries.next().is_some(),
            last_cursor: data.last().map(|(seq, _)| *seq),
            data: data.into_iter().map(|(_, history)| history).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(index: &TransactionIndex) -> Vec<(u128, i64)> {
        index.by_time.iter().map(|(p, t)| (t.0, p.0)).collect()
    }

    #[test]
    fn sync_follows_appends_removals_and_changed_times() {
        let mut index = TransactionIndex::default();
        index.sync("p", &[], &[(1, 10, 0)]);
        index.sync("p", &[(1, 10, 0)], &[(1, 10, 0), (2, 12, 1)]);
        assert_eq!(listed(&index), [(1, 10), (2, 12)]);
        // The approval taken back, then made again later: it moves to its new time.
        index.sync("q", &[], &[(3, 11, 0)]);
        index.sync("q", &[(3, 11, 0)], &[]);
        assert_eq!(listed(&index), [(1, 10), (2, 12)]);
        index.sync("q", &[], &[(3, 20, 0)]);
        assert_eq!(listed(&index), [(1, 10), (2, 12), (3, 20)]);
        index.sync("p", &[(1, 10, 0), (2, 12, 1)], &[(1, 15, 0), (2, 12, 1)]);
        assert_eq!(listed(&index), [(2, 12), (1, 15), (3, 20)]);
        index.remove(2);
        index.remove(2);
        assert_eq!(listed(&index), [(1, 15), (3, 20)]);
        assert_eq!(index.by_key.len(), 2);
    }

    #[test]
    fn parameters_take_tosss_forms_only() {
        assert_eq!(
            parse_date_time("startDate", Some("1970-01-01T09:00:01")),
            Ok(1)
        );
        assert_eq!(
            parse_date_time("startDate", Some("1970-01-01T09:00:01.500")),
            Ok(1)
        );
        for bad in [
            None,
            Some(""),
            Some("1970-01-01"),
            Some("1970-01-01 09:00:00"),
        ] {
            assert!(parse_date_time("startDate", bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("10000")), Ok(MAX_LIMIT));
        for bad in ["0", "10001", "-1", "", "1.5"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
        assert!(parse_date("requestDate", Some("2024-02-29")).is_ok());
        assert!(parse_date("requestDate", Some("2023-02-29")).is_err());
    }
}
