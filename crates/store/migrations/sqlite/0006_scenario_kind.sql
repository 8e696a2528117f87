-- Stampede control plane, SQLite: the kind of a scenario version (issue 19).
-- Kept in step with ../postgres/0006_scenario_kind.sql.
-- `k6`: a k6 script (the entry is JavaScript); `declarative`: a scenario
-- written as data (the entry is YAML or JSON), run natively without a
-- JavaScript runtime. Versions saved before this migration are scripts.

ALTER TABLE scenario_versions ADD COLUMN kind TEXT NOT NULL DEFAULT 'k6'
    CHECK (kind IN ('k6', 'declarative'));
