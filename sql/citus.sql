-- sql/citus.sql -- Citus: citus_plan(), distribute(), distribute_reference(), distribute_audit_log(),
-- distribute_tenant_keys().
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

-- citus_plan() checks that the isolated tables can be distributed by Citus on
-- their tenant column and prints the statements that would do it: reference
-- tables first, each after those it references (global tables that tenant
-- tables point to, global tables that point to those, and the tenant
-- directory -- an isolated table whose primary key is its tenant column and
-- that other tenant tables reference, such as tenantcore.organizations: one
-- row per tenant, with keys such as a slug that must be unique across
-- tenants), then every other isolated table that is not a partition,
-- referenced tables before the tables that reference them (distribute():
-- create_distributed_table() with the table's audit and encrypting triggers).
-- Problems are rows of kind 'problem', with no statement: what Citus would
-- refuse (a nullable tenant column, a unique index without it, a policy with
-- a subquery, a row trigger on a reference table other than tenantcore's
-- audit and updated_at triggers), and what would let a row reference another
-- tenant's row.
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
        -- global tables reached from tenant tables (directly or through other
        -- global tables), and global tables that reference those or the
        -- tenant directory (a local table cannot reference a reference table)
        SELECT f.dst AS rel FROM fks f JOIN roots r ON r.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
        UNION
        SELECT f.src FROM fks f JOIN directory d ON d.rel = f.dst
         WHERE NOT EXISTS (SELECT FROM roots r WHERE r.rel = f.src)
           AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = f.src AND c.relispartition)
        UNION
        SELECT CASE WHEN f.src = g.rel THEN f.dst ELSE f.src END
          FROM fks f JOIN refs g ON g.rel IN (f.src, f.dst)
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel IN (f.src, f.dst) AND d.rel <> g.rel)
           AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid IN (f.src, f.dst) AND c.relispartition)
    ), rdepth AS (
        -- a reference table after the reference tables it references
        SELECT g.rel, 0 AS n FROM (SELECT rel FROM refs UNION SELECT rel FROM directory) g
        UNION
        SELECT f.src, d.n + 1
          FROM fks f JOIN rdepth d ON d.rel = f.dst
         WHERE f.src <> f.dst AND d.n < 50
           AND f.src IN (SELECT rel FROM refs UNION SELECT rel FROM directory)
    ), depth AS (
        -- how many tenant tables a tenant table depends on in a row, after
        -- every reference table
        SELECT r.rel, coalesce((SELECT max(n) + 1 FROM rdepth), 1) AS n
          FROM roots r WHERE r.rel NOT IN (SELECT rel FROM directory)
        UNION
        SELECT f.src, d.n + 1
          FROM fks f JOIN depth d ON d.rel = f.dst JOIN roots r ON r.rel = f.src
         WHERE f.src <> f.dst AND d.n < 100 AND f.src NOT IN (SELECT rel FROM directory)
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
        UNION ALL
        -- what Citus refuses, or what would go wrong there (0.8.0)
        SELECT p.polrelid::regclass,
               format('policy %I uses a subquery: Citus refuses subqueries in the policies of distributed and reference tables (call a function instead)',
                      p.polname)
          FROM pg_policy p
         WHERE p.polrelid IN (SELECT r.rel FROM roots r UNION SELECT g.rel FROM refs g)
           AND (p.polqual::text LIKE '%{SUBLINK %' OR p.polwithcheck::text LIKE '%{SUBLINK %')
        UNION ALL
        SELECT p.polrelid::regclass,
               format('policy %I is restrictive: Citus 13 creates it on the shards as a permissive policy, which would widen access (fold its condition into the permissive policies)',
                      p.polname)
          FROM pg_policy p
         WHERE p.polrelid IN (SELECT r.rel FROM roots r UNION SELECT g.rel FROM refs g)
           AND NOT p.polpermissive
        UNION ALL
        SELECT t.tgrelid::regclass,
               format('row trigger %I would fire on every node''s copy of a reference table, each on its own (Citus refuses it unless citus.enable_unsafe_triggers is on)',
                      t.tgname)
          FROM pg_trigger t
         WHERE t.tgrelid IN (SELECT g.rel FROM refs g UNION SELECT d.rel FROM directory d)
           AND NOT t.tgisinternal AND (t.tgtype::int & 1) = 1
           -- tenantcore's audit and updated_at triggers are safe there
           -- (distribute_reference()), and so is the one that gives a new
           -- organization its roles (written by the node of its shards)
           AND t.tgfoid NOT IN ('@extschema@.audit_trigger()'::regprocedure,
                                '@extschema@.updated_at_trigger()'::regprocedure,
                                '@extschema@._organization_created()'::regprocedure)
    )
    SELECT * FROM (
    SELECT 1 + (SELECT max(n) FROM rdepth x WHERE x.rel = g.rel) AS step, g.rel::regclass AS rel, 'reference' AS kind,
           CASE WHEN EXISTS (SELECT FROM fks f JOIN roots r ON r.rel = f.src WHERE f.dst = g.rel)
                THEN 'global table referenced by tenant tables'
                ELSE 'global table that references a reference table, or one referenced by such a table' END AS detail,
           format('SELECT @extschema@.distribute_reference(%L);', g.rel::regclass) AS statement
      FROM refs g
    UNION ALL
    SELECT 1 + (SELECT max(n) FROM rdepth x WHERE x.rel = d.rel), d.rel::regclass, 'reference',
           'the tenant directory: one row per tenant, referenced by every tenant table',
           format('SELECT @extschema@.distribute_reference(%L);', d.rel::regclass)
      FROM directory d
    UNION ALL
    SELECT 1 + max(d.n), d.rel::regclass, 'distribute',
           format('distributed by %I', r.tenant_column),
           format('SELECT @extschema@.distribute(%L);', d.rel::regclass)
      FROM depth d JOIN roots r ON r.rel = d.rel
     GROUP BY d.rel, r.tenant_column
    UNION ALL
    SELECT NULL, p.rel, 'problem', p.detail, NULL FROM problems p
    ) plan
    ORDER BY plan.step NULLS FIRST, plan.rel::text, plan.detail;
END;
COMMENT ON FUNCTION @extschema@.citus_plan() IS
    'check that isolated tables can be distributed by Citus on their tenant column; the statements that would do it, or the problems';

COMMENT ON TABLE @extschema@.citus_pending_foreign_keys IS
    'foreign keys that distribute() and distribute_reference() took off a table not yet on the Citus cluster, put back when it is';
REVOKE ALL ON @extschema@.citus_pending_foreign_keys FROM PUBLIC;

-- _citus_hold_foreign_keys takes off the foreign keys that plain local
-- tables (not yet on the cluster) have to rel, keeping their definitions in
-- citus_pending_foreign_keys: Citus refuses to distribute a table that such a
-- table references, and turns such a table into a Citus local table under a
-- new oid when rel becomes a reference table.  Also rel's own foreign keys
-- that include its tenant column and have actions Citus refuses there (ON
-- UPDATE CASCADE, SET NULL, SET DEFAULT; ON DELETE SET NULL, SET DEFAULT):
-- _citus_restore_foreign_keys puts them back without those actions.
CREATE OR REPLACE FUNCTION @extschema@._citus_hold_foreign_keys(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fk record;
BEGIN
    FOR fk IN
        SELECT c.conrelid::regclass AS conrelid, c.conname, c.confrelid::regclass AS confrelid,
               pg_get_constraintdef(c.oid) AS definition
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.conparentid = 0
           AND ((c.confrelid = rel AND c.conrelid <> rel AND @extschema@._citus_table_method(c.conrelid) IS NULL)
                OR (c.conrelid = rel
                    AND (c.confdeltype IN ('n', 'd') OR c.confupdtype IN ('c', 'n', 'd'))
                    AND EXISTS (SELECT FROM @extschema@.isolated_tables t
                                  JOIN pg_attribute a ON a.attrelid = t.rel AND a.attname = t.tenant_column
                                 WHERE t.rel = _citus_hold_foreign_keys.rel AND a.attnum = ANY (c.conkey))))
         ORDER BY 1, 2
    LOOP
        INSERT INTO @extschema@.citus_pending_foreign_keys (conrelid, conname, confrelid, definition)
        VALUES (fk.conrelid, fk.conname, fk.confrelid, fk.definition);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.conrelid, fk.conname);
        -- a table of an extension (tenantcore's core tables) has its copy on
        -- every worker, made by CREATE EXTENSION, with the foreign key: it
        -- goes there too, or putting it back (which Citus propagates) fails
        IF EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = fk.conrelid
                      AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e') THEN
            PERFORM run_command_on_workers(format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', fk.conrelid, fk.conname));
        END IF;
    END LOOP;
END
$$;

-- _citus_restore_foreign_keys puts back the held foreign keys of rel (now on
-- the cluster) whose referenced table is on the cluster too.  The caller
-- switches Citus to one connection per worker before it distributes rel
-- (_citus_prepare_foreign_keys): Citus requires it of a transaction that
-- adds a foreign key to a reference table after distributing a table.
CREATE OR REPLACE FUNCTION @extschema@._citus_restore_foreign_keys(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fk @extschema@.citus_pending_foreign_keys;
BEGIN
    FOR fk IN
        SELECT * FROM @extschema@.citus_pending_foreign_keys p
         WHERE p.conrelid = rel AND @extschema@._citus_table_method(p.confrelid) IS NOT NULL
         ORDER BY p.conname
    LOOP
        -- Citus refuses ON UPDATE CASCADE, SET NULL and SET DEFAULT, and ON
        -- DELETE SET NULL and SET DEFAULT (even of named columns), on a key
        -- that includes the distribution column: without them, a referenced
        -- row cannot change its key or go while it is referenced
        IF @extschema@._citus_table_method(fk.conrelid) = 'h'
           AND fk.definition ~ ' ON (UPDATE (CASCADE|SET NULL|SET DEFAULT)|DELETE SET (NULL|DEFAULT))' THEN
            RAISE NOTICE 'foreign key % of % is put back without its ON UPDATE or ON DELETE SET action, which Citus refuses on a distributed table',
                fk.conname, fk.conrelid;
            fk.definition := regexp_replace(fk.definition,
                                            ' ON (UPDATE (CASCADE|SET NULL|SET DEFAULT)|DELETE SET (NULL|DEFAULT)( \([^)]*\))?)', '', 'g');
        END IF;
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.conrelid, fk.conname, fk.definition);
        DELETE FROM @extschema@.citus_pending_foreign_keys p
         WHERE p.conrelid = fk.conrelid AND p.conname = fk.conname;
    END LOOP;
END
$$;

-- _citus_prepare_foreign_keys: one connection per worker for the rest of the
-- transaction when held foreign keys of rel will be put back.
CREATE OR REPLACE FUNCTION @extschema@._citus_prepare_foreign_keys(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM @extschema@.citus_pending_foreign_keys p WHERE p.conrelid = rel) THEN
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
END
$$;

-- _citus_require raises the error of a server without Citus.
CREATE OR REPLACE FUNCTION @extschema@._citus_require() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF to_regprocedure('pg_catalog.create_distributed_table(regclass,text,citus.distribution_type,text,integer)') IS NULL THEN
        RAISE EXCEPTION 'Citus is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Run CREATE EXTENSION citus on every node first (doc/citus.md).';
    END IF;
END
$$;

-- _citus_check_colocate refuses a table to co-locate with that is not a
-- table distributed by hash on a Citus cluster (func names the caller).
CREATE OR REPLACE FUNCTION @extschema@._citus_check_colocate(colocate_with regclass, func text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF colocate_with IS NULL THEN
        RAISE EXCEPTION '%: colocate_with must not be null', func
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._citus_require();
    IF @extschema@._citus_table_method(colocate_with) IS DISTINCT FROM 'h' THEN
        RAISE EXCEPTION 'table % is not distributed by hash', colocate_with
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Distribute it by its tenant column with tenantcore.distribute() first.';
    END IF;
END
$$;

-- _citus_check_policies refuses a table with a restrictive policy: Citus
-- (13.2) creates the policies of a table on its shards without AS
-- RESTRICTIVE, so there the policy would grant what it should restrict.
CREATE OR REPLACE FUNCTION @extschema@._citus_check_policies(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pol name;
BEGIN
    SELECT p.polname INTO pol FROM pg_policy p WHERE p.polrelid = rel AND NOT p.polpermissive ORDER BY 1 LIMIT 1;
    IF pol IS NOT NULL THEN
        RAISE EXCEPTION 'table % has the restrictive policy %', rel, pol
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Citus creates the policies of a table on its shards as permissive policies: there it would widen access instead of restricting it.',
                  HINT = format('Fold its condition into the permissive policies, e.g. ALTER POLICY tenantcore_isolation ON %s USING (... AND <condition>), and drop it.', rel);
    END IF;
END
$$;

-- _citus_regrant gives the grants of a registry made a reference table to
-- every node: Citus propagates GRANT on its tables, but not the grants a
-- table had before it became one (the delegation of doc/audit.md grants
-- INSERT, UPDATE, DELETE on audited_tables to table owners).
CREATE OR REPLACE FUNCTION @extschema@._citus_regrant(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT a.privilege_type, a.grantee
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = rel AND a.grantee <> c.relowner
         ORDER BY 2, 1
    LOOP
        EXECUTE format('GRANT %s ON %s TO %s', g.privilege_type, rel,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
    END LOOP;
END
$$;

-- distribute_reference makes rel a Citus reference table (a copy on every
-- node: global tables that tenant tables reference), holding back the
-- foreign keys of local tables to it until they are distributed.  The row
-- triggers of tenantcore on it are safe there, though Citus fires them on
-- every node's copy: updated_at_trigger() gives every copy the distributed
-- transaction's time, and the audit trigger writes an entry on the one node
-- that holds the log's shard for the tenant of the change (once the log is
-- distributed; until then writes are refused on the workers).  The audit
-- triggers are off while Citus copies the rows (no change).
CREATE OR REPLACE FUNCTION @extschema@.distribute_reference(rel regclass)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    audited boolean;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'distribute_reference: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._citus_require();
    IF @extschema@._citus_table_method(rel) IS NOT NULL THEN
        RAISE NOTICE 'table % is on the Citus cluster already, skipping', rel;
        RETURN rel;
    END IF;
    IF EXISTS (SELECT FROM @extschema@.isolated_tables t WHERE t.rel = distribute_reference.rel
                AND NOT EXISTS (SELECT FROM @extschema@.citus_plan() p
                                 WHERE p.rel = distribute_reference.rel AND p.kind = 'reference')) THEN
        RAISE EXCEPTION 'table % is isolated by tenant', rel
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Distribute it by its tenant column with tenantcore.distribute().';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.protected_columns p WHERE p.rel = distribute_reference.rel) THEN
        RAISE EXCEPTION 'table % has protected columns', rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Their values are encrypted with the keys of the tenant, which are distributed with the tenants.',
                  HINT = 'Distribute it by its tenant column with tenantcore.distribute(), or unprotect() the columns.';
    END IF;
    PERFORM @extschema@._citus_check_policies(rel);
    audited := EXISTS (SELECT FROM @extschema@.audited_tables a WHERE a.rel = distribute_reference.rel);
    IF audited THEN
        PERFORM @extschema@._audit_drop_triggers(rel);
    END IF;
    PERFORM @extschema@._citus_hold_foreign_keys(rel);
    PERFORM @extschema@._citus_prepare_foreign_keys(rel);
    -- the row triggers that Citus refuses by default (see above)
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    PERFORM create_reference_table(rel);
    PERFORM truncate_local_data_after_distributing_table(rel);
    PERFORM @extschema@._citus_restore_foreign_keys(rel);
    IF audited THEN
        PERFORM @extschema@._audit_install(rel);
    END IF;
    RETURN rel;
END
$$;
COMMENT ON FUNCTION @extschema@.distribute_reference(regclass) IS
    'Citus: make a global table a reference table, holding back the foreign keys of local tables to it until they are distributed';
REVOKE EXECUTE ON FUNCTION @extschema@.distribute_reference(regclass) FROM PUBLIC;

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
    reg            record;
    pending        text;
BEGIN
    PERFORM @extschema@._citus_check_colocate(colocate_with, 'distribute_audit_log');
    IF @extschema@._citus_table_method('@extschema@.audit_log') IS NOT NULL THEN
        RAISE NOTICE 'tenantcore.audit_log is distributed already, skipping';
        RETURN;
    END IF;
    -- the registry becomes a reference table, whose rows every node must
    -- resolve: each audited table of the application on the cluster first
    SELECT string_agg(a.rel::text, ', ' ORDER BY a.rel::text) INTO pending
      FROM @extschema@.audited_tables a
     WHERE NOT a.builtin AND @extschema@._citus_table_method(a.rel) IS DISTINCT FROM 'h'
       AND NOT @extschema@._citus_reference(a.rel);
    IF pending IS NOT NULL THEN
        RAISE EXCEPTION 'audited tables are not distributed yet: %', pending
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The distributed log takes the entries of distributed tables, and its registry is on every node.',
                  HINT = 'Distribute them with tenantcore.distribute() (the last one distributes the log), or stop auditing them.';
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
        -- Citus would copy the rows in binary, oids and all, and fire the
        -- identity trigger on each copy (a new table_id from each node's
        -- oid): the rows go in again as statements, by name, unchanged
        CREATE TEMPORARY TABLE tc_audited_tables ON COMMIT DROP AS SELECT * FROM @extschema@.audited_tables;
        DELETE FROM @extschema@.audited_tables;
        DROP TRIGGER audited_tables_identity ON @extschema@.audited_tables;
        PERFORM create_reference_table('@extschema@.audited_tables');
        FOR reg IN SELECT * FROM pg_temp.tc_audited_tables LOOP
            INSERT INTO @extschema@.audited_tables (rel, exclude_columns, redact_columns, changed_only,
                                                    tenant_column, audited_at, builtin, table_id, rel_name)
            VALUES (reg.rel, reg.exclude_columns, reg.redact_columns, reg.changed_only,
                    reg.tenant_column, reg.audited_at, reg.builtin, reg.table_id, reg.rel_name);
        END LOOP;
        CREATE OR REPLACE TRIGGER audited_tables_identity BEFORE INSERT OR UPDATE ON @extschema@.audited_tables
            FOR EACH ROW EXECUTE FUNCTION @extschema@._audited_tables_identity();
        PERFORM @extschema@._citus_regrant('@extschema@.audited_tables');
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
-- on a Citus cluster: tenantcore.tenant_keys (and tenantcore.audit_reads, the
-- records of decryptions) distributed by organization_id, co-located with a
-- distributed tenant table, and the registry of protected columns made a
-- reference table (every node's encrypting triggers and
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
DECLARE
    reg     record;
    pending text;
BEGIN
    PERFORM @extschema@._citus_check_colocate(colocate_with, 'distribute_tenant_keys');
    IF @extschema@._citus_table_method('@extschema@.tenant_keys') IS NOT NULL THEN
        RAISE NOTICE 'tenantcore.tenant_keys is distributed already, skipping';
        RETURN;
    END IF;
    -- the registry becomes a reference table, whose rows every node must
    -- resolve: each table with protected columns on the cluster first
    SELECT string_agg(DISTINCT p.rel::text, ', ') INTO pending
      FROM @extschema@.protected_columns p
     WHERE @extschema@._citus_table_method(p.rel) IS DISTINCT FROM 'h';
    IF pending IS NOT NULL THEN
        RAISE EXCEPTION 'tables with protected columns are not distributed yet: %', pending
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Their values are encrypted on the workers, and the registry of protected columns is on every node.',
                  HINT = 'Distribute them with tenantcore.distribute() (the last one distributes the keys).';
    END IF;
    -- tenant_keys' statement trigger (every backend drops its key cache when
    -- keys change) comes along to the shards
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    IF @extschema@._citus_table_method('@extschema@.protected_columns') IS NULL THEN
        -- the rows go in again as statements, by name (Citus would copy the
        -- oids of this node to every node)
        CREATE TEMPORARY TABLE tc_protected_columns ON COMMIT DROP AS SELECT * FROM @extschema@.protected_columns;
        DELETE FROM @extschema@.protected_columns;
        PERFORM create_reference_table('@extschema@.protected_columns');
        FOR reg IN SELECT * FROM pg_temp.tc_protected_columns LOOP
            INSERT INTO @extschema@.protected_columns (rel, column_name, encrypted_column, blind_index_column,
                                                       blind_index_purpose, tenant_column, view_name, protected_at,
                                                       rel_name)
            VALUES (reg.rel, reg.column_name, reg.encrypted_column, reg.blind_index_column,
                    reg.blind_index_purpose, reg.tenant_column, reg.view_name, reg.protected_at, reg.rel_name);
        END LOOP;
        PERFORM @extschema@._citus_regrant('@extschema@.protected_columns');
    END IF;
    PERFORM create_distributed_table('@extschema@.tenant_keys', 'organization_id',
                                     colocate_with => colocate_with::text);
    PERFORM truncate_local_data_after_distributing_table('@extschema@.tenant_keys');
    -- the records of reads of protected data go with them: a worker writes
    -- the reads it decrypted into the tenant's shard there (src/audit_reads.c).
    -- Citus needs the tenant column in the primary key.
    IF @extschema@._citus_table_method('@extschema@.audit_reads') IS NULL THEN
        ALTER TABLE @extschema@.audit_reads DROP CONSTRAINT audit_reads_pkey,
            ADD CONSTRAINT audit_reads_pkey PRIMARY KEY (organization_id, id);
        PERFORM create_distributed_table('@extschema@.audit_reads', 'organization_id',
                                         colocate_with => colocate_with::text);
        PERFORM truncate_local_data_after_distributing_table('@extschema@.audit_reads');
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.distribute_tenant_keys(regclass) IS
    'Citus: distribute tenantcore.tenant_keys by tenant, co-located with a distributed tenant table, and make the registry of protected columns a reference table';
REVOKE EXECUTE ON FUNCTION @extschema@.distribute_tenant_keys(regclass) FROM PUBLIC;

-- distribute puts an isolated table on a Citus cluster by its tenant column
-- (on the coordinator, as a superuser): create_distributed_table(), with
-- what tenantcore keeps on the table carried along.  The rows already in the
-- table are copied into the shards by Citus, which fires the shards'
-- triggers: that copy is no change, so the audit and encrypting triggers are
-- taken off for it and installed again on the distributed table (Citus puts
-- them on every shard).  The last audited table to go also distributes the
-- audit log with it (distribute_audit_log()), the last table with protected
-- columns the tenant keys (distribute_tenant_keys()): their registries become
-- reference tables, whose rows every node must resolve.  In between, writes
-- to the audited or protected tables already distributed are refused on the
-- workers (the log or the keys are not there yet): distribute them together.
-- citus_plan() prints a distribute() call for every isolated table, in order.
CREATE OR REPLACE FUNCTION @extschema@.distribute(rel regclass, colocate_with regclass DEFAULT NULL)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant_col name;
    audited    boolean;
    protected  name[];
    col        name;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'distribute: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._citus_require();
    SELECT t.tenant_column INTO tenant_col FROM @extschema@.isolated_tables t WHERE t.rel = distribute.rel;
    IF tenant_col IS NULL THEN
        RAISE EXCEPTION 'table % is not isolated', rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Isolate it with tenantcore.isolate() first: its tenant column is the distribution column.';
    END IF;
    IF @extschema@._citus_table_method(rel) IS NOT NULL THEN
        RAISE NOTICE 'table % is distributed already, skipping', rel;
        RETURN rel;
    END IF;
    IF colocate_with IS NOT NULL THEN
        PERFORM @extschema@._citus_check_colocate(colocate_with, 'distribute');
    END IF;
    PERFORM @extschema@._citus_check_policies(rel);
    audited := EXISTS (SELECT FROM @extschema@.audited_tables a WHERE a.rel = distribute.rel);
    SELECT coalesce(array_agg(p.column_name ORDER BY p.column_name), '{}') INTO protected
      FROM @extschema@.protected_columns p WHERE p.rel = distribute.rel;

    -- the copy into the shards is no change: no entries, no encryption
    IF audited THEN
        PERFORM @extschema@._audit_drop_triggers(rel);
    END IF;
    FOREACH col IN ARRAY protected LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', left('tenantcore_protect_' || col, 63), rel);
    END LOOP;
    PERFORM @extschema@._citus_hold_foreign_keys(rel);
    -- one connection per worker for the whole transaction: it has read the
    -- registries (reference tables on the cluster) and will put foreign keys
    -- to reference tables back; with parallel connections Citus can find the
    -- transaction deadlocked on itself (seen with a long table name, whose
    -- shards Citus names with a hash)
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    PERFORM create_distributed_table(rel, tenant_col::text, colocate_with => coalesce(colocate_with::text, 'default'));
    -- the copied rows: gone from the coordinator's local table
    PERFORM truncate_local_data_after_distributing_table(rel);
    PERFORM @extschema@._citus_restore_foreign_keys(rel);

    -- the last audited table on the cluster takes the log along; until then
    -- the triggers of those distributed before refuse writes on the workers
    IF audited THEN
        IF @extschema@._citus_table_method('@extschema@.audit_log') IS NULL
           AND NOT EXISTS (SELECT FROM @extschema@.audited_tables a
                            WHERE NOT a.builtin AND @extschema@._citus_table_method(a.rel) IS DISTINCT FROM 'h'
                              AND NOT @extschema@._citus_reference(a.rel)) THEN
            PERFORM @extschema@.distribute_audit_log(rel);
        END IF;
        PERFORM @extschema@._audit_install(rel);
    END IF;
    -- the same for the tenant keys and the tables with protected columns
    IF protected <> '{}' THEN
        IF @extschema@._citus_table_method('@extschema@.tenant_keys') IS NULL
           AND NOT EXISTS (SELECT FROM @extschema@.protected_columns p
                            WHERE @extschema@._citus_table_method(p.rel) IS DISTINCT FROM 'h') THEN
            PERFORM @extschema@.distribute_tenant_keys(rel);
        END IF;
        PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
        FOREACH col IN ARRAY protected LOOP
            PERFORM @extschema@._protect_install_trigger(rel, col);
        END LOOP;
    END IF;
    RETURN rel;
END
$$;
COMMENT ON FUNCTION @extschema@.distribute(regclass, regclass) IS
    'Citus: distribute an isolated table by its tenant column, with its audit and encrypting triggers (and the audit log and tenant keys, the first time)';
REVOKE EXECUTE ON FUNCTION @extschema@.distribute(regclass, regclass) FROM PUBLIC;

-- _citus_policy_guard refuses CREATE POLICY ... AS RESTRICTIVE on a table of
-- the Citus cluster (event trigger tenantcore_citus_policies) with the error
-- of _citus_check_policies: Citus (13.2) creates the policy on the shards as
-- a permissive one, where it would widen access; the error rolls the
-- statement back on every node.
CREATE OR REPLACE FUNCTION @extschema@._citus_policy_guard() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    IF @extschema@._citus_worker() THEN
        RETURN;
    END IF;
    FOR rel IN SELECT DISTINCT p.polrelid::regclass
                 FROM pg_event_trigger_ddl_commands() d JOIN pg_policy p ON p.oid = d.objid
                WHERE d.classid = 'pg_policy'::regclass
                  AND @extschema@._citus_table_method(p.polrelid) IS NOT NULL
    LOOP
        PERFORM @extschema@._citus_check_policies(rel);
    END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS tenantcore_citus_policies;
CREATE EVENT TRIGGER tenantcore_citus_policies ON ddl_command_end
    WHEN TAG IN ('CREATE POLICY')
    EXECUTE FUNCTION @extschema@._citus_policy_guard();
