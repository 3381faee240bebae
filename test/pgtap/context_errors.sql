-- tenantcore pgTAP: SQLSTATEs and messages of the tenant context, as an
-- application role, and the tenant in parallel workers.
BEGIN;
SELECT plan(17);

CREATE ROLE tc_tap_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_tap_app');
SET LOCAL ROLE tc_tap_app;

SELECT throws_ok($$SET tenantcore.tenant_id = 'nope'$$, '22P02',
                 'invalid value for parameter "tenantcore.tenant_id": "nope"', 'SET of a malformed tenant id');
SELECT throws_ok($$SELECT set_config('tenantcore.tenant_id', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', true)$$, '22P02',
                 'invalid value for parameter "tenantcore.tenant_id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"',
                 'set_config of a short tenant id');
SELECT throws_ok($$SET tenantcore.actor_id = '''; DROP TABLE x; --'$$, '22P02',
                 'invalid value for parameter "tenantcore.actor_id": "''; DROP TABLE x; --"', 'SET of an injection-like actor id');
SELECT throws_ok($$SELECT tenantcore.set_tenant(NULL)$$, '22004', 'set_tenant() requires a non-null id',
                 'set_tenant(NULL)');
SELECT throws_ok($$SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL)$$, '22004',
                 'is_local must not be null', 'set_tenant(id, NULL)');
SELECT throws_ok($$SELECT tenantcore.set_actor(NULL)$$, '22004', 'set_actor() requires a non-null id', 'set_actor(NULL)');
SELECT throws_ok($$SELECT tenantcore.set_tenant('nope')$$, '22P02', 'invalid input syntax for type uuid: "nope"',
                 'set_tenant of a malformed uuid');
SELECT throws_ok($$SELECT set_config('tenantcore.tenant_id', repeat('a', 1000000), true)$$, '22P02', NULL,
                 'set_tenant of a huge value');
SELECT throws_ok($$SET tenantcore.missing_tenant = 'deny'$$, '42501',
                 'permission denied to set parameter "tenantcore.missing_tenant"', 'missing_tenant is superuser-only');
SELECT throws_ok($$SET tenantcore.jwt_tenant_claim = 'org'$$, '42501',
                 'permission denied to set parameter "tenantcore.jwt_tenant_claim"', 'jwt_tenant_claim is superuser-only');
SELECT throws_ok($$SELECT tenantcore.grant_app_role('tc_tap_app')$$, '42501',
                 'permission denied for function grant_app_role', 'grant_app_role is superuser-only');
RESET ROLE;

SET LOCAL tenantcore.missing_tenant = 'error';
SET LOCAL tenantcore.jwt_tenant_claim = 'org';
SET LOCAL ROLE tc_tap_app;
SELECT throws_ok('SELECT tenantcore.current_tenant()', '42501', 'no tenant is set', 'error mode without a tenant');
SELECT set_config('request.jwt.claims', '{"org": 7}', true);
SELECT throws_ok('SELECT tenantcore.current_tenant()', '22P02', 'claim "org" of request.jwt.claims is not a uuid',
                 'a claim that is not a uuid');
SELECT set_config('request.jwt.claims', '{"org": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}', true);
SELECT is(tenantcore.current_tenant(), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, 'the claim names the tenant');
RESET ROLE;
RESET tenantcore.missing_tenant;
RESET tenantcore.jwt_tenant_claim;

-- parallel workers see the tenant of the leader
CREATE TABLE public.tc_tap_par (id int, organization_id uuid NOT NULL);
SELECT tenantcore.isolate('public.tc_tap_par');
INSERT INTO public.tc_tap_par
SELECT g, ('00000000-0000-0000-0000-' || lpad((g % 10)::text, 12, '0'))::uuid FROM generate_series(1, 50000) g;
ANALYZE public.tc_tap_par;
GRANT SELECT ON public.tc_tap_par TO tc_tap_app;
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL ROLE tc_tap_app;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-000000000007');
SELECT is((SELECT count(*) FROM public.tc_tap_par), 5000::bigint, 'a parallel scan counts the tenant''s rows only');
SELECT is((SELECT count(DISTINCT organization_id) FROM public.tc_tap_par), 1::bigint, 'of one tenant');
SELECT tenantcore.clear_tenant();
SELECT is((SELECT count(*) FROM public.tc_tap_par), 0::bigint, 'a parallel scan without a tenant finds nothing');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
