#!/usr/bin/env bash
# test/shell/retention_concurrency.sh -- run_retention must not block, nor be blocked
# by, concurrent writers of the same table: a row locked by another
# transaction is skipped (and purged by a later run), and a writer inserting
# during the purge keeps going without errors.  Needs PGHOST/PGPORT/PGUSER.
set -euo pipefail
db=tenantcore_retention_concurrency
dropdb --if-exists "$db" 2>/dev/null; createdb "$db"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "not ok - $*"; dropdb --if-exists "$db"; exit 1; }

q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE TABLE events (organization_id uuid NOT NULL, id bigserial, at timestamptz NOT NULL, payload text,
                     PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('events');
INSERT INTO events (organization_id, at, payload)
SELECT '00000000-0000-0000-0000-0000000000d1', now() - interval '400 days', repeat('x', 100)
  FROM generate_series(1, 20000);
SELECT tenantcore.retain('events', 'at', '1 year');
SQL
locked_id=$(q -c "SELECT min(id) FROM events")

# session 1 holds a row lock on an expired row for 6 seconds
q -c "BEGIN; SELECT tenantcore.set_tenant('00000000-0000-0000-0000-0000000000d1');
      UPDATE events SET payload = 'locked' WHERE id = $locked_id; SELECT pg_sleep(6); COMMIT;" >/dev/null &
locker=$!
# session 2 inserts new rows while the purge runs
cat > /tmp/tc_writer.$$.sql <<'SQL'
BEGIN;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-0000000000d1');
INSERT INTO events (at, payload) VALUES (now(), 'new');
COMMIT;
SQL
pgbench -n -T 4 -c 2 -f /tmp/tc_writer.$$.sql "$db" > /tmp/tc_writer.$$.out 2>&1 &
writer=$!
sleep 1

start=$(date +%s%N)
q -c "CALL tenantcore.run_retention(batch_size => 1000)"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait $writer || fail "the concurrent writer failed: $(cat /tmp/tc_writer.$$.out)"
wait $locker
rm -f /tmp/tc_writer.$$.sql

left=$(q -c "SELECT count(*) FROM events WHERE at < now() - interval '1 year'")
new=$(q -c "SELECT count(*) FROM events WHERE payload = 'new'")
written=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' /tmp/tc_writer.$$.out)
rm -f /tmp/tc_writer.$$.out
echo "# purge took ${elapsed_ms} ms while a row was locked for 6s; expired rows left: $left; writer committed $written rows, $new kept"
[ "$elapsed_ms" -lt 5000 ] || fail "run_retention waited for the locked row"
[ "$left" = 1 ] || fail "expected exactly the locked row to be left, found $left"
[ "$new" = "$written" ] && [ "$written" -gt 0 ] || fail "the writer's rows are not all there ($new of $written)"
q -c "CALL tenantcore.run_retention()"
[ "$(q -c "SELECT count(*) FROM events WHERE at < now() - interval '1 year'")" = 0 ] || fail "the next run did not purge the row that was locked"
echo "ok - retention skips locked rows, does not block writers, and purges the rest on the next run"
dropdb "$db"
