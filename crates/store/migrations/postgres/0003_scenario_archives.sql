-- Stampede control plane, PostgreSQL: k6 archives per scenario version (the
-- tar `stampede submit` uploads: entry script, local and remote modules,
-- open() files, binary ones included). Kept in step with
-- ../sqlite/0003_scenario_archives.sql.
--
-- `archive` keeps the editable text (the entry script) for the editor;
-- `k6_archive`, when set, is what a run of that version executes.

ALTER TABLE scenario_versions ADD COLUMN k6_archive BYTEA;
