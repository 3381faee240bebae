-- sql/lint.sql -- lint(): what is wrong with the setup, and the statement that fixes it.
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

-- Keys of isolated tables without the tenant column.  Row level security
-- does not apply to constraints: a unique key without the tenant column
-- refuses a tenant's value because another tenant has it (an existence
-- oracle: 23505 tells the tenant so), and a foreign key to a tenant table
-- without the tenant column accepts a reference to another tenant's row (and
-- its 23503 tells whether the row exists).  _tenant_key_problems lists them
-- for one table, with the statement that fixes each: the key becomes
-- (tenant column, ...), the foreign key composite.  Keys a partition inherits
-- are reported on the partitioned table only.
CREATE OR REPLACE FUNCTION @extschema@._tenant_key_problems(rel regclass, tenant_column name)
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

-- lint() reports what is wrong with the setup, one row per problem with the
-- statement that fixes it: isolated tables whose policy, row level security
-- or partitions disagree with the registry, other permissive policies,
-- owners that can log in, keys of isolated tables without the tenant column
-- (_tenant_key_problems), settings stored for roles and databases, and the
-- checks of the other parts (protected columns, audit, retention, keys).
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
