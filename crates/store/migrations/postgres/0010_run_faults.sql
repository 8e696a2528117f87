-- Stampede control plane, PostgreSQL: the faults of a distributed run (issue
-- 15): a worker lost while running a segment, who resumed it and from which
-- second, or that none did (the run is degraded). Kept in step with
-- ../sqlite/0010_run_faults.sql. Recorded by the leader as it sees them,
-- so a leader taking the run over finds them; one row per (segment, lost
-- worker, first missed second), so a replay updates instead of duplicating.
-- `segment` is '' for a run that is one segment.

CREATE TABLE run_faults (
    run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    segment TEXT NOT NULL,
    worker TEXT NOT NULL,
    from_s BIGINT NOT NULL CHECK (from_s >= 0),
    to_s BIGINT,
    resumed_by TEXT,
    PRIMARY KEY (run_id, segment, worker, from_s)
);
