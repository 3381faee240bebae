-- tenantcore 0.6.0 -> 0.7.0: security hardening and the signed tenant context
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.7.0'" to load this file. \quit

-- ===========================================================================
-- Part 1: C entry points checked (protect trigger column types, relation 0,
-- internal trigger functions kept from PUBLIC)
-- ===========================================================================

-- A table owner could attach protect_trigger() by hand with arguments naming
-- columns of any type (a bigint tenant column crashed the server).  The C
-- trigger now checks how it is fired and every column it is given, and
-- CREATE TRIGGER with it is kept from PUBLIC: protect() has it created by
-- _protect_install_trigger(), which checks that the caller owns the table
-- and takes the arguments from the registry row.  The helpers that encrypt
-- existing rows (_protect_encrypt and friends) stay executable by PUBLIC --
-- protect() and reencrypt() run them with the caller's rights inside ALTER
-- TABLE and UPDATE -- but refuse relation 0, a table the caller does not own
-- and a table without protected columns, so protect() registers the column
-- before it rewrites the table.
CREATE FUNCTION @extschema@._protect_install_trigger(rel regclass, "column" name) RETURNS void
    AS 'MODULE_PATHNAME', 'tenantcore_protect_install_trigger'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._protect_install_trigger(regclass, name) IS
    'creates the protect trigger of a registered column as the extension owner (used by protect(); the caller must own the table)';
REVOKE EXECUTE ON FUNCTION @extschema@.protect_trigger() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.protect(rel regclass, "column" name, searchable boolean DEFAULT false,
                                    purpose text DEFAULT 'default')
RETURNS name
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c pg_class;
    col_type oid;
    col_typmod integer;
    tenant_col name;
    enc_col name;
    bidx_col name;
    vname name;
    not_null boolean;
    idx regclass;
BEGIN
    IF rel IS NULL OR "column" IS NULL OR searchable IS NULL OR purpose IS NULL THEN
        RAISE EXCEPTION 'protect: arguments must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', rel USING ERRCODE = 'wrong_object_type',
            HINT = 'Only columns of ordinary and partitioned tables can be protected.';
    END IF;
    IF c.relispartition THEN
        RAISE EXCEPTION '% is a partition', rel USING ERRCODE = 'wrong_object_type',
            HINT = 'Protect the column of the partitioned table.';
    END IF;
    IF NOT pg_has_role(c.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT atttypid, atttypmod, attnotnull INTO col_type, col_typmod, not_null FROM pg_attribute
     WHERE attrelid = rel AND attname = "column" AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column % of % does not exist', quote_ident("column"), rel USING ERRCODE = 'undefined_column';
    END IF;
    IF col_type NOT IN ('text'::regtype, 'varchar'::regtype) THEN
        RAISE EXCEPTION 'column % of % is of type %, not text', quote_ident("column"), rel, col_type::regtype
            USING ERRCODE = 'datatype_mismatch', HINT = 'Only text and varchar columns can be protected.';
    END IF;
    -- the plaintext column holds NULL from now on: a key, identity or unique
    -- column cannot (its index would no longer enforce anything, or refuse
    -- the NULLs); a NOT NULL constraint moves to the ciphertext column (below)
    SELECT i.indexrelid::regclass INTO idx FROM pg_index i, pg_attribute a
     WHERE i.indrelid = rel AND (i.indisprimary OR i.indisunique OR i.indisreplident)
       AND a.attrelid = rel AND a.attname = "column" AND a.attnum = ANY (i.indkey)
     ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'column % of % is in the key, unique or replica identity index %', quote_ident("column"), rel, idx
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'A protected column keeps only ciphertext. To keep values unique per tenant, protect it with searchable => true and put a unique index on the tenant column and its blind index column.';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.protected_columns p WHERE p.rel = protect.rel AND p.column_name = "column") THEN
        RAISE EXCEPTION 'column % of % is protected already', quote_ident("column"), rel
            USING ERRCODE = 'duplicate_object';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.protected_columns p
                WHERE p.rel = protect.rel AND "column" IN (p.encrypted_column, p.blind_index_column)) THEN
        RAISE EXCEPTION 'column % of % holds ciphertext or a blind index', quote_ident("column"), rel
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    tenant_col := coalesce((SELECT t.tenant_column FROM @extschema@.isolated_tables t WHERE t.rel = protect.rel),
                           'organization_id');
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = rel AND attname = tenant_col
                      AND attnum > 0 AND NOT attisdropped AND atttypid = 'uuid'::regtype) THEN
        RAISE EXCEPTION 'table % has no uuid tenant column %', rel, quote_ident(tenant_col)
            USING ERRCODE = 'undefined_column',
                  HINT = 'Protected columns are encrypted with the key of the row''s tenant; isolate the table with tenantcore.isolate(rel, tenant_column) first.';
    END IF;

    IF length("column") > 52 THEN
        RAISE EXCEPTION 'column name % is too long to derive the ciphertext column name', quote_ident("column")
            USING ERRCODE = 'name_too_long', HINT = 'Rename the column to at most 52 characters.';
    END IF;
    enc_col := "column" || '_encrypted';
    bidx_col := CASE WHEN searchable THEN "column" || '_bidx' END;
    IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = rel AND attname IN (enc_col, bidx_col)
                  AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'table % already has a column named % or %', rel, quote_ident(enc_col), quote_ident(coalesce(bidx_col, enc_col))
            USING ERRCODE = 'duplicate_column';
    END IF;

    -- the view of columns protected earlier depends on the columns; recreated below
    vname := left(c.relname, 53) || '_decrypted';
    IF EXISTS (SELECT FROM @extschema@.protected_columns p WHERE p.rel = protect.rel)
       AND to_regclass(format('%I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), vname)) IS NOT NULL THEN
        EXECUTE format('DROP VIEW %I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), vname);
    END IF;

    EXECUTE format('ALTER TABLE %s ADD COLUMN %I bytea', rel, enc_col);
    IF searchable THEN
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I bytea', rel, bidx_col);
    END IF;
    -- registered before the rewrite: the helpers that encrypt the existing
    -- rows refuse tables without protected columns
    INSERT INTO @extschema@.protected_columns (rel, column_name, encrypted_column, blind_index_column,
                                               blind_index_purpose, tenant_column, view_name)
    VALUES (rel, "column", enc_col, bidx_col, CASE WHEN searchable THEN purpose END, tenant_col, vname);
    -- one rewrite: every USING expression reads the old row; a NOT NULL
    -- constraint of the plaintext column moves to the ciphertext column,
    -- checked by the same rewrite
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE bytea USING @extschema@._protect_encrypt(%L, %I, %I::text)%s, '
                   'ALTER COLUMN %I TYPE %s USING NULL%s',
                   rel, enc_col, rel::oid, tenant_col, "column",
                   CASE WHEN searchable
                        THEN format(', ALTER COLUMN %I TYPE bytea USING @extschema@._protect_blind_index(%L, %I, %I::text, %L)',
                                    bidx_col, rel::oid, tenant_col, "column", purpose)
                        ELSE '' END,
                   "column", format_type(col_type, col_typmod),
                   CASE WHEN not_null
                        THEN format(', ALTER COLUMN %I DROP NOT NULL, ALTER COLUMN %I SET NOT NULL', "column", enc_col)
                        ELSE '' END);
    IF searchable THEN
        EXECUTE format('CREATE INDEX ON %s (%I, %I)', rel, tenant_col, bidx_col);
    END IF;

    -- the trigger (arguments from the registry row) is created as the
    -- extension owner: protect_trigger() is not executable by PUBLIC
    PERFORM @extschema@._protect_install_trigger(rel, "column");
    PERFORM @extschema@._protected_view(rel);
    RETURN vname;
END
$$;
COMMENT ON FUNCTION @extschema@.protect(regclass, name, boolean, text) IS
    'protect a text column: ciphertext (and blind index) columns, encrypting trigger, <table>_decrypted view; plaintext never stored';

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

-- tenantcore.context_mode = 'signed' (a superuser sets it, usually with
-- ALTER ROLE app SET tenantcore.context_mode = 'signed') lets only this
-- function set the tenant and the actor: it verifies a signed JSON web token
-- with the keys of tenantcore.jwt_keys_file and sets both for the current
-- transaction (doc/security.md).  Harmless for everyone, so not revoked.
CREATE FUNCTION @extschema@.set_context_token(token text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_set_context_token'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_context_token(text) IS
    'verify a signed token (JWT: HS256, RS256, ES256, EdDSA) and set its tenant and actor for the transaction; returns the tenant';

-- (end of part 3)


-- ===========================================================================
-- Part 4: holes found by the adversarial suite
-- ===========================================================================

-- The audit log showed a tenant the entries of every audited table, also of
-- tables its role may not read (no SELECT privilege on any column): the whole
-- row as JSONB.  An entry is now visible only to roles that may read some
-- column of the audited table (as it is named today; entries of dropped
-- tables are visible to superusers only).  Columns hidden by column
-- privileges are still logged: redact them (audit(..., redact => ...)).
ALTER POLICY tenantcore_isolation ON @extschema@.audit_log
    USING (organization_id = @extschema@.current_tenant()
           AND pg_catalog.has_any_column_privilege(pg_catalog.to_regclass(table_name), 'SELECT'));

-- (end of part 4)


-- ===========================================================================
-- Part 5: first hour (seed_demo, schedule_retention, history, audit partitions)
-- ===========================================================================

-- history() and row_as_of() take the primary key of the row as JSONB.  0.6.0
-- compared it with the stored key as given, so a key without the tenant
-- column of a (organization_id, id) key, a misspelled column or "1" for a
-- number found nothing, silently.  _audit_key checks the key against the
-- table's primary key: a missing tenant column is the current tenant, values
-- are converted to the column's type, anything else is an error that names
-- the key columns.
CREATE FUNCTION @extschema@._audit_key(rel regclass, pk jsonb, func text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols    record;
    names   text;
    tcol    name;
    tenant  uuid;
    k       text;
    v       jsonb;
    result  jsonb := '{}';
BEGIN
    IF jsonb_typeof(pk) <> 'object' THEN
        RAISE EXCEPTION '%: the key must be a JSON object, not %', func, jsonb_typeof(pk)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the primary key columns of the row, e.g. ''{"id": 42}''.';
    END IF;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(i.indkey, a.attnum)) INTO names
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = rel AND i.indisprimary;
    IF names IS NULL THEN
        RAISE EXCEPTION '%: table % has no primary key', func, rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The audit log identifies each row by its primary key.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(pk) LOOP
        IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                        WHERE i.indrelid = rel AND i.indisprimary AND a.attname = k) THEN
            RAISE EXCEPTION '%: "%" is not a primary key column of table %', func, k, rel
                USING ERRCODE = 'undefined_column',
                      HINT = format('The key names the primary key columns of %s: %s.', rel, names);
        END IF;
    END LOOP;
    tcol := coalesce((SELECT t.tenant_column FROM @extschema@.audited_tables t WHERE t.rel = _audit_key.rel),
                     @extschema@._audit_tenant_column(rel));
    FOR cols IN SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS typ
                  FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = rel AND i.indisprimary
    LOOP
        v := pk -> cols.attname::text;
        IF v IS NULL AND cols.attname = tcol THEN
            tenant := @extschema@.current_tenant();
            IF tenant IS NULL THEN
                RAISE EXCEPTION '%: the key lacks the tenant column "%" and no tenant is set', func, cols.attname
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = format('Call tenantcore.set_tenant() first, or name every primary key column of %s: %s.', rel, names);
            END IF;
            v := to_jsonb(tenant);
        ELSIF v IS NULL THEN
            RAISE EXCEPTION '%: the key lacks primary key column "%"', func, cols.attname
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('The key names the primary key columns of %s: %s.', rel, names);
        ELSIF jsonb_typeof(v) IN ('string', 'number', 'boolean') THEN
            -- the trigger stored the column's value: '"42"' for an integer key is 42
            EXECUTE format('SELECT to_jsonb(($1)::%s)', cols.typ) INTO v USING v #>> '{}';
        END IF;
        result := result || jsonb_build_object(cols.attname, v);
    END LOOP;
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@._audit_key(regclass, jsonb, text) IS
    'the primary key of a row of rel as the audit log stores it, from a JSONB key (tenant column filled in from the current tenant)';

-- history returns every change of one row, oldest first.
CREATE OR REPLACE FUNCTION @extschema@.history(rel regclass, pk jsonb)
RETURNS SETOF @extschema@.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    qname text;
    key   jsonb;
BEGIN
    IF rel IS NULL OR pk IS NULL THEN
        RETURN;
    END IF;
    key := @extschema@._audit_key(rel, pk, 'history');
    SELECT format('%I.%I', n.nspname, c.relname) INTO qname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    RETURN QUERY SELECT l.* FROM @extschema@.audit_log l
                  WHERE l.table_name = qname AND l.pk = key
                  ORDER BY l.id;
END
$$;
COMMENT ON FUNCTION @extschema@.history(regclass, jsonb) IS
    'every audit entry of one row (by primary key as JSONB, e.g. ''{"id": 42}''; the tenant column defaults to the current tenant), oldest first';

-- row_as_of replays the history of one row up to a time.
CREATE OR REPLACE FUNCTION @extschema@.row_as_of(rel regclass, pk jsonb, at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    qname text;
    key   jsonb;
    e     record;
    state jsonb;
BEGIN
    IF rel IS NULL OR pk IS NULL OR at IS NULL THEN
        RETURN NULL;
    END IF;
    key := @extschema@._audit_key(rel, pk, 'row_as_of');
    SELECT format('%I.%I', n.nspname, c.relname) INTO qname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    FOR e IN
        SELECT l.id, l.operation, l.new_row FROM @extschema@.audit_log l
         WHERE l.table_name = qname AND l.pk = key AND l.occurred_at <= at
        UNION ALL
        SELECT l.id, l.operation, NULL FROM @extschema@.audit_log l
         WHERE l.table_name = qname AND l.pk IS NULL AND l.operation = 'TRUNCATE' AND l.occurred_at <= at
        ORDER BY 1
    LOOP
        CASE e.operation
            WHEN 'INSERT' THEN state := e.new_row;
            -- a changed-only entry holds the changed keys: apply them
            WHEN 'UPDATE' THEN state := coalesce(state, '{}'::jsonb) || e.new_row;
            ELSE state := NULL;
        END CASE;
    END LOOP;
    RETURN state;
END
$$;
COMMENT ON FUNCTION @extschema@.row_as_of(regclass, jsonb, timestamptz) IS
    'the JSONB state of one row at a time, replayed from its audit entries (key as in history()); NULL when it did not exist';

-- Audit partitions.  0.6.0 created the monthly partitions only in audit()
-- called by a superuser and in a scheduled audit_maintain(), so the core
-- tables' entries went to the default partition and the first
-- install_blueprint() announced that it moved them.  Now
-- schedule_retention() schedules audit_maintain() too, and moving entries out
-- of the default partition is reported at DEBUG1: it is what happens on every
-- fresh install (the core tables are audited before any partition exists).
CREATE OR REPLACE FUNCTION @extschema@.audit_maintain(months_ahead integer DEFAULT 3)
RETURNS SETOF regclass
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    month0 timestamp;
    lo     timestamptz;
    hi     timestamptz;
    pname  text;
    moved  bigint;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'audit_maintain: months_ahead must be between 0 and 120'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- partitions made by the extension script would be extension members and
    -- collide with the dumped ones on restore: leave them to a later call
    IF @extschema@._creating_extension() THEN
        RETURN;
    END IF;
    month0 := date_trunc('month', transaction_timestamp() AT TIME ZONE 'UTC');
    FOR i IN 0..months_ahead LOOP
        lo := (month0 + make_interval(months => i)) AT TIME ZONE 'UTC';
        hi := (month0 + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
        pname := @extschema@._audit_partition_name(lo);
        CONTINUE WHEN to_regclass(format('@extschema@.%I', pname)) IS NOT NULL;

        IF EXISTS (SELECT FROM @extschema@.audit_log_default d WHERE d.occurred_at >= lo AND d.occurred_at < hi) THEN
            -- entries of that month went to the default partition: move them
            EXECUTE format('CREATE TABLE @extschema@.%I (LIKE @extschema@.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', pname);
            PERFORM set_config('tenantcore.audit_internal', 'on', true);
            EXECUTE format('WITH moved AS (DELETE FROM @extschema@.audit_log_default d '
                           'WHERE d.occurred_at >= %L AND d.occurred_at < %L RETURNING d.*) '
                           'INSERT INTO @extschema@.%I SELECT * FROM moved', lo, hi, pname);
            GET DIAGNOSTICS moved = ROW_COUNT;
            PERFORM set_config('tenantcore.audit_internal', 'off', true);
            EXECUTE format('ALTER TABLE @extschema@.audit_log ATTACH PARTITION @extschema@.%I FOR VALUES FROM (%L) TO (%L)',
                           pname, lo, hi);
            RAISE DEBUG 'moved % audit entries from the default partition to %', moved, pname;
        ELSE
            EXECUTE format('CREATE TABLE @extschema@.%I PARTITION OF @extschema@.audit_log FOR VALUES FROM (%L) TO (%L)',
                           pname, lo, hi);
        END IF;
        PERFORM @extschema@._audit_prepare_partition(format('@extschema@.%I', pname)::regclass);
        RETURN NEXT format('@extschema@.%I', pname)::regclass;
    END LOOP;
END
$$;


-- seed_demo(schema) fills a blueprint schema with two demo organizations
-- (Acme Accounting and Birch & Co), their users and a few rows per table.
-- 0.6.0 inserted the organizations with ON CONFLICT DO NOTHING, so after the
-- README's core schema step (an organization with slug 'acme') Acme
-- Accounting was silently skipped and the seeding failed on a foreign key.
-- The demo organizations keep their ids (documented, used by the demos) and
-- take another slug when theirs belongs to another organization; a demo
-- user's e-mail address taken by another user is a clear error.
CREATE OR REPLACE FUNCTION @extschema@.seed_demo(target_schema name, rows_per_tenant integer DEFAULT 3)
RETURNS TABLE (table_name regclass, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bp     text;
    org    record;
    u      record;
    new_slug text;
    tenant text := current_setting('tenantcore.tenant_id');
BEGIN
    IF target_schema IS NULL OR rows_per_tenant IS NULL THEN
        RAISE EXCEPTION 'seed_demo: schema and rows_per_tenant must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF rows_per_tenant NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'seed_demo: rows_per_tenant must be between 1 and 1000, not %', rows_per_tenant
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use tenantcore.seed_bench() for more rows.';
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to run seed_demo'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Run tenantcore.seed_demo() as a superuser.';
    END IF;
    bp := @extschema@._blueprint_of(target_schema, 'seed_demo');
    -- once per schema (a superuser sees every tenant's rows here)
    IF EXISTS (SELECT FROM @extschema@._blueprint_counts(target_schema) c WHERE c.row_count > 0) THEN
        RAISE NOTICE 'schema % already holds rows, skipping', quote_ident(target_schema);
        RETURN QUERY SELECT * FROM @extschema@._blueprint_counts(target_schema);
        RETURN;
    END IF;
    FOR u IN VALUES ('a11ce000-0000-4000-8000-000000000001'::uuid, 'alice@acme.example', 'Alice', 'Adams'),
                    ('a11ce000-0000-4000-8000-000000000002'::uuid, 'arjun@acme.example', 'Arjun', 'Acharya'),
                    ('b0b00000-0000-4000-8000-000000000001'::uuid, 'bob@birch.example', 'Bob', 'Brown'),
                    ('b0b00000-0000-4000-8000-000000000002'::uuid, 'bea@birch.example', 'Bea', 'Baker')
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM @extschema@.users x WHERE x.id = u.column1);
        IF EXISTS (SELECT FROM @extschema@.users x WHERE lower(x.email) = u.column2) THEN
            RAISE EXCEPTION 'seed_demo: the demo user''s e-mail address % belongs to another user', u.column2
                USING ERRCODE = 'unique_violation',
                      DETAIL = format('The demo users have fixed ids; %s is demo user %s.', u.column2, u.column1),
                      HINT = 'Seed the demo into a database without users of the example.com demo domains.';
        END IF;
        INSERT INTO @extschema@.users (id, email, first_name, last_name, status, is_verified)
        VALUES (u.column1, u.column2, u.column3, u.column4, 'active', true);
    END LOOP;
    FOR org IN VALUES ('ac3e0000-0000-4000-8000-00000000000a'::uuid, 'Acme Accounting', 'acme', 'professional',
                       'a11ce000-0000-4000-8000-000000000001'::uuid),
                      ('b1c40000-0000-4000-8000-00000000000b'::uuid, 'Birch & Co', 'birch', 'starter',
                       'b0b00000-0000-4000-8000-000000000001'::uuid)
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM @extschema@.organizations o WHERE o.id = org.column1);
        new_slug := org.column3;
        IF EXISTS (SELECT FROM @extschema@.organizations o WHERE o.slug = new_slug) THEN
            new_slug := org.column3 || '-demo';
            IF EXISTS (SELECT FROM @extschema@.organizations o WHERE o.slug = new_slug) THEN
                new_slug := org.column3 || '-demo-' || left(org.column1::text, 8);
            END IF;
            RAISE NOTICE 'demo organization "%" gets slug "%": "%" belongs to another organization',
                         org.column2, new_slug, org.column3;
        END IF;
        INSERT INTO @extschema@.organizations (id, name, slug, subscription_tier, owner_id)
        VALUES (org.column1, org.column2, new_slug, org.column4, org.column5);
    END LOOP;
    FOR org IN VALUES ('ac3e0000-0000-4000-8000-00000000000a'::uuid,
                       ARRAY['a11ce000-0000-4000-8000-000000000001', 'a11ce000-0000-4000-8000-000000000002']::uuid[]),
                      ('b1c40000-0000-4000-8000-00000000000b'::uuid,
                       ARRAY['b0b00000-0000-4000-8000-000000000001', 'b0b00000-0000-4000-8000-000000000002']::uuid[])
    LOOP
        PERFORM set_config('tenantcore.tenant_id', org.column1::text, true);
        PERFORM @extschema@._blueprint_fill(target_schema, bp, org.column1, org.column2, rows_per_tenant);
    END LOOP;
    PERFORM set_config('tenantcore.tenant_id', tenant, true);
    RETURN QUERY SELECT * FROM @extschema@._blueprint_counts(target_schema);
END
$$;

-- schedule_retention() and unschedule_retention().  0.6.0 said "pg_cron is
-- not installed in database ..." with a hint about shared_preload_libraries
-- in every case.  _cron_check names what is missing: pg_cron not loaded, the
-- extension not created in the database named by cron.database_name, or a
-- call from another database (pg_cron's functions exist only in that one),
-- with the statements to run.  schedule_retention() also schedules
-- audit_maintain() daily, so the audit log's monthly partitions are made
-- without a hidden step.
CREATE FUNCTION @extschema@._cron_audit_job_name(database name) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'tenantcore-audit-maintain-' || database;
COMMENT ON FUNCTION @extschema@._cron_audit_job_name(name) IS
    'the name of the pg_cron job of tenantcore.audit_maintain() for a database';

-- _cron_check(func, statements) raises the error that says why pg_cron cannot
-- be used from this database, if it cannot; statements are what to run in
-- the database named by cron.database_name instead
CREATE FUNCTION @extschema@._cron_check(func text, statements text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cron_db text := coalesce(current_setting('cron.database_name', true), 'postgres');
BEGIN
    -- a setting pg_cron defines when it is loaded (cron.database_name may be
    -- a placeholder from postgresql.conf)
    IF current_setting('cron.max_running_jobs', true) IS NULL THEN
        RAISE EXCEPTION 'pg_cron is not loaded'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('tenantcore.%s() uses pg_cron, which runs only when it is in shared_preload_libraries.', func),
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name, restart the server and CREATE EXTENSION pg_cron in that database; or run CALL tenantcore.run_retention() and SELECT tenantcore.audit_maintain() from another scheduler.';
    END IF;
    IF cron_db <> current_database() THEN
        RAISE EXCEPTION 'pg_cron runs its jobs from database "%", not "%"', cron_db, current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'pg_cron''s functions exist only in the database named by cron.database_name.',
                  HINT = format('Connect to database "%s" (CREATE EXTENSION pg_cron there if it is not yet) and run: %s',
                                cron_db, statements);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'undefined_object',
                  DETAIL = 'pg_cron is loaded and runs its jobs from this database (cron.database_name), but its extension was not created here.',
                  HINT = format('Run CREATE EXTENSION pg_cron; here as a superuser, then call tenantcore.%s() again.', func);
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._cron_check(text, text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._cron_check(text, text) IS
    'raise the error that says why pg_cron cannot be used from this database, with the statements to run instead';

CREATE OR REPLACE FUNCTION @extschema@.schedule_retention(schedule text DEFAULT '0 3 * * *',
                                                          database name DEFAULT current_database())
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job       bigint;
    command   text := 'CALL @extschema@.run_retention()';
    maintain  text := 'SELECT @extschema@.audit_maintain()';
    audit_at  text := '30 0 * * *';
BEGIN
    IF schedule IS NULL OR database IS NULL THEN
        RAISE EXCEPTION 'schedule_retention: schedule and database must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._cron_check('schedule_retention',
        format('SELECT cron.schedule_in_database(%L, %L, %L, %L); SELECT cron.schedule_in_database(%L, %L, %L, %L);',
               @extschema@._cron_job_name(database), schedule, command, database,
               @extschema@._cron_audit_job_name(database), audit_at, maintain, database));
    -- a job of the same name is replaced (pg_cron 1.3 and later)
    IF database = current_database() THEN
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job
          USING @extschema@._cron_job_name(database), schedule, command;
        EXECUTE 'SELECT cron.schedule($1, $2, $3)'
          USING @extschema@._cron_audit_job_name(database), audit_at, maintain;
    ELSE
        EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4)' INTO job
          USING @extschema@._cron_job_name(database), schedule, command, database;
        EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4)'
          USING @extschema@._cron_audit_job_name(database), audit_at, maintain, database;
    END IF;
    RETURN job;
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_retention(text, name) IS
    'run tenantcore.run_retention() on a pg_cron schedule, and tenantcore.audit_maintain() daily';

CREATE OR REPLACE FUNCTION @extschema@.unschedule_retention(database name DEFAULT current_database()) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    IF database IS NULL THEN
        RAISE EXCEPTION 'unschedule_retention: database must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._cron_check('unschedule_retention',
        format('SELECT cron.unschedule(%L); SELECT cron.unschedule(%L);',
               @extschema@._cron_job_name(database), @extschema@._cron_audit_job_name(database)));
    EXECUTE 'SELECT EXISTS (SELECT FROM cron.job WHERE jobname = $1)' INTO found
      USING @extschema@._cron_audit_job_name(database);
    IF found THEN
        EXECUTE 'SELECT cron.unschedule($1)' USING @extschema@._cron_audit_job_name(database);
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT FROM cron.job WHERE jobname = $1)' INTO found USING @extschema@._cron_job_name(database);
    IF NOT found THEN
        RAISE NOTICE 'no retention job is scheduled for database "%", skipping', database;
        RETURN false;
    END IF;
    EXECUTE 'SELECT cron.unschedule($1)' INTO found USING @extschema@._cron_job_name(database);
    RETURN found;
END
$$;
COMMENT ON FUNCTION @extschema@.unschedule_retention(name) IS
    'remove the pg_cron jobs of tenantcore.run_retention() and tenantcore.audit_maintain()';


-- isolate_schema() and unisolate_schema() refused a caller who does not own
-- the schema without saying what to do: the same checks, with a hint
CREATE OR REPLACE FUNCTION @extschema@.isolate_schema(schema_name regnamespace, tenant_column name DEFAULT 'organization_id')
RETURNS SETOF regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    IF schema_name IS NULL OR tenant_column IS NULL THEN
        RAISE EXCEPTION 'isolate_schema: schema and tenant column must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF schema_name IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, '@extschema@'::regnamespace)
       OR (SELECT nspname FROM pg_namespace WHERE oid = schema_name) LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'cannot isolate system or extension schema %', schema_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE oid = schema_name), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of schema %', schema_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.isolate_schema() as the owner of the schema (SET ROLE) or a superuser.';
    END IF;

    INSERT INTO @extschema@.isolated_schemas AS s (schema_name, tenant_column)
    VALUES ((SELECT n.nspname FROM pg_namespace n WHERE n.oid = isolate_schema.schema_name), isolate_schema.tenant_column)
    ON CONFLICT ON CONSTRAINT isolated_schemas_pkey DO UPDATE SET tenant_column = EXCLUDED.tenant_column;

    FOR rel IN
        SELECT c.oid FROM pg_class c
         WHERE c.relnamespace = isolate_schema.schema_name AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = isolate_schema.tenant_column
                          AND a.attnum > 0 AND NOT a.attisdropped)
           -- a table isolated on another column already is protected: leave it
           AND NOT EXISTS (SELECT FROM @extschema@.isolated_tables t
                            WHERE t.rel = c.oid AND t.tenant_column <> isolate_schema.tenant_column)
         ORDER BY c.oid
    LOOP
        RETURN NEXT @extschema@._isolate(rel, tenant_column, 'schema');
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.unisolate_schema(schema_name regnamespace) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    IF schema_name IS NULL THEN
        RAISE EXCEPTION 'unisolate_schema: schema must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE oid = schema_name), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of schema %', schema_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.unisolate_schema() as the owner of the schema (SET ROLE) or a superuser.';
    END IF;
    DELETE FROM @extschema@.isolated_schemas s
     WHERE s.schema_name = (SELECT n.nspname FROM pg_namespace n WHERE n.oid = unisolate_schema.schema_name);
    IF NOT FOUND THEN
        RAISE NOTICE 'schema % is not isolated, skipping', schema_name;
        RETURN;
    END IF;
    FOR rel IN SELECT t.rel FROM @extschema@.isolated_tables t JOIN pg_class c ON c.oid = t.rel
                WHERE c.relnamespace = unisolate_schema.schema_name AND t.source = 'schema'
    LOOP
        PERFORM @extschema@.unisolate(rel);
    END LOOP;
END
$$;

-- CALL run_retention() inside BEGIN failed at its first COMMIT with
-- PostgreSQL's "invalid transaction termination".  The settings every
-- transaction of the runner pins are set first thing, so that is where the
-- runner now says what is wrong (SQL cannot see a transaction block: a C
-- helper tells).
CREATE FUNCTION @extschema@._in_transaction_block() RETURNS boolean
LANGUAGE C VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'tenantcore_in_transaction_block';
COMMENT ON FUNCTION @extschema@._in_transaction_block() IS
    'whether the current statement runs inside a transaction block (BEGIN ... COMMIT)';

CREATE OR REPLACE FUNCTION @extschema@._retention_tx_settings() RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF @extschema@._in_transaction_block() THEN
        RAISE EXCEPTION 'tenantcore.run_retention() cannot run inside a transaction block'
            USING ERRCODE = 'active_sql_transaction',
                  DETAIL = 'It commits after every batch, so that locks are held briefly and writers are not blocked.',
                  HINT = 'Run CALL tenantcore.run_retention(); on its own, not after BEGIN (in psql, not with AUTOCOMMIT off).';
    END IF;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true),
            pg_catalog.set_config('max_parallel_workers_per_gather', '0', true);
END
$$;

-- (end of part 5)


-- ===========================================================================
-- Part 6: follow-ups of the attack (add_member, create_organization's owner,
-- session lifetimes, lint of keys without the tenant column, hints)
-- ===========================================================================

-- _caller_is_owner: whether the role that called the current function -- the
-- role of SET ROLE, or the login role without one; inside a SECURITY DEFINER
-- function current_user is the extension owner -- is a superuser, the
-- extension owner or a member of it: the DBA, who may act for any person.
-- The setting "role" is what SET ROLE set (only to a role the session may
-- become); SECURITY DEFINER does not change it.
CREATE FUNCTION @extschema@._caller_is_owner() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN pg_has_role(CASE WHEN current_setting('role') = 'none' THEN session_user
                        ELSE current_setting('role')::name END,
                   (SELECT e.extowner FROM pg_extension e WHERE e.extname = 'tenantcore'), 'MEMBER');
COMMENT ON FUNCTION @extschema@._caller_is_owner() IS
    'whether the calling role (SET ROLE, else the login role) is a superuser, the extension owner or a member of it';

-- Who may make a person a member without the person's consent.  In 0.6.0
-- add_member(user) took any user id, and a tenant learns ids of people it
-- cannot see from its own invitations (the organization_members row):
-- invite_member, remove_member, add_member(id) made the invitee an active
-- member, visible to the tenant (users, user_profiles) without accepting.
-- user_origins records the tenant in whose context create_user() made a
-- person: those the tenant created itself it may add.  Read only by the
-- extension's functions (no privileges for PUBLIC).
CREATE TABLE @extschema@.user_origins (
    user_id         uuid        NOT NULL REFERENCES @extschema@.users (id) ON DELETE CASCADE,
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT user_origins_pkey PRIMARY KEY (user_id)
);
CREATE INDEX user_origins_organization_idx ON @extschema@.user_origins (organization_id);
COMMENT ON TABLE @extschema@.user_origins IS
    'the organization in whose context create_user() created a person (add_member may add such a person without an invitation)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.user_origins', '');

-- create_user records the current tenant, if one is set and exists, as the
-- person's origin (the rest as in 0.5.0)
CREATE OR REPLACE FUNCTION @extschema@.create_user(email text, password_hash text DEFAULT NULL,
                                        first_name text DEFAULT NULL, last_name text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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
CREATE OR REPLACE FUNCTION @extschema@.create_session("user" uuid DEFAULT @extschema@.current_actor(), ttl interval DEFAULT '30 days',
                                           user_agent text DEFAULT NULL, ip_address inet DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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

-- _check_isolatable names the installer that refuses: unisolate() of a table
-- of an extension schema said "cannot isolate" (the rest as in 0.1.0)
-- _check_isolatable raises the error that explains why rel cannot be isolated
-- on tenant_column by the current user, if it cannot.
CREATE OR REPLACE FUNCTION @extschema@._check_isolatable(rel regclass, tenant_column name, func text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c   pg_class;
    typ oid;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION '%: table must not be null', func USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF tenant_column IS NULL THEN
        RAISE EXCEPTION '%: tenant column must not be null', func USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation with OID % does not exist', rel::oid USING ERRCODE = 'undefined_table';
    END IF;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Only ordinary and partitioned tables can be tenant-isolated.';
    END IF;
    IF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot % temporary table "%"', func, rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'A temporary table is private to one session and needs no tenant policy.';
    END IF;
    IF c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                          '@extschema@'::regnamespace) THEN
        RAISE EXCEPTION 'cannot % "%": it belongs to a system or extension schema', func, rel
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_has_role(current_user, c.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', rel
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.' || func || '() as the owner of the table or a superuser.';
    END IF;
    SELECT a.atttypid INTO typ FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = tenant_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', tenant_column, rel
            USING ERRCODE = 'undefined_column',
                  HINT = 'Pass the tenant column as the second argument, e.g. tenantcore.' || func || '(''t'', ''tenant_id'').';
    END IF;
    IF typ <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'tenant column "%" of relation "%" is of type %, not uuid', tenant_column, rel, typ::regtype
            USING ERRCODE = 'datatype_mismatch';
    END IF;
END
$$;

-- protect(): a missing column is named like PostgreSQL names it
-- (column "c" of relation "t"); the rest as in part 1
CREATE OR REPLACE FUNCTION @extschema@.protect(rel regclass, "column" name, searchable boolean DEFAULT false,
                                    purpose text DEFAULT 'default')
RETURNS name
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c pg_class;
    col_type oid;
    col_typmod integer;
    tenant_col name;
    enc_col name;
    bidx_col name;
    vname name;
    not_null boolean;
    idx regclass;
BEGIN
    IF rel IS NULL OR "column" IS NULL OR searchable IS NULL OR purpose IS NULL THEN
        RAISE EXCEPTION 'protect: arguments must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', rel USING ERRCODE = 'wrong_object_type',
            HINT = 'Only columns of ordinary and partitioned tables can be protected.';
    END IF;
    IF c.relispartition THEN
        RAISE EXCEPTION '% is a partition', rel USING ERRCODE = 'wrong_object_type',
            HINT = 'Protect the column of the partitioned table.';
    END IF;
    IF NOT pg_has_role(c.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT atttypid, atttypmod, attnotnull INTO col_type, col_typmod, not_null FROM pg_attribute
     WHERE attrelid = rel AND attname = "column" AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', "column", c.relname USING ERRCODE = 'undefined_column';
    END IF;
    IF col_type NOT IN ('text'::regtype, 'varchar'::regtype) THEN
        RAISE EXCEPTION 'column % of % is of type %, not text', quote_ident("column"), rel, col_type::regtype
            USING ERRCODE = 'datatype_mismatch', HINT = 'Only text and varchar columns can be protected.';
    END IF;
    -- the plaintext column holds NULL from now on: a key, identity or unique
    -- column cannot (its index would no longer enforce anything, or refuse
    -- the NULLs); a NOT NULL constraint moves to the ciphertext column (below)
    SELECT i.indexrelid::regclass INTO idx FROM pg_index i, pg_attribute a
     WHERE i.indrelid = rel AND (i.indisprimary OR i.indisunique OR i.indisreplident)
       AND a.attrelid = rel AND a.attname = "column" AND a.attnum = ANY (i.indkey)
     ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'column % of % is in the key, unique or replica identity index %', quote_ident("column"), rel, idx
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'A protected column keeps only ciphertext. To keep values unique per tenant, protect it with searchable => true and put a unique index on the tenant column and its blind index column.';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.protected_columns p WHERE p.rel = protect.rel AND p.column_name = "column") THEN
        RAISE EXCEPTION 'column % of % is protected already', quote_ident("column"), rel
            USING ERRCODE = 'duplicate_object';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.protected_columns p
                WHERE p.rel = protect.rel AND "column" IN (p.encrypted_column, p.blind_index_column)) THEN
        RAISE EXCEPTION 'column % of % holds ciphertext or a blind index', quote_ident("column"), rel
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    tenant_col := coalesce((SELECT t.tenant_column FROM @extschema@.isolated_tables t WHERE t.rel = protect.rel),
                           'organization_id');
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = rel AND attname = tenant_col
                      AND attnum > 0 AND NOT attisdropped AND atttypid = 'uuid'::regtype) THEN
        RAISE EXCEPTION 'table % has no uuid tenant column %', rel, quote_ident(tenant_col)
            USING ERRCODE = 'undefined_column',
                  HINT = 'Protected columns are encrypted with the key of the row''s tenant; isolate the table with tenantcore.isolate(rel, tenant_column) first.';
    END IF;

    IF length("column") > 52 THEN
        RAISE EXCEPTION 'column name % is too long to derive the ciphertext column name', quote_ident("column")
            USING ERRCODE = 'name_too_long', HINT = 'Rename the column to at most 52 characters.';
    END IF;
    enc_col := "column" || '_encrypted';
    bidx_col := CASE WHEN searchable THEN "column" || '_bidx' END;
    IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = rel AND attname IN (enc_col, bidx_col)
                  AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'table % already has a column named % or %', rel, quote_ident(enc_col), quote_ident(coalesce(bidx_col, enc_col))
            USING ERRCODE = 'duplicate_column';
    END IF;

    -- the view of columns protected earlier depends on the columns; recreated below
    vname := left(c.relname, 53) || '_decrypted';
    IF EXISTS (SELECT FROM @extschema@.protected_columns p WHERE p.rel = protect.rel)
       AND to_regclass(format('%I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), vname)) IS NOT NULL THEN
        EXECUTE format('DROP VIEW %I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), vname);
    END IF;

    EXECUTE format('ALTER TABLE %s ADD COLUMN %I bytea', rel, enc_col);
    IF searchable THEN
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I bytea', rel, bidx_col);
    END IF;
    -- registered before the rewrite: the helpers that encrypt the existing
    -- rows refuse tables without protected columns
    INSERT INTO @extschema@.protected_columns (rel, column_name, encrypted_column, blind_index_column,
                                               blind_index_purpose, tenant_column, view_name)
    VALUES (rel, "column", enc_col, bidx_col, CASE WHEN searchable THEN purpose END, tenant_col, vname);
    -- one rewrite: every USING expression reads the old row; a NOT NULL
    -- constraint of the plaintext column moves to the ciphertext column,
    -- checked by the same rewrite
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE bytea USING @extschema@._protect_encrypt(%L, %I, %I::text)%s, '
                   'ALTER COLUMN %I TYPE %s USING NULL%s',
                   rel, enc_col, rel::oid, tenant_col, "column",
                   CASE WHEN searchable
                        THEN format(', ALTER COLUMN %I TYPE bytea USING @extschema@._protect_blind_index(%L, %I, %I::text, %L)',
                                    bidx_col, rel::oid, tenant_col, "column", purpose)
                        ELSE '' END,
                   "column", format_type(col_type, col_typmod),
                   CASE WHEN not_null
                        THEN format(', ALTER COLUMN %I DROP NOT NULL, ALTER COLUMN %I SET NOT NULL', "column", enc_col)
                        ELSE '' END);
    IF searchable THEN
        EXECUTE format('CREATE INDEX ON %s (%I, %I)', rel, tenant_col, bidx_col);
    END IF;

    -- the trigger (arguments from the registry row) is created as the
    -- extension owner: protect_trigger() is not executable by PUBLIC
    PERFORM @extschema@._protect_install_trigger(rel, "column");
    PERFORM @extschema@._protected_view(rel);
    RETURN vname;
END
$$;
COMMENT ON FUNCTION @extschema@.protect(regclass, name, boolean, text) IS
    'protect a text column: ciphertext (and blind index) columns, encrypting trigger, <table>_decrypted view; plaintext never stored';

-- Keys of isolated tables without the tenant column.  Row level security
-- does not apply to constraints: a unique key without the tenant column
-- refuses a tenant's value because another tenant has it (an existence
-- oracle: 23505 tells the tenant so), and a foreign key to a tenant table
-- without the tenant column accepts a reference to another tenant's row (and
-- its 23503 tells whether the row exists).  _tenant_key_problems lists them
-- for one table, with the statement that fixes each: the key becomes
-- (tenant column, ...), the foreign key composite.  Keys a partition inherits
-- are reported on the partitioned table only.
CREATE FUNCTION @extschema@._tenant_key_problems(rel regclass, tenant_column name)
RETURNS TABLE (problem text, fix text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH tcol AS (
        SELECT a.attnum FROM pg_attribute a
         WHERE a.attrelid = rel AND a.attname = tenant_column AND a.attnum > 0 AND NOT a.attisdropped
    ), uniques AS (
        SELECT i.indexrelid, i.indisprimary, ic.relname AS idxname, con.conname,
               (SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true), ', ' ORDER BY k)
                  FROM generate_series(1, i.indnkeyatts) k) AS cols,
               pg_get_expr(i.indpred, i.indrelid, true) AS pred
          FROM pg_index i
          JOIN pg_class ic ON ic.oid = i.indexrelid
          LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                                     AND con.contype IN ('p', 'u')
         WHERE i.indrelid = rel AND i.indisunique
           AND NOT EXISTS (SELECT FROM tcol WHERE tcol.attnum = ANY (i.indkey::int2[]))
           AND NOT EXISTS (SELECT FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
    ), fkeys AS (
        SELECT con.conname, con.confrelid::regclass AS target, t.tenant_column AS target_col, tt.attnum AS target_attnum,
               con.conkey, con.confkey, tt.attnum = ANY (con.confkey) AS refs_tenant
          FROM pg_constraint con
          JOIN @extschema@.isolated_tables t ON t.rel = con.confrelid
          JOIN pg_attribute tt ON tt.attrelid = con.confrelid AND tt.attname = t.tenant_column
         WHERE con.conrelid = _tenant_key_problems.rel AND con.contype = 'f' AND con.conparentid = 0
           -- the tenant column must reference the target's tenant column
           AND NOT EXISTS (SELECT FROM unnest(con.conkey, con.confkey) k(local, remote), tcol
                            WHERE k.local = tcol.attnum AND k.remote = tt.attnum)
    ), fkey_fixes AS (
        -- the fixed key: the column that references the target's tenant
        -- column becomes the tenant column; without one, the pair of tenant
        -- columns comes first
        SELECT f.conname, f.target, f.target_col, f.refs_tenant,
               (CASE WHEN f.refs_tenant THEN '' ELSE quote_ident(tenant_column) || ', ' END)
               || (SELECT string_agg(CASE WHEN k.remote = f.target_attnum THEN quote_ident(tenant_column)
                                          ELSE quote_ident(a.attname) END, ', ' ORDER BY k.n)
                     FROM unnest(f.conkey, f.confkey) WITH ORDINALITY k(local, remote, n)
                     JOIN pg_attribute a ON a.attrelid = _tenant_key_problems.rel AND a.attnum = k.local) AS cols,
               (CASE WHEN f.refs_tenant THEN '' ELSE quote_ident(f.target_col) || ', ' END)
               || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)
                     FROM unnest(f.confkey) WITH ORDINALITY k(remote, n)
                     JOIN pg_attribute a ON a.attrelid = f.target AND a.attnum = k.remote) AS refcols
          FROM fkeys f
    )
    SELECT format('%s %s does not include the tenant column %I, so a tenant can learn that another tenant has a value',
                  CASE WHEN u.indisprimary THEN 'primary key' WHEN u.conname IS NOT NULL THEN 'unique constraint'
                       ELSE 'unique index' END,
                  quote_ident(coalesce(u.conname, u.idxname)), tenant_column),
           CASE WHEN u.conname IS NOT NULL
                THEN format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s (%I, %s);', rel, u.conname, u.conname,
                            CASE WHEN u.indisprimary THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, tenant_column, u.cols)
                ELSE format('DROP INDEX %s; CREATE UNIQUE INDEX %I ON %s (%I, %s)%s;', u.indexrelid::regclass, u.idxname,
                            rel, tenant_column, u.cols, CASE WHEN u.pred IS NOT NULL THEN ' WHERE ' || u.pred ELSE '' END)
           END
      FROM uniques u
    UNION ALL
    SELECT format('foreign key %I to tenant table %s does not include the tenant column %I, so a row can reference another tenant''s row',
                  f.conname, f.target, tenant_column),
           format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %s (%s);%s',
                  rel, f.conname, f.conname, f.cols, f.target, f.refcols,
                  CASE WHEN f.refs_tenant THEN ''
                       ELSE format(' -- needs a unique key (%s) on %s', f.refcols, f.target) END)
      FROM fkey_fixes f
    ORDER BY 1;
END;
COMMENT ON FUNCTION @extschema@._tenant_key_problems(regclass, name) IS
    'unique keys and foreign keys of an isolated table that lack its tenant column, with the statement that fixes each';

-- _isolate warns of the keys of the table without the tenant column (the rest
-- as in 0.1.0); isolate() and isolate_schema() call it
-- _isolate isolates rel and every partition below it.  All tables are
-- registered before any DDL runs, so the event trigger that the DDL fires
-- finds them isolated and does nothing.
CREATE OR REPLACE FUNCTION @extschema@._isolate(rel regclass, tenant_column name, source text)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    existing name;
    part     regclass;
    parts    regclass[];
    k        record;
BEGIN
    PERFORM @extschema@._check_isolatable(rel, tenant_column, 'isolate');
    SELECT t.tenant_column INTO existing FROM @extschema@.isolated_tables t WHERE t.rel = _isolate.rel;
    IF existing IS NOT NULL AND existing <> tenant_column THEN
        RAISE EXCEPTION 'table % is already isolated on column "%"', rel, existing
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Call tenantcore.unisolate() first to change the tenant column.';
    END IF;

    parts := @extschema@._partition_tree(rel);
    FOREACH part IN ARRAY parts LOOP
        PERFORM @extschema@._check_isolatable(part, tenant_column, 'isolate');
    END LOOP;

    FOREACH part IN ARRAY parts LOOP
        INSERT INTO @extschema@.isolated_tables AS t (rel, tenant_column, source)
        VALUES (part, tenant_column, CASE WHEN part = rel THEN source ELSE 'partition' END)
        ON CONFLICT ON CONSTRAINT isolated_tables_pkey DO NOTHING;
    END LOOP;
    FOREACH part IN ARRAY parts LOOP
        PERFORM @extschema@._apply_policy(part, tenant_column);
    END LOOP;
    -- the policy does not cover constraints (tenantcore.lint() lists these too)
    FOR k IN SELECT * FROM @extschema@._tenant_key_problems(rel, tenant_column) LOOP
        RAISE WARNING 'table %: %', rel, k.problem
            USING HINT = 'Make the key include the tenant column: ' || k.fix;
    END LOOP;
    RETURN rel;
END
$$;

-- lint() also reports the keys of isolated tables without the tenant column
-- (_tenant_key_problems above); the rest as in part 2
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
    -- unique keys and foreign keys without the tenant column: constraints
    -- see every tenant's rows
    SELECT CASE WHEN k.problem LIKE 'foreign key %' THEN 'high' ELSE 'medium' END, i.rel::text, k.problem, k.fix
      FROM isolated i CROSS JOIN LATERAL @extschema@._tenant_key_problems(i.rel, i.tenant_column) k
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


-- The tenant column's default.  With missing_tenant = deny an INSERT without
-- a tenant got current_tenant() = NULL and then PostgreSQL's bare "new row
-- violates row-level security policy".  The default is now
-- _tenant_default(): the current tenant, or the error that says what to do.
-- With missing_tenant = error current_tenant() raises its own error first,
-- as before.  An INSERT that names the tenant column does not evaluate the
-- default (and still meets the policy's WITH CHECK).  _tenant_default() is
-- an SQL function without SET clause, so the planner inlines it: a row costs
-- the current_tenant() call, as before.
CREATE FUNCTION @extschema@._no_tenant_for_insert() RETURNS uuid
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'no tenant is set'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = 'The tenant column of a tenant-isolated table defaults to the current tenant.',
              HINT = CASE WHEN current_setting('tenantcore.context_mode', true) = 'signed'
                          THEN 'Call tenantcore.set_context_token() in the transaction first.'
                          ELSE 'Call tenantcore.set_tenant() in the transaction first.' END;
END
$$;
COMMENT ON FUNCTION @extschema@._no_tenant_for_insert() IS
    'raise the error of an INSERT into a tenant-isolated table without a tenant';
CREATE FUNCTION @extschema@._tenant_default() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
RETURN COALESCE(@extschema@.current_tenant(), @extschema@._no_tenant_for_insert());
COMMENT ON FUNCTION @extschema@._tenant_default() IS
    'the default of the tenant column of an isolated table: the current tenant, or an error with a hint';

-- _apply_policy sets the new default (the rest as in 0.1.0)
CREATE OR REPLACE FUNCTION @extschema@._apply_policy(rel regclass, tenant_column name) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY, '
                   'ALTER COLUMN %I SET DEFAULT @extschema@._tenant_default()', rel, tenant_column);
    IF EXISTS (SELECT FROM pg_policy WHERE polrelid = rel AND polname = 'tenantcore_isolation') THEN
        EXECUTE format('ALTER POLICY tenantcore_isolation ON %s TO PUBLIC USING %s WITH CHECK %s',
                       rel, @extschema@._policy_expr(tenant_column), @extschema@._policy_expr(tenant_column));
    ELSE
        EXECUTE format('CREATE POLICY tenantcore_isolation ON %s AS PERMISSIVE FOR ALL TO PUBLIC USING %s WITH CHECK %s',
                       rel, @extschema@._policy_expr(tenant_column), @extschema@._policy_expr(tenant_column));
    END IF;
    IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = rel AND a.attname = tenant_column AND i.indpred IS NULL) THEN
        EXECUTE format('CREATE INDEX ON %s (%I)', rel, tenant_column);
    END IF;
END
$$;

-- unisolate drops the default it set, the new one or the one of 0.1.0-0.6.0
-- (the rest as in 0.1.0)
CREATE OR REPLACE FUNCTION @extschema@.unisolate(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col   name;
    part  regclass;
    def   text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'unisolate: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT t.tenant_column INTO col FROM @extschema@.isolated_tables t WHERE t.rel = unisolate.rel;
    IF col IS NULL THEN
        RAISE NOTICE 'table % is not isolated, skipping', rel;
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_partition_ancestors(rel) a JOIN @extschema@.isolated_tables t ON t.rel = a.relid
                WHERE a.relid <> unisolate.rel) THEN
        RAISE EXCEPTION 'table % is a partition of an isolated table', rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Unisolate the partitioned table instead; a partition reached directly must stay isolated.';
    END IF;
    PERFORM @extschema@._check_isolatable(rel, col, 'unisolate');

    FOREACH part IN ARRAY @extschema@._partition_tree(rel) LOOP
        IF EXISTS (SELECT FROM pg_policy WHERE polrelid = part AND polname = 'tenantcore_isolation') THEN
            EXECUTE format('DROP POLICY tenantcore_isolation ON %s', part);
        END IF;
        IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = part) THEN
            EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY', part);
        END IF;
        SELECT pg_get_expr(d.adbin, d.adrelid) INTO def
          FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         WHERE d.adrelid = part AND a.attname = col;
        IF def IN ('@extschema@._tenant_default()', '@extschema@.current_tenant()') THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', part, col);
        END IF;
        DELETE FROM @extschema@.isolated_tables t WHERE t.rel = part;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.unisolate(regclass) IS
    'remove the tenant isolation policy from a table and its partitions';

-- tables isolated before 0.7.0 (also the core tables) get the new default
-- where they still have the one isolate() set
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT i.rel, i.tenant_column FROM @extschema@.isolated_tables i
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.rel AND a.attname = i.tenant_column
               JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE pg_catalog.pg_get_expr(d.adbin, d.adrelid) IN ('@extschema@.current_tenant()', 'current_tenant()')
              ORDER BY i.rel::oid LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@._tenant_default()',
                                  t.rel, t.tenant_column);
    END LOOP;
END
$$;

-- (end of part 6)


-- ===========================================================================
-- Part 7: audit v2 (record ids, tamper evidence, reads of protected data)
-- ===========================================================================

-- Record ids.  Every entry of an audited row carries record_id, a uuid that
-- stays the same across the row's updates (supa_audit's record_id): the
-- first 16 bytes of SHA-256 over the table's stable identity
-- (audited_tables.table_id, also stored in the entry as table_id) and the
-- text of the row's primary key as JSONB, marked as a version 8 uuid.  A
-- TRUNCATE entry's record_id is the table identity itself.  The table
-- identity survives ALTER TABLE ... RENAME, a dump and restore, and a second
-- audit() call; a row whose key changes gets a new record id from that UPDATE
-- on (the UPDATE entry itself carries the new key's id).
--
-- history() and row_as_of() look entries up by record_id: uuid equality is
-- leakproof, so its hash index serves them under the log's row-level
-- security (the JSONB comparison of 0.6.0 is not, so an application role's
-- call scanned the whole log).
ALTER TABLE @extschema@.audited_tables ADD COLUMN table_id uuid;
COMMENT ON COLUMN @extschema@.audited_tables.table_id IS
    'stable identity of the audited table in its log entries (audit_log.table_id; kept across renames and restores)';

-- _audit_table_id proposes the identity of a newly audited table: derived
-- from its name, so the extension's own tables get the same one on every
-- install (they are audited again by CREATE EXTENSION on restore); random
-- when another audited table (renamed since) has that identity already.
CREATE FUNCTION @extschema@._audit_table_id(rel regclass) RETURNS uuid
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid;
BEGIN
    SELECT md5('tenantcore audited table ' || format('%I.%I', n.nspname, c.relname))::uuid INTO id
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    IF id IS NULL OR EXISTS (SELECT FROM @extschema@.audited_tables t WHERE t.table_id = id AND t.rel <> _audit_table_id.rel) THEN
        id := gen_random_uuid();
    END IF;
    RETURN id;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._audit_table_id(regclass) FROM PUBLIC;

CREATE FUNCTION @extschema@._audited_tables_identity() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.table_id IS NULL THEN
        NEW.table_id := @extschema@._audit_table_id(NEW.rel);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audited_tables_identity BEFORE INSERT ON @extschema@.audited_tables
    FOR EACH ROW EXECUTE FUNCTION @extschema@._audited_tables_identity();

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT a.rel FROM @extschema@.audited_tables a ORDER BY a.rel::oid LOOP
        UPDATE @extschema@.audited_tables a SET table_id = @extschema@._audit_table_id(t) WHERE a.rel = t;
    END LOOP;
END
$$;
ALTER TABLE @extschema@.audited_tables ALTER COLUMN table_id SET NOT NULL,
    ADD CONSTRAINT audited_tables_table_id_key UNIQUE (table_id);

ALTER TABLE @extschema@.audit_log ADD COLUMN table_id uuid, ADD COLUMN record_id uuid;
COMMENT ON COLUMN @extschema@.audit_log.table_id IS
    'stable identity of the audited table (audited_tables.table_id); unlike table_name, unchanged by a rename';
COMMENT ON COLUMN @extschema@.audit_log.record_id IS
    'stable id of the audited row: the same in every entry of the row while its primary key stays (tenantcore.audit_record_id)';

-- _audit_record_id(table_id, pk) is the record id the trigger computes.
CREATE FUNCTION @extschema@._audit_record_id(table_id uuid, pk jsonb) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_audit_record_id'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._audit_record_id(uuid, jsonb) IS
    'the record id of the row with primary key pk (JSONB as the audit log stores it) of the audited table table_id';

-- entries written before 0.7.0 get their table's identity and record ids
-- (by table oid, or by name for entries restored from a dump)
DO $$
BEGIN
    PERFORM pg_catalog.set_config('tenantcore.audit_internal', 'on', true);
    UPDATE @extschema@.audit_log l
       SET table_id = t.table_id,
           record_id = CASE WHEN l.pk IS NULL THEN t.table_id ELSE @extschema@._audit_record_id(t.table_id, l.pk) END
      FROM @extschema@.audited_tables t
     WHERE (l.relid = t.rel::oid
            OR l.table_name = (SELECT format('%I.%I', n.nspname, c.relname)
                                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                                WHERE c.oid = t.rel))
       AND (l.pk IS NOT NULL OR l.relid = t.rel::oid);
    PERFORM pg_catalog.set_config('tenantcore.audit_internal', 'off', true);
END
$$;

-- the triggers carry the table identity ('table:<uuid>'); the TRUNCATE
-- trigger of the audited table itself too (a partition's TRUNCATE entry has
-- no record id: it empties only part of the table).  The row trigger of a
-- built-in (core) table keeps the WHEN clause that _core_table() gave it,
-- also when audit() is called on the table again (0.6.0 lost it then).
CREATE OR REPLACE FUNCTION @extschema@._audit_install(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cfg  @extschema@.audited_tables;
    args text;
    part regclass;
BEGIN
    SELECT * INTO STRICT cfg FROM @extschema@.audited_tables t WHERE t.rel = _audit_install.rel;
    SELECT string_agg(format('%L', a), ', ') INTO args
      FROM (SELECT CASE WHEN cfg.changed_only THEN 'changed_only' ELSE 'full_rows' END
            UNION ALL SELECT 'table:' || cfg.table_id
            UNION ALL SELECT 'tenant:' || cfg.tenant_column WHERE cfg.tenant_column IS NOT NULL
            UNION ALL SELECT 'exclude:' || e FROM unnest(cfg.exclude_columns) e
            UNION ALL SELECT 'redact:' || r FROM unnest(cfg.redact_columns) r) s(a);
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = rel AND tgname = 'tenantcore_audit') THEN
        EXECUTE format('DROP TRIGGER tenantcore_audit ON %s', rel);
    END IF;
    -- the extension's own tables are loaded with their log by a restore: no
    -- second entry then (_restoring(), as _core_table() installed it)
    EXECUTE format('CREATE TRIGGER tenantcore_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW %sEXECUTE FUNCTION @extschema@.audit_trigger(%s)', rel,
                   CASE WHEN cfg.builtin THEN 'WHEN (NOT @extschema@._restoring()) ' ELSE '' END, args);
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = rel AND tgname = 'tenantcore_audit_truncate') THEN
        EXECUTE format('DROP TRIGGER tenantcore_audit_truncate ON %s', rel);
    END IF;
    EXECUTE format('CREATE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger(%L)', rel, 'table:' || cfg.table_id);
    -- statement triggers are not inherited: every table of the tree gets one
    FOREACH part IN ARRAY @extschema@._partition_tree(rel) LOOP
        IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = part AND tgname = 'tenantcore_audit_truncate') THEN
            EXECUTE format('CREATE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger()', part);
        END IF;
    END LOOP;
END
$$;

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT a.rel FROM @extschema@.audited_tables a ORDER BY a.rel::oid LOOP
        PERFORM @extschema@._audit_install(t);
    END LOOP;
END
$$;

-- The log's partitions: BRIN on (id, occurred_at) as before; a hash index on
-- record_id replaces the one on pk (history() and row_as_of() look up by
-- record id; a uuid hashes cheaper than a JSONB key); a btree on
-- (actor_id, occurred_at) of the entries with an actor serves
-- audit_by_actor() (timestamp and uuid comparisons are leakproof, so under
-- row-level security too).
CREATE OR REPLACE FUNCTION @extschema@._audit_partition_indexes(part regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('CREATE INDEX ON %s USING brin (id, occurred_at)', part);
    EXECUTE format('CREATE INDEX ON %s USING hash (record_id)', part);
    EXECUTE format('CREATE INDEX ON %s (actor_id, occurred_at) WHERE actor_id IS NOT NULL', part);
END
$$;

DO $$
DECLARE
    part regclass;
    idx  regclass;
BEGIN
    FOR part IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
                 WHERE i.inhparent = '@extschema@.audit_log'::regclass ORDER BY i.inhrelid
    LOOP
        FOR idx IN SELECT x.indexrelid::regclass FROM pg_catalog.pg_index x
                    WHERE x.indrelid = part AND pg_catalog.pg_get_indexdef(x.indexrelid) LIKE '%USING hash (pk)'
        LOOP
            EXECUTE format('DROP INDEX %s', idx);
        END LOOP;
        EXECUTE format('CREATE INDEX ON %s USING hash (record_id)', part);
        EXECUTE format('CREATE INDEX ON %s (actor_id, occurred_at) WHERE actor_id IS NOT NULL', part);
    END LOOP;
END
$$;

-- An entry is visible to a role that may read some column of the audited
-- table (Part 4), now found by the table's identity, so a rename keeps the
-- entries written under the old name visible; entries of tables no longer
-- audited are found by name as before.
ALTER POLICY tenantcore_isolation ON @extschema@.audit_log
    USING (organization_id = @extschema@.current_tenant()
           AND pg_catalog.has_any_column_privilege(
                   coalesce((SELECT t.rel FROM @extschema@.audited_tables t WHERE t.table_id = audit_log.table_id),
                            pg_catalog.to_regclass(table_name)),
                   'SELECT'));

-- audit_record_id(rel, pk) is the record id of a row (key as in history()).
CREATE FUNCTION @extschema@.audit_record_id(rel regclass, pk jsonb) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid uuid;
BEGIN
    IF rel IS NULL OR pk IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT t.table_id INTO tid FROM @extschema@.audited_tables t WHERE t.rel = audit_record_id.rel;
    IF tid IS NULL THEN
        RAISE EXCEPTION 'table % is not audited', rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Record ids belong to the rows of tables audited with tenantcore.audit().';
    END IF;
    RETURN @extschema@._audit_record_id(tid, @extschema@._audit_key(rel, pk, 'audit_record_id'));
END
$$;
COMMENT ON FUNCTION @extschema@.audit_record_id(regclass, jsonb) IS
    'the record id (audit_log.record_id) of one row of an audited table, by primary key as JSONB';

-- history returns every change of one row, oldest first: by record id (also
-- the entries written before a rename), or by name and key for a table that
-- is no longer audited.
CREATE OR REPLACE FUNCTION @extschema@.history(rel regclass, pk jsonb)
RETURNS SETOF @extschema@.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    qname text;
    key   jsonb;
    tid   uuid;
    rid   uuid;
BEGIN
    IF rel IS NULL OR pk IS NULL THEN
        RETURN;
    END IF;
    key := @extschema@._audit_key(rel, pk, 'history');
    SELECT t.table_id INTO tid FROM @extschema@.audited_tables t WHERE t.rel = history.rel;
    IF tid IS NOT NULL THEN
        rid := @extschema@._audit_record_id(tid, key);
        RETURN QUERY SELECT l.* FROM @extschema@.audit_log l WHERE l.record_id = rid ORDER BY l.id;
        RETURN;
    END IF;
    SELECT format('%I.%I', n.nspname, c.relname) INTO qname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    RETURN QUERY SELECT l.* FROM @extschema@.audit_log l
                  WHERE l.table_name = qname AND l.pk = key
                  ORDER BY l.id;
END
$$;
COMMENT ON FUNCTION @extschema@.history(regclass, jsonb) IS
    'every audit entry of one row (by primary key as JSONB, e.g. ''{"id": 42}''; the tenant column defaults to the current tenant), oldest first';

-- row_as_of replays the history of one row up to a time.
CREATE OR REPLACE FUNCTION @extschema@.row_as_of(rel regclass, pk jsonb, at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    qname text;
    key   jsonb;
    tid   uuid;
    rid   uuid;
    e     record;
    state jsonb;
BEGIN
    IF rel IS NULL OR pk IS NULL OR at IS NULL THEN
        RETURN NULL;
    END IF;
    key := @extschema@._audit_key(rel, pk, 'row_as_of');
    SELECT t.table_id INTO tid FROM @extschema@.audited_tables t WHERE t.rel = row_as_of.rel;
    SELECT format('%I.%I', n.nspname, c.relname) INTO qname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    IF tid IS NOT NULL THEN
        rid := @extschema@._audit_record_id(tid, key);
    END IF;
    FOR e IN
        -- the row's entries and the table's TRUNCATEs (their record id is the table's)
        SELECT l.id, l.operation, l.new_row FROM @extschema@.audit_log l
         WHERE tid IS NOT NULL AND l.record_id = rid AND l.occurred_at <= at
        UNION ALL
        SELECT l.id, l.operation, NULL FROM @extschema@.audit_log l
         WHERE tid IS NOT NULL AND l.record_id = tid AND l.operation = 'TRUNCATE' AND l.occurred_at <= at
        UNION ALL
        SELECT l.id, l.operation, l.new_row FROM @extschema@.audit_log l
         WHERE tid IS NULL AND l.table_name = qname AND l.pk = key AND l.occurred_at <= at
        UNION ALL
        SELECT l.id, l.operation, NULL FROM @extschema@.audit_log l
         WHERE tid IS NULL AND l.table_name = qname AND l.pk IS NULL AND l.operation = 'TRUNCATE' AND l.occurred_at <= at
        ORDER BY 1
    LOOP
        CASE e.operation
            WHEN 'INSERT' THEN state := e.new_row;
            -- a changed-only entry holds the changed keys: apply them
            WHEN 'UPDATE' THEN state := coalesce(state, '{}'::jsonb) || e.new_row;
            ELSE state := NULL;
        END CASE;
    END LOOP;
    RETURN state;
END
$$;
COMMENT ON FUNCTION @extschema@.row_as_of(regclass, jsonb, timestamptz) IS
    'the JSONB state of one row at a time, replayed from its audit entries (key as in history()); NULL when it did not exist';

-- audit_by_actor lists what one actor changed in a time range, oldest first
-- (the log's policy applies: an application role sees its own tenant's
-- entries of tables it may read).
CREATE FUNCTION @extschema@.audit_by_actor(actor uuid, since timestamptz DEFAULT '-infinity',
                                           until timestamptz DEFAULT 'infinity')
RETURNS SETOF @extschema@.audit_log
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.* FROM @extschema@.audit_log l
     WHERE l.actor_id = actor AND l.occurred_at >= since AND l.occurred_at < until
     ORDER BY l.occurred_at, l.id
$$;
COMMENT ON FUNCTION @extschema@.audit_by_actor(uuid, timestamptz, timestamptz) IS
    'the audit entries of one actor (actor_id) with since <= occurred_at < until, oldest first';

-- audit_export returns the current tenant's entries after an id as JSON
-- lines for a SIEM: one JSON object per entry, in id order, at most
-- max_entries; the next call passes the last id it got.
CREATE FUNCTION @extschema@.audit_export(after_id bigint DEFAULT 0, max_entries integer DEFAULT 10000)
RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant uuid := @extschema@.current_tenant();
BEGIN
    IF after_id IS NULL OR max_entries IS NULL THEN
        RAISE EXCEPTION 'audit_export: after_id and max_entries must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF max_entries NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'audit_export: max_entries must be between 1 and 1000000, not %', max_entries
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'audit_export: no tenant is set'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Call tenantcore.set_tenant() first: the export holds the entries of the current tenant.';
    END IF;
    RETURN QUERY
        SELECT jsonb_build_object('id', l.id, 'organization_id', l.organization_id, 'occurred_at', l.occurred_at,
                                  'txid', l.txid::text, 'table_id', l.table_id, 'table_name', l.table_name,
                                  'record_id', l.record_id, 'operation', l.operation, 'pk', l.pk,
                                  'old_row', l.old_row, 'new_row', l.new_row, 'changed_columns', l.changed_columns,
                                  'actor_id', l.actor_id, 'db_user', l.db_user,
                                  'application_name', l.application_name, 'client_addr', l.client_addr)::text
          FROM @extschema@.audit_log l
         WHERE l.organization_id = tenant AND l.id > after_id
         ORDER BY l.id
         LIMIT max_entries;
END
$$;
COMMENT ON FUNCTION @extschema@.audit_export(bigint, integer) IS
    'the current tenant''s audit entries with id > after_id as JSON lines (one object per entry, id order, at most max_entries)';

-- ---------------------------------------------------------------------------
-- Tamper evidence: seals of closed ranges of the log.
--
-- audit_seal() hashes the entries of a closed id range (SHA-256, per UTC
-- month of occurred_at: one segment per month, so a partition dropped by
-- retention takes exactly its segments with it) and chains the seal to the
-- previous one.  The write path is untouched: writers of different tenants
-- never wait on a seal, nor on one another.  A range is closed when no
-- transaction can still add an entry to it: audit_seal() notes the
-- sequence's last id and the xid horizon of the moment (the seal point), and
-- a later call seals up to that id once every transaction running then has
-- ended.  So a call seals what was written before the previous call; run it
-- regularly (audit_maintain() does when tenantcore.audit_seal_in_maintain is
-- on, e.g. from the pg_cron job of schedule_retention()).
--
-- audit_verify() recomputes every seal and reports what differs: entries
-- modified, deleted or inserted inside a sealed range, a partition dropped
-- outside retention, a seal altered or missing; entries after the last seal
-- are reported as unsealed, not as tampering.  A partition dropped by
-- retention (a month that ends before now() - the audit log's retention
-- period) marks its segments as purged by retention: they stay in the
-- chain, and verify accepts their absence.  A superuser can rewrite the
-- seals too: export them (audit_seals_export()) and sign or keep the export
-- outside the database; the chain hash of the last exported seal pins every
-- entry sealed before it.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.audit_seals (
    seal_id     bigint      PRIMARY KEY CHECK (seal_id > 0),
    first_id    bigint      NOT NULL,
    last_id     bigint      NOT NULL,
    entries     bigint      NOT NULL CHECK (entries >= 0),
    range_hash  bytea       NOT NULL,
    prev_hash   bytea       NOT NULL,
    seal_hash   bytea       NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    sealed_by   name        NOT NULL DEFAULT session_user,
    CONSTRAINT audit_seals_range_check CHECK (first_id <= last_id)
);
COMMENT ON TABLE @extschema@.audit_seals IS
    'seals of closed id ranges of the audit log, each chained to the previous one (tenantcore.audit_seal, audit_verify)';

CREATE TABLE @extschema@.audit_seal_segments (
    seal_id             bigint      NOT NULL REFERENCES @extschema@.audit_seals,
    month               date        NOT NULL,
    entries             bigint      NOT NULL CHECK (entries > 0),
    hash                bytea       NOT NULL,
    purged_at           timestamptz,
    purged_by           name,
    purged_by_retention boolean,
    PRIMARY KEY (seal_id, month)
);
COMMENT ON TABLE @extschema@.audit_seal_segments IS
    'the entries of one seal in one UTC month of occurred_at: count and SHA-256; purged when the month''s partition is dropped';

CREATE TABLE @extschema@.audit_seal_point (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_value  bigint      NOT NULL,
    xid_horizon xid8        NOT NULL,
    taken_at    timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.audit_seal_point IS
    'the id up to which the next audit_seal() seals, once every transaction older than xid_horizon has ended';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_seals', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_seal_segments', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_seal_point', '');
REVOKE ALL ON @extschema@.audit_seals, @extschema@.audit_seal_segments, @extschema@.audit_seal_point FROM PUBLIC;

-- _audit_entry_hash is the SHA-256 of one entry: a JSON array of its columns
-- in a fixed order (so columns added to the log later do not change it),
-- timestamps in UTC (the callers pin TimeZone and DateStyle)
-- (a SQL-standard body, bound when created: inlined, no SET clause needed)
CREATE FUNCTION @extschema@._audit_entry_hash(l @extschema@.audit_log) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN sha256(convert_to(jsonb_build_array(
           l.id, l.organization_id, l.occurred_at, l.txid::text, l.relid::bigint, l.table_name, l.operation,
           l.pk, l.old_row, l.new_row, l.changed_columns, l.actor_id, l.db_user, l.application_name,
           l.client_addr::text, l.table_id, l.record_id)::text, 'UTF8'));
REVOKE EXECUTE ON FUNCTION @extschema@._audit_entry_hash(@extschema@.audit_log) FROM PUBLIC;

-- _audit_seal_month is the UTC month of an entry, as its segment names it
CREATE FUNCTION @extschema@._audit_seal_month(ts timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_trunc('month', ts AT TIME ZONE 'UTC')::date;

-- _audit_range_hash is the hash of a seal's segments, _audit_seal_hash the
-- chain hash of a seal
CREATE FUNCTION @extschema@._audit_range_hash(seal bigint) RETURNS bytea
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT sha256(coalesce(string_agg(convert_to(g.month::text, 'UTF8') || int8send(g.entries) || g.hash, ''::bytea
                                          ORDER BY g.month), ''::bytea))
          FROM @extschema@.audit_seal_segments g WHERE g.seal_id = seal);
CREATE FUNCTION @extschema@._audit_seal_hash(prev bytea, seal bigint, first_id bigint, last_id bigint,
                                             entries bigint, range_hash bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN sha256(prev || int8send(seal) || int8send(first_id) || int8send(last_id) || int8send(entries) || range_hash);
REVOKE EXECUTE ON FUNCTION @extschema@._audit_range_hash(bigint),
                           @extschema@._audit_seal_hash(bytea, bigint, bigint, bigint, bigint, bytea) FROM PUBLIC;

CREATE FUNCTION @extschema@.audit_seal() RETURNS SETOF @extschema@.audit_seals
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    pt     @extschema@.audit_seal_point;
    horizon xid8;
    last   bigint;
    prev   bytea;
    seal   bigint;
    total  bigint;
    rhash  bytea;
    upto   bigint;
    result @extschema@.audit_seals;
BEGIN
    IF @extschema@._creating_extension() THEN
        RETURN;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'audit_seal() must run at isolation level read committed, not %', current_setting('transaction_isolation')
            USING ERRCODE = 'invalid_transaction_state',
                  DETAIL = 'It decides which entries no running transaction can still add from a snapshot taken after it reads the log''s sequence.';
    END IF;
    -- one seal at a time (writers of the log are not blocked)
    LOCK TABLE @extschema@.audit_seal_point IN EXCLUSIVE MODE;
    SELECT * INTO pt FROM @extschema@.audit_seal_point;
    SELECT pg_snapshot_xmin(pg_current_snapshot()) INTO horizon;
    SELECT s.last_id, s.seal_hash, s.seal_id INTO last, prev, seal
      FROM @extschema@.audit_seals s ORDER BY s.seal_id DESC LIMIT 1;
    last := coalesce(last, 0);
    prev := coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    seal := coalesce(seal, 0) + 1;

    IF pt.last_value IS NOT NULL AND pt.last_value > last AND horizon >= pt.xid_horizon THEN
        -- every transaction that could add an entry with an id up to the
        -- point has ended: seal (last, point]
        upto := pt.last_value;
        INSERT INTO @extschema@.audit_seals (seal_id, first_id, last_id, entries, range_hash, prev_hash, seal_hash)
        VALUES (seal, last + 1, upto, 0, ''::bytea, prev, ''::bytea);
        INSERT INTO @extschema@.audit_seal_segments (seal_id, month, entries, hash)
        SELECT seal, @extschema@._audit_seal_month(l.occurred_at), count(*),
               sha256(string_agg(@extschema@._audit_entry_hash(l), ''::bytea ORDER BY l.id))
          FROM @extschema@.audit_log l WHERE l.id > last AND l.id <= upto
         GROUP BY 2;
        SELECT coalesce(sum(g.entries), 0) INTO total FROM @extschema@.audit_seal_segments g WHERE g.seal_id = seal;
        rhash := @extschema@._audit_range_hash(seal);
        UPDATE @extschema@.audit_seals s
           SET entries = total, range_hash = rhash,
               seal_hash = @extschema@._audit_seal_hash(prev, seal, last + 1, upto, total, rhash)
         WHERE s.seal_id = seal
        RETURNING * INTO result;
        RETURN NEXT result;
    END IF;

    -- the next seal point, unless the current one still waits for its
    -- transactions: the last id handed out, then the xid horizon of a
    -- snapshot taken after reading it (a transaction holding an id up to
    -- last_value is older than xid_horizon)
    IF pt.last_value IS NULL OR pt.last_value <= last OR upto IS NOT NULL THEN
        SELECT CASE WHEN q.is_called THEN q.last_value ELSE q.last_value - 1 END INTO upto
          FROM @extschema@.audit_log_id_seq q;
        INSERT INTO @extschema@.audit_seal_point AS p (singleton, last_value, xid_horizon, taken_at)
        SELECT true, upto, pg_snapshot_xmax(pg_current_snapshot()), clock_timestamp()
        ON CONFLICT (singleton) DO UPDATE SET last_value = EXCLUDED.last_value, xid_horizon = EXCLUDED.xid_horizon,
                                              taken_at = EXCLUDED.taken_at;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.audit_seal() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_seal() IS
    'seal the audit entries written before the previous call (a SHA-256 per month, chained); returns the new seal';

CREATE FUNCTION @extschema@.audit_verify()
RETURNS TABLE (finding text, tampered boolean, seal_id bigint, month date, first_id bigint, last_id bigint,
               expected bigint, found bigint, detail text)
LANGUAGE plpgsql SECURITY DEFINER STABLE
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    s       record;
    g       record;
    prev    bytea := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    want_id bigint := 1;
    want_lo bigint := 1;
    last    bigint := 0;
    pname   text;
BEGIN
    -- the chain
    FOR s IN SELECT * FROM @extschema@.audit_seals x ORDER BY x.seal_id LOOP
        IF s.seal_id <> want_id OR s.first_id <> want_lo THEN
            RETURN QUERY SELECT 'seal missing', true, s.seal_id, NULL::date, want_lo, s.first_id - 1, NULL::bigint, NULL::bigint,
                format('seal %s follows seal %s: the seal of ids %s to %s is missing', s.seal_id, want_id - 1, want_lo, s.first_id - 1);
        END IF;
        IF s.prev_hash <> prev OR s.range_hash <> @extschema@._audit_range_hash(s.seal_id)
           OR s.seal_hash <> @extschema@._audit_seal_hash(s.prev_hash, s.seal_id, s.first_id, s.last_id, s.entries, s.range_hash)
           OR s.entries <> (SELECT coalesce(sum(x.entries), 0) FROM @extschema@.audit_seal_segments x WHERE x.seal_id = s.seal_id) THEN
            RETURN QUERY SELECT 'seal altered', true, s.seal_id, NULL::date, s.first_id, s.last_id, NULL::bigint, NULL::bigint,
                format('seal %s or its segments were changed after sealing (its hashes do not chain)', s.seal_id);
        END IF;
        prev := s.seal_hash;
        want_id := s.seal_id + 1;
        want_lo := s.last_id + 1;
        last := s.last_id;
    END LOOP;

    -- the entries of every sealed range, per month
    FOR g IN
        WITH actual AS (
            SELECT x.seal_id, @extschema@._audit_seal_month(l.occurred_at) AS month, count(*) AS n,
                   sha256(string_agg(@extschema@._audit_entry_hash(l), ''::bytea ORDER BY l.id)) AS h
              FROM @extschema@.audit_seals x JOIN @extschema@.audit_log l ON l.id BETWEEN x.first_id AND x.last_id
             GROUP BY 1, 2)
        SELECT coalesce(seg.seal_id, a.seal_id) AS seal_id, coalesce(seg.month, a.month) AS month,
               seg.entries, seg.hash, seg.purged_at, seg.purged_by, seg.purged_by_retention, a.n, a.h,
               x.first_id, x.last_id
          FROM @extschema@.audit_seal_segments seg
          FULL JOIN actual a ON a.seal_id = seg.seal_id AND a.month = seg.month
          JOIN @extschema@.audit_seals x ON x.seal_id = coalesce(seg.seal_id, a.seal_id)
         ORDER BY 1, 2
    LOOP
        pname := @extschema@._audit_partition_name(g.month::timestamp AT TIME ZONE 'UTC');
        IF g.purged_at IS NOT NULL AND g.purged_by_retention THEN
            CONTINUE;   -- dropped by retention: allowed
        ELSIF g.purged_at IS NOT NULL THEN
            RETURN QUERY SELECT 'partition dropped', true, g.seal_id, g.month, g.first_id, g.last_id, g.entries, coalesce(g.n, 0),
                format('partition %s was dropped at %s by %s, before the audit log''s retention period allows', pname, g.purged_at, g.purged_by);
        ELSIF g.entries IS NULL THEN
            RETURN QUERY SELECT 'inserted', true, g.seal_id, g.month, g.first_id, g.last_id, 0::bigint, g.n,
                format('%s entries of %s in sealed ids %s to %s were not there when they were sealed', g.n, to_char(g.month, 'YYYY-MM'), g.first_id, g.last_id);
        ELSIF g.n IS NULL AND to_regclass(format('@extschema@.%I', pname)) IS NULL THEN
            RETURN QUERY SELECT 'partition dropped', true, g.seal_id, g.month, g.first_id, g.last_id, g.entries, 0::bigint,
                format('partition %s is gone: its %s sealed entries are missing', pname, g.entries);
        ELSIF coalesce(g.n, 0) < g.entries THEN
            RETURN QUERY SELECT 'deleted', true, g.seal_id, g.month, g.first_id, g.last_id, g.entries, coalesce(g.n, 0),
                format('%s sealed entries of %s in ids %s to %s are missing', g.entries - coalesce(g.n, 0), to_char(g.month, 'YYYY-MM'), g.first_id, g.last_id);
        ELSIF g.n > g.entries THEN
            RETURN QUERY SELECT 'inserted', true, g.seal_id, g.month, g.first_id, g.last_id, g.entries, g.n,
                format('%s entries of %s in sealed ids %s to %s were not there when they were sealed', g.n - g.entries, to_char(g.month, 'YYYY-MM'), g.first_id, g.last_id);
        ELSIF g.h <> g.hash THEN
            RETURN QUERY SELECT 'modified', true, g.seal_id, g.month, g.first_id, g.last_id, g.entries, g.n,
                format('sealed entries of %s in ids %s to %s were changed', to_char(g.month, 'YYYY-MM'), g.first_id, g.last_id);
        END IF;
    END LOOP;

    -- entries after the last seal
    RETURN QUERY SELECT 'unsealed', false, NULL::bigint, NULL::date, min(l.id), max(l.id), NULL::bigint, count(*),
                        format('%s entries after the last seal (id > %s) are not sealed yet', count(*), last)
                   FROM @extschema@.audit_log l WHERE l.id > last HAVING count(*) > 0;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.audit_verify() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_verify() IS
    'recompute the audit log''s seals: entries modified, deleted or inserted, partitions dropped outside retention, seals altered; unsealed entries';

-- audit_seals_export returns the seals as JSON lines (hashes in hex), to be
-- signed and kept outside the database
CREATE FUNCTION @extschema@.audit_seals_export(after_seal bigint DEFAULT 0)
RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
AS $$
    SELECT jsonb_build_object('seal_id', s.seal_id, 'first_id', s.first_id, 'last_id', s.last_id,
                              'entries', s.entries, 'range_hash', encode(s.range_hash, 'hex'),
                              'prev_hash', encode(s.prev_hash, 'hex'), 'seal_hash', encode(s.seal_hash, 'hex'),
                              'sealed_at', s.sealed_at, 'sealed_by', s.sealed_by,
                              'segments', (SELECT jsonb_agg(jsonb_build_object('month', to_char(g.month, 'YYYY-MM'),
                                                                               'entries', g.entries,
                                                                               'hash', encode(g.hash, 'hex')) ORDER BY g.month)
                                             FROM @extschema@.audit_seal_segments g WHERE g.seal_id = s.seal_id))::text
      FROM @extschema@.audit_seals s
     WHERE s.seal_id > coalesce(after_seal, 0)
     ORDER BY s.seal_id
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.audit_seals_export(bigint) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_seals_export(bigint) IS
    'the audit log''s seals after a seal id as JSON lines (hex hashes), to sign and keep outside the database';

-- a dropped monthly partition of the log marks the segments of its month as
-- purged: by retention when the whole month lies before now() minus the
-- audit log's retention period (built-in policy -1), else not (audit_verify
-- reports it)
CREATE FUNCTION @extschema@._audit_seal_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d     record;
    m     date;
    keep  interval;
BEGIN
    IF to_regclass('@extschema@.audit_seal_segments') IS NULL THEN
        RETURN;
    END IF;
    FOR d IN SELECT o.object_name FROM pg_event_trigger_dropped_objects() o
              WHERE o.classid = 'pg_class'::regclass AND o.objsubid = 0 AND o.object_type = 'table'
                AND o.schema_name = '@extschema@' AND o.object_name ~ '^audit_log_p[0-9]{6}$'
    LOOP
        m := to_date(substr(d.object_name, 12), 'YYYYMM');
        keep := (SELECT p.keep FROM @extschema@.retention_policies p WHERE p.id = -1);
        UPDATE @extschema@.audit_seal_segments g
           SET purged_at = now(), purged_by = session_user,
               purged_by_retention = keep IS NOT NULL
                                     AND ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC') <= now() - keep
         WHERE g.month = m AND g.purged_at IS NULL;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._audit_seal_on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER tenantcore_audit_seal_sql_drop ON sql_drop
    EXECUTE FUNCTION @extschema@._audit_seal_on_sql_drop();

-- audit_maintain() seals too when tenantcore.audit_seal_in_maintain is on
-- (a superuser setting), so the daily pg_cron job of schedule_retention()
-- keeps the seals current
CREATE OR REPLACE FUNCTION @extschema@.audit_maintain(months_ahead integer DEFAULT 3)
RETURNS SETOF regclass
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    month0 timestamp;
    lo     timestamptz;
    hi     timestamptz;
    pname  text;
    moved  bigint;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'audit_maintain: months_ahead must be between 0 and 120'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- partitions made by the extension script would be extension members and
    -- collide with the dumped ones on restore: leave them to a later call
    IF @extschema@._creating_extension() THEN
        RETURN;
    END IF;
    month0 := date_trunc('month', transaction_timestamp() AT TIME ZONE 'UTC');
    FOR i IN 0..months_ahead LOOP
        lo := (month0 + make_interval(months => i)) AT TIME ZONE 'UTC';
        hi := (month0 + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
        pname := @extschema@._audit_partition_name(lo);
        CONTINUE WHEN to_regclass(format('@extschema@.%I', pname)) IS NOT NULL;

        IF EXISTS (SELECT FROM @extschema@.audit_log_default d WHERE d.occurred_at >= lo AND d.occurred_at < hi) THEN
            -- entries of that month went to the default partition: move them
            EXECUTE format('CREATE TABLE @extschema@.%I (LIKE @extschema@.audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', pname);
            PERFORM set_config('tenantcore.audit_internal', 'on', true);
            EXECUTE format('WITH moved AS (DELETE FROM @extschema@.audit_log_default d '
                           'WHERE d.occurred_at >= %L AND d.occurred_at < %L RETURNING d.*) '
                           'INSERT INTO @extschema@.%I SELECT * FROM moved', lo, hi, pname);
            GET DIAGNOSTICS moved = ROW_COUNT;
            PERFORM set_config('tenantcore.audit_internal', 'off', true);
            EXECUTE format('ALTER TABLE @extschema@.audit_log ATTACH PARTITION @extschema@.%I FOR VALUES FROM (%L) TO (%L)',
                           pname, lo, hi);
            RAISE DEBUG 'moved % audit entries from the default partition to %', moved, pname;
        ELSE
            EXECUTE format('CREATE TABLE @extschema@.%I PARTITION OF @extschema@.audit_log FOR VALUES FROM (%L) TO (%L)',
                           pname, lo, hi);
        END IF;
        PERFORM @extschema@._audit_prepare_partition(format('@extschema@.%I', pname)::regclass);
        RETURN NEXT format('@extschema@.%I', pname)::regclass;
    END LOOP;
    IF current_setting('tenantcore.audit_seal_in_maintain', true) = 'on'
       AND current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM @extschema@.audit_seal();
    END IF;
END
$$;

-- (end of part 7)


-- ===========================================================================
-- Part 8: Citus (tenant context on every node, distributable schema)
-- ===========================================================================

-- (end of part 8)

-- ===========================================================================
-- Part 10a: tenant context and protect helpers (red-team review of 0.7.0)
-- ===========================================================================

-- _invited_user: also clears tenantcore.context_token (SET clause added).
-- current_tenant() falls back to that setting (a Citus coordinator sets it in
-- set_context_token()), so with tenantcore.tenant_id cleared alone the new
-- users row still got the inviting tenant and its audit entry told an
-- unknown address from a known one.  Otherwise as in part 2.
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

-- erase_subject: also clears tenantcore.context_token (SET clause added), so
-- it runs without a tenant from any source, as 0.5.0 meant.  Otherwise as in
-- 0.5.0.
CREATE OR REPLACE FUNCTION @extschema@.erase_subject(subject uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET tenantcore.tenant_id = ''
SET tenantcore.context_token = ''
AS $$
DECLARE
    s       @extschema@.subject_tables;
    sql     record;
    cond    text;
    held    uuid[];
    found_h uuid[];
    blocked text[] := '{}';
    n       bigint;
    summary jsonb := '{}';
    audit_n bigint;
    req     bigint;
BEGIN
    IF subject IS NULL THEN
        RAISE EXCEPTION 'erase_subject: subject must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- legal holds first: nothing changes when one blocks
    FOR s IN SELECT * FROM @extschema@.subject_tables st
              WHERE st.tenant_column IS NOT NULL AND st.on_erase <> 'keep' ORDER BY st.rel::text, st.subject_column LOOP
        held := @extschema@._retention_held_tenants(s.rel);
        CONTINUE WHEN cardinality(held) = 0;
        cond := format('%I = $1', s.subject_column);
        IF s.on_erase = 'anonymize' THEN
            cond := cond || format(' AND NOT (%s)', (@extschema@._retention_anonymize_sql(s.rel, s.anonymize)).done);
        END IF;
        EXECUTE format('SELECT array_agg(DISTINCT %I ORDER BY %I) FROM %s WHERE %s AND %I = ANY ($2)',
                       s.tenant_column, s.tenant_column, s.rel, cond, s.tenant_column)
           INTO found_h USING subject, held;
        IF found_h IS NOT NULL THEN
            blocked := blocked || format('%s (tenant %s)', s.rel, array_to_string(found_h, ', '));
        END IF;
    END LOOP;
    IF to_regclass('@extschema@.audit_log') IS NOT NULL THEN
        held := @extschema@._retention_held_tenants('@extschema@.audit_log');
        IF cardinality(held) > 0 THEN
            EXECUTE 'SELECT array_agg(DISTINCT a.organization_id ORDER BY a.organization_id) FROM @extschema@.audit_log a
                      WHERE a.actor_id = $1 AND a.organization_id = ANY ($2)'
               INTO found_h USING subject, held;
            IF found_h IS NOT NULL THEN
                blocked := blocked || format('@extschema@.audit_log (tenant %s)', array_to_string(found_h, ', '));
            END IF;
        END IF;
    END IF;
    IF cardinality(blocked) > 0 THEN
        RAISE EXCEPTION 'erasure of subject % is blocked by a legal hold', subject
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Rows under a legal hold: ' || array_to_string(blocked, '; ') || '.',
                  HINT = 'Nothing was changed. Release the hold with tenantcore.release_hold() when it ends, then erase again.';
    END IF;

    -- deletes first (dependent rows such as sessions), then anonymizations
    FOR s IN SELECT * FROM @extschema@.subject_tables st
              ORDER BY st.on_erase = 'anonymize', st.registered_at, st.rel::text, st.subject_column LOOP
        IF s.on_erase = 'keep' THEN
            -- nothing changes; the summary says how many rows stay linked
            EXECUTE format('SELECT count(*) FROM %s WHERE %I = $1', s.rel, s.subject_column) INTO n USING subject;
            summary := summary || jsonb_build_object(format('%s.%s', s.rel, quote_ident(s.subject_column)),
                                                     jsonb_build_object('action', 'keep', 'rows', 0, 'kept', n));
            CONTINUE;
        ELSIF s.on_erase = 'delete' THEN
            EXECUTE format('DELETE FROM %s WHERE %I = $1', s.rel, s.subject_column) USING subject;
        ELSE
            sql := @extschema@._retention_anonymize_sql(s.rel, s.anonymize);
            EXECUTE format('UPDATE %s SET %s WHERE %I = $1 AND NOT (%s)', s.rel, sql.set_list, s.subject_column, sql.done)
              USING subject;
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        summary := summary || jsonb_build_object(format('%s.%s', s.rel, quote_ident(s.subject_column)),
                                                 jsonb_build_object('action', s.on_erase, 'rows', n));
    END LOOP;

    -- detach the person from audit entries as actor (the entries stay)
    audit_n := NULL;
    IF to_regclass('@extschema@.audit_log') IS NOT NULL THEN
        -- the log is append-only; tenantcore.audit_internal lets the extension's own code through
        PERFORM set_config('tenantcore.audit_internal', 'on', true);
        EXECUTE 'UPDATE @extschema@.audit_log SET actor_id = NULL WHERE actor_id = $1' USING subject;
        GET DIAGNOSTICS audit_n = ROW_COUNT;
        PERFORM set_config('tenantcore.audit_internal', 'off', true);
    END IF;

    INSERT INTO @extschema@.gdpr_requests (subject, kind, completed_at, detail)
    VALUES (subject, 'erasure', clock_timestamp(),
            jsonb_build_object('tables', summary, 'audit_entries_detached', audit_n))
    RETURNING id INTO req;
    RETURN jsonb_build_object('subject', subject, 'request_id', req, 'tables', summary,
                              'audit_entries_detached', audit_n);
END
$$;
COMMENT ON FUNCTION @extschema@.erase_subject(uuid) IS
    'delete or anonymize a person''s rows in every registered table of every tenant (keep: leave them), detach them from audit entries; one transaction, idempotent';

-- create_session: the ttl is also compared as the calendar adds it (now() +
-- ttl): extract(epoch) counts a month as 30 days, so '11 months 35 days 6
-- hours' passed as 365.25 days and gave a session of 370 days.  Both limits
-- apply: at most 365.25 days and at most a calendar year from now; positive
-- both ways (the calendar checks come after the old ones, which keep their
-- lines).  Errors unchanged.  Otherwise as in part 6.
CREATE OR REPLACE FUNCTION @extschema@.create_session("user" uuid DEFAULT @extschema@.current_actor(), ttl interval DEFAULT '30 days',
                                           user_agent text DEFAULT NULL, ip_address inet DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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

-- protected_columns: no temporary tables in the registry.  Any role with TEMP
-- rights owns its temporary tables, and a registered table lets its owner
-- call the protect helpers (_protect_encrypt, _protect_blind_index, ...);
-- the helpers refuse temporary tables too (C).
ALTER POLICY owner_registers ON @extschema@.protected_columns
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE')
                AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                                 WHERE c.oid = rel AND c.relpersistence OPERATOR(pg_catalog.=) 't'));

-- (end of part 10a)
