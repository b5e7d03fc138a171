//! The fake PortOne V2's OpenAPI document: PortOne's routes it serves and its own
//! `/internal` controls (the shared ones are added by [`crate::openapi::document`]).

// The functions below exist for their annotations only; nothing calls them.
#![allow(dead_code)]

use payments_api::portone::*;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::internal::{
    CardRegistered, CardRegistration, MerchantSettings, WindowPayment, WindowResult,
};
use super::routes::StoreQuery;
use super::routes::billing_keys::DeleteQuery;

/// The document of PortOne's routes and the fake's own controls.
pub(super) fn document() -> Document {
    PortOne::openapi()
}

const DESCRIPTION: &str = "\
A stateful in-memory fake of the PortOne V2 REST API (`https://api.portone.io`): the routes \
the payments server and client backends use, with PortOne's error bodies \
(`{type, message}`) and Standard Webhooks-signed webhooks. Authenticate with \
`Authorization: PortOne <api secret>`, or `Bearer <access token>` from \
`POST /login/api-secret`. The `GET` routes that take an input read it from the body or from \
the `requestBody` query parameter (its JSON text), as PortOne does.";

#[derive(OpenApi)]
#[openapi(
    info(title = "payments-sandbox: fake PortOne V2"),
    paths(
        login,
        refresh,
        payment,
        payments,
        payments_by_cursor,
        pre_register,
        confirm,
        instant,
        billing_key_payment,
        schedule,
        cancel,
        close_virtual_account,
        resend_webhook,
        cash_receipt,
        billing_keys,
        issue_billing_key,
        billing_key,
        delete_billing_key,
        schedules,
        revoke_schedules,
        payment_window,
        deposit,
        billing_key_window,
        merchant,
        set_merchant,
    ),
    components(schemas(PortOneError, Webhook)),
    security(("portone" = [])),
    modifiers(&Finish),
    tags(
        (name = "auth", description = "Access tokens"),
        (name = "payments", description = "PortOne's payments"),
        (name = "billing-keys", description = "PortOne's billing keys"),
        (name = "schedules", description = "Scheduled billing-key payments"),
        (name = "internal", description = "The customer's actions and the store's settings, fake-only"),
    )
)]
struct PortOne;

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
                "portone",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "Authorization",
                    "`PortOne <api secret>` or `Bearer <access token>`",
                ))),
            );
    }
}

/// An access token for an API secret.
#[utoipa::path(post, path = "/login/api-secret", tag = "auth", security(()),
    request_body = LoginViaApiSecretBody,
    responses(
        (status = 200, description = "OK", body = TokenResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn login() {}

/// A fresh access token for a refresh token.
#[utoipa::path(post, path = "/token/refresh", tag = "auth", security(()),
    request_body = RefreshTokenBody,
    responses(
        (status = 200, description = "OK", body = TokenResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn refresh() {}

/// A payment by its paymentId.
#[utoipa::path(get, path = "/payments/{paymentId}", tag = "payments",
    params(("paymentId" = String, Path), StoreQuery),
    responses(
        (status = 200, description = "OK", body = Payment),
        (status = "4XX", description = "`PAYMENT_NOT_FOUND`, `UNAUTHORIZED`, …", body = PortOneError),
    ))]
fn payment() {}

/// The store's payments, a page at a time.
#[utoipa::path(get, path = "/payments", tag = "payments",
    params(("requestBody" = Option<String>, Query, description = "The input's JSON text, instead of a body")),
    request_body = GetPaymentsBody,
    responses(
        (status = 200, description = "OK", body = GetPaymentsResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn payments() {}

/// The store's payments by cursor.
#[utoipa::path(get, path = "/payments-by-cursor", tag = "payments",
    params(("requestBody" = Option<String>, Query, description = "The input's JSON text, instead of a body")),
    request_body = GetAllPaymentsByCursorBody,
    responses(
        (status = 200, description = "OK", body = GetAllPaymentsByCursorResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn payments_by_cursor() {}

/// Pre-register a payment's amount: a payment with another amount fails.
#[utoipa::path(post, path = "/payments/{paymentId}/pre-register", tag = "payments",
    params(("paymentId" = String, Path)),
    request_body = PreRegisterPaymentBody,
    responses(
        (status = 200, description = "An empty object", body = Object),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn pre_register() {}

/// Confirm a payment authorised in the window with `manualConfirm`.
#[utoipa::path(post, path = "/payments/{paymentId}/confirm", tag = "payments",
    params(("paymentId" = String, Path)),
    request_body = ConfirmPaymentBody,
    responses(
        (status = 200, description = "OK", body = PaymentSummary),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn confirm() {}

/// A payment with card details (or a virtual account), at once.
#[utoipa::path(post, path = "/payments/{paymentId}/instant", tag = "payments",
    params(("paymentId" = String, Path)),
    request_body = InstantPaymentInput,
    responses(
        (status = 200, description = "OK", body = PaymentSummaryResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn instant() {}

/// A payment with a billing key.
#[utoipa::path(post, path = "/payments/{paymentId}/billing-key", tag = "payments",
    params(("paymentId" = String, Path)),
    request_body = BillingKeyPaymentInput,
    responses(
        (status = 200, description = "OK", body = PaymentSummaryResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn billing_key_payment() {}

/// Schedule a billing-key payment; it runs on the fake's clock.
#[utoipa::path(post, path = "/payments/{paymentId}/schedule", tag = "schedules",
    params(("paymentId" = String, Path)),
    request_body = CreatePaymentScheduleBody,
    responses(
        (status = 200, description = "OK", body = CreatePaymentScheduleResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn schedule() {}

/// Cancel a payment, fully or partly.
#[utoipa::path(post, path = "/payments/{paymentId}/cancel", tag = "payments",
    params(("paymentId" = String, Path)),
    request_body = CancelPaymentBody,
    responses(
        (status = 200, description = "OK", body = CancelPaymentResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn cancel() {}

/// Close a virtual account that waits for its deposit.
#[utoipa::path(post, path = "/payments/{paymentId}/virtual-account/close", tag = "payments",
    params(("paymentId" = String, Path), StoreQuery),
    responses(
        (status = 200, description = "OK", body = CloseVirtualAccountResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn close_virtual_account() {}

/// Send a payment's webhook again.
#[utoipa::path(post, path = "/payments/{paymentId}/resend-webhook", tag = "payments",
    params(("paymentId" = String, Path)),
    request_body = ResendWebhookBody,
    responses(
        (status = 200, description = "OK", body = ResendWebhookResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn resend_webhook() {}

/// A payment's cash receipt.
#[utoipa::path(get, path = "/payments/{paymentId}/cash-receipt", tag = "payments",
    params(("paymentId" = String, Path), StoreQuery),
    responses(
        (status = 200, description = "OK", body = CashReceipt),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn cash_receipt() {}

/// The store's billing keys, a page at a time.
#[utoipa::path(get, path = "/billing-keys", tag = "billing-keys",
    params(("requestBody" = Option<String>, Query, description = "The input's JSON text, instead of a body")),
    request_body = GetBillingKeyInfosBody,
    responses(
        (status = 200, description = "OK", body = GetBillingKeyInfosResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn billing_keys() {}

/// Issue a billing key from card details.
#[utoipa::path(post, path = "/billing-keys", tag = "billing-keys",
    request_body = IssueBillingKeyBody,
    responses(
        (status = 200, description = "OK", body = IssueBillingKeyResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn issue_billing_key() {}

/// A billing key.
#[utoipa::path(get, path = "/billing-keys/{billingKey}", tag = "billing-keys",
    params(("billingKey" = String, Path), StoreQuery),
    responses(
        (status = 200, description = "OK", body = BillingKeyInfo),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn billing_key() {}

/// Delete a billing key.
#[utoipa::path(delete, path = "/billing-keys/{billingKey}", tag = "billing-keys",
    params(("billingKey" = String, Path), DeleteQuery),
    responses(
        (status = 200, description = "OK", body = DeleteBillingKeyResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn delete_billing_key() {}

/// The store's scheduled payments, a page at a time.
#[utoipa::path(get, path = "/payment-schedules", tag = "schedules",
    params(("requestBody" = Option<String>, Query, description = "The input's JSON text, instead of a body")),
    request_body = GetPaymentSchedulesBody,
    responses(
        (status = 200, description = "OK", body = GetPaymentSchedulesResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn schedules() {}

/// Revoke scheduled payments.
#[utoipa::path(delete, path = "/payment-schedules", tag = "schedules",
    params(("requestBody" = Option<String>, Query, description = "The input's JSON text, instead of a body")),
    request_body = RevokePaymentSchedulesBody,
    responses(
        (status = 200, description = "OK", body = RevokePaymentSchedulesResponse),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn revoke_schedules() {}

/// The customer completes the payment window: answers what the browser SDK hands back.
#[utoipa::path(post, path = "/internal/payments/{paymentId}", tag = "internal",
    params(("paymentId" = String, Path)),
    request_body = WindowPayment,
    responses(
        (status = 200, description = "OK", body = WindowResult),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn payment_window() {}

/// The customer pays into the virtual account.
#[utoipa::path(post, path = "/internal/payments/{paymentId}/deposit", tag = "internal",
    params(("paymentId" = String, Path)),
    responses(
        (status = 200, description = "OK", body = Payment),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn deposit() {}

/// The customer registers a card in the billing-key window.
#[utoipa::path(post, path = "/internal/billing-keys", tag = "internal",
    request_body = CardRegistration,
    responses(
        (status = 200, description = "OK", body = CardRegistered),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn billing_key_window() {}

/// The store's id, webhook URL and secret.
#[utoipa::path(get, path = "/internal/merchant", tag = "internal",
    responses((status = 200, description = "OK", body = MerchantSettings)))]
fn merchant() {}

/// Change the store's webhook URL and secret.
#[utoipa::path(put, path = "/internal/merchant", tag = "internal",
    request_body = MerchantSettings,
    responses(
        (status = 200, description = "OK", body = MerchantSettings),
        (status = "4XX", description = "PortOne's error", body = PortOneError),
    ))]
fn set_merchant() {}
