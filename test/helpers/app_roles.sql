-- test/helpers/app_roles.sql -- the roles and schema a test of tenant isolation
-- starts from, written once.  A test sets three psql variables and includes it:
--     \set owner tc_x_owner
--     \set app tc_x_app
--     \set schema x
--     \ir ../helpers/app_roles.sql
-- owner: a NOLOGIN role that owns the test schema and its tables (tables are
-- created with SET LOCAL ROLE :"owner"); app: the application role, LOGIN,
-- NOSUPERUSER, NOBYPASSRLS, with tenantcore's application grants.  Run as a
-- superuser, inside the test's transaction (pgTAP) or dropped at its end.
CREATE ROLE :"owner" NOLOGIN;
CREATE ROLE :"app" LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role(:'app');
GRANT USAGE ON SCHEMA tenantcore TO :"owner";
CREATE SCHEMA :"schema" AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA :"schema" TO :"app";
