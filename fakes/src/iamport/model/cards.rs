//! Cards and banks as the fake I'mport knows them: card data checks, the magic test
//! numbers, issuers, masking, bank names.

use std::fmt;

use super::super::error::IamportFault;
use crate::compat::{Compat, card_digits};

/// A card number of 16 digits (13 to 16 in `Compat::Original`), kept as one number whose
/// top byte is the count of digits, and shown as `dddd-dddd-dddd-dddd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardNumber(u64);

/// Where a [`CardNumber`] keeps its count of digits.
const LENGTH_SHIFT: u32 = 56;

impl CardNumber {
    /// Card data as sent (with or without dashes), checked: 16 digits, or 13 to 16 in
    /// `Compat::Original`, as the original fakes took them.
    pub fn parse(raw: &str, compat: Compat) -> Result<Self, IamportFault> {
        let lengths = if compat.original() { 13..=16 } else { 16..=16 };
        let refused =
            || IamportFault::refused(-1, "카드정보 인증에 실패하였습니다. [카드번호 오류]");
        let digits = card_digits(raw, lengths).ok_or_else(refused)?;
        let number: u64 = digits.parse().map_err(|_| refused())?;
        Ok(Self(number | (digits.len() as u64) << LENGTH_SHIFT))
    }

    fn number(self) -> u64 {
        self.0 & ((1 << LENGTH_SHIFT) - 1)
    }

    fn digits(self) -> u32 {
        (self.0 >> LENGTH_SHIFT) as u32
    }

    /// The number as the real API shows it: the middle digits masked.
    pub fn masked(self) -> String {
        self.to_string()
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if (7..=13).contains(&i) && c != '-' {
                    '*'
                } else {
                    c
                }
            })
            .collect()
    }

    /// Why the issuer declines it, for the magic test numbers: ending `0002` (declined)
    /// and `9995` (insufficient funds).
    pub fn decline_reason(self) -> Option<&'static str> {
        match self.number() % 10_000 {
            2 => Some("[4003] 카드사 승인 거절"),
            9995 => Some("[4004] 잔액 부족"),
            _ => None,
        }
    }

    /// Why the issuer refuses to register it as a billing key: a declined card is refused,
    /// one short of funds is not (registering charges nothing; its charges fail later).
    pub fn registration_refusal(self) -> Option<&'static str> {
        self.decline_reason()
            .filter(|_| self.number() % 10_000 != 9995)
    }

    /// The issuer's code and name, guessed from the first digit as test cards are.
    pub fn company(self) -> (&'static str, &'static str) {
        match self.number() / 10u64.pow(self.digits().saturating_sub(1)) {
            3 => ("368", "롯데카드"),
            4 => ("366", "신한카드"),
            5 => ("367", "현대카드"),
            6 => ("371", "NH카드"),
            9 => ("361", "BC카드"),
            _ => ("381", "KB국민카드"),
        }
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, digits) = (self.number(), self.digits());
        if digits != 16 {
            // A shorter number, in groups of four whose last one is short.
            let text = format!("{n:0width$}", width = digits as usize);
            let groups: Vec<&str> = text
                .as_bytes()
                .chunks(4)
                .map(|g| std::str::from_utf8(g).unwrap_or_default())
                .collect();
            return f.write_str(&groups.join("-"));
        }
        write!(
            f,
            "{:04}-{:04}-{:04}-{:04}",
            n / 1_000_000_000_000,
            n / 100_000_000 % 10_000,
            n / 10_000 % 10_000,
            n % 10_000
        )
    }
}

/// Checks an expiry `YYYY-MM` against the fake's date (a past one passes in
/// `Compat::Original`), and a birth date or business number.
pub fn check_card(
    expiry: &str,
    birth: &str,
    today: chrono::NaiveDate,
    compat: Compat,
) -> Result<(), IamportFault> {
    use chrono::Datelike;
    let parsed = expiry
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(y, m)| expiry.len() == 7 && *y > 2000 && (1..=12).contains(m));
    let Some((year, month)) = parsed else {
        return Err(IamportFault::refused(
            -1,
            "카드정보 인증에 실패하였습니다. [유효기간 오류]",
        ));
    };
    if (year, month) < (today.year(), today.month()) && !compat.original() {
        return Err(IamportFault::refused(
            -1,
            "카드정보 인증에 실패하였습니다. [유효기간 만료]",
        ));
    }
    if !matches!(birth.len(), 6 | 10) || !birth.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IamportFault::refused(
            -1,
            "카드정보 인증에 실패하였습니다. [생년월일 오류]",
        ));
    }
    Ok(())
}

/// The name of a bank by its code.
pub fn bank_name(code: &str) -> &'static str {
    match code {
        "004" => "KB국민은행",
        "003" => "IBK기업은행",
        "011" => "NH농협은행",
        "020" => "우리은행",
        "023" => "SC제일은행",
        "027" => "한국씨티은행",
        "031" => "대구은행",
        "032" => "부산은행",
        "071" => "우체국",
        "081" => "하나은행",
        "088" => "신한은행",
        "089" => "케이뱅크",
        "090" => "카카오뱅크",
        _ => "은행",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_normalised_masked_and_read() {
        let number = CardNumber::parse("4092023012345678", Compat::Real).unwrap();
        assert_eq!(number.to_string(), "4092-0230-1234-5678");
        assert_eq!(
            CardNumber::parse("4092-0230-1234-5678", Compat::Real).unwrap(),
            number
        );
        assert_eq!(
            CardNumber::parse("0001-0000-0000-0009", Compat::Real)
                .unwrap()
                .to_string(),
            "0001-0000-0000-0009"
        );
        assert!(CardNumber::parse("4092-0230-1234", Compat::Real).is_err());
        assert!(CardNumber::parse("4092-0230-1234-567x", Compat::Real).is_err());
        assert_eq!(number.masked(), "4092-02**-****-5678");
        assert_eq!(number.company(), ("366", "신한카드"));
        assert_eq!(number.decline_reason(), None);
        assert_eq!(
            CardNumber::parse("4000-0000-0000-0002", Compat::Real)
                .unwrap()
                .decline_reason(),
            Some("[4003] 카드사 승인 거절")
        );
        assert_eq!(
            CardNumber::parse("4000-0000-0000-9995", Compat::Real)
                .unwrap()
                .decline_reason(),
            Some("[4004] 잔액 부족")
        );
        let short = CardNumber::parse("4000-0000-0000-9995", Compat::Real).unwrap();
        assert_eq!(short.registration_refusal(), None);
        let declined = CardNumber::parse("4000-0000-0000-0002", Compat::Real).unwrap();
        assert!(declined.registration_refusal().is_some());
    }
}
