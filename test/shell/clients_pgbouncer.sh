#!/usr/bin/env bash
# test/shell/clients_pgbouncer.sh -- tenant isolation with real clients behind a real
# PgBouncer (Debian's, 1.18) in transaction pooling mode: node-postgres and
# psycopg 3, each 20 concurrent workers x 200 transactions across 3 tenants
# through 4 shared server connections.  Each transaction sets its worker's
# tenant, reads, inserts and updates; no row of another tenant is ever read or
# written, a transaction that sets no tenant sees nothing (or fails closed
# with missing_tenant = error), the warning of set_tenant() outside a
# transaction reaches the client's notice handler, psycopg 3's savepoint trap
# (autocommit=False) is shown and the recommended idiom is shown safe; the
# one-message and pipeline idioms (doc/clients.md) take part, and named
# prepared statements are shown to collide behind PgBouncer 1.18 (each client's
# switch turns them off).  Finally the
# counts per tenant are checked exactly as the superuser.  The programs are in
# test/clients/.  Needs PGHOST/PGPORT/PGUSER (a superuser), node and npm (the
# npm registry for `npm ci`), pgbouncer and python3-psycopg (Debian).
set -euo pipefail
DIR=$(cd "$(dirname "$0")/../clients" && pwd)
db=tenantcore_clients
WORKERS=20 TXNS=${CLIENTS_TXNS:-200} POOL_SIZE=4
export WORKERS TXNS POOL_SIZE
. "$DIR/pgbouncer.sh"

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
cleanup() {
    tc_pgbouncer_stop
    dropdb --if-exists --force "$db" 2>/dev/null || true
    psql -X -q -d postgres -c 'DROP ROLE IF EXISTS tc_clients_app, tc_clients_strict, tc_clients_owner' 2>/dev/null || true
}
fail() { echo "not ok - $*"; exit 1; }
trap cleanup EXIT

for tool in node npm pgbouncer /usr/bin/python3; do
    command -v "$tool" >/dev/null || fail "$tool is missing (scripts/lib.sh tc_install_packages installs it)"
done
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || fail "psycopg 3 is missing (Debian package python3-psycopg)"

log_npm=$(mktemp)
if ! (cd "$DIR" && npm ci --no-audit --no-fund >"$log_npm" 2>&1); then
    cat "$log_npm"; rm -f "$log_npm"; fail "npm ci in test/clients failed"
fi
rm -f "$log_npm"

cleanup
createdb "$db"
q -f "$DIR/setup.sql" >/dev/null
tc_pgbouncer_start "$POOL_SIZE" "$db" tc_clients_app tc_clients_strict
export PGBOUNCER_PORT=$TC_PGBOUNCER_PORT PGDATABASE=$db
echo "# pgbouncer $(pgbouncer --version | head -1 | awk '{print $2}') on 127.0.0.1:$PGBOUNCER_PORT, pool_mode = transaction, default_pool_size = $POOL_SIZE"

rc=0
TENANTS=$(q -c "SELECT json_object_agg(worker, tenant) FROM worker_tenant WHERE client = 'node'") \
    node "$DIR/node_isolation.js" || rc=1
TENANTS=$(q -c "SELECT json_object_agg(worker, tenant) FROM worker_tenant WHERE client = 'python'") \
    /usr/bin/python3 "$DIR/psycopg_isolation.py" || rc=1
[ "$rc" -eq 0 ] || fail "a client program failed (see above)"

# As the superuser (no row level security): exact counts per client and tenant.
bad=$(q <<SQL
-- every row has the tenant of the worker that wrote it
SELECT 'row of worker ' || i.client || ' ' || i.worker || ' has tenant ' || i.organization_id
  FROM app.items i JOIN worker_tenant w USING (client, worker)
 WHERE i.organization_id <> w.tenant
UNION ALL
-- each worker's counter was updated once per transaction, by that worker only
SELECT 'counter of ' || client || ' ' || worker || ' is ' || n || ', not $TXNS'
  FROM app.items WHERE kind = 'counter' AND n <> $TXNS
UNION ALL
-- each tenant has exactly the rows its workers inserted
SELECT 'tenant ' || w.tenant || ' has ' || coalesce(r.n, 0) || ' ' || w.client || ' rows, not ' || w.workers * $TXNS
  FROM (SELECT client, tenant, count(*) AS workers FROM worker_tenant GROUP BY 1, 2) w
  LEFT JOIN (SELECT client, organization_id AS tenant, count(*) AS n FROM app.items WHERE kind = 'row' GROUP BY 1, 2) r
       USING (client, tenant)
 WHERE coalesce(r.n, 0) <> w.workers * $TXNS
UNION ALL
SELECT 'unexpected rows: ' || count(*) FROM app.items i
 WHERE NOT EXISTS (SELECT FROM worker_tenant w WHERE w.client = i.client AND w.worker = i.worker)
HAVING count(*) > 0;
SQL
)
[ -z "$bad" ] || fail "counts as the superuser: $bad"
echo "ok - as the superuser: $(q -c "SELECT count(*) FROM app.items WHERE kind = 'row'") rows, each of its worker's tenant, exact per tenant; every counter = $TXNS"
