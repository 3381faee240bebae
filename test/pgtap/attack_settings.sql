-- tenantcore pgTAP (adversarial suite): the scopes of the tenant setting as
-- an application role (NOSUPERUSER NOBYPASSRLS) with two tenants.  SET LOCAL,
-- set_config(..., true/false), RESET, function SET clauses and savepoints
-- rolled back or released: each attack asserts the exact rows seen afterwards;
-- a forged request.jwt.claims is ignored while the JWT fallback is off.
-- (Scopes across COMMIT, DISCARD ALL and WITH HOLD cursors are in
-- test/pgtap/autocommit/attack_scopes.sql: they need autocommit.)
BEGIN;
SELECT plan(30);

\set owner atk_s_owner
\set app atk_s_app
\set schema atk_s
\ir ../helpers/app_roles.sql
CREATE SCHEMA atk_s_mine AUTHORIZATION atk_s_app;
SET LOCAL ROLE atk_s_owner;
CREATE TABLE atk_s.docs (id int PRIMARY KEY, organization_id uuid NOT NULL, title text NOT NULL);
SELECT tenantcore.isolate('atk_s.docs');
GRANT SELECT, INSERT, UPDATE, DELETE ON atk_s.docs TO atk_s_app;
RESET ROLE;
INSERT INTO atk_s.docs VALUES
    (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'a1'), (2, 'aaaaaaaa-0000-4000-8000-000000000001', 'a2'),
    (3, 'bbbbbbbb-0000-4000-8000-000000000002', 'b1'), (4, 'bbbbbbbb-0000-4000-8000-000000000002', 'b2'),
    (5, 'bbbbbbbb-0000-4000-8000-000000000002', 'b3');

-- ids() lists the ids the caller sees, in order
CREATE FUNCTION atk_s.ids() RETURNS int[] LANGUAGE sql STABLE AS 'SELECT coalesce(array_agg(id ORDER BY id), ''{}'') FROM atk_s.docs';
SET LOCAL ROLE atk_s_app;
-- a function of the application role that clears the tenant with a SET clause
-- (a SET clause choosing a tenant is refused, test 10)
CREATE FUNCTION atk_s_mine.ids_cleared() RETURNS int[] LANGUAGE sql
    SET tenantcore.tenant_id = '' AS 'SELECT atk_s.ids()';

-- 1-3: SET LOCAL and set_config(..., true)
SELECT is(atk_s.ids(), '{}'::int[], 'no tenant: no row');
SET LOCAL tenantcore.tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001';
SELECT is(atk_s.ids(), '{1,2}'::int[], 'SET LOCAL tenant A: only A''s rows');
SELECT set_config('tenantcore.tenant_id', 'bbbbbbbb-0000-4000-8000-000000000002', true);
SELECT is(atk_s.ids(), '{3,4,5}'::int[], 'set_config(..., true) tenant B: only B''s rows');

-- 4-6: RESET and the empty value
RESET tenantcore.tenant_id;
SELECT is(atk_s.ids(), '{}'::int[], 'RESET: back to no tenant, no row');
SELECT is(tenantcore.current_tenant(), NULL::uuid, 'RESET: current_tenant() is NULL');
SET LOCAL tenantcore.tenant_id = '';
SELECT is(atk_s.ids(), '{}'::int[], 'the empty value is no tenant, no row');

-- 7-9: values that are not a uuid are refused by the setting itself
SELECT throws_ok($$SET LOCAL tenantcore.tenant_id = 'aaaaaaaa-0000-4000-8000-000000000001'' OR true --'$$, '22P02',
                 'invalid value for parameter "tenantcore.tenant_id": "aaaaaaaa-0000-4000-8000-000000000001'' OR true --"',
                 'an injected policy expression is not a uuid');
SELECT throws_ok($$SELECT set_config('tenantcore.tenant_id', 'aaaaaaaa-0000-4000-8000-000000000001,bbbbbbbb-0000-4000-8000-000000000002', true)$$,
                 '22P02', NULL, 'a list of two tenants is not a uuid');
SELECT is(atk_s.ids(), '{}'::int[], 'after the refused values: still no tenant');

-- 10-13: a function SET clause cannot choose a tenant; clearing lasts only for the call
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SELECT throws_ok($$CREATE FUNCTION atk_s_mine.ids_as_b() RETURNS int[] LANGUAGE sql
                   SET tenantcore.tenant_id = 'bbbbbbbb-0000-4000-8000-000000000002' AS 'SELECT atk_s.ids()'$$,
                 '22023', 'tenantcore.tenant_id cannot be stored as a role, database or function setting',
                 'a function with SET tenant_id = B is refused at creation');
SELECT is(atk_s.ids(), '{1,2}'::int[], '... and tenant A is still the tenant');
SELECT is(atk_s_mine.ids_cleared(), '{}'::int[], 'a function with SET tenant_id = '''' sees no row');
SELECT is(tenantcore.current_tenant(), 'aaaaaaaa-0000-4000-8000-000000000001'::uuid, '... and tenant A is back after it');

-- 14-19: savepoints: a tenant set inside a rolled-back savepoint does not survive
SAVEPOINT s1;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
SELECT is(atk_s.ids(), '{3,4,5}'::int[], 'inside the savepoint: tenant B');
ROLLBACK TO SAVEPOINT s1;
SELECT is(atk_s.ids(), '{1,2}'::int[], 'ROLLBACK TO SAVEPOINT: tenant A again, not B');
SAVEPOINT s2;
SELECT set_config('tenantcore.tenant_id', 'bbbbbbbb-0000-4000-8000-000000000002', false);
ROLLBACK TO SAVEPOINT s2;
SELECT is(atk_s.ids(), '{1,2}'::int[], 'a session-level set_config inside a rolled-back savepoint is undone too');
SAVEPOINT s3;
SELECT tenantcore.clear_tenant();
ROLLBACK TO SAVEPOINT s3;
SELECT is(atk_s.ids(), '{1,2}'::int[], 'clear_tenant() inside a rolled-back savepoint is undone');
SAVEPOINT s4;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
RELEASE SAVEPOINT s4;
SELECT is(atk_s.ids(), '{3,4,5}'::int[], 'RELEASE SAVEPOINT keeps tenant B (the transaction''s value)');
SAVEPOINT s5;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SAVEPOINT s6;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
RELEASE SAVEPOINT s6;
ROLLBACK TO SAVEPOINT s5;
SELECT is(atk_s.ids(), '{3,4,5}'::int[], 'a released inner savepoint is undone with its rolled-back outer one');

-- 20-21: an error inside a subtransaction undoes its SET too
SAVEPOINT s7;
SELECT throws_ok($q$DO $do$ BEGIN PERFORM tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001'); RAISE EXCEPTION 'boom'; END $do$$q$,
                 'P0001', 'boom', 'a block that sets tenant A and fails');
ROLLBACK TO SAVEPOINT s7;
SELECT is(atk_s.ids(), '{3,4,5}'::int[], '... leaves tenant B');

-- 22-23: the application role cannot change the superuser-only settings
SELECT throws_ok($$SET LOCAL tenantcore.jwt_tenant_claim = 'org_id'$$, '42501',
                 'permission denied to set parameter "tenantcore.jwt_tenant_claim"', 'the JWT fallback cannot be switched on by the application');
SELECT throws_ok($$SET LOCAL tenantcore.missing_tenant = 'deny'$$, '42501',
                 'permission denied to set parameter "tenantcore.missing_tenant"', 'missing_tenant cannot be changed by the application');

-- 24-26: a forged request.jwt.claims while the JWT fallback is off (the default): ignored
SELECT tenantcore.clear_tenant();
SELECT set_config('request.jwt.claims', '{"org_id": "bbbbbbbb-0000-4000-8000-000000000002", "sub": "bbbbbbbb-0000-4000-8000-0000000000ff"}', true);
SELECT is(tenantcore.current_tenant(), NULL::uuid, 'fallback off: a forged claim gives no tenant');
SELECT is(tenantcore.current_actor(), NULL::uuid, 'fallback off: a forged claim gives no actor');
SELECT is(atk_s.ids(), '{}'::int[], 'fallback off: a forged claim shows no row');

-- 27-30: with the fallback on (set by the DBA) the claim names the tenant, but an
-- explicit tenant wins, and a claim that is not a uuid is an error, not a tenant
RESET ROLE;
SET LOCAL tenantcore.jwt_tenant_claim = 'org_id';
SET LOCAL ROLE atk_s_app;
SELECT is(atk_s.ids(), '{3,4,5}'::int[], 'fallback on: the claim''s tenant, only its rows (whoever sets request.jwt.claims picks the tenant)');
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SELECT is(atk_s.ids(), '{1,2}'::int[], 'fallback on: an explicit tenant takes precedence over the claim');
SELECT tenantcore.clear_tenant();
SELECT set_config('request.jwt.claims', '{"org_id": "x'' OR true --"}', true);
SELECT throws_ok('SELECT atk_s.ids()', '22P02', 'claim "org_id" of request.jwt.claims is not a uuid',
                 'fallback on: an injected claim is an error');
SELECT set_config('request.jwt.claims', '{"org_id": ["aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"]}', true);
SELECT throws_ok('SELECT atk_s.ids()', '22P02', 'claim "org_id" of request.jwt.claims is not a uuid',
                 'fallback on: a list of tenants in the claim is an error');

SELECT * FROM finish();
ROLLBACK;
