//! The records of the fake I'mport and how payments are made.

use std::collections::HashMap;

use payments_api::iamport::*;
use serde::{Deserialize, Serialize};

use super::error::IamportFault;
use crate::ids::random_digits;
use crate::store::VolatileStore;

/// A payment and the fake's bookkeeping about it.
#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub payment: IamportPayment,
    /// Where this payment's webhooks go instead of the merchant's URL.
    pub notice_url: Option<String>,
}

/// A billing key and the card behind it.
#[derive(Debug, Clone)]
pub struct SubscriptionRecord {
    pub subscription: IamportSubscription,
    /// The full card number, for charges (the record may show it masked).
    pub card_number: String,
}

/// A scheduled payment and what it needs at execution.
#[derive(Debug, Clone)]
pub struct ScheduleRecord {
    pub schedule: IamportSchedule,
    pub request: IamportScheduleRequest,
}

/// How a merchant's webhooks are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Json,
    Form,
}

/// A merchant's settings, changed with `PUT /internal/merchant`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The merchant's webhook URL; `null` sends none. Absent: the configured URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Option<String>>,
    /// JSON (default) or form-encoded webhooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_format: Option<WebhookFormat>,
    /// Answer business refusals with HTTP 200 and `code != 0`, as the real API does.
    pub business_errors_as_200: bool,
    /// Mask card numbers of new payments and billing keys, as the real API does (the SDK's
    /// pattern then no longer matches).
    pub mask_card_numbers: bool,
    /// Notify API cancels only when they ask with `enable_webhook`, the real API's rule.
    pub cancel_webhook_requires_flag: bool,
}

/// One merchant's data: everything a key pair can see.
#[derive(Debug)]
pub struct MerchantData {
    pub settings: Settings,
    /// The current access token and when it expires (ms).
    pub token: Option<(String, i64)>,
    pub payments: VolatileStore<PaymentRecord>,
    /// merchant_uid → the imp_uid of its latest payment.
    pub orders: HashMap<String, String>,
    pub prepared: VolatileStore<f64>,
    pub subscriptions: VolatileStore<SubscriptionRecord>,
    pub schedules: VolatileStore<ScheduleRecord>,
    pub certifications: VolatileStore<IamportCertification>,
    /// Cash receipts, by the payment's imp_uid.
    pub receipts: VolatileStore<IamportReceipt>,
}

impl MerchantData {
    pub fn new(ttl_ms: i64, capacity: usize) -> Self {
        Self {
            settings: Settings::default(),
            token: None,
            payments: VolatileStore::new(ttl_ms, capacity),
            orders: HashMap::new(),
            prepared: VolatileStore::new(ttl_ms, capacity),
            subscriptions: VolatileStore::new(ttl_ms, capacity),
            schedules: VolatileStore::new(ttl_ms, capacity),
            certifications: VolatileStore::new(ttl_ms, capacity),
            receipts: VolatileStore::new(ttl_ms, capacity),
        }
    }

    /// Stores a payment and indexes its merchant_uid.
    pub fn insert_payment(&mut self, record: PaymentRecord, now_ms: i64) {
        let base = record.payment.base();
        let (imp_uid, merchant_uid) = (base.imp_uid.clone(), base.merchant_uid.clone());
        for (evicted_uid, evicted) in self.payments.insert(imp_uid.clone(), record, now_ms) {
            let order = &evicted.payment.base().merchant_uid;
            if self.orders.get(order) == Some(&evicted_uid) {
                self.orders.remove(order);
            }
        }
        self.orders.insert(merchant_uid, imp_uid);
    }

    /// The live payment `imp_uid`.
    pub fn payment(
        &mut self,
        imp_uid: &str,
        now_ms: i64,
    ) -> Result<&mut PaymentRecord, IamportFault> {
        self.payments
            .get_mut(imp_uid, now_ms)
            .ok_or_else(|| IamportFault::not_found("존재하지 않는 결제정보입니다."))
    }

    /// The latest live payment of a merchant_uid.
    pub fn payment_by_order(&self, merchant_uid: &str, now_ms: i64) -> Option<&PaymentRecord> {
        let imp_uid = self.orders.get(merchant_uid)?;
        self.payments.get(imp_uid, now_ms)
    }

    /// Refuses a merchant_uid that already has a payment, other than a failed one.
    pub fn check_new_order(&self, merchant_uid: &str, now_ms: i64) -> Result<(), IamportFault> {
        if merchant_uid.is_empty() || merchant_uid.len() > 255 {
            return Err(IamportFault::invalid(
                "merchant_uid 는 1자 이상 255자 이하여야 합니다.",
            ));
        }
        match self.payment_by_order(merchant_uid, now_ms) {
            Some(existing) if existing.payment.base().status != IamportPaymentStatus::Failed => {
                Err(IamportFault::refused(
                    1,
                    format!("이미 결제가 진행된 주문번호(merchant_uid: {merchant_uid})입니다."),
                ))
            }
            _ => Ok(()),
        }
    }

    /// What an API call that pays at once checks of its order: a new merchant_uid, and the
    /// pre-registered amount if there is one.
    pub fn check_order(
        &self,
        merchant_uid: &str,
        amount: f64,
        now_ms: i64,
    ) -> Result<(), IamportFault> {
        self.check_new_order(merchant_uid, now_ms)?;
        self.check_prepared(merchant_uid, amount, now_ms)
            .map_err(|m| IamportFault::refused(-1, m))
    }

    /// Refuses an amount that differs from the one pre-registered for the merchant_uid.
    pub fn check_prepared(
        &self,
        merchant_uid: &str,
        amount: f64,
        now_ms: i64,
    ) -> Result<(), String> {
        match self.prepared.get(merchant_uid, now_ms) {
            Some(&prepared) if prepared != amount => Err(format!(
                "사전 등록된 결제금액({prepared})과 요청 금액({amount})이 다릅니다."
            )),
            _ => Ok(()),
        }
    }
}

/// A new imp_uid: `imp_` and 12 digits, as the real API's look.
pub fn imp_uid() -> String {
    format!("imp_{}", random_digits(12))
}

/// Card data checked and normalised to the SDK's `dddd-dddd-dddd-dddd`.
pub fn card_number(raw: &str) -> Result<String, IamportFault> {
    let digits: String = raw.chars().filter(|c| *c != '-').collect();
    if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IamportFault::refused(
            -1,
            "카드정보 인증에 실패하였습니다. [카드번호 오류]",
        ));
    }
    Ok(format!(
        "{}-{}-{}-{}",
        &digits[0..4],
        &digits[4..8],
        &digits[8..12],
        &digits[12..16]
    ))
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

/// Why a card is declined, for the magic test numbers: ending `0002` (declined by the
/// issuer) and `9995` (insufficient funds).
pub fn decline_reason(card_number: &str) -> Option<&'static str> {
    if card_number.ends_with("0002") {
        Some("[4003] 카드사 승인 거절")
    } else if card_number.ends_with("9995") {
        Some("[4004] 잔액 부족")
    } else {
        None
    }
}

/// The card company of a number, guessed from its first digit as test cards are.
pub fn card_company(card_number: &str) -> (&'static str, &'static str) {
    match card_number.as_bytes().first() {
        Some(b'3') => ("368", "롯데카드"),
        Some(b'4') => ("366", "신한카드"),
        Some(b'5') => ("367", "현대카드"),
        Some(b'6') => ("371", "NH카드"),
        Some(b'9') => ("361", "BC카드"),
        _ => ("381", "KB국민카드"),
    }
}

/// A card number as the real API shows it: the middle digits masked.
pub fn mask(card_number: &str) -> String {
    card_number
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

/// The buyer and order fields a new payment copies.
#[derive(Debug, Default)]
pub struct Order<'a> {
    pub merchant_uid: &'a str,
    pub name: Option<&'a str>,
    pub amount: f64,
    pub currency: Option<IamportCurrency>,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_tel: Option<String>,
    pub buyer_addr: Option<String>,
    pub buyer_postcode: Option<String>,
    pub custom_data: Option<String>,
    pub customer_uid: Option<String>,
    pub customer_uid_usage: Option<&'a str>,
    /// `api` for REST payments, `pc` for the payment window.
    pub channel: &'a str,
}

/// The fields common to every new payment.
pub fn base(
    method: IamportPayMethod,
    order: Order<'_>,
    status: IamportPaymentStatus,
    now: i64,
) -> IamportPaymentBase {
    let imp_uid = imp_uid();
    let pg_tid = format!("StdpayCARD{}", random_digits(20));
    IamportPaymentBase {
        pay_method: method,
        receipt_url: format!("https://iniweb.inicis.com/receipt/{imp_uid}"),
        imp_uid,
        merchant_uid: order.merchant_uid.to_owned(),
        name: order.name.map(str::to_owned),
        amount: order.amount,
        cancel_amount: 0.0,
        currency: order.currency.unwrap_or(IamportCurrency::KRW),
        cash_receipt_issue: false,
        channel: order.channel.to_owned(),
        pg_provider: "html5_inicis".to_owned(),
        emb_pg_provider: None,
        pg_id: "INIpayTest".to_owned(),
        pg_tid,
        escrow: false,
        buyer_name: order.buyer_name,
        buyer_email: order.buyer_email,
        buyer_tel: order.buyer_tel,
        buyer_addr: order.buyer_addr,
        buyer_postcode: order.buyer_postcode,
        customer_uid: order.customer_uid,
        customer_uid_usage: order.customer_uid_usage.map(str::to_owned),
        custom_data: order.custom_data,
        user_agent: Some("sorry_not_supported".to_owned()),
        status,
        started_at: now,
        paid_at: if status == IamportPaymentStatus::Paid {
            now
        } else {
            0
        },
        failed_at: 0,
        cancelled_at: 0,
        fail_reason: None,
        cancel_reason: None,
        cancel_history: Vec::new(),
    }
}

/// A card payment: paid, or failed with the decline reason of a magic card number.
pub fn card_payment(
    order: Order<'_>,
    card_number: &str,
    card_quota: u32,
    mask_number: bool,
    now: i64,
) -> IamportPayment {
    let decline = decline_reason(card_number);
    let status = if decline.is_some() {
        IamportPaymentStatus::Failed
    } else {
        IamportPaymentStatus::Paid
    };
    let mut base = base(IamportPayMethod::Card, order, status, now);
    if let Some(reason) = decline {
        base.failed_at = now;
        base.fail_reason = Some(reason.to_owned());
    }
    let (card_code, card_name) = card_company(card_number);
    IamportPayment::Card(IamportCardPayment {
        base,
        card_code: card_code.to_owned(),
        card_name: card_name.to_owned(),
        card_number: if mask_number {
            mask(card_number)
        } else {
            card_number.to_owned()
        },
        card_quota,
        apply_num: if decline.is_some() {
            String::new()
        } else {
            random_digits(8)
        },
    })
}

/// A virtual account waiting for its deposit.
pub fn vbank_payment(
    order: Order<'_>,
    vbank_code: &str,
    holder: &str,
    due: i64,
    now: i64,
) -> IamportPayment {
    IamportPayment::VBank(IamportVBankPayment {
        base: base(
            IamportPayMethod::Vbank,
            order,
            IamportPaymentStatus::Ready,
            now,
        ),
        vbank_code: vbank_code.to_owned(),
        vbank_name: bank_name(vbank_code).to_owned(),
        vbank_num: random_digits(14),
        vbank_holder: holder.to_owned(),
        vbank_date: due,
        vbank_issued_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_normalised_and_masked() {
        assert_eq!(
            card_number("4092023012345678").unwrap(),
            "4092-0230-1234-5678"
        );
        assert_eq!(
            card_number("4092-0230-1234-5678").unwrap(),
            "4092-0230-1234-5678"
        );
        assert!(card_number("4092-0230-1234").is_err());
        assert_eq!(mask("4092-0230-1234-5678"), "4092-02**-****-5678");
        assert_eq!(
            decline_reason("4000-0000-0000-0002"),
            Some("[4003] 카드사 승인 거절")
        );
        assert_eq!(decline_reason("4092-0230-1234-5678"), None);
    }
}
