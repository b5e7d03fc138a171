//! The fake I'mport's OpenAPI document: I'mport's routes it serves and its own `/internal`
//! controls (the shared ones are added by [`crate::openapi::document`]).

// The functions below exist for their annotations only; nothing calls them.
#![allow(dead_code)]

use payments_api::iamport::*;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::internal::WindowPayment;
use super::model::Settings;
use super::routes::certifications::CertificationAccessor;
use super::routes::payments::{ListQuery, PageQuery, Sorting};
use super::routes::schedules::{CustomerScheduleRange, ScheduleRange};

/// The document of I'mport's routes and the fake's own controls.
pub(super) fn document() -> Document {
    Iamport::openapi()
}

const DESCRIPTION: &str = "\
A stateful in-memory fake of the I'mport (PortOne V1) REST API (`https://api.iamport.kr`): \
the routes the payments server and client backends use, each answering I'mport's envelope \
`{code, message, response}` (`code` 0 on success). Get a token with `POST /users/getToken` \
and send it as the `Authorization` header.";

#[derive(OpenApi)]
#[openapi(
    info(title = "payments-sandbox: fake I'mport"),
    paths(
        get_token,
        payments_many,
        payment,
        balance,
        find,
        find_with_status,
        find_all,
        find_all_with_status,
        by_status,
        cancel,
        prepare,
        prepare_change,
        prepare_read,
        onetime,
        again,
        schedule,
        schedule_list,
        schedule_of_customer,
        customer_schedules,
        customer_payments,
        unschedule,
        schedule_read,
        schedule_change,
        schedule_reschedule,
        schedule_retry,
        customers_many,
        customer_read,
        customer_register,
        customer_delete,
        vbank_issue,
        vbank_change_by_body,
        vbank_change,
        vbank_revoke,
        otp_request,
        otp_confirm,
        certification_read,
        certification_delete,
        receipt_read,
        receipt_issue,
        receipt_cancel,
        deposit,
        payment_window,
        console_cancel,
        merchant,
        set_merchant,
    ),
    components(schemas(IamportError, IamportWebhook)),
    security(("token" = [])),
    modifiers(&Finish),
    tags(
        (name = "auth", description = "Access tokens"),
        (name = "payments", description = "I'mport's payments"),
        (name = "subscribe", description = "Billing keys and their payments"),
        (name = "vbanks", description = "Virtual accounts"),
        (name = "certifications", description = "Identity verification by SMS code"),
        (name = "receipts", description = "Cash receipts"),
        (name = "internal", description = "The customer's actions and the merchant's settings, fake-only"),
    )
)]
struct Iamport;

/// I'mport's error answer: a non-zero `code`, a message and `response: null` (with the
/// merchant's `business_errors_as_200`, business refusals come with HTTP 200).
#[derive(ToSchema)]
struct IamportError {
    code: i64,
    message: String,
    #[schema(value_type = Option<Object>)]
    response: Option<()>,
}

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
                "token",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Authorization"))),
            );
    }
}

/// An access token for a key pair.
#[utoipa::path(post, path = "/users/getToken", tag = "auth", security(()),
    request_body(content((IamportUserAccessor = "application/json"), (IamportUserAccessor = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportUser>),
        (status = 401, description = "Unknown keys", body = IamportError),
    ))]
fn get_token() {}

/// The payload of `GET /payments`, a list of payments, for the document only: utoipa puts
/// a type in a `Vec` through its hidden `ComposeSchema` trait, which `IamportPayment` (its
/// schema written by hand with the public `PartialSchema`) lacks.
struct IamportPaymentList;

impl PartialSchema for IamportPaymentList {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new().items(IamportPayment::schema()).into()
    }
}

impl ToSchema for IamportPaymentList {
    fn name() -> std::borrow::Cow<'static, str> {
        "IamportPaymentList".into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        IamportPayment::schemas(schemas);
    }
}

/// Up to 100 payments at once, by `imp_uid[]` and `merchant_uid[]`; 207 when some were
/// not found.
#[utoipa::path(get, path = "/payments", tag = "payments",
    params(
        ("imp_uid[]" = Option<Vec<String>>, Query),
        ("merchant_uid[]" = Option<Vec<String>>, Query),
    ),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentList>),
        (status = 207, description = "Some were not found", body = IamportResponse<IamportPaymentList>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn payments_many() {}

/// A payment by its imp_uid.
#[utoipa::path(get, path = "/payments/{imp_uid}", tag = "payments",
    params(("imp_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn payment() {}

/// A payment's amount by method and tax kind, and its changes since it was paid.
#[utoipa::path(get, path = "/payments/{imp_uid}/balance", tag = "payments",
    params(("imp_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentBalance>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn balance() {}

/// The first payment of an order.
#[utoipa::path(get, path = "/payments/find/{merchant_uid}", tag = "payments",
    params(("merchant_uid" = String, Path), Sorting),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn find() {}

/// The first payment of an order in a status.
#[utoipa::path(get, path = "/payments/find/{merchant_uid}/{payment_status}", tag = "payments",
    params(("merchant_uid" = String, Path), ("payment_status" = IamportPaymentStatus, Path), Sorting),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn find_with_status() {}

/// Every payment of an order, a page at a time.
#[utoipa::path(get, path = "/payments/findAll/{merchant_uid}", tag = "payments",
    params(("merchant_uid" = String, Path), ListQuery),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentPage>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn find_all() {}

/// Every payment of an order in a status, a page at a time.
#[utoipa::path(get, path = "/payments/findAll/{merchant_uid}/{payment_status}", tag = "payments",
    params(("merchant_uid" = String, Path), ("payment_status" = IamportPaymentStatus, Path), ListQuery),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentPage>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn find_all_with_status() {}

/// The merchant's payments in a status (`all` for any), a page at a time.
#[utoipa::path(get, path = "/payments/status/{payment_status}", tag = "payments",
    params(("payment_status" = String, Path), ListQuery),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentPage>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn by_status() {}

/// Cancel a payment, fully or partly.
#[utoipa::path(post, path = "/payments/cancel", tag = "payments",
    request_body(content((IamportPaymentCancelCreate = "application/json"), (IamportPaymentCancelCreate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn cancel() {}

/// Pre-register an order's amount: a payment with another amount fails.
#[utoipa::path(post, path = "/payments/prepare", tag = "payments",
    request_body(content((IamportPaymentPrepare = "application/json"), (IamportPaymentPrepare = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentPrepare>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn prepare() {}

/// Change a pre-registered amount.
#[utoipa::path(put, path = "/payments/prepare", tag = "payments",
    request_body(content((IamportPaymentPrepare = "application/json"), (IamportPaymentPrepare = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentPrepare>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn prepare_change() {}

/// A pre-registered amount.
#[utoipa::path(get, path = "/payments/prepare/{merchant_uid}", tag = "payments",
    params(("merchant_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentPrepare>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn prepare_read() {}

/// A payment with card details, optionally keeping them as a billing key.
#[utoipa::path(post, path = "/subscribe/payments/onetime", tag = "subscribe",
    request_body(content((IamportSubscriptionOnetime = "application/json"), (IamportSubscriptionOnetime = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn onetime() {}

/// A payment with a billing key.
#[utoipa::path(post, path = "/subscribe/payments/again", tag = "subscribe",
    request_body(content((IamportSubscriptionAgain = "application/json"), (IamportSubscriptionAgain = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn again() {}

/// Schedule payments with a billing key; they run on the fake's clock.
#[utoipa::path(post, path = "/subscribe/payments/schedule", tag = "subscribe",
    request_body(content((IamportScheduleCreate = "application/json"), (IamportScheduleCreate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<Vec<IamportSchedule>>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn schedule() {}

/// The merchant's scheduled payments whose time is in a range, a page at a time.
#[utoipa::path(get, path = "/subscribe/payments/schedule", tag = "subscribe",
    params(ScheduleRange),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<Vec<IamportSchedule>>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn schedule_list() {}

/// A billing key's scheduled payments whose time is in a range, 20 a page, latest first.
#[utoipa::path(get, path = "/subscribe/payments/schedule/customers/{customer_uid}", tag = "subscribe",
    params(("customer_uid" = String, Path), CustomerScheduleRange),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<Vec<IamportSchedule>>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn schedule_of_customer() {}

/// The same as `GET /subscribe/payments/schedule/customers/{customer_uid}`.
#[utoipa::path(get, path = "/subscribe/customers/{customer_uid}/schedules", tag = "subscribe",
    params(("customer_uid" = String, Path), CustomerScheduleRange),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<Vec<IamportSchedule>>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn customer_schedules() {}

/// The payments made with a billing key, newest first, 20 a page.
#[utoipa::path(get, path = "/subscribe/customers/{customer_uid}/payments", tag = "subscribe",
    params(("customer_uid" = String, Path), PageQuery),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPaymentPage>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn customer_payments() {}

/// Revoke scheduled payments.
#[utoipa::path(post, path = "/subscribe/payments/unschedule", tag = "subscribe",
    request_body(content((IamportUnschedule = "application/json"), (IamportUnschedule = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<Vec<IamportSchedule>>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn unschedule() {}

/// A scheduled payment.
#[utoipa::path(get, path = "/subscribe/payments/schedule/{merchant_uid}", tag = "subscribe",
    params(("merchant_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportSchedule>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn schedule_read() {}

/// Move a scheduled payment still waiting to another time.
#[utoipa::path(put, path = "/subscribe/payments/schedule/{merchant_uid}", tag = "subscribe",
    params(("merchant_uid" = String, Path)),
    request_body(content((IamportScheduleTime = "application/json"), (IamportScheduleTime = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportSchedule>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn schedule_change() {}

/// Schedule again, at another time, a scheduled payment that failed or was revoked.
#[utoipa::path(post, path = "/subscribe/payments/schedule/{merchant_uid}/reschedule", tag = "subscribe",
    params(("merchant_uid" = String, Path)),
    request_body(content((IamportScheduleTime = "application/json"), (IamportScheduleTime = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportSchedule>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn schedule_reschedule() {}

/// Charge at once a scheduled payment that failed or was revoked: the payment, paid or
/// failed.
#[utoipa::path(post, path = "/subscribe/payments/schedule/{merchant_uid}/retry", tag = "subscribe",
    params(("merchant_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn schedule_retry() {}

/// Up to 100 billing keys at once, by `customer_uid[]`; 207 when some were not found.
#[utoipa::path(get, path = "/subscribe/customers", tag = "subscribe",
    params(("customer_uid[]" = Vec<String>, Query)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<Vec<IamportSubscription>>),
        (status = 207, description = "Some were not found", body = IamportResponse<Vec<IamportSubscription>>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn customers_many() {}

/// A billing key.
#[utoipa::path(get, path = "/subscribe/customers/{customer_uid}", tag = "subscribe",
    params(("customer_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportSubscription>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn customer_read() {}

/// Register a card as a billing key.
#[utoipa::path(post, path = "/subscribe/customers/{customer_uid}", tag = "subscribe",
    params(("customer_uid" = String, Path)),
    request_body(content((IamportSubscriptionCreate = "application/json"), (IamportSubscriptionCreate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportSubscription>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn customer_register() {}

/// Delete a billing key.
#[utoipa::path(delete, path = "/subscribe/customers/{customer_uid}", tag = "subscribe",
    params(("customer_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportSubscription>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn customer_delete() {}

/// Issue a virtual account.
#[utoipa::path(post, path = "/vbanks", tag = "vbanks",
    request_body(content((IamportVBankCreate = "application/json"), (IamportVBankCreate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn vbank_issue() {}

/// Change a virtual account, named in the body.
#[utoipa::path(put, path = "/vbanks", tag = "vbanks",
    request_body(content((IamportVBankUpdate = "application/json"), (IamportVBankUpdate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn vbank_change_by_body() {}

/// Change a virtual account's amount or deadline.
#[utoipa::path(put, path = "/vbanks/{imp_uid}", tag = "vbanks",
    params(("imp_uid" = String, Path)),
    request_body(content((IamportVBankUpdate = "application/json"), (IamportVBankUpdate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn vbank_change() {}

/// Revoke a virtual account that waits for its deposit.
#[utoipa::path(delete, path = "/vbanks/{imp_uid}", tag = "vbanks",
    params(("imp_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn vbank_revoke() {}

/// Send an SMS code (the fake puts it in `__otp`).
#[utoipa::path(post, path = "/certifications/otp/request", tag = "certifications",
    request_body(content((IamportCertificationCreate = "application/json"), (IamportCertificationCreate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<CertificationAccessor>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn otp_request() {}

/// Confirm an SMS code.
#[utoipa::path(post, path = "/certifications/otp/confirm/{imp_uid}", tag = "certifications",
    params(("imp_uid" = String, Path)),
    request_body(content((IamportCertificationConfirm = "application/json"), (IamportCertificationConfirm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportCertification>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn otp_confirm() {}

/// A verification.
#[utoipa::path(get, path = "/certifications/{imp_uid}", tag = "certifications",
    params(("imp_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportCertification>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn certification_read() {}

/// Delete a verification.
#[utoipa::path(delete, path = "/certifications/{imp_uid}", tag = "certifications",
    params(("imp_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportCertification>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn certification_delete() {}

/// A payment's cash receipt.
#[utoipa::path(get, path = "/receipts/{imp_uid}", tag = "receipts",
    params(("imp_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportReceipt>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn receipt_read() {}

/// Issue a payment's cash receipt.
#[utoipa::path(post, path = "/receipts/{imp_uid}", tag = "receipts",
    params(("imp_uid" = String, Path)),
    request_body(content((IamportReceiptCreate = "application/json"), (IamportReceiptCreate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportReceipt>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn receipt_issue() {}

/// Cancel a payment's cash receipt.
#[utoipa::path(delete, path = "/receipts/{imp_uid}", tag = "receipts",
    params(("imp_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportReceipt>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn receipt_cancel() {}

/// The customer pays into the virtual account (also `GET`).
#[utoipa::path(put, path = "/internal/deposit/{imp_uid}", tag = "internal",
    params(("imp_uid" = String, Path)),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn deposit() {}

/// The customer completes the payment window (`IMP.request_pay`): a paid card payment (or
/// a failed one), or a virtual account waiting for its deposit.
#[utoipa::path(post, path = "/internal/payments", tag = "internal",
    request_body(content((WindowPayment = "application/json"), (WindowPayment = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn payment_window() {}

/// The merchant cancels from PortOne's console, all or part: unlike an API cancel, it always
/// sends the `cancelled` webhook.
#[utoipa::path(post, path = "/internal/cancel/{imp_uid}", tag = "internal",
    params(("imp_uid" = String, Path)),
    request_body(content((IamportPaymentCancelCreate = "application/json"), (IamportPaymentCancelCreate = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<IamportPayment>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn console_cancel() {}

/// The merchant's settings.
#[utoipa::path(get, path = "/internal/merchant", tag = "internal",
    responses((status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<Settings>)))]
fn merchant() {}

/// Replace the merchant's settings.
#[utoipa::path(put, path = "/internal/merchant", tag = "internal",
    request_body(content((Settings = "application/json"), (Settings = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Success: `code` 0 and the payload in `response`", body = IamportResponse<Settings>),
        (status = "4XX", description = "I'mport's error envelope", body = IamportError),
    ))]
fn set_merchant() {}
