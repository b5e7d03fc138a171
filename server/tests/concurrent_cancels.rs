//! Many payments cancelled at once on MariaDB, as a shop's refund batch or its customers do:
//! each cancel answers its payment, none a 500, and the database never rolls a cancel's
//! transaction back for a deadlock (retries hide a few, but a burst used them all up and
//! answered 500 for cancels that were in fact done).
//!
//! The database is a private `mariadbd`, so its deadlock counter counts this test's
//! transactions alone.

mod support;

use payments_api::payments::*;
use payments_testkit::Database;
use support::{Backend, Ctx, PASSWORD, source};

/// As many cancels under way at once as the bench's keep-alive connections.
const TASKS: usize = 32;
const PER_TASK: usize = 15;
const PRICE: u32 = 15000;
const FIRST_PART: u32 = 5000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cancels_of_different_payments_all_answer_and_never_deadlock() {
    // The PG's deadline far beyond a slow moment of a shared machine: a cancel that
    // times out at the fake is another test's matter.
    let ctx = Ctx::start_on_with(Backend::MariaDb, Database::PrivateMariaDb, |config| {
        config.pg.timeout_seconds = 30.0;
    })
    .await;
    let orders: Vec<String> = (0..TASKS * PER_TASK)
        .map(|i| format!("bulk-{i}-{}", uuid::Uuid::new_v4().simple()))
        .collect();

    // Paid card payments at the fake Toss, stored at the server 32 at a time.
    let mut creating = tokio::task::JoinSet::new();
    for share in orders.chunks(PER_TASK) {
        let share = share.to_vec();
        let client = ctx.client.clone();
        let keys: Vec<String> = {
            let mut keys = Vec::with_capacity(share.len());
            for order in &share {
                keys.push(ctx.toss_card(order, PRICE).await);
            }
            keys
        };
        creating.spawn(async move {
            for (order, key) in share.iter().zip(keys) {
                client
                    .create_history(&PaymentHistoryCreate {
                        vendor: PaymentVendor {
                            code: VendorCode::TossPayments,
                            store_id: "default".into(),
                            uid: key,
                        },
                        source: source(order),
                        webhook_url: "http://127.0.0.1:9/hook".into(),
                        price: f64::from(PRICE),
                        password: PASSWORD.into(),
                    })
                    .await
                    .unwrap_or_else(|e| panic!("payment {order} stored: {e}"));
            }
        });
    }
    creating.join_all().await;

    let deadlocks_before = ctx.innodb_counter("INNODB_DEADLOCKS").await;
    // Each payment cancelled in two parts (a partial cancel, Toss's `cancelAmount`:
    // docs.tosspayments.com/reference#결제-취소), all first parts, then all the rest: the
    // second cancel of a payment rewrites its first and adds its own.
    let mut failed = cancel_each(&ctx, &orders, FIRST_PART, FIRST_PART).await;
    failed.extend(cancel_each(&ctx, &orders, PRICE - FIRST_PART, PRICE).await);
    let deadlocks = ctx.innodb_counter("INNODB_DEADLOCKS").await - deadlocks_before;
    println!(
        "{} cancels over {TASKS} tasks: {} failed, {deadlocks} deadlocks",
        2 * orders.len(),
        failed.len()
    );

    assert!(
        failed.is_empty(),
        "{} of {} cancels did not answer their refund, first: {:?}",
        failed.len(),
        2 * orders.len(),
        &failed[..failed.len().min(5)]
    );
    assert_eq!(
        deadlocks,
        0,
        "the database rolled back {deadlocks} transactions for deadlocks; the latest:\n{}",
        ctx.latest_deadlock().await
    );
    // Each payment has its two cancels, recorded, and their intents settled as done.
    assert_eq!(
        ctx.rows("payment_history_cancels").await,
        2 * orders.len() as i64
    );
    assert_eq!(
        ctx.scalars(
            "SELECT CAST(COUNT(*) AS CHAR) FROM payment_cancel_intents WHERE state = 'done'"
        )
        .await,
        [(2 * orders.len()).to_string()]
    );
    ctx.finish().await;
}

/// Cancels `price` of each payment of `orders`, [`TASKS`] cancels under way at any moment;
/// answers the cancels that did not answer a refund of `refund` in all.
async fn cancel_each(ctx: &Ctx, orders: &[String], price: u32, refund: u32) -> Vec<String> {
    let mut cancelling = tokio::task::JoinSet::new();
    for share in orders.chunks(orders.len().div_ceil(TASKS)) {
        let share = share.to_vec();
        let client = ctx.client.clone();
        cancelling.spawn(async move {
            let mut failed = Vec::new();
            for order in share {
                let answer = client
                    .cancel_history(&PaymentCancelCreate {
                        source: source(&order),
                        password: PASSWORD.into(),
                        price: f64::from(price),
                        reason: "일괄 환불".into(),
                        account: None,
                    })
                    .await;
                match answer {
                    Ok(history) if history.refund == Some(f64::from(refund)) => {}
                    Ok(history) => failed.push(format!("{order}: refund {:?}", history.refund)),
                    Err(e) => failed.push(format!(
                        "{order}: {} {}",
                        e.status().unwrap_or(0),
                        e.code().unwrap_or("")
                    )),
                }
            }
            failed
        });
    }
    cancelling.join_all().await.concat()
}
