//! Cards and banks as the fake I'mport knows them: card data checks, the magic test
//! numbers, issuers, masking, bank names.

use std::fmt;

use super::super::error::IamportFault;

/// A 16-digit card number, kept as a number and shown as `dddd-dddd-dddd-dddd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardNumber(u64);

impl CardNumber {
    /// Card data as sent (with or without dashes), checked.
    pub fn parse(raw: &str) -> Result<Self, IamportFault> {
        let digits: String = raw.chars().filter(|c| *c != '-').collect();
        if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IamportFault::refused(
                -1,
                "카드정보 인증에 실패하였습니다. [카드번호 오류]",
            ));
        }
        digits.parse().map(Self).map_err(|_| {
            IamportFault::refused(-1, "카드정보 인증에 실패하였습니다. [카드번호 오류]")
        })
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
        match self.0 % 10_000 {
            2 => Some("[4003] 카드사 승인 거절"),
            9995 => Some("[4004] 잔액 부족"),
            _ => None,
        }
    }

    /// The issuer's code and name, guessed from the first digit as test cards are.
    pub fn company(self) -> (&'static str, &'static str) {
        match self.0 / 1_000_000_000_000_000 {
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
        let n = self.0;
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

/// Checks an expiry `YYYY-MM` against the fake's date, and a birth date or business number.
pub fn check_card(expiry: &str, birth: &str, today: chrono::NaiveDate) -> Result<(), IamportFault> {
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
    if (year, month) < (today.year(), today.month()) {
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
        let number = CardNumber::parse("4092023012345678").unwrap();
        assert_eq!(number.to_string(), "4092-0230-1234-5678");
        assert_eq!(CardNumber::parse("4092-0230-1234-5678").unwrap(), number);
        assert_eq!(
            CardNumber::parse("0001-0000-0000-0009")
                .unwrap()
                .to_string(),
            "0001-0000-0000-0009"
        );
        assert!(CardNumber::parse("4092-0230-1234").is_err());
        assert!(CardNumber::parse("4092-0230-1234-567x").is_err());
        assert_eq!(number.masked(), "4092-02**-****-5678");
        assert_eq!(number.company(), ("366", "신한카드"));
        assert_eq!(number.decline_reason(), None);
        assert_eq!(
            CardNumber::parse("4000-0000-0000-0002")
                .unwrap()
                .decline_reason(),
            Some("[4003] 카드사 승인 거절")
        );
        assert_eq!(
            CardNumber::parse("4000-0000-0000-9995")
                .unwrap()
                .decline_reason(),
            Some("[4004] 잔액 부족")
        );
    }
}
