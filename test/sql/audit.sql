-- audit trail: installers, the C trigger, the log's protection, history
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
SET client_min_messages = warning;

\i test/helpers/err.sql

CREATE ROLE audit_app NOSUPERUSER NOBYPASSRLS NOINHERIT;
SELECT tenantcore.grant_app_role('audit_app');
CREATE SCHEMA audit_t;
GRANT USAGE ON SCHEMA audit_t TO audit_app;

CREATE TABLE audit_t.clients (
    id              int PRIMARY KEY,
    organization_id uuid NOT NULL,
    name            text NOT NULL,
    password_hash   text,
    token           text,
    updated_at      timestamptz
);
SELECT tenantcore.isolate('audit_t.clients');
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_t.clients TO audit_app;

-- bad input
SELECT pg_temp.err($$SELECT tenantcore.audit(NULL)$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients', NULL)$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients', '{NULL}')$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients', changed_only => NULL)$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients', '{nope}')$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients', redact => '{"x; drop table audit_t.clients"}')$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients', '{id}')$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients', '{token}', '{token}')$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.no_such_table')$$);
CREATE VIEW audit_t.v AS SELECT 1 AS id;
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.v')$$);
CREATE TABLE audit_t.nopk (a int);
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.nopk')$$);
CREATE TEMP TABLE tmp_audit (id int PRIMARY KEY);
SELECT pg_temp.err($$SELECT tenantcore.audit('tmp_audit')$$);
SELECT pg_temp.err($$SELECT tenantcore.audit('tenantcore.audited_tables')$$);
SELECT pg_temp.err($$SELECT tenantcore.unaudit(NULL)$$);
SELECT tenantcore.unaudit('audit_t.nopk');
-- an application role may neither install auditing nor call the trigger
SET ROLE audit_app;
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients')$$);
SELECT pg_temp.err($$SELECT tenantcore.audit_maintain()$$);
RESET ROLE;
-- a role allowed to run audit() still has to own the table
CREATE ROLE audit_dba NOSUPERUSER;
GRANT USAGE ON SCHEMA tenantcore, audit_t TO audit_dba;
GRANT EXECUTE ON FUNCTION tenantcore.audit(regclass, text[], text[], boolean), tenantcore.unaudit(regclass) TO audit_dba;
SET ROLE audit_dba;
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.clients')$$);
RESET ROLE;
SELECT count(*) AS nothing_registered FROM tenantcore.audited_tables WHERE NOT builtin;

-- install, twice (idempotent), then re-configure
SELECT tenantcore.audit('audit_t.clients');
SELECT tenantcore.audit('audit_t.clients', exclude => '{updated_at}', redact => '{password_hash,token}');
SELECT rel, exclude_columns, redact_columns, changed_only, tenant_column FROM tenantcore.audited_tables WHERE NOT builtin;
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'audit_t.clients'::regclass AND NOT tgisinternal ORDER BY 1;

-- the application writes as two tenants
SET ROLE audit_app;
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-0000-0000-000000000001');
SELECT tenantcore.set_actor('0000000a-0000-0000-0000-00000000000a');
INSERT INTO audit_t.clients (id, name, password_hash, token, updated_at)
SELECT g, 'client ' || g, 's3cret-hash-' || g, 'tok-' || g, now() FROM generate_series(1, 3) g;
UPDATE audit_t.clients SET name = 'client one' WHERE id = 1;
UPDATE audit_t.clients SET name = 'client one' WHERE id = 1;          -- changes nothing: no entry
UPDATE audit_t.clients SET updated_at = now() WHERE id = 1;           -- excluded column only: no entry
UPDATE audit_t.clients SET password_hash = 's3cret-new' WHERE id = 2; -- redacted: key kept, value hidden
DELETE FROM audit_t.clients WHERE id = 3;
INSERT INTO audit_t.clients (id, name) VALUES (2, 'dup') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;
COMMIT;
-- COPY FROM does not work under row level security: the owner loads data
RESET ROLE;
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-0000-0000-000000000001');
COPY audit_t.clients (id, organization_id, name, token) FROM STDIN;
10	aaaaaaaa-0000-0000-0000-000000000001	copied	s3cret-copied
11	aaaaaaaa-0000-0000-0000-000000000001	copied too	\N
\.
COMMIT;
SET ROLE audit_app;
BEGIN;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-0000-0000-000000000002');
INSERT INTO audit_t.clients (id, name) VALUES (20, 'tenant b');
COMMIT;
-- rolled back: no entry
BEGIN;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-0000-0000-000000000002');
INSERT INTO audit_t.clients (id, name) VALUES (21, 'rolled back');
ROLLBACK;
BEGIN;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-0000-0000-000000000002');
SAVEPOINT s;
INSERT INTO audit_t.clients (id, name) VALUES (22, 'savepoint rolled back');
ROLLBACK TO SAVEPOINT s;
INSERT INTO audit_t.clients (id, name) VALUES (23, 'kept');
COMMIT;

-- a tenant sees its own entries only
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-0000-0000-000000000001');
SELECT count(*) AS tenant_a_entries FROM tenantcore.audit_log;
SELECT tenantcore.set_tenant('bbbbbbbb-0000-0000-0000-000000000002');
SELECT operation, pk, new_row->>'name' AS name FROM tenantcore.audit_log ORDER BY id;
COMMIT;
SELECT count(*) AS no_tenant_sees_nothing FROM tenantcore.audit_log;

-- and cannot tamper with the log
SELECT pg_temp.err($$UPDATE tenantcore.audit_log SET old_row = NULL$$);
SELECT pg_temp.err($$DELETE FROM tenantcore.audit_log$$);
SELECT pg_temp.err($$TRUNCATE tenantcore.audit_log$$);
SELECT pg_temp.err($$INSERT INTO tenantcore.audit_log (relid, table_name, operation) VALUES (1, 'x', 'INSERT')$$);
SELECT pg_temp.err($$SELECT count(*) FROM tenantcore.audit_log_default$$);
SELECT pg_temp.err($$SET tenantcore.audit_internal = on$$);
SELECT pg_temp.err($$SELECT tenantcore.audit_drop_partitions_before('infinity')$$);
RESET ROLE;

-- not even the owner changes it
SELECT pg_temp.err($$UPDATE tenantcore.audit_log SET old_row = NULL$$);
SELECT pg_temp.err($$DELETE FROM tenantcore.audit_log$$);
SELECT pg_temp.err($$TRUNCATE tenantcore.audit_log$$);
SELECT pg_temp.err($$TRUNCATE tenantcore.audit_log_default$$);

-- what was logged, in order
SELECT operation,
       CASE organization_id WHEN 'aaaaaaaa-0000-0000-0000-000000000001' THEN 'A'
                            WHEN 'bbbbbbbb-0000-0000-0000-000000000002' THEN 'B' END AS tenant,
       table_name, pk, old_row, new_row - 'organization_id' AS new_row, changed_columns,
       actor_id IS NOT NULL AS has_actor, db_user, txid IS NOT NULL AS has_txid
  FROM tenantcore.audit_log WHERE table_name = 'audit_t.clients' ORDER BY id;
-- every change exactly once, in one transaction
SELECT count(DISTINCT txid) AS transactions, count(*) AS entries
  FROM tenantcore.audit_log WHERE table_name = 'audit_t.clients';
-- the redacted values appear nowhere
SELECT count(*) AS leaks FROM tenantcore.audit_log l
 WHERE l::text LIKE '%s3cret%' OR l::text LIKE '%tok-%';

-- history and time travel
SELECT operation, old_row, new_row - 'organization_id' AS new_row
  FROM tenantcore.history('audit_t.clients', '{"id": 1}');
SELECT tenantcore.row_as_of('audit_t.clients', '{"id": 1}', '-infinity') AS before_insert;
SELECT tenantcore.row_as_of('audit_t.clients', '{"id": 1}', now()) - 'organization_id' AS now;
SELECT tenantcore.row_as_of('audit_t.clients', '{"id": 3}', now()) AS deleted;
SELECT tenantcore.row_as_of('audit_t.clients', '{"id": 1}', NULL) AS null_time;

-- ALTER TABLE while audited: add, rename (the setting follows), drop
ALTER TABLE audit_t.clients ADD COLUMN notes text;
ALTER TABLE audit_t.clients RENAME COLUMN token TO api_token;
SELECT exclude_columns, redact_columns FROM tenantcore.audited_tables WHERE NOT builtin;
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-0000-0000-000000000001');
UPDATE audit_t.clients SET notes = 'n', api_token = 'tok-renamed' WHERE id = 10;
COMMIT;
ALTER TABLE audit_t.clients DROP COLUMN password_hash;
SELECT exclude_columns, redact_columns FROM tenantcore.audited_tables WHERE NOT builtin;
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-0000-0000-000000000001');
DELETE FROM audit_t.clients WHERE id = 10;
COMMIT;
SELECT operation, old_row - 'organization_id' AS old_row, new_row - 'organization_id' AS new_row, changed_columns
  FROM tenantcore.history('audit_t.clients', '{"id": 10}');

-- full rows instead of changed keys
SELECT tenantcore.audit('audit_t.clients', '{updated_at}', '{api_token}', changed_only => false);
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-0000-0000-000000000001');
UPDATE audit_t.clients SET name = 'client uno' WHERE id = 1;
COMMIT;
SELECT old_row - 'organization_id' AS old_row, new_row - 'organization_id' AS new_row, changed_columns
  FROM tenantcore.history('audit_t.clients', '{"id": 1}') h WHERE operation = 'UPDATE' ORDER BY id DESC LIMIT 1;

-- types round-trip like to_jsonb()
CREATE TABLE audit_t.types (
    id   int PRIMARY KEY,
    n    numeric, f float8, fi float4, i8 bigint, s smallint, b boolean,
    ts   timestamptz, d date, t timestamp, tm time, iv interval,
    j    jsonb, js json, arr int[], tarr text[], by bytea, u text, vc varchar(10), ch char(3),
    uu   uuid, ip inet, r int4range, comp audit_t.v
);
SELECT tenantcore.audit('audit_t.types');
SET timezone = 'UTC';
INSERT INTO audit_t.types VALUES
    (1, 12345678901234567890.123, 1.5e300, 0.1, -9007199254740993, -32768, false,
     '2026-02-03 04:05:06.789+02', '2026-02-03', '2026-02-03 04:05:06', '04:05:06', '1 day 2 hours',
     '{"a": [1, "x", null, true], "b": {"c": 1.0}}', '{"k": "v", "k": "dup"}', '{1,NULL,3}', '{"a b","\"q\""}',
     '\x00ff', E'Unicode \u00e9\u4e2d\U0001F600 "quoted" \\ back\nline', 'vc', 'ab',
     'aaaaaaaa-0000-0000-0000-000000000001', '10.0.0.1/8', '[1,5)', ROW(7)),
    (2, 'NaN', 'Infinity', '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     'null', 'null', '{}', NULL, '', '', NULL, NULL, NULL, NULL, 'empty', NULL);
SELECT x.id, l.new_row = to_jsonb(x) AS same_as_to_jsonb
  FROM audit_t.types x JOIN tenantcore.audit_log l ON l.table_name = 'audit_t.types' AND l.pk = jsonb_build_object('id', x.id)
 ORDER BY x.id;
SELECT new_row FROM tenantcore.audit_log WHERE table_name = 'audit_t.types' ORDER BY id;
RESET timezone;

-- cascaded deletes are captured on both tables
CREATE TABLE audit_t.parent (id int PRIMARY KEY);
CREATE TABLE audit_t.child (id int PRIMARY KEY, parent_id int REFERENCES audit_t.parent ON DELETE CASCADE);
SELECT tenantcore.audit('audit_t.parent'), tenantcore.audit('audit_t.child');
INSERT INTO audit_t.parent VALUES (1), (2);
INSERT INTO audit_t.child VALUES (1, 1), (2, 1), (3, 2);
DELETE FROM audit_t.parent WHERE id = 1;
SELECT table_name, operation, pk FROM tenantcore.audit_log
 WHERE table_name IN ('audit_t.parent', 'audit_t.child') AND operation = 'DELETE' ORDER BY id;

-- TRUNCATE is recorded
TRUNCATE audit_t.child;
SELECT table_name, operation, pk, old_row FROM tenantcore.audit_log WHERE operation = 'TRUNCATE' ORDER BY id;
SELECT tenantcore.row_as_of('audit_t.child', '{"id": 3}', now()) AS truncated;

-- partitioned tables: rows are logged under the partitioned table
CREATE TABLE audit_t.events (
    organization_id uuid NOT NULL,
    id              int NOT NULL,
    payload         text,
    PRIMARY KEY (organization_id, id)
) PARTITION BY LIST (organization_id);
CREATE TABLE audit_t.events_a PARTITION OF audit_t.events FOR VALUES IN ('aaaaaaaa-0000-0000-0000-000000000001');
SELECT tenantcore.audit('audit_t.events', redact => '{payload}');
CREATE TABLE audit_t.events_b PARTITION OF audit_t.events FOR VALUES IN ('bbbbbbbb-0000-0000-0000-000000000002');
SELECT pg_temp.err($$SELECT tenantcore.audit('audit_t.events_a')$$);
SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'audit_t'::regnamespace AND c.relname LIKE 'events%' ORDER BY 1, 2;
INSERT INTO audit_t.events VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 1, 'secret a'),
                                  ('bbbbbbbb-0000-0000-0000-000000000002', 1, 'secret b');
UPDATE audit_t.events SET payload = 'secret b2' WHERE id = 1 AND organization_id = 'bbbbbbbb-0000-0000-0000-000000000002';
TRUNCATE audit_t.events;
SELECT table_name, operation,
       CASE organization_id WHEN 'aaaaaaaa-0000-0000-0000-000000000001' THEN 'A'
                            WHEN 'bbbbbbbb-0000-0000-0000-000000000002' THEN 'B' END AS tenant,
       pk ? 'id' AS pk_has_id, new_row->>'payload' AS payload
  FROM tenantcore.audit_log WHERE table_name LIKE 'audit_t.events%' ORDER BY id;

-- the trigger refuses to run other than as installed, and fails closed when a
-- setting names a column that is gone
CREATE TABLE audit_t.misuse (id int PRIMARY KEY, secret text);
CREATE TRIGGER before_trigger BEFORE INSERT ON audit_t.misuse FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger();
SELECT pg_temp.err($$INSERT INTO audit_t.misuse VALUES (1, 'x')$$);
DROP TRIGGER before_trigger ON audit_t.misuse;
CREATE TRIGGER statement_trigger AFTER INSERT ON audit_t.misuse FOR EACH STATEMENT EXECUTE FUNCTION tenantcore.audit_trigger();
SELECT pg_temp.err($$INSERT INTO audit_t.misuse VALUES (1, 'x')$$);
DROP TRIGGER statement_trigger ON audit_t.misuse;
CREATE TRIGGER bad_args AFTER INSERT ON audit_t.misuse FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger('bogus');
SELECT pg_temp.err($$INSERT INTO audit_t.misuse VALUES (1, 'x')$$);
DROP TRIGGER bad_args ON audit_t.misuse;
CREATE TRIGGER gone AFTER INSERT ON audit_t.misuse FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger('redact:password');
SELECT pg_temp.err($$INSERT INTO audit_t.misuse VALUES (1, 'x')$$);
DROP TRIGGER gone ON audit_t.misuse;
SELECT pg_temp.err($$SELECT tenantcore.audit_trigger()$$);
SELECT count(*) AS misuse_entries FROM tenantcore.audit_log WHERE table_name = 'audit_t.misuse';

-- unaudit stops the entries and keeps the old ones
SELECT tenantcore.unaudit('audit_t.clients');
SELECT tenantcore.unaudit('audit_t.clients');
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-0000-0000-000000000001');
INSERT INTO audit_t.clients (id, name) VALUES (30, 'not audited');
COMMIT;
SELECT count(*) AS entries_for_30 FROM tenantcore.history('audit_t.clients', '{"id": 30}');
SELECT count(*) > 0 AS old_entries_kept FROM tenantcore.history('audit_t.clients', '{"id": 1}');

-- dropping an audited table forgets its settings
DROP TABLE audit_t.child;
SELECT rel FROM tenantcore.audited_tables WHERE NOT builtin ORDER BY rel::text;

-- nothing went to the default partition: monthly partitions exist
SELECT count(*) AS in_default FROM tenantcore.audit_log_default;
SELECT count(*) >= 4 AS monthly_partitions FROM pg_inherits WHERE inhparent = 'tenantcore.audit_log'::regclass;
SELECT pg_temp.err($$SELECT tenantcore.audit_maintain(-1)$$);

-- after all of the above, still no redacted value anywhere in the log
SELECT count(*) AS leaks FROM tenantcore.audit_log l
 WHERE l::text LIKE '%s3cret%' OR l::text LIKE '%tok-%' OR l::text LIKE '%secret %';

-- clean up
DROP SCHEMA audit_t CASCADE;
DROP OWNED BY audit_app;
DROP ROLE audit_app;
DROP OWNED BY audit_dba;
DROP ROLE audit_dba;
