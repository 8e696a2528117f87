//! RSA keys for RSASSA-PKCS1-v1_5, RSA-PSS and RSA-OAEP: generation, SPKI,
//! PKCS#8 and JWK encodings, signatures and encryption.
//!
//! The `rsa` crate's private-key operations are not constant-time
//! (RUSTSEC-2023-0071): fine for a load generator signing test data, and
//! the only pure-Rust RSA with key generation and OAEP.

use ::rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ::rsa::traits::{PrivateKeyParts, PublicKeyParts};
use ::rsa::{BigUint, Oaep, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use rand_core::OsRng;
use rquickjs::{Object, Result};

use super::hash::{digest, with_hash};
use super::{b64, from_b64, jwk_member, Fail, Outcome};

/// A private or public RSA key.
pub(crate) enum RsaKey {
    Private(Box<RsaPrivateKey>),
    Public(Box<RsaPublicKey>),
}

/// A new key pair: `(private, public)`. `exponent` is big-endian, as the
/// `publicExponent` parameter.
pub(super) fn generate(bits: usize, exponent: &[u8]) -> Outcome<(RsaKey, RsaKey)> {
    let exp = if exponent.is_empty() {
        BigUint::from(65537u32)
    } else {
        BigUint::from_bytes_be(exponent)
    };
    let key = RsaPrivateKey::new_with_exp(&mut OsRng, bits, &exp)
        .map_err(|e| Fail::operation(format!("could not generate RSA key: {e}")))?;
    let public = key.to_public_key();
    Ok((
        RsaKey::Private(Box::new(key)),
        RsaKey::Public(Box::new(public)),
    ))
}

/// Imports `spki` or `pkcs8` key data.
pub(super) fn import(format: &str, data: &[u8]) -> Outcome<RsaKey> {
    match format {
        "spki" => RsaPublicKey::from_public_key_der(data)
            .map(|k| RsaKey::Public(Box::new(k)))
            .map_err(|e| Fail::data(format!("unable to import RSA public key data: {e}"))),
        "pkcs8" => RsaPrivateKey::from_pkcs8_der(data)
            .map(|k| RsaKey::Private(Box::new(k)))
            .map_err(|e| Fail::data(format!("unable to import RSA private key data: {e}"))),
        other => Err(Fail::not_supported(format!(
            "unsupported key format {other}"
        ))),
    }
}

/// The members of an RSA JWK, decoded.
pub(super) struct JwkMembers {
    n: Vec<u8>,
    e: Vec<u8>,
    private: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
}

impl JwkMembers {
    pub(super) fn read(jwk: &Object<'_>) -> Result<Outcome<Self>> {
        let mut fields = Vec::new();
        for name in ["n", "e", "d", "p", "q"] {
            fields.push(jwk_member(jwk, name)?.map(|t| from_b64(name, &t)));
        }
        Ok((|| {
            let mut it = fields.into_iter();
            let mut next = |name: &str| -> Outcome<Option<Vec<u8>>> {
                it.next().flatten().transpose().map_err(|mut e| {
                    e.message = format!("{name}: {}", e.message);
                    e
                })
            };
            let missing = |name: &str| Fail::data(format!("JWK member {name:?} is missing"));
            let n = next("n")?.ok_or_else(|| missing("n"))?;
            let e = next("e")?.ok_or_else(|| missing("e"))?;
            let private = match next("d")? {
                None => None,
                Some(d) => {
                    let p = next("p")?.ok_or_else(|| missing("p"))?;
                    let q = next("q")?.ok_or_else(|| missing("q"))?;
                    Some((d, p, q))
                }
            };
            Ok(JwkMembers { n, e, private })
        })())
    }
}

pub(super) fn import_jwk(m: JwkMembers) -> Outcome<RsaKey> {
    let n = BigUint::from_bytes_be(&m.n);
    let e = BigUint::from_bytes_be(&m.e);
    match m.private {
        None => RsaPublicKey::new(n, e)
            .map(|k| RsaKey::Public(Box::new(k)))
            .map_err(|e| Fail::data(format!("invalid RSA public key: {e}"))),
        Some((d, p, q)) => {
            let primes = vec![BigUint::from_bytes_be(&p), BigUint::from_bytes_be(&q)];
            let mut key = RsaPrivateKey::from_components(n, e, BigUint::from_bytes_be(&d), primes)
                .map_err(|e| Fail::data(format!("invalid RSA private key: {e}")))?;
            key.validate()
                .and_then(|()| key.precompute())
                .map_err(|e| Fail::data(format!("invalid RSA private key: {e}")))?;
            Ok(RsaKey::Private(Box::new(key)))
        }
    }
}

impl RsaKey {
    pub(super) fn is_private(&self) -> bool {
        matches!(self, RsaKey::Private(_))
    }

    fn public_parts(&self) -> (&BigUint, &BigUint) {
        match self {
            RsaKey::Private(k) => (k.n(), k.e()),
            RsaKey::Public(k) => (k.n(), k.e()),
        }
    }

    pub(super) fn modulus_bits(&self) -> usize {
        self.public_parts().0.bits()
    }

    pub(super) fn public_exponent(&self) -> Vec<u8> {
        self.public_parts().1.to_bytes_be()
    }

    fn private(&self) -> Outcome<&RsaPrivateKey> {
        match self {
            RsaKey::Private(k) => Ok(k),
            RsaKey::Public(_) => Err(Fail::invalid_access("key is not a private RSA key")),
        }
    }

    fn public(&self) -> Outcome<&RsaPublicKey> {
        match self {
            RsaKey::Public(k) => Ok(k),
            RsaKey::Private(_) => Err(Fail::invalid_access("key is not a public RSA key")),
        }
    }

    pub(super) fn export(&self, format: &str) -> Outcome<Vec<u8>> {
        let der = match (format, self) {
            ("spki", RsaKey::Public(k)) => k
                .to_public_key_der()
                .map(|d| d.into_vec())
                .map_err(|e| e.to_string()),
            ("pkcs8", RsaKey::Private(k)) => k
                .to_pkcs8_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| e.to_string()),
            ("spki", RsaKey::Private(_)) => {
                return Err(Fail::invalid_access(
                    "given CryptoKey is not a public RSA key",
                ))
            }
            ("pkcs8", RsaKey::Public(_)) => {
                return Err(Fail::invalid_access(
                    "given CryptoKey is not a private RSA key",
                ))
            }
            (other, _) => {
                return Err(Fail::not_supported(format!(
                    "unsupported key format {other}"
                )))
            }
        };
        der.map_err(Fail::operation)
    }

    /// `{kty, n, e[, d, p, q, dp, dq, qi]}`, k6's members (no `ext`/`key_ops`).
    pub(super) fn jwk(&self) -> Vec<(&'static str, String)> {
        let (n, e) = self.public_parts();
        let mut out = vec![
            ("kty", "RSA".to_string()),
            ("n", b64(&n.to_bytes_be())),
            ("e", b64(&e.to_bytes_be())),
        ];
        if let RsaKey::Private(k) = self {
            let big = |v: Option<&BigUint>| b64(&v.map(|v| v.to_bytes_be()).unwrap_or_default());
            let primes = k.primes();
            out.push(("d", big(Some(k.d()))));
            out.push(("p", big(primes.first())));
            out.push(("q", big(primes.get(1))));
            out.push(("dp", big(k.dp())));
            out.push(("dq", big(k.dq())));
            out.push(("qi", big(k.crt_coefficient().as_ref())));
        }
        out
    }

    pub(super) fn sign_pkcs1(&self, hash: &str, data: &[u8]) -> Outcome<Vec<u8>> {
        let key = self.private()?;
        let d = digest(hash, data)?;
        with_hash!(hash, H => key.sign(Pkcs1v15Sign::new::<H>(), &d))?
            .map_err(|e| Fail::operation(format!("could not sign: {e}")))
    }

    pub(super) fn verify_pkcs1(&self, hash: &str, sig: &[u8], data: &[u8]) -> Outcome<bool> {
        let key = self.public()?;
        let d = digest(hash, data)?;
        with_hash!(hash, H => key.verify(Pkcs1v15Sign::new::<H>(), &d, sig).is_ok())
    }

    /// Go's largest salt for this key and hash, which k6 signs with when
    /// `saltLength` is 0 (`rsa.PSSSaltLengthAuto`).
    fn max_salt(&self, hash: &str) -> Outcome<usize> {
        let em_len = (self.modulus_bits() - 1).div_ceil(8);
        let h_len = digest(hash, b"")?.len();
        em_len
            .checked_sub(h_len + 2)
            .ok_or_else(|| Fail::operation("key too short for RSA-PSS"))
    }

    pub(super) fn sign_pss(&self, hash: &str, salt: usize, data: &[u8]) -> Outcome<Vec<u8>> {
        let key = self.private()?;
        let d = digest(hash, data)?;
        let salt = if salt == 0 {
            self.max_salt(hash)?
        } else {
            salt
        };
        with_hash!(hash, H => key.sign_with_rng(&mut OsRng, Pss::new_with_salt::<H>(salt), &d))?
            .map_err(|e| Fail::operation(format!("could not sign: {e}")))
    }

    /// With `saltLength` 0 any salt length is accepted, as Go's
    /// `PSSSaltLengthAuto` (k6) does.
    pub(super) fn verify_pss(
        &self,
        hash: &str,
        salt: usize,
        sig: &[u8],
        data: &[u8],
    ) -> Outcome<bool> {
        let key = self.public()?;
        let d = digest(hash, data)?;
        let salts = if salt == 0 {
            (0..=self.max_salt(hash)?).rev().collect()
        } else {
            vec![salt]
        };
        with_hash!(hash, H => salts
            .into_iter()
            .any(|s| key.verify(Pss::new_with_salt::<H>(s), &d, sig).is_ok()))
    }

    /// RSA-OAEP with `hash` for both the label and MGF1. The `rsa` crate
    /// takes labels as text: a label that is not UTF-8 is refused.
    pub(super) fn oaep(
        &self,
        encrypt: bool,
        hash: &str,
        label: Option<&[u8]>,
        data: &[u8],
    ) -> Outcome<Vec<u8>> {
        let label = match label {
            Some(l) if !l.is_empty() => Some(
                std::str::from_utf8(l)
                    .map_err(|_| Fail::not_supported("RSA-OAEP labels must be UTF-8 text"))?,
            ),
            _ => None,
        };
        let padding = with_hash!(hash, H => match label {
            Some(l) => Oaep::new_with_label::<H, _>(l),
            None => Oaep::new::<H>(),
        })?;
        if encrypt {
            self.public()?
                .encrypt(&mut OsRng, padding, data)
                .map_err(|e| Fail::operation(format!("could not encrypt data: {e}")))
        } else {
            self.private()?
                .decrypt(padding, data)
                .map_err(|e| Fail::operation(format!("could not decrypt data: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_encrypt_decrypt_and_encodings() {
        let (sk, pk) = generate(1024, &[1, 0, 1]).unwrap();
        assert_eq!(pk.modulus_bits(), 1024);
        assert_eq!(pk.public_exponent(), [1, 0, 1]);
        for hash in ["SHA-1", "SHA-256", "SHA-512"] {
            let sig = sk.sign_pkcs1(hash, b"hello").unwrap();
            assert!(pk.verify_pkcs1(hash, &sig, b"hello").unwrap());
            assert!(!pk.verify_pkcs1(hash, &sig, b"hellO").unwrap());
            let sig = sk.sign_pss(hash, 32, b"hello").unwrap();
            assert!(pk.verify_pss(hash, 32, &sig, b"hello").unwrap());
            assert!(!pk.verify_pss(hash, 20, &sig, b"hello").unwrap());
            // saltLength 0: the largest salt, any salt when verifying (Go's auto).
            let auto = sk.sign_pss(hash, 0, b"hello").unwrap();
            assert!(pk.verify_pss(hash, 0, &auto, b"hello").unwrap());
            assert!(pk.verify_pss(hash, 0, &sig, b"hello").unwrap());
        }
        let ct = pk.oaep(true, "SHA-256", Some(b"label"), b"hello").unwrap();
        assert_eq!(
            sk.oaep(false, "SHA-256", Some(b"label"), &ct).unwrap(),
            b"hello"
        );
        assert_eq!(
            sk.oaep(false, "SHA-256", None, &ct).unwrap_err().name,
            "OperationError"
        );
        let pkcs8 = sk.export("pkcs8").unwrap();
        let again = import("pkcs8", &pkcs8).unwrap();
        assert_eq!(again.export("pkcs8").unwrap(), pkcs8);
        let spki = pk.export("spki").unwrap();
        assert_eq!(import("spki", &spki).unwrap().export("spki").unwrap(), spki);
        assert_eq!(pk.export("raw").unwrap_err().name, "NotSupportedError");
        assert_eq!(sk.export("spki").unwrap_err().name, "InvalidAccessError");
    }
}
