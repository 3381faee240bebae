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

-- _check_anonymize raises the error that explains why an anonymize spec (a
-- JSON object of column names and literal replacement values) does not fit rel.
CREATE FUNCTION @extschema@._check_anonymize(rel regclass, spec jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col text;
BEGIN
    IF spec IS NULL THEN
        RETURN;
    END IF;
    IF jsonb_typeof(spec) <> 'object' OR spec = '{}' THEN
        RAISE EXCEPTION 'anonymize must be a non-empty JSON object of column names and replacement values'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR col IN SELECT jsonb_object_keys(spec) LOOP
        IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = col
                          AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, rel USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
    -- every replacement value must cast to its column's type
    EXECUTE (SELECT 'SELECT ' || string_agg(@extschema@._retention_literal(s.value, format_type(a.atttypid, a.atttypmod)), ', ')
               FROM jsonb_each(spec) s
               JOIN pg_attribute a ON a.attrelid = rel AND a.attname = s.key AND a.attnum > 0 AND NOT a.attisdropped);
END
$$;

-- _tenant_column_of is the tenant column of rel: the isolated one, else a uuid
-- column named organization_id, else NULL (a table shared by all tenants).
CREATE FUNCTION @extschema@._tenant_column_of(rel regclass) RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT t.tenant_column FROM @extschema@.isolated_tables t WHERE t.rel = $1),
                (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = $1 AND a.attname = 'organization_id'
                    AND a.atttypid = 'uuid'::regtype AND NOT a.attisdropped));

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
    IF anonymize ? time_column THEN
        RAISE EXCEPTION 'cannot anonymize the time column "%"', time_column USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM @extschema@._check_anonymize(rel, anonymize);

    tcol := @extschema@._tenant_column_of(rel);

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
               INTO blocked USING held || @extschema@._retention_held_tenants(part);
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
        -- a hold on the table of the policy or on this partition of it
        USING now() - shortest, @extschema@._retention_held_tenants(p.rel) || @extschema@._retention_held_tenants(target);
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

-- GDPR: registered subject tables, subject export and erasure

CREATE TABLE @extschema@.gdpr_requests (
    id           bigserial   PRIMARY KEY,
    subject      uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('export', 'erasure')),
    requested_by name        NOT NULL DEFAULT session_user,
    requested_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    detail       jsonb
);
CREATE INDEX ON @extschema@.gdpr_requests (subject);
COMMENT ON TABLE @extschema@.gdpr_requests IS 'one row per subject export or erasure (tenantcore.export_subject, tenantcore.erase_subject)';

CREATE TABLE @extschema@.subject_tables (
    rel            regclass    NOT NULL,
    subject_column name        NOT NULL,
    on_erase       text        NOT NULL CHECK (on_erase IN ('anonymize', 'delete')),
    anonymize      jsonb       CHECK (anonymize IS NULL OR jsonb_typeof(anonymize) = 'object'),
    tenant_column  name,
    builtin        boolean     NOT NULL DEFAULT false,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rel, subject_column),
    CHECK ((on_erase = 'anonymize') = (anonymize IS NOT NULL))
);
COMMENT ON TABLE @extschema@.subject_tables IS
    'tables whose rows belong to a person (data subject), by column: exported and erased by tenantcore.export_subject/erase_subject';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.gdpr_requests', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.gdpr_requests_id_seq', '');
-- registrations of the extension's own tables (builtin, made by its install
-- script) are made again by CREATE EXTENSION on restore: not dumped
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subject_tables', 'WHERE NOT builtin');

-- register_subject_table declares that subject_column of rel references a
-- person: erase_subject() deletes that person's rows or overwrites the
-- columns named in anonymize with literal values.  Re-registering the same
-- column reconfigures it.
CREATE FUNCTION @extschema@.register_subject_table(rel regclass, subject_column name,
                                                   on_erase text DEFAULT 'anonymize', anonymize jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c    pg_class;
    typ  regtype;
    tcol name;
BEGIN
    IF rel IS NULL OR subject_column IS NULL OR on_erase IS NULL THEN
        RAISE EXCEPTION 'register_subject_table: table, subject column and on_erase must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    IF c.relispartition THEN
        RAISE EXCEPTION '"%" is a partition', rel USING ERRCODE = 'wrong_object_type',
            HINT = 'Register the partitioned table; its partitions are covered.';
    END IF;
    IF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot register temporary table "%" as a subject table', rel USING ERRCODE = 'feature_not_supported';
    END IF;
    SELECT a.atttypid INTO typ FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = subject_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', subject_column, rel USING ERRCODE = 'undefined_column';
    END IF;
    IF typ <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'column "%" of relation "%" is of type %, not uuid', subject_column, rel, typ
            USING ERRCODE = 'datatype_mismatch', HINT = 'The subject column holds the id of a person (a uuid).';
    END IF;
    IF on_erase NOT IN ('anonymize', 'delete') THEN
        RAISE EXCEPTION 'invalid on_erase action "%"', on_erase
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use anonymize or delete.';
    END IF;
    IF (on_erase = 'anonymize') <> (anonymize IS NOT NULL) THEN
        RAISE EXCEPTION 'anonymize must be given for on_erase anonymize and only for it'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass anonymize => ''{"email": "deleted@example.invalid", "name": "Deleted User"}''.';
    END IF;
    PERFORM @extschema@._check_anonymize(rel, anonymize);
    IF anonymize ? subject_column AND jsonb_typeof(anonymize -> subject_column) <> 'null' THEN
        RAISE EXCEPTION 'the subject column "%" can only be anonymized to null', subject_column
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Another value would attribute the rows to another person.';
    END IF;

    tcol := @extschema@._tenant_column_of(rel);

    INSERT INTO @extschema@.subject_tables AS s (rel, subject_column, on_erase, anonymize, tenant_column)
    VALUES (rel, subject_column, on_erase, anonymize, tcol)
    ON CONFLICT ON CONSTRAINT subject_tables_pkey DO UPDATE
       SET on_erase = EXCLUDED.on_erase, anonymize = EXCLUDED.anonymize, tenant_column = EXCLUDED.tenant_column;
END
$$;
COMMENT ON FUNCTION @extschema@.register_subject_table(regclass, name, text, jsonb) IS
    'declare a column that references a person: export_subject exports its rows, erase_subject deletes or anonymizes them';

CREATE FUNCTION @extschema@.unregister_subject_table(rel regclass, subject_column name DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'unregister_subject_table: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM @extschema@.subject_tables s
     WHERE s.rel = unregister_subject_table.rel
       AND (unregister_subject_table.subject_column IS NULL OR s.subject_column = unregister_subject_table.subject_column);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE NOTICE 'table % is not a registered subject table, skipping', rel;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.unregister_subject_table(regclass, name) IS
    'forget a subject table (or one of its subject columns)';

-- _gdpr_decrypt decrypts one protected value of a tenant for an export:
-- {"value": plaintext} or {"value": null, "error": message} when it cannot
-- (shredded tenant, destroyed key, corrupt ciphertext).
CREATE FUNCTION @extschema@._gdpr_decrypt(ciphertext bytea, tenant uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF ciphertext IS NULL THEN
        RETURN jsonb_build_object('value', NULL);
    END IF;
    RETURN jsonb_build_object('value', @extschema@.decrypt_pii(ciphertext, tenant));
EXCEPTION WHEN OTHERS THEN
    RETURN jsonb_build_object('value', NULL, 'error', SQLERRM);
END
$$;

-- export_subject returns everything the registered tables and the audit log
-- hold about one person, across all tenants, protected columns decrypted.
CREATE FUNCTION @extschema@.export_subject(subject uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t       record;
    p       record;
    r       record;
    j       jsonb;
    d       jsonb;
    rows    jsonb;
    tables  jsonb := '{}';
    counts  jsonb := '{}';
    notes   jsonb := '[]';
    audit   jsonb := '[]';
    has_log boolean := to_regclass('@extschema@.audit_log') IS NOT NULL;
    req     bigint;
BEGIN
    IF subject IS NULL THEN
        RAISE EXCEPTION 'export_subject: subject must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOR t IN SELECT s.rel, s.tenant_column,
                    string_agg(format('%I = $1', s.subject_column), ' OR ' ORDER BY s.subject_column) AS filter
               FROM @extschema@.subject_tables s GROUP BY s.rel, s.tenant_column ORDER BY s.rel::text LOOP
        rows := '[]';
        FOR r IN EXECUTE format('SELECT to_jsonb(x) AS j FROM %s x WHERE %s', t.rel, t.filter) USING subject LOOP
            j := r.j;
            -- protected columns: the plaintext under the column's name, no ciphertext
            FOR p IN SELECT * FROM @extschema@.protected_columns pc WHERE pc.rel = t.rel ORDER BY pc.column_name LOOP
                d := @extschema@._gdpr_decrypt(decode(substr(j ->> p.encrypted_column, 3), 'hex'),
                                               (j ->> p.tenant_column)::uuid);
                j := (j - p.encrypted_column::text - coalesce(p.blind_index_column::text, ''))
                     || jsonb_build_object(p.column_name, d -> 'value');
                IF d ? 'error' THEN
                    notes := notes || jsonb_build_object('table', t.rel::text, 'column', p.column_name,
                                                         'tenant', j -> p.tenant_column::text,
                                                         'note', 'could not decrypt: ' || (d ->> 'error'));
                END IF;
            END LOOP;
            rows := rows || jsonb_build_array(j);
        END LOOP;
        tables := tables || jsonb_build_object(t.rel::text, rows);
        counts := counts || jsonb_build_object(t.rel::text, jsonb_array_length(rows));
    END LOOP;

    -- the audit log (added by the audit part) may be absent
    IF has_log THEN
        EXECUTE 'SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.occurred_at, a.id), ''[]'')
                   FROM @extschema@.audit_log a WHERE a.actor_id = $1'
           INTO audit USING subject;
    END IF;

    INSERT INTO @extschema@.gdpr_requests (subject, kind, completed_at, detail)
    VALUES (subject, 'export', clock_timestamp(),
            jsonb_build_object('rows', counts, 'audit_entries', CASE WHEN has_log THEN jsonb_array_length(audit) END,
                               'decrypt_errors', jsonb_array_length(notes)))
    RETURNING id INTO req;

    RETURN jsonb_build_object('subject', subject, 'request_id', req, 'exported_at', now(),
                              'tables', tables, 'audit', audit, 'notes', notes);
END
$$;
COMMENT ON FUNCTION @extschema@.export_subject(uuid) IS
    'everything the registered subject tables and the audit log hold about a person, in every tenant, as JSON';

-- erase_subject deletes or anonymizes a person's rows in every registered
-- table of every tenant and detaches the person from audit entries as actor,
-- in one transaction; refused as a whole when a legal hold covers any row it
-- would change.  Idempotent.
CREATE FUNCTION @extschema@.erase_subject(subject uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET tenantcore.tenant_id = ''
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
    FOR s IN SELECT * FROM @extschema@.subject_tables st WHERE st.tenant_column IS NOT NULL ORDER BY st.rel::text, st.subject_column LOOP
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
        IF s.on_erase = 'delete' THEN
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
    'delete or anonymize a person''s rows in every registered table of every tenant, detach them from audit entries; one transaction, idempotent';

-- Forget the subject tables of dropped tables.
CREATE FUNCTION @extschema@._gdpr_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.subject_tables s
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objid = s.rel::oid AND d.objsubid = 0;
END
$$;
CREATE EVENT TRIGGER tenantcore_forget_dropped_subject_tables ON sql_drop
    EXECUTE FUNCTION @extschema@._gdpr_on_sql_drop();

-- Exports and erasures cross tenants: only superusers and roles a DBA grants.
REVOKE EXECUTE ON FUNCTION @extschema@.register_subject_table(regclass, name, text, jsonb),
    @extschema@.unregister_subject_table(regclass, name), @extschema@._gdpr_decrypt(bytea, uuid),
    @extschema@.export_subject(uuid), @extschema@.erase_subject(uuid), @extschema@._gdpr_on_sql_drop()
  FROM PUBLIC;
