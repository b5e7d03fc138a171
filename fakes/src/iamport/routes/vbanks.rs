//! `/vbanks`: virtual accounts issued through the API, changed and revoked before their
//! deposit.

use axum::extract::{Extension, Path, State};
use payments_api::iamport::*;

use super::super::error::IamportFault;
use super::super::model::{Channel, Order, Payment, unknown_payment};
use super::super::{FakeIamport, MerchantHandle};
use super::{IamportBody, Merchant, Notice, Reply, change_payment, ok, positive};

/// `POST /vbanks`: a virtual account waiting for its deposit until `vbank_due`.
pub(in super::super) async fn issue(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportVBankCreate>,
) -> Reply<IamportPayment> {
    let now = fake.now_ms() / 1000;
    positive("amount", input.amount)?;
    if input.vbank_code.trim().is_empty() {
        return Err(IamportFault::invalid("vbank_code 가 필요합니다."));
    }
    check_due(input.vbank_due, now)?;
    let order = Order {
        merchant_uid: &input.merchant_uid,
        name: input.name.as_deref(),
        amount: input.amount,
        buyer_name: input.buyer_name.clone(),
        buyer_email: input.buyer_email.clone(),
        buyer_tel: input.buyer_tel.clone(),
        buyer_addr: input.buyer_addr.clone(),
        buyer_postcode: input.buyer_postcode.clone(),
        custom_data: input.custom_data.clone(),
        channel: Channel::Api,
        notice_url: input.notice_url.clone(),
        ..Order::default()
    };
    let holder = input.vbank_holder.as_deref().unwrap_or("테스트상점");
    open(&fake, &merchant, &input.merchant_uid, input.amount, || {
        Payment::vbank(order, &input.vbank_code, holder, input.vbank_due, now)
    })
    .await
}

fn check_due(due: i64, now: i64) -> Result<(), IamportFault> {
    if due <= now {
        return Err(IamportFault::refused(
            1,
            "입금기한(vbank_due)은 현재 이후여야 합니다.",
        ));
    }
    Ok(())
}

/// Stores a new virtual account, made by `make` once its order passed the checks, with
/// the `ready` webhook; it fails at its deadline unless paid.
pub(in super::super) async fn open(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    merchant_uid: &str,
    amount: f64,
    make: impl FnOnce() -> Payment,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let (payment, outgoing) = {
        // The checks and the insert under one lock: two calls for one order make one
        // payment.
        let mut data = merchant.lock();
        data.check_order(merchant_uid, amount, now_ms)?;
        let imp_uid = data.insert_payment(make(), now_ms);
        let stored = data.payment(&imp_uid, now_ms)?;
        let outgoing = fake.webhook(
            &data.settings,
            &imp_uid,
            stored,
            IamportPaymentStatus::Ready,
            None,
        );
        (stored.render(&imp_uid), outgoing)
    };
    fake.send(outgoing.into_iter().collect()).await;
    ok(payment)
}

/// `PUT /vbanks/{imp_uid}`: changes the amount or the deadline.
pub(in super::super) async fn change(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
    IamportBody(input): IamportBody<IamportVBankUpdate>,
) -> Reply<IamportPayment> {
    change_vbank(&fake, &merchant, &imp_uid, input).await
}

/// `PUT /vbanks`, the SDK's form, with `imp_uid` in the body.
pub(in super::super) async fn change_by_body(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportVBankUpdate>,
) -> Reply<IamportPayment> {
    let imp_uid = input
        .imp_uid
        .clone()
        .ok_or_else(|| IamportFault::invalid("imp_uid 가 필요합니다."))?;
    change_vbank(&fake, &merchant, &imp_uid, input).await
}

async fn change_vbank(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    imp_uid: &str,
    input: IamportVBankUpdate,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    if let Some(amount) = input.amount {
        positive("amount", amount)?;
    }
    if let Some(due) = input.vbank_due {
        check_due(due, now_ms / 1000)?;
    }
    change_payment(
        fake,
        merchant,
        imp_uid,
        IamportPaymentStatus::Ready,
        unknown_payment,
        |payment, settings, _| {
            payment.change_vbank(input.amount, input.vbank_due)?;
            // The real webhook's triggers do not include a change of the account.
            Ok(Notice {
                send: settings.original_webhooks,
                cancellation_id: None,
            })
        },
    )
    .await
}

/// `DELETE /vbanks/{imp_uid}`: revokes an account before its deposit.
pub(in super::super) async fn revoke(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportPayment> {
    change_payment(
        &fake,
        &merchant,
        &imp_uid,
        IamportPaymentStatus::Cancelled,
        unknown_payment,
        |payment, settings, now| {
            payment.revoke(now)?;
            Ok(Notice {
                // Nor its revoke, which is an API cancel without `enable_webhook`.
                send: settings.original_webhooks,
                cancellation_id: None,
            })
        },
    )
    .await
}
