#!/usr/bin/env bash
# bench/blueprints/run.sh -- the CPA blueprint with benchmark data, measured in
# one run:
#  1. seed_bench(): TENANTS organizations x BENCH_ROWS clients each, with the rows
#     hanging off them (documents, invoices, workflows, ...), written through
#     every trigger the installers put there (encryption, audit, updated_at):
#     rows per second;
#  2. a per-tenant report query (active clients, their invoices and open
#     tasks) as the application role under row level security vs. the same
#     query as a superuser with explicit organization_id filters (no RLS):
#     pgbench tps of each and their ratio.
# Needs PGHOST/PGPORT/PGUSER of a cluster with tenantcore installed (bench/run.sh
# starts one).  Environment (bench/lib.sh): BENCH_ROWS (default 250),
# BENCH_SECONDS (per pgbench run, default 10); TENANTS (default 40).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
bench_defaults - 10 - 250
TENANTS=${TENANTS:-40}
db=${PGDATABASE:-tenantcore_bench_blueprints}
app=bench_bp_app
work=$(mktemp -d /tmp/tc-bench-bp.XXXXXX)
trap 'rm -rf "$work"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

createdb "$db" 2>/dev/null || true
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS bench_cpa CASCADE;
DROP TABLE IF EXISTS public.bench_tenants;
DO \$\$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '$app') THEN EXECUTE 'DROP OWNED BY $app'; END IF; END \$\$;
DROP ROLE IF EXISTS $app;
CREATE ROLE $app LOGIN;
SELECT tenantcore.grant_app_role('$app');
SELECT count(*) FROM tenantcore.install_blueprint('cpa', 'bench_cpa');
GRANT USAGE ON SCHEMA bench_cpa TO $app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bench_cpa TO $app;
SQL

echo "# seed_bench('bench_cpa', $TENANTS, $BENCH_ROWS)"
t0=$(now_ms)
q -c "SELECT sum(row_count) FROM tenantcore.seed_bench('bench_cpa', $TENANTS, $BENCH_ROWS)" > "$work/rows"
t1=$(now_ms)
rows=$(cat "$work/rows")
ms=$((t1 - t0))
awk -v r="$rows" -v ms="$ms" 'BEGIN { printf "rows written                 %d in %.1f s = %.0f rows/s (%.0f us per row, every trigger included)\n", r, ms / 1000, r / (ms / 1000), ms * 1000 / r }'

q >/dev/null <<SQL
CREATE TABLE public.bench_tenants AS
SELECT row_number() OVER (ORDER BY organization_id) AS n, organization_id AS id
  FROM (SELECT DISTINCT organization_id FROM bench_cpa.clients) t;
GRANT SELECT ON public.bench_tenants TO $app;
VACUUM ANALYZE;
SQL
n=$(q -c "SELECT count(*) FROM public.bench_tenants")

cat > "$work/rls.pgbench" <<EOF2
\set t random(1, $n)
BEGIN;
SELECT tenantcore.set_tenant(id) FROM public.bench_tenants WHERE n = :t;
SELECT c.business_name, count(DISTINCT i.id) AS invoices, sum(i.total_amount) AS billed, count(DISTINCT t.id) AS open_tasks
  FROM bench_cpa.clients c
  JOIN bench_cpa.invoices i ON i.organization_id = c.organization_id AND i.client_id = c.id
  LEFT JOIN bench_cpa.engagements e ON e.organization_id = c.organization_id AND e.client_id = c.id
  LEFT JOIN bench_cpa.tasks t ON t.organization_id = e.organization_id AND t.engagement_id = e.id AND t.status <> 'completed'
 WHERE c.status = 'active' AND c.deleted_at IS NULL
 GROUP BY c.business_name ORDER BY billed DESC LIMIT 20;
COMMIT;
EOF2
cat > "$work/explicit.pgbench" <<EOF2
\set t random(1, $n)
BEGIN;
SELECT c.business_name, count(DISTINCT i.id) AS invoices, sum(i.total_amount) AS billed, count(DISTINCT t.id) AS open_tasks
  FROM bench_cpa.clients c
  JOIN bench_cpa.invoices i ON i.organization_id = c.organization_id AND i.client_id = c.id
  LEFT JOIN bench_cpa.engagements e ON e.organization_id = c.organization_id AND e.client_id = c.id
  LEFT JOIN bench_cpa.tasks t ON t.organization_id = e.organization_id AND t.engagement_id = e.id AND t.status <> 'completed'
 WHERE c.status = 'active' AND c.deleted_at IS NULL
   AND c.organization_id = (SELECT id FROM public.bench_tenants WHERE n = :t)
   AND i.organization_id = (SELECT id FROM public.bench_tenants WHERE n = :t)
 GROUP BY c.business_name ORDER BY billed DESC LIMIT 20;
COMMIT;
EOF2

tps() { bench_tps -M prepared -c 1 "$@" "$db"; }
echo "# per-tenant report query, pgbench 1 client, prepared, ${BENCH_SECONDS}s each, best of 2 alternating runs"
best_rls=0; best_exp=0
for round in 1 2; do
    r=$(tps -U "$app" -f "$work/rls.pgbench"); e=$(tps -f "$work/explicit.pgbench")
    best_rls=$(awk -v a="$best_rls" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
    best_exp=$(awk -v a="$best_exp" -v b="$e" 'BEGIN { print (b > a ? b : a) }')
done
printf 'application role, RLS (tenant from set_tenant)  %10.1f tps\n' "$best_rls"
printf 'superuser, explicit organization_id filters     %10.1f tps\n' "$best_exp"
awk -v r="$best_rls" -v e="$best_exp" 'BEGIN { if (r <= 0 || e <= 0) exit 1; printf "RLS time / explicit time                        %10.2fx\n", e / r }'
