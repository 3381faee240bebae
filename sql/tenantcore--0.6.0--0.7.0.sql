-- tenantcore 0.6.0 -> 0.7.0: security hardening and the signed tenant context
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.7.0'" to load this file. \quit

-- ===========================================================================
-- Part 1: C entry points checked (protect trigger column types, relation 0,
-- internal trigger functions kept from PUBLIC)
-- ===========================================================================

-- (end of part 1)


-- ===========================================================================
-- Part 2: restore detection, invitations, role and database settings, lint
-- ===========================================================================

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
CREATE FUNCTION @extschema@._restoring_role() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.pg_has_role(session_user,
                              (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'tenantcore'),
                              'MEMBER');
COMMENT ON FUNCTION @extschema@._restoring_role() IS
    'whether the login role is the extension owner, a member of it or a superuser';
CREATE OR REPLACE FUNCTION @extschema@._restoring() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off'
            THEN @extschema@._restoring_role() ELSE false END;
COMMENT ON FUNCTION @extschema@._restoring() IS
    'whether a dump is being loaded: row_security is off and the login role is the extension owner, a member of it or a superuser';

-- Invitations are not memberships: the global identity tables show a person
-- to a tenant only once the person accepted (status other than invited), so
-- inviting an address reveals nothing about the account behind it.
ALTER POLICY visible ON @extschema@.users
    USING (id = @extschema@.current_actor()
           OR EXISTS (SELECT FROM @extschema@.organization_members m
                       WHERE m.organization_id = @extschema@.current_tenant() AND m.user_id = users.id
                         AND m.status <> 'invited'));
ALTER POLICY visible ON @extschema@.user_profiles
    USING (user_id = @extschema@.current_actor()
           OR EXISTS (SELECT FROM @extschema@.organization_members m
                       WHERE m.organization_id = @extschema@.current_tenant() AND m.user_id = user_profiles.user_id
                         AND m.status <> 'invited'));

-- _invited_user returns the person with this e-mail address, creating one
-- (status invited) when there is none.  The new row belongs to no tenant: it
-- is written with the tenant context cleared, so its audit entry does not
-- show in the inviting tenant's log (which would tell an unknown address
-- from a known one).  A concurrent invitation of the same new address finds
-- the row instead of failing on the unique e-mail index.
CREATE FUNCTION @extschema@._invited_user(email text) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET tenantcore.tenant_id = ''
SET tenantcore.jwt_tenant_claim = ''
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

-- invite_member: the same steps, result and errors whether or not the
-- address has an account.
CREATE OR REPLACE FUNCTION @extschema@.invite_member(email text, role text DEFAULT 'member') RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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

-- lint() also reports settings stored for roles and databases (the rest of
-- the function as in 0.5.0)
CREATE OR REPLACE FUNCTION @extschema@.lint()
RETURNS TABLE (severity text, object text, problem text, fix text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH RECURSIVE user_tables AS (
        SELECT c.oid::regclass AS rel, c.relowner, c.relrowsecurity, c.relforcerowsecurity, c.relispartition
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', '@extschema@')
           AND n.nspname NOT LIKE 'pg\_%'
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
    ), tenant_like AS (
        SELECT u.*, a.attname
          FROM user_tables u JOIN pg_attribute a ON a.attrelid = u.rel
         WHERE a.attnum > 0 AND NOT a.attisdropped
           AND lower(a.attname) IN ('organization_id', 'organizationid', 'org_id', 'tenant_id', 'tenantid')
    ), isolated AS (
        SELECT u.*, t.tenant_column FROM user_tables u JOIN @extschema@.isolated_tables t ON t.rel = u.rel
    ), bypass_roles AS (
        SELECT r.oid, r.rolname FROM pg_roles r
         WHERE (r.rolsuper OR r.rolbypassrls)
    ), view_reads AS (
        -- every relation a view or materialized view reads directly
        SELECT DISTINCT v.oid AS view, d.refobjid AS reads
          FROM pg_class v
          JOIN pg_rewrite rw ON rw.ev_class = v.oid
          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                          AND d.refclassid = 'pg_class'::regclass
         WHERE v.relkind IN ('v', 'm') AND d.refobjid <> v.oid
    ), view_chain AS (
        -- views reading an isolated table directly (via NULL) or through other views
        SELECT vr.view, i.rel AS isolated, NULL::regclass AS via
          FROM view_reads vr JOIN isolated i ON i.rel = vr.reads
        UNION
        SELECT vr.view, c.isolated, vr.reads::regclass
          FROM view_reads vr JOIN view_chain c ON c.view = vr.reads
    ), views_over_isolated AS (
        -- one row per view and isolated table, the direct path preferred
        SELECT c.view, c.isolated, (array_agg(c.via ORDER BY c.via NULLS FIRST))[1] AS via
          FROM view_chain c GROUP BY c.view, c.isolated
    )
    -- tenant-looking tables nobody isolated
    SELECT 'high', tl.rel::text,
           format('column %I looks like a tenant column but the table has no tenant policy', tl.attname),
           format('SELECT tenantcore.isolate(%L, %L);', tl.rel::text, tl.attname)
      FROM tenant_like tl
     WHERE NOT EXISTS (SELECT FROM isolated i WHERE i.rel = tl.rel)
       AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = tl.rel)
    UNION ALL
    -- registered, but the catalog no longer agrees
    SELECT 'high', i.rel::text, 'row level security is not enabled',
           format('SELECT tenantcore.isolate(%L, %L);', i.rel::text, i.tenant_column)
      FROM isolated i WHERE NOT i.relrowsecurity
    UNION ALL
    SELECT 'high', i.rel::text, 'row level security is not forced, so the table owner bypasses the tenant policy',
           format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', i.rel)
      FROM isolated i WHERE i.relrowsecurity AND NOT i.relforcerowsecurity
    UNION ALL
    SELECT 'high', i.rel::text, 'the tenant policy is missing or was changed',
           format('SELECT tenantcore.isolate(%L, %L);', i.rel::text, i.tenant_column)
      FROM isolated i
     WHERE NOT EXISTS (SELECT FROM pg_policy p
                        WHERE p.polrelid = i.rel AND p.polname = 'tenantcore_isolation' AND p.polpermissive
                          AND p.polcmd = '*' AND p.polroles = '{0}'
                          AND pg_get_expr(p.polqual, p.polrelid) = @extschema@._policy_expr(i.tenant_column)
                          AND pg_get_expr(p.polwithcheck, p.polrelid) = @extschema@._policy_expr(i.tenant_column))
    UNION ALL
    SELECT 'high', format('%s (policy %I)', i.rel, p.polname),
           'another permissive policy is ORed with the tenant policy and can expose other tenants'' rows',
           format('DROP POLICY %I ON %s; -- or recreate it AS RESTRICTIVE', p.polname, i.rel)
      FROM isolated i JOIN pg_policy p ON p.polrelid = i.rel
     WHERE p.polpermissive AND p.polname <> 'tenantcore_isolation'
    UNION ALL
    -- partitions of isolated tables that are reachable without a policy
    SELECT 'high', u.rel::text, 'partition of an isolated table is not isolated itself and leaks when queried directly',
           format('SELECT tenantcore.isolate(%L, %L);', u.rel::text, anc.tenant_column)
      FROM user_tables u
      JOIN LATERAL (SELECT t.tenant_column FROM pg_partition_ancestors(u.rel) a
                      JOIN @extschema@.isolated_tables t ON t.rel = a.relid LIMIT 1) anc ON true
     WHERE u.relispartition AND NOT EXISTS (SELECT FROM isolated i WHERE i.rel = u.rel)
    UNION ALL
    -- owners that are login roles can switch row level security off
    SELECT 'medium', i.rel::text,
           format('isolated table is owned by login role %I, which can disable row level security', r.rolname),
           format('ALTER TABLE %s OWNER TO <a NOLOGIN owner role>;', i.rel)
      FROM isolated i JOIN pg_roles r ON r.oid = i.relowner
     WHERE r.rolcanlogin AND NOT r.rolsuper
    UNION ALL
    SELECT 'high', quote_ident(r.rolname), 'role has BYPASSRLS and sees every tenant''s rows',
           format('ALTER ROLE %I NOBYPASSRLS;', r.rolname)
      FROM pg_roles r WHERE r.rolbypassrls AND NOT r.rolsuper AND r.rolname NOT LIKE 'pg\_%'
    UNION ALL
    -- views run with their owner's rights unless security_invoker is set;
    -- materialized views store rows and row level security never applies to them
    SELECT CASE WHEN EXISTS (SELECT FROM bypass_roles b WHERE b.oid = v.relowner) THEN 'high' ELSE 'medium' END,
           v.oid::regclass::text,
           CASE WHEN v.relkind = 'm'
                THEN format('materialized view stores rows of isolated table %s%s and row level security does not apply to it%s', o.isolated,
                            CASE WHEN o.via IS NOT NULL THEN format(' (through view %s)', o.via) ELSE '' END,
                            CASE WHEN EXISTS (SELECT FROM bypass_roles b WHERE b.oid = v.relowner)
                                 THEN ', and its owner bypasses row level security, so it holds every tenant''s rows'
                                 ELSE '' END)
                ELSE format('view reads isolated table %s without security_invoker%s', o.isolated,
                            CASE WHEN EXISTS (SELECT FROM bypass_roles b WHERE b.oid = v.relowner)
                                 THEN ' and its owner bypasses row level security, so it shows every tenant''s rows'
                                 ELSE ', so privileges are checked as the view owner' END)
           END,
           CASE WHEN v.relkind = 'm'
                THEN format('REVOKE ALL ON %s FROM PUBLIC; -- use a security_invoker view or an isolated table instead', v.oid::regclass)
                ELSE format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
           END
      FROM views_over_isolated o
      JOIN pg_class v ON v.oid = o.view
     WHERE v.relkind = 'm'
        -- security_invoker takes any spelling of a boolean (true, on, 1, yes, ...)
        OR (o.via IS NULL
            AND NOT EXISTS (SELECT FROM unnest(v.reloptions) opt
                        WHERE CASE WHEN opt LIKE 'security\_invoker=%' THEN substr(opt, 18)::boolean ELSE false END))
    UNION ALL
    SELECT 'medium', p.oid::regprocedure::text, 'SECURITY DEFINER function without a pinned search_path',
           format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp;', p.oid::regprocedure)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prosecdef
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
       AND NOT EXISTS (SELECT FROM unnest(p.proconfig) cfg WHERE cfg LIKE 'search\_path=%')
    UNION ALL
    -- settings stored for a role, a database or a role in a database
    -- (ALTER ROLE / ALTER DATABASE ... SET) apply to every session there: a
    -- default tenant or actor outlives the transaction it was meant for, and
    -- row_security belongs to pg_dump and pg_restore.  The value is not shown
    -- (it may be a secret: pg_db_role_setting is readable by every role).
    SELECT CASE WHEN s.name IN ('tenantcore.tenant_id', 'tenantcore.actor_id', 'row_security')
                  OR s.name LIKE 'tenantcore.%master\_key%' THEN 'high' ELSE 'medium' END,
           s.object,
           format('%s is set for every session %s%s', s.name, s.scope,
                  CASE WHEN s.name IN ('tenantcore.tenant_id', 'tenantcore.actor_id')
                       THEN ', so a transaction that does not set its own context runs with this one'
                       WHEN s.name = 'row_security'
                       THEN ', which only pg_dump and pg_restore should change'
                       WHEN s.name LIKE 'tenantcore.%master\_key%'
                       THEN ', readable by every role in pg_db_role_setting'
                       ELSE ', overriding postgresql.conf; keep it only if that is meant' END),
           format('%s RESET %s;', s.alter, s.name)
      FROM (SELECT lower(split_part(cfg, '=', 1)) AS name,
                   CASE WHEN d.datname IS NULL AND r.rolname IS NULL THEN 'all roles'
                        WHEN d.datname IS NULL THEN quote_ident(r.rolname)
                        WHEN r.rolname IS NULL THEN format('database %I', d.datname)
                        ELSE format('%I in database %I', r.rolname, d.datname) END AS object,
                   CASE WHEN d.datname IS NULL AND r.rolname IS NULL THEN 'of every role'
                        WHEN d.datname IS NULL THEN 'of this role'
                        WHEN r.rolname IS NULL THEN 'in this database'
                        ELSE 'of this role in this database' END AS scope,
                   CASE WHEN d.datname IS NULL AND r.rolname IS NULL THEN 'ALTER ROLE ALL'
                        WHEN d.datname IS NULL THEN format('ALTER ROLE %I', r.rolname)
                        WHEN r.rolname IS NULL THEN format('ALTER DATABASE %I', d.datname)
                        ELSE format('ALTER ROLE %I IN DATABASE %I', r.rolname, d.datname) END AS alter
              FROM pg_db_role_setting drs
              CROSS JOIN LATERAL unnest(drs.setconfig) cfg
              LEFT JOIN pg_roles r ON r.oid = drs.setrole
              LEFT JOIN pg_database d ON d.oid = drs.setdatabase) s
     WHERE s.name LIKE 'tenantcore.%' OR s.name = 'row_security'
    ORDER BY 1, 2, 3;
END;
COMMENT ON FUNCTION @extschema@.lint() IS
    'list the holes in tenant isolation: one row per problem with the SQL that fixes it';


-- (end of part 2)


-- ===========================================================================
-- Part 3: signed tenant context (verified JWTs)
-- ===========================================================================

-- (end of part 3)


-- ===========================================================================
-- Part 4: holes found by the adversarial suite
-- ===========================================================================

-- (end of part 4)


-- ===========================================================================
-- Part 5: first hour (seed_demo, schedule_retention, history, audit partitions)
-- ===========================================================================

-- (end of part 5)
