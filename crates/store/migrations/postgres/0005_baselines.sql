-- Stampede control plane, PostgreSQL: a scenario's baseline run (issue 16),
-- the run that comparisons default to. Kept in step with
-- ../sqlite/0005_baselines.sql: same table and constraints; only the types
-- differ.

CREATE TABLE scenario_baselines (
    scenario_id BIGINT PRIMARY KEY REFERENCES scenarios (id) ON DELETE CASCADE,
    run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    set_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    set_at BIGINT NOT NULL
);
CREATE INDEX scenario_baselines_run ON scenario_baselines (run_id);
