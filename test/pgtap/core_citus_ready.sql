-- tenantcore pgTAP: what 0.8.0 changed in the core schema so that it can be
-- distributed by Citus (test/shell/citus_core.sh runs it on a cluster), as
-- it behaves on a single server, as the application role:
-- - the policies "visible" of users and user_profiles call _member_visible()
--   (no subquery): a tenant sees its members, not its invitations, not the
--   members of another tenant; the answer follows a change made earlier in
--   the same transaction (the members are cached for one statement only),
--   and is the same whether looked up one by one or from the loaded members;
-- - a new organization gets its system roles from the trigger, whose
--   statements now name their tables dynamically;
-- - the audit entries of organizations belong to the organization itself;
-- - the nil uuid is not a tenant (it holds the entries without a tenant in
--   a distributed log); the application role cannot call _audit_internal().
BEGIN;
SELECT plan(17);

CREATE ROLE tc_cr_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_cr_app');
INSERT INTO tenantcore.users (id, email, first_name) VALUES
    ('a3000000-0000-4000-8000-00000000000a', 'cr-ann@example.com', 'Ann'),
    ('b3000000-0000-4000-8000-00000000000b', 'cr-bob@example.com', 'Bob'),
    ('c3000000-0000-4000-8000-00000000000c', 'cr-cay@example.com', 'Cay');
INSERT INTO tenantcore.user_profiles (user_id, phone) VALUES
    ('b3000000-0000-4000-8000-00000000000b', '+1 555 0101'),
    ('c3000000-0000-4000-8000-00000000000c', '+1 555 0102');

SET LOCAL ROLE tc_cr_app;
SELECT tenantcore.set_actor('a3000000-0000-4000-8000-00000000000a');
SELECT set_config('cr.a', tenantcore.create_organization('CR A', 'cr-a')::text, true);
SELECT tenantcore.set_actor('c3000000-0000-4000-8000-00000000000c');
SELECT set_config('cr.c', tenantcore.create_organization('CR C', 'cr-c')::text, true);
RESET ROLE;

SELECT results_eq($$SELECT key FROM tenantcore.roles WHERE organization_id = current_setting('cr.a')::uuid ORDER BY key$$,
                  $$VALUES ('admin'), ('manager'), ('member'), ('owner')$$,
                  'a new organization gets the system roles');
SELECT is((SELECT count(*) FROM tenantcore.role_permissions WHERE organization_id = current_setting('cr.a')::uuid),
          (SELECT count(*) FROM tenantcore.role_template_permissions WHERE builtin),
          'and their permissions');
SELECT results_eq($$SELECT organization_id FROM tenantcore.audit_log
                     WHERE table_name = 'tenantcore.organizations' AND operation = 'INSERT'
                       AND pk->>'id' = current_setting('cr.a')$$,
                  $$SELECT current_setting('cr.a')::uuid$$,
                  'the entry of the new organization belongs to it (created without a current tenant)');

SET LOCAL ROLE tc_cr_app;
SELECT tenantcore.set_actor('a3000000-0000-4000-8000-00000000000a');
SELECT tenantcore.set_tenant(current_setting('cr.a')::uuid);
SELECT results_eq($$SELECT first_name FROM tenantcore.users ORDER BY 1$$, $$VALUES ('Ann')$$,
                  'A sees its own member only');
SELECT tenantcore.invite_member('cr-bob@example.com');
SELECT results_eq($$SELECT first_name FROM tenantcore.users ORDER BY 1$$, $$VALUES ('Ann')$$,
                  'an invitation is not a membership: Bob is not visible');
SELECT is((SELECT count(*) FROM tenantcore.user_profiles), 0::bigint, 'nor his profile');
-- Bob accepts in the same transaction: the next statement sees him
SELECT tenantcore.set_actor('b3000000-0000-4000-8000-00000000000b');
SELECT tenantcore.accept_invitation();
SELECT tenantcore.set_actor('a3000000-0000-4000-8000-00000000000a');
SELECT results_eq($$SELECT first_name FROM tenantcore.users ORDER BY 1$$, $$VALUES ('Ann'), ('Bob')$$,
                  'once Bob accepted, A sees him (the same transaction)');
SELECT results_eq($$SELECT phone FROM tenantcore.user_profiles$$, $$VALUES ('+1 555 0101')$$,
                  'and his profile');
SELECT results_eq($$SELECT u.first_name, tenantcore._member_visible(u.id) FROM tenantcore.users u ORDER BY 1$$,
                  $$VALUES ('Ann', true), ('Bob', true)$$,
                  '_member_visible() as a function of the query');
-- past the first 8 calls of a statement the members are loaded at once
-- (before, each is looked up alone): the same answers either way
SELECT is((SELECT count(*) FROM (SELECT u.id FROM tenantcore.users u
                                 UNION ALL SELECT gen_random_uuid() FROM generate_series(1, 40)) p
            WHERE tenantcore._member_visible(p.id)), 2::bigint,
          'over many persons in one statement: A''s two members, no one else');
SELECT results_eq($$SELECT tenantcore._member_visible(x) FROM unnest(ARRAY[
                      'b3000000-0000-4000-8000-00000000000b', 'c3000000-0000-4000-8000-00000000000c',
                      'a3000000-0000-4000-8000-00000000000a', 'c3000000-0000-4000-8000-00000000000c',
                      'b3000000-0000-4000-8000-00000000000b', 'c3000000-0000-4000-8000-00000000000c',
                      'a3000000-0000-4000-8000-00000000000a', 'c3000000-0000-4000-8000-00000000000c',
                      'b3000000-0000-4000-8000-00000000000b', 'c3000000-0000-4000-8000-00000000000c',
                      'a3000000-0000-4000-8000-00000000000a']::uuid[]) WITH ORDINALITY AS t(x, i) ORDER BY i$$,
                  $$VALUES (true), (false), (true), (false), (true), (false), (true), (false), (true), (false), (true)$$,
                  'the eleven calls of one statement, looked up one by one and then from the loaded members, agree');
SELECT tenantcore.set_tenant(current_setting('cr.c')::uuid);
SELECT tenantcore.set_actor('c3000000-0000-4000-8000-00000000000c');
SELECT results_eq($$SELECT first_name FROM tenantcore.users ORDER BY 1$$, $$VALUES ('Cay')$$,
                  'tenant C sees its own member, none of A''s');
SELECT tenantcore.clear_tenant();
SELECT tenantcore.set_actor('c3000000-0000-4000-8000-00000000000c');
SELECT results_eq($$SELECT first_name FROM tenantcore.users ORDER BY 1$$, $$VALUES ('Cay')$$,
                  'without a tenant, only oneself');

SELECT throws_ok($$SELECT tenantcore.set_tenant('00000000-0000-0000-0000-000000000000')$$, '22023',
                 'the nil uuid is not a tenant', 'set_tenant() of the nil uuid is refused');
SELECT throws_ok($$SET LOCAL tenantcore.tenant_id = '00000000-0000-0000-0000-000000000000'$$, '22023',
                 'the nil uuid is not a tenant', 'and so is the setting');
-- the switch of the log's guard (erase_subject() on Citus) is the extension's own
SELECT throws_ok($$SELECT tenantcore._audit_internal(true)$$, '42501',
                 'permission denied for function _audit_internal', 'the application role cannot switch the log''s guard off');
SELECT throws_ok($$UPDATE tenantcore.audit_log SET actor_id = NULL$$, '42501', NULL,
                 'nor change the log');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
