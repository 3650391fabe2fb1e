//! Access keys: an access key id (AK) names a secret key (SK) that signs requests. The
//! server must know the SK to verify signatures, so it keeps it encrypted at rest with a
//! master key (ChaCha20-Poly1305, a fresh random nonce per key, the AK as associated data):
//! a copy of the database alone reveals no secret.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The key that encrypts secret keys at rest (32 bytes).
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(b)
}

/// Lowercase hex digits of `bytes` (token hashes are computed on every request).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// HMAC-SHA256 of `msg` keyed by `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else { return Vec::new() };
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time check that `signature` is HMAC-SHA256(`key`, `msg`).
pub fn hmac_sha256_verify(key: &[u8], msg: &[u8], signature: &[u8]) -> bool {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else { return false };
    mac.update(msg);
    mac.verify_slice(signature).is_ok()
}

impl MasterKey {
    pub fn generate() -> Result<Self> {
        Ok(Self(random::<32>()?))
    }

    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        unhex(s.trim()).and_then(|b| <[u8; 32]>::try_from(b).ok()).map(Self)
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// A value that tells whether two nodes hold the same key, without revealing it.
    pub fn check_value(&self) -> String {
        hex(&hmac_sha256(&self.0, b"imagehub master key check"))
    }

    /// `nonce || ciphertext`, hex.
    pub fn seal(&self, ak: &str, secret: &[u8]) -> Result<String> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let nonce = random::<12>()?;
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: ak.as_bytes() })
            .map_err(|_| Error::Internal("encryption failed".into()))?;
        Ok(format!("{}{}", hex(&nonce), hex(&ct)))
    }

    pub fn open(&self, ak: &str, sealed: &str) -> Result<Vec<u8>> {
        let bytes =
            unhex(sealed).filter(|b| b.len() > 12).ok_or_else(|| Error::Internal("stored secret is corrupt".into()))?;
        let (nonce, ct) = bytes.split_at(12);
        ChaCha20Poly1305::new(Key::from_slice(&self.0))
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: ak.as_bytes() })
            .map_err(|_| Error::Internal("a stored secret key does not open with this master key".into()))
    }
}

const ALNUM_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_string(alphabet: &[u8], len: usize) -> Result<String> {
    let bytes = random::<64>()?;
    // 64 random bytes, rejection-free mapping is biased only for alphabets not dividing 256;
    // draw until `len` unbiased characters are found.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut pool = bytes.to_vec();
    while out.len() < len {
        if pool.is_empty() {
            pool = random::<64>()?.to_vec();
        }
        let b = pool.pop().unwrap_or_default() as usize;
        if b < limit {
            out.push(alphabet[b % alphabet.len()] as char);
        }
    }
    Ok(out)
}

/// A new access key id: 20 upper-case letters and digits (the Huawei form).
pub fn new_access_key_id() -> Result<String> {
    random_string(ALNUM_UPPER, 20)
}

/// A new secret key: 40 letters and digits (238 bits).
pub fn new_secret_key() -> Result<String> {
    random_string(ALNUM, 40)
}

/// A new password (for a user made without one): 24 letters and digits (142 bits).
pub fn new_password() -> Result<String> {
    random_string(ALNUM, 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let k = MasterKey::generate().unwrap();
        let sealed = k.seal("AK1", b"secret").unwrap();
        assert_eq!(k.open("AK1", &sealed).unwrap(), b"secret");
        assert!(k.open("AK2", &sealed).is_err(), "bound to its AK");
        assert!(MasterKey::generate().unwrap().open("AK1", &sealed).is_err(), "other master key");
        let mut tampered = sealed.clone();
        tampered.replace_range(30..32, if &sealed[30..32] == "00" { "11" } else { "00" });
        assert!(k.open("AK1", &tampered).is_err());
        assert_ne!(k.seal("AK1", b"secret").unwrap(), sealed, "fresh nonce each time");
        assert_eq!(MasterKey::from_hex(&k.to_hex()).unwrap().check_value(), k.check_value());
    }

    #[test]
    fn keys_have_the_documented_shapes() {
        let ak = new_access_key_id().unwrap();
        assert_eq!(ak.len(), 20);
        assert!(ak.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let sk = new_secret_key().unwrap();
        assert_eq!(sk.len(), 40);
        assert!(sk.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn hmac_known_vector() {
        // RFC 4231 test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(hmac_sha256_verify(b"Jefe", b"what do ya want for nothing?", &mac));
        assert!(!hmac_sha256_verify(b"Jefe", b"what do ya want for nothing!", &mac));
    }
}
