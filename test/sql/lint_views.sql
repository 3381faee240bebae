-- tenantcore: lint() follows views over views (0.5.0)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE tc_lv_owner NOLOGIN;
CREATE ROLE tc_lv_app LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT USAGE ON SCHEMA tenantcore TO tc_lv_owner;
SELECT tenantcore.grant_app_role('tc_lv_app');
CREATE SCHEMA lv AUTHORIZATION tc_lv_owner;
GRANT USAGE ON SCHEMA lv TO tc_lv_app;

CREATE VIEW pg_temp.my_lint AS
    SELECT * FROM tenantcore.lint() l WHERE l.object LIKE 'lv.%';

SET ROLE tc_lv_owner;
CREATE TABLE lv.notes (organization_id uuid NOT NULL, body text);
SELECT tenantcore.isolate('lv.notes');
-- a security_invoker view is fine, and so is any view over it: a
-- security_invoker view checks the table as the current user even when an
-- owner-rights view reads it
CREATE VIEW lv.inner_ok WITH (security_invoker = true) AS SELECT * FROM lv.notes;
CREATE VIEW lv.outer_ok WITH (security_invoker = true) AS SELECT * FROM lv.inner_ok;
CREATE VIEW lv.outer_owner AS SELECT * FROM lv.inner_ok;
-- three levels deep, through a join, into an owner-rights view: only the
-- view reading the table with its owner's rights is the hole
CREATE VIEW lv.inner_owner AS SELECT * FROM lv.notes;
CREATE VIEW lv.mid_ok WITH (security_invoker = true) AS SELECT n.body FROM lv.outer_ok n JOIN lv.inner_owner USING (organization_id);
CREATE VIEW lv.deep_ok WITH (security_invoker = true) AS SELECT * FROM lv.mid_ok;
-- materialized views over views store what their owner saw at refresh time,
-- however many views lie between them and the table
CREATE MATERIALIZED VIEW lv.mv_over_view AS SELECT * FROM lv.inner_ok;
CREATE MATERIALIZED VIEW lv.mv_deep AS SELECT * FROM lv.deep_ok;
RESET ROLE;
-- owned by a superuser, over security_invoker views: still the app's rows only
CREATE VIEW lv.outer_super AS SELECT * FROM lv.outer_ok;
-- owned by a superuser and reading the table: every tenant's rows
CREATE VIEW lv.direct_super AS SELECT * FROM lv.notes;
GRANT SELECT ON ALL TABLES IN SCHEMA lv TO tc_lv_app;

SELECT severity, object, problem FROM pg_temp.my_lint;

-- what lint warns about, shown as the application role with two tenants' rows
INSERT INTO lv.notes VALUES ('aaaaaaaa-0000-4000-8000-00000000000a', 'a'),
                            ('bbbbbbbb-0000-4000-8000-00000000000b', 'b');
SET ROLE tc_lv_app;
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-00000000000a') IS NOT NULL AS tenant_set;
SELECT count(*) AS through_invoker_views FROM lv.outer_ok;
SELECT count(*) AS superuser_view_over_invoker_views FROM lv.outer_super;
SELECT count(*) AS superuser_view_over_table FROM lv.direct_super;
COMMIT;
RESET ROLE;

-- the fixes lint suggests clear the list of views (materialized views stay reported)
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT fix FROM pg_temp.my_lint WHERE fix LIKE 'ALTER VIEW%' LOOP
        EXECUTE r.fix;
    END LOOP;
END
$$;
SELECT severity, object, problem FROM pg_temp.my_lint;

DROP SCHEMA lv CASCADE;
REVOKE ALL ON SCHEMA tenantcore FROM tc_lv_owner, tc_lv_app;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA tenantcore FROM tc_lv_app;
DROP ROLE tc_lv_owner;
DROP ROLE tc_lv_app;
