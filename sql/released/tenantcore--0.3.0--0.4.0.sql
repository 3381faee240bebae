-- tenantcore 0.3.0 -> 0.4.0: audit trail (C trigger, partitioned log, history, time travel)
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.4.0'" to load this file. \quit

-- tenantcore: audit trail (C trigger, partitioned log, history)
--
-- The log is partitioned by month on occurred_at.  The extension script itself
-- creates only the parent and the default partition (both extension members
-- whose data pg_dump saves); monthly partitions are created later by
-- audit_maintain(), outside the extension script, so they are ordinary tables
-- that pg_dump saves with their data and that a restore recreates exactly,
-- whatever the date of the restore.

-- _creating_extension is true while an extension script runs.
CREATE FUNCTION @extschema@._creating_extension() RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_creating_extension'
    LANGUAGE C STABLE;

CREATE SEQUENCE @extschema@.audit_log_id_seq AS bigint;

CREATE TABLE @extschema@.audit_log (
    id               bigint      NOT NULL DEFAULT pg_catalog.nextval('@extschema@.audit_log_id_seq'),
    organization_id  uuid,
    occurred_at      timestamptz NOT NULL DEFAULT pg_catalog.transaction_timestamp(),
    txid             xid8        NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    relid            oid         NOT NULL,
    table_name       text        NOT NULL,
    operation        text        NOT NULL
                     CONSTRAINT audit_log_operation_check CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    pk               jsonb,
    old_row          jsonb,
    new_row          jsonb,
    changed_columns  text[],
    actor_id         uuid,
    db_user          text        NOT NULL DEFAULT session_user,
    application_name text,
    client_addr      inet
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE @extschema@.audit_log_id_seq OWNED BY @extschema@.audit_log.id;
COMMENT ON TABLE @extschema@.audit_log IS
    'one row per changed row of an audited table (tenantcore.audit); partitioned by month';

-- Indexes live on each partition, not on the parent: the parent is an
-- extension member that a restore recreates with CREATE EXTENSION, and a
-- dumped partition attached to a parent that already has indexes would get
-- them twice (pg_restore then fails on the partition's own primary key).
-- Each partition has a primary key (id, occurred_at) and a hash index on pk
-- for history(rel, pk): a hash index costs far less per insert than a btree
-- on (table_name, pk), whose inserts spend their time comparing JSONB.
CREATE TABLE @extschema@.audit_log_default PARTITION OF @extschema@.audit_log DEFAULT;
ALTER TABLE @extschema@.audit_log_default ADD CONSTRAINT audit_log_default_pkey PRIMARY KEY (id, occurred_at);
CREATE INDEX audit_log_default_pk_idx ON @extschema@.audit_log_default USING hash (pk);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log_id_seq', '');

-- tenants read their own entries; nobody but the trigger writes
ALTER TABLE @extschema@.audit_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.audit_log_default ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenantcore_isolation ON @extschema@.audit_log AS PERMISSIVE FOR SELECT TO PUBLIC
    USING (organization_id = @extschema@.current_tenant());
REVOKE ALL ON @extschema@.audit_log, @extschema@.audit_log_default, @extschema@.audit_log_id_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.audit_log TO PUBLIC;

-- _audit_log_guard refuses UPDATE, DELETE and TRUNCATE of the log, also for
-- its owner, unless the extension's own maintenance code (which runs as the
-- extension owner and sets the superuser-only tenantcore.audit_internal)
-- moves rows between partitions.
CREATE FUNCTION @extschema@._audit_log_guard() RETURNS trigger
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

CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON @extschema@.audit_log
    FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_log_guard();
CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON @extschema@.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_log_guard();
CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON @extschema@.audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_log_guard();

-- _audit_partition_name is the name of the monthly partition holding ts (UTC months).
CREATE FUNCTION @extschema@._audit_partition_name(ts timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN 'audit_log_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMM');

-- _audit_prepare_partition gives a new partition its indexes and protects it
-- like the parent: RLS with no policy (so it shows nothing when reached
-- directly) and the TRUNCATE guard.
CREATE FUNCTION @extschema@._audit_prepare_partition(part regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- index names chosen by the server never collide
    EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (id, occurred_at)', part);
    EXECUTE format('CREATE INDEX ON %s USING hash (pk)', part);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', part);
    EXECUTE format('CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_log_guard()', part);
END
$$;

CREATE FUNCTION @extschema@.audit_maintain(months_ahead integer DEFAULT 3)
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
            RAISE NOTICE 'moved % audit entries from the default partition to %', moved, pname;
        ELSE
            EXECUTE format('CREATE TABLE @extschema@.%I PARTITION OF @extschema@.audit_log FOR VALUES FROM (%L) TO (%L)',
                           pname, lo, hi);
        END IF;
        PERFORM @extschema@._audit_prepare_partition(format('@extschema@.%I', pname)::regclass);
        RETURN NEXT format('@extschema@.%I', pname)::regclass;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.audit_maintain(integer) IS
    'create the monthly audit_log partitions of the current month and months_ahead months ahead (UTC months)';

CREATE FUNCTION @extschema@.audit_drop_partitions_before(cutoff timestamptz)
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

REVOKE EXECUTE ON FUNCTION @extschema@.audit_maintain(integer),
                           @extschema@.audit_drop_partitions_before(timestamptz),
                           @extschema@._audit_prepare_partition(regclass) FROM PUBLIC;

-- Which tables are audited, and how.  The trigger itself carries the same
-- settings as arguments, so the C trigger needs no lookup and every backend
-- sees a change through the relcache invalidation of CREATE TRIGGER.
CREATE TABLE @extschema@.audited_tables (
    rel             regclass    PRIMARY KEY,
    exclude_columns text[]      NOT NULL DEFAULT '{}',
    redact_columns  text[]      NOT NULL DEFAULT '{}',
    changed_only    boolean     NOT NULL DEFAULT true,
    tenant_column   name,
    audited_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.audited_tables IS 'tables whose changes are written to tenantcore.audit_log (tenantcore.audit)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audited_tables', '');
REVOKE ALL ON @extschema@.audited_tables FROM PUBLIC;
GRANT SELECT ON @extschema@.audited_tables TO PUBLIC;

CREATE FUNCTION @extschema@.audit_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_audit_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION @extschema@.audit_trigger() IS
    'trigger installed by tenantcore.audit(): writes OLD and NEW as JSONB to tenantcore.audit_log';
REVOKE EXECUTE ON FUNCTION @extschema@.audit_trigger() FROM PUBLIC;

-- _audit_check raises the error that explains why rel cannot be audited
-- with these settings, if it cannot.
CREATE FUNCTION @extschema@._audit_check(rel regclass, exclude text[], redact text[], func text)
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
CREATE FUNCTION @extschema@._audit_tenant_column(rel regclass) RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT t.tenant_column FROM @extschema@.isolated_tables t WHERE t.rel = _audit_tenant_column.rel),
                (SELECT a.attname FROM pg_attribute a
                  WHERE a.attrelid = _audit_tenant_column.rel AND a.attname = 'organization_id'
                    AND a.atttypid = 'uuid'::regtype AND a.attnum > 0 AND NOT a.attisdropped));

-- _audit_install (re)creates the triggers of rel from its audited_tables row.
CREATE FUNCTION @extschema@._audit_install(rel regclass) RETURNS void
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
            UNION ALL SELECT 'tenant:' || cfg.tenant_column WHERE cfg.tenant_column IS NOT NULL
            UNION ALL SELECT 'exclude:' || e FROM unnest(cfg.exclude_columns) e
            UNION ALL SELECT 'redact:' || r FROM unnest(cfg.redact_columns) r) s(a);
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = rel AND tgname = 'tenantcore_audit') THEN
        EXECUTE format('DROP TRIGGER tenantcore_audit ON %s', rel);
    END IF;
    EXECUTE format('CREATE TRIGGER tenantcore_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_trigger(%s)', rel, args);
    -- statement triggers are not inherited: every table of the tree gets one
    FOREACH part IN ARRAY @extschema@._partition_tree(rel) LOOP
        IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = part AND tgname = 'tenantcore_audit_truncate') THEN
            EXECUTE format('CREATE TRIGGER tenantcore_audit_truncate AFTER TRUNCATE ON %s '
                           'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_trigger()', part);
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION @extschema@.audit(rel regclass, exclude text[] DEFAULT '{}', redact text[] DEFAULT '{}',
                                  changed_only boolean DEFAULT true)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
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
    INSERT INTO @extschema@.audited_tables AS t (rel, exclude_columns, redact_columns, changed_only, tenant_column)
    VALUES (rel, (SELECT coalesce(array_agg(DISTINCT e ORDER BY e), '{}') FROM unnest(exclude) e),
            (SELECT coalesce(array_agg(DISTINCT r ORDER BY r), '{}') FROM unnest(redact) r),
            changed_only, @extschema@._audit_tenant_column(rel))
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

CREATE FUNCTION @extschema@.unaudit(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part regclass;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'unaudit: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.audited_tables t WHERE t.rel = unaudit.rel) THEN
        RAISE NOTICE 'table % is not audited, skipping', rel;
        RETURN;
    END IF;
    PERFORM @extschema@._audit_check(rel, NULL, NULL, 'unaudit');
    EXECUTE format('DROP TRIGGER IF EXISTS tenantcore_audit ON %s', rel);
    FOREACH part IN ARRAY @extschema@._partition_tree(rel) LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS tenantcore_audit_truncate ON %s', part);
    END LOOP;
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
CREATE FUNCTION @extschema@._audit_on_ddl_command_end() RETURNS event_trigger
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

CREATE FUNCTION @extschema@._audit_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.audited_tables t
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objid = t.rel::oid AND d.objsubid = 0;
END
$$;

CREATE EVENT TRIGGER tenantcore_audit_ddl ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION @extschema@._audit_on_ddl_command_end();
CREATE EVENT TRIGGER tenantcore_audit_forget_dropped ON sql_drop
    EXECUTE FUNCTION @extschema@._audit_on_sql_drop();

-- history returns every change of one row, oldest first.
CREATE FUNCTION @extschema@.history(rel regclass, pk jsonb)
RETURNS SETOF @extschema@.audit_log
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT l.* FROM @extschema@.audit_log l
     WHERE l.table_name = (SELECT format('%I.%I', n.nspname, c.relname)
                             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE c.oid = history.rel)
       AND l.pk = history.pk
     ORDER BY l.id;
END;
COMMENT ON FUNCTION @extschema@.history(regclass, jsonb) IS
    'every audit entry of one row (by primary key as JSONB, e.g. ''{"id": 42}''), oldest first';

-- row_as_of replays the history of one row up to a time.
CREATE FUNCTION @extschema@.row_as_of(rel regclass, pk jsonb, at timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    qname text;
    e     record;
    state jsonb;
BEGIN
    IF rel IS NULL OR pk IS NULL OR at IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT format('%I.%I', n.nspname, c.relname) INTO qname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    FOR e IN
        SELECT l.id, l.operation, l.new_row FROM @extschema@.audit_log l
         WHERE l.table_name = qname AND l.pk = row_as_of.pk AND l.occurred_at <= at
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
    'the JSONB state of one row at a time, replayed from its audit entries; NULL when it did not exist';
