-- tenantcore pgTAP (autocommit): key rotation followed by the batched
-- re-encryption procedure, which COMMITs between batches, on a plain and a
-- partitioned table.  Runs in database postgres and cleans up.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS tc_reenc CASCADE;
DELETE FROM tenantcore.tenant_keys
 WHERE organization_id IN ('d0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000002');

CREATE SCHEMA tc_reenc;
CREATE TABLE tc_reenc.plain (id int, organization_id uuid NOT NULL, email text, PRIMARY KEY (organization_id, id));
CREATE TABLE tc_reenc.parted (id int, organization_id uuid NOT NULL, email text, PRIMARY KEY (organization_id, id))
    PARTITION BY LIST (organization_id);
CREATE TABLE tc_reenc.parted_d PARTITION OF tc_reenc.parted FOR VALUES IN ('d0000000-0000-4000-8000-000000000001');
CREATE TABLE tc_reenc.parted_e PARTITION OF tc_reenc.parted FOR VALUES IN ('e0000000-0000-4000-8000-000000000002');
INSERT INTO tc_reenc.plain SELECT g, CASE WHEN g % 2 = 0 THEN 'd0000000-0000-4000-8000-000000000001'::uuid
                                          ELSE 'e0000000-0000-4000-8000-000000000002'::uuid END, 'user' || g || '@example.com'
  FROM generate_series(1, 250) g;
INSERT INTO tc_reenc.parted SELECT * FROM tc_reenc.plain;
SELECT tenantcore.protect('tc_reenc.plain', 'email', true);
SELECT tenantcore.protect('tc_reenc.parted', 'email', true);
RESET client_min_messages;

SELECT plan(15);

SELECT is((SELECT count(*) FROM tc_reenc.parted_d WHERE email IS NULL AND email_encrypted IS NOT NULL), 125::bigint,
          'protect() on a partitioned table encrypts every partition');
SELECT is(tenantcore.rotate_tenant_key('d0000000-0000-4000-8000-000000000001'), 2, 'tenant D rotated to version 2');
SELECT results_eq($$SELECT tenantcore.key_version(email_encrypted), count(*) FROM tc_reenc.plain GROUP BY 1 ORDER BY 1$$,
                  $$VALUES (1, 250::bigint)$$, 'before reencrypt: everything is version 1');

SELECT throws_ok($$CALL tenantcore.reencrypt('tc_reenc.plain', 0)$$, '22023', NULL, 'batch size must be positive');
SELECT throws_ok($$CALL tenantcore.reencrypt('pg_class', 10)$$, '22023', 'table pg_class has no protected columns',
                 'a table without protected columns is refused');
BEGIN;
SELECT throws_ok($$CALL tenantcore.reencrypt('tc_reenc.plain', 10)$$, '2D000', NULL,
                 'inside a transaction block the procedure cannot commit between batches');
ROLLBACK;

SET client_min_messages = warning;
CALL tenantcore.reencrypt('tc_reenc.plain', 10);
CALL tenantcore.reencrypt('tc_reenc.parted', 10);
RESET client_min_messages;

SELECT results_eq($$SELECT organization_id::text, tenantcore.key_version(email_encrypted), count(*) FROM tc_reenc.plain GROUP BY 1, 2 ORDER BY 1, 2$$,
                  $$VALUES ('d0000000-0000-4000-8000-000000000001', 2, 125::bigint), ('e0000000-0000-4000-8000-000000000002', 1, 125::bigint)$$,
                  'tenant D re-encrypted with version 2, tenant E untouched');
SELECT results_eq($$SELECT organization_id::text, tenantcore.key_version(email_encrypted), count(*) FROM tc_reenc.parted GROUP BY 1, 2 ORDER BY 1, 2$$,
                  $$VALUES ('d0000000-0000-4000-8000-000000000001', 2, 125::bigint), ('e0000000-0000-4000-8000-000000000002', 1, 125::bigint)$$,
                  'the same on the partitioned table');
SELECT is((SELECT count(*) FROM tc_reenc.plain
            WHERE tenantcore.decrypt_pii(email_encrypted, organization_id) = 'user' || id || '@example.com'), 250::bigint,
          'every value still decrypts to the original');
SELECT is((SELECT count(*) FROM tc_reenc.plain WHERE email IS NOT NULL), 0::bigint, 'no plaintext written by reencrypt');

BEGIN;
SELECT tenantcore.set_tenant('d0000000-0000-4000-8000-000000000001');
SELECT results_eq($$SELECT id FROM tc_reenc.plain WHERE email_bidx = tenantcore.blind_index('user8@example.com')$$,
                  $$VALUES (8)$$, 'blind index still finds the row after rotation and re-encryption');
COMMIT;

-- a second run has nothing to do
SET client_min_messages = warning;
SELECT lives_ok($$CALL tenantcore.reencrypt('tc_reenc.plain', 10)$$, 'a second run succeeds (nothing to re-encrypt)');
RESET client_min_messages;

-- rows of a shredded tenant are skipped, not an error
SELECT is(tenantcore.shred_tenant('e0000000-0000-4000-8000-000000000002'), 1, 'tenant E shredded');
SELECT is(tenantcore.rotate_tenant_key('d0000000-0000-4000-8000-000000000001'), 3, 'tenant D rotated to version 3');
SET client_min_messages = warning;
CALL tenantcore.reencrypt('tc_reenc.plain', 50);
RESET client_min_messages;
SELECT results_eq($$SELECT organization_id::text, tenantcore.key_version(email_encrypted), count(*) FROM tc_reenc.plain GROUP BY 1, 2 ORDER BY 1, 2$$,
                  $$VALUES ('d0000000-0000-4000-8000-000000000001', 3, 125::bigint), ('e0000000-0000-4000-8000-000000000002', 1, 125::bigint)$$,
                  'with a shredded tenant in the table, the other tenants are still re-encrypted');

SELECT * FROM finish();

SET client_min_messages = warning;
DROP SCHEMA tc_reenc CASCADE;
DELETE FROM tenantcore.tenant_keys
 WHERE organization_id IN ('d0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000002');
