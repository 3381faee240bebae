#!/usr/bin/env bash
# test/shell/preload_required.sh -- tenantcore runs only from shared_preload_libraries.
# On its own throwaway cluster (own port), started without tenantcore
# preloaded:
#   - CREATE EXTENSION fails with SQLSTATE 55000 "tenantcore must be loaded
#     via shared_preload_libraries" and the hint, and leaves nothing behind;
#   - the session that was refused has no tenantcore.* placeholders left, so
#     the value of tenantcore.master_key_command from postgresql.conf cannot
#     be shown there;
# then preloaded (the extension installs; a non-superuser cannot show the
# key command), then without preloading again, as after a DBA removed it:
# every call of a tenantcore function fails with the same error, and the
# application role cannot show the key command afterwards in that session.
# 0.6.0 loaded on first use, so CREATE EXTENSION worked and any role could
# SHOW the key command until the library loaded in its session.
# Starts and stops its own cluster; exits non-zero on failure.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

secret=tc-preload-secret-$$
TC_PRELOAD=pg_cron tc_cluster_start "tenantcore.master_key_command = 'echo $secret'" 2>/dev/null
run=(); [ "$(id -un)" = postgres ] || run=(as_root runuser -u postgres --)
# restart_with <shared_preload_libraries>: a later line of postgresql.conf wins
restart_with() {
    echo "shared_preload_libraries = '$1'" | "${run[@]}" tee -a "$TC_CLUSTER/data/postgresql.conf" >/dev/null
    "${run[@]}" "$(tc_bindir)/pg_ctl" -D "$TC_CLUSTER/data" -l "$TC_CLUSTER/server.log" -w restart >/dev/null
}

fail=0
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; fail=1; }
expect() {  # expect <description> <pattern> <output>
    if printf '%s\n' "$3" | grep -qF -- "$2"; then ok "$1"; else notok "$1"; printf '#   got: %s\n' "$3"; fi
}
refuse() {  # refuse <description> <output>: must not show the secret
    if printf '%s\n' "$2" | grep -qF -- "$secret"; then notok "$1"; printf '#   got: %s\n' "$2"; else ok "$1"; fi
}

createdb tc_preload_a
out=$(psql -X -d tc_preload_a -v VERBOSITY=verbose 2>&1 <<'SQL' || true
\set VERBOSITY verbose
CREATE EXTENSION tenantcore CASCADE;
SHOW tenantcore.master_key_command;
SQL
)
expect "without preloading, CREATE EXTENSION fails (55000)" \
    "ERROR:  55000: tenantcore must be loaded via shared_preload_libraries" "$out"
expect "with the hint" \
    "HINT:  Add tenantcore to shared_preload_libraries in postgresql.conf and restart the server." "$out"
expect "after the refusal the session has no tenantcore placeholder" \
    'unrecognized configuration parameter "tenantcore.master_key_command"' "$out"
refuse "the refused session does not show the key command" "$out"
left=$(psql -XAtq -d tc_preload_a -c "SELECT count(*) FROM pg_extension WHERE extname IN ('tenantcore', 'pgcrypto')")
[ "$left" = 0 ] && ok "the failed CREATE EXTENSION left no extension behind" || notok "extensions left: $left"

# preloaded: it installs, and only superusers may read the key settings
restart_with 'pg_cron,tenantcore'
createdb tc_preload_b
psql -Xq -v ON_ERROR_STOP=1 -d tc_preload_b >/dev/null 2>&1 <<'SQL'
CREATE EXTENSION tenantcore CASCADE;
CREATE ROLE tc_preload_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_preload_app');
SQL
ok "preloaded, CREATE EXTENSION works"
out=$(psql -X -U tc_preload_app -d tc_preload_b -c 'SHOW tenantcore.master_key_command' 2>&1 || true)
expect "preloaded, the application role may not show the key command" "must be superuser or have privileges of pg_read_all_settings" "$out"
refuse "preloaded, the application role does not see the key command" "$out"

# preloading removed again: every call fails clearly
restart_with 'pg_cron'
out=$(psql -X -U tc_preload_app -d tc_preload_b 2>&1 <<'SQL' || true
SELECT tenantcore.current_tenant();
SELECT tenantcore.set_tenant('11111111-1111-4111-8111-111111111111');
SHOW tenantcore.master_key_command;
SQL
)
n=$(printf '%s\n' "$out" | grep -c 'ERROR:  tenantcore must be loaded via shared_preload_libraries' || true)
[ "$n" = 2 ] && ok "no longer preloaded: each call fails with the error (2 of 2)" \
             || { notok "no longer preloaded: $n of 2 calls failed with the error"; printf '#   got: %s\n' "$out"; }
expect "after a refused call the application role's session has no placeholder" \
    'unrecognized configuration parameter "tenantcore.master_key_command"' "$out"
refuse "after a refused call the application role does not see the key command" "$out"

# PostgreSQL itself shows a setting no loaded library defines (a placeholder)
# to every role: a fresh session that never calls tenantcore sees the value.
# Nothing in tenantcore runs there, hence preloading is required (doc/operations.md).
out=$(psql -XAtq -U tc_preload_app -d tc_preload_b -c 'SHOW tenantcore.master_key_command' 2>&1 || true)
if printf '%s\n' "$out" | grep -qF -- "$secret"; then
    echo "# note: without preloading, a fresh session of any role shows the key command (PostgreSQL placeholder; documented)"
fi
psql -Xq -c 'DROP ROLE IF EXISTS tc_preload_app' -d postgres 2>/dev/null || true
if grep -q 'terminated by signal' "$TC_CLUSTER/server.log"; then notok "the server log reports a crash"; fi
exit $fail
