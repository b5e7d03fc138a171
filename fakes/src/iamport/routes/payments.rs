//! Payments: reading them, finding them by order, cancelling them.

use axum::Json;
use axum::extract::{Extension, Path, Query, RawQuery, State};
use axum::http::StatusCode;
use payments_api::iamport::*;
use serde::Deserialize;

use super::super::error::IamportFault;
use super::super::model::Payment;
use super::super::{FakeIamport, MerchantHandle};
use super::{IamportBody, Merchant, Notice, Reply, change_payment, ok};

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

/// `GET /payments/{imp_uid}/balance` (v1.openapi.json, "결제 상세내역 조회"): the payment's
/// amount by method and tax kind now, and each change since it was paid. The fake's
/// payments are paid by one method, wholly taxable (VAT a rounded eleventh), with no points
/// or discounts; the cash receipt part is the issued receipt's, if one is.
pub(in super::super) async fn balance(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportPaymentBalance> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let payment = data.payment(&imp_uid, now)?;
    let histories: Vec<IamportBalanceHistory> = payment
        .amount_changes()
        .into_iter()
        .map(|(at, amount)| IamportBalanceHistory {
            cash_receipt: IamportBalanceAmounts::default(),
            primary: taxable(amount),
            secondary: IamportBalanceAmounts::default(),
            discount: IamportBalanceAmounts::default(),
            created: at,
        })
        .collect();
    let paid: f64 = payment.amount_changes().iter().map(|(_, a)| a).sum();
    let cash_receipt = match data.receipt(&imp_uid, now) {
        Ok(receipt) if receipt.cancelled_at == 0 => IamportBalanceAmounts {
            supply: receipt.amount - receipt.vat,
            vat: receipt.vat,
            ..IamportBalanceAmounts::default()
        },
        _ => IamportBalanceAmounts::default(),
    };
    ok(IamportPaymentBalance {
        amount: payment.amount(),
        cash_receipt,
        primary: taxable(paid),
        secondary: IamportBalanceAmounts::default(),
        discount: IamportBalanceAmounts::default(),
        histories,
    })
}

/// A wholly taxable amount: VAT is its rounded eleventh, supply the rest.
fn taxable(amount: f64) -> IamportBalanceAmounts {
    let vat = (amount / 11.0).round();
    IamportBalanceAmounts {
        supply: amount - vat,
        vat,
        ..IamportBalanceAmounts::default()
    }
}

/// `GET /payments?imp_uid[]=…&merchant_uid[]=…`: up to 100 payments at once; 207 Multi-Status
/// when some were not found (v1.openapi.json: "요청된 imp_uid 중 일부 거래 조회 실패").
pub(in super::super) async fn many(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    RawQuery(query): RawQuery,
) -> Result<(StatusCode, Json<IamportResponse<Vec<IamportPayment>>>), IamportFault> {
    let query = query.unwrap_or_default();
    let (mut by_imp, mut by_merchant) = (Vec::new(), Vec::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
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
    let status = if found.len() < by_imp.len() + by_merchant.len() {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    Ok((status, Json(IamportResponse::success(found))))
}

/// How `find` orders the payments of an order: its `sorting` query, `-started` by default.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(in super::super) struct Sorting {
    /// `-started` (default), `started`, `-paid`, `paid`, `-updated` or `updated`.
    #[serde(default)]
    sorting: Option<String>,
}

/// `GET /payments/find/{merchant_uid}`: the first payment of an order in `sorting`'s order.
pub(in super::super) async fn find(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
    Query(sorting): Query<Sorting>,
) -> Reply<IamportPayment> {
    find_payment(&fake, &merchant, &merchant_uid, None, sorting)
}

/// `GET /payments/find/{merchant_uid}/{payment_status}`.
pub(in super::super) async fn find_with_status(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path((merchant_uid, status)): Path<(String, String)>,
    Query(sorting): Query<Sorting>,
) -> Reply<IamportPayment> {
    let status = parse_status(&status)?;
    find_payment(&fake, &merchant, &merchant_uid, Some(status), sorting)
}

/// Orders `payments` (oldest first) as `sorting` says: `-started` (the default),
/// `started`, `-paid`, `paid`, `-updated` or `updated` (v1.openapi.json, `sorting`).
fn sort(payments: &mut [(&str, &Payment)], sorting: Option<&str>) -> Result<(), IamportFault> {
    let sorting = sorting.unwrap_or("-started");
    let (descending, field) = match sorting.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, sorting),
    };
    let key: fn(&Payment) -> i64 = match field {
        "started" => Payment::started_at,
        "paid" => Payment::paid_at,
        "updated" => Payment::updated_at,
        _ => {
            return Err(IamportFault::invalid(format!(
                "sorting 은 started, paid, updated 중 하나여야 합니다(내림차순은 - 를 앞에): {sorting}"
            )));
        }
    };
    // A stable sort keeps ties oldest first; the reversal puts the latest first among them.
    payments.sort_by_key(|(_, p)| key(p));
    if descending {
        payments.reverse();
    }
    Ok(())
}

fn parse_status(status: &str) -> Result<IamportPaymentStatus, IamportFault> {
    serde_json::from_value(serde_json::Value::from(status)).map_err(|_| {
        IamportFault::invalid(format!(
            "payment_status 는 ready, paid, cancelled, failed 중 하나여야 합니다: {status}"
        ))
    })
}

fn find_payment(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    merchant_uid: &str,
    status: Option<IamportPaymentStatus>,
    Sorting { sorting }: Sorting,
) -> Reply<IamportPayment> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let mut candidates: Vec<(&str, &Payment)> = data
        .payments_of_order(merchant_uid, now)
        .into_iter()
        .filter(|(_, p)| status.is_none_or(|s| p.status() == s))
        .collect();
    sort(&mut candidates, sorting.as_deref())?;
    let (imp_uid, payment) = candidates
        .first()
        .ok_or_else(|| IamportFault::not_found("존재하지 않는 결제정보입니다."))?;
    ok(payment.render(imp_uid))
}

/// Paging and ordering of a list of payments (v1.openapi.json: `page` from 1, `limit` at
/// most 1,000, 20 by default; `from`, `to` in unix seconds for `payments/status`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(in super::super) struct ListQuery {
    #[serde(default)]
    page: Option<u64>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    sorting: Option<String>,
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    to: Option<i64>,
}

/// One page of `payments`, sorted.
fn page(
    mut payments: Vec<(&str, &Payment)>,
    query: &ListQuery,
) -> Result<IamportPaymentPage, IamportFault> {
    let page = query.page.unwrap_or(1);
    let limit = query.limit.unwrap_or(20);
    if page == 0 {
        return Err(IamportFault::invalid("page 는 1 이상이어야 합니다."));
    }
    if !(1..=1000).contains(&limit) {
        return Err(IamportFault::invalid(
            "limit 은 1에서 1000 사이여야 합니다.",
        ));
    }
    sort(&mut payments, query.sorting.as_deref())?;
    let total = payments.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    let list = payments
        .into_iter()
        .skip(start)
        .take(limit as usize)
        .map(|(imp_uid, p)| p.render(imp_uid))
        .collect();
    Ok(IamportPaymentPage {
        total,
        previous: page - 1,
        next: if page.saturating_mul(limit) < total {
            page + 1
        } else {
            0
        },
        list,
    })
}

/// `GET /payments/findAll/{merchant_uid}`: every payment of an order, a page at a time.
pub(in super::super) async fn find_all(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
    Query(query): Query<ListQuery>,
) -> Reply<IamportPaymentPage> {
    find_all_of(&fake, &merchant, &merchant_uid, None, &query)
}

/// `GET /payments/findAll/{merchant_uid}/{payment_status}`.
pub(in super::super) async fn find_all_with_status(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path((merchant_uid, status)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
) -> Reply<IamportPaymentPage> {
    let status = parse_status(&status)?;
    find_all_of(&fake, &merchant, &merchant_uid, Some(status), &query)
}

fn find_all_of(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    merchant_uid: &str,
    status: Option<IamportPaymentStatus>,
    query: &ListQuery,
) -> Reply<IamportPaymentPage> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let payments: Vec<(&str, &Payment)> = data
        .payments_of_order(merchant_uid, now)
        .into_iter()
        .filter(|(_, p)| status.is_none_or(|s| p.status() == s))
        .collect();
    if payments.is_empty() {
        return Err(IamportFault::not_found("존재하지 않는 결제정보입니다."));
    }
    ok(page(payments, query)?)
}

/// The page of `GET /subscribe/customers/{customer_uid}/payments` (v1.openapi.json:
/// `page` from 1, the only parameter; a page is at most 20, `list`'s "최대 20개").
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(in super::super) struct PageQuery {
    #[serde(default)]
    page: Option<u64>,
}

/// `GET /subscribe/customers/{customer_uid}/payments`: the payments made with a billing
/// key (and the one that registered it, by `onetime`), newest first, 20 a page; 404 for a
/// key that is not registered, or no longer is (a deleted key's payments stay, each found
/// by its imp_uid, but the key no longer names them).
pub(in super::super) async fn of_customer(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
    Query(query): Query<PageQuery>,
) -> Reply<IamportPaymentPage> {
    let now = fake.now_ms();
    let data = merchant.lock();
    data.subscription(&customer_uid, now)?;
    let payments: Vec<(&str, &Payment)> = data
        .all_payments(now)
        .filter(|(_, p)| p.customer_uid() == Some(customer_uid.as_str()))
        .collect();
    let query = ListQuery {
        page: query.page,
        limit: None,
        sorting: None,
        from: None,
        to: None,
    };
    ok(page(payments, &query)?)
}

/// `GET /payments/status/{payment_status}`: the payments in a status (`all` for any), whose
/// time of that status is within `from`..=`to` (90 days up to now by default).
pub(in super::super) async fn by_status(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(status): Path<String>,
    Query(query): Query<ListQuery>,
) -> Reply<IamportPaymentPage> {
    let status = match status.as_str() {
        "all" => None,
        other => Some(parse_status(other)?),
    };
    let now = fake.now_ms();
    let to = query.to.unwrap_or(now / 1000);
    let from = query.from.unwrap_or(to - 90 * 86_400);
    let data = merchant.lock();
    let payments: Vec<(&str, &Payment)> = data
        .all_payments(now)
        .filter(|(_, p)| status.is_none_or(|s| p.status() == s))
        .filter(|(_, p)| (from..=to).contains(&p.status_at()))
        .collect();
    ok(page(payments, &query)?)
}

/// `POST /payments/cancel`: all or part of a paid payment, by imp_uid or merchant_uid.
pub(in super::super) async fn cancel(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportPaymentCancelCreate>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let imp_uid = match (&input.imp_uid, &input.merchant_uid) {
        (Some(imp_uid), _) if !imp_uid.is_empty() => imp_uid.clone(),
        (_, Some(merchant_uid)) if !merchant_uid.is_empty() => merchant
            .lock()
            .imp_uid_of(merchant_uid, now_ms)
            .unwrap_or_default()
            .to_owned(),
        // The V1 schema gives `POST /payments/cancel` no 400: a refusal in the envelope.
        _ => {
            return Err(IamportFault::refused(
                -1,
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
                // PortOne V1 `POST /payments/cancel`: `enable_webhook` defaults to false,
                // and an API cancel is then only logged, not sent.
                send: settings.original_webhooks || input.enable_webhook == Some(true),
                cancellation_id: Some(cancellation_id),
            })
        },
    )
    .await
}

/// How a new card payment the issuer declined is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in super::super) enum Declined {
    /// As a refusal (`code: -1`): the payment window's control, standing for the failure
    /// callback the customer's browser gets.
    Refused,
    /// As the failed payment with `code: 0`: the API's payments (`subscribe/payments/
    /// onetime`, `again`), whose callers read `status` and `fail_reason`.
    Answered,
}

/// Stores a new card payment and answers for it: the payment, or, as `declined` says, the
/// refusal of a declined card (whose failed payment stays readable), with the `paid`
/// webhook.
pub(in super::super) async fn settle(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    payment: Payment,
    declined: Declined,
) -> Reply<IamportPayment> {
    let now = fake.now_ms();
    let status = payment.status();
    let refused = status == IamportPaymentStatus::Failed && declined == Declined::Refused;
    let refusal = refused.then(|| {
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
