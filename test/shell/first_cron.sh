#!/usr/bin/env bash
# test/shell/first_cron.sh -- schedule_retention() on a fresh install says exactly
# what is missing (issue #14): pg_cron not preloaded; preloaded but its
# extension not created in cron.database_name; called from another database
# (the hint's statements, run in the cron database, schedule the jobs).  It
# schedules audit_maintain() too, and the first install_blueprint() after the
# core schema step prints no notice about the audit log's default partition.
# Runs its own throwaway clusters (one without pg_cron).
. "$(dirname "$0")/../../scripts/lib.sh"
fail=0; n=0
check() {  # check <description> <expected text> <output>
    n=$((n + 1))
    if [[ "$3" == *"$2"* ]]; then echo "ok $n - $1"; else echo "not ok $n - $1: $3"; fail=1; fi
}
refute() {  # refute <description> <unexpected text> <output>
    n=$((n + 1))
    if [[ "$3" != *"$2"* ]]; then echo "ok $n - $1"; else echo "not ok $n - $1: $3"; fail=1; fi
}
q() { psql -XAtq -v ON_ERROR_STOP=1 "$@" 2>&1; }
export PGOPTIONS='-c client_min_messages=warning'

# 1. pg_cron not in shared_preload_libraries
tc_cluster_start "shared_preload_libraries = 'tenantcore'" >/dev/null 2>&1
q -c 'CREATE EXTENSION tenantcore CASCADE' >/dev/null
out=$(q -c 'SELECT tenantcore.schedule_retention()' || true)
check "without pg_cron preloaded: the error says so" 'ERROR:  pg_cron is not loaded' "$out"
check "without pg_cron preloaded: the hint says what to do" 'Add pg_cron to shared_preload_libraries' "$out"
tc_cluster_stop

# 2. pg_cron preloaded (cron.database_name = 'postgres'), its extension not created yet
tc_cluster_start >/dev/null 2>&1
q -c 'CREATE EXTENSION tenantcore CASCADE' >/dev/null
out=$(q -c 'SELECT tenantcore.schedule_retention()' || true)
check "pg_cron loaded, extension missing in the cron database: the error names the database" \
    'ERROR:  pg_cron is not installed in database "postgres"' "$out"
check "pg_cron loaded, extension missing: the hint is CREATE EXTENSION pg_cron" 'HINT:  Run CREATE EXTENSION pg_cron; here' "$out"
refute "pg_cron loaded: the hint does not talk about shared_preload_libraries" 'shared_preload_libraries' "$out"

# 3. called from another database
createdb app
q -d app -c 'CREATE EXTENSION tenantcore CASCADE' >/dev/null
out=$(q -d app -c 'SELECT tenantcore.schedule_retention()' || true)
check "from another database: the error names both databases" \
    'ERROR:  pg_cron runs its jobs from database "postgres", not "app"' "$out"
hint=$(psql -XAtq -d app -v VERBOSITY=verbose -c 'SELECT tenantcore.schedule_retention()' 2>&1 | sed -n 's/^HINT:  .* and run: //p' || true)
check "the hint gives the statements to run" 'cron.schedule_in_database(' "$hint"
q -c 'CREATE EXTENSION pg_cron' >/dev/null
out=$(q -c "$hint" >/dev/null && q -c "SELECT string_agg(jobname || ' ' || database || ' ' || command, '; ' ORDER BY jobname) FROM cron.job")
check "the hint's statements schedule retention for the other database" \
    "tenantcore-retention-app app CALL tenantcore.run_retention()" "$out"
check "and audit_maintain" "tenantcore-audit-maintain-app app SELECT tenantcore.audit_maintain()" "$out"

# 4. in the cron database with pg_cron: both jobs
out=$(q -c 'SELECT tenantcore.schedule_retention() > 0' \
        -c "SELECT string_agg(jobname || ' ' || schedule, '; ' ORDER BY jobname) FROM cron.job WHERE database = 'postgres'")
check "schedule_retention schedules retention" "tenantcore-retention-postgres 0 3 * * *" "$out"
check "schedule_retention schedules audit_maintain daily" "tenantcore-audit-maintain-postgres 30 0 * * *" "$out"
out=$(q -c 'SELECT tenantcore.unschedule_retention()' -c "SELECT count(*) FROM cron.job WHERE database = 'postgres'")
check "unschedule_retention removes both jobs" $'t\n0' "$out"

# 5. the README's order on a fresh database: core schema, then a blueprint -- no notice
createdb tour
q -d tour -c 'CREATE EXTENSION tenantcore CASCADE' >/dev/null
out=$(PGOPTIONS='' psql -XAtq -v ON_ERROR_STOP=1 -d tour \
        -c "SELECT tenantcore.set_actor(tenantcore.create_user('alice@example.com'), false)" \
        -c "SELECT tenantcore.create_organization('Acme', 'acme')" \
        -c "SELECT count(*) FROM tenantcore.install_blueprint('cpa', 'practice')" \
        -c "SELECT count(*) FROM tenantcore.seed_demo('practice')" 2>&1 >/dev/null || true)
refute "install_blueprint after the core schema step: no notice about the default partition" 'default partition' "$out"
refute "and no error" 'ERROR' "$out"
out=$(q -d tour -c "SELECT count(*) FROM tenantcore.audit_log_default")
check "the core schema's entries were moved out of the default partition" "0" "$out"
tc_cluster_stop

echo "1..$n"
exit $fail
