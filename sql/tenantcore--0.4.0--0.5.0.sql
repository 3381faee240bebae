-- tenantcore 0.4.0 -> 0.5.0: core schema (identity, tenancy, RBAC, sessions,
-- API keys), domain blueprints, built-in retention policies, audit speed-ups
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.5.0'" to load this file. \quit

-- ===========================================================================
-- Part 1: core schema (anchor tables)
--
-- organizations is the tenant itself: its primary key is the tenant id that
-- tenantcore.tenant_id holds.  users is global identity (one person, one
-- e-mail, many organizations): it is a Citus reference table, every other core
-- table is distributed by organization_id.
-- ===========================================================================


CREATE TABLE @extschema@.users (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    email          text        NOT NULL
                   CONSTRAINT users_email_check CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    password_hash  text,
    first_name     text,
    last_name      text,
    status         text        NOT NULL DEFAULT 'active'
                   CONSTRAINT users_status_check
                   CHECK (status IN ('invited', 'active', 'suspended', 'deleted')),
    is_verified    boolean     NOT NULL DEFAULT false,
    last_login_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deleted_at     timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX users_email_key ON @extschema@.users (pg_catalog.lower(email));
CREATE INDEX users_status_idx ON @extschema@.users (status) WHERE deleted_at IS NULL;

CREATE TABLE @extschema@.organizations (
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    name               text        NOT NULL
                       CONSTRAINT organizations_name_check CHECK (pg_catalog.btrim(name) <> ''),
    slug               text        NOT NULL
                       CONSTRAINT organizations_slug_check
                       CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    subscription_tier  text        NOT NULL DEFAULT 'trial'
                       CONSTRAINT organizations_subscription_tier_check
                       CHECK (subscription_tier IN ('trial', 'starter', 'professional', 'enterprise')),
    stripe_customer_id text,
    owner_id           uuid        REFERENCES @extschema@.users (id),
    settings           jsonb       NOT NULL DEFAULT '{}'
                       CONSTRAINT organizations_settings_check CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
    created_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deleted_at         timestamptz,
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);
CREATE INDEX organizations_active_idx ON @extschema@.organizations (id) WHERE deleted_at IS NULL;

-- updated_at_trigger(column) sets the column to now() on every UPDATE;
-- track_updated_at() installs it (one trigger per table, re-run to change
-- the column).
CREATE FUNCTION @extschema@.updated_at_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_updated_at_trigger'
    LANGUAGE C;

CREATE FUNCTION @extschema@.track_updated_at(rel regclass, column_name name DEFAULT 'updated_at')
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

SELECT @extschema@.track_updated_at('@extschema@.users');
SELECT @extschema@.track_updated_at('@extschema@.organizations');

-- ===========================================================================
-- Part 6: lint
--
-- lint() follows materialized views over views: a materialized view stores
-- the rows its owner saw through any chain of views at refresh time, so it is
-- reported whatever views lie between it and an isolated table.  Plain views
-- are reported only when they read an isolated table directly: a
-- security_invoker view checks its base relations as the current user even
-- when an owner-rights view reads it (see CREATE VIEW), and an owner-rights
-- view in the middle of a chain is reported itself.
-- ===========================================================================

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
    ORDER BY 1, 2, 3;
END;
COMMENT ON FUNCTION @extschema@.lint() IS
    'list the holes in tenant isolation: one row per problem with the SQL that fixes it';

-- citus_plan() checks that the isolated tables can be distributed by Citus on
-- their tenant column and prints the statements that would do it: reference
-- tables first (global tables that tenant tables point to), then every
-- isolated table that is not a partition, referenced tables before the tables
-- that reference them.  Problems are rows of kind 'problem', with no statement.
CREATE FUNCTION @extschema@.citus_plan()
RETURNS TABLE (step integer, rel regclass, kind text, detail text, statement text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH RECURSIVE roots AS (
        SELECT t.rel, t.tenant_column, a.attnum AS tenant_attnum, a.attnotnull
          FROM @extschema@.isolated_tables t
          JOIN pg_class c ON c.oid = t.rel
          JOIN pg_attribute a ON a.attrelid = t.rel AND a.attname = t.tenant_column AND NOT a.attisdropped
         WHERE NOT c.relispartition
    ), fks AS (
        SELECT con.conname, con.conrelid AS src, con.confrelid AS dst, con.conkey, con.confkey
          FROM pg_constraint con
         WHERE con.contype = 'f' AND con.conparentid = 0
    ), refs AS (
        -- global tables reached from tenant tables (directly or through other global tables)
        SELECT f.dst AS rel FROM fks f JOIN roots r ON r.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
        UNION
        SELECT f.dst FROM fks f JOIN refs g ON g.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
    ), depth AS (
        -- how many tenant tables a tenant table depends on in a row
        SELECT r.rel, 0 AS n FROM roots r
        UNION
        SELECT f.src, d.n + 1
          FROM fks f JOIN depth d ON d.rel = f.dst JOIN roots r ON r.rel = f.src
         WHERE f.src <> f.dst AND d.n < 50
    ), problems AS (
        SELECT r.rel::regclass AS rel,
               format('tenant column %I is nullable: Citus needs a value in the distribution column of every row',
                      r.tenant_column) AS detail
          FROM roots r WHERE NOT r.attnotnull
        UNION ALL
        SELECT r.rel::regclass,
               format('unique index %s does not include the tenant column %I: Citus can only enforce uniqueness within one tenant',
                      i.indexrelid::regclass, r.tenant_column)
          FROM roots r JOIN pg_index i ON i.indrelid = r.rel
         WHERE i.indisunique AND NOT (r.tenant_attnum = ANY (i.indkey::int2[]))
        UNION ALL
        SELECT r.rel::regclass,
               format('foreign key %I to %s does not pair the tenant columns %I and %I: it can reference another tenant''s row',
                      f.conname, f.dst::regclass, r.tenant_column, d.tenant_column)
          FROM fks f JOIN roots r ON r.rel = f.src JOIN roots d ON d.rel = f.dst
         WHERE NOT EXISTS (SELECT FROM generate_subscripts(f.conkey, 1) k
                            WHERE f.conkey[k] = r.tenant_attnum AND f.confkey[k] = d.tenant_attnum)
        UNION ALL
        SELECT f.src::regclass,
               format('foreign key %I of a table without tenant isolation references tenant table %s: a Citus reference table cannot reference a distributed table',
                      f.conname, f.dst::regclass)
          FROM fks f JOIN roots d ON d.rel = f.dst
         WHERE NOT EXISTS (SELECT FROM roots s WHERE s.rel = f.src)
           AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = f.src AND c.relispartition)
    )
    SELECT * FROM (
    SELECT 1 AS step, g.rel::regclass AS rel, 'reference' AS kind, 'global table referenced by tenant tables' AS detail,
           format('SELECT create_reference_table(%L);', g.rel::regclass) AS statement
      FROM refs g
    UNION ALL
    SELECT 2 + max(d.n), d.rel::regclass, 'distribute',
           format('distributed by %I', r.tenant_column),
           format('SELECT create_distributed_table(%L, %L);', d.rel::regclass, r.tenant_column)
      FROM depth d JOIN roots r ON r.rel = d.rel
     GROUP BY d.rel, r.tenant_column
    UNION ALL
    SELECT NULL, p.rel, 'problem', p.detail, NULL FROM problems p
    ) plan
    ORDER BY plan.step NULLS FIRST, plan.rel::text, plan.detail;
END;
COMMENT ON FUNCTION @extschema@.citus_plan() IS
    'check that isolated tables can be distributed by Citus on their tenant column; the statements that would do it, or the problems';

-- ===========================================================================
-- Part 7: master key rotation
--
-- Every wrapped data key records the id of the master key that wrapped it
-- (NULL for keys wrapped before 0.5.0: the current key).  To rotate the
-- master key, a DBA configures the new key as tenantcore.master_key_file and
-- the old one as tenantcore.previous_master_key_file, reloads, and runs
-- rewrap_tenant_keys(); then removes the previous key from the settings.
-- ===========================================================================

ALTER TABLE @extschema@.tenant_keys ADD COLUMN master_key_id text;
COMMENT ON COLUMN @extschema@.tenant_keys.master_key_id IS
    'id of the master key that wrapped wrapped_key (see master_key_status()); NULL: wrapped before 0.5.0 by the master key configured then';

CREATE FUNCTION @extschema@.rewrap_tenant_keys() RETURNS bigint
    AS 'MODULE_PATHNAME', 'tenantcore_rewrap_tenant_keys'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.rewrap_tenant_keys() IS
    'wrap every tenant data key with the current master key (the last step of a master key rotation); returns how many were rewrapped';
REVOKE EXECUTE ON FUNCTION @extschema@.rewrap_tenant_keys() FROM PUBLIC;

CREATE FUNCTION @extschema@._master_key_id(previous boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'tenantcore_master_key_id'
    LANGUAGE C VOLATILE STRICT;
REVOKE EXECUTE ON FUNCTION @extschema@._master_key_id(boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@.master_key_status()
RETURNS TABLE (wrapped_by text, master_key_id text, data_keys bigint)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH ids AS (
        SELECT @extschema@._master_key_id(false) AS current_id,
               @extschema@._master_key_id(true) AS previous_id
    )
    SELECT CASE WHEN k.master_key_id IS NULL THEN 'current (recorded before 0.5.0)'
                WHEN k.master_key_id = ids.current_id THEN 'current'
                WHEN k.master_key_id = ids.previous_id THEN 'previous'
                ELSE 'not configured' END,
           k.master_key_id, count(*)
      FROM @extschema@.tenant_keys k, ids
     WHERE k.wrapped_key IS NOT NULL
     GROUP BY 1, 2
     ORDER BY 1, 2;
END;
COMMENT ON FUNCTION @extschema@.master_key_status() IS
    'how many tenant data keys each master key wraps: a master key rotation is complete when all are wrapped by the current one';
REVOKE EXECUTE ON FUNCTION @extschema@.master_key_status() FROM PUBLIC;
