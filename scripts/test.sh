#!/usr/bin/env bash
# scripts/test.sh -- run every test of tenantcore on a throwaway cluster:
# pg_regress (make installcheck), pgTAP (pg_prove test/*.sql and
# test/procedures/*.sql) and the shell checks test/*.sh (upgrade path, dump and
# restore, ...).  Exits non-zero on any failure.
# The shell checks make files as the server's OS user (runuser, chown): as a
# user with sudo, run the whole suite as root.
if [ "$(id -u)" -ne 0 ] && [ "$(id -un)" != postgres ]; then
    exec sudo env "PATH=$PATH" ${TC_DESTDIR:+"TC_DESTDIR=$TC_DESTDIR"} ${TC_PORT:+"TC_PORT=$TC_PORT"} \
        ${PG_MAJOR:+"PG_MAJOR=$PG_MAJOR"} bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

tc_install_packages
tc_build_install
tc_cluster_start

passed=0; failed=0
record() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

log "pg_regress"
rc=0
make -C "$TC_ROOT" -s installcheck || rc=$?
[ $rc -eq 0 ] || cat "$TC_ROOT/regression.diffs" 2>/dev/null | head -200
record $rc

log "pgTAP"
createdb tenantcore_tap
psql -X -q -v ON_ERROR_STOP=1 -d tenantcore_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION tenantcore CASCADE'
rc=0
# test/crash_*.sql are the cases of test/crash_*.sh, not pgTAP files
tap_files=()
for f in "$TC_ROOT"/test/*.sql; do
    case "$(basename "$f")" in crash_*) ;; *) tap_files+=("$f") ;; esac
done
pg_prove -d tenantcore_tap --failures "${tap_files[@]}" || rc=$?
record $rc
if compgen -G "$TC_ROOT/test/procedures/*.sql" >/dev/null; then
    # tests that COMMIT (procedures, pg_cron) run one by one in autocommit mode
    rc=0
    pg_prove -d postgres --failures "$TC_ROOT"/test/procedures/*.sql || rc=$?
    record $rc
fi

# shell checks: upgrade path = fresh install, dump and restore, master key
# files, retention under concurrent writers, ...
for check in "$TC_ROOT"/test/*.sh; do
    log "$(basename "$check")"
    rc=0
    "$check" || rc=$?
    record $rc
done

# no backend crashed during any suite: the throwaway cluster's server log
# (see tc_cluster_start) must have no crash line
log "server log crash check"
rc=0
if grep -En 'terminated by signal|PANIC|server process .* was terminated' "$TC_CLUSTER/server.log"; then
    echo "the server log of the test cluster shows a crash (lines above)" >&2
    rc=1
fi
record $rc

echo
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
