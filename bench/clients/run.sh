#!/usr/bin/env bash
# bench/clients/run.sh -- the cost of sending the tenant, through PgBouncer.
#
# 100,000 rows, 100 tenants.  One indexed SELECT of one row (by primary key),
# as the non-superuser role bench_app through a private PgBouncer (transaction
# pooling, test/clients/pgbouncer.sh) on 127.0.0.1, one client.  The whole
# tenantcore transaction is compared with the same SELECT with an explicit
# filter (WHERE organization_id = $1 AND id = $2 on a table without row level
# security, one statement, one round trip), for each way of sending the tenant:
#   naive              BEGIN; set_tenant; SELECT; COMMIT as 4 statements (4 round trips)
#   one_message        set_tenant(...); SELECT in one simple-protocol message (1 round trip)
#   one_message_begin  BEGIN; set_tenant(...); SELECT; COMMIT in one message (1 round trip)
#   pipeline           BEGIN; set_tenant($1); SELECT; COMMIT pipelined, extended protocol (1 round trip)
#   pipeline_set_config  the same with set_config('tenantcore.tenant_id', $1, true)
#   pipeline_implicit  set_config(..., true); SELECT pipelined without BEGIN/COMMIT (1 round trip)
# pgbench runs the variants of one protocol mixed (-f a@1 -f b@1 ...: each
# transaction picks a script at random, so load from other processes hits all
# alike) against the explicit baseline of the same mode (-M simple or -M
# extended); the run is repeated and each ratio is the median of the per-round
# ratios of the average latencies.  Then the same with psycopg 3 (Debian's
# python3-psycopg, bench/clients/psycopg_bench.py): the explicit query, the
# steps (`with conn.transaction()`), `with conn.pipeline(), conn.transaction()`
# (pipeline_transaction), conn.pipeline() with BEGIN and COMMIT as statements
# (pipeline) and a ClientCursor one-message, interleaved.
#
# Started by bench/run.sh (PGHOST, PGPORT, PGDATABASE, PGBENCH exported).
# Settings: BENCH_SECONDS per pgbench run (default 6), BENCH_ROUNDS (default 5),
# PSYCOPG_LOOPS transactions per variant and round (default 3000).
set -euo pipefail

DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../lib.sh"
bench_defaults 5 6 - -
PSYCOPG_LOOPS=${PSYCOPG_LOOPS:-3000}
APP=bench_app
. "$TC_ROOT/test/clients/pgbouncer.sh"
trap tc_pgbouncer_stop EXIT

say "clients: loading 2 x 100,000 rows (100 tenants) ..."
psql -X -q -v ON_ERROR_STOP=1 -f "$DIR/setup.sql" >/dev/null
tc_pgbouncer_start 2 "$PGDATABASE" "$APP"
B=(-h 127.0.0.1 -p "$TC_PGBOUNCER_PORT" -U "$APP")
say "clients: pgbouncer $(pgbouncer --version | head -1 | awk '{print $2}') on 127.0.0.1:$TC_PGBOUNCER_PORT, pool_mode = transaction"

# The checks: through the pooler each way returns the tenant's row, and
# tenantcore's SELECT is an index scan.
bq() { psql -X -q -At "${B[@]}" -v ON_ERROR_STOP=1 -c "$1" | tail -n "+$2"; }
rows="$(bq "SELECT tenantcore.set_tenant(md5('7')::uuid);
            SELECT count(*) FROM bench.items_tc WHERE id IN (6001, 7001)" 2)"
rows="$rows $(bq "BEGIN; SELECT set_config('tenantcore.tenant_id', md5('7'), true);
                  SELECT count(*) FROM bench.items_tc WHERE id IN (6001, 7001); COMMIT" 2)"
plan=$(bq "SELECT tenantcore.set_tenant(md5('7')::uuid);
           EXPLAIN (COSTS OFF) SELECT id, status, amount FROM bench.items_tc WHERE id = 6001" 2)
[ "$rows" = "1 1" ] || { say "ERROR: tenant 7 sees $rows of its rows 6001 and 7001 (expected 1 1)"; exit 1; }
if ! grep -q 'Index' <<<"$plan" || grep -q 'Seq Scan' <<<"$plan"; then
    say "ERROR: tenantcore's SELECT is not an index scan:"; say "$plan"; exit 1
fi
say "plan (as $APP, tenant set):"; sed 's/^/    /' <<<"$plan"

# run_pgbench MODE SECONDS SCRIPT... runs the scripts mixed in one pgbench run
# through the pooler and prints "script/MODE latency_ms" for each.
run_pgbench() {
    local mode=$1 seconds=$2 f files=(); shift 2
    for f in "$@"; do files+=("$DIR/scripts/$f.pgbench"); done
    bench_latencies "$seconds" - "" -M "$mode" "${B[@]}" -- "${files[@]}" | awk -v mode="$mode" '{print $1 "/" mode, $2}'
}

EXTENDED=(explicit naive pipeline pipeline_set_config pipeline_implicit)
SIMPLE=(explicit naive one_message one_message_begin)
say ""
say "warming up ..."
run_pgbench extended 2 "${EXTENDED[@]}" >/dev/null
run_pgbench simple 2 "${SIMPLE[@]}" >/dev/null
say "measuring: pgbench -n -c 1 through pgbouncer, $BENCH_ROUNDS rounds x ${BENCH_SECONDS} s per protocol mode"
for r in $(seq 1 "$BENCH_ROUNDS"); do
    record < <(run_pgbench extended "$BENCH_SECONDS" "${EXTENDED[@]}")
    record < <(run_pgbench simple "$BENCH_SECONDS" "${SIMPLE[@]}")
    say "  round $r of $BENCH_ROUNDS done"
done

psycopg=""
if /usr/bin/python3 -c 'import psycopg' 2>/dev/null; then
    say "measuring: psycopg 3 through pgbouncer, $BENCH_ROUNDS rounds x $PSYCOPG_LOOPS transactions per variant"
    psycopg=$(PGBOUNCER_PORT=$TC_PGBOUNCER_PORT ROUNDS=$BENCH_ROUNDS LOOPS=$PSYCOPG_LOOPS \
              /usr/bin/python3 "$DIR/psycopg_bench.py")
    record <<<"$psycopg"
else
    say "note: python3-psycopg is not installed, no psycopg 3 figures"
fi

say ""
say "results (average latency per transaction, ms, median over the rounds; through pgbouncer, one client):"
# shellcheck disable=SC2086
for k in explicit/extended naive/extended pipeline/extended pipeline_set_config/extended pipeline_implicit/extended \
         explicit/simple naive/simple one_message/simple one_message_begin/simple \
         explicit/psycopg naive/psycopg pipeline_transaction/psycopg pipeline/psycopg one_message/psycopg; do
    [ -n "${runs[$k]:-}" ] || continue
    printf '  %-32s %8.4f\n' "$k" "$(median ${runs[$k]})"
done
say ""
say "ratios (time; median of the per-round ratios; whole tenantcore transaction / explicit-filter statement; target of the best way <= 1.10):"
best=""
for k in naive/extended pipeline/extended pipeline_set_config/extended pipeline_implicit/extended naive/simple one_message/simple one_message_begin/simple \
         naive/psycopg pipeline_transaction/psycopg pipeline/psycopg one_message/psycopg; do
    [ -n "${runs[$k]:-}" ] || continue
    base="explicit/${k#*/}"
    per_round=$(ratios "$k" "$base" | paste -sd' ')
    # shellcheck disable=SC2086
    r=$(median $per_round | awk '{printf "%.2f", $1}')
    say "  $(printf '%-30s' "$k / $base") = $r (rounds: $per_round)"
    case $k in naive/*) ;; *) best=$(printf '%s\n%s %s\n' "$best" "$r" "$k" | sed '/^$/d' | sort -g | head -1) ;; esac
done
verdict=$(awk -v r="${best%% *}" 'BEGIN{print (r <= 1.10 ? "meets target" : "ABOVE TARGET")}')
say "  best way: ${best#* } = ${best%% *} ($verdict)"
