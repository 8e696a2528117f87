//! The server's cryptography, small and pinned: argon2id password hashes
//! (OWASP's m=19 MiB, t=2, p=1), HS512 JWTs whose verification accepts
//! exactly `{"alg":"HS512"}` (no `none`, no algorithm confusion), and API
//! tokens (256 random bits, stored as their SHA-256).
//!
//! The JWT code is ours rather than `jsonwebtoken`'s because that crate's
//! current releases pull aws-lc-rs; HMAC-SHA512 from `hmac` + `sha2` is a
//! few lines and already in the tree.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// Why a token was refused (the API answers 401 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// The header names another algorithm than HS512.
    #[error("token algorithm not accepted")]
    Algorithm,
    /// The signature does not match.
    #[error("invalid token signature")]
    Signature,
    /// The token's lifetime is over.
    #[error("token expired")]
    Expired,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id hashing with valid parameters cannot fail")
        .to_string()
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so that a login
/// for an unknown name costs as much as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("stampede-no-such-user"))
}

/// A random secret of `n` bytes, base64url.
pub fn random_secret(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new API token's secret: `stp_` and 256 random bits.
pub fn new_api_token() -> String {
    format!("stp_{}", random_secret(32))
}

/// What is stored for an API token: its SHA-256, hex.
pub fn token_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JWT's claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// Signs and verifies HS512 JWTs with one secret.
#[derive(Clone)]
pub struct JwtKey {
    secret: Vec<u8>,
}

const HEADER: &str = r#"{"alg":"HS512","typ":"JWT"}"#;

impl JwtKey {
    /// A key from secret bytes (at least 32).
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    /// A key from its base64 form (as stored in the data directory).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let secret = STANDARD
            .decode(text.trim())
            .map_err(|e| format!("the JWT secret is not base64: {e}"))?;
        if secret.len() < 32 {
            return Err("the JWT secret must be at least 32 bytes".into());
        }
        Ok(Self::new(secret))
    }

    /// A new random 512-bit key in its base64 form.
    pub fn generate_base64() -> String {
        let mut b = [0u8; 64];
        rand::rng().fill_bytes(&mut b);
        STANDARD.encode(b)
    }

    fn mac(&self) -> Hmac<Sha512> {
        Hmac::<Sha512>::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }

    /// A signed token for `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_string(claims).expect("claims serialize");
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{sig}")
    }

    /// Verifies `token` (algorithm pinned to HS512, signature in constant
    /// time, expiry against `now`) and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS512") {
            return Err(TokenError::Algorithm);
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&sig).map_err(|_| TokenError::Signature)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_owasp_argon2id() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, hash_password("correct horse"), "salted");
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_api_token();
        assert!(a.starts_with("stp_") && a.len() == 4 + 43, "{a}");
        assert_ne!(a, new_api_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    fn key() -> JwtKey {
        JwtKey::from_base64(&JwtKey::generate_base64()).unwrap()
    }

    #[test]
    fn jwt_round_trip_and_expiry() {
        let k = key();
        let c = Claims {
            sub: 7,
            iat: 100,
            exp: 200,
        };
        let t = k.sign(&c);
        assert_eq!(k.verify(&t, 150).unwrap(), c);
        assert_eq!(k.verify(&t, 200), Err(TokenError::Expired));
        assert_eq!(key().verify(&t, 150), Err(TokenError::Signature));
    }

    #[test]
    fn jwt_attacks_are_refused() {
        let k = key();
        let t = k.sign(&Claims {
            sub: 1,
            iat: 0,
            exp: i64::MAX,
        });
        let parts: Vec<&str> = t.split('.').collect();
        // alg:none with an empty signature.
        let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            k.verify(&format!("{none}.{}.", parts[1]), 0),
            Err(TokenError::Algorithm)
        );
        // HS256 header with the same key (algorithm confusion).
        let hs256 = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        assert_eq!(
            k.verify(&format!("{hs256}.{}.{}", parts[1], parts[2]), 0),
            Err(TokenError::Algorithm)
        );
        // A payload changed to another user.
        let forged = URL_SAFE_NO_PAD.encode(r#"{"sub":2,"iat":0,"exp":9223372036854775807}"#);
        assert_eq!(
            k.verify(&format!("{}.{forged}.{}", parts[0], parts[2]), 0),
            Err(TokenError::Signature)
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert_eq!(k.verify(bad, 0), Err(TokenError::Malformed), "{bad}");
        }
        assert!(JwtKey::from_base64("c2hvcnQ=").is_err());
    }
}
