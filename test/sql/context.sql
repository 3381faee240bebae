-- tenantcore: tenant and actor context (src/context.c)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- nothing set: NULL (missing_tenant = deny is the default)
SHOW tenantcore.missing_tenant;
SELECT tenantcore.current_tenant() IS NULL AS no_tenant, tenantcore.current_actor() IS NULL AS no_actor;

-- the function attributes the planner relies on
SELECT p.proname, p.provolatile, p.proparallel, p.proleakproof, p.prosecdef
  FROM pg_proc p WHERE p.pronamespace = 'tenantcore'::regnamespace
   AND p.proname IN ('current_tenant', 'current_actor', 'set_tenant', 'set_actor', 'clear_tenant')
 ORDER BY 1;

-- the settings validate their value in the check hook
SET tenantcore.tenant_id = 'nope';
SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1';
SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111';
SET tenantcore.tenant_id = 'a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11';
SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-';
SET tenantcore.tenant_id = ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SET tenantcore.tenant_id = '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SET tenantcore.tenant_id = 'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SET tenantcore.actor_id = 'not-a-uuid';
SET tenantcore.actor_id = '1';
-- a failed SET leaves the previous value
SELECT tenantcore.current_tenant() IS NULL AS still_no_tenant;
-- every form the uuid type accepts is accepted and normalised
SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SELECT tenantcore.current_tenant();
SET tenantcore.tenant_id = '{A0EEBC999C0B4EF8BB6D6BB9BD380A11}';
SELECT tenantcore.current_tenant();
SET tenantcore.tenant_id = 'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11';
SELECT tenantcore.current_tenant();
SET tenantcore.tenant_id = '';
SELECT tenantcore.current_tenant() IS NULL AS empty_means_none;
SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
RESET tenantcore.tenant_id;
SELECT tenantcore.current_tenant() IS NULL AS reset_means_none;
-- unknown settings under the reserved prefix are refused
SET tenantcore.tenant = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SET tenantcore.missing_tenant = 'maybe';

-- set_tenant / set_actor: bad input
SELECT tenantcore.set_tenant(NULL);
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL);
SELECT tenantcore.set_tenant('nope');
SELECT tenantcore.set_actor(NULL);
SELECT tenantcore.set_actor('b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22', NULL);
SELECT tenantcore.set_actor('');

-- outside a transaction block a transaction-scoped value vanishes: WARNING
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT tenantcore.current_tenant() IS NULL AS gone_after_statement;
SELECT tenantcore.set_actor('b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22');
SELECT tenantcore.current_actor() IS NULL AS gone_after_statement;

-- transaction scope: commit
BEGIN;
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT tenantcore.set_actor('b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22');
SELECT tenantcore.current_tenant(), tenantcore.current_actor();
SHOW tenantcore.tenant_id;
COMMIT;
SELECT tenantcore.current_tenant() IS NULL AS no_tenant_after_commit,
       tenantcore.current_actor() IS NULL AS no_actor_after_commit;

-- transaction scope: rollback
BEGIN;
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
ROLLBACK;
SELECT tenantcore.current_tenant() IS NULL AS no_tenant_after_rollback;

-- savepoints: rolling back restores the previous tenant
BEGIN;
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SAVEPOINT s1;
SELECT tenantcore.set_tenant('c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33');
SELECT tenantcore.current_tenant();
ROLLBACK TO SAVEPOINT s1;
SELECT tenantcore.current_tenant();
SAVEPOINT s2;
SELECT tenantcore.set_tenant('c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33');
RELEASE SAVEPOINT s2;
SELECT tenantcore.current_tenant();
-- an error inside a savepoint rolls the tenant back too
SAVEPOINT s3;
SELECT tenantcore.set_tenant('d3eebc99-9c0b-4ef8-bb6d-6bb9bd380a44');
SELECT 1/0;
ROLLBACK TO SAVEPOINT s3;
SELECT tenantcore.current_tenant();
COMMIT;
SELECT tenantcore.current_tenant() IS NULL AS no_tenant_after_commit;

-- session scope (is_local => false) survives the transaction, a local value
-- inside a later transaction only shadows it
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', is_local => false);
SELECT tenantcore.current_tenant();
BEGIN;
SELECT tenantcore.set_tenant('c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33');
SELECT tenantcore.current_tenant();
COMMIT;
SELECT tenantcore.current_tenant();

-- clear_tenant removes tenant and actor; undone by a rollback
SELECT tenantcore.set_actor('b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22', false);
BEGIN;
SELECT tenantcore.clear_tenant();
SELECT tenantcore.current_tenant() IS NULL AS cleared, tenantcore.current_actor() IS NULL AS cleared;
ROLLBACK;
SELECT tenantcore.current_tenant(), tenantcore.current_actor();
SELECT tenantcore.clear_tenant();
SELECT tenantcore.current_tenant() IS NULL AS cleared, tenantcore.current_actor() IS NULL AS cleared;
BEGIN;
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT tenantcore.clear_tenant();
SELECT tenantcore.current_tenant() IS NULL AS cleared_local_value;
COMMIT;
SELECT tenantcore.current_tenant() IS NULL AS cleared;

-- missing_tenant = error
SET tenantcore.missing_tenant = 'error';
SELECT tenantcore.current_tenant();
SELECT tenantcore.current_actor() IS NULL AS actor_is_never_an_error;
BEGIN;
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT tenantcore.current_tenant();
COMMIT;
SELECT tenantcore.current_tenant();
RESET tenantcore.missing_tenant;
SELECT tenantcore.current_tenant() IS NULL AS deny_again;

-- missing_tenant is superuser-only, so an application role cannot relax it
CREATE ROLE tc_ctx_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_ctx_app');
SET ROLE tc_ctx_app;
SET tenantcore.missing_tenant = 'deny';
SET tenantcore.jwt_tenant_claim = 'org';
-- but it may use the context functions
BEGIN;
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT tenantcore.current_tenant();
COMMIT;
RESET ROLE;

-- JWT claims fallback (PostgREST request.jwt.claims)
SELECT set_config('request.jwt.claims', '{"org": "e4eebc99-9c0b-4ef8-bb6d-6bb9bd380a55", "sub": "f5eebc99-9c0b-4ef8-bb6d-6bb9bd380a66", "role": "web"}', false);
-- no claim configured: the claims are ignored
SELECT tenantcore.current_tenant() IS NULL AS no_fallback, tenantcore.current_actor() IS NULL AS no_fallback;
SET tenantcore.jwt_tenant_claim = 'org';
SET tenantcore.jwt_actor_claim = 'sub';
SELECT tenantcore.current_tenant(), tenantcore.current_actor();
-- an explicit tenant wins over the claim
BEGIN;
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT tenantcore.current_tenant();
COMMIT;
-- the claims change (next request on the same connection)
SELECT set_config('request.jwt.claims', '{"org": "c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33"}', false);
SELECT tenantcore.current_tenant(), tenantcore.current_actor() IS NULL AS no_sub_claim;
-- claim missing, null, not a uuid, claims not JSON, not an object
SET tenantcore.jwt_tenant_claim = 'tenant';
SELECT tenantcore.current_tenant() IS NULL AS missing_claim;
SELECT set_config('request.jwt.claims', '{"tenant": null}', false);
SELECT tenantcore.current_tenant() IS NULL AS null_claim;
SELECT set_config('request.jwt.claims', '{"tenant": "acme"}', false);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '{"tenant": 42}', false);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '{"tenant": ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]}', false);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '[1, 2]', false);
SELECT tenantcore.current_tenant() IS NULL AS not_an_object;
SELECT set_config('request.jwt.claims', '{not json', false);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '', false);
SELECT tenantcore.current_tenant() IS NULL AS empty_claims;
-- missing_tenant = error applies when neither the setting nor the claim names a tenant
SET tenantcore.missing_tenant = 'error';
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '{"tenant": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}', false);
SELECT tenantcore.current_tenant();
RESET tenantcore.missing_tenant;
RESET tenantcore.jwt_tenant_claim;
RESET tenantcore.jwt_actor_claim;
SELECT tenantcore.current_tenant() IS NULL AS fallback_off;

DROP OWNED BY tc_ctx_app;
DROP ROLE tc_ctx_app;
