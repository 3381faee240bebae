-- tenantcore pgTAP: PII encryption as seen by a non-owner application role
-- (NOSUPERUSER NOBYPASSRLS) with three tenants: keys out of reach, round
-- trips, cross-tenant refusal, blind index search, rotation, shredding,
-- protected columns.
BEGIN;
SELECT plan(41);

\set owner tc_ctap_owner
\set app tc_ctap_app
\set schema ctap
\ir ../helpers/app_roles.sql
-- plan_of(query) returns the plan of a query as one line
CREATE FUNCTION ctap.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        result := result || line || ' ';
    END LOOP;
    RETURN result;
END
$$;
SET LOCAL ROLE tc_ctap_owner;
CREATE TABLE ctap.people (
    id int NOT NULL,
    organization_id uuid NOT NULL,
    email text,
    tax_id text,
    PRIMARY KEY (organization_id, id)
);
SELECT tenantcore.isolate('ctap.people');
GRANT SELECT, INSERT, UPDATE, DELETE ON ctap.people TO tc_ctap_app;
RESET ROLE;
INSERT INTO ctap.people
SELECT g, (ARRAY['a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002',
                 'c0000000-0000-4000-8000-000000000003'])[g % 3 + 1]::uuid,
       'person' || g || '@example.com', 'TAX-' || g
  FROM generate_series(1, 300) g;

-- 1-6: keys are out of reach of application roles
SELECT table_privs_are('tenantcore', 'tenant_keys', 'tc_ctap_app', '{}', 'application role has no privilege on tenant_keys');
SELECT function_privs_are('tenantcore', 'encrypt_pii', ARRAY['text', 'uuid'], 'tc_ctap_app', '{}',
                          'application role cannot encrypt for an arbitrary tenant');
SELECT function_privs_are('tenantcore', 'decrypt_pii', ARRAY['bytea', 'uuid'], 'tc_ctap_app', '{}',
                          'application role cannot decrypt for an arbitrary tenant');
SELECT function_privs_are('tenantcore', 'rotate_tenant_key', ARRAY['uuid'], 'tc_ctap_app', '{}',
                          'application role cannot rotate keys');
SELECT function_privs_are('tenantcore', 'shred_tenant', ARRAY['uuid'], 'tc_ctap_app', '{}',
                          'application role cannot shred tenants');
SELECT is((SELECT count(*) FROM pg_settings WHERE setting ~* '^[0-9a-f]{64}$'), 0::bigint, 'no 256-bit hex key in pg_settings');

-- 7-8: protect the columns (as the owner), existing rows of all tenants encrypted
SET LOCAL ROLE tc_ctap_owner;
SELECT is(tenantcore.protect('ctap.people', 'email', true), 'people_decrypted'::name, 'protect(email, searchable) returns the view');
SELECT is(tenantcore.protect('ctap.people', 'tax_id'), 'people_decrypted'::name, 'protect(tax_id) returns the view');
RESET ROLE;
ANALYZE ctap.people;

-- 9-10
SELECT results_eq('SELECT count(*), count(email), count(tax_id), count(email_encrypted), count(email_bidx), count(tax_id_encrypted) FROM ctap.people',
                  $$VALUES (300::bigint, 0::bigint, 0::bigint, 300::bigint, 300::bigint, 300::bigint)$$,
                  'no plaintext left, every value encrypted and indexed');
SELECT is((SELECT count(DISTINCT tenantcore.key_version(email_encrypted)) FROM ctap.people), 1::bigint, 'one key version');

SET LOCAL ROLE tc_ctap_app;
SELECT tenantcore.set_tenant('a0000000-0000-4000-8000-000000000001');

-- 11-16: the application reads and writes for tenant A
SELECT is((SELECT count(*) FROM ctap.people_decrypted), 100::bigint, 'tenant A sees its 100 rows through the view');
SELECT is((SELECT email FROM ctap.people_decrypted WHERE id = 3), 'person3@example.com', 'decrypted through the view');
SELECT lives_ok($$INSERT INTO ctap.people (id, email, tax_id) VALUES (1000, 'Zoë@Example.com', 'ÅÄÖ-123')$$, 'insert plaintext');
SELECT results_eq($$SELECT email IS NULL, tax_id IS NULL, email_encrypted IS NOT NULL, tax_id_encrypted IS NOT NULL FROM ctap.people WHERE id = 1000$$,
                  $$VALUES (true, true, true, true)$$, 'the trigger stored only ciphertext');
SELECT results_eq($$SELECT email, tax_id FROM ctap.people_decrypted WHERE id = 1000$$,
                  $$VALUES ('Zoë@Example.com', 'ÅÄÖ-123')$$, 'Unicode round trip');
SELECT results_eq($$SELECT id FROM ctap.people WHERE email_bidx = tenantcore.blind_index(' zoë@example.COM')$$,
                  $$VALUES (1000)$$, 'blind index finds the row, normalized');

-- 17-19: search plan, other tenants' values
SELECT matches(ctap.plan_of($$SELECT id FROM ctap.people WHERE email_bidx = tenantcore.blind_index('person3@example.com')$$),
               'Index Scan using people_organization_id_email_bidx_idx', 'blind index lookup is an index scan');
SELECT is_empty($$SELECT id FROM ctap.people WHERE email_bidx = tenantcore.blind_index('person4@example.com')$$,
                'a value of tenant B is not found by tenant A');
SELECT throws_ok($$INSERT INTO ctap.people (id, organization_id, email) VALUES (1001, 'b0000000-0000-4000-8000-000000000002', 'x@example.com')$$,
                 '42501', 'row belongs to tenant b0000000-0000-4000-8000-000000000002, not to the current tenant a0000000-0000-4000-8000-000000000001',
                 'a row for another tenant is refused before encryption');

-- 20-24: values of the encryption functions
SELECT is(tenantcore.decrypt_pii(tenantcore.encrypt_pii('')), '', 'empty string round trip');
SELECT is(tenantcore.encrypt_pii(NULL), NULL, 'NULL in, NULL out (encrypt)');
SELECT is(tenantcore.decrypt_pii(NULL), NULL, 'NULL in, NULL out (decrypt)');
SELECT is(md5(tenantcore.decrypt_pii(tenantcore.encrypt_pii(repeat('é', 524288)))), md5(repeat('é', 524288)), '1 MB round trip');
SELECT throws_ok($$SELECT tenantcore.decrypt_pii('\x54430100000001'::bytea)$$, '22023', 'value is not tenantcore ciphertext',
                 'truncated ciphertext is refused');

-- 25-26: tenant B cannot decrypt tenant A's values
CREATE TEMP TABLE a_cipher ON COMMIT DROP AS SELECT email_encrypted AS c FROM ctap.people WHERE id = 3;
SELECT tenantcore.set_tenant('b0000000-0000-4000-8000-000000000002');
SELECT throws_ok($$SELECT tenantcore.decrypt_pii(c) FROM a_cipher$$, '42501', 'ciphertext belongs to another tenant',
                 'tenant B cannot decrypt tenant A''s ciphertext');
SELECT throws_ok($$SELECT tenantcore.decrypt_pii(overlay(c placing uuid_send('b0000000-0000-4000-8000-000000000002') from 8)) FROM a_cipher$$,
                 '22023', 'ciphertext is corrupt or was not encrypted with this tenant''s key',
                 'a forged header does not help tenant B');

-- 27: no tenant
SELECT tenantcore.clear_tenant();
SELECT throws_ok($$SELECT tenantcore.encrypt_pii('x')$$, '42501', 'encrypt_pii() needs a current tenant', 'no tenant, no encryption');

-- 28-31: rotation, as superuser
RESET ROLE;
SELECT is(tenantcore.rotate_tenant_key('a0000000-0000-4000-8000-000000000001'), 2, 'rotation creates version 2');
SET LOCAL ROLE tc_ctap_app;
SELECT tenantcore.set_tenant('a0000000-0000-4000-8000-000000000001');
SELECT is(tenantcore.key_version(tenantcore.encrypt_pii('x')), 2, 'new ciphertext uses version 2');
SELECT is((SELECT email FROM ctap.people_decrypted WHERE id = 3), 'person3@example.com', 'version 1 ciphertext still decrypts');
SELECT results_eq($$SELECT id FROM ctap.people WHERE email_bidx = tenantcore.blind_index('person3@example.com')$$,
                  $$VALUES (3)$$, 'blind index survives rotation');

-- 32-36: shredding tenant C
RESET ROLE;
SELECT is(tenantcore.shred_tenant('c0000000-0000-4000-8000-000000000003'), 1, 'shredding destroys one key version');
SET LOCAL ROLE tc_ctap_app;
SELECT tenantcore.set_tenant('c0000000-0000-4000-8000-000000000003');
SELECT is((SELECT count(*) FROM ctap.people), 100::bigint, 'tenant C still has its rows');
SELECT throws_ok($$SELECT email FROM ctap.people_decrypted WHERE id = 2$$, '55000',
                 'key version 1 of tenant c0000000-0000-4000-8000-000000000003 was destroyed', 'but cannot decrypt them');
SELECT throws_ok($$SELECT tenantcore.blind_index('person2@example.com')$$, '55000',
                 'tenant c0000000-0000-4000-8000-000000000003 was shredded', 'nor search them');
SELECT tenantcore.set_tenant('b0000000-0000-4000-8000-000000000002');
SELECT is((SELECT email FROM ctap.people_decrypted WHERE id = 1), 'person1@example.com', 'tenant B is unaffected');

-- 37-41: bad input to protect()
RESET ROLE;
SET LOCAL ROLE tc_ctap_owner;
SELECT throws_ok($$SELECT tenantcore.protect('ctap.people', 'email')$$, '42710', NULL, 'protecting twice is an error');
SELECT throws_ok($$SELECT tenantcore.protect('ctap.people', 'nope')$$, '42703', NULL, 'unknown column');
SELECT throws_ok($$SELECT tenantcore.protect('ctap.people', 'id')$$, '42804', NULL, 'non-text column');
SELECT throws_ok($$SELECT tenantcore.protect(NULL, 'email')$$, '22004', NULL, 'NULL table');
RESET ROLE;
SET LOCAL ROLE tc_ctap_app;
SELECT throws_ok($$SELECT tenantcore.protect('ctap.people', 'email')$$, '42501', NULL, 'only the owner protects');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
