//! The I'mport-specific controls under `/internal`.

use axum::extract::{Extension, Path, State};
use payments_api::iamport::*;
use serde::Deserialize;

use super::FakeIamport;
use super::error::IamportFault;
use super::model::{CardNumber, Channel, Order, Payment, Settings, unknown_payment};
use super::routes::payments::{Declined, settle};
use super::routes::vbanks::open;
use super::routes::{IamportBody, Merchant, Notice, Reply, change_payment, ok, positive};

/// `PUT|GET /internal/deposit/{imp_uid}`: the customer pays into the virtual account.
pub(super) async fn deposit(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportPayment> {
    change_payment(
        &fake,
        &merchant,
        &imp_uid,
        IamportPaymentStatus::Paid,
        unknown_payment,
        |payment, _, now| {
            payment.deposit(now)?;
            Ok(Notice::sent())
        },
    )
    .await
}

/// `POST /internal/cancel/{imp_uid}`: the merchant cancels from PortOne's console, all or
/// part (the fields of `POST /payments/cancel`; `imp_uid` from the path). Unlike an API
/// cancel, it always sends the `cancelled` webhook (webhook guide, "웹훅 발생 이벤트":
/// "관리자 콘솔에서 결제 취소되었을 때").
pub(super) async fn console_cancel(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
    IamportBody(input): IamportBody<IamportPaymentCancelCreate>,
) -> Reply<IamportPayment> {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let refund_account_given =
        given(&input.refund_holder) && given(&input.refund_bank) && given(&input.refund_account);
    change_payment(
        &fake,
        &merchant,
        &imp_uid,
        IamportPaymentStatus::Cancelled,
        unknown_payment,
        |payment, _, now| {
            let cancellation_id = payment.cancel(
                input.amount,
                input.checksum,
                &input.reason,
                refund_account_given,
                now,
            )?;
            Ok(Notice {
                send: true,
                cancellation_id: Some(cancellation_id),
            })
        },
    )
    .await
}

/// What the customer does in the payment window (`IMP.request_pay`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = IamportWindowPayment)]
pub(super) struct WindowPayment {
    merchant_uid: String,
    amount: f64,
    #[serde(default)]
    name: Option<String>,
    /// `card` (default) or `vbank`.
    #[serde(default)]
    pay_method: Option<String>,
    #[serde(default)]
    card_number: Option<String>,
    #[serde(default)]
    card_quota: Option<u32>,
    #[serde(default)]
    vbank_code: Option<String>,
    /// Unix seconds; a week from now when absent.
    #[serde(default)]
    vbank_due: Option<i64>,
    #[serde(default)]
    notice_url: Option<String>,
    #[serde(default)]
    buyer_name: Option<String>,
    #[serde(default)]
    buyer_email: Option<String>,
    #[serde(default)]
    buyer_tel: Option<String>,
    #[serde(default)]
    custom_data: Option<String>,
    /// An escrow payment, as `IMP.request_pay` asks with `escrow: true`.
    #[serde(default)]
    escrow: bool,
}

/// `POST /internal/payments`: the customer completes the payment window: a paid card
/// payment (or a failed one, for a declined card or a wrong pre-registered amount), or a
/// virtual account waiting for its deposit.
pub(super) async fn payment_window(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<WindowPayment>,
) -> Reply<IamportPayment> {
    positive("amount", input.amount)?;
    let now_ms = fake.now_ms();
    let now = now_ms / 1000;
    let method = input.pay_method.as_deref().unwrap_or("card");
    let order = || Order {
        merchant_uid: &input.merchant_uid,
        name: input.name.as_deref(),
        amount: input.amount,
        buyer_name: input.buyer_name.clone(),
        buyer_email: input.buyer_email.clone(),
        buyer_tel: input.buyer_tel.clone(),
        custom_data: input.custom_data.clone(),
        channel: Channel::Pc,
        notice_url: input.notice_url.clone(),
        escrow: input.escrow,
        ..Order::default()
    };
    match method {
        "card" => {
            let number = CardNumber::parse(
                input
                    .card_number
                    .as_deref()
                    .unwrap_or("4092-0230-1234-5678"),
                merchant.lock().compat(),
            )?;
            let payment = {
                let data = merchant.lock();
                data.check_new_order(&input.merchant_uid, now_ms)?;
                let mut payment = Payment::card(
                    order(),
                    number,
                    input.card_quota.unwrap_or(0),
                    data.settings.mask_card_numbers,
                    now,
                );
                // A wrong amount for a pre-registered order fails the payment, as the
                // real window does.
                if let Err(reason) = data.check_prepared(&input.merchant_uid, input.amount, now_ms)
                {
                    payment.fail(reason, now);
                }
                payment
            };
            settle(&fake, &merchant, payment, Declined::Refused).await
        }
        "vbank" => {
            let due = input.vbank_due.unwrap_or(now + 7 * 86_400);
            if due <= now {
                return Err(IamportFault::refused(
                    1,
                    "입금기한(vbank_due)은 현재 이후여야 합니다.",
                ));
            }
            let code = input.vbank_code.as_deref().unwrap_or("088");
            open(&fake, &merchant, &input.merchant_uid, input.amount, || {
                Payment::vbank(order(), code, "테스트상점", due, now)
            })
            .await
        }
        other => Err(IamportFault::invalid(format!(
            "pay_method 는 card 또는 vbank 여야 합니다: {other}"
        ))),
    }
}

/// `GET /internal/merchant`: the merchant's settings.
pub(super) async fn settings(Extension(merchant): Merchant) -> Reply<Settings> {
    ok(merchant.lock().settings.clone())
}

/// `PUT /internal/merchant`: replaces the merchant's settings.
pub(super) async fn set_settings(
    Extension(merchant): Merchant,
    IamportBody(settings): IamportBody<Settings>,
) -> Reply<Settings> {
    if let Some(Some(url)) = &settings.webhook_url {
        let valid = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !valid {
            return Err(IamportFault::invalid(format!(
                "{url:?} 는 http(s) URL 이 아닙니다."
            )));
        }
    }
    merchant.lock().settings = settings.clone();
    ok(settings)
}
