#!/usr/bin/env bash
# test/shell/dump_restore_check.sh -- dump + restore = nothing lost.
#
# Builds a database with tenantcore, an isolated table, an isolated
# partitioned table and an isolate_schema()'d schema holding rows of two
# tenants, dumps it with pg_dump -Fc, restores it with pg_restore into an
# empty database, and checks that rows per tenant, the registry, the
# policies, lint() and the extension's objects are the same, and that a table
# created after the restore in the isolated schema is isolated automatically.
# Exits non-zero on any difference.  Needs PGHOST/PGPORT/PGUSER of a running
# cluster with tenantcore installed (scripts/test.sh provides them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/tenantcore-dump.XXXXXX)
suffix=$$
src="tc_dump_src_$suffix"
dst="tc_dump_dst_$suffix"
owner="tc_dump_owner_$suffix"
app="tc_dump_app_$suffix"
A=11111111-1111-1111-1111-111111111111
B=22222222-2222-2222-2222-222222222222

. "$(dirname "$0")/../helpers/compare.sh"

cleanup() {
    dropdb --if-exists "$src" >/dev/null 2>&1 || true
    dropdb --if-exists "$dst" >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $owner" -c "DROP ROLE IF EXISTS $app" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT


# what must survive, one query per aspect
snapshot() {  # snapshot DB PREFIX
    local db=$1 out=$2
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" > "$out.rows" <<SQL
SELECT format('%s %s %s', c.relname, t.organization_id, count(*))
  FROM (SELECT tableoid, organization_id FROM tc_dump.accounts
        UNION ALL SELECT tableoid, organization_id FROM tc_dump.events
        UNION ALL SELECT tableoid, organization_id FROM tc_dump_app.items
        UNION ALL SELECT tableoid, organization_id FROM tc_dump_app.late) t
  JOIN pg_class c ON c.oid = t.tableoid
 GROUP BY c.relname, t.organization_id ORDER BY 1;
SQL
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" > "$out.registry" <<'SQL'
SELECT format('table %s %s %s', rel, tenant_column, source) FROM tenantcore.isolated_tables WHERE NOT builtin ORDER BY rel::text;
SELECT format('schema %s %s', schema_name, tenant_column) FROM tenantcore.isolated_schemas ORDER BY schema_name::text;
SQL
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" > "$out.policies" <<'SQL'
SELECT format('%s rls=%s force=%s policy=%s %s %s using=%s check=%s default=%s', c.oid::regclass,
              c.relrowsecurity, c.relforcerowsecurity, p.polname, p.polpermissive, p.polcmd,
              pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
              (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a
                   ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                WHERE d.adrelid = c.oid AND a.attname = 'organization_id'))
  FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE c.relnamespace IN ('tc_dump'::regnamespace, 'tc_dump_app'::regnamespace) AND c.relkind IN ('r', 'p')
 ORDER BY 1;
SQL
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c \
        "SELECT format('%s | %s | %s', severity, object, problem) FROM tenantcore.lint() ORDER BY 1" > "$out.lint"
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" -f "$here/../helpers/describe_extension.sql" > "$out.extension"
    # the application role's view of tenant A
    psql -X -At -v ON_ERROR_STOP=1 -d "$db" > "$out.tenant_a" <<SQL
BEGIN;
SET LOCAL ROLE $app;
SELECT tenantcore.set_tenant('$A');
SELECT 'accounts', id FROM tc_dump.accounts ORDER BY id;
SELECT 'events', id FROM tc_dump.events ORDER BY id;
SELECT 'events_2026', id FROM tc_dump.events_2026 ORDER BY id;
SELECT 'items', id FROM tc_dump_app.items ORDER BY id;
COMMIT;
SQL
}

echo "building $src"
createdb "$src"
psql_q -d "$src" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE ROLE $owner NOLOGIN;
CREATE ROLE $app NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
GRANT USAGE ON SCHEMA tenantcore TO $owner;
CREATE SCHEMA tc_dump AUTHORIZATION $owner;
CREATE SCHEMA tc_dump_app AUTHORIZATION $owner;
GRANT USAGE ON SCHEMA tc_dump, tc_dump_app TO $app;
ALTER DEFAULT PRIVILEGES FOR ROLE $owner GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $app;
SET ROLE $owner;
CREATE TABLE tc_dump.accounts (id int PRIMARY KEY, organization_id uuid NOT NULL, name text);
SELECT tenantcore.isolate('tc_dump.accounts');
CREATE TABLE tc_dump.events (id int, organization_id uuid NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE tc_dump.events_2025 PARTITION OF tc_dump.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT tenantcore.isolate('tc_dump.events');
CREATE TABLE tc_dump.events_2026 PARTITION OF tc_dump.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE tc_dump_app.items (id int, organization_id uuid);
SELECT count(*) FROM tenantcore.isolate_schema('tc_dump_app');
CREATE TABLE tc_dump_app.late (id int, organization_id uuid);
RESET ROLE;
INSERT INTO tc_dump.accounts SELECT g, CASE WHEN g % 3 = 0 THEN '$B'::uuid ELSE '$A'::uuid END, 'n' || g
  FROM generate_series(1, 30) g;
INSERT INTO tc_dump.events SELECT g, CASE WHEN g % 2 = 0 THEN '$B'::uuid ELSE '$A'::uuid END,
       date '2025-06-01' + (g * 7)
  FROM generate_series(1, 60) g;
INSERT INTO tc_dump_app.items SELECT g, CASE WHEN g % 4 = 0 THEN '$B'::uuid ELSE '$A'::uuid END FROM generate_series(1, 20) g;
INSERT INTO tc_dump_app.late VALUES (1, '$A'), (2, '$B');
SQL
snapshot "$src" "$work/before"
if [ "$(wc -l < "$work/before.registry")" -lt 7 ] || [ ! -s "$work/before.tenant_a" ]; then
    echo "dump_restore_check: the source database was not set up as expected" >&2
    cat "$work/before.registry" >&2
    exit 1
fi

echo "pg_dump -Fc $src, pg_restore into $dst"
pg_dump -Fc -f "$work/dump.pgc" "$src"
createdb "$dst"
pg_restore --exit-on-error -d "$dst" "$work/dump.pgc"
snapshot "$dst" "$work/after"

check "rows per tenant" "$work/before.rows" "$work/after.rows"
check "registry" "$work/before.registry" "$work/after.registry"
check "policies" "$work/before.policies" "$work/after.policies"
check "lint" "$work/before.lint" "$work/after.lint"
check "extension objects" "$work/before.extension" "$work/after.extension"
check "tenant A as the application role" "$work/before.tenant_a" "$work/after.tenant_a"

# the event trigger still works after the restore
psql_q -d "$dst" <<SQL
SET ROLE $owner;
CREATE TABLE tc_dump_app.after_restore (id int, organization_id uuid);
CREATE TABLE tc_dump.events_2027 PARTITION OF tc_dump.events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
SQL
got=$(psql -X -At -v ON_ERROR_STOP=1 -d "$dst" -c "
    SELECT string_agg(format('%s:%s:%s', t.source, c.relrowsecurity AND c.relforcerowsecurity,
                             EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenantcore_isolation')),
                      ',' ORDER BY c.relname)
      FROM pg_class c LEFT JOIN tenantcore.isolated_tables t ON t.rel = c.oid
     WHERE c.oid IN ('tc_dump_app.after_restore'::regclass, 'tc_dump.events_2027'::regclass)")
if [ "$got" = "schema:t:t,partition:t:t" ]; then
    echo "ok: tables created after the restore are isolated automatically"
else
    echo "FAILED: tables created after the restore: $got (want schema:t:t,partition:t:t)" >&2
    fail=1
fi

if [ $fail -ne 0 ]; then
    echo "dump_restore_check: FAILED" >&2
    exit 1
fi
echo "dump + restore = nothing lost: OK"
