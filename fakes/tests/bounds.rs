//! The fakes stay bounded whatever callers invent: memory measured as the live heap of this
//! test process (an instrumented allocator counts every byte), while requests come over
//! loopback HTTP. The tests of this file run one at a time, so that each sees only its own
//! allocations.

mod support;

use std::alloc::System;
use std::future::Future;

use payments_fakes::Fake as _;
use payments_fakes::iamport::{FakeIamport, IamportConfig};
use payments_fakes::toss::{FakeToss, TossConfig};
use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use support::{Api, spawn};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

#[global_allocator]
static HEAP: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// One test measures at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Bytes allocated and not freed, in the whole process (reallocations are counted in both).
fn live() -> i64 {
    let stats = HEAP.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

/// Runs `f(i)` for `i` in `range`, 16 at a time.
async fn each<F, Fut>(range: std::ops::Range<usize>, f: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut running = JoinSet::new();
    for i in range {
        running.spawn(f(i));
        if running.len() >= 16 {
            running.join_next().await;
        }
    }
    while running.join_next().await.is_some() {}
}

const KEY: &str = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R";

/// A small journal, so that a few hundred requests fill it and only what is under test can
/// grow after.
fn small_journal_toss() -> TossConfig {
    TossConfig {
        journal_entries: 100,
        ..TossConfig::default()
    }
}

fn small_journal_iamport() -> IamportConfig {
    IamportConfig {
        journal_entries: 100,
        ..IamportConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_keeps_bounded_bytes_of_whatever_bodies_come() {
    let _one = SERIAL.lock().await;
    let fake = FakeToss::new(TossConfig::default());
    let url = spawn(fake.router()).await;
    let anonymous = Api::new(&url, None);
    // Half a megabyte of JSON that takes many times its size once parsed.
    let body = Value::Array(vec![json!(0); 250_000]);
    let before = live();
    for _ in 0..40 {
        let answer = anonymous.post("/v1/payments/key-in", body.clone()).await;
        assert_eq!(answer.error(401), "UNAUTHORIZED_KEY");
    }
    let grown = live() - before;
    assert!(
        grown < 40 << 20,
        "40 bodies of 0.5 MB grew the fake by {} MB",
        grown >> 20
    );
    // What the journal still shows of them is bounded too, and the newest is there.
    let journal = anonymous.get("/internal/journal").await;
    let requests = journal.ok()["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 40);
    let shown: usize = requests.iter().map(|r| r["body"].to_string().len()).sum();
    assert!(
        shown <= 16 << 20,
        "the journal shows {shown} bytes of bodies"
    );
    assert_eq!(requests[39]["status"], 401);
    drop(fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_a_token_again_and_again_does_not_grow_the_fake() {
    let _one = SERIAL.lock().await;
    let fake = FakeIamport::new(small_journal_iamport());
    let anonymous = Api::new(&spawn(fake.router()).await, None);
    let ask = |_| {
        let anonymous = anonymous.clone();
        async move {
            let answer = anonymous
                .post(
                    "/users/getToken",
                    json!({"imp_key": "test_imp_key", "imp_secret": "test_imp_secret"}),
                )
                .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
    };
    each(0..500, ask).await;
    let before = live();
    each(0..8_000, ask).await;
    let grown = live() - before;
    assert!(
        grown < 128 << 10,
        "8,000 token requests grew the fake by {} KB",
        grown >> 10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_accounts_leave_no_timer_behind_once_gone_or_paid() {
    let _one = SERIAL.lock().await;
    let fake = FakeToss::new(TossConfig {
        capacity: 50,
        ..small_journal_toss()
    });
    let api = Api::new(&spawn(fake.router()).await, Some(KEY));
    let issue = |i: usize| {
        let api = api.clone();
        async move {
            let account = api
                .post(
                    "/v1/virtual-accounts",
                    json!({"orderId": format!("va-{i}"), "orderName": "x", "amount": 1000,
                           "bank": "신한", "customerName": "홍길동", "validHours": 2000}),
                )
                .await;
            let key = account.ok()["paymentKey"].as_str().unwrap().to_owned();
            // Half are paid at once (unless the store let them go first, under load), the
            // others wait until the store lets them go.
            if i.is_multiple_of(2) {
                let deposit = api.put(&format!("/internal/{key}/deposit"), None).await;
                assert!(matches!(deposit.status, 200 | 404), "{}", deposit.body);
            }
        }
    };
    each(0..500, issue).await;
    let before = live();
    each(500..6_500, issue).await;
    let grown = live() - before;
    assert!(
        grown < 128 << 10,
        "6,000 virtual accounts in a store of 50 grew the fake by {} KB",
        grown >> 10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lists_indexes_let_go_of_what_the_stores_let_go() {
    let _one = SERIAL.lock().await;
    let fake = FakeToss::new(TossConfig {
        capacity: 50,
        ..small_journal_toss()
    });
    let api = Api::new(&spawn(fake.router()).await, Some(KEY));
    // Each payment makes two transactions (its approval, a partial cancel) and its cash
    // receipt two list entries (the issue, the cancel).
    let pay = |i: usize| {
        let api = api.clone();
        async move {
            let order_id = format!("list-{i}");
            let payment = api
                .post(
                    "/v1/payments/key-in",
                    json!({"cardNumber": "4330123412341234", "cardExpirationYear": "49",
                           "cardExpirationMonth": "12", "amount": 2000, "orderId": order_id}),
                )
                .await;
            let key = payment.ok()["paymentKey"].as_str().unwrap().to_owned();
            // Under load the store may have let the payment go already: 404 then.
            let cancel = api
                .post(
                    &format!("/v1/payments/{key}/cancel"),
                    json!({"cancelReason": "x", "cancelAmount": 1000}),
                )
                .await;
            assert!(matches!(cancel.status, 200 | 404), "{}", cancel.body);
            let receipt = api
                .post(
                    "/v1/cash-receipts",
                    json!({"type": "소득공제", "paymentKey": key, "orderId": order_id,
                           "orderName": "x", "registrationNumber": "01012345678",
                           "amount": 1000}),
                )
                .await;
            if let Some(receipt_key) = receipt.body["receiptKey"].as_str() {
                let path = format!("/v1/cash-receipts/{receipt_key}/cancel");
                let cancel = api.post(&path, json!({})).await;
                assert!(matches!(cancel.status, 200 | 404), "{}", cancel.body);
            }
        }
    };
    each(0..500, pay).await;
    let before = live();
    each(500..6_500, pay).await;
    let grown = live() - before;
    assert!(
        grown < 128 << 10,
        "6,000 payments in a store of 50 grew the fake by {} KB",
        grown >> 10
    );
    // The lists show what the stores keep, no more.
    let listed = api
        .get("/v1/transactions?startDate=2000-01-01T00:00:00&endDate=2999-12-31T23:59:59&limit=10000")
        .await;
    let listed = listed.ok().as_array().unwrap().len();
    assert!((1..=100).contains(&listed), "{listed} transactions listed");
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
        .date_naive();
    let receipts = api
        .get(&format!(
            "/v1/cash-receipts?requestDate={today}&limit=10000"
        ))
        .await;
    let receipts = receipts.ok()["data"].as_array().unwrap().len();
    assert!(receipts <= 100, "{receipts} cash-receipt entries listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iamport_deadlines_and_schedules_leave_no_timer_behind() {
    let _one = SERIAL.lock().await;
    let fake = FakeIamport::new(IamportConfig {
        capacity: 50,
        ..small_journal_iamport()
    });
    let url = spawn(fake.router()).await;
    let anonymous = Api::new(&url, None);
    let token = anonymous
        .post(
            "/users/getToken",
            json!({"imp_key": "test_imp_key", "imp_secret": "test_imp_secret"}),
        )
        .await;
    let api = Api {
        auth: Some(
            token.ok()["response"]["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        ..anonymous
    };
    api.post(
        "/subscribe/customers/bounded",
        json!({"card_number": "5365-1012-3456-7540", "expiry": "2049-03", "birth": "880311"}),
    )
    .await
    .ok();
    let later = fake.clock().now().timestamp() + 30 * 86_400;
    let open = |i: usize| {
        let api = api.clone();
        async move {
            api.post(
                "/vbanks",
                json!({"merchant_uid": format!("vb-{i}"), "amount": 1000, "vbank_code": "088",
                       "vbank_due": later + i as i64}),
            )
            .await
            .ok();
            api.post(
                "/subscribe/payments/schedule",
                json!({"customer_uid": "bounded", "schedules": [
                    {"merchant_uid": format!("sc-{i}"), "schedule_at": later + i as i64, "amount": 1000}
                ]}),
            )
            .await
            .ok();
        }
    };
    each(0..500, open).await;
    let before = live();
    each(500..8_500, open).await;
    let grown = live() - before;
    assert!(
        grown < 128 << 10,
        "8,000 far deadlines and schedules in stores of 50 grew the fake by {} KB",
        grown >> 10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_secret_keys_share_one_bound_on_records() {
    let _one = SERIAL.lock().await;
    let fake = FakeToss::new(TossConfig {
        max_records: 300,
        ..small_journal_toss()
    });
    let url = spawn(fake.router()).await;
    let anonymous = Api::new(&url, None);
    let merchants: Vec<Api> = (0..40)
        .map(|m| anonymous.as_merchant(&format!("test_sk_invented_{m:04}")))
        .collect();
    let mut keys = Vec::new();
    for merchant in &merchants {
        for _ in 0..25 {
            let payment = merchant
                .post(
                    "/v1/payments/key-in",
                    json!({"cardNumber": "4330123412341234", "cardExpirationYear": "49",
                           "cardExpirationMonth": "12", "amount": 1000,
                           "orderId": uuid::Uuid::new_v4().simple().to_string()}),
                )
                .await;
            keys.push((
                merchant.clone(),
                payment.ok()["paymentKey"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let mut kept = 0;
    for (merchant, key) in &keys {
        if merchant.get(&format!("/v1/payments/{key}")).await.status == 200 {
            kept += 1;
        }
    }
    assert!(
        (200..=300).contains(&kept),
        "{kept} of 1,000 payments kept under a bound of 300"
    );
    // The newest merchant's payments are the ones kept.
    let (last, key) = keys.last().unwrap();
    last.get(&format!("/v1/payments/{key}")).await.ok();
}
