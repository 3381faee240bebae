-- tenantcore: lint() and grant_app_role() (sql/lint.sql, sql/isolation.sql)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE tc_lint_owner NOLOGIN;
CREATE ROLE tc_lint_login LOGIN;
CREATE ROLE tc_lint_bypass NOLOGIN BYPASSRLS;
CREATE ROLE tc_lint_super NOLOGIN SUPERUSER;
CREATE ROLE tc_lint_app LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT USAGE ON SCHEMA tenantcore TO tc_lint_owner, tc_lint_login;
CREATE SCHEMA lnt AUTHORIZATION tc_lint_owner;
GRANT USAGE, CREATE ON SCHEMA lnt TO tc_lint_login;

-- lint rows about this test's objects only (the database is shared by the tests)
CREATE VIEW pg_temp.my_lint AS
    SELECT * FROM tenantcore.lint() l
     WHERE l.object LIKE 'lnt.%' OR l.object LIKE 'tc\_lint\_%';

-- a clean start: nothing to report
SELECT * FROM pg_temp.my_lint;

SET ROLE tc_lint_owner;
-- a tenant-looking table nobody isolated (each spelling lint knows)
CREATE TABLE lnt.plain (id int, organization_id uuid);
CREATE TABLE lnt.tenant_t (id int, "TenantId" uuid);
CREATE TABLE lnt.org_t (id int, org_id uuid);
-- a table with a policy of its own is not reported as unprotected
CREATE TABLE lnt.own_policy (id int, tenant_id uuid);
ALTER TABLE lnt.own_policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON lnt.own_policy USING (tenant_id = tenantcore.current_tenant());
-- isolated, then weakened in each way
CREATE TABLE lnt.not_forced (id int, organization_id uuid);
CREATE TABLE lnt.disabled (id int, organization_id uuid);
CREATE TABLE lnt.changed (id int, organization_id uuid);
CREATE TABLE lnt.extra_policy (id int, organization_id uuid);
CREATE TABLE lnt.restrictive_ok (id int, organization_id uuid);
CREATE TABLE lnt.good (id int, organization_id uuid);
SELECT tenantcore.isolate(r) FROM unnest('{lnt.not_forced, lnt.disabled, lnt.changed, lnt.extra_policy, lnt.restrictive_ok, lnt.good}'::regclass[]) r;
ALTER TABLE lnt.not_forced NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lnt.disabled DISABLE ROW LEVEL SECURITY;
ALTER POLICY tenantcore_isolation ON lnt.changed USING (true);
CREATE POLICY admins ON lnt.extra_policy USING (id < 10);
CREATE POLICY only_positive ON lnt.restrictive_ok AS RESTRICTIVE USING (id > 0);
-- views over isolated tables
CREATE VIEW lnt.v_owner AS SELECT * FROM lnt.good;
CREATE VIEW lnt.v_invoker WITH (security_invoker = true) AS SELECT * FROM lnt.good;
CREATE VIEW lnt.v_other AS SELECT * FROM lnt.plain;
CREATE VIEW lnt.v_invoker_1 WITH (security_invoker = 1, check_option = local) AS SELECT * FROM lnt.good;
CREATE VIEW lnt.v_invoker_yes WITH (check_option = cascaded, security_invoker = yes) AS SELECT * FROM lnt.good;
CREATE VIEW lnt.v_invoker_off WITH (security_invoker = off) AS SELECT * FROM lnt.good;
-- a materialized view stores rows: row level security never applies to it
CREATE MATERIALIZED VIEW lnt.mv AS SELECT * FROM lnt.good;
-- SECURITY DEFINER functions with and without a pinned search_path
CREATE FUNCTION lnt.definer_unpinned() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
CREATE FUNCTION lnt.definer_pinned() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS 'SELECT 1';
CREATE FUNCTION lnt.invoker() RETURNS int LANGUAGE sql AS 'SELECT 1';
-- a partitioned isolated table
CREATE TABLE lnt.parted (id int, organization_id uuid) PARTITION BY LIST (id);
CREATE TABLE lnt.parted_1 PARTITION OF lnt.parted FOR VALUES IN (1);
SELECT tenantcore.isolate('lnt.parted');
RESET ROLE;
-- a view over an isolated table, owned by a superuser: shows every tenant
CREATE VIEW lnt.v_super AS SELECT * FROM lnt.good;
-- a partition that escaped the event trigger
ALTER EVENT TRIGGER tenantcore_isolate_new_tables DISABLE;
CREATE TABLE lnt.parted_2 PARTITION OF lnt.parted FOR VALUES IN (2);
ALTER EVENT TRIGGER tenantcore_isolate_new_tables ENABLE;
-- an isolated table owned by a login role
CREATE TABLE lnt.login_owned (id int, organization_id uuid);
ALTER TABLE lnt.login_owned OWNER TO tc_lint_login;
SET ROLE tc_lint_login;
SELECT tenantcore.isolate('lnt.login_owned');
RESET ROLE;

SELECT * FROM pg_temp.my_lint;

-- fixing each hole with the statement lint suggests empties the list
SELECT tenantcore.isolate('lnt.plain');
SELECT tenantcore.isolate('lnt.tenant_t', 'TenantId');
SELECT tenantcore.isolate('lnt.org_t', 'org_id');
ALTER TABLE lnt.not_forced FORCE ROW LEVEL SECURITY;
SELECT tenantcore.isolate('lnt.disabled', 'organization_id');
SELECT tenantcore.isolate('lnt.changed', 'organization_id');
DROP POLICY admins ON lnt.extra_policy;
SELECT tenantcore.isolate('lnt.parted_2', 'organization_id');
ALTER TABLE lnt.login_owned OWNER TO tc_lint_owner;
ALTER VIEW lnt.v_owner SET (security_invoker = true);
ALTER VIEW lnt.v_super SET (security_invoker = on);
ALTER VIEW lnt.v_other SET (security_invoker = true);
ALTER VIEW lnt.v_invoker_off SET (security_invoker = on);
DROP MATERIALIZED VIEW lnt.mv;
ALTER FUNCTION lnt.definer_unpinned() SET search_path = pg_catalog, pg_temp;
ALTER ROLE tc_lint_bypass NOBYPASSRLS;
SELECT * FROM pg_temp.my_lint;

-- settings stored for a role, a database, a role in a database: each is
-- reported (without its value) with the statement that removes it
-- (a tenant and an actor for a role, as 0.6.0 let ALTER ROLE store them: written
-- into the catalog directly, since the settings' check now refuses them)
INSERT INTO pg_db_role_setting (setdatabase, setrole, setconfig)
VALUES (0, 'tc_lint_app'::regrole, '{tenantcore.tenant_id=dddddddd-0000-4000-8000-00000000000d,tenantcore.actor_id=dddddddd-0000-4000-8000-00000000000e}');
ALTER ROLE tc_lint_login SET tenantcore.missing_tenant = 'error';
SELECT format('ALTER ROLE tc_lint_app IN DATABASE %I SET row_security = off', current_database()) \gexec
SELECT format('ALTER DATABASE %I SET tenantcore.jwt_tenant_claim = %L', current_database(), 'org') \gexec
-- (for every role: an empty value, which changes nothing while the test runs)
ALTER ROLE ALL SET tenantcore.jwt_actor_claim = '';
CREATE VIEW pg_temp.my_setting_lint AS
    SELECT severity, replace(object, current_database(), '<db>') AS object,
           replace(problem, current_database(), '<db>') AS problem, replace(fix, current_database(), '<db>') AS fix
      FROM tenantcore.lint() l
     WHERE l.fix LIKE 'ALTER ROLE tc\_lint\_% RESET %' OR l.fix LIKE format('ALTER DATABASE %I RESET %%', current_database())
        OR l.fix = 'ALTER ROLE ALL RESET tenantcore.jwt_actor_claim;';
SELECT * FROM pg_temp.my_setting_lint;
-- the fixes work
SELECT replace(fix, '<db>', quote_ident(current_database())) FROM pg_temp.my_setting_lint \gexec
SELECT * FROM pg_temp.my_setting_lint;
SELECT count(*) AS settings_left FROM pg_db_role_setting s, unnest(s.setconfig) cfg
 WHERE (s.setrole IN ('tc_lint_app'::regrole, 'tc_lint_login'::regrole)
        OR (s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.setrole = 0)
        OR (s.setdatabase = 0 AND s.setrole = 0))
   AND (cfg LIKE 'tenantcore.%' OR cfg LIKE 'row\_security=%');

-- grant_app_role: bad input
SELECT tenantcore.grant_app_role(NULL);
SELECT tenantcore.grant_app_role('tc_lint_nosuch');
SELECT tenantcore.grant_app_role('tc_lint_super');
ALTER ROLE tc_lint_bypass BYPASSRLS;
SELECT tenantcore.grant_app_role('tc_lint_bypass');
ALTER ROLE tc_lint_bypass NOBYPASSRLS;
-- only a superuser may grant
SET ROLE tc_lint_owner;
SELECT tenantcore.grant_app_role('tc_lint_app');
RESET ROLE;
-- an owner of isolated tables gets a warning
ALTER TABLE lnt.good OWNER TO tc_lint_login;
SELECT tenantcore.grant_app_role('tc_lint_login');
ALTER TABLE lnt.good OWNER TO tc_lint_owner;
-- what the application role gets: usage and the context functions, nothing else
SELECT has_schema_privilege('tc_lint_app', 'tenantcore', 'USAGE') AS usage_before;
SELECT tenantcore.grant_app_role('tc_lint_app');
SELECT tenantcore.grant_app_role('tc_lint_app');
SELECT has_schema_privilege('tc_lint_app', 'tenantcore', 'USAGE') AS usage_after,
       has_schema_privilege('tc_lint_app', 'tenantcore', 'CREATE') AS create_after;
SELECT p.oid::regprocedure AS function, has_function_privilege('tc_lint_app', p.oid, 'EXECUTE') AS can_execute
  FROM pg_proc p WHERE p.pronamespace = 'tenantcore'::regnamespace
   AND p.proname IN ('current_tenant', 'current_actor', 'set_tenant', 'set_actor', 'clear_tenant', 'grant_app_role')
 ORDER BY 1::text;
SELECT count(*) AS tables_owned FROM pg_class WHERE relowner = 'tc_lint_app'::regrole;

SET client_min_messages = warning;
DROP SCHEMA lnt CASCADE;
RESET client_min_messages;
DROP OWNED BY tc_lint_owner, tc_lint_login, tc_lint_bypass, tc_lint_super, tc_lint_app;
DROP ROLE tc_lint_owner, tc_lint_login, tc_lint_bypass, tc_lint_super, tc_lint_app;
