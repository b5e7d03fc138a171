//! Wire types of the I'mport (PortOne V1) REST API.
//!
//! Field names, nullability and number formats follow the types of the npm SDK
//! `iamport-server-api@10`, which typed clients check every response against; where the real
//! API sends more (a `cancellation_id` on cancel entries and webhooks, an `enable_webhook`
//! switch on cancels), the extra fields are optional so both shapes are read.
//!
//! Timestamps are unix seconds, `0` meaning "not happened" (never `null`), except
//! `vbank_issued_at`, which the SDK documents in milliseconds.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire::{amount, empty_as_none, null_as_default, unix_seconds};

/// The envelope of every I'mport answer: `{code, message, response}`.
///
/// Success is `code: 0` with the payload in `response`; an error has a non-zero code, a
/// message and `response: null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportResponse<T> {
    /// `0` on success.
    pub code: i64,
    /// A human-readable message; the real API may send `null`, read as empty.
    #[serde(deserialize_with = "null_as_default", default)]
    pub message: String,
    /// The payload; `null` on errors.
    pub response: Option<T>,
}

impl<T> IamportResponse<T> {
    /// A successful answer, as the fakes send it.
    pub fn success(response: T) -> Self {
        Self {
            code: 0,
            message: "success".to_owned(),
            response: Some(response),
        }
    }
}

impl IamportResponse<()> {
    /// An error answer: `response` is `null`.
    pub fn error(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            response: None,
        }
    }
}

/// The credentials of `POST /users/getToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IamportUserAccessor {
    /// The REST API key.
    pub imp_key: String,
    /// The REST API secret.
    pub imp_secret: String,
}

/// An access token (`response` of `POST /users/getToken`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IamportUser {
    /// The token, sent back raw in the `Authorization` header.
    pub access_token: String,
    /// The server's clock when the token was issued, unix seconds.
    #[serde(with = "unix_seconds")]
    pub now: i64,
    /// When the token stops working, unix seconds.
    #[serde(with = "unix_seconds")]
    pub expired_at: i64,
}

/// How a payment was paid (`pay_method`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IamportPayMethod {
    Card,
    Trans,
    Vbank,
    Phone,
    Samsung,
    Kpay,
    Kakaopay,
    Payco,
    Lpay,
    Ssgpay,
    Tosspay,
    Cultureland,
    Smartculture,
    Happymoney,
    Booknlife,
    Point,
    /// A method the SDK does not list but the real API sends (`naverpay`, `applepay`, …).
    #[serde(untagged)]
    Other(String),
}

/// The state of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IamportPaymentStatus {
    /// Not paid yet: a virtual account waiting for its deposit.
    Ready,
    /// Paid.
    Paid,
    /// The payment failed.
    Failed,
    /// Cancelled (fully, or partly: the real API also reports partial cancels this way).
    Cancelled,
}

/// The currency of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum IamportCurrency {
    KRW,
    USD,
    EUR,
    JPY,
    /// Another ISO code; the real API's currency is a free string.
    #[serde(untagged)]
    Other(String),
}

/// The fields every payment has, whatever its method (the SDK's `IIamportPayment.IBase`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportPaymentBase {
    pub pay_method: IamportPayMethod,
    /// I'mport's id of the payment (`imp_…`).
    pub imp_uid: String,
    /// The merchant's order id.
    pub merchant_uid: String,
    pub name: Option<String>,
    /// The amount paid (or to be paid, for a waiting virtual account).
    #[serde(with = "amount")]
    pub amount: f64,
    /// The total refunded so far.
    #[serde(with = "amount")]
    pub cancel_amount: f64,
    pub currency: IamportCurrency,
    pub receipt_url: String,
    /// Whether a cash receipt was issued (the SDK's spelling).
    pub cash_receipt_issue: bool,
    pub channel: String,
    pub pg_provider: String,
    pub emb_pg_provider: Option<String>,
    pub pg_id: String,
    pub pg_tid: String,
    /// Whether the payment was made on a test channel: a required field of the V1 schema's
    /// `PaymentAnnotation` that the SDK does not declare, so it is read when present. The
    /// fakes always send `true`: every payment they make is a test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool)]
    pub sandbox: Option<bool>,
    pub escrow: bool,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_tel: Option<String>,
    pub buyer_addr: Option<String>,
    pub buyer_postcode: Option<String>,
    pub customer_uid: Option<String>,
    pub customer_uid_usage: Option<String>,
    pub custom_data: Option<String>,
    pub user_agent: Option<String>,
    pub status: IamportPaymentStatus,
    #[serde(with = "unix_seconds")]
    pub started_at: i64,
    #[serde(with = "unix_seconds")]
    pub paid_at: i64,
    #[serde(with = "unix_seconds")]
    pub failed_at: i64,
    #[serde(with = "unix_seconds")]
    pub cancelled_at: i64,
    pub fail_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub cancel_history: Vec<IamportPaymentCancel>,
}

/// A card payment (`pay_method` `card` or `samsung`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportCardPayment {
    #[serde(flatten)]
    pub base: IamportPaymentBase,
    pub card_code: String,
    pub card_name: String,
    /// `dddd-dddd-dddd-dddd`; the real API masks some digits with `*`.
    pub card_number: String,
    /// Instalment months, `0` for a lump sum.
    pub card_quota: u32,
    /// The card company's approval number.
    pub apply_num: String,
}

/// A bank-transfer payment (`pay_method` `trans`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportTransferPayment {
    #[serde(flatten)]
    pub base: IamportPaymentBase,
    pub bank_code: String,
    pub bank_name: String,
}

/// A virtual-account payment (`pay_method` `vbank`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportVBankPayment {
    #[serde(flatten)]
    pub base: IamportPaymentBase,
    pub vbank_code: String,
    pub vbank_name: String,
    pub vbank_num: String,
    pub vbank_holder: String,
    /// The deposit deadline, unix seconds.
    #[serde(with = "unix_seconds")]
    pub vbank_date: i64,
    /// When the account was issued.
    #[serde(with = "unix_seconds")]
    pub vbank_issued_at: i64,
}

/// A payment, one variant per `pay_method` family (the SDK's `IIamportPayment` union).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum IamportPayment {
    /// `card` and `samsung`.
    Card(IamportCardPayment),
    /// `trans`.
    Transfer(IamportTransferPayment),
    /// `vbank`.
    VBank(IamportVBankPayment),
    /// Every other method, which carries only the common fields.
    Other(IamportPaymentBase),
}

// By hand: an `anyOf` of the variants' named schemas. Generic envelopes and containers
// take their arguments' schemas through the public `PartialSchema`.
impl utoipa::PartialSchema for IamportPayment {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::wire::any_of(
            "A payment, by `pay_method`: `card` and `samsung`, `trans`, `vbank`, or another \
             method with the common fields only.",
            &[
                IamportCardPayment::name(),
                IamportTransferPayment::name(),
                IamportVBankPayment::name(),
                IamportPaymentBase::name(),
            ],
        )
    }
}

impl ToSchema for IamportPayment {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        crate::wire::collect::<IamportCardPayment>(schemas);
        crate::wire::collect::<IamportTransferPayment>(schemas);
        crate::wire::collect::<IamportVBankPayment>(schemas);
        crate::wire::collect::<IamportPaymentBase>(schemas);
    }
}

impl IamportPayment {
    /// The fields common to every method.
    pub fn base(&self) -> &IamportPaymentBase {
        match self {
            Self::Card(p) => &p.base,
            Self::Transfer(p) => &p.base,
            Self::VBank(p) => &p.base,
            Self::Other(base) => base,
        }
    }

    /// The fields common to every method, mutably.
    pub fn base_mut(&mut self) -> &mut IamportPaymentBase {
        match self {
            Self::Card(p) => &mut p.base,
            Self::Transfer(p) => &mut p.base,
            Self::VBank(p) => &mut p.base,
            Self::Other(base) => base,
        }
    }

    /// Reads a payment from its JSON text: what every read of a stored payment does, so it
    /// avoids the `serde_json::Value` tree that the generic [`Deserialize`] builds to
    /// dispatch on `pay_method` (then the variant's flattened common fields buffered
    /// again). Two direct passes instead: the common fields, then the methods' own. What
    /// they cannot read as the generic reading would (a field written twice, another
    /// method's field that does not parse, a required one missing or `null`) is read by the
    /// generic [`Deserialize`], so the outcome and its errors are the same.
    pub fn from_slice(json: &[u8]) -> serde_json::Result<Self> {
        crate::wire::read_or_generic(json, Self::read_directly)
    }

    /// The payment of `json`, if the direct passes read it; `None` otherwise.
    fn read_directly(json: &[u8]) -> Option<Self> {
        /// A unix time as the variants read it.
        #[derive(Deserialize)]
        struct Seconds(#[serde(with = "unix_seconds")] i64);
        /// Each method's own fields; the rest of the object is skipped.
        #[derive(Deserialize)]
        struct Methods {
            card_code: Option<String>,
            card_name: Option<String>,
            card_number: Option<String>,
            card_quota: Option<u32>,
            apply_num: Option<String>,
            bank_code: Option<String>,
            bank_name: Option<String>,
            vbank_code: Option<String>,
            vbank_name: Option<String>,
            vbank_num: Option<String>,
            vbank_holder: Option<String>,
            vbank_date: Option<Seconds>,
            vbank_issued_at: Option<Seconds>,
        }
        let base: IamportPaymentBase = serde_json::from_slice(json).ok()?;
        let m: Methods = serde_json::from_slice(json).ok()?;
        Some(match base.pay_method {
            IamportPayMethod::Card | IamportPayMethod::Samsung => Self::Card(IamportCardPayment {
                card_code: m.card_code?,
                card_name: m.card_name?,
                card_number: m.card_number?,
                card_quota: m.card_quota?,
                apply_num: m.apply_num?,
                base,
            }),
            IamportPayMethod::Trans => Self::Transfer(IamportTransferPayment {
                bank_code: m.bank_code?,
                bank_name: m.bank_name?,
                base,
            }),
            IamportPayMethod::Vbank => Self::VBank(IamportVBankPayment {
                vbank_code: m.vbank_code?,
                vbank_name: m.vbank_name?,
                vbank_num: m.vbank_num?,
                vbank_holder: m.vbank_holder?,
                vbank_date: m.vbank_date?.0,
                vbank_issued_at: m.vbank_issued_at?.0,
                base,
            }),
            _ => Self::Other(base),
        })
    }
}

impl<'de> Deserialize<'de> for IamportPayment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Dispatch on `pay_method` ourselves: an untagged read would silently take a card
        // payment that lacks a card field for an `Other`, hiding the error.
        let value = serde_json::Value::deserialize(deserializer)?;
        let method = value
            .get("pay_method")
            .ok_or_else(|| de::Error::missing_field("pay_method"))?
            .as_str()
            .ok_or_else(|| de::Error::custom("pay_method must be a string"))?;
        let result = match method {
            "card" | "samsung" => serde_json::from_value(value).map(Self::Card),
            "trans" => serde_json::from_value(value).map(Self::Transfer),
            "vbank" => serde_json::from_value(value).map(Self::VBank),
            _ => serde_json::from_value(value).map(Self::Other),
        };
        result.map_err(de::Error::custom)
    }
}

/// One entry of a payment's `cancel_history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportPaymentCancel {
    pub pg_id: String,
    pub pg_tid: String,
    #[serde(with = "amount")]
    pub amount: f64,
    #[serde(with = "unix_seconds")]
    pub cancelled_at: i64,
    pub reason: String,
    pub receipt_url: String,
    /// The real API's id of this cancellation (absent from the SDK type and the old fake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_id: Option<String>,
}

/// The body of `POST /payments/cancel`.
///
/// The real API finds the payment by `imp_uid`, or by `merchant_uid` when `imp_uid` is
/// absent; a missing or zero `amount` cancels the whole balance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct IamportPaymentCancelCreate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imp_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_uid: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub amount: Option<f64>,
    /// The balance the caller believes is cancellable; checked by the real API when set.
    #[serde(default, with = "amount::option")]
    pub checksum: Option<f64>,
    #[serde(default)]
    pub reason: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub tax_free: Option<f64>,
    /// Refund account of a virtual-account payment: holder name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_holder: Option<String>,
    /// Refund account: bank code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_bank: Option<String>,
    /// Refund account: account number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_account: Option<String>,
    /// Refund account: holder's phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_tel: Option<String>,
    /// Real API: notify the webhook about this API cancel (off by default there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_webhook: Option<bool>,
}

/// The body I'mport posts to a merchant's notification URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IamportWebhook {
    pub imp_uid: String,
    pub merchant_uid: String,
    pub status: IamportPaymentStatus,
    /// Present on cancel notifications of the real API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_id: Option<String>,
}

/// A pre-registered amount (`POST /payments/prepare`, `GET /payments/prepare/{merchant_uid}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportPaymentPrepare {
    pub merchant_uid: String,
    #[serde(with = "amount")]
    pub amount: f64,
}

/// A stored card: a billing key, named by the merchant's `customer_uid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportSubscription {
    pub customer_uid: String,
    pub pg_provider: String,
    pub pg_id: String,
    /// Whether the key was issued on a test channel: required by the V1 schema's
    /// `CustomerAnnotation`, not declared by the SDK, so read when present. The fakes
    /// always send `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool)]
    pub sandbox: Option<bool>,
    pub card_name: String,
    pub card_code: String,
    pub card_number: String,
    /// The SDK types it as a string; the real API's integer (0 credit, 1 check) is read too.
    #[serde(deserialize_with = "string_or_number")]
    pub card_type: String,
    pub customer_name: Option<String>,
    pub customer_tel: Option<String>,
    pub customer_email: Option<String>,
    pub customer_addr: Option<String>,
    pub customer_postcode: Option<String>,
    #[serde(with = "unix_seconds")]
    pub inserted: i64,
    #[serde(with = "unix_seconds")]
    pub updated: i64,
}

/// The body of `POST /subscribe/customers/{customer_uid}`: register a card as a billing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportSubscriptionCreate {
    /// The path's `customer_uid`; the SDK repeats it in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_uid: Option<String>,
    #[serde(flatten)]
    pub card: IamportCardInput,
}

/// Card data as the subscribe endpoints take it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportCardInput {
    /// `dddd-dddd-dddd-dddd`.
    pub card_number: String,
    /// `YYYY-MM`.
    pub expiry: String,
    /// `YYMMDD` of the holder, or a 10-digit business number.
    pub birth: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pwd_2digit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// The SDK's spelling (`customr_addr`); the real API's `customer_addr` is read too.
    #[serde(
        default,
        rename = "customr_addr",
        alias = "customer_addr",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_postcode: Option<String>,
}

/// What to charge: the order half of `onetime` and `again`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportOrderInput {
    pub merchant_uid: String,
    #[serde(with = "amount")]
    pub amount: f64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<IamportCurrency>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub tax_free: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_quota: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_postcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interest_free_by_merchant: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_card_point: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    /// Where this payment's webhooks go instead of the merchant's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_url: Option<String>,
}

/// The body of `POST /subscribe/payments/onetime`: pay with card data; with a
/// `customer_uid`, the card is also stored as that billing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportSubscriptionOnetime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_uid: Option<String>,
    #[serde(flatten)]
    pub card: IamportCardInput,
    #[serde(flatten)]
    pub order: IamportOrderInput,
}

/// The body of `POST /subscribe/payments/again`: pay with a stored billing key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportSubscriptionAgain {
    pub customer_uid: String,
    #[serde(flatten)]
    pub order: IamportOrderInput,
}

/// The body of `POST /vbanks`: issue a virtual account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportVBankCreate {
    pub merchant_uid: String,
    #[serde(with = "amount")]
    pub amount: f64,
    pub vbank_code: String,
    /// The deposit deadline, unix seconds.
    #[serde(with = "unix_seconds")]
    pub vbank_due: i64,
    /// The account holder's name shown to the payer (the SDK requires it; the real API
    /// defaults it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vbank_holder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_postcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_api_key: Option<String>,
}

/// The body of `PUT /vbanks/{imp_uid}` (and of the SDK's `PUT /vbanks`, which names the
/// payment in the body): change a waiting account's amount or deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportVBankUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imp_uid: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub amount: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "unix_seconds::option"
    )]
    pub vbank_due: Option<i64>,
}

/// A mobile-phone identity verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IamportCertification {
    pub imp_uid: String,
    pub merchant_uid: Option<String>,
    pub name: String,
    pub gender: String,
    /// Birth date as unix seconds at UTC midnight.
    #[serde(with = "unix_seconds")]
    pub birth: i64,
    /// Birth date as `YYYYMMDD`.
    pub birthday: String,
    pub foreigner: bool,
    pub phone: String,
    pub carrier: IamportCarrier,
    pub certified: bool,
    #[serde(with = "unix_seconds")]
    pub certified_at: i64,
    pub unique_key: String,
    pub unique_in_site: String,
    pub pg_tid: String,
    pub pg_provider: String,
    pub origin: String,
    /// Fake-only: the one-time password, so tests can confirm without a phone.
    #[serde(default, rename = "__otp", skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}

/// A mobile carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum IamportCarrier {
    SKT,
    KT,
    LGT,
}

/// The body of `POST /certifications/otp/request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IamportCertificationCreate {
    pub name: String,
    pub phone: String,
    /// `YYYYMMDD`.
    pub birth: String,
    /// The 7th digit of the resident registration number.
    pub gender_digit: String,
    pub carrier: IamportCarrier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mvno: Option<bool>,
    /// The SDK's spelling; the real API's `company` is read too.
    #[serde(
        default,
        rename = "commpany",
        alias = "company",
        skip_serializing_if = "Option::is_none"
    )]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg: Option<String>,
}

/// The body of `POST /certifications/otp/confirm/{imp_uid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IamportCertificationConfirm {
    pub otp: String,
}

/// Who a cash receipt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IamportReceiptType {
    Person,
    Company,
}

/// What the receipt's `identifier` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IamportReceiptIdentifierType {
    Person,
    Business,
    Phone,
    Taxcard,
}

/// A cash receipt issued for a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportReceipt {
    pub imp_uid: String,
    /// The SDK's name; the real API calls it `receipt_tid`, read too.
    #[serde(alias = "receipt_tid")]
    pub receipt_uid: String,
    pub apply_num: String,
    #[serde(rename = "type")]
    pub kind: IamportReceiptType,
    #[serde(with = "amount")]
    pub amount: f64,
    #[serde(with = "amount")]
    pub vat: f64,
    pub receipt_url: String,
    #[serde(with = "unix_seconds")]
    pub applied_at: i64,
    #[serde(with = "unix_seconds")]
    pub cancelled_at: i64,
}

/// The body of `POST /receipts/{imp_uid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportReceiptCreate {
    /// The path's `imp_uid`; the SDK repeats it in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imp_uid: Option<String>,
    pub identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_type: Option<IamportReceiptIdentifierType>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<IamportReceiptType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_tel: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub tax_free: Option<f64>,
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(de::Error::custom(format!(
            "expected a string or a number, found {other}"
        ))),
    }
}

/// The body of `POST /subscribe/payments/schedule`: charge a billing key later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportScheduleCreate {
    pub customer_uid: String,
    /// Checks the card with a charge of this amount, refunded at once (`0`: no check).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub checking_amount: Option<f64>,
    pub schedules: Vec<IamportScheduleRequest>,
}

/// One payment to schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportScheduleRequest {
    pub merchant_uid: String,
    /// When to charge, unix seconds.
    #[serde(with = "unix_seconds")]
    pub schedule_at: i64,
    #[serde(with = "amount")]
    pub amount: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<IamportCurrency>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "amount::option"
    )]
    pub tax_free: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_postcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    /// Where this payment's webhook goes instead of the merchant's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_url: Option<String>,
}

/// Where a scheduled payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IamportScheduleStatus {
    /// Waiting for its time.
    Scheduled,
    /// Charged (successfully or not: see `payment_status`).
    Executed,
    /// Unscheduled before its time.
    Revoked,
}

/// A scheduled payment (`ScheduleResultAnnotation` of the V1 schema, which the SDK does not
/// model). The schema types its text fields as plain strings, so what is not known yet is
/// `""` on the wire, never `null`; `None` here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportSchedule {
    pub customer_uid: String,
    pub merchant_uid: String,
    /// The payment made at execution; `""` before.
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub imp_uid: Option<String>,
    #[serde(with = "unix_seconds")]
    pub schedule_at: i64,
    #[serde(with = "unix_seconds")]
    pub executed_at: i64,
    #[serde(with = "unix_seconds")]
    pub revoked_at: i64,
    #[serde(with = "amount")]
    pub amount: f64,
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub name: Option<String>,
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub buyer_name: Option<String>,
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub buyer_email: Option<String>,
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub buyer_tel: Option<String>,
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub buyer_addr: Option<String>,
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub buyer_postcode: Option<String>,
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub custom_data: Option<String>,
    pub schedule_status: IamportScheduleStatus,
    /// The executed payment's status (`paid`, `failed`, …); `""` before execution.
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub payment_status: Option<IamportPaymentStatus>,
    #[serde(with = "empty_as_none", default)]
    #[schema(value_type = String, required = true)]
    pub fail_reason: Option<String>,
}

/// A page of payments: `GET /payments/findAll/…` and `GET /payments/status/…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportPaymentPage {
    /// How many payments match, over all pages.
    pub total: u64,
    /// The previous page's number, `0` on the first.
    pub previous: u64,
    /// The next page's number, `0` on the last.
    pub next: u64,
    pub list: Vec<IamportPayment>,
}

/// The body of `POST /subscribe/payments/unschedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IamportUnschedule {
    /// Optional: without it, the schedules of `merchant_uid` are revoked whoever's they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_uid: Option<String>,
    /// The schedules to revoke; every pending one of the customer when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merchant_uid: Vec<String>,
}

/// The body of `PUT /subscribe/payments/schedule/{merchant_uid}` (a waiting schedule's new
/// time) and of `POST /subscribe/payments/schedule/{merchant_uid}/reschedule` (a failed or
/// revoked schedule's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IamportScheduleTime {
    /// When to charge, unix seconds.
    #[serde(with = "unix_seconds")]
    pub schedule_at: i64,
}

/// Amounts of a payment by tax kind (`PaymentBalanceAnnotation`); what refunds took is
/// already deducted.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct IamportBalanceAmounts {
    /// The tax-free part.
    #[serde(with = "amount")]
    pub tax_free: f64,
    /// The taxable part without VAT.
    #[serde(with = "amount")]
    pub supply: f64,
    #[serde(with = "amount")]
    pub vat: f64,
    /// The service charge.
    #[serde(with = "amount")]
    pub service: f64,
}

/// One change of a payment's amounts: its payment, or a refund (negative amounts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportBalanceHistory {
    pub cash_receipt: IamportBalanceAmounts,
    /// The payment method itself: card, transfer, virtual account, phone.
    pub primary: IamportBalanceAmounts,
    /// PG or card-company points.
    pub secondary: IamportBalanceAmounts,
    /// Discounts of the PG or the card company.
    pub discount: IamportBalanceAmounts,
    /// When it happened, unix seconds.
    #[serde(with = "unix_seconds")]
    pub created: i64,
}

/// `GET /payments/{imp_uid}/balance`: how a payment's amount splits by method and tax
/// kind now, and each change that led there (`PaymentBalanceResponseAnnotation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IamportPaymentBalance {
    /// The payment's whole amount when paid.
    #[serde(with = "amount")]
    pub amount: f64,
    pub cash_receipt: IamportBalanceAmounts,
    pub primary: IamportBalanceAmounts,
    pub secondary: IamportBalanceAmounts,
    pub discount: IamportBalanceAmounts,
    pub histories: Vec<IamportBalanceHistory>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::direct_reading::{falls_back_to_generic, reads_as_generic};

    /// Every family of method, as the PG writes its payments.
    const PAYMENTS: [&str; 6] = [
        include_str!("../tests/fixtures/iamport/payment.card.json"),
        include_str!("../tests/fixtures/iamport/payment.samsung.json"),
        include_str!("../tests/fixtures/iamport/payment.trans.json"),
        include_str!("../tests/fixtures/iamport/payment.vbank.json"),
        include_str!("../tests/fixtures/iamport/payment.kakaopay.json"),
        include_str!("../tests/fixtures/iamport/payment.naverpay.json"),
    ];

    #[test]
    fn the_direct_reading_reads_every_method_as_the_generic_one_does() {
        let variants = reads_as_generic(&PAYMENTS, IamportPayment::read_directly);
        assert_eq!(variants, 4, "every variant is read");
    }

    #[test]
    fn what_the_direct_reading_cannot_read_is_read_as_the_generic_one_does() {
        let edit = |json: &str, field: &str, value: Option<serde_json::Value>| {
            let mut payment: serde_json::Value = serde_json::from_str(json).unwrap();
            let object = payment.as_object_mut().unwrap();
            match value {
                Some(value) => object.insert(field.into(), value),
                None => object.remove(field),
            };
            payment.to_string()
        };
        let (card, vbank) = (PAYMENTS[0], PAYMENTS[3]);
        let cases = [
            // A required field of the method missing, or null: an error naming it.
            edit(card, "card_number", None),
            edit(card, "card_number", Some(serde_json::Value::Null)),
            edit(vbank, "vbank_date", None),
            // Another method's field that does not parse: ignored, as the generic reading
            // ignores every field its variant does not have.
            edit(card, "vbank_date", Some(serde_json::json!("tomorrow"))),
            edit(vbank, "card_quota", Some(serde_json::json!("three"))),
            edit(card, "pay_method", None),
            // A field written twice: the generic reading keeps the last.
            card.replacen(
                "\"card_name\":",
                "\"card_name\": \"first\", \"card_name\":",
                1,
            ),
        ];
        falls_back_to_generic(&cases, IamportPayment::from_slice);
        assert!(IamportPayment::read_directly(cases[6].as_bytes()).is_none());
        assert!(IamportPayment::from_slice(cases[0].as_bytes()).is_err());
        assert!(IamportPayment::from_slice(cases[3].as_bytes()).is_ok());
    }
}
