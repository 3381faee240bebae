-- sql/schema/isolation.sql -- the isolation registries: what a fresh install creates that cannot be
-- re-run (doc/design.md, "Source layout").  Changes go to sql/updates/ as well.

-- Which tables are isolated, and on which column.  Owners register their own
-- tables (the policies in sql/isolation.sql); tenantcore.lint() checks that the catalog agrees.
CREATE TABLE @extschema@.isolated_tables (
    rel           regclass    PRIMARY KEY,
    tenant_column name        NOT NULL,
    source        text        NOT NULL CHECK (source IN ('isolate', 'schema', 'partition')),
    isolated_at   timestamptz NOT NULL DEFAULT now(),
    -- rows the install script writes into the registries are written again by
    -- CREATE EXTENSION when a dump is restored: they are marked builtin and not
    -- dumped (as subject_tables does)
    builtin       boolean     NOT NULL DEFAULT false
);

-- Schemas are kept by name: namespace OIDs change in pg_upgrade, and a
-- regnamespace column makes pg_upgrade refuse the cluster.
CREATE TABLE @extschema@.isolated_schemas (
    schema_name   name         PRIMARY KEY,
    tenant_column name         NOT NULL,
    isolated_at   timestamptz  NOT NULL DEFAULT now()
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.isolated_tables', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.isolated_schemas', '');

ALTER TABLE @extschema@.isolated_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.isolated_schemas ENABLE ROW LEVEL SECURITY;
