-- tenantcore 0.5.0 -> 0.6.0: protect() of a NOT NULL column
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.6.0'" to load this file. \quit

-- ===========================================================================
-- protect() kept a NOT NULL constraint on the plaintext column, which holds
-- NULL once the column is protected: on an empty table protect() succeeded
-- and every later INSERT failed with 23502, on a table with rows the
-- conversion failed.  The constraint now moves to the ciphertext column
-- (checked like any constraint: after row level security, so a row for another
-- tenant still gets the policy's error first).  A column of the primary key,
-- of a unique index or of the replica identity is refused.
-- ===========================================================================

CREATE OR REPLACE FUNCTION @extschema@.protect(rel regclass, "column" name, searchable boolean DEFAULT false,
                                    purpose text DEFAULT 'default')
RETURNS name
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c pg_class;
    col_type oid;
    col_typmod integer;
    tenant_col name;
    enc_col name;
    bidx_col name;
    trg name;
    vname name;
    not_null boolean;
    idx regclass;
BEGIN
    IF rel IS NULL OR "column" IS NULL OR searchable IS NULL OR purpose IS NULL THEN
        RAISE EXCEPTION 'protect: arguments must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', rel USING ERRCODE = 'wrong_object_type',
            HINT = 'Only columns of ordinary and partitioned tables can be protected.';
    END IF;
    IF c.relispartition THEN
        RAISE EXCEPTION '% is a partition', rel USING ERRCODE = 'wrong_object_type',
            HINT = 'Protect the column of the partitioned table.';
    END IF;
    IF NOT pg_has_role(c.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT atttypid, atttypmod, attnotnull INTO col_type, col_typmod, not_null FROM pg_attribute
     WHERE attrelid = rel AND attname = "column" AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column % of % does not exist', quote_ident("column"), rel USING ERRCODE = 'undefined_column';
    END IF;
    IF col_type NOT IN ('text'::regtype, 'varchar'::regtype) THEN
        RAISE EXCEPTION 'column % of % is of type %, not text', quote_ident("column"), rel, col_type::regtype
            USING ERRCODE = 'datatype_mismatch', HINT = 'Only text and varchar columns can be protected.';
    END IF;
    -- the plaintext column holds NULL from now on: a key, identity or unique
    -- column cannot (its index would no longer enforce anything, or refuse
    -- the NULLs); a NOT NULL constraint moves to the ciphertext column (below)
    SELECT i.indexrelid::regclass INTO idx FROM pg_index i, pg_attribute a
     WHERE i.indrelid = rel AND (i.indisprimary OR i.indisunique OR i.indisreplident)
       AND a.attrelid = rel AND a.attname = "column" AND a.attnum = ANY (i.indkey)
     ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'column % of % is in the key, unique or replica identity index %', quote_ident("column"), rel, idx
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'A protected column keeps only ciphertext. To keep values unique per tenant, protect it with searchable => true and put a unique index on the tenant column and its blind index column.';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.protected_columns p WHERE p.rel = protect.rel AND p.column_name = "column") THEN
        RAISE EXCEPTION 'column % of % is protected already', quote_ident("column"), rel
            USING ERRCODE = 'duplicate_object';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.protected_columns p
                WHERE p.rel = protect.rel AND "column" IN (p.encrypted_column, p.blind_index_column)) THEN
        RAISE EXCEPTION 'column % of % holds ciphertext or a blind index', quote_ident("column"), rel
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    tenant_col := coalesce((SELECT t.tenant_column FROM @extschema@.isolated_tables t WHERE t.rel = protect.rel),
                           'organization_id');
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = rel AND attname = tenant_col
                      AND attnum > 0 AND NOT attisdropped AND atttypid = 'uuid'::regtype) THEN
        RAISE EXCEPTION 'table % has no uuid tenant column %', rel, quote_ident(tenant_col)
            USING ERRCODE = 'undefined_column',
                  HINT = 'Protected columns are encrypted with the key of the row''s tenant; isolate the table with tenantcore.isolate(rel, tenant_column) first.';
    END IF;

    IF length("column") > 52 THEN
        RAISE EXCEPTION 'column name % is too long to derive the ciphertext column name', quote_ident("column")
            USING ERRCODE = 'name_too_long', HINT = 'Rename the column to at most 52 characters.';
    END IF;
    enc_col := "column" || '_encrypted';
    bidx_col := CASE WHEN searchable THEN "column" || '_bidx' END;
    IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = rel AND attname IN (enc_col, bidx_col)
                  AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'table % already has a column named % or %', rel, quote_ident(enc_col), quote_ident(coalesce(bidx_col, enc_col))
            USING ERRCODE = 'duplicate_column';
    END IF;

    -- the view of columns protected earlier depends on the columns; recreated below
    vname := left(c.relname, 53) || '_decrypted';
    IF EXISTS (SELECT FROM @extschema@.protected_columns p WHERE p.rel = protect.rel)
       AND to_regclass(format('%I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), vname)) IS NOT NULL THEN
        EXECUTE format('DROP VIEW %I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace), vname);
    END IF;

    EXECUTE format('ALTER TABLE %s ADD COLUMN %I bytea', rel, enc_col);
    IF searchable THEN
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I bytea', rel, bidx_col);
    END IF;
    -- one rewrite: every USING expression reads the old row; a NOT NULL
    -- constraint of the plaintext column moves to the ciphertext column,
    -- checked by the same rewrite
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE bytea USING @extschema@._protect_encrypt(%L, %I, %I::text)%s, '
                   'ALTER COLUMN %I TYPE %s USING NULL%s',
                   rel, enc_col, rel::oid, tenant_col, "column",
                   CASE WHEN searchable
                        THEN format(', ALTER COLUMN %I TYPE bytea USING @extschema@._protect_blind_index(%L, %I, %I::text, %L)',
                                    bidx_col, rel::oid, tenant_col, "column", purpose)
                        ELSE '' END,
                   "column", format_type(col_type, col_typmod),
                   CASE WHEN not_null
                        THEN format(', ALTER COLUMN %I DROP NOT NULL, ALTER COLUMN %I SET NOT NULL', "column", enc_col)
                        ELSE '' END);
    IF searchable THEN
        EXECUTE format('CREATE INDEX ON %s (%I, %I)', rel, tenant_col, bidx_col);
    END IF;

    trg := left('tenantcore_protect_' || "column", 63);
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION @extschema@.protect_trigger(%L, %L, %L, %L, %L)',
                   trg, rel, "column", enc_col, coalesce(bidx_col, ''), tenant_col, purpose);

    INSERT INTO @extschema@.protected_columns (rel, column_name, encrypted_column, blind_index_column,
                                               blind_index_purpose, tenant_column, view_name)
    VALUES (rel, "column", enc_col, bidx_col, CASE WHEN searchable THEN purpose END, tenant_col, vname);
    PERFORM @extschema@._protected_view(rel);
    RETURN vname;
END
$$;
COMMENT ON FUNCTION @extschema@.protect(regclass, name, boolean, text) IS
    'protect a text column: ciphertext (and blind index) columns, encrypting trigger, <table>_decrypted view; plaintext never stored';


-- Columns protected before 0.6.0 whose plaintext column is still NOT NULL:
-- their table can take no row (every INSERT failed), so the constraint moves
-- as protect() now moves it.  A table that holds rows anyway (its trigger
-- disabled, say) with a missing ciphertext keeps its constraint and gets a
-- warning.
DO $$
DECLARE
    p record;
    has_gap boolean;
BEGIN
    FOR p IN SELECT pc.rel, pc.column_name, pc.encrypted_column
               FROM @extschema@.protected_columns pc
               JOIN pg_catalog.pg_attribute a ON a.attrelid = pc.rel AND a.attname = pc.column_name
              WHERE a.attnotnull
              ORDER BY pc.rel::oid, pc.column_name LOOP
        EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE %I IS NULL)', p.rel, p.encrypted_column) INTO has_gap;
        IF has_gap THEN
            RAISE WARNING 'protected column % of % keeps its NOT NULL constraint', quote_ident(p.column_name), p.rel
                USING DETAIL = format('Rows of %s hold %I in plaintext, with no ciphertext in %I.',
                                      p.rel, p.column_name, p.encrypted_column),
                      HINT = format('Run ALTER TABLE %1$s ALTER COLUMN %2$I DROP NOT NULL; UPDATE %1$s SET %2$I = %2$I '
                                    'WHERE %3$I IS NULL (the trigger encrypts the values); ALTER TABLE %1$s ALTER COLUMN '
                                    '%3$I SET NOT NULL; then VACUUM FULL %1$s, as old row versions still hold the plaintext.',
                                    p.rel, p.column_name, p.encrypted_column);
        ELSE
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL, ALTER COLUMN %I SET NOT NULL',
                           p.rel, p.column_name, p.encrypted_column);
        END IF;
    END LOOP;
END
$$;
