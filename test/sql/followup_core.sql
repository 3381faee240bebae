-- followup_core: who a tenant may make a member without the person's
-- consent, who may own a new organization, and session lifetimes (0.7.0).
-- As a non-owner application role with three organizations.  Every case
-- here passed on 0.6.0 (add_member of a withdrawn invitee, an organization
-- owned by another person) or failed with a raw 22008 (ttl).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
CREATE ROLE tc_fu_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_fu_app');
\set ann aaaaaaaa-1111-4000-8000-00000000000a
\set ben bbbbbbbb-1111-4000-8000-00000000000b
\set dead 00000000-1111-4000-8000-00000000dead
INSERT INTO tenantcore.users (id, email, first_name) VALUES
    (:'ann', 'fu-ann@example.com', 'Ann'), (:'ben', 'fu-ben@example.com', 'Ben');
-- the outcome of add_member(), with the id masked: refusals must not tell a
-- known id from an unknown one
CREATE FUNCTION pg_temp.try_add(u uuid) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tenantcore.add_member(u);
    RETURN 'added';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || replace(SQLERRM, u::text, '<id>');
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.try_add(uuid) TO tc_fu_app;
SET ROLE tc_fu_app;

-- create_organization: the owner is the actor
SELECT tenantcore.set_actor(:'ann', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_organization('FU A', 'fu-a') AS org_a \gset
SELECT tenantcore.create_organization('FU for Ben', 'fu-for-ben', :'ben');
SELECT tenantcore.create_organization('FU for nobody', 'fu-for-nobody', :'dead');
SELECT count(*) AS organizations_for_others FROM tenantcore.organizations WHERE slug IN ('fu-for-ben', 'fu-for-nobody');
SELECT tenantcore.set_actor(:'ben', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_organization('FU B', 'fu-b') AS org_b \gset

-- the attack of 0.6.0: invite (the tenant sees the invitee's id in its own
-- invitation row), withdraw the invitation, add the id
SELECT tenantcore.set_tenant(:'org_a', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'ann', false) IS NOT NULL AS actor_set;
SELECT tenantcore.invite_member('fu-ben@example.com') = :'ben' AS invitee_id_known;
SELECT user_id = :'ben' AS ben, status FROM tenantcore.organization_members WHERE user_id <> :'ann';
SELECT tenantcore.remove_member(:'ben');
SELECT pg_temp.try_add(:'ben') AS withdrawn_invitee, pg_temp.try_add(:'dead') AS unknown_id;
SELECT tenantcore.add_member(:'ben');
-- Ben stays invisible to A, and no membership was left
SELECT email FROM tenantcore.users ORDER BY email;
SELECT count(*) AS a_memberships_of_ben FROM tenantcore.organization_members WHERE user_id = :'ben';
-- an open invitation is a membership row of A: "a member already", as in 0.6.0
SELECT tenantcore.invite_member('fu-ben@example.com') = :'ben' AS invited_again;
SELECT tenantcore.add_member(:'ben');
SELECT status FROM tenantcore.organization_members WHERE user_id = :'ben';

-- people create_user() made in A's context: A may add them
SELECT tenantcore.create_user('fu-cara@example.com', NULL, 'Cara') AS cara \gset
SELECT pg_temp.try_add(:'cara') AS created_in_a;
SELECT email FROM tenantcore.users ORDER BY email;
-- made in B's context: A may not
SELECT tenantcore.set_tenant(:'org_b', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'ben', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_user('fu-dan@example.com', NULL, 'Dan') AS dan \gset
SELECT tenantcore.set_tenant(:'org_a', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'ann', false) IS NOT NULL AS actor_set;
SELECT pg_temp.try_add(:'dan') AS created_in_b;
-- made without a tenant: nobody's
SELECT tenantcore.clear_tenant();
SELECT tenantcore.create_user('fu-eve@example.com') AS eve \gset
SELECT tenantcore.set_tenant(:'org_a', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'ann', false) IS NOT NULL AS actor_set;
SELECT pg_temp.try_add(:'eve') AS created_without_tenant;

-- people who share an accepted membership with the actor: Ben accepts A's
-- invitation; then Ann may add him to her organization C, but not Dan, whom
-- she invited to A and who has not accepted
SELECT tenantcore.invite_member('fu-dan@example.com') = :'dan' AS dan_invited;
SELECT tenantcore.set_actor(:'ben', false) IS NOT NULL AS actor_set;
SELECT tenantcore.accept_invitation();
SELECT tenantcore.set_actor(:'ann', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_organization('FU C', 'fu-c') AS org_c \gset
SELECT tenantcore.set_tenant(:'org_c', false) IS NOT NULL AS tenant_set;
SELECT pg_temp.try_add(:'ben') AS shares_a_with_ann, pg_temp.try_add(:'dan') AS only_invited_to_a;
SELECT email FROM tenantcore.users ORDER BY email;

-- the extension owner (here a superuser) may add anyone and name any owner
RESET ROLE;
SELECT tenantcore.set_tenant(:'org_c', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'ann', false) IS NOT NULL AS actor_set;
SELECT pg_temp.try_add(:'eve') AS added_by_the_dba;
SELECT tenantcore.create_organization('FU D', 'fu-d', :'eve') IS NOT NULL AS dba_names_the_owner;
SET ROLE tc_fu_app;

-- create_session: the ttl is positive and at most a year
SELECT tenantcore.set_tenant(:'org_a', false) IS NOT NULL AS tenant_set, tenantcore.set_actor(:'ann', false) IS NOT NULL AS actor_set;
SELECT tenantcore.create_session(:'ann', interval '1000000 years');
SELECT tenantcore.create_session(:'ann', interval '366 days');
SELECT tenantcore.create_session(:'ann', interval '13 months');
SELECT tenantcore.create_session(:'ann', interval '0');
SELECT tenantcore.create_session(:'ann', interval '1 month -31 days');
SELECT left(tenantcore.create_session(:'ann', interval '365 days'), 4) AS a_year_is_fine,
       left(tenantcore.create_session(:'ann', interval '1 year'), 4) AS one_year;
SELECT count(*) AS sessions, max(expires_at) < now() + interval '366 days' AS within_a_year FROM tenantcore.sessions;

RESET ROLE;
DELETE FROM tenantcore.organizations WHERE slug LIKE 'fu-%';
DELETE FROM tenantcore.users WHERE email LIKE 'fu-%';
DROP OWNED BY tc_fu_app;
DROP ROLE tc_fu_app;
