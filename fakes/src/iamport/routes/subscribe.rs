//! Payments the merchant makes through the API: with card data at once, or with a billing
//! key.

use axum::extract::{Extension, State};
use payments_api::iamport::*;

use super::super::FakeIamport;
use super::super::model::{CardNumber, Channel, Order, Payment, check_card};
use super::payments::{Declined, settle};
use super::{IamportBody, Merchant, Reply, positive, today};

/// The order fields of a payment made through the API.
fn order_of(input: &IamportOrderInput) -> Order<'_> {
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
        channel: Channel::Api,
        notice_url: input.notice_url.clone(),
        ..Order::default()
    }
}

/// `POST /subscribe/payments/onetime`: pays by card data; with `customer_uid`, also
/// stores the card as that billing key. A declined card is answered `code: 0` with the
/// payment `failed` and its `fail_reason`, as the real API does.
pub(in super::super) async fn onetime(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportSubscriptionOnetime>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    let compat = merchant.lock().compat();
    let number = CardNumber::parse(&input.card.card_number, compat)?;
    check_card(&input.card.expiry, &input.card.birth, today(&fake), compat)?;
    positive("amount", input.order.amount)?;
    let payment = {
        let mut data = merchant.lock();
        data.check_order(&input.order.merchant_uid, input.order.amount, now_ms)?;
        let declined = number.decline_reason().is_some();
        if let Some(customer_uid) = input.customer_uid.as_deref().filter(|_| !declined) {
            data.register_card(customer_uid, &input.card, today(&fake), now_ms)?;
        }
        let mut order = order_of(&input.order);
        order.customer_uid = input.customer_uid.clone();
        order.customer_uid_usage = input.customer_uid.as_ref().map(|_| "issue");
        Payment::card(
            order,
            number,
            input.order.card_quota.unwrap_or(0),
            data.settings.mask_card_numbers,
            now_ms / 1000,
        )
    };
    settle(&fake, &merchant, payment, Declined::Answered).await
}

/// `POST /subscribe/payments/again`: pays with a billing key.
pub(in super::super) async fn again(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    IamportBody(input): IamportBody<IamportSubscriptionAgain>,
) -> Reply<IamportPayment> {
    let now_ms = fake.now_ms();
    positive("amount", input.order.amount)?;
    let payment = merchant.lock().charge(
        &input.customer_uid,
        order_of(&input.order),
        input.order.card_quota.unwrap_or(0),
        now_ms,
    )?;
    settle(&fake, &merchant, payment, Declined::Answered).await
}
