//! I'mport's REST API.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, header};
use payments_api::iamport::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::IamportFault;
use super::model::{self, MerchantData, Order, PaymentRecord, ScheduleRecord, SubscriptionRecord};
use super::{FakeIamport, MerchantHandle, is_pending};
use crate::delivery::Outgoing;
use crate::ids::{random_alnum, random_digits};

/// A JSON body; a malformed one is a 400 in I'mport's envelope. Empty reads as `{}`.
pub(super) struct IamportJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for IamportJson<T> {
    type Rejection = IamportFault;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| IamportFault::invalid(e.body_text()))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(IamportJson)
            .map_err(|e| IamportFault::invalid(format!("요청 형식이 올바르지 않습니다: {e}")))
    }
}

pub(super) type Reply<T> = Result<Json<IamportResponse<T>>, IamportFault>;
pub(super) type Merchant = Extension<Arc<MerchantHandle>>;

pub(super) fn ok<T: Serialize>(value: T) -> Reply<T> {
    Ok(Json(IamportResponse::success(value)))
}

pub(super) fn positive(name: &str, amount: f64) -> Result<f64, IamportFault> {
    if amount.is_finite() && amount > 0.0 {
        Ok(amount)
    } else {
        Err(IamportFault::invalid(format!(
            "{name} 는 0보다 큰 숫자여야 합니다: {amount}"
        )))
    }
}

fn today(fake: &FakeIamport) -> chrono::NaiveDate {
    fake.inner
        .core
        .clock
        .now()
        .with_timezone(&crate::clock::kst())
        .date_naive()
}

/// `POST /users/getToken`, JSON or form-encoded: the same token until it nears expiry.
pub(super) async fn get_token(
    State(fake): State<FakeIamport>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply<IamportUser> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("x-www-form-urlencoded"));
    let fields: serde_json::Map<String, serde_json::Value> = if is_form {
        let text = String::from_utf8_lossy(&body);
        reqwest::Url::parse(&format!("http://form/?{text}"))
            .map(|u| {
                u.query_pairs()
                    .map(|(k, v)| (k.into_owned(), serde_json::Value::from(v.into_owned())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        serde_json::from_slice(&body).unwrap_or_default()
    };
    let field = |name: &str| fields.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let (Some(imp_key), Some(imp_secret)) = (field("imp_key"), field("imp_secret")) else {
        return Err(IamportFault::invalid(
            "imp_key, imp_secret 파라메터가 누락되었습니다.",
        ));
    };
    let known = fake
        .inner
        .config
        .credentials
        .iter()
        .any(|c| c.imp_key == imp_key && c.imp_secret == imp_secret);
    if !known {
        let mut fault = IamportFault::unauthorized();
        fault.message = "인증에 실패하였습니다. API키와 secret을 확인하세요.".into();
        return Err(fault);
    }
    let merchant = fake.merchant(&imp_key);
    let now = fake.now_ms();
    let life = i64::try_from(fake.inner.config.token_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let (token, expires) = {
        let mut data = merchant.lock();
        let (token, expires) = match data.token.clone() {
            // The same token until its last minute…
            Some((token, expires)) if now < expires - 60_000 => (token, expires),
            // …when asking again extends it by five minutes.
            Some((token, expires)) if now < expires => (token, expires + 300_000),
            _ => (random_alnum(40).to_lowercase(), now.saturating_add(life)),
        };
        data.token = Some((token.clone(), expires));
        (token, expires)
    };
    fake.inner
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone(), (imp_key, expires), now);
    ok(IamportUser {
        access_token: token,
        now: now / 1000,
        expired_at: expires / 1000,
    })
}

pub(super) async fn payment(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportPayment> {
    let now = fake.now_ms();
    let mut data = merchant.lock();
    let payment = data.payment(&imp_uid, now)?.payment.clone();
    ok(payment)
}

/// `GET /payments?imp_uid[]=…&merchant_uid[]=…`: up to 100 payments at once.
pub(super) async fn payments(
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
        .filter_map(|uid| data.payments.get(uid, now))
        .chain(
            by_merchant
                .iter()
                .filter_map(|uid| data.payment_by_order(uid, now)),
        )
        .map(|r| r.payment.clone())
        .collect();
    if found.is_empty() {
        return Err(IamportFault::not_found("존재하지 않는 결제정보입니다."));
    }
    ok(found)
}

pub(super) async fn find(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
) -> Reply<IamportPayment> {
    find_payment(&fake, &merchant, &merchant_uid, None)
}

pub(super) async fn find_with_status(
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
    let record = data
        .payment_by_order(merchant_uid, now)
        .filter(|r| status.is_none_or(|s| r.payment.base().status == s))
        .ok_or_else(|| IamportFault::not_found("존재하지 않는 결제정보입니다."))?;
    ok(record.payment.clone())
}

/// `POST /payments/cancel`: all or part of a paid payment, through the PG.
pub(super) async fn cancel(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportPaymentCancelCreate>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let now = fake.now_s();
    let (payment, outgoing) = {
        let mut data = merchant.lock();
        let imp_uid = match (&input.imp_uid, &input.merchant_uid) {
            (Some(imp_uid), _) if !imp_uid.is_empty() => imp_uid.clone(),
            (_, Some(merchant_uid)) if !merchant_uid.is_empty() => {
                data.orders.get(merchant_uid).cloned().unwrap_or_default()
            }
            _ => {
                return Err(IamportFault::invalid(
                    "imp_uid 또는 merchant_uid 가 필요합니다.",
                ));
            }
        };
        let settings = data.settings.clone();
        let Some(record) = data.payments.get_mut(&imp_uid, now_ms) else {
            return Err(IamportFault::missing("취소할 결제건이 존재하지 않습니다."));
        };
        let base = record.payment.base();
        match base.status {
            IamportPaymentStatus::Paid => {}
            IamportPaymentStatus::Cancelled => {
                return Err(IamportFault::refused(1, "이미 전액취소된 주문입니다."));
            }
            IamportPaymentStatus::Ready => {
                return Err(IamportFault::refused(
                    1,
                    "입금 전인 가상계좌는 취소할 수 없습니다. 발급을 취소하려면 DELETE /vbanks/{imp_uid} 를 호출하세요.",
                ));
            }
            IamportPaymentStatus::Failed => {
                return Err(IamportFault::refused(
                    1,
                    "결제에 실패한 건은 취소할 수 없습니다.",
                ));
            }
        }
        let remaining = base.amount - base.cancel_amount;
        let amount = match input.amount {
            // Absent or 0: the whole remaining balance, as the real API reads it.
            None | Some(0.0) => remaining,
            Some(a) if a.is_finite() && a > 0.0 => a,
            Some(a) => {
                return Err(IamportFault::invalid(format!(
                    "amount 가 올바르지 않습니다: {a}"
                )));
            }
        };
        if amount > remaining {
            return Err(IamportFault::refused(
                1,
                "취소 금액은 결제 또는 잔여 금액보다 클 수 없습니다.",
            ));
        }
        if input.checksum.is_some_and(|c| c != remaining) {
            return Err(IamportFault::refused(
                1,
                format!(
                    "취소가능잔액(checksum)이 일치하지 않습니다. 현재 취소가능잔액: {remaining}"
                ),
            ));
        }
        if matches!(record.payment, IamportPayment::VBank(_)) {
            let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
            if !(given(&input.refund_holder)
                && given(&input.refund_bank)
                && given(&input.refund_account))
            {
                return Err(IamportFault::refused(
                    1,
                    "가상계좌 취소는 계좌번호, 예금주, 은행명을 입력해야 합니다.",
                ));
            }
        }
        let cancellation_id = format!("cancel_{}", random_digits(14));
        let base = record.payment.base_mut();
        base.cancel_amount += amount;
        base.cancel_reason = Some(input.reason.clone());
        base.cancelled_at = now;
        base.cancel_history.push(IamportPaymentCancel {
            pg_id: base.pg_id.clone(),
            pg_tid: format!("{}C{}", base.pg_tid, base.cancel_history.len() + 1),
            amount,
            cancelled_at: now,
            reason: input.reason.clone(),
            receipt_url: format!(
                "{}/cancel/{}",
                base.receipt_url,
                base.cancel_history.len() + 1
            ),
            cancellation_id: Some(cancellation_id.clone()),
        });
        if base.cancel_amount >= base.amount {
            base.status = IamportPaymentStatus::Cancelled;
        }
        let record = record.clone();
        let notify = !settings.cancel_webhook_requires_flag || input.enable_webhook == Some(true);
        let outgoing = if notify {
            fake.webhook(
                &data,
                &record,
                IamportPaymentStatus::Cancelled,
                Some(cancellation_id),
            )
        } else {
            None
        };
        (record.payment, outgoing)
    };
    fake.send(outgoing.into_iter().collect()).await;
    ok(payment)
}

pub(super) async fn prepare(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportPaymentPrepare>,
) -> Reply<IamportPaymentPrepare> {
    positive("amount", input.amount)?;
    let now = fake.now_ms();
    let mut data = merchant.lock();
    if data.prepared.get(&input.merchant_uid, now).is_some() {
        return Err(IamportFault::refused(
            1,
            "이미 사전등록된 merchant_uid 입니다. 금액을 바꾸려면 PUT /payments/prepare 를 호출하세요.",
        ));
    }
    data.prepared
        .insert(input.merchant_uid.clone(), input.amount, now);
    ok(input)
}

pub(super) async fn prepare_update(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportPaymentPrepare>,
) -> Reply<IamportPaymentPrepare> {
    positive("amount", input.amount)?;
    let now = fake.now_ms();
    let mut data = merchant.lock();
    let Some(amount) = data.prepared.get_mut(&input.merchant_uid, now) else {
        return Err(IamportFault::not_found(
            "사전등록된 결제정보가 존재하지 않습니다.",
        ));
    };
    *amount = input.amount;
    ok(input)
}

pub(super) async fn prepared(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
) -> Reply<IamportPaymentPrepare> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let amount = *data
        .prepared
        .get(&merchant_uid, now)
        .ok_or_else(|| IamportFault::not_found("사전등록된 결제정보가 존재하지 않습니다."))?;
    ok(IamportPaymentPrepare {
        merchant_uid,
        amount,
    })
}

/// Registers (or replaces) a billing key; declined magic cards are refused.
fn register(
    data: &mut MerchantData,
    customer_uid: &str,
    card: &IamportCardInput,
    today: chrono::NaiveDate,
    now_ms: i64,
) -> Result<IamportSubscription, IamportFault> {
    if customer_uid.is_empty() || customer_uid.len() > 80 {
        return Err(IamportFault::invalid(
            "customer_uid 는 1자 이상 80자 이하여야 합니다.",
        ));
    }
    let number = model::card_number(&card.card_number)?;
    model::check_card(&card.expiry, &card.birth, today)?;
    if let Some(reason) = model::decline_reason(&number) {
        return Err(IamportFault::refused(
            -1,
            format!("카드정보 인증에 실패하였습니다. {reason}"),
        ));
    }
    let now = now_ms / 1000;
    let inserted = data
        .subscriptions
        .get(customer_uid, now_ms)
        .map_or(now, |r| r.subscription.inserted);
    let (card_code, card_name) = model::card_company(&number);
    let subscription = IamportSubscription {
        customer_uid: customer_uid.to_owned(),
        pg_provider: "nice".to_owned(),
        pg_id: "iamport00m".to_owned(),
        card_name: card_name.to_owned(),
        card_code: card_code.to_owned(),
        card_number: if data.settings.mask_card_numbers {
            model::mask(&number)
        } else {
            number.clone()
        },
        card_type: "0".to_owned(),
        customer_name: card.customer_name.clone(),
        customer_tel: card.customer_tel.clone(),
        customer_email: card.customer_email.clone(),
        customer_addr: card.customer_addr.clone(),
        customer_postcode: card.customer_postcode.clone(),
        inserted,
        updated: now,
    };
    data.subscriptions.insert(
        customer_uid.to_owned(),
        SubscriptionRecord {
            subscription: subscription.clone(),
            card_number: number,
        },
        now_ms,
    );
    Ok(subscription)
}

fn order_of<'a>(input: &'a IamportOrderInput, channel: &'a str) -> Order<'a> {
    Order {
        merchant_uid: &input.merchant_uid,
        name: Some(&input.name),
        amount: input.amount,
        currency: input.currency.clone(),
        buyer_name: input.buyer_name.clone(),
        buyer_email: input.buyer_email.clone(),
        buyer_tel: input.buyer_tel.clone(),
        buyer_addr: input.buyer_addr.clone(),
        buyer_postcode: input.buyer_postcode.clone(),
        custom_data: input.custom_data.clone(),
        channel,
        ..Order::default()
    }
}

/// Stores a new card payment and answers for it: the payment, or the refusal of a
/// declined card (whose failed payment stays readable), with the `paid` webhook.
pub(super) async fn settle(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    record: PaymentRecord,
) -> Reply<IamportPayment> {
    let now = fake.now_ms();
    let outgoing = {
        let mut data = merchant.lock();
        data.insert_payment(record.clone(), now);
        let status = record.payment.base().status;
        (status == IamportPaymentStatus::Paid)
            .then(|| fake.webhook(&data, &record, status, None))
            .flatten()
    };
    let base = record.payment.base();
    if base.status == IamportPaymentStatus::Failed {
        return Err(IamportFault::refused(
            -1,
            format!(
                "카드 승인에 실패하였습니다. {}",
                base.fail_reason.as_deref().unwrap_or_default()
            ),
        ));
    }
    fake.send(outgoing.into_iter().collect()).await;
    ok(record.payment)
}

pub(super) async fn onetime(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportSubscriptionOnetime>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let number = model::card_number(&input.card.card_number)?;
    model::check_card(&input.card.expiry, &input.card.birth, today(&fake))?;
    positive("amount", input.order.amount)?;
    let record = {
        let mut data = merchant.lock();
        data.check_order(&input.order.merchant_uid, input.order.amount, now_ms)?;
        let declined = model::decline_reason(&number).is_some();
        if let Some(customer_uid) = input.customer_uid.as_deref().filter(|_| !declined) {
            register(&mut data, customer_uid, &input.card, today(&fake), now_ms)?;
        }
        let mut order = order_of(&input.order, "api");
        order.customer_uid = input.customer_uid.clone();
        order.customer_uid_usage = input.customer_uid.as_ref().map(|_| "issue");
        let payment = model::card_payment(
            order,
            &number,
            input.order.card_quota.unwrap_or(0),
            data.settings.mask_card_numbers,
            now_ms / 1000,
        );
        PaymentRecord {
            payment,
            notice_url: input.order.notice_url.clone(),
        }
    };
    settle(&fake, &merchant, record).await
}

pub(super) async fn again(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportSubscriptionAgain>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    positive("amount", input.order.amount)?;
    let record = {
        let data = merchant.lock();
        let Some(key) = data.subscriptions.get(&input.customer_uid, now_ms) else {
            return Err(IamportFault::missing("등록되지 않은 구매자입니다."));
        };
        data.check_order(&input.order.merchant_uid, input.order.amount, now_ms)?;
        let customer = &key.subscription;
        let mut order = order_of(&input.order, "api");
        order.buyer_name = order.buyer_name.or_else(|| customer.customer_name.clone());
        order.buyer_email = order
            .buyer_email
            .or_else(|| customer.customer_email.clone());
        order.buyer_tel = order.buyer_tel.or_else(|| customer.customer_tel.clone());
        order.buyer_addr = order.buyer_addr.or_else(|| customer.customer_addr.clone());
        order.buyer_postcode = order
            .buyer_postcode
            .or_else(|| customer.customer_postcode.clone());
        order.customer_uid = Some(input.customer_uid.clone());
        order.customer_uid_usage = Some("payment");
        let payment = model::card_payment(
            order,
            &key.card_number,
            input.order.card_quota.unwrap_or(0),
            data.settings.mask_card_numbers,
            now_ms / 1000,
        );
        PaymentRecord {
            payment,
            notice_url: input.order.notice_url.clone(),
        }
    };
    settle(&fake, &merchant, record).await
}

pub(super) async fn customer(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let record = data
        .subscriptions
        .get(&customer_uid, now)
        .ok_or_else(|| unknown_customer(&customer_uid))?;
    ok(record.subscription.clone())
}

fn unknown_customer(customer_uid: &str) -> IamportFault {
    IamportFault::not_found(format!(
        "요청하신 customer_uid({customer_uid})로 등록된 정보를 찾을 수 없습니다."
    ))
}

pub(super) async fn register_customer(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
    IamportJson(input): IamportJson<IamportSubscriptionCreate>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let today = today(&fake);
    let mut data = merchant.lock();
    ok(register(&mut data, &customer_uid, &input.card, today, now)?)
}

pub(super) async fn delete_customer(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let mut data = merchant.lock();
    if data.subscriptions.get(&customer_uid, now).is_none() {
        return Err(unknown_customer(&customer_uid));
    }
    let pending = data.schedules.iter(now).any(|(_, s)| {
        s.schedule.customer_uid == customer_uid && is_pending(s.schedule.schedule_status)
    });
    if pending {
        return Err(IamportFault::refused(
            1,
            "예약된 결제가 있는 빌링키는 삭제할 수 없습니다. 먼저 예약을 취소하세요.",
        ));
    }
    let record = data
        .subscriptions
        .remove(&customer_uid)
        .ok_or_else(|| unknown_customer(&customer_uid))?;
    ok(record.subscription)
}

/// `POST /subscribe/payments/schedule`: payments the fake makes when their time comes.
pub(super) async fn schedule(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportScheduleCreate>,
) -> Reply<Vec<IamportSchedule>> {
    let now_ms = fake.now_ms();
    let now = now_ms / 1000;
    if input.schedules.is_empty() {
        return Err(IamportFault::invalid("schedules 가 비어 있습니다."));
    }
    let created = {
        let mut data = merchant.lock();
        if data
            .subscriptions
            .get(&input.customer_uid, now_ms)
            .is_none()
        {
            return Err(IamportFault::missing("등록되지 않은 구매자입니다."));
        }
        let mut seen = std::collections::HashSet::new();
        for request in &input.schedules {
            positive("amount", request.amount)?;
            let taken = !seen.insert(request.merchant_uid.as_str())
                || data
                    .schedules
                    .get(&request.merchant_uid, now_ms)
                    .is_some_and(|s| s.schedule.schedule_status != IamportScheduleStatus::Revoked);
            if taken {
                return Err(IamportFault::refused(
                    1,
                    format!("이미 예약된 merchant_uid 입니다: {}", request.merchant_uid),
                ));
            }
            data.check_new_order(&request.merchant_uid, now_ms)?;
            if request.schedule_at <= now {
                return Err(IamportFault::refused(
                    1,
                    format!("예약 시각은 현재 이후여야 합니다: {}", request.schedule_at),
                ));
            }
        }
        input
            .schedules
            .iter()
            .map(|request| {
                let schedule = IamportSchedule {
                    customer_uid: input.customer_uid.clone(),
                    merchant_uid: request.merchant_uid.clone(),
                    imp_uid: None,
                    schedule_at: request.schedule_at,
                    executed_at: 0,
                    revoked_at: 0,
                    amount: request.amount,
                    name: request.name.clone(),
                    buyer_name: request.buyer_name.clone(),
                    buyer_email: request.buyer_email.clone(),
                    buyer_tel: request.buyer_tel.clone(),
                    buyer_addr: request.buyer_addr.clone(),
                    buyer_postcode: request.buyer_postcode.clone(),
                    custom_data: request.custom_data.clone(),
                    schedule_status: IamportScheduleStatus::Scheduled,
                    payment_status: None,
                    fail_reason: None,
                };
                data.schedules.insert(
                    request.merchant_uid.clone(),
                    ScheduleRecord {
                        schedule: schedule.clone(),
                        request: request.clone(),
                    },
                    now_ms,
                );
                schedule
            })
            .collect::<Vec<_>>()
    };
    for schedule in &created {
        fake.schedule_payment(&merchant, &schedule.merchant_uid, schedule.schedule_at);
    }
    ok(created)
}

pub(super) async fn unschedule(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportUnschedule>,
) -> Reply<Vec<IamportSchedule>> {
    let now_ms = fake.now_ms();
    let mut data = merchant.lock();
    let targets: Vec<String> = data
        .schedules
        .iter(now_ms)
        .filter(|(uid, s)| {
            s.schedule.customer_uid == input.customer_uid
                && is_pending(s.schedule.schedule_status)
                && (input.merchant_uid.is_empty() || input.merchant_uid.iter().any(|m| m == uid))
        })
        .map(|(uid, _)| uid.to_owned())
        .collect();
    if targets.is_empty() {
        return Err(IamportFault::refused(
            1,
            "취소할 예약결제 기록이 존재하지 않습니다.",
        ));
    }
    let mut revoked = Vec::new();
    for uid in targets {
        if let Some(record) = data.schedules.get_mut(&uid, now_ms) {
            record.schedule.schedule_status = IamportScheduleStatus::Revoked;
            record.schedule.revoked_at = now_ms / 1000;
            revoked.push(record.schedule.clone());
        }
    }
    revoked.sort_by_key(|s| s.schedule_at);
    ok(revoked)
}

pub(super) async fn scheduled(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(merchant_uid): Path<String>,
) -> Reply<IamportSchedule> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let record = data
        .schedules
        .get(&merchant_uid, now)
        .ok_or_else(|| IamportFault::not_found("예약결제 정보가 존재하지 않습니다."))?;
    ok(record.schedule.clone())
}

/// Charges a scheduled payment whose time came; returns its webhook.
pub(super) fn execute_schedule(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    merchant_uid: &str,
    due_ms: i64,
) -> Option<Outgoing> {
    let now_ms = fake.now_ms();
    let mut data = merchant.lock();
    let record = data.schedules.get(merchant_uid, now_ms)?.clone();
    if !is_pending(record.schedule.schedule_status)
        || record.schedule.schedule_at.saturating_mul(1000) != due_ms
    {
        return None;
    }
    let request = &record.request;
    let card = data
        .subscriptions
        .get(&record.schedule.customer_uid, now_ms)
        .map(|s| s.card_number.clone());
    let mut schedule = record.schedule.clone();
    schedule.schedule_status = IamportScheduleStatus::Executed;
    schedule.executed_at = now_ms / 1000;
    let outgoing = match card {
        None => {
            schedule.payment_status = Some(IamportPaymentStatus::Failed);
            schedule.fail_reason = Some("빌링키가 삭제되어 결제할 수 없습니다.".to_owned());
            None
        }
        Some(card) => {
            let order = Order {
                merchant_uid,
                name: request.name.as_deref(),
                amount: request.amount,
                currency: request.currency.clone(),
                buyer_name: request.buyer_name.clone(),
                buyer_email: request.buyer_email.clone(),
                buyer_tel: request.buyer_tel.clone(),
                buyer_addr: request.buyer_addr.clone(),
                buyer_postcode: request.buyer_postcode.clone(),
                custom_data: request.custom_data.clone(),
                customer_uid: Some(schedule.customer_uid.clone()),
                customer_uid_usage: Some("payment.scheduled"),
                channel: "api",
            };
            let payment = model::card_payment(
                order,
                &card,
                0,
                data.settings.mask_card_numbers,
                now_ms / 1000,
            );
            let base = payment.base();
            schedule.imp_uid = Some(base.imp_uid.clone());
            schedule.payment_status = Some(base.status);
            schedule.fail_reason = base.fail_reason.clone();
            let payment_record = PaymentRecord {
                payment,
                notice_url: request.notice_url.clone(),
            };
            data.insert_payment(payment_record.clone(), now_ms);
            let status = payment_record.payment.base().status;
            fake.webhook(&data, &payment_record, status, None)
        }
    };
    if let Some(stored) = data.schedules.get_mut(merchant_uid, now_ms) {
        stored.schedule = schedule;
    }
    outgoing
}

/// `POST /vbanks`: a virtual account waiting for its deposit until `vbank_due`.
pub(super) async fn issue_vbank(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportVBankCreate>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let now = now_ms / 1000;
    positive("amount", input.amount)?;
    if input.vbank_code.trim().is_empty() {
        return Err(IamportFault::invalid("vbank_code 가 필요합니다."));
    }
    if input.vbank_due <= now {
        return Err(IamportFault::refused(
            1,
            "입금기한(vbank_due)은 현재 이후여야 합니다.",
        ));
    }
    open_vbank(
        &fake,
        &merchant,
        &input.merchant_uid,
        input.amount,
        input.vbank_due,
        || {
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
                channel: "api",
                ..Order::default()
            };
            let holder = input.vbank_holder.as_deref().unwrap_or("테스트상점");
            PaymentRecord {
                payment: model::vbank_payment(
                    order,
                    &input.vbank_code,
                    holder,
                    input.vbank_due,
                    now,
                ),
                notice_url: input.notice_url.clone(),
            }
        },
    )
    .await
}

/// Stores a new virtual account, made by `record` once its order passed the checks, with
/// the `ready` webhook, and has it expire at `due` unless paid.
pub(super) async fn open_vbank(
    fake: &FakeIamport,
    merchant: &MerchantHandle,
    merchant_uid: &str,
    amount: f64,
    due: i64,
    record: impl FnOnce() -> PaymentRecord,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let (payment, outgoing) = {
        // The checks and the insert under one lock: two calls for one order make one
        // payment.
        let mut data = merchant.lock();
        data.check_order(merchant_uid, amount, now_ms)?;
        let record = record();
        data.insert_payment(record.clone(), now_ms);
        let outgoing = fake.webhook(&data, &record, IamportPaymentStatus::Ready, None);
        (record.payment, outgoing)
    };
    fake.schedule_deadline(merchant, &payment.base().imp_uid, due);
    fake.send(outgoing.into_iter().collect()).await;
    ok(payment)
}

pub(super) async fn update_vbank(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
    IamportJson(input): IamportJson<IamportVBankUpdate>,
) -> Reply<IamportPayment> {
    change_vbank(&fake, &merchant, &imp_uid, input).await
}

/// The SDK's form, with `imp_uid` in the body.
pub(super) async fn update_vbank_by_body(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportVBankUpdate>,
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
    let now = now_ms / 1000;
    if let Some(amount) = input.amount {
        positive("amount", amount)?;
    }
    if input.vbank_due.is_some_and(|due| due <= now) {
        return Err(IamportFault::refused(
            1,
            "입금기한(vbank_due)은 현재 이후여야 합니다.",
        ));
    }
    let (payment, outgoing) = {
        let mut data = merchant.lock();
        let record = waiting_vbank(&mut data, imp_uid, now_ms)?;
        if let IamportPayment::VBank(vbank) = &mut record.payment {
            if let Some(amount) = input.amount {
                vbank.base.amount = amount;
            }
            if let Some(due) = input.vbank_due {
                vbank.vbank_date = due;
            }
        }
        let record = record.clone();
        let outgoing = fake.webhook(&data, &record, IamportPaymentStatus::Ready, None);
        (record.payment, outgoing)
    };
    if let (Some(due), IamportPayment::VBank(_)) = (input.vbank_due, &payment) {
        fake.schedule_deadline(merchant, imp_uid, due);
    }
    fake.send(outgoing.into_iter().collect()).await;
    ok(payment)
}

/// The virtual account `imp_uid`, if it still waits for its deposit.
pub(super) fn waiting_vbank<'a>(
    data: &'a mut MerchantData,
    imp_uid: &str,
    now_ms: i64,
) -> Result<&'a mut PaymentRecord, IamportFault> {
    let record = data.payment(imp_uid, now_ms)?;
    if !matches!(record.payment, IamportPayment::VBank(_)) {
        return Err(IamportFault::refused(1, "가상계좌 결제건이 아닙니다."));
    }
    if record.payment.base().status != IamportPaymentStatus::Ready {
        return Err(IamportFault::refused(
            1,
            "입금대기 상태의 가상계좌가 아닙니다.",
        ));
    }
    Ok(record)
}

/// `DELETE /vbanks/{imp_uid}`: revokes an account before its deposit.
pub(super) async fn revoke_vbank(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let (payment, outgoing) = {
        let mut data = merchant.lock();
        let requires_flag = data.settings.cancel_webhook_requires_flag;
        let record = waiting_vbank(&mut data, &imp_uid, now_ms)?;
        let base = record.payment.base_mut();
        base.status = IamportPaymentStatus::Cancelled;
        base.cancelled_at = now_ms / 1000;
        base.cancel_reason = Some("가상계좌 발급 취소".to_owned());
        let record = record.clone();
        let outgoing = (!requires_flag)
            .then(|| fake.webhook(&data, &record, IamportPaymentStatus::Cancelled, None))
            .flatten();
        (record.payment, outgoing)
    };
    fake.send(outgoing.into_iter().collect()).await;
    ok(payment)
}

#[derive(Debug, Serialize)]
pub(super) struct CertificationAccessor {
    imp_uid: String,
}

pub(super) async fn request_certification(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportJson(input): IamportJson<IamportCertificationCreate>,
) -> Reply<CertificationAccessor> {
    let birth = chrono::NaiveDate::parse_from_str(&input.birth, "%Y%m%d")
        .ok()
        .filter(|_| input.birth.len() == 8)
        .ok_or_else(|| IamportFault::invalid("birth 는 YYYYMMDD 형식이어야 합니다."))?;
    let digit: u8 = input
        .gender_digit
        .trim()
        .parse()
        .ok()
        .filter(|d| (1..=8).contains(d))
        .ok_or_else(|| IamportFault::invalid("gender_digit 는 1에서 8 사이의 숫자여야 합니다."))?;
    let phone: String = input.phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if !(10..=11).contains(&phone.len()) {
        return Err(IamportFault::invalid("phone 이 올바르지 않습니다."));
    }
    let now = fake.now_ms();
    let certification = IamportCertification {
        imp_uid: model::imp_uid(),
        merchant_uid: input.merchant_uid.clone(),
        name: input.name.clone(),
        gender: if digit % 2 == 1 { "male" } else { "female" }.to_owned(),
        birth: birth
            .and_hms_opt(0, 0, 0)
            .map_or(0, |d| d.and_utc().timestamp()),
        birthday: input.birth.clone(),
        foreigner: digit >= 5,
        phone,
        carrier: input.carrier,
        certified: false,
        certified_at: 0,
        unique_key: random_alnum(88),
        unique_in_site: random_alnum(64),
        pg_tid: format!("cert_{}", random_digits(16)),
        pg_provider: "danal".to_owned(),
        origin: String::new(),
        otp: Some(random_digits(6)),
    };
    let imp_uid = certification.imp_uid.clone();
    merchant
        .lock()
        .certifications
        .insert(imp_uid.clone(), certification, now);
    ok(CertificationAccessor { imp_uid })
}

fn unknown_certification() -> IamportFault {
    IamportFault::not_found("인증결과가 존재하지 않습니다.")
}

pub(super) async fn confirm_certification(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
    IamportJson(input): IamportJson<IamportCertificationConfirm>,
) -> Reply<IamportCertification> {
    let now = fake.now_ms();
    let mut data = merchant.lock();
    let record = data
        .certifications
        .get_mut(&imp_uid, now)
        .ok_or_else(unknown_certification)?;
    if record.certified {
        return Err(IamportFault::refused(-1, "이미 인증이 완료된 요청입니다."));
    }
    if record.otp.as_deref() != Some(input.otp.trim()) {
        return Err(IamportFault::refused(-1, "인증번호가 일치하지 않습니다."));
    }
    record.certified = true;
    record.certified_at = now / 1000;
    ok(record.clone())
}

pub(super) async fn certification(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportCertification> {
    let now = fake.now_ms();
    let data = merchant.lock();
    let record = data
        .certifications
        .get(&imp_uid, now)
        .ok_or_else(unknown_certification)?;
    ok(record.clone())
}

pub(super) async fn delete_certification(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportCertification> {
    let now = fake.now_ms();
    let mut data = merchant.lock();
    if data.certifications.get(&imp_uid, now).is_none() {
        return Err(unknown_certification());
    }
    ok(data
        .certifications
        .remove(&imp_uid)
        .ok_or_else(unknown_certification)?)
}

fn no_receipt() -> IamportFault {
    IamportFault::not_found("현금영수증 발행 이력이 존재하지 않습니다.")
}

pub(super) async fn issue_receipt(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
    IamportJson(input): IamportJson<IamportReceiptCreate>,
) -> Reply<IamportReceipt> {
    if input.identifier.trim().is_empty() {
        return Err(IamportFault::invalid("identifier 가 필요합니다."));
    }
    let now_ms = fake.now_ms();
    let mut data = merchant.lock();
    if data
        .receipts
        .get(&imp_uid, now_ms)
        .is_some_and(|r| r.cancelled_at == 0)
    {
        return Err(IamportFault::refused(
            1,
            "이미 현금영수증이 발행된 결제건입니다.",
        ));
    }
    let record = data.payment(&imp_uid, now_ms)?;
    let base = record.payment.base();
    if base.status != IamportPaymentStatus::Paid {
        return Err(IamportFault::refused(
            1,
            "결제완료 상태의 결제건만 현금영수증을 발행할 수 있습니다.",
        ));
    }
    let amount = base.amount - base.cancel_amount;
    let taxable = amount - input.tax_free.unwrap_or(0.0).clamp(0.0, amount);
    let receipt = IamportReceipt {
        imp_uid: imp_uid.clone(),
        receipt_uid: format!("rcpt_{}", random_digits(16)),
        apply_num: random_digits(9),
        kind: input.kind.unwrap_or(IamportReceiptType::Person),
        amount,
        vat: (taxable / 11.0).round(),
        receipt_url: format!("{}/cash", base.receipt_url),
        applied_at: now_ms / 1000,
        cancelled_at: 0,
    };
    record.payment.base_mut().cash_receipt_issue = true;
    data.receipts.insert(imp_uid, receipt.clone(), now_ms);
    ok(receipt)
}

pub(super) async fn receipt(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportReceipt> {
    let now = fake.now_ms();
    let data = merchant.lock();
    ok(data
        .receipts
        .get(&imp_uid, now)
        .cloned()
        .ok_or_else(no_receipt)?)
}

pub(super) async fn cancel_receipt(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(imp_uid): Path<String>,
) -> Reply<IamportReceipt> {
    let now_ms = fake.now_ms();
    let mut data = merchant.lock();
    let receipt = {
        let Some(receipt) = data.receipts.get_mut(&imp_uid, now_ms) else {
            return Err(IamportFault::refused(1, "발행된 현금영수증이 없습니다."));
        };
        if receipt.cancelled_at != 0 {
            return Err(IamportFault::refused(1, "이미 취소된 현금영수증입니다."));
        }
        receipt.cancelled_at = now_ms / 1000;
        receipt.clone()
    };
    if let Ok(record) = data.payment(&imp_uid, now_ms) {
        record.payment.base_mut().cash_receipt_issue = false;
    }
    ok(receipt)
}
