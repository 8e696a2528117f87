-- Stampede control plane, SQLite: alerts, notification channels, schedules
-- (issue 17). Kept in step with ../postgres/0002_alerts_schedules.sql: same
-- tables, columns and constraints; only the types differ.

CREATE TABLE alert_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'slack', 'email', 'ui')),
    config TEXT NOT NULL,
    secret TEXT,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX alert_channels_name ON alert_channels (lower(name));

CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    builtin INTEGER NOT NULL CHECK (builtin IN (0, 1)),
    scope TEXT NOT NULL CHECK (scope IN ('runs', 'scenario', 'platform')),
    scenario_id INTEGER REFERENCES scenarios (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    tags TEXT NOT NULL,
    stat TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('>', '>=', '<', '<=', '==', '!=')),
    threshold REAL NOT NULL,
    for_ms INTEGER NOT NULL CHECK (for_ms >= 0),
    lookback_ms INTEGER NOT NULL CHECK (lookback_ms > 0),
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    stop_run INTEGER NOT NULL CHECK (stop_run IN (0, 1)),
    channels TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((scope = 'scenario') = (scenario_id IS NOT NULL))
);
CREATE UNIQUE INDEX alert_rules_name ON alert_rules (lower(name));

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id INTEGER REFERENCES alert_rules (id) ON DELETE SET NULL,
    rule_name TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT NOT NULL,
    run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
    value REAL,
    message TEXT NOT NULL,
    fired_at INTEGER NOT NULL,
    resolved_at INTEGER,
    acknowledged_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    acknowledged_at INTEGER
);
-- One firing alert per rule and subject: an episode fires once, also across restarts.
CREATE UNIQUE INDEX alerts_one_firing ON alerts (rule_id, subject) WHERE state = 'firing';
CREATE INDEX alerts_state ON alerts (state, id);
CREATE INDEX alerts_fired_at ON alerts (fired_at);
CREATE INDEX alerts_run ON alerts (run_id);

CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id INTEGER REFERENCES alert_channels (id) ON DELETE SET NULL,
    event TEXT NOT NULL CHECK (event IN ('fired', 'resolved')),
    attempt INTEGER NOT NULL,
    ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
    detail TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id, id);

CREATE TABLE schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scenario_id INTEGER NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    options TEXT NOT NULL,
    overlap TEXT NOT NULL CHECK (overlap IN ('skip', 'queue', 'alongside')),
    missed TEXT NOT NULL CHECK (missed IN ('run_once', 'skip')),
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    alert_on_failure INTEGER NOT NULL CHECK (alert_on_failure IN (0, 1)),
    next_fire_at INTEGER,
    last_fire_at INTEGER,
    last_run_id INTEGER,
    pending INTEGER NOT NULL CHECK (pending >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX schedules_name ON schedules (lower(name));
CREATE INDEX schedules_due ON schedules (enabled, next_fire_at);

-- Seed 002's alert thresholds, shipped enabled. Inserted once: a rule the
-- users delete or change stays so. Platform metrics: workers_available,
-- worker_cpu_percent and worker_memory_percent (per worker).
INSERT INTO alert_rules (name, enabled, builtin, scope, scenario_id, metric, tags, stat, op,
    threshold, for_ms, lookback_ms, severity, stop_run, channels, created_by, created_at, updated_at)
VALUES
    ('Error rate above 5% for 2 min', 1, 1, 'runs', NULL, 'http_req_failed', '{}', 'rate', '>',
     0.05, 120000, 10000, 'critical', 0, '[]', NULL, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('p95 latency above 1000 ms for 5 min', 1, 1, 'runs', NULL, 'http_req_duration', '{}', 'p(95)', '>',
     1000, 300000, 10000, 'warning', 0, '[]', NULL, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('Worker CPU above 80% for 5 min', 1, 1, 'platform', NULL, 'worker_cpu_percent', '{}', 'value', '>',
     80, 300000, 10000, 'warning', 0, '[]', NULL, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('Worker memory above 85% for 5 min', 1, 1, 'platform', NULL, 'worker_memory_percent', '{}', 'value', '>',
     85, 300000, 10000, 'warning', 0, '[]', NULL, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('No workers available', 1, 1, 'platform', NULL, 'workers_available', '{}', 'value', '<',
     1, 0, 1000, 'critical', 0, '[]', NULL, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
