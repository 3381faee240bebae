#!/usr/bin/env bash
# test/shell/audit_dump_restore.sh -- dump + restore keeps every audit entry.
#
# Fills tenantcore.audit_log of a database with entries in a monthly
# partition (created by audit_maintain(), not an extension member), in the
# default partition (an extension member marked with pg_extension_config_dump)
# and in a partition of a past month, dumps it with pg_dump -Fc, restores it
# into an empty database with pg_restore --exit-on-error, and checks that every
# entry, the partitions, the audit settings and the id sequence come back, and
# that the trigger keeps logging after the restore.  Needs PGHOST/PGPORT/PGUSER
# of a running cluster with tenantcore installed (scripts/test.sh provides them).
set -euo pipefail

suffix=$$
src="tc_audit_dump_src_$suffix"
dst="tc_audit_dump_dst_$suffix"
work=$(mktemp -d /tmp/tenantcore-audit-dump.XXXXXX)
BINDIR=${BINDIR:-$(dirname "$(command -v pg_dump)")}

cleanup() {
    dropdb --if-exists "$src" >/dev/null 2>&1 || true
    dropdb --if-exists "$dst" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

createdb "$src"
psql_q -d "$src" <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE TABLE public.accounts (
    id              int PRIMARY KEY,
    organization_id uuid NOT NULL DEFAULT tenantcore.current_tenant(),
    name            text,
    secret          text
);
SELECT tenantcore.audit('public.accounts', redact => '{secret}');
-- entries in the current month's partition
BEGIN;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
INSERT INTO public.accounts (id, name, secret) SELECT g, 'a' || g, 'pw' || g FROM generate_series(1, 50) g;
UPDATE public.accounts SET name = name || '!' WHERE id % 2 = 0;
COMMIT;
-- a partition of a past month, attached by hand (as a restore of an old dump would)
CREATE TABLE tenantcore.audit_log_p202001 PARTITION OF tenantcore.audit_log
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-02-01 00:00+00');
SELECT tenantcore._audit_prepare_partition('tenantcore.audit_log_p202001');
SQL
# move the current month into the default partition: detach it, copy its
# entries as the maintenance code would, drop it
psql_q -d "$src" <<'SQL' >/dev/null
SET client_min_messages = warning;
DO $$
DECLARE
    part text := tenantcore._audit_partition_name(transaction_timestamp());
BEGIN
    EXECUTE format('ALTER TABLE tenantcore.audit_log DETACH PARTITION tenantcore.%I', part);
    EXECUTE format('ALTER TABLE tenantcore.%I RENAME TO audit_detached', part);
END
$$;
BEGIN;
SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222');
INSERT INTO public.accounts (id, name, secret) SELECT g, 'b' || g, 'pw' || g FROM generate_series(100, 120) g;
DELETE FROM public.accounts WHERE id BETWEEN 110 AND 120;
COMMIT;
SET tenantcore.audit_internal = on;
INSERT INTO tenantcore.audit_log SELECT * FROM tenantcore.audit_detached;
INSERT INTO tenantcore.audit_log (id, organization_id, occurred_at, relid, table_name, operation, pk, new_row)
VALUES (nextval('tenantcore.audit_log_id_seq'), '11111111-1111-1111-1111-111111111111', '2020-01-15 12:00+00',
        'public.accounts'::regclass, 'public.accounts', 'INSERT', '{"id": 999}', '{"id": 999, "name": "old"}');
DROP TABLE tenantcore.audit_detached;
SQL

snapshot() {
    psql_q -d "$1" -At <<'SQL'
SELECT 'partition', c.relname, pg_get_expr(c.relpartbound, c.oid), count(*) OVER ()
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'tenantcore.audit_log'::regclass ORDER BY 2;
SELECT 'entries', tableoid::regclass::text AS part, count(*) FROM tenantcore.audit_log GROUP BY 2 ORDER BY 2;
SELECT 'entry', id, organization_id, occurred_at, txid, table_name, operation, pk, old_row, new_row,
       changed_columns, actor_id, db_user, application_name, client_addr
  FROM tenantcore.audit_log ORDER BY id;
SELECT 'settings', rel, exclude_columns, redact_columns, changed_only, tenant_column FROM tenantcore.audited_tables WHERE NOT builtin;
SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'public.accounts'::regclass ORDER BY 2;
SQL
}

snapshot "$src" > "$work/before"
grep -q '^entries|tenantcore.audit_log_default|' "$work/before" || { echo "setup failed: no entry in the default partition" >&2; exit 1; }
grep -q '^entries|tenantcore.audit_log_p202001|1$' "$work/before" || { echo "setup failed: no entry in the past partition" >&2; exit 1; }

"$BINDIR/pg_dump" -Fc -f "$work/dump" "$src"
createdb "$dst"
"$BINDIR/pg_restore" --exit-on-error -d "$dst" "$work/dump"
snapshot "$dst" > "$work/after"

fail=0
if diff -u --label "audit log before dump" --label "audit log after restore" "$work/before" "$work/after"; then
    echo "ok: audit log, partitions and settings restored ($(grep -c '^entry|' "$work/before") entries)"
else
    echo "FAILED: the audit log differs after restore" >&2
    fail=1
fi

# the trigger keeps logging after the restore, with ids after the restored ones
out=$(psql_q -d "$dst" -At <<'SQL'
BEGIN;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111') \g /dev/null
UPDATE public.accounts SET name = 'after restore' WHERE id = 1;
COMMIT;
SELECT count(*) FROM tenantcore.history('public.accounts', '{"id": 1}') WHERE new_row->>'name' = 'after restore';
SELECT (SELECT max(id) FROM tenantcore.audit_log WHERE new_row->>'name' = 'after restore')
     > (SELECT max(id) FROM tenantcore.audit_log WHERE coalesce(new_row->>'name', '') <> 'after restore');
SQL
)
if [ "$out" = $'1\nt' ]; then
    echo "ok: the audit trigger logs after the restore"
else
    echo "FAILED: the audit trigger after restore: $out" >&2
    fail=1
fi
exit $fail
