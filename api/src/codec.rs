//! The body codec of the payments API: `Base64(AES-CBC(UTF-8 JSON))` with PKCS#7 padding.
//!
//! Every resource body of the payments API, in both directions, and every event the server
//! relays to a client's webhook is encrypted this way. The scheme is the one the original
//! TypeScript SDKs speak, so it is kept bit for bit:
//!
//! - key and IV are configured *strings*, taken as their UTF-8 bytes;
//! - the key's byte length picks the cipher: 16 → AES-128, 24 → AES-192, 32 → AES-256;
//!   the IV must be 16 bytes;
//! - the IV is fixed, so equal plaintexts give equal ciphertexts (the protocol has no room
//!   for a per-message nonce; confidentiality in transit is TLS's job, integrity of relayed
//!   events is the webhook signature's);
//! - the ciphertext travels as standard Base64 with `=` padding.
//!
//! Decoding is as lenient as the original server was: surrounding ASCII whitespace is
//! ignored, missing padding and the URL-safe alphabet (`-`, `_`) are accepted. Whatever the
//! input, decoding returns a typed [`DecodeError`] and never panics.
//!
//! **The legacy scheme has no integrity.** Anyone can flip bits of a captured body and see
//! how a server reacts; a server that told bad padding apart from bad JSON would decrypt
//! any captured body for them (a padding oracle). A server reads bodies with
//! [`BodyCodec::open_json`], which answers one [`Undecryptable`] for every failure after
//! decrypting fully. New clients can ask for [`Scheme::Aes256Gcm`] instead, with the
//! [`SCHEME_HEADER`] request header: `Base64(nonce ‖ AES-256-GCM(UTF-8 JSON) ‖ tag)`,
//! a fresh 96-bit nonce per body, with a key derived from the configured key (so no new
//! configuration is needed); a body changed in transit does not open. Old clients send no
//! header and keep the legacy scheme.

use std::fmt;

use aes::cipher::block_padding::{NoPadding, Pkcs7};
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use aes_gcm::aead::{Aead, AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

/// The key of the sandbox: public (the original project's sample key), for local sandboxes
/// and tests only. A real deployment configures its own.
pub const SANDBOX_KEY: &str = "MCKOxv9B23r7EatArCFcBP03nfaS03T8";

/// The IV that goes with [`SANDBOX_KEY`]; public too.
pub const SANDBOX_IV: &str = "9haeYD1tIf4v8xs7";

/// Length in bytes of the IV (one AES block).
pub const IV_LEN: usize = 16;

/// The request header by which a client picks the body encryption of its request and of
/// the answer; without it, the legacy AES-CBC. The answer carries it back when it is set.
pub const SCHEME_HEADER: &str = "x-payments-encryption";

/// Length in bytes of an AES-GCM nonce.
const GCM_NONCE_LEN: usize = 12;
/// Length in bytes of an AES-GCM tag.
const GCM_TAG_LEN: usize = 16;
/// What a response body's JSON buffer starts with: a payment with its PG data fits, so it
/// is seldom grown while being written.
const JSON_CAPACITY: usize = 4096;
/// What the authenticated scheme's key is derived for, from the configured key.
const GCM_KEY_LABEL: &[u8] = b"payments-api body encryption: AES-256-GCM v1";

/// A body encryption scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// The original SDKs' `Base64(AES-CBC(JSON))` with the configured key and fixed IV:
    /// confidentiality only, no integrity.
    #[default]
    LegacyCbc,
    /// `Base64(nonce ‖ AES-256-GCM(JSON) ‖ tag)`: authenticated, a fresh nonce per body.
    Aes256Gcm,
}

/// A [`SCHEME_HEADER`] value that names no scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown body encryption {0:?}; the known one is \"aes-256-gcm\" (or no header)")]
pub struct UnknownScheme(pub String);

impl Scheme {
    /// The scheme a request's [`SCHEME_HEADER`] value names; no header is the legacy one.
    pub fn from_header(value: Option<&str>) -> Result<Self, UnknownScheme> {
        match value.map(str::trim) {
            None => Ok(Self::LegacyCbc),
            Some(v) if v.eq_ignore_ascii_case("aes-256-gcm") => Ok(Self::Aes256Gcm),
            Some(other) => Err(UnknownScheme(other.chars().take(40).collect())),
        }
    }

    /// The [`SCHEME_HEADER`] value that asks for this scheme; none for the legacy one.
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Self::LegacyCbc => None,
            Self::Aes256Gcm => Some("aes-256-gcm"),
        }
    }
}

/// A body that could not be read: one answer whatever went wrong (Base64, length, padding,
/// authentication, UTF-8, JSON or its shape), so that a server's answers tell an attacker
/// nothing about a body they tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the body could not be decrypted and read as the expected request")]
pub struct Undecryptable;

/// Encodes standard Base64 with padding, as the SDKs expect.
const ENCODER: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Decodes standard Base64 with or without padding (URL-safe input is mapped first).
const DECODER: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A key/IV pair ready to encrypt and decrypt bodies.
///
/// Cheap to clone; its `Debug` output names the cipher and never the key.
///
/// ```
/// use payments_api::BodyCodec;
/// use payments_api::codec::{SANDBOX_IV, SANDBOX_KEY};
///
/// let codec = BodyCodec::new(SANDBOX_KEY, SANDBOX_IV)?;
/// let body = codec.encrypt_json(&serde_json::json!({"password": "some-password"}))?;
/// assert_eq!(body, "/Lu96CDAgYv09JxV0IsOQy8H7LuG9o4QJ29eZjgYjeI=");
/// let back: serde_json::Value = codec.decrypt_json(&body)?;
/// assert_eq!(back["password"], "some-password");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BodyCodec {
    key: Key,
    iv: [u8; IV_LEN],
    /// The authenticated scheme's cipher, its key derived from `key`.
    gcm: Aes256Gcm,
}

#[derive(Clone)]
enum Key {
    Aes128([u8; 16]),
    Aes192([u8; 24]),
    Aes256([u8; 32]),
}

/// Why a key or IV cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key is not 16, 24 or 32 bytes of UTF-8.
    #[error("the encryption key must be 16, 24 or 32 bytes long (AES-128/192/256), not {0}")]
    KeyLength(usize),
    /// The IV is not 16 bytes of UTF-8.
    #[error("the encryption IV must be 16 bytes long, not {0}")]
    IvLength(usize),
}

/// Why an encrypted body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Nothing but whitespace was given; a valid body is at least one cipher block.
    #[error("the body is empty; an encrypted body is Base64 text of at least one AES block")]
    Empty,
    /// The text is not Base64.
    #[error("the body is not valid Base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The decoded bytes are not a whole number of 16-byte blocks.
    #[error("the ciphertext is {0} bytes long, which is not a multiple of the 16-byte AES block")]
    BlockLength(usize),
    /// Decryption succeeded but the PKCS#7 padding is wrong: most often the wrong key or IV.
    #[error("the body does not decrypt with this key and IV (bad padding)")]
    Padding,
    /// The plaintext is not UTF-8.
    #[error("the decrypted body is not UTF-8 text")]
    Utf8(#[from] std::string::FromUtf8Error),
    /// The plaintext is not the JSON document that was expected.
    #[error("the decrypted body is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An authenticated body does not authenticate: wrong key, or changed in transit.
    #[error("the body does not authenticate with this key (wrong key or changed in transit)")]
    Forged,
}

impl BodyCodec {
    /// Builds a codec from the configured key and IV strings.
    pub fn new(key: &str, iv: &str) -> Result<Self, KeyError> {
        let iv: [u8; IV_LEN] = iv
            .as_bytes()
            .try_into()
            .map_err(|_| KeyError::IvLength(iv.len()))?;
        let bytes = key.as_bytes();
        let key = match bytes.len() {
            16 => Key::Aes128(copy_array(bytes)),
            24 => Key::Aes192(copy_array(bytes)),
            32 => Key::Aes256(copy_array(bytes)),
            other => return Err(KeyError::KeyLength(other)),
        };
        let mut kdf = <Hmac<Sha256> as KeyInit>::new_from_slice(bytes)
            .expect("HMAC takes keys of any length");
        kdf.update(GCM_KEY_LABEL);
        let derived: [u8; 32] = kdf.finalize().into_bytes().into();
        let gcm = Aes256Gcm::new(&derived.into());
        Ok(Self { key, iv, gcm })
    }

    /// The size of the key in bits: 128, 192 or 256.
    pub fn key_bits(&self) -> u16 {
        match self.key {
            Key::Aes128(_) => 128,
            Key::Aes192(_) => 192,
            Key::Aes256(_) => 256,
        }
    }

    /// Encrypts raw bytes into Base64 text.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let iv = (&self.iv).into();
        let ciphertext = match &self.key {
            Key::Aes128(k) => cbc::Encryptor::<aes::Aes128>::new(k.into(), iv)
                .encrypt_padded_vec::<Pkcs7>(plaintext),
            Key::Aes192(k) => cbc::Encryptor::<aes::Aes192>::new(k.into(), iv)
                .encrypt_padded_vec::<Pkcs7>(plaintext),
            Key::Aes256(k) => cbc::Encryptor::<aes::Aes256>::new(k.into(), iv)
                .encrypt_padded_vec::<Pkcs7>(plaintext),
        };
        ENCODER.encode(ciphertext)
    }

    /// Serialises `value` as compact JSON and encrypts it.
    pub fn encrypt_json<T: Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<String, serde_json::Error> {
        self.encrypt_json_with(Scheme::LegacyCbc, value)
    }

    /// Pads the first `len` bytes of `buffer` (which has room for a block more) and
    /// encrypts them where they lie; answers the ciphertext.
    fn encrypt_cbc_in_place<'b>(&self, buffer: &'b mut [u8], len: usize) -> &'b [u8] {
        let iv = (&self.iv).into();
        let sealed = match &self.key {
            Key::Aes128(k) => cbc::Encryptor::<aes::Aes128>::new(k.into(), iv)
                .encrypt_padded::<Pkcs7>(buffer, len),
            Key::Aes192(k) => cbc::Encryptor::<aes::Aes192>::new(k.into(), iv)
                .encrypt_padded::<Pkcs7>(buffer, len),
            Key::Aes256(k) => cbc::Encryptor::<aes::Aes256>::new(k.into(), iv)
                .encrypt_padded::<Pkcs7>(buffer, len),
        };
        sealed.expect("the buffer has room for a block of padding")
    }

    /// Decrypts Base64 text into the raw plaintext bytes.
    pub fn decrypt(&self, text: &str) -> Result<Vec<u8>, DecodeError> {
        let ciphertext = decode_base64(text)?;
        if ciphertext.is_empty() || ciphertext.len() % IV_LEN != 0 {
            return Err(DecodeError::BlockLength(ciphertext.len()));
        }
        let iv = (&self.iv).into();
        let plaintext = match &self.key {
            Key::Aes128(k) => cbc::Decryptor::<aes::Aes128>::new(k.into(), iv)
                .decrypt_padded_vec::<Pkcs7>(&ciphertext),
            Key::Aes192(k) => cbc::Decryptor::<aes::Aes192>::new(k.into(), iv)
                .decrypt_padded_vec::<Pkcs7>(&ciphertext),
            Key::Aes256(k) => cbc::Decryptor::<aes::Aes256>::new(k.into(), iv)
                .decrypt_padded_vec::<Pkcs7>(&ciphertext),
        };
        plaintext.map_err(|_| DecodeError::Padding)
    }

    /// Decrypts Base64 text into a UTF-8 string.
    pub fn decrypt_text(&self, text: &str) -> Result<String, DecodeError> {
        Ok(String::from_utf8(self.decrypt(text)?)?)
    }

    /// Decrypts Base64 text and parses the plaintext as JSON of type `T`.
    pub fn decrypt_json<T: DeserializeOwned>(&self, text: &str) -> Result<T, DecodeError> {
        Ok(serde_json::from_str(&self.decrypt_text(text)?)?)
    }

    /// Encrypts raw bytes into Base64 text with `scheme`.
    pub fn encrypt_with(&self, scheme: Scheme, plaintext: &[u8]) -> String {
        match scheme {
            Scheme::LegacyCbc => self.encrypt(plaintext),
            Scheme::Aes256Gcm => {
                let mut nonce = [0u8; GCM_NONCE_LEN];
                getrandom::fill(&mut nonce).expect("the operating system provides randomness");
                let sealed = self
                    .gcm
                    .encrypt(&Nonce::from(nonce), plaintext)
                    .expect("AES-GCM encryption of an in-memory buffer cannot fail");
                let mut out = Vec::with_capacity(GCM_NONCE_LEN + sealed.len());
                out.extend_from_slice(&nonce);
                out.extend_from_slice(&sealed);
                ENCODER.encode(out)
            }
        }
    }

    /// Serialises `value` as compact JSON and encrypts it with `scheme`, the same text as
    /// [`BodyCodec::encrypt_with`] of the JSON. The JSON is written into the buffer it is
    /// encrypted in (after the nonce, before room for the padding or tag): one buffer from
    /// the value to the Base64 text, which a server answering many reads does not copy.
    pub fn encrypt_json_with<T: Serialize + ?Sized>(
        &self,
        scheme: Scheme,
        value: &T,
    ) -> Result<String, serde_json::Error> {
        let mut buffer = Vec::with_capacity(JSON_CAPACITY);
        match scheme {
            Scheme::LegacyCbc => {
                serde_json::to_writer(&mut buffer, value)?;
                let len = buffer.len();
                buffer.resize(len + IV_LEN, 0);
                Ok(ENCODER.encode(self.encrypt_cbc_in_place(&mut buffer, len)))
            }
            Scheme::Aes256Gcm => {
                let mut nonce = [0u8; GCM_NONCE_LEN];
                getrandom::fill(&mut nonce).expect("the operating system provides randomness");
                buffer.extend_from_slice(&nonce);
                serde_json::to_writer(&mut buffer, value)?;
                let tag = self
                    .gcm
                    .encrypt_inout_detached(
                        &Nonce::from(nonce),
                        &[],
                        (&mut buffer[GCM_NONCE_LEN..]).into(),
                    )
                    .expect("AES-GCM encryption of an in-memory buffer cannot fail");
                buffer.extend_from_slice(&tag);
                Ok(ENCODER.encode(buffer))
            }
        }
    }

    /// Decrypts Base64 text of `scheme` into the raw plaintext bytes, with typed errors
    /// (for clients and tools; a server answers [`BodyCodec::open_json`]'s one error).
    pub fn decrypt_with(&self, scheme: Scheme, text: &str) -> Result<Vec<u8>, DecodeError> {
        match scheme {
            Scheme::LegacyCbc => self.decrypt(text),
            Scheme::Aes256Gcm => {
                let sealed = decode_base64(text)?;
                if sealed.len() < GCM_NONCE_LEN + GCM_TAG_LEN {
                    return Err(DecodeError::BlockLength(sealed.len()));
                }
                let (nonce, ciphertext) = sealed.split_at(GCM_NONCE_LEN);
                let nonce: [u8; GCM_NONCE_LEN] =
                    nonce.try_into().map_err(|_| DecodeError::Forged)?;
                self.gcm
                    .decrypt(&Nonce::from(nonce), ciphertext)
                    .map_err(|_| DecodeError::Forged)
            }
        }
    }

    /// Decrypts Base64 text of `scheme` and parses the plaintext as JSON of type `T`.
    pub fn decrypt_json_with<T: DeserializeOwned>(
        &self,
        scheme: Scheme,
        text: &str,
    ) -> Result<T, DecodeError> {
        let plaintext = String::from_utf8(self.decrypt_with(scheme, text)?)?;
        Ok(serde_json::from_str(&plaintext)?)
    }

    /// Reads a request body of `scheme` as JSON of type `T`, the way a server must: every
    /// failure is the one [`Undecryptable`]. For the legacy scheme the whole ciphertext is
    /// decrypted, the padding checked without branching on it, and the UTF-8 and JSON of
    /// the plaintext read whether or not the padding was good; one branch at the end
    /// decides. So neither the answer nor the time it takes tells a good padding from a
    /// bad one. (Base64 and length failures return early: they depend only on what the
    /// sender sent, never on the key.)
    pub fn open_json<T: DeserializeOwned>(
        &self,
        scheme: Scheme,
        text: &str,
    ) -> Result<T, Undecryptable> {
        match scheme {
            Scheme::Aes256Gcm => self
                .decrypt_json_with(scheme, text)
                .map_err(|_| Undecryptable),
            Scheme::LegacyCbc => {
                let ciphertext = decode_base64(text).map_err(|_| Undecryptable)?;
                if ciphertext.is_empty() || ciphertext.len() % IV_LEN != 0 {
                    return Err(Undecryptable);
                }
                let plaintext = self.decrypt_blocks(&ciphertext);
                let (padding_ok, unpadded) = pkcs7_unpad_len(&plaintext);
                let parsed = std::str::from_utf8(&plaintext[..unpadded])
                    .ok()
                    .map(serde_json::from_str::<T>);
                match (bool::from(padding_ok), parsed) {
                    (true, Some(Ok(value))) => Ok(value),
                    _ => Err(Undecryptable),
                }
            }
        }
    }

    /// Decrypts whole blocks without looking at the padding.
    fn decrypt_blocks(&self, ciphertext: &[u8]) -> Vec<u8> {
        let iv = (&self.iv).into();
        let plaintext = match &self.key {
            Key::Aes128(k) => cbc::Decryptor::<aes::Aes128>::new(k.into(), iv)
                .decrypt_padded_vec::<NoPadding>(ciphertext),
            Key::Aes192(k) => cbc::Decryptor::<aes::Aes192>::new(k.into(), iv)
                .decrypt_padded_vec::<NoPadding>(ciphertext),
            Key::Aes256(k) => cbc::Decryptor::<aes::Aes256>::new(k.into(), iv)
                .decrypt_padded_vec::<NoPadding>(ciphertext),
        };
        // Whole blocks always "unpad" without padding; the caller checked the length.
        plaintext.unwrap_or_default()
    }
}

/// Whether the last block of `plaintext` ends in valid PKCS#7 padding, and the length
/// without it (the whole length when it is not valid), computed without branching on the
/// plaintext's bytes.
fn pkcs7_unpad_len(plaintext: &[u8]) -> (subtle::Choice, usize) {
    use subtle::{ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};
    let len = plaintext.len();
    if len < IV_LEN {
        return (subtle::Choice::from(0), len);
    }
    let last = &plaintext[len - IV_LEN..];
    let pad = last[IV_LEN - 1];
    // 1 ≤ pad ≤ 16.
    let mut ok = !pad.ct_eq(&0) & !pad.ct_gt(&(IV_LEN as u8));
    for (i, &byte) in last.iter().enumerate() {
        // Byte i of the last block is padding when IV_LEN - i ≤ pad.
        let position = (IV_LEN - i) as u8;
        let in_padding = !position.ct_gt(&pad);
        ok &= !in_padding | byte.ct_eq(&pad);
    }
    let unpadded = u64::conditional_select(
        &(len as u64),
        &((len - pad as usize % (IV_LEN + 1)) as u64),
        ok,
    );
    (ok, unpadded as usize)
}

/// Decodes the Base64 of a body, as leniently as the original server did.
fn decode_base64(text: &str) -> Result<Vec<u8>, DecodeError> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(if text.contains(['-', '_']) {
        DECODER.decode(text.replace('-', "+").replace('_', "/"))?
    } else {
        DECODER.decode(text)?
    })
}

impl fmt::Debug for BodyCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyCodec")
            .field("cipher", &format_args!("AES-{}-CBC", self.key_bits()))
            .finish_non_exhaustive()
    }
}

fn copy_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERA_A: (&str, &str) = ("SqwHmmXm1fZteI3URPtoyBWFJDMQ7FBQ", "9eSfjygAClnE1JJs");
    const ERA_B: (&str, &str) = (SANDBOX_KEY, SANDBOX_IV);

    /// The six vectors of the reference spec, computed with Node and cross-checked with openssl.
    const VECTORS: [((&str, &str), &str, &str); 6] = [
        (
            ERA_A,
            r#"{"password":"some-password"}"#,
            "Nr1NWT9sPTzyUyGAAVfACEiZ9Akpk/lXT/OR0fig6BQ=",
        ),
        (ERA_A, "{}", "ONx1vNWNdIPKeppO6gT9CQ=="),
        (ERA_A, "", "gXLsPkxnjk+6a3EZSEzAxA=="),
        (
            ERA_B,
            r#"{"password":"some-password"}"#,
            "/Lu96CDAgYv09JxV0IsOQy8H7LuG9o4QJ29eZjgYjeI=",
        ),
        (ERA_B, "{}", "CLV48gAaXSHTObg27u/HPQ=="),
        (ERA_B, "", "bp8N4w+BzXeMbfWPDJIguQ=="),
    ];

    fn codec((key, iv): (&str, &str)) -> BodyCodec {
        BodyCodec::new(key, iv).expect("reference key and IV are valid")
    }

    #[test]
    fn reference_vectors_encrypt() {
        for (keys, plaintext, expected) in VECTORS {
            assert_eq!(
                codec(keys).encrypt(plaintext.as_bytes()),
                expected,
                "{plaintext:?}"
            );
        }
    }

    #[test]
    fn reference_vectors_decrypt() {
        for (keys, plaintext, ciphertext) in VECTORS {
            assert_eq!(codec(keys).decrypt_text(ciphertext).unwrap(), plaintext);
        }
    }

    #[test]
    fn encrypt_json_is_compact_json() {
        let value = serde_json::json!({"password": "some-password"});
        assert_eq!(
            codec(ERA_B).encrypt_json(&value).unwrap(),
            "/Lu96CDAgYv09JxV0IsOQy8H7LuG9o4QJ29eZjgYjeI="
        );
        let back: serde_json::Value = codec(ERA_B)
            .decrypt_json("/Lu96CDAgYv09JxV0IsOQy8H7LuG9o4QJ29eZjgYjeI=")
            .unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn surrounding_whitespace_is_tolerated() {
        let text = " \t\r\n ONx1vNWNdIPKeppO6gT9CQ==\r\n";
        assert_eq!(codec(ERA_A).decrypt_text(text).unwrap(), "{}");
    }

    #[test]
    fn missing_padding_and_url_safe_alphabet_are_tolerated() {
        assert_eq!(
            codec(ERA_A).decrypt_text("ONx1vNWNdIPKeppO6gT9CQ").unwrap(),
            "{}"
        );
        // The same ciphertext as "/Lu96…" in the URL-safe alphabet.
        let url_safe = "_Lu96CDAgYv09JxV0IsOQy8H7LuG9o4QJ29eZjgYjeI";
        assert_eq!(
            codec(ERA_B).decrypt_text(url_safe).unwrap(),
            r#"{"password":"some-password"}"#
        );
    }

    #[test]
    fn key_length_selects_the_cipher() {
        let iv = "0123456789abcdef";
        for (len, bits) in [(16, 128), (24, 192), (32, 256)] {
            let key = "k".repeat(len);
            let codec = BodyCodec::new(&key, iv).unwrap();
            assert_eq!(codec.key_bits(), bits);
            let text = codec.encrypt(b"{\"a\":1}");
            assert_eq!(codec.decrypt(&text).unwrap(), b"{\"a\":1}");
        }
        // Different key sizes give different ciphertexts for the same input.
        let c128 = BodyCodec::new(&"k".repeat(16), iv).unwrap().encrypt(b"x");
        let c256 = BodyCodec::new(&"k".repeat(32), iv).unwrap().encrypt(b"x");
        assert_ne!(c128, c256);
    }

    #[test]
    fn bad_key_or_iv_is_refused() {
        assert_eq!(
            BodyCodec::new("short", "0123456789abcdef").unwrap_err(),
            KeyError::KeyLength(5)
        );
        assert_eq!(
            BodyCodec::new(&"k".repeat(32), "short").unwrap_err(),
            KeyError::IvLength(5)
        );
        // Lengths are counted in UTF-8 bytes: 11 two-byte characters are 22 bytes.
        assert_eq!(
            BodyCodec::new(&"é".repeat(11), "0123456789abcdef").unwrap_err(),
            KeyError::KeyLength(22)
        );
    }

    #[test]
    fn typed_errors_for_bad_bodies() {
        let c = codec(ERA_A);
        assert!(matches!(c.decrypt("   "), Err(DecodeError::Empty)));
        assert!(matches!(
            c.decrypt("not base64!"),
            Err(DecodeError::Base64(_))
        ));
        // 3 bytes of valid Base64 are not a whole block.
        assert!(matches!(
            c.decrypt("AAAA"),
            Err(DecodeError::BlockLength(3))
        ));
        // A ciphertext made with the other key does not unpad.
        assert!(matches!(
            c.decrypt("CLV48gAaXSHTObg27u/HPQ=="),
            Err(DecodeError::Padding)
        ));
        // The empty plaintext is valid text but not JSON.
        assert!(matches!(
            c.decrypt_json::<serde_json::Value>("gXLsPkxnjk+6a3EZSEzAxA=="),
            Err(DecodeError::Json(_))
        ));
        let not_utf8 = c.encrypt(&[0xff, 0xfe]);
        assert!(matches!(
            c.decrypt_text(&not_utf8),
            Err(DecodeError::Utf8(_))
        ));
    }

    #[test]
    fn json_encrypted_in_place_is_the_text_of_its_bytes_encrypted() {
        // A value larger than the buffer's first capacity, so it grows while written.
        let value = serde_json::json!({"a": "x".repeat(5000), "b": [1, 2, 3]});
        let json = serde_json::to_vec(&value).unwrap();
        for bits in [128, 192, 256] {
            let c = match bits {
                128 => BodyCodec::new("0123456789abcdef", SANDBOX_IV).unwrap(),
                192 => BodyCodec::new("0123456789abcdef01234567", SANDBOX_IV).unwrap(),
                _ => codec(ERA_B),
            };
            assert_eq!(
                c.encrypt_json_with(Scheme::LegacyCbc, &value).unwrap(),
                c.encrypt(&json),
                "AES-{bits}-CBC"
            );
        }
        let c = codec(ERA_B);
        for scheme in [Scheme::LegacyCbc, Scheme::Aes256Gcm] {
            let text = c.encrypt_json_with(scheme, &value).unwrap();
            assert_eq!(c.decrypt_with(scheme, &text).unwrap(), json, "{scheme:?}");
        }
        // A block-aligned plaintext takes a whole block of padding.
        let aligned = "y".repeat(14);
        assert_eq!(
            c.encrypt_json(&aligned).unwrap(),
            c.encrypt(format!("\"{aligned}\"").as_bytes())
        );
    }

    #[test]
    fn the_authenticated_scheme_round_trips_and_refuses_tampering() {
        let c = codec(ERA_B);
        let text = c.encrypt_with(Scheme::Aes256Gcm, br#"{"a":1}"#);
        assert_ne!(
            text,
            c.encrypt_with(Scheme::Aes256Gcm, br#"{"a":1}"#),
            "fresh nonces"
        );
        assert_eq!(
            c.decrypt_with(Scheme::Aes256Gcm, &text).unwrap(),
            br#"{"a":1}"#
        );
        let mut bytes = ENCODER.decode(&text).unwrap();
        for i in [0, GCM_NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            let forged = ENCODER.encode(&bytes);
            assert!(matches!(
                c.decrypt_with(Scheme::Aes256Gcm, &forged),
                Err(DecodeError::Forged)
            ));
            bytes[i] ^= 1;
        }
        // The legacy scheme does not read it, nor another key.
        assert!(c.decrypt_with(Scheme::LegacyCbc, &text).is_err());
        assert!(codec(ERA_A).decrypt_with(Scheme::Aes256Gcm, &text).is_err());
        assert_eq!(Scheme::from_header(None), Ok(Scheme::LegacyCbc));
        assert_eq!(
            Scheme::from_header(Some(" AES-256-GCM")),
            Ok(Scheme::Aes256Gcm)
        );
        assert!(Scheme::from_header(Some("rot13")).is_err());
    }

    #[test]
    fn open_json_answers_one_error_for_every_failure() {
        let c = codec(ERA_B);
        let not_utf8 = c.encrypt(&[0xff, 0xfe]);
        let not_json = c.encrypt(b"hello");
        let wrong_shape = c.encrypt(br#"{"b":1}"#);
        let other_key = codec(ERA_A).encrypt(br#"{"a":1}"#);
        for scheme in [Scheme::LegacyCbc, Scheme::Aes256Gcm] {
            for text in [
                "",
                "not base64!",
                "AAAA",
                &not_utf8,
                &not_json,
                &wrong_shape,
                &other_key,
            ] {
                assert_eq!(
                    c.open_json::<A>(scheme, text),
                    Err(Undecryptable),
                    "{scheme:?} {text:?}"
                );
            }
            let good = c
                .encrypt_json_with(scheme, &serde_json::json!({"a": 7}))
                .unwrap();
            assert_eq!(c.open_json::<A>(scheme, &good), Ok(A { a: 7 }));
        }
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct A {
        a: u8,
    }

    #[test]
    fn the_branch_free_padding_check_agrees_with_pkcs7() {
        // Every value of the last byte, and a padding broken at each position.
        let mut block = [7u8; 32];
        for last in 0..=255u8 {
            block[31] = last;
            for broken in 16..32 {
                let mut b = block;
                if broken != 31 {
                    b[broken] ^= 0x80;
                }
                let (ok, len) = pkcs7_unpad_len(&b);
                // PKCS#7 as the standard writes it: n in 1..=16, the last n bytes all n.
                let n = b[31] as usize;
                let valid = (1..=16).contains(&n) && b[32 - n..].iter().all(|&x| x as usize == n);
                let expected = valid.then(|| 32 - n);
                assert_eq!(bool::from(ok), expected.is_some(), "{last} {broken}");
                assert_eq!(len, expected.unwrap_or(32), "{last} {broken}");
            }
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", codec(ERA_A));
        assert_eq!(shown, "BodyCodec { cipher: AES-256-CBC, .. }");
        assert!(!shown.contains(ERA_A.0) && !shown.contains(ERA_A.1));
    }
}
