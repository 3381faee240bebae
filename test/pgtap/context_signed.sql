-- tenantcore pgTAP: signed context mode as seen by a non-owner application
-- role with two tenants: every setter but set_context_token() is refused with
-- SQLSTATE 42501 and leaves no tenant, the mode cannot be lowered, bad tokens
-- fail with 28000, stored tenants are refused (22023).  Tokens that verify:
-- test/shell/jwt_tokens.sh.
BEGIN;
SELECT plan(24);

CREATE ROLE tc_tap_sig_owner NOLOGIN;
CREATE ROLE tc_tap_sig_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_tap_sig_app');
CREATE SCHEMA tap_sig AUTHORIZATION tc_tap_sig_owner;
GRANT USAGE ON SCHEMA tap_sig TO tc_tap_sig_app;
CREATE TABLE tap_sig.docs (organization_id uuid NOT NULL, title text NOT NULL);
INSERT INTO tap_sig.docs VALUES ('11111111-1111-1111-1111-111111111111', 'a'),
                                ('22222222-2222-2222-2222-222222222222', 'b');
SELECT tenantcore.isolate('tap_sig.docs');
ALTER TABLE tap_sig.docs OWNER TO tc_tap_sig_owner;
GRANT SELECT, INSERT ON tap_sig.docs TO tc_tap_sig_app;

-- in open mode (the default) the application role sets its tenant itself
SET LOCAL ROLE tc_tap_sig_app;
SELECT is(current_setting('tenantcore.context_mode'), 'open', 'open is the default mode');
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
SELECT is((SELECT string_agg(title, ',') FROM tap_sig.docs), 'a', 'open mode: set_tenant() selects the tenant');
SELECT tenantcore.clear_tenant();
RESET ROLE;

-- the DBA switches to signed mode (per role in production: ALTER ROLE ... SET)
SET LOCAL tenantcore.context_mode = 'signed';
SET LOCAL tenantcore.jwt_tenant_claim = 'org';
SET LOCAL ROLE tc_tap_sig_app;
SELECT throws_ok($$SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222')$$,
                 '42501', 'set_tenant() is not allowed in signed context mode', 'signed: set_tenant() refused');
SELECT throws_ok($$SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222', false)$$,
                 '42501', 'set_tenant() is not allowed in signed context mode', 'signed: set_tenant(is_local => false) refused');
SELECT throws_ok($$SELECT tenantcore.set_actor('22222222-2222-2222-2222-222222222222')$$,
                 '42501', 'set_actor() is not allowed in signed context mode', 'signed: set_actor() refused');
SELECT throws_ok($$SET tenantcore.tenant_id = '22222222-2222-2222-2222-222222222222'$$,
                 '42501', 'tenantcore.tenant_id cannot be set in signed context mode', 'signed: SET refused');
SELECT throws_ok($$SET LOCAL tenantcore.actor_id = '22222222-2222-2222-2222-222222222222'$$,
                 '42501', 'tenantcore.actor_id cannot be set in signed context mode', 'signed: SET LOCAL of the actor refused');
SELECT throws_ok($$SELECT set_config('tenantcore.tenant_id', '22222222-2222-2222-2222-222222222222', true)$$,
                 '42501', 'tenantcore.tenant_id cannot be set in signed context mode', 'signed: set_config() refused');
SELECT is((SELECT count(*) FROM tap_sig.docs), 0::bigint, 'signed: no refused attempt left a tenant, no row is visible');
SELECT lives_ok($$SELECT tenantcore.clear_tenant()$$, 'signed: clear_tenant() still works');
SELECT lives_ok($$SET tenantcore.tenant_id = ''$$, 'signed: setting an empty tenant still works');
SELECT set_config('request.jwt.claims', '{"org": "22222222-2222-2222-2222-222222222222"}', true);
SELECT throws_ok($$SELECT count(*) FROM tap_sig.docs$$,
                 '42501', 'request.jwt.claims is not trusted in signed context mode', 'signed: the request.jwt.claims fallback is refused');
SELECT set_config('request.jwt.claims', '', true);

-- the application role cannot lower the mode or loosen verification
SELECT throws_ok($$SET tenantcore.context_mode = 'open'$$,
                 '42501', 'permission denied to set parameter "tenantcore.context_mode"', 'SET context_mode refused');
SELECT throws_ok($$SELECT set_config('tenantcore.context_mode', 'open', true)$$,
                 '42501', 'permission denied to set parameter "tenantcore.context_mode"', 'set_config(context_mode) refused');
SELECT throws_ok($$RESET tenantcore.context_mode$$,
                 '42501', 'permission denied to set parameter "tenantcore.context_mode"', 'RESET context_mode refused');
SELECT throws_ok($$SET tenantcore.jwt_audience = ''$$,
                 '42501', 'permission denied to set parameter "tenantcore.jwt_audience"', 'SET jwt_audience refused');
SELECT is(current_setting('tenantcore.context_mode'), 'signed', 'still signed');

-- bad tokens: SQLSTATE 28000, and no tenant after them
SELECT throws_ok($$SELECT tenantcore.set_context_token('eyJhbGciOiJub25lIn0.eyJvcmciOiIyMjIyMjIyMi0yMjIyLTIyMjItMjIyMi0yMjIyMjIyMjIyMjIifQ.')$$,
                 '28000', 'token algorithm "none" is not accepted', 'alg none refused');
SELECT throws_ok($$SELECT tenantcore.set_context_token('not a token')$$,
                 '28000', 'token is not a compact JWS', 'garbage refused');
SELECT throws_ok($$SELECT tenantcore.set_context_token(repeat('x', 9000))$$,
                 '28000', 'token is too long', 'oversized token refused');
SELECT is((SELECT count(*) FROM tap_sig.docs), 0::bigint, 'no refused token left a tenant');

-- stored tenants pin nothing, for the application role nor for a superuser
SELECT throws_ok($$ALTER ROLE tc_tap_sig_app SET tenantcore.tenant_id = '22222222-2222-2222-2222-222222222222'$$,
                 '22023', 'tenantcore.tenant_id cannot be stored as a role, database or function setting',
                 'the application role cannot pin its tenant with ALTER ROLE');
RESET ROLE;
SELECT throws_ok($$ALTER DATABASE tenantcore_tap SET tenantcore.tenant_id = '22222222-2222-2222-2222-222222222222'$$,
                 '22023', 'tenantcore.tenant_id cannot be stored as a role, database or function setting',
                 'a superuser cannot pin a tenant with ALTER DATABASE');
SELECT throws_ok($$CREATE FUNCTION tap_sig.f() RETURNS int LANGUAGE sql SET tenantcore.actor_id = '22222222-2222-2222-2222-222222222222' AS 'SELECT 1'$$,
                 '22023', 'tenantcore.actor_id cannot be stored as a role, database or function setting',
                 'a function SET clause cannot pin an actor');

SELECT * FROM finish();
ROLLBACK;
