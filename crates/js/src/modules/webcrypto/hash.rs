//! Digests, HMAC and randomness.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{Fail, Outcome};

/// Runs `$body` with `$h` bound to the hash type named `$name` (k6's
/// `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512`).
macro_rules! with_hash {
    ($name:expr, $h:ident => $body:expr) => {
        match $name {
            "SHA-1" => {
                type $h = ::sha1::Sha1;
                Ok($body)
            }
            "SHA-256" => {
                type $h = ::sha2::Sha256;
                Ok($body)
            }
            "SHA-384" => {
                type $h = ::sha2::Sha384;
                Ok($body)
            }
            "SHA-512" => {
                type $h = ::sha2::Sha512;
                Ok($body)
            }
            other => Err($crate::modules::webcrypto::Fail::not_supported(format!(
                "unsupported hash algorithm {other:?}"
            ))),
        }
    };
}
pub(super) use with_hash;

/// `crypto.subtle.digest`.
pub(super) fn digest(alg: &str, data: &[u8]) -> Outcome<Vec<u8>> {
    Ok(match alg {
        "SHA-1" => Sha1::digest(data).to_vec(),
        "SHA-256" => Sha256::digest(data).to_vec(),
        "SHA-384" => Sha384::digest(data).to_vec(),
        "SHA-512" => Sha512::digest(data).to_vec(),
        other => {
            return Err(Fail::not_supported(format!(
                "unsupported digest algorithm '{other}', accepted values are: SHA-1, SHA-256, SHA-384, and SHA-512"
            )))
        }
    })
}

pub(super) fn hmac_sign(hash: &str, key: &[u8], data: &[u8]) -> Outcome<Vec<u8>> {
    with_hash!(hash, H => {
        let mut mac = <Hmac<H> as Mac>::new_from_slice(key)
            .map_err(|e| Fail::operation(e.to_string()))?;
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    })
}

/// Compares in constant time; a signature of the wrong length is `false`.
pub(super) fn hmac_verify(hash: &str, key: &[u8], sig: &[u8], data: &[u8]) -> Outcome<bool> {
    with_hash!(hash, H => {
        let mut mac = <Hmac<H> as Mac>::new_from_slice(key)
            .map_err(|e| Fail::operation(e.to_string()))?;
        mac.update(data);
        mac.verify_slice(sig).is_ok()
    })
}

pub(super) fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// A random (version 4) UUID in its lowercase text form.
pub(crate) fn random_uuid() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn digests_match_known_values() {
        assert_eq!(
            hex(&digest("SHA-1", b"hello").unwrap()),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        assert_eq!(digest("SHA-512", b"").unwrap().len(), 64);
        assert_eq!(digest("MD5", b"").unwrap_err().name, "NotSupportedError");
    }

    #[test]
    fn hmac_round_trip_matches_k6() {
        // k6 v1.1.0: HMAC SHA-256, key "secret", data "hello".
        let sig = hmac_sign("SHA-256", b"secret", b"hello").unwrap();
        assert_eq!(
            hex(&sig),
            "88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b"
        );
        assert!(hmac_verify("SHA-256", b"secret", &sig, b"hello").unwrap());
        assert!(!hmac_verify("SHA-256", b"secret", &sig[..31], b"hello").unwrap());
    }

    #[test]
    fn uuids_are_version_4() {
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!("89ab".contains(&u[19..20]));
    }
}
