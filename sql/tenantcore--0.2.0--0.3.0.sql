-- tenantcore 0.2.0 -> 0.3.0: retention policies, legal holds, the batched runner, pg_cron scheduling
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.3.0'" to load this file. \quit

-- tenantcore: retention policies, legal holds and the batched runner

CREATE TABLE @extschema@.retention_policies (
    id            serial      PRIMARY KEY,
    rel           regclass    NOT NULL,
    time_column   name        NOT NULL,
    keep          interval    NOT NULL CHECK (keep > interval '0'),
    action        text        NOT NULL CHECK (action IN ('delete', 'anonymize', 'drop_partition')),
    anonymize     jsonb       CHECK (anonymize IS NULL OR jsonb_typeof(anonymize) = 'object'),
    tenant_column name,
    enabled       boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (rel, time_column),
    CHECK ((action = 'anonymize') = (anonymize IS NOT NULL))
);
COMMENT ON TABLE @extschema@.retention_policies IS 'how long rows of a table are kept (tenantcore.retain)';

CREATE TABLE @extschema@.retention_overrides (
    policy_id       integer  NOT NULL REFERENCES @extschema@.retention_policies ON DELETE CASCADE,
    organization_id uuid     NOT NULL,
    keep            interval NOT NULL CHECK (keep > interval '0'),
    PRIMARY KEY (policy_id, organization_id)
);
COMMENT ON TABLE @extschema@.retention_overrides IS 'per-tenant retention periods (tenantcore.retain_for_tenant)';

CREATE TABLE @extschema@.legal_holds (
    id              bigserial   PRIMARY KEY,
    organization_id uuid        NOT NULL,
    rel             regclass,
    reason          text,
    placed_by       name        NOT NULL DEFAULT session_user,
    placed_at       timestamptz NOT NULL DEFAULT now(),
    released_at     timestamptz
);
CREATE INDEX ON @extschema@.legal_holds (organization_id) WHERE released_at IS NULL;
COMMENT ON TABLE @extschema@.legal_holds IS 'legal holds: no retention deletes for a tenant (or one of its tables) until released';

CREATE TABLE @extschema@.retention_runs (
    id                 bigserial   PRIMARY KEY,
    policy_id          integer     REFERENCES @extschema@.retention_policies ON DELETE SET NULL,
    rel                text        NOT NULL,
    action             text        NOT NULL,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz,
    rows_affected      bigint      NOT NULL DEFAULT 0,
    partitions_dropped integer     NOT NULL DEFAULT 0,
    detail             text,
    error              text
);
COMMENT ON TABLE @extschema@.retention_runs IS 'one row per policy per run of tenantcore.run_retention()';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_policies', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_policies_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_overrides', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.legal_holds', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.legal_holds_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_runs_id_seq', '');

-- _retention_literal is the SQL literal that replaces a column's value when a
-- row is anonymized: a JSON null is NULL, a JSON string its text, anything
-- else its JSON text; cast to the column's type.
CREATE FUNCTION @extschema@._retention_literal(value jsonb, typ text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN value IS NULL OR jsonb_typeof(value) = 'null' THEN 'NULL::' || typ
            ELSE format('%L::%s', value #>> '{}', typ) END;

-- _retention_anonymize_sql returns the SET list and the "already anonymized"
-- condition of an anonymize policy.
CREATE FUNCTION @extschema@._retention_anonymize_sql(rel regclass, spec jsonb,
                                                     OUT set_list text, OUT done text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT string_agg(format('%I = %s', a.attname, @extschema@._retention_literal(s.value, format_type(a.atttypid, a.atttypmod))), ', ' ORDER BY a.attnum),
           string_agg(format('%I IS NOT DISTINCT FROM %s', a.attname, @extschema@._retention_literal(s.value, format_type(a.atttypid, a.atttypmod))), ' AND ' ORDER BY a.attnum)
      FROM jsonb_each(spec) s
      JOIN pg_attribute a ON a.attrelid = rel AND a.attname = s.key AND a.attnum > 0 AND NOT a.attisdropped;
END;

CREATE FUNCTION @extschema@.retain(rel regclass, time_column name, keep interval,
                                   action text DEFAULT 'delete', anonymize jsonb DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c        pg_class;
    typ      regtype;
    tcol     name;
    col      text;
    pid      integer;
    sql      record;
BEGIN
    IF rel IS NULL OR time_column IS NULL OR keep IS NULL OR action IS NULL THEN
        RAISE EXCEPTION 'retain: table, time column, keep and action must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    IF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot set a retention policy on temporary table "%"', rel USING ERRCODE = 'feature_not_supported';
    END IF;
    IF action NOT IN ('delete', 'anonymize', 'drop_partition') THEN
        RAISE EXCEPTION 'invalid retention action "%"', action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use delete, anonymize or drop_partition.';
    END IF;
    IF keep <= interval '0' THEN
        RAISE EXCEPTION 'retention period must be positive, not "%"', keep USING ERRCODE = 'invalid_parameter_value';
    END IF;
    BEGIN
        PERFORM now() - keep;
    EXCEPTION WHEN datetime_field_overflow THEN
        RAISE EXCEPTION 'retention period "%" is too long', keep USING ERRCODE = 'invalid_parameter_value';
    END;
    SELECT a.atttypid INTO typ FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', time_column, rel USING ERRCODE = 'undefined_column';
    END IF;
    IF typ NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
        RAISE EXCEPTION 'column "%" of relation "%" is of type %, not a date or timestamp', time_column, rel, typ
            USING ERRCODE = 'datatype_mismatch';
    END IF;

    IF action = 'drop_partition' THEN
        IF c.relkind <> 'p' OR NOT EXISTS (
               SELECT FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
                WHERE pt.partrelid = rel AND pt.partstrat = 'r' AND pt.partnatts = 1 AND a.attname = time_column) THEN
            RAISE EXCEPTION 'drop_partition needs a table partitioned by range on column "%"', time_column
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'Use action => ''delete'' for tables that are not partitioned by time.';
        END IF;
    END IF;
    IF (action = 'anonymize') <> (anonymize IS NOT NULL) THEN
        RAISE EXCEPTION 'anonymize must be given for action anonymize and only for it'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass anonymize => ''{"email": "anonymized@example.invalid", "name": null}''.';
    END IF;
    IF anonymize IS NOT NULL THEN
        IF jsonb_typeof(anonymize) <> 'object' OR anonymize = '{}' THEN
            RAISE EXCEPTION 'anonymize must be a non-empty JSON object of column names and replacement values'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR col IN SELECT jsonb_object_keys(anonymize) LOOP
            IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = col
                              AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, rel USING ERRCODE = 'undefined_column';
            END IF;
            IF col = time_column THEN
                RAISE EXCEPTION 'cannot anonymize the time column "%"', col USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
        -- every replacement value must cast to its column's type
        EXECUTE (SELECT 'SELECT ' || string_agg(@extschema@._retention_literal(s.value, format_type(a.atttypid, a.atttypmod)), ', ')
                   FROM jsonb_each(anonymize) s
                   JOIN pg_attribute a ON a.attrelid = rel AND a.attname = s.key AND a.attnum > 0 AND NOT a.attisdropped);
    END IF;

    tcol := coalesce((SELECT t.tenant_column FROM @extschema@.isolated_tables t WHERE t.rel = retain.rel),
                     (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = 'organization_id'
                         AND a.atttypid = 'uuid'::regtype AND NOT a.attisdropped));

    INSERT INTO @extschema@.retention_policies AS p (rel, time_column, keep, action, anonymize, tenant_column)
    VALUES (rel, time_column, keep, action, anonymize, tcol)
    ON CONFLICT ON CONSTRAINT retention_policies_rel_time_column_key DO UPDATE
       SET keep = EXCLUDED.keep, action = EXCLUDED.action, anonymize = EXCLUDED.anonymize,
           tenant_column = EXCLUDED.tenant_column, enabled = true
    RETURNING p.id INTO pid;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION @extschema@.retain(regclass, name, interval, text, jsonb) IS
    'keep rows of a table for a period after their time column, then delete, anonymize or drop their partition';

CREATE FUNCTION @extschema@.unretain(rel regclass, time_column name DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'unretain: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM @extschema@.retention_policies p
     WHERE p.rel = unretain.rel AND (unretain.time_column IS NULL OR p.time_column = unretain.time_column);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE NOTICE 'table % has no retention policy, skipping', rel;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.unretain(regclass, name) IS 'remove the retention policies of a table';

-- _retention_policy finds the one policy of a table (or the one on time_column).
CREATE FUNCTION @extschema@._retention_policy(rel regclass, time_column name) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ids integer[];
BEGIN
    SELECT array_agg(p.id) INTO ids FROM @extschema@.retention_policies p
     WHERE p.rel = _retention_policy.rel AND (_retention_policy.time_column IS NULL OR p.time_column = _retention_policy.time_column);
    IF ids IS NULL THEN
        RAISE EXCEPTION 'table % has no retention policy%', rel,
              CASE WHEN time_column IS NOT NULL THEN format(' on column "%s"', time_column) ELSE '' END
            USING ERRCODE = 'undefined_object', HINT = 'Create one with tenantcore.retain().';
    ELSIF cardinality(ids) > 1 THEN
        RAISE EXCEPTION 'table % has several retention policies', rel
            USING ERRCODE = 'ambiguous_parameter', HINT = 'Name the time column of the policy.';
    END IF;
    RETURN ids[1];
END
$$;

CREATE FUNCTION @extschema@.retain_for_tenant(rel regclass, tenant uuid, keep interval, time_column name DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid integer;
BEGIN
    IF rel IS NULL OR tenant IS NULL THEN
        RAISE EXCEPTION 'retain_for_tenant: table and tenant must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    pid := @extschema@._retention_policy(rel, time_column);
    IF (SELECT p.tenant_column IS NULL FROM @extschema@.retention_policies p WHERE p.id = pid) THEN
        RAISE EXCEPTION 'table % has no tenant column, so it has no per-tenant retention', rel
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF keep IS NULL THEN
        DELETE FROM @extschema@.retention_overrides o WHERE o.policy_id = pid AND o.organization_id = tenant;
        RETURN;
    END IF;
    IF keep <= interval '0' THEN
        RAISE EXCEPTION 'retention period must be positive, not "%"', keep USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.retention_overrides (policy_id, organization_id, keep) VALUES (pid, tenant, keep)
    ON CONFLICT ON CONSTRAINT retention_overrides_pkey DO UPDATE SET keep = EXCLUDED.keep;
END
$$;
COMMENT ON FUNCTION @extschema@.retain_for_tenant(regclass, uuid, interval, name) IS
    'keep one tenant''s rows of a table for another period (NULL removes the override)';

CREATE FUNCTION @extschema@.hold(tenant uuid, rel regclass DEFAULT NULL, reason text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hid bigint;
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'hold: tenant must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF rel IS NOT NULL AND (SELECT relkind FROM pg_class WHERE oid = rel) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    INSERT INTO @extschema@.legal_holds (organization_id, rel, reason) VALUES (tenant, rel, reason)
    RETURNING id INTO hid;
    RETURN hid;
END
$$;
COMMENT ON FUNCTION @extschema@.hold(uuid, regclass, text) IS
    'place a legal hold: retention deletes nothing of the tenant (or of the tenant in one table) until released';

CREATE FUNCTION @extschema@.release_hold(hold_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF hold_id IS NULL THEN
        RAISE EXCEPTION 'release_hold: hold id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE @extschema@.legal_holds h SET released_at = coalesce(h.released_at, now()) WHERE h.id = hold_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'legal hold % does not exist', hold_id USING ERRCODE = 'no_data_found';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.release_hold(bigint) IS 'release a legal hold (idempotent)';

-- _retention_held_tenants lists the tenants with an active hold on rel.
CREATE FUNCTION @extschema@._retention_held_tenants(rel regclass) RETURNS uuid[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT array_agg(DISTINCT h.organization_id) FROM @extschema@.legal_holds h
                  WHERE h.released_at IS NULL AND (h.rel IS NULL OR h.rel = $1)), '{}');

-- _retention_batch deletes or anonymizes up to batch_size rows of one table
-- (a leaf, not a partitioned parent) older than cutoff, for one tenant or for
-- all rows when tenant_column is NULL, skipping rows locked by writers.
CREATE FUNCTION @extschema@._retention_batch(p @extschema@.retention_policies, target regclass,
                                             tenant uuid, cutoff timestamptz, batch_size integer)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner  name := (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = target);
    filter text := format('%I < $1', p.time_column)
                   || CASE WHEN p.tenant_column IS NOT NULL THEN format(' AND %I = $2', p.tenant_column) ELSE '' END;
    sql    record := @extschema@._retention_anonymize_sql(p.rel, coalesce(p.anonymize, '{}'));
    n      bigint;
BEGIN
    -- Run as the table's owner, never as the superuser running the job, so
    -- triggers on the table get no more rights than its owner has; the tenant
    -- makes the rows pass row level security.
    PERFORM pg_catalog.set_config('tenantcore.tenant_id', coalesce(tenant::text, ''), true),
            pg_catalog.set_config('role', owner, true);
    IF p.action = 'delete' THEN
        EXECUTE format('DELETE FROM %s WHERE ctid = ANY (ARRAY(SELECT ctid FROM %s WHERE %s LIMIT $3 FOR UPDATE SKIP LOCKED))',
                       target, target, filter)
          USING cutoff, tenant, batch_size;
    ELSE
        EXECUTE format('UPDATE %s SET %s WHERE ctid = ANY (ARRAY(SELECT ctid FROM %s WHERE %s AND NOT (%s) LIMIT $3 FOR UPDATE SKIP LOCKED))',
                       target, sql.set_list, target, filter, sql.done)
          USING cutoff, tenant, batch_size;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM pg_catalog.set_config('role', 'none', true), pg_catalog.set_config('tenantcore.tenant_id', '', true);
    RETURN n;
END
$$;

-- _retention_partitions lists the partitions of a drop_partition policy that
-- lie wholly before the cutoff and hold no row that a legal hold or a longer
-- per-tenant period still protects.
CREATE FUNCTION @extschema@._retention_partitions(p @extschema@.retention_policies, cutoff timestamptz)
RETURNS TABLE (part regclass, name text, blocked text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    held uuid[] := @extschema@._retention_held_tenants(p.rel);
    upper_bound timestamptz;
BEGIN
    FOR part IN
        SELECT i.inhrelid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = p.rel AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
         ORDER BY i.inhrelid
    LOOP
        upper_bound := substring(pg_get_expr((SELECT relpartbound FROM pg_class WHERE oid = part), part)
                                 FROM 'TO \(''([^'']*)''\)')::timestamptz;
        CONTINUE WHEN upper_bound IS NULL OR upper_bound > cutoff;
        name := part::text;
        blocked := NULL;
        IF p.tenant_column IS NOT NULL THEN
            EXECUTE format('SELECT ''legal hold of tenant '' || %I FROM %s WHERE %I = ANY ($1) LIMIT 1',
                           p.tenant_column, part, p.tenant_column)
               INTO blocked USING held;
            IF blocked IS NULL THEN
                EXECUTE format('SELECT ''longer retention of tenant '' || t.%1$I FROM %2$s t
                                  JOIN @extschema@.retention_overrides o ON o.organization_id = t.%1$I AND o.policy_id = $1
                                 WHERE t.%3$I >= now() - o.keep LIMIT 1',
                               p.tenant_column, part, p.time_column)
                   INTO blocked USING p.id;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE PROCEDURE @extschema@.run_retention(max_runtime interval DEFAULT '10 minutes', batch_size integer DEFAULT 10000)
LANGUAGE plpgsql
AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + max_runtime;
    pids     integer[];
    pid      integer;
    p        @extschema@.retention_policies;
    run_id   bigint;
    target   regclass;
    tenant   uuid;
    cutoff   timestamptz;
    n        bigint;
    total    bigint;
    dropped  integer;
    notes    text[];
    err      text;
    item     record;
BEGIN
    IF max_runtime IS NULL OR max_runtime <= interval '0' THEN
        RAISE EXCEPTION 'max_runtime must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- a procedure that commits cannot pin search_path with SET; do it per transaction
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    SELECT pg_catalog.array_agg(rp.id ORDER BY rp.id) INTO pids
      FROM @extschema@.retention_policies rp WHERE rp.enabled;

    FOREACH pid IN ARRAY coalesce(pids, '{}') LOOP
        EXIT WHEN pg_catalog.clock_timestamp() >= deadline;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        SELECT * INTO p FROM @extschema@.retention_policies rp WHERE rp.id = pid;
        CONTINUE WHEN NOT FOUND;
        INSERT INTO @extschema@.retention_runs (policy_id, rel, action, started_at)
        VALUES (p.id, p.rel::text, p.action, clock_timestamp()) RETURNING id INTO run_id;
        COMMIT;
        total := 0; dropped := 0; notes := '{}'; err := NULL;

        BEGIN
            PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
            IF p.action = 'drop_partition' THEN
                FOR item IN SELECT * FROM @extschema@._retention_partitions(p, now() - p.keep) LOOP
                    IF item.blocked IS NOT NULL THEN
                        notes := notes || format('kept %s: %s', item.name, item.blocked);
                    ELSE
                        -- as the owner of the table, like the deletes
                        PERFORM set_config('role', (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                                                     WHERE c.oid = p.rel), true);
                        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', p.rel, item.part);
                        EXECUTE format('DROP TABLE %s', item.part);
                        PERFORM set_config('role', 'none', true);
                        dropped := dropped + 1;
                        notes := notes || ('dropped ' || item.name);
                    END IF;
                END LOOP;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            err := SQLERRM;
        END;
        COMMIT;

        IF p.action <> 'drop_partition' AND err IS NULL THEN
            <<targets>>
            FOR target IN SELECT x FROM unnest(@extschema@._partition_tree(p.rel)) x
                           WHERE (SELECT relkind FROM pg_class WHERE oid = x) = 'r'
            LOOP
                -- one tenant at a time, each with its own period, none under a hold
                FOREACH tenant IN ARRAY CASE WHEN p.tenant_column IS NULL THEN ARRAY[NULL::uuid]
                                             ELSE ARRAY(SELECT @extschema@._retention_tenants(p, target)) END
                LOOP
                    cutoff := now() - coalesce((SELECT o.keep FROM @extschema@.retention_overrides o
                                                 WHERE o.policy_id = p.id AND o.organization_id = tenant), p.keep);
                    LOOP
                        EXIT targets WHEN clock_timestamp() >= deadline;
                        BEGIN
                            n := @extschema@._retention_batch(p, target, tenant, cutoff, batch_size);
                        EXCEPTION WHEN OTHERS THEN
                            err := SQLERRM;
                            n := 0;
                        END;
                        total := total + n;
                        COMMIT;
                        PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
                        EXIT targets WHEN err IS NOT NULL;
                        EXIT WHEN n < batch_size;
                    END LOOP;
                END LOOP;
            END LOOP;
        END IF;

        UPDATE @extschema@.retention_runs r
           SET finished_at = clock_timestamp(), rows_affected = total, partitions_dropped = dropped,
               detail = nullif(array_to_string(notes, '; '), ''), error = err
         WHERE r.id = run_id;
        COMMIT;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE @extschema@.run_retention(interval, integer) IS
    'apply every enabled retention policy in bounded batches, committing between them';

-- _retention_tenants lists the tenants of one table that have rows older than
-- the shortest period that applies to any of them and no legal hold.
CREATE FUNCTION @extschema@._retention_tenants(p @extschema@.retention_policies, target regclass) RETURNS SETOF uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shortest interval := least(p.keep, (SELECT min(o.keep) FROM @extschema@.retention_overrides o WHERE o.policy_id = p.id));
BEGIN
    RETURN QUERY EXECUTE format('SELECT DISTINCT %I FROM %s WHERE %I < $1 AND %I IS NOT NULL AND NOT %I = ANY ($2)',
                                p.tenant_column, target, p.time_column, p.tenant_column, p.tenant_column)
        USING now() - shortest, @extschema@._retention_held_tenants(p.rel);
END
$$;

-- Forget the policies of dropped tables.
CREATE FUNCTION @extschema@._retention_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.retention_policies p
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objid = p.rel::oid AND d.objsubid = 0;
    DELETE FROM @extschema@.legal_holds h
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objid = h.rel::oid AND d.objsubid = 0 AND h.released_at IS NOT NULL;
END
$$;
CREATE EVENT TRIGGER tenantcore_forget_dropped_retention ON sql_drop
    EXECUTE FUNCTION @extschema@._retention_on_sql_drop();

-- pg_cron scheduling

CREATE FUNCTION @extschema@._cron_job_name(database name) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'tenantcore-retention-' || database;

CREATE FUNCTION @extschema@.schedule_retention(schedule text DEFAULT '0 3 * * *',
                                               database name DEFAULT current_database())
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job     bigint;
    command text := 'CALL @extschema@.run_retention()';
BEGIN
    IF schedule IS NULL OR database IS NULL THEN
        RAISE EXCEPTION 'schedule_retention: schedule and database must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'undefined_object',
                  DETAIL = format('pg_cron runs jobs from the database named by cron.database_name (%s).',
                                  coalesce(current_setting('cron.database_name', true), 'pg_cron is not loaded')),
                  HINT = format('Add pg_cron to shared_preload_libraries and CREATE EXTENSION pg_cron in that database, then run there: SELECT cron.schedule_in_database(%L, %L, %L, %L);',
                                @extschema@._cron_job_name(database), schedule, command, database);
    END IF;
    IF database = current_database() THEN
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job
          USING @extschema@._cron_job_name(database), schedule, command;
    ELSE
        EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4)' INTO job
          USING @extschema@._cron_job_name(database), schedule, command, database;
    END IF;
    RETURN job;
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_retention(text, name) IS
    'run tenantcore.run_retention() on a pg_cron schedule';

CREATE FUNCTION @extschema@.unschedule_retention(database name DEFAULT current_database()) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'undefined_object',
                  HINT = format('Run SELECT cron.unschedule(%L); in the database named by cron.database_name.',
                                @extschema@._cron_job_name(database));
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
COMMENT ON FUNCTION @extschema@.unschedule_retention(name) IS 'remove the pg_cron job of tenantcore.run_retention()';

-- Retention deletes data: only superusers and roles a DBA grants may use it.
REVOKE EXECUTE ON FUNCTION @extschema@.retain(regclass, name, interval, text, jsonb),
    @extschema@.unretain(regclass, name), @extschema@.retain_for_tenant(regclass, uuid, interval, name),
    @extschema@.hold(uuid, regclass, text), @extschema@.release_hold(bigint),
    @extschema@.schedule_retention(text, name), @extschema@.unschedule_retention(name),
    @extschema@._retention_batch(@extschema@.retention_policies, regclass, uuid, timestamptz, integer),
    @extschema@._retention_partitions(@extschema@.retention_policies, timestamptz),
    @extschema@._retention_tenants(@extschema@.retention_policies, regclass)
  FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.run_retention(interval, integer) FROM PUBLIC;
