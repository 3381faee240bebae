#!/usr/bin/env bash
# test/shell/crash_c_functions.sh -- no C function of tenantcore crashes the server.
#
# Runs every case of test/shell/crash_c_functions.sql in its own session and, after
# each, checks that the postmaster is the same (pg_postmaster_start_time()
# unchanged), that the session did not lose its connection and that the
# server log got no "terminated by signal", "PANIC" or "server process ...
# was terminated" line.  Does not stop at the first crash: waits for the
# server to accept connections again and goes on, then reports every failing
# case.  Also fails when a C function of the extension is called by no case.
# Needs PGHOST/PGPORT/PGUSER of a running cluster (scripts/test.sh); the
# server log is $PGHOST/../server.log (see tc_cluster_start in scripts/lib.sh),
# or SERVER_LOG.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cases_file="$here/crash_c_functions.sql"
db="tc_crash_$$"
work=$(mktemp -d /tmp/tenantcore-crash.XXXXXX)
server_log=${SERVER_LOG:-$PGHOST/../server.log}
crash_re='terminated by signal|PANIC|server process .* was terminated'

cleanup() {
    dropdb --if-exists "$db" >/dev/null 2>&1 || true
    psql -X -q -d postgres -c 'DROP ROLE IF EXISTS crash_app, crash_owner' >/dev/null 2>&1 || true
    rm -rf "$work"
}
cleanup_roles() { psql -X -q -d postgres -c 'DROP ROLE IF EXISTS crash_app, crash_owner' >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup_roles

log_crashes() { if [ -r "$server_log" ]; then grep -Ec "$crash_re" "$server_log" || true; else echo 0; fi; }
start_time() { psql -X -At -d postgres -c 'SELECT pg_postmaster_start_time()' 2>/dev/null; }
wait_server() {
    for _ in $(seq 1 60); do psql -X -At -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0; sleep 1; done
    return 1
}

[ -r "$server_log" ] || { echo "cannot read the server log $server_log (set SERVER_LOG)" >&2; exit 1; }

# split the file: setup, then one file per case
awk -v dir="$work" '
    /^-- case: / { n++; file = sprintf("%s/case_%03d.sql", dir, n); name = substr($0, 10);
                   print name > (dir "/name_" sprintf("%03d", n)); next }
    { if (n == 0) print > (dir "/setup.sql"); else print > file }
' "$cases_file"

createdb "$db"
if ! psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$work/setup.sql" >"$work/setup.out" 2>&1; then
    cat "$work/setup.out" >&2; echo "FAILED: the setup of the crash cases" >&2; exit 1
fi

# every C function of the extension is covered by a case
missing=$(psql -X -At -d "$db" -c "
    SELECT p.proname FROM pg_proc p
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'tenantcore'
     WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
     ORDER BY 1" | while read -r fn; do
        grep -Eq "^-- covers:.*[[:space:]]$fn([[:space:]]|\$)" "$cases_file" || echo "$fn"
    done)
fail=0
if [ -n "$missing" ]; then
    echo "FAILED: C functions called by no crash case: $(echo $missing)" >&2
    fail=1
fi

before_start=$(start_time)
ncases=0; crashed=()
for case_sql in "$work"/case_*.sql; do
    n=${case_sql##*/case_}; n=${n%.sql}
    name=$(cat "$work/name_$n")
    ncases=$((ncases + 1))
    before_log=$(log_crashes)
    rc=0
    psql -X -q -v ON_ERROR_ROLLBACK=on -v VERBOSITY=terse -d "$db" \
         -c 'BEGIN' -f "$case_sql" -c 'ROLLBACK' >"$work/out_$n" 2>&1 || rc=$?
    lost=0
    grep -Eq 'server closed the connection unexpectedly|connection to server was lost|terminating connection because of crash' "$work/out_$n" && lost=1
    wait_server
    after_log=$(log_crashes)
    now_start=$(start_time)
    if [ "$lost" -eq 1 ] || [ "$rc" -eq 2 ] || [ "$after_log" != "$before_log" ] || [ "$now_start" != "$before_start" ]; then
        crashed+=("$name")
        echo "CRASH in case \"$name\" (psql exit $rc, new crash lines in the log: $((after_log - before_log)))" >&2
        grep -En "$crash_re" "$server_log" | tail -n +"$((before_log + 1))" | head -5 >&2
        tail -5 "$work/out_$n" >&2
        before_start=$now_start
    else
        echo "ok: $name"
    fi
done

echo "crash cases: $ncases run, ${#crashed[@]} crashed"
[ "${#crashed[@]}" -eq 0 ] && [ "$fail" -eq 0 ]
