-- Stampede control plane, SQLite: alerts that cannot storm a channel
-- (issue 17). Kept in step with ../postgres/0007_alerts_durable.sql.
-- `min_interval_ms`: the least time between two firings of one rule for
-- one subject, so that a metric flapping around its threshold fires once
-- per interval, not once per flap. Rules saved before this migration (the
-- built-in ones included) get the default, five minutes.

ALTER TABLE alert_rules ADD COLUMN min_interval_ms INTEGER NOT NULL DEFAULT 300000
    CHECK (min_interval_ms >= 0);
