#!/usr/bin/env bash
# test/shell/audit_seal_verify.sh -- tamper evidence of the audit log.  Two
# tenants write through the application role; audit_seal() seals what was
# written before its previous call; audit_verify() then finds nothing to
# report.  A superuser's tampering is reported with the exact finding, each
# in its own rolled-back transaction: an entry updated (modified), deleted
# (deleted), a forged entry inside a sealed range (inserted), the current
# month's partition dropped (partition dropped), a seal edited (seal
# altered).  Entries written after the last seal are reported as unsealed,
# not as tampering; a partition dropped by retention is not reported.  The
# seals export as JSON lines that openssl signs and verifies outside the
# database.  The application role may not seal, verify or export seals.
# Needs PGHOST/PGPORT/PGUSER of a running server.  Exits non-zero on failure.
set -euo pipefail
db=tc_seal_$$
app=tc_seal_app_$$
tmp=$(mktemp -d)
trap 'dropdb --if-exists "$db" 2>/dev/null; psql -Xq -c "DROP ROLE IF EXISTS $app" 2>/dev/null; rm -rf "$tmp"' EXIT
createdb "$db"
psql -Xq -v ON_ERROR_STOP=1 -c "CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"; }

q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
SELECT tenantcore.grant_app_role('$app');
CREATE SCHEMA s;
GRANT USAGE ON SCHEMA s TO $app;
CREATE TABLE s.items (id int, organization_id uuid NOT NULL, name text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('s.items');
SELECT tenantcore.audit('s.items');
GRANT SELECT, INSERT, UPDATE, DELETE ON s.items TO $app;
-- an old month, before the audit log's retention period (7 years)
CREATE TABLE tenantcore.audit_log_p201501 PARTITION OF tenantcore.audit_log
    FOR VALUES FROM ('2015-01-01 00:00+00') TO ('2015-02-01 00:00+00');
SELECT tenantcore._audit_prepare_partition('tenantcore.audit_log_p201501');
INSERT INTO tenantcore.audit_log (organization_id, occurred_at, relid, table_name, operation, pk, new_row)
SELECT 'aaaaaaaa-0000-4000-8000-00000000000a', '2015-01-10 12:00+00', 's.items'::regclass, 's.items', 'INSERT',
       jsonb_build_object('id', -g), jsonb_build_object('id', -g)
  FROM generate_series(1, 3) g;
SQL

write() {  # write <tenant> <first id>: 20 inserts, then an update of the tenant's rows with smaller ids, as the application role
    psql -XAtq -v ON_ERROR_STOP=1 -U "$app" -d "$db" >/dev/null <<SQL
BEGIN;
SELECT tenantcore.set_tenant('$1');
INSERT INTO s.items (id, name) SELECT g, 'n' || g FROM generate_series($2, $2 + 19) g;
UPDATE s.items SET name = name || '!' WHERE id < $2 + 5;
COMMIT;
SQL
}
write aaaaaaaa-0000-4000-8000-00000000000a 1
write bbbbbbbb-0000-4000-8000-00000000000b 1

fail=0
check() {  # check <description> <expected> <got>
    if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1"; echo "  expected: $2"; echo "  got:      $3"; fail=1; fi
}
findings() {  # findings <sql run first, in the same rolled-back transaction>
    q -F ' ' <<SQL 2>&1
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL tenantcore.audit_internal = on;
$1;
SELECT finding, tampered, expected, found, detail FROM tenantcore.audit_verify() ORDER BY 1;
ROLLBACK;
SQL
}

check "nothing to seal before the first seal point" "0" "$(q -c 'SELECT count(*) FROM tenantcore.audit_seal()')"
check "all 53 entries are unsealed" "unsealed f 53" "$(q -F ' ' -c 'SELECT finding, tampered, found FROM tenantcore.audit_verify()')"
check "the second call seals what was written before the first" "1 53 53" \
      "$(q -F ' ' -c 'SELECT seal_id, entries, last_id - first_id + 1 FROM tenantcore.audit_seal()')"
check "the seal has one segment per month" "2015-01-01 3|$(date -u +%Y-%m-01) 50" \
      "$(q -F ' ' -c "SELECT string_agg(month || ' ' || entries, '|' ORDER BY month) FROM tenantcore.audit_seal_segments")"
check "verify finds nothing after sealing" "" "$(q -c 'SELECT * FROM tenantcore.audit_verify()')"

write aaaaaaaa-0000-4000-8000-00000000000a 100
check "entries after the last seal are unsealed, not tampered" \
      "unsealed f 45 45 entries after the last seal (id > 53) are not sealed yet" \
      "$(q -F ' ' -c 'SELECT finding, tampered, found, detail FROM tenantcore.audit_verify()')"
q -c 'SELECT tenantcore.audit_seal()' >/dev/null
q -c 'SELECT tenantcore.audit_seal()' >/dev/null
check "the next seal chains to the first" "2 54 98 45 t" \
      "$(q -F ' ' -c "SELECT s.seal_id, s.first_id, s.last_id, s.entries, s.prev_hash = p.seal_hash FROM tenantcore.audit_seals s JOIN tenantcore.audit_seals p ON p.seal_id = s.seal_id - 1")"
check "verify finds nothing with two seals" "" "$(q -c 'SELECT * FROM tenantcore.audit_verify()')"

month=$(date -u +%Y-%m)
out=$(findings "UPDATE tenantcore.audit_log SET new_row = new_row || '{\"name\": \"forged\"}' WHERE id = 30")
check "an updated entry is reported as modified" "modified t 50 50 sealed entries of $month in ids 1 to 53 were changed" "$out"
out=$(findings "DELETE FROM tenantcore.audit_log WHERE id = 60")
check "a deleted entry is reported as deleted" "deleted t 45 44 1 sealed entries of $month in ids 54 to 98 are missing" "$out"
out=$(findings "INSERT INTO tenantcore.audit_log (id, organization_id, relid, table_name, operation, pk) VALUES (40, 'aaaaaaaa-0000-4000-8000-00000000000a', 's.items'::regclass, 's.items', 'DELETE', '{\"id\": 1}')")
check "a forged entry inside a sealed range is reported as inserted" \
      "inserted t 50 51 1 entries of $month in sealed ids 1 to 53 were not there when they were sealed" "$out"
out=$(findings "INSERT INTO tenantcore.audit_log (organization_id, relid, table_name, operation, pk) VALUES ('aaaaaaaa-0000-4000-8000-00000000000a', 's.items'::regclass, 's.items', 'DELETE', '{\"id\": 1}')")
check "a forged entry after the last seal is only unsealed" \
      "unsealed f  1 1 entries after the last seal (id > 98) are not sealed yet" "$out"
part=$(q -c "SELECT tenantcore._audit_partition_name(now())")
out=$(findings "DROP TABLE tenantcore.$part")
check "a partition dropped outside retention is reported" \
      "partition dropped t 50 0 partition $part was dropped at" "$(echo "$out" | head -1 | sed 's/ at .*/ at/')"
check "for each seal it held entries of" "2" "$(echo "$out" | grep -c '^partition dropped t')"
out=$(findings "ALTER TABLE tenantcore.audit_log DISABLE TRIGGER ALL; ALTER EVENT TRIGGER tenantcore_audit_seal_sql_drop DISABLE; DROP TABLE tenantcore.$part")
check "also with the event trigger disabled" "partition dropped t 50 0 partition $part is gone: its 50 sealed entries are missing" \
      "$(echo "$out" | head -1)"
out=$(findings "UPDATE tenantcore.audit_seals SET entries = entries - 1 WHERE seal_id = 1")
check "an edited seal is reported" "seal altered t   seal 1 or its segments were changed after sealing (its hashes do not chain)" "$out"
out=$(findings "DELETE FROM tenantcore.audit_seal_segments WHERE seal_id = 2; DELETE FROM tenantcore.audit_seals WHERE seal_id = 2")
check "a deleted last seal leaves its entries unsealed" "unsealed f  45 45 entries after the last seal (id > 53) are not sealed yet" "$out"

# retention: the 2015 partition goes, its segment stays as purged by retention
check "retention drops the old partition" "audit_log_p201501" \
      "$(q -c "SELECT tenantcore.audit_drop_partitions_before(now() - interval '7 years')")"
check "its segment is marked as purged by retention" "2015-01-01 3 t" \
      "$(q -F ' ' -c 'SELECT month, entries, purged_by_retention FROM tenantcore.audit_seal_segments WHERE purged_at IS NOT NULL')"
check "verify does not report a retention drop" "" "$(q -c 'SELECT * FROM tenantcore.audit_verify()')"

# export and sign outside the database
q -c 'SELECT tenantcore.audit_seals_export()' > "$tmp/seals.jsonl"
check "the export has one JSON line per seal" "2" "$(wc -l < "$tmp/seals.jsonl" | tr -d ' ')"
check "each line carries the chain hash" "t" \
      "$(q -c "SELECT bool_and(l::jsonb ->> 'seal_hash' = encode(s.seal_hash, 'hex')) FROM tenantcore.audit_seals_export() l JOIN tenantcore.audit_seals s ON s.seal_id = (l::jsonb ->> 'seal_id')::bigint")"
openssl genpkey -algorithm ed25519 -out "$tmp/key.pem" 2>/dev/null
openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem"
openssl pkeyutl -sign -inkey "$tmp/key.pem" -rawin -in "$tmp/seals.jsonl" -out "$tmp/seals.sig"
check "openssl signs the export and verifies it" "Signature Verified Successfully" \
      "$(openssl pkeyutl -verify -pubin -inkey "$tmp/pub.pem" -rawin -in "$tmp/seals.jsonl" -sigfile "$tmp/seals.sig" 2>&1 | head -1)"

# rights and bad input
for f in 'audit_seal()' 'audit_verify()' 'audit_seals_export()'; do
    check "the application role may not call $f" "ERROR:  permission denied for function ${f%%(*}" \
          "$(psql -XAtq -U "$app" -d "$db" -c "SELECT tenantcore.$f" 2>&1 | head -1)"
done
check "audit_seal() refuses repeatable read" \
      "ERROR:  audit_seal() must run at isolation level read committed, not repeatable read" \
      "$(q -c 'BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT tenantcore.audit_seal();' 2>&1 | grep ERROR | head -1)"

# audit_maintain() seals when tenantcore.audit_seal_in_maintain is on
write bbbbbbbb-0000-4000-8000-00000000000b 200
q -c "SET tenantcore.audit_seal_in_maintain = on; SELECT count(*) FROM tenantcore.audit_maintain()" >/dev/null
q -c "SET tenantcore.audit_seal_in_maintain = on; SELECT count(*) FROM tenantcore.audit_maintain()" >/dev/null
check "audit_maintain() seals with tenantcore.audit_seal_in_maintain on" "3 45" \
      "$(q -F ' ' -c 'SELECT seal_id, entries FROM tenantcore.audit_seals ORDER BY seal_id DESC LIMIT 1')"
check "the application role cannot switch the setting" "ERROR:  permission denied to set parameter \"tenantcore.audit_seal_in_maintain\"" \
      "$(psql -XAtq -U "$app" -d "$db" -c "SET tenantcore.audit_seal_in_maintain = off" 2>&1 | head -1)"
check "verify finds nothing at the end" "" "$(q -c 'SELECT * FROM tenantcore.audit_verify()')"

[ "$fail" -eq 0 ] && echo "audit seals: OK"
exit "$fail"
