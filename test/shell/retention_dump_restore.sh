#!/usr/bin/env bash
# test/shell/retention_dump_restore.sh -- retention survives pg_dump + pg_restore:
# the built-in policy of the audit log is made once (by CREATE EXTENSION, not
# also from the dump), with the period and enabled flag a DBA gave it, its
# per-tenant period and run log still attached; a DBA's own policy, override
# and hold come back as they were; a run works on the restored database.
# Needs PGHOST/PGPORT/PGUSER of a running server.  Exits non-zero on failure.
set -euo pipefail
. "$(dirname "$0")/../helpers/dump_restore.sh" ret

psql -Xq -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE TABLE public.events (organization_id uuid NOT NULL, at timestamptz NOT NULL);
INSERT INTO public.events VALUES ('0d000000-0000-4000-8000-000000000001', now() - interval '2 days'),
                                 ('0d000000-0000-4000-8000-000000000001', now() - interval '2 years');
SELECT tenantcore.retain('public.events', 'at', '1 year');
SELECT tenantcore.retain_for_tenant('public.events', '0e000000-0000-4000-8000-000000000002', '5 years');
SELECT tenantcore.hold('0e000000-0000-4000-8000-000000000002', 'public.events', 'litigation');
-- a run while everything is enabled: the run log refers to the built-in policy -1
CALL tenantcore.run_retention();
-- a DBA changes the built-in policy of the audit log
SELECT tenantcore.retain('tenantcore.audit_log', 'occurred_at', '10 years');
SELECT tenantcore.retain_for_tenant('tenantcore.audit_log', '0d000000-0000-4000-8000-000000000001', '12 years');
SELECT tenantcore.disable_retention('tenantcore.audit_log');
SQL

dump_restore

same() {  # same <description> <sql>: equal output in both databases
    local a b; a=$(psql -XAtq -d "$src" -c "$2"); b=$(psql -XAtq -d "$dst" -c "$2")
    if [ "$a" = "$b" ]; then echo "ok - $1"; else echo "not ok - $1"; diff <(echo "$a") <(echo "$b") || true; fail=1; fi
}
check "one built-in policy for the audit log, id -1, with the DBA's period and disabled" \
    "SELECT count(*) = 1 AND bool_and(id = -1 AND builtin AND keep = '10 years' AND NOT enabled AND action = 'drop_partition')
       FROM tenantcore.retention_policies WHERE rel = 'tenantcore.audit_log'::regclass"
same "policies (id, table, column, period, action, enabled, builtin)" \
    "SELECT id, rel, time_column, keep, action, enabled, builtin, tenant_column FROM tenantcore.retention_policies ORDER BY id"
same "per-tenant periods, also the one on the built-in policy" \
    "SELECT policy_id, organization_id, keep FROM tenantcore.retention_overrides ORDER BY 1, 2"
same "legal holds" "SELECT id, organization_id, rel, reason, released_at FROM tenantcore.legal_holds ORDER BY id"
same "the run log, attached to the same policies" \
    "SELECT id, policy_id, rel, rows_affected FROM tenantcore.retention_runs ORDER BY id"
same "the settings of built-in policies" \
    "SELECT policy_id, keep, enabled, changed_by FROM tenantcore.retention_builtin_settings ORDER BY 1"
check "new policies continue the id sequence" \
    "SELECT nextval('tenantcore.retention_policies_id_seq') > max(id) FROM tenantcore.retention_policies"
psql -Xq -v ON_ERROR_STOP=1 -d "$dst" -c "CALL tenantcore.run_retention()"
check "a run on the restored database works and skips the disabled built-in policy" \
    "SELECT NOT EXISTS (SELECT FROM tenantcore.retention_runs WHERE error IS NOT NULL)
        AND NOT EXISTS (SELECT FROM tenantcore.retention_runs WHERE policy_id = -1 AND id > (SELECT min(id) FROM tenantcore.retention_runs WHERE policy_id = -1))"
# a second dump of the restored database restores the same way
dropdb "$src"; createdb "$src"
dump_restore "$dst" "$src"
DB=$src check "dump + restore again: still one built-in row for the audit log, with the DBA's settings, and one per core table" \
    "SELECT count(*) FILTER (WHERE id = -1) = 1
            AND bool_and(keep = '10 years' AND NOT enabled) FILTER (WHERE id = -1)
            AND count(*) = (SELECT count(*) FROM tenantcore.retention_policies WHERE builtin AND id IN (-1, -2, -3, -4, -5, -6))
            AND count(*) = 6
       FROM tenantcore.retention_policies WHERE builtin"
exit $fail
