//! Every wire type against realistic JSON documents written from the reference specs: each
//! fixture must deserialise into its type and serialise back to the same JSON, field for
//! field. A field the type forgot, renamed or formatted differently shows up as a difference.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use payments_api::iamport::*;
use payments_api::monitors::{Performance, System};
use payments_api::payments::*;
use payments_api::toss::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Reads `name`, checks that it survives a round trip through `T`, returns the typed value.
fn round_trip<T: Serialize + DeserializeOwned>(name: &str) -> T {
    let text = std::fs::read_to_string(fixtures_dir().join(name))
        .unwrap_or_else(|e| panic!("{name}: cannot read: {e}"));
    let original: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let typed: T =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: does not deserialise: {e}"));
    let back = serde_json::to_value(&typed).expect("serialises");
    let mut differences = Vec::new();
    diff("", &original, &back, &mut differences);
    assert!(
        differences.is_empty(),
        "{name}: differs after a round trip:\n  {}",
        differences.join("\n  ")
    );
    typed
}

/// Collects the JSON pointers at which `left` and `right` differ.
fn diff(path: &str, left: &Value, right: &Value, out: &mut Vec<String>) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let keys: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            for key in keys {
                let here = format!("{path}/{key}");
                match (l.get(key), r.get(key)) {
                    (Some(a), Some(b)) => diff(&here, a, b, out),
                    (Some(a), None) => out.push(format!("{here}: {a} was dropped")),
                    (None, Some(b)) => out.push(format!("{here}: {b} was added")),
                    (None, None) => unreachable!("key comes from one of the maps"),
                }
            }
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => {
            for (i, (a, b)) in l.iter().zip(r).enumerate() {
                diff(&format!("{path}/{i}"), a, b, out);
            }
        }
        _ if left == right => {}
        _ => out.push(format!("{path}: {left} became {right}")),
    }
}

type Check = fn(&str);

/// Every fixture with the check that reads it. `every_fixture_is_checked` makes sure no
/// file in the folder is missing here.
const FIXTURES: &[(&str, Check)] = &[
    // I'mport
    ("iamport/payment.card.json", |f| {
        let p: IamportPayment = round_trip(f);
        let IamportPayment::Card(card) = &p else {
            panic!("{f}: not a card payment: {p:?}")
        };
        assert_eq!(card.base.pay_method, IamportPayMethod::Card);
        assert_eq!(card.card_quota, 0);
        assert_eq!(card.base.cancel_history.len(), 1);
        assert_eq!(
            card.base.cancel_history[0].cancellation_id.as_deref(),
            Some("cancel_1234567890")
        );
    }),
    ("iamport/payment.samsung.json", |f| {
        let p: IamportPayment = round_trip(f);
        assert!(
            matches!(p, IamportPayment::Card(ref c) if c.base.pay_method == IamportPayMethod::Samsung)
        );
    }),
    ("iamport/payment.trans.json", |f| {
        let p: IamportPayment = round_trip(f);
        assert!(matches!(p, IamportPayment::Transfer(ref t) if t.bank_code == "088"));
    }),
    ("iamport/payment.vbank.json", |f| {
        let p: IamportPayment = round_trip(f);
        let IamportPayment::VBank(v) = &p else {
            panic!("{f}: not a vbank payment")
        };
        assert_eq!(v.base.status, IamportPaymentStatus::Ready);
        assert_eq!(v.base.paid_at, 0);
        assert_eq!(v.vbank_date, 1_718_989_199);
    }),
    ("iamport/payment.kakaopay.json", |f| {
        let p: IamportPayment = round_trip(f);
        assert!(
            matches!(p, IamportPayment::Other(ref b) if b.pay_method == IamportPayMethod::Kakaopay)
        );
        assert_eq!(p.base().amount, 12.5);
        assert_eq!(p.base().currency, IamportCurrency::USD);
    }),
    ("iamport/payment.naverpay.json", |f| {
        let p: IamportPayment = round_trip(f);
        assert_eq!(
            p.base().pay_method,
            IamportPayMethod::Other("naverpay".into())
        );
        assert_eq!(p.base().currency, IamportCurrency::Other("VND".into()));
    }),
    ("iamport/response.payment.json", |f| {
        let r: IamportResponse<IamportPayment> = round_trip(f);
        assert_eq!(r.code, 0);
        assert!(matches!(r.response, Some(IamportPayment::Card(_))));
    }),
    ("iamport/response.error.json", |f| {
        let r: IamportResponse<IamportPayment> = round_trip(f);
        assert_eq!(r.code, -1);
        assert!(r.response.is_none());
    }),
    ("iamport/user.json", |f| {
        let u: IamportUser = round_trip(f);
        assert_eq!(u.expired_at - u.now, 1800);
    }),
    ("iamport/user-accessor.json", |f| {
        round_trip::<IamportUserAccessor>(f);
    }),
    ("iamport/cancel-create.json", |f| {
        let c: IamportPaymentCancelCreate = round_trip(f);
        assert_eq!(c.amount, Some(3980.0));
        assert_eq!(c.enable_webhook, Some(true));
    }),
    ("iamport/cancel-create.minimal.json", |f| {
        let c: IamportPaymentCancelCreate = round_trip(f);
        assert_eq!((c.amount, c.checksum), (None, Some(20000.0)));
    }),
    ("iamport/webhook.json", |f| {
        let w: IamportWebhook = round_trip(f);
        assert_eq!(w.status, IamportPaymentStatus::Paid);
        assert!(w.cancellation_id.is_none());
    }),
    ("iamport/webhook.cancel.json", |f| {
        let w: IamportWebhook = round_trip(f);
        assert_eq!(w.status, IamportPaymentStatus::Cancelled);
    }),
    ("iamport/prepare.json", |f| {
        round_trip::<IamportPaymentPrepare>(f);
    }),
    ("iamport/subscription.json", |f| {
        let s: IamportSubscription = round_trip(f);
        assert_eq!(s.card_type, "0");
    }),
    ("iamport/subscription-create.json", |f| {
        let s: IamportSubscriptionCreate = round_trip(f);
        assert_eq!(s.card.customer_addr.as_deref(), Some("서울특별시 강남구"));
    }),
    ("iamport/onetime.json", |f| {
        let o: IamportSubscriptionOnetime = round_trip(f);
        assert_eq!(o.order.amount, 12000.0);
        assert_eq!(o.card.expiry, "2028-12");
    }),
    ("iamport/again.json", |f| {
        round_trip::<IamportSubscriptionAgain>(f);
    }),
    ("iamport/vbank-create.json", |f| {
        round_trip::<IamportVBankCreate>(f);
    }),
    ("iamport/vbank-update.json", |f| {
        round_trip::<IamportVBankUpdate>(f);
    }),
    ("iamport/certification.json", |f| {
        let c: IamportCertification = round_trip(f);
        assert_eq!(c.otp.as_deref(), Some("042719"));
        assert_eq!(c.carrier, IamportCarrier::SKT);
    }),
    ("iamport/certification-create.json", |f| {
        round_trip::<IamportCertificationCreate>(f);
    }),
    ("iamport/certification-confirm.json", |f| {
        round_trip::<IamportCertificationConfirm>(f);
    }),
    ("iamport/receipt.json", |f| {
        let r: IamportReceipt = round_trip(f);
        assert_eq!(r.kind, IamportReceiptType::Person);
    }),
    ("iamport/receipt-create.json", |f| {
        round_trip::<IamportReceiptCreate>(f);
    }),
    ("iamport/schedule-create.json", |f| {
        let s: IamportScheduleCreate = round_trip(f);
        assert_eq!(s.schedules.len(), 2);
        assert_eq!(s.schedules[1].name, None);
    }),
    ("iamport/schedule.json", |f| {
        let s: IamportSchedule = round_trip(f);
        assert_eq!(s.schedule_status, IamportScheduleStatus::Executed);
        assert_eq!(s.payment_status, Some(IamportPaymentStatus::Paid));
    }),
    ("iamport/schedule.scheduled.json", |f| {
        let s: IamportSchedule = round_trip(f);
        assert!(s.imp_uid.is_none() && s.payment_status.is_none());
    }),
    ("iamport/unschedule.json", |f| {
        round_trip::<IamportUnschedule>(f);
    }),
    // Toss
    ("toss/payment.card.json", |f| {
        let p: TossPayment = round_trip(f);
        let TossPayment::Card(card) = &p else {
            panic!("{f}: not a card payment")
        };
        assert_eq!(card.base.status, TossPaymentStatus::PartialCanceled);
        assert_eq!(card.base.balance_amount, 10000.0);
        assert_eq!(card.base.cancels.as_ref().map(Vec::len), Some(1));
        assert_eq!(card.card.acquire_status, TossAcquireStatus::Ready);
    }),
    ("toss/payment.card.in-progress.json", |f| {
        let p: TossPayment = round_trip(f);
        assert_eq!(p.base().status, TossPaymentStatus::InProgress);
        assert_eq!(p.base().kind, TossPaymentType::Billing);
        assert!(p.base().approved_at.is_none() && p.base().cancels.is_none());
    }),
    ("toss/payment.virtual-account.json", |f| {
        let p: TossPayment = round_trip(f);
        let TossPayment::VirtualAccount(va) = &p else {
            panic!("{f}: not a virtual-account payment")
        };
        assert_eq!(va.virtual_account.due_date.to_string(), "2024-02-20");
        assert_eq!(va.base.status, TossPaymentStatus::WaitingForDeposit);
    }),
    ("toss/payment.transfer.json", |f| {
        let p: TossPayment = round_trip(f);
        assert!(matches!(p, TossPayment::Transfer(_)));
    }),
    ("toss/payment.mobile-phone.json", |f| {
        let p: TossPayment = round_trip(f);
        assert!(matches!(p, TossPayment::MobilePhone(_)));
    }),
    ("toss/payment.gift-certificate.json", |f| {
        let p: TossPayment = round_trip(f);
        assert!(
            matches!(p, TossPayment::GiftCertificate(ref g) if g.gift_certificate.settlement_status == TossGiftSettlementStatus::Complete)
        );
    }),
    ("toss/payment.easy-pay.json", |f| {
        let p: TossPayment = round_trip(f);
        assert!(
            matches!(p, TossPayment::EasyPay(ref e) if e.easy_pay.as_ref().is_some_and(|e| e.provider == "토스페이"))
        );
        assert_eq!(p.base().status, TossPaymentStatus::Aborted);
    }),
    ("toss/cancel-create.json", |f| {
        let c: TossPaymentCancelCreate = round_trip(f);
        assert_eq!(
            c.refund_receive_account.unwrap().account_number,
            "110123456789"
        );
    }),
    ("toss/cancel-create.minimal.json", |f| {
        let c: TossPaymentCancelCreate = round_trip(f);
        assert!(c.cancel_amount.is_none() && c.payment_key.is_none());
    }),
    ("toss/approval.json", |f| {
        round_trip::<TossPaymentApproval>(f);
    }),
    ("toss/confirm.json", |f| {
        round_trip::<TossPaymentConfirm>(f);
    }),
    ("toss/key-in.json", |f| {
        let k: TossKeyInCreate = round_trip(f);
        assert_eq!(k.approved, Some(false));
    }),
    ("toss/virtual-account-create.json", |f| {
        let v: TossVirtualAccountCreate = round_trip(f);
        assert_eq!(v.valid_hours, Some(72));
    }),
    ("toss/virtual-account-create.due-date.json", |f| {
        let v: TossVirtualAccountCreate = round_trip(f);
        assert!(v.due_date.is_some() && v.method.is_none());
    }),
    ("toss/billing.json", |f| {
        round_trip::<TossBilling>(f);
    }),
    ("toss/billing-create.json", |f| {
        round_trip::<TossBillingCreate>(f);
    }),
    ("toss/billing-issue.json", |f| {
        round_trip::<TossBillingIssue>(f);
    }),
    ("toss/customer-key.json", |f| {
        round_trip::<TossCustomerKey>(f);
    }),
    ("toss/billing-charge.json", |f| {
        round_trip::<TossBillingCharge>(f);
    }),
    ("toss/cash-receipt.json", |f| {
        let r: TossCashReceipt = round_trip(f);
        assert_eq!(r.kind, TossCashReceiptType::ProofOfExpense);
    }),
    ("toss/cash-receipt-create.json", |f| {
        let r: TossCashReceiptCreate = round_trip(f);
        assert_eq!(r.kind, TossCashReceiptType::IncomeDeduction);
    }),
    ("toss/cash-receipt-cancel.json", |f| {
        round_trip::<TossCashReceiptCancel>(f);
    }),
    ("toss/error.json", |f| {
        round_trip::<TossError>(f);
    }),
    ("toss/webhook.payment-status-changed.json", |f| {
        let w: TossWebhook = round_trip(f);
        assert!(
            matches!(w, TossWebhook::PaymentStatusChanged(ref e) if matches!(e.data, TossPayment::Card(_)))
        );
    }),
    ("toss/webhook.deposit-callback.json", |f| {
        let w: TossWebhook = round_trip(f);
        assert!(
            matches!(w, TossWebhook::DepositCallback(ref e) if e.status == TossPaymentStatus::Done)
        );
    }),
    // Payments API
    ("payments/source.json", |f| {
        round_trip::<PaymentSource>(f);
    }),
    ("payments/password.json", |f| {
        round_trip::<PaymentPassword>(f);
    }),
    ("payments/source-accessor.json", |f| {
        let a: PaymentSourceAccessor = round_trip(f);
        assert_eq!(a.source.table, "orders");
    }),
    ("payments/history.iamport.card.json", |f| {
        let h: PaymentHistory = round_trip(f);
        assert!(matches!(
            h.data,
            PaymentData::Iamport(IamportPayment::Card(_))
        ));
        assert_eq!((h.price, h.refund), (20000.0, Some(4000.0)));
        assert_eq!(h.cancels.len(), 1);
    }),
    ("payments/history.iamport.vbank.json", |f| {
        let h: PaymentHistory = round_trip(f);
        assert!(matches!(
            h.data,
            PaymentData::Iamport(IamportPayment::VBank(_))
        ));
        assert!(h.paid_at.is_none() && h.refund.is_none());
    }),
    ("payments/history.toss.card.json", |f| {
        let h: PaymentHistory = round_trip(f);
        assert_eq!(h.vendor.code, VendorCode::TossPayments);
        assert!(matches!(h.data, PaymentData::Toss(TossPayment::Card(_))));
    }),
    ("payments/history.toss.virtual-account.json", |f| {
        let h: PaymentHistory = round_trip(f);
        assert!(matches!(
            h.data,
            PaymentData::Toss(TossPayment::VirtualAccount(_))
        ));
        assert!(h.webhook_url.is_none());
    }),
    ("payments/history-create.json", |f| {
        round_trip::<PaymentHistoryCreate>(f);
    }),
    ("payments/cancel-create.json", |f| {
        let c: PaymentCancelCreate = round_trip(f);
        assert_eq!(c.account.unwrap().holder, "홍길동");
    }),
    ("payments/cancel-create.card.json", |f| {
        let c: PaymentCancelCreate = round_trip(f);
        assert!(c.account.is_none());
    }),
    ("payments/reservation.iamport.json", |f| {
        let r: PaymentReservation = round_trip(f);
        assert!(matches!(r.data, ReservationData::Iamport(_)));
    }),
    ("payments/reservation.toss.json", |f| {
        let r: PaymentReservation = round_trip(f);
        assert_eq!(r.data.vendor_code(), VendorCode::TossPayments);
    }),
    ("payments/reservation-create.json", |f| {
        round_trip::<PaymentReservationCreate>(f);
    }),
    ("payments/webhook.json", |f| {
        let w: PaymentWebhook = round_trip(f);
        assert!(w.previous.paid_at.is_none() && w.current.paid_at.is_some());
        assert_eq!(w.previous.id, w.current.id);
    }),
    ("payments/error.json", |f| {
        round_trip::<ErrorBody>(f);
    }),
    // Monitors
    ("monitors/performance.json", |f| {
        round_trip::<Performance>(f);
    }),
    ("monitors/system.json", |f| {
        let s: System = round_trip(f);
        assert!(s.commit.is_some());
    }),
    ("monitors/system.no-commit.json", |f| {
        let s: System = round_trip(f);
        assert!(s.commit.is_none());
    }),
];

#[test]
fn fixtures_round_trip() {
    for (name, check) in FIXTURES {
        check(name);
    }
}

#[test]
fn every_fixture_is_checked() {
    let mut on_disk = BTreeSet::new();
    for group in std::fs::read_dir(fixtures_dir()).unwrap() {
        let group = group.unwrap().path();
        for file in std::fs::read_dir(&group).unwrap() {
            let file = file.unwrap().path();
            let relative = file.strip_prefix(fixtures_dir()).unwrap();
            on_disk.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    let listed: BTreeSet<String> = FIXTURES.iter().map(|(n, _)| n.to_string()).collect();
    let unchecked: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        unchecked.is_empty(),
        "fixtures nobody checks: {unchecked:?}"
    );
    assert!(
        missing.is_empty(),
        "listed fixtures that do not exist: {missing:?}"
    );
}

/// Loads a fixture as a JSON value, for the tests that break it on purpose.
fn load(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures_dir().join(name)).unwrap()).unwrap()
}

#[test]
fn a_card_payment_without_its_card_fields_is_an_error_not_an_other() {
    let mut card = load("iamport/payment.card.json");
    card.as_object_mut().unwrap().remove("card_number");
    let err = serde_json::from_value::<IamportPayment>(card).unwrap_err();
    assert!(err.to_string().contains("card_number"), "{err}");

    let mut toss = load("toss/payment.card.json");
    toss.as_object_mut().unwrap().remove("card");
    let err = serde_json::from_value::<TossPayment>(toss).unwrap_err();
    assert!(err.to_string().contains("card"), "{err}");
}

#[test]
fn nullable_fields_are_written_as_null_not_omitted() {
    // Typed SDK clients require the key to be present with `null`.
    let h: PaymentHistory =
        serde_json::from_value(load("payments/history.toss.virtual-account.json")).unwrap();
    let out = serde_json::to_value(&h).unwrap();
    for key in ["webhook_url", "refund", "paid_at", "cancelled_at"] {
        assert_eq!(out.get(key), Some(&Value::Null), "{key}");
    }
    let data = &out["data"];
    for key in ["approvedAt", "cancels", "cashReceipt"] {
        assert_eq!(data.get(key), Some(&Value::Null), "data.{key}");
    }
}

#[test]
fn a_history_whose_vendor_codes_disagree_is_refused() {
    let mut h = load("payments/history.iamport.card.json");
    h["vendor"]["code"] = Value::from("toss.payments");
    let err = serde_json::from_value::<PaymentHistory>(h).unwrap_err();
    assert!(err.to_string().contains("disagrees"), "{err}");
}

#[test]
fn a_history_whose_data_is_of_the_other_vendor_is_refused() {
    let mut h = load("payments/history.iamport.card.json");
    h["data"] = load("toss/payment.card.json");
    let err = serde_json::from_value::<PaymentHistory>(h).unwrap_err();
    assert!(
        err.to_string().contains("data of a iamport history"),
        "{err}"
    );
}

#[test]
fn unknown_vendor_codes_are_refused() {
    let mut h = load("payments/history-create.json");
    h["vendor"]["code"] = Value::from("paypal");
    assert!(serde_json::from_value::<PaymentHistoryCreate>(h).is_err());
    assert_eq!(
        "paypal".parse::<VendorCode>().unwrap_err().to_string(),
        "unknown vendor code \"paypal\": expected \"iamport\", \"toss.payments\" or \"portone\""
    );
    assert_eq!("portone".parse::<VendorCode>(), Ok(VendorCode::PortOne));
    assert_eq!(
        "toss.payments".parse::<VendorCode>(),
        Ok(VendorCode::TossPayments)
    );
}

#[test]
fn toss_webhooks_of_unknown_type_are_refused() {
    let mut w = load("toss/webhook.payment-status-changed.json");
    w["eventType"] = Value::from("PAYOUT_STATUS_CHANGED");
    let err = serde_json::from_value::<TossWebhook>(w).unwrap_err();
    assert!(err.to_string().contains("PAYOUT_STATUS_CHANGED"), "{err}");
    let err = serde_json::from_value::<TossWebhook>(serde_json::json!({"data": {}})).unwrap_err();
    assert!(err.to_string().contains("eventType"), "{err}");
}

#[test]
fn a_deposit_callback_that_names_itself_is_read_too() {
    let mut w = load("toss/webhook.deposit-callback.json");
    w["eventType"] = Value::from("DEPOSIT_CALLBACK");
    let parsed: TossWebhook = serde_json::from_value(w).unwrap();
    assert!(matches!(parsed, TossWebhook::DepositCallback(_)));
}

#[test]
fn the_original_fakes_fractional_seconds_and_null_messages_are_read() {
    let mut p = load("iamport/payment.card.json");
    p["paid_at"] = Value::from(1_718_670_601.374);
    let r: IamportResponse<IamportPayment> =
        serde_json::from_value(serde_json::json!({"code": 0, "message": null, "response": p}))
            .unwrap();
    assert_eq!(r.message, "");
    assert_eq!(r.response.unwrap().base().paid_at, 1_718_670_601);
}

#[test]
fn passwords_never_show_in_debug_output() {
    let accessor: PaymentSourceAccessor =
        serde_json::from_value(load("payments/source-accessor.json")).unwrap();
    let create: PaymentHistoryCreate =
        serde_json::from_value(load("payments/history-create.json")).unwrap();
    let cancel: PaymentCancelCreate =
        serde_json::from_value(load("payments/cancel-create.json")).unwrap();
    let reservation: PaymentReservationCreate =
        serde_json::from_value(load("payments/reservation-create.json")).unwrap();
    let password: PaymentPassword = serde_json::from_value(load("payments/password.json")).unwrap();
    for shown in [
        format!("{accessor:?}"),
        format!("{create:?}"),
        format!("{cancel:?}"),
        format!("{reservation:?}"),
        format!("{password:?}"),
    ] {
        assert!(!shown.contains("some-password"), "{shown}");
        assert!(shown.contains("<hidden>"), "{shown}");
    }
}

/// Toss writes all of a Payment object's method fields on every payment, `null` for the
/// methods it was not made by (the Payment 객체 reference's samples: a card payment has
/// `"virtualAccount": null`, `"secret": null`, …), each exactly once. A JSON tree would
/// hide a field written twice, so the keys are read off the text as written.
#[test]
fn a_toss_payment_writes_every_method_field_once() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures_dir().join("toss")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("payment.") {
            continue;
        }
        let payment: TossPayment =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let written = serde_json::to_string(&payment).unwrap();
        let Keys(keys) = serde_json::from_str(&written).unwrap();
        for field in METHOD_FIELDS {
            let times = keys.iter().filter(|k| *k == field).count();
            assert_eq!(
                times, 1,
                "{name}: `{field}` written {times} times in {written}"
            );
        }
        seen += 1;
    }
    assert!(seen >= 7, "every method's fixture is read ({seen})");
}

/// An object's keys in the order written, repeats kept.
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, serde::de::IgnoredAny)) = map.next_entry::<String, _>()? {
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}
