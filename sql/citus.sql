-- sql/citus.sql -- Citus: citus_plan().
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

-- citus_plan() checks that the isolated tables can be distributed by Citus on
-- their tenant column and prints the statements that would do it: reference
-- tables first (global tables that tenant tables point to, and the tenant
-- directory -- an isolated table whose primary key is its tenant column and
-- that other tenant tables reference, such as tenantcore.organizations: one
-- row per tenant, with keys such as a slug that must be unique across
-- tenants), then every other isolated table that is not a partition,
-- referenced tables before the tables that reference them.  Problems are rows
-- of kind 'problem', with no statement.
CREATE OR REPLACE FUNCTION @extschema@.citus_plan()
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
    ), directory AS (
        -- isolated tables keyed by their tenant column that other tenant tables
        -- reference by tenant: the list of tenants, a reference table
        SELECT r.rel FROM roots r
         WHERE EXISTS (SELECT FROM pg_constraint pk
                        WHERE pk.conrelid = r.rel AND pk.contype = 'p' AND pk.conkey = ARRAY[r.tenant_attnum])
           AND EXISTS (SELECT FROM fks f JOIN roots s ON s.rel = f.src
                        WHERE f.dst = r.rel AND f.src <> r.rel
                          AND f.conkey = ARRAY[s.tenant_attnum] AND f.confkey = ARRAY[r.tenant_attnum])
    ), refs AS (
        -- global tables reached from tenant tables (directly or through other global tables)
        SELECT f.dst AS rel FROM fks f JOIN roots r ON r.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
        UNION
        SELECT f.dst FROM fks f JOIN refs g ON g.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
    ), depth AS (
        -- how many tenant tables a tenant table depends on in a row
        SELECT r.rel, 0 AS n FROM roots r WHERE r.rel NOT IN (SELECT rel FROM directory)
        UNION
        SELECT f.src, d.n + 1
          FROM fks f JOIN depth d ON d.rel = f.dst JOIN roots r ON r.rel = f.src
         WHERE f.src <> f.dst AND d.n < 50 AND f.src NOT IN (SELECT rel FROM directory)
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
           AND r.rel NOT IN (SELECT rel FROM directory)
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
           AND f.dst NOT IN (SELECT rel FROM directory)
           AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = f.src AND c.relispartition)
    )
    SELECT * FROM (
    SELECT 1 AS step, g.rel::regclass AS rel, 'reference' AS kind, 'global table referenced by tenant tables' AS detail,
           format('SELECT create_reference_table(%L);', g.rel::regclass) AS statement
      FROM refs g
    UNION ALL
    SELECT 1, d.rel::regclass, 'reference', 'the tenant directory: one row per tenant, referenced by every tenant table',
           format('SELECT create_reference_table(%L);', d.rel::regclass)
      FROM directory d
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
