-- sql/schema/citus.sql -- what tenantcore keeps while a schema moves onto a Citus cluster: what a fresh
-- install creates that cannot be re-run (doc/design.md, "Source layout").  Changes go to sql/updates/ as well.

-- Foreign keys that distribute() and distribute_reference() took off a table
-- that is not on the cluster yet, and put back once it is (0.8.0).  Citus
-- refuses to distribute a table that a plain local table references, and
-- turns a local table that references a new reference table into a "Citus
-- local table" by recreating it under a new oid, which every registry of
-- tenantcore (isolated, audited, protected tables) would lose.  Written and
-- read only by those functions (superusers).
CREATE TABLE @extschema@.citus_pending_foreign_keys (
    conrelid   regclass    NOT NULL,
    conname    name        NOT NULL,
    confrelid  regclass    NOT NULL,
    definition text        NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conrelid, conname)
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.citus_pending_foreign_keys', '');
