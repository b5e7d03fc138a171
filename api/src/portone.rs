//! Wire types of the PortOne V2 REST API (`https://api.portone.io`).
//!
//! Field names follow PortOne's published OpenAPI document for V2 (the schemas of the same
//! names: `Payment`, `BillingKeyInfo`, `PaymentSchedule`, …); the unions the document
//! discriminates on `status` or `type` are enums tagged the same way. Only the fields the
//! sandbox uses are here: the document marks the others optional.
//!
//! Date-times are RFC 3339 in UTC, as the real API writes them. Amounts are integers in
//! the currency's smallest unit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A union discriminated on `status` and the enum of its statuses, from one list of
/// variants: both enums name them alike, so the list is written once, and `status()`
/// answers a value's status. The attributes given are the two enums' own.
macro_rules! by_status {
    (
        $(#[$status_meta:meta])* status $status:ident;
        $(#[$union_meta:meta])* union $union:ident {
            $($variant:ident($inner:ty)),+ $(,)?
        }
    ) => {
        $(#[$status_meta])*
        pub enum $status {
            $($variant),+
        }

        $(#[$union_meta])*
        pub enum $union {
            $($variant($inner)),+
        }

        impl $union {
            /// Its status.
            pub fn status(&self) -> $status {
                match self {
                    $(Self::$variant(_) => $status::$variant),+
                }
            }
        }
    };
}

/// An error answer: `type` names it, the HTTP status goes with the type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortOneError {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The PG's own code, with `PG_PROVIDER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_code: Option<String>,
    /// The PG's own message, with `PG_PROVIDER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_message: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Authentication

/// `POST /login/api-secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginViaApiSecretBody {
    pub api_secret: String,
}

/// `POST /token/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshTokenBody {
    pub refresh_token: String,
}

/// The answer to both `/login/api-secret` and `/token/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
}

// ---------------------------------------------------------------------------------------
// Payments

by_status! {
    /// A payment's state, the discriminator of [`Payment`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    status PaymentStatus;

    /// A payment (`Payment`): one schema per status.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    #[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
    union Payment {
        Ready(PaymentBase),
        PayPending(PendingPayment),
        VirtualAccountIssued(PendingPayment),
        Paid(PaidPayment),
        Failed(FailedPayment),
        PartialCancelled(CancelledPayment),
        Cancelled(CancelledPayment),
    }
}

impl Payment {
    /// What every status has.
    pub fn base(&self) -> &PaymentBase {
        match self {
            Self::Ready(base) => base,
            Self::PayPending(p) | Self::VirtualAccountIssued(p) => &p.base,
            Self::Paid(p) => &p.base,
            Self::Failed(p) => &p.base,
            Self::PartialCancelled(p) | Self::Cancelled(p) => &p.base,
        }
    }
}

/// The fields every payment has (the common part of `ReadyPayment`, `PaidPayment`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentBase {
    /// The merchant's own payment id.
    pub id: String,
    /// The current attempt.
    pub transaction_id: String,
    pub merchant_id: String,
    pub store_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<PaymentMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<SelectedChannel>,
    /// `V2`.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_key: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub order_name: String,
    pub amount: PaymentAmount,
    pub currency: String,
    pub customer: Customer,
    pub origin: PaymentOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
}

/// `PayPendingPayment`, `VirtualAccountIssuedPayment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingPayment {
    #[serde(flatten)]
    pub base: PaymentBase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_tx_id: Option<String>,
}

/// `PaidPayment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaidPayment {
    #[serde(flatten)]
    pub base: PaymentBase,
    pub paid_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_tx_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_receipt: Option<PaymentCashReceipt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
    /// Always empty: the sandbox has no disputes.
    #[serde(default)]
    pub disputes: Vec<serde_json::Value>,
}

/// `FailedPayment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedPayment {
    #[serde(flatten)]
    pub base: PaymentBase,
    pub failed_at: DateTime<Utc>,
    pub failure: PaymentFailure,
}

/// `CancelledPayment`, `PartialCancelledPayment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelledPayment {
    #[serde(flatten)]
    pub base: PaymentBase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_tx_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_receipt: Option<PaymentCashReceipt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
    pub cancellations: Vec<PaymentCancellation>,
    /// When the last cancellation happened.
    pub cancelled_at: DateTime<Utc>,
}

/// `PaymentFailure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_message: Option<String>,
}

/// `PaymentAmount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmount {
    pub total: i64,
    pub tax_free: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply: Option<i64>,
    pub discount: i64,
    pub paid: i64,
    pub cancelled: i64,
    pub cancelled_tax_free: i64,
}

/// `Customer`, as a payment shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// `PaymentOrigin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOrigin {
    /// `PC`, `MOBILE` or `API`.
    pub platform_type: String,
    pub ip_address: String,
}

/// `SelectedChannel`: the PG channel a payment went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelectedChannel {
    /// `LIVE` or `TEST`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub pg_provider: String,
    pub pg_merchant_id: String,
}

/// `PaymentMethod`, discriminated on `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum PaymentMethod {
    PaymentMethodCard(PaymentMethodCard),
    PaymentMethodVirtualAccount(PaymentMethodVirtualAccount),
}

/// `PaymentMethodCard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethodCard {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installment: Option<PaymentInstallment>,
}

/// `Card`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `LOCAL`, `VISA`, `MASTER`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// `CREDIT`, `DEBIT`, `GIFT`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// `PaymentInstallment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInstallment {
    pub month: i32,
    pub is_interest_free: bool,
}

/// `PaymentMethodVirtualAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethodVirtualAccount {
    /// A `Bank` code: `SHINHAN`, `KOOKMIN`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    pub account_number: String,
    /// `FIXED` or `NORMAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remittee_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<DateTime<Utc>>,
}

/// `PaymentCancellation`, discriminated on `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentCancellation {
    Requested(Cancellation),
    Failed(Cancellation),
    Succeeded(Cancellation),
}

impl PaymentCancellation {
    /// The cancellation, whatever its status.
    pub fn inner(&self) -> &Cancellation {
        match self {
            Self::Requested(c) | Self::Failed(c) | Self::Succeeded(c) => c,
        }
    }
}

/// The fields of a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cancellation {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_cancellation_id: Option<String>,
    pub total_amount: i64,
    pub tax_free_amount: i64,
    pub vat_amount: i64,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    pub requested_at: DateTime<Utc>,
    /// `API`, `CONSOLE`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}

/// `PaymentCashReceipt`: the cash receipt as a payment shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentCashReceipt {
    Issued(PaymentCashReceiptInfo),
    Cancelled(CancelledPaymentCashReceiptInfo),
}

/// `IssuedPaymentCashReceipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCashReceiptInfo {
    /// `PERSONAL` or `CORPORATE`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub issue_number: String,
    pub total_amount: i64,
    pub currency: String,
    pub issued_at: DateTime<Utc>,
}

/// `CancelledPaymentCashReceipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelledPaymentCashReceiptInfo {
    #[serde(flatten)]
    pub receipt: PaymentCashReceiptInfo,
    pub cancelled_at: DateTime<Utc>,
}

/// `CashReceipt`: `GET /payments/{paymentId}/cash-receipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CashReceipt {
    Issued(CashReceiptInfo),
    Cancelled(CancelledCashReceiptInfo),
}

/// `IssuedCashReceipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CashReceiptInfo {
    pub merchant_id: String,
    pub store_id: String,
    pub payment_id: String,
    pub channel: SelectedChannel,
    pub amount: i64,
    pub currency: String,
    pub order_name: String,
    pub is_manual: bool,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub issue_number: String,
    pub issued_at: DateTime<Utc>,
}

/// `CancelledCashReceipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelledCashReceiptInfo {
    #[serde(flatten)]
    pub receipt: CashReceiptInfo,
    pub cancelled_at: DateTime<Utc>,
}

/// `PageInput`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i32>,
}

/// `PageInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub number: i32,
    pub size: i32,
    pub total_count: i32,
}

/// `GET /payments` (`GetPaymentsBody`), as a body or the `requestBody` query parameter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetPaymentsBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<PaymentFilterInput>,
}

/// `PaymentFilterInput`: the filters the fake applies.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFilterInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// `CREATED_AT` (default) or `STATUS_CHANGED_AT`: which time `from`/`until` bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<PaymentStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_scheduled: Option<bool>,
    /// `DESC` (default) or `ASC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
}

/// `GetPaymentsResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetPaymentsResponse {
    pub items: Vec<Payment>,
    pub page: PageInfo,
}

/// `GET /payments-by-cursor` (`GetAllPaymentsByCursorBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetAllPaymentsByCursorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i32>,
}

/// `GetAllPaymentsByCursorResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetAllPaymentsByCursorResponse {
    pub items: Vec<PaymentWithCursor>,
}

/// `PaymentWithCursor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentWithCursor {
    pub payment: Payment,
    pub cursor: String,
}

/// `POST /payments/{paymentId}/pre-register`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreRegisterPaymentBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `POST /payments/{paymentId}/confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmPaymentBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    pub payment_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_webhook: Option<bool>,
}

/// What `/confirm`, `/instant` and `/billing-key` answer (`ConfirmedPaymentSummary`,
/// `InstantPaymentSummary`, `BillingKeyPaymentSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSummary {
    pub pg_tx_id: String,
    pub paid_at: DateTime<Utc>,
}

/// `PayInstantlyResponse`, `PayWithBillingKeyResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSummaryResponse {
    pub payment: PaymentSummary,
}

/// `PaymentAmountInput`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmountInput {
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<i64>,
}

/// `CustomerInput`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<CustomerNameInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// `CustomerNameInput`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerNameInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separated: Option<CustomerSeparatedName>,
}

/// `CustomerSeparatedName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSeparatedName {
    pub first: String,
    pub last: String,
}

/// `CardCredential`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardCredential {
    pub number: String,
    pub expiry_year: String,
    pub expiry_month: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_or_business_registration_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_two_digits: Option<String>,
}

/// `InstantPaymentMethodInput`: exactly one of its fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstantPaymentMethodInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<InstantCardInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_account: Option<InstantVirtualAccountInput>,
}

/// `InstantPaymentMethodInputCard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstantCardInput {
    pub credential: CardCredential,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installment_month: Option<i32>,
}

/// `InstantPaymentMethodInputVirtualAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstantVirtualAccountInput {
    pub bank: String,
    pub expiry: VirtualAccountExpiry,
    pub option: VirtualAccountOption,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_receipt: Option<CashReceiptInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remittee_name: Option<String>,
}

/// `InstantPaymentMethodInputVirtualAccountExpiry`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountExpiry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_hours: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<DateTime<Utc>>,
}

/// `InstantPaymentMethodInputVirtualAccountOption`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountOption {
    /// `NORMAL` or `FIXED`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `CashReceiptInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CashReceiptInput {
    /// `PERSONAL`, `CORPORATE` or `NO_RECEIPT`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_identity_number: Option<String>,
}

/// `POST /payments/{paymentId}/instant` (`InstantPaymentInput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstantPaymentInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    pub method: InstantPaymentMethodInput,
    pub order_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    pub amount: PaymentAmountInput,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_webhook: Option<bool>,
}

/// `POST /payments/{paymentId}/billing-key` (`BillingKeyPaymentInput`), and the payment of
/// a schedule (`BillingKeyPaymentScheduleInput`, the same without `skipWebhook`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyPaymentInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    pub billing_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    pub order_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    pub amount: PaymentAmountInput,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installment_month: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_receipt: Option<CashReceiptInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_webhook: Option<bool>,
}

/// `POST /payments/{paymentId}/schedule` (`CreatePaymentScheduleBody`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentScheduleBody {
    pub payment: BillingKeyPaymentInput,
    pub time_to_pay: DateTime<Utc>,
}

/// `CreatePaymentScheduleResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentScheduleResponse {
    pub schedule: PaymentScheduleSummary,
}

/// `PaymentScheduleSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentScheduleSummary {
    pub id: String,
}

/// `POST /payments/{paymentId}/cancel` (`CancelPaymentBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelPaymentBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// The amount to cancel; all that remains when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_amount: Option<i64>,
    pub reason: String,
    /// `CUSTOMER` or `ADMIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// What the merchant believes is still cancellable; a mismatch is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_cancellable_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_account: Option<RefundAccount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_webhook: Option<bool>,
}

/// `CancelPaymentBodyRefundAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
// The payments API has a type of the same name: this one is named apart in documents.
#[schema(as = PortOneRefundAccount)]
pub struct RefundAccount {
    pub bank: String,
    pub number: String,
    pub holder_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_phone_number: Option<String>,
}

/// `CancelPaymentResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelPaymentResponse {
    pub cancellation: PaymentCancellation,
}

/// `CloseVirtualAccountResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloseVirtualAccountResponse {
    pub closed_at: DateTime<Utc>,
}

/// `POST /payments/{paymentId}/resend-webhook` (`ResendWebhookBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResendWebhookBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// The webhook to send again; the payment's last when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
}

/// `ResendWebhookResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResendWebhookResponse {
    pub webhook: PaymentWebhook,
}

/// `PaymentWebhook`: one webhook of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
// The payments API has a type of the same name: this one is named apart in documents.
#[schema(as = PortOnePaymentWebhook)]
pub struct PaymentWebhook {
    /// The payment's status the webhook reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<PaymentStatus>,
    pub id: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_async: Option<bool>,
    /// `MANUAL` for a resend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<DateTime<Utc>>,
}

// ---------------------------------------------------------------------------------------
// Billing keys and schedules

/// `POST /billing-keys` (`IssueBillingKeyBody`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueBillingKeyBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    pub method: BillingKeyMethodInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_webhook: Option<bool>,
}

/// `InstantBillingKeyPaymentMethodInput`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyMethodInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<BillingKeyCardInput>,
}

/// `InstantBillingKeyPaymentMethodInputCard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyCardInput {
    pub credential: CardCredential,
}

/// `IssueBillingKeyResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueBillingKeyResponse {
    pub billing_key_info: BillingKeyInfoSummary,
}

/// `BillingKeyInfoSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyInfoSummary {
    pub billing_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<SelectedChannel>>,
    pub issued_at: DateTime<Utc>,
}

/// `BillingKeyInfo`, discriminated on `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BillingKeyInfo {
    Issued(BillingKeyBase),
    Deleted(DeletedBillingKey),
}

impl BillingKeyInfo {
    /// What both statuses have.
    pub fn base(&self) -> &BillingKeyBase {
        match self {
            Self::Issued(base) => base,
            Self::Deleted(deleted) => &deleted.base,
        }
    }
}

/// `IssuedBillingKeyInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyBase {
    pub billing_key: String,
    pub merchant_id: String,
    pub store_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<BillingKeyPaymentMethod>>,
    pub channels: Vec<SelectedChannel>,
    pub customer: Customer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<DateTime<Utc>>,
    pub issued_at: DateTime<Utc>,
}

/// `DeletedBillingKeyInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletedBillingKey {
    #[serde(flatten)]
    pub base: BillingKeyBase,
    pub deleted_at: DateTime<Utc>,
}

/// `BillingKeyPaymentMethod`, discriminated on `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum BillingKeyPaymentMethod {
    BillingKeyPaymentMethodCard {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        card: Option<Card>,
    },
}

/// `DeleteBillingKeyResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteBillingKeyResponse {
    pub deleted_at: DateTime<Utc>,
}

/// `GET /billing-keys` (`GetBillingKeyInfosBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetBillingKeyInfosBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<BillingKeyFilterInput>,
}

/// `BillingKeyFilterInput`: the filters the fake applies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingKeyFilterInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// `ISSUED`, `DELETED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
}

/// `GetBillingKeyInfosResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetBillingKeyInfosResponse {
    pub items: Vec<BillingKeyInfo>,
    pub page: PageInfo,
}

by_status! {
    /// A schedule's state, the discriminator of [`PaymentSchedule`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    status PaymentScheduleStatus;

    /// `PaymentSchedule`, discriminated on `status`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
    union PaymentSchedule {
        Scheduled(PaymentScheduleBase),
        Started(StartedSchedule),
        Succeeded(CompletedSchedule),
        Failed(CompletedSchedule),
        Revoked(RevokedSchedule),
        Pending(CompletedSchedule),
    }
}

impl PaymentSchedule {
    /// What every status has.
    pub fn base(&self) -> &PaymentScheduleBase {
        match self {
            Self::Scheduled(base) => base,
            Self::Started(s) => &s.base,
            Self::Succeeded(s) | Self::Failed(s) | Self::Pending(s) => &s.base,
            Self::Revoked(s) => &s.base,
        }
    }
}

/// `ScheduledPaymentSchedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentScheduleBase {
    pub id: String,
    pub merchant_id: String,
    pub store_id: String,
    pub payment_id: String,
    pub billing_key: String,
    pub order_name: String,
    pub is_cultural_expense: bool,
    pub is_escrow: bool,
    pub customer: Customer,
    pub custom_data: String,
    pub total_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_free_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_amount: Option<i64>,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installment_month: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub time_to_pay: DateTime<Utc>,
}

/// `StartedPaymentSchedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedSchedule {
    #[serde(flatten)]
    pub base: PaymentScheduleBase,
    pub started_at: DateTime<Utc>,
}

/// `SucceededPaymentSchedule`, `FailedPaymentSchedule`, `PendingPaymentSchedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompletedSchedule {
    #[serde(flatten)]
    pub base: PaymentScheduleBase,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

/// `RevokedPaymentSchedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokedSchedule {
    #[serde(flatten)]
    pub base: PaymentScheduleBase,
    pub revoked_at: DateTime<Utc>,
}

/// `GET /payment-schedules` (`GetPaymentSchedulesBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetPaymentSchedulesBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<PaymentScheduleFilterInput>,
}

/// `PaymentScheduleFilterInput`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentScheduleFilterInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_key: Option<String>,
    /// Bounds on `timeToPay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<PaymentScheduleStatus>>,
}

/// `GetPaymentSchedulesResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetPaymentSchedulesResponse {
    pub items: Vec<PaymentSchedule>,
    pub page: PageInfo,
}

/// `DELETE /payment-schedules` (`RevokePaymentSchedulesBody`): a billing key's schedules,
/// or the listed ones.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokePaymentSchedulesBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_ids: Option<Vec<String>>,
}

/// `RevokePaymentSchedulesResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokePaymentSchedulesResponse {
    pub revoked_schedule_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

// ---------------------------------------------------------------------------------------
// Webhooks

/// What a webhook (2024-04-25 format) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum WebhookType {
    #[serde(rename = "Transaction.Ready")]
    TransactionReady,
    #[serde(rename = "Transaction.Paid")]
    TransactionPaid,
    #[serde(rename = "Transaction.VirtualAccountIssued")]
    TransactionVirtualAccountIssued,
    #[serde(rename = "Transaction.PartialCancelled")]
    TransactionPartialCancelled,
    #[serde(rename = "Transaction.Cancelled")]
    TransactionCancelled,
    #[serde(rename = "Transaction.Failed")]
    TransactionFailed,
    #[serde(rename = "Transaction.PayPending")]
    TransactionPayPending,
    #[serde(rename = "BillingKey.Issued")]
    BillingKeyIssued,
    #[serde(rename = "BillingKey.Deleted")]
    BillingKeyDeleted,
}

impl WebhookType {
    /// The name on the wire: `Transaction.Paid`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransactionReady => "Transaction.Ready",
            Self::TransactionPaid => "Transaction.Paid",
            Self::TransactionVirtualAccountIssued => "Transaction.VirtualAccountIssued",
            Self::TransactionPartialCancelled => "Transaction.PartialCancelled",
            Self::TransactionCancelled => "Transaction.Cancelled",
            Self::TransactionFailed => "Transaction.Failed",
            Self::TransactionPayPending => "Transaction.PayPending",
            Self::BillingKeyIssued => "BillingKey.Issued",
            Self::BillingKeyDeleted => "BillingKey.Deleted",
        }
    }
}

/// A webhook in the 2024-04-25 format, signed the Standard Webhooks way
/// ([`crate::signature`]) with the store's `whsec_` secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    #[serde(rename = "type")]
    pub kind: WebhookType,
    /// When the event happened; the same on every retry.
    pub timestamp: DateTime<Utc>,
    pub data: WebhookData,
}

/// What a webhook is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookData {
    pub store_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_key: Option<String>,
}
