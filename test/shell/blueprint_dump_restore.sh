#!/usr/bin/env bash
# test/shell/blueprint_dump_restore.sh -- dump + restore of a populated blueprint
# database keeps every row.
#
# Installs all six blueprints, fills them with the demo organizations and,
# for the CPA blueprint, three more benchmark tenants, dumps the database with
# pg_dump -Fc and restores it with pg_restore --exit-on-error into an empty
# database.  Then checks that every table holds the same rows (a digest of
# every row, ciphertext included), that the registries of the installers and
# of the blueprints (GDPR subject columns included), the policies, triggers,
# lint() and what export_subject() returns are the same, that the
# application role reads the same decrypted tax ids, that the restored schema
# still works (an insert is encrypted and audited) and that installing a
# blueprint again into a restored schema is refused while a new one installs.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with tenantcore installed
# (scripts/test.sh provides them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/tenantcore-bp-dump.XXXXXX)
suffix=$$
src="tc_bp_dump_src_$suffix"
dst="tc_bp_dump_dst_$suffix"
app="tc_bp_dump_app_$suffix"
A=ac3e0000-0000-4000-8000-00000000000a

. "$(dirname "$0")/../helpers/compare.sh"

cleanup() {
    dropdb --if-exists "$src" >/dev/null 2>&1 || true
    dropdb --if-exists "$dst" >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $app" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT


snapshot() {  # snapshot DB PREFIX
    local db=$1 out=$2
    # rows: count and digest of the rows of every table of every blueprint schema
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" > "$out.rows" <<'SQL'
DO $$
DECLARE
    rel regclass; n bigint; digest text;
BEGIN
    CREATE TEMP TABLE snap (rel text, n bigint, digest text);
    FOR rel IN SELECT c.oid FROM pg_class c JOIN tenantcore.installed_blueprints b ON b.schema_name::regnamespace = c.relnamespace
                WHERE c.relkind = 'r' ORDER BY c.oid::regclass::text
    LOOP
        EXECUTE format('SELECT count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %s t', rel)
           INTO n, digest;
        INSERT INTO snap VALUES (rel::text, n, digest);
    END LOOP;
END
$$;
SELECT format('%s %s %s', rel, n, digest) FROM snap ORDER BY rel;
SELECT format('total %s', sum(n)) FROM snap;
SQL
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" > "$out.registry" <<'SQL'
SELECT format('blueprint %s %s %s', schema_name, blueprint, installed_by) FROM tenantcore.installed_blueprints ORDER BY 1;
SELECT format('isolated %s %s %s', rel, tenant_column, source) FROM tenantcore.isolated_tables ORDER BY 1;
SELECT format('audited %s %s %s', rel, exclude_columns, redact_columns) FROM tenantcore.audited_tables ORDER BY 1;
SELECT format('protected %s %s %s %s', rel, column_name, encrypted_column, blind_index_column) FROM tenantcore.protected_columns ORDER BY 1;
SELECT format('retained %s %s %s %s', rel, time_column, keep, action) FROM tenantcore.retention_policies ORDER BY 1;
SELECT format('subject %s %s %s %s %s', rel, subject_column, on_erase, tenant_column, builtin) FROM tenantcore.subject_tables ORDER BY 1;
SELECT format('organization %s %s', id, slug) FROM tenantcore.organizations ORDER BY 1;
SELECT format('users %s', count(*)) FROM tenantcore.users;
SELECT format('tenant keys %s', count(*)) FROM tenantcore.tenant_keys;
SELECT format('audit entries %s', count(*)) FROM tenantcore.audit_log;
SQL
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" > "$out.schema" <<'SQL'
SELECT format('%s rls=%s force=%s policies=%s', c.oid::regclass, c.relrowsecurity, c.relforcerowsecurity,
              (SELECT string_agg(polname, ',' ORDER BY polname) FROM pg_policy WHERE polrelid = c.oid))
  FROM pg_class c JOIN tenantcore.installed_blueprints b ON b.schema_name::regnamespace = c.relnamespace
 WHERE c.relkind = 'r' ORDER BY 1;
SELECT format('%s %s', tgrelid::regclass, tgname) FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid JOIN tenantcore.installed_blueprints b ON b.schema_name::regnamespace = c.relnamespace
 WHERE NOT tgisinternal ORDER BY 1;
SELECT format('%s %s', conrelid::regclass, pg_get_constraintdef(oid)) FROM pg_constraint con
  JOIN tenantcore.installed_blueprints b ON b.schema_name::regnamespace = con.connamespace ORDER BY 1;
SQL
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c \
        "SELECT format('%s | %s | %s', severity, object, problem) FROM tenantcore.lint() ORDER BY 1" > "$out.lint"
    # what export_subject returns about a demo user (rolled back: no request row)
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" > "$out.export" <<'SQL'
BEGIN;
SELECT format('%s %s', t.key, jsonb_array_length(t.value))
  FROM jsonb_each(tenantcore.export_subject('a11ce000-0000-4000-8000-000000000001') -> 'tables') t ORDER BY 1;
SELECT md5(string_agg(t.key || ' ' || e::text, E'\n' ORDER BY t.key, e::text))
  FROM jsonb_each(tenantcore.export_subject('a11ce000-0000-4000-8000-000000000001') -> 'tables') t,
       jsonb_array_elements(t.value) e;
ROLLBACK;
SQL
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" > "$out.tenant_a" <<SQL
BEGIN;
SET LOCAL ROLE $app;
SELECT tenantcore.set_tenant('$A') IS NOT NULL;
SELECT business_name, tax_id FROM bp_cpa.clients_decrypted ORDER BY business_name;
SELECT realm_id, access_token IS NOT NULL FROM bp_cpa.quickbooks_tokens_decrypted;
SELECT first_name, last_name, email, phone FROM bp_retail.customers_decrypted ORDER BY last_name;
SELECT count(*) FROM bp_projects.tasks;
COMMIT;
SQL
}

echo "building $src"
createdb "$src"
psql_q -d "$src" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE ROLE $app NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
SELECT count(*) FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp,
       tenantcore.install_blueprint(bp, 'bp_' || bp);
SELECT count(*) FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp,
       tenantcore.seed_demo('bp_' || bp);
SELECT count(*) FROM tenantcore.seed_bench('bp_cpa', 3, 20);
GRANT USAGE ON SCHEMA bp_cpa, bp_projects, bp_home_services, bp_restaurant, bp_automotive, bp_retail TO $app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bp_cpa, bp_projects, bp_home_services,
      bp_restaurant, bp_automotive, bp_retail TO $app;
SQL
snapshot "$src" "$work/before"
total=$(sed -n 's/^total //p' "$work/before.rows")
if [ "${total:-0}" -lt 1000 ] || [ "$(wc -l < "$work/before.tenant_a")" -lt 8 ] \
   || [ "$(grep -c '^subject bp_' "$work/before.registry")" -ne 32 ] \
   || ! grep -q '^bp_cpa.documents [1-9]' "$work/before.export"; then
    echo "blueprint_dump_restore: the source database was not set up as expected (total rows: ${total:-none})" >&2
    cat "$work/before.tenant_a" >&2
    exit 1
fi

echo "pg_dump -Fc $src ($total rows in blueprint tables), pg_restore into $dst"
pg_dump -Fc -f "$work/dump.pgc" "$src"
createdb "$dst"
pg_restore --exit-on-error -d "$dst" "$work/dump.pgc"
snapshot "$dst" "$work/after"

check "rows of every blueprint table" "$work/before.rows" "$work/after.rows"
check "registries" "$work/before.registry" "$work/after.registry"
check "policies, triggers, constraints" "$work/before.schema" "$work/after.schema"
check "lint" "$work/before.lint" "$work/after.lint"
check "export_subject of a demo user" "$work/before.export" "$work/after.export"
check "tenant A as the application role" "$work/before.tenant_a" "$work/after.tenant_a"

# the restored schema keeps working: an insert as the application role is
# encrypted and audited; the registry refuses a second install
got=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$dst" <<SQL
BEGIN;
SET LOCAL ROLE $app;
SELECT tenantcore.set_tenant('$A') IS NOT NULL;
INSERT INTO bp_cpa.clients (business_name, primary_contact_email, primary_contact_name, tax_id)
VALUES ('After Restore LLC', 'ar@example.com', 'AR', '77-7777777');
SELECT tax_id IS NULL AND tax_id_encrypted IS NOT NULL FROM bp_cpa.clients WHERE business_name = 'After Restore LLC';
SELECT tax_id FROM bp_cpa.clients_decrypted WHERE business_name = 'After Restore LLC';
COMMIT;
SELECT count(*) FROM tenantcore.audit_log WHERE table_name = 'bp_cpa.clients' AND new_row ->> 'business_name' = 'After Restore LLC';
SQL
)
if [ "$(echo "$got" | tr '\n' ' ')" = "t t 77-7777777 1 " ]; then
    echo "ok: an insert after the restore is encrypted and audited"
else
    echo "FAILED: insert after restore: $(echo "$got" | tr '\n' ' ')" >&2
    fail=1
fi
err=$(psql -X -At -d "$dst" -c "SELECT tenantcore.install_blueprint('cpa', 'bp_cpa')" 2>&1 || true)
if echo "$err" | grep -q 'schema bp_cpa already holds blueprint "cpa"'; then
    echo "ok: the restored registry refuses a second install"
else
    echo "FAILED: second install after restore: $err" >&2
    fail=1
fi
n=$(psql -X -At -v ON_ERROR_STOP=1 -d "$dst" -c "SELECT count(*) FROM tenantcore.install_blueprint('projects', 'bp_after')")
if [ "$n" = 4 ]; then
    echo "ok: a new blueprint installs after the restore"
else
    echo "FAILED: install after restore returned $n tables" >&2
    fail=1
fi

if [ $fail -ne 0 ]; then
    echo "blueprint_dump_restore: FAILED" >&2
    exit 1
fi
echo "blueprint dump + restore = nothing lost: OK"
