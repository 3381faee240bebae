-- sql/updates/0.6.0--0.7.0.post.sql -- the steps of 0.6.0 -> 0.7.0 that cannot be re-run,
-- run after (they use the functions of 0.7.0) the re-runnable sources (doc/design.md, "Source layout").

-- tables isolated before 0.7.0 (also the core tables) get the new default
-- where they still have the one isolate() set
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT i.rel, i.tenant_column FROM @extschema@.isolated_tables i
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.rel AND a.attname = i.tenant_column
               JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE pg_catalog.pg_get_expr(d.adbin, d.adrelid) IN ('@extschema@.current_tenant()', 'current_tenant()')
              ORDER BY i.rel::oid LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT @extschema@._tenant_default()',
                                  t.rel, t.tenant_column);
    END LOOP;
END
$$;

DO $$
DECLARE
    t regclass;
BEGIN
    -- the identity trigger refuses any change of table_id: the rows of 0.6.0
    -- get theirs here, once, with it off
    ALTER TABLE @extschema@.audited_tables DISABLE TRIGGER audited_tables_identity;
    FOR t IN SELECT a.rel FROM @extschema@.audited_tables a ORDER BY a.rel::oid LOOP
        UPDATE @extschema@.audited_tables a SET table_id = @extschema@._audit_table_id(t) WHERE a.rel = t;
    END LOOP;
    ALTER TABLE @extschema@.audited_tables ENABLE TRIGGER audited_tables_identity;
END
$$;

ALTER TABLE @extschema@.audited_tables ALTER COLUMN table_id SET NOT NULL,
    ADD CONSTRAINT audited_tables_table_id_key UNIQUE (table_id);

-- entries written before 0.7.0 get their table's identity and record ids
-- (by table oid, or by name for entries restored from a dump)
DO $$
BEGIN
    PERFORM pg_catalog.set_config('tenantcore.audit_internal', 'on', true);
    UPDATE @extschema@.audit_log l
       SET table_id = t.table_id,
           record_id = CASE WHEN l.pk IS NULL THEN t.table_id ELSE @extschema@._audit_record_id(t.table_id, l.pk) END
      FROM @extschema@.audited_tables t
     WHERE (l.relid = t.rel::oid
            OR l.table_name = (SELECT format('%I.%I', n.nspname, c.relname)
                                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                                WHERE c.oid = t.rel))
       AND (l.pk IS NOT NULL OR l.relid = t.rel::oid);
    PERFORM pg_catalog.set_config('tenantcore.audit_internal', 'off', true);
END
$$;

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT a.rel FROM @extschema@.audited_tables a ORDER BY a.rel::oid LOOP
        PERFORM @extschema@._audit_install(t);
    END LOOP;
END
$$;

DO $$
DECLARE
    part regclass;
    idx  regclass;
BEGIN
    FOR part IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
                 WHERE i.inhparent = '@extschema@.audit_log'::regclass ORDER BY i.inhrelid
    LOOP
        FOR idx IN SELECT x.indexrelid::regclass FROM pg_catalog.pg_index x
                    WHERE x.indrelid = part AND pg_catalog.pg_get_indexdef(x.indexrelid) LIKE '%USING hash (pk)'
        LOOP
            EXECUTE format('DROP INDEX %s', idx);
        END LOOP;
        EXECUTE format('CREATE INDEX ON %s USING hash (record_id)', part);
        EXECUTE format('CREATE INDEX ON %s (actor_id, occurred_at) WHERE actor_id IS NOT NULL', part);
    END LOOP;
END
$$;

-- reads of protected data: a built-in retention policy for audit_reads
SELECT @extschema@._builtin_retain(-6, '@extschema@.audit_reads', 'recorded_at', '7 years', 'delete', true);

-- the views of tables protected before 0.7.0 decrypt through _decrypt_column
-- from now on, replaced in place (same columns, owner, grants and dependent
-- views).  An extension script may only replace its own members, so each
-- view is a member for the moment of its replacement.
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT DISTINCT p.rel, format('%I.%I', n.nspname, p.view_name) AS view
               FROM @extschema@.protected_columns p
               JOIN pg_class c ON c.oid = p.rel
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE to_regclass(format('%I.%I', n.nspname, p.view_name)) IS NOT NULL LOOP
        EXECUTE format('ALTER EXTENSION tenantcore ADD VIEW %s', v.view);
        PERFORM @extschema@._protected_view(v.rel);
        EXECUTE format('ALTER EXTENSION tenantcore DROP VIEW %s', v.view);
    END LOOP;
END
$$;
