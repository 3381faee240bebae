-- sql/audit.sql -- the audit trail: audit(), the partitioned log, history, record ids, seals.
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

COMMENT ON TABLE @extschema@.audit_log IS
    'one row per changed row of an audited table (tenantcore.audit); partitioned by month';
REVOKE ALL ON @extschema@.audit_log, @extschema@.audit_log_default, @extschema@.audit_log_id_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.audit_log TO PUBLIC;
COMMENT ON COLUMN @extschema@.audit_log.table_id IS
    'stable identity of the audited table (audited_tables.table_id); unlike table_name, unchanged by a rename';
COMMENT ON COLUMN @extschema@.audit_log.record_id IS
    'stable id of the audited row: the same in every entry of the row while its primary key stays (tenantcore.audit_record_id)';

-- _audit_log_guard refuses UPDATE, DELETE and TRUNCATE of the log, also for
-- its owner, unless the extension's own maintenance code (which runs as the
-- extension owner and sets the superuser-only tenantcore.audit_internal)
-- moves rows between partitions.
CREATE OR REPLACE FUNCTION @extschema@._audit_log_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_setting('tenantcore.audit_internal', true) = 'on' THEN
        IF TG_OP = 'UPDATE' THEN
            RETURN NEW;
        ELSIF TG_LEVEL = 'ROW' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'tenantcore.audit_log is append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('%s on %I.%I was refused.', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME),
              HINT = 'Old entries are removed by dropping whole partitions with tenantcore.audit_drop_partitions_before().';
END
$$;

-- _audit_internal switches tenantcore.audit_internal (superuser only) on or
-- off for the rest of the transaction: on a Citus cluster with a distributed
-- log also on the workers, where the guard of the log's shards reads it (a
-- SET LOCAL that Citus propagates to every node of the transaction, through
-- the extension owner's connections).
CREATE OR REPLACE FUNCTION @extschema@._audit_internal(enable boolean) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    prev text;
BEGIN
    IF @extschema@._citus_table_method('@extschema@.audit_log') IS NULL THEN
        PERFORM set_config('tenantcore.audit_internal', CASE WHEN enable THEN 'on' ELSE 'off' END, true);
        RETURN;
    END IF;
    prev := current_setting('citus.propagate_set_commands');
    PERFORM set_config('citus.propagate_set_commands', 'local', true);
    IF enable THEN
        SET LOCAL tenantcore.audit_internal = on;
    ELSE
        SET LOCAL tenantcore.audit_internal = off;
    END IF;
    PERFORM set_config('citus.propagate_set_commands', prev, true);
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._audit_internal(boolean) FROM PUBLIC;

-- _audit_partition_name is the name of the monthly partition holding ts (UTC months).
CREATE OR REPLACE FUNCTION @extschema@._audit_partition_name(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN 'audit_log_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMM');

CREATE OR REPLACE FUNCTION @extschema@.audit_drop_partitions_before(cutoff timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part record;
BEGIN
    IF cutoff IS NULL THEN
        RAISE EXCEPTION 'audit_drop_partitions_before: cutoff must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOR part IN
        SELECT c.oid::regclass AS rel, c.relname,
               (to_timestamp(substr(c.relname, 12), 'YYYYMM')::timestamp AT TIME ZONE 'UTC') + interval '1 month' AS upper_bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = '@extschema@.audit_log'::regclass
           AND c.relname ~ '^audit_log_p[0-9]{6}$'
         ORDER BY c.relname
    LOOP
        -- a month is dropped only when all of it lies before the cutoff
        CONTINUE WHEN (part.upper_bound AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' > cutoff;
        EXECUTE format('ALTER TABLE @extschema@.audit_log DETACH PARTITION %s', part.rel);
        EXECUTE format('DROP TABLE %s', part.rel);
        RETURN NEXT part.relname::text;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.audit_drop_partitions_before(timestamptz) IS
    'retention: drop the monthly audit_log partitions that end before cutoff (never deletes single rows)';

COMMENT ON TABLE @extschema@.audited_tables IS 'tables whose changes are written to tenantcore.audit_log (tenantcore.audit)';
REVOKE ALL ON @extschema@.audited_tables FROM PUBLIC;
GRANT SELECT ON @extschema@.audited_tables TO PUBLIC;
COMMENT ON COLUMN @extschema@.audited_tables.table_id IS
    'stable identity of the audited table in its log entries (audit_log.table_id; kept across renames and restores)';

CREATE OR REPLACE FUNCTION @extschema@.audit_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_audit_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION @extschema@.audit_trigger() IS
    'trigger installed by tenantcore.audit(): writes OLD and NEW as JSONB to tenantcore.audit_log';
REVOKE EXECUTE ON FUNCTION @extschema@.audit_trigger() FROM PUBLIC;

-- _audit_check raises the error that explains why rel cannot be audited
-- with these settings, if it cannot.
CREATE OR REPLACE FUNCTION @extschema@._audit_check(rel regclass, exclude text[], redact text[], func text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c      pg_class;
    col    text;
    pkcols text[];
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION '%: table must not be null', func USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation with OID % does not exist', rel::oid USING ERRCODE = 'undefined_table';
    END IF;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Only ordinary and partitioned tables can be audited.';
    END IF;
    IF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot audit temporary table "%"', rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'A temporary table is private to one session and vanishes with it.';
    END IF;
    IF c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                          '@extschema@'::regnamespace) THEN
        RAISE EXCEPTION 'cannot audit "%": it belongs to a system or extension schema', rel
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_has_role(current_user, c.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', rel
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.' || func || '() as the owner of the table or a superuser.';
    END IF;
    IF func <> 'audit' THEN
        RETURN;
    END IF;
    IF exclude IS NULL OR redact IS NULL OR array_position(exclude, NULL) IS NOT NULL
       OR array_position(redact, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'audit: exclude and redact must not be null or contain nulls'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass ''{}'' for no columns.';
    END IF;
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO pkcols
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = rel AND i.indisprimary;
    IF pkcols IS NULL THEN
        RAISE EXCEPTION 'table % has no primary key', rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The audit log identifies each row by its primary key.',
                  HINT = format('Add one, e.g. ALTER TABLE %s ADD PRIMARY KEY (id), then call tenantcore.audit() again.', rel);
    END IF;
    FOREACH col IN ARRAY exclude || redact LOOP
        IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = col
                          AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, rel
                USING ERRCODE = 'undefined_column',
                      HINT = 'exclude and redact name columns of the audited table.';
        END IF;
        IF col = ANY (pkcols) THEN
            RAISE EXCEPTION 'primary key column "%" of relation "%" cannot be excluded or redacted', col, rel
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'The audit log identifies each row by its primary key.';
        END IF;
    END LOOP;
    FOREACH col IN ARRAY exclude LOOP
        IF col = ANY (redact) THEN
            RAISE EXCEPTION 'column "%" is both excluded and redacted', col
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'An excluded column is left out; a redacted one is kept with its value hidden. Choose one.';
        END IF;
    END LOOP;
END
$$;

-- _audit_tenant_column is the column whose value is the tenant of a row of
-- rel: the isolation column, else a uuid column organization_id, else none.
CREATE OR REPLACE FUNCTION @extschema@._audit_tenant_column(rel regclass) RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT t.tenant_column FROM @extschema@.isolated_tables t WHERE t.rel = _audit_tenant_column.rel),
                (SELECT a.attname FROM pg_attribute a
                  WHERE a.attrelid = _audit_tenant_column.rel AND a.attname = 'organization_id'
                    AND a.atttypid = 'uuid'::regtype AND a.attnum > 0 AND NOT a.attisdropped));

CREATE OR REPLACE FUNCTION @extschema@.audit(rel regclass, exclude text[] DEFAULT '{}', redact text[] DEFAULT '{}',
                                  changed_only boolean DEFAULT true)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    excluded text[];
    redacted text[];
BEGIN
    PERFORM @extschema@._audit_check(rel, exclude, redact, 'audit');
    IF changed_only IS NULL THEN
        RAISE EXCEPTION 'audit: changed_only must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT FROM pg_partition_ancestors(rel) a JOIN @extschema@.audited_tables t ON t.rel = a.relid
                WHERE a.relid <> audit.rel) THEN
        RAISE EXCEPTION 'table % is a partition of an audited table', rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Configure the partitioned table instead; its settings apply to every partition.';
    END IF;
    PERFORM @extschema@._audit_citus_prepare(rel, true);
    -- plain values: on a Citus cluster the registry is a reference table,
    -- whose INSERT takes no subquery
    SELECT coalesce(array_agg(DISTINCT e ORDER BY e), '{}') INTO excluded FROM unnest(exclude) e;
    SELECT coalesce(array_agg(DISTINCT r ORDER BY r), '{}') INTO redacted FROM unnest(redact) r;
    INSERT INTO @extschema@.audited_tables AS t (rel, exclude_columns, redact_columns, changed_only, tenant_column)
    VALUES (rel, excluded, redacted, changed_only, @extschema@._audit_tenant_column(rel))
    ON CONFLICT ON CONSTRAINT audited_tables_pkey DO UPDATE
       SET exclude_columns = EXCLUDED.exclude_columns, redact_columns = EXCLUDED.redact_columns,
           changed_only = EXCLUDED.changed_only, tenant_column = EXCLUDED.tenant_column;
    PERFORM @extschema@._audit_install(rel);
    -- make sure the log has partitions for this month and the next ones
    IF NOT @extschema@._creating_extension()
       AND has_function_privilege('@extschema@.audit_maintain(integer)', 'EXECUTE') THEN
        PERFORM @extschema@.audit_maintain();
    END IF;
    RETURN rel;
END
$$;
COMMENT ON FUNCTION @extschema@.audit(regclass, text[], text[], boolean) IS
    'write every change of a table (and its partitions) to tenantcore.audit_log; idempotent, re-configures';

-- _audit_drop_triggers removes the audit triggers of rel and its partitions
-- (unaudit(); distribute() until the table is distributed).
CREATE OR REPLACE FUNCTION @extschema@._audit_drop_triggers(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part regclass;
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS tenantcore_audit ON %s', rel);
    FOREACH part IN ARRAY @extschema@._partition_tree(rel) LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS tenantcore_audit_truncate ON %s', part);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.unaudit(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'unaudit: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.audited_tables t WHERE t.rel = unaudit.rel) THEN
        RAISE NOTICE 'table % is not audited, skipping', rel;
        RETURN;
    END IF;
    PERFORM @extschema@._audit_check(rel, NULL, NULL, 'unaudit');
    PERFORM @extschema@._audit_drop_triggers(rel);
    DELETE FROM @extschema@.audited_tables t WHERE t.rel = unaudit.rel;
END
$$;
COMMENT ON FUNCTION @extschema@.unaudit(regclass) IS
    'stop auditing a table; its entries stay in the log';
-- A DBA installs auditing.  To let another role do it for the tables it
-- owns, grant it EXECUTE on audit(), unaudit() and audit_trigger() and
-- INSERT, UPDATE, DELETE on audited_tables.
-- (_audit_install() only recreates the triggers the registry describes, which
-- needs ownership of the table.)
REVOKE EXECUTE ON FUNCTION @extschema@.audit(regclass, text[], text[], boolean),
                           @extschema@.unaudit(regclass) FROM PUBLIC;

-- Event trigger: keep the audit settings in step with the tables: a renamed
-- excluded or redacted column keeps its setting under its new name (the
-- trigger arguments name columns), a new partition of an audited table gets
-- the TRUNCATE trigger, a dropped column or table is forgotten.
CREATE OR REPLACE FUNCTION @extschema@._audit_on_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cmd      record;
    cfg      @extschema@.audited_tables;
    newname  text;
    missing  text[];
    root     regclass;
    part     regclass;
BEGIN
    -- a Citus worker: DDL of shards and shells, kept in step by the coordinator
    IF @extschema@._citus_worker() THEN
        RETURN;
    END IF;
    FOR cmd IN SELECT d.objid, d.objsubid, d.object_type, d.command_tag FROM pg_event_trigger_ddl_commands() d
                WHERE d.classid = 'pg_class'::regclass
    LOOP
        -- the audited root of the table (itself, or an audited ancestor)
        SELECT t.rel INTO root
          FROM (SELECT cmd.objid::regclass, 0::bigint
                UNION ALL
                SELECT p.relid, p.depth FROM pg_partition_ancestors(cmd.objid) WITH ORDINALITY p(relid, depth)) a(relid, depth)
          JOIN @extschema@.audited_tables t ON t.rel = a.relid
         ORDER BY a.depth DESC LIMIT 1;
        CONTINUE WHEN root IS NULL;
        SELECT * INTO cfg FROM @extschema@.audited_tables t WHERE t.rel = root;
        SELECT array_agg(c) INTO missing
          FROM unnest(cfg.exclude_columns || cfg.redact_columns) c
         WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = root AND a.attname = c
                              AND a.attnum > 0 AND NOT a.attisdropped);
        IF cmd.object_type = 'table column' AND cmd.objid = root::oid AND cardinality(missing) = 1 THEN
            -- RENAME COLUMN: the one configured name that vanished is the old name
            SELECT a.attname INTO newname FROM pg_attribute a WHERE a.attrelid = root AND a.attnum = cmd.objsubid;
            UPDATE @extschema@.audited_tables t
               SET exclude_columns = array_replace(t.exclude_columns, missing[1], newname),
                   redact_columns = array_replace(t.redact_columns, missing[1], newname)
             WHERE t.rel = root;
            PERFORM @extschema@._audit_install(root);
        ELSIF cardinality(missing) > 0 THEN
            -- dropped columns: nothing left to exclude or redact
            UPDATE @extschema@.audited_tables t
               SET exclude_columns = ARRAY(SELECT x FROM unnest(t.exclude_columns) x WHERE x <> ALL (missing)),
                   redact_columns = ARRAY(SELECT x FROM unnest(t.redact_columns) x WHERE x <> ALL (missing))
             WHERE t.rel = root;
            PERFORM @extschema@._audit_install(root);
        ELSIF EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = root AND g.tgname = 'tenantcore_audit') THEN
            -- a new or attached partition needs its own TRUNCATE trigger (a
            -- restore, which creates the triggers itself, gets here only
            -- before the audited table has its trigger back)
            FOREACH part IN ARRAY @extschema@._partition_tree(root) LOOP
                IF part <> root AND NOT EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = part
                                                   AND g.tgname = 'tenantcore_audit_truncate') THEN
                    EXECUTE format('CREATE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON %s '
                                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger()', part);
                END IF;
            END LOOP;
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._audit_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped oid[];
    ids     uuid[];
BEGIN
    -- a Citus worker: DDL of shards and shells, kept in step by the coordinator
    IF @extschema@._citus_worker() THEN
        RETURN;
    END IF;
    SELECT array_agg(d.objid) INTO dropped FROM pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0;
    IF dropped IS NULL THEN
        RETURN;
    END IF;
    -- by identity, not by oid: on a Citus cluster the registry is a reference
    -- table, and each node has its own oids (read here on this node)
    SELECT array_agg(t.table_id) INTO ids FROM @extschema@.audited_tables t WHERE t.rel::oid = ANY (dropped);
    IF ids IS NOT NULL THEN
        DELETE FROM @extschema@.audited_tables t WHERE t.table_id = ANY (ids);
    END IF;
END
$$;

DROP EVENT TRIGGER IF EXISTS tenantcore_audit_ddl;
CREATE EVENT TRIGGER tenantcore_audit_ddl ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION @extschema@._audit_on_ddl_command_end();

-- the registries' names of renamed tables (sql/context.sql)
DROP EVENT TRIGGER IF EXISTS tenantcore_registry_names;
CREATE EVENT TRIGGER tenantcore_registry_names ON ddl_command_end
    -- ALTER INDEX/SEQUENCE/VIEW/... RENAME renames a table too
    WHEN TAG IN ('ALTER TABLE', 'ALTER SCHEMA', 'ALTER INDEX', 'ALTER SEQUENCE', 'ALTER VIEW',
                 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE')
    EXECUTE FUNCTION @extschema@._registry_names_on_ddl();

DROP EVENT TRIGGER IF EXISTS tenantcore_audit_forget_dropped;
CREATE EVENT TRIGGER tenantcore_audit_forget_dropped ON sql_drop
    EXECUTE FUNCTION @extschema@._audit_on_sql_drop();

-- _audit_prepare_partition gives a new partition its indexes and protects it
-- like the parent: RLS with no policy (so it shows nothing when reached
-- directly) and the TRUNCATE guard.
CREATE OR REPLACE FUNCTION @extschema@._audit_prepare_partition(part regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a partition of a distributed log (Citus) is distributed with it; its
    -- guard trigger reaches the shards only with Citus's consent
    IF @extschema@._citus_table_method(part) IS NOT NULL THEN
        PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    END IF;
    PERFORM @extschema@._audit_partition_indexes(part);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', part);
    EXECUTE format('CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_log_guard()', part);
END
$$;

-- history() and row_as_of() take the primary key of the row as JSONB.  0.6.0
-- compared it with the stored key as given, so a key without the tenant
-- column of a (organization_id, id) key, a misspelled column or "1" for a
-- number found nothing, silently.  _audit_key checks the key against the
-- table's primary key: a missing tenant column is the current tenant, values
-- are converted to the column's type, anything else is an error that names
-- the key columns.
CREATE OR REPLACE FUNCTION @extschema@._audit_key(rel regclass, pk jsonb, func text) RETURNS jsonb
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

-- schedule_retention() and unschedule_retention().  0.6.0 said "pg_cron is
-- not installed in database ..." with a hint about shared_preload_libraries
-- in every case.  _cron_check names what is missing: pg_cron not loaded, the
-- extension not created in the database named by cron.database_name, or a
-- call from another database (pg_cron's functions exist only in that one),
-- with the statements to run.  schedule_retention() also schedules
-- audit_maintain() daily, so the audit log's monthly partitions are made
-- without a hidden step.
CREATE OR REPLACE FUNCTION @extschema@._cron_audit_job_name(database name) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'tenantcore-audit-maintain-' || database;
COMMENT ON FUNCTION @extschema@._cron_audit_job_name(name) IS
    'the name of the pg_cron job of tenantcore.audit_maintain() for a database';

-- _audit_table_id proposes the identity of a newly audited table: derived
-- from its name, so the extension's own tables get the same one on every
-- install (they are audited again by CREATE EXTENSION on restore); random
-- when another audited table (renamed since) has that identity already.
CREATE OR REPLACE FUNCTION @extschema@._audit_table_id(rel regclass) RETURNS uuid
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

-- _audited_tables_identity: SECURITY DEFINER, so audit() works for
-- a delegated owner (_audit_table_id() is not executable by PUBLIC; 0.7.0
-- failed with "permission denied for function _audit_table_id"); a new row
-- always gets the derived identity unless a dump is being loaded
-- (_restoring(): row_security off, which only a role that bypasses row
-- security can write with, and the login role a member of the extension
-- owner; a restore loads the dumped identities), so an owner
-- cannot register its table under the identity of another table's entries;
-- and it fires on UPDATE too: a row's table, identity and builtin flag never
-- change (the log's entries and the triggers' 'table:' arguments hold them).
CREATE OR REPLACE FUNCTION @extschema@._audited_tables_identity() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.rel IS DISTINCT FROM OLD.rel OR NEW.table_id IS DISTINCT FROM OLD.table_id
           OR NEW.builtin IS DISTINCT FROM OLD.builtin THEN
            RAISE EXCEPTION 'the table, table_id and builtin of an audited table cannot be changed'
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('Table %s keeps its identity %s in the audit log.', OLD.rel, OLD.table_id),
                      HINT = 'Call tenantcore.audit() to change the settings of a table.';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.table_id IS NULL OR NOT @extschema@._restoring() THEN
        NEW.table_id := @extschema@._audit_table_id(NEW.rel);
    END IF;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._audited_tables_identity() FROM PUBLIC;

-- _audit_record_id(table_id, pk) is the record id the trigger computes.
CREATE OR REPLACE FUNCTION @extschema@._audit_record_id(table_id uuid, pk jsonb) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_audit_record_id'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._audit_record_id(uuid, jsonb) IS
    'the record id of the row with primary key pk (JSONB as the audit log stores it) of the audited table table_id';

-- _audit_citus_prepare checks that rel can be audited on a Citus cluster and
-- lets Citus take its triggers: a distributed table (its triggers fire on its
-- shards, on the workers, and write to the log's co-located shard there), or
-- a reference table (its triggers fire on every node's copy; the node that
-- holds the shard of the log for the tenant of the change writes the entry),
-- for audit() only once the log is distributed (log_required; distribute()
-- puts the triggers back on a table it distributes before the log is, and
-- they refuse writes until it is); once the log is distributed, no table
-- that is not.  Nothing on a server without Citus.
CREATE OR REPLACE FUNCTION @extschema@._audit_citus_prepare(rel regclass, log_required boolean) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF @extschema@._citus_table_method(rel) IS NOT NULL THEN
        IF @extschema@._citus_table_method(rel) <> 'h' AND NOT @extschema@._citus_reference(rel) THEN
            RAISE EXCEPTION 'table % is a Citus local table', rel
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'Its audit entries would be written on the coordinator, which holds no shard of the distributed log.',
                      HINT = 'Audit tables distributed by their tenant column, or reference tables (doc/citus.md).';
        END IF;
        IF log_required AND @extschema@._citus_table_method('@extschema@.audit_log') IS DISTINCT FROM 'h' THEN
            RAISE EXCEPTION 'table % is distributed, but tenantcore.audit_log is not', rel
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('Distribute the log with its tenants first: SELECT tenantcore.distribute_audit_log(%L);', rel::text);
        END IF;
        PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    ELSIF @extschema@._citus_table_method('@extschema@.audit_log') IS NOT NULL THEN
        RAISE EXCEPTION 'table % is not distributed, and tenantcore.audit_log is', rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The distributed log holds the entries of distributed tables co-located with it.',
                  HINT = 'Distribute the table by its tenant column with colocate_with => ''tenantcore.audit_log'' first.';
    END IF;
END
$$;

-- _audit_install (re)creates the triggers of rel from its audited_tables row.
-- The triggers carry the table identity ('table:<uuid>'); the TRUNCATE
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
    PERFORM @extschema@._audit_citus_prepare(rel, false);
    SELECT string_agg(format('%L', a), ', ') INTO args
      FROM (SELECT CASE WHEN cfg.changed_only THEN 'changed_only' ELSE 'full_rows' END
            UNION ALL SELECT 'table:' || cfg.table_id
            UNION ALL SELECT 'tenant:' || cfg.tenant_column WHERE cfg.tenant_column IS NOT NULL
            UNION ALL SELECT 'exclude:' || e FROM unnest(cfg.exclude_columns) e
            UNION ALL SELECT 'redact:' || r FROM unnest(cfg.redact_columns) r) s(a);
    -- CREATE OR REPLACE: on a Citus cluster the statement reaches the
    -- workers, where the extension's own tables have their triggers already
    -- (CREATE EXTENSION made them there too).  The extension's own tables are
    -- loaded with their log by a restore: no second entry then (_restoring(),
    -- as _core_table() installed it).
    EXECUTE format('CREATE OR REPLACE TRIGGER tenantcore_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW %sEXECUTE FUNCTION @extschema@.audit_trigger(%s)', rel,
                   CASE WHEN cfg.builtin THEN 'WHEN (NOT @extschema@._restoring()) ' ELSE '' END, args);
    EXECUTE format('CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger(%L)', rel, 'table:' || cfg.table_id);
    -- statement triggers are not inherited: every table of the tree gets one
    FOREACH part IN ARRAY @extschema@._partition_tree(rel) LOOP
        IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = part AND tgname = 'tenantcore_audit_truncate') THEN
            EXECUTE format('CREATE OR REPLACE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger()', part);
        END IF;
    END LOOP;
END
$$;

-- _audit_partition_indexes creates the indexes of one partition of the log
-- (names chosen by the server, which never collide): BRIN on
-- (id, occurred_at); a hash index on record_id (replacing the one on pk of
-- 0.4.0-0.6.0: history() and row_as_of() look up by
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
REVOKE EXECUTE ON FUNCTION @extschema@._audit_partition_indexes(regclass) FROM PUBLIC;

-- audit_record_id(rel, pk) is the record id of a row (key as in history()).
CREATE OR REPLACE FUNCTION @extschema@.audit_record_id(rel regclass, pk jsonb) RETURNS uuid
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
CREATE OR REPLACE FUNCTION @extschema@.audit_by_actor(actor uuid, since timestamptz DEFAULT '-infinity',
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

-- _audit_settled_before returns the id below which no running or prepared
-- transaction can still commit an audit entry on this node
-- (src/audit_ids.c).  SECURITY DEFINER: it reads the log's sequence.
CREATE OR REPLACE FUNCTION @extschema@._audit_settled_before() RETURNS bigint
    AS 'MODULE_PATHNAME', 'tenantcore_audit_settled_before'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@._audit_settled_before() IS
    'the id below which every audit entry of this node is settled: no running or prepared transaction can still commit one';

-- audit_export returns the current tenant's entries after an id as JSON
-- lines for a SIEM: one JSON object per entry, in id order, at most
-- max_entries; the next call passes the last id it got.  It stops before the
-- first id a transaction still running (or prepared) holds, so a later commit
-- never lands below an id already returned.  VOLATILE: the entries are read
-- with a snapshot taken after that id is found.
CREATE OR REPLACE FUNCTION @extschema@.audit_export(after_id bigint DEFAULT 0, max_entries integer DEFAULT 10000)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant uuid := @extschema@.current_tenant();
    settled bigint;
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
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'audit_export() must run at isolation level read committed, not %', current_setting('transaction_isolation')
            USING ERRCODE = 'invalid_transaction_state',
                  DETAIL = 'It reads the entries with a snapshot taken after it finds the first id a running transaction holds.';
    END IF;
    IF @extschema@._citus_table_method('@extschema@.audit_log') IS NULL THEN
        settled := @extschema@._audit_settled_before();
    ELSE
        -- on the node that holds the tenant's entries (Citus routes the
        -- query there; no entry yet: nothing to export)
        SELECT @extschema@._audit_settled_before() INTO settled
          FROM @extschema@.audit_log l WHERE l.organization_id = tenant LIMIT 1;
    END IF;
    RETURN QUERY
        SELECT jsonb_build_object('id', l.id, 'organization_id', l.organization_id, 'occurred_at', l.occurred_at,
                                  'txid', l.txid::text, 'table_id', l.table_id, 'table_name', l.table_name,
                                  'record_id', l.record_id, 'operation', l.operation, 'pk', l.pk,
                                  'old_row', l.old_row, 'new_row', l.new_row, 'changed_columns', l.changed_columns,
                                  'actor_id', l.actor_id, 'db_user', l.db_user,
                                  'application_name', l.application_name, 'client_addr', l.client_addr)::text
          FROM @extschema@.audit_log l
         WHERE l.organization_id = tenant AND l.id > after_id AND l.id < settled
         ORDER BY l.id
         LIMIT max_entries;
END
$$;
COMMENT ON FUNCTION @extschema@.audit_export(bigint, integer) IS
    'the current tenant''s settled audit entries with id > after_id as JSON lines (one object per entry, id order, at most max_entries; none of a transaction still running)';

COMMENT ON TABLE @extschema@.audit_seals IS
    'seals of closed id ranges of the audit log, each chained to the previous one (tenantcore.audit_seal, audit_verify)';
REVOKE ALL ON @extschema@.audit_seals, @extschema@.audit_seal_segments, @extschema@.audit_seal_point FROM PUBLIC;

COMMENT ON TABLE @extschema@.audit_seal_segments IS
    'the entries of one seal in one UTC month of occurred_at: count and SHA-256; purged when the month''s partition is dropped';

COMMENT ON TABLE @extschema@.audit_seal_point IS
    'the id up to which the next audit_seal() seals, once every transaction older than xid_horizon has ended';

-- _audit_jsonb_hash(value) is the SHA-256 of a JSONB value walked item by
-- item (keys, strings and numbers with their lengths), never rendered as
-- JSON text.
CREATE OR REPLACE FUNCTION @extschema@._audit_jsonb_hash(value jsonb) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_audit_jsonb_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE EXECUTE ON FUNCTION @extschema@._audit_jsonb_hash(jsonb) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._audit_jsonb_hash(jsonb) IS
    'SHA-256 of a JSONB value item by item (the rows of an audit entry in its seal hash)';

-- _audit_entry_hash is the SHA-256 of one entry: a JSON array of its columns
-- in a fixed order (so columns added to the log later do not change it),
-- timestamps in UTC (the callers pin TimeZone and DateStyle), the UTF-8 text
-- that this expression gives (the function's SQL body until 0.8.0, now
-- written in C without looking up each value's JSON category and output
-- function, src/audit_seal.c; test/pgtap/audit_entry_hash.sql compares
-- the two):
--   sha256(convert_to(jsonb_build_array(
--       l.id, l.organization_id, l.occurred_at, l.txid::text, l.relid::bigint, l.table_name, l.operation,
--       encode(_audit_jsonb_hash(l.pk), 'hex'), encode(_audit_jsonb_hash(l.old_row), 'hex'),
--       encode(_audit_jsonb_hash(l.new_row), 'hex'), l.changed_columns, l.actor_id, l.db_user,
--       l.application_name, l.client_addr::text, l.table_id, l.record_id)::text, 'UTF8'))
-- The rows of the entry (pk, old_row, new_row) go into the array as the hex
-- of their _audit_jsonb_hash(), not as JSON text: an application role's row
-- of 180 MB of control characters, stored compressed, rendered as JSON text
-- beyond 1 GB ("\u0001" per character) and made every audit_seal() fail,
-- for every tenant.  The other columns are small.
CREATE OR REPLACE FUNCTION @extschema@._audit_entry_hash(l @extschema@.audit_log) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_audit_entry_hash'
    LANGUAGE C STABLE PARALLEL SAFE;
REVOKE EXECUTE ON FUNCTION @extschema@._audit_entry_hash(@extschema@.audit_log) FROM PUBLIC;

-- _audit_seal_month is the UTC month of an entry, as its segment names it
CREATE OR REPLACE FUNCTION @extschema@._audit_seal_month(ts timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_trunc('month', ts AT TIME ZONE 'UTC')::date;

-- _audit_range_hash is the hash of a seal's segments, _audit_seal_hash the
-- chain hash of a seal
CREATE OR REPLACE FUNCTION @extschema@._audit_range_hash(seal bigint) RETURNS bytea
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT sha256(coalesce(string_agg(convert_to(g.month::text, 'UTF8') || int8send(g.entries) || g.hash, ''::bytea
                                          ORDER BY g.month), ''::bytea))
          FROM @extschema@.audit_seal_segments g WHERE g.seal_id = seal);

CREATE OR REPLACE FUNCTION @extschema@._audit_seal_hash(prev bytea, seal bigint, first_id bigint, last_id bigint,
                                             entries bigint, range_hash bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN sha256(prev || int8send(seal) || int8send(first_id) || int8send(last_id) || int8send(entries) || range_hash);
REVOKE EXECUTE ON FUNCTION @extschema@._audit_range_hash(bigint),
                           @extschema@._audit_seal_hash(bytea, bigint, bigint, bigint, bigint, bytea) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.audit_seal() RETURNS SETOF @extschema@.audit_seals
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
    -- a distributed log (Citus): each node numbers its own entries, so the
    -- id ranges that seals close are not the coordinator's to take
    IF @extschema@._citus_table_method('@extschema@.audit_log') IS NOT NULL THEN
        RAISE EXCEPTION 'audit_seal() does not cover a distributed audit log yet'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'tenantcore.audit_log is distributed with the tenants (distribute_audit_log()); seals close ranges of one node''s ids.',
                  HINT = 'See doc/citus.md, "Limits".';
    END IF;
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

CREATE OR REPLACE FUNCTION @extschema@.audit_verify()
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
    -- a distributed log (Citus): each node numbers its own entries, so the
    -- id ranges that seals close are not the coordinator's to take
    IF @extschema@._citus_table_method('@extschema@.audit_log') IS NOT NULL THEN
        RAISE EXCEPTION 'audit_verify() does not cover a distributed audit log yet'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'tenantcore.audit_log is distributed with the tenants (distribute_audit_log()); seals close ranges of one node''s ids.',
                  HINT = 'See doc/citus.md, "Limits".';
    END IF;
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
CREATE OR REPLACE FUNCTION @extschema@.audit_seals_export(after_seal bigint DEFAULT 0)
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
CREATE OR REPLACE FUNCTION @extschema@._audit_seal_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d     record;
    m     date;
    keep  interval;
BEGIN
    -- a Citus worker: DDL of shards and shells, kept in step by the coordinator
    IF @extschema@._citus_worker() THEN
        RETURN;
    END IF;
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

DROP EVENT TRIGGER IF EXISTS tenantcore_audit_seal_sql_drop;
CREATE EVENT TRIGGER tenantcore_audit_seal_sql_drop ON sql_drop
    EXECUTE FUNCTION @extschema@._audit_seal_on_sql_drop();

-- audit_maintain() makes the monthly partitions of the log.  0.6.0 created
-- them only in audit() called by a superuser and in a scheduled
-- audit_maintain(), so the core
-- tables' entries went to the default partition and the first
-- install_blueprint() announced that it moved them.  Now
-- schedule_retention() schedules audit_maintain() too, and moving entries out
-- of the default partition is reported at DEBUG1: it is what happens on every
-- fresh install (the core tables are audited before any partition exists).
--
-- audit_maintain() seals too when tenantcore.audit_seal_in_maintain is on
-- (a superuser setting), so the daily pg_cron job of schedule_retention()
-- keeps the seals current; a failing audit_seal() does not fail the call
-- (the job would then make no partitions either): the seal runs in its own
-- subtransaction, and its error becomes a WARNING.
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
    state  text;
    msg    text;
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

        -- (PERFORM, not IF EXISTS: Citus cannot plan the latter on a distributed log)
        PERFORM FROM @extschema@.audit_log_default d WHERE d.occurred_at >= lo AND d.occurred_at < hi LIMIT 1;
        IF FOUND THEN
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
        BEGIN
            PERFORM @extschema@.audit_seal();
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            RAISE WARNING 'audit_maintain: audit_seal() failed: %', msg
                USING DETAIL = format('SQLSTATE %s; the partitions were made, the log was not sealed.', state),
                      HINT = 'Run SELECT tenantcore.audit_seal() to see the error; tenantcore.audit_verify() reports the unsealed entries.';
        END;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.audit_maintain(integer) IS
    'create the monthly audit_log partitions of the current month and months_ahead months ahead (UTC months)';
REVOKE EXECUTE ON FUNCTION @extschema@.audit_maintain(integer),
                           @extschema@.audit_drop_partitions_before(timestamptz),
                           @extschema@._audit_prepare_partition(regclass) FROM PUBLIC;

CREATE OR REPLACE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON @extschema@.audit_log
    FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_log_guard();

CREATE OR REPLACE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON @extschema@.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_log_guard();

CREATE OR REPLACE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON @extschema@.audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_log_guard();

CREATE OR REPLACE TRIGGER audited_tables_identity BEFORE INSERT OR UPDATE ON @extschema@.audited_tables
    FOR EACH ROW EXECUTE FUNCTION @extschema@._audited_tables_identity();

CREATE OR REPLACE TRIGGER registry_rel_name BEFORE INSERT ON @extschema@.audited_tables
    FOR EACH ROW EXECUTE FUNCTION @extschema@._registry_rel_name();

-- The registry of audited tables has row security, like protected_columns:
-- everyone reads it; a role writes only the rows of tables it owns (audit()
-- and unaudit() run with the caller's rights, so the delegation of
-- doc/audit.md grants INSERT, UPDATE, DELETE on it), never a builtin row
-- (the extension's own tables).  Before, a delegated owner could rewrite any
-- row: another table's table_id (its history() then found nothing) or its
-- exclude and redact columns (applied by the next DDL on that table, or by
-- ALTER EXTENSION UPDATE for the core tables).  The extension's own code
-- that writes other tables' rows (the event triggers) is SECURITY DEFINER.
DROP POLICY IF EXISTS readable ON @extschema@.audited_tables;
CREATE POLICY readable ON @extschema@.audited_tables FOR SELECT USING (true);
DROP POLICY IF EXISTS owner_registers ON @extschema@.audited_tables;
CREATE POLICY owner_registers ON @extschema@.audited_tables FOR INSERT
    WITH CHECK (NOT builtin
                AND @extschema@._may_configure(rel));
DROP POLICY IF EXISTS owner_reconfigures ON @extschema@.audited_tables;
CREATE POLICY owner_reconfigures ON @extschema@.audited_tables FOR UPDATE
    USING (NOT builtin AND @extschema@._may_configure(rel))
    WITH CHECK (NOT builtin
                AND @extschema@._may_configure(rel));
DROP POLICY IF EXISTS owner_unregisters ON @extschema@.audited_tables;
CREATE POLICY owner_unregisters ON @extschema@.audited_tables FOR DELETE
    USING (NOT builtin AND coalesce(@extschema@._may_configure(rel), true));

-- tenants read their own entries; nobody but the trigger writes.  An entry is
-- visible only to roles that may read some column of the audited table (0.6.0
-- showed a tenant the entries of every audited table, the whole row as JSONB),
-- found by the table's identity, so a rename keeps the entries written under
-- the old name visible; entries of tables no longer audited are found by name
-- (entries of dropped tables are visible to superusers only).  Columns hidden
-- by column privileges are still logged: redact them (audit(..., redact => ...)).
-- _audit_registered_table: the audited table of an identity, from this
-- node's registry, read in C: the log's policy below runs it for every
-- entry, also in the log's shards on a Citus worker, where a query of the
-- registry (a reference table there) would be a distributed query nested in
-- the shard's, which Citus refuses.
CREATE OR REPLACE FUNCTION @extschema@._audit_registered_table(table_id uuid) RETURNS regclass
    AS 'MODULE_PATHNAME', 'tenantcore_audit_registered_table'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._audit_registered_table(uuid) IS
    'the audited table whose identity (audited_tables.table_id) is table_id, or NULL';

DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.audit_log;
CREATE POLICY tenantcore_isolation ON @extschema@.audit_log AS PERMISSIVE FOR SELECT TO PUBLIC
    USING (organization_id = @extschema@.current_tenant()
           AND pg_catalog.has_any_column_privilege(
                   coalesce(@extschema@._audit_registered_table(audit_log.table_id),
                            pg_catalog.to_regclass(table_name)), 'SELECT'));

-- reads of protected data (tenantcore.audit_reads): tenants read their own
-- rows, nobody but the extension writes
COMMENT ON TABLE @extschema@.audit_reads IS
    'reads of protected data: one row per statement, tenant, actor, role and column decrypted, with the count of values (tenantcore.audit_reads)';
REVOKE ALL ON @extschema@.audit_reads, @extschema@.audit_reads_id_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.audit_reads TO PUBLIC;
DROP POLICY IF EXISTS tenantcore_isolation ON @extschema@.audit_reads;
CREATE POLICY tenantcore_isolation ON @extschema@.audit_reads AS PERMISSIVE FOR SELECT TO PUBLIC
    USING (organization_id = @extschema@.current_tenant());
