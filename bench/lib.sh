# bench/lib.sh -- shared by every bench/<name>/run.sh: the settings they read
# and the helpers that measure and summarise.  Source it; it runs nothing.
#
# Settings (environment), the same names in every benchmark; each benchmark
# gives its own defaults with bench_defaults and says which it reads:
#   BENCH_ROUNDS   rounds (repetitions) of each measurement; figures are the
#                  median over the rounds
#   BENCH_SECONDS  seconds of one pgbench run
#   BENCH_CLIENTS  pgbench clients of the multi-client measurements
#   BENCH_ROWS     rows of the benchmark's main table
# bench/run.sh exports PGHOST, PGPORT, PGUSER, PGDATABASE, PGBENCH, TC_ROOT.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TC_ROOT=${TC_ROOT:-$(cd "$BENCH_DIR/.." && pwd)}
PGBENCH=${PGBENCH:-$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)}

# bench_defaults ROUNDS SECONDS CLIENTS ROWS sets the settings not given in the
# environment ("-" leaves one unset).
bench_defaults() {
    [ "$1" = - ] || BENCH_ROUNDS=${BENCH_ROUNDS:-$1}
    [ "$2" = - ] || BENCH_SECONDS=${BENCH_SECONDS:-$2}
    [ "$3" = - ] || BENCH_CLIENTS=${BENCH_CLIENTS:-$3}
    [ "$4" = - ] || BENCH_ROWS=${BENCH_ROWS:-$4}
}

say() { printf '%s\n' "$*"; }

# now_ms prints the wall clock in milliseconds.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# median prints the median of its arguments (or, with none, of the numbers on
# standard input, one or more per line); the mean of the two middle values
# when there is an even number of them.
median() {
    { if [ $# -gt 0 ]; then printf '%s\n' "$@"; else tr -s ' \t' '\n\n'; fi; } | grep -v '^$' | sort -g |
        awk '{v[NR] = $1} END { if (NR == 0) exit 1; m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4f\n", m }'
}

# ratio A B prints A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'; }

# bench_tps [pgbench options...] runs pgbench -n for BENCH_SECONDS and prints
# its tps; fails (with pgbench's output) when pgbench fails or a transaction
# failed.
bench_tps() {
    local out
    if ! out=$("$PGBENCH" -n -T "$BENCH_SECONDS" "$@" 2>&1) \
       || grep -qE '^number of failed transactions: [1-9]' <<<"$out"; then
        printf '%s\n' "$out" >&2; return 1
    fi
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out"
}

# bench_latencies SECONDS TAG REGEX [pgbench options...] -- SCRIPT.pgbench...
# runs the scripts mixed in one pgbench run (-f s@1 each: every transaction
# picks one at random, so load from elsewhere hits all alike), one client,
# with per-statement latencies (-r) when REGEX is given, and prints for each script
# "<script> <latency_ms>" (the whole transaction) and, for its statement that
# matches REGEX (an awk regular expression; "" for none), "<script>:<TAG>
# <latency_ms>".  <script> is the file name without .pgbench.
bench_latencies() {
    local seconds=$1 tag=$2 regex=$3 out opts=() scripts=(); shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    for f in "$@"; do scripts+=(-f "$f@1"); done
    [ -z "$regex" ] || opts=(-r "${opts[@]}")
    if ! out=$("$PGBENCH" -n -c 1 -j 1 -T "$seconds" "${opts[@]}" "${scripts[@]}" 2>&1) \
       || grep -qE '^number of failed transactions: [1-9]' <<<"$out"; then
        printf '%s\n' "$out" >&2; return 1
    fi
    # with one script pgbench prints no "SQL script" sections
    awk -v single="$([ $# -eq 1 ] && basename "$1" .pgbench)" -v tag="$tag" -v re="$regex" '
        BEGIN { n = single }
        /^SQL script [0-9]+:/ { n = $NF; sub(/.*\//, "", n); sub(/\.pgbench$/, "", n) }
        /latency average = / && (single != "" || /^ - /) {
            x = $0; sub(/.*latency average = /, "", x); sub(/ ms.*/, "", x); print n, x }
        re != "" && /^ +[0-9.]+ +[0-9]+ / && $0 ~ re { print n ":" tag, $1 }' <<<"$out"
}

# Latencies by name over the rounds: record reads "<name> <value>" lines and
# appends each value to runs[<name>]; ratios A B prints the per-round ratios
# runs[A] / runs[B], one per line.
declare -A runs
record() { local n l; while read -r n l; do runs[$n]="${runs[$n]:-} $l"; done; }
ratios() {
    paste -d' ' <(tr ' ' '\n' <<<"${runs[$1]# }") <(tr ' ' '\n' <<<"${runs[$2]# }") | awk '{printf "%.3f\n", $1 / $2}'
}
