#!/usr/bin/env bash
# bench/run.sh -- run tenantcore's benchmarks on a throwaway cluster set up for
# measuring (large shared_buffers, no JIT).  Each benchmark lives in
# bench/<name>/run.sh, gets its own database and prints figures measured in
# this run only (ratios between variants, never against stored numbers).
#
# Usage: bash bench/run.sh [name...]      (default: every benchmark)
#        sudo bash bench/run.sh isolation
#        bash bench/run.sh core           (has_permission in a policy, bench/core/run.sh)
#
# A benchmark's run.sh is started with PGHOST, PGPORT, PGUSER=postgres and
# PGDATABASE=bench_<name> exported, TC_ROOT set to the repository and PGBENCH
# set to the pgbench binary.  It exits non-zero when it could not measure.
. "$(dirname "$0")/../scripts/lib.sh"

BENCH_DIR=$TC_ROOT/bench

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$BENCH_DIR"/*/run.sh; do
        [ -e "$f" ] && names+=("$(basename "$(dirname "$f")")")
    done
fi
for name in "${names[@]}"; do
    if [ ! -f "$BENCH_DIR/$name/run.sh" ]; then
        echo "unknown benchmark \"$name\"; available:" \
            "$(cd "$BENCH_DIR" && ls -d -- */ 2>/dev/null | tr -d / | tr '\n' ' ')" >&2
        exit 2
    fi
done

# Shared memory in 2 MB pages where the machine allows: with 4 kB pages every
# new backend (each timed psql statement is one) takes a page fault for each
# 4 kB of shared buffers it touches first, a cost that real, long-lived
# backends do not pay and that would be charged to whatever variant writes
# the most pages.  As root the runner reserves the pages for the run (1 GB of
# shared buffers plus the rest of shared memory) and gives them back after.
hugepages_before=""
hugepages_restore() {
    if [ -n "$hugepages_before" ]; then
        echo "$hugepages_before" > /proc/sys/vm/nr_hugepages || true
    fi
}
if [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ] \
   && [ "$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)" = 2048 ]; then
    have=$(cat /proc/sys/vm/nr_hugepages)
    if [ "$have" -lt 600 ]; then
        hugepages_before=$have
        trap hugepages_restore EXIT
        echo 600 > /proc/sys/vm/nr_hugepages || true
    fi
fi
if [ "$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)" -ge 600 ] 2>/dev/null; then
    huge_pages=on
else
    huge_pages=try
    log "fewer than 600 free 2 MB huge pages (as root the runner reserves them, if the kernel can):" \
        "shared memory in 4 kB pages, the figures then include first-touch page faults of each new backend"
fi

tc_install_packages
tc_build_install
tc_cluster_start \
    "huge_pages = $huge_pages" \
    "shared_buffers = 1GB" \
    "work_mem = 64MB" \
    "maintenance_work_mem = 512MB" \
    "max_wal_size = 8GB" \
    "checkpoint_timeout = 30min" \
    "jit = off" \
    "autovacuum = off"

trap 'tc_cluster_stop || true; hugepages_restore' EXIT

PGBENCH=$(tc_bindir)/pgbench
[ -x "$PGBENCH" ] || PGBENCH=/usr/lib/postgresql/$PG_MAJOR/bin/pgbench
export PGBENCH TC_ROOT

failed=0
for name in "${names[@]}"; do
    log "benchmark: $name"
    started=$(date +%s)
    export PGDATABASE="bench_$name"
    createdb --maintenance-db=postgres "$PGDATABASE"
    bash "$BENCH_DIR/$name/run.sh" || { echo "benchmark $name failed" >&2; failed=$((failed + 1)); }
    log "benchmark $name took $(( $(date +%s) - started )) s"
done
[ "$failed" -eq 0 ]
