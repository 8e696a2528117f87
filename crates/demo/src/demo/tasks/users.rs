//! Registered users of the task service, with salted, iterated password
//! hashes (so a login costs real CPU, as with bcrypt in a real service).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::demo::api::now_rfc3339;

/// SHA-256 rounds per password check: about a millisecond of CPU in a
/// release build.
const HASH_ROUNDS: usize = 2000;
/// Most users the service registers.
pub(crate) const MAX_USERS: usize = 1_000_000;

#[derive(Debug)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) created_at: String,
    salt: [u8; 16],
    hash: [u8; 32],
}

/// A user as the API shows it.
#[derive(Serialize)]
pub(crate) struct UserView<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
    #[serde(rename = "createdAt")]
    created_at: &'a str,
}

impl User {
    pub(crate) fn view(&self) -> UserView<'_> {
        UserView {
            id: &self.id,
            email: &self.email,
            name: &self.name,
            created_at: &self.created_at,
        }
    }
}

/// Why a registration failed.
pub(crate) enum RegisterError {
    Exists,
    Full,
}

#[derive(Debug, Default)]
pub(crate) struct Users {
    by_email: RwLock<HashMap<String, Arc<User>>>,
    next_id: AtomicU64,
}

impl Users {
    pub(crate) fn register(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<Arc<User>, RegisterError> {
        let key = email.trim().to_lowercase();
        let salt: [u8; 16] = rand::random();
        // Hashed before taking the lock: it is the slow part.
        let hash = hash(&salt, password);
        let mut users = self.by_email.write().unwrap_or_else(|e| e.into_inner());
        if users.contains_key(&key) {
            return Err(RegisterError::Exists);
        }
        if users.len() >= MAX_USERS {
            return Err(RegisterError::Full);
        }
        let user = Arc::new(User {
            id: format!("user-{}", self.next_id.fetch_add(1, Ordering::Relaxed) + 1),
            email: key.clone(),
            name: name.to_string(),
            created_at: now_rfc3339(),
            salt,
            hash,
        });
        users.insert(key, user.clone());
        Ok(user)
    }

    /// The user if the password matches.
    pub(crate) fn verify(&self, email: &str, password: &str) -> Option<Arc<User>> {
        let user = self
            .by_email
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&email.trim().to_lowercase())
            .cloned();
        match user {
            Some(user) => (hash(&user.salt, password) == user.hash).then_some(user),
            None => {
                // As slow as a wrong password, so timing does not tell
                // which emails are registered.
                let _ = hash(&[0; 16], password);
                None
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_email
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

fn hash(salt: &[u8; 16], password: &str) -> [u8; 32] {
    let mut h: [u8; 32] = Sha256::new()
        .chain_update(salt)
        .chain_update(password.as_bytes())
        .finalize()
        .into();
    for _ in 1..HASH_ROUNDS {
        h = Sha256::new()
            .chain_update(h)
            .chain_update(salt)
            .finalize()
            .into();
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_then_verify() {
        let users = Users::default();
        let u = users
            .register("A@Example.com", "secret123", "A")
            .ok()
            .unwrap();
        assert_eq!(u.email, "a@example.com");
        assert!(matches!(
            users.register("a@example.com", "x", ""),
            Err(RegisterError::Exists)
        ));
        assert!(users.verify("a@example.com", "secret123").is_some());
        assert!(users.verify("a@example.com", "wrong").is_none());
        assert!(users.verify("b@example.com", "secret123").is_none());
    }
}
