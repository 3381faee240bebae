#!/usr/bin/env bash
# test/shell/restore_audit.sh -- the restore signal of the core triggers is not an
# application role's row_security = off.  An application role, logged in as
# itself, sets row_security off and changes the core tables through the core
# functions: every change is audited and its new organization gets its
# system roles (0.6.0 skipped both).  Then the superuser dumps and restores
# the database, as a custom-format archive (pg_dump -Fc | pg_restore) and as
# a plain script (pg_dump | psql): the restore adds no audit entry and no
# second set of roles, and after it the triggers work again.
# Needs PGHOST/PGPORT/PGUSER of a running server.  Exits non-zero on failure.
set -euo pipefail
src=tc_restore_src_$$
dst=tc_restore_dst_$$
dst2=tc_restore_plain_$$
app=tc_restore_app_$$
trap 'for d in "$src" "$dst" "$dst2"; do dropdb --if-exists "$d" 2>/dev/null; done; psql -Xq -c "DROP ROLE IF EXISTS $app" 2>/dev/null' EXIT
createdb "$src"; createdb "$dst"; createdb "$dst2"
psql -Xq -v ON_ERROR_STOP=1 -c "CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS"

psql -Xq -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
SELECT tenantcore.grant_app_role('$app');
INSERT INTO tenantcore.users (id, email) VALUES
    ('a3000000-0000-4000-8000-00000000000a', 'ra-ann@example.com');
SQL

# the application role's own session: session_user is the application role
psql -Xq -v ON_ERROR_STOP=1 -U "$app" -d "$src" >/dev/null <<'SQL'
SET row_security = off;
BEGIN;
SELECT tenantcore.set_actor('a3000000-0000-4000-8000-00000000000a');
SELECT set_config('ra.org', tenantcore.create_organization('RA', 'restore-ra')::text, true);
SELECT tenantcore.set_tenant(current_setting('ra.org')::uuid);
-- ben is made in the tenant's context, so the tenant may add him (0.7.0)
SELECT set_config('ra.ben', tenantcore.create_user('ra-ben@example.com')::text, true);
SELECT tenantcore.create_role('clerk', 'Clerk', '{teams.read}');
SELECT tenantcore.add_member(current_setting('ra.ben')::uuid, 'admin');
SELECT tenantcore.grant_role(current_setting('ra.ben')::uuid, 'clerk');
SELECT tenantcore.create_api_key('ci', '{teams.read}');
COMMIT;
SQL

fail=0
check() {  # check <db> <description> <sql returning t>
    local got; got=$(psql -XAtq -d "$1" -c "$3" 2>&1 | tail -1) || true
    if [ "$got" = t ]; then echo "ok - $2"; else echo "not ok - $2 (got: $got)"; fail=1; fi
}
audited="('tenantcore.organizations', 'tenantcore.roles', 'tenantcore.organization_members', 'tenantcore.user_roles', 'tenantcore.api_keys')"
check "$src" "the application role's changes with row_security off are audited, table by table" \
    "SELECT array_agg(table_name || ' ' || n ORDER BY table_name) = '{\"tenantcore.api_keys 1\",\"tenantcore.organization_members 2\",\"tenantcore.organizations 1\",\"tenantcore.roles 5\",\"tenantcore.user_roles 1\"}'
       FROM (SELECT table_name, count(*) n FROM tenantcore.audit_log WHERE table_name IN $audited AND db_user = '$app' GROUP BY 1) s"
check "$src" "its organization got its four system roles" \
    "SELECT count(*) = 4 FROM tenantcore.roles WHERE is_system"

summary="SELECT format('%s entries, %s distinct, %s roles', count(*), count(DISTINCT (txid, relid, pk, operation, new_row)),
                   (SELECT count(*) FROM tenantcore.roles)) FROM tenantcore.audit_log"
before=$(psql -XAtq -d "$src" -c "$summary")

# the superuser restores: custom format through a pipe, and a plain script
pg_dump -Fc -d "$src" | pg_restore -d "$dst" --exit-on-error
pg_dump -d "$src" | psql -Xq -v ON_ERROR_STOP=1 -d "$dst2" >/dev/null 2>&1
for d in "$dst" "$dst2"; do
    after=$(psql -XAtq -d "$d" -c "$summary")
    if [ "$after" = "$before" ]; then
        echo "ok - $d: the restore wrote no audit entry and no role of its own ($after)"
    else
        echo "not ok - $d: before the dump: $before; after the restore: $after"; fail=1
    fi
    check "$d" "$d: after the restore, a change is audited again" \
        "BEGIN; SELECT tenantcore.set_tenant(id), tenantcore.set_actor('a3000000-0000-4000-8000-00000000000a') FROM tenantcore.organizations WHERE slug = 'restore-ra';
         SELECT tenantcore.create_role('auditor', 'Auditor', '{teams.read}');
         SELECT count(*) = 1 FROM tenantcore.audit_log WHERE table_name = 'tenantcore.roles' AND new_row ->> 'key' = 'auditor'; COMMIT;"
done
exit $fail
