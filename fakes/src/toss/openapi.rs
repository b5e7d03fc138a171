//! The fake Toss Payments' OpenAPI document: Toss's `/v1` routes it serves and its own
//! `/internal` controls (the shared ones are added by [`crate::openapi::document`]).

// The functions below exist for their annotations only; nothing calls them.
#![allow(dead_code)]

use payments_api::toss::*;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::internal::{
    CardRegistered, CardRegistration, MerchantChange, MerchantSettings, RefundSettlement,
    WindowPayment, WindowResult,
};

/// The document of Toss's routes and the fake's own controls.
pub(super) fn document() -> Document {
    Toss::openapi()
}

const DESCRIPTION: &str = "\
A stateful in-memory fake of the Toss Payments API (`https://api.tosspayments.com`): the \
`/v1` routes the payments server and client backends use, with Toss's error bodies \
(`{code, message}`) and webhooks. Authenticate with HTTP Basic: the secret key as the user, \
an empty password. A `TossPayments-Test-Code` header makes a request fail with that code, \
as in Toss's test mode.";

#[derive(OpenApi)]
#[openapi(
    info(title = "payments-sandbox: fake Toss Payments"),
    paths(
        payment,
        payment_by_order,
        cancel,
        virtual_account,
        billing_by_card,
        billing_issue,
        billing_lookup,
        billing_charge,
        billing_delete,
        cash_receipt,
        cash_receipt_cancel,
        cash_receipts,
        transactions,
        key_in,
        confirm,
        approve,
        deposit,
        settle_refund,
        payment_window,
        card_registration_window,
        merchant,
        set_merchant,
    ),
    components(schemas(TossError, TossDepositCallback, TossPaymentStatusChanged)),
    security(("basic" = [])),
    modifiers(&Finish),
    tags(
        (name = "payments", description = "Toss's payments"),
        (name = "billing", description = "Toss's billing keys (automatic payments)"),
        (name = "cash-receipts", description = "Toss's cash receipts"),
        (name = "transactions", description = "Toss's transactions (approvals and cancels), for reconciliation"),
        (name = "internal", description = "The customer's actions and the merchant's settings, fake-only"),
    )
)]
struct Toss;

struct Finish;

impl Modify for Finish {
    fn modify(&self, doc: &mut Document) {
        doc.info.description = Some(format!(
            "{DESCRIPTION}{}",
            crate::openapi::SHARED_DESCRIPTION
        ));
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "basic",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
            );
    }
}

/// A payment by its paymentKey.
#[utoipa::path(get, path = "/v1/payments/{paymentKey}", tag = "payments",
    params(("paymentKey" = String, Path)),
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`NOT_FOUND_PAYMENT`, `UNAUTHORIZED_KEY`, …", body = TossError),
    ))]
fn payment() {}

/// A payment by its orderId.
#[utoipa::path(get, path = "/v1/payments/orders/{orderId}", tag = "payments",
    params(("orderId" = String, Path)),
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`NOT_FOUND_PAYMENT`, …", body = TossError),
    ))]
fn payment_by_order() {}

/// Cancel a payment, fully or partly (`Idempotency-Key` honoured).
#[utoipa::path(post, path = "/v1/payments/{paymentKey}/cancel", tag = "payments",
    params(("paymentKey" = String, Path)),
    request_body = TossPaymentCancelCreate,
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`NOT_CANCELABLE_AMOUNT`, `ALREADY_CANCELED_PAYMENT`, …", body = TossError),
    ))]
fn cancel() {}

/// Issue a virtual account.
#[utoipa::path(post, path = "/v1/virtual-accounts", tag = "payments",
    request_body = TossVirtualAccountCreate,
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`INVALID_REQUEST`, `DUPLICATED_ORDER_ID`, …", body = TossError),
    ))]
fn virtual_account() {}

/// Issue a billing key from card details.
#[utoipa::path(post, path = "/v1/billing/authorizations/card", tag = "billing",
    request_body = TossBillingCreate,
    responses(
        (status = 200, description = "OK", body = TossBilling),
        (status = "4XX", description = "`INVALID_CARD_NUMBER`, …", body = TossError),
    ))]
fn billing_by_card() {}

/// Issue a billing key from the card-registration window's authKey.
#[utoipa::path(post, path = "/v1/billing/authorizations/issue", tag = "billing",
    request_body = TossBillingIssue,
    responses(
        (status = 200, description = "OK", body = TossBilling),
        (status = "4XX", description = "`INVALID_AUTH_KEY`, …", body = TossError),
    ))]
fn billing_issue() {}

/// A billing key, given its customerKey.
#[utoipa::path(post, path = "/v1/billing/authorizations/{billingKey}", tag = "billing",
    params(("billingKey" = String, Path)),
    request_body = TossCustomerKey,
    responses(
        (status = 200, description = "OK", body = TossBilling),
        (status = "4XX", description = "`NOT_FOUND_BILLING`, …", body = TossError),
    ))]
fn billing_lookup() {}

/// Charge a billing key.
#[utoipa::path(post, path = "/v1/billing/{billingKey}", tag = "billing",
    params(("billingKey" = String, Path)),
    request_body = TossBillingCharge,
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`NOT_FOUND_BILLING`, `REJECT_CARD_PAYMENT`, …", body = TossError),
    ))]
fn billing_charge() {}

/// Delete a billing key: later charges and lookups find nothing.
#[utoipa::path(delete, path = "/v1/billing/{billingKey}", tag = "billing",
    params(("billingKey" = String, Path)),
    responses(
        (status = 200, description = "Deleted (no body)"),
        (status = "4XX", description = "`NOT_FOUND_BILLING`, …", body = TossError),
    ))]
fn billing_delete() {}

/// Issue a cash receipt.
#[utoipa::path(post, path = "/v1/cash-receipts", tag = "cash-receipts",
    request_body = TossCashReceiptCreate,
    responses(
        (status = 200, description = "OK", body = TossCashReceipt),
        (status = "4XX", description = "`INVALID_REQUEST`, …", body = TossError),
    ))]
fn cash_receipt() {}

/// Cancel a cash receipt.
#[utoipa::path(post, path = "/v1/cash-receipts/{receiptKey}/cancel", tag = "cash-receipts",
    params(("receiptKey" = String, Path)),
    request_body = TossCashReceiptCancel,
    responses(
        (status = 200, description = "OK", body = TossCashReceipt),
        (status = "4XX", description = "`NOT_FOUND_RECEIPT`, …", body = TossError),
    ))]
fn cash_receipt_cancel() {}

/// The cash receipts issued and cancelled on a day (KST), a page at a time.
#[utoipa::path(get, path = "/v1/cash-receipts", tag = "cash-receipts",
    params(
        ("requestDate" = String, Query, description = "The day, `yyyy-MM-dd`"),
        ("cursor" = Option<u64>, Query, description = "The previous page's `lastCursor`"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1 to 10000 (default 100)"),
    ),
    responses(
        (status = 200, description = "OK", body = TossCashReceiptPage),
        (status = "4XX", description = "`INVALID_REQUEST`, …", body = TossError),
    ))]
fn cash_receipts() {}

/// The merchant's transactions (each approval and each cancel) from `startDate` to
/// `endDate`, in time order.
#[utoipa::path(get, path = "/v1/transactions", tag = "transactions",
    params(
        ("startDate" = String, Query, description = "From, `yyyy-MM-ddTHH:mm:ss` (KST)"),
        ("endDate" = String, Query, description = "To, `yyyy-MM-ddTHH:mm:ss` (KST), included"),
        ("startingAfter" = Option<String>, Query, description = "The transactionKey after which the page starts"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1 to 10000 (default 100)"),
    ),
    responses(
        (status = 200, description = "OK", body = Vec<TossTransaction>),
        (status = "4XX", description = "`INVALID_REQUEST`, `INVALID_TRANSACTION_KEY`, …", body = TossError),
    ))]
fn transactions() {}

/// A card payment with card details (key-in).
#[utoipa::path(post, path = "/v1/payments/key-in", tag = "payments",
    request_body = TossKeyInCreate,
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`INVALID_CARD_NUMBER`, `REJECT_CARD_PAYMENT`, …", body = TossError),
    ))]
fn key_in() {}

/// Approve a payment the customer completed in the payment window.
#[utoipa::path(post, path = "/v1/payments/confirm", tag = "payments",
    request_body = TossPaymentConfirm,
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`NOT_FOUND_PAYMENT_SESSION`, `ALREADY_PROCESSED_PAYMENT`, …", body = TossError),
    ))]
fn confirm() {}

/// The older form of the approval.
#[utoipa::path(post, path = "/v1/payments/{paymentKey}", tag = "payments",
    params(("paymentKey" = String, Path)),
    request_body = TossPaymentApproval,
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "As `POST /v1/payments/confirm`", body = TossError),
    ))]
fn approve() {}

/// The customer pays into the virtual account (also `GET`).
#[utoipa::path(put, path = "/internal/{paymentKey}/deposit", tag = "internal",
    params(("paymentKey" = String, Path)),
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`NOT_FOUND_PAYMENT`, …", body = TossError),
    ))]
fn deposit() {}

/// The bank settles the payment's pending refunds now: `COMPLETED`, or `FAILED` whatever
/// account they go to; `virtualAccount.refundStatus` changes, no webhook is sent.
#[utoipa::path(post, path = "/internal/{paymentKey}/refund", tag = "internal",
    params(("paymentKey" = String, Path)),
    request_body = RefundSettlement,
    responses(
        (status = 200, description = "OK", body = TossPayment),
        (status = "4XX", description = "`NOT_FOUND_PAYMENT`, `INVALID_REQUEST` (no refund pending), …", body = TossError),
    ))]
fn settle_refund() {}

/// The customer completes Toss's payment window: answers what the success redirect
/// carries; the payment waits `IN_PROGRESS` for approval.
#[utoipa::path(post, path = "/internal/payments", tag = "internal",
    request_body = WindowPayment,
    responses(
        (status = 200, description = "OK", body = WindowResult),
        (status = "4XX", description = "Toss's error", body = TossError),
    ))]
fn payment_window() {}

/// The customer registers a card; the authKey is exchanged at
/// `POST /v1/billing/authorizations/issue`.
#[utoipa::path(post, path = "/internal/billing/authorizations", tag = "internal",
    request_body = CardRegistration,
    responses(
        (status = 200, description = "OK", body = CardRegistered),
        (status = "4XX", description = "Toss's error", body = TossError),
    ))]
fn card_registration_window() {}

/// The authenticated merchant's settings.
#[utoipa::path(get, path = "/internal/merchant", tag = "internal",
    responses((status = 200, description = "OK", body = MerchantSettings)))]
fn merchant() {}

/// Change the merchant's settings: the fields sent change, the others stay.
#[utoipa::path(put, path = "/internal/merchant", tag = "internal",
    request_body = MerchantChange,
    responses(
        (status = 200, description = "OK", body = MerchantSettings),
        (status = "4XX", description = "Toss's error", body = TossError),
    ))]
fn set_merchant() {}
