//! `POST /auth/login`, `POST /auth/logout`, `GET /auth/me`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use stampede_store::{NewAudit, StoreError};

use super::ApiJson;
use crate::auth::crypto::{dummy_hash, verify_password, Claims};
use crate::auth::{Principal, SESSION_COOKIE};
use crate::error::AppError;
use crate::state::AppState;

/// Session and JWT lifetime.
const TOKEN_LIFETIME_S: i64 = 24 * 3600;

/// The login body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie text is ASCII")
}

/// Checks the password (throttled per user and per address) and answers a
/// 24 h JWT, also set as the HttpOnly session cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/login",
    tag = "auth",
    description = "Role: none (public; throttled per user name and per address).",
    request_body = Login,
    security(()),
    responses(
        (status = 200, description = "Signed in: the JWT (also set as the HttpOnly session cookie `stampede_session`).", body = super::openapi::LoginAnswer),
        (status = 401, description = "Wrong user name or password, or a disabled user.", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many failed logins; see `Retry-After`.", body = super::openapi::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Login>,
) -> Result<Response, AppError> {
    let keys = vec![
        format!("user:{}", body.username.to_lowercase()),
        format!("addr:{}", addr.ip()),
    ];
    if let Err(wait) = state.login_throttle.check(&keys, Instant::now()) {
        return Err(AppError::too_many(
            "too many failed logins; try again later",
            wait,
        ));
    }
    let user = match state.store.user_by_username(&body.username).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    // Verify against a dummy hash for unknown users: same cost, no oracle.
    let password = body.password;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(AppError::internal)?;
    let user = match user {
        Some(u) if ok && u.disabled_at.is_none() => u,
        other => {
            state.login_throttle.fail(&keys, Instant::now());
            state
                .store
                .record_audit(&NewAudit {
                    user_id: other.map(|u| u.id),
                    action: "auth.login_failed".into(),
                    target: format!("user:{}", body.username),
                    remote_addr: Some(addr.ip().to_string()),
                    ..Default::default()
                })
                .await?;
            return Err(AppError::unauthorized("invalid username or password"));
        }
    };
    state.login_throttle.clear(&keys[0]);
    let now = crate::now_unix();
    let exp = now + TOKEN_LIFETIME_S;
    let token = state.jwt.sign(&Claims {
        sub: user.id.0,
        iat: now,
        exp,
    });
    state
        .store
        .record_audit(&NewAudit {
            user_id: Some(user.id),
            action: "auth.login".into(),
            target: format!("user:{}", user.id),
            remote_addr: Some(addr.ip().to_string()),
            ..Default::default()
        })
        .await?;
    let expires_at = time::OffsetDateTime::from_unix_timestamp(exp)
        .map_err(AppError::internal)?
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(AppError::internal)?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        session_cookie(&token, TOKEN_LIFETIME_S, state.config.secure_cookies),
    );
    let body = json!({
        "token": token,
        "expires_at": expires_at,
        "user": {"id": user.id, "username": user.username, "role": user.role},
    });
    Ok((StatusCode::OK, headers, Json(body)).into_response())
}

/// Clears the session cookie.
#[utoipa::path(
    post, path = "/api/v1/auth/logout",
    tag = "auth",
    description = "Role: any signed-in user.",
    responses(
        (status = 204, description = "The session cookie is cleared."),
    )
)]
pub async fn logout(State(state): State<Arc<AppState>>, who: Principal) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        session_cookie("", 0, state.config.secure_cookies),
    );
    let _ = super::audit(
        &state,
        &who,
        "auth.logout",
        format!("user:{}", who.id()),
        json!({}),
    )
    .await;
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// The caller.
#[utoipa::path(
    get, path = "/api/v1/auth/me",
    tag = "auth",
    description = "Role: any signed-in user.",
    responses(
        (status = 200, description = "The caller.", body = stampede_store::User),
    )
)]
pub async fn me(who: Principal) -> Json<stampede_store::User> {
    Json(who.user)
}
