//! Alerting records: rules, the alerts they raise (fired, resolved,
//! acknowledged), notification channels (with their encrypted secret) and
//! the log of every delivery attempt.
//!
//! The store keeps what the server's evaluator decides and guarantees what
//! the data itself must: one firing alert per rule and subject (a partial
//! unique index, so an episode fires once even across restarts or with
//! several servers), acknowledgements that keep their first author, and a
//! channel secret that is opaque ciphertext here and never serialized. The
//! meaning of a rule (which metric, which statistic) is checked by the
//! server, which knows the metrics; this module checks shapes and ranges.
//! Seed 002's default rules are inserted by migration 0002, once.

use std::collections::BTreeMap;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::db::{check_name, col, from_ms, json_col, now_ms, opt_from_ms, to_json, to_ms};
use crate::error::{Result, StoreError};
use crate::model::{Page, Paged, RunId, ScenarioId, UserId};
use crate::Store;

text_enum!(
    /// What a rule watches.
    RuleScope {
        /// Every run, each one on its own.
        Runs = "runs",
        /// The runs of one scenario.
        Scenario = "scenario",
        /// The platform itself (workers).
        Platform = "platform",
    }
);

text_enum!(
    /// How urgent an alert is.
    Severity {
        /// For information.
        Info = "info",
        /// Needs attention.
        Warning = "warning",
        /// Needs action now.
        Critical = "critical",
    }
);

text_enum!(
    /// Where an alert stands.
    AlertState {
        /// The rule's condition holds.
        Firing = "firing",
        /// It held, and no longer does.
        Resolved = "resolved",
    }
);

text_enum!(
    /// How a channel notifies.
    ChannelKind {
        /// A generic JSON POST.
        Webhook = "webhook",
        /// A Slack-compatible incoming webhook (`{"text", "blocks"}`).
        Slack = "slack",
        /// Email over SMTP.
        Email = "email",
        /// The UI (WebSocket); every alert reaches it anyway.
        Ui = "ui",
    }
);

/// The comparisons a rule may use, as written.
pub const RULE_OPS: &[&str] = &[">", ">=", "<", "<=", "==", "!="];

/// A rule as created or replaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAlertRule {
    /// Unique name.
    pub name: String,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// What it watches.
    pub scope: RuleScope,
    /// The scenario, for [`RuleScope::Scenario`] (and only then).
    pub scenario_id: Option<ScenarioId>,
    /// The metric (a run metric, or a platform one such as `worker_cpu_percent`).
    pub metric: String,
    /// Tags the series must have (a sub-metric selector).
    pub tags: BTreeMap<String, String>,
    /// The statistic, as in k6 thresholds (`rate`, `avg`, `p(95)`, ...).
    pub stat: String,
    /// One of [`RULE_OPS`].
    pub op: String,
    /// The value compared against.
    pub threshold: f64,
    /// How long the condition must hold before the alert fires (ms).
    pub for_ms: i64,
    /// The window each evaluation aggregates over (ms).
    pub lookback_ms: i64,
    /// The least time between two firings for one subject (ms), so that a
    /// flapping metric cannot storm a channel.
    #[serde(default = "default_min_interval_ms")]
    pub min_interval_ms: i64,
    /// Severity of its alerts.
    pub severity: Severity,
    /// Stop the run when it fires.
    pub stop_run: bool,
    /// Channels notified (ids); the UI always is.
    pub channels: Vec<i64>,
}

/// Five minutes: the default [`NewAlertRule::min_interval_ms`].
pub const DEFAULT_MIN_INTERVAL_MS: i64 = 300_000;

fn default_min_interval_ms() -> i64 {
    DEFAULT_MIN_INTERVAL_MS
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRule {
    /// Its id.
    pub id: i64,
    /// Shipped with the server (seed 002's defaults).
    pub builtin: bool,
    /// The rule.
    #[serde(flatten)]
    pub rule: NewAlertRule,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An alert as the evaluator raises it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAlert {
    /// The rule (`None` for alerts raised by the platform itself, such as
    /// a failed scheduled run).
    pub rule_id: Option<i64>,
    /// The rule's name then.
    pub rule_name: String,
    /// The rule's severity then.
    pub severity: Severity,
    /// What it is about: `run:12`, `worker:w1`, `platform`.
    pub subject: String,
    /// The run, when it is about one.
    pub run_id: Option<RunId>,
    /// The value that crossed the threshold.
    pub value: Option<f64>,
    /// What happened, for people.
    pub message: String,
    /// When the window was met.
    pub at: OffsetDateTime,
}

/// Where an alert event is to be delivered: the channels, when the first
/// attempt is due and until when the recording server leases it (see
/// `pending.rs`). Recorded with the event, in one transaction.
#[derive(Clone, Debug)]
pub struct Due<'a> {
    /// The channels, each one pending row.
    pub channels: &'a [i64],
    /// When the first attempt is due.
    pub next_at: OffsetDateTime,
    /// Until when the recording server owns the rows.
    pub lease_until: OffsetDateTime,
}

impl Due<'_> {
    /// No channel: the event is stored only.
    pub const NOWHERE: Due<'static> = Due {
        channels: &[],
        next_at: OffsetDateTime::UNIX_EPOCH,
        lease_until: OffsetDateTime::UNIX_EPOCH,
    };

    /// Inserts the pending rows of `event` of `alert_id` in `tx`.
    pub(crate) async fn record(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        alert_id: i64,
        event: &str,
    ) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(self.channels.len());
        for &channel in self.channels {
            let row = sqlx::query(
                "INSERT INTO alert_pending_deliveries \
                   (alert_id, channel_id, event, attempts, next_at, lease_until) \
                 VALUES ($1, $2, $3, 0, $4, $5) RETURNING id",
            )
            .bind(alert_id)
            .bind(channel)
            .bind(event)
            .bind(to_ms(self.next_at))
            .bind(to_ms(self.lease_until))
            .fetch_one(&mut **tx)
            .await?;
            ids.push(col(&row, "id")?);
        }
        Ok(ids)
    }
}

/// A stored alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// Its id.
    pub id: i64,
    /// The rule (unset once the rule is deleted).
    pub rule_id: Option<i64>,
    /// The rule's name when it fired.
    pub rule_name: String,
    /// Severity.
    pub severity: Severity,
    /// What it is about.
    pub subject: String,
    /// The run, if any.
    pub run_id: Option<RunId>,
    /// Firing or resolved.
    pub state: AlertState,
    /// The value when it fired.
    pub value: Option<f64>,
    /// What happened.
    pub message: String,
    /// When it fired.
    #[serde(with = "time::serde::rfc3339")]
    pub fired_at: OffsetDateTime,
    /// When it resolved.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<UserId>,
    /// When.
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
}

/// `GET /api/v1/alerts` filters (all optional).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertFilter {
    /// Only in this state.
    pub state: Option<AlertState>,
    /// Only of this severity.
    pub severity: Option<Severity>,
    /// Only of this rule.
    pub rule_id: Option<i64>,
    /// Only about this run.
    pub run_id: Option<RunId>,
    /// Only acknowledged (`true`) or not (`false`).
    pub acknowledged: Option<bool>,
}

/// A channel as created or replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChannel {
    /// Unique name.
    pub name: String,
    /// How it notifies.
    pub kind: ChannelKind,
    /// Its non-secret settings (URL, addresses, ...), a JSON object.
    pub config: Value,
    /// The secret as ciphertext (the server encrypts it); on update,
    /// `None` keeps the stored one.
    pub secret: Option<String>,
    /// Whether it is used.
    pub enabled: bool,
}

/// A stored channel. Its secret never serializes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    /// Its id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// How it notifies.
    pub kind: ChannelKind,
    /// Non-secret settings.
    pub config: Value,
    /// The encrypted secret, if any.
    #[serde(skip)]
    pub secret: Option<String>,
    /// Whether a secret is stored.
    pub has_secret: bool,
    /// Whether it is used.
    pub enabled: bool,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One delivery attempt of an alert event to a channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The alert.
    pub alert_id: i64,
    /// The channel (unset once deleted).
    pub channel_id: Option<i64>,
    /// `fired` or `resolved`.
    pub event: String,
    /// 1 for the first try.
    pub attempt: i64,
    /// Whether it was accepted.
    pub ok: bool,
    /// The answer or the error.
    pub detail: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

const RULE_COLUMNS: &str = "id, name, enabled, builtin, scope, scenario_id, metric, tags, stat, \
    op, threshold, for_ms, lookback_ms, min_interval_ms, severity, stop_run, channels, \
    created_by, created_at, updated_at";
const ALERT_COLUMNS: &str = "id, rule_id, rule_name, severity, subject, run_id, state, value, \
    message, fired_at, resolved_at, acknowledged_by, acknowledged_at";
const CHANNEL_COLUMNS: &str = "id, name, kind, config, secret, enabled, created_at, updated_at";

fn rule_from_row(row: &AnyRow) -> Result<AlertRule> {
    Ok(AlertRule {
        id: col(row, "id")?,
        builtin: col::<i64>(row, "builtin")? != 0,
        rule: NewAlertRule {
            name: col(row, "name")?,
            enabled: col::<i64>(row, "enabled")? != 0,
            scope: col::<String>(row, "scope")?.parse()?,
            scenario_id: col::<Option<i64>>(row, "scenario_id")?.map(ScenarioId),
            metric: col(row, "metric")?,
            tags: json_col(row, "tags")?,
            stat: col(row, "stat")?,
            op: col(row, "op")?,
            threshold: col(row, "threshold")?,
            for_ms: col(row, "for_ms")?,
            lookback_ms: col(row, "lookback_ms")?,
            min_interval_ms: col(row, "min_interval_ms")?,
            severity: col::<String>(row, "severity")?.parse()?,
            stop_run: col::<i64>(row, "stop_run")? != 0,
            channels: json_col(row, "channels")?,
        },
        created_by: col::<Option<i64>>(row, "created_by")?.map(UserId),
        created_at: from_ms(col(row, "created_at")?)?,
        updated_at: from_ms(col(row, "updated_at")?)?,
    })
}

fn alert_from_row(row: &AnyRow) -> Result<Alert> {
    Ok(Alert {
        id: col(row, "id")?,
        rule_id: col(row, "rule_id")?,
        rule_name: col(row, "rule_name")?,
        severity: col::<String>(row, "severity")?.parse()?,
        subject: col(row, "subject")?,
        run_id: col::<Option<i64>>(row, "run_id")?.map(RunId),
        state: col::<String>(row, "state")?.parse()?,
        value: col(row, "value")?,
        message: col(row, "message")?,
        fired_at: from_ms(col(row, "fired_at")?)?,
        resolved_at: opt_from_ms(col(row, "resolved_at")?)?,
        acknowledged_by: col::<Option<i64>>(row, "acknowledged_by")?.map(UserId),
        acknowledged_at: opt_from_ms(col(row, "acknowledged_at")?)?,
    })
}

fn channel_from_row(row: &AnyRow) -> Result<Channel> {
    let secret: Option<String> = col(row, "secret")?;
    Ok(Channel {
        id: col(row, "id")?,
        name: col(row, "name")?,
        kind: col::<String>(row, "kind")?.parse()?,
        config: json_col(row, "config")?,
        has_secret: secret.is_some(),
        secret,
        enabled: col::<i64>(row, "enabled")? != 0,
        created_at: from_ms(col(row, "created_at")?)?,
        updated_at: from_ms(col(row, "updated_at")?)?,
    })
}

/// The shape checks every rule passes before it is stored.
fn check_rule(r: &NewAlertRule) -> Result<()> {
    check_name("rule name", &r.name, 200)?;
    check_name("metric", &r.metric, 128)?;
    check_name("stat", &r.stat, 32)?;
    if !RULE_OPS.contains(&r.op.as_str()) {
        return Err(StoreError::Invalid(format!(
            "unknown comparison '{}' (expected one of: {})",
            r.op,
            RULE_OPS.join(", ")
        )));
    }
    if !r.threshold.is_finite() {
        return Err(StoreError::Invalid(
            "the threshold must be a finite number".into(),
        ));
    }
    if r.for_ms < 0 || r.for_ms > 7 * 24 * 3_600_000 {
        return Err(StoreError::Invalid(
            "`for` must be between 0 and 7 days".into(),
        ));
    }
    if r.lookback_ms < 1000 || r.lookback_ms > 24 * 3_600_000 {
        return Err(StoreError::Invalid(
            "the lookback must be between 1 s and 24 h".into(),
        ));
    }
    if r.min_interval_ms < 0 || r.min_interval_ms > 24 * 3_600_000 {
        return Err(StoreError::Invalid(
            "the minimum interval must be between 0 and 24 h".into(),
        ));
    }
    if (r.scope == RuleScope::Scenario) != r.scenario_id.is_some() {
        return Err(StoreError::Invalid(
            "`scenario_id` is required with the scenario scope, and only with it".into(),
        ));
    }
    if r.tags.len() > 20 || r.channels.len() > 20 {
        return Err(StoreError::Invalid(
            "at most 20 tags and 20 channels".into(),
        ));
    }
    Ok(())
}

fn check_channel(c: &NewChannel) -> Result<()> {
    check_name("channel name", &c.name, 200)?;
    if !c.config.is_object() {
        return Err(StoreError::Invalid(
            "a channel's config must be a JSON object".into(),
        ));
    }
    Ok(())
}

impl Store {
    /// Creates a rule. `NotFound` for an unknown scenario or channel.
    pub async fn create_alert_rule(
        &self,
        r: &NewAlertRule,
        by: Option<UserId>,
    ) -> Result<AlertRule> {
        check_rule(r)?;
        self.check_channels_exist(&r.channels).await?;
        let now = now_ms();
        let row = sqlx::query(&format!(
            "INSERT INTO alert_rules (name, enabled, builtin, scope, scenario_id, metric, tags, \
               stat, op, threshold, for_ms, lookback_ms, severity, stop_run, channels, \
               created_by, created_at, updated_at, min_interval_ms) \
             VALUES ($1, $2, 0, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, \
               $17) \
             RETURNING {RULE_COLUMNS}"
        ))
        .bind(&r.name)
        .bind(i64::from(r.enabled))
        .bind(r.scope.as_str())
        .bind(r.scenario_id.map(|s| s.0))
        .bind(&r.metric)
        .bind(to_json(&r.tags))
        .bind(&r.stat)
        .bind(&r.op)
        .bind(r.threshold)
        .bind(r.for_ms)
        .bind(r.lookback_ms)
        .bind(r.severity.as_str())
        .bind(i64::from(r.stop_run))
        .bind(to_json(&r.channels))
        .bind(by.map(|u| u.0))
        .bind(now)
        .bind(r.min_interval_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| rule_error(e, r))?;
        rule_from_row(&row)
    }

    /// Replaces rule `id` (a builtin rule stays builtin).
    pub async fn update_alert_rule(&self, id: i64, r: &NewAlertRule) -> Result<AlertRule> {
        check_rule(r)?;
        self.check_channels_exist(&r.channels).await?;
        let row = sqlx::query(&format!(
            "UPDATE alert_rules SET name = $2, enabled = $3, scope = $4, scenario_id = $5, \
               metric = $6, tags = $7, stat = $8, op = $9, threshold = $10, for_ms = $11, \
               lookback_ms = $12, severity = $13, stop_run = $14, channels = $15, updated_at = $16, \
               min_interval_ms = $17 \
             WHERE id = $1 RETURNING {RULE_COLUMNS}"
        ))
        .bind(id)
        .bind(&r.name)
        .bind(i64::from(r.enabled))
        .bind(r.scope.as_str())
        .bind(r.scenario_id.map(|s| s.0))
        .bind(&r.metric)
        .bind(to_json(&r.tags))
        .bind(&r.stat)
        .bind(&r.op)
        .bind(r.threshold)
        .bind(r.for_ms)
        .bind(r.lookback_ms)
        .bind(r.severity.as_str())
        .bind(i64::from(r.stop_run))
        .bind(to_json(&r.channels))
        .bind(now_ms())
        .bind(r.min_interval_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| rule_error(e, r))?
        .ok_or_else(|| StoreError::not_found(format!("alert rule {id}")))?;
        rule_from_row(&row)
    }

    async fn check_channels_exist(&self, ids: &[i64]) -> Result<()> {
        for id in ids {
            self.channel(*id).await?;
        }
        Ok(())
    }

    /// Rule `id`.
    pub async fn alert_rule(&self, id: i64) -> Result<AlertRule> {
        let row = self
            .row_by_id("alert_rules", RULE_COLUMNS, id, "alert rule")
            .await?;
        rule_from_row(&row)
    }

    /// Every rule, by id.
    pub async fn alert_rules(&self) -> Result<Vec<AlertRule>> {
        let rows = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }

    /// Deletes rule `id`; its alerts stay (with the rule's name).
    pub async fn delete_alert_rule(&self, id: i64) -> Result<()> {
        self.delete_by_id("alert_rules", id, "alert rule").await
    }

    /// Records that `a`'s rule fired for its subject. `None` when an alert
    /// of that rule and subject is already firing (one per episode).
    pub async fn fire_alert(&self, a: &NewAlert) -> Result<Option<Alert>> {
        Ok(self.fire_alert_due(a, &Due::NOWHERE).await?.map(|(a, _)| a))
    }

    /// [`Store::fire_alert`], with the event's deliveries on `due`'s
    /// channels recorded in the same transaction: a server that dies right
    /// after leaves them pending for the next one, never an alert that was
    /// stored but not notified. Returns the pending rows' ids, in `due`'s
    /// channel order.
    pub async fn fire_alert_due(
        &self,
        a: &NewAlert,
        due: &Due<'_>,
    ) -> Result<Option<(Alert, Vec<i64>)>> {
        let mut tx = self.pool.begin().await?;
        // A missing value is a literal NULL, not a bound one: sqlx 0.8's Any
        // binds a NULL f64 as a float4 (`AnyArguments` swaps Real and
        // Double), and PostgreSQL keeps that type for the cached statement,
        // so the next alert's float8 value would be refused.
        let value = a.value.filter(|v| v.is_finite());
        let sql = format!(
            "INSERT INTO alerts (rule_id, rule_name, severity, subject, run_id, state, message, \
               fired_at, value) VALUES ($1, $2, $3, $4, $5, 'firing', $6, $7, {}) \
             RETURNING {ALERT_COLUMNS}",
            if value.is_some() { "$8" } else { "NULL" }
        );
        let mut q = sqlx::query(&sql)
            .bind(a.rule_id)
            .bind(&a.rule_name)
            .bind(a.severity.as_str())
            .bind(&a.subject)
            .bind(a.run_id.map(|r| r.0))
            .bind(&a.message)
            .bind(to_ms(a.at));
        if let Some(v) = value {
            q = q.bind(v);
        }
        let res = q.fetch_one(&mut *tx).await;
        let alert = match res {
            Ok(row) => alert_from_row(&row)?,
            // Dropping `tx` rolls it back.
            Err(e) => match StoreError::from(e) {
                StoreError::Conflict(_) => return Ok(None),
                e => return Err(e),
            },
        };
        let pending = due.record(&mut tx, alert.id, "fired").await?;
        tx.commit().await?;
        Ok(Some((alert, pending)))
    }

    /// Resolves the firing alert of `rule_id` about `subject`, if any.
    pub async fn resolve_alert(
        &self,
        rule_id: i64,
        subject: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Alert>> {
        Ok(self
            .resolve_alert_due(rule_id, subject, at, &Due::NOWHERE)
            .await?
            .map(|(a, _)| a))
    }

    /// [`Store::resolve_alert`], with the deliveries of the resolution
    /// recorded in the same transaction (as [`Store::fire_alert_due`]).
    pub async fn resolve_alert_due(
        &self,
        rule_id: i64,
        subject: &str,
        at: OffsetDateTime,
        due: &Due<'_>,
    ) -> Result<Option<(Alert, Vec<i64>)>> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE alerts SET state = 'resolved', resolved_at = $3 \
             WHERE rule_id = $1 AND subject = $2 AND state = 'firing' RETURNING {ALERT_COLUMNS}"
        ))
        .bind(rule_id)
        .bind(subject)
        .bind(to_ms(at))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let alert = alert_from_row(&row)?;
        let pending = due.record(&mut tx, alert.id, "resolved").await?;
        tx.commit().await?;
        Ok(Some((alert, pending)))
    }

    /// Alert `id`.
    pub async fn alert(&self, id: i64) -> Result<Alert> {
        let row = self.row_by_id("alerts", ALERT_COLUMNS, id, "alert").await?;
        alert_from_row(&row)
    }

    /// Alerts matching `filter`, newest first.
    pub async fn list_alerts(&self, filter: &AlertFilter, page: Page) -> Result<Paged<Alert>> {
        let wher = "WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR severity = $2) \
                    AND ($3 IS NULL OR rule_id = $3) AND ($4 IS NULL OR run_id = $4) \
                    AND ($5 IS NULL OR (CASE WHEN acknowledged_at IS NULL THEN 0 ELSE 1 END) = $5)";
        let count_sql = format!("SELECT COUNT(*) FROM alerts {wher}");
        let list_sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {wher} ORDER BY id DESC LIMIT $6 OFFSET $7"
        );
        let total: i64 = sqlx::query_scalar(&count_sql)
            .bind(filter.state.map(|s| s.as_str()))
            .bind(filter.severity.map(|s| s.as_str()))
            .bind(filter.rule_id)
            .bind(filter.run_id.map(|r| r.0))
            .bind(filter.acknowledged.map(i64::from))
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&list_sql)
            .bind(filter.state.map(|s| s.as_str()))
            .bind(filter.severity.map(|s| s.as_str()))
            .bind(filter.rule_id)
            .bind(filter.run_id.map(|r| r.0))
            .bind(filter.acknowledged.map(i64::from))
            .bind(page.clamped_limit())
            .bind(page.sql_offset())
            .fetch_all(&self.pool)
            .await?;
        Ok(Paged {
            items: rows.iter().map(alert_from_row).collect::<Result<_>>()?,
            total: total as u64,
            limit: page.clamped_limit() as u32,
            offset: page.offset,
        })
    }

    /// Every firing alert (the evaluator's state after a restart).
    pub async fn firing_alerts(&self) -> Result<Vec<Alert>> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE state = 'firing' ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// Acknowledges alert `id` as `user` at `at`. The first
    /// acknowledgement is kept: acknowledging again changes nothing.
    pub async fn ack_alert(&self, id: i64, user: UserId, at: OffsetDateTime) -> Result<Alert> {
        sqlx::query(
            "UPDATE alerts SET acknowledged_by = $2, acknowledged_at = $3 \
             WHERE id = $1 AND acknowledged_at IS NULL",
        )
        .bind(id)
        .bind(user.0)
        .bind(to_ms(at))
        .execute(&self.pool)
        .await?;
        self.alert(id).await
    }

    /// Alerts by state and severity, for `/metrics`.
    pub async fn count_alerts(&self) -> Result<Vec<(AlertState, Severity, u64)>> {
        let rows = sqlx::query(
            "SELECT state, severity, COUNT(*) AS n FROM alerts GROUP BY state, severity \
             ORDER BY state, severity",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    col::<String>(r, "state")?.parse()?,
                    col::<String>(r, "severity")?.parse()?,
                    col::<i64>(r, "n")? as u64,
                ))
            })
            .collect()
    }

    /// Logs one delivery attempt.
    pub async fn record_delivery(&self, d: &Delivery) -> Result<()> {
        sqlx::query(
            "INSERT INTO alert_deliveries (alert_id, channel_id, event, attempt, ok, detail, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(d.alert_id)
        .bind(d.channel_id)
        .bind(&d.event)
        .bind(d.attempt)
        .bind(i64::from(d.ok))
        .bind(d.detail.chars().take(1000).collect::<String>())
        .bind(to_ms(d.at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The delivery log of alert `id`, oldest first.
    pub async fn deliveries(&self, alert_id: i64) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT alert_id, channel_id, event, attempt, ok, detail, at FROM alert_deliveries \
             WHERE alert_id = $1 ORDER BY id",
        )
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    alert_id: col(r, "alert_id")?,
                    channel_id: col(r, "channel_id")?,
                    event: col(r, "event")?,
                    attempt: col(r, "attempt")?,
                    ok: col::<i64>(r, "ok")? != 0,
                    detail: col(r, "detail")?,
                    at: from_ms(col(r, "at")?)?,
                })
            })
            .collect()
    }

    /// Creates a channel.
    pub async fn create_channel(&self, c: &NewChannel) -> Result<Channel> {
        check_channel(c)?;
        let now = now_ms();
        let row = sqlx::query(&format!(
            "INSERT INTO alert_channels (name, kind, config, secret, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(&c.name)
        .bind(c.kind.as_str())
        .bind(to_json(&c.config))
        .bind(c.secret.as_deref())
        .bind(i64::from(c.enabled))
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| channel_error(e, c))?;
        channel_from_row(&row)
    }

    /// Replaces channel `id` (its secret is kept when `c.secret` is `None`).
    pub async fn update_channel(&self, id: i64, c: &NewChannel) -> Result<Channel> {
        check_channel(c)?;
        let row = sqlx::query(&format!(
            "UPDATE alert_channels SET name = $2, kind = $3, config = $4, \
               secret = COALESCE($5, secret), enabled = $6, updated_at = $7 \
             WHERE id = $1 RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(id)
        .bind(&c.name)
        .bind(c.kind.as_str())
        .bind(to_json(&c.config))
        .bind(c.secret.as_deref())
        .bind(i64::from(c.enabled))
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| channel_error(e, c))?
        .ok_or_else(|| StoreError::not_found(format!("channel {id}")))?;
        channel_from_row(&row)
    }

    /// Channel `id`.
    pub async fn channel(&self, id: i64) -> Result<Channel> {
        let row = self
            .row_by_id("alert_channels", CHANNEL_COLUMNS, id, "channel")
            .await?;
        channel_from_row(&row)
    }

    /// Every channel, by id.
    pub async fn channels(&self) -> Result<Vec<Channel>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM alert_channels ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(channel_from_row).collect()
    }

    /// Deletes channel `id`; rules that named it stop using it.
    pub async fn delete_channel(&self, id: i64) -> Result<()> {
        self.delete_by_id("alert_channels", id, "channel").await
    }
}

impl Store {
    /// The row `id` of `table` (a fixed name, never user text), or `NotFound` naming `what`.
    pub(crate) async fn row_by_id(
        &self,
        table: &str,
        columns: &str,
        id: i64,
        what: &str,
    ) -> Result<AnyRow> {
        sqlx::query(&format!("SELECT {columns} FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("{what} {id}")))
    }

    /// Deletes row `id` of `table`, or `NotFound` naming `what`.
    pub(crate) async fn delete_by_id(&self, table: &str, id: i64, what: &str) -> Result<()> {
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("{what} {id}")));
        }
        Ok(())
    }
}

fn channel_error(e: sqlx::Error, c: &NewChannel) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("a channel named '{}' already exists", c.name))
        }
        e => e,
    }
}

/// A rule's insert/update failure, with the name it conflicts on.
fn rule_error(e: sqlx::Error, r: &NewAlertRule) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("an alert rule named '{}' already exists", r.name))
        }
        StoreError::Invalid(_) => StoreError::not_found(format!(
            "scenario {}",
            r.scenario_id.map_or("-".into(), |s| s.to_string())
        )),
        e => e,
    }
}
