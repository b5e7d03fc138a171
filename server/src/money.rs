//! Money, exact.
//!
//! The wire formats carry amounts as JSON numbers, read as `f64`; the server turns them into
//! an [`Amount`] the moment they arrive, so that amounts are compared and added as integers.
//! An amount counts ten-thousandths of the currency's major unit: KRW has no minor unit,
//! and four decimals hold every currency in ISO 4217 (the most precise have four), so every
//! amount a PG reports is kept exactly.

use std::fmt;

use sqlx::any::{Any, AnyTypeInfo};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;

/// Ten-thousandths in one major unit.
const SCALE: i64 = 10_000;
/// The largest whole amount an `f64` holds with all four decimals exact (2^53 / 10^4).
const MAX_UNITS: i64 = 9_007_199_254_740_992;

/// An amount of money in the currency of its record, exact to a ten-thousandth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

/// A number that is no amount of money.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{0} is not an amount of money (a finite number with at most four decimals)")]
pub struct NotMoney(pub f64);

impl Amount {
    /// Nothing.
    pub const ZERO: Self = Self(0);

    /// The amount a wire number stands for; refused if it is not finite, has more than four
    /// decimals, or is too large to be exact.
    pub fn from_f64(value: f64) -> Result<Self, NotMoney> {
        if !value.is_finite() {
            return Err(NotMoney(value));
        }
        let scaled = (value * SCALE as f64).round();
        if scaled.abs() > MAX_UNITS as f64 {
            return Err(NotMoney(value));
        }
        let units = scaled as i64;
        // Both divisions are exact or correctly rounded, so this holds exactly when `value`
        // is the double nearest to a number with four decimals, i.e. what the PG wrote.
        if units as f64 / SCALE as f64 != value {
            return Err(NotMoney(value));
        }
        Ok(Self(units))
    }

    /// The amount as the wire formats write it.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    /// Whether the amount is above zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The difference, or `None` when it would leave the range an `f64` holds exactly.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0
            .checked_sub(other.0)
            .filter(|sum| sum.abs() <= MAX_UNITS)
            .map(Self)
    }

    /// Whether the amount is a whole number of the currency's major unit: what a client may
    /// ask for (KRW has no minor unit), while PGs' amounts keep their decimals.
    pub fn is_whole(self) -> bool {
        self.0 % SCALE == 0
    }

    /// The sum, or `None` when it would leave the range an `f64` holds exactly.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0
            .checked_add(other.0)
            .filter(|sum| sum.abs() <= MAX_UNITS)
            .map(Self)
    }
}

impl TryFrom<f64> for Amount {
    type Error = NotMoney;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::from_f64(value)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_f64(), f)
    }
}

// Columns of amounts are DOUBLE, as the PGs write them (an operator's query shows 15000, not
// 150000000); every amount converts to a double and back without loss.
impl sqlx::Type<Any> for Amount {
    fn type_info() -> AnyTypeInfo {
        <f64 as sqlx::Type<Any>>::type_info()
    }
}

impl sqlx::Encode<'_, Any> for Amount {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <f64 as sqlx::Encode<'_, Any>>::encode(self.to_f64(), buf)
    }
}

impl<'r> sqlx::Decode<'r, Any> for Amount {
    fn decode(value: <Any as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let double = <f64 as sqlx::Decode<'r, Any>>::decode(value)?;
        Ok(Self::from_f64(double)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_convert_exactly_both_ways() {
        for value in [0.0, 1.0, 15000.0, 19900.0, 12.34, 0.0001, 99.999, 1e11] {
            let amount = Amount::from_f64(value).unwrap();
            assert_eq!(amount.to_f64(), value, "{value}");
        }
        assert_eq!(
            Amount::from_f64(12.34).unwrap(),
            Amount::from_f64(12.340).unwrap()
        );
        assert_ne!(
            Amount::from_f64(15000.0).unwrap(),
            Amount::from_f64(14999.9999).unwrap()
        );
    }

    #[test]
    fn sums_are_exact_where_doubles_are_not() {
        let tenth = Amount::from_f64(0.1).unwrap();
        let sum = tenth
            .checked_add(tenth)
            .and_then(|s| s.checked_add(tenth))
            .unwrap();
        assert_ne!(0.1 + 0.1 + 0.1, 0.3);
        assert_eq!(sum, Amount::from_f64(0.3).unwrap());
    }

    #[test]
    fn what_is_not_money_is_refused() {
        for value in [f64::NAN, f64::INFINITY, 0.00001, 1.23456, 1e15, -1e300] {
            assert!(Amount::from_f64(value).is_err(), "{value}");
        }
        let max = Amount::from_f64(9e11).unwrap();
        assert!(max.checked_add(max).is_none());
    }
}
