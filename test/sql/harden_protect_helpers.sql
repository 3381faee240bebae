-- hardening (issue #11): the helpers that protect() and reencrypt() run
-- inside ALTER TABLE and UPDATE refuse relation 0, a relation that does not
-- exist, a table the caller does not own and a table without protected
-- columns.  On 0.6.0 relation 0 matched the helpers' "already checked" cache
-- (fn_extra starts at 0): anyone could encrypt with, and create, the data key
-- of any tenant.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

\i test/helpers/err.sql
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO PUBLIC;

\set ta '\'aaaaaaaa-0000-4000-8000-0000000000a2\''
\set tx '\'eeeeeeee-0000-4000-8000-0000000000e2\''

CREATE ROLE tc_hardh_owner NOLOGIN;
CREATE ROLE tc_hardh_other NOLOGIN;
CREATE ROLE tc_hardh_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_hardh_app');
GRANT USAGE ON SCHEMA tenantcore TO tc_hardh_owner, tc_hardh_other;
CREATE SCHEMA hardh AUTHORIZATION tc_hardh_owner;
GRANT USAGE, CREATE ON SCHEMA hardh TO tc_hardh_other;
GRANT USAGE ON SCHEMA hardh TO tc_hardh_app;

SET ROLE tc_hardh_owner;
CREATE TABLE hardh.people (id int PRIMARY KEY, organization_id uuid NOT NULL, email text);
INSERT INTO hardh.people VALUES (1, :ta, 'a@example.com');
SELECT tenantcore.protect('hardh.people', 'email', true);
GRANT SELECT, INSERT, UPDATE ON hardh.people TO tc_hardh_app;
RESET ROLE;
SET ROLE tc_hardh_other;
CREATE TABLE hardh.other (id int PRIMARY KEY, organization_id uuid NOT NULL, note text);
RESET ROLE;

-- every helper, every bad relation, as the application role, as the owner of
-- another table and as the owner of the protected table; \x00 is no ciphertext
CREATE TABLE pg_temp.calls (fn text, call text);
INSERT INTO pg_temp.calls VALUES
    ('_protect_encrypt',     'tenantcore._protect_encrypt(%s, %L, ''x'')'),
    ('_protect_blind_index', 'tenantcore._protect_blind_index(%s, %L, ''x'', ''default'')'),
    ('_needs_reencrypt',     'tenantcore._needs_reencrypt(%s, %L, ''\x00''::bytea)'),
    ('_reencrypt_value',     'tenantcore._reencrypt_value(%s, %L, ''\x00''::bytea)');
CREATE TABLE pg_temp.rels (label text, rel text);
INSERT INTO pg_temp.rels VALUES
    ('0', '0'), ('NULL', 'NULL'), ('missing', '4294967295'), ('pg_class', '''pg_class''::regclass'),
    ('other', '''hardh.other''::regclass'), ('people', '''hardh.people''::regclass');
GRANT SELECT ON pg_temp.calls, pg_temp.rels TO PUBLIC;
CREATE FUNCTION pg_temp.probe() RETURNS TABLE (fn text, rel text, result text) LANGUAGE sql AS $$
    SELECT c.fn, r.label, pg_temp.err(format('SELECT ' || c.call, r.rel, 'eeeeeeee-0000-4000-8000-0000000000e2'))
      FROM pg_temp.calls c, pg_temp.rels r ORDER BY c.fn, r.label
$$;
GRANT EXECUTE ON FUNCTION pg_temp.probe() TO PUBLIC;

SET ROLE tc_hardh_app;
SELECT * FROM pg_temp.probe();
RESET ROLE;
SET ROLE tc_hardh_other;
SELECT * FROM pg_temp.probe();
RESET ROLE;
-- no key was created for the tenant named in the calls
SELECT count(*) AS keys_of_tx FROM tenantcore.tenant_keys WHERE organization_id = :tx;
-- the owner of the protected table may (it could insert a row of that tenant)
SET ROLE tc_hardh_owner;
SELECT * FROM pg_temp.probe();
RESET ROLE;
SELECT count(*) AS keys_of_tx FROM tenantcore.tenant_keys WHERE organization_id = :tx;
DELETE FROM tenantcore.tenant_keys WHERE organization_id = :tx;

-- relation 0 stays refused after a successful call at the same call site
SET ROLE tc_hardh_owner;
SELECT pg_temp.err(format('SELECT tenantcore._protect_encrypt(r, %L, ''x'') FROM unnest(ARRAY[%s, 0]::oid[]) r',
                          'aaaaaaaa-0000-4000-8000-0000000000a2', 'hardh.people'::regclass::oid)) AS people_then_0;
SELECT pg_temp.err(format('SELECT tenantcore._protect_encrypt(r, %L, ''x'') FROM unnest(ARRAY[%s, %s]::oid[]) r',
                          'aaaaaaaa-0000-4000-8000-0000000000a2', 'hardh.people'::regclass::oid,
                          'hardh.other'::regclass::oid)) AS people_then_other;
RESET ROLE;
SELECT count(*) AS keys_of_tx FROM tenantcore.tenant_keys WHERE organization_id = :tx;

-- protect() and reencrypt() keep working for the owner; _protect_install_trigger
-- is refused to anyone but the owner
SELECT tenantcore.decrypt_pii(email_encrypted, :ta) AS email FROM hardh.people;
SELECT tenantcore.rotate_tenant_key(:ta) AS new_version;
SET ROLE tc_hardh_owner;
CALL tenantcore.reencrypt('hardh.people');
RESET ROLE;
SELECT tenantcore.key_version(email_encrypted) AS version, tenantcore.decrypt_pii(email_encrypted, :ta) AS email
  FROM hardh.people;
SET ROLE tc_hardh_other;
SELECT pg_temp.err($$SELECT tenantcore._protect_install_trigger('hardh.people', 'email')$$) AS other_installs;
SELECT pg_temp.err($$SELECT tenantcore._protect_install_trigger(0, 'email')$$) AS install_0;
RESET ROLE;

-- clean up
DROP SCHEMA hardh CASCADE;
DELETE FROM tenantcore.tenant_keys WHERE organization_id IN (:ta, :tx);
REVOKE ALL ON SCHEMA tenantcore FROM tc_hardh_owner, tc_hardh_other, tc_hardh_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tenantcore FROM tc_hardh_app;
DROP ROLE tc_hardh_owner;
DROP ROLE tc_hardh_other;
DROP ROLE tc_hardh_app;
