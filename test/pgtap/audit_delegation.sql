-- tenantcore pgTAP: the audit delegation of doc/audit.md ("To let a
-- (non-application) role audit the tables it owns"), end to end, and what a
-- hostile delegated owner may not do (red-team review of 0.7.0, F2, F3, F9).
-- The delegated owner audits, re-configures and unaudits its own table; an
-- application role writes it and reads its history.  The owner cannot write
-- entries under another table's identity with audit_trigger() (rows or
-- TRUNCATE, SQLSTATE 42501), nor rewrite, delete or add registry rows of
-- tables it does not own, nor change a table's identity or choose one.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(33);

CREATE ROLE tc_deleg_owner NOLOGIN;
CREATE ROLE tc_deleg_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_deleg_app');
-- the documented recipe
GRANT USAGE ON SCHEMA tenantcore TO tc_deleg_owner;
GRANT EXECUTE ON FUNCTION tenantcore.audit(regclass, text[], text[], boolean),
                          tenantcore.unaudit(regclass), tenantcore.audit_trigger() TO tc_deleg_owner;
GRANT INSERT, UPDATE, DELETE ON tenantcore.audited_tables TO tc_deleg_owner;

-- the victim: a table of another owner, audited by the DBA
CREATE SCHEMA deleg_vic;
CREATE TABLE deleg_vic.docs (organization_id uuid NOT NULL, id int, title text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('deleg_vic.docs');
SELECT tenantcore.audit('deleg_vic.docs');
GRANT USAGE ON SCHEMA deleg_vic TO tc_deleg_app, tc_deleg_owner;
CREATE TABLE deleg_vic.other (id int PRIMARY KEY);
GRANT SELECT, INSERT, UPDATE, DELETE ON deleg_vic.docs TO tc_deleg_app;
CREATE SCHEMA deleg_own AUTHORIZATION tc_deleg_owner;
GRANT USAGE ON SCHEMA deleg_own TO tc_deleg_app;

\set A '\'aaaaaaaa-0000-4000-8000-00000000000a\''
\set B '\'bbbbbbbb-0000-4000-8000-00000000000b\''
\set V '\'22222222-0000-4000-8000-000000000002\''
SELECT (SELECT table_id FROM tenantcore.audited_tables WHERE rel = 'deleg_vic.docs'::regclass) AS vic_id,
       (SELECT table_id FROM tenantcore.audited_tables WHERE rel = 'tenantcore.users'::regclass) AS users_id \gset

SET LOCAL ROLE tc_deleg_app;
SELECT tenantcore.set_tenant(:B), tenantcore.set_actor(:V);
INSERT INTO deleg_vic.docs (id, title) VALUES (1, 'B doc');
SELECT tenantcore.clear_tenant();
RESET ROLE;

-- F9: the delegated owner audits its own table
SET LOCAL ROLE tc_deleg_owner;
CREATE TABLE deleg_own.items (organization_id uuid NOT NULL, id int, v text, PRIMARY KEY (organization_id, id));
GRANT SELECT, INSERT, UPDATE, DELETE ON deleg_own.items TO tc_deleg_app;
SELECT lives_ok($$SELECT tenantcore.audit('deleg_own.items', redact => '{v}')$$,
                'the delegated owner audits its own table with the documented grants');
SELECT is((SELECT redact_columns FROM tenantcore.audited_tables WHERE rel = 'deleg_own.items'::regclass), '{v}',
          'its registry row holds its settings');
SELECT is((SELECT table_id FROM tenantcore.audited_tables WHERE rel = 'deleg_own.items'::regclass),
          md5('tenantcore audited table deleg_own.items')::uuid, 'and the identity derived from its name');
SELECT lives_ok($$SELECT tenantcore.audit('deleg_own.items', redact => '{v}', changed_only => false)$$,
                'it re-configures its table');
SELECT throws_ok($$SELECT tenantcore.audit('deleg_vic.docs', exclude => '{title}')$$, '42501', NULL,
                 'audit() of a table it does not own: 42501');
RESET ROLE;

-- the application role writes the owner's table and reads its history
SET LOCAL ROLE tc_deleg_app;
SELECT tenantcore.set_tenant(:A);
INSERT INTO deleg_own.items (organization_id, id, v) VALUES (:A, 1, 'secret');
UPDATE deleg_own.items SET v = 'other' WHERE id = 1;
SELECT is((SELECT array_agg(operation ORDER BY id) FROM tenantcore.history('deleg_own.items', '{"id": 1}')),
          '{INSERT,UPDATE}', 'the application role reads the history of the delegated table');
SELECT is((SELECT new_row->>'v' FROM tenantcore.history('deleg_own.items', '{"id": 1}') WHERE operation = 'INSERT'),
          '[redacted]', 'with the owner''s settings applied');
RESET ROLE;

-- F2: audit_trigger() attached by hand under another table's identity
SET LOCAL ROLE tc_deleg_owner;
CREATE TABLE deleg_own.fake (organization_id uuid NOT NULL, id int, title text, PRIMARY KEY (organization_id, id));
SELECT format('CREATE TRIGGER forge AFTER INSERT OR UPDATE OR DELETE ON deleg_own.fake FOR EACH ROW
               EXECUTE FUNCTION tenantcore.audit_trigger(%L, %L, %L)',
              'full_rows', 'table:' || :'vic_id', 'tenant:organization_id') \gexec
SELECT throws_ok($$INSERT INTO deleg_own.fake VALUES ('bbbbbbbb-0000-4000-8000-00000000000b', 1, 'FORGED')$$, '42501', NULL,
                 'a row trigger under another table''s identity: 42501');
DROP TRIGGER forge ON deleg_own.fake;
SELECT format('CREATE TRIGGER forge AFTER INSERT ON deleg_own.fake FOR EACH ROW
               EXECUTE FUNCTION tenantcore.audit_trigger(%L)', 'table:' || :'users_id') \gexec
SELECT throws_ok($$INSERT INTO deleg_own.fake VALUES ('bbbbbbbb-0000-4000-8000-00000000000b', 2, 'FORGED')$$, '42501', NULL,
                 'under a core table''s identity: 42501');
DROP TRIGGER forge ON deleg_own.fake;
-- its own audited table's identity on another of its tables
SELECT format('CREATE TRIGGER forge AFTER INSERT ON deleg_own.fake FOR EACH ROW
               EXECUTE FUNCTION tenantcore.audit_trigger(%L)',
              'table:' || (SELECT table_id FROM tenantcore.audited_tables WHERE rel = 'deleg_own.items'::regclass)) \gexec
SELECT throws_ok($$INSERT INTO deleg_own.fake VALUES ('aaaaaaaa-0000-4000-8000-00000000000a', 3, 'FORGED')$$, '42501', NULL,
                 'under the identity of its own audited table on another table: 42501');
DROP TRIGGER forge ON deleg_own.fake;
-- F2b: a TRUNCATE under the victim's identity
INSERT INTO deleg_own.fake VALUES ('bbbbbbbb-0000-4000-8000-00000000000b', 7, 'x');
SELECT format('CREATE TRIGGER forge_t AFTER TRUNCATE ON deleg_own.fake FOR EACH STATEMENT
               EXECUTE FUNCTION tenantcore.audit_trigger(%L)', 'table:' || :'vic_id') \gexec
SELECT tenantcore.set_tenant(:B), tenantcore.set_actor(:V);
SELECT throws_ok($$TRUNCATE deleg_own.fake$$, '42501', NULL, 'a TRUNCATE under another table''s identity: 42501');
SELECT tenantcore.clear_tenant();
DROP TRIGGER forge_t ON deleg_own.fake;
-- a trigger without an identity writes entries of its own table only
SELECT format('CREATE TRIGGER plain AFTER INSERT ON deleg_own.fake FOR EACH ROW
               EXECUTE FUNCTION tenantcore.audit_trigger(%L)', 'tenant:organization_id') \gexec
SELECT lives_ok($$INSERT INTO deleg_own.fake VALUES ('bbbbbbbb-0000-4000-8000-00000000000b', 8, 'own')$$,
                'a trigger without table: still writes');
DROP TRIGGER plain ON deleg_own.fake;
RESET ROLE;
SELECT is((SELECT table_name || ' ' || (table_id IS NULL) FROM tenantcore.audit_log WHERE new_row->>'title' = 'own'),
          'deleg_own.fake true', 'as an entry of its own table, without identity');
SELECT is((SELECT count(*)::int FROM tenantcore.audit_log WHERE new_row->>'title' = 'FORGED' OR table_name = 'deleg_own.fake' AND operation = 'TRUNCATE'),
          0, 'no forged entry was written');

-- F3: the registry rows of other tables
SET LOCAL ROLE tc_deleg_owner;
WITH u AS (UPDATE tenantcore.audited_tables SET table_id = gen_random_uuid()
                       WHERE rel = 'deleg_vic.docs'::regclass RETURNING 1)
SELECT is(count(*)::int, 0, 'the owner cannot change the identity of another owner''s table') FROM u;
WITH u AS (UPDATE tenantcore.audited_tables SET exclude_columns = '{no_such_column,title}'
                       WHERE rel = 'deleg_vic.docs'::regclass RETURNING 1)
SELECT is(count(*)::int, 0, 'nor its settings') FROM u;
WITH u AS (UPDATE tenantcore.audited_tables SET redact_columns = '{}', exclude_columns = '{}'
                       WHERE rel = 'tenantcore.users'::regclass RETURNING 1)
SELECT is(count(*)::int, 0, 'nor those of a core table (password_hash stays redacted)') FROM u;
WITH d AS (DELETE FROM tenantcore.audited_tables WHERE rel = 'deleg_vic.docs'::regclass RETURNING 1)
SELECT is(count(*)::int, 0, 'nor delete its row') FROM d;
SELECT throws_ok($$INSERT INTO tenantcore.audited_tables (rel) VALUES ('deleg_vic.other'::regclass)$$,
                 '42501', NULL, 'nor register a table it does not own');
SELECT throws_ok($$INSERT INTO tenantcore.audited_tables (rel, builtin) VALUES ('deleg_own.fake'::regclass, true)$$,
                 '42501', NULL, 'nor register a builtin row');
SELECT throws_ok($$UPDATE tenantcore.audited_tables SET table_id = gen_random_uuid() WHERE rel = 'deleg_own.items'::regclass$$,
                 '42501', NULL, 'the identity of its own table cannot change either');
SELECT throws_ok($$UPDATE tenantcore.audited_tables SET rel = 'deleg_own.fake'::regclass WHERE rel = 'deleg_own.items'::regclass$$,
                 '42501', NULL, 'nor the table of its row');
SELECT lives_ok($$UPDATE tenantcore.audited_tables SET changed_only = true WHERE rel = 'deleg_own.items'::regclass$$,
                'it may change the settings of its own table');
-- a chosen identity is replaced by the derived one
SELECT lives_ok($$INSERT INTO tenantcore.audited_tables (rel, table_id) VALUES ('deleg_own.fake'::regclass, '$$ || :'vic_id' || $$')$$,
                'it registers its own table directly');
SELECT is((SELECT table_id FROM tenantcore.audited_tables WHERE rel = 'deleg_own.fake'::regclass),
          md5('tenantcore audited table deleg_own.fake')::uuid, 'an identity chosen on insert is replaced by the derived one');
SELECT lives_ok($$SELECT tenantcore.unaudit('deleg_own.fake')$$, 'it unaudits its own table');
SELECT throws_ok($$SELECT tenantcore.unaudit('deleg_vic.docs')$$, '42501', NULL, 'not another owner''s');
RESET ROLE;
SELECT is((SELECT table_id::text || exclude_columns::text FROM tenantcore.audited_tables WHERE rel = 'deleg_vic.docs'::regclass),
          :'vic_id' || '{}', 'the victim''s registry row is unchanged');
SELECT is((SELECT redact_columns FROM tenantcore.audited_tables WHERE rel = 'tenantcore.users'::regclass),
          '{password_hash}', 'users.password_hash is still redacted');
-- F3b: the real owner's next DDL reinstalls the trigger from the registry
ALTER TABLE deleg_vic.docs ADD COLUMN note text;
SELECT is((SELECT encode(tgargs, 'escape') LIKE '%exclude:title%' FROM pg_trigger
            WHERE tgrelid = 'deleg_vic.docs'::regclass AND tgname = 'tenantcore_audit'), false,
          'the next DDL keeps title audited');

-- the victim's history as tenant B sees it: only what happened
SET LOCAL ROLE tc_deleg_app;
SELECT tenantcore.set_tenant(:B);
SELECT is((SELECT array_agg(table_name || ' ' || operation ORDER BY id) FROM tenantcore.history('deleg_vic.docs', '{"id": 1}')),
          '{"deleg_vic.docs INSERT"}', 'history() of the victim''s row holds its own entry only');
SELECT is(tenantcore.row_as_of('deleg_vic.docs', '{"id": 1}', now())->>'title', 'B doc',
          'row_as_of() says the row exists');
SELECT is((SELECT array_agg(table_name ORDER BY id) FROM tenantcore.audit_by_actor(:V)), '{deleg_vic.docs}',
          'audit_by_actor() lists only what the actor did');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
