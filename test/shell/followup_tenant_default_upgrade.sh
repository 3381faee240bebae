#!/usr/bin/env bash
# test/shell/followup_tenant_default_upgrade.sh -- the 0.7.0 upgrade gives tables
# isolated before it (a user table, its partitions, a table of an isolated
# schema, the core tables) the tenant column default _tenant_default(), so an
# INSERT without a tenant says "no tenant is set" instead of PostgreSQL's bare
# row level security error; a default the DBA changed is left alone, and
# unisolate() drops the new default.  Needs PGHOST/PGPORT/PGUSER of a running
# server with tenantcore installed.
set -euo pipefail
db=tc_fu_default_upgrade_$$
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"; }
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; }
trap cleanup EXIT

fail=0
check() {  # check <description> <expected> <actual>
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fail=1; fi
}
defaults() {
    q -c "SELECT string_agg(c.relname || '=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-'), ' ' ORDER BY c.relname)
            FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id'
            LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
           WHERE c.relnamespace = 'app'::regnamespace AND c.relkind IN ('r', 'p')"
}
insert_error() {  # the SQLSTATE and message of an INSERT without a tenant into $1
    q -c "DO \$\$ BEGIN
            PERFORM tenantcore.clear_tenant();
            INSERT INTO $1 (id) VALUES (1);
            RAISE NOTICE 'inserted';
          EXCEPTION WHEN OTHERS THEN RAISE NOTICE '% %', SQLSTATE, SQLERRM;
          END \$\$" 2>&1 | sed 's/^NOTICE: *//'
}

createdb "$db"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION tenantcore VERSION '0.6.0' CASCADE"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA app;
CREATE TABLE app.orders (organization_id uuid NOT NULL, id int, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('app.orders');
CREATE TABLE app.events (organization_id uuid NOT NULL, id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE app.events_2026 PARTITION OF app.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT tenantcore.isolate('app.events');
CREATE TABLE app.custom (organization_id uuid NOT NULL, id int);
SELECT tenantcore.isolate('app.custom');
ALTER TABLE app.custom ALTER COLUMN organization_id SET DEFAULT '00000000-0000-4000-8000-000000000001';
SQL
check "0.6.0: isolate() set current_tenant()" \
    "custom='00000000-0000-4000-8000-000000000001'::uuid events=tenantcore.current_tenant() events_2026=tenantcore.current_tenant() orders=tenantcore.current_tenant()" \
    "$(defaults)"
# (as the superuser, who bypasses row level security: the NOT NULL constraint;
# an application role got the policy's 42501, see test/pgtap/rls_app_role.sql)
check "0.6.0: an INSERT without a tenant gets NULL" \
    '23502 null value in column "organization_id" of relation "orders" violates not-null constraint' "$(insert_error app.orders)"

q -c "ALTER EXTENSION tenantcore UPDATE TO '0.7.0'"
check "0.7.0: the tables isolate() made get _tenant_default(), a changed default stays" \
    "custom='00000000-0000-4000-8000-000000000001'::uuid events=tenantcore._tenant_default() events_2026=tenantcore._tenant_default() orders=tenantcore._tenant_default()" \
    "$(defaults)"
check "0.7.0: an INSERT without a tenant says so" "42501 no tenant is set" "$(insert_error app.orders)"
check "0.7.0: also through the partitioned table" "42501 no tenant is set" "$(insert_error app.events)"
check "0.7.0: the core tables too" \
    "0" "$(q -c "SELECT count(*) FROM tenantcore.isolated_tables t
                   JOIN pg_attribute a ON a.attrelid = t.rel AND a.attname = t.tenant_column
                   JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE pg_get_expr(d.adbin, d.adrelid) LIKE '%current_tenant()%'")"
check "0.7.0: with a tenant the default is the tenant" "t" \
    "$(q -c "BEGIN" -c "SELECT tenantcore.set_tenant('00000000-0000-4000-8000-0000000000aa') IS NULL" \
         -c "INSERT INTO app.orders (id) VALUES (1) RETURNING organization_id = '00000000-0000-4000-8000-0000000000aa'" -c "ROLLBACK" | sed -n 2p)"
q -c "SELECT tenantcore.unisolate('app.orders')" >/dev/null
check "unisolate() drops the new default" "-" \
    "$(q -c "SELECT coalesce(pg_get_expr(d.adbin, d.adrelid), '-') FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = 'app.orders'::regclass AND a.attname = 'organization_id'")"
exit $fail
