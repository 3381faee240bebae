#!/usr/bin/env bash
# test/shell/audit_seal_large_entry.sh -- sealing does not depend on how large
# an entry's rows render as JSON text (red-team review of 0.7.0, F7).  An
# application role writes, in its own tenant, one audited row of 180 MB of
# chr(1): stored compressed, but as JSON text each character is "\u0001",
# over 1 GB, which made every audit_seal() fail ("out of memory") for every
# tenant.  Now the entry hash walks the rows item by item: audit_seal() seals
# it, audit_verify() finds nothing, and still notices a change inside the big
# row.  The row hash tells apart values that JSON text would not confuse
# either (types, nesting, key and string boundaries).  And a failing
# audit_seal() no longer fails audit_maintain() as a whole: with
# tenantcore.audit_seal_in_maintain = on it still makes the monthly
# partitions and reports the seal's error as a WARNING.
# Needs PGHOST/PGPORT/PGUSER of a running server.  Exits non-zero on failure.
set -euo pipefail
db=tc_sealbig_$$
app=tc_sealbig_app_$$
tmp=$(mktemp -d)
locker=""
trap '[ -z "$locker" ] || kill "$locker" 2>/dev/null; dropdb --if-exists --force "$db" 2>/dev/null; psql -Xq -c "DROP ROLE IF EXISTS $app" 2>/dev/null; rm -rf "$tmp"' EXIT
createdb "$db"
psql -Xq -v ON_ERROR_STOP=1 -c "CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"; }

q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
SELECT tenantcore.grant_app_role('$app');
CREATE SCHEMA s;
GRANT USAGE ON SCHEMA s TO $app;
CREATE TABLE s.docs (organization_id uuid NOT NULL, id int, title text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('s.docs');
SELECT tenantcore.audit('s.docs');
GRANT SELECT, INSERT, UPDATE, DELETE ON s.docs TO $app;
SQL

fail=0
check() {  # check <description> <expected> <got>
    if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1"; echo "  expected: $2"; echo "  got:      $3"; fail=1; fi
}

psql -XAtq -v ON_ERROR_STOP=1 -U "$app" -d "$db" >/dev/null <<SQL
BEGIN;
SELECT tenantcore.set_tenant('aaaaaaaa-0000-4000-8000-00000000000a');
INSERT INTO s.docs (id, title) VALUES (1, 'small'), (1000, repeat(chr(1), 180000000));
DELETE FROM s.docs WHERE id = 1000;
COMMIT;
SQL
check "the big row's two entries are in the log" "2" \
      "$(q -c "SELECT count(*) FROM tenantcore.audit_log WHERE pk->>'id' = '1000'")"
q -c 'SELECT tenantcore.audit_seal()' >/dev/null 2>&1 || true   # the seal point
check "audit_seal() seals the entry of 180 MB of control characters" "1 3" \
      "$(q -F ' ' -c 'SELECT seal_id, entries FROM tenantcore.audit_seal()' 2>&1)"
check "audit_verify() finds nothing" "" "$(q -c 'SELECT * FROM tenantcore.audit_verify()' 2>&1)"
check "a change inside the big row is reported as modified" "modified" \
      "$(q <<'SQL' 2>&1
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL tenantcore.audit_internal = on;
UPDATE tenantcore.audit_log SET new_row = jsonb_set(new_row, '{title}', to_jsonb(repeat(chr(1), 179999999) || chr(2)))
 WHERE pk->>'id' = '1000' AND operation = 'INSERT';
SELECT finding FROM tenantcore.audit_verify();
ROLLBACK;
SQL
)"

check "the row hash tells values apart" "f f f f f f f f t" "$(q -F ' ' <<'SQL'
SELECT tenantcore._audit_jsonb_hash('{"a": "1"}') = tenantcore._audit_jsonb_hash('{"a": 1}'),
       tenantcore._audit_jsonb_hash('["ab"]') = tenantcore._audit_jsonb_hash('["a", "b"]'),
       tenantcore._audit_jsonb_hash('{"a": null}') = tenantcore._audit_jsonb_hash('{"a": "null"}'),
       tenantcore._audit_jsonb_hash('"x"') = tenantcore._audit_jsonb_hash('["x"]'),
       tenantcore._audit_jsonb_hash('{"ab": "c"}') = tenantcore._audit_jsonb_hash('{"a": "bc"}'),
       tenantcore._audit_jsonb_hash('[[1], 2]') = tenantcore._audit_jsonb_hash('[[1, 2]]'),
       tenantcore._audit_jsonb_hash('{"a": true}') = tenantcore._audit_jsonb_hash('{"a": false}'),
       tenantcore._audit_jsonb_hash('1.0') = tenantcore._audit_jsonb_hash('1'),
       tenantcore._audit_jsonb_hash('{"b": [1.50, {"c": "\u0001"}], "a": 2}')
         = tenantcore._audit_jsonb_hash(('{"b": [1.50, {"c": "\u0001"}], "a": 2}'::jsonb)::text::jsonb);
SQL
)"

# audit_maintain() with a failing seal: the seal point is locked by another
# session (audit_seal() waits for it and gives up at lock_timeout)
q -c 'SELECT tenantcore.audit_seal()' >/dev/null 2>&1 || true
PGAPPNAME=tc_sealbig_locker_$$ psql -XAtq -d "$db" -c "BEGIN; LOCK tenantcore.audit_seal_point IN EXCLUSIVE MODE; SELECT pg_sleep(30)" >/dev/null 2>&1 &
locker=$!
for _ in $(seq 1 50); do
    [ "$(q -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'audit_seal_point' AND l.granted AND l.mode = 'ExclusiveLock'")" = 1 ] && break
    sleep 0.1
done
before=$(q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'tenantcore.audit_log'::regclass")
out=$(psql -XAt -v ON_ERROR_STOP=1 -d "$db" -c "SET tenantcore.audit_seal_in_maintain = on" -c "SET lock_timeout = '200ms'" \
           -c "SELECT count(*) FROM tenantcore.audit_maintain(14)" 2>&1) || true
check "audit_maintain() makes the partitions although the seal fails" "$((before + 11))" \
      "$(q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'tenantcore.audit_log'::regclass")"
check "and reports the seal's error as a WARNING" \
      "WARNING:  audit_maintain: audit_seal() failed: canceling statement due to lock timeout" \
      "$(echo "$out" | grep WARNING | head -1)"
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tc_sealbig_locker_$$'" >/dev/null
wait "$locker" 2>/dev/null || true; locker=""

exit $fail
