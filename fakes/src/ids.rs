//! Random identifiers in the shapes the PGs use.

/// Random letters and digits.
pub fn random_alnum(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    random_from(ALPHABET, len)
}

/// Random decimal digits.
pub fn random_digits(len: usize) -> String {
    random_from(b"0123456789", len)
}

/// A random number below `bound` (which must not be 0), for ids kept as numbers.
pub fn random_below(bound: u128) -> u128 {
    uuid::Uuid::new_v4().as_u128() % bound
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    // UUID v4 bytes are the randomness: no extra dependency, and good enough for ids that
    // only need to be unique, not secret.
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in uuid::Uuid::new_v4().as_bytes() {
            if out.len() == len {
                break;
            }
            out.push(alphabet[*byte as usize % alphabet.len()] as char);
        }
    }
    out
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
    }
}
