-- Stampede control plane: pipelines run by the server (issue 18). Kept in
-- step with ../postgres/0004_pipelines.sql: same tables, columns and
-- constraints; only the types differ. A pipeline's stage runs are rows of
-- `runs` with started_by_kind = 'pipeline' and started_by_ref = its id.

CREATE TABLE pipelines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'aborted', 'errored')),
    spec TEXT NOT NULL,
    request TEXT NOT NULL,
    stages TEXT NOT NULL,
    report TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX pipelines_status ON pipelines (status, id);
CREATE INDEX runs_pipeline ON runs (started_by_ref, id) WHERE started_by_kind = 'pipeline';
