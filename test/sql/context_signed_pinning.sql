-- tenantcore: no tenant pinned by a stored setting, in open and signed mode (src/context.c)
-- A tenant or actor stored for a role, a database, a function or the server
-- would put every later session (or call) inside it: refused when stored,
-- ignored with a warning when an older version let one be stored.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
SELECT current_user AS superuser \gset

CREATE ROLE tc_pin_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_pin_app');

-- the application role pinning itself (0.6.0 accepted this)
SET ROLE tc_pin_app;
ALTER ROLE tc_pin_app SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
ALTER ROLE tc_pin_app SET tenantcore.actor_id = 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22';
ALTER ROLE tc_pin_app IN DATABASE :"DBNAME" SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
-- a function SET clause would pin a tenant for its calls
CREATE FUNCTION pg_temp.pinned() RETURNS uuid LANGUAGE sql
    SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS 'SELECT tenantcore.current_tenant()';
RESET ROLE;

-- nor may a superuser store one, at any level
ALTER ROLE tc_pin_app SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
ALTER ROLE tc_pin_app IN DATABASE :"DBNAME" SET tenantcore.actor_id = 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22';
ALTER ROLE ALL SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
ALTER DATABASE :"DBNAME" SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
CREATE FUNCTION pg_temp.pinned() RETURNS uuid LANGUAGE sql AS 'SELECT tenantcore.current_tenant()';
ALTER FUNCTION pg_temp.pinned() SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
-- a bad value still gets the uuid error first
ALTER ROLE tc_pin_app SET tenantcore.tenant_id = 'nope';
-- nothing was stored
SELECT count(*) AS stored FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%tenantcore.%_id%';
SELECT proconfig FROM pg_proc WHERE oid = 'pg_temp.pinned'::regproc;
-- an empty value pins nothing and stays allowed; so do the other settings
ALTER ROLE tc_pin_app SET tenantcore.tenant_id = '';
ALTER ROLE tc_pin_app RESET tenantcore.tenant_id;
ALTER FUNCTION pg_temp.pinned() SET tenantcore.missing_tenant = 'deny';
-- per transaction and per session the context still works as before
BEGIN;
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SET LOCAL tenantcore.actor_id = 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22';
SELECT tenantcore.current_tenant(), tenantcore.current_actor();
COMMIT;

-- entries stored before this check (by 0.6.0), here written into the catalog
-- directly: a login ignores them with a warning and starts without a tenant
INSERT INTO pg_db_role_setting (setdatabase, setrole, setconfig)
VALUES (0, 'tc_pin_app'::regrole, '{tenantcore.tenant_id=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'),
       ((SELECT oid FROM pg_database WHERE datname = current_database()), 'tc_pin_app'::regrole,
        '{tenantcore.actor_id=b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22}');
\c - tc_pin_app
SHOW tenantcore.tenant_id;
SHOW tenantcore.actor_id;
SELECT tenantcore.current_tenant() IS NULL AS no_tenant, tenantcore.current_actor() IS NULL AS no_actor;
-- RESET ALL / DISCARD ALL do not bring them back
RESET ALL;
DISCARD ALL;
SELECT tenantcore.current_tenant() IS NULL AS no_tenant, tenantcore.current_actor() IS NULL AS no_actor;
\c - :superuser
-- the hint's remedy works
ALTER ROLE tc_pin_app RESET tenantcore.tenant_id;
ALTER ROLE tc_pin_app IN DATABASE :"DBNAME" RESET tenantcore.actor_id;
SELECT count(*) AS stored FROM pg_db_role_setting WHERE setrole = 'tc_pin_app'::regrole;

DROP OWNED BY tc_pin_app;
DROP ROLE tc_pin_app;
