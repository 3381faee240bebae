-- tenantcore pgTAP: the core schema as a non-owner application role with
-- three tenants: no core table shows or accepts another tenant's rows, no
-- row can reference another tenant's row, has_permission() answers per
-- tenant (also inside a policy), sessions and API keys, cascades from the
-- organization, GDPR export and erasure over the core tables.
BEGIN;
SELECT plan(37);

CREATE ROLE tc_ctap_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_ctap_app');
INSERT INTO tenantcore.users (id, email) VALUES
    ('a0000000-0000-4000-8000-00000000000a', 'ann@example.com'),
    ('b0000000-0000-4000-8000-00000000000b', 'ben@example.com'),
    ('c0000000-0000-4000-8000-00000000000c', 'cid@example.com');

SET LOCAL ROLE tc_ctap_app;
-- three tenants: ann owns A and C, ben owns B; ben is a member of A
SELECT tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
SELECT set_config('tap.a', tenantcore.create_organization('A', 'tap-a')::text, true);
SELECT set_config('tap.c', tenantcore.create_organization('C', 'tap-c')::text, true);
-- the owner is the actor (0.7.0)
SELECT tenantcore.set_actor('b0000000-0000-4000-8000-00000000000b');
SELECT set_config('tap.b', tenantcore.create_organization('B', 'tap-b')::text, true);

CREATE FUNCTION pg_temp.fill(tenant uuid, actor uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantcore.set_tenant(tenant), tenantcore.set_actor(actor);
    INSERT INTO tenantcore.teams (name) VALUES ('Team ' || tenant);
    INSERT INTO tenantcore.team_members (team_id, user_id) SELECT id, actor FROM tenantcore.teams;
    INSERT INTO tenantcore.settings (key, value) VALUES ('locale', '"en"');
    INSERT INTO tenantcore.settings (user_id, key, value) VALUES (actor, 'theme', '"dark"');
    INSERT INTO tenantcore.notifications (user_id, kind, title) VALUES (actor, 'welcome', 'Hello');
    INSERT INTO tenantcore.consents (user_id, purpose, granted, ip_address) VALUES (actor, 'terms', true, '198.51.100.7');
    INSERT INTO tenantcore.subscriptions (plan, status) VALUES ('starter', 'active');
    INSERT INTO tenantcore.access_logs (user_id, method, endpoint, status_code, ip_address) VALUES (actor, 'GET', '/', 200, '198.51.100.7');
    INSERT INTO tenantcore.error_logs (user_id, service, level, message) VALUES (actor, 'api', 'error', 'boom');
    PERFORM tenantcore.create_session(actor);
    PERFORM tenantcore.create_api_key('key', '{teams.read}');
END
$$;
SELECT pg_temp.fill(current_setting('tap.a')::uuid, 'a0000000-0000-4000-8000-00000000000a');
SELECT pg_temp.fill(current_setting('tap.b')::uuid, 'b0000000-0000-4000-8000-00000000000b');
SELECT pg_temp.fill(current_setting('tap.c')::uuid, 'a0000000-0000-4000-8000-00000000000a');
SELECT tenantcore.set_tenant(current_setting('tap.a')::uuid), tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
-- ben joins A by accepting an invitation (add_member takes only people made in
-- A's context or sharing an organization with the actor, since 0.7.0)
SELECT tenantcore.invite_member('ben@example.com');
SELECT tenantcore.set_actor('b0000000-0000-4000-8000-00000000000b'), tenantcore.accept_invitation();
SELECT tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
SELECT tenantcore.grant_role('b0000000-0000-4000-8000-00000000000b', 'manager');

-- rows of the tenant tables the application role sees, per tenant
CREATE FUNCTION pg_temp.visible() RETURNS TABLE (rel text, own bigint, foreign_rows bigint) LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT i.rel, i.tenant_column FROM tenantcore.isolated_tables i WHERE i.builtin ORDER BY i.rel::text LOOP
        RETURN QUERY EXECUTE format('SELECT %L, count(*) FILTER (WHERE %I = tenantcore.current_tenant()),
                                            count(*) FILTER (WHERE %I IS DISTINCT FROM tenantcore.current_tenant()) FROM %s',
                                    t.rel::text, t.tenant_column, t.tenant_column, t.rel);
    END LOOP;
END
$$;
SELECT tenantcore.set_tenant(current_setting('tap.a')::uuid);
SELECT is((SELECT sum(foreign_rows) FROM pg_temp.visible()), 0::numeric, 'tenant A sees no row of B or C in any core table');
SELECT is((SELECT count(*) FROM pg_temp.visible() WHERE own = 0), 0::bigint, 'tenant A sees its own rows in every core table');
SELECT tenantcore.set_tenant(current_setting('tap.b')::uuid);
SELECT is((SELECT sum(foreign_rows) FROM pg_temp.visible()), 0::numeric, 'tenant B sees no row of A or C');
SELECT tenantcore.clear_tenant();
SELECT is((SELECT sum(own) + sum(foreign_rows) FROM pg_temp.visible()), 0::numeric, 'no tenant: no row at all');
SELECT tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
SELECT results_eq($$SELECT email FROM tenantcore.users ORDER BY email$$, ARRAY['ann@example.com'],
                  'no tenant: a person sees only itself');
SELECT tenantcore.set_tenant(current_setting('tap.c')::uuid);
SELECT results_eq($$SELECT email FROM tenantcore.users ORDER BY email$$, ARRAY['ann@example.com'],
                  'tenant C: ben (member of A and B) is invisible');
SELECT tenantcore.set_tenant(current_setting('tap.a')::uuid);
SELECT is_empty($$UPDATE tenantcore.users SET first_name = 'x' WHERE email = 'ben@example.com' RETURNING 1$$,
                'a member of the same tenant cannot change another person');
SELECT isnt_empty($$UPDATE tenantcore.users SET first_name = 'Ann' WHERE email = 'ann@example.com' RETURNING 1$$,
                  'a person changes itself');

-- cross-tenant references are impossible: the foreign keys carry the tenant
RESET ROLE;
SELECT set_config('tap.team_b', (SELECT id::text FROM tenantcore.teams WHERE organization_id = current_setting('tap.b')::uuid), true);
SELECT set_config('tap.role_b', (SELECT id::text FROM tenantcore.roles WHERE organization_id = current_setting('tap.b')::uuid AND key = 'member'), true);
SET LOCAL ROLE tc_ctap_app;
SELECT tenantcore.set_tenant(current_setting('tap.a')::uuid);
SELECT throws_ok(format($$INSERT INTO tenantcore.team_members (team_id, user_id) VALUES (%L, 'b0000000-0000-4000-8000-00000000000b')$$,
                        current_setting('tap.team_b')),
                 '23503', NULL, 'a team member of A cannot point at a team of B');
SELECT throws_ok(format($$INSERT INTO tenantcore.team_members (organization_id, team_id, user_id) VALUES (%L, %L, 'b0000000-0000-4000-8000-00000000000b')$$,
                        current_setting('tap.b'), current_setting('tap.team_b')),
                 '42501', 'new row violates row-level security policy for table "team_members"',
                 'nor write a row into B to do it');
SELECT throws_ok($$INSERT INTO tenantcore.settings (user_id, key, value) VALUES ('c0000000-0000-4000-8000-00000000000c', 'k', '1')$$,
                 '23503', NULL, 'a setting of A cannot name a person who is not a member of A');
SELECT throws_ok($$INSERT INTO tenantcore.notifications (user_id, kind, title) VALUES ('c0000000-0000-4000-8000-00000000000c', 'x', 'x')$$,
                 '23503', NULL, 'nor a notification');
RESET ROLE;
-- even the table owner (no row level security for a superuser) cannot
SELECT throws_ok(format($$INSERT INTO tenantcore.user_roles (organization_id, user_id, role_id) VALUES (%L, 'b0000000-0000-4000-8000-00000000000b', %L)$$,
                        current_setting('tap.a'), current_setting('tap.role_b')),
                 '23503', NULL, 'a role of B cannot be granted in A, even by a superuser');
SET LOCAL ROLE tc_ctap_app;

-- has_permission per tenant
SELECT tenantcore.set_tenant(current_setting('tap.a')::uuid), tenantcore.set_actor('b0000000-0000-4000-8000-00000000000b');
SELECT ok(NOT tenantcore.has_permission('members.manage') AND tenantcore.has_permission('teams.read'),
          'ben is a member in A: reads teams, manages no members');
SELECT tenantcore.set_tenant(current_setting('tap.b')::uuid);
SELECT ok(tenantcore.has_permission('members.manage'), 'ben owns B: manages members there');
SELECT tenantcore.set_tenant(current_setting('tap.c')::uuid);
SELECT ok(NOT tenantcore.has_permission('teams.read'), 'ben is nobody in C');
SELECT throws_ok($$SELECT tenantcore.add_member('c0000000-0000-4000-8000-00000000000c')$$,
                 '42501', 'add_member: permission "members.manage" required', 'ben cannot add members to C');

-- has_permission inside a policy: only members who may read the audit see the rows
RESET ROLE;
CREATE SCHEMA ctap;
GRANT USAGE ON SCHEMA ctap TO tc_ctap_app;
CREATE TABLE ctap.reports (organization_id uuid NOT NULL, id int, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('ctap.reports');
CREATE POLICY need_audit_read ON ctap.reports AS RESTRICTIVE FOR SELECT USING (tenantcore.has_permission('audit.read'));
INSERT INTO ctap.reports SELECT current_setting('tap.a')::uuid, g FROM generate_series(1, 50) g;
INSERT INTO ctap.reports SELECT current_setting('tap.b')::uuid, g FROM generate_series(1, 30) g;
GRANT SELECT ON ctap.reports TO tc_ctap_app;
SET LOCAL ROLE tc_ctap_app;
SELECT tenantcore.set_tenant(current_setting('tap.a')::uuid), tenantcore.set_actor('b0000000-0000-4000-8000-00000000000b');
SELECT is((SELECT count(*) FROM ctap.reports), 0::bigint, 'policy: a member of A without audit.read sees nothing');
SELECT tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
SELECT is((SELECT count(*) FROM ctap.reports), 50::bigint, 'policy: the owner of A sees the 50 rows of A');
SELECT tenantcore.set_tenant(current_setting('tap.b')::uuid);
SELECT is((SELECT count(*) FROM ctap.reports), 0::bigint, 'policy: ann is nobody in B: nothing');

-- sessions and API keys
SELECT tenantcore.set_tenant(current_setting('tap.a')::uuid), tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
SELECT set_config('tap.s', tenantcore.create_session(), true);
SELECT set_config('tap.k', tenantcore.create_api_key('ci', '{teams.*}', now() + interval '1 day'), true);
SELECT tenantcore.clear_tenant();
SELECT results_eq($$SELECT organization_id, user_id FROM tenantcore.validate_session(current_setting('tap.s'))$$,
                  format($$VALUES (%L::uuid, 'a0000000-0000-4000-8000-00000000000a'::uuid)$$, current_setting('tap.a')),
                  'a session token validates to its tenant and person, without context');
SELECT throws_ok($$SELECT * FROM tenantcore.validate_session(left(current_setting('tap.s'), -8) || 'deadbeef')$$,
                 '28000', 'validate_session: invalid session token', 'wrong secret');
SELECT throws_ok($$SELECT * FROM tenantcore.validate_session('tcs_' || repeat('0', 130))$$,
                 '22023', 'malformed session token', 'malformed token');
SELECT throws_ok($$SELECT * FROM tenantcore.validate_session(NULL)$$,
                 '22004', 'session token must not be null', 'null token');
SELECT ok(tenantcore.revoke_session(current_setting('tap.s')), 'revoke');
SELECT throws_ok($$SELECT * FROM tenantcore.validate_session(current_setting('tap.s'))$$,
                 '28000', 'validate_session: session token revoked', 'a revoked session is refused');
SELECT results_eq($$SELECT scopes FROM tenantcore.validate_api_key(current_setting('tap.k'), 'teams.manage')$$,
                  $$VALUES ('{teams.*}'::text[])$$, 'an API key with scope teams.* covers teams.manage');
SELECT throws_ok($$SELECT * FROM tenantcore.validate_api_key(current_setting('tap.k'), 'billing.manage')$$,
                 '42501', 'validate_api_key: API key lacks scope "billing.manage"', 'but not billing.manage');

-- cascades and GDPR run as the DBA
RESET ROLE;
SELECT set_config('tap.export', tenantcore.export_subject('b0000000-0000-4000-8000-00000000000b')::text, true);
SELECT is((current_setting('tap.export')::jsonb -> 'tables' -> 'tenantcore.organization_members' -> 0 ->> 'user_id'),
          'b0000000-0000-4000-8000-00000000000b', 'export_subject covers the memberships');
SELECT is(jsonb_array_length(current_setting('tap.export')::jsonb -> 'tables' -> 'tenantcore.organization_members'), 2,
          'in both tenants');
SELECT is(current_setting('tap.export')::jsonb -> 'tables' -> 'tenantcore.users' -> 0 ->> 'email', 'ben@example.com',
          'export_subject covers the person');
SELECT lives_ok($$SELECT tenantcore.erase_subject('b0000000-0000-4000-8000-00000000000b')$$, 'erase_subject over the core tables');
SELECT results_eq($$SELECT email, status FROM tenantcore.users WHERE id = 'b0000000-0000-4000-8000-00000000000b'$$,
                  $$VALUES (NULL::text, 'deleted'::text)$$, 'the person is anonymized');
SELECT is((SELECT count(*) FROM tenantcore.organization_members WHERE user_id = 'b0000000-0000-4000-8000-00000000000b')
          + (SELECT count(*) FROM tenantcore.sessions WHERE user_id = 'b0000000-0000-4000-8000-00000000000b'), 0::bigint,
          'memberships and sessions are gone');
SELECT is((SELECT count(*) FROM tenantcore.access_logs WHERE organization_id = current_setting('tap.b')::uuid AND user_id IS NULL AND ip_address IS NULL),
          1::bigint, 'access logs stay, without the person');

DELETE FROM tenantcore.organizations WHERE id = current_setting('tap.c')::uuid;
SELECT is((SELECT count(*) FROM tenantcore.teams WHERE organization_id = current_setting('tap.c')::uuid)
          + (SELECT count(*) FROM tenantcore.api_keys WHERE organization_id = current_setting('tap.c')::uuid)
          + (SELECT count(*) FROM tenantcore.consents WHERE organization_id = current_setting('tap.c')::uuid), 0::bigint,
          'deleting organization C deletes its rows');
SELECT isnt((SELECT count(*) FROM tenantcore.teams WHERE organization_id = current_setting('tap.a')::uuid), 0::bigint,
            'and not those of A');

SELECT * FROM finish();
ROLLBACK;
