#!/usr/bin/env bash
# test/shell/citus_distribute.sh -- citus_plan()'s statements run on a real
# Citus cluster (a coordinator and two workers of its own, scripts/citus.sh).
#
# A schema made on the coordinator as on a single server, with data: a global
# lookup table, two tenant tables (isolated, audited, one with a protected
# searchable column) and foreign keys between them.  citus_plan() lists its
# steps without a problem; running them (distribute_reference(),
# distribute()) puts every table on the cluster with:
# - the foreign keys put back, none left pending;
# - the registries of tenantcore still naming the tables (isolated, audited,
#   protected), on every node;
# - the rows, the audit entries written before, and the ciphertexts intact;
#   the log and the tenant keys distributed with the last table that needs
#   them;
# and then, as the application role through the coordinator, two tenants:
# each sees its rows and decrypted values, history() shows the entry written
# before the move and the new ones, a reference to another tenant's row is
# refused; with the workers' copies of the registries holding wrong oids (as
# on a node added later) writes are still checked, encrypted and logged, and
# a renamed table keeps its registry rows.
# Prints a SKIP line and succeeds when Citus is neither installed nor
# buildable (no source tarball).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
. "$here/../../scripts/citus.sh"
. "$here/../helpers/citus_test.sh"
citus_test_cluster 9

app=tc_citus_shop_app
failed=0

A=aaaaaaaa-0000-4000-8000-000000000001
B=bbbbbbbb-0000-4000-8000-000000000002
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
CREATE SCHEMA shop;
GRANT USAGE ON SCHEMA shop TO $app;
CREATE TABLE shop.countries (code text PRIMARY KEY);
INSERT INTO shop.countries VALUES ('FR'), ('DE');
CREATE TABLE shop.customers (organization_id uuid NOT NULL, id bigint NOT NULL, email text NOT NULL,
    country text REFERENCES shop.countries, PRIMARY KEY (organization_id, id));
CREATE TABLE shop.orders (organization_id uuid NOT NULL, id bigint NOT NULL, customer_id bigint NOT NULL,
    total int NOT NULL, PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, customer_id) REFERENCES shop.customers);
SELECT tenantcore.isolate('shop.customers');
SELECT tenantcore.isolate('shop.orders');
SELECT tenantcore.audit('shop.customers');
SELECT tenantcore.audit('shop.orders');
INSERT INTO shop.customers VALUES ('$A', 1, 'ann@a.example', 'FR'), ('$B', 1, 'bob@b.example', 'DE');
INSERT INTO shop.orders VALUES ('$A', 1, 1, 100), ('$B', 1, 1, 200);
SELECT tenantcore.protect('shop.customers', 'email', searchable => true);
GRANT SELECT, INSERT, UPDATE, DELETE ON shop.customers, shop.orders TO $app;
GRANT SELECT ON shop.customers_decrypted TO $app;
SQL
ids_before=$(su -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM tenantcore.audit_log WHERE table_name LIKE 'shop.%'")
cipher_before=$(su -c "SELECT md5(string_agg(encode(email_encrypted, 'hex'), ',' ORDER BY organization_id)) FROM shop.customers")

expect "citus_plan(): the schema's steps, referenced tables first, no problem" \
    "1|reference|SELECT tenantcore.distribute_reference('shop.countries');
4|distribute|SELECT tenantcore.distribute('shop.customers');
5|distribute|SELECT tenantcore.distribute('shop.orders');" \
    "SELECT step, kind, statement FROM tenantcore.citus_plan() WHERE rel::text LIKE 'shop.%' ORDER BY step NULLS FIRST, rel::text" postgres
expect "citus_plan() lists no problem in the core schema (test/shell/citus_core.sh runs its steps)" "" \
    "SELECT rel, split_part(detail, ':', 1) FROM tenantcore.citus_plan() WHERE kind = 'problem' ORDER BY 1::text, 2" postgres

# run the steps, as a DBA would paste them
run_plan "rel::text LIKE 'shop.%'"
check "every table is on the cluster, the log and the keys distributed with the tenants" \
    "shop.countries:n shop.customers:h shop.orders:h tenantcore.audit_log:h tenantcore.audited_tables:n tenantcore.protected_columns:n tenantcore.tenant_keys:h" \
    "$(su -c "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY logicalrelid::text) FROM pg_dist_partition
              WHERE logicalrelid::text LIKE 'shop.%' OR logicalrelid::text IN ('tenantcore.audit_log', 'tenantcore.audited_tables',
                    'tenantcore.protected_columns', 'tenantcore.tenant_keys')")"
check "the foreign keys are back, none pending" \
    "shop.customers:customers_country_fkey shop.orders:orders_organization_id_customer_id_fkey|0" \
    "$(su -c "SELECT string_agg(conrelid::regclass::text || ':' || conname, ' ' ORDER BY conrelid::regclass::text),
                     (SELECT count(*) FROM tenantcore.citus_pending_foreign_keys)
                FROM pg_constraint WHERE contype = 'f' AND connamespace = 'shop'::regnamespace")"
check "the registries name the tables, on every node" \
    "shop.customers,shop.orders|shop.customers,shop.orders|shop.customers|3" \
    "$(su -c "SELECT (SELECT string_agg(rel::text, ',' ORDER BY rel::text) FROM tenantcore.isolated_tables WHERE rel::text LIKE 'shop.%'),
                     (SELECT string_agg(rel::text, ',' ORDER BY rel::text) FROM tenantcore.audited_tables WHERE rel::text LIKE 'shop.%'),
                     (SELECT string_agg(rel::text, ',' ORDER BY rel::text) FROM tenantcore.protected_columns WHERE rel::text LIKE 'shop.%'),
                     (SELECT count(*) FROM run_command_on_all_nodes(
                          \$\$SELECT count(*) FROM tenantcore.audited_tables WHERE rel IN ('shop.customers'::regclass, 'shop.orders'::regclass)\$\$) r
                       WHERE r.result = '2')")"
check "the entries written before are all there, with their ids" "$ids_before" \
    "$(su -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM tenantcore.audit_log WHERE table_name LIKE 'shop.%'")"
check "the ciphertexts are unchanged" "$cipher_before" \
    "$(su -c "SELECT md5(string_agg(encode(email_encrypted, 'hex'), ',' ORDER BY organization_id)) FROM shop.customers")"

# --- the application role on the distributed schema ------------------------------
expect "A sees its rows and decrypted values" "1|ann@a.example|FR" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT id, email, country FROM shop.customers_decrypted; COMMIT;"
expect "A writes: encrypted on its worker, logged there" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO shop.customers (organization_id, id, email, country) VALUES ('$A', 2, 'amy@a.example', 'DE');
     UPDATE shop.orders SET total = 150 WHERE id = 1; COMMIT;"
expect "history() of A's order: the entry from before the move and the new one" "INSERT|100
UPDATE|150" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT operation, new_row->>'total' FROM tenantcore.history('shop.orders', '{\"id\": 1}'); COMMIT;"
expect "a blind index search routed to A finds the new row" "2" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT id FROM shop.customers WHERE organization_id = '$A' AND email_bidx = tenantcore.blind_index('amy@a.example'); COMMIT;"
expect "B sees its own rows only" "1|bob@b.example" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT id, email FROM shop.customers_decrypted; COMMIT;"
shard_ob=$(su -c "SELECT get_shard_id_for_distribution_column('shop.orders', '$B')")
shard_cb=$(su -c "SELECT get_shard_id_for_distribution_column('shop.customers', '$B')")
expect "an order of B cannot reference A's customer 2 (the error shows no key)" \
    "ERROR:  insert or update on table \"orders_$shard_ob\" violates foreign key constraint \"orders_organization_id_customer_id_fkey_$shard_ob\"
DETAIL:  Key is not present in table \"customers_$shard_cb\"." \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     INSERT INTO shop.orders VALUES ('$B', 2, 2, 1); COMMIT;"
expect "a second distribute() says so" "NOTICE:  table shop.orders is distributed already, skipping
shop.orders" "SELECT tenantcore.distribute('shop.orders')" postgres
expect "distribute() of a table that is not isolated is refused" \
    "ERROR:  table shop.countries is not isolated
HINT:  Isolate it with tenantcore.isolate() first: its tenant column is the distribution column." \
    "SELECT tenantcore.distribute('shop.countries')" postgres

# --- registries on nodes whose copy holds other oids -----------------------------
# A node added later gets the registries' rows with the coordinator's oids
# (Citus copies reference table rows as they are): here the workers' copies
# are made to name an unrelated relation, as such a node's might.  Lookups on
# the workers go by name: writes are still checked, logged and encrypted.
corrupted=""
for n in 1 2; do
    corrupted+=$(psql -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${TC_CITUS_PORTS[$n]}" -U postgres -d tenantcore_citus <<SQL | grep '^UPDATE' | tr '\n' ' '
SET citus.enable_manual_changes_to_shards = on;
SET citus.override_table_visibility = off;
SET session_replication_role = replica;
SELECT format('UPDATE tenantcore.%I SET rel = CASE WHEN rel_name = %L THEN %s ELSE %s END WHERE rel_name LIKE %L', c.relname,
              'shop.customers', 'tenantcore.tenant_keys'::regclass::oid, 'tenantcore.audit_log'::regclass::oid, 'shop.%')
  FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
 WHERE s.nspname = 'tenantcore' AND (c.relname ~ '^audited_tables_[0-9]+\$' OR c.relname ~ '^protected_columns_[0-9]+\$')
 ORDER BY c.relname \\gexec
SQL
) || true
done
check "the workers' copies of the registries name another relation by oid" \
    "UPDATE 2 UPDATE 1 UPDATE 2 UPDATE 1 " "$corrupted"
expect "with the oids wrong, A writes: encrypted, checked and logged on its worker by name" "amy@a.example
anna@a.example
INSERT|anna@a.example" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO shop.customers (organization_id, id, email, country) VALUES ('$A', 3, 'anna@a.example', 'FR');
     SELECT email FROM shop.customers_decrypted WHERE id > 1 ORDER BY id;
     SELECT h.operation, d.email FROM tenantcore.history('shop.customers', '{\"id\": 3}') h, shop.customers_decrypted d
      WHERE d.id = 3; COMMIT;"

# a renamed table keeps its registry rows by name on every node
su -c "ALTER TABLE shop.orders RENAME TO orders_renamed" >/dev/null
check "a renamed table's registry name follows on every node" "3" \
    "$(su -c "SELECT count(*) FROM run_command_on_all_nodes(
                  \$\$SELECT count(*) FROM tenantcore.audited_tables WHERE rel_name = 'shop.orders_renamed'\$\$) r
              WHERE r.result = '1'")"
expect "and its writes are still logged" "UPDATE|175" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     UPDATE shop.orders_renamed SET total = 175 WHERE id = 1;
     SELECT operation, new_row->>'total' FROM tenantcore.history('shop.orders_renamed', '{\"id\": 1}') OFFSET 2; COMMIT;"

# a renamed schema: the registries' names follow on every node
su -c "ALTER SCHEMA shop RENAME TO shop_renamed" >/dev/null
check "a renamed schema's tables keep their registry rows by name on every node" "3" \
    "$(su -c "SELECT count(*) FROM run_command_on_all_nodes(
                  \$\$SELECT count(*) FROM tenantcore.audited_tables WHERE rel_name IN ('shop_renamed.customers', 'shop_renamed.orders_renamed')\$\$) r
              WHERE r.result = '2'")"
expect "and their writes are still encrypted and logged on the workers" "INSERT|ada@a.example" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO shop_renamed.customers (organization_id, id, email, country) VALUES ('$A', 4, 'ada@a.example', 'FR');
     SELECT h.operation, d.email FROM tenantcore.history('shop_renamed.customers', '{\"id\": 4}') h, shop_renamed.customers_decrypted d
      WHERE d.id = 4; COMMIT;"

tc_citus_crash_check || failed=1
[ "$failed" -eq 0 ] || { echo "citus_distribute: FAILED" >&2; exit 1; }
echo "citus_distribute: all passed"
