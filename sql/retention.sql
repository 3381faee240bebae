-- sql/retention.sql -- retention policies, legal holds, the batched runner, pg_cron scheduling.
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

COMMENT ON TABLE @extschema@.retention_policies IS 'how long rows of a table are kept (tenantcore.retain)';
COMMENT ON COLUMN @extschema@.retention_policies.builtin IS
    'made by the extension''s install script (negative id); not dumped, changes are kept in retention_builtin_settings';

COMMENT ON TABLE @extschema@.retention_overrides IS 'per-tenant retention periods (tenantcore.retain_for_tenant)';

COMMENT ON TABLE @extschema@.legal_holds IS 'legal holds: no retention deletes for a tenant (or one of its tables) until released';

COMMENT ON TABLE @extschema@.retention_runs IS 'one row per policy per run of tenantcore.run_retention()';

-- _retention_literal is the SQL literal that replaces a column's value when a
-- row is anonymized: a JSON null is NULL, a JSON string its text, anything
-- else its JSON text; cast to the column's type.
CREATE OR REPLACE FUNCTION @extschema@._retention_literal(value jsonb, typ text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN value IS NULL OR jsonb_typeof(value) = 'null' THEN 'NULL::' || typ
            ELSE format('%L::%s', value #>> '{}', typ) END;

-- _retention_anonymize_sql returns the SET list and the "already anonymized"
-- condition of an anonymize policy.
CREATE OR REPLACE FUNCTION @extschema@._retention_anonymize_sql(rel regclass, spec jsonb,
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
CREATE OR REPLACE FUNCTION @extschema@._check_anonymize(rel regclass, spec jsonb) RETURNS void
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
CREATE OR REPLACE FUNCTION @extschema@._tenant_column_of(rel regclass) RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT t.tenant_column FROM @extschema@.isolated_tables t WHERE t.rel = $1),
                (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = $1 AND a.attname = 'organization_id'
                    AND a.atttypid = 'uuid'::regtype AND NOT a.attisdropped));

-- _retention_policy finds the one policy of a table (or the one on time_column).
CREATE OR REPLACE FUNCTION @extschema@._retention_policy(rel regclass, time_column name) RETURNS integer
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

-- _retention_held_tenants lists the tenants with an active hold on rel.
CREATE OR REPLACE FUNCTION @extschema@._retention_held_tenants(rel regclass) RETURNS uuid[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT array_agg(DISTINCT h.organization_id) FROM @extschema@.legal_holds h
                  WHERE h.released_at IS NULL AND (h.rel IS NULL OR h.rel = $1)), '{}');

-- _retention_batch deletes or anonymizes up to batch_size rows of one table
-- (a leaf, not a partitioned parent) older than cutoff, for one tenant or for
-- all rows when tenant_column is NULL, skipping rows locked by writers.
CREATE OR REPLACE FUNCTION @extschema@._retention_batch(p @extschema@.retention_policies, target regclass,
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
    -- makes the rows pass row level security.  set_tenant() rather than the
    -- setting itself: on a Citus coordinator it also reaches the workers.
    IF tenant IS NULL THEN
        PERFORM pg_catalog.set_config('tenantcore.tenant_id', '', true);
    ELSE
        PERFORM @extschema@.set_tenant(tenant);
    END IF;
    PERFORM pg_catalog.set_config('role', owner, true);
    -- the tenant filter on the outer statement too: the same rows, and on
    -- Citus a statement routed to the tenant's shard (a ctid means nothing
    -- across shards)
    IF p.action = 'delete' THEN
        EXECUTE format('DELETE FROM %s WHERE %s AND ctid = ANY (ARRAY(SELECT ctid FROM %s WHERE %s LIMIT $3 FOR UPDATE SKIP LOCKED))',
                       target, filter, target, filter)
          USING cutoff, tenant, batch_size;
    ELSE
        EXECUTE format('UPDATE %s SET %s WHERE %s AND ctid = ANY (ARRAY(SELECT ctid FROM %s WHERE %s AND NOT (%s) LIMIT $3 FOR UPDATE SKIP LOCKED))',
                       target, sql.set_list, filter, target, filter, sql.done)
          USING cutoff, tenant, batch_size;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM pg_catalog.set_config('role', 'none', true);
    IF tenant IS NULL THEN
        PERFORM pg_catalog.set_config('tenantcore.tenant_id', '', true);
    ELSE
        PERFORM @extschema@.clear_tenant();
    END IF;
    RETURN n;
END
$$;

-- _retention_partitions lists the partitions of a drop_partition policy that
-- lie wholly before the cutoff and hold no row that a legal hold or a longer
-- per-tenant period still protects.
CREATE OR REPLACE FUNCTION @extschema@._retention_partitions(p @extschema@.retention_policies, cutoff timestamptz)
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

-- _retention_tenants lists the tenants of one table that have rows older than
-- the shortest period that applies to any of them and no legal hold.
CREATE OR REPLACE FUNCTION @extschema@._retention_tenants(p @extschema@.retention_policies, target regclass) RETURNS SETOF uuid
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
CREATE OR REPLACE FUNCTION @extschema@._retention_on_sql_drop() RETURNS event_trigger
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

DROP EVENT TRIGGER IF EXISTS tenantcore_forget_dropped_retention;
CREATE EVENT TRIGGER tenantcore_forget_dropped_retention ON sql_drop
    EXECUTE FUNCTION @extschema@._retention_on_sql_drop();

CREATE OR REPLACE FUNCTION @extschema@._cron_job_name(database name) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'tenantcore-retention-' || database;

COMMENT ON TABLE @extschema@.retention_builtin_settings IS
    'a DBA''s period and enabled flag of a built-in retention policy; dumped, and applied to the policy again on restore';

-- _retention_builtin_capture records a change of a built-in policy's period
-- or enabled flag in retention_builtin_settings (not the extension scripts'
-- own changes of its defaults).
CREATE OR REPLACE FUNCTION @extschema@._retention_builtin_capture() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT @extschema@._creating_extension() THEN
        INSERT INTO @extschema@.retention_builtin_settings AS s (policy_id, keep, enabled)
        VALUES (NEW.id, NEW.keep, NEW.enabled)
        ON CONFLICT (policy_id) DO UPDATE
           SET keep = EXCLUDED.keep, enabled = EXCLUDED.enabled, changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at
         WHERE (s.keep, s.enabled) IS DISTINCT FROM (EXCLUDED.keep, EXCLUDED.enabled);
    END IF;
    RETURN NULL;
END
$$;

-- _retention_builtin_apply gives built-in policies the settings recorded for
-- them: when pg_restore loads retention_builtin_settings (trigger), and at
-- the start of every run (for a data-only restore with triggers disabled).
CREATE OR REPLACE FUNCTION @extschema@._retention_builtin_apply() RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    UPDATE @extschema@.retention_policies p SET keep = s.keep, enabled = s.enabled
      FROM @extschema@.retention_builtin_settings s
     WHERE p.id = s.policy_id AND (p.keep, p.enabled) IS DISTINCT FROM (s.keep, s.enabled);
END;

-- _retention_builtin_apply_trigger runs _retention_builtin_apply() after rows
-- of retention_builtin_settings are loaded or changed.
CREATE OR REPLACE FUNCTION @extschema@._retention_builtin_apply_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@._retention_builtin_apply();
    RETURN NULL;
END
$$;

-- _retention_caller is the role the retention functions (SECURITY DEFINER)
-- act for: the role of SET ROLE, else the session user.
CREATE OR REPLACE FUNCTION @extschema@._retention_caller() RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user
            ELSE pg_catalog.current_setting('role')::name END;

-- _retention_check_owner raises 42501 unless the caller owns rel (or is a
-- member of its owner role, or a superuser); rel NULL (every table of a
-- tenant) needs a superuser.
CREATE OR REPLACE FUNCTION @extschema@._retention_check_owner(rel regclass, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := @extschema@._retention_caller();
    owner  oid := (SELECT c.relowner FROM pg_class c WHERE c.oid = rel);
BEGIN
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = caller) THEN
        RETURN;
    END IF;
    IF owner IS NULL THEN
        RAISE EXCEPTION 'must be superuser to %', what
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A table''s owner can do it for that table only: name the table.';
    END IF;
    IF NOT pg_has_role(caller, owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', rel
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('The retention policies and legal holds of a table are set by its owner, a member of the owner role, or a superuser; role %s is none of these.', caller);
    END IF;
END
$$;

-- _retention_check validates a policy and returns the tenant column it will
-- use; shared by retain() and _builtin_retain().
CREATE OR REPLACE FUNCTION @extschema@._retention_check(rel regclass, time_column name, keep interval,
                                             action text, anonymize jsonb) RETURNS name
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c   pg_class;
    typ regtype;
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
    IF keep < interval '0' THEN
        RAISE EXCEPTION 'retention period "%" is negative', keep USING ERRCODE = 'invalid_parameter_value';
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
    RETURN @extschema@._tenant_column_of(rel);
END
$$;

-- retain sets the retention policy of a table (the caller must own it; a
-- keep of 0 is allowed).  On a built-in policy the action stays: action NULL
-- means delete, or the built-in policy's own action.
CREATE OR REPLACE FUNCTION @extschema@.retain(rel regclass, time_column name, keep interval,
                                              action text DEFAULT NULL, anonymize jsonb DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b    @extschema@.retention_policies;
    tcol name;
    pid  integer;
BEGIN
    IF rel IS NULL OR time_column IS NULL OR keep IS NULL THEN
        RAISE EXCEPTION 'retain: table, time column and keep must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._retention_check_owner(rel, 'set its retention policy');
    SELECT * INTO b FROM @extschema@.retention_policies p
     WHERE p.rel = retain.rel AND p.time_column = retain.time_column AND p.builtin;
    IF FOUND THEN
        -- a built-in policy: only its period changes (and it is enabled)
        IF (action IS NOT NULL AND action <> b.action) OR (anonymize IS NOT NULL AND anonymize IS DISTINCT FROM b.anonymize) THEN
            RAISE EXCEPTION 'cannot change the action of built-in retention policy % of %', b.id, rel
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = format('Its action is %s.', b.action),
                      HINT = 'Change its period with tenantcore.retain(rel, time_column, keep), or turn it off with tenantcore.disable_retention(rel).';
        END IF;
        PERFORM @extschema@._retention_check(rel, time_column, keep, b.action, b.anonymize);
        UPDATE @extschema@.retention_policies p SET keep = retain.keep, enabled = true WHERE p.id = b.id;
        RETURN b.id;
    END IF;

    action := coalesce(action, 'delete');
    tcol := @extschema@._retention_check(rel, time_column, keep, action, anonymize);
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

-- _builtin_retain installs a built-in policy with a fixed negative id, for
-- the extension's own tables (called by the install scripts).  A policy a
-- DBA had made on the same table and column becomes the built-in one: its
-- period, enabled flag, per-tenant periods and run log entries are kept.
-- Called again (by a later version), it updates the policy but leaves its
-- period and enabled flag as they are: they may be a DBA's.
CREATE OR REPLACE FUNCTION @extschema@._builtin_retain(id integer, rel regclass, time_column name, keep interval,
                                            action text DEFAULT 'delete', enabled boolean DEFAULT true,
                                            anonymize jsonb DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tcol name;
    prev @extschema@.retention_policies;
BEGIN
    IF id IS NULL OR id >= 0 OR enabled IS NULL THEN
        RAISE EXCEPTION '_builtin_retain: the id of a built-in policy must be negative, and enabled not null'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    tcol := @extschema@._retention_check(rel, time_column, keep, action, anonymize);

    SELECT * INTO prev FROM @extschema@.retention_policies p
     WHERE p.rel = _builtin_retain.rel AND p.time_column = _builtin_retain.time_column AND p.id <> _builtin_retain.id;
    IF FOUND AND prev.builtin THEN
        RAISE EXCEPTION 'table % already has built-in retention policy % on column "%"', rel, prev.id, time_column
            USING ERRCODE = 'duplicate_object';
    END IF;
    IF FOUND THEN
        -- free (rel, time_column) for the built-in row, then move the DBA's policy onto it
        UPDATE @extschema@.retention_policies p SET time_column = '' WHERE p.id = prev.id;
    END IF;

    INSERT INTO @extschema@.retention_policies AS p (id, rel, time_column, keep, action, anonymize, tenant_column, enabled, builtin)
    VALUES (id, rel, time_column, keep, action, anonymize, tcol, enabled, true)
    ON CONFLICT ON CONSTRAINT retention_policies_pkey DO UPDATE
       SET rel = EXCLUDED.rel, time_column = EXCLUDED.time_column, action = EXCLUDED.action,
           anonymize = EXCLUDED.anonymize, tenant_column = EXCLUDED.tenant_column;

    IF prev.id IS NOT NULL THEN
        UPDATE @extschema@.retention_overrides o SET policy_id = _builtin_retain.id WHERE o.policy_id = prev.id;
        UPDATE @extschema@.retention_runs r SET policy_id = _builtin_retain.id WHERE r.policy_id = prev.id;
        DELETE FROM @extschema@.retention_policies p WHERE p.id = prev.id;
        INSERT INTO @extschema@.retention_builtin_settings AS s (policy_id, keep, enabled)
        VALUES (id, prev.keep, prev.enabled)
        ON CONFLICT (policy_id) DO UPDATE SET keep = EXCLUDED.keep, enabled = EXCLUDED.enabled;
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@._builtin_retain(integer, regclass, name, interval, text, boolean, jsonb) IS
    'internal: install a built-in retention policy (fixed negative id) on one of the extension''s own tables';

-- unretain removes a table's retention policy (the caller must own the
-- table); built-in policies cannot be
-- removed (they would come back on restore), only disabled.
CREATE OR REPLACE FUNCTION @extschema@.unretain(rel regclass, time_column name DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n   integer;
    bid integer;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'unretain: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._retention_check_owner(rel, 'remove its retention policy');
    SELECT p.id INTO bid FROM @extschema@.retention_policies p
     WHERE p.rel = unretain.rel AND (unretain.time_column IS NULL OR p.time_column = unretain.time_column) AND p.builtin
     ORDER BY p.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot remove built-in retention policy % of %', bid, rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Turn it off with SELECT tenantcore.disable_retention(%L); that survives pg_dump.', rel::text);
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

-- _retention_enable turns one policy on or off.
CREATE OR REPLACE FUNCTION @extschema@._retention_enable(rel regclass, time_column name, enabled boolean) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid integer;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION '%: table must not be null', CASE WHEN enabled THEN 'enable_retention' ELSE 'disable_retention' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._retention_check_owner(rel, 'change its retention policy');
    pid := @extschema@._retention_policy(rel, time_column);
    UPDATE @extschema@.retention_policies p SET enabled = _retention_enable.enabled WHERE p.id = pid;
END
$$;

-- enable_retention and disable_retention turn a table's policy on or off
-- (for built-in policies the trigger records it for pg_dump).
CREATE OR REPLACE FUNCTION @extschema@.enable_retention(rel regclass, time_column name DEFAULT NULL) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT @extschema@._retention_enable(rel, time_column, true);
END;
COMMENT ON FUNCTION @extschema@.enable_retention(regclass, name) IS
    'turn a table''s retention policy on again (built-in ones too; survives pg_dump)';

CREATE OR REPLACE FUNCTION @extschema@.disable_retention(rel regclass, time_column name DEFAULT NULL) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT @extschema@._retention_enable(rel, time_column, false);
END;
COMMENT ON FUNCTION @extschema@.disable_retention(regclass, name) IS
    'turn a table''s retention policy off without forgetting it (built-in ones too; survives pg_dump)';

-- retain_for_tenant keeps one tenant's rows of a table for another period
-- (the caller must own the table; a keep of 0 is allowed).
CREATE OR REPLACE FUNCTION @extschema@.retain_for_tenant(rel regclass, tenant uuid, keep interval, time_column name DEFAULT NULL)
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
    PERFORM @extschema@._retention_check_owner(rel, 'set a tenant''s retention period');
    pid := @extschema@._retention_policy(rel, time_column);
    IF (SELECT p.tenant_column IS NULL FROM @extschema@.retention_policies p WHERE p.id = pid) THEN
        RAISE EXCEPTION 'table % has no tenant column, so it has no per-tenant retention', rel
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF keep IS NULL THEN
        DELETE FROM @extschema@.retention_overrides o WHERE o.policy_id = pid AND o.organization_id = tenant;
        RETURN;
    END IF;
    IF keep < interval '0' THEN
        RAISE EXCEPTION 'retention period "%" is negative', keep USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.retention_overrides (policy_id, organization_id, keep) VALUES (pid, tenant, keep)
    ON CONFLICT ON CONSTRAINT retention_overrides_pkey DO UPDATE SET keep = EXCLUDED.keep;
END
$$;
COMMENT ON FUNCTION @extschema@.retain_for_tenant(regclass, uuid, interval, name) IS
    'keep one tenant''s rows of a table for another period (NULL removes the override)';

-- hold places a legal hold on a tenant's rows of a table (the caller must
-- own it); a hold on every table of a tenant needs a superuser.
CREATE OR REPLACE FUNCTION @extschema@.hold(tenant uuid, rel regclass DEFAULT NULL, reason text DEFAULT NULL) RETURNS bigint
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
    PERFORM @extschema@._retention_check_owner(rel, 'place a legal hold on every table of a tenant');
    INSERT INTO @extschema@.legal_holds (organization_id, rel, reason) VALUES (tenant, rel, reason)
    RETURNING id INTO hid;
    RETURN hid;
END
$$;
COMMENT ON FUNCTION @extschema@.hold(uuid, regclass, text) IS
    'place a legal hold: retention deletes nothing of the tenant (or of the tenant in one table) until released';

-- release_hold releases a legal hold (the caller must own the hold's table).
CREATE OR REPLACE FUNCTION @extschema@.release_hold(hold_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h @extschema@.legal_holds;
BEGIN
    IF hold_id IS NULL THEN
        RAISE EXCEPTION 'release_hold: hold id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO h FROM @extschema@.legal_holds l WHERE l.id = hold_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'legal hold % does not exist', hold_id USING ERRCODE = 'no_data_found';
    END IF;
    -- a hold on every table (or on a dropped one) is released by a superuser
    PERFORM @extschema@._retention_check_owner(
        CASE WHEN EXISTS (SELECT FROM pg_class c WHERE c.oid = h.rel) THEN h.rel END,
        'release a legal hold on every table of a tenant (or on a dropped table)');
    UPDATE @extschema@.legal_holds l SET released_at = coalesce(l.released_at, now()) WHERE l.id = hold_id;
END
$$;
COMMENT ON FUNCTION @extschema@.release_hold(bigint) IS 'release a legal hold (idempotent)';

CREATE OR REPLACE PROCEDURE @extschema@.run_retention(max_runtime interval DEFAULT '10 minutes',
                                           batch_size integer DEFAULT 1000,
                                           pause_ratio real DEFAULT 2)
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
    worked   timestamptz;
BEGIN
    IF max_runtime IS NULL OR max_runtime <= interval '0' THEN
        RAISE EXCEPTION 'max_runtime must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pause_ratio IS NULL OR NOT pause_ratio BETWEEN 0 AND 100 THEN
        RAISE EXCEPTION 'pause_ratio must be between 0 and 100' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- a procedure that commits cannot pin search_path with SET; do it per transaction
    PERFORM @extschema@._retention_tx_settings();
    PERFORM @extschema@._retention_builtin_apply();
    SELECT pg_catalog.array_agg(rp.id ORDER BY rp.id) INTO pids
      FROM @extschema@.retention_policies rp WHERE rp.enabled;
    COMMIT;
    PERFORM @extschema@._retention_tx_settings();
    worked := clock_timestamp();

    FOREACH pid IN ARRAY coalesce(pids, '{}') LOOP
        EXIT WHEN pg_catalog.clock_timestamp() >= deadline;
        SELECT * INTO p FROM @extschema@.retention_policies rp WHERE rp.id = pid;
        CONTINUE WHEN NOT FOUND;
        INSERT INTO @extschema@.retention_runs (policy_id, rel, action, started_at)
        VALUES (p.id, p.rel::text, p.action, clock_timestamp()) RETURNING id INTO run_id;
        COMMIT;
        PERFORM @extschema@._retention_tx_settings();
        total := 0; dropped := 0; notes := '{}'; err := NULL;

        BEGIN
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
        PERFORM @extschema@._retention_tx_settings();

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
                        PERFORM @extschema@._retention_tx_settings();
                        EXIT targets WHEN err IS NOT NULL;
                        -- leave the machine to others for pause_ratio times
                        -- as long as the runner worked since its last pause
                        IF n > 0 AND pause_ratio > 0 THEN
                            PERFORM pg_sleep(least(extract(epoch FROM clock_timestamp() - worked) * pause_ratio,
                                                   greatest(extract(epoch FROM deadline - clock_timestamp()), 0)));
                            worked := clock_timestamp();
                        END IF;
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
        PERFORM @extschema@._retention_tx_settings();
    END LOOP;
END
$$;
COMMENT ON PROCEDURE @extschema@.run_retention(interval, integer, real) IS
    'apply every enabled retention policy in bounded batches, committing and pausing between them';
REVOKE EXECUTE ON PROCEDURE @extschema@.run_retention(interval, integer, real) FROM PUBLIC;

-- _cron_check(func, statements) raises the error that says why pg_cron cannot
-- be used from this database, if it cannot; statements are what to run in
-- the database named by cron.database_name instead
CREATE OR REPLACE FUNCTION @extschema@._cron_check(func text, statements text) RETURNS void
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
-- Retention deletes data: only superusers and roles a DBA grants may use it.
REVOKE EXECUTE ON FUNCTION @extschema@.retain(regclass, name, interval, text, jsonb),
    @extschema@.unretain(regclass, name), @extschema@.retain_for_tenant(regclass, uuid, interval, name),
    @extschema@.hold(uuid, regclass, text), @extschema@.release_hold(bigint),
    @extschema@.schedule_retention(text, name), @extschema@.unschedule_retention(name),
    @extschema@._retention_batch(@extschema@.retention_policies, regclass, uuid, timestamptz, integer),
    @extschema@._retention_partitions(@extschema@.retention_policies, timestamptz),
    @extschema@._retention_tenants(@extschema@.retention_policies, regclass)
  FROM PUBLIC;

-- CALL run_retention() inside BEGIN failed at its first COMMIT with
-- PostgreSQL's "invalid transaction termination".  The settings every
-- transaction of the runner pins are set first thing, so that is where the
-- runner now says what is wrong (SQL cannot see a transaction block: a C
-- helper tells).
CREATE OR REPLACE FUNCTION @extschema@._in_transaction_block() RETURNS boolean
LANGUAGE C VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'tenantcore_in_transaction_block';
COMMENT ON FUNCTION @extschema@._in_transaction_block() IS
    'whether the current statement runs inside a transaction block (BEGIN ... COMMIT)';

-- _retention_tx_settings pins what every transaction of the runner needs:
-- its search_path, and no parallel workers (they would take the CPU of
-- concurrent writers for a background job).
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
REVOKE EXECUTE ON FUNCTION @extschema@._retention_builtin_capture(), @extschema@._retention_builtin_apply(),
    @extschema@._retention_builtin_apply_trigger(), @extschema@._retention_check_owner(regclass, text),
    @extschema@._retention_check(regclass, name, interval, text, jsonb),
    @extschema@._builtin_retain(integer, regclass, name, interval, text, boolean, jsonb),
    @extschema@._retention_enable(regclass, name, boolean),
    @extschema@.enable_retention(regclass, name), @extschema@.disable_retention(regclass, name),
    @extschema@._retention_tx_settings()
  FROM PUBLIC;

CREATE OR REPLACE TRIGGER retention_builtin_apply AFTER INSERT OR UPDATE ON @extschema@.retention_builtin_settings
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._retention_builtin_apply_trigger();

CREATE OR REPLACE TRIGGER retention_builtin_capture AFTER UPDATE OF keep, enabled ON @extschema@.retention_policies
    FOR EACH ROW WHEN (NEW.builtin AND (OLD.keep, OLD.enabled) IS DISTINCT FROM (NEW.keep, NEW.enabled))
    EXECUTE FUNCTION @extschema@._retention_builtin_capture();
