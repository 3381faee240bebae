#!/usr/bin/env bash
# scripts/test.sh -- run the tests of tenantcore on a throwaway cluster.
#
#   bash scripts/test.sh                      everything (what CI runs)
#   bash scripts/test.sh pgtap shell          only these suites
#   bash scripts/test.sh test/pgtap/gdpr.sql  only these tests (any suite)
#
# Suites, by kind (doc/design.md, "Tests"):
#   regress     pg_regress: test/sql/*.sql against expected/*.out (make installcheck)
#   pgtap       pgTAP files run in one transaction each: test/pgtap/*.sql
#   autocommit  pgTAP files that COMMIT (procedures, pg_cron): test/pgtap/autocommit/*.sql
#   shell       shell checks test/shell/*.sh (upgrade path, dump and restore, ...)
# After the tests, the server log is checked for crashes.  Exits non-zero on any
# failure.
#
# Environment:
#   KEEP=1               leave the cluster running at the end and say where it is
#   TC_USE_CLUSTER=DIR   reuse a cluster that KEEP=1 left (no packages installed;
#                        tenantcore is rebuilt, installed and the server restarted)
#   TC_DESTDIR, TC_PORT, PG_MAJOR   see scripts/lib.sh
# The shell checks make files as the server's OS user (runuser, chown): as a
# user with sudo, run the whole suite as root.
if [ "$(id -u)" -ne 0 ] && [ "$(id -un)" != postgres ]; then
    exec sudo env "PATH=$PATH" ${TC_DESTDIR:+"TC_DESTDIR=$TC_DESTDIR"} ${TC_PORT:+"TC_PORT=$TC_PORT"} \
        ${PG_MAJOR:+"PG_MAJOR=$PG_MAJOR"} ${KEEP:+"KEEP=$KEEP"} ${TC_USE_CLUSTER:+"TC_USE_CLUSTER=$TC_USE_CLUSTER"} \
        bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
T=$TC_ROOT/test

# what to run: suites and single tests from the arguments (default: all suites)
suites=(); tests=()
for arg in "$@"; do
    case "$arg" in
        regress|pgtap|autocommit|shell) suites+=("$arg") ;;
        *)  path=$arg
            [ -f "$path" ] || path=$TC_ROOT/$arg
            [ -f "$path" ] || { echo "test.sh: no suite or test file '$arg'" >&2; exit 2; }
            tests+=("$(cd "$(dirname "$path")" && pwd)/$(basename "$path")") ;;
    esac
done
[ $# -gt 0 ] || suites=(regress pgtap autocommit shell)

# the suite a test file belongs to, from its directory
suite_of() {
    case "$1" in
        "$T"/sql/*.sql) echo regress ;;
        "$T"/pgtap/autocommit/*.sql) echo autocommit ;;
        "$T"/pgtap/*.sql) echo pgtap ;;
        "$T"/shell/*.sh) echo shell ;;
        *) echo "test.sh: $1 is not a test (test/sql, test/pgtap, test/pgtap/autocommit, test/shell)" >&2; return 2 ;;
    esac
}
for t in "${tests[@]}"; do suite_of "$t" >/dev/null || exit 2; done

# the files of a suite, or of the single tests that belong to it
files_of() {
    local suite=$1 f
    if [[ " ${suites[*]} " != *" $suite "* ]]; then
        for f in "${tests[@]}"; do [ "$(suite_of "$f")" = "$suite" ] && echo "$f"; done
        return 0
    fi
    case "$suite" in
        regress) ls "$T"/sql/*.sql ;;
        pgtap) ls "$T"/pgtap/*.sql ;;
        autocommit) ls "$T"/pgtap/autocommit/*.sql 2>/dev/null || true ;;
        shell) ls "$T"/shell/*.sh ;;
    esac
}

if [ -n "${TC_USE_CLUSTER:-}" ]; then
    tc_build_install
    tc_cluster_reuse "$TC_USE_CLUSTER"
else
    tc_install_packages
    tc_build_install
    # prepared transactions for test/shell/audit_export_settled.sh
    tc_cluster_start "max_prepared_transactions = 10"
    if [ "${KEEP:-0}" = 1 ]; then trap - EXIT; fi
fi

passed=0; failed=0
record() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

mapfile -t files < <(files_of regress)
if [ ${#files[@]} -gt 0 ]; then
    log "pg_regress"
    names=(); for f in "${files[@]}"; do names+=("$(basename "$f" .sql)"); done
    rc=0
    make -C "$TC_ROOT" -s installcheck REGRESS="${names[*]}" || rc=$?
    [ $rc -eq 0 ] || head -200 "$TC_ROOT/test/regression.diffs" 2>/dev/null || true
    record $rc
fi

mapfile -t files < <(files_of pgtap)
if [ ${#files[@]} -gt 0 ]; then
    log "pgTAP"
    dropdb --if-exists tenantcore_tap
    createdb tenantcore_tap
    psql -X -q -v ON_ERROR_STOP=1 -d tenantcore_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION tenantcore CASCADE'
    rc=0
    pg_prove -d tenantcore_tap --failures "${files[@]}" || rc=$?
    record $rc
fi

mapfile -t files < <(files_of autocommit)
if [ ${#files[@]} -gt 0 ]; then
    # tests that COMMIT (procedures, pg_cron) run one by one in autocommit mode
    log "pgTAP, autocommit"
    rc=0
    pg_prove -d postgres --failures "${files[@]}" || rc=$?
    record $rc
fi

mapfile -t files < <(files_of shell)
for check in "${files[@]}"; do
    log "$(basename "$check")"
    rc=0
    "$check" || rc=$?
    record $rc
done

# no backend crashed during any suite: the cluster's server log (see
# tc_cluster_start) must have no crash line
log "server log crash check"
rc=0
if grep -En 'terminated by signal|PANIC|server process .* was terminated' "$TC_CLUSTER/server.log"; then
    echo "the server log of the test cluster shows a crash (lines above)" >&2
    rc=1
fi
record $rc

if [ "${KEEP:-0}" = 1 ] || [ -n "${TC_USE_CLUSTER:-}" ]; then
    log "cluster kept: ${TC_DESTDIR:+TC_DESTDIR=$TC_DESTDIR }TC_USE_CLUSTER=$TC_CLUSTER bash scripts/test.sh <suite|test> runs on it again;" \
        "psql -h $PGHOST -p $PGPORT -U postgres; stop: runuser -u postgres -- $(tc_bindir)/pg_ctl -D $TC_CLUSTER/data stop"
fi
echo
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
