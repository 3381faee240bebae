-- tenantcore pgTAP (autocommit): the tenant of one transaction never reaches
-- the next transaction on the same connection, as behind PgBouncer in
-- transaction pooling mode.  Runs in database postgres and cleans up.
SET client_min_messages = warning;
SELECT NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgtap') AS tc_drop_pgtap,
       NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'tenantcore') AS tc_drop_tenantcore,
       NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgcrypto') AS tc_drop_pgcrypto \gset
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS tc_pool CASCADE;
DROP ROLE IF EXISTS tc_pool_app;
DROP ROLE IF EXISTS tc_pool_owner;

CREATE ROLE tc_pool_owner NOLOGIN;
CREATE ROLE tc_pool_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_pool_app');
CREATE SCHEMA tc_pool AUTHORIZATION tc_pool_owner;
GRANT USAGE ON SCHEMA tc_pool TO tc_pool_app;
CREATE TABLE tc_pool.items (id int, organization_id uuid NOT NULL);
ALTER TABLE tc_pool.items OWNER TO tc_pool_owner;
SELECT tenantcore.isolate('tc_pool.items');
GRANT SELECT, INSERT ON tc_pool.items TO tc_pool_app;
INSERT INTO tc_pool.items VALUES (1, '11111111-1111-1111-1111-111111111111'), (2, '22222222-2222-2222-2222-222222222222');
RESET client_min_messages;

SELECT plan(16);
SET ROLE tc_pool_app;

-- client 1: a transaction for tenant A, committed
BEGIN;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
SELECT results_eq('SELECT id FROM tc_pool.items', 'VALUES (1)', 'client 1 (tenant A) sees its row');
INSERT INTO tc_pool.items (id) VALUES (3);
COMMIT;
-- client 2 gets the same server connection
BEGIN;
SELECT is(tenantcore.current_tenant(), NULL, 'the next transaction starts with no tenant');
SELECT is_empty('SELECT id FROM tc_pool.items', 'and sees no row');
SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222');
SELECT results_eq('SELECT id FROM tc_pool.items', 'VALUES (2)', 'client 2 (tenant B) sees only its row');
COMMIT;

-- a rolled-back transaction leaves no tenant either
BEGIN;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
ROLLBACK;
SELECT is(tenantcore.current_tenant(), NULL, 'no tenant after a rollback');
-- nor a transaction that failed
-- (the division by zero below is the intended failure; psql prints it)
\set ON_ERROR_STOP 0
BEGIN;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
SELECT 1/0 AS intended_failure;
ROLLBACK;
\set ON_ERROR_STOP 1
SELECT is(tenantcore.current_tenant(), NULL, 'no tenant after a failed transaction');

-- savepoints inside a pooled transaction
BEGIN;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
SAVEPOINT sp;
SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222');
SELECT results_eq('SELECT id FROM tc_pool.items', 'VALUES (2)', 'after a switch inside a savepoint: tenant B');
ROLLBACK TO SAVEPOINT sp;
SELECT results_eq('SELECT id FROM tc_pool.items ORDER BY id', 'VALUES (1), (3)',
                  'rolling back to the savepoint restores tenant A');
COMMIT;
SELECT is(tenantcore.current_tenant(), NULL, 'and the commit ends it');

-- outside a transaction block the tenant lasts one statement only (with a WARNING)
SET client_min_messages = error;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
RESET client_min_messages;
SELECT is(tenantcore.current_tenant(), NULL, 'set_tenant() in autocommit mode does not outlive its statement');

-- a session-wide tenant (is_local => false) is what pooling must not use:
-- it survives commits until the pooler's reset query
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111', is_local => false);
BEGIN;
SELECT is(tenantcore.current_tenant(), '11111111-1111-1111-1111-111111111111'::uuid,
          'a session tenant is still there in the next transaction');
SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222');
SELECT is(tenantcore.current_tenant(), '22222222-2222-2222-2222-222222222222'::uuid, 'a local tenant shadows it');
COMMIT;
SELECT is(tenantcore.current_tenant(), '11111111-1111-1111-1111-111111111111'::uuid, 'until the commit');
RESET ALL;
SELECT is(tenantcore.current_tenant(), NULL, 'RESET ALL (part of DISCARD ALL) removes the session tenant');
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111', is_local => false);
SELECT tenantcore.clear_tenant();
SELECT is(tenantcore.current_tenant(), NULL, 'clear_tenant() removes it too');

RESET ROLE;
SELECT results_eq('SELECT id, organization_id::text FROM tc_pool.items ORDER BY id',
                  $$VALUES (1, '11111111-1111-1111-1111-111111111111'), (2, '22222222-2222-2222-2222-222222222222'),
                           (3, '11111111-1111-1111-1111-111111111111')$$,
                  'the row client 1 inserted belongs to tenant A');

SELECT * FROM finish();

-- clean up
SET client_min_messages = warning;
DROP SCHEMA tc_pool CASCADE;
DROP OWNED BY tc_pool_app, tc_pool_owner;
DROP ROLE tc_pool_app, tc_pool_owner;
\if :tc_drop_tenantcore
DROP EXTENSION tenantcore;
\endif
\if :tc_drop_pgcrypto
DROP EXTENSION pgcrypto;
\endif
\if :tc_drop_pgtap
DROP EXTENSION pgtap;
\endif
