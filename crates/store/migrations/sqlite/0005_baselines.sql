-- Stampede control plane, SQLite: a scenario's baseline run (issue 16), the
-- run that comparisons default to. Kept in step with
-- ../postgres/0005_baselines.sql. One row per scenario at most; deleting the
-- scenario or the run removes it.

CREATE TABLE scenario_baselines (
    scenario_id INTEGER PRIMARY KEY REFERENCES scenarios (id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    set_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    set_at INTEGER NOT NULL
);
CREATE INDEX scenario_baselines_run ON scenario_baselines (run_id);
