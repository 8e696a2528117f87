-- Stampede control plane, SQLite: alerts that cannot storm a channel
-- (issue 17), and deliveries that survive a restart. Kept in step with ../postgres/0007_alerts_durable.sql.
-- `min_interval_ms`: the least time between two firings of one rule for
-- one subject, so that a metric flapping around its threshold fires once
-- per interval, not once per flap. Rules saved before this migration (the
-- built-in ones included) get the default, five minutes.

ALTER TABLE alert_rules ADD COLUMN min_interval_ms INTEGER NOT NULL DEFAULT 300000
    CHECK (min_interval_ms >= 0);

-- Deliveries not finished yet: one row per (alert event, channel) from the
-- moment it is due until it succeeds or runs out of attempts, so that a
-- server that stops between two attempts resumes them at start-up.
-- `attempts`: attempts already made; `next_at`: when the next is due (ms);
-- `lease_until`: until when the server delivering it owns it (ms) — past
-- that, its server is presumed dead and any server may take it over.
CREATE TABLE alert_pending_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES alert_channels (id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('fired', 'resolved')),
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    next_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL
);
CREATE INDEX alert_pending_deliveries_lease ON alert_pending_deliveries (lease_until);
