#!/usr/bin/env bash
# test/shell/citus_context.sh -- the tenant context on a real Citus cluster.
#
# Builds Citus 13.2.2 from its source tarball when it is not installed
# (scripts/citus.sh; cached between runs), starts a coordinator and two
# workers of its own (ports TC_PORT+10..12, default 56810..56812) and, as a
# non-superuser application role connected to the coordinator, with two
# tenants whose shards are on different workers, checks:
# - set_tenant() reaches the worker of a routed query: reads and writes see
#   only that tenant, a row of the other tenant is refused on its worker;
# - a multi-shard query (both workers) sees only the tenant's rows;
# - COPY through the coordinator: rows of the tenant go in, a row of another
#   tenant is refused and nothing of that COPY stays;
# - without a tenant every node fails closed (no rows, writes refused);
# - a worker never keeps a tenant after the transaction: the same session's
#   next transaction (the coordinator reuses its cached worker connections)
#   without a tenant sees nothing, also after ROLLBACK and after a session
#   SET of the tenant (which stays on the coordinator);
# - clear_tenant() inside a transaction clears it on the workers too;
# - set_actor() reaches the workers (a policy on current_actor());
# - signed context mode: set_context_token() reaches the workers, which
#   verify the token themselves; a forged tenantcore.tenant_id or an invalid
#   tenantcore.context_token is refused on the coordinator and on a worker
#   (tried directly on the worker, as a coordinator-side attacker's SQL
#   would arrive there); the token setting cannot be set for the session,
#   parallel workers (coordinator and worker) take their leader's token, a
#   token's actor never joins another token's tenant, invite_member() leaves
#   no users entry in the tenant's log (red-team review of 0.7.0).
# Prints a SKIP line and succeeds when Citus is neither installed nor
# buildable (no source tarball).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
. "$here/../../scripts/citus.sh"

rc=0
tc_citus_ensure || rc=$?
if [ $rc -eq 2 ]; then exit 0; fi
[ $rc -eq 0 ] || exit $rc
tc_citus_cluster_start

app=tc_citus_app
failed=0
su() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# expect NAME EXPECTED SQL [node]: run SQL as the application role on the
# coordinator (or node N) and compare the output, errors included
expect() {
    local name=$1 expected=$2 sql=$3 node=${4:-0} out
    # a token travels as a startup option (tc.token), never in a statement
    # text that the server log could record
    out=$(PGOPTIONS="${token:+-c tc.token=$token}" \
          psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[$node]}" -U "${as_user:-$app}" -d tenantcore_citus \
              -c "$sql" 2>&1 | grep -v '^CONTEXT:' || true)
    if [ "$out" = "$expected" ]; then
        echo "ok: $name"
    else
        echo "FAILED: $name" >&2
        diff -u --label expected --label actual <(printf '%s\n' "$expected") <(printf '%s\n' "$out") >&2 || true
        failed=1
    fi
}

su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
CREATE SCHEMA billing;
GRANT USAGE ON SCHEMA billing TO $app;
CREATE TABLE billing.invoices (organization_id uuid NOT NULL, id bigint NOT NULL,
    amount int NOT NULL, owner_id uuid, PRIMARY KEY (organization_id, id));
SELECT create_distributed_table('billing.invoices', 'organization_id');
ALTER TABLE billing.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON billing.invoices USING (organization_id = tenantcore.current_tenant());
CREATE TABLE billing.drafts (organization_id uuid NOT NULL, id bigint NOT NULL, owner_id uuid NOT NULL);
SELECT create_distributed_table('billing.drafts', 'organization_id', colocate_with => 'billing.invoices');
ALTER TABLE billing.drafts ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON billing.drafts USING (organization_id = tenantcore.current_tenant()
    AND owner_id = tenantcore.current_actor());
GRANT SELECT, INSERT, UPDATE, DELETE ON billing.invoices, billing.drafts TO $app;
SQL

# two tenants whose shards are on different workers
pick() {
    su -c "SELECT u FROM (SELECT ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid u
             FROM generate_series(1, 50) i) s
           WHERE (SELECT nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                  WHERE p.shardid = get_shard_id_for_distribution_column('billing.invoices', u)) = $1
           ORDER BY u LIMIT 1"
}
A=$(pick "${TC_CITUS_PORTS[1]}")
B=$(pick "${TC_CITUS_PORTS[2]}")
U=b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22
V=b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a99
echo "tenant A $A on worker ${TC_CITUS_PORTS[1]}, tenant B $B on worker ${TC_CITUS_PORTS[2]}"

shard_b=$(su -c "SELECT get_shard_id_for_distribution_column('billing.invoices', '$B')")
amounts() { su -c "SELECT string_agg(organization_id || ':' || id || ':' || amount, ' ' ORDER BY organization_id, id) FROM billing.invoices"; }

# --- routed reads and writes ---------------------------------------------------
expect "tenant A writes its rows (routed to worker 1)" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO billing.invoices VALUES ('$A', 1, 10), ('$A', 2, 20); COMMIT;"
expect "tenant B writes its rows (routed to worker 2)" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     INSERT INTO billing.invoices VALUES ('$B', 1, 100); COMMIT;"
expect "a row of tenant B is refused on its worker while A is set" \
    "ERROR:  new row violates row-level security policy for table \"invoices_$shard_b\"" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO billing.invoices VALUES ('$B', 9, 1); COMMIT;"
[ "$(amounts)" = "$A:1:10 $A:2:20 $B:1:100" ] && echo "ok: the rows are where they belong" \
    || { echo "FAILED: rows after the writes: $(amounts)" >&2; failed=1; }
expect "routed read as A: A's rows" "1|10
2|20" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT id, amount FROM billing.invoices WHERE organization_id = '$A' ORDER BY id; COMMIT;"
expect "routed read of B's rows as A: nothing" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT id FROM billing.invoices WHERE organization_id = '$B'; COMMIT;"
expect "routed update and delete of B's rows as A change nothing" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     UPDATE billing.invoices SET amount = 0 WHERE organization_id = '$B';
     DELETE FROM billing.invoices WHERE organization_id = '$B'; COMMIT;"
expect "moving A's row to tenant B is refused" \
    "ERROR:  modifying the partition value of rows is not allowed" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     UPDATE billing.invoices SET organization_id = '$B' WHERE organization_id = '$A' AND id = 1; COMMIT;"
[ "$(amounts)" = "$A:1:10 $A:2:20 $B:1:100" ] && echo "ok: no row of B changed" \
    || { echo "FAILED: rows after A's attempts: $(amounts)" >&2; failed=1; }

# --- multi-shard queries: both workers -----------------------------------------
expect "multi-shard read as A: A's rows only" "$A|2|30" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT organization_id, count(*), sum(amount) FROM billing.invoices GROUP BY 1; COMMIT;"
expect "multi-shard read as B: B's rows only" "$B|1|100" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT organization_id, count(*), sum(amount) FROM billing.invoices GROUP BY 1; COMMIT;"
expect "multi-shard update as A: A's rows only" "" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     UPDATE billing.invoices SET amount = amount + 1; COMMIT;"
[ "$(amounts)" = "$A:1:11 $A:2:21 $B:1:100" ] && echo "ok: the multi-shard update changed A's rows only" \
    || { echo "FAILED: rows after the multi-shard update: $(amounts)" >&2; failed=1; }

# --- COPY through the coordinator ------------------------------------------------
# PostgreSQL refuses COPY FROM into a table under row level security for a
# role the policies apply to (also on a single node): the same through Citus
expect_script() {
    local name=$1 expected=$2 out
    out=$(psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U "$app" -d tenantcore_citus -f - 2>&1 \
          | grep -v '^CONTEXT:' | sed -E 's/^psql:<stdin>:[0-9]+: //' || true)
    if [ "$out" = "$expected" ]; then
        echo "ok: $name"
    else
        echo "FAILED: $name" >&2
        diff -u --label expected --label actual <(printf '%s\n' "$expected") <(printf '%s\n' "$out") >&2 || true
        failed=1
    fi
}
expect_script "COPY FROM as A is refused" "ERROR:  COPY FROM not supported with row-level security
HINT:  Use INSERT statements instead.
COPY invoices, line 1: \"$A	3	30\"" <<SQL
BEGIN;
SELECT FROM tenantcore.set_tenant('$A');
COPY billing.invoices (organization_id, id, amount) FROM STDIN;
$A	3	30
$B	3	30
\.
COMMIT;
SQL
[ "$(amounts)" = "$A:1:11 $A:2:21 $B:1:100" ] && echo "ok: nothing of the COPY stays" \
    || { echo "FAILED: rows after COPY: $(amounts)" >&2; failed=1; }
expect "COPY TO as A: A's rows only, from both workers" "$A	1	11
$A	2	21" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     COPY (SELECT organization_id, id, amount FROM billing.invoices ORDER BY id) TO STDOUT; COMMIT;"

# --- isolate() and distributed tables ------------------------------------------
# isolated, then distributed: the policy and the tenant column's default reach
# every shard; distributed, then isolated: the policy does, the default stays
# (Citus does not change a distribution column), with a notice saying so
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE billing.notes (organization_id uuid NOT NULL, id bigint NOT NULL, body text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('billing.notes');
SELECT create_distributed_table('billing.notes', 'organization_id', colocate_with => 'billing.invoices');
CREATE TABLE billing.tags (organization_id uuid NOT NULL, id bigint NOT NULL, PRIMARY KEY (organization_id, id));
SELECT create_distributed_table('billing.tags', 'organization_id', colocate_with => 'billing.invoices');
GRANT SELECT, INSERT ON billing.notes, billing.tags TO $app;
SQL
out=$(su -c "SELECT tenantcore.isolate('billing.tags')" 2>&1 | grep -E '^(NOTICE|ERROR)' || true)
[ "$out" = 'NOTICE:  table billing.tags is distributed by organization_id: its default is left as it is (Citus does not change a distribution column)' ] \
    && echo "ok: isolate() of a distributed table puts it under the policy and says the default stays" \
    || { echo "FAILED: isolate() of a distributed table: $out" >&2; failed=1; }
expect "isolated before distributing: A writes and reads its note, routed" "1" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     INSERT INTO billing.notes VALUES ('$A', 1, 'a'); SELECT count(*) FROM billing.notes; COMMIT;"
expect "isolated before distributing: B sees none of A's notes" "0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B'); SELECT count(*) FROM billing.notes; COMMIT;"
expect "isolated before distributing: an INSERT without a tenant gets tenantcore's error" \
    "ERROR:  no tenant is set
DETAIL:  The tenant column of a tenant-isolated table defaults to the current tenant.
HINT:  Call tenantcore.set_tenant() in the transaction first." \
    "INSERT INTO billing.notes (id, body) VALUES (2, 'x')"
expect "isolated after distributing: a row of A is refused while B is set" \
    "ERROR:  new row violates row-level security policy for table \"tags_$(su -c "SELECT get_shard_id_for_distribution_column('billing.tags', '$A')")\"" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B'); INSERT INTO billing.tags VALUES ('$A', 1); COMMIT;"
expect "isolated after distributing: A writes its row, B sees nothing of it" "0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); INSERT INTO billing.tags VALUES ('$A', 1); COMMIT;
     BEGIN; SELECT FROM tenantcore.set_tenant('$B'); SELECT count(*) FROM billing.tags; COMMIT;"

# --- retention from the coordinator ---------------------------------------------
# run_retention() on the coordinator purges each tenant's expired rows on the
# worker that holds them (per-tenant batches routed to the tenant's shard), and
# keeps the rows of a tenant under a legal hold
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE billing.events (organization_id uuid NOT NULL, id bigint NOT NULL, at timestamptz NOT NULL,
                             PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('billing.events');
SELECT create_distributed_table('billing.events', 'organization_id', colocate_with => 'billing.invoices');
INSERT INTO billing.events SELECT t, i, now() - make_interval(days => i * 10)
  FROM (VALUES ('$A'::uuid), ('$B'::uuid)) v(t), generate_series(1, 20) i;
SELECT tenantcore.retain('billing.events', 'at', '100 days');
SQL
hold=$(su -c "SELECT tenantcore.hold('$B', 'billing.events', 'litigation')")
su -c "CALL tenantcore.run_retention()" >/dev/null
left=$(su -c "SELECT string_agg(organization_id || ':' || n || ':' || oldest, ' ' ORDER BY organization_id <> '$A')
                FROM (SELECT organization_id, count(*) n, max(now() - at) > interval '100 days' oldest
                        FROM billing.events GROUP BY 1) s")
[ "$left" = "$A:9:false $B:20:true" ] && echo "ok: run_retention() on the coordinator purged A's expired rows on its worker, kept B's (held)" \
    || { echo "FAILED: rows after run_retention(): $left" >&2; failed=1; }
errs=$(su -c "SELECT count(*) FROM tenantcore.retention_runs WHERE error IS NOT NULL")
[ "$errs" = 0 ] && echo "ok: the retention runs logged no error" \
    || { echo "FAILED: retention runs with errors: $(su -c "SELECT string_agg(rel || ': ' || error, '; ') FROM tenantcore.retention_runs WHERE error IS NOT NULL")" >&2; failed=1; }
su -c "SELECT tenantcore.release_hold($hold)" >/dev/null
su -c "CALL tenantcore.run_retention()" >/dev/null
left=$(su -c "SELECT count(*) FROM billing.events WHERE now() - at > interval '100 days'")
[ "$left" = 0 ] && echo "ok: after the hold is released the next run purges B's expired rows too" \
    || { echo "FAILED: $left expired rows left after the hold was released" >&2; failed=1; }

# --- GDPR export and erasure across the workers --------------------------------------
# a person with rows in tenant A (worker 1) and tenant B (worker 2): the export
# on the coordinator has both, the erasure deletes both and nothing else
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE billing.contacts (organization_id uuid NOT NULL, user_id uuid NOT NULL, email text,
                               PRIMARY KEY (organization_id, user_id));
SELECT tenantcore.isolate('billing.contacts');
SELECT create_distributed_table('billing.contacts', 'organization_id', colocate_with => 'billing.invoices');
INSERT INTO billing.contacts VALUES ('$A', '$U', 'u@a.example'), ('$B', '$U', 'u@b.example'),
                                    ('$A', '$V', 'v@a.example'), ('$B', '$V', 'v@b.example');
SELECT tenantcore.register_subject_table('billing.contacts', 'user_id', 'delete');
SQL
exported=$(su -c "SELECT string_agg(r ->> 'email', ' ' ORDER BY r ->> 'email')
                    FROM jsonb_array_elements(tenantcore.export_subject('$U') -> 'tables' -> 'billing.contacts') r")
[ "$exported" = "u@a.example u@b.example" ] && echo "ok: export_subject() on the coordinator finds the person's rows on both workers" \
    || { echo "FAILED: export_subject(): $exported" >&2; failed=1; }
erased=$(su -c "SELECT tenantcore.erase_subject('$U') -> 'tables' -> 'billing.contacts.user_id' ->> 'rows'")
left=$(su -c "SELECT string_agg(email, ' ' ORDER BY email) FROM billing.contacts")
[ "$erased:$left" = "2:v@a.example v@b.example" ] && echo "ok: erase_subject() deletes the person's rows on both workers, nobody else's" \
    || { echo "FAILED: erase_subject(): $erased rows, left: $left" >&2; failed=1; }

# --- foreign keys stay inside a tenant ---------------------------------------------
# a key that includes the tenant column: A cannot reference B's invoice (its
# row must carry A's tenant, and A has no such invoice), only its own
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE billing.payments (organization_id uuid NOT NULL, id bigint NOT NULL, invoice_id bigint NOT NULL,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, invoice_id) REFERENCES billing.invoices (organization_id, id));
SELECT tenantcore.isolate('billing.payments');
SELECT create_distributed_table('billing.payments', 'organization_id', colocate_with => 'billing.invoices');
GRANT SELECT, INSERT ON billing.payments TO $app;
INSERT INTO billing.invoices VALUES ('$B', 50, 5);
SQL
expect "A cannot reference B's invoice 50" \
    "ERROR:  insert or update on table \"payments_$(su -c "SELECT get_shard_id_for_distribution_column('billing.payments', '$A')")\" violates foreign key constraint \"payments_organization_id_invoice_id_fkey_$(su -c "SELECT get_shard_id_for_distribution_column('billing.payments', '$A')")\"
DETAIL:  Key is not present in table \"invoices_$(su -c "SELECT get_shard_id_for_distribution_column('billing.invoices', '$A')")\"." \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); INSERT INTO billing.payments VALUES ('$A', 1, 50); COMMIT;"
expect "A references its own invoice" "1" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); INSERT INTO billing.payments VALUES ('$A', 1, 1);
     SELECT count(*) FROM billing.payments; COMMIT;"
su -c "DELETE FROM billing.invoices WHERE organization_id = '$B' AND id = 50" >/dev/null

# --- a tenant isolated to a shard of its own --------------------------------------
# isolate_tenant_to_new_shard() moves A's rows of the co-located tables to new
# shards; the policy comes along, A still sees exactly its rows, B none of them
su -c "SELECT isolate_tenant_to_new_shard('billing.invoices', '$A', 'CASCADE', shard_transfer_mode => 'block_writes')" >/dev/null
expect "after isolate_tenant_to_new_shard: A sees its invoices" "2" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); SELECT count(*) FROM billing.invoices; COMMIT;"
expect "after isolate_tenant_to_new_shard: B sees none of A's invoices" "0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B'); SELECT count(*) FROM billing.invoices WHERE organization_id = '$A'; COMMIT;"
expect "after isolate_tenant_to_new_shard: a row of B is still refused while A is set" \
    "ERROR:  new row violates row-level security policy for table \"invoices_$shard_b\"" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); INSERT INTO billing.invoices VALUES ('$B', 77, 1); COMMIT;"
expect "after isolate_tenant_to_new_shard: A writes on its new shard" "3" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); INSERT INTO billing.invoices VALUES ('$A', 77, 1);
     SELECT count(*) FROM billing.invoices; ROLLBACK;"

# --- no tenant: every node fails closed ----------------------------------------
expect "no tenant: a multi-shard read sees nothing" "0" \
    "SELECT count(*) FROM billing.invoices"
expect "no tenant: a routed read sees nothing" "0" \
    "SELECT count(*) FROM billing.invoices WHERE organization_id = '$B'"
expect "no tenant: a write is refused" \
    "ERROR:  new row violates row-level security policy for table \"invoices_$shard_b\"" \
    "INSERT INTO billing.invoices VALUES ('$B', 5, 1)"

# --- a worker never keeps a tenant after the transaction --------------------------
# one session: the coordinator keeps its connections to both workers between
# the transactions (citus.max_cached_conns_per_worker)
expect "next transaction of the same session without a tenant: nothing" "2
0
0
0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT count(*) FROM billing.invoices; COMMIT;
     SELECT count(*) FROM billing.invoices;
     BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT count(*) FROM billing.invoices WHERE organization_id = '$A'; ROLLBACK;
     SELECT count(*) FROM billing.invoices"
expect "after ROLLBACK the workers have no tenant" "1
0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$B');
     SELECT count(*) FROM billing.invoices; ROLLBACK;
     BEGIN; SELECT count(*) FROM billing.invoices; COMMIT;"
expect "clear_tenant() inside the transaction clears the workers too" "2
0" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A');
     SELECT count(*) FROM billing.invoices;
     SELECT FROM tenantcore.clear_tenant();
     SELECT count(*) FROM billing.invoices; COMMIT;"
expect "a session tenant stays on the coordinator: the workers see none" "0" \
    "SELECT FROM tenantcore.set_tenant('$A', false);
     SELECT count(*) FROM billing.invoices"

# --- set_actor() reaches the workers -----------------------------------------------
su -c "INSERT INTO billing.drafts VALUES ('$A', 1, '$U'), ('$A', 2, '$V'), ('$B', 3, '$U')" >/dev/null
expect "a policy on current_actor() on the workers: the actor's rows of the tenant" "1" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); SELECT FROM tenantcore.set_actor('$U');
     SELECT id FROM billing.drafts; COMMIT;"
expect "the other actor of the tenant" "2" \
    "BEGIN; SELECT FROM tenantcore.set_tenant('$A'); SELECT FROM tenantcore.set_actor('$V');
     SELECT id FROM billing.drafts WHERE organization_id = '$A'; COMMIT;"

# --- signed context mode -------------------------------------------------------------
tool=(python3 "$here/../helpers/jwt_tool.py")
keys="$TC_CITUS_DIR/keys"
mkdir -p "$keys"
"${tool[@]}" keys "$keys" >/dev/null
"${tool[@]}" jwks hs1:oct:"$keys/hs.key" > "$keys/jwks.json"
[ "$(id -un)" = postgres ] || chown -R postgres: "$keys"
chmod 700 "$keys"; chmod 600 "$keys"/*
# the same key file on every node
for n in 0 1 2; do
    tc_citus_psql_node "$n" -c "ALTER SYSTEM SET tenantcore.jwt_keys_file = '$keys/jwks.json'" -c "SELECT pg_reload_conf()" >/dev/null
done
sleep 0.5
# ALTER ROLE propagates to the workers
su -c "ALTER ROLE $app SET tenantcore.context_mode = 'signed'" >/dev/null
for n in 1 2; do
    [ "$(tc_citus_psql_node "$n" -At -c "SELECT setconfig FROM pg_db_role_setting WHERE setrole = '$app'::regrole")" = "{tenantcore.context_mode=signed}" ] \
        || { echo "FAILED: the signed mode of $app did not reach worker $n" >&2; failed=1; }
done
token() {
    "${tool[@]}" sign HS256 "$keys/hs.key" '{"kid": "hs1"}' \
        "{\"exp\": \"@+300\", \"iat\": \"@-5\", \"tenant_id\": \"$1\"${2:+, \"actor_id\": \"$2\"}}"
}
t_a=$(token "$A" "$U")
t_b=$(token "$B")
t_c=$(token "$B" "$U")
# a tampered token: one bit of the signature flipped
t_bad=$(python3 -c 'import sys; t = sys.argv[1]; i = len(t) - 6; c = t[i]; print(t[:i] + ("B" if c == "A" else "A") + t[i + 1:])' "$t_a")
token=$t_a expect "signed: a token of A reaches both workers" "$A|2" \
    "BEGIN; SELECT FROM tenantcore.set_context_token(current_setting('tc.token'));
     SELECT organization_id, count(*) FROM billing.invoices GROUP BY 1; COMMIT;"
token=$t_b expect "signed: a token of B, routed to worker 2" "100" \
    "BEGIN; SELECT FROM tenantcore.set_context_token(current_setting('tc.token'));
     SELECT amount FROM billing.invoices WHERE organization_id = '$B'; COMMIT;"
token=$t_a expect "signed: the token's actor reaches the workers" "1" \
    "BEGIN; SELECT FROM tenantcore.set_context_token(current_setting('tc.token'));
     SELECT id FROM billing.drafts; COMMIT;"
token=$t_a expect "signed: no tenant after the token's transaction" "2
0" \
    "BEGIN; SELECT FROM tenantcore.set_context_token(current_setting('tc.token'));
     SELECT count(*) FROM billing.invoices; COMMIT;
     SELECT count(*) FROM billing.invoices"
expect "signed: set_tenant() is refused" \
    "ERROR:  set_tenant() is not allowed in signed context mode
DETAIL:  tenantcore.context_mode is \"signed\": only a verified token sets the tenant and the actor.
HINT:  Call tenantcore.set_context_token() with the signed token of the request." \
    "SELECT tenantcore.set_tenant('$B')"
expect "signed: a forged tenant on a worker is refused" \
    "ERROR:  tenantcore.tenant_id cannot be set in signed context mode
DETAIL:  tenantcore.context_mode is \"signed\": only a verified token sets the tenant and the actor.
HINT:  Call tenantcore.set_context_token() with the signed token of the request." \
    "BEGIN; SET LOCAL tenantcore.tenant_id = '$B'; COMMIT;" 2
expect "signed: a tampered token on a worker is refused" \
    "ERROR:  token signature does not verify" \
    "BEGIN; SET LOCAL tenantcore.context_token = '$t_bad'; COMMIT;" 2
expect "signed: a tampered token through the coordinator is refused" \
    "ERROR:  token signature does not verify" \
    "BEGIN; SET LOCAL tenantcore.context_token = '$t_bad'; COMMIT;"
# red-team review of 0.7.0: the token setting pins nothing, parallel workers
# take the leader's token, a token's actor only goes with its tenant, and
# invite_member() leaves no trace of an unknown address in the tenant's log
expect "signed: a session SET of the token setting is refused on the coordinator" \
    "ERROR:  tenantcore.context_token can only be set for a transaction
DETAIL:  It carries the signed token of set_context_token() to the nodes of a Citus cluster.
HINT:  Call tenantcore.set_context_token() with the signed token of the request." \
    "SET tenantcore.context_token = '$t_a'"
expect "signed: a session SET of the token setting is refused on a worker" \
    "ERROR:  tenantcore.context_token can only be set for a transaction
DETAIL:  It carries the signed token of set_context_token() to the nodes of a Citus cluster.
HINT:  Call tenantcore.set_context_token() with the signed token of the request." \
    "SET tenantcore.context_token = '$t_a'" 1
su -c "CREATE TABLE public.clocal (organization_id uuid NOT NULL, n int);
       INSERT INTO public.clocal VALUES ('$A', 1), ('$A', 2), ('$B', 3);
       ALTER TABLE public.clocal ENABLE ROW LEVEL SECURITY;
       CREATE POLICY tenant ON public.clocal USING (organization_id = tenantcore.current_tenant());
       GRANT SELECT ON public.clocal TO $app;" >/dev/null
tc_citus_psql_node 1 -c "CREATE TABLE public.wlocal (organization_id uuid NOT NULL, n int);
       INSERT INTO public.wlocal VALUES ('$A', 1), ('$A', 2), ('$B', 3);
       ALTER TABLE public.wlocal ENABLE ROW LEVEL SECURITY;
       CREATE POLICY tenant ON public.wlocal USING (organization_id = tenantcore.current_tenant());
       GRANT SELECT ON public.wlocal TO $app;" >/dev/null
token=$t_a expect "signed: a parallel query on the coordinator after set_context_token()" "2" \
    "BEGIN; SELECT FROM tenantcore.set_context_token(current_setting('tc.token'));
     SET LOCAL force_parallel_mode = on; SET LOCAL parallel_setup_cost = 0;
     SELECT count(*) FROM public.clocal; COMMIT;"
token=$t_a expect "signed: a parallel worker on a worker node takes its leader's token, for the transaction only" "2
0" \
    "BEGIN; DO \$\$BEGIN EXECUTE format('SET LOCAL tenantcore.context_token = %L', current_setting('tc.token')); END\$\$;
     SET LOCAL force_parallel_mode = on; SET LOCAL parallel_setup_cost = 0;
     SELECT count(*) FROM public.wlocal; COMMIT;
     SET force_parallel_mode = on; SET parallel_setup_cost = 0; SELECT count(*) FROM public.wlocal" 1
token=$t_b expect "signed: the actor of a token setting does not join the tenant of set_context_token()" "t|t" \
    "BEGIN; SELECT FROM tenantcore.set_context_token(current_setting('tc.token'));
     DO \$\$BEGIN EXECUTE format('SET LOCAL tenantcore.context_token = %L', '$t_a'); END\$\$;
     SELECT tenantcore.current_tenant() = '$B', tenantcore.current_actor() IS NULL; COMMIT;"
owner_id=$(su -c "SELECT tenantcore.create_user('citus-owner@example.com')")
org_id=$(su -c "SELECT tenantcore.create_organization('Citus Org', 'citus-org', '$owner_id')")
t_o=$(token "$org_id" "$owner_id")
token=$t_o expect "signed: invite_member() of an unknown address leaves no users entry in the tenant's log" "0" \
    "BEGIN; SELECT FROM tenantcore.set_context_token(current_setting('tc.token'));
     SELECT FROM tenantcore.invite_member('citus-nobody@example.com');
     SELECT count(*) FROM tenantcore.audit_log WHERE table_name = 'tenantcore.users' AND operation = 'INSERT'
        AND txid = pg_current_xact_id(); ROLLBACK;"
token=$t_a expect "signed: the token setting cannot be read by the application" \
    "ERROR:  must be superuser or have privileges of pg_read_all_settings to examine \"tenantcore.context_token\"" \
    "BEGIN; SELECT FROM tenantcore.set_context_token(current_setting('tc.token'));
     SELECT current_setting('tenantcore.context_token'); COMMIT;"
expect "signed: the token setting cannot be stored for a role" \
    "ERROR:  tenantcore.context_token can only be set for a transaction
DETAIL:  It carries the signed token of set_context_token() to the nodes of a Citus cluster.
HINT:  Call tenantcore.set_context_token() with the signed token of the request." \
    "ALTER ROLE $app SET tenantcore.context_token = '$t_c'"
su -c "ALTER ROLE $app RESET tenantcore.context_mode" >/dev/null

# no token and no key in any node's server log
for n in 0 1 2; do
    if grep -qF -e "${t_a#*.}" -e "${t_b#*.}" -e "${t_o#*.}" "$TC_CITUS_DIR/node$n/server.log"; then
        echo "FAILED: a token is in the server log of node $n" >&2; failed=1
    fi
done
tc_citus_crash_check || failed=1

[ "$failed" -eq 0 ] || { echo "citus_context: FAILED" >&2; exit 1; }
echo "citus_context: all passed"
