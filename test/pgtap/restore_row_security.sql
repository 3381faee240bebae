-- tenantcore pgTAP: row_security = off is not a restore.  0.6.0 took
-- row_security = off alone for "a dump is being loaded" and skipped the audit
-- triggers of the core tables and the system roles of new organizations; any
-- role can set it, so an application role created roles, memberships and API
-- keys through the SECURITY DEFINER core functions without an audit entry.
-- The restore signal now also needs the login role (session_user) to be the
-- extension owner, a member of it or a superuser.
BEGIN;
SELECT plan(13);

CREATE ROLE tc_rtap_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_rtap_app');
INSERT INTO tenantcore.users (id, email) VALUES
    ('a1000000-0000-4000-8000-00000000000a', 'rs-ann@example.com');

-- the superuser loading a dump: still a restore
SET LOCAL row_security = off;
SELECT ok(tenantcore._restoring(), 'superuser with row_security off: a restore');
RESET row_security;

-- the application role logs in as itself (session_user), as it does in production
SET LOCAL SESSION AUTHORIZATION tc_rtap_app;
SET LOCAL row_security = off;
SELECT is(current_setting('row_security'), 'off', 'the application role can set row_security off');
SELECT ok(NOT tenantcore._restoring(), 'application role with row_security off: not a restore');

SELECT tenantcore.set_actor('a1000000-0000-4000-8000-00000000000a');
SELECT set_config('rs.org', tenantcore.create_organization('RS', 'restore-rs')::text, true);
SELECT set_config('rs.other', tenantcore.create_organization('RS2', 'restore-rs2')::text, true);
SELECT tenantcore.set_tenant(current_setting('rs.org')::uuid);
-- ben is made in the tenant's context, so the tenant may add him (0.7.0)
SELECT set_config('rs.ben', tenantcore.create_user('rs-ben@example.com')::text, true);
SELECT lives_ok($$SELECT tenantcore.create_role('rs_clerk', 'Clerk', '{teams.read}')$$, 'create_role with row_security off');
SELECT lives_ok($$SELECT tenantcore.add_member(current_setting('rs.ben')::uuid, 'admin')$$,
                'add_member (an admin membership) with row_security off');
SELECT lives_ok($$SELECT tenantcore.grant_role(current_setting('rs.ben')::uuid, 'rs_clerk')$$,
                'grant_role with row_security off');
SELECT lives_ok($$SELECT tenantcore.create_api_key('rs key', '{teams.read}')$$, 'create_api_key with row_security off');

-- read back as the application role, in its own tenant
RESET row_security;
SELECT is((SELECT count(*) FROM tenantcore.roles WHERE is_system), 4::bigint,
          'the new organization got its system roles');
SELECT results_eq(
    $$SELECT table_name, operation, count(*) FROM tenantcore.audit_log
       WHERE table_name IN ('tenantcore.organizations', 'tenantcore.roles', 'tenantcore.organization_members',
                            'tenantcore.user_roles', 'tenantcore.api_keys')
       GROUP BY 1, 2 ORDER BY 1, 2$$,
    $$VALUES ('tenantcore.api_keys', 'INSERT', 1::bigint), ('tenantcore.organization_members', 'INSERT', 2),
             ('tenantcore.organizations', 'INSERT', 1), ('tenantcore.roles', 'INSERT', 5),
             ('tenantcore.user_roles', 'INSERT', 1)$$,
    'every change made with row_security off is in the tenant''s audit log');
SELECT is((SELECT new_row ->> 'role' FROM tenantcore.audit_log
            WHERE table_name = 'tenantcore.organization_members'
              AND new_row ->> 'user_id' = current_setting('rs.ben')),
          'admin', 'the admin membership is recorded with its role');
SELECT is((SELECT count(*) FILTER (WHERE db_user <> 'tc_rtap_app') FROM tenantcore.audit_log), 0::bigint,
          'the entries name the application role as database user');

-- the organizations themselves (each entry belongs to its organization, since 0.8.0)
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*) FROM tenantcore.audit_log
            WHERE table_name = 'tenantcore.organizations' AND operation = 'INSERT'
              AND new_row ->> 'id' IN (current_setting('rs.org'), current_setting('rs.other'))), 2::bigint,
          'both organizations created with row_security off are in the audit log');
SET LOCAL SESSION AUTHORIZATION tc_rtap_app;

-- the other tenant: its own entries, none of the first one's
SELECT tenantcore.set_tenant(current_setting('rs.other')::uuid);
SELECT is((SELECT count(*) FROM tenantcore.audit_log WHERE organization_id IS DISTINCT FROM current_setting('rs.other')::uuid),
          0::bigint, 'the second tenant sees only its own entries');

SELECT * FROM finish();
ROLLBACK;
