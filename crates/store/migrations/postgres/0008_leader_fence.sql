-- Stampede control plane: the fencing token of the leader among several
-- servers (issue 15). One row: the highest token a leader has announced.
-- A leader's exclusive writes (run state, merged intervals, schedule fires)
-- commit only while their token is still this one, so a stale leader that
-- lost its lease cannot write after the next one took over.

CREATE TABLE leader_fence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token BIGINT NOT NULL
);
INSERT INTO leader_fence (id, token) VALUES (1, 0);
