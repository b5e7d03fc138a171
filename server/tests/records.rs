//! The payments server over real HTTP against both fakes, on SQLite and on MariaDB.

mod support;

use payments_api::client::ClientError;
use payments_api::iamport::IamportPayment;
use payments_api::payments::*;
use payments_api::toss::TossPayment;
use payments_fakes::Fake as _;
use serde_json::{Value, json};
use support::{PASSWORD, source};

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn create(code: VendorCode, uid: &str, source_id: &str, price: f64) -> PaymentHistoryCreate {
    PaymentHistoryCreate {
        vendor: PaymentVendor {
            code,
            store_id: "store-1".into(),
            uid: uid.into(),
        },
        source: source(source_id),
        webhook_url: "http://127.0.0.1:9/hook".into(),
        price,
        password: PASSWORD.into(),
    }
}

fn accessor(source_id: &str, password: &str) -> PaymentSourceAccessor {
    PaymentSourceAccessor {
        source: source(source_id),
        password: password.into(),
    }
}

fn cancel(source_id: &str, price: f64, account: Option<RefundAccount>) -> PaymentCancelCreate {
    PaymentCancelCreate {
        source: source(source_id),
        password: PASSWORD.into(),
        price,
        reason: "고객 변심".into(),
        account,
    }
}

fn account() -> RefundAccount {
    RefundAccount {
        bank: "신한은행".into(),
        account: "110-123-456789".into(),
        holder: "홍길동".into(),
        mobile: "010-1234-5678".into(),
    }
}

fn status_of(result: Result<PaymentHistory, ClientError>) -> (u16, String) {
    let error = result.expect_err("an error");
    (
        error.status().unwrap_or(0),
        error.code().unwrap_or("").to_owned(),
    )
}

on_both!(
    a_toss_card_payment_is_confirmed_stored_and_read_back,
    |ctx| {
        let order = uuid();
        let key = ctx.toss_card(&order, 30000).await;
        let history = ctx
            .client
            .create_history(&create(VendorCode::TossPayments, &key, &order, 30000.0))
            .await
            .unwrap();
        assert_eq!(history.vendor.code, VendorCode::TossPayments);
        assert_eq!((history.price, history.currency.as_str()), (30000.0, "KRW"));
        assert!(
            history.paid_at.is_some() && history.cancelled_at.is_none() && history.refund.is_none()
        );
        let PaymentData::Toss(TossPayment::Card(card)) = &history.data else {
            panic!("a Toss card payment")
        };
        assert_eq!(
            serde_json::to_value(card.base.status).unwrap(),
            "DONE",
            "the server confirmed it at the PG"
        );
        assert_eq!(
            history.paid_at.unwrap().timestamp(),
            card.base.approved_at.unwrap().timestamp(),
            "paid_at is the PG's approval time"
        );
        let by_id = ctx.client.history_at(history.id, PASSWORD).await.unwrap();
        assert_eq!(by_id, history);
        let by_source = ctx
            .client
            .history_by_source(&accessor(&order, PASSWORD))
            .await
            .unwrap();
        assert_eq!(by_source, history);
    }
);

// An easy pay (Toss's `method: "간편결제"`, docs.tosspayments.com/common/easypay-response)
// made in the fake's payment window: the server confirms it like a card payment, keeps
// its `easyPay`, and cancels it.
on_both!(a_toss_easy_pay_is_confirmed_stored_and_cancelled, |ctx| {
    let order = uuid();
    let (status, window) = ctx
        .toss_call(
            reqwest::Method::POST,
            "/internal/payments",
            Some(
                json!({"orderId": order, "amount": 18000, "method": "easy-pay",
                            "easyPay": "KAKAOPAY", "easyPayDiscountAmount": 3000}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{window}");
    let key = window["paymentKey"].as_str().unwrap();
    let history = ctx
        .client
        .create_history(&create(VendorCode::TossPayments, key, &order, 18000.0))
        .await
        .unwrap();
    assert!(history.paid_at.is_some());
    let PaymentData::Toss(TossPayment::EasyPay(easy_pay)) = &history.data else {
        panic!("a Toss easy pay: {:?}", history.data)
    };
    let wallet = easy_pay.easy_pay.as_ref().unwrap();
    assert_eq!(wallet.provider, "카카오페이");
    assert_eq!((wallet.amount, wallet.discount_amount), (15000.0, 3000.0));
    assert!(easy_pay.card.is_none());

    let cancelled = ctx
        .client
        .cancel_history(&cancel(&order, 18000.0, None))
        .await
        .unwrap();
    assert_eq!(cancelled.refund, Some(18000.0));
    let read = ctx
        .client
        .history_by_source(&accessor(&order, PASSWORD))
        .await
        .unwrap();
    assert_eq!(read, cancelled);
});

on_both!(
    an_iamport_card_payment_is_verified_stored_and_read_back,
    |ctx| {
        let order = uuid();
        let imp_uid = ctx.iamport_card(&order, 20000).await;
        let history = ctx
            .client
            .create_history(&create(VendorCode::Iamport, &imp_uid, &order, 20000.0))
            .await
            .unwrap();
        assert!(matches!(
            history.data,
            PaymentData::Iamport(IamportPayment::Card(_))
        ));
        assert!(history.paid_at.is_some());
        assert_eq!(
            ctx.client.history_at(history.id, PASSWORD).await.unwrap(),
            history
        );
        assert_eq!(
            ctx.client
                .history_by_source(&accessor(&order, PASSWORD))
                .await
                .unwrap(),
            history
        );
    }
);

on_both!(unpaid_virtual_accounts_are_stored_without_paid_at, |ctx| {
    let order = uuid();
    let key = ctx.toss_virtual_account(&order, 25000).await;
    let toss = ctx
        .client
        .create_history(&create(VendorCode::TossPayments, &key, &order, 25000.0))
        .await
        .unwrap();
    assert!(toss.paid_at.is_none());
    assert_eq!(
        ctx.client.history_at(toss.id, PASSWORD).await.unwrap(),
        toss
    );
    assert_eq!(
        ctx.client
            .history_by_source(&accessor(&order, PASSWORD))
            .await
            .unwrap(),
        toss
    );
    assert!(matches!(
        toss.data,
        PaymentData::Toss(TossPayment::VirtualAccount(_))
    ));
    let order = uuid();
    let imp_uid = ctx.iamport_vbank(&order, 19900).await;
    let iamport = ctx
        .client
        .create_history(&create(VendorCode::Iamport, &imp_uid, &order, 19900.0))
        .await
        .unwrap();
    assert!(iamport.paid_at.is_none());
    assert_eq!(
        ctx.client.history_at(iamport.id, PASSWORD).await.unwrap(),
        iamport
    );
    assert_eq!(
        ctx.client
            .history_by_source(&accessor(&order, PASSWORD))
            .await
            .unwrap(),
        iamport
    );
    assert!(matches!(
        iamport.data,
        PaymentData::Iamport(IamportPayment::VBank(_))
    ));
});

on_both!(billing_keys_are_verified_stored_and_read_back, |ctx| {
    // Toss: a billing key for a customer, verified with the source id as customerKey.
    let customer = uuid();
    let (status, billing) = ctx
        .toss_call(
            reqwest::Method::POST,
            "/v1/billing/authorizations/card",
            Some(json!({"customerKey": customer, "cardNumber": "5365101234567540", "cardExpirationYear": "49", "cardExpirationMonth": "03", "cardPassword": "99", "customerBirthday": "880311"})),
        )
        .await;
    assert_eq!(status, 200, "{billing}");
    let billing_key = billing["billingKey"].as_str().unwrap();
    let input = PaymentReservationCreate {
        vendor: PaymentVendor {
            code: VendorCode::TossPayments,
            store_id: "store-1".into(),
            uid: billing_key.into(),
        },
        source: PaymentSource {
            schema: "shop".into(),
            table: "customers".into(),
            id: customer.clone(),
        },
        title: "개인 카드".into(),
        password: PASSWORD.into(),
    };
    // Another customer's billing key is refused by the PG.
    let mut stranger = input.clone();
    stranger.source.id = uuid();
    assert_eq!(
        ctx.client
            .create_reservation(&stranger)
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
    let toss = ctx.client.create_reservation(&input).await.unwrap();
    assert!(matches!(toss.data, ReservationData::Toss(_)));
    assert_eq!(
        ctx.client.reservation_at(toss.id, PASSWORD).await.unwrap(),
        toss
    );
    let by_source = PaymentSourceAccessor {
        source: input.source.clone(),
        password: PASSWORD.into(),
    };
    assert_eq!(
        ctx.client.reservation_by_source(&by_source).await.unwrap(),
        toss
    );
    let again = ctx.client.create_reservation(&input).await.unwrap_err();
    assert_eq!(again.status(), Some(409));

    // I'mport: a billing key named by the client, same id as the source.
    let customer_uid = uuid();
    let (status, _) = ctx
        .iamport_call(
            reqwest::Method::POST,
            &format!("/subscribe/customers/{customer_uid}"),
            Some(json!({"customer_uid": customer_uid, "card_number": "4092-0230-1234-5678", "expiry": "2049-12", "birth": "880311"})),
        )
        .await;
    assert_eq!(status, 200);
    let mut iamport_input = input.clone();
    iamport_input.vendor.code = VendorCode::Iamport;
    iamport_input.vendor.uid = customer_uid.clone();
    iamport_input.source.id = customer_uid.clone();
    let iamport = ctx.client.create_reservation(&iamport_input).await.unwrap();
    assert!(matches!(iamport.data, ReservationData::Iamport(_)));
    assert_eq!(
        ctx.client
            .reservation_at(iamport.id, PASSWORD)
            .await
            .unwrap(),
        iamport
    );
    let wrong = ctx
        .client
        .reservation_at(iamport.id, "nope")
        .await
        .unwrap_err();
    assert_eq!(wrong.status(), Some(403));
    let mut unknown = iamport_input.clone();
    unknown.vendor.uid = "nobody".into();
    unknown.source.id = uuid();
    assert_eq!(
        ctx.client
            .create_reservation(&unknown)
            .await
            .unwrap_err()
            .status(),
        Some(422)
    );
});

on_both!(card_cancels_full_partial_and_over, |ctx| {
    for code in [
        VendorCode::TossPayments,
        VendorCode::Iamport,
        VendorCode::PortOne,
    ] {
        // Full.
        let order = uuid();
        let uid = match code {
            VendorCode::TossPayments => ctx.toss_card(&order, 20000).await,
            VendorCode::Iamport => ctx.iamport_card(&order, 20000).await,
            VendorCode::PortOne => {
                let id = uuid();
                ctx.portone_card(&id, 20000).await;
                id
            }
        };
        ctx.client
            .create_history(&create(code, &uid, &order, 20000.0))
            .await
            .unwrap();
        let full = ctx
            .client
            .cancel_history(&cancel(&order, 20000.0, None))
            .await
            .unwrap();
        assert_eq!(full.refund, Some(20000.0), "{code}");
        assert_eq!(full.cancels.len(), 1);
        assert_eq!(full.cancels[0].price, 20000.0);
        assert_eq!(full.cancels[0].reason, "고객 변심");
        assert!(full.cancelled_at.is_some());
        assert_eq!(
            ctx.client.history_at(full.id, PASSWORD).await.unwrap(),
            full
        );

        // Partial ×5, then over.
        let order = uuid();
        let uid = match code {
            VendorCode::TossPayments => ctx.toss_card(&order, 20000).await,
            VendorCode::Iamport => ctx.iamport_card(&order, 20000).await,
            VendorCode::PortOne => {
                let id = uuid();
                ctx.portone_card(&id, 20000).await;
                id
            }
        };
        ctx.client
            .create_history(&create(code, &uid, &order, 20000.0))
            .await
            .unwrap();
        let mut first_cancel = None;
        for i in 1..=5 {
            let history = ctx
                .client
                .cancel_history(&cancel(&order, 4000.0, None))
                .await
                .unwrap();
            assert_eq!(history.cancels.len(), i, "{code}");
            assert_eq!(history.refund, Some(4000.0 * i as f64));
            let sum: f64 = history.cancels.iter().map(|c| c.price).sum();
            assert_eq!(sum, 4000.0 * i as f64);
            first_cancel.get_or_insert(history.cancelled_at);
            assert_eq!(
                history.cancelled_at,
                first_cancel.unwrap(),
                "the first cancel's time"
            );
        }
        let over = ctx.client.cancel_history(&cancel(&order, 1.0, None)).await;
        assert_eq!(status_of(over), (422, "pg_refused".into()), "{code}");
        let unchanged = ctx
            .client
            .history_by_source(&accessor(&order, PASSWORD))
            .await
            .unwrap();
        assert_eq!(unchanged.cancels.len(), 5);
    }
});

on_both!(a_payment_is_read_with_its_cancels_in_their_order, |ctx| {
    // A payment and its cancels are read in one statement, one result row per cancel:
    // every cancel comes back once, in the order it was made, by id and by source alike.
    let order = uuid();
    let uid = ctx.toss_card(&order, 20000).await;
    let created = ctx
        .client
        .create_history(&create(VendorCode::TossPayments, &uid, &order, 20000.0))
        .await
        .unwrap();
    let read = ctx.client.history_at(created.id, PASSWORD).await.unwrap();
    assert_eq!(read, created);
    assert!(read.cancels.is_empty());
    let mut last = None;
    for (price, reason) in [(1000.0, "첫째"), (3000.0, "second"), (500.0, "3rd")] {
        let mut input = cancel(&order, price, None);
        input.reason = reason.into();
        last = Some(ctx.client.cancel_history(&input).await.unwrap());
    }
    let last = last.unwrap();
    let shown: Vec<(f64, &str)> = last
        .cancels
        .iter()
        .map(|c| (c.price, c.reason.as_str()))
        .collect();
    assert_eq!(
        shown,
        [(1000.0, "첫째"), (3000.0, "second"), (500.0, "3rd")]
    );
    assert_eq!(
        ctx.client.history_at(created.id, PASSWORD).await.unwrap(),
        last
    );
    assert_eq!(
        ctx.client
            .history_by_source(&accessor(&order, PASSWORD))
            .await
            .unwrap(),
        last
    );
    // A wrong password opens nothing, with or without cancels.
    assert_eq!(
        ctx.client
            .history_at(created.id, "wrong-password")
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
});

on_both!(virtual_accounts_are_refunded_to_an_account_only, |ctx| {
    // Toss: issue, store, deposit at the PG, then cancel.
    let order = uuid();
    let key = ctx.toss_virtual_account(&order, 25000).await;
    ctx.client
        .create_history(&create(VendorCode::TossPayments, &key, &order, 25000.0))
        .await
        .unwrap();
    let (status, _) = ctx
        .toss_call(
            reqwest::Method::PUT,
            &format!("/internal/{key}/deposit"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let without = ctx
        .client
        .cancel_history(&cancel(&order, 5000.0, None))
        .await;
    assert_eq!(status_of(without).0, 422);
    let partial = ctx
        .client
        .cancel_history(&cancel(&order, 5000.0, Some(account())))
        .await
        .unwrap();
    assert_eq!(partial.refund, Some(5000.0));
    assert!(
        partial.paid_at.is_some(),
        "the PG's deposit shows after the cancel"
    );

    // I'mport: the same.
    let order = uuid();
    let imp_uid = ctx.iamport_vbank(&order, 19900).await;
    ctx.client
        .create_history(&create(VendorCode::Iamport, &imp_uid, &order, 19900.0))
        .await
        .unwrap();
    let (status, _) = ctx
        .iamport_call(
            reqwest::Method::PUT,
            &format!("/internal/deposit/{imp_uid}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let without = ctx
        .client
        .cancel_history(&cancel(&order, 19900.0, None))
        .await;
    assert_eq!(status_of(without).0, 422);
    let full = ctx
        .client
        .cancel_history(&cancel(&order, 19900.0, Some(account())))
        .await
        .unwrap();
    assert_eq!(full.refund, Some(19900.0));
});

on_both!(errors_have_their_statuses_and_codes, |ctx| {
    let order = uuid();
    let key = ctx.toss_card(&order, 1000).await;
    let stored = ctx
        .client
        .create_history(&create(VendorCode::TossPayments, &key, &order, 1000.0))
        .await
        .unwrap();

    // 400: undecryptable, JSON instead of text, malformed input, a bad id.
    let (status, body) = ctx
        .raw(reqwest::Method::POST, "/payments/histories", None)
        .await;
    assert_eq!(status, 400, "{body}");
    let response = ctx
        .http
        .post(format!("{}/payments/histories", ctx.url))
        .header("content-type", "text/plain")
        .body("not base64!")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: ErrorBody = response.json().await.unwrap();
    assert_eq!(body.code, "undecryptable");
    let response = ctx
        .http
        .post(format!("{}/payments/histories", ctx.url))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let (status, body) = ctx
        .raw(
            reqwest::Method::POST,
            "/payments/histories",
            Some(&json!({"price": 1})),
        )
        .await;
    // A body of the wrong shape is one more body that cannot be read: the same answer as
    // any other, so that answers are no padding oracle.
    assert_eq!(status, 400);
    assert!(body.contains("undecryptable"), "{body}");
    let mut negative = create(VendorCode::TossPayments, "x", &uuid(), -1.0);
    negative.price = -1.0;
    assert_eq!(status_of(ctx.client.create_history(&negative).await).0, 400);
    // A PG id is a path segment of the PG's URL; the two dot segments would name another
    // path there.
    for dots in [".", ".."] {
        let dotted = create(VendorCode::TossPayments, dots, &uuid(), 1000.0);
        assert_eq!(
            status_of(ctx.client.create_history(&dotted).await).0,
            400,
            "{dots}"
        );
    }
    let (status, _) = ctx
        .raw(
            reqwest::Method::PATCH,
            "/payments/histories/not-a-uuid",
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 400);

    // 403 and 404.
    assert_eq!(
        status_of(ctx.client.history_at(stored.id, "wrong").await),
        (403, "wrong_password".into())
    );
    assert_eq!(
        status_of(ctx.client.history_at(uuid::Uuid::new_v4(), PASSWORD).await),
        (404, "not_found".into())
    );
    assert_eq!(
        status_of(
            ctx.client
                .history_by_source(&accessor("nothing", PASSWORD))
                .await
        )
        .0,
        404
    );
    assert_eq!(
        status_of(
            ctx.client
                .cancel_history(&cancel("nothing", 1.0, None))
                .await
        )
        .0,
        404
    );

    // 409: the same PG id, or the same source, each named; the PG is not asked again.
    let confirms_before = confirm_count(&ctx);
    let same_key = create(VendorCode::TossPayments, &key, &uuid(), 1000.0);
    let refused = ctx.client.create_history(&same_key).await;
    let message = format!("{:?}", refused.as_ref().map(|_| ()));
    assert_eq!(status_of(refused), (409, "duplicate".into()));
    assert!(message.contains("PG id"), "{message}");
    let other_key = ctx.toss_card(&uuid(), 1000).await;
    let same_source = create(VendorCode::TossPayments, &other_key, &order, 1000.0);
    let refused = ctx.client.create_history(&same_source).await;
    let message = format!("{:?}", refused.as_ref().map(|_| ()));
    assert_eq!(status_of(refused), (409, "duplicate".into()));
    assert!(message.contains("for this source"), "{message}");
    // Both keys taken: the PG id is named first.
    let both = create(VendorCode::TossPayments, &key, &order, 1000.0);
    let refused = ctx.client.create_history(&both).await;
    let message = format!("{:?}", refused.as_ref().map(|_| ()));
    assert!(message.contains("PG id"), "{message}");
    assert_eq!(
        confirm_count(&ctx),
        confirms_before,
        "no side effect at the PG"
    );

    // 422: the PG disagrees. A Toss amount mismatch is refused at confirmation…
    let order = uuid();
    let key = ctx.toss_card(&order, 1000).await;
    let mismatch = create(VendorCode::TossPayments, &key, &order, 999.0);
    assert_eq!(
        status_of(ctx.client.create_history(&mismatch).await),
        (422, "pg_refused".into())
    );
    // …an I'mport one is refunded at the PG.
    let order = uuid();
    let imp_uid = ctx.iamport_card(&order, 1000).await;
    let mismatch = create(VendorCode::Iamport, &imp_uid, &order, 999.0);
    assert_eq!(
        status_of(ctx.client.create_history(&mismatch).await),
        (422, "amount_mismatch".into())
    );
    let (_, payment) = ctx
        .iamport_call(reqwest::Method::GET, &format!("/payments/{imp_uid}"), None)
        .await;
    assert_eq!(
        payment["response"]["status"], "cancelled",
        "refunded at the PG"
    );
    let unknown = create(VendorCode::Iamport, "imp_000000000000", &uuid(), 1.0);
    assert_eq!(status_of(ctx.client.create_history(&unknown).await).0, 422);

    // 502 and 504: the PG fails, or is too slow (the test PG timeout is 1 s).
    let order = uuid();
    let key = ctx.toss_card(&order, 1000).await;
    ctx.toss_call(
        reqwest::Method::POST,
        "/internal/faults",
        Some(json!({"path": "/v1/payments/confirm", "action": "error", "code": "FAILED_INTERNAL_SYSTEM_PROCESSING"})),
    )
    .await;
    let failed = ctx
        .client
        .create_history(&create(VendorCode::TossPayments, &key, &order, 1000.0))
        .await;
    assert_eq!(status_of(failed), (502, "pg_failed".into()));
    ctx.toss_call(
        reqwest::Method::POST,
        "/internal/faults",
        Some(json!({"path": "/v1/payments/confirm", "action": "delay", "ms": 1500})),
    )
    .await;
    let slow = ctx
        .client
        .create_history(&create(VendorCode::TossPayments, &key, &order, 1000.0))
        .await;
    assert_eq!(status_of(slow), (504, "pg_timeout".into()));
    // Nothing was stored by the failures.
    assert_eq!(
        status_of(
            ctx.client
                .history_by_source(&accessor(&order, PASSWORD))
                .await
        )
        .0,
        404
    );
});

on_both!(each_store_uses_its_own_pg_account, |ctx| {
    // A payment made at the merchant account of store-2…
    let order = uuid();
    let (status, payment) = ctx
        .toss_call_as(
            support::TOSS_KEY_2,
            reqwest::Method::POST,
            "/v1/payments/key-in",
            Some(json!({"cardNumber": "4330123412341234", "cardExpirationYear": "49", "cardExpirationMonth": "12", "amount": 1000, "orderId": order, "__approved": false})),
        )
        .await;
    assert_eq!(status, 200);
    let key = payment["paymentKey"].as_str().unwrap();
    // …is unknown to the default account, which serves store-1…
    let wrong_store = create(VendorCode::TossPayments, key, &order, 1000.0);
    assert_eq!(
        status_of(ctx.client.create_history(&wrong_store).await),
        (422, "pg_refused".into())
    );
    // …and confirmed through store-2's own account.
    let mut right_store = wrong_store.clone();
    right_store.vendor.store_id = "store-2".into();
    let history = ctx.client.create_history(&right_store).await.unwrap();
    assert_eq!(history.vendor.store_id, "store-2");
    // I'mport has only a default account: every store uses it.
    let order = uuid();
    let imp_uid = ctx.iamport_card(&order, 500).await;
    let mut any_store = create(VendorCode::Iamport, &imp_uid, &order, 500.0);
    any_store.vendor.store_id = "somewhere-else".into();
    ctx.client.create_history(&any_store).await.unwrap();
});

on_both!(concurrent_iamport_calls_share_one_access_token, |ctx| {
    let mut payments = Vec::new();
    for _ in 0..8 {
        let order = uuid();
        let imp_uid = ctx.iamport_card(&order, 1000).await;
        payments.push(create(VendorCode::Iamport, &imp_uid, &order, 1000.0));
    }
    // A fresh server, with no token yet (the fake's notifications made the old one ask).
    ctx.restart().await;
    let tokens_before = token_requests(&ctx);
    let mut tasks = Vec::new();
    for payment in payments {
        let client = ctx.client.clone();
        tasks.push(tokio::spawn(async move {
            client.create_history(&payment).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        token_requests(&ctx) - tokens_before,
        1,
        "one token for all eight"
    );
});

fn token_requests(ctx: &support::Ctx) -> usize {
    ctx.iamport
        .journal()
        .snapshot(0, 10_000)
        .requests
        .iter()
        .filter(|r| r.path == "/users/getToken")
        .count()
}

fn confirm_count(ctx: &support::Ctx) -> usize {
    ctx.toss
        .journal()
        .snapshot(0, 10_000)
        .requests
        .iter()
        .filter(|r| r.path == "/v1/payments/confirm")
        .count()
}

on_both!(the_legacy_paths_serve_the_older_shapes, |ctx| {
    let order = uuid();
    let key = ctx.toss_card(&order, 5000).await;
    let codec = payments_api::BodyCodec::new(
        payments_api::codec::SANDBOX_KEY,
        payments_api::codec::SANDBOX_IV,
    )
    .unwrap();
    let input =
        serde_json::to_value(create(VendorCode::TossPayments, &key, &order, 5000.0)).unwrap();
    let (status, body) = ctx
        .raw(reqwest::Method::POST, "/histories", Some(&input))
        .await;
    assert_eq!(status, 201);
    let legacy: Value = codec.decrypt_json(&body).unwrap();
    assert_eq!(legacy["currency_unit"], "KRW");
    assert!(
        legacy.get("currency").is_none()
            && legacy.get("cancels").is_none()
            && legacy.get("refund").is_none()
    );
    let id = legacy["id"].as_str().unwrap();
    let (status, body) = ctx
        .raw(
            reqwest::Method::PATCH,
            &format!("/histories/{id}"),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(codec.decrypt_json::<Value>(&body).unwrap(), legacy);
    let (status, body) = ctx
        .raw(
            reqwest::Method::PATCH,
            "/histories/get",
            Some(&json!({"schema": "shop", "table": "orders", "id": order, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(codec.decrypt_json::<Value>(&body).unwrap(), legacy);
    // The same record in the current shape.
    let current = ctx
        .client
        .history_by_source(&accessor(&order, PASSWORD))
        .await
        .unwrap();
    assert_eq!(current.id.to_string(), id);
    let (status, _) = ctx
        .raw(
            reqwest::Method::PATCH,
            &format!("/histories/{id}"),
            Some(&json!({"password": "wrong"})),
        )
        .await;
    assert_eq!(status, 403);
    // The legacy reservation routes answer too.
    let (status, _) = ctx
        .raw(
            reqwest::Method::PATCH,
            &format!("/reservations/{}", uuid()),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = ctx
        .raw(
            reqwest::Method::PATCH,
            "/reservations/get",
            Some(&json!({"schema": "shop", "table": "customers", "id": "nobody", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 404);
});

on_both!(monitors_answer, |ctx| {
    ctx.client.health().await.unwrap();
    let system = ctx.client.system().await.unwrap();
    assert_eq!(system.package.name, "payments-server");
    let performance = ctx.client.performance().await.unwrap();
    assert!(performance.requests.total >= 2);
    assert!(performance.memory.rss > 0);
});

on_both!(
    records_survive_a_restart_and_nothing_is_stored_in_clear,
    |ctx| {
        let order = uuid();
        let imp_uid = ctx.iamport_card(&order, 7000).await;
        let history = ctx
            .client
            .create_history(&create(VendorCode::Iamport, &imp_uid, &order, 7000.0))
            .await
            .unwrap();
        let after_cancel = ctx
            .client
            .cancel_history(&cancel(&order, 1000.0, None))
            .await
            .unwrap();
        ctx.restart().await;
        assert_eq!(
            ctx.client.history_at(history.id, PASSWORD).await.unwrap(),
            after_cancel
        );

        let dump = ctx.dump().await;
        assert!(dump.contains(&imp_uid), "the PG id is a plain key column");
        for secret in [
            "4092-0230-1234-5678",
            "4092",
            "김결제자",
            "고객 변심",
            PASSWORD,
            "card_number",
            "buyer_name",
        ] {
            assert!(!dump.contains(secret), "{secret} is stored in clear");
        }
    }
);

on_both!(
    a_request_dropped_mid_way_leaves_the_in_flight_count,
    |ctx| {
        // A Toss that takes the server's call and never answers, and a PG timeout long enough
        // for the client to give up first.
        let toss = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let toss_url = format!("http://{}", toss.local_addr().unwrap());
        ctx.config.pg.toss.get_mut("default").unwrap().base_url = toss_url;
        ctx.config.pg.timeout_seconds = 60.0;
        ctx.restart().await;
        let in_flight = || async { ctx.client.performance().await.unwrap().requests.in_flight };
        assert_eq!(in_flight().await, 1, "the asking request itself");

        // A client sends a payment to store…
        let codec = payments_api::BodyCodec::new(
            payments_api::codec::SANDBOX_KEY,
            payments_api::codec::SANDBOX_IV,
        )
        .unwrap();
        let body = codec
            .encrypt_json(&create(VendorCode::TossPayments, "key", &uuid(), 1000.0))
            .unwrap();
        let address = ctx.url.trim_start_matches("http://");
        let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!(
            "POST /payments/histories HTTP/1.1\r\nhost: {address}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        tokio::io::AsyncWriteExt::write_all(&mut client, request.as_bytes())
            .await
            .unwrap();
        // …the server asks the PG and waits…
        let (mut at_toss, _) = toss.accept().await.unwrap();
        assert_eq!(in_flight().await, 2);
        // …and the client hangs up. The server drops the request, its call to the PG with it.
        drop(client);
        let mut buffer = [0u8; 4096];
        while tokio::io::AsyncReadExt::read(&mut at_toss, &mut buffer)
            .await
            .is_ok_and(|n| n > 0)
        {}
        assert_eq!(in_flight().await, 1, "the dropped request no longer counts");
    }
);

on_both!(every_answer_carries_a_request_id, |ctx| {
    let answer = |path: &'static str, given: Option<&'static str>| {
        let mut request = ctx.http.get(format!("{}{path}", ctx.url));
        if let Some(id) = given {
            request = request.header("x-request-id", id);
        }
        async move {
            let response = request.send().await.unwrap();
            let id = response.headers()["x-request-id"].to_str().unwrap();
            (response.status().as_u16(), id.to_owned())
        }
    };
    let (_, first) = answer("/monitors/health", None).await;
    let (_, second) = answer("/monitors/health", None).await;
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
    assert_ne!(first, second, "a fresh id each time");
    // A client's own id is kept, on errors too.
    assert_eq!(
        answer("/no/such/route", Some("client-chosen-id")).await,
        (404, "client-chosen-id".to_owned())
    );
});
