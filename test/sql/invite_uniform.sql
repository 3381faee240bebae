-- tenantcore: invite_member() answers the same for an address with an
-- account and one without (0.7.0).  As the application role, in two tenants:
-- the same returned type, no NOTICE, the same errors (with the user id
-- masked), the same audit entries in the inviting tenant's log, and the
-- invited person invisible until accepted.  On 0.6.0 the tenant's log had an
-- INSERT into users for unknown addresses only, and the users rows of invited
-- people were visible.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE tc_inv_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_inv_app');
INSERT INTO tenantcore.users (id, email, first_name) VALUES
    ('a4000000-0000-4000-8000-00000000000a', 'inv-ann@example.com', 'Ann'),
    ('c4000000-0000-4000-8000-00000000000c', 'inv-carl@else.example', 'Carl'),
    ('e4000000-0000-4000-8000-00000000000e', 'inv-eve@example.com', 'Eve');
INSERT INTO tenantcore.user_profiles (user_id, phone) VALUES ('c4000000-0000-4000-8000-00000000000c', '+1 555 0100');

BEGIN;
SET LOCAL ROLE tc_inv_app;
-- carl is a member of ann's tenant A; eve's tenant B invites
SELECT tenantcore.set_actor('a4000000-0000-4000-8000-00000000000a') IS NOT NULL AS actor_set;
SELECT set_config('inv.a', tenantcore.create_organization('Inv A', 'inv-a')::text, true) IS NOT NULL AS a_created;
SELECT tenantcore.set_tenant(current_setting('inv.a')::uuid) IS NOT NULL AS tenant_set;
-- carl, made by the DBA, is added by the DBA (an application role may not, since 0.7.0)
RESET ROLE;
SELECT tenantcore.add_member('c4000000-0000-4000-8000-00000000000c');
SET LOCAL ROLE tc_inv_app;
SELECT tenantcore.set_actor('e4000000-0000-4000-8000-00000000000e') IS NOT NULL AS actor_set;
SELECT set_config('inv.b', tenantcore.create_organization('Inv B', 'inv-b')::text, true) IS NOT NULL AS b_created;
SELECT tenantcore.set_tenant(current_setting('inv.b')::uuid) IS NOT NULL AS tenant_set;

-- each call's result type, then what the tenant's log gained with it
CREATE FUNCTION pg_temp.invite(address text) RETURNS TABLE (result_type regtype, new_entries text[])
LANGUAGE plpgsql AS $$
DECLARE
    mark bigint := (SELECT coalesce(max(id), 0) FROM tenantcore.audit_log);
    uid uuid;
BEGIN
    uid := tenantcore.invite_member(address);
    RETURN QUERY SELECT pg_typeof(uid)::regtype,
                        (SELECT array_agg(a.table_name || ' ' || a.operation ORDER BY a.id) FROM tenantcore.audit_log a WHERE a.id > mark);
END
$$;
-- the error of a call, the user id masked
CREATE FUNCTION pg_temp.invite_error(address text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantcore.invite_member(address);
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || regexp_replace(SQLERRM, '[0-9a-f]{8}-[0-9a-f-]{27}', '<id>');
END
$$;

SELECT 'known' AS address, * FROM pg_temp.invite('inv-carl@else.example');
SELECT 'unknown' AS address, * FROM pg_temp.invite('inv-nobody@else.example');
SELECT 'known' AS address, pg_temp.invite_error('INV-CARL@else.example') AS second_invitation;
SELECT 'unknown' AS address, pg_temp.invite_error('INV-NOBODY@else.example') AS second_invitation;
-- bad input: the same for both
SELECT pg_temp.invite_error('inv-carl@else.example' || NULL) AS null_address;
-- what B sees: its invitations, nobody behind them
SELECT m.role, m.status, u.email, u.first_name FROM tenantcore.organization_members m
  LEFT JOIN tenantcore.users u ON u.id = m.user_id
 WHERE m.user_id <> 'e4000000-0000-4000-8000-00000000000e' ORDER BY 1, 2, 3;
SELECT count(*) AS profiles_b_sees FROM tenantcore.user_profiles;
ROLLBACK;

-- after the ROLLBACK nothing of it is left
SELECT count(*) AS users_left FROM tenantcore.users WHERE email ILIKE 'inv-nobody%';
SELECT count(*) AS organizations_left FROM tenantcore.organizations WHERE slug IN ('inv-a', 'inv-b');

DELETE FROM tenantcore.users WHERE email LIKE 'inv-%';
DROP OWNED BY tc_inv_app;
DROP ROLE tc_inv_app;
