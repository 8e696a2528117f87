-- Stampede control plane, SQLite. Kept in step with ../postgres/0001_core.sql:
-- same tables, columns and constraints; only the types differ. Timestamps are
-- Unix milliseconds (INTEGER), JSON is TEXT, ids are INTEGER rowids.
-- Version 2 and up are reserved for later issues (alert_rules, alerts,
-- schedules): add them as new files, never edit this one.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    max_vus INTEGER,
    max_duration_secs INTEGER,
    max_concurrent_runs INTEGER,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE scenarios (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE UNIQUE INDEX scenarios_name ON scenarios (lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX scenarios_owner ON scenarios (owner_id);

CREATE TABLE scenario_tags (
    scenario_id INTEGER NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (scenario_id, tag)
);
CREATE INDEX scenario_tags_tag ON scenario_tags (tag);

CREATE TABLE scenario_versions (
    scenario_id INTEGER NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    archive BLOB NOT NULL,
    entry TEXT NOT NULL,
    options TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scenario_id, version)
);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scenario_id INTEGER NOT NULL,
    scenario_version INTEGER NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    started_by_kind TEXT NOT NULL CHECK (started_by_kind IN ('user', 'token', 'schedule', 'pipeline')),
    started_by_ref TEXT,
    options TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'starting', 'running', 'finishing', 'passed', 'failed', 'aborted', 'errored')),
    exit_code INTEGER,
    error TEXT,
    workers TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER,
    summary TEXT,
    FOREIGN KEY (scenario_id, scenario_version) REFERENCES scenario_versions (scenario_id, version)
);
CREATE INDEX runs_scenario ON runs (scenario_id, id);
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_user_status ON runs (user_id, status);

CREATE TABLE run_metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    start_ms INTEGER NOT NULL,
    len_ms INTEGER NOT NULL CHECK (len_ms > 0),
    created_at INTEGER NOT NULL,
    snapshot BLOB NOT NULL,
    PRIMARY KEY (run_id, start_ms, len_ms)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    token_id INTEGER REFERENCES api_tokens (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    remote_addr TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
