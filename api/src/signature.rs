//! Signatures of the events the payments server relays, the Standard Webhooks way.
//!
//! Each delivery carries `webhook-id`, `webhook-timestamp` (unix seconds) and
//! `webhook-signature`: space-separated `v1,<Base64 HMAC-SHA256>` signatures over
//! `id.timestamp.body`, one per active secret (two while a secret is being rotated).
//! Secrets are written `whsec_<Base64 key>`.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The prefix of a written secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Why a signature does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the secret is not `whsec_` followed by Base64")]
    Secret,
    #[error("the timestamp is not a number of seconds")]
    Timestamp,
    #[error("the timestamp is {0} s away from now, beyond the tolerance")]
    Stale(i64),
    #[error("no signature matches")]
    Mismatch,
}

/// The key of a `whsec_…` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| SignatureError::Secret)
        .and_then(|k| {
            if k.is_empty() {
                Err(SignatureError::Secret)
            } else {
                Ok(k)
            }
        })
}

/// The `v1,<signature>` of one key.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// Checks a delivery against a secret: a matching signature and a timestamp within
/// `tolerance_s` of `now_s`.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &str,
    now_s: i64,
    tolerance_s: i64,
) -> Result<(), SignatureError> {
    let key = secret_key(secret)?;
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Timestamp)?;
    // Saturating: a timestamp is the sender's input, and `i64::MIN` must not overflow.
    let age = now_s.saturating_sub(timestamp);
    if age.saturating_abs() > tolerance_s {
        return Err(SignatureError::Stale(age));
    }
    let expected = sign(&key, id, timestamp, body);
    let matches = signatures.split_whitespace().any(|candidate| {
        // Constant time: compare as MACs of equal length.
        candidate.len() == expected.len()
            && candidate
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specification_example_signs_and_verifies() {
        let key = secret_key(SECRET).unwrap();
        assert_eq!(sign(&key, ID, TIMESTAMP, BODY), SIGNATURE);
        assert_eq!(
            verify(
                SECRET,
                ID,
                "1614265330",
                SIGNATURE,
                BODY,
                TIMESTAMP + 10,
                300
            ),
            Ok(())
        );
        // Any one of several signatures (rotation) will do.
        let two = format!("v1,bm9wZQ== {SIGNATURE}");
        assert_eq!(
            verify(SECRET, ID, "1614265330", &two, BODY, TIMESTAMP, 300),
            Ok(())
        );
    }

    #[test]
    fn tampering_and_staleness_are_refused() {
        let at = "1614265330";
        assert_eq!(
            verify(SECRET, ID, at, SIGNATURE, "{}", TIMESTAMP, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, "msg_other", at, SIGNATURE, BODY, TIMESTAMP, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, ID, at, SIGNATURE, BODY, TIMESTAMP + 301, 300),
            Err(SignatureError::Stale(301))
        );
        assert_eq!(
            verify(SECRET, ID, "soon", SIGNATURE, BODY, TIMESTAMP, 300),
            Err(SignatureError::Timestamp)
        );
        assert_eq!(
            verify("whsec_!!", ID, at, SIGNATURE, BODY, TIMESTAMP, 300),
            Err(SignatureError::Secret)
        );
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        for (at, now) in [
            (i64::MIN.to_string(), TIMESTAMP),
            (i64::MAX.to_string(), TIMESTAMP),
            (i64::MIN.to_string(), i64::MAX),
            (i64::MAX.to_string(), i64::MIN),
        ] {
            assert!(
                matches!(
                    verify(SECRET, ID, &at, SIGNATURE, BODY, now, 300),
                    Err(SignatureError::Stale(_))
                ),
                "timestamp {at} at {now}"
            );
        }
    }
}
