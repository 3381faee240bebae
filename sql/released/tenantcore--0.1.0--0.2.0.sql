-- tenantcore 0.1.0 -> 0.2.0: PII encryption (pgcrypto, OpenPGP), per-tenant keys, blind indexes, protected columns
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.2.0'" to load this file. \quit
-- tenantcore: PII encryption (per-tenant data keys wrapped by a master key
-- from server configuration, OpenPGP ciphertext, blind indexes, rotation,
-- crypto-shredding, protected columns)

-- Per-tenant data keys, wrapped by the master key.  Nobody but the extension
-- owner can read this table; the C functions read it through SPI as the owner.
CREATE TABLE @extschema@.tenant_keys (
    organization_id uuid NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    wrapped_key bytea,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'destroyed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    destroyed_at timestamptz,
    PRIMARY KEY (organization_id, version),
    CHECK ((status = 'destroyed') = (wrapped_key IS NULL))
);
CREATE UNIQUE INDEX tenant_keys_one_active ON @extschema@.tenant_keys (organization_id) WHERE status = 'active';
COMMENT ON TABLE @extschema@.tenant_keys IS
    'per-tenant data keys (256 bits), wrapped by the master key of tenantcore.master_key_file; never granted to anyone';
REVOKE ALL ON @extschema@.tenant_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tenant_keys', '');

-- Every backend drops its cache of unwrapped keys when keys are retired or
-- destroyed (the trigger sends a relcache invalidation at commit).
CREATE FUNCTION @extschema@._tenant_keys_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_tenant_keys_changed'
    LANGUAGE C;
REVOKE EXECUTE ON FUNCTION @extschema@._tenant_keys_changed() FROM PUBLIC;
CREATE TRIGGER tenant_keys_changed
    AFTER UPDATE OR DELETE OR TRUNCATE ON @extschema@.tenant_keys
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._tenant_keys_changed();

-- Registry of protected columns.
CREATE TABLE @extschema@.protected_columns (
    rel regclass NOT NULL,
    column_name name NOT NULL,
    encrypted_column name NOT NULL,
    blind_index_column name,
    blind_index_purpose text,
    tenant_column name NOT NULL,
    view_name name NOT NULL,
    protected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rel, column_name)
);
COMMENT ON TABLE @extschema@.protected_columns IS
    'columns converted by tenantcore.protect(): plaintext never stored, ciphertext and blind index columns';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.protected_columns', '');
-- owners register and unregister their own tables (protect() runs with the
-- caller's rights); everyone may read the registry
ALTER TABLE @extschema@.protected_columns ENABLE ROW LEVEL SECURITY;
CREATE POLICY readable ON @extschema@.protected_columns FOR SELECT USING (true);
CREATE POLICY owner_registers ON @extschema@.protected_columns FOR INSERT
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE'));
CREATE POLICY owner_unregisters ON @extschema@.protected_columns FOR DELETE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = rel)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE'));
GRANT SELECT, INSERT, DELETE ON @extschema@.protected_columns TO PUBLIC;

-- Forget the protected columns of dropped tables.
CREATE FUNCTION @extschema@._crypto_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.protected_columns p
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND p.rel = d.objid;
    -- a dropped column of a protected table
    DELETE FROM @extschema@.protected_columns p
     USING pg_event_trigger_dropped_objects() d
     WHERE d.object_type = 'table column' AND d.objid = p.rel
       AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = p.rel AND a.attname = p.encrypted_column
                          AND NOT a.attisdropped);
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._crypto_on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER tenantcore_crypto_sql_drop ON sql_drop
    EXECUTE FUNCTION @extschema@._crypto_on_sql_drop();

-- Encryption and decryption for the current tenant.
CREATE FUNCTION @extschema@.encrypt_pii(plaintext text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_encrypt_pii'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.encrypt_pii(text) IS
    'encrypt a value with the current tenant''s active data key (OpenPGP, aes256, with a tenantcore header)';

CREATE FUNCTION @extschema@.decrypt_pii(ciphertext bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'tenantcore_decrypt_pii'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.decrypt_pii(bytea) IS
    'decrypt a value of the current tenant (any key version that was not destroyed)';

-- Administrative forms for a given tenant: not granted to PUBLIC.
CREATE FUNCTION @extschema@.encrypt_pii(plaintext text, tenant uuid) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_encrypt_pii_for'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.encrypt_pii(text, uuid) IS
    'encrypt a value for the given tenant (administrative)';
REVOKE EXECUTE ON FUNCTION @extschema@.encrypt_pii(text, uuid) FROM PUBLIC;

CREATE FUNCTION @extschema@.decrypt_pii(ciphertext bytea, tenant uuid) RETURNS text
    AS 'MODULE_PATHNAME', 'tenantcore_decrypt_pii_for'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.decrypt_pii(bytea, uuid) IS
    'decrypt a value of the given tenant (administrative)';
REVOKE EXECUTE ON FUNCTION @extschema@.decrypt_pii(bytea, uuid) FROM PUBLIC;

CREATE FUNCTION @extschema@.key_version(ciphertext bytea) RETURNS integer
    AS 'MODULE_PATHNAME', 'tenantcore_key_version'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.key_version(bytea) IS
    'key version named by the header of a tenantcore ciphertext';

CREATE FUNCTION @extschema@.blind_index(value text, purpose text DEFAULT 'default') RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_blind_index'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.blind_index(text, text) IS
    'HMAC-SHA256 of lower(trim(NFC(value))) with a key derived from the current tenant''s first data key and the purpose';

CREATE FUNCTION @extschema@.rotate_tenant_key(tenant uuid) RETURNS integer
    AS 'MODULE_PATHNAME', 'tenantcore_rotate_tenant_key'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rotate_tenant_key(uuid) IS
    'retire the tenant''s active data key and create the next version; returns the new version';
REVOKE EXECUTE ON FUNCTION @extschema@.rotate_tenant_key(uuid) FROM PUBLIC;

CREATE FUNCTION @extschema@.shred_tenant(tenant uuid) RETURNS integer
    AS 'MODULE_PATHNAME', 'tenantcore_shred_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.shred_tenant(uuid) IS
    'destroy every data key of the tenant (crypto-shredding); returns the number of key versions destroyed';
REVOKE EXECUTE ON FUNCTION @extschema@.shred_tenant(uuid) FROM PUBLIC;

-- Helpers of protect() and reencrypt(): they check that the caller owns the
-- table and that the row's tenant is the current tenant when one is set.
CREATE FUNCTION @extschema@._protect_encrypt(rel regclass, tenant uuid, plaintext text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_protect_encrypt'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION @extschema@._protect_blind_index(rel regclass, tenant uuid, plaintext text, purpose text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_protect_blind_index'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION @extschema@._needs_reencrypt(rel regclass, tenant uuid, ciphertext bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_needs_reencrypt'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION @extschema@._reencrypt_value(rel regclass, tenant uuid, ciphertext bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_reencrypt_value'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.protect_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_protect_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION @extschema@.protect_trigger() IS
    'BEFORE INSERT OR UPDATE trigger of protected columns: encrypts the plaintext column into the encrypted column and stores NULL';

-- _protected_view (re)creates <table>_decrypted: every column of the table,
-- protected columns decrypted for the current tenant, ciphertext and blind
-- index columns left out; security_invoker, with the table's SELECT grants.
CREATE FUNCTION @extschema@._protected_view(rel regclass) RETURNS name
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
                           THEN format('@extschema@.decrypt_pii(t.%I) AS %I', p.encrypted_column, a.attname)
                           ELSE format('t.%I', a.attname) END, ', ' ORDER BY a.attnum)
      INTO cols
      FROM pg_attribute a
      LEFT JOIN @extschema@.protected_columns p ON p.rel = a.attrelid AND p.column_name = a.attname
     WHERE a.attrelid = _protected_view.rel AND a.attnum > 0 AND NOT a.attisdropped
       AND NOT EXISTS (SELECT FROM @extschema@.protected_columns q
                        WHERE q.rel = a.attrelid AND a.attname IN (q.encrypted_column, q.blind_index_column));
    IF to_regclass(format('%I.%I', nsp, vname)) IS NOT NULL THEN
        EXECUTE format('DROP VIEW %I.%I', nsp, vname);
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

-- protect() converts a plaintext text column into a protected one, in one
-- transaction: adds <col>_encrypted (and <col>_bidx when searchable), fills
-- them and sets the plaintext column to NULL in a single rewrite of the
-- table (ALTER TABLE ... USING, so no old row version with plaintext stays
-- in the table's files), installs the encrypting trigger and the view.
-- Runs with the caller's rights: the caller must own the table.
CREATE FUNCTION @extschema@.protect(rel regclass, "column" name, searchable boolean DEFAULT false,
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
    SELECT atttypid, atttypmod INTO col_type, col_typmod FROM pg_attribute
     WHERE attrelid = rel AND attname = "column" AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column % of % does not exist', quote_ident("column"), rel USING ERRCODE = 'undefined_column';
    END IF;
    IF col_type NOT IN ('text'::regtype, 'varchar'::regtype) THEN
        RAISE EXCEPTION 'column % of % is of type %, not text', quote_ident("column"), rel, col_type::regtype
            USING ERRCODE = 'datatype_mismatch', HINT = 'Only text and varchar columns can be protected.';
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
    -- one rewrite: every USING expression reads the old row
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE bytea USING @extschema@._protect_encrypt(%L, %I, %I::text)%s, '
                   'ALTER COLUMN %I TYPE %s USING NULL',
                   rel, enc_col, rel::oid, tenant_col, "column",
                   CASE WHEN searchable
                        THEN format(', ALTER COLUMN %I TYPE bytea USING @extschema@._protect_blind_index(%L, %I, %I::text, %L)',
                                    bidx_col, rel::oid, tenant_col, "column", purpose)
                        ELSE '' END,
                   "column", format_type(col_type, col_typmod));
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

-- reencrypt() re-encrypts, with each tenant's active key, the protected
-- columns of a table whose ciphertext was made with an older key version, in
-- batches with a COMMIT after each.  It works on the rows the caller can see:
-- all of them for a superuser or a BYPASSRLS owner, one tenant's when the
-- table is isolated and a tenant is set.  Call it outside a transaction block.
CREATE PROCEDURE @extschema@.reencrypt(rel regclass, batch_size integer DEFAULT 1000)
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
