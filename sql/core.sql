-- sql/core.sql -- the core schema: organizations, people, roles, sessions, API keys.
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

-- updated_at_trigger(column) sets the column to now() on every UPDATE;
-- track_updated_at() installs it (one trigger per table, re-run to change
-- the column).
CREATE OR REPLACE FUNCTION @extschema@.updated_at_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_updated_at_trigger'
    LANGUAGE C;

CREATE OR REPLACE FUNCTION @extschema@.track_updated_at(rel regclass, column_name name DEFAULT 'updated_at')
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
    typ  oid;
BEGIN
    IF rel IS NULL OR column_name IS NULL THEN
        RAISE EXCEPTION 'tenantcore.track_updated_at(): relation and column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = rel;
    IF kind IS NULL OR kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel
            USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT a.atttypid INTO typ
      FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF typ IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', column_name, rel
            USING ERRCODE = 'undefined_column';
    END IF;
    IF typ <> 'timestamptz'::regtype THEN
        RAISE EXCEPTION 'column "%" of relation "%" is of type %, not timestamp with time zone',
                        column_name, rel, typ::regtype
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    EXECUTE format('CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger(%L)',
                   rel, column_name);
END
$$;
COMMENT ON FUNCTION @extschema@.track_updated_at(regclass, name) IS
    'keep a timestamptz column set to now() on every UPDATE of the table';

COMMENT ON TABLE @extschema@.user_profiles IS 'one profile per person (global, like users)';
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.user_profiles TO PUBLIC;

COMMENT ON TABLE @extschema@.permissions IS 'global permission catalogue ("resource.action")';
GRANT SELECT ON @extschema@.permissions, @extschema@.role_templates, @extschema@.role_template_permissions TO PUBLIC;

COMMENT ON TABLE @extschema@.role_templates IS 'system roles copied into each new organization';

COMMENT ON TABLE @extschema@.roles IS 'roles of an organization: copies of the system templates and its own roles';

COMMENT ON TABLE @extschema@.organization_members IS 'membership of a person in an organization, with the organization role';
-- memberships and roles change only through the functions, which check the
-- actor's permissions (nobody hands out more than they hold)
GRANT SELECT ON @extschema@.organization_members, @extschema@.roles, @extschema@.role_permissions,
      @extschema@.user_roles TO PUBLIC;

COMMENT ON TABLE @extschema@.user_roles IS 'roles granted to a member in addition to the organization role';

COMMENT ON TABLE @extschema@.sessions IS 'refresh-token sessions (only a hash of the token is stored)';
GRANT SELECT (organization_id, id, user_id, user_agent, ip_address, created_at, last_used_at, expires_at, revoked_at, ended_at)
   ON @extschema@.sessions TO PUBLIC;

COMMENT ON TABLE @extschema@.api_keys IS 'API keys (only a hash of the key is stored), with scopes';
GRANT SELECT (organization_id, id, user_id, name, scopes, created_at, last_used_at, expires_at, revoked_at, ended_at)
   ON @extschema@.api_keys TO PUBLIC;

-- _organization_created copies the system role templates into a new
-- organization.  On a Citus cluster organizations is a reference table, and
-- the trigger fires on every node's copy of the new row: the node that
-- holds the organization's shards of roles and role_permissions writes the
-- roles there, once; the other nodes (the coordinator too) do nothing.
CREATE OR REPLACE FUNCTION @extschema@._organization_created() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    roles_rel      regclass := '@extschema@.roles';
    perms_rel      regclass := '@extschema@.role_permissions';
    templates      regclass := '@extschema@.role_templates';
    template_perms regclass := '@extschema@.role_template_permissions';
BEGIN
    IF @extschema@._citus_table_method('@extschema@.organizations') IS NOT NULL THEN
        IF @extschema@._citus_table_method(roles_rel) IS DISTINCT FROM 'h'
           OR @extschema@._citus_table_method(perms_rel) IS DISTINCT FROM 'h' THEN
            RAISE EXCEPTION 'tenantcore.roles and tenantcore.role_permissions are not distributed yet'
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'On a Citus cluster a new organization''s roles are written on the node of its shards.',
                      HINT = 'Run the rest of tenantcore.citus_plan()''s statements first.';
        END IF;
        roles_rel := @extschema@._citus_local_shard(roles_rel, NEW.id);
        IF roles_rel IS NULL THEN
            RETURN NULL;
        END IF;
        perms_rel := @extschema@._citus_local_shard(perms_rel, NEW.id);
        templates := @extschema@._citus_placement(templates);
        template_perms := @extschema@._citus_placement(template_perms);
    END IF;
    EXECUTE format('INSERT INTO %s (organization_id, key, name, description, is_system)
                    SELECT $1, t.key, t.name, t.description, true FROM %s t', roles_rel, templates)
      USING NEW.id;
    EXECUTE format('INSERT INTO %s (organization_id, role_id, permission)
                    SELECT $1, r.id, tp.permission
                      FROM %s r JOIN %s tp ON tp.template_key = r.key
                     WHERE r.organization_id = $1 AND r.is_system', perms_rel, roles_rel, template_perms)
      USING NEW.id;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._organization_created() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._token_secret() RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_token_secret' LANGUAGE C VOLATILE STRICT;

CREATE OR REPLACE FUNCTION @extschema@._token_hash(secret bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_token_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION @extschema@._token_matches(secret bytea, stored bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_token_matches' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE EXECUTE ON FUNCTION @extschema@._token_secret(), @extschema@._token_hash(bytea),
    @extschema@._token_matches(bytea, bytea) FROM PUBLIC;

-- the planner support function estimates that has_permission() keeps every
-- row (its answer is the same for all rows of a query)
CREATE OR REPLACE FUNCTION @extschema@._has_permission_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'tenantcore_has_permission_support' LANGUAGE C STRICT;

CREATE OR REPLACE FUNCTION @extschema@.has_permission(permission text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_has_permission' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
    SUPPORT @extschema@._has_permission_support;
COMMENT ON FUNCTION @extschema@.has_permission(text) IS
    'whether the current actor holds a permission in the current tenant (organization role or granted roles)';

-- _member_visible: the person is a member of the current tenant whom its
-- members may see (any status but invited); the policies "visible" of users
-- and user_profiles call it (C: the tenant's members loaded once per
-- statement) instead of a subquery, which Citus refuses in the policies of
-- its tables.  It answers only for the current tenant, as the policy did.
CREATE OR REPLACE FUNCTION @extschema@._member_visible("user" uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_member_visible' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._member_visible(uuid) IS
    'whether a person is a member of the current tenant (not only invited)';

-- _context returns the current tenant and actor, or raises the error that
-- says which is missing.
CREATE OR REPLACE FUNCTION @extschema@._context(func text, need_actor boolean, OUT tenant uuid, OUT actor uuid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    tenant := @extschema@.current_tenant();
    actor := @extschema@.current_actor();
    IF tenant IS NULL THEN
        RAISE EXCEPTION '%: no tenant is set', func
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call tenantcore.set_tenant() first.';
    END IF;
    IF need_actor AND actor IS NULL THEN
        RAISE EXCEPTION '%: no actor is set', func
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call tenantcore.set_actor() first.';
    END IF;
END
$$;

-- _require_permission raises unless the actor holds the permission.
CREATE OR REPLACE FUNCTION @extschema@._require_permission(func text, permission text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT @extschema@.has_permission(permission) THEN
        RAISE EXCEPTION '%: permission "%" required', func, permission
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

-- _check_grantable raises unless the role exists in the tenant and the actor
-- holds every permission of it (nobody hands out more than they have).
CREATE OR REPLACE FUNCTION @extschema@._check_grantable(func text, tenant uuid, role_key text) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid     uuid;
    missing text;
BEGIN
    SELECT r.id INTO rid FROM @extschema@.roles r WHERE r.organization_id = tenant AND r.key = role_key;
    IF rid IS NULL THEN
        RAISE EXCEPTION '%: role "%" does not exist', func, role_key USING ERRCODE = 'undefined_object';
    END IF;
    SELECT min(rp.permission) INTO missing FROM @extschema@.role_permissions rp
     WHERE rp.organization_id = tenant AND rp.role_id = rid AND NOT @extschema@._actor_has(rp.permission);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '%: cannot hand out role "%"', func, role_key
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('The role has permission "%s", which you do not hold.', missing);
    END IF;
    RETURN rid;
END
$$;

-- _actor_has is has_permission() for a permission that varies per row (the
-- cache of has_permission holds one answer per call site).
CREATE OR REPLACE FUNCTION @extschema@._actor_has(permission text) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN @extschema@.has_permission(permission);

CREATE OR REPLACE FUNCTION @extschema@.my_organizations()
RETURNS TABLE (organization_id uuid, name text, slug text, role text, status text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT o.id, o.name, o.slug, m.role, m.status
      FROM @extschema@.organization_members m JOIN @extschema@.organizations o ON o.id = m.organization_id
     WHERE m.user_id = @extschema@.current_actor() AND m.deleted_at IS NULL AND o.deleted_at IS NULL
     ORDER BY o.name, o.id;
END;
COMMENT ON FUNCTION @extschema@.my_organizations() IS 'the organizations the current actor is a member of';

CREATE OR REPLACE FUNCTION @extschema@.accept_invitation() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET citus.multi_shard_modify_mode = 'sequential'
AS $$
DECLARE
    ctx record := @extschema@._context('accept_invitation', true);
BEGIN
    UPDATE @extschema@.organization_members m SET status = 'active', joined_at = now()
     WHERE m.organization_id = ctx.tenant AND m.user_id = ctx.actor AND m.status = 'invited';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'accept_invitation: no open invitation for user % in this organization', ctx.actor
            USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE @extschema@.users u SET status = 'active' WHERE u.id = ctx.actor AND u.status = 'invited';
END
$$;
COMMENT ON FUNCTION @extschema@.accept_invitation() IS 'the current actor accepts its invitation into the current tenant';

-- _check_owners raises when a change would leave the tenant without an owner.
CREATE OR REPLACE FUNCTION @extschema@._check_owners(func text, tenant uuid, "user" uuid) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM @extschema@.organization_members m
                WHERE m.organization_id = tenant AND m.user_id = "user" AND m.role = 'owner')
       AND NOT EXISTS (SELECT FROM @extschema@.organization_members m
                        WHERE m.organization_id = tenant AND m.user_id <> "user" AND m.role = 'owner'
                          AND m.status = 'active' AND m.deleted_at IS NULL) THEN
        RAISE EXCEPTION '%: user % is the last owner of the organization', func, "user"
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Make another member owner first.';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.remove_member("user" uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('remove_member', true);
    r   text;
BEGIN
    IF "user" IS NULL THEN
        RAISE EXCEPTION 'remove_member: user must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF "user" <> ctx.actor THEN   -- anybody may leave
        PERFORM @extschema@._require_permission('remove_member', 'members.manage');
    END IF;
    SELECT m.role INTO r FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user";
    IF NOT FOUND THEN
        RAISE EXCEPTION 'remove_member: user % is not a member of the organization', "user" USING ERRCODE = 'undefined_object';
    END IF;
    IF "user" <> ctx.actor THEN
        PERFORM @extschema@._check_grantable('remove_member', ctx.tenant, r);
    END IF;
    PERFORM @extschema@._check_owners('remove_member', ctx.tenant, "user");
    -- team memberships, roles, sessions, API keys, settings, notifications go with it
    DELETE FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user";
END
$$;
COMMENT ON FUNCTION @extschema@.remove_member(uuid) IS
    'remove a person from the current tenant, with their roles, team memberships, sessions and API keys';

CREATE OR REPLACE FUNCTION @extschema@.set_member_role("user" uuid, role text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('set_member_role', true);
    old text;
BEGIN
    IF "user" IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'set_member_role: user and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('set_member_role', 'members.manage');
    SELECT m.role INTO old FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user";
    IF NOT FOUND THEN
        RAISE EXCEPTION 'set_member_role: user % is not a member of the organization', "user" USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM @extschema@._check_grantable('set_member_role', ctx.tenant, role);
    PERFORM @extschema@._check_grantable('set_member_role', ctx.tenant, old);
    IF role <> 'owner' THEN
        PERFORM @extschema@._check_owners('set_member_role', ctx.tenant, "user");
    END IF;
    UPDATE @extschema@.organization_members m SET role = set_member_role.role
     WHERE m.organization_id = ctx.tenant AND m.user_id = "user";
END
$$;
COMMENT ON FUNCTION @extschema@.set_member_role(uuid, text) IS 'change the organization role of a member of the current tenant';

CREATE OR REPLACE FUNCTION @extschema@.grant_role("user" uuid, role text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('grant_role', true);
    rid uuid;
BEGIN
    IF "user" IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'grant_role: user and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('grant_role', 'roles.manage');
    rid := @extschema@._check_grantable('grant_role', ctx.tenant, role);
    IF NOT EXISTS (SELECT FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user") THEN
        RAISE EXCEPTION 'grant_role: user % is not a member of the organization', "user" USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO @extschema@.user_roles (organization_id, user_id, role_id, granted_by)
    VALUES (ctx.tenant, "user", rid, ctx.actor)
    ON CONFLICT ON CONSTRAINT user_roles_pkey DO NOTHING;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_role(uuid, text) IS
    'grant a role of the current tenant to a member; false when it was granted already';

CREATE OR REPLACE FUNCTION @extschema@.revoke_role("user" uuid, role text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('revoke_role', true);
    rid uuid;
BEGIN
    IF "user" IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'revoke_role: user and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('revoke_role', 'roles.manage');
    rid := @extschema@._check_grantable('revoke_role', ctx.tenant, role);
    DELETE FROM @extschema@.user_roles ur WHERE ur.organization_id = ctx.tenant AND ur.user_id = "user" AND ur.role_id = rid;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_role(uuid, text) IS
    'revoke a granted role from a member of the current tenant; false when it was not granted';

CREATE OR REPLACE FUNCTION @extschema@.create_role(key text, name text, permissions text[] DEFAULT '{}', description text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('create_role', true);
    rid uuid;
    p   text;
BEGIN
    IF key IS NULL OR name IS NULL OR permissions IS NULL OR array_position(permissions, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'create_role: key, name and permissions must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('create_role', 'roles.manage');
    IF EXISTS (SELECT FROM @extschema@.roles r WHERE r.organization_id = ctx.tenant AND r.key = create_role.key) THEN
        RAISE EXCEPTION 'create_role: role "%" exists', key USING ERRCODE = 'duplicate_object';
    END IF;
    FOREACH p IN ARRAY permissions LOOP
        IF NOT EXISTS (SELECT FROM @extschema@.permissions x WHERE x.key = p) THEN
            RAISE EXCEPTION 'create_role: permission "%" does not exist', p USING ERRCODE = 'undefined_object';
        END IF;
        IF NOT @extschema@._actor_has(p) THEN
            RAISE EXCEPTION 'create_role: cannot hand out permission "%"', p
                USING ERRCODE = 'insufficient_privilege', DETAIL = 'You do not hold it.';
        END IF;
    END LOOP;
    INSERT INTO @extschema@.roles (organization_id, key, name, description) VALUES (ctx.tenant, key, name, description)
    RETURNING id INTO rid;
    INSERT INTO @extschema@.role_permissions (organization_id, role_id, permission)
    SELECT DISTINCT ctx.tenant, rid, x FROM unnest(permissions) x;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION @extschema@.create_role(text, text, text[], text) IS
    'create a role of the current tenant with permissions the actor holds; returns its id';

CREATE OR REPLACE FUNCTION @extschema@.delete_role(key text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('delete_role', true);
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'delete_role: key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('delete_role', 'roles.manage');
    PERFORM @extschema@._check_grantable('delete_role', ctx.tenant, key);
    IF (SELECT r.is_system FROM @extschema@.roles r WHERE r.organization_id = ctx.tenant AND r.key = delete_role.key) THEN
        RAISE EXCEPTION 'delete_role: role "%" is a system role', key USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- the grants of the role go with it
    DELETE FROM @extschema@.roles r WHERE r.organization_id = ctx.tenant AND r.key = delete_role.key;
END
$$;
COMMENT ON FUNCTION @extschema@.delete_role(text) IS 'delete a role of the current tenant (not a system role) and its grants';

-- _active_member: the person is active, a member with status active, of an
-- organization that is not soft-deleted.  PL/pgSQL, not SQL: Citus cannot
-- plan a query of its tables with the parameters of a SQL function.
CREATE OR REPLACE FUNCTION @extschema@._active_member(tenant uuid, "user" uuid) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN EXISTS (SELECT FROM @extschema@.organization_members m
                     JOIN @extschema@.users u ON u.id = m.user_id
                     JOIN @extschema@.organizations o ON o.id = m.organization_id
                    WHERE m.organization_id = tenant AND m.user_id = "user" AND m.status = 'active'
                      AND m.deleted_at IS NULL AND u.status = 'active' AND u.deleted_at IS NULL
                      AND o.deleted_at IS NULL);
END
$$;

-- _parse_token splits a token into organization id, row id and secret, or
-- raises 22023 without echoing the token.
CREATE OR REPLACE FUNCTION @extschema@._parse_token(token text, prefix text, what text,
                                         OUT organization_id uuid, OUT id uuid, OUT secret bytea)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF length(token) <> 4 + 32 + 1 + 32 + 1 + 64
       OR token !~ ('^' || prefix || '_[0-9a-f]{32}_[0-9a-f]{32}_[0-9a-f]{64}$') THEN
        RAISE EXCEPTION 'malformed %', what
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Expected "%s_" followed by three groups of lower-case hex digits.', prefix);
    END IF;
    organization_id := substr(token, 5, 32)::uuid;
    id := substr(token, 38, 32)::uuid;
    secret := decode(substr(token, 71, 64), 'hex');
END
$$;

-- _make_token builds a token from its parts.
CREATE OR REPLACE FUNCTION @extschema@._make_token(prefix text, organization_id uuid, id uuid, secret bytea) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN prefix || '_' || replace(organization_id::text, '-', '') || '_' || replace(id::text, '-', '')
       || '_' || encode(secret, 'hex');

-- _session_row finds the session of a token and checks its secret, expiry
-- and revocation.
CREATE OR REPLACE FUNCTION @extschema@._session_row(token text, func text, check_state boolean) RETURNS @extschema@.sessions
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := @extschema@._parse_token(token, 'tcs', 'session token');
    s @extschema@.sessions;
BEGIN
    SELECT * INTO s FROM @extschema@.sessions x WHERE x.organization_id = t.organization_id AND x.id = t.id FOR UPDATE;
    -- an unknown id costs a hash like a wrong secret does
    IF NOT @extschema@._token_matches(t.secret, coalesce(s.token_hash, '\x00'::bytea)) THEN
        RAISE EXCEPTION '%: invalid session token', func USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF check_state AND s.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION '%: session token revoked', func USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF check_state AND s.expires_at <= now() THEN
        RAISE EXCEPTION '%: session token expired', func USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    RETURN s;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._context(text, boolean), @extschema@._require_permission(text, text),
    @extschema@._check_grantable(text, uuid, text), @extschema@._actor_has(text), @extschema@._check_owners(text, uuid, uuid),
    @extschema@._parse_token(text, text, text), @extschema@._make_token(text, uuid, uuid, bytea),
    @extschema@._session_row(text, text, boolean), @extschema@._active_member(uuid, uuid)
  FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.validate_session(token text)
RETURNS TABLE (session_id uuid, organization_id uuid, user_id uuid, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s @extschema@.sessions := @extschema@._session_row(token, 'validate_session', true);
BEGIN
    IF NOT @extschema@._active_member(s.organization_id, s.user_id) THEN
        RAISE EXCEPTION 'validate_session: the member or the organization of the session is not active'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    UPDATE @extschema@.sessions x SET last_used_at = now() WHERE x.organization_id = s.organization_id AND x.id = s.id;
    RETURN QUERY SELECT s.id, s.organization_id, s.user_id, s.expires_at;
END
$$;
COMMENT ON FUNCTION @extschema@.validate_session(text) IS
    'check a session token (secret, expiry, revocation, active member); returns its session, tenant and user';

CREATE OR REPLACE FUNCTION @extschema@.revoke_session(token text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s @extschema@.sessions := @extschema@._session_row(token, 'revoke_session', false);
BEGIN
    UPDATE @extschema@.sessions x SET revoked_at = now()
     WHERE x.organization_id = s.organization_id AND x.id = s.id AND x.revoked_at IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_session(text) IS
    'revoke the session of a token (log out); false when it was revoked already';

CREATE OR REPLACE FUNCTION @extschema@.revoke_user_sessions("user" uuid DEFAULT @extschema@.current_actor()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('revoke_user_sessions', true);
    n   integer;
BEGIN
    IF "user" IS NULL THEN
        RAISE EXCEPTION 'revoke_user_sessions: user must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF "user" <> ctx.actor THEN
        PERFORM @extschema@._require_permission('revoke_user_sessions', 'members.manage');
    END IF;
    UPDATE @extschema@.sessions x SET revoked_at = now()
     WHERE x.organization_id = ctx.tenant AND x.user_id = "user" AND x.revoked_at IS NULL AND x.expires_at > now();
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_user_sessions(uuid) IS
    'revoke every open session of a member in the current tenant (log out everywhere); returns how many';

CREATE OR REPLACE FUNCTION @extschema@.create_api_key(name text, scopes text[] DEFAULT '{}', expires_at timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx    record := @extschema@._context('create_api_key', true);
    secret bytea := @extschema@._token_secret();
    kid    uuid := gen_random_uuid();
BEGIN
    IF name IS NULL OR scopes IS NULL THEN
        RAISE EXCEPTION 'create_api_key: name and scopes must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('create_api_key', 'api_keys.manage');
    IF expires_at IS NOT NULL AND expires_at <= now() THEN
        RAISE EXCEPTION 'create_api_key: expires_at must be in the future' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.api_keys (organization_id, id, user_id, name, key_hash, scopes, expires_at)
    VALUES (ctx.tenant, kid, ctx.actor, name, @extschema@._token_hash(secret),
            (SELECT coalesce(array_agg(DISTINCT s ORDER BY s), '{}') FROM unnest(scopes) s), expires_at);
    RETURN @extschema@._make_token('tck', ctx.tenant, kid, secret);
END
$$;
COMMENT ON FUNCTION @extschema@.create_api_key(text, text[], timestamptz) IS
    'create an API key of the current actor in the current tenant; returns the key (shown once, only its hash is stored)';

CREATE OR REPLACE FUNCTION @extschema@.validate_api_key(token text, scope text DEFAULT NULL)
RETURNS TABLE (api_key_id uuid, organization_id uuid, user_id uuid, scopes text[])
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := @extschema@._parse_token(token, 'tck', 'API key');
    k @extschema@.api_keys;
BEGIN
    SELECT * INTO k FROM @extschema@.api_keys x WHERE x.organization_id = t.organization_id AND x.id = t.id FOR UPDATE;
    IF NOT @extschema@._token_matches(t.secret, coalesce(k.key_hash, '\x00'::bytea)) THEN
        RAISE EXCEPTION 'validate_api_key: invalid API key' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF k.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'validate_api_key: API key revoked' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF k.expires_at <= now() THEN
        RAISE EXCEPTION 'validate_api_key: API key expired' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF NOT @extschema@._active_member(k.organization_id, k.user_id) THEN
        RAISE EXCEPTION 'validate_api_key: the member or the organization of the API key is not active'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    -- "clients.*" covers "clients.read"
    IF scope IS NOT NULL AND NOT (scope = ANY (k.scopes)
                                  OR EXISTS (SELECT FROM unnest(k.scopes) s
                                              WHERE s LIKE '%.*' AND starts_with(scope, left(s, -1)))) THEN
        RAISE EXCEPTION 'validate_api_key: API key lacks scope "%"', scope USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE @extschema@.api_keys x SET last_used_at = now() WHERE x.organization_id = k.organization_id AND x.id = k.id;
    RETURN QUERY SELECT k.id, k.organization_id, k.user_id, k.scopes;
END
$$;
COMMENT ON FUNCTION @extschema@.validate_api_key(text, text) IS
    'check an API key (secret, expiry, revocation, active member, optional scope); returns its key id, tenant, user and scopes';

CREATE OR REPLACE FUNCTION @extschema@.revoke_api_key(api_key_id uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx   record := @extschema@._context('revoke_api_key', true);
    owner uuid;
BEGIN
    IF api_key_id IS NULL THEN
        RAISE EXCEPTION 'revoke_api_key: API key id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT k.user_id INTO owner FROM @extschema@.api_keys k WHERE k.organization_id = ctx.tenant AND k.id = api_key_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'revoke_api_key: API key % does not exist', api_key_id USING ERRCODE = 'undefined_object';
    END IF;
    IF owner <> ctx.actor THEN
        PERFORM @extschema@._require_permission('revoke_api_key', 'api_keys.manage');
    END IF;
    UPDATE @extschema@.api_keys k SET revoked_at = now()
     WHERE k.organization_id = ctx.tenant AND k.id = api_key_id AND k.revoked_at IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_api_key(uuid) IS 'revoke an API key of the current tenant; false when it was revoked already';

-- Privileges.  The core tables and the functions above are granted to
-- PUBLIC, like the registry tables: a role reaches them only with USAGE on
-- the schema tenantcore (which grant_app_role() gives), and row level
-- security decides which rows it sees.  Password and token hashes are left
-- out of the column grants: no role but the extension's own functions reads
-- them.
GRANT SELECT (id, email, first_name, last_name, status, is_verified, last_login_at, created_at, updated_at, deleted_at),
      UPDATE (email, password_hash, first_name, last_name)
   ON @extschema@.users TO PUBLIC;

-- the tier, the Stripe customer, the owner and deletion are the DBA's (or a billing service's)
GRANT SELECT, UPDATE (name, slug, settings) ON @extschema@.organizations TO PUBLIC;

GRANT SELECT, INSERT, UPDATE, DELETE
   ON @extschema@.teams, @extschema@.team_members, @extschema@.subscriptions, @extschema@.settings,
      @extschema@.notifications, @extschema@.consents
   TO PUBLIC;

GRANT SELECT, INSERT ON @extschema@.access_logs, @extschema@.error_logs TO PUBLIC;

-- _restoring: true only while a dump is loaded by a role that could disable
-- the triggers anyway.  pg_dump and pg_restore output sets row_security off,
-- but so can any role (it is a user setting), and the core functions are
-- SECURITY DEFINER, so current_user inside them is the extension owner.  The
-- login role (session_user, which only a superuser can change) must be the
-- extension owner, a member of it, or a superuser: the owner of the core
-- tables, which may ALTER TABLE ... DISABLE TRIGGER as well.  An application
-- role that sets row_security off keeps its audit entries and the roles of
-- its new organizations.
--
-- _restoring() is evaluated for every row written to a core table (WHEN
-- clause).  It has no SET clause and no subquery, so the planner inlines it
-- (its body was bound when it was created, the search path at call time does
-- not matter): a row costs the current_setting() comparison, and the role
-- check runs only with row_security off.
CREATE OR REPLACE FUNCTION @extschema@._restoring_role() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.pg_has_role(session_user,
                              (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'tenantcore'),
                              'MEMBER');
COMMENT ON FUNCTION @extschema@._restoring_role() IS
    'whether the login role is the extension owner, a member of it or a superuser';

-- _restoring is true while pg_dump/pg_restore output is loaded (both run
-- with row_security off, which an application role never can): triggers that
-- derive rows (roles of a new organization, audit entries) stay quiet then,
-- because the dump holds those rows already.
CREATE OR REPLACE FUNCTION @extschema@._restoring() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off'
            THEN @extschema@._restoring_role() ELSE false END;
COMMENT ON FUNCTION @extschema@._restoring() IS
    'whether a dump is being loaded: row_security is off and the login role is the extension owner, a member of it or a superuser';

-- _invited_user returns the person with this e-mail address, creating one
-- (status invited) when there is none.  The new row belongs to no tenant: it
-- is written with the tenant context cleared, so its audit entry does not
-- show in the inviting tenant's log (which would tell an unknown address
-- from a known one).  A concurrent invitation of the same new address finds
-- the row instead of failing on the unique e-mail index.
-- It also clears tenantcore.context_token: current_tenant() falls back to
-- that setting (on a Citus coordinator set_context_token() sets it), and with
-- tenantcore.tenant_id cleared alone the new users row still got the inviting
-- tenant, whose audit log then told an unknown address from a known one.
CREATE OR REPLACE FUNCTION @extschema@._invited_user(email text) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET tenantcore.tenant_id = ''
SET tenantcore.jwt_tenant_claim = ''
SET tenantcore.context_token = ''
AS $$
#variable_conflict use_column
DECLARE
    uid uuid;
BEGIN
    SELECT u.id INTO uid FROM @extschema@.users u WHERE lower(u.email) = lower(_invited_user.email);
    IF uid IS NULL THEN
        INSERT INTO @extschema@.users (email, status) VALUES (_invited_user.email, 'invited')
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING id INTO uid;
        IF uid IS NULL THEN
            SELECT u.id INTO uid FROM @extschema@.users u WHERE lower(u.email) = lower(_invited_user.email);
        END IF;
    END IF;
    RETURN uid;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._invited_user(text) FROM PUBLIC;

-- invite_member, create_user, create_organization (and accept_invitation,
-- create_session) write the reference tables of a Citus cluster (users,
-- organizations) after reading or writing distributed ones: Citus needs one
-- connection per node for the whole transaction then
-- (citus.multi_shard_modify_mode, a mere placeholder without Citus).
--
-- invite_member: the same steps, result and errors whether or not the
-- address has an account.
CREATE OR REPLACE FUNCTION @extschema@.invite_member(email text, role text DEFAULT 'member') RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET citus.multi_shard_modify_mode = 'sequential'
AS $$
DECLARE
    ctx record := @extschema@._context('invite_member', true);
    uid uuid;
BEGIN
    IF email IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'invite_member: email and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('invite_member', 'members.manage');
    PERFORM @extschema@._check_grantable('invite_member', ctx.tenant, role);
    uid := @extschema@._invited_user(email);
    IF EXISTS (SELECT FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = uid) THEN
        RAISE EXCEPTION 'invite_member: user % is a member already', uid USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO @extschema@.organization_members (organization_id, user_id, role, status, invited_by)
    VALUES (ctx.tenant, uid, role, 'invited', ctx.actor);
    RETURN uid;
END
$$;
COMMENT ON FUNCTION @extschema@.invite_member(text, text) IS
    'invite a person by e-mail into the current tenant (creates the user if needed); returns the user id, the same way for known and unknown addresses';

-- _caller_is_owner: whether the role that called the current function -- the
-- role of SET ROLE, or the login role without one; inside a SECURITY DEFINER
-- function current_user is the extension owner -- is a superuser, the
-- extension owner or a member of it: the DBA, who may act for any person.
-- The setting "role" is what SET ROLE set (only to a role the session may
-- become); SECURITY DEFINER does not change it.
CREATE OR REPLACE FUNCTION @extschema@._caller_is_owner() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN pg_has_role(CASE WHEN current_setting('role') = 'none' THEN session_user
                        ELSE current_setting('role')::name END,
                   (SELECT e.extowner FROM pg_extension e WHERE e.extname = 'tenantcore'), 'MEMBER');
COMMENT ON FUNCTION @extschema@._caller_is_owner() IS
    'whether the calling role (SET ROLE, else the login role) is a superuser, the extension owner or a member of it';

COMMENT ON TABLE @extschema@.user_origins IS
    'the organization in whose context create_user() created a person (add_member may add such a person without an invitation)';

-- create_user creates a person; the current tenant, if one is set and
-- exists, is recorded as the person's origin (user_origins).
CREATE OR REPLACE FUNCTION @extschema@.create_user(email text, password_hash text DEFAULT NULL,
                                        first_name text DEFAULT NULL, last_name text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET citus.multi_shard_modify_mode = 'sequential'
AS $$
DECLARE
    uid    uuid;
    tenant uuid;
BEGIN
    IF email IS NULL THEN
        RAISE EXCEPTION 'create_user: email must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.users u WHERE lower(u.email) = lower(create_user.email)) THEN
        RAISE EXCEPTION 'create_user: a user with this e-mail address exists' USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO @extschema@.users (email, password_hash, first_name, last_name)
    VALUES (email, password_hash, first_name, last_name)
    RETURNING id INTO uid;
    BEGIN
        tenant := @extschema@.current_tenant();
    EXCEPTION WHEN insufficient_privilege THEN   -- missing_tenant = error: no tenant
        tenant := NULL;
    END;
    IF tenant IS NOT NULL AND EXISTS (SELECT FROM @extschema@.organizations o WHERE o.id = tenant) THEN
        INSERT INTO @extschema@.user_origins (user_id, organization_id) VALUES (uid, tenant);
    END IF;
    RETURN uid;
END
$$;
COMMENT ON FUNCTION @extschema@.create_user(text, text, text, text) IS
    'create a person (global identity); returns the id; the current tenant, if any, may add the person with add_member()';

-- create_organization: the owner is the current actor.  0.6.0 took any
-- user id, and the owner's membership is an accepted one: anyone could make
-- another person owner of a new organization and so read that person's
-- profile.  The extension owner (or a superuser) may still name any owner.
-- The refusal comes before the owner is looked up, so it tells nothing
-- about the id.
CREATE OR REPLACE FUNCTION @extschema@.create_organization(name text, slug text, owner uuid DEFAULT @extschema@.current_actor(),
                                                subscription_tier text DEFAULT 'trial')
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET citus.multi_shard_modify_mode = 'sequential'
AS $$
DECLARE
    oid_ uuid := gen_random_uuid();
BEGIN
    IF name IS NULL OR slug IS NULL OR subscription_tier IS NULL THEN
        RAISE EXCEPTION 'create_organization: name, slug and subscription tier must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF owner IS NULL THEN
        RAISE EXCEPTION 'create_organization: owner must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the owner, or call tenantcore.set_actor() first.';
    END IF;
    IF owner IS DISTINCT FROM @extschema@.current_actor() AND NOT @extschema@._caller_is_owner() THEN
        RAISE EXCEPTION 'create_organization: the owner must be the current actor'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The owner''s membership is an accepted one: it would show the person to the new organization.',
                  HINT = 'Create the organization as its owner (tenantcore.set_actor()) and invite the others with tenantcore.invite_member().';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.users u WHERE u.id = owner AND u.status IN ('active', 'invited')) THEN
        RAISE EXCEPTION 'create_organization: user % does not exist or is not active', owner
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.organizations o WHERE o.slug = create_organization.slug) THEN
        RAISE EXCEPTION 'create_organization: slug "%" is taken', slug USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO @extschema@.organizations (id, name, slug, subscription_tier, owner_id)
    VALUES (oid_, name, slug, subscription_tier, owner);
    INSERT INTO @extschema@.organization_members (organization_id, user_id, role, status, joined_at)
    VALUES (oid_, owner, 'owner', 'active', now());
    RETURN oid_;
END
$$;
COMMENT ON FUNCTION @extschema@.create_organization(text, text, uuid, text) IS
    'create an organization (with its system roles) and the membership of its owner, the current actor; returns the id';

-- add_member adds, without an invitation, only a person the tenant may have
-- without the person's consent: one create_user() made in this tenant's
-- context, or one who shares an accepted membership with the actor in some
-- organization (already visible to the actor there), or anyone when the
-- extension owner (or a superuser) calls.  Everyone else -- also a person
-- with an open or withdrawn invitation of this tenant -- gets the error of
-- an unknown id, so the answer tells nothing about the id.
CREATE OR REPLACE FUNCTION @extschema@.add_member("user" uuid, role text DEFAULT 'member') RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('add_member', true);
BEGIN
    IF "user" IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'add_member: user and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('add_member', 'members.manage');
    PERFORM @extschema@._check_grantable('add_member', ctx.tenant, role);
    -- the tenant sees its own memberships and invitations: this tells nothing new
    IF EXISTS (SELECT FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user") THEN
        RAISE EXCEPTION 'add_member: user % is a member already', "user" USING ERRCODE = 'unique_violation';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.users u WHERE u.id = "user" AND u.status IN ('active', 'invited'))
       OR NOT (EXISTS (SELECT FROM @extschema@.user_origins o WHERE o.user_id = "user" AND o.organization_id = ctx.tenant)
               OR EXISTS (SELECT FROM @extschema@.organization_members mine
                            JOIN @extschema@.organization_members theirs ON theirs.organization_id = mine.organization_id
                            JOIN @extschema@.organizations org ON org.id = mine.organization_id
                           WHERE mine.user_id = ctx.actor AND theirs.user_id = "user"
                             AND mine.status <> 'invited' AND theirs.status <> 'invited'
                             AND mine.deleted_at IS NULL AND theirs.deleted_at IS NULL AND org.deleted_at IS NULL)
               OR @extschema@._caller_is_owner()) THEN
        RAISE EXCEPTION 'add_member: user % does not exist or is not active', "user"
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Invite people with tenantcore.invite_member(); add_member() takes the people created in this organization''s context (tenantcore.create_user()) and those who share an organization with you.';
    END IF;
    INSERT INTO @extschema@.organization_members (organization_id, user_id, role, status, invited_by, joined_at)
    VALUES (ctx.tenant, "user", role, 'active', ctx.actor, now());
END
$$;
COMMENT ON FUNCTION @extschema@.add_member(uuid, text) IS
    'add a person created in the current tenant''s context, or sharing an organization with the actor, to the current tenant with an organization role';

-- create_session: the ttl is positive and at most a year (0.6.0 passed
-- '1000000 years' on to now() + ttl: a raw 22008 "timestamp out of range").
-- Compared as seconds (extract(epoch), a year is 365.25 days), so a ttl of
-- 365 days is within the limit whatever the months and days of the interval.
-- The ttl is also compared as the calendar adds it (now() + ttl):
-- extract(epoch) counts a month as 30 days, so '11 months 35 days 6 hours'
-- passed as 365.25 days and gave a session of 370 days; both limits apply.
CREATE OR REPLACE FUNCTION @extschema@.create_session("user" uuid DEFAULT @extschema@.current_actor(), ttl interval DEFAULT '30 days',
                                           user_agent text DEFAULT NULL, ip_address inet DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET citus.multi_shard_modify_mode = 'sequential'
AS $$
DECLARE
    ctx    record := @extschema@._context('create_session', false);
    secret bytea := @extschema@._token_secret();
    sid    uuid := gen_random_uuid();
BEGIN
    IF "user" IS NULL OR ttl IS NULL THEN
        RAISE EXCEPTION 'create_session: user and ttl must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF extract(epoch FROM ttl) <= 0 THEN
        RAISE EXCEPTION 'create_session: ttl must be positive' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the lifetime of the session, e.g. interval ''30 days''.';
    END IF;
    IF extract(epoch FROM ttl) > extract(epoch FROM interval '1 year') THEN
        RAISE EXCEPTION 'create_session: ttl must be at most 1 year, not %', ttl USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass a shorter lifetime (default 30 days) and start a new session when it ends.';
    END IF;
    -- and as the calendar adds it (a ttl whose months or days overflow the
    -- timestamp is too long too)
    BEGIN
        IF now() + ttl <= now() THEN
            RAISE EXCEPTION 'create_session: ttl must be positive' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass the lifetime of the session, e.g. interval ''30 days''.';
        END IF;
        IF now() + ttl > now() + interval '1 year' THEN
            RAISE EXCEPTION 'create_session: ttl must be at most 1 year, not %', ttl USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Pass a shorter lifetime (default 30 days) and start a new session when it ends.';
        END IF;
    EXCEPTION WHEN datetime_field_overflow THEN
        RAISE EXCEPTION 'create_session: ttl must be at most 1 year, not %', ttl USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass a shorter lifetime (default 30 days) and start a new session when it ends.';
    END;
    IF NOT @extschema@._active_member(ctx.tenant, "user") THEN
        RAISE EXCEPTION 'create_session: user % is not an active member of the organization', "user"
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO @extschema@.sessions (organization_id, id, user_id, token_hash, user_agent, ip_address, expires_at)
    VALUES (ctx.tenant, sid, "user", @extschema@._token_hash(secret), user_agent, ip_address, now() + ttl);
    UPDATE @extschema@.users u SET last_login_at = now() WHERE u.id = "user";
    RETURN @extschema@._make_token('tcs', ctx.tenant, sid, secret);
END
$$;
COMMENT ON FUNCTION @extschema@.create_session(uuid, interval, text, inet) IS
    'start a session (at most a year) of a member in the current tenant; returns the refresh token (shown once, only its hash is stored)';

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.api_keys FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:2194265a-67f5-02a5-8567-41cdeab66f78', 'tenant:organization_id', 'exclude:last_used_at', 'redact:key_hash');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.consents FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:869c168f-af7b-7778-285c-0eb8ca3fc8d3', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.notifications FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:7f2c8b88-8b90-1f7b-096b-3317a7f5a966', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.organization_members FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:fea580c4-006d-e4f9-ce3d-42e94bbd451f', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.organizations FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:85f64a51-29cb-5b8a-dbc4-8a1dd2060922', 'tenant:id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.role_permissions FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:bebdc2ec-9205-6b05-b91c-a18786527d98', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.roles FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:e0cde2bc-6693-198f-789f-99c92172272f', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.sessions FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:373a44d9-0207-1ce5-3f1e-c3a917abb220', 'tenant:organization_id', 'exclude:last_used_at', 'redact:token_hash');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.settings FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:bdc0d092-9f81-a607-bf2b-7a1935fbc91e', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.subscriptions FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:d2d86a6f-c111-a750-e4e6-6aaac9206642', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.team_members FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:32d74738-729a-953c-eb45-1f102ae89ed6', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.teams FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:23e6518a-126f-0ff0-a8af-69c7e9ce8808', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.user_profiles FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:30499bd6-c064-bdb1-408c-63e21f038c5c');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.user_roles FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:f3c4ae1f-4fb9-af03-b706-bf0e250137a4', 'tenant:organization_id');

CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR DELETE OR UPDATE ON @extschema@.users FOR EACH ROW WHEN ((NOT @extschema@._restoring())) EXECUTE FUNCTION @extschema@.audit_trigger('changed_only', 'table:599aa098-8714-e1b5-cfeb-8faf8ac9c7bc', 'exclude:last_login_at', 'exclude:updated_at', 'redact:password_hash');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.api_keys FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:2194265a-67f5-02a5-8567-41cdeab66f78');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.consents FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:869c168f-af7b-7778-285c-0eb8ca3fc8d3');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.notifications FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:7f2c8b88-8b90-1f7b-096b-3317a7f5a966');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.organization_members FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:fea580c4-006d-e4f9-ce3d-42e94bbd451f');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.organizations FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:85f64a51-29cb-5b8a-dbc4-8a1dd2060922');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.role_permissions FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:bebdc2ec-9205-6b05-b91c-a18786527d98');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.roles FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:e0cde2bc-6693-198f-789f-99c92172272f');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.sessions FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:373a44d9-0207-1ce5-3f1e-c3a917abb220');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.settings FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:bdc0d092-9f81-a607-bf2b-7a1935fbc91e');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.subscriptions FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:d2d86a6f-c111-a750-e4e6-6aaac9206642');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.team_members FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:32d74738-729a-953c-eb45-1f102ae89ed6');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.teams FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:23e6518a-126f-0ff0-a8af-69c7e9ce8808');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.user_profiles FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:30499bd6-c064-bdb1-408c-63e21f038c5c');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.user_roles FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:f3c4ae1f-4fb9-af03-b706-bf0e250137a4');

CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON @extschema@.users FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger('table:599aa098-8714-e1b5-cfeb-8faf8ac9c7bc');

CREATE OR REPLACE TRIGGER tenantcore_organization_roles AFTER INSERT ON @extschema@.organizations
    FOR EACH ROW WHEN (NOT @extschema@._restoring())
    EXECUTE FUNCTION @extschema@._organization_created();

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.notifications FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.organization_members FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.organizations FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.roles FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.settings FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.subscriptions FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.teams FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.user_profiles FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON @extschema@.users FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger('updated_at');

DROP POLICY IF EXISTS self_update ON @extschema@.users;
CREATE POLICY self_update ON @extschema@.users FOR UPDATE TO PUBLIC
    USING (id = @extschema@.current_actor()) WITH CHECK (id = @extschema@.current_actor());

DROP POLICY IF EXISTS self_write ON @extschema@.user_profiles;
CREATE POLICY self_write ON @extschema@.user_profiles FOR ALL TO PUBLIC
    USING (user_id = @extschema@.current_actor()) WITH CHECK (user_id = @extschema@.current_actor());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.access_logs;
CREATE POLICY tenantcore_isolation ON @extschema@.access_logs USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.api_keys;
CREATE POLICY tenantcore_isolation ON @extschema@.api_keys USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.consents;
CREATE POLICY tenantcore_isolation ON @extschema@.consents USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.error_logs;
CREATE POLICY tenantcore_isolation ON @extschema@.error_logs USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.notifications;
CREATE POLICY tenantcore_isolation ON @extschema@.notifications USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.organization_members;
CREATE POLICY tenantcore_isolation ON @extschema@.organization_members USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.organizations;
CREATE POLICY tenantcore_isolation ON @extschema@.organizations USING (id = @extschema@.current_tenant()) WITH CHECK (id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.role_permissions;
CREATE POLICY tenantcore_isolation ON @extschema@.role_permissions USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.roles;
CREATE POLICY tenantcore_isolation ON @extschema@.roles USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.sessions;
CREATE POLICY tenantcore_isolation ON @extschema@.sessions USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.settings;
CREATE POLICY tenantcore_isolation ON @extschema@.settings USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.subscriptions;
CREATE POLICY tenantcore_isolation ON @extschema@.subscriptions USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.team_members;
CREATE POLICY tenantcore_isolation ON @extschema@.team_members USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.teams;
CREATE POLICY tenantcore_isolation ON @extschema@.teams USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.user_roles;
CREATE POLICY tenantcore_isolation ON @extschema@.user_roles USING (organization_id = @extschema@.current_tenant()) WITH CHECK (organization_id = @extschema@.current_tenant());

-- a person is visible to the members of the organizations the person
-- belongs to; invitations are not memberships (status invited): inviting an
-- address reveals nothing about the account behind it
DROP POLICY IF EXISTS visible ON @extschema@.user_profiles;
CREATE POLICY visible ON @extschema@.user_profiles FOR SELECT TO PUBLIC
    USING (user_id = @extschema@.current_actor() OR @extschema@._member_visible(user_id));

DROP POLICY IF EXISTS visible ON @extschema@.users;
CREATE POLICY visible ON @extschema@.users FOR SELECT TO PUBLIC
    USING (id = @extschema@.current_actor() OR @extschema@._member_visible(id));

-- The core tables are isolated like any other table: their tenant column's
-- default is _tenant_default() (organizations: the tenant is the row itself,
-- its id keeps gen_random_uuid()).
ALTER TABLE @extschema@.roles ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.role_permissions ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.organization_members ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.user_roles ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.teams ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.team_members ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.sessions ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.api_keys ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.subscriptions ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.settings ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.notifications ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.consents ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.access_logs ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
ALTER TABLE @extschema@.error_logs ALTER COLUMN organization_id SET DEFAULT @extschema@._tenant_default();
