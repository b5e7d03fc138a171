//! `POST /v1/virtual-accounts`: virtual accounts issued through the API.

use axum::extract::{Extension, State};
use payments_api::toss::*;

use super::super::FakeToss;
use super::super::error::TossFault;
use super::super::model::{self, Order, Payment};
use super::{Merchant, PaymentJson, TossJson, answer_change};

/// Issues a virtual account that waits for its deposit until its due date.
pub(in super::super) async fn issue(
    State(fake): State<FakeToss>,
    Extension(merchant): Merchant,
    TossJson(input): TossJson<TossVirtualAccountCreate>,
) -> Result<PaymentJson, TossFault> {
    let now = fake.inner.core.clock.now_kst();
    let now_ms = fake.now_ms();
    let amount = model::positive("amount", input.amount)?;
    for (name, value) in [
        ("orderName", &input.order_name),
        ("bank", &input.bank),
        ("customerName", &input.customer_name),
    ] {
        if value.trim().is_empty() {
            return Err(TossFault::invalid(format!("{name} must not be empty")));
        }
    }
    let due = model::due_date(now, input.valid_hours, input.due_date)?;
    let payment = {
        let mut data = merchant.lock();
        data.check_new_order(&input.order_id, now_ms)?;
        let order = Order {
            order_id: &input.order_id,
            order_name: &input.order_name,
            amount,
            tax_free: 0.0,
            kind: TossPaymentType::Normal,
        };
        let payment = Payment::virtual_account(
            order,
            &input.bank,
            &input.customer_name,
            due,
            TossPaymentStatus::WaitingForDeposit,
            now.timestamp(),
        )
        .with_escrow(input.use_escrow == Some(true))
        .expiring_at(due.timestamp_millis());
        let key = data.insert_payment(payment, now_ms);
        data.payment(&key, now_ms)?.render(&key)
    };
    // Toss's webhook-events reference (DEPOSIT_CALLBACK): an issued account is told as a
    // status change and as a deposit callback, `WAITING_FOR_DEPOSIT`.
    answer_change(&fake, &merchant, payment).await
}
