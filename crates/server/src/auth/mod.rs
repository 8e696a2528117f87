//! Who is calling, and may they: the [`Principal`] extractor (bearer JWT,
//! bearer API token, or the session cookie with a CSRF origin check for
//! writes), role checks, and login throttling.
//!
//! Every handler but login, health and `/metrics` takes a `Principal`, so
//! an endpoint cannot forget authentication; the role check is one call
//! (`principal.require(Role::Editor)?`) at the top of the handler.

pub mod crypto;
mod throttle;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use stampede_store::{Role, TokenId, User, UserId};

pub use throttle::Throttle;

use crate::error::AppError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "stampede_session";

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The user (re-read from the store on every request, so a disabled
    /// user or a changed role takes effect at once).
    pub user: User,
    /// The API token used, if any.
    pub token_id: Option<TokenId>,
    /// The caller's address, for the audit log.
    pub remote_addr: Option<String>,
}

/// Rank of a role: viewer < editor < admin.
fn rank(r: Role) -> u8 {
    match r {
        Role::Viewer => 0,
        Role::Editor => 1,
        Role::Admin => 2,
    }
}

impl Principal {
    /// The user's id.
    pub fn id(&self) -> UserId {
        self.user.id
    }

    /// 403 unless the user's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if rank(self.user.role) >= rank(role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "this needs the {role} role; you are {}",
                self.user.role
            )))
        }
    }

    /// 403 unless the caller owns `owner`'s object or is an admin.
    pub fn require_owner(&self, owner: UserId, what: &str) -> Result<(), AppError> {
        if self.user.role == Role::Admin || self.user.id == owner {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "this {what} belongs to another user"
            )))
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The session cookie's value, if sent.
fn session_cookie(parts: &Parts) -> Option<String> {
    for v in parts.headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for c in cookie::Cookie::split_parse(s).flatten() {
            if c.name() == SESSION_COOKIE {
                return Some(c.value().to_string());
            }
        }
    }
    None
}

/// Whether the `Origin` (or `Referer`) URL `origin` names the server the
/// request's `Host` header names.
pub fn same_origin(origin: &str, host: &str) -> bool {
    url::Url::parse(origin).is_ok_and(|o| {
        let authority = match o.port() {
            Some(p) => format!("{}:{p}", o.host_str().unwrap_or("")),
            None => o.host_str().unwrap_or("").to_string(),
        };
        !host.is_empty() && authority.eq_ignore_ascii_case(host)
    })
}

/// For cookie-authenticated writes: the `Origin` (or `Referer`) must be
/// this server's own, else 403.
fn check_same_origin(parts: &Parts) -> Result<(), AppError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .or_else(|| parts.headers.get(header::REFERER))
        .and_then(|h| h.to_str().ok());
    if origin.is_some_and(|o| same_origin(o, host)) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "cross-site request refused: a cookie-authenticated write must come from this server's origin",
        ))
    }
}

fn remote_addr(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let addr = remote_addr(parts);
        let (user_id, token_id) = if let Some(tok) = bearer(parts) {
            if tok.starts_with("stp_") {
                let t = state
                    .store
                    .token_by_hash(&crypto::token_hash(tok))
                    .await
                    .map_err(|_| AppError::unauthorized("invalid API token"))?;
                if !t.is_usable(time::OffsetDateTime::now_utc()) {
                    return Err(AppError::unauthorized("API token revoked or expired"));
                }
                state.store.touch_token(t.id).await?;
                (t.user_id, Some(t.id))
            } else {
                let c = state
                    .jwt
                    .verify(tok, crate::now_unix())
                    .map_err(|e| AppError::unauthorized(e.to_string()))?;
                (UserId(c.sub), None)
            }
        } else if let Some(tok) = session_cookie(parts) {
            let c = state
                .jwt
                .verify(&tok, crate::now_unix())
                .map_err(|e| AppError::unauthorized(format!("session: {e}")))?;
            check_same_origin(parts)?;
            (UserId(c.sub), None)
        } else {
            return Err(AppError::unauthorized(
                "authentication required: send `Authorization: Bearer <token>`",
            ));
        };
        let user = state
            .store
            .user(user_id)
            .await
            .map_err(|_| AppError::unauthorized("the token's user no longer exists"))?;
        if user.disabled_at.is_some() {
            return Err(AppError::unauthorized("this user is disabled"));
        }
        Ok(Principal {
            user,
            token_id,
            remote_addr: addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_the_host_exactly() {
        assert!(same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(same_origin("https://Example.com/path", "example.com"));
        assert!(!same_origin("http://127.0.0.1:8081", "127.0.0.1:8080"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:8080"));
        assert!(!same_origin("null", "127.0.0.1:8080"));
        assert!(!same_origin("http://127.0.0.1:8080", ""));
    }
}
