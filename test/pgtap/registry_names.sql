-- tenantcore pgTAP: the names the registries keep beside the oids (0.8.0).
-- audited_tables.rel_name and protected_columns.rel_name are set when a table
-- is registered and follow ALTER TABLE ... RENAME, ALTER TABLE ... SET SCHEMA
-- and ALTER SCHEMA ... RENAME (event trigger tenantcore_registry_names); on
-- a Citus worker tenantcore looks tables up by them (doc/citus.md, "Audit").
-- A table dropped leaves no row behind; quoting is format('%I.%I')'s.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(10);

CREATE SCHEMA regn;
CREATE TABLE regn.items (organization_id uuid NOT NULL, id int, secret text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('regn.items');
SELECT tenantcore.audit('regn.items');
SELECT tenantcore.protect('regn.items', 'secret');

CREATE FUNCTION pg_temp.names() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce((SELECT string_agg(rel_name, ',') FROM tenantcore.audited_tables WHERE NOT builtin), '-')
           || '|' || coalesce((SELECT string_agg(rel_name, ',') FROM tenantcore.protected_columns), '-')
$$;

SELECT is(pg_temp.names(), 'regn.items|regn.items', 'audit() and protect() record the name');
SELECT is((SELECT count(*) FROM tenantcore.audited_tables WHERE rel_name IS NULL), 0::bigint,
          'every row of the registry of audited tables has a name (the core tables too)');

ALTER TABLE regn.items RENAME TO things;
SELECT is(pg_temp.names(), 'regn.things|regn.things', 'ALTER TABLE ... RENAME: the names follow');

CREATE SCHEMA "Odd Schema";
ALTER TABLE regn.things SET SCHEMA "Odd Schema";
SELECT is(pg_temp.names(), '"Odd Schema".things|"Odd Schema".things', 'ALTER TABLE ... SET SCHEMA: the names follow, quoted as format(''%I.%I'')');

ALTER SCHEMA "Odd Schema" RENAME TO "odd.schema";
SELECT is(pg_temp.names(), '"odd.schema".things|"odd.schema".things', 'ALTER SCHEMA ... RENAME: the names follow');

SELECT is((SELECT rel FROM tenantcore.audited_tables WHERE NOT builtin), '"odd.schema".things'::regclass,
          'the oid is unchanged');
SELECT is((SELECT rel_name FROM tenantcore.audited_tables WHERE rel = '"odd.schema".things'::regclass),
          tenantcore._qualified_name('"odd.schema".things'), '_qualified_name() gives the same text');

-- the writes still go through the C lookups (by oid on a single server)
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
INSERT INTO "odd.schema".things (organization_id, id, secret) VALUES (tenantcore.current_tenant(), 1, 's');
SELECT is((SELECT table_name FROM tenantcore.audit_log WHERE operation = 'INSERT' AND table_name LIKE '%things'),
          '"odd.schema".things', 'the renamed table is still audited');

SELECT lives_ok($$ SELECT tenantcore.unaudit('"odd.schema".things') $$, 'unaudit() of the renamed table');
DROP TABLE "odd.schema".things CASCADE;  -- and its decrypted view (left in regn)
SELECT is(pg_temp.names(), '-|-', 'a dropped table leaves no row in either registry');

SELECT * FROM finish();
ROLLBACK;
