//! Wire types of the payments API: the records the server keeps and the requests that make,
//! read and cancel them.
//!
//! A record belongs to a PG (its *vendor*) and to a *source*, the client's own row that
//! caused it. It can be read only with the password chosen when it was created. Histories
//! (payments) and reservations (billing keys) are unions discriminated by `vendor_code`,
//! `iamport`, `toss.payments` or `portone`, whose `data` is the PG's own object.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::iamport::{IamportPayment, IamportSubscription};
use crate::toss::{TossBilling, TossPayment};
use crate::wire::{amount, iso_millis};

/// Which PG a record belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum VendorCode {
    /// I'mport (PortOne V1).
    #[serde(rename = "iamport")]
    Iamport,
    /// Toss Payments.
    #[serde(rename = "toss.payments")]
    TossPayments,
    /// PortOne V2 (`https://api.portone.io`).
    #[serde(rename = "portone")]
    PortOne,
}

impl VendorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Iamport => "iamport",
            Self::TossPayments => "toss.payments",
            Self::PortOne => "portone",
        }
    }
}

impl fmt::Display for VendorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for VendorCode {
    type Err = UnknownVendor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "iamport" => Ok(Self::Iamport),
            "toss.payments" => Ok(Self::TossPayments),
            "portone" => Ok(Self::PortOne),
            other => Err(UnknownVendor(other.to_owned())),
        }
    }
}

impl TryFrom<String> for VendorCode {
    type Error = UnknownVendor;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// A vendor code that is none of `iamport`, `toss.payments` and `portone`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown vendor code {0:?}: expected \"iamport\", \"toss.payments\" or \"portone\"")]
pub struct UnknownVendor(pub String);

/// The PG's side of a record: which PG, which merchant account there, and the PG's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct PaymentVendor {
    pub code: VendorCode,
    /// The merchant account at the PG; picks the credentials the server uses.
    pub store_id: String,
    /// The PG's id: I'mport `imp_uid`, Toss `paymentKey` (histories); Toss `billingKey` or
    /// I'mport `customer_uid` (reservations).
    pub uid: String,
}

/// The client's row that a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct PaymentSource {
    pub schema: String,
    pub table: String,
    /// The row's id. For Toss it is also the PG's `orderId` (histories) or `customerKey`
    /// (reservations).
    pub id: String,
}

/// The password that opens one record (the SDK's `IPaymentSource.IPassword`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentPassword {
    pub password: String,
}

/// A source and the password of its record (the SDK's `IPaymentSource.IAccessor`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentSourceAccessor {
    #[serde(flatten)]
    pub source: PaymentSource,
    pub password: String,
}

// Passwords stay out of logs: their Debug output hides them.
impl fmt::Debug for PaymentPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentPassword")
            .field("password", &"<hidden>")
            .finish()
    }
}

impl fmt::Debug for PaymentSourceAccessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentSourceAccessor")
            .field("source", &self.source)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// A payment's record: the PG's payment as last seen, and what the server derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentHistory {
    pub id: Uuid,
    pub vendor: PaymentVendor,
    pub source: PaymentSource,
    /// The PG's payment object; its variant matches `vendor.code`.
    pub data: PaymentData,
    /// Where the server relays changes of this payment.
    pub webhook_url: Option<String>,
    /// ISO currency code, e.g. `KRW`.
    pub currency: String,
    /// The amount paid, as the PG reports it.
    pub price: f64,
    /// The total refunded; `null` when nothing was.
    pub refund: Option<f64>,
    /// The cancels, oldest first.
    pub cancels: Vec<PaymentCancelHistory>,
    pub created_at: DateTime<Utc>,
    /// When the payment completed; `null` while unpaid (a virtual account waiting for its
    /// deposit).
    pub paid_at: Option<DateTime<Utc>>,
    /// When it was first cancelled, fully or partly; `null` if never.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A PG's payment object, by vendor.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
// The PGs' payments are all large and of similar sizes; boxing one would only make its
// matches differ from the others'.
#[allow(clippy::large_enum_variant)]
pub enum PaymentData {
    Iamport(IamportPayment),
    Toss(TossPayment),
    PortOne(crate::portone::Payment),
}

impl PaymentData {
    /// The vendor this data comes from.
    pub fn vendor_code(&self) -> VendorCode {
        match self {
            Self::Iamport(_) => VendorCode::Iamport,
            Self::Toss(_) => VendorCode::TossPayments,
            Self::PortOne(_) => VendorCode::PortOne,
        }
    }

    /// Reads the PG's JSON of a payment of `code`.
    pub fn from_json(code: VendorCode, value: serde_json::Value) -> serde_json::Result<Self> {
        match code {
            VendorCode::Iamport => serde_json::from_value(value).map(Self::Iamport),
            VendorCode::TossPayments => serde_json::from_value(value).map(Self::Toss),
            VendorCode::PortOne => serde_json::from_value(value).map(Self::PortOne),
        }
    }

    /// Reads the PG's JSON text of a payment of `code`, straight into its type (no
    /// `serde_json::Value` in between: what a stored payment's every read does).
    pub fn from_slice(code: VendorCode, json: &[u8]) -> serde_json::Result<Self> {
        match code {
            VendorCode::Iamport => IamportPayment::from_slice(json).map(Self::Iamport),
            VendorCode::TossPayments => TossPayment::from_slice(json).map(Self::Toss),
            VendorCode::PortOne => serde_json::from_slice(json).map(Self::PortOne),
        }
    }
}

/// One cancel of a payment, fully or partly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentCancelHistory {
    pub reason: String,
    /// The amount refunded by this cancel.
    #[serde(with = "amount")]
    pub price: f64,
    /// When the PG performed it.
    #[serde(with = "iso_millis")]
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /payments/histories`: verify a payment at the PG and keep it.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentHistoryCreate {
    pub vendor: PaymentVendor,
    pub source: PaymentSource,
    pub webhook_url: String,
    /// The amount the client expects; the PG's must match.
    #[serde(with = "amount")]
    pub price: f64,
    /// The password that will open this record.
    pub password: String,
}

/// The body of `PUT /payments/histories/cancel`: cancel a payment, fully or partly.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentCancelCreate {
    pub source: PaymentSource,
    pub password: String,
    /// The amount to refund.
    #[serde(with = "amount")]
    pub price: f64,
    pub reason: String,
    /// Where to refund a virtual-account payment; `null` for other methods.
    #[serde(default)]
    pub account: Option<RefundAccount>,
}

/// A bank account to refund a virtual-account payment to. Passed to the PG, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundAccount {
    pub bank: String,
    pub account: String,
    pub holder: String,
    pub mobile: String,
}

/// A billing key's record: a card the customer stored for later charges.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentReservation {
    pub id: Uuid,
    pub vendor: PaymentVendor,
    pub source: PaymentSource,
    /// A free label.
    pub title: String,
    /// The PG's billing-key object; its variant matches `vendor.code`.
    pub data: ReservationData,
    pub created_at: DateTime<Utc>,
}

/// A PG's billing-key object, by vendor.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReservationData {
    Iamport(IamportSubscription),
    Toss(TossBilling),
    PortOne(crate::portone::BillingKeyInfo),
}

impl ReservationData {
    /// The vendor this data comes from.
    pub fn vendor_code(&self) -> VendorCode {
        match self {
            Self::Iamport(_) => VendorCode::Iamport,
            Self::Toss(_) => VendorCode::TossPayments,
            Self::PortOne(_) => VendorCode::PortOne,
        }
    }

    /// Reads the PG's JSON of a billing key of `code`.
    pub fn from_json(code: VendorCode, value: serde_json::Value) -> serde_json::Result<Self> {
        match code {
            VendorCode::Iamport => serde_json::from_value(value).map(Self::Iamport),
            VendorCode::TossPayments => serde_json::from_value(value).map(Self::Toss),
            VendorCode::PortOne => serde_json::from_value(value).map(Self::PortOne),
        }
    }
}

/// The body of `POST /payments/reservations`: verify a billing key at the PG and keep it.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentReservationCreate {
    pub vendor: PaymentVendor,
    pub source: PaymentSource,
    pub title: String,
    /// The password that will open this record (not a card PIN).
    pub password: String,
}

impl fmt::Debug for PaymentHistoryCreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentHistoryCreate")
            .field("vendor", &self.vendor)
            .field("source", &self.source)
            .field("webhook_url", &self.webhook_url)
            .field("price", &self.price)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl fmt::Debug for PaymentCancelCreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentCancelCreate")
            .field("source", &self.source)
            .field("price", &self.price)
            .field("reason", &self.reason)
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl fmt::Debug for PaymentReservationCreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentReservationCreate")
            .field("vendor", &self.vendor)
            .field("source", &self.source)
            .field("title", &self.title)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// The event the server posts to a history's `webhook_url` when the PG reports a change:
/// the record before and after (the SDK's `IPaymentWebhookHistory`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentWebhook {
    /// The event's id, stable across delivery attempts: deduplicate on it.
    pub id: Uuid,
    pub source: PaymentSource,
    /// The record as the client last saw it.
    pub previous: PaymentHistory,
    /// The record after the change.
    pub current: PaymentHistory,
}

/// A clear JSON error body of the payments API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `wrong_password`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

// `vendor_code` sits beside `vendor.code` on the wire (it lets TypeScript narrow the union);
// the two must agree, and `data` is read according to them. Serde's derives cannot express
// "pick the type of `data` from a sibling field", hence the hand-written impls below.

/// A payment's record as the server writes it (the SDK's `IPaymentHistory`).
#[derive(Serialize, ToSchema)]
#[schema(as = PaymentHistory)]
struct HistoryOut<'a> {
    id: &'a Uuid,
    /// The same as `vendor.code`; tells which PG's object `data` is.
    vendor_code: VendorCode,
    vendor: &'a PaymentVendor,
    source: &'a PaymentSource,
    /// The PG's payment object; its variant matches `vendor_code`.
    data: &'a PaymentData,
    /// Where the server relays changes of this payment.
    webhook_url: &'a Option<String>,
    /// ISO currency code, e.g. `KRW`.
    currency: &'a str,
    /// The amount paid, as the PG reports it.
    #[serde(with = "amount")]
    price: f64,
    /// The total refunded; `null` when nothing was.
    #[serde(with = "amount::option")]
    refund: Option<f64>,
    /// The cancels, oldest first.
    cancels: &'a [PaymentCancelHistory],
    #[serde(with = "iso_millis")]
    created_at: DateTime<Utc>,
    /// When the payment completed; `null` while unpaid.
    #[serde(with = "iso_millis::option")]
    paid_at: Option<DateTime<Utc>>,
    /// When it was first cancelled, fully or partly; `null` if never.
    #[serde(with = "iso_millis::option")]
    cancelled_at: Option<DateTime<Utc>>,
}

// The records' schemas are those of the shapes they are written in.
impl utoipa::PartialSchema for PaymentHistory {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        HistoryOut::schema()
    }
}

impl ToSchema for PaymentHistory {
    fn name() -> std::borrow::Cow<'static, str> {
        HistoryOut::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        HistoryOut::schemas(schemas)
    }
}

impl utoipa::PartialSchema for PaymentReservation {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ReservationOut::schema()
    }
}

impl ToSchema for PaymentReservation {
    fn name() -> std::borrow::Cow<'static, str> {
        ReservationOut::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        ReservationOut::schemas(schemas)
    }
}

#[derive(Deserialize)]
struct HistoryIn {
    id: Uuid,
    vendor_code: VendorCode,
    vendor: PaymentVendor,
    source: PaymentSource,
    data: serde_json::Value,
    #[serde(default)]
    webhook_url: Option<String>,
    currency: String,
    #[serde(with = "amount")]
    price: f64,
    #[serde(default, with = "amount::option")]
    refund: Option<f64>,
    #[serde(default)]
    cancels: Vec<PaymentCancelHistory>,
    #[serde(with = "iso_millis")]
    created_at: DateTime<Utc>,
    #[serde(default, with = "iso_millis::option")]
    paid_at: Option<DateTime<Utc>>,
    #[serde(default, with = "iso_millis::option")]
    cancelled_at: Option<DateTime<Utc>>,
}

impl Serialize for PaymentHistory {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        HistoryOut {
            id: &self.id,
            vendor_code: self.vendor.code,
            vendor: &self.vendor,
            source: &self.source,
            data: &self.data,
            webhook_url: &self.webhook_url,
            currency: &self.currency,
            price: self.price,
            refund: self.refund,
            cancels: &self.cancels,
            created_at: self.created_at,
            paid_at: self.paid_at,
            cancelled_at: self.cancelled_at,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PaymentHistory {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = HistoryIn::deserialize(deserializer)?;
        check_vendor(wire.vendor_code, &wire.vendor)?;
        let data = PaymentData::from_json(wire.vendor_code, wire.data).map_err(|e| {
            de::Error::custom(format!("data of a {} history: {e}", wire.vendor_code))
        })?;
        Ok(Self {
            id: wire.id,
            vendor: wire.vendor,
            source: wire.source,
            data,
            webhook_url: wire.webhook_url,
            currency: wire.currency,
            price: wire.price,
            refund: wire.refund,
            cancels: wire.cancels,
            created_at: wire.created_at,
            paid_at: wire.paid_at,
            cancelled_at: wire.cancelled_at,
        })
    }
}

/// A billing key's record as the server writes it (the SDK's `IPaymentReservation`).
#[derive(Serialize, ToSchema)]
#[schema(as = PaymentReservation)]
struct ReservationOut<'a> {
    id: &'a Uuid,
    /// The same as `vendor.code`; tells which PG's object `data` is.
    vendor_code: VendorCode,
    vendor: &'a PaymentVendor,
    source: &'a PaymentSource,
    /// A free label.
    title: &'a str,
    /// The PG's billing-key object; its variant matches `vendor_code`.
    data: &'a ReservationData,
    #[serde(with = "iso_millis")]
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct ReservationIn {
    id: Uuid,
    vendor_code: VendorCode,
    vendor: PaymentVendor,
    source: PaymentSource,
    title: String,
    data: serde_json::Value,
    #[serde(with = "iso_millis")]
    created_at: DateTime<Utc>,
}

impl Serialize for PaymentReservation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ReservationOut {
            id: &self.id,
            vendor_code: self.vendor.code,
            vendor: &self.vendor,
            source: &self.source,
            title: &self.title,
            data: &self.data,
            created_at: self.created_at,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PaymentReservation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = ReservationIn::deserialize(deserializer)?;
        check_vendor(wire.vendor_code, &wire.vendor)?;
        let data = ReservationData::from_json(wire.vendor_code, wire.data).map_err(|e| {
            de::Error::custom(format!("data of a {} reservation: {e}", wire.vendor_code))
        })?;
        Ok(Self {
            id: wire.id,
            vendor: wire.vendor,
            source: wire.source,
            title: wire.title,
            data,
            created_at: wire.created_at,
        })
    }
}

fn check_vendor<E: de::Error>(code: VendorCode, vendor: &PaymentVendor) -> Result<(), E> {
    if vendor.code == code {
        Ok(())
    } else {
        Err(E::custom(format!(
            "vendor_code {code} disagrees with vendor.code {}",
            vendor.code
        )))
    }
}

/// Where a relayed event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookEventState {
    /// Waiting for its next attempt.
    Pending,
    /// The client's endpoint answered 2xx.
    Delivered,
    /// Every attempt failed within the retry window.
    Failed,
}

/// An event the server relays to a payment's `webhook_url`, with its delivery attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentWebhookEvent {
    /// The event's id: the delivered body's `id` and the `webhook-id` header.
    pub id: Uuid,
    pub webhook_url: String,
    pub state: WebhookEventState,
    #[serde(with = "iso_millis")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "iso_millis::option")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(with = "iso_millis::option")]
    pub delivered_at: Option<DateTime<Utc>>,
    pub attempts: Vec<PaymentWebhookAttempt>,
}

/// One attempt to deliver an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentWebhookAttempt {
    #[serde(with = "iso_millis")]
    pub attempted_at: DateTime<Utc>,
    /// The client's HTTP status; `null` when it did not answer.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The start of the client's answer, or why there was none.
    pub excerpt: Option<String>,
}

/// The body of `PUT /payments/histories/webhooks/redeliver`: send an event again now.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentWebhookRedeliver {
    pub source: PaymentSource,
    pub password: String,
    pub event_id: Uuid,
}

impl fmt::Debug for PaymentWebhookRedeliver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentWebhookRedeliver")
            .field("source", &self.source)
            .field("event_id", &self.event_id)
            .field("password", &"<hidden>")
            .finish()
    }
}
