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

-- distribute_audit_log spreads the audit log over a Citus cluster with the
-- tenants: tenantcore.audit_log (and its partitions) distributed by
-- organization_id, co-located with a distributed tenant table, so that each
-- tenant's entries live in the shard that matches its rows' shard, on the
-- same worker, and move with them; the registry of audited tables becomes a
-- reference table (every node checks the identity of the audit triggers on
-- its shards against it).  Then tenantcore.audit() works on distributed
-- tables: their triggers fire on the shards and write the entries there, in
-- the transaction of the change.  Entries without a tenant (global tables)
-- cannot be placed: a log that has some is refused, and a table that is not
-- distributed with the log can no longer be audited (doc/citus.md).
CREATE OR REPLACE FUNCTION @extschema@.distribute_audit_log(colocate_with regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    global_entries bigint;
BEGIN
    IF colocate_with IS NULL THEN
        RAISE EXCEPTION 'distribute_audit_log: colocate_with must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF to_regprocedure('pg_catalog.create_distributed_table(regclass,text,citus.distribution_type,text,integer)') IS NULL THEN
        RAISE EXCEPTION 'Citus is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Run CREATE EXTENSION citus on every node first (doc/citus.md).';
    END IF;
    IF @extschema@._citus_table_method(colocate_with) IS DISTINCT FROM 'h' THEN
        RAISE EXCEPTION 'table % is not distributed by hash', colocate_with
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Distribute it by its tenant column with create_distributed_table() first.';
    END IF;
    IF @extschema@._citus_table_method('@extschema@.audit_log') IS NOT NULL THEN
        RAISE NOTICE 'tenantcore.audit_log is distributed already, skipping';
        RETURN;
    END IF;
    SELECT count(*) INTO global_entries FROM @extschema@.audit_log l WHERE l.organization_id IS NULL;
    IF global_entries > 0 THEN
        RAISE EXCEPTION 'tenantcore.audit_log has % entries without a tenant', global_entries
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A distributed log places every entry with its tenant.',
                  HINT = 'Drop the partitions that hold them (tenantcore.audit_drop_partitions_before()) or distribute before writing such entries.';
    END IF;
    -- the log's and the registry's own guard triggers come along
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    IF @extschema@._citus_table_method('@extschema@.audited_tables') IS NULL THEN
        PERFORM create_reference_table('@extschema@.audited_tables');
        PERFORM truncate_local_data_after_distributing_table('@extschema@.audited_tables');
    END IF;
    PERFORM create_distributed_table('@extschema@.audit_log', 'organization_id',
                                     colocate_with => colocate_with::text);
    -- the copied entries: gone from the coordinator's local table
    PERFORM set_config('tenantcore.audit_internal', 'on', true);
    PERFORM truncate_local_data_after_distributing_table('@extschema@.audit_log');
    PERFORM set_config('tenantcore.audit_internal', 'off', true);
END
$$;
COMMENT ON FUNCTION @extschema@.distribute_audit_log(regclass) IS
    'Citus: distribute tenantcore.audit_log by tenant, co-located with a distributed tenant table, and make the audit registry a reference table';
REVOKE EXECUTE ON FUNCTION @extschema@.distribute_audit_log(regclass) FROM PUBLIC;

-- distribute_tenant_keys puts each tenant's data keys with the tenant's rows
-- on a Citus cluster: tenantcore.tenant_keys distributed by organization_id,
-- co-located with a distributed tenant table, and the registry of protected
-- columns made a reference table (every node's encrypting triggers and
-- decrypting functions check it).  Then tenantcore.protect() works on
-- distributed tables: values are encrypted and decrypted on the worker that
-- holds the row, with the key read from the tenant's shard of tenant_keys on
-- that worker; a tenant's keys never leave the node of its rows, and move
-- with them.  Every node needs the same master key file.
CREATE OR REPLACE FUNCTION @extschema@.distribute_tenant_keys(colocate_with regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF colocate_with IS NULL THEN
        RAISE EXCEPTION 'distribute_tenant_keys: colocate_with must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF to_regprocedure('pg_catalog.create_distributed_table(regclass,text,citus.distribution_type,text,integer)') IS NULL THEN
        RAISE EXCEPTION 'Citus is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Run CREATE EXTENSION citus on every node first (doc/citus.md).';
    END IF;
    IF @extschema@._citus_table_method(colocate_with) IS DISTINCT FROM 'h' THEN
        RAISE EXCEPTION 'table % is not distributed by hash', colocate_with
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Distribute it by its tenant column with create_distributed_table() first.';
    END IF;
    IF @extschema@._citus_table_method('@extschema@.tenant_keys') IS NOT NULL THEN
        RAISE NOTICE 'tenantcore.tenant_keys is distributed already, skipping';
        RETURN;
    END IF;
    -- tenant_keys' statement trigger (every backend drops its key cache when
    -- keys change) comes along to the shards
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    IF @extschema@._citus_table_method('@extschema@.protected_columns') IS NULL THEN
        PERFORM create_reference_table('@extschema@.protected_columns');
        PERFORM truncate_local_data_after_distributing_table('@extschema@.protected_columns');
    END IF;
    PERFORM create_distributed_table('@extschema@.tenant_keys', 'organization_id',
                                     colocate_with => colocate_with::text);
    PERFORM truncate_local_data_after_distributing_table('@extschema@.tenant_keys');
END
$$;
COMMENT ON FUNCTION @extschema@.distribute_tenant_keys(regclass) IS
    'Citus: distribute tenantcore.tenant_keys by tenant, co-located with a distributed tenant table, and make the registry of protected columns a reference table';
REVOKE EXECUTE ON FUNCTION @extschema@.distribute_tenant_keys(regclass) FROM PUBLIC;
