-- tenantcore pgTAP: audit v2 as a non-owner application role with two
-- tenants: a record id per audited row, stable across updates and a rename
-- of the table; history() and row_as_of() found by it through the index
-- (also under row-level security), audit_by_actor() through its index, and
-- the JSON lines export of a tenant's log.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(36);

CREATE ROLE tc_v2_owner NOLOGIN;
CREATE ROLE tc_v2_app LOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE tc_v2_other LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_v2_app');
SELECT tenantcore.grant_app_role('tc_v2_other');
CREATE SCHEMA v2 AUTHORIZATION tc_v2_owner;
GRANT USAGE ON SCHEMA v2 TO tc_v2_app, tc_v2_other;
CREATE TABLE v2.items (id int, organization_id uuid NOT NULL, name text, PRIMARY KEY (organization_id, id));
ALTER TABLE v2.items OWNER TO tc_v2_owner;
SELECT tenantcore.isolate('v2.items');
SELECT tenantcore.audit('v2.items');
GRANT SELECT, INSERT, UPDATE, DELETE ON v2.items TO tc_v2_app;
-- tc_v2_other may write the table but read none of its columns
GRANT INSERT ON v2.items TO tc_v2_other;

CREATE FUNCTION v2.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        result := result || line || E'\n';
    END LOOP;
    RETURN result;
END
$$;
GRANT EXECUTE ON FUNCTION v2.plan(text) TO PUBLIC;

\set A '\'aaaaaaaa-0000-0000-0000-0000000000a2\''
\set B '\'bbbbbbbb-0000-0000-0000-0000000000b2\''
\set ACT '\'acacacac-0000-0000-0000-0000000000a1\''
\set ACT2 '\'acacacac-0000-0000-0000-0000000000a2\''

SET LOCAL ROLE tc_v2_app;
SELECT tenantcore.set_tenant(:A);
SELECT tenantcore.set_actor(:ACT);
INSERT INTO v2.items (id, name) SELECT g, 'a' || g FROM generate_series(1, 200) g;
UPDATE v2.items SET name = 'a7 renamed' WHERE id = 7;
UPDATE v2.items SET name = 'a7 again' WHERE id = 7;
SELECT tenantcore.set_tenant(:B);
SELECT tenantcore.set_actor(:ACT2);
INSERT INTO v2.items (id, name) VALUES (7, 'b7');
SELECT tenantcore.set_tenant(:A);
SELECT tenantcore.set_actor(:ACT);

-- 1. record ids
SELECT is((SELECT count(DISTINCT record_id) FROM tenantcore.history('v2.items', '{"id": 7}')), 1::bigint,
          'every entry of a row has the same record id across its updates');
SELECT is((SELECT count(*) FROM tenantcore.history('v2.items', '{"id": 7}')), 3::bigint,
          'history() finds the insert and both updates of the row');
SELECT is((SELECT min(record_id::text) FROM tenantcore.history('v2.items', '{"id": 7}')),
          tenantcore.audit_record_id('v2.items', '{"id": 7}')::text,
          'audit_record_id() computes the record id the trigger stored');
SELECT is((SELECT substr(record_id::text, 15, 1) FROM tenantcore.history('v2.items', '{"id": 7}') LIMIT 1), '8',
          'the record id is a version 8 uuid');
SELECT isnt(tenantcore.audit_record_id('v2.items', '{"id": 7}'),
            tenantcore.audit_record_id('v2.items', format('{"id": 7, "organization_id": "%s"}', :B)::jsonb),
            'the same id in another tenant is another record');
SELECT is(tenantcore.audit_record_id('v2.items', '{"id": "7"}'), tenantcore.audit_record_id('v2.items', '{"id": 7}'),
          'a key given as a string is converted like history() converts it');
SELECT is((SELECT count(DISTINCT record_id) FROM tenantcore.audit_log WHERE table_name = 'v2.items'), 200::bigint,
          'the application role sees one record id per row of its tenant, none of the other tenant');
SELECT is((SELECT count(*) FROM tenantcore.history('v2.items', format('{"id": 7, "organization_id": "%s"}', :B)::jsonb)),
          0::bigint, 'history() of the other tenant''s row shows nothing to this tenant');
SELECT throws_ok($$SELECT tenantcore.audit_record_id('v2.items', '{"nope": 1}')$$, '42703',
                 'audit_record_id: "nope" is not a primary key column of table v2.items',
                 'a key naming a non-key column is an error');
SELECT throws_ok($$SELECT tenantcore.audit_record_id('v2.plan_none'::regclass, '{"id": 1}')$$, '42P01', NULL,
                 'an unknown table is an error');
RESET ROLE;
CREATE TABLE v2.unaudited (id int PRIMARY KEY);
SELECT throws_ok($$SELECT tenantcore.audit_record_id('v2.unaudited', '{"id": 1}')$$, '55000',
                 'table v2.unaudited is not audited', 'a table that is not audited has no record ids');
SELECT throws_ok($$SELECT tenantcore._audit_record_id(gen_random_uuid(), '[1]')$$, '22023',
                 'the key of a record id must be a JSON object', 'the record id of a non-object key is an error');

-- the history lookup uses the hash index on record_id under the log's
-- row-level security (0.6.0: a JSONB comparison, not leakproof, scanned the log)
SET LOCAL ROLE tc_v2_app;
SET LOCAL enable_seqscan = off;
SELECT matches(v2.plan(format($$SELECT * FROM tenantcore.audit_log l WHERE l.record_id = %L$$,
                              tenantcore.audit_record_id('v2.items', '{"id": 7}'))),
               'Index Scan using \S+_record_id_idx',
               'as the application role, the lookup of history() uses the index on record_id');
SELECT doesnt_match(v2.plan(format($$SELECT * FROM tenantcore.audit_log l WHERE l.record_id = %L$$,
                             tenantcore.audit_record_id('v2.items', '{"id": 7}'))),
              'Seq Scan', 'and scans no partition');
RESET enable_seqscan;

-- a key change: the UPDATE carries the new key's record id
UPDATE v2.items SET id = 1007 WHERE id = 8;
SELECT is((SELECT record_id FROM tenantcore.audit_log WHERE operation = 'UPDATE' AND pk = '{"id": 1007}'::jsonb || jsonb_build_object('organization_id', :A::uuid)),
          tenantcore.audit_record_id('v2.items', '{"id": 1007}'),
          'an UPDATE that changes the key carries the record id of the new key');
SELECT is((SELECT count(*) FROM tenantcore.history('v2.items', '{"id": 8}')), 1::bigint,
          'the old key''s history ends with its insert');

-- TRUNCATE entries carry the table's identity as their record id: row_as_of() sees them
RESET ROLE;
SELECT is(tenantcore.row_as_of('v2.items', '{"id": 7}', now()) ->> 'name', 'a7 again',
          'row_as_of() replays the row');

-- 2. a rename of the table keeps history() whole
ALTER TABLE v2.items RENAME TO items_renamed;
SET LOCAL ROLE tc_v2_app;
UPDATE v2.items_renamed SET name = 'a7 after the rename' WHERE id = 7;
SELECT is((SELECT count(*) FROM tenantcore.history('v2.items_renamed', '{"id": 7}')), 4::bigint,
          'after ALTER TABLE RENAME history() finds the entries written under the old name and the new one');
SELECT is((SELECT array_agg(DISTINCT table_name ORDER BY table_name) FROM tenantcore.history('v2.items_renamed', '{"id": 7}')),
          ARRAY['v2.items', 'v2.items_renamed'],
          'the entries keep the name the table had when they were written');
SELECT is((SELECT count(DISTINCT table_id) FROM tenantcore.history('v2.items_renamed', '{"id": 7}')), 1::bigint,
          'and one table identity');
SELECT is(tenantcore.row_as_of('v2.items_renamed', '{"id": 7}', clock_timestamp()) ->> 'name', 'a7 after the rename',
          'row_as_of() replays across the rename');
RESET ROLE;
SET LOCAL ROLE tc_v2_other;
SELECT tenantcore.set_tenant(:A);
SELECT is((SELECT count(*) FROM tenantcore.history('v2.items_renamed', '{"id": 7}')), 0::bigint,
          'a role without a column privilege on the table sees none of its entries, before or after the rename');
SELECT is((SELECT count(*) FROM tenantcore.audit_log), 0::bigint, 'nor in the log itself');
RESET ROLE;
ALTER TABLE v2.items_renamed RENAME TO items;

-- 3. by actor and time range, through the actor index
SET LOCAL ROLE tc_v2_app;
SELECT tenantcore.set_tenant(:A);
SELECT is((SELECT count(*) FROM tenantcore.audit_by_actor(:ACT, now() - interval '1 minute', 'infinity')), 204::bigint,
          'audit_by_actor() lists the actor''s 200 inserts and 4 updates');
SELECT is((SELECT count(*) FROM tenantcore.audit_by_actor(:ACT, now() + interval '1 minute', 'infinity')), 0::bigint,
          'and nothing outside the time range');
SELECT is((SELECT count(*) FROM tenantcore.audit_by_actor(:ACT2)), 0::bigint,
          'the other tenant''s actor''s entries are not visible to this tenant');
SELECT tenantcore.set_tenant(:B);
SELECT is((SELECT count(*) FROM tenantcore.audit_by_actor(:ACT2)), 1::bigint, 'but to its own tenant');
SET LOCAL enable_seqscan = off;
SELECT matches(v2.plan(format($$SELECT * FROM tenantcore.audit_log l WHERE l.actor_id = %L
                                AND l.occurred_at >= now() - interval '1 day' AND l.occurred_at < now()$$, :ACT)),
               'Index Scan using \S+_actor_id_occurred_at_idx',
               'as the application role, the actor query uses the index on (actor_id, occurred_at)');
RESET enable_seqscan;

-- 4. export as JSON lines, resumable, only the current tenant
SELECT tenantcore.set_tenant(:A);
SELECT is((SELECT count(*) FROM tenantcore.audit_export()), 204::bigint,
          'the export holds every entry of the tenant (200 inserts, 4 updates)');
SELECT is((SELECT count(*) FROM tenantcore.audit_export() e
            WHERE (e::jsonb ->> 'organization_id')::uuid <> :A), 0::bigint, 'and only of the tenant');
SELECT is((SELECT array_agg((e::jsonb ->> 'id')::bigint) FROM tenantcore.audit_export(0, 10) e),
          (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM tenantcore.audit_log ORDER BY id LIMIT 10) s),
          'a batch is in id order');
SELECT is((SELECT array_agg((e::jsonb ->> 'id')::bigint)
             FROM tenantcore.audit_export((SELECT max((x::jsonb ->> 'id')::bigint) FROM tenantcore.audit_export(0, 10) x), 5) e),
          (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM tenantcore.audit_log ORDER BY id OFFSET 10 LIMIT 5) s),
          'the next batch starts after the last id of the previous one');
SELECT is((SELECT e::jsonb ?& ARRAY['id', 'occurred_at', 'table_name', 'record_id', 'operation', 'pk', 'new_row', 'actor_id']
             FROM tenantcore.audit_export(0, 1) e), true, 'an exported line holds the entry''s columns');
SELECT tenantcore.set_tenant(:B);
SELECT is((SELECT count(*) FROM tenantcore.audit_export()), 1::bigint, 'the other tenant exports its own entry');
SELECT throws_ok($$SELECT tenantcore.audit_export(0, 0)$$, '22023',
                 'audit_export: max_entries must be between 1 and 1000000, not 0', 'a batch size of 0 is an error');
RESET ROLE;
SET LOCAL ROLE tc_v2_app;
SELECT tenantcore.clear_tenant();
SELECT throws_ok($$SELECT tenantcore.audit_export()$$, '22023', 'audit_export: no tenant is set',
                 'an export without a tenant is an error');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
