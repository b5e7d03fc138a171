//! Serde helpers for the number and time formats of the three APIs.
//!
//! JavaScript has one number type, so the wire formats write whole amounts as `20000`, never
//! `20000.0`; the [`amount`] helpers keep that. I'mport counts time in unix seconds, Toss
//! and the payments API in ISO-8601 text, each with its own habits; the helpers here pin
//! them down once, so every type uses the same rules.

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Timelike, Utc,
};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serializer};

/// The schema of an untagged union whose last variant is a fallback the others extend
/// (a method the API does not model, with only the common fields): `anyOf` the variants,
/// since a body of a modeled method matches the fallback too, which `oneOf` forbids.
pub(crate) fn any_of(
    description: &str,
    variants: &[std::borrow::Cow<'static, str>],
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let mut builder = utoipa::openapi::schema::AnyOfBuilder::new().description(Some(description));
    for name in variants {
        builder = builder.item(utoipa::openapi::Ref::from_schema_name(name.as_ref()));
    }
    utoipa::openapi::schema::Schema::AnyOf(builder.build()).into()
}

/// Adds `T`'s schema and those it refers to, as a derived `ToSchema::schemas` does.
pub(crate) fn collect<T: utoipa::ToSchema>(
    schemas: &mut Vec<(
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    )>,
) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// Amounts: `f64` on the Rust side, written as a JSON integer when the value is whole.
pub mod amount {
    use super::*;

    /// Serialises an amount, whole values without a fraction.
    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        // 2^53: beyond it f64 no longer holds every integer, so there is nothing to tidy.
        const EXACT: f64 = 9_007_199_254_740_992.0;
        if value.fract() == 0.0 && value.abs() <= EXACT {
            serializer.serialize_i64(*value as i64)
        } else {
            serializer.serialize_f64(*value)
        }
    }

    /// Deserialises any JSON number.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        f64::deserialize(deserializer)
    }

    /// The same rules for an optional amount (`null` when absent).
    pub mod option {
        use super::*;

        /// Serialises `Some` like [`amount::serialize`](super::serialize), `None` as `null`.
        pub fn serialize<S: Serializer>(
            value: &Option<f64>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Deserialises a number or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<f64>, D::Error> {
            Option::<f64>::deserialize(deserializer)
        }
    }
}

/// I'mport's unix-second timestamps (`0` meaning "not happened").
///
/// The real API writes integers; the original fake wrote fractional seconds. Both are read,
/// truncated to the second; integers are written.
pub mod unix_seconds {
    use super::*;

    /// Serialises the seconds as an integer.
    pub fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(*value)
    }

    /// Deserialises an integer or a fractional number of seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        if !seconds.is_finite() || seconds.abs() > 1e15 {
            return Err(de::Error::custom(format!(
                "{seconds} is not a unix timestamp in seconds"
            )));
        }
        Ok(seconds.trunc() as i64)
    }

    /// The same rules for an optional timestamp.
    pub mod option {
        use super::*;

        /// Serialises `Some` as an integer, `None` as `null`.
        pub fn serialize<S: Serializer>(
            value: &Option<i64>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => serializer.serialize_i64(*v),
                None => serializer.serialize_none(),
            }
        }

        /// Deserialises seconds or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<i64>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] i64);
            Ok(Option::<Wrap>::deserialize(deserializer)?.map(|Wrap(t)| t))
        }
    }
}

/// The payments API's times: UTC, always with milliseconds, as JavaScript's
/// `Date.prototype.toISOString` writes them (`2024-06-18T09:30:00.000Z`). Any RFC 3339 text
/// is read.
pub mod iso_millis {
    use super::*;

    /// Formats a time the way the payments API writes it.
    pub fn format(value: &DateTime<Utc>) -> String {
        value.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Serialises as `YYYY-MM-DDTHH:mm:ss.sssZ`.
    pub fn serialize<S: Serializer>(
        value: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(value))
    }

    /// Deserialises any RFC 3339 date-time, converted to UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| de::Error::custom(format!("{text:?} is not an RFC 3339 date-time: {e}")))
    }

    /// The same rules for an optional time (`null` when absent).
    pub mod option {
        use super::*;

        /// Serialises `Some` as ISO text, `None` as `null`.
        pub fn serialize<S: Serializer>(
            value: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Deserialises RFC 3339 text or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<Wrap>::deserialize(deserializer)?.map(|Wrap(t)| t))
        }
    }
}

/// Toss's date-times, which keep their offset: the real API writes `2022-01-01T11:31:29+09:00`
/// (KST, whole seconds), the original fake `2026-11-24T01:24:34.038Z`. Both are read and
/// written back as they came: fractional seconds only when present, `Z` for a zero offset.
pub mod offset_date_time {
    use super::*;

    /// Formats a time the way Toss writes it.
    pub fn format(value: &DateTime<FixedOffset>) -> String {
        value.to_rfc3339_opts(SecondsFormat::AutoSi, value.offset().local_minus_utc() == 0)
    }

    /// Serialises as RFC 3339.
    pub fn serialize<S: Serializer>(
        value: &DateTime<FixedOffset>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(value))
    }

    /// Deserialises RFC 3339 text, keeping its offset.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map_err(|e| de::Error::custom(format!("{text:?} is not an RFC 3339 date-time: {e}")))
    }

    /// The same rules for an optional time (`null` when absent).
    pub mod option {
        use super::*;

        /// Serialises `Some` as RFC 3339, `None` as `null`.
        pub fn serialize<S: Serializer>(
            value: &Option<DateTime<FixedOffset>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Deserialises RFC 3339 text or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] DateTime<FixedOffset>);
            Ok(Option::<Wrap>::deserialize(deserializer)?.map(|Wrap(t)| t))
        }
    }
}

/// A PG's payment read from its JSON text by `direct` (plain passes over the text, no
/// `serde_json::Value` tree), or by the type's generic [`Deserialize`] where `direct`
/// cannot read it as that would: the outcome and its errors are the generic reading's.
pub(crate) fn read_or_generic<T: serde::de::DeserializeOwned>(
    json: &[u8],
    direct: impl FnOnce(&[u8]) -> Option<T>,
) -> serde_json::Result<T> {
    match direct(json) {
        Some(value) => Ok(value),
        None => serde_json::from_slice(json),
    }
}

/// Checks of a payment type's direct reading ([`read_or_generic`]) against its generic one.
#[cfg(test)]
pub(crate) mod direct_reading {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// Each of `payments`, as the PG writes it and as the type writes it back, is read
    /// directly into what the generic reading gives; answers how many variants were read.
    pub fn reads_as_generic<T>(payments: &[&str], direct: fn(&[u8]) -> Option<T>) -> usize
    where
        T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
    {
        let mut variants = std::collections::HashSet::new();
        for json in payments {
            let generic = |text: &str| serde_json::from_str::<T>(text).unwrap();
            let written = serde_json::to_string(&generic(json)).unwrap();
            for text in [*json, written.as_str()] {
                let read = direct(text.as_bytes());
                assert_eq!(read.as_ref(), Some(&generic(text)), "{text}");
                variants.insert(std::mem::discriminant(&read.unwrap()));
            }
        }
        variants.len()
    }

    /// `from_slice` answers each of `cases` (its value or its error) as the generic
    /// reading does.
    pub fn falls_back_to_generic<T>(
        cases: &[String],
        from_slice: fn(&[u8]) -> serde_json::Result<T>,
    ) where
        T: DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        for text in cases {
            let read = from_slice(text.as_bytes()).map_err(|e| e.to_string());
            let generic = serde_json::from_str::<T>(text).map_err(|e| e.to_string());
            assert_eq!(read, generic, "{text}");
        }
    }
}

/// Writes `value` as `YYYY-MM-DD` into `text` (10 bytes) when its year has four digits;
/// `None` for the years chrono writes with a sign.
fn write_date(text: &mut [u8], value: &NaiveDate) -> Option<()> {
    let year = u32::try_from(value.year()).ok().filter(|y| *y <= 9999)?;
    write_digits(&mut text[0..4], year);
    text[4] = b'-';
    write_digits(&mut text[5..7], value.month());
    text[7] = b'-';
    write_digits(&mut text[8..10], value.day());
    Some(())
}

/// Writes `value`'s last `digits.len()` decimal digits into `digits`, zero-padded.
fn write_digits(digits: &mut [u8], mut value: u32) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Text written by [`write_date`] and [`write_digits`]: ASCII digits and separators only.
fn ascii(text: &[u8]) -> &str {
    std::str::from_utf8(text).unwrap_or_default()
}

/// A calendar date `YYYY-MM-DD`. The SDK types Toss's `virtualAccount.dueDate` as a date,
/// while the real API sends a date-time; a date-time is read as its own calendar date.
pub mod date {
    use super::*;

    /// Serialises as `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(value: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 10];
        match write_date(&mut text, value) {
            Some(()) => serializer.serialize_str(ascii(&text)),
            None => serializer.collect_str(&value.format("%Y-%m-%d")),
        }
    }

    /// Deserialises `YYYY-MM-DD`, or an RFC 3339 date-time (its local date).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .or_else(|_| DateTime::parse_from_rfc3339(&text).map(|t| t.date_naive()))
            .map_err(|_| de::Error::custom(format!("{text:?} is not a date (YYYY-MM-DD)")))
    }
}

/// Toss's webhook `createdAt`: local time with microseconds and no zone
/// (`yyyy-MM-dd'T'HH:mm:ss.SSSSSS`). An RFC 3339 text is also read (its local part).
pub mod local_micros {
    use super::*;

    const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

    /// Serialises with exactly six fractional digits and no zone.
    pub fn serialize<S: Serializer>(
        value: &NaiveDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        // `YYYY-MM-DDTHH:MM:SS.ffffff`; chrono's formatter reads its pattern anew on every
        // call, a few percent of a webhook's cost, so the common years are written here.
        let mut text = *b"0000-00-00T00:00:00.000000";
        let time = value.time();
        // A leap second is nanoseconds past 999,999,999; chrono writes it as 60.
        let (second, nanos) = match time.nanosecond() {
            n if n >= 1_000_000_000 => (time.second() + 1, n - 1_000_000_000),
            n => (time.second(), n),
        };
        match write_date(&mut text[..10], &value.date()) {
            Some(()) => {
                write_digits(&mut text[11..13], time.hour());
                write_digits(&mut text[14..16], time.minute());
                write_digits(&mut text[17..19], second);
                write_digits(&mut text[20..26], nanos / 1000);
                serializer.serialize_str(ascii(&text))
            }
            None => serializer.collect_str(&value.format(FORMAT)),
        }
    }

    /// Deserialises a zone-less date-time, with or without fractional seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NaiveDateTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| DateTime::parse_from_rfc3339(&text).map(|t| t.naive_local()))
            .map_err(|_| de::Error::custom(format!("{text:?} is not a date-time")))
    }
}

/// `null` read as the type's default: for fields the SDKs type as always present that a
/// real PG sometimes sends as `null` (I'mport's envelope `message`).
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Absent text written as `""`, never `null`: for I'mport fields that the V1 schema types as
/// plain strings and the SDK does not declare (a schedule's `imp_uid` before it runs).
/// `""` and `null` both read as `None`; `T` is text on the wire (a string or a unit enum).
pub mod empty_as_none {
    use serde::de::{Deserializer, IntoDeserializer};
    use serde::{Deserialize, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => value.serialize(serializer),
            None => serializer.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) if text.is_empty() => Ok(None),
            Some(text) => T::deserialize(text.into_deserializer()).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Amount(#[serde(with = "amount")] f64);

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Text(#[serde(with = "empty_as_none")] Option<crate::iamport::IamportPaymentStatus>);

    #[test]
    fn absent_text_is_written_empty_and_read_from_empty_or_null() {
        assert_eq!(serde_json::to_value(Text(None)).unwrap(), json!(""));
        let paid = Text(Some(crate::iamport::IamportPaymentStatus::Paid));
        assert_eq!(serde_json::to_value(&paid).unwrap(), json!("paid"));
        assert_eq!(serde_json::from_value::<Text>(json!("paid")).unwrap(), paid);
        assert_eq!(
            serde_json::from_value::<Text>(json!("")).unwrap(),
            Text(None)
        );
        assert_eq!(
            serde_json::from_value::<Text>(json!(null)).unwrap(),
            Text(None)
        );
        assert!(serde_json::from_value::<Text>(json!("nope")).is_err());
        assert!(serde_json::from_value::<Text>(json!(1)).is_err());
    }

    #[test]
    fn whole_amounts_are_written_as_integers() {
        assert_eq!(serde_json::to_string(&Amount(20000.0)).unwrap(), "20000");
        assert_eq!(serde_json::to_string(&Amount(-5.0)).unwrap(), "-5");
        assert_eq!(serde_json::to_string(&Amount(12.5)).unwrap(), "12.5");
        assert_eq!(serde_json::to_string(&Amount(1e300)).unwrap(), "1e+300");
        assert_eq!(
            serde_json::from_str::<Amount>("19900").unwrap(),
            Amount(19900.0)
        );
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Seconds(#[serde(with = "unix_seconds")] i64);

    #[test]
    fn unix_seconds_accept_fractions_and_refuse_nonsense() {
        assert_eq!(
            serde_json::from_str::<Seconds>("1700000000").unwrap().0,
            1_700_000_000
        );
        assert_eq!(
            serde_json::from_str::<Seconds>("1700000000.987").unwrap().0,
            1_700_000_000
        );
        assert!(serde_json::from_str::<Seconds>("1e20").is_err());
        assert!(serde_json::from_str::<Seconds>("\"1\"").is_err());
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Iso(#[serde(with = "iso_millis")] DateTime<Utc>);

    #[test]
    fn payments_times_always_carry_milliseconds() {
        let t: Iso = serde_json::from_value(json!("2024-06-18T18:30:00+09:00")).unwrap();
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!("2024-06-18T09:30:00.000Z")
        );
        assert!(serde_json::from_value::<Iso>(json!("yesterday")).is_err());
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Toss(#[serde(with = "offset_date_time")] DateTime<FixedOffset>);

    #[test]
    fn toss_times_keep_their_form() {
        for text in [
            "2022-01-01T11:31:29+09:00",
            "2026-11-24T01:24:34.038Z",
            "2026-11-24T01:24:34Z",
        ] {
            let t: Toss = serde_json::from_value(json!(text)).unwrap();
            assert_eq!(serde_json::to_value(&t).unwrap(), json!(text));
        }
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Day(#[serde(with = "date")] NaiveDate);

    #[test]
    fn dates_accept_date_times() {
        let d: Day = serde_json::from_value(json!("2026-11-27T23:59:59+09:00")).unwrap();
        assert_eq!(serde_json::to_value(&d).unwrap(), json!("2026-11-27"));
        assert!(serde_json::from_value::<Day>(json!("2026-13-01")).is_err());
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Local(#[serde(with = "local_micros")] NaiveDateTime);

    #[test]
    fn webhook_created_at_has_six_digits_and_no_zone() {
        let t: Local = serde_json::from_value(json!("2022-01-01T11:31:29.123")).unwrap();
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!("2022-01-01T11:31:29.123000")
        );
    }

    proptest::proptest! {
        /// The hand-written formats write what chrono's patterns write, for every date and
        /// time chrono has: four-digit years, the signed years beyond them, leap seconds.
        #[test]
        fn dates_and_times_are_written_as_chrono_writes_them(
            days in -1_000_000i32..4_000_000,
            seconds in 0u32..86_400,
            nanos in 0u32..2_000_000_000,
        ) {
            let date = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
            // Chrono keeps a leap second (nanoseconds past a second) only at :59.
            let seconds = if nanos >= 1_000_000_000 { seconds / 60 * 60 + 59 } else { seconds };
            let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
                .unwrap();
            let at = date.and_time(time);
            proptest::prop_assert_eq!(
                serde_json::to_value(Day(date)).unwrap(),
                json!(date.format("%Y-%m-%d").to_string())
            );
            proptest::prop_assert_eq!(
                serde_json::to_value(Local(at)).unwrap(),
                json!(at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
            );
        }
    }
}
