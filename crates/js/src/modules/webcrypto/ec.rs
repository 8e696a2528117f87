//! ECDSA and ECDH keys on P-256, P-384 and P-521: generation, raw (SEC1
//! uncompressed), SPKI, PKCS#8 and JWK encodings, signatures in the IEEE
//! P1363 form (`r || s`) Web Crypto uses, shared secrets.

use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand_core::OsRng;
use rquickjs::{Object, Result};

use super::hash::digest;
use super::{b64, from_b64, jwk_member, Fail, Outcome};

/// A named curve Web Crypto (and k6) supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    fn parse(name: &str) -> Outcome<Self> {
        match name {
            "P-256" => Ok(Curve::P256),
            "P-384" => Ok(Curve::P384),
            "P-521" => Ok(Curve::P521),
            other => Err(Fail::not_supported(format!(
                "elliptic curve {other} is not supported"
            ))),
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Size of a field element (and of `r`, `s`, `x`, `y`, `d`) in bytes.
    fn field_bytes(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// Runs `$body` with `$c` bound to the curve's crate (`p256`, `p384`,
/// `p521`), which all have the same layout.
macro_rules! on_curve {
    ($curve:expr, $c:ident => $body:expr) => {
        match $curve {
            Curve::P256 => {
                use p256 as $c;
                $body
            }
            Curve::P384 => {
                use p384 as $c;
                $body
            }
            Curve::P521 => {
                use p521 as $c;
                $body
            }
        }
    };
}

/// An elliptic curve key, kept encoded: a private scalar (big-endian, field
/// size) or a public point (SEC1 uncompressed).
pub(crate) struct EcKey {
    curve: Curve,
    private: bool,
    bytes: Vec<u8>,
}

fn bad_public(curve: Curve) -> Fail {
    Fail::data(format!("invalid {} public key", curve.name()))
}

fn bad_private(curve: Curve) -> Fail {
    Fail::data(format!("invalid {} private key", curve.name()))
}

/// A new key pair: `(private, public)`.
pub(super) fn generate(curve: &str) -> Outcome<(EcKey, EcKey)> {
    let curve = Curve::parse(curve)?;
    let (scalar, point) = on_curve!(curve, c => {
        let sk = c::SecretKey::random(&mut OsRng);
        (sk.to_bytes().to_vec(), sk.public_key().to_encoded_point(false).as_bytes().to_vec())
    });
    Ok((
        EcKey {
            curve,
            private: true,
            bytes: scalar,
        },
        EcKey {
            curve,
            private: false,
            bytes: point,
        },
    ))
}

/// Imports `raw` (a public point), `spki` or `pkcs8` key data.
pub(super) fn import(curve: &str, format: &str, data: &[u8]) -> Outcome<EcKey> {
    let curve = Curve::parse(curve)?;
    let (private, bytes) = match format {
        "raw" => {
            // Uncompressed points only, as Go's elliptic.Unmarshal (k6).
            if data.first() != Some(&4) {
                return Err(Fail::data(format!(
                    "unable to import {} public key data",
                    curve.name()
                )));
            }
            on_curve!(curve, c => {
                c::PublicKey::from_sec1_bytes(data).map_err(|_| bad_public(curve))?;
            });
            (false, data.to_vec())
        }
        "spki" => on_curve!(curve, c => {
            let pk = c::PublicKey::from_public_key_der(data).map_err(|e| {
                Fail::data(format!("unable to import {} public key data: {e}", curve.name()))
            })?;
            (false, pk.to_encoded_point(false).as_bytes().to_vec())
        }),
        "pkcs8" => on_curve!(curve, c => {
            let sk = c::SecretKey::from_pkcs8_der(data).map_err(|e| {
                Fail::data(format!("unable to import {} private key data: {e}", curve.name()))
            })?;
            (true, sk.to_bytes().to_vec())
        }),
        other => {
            return Err(Fail::not_supported(format!(
                "unsupported key format {other}"
            )))
        }
    };
    Ok(EcKey {
        curve,
        private,
        bytes,
    })
}

/// The members of an EC JWK, decoded.
pub(super) struct JwkMembers {
    crv: Option<String>,
    x: Outcome<Vec<u8>>,
    y: Outcome<Vec<u8>>,
    d: Option<Outcome<Vec<u8>>>,
}

impl JwkMembers {
    pub(super) fn read(jwk: &Object<'_>) -> Result<Outcome<Self>> {
        let member = |name: &str| -> Result<Outcome<Vec<u8>>> {
            Ok(match jwk_member(jwk, name)? {
                Some(t) => from_b64(name, &t),
                None => Err(Fail::data(format!("JWK member {name:?} is missing"))),
            })
        };
        let d = jwk_member(jwk, "d")?.map(|t| from_b64("d", &t));
        Ok(Ok(JwkMembers {
            crv: jwk_member(jwk, "crv")?,
            x: member("x")?,
            y: member("y")?,
            d,
        }))
    }
}

pub(super) fn import_jwk(curve: &str, m: JwkMembers) -> Outcome<EcKey> {
    let curve = Curve::parse(curve)?;
    if let Some(crv) = &m.crv {
        if crv != curve.name() {
            return Err(Fail::data(format!(
                "JWK curve {crv} does not match the algorithm's {}",
                curve.name()
            )));
        }
    }
    let size = curve.field_bytes();
    let (x, y) = (m.x?, m.y?);
    if x.len() != size || y.len() != size {
        return Err(bad_public(curve));
    }
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    on_curve!(curve, c => {
        c::PublicKey::from_sec1_bytes(&point).map_err(|_| bad_public(curve))?;
    });
    match m.d {
        None => Ok(EcKey {
            curve,
            private: false,
            bytes: point,
        }),
        Some(d) => {
            let d = d?;
            let matches = on_curve!(curve, c => {
                let sk = c::SecretKey::from_slice(&d).map_err(|_| bad_private(curve))?;
                sk.public_key().to_encoded_point(false).as_bytes() == point.as_slice()
            });
            if !matches {
                return Err(Fail::data("JWK private key does not match its public key"));
            }
            Ok(EcKey {
                curve,
                private: true,
                bytes: d,
            })
        }
    }
}

impl EcKey {
    pub(super) fn is_private(&self) -> bool {
        self.private
    }

    pub(super) fn curve(&self) -> Curve {
        self.curve
    }

    /// The public point (SEC1 uncompressed) of this key or of its private key.
    fn public_point(&self) -> Outcome<Vec<u8>> {
        if !self.private {
            return Ok(self.bytes.clone());
        }
        let curve = self.curve;
        on_curve!(curve, c => {
            let sk = c::SecretKey::from_slice(&self.bytes).map_err(|_| bad_private(curve))?;
            Ok(sk.public_key().to_encoded_point(false).as_bytes().to_vec())
        })
    }

    pub(super) fn export(&self, format: &str) -> Outcome<Vec<u8>> {
        let curve = self.curve;
        let not_public = || Fail::invalid_access("key is not a valid elliptic curve public key");
        match format {
            "raw" if !self.private => Ok(self.bytes.clone()),
            "spki" if !self.private => on_curve!(curve, c => {
                let pk = c::PublicKey::from_sec1_bytes(&self.bytes).map_err(|_| bad_public(curve))?;
                let der = pk.to_public_key_der().map_err(|e| Fail::operation(e.to_string()))?;
                Ok(der.as_bytes().to_vec())
            }),
            "pkcs8" if self.private => on_curve!(curve, c => {
                let sk = c::SecretKey::from_slice(&self.bytes).map_err(|_| bad_private(curve))?;
                let der = sk.to_pkcs8_der().map_err(|e| Fail::operation(e.to_string()))?;
                Ok(der.as_bytes().to_vec())
            }),
            "raw" | "spki" => Err(not_public()),
            "pkcs8" => Err(Fail::invalid_access(
                "key is not a valid elliptic curve private key",
            )),
            other => Err(Fail::not_supported(format!(
                "unsupported key format {other}"
            ))),
        }
    }

    /// `{kty, crv, x, y[, d]}`, k6's members (no `ext`/`key_ops`).
    pub(super) fn jwk(&self) -> Vec<(&'static str, String)> {
        let size = self.curve.field_bytes();
        let point = self.public_point().unwrap_or_default();
        let (x, y) = if point.len() == 1 + 2 * size {
            (&point[1..1 + size], &point[1 + size..])
        } else {
            (&[][..], &[][..])
        };
        let mut out = vec![
            ("kty", "EC".to_string()),
            ("crv", self.curve.name().to_string()),
            ("x", b64(x)),
            ("y", b64(y)),
        ];
        if self.private {
            out.push(("d", b64(&self.bytes)));
        }
        out
    }

    /// The digest of `data` as ECDSA signs it: left-padded to the field size
    /// when shorter, so any hash goes with any curve as in Go (RustCrypto
    /// refuses digests under half the field size).
    fn prehash(&self, hash: &str, data: &[u8]) -> Outcome<Vec<u8>> {
        let d = digest(hash, data)?;
        let size = self.curve.field_bytes();
        if d.len() >= size {
            return Ok(d);
        }
        let mut padded = vec![0u8; size - d.len()];
        padded.extend_from_slice(&d);
        Ok(padded)
    }

    pub(super) fn sign(&self, hash: &str, data: &[u8]) -> Outcome<Vec<u8>> {
        if !self.private {
            return Err(Fail::invalid_access("key is not a private key"));
        }
        let z = self.prehash(hash, data)?;
        let curve = self.curve;
        on_curve!(curve, c => {
            use c::ecdsa::signature::hazmat::RandomizedPrehashSigner;
            let sk = c::ecdsa::SigningKey::from_slice(&self.bytes).map_err(|_| bad_private(curve))?;
            let sig: c::ecdsa::Signature = sk
                .sign_prehash_with_rng(&mut OsRng, &z)
                .map_err(|e| Fail::operation(format!("could not sign: {e}")))?;
            Ok(sig.to_bytes().to_vec())
        })
    }

    /// `false` for a malformed signature, as k6.
    pub(super) fn verify(&self, hash: &str, sig: &[u8], data: &[u8]) -> Outcome<bool> {
        if self.private {
            return Err(Fail::invalid_access("key is not a public key"));
        }
        let z = self.prehash(hash, data)?;
        let curve = self.curve;
        on_curve!(curve, c => {
            use c::ecdsa::signature::hazmat::PrehashVerifier;
            let vk = c::ecdsa::VerifyingKey::from_sec1_bytes(&self.bytes)
                .map_err(|_| bad_public(curve))?;
            let Ok(sig) = c::ecdsa::Signature::from_slice(sig) else {
                return Ok(false);
            };
            Ok(vk.verify_prehash(&z, &sig).is_ok())
        })
    }

    /// ECDH: the x coordinate of the shared point, `self` being the private key.
    pub(super) fn ecdh(&self, public: &EcKey) -> Outcome<Vec<u8>> {
        if self.curve != public.curve {
            return Err(Fail::invalid_access(format!(
                "keys have different curves {} and {}",
                self.curve.name(),
                public.curve.name()
            )));
        }
        if !self.private || public.private {
            return Err(Fail::invalid_access(
                "ECDH needs a private key and a public key",
            ));
        }
        let curve = self.curve;
        on_curve!(curve, c => {
            let sk = c::SecretKey::from_slice(&self.bytes).map_err(|_| bad_private(curve))?;
            let pk = c::PublicKey::from_sec1_bytes(&public.bytes).map_err(|_| bad_public(curve))?;
            let shared = c::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine());
            Ok(shared.raw_secret_bytes().to_vec())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A P-256 key made with openssl; k6 v1.1.0 exports the same bytes.
    const PKCS8: &str = "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02010104208c03eb62f0bc286ccafc45b8f99427e8f1251efbd1058998c5f822e8af3a1206a14403420004fd11d73decf3db396c3ee8968b7cee983e598e54f07e71f5ca037b093427e5368ceb24657d4ec89182fa00576a7b78ee65e8ba666700cc08401557435aa6460f";
    const SPKI: &str = "3059301306072a8648ce3d020106082a8648ce3d03010703420004fd11d73decf3db396c3ee8968b7cee983e598e54f07e71f5ca037b093427e5368ceb24657d4ec89182fa00576a7b78ee65e8ba666700cc08401557435aa6460f";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn pkcs8_and_spki_round_trip() {
        let sk = import("P-256", "pkcs8", &unhex(PKCS8)).unwrap();
        let pk = import("P-256", "spki", &unhex(SPKI)).unwrap();
        assert_eq!(sk.export("pkcs8").unwrap(), unhex(PKCS8));
        assert_eq!(pk.export("spki").unwrap(), unhex(SPKI));
        assert_eq!(pk.export("raw").unwrap(), sk.public_point().unwrap());
        assert_eq!(
            sk.jwk()[2],
            ("x", "_RHXPezz2zlsPuiWi3zumD5ZjlTwfnH1ygN7CTQn5TY".into())
        );
        assert_eq!(sk.export("spki").unwrap_err().name, "InvalidAccessError");
    }

    #[test]
    fn sign_verify_with_any_hash_on_every_curve() {
        for curve in ["P-256", "P-384", "P-521"] {
            let (sk, pk) = generate(curve).unwrap();
            for hash in ["SHA-1", "SHA-256", "SHA-384", "SHA-512"] {
                let sig = sk.sign(hash, b"hello").unwrap();
                assert_eq!(sig.len(), 2 * sk.curve.field_bytes());
                assert!(pk.verify(hash, &sig, b"hello").unwrap(), "{curve} {hash}");
                assert!(!pk.verify(hash, &sig, b"hellO").unwrap());
            }
            assert!(!pk.verify("SHA-256", &[1, 2, 3], b"hello").unwrap());
        }
    }

    #[test]
    fn ecdh_agrees() {
        let (a, ap) = generate("P-384").unwrap();
        let (b, bp) = generate("P-384").unwrap();
        let s1 = a.ecdh(&bp).unwrap();
        assert_eq!(s1.len(), 48);
        assert_eq!(s1, b.ecdh(&ap).unwrap());
        let (_, other) = generate("P-256").unwrap();
        assert_eq!(a.ecdh(&other).unwrap_err().name, "InvalidAccessError");
    }
}
