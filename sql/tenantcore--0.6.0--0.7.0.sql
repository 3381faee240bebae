-- tenantcore 0.6.0 -> 0.7.0: security hardening and the signed tenant context
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.7.0'" to load this file. \quit

-- ===========================================================================
-- Part 1: C entry points checked (protect trigger column types, relation 0,
-- internal trigger functions kept from PUBLIC)
-- ===========================================================================

-- (end of part 1)


-- ===========================================================================
-- Part 2: restore detection, invitations, role and database settings, lint
-- ===========================================================================

-- (end of part 2)


-- ===========================================================================
-- Part 3: signed tenant context (verified JWTs)
-- ===========================================================================

-- (end of part 3)


-- ===========================================================================
-- Part 4: holes found by the adversarial suite
-- ===========================================================================

-- (end of part 4)


-- ===========================================================================
-- Part 5: first hour (seed_demo, schedule_retention, history, audit partitions)
-- ===========================================================================

-- history() and row_as_of() take the primary key of the row as JSONB.  0.6.0
-- compared it with the stored key as given, so a key without the tenant
-- column of a (organization_id, id) key, a misspelled column or "1" for a
-- number found nothing, silently.  _audit_key checks the key against the
-- table's primary key: a missing tenant column is the current tenant, values
-- are converted to the column's type, anything else is an error that names
-- the key columns.
CREATE FUNCTION @extschema@._audit_key(rel regclass, pk jsonb, func text) RETURNS jsonb
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

-- history returns every change of one row, oldest first.
CREATE OR REPLACE FUNCTION @extschema@.history(rel regclass, pk jsonb)
RETURNS SETOF @extschema@.audit_log
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    qname text;
    key   jsonb;
BEGIN
    IF rel IS NULL OR pk IS NULL THEN
        RETURN;
    END IF;
    key := @extschema@._audit_key(rel, pk, 'history');
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
    e     record;
    state jsonb;
BEGIN
    IF rel IS NULL OR pk IS NULL OR at IS NULL THEN
        RETURN NULL;
    END IF;
    key := @extschema@._audit_key(rel, pk, 'row_as_of');
    SELECT format('%I.%I', n.nspname, c.relname) INTO qname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    FOR e IN
        SELECT l.id, l.operation, l.new_row FROM @extschema@.audit_log l
         WHERE l.table_name = qname AND l.pk = key AND l.occurred_at <= at
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
    'the JSONB state of one row at a time, replayed from its audit entries (key as in history()); NULL when it did not exist';

-- Audit partitions.  0.6.0 created the monthly partitions only in audit()
-- called by a superuser and in a scheduled audit_maintain(), so the core
-- tables' entries went to the default partition and the first
-- install_blueprint() announced that it moved them.  Now
-- schedule_retention() schedules audit_maintain() too, and moving entries out
-- of the default partition is reported at DEBUG1: it is what happens on every
-- fresh install (the core tables are audited before any partition exists).
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
            RAISE DEBUG 'moved % audit entries from the default partition to %', moved, pname;
        ELSE
            EXECUTE format('CREATE TABLE @extschema@.%I PARTITION OF @extschema@.audit_log FOR VALUES FROM (%L) TO (%L)',
                           pname, lo, hi);
        END IF;
        PERFORM @extschema@._audit_prepare_partition(format('@extschema@.%I', pname)::regclass);
        RETURN NEXT format('@extschema@.%I', pname)::regclass;
    END LOOP;
END
$$;


-- seed_demo(schema) fills a blueprint schema with two demo organizations
-- (Acme Accounting and Birch & Co), their users and a few rows per table.
-- 0.6.0 inserted the organizations with ON CONFLICT DO NOTHING, so after the
-- README's core schema step (an organization with slug 'acme') Acme
-- Accounting was silently skipped and the seeding failed on a foreign key.
-- The demo organizations keep their ids (documented, used by the demos) and
-- take another slug when theirs belongs to another organization; a demo
-- user's e-mail address taken by another user is a clear error.
CREATE OR REPLACE FUNCTION @extschema@.seed_demo(target_schema name, rows_per_tenant integer DEFAULT 3)
RETURNS TABLE (table_name regclass, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bp     text;
    org    record;
    u      record;
    new_slug text;
    tenant text := current_setting('tenantcore.tenant_id');
BEGIN
    IF target_schema IS NULL OR rows_per_tenant IS NULL THEN
        RAISE EXCEPTION 'seed_demo: schema and rows_per_tenant must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF rows_per_tenant NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'seed_demo: rows_per_tenant must be between 1 and 1000, not %', rows_per_tenant
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use tenantcore.seed_bench() for more rows.';
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to run seed_demo'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Run tenantcore.seed_demo() as a superuser.';
    END IF;
    bp := @extschema@._blueprint_of(target_schema, 'seed_demo');
    -- once per schema (a superuser sees every tenant's rows here)
    IF EXISTS (SELECT FROM @extschema@._blueprint_counts(target_schema) c WHERE c.row_count > 0) THEN
        RAISE NOTICE 'schema % already holds rows, skipping', quote_ident(target_schema);
        RETURN QUERY SELECT * FROM @extschema@._blueprint_counts(target_schema);
        RETURN;
    END IF;
    FOR u IN VALUES ('a11ce000-0000-4000-8000-000000000001'::uuid, 'alice@acme.example', 'Alice', 'Adams'),
                    ('a11ce000-0000-4000-8000-000000000002'::uuid, 'arjun@acme.example', 'Arjun', 'Acharya'),
                    ('b0b00000-0000-4000-8000-000000000001'::uuid, 'bob@birch.example', 'Bob', 'Brown'),
                    ('b0b00000-0000-4000-8000-000000000002'::uuid, 'bea@birch.example', 'Bea', 'Baker')
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM @extschema@.users x WHERE x.id = u.column1);
        IF EXISTS (SELECT FROM @extschema@.users x WHERE lower(x.email) = u.column2) THEN
            RAISE EXCEPTION 'seed_demo: the demo user''s e-mail address % belongs to another user', u.column2
                USING ERRCODE = 'unique_violation',
                      DETAIL = format('The demo users have fixed ids; %s is demo user %s.', u.column2, u.column1),
                      HINT = 'Seed the demo into a database without users of the example.com demo domains.';
        END IF;
        INSERT INTO @extschema@.users (id, email, first_name, last_name, status, is_verified)
        VALUES (u.column1, u.column2, u.column3, u.column4, 'active', true);
    END LOOP;
    FOR org IN VALUES ('ac3e0000-0000-4000-8000-00000000000a'::uuid, 'Acme Accounting', 'acme', 'professional',
                       'a11ce000-0000-4000-8000-000000000001'::uuid),
                      ('b1c40000-0000-4000-8000-00000000000b'::uuid, 'Birch & Co', 'birch', 'starter',
                       'b0b00000-0000-4000-8000-000000000001'::uuid)
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM @extschema@.organizations o WHERE o.id = org.column1);
        new_slug := org.column3;
        IF EXISTS (SELECT FROM @extschema@.organizations o WHERE o.slug = new_slug) THEN
            new_slug := org.column3 || '-demo';
            IF EXISTS (SELECT FROM @extschema@.organizations o WHERE o.slug = new_slug) THEN
                new_slug := org.column3 || '-demo-' || left(org.column1::text, 8);
            END IF;
            RAISE NOTICE 'demo organization "%" gets slug "%": "%" belongs to another organization',
                         org.column2, new_slug, org.column3;
        END IF;
        INSERT INTO @extschema@.organizations (id, name, slug, subscription_tier, owner_id)
        VALUES (org.column1, org.column2, new_slug, org.column4, org.column5);
    END LOOP;
    FOR org IN VALUES ('ac3e0000-0000-4000-8000-00000000000a'::uuid,
                       ARRAY['a11ce000-0000-4000-8000-000000000001', 'a11ce000-0000-4000-8000-000000000002']::uuid[]),
                      ('b1c40000-0000-4000-8000-00000000000b'::uuid,
                       ARRAY['b0b00000-0000-4000-8000-000000000001', 'b0b00000-0000-4000-8000-000000000002']::uuid[])
    LOOP
        PERFORM set_config('tenantcore.tenant_id', org.column1::text, true);
        PERFORM @extschema@._blueprint_fill(target_schema, bp, org.column1, org.column2, rows_per_tenant);
    END LOOP;
    PERFORM set_config('tenantcore.tenant_id', tenant, true);
    RETURN QUERY SELECT * FROM @extschema@._blueprint_counts(target_schema);
END
$$;

-- schedule_retention() and unschedule_retention().  0.6.0 said "pg_cron is
-- not installed in database ..." with a hint about shared_preload_libraries
-- in every case.  _cron_check names what is missing: pg_cron not loaded, the
-- extension not created in the database named by cron.database_name, or a
-- call from another database (pg_cron's functions exist only in that one),
-- with the statements to run.  schedule_retention() also schedules
-- audit_maintain() daily, so the audit log's monthly partitions are made
-- without a hidden step.
CREATE FUNCTION @extschema@._cron_audit_job_name(database name) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN 'tenantcore-audit-maintain-' || database;
COMMENT ON FUNCTION @extschema@._cron_audit_job_name(name) IS
    'the name of the pg_cron job of tenantcore.audit_maintain() for a database';

-- _cron_check(func, statements) raises the error that says why pg_cron cannot
-- be used from this database, if it cannot; statements are what to run in
-- the database named by cron.database_name instead
CREATE FUNCTION @extschema@._cron_check(func text, statements text) RETURNS void
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


-- isolate_schema() and unisolate_schema() refused a caller who does not own
-- the schema without saying what to do: the same checks, with a hint
CREATE OR REPLACE FUNCTION @extschema@.isolate_schema(schema_name regnamespace, tenant_column name DEFAULT 'organization_id')
RETURNS SETOF regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    IF schema_name IS NULL OR tenant_column IS NULL THEN
        RAISE EXCEPTION 'isolate_schema: schema and tenant column must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF schema_name IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, '@extschema@'::regnamespace)
       OR (SELECT nspname FROM pg_namespace WHERE oid = schema_name) LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'cannot isolate system or extension schema %', schema_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE oid = schema_name), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of schema %', schema_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.isolate_schema() as the owner of the schema (SET ROLE) or a superuser.';
    END IF;

    INSERT INTO @extschema@.isolated_schemas AS s (schema_name, tenant_column)
    VALUES ((SELECT n.nspname FROM pg_namespace n WHERE n.oid = isolate_schema.schema_name), isolate_schema.tenant_column)
    ON CONFLICT ON CONSTRAINT isolated_schemas_pkey DO UPDATE SET tenant_column = EXCLUDED.tenant_column;

    FOR rel IN
        SELECT c.oid FROM pg_class c
         WHERE c.relnamespace = isolate_schema.schema_name AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = isolate_schema.tenant_column
                          AND a.attnum > 0 AND NOT a.attisdropped)
           -- a table isolated on another column already is protected: leave it
           AND NOT EXISTS (SELECT FROM @extschema@.isolated_tables t
                            WHERE t.rel = c.oid AND t.tenant_column <> isolate_schema.tenant_column)
         ORDER BY c.oid
    LOOP
        RETURN NEXT @extschema@._isolate(rel, tenant_column, 'schema');
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.unisolate_schema(schema_name regnamespace) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    IF schema_name IS NULL THEN
        RAISE EXCEPTION 'unisolate_schema: schema must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE oid = schema_name), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of schema %', schema_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.unisolate_schema() as the owner of the schema (SET ROLE) or a superuser.';
    END IF;
    DELETE FROM @extschema@.isolated_schemas s
     WHERE s.schema_name = (SELECT n.nspname FROM pg_namespace n WHERE n.oid = unisolate_schema.schema_name);
    IF NOT FOUND THEN
        RAISE NOTICE 'schema % is not isolated, skipping', schema_name;
        RETURN;
    END IF;
    FOR rel IN SELECT t.rel FROM @extschema@.isolated_tables t JOIN pg_class c ON c.oid = t.rel
                WHERE c.relnamespace = unisolate_schema.schema_name AND t.source = 'schema'
    LOOP
        PERFORM @extschema@.unisolate(rel);
    END LOOP;
END
$$;

-- CALL run_retention() inside BEGIN failed at its first COMMIT with
-- PostgreSQL's "invalid transaction termination".  The settings every
-- transaction of the runner pins are set first thing, so that is where the
-- runner now says what is wrong (SQL cannot see a transaction block: a C
-- helper tells).
CREATE FUNCTION @extschema@._in_transaction_block() RETURNS boolean
LANGUAGE C VOLATILE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'tenantcore_in_transaction_block';
COMMENT ON FUNCTION @extschema@._in_transaction_block() IS
    'whether the current statement runs inside a transaction block (BEGIN ... COMMIT)';

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

-- (end of part 5)
