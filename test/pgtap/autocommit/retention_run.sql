-- run_retention end to end: it COMMITs, so this file runs in autocommit mode
-- and cleans up after itself.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS ret_run CASCADE;
DROP ROLE IF EXISTS ret_run_owner;
CREATE ROLE ret_run_owner NOLOGIN;
CREATE SCHEMA ret_run AUTHORIZATION ret_run_owner;
DELETE FROM tenantcore.retention_runs;
DELETE FROM tenantcore.legal_holds WHERE organization_id::text LIKE '00000000-0000-0000-0000-00000000000_';

SET ROLE ret_run_owner;
-- tenants: ...a keeps 30 days, ...b has a 1 year override, ...c is under a legal hold
CREATE TABLE ret_run.events (
    organization_id uuid NOT NULL,
    id   integer NOT NULL,
    at   timestamptz,
    who  name,
    PRIMARY KEY (organization_id, id)
);
-- records who really deleted: the owner, not the superuser running the job
CREATE TABLE ret_run.deleted_by (who text COLLATE "C", n integer);
CREATE FUNCTION ret_run.note_deleter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ret_run.deleted_by VALUES (current_user, 1);
    RETURN OLD;
END $$;
CREATE TRIGGER note_deleter AFTER DELETE ON ret_run.events FOR EACH ROW EXECUTE FUNCTION ret_run.note_deleter();
INSERT INTO ret_run.events (organization_id, id, at)
SELECT t::uuid, g, now() - g * interval '1 day'
  FROM unnest(ARRAY['00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-00000000000b',
                    '00000000-0000-0000-0000-00000000000c']) t, generate_series(1, 100) g;
INSERT INTO ret_run.events VALUES ('00000000-0000-0000-0000-00000000000a', 1000, NULL);

CREATE TABLE ret_run.people (organization_id uuid NOT NULL, id integer, left_at date, email text, score integer);
INSERT INTO ret_run.people SELECT '00000000-0000-0000-0000-00000000000a', g, current_date - g * 10, 'p' || g || '@example.org', g
  FROM generate_series(1, 10) g;

CREATE TABLE ret_run.log (organization_id uuid NOT NULL, at timestamptz NOT NULL, msg text) PARTITION BY RANGE (at);
CREATE TABLE ret_run.log_2019 PARTITION OF ret_run.log FOR VALUES FROM ('2019-01-01') TO ('2020-01-01');
CREATE TABLE ret_run.log_2020 PARTITION OF ret_run.log FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE ret_run.log_now PARTITION OF ret_run.log FOR VALUES FROM ('2021-01-01') TO ('2200-01-01');
CREATE TABLE ret_run.log_default PARTITION OF ret_run.log DEFAULT;
INSERT INTO ret_run.log VALUES
    ('00000000-0000-0000-0000-00000000000a', '2019-06-01', 'old a'),
    ('00000000-0000-0000-0000-00000000000a', '2020-06-01', 'old a'),
    ('00000000-0000-0000-0000-00000000000c', '2020-07-01', 'old c, held'),
    ('00000000-0000-0000-0000-00000000000a', now(), 'new a'),
    ('00000000-0000-0000-0000-00000000000a', '2300-01-01', 'default partition');
RESET ROLE;

SELECT tenantcore.isolate('ret_run.events');
SELECT tenantcore.isolate('ret_run.people');
SELECT tenantcore.isolate('ret_run.log');
SELECT tenantcore.retain('ret_run.events', 'at', '30 days');
SELECT tenantcore.retain_for_tenant('ret_run.events', '00000000-0000-0000-0000-00000000000b', '1 year');
SELECT tenantcore.hold('00000000-0000-0000-0000-00000000000c', NULL, 'litigation') AS hold_c \gset
SELECT tenantcore.retain('ret_run.people', 'left_at', '45 days', 'anonymize', '{"email": null, "score": 0}');
SELECT tenantcore.retain('ret_run.log', 'at', '1 year', 'drop_partition');

CALL tenantcore.run_retention(batch_size => 7);

SELECT plan(17);

SELECT results_eq(
    $$SELECT organization_id::text, count(*)::int FROM ret_run.events GROUP BY 1 ORDER BY 1$$,
    $$VALUES ('00000000-0000-0000-0000-00000000000a', 30), ('00000000-0000-0000-0000-00000000000b', 100),
             ('00000000-0000-0000-0000-00000000000c', 100)$$,
    'delete: 30 days for tenant a (its NULL-time row kept), a 1-year override for b, nothing under c''s hold');
SELECT ok(NOT EXISTS (SELECT FROM ret_run.events WHERE organization_id = '00000000-0000-0000-0000-00000000000a'
                         AND at < now() - interval '30 days'), 'no expired row of tenant a is left');
SELECT ok(EXISTS (SELECT FROM ret_run.events WHERE at IS NULL), 'a row with a NULL time is never deleted');
SELECT is((SELECT string_agg(DISTINCT who, ',') FROM ret_run.deleted_by), 'ret_run_owner',
          'deletes run as the table owner, not as the superuser running the job');
SELECT results_eq($$SELECT rows_affected, error FROM tenantcore.retention_runs WHERE rel = 'ret_run.events'$$,
                  $$VALUES (71::bigint, NULL::text)$$, 'the run log counts the deleted rows');

SELECT results_eq($$SELECT id, email, score FROM ret_run.people ORDER BY id$$,
    $$VALUES (1, 'p1@example.org', 1), (2, 'p2@example.org', 2), (3, 'p3@example.org', 3), (4, 'p4@example.org', 4),
             (5, NULL, 0), (6, NULL, 0), (7, NULL, 0), (8, NULL, 0), (9, NULL, 0), (10, NULL, 0)$$,
    'anonymize replaces the values of rows past the period and keeps the rows');

SELECT results_eq($$SELECT tableoid::regclass::text, msg FROM ret_run.log ORDER BY at$$,
    $$VALUES ('ret_run.log_2020', 'old a'), ('ret_run.log_2020', 'old c, held'), ('ret_run.log_now', 'new a'),
             ('ret_run.log_default', 'default partition')$$,
    'drop_partition drops old partitions, keeps one holding a held tenant''s rows, and never the default');
SELECT is((SELECT detail FROM tenantcore.retention_runs WHERE rel = 'ret_run.log'),
          'dropped ret_run.log_2019; kept ret_run.log_2020: legal hold of tenant 00000000-0000-0000-0000-00000000000c',
          'one partition dropped, and the run log names it');
SELECT results_eq($$SELECT rel, partitions_dropped, error FROM tenantcore.retention_runs WHERE rel LIKE 'ret_run.%' ORDER BY id$$,
                  $$VALUES ('ret_run.events', 0, NULL::text), ('ret_run.people', 0, NULL), ('ret_run.log', 1, NULL)$$,
                  'the run log has one row per policy, counts dropped partitions and records no error');

-- a second run finds nothing more to do
CALL tenantcore.run_retention();
SELECT results_eq($$SELECT rel, rows_affected, partitions_dropped FROM tenantcore.retention_runs
                    WHERE id > (SELECT max(id) - 3 FROM tenantcore.retention_runs) AND rel LIKE 'ret_run.%' ORDER BY rel$$,
                  $$VALUES ('ret_run.events', 0::bigint, 0), ('ret_run.log', 0::bigint, 0), ('ret_run.people', 0::bigint, 0)$$,
                  'a second run is idempotent');

-- releasing the hold lets the next run delete tenant c's expired rows and the partition
SELECT tenantcore.release_hold(:hold_c);
CALL tenantcore.run_retention();
SELECT is((SELECT count(*)::int FROM ret_run.events WHERE organization_id = '00000000-0000-0000-0000-00000000000c'), 29,
          'after release, tenant c is purged to 30 days');
SELECT results_eq($$SELECT tableoid::regclass::text FROM ret_run.log ORDER BY at$$,
                  $$VALUES ('ret_run.log_now'), ('ret_run.log_default')$$,
                  'after release, the 2020 partition is dropped');
SELECT ok(to_regclass('ret_run.log_2020') IS NULL, 'the dropped partition is gone, not only detached');

-- a table-scoped hold protects only that table
SELECT tenantcore.hold('00000000-0000-0000-0000-00000000000b', 'ret_run.people') AS hold_b \gset
SELECT tenantcore.retain_for_tenant('ret_run.events', '00000000-0000-0000-0000-00000000000b', NULL);
CALL tenantcore.run_retention();
SELECT is((SELECT count(*)::int FROM ret_run.events WHERE organization_id = '00000000-0000-0000-0000-00000000000b'), 29,
          'a hold on another table does not protect this one; removing the override applies the default period');
SELECT tenantcore.release_hold(:hold_b);

-- a hold placed on one partition protects that tenant's rows in it from the parent's policy
CREATE TABLE ret_run.parted (organization_id uuid NOT NULL, at timestamptz NOT NULL) PARTITION BY LIST (organization_id);
CREATE TABLE ret_run.parted_a PARTITION OF ret_run.parted FOR VALUES IN ('00000000-0000-0000-0000-00000000000a');
CREATE TABLE ret_run.parted_b PARTITION OF ret_run.parted FOR VALUES IN ('00000000-0000-0000-0000-00000000000b');
INSERT INTO ret_run.parted VALUES ('00000000-0000-0000-0000-00000000000a', now() - interval '2 years'),
                                  ('00000000-0000-0000-0000-00000000000b', now() - interval '2 years');
SELECT tenantcore.retain('ret_run.parted', 'at', '1 year');
SELECT tenantcore.hold('00000000-0000-0000-0000-00000000000a', 'ret_run.parted_a') AS hold_p \gset
CALL tenantcore.run_retention();
SELECT results_eq($$SELECT tableoid::regclass::text FROM ret_run.parted$$, $$VALUES ('ret_run.parted_a')$$,
                  'a hold on a partition keeps its rows; the other partition is purged');
SELECT tenantcore.release_hold(:hold_p);

-- max_runtime bounds the run
INSERT INTO ret_run.events (organization_id, id, at)
SELECT '00000000-0000-0000-0000-00000000000a', 2000 + g, now() - interval '1 year' FROM generate_series(1, 50) g;
CALL tenantcore.run_retention(max_runtime => '1 microsecond', batch_size => 1);
SELECT cmp_ok((SELECT count(*)::int FROM ret_run.events WHERE id > 2000), '>', 40,
              'a run stops at max_runtime and leaves the rest for the next run');
CALL tenantcore.run_retention();
SELECT is((SELECT count(*)::int FROM ret_run.events WHERE id > 2000), 0, 'the next run finishes the work');

SELECT * FROM finish();

DROP SCHEMA ret_run CASCADE;
DELETE FROM tenantcore.legal_holds WHERE id IN (:hold_c, :hold_b, :hold_p);
DELETE FROM tenantcore.retention_runs;
DROP ROLE ret_run_owner;
