//! Scenarios (stored tests) and their versions.
//!
//! The `scenarios` row holds the metadata and the current version number;
//! each save inserts a `scenario_versions` row with the archive, entry and
//! default options, so every earlier version stays readable (runs refer to
//! the version they executed). Tags are kept twice: as a JSON list on the
//! row (to return them in order) and in `scenario_tags` (to filter by tag
//! with an index). Deleting a scenario is a soft delete: its runs and their
//! metrics stay, and its name becomes free again.

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::db::{check_name, col, from_ms, json_col, like_escape, now_ms, to_json};
use crate::error::{Result, StoreError};
use crate::model::{
    NewScenario, Page, Paged, Scenario, ScenarioContent, ScenarioFilter, ScenarioId,
    ScenarioSummary, ScenarioUpdate, ScenarioVersion, UserId,
};
use crate::Store;

const SUMMARY_COLUMNS: &str =
    "s.id, s.owner_id, s.name, s.description, s.tags, s.version, s.created_at, s.updated_at";

/// Largest script archive a scenario version may hold.
pub const MAX_ARCHIVE_BYTES: usize = 64 << 20;

fn summary_from_row(row: &AnyRow) -> Result<ScenarioSummary> {
    Ok(ScenarioSummary {
        id: ScenarioId(col(row, "id")?),
        owner_id: UserId(col(row, "owner_id")?),
        name: col(row, "name")?,
        description: col(row, "description")?,
        tags: json_col(row, "tags")?,
        version: col(row, "version")?,
        created_at: from_ms(col(row, "created_at")?)?,
        updated_at: from_ms(col(row, "updated_at")?)?,
    })
}

fn content_from_row(row: &AnyRow) -> Result<ScenarioContent> {
    Ok(ScenarioContent {
        archive: col(row, "archive")?,
        entry: col(row, "entry")?,
        options: json_col(row, "options")?,
        k6_archive: col(row, "k6_archive")?,
    })
}

/// Tags deduplicated in first-seen order, each checked.
fn clean_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        check_name("tag", t, 64)?;
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    if out.len() > 50 {
        return Err(StoreError::Invalid("a scenario has at most 50 tags".into()));
    }
    Ok(out)
}

fn check_content(
    archive: Option<&[u8]>,
    entry: Option<&str>,
    options: Option<&serde_json::Value>,
    k6_archive: Option<&[u8]>,
) -> Result<()> {
    for a in archive.into_iter().chain(k6_archive) {
        if a.is_empty() || a.len() > MAX_ARCHIVE_BYTES {
            return Err(StoreError::Invalid(format!(
                "the script archive must have 1 byte to {} MiB",
                MAX_ARCHIVE_BYTES >> 20
            )));
        }
    }
    if let Some(e) = entry {
        check_name("entry file name", e, 1024)?;
    }
    if let Some(o) = options {
        if !o.is_object() {
            return Err(StoreError::Invalid(
                "scenario options must be a JSON object".into(),
            ));
        }
    }
    Ok(())
}

fn name_conflict(name: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| match StoreError::from(e) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("a scenario named '{name}' already exists"))
        }
        e => e,
    }
}

async fn write_tags(tx: &mut Transaction<'_, Any>, id: ScenarioId, tags: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM scenario_tags WHERE scenario_id = $1")
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    for t in tags {
        sqlx::query("INSERT INTO scenario_tags (scenario_id, tag) VALUES ($1, $2)")
            .bind(id.0)
            .bind(t)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Creates a scenario with its version 1. `Conflict` if the name is taken.
    pub async fn create_scenario(&self, new: &NewScenario) -> Result<Scenario> {
        check_name("scenario name", &new.name, 200)?;
        if new.description.len() > 10_000 {
            return Err(StoreError::Invalid(
                "the description is longer than 10000 bytes".into(),
            ));
        }
        let tags = clean_tags(&new.tags)?;
        let c = &new.content;
        check_content(
            Some(&c.archive),
            Some(&c.entry),
            Some(&c.options),
            c.k6_archive.as_deref(),
        )?;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO scenarios (owner_id, name, description, tags, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
        )
        .bind(new.owner_id.0)
        .bind(&new.name)
        .bind(&new.description)
        .bind(to_json(&tags))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match name_conflict(&new.name)(e) {
            StoreError::Invalid(_) => StoreError::not_found(format!("user {}", new.owner_id)),
            e => e,
        })?;
        let id = ScenarioId(id);
        sqlx::query(
            "INSERT INTO scenario_versions (scenario_id, version, archive, entry, options, created_by, created_at, k6_archive) \
             VALUES ($1, 1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.0)
        .bind(&c.archive)
        .bind(&c.entry)
        .bind(to_json(&c.options))
        .bind(new.owner_id.0)
        .bind(now)
        .bind(c.k6_archive.as_deref())
        .execute(&mut *tx)
        .await?;
        write_tags(&mut tx, id, &tags).await?;
        tx.commit().await?;
        self.scenario(id).await
    }

    /// The scenario `id` with its current content (`NotFound` once deleted).
    pub async fn scenario(&self, id: ScenarioId) -> Result<Scenario> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS}, v.archive, v.entry, v.options, v.k6_archive FROM scenarios s \
             JOIN scenario_versions v ON v.scenario_id = s.id AND v.version = s.version \
             WHERE s.id = $1 AND s.deleted_at IS NULL"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("scenario {id}")))?;
        let s = summary_from_row(&row)?;
        Ok(Scenario {
            id: s.id,
            owner_id: s.owner_id,
            name: s.name,
            description: s.description,
            tags: s.tags,
            version: s.version,
            content: content_from_row(&row)?,
            created_at: s.created_at,
            updated_at: s.updated_at,
        })
    }

    /// The scenario named `name` (ASCII case-insensitive).
    pub async fn scenario_by_name(&self, name: &str) -> Result<Scenario> {
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM scenarios WHERE lower(name) = lower($1) AND deleted_at IS NULL",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("scenario '{name}'")))?;
        self.scenario(ScenarioId(id)).await
    }

    /// Saves `update` as the scenario's next version and returns it.
    pub async fn update_scenario(
        &self,
        id: ScenarioId,
        update: &ScenarioUpdate,
    ) -> Result<Scenario> {
        if let Some(n) = &update.name {
            check_name("scenario name", n, 200)?;
        }
        if update
            .description
            .as_ref()
            .is_some_and(|d| d.len() > 10_000)
        {
            return Err(StoreError::Invalid(
                "the description is longer than 10000 bytes".into(),
            ));
        }
        let tags = update.tags.as_deref().map(clean_tags).transpose()?;
        check_content(
            update.archive.as_deref(),
            update.entry.as_deref(),
            update.options.as_ref(),
            update.k6_archive.as_ref().and_then(|a| a.as_deref()),
        )?;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // The write comes first so that SQLite takes its write lock at once.
        let version: i64 = sqlx::query_scalar(
            "UPDATE scenarios SET version = version + 1, updated_at = $2, \
               name = COALESCE($3, name), description = COALESCE($4, description), \
               tags = COALESCE($5, tags) \
             WHERE id = $1 AND deleted_at IS NULL RETURNING version",
        )
        .bind(id.0)
        .bind(now)
        .bind(update.name.as_deref())
        .bind(update.description.as_deref())
        .bind(tags.as_ref().map(to_json))
        .fetch_optional(&mut *tx)
        .await
        .map_err(name_conflict(update.name.as_deref().unwrap_or_default()))?
        .ok_or_else(|| StoreError::not_found(format!("scenario {id}")))?;
        // The new version starts as a copy of the previous one, then takes
        // the replaced parts.
        sqlx::query(
            "INSERT INTO scenario_versions (scenario_id, version, archive, entry, options, created_by, created_at, k6_archive) \
             SELECT scenario_id, $2, archive, entry, options, $3, $4, k6_archive FROM scenario_versions \
             WHERE scenario_id = $1 AND version = $2 - 1",
        )
        .bind(id.0)
        .bind(version)
        .bind(update.saved_by.map(|u| u.0))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if update.archive.is_some() || update.entry.is_some() || update.options.is_some() {
            sqlx::query(
                "UPDATE scenario_versions SET archive = COALESCE($3, archive), \
                   entry = COALESCE($4, entry), options = COALESCE($5, options) \
                 WHERE scenario_id = $1 AND version = $2",
            )
            .bind(id.0)
            .bind(version)
            .bind(update.archive.as_deref())
            .bind(update.entry.as_deref())
            .bind(update.options.as_ref().map(to_json))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(k6_archive) = &update.k6_archive {
            sqlx::query(
                "UPDATE scenario_versions SET k6_archive = $3 WHERE scenario_id = $1 AND version = $2",
            )
            .bind(id.0)
            .bind(version)
            .bind(k6_archive.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(tags) = &tags {
            write_tags(&mut tx, id, tags).await?;
        }
        tx.commit().await?;
        self.scenario(id).await
    }

    /// Version `version` of scenario `id` (also of a deleted scenario, whose
    /// runs still refer to it).
    pub async fn scenario_version(&self, id: ScenarioId, version: i64) -> Result<ScenarioVersion> {
        let row = sqlx::query(
            "SELECT scenario_id, version, archive, entry, options, created_by, created_at, k6_archive \
             FROM scenario_versions WHERE scenario_id = $1 AND version = $2",
        )
        .bind(id.0)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("version {version} of scenario {id}")))?;
        version_from_row(&row)
    }

    /// Every version of scenario `id`, newest first, without their archives.
    pub async fn list_scenario_versions(&self, id: ScenarioId) -> Result<Vec<ScenarioVersion>> {
        let rows = sqlx::query(
            "SELECT scenario_id, version, entry, options, created_by, created_at \
             FROM scenario_versions WHERE scenario_id = $1 ORDER BY version DESC",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(StoreError::not_found(format!("scenario {id}")));
        }
        rows.iter()
            .map(|row| {
                Ok(ScenarioVersion {
                    scenario_id: ScenarioId(col(row, "scenario_id")?),
                    version: col(row, "version")?,
                    content: ScenarioContent {
                        archive: Vec::new(),
                        entry: col(row, "entry")?,
                        options: json_col(row, "options")?,
                        k6_archive: None,
                    },
                    created_by: col::<Option<i64>>(row, "created_by")?.map(UserId),
                    created_at: from_ms(col(row, "created_at")?)?,
                })
            })
            .collect()
    }

    /// Scenarios matching `filter`, most recently saved first.
    pub async fn list_scenarios(
        &self,
        filter: &ScenarioFilter,
        page: Page,
    ) -> Result<Paged<ScenarioSummary>> {
        let pattern = filter
            .name_contains
            .as_deref()
            .map(|n| format!("%{}%", like_escape(&n.to_lowercase())));
        let wher = "WHERE s.deleted_at IS NULL \
             AND ($1 IS NULL OR lower(s.name) LIKE $1 ESCAPE '\\') \
             AND ($2 IS NULL OR EXISTS (SELECT 1 FROM scenario_tags t WHERE t.scenario_id = s.id AND t.tag = $2)) \
             AND ($3 IS NULL OR s.owner_id = $3)";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM scenarios s {wher}"))
            .bind(pattern.as_deref())
            .bind(filter.tag.as_deref())
            .bind(filter.owner_id.map(|u| u.0))
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM scenarios s {wher} \
             ORDER BY s.updated_at DESC, s.id DESC LIMIT $4 OFFSET $5"
        ))
        .bind(pattern.as_deref())
        .bind(filter.tag.as_deref())
        .bind(filter.owner_id.map(|u| u.0))
        .bind(page.clamped_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged {
            items: rows.iter().map(summary_from_row).collect::<Result<_>>()?,
            total: total as u64,
            limit: page.clamped_limit() as u32,
            offset: page.offset,
        })
    }

    /// Deletes scenario `id` (soft: its versions, runs and metrics stay; the
    /// name becomes free).
    pub async fn delete_scenario(&self, id: ScenarioId) -> Result<()> {
        let done = sqlx::query(
            "UPDATE scenarios SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id.0)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("scenario {id}")));
        }
        Ok(())
    }
}

fn version_from_row(row: &AnyRow) -> Result<ScenarioVersion> {
    Ok(ScenarioVersion {
        scenario_id: ScenarioId(col(row, "scenario_id")?),
        version: col(row, "version")?,
        content: content_from_row(row)?,
        created_by: col::<Option<i64>>(row, "created_by")?.map(UserId),
        created_at: from_ms(col(row, "created_at")?)?,
    })
}
