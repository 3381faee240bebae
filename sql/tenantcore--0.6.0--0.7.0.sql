-- tenantcore 0.6.0 -> 0.7.0: security hardening and the signed tenant context
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.7.0'" to load this file. \quit

-- ===========================================================================
-- Part 1: C entry points checked (protect trigger column types, relation 0,
-- internal trigger functions kept from PUBLIC)
-- ===========================================================================

-- A table owner could attach protect_trigger() by hand with arguments naming
-- columns of any type (a bigint tenant column crashed the server).  The C
-- trigger now checks how it is fired and every column it is given, and
-- CREATE TRIGGER with it is kept from PUBLIC: protect() has it created by
-- _protect_install_trigger(), which checks that the caller owns the table
-- and takes the arguments from the registry row.  The helpers that encrypt
-- existing rows (_protect_encrypt and friends) stay executable by PUBLIC --
-- protect() and reencrypt() run them with the caller's rights inside ALTER
-- TABLE and UPDATE -- but refuse relation 0, a table the caller does not own
-- and a table without protected columns, so protect() registers the column
-- before it rewrites the table.
CREATE FUNCTION @extschema@._protect_install_trigger(rel regclass, "column" name) RETURNS void
    AS 'MODULE_PATHNAME', 'tenantcore_protect_install_trigger'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._protect_install_trigger(regclass, name) IS
    'creates the protect trigger of a registered column as the extension owner (used by protect(); the caller must own the table)';
REVOKE EXECUTE ON FUNCTION @extschema@.protect_trigger() FROM PUBLIC;

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
    -- registered before the rewrite: the helpers that encrypt the existing
    -- rows refuse tables without protected columns
    INSERT INTO @extschema@.protected_columns (rel, column_name, encrypted_column, blind_index_column,
                                               blind_index_purpose, tenant_column, view_name)
    VALUES (rel, "column", enc_col, bidx_col, CASE WHEN searchable THEN purpose END, tenant_col, vname);
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

    -- the trigger (arguments from the registry row) is created as the
    -- extension owner: protect_trigger() is not executable by PUBLIC
    PERFORM @extschema@._protect_install_trigger(rel, "column");
    PERFORM @extschema@._protected_view(rel);
    RETURN vname;
END
$$;
COMMENT ON FUNCTION @extschema@.protect(regclass, name, boolean, text) IS
    'protect a text column: ciphertext (and blind index) columns, encrypting trigger, <table>_decrypted view; plaintext never stored';

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

-- (end of part 5)
