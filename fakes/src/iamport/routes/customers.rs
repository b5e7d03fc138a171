//! `/subscribe/customers/{customer_uid}`: billing keys.

use axum::extract::{Extension, Path, State};
use payments_api::iamport::*;

use super::super::FakeIamport;
use super::{IamportBody, Merchant, Reply, ok, today};

/// `GET`: a billing key.
pub(in super::super) async fn read(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let subscription = merchant
        .lock()
        .subscription(&customer_uid, now)?
        .subscription
        .clone();
    ok(subscription)
}

/// `POST`: registers (or replaces) a billing key.
pub(in super::super) async fn register(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
    IamportBody(input): IamportBody<IamportSubscriptionCreate>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let today = today(&fake);
    let subscription = merchant
        .lock()
        .register_card(&customer_uid, &input.card, today, now)?;
    ok(subscription)
}

/// `DELETE`: forgets a billing key that no schedule waits to charge.
pub(in super::super) async fn delete(
    State(fake): State<FakeIamport>,
    Extension(merchant): Merchant,
    Path(customer_uid): Path<String>,
) -> Reply<IamportSubscription> {
    let now = fake.now_ms();
    let subscription = merchant.lock().delete_customer(&customer_uid, now)?;
    ok(subscription)
}
