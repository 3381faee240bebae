#!/usr/bin/env bash
# test/shell/citus_crypto.sh -- protected (encrypted) columns of distributed
# tables on a real Citus cluster (a coordinator and two workers of its own,
# scripts/citus.sh).
#
# As the superuser: protect() of a distributed table is refused until the keys
# are distributed; distribute_tenant_keys() co-locates tenantcore.tenant_keys
# with the tenant tables (the registry of protected columns becomes a
# reference table); protect() then converts the existing rows of both tenants
# on their workers.  As a non-superuser application role on the coordinator,
# with two tenants whose shards are on different workers:
# - each tenant's key is made and kept in the tenant's shard of tenant_keys,
#   on the tenant's worker, and nowhere else;
# - inserts are encrypted on the worker (no plaintext stored), the decrypting
#   view shows each tenant its own values, a blind index search routed to the
#   tenant finds the row, one that is not routed is refused with a hint;
# - a tenant cannot decrypt another tenant's ciphertext;
# - with tenantcore.audit_reads on, the reads a worker decrypts are recorded in
#   the tenant's shard of audit_reads there, readable by the tenant through
#   the coordinator;
# - rotate_tenant_key() and shred_tenant() on the coordinator reach the
#   tenant's worker; after shred_tenant(), a worker backend that had the key
#   cached can no longer decrypt (the cache is dropped on the worker);
# - moving the tenant's shards moves its rows and its keys together: its
#   values decrypt on the new worker;
# - a dropped protected column or table leaves the registry of every node.
# Prints a SKIP line and succeeds when Citus is neither installed nor
# buildable (no source tarball).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
. "$here/../../scripts/citus.sh"
. "$here/../helpers/citus_test.sh"
citus_test_cluster 6

app=tc_citus_crypto_app
failed=0

# two tenants whose shards are on different workers (32 shards by default)
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
CREATE SCHEMA crm;
GRANT USAGE ON SCHEMA crm TO $app;
CREATE TABLE crm.contacts (organization_id uuid NOT NULL, id bigint NOT NULL, email text NOT NULL,
    PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('crm.contacts');
SELECT create_distributed_table('crm.contacts', 'organization_id');
GRANT SELECT, INSERT, UPDATE, DELETE ON crm.contacts TO $app;
SQL
A=$(pick crm.contacts "${TC_CITUS_PORTS[1]}")
B=$(pick crm.contacts "${TC_CITUS_PORTS[2]}")
echo "tenant A $A on worker ${TC_CITUS_PORTS[1]}, tenant B $B on worker ${TC_CITUS_PORTS[2]}"
su -c "INSERT INTO crm.contacts VALUES ('$A', 1, 'first@a.example'), ('$B', 1, 'first@b.example')"

# --- distributing the keys, protecting a distributed table ----------------------
expect "protect() of a distributed table before the keys are distributed is refused" \
    "ERROR:  table crm.contacts is distributed, but tenantcore.tenant_keys is not
HINT:  Distribute the keys with their tenants first: SELECT tenantcore.distribute_tenant_keys('crm.contacts');" \
    "SELECT tenantcore.protect('crm.contacts', 'email')" postgres
expect "distribute_tenant_keys(NULL) is refused" \
    "ERROR:  distribute_tenant_keys: colocate_with must not be null" \
    "SELECT tenantcore.distribute_tenant_keys(NULL)" postgres
expect "the application role cannot distribute the keys" \
    "ERROR:  permission denied for function distribute_tenant_keys" \
    "SELECT tenantcore.distribute_tenant_keys('crm.contacts')"
expect "distribute_tenant_keys() co-locates the keys with the tenant tables" "n|false h|true" \
    "SET client_min_messages = warning; SELECT FROM tenantcore.distribute_tenant_keys('crm.contacts');
     SELECT string_agg(p.partmethod::text || '|' || (p.colocationid = c.colocationid), ' ' ORDER BY p.logicalrelid::text)
       FROM pg_dist_partition p, pg_dist_partition c
      WHERE c.logicalrelid = 'crm.contacts'::regclass
        AND p.logicalrelid IN ('tenantcore.tenant_keys'::regclass, 'tenantcore.protected_columns'::regclass)" postgres
expect "protect() converts the existing rows of both tenants on their workers" "contacts_decrypted" \
    "SET client_min_messages = warning; SELECT tenantcore.protect('crm.contacts', 'email', searchable => true)" postgres
expect "no plaintext is left" "2|0|2" \
    "SELECT count(*), count(email), count(email_encrypted) FROM crm.contacts" postgres
# where each tenant's keys are: in its shard of tenant_keys, on its worker
keys_at() {
    su -c "SELECT string_agg(n.nodeport || ':' || r.result, ' ' ORDER BY n.nodeport)
             FROM run_command_on_shards('tenantcore.tenant_keys',
                      \$\$SELECT count(*) FROM %s WHERE organization_id = '$1'\$\$) r
             JOIN pg_dist_placement p ON p.shardid = r.shardid JOIN pg_dist_node n USING (groupid)
            WHERE r.result <> '0'"
}
check "A's key is in A's shard of tenant_keys on A's worker only" "${TC_CITUS_PORTS[1]}:1" "$(keys_at "$A")"
check "B's key is in B's shard of tenant_keys on B's worker only" "${TC_CITUS_PORTS[2]}:1" "$(keys_at "$B")"
check "the keys co-located with A's rows: the same shard index" \
    "t" "$(su -c "SELECT (SELECT shardminvalue FROM pg_dist_shard WHERE shardid = get_shard_id_for_distribution_column('tenantcore.tenant_keys', '$A'))
                   = (SELECT shardminvalue FROM pg_dist_shard WHERE shardid = get_shard_id_for_distribution_column('crm.contacts', '$A'))")"

# --- the application role ------------------------------------------------------
expect "A inserts; the value is encrypted on the worker" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO crm.contacts (organization_id, id, email) VALUES ('$A', 2, 'second@a.example'); COMMIT;"
expect "the decrypting view shows A its values" "1|first@a.example
2|second@a.example" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT id, email FROM crm.contacts_decrypted ORDER BY id; COMMIT;"
expect "and B its own" "1|first@b.example" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT id, email FROM crm.contacts_decrypted ORDER BY id; COMMIT;"
# reads of protected data, recorded where the tenant's rows are
GA=$(su -c "SELECT groupid FROM pg_dist_node WHERE nodeport = ${TC_CITUS_PORTS[1]}")
su -c "ALTER ROLE $app SET tenantcore.audit_reads = on"
expect "A's reads through the view are recorded on A's worker, readable by A through the coordinator" \
    "2
crm.contacts|email|2|t" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); SELECT count(email) FROM crm.contacts_decrypted; COMMIT;
     BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT table_name, column_name, reads, (id & 1023) = $GA AND id > (1::bigint << 50) FROM tenantcore.audit_reads; COMMIT;"
check "the record is in A's shard of audit_reads, B sees none" "1|0" \
    "$(su -c "SELECT (SELECT r.result FROM run_command_on_shards('tenantcore.audit_reads',
                          \$\$SELECT count(*) FROM %s WHERE organization_id = '$A'\$\$) r
                       WHERE r.shardid = get_shard_id_for_distribution_column('tenantcore.audit_reads', '$A'))")|$(
       psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U "$app" -d tenantcore_citus \
            -c "BEGIN" -c "SELECT FROM tenantcore.set_tenant('$B')" -c "SELECT count(*) FROM tenantcore.audit_reads" -c "COMMIT")"
su -c "ALTER ROLE $app RESET tenantcore.audit_reads"
expect "a blind index search routed to the tenant finds its row" "2" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT id FROM crm.contacts WHERE organization_id = '$A' AND email_bidx = tenantcore.blind_index('second@a.example'); COMMIT;"
expect "a blind index search on every shard is refused with a hint to route it" \
    "ERROR:  the data keys of tenant $A are not on this node
DETAIL:  Keys are read on the worker that holds the tenant's rows; this query ran on the shards of another worker too.
HINT:  Filter the query on the tenant column with the tenant's id as a value (organization_id = \$1), so that Citus routes it to the tenant's worker." \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT id FROM crm.contacts WHERE email_bidx = tenantcore.blind_index('second@a.example'); COMMIT;"
a_cipher=$(su -c "SELECT encode(email_encrypted, 'hex') FROM crm.contacts WHERE organization_id = '$A' AND id = 2")
expect "B cannot decrypt A's ciphertext" \
    "ERROR:  ciphertext belongs to another tenant
DETAIL:  It was not encrypted for tenant $B." \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT tenantcore.decrypt_pii(decode('$a_cipher', 'hex')); COMMIT;"

# --- keys managed from the coordinator -------------------------------------------
expect "rotate_tenant_key() on the coordinator: A's new key on A's worker" "2" \
    "SELECT tenantcore.rotate_tenant_key('$A')" postgres
expect "new values of A use the new key, old ones still decrypt" "1|first@a.example|1
2|second@a.example|1
3|third@a.example|2" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO crm.contacts (organization_id, id, email) VALUES ('$A', 3, 'third@a.example');
     SELECT d.id, d.email, tenantcore.key_version(c.email_encrypted)
       FROM crm.contacts_decrypted d JOIN crm.contacts c USING (organization_id, id) ORDER BY d.id; COMMIT;"
check "A's two keys are on A's worker only" "${TC_CITUS_PORTS[1]}:2" "$(keys_at "$A")"

# a session whose worker backend has B's key cached, while B is shredded
fifo=$(mktemp -u); mkfifo "$fifo"
out=$(mktemp)
psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U "$app" -d tenantcore_citus < "$fifo" > "$out" 2>&1 &
held=$!
exec 7> "$fifo"
echo "BEGIN; SELECT 'before', email FROM (SELECT tenantcore.set_tenant('$B')) s, crm.contacts_decrypted; COMMIT;" >&7
sleep 1
su -c "SELECT tenantcore.shred_tenant('$B')" >/dev/null
echo "BEGIN; SELECT 'after', email FROM (SELECT tenantcore.set_tenant('$B')) s, crm.contacts_decrypted; COMMIT;" >&7
exec 7>&-
wait "$held" || true
check "after shred_tenant(), a worker backend that had B's key cached cannot decrypt" \
    "before|first@b.example
ERROR:  key version 1 of tenant $B was destroyed
DETAIL:  The tenant was shredded with tenantcore.shred_tenant(); its encrypted data cannot be recovered." \
    "$(grep -v '^CONTEXT:' "$out")"
rm -f "$fifo" "$out"

# --- moving a tenant's shards ----------------------------------------------------
shard_a=$(su -c "SELECT get_shard_id_for_distribution_column('crm.contacts', '$A')")
su -c "SELECT citus_move_shard_placement($shard_a, '127.0.0.1', ${TC_CITUS_PORTS[1]}, '127.0.0.1', ${TC_CITUS_PORTS[2]},
                                         shard_transfer_mode => 'block_writes')" >/dev/null
check "the move took A's keys along with A's rows" "${TC_CITUS_PORTS[2]}:2" "$(keys_at "$A")"
expect "after the move: A's values decrypt on the new worker, a new value is encrypted there" "1|first@a.example
2|second@a.example
3|third@a.example
4|fourth@a.example" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO crm.contacts (organization_id, id, email) VALUES ('$A', 4, 'fourth@a.example');
     SELECT id, email FROM crm.contacts_decrypted ORDER BY id; COMMIT;"

# --- dropping protected columns and tables: the registry on every node ---------
# each node's copy of protected_columns holds its own oids, so the rows go by name
registry_rows() {
    su -c "SELECT string_agg(r.result, ' ' ORDER BY r.nodeport)
             FROM run_command_on_placements('tenantcore.protected_columns',
                  \$\$SELECT count(*) FROM %s WHERE rel_name = '$1'\$\$) r"
}
su >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE crm.notes (organization_id uuid NOT NULL, id bigint NOT NULL, secret text, code text,
    PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('crm.notes');
SELECT create_distributed_table('crm.notes', 'organization_id', colocate_with => 'crm.contacts');
SELECT tenantcore.protect('crm.notes', 'secret');
SELECT tenantcore.protect('crm.notes', 'code');
SQL
check "two protected columns of crm.notes are registered on every node" "2 2 2" "$(registry_rows crm.notes)"
su -c "ALTER TABLE crm.notes DROP COLUMN code_encrypted CASCADE" >/dev/null
check "a dropped protected column leaves the registry of every node" "1 1 1" "$(registry_rows crm.notes)"
su -c "DROP TABLE crm.notes CASCADE" >/dev/null
check "a dropped protected table leaves the registry of every node" "0 0 0" "$(registry_rows crm.notes)"
check "the other table's rows stay" "1 1 1" "$(registry_rows crm.contacts)"

tc_citus_crash_check || failed=1
# no protected value in any node's server log (those that never were in the
# text of a failing statement)
for n in 0 1 2; do
    if grep -qE 'first@a\.example|third@a\.example|fourth@a\.example' "$TC_CITUS_DIR/node$n/server.log"; then
        echo "FAILED: a protected value is in the server log of node $n" >&2; failed=1
    fi
done
[ "$failed" -eq 0 ] || { echo "citus_crypto: FAILED" >&2; exit 1; }
echo "citus_crypto: all passed"
