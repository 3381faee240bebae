-- sql/gdpr.sql -- GDPR: subject tables, export_subject(), erase_subject().
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

COMMENT ON TABLE @extschema@.gdpr_requests IS 'one row per subject export or erasure (tenantcore.export_subject, tenantcore.erase_subject)';

COMMENT ON TABLE @extschema@.subject_tables IS
    'tables whose rows belong to a person (data subject), by column: exported and erased by tenantcore.export_subject/erase_subject';

CREATE OR REPLACE FUNCTION @extschema@.unregister_subject_table(rel regclass, subject_column name DEFAULT NULL) RETURNS integer
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
CREATE OR REPLACE FUNCTION @extschema@._gdpr_decrypt(ciphertext bytea, tenant uuid) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION @extschema@.export_subject(subject uuid) RETURNS jsonb
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

-- Forget the subject tables of dropped tables.
CREATE OR REPLACE FUNCTION @extschema@._gdpr_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.subject_tables s
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objid = s.rel::oid AND d.objsubid = 0;
END
$$;

DROP EVENT TRIGGER IF EXISTS tenantcore_forget_dropped_subject_tables;
CREATE EVENT TRIGGER tenantcore_forget_dropped_subject_tables ON sql_drop
    EXECUTE FUNCTION @extschema@._gdpr_on_sql_drop();

-- register_subject_table declares that subject_column of rel references a
-- person: erase_subject() deletes that person's rows, overwrites the columns
-- named in anonymize with literal values, or (keep) only exports them.
-- Re-registering the same column reconfigures it.
CREATE OR REPLACE FUNCTION @extschema@.register_subject_table(rel regclass, subject_column name,
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
    IF on_erase NOT IN ('anonymize', 'delete', 'keep') THEN
        RAISE EXCEPTION 'invalid on_erase action "%"', on_erase
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use anonymize, delete or keep.';
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
    'declare a column that references a person: export_subject exports its rows, erase_subject deletes, anonymizes or keeps them';

-- erase_subject deletes or anonymizes a person's rows in every registered
-- table of every tenant (and leaves the rows of 'keep' registrations alone)
-- and detaches the person from audit entries as actor, in one transaction; refused as a whole when a legal hold covers any row it
-- would change.  Idempotent.
-- It clears tenantcore.context_token too (SET clause), so it runs without a
-- tenant from any source.
CREATE OR REPLACE FUNCTION @extschema@.erase_subject(subject uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET citus.multi_shard_modify_mode = 'sequential'
SET tenantcore.tenant_id = ''
SET tenantcore.context_token = ''
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
    FOR s IN SELECT * FROM @extschema@.subject_tables st
              WHERE st.tenant_column IS NOT NULL AND st.on_erase <> 'keep' ORDER BY st.rel::text, st.subject_column LOOP
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
        IF s.on_erase = 'keep' THEN
            -- nothing changes; the summary says how many rows stay linked
            EXECUTE format('SELECT count(*) FROM %s WHERE %I = $1', s.rel, s.subject_column) INTO n USING subject;
            summary := summary || jsonb_build_object(format('%s.%s', s.rel, quote_ident(s.subject_column)),
                                                     jsonb_build_object('action', 'keep', 'rows', 0, 'kept', n));
            CONTINUE;
        ELSIF s.on_erase = 'delete' THEN
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
        PERFORM @extschema@._audit_internal(true);
        EXECUTE 'UPDATE @extschema@.audit_log SET actor_id = NULL WHERE actor_id = $1' USING subject;
        GET DIAGNOSTICS audit_n = ROW_COUNT;
        PERFORM @extschema@._audit_internal(false);
    END IF;

    INSERT INTO @extschema@.gdpr_requests (subject, kind, completed_at, detail)
    VALUES (subject, 'erasure', clock_timestamp(),
            jsonb_build_object('tables', summary, 'audit_entries_detached', audit_n))
    RETURNING id INTO req;
    RETURN jsonb_build_object('subject', subject, 'request_id', req, 'tables', summary,
                              'audit_entries_detached', audit_n);
END
$$;
-- (citus.multi_shard_modify_mode: on a Citus cluster the erasure changes
-- reference tables, users among them, after distributed ones, which Citus
-- allows over one connection per node only; a placeholder without Citus)
COMMENT ON FUNCTION @extschema@.erase_subject(uuid) IS
    'delete or anonymize a person''s rows in every registered table of every tenant (keep: leave them), detach them from audit entries; one transaction, idempotent';
-- Exports and erasures cross tenants: only superusers and roles a DBA grants.
REVOKE EXECUTE ON FUNCTION @extschema@.register_subject_table(regclass, name, text, jsonb),
    @extschema@.unregister_subject_table(regclass, name), @extschema@._gdpr_decrypt(bytea, uuid),
    @extschema@.export_subject(uuid), @extschema@.erase_subject(uuid), @extschema@._gdpr_on_sql_drop()
  FROM PUBLIC;
