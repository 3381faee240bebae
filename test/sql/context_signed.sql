-- tenantcore: signed context mode without keys (src/context.c, src/jwt.c)
-- In signed mode only tenantcore.set_context_token() sets the tenant and the
-- actor; every other way is refused, and the application role cannot leave
-- the mode.  Tokens that verify are tested in test/shell/jwt_tokens.sh (it
-- generates keys); here every token fails before a key is needed.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
SELECT current_user AS superuser \gset

-- the mode is a superuser setting, open by default
SELECT name, setting, context, enumvals FROM pg_settings WHERE name = 'tenantcore.context_mode';
SELECT name, context FROM pg_settings
 WHERE name IN ('tenantcore.jwt_issuer', 'tenantcore.jwt_audience', 'tenantcore.jwt_leeway',
                'tenantcore.jwt_cache_size', 'tenantcore.jwt_tenant_claim', 'tenantcore.jwt_actor_claim')
 ORDER BY 1;
SELECT name, context FROM pg_settings WHERE name = 'tenantcore.jwt_keys_file';

CREATE ROLE tc_sig_app LOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE tc_sig_owner NOLOGIN;
SELECT tenantcore.grant_app_role('tc_sig_app');
ALTER ROLE tc_sig_app SET tenantcore.context_mode = 'signed';
ALTER ROLE tc_sig_app SET tenantcore.jwt_tenant_claim = 'org';
CREATE SCHEMA sig AUTHORIZATION tc_sig_owner;
GRANT USAGE ON SCHEMA sig TO tc_sig_app;
CREATE TABLE sig.notes (organization_id uuid NOT NULL, body text NOT NULL);
INSERT INTO sig.notes VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a note of A'),
                             ('c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33', 'a note of C');
SELECT tenantcore.isolate('sig.notes');
ALTER TABLE sig.notes OWNER TO tc_sig_owner;
GRANT SELECT, INSERT ON sig.notes TO tc_sig_app;
-- a function given a tenant SET clause before 0.7.0 refused that (written into the catalog here)
CREATE FUNCTION sig.pinned() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM sig.notes';
UPDATE pg_proc SET proconfig = '{tenantcore.tenant_id=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'
 WHERE oid = 'sig.pinned'::regproc;

\c - tc_sig_app
SHOW tenantcore.context_mode;
-- every way of setting the tenant or the actor but a token is refused
SET tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SET tenantcore.actor_id = 'b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22';
SELECT set_config('tenantcore.tenant_id', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', false);
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT tenantcore.set_tenant('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', false);
SELECT tenantcore.set_actor('b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22');
BEGIN;
SET LOCAL tenantcore.tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
ROLLBACK;
BEGIN;
SELECT set_config('tenantcore.tenant_id', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true);
ROLLBACK;
SELECT sig.pinned();
-- so no row is visible
SELECT count(*) AS visible FROM sig.notes;
-- clearing stays allowed
SET tenantcore.tenant_id = '';
RESET tenantcore.tenant_id;
SELECT tenantcore.clear_tenant();
-- the PostgREST claims fallback is not a verified source
SELECT set_config('request.jwt.claims', '{"org": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}', false);
SELECT count(*) FROM sig.notes;
SELECT set_config('request.jwt.claims', '', false);
-- the mode and the verification settings cannot be loosened
SET tenantcore.context_mode = 'open';
SELECT set_config('tenantcore.context_mode', 'open', true);
RESET tenantcore.context_mode;
SET tenantcore.jwt_issuer = '';
SET tenantcore.jwt_leeway = 300;
SET tenantcore.jwt_tenant_claim = 'other';
SHOW tenantcore.jwt_keys_file;
SELECT count(*) AS key_file_in_pg_settings FROM pg_settings WHERE name = 'tenantcore.jwt_keys_file';
CREATE FUNCTION pg_temp.opened() RETURNS int LANGUAGE sql SET tenantcore.context_mode = 'open' AS 'SELECT 1';
-- RESET ALL and DISCARD ALL return to the role's default, which is signed
RESET ALL;
SHOW tenantcore.context_mode;
DISCARD ALL;
SHOW tenantcore.context_mode;

-- set_context_token(): bad tokens, refused before a key is needed
SELECT tenantcore.set_context_token(NULL);
SELECT tenantcore.set_context_token(repeat('a', 8193));
SELECT tenantcore.set_context_token('');
SELECT tenantcore.set_context_token('abc');
SELECT tenantcore.set_context_token('a.b.c.d');
-- header not base64url, not JSON, not an object; padding; bad payload
SELECT tenantcore.set_context_token('e+J9.e30.');
SELECT tenantcore.set_context_token('bm9wZQ.e30.');
SELECT tenantcore.set_context_token('WzFd.e30.');
SELECT tenantcore.set_context_token('e30=.e30.');
SELECT tenantcore.set_context_token('eyJhbGciOiJIUzI1NiJ9.bm9wZQ.');
SELECT tenantcore.set_context_token('eyJhbGciOiJIUzI1NiJ9.e30.*');
-- header {}: no alg; {"alg":"none"} and {"alg":"NONE"}; {"alg":"HS512"}; {"alg":"HS256","crit":["exp"]}
SELECT tenantcore.set_context_token('e30.e30.');
SELECT tenantcore.set_context_token('eyJhbGciOiJub25lIn0.e30.');
SELECT tenantcore.set_context_token('eyJhbGciOiJOT05FIn0.e30.');
SELECT tenantcore.set_context_token('eyJhbGciOiJIUzUxMiJ9.e30.');
SELECT tenantcore.set_context_token('eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiZXhwIl19.e30.');
-- a well-formed HS256 token, but no keys are configured
SELECT tenantcore.set_context_token('eyJhbGciOiJIUzI1NiJ9.e30.AAAA');
-- no failure left a tenant behind
SELECT tenantcore.current_tenant() IS NULL AS no_tenant, count(*) AS visible FROM sig.notes;

\c - :superuser
DROP SCHEMA sig CASCADE;
ALTER ROLE tc_sig_app RESET ALL;
DROP OWNED BY tc_sig_app;
DROP ROLE tc_sig_app;
DROP ROLE tc_sig_owner;
