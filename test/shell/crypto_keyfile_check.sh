#!/usr/bin/env bash
# test/shell/crypto_keyfile_check.sh -- tenantcore refuses a master key file that
# the server user does not own, that group or others can access, or whose
# content is not 64 hexadecimal digits, with a clear message that never shows
# the key.  Needs PGHOST/PGPORT/PGUSER of a running server and must run as
# root or as the server's OS user (postgres).  Restores the setting at exit.
set -euo pipefail
T=0f000000-0000-4000-8000-0000000000ff
run=(); [ "$(id -un)" = postgres ] || run=(runuser -u postgres --)
dir=$(mktemp -d /tmp/tc-keyfile.XXXXXX)
chown postgres: "$dir" 2>/dev/null || true
key=$dir/master.key
secret=$(head -c32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')

reload() { psql -XAtq -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.5; }
cleanup() {
    psql -XAtq -c "ALTER SYSTEM RESET tenantcore.master_key_file" \
         -c "DELETE FROM tenantcore.tenant_keys WHERE organization_id = '$T'" >/dev/null 2>&1 || true
    reload || true
    rm -rf "$dir"
}
trap cleanup EXIT

fail=0
expect() {  # expect <description> <pattern of the error, or "ok">
    local out
    out=$(psql -XAtq -c "SELECT tenantcore.key_version(tenantcore.encrypt_pii('x', '$T'))" 2>&1 || true)
    if [[ "$out" == *"$secret"* ]]; then
        echo "not ok - $1: the key appears in the message"; fail=1
    elif { [ "$2" = ok ] && [ "$out" = 1 ]; } || { [ "$2" != ok ] && [[ "$out" == *"$2"* ]]; }; then
        echo "ok - $1"
    else
        echo "not ok - $1: $out"; fail=1
    fi
}

"${run[@]}" sh -c "umask 077; printf '%s\n' '$secret' > '$key'"
psql -XAtq -c "ALTER SYSTEM SET tenantcore.master_key_file = '$key'" >/dev/null
reload
expect "a key file of the server user with mode 600 is used" ok
chmod 640 "$key"
expect "a key file readable by the group is refused" "must not be accessible by group or others"
chmod 604 "$key"
expect "a key file readable by others is refused" "must not be accessible by group or others"
chmod 600 "$key"
if [ "$(id -u)" -eq 0 ]; then
    chown root "$key"; chmod 644 "$key"   # readable, but not the server user's
    expect "a key file owned by another user is refused" "must be owned by the database server user"
    chown postgres "$key"; chmod 600 "$key"
fi
"${run[@]}" sh -c "printf '%s\n' '${secret:0:60}' > '$key'"
expect "a short key is refused" "is malformed"
"${run[@]}" sh -c "printf '%sZZ\n' '${secret:0:62}' > '$key'"
expect "a key with non-hex digits is refused" "is malformed"
"${run[@]}" sh -c "printf '%s\n' '$secret' > '$key'"
expect "the right key works again" ok
exit $fail
