//! Users (admin only) and API tokens (each user their own).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use stampede_store::{
    ApiToken, NewToken, NewUser, Paged, Quotas, Role, TokenId, User, UserId, UserPatch,
};

use super::{audit, ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::auth::crypto::{hash_password, new_api_token, token_hash};
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// `POST /users`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    username: String,
    password: String,
    role: Role,
    #[serde(default)]
    quotas: Quotas,
}

/// `PATCH /users/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    password: Option<String>,
    role: Option<Role>,
    quotas: Option<Quotas>,
    disabled: Option<bool>,
}

fn check_password(p: &str) -> Result<(), AppError> {
    if p.chars().count() < 12 {
        return Err(AppError::unprocessable(
            "weak_password",
            "passwords must be at least 12 characters",
        ));
    }
    Ok(())
}

fn check_username(u: &str) -> Result<(), AppError> {
    let ok = (1..=64).contains(&u.len())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AppError::unprocessable(
            "invalid_username",
            "user names are 1 to 64 letters, digits, '.', '_', '-' or '@'",
        ))
    }
}

async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)
}

/// Creates a user.
#[utoipa::path(
    post, path = "/api/v1/users",
    tag = "users",
    description = "Role: admin.",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created.", body = super::openapi::UserBrief),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 409, description = "The user name is taken.", body = super::openapi::ErrorBody),
        (status = 422, description = "Invalid user name or a password under 12 characters.", body = super::openapi::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    who.require(Role::Admin)?;
    check_username(&body.username)?;
    check_password(&body.password)?;
    let user = state
        .store
        .create_user(&NewUser {
            username: body.username,
            password_hash: hash(body.password).await?,
            role: body.role,
            quotas: body.quotas,
        })
        .await?;
    audit(
        &state,
        &who,
        "user.create",
        format!("user:{}", user.id),
        json!({"role": user.role}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": user.id, "username": user.username, "role": user.role})),
    ))
}

/// Lists users.
#[utoipa::path(
    get, path = "/api/v1/users",
    tag = "users",
    description = "Role: admin.",
    params(super::PageQuery),
    responses(
        (status = 200, description = "A page of users.", body = stampede_store::Paged<stampede_store::User>),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Paged<User>>, AppError> {
    who.require(Role::Admin)?;
    Ok(Json(state.store.list_users(q.page()).await?))
}

/// One user (admins, or the user itself).
#[utoipa::path(
    get, path = "/api/v1/users/{id}",
    tag = "users",
    description = "Role: admin, or the user itself.",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = stampede_store::User),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such user.", body = super::openapi::ErrorBody),
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<User>, AppError> {
    if who.id() != UserId(id) {
        who.require(Role::Admin)?;
    }
    Ok(Json(state.store.user(UserId(id)).await?))
}

/// Changes a user's password, role, quotas or disabled flag.
#[utoipa::path(
    patch, path = "/api/v1/users/{id}",
    tag = "users",
    description = "Role: admin.",
    params(("id" = i64, Path, description = "The user's id.")),
    request_body = PatchUser,
    responses(
        (status = 200, description = "The changed user.", body = stampede_store::User),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such user.", body = super::openapi::ErrorBody),
        (status = 409, description = "An admin cannot demote or disable itself.", body = super::openapi::ErrorBody),
        (status = 422, description = "A weak password.", body = super::openapi::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatchUser>,
) -> Result<Json<User>, AppError> {
    who.require(Role::Admin)?;
    let password_hash = match body.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    if UserId(id) == who.id()
        && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true))
    {
        return Err(AppError::conflict(
            "an admin cannot demote or disable itself",
        ));
    }
    let user = state
        .store
        .update_user(
            UserId(id),
            &UserPatch {
                password_hash,
                role: body.role,
                quotas: body.quotas,
                disabled: body.disabled,
            },
        )
        .await?;
    audit(
        &state,
        &who,
        "user.update",
        format!("user:{id}"),
        json!({"role": user.role}),
    )
    .await?;
    Ok(Json(user))
}

/// Deletes a user.
#[utoipa::path(
    delete, path = "/api/v1/users/{id}",
    tag = "users",
    description = "Role: admin.",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such user.", body = super::openapi::ErrorBody),
        (status = 409, description = "An admin cannot delete itself.", body = super::openapi::ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    who.require(Role::Admin)?;
    if UserId(id) == who.id() {
        return Err(AppError::conflict("an admin cannot delete itself"));
    }
    state.store.delete_user(UserId(id)).await?;
    audit(&state, &who, "user.delete", format!("user:{id}"), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /tokens`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
}

/// Creates an API token for the caller; the secret is in this answer only.
#[utoipa::path(
    post, path = "/api/v1/tokens",
    tag = "users",
    description = "Role: any signed-in user (the token acts as its user).",
    request_body = CreateToken,
    responses(
        (status = 201, description = "The token: its secret is in this answer only.", body = super::openapi::TokenCreated),
        (status = 422, description = "A name of 1 to 100 characters is needed.", body = super::openapi::ErrorBody),
    )
)]
pub async fn create_token(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(AppError::unprocessable(
            "invalid_name",
            "a token needs a name of 1 to 100 characters",
        ));
    }
    let secret = new_api_token();
    let token = state
        .store
        .create_token(&NewToken {
            user_id: who.id(),
            name: body.name,
            secret_hash: token_hash(&secret),
            scopes: body.scopes,
            expires_at: body.expires_at,
        })
        .await?;
    audit(
        &state,
        &who,
        "token.create",
        format!("token:{}", token.id),
        json!({"name": token.name}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": token.id, "token": secret, "name": token.name})),
    ))
}

/// The caller's tokens (never their secrets).
#[utoipa::path(
    get, path = "/api/v1/tokens",
    tag = "users",
    description = "Role: any signed-in user (its own tokens, never their secrets).",
    responses(
        (status = 200, description = "The caller's tokens.", body = Vec<stampede_store::ApiToken>),
    )
)]
pub async fn list_tokens(
    State(state): State<Arc<AppState>>,
    who: Principal,
) -> Result<Json<Vec<ApiToken>>, AppError> {
    Ok(Json(state.store.list_tokens(who.id()).await?))
}

/// Revokes one of the caller's tokens (admins: anyone's).
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}",
    tag = "users",
    description = "Role: the token's user, or admin.",
    params(("id" = i64, Path, description = "The token's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "No such token.", body = super::openapi::ErrorBody),
    )
)]
pub async fn revoke_token(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    let token = state.store.token(TokenId(id)).await?;
    if token.user_id != who.id() && who.user.role != Role::Admin {
        // Another user's token id: indistinguishable from a missing one.
        return Err(AppError::not_found("token not found"));
    }
    state.store.revoke_token(TokenId(id)).await?;
    audit(
        &state,
        &who,
        "token.revoke",
        format!("token:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?action=&user_id=&limit=&offset=` of the audit log.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Actions starting with this (e.g. `run.`).
    action: Option<String>,
    user_id: Option<i64>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// The audit log, newest first (admin).
#[utoipa::path(
    get, path = "/api/v1/audit",
    tag = "users",
    description = "Role: admin.",
    params(AuditQuery),
    responses(
        (status = 200, description = "The audit log, newest first.", body = stampede_store::Paged<stampede_store::AuditEntry>),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
    )
)]
pub async fn audit_log(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Paged<stampede_store::AuditEntry>>, AppError> {
    who.require(Role::Admin)?;
    let filter = stampede_store::AuditFilter {
        user_id: q.user_id.map(UserId),
        action_prefix: q.action,
    };
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    Ok(Json(state.store.list_audit(&filter, page).await?))
}
