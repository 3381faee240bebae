-- sql/crypto.sql -- PII encryption: per-tenant keys, protect(), master key rotation.
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

COMMENT ON TABLE @extschema@.tenant_keys IS
    'per-tenant data keys (256 bits), wrapped by the master key of tenantcore.master_key_file; never granted to anyone';
REVOKE ALL ON @extschema@.tenant_keys FROM PUBLIC;
COMMENT ON COLUMN @extschema@.tenant_keys.master_key_id IS
    'id of the master key that wrapped wrapped_key (see master_key_status()); NULL: wrapped before 0.5.0 by the master key configured then';

-- Every backend drops its cache of unwrapped keys when keys are retired or
-- destroyed (the trigger sends a relcache invalidation at commit).
CREATE OR REPLACE FUNCTION @extschema@._tenant_keys_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_tenant_keys_changed'
    LANGUAGE C;
REVOKE EXECUTE ON FUNCTION @extschema@._tenant_keys_changed() FROM PUBLIC;

COMMENT ON TABLE @extschema@.protected_columns IS
    'columns converted by tenantcore.protect(): plaintext never stored, ciphertext and blind index columns';
GRANT SELECT, INSERT, DELETE ON @extschema@.protected_columns TO PUBLIC;

-- Forget the protected columns of dropped tables.
CREATE OR REPLACE FUNCTION @extschema@._crypto_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped_tables  oid[];
    dropped_names   text[];
    dropped_columns text[];
BEGIN
    -- a Citus worker: DDL of shards and shells, kept in step by the coordinator
    IF @extschema@._citus_worker() THEN
        RETURN;
    END IF;
    -- the dropped objects first, into arrays: on a Citus cluster the
    -- registry is a reference table, whose statements Citus sends to every
    -- node, where pg_event_trigger_dropped_objects() means nothing and the
    -- rows hold each node's own oids: they are matched by name there (a
    -- dropped column by its name too: the workers still have it while the
    -- coordinator's event trigger runs)
    SELECT array_agg(d.objid) FILTER (WHERE d.object_type <> 'table column' AND d.objsubid = 0),
           array_agg(pg_catalog.format('%I.%I', d.schema_name, d.object_name))
               FILTER (WHERE d.object_type <> 'table column' AND d.objsubid = 0),
           array_agg(pg_catalog.format('%I.%I %I', d.address_names[1], d.address_names[2], d.address_names[3]))
               FILTER (WHERE d.object_type = 'table column')
      INTO dropped_tables, dropped_names, dropped_columns
      FROM pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass;
    -- on a single server by oid; by name only where the registry is a
    -- reference table (the names are the tables' own: _registry_rel_name())
    IF @extschema@._citus_table_method('@extschema@.protected_columns') IS NULL THEN
        IF dropped_tables IS NOT NULL THEN
            DELETE FROM @extschema@.protected_columns p WHERE p.rel::oid = ANY (dropped_tables);
        END IF;
        IF dropped_columns IS NOT NULL THEN
            DELETE FROM @extschema@.protected_columns p
             WHERE pg_catalog.format('%s %I', @extschema@._qualified_name(p.rel), p.encrypted_column) = ANY (dropped_columns);
        END IF;
        RETURN;
    END IF;
    IF dropped_tables IS NOT NULL THEN
        DELETE FROM @extschema@.protected_columns p
         WHERE p.rel::oid = ANY (dropped_tables) OR p.rel_name = ANY (dropped_names);
    END IF;
    -- a dropped encrypted column of a protected table (immutable functions
    -- only: Citus refuses stable ones with columns in a modification)
    IF dropped_columns IS NOT NULL THEN
        DELETE FROM @extschema@.protected_columns p
         WHERE p.rel_name || ' ' || pg_catalog.quote_ident(p.encrypted_column) = ANY (dropped_columns);
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._crypto_on_sql_drop() FROM PUBLIC;

DROP EVENT TRIGGER IF EXISTS tenantcore_crypto_sql_drop;
CREATE EVENT TRIGGER tenantcore_crypto_sql_drop ON sql_drop
    EXECUTE FUNCTION @extschema@._crypto_on_sql_drop();

-- Encryption and decryption for the current tenant.
CREATE OR REPLACE FUNCTION @extschema@.encrypt_pii(plaintext text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_encrypt_pii'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.encrypt_pii(text) IS
    'encrypt a value with the current tenant''s active data key (OpenPGP, aes256, with a tenantcore header)';

CREATE OR REPLACE FUNCTION @extschema@.decrypt_pii(ciphertext bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'tenantcore_decrypt_pii'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.decrypt_pii(bytea) IS
    'decrypt a value of the current tenant (any key version that was not destroyed)';

-- _decrypt_column is decrypt_pii(bytea) for a value of a protected column:
-- the <table>_decrypted views call it with their table and the column's
-- number, so the reads they decrypt are recorded with both (a number, not a
-- name: it survives a rename of the column, and a name argument would give
-- the result the collation "C").
CREATE OR REPLACE FUNCTION @extschema@._decrypt_column(ciphertext bytea, rel regclass, attnum smallint) RETURNS text
    AS 'MODULE_PATHNAME', 'tenantcore_decrypt_column'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._decrypt_column(bytea, regclass, smallint) IS
    'internal: decrypt_pii() of a protected column''s value, as the <table>_decrypted views call it (reads recorded with the table and column)';

-- Administrative forms for a given tenant: not granted to PUBLIC.
CREATE OR REPLACE FUNCTION @extschema@.encrypt_pii(plaintext text, tenant uuid) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_encrypt_pii_for'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.encrypt_pii(text, uuid) IS
    'encrypt a value for the given tenant (administrative)';
REVOKE EXECUTE ON FUNCTION @extschema@.encrypt_pii(text, uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.decrypt_pii(ciphertext bytea, tenant uuid) RETURNS text
    AS 'MODULE_PATHNAME', 'tenantcore_decrypt_pii_for'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.decrypt_pii(bytea, uuid) IS
    'decrypt a value of the given tenant (administrative)';
REVOKE EXECUTE ON FUNCTION @extschema@.decrypt_pii(bytea, uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.key_version(ciphertext bytea) RETURNS integer
    AS 'MODULE_PATHNAME', 'tenantcore_key_version'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.key_version(bytea) IS
    'key version named by the header of a tenantcore ciphertext';

CREATE OR REPLACE FUNCTION @extschema@.blind_index(value text, purpose text DEFAULT 'default') RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_blind_index'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.blind_index(text, text) IS
    'HMAC-SHA256 of lower(trim(NFC(value))) with a key derived from the current tenant''s first data key and the purpose';

CREATE OR REPLACE FUNCTION @extschema@.rotate_tenant_key(tenant uuid) RETURNS integer
    AS 'MODULE_PATHNAME', 'tenantcore_rotate_tenant_key'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rotate_tenant_key(uuid) IS
    'retire the tenant''s active data key and create the next version; returns the new version';
REVOKE EXECUTE ON FUNCTION @extschema@.rotate_tenant_key(uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.shred_tenant(tenant uuid) RETURNS integer
    AS 'MODULE_PATHNAME', 'tenantcore_shred_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.shred_tenant(uuid) IS
    'destroy every data key of the tenant (crypto-shredding); returns the number of key versions destroyed';
REVOKE EXECUTE ON FUNCTION @extschema@.shred_tenant(uuid) FROM PUBLIC;

-- Helpers of protect() and reencrypt(): they check that the caller owns the
-- table and that the row's tenant is the current tenant when one is set.
CREATE OR REPLACE FUNCTION @extschema@._protect_encrypt(rel regclass, tenant uuid, plaintext text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_protect_encrypt'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION @extschema@._protect_blind_index(rel regclass, tenant uuid, plaintext text, purpose text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_protect_blind_index'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION @extschema@._needs_reencrypt(rel regclass, tenant uuid, ciphertext bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_needs_reencrypt'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION @extschema@._reencrypt_value(rel regclass, tenant uuid, ciphertext bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_reencrypt_value'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION @extschema@.protect_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_protect_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION @extschema@.protect_trigger() IS
    'BEFORE INSERT OR UPDATE trigger of protected columns: encrypts the plaintext column into the encrypted column and stores NULL';
REVOKE EXECUTE ON FUNCTION @extschema@.protect_trigger() FROM PUBLIC;

-- _protected_view (re)creates <table>_decrypted: every column of the table,
-- protected columns decrypted for the current tenant (by _decrypt_column,
-- since 0.7.0), ciphertext and blind index columns left out;
-- security_invoker, with the table's SELECT grants.  A view whose columns
-- stay the same is replaced in place (CREATE OR REPLACE VIEW), so views and
-- grants that depend on it survive; otherwise it is dropped and created.
CREATE OR REPLACE FUNCTION @extschema@._protected_view(rel regclass) RETURNS name
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp name;
    tbl name;
    vname name;
    cols text;
    g record;
BEGIN
    SELECT n.nspname, c.relname INTO nsp, tbl
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = _protected_view.rel AND pg_has_role(c.relowner, 'USAGE');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = 'insufficient_privilege';
    END IF;
    vname := left(tbl, 53) || '_decrypted';
    SELECT string_agg(CASE WHEN p.column_name IS NOT NULL
                           THEN format('@extschema@._decrypt_column(t.%I, %L::regclass, %s::smallint) AS %I',
                                       p.encrypted_column, _protected_view.rel::text, a.attnum, a.attname)
                           ELSE format('t.%I', a.attname) END, ', ' ORDER BY a.attnum)
      INTO cols
      FROM pg_attribute a
      LEFT JOIN @extschema@.protected_columns p ON p.rel = a.attrelid AND p.column_name = a.attname
     WHERE a.attrelid = _protected_view.rel AND a.attnum > 0 AND NOT a.attisdropped
       AND NOT EXISTS (SELECT FROM @extschema@.protected_columns q
                        WHERE q.rel = a.attrelid AND a.attname IN (q.encrypted_column, q.blind_index_column));
    IF to_regclass(format('%I.%I', nsp, vname)) IS NOT NULL THEN
        BEGIN
            EXECUTE format('CREATE OR REPLACE VIEW %I.%I WITH (security_invoker = true) AS SELECT %s FROM %s t',
                           nsp, vname, cols, rel);
            RETURN vname;
        EXCEPTION WHEN invalid_table_definition OR datatype_mismatch THEN
            -- the columns changed: made again below
            EXECUTE format('DROP VIEW %I.%I', nsp, vname);
        END;
    END IF;
    EXECUTE format('CREATE VIEW %I.%I WITH (security_invoker = true) AS SELECT %s FROM %s t', nsp, vname, cols, rel);
    EXECUTE format('COMMENT ON VIEW %I.%I IS %L', nsp, vname,
                   format('decrypted view of %s, made by tenantcore.protect()', rel));
    FOR g IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = _protected_view.rel AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner LOOP
        IF g.grantee = 0 THEN
            EXECUTE format('GRANT SELECT ON %I.%I TO PUBLIC', nsp, vname);
        ELSE
            EXECUTE format('GRANT SELECT ON %I.%I TO %I', nsp, vname, g.grantee::regrole::text);
        END IF;
    END LOOP;
    RETURN vname;
END
$$;

-- reencrypt() re-encrypts, with each tenant's active key, the protected
-- columns of a table whose ciphertext was made with an older key version, in
-- batches with a COMMIT after each.  It works on the rows the caller can see:
-- all of them for a superuser or a BYPASSRLS owner, one tenant's when the
-- table is isolated and a tenant is set.  Call it outside a transaction block.
CREATE OR REPLACE PROCEDURE @extschema@.reencrypt(rel regclass, batch_size integer DEFAULT 1000)
LANGUAGE plpgsql
AS $$
DECLARE
    p record;
    leaf regclass;
    n bigint;
    total bigint := 0;
BEGIN
    IF rel IS NULL OR batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'reencrypt: rel must not be null and batch_size must be positive'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.protected_columns pc WHERE pc.rel = reencrypt.rel) THEN
        RAISE EXCEPTION 'table % has no protected columns', rel USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use tenantcore.protect() first.';
    END IF;
    FOR p IN SELECT * FROM @extschema@.protected_columns pc WHERE pc.rel = reencrypt.rel ORDER BY column_name LOOP
        FOR leaf IN SELECT rel WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_partition_tree(rel))
                    UNION ALL
                    SELECT t.relid FROM pg_catalog.pg_partition_tree(rel) t WHERE t.isleaf LOOP
            LOOP
                EXECUTE format('UPDATE %s SET %I = @extschema@._reencrypt_value(%L, %I, %I) '
                               'WHERE ctid = ANY (ARRAY(SELECT ctid FROM %s '
                               'WHERE @extschema@._needs_reencrypt(%L, %I, %I) LIMIT %s))',
                               leaf, p.encrypted_column, rel::oid, p.tenant_column, p.encrypted_column,
                               leaf, rel::oid, p.tenant_column, p.encrypted_column, batch_size);
                GET DIAGNOSTICS n = ROW_COUNT;
                EXIT WHEN n = 0;
                total := total + n;
                COMMIT;
            END LOOP;
        END LOOP;
    END LOOP;
    RAISE NOTICE 'reencrypt: % values re-encrypted in %', total, rel;
END
$$;
COMMENT ON PROCEDURE @extschema@.reencrypt(regclass, integer) IS
    're-encrypt protected columns made with retired key versions, in batches with a COMMIT after each';

CREATE OR REPLACE FUNCTION @extschema@.rewrap_tenant_keys() RETURNS bigint
    AS 'MODULE_PATHNAME', 'tenantcore_rewrap_tenant_keys'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.rewrap_tenant_keys() IS
    'wrap every tenant data key with the current master key (the last step of a master key rotation); returns how many were rewrapped';
REVOKE EXECUTE ON FUNCTION @extschema@.rewrap_tenant_keys() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._master_key_id(previous boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'tenantcore_master_key_id'
    LANGUAGE C VOLATILE STRICT;
REVOKE EXECUTE ON FUNCTION @extschema@._master_key_id(boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.master_key_status()
RETURNS TABLE (wrapped_by text, master_key_id text, data_keys bigint)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH ids AS (
        SELECT @extschema@._master_key_id(false) AS current_id,
               @extschema@._master_key_id(true) AS previous_id
    )
    SELECT CASE WHEN k.master_key_id IS NULL THEN 'current (recorded before 0.5.0)'
                WHEN k.master_key_id = ids.current_id THEN 'current'
                WHEN k.master_key_id = ids.previous_id THEN 'previous'
                ELSE 'not configured' END,
           k.master_key_id, count(*)
      FROM @extschema@.tenant_keys k, ids
     WHERE k.wrapped_key IS NOT NULL
     GROUP BY 1, 2
     ORDER BY 1, 2;
END;
COMMENT ON FUNCTION @extschema@.master_key_status() IS
    'how many tenant data keys each master key wraps: a master key rotation is complete when all are wrapped by the current one';
REVOKE EXECUTE ON FUNCTION @extschema@.master_key_status() FROM PUBLIC;

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
CREATE OR REPLACE FUNCTION @extschema@._protect_install_trigger(rel regclass, "column" name) RETURNS void
    AS 'MODULE_PATHNAME', 'tenantcore_protect_install_trigger'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._protect_install_trigger(regclass, name) IS
    'creates the protect trigger of a registered column as the extension owner (used by protect(); the caller must own the table)';

-- _protect_citus_prepare checks that a column of rel can be protected on a
-- Citus cluster and lets Citus take the encrypting trigger: a distributed
-- table (its trigger encrypts on the shards, on the workers, with the keys
-- of the tenant's shard of tenant_keys there) once the keys are distributed.
-- Nothing for other tables and on a server without Citus.
CREATE OR REPLACE FUNCTION @extschema@._protect_citus_prepare(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF @extschema@._citus_table_method(rel) IS NOT NULL THEN
        IF @extschema@._citus_table_method(rel) <> 'h' THEN
            RAISE EXCEPTION 'table % is a Citus reference or local table', rel
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'Protected values are encrypted with the key of their row''s tenant, which lives with the tenant''s shards.',
                      HINT = 'Protect columns of tables distributed by their tenant column (doc/citus.md).';
        END IF;
        IF @extschema@._citus_table_method('@extschema@.tenant_keys') IS DISTINCT FROM 'h' THEN
            RAISE EXCEPTION 'table % is distributed, but tenantcore.tenant_keys is not', rel
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('Distribute the keys with their tenants first: SELECT tenantcore.distribute_tenant_keys(%L);', rel::text);
        END IF;
        PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
        -- one connection per worker: the shards' rewrite in protect() must see the
        -- registry row that this transaction adds to every node
        PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;
END
$$;

-- protect() converts a plaintext text column into a protected one, in one
-- transaction: adds <col>_encrypted (and <col>_bidx when searchable), fills
-- them and sets the plaintext column to NULL in a single rewrite of the
-- table (ALTER TABLE ... USING, so no old row version with plaintext stays
-- in the table's files), installs the encrypting trigger and the view.
-- Runs with the caller's rights: the caller must own the table.  The column
-- is registered before the table is rewritten (the encrypting helpers refuse
-- a table without protected columns), and the trigger is created by
-- _protect_install_trigger().  A missing column is named like PostgreSQL
-- names it (column "c" of relation "t").
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
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', "column", c.relname USING ERRCODE = 'undefined_column';
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

    PERFORM @extschema@._protect_citus_prepare(rel);
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
    -- checked by the same rewrite.  The helpers name the table (not its
    -- oid): on a Citus cluster each worker resolves the name to its own
    -- relation
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE bytea USING @extschema@._protect_encrypt(%L, %I, %I::text)%s, '
                   'ALTER COLUMN %I TYPE %s USING NULL%s',
                   rel, enc_col, rel::text, tenant_col, "column",
                   CASE WHEN searchable
                        THEN format(', ALTER COLUMN %I TYPE bytea USING @extschema@._protect_blind_index(%L, %I, %I::text, %L)',
                                    bidx_col, rel::text, tenant_col, "column", purpose)
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

CREATE OR REPLACE TRIGGER tenant_keys_changed
    AFTER UPDATE OR DELETE OR TRUNCATE ON @extschema@.tenant_keys
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._tenant_keys_changed();

CREATE OR REPLACE TRIGGER registry_rel_name BEFORE INSERT ON @extschema@.protected_columns
    FOR EACH ROW EXECUTE FUNCTION @extschema@._registry_rel_name();

DROP POLICY IF EXISTS owner_registers ON @extschema@.protected_columns;
-- no temporary tables in the registry: any role with TEMP rights owns its
-- temporary tables, and a registered table lets its owner call the protect
-- helpers (_protect_encrypt, _protect_blind_index, ...); the helpers refuse
-- temporary tables too (C)
CREATE POLICY owner_registers ON @extschema@.protected_columns FOR INSERT
    WITH CHECK (@extschema@._may_configure(rel) AND NOT @extschema@._is_temporary(rel));

DROP POLICY IF EXISTS owner_unregisters ON @extschema@.protected_columns;
CREATE POLICY owner_unregisters ON @extschema@.protected_columns FOR DELETE
    USING (coalesce(@extschema@._may_configure(rel), true));

DROP POLICY IF EXISTS readable ON @extschema@.protected_columns;
CREATE POLICY readable ON @extschema@.protected_columns FOR SELECT USING (true);
