//! Random identifiers in the shapes the PGs use.
//!
//! The randomness is the thread's ChaCha generator (`rand::rng()`), seeded and reseeded
//! from the operating system: as unpredictable as the system's own (some of these are
//! access tokens and billing keys), without a system call per id, which a UUID v4 cost
//! (a webhook-heavy request made several).

use rand::Rng as _;

/// Random letters and digits.
pub fn random_alnum(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    random_from(ALPHABET, len)
}

/// Random decimal digits.
pub fn random_digits(len: usize) -> String {
    random_from(b"0123456789", len)
}

/// A random number below `bound`, for ids kept as numbers; 0 for a `bound` of 0.
pub fn random_below(bound: u128) -> u128 {
    if bound == 0 {
        return 0;
    }
    rand::rng().random_range(0..bound)
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_asked_length_and_alphabet() {
        let id = random_alnum(50);
        assert_eq!(id.len(), 50);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        let digits = random_digits(37);
        assert_eq!(digits.len(), 37);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(random_alnum(20), random_alnum(20));
        assert!((0..1000).all(|_| random_below(10) < 10));
        assert_eq!(random_below(0), 0);
        // Every symbol of the alphabet turns up: no part of it is out of reach.
        let many = random_digits(2000);
        assert!((b'0'..=b'9').all(|d| many.as_bytes().contains(&d)));
    }
}
