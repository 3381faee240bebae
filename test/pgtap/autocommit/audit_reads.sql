-- tenantcore pgTAP (autocommit): reads of protected data recorded in
-- tenantcore.audit_reads (tenantcore.audit_reads = on), as a non-owner
-- application role in two tenants: one row per statement and column, the
-- count of values decrypted, written at commit; savepoints, rollbacks,
-- read-only transactions, direct decrypt_pii() calls; the role cannot switch
-- it off, write the table or read another tenant's rows.  Runs in database
-- postgres (recording happens at COMMIT) and cleans up.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS tc_reads CASCADE;
DO $$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_reads_app') THEN DROP OWNED BY tc_reads_app; DROP ROLE tc_reads_app; END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_reads_owner') THEN DROP OWNED BY tc_reads_owner; DROP ROLE tc_reads_owner; END IF;
END $$;
DELETE FROM tenantcore.audit_reads;
\set owner tc_reads_owner
\set app tc_reads_app
\set schema tc_reads
\ir ../../helpers/app_roles.sql
\set ta '''a1000000-0000-4000-8000-00000000000a'''
\set tb '''b1000000-0000-4000-8000-00000000000b'''
\set actor '''c1000000-0000-4000-8000-00000000000c'''
SET ROLE tc_reads_owner;
CREATE TABLE tc_reads.people (id int, organization_id uuid NOT NULL, email text, phone text,
                              PRIMARY KEY (organization_id, id));
INSERT INTO tc_reads.people
SELECT g, CASE WHEN g <= 1000 THEN :ta::uuid ELSE :tb::uuid END, 'p' || g || '@example.com',
       CASE WHEN g % 2 = 0 THEN '+1 555 ' || g END
  FROM generate_series(1, 1500) g;
SELECT tenantcore.isolate('tc_reads.people');
SELECT tenantcore.protect('tc_reads.people', 'email');
SELECT tenantcore.protect('tc_reads.people', 'phone');
GRANT SELECT ON tc_reads.people, tc_reads.people_decrypted TO tc_reads_app;
RESET ROLE;
RESET client_min_messages;

-- reads(tenant, column) is what audit_reads holds for a column, as the superuser
CREATE FUNCTION pg_temp.reads(t uuid, col name) RETURNS TABLE (statements bigint, total numeric) LANGUAGE sql AS
$$ SELECT count(*), sum(reads) FROM tenantcore.audit_reads
    WHERE organization_id = t AND column_name IS NOT DISTINCT FROM col $$;

SELECT plan(22);

-- off by default: nothing recorded
SET ROLE tc_reads_app;
SELECT tenantcore.set_tenant(:ta, false);
SELECT is((SELECT count(email) FROM tc_reads.people_decrypted), 1000::bigint, 'tenant A reads its 1,000 addresses');
RESET ROLE;
SELECT is((SELECT count(*) FROM tenantcore.audit_reads), 0::bigint, 'tenantcore.audit_reads is off by default: nothing recorded');

-- on, set by the DBA for the session; the application role cannot switch it off
SET tenantcore.audit_reads = on;
SET ROLE tc_reads_app;
SELECT throws_ok($$SET tenantcore.audit_reads = off$$, '42501', NULL,
                 'the application role cannot switch tenantcore.audit_reads off');
SELECT throws_ok($$SELECT set_config('tenantcore.audit_reads', 'off', false)$$, '42501', NULL,
                 'nor with set_config()');
SELECT tenantcore.set_actor(:actor, false);
SELECT is((SELECT count(email) FROM tc_reads.people_decrypted), 1000::bigint, 'one statement decrypts 1,000 addresses');
RESET ROLE;
SELECT results_eq($$SELECT * FROM pg_temp.reads('a1000000-0000-4000-8000-00000000000a', 'email')$$, $$VALUES (1::bigint, 1000::numeric)$$,
                  'one row for the statement, with the count of values decrypted (not one row per value)');
SELECT results_eq($$SELECT organization_id, actor_id, role_name::text COLLATE "default", table_name, reads
                      FROM tenantcore.audit_reads WHERE column_name = 'email'$$,
                  $$VALUES ('a1000000-0000-4000-8000-00000000000a'::uuid, 'c1000000-0000-4000-8000-00000000000c'::uuid, 'tc_reads_app', 'tc_reads.people', 1000::bigint)$$,
                  'the row names tenant, actor, role and table');
SELECT is((SELECT count(*) FROM tenantcore.audit_reads WHERE column_name = 'phone'), 0::bigint,
          'a column not selected is not recorded');
SELECT ok((SELECT backend_pid = pg_backend_pid() AND statement_started_at <= now() FROM tenantcore.audit_reads WHERE column_name = 'email'),
          'the statement is identified by its backend and start time');

-- both columns, NULLs not counted (no decryption), two statements in one transaction
DELETE FROM tenantcore.audit_reads;
SET ROLE tc_reads_app;
BEGIN;
SELECT is((SELECT count(*) FROM tc_reads.people_decrypted WHERE email IS NOT NULL AND id <= 10), 10::bigint, 'first statement');
SELECT is((SELECT count(phone) FROM tc_reads.people_decrypted WHERE id <= 10), 5::bigint, 'second statement: 5 phones of 10 rows');
COMMIT;
RESET ROLE;
SELECT results_eq($$SELECT column_name::text COLLATE "default", reads FROM tenantcore.audit_reads ORDER BY statement_started_at, column_name$$,
                  $$VALUES ('email', 10::bigint), ('phone', 5::bigint)$$,
                  'one row per statement and column read (the first statement does not read phone); NULL ciphertext is not a read');

-- rolled back: not in the table (the server log has it); a rolled-back savepoint still counts
DELETE FROM tenantcore.audit_reads;
SET ROLE tc_reads_app;
BEGIN;
SELECT is((SELECT count(email) FROM tc_reads.people_decrypted WHERE id <= 3), 3::bigint, 'read in a transaction that rolls back');
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT is((SELECT count(email) FROM tc_reads.people_decrypted WHERE id <= 4), 4::bigint, 'read in a savepoint that rolls back');
ROLLBACK TO SAVEPOINT s;
COMMIT;
RESET ROLE;
SELECT results_eq($$SELECT reads FROM tenantcore.audit_reads$$, $$VALUES (4::bigint)$$,
                  'the rolled-back transaction left no row; the rolled-back savepoint''s read is recorded at commit');

-- a read-only transaction commits (its reads go to the server log)
DELETE FROM tenantcore.audit_reads;
SET ROLE tc_reads_app;
BEGIN READ ONLY;
SELECT is((SELECT count(email) FROM tc_reads.people_decrypted WHERE id <= 2), 2::bigint, 'read in a read-only transaction');
COMMIT;
RESET ROLE;
SELECT is((SELECT count(*) FROM tenantcore.audit_reads), 0::bigint, 'a read-only transaction commits and writes nothing');

-- a direct decrypt_pii() call, tenant B: no table, no column
SET ROLE tc_reads_app;
SELECT tenantcore.set_tenant(:tb, false);
SELECT is((SELECT count(tenantcore.decrypt_pii(email_encrypted)) FROM tc_reads.people), 500::bigint,
          'tenant B decrypts its 500 addresses with decrypt_pii()');
SELECT results_eq($$SELECT organization_id, table_name, column_name::text COLLATE "default", reads FROM tenantcore.audit_reads$$,
                  $$VALUES ('b1000000-0000-4000-8000-00000000000b'::uuid, NULL::text, NULL::text, 500::bigint)$$,
                  'the application role sees tenant B''s row: a direct decrypt_pii() call, no table or column');

-- the application role sees its tenant's rows only and cannot write them
SELECT tenantcore.set_tenant(:ta, false);
SELECT is((SELECT count(*) FROM tenantcore.audit_reads), 0::bigint, 'in tenant A the application role does not see tenant B''s row');
SELECT throws_ok($$DELETE FROM tenantcore.audit_reads$$, '42501', NULL, 'the application role cannot delete recorded reads');
SELECT throws_ok($$INSERT INTO tenantcore.audit_reads (statement_started_at, backend_pid, organization_id, role_name, reads)
                   VALUES (now(), 1, tenantcore.current_tenant(), 'x', 1)$$, '42501', NULL,
                 'the application role cannot insert reads');
RESET ROLE;
RESET tenantcore.audit_reads;

SELECT * FROM finish();

SET client_min_messages = warning;
DELETE FROM tenantcore.audit_reads;
DROP SCHEMA tc_reads CASCADE;
DELETE FROM tenantcore.tenant_keys WHERE organization_id IN (:ta, :tb);
DROP OWNED BY tc_reads_app, tc_reads_owner;
DROP ROLE tc_reads_app;
DROP ROLE tc_reads_owner;
