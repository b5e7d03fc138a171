//! Secrets at rest.
//!
//! **PG data** is sealed with AES-256-GCM: a fresh random 96-bit nonce per value, and the
//! id of the key that sealed it stored with it, so new keys can be added and made active
//! while old values stay readable (rotation without downtime). The record's id and column
//! are authenticated as associated data, so a sealed value copied into another row or
//! column does not open.
//!
//! **Record passwords** are kept as `HMAC-SHA256(pepper, record id ‖ 0 ‖ password)` and
//! compared in constant time. A slow hash (bcrypt, Argon2) protects passwords chosen by
//! people against whoever steals the database; these passwords are chosen by client
//! backends, per record, and what they guard is sealed with keys that live next to the
//! pepper: whoever holds the server's secrets reads the data without any password. The
//! pepper makes a stolen database alone useless for guessing, the record id makes equal
//! passwords of two records look different, and the HMAC costs microseconds, so reads stay
//! fast.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::StorageKeys;

/// Format version of a sealed value.
const VERSION: u8 = 1;

/// Seals and opens PG data.
pub struct Sealer {
    active: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a sealed value does not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value needs key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("the sealed value does not authenticate (wrong key, record or tampering)")]
    Forged,
}

impl Sealer {
    /// A sealer with the decoded keys of a validated configuration (the active one among
    /// them).
    pub fn new(storage: &StorageKeys) -> Self {
        let keys = storage
            .keys
            .iter()
            .map(|(id, key)| (id.clone(), Aes256Gcm::new(&(*key).into())))
            .collect();
        Self {
            active: storage.active.clone(),
            keys,
        }
    }

    /// Seals `plaintext` for `context` (e.g. `payment_histories.data:<id>`):
    /// `version ‖ key-id length ‖ key id ‖ nonce ‖ ciphertext and tag`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let cipher = &self.keys[&self.active];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system provides randomness");
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let id = self.active.as_bytes();
        let mut out = Vec::with_capacity(2 + id.len() + 12 + sealed.len());
        out.push(VERSION);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed for `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let (&version, rest) = sealed.split_first().ok_or(OpenError::Malformed)?;
        let (&id_len, rest) = rest.split_first().ok_or(OpenError::Malformed)?;
        if version != VERSION || rest.len() < id_len as usize + 12 + 16 {
            return Err(OpenError::Malformed);
        }
        let (id, rest) = rest.split_at(id_len as usize);
        let (nonce, ciphertext) = rest.split_at(12);
        let id = std::str::from_utf8(id).map_err(|_| OpenError::Malformed)?;
        let cipher = self
            .keys
            .get(id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| OpenError::Malformed)?;
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Forged)
    }
}

/// Hashes and checks record passwords.
#[derive(Clone)]
pub struct Passwords {
    /// HMAC with the pepper as its key, its key already digested: each password then costs
    /// the hash of the record id and the password only (two SHA-256 blocks of four).
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passwords { .. }")
    }
}

impl Passwords {
    pub fn new(pepper: &str) -> Self {
        Self {
            keyed: <Hmac<Sha256> as KeyInit>::new_from_slice(pepper.as_bytes())
                .expect("HMAC takes keys of any length"),
        }
    }

    fn mac(&self, record_id: &str, password: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(record_id.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac
    }

    /// The stored form of `password` for record `record_id`.
    pub fn hash(&self, record_id: &str, password: &str) -> Vec<u8> {
        self.mac(record_id, password)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Whether `password` opens record `record_id`, compared in constant time.
    pub fn verify(&self, record_id: &str, password: &str, stored: &[u8]) -> bool {
        self.mac(record_id, password).verify_slice(stored).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(active: &str, keys: &[(&str, u8)]) -> StorageKeys {
        StorageKeys {
            active: active.into(),
            keys: keys
                .iter()
                .map(|(id, byte)| (id.to_string(), [*byte; 32]))
                .collect(),
        }
    }

    #[test]
    fn sealed_values_open_only_in_their_context() {
        let sealer = Sealer::new(&storage("k1", &[("k1", 1)]));
        let sealed = sealer.seal("t.data:1", b"{\"card\":\"4330\"}");
        assert!(!sealed.windows(4).any(|w| w == b"4330"));
        assert_eq!(
            sealer.open("t.data:1", &sealed).unwrap(),
            b"{\"card\":\"4330\"}"
        );
        assert!(matches!(
            sealer.open("t.data:2", &sealed),
            Err(OpenError::Forged)
        ));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(
            sealer.open("t.data:1", &tampered),
            Err(OpenError::Forged)
        ));
        assert!(matches!(
            sealer.open("t.data:1", b"\x01"),
            Err(OpenError::Malformed)
        ));
        // Fresh nonces: the same value seals differently each time.
        assert_ne!(sealer.seal("c", b"x"), sealer.seal("c", b"x"));
    }

    #[test]
    fn keys_rotate_without_losing_old_values() {
        let old = Sealer::new(&storage("k1", &[("k1", 1)]));
        let sealed_old = old.seal("c", b"old");
        let rotated = Sealer::new(&storage("k2", &[("k1", 1), ("k2", 2)]));
        let sealed_new = rotated.seal("c", b"new");
        assert_eq!(rotated.open("c", &sealed_old).unwrap(), b"old");
        assert_eq!(rotated.open("c", &sealed_new).unwrap(), b"new");
        assert!(matches!(old.open("c", &sealed_new), Err(OpenError::UnknownKey(id)) if id == "k2"));
    }

    #[test]
    fn passwords_are_per_record_and_peppered() {
        let passwords = Passwords::new("pepper-pepper-pepper");
        let stored = passwords.hash("record-1", "some-password");
        assert_eq!(stored.len(), 32);
        assert!(passwords.verify("record-1", "some-password", &stored));
        assert!(!passwords.verify("record-1", "other", &stored));
        assert!(!passwords.verify("record-2", "some-password", &stored));
        assert_ne!(stored, passwords.hash("record-2", "some-password"));
        assert!(!Passwords::new("another-pepper-here").verify(
            "record-1",
            "some-password",
            &stored
        ));
    }
}
