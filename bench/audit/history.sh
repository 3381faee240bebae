#!/usr/bin/env bash
# bench/audit/history.sh -- history() of one row as a non-owner application
# role (under the log's row-level security) and as a superuser, with ENTRIES
# entries in the log (default 700000, 1000 tenants).  0.6.0 compared the
# JSONB key, which is not leakproof, so the application role's call scanned
# the whole log; 0.7.0 looks entries up by record id (uuid, leakproof) through
# its hash index.  Run by bench/audit/run.sh, or standalone with PGHOST,
# PGPORT, PGUSER (superuser) and PGDATABASE of a database with tenantcore.
set -euo pipefail
ENTRIES=${ENTRIES:-700000}
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
q <<SQL >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP TABLE IF EXISTS hist_items;
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_hist_app') THEN
        CREATE ROLE bench_hist_app NOSUPERUSER NOBYPASSRLS;
    END IF;
END \$\$;
SELECT tenantcore.grant_app_role('bench_hist_app');
CREATE TABLE hist_items (id int, organization_id uuid NOT NULL, name text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('hist_items');
SELECT tenantcore.audit('hist_items');
GRANT SELECT ON hist_items TO bench_hist_app;
INSERT INTO hist_items SELECT g, ('00000000-0000-4000-8000-' || lpad((g % 1000)::text, 12, '0'))::uuid, 'n' || g
  FROM generate_series(1, $ENTRIES) g;
VACUUM ANALYZE tenantcore.audit_log;
SQL
tenant=00000000-0000-4000-8000-000000000007
# ms of one history() call, best of 5 (after one unmeasured call)
timed() {  # timed <role or empty>
    q -At <<SQL | sort -g | head -1
${1:+SET ROLE $1;}
\o /dev/null
SELECT tenantcore.set_tenant('$tenant', is_local => false);
SELECT count(*) FROM tenantcore.history('hist_items', '{"id": 7}');
\o
$(for i in 1 2 3 4 5; do echo "SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset
SELECT count(*) AS n FROM tenantcore.history('hist_items', '{\"id\": 7}') \\gset
SELECT round((extract(epoch FROM clock_timestamp()) - :t0) * 1000, 2);"; done)
SQL
}
app=$(timed bench_hist_app)
su=$(timed "")
plan=$(q -At -c "SET ROLE bench_hist_app" -c "SELECT tenantcore.set_tenant('$tenant', is_local => false)" \
         -c "EXPLAIN (COSTS OFF) SELECT * FROM tenantcore.audit_log l WHERE l.record_id = tenantcore.audit_record_id('hist_items', '{\"id\": 7}')" \
       | grep -c 'Index Scan using .*record_id_idx' || true)
n=$(q -At -c "SELECT count(*) FROM tenantcore.audit_log")
echo "history() of one row, $n entries in the log: application role $app ms, superuser $su ms (best of 5); index scans on record_id in the application role's plan: $plan"
q -c 'DROP TABLE hist_items' >/dev/null
