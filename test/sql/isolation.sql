-- tenantcore: row level security installers (sql/isolation.sql)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE tc_iso_owner NOLOGIN;
CREATE ROLE tc_iso_other NOLOGIN;
CREATE ROLE tc_iso_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_iso_app');
CREATE SCHEMA iso AUTHORIZATION tc_iso_owner;
GRANT USAGE ON SCHEMA iso TO tc_iso_other, tc_iso_app;
-- owners call the installers, which check ownership themselves
GRANT USAGE ON SCHEMA tenantcore TO tc_iso_owner, tc_iso_other;

-- a compact view of what isolate() did to a table
CREATE FUNCTION pg_temp.state(r regclass) RETURNS TABLE (rls boolean, forced boolean, policy text, def text, tenant_index text, registered text)
LANGUAGE sql AS $$
    SELECT c.relrowsecurity, c.relforcerowsecurity,
           (SELECT string_agg(format('%s %s %s USING %s CHECK %s', p.polname, p.polcmd, p.polpermissive,
                                     pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)), '; ')
              FROM pg_policy p WHERE p.polrelid = r),
           (SELECT string_agg(format('%s=%s', a.attname, pg_get_expr(d.adbin, d.adrelid)), ', ' ORDER BY a.attnum)
              FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = r),
           (SELECT string_agg(regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING ', ''), ', ' ORDER BY 1)
              FROM pg_index i WHERE i.indrelid = r),
           (SELECT format('%s/%s', t.tenant_column, t.source) FROM tenantcore.isolated_tables t WHERE t.rel = r)
      FROM pg_class c WHERE c.oid = r
$$;
CREATE FUNCTION pg_temp.registry() RETURNS TABLE (rel text, tenant_column name, source text)
LANGUAGE sql AS $$ SELECT t.rel::text, t.tenant_column, t.source FROM tenantcore.isolated_tables t WHERE NOT t.builtin ORDER BY 1 $$;

SET ROLE tc_iso_owner;
CREATE TABLE iso.accounts (id int PRIMARY KEY, organization_id uuid NOT NULL, name text);
CREATE TABLE iso.no_tenant (id int);
CREATE TABLE iso.text_tenant (organization_id text);
CREATE TABLE iso."x; drop table y" (id int, "x; drop table y" uuid, organization_id uuid);
CREATE VIEW iso.accounts_v AS SELECT * FROM iso.accounts;
CREATE SEQUENCE iso.seq;
CREATE MATERIALIZED VIEW iso.mv AS SELECT 1 AS x, NULL::uuid AS organization_id;
CREATE TYPE iso.composite AS (organization_id uuid);
CREATE TEMP TABLE temp_accounts (organization_id uuid);
RESET ROLE;
CREATE TABLE iso.others (organization_id uuid);
ALTER TABLE iso.others OWNER TO tc_iso_other;

-- bad input: each is an error with a clear message and changes nothing
SELECT tenantcore.isolate(NULL);
SELECT tenantcore.isolate('iso.accounts', NULL);
SELECT tenantcore.isolate('iso.nosuch');
SELECT tenantcore.isolate(0::regclass);
SELECT tenantcore.isolate(424242::oid::regclass);
SELECT tenantcore.isolate('iso.accounts_v');
SELECT tenantcore.isolate('iso.seq');
SELECT tenantcore.isolate('iso.mv');
SELECT tenantcore.isolate('iso.composite');
SELECT tenantcore.isolate('temp_accounts');
SELECT tenantcore.isolate('iso.no_tenant');
SELECT tenantcore.isolate('iso.accounts', 'tenant_id');
SELECT tenantcore.isolate('iso.text_tenant');
SELECT tenantcore.isolate('iso.accounts', 'name');
SELECT tenantcore.isolate('pg_catalog.pg_class', 'relname');
SELECT tenantcore.isolate('tenantcore.isolated_tables', 'tenant_column');
-- identifier injection: a name that does not parse, a name of no relation,
-- a column of no table
SELECT tenantcore.isolate('iso.accounts; drop table iso.accounts');
SELECT tenantcore.isolate('iso."accounts; drop table iso.accounts"');
SELECT tenantcore.isolate('iso.accounts', 'organization_id; drop table iso.accounts');
SELECT tenantcore.isolate('iso.accounts', 'x; drop table y');
SELECT * FROM pg_temp.registry();
SELECT * FROM pg_temp.state('iso.accounts');

-- a non-owner cannot isolate (nor unisolate) someone else's table
SET ROLE tc_iso_other;
SELECT tenantcore.isolate('iso.accounts');
SELECT tenantcore.isolate_schema('iso');
RESET ROLE;

-- the owner can
SET ROLE tc_iso_owner;
SELECT tenantcore.isolate('iso.accounts');
RESET ROLE;
SELECT * FROM pg_temp.state('iso.accounts');
-- idempotent: the second call changes nothing
SELECT tenantcore.isolate('iso.accounts', 'organization_id');
SELECT * FROM pg_temp.state('iso.accounts');
-- but the tenant column cannot change under it
SELECT tenantcore.isolate('iso.accounts', 'id');
SET ROLE tc_iso_other;
SELECT tenantcore.unisolate('iso.accounts');
-- nor can a non-owner tamper with the registry
DELETE FROM tenantcore.isolated_tables WHERE rel = 'iso.accounts'::regclass;
UPDATE tenantcore.isolated_tables SET tenant_column = 'id' WHERE rel = 'iso.accounts'::regclass;
UPDATE tenantcore.isolated_tables SET rel = 'iso.others' WHERE rel = 'iso.accounts'::regclass;
INSERT INTO tenantcore.isolated_schemas (schema_name, tenant_column) VALUES ('iso', 'organization_id');
INSERT INTO tenantcore.isolated_tables (rel, tenant_column, source) VALUES ('iso.no_tenant', 'id', 'isolate');
RESET ROLE;
SELECT * FROM pg_temp.registry();

-- identifiers that look like injection are quoted, never executed
SET ROLE tc_iso_owner;
SELECT tenantcore.isolate('iso."x; drop table y"', 'x; drop table y');
RESET ROLE;
SELECT * FROM pg_temp.state('iso."x; drop table y"');
SELECT tenantcore.isolate('iso."x; drop table y"', 'organization_id');
SELECT tenantcore.unisolate('iso."x; drop table y"');
SELECT * FROM pg_temp.state('iso."x; drop table y"');

-- an index led by the tenant column is reused, not duplicated
CREATE TABLE iso.indexed (id int, organization_id uuid, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('iso.indexed');
SELECT * FROM pg_temp.state('iso.indexed');
-- a partial index does not count
CREATE TABLE iso.partial (id int, organization_id uuid);
CREATE INDEX ON iso.partial (organization_id) WHERE id > 0;
SELECT tenantcore.isolate('iso.partial');
SELECT * FROM pg_temp.state('iso.partial');
-- a default of the owner's survives unisolate; ours is removed
ALTER TABLE iso.partial ALTER COLUMN organization_id SET DEFAULT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SELECT * FROM pg_temp.state('iso.partial');
SELECT tenantcore.unisolate('iso.partial');
SELECT * FROM pg_temp.state('iso.partial');
-- unisolate keeps RLS on when the owner has policies of their own
CREATE POLICY own ON iso.indexed AS RESTRICTIVE USING (id > 0);
SELECT tenantcore.unisolate('iso.indexed');
SELECT * FROM pg_temp.state('iso.indexed');
SELECT tenantcore.unisolate('iso.indexed');
SELECT tenantcore.unisolate(NULL);

-- partitioned tables: every partition, existing and future, is isolated
SET ROLE tc_iso_owner;
CREATE TABLE iso.events (id int, organization_id uuid NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE iso.events_2025 PARTITION OF iso.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE iso.events_2026 PARTITION OF iso.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')
    PARTITION BY LIST (organization_id);
CREATE TABLE iso.events_2026_a PARTITION OF iso.events_2026 FOR VALUES IN ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT tenantcore.isolate('iso.events');
CREATE TABLE iso.events_2027 PARTITION OF iso.events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
CREATE TABLE iso.events_2026_b PARTITION OF iso.events_2026 FOR VALUES IN ('c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33');
CREATE TABLE iso.events_2028 (id int, organization_id uuid NOT NULL, at date NOT NULL);
ALTER TABLE iso.events ATTACH PARTITION iso.events_2028 FOR VALUES FROM ('2028-01-01') TO ('2029-01-01');
CREATE TABLE iso.events_default PARTITION OF iso.events DEFAULT;
RESET ROLE;
SELECT * FROM pg_temp.registry();
SELECT c.relname, s.rls, s.forced, s.policy IS NOT NULL AS has_policy, s.def, s.registered
  FROM pg_class c, pg_temp.state(c.oid) s
 WHERE c.relnamespace = 'iso'::regnamespace AND c.relname LIKE 'events%' AND c.relkind IN ('r', 'p')
 ORDER BY 1;
-- a partition of an isolated table cannot be unisolated on its own
SELECT tenantcore.unisolate('iso.events_2025');
SELECT tenantcore.unisolate('iso.events_2026_a');
-- a detached partition stays isolated until unisolated itself
ALTER TABLE iso.events DETACH PARTITION iso.events_2025;
SELECT tenantcore.unisolate('iso.events_2025');
SELECT * FROM pg_temp.state('iso.events_2025');
-- isolating a tree fails as a whole if one partition is not isolatable by the caller
CREATE TABLE iso.mixed (organization_id uuid NOT NULL, k int) PARTITION BY LIST (k);
ALTER TABLE iso.mixed OWNER TO tc_iso_owner;
CREATE TABLE iso.mixed_1 PARTITION OF iso.mixed FOR VALUES IN (1);
ALTER TABLE iso.mixed_1 OWNER TO tc_iso_other;
CREATE TABLE iso.mixed_2 PARTITION OF iso.mixed FOR VALUES IN (2);
ALTER TABLE iso.mixed_2 OWNER TO tc_iso_owner;
SET ROLE tc_iso_owner;
SELECT tenantcore.isolate('iso.mixed');
RESET ROLE;
SELECT c.relname, s.rls, s.policy IS NOT NULL AS has_policy, s.def, s.registered
  FROM pg_class c, pg_temp.state(c.oid) s
 WHERE c.relnamespace = 'iso'::regnamespace AND c.relname LIKE 'mixed%' AND c.relkind IN ('r', 'p')
 ORDER BY 1;
-- unisolate of the partitioned table releases the whole tree
SELECT tenantcore.unisolate('iso.events');
SELECT * FROM pg_temp.registry();
SELECT count(*) AS policies_left FROM pg_policy WHERE polrelid::regclass::text LIKE 'iso.events%';
SELECT tenantcore.isolate('iso.events');

-- renaming the tenant column: the registry follows, partitions can still be created
ALTER TABLE iso.events RENAME COLUMN organization_id TO org;
CREATE TABLE iso.events_2030 PARTITION OF iso.events FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
SELECT * FROM pg_temp.registry();
SELECT * FROM pg_temp.state('iso.events_2030');
SELECT severity, object, problem FROM tenantcore.lint() WHERE object LIKE 'iso.events%' ORDER BY 1, 2, 3;
ALTER TABLE iso.events RENAME COLUMN org TO organization_id;

-- dropped tables are forgotten
DROP TABLE iso.events_2027;
SELECT * FROM pg_temp.registry();
DROP TABLE iso.events;

-- isolate_schema
SELECT tenantcore.isolate_schema(NULL);
SELECT tenantcore.isolate_schema('iso', NULL);
SELECT tenantcore.isolate_schema('nosuch');
SELECT tenantcore.isolate_schema('pg_catalog');
SELECT tenantcore.isolate_schema('information_schema');
SELECT tenantcore.isolate_schema('tenantcore');
SELECT tenantcore.isolate_schema('pg_toast');
SELECT tenantcore.isolate_schema('"iso; drop schema iso"');
CREATE SCHEMA app AUTHORIZATION tc_iso_owner;
GRANT USAGE, CREATE ON SCHEMA app TO tc_iso_app;
SET ROLE tc_iso_owner;
CREATE TABLE app.customers (id int, organization_id uuid);
CREATE TABLE app.settings (key text, value text);
CREATE TABLE app."Weird ""name""" (organization_id uuid);
-- isolated on another column before: isolate_schema leaves it alone
CREATE TABLE app.explicit (tenant uuid, organization_id uuid);
SELECT tenantcore.isolate('app.explicit', 'tenant');
SELECT * FROM tenantcore.isolate_schema('app') ORDER BY 1;
-- idempotent
SELECT * FROM tenantcore.isolate_schema('app') ORDER BY 1;
-- tables created later are isolated by the event trigger, also when created
-- by a role that only has CREATE on the schema
CREATE TABLE app.orders (id int, organization_id uuid) PARTITION BY HASH (id);
CREATE TABLE app.orders_0 PARTITION OF app.orders FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE app.copy AS SELECT * FROM app.customers;
SELECT * INTO app.selected FROM app.customers;
CREATE TABLE app.later_no_tenant (id int);
RESET ROLE;
SET ROLE tc_iso_app;
CREATE TABLE app.by_app (organization_id uuid, note text);
-- a tenant-looking column of the wrong type cannot be created in an isolated schema
CREATE TABLE app.wrong (organization_id text);
-- a table that gets the tenant column later is isolated then
CREATE TABLE app.grows (id int);
ALTER TABLE app.grows ADD COLUMN organization_id uuid;
RESET ROLE;
SELECT * FROM pg_temp.registry();
SELECT * FROM pg_temp.state('app.by_app');
-- a renamed schema stays isolated
ALTER SCHEMA app RENAME TO app_renamed;
SELECT schema_name, tenant_column FROM tenantcore.isolated_schemas;
CREATE TABLE app_renamed.after_rename (organization_id uuid);
SELECT * FROM pg_temp.state('app_renamed.after_rename');
ALTER SCHEMA app_renamed RENAME TO app;
SELECT schema_name, tenant_column FROM tenantcore.isolated_schemas;
-- a non-owner cannot stop it
SET ROLE tc_iso_app;
SELECT tenantcore.unisolate_schema('app');
SELECT tenantcore.unisolate('app.customers');
RESET ROLE;
SELECT tenantcore.unisolate_schema(NULL);
SELECT tenantcore.unisolate_schema('public');
-- another tenant column for the schema: tables isolated on the first are left alone,
-- a table whose column of that name is not a uuid fails the whole call
SELECT * FROM tenantcore.isolate_schema('app', 'id');
SELECT schema_name, tenant_column FROM tenantcore.isolated_schemas;
-- unisolate_schema releases what isolate_schema isolated, and forgets the schema
SELECT tenantcore.unisolate_schema('app');
SELECT * FROM pg_temp.registry();
SELECT count(*) FROM tenantcore.isolated_schemas;
CREATE TABLE app.after (organization_id uuid);
SELECT * FROM pg_temp.state('app.after');
-- dropping an isolated schema forgets it
SELECT count(*) FROM tenantcore.isolate_schema('app');
SET client_min_messages = warning;
DROP SCHEMA app CASCADE;
RESET client_min_messages;
SELECT count(*) AS schemas, (SELECT count(*) FROM tenantcore.isolated_tables WHERE NOT builtin) AS tables FROM tenantcore.isolated_schemas;

SET client_min_messages = warning;
DROP SCHEMA iso CASCADE;
RESET client_min_messages;
DROP OWNED BY tc_iso_owner, tc_iso_other, tc_iso_app;
DROP ROLE tc_iso_owner, tc_iso_other, tc_iso_app;
