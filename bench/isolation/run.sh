#!/usr/bin/env bash
# bench/isolation/run.sh -- the cost of tenantcore's row level security.
#
# 1,000,000 rows, 1,000 tenants.  One tenant's count(*) and a 50-row page
# (ORDER BY created_at DESC LIMIT 50), each measured with pgbench as the
# non-superuser role bench_app (superusers bypass row level security) and a
# random tenant per transaction, for:
#   explicit    no RLS, WHERE organization_id = $1, same transaction shape
#   tenantcore  tenantcore.isolate(), tenant set by tenantcore.set_tenant()
#   seed        seed 004's policy through a plpgsql SECURITY DEFINER function
#   bare        no RLS, WHERE organization_id = ..., one autocommit statement
# explicit, tenantcore and bare run in the same pgbench run (-f a@1 -f b@1 -f
# c@1: each transaction picks one of the scripts at random), so load from other
# processes on the machine hits all three alike; the run is repeated and each
# figure is the median over the rounds.  Ratios are ratios of the average
# transaction times (latency) pgbench reports per script; "tps" below is
# 1000 / latency in ms, the rate of one client running only that script.
# The seed-style variant is thousands of times slower and runs on its own.
# Finally bench.time_queries() (server_side.sql) times the explicit and the
# tenantcore queries back to back inside the server, without any client
# round trip: the cost of the policy itself.
#
# Started by bench/run.sh (PGHOST, PGPORT, PGDATABASE, PGBENCH exported).
# Settings: BENCH_SECONDS per run (default 6), BENCH_ROUNDS (default 5),
# SEED_SECONDS per seed-style run (default 10), SERVER_LOOPS iterations of the
# in-server timing per round (default 4000).
set -euo pipefail

DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../lib.sh"
bench_defaults 5 6 - -
SEED_SECONDS=${SEED_SECONDS:-10}
SERVER_LOOPS=${SERVER_LOOPS:-4000}
APP=bench_app
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT

say "isolation: loading 3 x 1,000,000 rows (1,000 tenants) ..."
start=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -f "$DIR/setup.sql" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -f "$DIR/server_side.sql" >/dev/null
say "isolation: loaded in $(( $(date +%s) - start )) s"

psql -X -q -U "$APP" -v ON_ERROR_STOP=1 -f "$DIR/check.sql"

# The plans, checked: tenantcore's queries must use an index.
plans=$(psql -X -q -A -t -U "$APP" -v ON_ERROR_STOP=1 -f "$DIR/explain.sql")
section() { awk -v h="--- $1" '/^--- /{on = ($0 == h); next} on' <<<"$plans"; }
say ""
say "plans (EXPLAIN (COSTS OFF), as $APP with a tenant set):"
printf '%s\n' "$plans" | sed 's/^/    /'
bad=0
for q in count page; do
    p=$(section "$q, tenantcore:")
    if ! grep -q 'Index' <<<"$p" || grep -q 'Seq Scan' <<<"$p"; then
        say "ERROR: the tenantcore $q query is not an index scan"; bad=1
    fi
    grep -q 'Seq Scan' <<<"$(section "$q, seed-style policy:")" ||
        say "note: the seed-style $q query is not a sequential scan here"
done
[ "$bad" -eq 0 ] || exit 1

# run_pgbench SECONDS SCRIPT... runs the scripts mixed in one pgbench run and
# prints, for each script, "script latency_ms" (the whole transaction) and
# "script:query latency_ms" (the statement that reads bench.*; pgbench -r).
run_pgbench() {
    local seconds=$1 f files=(); shift
    for f in "$@"; do files+=("$DIR/scripts/$f.pgbench"); done
    bench_latencies "$seconds" query 'SELECT .*FROM bench\\.' -M prepared -U "$APP" -- "${files[@]}"
}
# tps prints 1000 / the median latency of a script.
# shellcheck disable=SC2086
tps() { awk -v l="$(median ${runs[$1]})" 'BEGIN{printf "%.1f", 1000 / l}'; }

say ""
say "warming up ..."
for q in count page; do run_pgbench 2 "${q}_explicit" "${q}_tenantcore" "${q}_bare" >/dev/null; done

say "measuring: pgbench -n -r -M prepared -c 1, $BENCH_ROUNDS rounds x ${BENCH_SECONDS} s per query (seed-style: ${SEED_SECONDS} s per query)"
for r in $(seq 1 "$BENCH_ROUNDS"); do
    for q in count page; do
        record < <(run_pgbench "$BENCH_SECONDS" "${q}_explicit" "${q}_tenantcore" "${q}_bare")
    done
    say "  round $r of $BENCH_ROUNDS done"
done
for q in count page; do
    record < <(run_pgbench "$SEED_SECONDS" "${q}_seed")
done
say "measuring inside the server: bench.time_queries(${SERVER_LOOPS}), $BENCH_ROUNDS rounds"
for r in $(seq 1 "$BENCH_ROUNDS"); do
    psql -X -q -A -t -F' ' -U "$APP" -v ON_ERROR_STOP=1 \
        -c 'BEGIN' -c "SELECT query, explicit_us, tenantcore_us FROM bench.time_queries($SERVER_LOOPS)" -c 'COMMIT' |
        while read -r q e t; do echo "${q}_explicit:server $e"; echo "${q}_tenantcore:server $t"; done > "$tmp"
    record < "$tmp"
done

say ""
say "results (transactions per second of one client = 1000 / median latency in ms; one tenant = 1,000 of 1,000,000 rows):"
printf '  %-6s %12s %12s %12s %12s\n' query explicit tenantcore seed-style bare
for q in count page; do
    printf '  %-6s %12s %12s %12s %12s\n' "$q" "$(tps "${q}_explicit")" "$(tps "${q}_tenantcore")" \
        "$(tps "${q}_seed")" "$(tps "${q}_bare")"
done
say ""
say "latency of the query statement alone (ms, median; pgbench -r):"
for q in count page; do
    # shellcheck disable=SC2086
    printf '  %-6s %12.4f %12.4f %12.1f %12.4f\n' "$q" "$(median ${runs[${q}_explicit:query]})" \
        "$(median ${runs[${q}_tenantcore:query]})" "$(median ${runs[${q}_seed:query]})" "$(median ${runs[${q}_bare:query]})"
done
say ""
say "inside the server (plpgsql loop, random tenant per iteration; microseconds per query, median):"
for q in count page; do
    # shellcheck disable=SC2086
    printf '  %-6s explicit %8.1f   tenantcore %8.1f\n' "$q" "$(median ${runs[${q}_explicit:server]})" \
        "$(median ${runs[${q}_tenantcore:server]})"
done
say ""
say "ratios (time; median over the rounds; target: tenantcore / explicit WHERE <= 1.10):"
for q in count page; do
    per_round=$(ratios "${q}_tenantcore" "${q}_explicit" | paste -sd' ')
    # shellcheck disable=SC2086
    r=$(median $per_round | awk '{printf "%.2f", $1}')
    per_round_q=$(ratios "${q}_tenantcore:query" "${q}_explicit:query" | paste -sd' ')
    # shellcheck disable=SC2086
    rq=$(median $per_round_q | awk '{printf "%.2f", $1}')
    verdict=$(awk -v r="$r" 'BEGIN{print (r <= 1.10 ? "meets target" : "ABOVE TARGET")}')
    say "  $q: tenantcore / explicit WHERE, transaction = $r ($verdict; rounds: $per_round)"
    say "  $q: tenantcore / explicit WHERE, query alone = $rq (rounds: $per_round_q)"
    per_round_s=$(ratios "${q}_tenantcore:server" "${q}_explicit:server" | paste -sd' ')
    # shellcheck disable=SC2086
    say "  $q: tenantcore / explicit WHERE, in server   = $(median $per_round_s | awk '{printf "%.2f", $1}') (rounds: $per_round_s)"
    # shellcheck disable=SC2086
    say "  $q: seed-style / tenantcore, transaction     = $(awk -v a="$(median ${runs[${q}_seed]})" -v b="$(median ${runs[${q}_tenantcore]})" 'BEGIN{printf "%.0f", a / b}')"
    # shellcheck disable=SC2046
    say "  $q: tenantcore / bare statement              = $(median $(ratios "${q}_tenantcore" "${q}_bare") | awk '{printf "%.2f", $1}') (BEGIN, set_tenant, query, COMMIT vs. one autocommit statement)"
done
