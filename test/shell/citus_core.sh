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
# - has_permission() answers per actor and tenant, and the functions that
#   check it (create_role(), grant_role()) work;
# - the audit entries of the core tables are written once, with their
#   tenant, on the tenant's worker (people's entries without a tenant under
#   the nil uuid); history() reads them.
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
SET client_min_messages = warning;
CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('$app');
SQL

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
    "SELECT step, kind, rel FROM tenantcore.citus_plan() ORDER BY step NULLS FIRST, rel::text" postgres
su -c "SELECT statement FROM tenantcore.citus_plan() WHERE kind <> 'problem' ORDER BY step, rel::text" > "$TC_CITUS_DIR/plan.sql"
if out=$(su -c "SET client_min_messages = warning" -f "$TC_CITUS_DIR/plan.sql" 2>&1); then
    echo "ok: the steps run"
else
    echo "FAILED: the steps run: $out" >&2; failed=1
fi
check "the core tables are on the cluster, the log distributed with them, no foreign key pending" \
    "h:access_logs,api_keys,audit_log,consents,error_logs,notifications,organization_members,role_permissions,roles,sessions,settings,subscriptions,team_members,teams,user_roles n:audited_tables,organizations,permissions,role_template_permissions,role_templates,user_origins,user_profiles,users|0" \
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
    "$(su -c "SELECT count(*), min(id >> 48) FROM tenantcore.audit_log WHERE table_name = 'tenantcore.organizations' AND organization_id = '$A'")"

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

tc_citus_crash_check || failed=1
[ "$failed" -eq 0 ] || { echo "citus_core: FAILED" >&2; exit 1; }
echo "citus_core: all passed"
