//! `POST /auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout`,
//! and the [`AuthUser`] extractor that guards the task endpoints.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::response::Response;
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json as json_value;

use super::sessions::{Refused, Session};
use super::users::{RegisterError, User, UserView, MAX_USERS};
use crate::demo::api::{bearer, json, ApiError, Body};
use crate::demo::DemoState;

/// The user of a request's valid bearer access token; 401 otherwise.
pub(crate) struct AuthUser(pub(crate) Arc<User>);

impl FromRequestParts<Arc<DemoState>> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<DemoState>,
    ) -> Result<Self, ApiError> {
        let token =
            bearer(&parts.headers).ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        authenticate(state, token).map(AuthUser)
    }
}

/// The user of an access token, or the 401 to answer.
pub(crate) fn authenticate(state: &DemoState, token: &str) -> Result<Arc<User>, ApiError> {
    state
        .tasks
        .sessions
        .authenticate(token)
        .map_err(|e| match e {
            Refused::Invalid => ApiError::unauthorized("invalid token"),
            Refused::Expired => {
                ApiError::unauthorized("token expired; refresh it at /auth/refresh")
            }
        })
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /auth/register {email, password, name?}`: 201 with the user, 409
/// if the email is taken.
pub(crate) async fn register(
    State(state): State<Arc<DemoState>>,
    Body(c): Body<Credentials>,
) -> Result<Response, ApiError> {
    let email = c.email.trim();
    if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(ApiError::bad_request("email must be a valid address"));
    }
    if !(6..=128).contains(&c.password.chars().count()) {
        return Err(ApiError::bad_request(
            "password must have 6 to 128 characters",
        ));
    }
    let name = c
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email));
    match state.tasks.users.register(email, &c.password, name) {
        Ok(user) => Ok(json(StatusCode::CREATED, &user.view())),
        Err(RegisterError::Exists) => Err(ApiError::conflict("email already registered")),
        Err(RegisterError::Full) => Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            format!("the demo holds at most {MAX_USERS} users"),
        )),
    }
}

#[derive(Serialize)]
struct Tokens<'a> {
    #[serde(rename = "accessToken")]
    access_token: &'a str,
    #[serde(rename = "refreshToken")]
    refresh_token: &'a str,
    #[serde(rename = "tokenType")]
    token_type: &'static str,
    /// Seconds the access token lives (rounded up).
    #[serde(rename = "expiresIn")]
    expires_in: u64,
    #[serde(rename = "expiresInMs")]
    expires_in_ms: u64,
    #[serde(rename = "refreshExpiresIn")]
    refresh_expires_in: u64,
    user: UserView<'a>,
}

fn tokens(state: &DemoState, s: &Session) -> Response {
    let sessions = &state.tasks.sessions;
    let access = sessions.access_ttl();
    json(
        StatusCode::OK,
        &Tokens {
            access_token: &s.access,
            refresh_token: &s.refresh,
            token_type: "Bearer",
            expires_in: access.as_secs() + u64::from(access.subsec_nanos() > 0),
            expires_in_ms: access.as_millis() as u64,
            refresh_expires_in: sessions.refresh_ttl().as_secs(),
            user: s.user.view(),
        },
    )
}

/// `POST /auth/login {email, password}`: a token pair, or 401.
pub(crate) async fn login(
    State(state): State<Arc<DemoState>>,
    Body(c): Body<Credentials>,
) -> Result<Response, ApiError> {
    if c.email.trim().is_empty() || c.password.is_empty() {
        return Err(ApiError::bad_request("email and password are required"));
    }
    let user = state
        .tasks
        .users
        .verify(&c.email, &c.password)
        .ok_or_else(|| ApiError::unauthorized("invalid email or password"))?;
    let session = state.tasks.sessions.issue(user);
    Ok(tokens(&state, &session))
}

#[derive(Deserialize, Default)]
pub(crate) struct RefreshRequest {
    #[serde(default, rename = "refreshToken", alias = "refresh_token")]
    refresh_token: String,
}

/// `POST /auth/refresh {refreshToken}`: a new pair; the old one stops
/// working.
pub(crate) async fn refresh(
    State(state): State<Arc<DemoState>>,
    Body(r): Body<RefreshRequest>,
) -> Result<Response, ApiError> {
    if r.refresh_token.is_empty() {
        return Err(ApiError::bad_request("refreshToken is required"));
    }
    match state.tasks.sessions.refresh(&r.refresh_token) {
        Ok(session) => Ok(tokens(&state, &session)),
        Err(Refused::Invalid) => Err(ApiError::unauthorized("invalid refresh token")),
        Err(Refused::Expired) => Err(ApiError::unauthorized(
            "refresh token expired; log in again",
        )),
    }
}

/// `POST /auth/logout` with the access token as bearer (or
/// `{refreshToken}` in the body): revokes the session.
pub(crate) async fn logout(
    State(state): State<Arc<DemoState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let sessions = &state.tasks.sessions;
    let by_refresh = serde_json::from_slice::<RefreshRequest>(&body).unwrap_or_default();
    let revoked = match bearer(&headers) {
        Some(token) => sessions.revoke_access(token),
        None if !by_refresh.refresh_token.is_empty() => {
            sessions.revoke_refresh(&by_refresh.refresh_token)
        }
        None => return Err(ApiError::unauthorized("missing bearer token")),
    };
    if !revoked {
        return Err(ApiError::unauthorized("invalid token"));
    }
    Ok(json(
        StatusCode::OK,
        &json_value!({ "status": "logged out" }),
    ))
}
