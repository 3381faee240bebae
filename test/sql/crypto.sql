-- tenantcore: PII encryption (sql/crypto.sql, src/crypto_*.c)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

\set ta '\'aaaaaaaa-0000-4000-8000-00000000000a\''
\set tb '\'bbbbbbbb-0000-4000-8000-00000000000b\''
\set tc '\'cccccccc-0000-4000-8000-00000000000c\''

CREATE ROLE tc_crypto_owner NOLOGIN;
CREATE ROLE tc_crypto_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_crypto_app');
GRANT USAGE ON SCHEMA tenantcore TO tc_crypto_owner;
CREATE SCHEMA crypt AUTHORIZATION tc_crypto_owner;
GRANT USAGE ON SCHEMA crypt TO tc_crypto_app;

-- the master key is configured (test clusters get a random key file) but
-- invisible to application roles
SELECT count(*) AS visible_to_superuser FROM pg_settings WHERE name = 'tenantcore.master_key_file';
SELECT count(*) AS hex_keys_in_settings FROM pg_settings WHERE setting ~ '^[0-9a-fA-F]{64}$';

SET ROLE tc_crypto_app;
SELECT count(*) AS visible_to_app FROM pg_settings WHERE name LIKE 'tenantcore.master_key%';
SELECT current_setting('tenantcore.master_key_file');
SELECT * FROM tenantcore.tenant_keys;
-- administrative forms, rotation and shredding are not for application roles
SELECT tenantcore.encrypt_pii('x', :ta);
SELECT tenantcore.decrypt_pii('\x00'::bytea, :ta);
SELECT tenantcore.rotate_tenant_key(:ta);
SELECT tenantcore.shred_tenant(:ta);

-- no tenant: a clear error
SELECT tenantcore.encrypt_pii('x');
SELECT tenantcore.decrypt_pii('\x00'::bytea);
SELECT tenantcore.blind_index('x');

-- round trips for tenant A, keys created on first use
BEGIN;
SELECT tenantcore.set_tenant(:ta) IS NOT NULL AS tenant_set;
CREATE TEMP TABLE ct AS
SELECT v.label, v.plain, tenantcore.encrypt_pii(v.plain) AS c
  FROM (VALUES ('null', NULL), ('empty', ''), ('ascii', 'alice@example.com'),
               ('unicode', 'Zoë Ångström 日本語 🔐'), ('1 MB', repeat('0123456789abcdef', 65536))) v(label, plain);
SELECT label, c IS NULL AS null_out, tenantcore.decrypt_pii(c) IS NOT DISTINCT FROM plain AS round_trip,
       tenantcore.key_version(c) AS version, octet_length(c) - octet_length(plain) AS overhead
  FROM ct ORDER BY label;
SELECT octet_length(c) - octet_length(plain) AS overhead_1mb FROM ct WHERE label = '1 MB';
-- the same plaintext twice gives different ciphertext
SELECT tenantcore.encrypt_pii('same') <> tenantcore.encrypt_pii('same') AS randomized;
-- ciphertext is "TC", format 1, key version, tenant, then an OpenPGP message (tag 3 = symmetric-key session key)
SELECT substr(c, 1, 3) AS magic, substr(c, 8, 16) = uuid_send(:ta) AS names_tenant,
       get_byte(c, 23) & 63 = 3 OR (get_byte(c, 23) >> 2) & 15 = 3 AS openpgp_skesk
  FROM ct WHERE label = 'ascii';
COMMIT;

-- tenant B cannot decrypt tenant A's ciphertext
BEGIN;
SELECT tenantcore.set_tenant(:tb) IS NOT NULL AS tenant_set;
SELECT tenantcore.decrypt_pii(c) FROM ct WHERE label = 'ascii';
ROLLBACK;
BEGIN;
SELECT tenantcore.set_tenant(:tb) IS NOT NULL AS tenant_set;
-- forging the header does not help: the OpenPGP layer needs A's key
SELECT tenantcore.decrypt_pii(overlay(c placing uuid_send(:tb) from 8)) FROM ct WHERE label = 'ascii';
ROLLBACK;

-- corrupt and foreign values
SELECT tenantcore.set_tenant(:ta, is_local => false) IS NOT NULL AS tenant_set;
SELECT tenantcore.decrypt_pii('\x'::bytea);
SELECT tenantcore.decrypt_pii(convert_to('alice@example.com', 'UTF8'));
SELECT tenantcore.decrypt_pii(overlay(c placing '\x00000000' from 4)) FROM ct WHERE label = 'ascii';
SELECT tenantcore.decrypt_pii(overlay(c placing '\x000000ff' from 4)) FROM ct WHERE label = 'ascii';
SELECT tenantcore.decrypt_pii(substr(c, 1, 40)) FROM ct WHERE label = 'ascii';
SELECT tenantcore.decrypt_pii(overlay(c placing '\xffff' from 60)) FROM ct WHERE label = 'ascii';
SELECT tenantcore.decrypt_pii(c || '\x00'::bytea) FROM ct WHERE label = 'ascii';
SELECT tenantcore.clear_tenant();
SELECT tenantcore.key_version('\x0102'::bytea);

-- blind index: normalized (NFC, trimmed, lower case), per tenant, per purpose
BEGIN;
SELECT tenantcore.set_tenant(:ta) IS NOT NULL AS tenant_set;
SELECT octet_length(tenantcore.blind_index('Alice@Example.com')) AS len,
       tenantcore.blind_index('  Alice@Example.COM ') = tenantcore.blind_index('alice@example.com') AS normalized,
       tenantcore.blind_index(U&'Zo\0065\0308') = tenantcore.blind_index(U&'zo\00EB') AS nfc,
       tenantcore.blind_index('alice@example.com', 'email') <> tenantcore.blind_index('alice@example.com') AS per_purpose,
       tenantcore.blind_index(NULL) IS NULL AS null_in_null_out;
CREATE TEMP TABLE bidx_a AS SELECT tenantcore.blind_index('alice@example.com') AS b;
COMMIT;
BEGIN;
SELECT tenantcore.set_tenant(:tb) IS NOT NULL AS tenant_set;
SELECT tenantcore.blind_index('alice@example.com') <> b AS per_tenant FROM bidx_a;
COMMIT;
RESET ROLE;

-- administrative forms for superusers (and roles granted them)
SELECT tenantcore.decrypt_pii(c, :ta) = plain AS admin_decrypt FROM ct WHERE label = 'ascii';
SELECT tenantcore.decrypt_pii(c, :tb) FROM ct WHERE label = 'ascii';
SELECT tenantcore.decrypt_pii(tenantcore.encrypt_pii('admin', :tb), :tb) AS admin_round_trip;
SELECT tenantcore.encrypt_pii(NULL, :tb) IS NULL AS null_out;
SELECT tenantcore.encrypt_pii('x', NULL);
SELECT tenantcore.rotate_tenant_key(NULL);

-- keys are stored wrapped; a standard OpenPGP implementation (pgcrypto here,
-- gpg works the same) unwraps them with the master key and then decrypts the
-- ciphertext without tenantcore
CREATE TEMP TABLE mk AS SELECT rtrim(pg_read_file(current_setting('tenantcore.master_key_file')), E'\n') AS hex;
SELECT organization_id = :ta AS tenant, version, status, octet_length(wrapped_key) > 56 AS wrapped
  FROM tenantcore.tenant_keys WHERE organization_id IN (:ta, :tb) ORDER BY 1 DESC, 2;
SELECT pgp_sym_decrypt(substr(ct.c, 24),
                       encode(substr(pgp_sym_decrypt_bytea(k.wrapped_key, mk.hex), 25, 32), 'hex')) = ct.plain AS standard_openpgp
  FROM ct, mk, tenantcore.tenant_keys k
 WHERE ct.label = 'unicode' AND k.organization_id = :ta AND k.version = 1;
-- neither key appears in settings or in error messages
DO $$
DECLARE
    master text := (SELECT hex FROM mk);
    data_key text := (SELECT encode(substr(pgp_sym_decrypt_bytea(k.wrapped_key, master), 25, 32), 'hex')
                        FROM tenantcore.tenant_keys k WHERE k.organization_id = 'aaaaaaaa-0000-4000-8000-00000000000a' AND k.version = 1);
    msgs text := '';
    m text; d text; h text;
    probe text;
BEGIN
    FOREACH probe IN ARRAY ARRAY[
        'SELECT tenantcore.decrypt_pii(overlay(c placing ''\xffff'' from 60), ''aaaaaaaa-0000-4000-8000-00000000000a'') FROM ct WHERE label = ''ascii''',
        'SELECT tenantcore.decrypt_pii(c, ''bbbbbbbb-0000-4000-8000-00000000000b'') FROM ct WHERE label = ''ascii''',
        'SELECT tenantcore.decrypt_pii(''\x544301000000ff'', ''aaaaaaaa-0000-4000-8000-00000000000a'')']
    LOOP
        BEGIN
            EXECUTE probe;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
            msgs := msgs || m || d || h;
        END;
    END LOOP;
    RAISE NOTICE 'errors caught: %, master key in them: %, data key in them: %, keys in pg_settings: %',
        length(msgs) > 0, position(master in msgs) > 0, position(data_key in msgs) > 0,
        (SELECT count(*) FROM pg_settings WHERE setting ILIKE '%' || master || '%' OR setting ILIKE '%' || data_key || '%');
END
$$;

-- rotation: new ciphertext uses the new version, old ciphertext still decrypts
SELECT tenantcore.rotate_tenant_key(:ta) AS new_version;
SET ROLE tc_crypto_app;
BEGIN;
SELECT tenantcore.set_tenant(:ta) IS NOT NULL AS tenant_set;
SELECT tenantcore.key_version(tenantcore.encrypt_pii('after rotation')) AS version_now,
       (SELECT tenantcore.decrypt_pii(c) = plain FROM ct WHERE label = 'ascii') AS old_still_decrypts,
       (SELECT tenantcore.blind_index('alice@example.com') = b FROM bidx_a) AS blind_index_stable;
COMMIT;
RESET ROLE;
SELECT version, status FROM tenantcore.tenant_keys WHERE organization_id = :ta ORDER BY version;

-- a rolled-back first use leaves no key behind and no stale cache
BEGIN;
SELECT tenantcore.encrypt_pii('x', :tc) IS NOT NULL AS encrypted;
ROLLBACK;
SELECT count(*) AS keys_of_c FROM tenantcore.tenant_keys WHERE organization_id = :tc;
SELECT tenantcore.key_version(tenantcore.encrypt_pii('x', :tc)) AS version;
SELECT count(*) AS keys_of_c FROM tenantcore.tenant_keys WHERE organization_id = :tc;

-- protected columns
SET ROLE tc_crypto_owner;
CREATE TABLE crypt.customers (
    id int NOT NULL,
    organization_id uuid NOT NULL,
    name text,
    email varchar(200),
    note text,
    PRIMARY KEY (organization_id, id)
);
SELECT tenantcore.isolate('crypt.customers');
GRANT SELECT, INSERT, UPDATE, DELETE ON crypt.customers TO tc_crypto_app;
CREATE TABLE crypt.no_tenant (id int, secret text);
CREATE TABLE crypt.int_col (organization_id uuid, n int);
CREATE VIEW crypt.a_view AS SELECT 1 AS x;
RESET ROLE;
-- existing plaintext rows of two tenants (written by a superuser, RLS bypassed)
INSERT INTO crypt.customers
SELECT g, CASE WHEN g % 2 = 0 THEN :ta::uuid ELSE :tb::uuid END, 'name ' || g,
       'plainmail' || g || '@example.com', CASE WHEN g = 1 THEN repeat('plainnote', 120000) WHEN g = 2 THEN '' END
  FROM generate_series(1, 200) g;
SET ROLE tc_crypto_owner;

-- bad input: a clear error and no change
SELECT tenantcore.protect(NULL, 'email');
SELECT tenantcore.protect('crypt.customers', NULL);
SELECT tenantcore.protect('crypt.a_view', 'x');
SELECT tenantcore.protect('crypt.customers', 'missing');
SELECT tenantcore.protect('crypt.customers', 'x; drop table crypt.customers');
SELECT tenantcore.protect('crypt.int_col', 'n');
SELECT tenantcore.protect('crypt.no_tenant', 'secret');
SET ROLE tc_crypto_app;
SELECT tenantcore.protect('crypt.customers', 'email');
SELECT tenantcore._protect_encrypt('crypt.customers', :ta, 'x');
SET ROLE tc_crypto_owner;

SELECT tenantcore.protect('crypt.customers', 'email', searchable => true) AS view;
SELECT tenantcore.protect('crypt.customers', 'note') AS view;
SELECT tenantcore.protect('crypt.customers', 'email');
SELECT tenantcore.protect('crypt.customers', 'email_encrypted');
SELECT column_name, encrypted_column, blind_index_column, blind_index_purpose, tenant_column, view_name
  FROM tenantcore.protected_columns ORDER BY column_name;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'crypt.customers'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT pg_get_viewdef('crypt.customers_decrypted');
SELECT reloptions FROM pg_class WHERE oid = 'crypt.customers_decrypted'::regclass;
RESET ROLE;
SELECT count(*) AS rows, count(email) AS plain_email, count(email_encrypted) AS enc_email, count(email_bidx) AS bidx,
       count(note) AS plain_note, count(note_encrypted) AS enc_note
  FROM crypt.customers;

ANALYZE crypt.customers;

-- the application reads through the view and writes plaintext
SET ROLE tc_crypto_app;
BEGIN;
SELECT tenantcore.set_tenant(:ta) IS NOT NULL AS tenant_set;
SELECT id, name, email, octet_length(note) AS note_len FROM crypt.customers_decrypted ORDER BY id LIMIT 3;
INSERT INTO crypt.customers (id, name, email) VALUES (1000, 'new', ' New.Person@Example.com')
RETURNING id, email, note, octet_length(email_encrypted) > 0 AS encrypted, email_bidx IS NOT NULL AS indexed;
UPDATE crypt.customers SET name = 'renamed' WHERE id = 1000 RETURNING email IS NULL AS still_no_plaintext;
SELECT email FROM crypt.customers_decrypted WHERE id = 1000;
UPDATE crypt.customers SET email = 'changed@example.com' WHERE id = 1000;
SELECT email FROM crypt.customers_decrypted WHERE id = 1000;
-- equality search through the blind index (index scan)
SELECT id, name FROM crypt.customers WHERE email_bidx = tenantcore.blind_index('CHANGED@example.com');
SELECT id FROM crypt.customers WHERE email_bidx = tenantcore.blind_index('plainmail2@example.com');
SELECT id FROM crypt.customers WHERE email_bidx = tenantcore.blind_index('plainmail3@example.com');
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM crypt.customers WHERE email_bidx = tenantcore.blind_index('changed@example.com');
-- a row of another tenant is refused (the key of the row's tenant is used only for that tenant)
INSERT INTO crypt.customers (id, organization_id, email) VALUES (1001, :tb, 'x@example.com');
ROLLBACK;

-- a data-only restore (rows holding ciphertext, plaintext NULL) with the
-- trigger active does not encrypt twice
RESET ROLE;
CREATE TEMP TABLE dumped AS SELECT * FROM crypt.customers WHERE id <= 4;
DELETE FROM crypt.customers WHERE id <= 4;
INSERT INTO crypt.customers SELECT * FROM dumped;
SELECT count(*) AS unchanged FROM crypt.customers c JOIN dumped d USING (organization_id, id)
 WHERE c.email_encrypted = d.email_encrypted AND c.email IS NULL;
SELECT tenantcore.decrypt_pii(email_encrypted, organization_id) AS email FROM crypt.customers WHERE id <= 4 ORDER BY id;

-- plaintext is in none of the table's files (heap and TOAST), also after VACUUM FULL
CHECKPOINT;
CREATE TEMP TABLE files AS
SELECT 'heap' AS file, pg_relation_filepath('crypt.customers') AS path
UNION ALL
SELECT 'toast', pg_relation_filepath(reltoastrelid) FROM pg_class WHERE oid = 'crypt.customers'::regclass;
SELECT file, position('plainmail'::bytea IN pg_read_binary_file(path)) AS email_at,
       position('plainnote'::bytea IN pg_read_binary_file(path)) AS note_at,
       position('New.Person'::bytea IN pg_read_binary_file(path)) AS new_at
  FROM files ORDER BY file;
VACUUM FULL crypt.customers;
CHECKPOINT;
SELECT 'heap' AS file, position('plainmail'::bytea IN pg_read_binary_file(pg_relation_filepath('crypt.customers'))) AS email_at;

-- shredding: tenant B's data is gone, tenant A is unaffected
SELECT tenantcore.shred_tenant(:tb) AS destroyed_versions;
SELECT version, status, wrapped_key IS NULL AS key_gone FROM tenantcore.tenant_keys WHERE organization_id = :tb;
SET ROLE tc_crypto_app;
BEGIN;
SELECT tenantcore.set_tenant(:tb) IS NOT NULL AS tenant_set;
SELECT email FROM crypt.customers_decrypted WHERE id = 1;
ROLLBACK;
BEGIN;
SELECT tenantcore.set_tenant(:tb) IS NOT NULL AS tenant_set;
SELECT tenantcore.blind_index('plainmail1@example.com');
ROLLBACK;
BEGIN;
SELECT tenantcore.set_tenant(:tb) IS NOT NULL AS tenant_set;
INSERT INTO crypt.customers (id, email) VALUES (2000, 'x@example.com');
ROLLBACK;
BEGIN;
SELECT tenantcore.set_tenant(:ta) IS NOT NULL AS tenant_set;
SELECT count(*) AS readable_rows_of_a, count(*) FILTER (WHERE email LIKE 'plainmail%') AS emails
  FROM crypt.customers_decrypted;
COMMIT;
RESET ROLE;
SELECT tenantcore.rotate_tenant_key(:tb);
SELECT tenantcore.shred_tenant(:tb) AS destroyed_again;

-- the master key configuration errors (no key, a malformed key, a failing
-- command, another key, a missing file) are checked by
-- test/shell/crypto_master_key_errors.sh on a cluster of its own: a test that
-- make installcheck runs never changes the server's settings
-- clean up
DROP TABLE ct, bidx_a, mk, dumped, files;
DROP SCHEMA crypt CASCADE;
SELECT count(*) AS registry_rows_left FROM tenantcore.protected_columns;
DELETE FROM tenantcore.tenant_keys WHERE organization_id IN (:ta, :tb, :tc);
REVOKE ALL ON SCHEMA tenantcore FROM tc_crypto_owner, tc_crypto_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tenantcore FROM tc_crypto_app;
DROP ROLE tc_crypto_owner;
DROP ROLE tc_crypto_app;
