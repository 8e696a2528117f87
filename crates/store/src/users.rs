//! Users and their API tokens.
//!
//! Usernames are unique without regard to ASCII case (an index on
//! `lower(username)`), so `Ana` and `ana` cannot both exist. Password and
//! token hashes are stored exactly as the server's auth computes them; the
//! store never sees a secret.

use sqlx::any::AnyRow;

use crate::db::{check_name, col, from_ms, json_col, now_ms, opt_from_ms, to_json, to_ms};
use crate::error::{Result, StoreError};
use crate::model::{
    ApiToken, NewToken, NewUser, Page, Paged, Quotas, TokenId, User, UserId, UserPatch,
};
use crate::Store;

const USER_COLUMNS: &str = "id, username, password_hash, role, max_vus, max_duration_secs, \
                            max_concurrent_runs, created_at, disabled_at";
const TOKEN_COLUMNS: &str =
    "id, user_id, name, secret_hash, scopes, created_at, last_used_at, expires_at, revoked_at";

fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: UserId(col(row, "id")?),
        username: col(row, "username")?,
        password_hash: col(row, "password_hash")?,
        role: col::<String>(row, "role")?.parse()?,
        quotas: Quotas {
            max_vus: col(row, "max_vus")?,
            max_duration_secs: col(row, "max_duration_secs")?,
            max_concurrent_runs: col(row, "max_concurrent_runs")?,
        },
        created_at: from_ms(col(row, "created_at")?)?,
        disabled_at: opt_from_ms(col(row, "disabled_at")?)?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(col(row, "id")?),
        user_id: UserId(col(row, "user_id")?),
        name: col(row, "name")?,
        secret_hash: col(row, "secret_hash")?,
        scopes: json_col(row, "scopes")?,
        created_at: from_ms(col(row, "created_at")?)?,
        last_used_at: opt_from_ms(col(row, "last_used_at")?)?,
        expires_at: opt_from_ms(col(row, "expires_at")?)?,
        revoked_at: opt_from_ms(col(row, "revoked_at")?)?,
    })
}

fn check_quotas(q: &Quotas) -> Result<()> {
    for (what, v) in [
        ("max_vus", q.max_vus),
        ("max_duration_secs", q.max_duration_secs),
        ("max_concurrent_runs", q.max_concurrent_runs),
    ] {
        if v.is_some_and(|v| v < 0) {
            return Err(StoreError::Invalid(format!(
                "quota {what} must not be negative"
            )));
        }
    }
    Ok(())
}

fn check_hash(what: &str, hash: &str) -> Result<()> {
    if hash.is_empty() || hash.len() > 1024 {
        return Err(StoreError::Invalid(format!(
            "{what} must have 1 to 1024 bytes"
        )));
    }
    Ok(())
}

impl Store {
    /// Creates a user. `Conflict` if the username is taken (any case).
    pub async fn create_user(&self, new: &NewUser) -> Result<User> {
        check_name("username", &new.username, 64)?;
        check_hash("password hash", &new.password_hash)?;
        check_quotas(&new.quotas)?;
        let row = sqlx::query(&format!(
            "INSERT INTO users (username, password_hash, role, max_vus, max_duration_secs, \
             max_concurrent_runs, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING {USER_COLUMNS}"
        ))
        .bind(&new.username)
        .bind(&new.password_hash)
        .bind(new.role.as_str())
        .bind(new.quotas.max_vus)
        .bind(new.quotas.max_duration_secs)
        .bind(new.quotas.max_concurrent_runs)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("username '{}' is taken", new.username))
            }
            e => e,
        })?;
        user_from_row(&row)
    }

    /// The user `id`.
    pub async fn user(&self, id: UserId) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("user {id}")))?;
        user_from_row(&row)
    }

    /// The user named `username` (ASCII case-insensitive), e.g. for login.
    pub async fn user_by_username(&self, username: &str) -> Result<User> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("user '{username}'")))?;
        user_from_row(&row)
    }

    /// How many users exist (the server creates the first admin when 0).
    pub async fn count_users(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Users by id, a page at a time.
    pub async fn list_users(&self, page: Page) -> Result<Paged<User>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY id LIMIT $1 OFFSET $2"
        ))
        .bind(page.clamped_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged {
            items: rows.iter().map(user_from_row).collect::<Result<_>>()?,
            total: total as u64,
            limit: page.clamped_limit() as u32,
            offset: page.offset,
        })
    }

    /// Applies `patch` to user `id` and returns the result.
    pub async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<User> {
        if let Some(h) = &patch.password_hash {
            check_hash("password hash", h)?;
        }
        if let Some(q) = &patch.quotas {
            check_quotas(q)?;
        }
        let q = patch.quotas.clone().unwrap_or_default();
        let disabled_at = match patch.disabled {
            Some(true) => Some(now_ms()),
            _ => None,
        };
        // Each field is either kept (flag 0) or replaced (flag 1); the
        // disabled timestamp is kept when already set and disabling again.
        let row = sqlx::query(&format!(
            "UPDATE users SET \
               password_hash = COALESCE($2, password_hash), \
               role = COALESCE($3, role), \
               max_vus = CASE WHEN $4 = 1 THEN $5 ELSE max_vus END, \
               max_duration_secs = CASE WHEN $4 = 1 THEN $6 ELSE max_duration_secs END, \
               max_concurrent_runs = CASE WHEN $4 = 1 THEN $7 ELSE max_concurrent_runs END, \
               disabled_at = CASE WHEN $8 = 1 THEN COALESCE(disabled_at, $9) \
                                  WHEN $8 = 0 THEN NULL ELSE disabled_at END \
             WHERE id = $1 RETURNING {USER_COLUMNS}"
        ))
        .bind(id.0)
        .bind(patch.password_hash.as_deref())
        .bind(patch.role.map(|r| r.as_str()))
        .bind(i64::from(patch.quotas.is_some()))
        .bind(q.max_vus)
        .bind(q.max_duration_secs)
        .bind(q.max_concurrent_runs)
        .bind(match patch.disabled {
            Some(true) => 1_i64,
            Some(false) => 0,
            None => 2,
        })
        .bind(disabled_at)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("user {id}")))?;
        user_from_row(&row)
    }

    /// Deletes user `id` and their tokens. `Conflict` while they own
    /// scenarios (disable the account instead, or delete those first).
    pub async fn delete_user(&self, id: UserId) -> Result<()> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Invalid(_) => StoreError::Conflict(format!(
                    "user {id} owns scenarios: disable the account instead"
                )),
                e => e,
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("user {id}")));
        }
        Ok(())
    }

    /// Stores a new API token (its secret's hash).
    pub async fn create_token(&self, new: &NewToken) -> Result<ApiToken> {
        check_name("token name", &new.name, 128)?;
        check_hash("token hash", &new.secret_hash)?;
        for s in &new.scopes {
            check_name("scope", s, 64)?;
        }
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (user_id, name, secret_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(new.user_id.0)
        .bind(&new.name)
        .bind(&new.secret_hash)
        .bind(to_json(&new.scopes))
        .bind(now_ms())
        .bind(new.expires_at.map(to_ms))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(_) => StoreError::not_found(format!("user {}", new.user_id)),
            StoreError::Conflict(_) => StoreError::Conflict("token hash collision".into()),
            e => e,
        })?;
        token_from_row(&row)
    }

    /// The token whose secret hashes to `secret_hash` (revoked and expired
    /// ones too: check [`ApiToken::is_usable`]).
    pub async fn token_by_hash(&self, secret_hash: &str) -> Result<ApiToken> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = $1"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("token"))?;
        token_from_row(&row)
    }

    /// The token `id`.
    pub async fn token(&self, id: TokenId) -> Result<ApiToken> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("token {id}")))?;
        token_from_row(&row)
    }

    /// A user's tokens, oldest first.
    pub async fn list_tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id"
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Records that token `id` was just used.
    pub async fn touch_token(&self, id: TokenId) -> Result<()> {
        let done = sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("token {id}")));
        }
        Ok(())
    }

    /// Revokes token `id` (idempotent: the first revocation time is kept).
    pub async fn revoke_token(&self, id: TokenId) -> Result<ApiToken> {
        let row = sqlx::query(&format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
             RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(id.0)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("token {id}")))?;
        token_from_row(&row)
    }
}
