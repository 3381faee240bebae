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
# explicit and tenantcore are measured in alternating order over several
# rounds; ratios are time ratios (tps of the faster variant / tps of the other).
#
# Started by bench/run.sh (PGHOST, PGPORT, PGDATABASE, PGBENCH exported).
# Settings: BENCH_SECONDS per run (default 5), BENCH_ROUNDS (default 3),
# SEED_SECONDS per seed-style run (default 10).
set -euo pipefail

DIR=$(cd "$(dirname "$0")" && pwd)
PGBENCH=${PGBENCH:-pgbench}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
SEED_SECONDS=${SEED_SECONDS:-10}
APP=bench_app

say() { printf '%s\n' "$*"; }

say "isolation: loading 3 x 1,000,000 rows (1,000 tenants) ..."
start=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -f "$DIR/setup.sql" >/dev/null
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

# run_pgbench SCRIPT SECONDS prints the tps of one pgbench run.
run_pgbench() {
    local out
    if ! out=$("$PGBENCH" -n -M prepared -c 1 -j 1 -T "$2" -U "$APP" -f "$DIR/scripts/$1.pgbench" 2>&1); then
        printf '%s\n' "$out" >&2; return 1
    fi
    awk '/^tps = /{print $3; exit}' <<<"$out"
}

declare -A sum runs
record() { sum[$1]=$(awk -v a="${sum[$1]:-0}" -v b="$2" 'BEGIN{printf "%.6f", a + b}'); runs[$1]="${runs[$1]:-} $2"; }
mean() { awk -v s="${sum[$1]}" -v n="$ROUNDS" 'BEGIN{printf "%.1f", s / n}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }

say ""
say "warming up ..."
for q in count page; do
    for v in explicit tenantcore bare; do run_pgbench "${q}_$v" 2 >/dev/null; done
done

say "measuring: pgbench -n -M prepared -c 1, $ROUNDS rounds x ${SECONDS_PER_RUN} s per variant (seed-style: 1 x ${SEED_SECONDS} s)"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then order="explicit tenantcore bare"; else order="bare tenantcore explicit"; fi
    for q in count page; do
        for v in $order; do
            record "${q}_$v" "$(run_pgbench "${q}_$v" "$SECONDS_PER_RUN")"
        done
    done
    say "  round $r of $ROUNDS done"
done
declare -A seed
for q in count page; do
    seed[$q]=$(awk -v x="$(run_pgbench "${q}_seed" "$SEED_SECONDS")" 'BEGIN{printf "%.2f", x}')
done

say ""
say "results (transactions per second, mean of $ROUNDS rounds; one tenant = 1,000 of 1,000,000 rows):"
printf '  %-6s %14s %14s %14s %14s\n' query explicit tenantcore seed-style bare
for q in count page; do
    printf '  %-6s %14s %14s %14s %14s\n' "$q" "$(mean "${q}_explicit")" "$(mean "${q}_tenantcore")" \
        "${seed[$q]}" "$(mean "${q}_bare")"
done
say ""
say "ratios (time per transaction; lower is better for tenantcore):"
for q in count page; do
    e=$(mean "${q}_explicit"); t=$(mean "${q}_tenantcore"); b=$(mean "${q}_bare")
    per_round=$(paste -d' ' <(tr ' ' '\n' <<<"${runs[${q}_explicit]# }") <(tr ' ' '\n' <<<"${runs[${q}_tenantcore]# }") |
                awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2}')
    r=$(ratio "$e" "$t")
    verdict=$(awk -v r="$r" 'BEGIN{print (r <= 1.10 ? "meets target <= 1.10" : "ABOVE target 1.10")}')
    say "  $q: tenantcore / explicit WHERE = $r ($verdict; per round: $per_round)"
    say "  $q: seed-style / tenantcore     = $(ratio "$t" "${seed[$q]}")"
    say "  $q: tenantcore / bare statement = $(ratio "$b" "$t") (includes BEGIN, set_tenant and COMMIT round trips)"
done
