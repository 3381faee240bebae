#!/usr/bin/env bash
# test/shell/core_dump_restore.sh -- the core schema survives pg_dump + pg_restore:
# every row of every core table comes back exactly once, the registry rows the
# install script writes (builtin) are not duplicated, the restore writes no
# audit entries and creates no second set of roles, the catalogue keeps the
# DBA's own permissions, and tokens issued before the dump still validate.
# Needs PGHOST/PGPORT/PGUSER of a running server.  Exits non-zero on failure.
set -euo pipefail
. "$(dirname "$0")/../helpers/dump_restore.sh" core

psql -Xq -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
INSERT INTO tenantcore.permissions (key, description) VALUES ('clients.read', 'read clients');
INSERT INTO tenantcore.users (id, email) VALUES
    ('a0000000-0000-4000-8000-00000000000a', 'ann@example.com'),
    ('b0000000-0000-4000-8000-00000000000b', 'ben@example.com');
BEGIN;
SELECT tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
SELECT set_config('dump.a', tenantcore.create_organization('A', 'dump-a')::text, true);
SELECT set_config('dump.b', tenantcore.create_organization('B', 'dump-b', 'b0000000-0000-4000-8000-00000000000b')::text, true);
SELECT tenantcore.set_tenant(current_setting('dump.a')::uuid);
SELECT tenantcore.add_member('b0000000-0000-4000-8000-00000000000b');
SELECT tenantcore.create_role('clerk', 'Clerk', '{clients.read,teams.read}');
SELECT tenantcore.grant_role('b0000000-0000-4000-8000-00000000000b', 'clerk');
INSERT INTO tenantcore.teams (name) VALUES ('Tax'), ('Audit');
INSERT INTO tenantcore.team_members (team_id, user_id) SELECT id, 'b0000000-0000-4000-8000-00000000000b' FROM tenantcore.teams;
INSERT INTO tenantcore.settings (key, value) VALUES ('locale', '"de"');
INSERT INTO tenantcore.notifications (user_id, kind, title) VALUES ('b0000000-0000-4000-8000-00000000000b', 'welcome', 'Hi');
INSERT INTO tenantcore.consents (user_id, purpose, granted) VALUES ('b0000000-0000-4000-8000-00000000000b', 'terms', true);
INSERT INTO tenantcore.subscriptions (plan, status, seats) VALUES ('professional', 'active', 5);
INSERT INTO tenantcore.access_logs (user_id, method, endpoint, status_code) VALUES ('a0000000-0000-4000-8000-00000000000a', 'GET', '/', 200);
INSERT INTO tenantcore.error_logs (service, level, message) VALUES ('api', 'warn', 'slow');
INSERT INTO tenantcore.user_profiles (user_id, timezone) VALUES ('a0000000-0000-4000-8000-00000000000a', 'Europe/Berlin');
CREATE TABLE public.tokens (name text PRIMARY KEY, token text NOT NULL);
INSERT INTO public.tokens VALUES ('session', tenantcore.create_session('b0000000-0000-4000-8000-00000000000b')),
                                 ('api_key', tenantcore.create_api_key('ci', '{teams.read}'));
COMMIT;
SQL

snapshot() {  # snapshot DB: one line per core table with row count and content hash, then registry and audit counts
    psql -XAt -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
CREATE TEMP TABLE snap (line text);
DO $$
DECLARE
    r regclass;
    line text;
BEGIN
    FOR r IN SELECT c.oid::regclass FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
              WHERE d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'tenantcore')
                AND c.relkind = 'r' AND c.relname IN ('users', 'user_profiles', 'permissions', 'role_templates',
                    'role_template_permissions', 'organizations', 'roles', 'role_permissions', 'organization_members',
                    'user_roles', 'teams', 'team_members', 'sessions', 'api_keys', 'subscriptions', 'settings',
                    'notifications', 'consents', 'access_logs', 'error_logs')
              ORDER BY c.relname LOOP
        EXECUTE format('SELECT format(''%%s %%s %%s'', %L, count(*), md5(coalesce(string_agg(t::text, '','' ORDER BY t::text), ''''))) FROM %s t', r, r)
           INTO line;
        INSERT INTO snap VALUES (line);
    END LOOP;
END
$$;
SELECT line FROM snap ORDER BY line;
SELECT format('isolated_tables %s audited_tables %s subject_tables %s', (SELECT count(*) FROM tenantcore.isolated_tables),
              (SELECT count(*) FROM tenantcore.audited_tables), (SELECT count(*) FROM tenantcore.subject_tables));
SELECT format('audit_log %s', count(*)) FROM tenantcore.audit_log;
SQL
}
snapshot "$src" > "$dir/before"
dump_restore
snapshot "$dst" > "$dir/after"

if diff -u --label before --label after "$dir/before" "$dir/after"; then
    echo "ok - every core table, the registries and the audit log are the same after the restore ($(wc -l < "$dir/before") lines)"
else
    echo "not ok - the core schema differs after the restore"; fail=1
fi
check "the DBA's permission is restored once, the built-in catalogue is not duplicated" \
    "SELECT count(*) FILTER (WHERE key = 'clients.read') = 1 AND count(*) = 12 FROM tenantcore.permissions"
check "each organization has its four system roles once" \
    "SELECT bool_and(n = 4) FROM (SELECT count(*) n FROM tenantcore.roles WHERE is_system GROUP BY organization_id) s"
check "a session token from before the dump validates" \
    "SELECT count(*) = 1 FROM tenantcore.validate_session((SELECT token FROM public.tokens WHERE name = 'session'))"
check "an API key from before the dump validates" \
    "SELECT count(*) = 1 FROM tenantcore.validate_api_key((SELECT token FROM public.tokens WHERE name = 'api_key'), 'teams.read')"
check "has_permission works on the restored roles" \
    "BEGIN; SELECT tenantcore.set_tenant(id), tenantcore.set_actor('b0000000-0000-4000-8000-00000000000b') FROM tenantcore.organizations WHERE slug = 'dump-a'; SELECT tenantcore.has_permission('clients.read') AND NOT tenantcore.has_permission('members.manage'); COMMIT;"
check "a new organization after the restore gets its roles" \
    "SELECT tenantcore.create_organization('C', 'dump-c', 'a0000000-0000-4000-8000-00000000000a'); SELECT count(*) = 4 FROM tenantcore.roles r JOIN tenantcore.organizations o ON o.id = r.organization_id WHERE o.slug = 'dump-c'"
check "the audit trail records changes after the restore" \
    "SELECT count(*) > 0 FROM tenantcore.audit_log WHERE table_name = 'tenantcore.organizations' AND new_row ->> 'slug' = 'dump-c'"
exit $fail
