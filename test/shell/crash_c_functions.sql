-- test/shell/crash_c_functions.sql -- cases for test/shell/crash_c_functions.sh: every
-- SQL-callable C function and C trigger function of tenantcore called with
-- NULLs, wrong types, oversized and garbage input, odd relations and
-- triggers in the wrong place.  Any error is fine; a crashed backend is not.
--
-- Everything before the first "-- case:" line is the setup (run once, must
-- succeed).  Each case runs in its own session inside BEGIN ... ROLLBACK with
-- ON_ERROR_ROLLBACK, so every statement runs even after errors.  A case line
-- "-- covers: f g" names the C functions (pg_proc.proname) the case calls;
-- the runner fails when a C function of the extension is covered by no case.
--
-- The two shapes that crashed 0.6.0 (protect_trigger() naming columns of the
-- wrong types; the audit trigger re-entered through a cast that runs GRANT)
-- are the last cases; sql/harden_*.sql check their exact errors.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
CREATE ROLE crash_owner NOLOGIN;
CREATE ROLE crash_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('crash_app');
GRANT USAGE ON SCHEMA tenantcore TO crash_owner;
CREATE SCHEMA crash AUTHORIZATION crash_owner;
GRANT USAGE, CREATE ON SCHEMA crash TO crash_app;
SET ROLE crash_owner;
CREATE TABLE crash.t (id int PRIMARY KEY, organization_id uuid NOT NULL, email text, note text, updated_at timestamptz);
SELECT tenantcore.isolate('crash.t');
SELECT tenantcore.protect('crash.t', 'email', true);
SELECT tenantcore.track_updated_at('crash.t');
CREATE TABLE crash.parted (organization_id uuid NOT NULL, id int, email text, PRIMARY KEY (organization_id, id)) PARTITION BY LIST (organization_id);
CREATE TABLE crash.parted_a PARTITION OF crash.parted FOR VALUES IN ('aaaaaaaa-0000-4000-8000-000000000001');
CREATE TABLE crash.parted_rest PARTITION OF crash.parted DEFAULT;
CREATE TABLE crash.dropped (a int, id int PRIMARY KEY, b text, organization_id uuid, email text, c int, updated_at timestamptz);
ALTER TABLE crash.dropped DROP COLUMN a, DROP COLUMN b, DROP COLUMN c;
CREATE TABLE crash.gen (id int PRIMARY KEY, organization_id uuid, email text, email_upper text GENERATED ALWAYS AS (upper(email)) STORED, updated_at timestamptz);
SELECT format('CREATE TABLE crash.wide (id int PRIMARY KEY, organization_id uuid, %s)',
              string_agg(format('c%s int', g), ', ')) FROM generate_series(1, 1100) g \gexec
SELECT tenantcore.isolate('crash.dropped'), tenantcore.isolate('crash.gen'), tenantcore.isolate('crash.parted'), tenantcore.isolate('crash.wide');
RESET ROLE;
SELECT tenantcore.audit('crash.t', redact => '{note}');
CREATE TABLE crash.plain (id int PRIMARY KEY, body text);
CREATE SEQUENCE crash.t_id_seq;
CREATE VIEW crash.v AS SELECT id, organization_id, email FROM crash.t;
GRANT ALL ON ALL TABLES IN SCHEMA crash TO crash_app;
INSERT INTO crash.t (id, organization_id, email, note)
VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'a@example.com', 'n'), (2, 'bbbbbbbb-0000-4000-8000-000000000002', 'b@example.com', 'n');
-- rand(n): n random bytes (gen_random_bytes() stops at 1024)
CREATE FUNCTION crash.rand(n int) RETURNS bytea LANGUAGE sql AS
    $$SELECT substring(string_agg(gen_random_bytes(1024), ''::bytea) FROM 1 FOR n) FROM generate_series(1, (n + 1023) / 1024)$$;
CREATE FUNCTION crash.ct(tenant text) RETURNS bytea LANGUAGE sql AS
    $$SELECT email_encrypted FROM crash.t WHERE organization_id = tenant::uuid$$;
RESET client_min_messages;

-- case: context functions with NULL, garbage and oversized input
-- covers: current_tenant current_actor set_tenant set_actor clear_tenant
SELECT tenantcore.set_tenant(NULL);
SELECT tenantcore.set_tenant(NULL, NULL);
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001', NULL);
SELECT tenantcore.set_actor(NULL, true);
SELECT tenantcore.set_tenant(repeat('a', 1048576)::uuid);
SELECT tenantcore.set_tenant('not-a-uuid'::text::uuid);
SELECT set_config('tenantcore.tenant_id', repeat('x', 1048576), true);
SELECT set_config('tenantcore.actor_id', E'\\x00', true);
SELECT set_config('tenantcore.tenant_id', '{aaaaaaaa-0000-4000-8000-000000000001}', true);
SELECT tenantcore.current_tenant(), tenantcore.current_actor();
SELECT tenantcore.clear_tenant(), tenantcore.clear_tenant();
SELECT tenantcore.set_tenant(g::text::uuid, false) FROM (SELECT gen_random_uuid() g FROM generate_series(1, 1000)) s;
SELECT tenantcore.current_tenant();
SELECT tenantcore.set_tenant(tenantcore.current_tenant());

-- case: the JWT fallback with garbage claims
-- covers: current_tenant current_actor
SET tenantcore.jwt_tenant_claim = 'org_id';
SET tenantcore.jwt_actor_claim = 'sub';
SELECT set_config('request.jwt.claims', repeat('{"org_id":', 10000), true);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '{"org_id": null, "sub": 12}', true);
SELECT tenantcore.current_tenant(), tenantcore.current_actor();
SELECT set_config('request.jwt.claims', '[1, 2, 3]', true);
SELECT tenantcore.current_tenant(), tenantcore.current_actor();
SELECT set_config('request.jwt.claims', '"org_id"', true);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '{"org_id": {"org_id": "aaaaaaaa-0000-4000-8000-000000000001"}}', true);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '{"org_id": "' || repeat('a', 1048576) || '"}', true);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '{"org_id": "aaaaaaaa-0000-4000-8000-000000000001", "org_id": "bbbbbbbb-0000-4000-8000-000000000002"}', true);
SELECT tenantcore.current_tenant();
SELECT set_config('request.jwt.claims', '', true);
SELECT tenantcore.current_tenant();
SET tenantcore.jwt_tenant_claim = '';
SET tenantcore.jwt_tenant_claim = 'a"b\c';
SELECT set_config('request.jwt.claims', '{"a\"b\\c": "aaaaaaaa-0000-4000-8000-000000000001"}', true);
SELECT tenantcore.current_tenant();

-- case: encryption functions with NULL, oversized, garbage and truncated ciphertext
-- covers: encrypt_pii decrypt_pii key_version blind_index
SELECT tenantcore.encrypt_pii(NULL);
SELECT tenantcore.encrypt_pii('x');
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SELECT length(tenantcore.encrypt_pii(repeat('x', 1048576)));
SELECT tenantcore.encrypt_pii('');
SELECT tenantcore.decrypt_pii(NULL::bytea);
SELECT tenantcore.decrypt_pii(''::bytea);
SELECT tenantcore.decrypt_pii('\x54'::bytea);
SELECT tenantcore.decrypt_pii('\x5443'::bytea);
SELECT tenantcore.decrypt_pii('\x544301'::bytea);
SELECT tenantcore.decrypt_pii('\x54430100000001'::bytea);
SELECT tenantcore.decrypt_pii('\x54430100000001aaaaaaaa000040008000000000000001'::bytea);
SELECT tenantcore.decrypt_pii('\x544301ffffffffaaaaaaaa000040008000000000000001c30d'::bytea);
SELECT tenantcore.decrypt_pii('\x54430100000000aaaaaaaa000040008000000000000001c30d'::bytea);
SELECT tenantcore.decrypt_pii('\x544399000000010aaaaaaa000040008000000000000001c30d'::bytea);
SELECT tenantcore.decrypt_pii('\x54430100000001aaaaaaaa000040008000000000000001'::bytea || gen_random_bytes(512));
SELECT tenantcore.decrypt_pii('\x54430100000001aaaaaaaa000040008000000000000001c30d04090302'::bytea || gen_random_bytes(64));
SELECT tenantcore.decrypt_pii(substring(c FROM 1 FOR n)) FROM (SELECT tenantcore.encrypt_pii('hello') c) s, generate_series(0, 80) n;
SELECT tenantcore.decrypt_pii(c || '\x00'::bytea) FROM (SELECT tenantcore.encrypt_pii('hello') c) s;
SELECT tenantcore.decrypt_pii(overlay(c PLACING '\xff'::bytea FROM n FOR 1)) FROM (SELECT tenantcore.encrypt_pii('hello') c) s, generate_series(24, 60) n;
SELECT tenantcore.decrypt_pii(crash.rand(1048576));
SELECT tenantcore.decrypt_pii(convert_to('not ciphertext at all', 'UTF8'));
SELECT tenantcore.decrypt_pii(pgp_sym_encrypt('x', 'guess'));
SELECT tenantcore.decrypt_pii(decode(repeat('54430100000001', 1000), 'hex'));
SELECT tenantcore.key_version(NULL::bytea), tenantcore.key_version(''::bytea), tenantcore.key_version('\x5443'::bytea);
SELECT tenantcore.key_version('\x544301'::bytea), tenantcore.key_version('\x54430100'::bytea), tenantcore.key_version(gen_random_bytes(64));
SELECT tenantcore.key_version(crash.ct('bbbbbbbb-0000-4000-8000-000000000002'));
SELECT tenantcore.decrypt_pii(crash.ct('bbbbbbbb-0000-4000-8000-000000000002'));
SELECT tenantcore.decrypt_pii(overlay(crash.ct('bbbbbbbb-0000-4000-8000-000000000002') PLACING decode('aaaaaaaa000040008000000000000001', 'hex') FROM 8 FOR 16));
SELECT tenantcore.blind_index(NULL, NULL), tenantcore.blind_index('email', NULL), tenantcore.blind_index(NULL, 'x');
SELECT tenantcore.blind_index('', ''), tenantcore.blind_index(repeat('c', 1048576), repeat('v', 1048576));
SELECT tenantcore.blind_index(E'e\u00e9', E'\u00e9');
SELECT tenantcore.clear_tenant();
SELECT tenantcore.blind_index('email', 'x');
SELECT tenantcore.decrypt_pii(crash.ct('aaaaaaaa-0000-4000-8000-000000000001'));


-- case: decryption of a protected column's value with reads recorded: odd tables, columns and ciphertext
-- covers: _decrypt_column
SET tenantcore.audit_reads = on;
SELECT tenantcore._decrypt_column(NULL, NULL, NULL);
SELECT tenantcore._decrypt_column(NULL, 'pg_class'::regclass, -32768::smallint);
SELECT tenantcore._decrypt_column('\x54'::bytea, NULL, NULL);
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore._decrypt_column(tenantcore.encrypt_pii('x'), NULL, NULL);
SELECT tenantcore._decrypt_column(tenantcore.encrypt_pii('x'), 0, 0::smallint);
SELECT tenantcore._decrypt_column(tenantcore.encrypt_pii('x'), 4294967295::oid::regclass, 32767::smallint);
SELECT tenantcore._decrypt_column(tenantcore.encrypt_pii('x'), 'pg_class'::regclass, -1::smallint);
SELECT tenantcore._decrypt_column(tenantcore.encrypt_pii('x'), 'pg_class'::regclass, 1::smallint);
SELECT tenantcore._decrypt_column(crash.rand(64), 'pg_class'::regclass, 1::smallint);
SELECT tenantcore._decrypt_column(crash.ct('bbbbbbbb-0000-4000-8000-000000000002'), 'pg_class'::regclass, 2::smallint);
SELECT count(tenantcore._decrypt_column(c, 'pg_class'::regclass, 2::smallint)) FROM (SELECT tenantcore.encrypt_pii('v' || g) c FROM generate_series(1, 2000) g) s;
SELECT tenantcore._decrypt_column(tenantcore.encrypt_pii('x'), 'pg_class'::regclass, 2::smallint) FROM generate_series(1, 3);
SAVEPOINT s; SELECT tenantcore._decrypt_column(tenantcore.encrypt_pii('x'), 'pg_type'::regclass, 3::smallint); ROLLBACK TO SAVEPOINT s;
SET LOCAL transaction_read_only = on;
SELECT tenantcore._decrypt_column(tenantcore.encrypt_pii('x'), 'pg_class'::regclass, 4::smallint);
-- case: tenant-explicit encryption and key management with odd tenants
-- covers: encrypt_pii decrypt_pii rotate_tenant_key shred_tenant rewrap_tenant_keys _master_key_id
SELECT tenantcore.encrypt_pii(NULL, NULL), tenantcore.encrypt_pii('x', NULL);
SELECT tenantcore.encrypt_pii(repeat('x', 1048576), '00000000-0000-0000-0000-000000000000') IS NOT NULL;
SELECT tenantcore.decrypt_pii(NULL, NULL), tenantcore.decrypt_pii('\x00'::bytea, NULL);
SELECT tenantcore.decrypt_pii(crash.ct('aaaaaaaa-0000-4000-8000-000000000001'), 'bbbbbbbb-0000-4000-8000-000000000002');
SELECT tenantcore.decrypt_pii(gen_random_bytes(100), 'aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore.decrypt_pii(tenantcore.encrypt_pii('x', 'ffffffff-0000-4000-8000-00000000000f'), 'ffffffff-0000-4000-8000-00000000000f');
SELECT tenantcore.rotate_tenant_key(NULL);
SELECT tenantcore.rotate_tenant_key('00000000-0000-0000-0000-000000000000');
SELECT tenantcore.rotate_tenant_key('aaaaaaaa-0000-4000-8000-000000000001'), tenantcore.rotate_tenant_key('aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore.decrypt_pii(crash.ct('aaaaaaaa-0000-4000-8000-000000000001'), 'aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore.shred_tenant(NULL);
SELECT tenantcore.shred_tenant('bbbbbbbb-0000-4000-8000-000000000002'), tenantcore.shred_tenant('bbbbbbbb-0000-4000-8000-000000000002');
SELECT tenantcore.decrypt_pii(crash.ct('bbbbbbbb-0000-4000-8000-000000000002'), 'bbbbbbbb-0000-4000-8000-000000000002');
SELECT tenantcore.encrypt_pii('x', 'bbbbbbbb-0000-4000-8000-000000000002');
SELECT tenantcore.rotate_tenant_key('bbbbbbbb-0000-4000-8000-000000000002');
SELECT tenantcore.rewrap_tenant_keys();
SELECT tenantcore._master_key_id(NULL), tenantcore._master_key_id(true), tenantcore._master_key_id(false);
UPDATE tenantcore.tenant_keys SET wrapped_key = '\x00' WHERE organization_id = 'aaaaaaaa-0000-4000-8000-000000000001';
SELECT tenantcore.decrypt_pii(crash.ct('aaaaaaaa-0000-4000-8000-000000000001'), 'aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore.encrypt_pii('x', 'aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore.rewrap_tenant_keys();
UPDATE tenantcore.tenant_keys SET wrapped_key = crash.rand(4096);
SELECT tenantcore.encrypt_pii('x', 'aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore.rewrap_tenant_keys();

-- case: the key table's trigger called by hand and fired by odd statements
-- covers: _tenant_keys_changed
SELECT tenantcore._tenant_keys_changed();
DELETE FROM tenantcore.tenant_keys;
TRUNCATE tenantcore.tenant_keys;
INSERT INTO tenantcore.tenant_keys (organization_id, version, wrapped_key, status) VALUES ('cccccccc-0000-4000-8000-000000000003', 1, '\x00', 'active');
SELECT tenantcore.encrypt_pii('x', 'cccccccc-0000-4000-8000-000000000003');
CREATE TABLE crash.keys_like (LIKE tenantcore.tenant_keys);
CREATE TRIGGER k AFTER INSERT ON crash.keys_like FOR EACH ROW EXECUTE FUNCTION tenantcore._tenant_keys_changed();
CREATE TRIGGER k2 BEFORE UPDATE ON crash.keys_like FOR EACH STATEMENT EXECUTE FUNCTION tenantcore._tenant_keys_changed('x', 'y');
INSERT INTO crash.keys_like SELECT * FROM tenantcore.tenant_keys;
INSERT INTO crash.keys_like (organization_id, version) VALUES ('cccccccc-0000-4000-8000-000000000003', 1);
UPDATE crash.keys_like SET version = 2;

-- case: the protect helpers with NULLs, odd relations and other tenants
-- covers: _protect_encrypt _protect_blind_index _needs_reencrypt _reencrypt_value
-- (relation 0 is left to the branch fixing _protect_encrypt(0, ...))
SELECT tenantcore._protect_encrypt(NULL, NULL, NULL), tenantcore._protect_blind_index(NULL, NULL, NULL, NULL);
SELECT tenantcore._needs_reencrypt(NULL, NULL, NULL), tenantcore._reencrypt_value(NULL, NULL, NULL);
SELECT tenantcore._protect_encrypt('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', repeat('x', 1048576)) IS NOT NULL;
SELECT tenantcore._protect_encrypt('crash.t', NULL, 'x'), tenantcore._protect_encrypt('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', NULL);
SELECT tenantcore._protect_blind_index('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', 'no_such_column', 'x');
SELECT tenantcore._protect_blind_index('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', '', repeat('x', 1048576));
SELECT tenantcore._protect_blind_index('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', 'x"; drop table crash.t; --', 'x');
SELECT tenantcore._needs_reencrypt('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', gen_random_bytes(64));
SELECT tenantcore._needs_reencrypt('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', '\x5443'::bytea);
SELECT tenantcore._needs_reencrypt('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', crash.ct('bbbbbbbb-0000-4000-8000-000000000002'));
SELECT tenantcore._reencrypt_value('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', crash.ct('bbbbbbbb-0000-4000-8000-000000000002'));
SELECT tenantcore._reencrypt_value('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', crash.rand(1048576));
SELECT tenantcore._reencrypt_value('crash.t', 'aaaaaaaa-0000-4000-8000-000000000001', '\x54430100000001aaaaaaaa000040008000000000000001'::bytea);
-- each helper on each odd relation, one statement each
SELECT format('SELECT tenantcore.%s(%L, %L, %s)', f, r, 'aaaaaaaa-0000-4000-8000-000000000001', a)
  FROM unnest(ARRAY['crash.parted', 'crash.parted_a', 'crash.dropped', 'crash.gen', 'crash.plain', 'crash.v', 'crash.wide',
                    'pg_class', 'tenantcore.tenant_keys', 'crash.t_pkey', 'crash.t_id_seq']) r,
       (VALUES ('_protect_encrypt', '''x'''), ('_protect_blind_index', '''email'', ''x'''),
               ('_needs_reencrypt', 'crash.ct(''aaaaaaaa-0000-4000-8000-000000000001'')'),
               ('_reencrypt_value', 'crash.ct(''aaaaaaaa-0000-4000-8000-000000000001'')')) v(f, a) \gexec
SELECT tenantcore._protect_encrypt(4294967295::oid::regclass, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
SELECT tenantcore._reencrypt_value(4294967295::oid::regclass, 'aaaaaaaa-0000-4000-8000-000000000001', '\x00');
SELECT tenantcore._needs_reencrypt('pg_class', 'aaaaaaaa-0000-4000-8000-000000000001', '\x00');
SELECT tenantcore._protect_blind_index('crash.v', 'aaaaaaaa-0000-4000-8000-000000000001', 'email', 'x');
CREATE TEMP TABLE tt (id int, organization_id uuid, email text);
SELECT tenantcore._protect_encrypt('tt', 'aaaaaaaa-0000-4000-8000-000000000001', 'x'), tenantcore._protect_blind_index('tt', 'aaaaaaaa-0000-4000-8000-000000000001', 'email', 'x');
SET ROLE crash_app;
SELECT tenantcore._protect_encrypt('crash.t', 'bbbbbbbb-0000-4000-8000-000000000002', 'x');
SELECT tenantcore._reencrypt_value('crash.t', 'bbbbbbbb-0000-4000-8000-000000000002', crash.ct('bbbbbbbb-0000-4000-8000-000000000002'));
SELECT tenantcore._needs_reencrypt('tt', 'bbbbbbbb-0000-4000-8000-000000000002', '\x00');
RESET ROLE;

-- case: protect_trigger called directly, with wrong argument counts and in the wrong place
-- covers: protect_trigger
SELECT tenantcore.protect_trigger();
CREATE TRIGGER p0 BEFORE INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger();
INSERT INTO crash.plain VALUES (1, 'x');
DROP TRIGGER p0 ON crash.plain;
CREATE TRIGGER p1 BEFORE INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('body');
INSERT INTO crash.plain VALUES (2, 'x');
DROP TRIGGER p1 ON crash.plain;
CREATE TRIGGER p9 BEFORE INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('body', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
INSERT INTO crash.plain VALUES (3, 'x');
DROP TRIGGER p9 ON crash.plain;
CREATE TRIGGER pmissing BEFORE INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('body', 'no_enc', 'no_bidx', 'no_tenant', 'default');
INSERT INTO crash.plain VALUES (4, 'x');
DROP TRIGGER pmissing ON crash.plain;
CREATE TRIGGER pempty BEFORE INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('', '', '', '', '');
INSERT INTO crash.plain VALUES (5, 'x');
DROP TRIGGER pempty ON crash.plain;
CREATE TRIGGER pstmt BEFORE INSERT ON crash.t FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.protect_trigger('email', 'email_encrypted', 'email_bidx', 'organization_id', 'default');
INSERT INTO crash.t (id, organization_id, email) VALUES (10, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
DROP TRIGGER pstmt ON crash.t;
CREATE TRIGGER pafter AFTER INSERT ON crash.t FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('email', 'email_encrypted', 'email_bidx', 'organization_id', 'default');
INSERT INTO crash.t (id, organization_id, email) VALUES (11, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
DROP TRIGGER pafter ON crash.t;
CREATE TRIGGER pdelete BEFORE DELETE ON crash.t FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('email', 'email_encrypted', 'email_bidx', 'organization_id', 'default');
DELETE FROM crash.t WHERE id = 1;
DROP TRIGGER pdelete ON crash.t;
CREATE TRIGGER ptrunc BEFORE TRUNCATE ON crash.plain FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.protect_trigger('body', 'a', 'b', 'c', 'd');
TRUNCATE crash.plain;
DROP TRIGGER ptrunc ON crash.plain;
CREATE TRIGGER pview INSTEAD OF INSERT ON crash.v FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('email', 'email_encrypted', 'email_bidx', 'organization_id', 'default');
INSERT INTO crash.v VALUES (12, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
DROP TRIGGER pview ON crash.v;
-- a bogus mode, a blind index column that is the ciphertext column, the tenant column as plain column
CREATE TRIGGER pmode BEFORE INSERT ON crash.dropped FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('email', 'email', '', 'organization_id', 'bogus');
INSERT INTO crash.dropped (id, organization_id, email) VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
DROP TRIGGER pmode ON crash.dropped;
-- a table with dropped and generated columns, a partitioned table, a table of 1100 columns
SET ROLE crash_owner;
SELECT tenantcore.protect('crash.dropped', 'email', true);
SELECT tenantcore.protect('crash.gen', 'email', true);
SELECT tenantcore.protect('crash.parted', 'email', true);
RESET ROLE;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
INSERT INTO crash.dropped (id, email) VALUES (2, 'd@example.com');
UPDATE crash.dropped SET email = repeat('y', 1048576);
INSERT INTO crash.gen (id, email) VALUES (2, 'g@example.com');
UPDATE crash.gen SET email = NULL;
INSERT INTO crash.parted (id, email) VALUES (1, 'p@example.com');
UPDATE crash.parted SET organization_id = 'bbbbbbbb-0000-4000-8000-000000000002';
INSERT INTO crash.parted_a (organization_id, id, email) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 2, 'p2@example.com');
SELECT tenantcore.decrypt_pii(email_encrypted) FROM crash.dropped;
-- the table changes under the trigger: a column renamed, dropped, added
ALTER TABLE crash.dropped RENAME COLUMN email_encrypted TO email_gone;
INSERT INTO crash.dropped (id, email) VALUES (3, 'x');
ALTER TABLE crash.dropped RENAME COLUMN email_gone TO email_encrypted;
ALTER TABLE crash.dropped DROP COLUMN email_bidx;
INSERT INTO crash.dropped (id, email) VALUES (4, 'x');
ALTER TABLE crash.dropped ADD COLUMN email_bidx bytea;
INSERT INTO crash.dropped (id, email) VALUES (5, 'x');
ALTER TABLE crash.dropped DROP COLUMN organization_id CASCADE;
INSERT INTO crash.dropped (id, email) VALUES (6, 'x');
-- a row of another tenant and a row without tenant
INSERT INTO crash.t (id, organization_id, email) VALUES (13, 'bbbbbbbb-0000-4000-8000-000000000002', 'x');
INSERT INTO crash.t (id, organization_id, email) VALUES (14, NULL, 'x');
-- a temporary table with the trigger
CREATE TEMP TABLE tp (id int, organization_id uuid, email text, email_encrypted bytea, email_bidx bytea);
CREATE TRIGGER ptemp BEFORE INSERT OR UPDATE ON tp FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('email', 'email_encrypted', 'email_bidx', 'organization_id', 'default');
INSERT INTO tp VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'x', NULL, NULL);
INSERT INTO tp SELECT g, 'aaaaaaaa-0000-4000-8000-000000000001', 'v' || g, NULL, NULL FROM generate_series(1, 1000) g;
UPDATE tp SET email = 'y';
-- as the application role, where it owns the table
SET ROLE crash_app;
CREATE TABLE crash.app_own (id int, organization_id uuid, email text, email_encrypted bytea, email_bidx bytea);
CREATE TRIGGER papp BEFORE INSERT ON crash.app_own FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('email', 'email_encrypted', 'email_bidx', 'organization_id', 'default');
INSERT INTO crash.app_own VALUES (1, 'bbbbbbbb-0000-4000-8000-000000000002', 'x', NULL, NULL);
INSERT INTO crash.app_own VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 'x', NULL, NULL);
RESET ROLE;

-- case: audit_trigger called directly, with bogus arguments and in the wrong place
-- covers: audit_trigger _creating_extension
SELECT tenantcore.audit_trigger();
SELECT tenantcore._creating_extension();
CREATE TRIGGER a0 BEFORE INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger();
INSERT INTO crash.plain VALUES (1, 'x');
DROP TRIGGER a0 ON crash.plain;
CREATE TRIGGER a1 AFTER INSERT ON crash.plain FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.audit_trigger();
INSERT INTO crash.plain VALUES (2, 'x');
DROP TRIGGER a1 ON crash.plain;
CREATE TRIGGER a2 AFTER INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger('bogus', 'tenant:', 'exclude:', 'redact:', 'tenant:body', 'exclude:no_such', 'changed_only', 'full_rows');
INSERT INTO crash.plain VALUES (3, 'x');
DROP TRIGGER a2 ON crash.plain;
CREATE TRIGGER a3 AFTER INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger('tenant:body', 'exclude:body', 'redact:body', 'exclude:id', 'redact:id');
INSERT INTO crash.plain VALUES (4, 'x');
DROP TRIGGER a3 ON crash.plain;
SELECT format('CREATE TRIGGER a4 AFTER INSERT ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger(%s)',
              string_agg(quote_literal('redact:body'), ', ')) FROM generate_series(1, 1000) \gexec
INSERT INTO crash.plain VALUES (5, 'x');
DROP TRIGGER a4 ON crash.plain;
CREATE TRIGGER a5 AFTER TRUNCATE ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger();
CREATE TRIGGER a5 BEFORE TRUNCATE ON crash.plain FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.audit_trigger();
TRUNCATE crash.plain;
DROP TRIGGER a5 ON crash.plain;
CREATE TRIGGER a6 INSTEAD OF INSERT OR UPDATE OR DELETE ON crash.v FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger();
INSERT INTO crash.v VALUES (20, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
UPDATE crash.v SET email = 'y';
DELETE FROM crash.v;
DROP TRIGGER a6 ON crash.v;
CREATE TRIGGER a7 BEFORE UPDATE ON crash.t FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger();
UPDATE crash.t SET note = 'x';
DROP TRIGGER a7 ON crash.t;
-- a table without a primary key, a temp table, odd tables installed with audit()
CREATE TABLE crash.nopk (organization_id uuid, v text);
CREATE TRIGGER a8 AFTER INSERT ON crash.nopk FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger();
INSERT INTO crash.nopk VALUES (NULL, 'x');
CREATE TEMP TABLE ta (id int PRIMARY KEY, organization_id uuid, v text);
CREATE TRIGGER a9 AFTER INSERT OR UPDATE OR DELETE ON ta FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger('full_rows');
INSERT INTO ta SELECT g, 'aaaaaaaa-0000-4000-8000-000000000001', repeat('v', 1000) FROM generate_series(1, 1000) g;
UPDATE ta SET v = repeat('w', 1048576) WHERE id = 1;
DELETE FROM ta;
SELECT tenantcore.audit('crash.dropped'), tenantcore.audit('crash.gen'), tenantcore.audit('crash.parted'), tenantcore.audit('crash.wide', exclude => '{c7}', redact => '{c1000}');
SELECT tenantcore.audit('crash.v');
SELECT tenantcore.audit('crash.parted_a');
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
INSERT INTO crash.dropped (id, organization_id) VALUES (10, 'aaaaaaaa-0000-4000-8000-000000000001');
UPDATE crash.dropped SET updated_at = now();
INSERT INTO crash.gen (id, organization_id, email) VALUES (10, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
UPDATE crash.gen SET email = 'z';
INSERT INTO crash.parted (organization_id, id) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 10);
UPDATE crash.parted SET organization_id = 'bbbbbbbb-0000-4000-8000-000000000002';
INSERT INTO crash.wide (id, organization_id, c1, c7, c1000, c1100) VALUES (1, 'aaaaaaaa-0000-4000-8000-000000000001', 1, 7, 1000, 1100);
UPDATE crash.wide SET c1100 = 0, c1 = 2;
DELETE FROM crash.wide;
-- the audited table changes between two statements of one session
DROP VIEW crash.v, crash.t_decrypted;
INSERT INTO crash.t (id, organization_id, note) VALUES (30, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
ALTER TABLE crash.t ADD COLUMN extra int;
UPDATE crash.t SET extra = 1 WHERE id = 30;
ALTER TABLE crash.t DROP COLUMN extra;
UPDATE crash.t SET note = 'y' WHERE id = 30;
ALTER TABLE crash.t ALTER COLUMN note TYPE int USING length(note);
UPDATE crash.t SET note = 5 WHERE id = 30;
ALTER TABLE crash.t DROP COLUMN note CASCADE;
UPDATE crash.t SET email = 'q' WHERE id = 30;
ALTER TABLE crash.t DROP COLUMN organization_id CASCADE;
UPDATE crash.t SET updated_at = now() WHERE id = 30;
DELETE FROM crash.t;
-- a user trigger on the audit log (the log is written by the audit trigger)
CREATE FUNCTION crash.on_log() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN UPDATE crash.plain SET body = 'x'; RETURN NEW; END$$;
CREATE TRIGGER crash_on_log BEFORE INSERT ON tenantcore.audit_log FOR EACH ROW EXECUTE FUNCTION crash.on_log();
SELECT tenantcore.audit('crash.plain');
INSERT INTO crash.plain VALUES (7, 'x');
UPDATE crash.plain SET body = 'y';

-- case: updated_at_trigger with bogus arguments, odd columns and in the wrong place
-- covers: updated_at_trigger
SELECT tenantcore.updated_at_trigger();
CREATE TRIGGER u0 BEFORE UPDATE ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger();
INSERT INTO crash.plain VALUES (1, 'x');
UPDATE crash.plain SET body = 'y';
DROP TRIGGER u0 ON crash.plain;
CREATE TRIGGER u1 BEFORE UPDATE ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('body');
UPDATE crash.plain SET body = 'z';
DROP TRIGGER u1 ON crash.plain;
CREATE TRIGGER u2 BEFORE UPDATE ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('id');
UPDATE crash.plain SET body = 'z';
DROP TRIGGER u2 ON crash.plain;
CREATE TRIGGER u3 BEFORE UPDATE ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('no_such', 'x', 'y');
UPDATE crash.plain SET body = 'z';
DROP TRIGGER u3 ON crash.plain;
CREATE TRIGGER u4 BEFORE UPDATE ON crash.plain FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('');
UPDATE crash.plain SET body = 'z';
DROP TRIGGER u4 ON crash.plain;
CREATE TRIGGER u5 AFTER UPDATE ON crash.gen FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('updated_at');
CREATE TRIGGER u6 BEFORE UPDATE ON crash.gen FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.updated_at_trigger('updated_at');
CREATE TRIGGER u7 BEFORE UPDATE ON crash.gen FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('email_upper');
CREATE TRIGGER u8 BEFORE INSERT OR DELETE ON crash.gen FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('updated_at');
CREATE TRIGGER u9 BEFORE TRUNCATE ON crash.gen FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.updated_at_trigger('updated_at');
INSERT INTO crash.gen (id, email) VALUES (1, 'x');
UPDATE crash.gen SET email = 'y';
DELETE FROM crash.gen;
TRUNCATE crash.gen;
CREATE TRIGGER u10 INSTEAD OF UPDATE ON crash.v FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('email');
UPDATE crash.v SET email = 'y';
SELECT tenantcore.track_updated_at('crash.dropped'), tenantcore.track_updated_at('crash.parted_a');
SELECT tenantcore.track_updated_at('crash.wide', 'c1100');
SELECT tenantcore.track_updated_at('crash.v', 'email');
UPDATE crash.dropped SET email = 'x';
ALTER TABLE crash.dropped ALTER COLUMN updated_at TYPE text;
UPDATE crash.dropped SET email = 'x';
ALTER TABLE crash.dropped DROP COLUMN updated_at;
UPDATE crash.dropped SET email = 'x';
CREATE TEMP TABLE tu (id int, updated_at timestamptz);
CREATE TRIGGER u11 BEFORE UPDATE ON tu FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('updated_at');
INSERT INTO tu SELECT g, NULL FROM generate_series(1, 1000) g;
UPDATE tu SET id = id + 1;

-- case: tokens, permissions and the planner support function
-- covers: _token_secret _token_hash _token_matches has_permission _has_permission_support _member_visible
SELECT length(tenantcore._token_secret());
SELECT tenantcore._token_hash(NULL), tenantcore._token_hash(''), length(tenantcore._token_hash(crash.rand(1048576)));
SELECT tenantcore._token_matches(NULL, NULL), tenantcore._token_matches('', ''), tenantcore._token_matches('\x00', '\x0000');
SELECT tenantcore._token_matches(crash.rand(1048576), crash.rand(1048575));
SELECT tenantcore._token_matches(tenantcore._token_hash('x'), tenantcore._token_hash('x'));
SELECT tenantcore.has_permission(NULL), tenantcore.has_permission(''), tenantcore.has_permission(repeat('p', 1048576));
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001'), tenantcore.set_actor('aaaaaaaa-0000-4000-8000-0000000000ff');
SELECT tenantcore.has_permission('teams.read'), tenantcore.has_permission(E'x\u00e9'), tenantcore.has_permission('x''; drop table crash.t; --');
SELECT tenantcore.has_permission(p) FROM unnest(ARRAY['teams.read', NULL, '', 'members.manage']) p, generate_series(1, 250);
SELECT count(*) FROM crash.t WHERE tenantcore.has_permission('teams.read');
SELECT count(*) FROM crash.t WHERE tenantcore.has_permission(email);
SELECT count(*) FROM crash.t WHERE tenantcore.has_permission(NULL::text);
EXPLAIN SELECT * FROM crash.t WHERE tenantcore.has_permission('teams.read') AND tenantcore.has_permission(note);
SELECT tenantcore._has_permission_support(NULL::internal);
SELECT tenantcore._member_visible(NULL), tenantcore._member_visible(gen_random_uuid()),
       tenantcore._member_visible('00000000-0000-0000-0000-000000000000');
SELECT count(*) FROM generate_series(1, 2000) g WHERE tenantcore._member_visible(gen_random_uuid());
SELECT count(*) FROM tenantcore.users u WHERE tenantcore._member_visible(u.id);
SELECT tenantcore.clear_tenant();
SELECT tenantcore.has_permission('teams.read');
PREPARE hp(text) AS SELECT tenantcore.has_permission($1) FROM crash.t;
EXECUTE hp('teams.read'); EXECUTE hp(NULL); EXECUTE hp('');
SET ROLE crash_app;
SELECT tenantcore._token_secret();
SELECT tenantcore._token_hash('x');
SELECT tenantcore.has_permission('teams.read');
SELECT tenantcore._member_visible(gen_random_uuid());
RESET ROLE;

-- case: re-entrancy: casts and index expressions that call the same C functions
-- covers: current_tenant decrypt_pii blind_index encrypt_pii
CREATE DOMAIN crash.tenant_text AS text CHECK (VALUE::uuid = tenantcore.set_tenant(VALUE::uuid));
SELECT 'aaaaaaaa-0000-4000-8000-000000000001'::crash.tenant_text;
SELECT tenantcore.current_tenant();
CREATE FUNCTION crash.enc_twice(t text) RETURNS bytea LANGUAGE sql AS $$SELECT tenantcore.encrypt_pii(tenantcore.decrypt_pii(tenantcore.encrypt_pii(t)))$$;
CREATE TYPE crash.pii AS (v text);
CREATE FUNCTION crash.pii_to_bytea(crash.pii) RETURNS bytea LANGUAGE sql AS $$SELECT crash.enc_twice(($1).v)$$;
CREATE CAST (crash.pii AS bytea) WITH FUNCTION crash.pii_to_bytea(crash.pii);
SELECT tenantcore.decrypt_pii(ROW('nested')::crash.pii::bytea);
SELECT tenantcore.decrypt_pii(tenantcore.encrypt_pii(tenantcore.decrypt_pii(ROW(v)::crash.pii::bytea))) FROM (SELECT 'v' || g AS v FROM generate_series(1, 1000) g) s;
CREATE FUNCTION crash.rotating(t text) RETURNS text LANGUAGE plpgsql AS
    $$BEGIN PERFORM tenantcore.rotate_tenant_key(tenantcore.current_tenant()); RETURN t; END$$;
SELECT tenantcore.encrypt_pii(crash.rotating('x')), tenantcore.decrypt_pii(tenantcore.encrypt_pii(crash.rotating('y')));
SELECT tenantcore.blind_index('email', crash.rotating('x'));
CREATE FUNCTION crash.switching(t text) RETURNS text LANGUAGE plpgsql AS
    $$BEGIN PERFORM tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002'); RETURN t; END$$;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore.decrypt_pii(tenantcore.encrypt_pii(crash.switching('x')));
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SELECT count(*) FROM crash.t WHERE crash.switching(email) IS NOT NULL;
CREATE TABLE crash.idx (v text);
CREATE FUNCTION crash.imm_bidx(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$SELECT tenantcore.blind_index('email', t)$$;
CREATE INDEX ON crash.idx (crash.imm_bidx(v));
INSERT INTO crash.idx VALUES ('x');
SELECT tenantcore.clear_tenant();
INSERT INTO crash.idx VALUES ('y');
-- a protected table whose tenant default re-enters set_tenant
ALTER TABLE crash.t ALTER COLUMN organization_id SET DEFAULT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
INSERT INTO crash.t (id, email) VALUES (40, 'x');

-- case: audit_trigger over types without equality and through a cast to json that writes the audited table
-- covers: audit_trigger
CREATE TYPE crash.mood AS ENUM ('sad', 'happy');
CREATE TYPE crash.comp AS (a int, b json, m crash.mood);
CREATE TABLE crash.types (id int PRIMARY KEY, organization_id uuid, m crash.mood, p point, j json, x xml, ts tsvector,
                          r int4range, pa point[], big text, c crash.comp);
SELECT tenantcore.audit('crash.types', changed_only => true);
CREATE FUNCTION crash.mood_json(crash.mood) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    IF $1 = 'happy' THEN
        INSERT INTO crash.types (id, m) VALUES ((random() * 1000000)::int + 10, 'sad');
        UPDATE crash.types SET p = point(1, 1) WHERE m = 'sad';
        DELETE FROM crash.types WHERE id > 10 AND m = 'sad';
    END IF;
    RETURN to_json($1::text);
END
$$;
CREATE CAST (crash.mood AS json) WITH FUNCTION crash.mood_json(crash.mood);
INSERT INTO crash.types VALUES (1, NULL, 'sad', point(0, 0), '{"a": 1}', '<a/>', 'a b', '[1,2)', ARRAY[point(1, 2)], repeat('x', 1048576), ROW(1, '{}', 'happy'));
UPDATE crash.types SET p = point(2, 2), j = '{"a": 2}', x = '<b/>', pa = ARRAY[point(3, 4)], big = repeat('y', 1048576);
UPDATE crash.types SET j = '{"a": 2}';
INSERT INTO crash.types (id, m) VALUES (2, 'happy');
UPDATE crash.types SET m = 'happy' WHERE id = 1;
UPDATE crash.types SET m = 'sad';
DELETE FROM crash.types;

-- case: protect_trigger naming columns of the wrong types (crashed 0.6.0), attached by the superuser
-- covers: protect_trigger _protect_install_trigger
CREATE TABLE crash.wrongtypes (id int PRIMARY KEY, org bigint, plain int, enc int, bidx text, torg uuid, tplain text);
CREATE TRIGGER w1 BEFORE INSERT ON crash.wrongtypes FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('tplain', 'enc', '', 'org', 'p');
INSERT INTO crash.wrongtypes (id, org, tplain) VALUES (1, 1, 'x');
DROP TRIGGER w1 ON crash.wrongtypes;
CREATE TRIGGER w2 BEFORE INSERT ON crash.wrongtypes FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('plain', 'enc', 'bidx', 'torg', 'p');
INSERT INTO crash.wrongtypes (id, torg, plain) VALUES (2, 'aaaaaaaa-0000-4000-8000-000000000001', 7);
DROP TRIGGER w2 ON crash.wrongtypes;
CREATE TRIGGER w3 BEFORE INSERT ON crash.wrongtypes FOR EACH ROW EXECUTE FUNCTION tenantcore.protect_trigger('tplain', 'enc', '', 'torg', 'p');
INSERT INTO crash.wrongtypes (id, torg, tplain) VALUES (3, 'aaaaaaaa-0000-4000-8000-000000000001', 'x');
SELECT tenantcore._protect_install_trigger(NULL, NULL);
SELECT tenantcore._protect_install_trigger(0, 'email');
SELECT tenantcore._protect_install_trigger('crash.wrongtypes', 'plain');
SELECT tenantcore._protect_install_trigger('crash.t', repeat('x', 100000));
SET ROLE crash_app;
SELECT tenantcore._protect_install_trigger('crash.t', 'email');

-- case: set_context_token with NULL, garbage, oversized and forged tokens
-- covers: set_context_token
SELECT tenantcore.set_context_token(NULL);
SELECT tenantcore.set_context_token('');
SELECT tenantcore.set_context_token('...');
SELECT tenantcore.set_context_token(repeat('a', 1048576));
SELECT tenantcore.set_context_token(repeat('a.', 100000));
SELECT tenantcore.set_context_token('eyJhbGciOiJub25lIn0.eyJ0ZW5hbnRfaWQiOiJ4In0.');
SELECT tenantcore.set_context_token(encode(convert_to('{"alg":"HS256","kid":' || repeat('[', 10000) || '}', 'UTF8'), 'base64') || '.e30.AAAA');
SELECT tenantcore.set_context_token(translate(encode(crash.rand(3000), 'base64'), E'+/=\n', '-_') || '.' || translate(encode(crash.rand(3000), 'base64'), E'+/=\n', '-_') || '.AA');
SET tenantcore.jwt_keys_file = '/nonexistent';

-- case: _in_transaction_block anywhere
-- covers: _in_transaction_block
SELECT tenantcore._in_transaction_block();
SELECT tenantcore._in_transaction_block() FROM generate_series(1, 3);

-- case: audit trigger re-entered through a cast to json that runs GRANT and writes another audited table (crashed 0.6.0)
-- covers: audit_trigger
CREATE TYPE crash.gmood AS ENUM ('calm', 'angry');
CREATE TABLE crash.ga (id int PRIMARY KEY, organization_id uuid, m crash.gmood);
CREATE TABLE crash.gb (id serial PRIMARY KEY, organization_id uuid, note text);
SELECT tenantcore.audit('crash.ga'), tenantcore.audit('crash.gb');
CREATE FUNCTION crash.gmood_json(crash.gmood) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    GRANT SELECT ON crash.ga TO crash_app;
    INSERT INTO crash.gb (note) VALUES ('from the cast');
    RETURN to_json($1::text);
END
$$;
CREATE CAST (crash.gmood AS json) WITH FUNCTION crash.gmood_json(crash.gmood);
INSERT INTO crash.ga VALUES (1, NULL, 'angry'), (2, NULL, 'calm');
UPDATE crash.ga SET m = 'calm';
DELETE FROM crash.ga;

-- case: record ids with odd keys and table identities, bogus 'table:' trigger arguments
-- covers: _audit_record_id audit_trigger
SELECT tenantcore._audit_record_id(NULL, NULL);
SELECT tenantcore._audit_record_id('00000000-0000-0000-0000-000000000000', '{}');
SELECT tenantcore._audit_record_id(gen_random_uuid(), '[1, 2]');
SELECT tenantcore._audit_record_id(gen_random_uuid(), '"scalar"');
SELECT tenantcore._audit_record_id(gen_random_uuid(), 'null');
SELECT tenantcore._audit_record_id(gen_random_uuid(), jsonb_build_object('id', repeat('x', 1048576), 'n', '{"a": [1, {"b": null}]}'::jsonb));
SELECT tenantcore.audit_record_id('crash.plain', '{"id": 1}');
CREATE TABLE crash.rid (id int PRIMARY KEY, body text);
CREATE TRIGGER r1 AFTER INSERT ON crash.rid FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger('table:', 'table:nope');
INSERT INTO crash.rid VALUES (1, 'x');
DROP TRIGGER r1 ON crash.rid;
CREATE TRIGGER r2 AFTER INSERT ON crash.rid FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger('table:00000000-0000-0000-0000-00000000000g');
INSERT INTO crash.rid VALUES (2, 'x');
DROP TRIGGER r2 ON crash.rid;
CREATE TRIGGER r3 AFTER TRUNCATE ON crash.rid FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.audit_trigger('table:bogus', 'table:00000000-0000-0000-0000-000000000001');
TRUNCATE crash.rid;

-- case: entry hashes of crafted entries: NULL, every column NULL, odd arrays (another element type
-- through a mislabelled function, bounds, dimensions), extreme values, a large TOASTed value
-- covers: _audit_entry_hash
CREATE FUNCTION pg_temp.as_text_array(int8[], int8[]) RETURNS text[] LANGUAGE internal IMMUTABLE STRICT AS 'array_larger';
SELECT tenantcore._audit_entry_hash(NULL);
SELECT tenantcore._audit_entry_hash(ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::tenantcore.audit_log);
SELECT tenantcore._audit_entry_hash(ROW(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, pg_temp.as_text_array('{1,2}', '{1,2}'),
                                        NULL, NULL, NULL, NULL, NULL, NULL)::tenantcore.audit_log);
SELECT tenantcore._audit_entry_hash(ROW(-9223372036854775808, NULL, 'infinity', '18446744073709551615', 4294967295, repeat(chr(1), 1048576),
                                        '', 'null', '"s"', '[[[[]]]]', '[0:1][5:5]={{a},{NULL}}', NULL, '', NULL, '::/0', NULL, NULL)::tenantcore.audit_log);
SELECT tenantcore._audit_entry_hash(l) FROM tenantcore.audit_log l LIMIT 100;

-- case: row hashes of odd JSONB values, 'table:' arguments naming other or unregistered tables
-- covers: _audit_jsonb_hash audit_trigger
SELECT tenantcore._audit_jsonb_hash(NULL);
SELECT tenantcore._audit_jsonb_hash('null'), tenantcore._audit_jsonb_hash('""'), tenantcore._audit_jsonb_hash('{}'),
       tenantcore._audit_jsonb_hash('[]'), tenantcore._audit_jsonb_hash('{"": ""}'), tenantcore._audit_jsonb_hash('[[[[[]]]]]');
SELECT tenantcore._audit_jsonb_hash('[1e1000, -0.000000000000000000001, NaN]'::text::jsonb);
SELECT tenantcore._audit_jsonb_hash(('[' || repeat('[', 5000) || repeat(']', 5000) || ']')::jsonb);
SELECT tenantcore._audit_jsonb_hash(jsonb_build_object('k', repeat(chr(1), 1048576), repeat('x', 100000), NULL));
SELECT tenantcore._audit_jsonb_hash(to_jsonb(ARRAY(SELECT g FROM generate_series(1, 100000) g)));
CREATE TABLE crash.forge (id int PRIMARY KEY, body text);
SELECT format('CREATE TRIGGER f1 AFTER INSERT OR DELETE ON crash.forge FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger(%L)',
              'table:' || (SELECT table_id FROM tenantcore.audited_tables WHERE rel = 'tenantcore.users'::regclass)) \gexec
INSERT INTO crash.forge VALUES (1, 'x');
DROP TRIGGER f1 ON crash.forge;
CREATE TRIGGER f2 AFTER TRUNCATE ON crash.forge FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.audit_trigger('table:00000000-0000-0000-0000-000000000001');
TRUNCATE crash.forge;
DROP TRIGGER f2 ON crash.forge;
SELECT tenantcore.audit('crash.forge');
CREATE TRIGGER f3 AFTER UPDATE ON crash.forge FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger('table:00000000-0000-0000-0000-000000000001');
INSERT INTO crash.forge VALUES (2, 'y');
UPDATE crash.forge SET body = 'z';
DROP TRIGGER f3 ON crash.forge;
SELECT tenantcore.unaudit('crash.forge');

-- case: Citus metadata lookups on a server without Citus, tables named like shards
-- covers: _citus_table_method _citus_worker _audit_registered_table audit_trigger _citus_reference _citus_local_shard _citus_placement
SELECT tenantcore._citus_table_method(NULL), tenantcore._citus_table_method(0), tenantcore._citus_table_method(4294967295::oid::regclass),
       tenantcore._citus_table_method('pg_class'), tenantcore._citus_table_method('tenantcore.audit_log');
SELECT tenantcore._citus_reference(NULL), tenantcore._citus_reference(0), tenantcore._citus_reference(4294967295::oid::regclass),
       tenantcore._citus_reference('pg_class'), tenantcore._citus_reference('tenantcore.audit_log');
SELECT tenantcore._citus_local_shard(NULL, NULL), tenantcore._citus_local_shard(0, gen_random_uuid()),
       tenantcore._citus_local_shard(4294967295::oid::regclass, '00000000-0000-0000-0000-000000000000'),
       tenantcore._citus_local_shard('tenantcore.roles', gen_random_uuid()), tenantcore._citus_local_shard('pg_class', NULL);
SELECT tenantcore._citus_placement(NULL), tenantcore._citus_placement(0), tenantcore._citus_placement(4294967295::oid::regclass),
       tenantcore._citus_placement('tenantcore.users');
SELECT tenantcore._citus_worker();
SELECT tenantcore._audit_registered_table(NULL), tenantcore._audit_registered_table('00000000-0000-0000-0000-000000000000'),
       tenantcore._audit_registered_table(gen_random_uuid());
SELECT tenantcore._audit_registered_table(table_id) FROM tenantcore.audited_tables;
CREATE TABLE crash.shardish_102008 (id int PRIMARY KEY, organization_id uuid);
CREATE TABLE "crash"."shardish_99999999999999999999999" (id int PRIMARY KEY, organization_id uuid);
CREATE TABLE "crash"."shardish_" (id int PRIMARY KEY, organization_id uuid);
SELECT tenantcore.audit('crash.shardish_102008'), tenantcore.audit('crash."shardish_99999999999999999999999"'),
       tenantcore.audit('crash."shardish_"');
INSERT INTO crash.shardish_102008 VALUES (1, gen_random_uuid());
INSERT INTO crash."shardish_99999999999999999999999" VALUES (1, gen_random_uuid());
INSERT INTO crash."shardish_" VALUES (1, gen_random_uuid());
TRUNCATE crash.shardish_102008, crash."shardish_99999999999999999999999", crash."shardish_";

-- case: the settled bound of the audit log: fresh sequence, own entries, a savepoint's, as the application role
-- covers: _audit_settled_before audit_trigger
SELECT tenantcore._audit_settled_before() > 0;
CREATE TABLE crash.settled (id serial PRIMARY KEY, organization_id uuid, body text);
GRANT ALL ON crash.settled, crash.settled_id_seq TO crash_app;
SELECT tenantcore.audit('crash.settled');
BEGIN;
SAVEPOINT s;
INSERT INTO crash.settled (organization_id, body) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'x');
ROLLBACK TO s;
SELECT tenantcore._audit_settled_before() > 0;
INSERT INTO crash.settled (organization_id, body) VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'y');
SELECT tenantcore._audit_settled_before() > 0;
SET LOCAL ROLE crash_app;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');
SELECT tenantcore._audit_settled_before() > 0;
SELECT count(*) FROM tenantcore.audit_export(0, 1);
RESET ROLE;
ROLLBACK;
SELECT tenantcore._audit_settled_before() FROM generate_series(1, 1000) OFFSET 999;
