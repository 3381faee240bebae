-- tenantcore pgTAP (autocommit, adversarial suite): the tenant across
-- transaction ends on one connection, as an application role: WITH HOLD
-- cursors keep only the rows of the tenant they were opened for, prepared
-- statements follow the tenant of the transaction that executes them,
-- DISCARD ALL removes a session tenant, a tenant set in a released savepoint
-- of a rolled-back transaction is gone.  Runs in database postgres and
-- cleans up.
SET client_min_messages = warning;
SELECT NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgtap') AS tc_drop_pgtap,
       NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'tenantcore') AS tc_drop_tenantcore,
       NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgcrypto') AS tc_drop_pgcrypto \gset
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS atk_p CASCADE;
DO $$BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'atk_p_app') THEN DROP OWNED BY atk_p_app; END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'atk_p_owner') THEN DROP OWNED BY atk_p_owner; END IF;
END$$;
DROP ROLE IF EXISTS atk_p_app;
DROP ROLE IF EXISTS atk_p_owner;
CREATE ROLE atk_p_owner NOLOGIN;
CREATE ROLE atk_p_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('atk_p_app');
CREATE SCHEMA atk_p AUTHORIZATION atk_p_owner;
GRANT USAGE ON SCHEMA atk_p TO atk_p_app;
CREATE TABLE atk_p.items (id int, organization_id uuid NOT NULL);
ALTER TABLE atk_p.items OWNER TO atk_p_owner;
SELECT tenantcore.isolate('atk_p.items');
GRANT SELECT, INSERT ON atk_p.items TO atk_p_app;
INSERT INTO atk_p.items SELECT g, CASE WHEN g % 2 = 0 THEN 'aaaaaaaa-0000-4000-8000-000000000001'
                                       ELSE 'bbbbbbbb-0000-4000-8000-000000000002' END::uuid FROM generate_series(1, 10) g;
RESET client_min_messages;

-- 12 tests by pgTAP, then 3 reported by psql after DISCARD ALL
SELECT plan(15);
SET ROLE atk_p_app;

-- 1-3: a WITH HOLD cursor opened under tenant A, fetched after COMMIT and under tenant B
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
DECLARE atk_held CURSOR WITH HOLD FOR SELECT id FROM atk_p.items ORDER BY id;
COMMIT;
SELECT is(tenantcore.current_tenant(), NULL, 'after COMMIT the tenant is gone');
BEGIN;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
CREATE TEMP TABLE atk_fetched (id int);
-- plpgsql cannot FETCH a portal it did not open by name as a table; fetch it with a loop
DO $$DECLARE c refcursor := 'atk_held'; v int; BEGIN LOOP FETCH c INTO v; EXIT WHEN NOT FOUND; INSERT INTO atk_fetched VALUES (v); END LOOP; END$$;
SELECT results_eq('SELECT id FROM atk_fetched ORDER BY id', 'VALUES (2), (4), (6), (8), (10)',
                  'the held cursor, fetched under tenant B, returns exactly A''s rows it was materialized with, none of B''s');
COMMIT;
CLOSE atk_held;
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
DECLARE atk_held2 CURSOR WITH HOLD FOR SELECT id FROM atk_p.items WHERE id > 6 ORDER BY id;
COMMIT;
BEGIN;
DELETE FROM atk_fetched;
DO $$DECLARE c refcursor := 'atk_held2'; v int; BEGIN LOOP FETCH c INTO v; EXIT WHEN NOT FOUND; INSERT INTO atk_fetched VALUES (v); END LOOP; END$$;
SELECT results_eq('SELECT id FROM atk_fetched ORDER BY id', 'VALUES (8), (10)',
                  'fetched with no tenant at all: still only A''s rows');
COMMIT;
CLOSE atk_held2;

-- 4-7: a prepared statement executed in later transactions of other tenants
PREPARE atk_count AS SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM atk_p.items;
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
EXECUTE atk_count \gset a_
COMMIT;
BEGIN;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
EXECUTE atk_count \gset b_
COMMIT;
EXECUTE atk_count \gset none_
SET plan_cache_mode = force_generic_plan;
BEGIN;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
EXECUTE atk_count \gset bg_
COMMIT;
RESET plan_cache_mode;
DEALLOCATE atk_count;
SELECT is(:'a_ids'::text, '{2,4,6,8,10}', 'prepared statement in a transaction of tenant A: A''s rows');
SELECT is(:'b_ids'::text, '{1,3,5,7,9}', 'the same statement in a later transaction of tenant B: B''s rows');
SELECT is(:'none_ids'::text, '{}', 'the same statement after both commits: no row');
SELECT is(:'bg_ids'::text, '{1,3,5,7,9}', 'its generic plan under tenant B: B''s rows');

-- 8-10: a tenant set in a released savepoint of a rolled-back transaction
BEGIN;
SAVEPOINT s;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001', is_local => false);
RELEASE SAVEPOINT s;
ROLLBACK;
SELECT is(tenantcore.current_tenant(), NULL, 'a session tenant set in a released savepoint of a rolled-back transaction is gone');
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SAVEPOINT s;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
RELEASE SAVEPOINT s;
COMMIT;
SELECT is(tenantcore.current_tenant(), NULL, 'a local tenant set in a released savepoint ends with the COMMIT');
BEGIN;
SELECT is_empty('SELECT * FROM atk_p.items', 'the next transaction sees no row');
COMMIT;

-- 11-13: a session tenant and DISCARD ALL (what poolers run between
-- clients).  DISCARD ALL also drops pgTAP's temporary tables, so these three
-- results are taken into psql variables and reported as TAP lines by psql.
SELECT set_config('tenantcore.tenant_id', 'aaaaaaaa-0000-4000-8000-000000000001', false);
BEGIN;
SELECT results_eq('SELECT count(*) FROM atk_p.items', 'VALUES (5::bigint)', 'a session tenant set with set_config(..., false) outlives COMMIT');
COMMIT;
SELECT is(tenantcore.current_tenant(), 'aaaaaaaa-0000-4000-8000-000000000001'::uuid, 'before DISCARD ALL the session tenant is set');
DISCARD ALL;
SELECT tenantcore.current_tenant() IS NULL AS discard_tenant_gone, current_user = 'postgres' AS discard_role_reset \gset
SET ROLE atk_p_app;
SELECT count(*) = 0 AS discard_no_rows FROM atk_p.items \gset
\if :discard_tenant_gone
\echo 'ok 13 - DISCARD ALL removes the session tenant'
\else
\echo 'not ok 13 - DISCARD ALL removes the session tenant'
\endif
\if :discard_role_reset
\echo 'ok 14 - DISCARD ALL also resets the role (the next client starts as the login role)'
\else
\echo 'not ok 14 - DISCARD ALL also resets the role (the next client starts as the login role)'
\endif
\if :discard_no_rows
\echo 'ok 15 - after DISCARD ALL the application role sees no row'
\else
\echo 'not ok 15 - after DISCARD ALL the application role sees no row'
\endif

-- clean up
RESET ROLE;
SET client_min_messages = warning;
DROP SCHEMA atk_p CASCADE;
DROP OWNED BY atk_p_app, atk_p_owner;
DROP ROLE atk_p_app;
DROP ROLE atk_p_owner;
\if :tc_drop_tenantcore
DROP EXTENSION tenantcore;
\endif
\if :tc_drop_pgcrypto
DROP EXTENSION pgcrypto;
\endif
\if :tc_drop_pgtap
DROP EXTENSION pgtap;
\endif
