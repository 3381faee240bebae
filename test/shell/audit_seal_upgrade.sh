#!/usr/bin/env bash
# test/shell/audit_seal_upgrade.sh -- seals made by 0.7.0, whose entry hash
# was a SQL function, verify after the upgrade to the current version, whose
# entry hash is written in C (src/audit_seal.c): an application role writes
# INSERT, UPDATE, DELETE and TRUNCATE entries of two tenants, with an actor
# and an application name in quotes and Unicode; 0.7.0 seals them; after
# ALTER EXTENSION UPDATE audit_verify() reports nothing, new entries are
# sealed and verified, and an entry a superuser changes is reported as
# modified.  Needs PGHOST/PGPORT/PGUSER of a running server.  Exits non-zero
# on failure.
set -euo pipefail
db=tc_seal_upgrade_$$
app=tc_seal_upgrade_app_$$
trap 'dropdb --if-exists "$db" 2>/dev/null; psql -Xq -c "DROP ROLE IF EXISTS $app" 2>/dev/null' EXIT
createdb "$db"
psql -Xq -v ON_ERROR_STOP=1 -c "CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"; }

q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tenantcore VERSION '0.7.0' CASCADE;
SELECT tenantcore.grant_app_role('$app');
CREATE SCHEMA s;
GRANT USAGE ON SCHEMA s TO $app;
CREATE TABLE s.items (id int, organization_id uuid NOT NULL, name text, price numeric, tags text[], doc jsonb,
                      PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('s.items');
SELECT tenantcore.audit('s.items');
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON s.items TO $app;
SQL

write() {  # write <tenant> <first id>: inserts, updates and deletes as the application role
    PGAPPNAME='app "quoted" é中' psql -XAtq -v ON_ERROR_STOP=1 -U "$app" -d "$db" >/dev/null <<SQL
BEGIN;
SELECT tenantcore.set_tenant('$1');
SELECT tenantcore.set_actor('acacacac-0000-4000-8000-00000000000a');
INSERT INTO s.items (id, name, price, tags, doc)
SELECT g, E'n\\u0001"' || g, g * 1.25, ARRAY['t', NULL], jsonb_build_object('k', g, 'a', jsonb_build_array(1.50, NULL))
  FROM generate_series($2, $2 + 19) g;
UPDATE s.items SET name = name || '!', price = NULL WHERE id < $2 + 5;
DELETE FROM s.items WHERE id > $2 + 15;
COMMIT;
SQL
}
write aaaaaaaa-0000-4000-8000-00000000000a 1
write bbbbbbbb-0000-4000-8000-00000000000b 1
q -c "TRUNCATE s.items" >/dev/null

fail=0
check() {  # check <description> <expected> <got>
    if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1"; echo "  expected: $2"; echo "  got:      $3"; fail=1; fi
}
seal_all() { q -c 'SELECT count(*) FROM tenantcore.audit_seal()' -c 'SELECT count(*) FROM tenantcore.audit_seal()' >/dev/null; }
findings() { q -F ' ' -c "SELECT finding, tampered FROM tenantcore.audit_verify() ORDER BY 1" | sort | uniq -c | sed 's/^ *//'; }

seal_all
check "0.7.0 sealed every entry" "1 59" "$(q -F ' ' -c "SELECT count(*), sum(entries) FROM tenantcore.audit_seals")"
before=$(findings)

q -c "ALTER EXTENSION tenantcore UPDATE" >/dev/null
check "the extension is at the current version" \
    "$(q -c "SELECT default_version FROM pg_available_extensions WHERE name = 'tenantcore'")" \
    "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'tenantcore'")"
check "the entry hash is now written in C" "c" \
    "$(q -c "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = 'tenantcore._audit_entry_hash(tenantcore.audit_log)'::regprocedure")"
check "audit_verify() finds what it found before the upgrade" "$before" "$(findings)"
check "and no tampering" "0" "$(q -c "SELECT count(*) FROM tenantcore.audit_verify() WHERE tampered")"

write aaaaaaaa-0000-4000-8000-00000000000a 101
seal_all
check "entries written after the upgrade are sealed" "29 88" \
    "$(q -F ' ' -c "SELECT min(entries), sum(entries) FROM tenantcore.audit_seals")"
check "the seals of both versions verify" "0" "$(q -c "SELECT count(*) FROM tenantcore.audit_verify() WHERE tampered")"

tampered=$(q <<'SQL'
BEGIN;
SET LOCAL tenantcore.audit_internal = on;
UPDATE tenantcore.audit_log SET new_row = new_row || '{"price": 0}' WHERE id = (SELECT min(id) FROM tenantcore.audit_log);
SELECT string_agg(DISTINCT finding, ',') FROM tenantcore.audit_verify() WHERE tampered;
ROLLBACK;
SQL
)
check "an entry sealed by 0.7.0 and changed by a superuser is reported" "modified" "$tampered"

exit $fail
