//! What is kept beside payments: amounts registered before a payment, identity
//! certifications by SMS code, and cash receipts.

use payments_api::iamport::*;

use super::super::error::IamportFault;
use super::MerchantData;
use super::payment::receipt_url;
use crate::ids::{random_alnum, random_digits};

const NO_PREPARED: &str = "사전등록된 결제정보가 존재하지 않습니다.";

fn unknown_certification() -> IamportFault {
    IamportFault::not_found("인증결과가 존재하지 않습니다.")
}

fn no_receipt() -> IamportFault {
    IamportFault::not_found("현금영수증 발행 이력이 존재하지 않습니다.")
}

impl MerchantData {
    /// Registers the amount a merchant_uid must be paid with; once.
    pub fn prepare(
        &mut self,
        merchant_uid: &str,
        amount: f64,
        now_ms: i64,
    ) -> Result<(), IamportFault> {
        if self.prepared.get(merchant_uid, now_ms).is_some() {
            return Err(IamportFault::refused(
                1,
                "이미 사전등록된 merchant_uid 입니다. 금액을 바꾸려면 PUT /payments/prepare 를 호출하세요.",
            ));
        }
        self.prepared
            .insert(merchant_uid.to_owned(), amount, now_ms);
        Ok(())
    }

    /// Changes a registered amount.
    pub fn change_prepared(
        &mut self,
        merchant_uid: &str,
        amount: f64,
        now_ms: i64,
    ) -> Result<(), IamportFault> {
        let registered = self
            .prepared
            .get_mut(merchant_uid, now_ms)
            // The V1 schema gives `PUT /payments/prepare` a 404 for this.
            .ok_or_else(|| IamportFault::not_found(NO_PREPARED))?;
        *registered = amount;
        Ok(())
    }

    /// The amount registered for a merchant_uid.
    pub fn prepared(&self, merchant_uid: &str, now_ms: i64) -> Result<f64, IamportFault> {
        self.prepared
            .get(merchant_uid, now_ms)
            .copied()
            // The V1 schema gives `GET /payments/prepare/{merchant_uid}` no 404: the real
            // API refuses in the envelope (HTTP 200 for merchants that want it).
            .ok_or_else(|| IamportFault::missing(NO_PREPARED))
    }

    /// Starts a certification: checks who asks and keeps the SMS code to confirm.
    /// Returns the certification's imp_uid.
    pub fn request_certification(
        &mut self,
        input: &IamportCertificationCreate,
        now_ms: i64,
    ) -> Result<String, IamportFault> {
        let digit: u8 = input
            .gender_digit
            .trim()
            .parse()
            .ok()
            .filter(|d| (1..=8).contains(d))
            .ok_or_else(|| {
                IamportFault::invalid("gender_digit 는 1에서 8 사이의 숫자여야 합니다.")
            })?;
        let birth = birth_date(&input.birth, digit)
            .ok_or_else(|| IamportFault::invalid("birth 는 YYMMDD 형식이어야 합니다."))?;
        let phone: String = input.phone.chars().filter(|c| c.is_ascii_digit()).collect();
        if !(10..=11).contains(&phone.len()) {
            return Err(IamportFault::invalid("phone 이 올바르지 않습니다."));
        }
        let imp_uid = super::imp_uid();
        let certification = IamportCertification {
            imp_uid: imp_uid.clone(),
            merchant_uid: input.merchant_uid.clone(),
            name: input.name.clone(),
            gender: if digit % 2 == 1 { "male" } else { "female" }.to_owned(),
            birth: birth
                .and_hms_opt(0, 0, 0)
                .map_or(0, |d| d.and_utc().timestamp()),
            // The SDK's `YYYYMMDD`; the real API answers `YYYY-MM-DD` (see the README).
            birthday: birth.format("%Y%m%d").to_string(),
            foreigner: digit >= 5,
            phone,
            carrier: input.carrier,
            certified: false,
            certified_at: 0,
            unique_key: random_alnum(88),
            unique_in_site: random_alnum(64),
            pg_tid: format!("cert_{}", random_digits(16)),
            pg_provider: "danal".to_owned(),
            origin: String::new(),
            otp: Some(random_digits(6)),
        };
        self.certifications
            .insert(imp_uid.clone(), certification, now_ms);
        Ok(imp_uid)
    }

    /// Confirms a certification with its SMS code, once.
    pub fn confirm_certification(
        &mut self,
        imp_uid: &str,
        otp: &str,
        now_ms: i64,
    ) -> Result<IamportCertification, IamportFault> {
        let record = self
            .certifications
            .get_mut(imp_uid, now_ms)
            .ok_or_else(unknown_certification)?;
        if record.certified {
            return Err(IamportFault::refused(-1, "이미 인증이 완료된 요청입니다."));
        }
        if record.otp.as_deref() != Some(otp.trim()) {
            return Err(IamportFault::refused(-1, "인증번호가 일치하지 않습니다."));
        }
        record.certified = true;
        record.certified_at = now_ms / 1000;
        Ok(record.clone())
    }

    /// A certification.
    pub fn certification(
        &self,
        imp_uid: &str,
        now_ms: i64,
    ) -> Result<&IamportCertification, IamportFault> {
        self.certifications
            .get(imp_uid, now_ms)
            .ok_or_else(unknown_certification)
    }

    /// Forgets a certification.
    pub fn delete_certification(
        &mut self,
        imp_uid: &str,
        now_ms: i64,
    ) -> Result<IamportCertification, IamportFault> {
        self.certification(imp_uid, now_ms)?;
        self.certifications
            .remove(imp_uid)
            .ok_or_else(unknown_certification)
    }

    /// Issues the cash receipt of a paid payment, for what is left of it; one at a time.
    pub fn issue_receipt(
        &mut self,
        imp_uid: &str,
        input: &IamportReceiptCreate,
        now_ms: i64,
    ) -> Result<IamportReceipt, IamportFault> {
        if input.identifier.trim().is_empty() {
            return Err(IamportFault::invalid("identifier 가 필요합니다."));
        }
        if self
            .receipts
            .get(imp_uid, now_ms)
            .is_some_and(|r| r.cancelled_at == 0)
        {
            return Err(IamportFault::refused(
                1,
                "이미 현금영수증이 발행된 결제건입니다.",
            ));
        }
        let payment = self.payment(imp_uid, now_ms)?;
        if payment.status() != IamportPaymentStatus::Paid {
            return Err(IamportFault::refused(
                1,
                "결제완료 상태의 결제건만 현금영수증을 발행할 수 있습니다.",
            ));
        }
        let amount = payment.balance();
        let taxable = amount - input.tax_free.unwrap_or(0.0).clamp(0.0, amount);
        let receipt = IamportReceipt {
            imp_uid: imp_uid.to_owned(),
            receipt_uid: format!("rcpt_{}", random_digits(16)),
            apply_num: random_digits(9),
            kind: input.kind.unwrap_or(IamportReceiptType::Person),
            amount,
            vat: (taxable / 11.0).round(),
            receipt_url: format!("{}/cash", receipt_url(imp_uid)),
            applied_at: now_ms / 1000,
            cancelled_at: 0,
        };
        self.change_payment(imp_uid, now_ms, |payment| payment.set_cash_receipt(true))?;
        self.receipts
            .insert(imp_uid.to_owned(), receipt.clone(), now_ms);
        Ok(receipt)
    }

    /// The cash receipt of a payment.
    pub fn receipt(&self, imp_uid: &str, now_ms: i64) -> Result<&IamportReceipt, IamportFault> {
        self.receipts.get(imp_uid, now_ms).ok_or_else(no_receipt)
    }

    /// Cancels the cash receipt of a payment.
    pub fn cancel_receipt(
        &mut self,
        imp_uid: &str,
        now_ms: i64,
    ) -> Result<IamportReceipt, IamportFault> {
        let Some(receipt) = self.receipts.get_mut(imp_uid, now_ms) else {
            return Err(IamportFault::refused(1, "발행된 현금영수증이 없습니다."));
        };
        if receipt.cancelled_at != 0 {
            return Err(IamportFault::refused(1, "이미 취소된 현금영수증입니다."));
        }
        receipt.cancelled_at = now_ms / 1000;
        let receipt = receipt.clone();
        // The payment may be gone meanwhile; the receipt is cancelled all the same.
        let _ = self.change_payment(imp_uid, now_ms, |payment| payment.set_cash_receipt(false));
        Ok(receipt)
    }
}

/// A birth date as the real API takes it (v1.openapi.json, `POST /certifications/otp/
/// request`): `YYMMDD`, symbols such as `-` or `.` ignored, the century told by the
/// resident number's 7th digit (1, 2, 5, 6: 1900s; 3, 4, 7, 8: 2000s). The SDK's
/// `YYYYMMDD` is read too.
fn birth_date(raw: &str, gender_digit: u8) -> Option<chrono::NaiveDate> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let full = match digits.len() {
        6 => {
            let century = if matches!(gender_digit, 3 | 4 | 7 | 8) {
                "20"
            } else {
                "19"
            };
            format!("{century}{digits}")
        }
        8 => digits,
        _ => return None,
    };
    chrono::NaiveDate::parse_from_str(&full, "%Y%m%d").ok()
}
