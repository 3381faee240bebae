#!/usr/bin/env bash
# bench/citus/run.sh -- tenantcore on a Citus cluster (a coordinator and two
# workers on this machine, started here with scripts/citus.sh), measured in
# one run through the coordinator, as the non-superuser role bench_app:
#  1. a per-tenant count(*) and a 50-row page of one tenant's rows (100 tenants,
#     1,000 rows each, distributed by organization_id): under the tenant policy
#     (isolate(); tenant set with set_tenant() in the transaction, so it reaches
#     the worker) vs. the same query on a copy of the table without row level
#     security; both filter on organization_id, so Citus routes each query to
#     the tenant's worker.  Target: policy / plain <= 1.10.
#  2. single-row INSERT tps under the policy, and with tenantcore.audit() on a
#     copy (the log distributed with the tenants by distribute_audit_log(): each
#     entry is written on the worker, into the log's shard co-located with the
#     row's); a run where audit() refuses prints why.
# Each pair runs mixed in one pgbench run (every transaction picks one of the
# two scripts at random, so load from elsewhere hits both alike); figures are
# medians over the rounds.  bench/run.sh's single-node cluster is not used.
#
# Environment (bench/lib.sh): BENCH_ROUNDS (default 5), BENCH_SECONDS (default 6).
# Needs Citus (installed, or its source tarball, see scripts/citus.sh); prints
# SKIP and succeeds without it.
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../lib.sh"
bench_defaults 5 6 - -
. "$TC_ROOT/scripts/lib.sh"
. "$TC_ROOT/scripts/citus.sh"

rc=0
tc_citus_ensure || rc=$?
if [ $rc -eq 2 ]; then exit 0; fi
[ $rc -eq 0 ] || exit $rc
TC_CITUS_PORT=${TC_CITUS_PORT:-$(( ${PGPORT:-56800} - 29980 ))}   # below the ephemeral ports (scripts/citus.sh)
tc_citus_cluster_start
PGBENCH=$(tc_bindir)/pgbench
APP=bench_app

psql -X -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE ROLE bench_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('bench_app');
CREATE SCHEMA bench;
GRANT USAGE ON SCHEMA bench TO bench_app;
CREATE TABLE bench.items_tc (organization_id uuid NOT NULL, id bigint NOT NULL, amount int NOT NULL,
                             created_at timestamptz NOT NULL, note text, PRIMARY KEY (organization_id, id));
CREATE TABLE bench.items_plain (LIKE bench.items_tc INCLUDING ALL);
CREATE INDEX ON bench.items_tc (organization_id, created_at);
CREATE INDEX ON bench.items_plain (organization_id, created_at);
-- isolate() before distributing: Citus refuses ALTER TABLE of a distribution
-- column's default afterwards
SELECT tenantcore.isolate('bench.items_tc');
SELECT create_distributed_table('bench.items_tc', 'organization_id');
SELECT create_distributed_table('bench.items_plain', 'organization_id', colocate_with => 'bench.items_tc');
INSERT INTO bench.items_tc
SELECT md5(t::text)::uuid, i, (t * i) % 1000, now() - make_interval(mins => i), 'row ' || i
  FROM generate_series(1, 100) t, generate_series(1, 1000) i;
INSERT INTO bench.items_plain SELECT * FROM bench.items_tc;
CREATE TABLE bench.writes_tc (organization_id uuid NOT NULL, id bigserial, amount int NOT NULL,
                              PRIMARY KEY (organization_id, id));
CREATE TABLE bench.writes_audited (LIKE bench.writes_tc INCLUDING ALL);
SELECT tenantcore.isolate('bench.writes_tc');
SELECT tenantcore.isolate('bench.writes_audited');
SELECT create_distributed_table('bench.writes_tc', 'organization_id', colocate_with => 'bench.items_tc');
SELECT create_distributed_table('bench.writes_audited', 'organization_id', colocate_with => 'bench.items_tc');
GRANT SELECT ON bench.items_tc, bench.items_plain TO bench_app;
GRANT SELECT, INSERT ON bench.writes_tc, bench.writes_audited TO bench_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA bench TO bench_app;
ANALYZE;
SQL
say "citus: 2 x 100,000 rows (100 tenants) distributed over 2 workers, $(psql -XAtqc "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'bench.items_tc'::regclass") shards each"

# the checks: the policy is on every shard, a tenant sees its 1,000 rows and
# nothing of another, and the query is routed to one worker
seen=$(psql -XAtq -U "$APP" -c "BEGIN" -c "SELECT FROM tenantcore.set_tenant(md5('7')::uuid)" \
    -c "SELECT count(*) FROM bench.items_tc WHERE organization_id = md5('7')::uuid" \
    -c "SELECT count(*) FROM bench.items_tc WHERE organization_id = md5('8')::uuid" \
    -c "SELECT count(*) FROM bench.items_tc" -c "COMMIT")
[ "$(echo $seen)" = "1000 0 1000" ] || { say "ERROR: tenant 7 sees '$(echo $seen)' (expected its 1000, 0 of tenant 8, 1000 in all)"; exit 1; }
plan=$(psql -XAtq -U "$APP" -c "BEGIN" -c "SELECT FROM tenantcore.set_tenant(md5('7')::uuid)" \
    -c "EXPLAIN (COSTS OFF) SELECT count(*) FROM bench.items_tc WHERE organization_id = md5('7')::uuid" -c "COMMIT")
grep -q 'Task Count: 1' <<<"$plan" || { say "ERROR: the tenant's query is not routed to one shard:"; say "$plan"; exit 1; }
say "check: a tenant sees its 1,000 rows and none of another's; the query is routed to one shard (Task Count: 1)"

# shellcheck disable=SC2317
lat() { bench_latencies "$BENCH_SECONDS" - "" -M prepared -h 127.0.0.1 -p "$PGPORT" -U "$APP" -- "$@"; }
say "warming up ..."
lat "$DIR"/scripts/count_tc.pgbench "$DIR"/scripts/count_plain.pgbench >/dev/null

audit_error=""
if ! audit_error=$(psql -XAtq -c "SET client_min_messages = warning" \
        -c "SELECT tenantcore.distribute_audit_log('bench.items_tc')" \
        -c "SELECT tenantcore.audit('bench.writes_audited')" 2>&1); then
    audit_error=$(grep -m1 ERROR <<<"$audit_error" || echo "$audit_error")
else
    audit_error=""
fi

say "measuring: pgbench -M prepared -c 1 through the coordinator, $BENCH_ROUNDS rounds x ${BENCH_SECONDS} s per pair"
for r in $(seq 1 "$BENCH_ROUNDS"); do
    record < <(lat "$DIR"/scripts/count_tc.pgbench "$DIR"/scripts/count_plain.pgbench)
    record < <(lat "$DIR"/scripts/page_tc.pgbench "$DIR"/scripts/page_plain.pgbench)
    if [ -z "$audit_error" ]; then
        record < <(lat "$DIR"/scripts/insert_tc.pgbench "$DIR"/scripts/insert_audited.pgbench)
    else
        record < <(lat "$DIR"/scripts/insert_tc.pgbench)
    fi
    say "  round $r of $BENCH_ROUNDS done"
done

say ""
say "results (ms per transaction, median over $BENCH_ROUNDS rounds; target: policy / plain <= 1.10):"
# shellcheck disable=SC2086
for q in count page; do
    per_round=$(ratios "${q}_tc" "${q}_plain" | paste -sd' ')
    r=$(median $per_round | awk '{printf "%.2f", $1}')
    printf '  %-6s policy %8.3f   plain %8.3f   policy / plain = %s (%s; rounds: %s)\n' "$q" \
        "$(median ${runs[${q}_tc]})" "$(median ${runs[${q}_plain]})" "$r" \
        "$(awk -v r="$r" 'BEGIN{print (r <= 1.10 ? "meets target" : "ABOVE TARGET")}')" "$per_round"
done
# shellcheck disable=SC2086
printf '  single-row INSERT under the policy: %.3f ms (%.0f tps for one client)\n' \
    "$(median ${runs[insert_tc]})" "$(awk -v l="$(median ${runs[insert_tc]})" 'BEGIN{print 1000 / l}')"
if [ -z "$audit_error" ]; then
    # shellcheck disable=SC2086
    say "  audited single-row INSERT: $(median ${runs[insert_audited]}) ms; tps audited / not audited = $(median $(ratios insert_tc insert_audited) | awk '{printf "%.2f", $1}')"
else
    say "  audited single-row INSERT: not measured, audit() refuses a distributed table here: ${audit_error#ERROR:  }"
fi
tc_citus_crash_check
