#!/usr/bin/env bash
# test/shell/crypto_master_rotation.sh -- rotating the master key.
#
# Keys made under 0.4.0 (no recorded master key id) and under 0.5.0 are
# wrapped by key A.  The DBA configures key B as the master key and A as the
# previous one: everything stays readable, new keys are wrapped by B,
# rewrap_tenant_keys() moves every key to B (atomically: a rolled-back rewrap
# changes nothing), after which A is no longer needed.  A wrong configuration
# gives a clear error that shows no key material; application roles cannot
# rewrap.  Needs PGHOST/PGPORT/PGUSER of a running server; run as root or as
# the server's OS user.  Restores the settings at exit.
set -euo pipefail
T1=0f000000-0000-4000-8000-0000000000a1
T2=0f000000-0000-4000-8000-0000000000a2
T3=0f000000-0000-4000-8000-0000000000a3
db=tc_master_rotation_$$
run=(); [ "$(id -un)" = postgres ] || run=(runuser -u postgres --)
dir=$(mktemp -d /tmp/tc-rotation.XXXXXX)
chown postgres: "$dir" 2>/dev/null || true
key_a=$dir/a.key; key_b=$dir/b.key
secret_a=$(head -c32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
secret_b=$(head -c32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
"${run[@]}" sh -c "umask 077; printf '%s\n' '$secret_a' > '$key_a'; printf '%s\n' '$secret_b' > '$key_b'"
original=$(psql -XAtq -d postgres -c "SHOW tenantcore.master_key_file")

q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"; }
configure() {  # configure <master key file> <previous master key file or "">
    psql -XAtq -d postgres -c "ALTER SYSTEM SET tenantcore.master_key_file = '$1'" \
         -c "ALTER SYSTEM SET tenantcore.previous_master_key_file = '$2'" \
         -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
}
cleanup() {
    psql -XAtq -d postgres -c "ALTER SYSTEM SET tenantcore.master_key_file = '$original'" \
         -c "ALTER SYSTEM RESET tenantcore.previous_master_key_file" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
    dropdb --if-exists "$db" >/dev/null 2>&1 || true
    psql -XAtq -d postgres -c "DROP ROLE IF EXISTS tc_rot_app" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

fail=0
check() {  # check <description> <expected> <actual>
    if [[ "$3" == *"$secret_a"* || "$3" == *"$secret_b"* ]]; then
        echo "not ok - $1: key material in the output"; fail=1
    elif [ "$2" = "$3" ]; then
        echo "ok - $1"
    else
        echo "not ok - $1: expected [$2], got [$3]"; fail=1
    fi
}
status() { q -F: -c "SELECT wrapped_by, data_keys FROM tenantcore.master_key_status()" | tr '\n' ' ' | sed 's/ $//'; }

configure "$key_a" ""
createdb "$db"
# T1: a key made by 0.4.0, which records no master key id
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION tenantcore VERSION '0.4.0' CASCADE"
q -c "CREATE TABLE ct (label text PRIMARY KEY, c bytea)" \
  -c "INSERT INTO ct VALUES ('t1', tenantcore.encrypt_pii('one', '$T1'))"
q -c "ALTER EXTENSION tenantcore UPDATE"
# T2: two key versions made by 0.5.0
q -c "INSERT INTO ct VALUES ('t2v1', tenantcore.encrypt_pii('two-1', '$T2'))" \
  -c "SELECT tenantcore.rotate_tenant_key('$T2')" \
  -c "INSERT INTO ct VALUES ('t2v2', tenantcore.encrypt_pii('two-2', '$T2'))" >/dev/null
check "before the rotation: one unrecorded key and two of the current master key" \
      "current:2 current (recorded before 0.5.0):1" "$(status)"
id_a=$(q -c "SELECT tenantcore._master_key_id(false)")

readall="SELECT string_agg(tenantcore.decrypt_pii(c, CASE WHEN label = 't1' THEN '$T1'::uuid
                                                        WHEN label LIKE 't2%' THEN '$T2'::uuid
                                                        ELSE '$T3'::uuid END), ',' ORDER BY label) FROM ct"
# the rotation: B is the master key, A the previous one
configure "$key_b" "$key_a"
check "during the rotation every value is readable" "one,two-1,two-2" "$(q -c "$readall")"
q -c "INSERT INTO ct VALUES ('t3', tenantcore.encrypt_pii('three', '$T3'))"
check "a new key is wrapped by the new master key" "current:1 current (recorded before 0.5.0):1 previous:2" "$(status)"
check "the previous key's id is reported" "$id_a" "$(q -c "SELECT tenantcore._master_key_id(true)")"

# a rewrap that is rolled back changes nothing
check "a rolled-back rewrap leaves every key as it was" "current:1 current (recorded before 0.5.0):1 previous:2" \
      "$(q -c "BEGIN" -c "SELECT tenantcore.rewrap_tenant_keys()" -c "ROLLBACK" >/dev/null; status)"
# application roles cannot rewrap
psql -XAtq -d postgres -c "CREATE ROLE tc_rot_app LOGIN" >/dev/null
q -c "SELECT tenantcore.grant_app_role('tc_rot_app')" >/dev/null
out=$(psql -XAtq -d "$db" -U tc_rot_app -c "SELECT tenantcore.rewrap_tenant_keys()" 2>&1 || true)
check "an application role cannot rewrap" "ERROR:  permission denied for function rewrap_tenant_keys" "$out"
out=$(psql -XAtq -d "$db" -U tc_rot_app -c "SELECT * FROM tenantcore.master_key_status()" 2>&1 || true)
check "an application role cannot read the status" "ERROR:  permission denied for function master_key_status" "$out"

check "rewrap_tenant_keys() rewraps the three old keys" "3" "$(q -c "SELECT tenantcore.rewrap_tenant_keys()")"
check "after the rewrap every key is wrapped by the new master key" "current:4" "$(status)"
check "a second rewrap has nothing to do" "0" "$(q -c "SELECT tenantcore.rewrap_tenant_keys()")"

# the old key is no longer needed
configure "$key_b" ""
check "without the previous key every value is still readable" "one,two-1,two-2,three" "$(q -c "$readall")"

# going back to the old key alone is a clear error, without key material
configure "$key_a" ""
out=$(q -c "SELECT tenantcore.decrypt_pii(c, '$T1') FROM ct WHERE label = 't1'" 2>&1 || true)
check "a data key wrapped by an unconfigured master key is a clear error" \
      "ERROR:  data key version 1 of tenant $T1 is wrapped by a master key that is not configured" \
      "$(head -1 <<<"$out")"
psql -XAtq -d postgres -c "ALTER SYSTEM SET tenantcore.previous_master_key_file = '$dir/missing.key'" \
     -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.5
out=$(q -c "SELECT tenantcore.decrypt_pii(c, '$T1') FROM ct WHERE label = 't1'" 2>&1 || true)
check "a missing previous key file is named" \
      "ERROR:  could not open master key file \"$dir/missing.key\": No such file or directory" "$(head -1 <<<"$out")"
exit $fail
