#!/usr/bin/env bash
# test/shell/citus_reference.sh -- tenantcore's row triggers on Citus
# reference tables, on a real Citus cluster (a coordinator and two workers of
# its own, scripts/citus.sh).
#
# Citus fires the row triggers of a reference table on every node's copy of
# the row (the coordinator's too), each in its own transaction.  A global
# lookup table, audited and with an updated_at column kept by
# track_updated_at(), goes on the cluster with citus_plan()'s statements
# (distribute_reference(), which citus_plan() lists without a problem), the
# log with the tenant table distributed after it.  Then, as the application
# role through the coordinator, two tenants whose shards are on different
# workers:
# - a change leaves exactly one entry, written on the worker that holds the
#   log's shard of the tenant of the change (the entry's id carries that
#   node's group), readable with history(); the other tenant does not see it;
# - every node's copy of a changed row has the same updated_at: the
#   distributed transaction's time, the same for the rows of a distributed
#   table that the transaction changes on a worker;
# - a change without a tenant is logged under the nil uuid (never a tenant),
#   once; no tenant sees it; a rolled-back change leaves no entry, TRUNCATE
#   is refused;
# - distribute_reference() of a table with protected columns is refused.
# Prints a SKIP line and succeeds when Citus is neither installed nor
# buildable (no source tarball).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
. "$here/../../scripts/citus.sh"
. "$here/../helpers/citus_test.sh"
citus_test_cluster 12

app=tc_citus_ref_app
failed=0

su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
CREATE SCHEMA ref;
GRANT USAGE ON SCHEMA ref TO $app;
CREATE TABLE ref.countries (code text PRIMARY KEY, name text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO ref.countries (code, name) VALUES ('FR', 'France'), ('DE', 'Germany'), ('IT', 'Italy');
SELECT tenantcore.track_updated_at('ref.countries');
SELECT tenantcore.audit('ref.countries');
CREATE TABLE ref.clients (organization_id uuid NOT NULL, id bigint NOT NULL,
    country text REFERENCES ref.countries, updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('ref.clients');
SELECT tenantcore.audit('ref.clients');
SELECT tenantcore.track_updated_at('ref.clients');
CREATE TABLE ref.currencies (code text PRIMARY KEY);
INSERT INTO ref.currencies VALUES ('EUR');
SELECT tenantcore.audit('ref.currencies');
CREATE TABLE ref.secrets (organization_id uuid NOT NULL, id bigint, secret text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.protect('ref.secrets', 'secret');
GRANT SELECT, INSERT, UPDATE, DELETE ON ref.countries, ref.clients TO $app;
GRANT SELECT, UPDATE ON ref.currencies TO $app;
SQL

expect "citus_plan(): the audited, tracked lookup table is a reference table, without a problem" \
    "1|reference|SELECT tenantcore.distribute_reference('ref.countries');
4|distribute|SELECT tenantcore.distribute('ref.clients');" \
    "SELECT step, kind, statement FROM tenantcore.citus_plan() WHERE rel::text LIKE 'ref.%' ORDER BY step NULLS FIRST, rel::text" postgres
# a table that is not on the plan (no tenant table references it), first
su -c "SET client_min_messages = warning" -c "SELECT tenantcore.distribute_reference('ref.currencies')" >/dev/null
run_plan "rel::text LIKE 'ref.%'"
check "the lookup tables are reference tables with their triggers, the log is distributed" \
    "ref.clients:h ref.countries:n ref.currencies:n tenantcore.audit_log:h|tenantcore_audit,tenantcore_audit_truncate,tenantcore_updated_at" \
    "$(su -c "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY logicalrelid::text) FROM pg_dist_partition
              WHERE logicalrelid::text LIKE 'ref.%' OR logicalrelid = 'tenantcore.audit_log'::regclass")|$(
      su -c "SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'ref.countries'::regclass AND NOT tgisinternal")"
check "nothing was logged by the copy into the placements" "0" \
    "$(su -c "SELECT count(*) FROM tenantcore.audit_log WHERE table_name LIKE 'ref.%'")"
expect "distribute_reference() of a table with protected columns is refused" \
    "ERROR:  table ref.secrets has protected columns
DETAIL:  Their values are encrypted with the keys of the tenant, which are distributed with the tenants.
HINT:  Distribute it by its tenant column with tenantcore.distribute(), or unprotect() the columns." \
    "SELECT tenantcore.distribute_reference('ref.secrets')" postgres

# two tenants whose shards of the log are on different workers
A=$(pick tenantcore.audit_log "${TC_CITUS_PORTS[1]}")
B=$(pick tenantcore.audit_log "${TC_CITUS_PORTS[2]}")
group_of() { su -c "SELECT groupid FROM pg_dist_node WHERE nodeport = $1"; }
gA=$(group_of "${TC_CITUS_PORTS[1]}")
gB=$(group_of "${TC_CITUS_PORTS[2]}")

# --- one entry per change, on the node of the tenant's log shard -----------------
expect "A changes a country: one UPDATE, in history() through the coordinator" "UPDATE|France|France (A)" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     UPDATE ref.countries SET name = 'France (A)' WHERE code = 'FR';
     SELECT operation, old_row->>'name', new_row->>'name' FROM tenantcore.history('ref.countries', '{\"code\": \"FR\"}'); COMMIT;"
check "exactly one entry, A's, written on A's worker" "1|$A|$gA" \
    "$(su -c "SELECT count(*), min(organization_id::text), min((id & 1023)) FROM tenantcore.audit_log WHERE table_name = 'ref.countries'")"
check "every node's copy has the same updated_at, set by the change" "3|1|t" \
    "$(su -c "SELECT count(*), count(DISTINCT result), bool_and(result::timestamptz > now() - interval '1 minute')
                FROM run_command_on_placements('ref.countries', \$\$SELECT updated_at FROM %s WHERE code = 'FR'\$\$)")"
expect "B changes two countries in one statement: two entries, on B's worker; A sees none of them" \
    "2|$gB
0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     UPDATE ref.countries SET name = upper(name) WHERE code IN ('DE', 'IT');
     SELECT count(*), min((id & 1023)) FROM tenantcore.audit_log WHERE table_name = 'ref.countries'; COMMIT;
     BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT count(*) FROM tenantcore.history('ref.countries', '{\"code\": \"DE\"}'); COMMIT;"
check "the log holds three entries of the table, each once" "3|3" \
    "$(su -c "SELECT count(*), count(DISTINCT record_id::text || operation || id::text) FROM tenantcore.audit_log WHERE table_name = 'ref.countries'")"
expect "A inserts and deletes a country: INSERT and DELETE entries" "INSERT
DELETE" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO ref.countries (code, name) VALUES ('ES', 'Spain');
     DELETE FROM ref.countries WHERE code = 'ES';
     SELECT operation FROM tenantcore.history('ref.countries', '{\"code\": \"ES\"}'); COMMIT;"
expect "a transaction's rows on the reference table and on a worker's shard get one updated_at" "1" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO ref.clients (organization_id, id, country) VALUES ('$A', 1, 'FR');
     COMMIT;
     BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     UPDATE ref.countries SET name = 'France' WHERE code = 'FR';
     UPDATE ref.clients SET country = 'DE' WHERE id = 1;
     COMMIT;
     BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT count(DISTINCT t) FROM (SELECT updated_at FROM ref.clients WHERE id = 1
                                    UNION ALL SELECT updated_at FROM ref.countries WHERE code = 'FR') u(t); COMMIT;"

# --- refused, rolled back ---------------------------------------------------------
NIL=00000000-0000-0000-0000-000000000000
gN=$(su -c "SELECT groupid FROM pg_dist_placement WHERE shardid = get_shard_id_for_distribution_column('tenantcore.audit_log', '$NIL'::uuid)")
expect "a change without a tenant is allowed" "" \
    "UPDATE ref.countries SET name = 'Italia' WHERE code = 'IT'"
check "once, under the nil uuid, on the node of its shard" "1|$gN" \
    "$(su -c "SELECT count(*), min((id & 1023)) FROM tenantcore.audit_log WHERE table_name = 'ref.countries' AND organization_id = '$NIL'")"
expect "no tenant sees it, and the nil uuid is no tenant" \
    "0
ERROR:  the nil uuid is not a tenant
DETAIL:  On a Citus cluster the audit entries of changes without a tenant are kept under it." \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT count(*) FROM tenantcore.history('ref.countries', '{\"code\": \"IT\"}') WHERE new_row->>'name' = 'Italia'; COMMIT;
     SELECT tenantcore.set_tenant('$NIL')"
before=$(su -c "SELECT count(*) FROM tenantcore.audit_log WHERE table_name = 'ref.countries'")
expect "a rolled-back change leaves the row as it was" "Italia" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     UPDATE ref.countries SET name = 'Italy' WHERE code = 'IT'; ROLLBACK;
     SELECT name FROM ref.countries WHERE code = 'IT'"
check "and no entry" "$before" \
    "$(su -c "SELECT count(*) FROM tenantcore.audit_log WHERE table_name = 'ref.countries'")"
expect "TRUNCATE of an audited reference table is refused" \
    "ERROR:  TRUNCATE of the audited reference table ref.currencies cannot be logged
DETAIL:  The audit log is distributed by tenant, and a TRUNCATE entry has none.
HINT:  DELETE the rows (each is logged), or stop auditing the table with tenantcore.unaudit() first." \
    "TRUNCATE ref.currencies" postgres
expect "the currencies are still there" "EUR" "SELECT code FROM ref.currencies" postgres

tc_citus_crash_check || failed=1
[ "$failed" -eq 0 ] || { echo "citus_reference: FAILED" >&2; exit 1; }
echo "citus_reference: all passed"
