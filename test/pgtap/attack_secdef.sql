-- tenantcore pgTAP (adversarial suite): every SECURITY DEFINER function of
-- tenantcore that an application role (NOSUPERUSER NOBYPASSRLS) may execute,
-- with two tenants: called with hostile identifiers and values (injection
-- strings, 100 kB strings, NULLs, empty strings, other tenants' ids,
-- non-existent ids) each gives its exact error or result and changes nothing
-- of the other tenant; called with objects of the role in a schema early in
-- search_path and in pg_temp shadowing tenantcore's and the catalog's names,
-- none of them is ever picked up.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(12);

CREATE ROLE atk_d_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('atk_d_app');
CREATE SCHEMA atk_d AUTHORIZATION atk_d_app;
-- a sentinel the injections try to drop
CREATE TABLE atk_d.sentinel (v int);
ALTER TABLE atk_d.sentinel OWNER TO atk_d_app;
INSERT INTO tenantcore.users (id, email) VALUES
    ('a0000000-0000-4000-8000-00000000000a', 'ann@example.com'),
    ('b0000000-0000-4000-8000-00000000000b', 'ben@example.com');

-- 1: the SECURITY DEFINER functions the application role may execute: the list below
SELECT set_eq($$SELECT p.oid::regprocedure::text FROM pg_proc p
                  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'tenantcore'
                 WHERE p.prosecdef AND has_function_privilege('atk_d_app', p.oid, 'EXECUTE')$$,
              $$VALUES ('tenantcore._audit_on_ddl_command_end()'), ('tenantcore._audit_on_sql_drop()'),
                       ('tenantcore._audit_settled_before()'),
                       ('tenantcore._blueprints_on_rename()'), ('tenantcore._blueprints_on_sql_drop()'),
                       ('tenantcore._on_ddl_command_end()'), ('tenantcore._on_sql_drop()'), ('tenantcore._retention_on_sql_drop()'),
                       ('tenantcore.accept_invitation()'), ('tenantcore.add_member(uuid,text)'),
                       ('tenantcore.create_api_key(text,text[],timestamp with time zone)'),
                       ('tenantcore.create_organization(text,text,uuid,text)'), ('tenantcore.create_role(text,text,text[],text)'),
                       ('tenantcore.create_session(uuid,interval,text,inet)'), ('tenantcore.create_user(text,text,text,text)'),
                       ('tenantcore.delete_role(text)'), ('tenantcore.grant_role(uuid,text)'), ('tenantcore.invite_member(text,text)'),
                       ('tenantcore.my_organizations()'), ('tenantcore.remove_member(uuid)'), ('tenantcore.revoke_api_key(uuid)'),
                       ('tenantcore.revoke_role(uuid,text)'), ('tenantcore.revoke_session(text)'),
                       ('tenantcore.revoke_user_sessions(uuid)'), ('tenantcore.set_member_role(uuid,text)'),
                       ('tenantcore.validate_api_key(text,text)'), ('tenantcore.validate_session(text)')$$,
              'the SECURITY DEFINER functions open to the application role are exactly those this test attacks');
-- 2: every one of them pins search_path
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
                    JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'tenantcore'
                   WHERE p.prosecdef AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)$$,
                'every SECURITY DEFINER function of tenantcore pins search_path = pg_catalog, pg_temp');

SET LOCAL ROLE atk_d_app;
-- tenant A (ann) and tenant B (ben), each with a role, a session and an API key
SELECT tenantcore.set_actor('b0000000-0000-4000-8000-00000000000b');
SELECT set_config('atk.b', tenantcore.create_organization('B', 'atk-b')::text, true);
SELECT tenantcore.set_tenant(current_setting('atk.b')::uuid);
SELECT set_config('atk.b_session', tenantcore.create_session(), true);
SELECT set_config('atk.b_key', tenantcore.create_api_key('b key', '{teams.read}'), true);
SELECT set_config('atk.b_role', tenantcore.create_role('b_role', 'B role')::text, true);
SELECT tenantcore.clear_tenant();
SELECT tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
SELECT set_config('atk.a', tenantcore.create_organization('A', 'atk-a')::text, true);
SELECT tenantcore.set_tenant(current_setting('atk.a')::uuid);
RESET ROLE;
SELECT set_config('atk.b_key_id', (SELECT id::text FROM tenantcore.api_keys WHERE organization_id = current_setting('atk.b')::uuid), true);
-- snapshot of everything of tenant B, as superuser, to compare after the attacks
CREATE TEMP TABLE atk_b_before AS
SELECT 'organizations' AS t, to_jsonb(o) - 'updated_at' AS r FROM tenantcore.organizations o WHERE id = current_setting('atk.b')::uuid
UNION ALL SELECT 'members', to_jsonb(m) FROM tenantcore.organization_members m WHERE organization_id = current_setting('atk.b')::uuid
UNION ALL SELECT 'roles', to_jsonb(r) FROM tenantcore.roles r WHERE organization_id = current_setting('atk.b')::uuid
UNION ALL SELECT 'user_roles', to_jsonb(r) FROM tenantcore.user_roles r WHERE organization_id = current_setting('atk.b')::uuid
UNION ALL SELECT 'sessions', to_jsonb(s) - 'last_used_at' FROM tenantcore.sessions s WHERE organization_id = current_setting('atk.b')::uuid
UNION ALL SELECT 'api_keys', to_jsonb(k) - 'last_used_at' FROM tenantcore.api_keys k WHERE organization_id = current_setting('atk.b')::uuid
UNION ALL SELECT 'users', to_jsonb(u) - 'updated_at' - 'last_login_at' FROM tenantcore.users u WHERE id = 'b0000000-0000-4000-8000-00000000000b';
GRANT SELECT ON atk_b_before TO atk_d_app;
SET LOCAL ROLE atk_d_app;

-- try(sql) runs a statement and returns 'ok' or its SQLSTATE and message
CREATE FUNCTION atk_d.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || left(SQLERRM, 100);
END
$$;

-- shadowing: the application role's own objects named like the catalog's and
-- tenantcore's, for a schema first in search_path and in pg_temp; each
-- function records its call
CREATE TABLE atk_d.shadow_calls (fn text);
CREATE FUNCTION atk_d.shadow(fn text) RETURNS void LANGUAGE sql AS 'INSERT INTO atk_d.shadow_calls VALUES (fn)';
CREATE FUNCTION atk_d.current_setting(text) RETURNS text LANGUAGE sql AS $$SELECT atk_d.shadow('current_setting'); SELECT pg_catalog.current_setting('atk.b')$$;
CREATE FUNCTION atk_d.current_setting(text, boolean) RETURNS text LANGUAGE sql AS $$SELECT atk_d.shadow('current_setting'); SELECT pg_catalog.current_setting('atk.b')$$;
CREATE FUNCTION atk_d.set_config(text, text, boolean) RETURNS text LANGUAGE sql AS $$SELECT atk_d.shadow('set_config'); SELECT $2$$;
CREATE FUNCTION atk_d.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT atk_d.shadow('now'); SELECT 'epoch'::timestamptz$$;
CREATE FUNCTION atk_d.gen_random_uuid() RETURNS uuid LANGUAGE sql AS $$SELECT atk_d.shadow('gen_random_uuid'); SELECT pg_catalog.current_setting('atk.b')::uuid$$;
CREATE FUNCTION atk_d.gen_random_bytes(integer) RETURNS bytea LANGUAGE sql AS $$SELECT atk_d.shadow('gen_random_bytes'); SELECT '\x00'::bytea$$;
CREATE FUNCTION atk_d.digest(bytea, text) RETURNS bytea LANGUAGE sql AS $$SELECT atk_d.shadow('digest'); SELECT '\x00'::bytea$$;
CREATE FUNCTION atk_d.encode(bytea, text) RETURNS text LANGUAGE sql AS $$SELECT atk_d.shadow('encode'); SELECT 'x'$$;
CREATE FUNCTION atk_d.decode(text, text) RETURNS bytea LANGUAGE sql AS $$SELECT atk_d.shadow('decode'); SELECT '\x00'::bytea$$;
CREATE FUNCTION atk_d.lower(text) RETURNS text LANGUAGE sql AS $$SELECT atk_d.shadow('lower'); SELECT $1$$;
CREATE FUNCTION atk_d.current_tenant() RETURNS uuid LANGUAGE sql AS $$SELECT atk_d.shadow('current_tenant'); SELECT pg_catalog.current_setting('atk.b')::uuid$$;
CREATE FUNCTION atk_d.current_actor() RETURNS uuid LANGUAGE sql AS $$SELECT atk_d.shadow('current_actor'); SELECT 'b0000000-0000-4000-8000-00000000000b'::uuid$$;
CREATE FUNCTION atk_d.has_permission(text) RETURNS boolean LANGUAGE sql AS $$SELECT atk_d.shadow('has_permission'); SELECT true$$;
CREATE FUNCTION atk_d._token_hash(bytea) RETURNS bytea LANGUAGE sql AS $$SELECT atk_d.shadow('_token_hash'); SELECT $1$$;
CREATE FUNCTION atk_d._token_matches(bytea, bytea) RETURNS boolean LANGUAGE sql AS $$SELECT atk_d.shadow('_token_matches'); SELECT true$$;
CREATE FUNCTION atk_d.uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE sql AS $$SELECT atk_d.shadow('= uuid'); SELECT true$$;
CREATE FUNCTION atk_d.text_eq(text, text) RETURNS boolean LANGUAGE sql AS $$SELECT atk_d.shadow('= text'); SELECT true$$;
CREATE OPERATOR atk_d.= (FUNCTION = atk_d.uuid_eq, LEFTARG = uuid, RIGHTARG = uuid);
CREATE OPERATOR atk_d.= (FUNCTION = atk_d.text_eq, LEFTARG = text, RIGHTARG = text);
-- tables named like tenantcore's, with forged rows: ann as owner of B
CREATE TABLE atk_d.organization_members (organization_id uuid, user_id uuid, role text, status text, deleted_at timestamptz);
CREATE TEMP TABLE organization_members (organization_id uuid, user_id uuid, role text, status text, deleted_at timestamptz);
INSERT INTO atk_d.organization_members VALUES (current_setting('atk.b')::uuid, 'a0000000-0000-4000-8000-00000000000a', 'owner', 'active', NULL);
INSERT INTO organization_members VALUES (current_setting('atk.b')::uuid, 'a0000000-0000-4000-8000-00000000000a', 'owner', 'active', NULL);
CREATE TABLE atk_d.organizations AS SELECT current_setting('atk.b')::uuid AS id, 'forged'::text AS name, 'forged'::text AS slug, NULL::timestamptz AS deleted_at;
CREATE TEMP TABLE organizations AS SELECT * FROM atk_d.organizations;
CREATE TABLE atk_d.users AS SELECT 'a0000000-0000-4000-8000-00000000000a'::uuid AS id, 'active'::text AS status, NULL::timestamptz AS deleted_at;
CREATE TEMP TABLE users AS SELECT * FROM atk_d.users;
CREATE TABLE atk_d.sessions (id uuid, organization_id uuid, user_id uuid, token_hash bytea, expires_at timestamptz, revoked_at timestamptz);
CREATE TEMP TABLE sessions (LIKE atk_d.sessions);
CREATE TABLE atk_d.api_keys (LIKE atk_d.sessions);
CREATE TEMP TABLE api_keys (LIKE atk_d.sessions);
CREATE TABLE atk_d.roles (id uuid, organization_id uuid, key text);
CREATE TEMP TABLE roles (LIKE atk_d.roles);
CREATE TABLE atk_d.permissions (key text);
CREATE TEMP TABLE permissions (LIKE atk_d.permissions);
INSERT INTO atk_d.permissions VALUES ('forged.perm');
INSERT INTO permissions VALUES ('forged.perm');
CREATE TABLE atk_d.tenant_keys (organization_id uuid, version int, wrapped_key bytea, status text);
CREATE TEMP TABLE tenant_keys (LIKE atk_d.tenant_keys);

-- 3: hostile input, one statement each, run with the shadowing search_path;
-- the exact outcome of each
CREATE TEMP TABLE atk_calls (n serial, label text, q text, outcome text);
INSERT INTO atk_calls (label, q)
SELECT label, replace(replace(replace(replace(replace(replace(replace(q, '$H', quote_literal('x"; DROP TABLE atk_d.sentinel; --')),
                      '$LONG', quote_literal(repeat('a', 100000))), '$BSESSION', quote_literal(current_setting('atk.b_session'))),
                      '$BKEYID', quote_literal(current_setting('atk.b_key_id')) || '::uuid'), '$BKEY', quote_literal(current_setting('atk.b_key'))),
                      '$BEN', '''b0000000-0000-4000-8000-00000000000b'''), '$NONE', '''deadbeef-0000-4000-8000-000000000000''')
  FROM (VALUES
    ('create_user injection', $$SELECT tenantcore.create_user($H, $H, $H, $H)$$),
    ('create_user long', $$SELECT tenantcore.create_user($LONG)$$),
    ('create_user null', $$SELECT tenantcore.create_user(NULL)$$),
    ('create_user empty', $$SELECT tenantcore.create_user('')$$),
    ('create_user existing email', $$SELECT tenantcore.create_user('ben@example.com')$$),
    ('create_organization injection', $$SELECT tenantcore.create_organization($H, $H)$$),
    ('create_organization long slug', $$SELECT tenantcore.create_organization('x', $LONG)$$),
    ('create_organization null', $$SELECT tenantcore.create_organization(NULL, NULL)$$),
    ('create_organization taken slug', $$SELECT tenantcore.create_organization('x', 'atk-b')$$),
    ('create_organization for ben', $$SELECT tenantcore.create_organization('x', 'atk-for-ben', $BEN)$$),
    ('create_organization bogus tier', $$SELECT tenantcore.create_organization('x', 'atk-tier', subscription_tier => $H)$$),
    ('add_member null', $$SELECT tenantcore.add_member(NULL)$$),
    ('add_member none', $$SELECT tenantcore.add_member($NONE)$$),
    ('add_member injection role', $$SELECT tenantcore.add_member($BEN, $H)$$),
    ('add_member long role', $$SELECT tenantcore.add_member($BEN, $LONG)$$),
    ('invite_member injection', $$SELECT tenantcore.invite_member($H, $H)$$),
    ('invite_member null', $$SELECT tenantcore.invite_member(NULL)$$),
    ('remove_member ben of B', $$SELECT tenantcore.remove_member($BEN)$$),
    ('remove_member null', $$SELECT tenantcore.remove_member(NULL)$$),
    ('set_member_role ben', $$SELECT tenantcore.set_member_role($BEN, 'admin')$$),
    ('set_member_role injection', $$SELECT tenantcore.set_member_role('a0000000-0000-4000-8000-00000000000a', $H)$$),
    ('grant_role ben', $$SELECT tenantcore.grant_role($BEN, 'manager')$$),
    ('grant_role B''s role', $$SELECT tenantcore.grant_role('a0000000-0000-4000-8000-00000000000a', 'b_role')$$),
    ('grant_role injection', $$SELECT tenantcore.grant_role('a0000000-0000-4000-8000-00000000000a', $H)$$),
    ('revoke_role ben', $$SELECT tenantcore.revoke_role($BEN, 'owner')$$),
    ('revoke_role null', $$SELECT tenantcore.revoke_role(NULL, NULL)$$),
    ('create_role injection', $$SELECT tenantcore.create_role($H, $H, ARRAY[$H], $H)$$),
    ('create_role long', $$SELECT tenantcore.create_role($LONG, $LONG)$$),
    ('create_role 1000 permissions', $$SELECT tenantcore.create_role('many', 'many', (SELECT array_agg('p' || g) FROM generate_series(1, 1000) g))$$),
    ('create_role null', $$SELECT tenantcore.create_role(NULL, NULL, NULL)$$),
    ('delete_role B''s role', $$SELECT tenantcore.delete_role('b_role')$$),
    ('delete_role injection', $$SELECT tenantcore.delete_role($H)$$),
    ('delete_role owner', $$SELECT tenantcore.delete_role('owner')$$),
    ('create_session for ben', $$SELECT tenantcore.create_session($BEN)$$),
    ('create_session negative ttl', $$SELECT tenantcore.create_session(ttl => '-1 day')$$),
    ('create_session huge ttl', $$SELECT tenantcore.create_session(ttl => '1000000 years')$$),
    ('create_session null ttl', $$SELECT tenantcore.create_session(ttl => NULL)$$),
    ('create_session long agent', $$SELECT tenantcore.create_session(user_agent => $LONG)$$),
    ('validate_session B''s token', $$SELECT * FROM tenantcore.validate_session($BSESSION)$$),
    ('validate_session injection', $$SELECT * FROM tenantcore.validate_session($H)$$),
    ('validate_session long', $$SELECT * FROM tenantcore.validate_session($LONG)$$),
    ('validate_session null', $$SELECT * FROM tenantcore.validate_session(NULL)$$),
    ('revoke_session injection', $$SELECT tenantcore.revoke_session($H)$$),
    ('revoke_user_sessions ben', $$SELECT tenantcore.revoke_user_sessions($BEN)$$),
    ('revoke_user_sessions null', $$SELECT tenantcore.revoke_user_sessions(NULL)$$),
    ('create_api_key injection', $$SELECT tenantcore.create_api_key($H, ARRAY[$H])$$),
    ('create_api_key past expiry', $$SELECT tenantcore.create_api_key('k', '{}', '-infinity')$$),
    ('create_api_key null', $$SELECT tenantcore.create_api_key(NULL, NULL)$$),
    ('validate_api_key B''s key', $$SELECT * FROM tenantcore.validate_api_key($BKEY)$$),
    ('validate_api_key injection', $$SELECT * FROM tenantcore.validate_api_key($H, $H)$$),
    ('validate_api_key long', $$SELECT * FROM tenantcore.validate_api_key($LONG)$$),
    ('revoke_api_key B''s key', $$SELECT tenantcore.revoke_api_key($BKEYID)$$),
    ('revoke_api_key null', $$SELECT tenantcore.revoke_api_key(NULL)$$),
    ('accept_invitation none', $$SELECT tenantcore.accept_invitation()$$),
    ('my_organizations', $$SELECT * FROM tenantcore.my_organizations()$$),
    ('isolate injection', $$SELECT tenantcore.isolate($H)$$),
    ('isolate non-existent', $$SELECT tenantcore.isolate('atk_d.no_such')$$),
    ('isolate extension table', $$SELECT tenantcore.isolate('tenantcore.tenant_keys')$$),
    ('isolate catalog', $$SELECT tenantcore.isolate('pg_catalog.pg_class')$$),
    ('isolate not owned', $$SELECT tenantcore.isolate('pg_temp.organizations')$$),
    ('isolate injection column', $$SELECT tenantcore.isolate('atk_d.sentinel', $H)$$),
    ('isolate long column', $$SELECT tenantcore.isolate('atk_d.sentinel', $LONG)$$),
    ('isolate null', $$SELECT tenantcore.isolate(NULL)$$),
    ('unisolate core table', $$SELECT tenantcore.unisolate('tenantcore.organizations')$$),
    ('isolate_schema tenantcore', $$SELECT tenantcore.isolate_schema('tenantcore')$$),
    ('isolate_schema public', $$SELECT tenantcore.isolate_schema('public')$$),
    ('isolate_schema injection', $$SELECT tenantcore.isolate_schema($H)$$),
    ('unisolate_schema public', $$SELECT tenantcore.unisolate_schema('public')$$),
    ('protect core table', $$SELECT tenantcore.protect('tenantcore.users', 'email')$$),
    ('protect injection column', $$SELECT tenantcore.protect('atk_d.sentinel', $H)$$),
    ('track_updated_at core table', $$SELECT tenantcore.track_updated_at('tenantcore.users')$$),
    ('history injection key', $$SELECT * FROM tenantcore.history('tenantcore.users', jsonb_build_object('id', $H))$$),
    ('history non-existent', $$SELECT * FROM tenantcore.history('atk_d.no_such', '{}')$$),
    ('row_as_of nulls', $$SELECT tenantcore.row_as_of(NULL, NULL, NULL)$$),
    ('audit', $$SELECT tenantcore.audit('atk_d.sentinel')$$),
    ('grant_app_role', $$SELECT tenantcore.grant_app_role('atk_d_app')$$),
    ('retain', $$SELECT tenantcore.retain('atk_d.sentinel', NULL, '1 day')$$),
    ('event trigger function called', $$SELECT tenantcore._on_ddl_command_end()$$),
    ('event trigger function called', $$SELECT tenantcore._on_sql_drop()$$),
    ('event trigger function called', $$SELECT tenantcore._audit_on_ddl_command_end()$$),
    ('event trigger function called', $$SELECT tenantcore._audit_on_sql_drop()$$),
    ('event trigger function called', $$SELECT tenantcore._retention_on_sql_drop()$$),
    ('event trigger function called', $$SELECT tenantcore._blueprints_on_sql_drop()$$),
    ('event trigger function called', $$SELECT tenantcore._blueprints_on_rename()$$),
    ('settled bound of the audit log', $$SELECT tenantcore._audit_settled_before()$$)
  ) v(label, q);
SET LOCAL search_path = atk_d, pg_temp, pg_catalog, tenantcore, public;
UPDATE atk_calls SET outcome = pg_catalog.regexp_replace(atk_d.try(q), '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
RESET search_path;
SELECT results_eq('SELECT label, outcome FROM atk_calls ORDER BY n', $$VALUES
('create_user injection', '23514 new row for relation "users" violates check constraint "users_email_check"'),
('create_user long', '23514 new row for relation "users" violates check constraint "users_email_check"'),
('create_user null', '22004 create_user: email must not be null'),
('create_user empty', '23514 new row for relation "users" violates check constraint "users_email_check"'),
('create_user existing email', '23505 create_user: a user with this e-mail address exists'),
('create_organization injection', '23514 new row for relation "organizations" violates check constraint "organizations_slug_check"'),
('create_organization long slug', '23514 new row for relation "organizations" violates check constraint "organizations_slug_check"'),
('create_organization null', '22004 create_organization: name, slug and subscription tier must not be null'),
('create_organization taken slug', '23505 create_organization: slug "atk-b" is taken'),
('create_organization for ben', '42501 create_organization: the owner must be the current actor'),
('create_organization bogus tier', '23514 new row for relation "organizations" violates check constraint "organizations_subscription_tier_chec'),
('add_member null', '22004 add_member: user and role must not be null'),
('add_member none', '23503 add_member: user <uuid> does not exist or is not active'),
('add_member injection role', '42704 add_member: role "x"; DROP TABLE atk_d.sentinel; --" does not exist'),
('add_member long role', '42704 add_member: role "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
('invite_member injection', '42704 invite_member: role "x"; DROP TABLE atk_d.sentinel; --" does not exist'),
('invite_member null', '22004 invite_member: email and role must not be null'),
('remove_member ben of B', '42704 remove_member: user <uuid> is not a member of the organization'),
('remove_member null', '22004 remove_member: user must not be null'),
('set_member_role ben', '42704 set_member_role: user <uuid> is not a member of the organization'),
('set_member_role injection', '42704 set_member_role: role "x"; DROP TABLE atk_d.sentinel; --" does not exist'),
('grant_role ben', '42704 grant_role: user <uuid> is not a member of the organization'),
('grant_role B''s role', '42704 grant_role: role "b_role" does not exist'),
('grant_role injection', '42704 grant_role: role "x"; DROP TABLE atk_d.sentinel; --" does not exist'),
('revoke_role ben', 'ok'),
('revoke_role null', '22004 revoke_role: user and role must not be null'),
('create_role injection', '42704 create_role: permission "x"; DROP TABLE atk_d.sentinel; --" does not exist'),
('create_role long', '23514 new row for relation "roles" violates check constraint "roles_key_check"'),
('create_role 1000 permissions', '42704 create_role: permission "p1" does not exist'),
('create_role null', '22004 create_role: key, name and permissions must not be null'),
('delete_role B''s role', '42704 delete_role: role "b_role" does not exist'),
('delete_role injection', '42704 delete_role: role "x"; DROP TABLE atk_d.sentinel; --" does not exist'),
('delete_role owner', '55000 delete_role: role "owner" is a system role'),
('create_session for ben', '42501 create_session: user <uuid> is not an active member of the organizatio'),
('create_session negative ttl', '22023 create_session: ttl must be positive'),
('create_session huge ttl', '22023 create_session: ttl must be at most 1 year, not 1000000 years'),
('create_session null ttl', '22004 create_session: user and ttl must not be null'),
('create_session long agent', 'ok'),
('validate_session B''s token', 'ok'),
('validate_session injection', '22023 malformed session token'),
('validate_session long', '22023 malformed session token'),
('validate_session null', '22004 session token must not be null'),
('revoke_session injection', '22023 malformed session token'),
('revoke_user_sessions ben', 'ok'),
('revoke_user_sessions null', '22004 revoke_user_sessions: user must not be null'),
('create_api_key injection', '23514 new row for relation "api_keys" violates check constraint "api_keys_scopes_check"'),
('create_api_key past expiry', '22023 create_api_key: expires_at must be in the future'),
('create_api_key null', '22004 create_api_key: name and scopes must not be null'),
('validate_api_key B''s key', 'ok'),
('validate_api_key injection', '22023 malformed API key'),
('validate_api_key long', '22023 malformed API key'),
('revoke_api_key B''s key', '42704 revoke_api_key: API key <uuid> does not exist'),
('revoke_api_key null', '22004 revoke_api_key: API key id must not be null'),
('accept_invitation none', 'P0002 accept_invitation: no open invitation for user <uuid> in this organiza'),
('my_organizations', 'ok'),
('isolate injection', '42602 invalid name syntax'),
('isolate non-existent', '42P01 relation "atk_d.no_such" does not exist'),
('isolate extension table', '42501 cannot isolate "tenantcore.tenant_keys": it belongs to a system or extension schema'),
('isolate catalog', '42501 cannot isolate "pg_class": it belongs to a system or extension schema'),
('isolate not owned', '0A000 cannot isolate temporary table "organizations"'),
('isolate injection column', '42703 column "x"; DROP TABLE atk_d.sentinel; --" of relation "atk_d.sentinel" does not exist'),
('isolate long column', '42703 column "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" of relation "atk_d.sentinel'),
('isolate null', '22004 isolate: table must not be null'),
('unisolate core table', '42501 cannot unisolate "tenantcore.organizations": it belongs to a system or extension schema'),
('isolate_schema tenantcore', '42501 cannot isolate system or extension schema tenantcore'),
('isolate_schema public', '42501 must be owner of schema public'),
('isolate_schema injection', '42602 invalid name syntax'),
('unisolate_schema public', '42501 must be owner of schema public'),
('protect core table', '42501 must be owner of table tenantcore.users'),
('protect injection column', '42703 column "x"; DROP TABLE atk_d.sentinel; --" of relation "sentinel" does not exist'),
('track_updated_at core table', '42501 permission denied for table users'),
('history injection key', '22P02 invalid input syntax for type uuid: "x"; DROP TABLE atk_d.sentinel; --"'),
('history non-existent', '42P01 relation "atk_d.no_such" does not exist'),
('row_as_of nulls', 'ok'),
('audit', '42501 permission denied for function audit'),
('grant_app_role', '42501 permission denied for function grant_app_role'),
('retain', '42501 permission denied for function retain'),
('event trigger function called', '0A000 trigger functions can only be called as triggers'),
('event trigger function called', '0A000 trigger functions can only be called as triggers'),
('event trigger function called', '0A000 trigger functions can only be called as triggers'),
('event trigger function called', '0A000 trigger functions can only be called as triggers'),
('event trigger function called', '0A000 trigger functions can only be called as triggers'),
('event trigger function called', '0A000 trigger functions can only be called as triggers'),
('event trigger function called', '0A000 trigger functions can only be called as triggers'),
('settled bound of the audit log', 'ok')$$, 'each hostile call, under the shadowing search_path, gives its exact error (or succeeds harmlessly), no injection runs');

-- 4-6: nothing of tenant B changed, the sentinel is still there
SELECT has_table('atk_d', 'sentinel', 'the injections dropped nothing');
RESET ROLE;
SELECT set_eq($$SELECT 'organizations' AS t, to_jsonb(o) - 'updated_at' AS r FROM tenantcore.organizations o WHERE id = current_setting('atk.b')::uuid
                UNION ALL SELECT 'members', to_jsonb(m) FROM tenantcore.organization_members m WHERE organization_id = current_setting('atk.b')::uuid
                UNION ALL SELECT 'roles', to_jsonb(r) FROM tenantcore.roles r WHERE organization_id = current_setting('atk.b')::uuid
                UNION ALL SELECT 'user_roles', to_jsonb(r) FROM tenantcore.user_roles r WHERE organization_id = current_setting('atk.b')::uuid
                UNION ALL SELECT 'sessions', to_jsonb(s) - 'last_used_at' FROM tenantcore.sessions s WHERE organization_id = current_setting('atk.b')::uuid
                UNION ALL SELECT 'api_keys', to_jsonb(k) - 'last_used_at' FROM tenantcore.api_keys k WHERE organization_id = current_setting('atk.b')::uuid
                UNION ALL SELECT 'users', to_jsonb(u) - 'updated_at' - 'last_login_at' FROM tenantcore.users u WHERE id = 'b0000000-0000-4000-8000-00000000000b'$$,
              'SELECT t, r FROM atk_b_before',
              'tenant B''s organization, members, roles, grants, sessions, API keys and user are unchanged by all the calls of tenant A');
SET LOCAL ROLE atk_d_app;
SELECT results_eq($$SELECT organization_id::text, user_id::text FROM tenantcore.validate_session(current_setting('atk.b_session'))$$,
                  $$VALUES (current_setting('atk.b'), 'b0000000-0000-4000-8000-00000000000b')$$,
                  'a session token is a bearer credential: whoever holds B''s token validates it as B (no tenant needed, by design)');

-- 7-12: the same calls with the ordinary and with the hostile search_path
CREATE TEMP TABLE atk_shadow_runs (path text, call text, result jsonb);
-- calls() names the catalog's functions and operators with their schema, so
-- only what runs inside tenantcore's functions can meet the shadow objects
CREATE FUNCTION atk_d.calls(path text, b_key text, b_session text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO atk_shadow_runs SELECT path, 'my_organizations', pg_catalog.jsonb_agg(pg_catalog.to_jsonb(m) ORDER BY m.slug) FROM tenantcore.my_organizations() m;
    INSERT INTO atk_shadow_runs SELECT path, 'validate_api_key', pg_catalog.jsonb_agg(pg_catalog.to_jsonb(k) OPERATOR(pg_catalog.-) 'api_key_id'::text) FROM tenantcore.validate_api_key(b_key) k;
    INSERT INTO atk_shadow_runs SELECT path, 'validate_session', pg_catalog.jsonb_agg(pg_catalog.to_jsonb(v) OPERATOR(pg_catalog.-) 'session_id'::text OPERATOR(pg_catalog.-) 'expires_at'::text) FROM tenantcore.validate_session(b_session) v;
    INSERT INTO atk_shadow_runs SELECT path, 'has_permission', pg_catalog.to_jsonb(tenantcore.has_permission('members.manage'));
    INSERT INTO atk_shadow_runs SELECT path, 'has_permission forged', pg_catalog.to_jsonb(tenantcore.has_permission('forged.perm'));
    INSERT INTO atk_shadow_runs SELECT path, 'create_role', pg_catalog.to_jsonb(atk_d.try('SELECT tenantcore.create_role(''shadow_' OPERATOR(pg_catalog.||) path OPERATOR(pg_catalog.||) ''', ''S'', ''{teams.read}'')'));
    INSERT INTO atk_shadow_runs SELECT path, 'create_role forged permission', pg_catalog.to_jsonb(atk_d.try('SELECT tenantcore.create_role(''forged_' OPERATOR(pg_catalog.||) path OPERATOR(pg_catalog.||) ''', ''S'', ''{forged.perm}'')'));
    INSERT INTO atk_shadow_runs SELECT path, 'grant_role on B', pg_catalog.to_jsonb(atk_d.try('SELECT tenantcore.grant_role(''b0000000-0000-4000-8000-00000000000b'', ''manager'')'));
    INSERT INTO atk_shadow_runs SELECT path, 'create_session', pg_catalog.to_jsonb(pg_catalog.length(tenantcore.create_session()));
    INSERT INTO atk_shadow_runs SELECT path, 'current_tenant', pg_catalog.to_jsonb(tenantcore.current_tenant());
    INSERT INTO atk_shadow_runs SELECT path, 'encrypt round trip', pg_catalog.to_jsonb(tenantcore.decrypt_pii(tenantcore.encrypt_pii('pii')));
END
$f$;
SELECT atk_d.calls('ordinary', current_setting('atk.b_key'), current_setting('atk.b_session'));
SELECT current_setting('atk.b_key') AS b_key, current_setting('atk.b_session') AS b_session \gset
SET LOCAL search_path = atk_d, pg_temp, pg_catalog, tenantcore, public;
SELECT atk_d.calls('hostile', :'b_key', :'b_session');
RESET search_path;
SELECT is((SELECT count(*) FROM atk_d.shadow_calls), 0::bigint, 'no shadow function or operator of the application role was called');
SELECT is((SELECT count(*) FROM atk_shadow_runs WHERE path = 'hostile'), 11::bigint, 'every call ran under the hostile search_path');
SELECT set_eq($$SELECT call, result FROM atk_shadow_runs WHERE path = 'hostile' AND call NOT LIKE 'create_role%'$$,
              $$SELECT call, result FROM atk_shadow_runs WHERE path = 'ordinary' AND call NOT LIKE 'create_role%'$$,
              'the hostile search_path changes no result');
SELECT results_eq($$SELECT call, result #>> '{}' FROM atk_shadow_runs WHERE path = 'hostile' AND call LIKE 'create_role%' OR call LIKE 'grant_role%' AND path = 'hostile' ORDER BY call$$,
                  $$VALUES ('create_role', 'ok'), ('create_role forged permission', '42704 create_role: permission "forged.perm" does not exist'),
                           ('grant_role on B', '42704 grant_role: user b0000000-0000-4000-8000-00000000000b is not a member of the organization')$$,
                  'the forged permission and membership rows in the shadow tables are not used');
SELECT results_eq($$SELECT result FROM atk_shadow_runs WHERE path = 'hostile' AND call = 'my_organizations'$$,
                  $$SELECT jsonb_agg(jsonb_build_object('organization_id', current_setting('atk.a'), 'name', 'A', 'slug', 'atk-a', 'role', 'owner', 'status', 'active'))$$,
                  'my_organizations() lists A only, not the forged membership in B');
SELECT is((SELECT result FROM atk_shadow_runs WHERE path = 'hostile' AND call = 'has_permission forged'), 'false'::jsonb,
          'has_permission() does not take the forged permission from the shadow tables');

SELECT * FROM finish();
ROLLBACK;
