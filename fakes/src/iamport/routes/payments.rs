//! Payments: reading them, finding them by order, cancelling them.

use axum::extract::{Extension, Path, RawQuery, State};
use payments_api::iamport::*;

use super::super::error::IamportFault;
use super::super::model::Payment;
use super::super::{FakeIamport, MerchantHandle};
use super::{IamportJson, Merchant, Notice, Reply, change_payment, ok};

/// `GET /payments/{imp_uid}`.
pub(in super::super) async fn one(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportPayment> {
    let now = fake.now_ms();
    let payment = merchant.lock().payment(&imp_uid, now)?.render(&imp_uid);
    ok(payment)
}

/// `GET /payments?imp_uid[]=…&merchant_uid[]=…`: up to 100 payments at once.
pub(in super::super) async fn many(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    RawQuery(query): RawQuery,
) -> Reply<Vec<IamportPayment>> {
    let url = reqwest::Url::parse(&format!("http://q/?{}", query.unwrap_or_default()))
        .map_err(|e| IamportFault::invalid(e.to_string()))?;
    let (mut by_imp, mut by_merchant) = (Vec::new(), Vec::new());
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "imp_uid[]" | "imp_uid" => by_imp.push(value.into_owned()),
            "merchant_uid[]" | "merchant_uid" => by_merchant.push(value.into_owned()),
            _ => {}
        }
    }
    if by_imp.is_empty() && by_merchant.is_empty() {
        return Err(IamportFault::invalid(
            "imp_uid[] 또는 merchant_uid[] 가 필요합니다.",
        ));
    }
    if by_imp.len() + by_merchant.len() > 100 {
        return Err(IamportFault::invalid(
            "한 번에 100건까지 조회할 수 있습니다.",
        ));
    }
    let now = fake.now_ms();
    let data = merchant.lock();
    let found: Vec<IamportPayment> = by_imp
        .iter()
        .filter_map(|uid| data.payment(uid, now).ok().map(|p| p.render(uid)))
        .chain(
            by_merchant
                .iter()
                .filter_map(|uid| data.payment_by_order(uid, now))
                .map(|(imp_uid, p)| p.render(imp_uid)),
        )
        .collect();
    if found.is_empty() {
        return Err(IamportFault::not_found("존재하지 않는 결제정보입니다."));
    }
    ok(found)
}

/// `GET /payments/find/{merchant_uid}`: the latest payment of an order.
pub(in super::super) async fn find(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
) -> Reply<IamportPayment> {
    find_payment(&fake, &merchant, &merchant_uid, None)
}

/// `GET /payments/find/{merchant_uid}/{payment_status}`.
pub(in super::super) async fn find_with_status(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path((merchant_uid, status)): Path<(String, String)>,
) -> Reply<IamportPayment> {
    let status: IamportPaymentStatus =
        serde_json::from_value(serde_json::Value::from(status.clone())).map_err(|_| {
            IamportFault::invalid(format!(
                "payment_status 는 ready, paid, cancelled, failed 중 하나여야 합니다: {status}"
            ))
        })?;
    find_payment(&fake, &merchant, &merchant_uid, Some(status))
}

fn find_payment(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    merchant_uid: &str,
    status: Option<IamportPaymentStatus>,
) -> Reply<IamportPayment> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let (imp_uid, payment) = data
        .payment_by_order(merchant_uid, now)
        .filter(|(_, p)| status.is_none_or(|s| p.status() == s))
        .ok_or_else(|| IamportFault::not_found("존재하지 않는 결제정보입니다."))?;
    ok(payment.render(imp_uid))
}

/// `POST /payments/cancel`: all or part of a paid payment, by imp_uid or merchant_uid.
pub(in super::super) async fn cancel(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportPaymentCancelCreate>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let imp_uid = match (&input.imp_uid, &input.merchant_uid) {
        (Some(imp_uid), _) if !imp_uid.is_empty() => imp_uid.clone(),
        (_, Some(merchant_uid)) if !merchant_uid.is_empty() => merchant
            .lock()
            .imp_uid_of(merchant_uid, now_ms)
            .unwrap_or_default()
            .to_owned(),
        _ => {
            return Err(IamportFault::invalid(
                "imp_uid 또는 merchant_uid 가 필요합니다.",
            ));
        }
    };
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let refund_account_given =
        given(&input.refund_holder) && given(&input.refund_bank) && given(&input.refund_account);
    change_payment(
        &fake,
        &merchant,
        &imp_uid,
        IamportPaymentStatus::Cancelled,
        || IamportFault::missing("취소할 결제건이 존재하지 않습니다."),
        |payment, settings, now| {
            let cancellation_id = payment.cancel(
                input.amount,
                input.checksum,
                &input.reason,
                refund_account_given,
                now,
            )?;
            Ok(Notice {
                send: !settings.cancel_webhook_requires_flag || input.enable_webhook == Some(true),
                cancellation_id: Some(cancellation_id),
            })
        },
    )
    .await
}

/// Stores a new card payment and answers for it: the payment, or the refusal of a
/// declined card (whose failed payment stays readable), with the `paid` webhook.
pub(in super::super) async fn settle(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    payment: Payment,
) -> Reply<IamportPayment> {
    let now = fake.now_ms();
    let status = payment.status();
    let refusal = (status == IamportPaymentStatus::Failed).then(|| {
        IamportFault::refused(
            -1,
            format!(
                "카드 승인에 실패하였습니다. {}",
                payment.fail_reason().unwrap_or_default()
            ),
        )
    });
    let (answer, outgoing) = {
        let mut data = merchant.lock();
        let imp_uid = data.insert_payment(payment, now);
        let stored = data.payment(&imp_uid, now)?;
        let outgoing = (status == IamportPaymentStatus::Paid)
            .then(|| fake.webhook(&data.settings, &imp_uid, stored, status, None))
            .flatten();
        (stored.render(&imp_uid), outgoing)
    };
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    fake.send(outgoing.into_iter().collect()).await;
    ok(answer)
}
