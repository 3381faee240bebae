-- tenantcore pgTAP (adversarial suite): queries of an application role
-- (NOSUPERUSER NOBYPASSRLS) against isolated tables (plain and partitioned),
-- with two tenants: views of every kind, materialized views, upserts and
-- MERGE on another tenant's key, updates moving a row to another tenant,
-- leaky functions and operators, constraint oracles, EXPLAIN ANALYZE,
-- planner statistics, prepared statements under two tenants, parallel
-- workers.  COPY is covered by the pg_regress test rls_copy.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(51);

\set owner atk_q_owner
\set app atk_q_app
\set schema atk_q
\ir ../helpers/app_roles.sql
CREATE SCHEMA atk_q_mine AUTHORIZATION atk_q_app;
SET LOCAL ROLE atk_q_owner;
-- docs: a global primary key on id (the constraint oracle), a tenant-scoped code
CREATE TABLE atk_q.docs (
    id int PRIMARY KEY, organization_id uuid NOT NULL, code text NOT NULL, secret text NOT NULL,
    UNIQUE (organization_id, id), UNIQUE (organization_id, code));
SELECT tenantcore.isolate('atk_q.docs');
-- comments: one foreign key on id alone, one pairing the tenant columns
CREATE TABLE atk_q.comments (
    id int PRIMARY KEY, organization_id uuid NOT NULL, doc_id int REFERENCES atk_q.docs (id),
    paired_doc_id int, FOREIGN KEY (organization_id, paired_doc_id) REFERENCES atk_q.docs (organization_id, id));
SELECT tenantcore.isolate('atk_q.comments');
CREATE TABLE atk_q.parts (organization_id uuid NOT NULL, id int, v text NOT NULL, PRIMARY KEY (organization_id, id))
    PARTITION BY LIST (organization_id);
CREATE TABLE atk_q.parts_a PARTITION OF atk_q.parts FOR VALUES IN ('aaaaaaaa-0000-4000-8000-000000000001');
CREATE TABLE atk_q.parts_b PARTITION OF atk_q.parts FOR VALUES IN ('bbbbbbbb-0000-4000-8000-000000000002');
SELECT tenantcore.isolate('atk_q.parts');
-- a view owned by the table owner (FORCE ROW LEVEL SECURITY filters the owner too)
CREATE VIEW atk_q.docs_owner_view AS SELECT id, secret FROM atk_q.docs;
CREATE STATISTICS atk_q.docs_stx (mcv) ON code, secret FROM atk_q.docs;
GRANT SELECT, INSERT, UPDATE, DELETE ON atk_q.docs, atk_q.comments, atk_q.parts, atk_q.parts_a, atk_q.parts_b TO atk_q_app;
GRANT SELECT ON atk_q.docs_owner_view TO atk_q_app;
RESET ROLE;
-- a view owned by a superuser (the known PostgreSQL property: view owner's rights)
CREATE VIEW atk_q.docs_superuser_view AS SELECT id, secret FROM atk_q.docs;
GRANT SELECT ON atk_q.docs_superuser_view TO atk_q_app;
INSERT INTO atk_q.docs SELECT g, CASE WHEN g <= 2 THEN 'aaaaaaaa-0000-4000-8000-000000000001' ELSE 'bbbbbbbb-0000-4000-8000-000000000002' END::uuid,
       'code-' || g, 'secret-' || g FROM generate_series(1, 5) g;
INSERT INTO atk_q.parts VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 1, 'pa'), ('bbbbbbbb-0000-4000-8000-000000000002', 1, 'pb'),
                               ('bbbbbbbb-0000-4000-8000-000000000002', 2, 'pb2');
ANALYZE atk_q.docs, atk_q.parts;
-- side channel of the leaky functions: a table the application role owns
CREATE TABLE atk_q_mine.seen (v text);
ALTER TABLE atk_q_mine.seen OWNER TO atk_q_app;

SET LOCAL ROLE atk_q_app;
CREATE FUNCTION atk_q_mine.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
    $$BEGIN INSERT INTO atk_q_mine.seen VALUES ($1); RAISE NOTICE 'saw %', $1; RETURN true; END$$;
CREATE FUNCTION atk_q_mine.leak2(text, text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
    $$BEGIN INSERT INTO atk_q_mine.seen VALUES ($1); RETURN $1 <> $2; END$$;
CREATE OPERATOR atk_q_mine.<<>> (FUNCTION = atk_q_mine.leak2, LEFTARG = text, RIGHTARG = text);
CREATE VIEW atk_q_mine.v_plain AS SELECT * FROM atk_q.docs;
CREATE VIEW atk_q_mine.v_barrier WITH (security_barrier) AS SELECT * FROM atk_q.docs;
CREATE VIEW atk_q_mine.v_invoker WITH (security_invoker) AS SELECT * FROM atk_q.docs;
CREATE MATERIALIZED VIEW atk_q_mine.mv AS SELECT id, secret FROM atk_q.docs;
-- ids(q) lists the ids a query returns, in order
CREATE FUNCTION atk_q_mine.ids(q text) RETURNS int[] LANGUAGE plpgsql AS
    $$DECLARE r int[]; BEGIN EXECUTE format('SELECT coalesce(array_agg(id ORDER BY id), ''{}'') FROM (%s) q', q) INTO r; RETURN r; END$$;
CREATE FUNCTION atk_q_mine.affected(dml text) RETURNS bigint LANGUAGE plpgsql AS
    $$DECLARE n bigint; BEGIN EXECUTE dml; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END$$;
CREATE FUNCTION atk_q_mine.plan_of(q text) RETURNS text LANGUAGE plpgsql AS
    $$DECLARE line text; r text := ''; BEGIN FOR line IN EXECUTE q LOOP r := r || line || E'\n'; END LOOP; RETURN r; END$$;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');

-- 1-6: views of every kind
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q_mine.v_plain'), '{1,2}'::int[], 'a plain view owned by the application role: only A''s rows');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q_mine.v_barrier'), '{1,2}'::int[], 'a security_barrier view: only A''s rows');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q_mine.v_invoker'), '{1,2}'::int[], 'a security_invoker view: only A''s rows');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q.docs_owner_view'), '{1,2}'::int[], 'a view owned by the table owner: only A''s rows (RLS is forced)');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q.docs_superuser_view'), '{1,2,3,4,5}'::int[],
          'a view owned by a superuser shows every tenant''s rows (view owner''s rights; lint reports it, test 8)');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q.parts_b'), '{}'::int[], 'tenant A reading the partition of tenant B directly: no row');

-- 7-8: lint reports the views that do not check the table as the current user
RESET ROLE;
SELECT set_eq($$SELECT severity, object FROM tenantcore.lint() WHERE object LIKE 'atk_q%'$$,
              $$VALUES ('high', 'atk_q.docs_superuser_view'), ('medium', 'atk_q_mine.v_plain'), ('medium', 'atk_q_mine.v_barrier'),
                       ('medium', 'atk_q_mine.mv'), ('medium', 'atk_q.docs_owner_view'),
                       -- keys without the tenant column (0.7.0): the oracles and the cross-tenant reference of tests below
                       ('medium', 'atk_q.docs'), ('medium', 'atk_q.comments'), ('high', 'atk_q.comments')$$,
              'lint: the superuser view high; the owner rights views and the materialized view medium; the security_invoker view not at all; the keys without the tenant column');
SELECT ok((SELECT bool_and(problem ~ 'security_invoker|materialized') FROM tenantcore.lint() WHERE object LIKE 'atk_q%view' OR object LIKE 'atk_q_mine.v_%'),
          'lint: the problem of each view names security_invoker');
SET LOCAL ROLE atk_q_app;

-- 9-11: a materialized view holds the rows of the tenant it was refreshed for
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q_mine.mv'), '{}'::int[], 'created without a tenant: the materialized view is empty');
REFRESH MATERIALIZED VIEW atk_q_mine.mv;
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q_mine.mv'), '{1,2}'::int[], 'refreshed under tenant A: A''s rows only, never B''s');
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q_mine.mv'), '{1,2}'::int[],
          'the copy is not filtered again: under tenant B it still shows A''s rows (known property, lint reports it)');
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001');

-- 12-17: upserts and MERGE against another tenant's key
SELECT throws_ok($$INSERT INTO atk_q.docs VALUES (3, 'aaaaaaaa-0000-4000-8000-000000000001', 'x', 'x') ON CONFLICT (id) DO UPDATE SET secret = 'stolen'$$,
                 '42501', 'new row violates row-level security policy (USING expression) for table "docs"',
                 'ON CONFLICT DO UPDATE on B''s key: refused');
SELECT is_empty($$INSERT INTO atk_q.docs VALUES (3, 'aaaaaaaa-0000-4000-8000-000000000001', 'x', 'x') ON CONFLICT (id) DO NOTHING RETURNING *$$,
                'ON CONFLICT DO NOTHING on B''s key: nothing inserted, nothing returned');
SELECT throws_ok($$INSERT INTO atk_q.docs VALUES (3, 'aaaaaaaa-0000-4000-8000-000000000001', 'x', 'x') ON CONFLICT (id) DO UPDATE SET secret = 'stolen' WHERE false RETURNING *$$,
                 '42501', 'new row violates row-level security policy (USING expression) for table "docs"',
                 'ON CONFLICT DO UPDATE ... WHERE false on B''s key: refused too (the row is checked before the WHERE, no probing)');
SELECT throws_ok($$MERGE INTO atk_q.docs d USING (VALUES (3)) s(id) ON d.id = s.id
                   WHEN MATCHED THEN UPDATE SET secret = 'merged'
                   WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'aaaaaaaa-0000-4000-8000-000000000001', 'm', 'm')$$,
                 '23505', 'duplicate key value violates unique constraint "docs_pkey"',
                 'MERGE on B''s key does not match B''s row (invisible) and its insert hits the key');
SELECT is(atk_q_mine.ids($$SELECT id FROM atk_q.docs WHERE secret IN ('stolen', 'merged')$$), '{}'::int[], 'no row was changed by the upserts');
RESET ROLE;
SELECT is((SELECT secret FROM atk_q.docs WHERE id = 3), 'secret-3', 'B''s row is unchanged (read as superuser)');
SET LOCAL ROLE atk_q_app;

-- 18-21: updates moving a row to another tenant (WITH CHECK), also across partitions
SELECT throws_ok($$UPDATE atk_q.docs SET organization_id = 'bbbbbbbb-0000-4000-8000-000000000002' WHERE id = 1$$,
                 '42501', 'new row violates row-level security policy for table "docs"', 'moving A''s row to B: refused');
SELECT throws_ok($$UPDATE atk_q.parts SET organization_id = 'bbbbbbbb-0000-4000-8000-000000000002' WHERE id = 1$$,
                 '42501', 'new row violates row-level security policy for table "parts"', 'moving A''s row into B''s partition: refused');
SELECT is((SELECT count(*) FROM atk_q.parts_b), 0::bigint, 'B''s partition read directly under A: no row');
SELECT is((SELECT count(*) FROM ONLY atk_q.parts), 0::bigint, 'ONLY on the partitioned parent: no row');

-- 22-27: leaky functions and operators see only the tenant's rows
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q.docs WHERE atk_q_mine.leak(secret)'), '{1,2}'::int[], 'a leaky function in WHERE');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q.docs WHERE secret OPERATOR(atk_q_mine.<<>>) ''none'''), '{1,2}'::int[], 'a leaky operator in WHERE');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q_mine.v_barrier WHERE atk_q_mine.leak(secret)'), '{1,2}'::int[], 'a leaky function over a security_barrier view');
SELECT is(atk_q_mine.ids('SELECT 1 AS id FROM atk_q.parts WHERE atk_q_mine.leak(v) LIMIT 1'), '{1}'::int[], 'a leaky function over the partitioned table');
SELECT is(atk_q_mine.ids('SELECT id FROM atk_q.docs_owner_view WHERE atk_q_mine.leak(secret)'), '{1,2}'::int[], 'a leaky function over the owner''s view');
SELECT set_eq('SELECT v FROM atk_q_mine.seen', $$VALUES ('secret-1'), ('secret-2'), ('pa')$$,
              'the leaky functions saw only A''s values, never one of B''s');

-- 28-29: a function cannot be made LEAKPROOF by the application role
SELECT throws_ok($$CREATE FUNCTION atk_q_mine.lp(text) RETURNS boolean LANGUAGE sql LEAKPROOF AS 'SELECT true'$$,
                 '42501', 'only superuser can define a leakproof function', 'LEAKPROOF needs a superuser');
SELECT throws_ok($$ALTER FUNCTION atk_q_mine.leak(text) LEAKPROOF$$,
                 '42501', 'only superuser can define a leakproof function', 'ALTER FUNCTION ... LEAKPROOF needs a superuser');

-- 30-33: constraint oracles
SELECT throws_ok($$INSERT INTO atk_q.docs VALUES (3, 'aaaaaaaa-0000-4000-8000-000000000001', 'new', 'new')$$,
                 '23505', 'duplicate key value violates unique constraint "docs_pkey"',
                 'a unique key without the tenant column tells that B''s key exists (known property of unique indexes)');
SELECT lives_ok($$INSERT INTO atk_q.docs VALUES (10, 'aaaaaaaa-0000-4000-8000-000000000001', 'code-3', 'new')$$,
                'a unique key with the tenant column: B''s code is no oracle, A may use it too');
SELECT lives_ok($$INSERT INTO atk_q.comments (id, doc_id) VALUES (1, 3)$$,
                'a foreign key on id alone accepts B''s row (foreign key checks ignore row level security; citus_plan reports it, test 33)');
SELECT throws_ok($$INSERT INTO atk_q.comments (id, paired_doc_id) VALUES (2, 3)$$,
                 '23503', 'insert or update on table "comments" violates foreign key constraint "comments_organization_id_paired_doc_id_fkey"',
                 'a foreign key pairing the tenant columns refuses B''s row');
RESET ROLE;
SELECT set_eq($$SELECT rel::text, detail FROM tenantcore.citus_plan() WHERE kind = 'problem' AND rel::text LIKE 'atk_q.%'$$,
              $$VALUES ('atk_q.docs', 'unique index atk_q.docs_pkey does not include the tenant column organization_id: Citus can only enforce uniqueness within one tenant'),
                       ('atk_q.comments', 'unique index atk_q.comments_pkey does not include the tenant column organization_id: Citus can only enforce uniqueness within one tenant'),
                       ('atk_q.comments', 'foreign key comments_doc_id_fkey to atk_q.docs does not pair the tenant columns organization_id and organization_id: it can reference another tenant''s row')$$,
              'citus_plan() reports the oracle keys: the unique keys and the foreign key without the tenant column, nothing else');
SET LOCAL ROLE atk_q_app;

-- 34-38: EXPLAIN ANALYZE and planner statistics
SELECT matches(atk_q_mine.plan_of('EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM atk_q.docs'),
               'actual rows=3 loops=1', 'EXPLAIN ANALYZE counts A''s 3 rows');
SELECT matches(atk_q_mine.plan_of('EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM atk_q.docs'),
               'Rows Removed by Filter: 3',
               'known property: a sequential scan tells how many rows other tenants have (like pg_class.reltuples), not their values');
SELECT is((SELECT count(*) FROM pg_stats WHERE schemaname = 'atk_q'), 0::bigint,
          'pg_stats hides the statistics (most_common_vals) of isolated tables from the application role');
SELECT is((SELECT count(*) FROM pg_stats_ext WHERE schemaname = 'atk_q'), 0::bigint,
          'pg_stats_ext hides the extended statistics too');
SELECT throws_ok('SELECT count(*) FROM pg_statistic', '42501', 'permission denied for table pg_statistic', 'pg_statistic is out of reach');

-- 39-43: prepared statements prepared under tenant A, executed under tenant B
PREPARE atk_q_p AS SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM atk_q.docs;
PREPARE atk_q_p2 AS SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM atk_q.parts_b;
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE atk_q_p3 AS SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM atk_q.docs WHERE organization_id = tenantcore.current_tenant();
EXECUTE atk_q_p \gset a1_
EXECUTE atk_q_p3 \gset a3_
SELECT tenantcore.set_tenant('bbbbbbbb-0000-4000-8000-000000000002');
EXECUTE atk_q_p \gset b1_
EXECUTE atk_q_p2 \gset b2_
EXECUTE atk_q_p3 \gset b3_
SELECT tenantcore.clear_tenant();
EXECUTE atk_q_p \gset n1_
SELECT is(:'a1_coalesce'::int[], '{1,2,10}'::int[], 'prepared under A, executed under A: A''s rows');
SELECT is(:'b1_coalesce'::int[], '{3,4,5}'::int[], 'the same prepared statement under B: B''s rows, not the plan''s tenant');
SELECT is(:'b3_coalesce'::int[], '{3,4,5}'::int[], 'a generic plan with current_tenant() in WHERE: B''s rows under B');
SELECT is(:'n1_coalesce'::int[], '{}'::int[], 'the same prepared statement without a tenant: no row');
SELECT is(:'a3_coalesce'::int[], '{1,2,10}'::int[], 'the generic plan under A: A''s rows');
DEALLOCATE atk_q_p; DEALLOCATE atk_q_p2; DEALLOCATE atk_q_p3;

-- 45-46: parallel workers see the same tenant and the same actor
RESET ROLE;
INSERT INTO atk_q.parts SELECT 'bbbbbbbb-0000-4000-8000-000000000002', g, 'bulk' FROM generate_series(100, 5099) g;
INSERT INTO atk_q.parts SELECT 'aaaaaaaa-0000-4000-8000-000000000001', g, 'bulk' FROM generate_series(100, 2099) g;
ANALYZE atk_q.parts;
SET LOCAL ROLE atk_q_app;
SET LOCAL force_parallel_mode = on;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-000000000001'), tenantcore.set_actor('aaaaaaaa-0000-4000-8000-0000000000ff');
SELECT matches(atk_q_mine.plan_of('EXPLAIN (COSTS OFF) SELECT count(*) FROM atk_q.parts WHERE tenantcore.current_actor() IS NOT NULL'),
               'Gather', 'the scan runs in parallel workers');
SELECT results_eq($$SELECT count(*), count(DISTINCT organization_id), min(tenantcore.current_tenant()::text), min(tenantcore.current_actor()::text)
                      FROM atk_q.parts WHERE tenantcore.current_actor() IS NOT NULL$$,
                  $$VALUES (2001::bigint, 1::bigint, 'aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-0000000000ff')$$,
                  'parallel workers count A''s rows only and see A as tenant and the same actor');

-- 47-51: the registry of isolated tables cannot be changed by the application role
-- (a missing row would stop the event trigger from isolating new partitions)
SELECT is(atk_q_mine.affected($$DELETE FROM tenantcore.isolated_tables WHERE rel = 'atk_q.parts'::regclass$$), 0::bigint,
          'the registry row of a table the role does not own cannot be deleted');
SELECT is(atk_q_mine.affected($$UPDATE tenantcore.isolated_tables SET tenant_column = 'id' WHERE rel::text LIKE 'atk_q.%'$$), 0::bigint,
          'nor changed');
SELECT throws_ok($$INSERT INTO tenantcore.isolated_tables (rel, tenant_column, source) VALUES ('tenantcore.tenant_keys', 'organization_id', 'isolate')$$,
                 '42501', 'new row violates row-level security policy for table "isolated_tables"', 'nor forged for a table of another owner');
SELECT is(atk_q_mine.affected($$DELETE FROM tenantcore.protected_columns$$), 0::bigint, 'protected columns cannot be unregistered');
SELECT throws_ok($$INSERT INTO tenantcore.isolated_schemas (schema_name, tenant_column) VALUES ('atk_q', 'id')$$,
                 '42501', 'new row violates row-level security policy for table "isolated_schemas"',
                 'a schema of another owner cannot be registered');

SELECT * FROM finish();
ROLLBACK;
