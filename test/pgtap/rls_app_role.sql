-- tenantcore pgTAP: tenant isolation as seen by a non-owner application role
-- (NOSUPERUSER NOBYPASSRLS) with three tenants.
BEGIN;
SELECT plan(37);

-- setup, as superuser: a NOLOGIN owner, an application role, three tenants
\set owner tc_tap_owner
\set app tc_tap_app
\set schema tap
\ir ../helpers/app_roles.sql
-- affected(dml) runs a statement as the caller and returns the rows it changed
CREATE FUNCTION tap.affected(dml text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE dml;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
SET LOCAL ROLE tc_tap_owner;
CREATE TABLE tap.accounts (
    id              int  PRIMARY KEY,
    organization_id uuid NOT NULL,
    name            text NOT NULL
);
SELECT tenantcore.isolate('tap.accounts');
GRANT SELECT, INSERT, UPDATE, DELETE ON tap.accounts TO tc_tap_app;
RESET ROLE;
INSERT INTO tap.accounts VALUES
    (1, '11111111-1111-1111-1111-111111111111', 'a1'),
    (2, '11111111-1111-1111-1111-111111111111', 'a2'),
    (3, '22222222-2222-2222-2222-222222222222', 'b1'),
    (4, '22222222-2222-2222-2222-222222222222', 'b2'),
    (5, '33333333-3333-3333-3333-333333333333', 'c1');

SET LOCAL ROLE tc_tap_app;
SELECT ok(NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user),
          'the application role is neither superuser nor BYPASSRLS');
SELECT ok(NOT pg_has_role(current_user, 'tc_tap_owner', 'USAGE'), 'the application role does not own the table');

-- no tenant (deny): nothing visible, nothing writable
SELECT is((SELECT count(*) FROM tap.accounts), 0::bigint, 'no tenant: no row visible');
SELECT throws_ok($$INSERT INTO tap.accounts (id, name) VALUES (10, 'x')$$,
                 '42501', 'no tenant is set',
                 'no tenant: an insert (the tenant column''s default) is rejected with a clear error (0.7.0)');
SELECT throws_ok($$INSERT INTO tap.accounts VALUES (10, '11111111-1111-1111-1111-111111111111', 'x')$$,
                 '42501', 'new row violates row-level security policy for table "accounts"',
                 'no tenant: an insert with an explicit tenant id is rejected');
SELECT is(tap.affected($q$UPDATE tap.accounts SET name = 'hacked'$q$), 0::bigint,
          'no tenant: an update changes nothing');
SELECT is(tap.affected($q$DELETE FROM tap.accounts$q$), 0::bigint,
          'no tenant: a delete removes nothing');

-- tenant A reads only its rows
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
SELECT results_eq('SELECT id, name FROM tap.accounts ORDER BY id',
                  $$VALUES (1, 'a1'), (2, 'a2')$$, 'tenant A sees its two rows');
SELECT is_empty($$SELECT * FROM tap.accounts WHERE organization_id <> '11111111-1111-1111-1111-111111111111'$$,
                'tenant A cannot find another tenant''s rows by asking for them');
SELECT is_empty('SELECT * FROM tap.accounts WHERE id IN (3, 4, 5)', 'tenant A cannot read B''s or C''s rows by key');

-- inserts: the default fills the tenant; a foreign tenant id is rejected by WITH CHECK
SELECT lives_ok($$INSERT INTO tap.accounts (id, name) VALUES (6, 'a3')$$, 'tenant A inserts without naming the tenant');
SELECT is((SELECT organization_id FROM tap.accounts WHERE id = 6), '11111111-1111-1111-1111-111111111111'::uuid,
          'the tenant column defaults to the current tenant');
SELECT throws_ok($$INSERT INTO tap.accounts VALUES (7, '22222222-2222-2222-2222-222222222222', 'evil')$$,
                 '42501', 'new row violates row-level security policy for table "accounts"',
                 'tenant A cannot insert a row for tenant B');
SELECT throws_ok($$INSERT INTO tap.accounts SELECT 8, '22222222-2222-2222-2222-222222222222'::uuid, 'evil'
                   UNION ALL SELECT 9, '11111111-1111-1111-1111-111111111111'::uuid, 'ok'$$,
                 '42501', 'new row violates row-level security policy for table "accounts"',
                 'a multi-row insert with one foreign row fails as a whole');
SELECT is((SELECT count(*) FROM tap.accounts WHERE id IN (8, 9)), 0::bigint, '... and inserts nothing');
-- a key that exists for another tenant: the conflict is reported, the row is not shown or changed
SELECT throws_ok($$INSERT INTO tap.accounts (id, name) VALUES (3, 'steal')$$, '23505', NULL,
                 'a duplicate key of another tenant''s row is still a unique violation');
SELECT throws_ok($$INSERT INTO tap.accounts (id, name) VALUES (3, 'steal') ON CONFLICT (id) DO UPDATE SET name = 'stolen'$$,
                 '42501', 'new row violates row-level security policy (USING expression) for table "accounts"', 'ON CONFLICT DO UPDATE cannot take over another tenant''s row');

-- updates: own rows only, never moved to another tenant
SELECT is(tap.affected($q$UPDATE tap.accounts SET name = name || '!'$q$), 3::bigint,
          'an unqualified update touches only tenant A''s three rows');
SELECT is(tap.affected($q$UPDATE tap.accounts SET name = 'hacked' WHERE id = 3$q$), 0::bigint,
          'updating B''s row by key changes nothing');
SELECT throws_ok($$UPDATE tap.accounts SET organization_id = '22222222-2222-2222-2222-222222222222' WHERE id = 1$$,
                 '42501', 'new row violates row-level security policy for table "accounts"',
                 'a row cannot be moved to another tenant');
SELECT throws_ok($$UPDATE tap.accounts SET organization_id = NULL WHERE id = 1$$,
                 '42501', 'new row violates row-level security policy for table "accounts"',
                 'nor stripped of its tenant');

-- deletes: own rows only
SELECT is(tap.affected($q$DELETE FROM tap.accounts WHERE id IN (2, 3, 5)$q$), 1::bigint,
          'a delete naming rows of three tenants removes only tenant A''s');

-- tenant B
SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222');
SELECT results_eq('SELECT id, name FROM tap.accounts ORDER BY id', $$VALUES (3, 'b1'), (4, 'b2')$$,
                  'tenant B sees its rows, unchanged by tenant A');
SELECT is(tap.affected($q$DELETE FROM tap.accounts$q$), 2::bigint,
          'tenant B deletes all it can see: its two rows');

-- savepoints: a rolled-back switch restores the previous tenant
SAVEPOINT switch;
SELECT tenantcore.set_tenant('33333333-3333-3333-3333-333333333333');
SELECT results_eq('SELECT id FROM tap.accounts', 'VALUES (5)', 'after switching to C, C''s row');
ROLLBACK TO SAVEPOINT switch;
SELECT is(tenantcore.current_tenant(), '22222222-2222-2222-2222-222222222222'::uuid,
          'rolling back to the savepoint restores tenant B');
SELECT is_empty('SELECT id FROM tap.accounts', 'and B sees again its (now deleted) nothing');

-- clear_tenant: back to no tenant
SELECT tenantcore.clear_tenant();
SELECT is((SELECT count(*) FROM tap.accounts), 0::bigint, 'after clear_tenant nothing is visible');

-- the application role cannot relax the mode, switch RLS off or drop the policy
SELECT throws_ok($$SET tenantcore.missing_tenant = 'deny'$$, '42501',
                 'permission denied to set parameter "tenantcore.missing_tenant"',
                 'the application role cannot change missing_tenant');
SELECT throws_ok('ALTER TABLE tap.accounts DISABLE ROW LEVEL SECURITY', '42501',
                 'must be owner of table accounts', 'the application role cannot disable RLS');
SELECT throws_ok('DROP POLICY tenantcore_isolation ON tap.accounts', '42501',
                 'must be owner of relation accounts', 'the application role cannot drop the policy');
SELECT throws_ok($$SELECT tenantcore.unisolate('tap.accounts')$$, '42501',
                 'must be owner of table tap.accounts', 'the application role cannot unisolate');
SELECT throws_ok('TRUNCATE tap.accounts', '42501', 'permission denied for table accounts',
                 'the application role cannot TRUNCATE past the policy');

-- what the superuser sees: everything that survived, each row with its tenant
RESET ROLE;
SELECT results_eq('SELECT id, organization_id::text, name FROM tap.accounts ORDER BY id',
                  $$VALUES (1, '11111111-1111-1111-1111-111111111111', 'a1!'),
                           (5, '33333333-3333-3333-3333-333333333333', 'c1'),
                           (6, '11111111-1111-1111-1111-111111111111', 'a3!')$$,
                  'the table holds exactly what the tenants were allowed to write');

-- missing_tenant = error (set by a superuser, e.g. in postgresql.conf or ALTER ROLE)
SET LOCAL tenantcore.missing_tenant = 'error';
SET LOCAL ROLE tc_tap_app;
SELECT throws_ok('SELECT * FROM tap.accounts', '42501', 'no tenant is set',
                 'error mode: reading without a tenant raises');
SELECT throws_ok($$INSERT INTO tap.accounts (id, name) VALUES (20, 'x')$$, '42501', 'no tenant is set',
                 'error mode: inserting without a tenant raises');
SELECT tenantcore.set_tenant('33333333-3333-3333-3333-333333333333');
SELECT results_eq('SELECT id FROM tap.accounts', 'VALUES (5)', 'error mode: with a tenant, reads work');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
