-- bench/isolation/explain.sql -- the plans of the measured queries, as
-- bench_app with a tenant set (the way the pgbench scripts run them).
\set ON_ERROR_STOP 1
\pset footer off
\pset tuples_only on
SELECT md5('42')::uuid AS tenant \gset
BEGIN;
SELECT tenantcore.set_tenant(:'tenant') IS NOT NULL AS tenant_set,
       set_config('app.current_tenant_id', :'tenant', true) IS NOT NULL AS seed_tenant_set \gset
\echo '--- count, explicit WHERE (no RLS):'
EXPLAIN (COSTS OFF) SELECT count(*) FROM bench.items_plain WHERE organization_id = :'tenant';
\echo '--- count, tenantcore:'
EXPLAIN (COSTS OFF) SELECT count(*) FROM bench.items_tc;
\echo '--- count, seed-style policy:'
EXPLAIN (COSTS OFF) SELECT count(*) FROM bench.items_seed;
\echo '--- page, explicit WHERE (no RLS):'
EXPLAIN (COSTS OFF) SELECT id, created_at, customer, status, amount FROM bench.items_plain
 WHERE organization_id = :'tenant' ORDER BY created_at DESC LIMIT 50;
\echo '--- page, tenantcore:'
EXPLAIN (COSTS OFF) SELECT id, created_at, customer, status, amount FROM bench.items_tc
 ORDER BY created_at DESC LIMIT 50;
\echo '--- page, seed-style policy:'
EXPLAIN (COSTS OFF) SELECT id, created_at, customer, status, amount FROM bench.items_seed
 ORDER BY created_at DESC LIMIT 50;
COMMIT;
