//! The drop-in mode: what a fake accepts beyond the real API, for test suites written
//! against the original TypeScript fakes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which requests a fake accepts: the real API's, or also what the original fakes accepted.
/// Per fake (`harness fake … --compat original`, the configs' `compat`) and per merchant
/// (`PUT /internal/merchant`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compat {
    /// What the real API accepts, and nothing else.
    #[default]
    Real,
    /// Also what the original fakes accepted and the real APIs refuse: card expiry dates in
    /// the past, card numbers of 13 to 16 digits (in dash-separated groups whose last one
    /// may be short), and a Toss billing charge whose `customerKey` is not the key's.
    /// Everything else stays as the real API behaves.
    Original,
}

impl Compat {
    /// Whether the original fakes' leniency applies.
    pub fn original(self) -> bool {
        self == Self::Original
    }
}

impl FromStr for Compat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "real" => Ok(Self::Real),
            "original" => Ok(Self::Original),
            other => Err(format!("{other:?} is not a compat mode: real or original")),
        }
    }
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Real => "real",
            Self::Original => "original",
        })
    }
}

/// The digits of a card number sent in dash-separated groups, if it has `digits` of them.
pub fn card_digits(raw: &str, digits: std::ops::RangeInclusive<usize>) -> Option<String> {
    let number: String = raw.chars().filter(|c| *c != '-').collect();
    (digits.contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit())).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reads_card_digits() {
        assert_eq!("original".parse(), Ok(Compat::Original));
        assert!("loose".parse::<Compat>().is_err());
        assert_eq!(Compat::default(), Compat::Real);
        assert_eq!(
            card_digits("4092-0230-1234-5", 13..=16).as_deref(),
            Some("4092023012345")
        );
        assert_eq!(card_digits("4092-0230-1234", 13..=16), None);
        assert_eq!(card_digits("4092-0230-1234-567x", 13..=16), None);
    }
}
