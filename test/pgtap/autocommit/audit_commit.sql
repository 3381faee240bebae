-- tenantcore pgTAP (autocommit): audit entries commit and roll back with the
-- change, and a change of the audit settings reaches a second backend that
-- has the old settings cached (through dblink).  Runs in database postgres
-- and cleans up after itself (the log entries included).
SET client_min_messages = warning;
SELECT NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgtap') AS tc_drop_pgtap,
       NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'tenantcore') AS tc_drop_tenantcore,
       NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgcrypto') AS tc_drop_pgcrypto,
       NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'dblink') AS tc_drop_dblink \gset
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
CREATE EXTENSION IF NOT EXISTS dblink;
DROP SCHEMA IF EXISTS tc_audit_commit CASCADE;
CREATE SCHEMA tc_audit_commit;
CREATE TABLE tc_audit_commit.accounts (id int PRIMARY KEY, organization_id uuid, name text, secret text);
SELECT tenantcore.audit('tc_audit_commit.accounts') \g /dev/null
RESET client_min_messages;

SELECT plan(8);

-- committed: the entry is there, with the transaction's id
BEGIN;
INSERT INTO tc_audit_commit.accounts VALUES (1, 'aaaaaaaa-0000-0000-0000-000000000001', 'one', 'pw-1');
SELECT pg_current_xact_id()::text AS tc_xid \gset
COMMIT;
SELECT is((SELECT array_agg(txid::text) FROM tenantcore.audit_log WHERE table_name = 'tc_audit_commit.accounts'),
          ARRAY[:'tc_xid'], 'a committed INSERT leaves one entry with the writing transaction''s id');

-- rolled back, whole or to a savepoint: no entry
BEGIN;
INSERT INTO tc_audit_commit.accounts VALUES (2, NULL, 'two', 'pw-2');
ROLLBACK;
BEGIN;
UPDATE tc_audit_commit.accounts SET name = 'uno' WHERE id = 1;
SAVEPOINT s;
DELETE FROM tc_audit_commit.accounts WHERE id = 1;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT results_eq($$SELECT operation FROM tenantcore.audit_log WHERE table_name = 'tc_audit_commit.accounts' ORDER BY id$$,
                  $$VALUES ('INSERT'), ('UPDATE')$$,
                  'a rolled-back transaction and a rolled-back savepoint leave no entry');

-- autocommit statements: one entry each
INSERT INTO tc_audit_commit.accounts VALUES (3, NULL, 'three', 'pw-3');
UPDATE tc_audit_commit.accounts SET name = 'tres' WHERE id = 3;
SELECT is((SELECT count(DISTINCT txid) FROM tenantcore.audit_log WHERE table_name = 'tc_audit_commit.accounts'),
          4::bigint, 'each autocommit statement is its own transaction in the log');

-- a second backend caches the settings, then they change here
SELECT dblink_connect('tc_audit_other',
                      format('dbname=%s port=%s host=%s user=%s', current_database(), current_setting('port'),
                             split_part(current_setting('unix_socket_directories'), ',', 1), current_user)) \g /dev/null
SELECT is(dblink_exec('tc_audit_other', $$UPDATE tc_audit_commit.accounts SET secret = 'pw-visible' WHERE id = 3$$),
          'UPDATE 1', 'the other backend writes with the first settings');
SELECT is((SELECT new_row->>'secret' FROM tenantcore.audit_log WHERE table_name = 'tc_audit_commit.accounts' ORDER BY id DESC LIMIT 1),
          'pw-visible', '... which do not redact the secret');
SELECT tenantcore.audit('tc_audit_commit.accounts', redact => '{secret}') \g /dev/null
SELECT is(dblink_exec('tc_audit_other', $$UPDATE tc_audit_commit.accounts SET secret = 'pw-hidden' WHERE id = 3$$),
          'UPDATE 1', 'the other backend writes after the settings changed');
SELECT is((SELECT new_row->>'secret' FROM tenantcore.audit_log WHERE table_name = 'tc_audit_commit.accounts' ORDER BY id DESC LIMIT 1),
          '[redacted]', 'its cached settings were invalidated: the new secret is redacted');
SELECT is((SELECT count(*) FROM tenantcore.audit_log l WHERE table_name = 'tc_audit_commit.accounts' AND l::text LIKE '%pw-hidden%'),
          0::bigint, 'the new secret appears nowhere in the log');
SELECT dblink_disconnect('tc_audit_other') \g /dev/null

SELECT * FROM finish();

-- clean up, the log entries included
SET client_min_messages = warning;
DROP SCHEMA tc_audit_commit CASCADE;
BEGIN;
SET LOCAL tenantcore.audit_internal = on;
DELETE FROM tenantcore.audit_log WHERE table_name = 'tc_audit_commit.accounts';
COMMIT;
SELECT CASE WHEN :'tc_drop_dblink' THEN 'DROP EXTENSION dblink' END \gexec
SELECT CASE WHEN :'tc_drop_tenantcore' THEN 'DROP EXTENSION tenantcore' END \gexec
SELECT CASE WHEN :'tc_drop_pgcrypto' THEN 'DROP EXTENSION pgcrypto' END \gexec
SELECT CASE WHEN :'tc_drop_pgtap' THEN 'DROP EXTENSION pgtap' END \gexec
