//! Channel secrets at rest: AES-256-GCM with a key from the environment
//! (`STAMPEDE_SECRET_KEY`, 32 bytes in base64) or generated into the data
//! directory (`secret-key`, mode 0600), as the JWT secret is.
//!
//! A sealed secret is `v1:` + base64(nonce ‖ ciphertext); a reference to
//! an environment variable is stored as `env:NAME` and read when used, so
//! an operator can keep the value out of the database entirely. Neither
//! form is ever returned by the API (the store does not serialize it).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Seals and opens channel secrets.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox")
    }
}

impl SecretBox {
    /// A box with a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// The key from `STAMPEDE_SECRET_KEY` (`env`), else the data
    /// directory's `secret-key` file (created on first use).
    pub fn load(env: Option<&str>, data_dir: &std::path::Path) -> Result<Self, String> {
        let text = match env {
            Some(t) => t.trim().to_string(),
            None => {
                let path = data_dir.join("secret-key");
                match std::fs::read_to_string(&path) {
                    Ok(t) => t.trim().to_string(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir_all(data_dir)
                            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
                        let mut key = [0u8; 32];
                        rand::rng().fill_bytes(&mut key);
                        let t = B64.encode(key);
                        crate::write_private(&path, &t)?;
                        t
                    }
                    Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
                }
            }
        };
        let bytes = B64
            .decode(&text)
            .map_err(|_| "the secret key must be 32 bytes in base64".to_string())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the secret key must be 32 bytes in base64".to_string())?;
        Ok(Self::new(&key))
    }

    /// Seals `plain` for storage.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encryption does not fail for small inputs");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("v1:{}", B64.encode(out))
    }

    /// The stored form of a reference to environment variable `name`.
    pub fn env_ref(name: &str) -> Result<String, String> {
        let ok = !name.is_empty()
            && name.len() <= 128
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !ok {
            return Err(format!("invalid environment variable name '{name}'"));
        }
        Ok(format!("env:{name}"))
    }

    /// The plain secret of a stored one.
    pub fn open(&self, stored: &str) -> Result<String, String> {
        if let Some(name) = stored.strip_prefix("env:") {
            return std::env::var(name)
                .map_err(|_| format!("the environment variable {name} is not set"));
        }
        let data = stored
            .strip_prefix("v1:")
            .and_then(|b| B64.decode(b).ok())
            .filter(|d| d.len() > 12)
            .ok_or("the stored secret is malformed")?;
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&data[..12]), &data[12..])
            .map_err(|_| "the stored secret does not open with this key")?;
        String::from_utf8(plain).map_err(|_| "the stored secret is not text".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_round_trip_and_hide_the_text() {
        let b = SecretBox::new(&[7; 32]);
        let sealed = b.seal("hunter2");
        assert!(sealed.starts_with("v1:") && !sealed.contains("hunter2"));
        assert_ne!(sealed, b.seal("hunter2"), "a fresh nonce each time");
        assert_eq!(b.open(&sealed).unwrap(), "hunter2");
        let other = SecretBox::new(&[8; 32]);
        assert!(other.open(&sealed).is_err());
        assert!(b.open("v1:AAAA").is_err());
    }

    #[test]
    fn env_references_are_read_when_used() {
        let b = SecretBox::new(&[1; 32]);
        assert!(SecretBox::env_ref("BAD-NAME").is_err());
        let r = SecretBox::env_ref("STAMPEDE_TEST_UNSET_VAR_17").unwrap();
        assert!(b.open(&r).unwrap_err().contains("not set"));
        let r = SecretBox::env_ref("PATH").unwrap();
        assert!(!b.open(&r).unwrap().is_empty());
    }

    #[test]
    fn the_key_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = SecretBox::load(None, dir.path()).unwrap();
        let sealed = a.seal("x");
        let b = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(b.open(&sealed).unwrap(), "x");
        let mode = std::fs::metadata(dir.path().join("secret-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(SecretBox::load(Some("short"), dir.path()).is_err());
    }
}
