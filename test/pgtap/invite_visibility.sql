-- tenantcore pgTAP: an invitation is not a membership.  On 0.6.0 a tenant
-- that invited any e-mail address could read the users and user_profiles rows
-- of the person behind it (phone, time zone, names) before any acceptance,
-- and also inside a transaction it then rolled back; the audit log told a
-- known address from an unknown one (an INSERT into users only for unknown
-- addresses, attributed to the inviting tenant).  Two tenants, as the
-- application role.
BEGIN;
SELECT plan(19);

CREATE ROLE tc_itap_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_itap_app');
INSERT INTO tenantcore.users (id, email, first_name, last_name) VALUES
    ('a2000000-0000-4000-8000-00000000000a', 'iv-ann@example.com', 'Ann', 'A'),
    ('c2000000-0000-4000-8000-00000000000c', 'iv-carl@else.example', 'Carl', 'Secret'),
    ('e2000000-0000-4000-8000-00000000000e', 'iv-eve@example.com', 'Eve', 'B');
INSERT INTO tenantcore.user_profiles (user_id, phone, timezone) VALUES
    ('c2000000-0000-4000-8000-00000000000c', '+49 30 555 0100', 'Europe/Berlin');

SET LOCAL ROLE tc_itap_app;
-- ann owns A, where carl is a member; eve owns B
SELECT tenantcore.set_actor('a2000000-0000-4000-8000-00000000000a');
SELECT set_config('iv.a', tenantcore.create_organization('IV A', 'invite-a')::text, true);
SELECT tenantcore.set_tenant(current_setting('iv.a')::uuid);
-- carl, made by the DBA, is added by the DBA (an application role may not, since 0.7.0)
RESET ROLE;
SELECT tenantcore.add_member('c2000000-0000-4000-8000-00000000000c');
SET LOCAL ROLE tc_itap_app;
SELECT tenantcore.set_actor('e2000000-0000-4000-8000-00000000000e');
SELECT set_config('iv.b', tenantcore.create_organization('IV B', 'invite-b')::text, true);
SELECT tenantcore.set_tenant(current_setting('iv.b')::uuid);

-- the audit entries tenant B sees that are newer than a mark
CREATE FUNCTION pg_temp.trail_since(mark bigint) RETURNS TABLE (table_name text, operation text)
LANGUAGE sql AS $$SELECT a.table_name, a.operation FROM tenantcore.audit_log a WHERE a.id > mark ORDER BY 1, 2$$;
CREATE FUNCTION pg_temp.mark() RETURNS bigint
LANGUAGE sql AS $$SELECT coalesce(max(a.id), 0) FROM tenantcore.audit_log a$$;

-- B invites carl (an account elsewhere) and reads in the same transaction
SAVEPOINT before_invite;
SELECT set_config('iv.mark1', pg_temp.mark()::text, true);
SELECT set_config('iv.known', tenantcore.invite_member('IV-Carl@else.example')::text, true);
SELECT isnt(current_setting('iv.known'), '', 'inviting a known address returns an id');
SELECT is((SELECT count(*) FROM tenantcore.user_profiles), 0::bigint,
          'tenant B sees no profile of the invited person');
SELECT is((SELECT count(*) FROM tenantcore.users WHERE email ILIKE 'iv-carl%' OR first_name = 'Carl'), 0::bigint,
          'tenant B sees no users row of the invited person');
SELECT results_eq($$SELECT status FROM tenantcore.organization_members WHERE user_id = current_setting('iv.known')::uuid$$,
                  $$VALUES ('invited')$$, 'tenant B sees its invitation');
SELECT results_eq($$SELECT * FROM pg_temp.trail_since(current_setting('iv.mark1')::bigint)$$,
                  $$VALUES ('tenantcore.organization_members', 'INSERT')$$,
                  'inviting a known address leaves one membership entry in the tenant''s log');
SELECT throws_ok($$SELECT tenantcore.invite_member('iv-carl@else.example')$$, '23505',
                 format('invite_member: user %s is a member already', current_setting('iv.known')),
                 'a second invitation of a known address');

-- B invites an address nobody has
SELECT set_config('iv.mark2', pg_temp.mark()::text, true);
SELECT set_config('iv.unknown', tenantcore.invite_member('IV-Nobody@else.example')::text, true);
SELECT isnt(current_setting('iv.unknown'), '', 'inviting an unknown address returns an id');
SELECT is((SELECT count(*) FROM tenantcore.users WHERE email ILIKE 'iv-nobody%'), 0::bigint,
          'tenant B sees no users row of the new address either');
SELECT results_eq($$SELECT * FROM pg_temp.trail_since(current_setting('iv.mark2')::bigint)$$,
                  $$VALUES ('tenantcore.organization_members', 'INSERT')$$,
                  'inviting an unknown address leaves the same single entry in the tenant''s log');
SELECT throws_ok($$SELECT tenantcore.invite_member('iv-nobody@else.example')$$, '23505',
                 format('invite_member: user %s is a member already', current_setting('iv.unknown')),
                 'a second invitation of an unknown address: the same error');

-- roll the invitations back: nothing to see, nothing left
ROLLBACK TO SAVEPOINT before_invite;
SELECT is((SELECT count(*) FROM tenantcore.user_profiles), 0::bigint, 'after ROLLBACK: no profile visible to B');
SELECT is((SELECT count(*) FROM tenantcore.organization_members WHERE user_id <> 'e2000000-0000-4000-8000-00000000000e'),
          0::bigint, 'after ROLLBACK: no invitation left in B');

-- the new person's row belongs to no tenant (also when the tenant comes from a JWT claim)
RESET ROLE;
SET LOCAL tenantcore.jwt_tenant_claim = 'org';
SET LOCAL ROLE tc_itap_app;
SELECT tenantcore.clear_tenant();
SELECT tenantcore.set_actor('e2000000-0000-4000-8000-00000000000e');
SELECT set_config('request.jwt.claims', json_build_object('org', current_setting('iv.b'))::text, true);
SELECT is(tenantcore.current_tenant(), current_setting('iv.b')::uuid, 'tenant B from the JWT claim');
SELECT set_config('iv.jwt', tenantcore.invite_member('iv-jwt@else.example')::text, true);
RESET ROLE;
SELECT results_eq($$SELECT organization_id, new_row ->> 'status' FROM tenantcore.audit_log
                     WHERE table_name = 'tenantcore.users' AND new_row ->> 'email' = 'iv-jwt@else.example'$$,
                  $$VALUES (NULL::uuid, 'invited')$$, 'the users row of an invitation is logged for no tenant');
SELECT is(tenantcore.current_tenant(), current_setting('iv.b')::uuid, 'the tenant context is back after the invitation');
SET LOCAL tenantcore.jwt_tenant_claim = '';
SET LOCAL ROLE tc_itap_app;
SELECT tenantcore.set_tenant(current_setting('iv.b')::uuid);

-- B invites carl for real; carl accepts: now B sees carl
SELECT tenantcore.set_actor('e2000000-0000-4000-8000-00000000000e');
SELECT tenantcore.invite_member('iv-carl@else.example');
SELECT is((SELECT count(*) FROM tenantcore.user_profiles), 0::bigint, 'invited again: still no profile visible to B');
SELECT tenantcore.set_actor('c2000000-0000-4000-8000-00000000000c');
SELECT tenantcore.accept_invitation();
SELECT tenantcore.set_actor('e2000000-0000-4000-8000-00000000000e');
SELECT results_eq($$SELECT phone FROM tenantcore.user_profiles$$, $$VALUES ('+49 30 555 0100')$$,
                  'after carl accepted, tenant B sees his profile');
SELECT results_eq($$SELECT first_name FROM tenantcore.users ORDER BY 1$$, $$VALUES ('Carl'), ('Eve')$$,
                  'after carl accepted, tenant B sees his users row');
-- A, where carl was a member from the start, sees him too
SELECT tenantcore.set_tenant(current_setting('iv.a')::uuid);
SELECT results_eq($$SELECT phone FROM tenantcore.user_profiles$$, $$VALUES ('+49 30 555 0100')$$,
                  'tenant A sees the profile of its member');

SELECT * FROM finish();
ROLLBACK;
