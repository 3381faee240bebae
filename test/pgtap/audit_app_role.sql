-- tenantcore pgTAP: the audit trail as seen by a non-owner application role
-- (NOSUPERUSER NOBYPASSRLS) with two tenants: every change logged exactly
-- once with the row's tenant, the log readable per tenant and tamper-proof,
-- history replayed, partitions maintained.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(35);

CREATE ROLE tc_audit_owner NOLOGIN;
CREATE ROLE tc_audit_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_audit_app');
CREATE SCHEMA audit_tap AUTHORIZATION tc_audit_owner;
CREATE SCHEMA audit_app_own AUTHORIZATION tc_audit_app;
GRANT USAGE ON SCHEMA audit_tap TO tc_audit_app;
CREATE TABLE audit_tap.clients (
    id              int PRIMARY KEY,
    organization_id uuid NOT NULL,
    name            text NOT NULL,
    balance         numeric,
    tags            text[],
    api_key         text
);
ALTER TABLE audit_tap.clients OWNER TO tc_audit_owner;
SELECT tenantcore.isolate('audit_tap.clients');
SELECT tenantcore.audit('audit_tap.clients', redact => '{api_key}');
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_tap.clients TO tc_audit_app;
CREATE TABLE audit_tap.notes (id int PRIMARY KEY, body text);
SELECT tenantcore.audit('audit_tap.notes', changed_only => false);
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_tap.notes TO tc_audit_app;

-- entries(op, tenant) counts the log entries of audit_tap.clients, as superuser
CREATE FUNCTION audit_tap.entries(op text, tenant uuid) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM tenantcore.audit_log
     WHERE table_name = 'audit_tap.clients' AND operation = op AND organization_id IS NOT DISTINCT FROM tenant
$$;

\set A '\'aaaaaaaa-0000-0000-0000-000000000001\''
\set B '\'bbbbbbbb-0000-0000-0000-000000000002\''

SET LOCAL ROLE tc_audit_app;
SELECT tenantcore.set_tenant(:A);
INSERT INTO audit_tap.clients (id, name, balance, tags, api_key)
SELECT g, 'client ' || g, g * 1.5, ARRAY['t' || g], 'key-' || g FROM generate_series(1, 100) g;
UPDATE audit_tap.clients SET balance = balance + 1;
UPDATE audit_tap.clients SET name = name WHERE id <= 10;
INSERT INTO audit_tap.clients (id, name) VALUES (1, 'x'), (2, 'y'), (101, 'new')
    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;
DELETE FROM audit_tap.clients WHERE id BETWEEN 91 AND 100;
SELECT tenantcore.set_tenant(:B);
INSERT INTO audit_tap.clients (id, name, api_key) SELECT g, 'b ' || g, 'key-b' || g FROM generate_series(201, 205) g;
INSERT INTO audit_tap.notes VALUES (1, 'note of b');
UPDATE audit_tap.notes SET body = 'edited';
RESET ROLE;

SELECT is(audit_tap.entries('INSERT', :A), 101::bigint, 'INSERT ... SELECT and ON CONFLICT inserts: one entry per row');
SELECT is(audit_tap.entries('UPDATE', :A), 102::bigint, 'UPDATE and ON CONFLICT DO UPDATE: one entry per changed row, none for no-op updates');
SELECT is(audit_tap.entries('DELETE', :A), 10::bigint, 'DELETE: one entry per row');
SELECT is(audit_tap.entries('INSERT', :B), 5::bigint, 'the second tenant''s rows carry its id');
SELECT is((SELECT count(DISTINCT txid) FROM tenantcore.audit_log WHERE table_name LIKE 'audit_tap.%'),
          1::bigint, 'every entry belongs to the writing transaction');
SELECT is((SELECT count(*) FROM tenantcore.audit_log WHERE table_name LIKE 'audit_tap.%' AND db_user <> session_user),
          0::bigint, 'db_user is the session user');
SELECT is((SELECT count(*) FROM tenantcore.audit_log l WHERE table_name = 'audit_tap.clients' AND l::text LIKE '%key-%'),
          0::bigint, 'redacted values appear nowhere in the log');
SELECT is((SELECT count(*) FROM tenantcore.audit_log WHERE table_name = 'audit_tap.clients'
              AND (new_row->>'api_key' = '[redacted]' OR old_row->>'api_key' = '[redacted]')),
          115::bigint, 'the redacted key is kept with the marker');
SELECT results_eq($$SELECT new_row FROM tenantcore.audit_log WHERE table_name = 'audit_tap.notes' AND operation = 'UPDATE'$$,
                  $$VALUES ('{"id": 1, "body": "edited"}'::jsonb)$$,
                  'changed_only => false logs full rows');
SELECT is((SELECT organization_id FROM tenantcore.audit_log WHERE table_name = 'audit_tap.notes' LIMIT 1),
          :B::uuid, 'a table without a tenant column logs the session''s tenant');

-- the tenant of an entry is the row's, not only the session's
SELECT tenantcore.set_tenant(:A);
INSERT INTO audit_tap.clients (id, organization_id, name) VALUES (300, :B, 'written by a maintenance job');
SELECT is((SELECT organization_id FROM tenantcore.audit_log WHERE table_name = 'audit_tap.clients' AND pk = '{"id": 300}'),
          :B::uuid, 'the entry of a row of tenant B written in tenant A''s session belongs to B');

-- history and time travel replay changed-only entries
SELECT is((SELECT count(*) FROM audit_tap.clients c
            WHERE tenantcore.row_as_of('audit_tap.clients', jsonb_build_object('id', c.id), now())
                  IS DISTINCT FROM to_jsonb(c) - 'api_key' || jsonb_build_object('api_key', CASE WHEN c.api_key IS NULL THEN NULL ELSE '[redacted]' END)),
          0::bigint, 'row_as_of(now()) rebuilds every row from its INSERT and changed-only UPDATEs');
SELECT is(tenantcore.row_as_of('audit_tap.clients', '{"id": 95}', now()), NULL, 'row_as_of is NULL after a DELETE');
SELECT is(tenantcore.row_as_of('audit_tap.clients', '{"id": 1}', now() - interval '1 second'), NULL,
          'row_as_of is NULL before the INSERT');
SELECT results_eq($$SELECT operation FROM tenantcore.history('audit_tap.clients', '{"id": 1}')$$,
                  $$VALUES ('INSERT'), ('UPDATE'), ('UPDATE')$$, 'history is oldest first');

-- what the application role sees and may do
SET LOCAL ROLE tc_audit_app;
SELECT tenantcore.set_tenant(:B);
SELECT is((SELECT count(*) FROM tenantcore.audit_log), 8::bigint, 'tenant B sees its own 8 entries only');
SELECT is((SELECT count(*) FROM tenantcore.history('audit_tap.clients', '{"id": 1}')), 0::bigint,
          'history shows tenant B nothing of tenant A''s row');
SELECT tenantcore.set_tenant(:A);
SELECT is((SELECT count(*) FROM tenantcore.history('audit_tap.clients', '{"id": 1}')), 3::bigint,
          'history shows tenant A its row');
SELECT throws_ok($$UPDATE tenantcore.audit_log SET new_row = '{}'$$, '42501', 'permission denied for table audit_log',
                 'the application role cannot UPDATE the log');
SELECT throws_ok($$DELETE FROM tenantcore.audit_log$$, '42501', 'permission denied for table audit_log',
                 'the application role cannot DELETE from the log');
SELECT throws_ok($$TRUNCATE tenantcore.audit_log$$, '42501', 'permission denied for table audit_log',
                 'the application role cannot TRUNCATE the log');
SELECT throws_ok($$INSERT INTO tenantcore.audit_log (organization_id, relid, table_name, operation)
                   VALUES ('aaaaaaaa-0000-0000-0000-000000000001', 1, 'audit_tap.clients', 'DELETE')$$,
                 '42501', 'permission denied for table audit_log', 'the application role cannot forge entries');
SELECT throws_ok($$SELECT count(*) FROM tenantcore.audit_log_default$$, '42501', 'permission denied for table audit_log_default',
                 'partitions are not reachable directly');
SELECT throws_ok($$SET tenantcore.audit_internal = on$$, '42501', NULL, 'the application role cannot lift the guard');
CREATE TABLE audit_app_own.mine (id int PRIMARY KEY, organization_id uuid);
SELECT throws_ok($$CREATE TRIGGER forge AFTER INSERT ON audit_app_own.mine FOR EACH ROW EXECUTE FUNCTION tenantcore.audit_trigger()$$,
                 '42501', 'permission denied for function tenantcore.audit_trigger',
                 'the application role cannot attach the audit trigger to its own table to forge entries');
SELECT throws_ok($$SELECT tenantcore.audit('audit_app_own.mine')$$, '42501', 'permission denied for function audit',
                 'the application role cannot install auditing');
RESET ROLE;

SELECT throws_ok($$DELETE FROM tenantcore.audit_log WHERE table_name = 'audit_tap.clients'$$, '42501',
                 'tenantcore.audit_log is append-only', 'the owner path is guarded too: DELETE');
SELECT throws_ok($$UPDATE tenantcore.audit_log SET actor_id = NULL$$, '42501',
                 'tenantcore.audit_log is append-only', 'the owner path is guarded too: UPDATE');
SELECT throws_ok($$TRUNCATE tenantcore.audit_log$$, '42501',
                 'tenantcore.audit_log is append-only', 'the owner path is guarded too: TRUNCATE');
SELECT throws_ok(format('TRUNCATE tenantcore.%I', tenantcore._audit_partition_name(now())), '42501',
                 'tenantcore.audit_log is append-only', 'each monthly partition is guarded against TRUNCATE');

-- partitions: entries that reached the default partition move to the
-- monthly partition that audit_maintain() creates for them
SELECT is((SELECT count(*) FROM tenantcore.audit_log_default), 0::bigint, 'entries go to the monthly partition');
SELECT set_config('tc.part', tenantcore._audit_partition_name(now()), true);
SELECT set_config('tc.before', (SELECT count(*) FROM tenantcore.audit_log)::text, true);
DO $$ BEGIN
    EXECUTE format('ALTER TABLE tenantcore.audit_log DETACH PARTITION tenantcore.%I', current_setting('tc.part'));
    EXECUTE format('ALTER TABLE tenantcore.%I RENAME TO audit_tap_detached', current_setting('tc.part'));
END $$;
SET LOCAL ROLE tc_audit_app;
SELECT tenantcore.set_tenant(:A);
INSERT INTO audit_tap.clients (id, name) VALUES (400, 'into the default partition');
RESET ROLE;
SELECT is((SELECT count(*) FROM tenantcore.audit_log_default), 1::bigint, 'without a monthly partition the default one takes the entry');
SELECT results_eq($$SELECT tenantcore.audit_maintain(0)::text$$, ARRAY['tenantcore.' || current_setting('tc.part')],
                  'audit_maintain() recreates the month''s partition');
SELECT is((SELECT count(*) FROM tenantcore.audit_log_default), 0::bigint, '... and moves the entry out of the default partition');
SELECT is((SELECT count(*) FROM tenantcore.audit_log),
          current_setting('tc.before')::bigint + 1 - (SELECT count(*) FROM tenantcore.audit_tap_detached),
          'no entry was lost or duplicated by the move');

SELECT * FROM finish();
ROLLBACK;
