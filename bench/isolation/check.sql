-- bench/isolation/check.sql -- run as bench_app before measuring: every
-- variant must see exactly one tenant's 1,000 rows, and the whole table must
-- really hold 1,000,000.  Exits with status 3 otherwise.
\set ON_ERROR_STOP 1
SELECT md5('42')::uuid AS tenant \gset
BEGIN;
SELECT tenantcore.set_tenant(:'tenant') IS NOT NULL AS tenant_set,
       set_config('app.current_tenant_id', :'tenant', true) IS NOT NULL AS seed_tenant_set \gset
SELECT (SELECT count(*) FROM bench.items_tc)                                     AS tenantcore,
       (SELECT count(*) FROM bench.items_plain WHERE organization_id = :'tenant') AS explicit_where,
       (SELECT count(*) FROM bench.items_seed)                                   AS seed_style,
       (SELECT count(*) FROM bench.items_plain)                                  AS whole_table
\gset
COMMIT;
\echo rows seen for one tenant: tenantcore :tenantcore, explicit WHERE :explicit_where, seed-style :seed_style (table: :whole_table rows)
SELECT :tenantcore = 1000 AND :explicit_where = 1000 AND :seed_style = 1000
       AND :whole_table = 1000000 AS counts_ok \gset
\if :counts_ok
\else
\echo 'counts differ: the variants do not return the same rows'
\quit 3
\endif
