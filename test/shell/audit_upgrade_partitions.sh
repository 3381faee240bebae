#!/usr/bin/env bash
# test/shell/audit_upgrade_partitions.sh -- the 0.5.0 upgrade converts the indexes
# of audit_log partitions made by 0.4.0.
#
# test/shell/upgrade_check.sh compares extension objects only; the monthly
# partitions of the log are created at run time by audit_maintain() and are
# no extension members.  This check installs 0.4.0, writes entries (into the
# current month's partition and, by hand, into a past one and the default
# one), upgrades to the default version and checks that every partition then
# has exactly the indexes a partition created by the new version has (no
# primary key, a BRIN index), that history() and row_as_of() find the old
# entries (0.7.0: by the record ids the upgrade gave them) and that the
# trigger keeps writing.  Needs PGHOST/PGPORT/PGUSER of
# a running cluster with tenantcore installed (scripts/test.sh provides them).
set -euo pipefail

db="tc_audit_upgrade_parts_$$"
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; }
trap cleanup EXIT
psql_q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "audit_upgrade_partitions: $*" >&2; exit 1; }

createdb "$db"
psql_q <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION tenantcore VERSION '0.4.0' CASCADE;
CREATE TABLE public.accounts (id int PRIMARY KEY, organization_id uuid, name text);
SELECT tenantcore.audit('public.accounts');
INSERT INTO public.accounts SELECT g, NULL, 'a' || g FROM generate_series(1, 20) g;
UPDATE public.accounts SET name = 'renamed' WHERE id = 7;
CREATE TABLE tenantcore.audit_log_p202001 PARTITION OF tenantcore.audit_log
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-02-01 00:00+00');
SELECT tenantcore._audit_prepare_partition('tenantcore.audit_log_p202001');
SET tenantcore.audit_internal = on;
INSERT INTO tenantcore.audit_log (occurred_at, relid, table_name, operation, pk, new_row)
VALUES ('2020-01-15 12:00+00', 'public.accounts'::regclass, 'public.accounts', 'INSERT', '{"id": 999}', '{"id": 999, "name": "old"}'),
       ('2010-01-15 12:00+00', 'public.accounts'::regclass, 'public.accounts', 'INSERT', '{"id": 998}', '{"id": 998, "name": "older"}');
SQL

before=$(psql_q -At -c "SELECT count(*) FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indrelid
                         WHERE i.inhparent = 'tenantcore.audit_log'::regclass AND (x.indisprimary OR
                               (SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = x.indexrelid) = 'hash')")
[ "$before" -ge 6 ] || fail "setup: expected the 0.4.0 primary keys and hash indexes, found $before"

psql_q -c "ALTER EXTENSION tenantcore UPDATE" >/dev/null

# the indexes of every partition, its name replaced by P, next to those of a
# partition created now
out=$(psql_q -At <<'SQL'
CREATE TABLE tenantcore.audit_log_p203001 PARTITION OF tenantcore.audit_log
    FOR VALUES FROM ('2030-01-01 00:00+00') TO ('2030-02-01 00:00+00');
SELECT tenantcore._audit_prepare_partition('tenantcore.audit_log_p203001');
WITH defs AS (
    SELECT i.inhrelid::regclass AS part,
           array_agg(replace(pg_get_indexdef(x.indexrelid), c.relname, 'P') ORDER BY pg_get_indexdef(x.indexrelid)) AS idx
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      LEFT JOIN pg_index x ON x.indrelid = i.inhrelid
     WHERE i.inhparent = 'tenantcore.audit_log'::regclass
     GROUP BY i.inhrelid)
SELECT part, idx = (SELECT idx FROM defs WHERE part = 'tenantcore.audit_log_p203001'::regclass), idx
  FROM defs ORDER BY part::text;
SQL
)
echo "$out"
nparts=$(grep -c . <<< "$out")
[ "$nparts" -ge 4 ] || fail "expected at least 4 partitions, found $nparts"
if grep -q '|f|' <<< "$out"; then fail "a partition's indexes differ from a new partition's"; fi
grep -q 'USING brin (id, occurred_at)' <<< "$out" || fail "no BRIN index"
[ "$(psql_q -At -c "SELECT count(*) FROM pg_constraint c JOIN pg_inherits i ON i.inhrelid = c.conrelid
                     WHERE i.inhparent = 'tenantcore.audit_log'::regclass AND c.contype = 'p'")" = 0 ] \
    || fail "a partition still has a primary key"

check=$(psql_q -At <<'SQL'
SET enable_seqscan = off;
INSERT INTO public.accounts VALUES (21, NULL, 'after the upgrade');
SELECT string_agg(operation || ':' || coalesce(new_row ->> 'name', ''), ',' ORDER BY id)
  FROM tenantcore.history('public.accounts', '{"id": 7}');
SELECT tenantcore.row_as_of('public.accounts', '{"id": 999}', now()) ->> 'name';
SELECT tenantcore.row_as_of('public.accounts', '{"id": 998}', now()) ->> 'name';
SELECT count(*) FROM tenantcore.history('public.accounts', '{"id": 21}');
-- 0.7.0: the entries written before the upgrade got their record ids
SELECT count(*) FILTER (WHERE record_id IS DISTINCT FROM
                               CASE WHEN pk IS NULL THEN table_id
                                    ELSE tenantcore._audit_record_id(table_id, pk) END OR table_id IS NULL)
  FROM tenantcore.audit_log WHERE table_name = 'public.accounts';
SQL
)
expected=$'INSERT:a7,UPDATE:renamed\nold\nolder\n1\n0'
[ "$check" = "$expected" ] || fail "history/row_as_of after the upgrade: got [$check], want [$expected]"
ext=$(psql_q -At -c "SELECT count(*) FROM pg_depend d JOIN pg_index x ON x.indexrelid = d.objid JOIN pg_inherits i ON i.inhrelid = x.indrelid WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND i.inhparent = 'tenantcore.audit_log'::regclass")
[ "$ext" = 0 ] || fail "$ext index(es) of the log became extension members"
echo "ok: 0.4.0 partitions converted ($nparts partitions), old entries found, trigger writes"
