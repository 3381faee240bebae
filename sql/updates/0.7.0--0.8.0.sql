-- sql/updates/0.7.0--0.8.0.sql -- the steps of 0.7.0 -> 0.8.0 that cannot be re-run,
-- run before the re-runnable sources (doc/design.md, "Source layout").
--
-- 0.8.0 (audit and protected columns on Citus distributed tables): besides
-- the table below, only re-runnable objects (functions, the registries'
-- policies without subqueries), in the sources.

-- foreign keys held back while tables move onto a Citus cluster
-- (sql/schema/citus.sql has the same table for fresh installs)
CREATE TABLE @extschema@.citus_pending_foreign_keys (
    conrelid   regclass    NOT NULL,
    conname    name        NOT NULL,
    confrelid  regclass    NOT NULL,
    definition text        NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conrelid, conname)
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.citus_pending_foreign_keys', '');
