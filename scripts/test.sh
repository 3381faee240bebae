#!/usr/bin/env bash
# scripts/test.sh -- run every test of tenantcore on a throwaway cluster:
# pg_regress (make installcheck), pgTAP (pg_prove test/*.sql and
# test/procedures/*.sql) and the upgrade check.  Exits non-zero on any failure.
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
pg_prove -d tenantcore_tap --failures "$TC_ROOT"/test/*.sql || rc=$?
record $rc
if compgen -G "$TC_ROOT/test/procedures/*.sql" >/dev/null; then
    # tests that COMMIT (procedures, pg_cron) run one by one in autocommit mode
    rc=0
    pg_prove -d postgres --failures "$TC_ROOT"/test/procedures/*.sql || rc=$?
    record $rc
fi

log "upgrade path = fresh install"
rc=0
"$TC_ROOT/test/upgrade_check.sh" || rc=$?
record $rc

log "dump and restore"
rc=0
"$TC_ROOT/test/dump_restore_check.sh" || rc=$?
record $rc

log "audit: dump and restore"
rc=0
"$TC_ROOT/test/audit_dump_restore.sh" || rc=$?
record $rc

echo
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
