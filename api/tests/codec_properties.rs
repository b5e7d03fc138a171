//! Properties of the body codec over generated inputs: any JSON survives a round trip under
//! any valid key, and no input, however broken, makes decoding panic.

use base64::Engine as _;
use payments_api::{BodyCodec, DecodeError};
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON documents, nested up to a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Valid key/IV pairs of every size, with ASCII and multi-byte characters.
fn codec() -> impl Strategy<Value = BodyCodec> {
    let key = prop_oneof![
        "[a-zA-Z0-9]{16}",
        "[a-zA-Z0-9]{24}",
        "[a-zA-Z0-9]{32}",
        // Lengths count UTF-8 bytes: 8 two-byte letters are AES-128, 8 three-byte
        // Hangul syllables AES-192, 16 two-byte letters AES-256.
        "[àéîõü]{8}",
        "[가-힣]{8}",
        "[àéîõü]{16}",
    ];
    (key, "[a-zA-Z0-9]{16}")
        .prop_filter_map("a valid key and IV", |(k, iv)| BodyCodec::new(&k, &iv).ok())
}

fn check_error_is_typed(result: Result<Vec<u8>, DecodeError>) {
    // Every failure is one of the typed variants and renders a message.
    if let Err(e) = result {
        assert!(!e.to_string().is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_json_round_trips(codec in codec(), value in json()) {
        let text = codec.encrypt_json(&value).unwrap();
        prop_assert_eq!(codec.decrypt_json::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn any_bytes_round_trip(codec in codec(), bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = codec.encrypt(&bytes);
        // Standard Base64 with padding of whole 16-byte blocks: one more block than full
        // blocks of input, because PKCS#7 always pads.
        let blocks = bytes.len() / 16 + 1;
        prop_assert_eq!(text.len(), (blocks * 16).div_ceil(3) * 4);
        prop_assert_eq!(codec.decrypt(&text).unwrap(), bytes);
    }

    #[test]
    fn surrounding_whitespace_never_matters(
        codec in codec(),
        value in json(),
        before in "[ \t\r\n]{0,4}",
        after in "[ \t\r\n]{0,4}",
    ) {
        let text = format!("{before}{}{after}", codec.encrypt_json(&value).unwrap());
        prop_assert_eq!(codec.decrypt_json::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn arbitrary_text_never_panics(codec in codec(), text in any::<String>()) {
        check_error_is_typed(codec.decrypt(&text));
        let _ = codec.decrypt_json::<Value>(&text);
    }

    #[test]
    fn arbitrary_base64_never_panics(codec in codec(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        // Valid Base64 of random bytes reaches the block-length, padding and UTF-8 checks.
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let result = codec.decrypt(&text);
        if bytes.is_empty() {
            prop_assert!(matches!(result, Err(DecodeError::Empty)), "{:?}", result);
        } else if bytes.len() % 16 != 0 {
            prop_assert!(matches!(result, Err(DecodeError::BlockLength(n)) if n == bytes.len()), "{:?}", result);
        } else {
            check_error_is_typed(result);
        }
        let _ = codec.decrypt_json::<Value>(&text);
    }

    #[test]
    fn a_corrupted_body_never_panics(
        codec in codec(),
        value in json(),
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let text = codec.encrypt_json(&value).unwrap();
        let mut raw = base64::engine::general_purpose::STANDARD.decode(&text).unwrap();
        let i = position.index(raw.len());
        raw[i] ^= flip;
        let corrupted = base64::engine::general_purpose::STANDARD.encode(&raw);
        // Whatever comes out, it is a value or a typed error, never the original by chance
        // of a flipped byte in the last block (that always breaks the padding or the text).
        match codec.decrypt_json::<Value>(&corrupted) {
            Ok(other) => prop_assert!(i < raw.len() - 16 || other != value),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn the_wrong_key_never_reads_the_body(a in codec(), b in codec(), value in json()) {
        prop_assume!(a.encrypt(b"probe") != b.encrypt(b"probe"));
        let text = a.encrypt_json(&value).unwrap();
        if let Ok(read) = b.decrypt_json::<Value>(&text) {
            // Possible only in the astronomically unlikely case that garbage is valid JSON
            // equal to the original.
            prop_assert_ne!(read, value);
        }
    }
}
