-- tenantcore pgTAP: the names the registries keep beside the oids (0.8.0).
-- audited_tables.rel_name and protected_columns.rel_name are set when a table
-- is registered and follow ALTER TABLE ... RENAME, ALTER TABLE ... SET SCHEMA
-- and ALTER SCHEMA ... RENAME, also ALTER INDEX ... RENAME of a table (event
-- trigger tenantcore_registry_names); a role cannot register its table under
-- another's name (and so make the event triggers rename or forget another
-- table's rows: red-team review of 0.8.0); on
-- a Citus worker tenantcore looks tables up by them (doc/citus.md, "Audit").
-- A table dropped leaves no row behind; quoting is format('%I.%I')'s.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(14);

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

-- ALTER INDEX (or SEQUENCE, VIEW) ... RENAME renames a table as well
CREATE TABLE regn.other (organization_id uuid NOT NULL, id int, secret text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.protect('regn.other', 'secret');
ALTER INDEX regn.other RENAME TO other2;
SELECT is((SELECT rel_name FROM tenantcore.protected_columns WHERE rel = 'regn.other2'::regclass), 'regn.other2',
          'ALTER INDEX ... RENAME of a table: the name follows');

-- a table owner (not a superuser) registering its own table under the
-- protected table's name gets its own table's name
CREATE ROLE regn_owner NOLOGIN NOSUPERUSER;
SELECT tenantcore.grant_app_role('regn_owner');
CREATE SCHEMA regn_own AUTHORIZATION regn_owner;
SET LOCAL ROLE regn_owner;
CREATE TABLE regn_own.att (organization_id uuid, x text);
INSERT INTO tenantcore.protected_columns (rel, column_name, encrypted_column, tenant_column, view_name, rel_name)
VALUES ('regn_own.att', 'x', 'x_encrypted', 'organization_id', 'att_v', 'regn.other2');
RESET ROLE;
SELECT is((SELECT rel_name FROM tenantcore.protected_columns WHERE rel = 'regn_own.att'::regclass), 'regn_own.att',
          'a row registered by a table owner gets its table''s name, not the one it gave');
SET LOCAL ROLE regn_owner;
ALTER TABLE regn_own.att RENAME TO zzz;
DROP TABLE regn_own.zzz;
RESET ROLE;
SELECT is((SELECT rel_name FROM tenantcore.protected_columns WHERE rel = 'regn.other2'::regclass), 'regn.other2',
          'renaming and dropping that table leave the protected table''s row as it was');
ALTER TABLE regn.other2 DROP COLUMN secret_encrypted CASCADE;
SELECT is((SELECT count(*) FROM tenantcore.protected_columns WHERE rel = 'regn.other2'::regclass), 0::bigint,
          'dropping the encrypted column forgets the protected column');

SELECT * FROM finish();
ROLLBACK;
