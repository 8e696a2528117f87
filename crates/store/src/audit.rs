//! The audit log: one row per write through the API (who, what, target,
//! when, from where). Append-only from the API's point of view.

use sqlx::any::AnyRow;

use crate::db::{check_name, col, from_ms, json_col, like_escape, now_ms, to_json};
use crate::error::{Result, StoreError};
use crate::model::{AuditEntry, AuditFilter, AuditId, NewAudit, Page, Paged, TokenId, UserId};
use crate::Store;

const AUDIT_COLUMNS: &str = "id, at, user_id, token_id, action, target, remote_addr, details";

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: AuditId(col(row, "id")?),
        at: from_ms(col(row, "at")?)?,
        user_id: col::<Option<i64>>(row, "user_id")?.map(UserId),
        token_id: col::<Option<i64>>(row, "token_id")?.map(TokenId),
        action: col(row, "action")?,
        target: col(row, "target")?,
        remote_addr: col(row, "remote_addr")?,
        details: json_col(row, "details")?,
    })
}

impl Store {
    /// Appends an audit entry (now).
    pub async fn record_audit(&self, entry: &NewAudit) -> Result<AuditEntry> {
        check_name("audit action", &entry.action, 100)?;
        if entry.target.len() > 500 {
            return Err(StoreError::Invalid(
                "audit target longer than 500 bytes".into(),
            ));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO audit_log (at, user_id, token_id, action, target, remote_addr, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {AUDIT_COLUMNS}"
        ))
        .bind(now_ms())
        .bind(entry.user_id.map(|u| u.0))
        .bind(entry.token_id.map(|t| t.0))
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(entry.remote_addr.as_deref())
        .bind(to_json(&entry.details))
        .fetch_one(&self.pool)
        .await?;
        audit_from_row(&row)
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter, page: Page) -> Result<Paged<AuditEntry>> {
        let prefix = filter
            .action_prefix
            .as_deref()
            .map(|p| format!("{}%", like_escape(p)));
        let wher =
            "WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\')";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM audit_log {wher}"))
            .bind(filter.user_id.map(|u| u.0))
            .bind(prefix.as_deref())
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log {wher} ORDER BY id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(filter.user_id.map(|u| u.0))
        .bind(prefix.as_deref())
        .bind(page.clamped_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged {
            items: rows.iter().map(audit_from_row).collect::<Result<_>>()?,
            total: total as u64,
            limit: page.clamped_limit() as u32,
            offset: page.offset,
        })
    }
}
