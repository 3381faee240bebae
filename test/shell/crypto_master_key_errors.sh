#!/usr/bin/env bash
# test/shell/crypto_master_key_errors.sh -- the master key configuration errors of
# PII encryption: no key, a malformed key from tenantcore.master_key_command,
# a failing command, a well-formed key that did not wrap the stored keys, a
# missing key file; and that the configured key works again afterwards.
# These need ALTER SYSTEM, so they run on a throwaway cluster of their own:
# make installcheck (which a DBA may run on a real server) never changes the
# server's settings.
. "$(dirname "$0")/../../scripts/lib.sh"
tc_cluster_start >/dev/null 2>&1
T=0f000000-0000-4000-8000-0000000000e1

q() { psql -XAtq -v ON_ERROR_STOP=1 "$@"; }
reload() { q -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.5; }
fail=0; n=0
expect() {  # expect <description> <statement> <expected text of the error, or of the result>
    local out
    out=$(psql -XAtq -c "$2" 2>&1 || true)
    n=$((n + 1))
    if [[ "$out" == *"$3"* ]]; then echo "ok $n - $1"; else echo "not ok $n - $1: $out"; fail=1; fi
}

# no pg_regress input changes server settings (0.6.0's test/sql/crypto.sql did)
n=$((n + 1))
if grep -lE '^[^-]*ALTER SYSTEM' "$TC_ROOT"/test/sql/*.sql; then
    echo "not ok $n - a pg_regress input (make installcheck) uses ALTER SYSTEM"; fail=1
else
    echo "ok $n - no pg_regress input (make installcheck) uses ALTER SYSTEM"
fi

q -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION tenantcore CASCADE' >/dev/null
cipher=$(q -c "SELECT tenantcore.encrypt_pii('alice@example.com', '$T')")

q -c "ALTER SYSTEM SET tenantcore.master_key_file = ''" && reload
expect "no key configured" "SELECT tenantcore.encrypt_pii('x', '$T')" \
    "ERROR:  no tenantcore master key is configured"
expect "no key configured: the hint says how to make one" "SELECT tenantcore.encrypt_pii('x', '$T')" \
    "set tenantcore.master_key_file to its path in postgresql.conf and reload"
q -c "ALTER SYSTEM SET tenantcore.master_key_command = 'echo not-a-key'" && reload
expect "a malformed key from the command" "SELECT tenantcore.encrypt_pii('x', '$T')" \
    "ERROR:  the master key from tenantcore.master_key_command is malformed"
q -c "ALTER SYSTEM SET tenantcore.master_key_command = 'exit 3'" && reload
expect "a failing command" "SELECT tenantcore.encrypt_pii('x', '$T')" \
    "ERROR:  tenantcore.master_key_command failed: child process exited with exit code 3"
q -c "ALTER SYSTEM SET tenantcore.master_key_command = 'echo 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'" && reload
expect "another well-formed key cannot unwrap the stored keys" "SELECT tenantcore.encrypt_pii('x', '$T')" \
    "ERROR:  data key version 1 of tenant $T is wrapped by a master key that is not configured"
q -c "ALTER SYSTEM SET tenantcore.master_key_file = '/nonexistent/master.key'" \
  -c "ALTER SYSTEM RESET tenantcore.master_key_command" && reload
expect "a missing key file" "SELECT tenantcore.encrypt_pii('x', '$T')" \
    'ERROR:  could not open master key file "/nonexistent/master.key": No such file or directory'
q -c "ALTER SYSTEM RESET tenantcore.master_key_file" && reload
expect "the configured key works again" "SELECT tenantcore.decrypt_pii('$cipher'::bytea, '$T')" "alice@example.com"

echo "1..$n"
exit $fail
