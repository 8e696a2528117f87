-- Stampede control plane: the stored view of an ended run (issue 16).
-- What the run page reads (its state, endpoint table, summary and one chart
-- point per interval), computed once from the run's intervals when it has
-- ended, so that its page is served from one row instead of folding an
-- hour of intervals. `format` names the shape of `body` (zstd JSON); a
-- view of another format is computed again.

CREATE TABLE run_views (
    run_id BIGINT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    format BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    body BYTEA NOT NULL
);
