#!/usr/bin/env bash
# test/shell/citus_audit.sh -- the audit trail of distributed tables on a real
# Citus cluster (a coordinator and two workers of its own, scripts/citus.sh).
#
# As the superuser: audit() of a distributed table is refused until the log
# is distributed; distribute_audit_log() co-locates tenantcore.audit_log with
# the tenant tables (and makes the registry a reference table); its errors.
# As a non-superuser application role on the coordinator, with two tenants
# whose shards are on different workers:
# - every INSERT, UPDATE and DELETE leaves exactly one entry, written on the
#   worker that holds the row (the entry's id carries that node's group), in
#   the log's shard co-located with the row's;
# - a rolled-back transaction and a rolled-back savepoint leave none;
# - history() and row_as_of() through the coordinator answer as on a single
#   node; a tenant sees its own entries only, no tenant sees none;
# - COPY into the audited table (superuser) logs every row once;
# - a trigger carrying another table's identity is refused on the worker
#   (42501), a table that is not distributed with the log is refused; a table
#   audited and then distributed before the log is has its writes refused on
#   the worker (they would go to the worker's empty local log) until the log
#   is distributed; audit_seal() says it does not cover a distributed log;
# - moving the tenant's shards to the other worker moves its rows and its
#   entries together: history() is whole after the move, and new entries are
#   written on the new worker; isolate_tenant_to_new_shard(..., 'CASCADE')
#   gives the tenant's entries a shard of their own with its rows; moved back
#   to the worker of the lower group, history(), row_as_of() and
#   audit_export() still see the changes in their order (ids from each
#   node's clock-based counter);
# - audit_export() through the coordinator stops below the id that a
#   transaction still running on the worker holds, and returns the late
#   commit when resumed.
# Prints a SKIP line and succeeds when Citus is neither installed nor
# buildable (no source tarball).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
. "$here/../../scripts/citus.sh"
. "$here/../helpers/citus_test.sh"
citus_test_cluster 3

app=tc_citus_auditor
failed=0

su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
CREATE SCHEMA billing;
GRANT USAGE ON SCHEMA billing TO $app;
CREATE TABLE billing.invoices (organization_id uuid NOT NULL, id bigint NOT NULL,
    amount int NOT NULL, note text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('billing.invoices');
SELECT create_distributed_table('billing.invoices', 'organization_id');
CREATE TABLE billing.payments (organization_id uuid NOT NULL, id bigint NOT NULL,
    amount int NOT NULL, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('billing.payments');
SELECT create_distributed_table('billing.payments', 'organization_id', colocate_with => 'billing.invoices');
CREATE TABLE billing.local_notes (organization_id uuid NOT NULL, id bigint PRIMARY KEY);
GRANT SELECT, INSERT, UPDATE, DELETE ON billing.invoices, billing.payments TO $app;
SQL

# --- distributing the log ------------------------------------------------------
expect "audit() of a distributed table before the log is distributed is refused" \
    "ERROR:  table billing.invoices is distributed, but tenantcore.audit_log is not
HINT:  Distribute the log with its tenants first: SELECT tenantcore.distribute_audit_log('billing.invoices');" \
    "SELECT tenantcore.audit('billing.invoices')" postgres
expect "distribute_audit_log(NULL) is refused" \
    "ERROR:  distribute_audit_log: colocate_with must not be null" \
    "SELECT tenantcore.distribute_audit_log(NULL)" postgres
expect "distribute_audit_log() of a table that is not distributed is refused" \
    "ERROR:  table billing.local_notes is not distributed by hash
HINT:  Distribute it by its tenant column with tenantcore.distribute() first." \
    "SELECT tenantcore.distribute_audit_log('billing.local_notes')" postgres
expect "the application role cannot distribute the log" \
    "ERROR:  permission denied for function distribute_audit_log" \
    "SELECT tenantcore.distribute_audit_log('billing.invoices')"
# a table audited on the coordinator, then distributed (its audit trigger goes
# to the shards with Citus's consent) while the log is not distributed yet
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE billing.early (organization_id uuid NOT NULL, id bigint NOT NULL, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('billing.early');
SELECT tenantcore.audit('billing.early');
SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_table('billing.early', 'organization_id', colocate_with => 'billing.invoices');
SQL
expect "a write to an audited distributed table is refused on the worker while the log is not distributed" \
    "ERROR:  table billing.early is distributed, but tenantcore.audit_log is not
HINT:  Distribute the log with its tenants on the coordinator: SELECT tenantcore.distribute_audit_log('billing.early');" \
    "INSERT INTO billing.early VALUES ('00000000-0000-0000-0000-000000000001', 1)" postgres
su -c "CREATE ROLE tc_delegated_owner NOLOGIN; GRANT INSERT, UPDATE, DELETE ON tenantcore.audited_tables TO tc_delegated_owner" >/dev/null
expect "distribute_audit_log() co-locates the log with the tenant tables" "" \
    "SET client_min_messages = warning; SELECT FROM tenantcore.distribute_audit_log('billing.invoices')" postgres
expect "a second call says so" "NOTICE:  tenantcore.audit_log is distributed already, skipping" \
    "SELECT FROM tenantcore.distribute_audit_log('billing.invoices')" postgres
check "the log and its partitions are distributed with the invoices, the registry is a reference table" \
    "h|true h|true n|false" \
    "$(su -c "SELECT string_agg(p.partmethod::text || '|' || (p.colocationid = i.colocationid), ' ' ORDER BY p.logicalrelid::text)
              FROM pg_dist_partition p, pg_dist_partition i
             WHERE i.logicalrelid = 'billing.invoices'::regclass
               AND p.logicalrelid IN ('tenantcore.audit_log'::regclass, 'tenantcore.audit_log_default'::regclass,
                                      'tenantcore.audited_tables'::regclass)")"
check "the registry's grants (doc/audit.md's delegation) reach every node" "t t t" \
    "$(su -c "SELECT string_agg(result, ' ') FROM run_command_on_all_nodes(
                  \$\$SELECT has_table_privilege('tc_delegated_owner', 'tenantcore.audited_tables', 'INSERT')\$\$)")"
expect "audit() of the distributed tables" "billing.invoices
billing.payments" \
    "SET client_min_messages = warning; SELECT tenantcore.audit('billing.invoices'); SELECT tenantcore.audit('billing.payments')" postgres
expect "audit() of a table that is not distributed with the log is refused" \
    "ERROR:  table billing.local_notes is not distributed, and tenantcore.audit_log is
DETAIL:  The distributed log holds the entries of distributed tables co-located with it.
HINT:  Distribute the table by its tenant column with colocate_with => 'tenantcore.audit_log' first." \
    "SELECT tenantcore.audit('billing.local_notes')" postgres

# two tenants whose shards are on different workers
group_of_port() { su -c "SELECT groupid FROM pg_dist_node WHERE nodeport = $1"; }
A=$(pick billing.invoices "${TC_CITUS_PORTS[1]}")
B=$(pick billing.invoices "${TC_CITUS_PORTS[2]}")
GA=$(group_of_port "${TC_CITUS_PORTS[1]}")
GB=$(group_of_port "${TC_CITUS_PORTS[2]}")
echo "tenant A $A on worker ${TC_CITUS_PORTS[1]} (group $GA), tenant B $B on worker ${TC_CITUS_PORTS[2]} (group $GB)"

expect "once the log is distributed, the table distributed before it is logged on its worker" "t|INSERT" \
    "INSERT INTO billing.early VALUES ('$A', 1);
     SELECT (id & 1023) = $GA, operation FROM tenantcore.audit_log WHERE table_name = 'billing.early'" postgres

# --- writes: one entry per changed row, on the row's worker --------------------
expect "tenant A inserts, updates and deletes (routed to its worker)" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO billing.invoices (organization_id, id, amount) VALUES ('$A', 1, 10), ('$A', 2, 20);
     UPDATE billing.invoices SET amount = 11 WHERE id = 1;
     UPDATE billing.invoices SET amount = amount WHERE id = 2;
     INSERT INTO billing.payments VALUES ('$A', 1, 5); COMMIT;
     BEGIN; SELECT FROM tenantcore.set_tenant('$A'); DELETE FROM billing.invoices WHERE id = 2; COMMIT;"
expect "tenant B inserts (routed to the other worker)" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     INSERT INTO billing.invoices (organization_id, id, amount) VALUES ('$B', 1, 100); COMMIT;"
expect "a rolled-back transaction leaves no entry" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     INSERT INTO billing.invoices (organization_id, id, amount) VALUES ('$B', 7, 7);
     UPDATE billing.invoices SET amount = 0 WHERE id = 1; ROLLBACK;"
expect "a rolled-back savepoint leaves no entry, the rest of its transaction does" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SAVEPOINT s; INSERT INTO billing.invoices (organization_id, id, amount) VALUES ('$B', 8, 8); ROLLBACK TO s;
     UPDATE billing.invoices SET amount = 101 WHERE id = 1; COMMIT;"
entries() {
    su -c "SELECT string_agg(format('%s:%s:%s:%s', CASE organization_id WHEN '$A' THEN 'A' WHEN '$B' THEN 'B' END,
                                    table_name, operation, (id & 1023)), ' ' ORDER BY organization_id = '$B', id)
             FROM tenantcore.audit_log"
}
check "exactly one entry per changed row, each written by the worker that holds the row (group in the id)" \
    "A:billing.early:INSERT:$GA A:billing.invoices:INSERT:$GA A:billing.invoices:INSERT:$GA A:billing.invoices:UPDATE:$GA A:billing.payments:INSERT:$GA A:billing.invoices:DELETE:$GA B:billing.invoices:INSERT:$GB B:billing.invoices:UPDATE:$GB" \
    "$(entries)"
check "A's entries are in the log's shard co-located with A's rows, on A's worker" \
    "${TC_CITUS_PORTS[1]}|4|${TC_CITUS_PORTS[1]}" \
    "$(su -c "SELECT (SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('billing.invoices', '$A')),
                     (SELECT r.result FROM run_command_on_shards('tenantcore.audit_log',
                          \$\$SELECT count(*) FROM %s WHERE organization_id = '$A' AND table_name = 'billing.invoices'\$\$) r
                       WHERE r.shardid = get_shard_id_for_distribution_column('tenantcore.audit_log', '$A')),
                     (SELECT nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE p.shardid = get_shard_id_for_distribution_column('tenantcore.audit_log', '$A'))")"

# --- reading the log through the coordinator ----------------------------------
expect "history() as A: the row's entries, oldest first" \
    "INSERT|{\"id\": 1, \"note\": null, \"amount\": 10, \"organization_id\": \"$A\"}|
UPDATE|{\"id\": 1, \"amount\": 11, \"organization_id\": \"$A\"}|{amount}" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT operation, new_row, changed_columns FROM tenantcore.history('billing.invoices', '{\"id\": 1}'); COMMIT;"
expect "row_as_of() as A: the deleted row before and after its deletion" \
    "{\"id\": 2, \"note\": null, \"amount\": 20, \"organization_id\": \"$A\"}|" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT tenantcore.row_as_of('billing.invoices', '{\"id\": 2}', (SELECT min(occurred_at) FROM tenantcore.audit_log)),
            tenantcore.row_as_of('billing.invoices', '{\"id\": 2}', now()); COMMIT;"
expect "history() as B: B's row only (the same key as A's)" "INSERT|100
UPDATE|101" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT operation, new_row->>'amount' FROM tenantcore.history('billing.invoices', '{\"id\": 1}'); COMMIT;"
expect "the log through the coordinator: each tenant sees its own entries only" "5|0
2|0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT count(*), count(*) FILTER (WHERE organization_id <> '$A') FROM tenantcore.audit_log; COMMIT;
     BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT count(*), count(*) FILTER (WHERE organization_id <> '$B') FROM tenantcore.audit_log; COMMIT;"
expect "without a tenant the log shows nothing" "0" "SELECT count(*) FROM tenantcore.audit_log"
expect "the application role cannot write the log" \
    "ERROR:  permission denied for table audit_log" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO tenantcore.audit_log (organization_id, relid, table_name, operation) VALUES ('$A', 1, 'x', 'INSERT'); COMMIT;"

# --- COPY through the coordinator ------------------------------------------------
printf '%s\t10\t1\n%s\t11\t2\n%s\t10\t3\n' "$A" "$A" "$B" |
    su -c "COPY billing.invoices (organization_id, id, amount) FROM STDIN"
check "COPY of 3 rows (two tenants, two workers) logs 3 entries, each on its row's worker" \
    "$GA:2 $GB:1" \
    "$(su -c "SELECT string_agg(g || ':' || n, ' ' ORDER BY g)
              FROM (SELECT (id & 1023) AS g, count(*) AS n FROM tenantcore.audit_log
                     WHERE operation = 'INSERT' AND (new_row->>'id')::int >= 10 GROUP BY 1) s")"

# a table whose name is long enough for Citus to shorten its shards' names
long=billing.a_table_with_a_name_long_enough_for_citus_to_shorten_shards
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE $long (organization_id uuid NOT NULL, id bigint NOT NULL, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('$long');
SELECT tenantcore.distribute('$long');
SELECT tenantcore.audit('$long');
INSERT INTO $long VALUES ('$A', 1), ('$B', 1);
SQL
check "a table with a long name (shards named with a hash by Citus) is logged on its workers" "$GA:1 $GB:1" \
    "$(su -c "SELECT string_agg((id & 1023) || ':' || count, ' ' ORDER BY (id & 1023))
              FROM (SELECT id, count(*) OVER (PARTITION BY (id & 1023)) FROM tenantcore.audit_log
                     WHERE table_name = '$long') s")"

# --- forged identities, tables outside the log ----------------------------------
payments_id=$(su -c "SELECT table_id FROM tenantcore.audited_tables WHERE rel = 'billing.payments'::regclass")
su <<SQL >/dev/null
SET client_min_messages = warning;
SET citus.enable_unsafe_triggers = on;
CREATE TABLE billing.forged (organization_id uuid NOT NULL, id bigint NOT NULL, PRIMARY KEY (organization_id, id));
SELECT create_distributed_table('billing.forged', 'organization_id', colocate_with => 'billing.invoices');
CREATE TRIGGER forged AFTER INSERT ON billing.forged FOR EACH ROW
    EXECUTE FUNCTION tenantcore.audit_trigger('table:$payments_id', 'tenant:organization_id');
SQL
shard_f=$(su -c "SELECT get_shard_id_for_distribution_column('billing.forged', '$A')")
expect "a trigger carrying another table's identity is refused on the worker" \
    "ERROR:  argument \"table:$payments_id\" of trigger \"forged_$shard_f\" on table forged_$shard_f is not the identity of the audited table
DETAIL:  Table billing.forged has another table_id in tenantcore.audited_tables, or is not audited.
HINT:  Install the audit trigger with tenantcore.audit()." \
    "INSERT INTO billing.forged VALUES ('$A', 1)" postgres
expect "nothing was written under the forged identity" "1" \
    "SELECT count(*) FROM tenantcore.audit_log WHERE table_id = '$payments_id'" postgres

expect "TRUNCATE of an audited distributed table is refused, not left unlogged" \
    "ERROR:  TRUNCATE of the audited distributed table billing.payments cannot be logged
DETAIL:  The audit log is distributed by tenant, and a TRUNCATE entry has none.
HINT:  DELETE the rows (each is logged), or stop auditing the table with tenantcore.unaudit() first." \
    "TRUNCATE billing.payments" postgres
expect "the rows are still there" "1" "SELECT count(*) FROM billing.payments" postgres
expect "audit_seal() says that it does not cover a distributed log" \
    "ERROR:  audit_seal() does not cover a distributed audit log yet
DETAIL:  tenantcore.audit_log is distributed with the tenants (distribute_audit_log()); seals close ranges of one node's ids.
HINT:  See doc/citus.md, \"Limits\"." \
    "SELECT tenantcore.audit_seal()" postgres

# --- moving a tenant's shards ----------------------------------------------------
shard_a=$(su -c "SELECT get_shard_id_for_distribution_column('billing.invoices', '$A')")
su -c "SELECT citus_move_shard_placement($shard_a, '127.0.0.1', ${TC_CITUS_PORTS[1]}, '127.0.0.1', ${TC_CITUS_PORTS[2]},
                                         shard_transfer_mode => 'block_writes')" >/dev/null
check "the move took A's invoices and A's log shard to the other worker" \
    "${TC_CITUS_PORTS[2]}|${TC_CITUS_PORTS[2]}" \
    "$(su -c "SELECT (SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('billing.invoices', '$A')),
                     (SELECT nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE p.shardid = get_shard_id_for_distribution_column('tenantcore.audit_log', '$A'))")"
expect "after the move: history() of A's row is whole, a new change is logged on the new worker" \
    "INSERT|$GA
UPDATE|$GA
UPDATE|$GB" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     UPDATE billing.invoices SET amount = 12 WHERE id = 1;
     SELECT operation, (id & 1023) FROM tenantcore.history('billing.invoices', '{\"id\": 1}'); COMMIT;"
expect "after the move: row_as_of() of A's row is its current state" "12" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT tenantcore.row_as_of('billing.invoices', '{\"id\": 1}', now())->>'amount'; COMMIT;"
expect "after the move: B still sees none of A's entries" "0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT count(*) FROM tenantcore.audit_log WHERE organization_id = '$A'; COMMIT;"
# and back, to the worker of the lower group: ids stay in the order of the
# changes (0.8.0 numbered them group << 48 + sequence, which put the entries
# written after such a move before the older ones)
last_b=$(su -c "SELECT max(id) FROM tenantcore.audit_log WHERE organization_id = '$A'")
su -c "SELECT citus_move_shard_placement($shard_a, '127.0.0.1', ${TC_CITUS_PORTS[2]}, '127.0.0.1', ${TC_CITUS_PORTS[1]},
                                         shard_transfer_mode => 'block_writes')" >/dev/null
expect "moved back to the lower group: history() lists the changes in their order" \
    "INSERT|$GA|10
UPDATE|$GA|11
UPDATE|$GB|12
UPDATE|$GA|13" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     UPDATE billing.invoices SET amount = 13 WHERE id = 1;
     SELECT operation, (id & 1023), new_row->>'amount' FROM tenantcore.history('billing.invoices', '{\"id\": 1}'); COMMIT;"
expect "and row_as_of() replays them to the current state" "13" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT tenantcore.row_as_of('billing.invoices', '{\"id\": 1}', now())->>'amount'; COMMIT;"
expect "audit_export() resumed after the last entry written before the move finds the new one" "13" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT e::jsonb->'new_row'->>'amount' FROM tenantcore.audit_export($last_b) e; COMMIT;"

# --- a tenant on shards of its own ---------------------------------------------
su -c "SELECT isolate_tenant_to_new_shard('billing.invoices', '$B', 'CASCADE', shard_transfer_mode => 'block_writes')" >/dev/null
check "isolate_tenant_to_new_shard(..., 'CASCADE') gave B's log entries a shard of their own too" "1|1|t" \
    "$(su -c "SELECT (SELECT shardminvalue = shardmaxvalue FROM pg_dist_shard
                       WHERE shardid = get_shard_id_for_distribution_column('billing.invoices', '$B'))::int,
                     (SELECT shardminvalue = shardmaxvalue FROM pg_dist_shard
                       WHERE shardid = get_shard_id_for_distribution_column('tenantcore.audit_log', '$B'))::int,
                     (SELECT a.shardminvalue = i.shardminvalue FROM pg_dist_shard a, pg_dist_shard i
                       WHERE a.shardid = get_shard_id_for_distribution_column('tenantcore.audit_log', '$B')
                         AND i.shardid = get_shard_id_for_distribution_column('billing.invoices', '$B'))")"
expect "after the isolation: B's history is whole, a new change is logged in B's own shard" "INSERT|100
UPDATE|101
UPDATE|102" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     UPDATE billing.invoices SET amount = 102 WHERE id = 1;
     SELECT operation, new_row->>'amount' FROM tenantcore.history('billing.invoices', '{\"id\": 1}'); COMMIT;"
check "B's entries are all in B's own log shard" "5" \
    "$(su -c "SELECT r.result FROM run_command_on_shards('tenantcore.audit_log',
                  \$\$SELECT count(*) FROM %s WHERE organization_id = '$B'\$\$) r
               WHERE r.shardid = get_shard_id_for_distribution_column('tenantcore.audit_log', '$B')")"

# --- audit_export() and a transaction still running on the worker -------------
# the worker's backend of a slow transaction holds an id, a later one commits
# first: the export through the coordinator stops below the slow one's id and,
# resumed after its last id, returns both (the bound is read on A's worker)
a_ids() {
    psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
        -c "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
            SELECT string_agg(e::jsonb->>'id', ' ') FROM tenantcore.audit_export($1) e; COMMIT;"
}
settled_from=$(su -c "SELECT max(id) FROM tenantcore.audit_log WHERE organization_id = '$A'")
psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
    -c "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); INSERT INTO billing.payments VALUES ('$A', 50, 1);
        SELECT pg_sleep(4); COMMIT;" >/dev/null &
slow_pid=$!
for _ in $(seq 1 100); do
    [ "$(su -c "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'PgSleep')")" = t ] && break
    sleep 0.1
done
expect "a later transaction of A commits on the worker first" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); INSERT INTO billing.payments VALUES ('$A', 51, 1); COMMIT;"
check "audit_export() through the coordinator holds back the entry above the running transaction's id" "" \
    "$(a_ids "$settled_from")"
wait $slow_pid
check "resumed after the last id returned, it returns the late commit and the entry above it, in that order" \
    "$(su -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM tenantcore.audit_log
              WHERE organization_id = '$A' AND table_name = 'billing.payments' AND new_row->>'id' IN ('50', '51')")" \
    "$(a_ids "$settled_from")"

tc_citus_crash_check || failed=1
[ "$failed" -eq 0 ] || { echo "citus_audit: FAILED" >&2; exit 1; }
echo "citus_audit: all passed"
