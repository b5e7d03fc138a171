//! The entry points the fuzz targets drive, one function per target, each taking arbitrary
//! bytes as an attacker would send them.
//!
//! They live in a crate of their own so that two runners share them: `cargo fuzz` (the
//! project in `fuzz/libfuzzer/`, on a nightly toolchain, coverage-guided) and this crate's
//! tests, which replay
//! the committed corpora and run a proptest loop on the stable toolchain, so that every
//! `cargo test` keeps what fuzzing once found. A function panics only where an invariant is
//! broken; an error answer for bad input is the expected outcome.

use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
use payments_api::{BodyCodec, Scheme};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One fuzz target: what it runs on untrusted bytes.
pub type Target = fn(&[u8]);

/// The targets by name, as the folders of `fuzz/corpus/` and the binaries of
/// `fuzz/libfuzzer/fuzz_targets/` are named.
pub const TARGETS: [(&str, Target); 5] = [
    ("codec", codec),
    ("signature", signature),
    ("wire_types", wire_types),
    ("pg_notifications", pg_notifications),
    ("scenario", scenario),
];

fn sandbox_codec() -> BodyCodec {
    BodyCodec::new(SANDBOX_KEY, SANDBOX_IV).expect("the sandbox key and IV are valid")
}

/// The body codec, in both formats: decrypting any text gives a typed error or bytes,
/// never a panic; a server's reading of a body agrees with the typed decryption; and
/// whatever bytes are encrypted decrypt back to themselves.
pub fn codec(data: &[u8]) {
    let codec = sandbox_codec();
    let text = String::from_utf8_lossy(data);
    let _ = codec.decrypt(&text);
    let _ = codec.decrypt_json::<serde_json::Value>(&text);
    for scheme in [Scheme::LegacyCbc, Scheme::Aes256Gcm] {
        let typed = codec.decrypt_json_with::<serde_json::Value>(scheme, &text);
        let opened = codec.open_json::<serde_json::Value>(scheme, &text);
        assert_eq!(
            typed.is_ok(),
            opened.is_ok(),
            "{scheme:?}: the server's reading disagrees with the typed decryption"
        );
        let sealed = codec.encrypt_with(scheme, data);
        match codec.decrypt_with(scheme, &sealed) {
            Ok(back) => assert_eq!(back, data, "{scheme:?}: a round trip changed the bytes"),
            Err(e) => panic!("{scheme:?}: what was encrypted does not decrypt: {e}"),
        }
    }
}

/// Standard Webhooks verification over arbitrary headers, body and clock: the input is
/// split on NUL bytes into secret, id, timestamp, signatures, body, and the first 8 bytes
/// give `now`. A signature made with the secret must verify.
pub fn signature(data: &[u8]) {
    use payments_api::signature::{secret_key, sign, verify};
    let now = data
        .get(..8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(data.get(8..).unwrap_or_default());
    let mut parts = text.split('\0');
    let mut next = || parts.next().unwrap_or_default();
    let (secret, id, timestamp, signatures, body) = (next(), next(), next(), next(), next());
    let _ = verify(secret, id, timestamp, signatures, body, now, 300);
    if let (Ok(key), Ok(at)) = (secret_key(secret), timestamp.trim().parse::<i64>()) {
        let signed = sign(&key, id, at, body);
        assert_eq!(
            verify(secret, id, timestamp, &signed, body, at, 300),
            Ok(()),
            "a fresh signature of the secret's own key was refused"
        );
    }
}

/// Parses `data` as `T`; what parses must serialise, and what that gives must parse again.
fn reparse<T: Serialize + DeserializeOwned>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let json = serde_json::to_vec(&value).expect("a parsed value serialises");
        if let Err(e) = serde_json::from_slice::<T>(&json) {
            panic!(
                "{} serialised to JSON it cannot read back: {e}: {}",
                std::any::type_name::<T>(),
                String::from_utf8_lossy(&json)
            );
        }
    }
}

/// Every request type of the payments API (what a client sends, once decrypted), and the
/// PG objects the server reads back from a PG.
pub fn wire_types(data: &[u8]) {
    use payments_api::{iamport, payments, toss};
    reparse::<payments::PaymentHistoryCreate>(data);
    reparse::<payments::PaymentCancelCreate>(data);
    reparse::<payments::PaymentReservationCreate>(data);
    reparse::<payments::PaymentSourceAccessor>(data);
    reparse::<payments::PaymentPassword>(data);
    reparse::<payments::PaymentWebhookRedeliver>(data);
    reparse::<payments::PaymentWebhook>(data);
    reparse::<iamport::IamportPayment>(data);
    reparse::<iamport::IamportResponse<iamport::IamportPayment>>(data);
    reparse::<iamport::IamportSubscription>(data);
    reparse::<toss::TossPayment>(data);
    reparse::<toss::TossBilling>(data);
}

/// What a PG posts to the server's notification routes: I'mport's JSON or form body and
/// Toss's two event kinds.
pub fn pg_notifications(data: &[u8]) {
    use payments_api::{iamport, toss};
    reparse::<iamport::IamportWebhook>(data);
    reparse::<toss::TossWebhook>(data);
}

/// The scenario parser of the harness: any text is a scenario or an error naming where it
/// went wrong, never a panic.
pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = payments_harness::scenario::Scenario::parse("fuzz.yaml", &text);
}
