-- tenantcore pgTAP: built-in retention policies (fixed negative ids, a DBA's
-- changes recorded in retention_builtin_settings, adoption of a DBA's own
-- policy on the same column) and the owner check of the retention
-- functions, as a non-owner application role and as the owner.
BEGIN;
SELECT plan(30);

\set owner tc_rbi_owner
\set app tc_rbi_app
\set schema rbi
\ir ../helpers/app_roles.sql
CREATE ROLE tc_rbi_member NOLOGIN IN ROLE tc_rbi_owner;
SET LOCAL ROLE tc_rbi_owner;
CREATE TABLE rbi.sessions (organization_id uuid NOT NULL, id integer, expires_at timestamptz NOT NULL,
                           revoked_at timestamptz,
                           ended_at timestamptz GENERATED ALWAYS AS (LEAST(expires_at, revoked_at)) STORED);
CREATE TABLE rbi.events (organization_id uuid NOT NULL, at timestamptz);
RESET ROLE;
-- a compliance tool's role and the owner may call the functions (EXECUTE is
-- revoked from PUBLIC); the owner check decides which tables they may touch
GRANT EXECUTE ON FUNCTION tenantcore.retain(regclass, name, interval, text, jsonb),
    tenantcore.unretain(regclass, name), tenantcore.retain_for_tenant(regclass, uuid, interval, name),
    tenantcore.hold(uuid, regclass, text), tenantcore.release_hold(bigint),
    tenantcore.enable_retention(regclass, name), tenantcore.disable_retention(regclass, name)
  TO tc_rbi_app, tc_rbi_owner;

-- the audit log's built-in policy
SELECT results_eq($$SELECT id, keep, action, enabled, builtin FROM tenantcore.retention_policies
                     WHERE rel = 'tenantcore.audit_log'::regclass$$,
                  $$VALUES (-1, interval '7 years', 'drop_partition', true, true)$$,
                  'CREATE EXTENSION installs the audit log''s policy: 7 years, drop_partition, enabled, id -1');
SELECT is((SELECT extcondition[array_position(extconfig, 'tenantcore.retention_policies'::regclass)]
             FROM pg_extension WHERE extname = 'tenantcore'), 'WHERE NOT builtin',
          'pg_dump leaves built-in policies out (CREATE EXTENSION makes them on restore)');
SELECT ok((SELECT 'tenantcore.retention_builtin_settings'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'tenantcore'),
          'the DBA''s settings of built-in policies are dumped');

-- a DBA changes it: period, off, on; every change is recorded
SELECT is(tenantcore.retain('tenantcore.audit_log', 'occurred_at', '10 years'), -1,
          'retain() on a built-in policy changes its period and returns its id');
SELECT results_eq($$SELECT keep, enabled FROM tenantcore.retention_builtin_settings WHERE policy_id = -1$$,
                  $$VALUES (interval '10 years', true)$$, 'the new period is recorded in retention_builtin_settings');
SELECT tenantcore.disable_retention('tenantcore.audit_log');
SELECT results_eq($$SELECT p.enabled, s.enabled, s.keep FROM tenantcore.retention_policies p
                     JOIN tenantcore.retention_builtin_settings s ON s.policy_id = p.id WHERE p.id = -1$$,
                  $$VALUES (false, false, interval '10 years')$$, 'disable_retention() turns it off and records that');
UPDATE tenantcore.retention_policies SET enabled = true, keep = '8 years' WHERE id = -1;
SELECT results_eq($$SELECT keep, enabled FROM tenantcore.retention_builtin_settings WHERE policy_id = -1$$,
                  $$VALUES (interval '8 years', true)$$, 'a direct UPDATE of the policy is recorded as well');
SELECT throws_ok($$SELECT tenantcore.retain('tenantcore.audit_log', 'occurred_at', '1 year', 'delete')$$,
                 '0A000', 'cannot change the action of built-in retention policy -1 of tenantcore.audit_log',
                 'a built-in policy keeps its action');
SELECT throws_ok($$SELECT tenantcore.unretain('tenantcore.audit_log')$$,
                 '55000', 'cannot remove built-in retention policy -1 of tenantcore.audit_log',
                 'a built-in policy cannot be removed (it would come back on restore); it can be disabled');
-- what pg_restore does: the built-in row is made with its defaults, then the settings are loaded
DELETE FROM tenantcore.retention_builtin_settings;
UPDATE tenantcore.retention_policies SET keep = '7 years', enabled = true WHERE id = -1;
DELETE FROM tenantcore.retention_builtin_settings;
INSERT INTO tenantcore.retention_builtin_settings (policy_id, keep, enabled) VALUES (-1, '12 years', false);
SELECT results_eq($$SELECT keep, enabled FROM tenantcore.retention_policies WHERE id = -1$$,
                  $$VALUES (interval '12 years', false)$$,
                  'loading the settings (as pg_restore does) applies them to the built-in policy');

-- _builtin_retain on a table of our own (the mechanism the core tables use)
SELECT is(tenantcore._builtin_retain(-901, 'rbi.sessions', 'ended_at', '30 days'), -901, '_builtin_retain returns the fixed id');
SELECT results_eq($$SELECT keep, action, tenant_column = 'organization_id', enabled, builtin FROM tenantcore.retention_policies WHERE id = -901$$,
                  $$VALUES (interval '30 days', 'delete', true, true, true)$$,
                  'the built-in policy is installed as given, enabled by default');
SELECT ok(NOT EXISTS (SELECT FROM tenantcore.retention_builtin_settings WHERE policy_id = -901),
          'installing a built-in policy records no DBA setting');
SELECT tenantcore.retain('rbi.sessions', 'ended_at', '90 days');
SELECT tenantcore._builtin_retain(-901, 'rbi.sessions', 'ended_at', '60 days');
SELECT is((SELECT keep FROM tenantcore.retention_policies WHERE id = -901), interval '90 days',
          'installing it again (a later version) keeps the period a DBA set');
SELECT throws_ok($$SELECT tenantcore._builtin_retain(7, 'rbi.sessions', 'ended_at', '1 day')$$, '22023',
                 '_builtin_retain: the id of a built-in policy must be negative, and enabled not null',
                 'a built-in policy id must be negative');
SELECT throws_ok($$SELECT tenantcore._builtin_retain(-902, 'rbi.sessions', 'ended_at', '1 day')$$, '42710',
                 'table rbi.sessions already has built-in retention policy -901 on column "ended_at"',
                 'one built-in policy per table and column');
SELECT throws_ok($$SELECT tenantcore._builtin_retain(-903, 'rbi.sessions', 'nosuch', '1 day')$$, '42703',
                 'column "nosuch" of relation "rbi.sessions" does not exist', 'bad input is refused as by retain()');

-- a DBA's own policy on the same column becomes the built-in one, with its overrides and runs
SELECT tenantcore.retain('rbi.events', 'at', '45 days') AS user_policy \gset
SELECT tenantcore.retain_for_tenant('rbi.events', '00000000-0000-0000-0000-0000000000e1', '2 years');
INSERT INTO tenantcore.retention_runs (policy_id, rel, action, started_at) VALUES (:user_policy, 'rbi.events', 'delete', now());
SELECT tenantcore._builtin_retain(-904, 'rbi.events', 'at', '30 days');
SELECT results_eq($$SELECT id, keep, builtin FROM tenantcore.retention_policies WHERE rel = 'rbi.events'::regclass$$,
                  $$VALUES (-904, interval '45 days', true)$$,
                  'a DBA''s policy on the same column is adopted: one built-in row, the DBA''s period kept');
SELECT results_eq($$SELECT policy_id, keep FROM tenantcore.retention_overrides WHERE organization_id = '00000000-0000-0000-0000-0000000000e1'$$,
                  $$VALUES (-904, interval '2 years')$$, 'its per-tenant period moves to the built-in policy');
SELECT is((SELECT count(*)::int FROM tenantcore.retention_runs WHERE policy_id = -904), 1, 'its run log entries too');
SELECT results_eq($$SELECT keep, enabled FROM tenantcore.retention_builtin_settings WHERE policy_id = -904$$,
                  $$VALUES (interval '45 days', true)$$, 'and its period is recorded as the DBA''s setting');

-- owner check: an application role that was granted EXECUTE, but owns nothing
SET LOCAL ROLE tc_rbi_app;
SELECT throws_ok($$SELECT tenantcore.retain('rbi.events', 'at', '1 day')$$, '42501',
                 'must be owner of table rbi.events', 'retain: a non-owner is refused');
SELECT throws_ok($$SELECT tenantcore.disable_retention('rbi.events')$$, '42501',
                 'must be owner of table rbi.events', 'disable_retention: a non-owner is refused');
SELECT throws_ok($$SELECT tenantcore.retain_for_tenant('rbi.events', '00000000-0000-0000-0000-0000000000e1', '1 day')$$, '42501',
                 'must be owner of table rbi.events', 'retain_for_tenant: a non-owner is refused');
SELECT throws_ok($$SELECT tenantcore.hold('00000000-0000-0000-0000-0000000000e1', 'rbi.events')$$, '42501',
                 'must be owner of table rbi.events', 'hold on a table: a non-owner is refused');
SELECT throws_ok($$SELECT tenantcore.hold('00000000-0000-0000-0000-0000000000e1')$$, '42501',
                 'must be superuser to place a legal hold on every table of a tenant', 'hold on every table: superusers only');
RESET ROLE;
SELECT results_eq($$SELECT keep, enabled FROM tenantcore.retention_policies WHERE id = -904$$,
                  $$VALUES (interval '45 days', true)$$, 'the refused calls changed nothing');

-- the owner, and a member of the owner role, may
SET LOCAL ROLE tc_rbi_owner;
SELECT tenantcore.hold('00000000-0000-0000-0000-0000000000e1', 'rbi.events', 'audit') AS hold_id \gset
SELECT lives_ok($$SELECT tenantcore.retain('rbi.sessions', 'ended_at', '14 days')$$, 'the owner may change the policy of its table');
SET LOCAL ROLE tc_rbi_app;
SELECT throws_ok('SELECT tenantcore.release_hold(' || :hold_id || ')', '42501',
                 'must be owner of table rbi.events', 'release_hold: a non-owner is refused');
SET LOCAL ROLE tc_rbi_member;
SELECT lives_ok('SELECT tenantcore.release_hold(' || :hold_id || ')', 'a member of the owner role may release the hold');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
