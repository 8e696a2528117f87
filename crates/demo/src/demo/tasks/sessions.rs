//! Sessions of the task service: an access token (short-lived) and a
//! refresh token (long-lived) per login. Refreshing replaces the pair;
//! logging out revokes it. Each user keeps at most
//! [`MAX_SESSIONS_PER_USER`] sessions (the oldest go first), and expired
//! ones are swept, so logins in a loop do not grow memory without bound.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::users::User;
use crate::demo::api::random_token;

/// Sessions one user may hold at once.
pub(crate) const MAX_SESSIONS_PER_USER: usize = 100;
/// How often expired sessions are swept, at most.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) user: Arc<User>,
    pub(crate) access: String,
    pub(crate) refresh: String,
    pub(crate) access_expires: Instant,
    pub(crate) refresh_expires: Instant,
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Invalid,
    Expired,
}

#[derive(Debug)]
pub(crate) struct Sessions {
    access_ttl: Duration,
    refresh_ttl: Duration,
    inner: RwLock<Inner>,
}

#[derive(Debug)]
struct Inner {
    by_access: HashMap<String, Arc<Session>>,
    by_refresh: HashMap<String, Arc<Session>>,
    /// Each user's sessions, oldest first (revoked ones may linger until
    /// the next sweep or eviction finds them gone from the maps).
    by_user: HashMap<String, VecDeque<Arc<Session>>>,
    swept: Instant,
}

impl Sessions {
    pub(crate) fn new(access_ttl: Duration, refresh_ttl: Duration) -> Sessions {
        Sessions {
            access_ttl,
            refresh_ttl,
            inner: RwLock::new(Inner {
                by_access: HashMap::new(),
                by_refresh: HashMap::new(),
                by_user: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    pub(crate) fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    pub(crate) fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session for `user`.
    pub(crate) fn issue(&self, user: Arc<User>) -> Arc<Session> {
        let now = Instant::now();
        let session = Arc::new(Session {
            user,
            access: random_token("at_"),
            refresh: random_token("rt_"),
            access_expires: now + self.access_ttl,
            refresh_expires: now + self.refresh_ttl,
        });
        let mut inner = self.write();
        if now.duration_since(inner.swept) >= SWEEP_EVERY {
            inner.sweep(now);
        }
        inner.insert(session.clone());
        session
    }

    /// The user of a valid access token.
    pub(crate) fn authenticate(&self, access: &str) -> Result<Arc<User>, Refused> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let session = inner.by_access.get(access).ok_or(Refused::Invalid)?;
        if Instant::now() >= session.access_expires {
            return Err(Refused::Expired);
        }
        Ok(session.user.clone())
    }

    /// Replaces the session of a valid refresh token with a new one (the
    /// old access and refresh tokens stop working).
    pub(crate) fn refresh(&self, refresh: &str) -> Result<Arc<Session>, Refused> {
        let now = Instant::now();
        let mut inner = self.write();
        let old = inner
            .by_refresh
            .get(refresh)
            .cloned()
            .ok_or(Refused::Invalid)?;
        inner.remove(&old);
        if now >= old.refresh_expires {
            return Err(Refused::Expired);
        }
        let session = Arc::new(Session {
            user: old.user.clone(),
            access: random_token("at_"),
            refresh: random_token("rt_"),
            access_expires: now + self.access_ttl,
            refresh_expires: now + self.refresh_ttl,
        });
        inner.insert(session.clone());
        Ok(session)
    }

    /// Revokes the session of an access token (even an expired one);
    /// `false` if there is none.
    pub(crate) fn revoke_access(&self, access: &str) -> bool {
        let mut inner = self.write();
        match inner.by_access.get(access).cloned() {
            Some(s) => {
                inner.remove(&s);
                true
            }
            None => false,
        }
    }

    /// Revokes the session of a refresh token; `false` if there is none.
    pub(crate) fn revoke_refresh(&self, refresh: &str) -> bool {
        let mut inner = self.write();
        match inner.by_refresh.get(refresh).cloned() {
            Some(s) => {
                inner.remove(&s);
                true
            }
            None => false,
        }
    }

    /// Sessions not revoked (expired ones count until swept).
    pub(crate) fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_access
            .len()
    }
}

impl Inner {
    fn insert(&mut self, session: Arc<Session>) {
        self.by_access
            .insert(session.access.clone(), session.clone());
        self.by_refresh
            .insert(session.refresh.clone(), session.clone());
        let list = self.by_user.entry(session.user.id.clone()).or_default();
        list.push_back(session);
        // Drop revoked sessions from the front, then the oldest live ones
        // beyond the cap.
        while list.len() > MAX_SESSIONS_PER_USER
            || list
                .front()
                .is_some_and(|s| !self.by_access.contains_key(&s.access))
        {
            let Some(oldest) = list.pop_front() else {
                break;
            };
            self.by_access.remove(&oldest.access);
            self.by_refresh.remove(&oldest.refresh);
        }
    }

    fn remove(&mut self, session: &Session) {
        self.by_access.remove(&session.access);
        self.by_refresh.remove(&session.refresh);
    }

    /// Forgets sessions whose refresh token has expired.
    fn sweep(&mut self, now: Instant) {
        self.by_access.retain(|_, s| s.refresh_expires > now);
        self.by_refresh.retain(|_, s| s.refresh_expires > now);
        let live = &self.by_access;
        self.by_user.retain(|_, list| {
            list.retain(|s| live.contains_key(&s.access));
            !list.is_empty()
        });
        self.swept = now;
    }
}

#[cfg(test)]
mod tests {
    use super::super::users::Users;
    use super::*;

    fn user() -> Arc<User> {
        Users::default()
            .register("u@example.com", "pw", "U")
            .ok()
            .unwrap()
    }

    #[test]
    fn refresh_replaces_and_logout_revokes() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(600));
        let s = sessions.issue(user());
        assert!(sessions.authenticate(&s.access).is_ok());
        let s2 = sessions.refresh(&s.refresh).unwrap();
        assert_eq!(
            sessions.authenticate(&s.access).unwrap_err(),
            Refused::Invalid
        );
        assert_eq!(sessions.refresh(&s.refresh).unwrap_err(), Refused::Invalid);
        assert!(sessions.authenticate(&s2.access).is_ok());
        assert!(sessions.revoke_access(&s2.access));
        assert!(sessions.authenticate(&s2.access).is_err());
        assert!(sessions.refresh(&s2.refresh).is_err());
        assert_eq!(sessions.len(), 0);
    }

    #[test]
    fn access_tokens_expire() {
        let sessions = Sessions::new(Duration::ZERO, Duration::from_secs(600));
        let s = sessions.issue(user());
        assert_eq!(
            sessions.authenticate(&s.access).unwrap_err(),
            Refused::Expired
        );
        assert!(sessions.refresh(&s.refresh).is_ok());
    }

    #[test]
    fn sessions_per_user_are_capped() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(600));
        let u = user();
        let first = sessions.issue(u.clone());
        for _ in 0..MAX_SESSIONS_PER_USER {
            sessions.issue(u.clone());
        }
        assert_eq!(sessions.len(), MAX_SESSIONS_PER_USER);
        assert!(sessions.authenticate(&first.access).is_err());
    }
}
