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

-- the registries keep the qualified name of each table beside its oid: on a
-- Citus cluster the registries are reference tables, whose copy on a node
-- added later holds the coordinator's oids (Citus copies them as they are);
-- tenantcore's lookups on the workers go by name
ALTER TABLE @extschema@.audited_tables ADD COLUMN rel_name text;
ALTER TABLE @extschema@.protected_columns ADD COLUMN rel_name text;
UPDATE @extschema@.audited_tables t SET rel_name = pg_catalog.format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t.rel;
UPDATE @extschema@.protected_columns p SET rel_name = pg_catalog.format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p.rel;

-- the audit entries of an organization belong to the organization itself
-- (its tenant column is id, as isolated_tables has it), not to whichever
-- tenant was current: on a Citus cluster an entry is placed with its
-- tenant, and an organization is created with none (sql/core.sql installs
-- the trigger with 'tenant:id')
UPDATE @extschema@.audited_tables SET tenant_column = 'id'
 WHERE rel = '@extschema@.organizations'::regclass AND builtin AND tenant_column IS NULL;
