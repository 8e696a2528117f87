-- Stampede control plane, SQLite: the alert evaluator's state per
-- (rule, subject), so that a new leader (or a restarted server) continues
-- an episode instead of starting its "for" window from zero (issue 17).
-- Kept in step with ../postgres/0011_alert_episodes.sql.
-- `holding_since`: since when the condition holds (ms), while it does;
-- `clear_since`: since when a firing episode's condition fails (ms);
-- `firing`: 1 while the episode's alert fires; `last_fired`: when the
-- rule last fired for the subject (ms; the minimum interval counts from
-- it); `seen_at`: the last evaluation that wrote the row (ms; refreshed
-- every few seconds while the episode holds or fires) — a row older than
-- the takeover grace restarts its window, since nobody watched the
-- condition in between. A deleted rule takes its rows with it.
CREATE TABLE alert_episodes (
    rule_id INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    holding_since INTEGER,
    clear_since INTEGER,
    firing INTEGER NOT NULL CHECK (firing IN (0, 1)),
    last_fired INTEGER,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (rule_id, subject)
);
