-- tenantcore pgTAP: the indexes of the audit log's partitions (0.5.0: BRIN
-- on (id, occurred_at), hash on pk; 0.7.0: hash on record_id instead of pk,
-- btree on (actor_id, occurred_at)) and how the trigger keeps them up to date
-- within one transaction after it has prepared its writes to a partition: an
-- index created meanwhile, a savepoint rolled back, a unique violation raised
-- by an index of the DBA's, the partition dropped.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(15);

CREATE ROLE tc_logidx_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_logidx_app');
CREATE SCHEMA logidx;
GRANT USAGE ON SCHEMA logidx TO tc_logidx_app;
CREATE TABLE logidx.items (id int PRIMARY KEY, organization_id uuid NOT NULL, name text);
SELECT tenantcore.isolate('logidx.items');
SELECT tenantcore.audit('logidx.items');
GRANT SELECT, INSERT, UPDATE, DELETE ON logidx.items TO tc_logidx_app;

\set A '\'aaaaaaaa-0000-0000-0000-00000000000a\''

-- the partition of this transaction
CREATE FUNCTION logidx.part() RETURNS regclass LANGUAGE sql AS $$
    SELECT format('tenantcore.%I', tenantcore._audit_partition_name(transaction_timestamp()))::regclass
$$;
-- the index definitions of a partition, its name replaced by P
CREATE FUNCTION logidx.indexes(part regclass) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(replace(pg_get_indexdef(i.indexrelid), c.relname, 'P') ORDER BY pg_get_indexdef(i.indexrelid))
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
     WHERE i.indrelid = part
$$;
CREATE FUNCTION logidx.entries(op text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM tenantcore.audit_log WHERE table_name = 'logidx.items' AND operation = op
$$;
CREATE FUNCTION logidx.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
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

SELECT is((SELECT count(*) FROM pg_inherits i
            WHERE i.inhparent = 'tenantcore.audit_log'::regclass
              AND logidx.indexes(i.inhrelid) = ARRAY['CREATE INDEX P_actor_id_occurred_at_idx ON tenantcore.P USING btree (actor_id, occurred_at) WHERE (actor_id IS NOT NULL)',
                                                      'CREATE INDEX P_id_occurred_at_idx ON tenantcore.P USING brin (id, occurred_at)',
                                                      'CREATE INDEX P_record_id_idx ON tenantcore.P USING hash (record_id)']),
          (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = 'tenantcore.audit_log'::regclass),
          'every partition of the log, the default one included, has the BRIN index, the hash index on record_id, the actor index and no other');
SELECT is((SELECT count(*) FROM pg_constraint c JOIN pg_inherits i ON i.inhrelid = c.conrelid
            WHERE i.inhparent = 'tenantcore.audit_log'::regclass AND c.contype = 'p'),
          0::bigint, 'no partition has a primary key');

SET LOCAL ROLE tc_logidx_app;
SELECT tenantcore.set_tenant(:A);
INSERT INTO logidx.items (id, name) SELECT g, 'item ' || g FROM generate_series(1, 50) g;
RESET ROLE;

SET LOCAL enable_seqscan = off;
SELECT matches(logidx.plan(format($$SELECT * FROM tenantcore.audit_log l WHERE l.record_id = %L$$,
                                  tenantcore.audit_record_id('logidx.items', '{"id": 7}')::text)),
               'Index Scan using ' || tenantcore._audit_partition_name(transaction_timestamp()) || '_record_id_idx',
               'the lookup of history() and row_as_of() can use the hash index on record_id');
RESET enable_seqscan;

-- an index created on the partition after the trigger prepared its writes
-- gets the later entries too
SELECT lives_ok(format('CREATE INDEX logidx_name_idx ON %s ((new_row ->> ''name''))', logidx.part()),
                'an index of the DBA''s on the current partition, created mid-transaction');
SET LOCAL ROLE tc_logidx_app;
INSERT INTO logidx.items (id, name) SELECT g, 'item ' || g FROM generate_series(51, 60) g;
RESET ROLE;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM tenantcore.audit_log WHERE new_row ->> 'name' = ANY (ARRAY(SELECT 'item ' || g FROM generate_series(51, 60) g))),
          10::bigint, 'entries written after that are in the new index (found by an index scan)');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- a savepoint rolled back leaves no entry; writes go on after it
SAVEPOINT s1;
SET LOCAL ROLE tc_logidx_app;
INSERT INTO logidx.items (id, name) SELECT g, 'gone ' || g FROM generate_series(61, 70) g;
UPDATE logidx.items SET name = 'renamed' WHERE id <= 5;
RESET ROLE;
ROLLBACK TO SAVEPOINT s1;
SET LOCAL ROLE tc_logidx_app;
UPDATE logidx.items SET name = 'kept' WHERE id = 1;
RESET ROLE;
SELECT is(logidx.entries('INSERT'), 60::bigint, 'inserts of a rolled-back savepoint leave no entry');
SELECT is(logidx.entries('UPDATE'), 1::bigint, 'updates of a rolled-back savepoint leave no entry, later ones do');
SELECT is((SELECT array_agg(operation || ':' || (new_row ->> 'name') ORDER BY id)
             FROM tenantcore.history('logidx.items', '{"id": 1}')),
          ARRAY['INSERT:item 1', 'UPDATE:kept'], 'history() after the rollback');

-- a unique partial index of the DBA's on the partition is enforced on the
-- trigger's writes (with its predicate), and a failed write does not stop
-- the next ones
SELECT lives_ok(format($$CREATE UNIQUE INDEX logidx_one_delete ON %s ((pk ->> 'id'))
                         WHERE operation = 'DELETE' AND table_name = 'logidx.items'$$, logidx.part()),
                'a unique partial index on the current partition');
DELETE FROM logidx.items WHERE id = 2;
INSERT INTO logidx.items (id, organization_id, name) VALUES (2, :A, 'again');
SELECT throws_ok($$DELETE FROM logidx.items WHERE id = 2$$, '23505', NULL,
                 'a second DELETE entry of the row violates it');
INSERT INTO logidx.items (id, organization_id, name) VALUES (3000, :A, 'after the error');
SELECT is(logidx.entries('DELETE'), 1::bigint, 'the failed statement left no entry');
SELECT is((SELECT count(*) FROM tenantcore.history('logidx.items', '{"id": 3000}')), 1::bigint,
          'writes go on after the failed one');

-- the partition dropped mid-transaction: entries go to the default partition
SELECT lives_ok($$SELECT tenantcore.audit_drop_partitions_before(now() + interval '20 years')$$,
                'the monthly partitions dropped after entries were written to one of them');
INSERT INTO logidx.items (id, organization_id, name) VALUES (4000, :A, 'in the default partition');
SELECT is((SELECT count(*) FROM tenantcore.audit_log_default WHERE pk = '{"id": 4000}'), 1::bigint,
          'the next entry lands in the default partition');
SELECT is(tenantcore.row_as_of('logidx.items', '{"id": 4000}', now()),
          jsonb_build_object('id', 4000, 'organization_id', :A, 'name', 'in the default partition'),
          'row_as_of() finds it there');

SELECT * FROM finish();
ROLLBACK;
