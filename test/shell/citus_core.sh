#!/usr/bin/env bash
# test/shell/citus_core.sh -- tenantcore's core schema distributed on a real
# Citus cluster (a coordinator and two workers of its own, scripts/citus.sh).
#
# citus_plan() lists the core schema's steps without a problem; they run on
# a fresh database: users, organizations and permissions become reference
# tables, the fourteen tenant tables are distributed by organization_id,
# co-located, with the audit log.  Then, as the application role through the
# coordinator, two organizations whose shards are on different workers:
# - people sign up (create_user()), create their organizations
#   (create_organization(): the system roles written once, on the node of
#   the organization's shards), invite and add members;
# - each tenant sees its own organization, members, roles, and the people
#   who are its members (the policy "visible" of users, without a subquery),
#   and none of the other tenant's;
# - has_permission() answers per actor and tenant, also in a restrictive
#   policy of a distributed table (evaluated on the tenant's worker), and the
#   functions that check it (create_role(), grant_role()) work;
# - the six blueprints go on the cluster with the core schema (their tables
#   distributed, the tenant keys with them); a blueprint table's protected
#   column is encrypted on the tenant's worker and decrypted for the tenant;
# - accepting an invitation and writing one's profile in one transaction,
#   sessions;
# - the audit entries of the core tables are written once, with their
#   tenant, on the tenant's worker (people's entries without a tenant under
#   the nil uuid); history() reads them;
# - run_retention() purges the core tables' expired rows on the workers;
# - export_subject() and erase_subject() (as the DBA) reach the person's rows
#   on every node, anonymize every node's copy of users, detach the person
#   from the log's entries on the workers, and leave the log's guard on.
# Prints a SKIP line and succeeds when Citus is neither installed nor
# buildable (no source tarball).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
. "$here/../../scripts/citus.sh"
. "$here/../helpers/citus_test.sh"
citus_test_cluster 15

app=tc_citus_core_app
failed=0

su <<SQL >/dev/null
-- (Citus warns that each decrypting view stays local until its table is distributed)
SET client_min_messages = error;
CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
-- the six blueprints (isolated, audited, protected, retained), and a table
-- of the application whose reads need a permission
SELECT count(*) FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) b,
       tenantcore.install_blueprint(b, b::name);
GRANT USAGE ON SCHEMA cpa TO $app;
GRANT SELECT, INSERT ON cpa.clients, cpa.clients_decrypted TO $app;
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA app TO $app;
CREATE TABLE app.docs (organization_id uuid NOT NULL REFERENCES tenantcore.organizations (id),
    id int NOT NULL, body text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('app.docs');
CREATE POLICY docs_read ON app.docs AS RESTRICTIVE FOR SELECT USING (tenantcore.has_permission('docs.read'));
GRANT SELECT, INSERT ON app.docs TO $app;
INSERT INTO tenantcore.permissions (key, description) VALUES ('docs.read', 'read the documents');
SQL

# Citus 13.2 creates a table's policies on its shards without AS RESTRICTIVE
# (permissive there: it would widen access): citus_plan() says so, and
# distribute() refuses; the condition goes into the permissive policy
expect "citus_plan() lists the restrictive policy as a problem" \
    "app.docs|policy docs_read is restrictive" \
    "SELECT rel, split_part(detail, ':', 1) FROM tenantcore.citus_plan() WHERE kind = 'problem'" postgres
expect "distribute() of a table with a restrictive policy is refused" \
    "ERROR:  table app.docs has the restrictive policy docs_read
DETAIL:  Citus creates the policies of a table on its shards as permissive policies: there it would widen access instead of restricting it.
HINT:  Fold its condition into the permissive policies, e.g. ALTER POLICY tenantcore_isolation ON app.docs USING (... AND <condition>), and drop it." \
    "SELECT tenantcore.distribute('app.docs')" postgres
su -c "DROP POLICY docs_read ON app.docs" \
   -c "ALTER POLICY tenantcore_isolation ON app.docs USING (organization_id = tenantcore.current_tenant() AND tenantcore.has_permission('docs.read'))" >/dev/null

expect "citus_plan(): the core schema's steps, reference tables after those they reference, without a problem" \
    "1|reference|tenantcore.permissions
1|reference|tenantcore.role_templates
1|reference|tenantcore.users
2|reference|tenantcore.organizations
2|reference|tenantcore.role_template_permissions
2|reference|tenantcore.user_profiles
3|reference|tenantcore.user_origins
4|distribute|tenantcore.access_logs
4|distribute|tenantcore.consents
4|distribute|tenantcore.error_logs
4|distribute|tenantcore.roles
4|distribute|tenantcore.subscriptions
4|distribute|tenantcore.teams
5|distribute|tenantcore.organization_members
5|distribute|tenantcore.role_permissions
6|distribute|tenantcore.api_keys
6|distribute|tenantcore.notifications
6|distribute|tenantcore.sessions
6|distribute|tenantcore.settings
6|distribute|tenantcore.team_members
6|distribute|tenantcore.user_roles" \
    "SELECT step, kind, rel FROM tenantcore.citus_plan() WHERE rel::text LIKE 'tenantcore.%' ORDER BY step NULLS FIRST, rel::text" postgres
check "and the blueprints' tables and the application's, without a problem" "0|32" \
    "$(su -c "SELECT count(*) FILTER (WHERE kind = 'problem'), count(*) FILTER (WHERE kind = 'distribute' AND rel::text NOT LIKE 'tenantcore.%')
                FROM tenantcore.citus_plan()")"
run_plan "true"
check "the blueprints' and the application's tables are distributed, the tenant keys with them" "32|h" \
    "$(su -c "SELECT count(*), (SELECT partmethod FROM pg_dist_partition WHERE logicalrelid = 'tenantcore.tenant_keys'::regclass)
                FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
               WHERE c.relnamespace::regnamespace::text IN ('cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail', 'app')
                 AND NOT c.relispartition AND p.partmethod = 'h'")"
check "the core tables are on the cluster, the log and the keys distributed with them, no foreign key pending" \
    "h:access_logs,api_keys,audit_log,audit_reads,consents,error_logs,notifications,organization_members,role_permissions,roles,sessions,settings,subscriptions,team_members,teams,tenant_keys,user_roles n:audited_tables,organizations,permissions,protected_columns,role_template_permissions,role_templates,user_origins,user_profiles,users|0" \
    "$(su -c "SELECT string_agg(m || ':' || t, ' ' ORDER BY m) FROM (
                SELECT p.partmethod::text m, string_agg(c.relname, ',' ORDER BY c.relname) t
                  FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
                 WHERE c.relnamespace = 'tenantcore'::regnamespace AND NOT c.relispartition GROUP BY 1) s")|$(
      su -c "SELECT count(*) FROM tenantcore.citus_pending_foreign_keys")"

# --- people and organizations, as the application role ---------------------------
ann=$(psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
          -c "SELECT tenantcore.create_user('ann@a.example', first_name => 'Ann')")
bob=$(psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
          -c "SELECT tenantcore.create_user('bob@b.example', first_name => 'Bob')")
check "people sign up without a tenant (their entries under the nil uuid)" "2" \
    "$(su -c "SELECT count(*) FROM tenantcore.audit_log WHERE table_name = 'tenantcore.users' AND organization_id = '00000000-0000-0000-0000-000000000000'")"
create_org() {  # create_org ACTOR SLUG: as the actor, prints the new organization's id
    psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
        -c "BEGIN; SELECT FROM tenantcore.set_actor('$1'); SELECT tenantcore.create_organization('$2', '$2'); COMMIT;"
}
node_of() { su -c "SELECT nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                    WHERE p.shardid = get_shard_id_for_distribution_column('tenantcore.roles', '$1'::uuid)"; }
A=$(create_org "$ann" org-a)
B=$(create_org "$bob" org-b)
for i in 1 2 3 4 5 6 7 8; do   # B's shards on the other worker than A's
    [ "$(node_of "$B")" != "$(node_of "$A")" ] && break
    B=$(create_org "$bob" "org-b$i")
done
check "the two organizations' shards are on different workers" "t" \
    "$( [ "$(node_of "$B")" != "$(node_of "$A")" ] && echo t || echo f)"
check "each organization got its system roles once, on its worker" "4|4|0" \
    "$(su -c "SELECT (SELECT count(*) FROM tenantcore.roles WHERE organization_id = '$A'),
                     (SELECT count(*) FROM tenantcore.roles WHERE organization_id = '$B'),
                     (SELECT count(*) FROM (SELECT organization_id, key FROM tenantcore.roles GROUP BY 1, 2 HAVING count(*) > 1) d)")"
check "and one audit entry, its own, on its worker" "1|$(su -c "SELECT groupid FROM pg_dist_node WHERE nodeport = $(node_of "$A")")" \
    "$(su -c "SELECT count(*), min((id & 1023)) FROM tenantcore.audit_log WHERE table_name = 'tenantcore.organizations' AND organization_id = '$A'")"

in_a() { printf "BEGIN; SELECT FROM tenantcore.set_tenant('%s'); SELECT FROM tenantcore.set_actor('%s'); %s COMMIT;" "$A" "$1" "$2"; }
in_b() { printf "BEGIN; SELECT FROM tenantcore.set_tenant('%s'); SELECT FROM tenantcore.set_actor('%s'); %s COMMIT;" "$B" "$1" "$2"; }
expect "A sees its organization, its roles, its member" "org-a|4|Ann" \
    "$(in_a "$ann" "SELECT (SELECT string_agg(slug, ',') FROM tenantcore.organizations), (SELECT count(*) FROM tenantcore.roles),
                           (SELECT string_agg(first_name, ',' ORDER BY first_name) FROM tenantcore.users);")"
expect "has_permission(): the owner manages members, a member does not" "t|f" \
    "$(in_a "$ann" "SELECT tenantcore.has_permission('members.manage'), tenantcore.has_permission('no.such.permission');")"
carl=$(psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
           -c "$(in_a "$ann" "SELECT tenantcore.invite_member('carl@c.example');")")
expect "an invitation is not a membership: A does not see Carl" "Ann" \
    "$(in_a "$ann" "SELECT string_agg(first_name || '', ',' ORDER BY first_name) FROM tenantcore.users;")"
expect "Carl accepts; A sees him, his profile after he writes it" "
Ann,|+1 555 0100" \
    "$(in_a "$carl" "SELECT tenantcore.accept_invitation();")
     $(in_a "$carl" "INSERT INTO tenantcore.user_profiles (user_id, phone) VALUES ('$carl', '+1 555 0100');")
     $(in_a "$ann" "SELECT string_agg(coalesce(first_name, ''), ',' ORDER BY first_name), (SELECT phone FROM tenantcore.user_profiles WHERE user_id = '$carl') FROM tenantcore.users;")"
expect "Carl, a member, may not manage members; the owner makes a role and grants it" "f
t|t
t" \
    "$(in_a "$carl" "SELECT tenantcore.has_permission('members.manage');")
     $(in_a "$ann" "SELECT tenantcore.create_role('clerk', 'Clerk', '{members.manage}') IS NOT NULL, tenantcore.grant_role('$carl', 'clerk');")
     $(in_a "$carl" "SELECT tenantcore.has_permission('members.manage');")" 
expect "B sees its own organization and member, none of A's" "true|Bob
0" \
    "$(in_b "$bob" "SELECT (SELECT string_agg((id = '$B')::text, ',') FROM tenantcore.organizations), (SELECT string_agg(first_name, ',') FROM tenantcore.users);
                    SELECT count(*) FROM tenantcore.organization_members WHERE organization_id = '$A';")"
expect "history() of A's organization: its INSERT" "INSERT" \
    "$(in_a "$ann" "SELECT operation FROM tenantcore.history('tenantcore.organizations', jsonb_build_object('id', '$A'));")"

# --- has_permission() in a policy, evaluated on the workers ----------------------------
expect "the owner holds docs.read and reads the tenant's documents; Carl does not hold it and reads none" "1|1
0" \
    "$(in_a "$ann" "INSERT INTO app.docs VALUES ('$A', 1, 'minutes'); SELECT count(*), min(id) FROM app.docs;")
     $(in_a "$carl" "SELECT count(*) FROM app.docs;")"
expect "B's owner reads none of A's documents (the query runs on every shard: on A's worker B has no shard, so no permission there)" "0" \
    "$(in_b "$bob" "INSERT INTO app.docs VALUES ('$B', 2, 'b minutes'); SELECT count(*) FROM app.docs WHERE organization_id = '$A';")"
expect "a restrictive policy on a distributed table is refused" \
    "ERROR:  table app.docs has the restrictive policy docs_read
DETAIL:  Citus creates the policies of a table on its shards as permissive policies: there it would widen access instead of restricting it.
HINT:  Fold its condition into the permissive policies, e.g. ALTER POLICY tenantcore_isolation ON app.docs USING (... AND <condition>), and drop it." \
    "CREATE POLICY docs_read ON app.docs AS RESTRICTIVE FOR SELECT USING (tenantcore.has_permission('docs.read'))" postgres
check "and is on no node" "0" \
    "$(su -c "SELECT count(*) FROM run_command_on_all_nodes(\$\$SELECT count(*) FROM pg_policy WHERE polname = 'docs_read'\$\$) r WHERE r.result <> '0'")"

# --- a blueprint table: isolated, protected, audited on the tenant's worker -----------
client=$(psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
             -c "$(in_a "$ann" "INSERT INTO cpa.clients (organization_id, business_name, tax_id, primary_contact_email, primary_contact_name)
                                VALUES ('$A', 'Acme', '12-3456789', 'acme@a.example', 'Ann') RETURNING id;")")
expect "A writes a client with a tax id: encrypted on its worker, decrypted for A, logged without the plain value" "12-3456789|f
INSERT|f" \
    "$(in_a "$ann" "SELECT d.tax_id, c.tax_id_encrypted IS NULL FROM cpa.clients_decrypted d JOIN cpa.clients c USING (organization_id, id)
                     WHERE d.id = '$client';
                    SELECT operation, new_row::text LIKE '%12-3456789%' FROM tenantcore.history('cpa.clients', jsonb_build_object('id', '$client'));")"
expect "B sees no client of A" "0" "$(in_b "$bob" "SELECT count(*) FROM cpa.clients_decrypted;")"

# --- more of the core functions --------------------------------------------------------
dana=$(psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
           -c "$(in_a "$ann" "SELECT tenantcore.invite_member('dana@d.example');")")
# tenantcore's functions change reference tables as the extension owner, over
# Citus connections of their own: a change of the same reference table by the
# application role later in that transaction waits for them (doc/citus.md)
expect "Dana accepts and writes her profile in one transaction: Citus finds the transaction deadlocked on itself" \
    "ERROR:  canceling the transaction since it was involved in a distributed deadlock" \
    "$(in_a "$dana" "SELECT FROM tenantcore.accept_invitation();
                     INSERT INTO tenantcore.user_profiles (user_id, phone) VALUES ('$dana', '+1 555 0200');")"
expect "in two transactions, both go through" "+1 555 0200" \
    "$(in_a "$dana" "SELECT FROM tenantcore.accept_invitation();")
     $(in_a "$dana" "INSERT INTO tenantcore.user_profiles (user_id, phone) VALUES ('$dana', '+1 555 0200') RETURNING phone;")"
expect "a session of Dana validates in A" "t" \
    "$(in_a "$dana" "SELECT (tenantcore.validate_session(tenantcore.create_session())).user_id = '$dana';")"

# --- built-in retention of the core tables, from the coordinator ------------------------
psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U $app -d tenantcore_citus \
    -c "$(in_a "$ann" "SELECT FROM tenantcore.create_session();")" -c "$(in_b "$bob" "SELECT FROM tenantcore.create_session();")" >/dev/null
su -c "UPDATE tenantcore.sessions SET revoked_at = now() - interval '60 days' WHERE user_id = '$ann'" >/dev/null
su -c "CALL tenantcore.run_retention()" >/dev/null
check "run_retention() deletes A's session ended 60 days ago on its worker (30 days kept), keeps B's" "0|1" \
    "$(su -c "SELECT (SELECT count(*) FROM tenantcore.sessions WHERE user_id = '$ann'), (SELECT count(*) FROM tenantcore.sessions WHERE user_id = '$bob')")"

# --- GDPR across the core schema: Dana's rows in A, her person, her entries ------------
expect "export_subject() of Dana finds her person, profile and membership" "1|1|1" \
    "SELECT jsonb_array_length(e->'tables'->'tenantcore.users'), jsonb_array_length(e->'tables'->'tenantcore.user_profiles'),
            jsonb_array_length(e->'tables'->'tenantcore.organization_members')
       FROM tenantcore.export_subject('$dana') e" postgres
check "erase_subject() of Dana: her person anonymized, her profile and membership deleted, her entries detached" \
    "1|1|1|4" \
    "$(su -c "SELECT e->'tables'->'tenantcore.users.id'->'rows', e->'tables'->'tenantcore.user_profiles.user_id'->'rows',
                     e->'tables'->'tenantcore.organization_members.user_id'->'rows', e->'audit_entries_detached'
                FROM tenantcore.erase_subject('$dana') e")"
check "on every node's copy of users, and nothing of her is left" "3|0|0|0" \
    "$(su -c "SELECT (SELECT count(*) FROM run_command_on_placements('tenantcore.users',
                          \$\$SELECT email IS NULL AND status = 'deleted' FROM %s WHERE id = '$dana'\$\$) r WHERE r.result = 't'),
                     (SELECT count(*) FROM tenantcore.user_profiles WHERE user_id = '$dana'),
                     (SELECT count(*) FROM tenantcore.organization_members WHERE user_id = '$dana'),
                     (SELECT count(*) FROM tenantcore.audit_log WHERE actor_id = '$dana')")"
check "the log's guard is back on every node after the erasure (its detail names a shard of a monthly partition)" \
    "ERROR:  tenantcore.audit_log is append-only" \
    "$(psql -X -q -At -c "BEGIN; SELECT FROM tenantcore.erase_subject('$dana');
                         UPDATE tenantcore.audit_log SET actor_id = NULL WHERE organization_id = '$A'; ROLLBACK;" 2>&1 | head -1)"

tc_citus_crash_check || failed=1
[ "$failed" -eq 0 ] || { echo "citus_core: FAILED" >&2; exit 1; }
echo "citus_core: all passed"
