-- tenantcore: the core schema (identity, tenancy, RBAC, sessions, API keys)
-- as a non-owner application role, with two tenants: constraints, composite
-- keys that make cross-tenant references impossible, cascades, the functions
-- and their errors.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE tc_core_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_core_app');

-- by construction: every tenant table is isolated and audited (the logs
-- only isolated), its primary key starts with organization_id, and every
-- foreign key between tenant tables carries organization_id on both sides
SELECT t.rel, t.tenant_column, c.relrowsecurity AND c.relforcerowsecurity AS forced,
       (SELECT a.attname FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
         WHERE k.conrelid = t.rel AND k.contype = 'p') AS pk_leads_with,
       EXISTS (SELECT FROM tenantcore.audited_tables x WHERE x.rel = t.rel) AS audited
  FROM tenantcore.isolated_tables t JOIN pg_class c ON c.oid = t.rel
 WHERE t.builtin ORDER BY t.rel::text;
SELECT k.conrelid::regclass AS "table", k.conname AS fk_without_tenant
  FROM pg_constraint k
  JOIN tenantcore.isolated_tables src ON src.rel = k.conrelid
  JOIN tenantcore.isolated_tables dst ON dst.rel = k.confrelid
 WHERE k.contype = 'f' AND src.builtin
   AND NOT ((SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = k.conrelid AND a.attname = src.tenant_column) = ANY (k.conkey)
            AND (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = k.confrelid AND a.attname = dst.tenant_column) = ANY (k.confkey));
-- the global tables
SELECT c.oid::regclass AS global_table, c.relrowsecurity AS rls
  FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
 WHERE c.relnamespace = 'tenantcore'::regnamespace AND c.relkind = 'r'
   AND c.relname IN ('users', 'user_profiles', 'permissions', 'role_templates', 'role_template_permissions')
 ORDER BY 1;
-- token and password hashes are unreadable for the application role
SELECT has_column_privilege('tc_core_app', 'tenantcore.users', 'password_hash', 'SELECT') AS password_hash,
       has_column_privilege('tc_core_app', 'tenantcore.sessions', 'token_hash', 'SELECT') AS token_hash,
       has_column_privilege('tc_core_app', 'tenantcore.api_keys', 'key_hash', 'SELECT') AS key_hash,
       has_table_privilege('tc_core_app', 'tenantcore.user_roles', 'INSERT') AS insert_user_roles;

-- people with known ids (so the error messages below are stable)
\set alice aaaaaaaa-0000-4000-8000-000000000001
\set bob   bbbbbbbb-0000-4000-8000-000000000002
\set carol cccccccc-0000-4000-8000-000000000003
\set dave  dddddddd-0000-4000-8000-000000000004
INSERT INTO tenantcore.users (id, email, first_name) VALUES
    (:'alice', 'alice@example.com', 'Alice'), (:'bob', 'bob@example.com', 'Bob'),
    (:'carol', 'carol@example.com', 'Carol'), (:'dave', 'dave@example.com', NULL);

SET ROLE tc_core_app;

-- create_user
SELECT tenantcore.create_user('erin@example.com', '$2b$12$hash', 'Erin') IS NOT NULL AS created;
SELECT tenantcore.create_user('ALICE@example.com');
\set VERBOSITY terse
SELECT tenantcore.create_user('not-an-email');
\set VERBOSITY default
SELECT tenantcore.create_user(NULL);

-- organizations: the owner comes from the actor
SELECT tenantcore.create_organization('Acme', 'acme');
SELECT tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_organization('Acme', 'acme') AS acme \gset
-- the owner is the actor (since 0.7.0): alice cannot make carol owner
SELECT tenantcore.create_organization('Globex', 'globex', :'carol');
SELECT tenantcore.set_actor(:'carol', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_organization('Globex', 'globex', :'carol') AS globex \gset
SELECT tenantcore.create_organization('Acme again', 'acme', :'carol');
\set VERBOSITY terse
SELECT tenantcore.create_organization('Bad', 'Bad Slug!', :'carol');
SELECT tenantcore.create_organization(' ', 'blank', :'carol');
SELECT tenantcore.create_organization('Tiered', 'tiered', :'carol', 'platinum');
\set VERBOSITY default
SELECT tenantcore.set_actor('00000000-0000-0000-0000-00000000dead', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_organization('Nobody', 'nobody');
SELECT tenantcore.create_organization(NULL, 'x', :'carol');

-- Acme, as alice (owner)
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT name, slug, subscription_tier FROM tenantcore.organizations;
UPDATE tenantcore.organizations SET name = 'Acme Inc' RETURNING name;
UPDATE tenantcore.organizations SET name = 'Hijacked' WHERE id = :'globex' RETURNING name;
UPDATE tenantcore.organizations SET subscription_tier = 'enterprise';
SELECT key, is_system, (SELECT count(*) FROM tenantcore.role_permissions rp WHERE rp.role_id = r.id) AS permissions
  FROM tenantcore.roles r ORDER BY key;
SELECT tenantcore.has_permission('members.manage') AS owner_manages, tenantcore.has_permission('billing.manage') AS owner_bills,
       tenantcore.has_permission('no.such') AS unknown, tenantcore.has_permission(NULL) AS null_permission;
-- bob was made by the DBA, not by create_user() in Acme, and shares no
-- organization with alice: the application cannot add him (since 0.7.0), the
-- DBA can
SELECT tenantcore.add_member(:'bob');
RESET ROLE;
SELECT tenantcore.add_member(:'bob');
SET ROLE tc_core_app;
SELECT tenantcore.add_member(:'bob');
SELECT tenantcore.add_member(:'carol', 'superuser');
SELECT tenantcore.add_member('00000000-0000-0000-0000-00000000dead');
SELECT tenantcore.invite_member('DAVE@example.com', 'manager') = :'dave' AS existing_user;
SELECT tenantcore.invite_member('frank@example.com') IS NOT NULL AS new_user_invited;
SELECT tenantcore.invite_member('dave@example.com');
-- invitations are listed, the invited people are not visible (since 0.7.0)
SELECT u.email, m.role, m.status FROM tenantcore.organization_members m LEFT JOIN tenantcore.users u ON u.id = m.user_id
 ORDER BY u.email, m.role;
-- the application sees the accepted members of the tenant and itself: not carol
-- (Globex only), not dave and frank (invited)
SELECT email FROM tenantcore.users ORDER BY email;
-- memberships and role maps change only through the functions
INSERT INTO tenantcore.organization_members (user_id, role) VALUES (:'carol', 'owner');
UPDATE tenantcore.organization_members SET role = 'owner' WHERE user_id = :'bob';
-- constraints the seeds ask for
\set VERBOSITY terse
INSERT INTO tenantcore.teams (name) VALUES ('Tax'), ('Audit') RETURNING name;
INSERT INTO tenantcore.teams (name) VALUES ('Tax');
INSERT INTO tenantcore.teams (name) VALUES ('  ');
INSERT INTO tenantcore.settings (key, value) VALUES ('theme', '"dark"'), ('theme', '"light"');
INSERT INTO tenantcore.settings (key, value, user_id) VALUES ('theme', '"dark"', :'bob');
INSERT INTO tenantcore.settings (key, value, user_id) VALUES ('theme', '"dark"', :'carol');
INSERT INTO tenantcore.subscriptions (plan, status, seats) VALUES ('professional', 'active', 0);
INSERT INTO tenantcore.subscriptions (plan, status, metadata) VALUES ('professional', 'active', '[1]');
INSERT INTO tenantcore.subscriptions (plan, status) VALUES ('professional', 'active'), ('starter', 'trialing');
INSERT INTO tenantcore.notifications (user_id, kind, channel, title) VALUES (:'bob', 'welcome', 'fax', 'Hi');
INSERT INTO tenantcore.access_logs (method, endpoint, status_code) VALUES ('GET', '/x', 700);
INSERT INTO tenantcore.access_logs (method, endpoint, status_code) VALUES ('BREW', '/x', 200);
INSERT INTO tenantcore.error_logs (service, level, message, context) VALUES ('api', 'panic', 'x', '{}');
INSERT INTO tenantcore.error_logs (service, level, message, context) VALUES ('api', 'error', 'x', '"str"');
INSERT INTO tenantcore.consents (user_id, purpose, granted, granted_at, withdrawn_at)
VALUES (:'bob', 'marketing', true, '2026-01-02', '2026-01-01');
INSERT INTO tenantcore.teams (organization_id, name) VALUES (:'globex', 'Smuggled');
\set VERBOSITY default
SELECT id AS tax FROM tenantcore.teams WHERE name = 'Tax' \gset
INSERT INTO tenantcore.team_members (team_id, user_id) VALUES (:'tax', :'bob');

-- Globex, as carol: Acme's rows cannot be seen nor referenced
SELECT tenantcore.set_tenant(:'globex', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'carol', false) IS NOT NULL AS actor_set;
SELECT count(*) AS acme_teams_visible FROM tenantcore.teams WHERE id = :'tax';
SELECT email FROM tenantcore.users ORDER BY email;
SELECT tenantcore.has_permission('members.manage') AS carol_manages_globex;
INSERT INTO tenantcore.team_members (team_id, user_id) VALUES (:'tax', :'carol');
INSERT INTO tenantcore.teams (name) VALUES ('Ops') RETURNING name;
SELECT id AS ops FROM tenantcore.teams WHERE name = 'Ops' \gset
INSERT INTO tenantcore.team_members (team_id, user_id) VALUES (:'ops', :'bob');
SELECT tenantcore.grant_role(:'bob', 'admin');
SELECT tenantcore.remove_member(:'carol');

-- Acme as bob (member): no management rights, and nobody hands out more than they hold
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'bob', false) IS NOT NULL AS actor_set;
SELECT tenantcore.has_permission('members.manage') AS bob_manages, tenantcore.has_permission('teams.read') AS bob_reads_teams;
SELECT tenantcore.add_member(:'carol');
SELECT tenantcore.grant_role(:'bob', 'owner');
SELECT tenantcore.create_api_key('bob key');
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT tenantcore.set_member_role(:'bob', 'admin');
SELECT tenantcore.create_role('reviewer', 'Reviewer', '{teams.read,audit.read}') IS NOT NULL AS created;
SELECT tenantcore.create_role('reviewer', 'Reviewer');
\set VERBOSITY terse
SELECT tenantcore.create_role('Bad Key', 'Bad');
\set VERBOSITY default
SELECT tenantcore.create_role('ghost', 'Ghost', '{no.such}');
SELECT tenantcore.grant_role(:'dave', 'reviewer') AS granted, tenantcore.grant_role(:'dave', 'reviewer') AS again;
SELECT tenantcore.grant_role(:'dave', 'no_such_role');
SELECT tenantcore.grant_role('00000000-0000-0000-0000-00000000dead', 'reviewer');
SELECT tenantcore.delete_role('owner');
-- a role of another tenant cannot be granted: roles are looked up in the tenant
SELECT tenantcore.set_tenant(:'globex', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'carol', false) IS NOT NULL AS actor_set;
SELECT tenantcore.grant_role(:'carol', 'reviewer');
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'bob', false) IS NOT NULL AS actor_set;
-- bob is admin now: members yes, billing no
SELECT tenantcore.has_permission('members.manage') AS admin_manages, tenantcore.has_permission('billing.manage') AS admin_bills;
-- a change of roles counts at once, also later in the same transaction
BEGIN;
SELECT tenantcore.set_member_role(:'bob', 'member');
SELECT tenantcore.add_member(:'carol');
ROLLBACK;
SELECT tenantcore.set_member_role(:'bob', 'owner');
SELECT tenantcore.set_member_role(:'alice', 'member');
SELECT tenantcore.remove_member(:'alice');
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT tenantcore.remove_member(:'alice');
SELECT tenantcore.set_member_role(:'alice', 'admin');
SELECT tenantcore.remove_member('00000000-0000-0000-0000-00000000dead');
-- dave accepts the invitation; an invited member has no permissions before
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'dave', false) IS NOT NULL AS actor_set;
SELECT tenantcore.has_permission('teams.manage') AS invited_manages;
SELECT tenantcore.accept_invitation();
SELECT tenantcore.has_permission('teams.manage') AS manager_manages, tenantcore.has_permission('audit.read') AS reviewer_reads_audit;
SELECT tenantcore.accept_invitation();
SELECT organization_id = :'acme' AS acme, name, role, status FROM tenantcore.my_organizations();
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT tenantcore.revoke_role(:'dave', 'reviewer') AS revoked, tenantcore.revoke_role(:'dave', 'reviewer') AS again;
SELECT tenantcore.grant_role(:'dave', 'reviewer');
SELECT tenantcore.delete_role('reviewer');
SELECT count(*) AS reviewer_grants_left FROM tenantcore.user_roles;

-- no tenant, no actor
SELECT tenantcore.clear_tenant();
SELECT tenantcore.has_permission('members.manage') AS without_context;
SELECT tenantcore.add_member(:'carol');
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set;
SELECT tenantcore.add_member(:'carol');
SELECT tenantcore.clear_tenant();

-- sessions: created for a member after the application checked the password
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set;
SELECT tenantcore.create_session(:'bob', interval '1 hour', 'curl/8', '192.0.2.1') AS bob_session \gset
SELECT tenantcore.create_session(:'carol');
SELECT tenantcore.create_session(:'bob', interval '-1 hour');
SELECT tenantcore.create_session(NULL);
SELECT tenantcore.clear_tenant();
-- validation needs no context: the token names its tenant
SELECT session_id IS NOT NULL AS ok, organization_id = :'acme' AS acme, user_id = :'bob' AS bob,
       expires_at > now() AS in_future
  FROM tenantcore.validate_session(:'bob_session');
SELECT length(:'bob_session') AS token_length, left(:'bob_session', 4) AS prefix;
-- wrong secret, unknown id, malformed, an API key where a session token is expected
SELECT * FROM tenantcore.validate_session(left(:'bob_session', -1) || CASE WHEN right(:'bob_session', 1) = '0' THEN '1' ELSE '0' END);
SELECT * FROM tenantcore.validate_session(overlay(:'bob_session' placing '00000000' from 38));
SELECT * FROM tenantcore.validate_session('tcs_nope');
SELECT * FROM tenantcore.validate_session(upper(:'bob_session'));
SELECT * FROM tenantcore.validate_session('tck' || substr(:'bob_session', 4));
SELECT * FROM tenantcore.validate_session(NULL);
SELECT * FROM tenantcore.validate_session(repeat('a', 1000000));
SELECT tenantcore.revoke_session(:'bob_session') AS revoked, tenantcore.revoke_session(:'bob_session') AS again;
SELECT * FROM tenantcore.validate_session(:'bob_session');
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'bob', false) IS NOT NULL AS actor_set;
SELECT user_agent, ip_address, revoked_at IS NOT NULL AS revoked, ended_at = revoked_at AS ended_when_revoked,
       last_used_at IS NOT NULL AS used
  FROM tenantcore.sessions;
SELECT token_hash FROM tenantcore.sessions;
SELECT tenantcore.create_session(:'bob') AS s1 \gset
SELECT tenantcore.create_session(:'bob') AS s2 \gset
SELECT tenantcore.revoke_user_sessions() AS revoked_all;
SELECT tenantcore.revoke_user_sessions(:'alice');
SELECT tenantcore.clear_tenant();
SELECT * FROM tenantcore.validate_session(:'s2');
RESET ROLE;
-- an expired session (moved into the past by the DBA)
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set;
SELECT tenantcore.create_session(:'bob') AS s3 \gset
UPDATE tenantcore.sessions SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day'
 WHERE revoked_at IS NULL;
SELECT tenantcore.clear_tenant();
SET ROLE tc_core_app;
SELECT * FROM tenantcore.validate_session(:'s3');

-- a soft-deleted organization: its sessions stop working, its members hold no permission
RESET ROLE;
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_session(:'alice') AS s4 \gset
UPDATE tenantcore.organizations SET deleted_at = now() WHERE id = :'acme';
SELECT tenantcore.has_permission('members.manage') AS owner_of_deleted_org;
SELECT * FROM tenantcore.validate_session(:'s4');
UPDATE tenantcore.organizations SET deleted_at = NULL WHERE id = :'acme';
SELECT tenantcore.has_permission('members.manage') AS owner_again;
SELECT tenantcore.clear_tenant();
SET ROLE tc_core_app;

-- API keys
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_api_key('ci', '{documents.read,clients.*,documents.read}') AS key \gset
\set VERBOSITY terse
SELECT tenantcore.create_api_key('bad', '{Not A Scope}');
\set VERBOSITY default
SELECT tenantcore.create_api_key('old', '{}', now() - interval '1 day');
SELECT tenantcore.create_api_key(NULL);
SELECT name, scopes, expires_at IS NULL AS no_expiry FROM tenantcore.api_keys;
SELECT tenantcore.clear_tenant();
SELECT organization_id = :'acme' AS acme, user_id = :'alice' AS alice, scopes FROM tenantcore.validate_api_key(:'key');
SELECT scopes FROM tenantcore.validate_api_key(:'key', 'clients.write');
SELECT scopes FROM tenantcore.validate_api_key(:'key', 'documents.read');
SELECT scopes FROM tenantcore.validate_api_key(:'key', 'documents.write');
SELECT * FROM tenantcore.validate_api_key(left(:'key', -2) || 'zz');
SELECT * FROM tenantcore.validate_api_key(left(:'key', -1) || CASE WHEN right(:'key', 1) = '0' THEN '1' ELSE '0' END);
SELECT * FROM tenantcore.validate_api_key(:'bob_session');
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT last_used_at IS NOT NULL AS used FROM tenantcore.api_keys;
SELECT tenantcore.revoke_api_key(id) AS revoked, tenantcore.revoke_api_key(id) AS again FROM tenantcore.api_keys;
SELECT tenantcore.revoke_api_key('00000000-0000-0000-0000-00000000dead');
SELECT tenantcore.clear_tenant();
SELECT * FROM tenantcore.validate_api_key(:'key');
-- an API key dies with the membership of its owner
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'bob', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_api_key('bob key', '{teams.read}') AS bob_key \gset
SELECT tenantcore.clear_tenant();
SELECT scopes FROM tenantcore.validate_api_key(:'bob_key', 'teams.read');
SELECT tenantcore.set_tenant(:'acme', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'alice', false) IS NOT NULL AS actor_set;
SELECT tenantcore.remove_member(:'bob');
SELECT count(*) AS bob_rows FROM tenantcore.team_members WHERE user_id = :'bob';
SELECT tenantcore.clear_tenant();
SELECT * FROM tenantcore.validate_api_key(:'bob_key');

-- the audit log has the changes, with the hashes redacted
RESET ROLE;
SELECT DISTINCT new_row ->> 'token_hash' AS token_hash FROM tenantcore.audit_log
 WHERE table_name = 'tenantcore.sessions' AND operation = 'INSERT';
SELECT DISTINCT new_row ->> 'key_hash' AS key_hash FROM tenantcore.audit_log
 WHERE table_name = 'tenantcore.api_keys' AND operation = 'INSERT';
SELECT DISTINCT new_row ->> 'password_hash' AS password_hash FROM tenantcore.audit_log
 WHERE table_name = 'tenantcore.users' AND operation = 'INSERT' AND new_row ->> 'password_hash' IS NOT NULL;
-- token checks and logins write no entry (last_used_at, last_login_at are not audited), revocations do
SELECT operation, changed_columns, count(*) AS entries FROM tenantcore.audit_log
 WHERE table_name = 'tenantcore.sessions' AND operation = 'UPDATE' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS login_entries FROM tenantcore.audit_log
 WHERE table_name = 'tenantcore.users' AND operation = 'UPDATE' AND changed_columns && '{last_login_at,updated_at}';
SELECT table_name, count(*) AS entries FROM tenantcore.audit_log
 WHERE organization_id = :'acme' AND table_name IN ('tenantcore.organization_members', 'tenantcore.roles')
 GROUP BY 1 ORDER BY 1;

-- deleting an organization deletes everything of it, and nothing of the other
SELECT tenantcore.set_tenant(:'globex', false) IS NOT NULL AS tenant_set;
SELECT tenantcore.create_session(:'carol') IS NOT NULL AS carol_session;
SELECT tenantcore.clear_tenant();
INSERT INTO tenantcore.access_logs (organization_id, method, endpoint, status_code) VALUES (:'globex', 'GET', '/', 200);
SELECT c.relname, (xpath('//n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s WHERE organization_id = %L', c.oid::regclass, :'globex'), false, false, '')))[1]::text AS globex_rows
  FROM tenantcore.isolated_tables t JOIN pg_class c ON c.oid = t.rel
 WHERE t.builtin AND t.tenant_column = 'organization_id' AND c.relname IN ('roles', 'role_permissions', 'organization_members', 'sessions', 'access_logs')
 ORDER BY 1;
DELETE FROM tenantcore.organizations WHERE id = :'globex';
SELECT c.relname, (xpath('//n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s WHERE organization_id = %L', c.oid::regclass, :'globex'), false, false, '')))[1]::text AS globex_rows
  FROM tenantcore.isolated_tables t JOIN pg_class c ON c.oid = t.rel
 WHERE t.builtin AND t.tenant_column = 'organization_id' AND c.relname IN ('roles', 'role_permissions', 'organization_members', 'sessions', 'access_logs')
 ORDER BY 1;
SELECT count(*) > 0 AS acme_roles_left FROM tenantcore.roles WHERE organization_id = :'acme';

-- clean up
DELETE FROM tenantcore.organizations;
DELETE FROM tenantcore.users;
DROP OWNED BY tc_core_app;
DROP ROLE tc_core_app;
