//! Token values: generated here, stored only as a hash.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::secrets;

/// Prefix of tokens imagehub issues (makes them recognisable in logs and secret scanners).
pub const TOKEN_PREFIX: &str = "ih_";

/// A new random token: the prefix and 48 hex digits (192 bits). Only URL-safe characters,
/// because python-glanceclient percent-encodes `X-Auth-Token`.
pub fn generate() -> Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let mut s = String::with_capacity(TOKEN_PREFIX.len() + 48);
    s.push_str(TOKEN_PREFIX);
    s.push_str(&secrets::hex(&bytes));
    Ok(s)
}

/// Hex SHA-256 of a token value. Tokens carry 192 random bits, so a fast hash is enough:
/// there is nothing to brute-force.
pub fn hash(token: &str) -> String {
    secrets::hex(&Sha256::digest(token.as_bytes()))
}

/// A token's public id, from its hash: the hash's first 16 hex digits (what `imagehub
/// token list` shows, `token revoke` takes and Keystone's `audit_ids` carry).
pub fn id_of(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

/// Checks an operator-chosen token (e.g. `IMAGEHUB_BOOTSTRAP_TOKEN`).
pub fn validate_chosen(token: &str) -> Result<()> {
    if token.len() < 16 || token.len() > 256 {
        return Err(Error::invalid("a token must be 16 to 256 characters long"));
    }
    if !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::invalid("a token may contain only A-Z, a-z, 0-9, '_' and '-'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_url_safe_unique_and_valid() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), 51);
        validate_chosen(&a).unwrap();
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn chosen_tokens_are_checked() {
        assert!(validate_chosen("short").is_err());
        assert!(validate_chosen("has a space in it!!").is_err());
        assert!(validate_chosen("has+plus/and=equals").is_err());
        assert!(validate_chosen("Good_token-0123456789").is_ok());
    }
}
