-- tenantcore pgTAP (red-team review of 0.7.0, findings F1, F4, F6, F8): ways
-- around signed context mode that need no key.
-- F1: tenantcore.context_token (the token setting of Citus nodes) cannot be
--     set for the session (SET, set_config(..., false)), by set_config() at
--     all, nor, on a server without Citus, by SET LOCAL: refused before the
--     token is looked at (tokens that verify: test/shell/jwt_tokens.sh).
-- F4: in signed mode, an application role without a tenant gets no other
--     tenant's ciphertext or blind index from the protect helpers, for a
--     table it owns; temporary tables are refused by the registry and the
--     helpers; a superuser (the DBA) still may, and open mode is unchanged.
-- F6: create_session()'s year is also a calendar year.
-- F8: the functions that run without a tenant clear the token setting too.
BEGIN;
SELECT plan(21);

\set owner rt1_owner
\set app rt1_app
\set schema rt1
\ir ../helpers/app_roles.sql
CREATE SCHEMA rt1_mine AUTHORIZATION rt1_app;
GRANT USAGE ON SCHEMA rt1_mine TO rt1_app;
SET LOCAL tenantcore.context_mode = 'signed';
SET LOCAL ROLE rt1_app;

-- 1-5 (F1): the token setting
SELECT throws_ok($$SET tenantcore.context_token = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJ4In0.c2ln'$$, '22023',
                 'tenantcore.context_token can only be set for a transaction', 'SET (session) of the token setting is refused');
SELECT throws_ok($$SELECT set_config('tenantcore.context_token', 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJ4In0.c2ln', false)$$, '22023',
                 'tenantcore.context_token can only be set for a transaction', 'set_config(..., false) of the token setting is refused');
SELECT throws_ok($$SELECT set_config('tenantcore.context_token', 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJ4In0.c2ln', true)$$, '22023',
                 'tenantcore.context_token can only be set for a transaction', 'set_config(..., true) of the token setting is refused');
SELECT throws_ok($$SET LOCAL tenantcore.context_token = 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJ4In0.c2ln'$$, '22023',
                 'tenantcore.context_token is only used on the nodes of a Citus cluster', 'SET LOCAL of the token setting is refused without Citus');
SELECT lives_ok($$SET LOCAL tenantcore.context_token = ''$$, 'the empty value (clear_tenant()) is accepted');

-- 6-13 (F4): the protect helpers without a tenant in signed mode
CREATE TABLE rt1_mine.t (organization_id uuid, email text, email_enc bytea, email_bidx bytea);
INSERT INTO tenantcore.protected_columns (rel, column_name, encrypted_column, blind_index_column, blind_index_purpose, tenant_column, view_name)
VALUES ('rt1_mine.t'::regclass, 'email', 'email_enc', 'email_bidx', 'default', 'organization_id', 't_v');
SELECT tenantcore.clear_tenant();
SELECT throws_ok($$SELECT tenantcore._protect_blind_index('rt1_mine.t', 'bbbbbbbb-0000-4000-8000-000000000002', 'bob@example.com', 'default')$$,
                 '42501', 'no tenant is set', 'signed, no tenant: no blind index of another tenant');
SELECT throws_ok($$SELECT tenantcore._protect_encrypt('rt1_mine.t', 'bbbbbbbb-0000-4000-8000-000000000002', 'planted')$$,
                 '42501', 'no tenant is set', 'signed, no tenant: no ciphertext for another tenant');
SELECT throws_ok($$SELECT tenantcore._reencrypt_value('rt1_mine.t', 'bbbbbbbb-0000-4000-8000-000000000002', '\x00')$$,
                 '42501', 'no tenant is set', 'signed, no tenant: no re-encryption for another tenant');
SELECT throws_ok($$SELECT tenantcore._needs_reencrypt('rt1_mine.t', 'bbbbbbbb-0000-4000-8000-000000000002', '\x00')$$,
                 '42501', 'no tenant is set', 'signed, no tenant: not even the key version of another tenant');
CREATE TEMP TABLE tt (organization_id uuid, email text, email_enc bytea, email_bidx bytea);
SELECT throws_ok($$INSERT INTO tenantcore.protected_columns (rel, column_name, encrypted_column, blind_index_column, blind_index_purpose, tenant_column, view_name)
                   VALUES ('pg_temp.tt'::regclass, 'email', 'email_enc', 'email_bidx', 'default', 'organization_id', 'tt_v')$$,
                 '42501', 'new row violates row-level security policy for table "protected_columns"', 'a temporary table cannot be registered');
SELECT throws_ok($$SELECT tenantcore._protect_encrypt('pg_temp.tt', 'bbbbbbbb-0000-4000-8000-000000000002', 'planted')$$,
                 '0A000', 'temporary table tt cannot have protected columns', 'the helpers refuse a temporary table');
SELECT throws_ok($$SELECT tenantcore._protect_install_trigger('pg_temp.tt', 'email')$$,
                 '0A000', 'temporary table tt cannot have protected columns', 'no protect trigger on a temporary table');
-- open mode: the owner without a tenant works on every tenant's rows (protect() of a table)
RESET ROLE;
SET LOCAL tenantcore.context_mode = 'open';
SET LOCAL ROLE rt1_app;
SELECT isnt(tenantcore._protect_encrypt('rt1_mine.t', 'bbbbbbbb-0000-4000-8000-000000000002', 'x'), NULL,
            'open mode, no tenant: the owner may (unchanged)');

-- 14-15 (F4): the DBA in signed mode acts for every tenant; protect() as a superuser
RESET ROLE;
SET LOCAL tenantcore.context_mode = 'signed';
SELECT isnt(tenantcore._protect_encrypt('rt1_mine.t', 'cccccccc-0000-4000-8000-000000000003', 'x'), NULL,
            'signed, no tenant, superuser: allowed');
CREATE TABLE rt1.multi (organization_id uuid NOT NULL, email text);
INSERT INTO rt1.multi VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'a@x'), ('bbbbbbbb-0000-4000-8000-000000000002', 'b@x');
SELECT lives_ok($$SELECT tenantcore.protect('rt1.multi', 'email', true)$$, 'signed, superuser: protect() of a table with two tenants');
SET LOCAL tenantcore.context_mode = 'open';

-- 16-19 (F6): a calendar year
SELECT tenantcore.set_actor(tenantcore.create_user('rt1-ttl@example.com'));
SELECT tenantcore.set_tenant(tenantcore.create_organization('rt1 ttl', 'rt1-ttl'));
SELECT throws_ok($$SELECT tenantcore.create_session(tenantcore.current_actor(), interval '11 months 35 days 6 hours')$$, '22023',
                 'create_session: ttl must be at most 1 year, not 11 mons 35 days 06:00:00', 'months and days beyond a calendar year are refused');
SELECT throws_ok($$SELECT tenantcore.create_session(tenantcore.current_actor(), interval '12 months 1 day -6 hours')$$, '22023',
                 'create_session: ttl must be at most 1 year, not 1 year 1 day -06:00:00', 'a year and a day less six hours is refused');
SELECT throws_ok($$SELECT tenantcore.create_session(tenantcore.current_actor(), interval '5000000 years -1826249700 days')$$, '22023',
                 'create_session: ttl must be at most 1 year, not 5000000 years -1826249700 days', 'months that overflow the timestamp are refused');
SELECT ok(tenantcore.create_session(tenantcore.current_actor(), interval '1 year') LIKE 'tcs_%', 'one year is fine');

-- 20-21 (F8): no tenant from any source
SELECT ok('tenantcore.context_token=' = ANY (proconfig) AND 'tenantcore.tenant_id=' = ANY (proconfig),
          '_invited_user() clears the tenant and the token setting')
  FROM pg_proc WHERE oid = 'tenantcore._invited_user(text)'::regprocedure;
SELECT ok('tenantcore.context_token=' = ANY (proconfig) AND 'tenantcore.tenant_id=' = ANY (proconfig),
          'erase_subject() clears the tenant and the token setting')
  FROM pg_proc WHERE oid = 'tenantcore.erase_subject(uuid)'::regprocedure;

SELECT * FROM finish();
ROLLBACK;
