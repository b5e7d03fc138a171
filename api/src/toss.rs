//! Wire types of the Toss Payments v1 API.
//!
//! Field names, nullability and formats follow the types of the npm SDK
//! `toss-payments-server-api@10`, which typed clients check every response against; the
//! real API's additions that the sandbox uses (the `/v1/payments/confirm` body, the billing
//! `issue` body, the webhook envelopes with `createdAt`, `DEPOSIT_CALLBACK`) are here too.
//!
//! Date-times keep their offset: the real API writes KST (`+09:00`) without fractions.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire::{amount, date, local_micros, offset_date_time};

/// The state of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TossPaymentStatus {
    /// Created, nothing done yet.
    Ready,
    /// The customer authenticated; waiting for the merchant's confirmation.
    InProgress,
    /// A virtual account was issued and waits for the deposit.
    WaitingForDeposit,
    /// Approved (or deposited).
    Done,
    /// Fully cancelled.
    Canceled,
    /// Partly cancelled; a balance remains.
    PartialCanceled,
    /// Approval failed.
    Aborted,
    /// Not completed in time (a virtual account past its due date, an abandoned window).
    Expired,
}

/// The payment's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TossPaymentType {
    /// An ordinary payment.
    Normal,
    /// A charge of a billing key.
    Billing,
    /// A BrandPay payment (real API).
    Brandpay,
}

/// The fields every payment has, whatever its method (the SDK's `ITossPayment.IBase`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossPaymentBase {
    /// The method in Korean: `카드`, `가상계좌`, `계좌이체`, `휴대폰`, `상품권`, …
    pub method: String,
    #[serde(rename = "type")]
    pub kind: TossPaymentType,
    pub status: TossPaymentStatus,
    pub m_id: String,
    pub version: String,
    pub payment_key: String,
    pub order_id: String,
    pub transaction_key: String,
    pub order_name: String,
    pub currency: String,
    #[serde(with = "amount")]
    pub total_amount: f64,
    /// What can still be cancelled.
    #[serde(with = "amount")]
    pub balance_amount: f64,
    #[serde(with = "amount")]
    pub supplied_amount: f64,
    #[serde(with = "amount")]
    pub tax_free_amount: f64,
    #[serde(with = "amount")]
    pub vat: f64,
    pub use_escrow: bool,
    pub culture_expense: bool,
    #[serde(with = "offset_date_time")]
    pub requested_at: DateTime<FixedOffset>,
    #[serde(with = "offset_date_time::option")]
    pub approved_at: Option<DateTime<FixedOffset>>,
    /// `null` until the first cancel.
    pub cancels: Option<Vec<TossPaymentCancel>>,
    pub cash_receipt: Option<TossCashReceiptSummary>,
    // The fields below are the 2022-11-16 object's that the SDK does not declare. They
    // default when absent, so older answers (and the SDK's own samples) still read.
    /// The key of the latest transaction (approval or cancel) of the payment.
    #[serde(default)]
    pub last_transaction_key: Option<String>,
    /// Where the customer sees the receipt.
    #[serde(default)]
    pub receipt: Option<TossUrl>,
    /// The payment window the payment was made in.
    #[serde(default)]
    pub checkout: Option<TossUrl>,
    /// Why the payment failed, when it did (`ABORTED`, `EXPIRED`).
    #[serde(default)]
    pub failure: Option<TossFailure>,
    /// Whether part of the payment can be cancelled.
    #[serde(default = "yes")]
    pub is_partial_cancelable: bool,
    /// The country the payment was made in (ISO 3166-1 alpha-2).
    #[serde(default = "korea")]
    pub country: String,
    /// The merchant's key-value pairs sent with the payment.
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Every cash receipt issued for the payment and its cancels.
    #[serde(default)]
    pub cash_receipts: Option<Vec<TossCashReceiptHistory>>,
    /// The part of the amount exempt from VAT and the culture charge (0 for most shops).
    #[serde(default, with = "amount")]
    pub tax_exemption_amount: f64,
}

fn yes() -> bool {
    true
}

fn korea() -> String {
    "KR".to_owned()
}

/// An object of one URL: a payment's `receipt` and `checkout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TossUrl {
    pub url: String,
}

/// Why a payment failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TossFailure {
    pub code: String,
    pub message: String,
}

/// One entry of a payment's `cashReceipts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossCashReceiptHistory {
    pub receipt_key: String,
    pub order_id: String,
    pub order_name: String,
    #[serde(rename = "type")]
    pub kind: TossCashReceiptType,
    pub issue_number: String,
    pub receipt_url: String,
    /// `CONFIRM` for an issue, `CANCEL` for a cancel.
    pub transaction_type: String,
    #[serde(with = "amount")]
    pub amount: f64,
    #[serde(with = "amount")]
    pub tax_free_amount: f64,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub issue_status: String,
    #[serde(with = "offset_date_time")]
    pub requested_at: DateTime<FixedOffset>,
}

/// One transaction of `GET /v1/transactions` (Toss's Transaction object): a payment's
/// approval, or one of its cancels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossTransaction {
    pub m_id: String,
    pub transaction_key: String,
    pub payment_key: String,
    pub order_id: String,
    /// The payment's method in Korean, as in the payment.
    pub method: String,
    pub customer_key: Option<String>,
    pub use_escrow: bool,
    pub receipt_url: Option<String>,
    /// `DONE` for an approval, `CANCELED` or `PARTIAL_CANCELED` for a cancel.
    pub status: TossPaymentStatus,
    #[serde(with = "offset_date_time")]
    pub transaction_at: DateTime<FixedOffset>,
    pub currency: String,
    /// What the transaction moved: the approved amount, or the cancelled amount.
    #[serde(with = "amount")]
    pub amount: f64,
}

/// A page of `GET /v1/cash-receipts`: a day's cash-receipt issues and cancels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossCashReceiptPage {
    /// Whether a page follows; ask for it with `cursor=lastCursor`.
    pub has_next: bool,
    /// The cursor of the page's last entry; `null` on an empty page.
    pub last_cursor: Option<u64>,
    pub data: Vec<TossCashReceiptHistory>,
}

/// The `method` of a card payment.
pub const METHOD_CARD: &str = "카드";
/// The `method` of a virtual-account payment.
pub const METHOD_VIRTUAL_ACCOUNT: &str = "가상계좌";
/// The `method` of a bank-transfer payment.
pub const METHOD_TRANSFER: &str = "계좌이체";
/// The `method` of a mobile-phone payment.
pub const METHOD_MOBILE_PHONE: &str = "휴대폰";
/// The `method` of a gift-certificate payment.
pub const METHOD_GIFT_CERTIFICATE: &str = "상품권";
/// The `method` of an easy-pay payment (토스페이, 네이버페이, 카카오페이, …).
pub const METHOD_EASY_PAY: &str = "간편결제";

/// A card payment (`method: "카드"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossCardPayment {
    pub card: TossCard,
    pub discount: Option<TossDiscount>,
    /// `토스결제`, `페이코`, `삼성페이` or `null`.
    pub easy_pay: Option<String>,
    #[serde(flatten)]
    pub base: TossPaymentBase,
}

/// The card part of a card payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossCard {
    pub company: String,
    /// 16 digits in the SDK; the real API masks some with `*`.
    pub number: String,
    pub installment_plan_months: u32,
    pub is_interest_free: bool,
    pub approve_no: String,
    pub use_card_point: bool,
    /// `신용`, `체크`, `기프트` (real API also `미확인`).
    pub card_type: String,
    /// `개인`, `법인` (real API also `미확인`).
    pub owner_type: String,
    pub acquire_status: TossAcquireStatus,
    pub receipt_url: String,
    // The 2022-11-16 object's fields that the SDK does not declare.
    /// The amount paid by card.
    #[serde(default, with = "amount")]
    pub amount: f64,
    /// The two-character code of the issuing card company.
    #[serde(default)]
    pub issuer_code: String,
    /// The code of the acquiring card company.
    #[serde(default)]
    pub acquirer_code: Option<String>,
    /// Who pays the interest of a free instalment plan (`BUYER`, `CARD_COMPANY`,
    /// `MERCHANT`), `null` otherwise.
    #[serde(default)]
    pub interest_payer: Option<String>,
}

/// Where a card payment stands in the acquiring process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TossAcquireStatus {
    Ready,
    Requested,
    Completed,
    CancelRequested,
    Canceled,
}

/// A card discount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TossDiscount {
    #[serde(with = "amount")]
    pub amount: f64,
}

/// A virtual-account payment (`method: "가상계좌"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossVirtualAccountPayment {
    /// The value Toss repeats in `DEPOSIT_CALLBACK`, so the merchant can verify it.
    pub secret: String,
    pub virtual_account: TossVirtualAccount,
    #[serde(flatten)]
    pub base: TossPaymentBase,
}

/// The account part of a virtual-account payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossVirtualAccount {
    pub account_number: String,
    /// `일반` or `고정`.
    pub account_type: String,
    pub bank: String,
    pub customer_name: String,
    /// The deposit deadline's date.
    #[serde(with = "date")]
    pub due_date: NaiveDate,
    pub expired: bool,
    pub settlement_status: TossSettlementStatus,
    pub refund_status: TossRefundStatus,
    /// The bank's two-digit code (`88` for 신한): the 2022-11-16 object names the bank so,
    /// where the SDK has `bank` only.
    #[serde(default)]
    pub bank_code: Option<String>,
}

/// Whether the money has been settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TossSettlementStatus {
    Incompleted,
    Completed,
}

/// Where the refund of a cancelled virtual-account payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TossRefundStatus {
    None,
    Failed,
    Pending,
    PartialFailed,
    Completed,
}

/// An easy-pay payment (`method: "간편결제"`): paid through a provider's wallet, by a card
/// registered there (`card`, whose `amount` is what the card paid) or by the wallet's
/// balance (`easyPay.amount`), less the provider's points and coupons
/// (`easyPay.discountAmount`). The SDK models no such method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossEasyPayPayment {
    /// The card registered in the wallet, when the customer paid by card; `null` otherwise.
    #[serde(default)]
    pub card: Option<TossCard>,
    #[serde(default)]
    pub easy_pay: Option<TossEasyPay>,
    #[serde(flatten)]
    pub base: TossPaymentBase,
}

/// The easy-pay part of a payment (the real API's `easyPay` object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossEasyPay {
    /// The provider's name as Toss writes it: `토스페이`, `네이버페이`, `카카오페이`, …
    pub provider: String,
    /// What the wallet's balance (a linked account, prepaid money) paid.
    #[serde(with = "amount")]
    pub amount: f64,
    /// What the provider's points and coupons took off at once.
    #[serde(with = "amount")]
    pub discount_amount: f64,
}

/// A bank-transfer payment (`method: "계좌이체"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TossTransferPayment {
    pub transfer: TossTransfer,
    #[serde(flatten)]
    pub base: TossPaymentBase,
}

/// The transfer part of a bank-transfer payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossTransfer {
    pub bank: String,
    pub settlement_status: TossSettlementStatus,
}

/// A mobile-phone payment (`method: "휴대폰"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossMobilePhonePayment {
    pub mobile_phone: TossMobilePhone,
    #[serde(flatten)]
    pub base: TossPaymentBase,
}

/// The phone part of a mobile-phone payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossMobilePhone {
    pub carrier: String,
    pub customer_mobile_phone: String,
    pub settlement_status: TossSettlementStatus,
}

/// A gift-certificate payment (`method: "상품권"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossGiftCertificatePayment {
    pub gift_certificate: TossGiftCertificate,
    #[serde(flatten)]
    pub base: TossPaymentBase,
}

/// The certificate part of a gift-certificate payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossGiftCertificate {
    pub approve_no: String,
    /// `COMPLETE` or `INCOMPLETE` (no "D", unlike the other settlement statuses).
    pub settlement_status: TossGiftSettlementStatus,
}

/// The settlement status of a gift certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TossGiftSettlementStatus {
    Complete,
    Incomplete,
}

/// A payment, one variant per method (the SDK's `ITossPayment` union).
///
/// Written with every method's object present, `null` for the methods the payment was not
/// made by, as Toss's answers have them (the reference's Payment 객체 samples: a card
/// payment has `"virtualAccount": null`, `"transfer": null`, …).
#[derive(Debug, Clone, PartialEq)]
pub enum TossPayment {
    Card(TossCardPayment),
    VirtualAccount(TossVirtualAccountPayment),
    Transfer(TossTransferPayment),
    MobilePhone(TossMobilePhonePayment),
    GiftCertificate(TossGiftCertificatePayment),
    /// An easy-pay payment, which the SDK does not model.
    EasyPay(TossEasyPayPayment),
    /// A method modelled here by its common fields only (`문화상품권`, …).
    Other(TossPaymentBase),
}

/// The Payment object's fields that only some methods fill; the others have them `null`.
pub const METHOD_FIELDS: [&str; 8] = [
    "card",
    "virtualAccount",
    "transfer",
    "mobilePhone",
    "giftCertificate",
    "easyPay",
    "discount",
    "secret",
];

/// `null` for each of [`METHOD_FIELDS`] but the ones a variant writes itself, written
/// into the object it is flattened into.
struct Nulls(&'static [&'static str]);

impl Serialize for Nulls {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for field in METHOD_FIELDS.iter().filter(|f| !self.0.contains(f)) {
            map.serialize_entry(field, &())?;
        }
        map.end()
    }
}

/// A variant's own fields, then the other methods' as `null`: written in one pass, in the
/// variant's field order, without an intermediate JSON tree.
#[derive(Serialize)]
struct WithNulls<'a, T> {
    #[serde(flatten)]
    payment: &'a T,
    #[serde(flatten)]
    nulls: Nulls,
}

impl Serialize for TossPayment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn with<T: Serialize, S: serde::Serializer>(
            payment: &T,
            own: &'static [&'static str],
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            WithNulls {
                payment,
                nulls: Nulls(own),
            }
            .serialize(serializer)
        }
        match self {
            Self::Card(p) => with(p, &["card", "discount", "easyPay"], serializer),
            Self::VirtualAccount(p) => with(p, &["virtualAccount", "secret"], serializer),
            Self::Transfer(p) => with(p, &["transfer"], serializer),
            Self::MobilePhone(p) => with(p, &["mobilePhone"], serializer),
            Self::GiftCertificate(p) => with(p, &["giftCertificate"], serializer),
            Self::EasyPay(p) => with(p, &["card", "easyPay"], serializer),
            Self::Other(base) => with(base, &[], serializer),
        }
    }
}

// By hand: an `anyOf` of the variants' named schemas. Generic envelopes and containers
// take their arguments' schemas through the public `PartialSchema`.
impl utoipa::PartialSchema for TossPayment {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::wire::any_of(
            "A payment, by `method`: card, virtual account, transfer, mobile phone, gift \
             certificate, easy pay, or another method with the common fields only.",
            &[
                TossCardPayment::name(),
                TossVirtualAccountPayment::name(),
                TossTransferPayment::name(),
                TossMobilePhonePayment::name(),
                TossGiftCertificatePayment::name(),
                TossEasyPayPayment::name(),
                TossPaymentBase::name(),
            ],
        )
    }
}

impl ToSchema for TossPayment {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        crate::wire::collect::<TossCardPayment>(schemas);
        crate::wire::collect::<TossVirtualAccountPayment>(schemas);
        crate::wire::collect::<TossTransferPayment>(schemas);
        crate::wire::collect::<TossMobilePhonePayment>(schemas);
        crate::wire::collect::<TossGiftCertificatePayment>(schemas);
        crate::wire::collect::<TossEasyPayPayment>(schemas);
        crate::wire::collect::<TossPaymentBase>(schemas);
    }
}

impl TossPayment {
    /// The fields common to every method.
    pub fn base(&self) -> &TossPaymentBase {
        match self {
            Self::Card(p) => &p.base,
            Self::VirtualAccount(p) => &p.base,
            Self::Transfer(p) => &p.base,
            Self::MobilePhone(p) => &p.base,
            Self::GiftCertificate(p) => &p.base,
            Self::EasyPay(p) => &p.base,
            Self::Other(base) => base,
        }
    }

    /// The fields common to every method, mutably.
    pub fn base_mut(&mut self) -> &mut TossPaymentBase {
        match self {
            Self::Card(p) => &mut p.base,
            Self::VirtualAccount(p) => &mut p.base,
            Self::Transfer(p) => &mut p.base,
            Self::MobilePhone(p) => &mut p.base,
            Self::GiftCertificate(p) => &mut p.base,
            Self::EasyPay(p) => &mut p.base,
            Self::Other(base) => base,
        }
    }

    /// Reads a payment from its JSON text: what every read of a stored payment does, so it
    /// avoids the `serde_json::Value` tree that the generic [`Deserialize`] builds to
    /// dispatch on `method` (a map of every field, then each variant's flattened fields
    /// buffered again), which cost a read more than anything else it did. Two direct
    /// passes instead: the common fields, then the methods' objects. Whatever they cannot
    /// read as the generic reading would (a field twice, an object of another method that
    /// does not parse, a required one missing) is read by the generic [`Deserialize`], so
    /// the outcome and its errors are the same.
    pub fn from_slice(json: &[u8]) -> serde_json::Result<Self> {
        crate::wire::read_or_generic(json, Self::read_directly)
    }

    /// The payment of `json`, if the direct passes read it; `None` otherwise.
    fn read_directly(json: &[u8]) -> Option<Self> {
        /// Each method's own fields; the rest of the object is skipped.
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Methods {
            card: Option<TossCard>,
            discount: Option<TossDiscount>,
            /// A card payment's provider name, or an easy pay's object: kept as it came.
            easy_pay: Option<serde_json::Value>,
            secret: Option<String>,
            virtual_account: Option<TossVirtualAccount>,
            transfer: Option<TossTransfer>,
            mobile_phone: Option<TossMobilePhone>,
            gift_certificate: Option<TossGiftCertificate>,
        }
        let base: TossPaymentBase = serde_json::from_slice(json).ok()?;
        let methods: Methods = serde_json::from_slice(json).ok()?;
        Some(match base.method.as_str() {
            METHOD_CARD => Self::Card(TossCardPayment {
                card: methods.card?,
                discount: methods.discount,
                easy_pay: match methods.easy_pay {
                    None => None,
                    Some(serde_json::Value::String(name)) => Some(name),
                    Some(_) => return None,
                },
                base,
            }),
            METHOD_VIRTUAL_ACCOUNT => Self::VirtualAccount(TossVirtualAccountPayment {
                secret: methods.secret?,
                virtual_account: methods.virtual_account?,
                base,
            }),
            METHOD_TRANSFER => Self::Transfer(TossTransferPayment {
                transfer: methods.transfer?,
                base,
            }),
            METHOD_MOBILE_PHONE => Self::MobilePhone(TossMobilePhonePayment {
                mobile_phone: methods.mobile_phone?,
                base,
            }),
            METHOD_GIFT_CERTIFICATE => Self::GiftCertificate(TossGiftCertificatePayment {
                gift_certificate: methods.gift_certificate?,
                base,
            }),
            METHOD_EASY_PAY => Self::EasyPay(TossEasyPayPayment {
                card: methods.card,
                easy_pay: match methods.easy_pay {
                    None => None,
                    Some(value) => Some(serde_json::from_value(value).ok()?),
                },
                base,
            }),
            _ => Self::Other(base),
        })
    }
}

impl<'de> Deserialize<'de> for TossPayment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Dispatch on `method` ourselves, so a card payment missing its `card` is an error
        // rather than a silent `Other`.
        let value = serde_json::Value::deserialize(deserializer)?;
        let method = value
            .get("method")
            .ok_or_else(|| de::Error::missing_field("method"))?
            .as_str()
            .ok_or_else(|| de::Error::custom("method must be a string"))?;
        let result = match method {
            METHOD_CARD => serde_json::from_value(value).map(Self::Card),
            METHOD_VIRTUAL_ACCOUNT => serde_json::from_value(value).map(Self::VirtualAccount),
            METHOD_TRANSFER => serde_json::from_value(value).map(Self::Transfer),
            METHOD_MOBILE_PHONE => serde_json::from_value(value).map(Self::MobilePhone),
            METHOD_GIFT_CERTIFICATE => serde_json::from_value(value).map(Self::GiftCertificate),
            METHOD_EASY_PAY => serde_json::from_value(value).map(Self::EasyPay),
            _ => serde_json::from_value(value).map(Self::Other),
        };
        result.map_err(de::Error::custom)
    }
}

/// One entry of a payment's `cancels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossPaymentCancel {
    #[serde(with = "amount")]
    pub cancel_amount: f64,
    pub cancel_reason: String,
    #[serde(with = "amount")]
    pub tax_free_amount: f64,
    #[serde(with = "amount")]
    pub tax_amount: f64,
    /// What remained cancellable after this cancel.
    #[serde(with = "amount")]
    pub refundable_amount: f64,
    #[serde(with = "offset_date_time")]
    pub canceled_at: DateTime<FixedOffset>,
    /// The real API's key of the cancel transaction (absent from the SDK type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_key: Option<String>,
    /// The real API's state of the cancel: `DONE` once it went through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_status: Option<String>,
    /// The real API's key of the cancel's receipt; `null` when no cash receipt was
    /// cancelled with it.
    #[serde(default)]
    pub receipt_key: Option<String>,
    /// The part of the cancel exempt from VAT and the culture charge (2022-11-16 object).
    #[serde(default, with = "amount")]
    pub tax_exemption_amount: f64,
    /// What the cancel gave back of an easy pay's points and coupons (2022-11-16 object).
    #[serde(default, with = "amount")]
    pub easy_pay_discount_amount: f64,
    /// The merchant's id of a cancel request, `null` unless one was given (2022-11-16
    /// object).
    #[serde(default)]
    pub cancel_request_id: Option<String>,
}

/// The body of `POST /v1/payments/{paymentKey}/cancel`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossPaymentCancelCreate {
    /// The SDK repeats the path's key in the body; the real API does not need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_key: Option<String>,
    pub cancel_reason: String,
    /// Absent: cancel the whole balance.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub cancel_amount: Option<f64>,
    /// Where to refund a virtual-account payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_receive_account: Option<TossRefundReceiveAccount>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub tax_amount: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub tax_free_amount: Option<f64>,
    /// The balance the caller believes is cancellable; refused when it differs.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub refundable_amount: Option<f64>,
}

/// A refund account for a cancelled virtual-account payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossRefundReceiveAccount {
    pub bank: String,
    /// Digits only, at most 20.
    pub account_number: String,
    pub holder_name: String,
}

/// The body of the legacy approval `POST /v1/payments/{paymentKey}` (SDK `IApproval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossPaymentApproval {
    pub order_id: String,
    #[serde(with = "amount")]
    pub amount: f64,
}

/// The body of the real API's approval `POST /v1/payments/confirm`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossPaymentConfirm {
    pub payment_key: String,
    pub order_id: String,
    #[serde(with = "amount")]
    pub amount: f64,
}

/// The body of `POST /v1/payments/key-in`: pay with card data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossKeyInCreate {
    /// The SDK sends `"card"`; the real API does not need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// 16 digits.
    pub card_number: String,
    /// `YY`.
    pub card_expiration_year: String,
    /// `MM`.
    pub card_expiration_month: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_installment_plan: Option<u32>,
    #[serde(with = "amount")]
    pub amount: f64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub tax_free_amount: Option<f64>,
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_name: Option<String>,
    /// `YYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_birthday: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vbv: Option<TossVbv>,
    /// Fake-only: `false` leaves the payment `IN_PROGRESS` until it is confirmed.
    #[serde(
        default,
        rename = "__approved",
        skip_serializing_if = "Option::is_none"
    )]
    pub approved: Option<bool>,
}

/// 3-D Secure data of a key-in payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TossVbv {
    pub cavv: String,
    pub xid: String,
    pub eci: String,
}

/// The body of `POST /v1/virtual-accounts`: issue a virtual account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossVirtualAccountCreate {
    /// The SDK sends `"virtual-account"`; the real API does not need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub order_id: String,
    pub order_name: String,
    pub bank: String,
    pub customer_name: String,
    #[serde(with = "amount")]
    pub amount: f64,
    /// Real API: hours until the account expires (the due date is derived from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_hours: Option<u32>,
    /// Real API: an explicit deadline.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "offset_date_time::option"
    )]
    pub due_date: Option<DateTime<FixedOffset>>,
    /// Real API: an escrow payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_escrow: Option<bool>,
    /// Fake-only: `false` keeps the original fake's unapproved flow.
    #[serde(
        default,
        rename = "__approved",
        skip_serializing_if = "Option::is_none"
    )]
    pub approved: Option<bool>,
}

/// A billing key: a card stored for later charges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossBilling {
    pub m_id: String,
    pub customer_key: String,
    pub billing_key: String,
    /// Always `카드`.
    pub method: String,
    pub card_company: String,
    pub card_number: String,
    #[serde(with = "offset_date_time")]
    pub authenticated_at: DateTime<FixedOffset>,
    /// The card, as the 2022-11-16 Billing object describes it (the SDK has
    /// `cardCompany` and `cardNumber` only).
    #[serde(default)]
    pub card: Option<TossBillingCard>,
}

/// The card of a billing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossBillingCard {
    /// The two-character code of the issuing card company.
    pub issuer_code: String,
    /// The code of the acquiring card company.
    pub acquirer_code: String,
    pub number: String,
    /// `신용`, `체크`, `기프트` or `미확인`.
    pub card_type: String,
    /// `개인`, `법인` or `미확인`.
    pub owner_type: String,
}

/// The body of `POST /v1/billing/authorizations/card`: register card data as a billing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossBillingCreate {
    pub customer_key: String,
    pub card_number: String,
    pub card_expiration_year: String,
    pub card_expiration_month: String,
    /// The SDK requires it; the real API takes it only from some merchants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_password: Option<String>,
    /// The real API's owner check: a birth date `YYMMDD`, or a 10-digit business number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_identity_number: Option<String>,
    /// The SDK's name for the owner check (`YYMMDD`), accepted where the real one is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_birthday: Option<String>,
    /// The SDK's spelling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vbv: Option<TossVbv>,
}

/// A customer key alone: the body of the legacy lookup
/// `POST /v1/billing/authorizations/{billingKey}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossCustomerKey {
    pub customer_key: String,
}

/// The body of `POST /v1/billing/authorizations/issue`: turn the authKey of the
/// card-registration window into a billing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossBillingIssue {
    pub auth_key: String,
    pub customer_key: String,
}

/// The body of `POST /v1/billing/{billingKey}`: charge a billing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossBillingCharge {
    /// The SDK sends `"billing"`; the real API does not need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The SDK repeats the path's key in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_key: Option<String>,
    pub customer_key: String,
    pub order_id: String,
    #[serde(with = "amount")]
    pub amount: f64,
    /// Required by the real API, absent from the SDK type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_name: Option<String>,
}

/// The purpose of a cash receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum TossCashReceiptType {
    /// Income deduction (for a person).
    #[serde(rename = "소득공제")]
    IncomeDeduction,
    /// Proof of expense (for a business).
    #[serde(rename = "지출증빙")]
    ProofOfExpense,
}

/// A cash receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossCashReceipt {
    pub receipt_key: String,
    #[serde(rename = "type")]
    pub kind: TossCashReceiptType,
    pub order_id: String,
    pub order_name: String,
    pub approval_number: String,
    #[serde(with = "offset_date_time")]
    pub approved_at: DateTime<FixedOffset>,
    #[serde(with = "offset_date_time::option")]
    pub canceled_at: Option<DateTime<FixedOffset>>,
    pub receipt_url: String,
}

/// The cash receipt as summarised inside a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossCashReceiptSummary {
    #[serde(rename = "type")]
    pub kind: TossCashReceiptType,
    #[serde(with = "amount")]
    pub amount: f64,
    #[serde(with = "amount")]
    pub tax_free_amount: f64,
    pub issue_number: String,
    pub receipt_url: String,
}

/// The body of `POST /v1/cash-receipts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossCashReceiptCreate {
    #[serde(rename = "type")]
    pub kind: TossCashReceiptType,
    pub payment_key: String,
    pub order_id: String,
    pub order_name: String,
    pub registration_number: String,
    #[serde(with = "amount")]
    pub amount: f64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub tax_free_amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_number: Option<String>,
}

/// The body of `POST /v1/cash-receipts/{receiptKey}/cancel`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct TossCashReceiptCancel {
    /// Absent: cancel the whole receipt.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub amount: Option<f64>,
}

/// A Toss error body: `{code, message}` with a non-2xx status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TossError {
    /// A stable code such as `NOT_FOUND_PAYMENT` or `UNAUTHORIZED_KEY`.
    pub code: String,
    pub message: String,
}

/// What Toss posts to a merchant's webhook URL.
///
/// `PAYMENT_STATUS_CHANGED` names itself in `eventType`; a `DEPOSIT_CALLBACK` body is flat
/// and carries no `eventType` (Toss tells the two apart by the URL each is registered at),
/// so a body without `eventType` but with a `secret` is read as a deposit callback.
#[derive(Debug, Clone, PartialEq)]
pub enum TossWebhook {
    /// A payment changed state; `data` is the whole payment (boxed: it is large).
    PaymentStatusChanged(Box<TossPaymentStatusChanged>),
    /// A virtual account's payment changed: issued, paid in, its deposit taken back, or
    /// cancelled.
    DepositCallback(TossDepositCallback),
}

/// The `eventType` of a payment's status change.
pub const EVENT_PAYMENT_STATUS_CHANGED: &str = "PAYMENT_STATUS_CHANGED";
/// The event name of a virtual-account deposit callback.
pub const EVENT_DEPOSIT_CALLBACK: &str = "DEPOSIT_CALLBACK";

impl Serialize for TossWebhook {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::PaymentStatusChanged(event) => {
                #[derive(Serialize)]
                struct Tagged<'a> {
                    #[serde(rename = "eventType")]
                    event_type: &'static str,
                    #[serde(flatten)]
                    event: &'a TossPaymentStatusChanged,
                }
                Tagged {
                    event_type: EVENT_PAYMENT_STATUS_CHANGED,
                    event: event.as_ref(),
                }
                .serialize(serializer)
            }
            Self::DepositCallback(event) => event.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for TossWebhook {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let event_type = match value.get("eventType") {
            None => None,
            Some(serde_json::Value::String(name)) => Some(name.as_str()),
            Some(_) => return Err(de::Error::custom("eventType must be a string")),
        };
        let result = match event_type {
            Some(EVENT_PAYMENT_STATUS_CHANGED) => {
                serde_json::from_value(value).map(Self::PaymentStatusChanged)
            }
            Some(EVENT_DEPOSIT_CALLBACK) => {
                serde_json::from_value(value).map(Self::DepositCallback)
            }
            None if value.get("secret").is_some() => {
                serde_json::from_value(value).map(Self::DepositCallback)
            }
            None => return Err(de::Error::missing_field("eventType")),
            Some(other) => {
                return Err(de::Error::custom(format!(
                    "unknown Toss webhook eventType {other:?}"
                )));
            }
        };
        result.map_err(de::Error::custom)
    }
}

/// The JSON body of a `PAYMENT_STATUS_CHANGED` event around a payment already written as
/// JSON (`payment_json`): the bytes [`TossWebhook::PaymentStatusChanged`] serialises to, for
/// a sender that writes the payment once for its answer and for its webhook.
pub fn payment_status_changed_json(created_at: NaiveDateTime, payment_json: &[u8]) -> Vec<u8> {
    #[derive(Serialize)]
    struct At(#[serde(with = "local_micros")] NaiveDateTime);
    let mut body = Vec::with_capacity(payment_json.len() + 80);
    body.extend_from_slice(br#"{"eventType":""#);
    body.extend_from_slice(EVENT_PAYMENT_STATUS_CHANGED.as_bytes());
    body.extend_from_slice(br#"","createdAt":"#);
    // A date-time always serialises (it is a string).
    let _ = serde_json::to_writer(&mut body, &At(created_at));
    body.extend_from_slice(br#","data":"#);
    body.extend_from_slice(payment_json);
    body.push(b'}');
    body
}

/// The body of a `PAYMENT_STATUS_CHANGED` event (without its `eventType`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossPaymentStatusChanged {
    /// KST without a zone, microseconds.
    #[serde(with = "local_micros")]
    pub created_at: NaiveDateTime,
    pub data: TossPayment,
}

/// The body of a `DEPOSIT_CALLBACK` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossDepositCallback {
    /// KST without a zone, microseconds.
    #[serde(with = "local_micros")]
    pub created_at: NaiveDateTime,
    /// The virtual account's `secret`: proof that the event comes from Toss.
    pub secret: String,
    /// The payment's status after the change: `WAITING_FOR_DEPOSIT` when issued or when a
    /// deposit is taken back, `DONE` on a deposit, `CANCELED` or `PARTIAL_CANCELED` on a
    /// cancel.
    pub status: TossPaymentStatus,
    pub transaction_key: String,
    pub order_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::direct_reading::{falls_back_to_generic, reads_as_generic};

    /// Every method's payment as the PG writes it, and as this crate writes it back (every
    /// other method's field `null`, which is how the server stores it).
    const PAYMENTS: [&str; 7] = [
        include_str!("../tests/fixtures/toss/payment.card.json"),
        include_str!("../tests/fixtures/toss/payment.card.in-progress.json"),
        include_str!("../tests/fixtures/toss/payment.virtual-account.json"),
        include_str!("../tests/fixtures/toss/payment.transfer.json"),
        include_str!("../tests/fixtures/toss/payment.mobile-phone.json"),
        include_str!("../tests/fixtures/toss/payment.gift-certificate.json"),
        include_str!("../tests/fixtures/toss/payment.easy-pay.json"),
    ];

    #[test]
    fn the_direct_reading_reads_every_method_as_the_generic_one_does() {
        // A method modelled by its common fields only.
        let other = PAYMENTS[0].replacen("\"카드\"", "\"문화상품권\"", 1);
        let payments: Vec<&str> = PAYMENTS.into_iter().chain([other.as_str()]).collect();
        let methods = reads_as_generic(&payments, TossPayment::read_directly);
        assert_eq!(methods, 7, "every variant is read");
    }

    #[test]
    fn what_the_direct_reading_cannot_read_is_read_as_the_generic_one_does() {
        let edit =
            |json: &str, change: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
                let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
                change(value.as_object_mut().unwrap());
                value.to_string()
            };
        let card = PAYMENTS[0];
        let cases = [
            // A required method object missing: an error naming it.
            edit(card, &|o| {
                o.remove("card");
            }),
            // Another method's object that does not parse: ignored, as the generic reading
            // ignores every field its variant does not have.
            edit(card, &|o| {
                o.insert("virtualAccount".into(), serde_json::json!({"bank": 1}));
            }),
            // A card payment's `easyPay` is a provider's name, not an object.
            edit(card, &|o| {
                o.insert(
                    "easyPay".into(),
                    serde_json::json!({"provider": "토스페이"}),
                );
            }),
            edit(PAYMENTS[6], &|o| {
                o.insert("easyPay".into(), serde_json::json!("토스페이"));
            }),
            edit(card, &|o| {
                o.remove("method");
            }),
            edit(card, &|o| {
                o.insert("method".into(), serde_json::json!(1));
            }),
            // A field written twice: the generic reading keeps the last.
            card.replacen(
                "\"orderName\":",
                "\"orderName\": \"first\", \"orderName\":",
                1,
            ),
        ];
        falls_back_to_generic(&cases, TossPayment::from_slice);
        assert!(TossPayment::read_directly(cases[6].as_bytes()).is_none());
        assert!(TossPayment::from_slice(cases[0].as_bytes()).is_err());
        assert!(TossPayment::from_slice(cases[1].as_bytes()).is_ok());
    }

    #[test]
    fn a_status_change_around_a_written_payment_is_the_event_serialised() {
        let created_at = NaiveDate::from_ymd_opt(2026, 12, 2)
            .unwrap()
            .and_hms_micro_opt(9, 30, 1, 250)
            .unwrap();
        for text in PAYMENTS {
            let payment: TossPayment = serde_json::from_str(text).unwrap();
            let whole = serde_json::to_vec(&TossWebhook::PaymentStatusChanged(Box::new(
                TossPaymentStatusChanged {
                    created_at,
                    data: payment.clone(),
                },
            )))
            .unwrap();
            let around =
                payment_status_changed_json(created_at, &serde_json::to_vec(&payment).unwrap());
            assert_eq!(
                String::from_utf8(around).unwrap(),
                String::from_utf8(whole).unwrap()
            );
        }
    }
}
