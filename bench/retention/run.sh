#!/usr/bin/env bash
# bench/retention/run.sh -- retention under load, measured in one run:
#  1. purge 1,000,000 expired rows out of 5,000,000 with run_retention() while a
#     pgbench writer inserts into the same table: rows purged per second and
#     the writer's tps during the purge vs. without it, with the runner's
#     defaults and without its pauses (see purge() for the method);
#  2. drop_partition of 12 monthly partitions vs. DELETE of the same rows.
# Needs PGHOST/PGPORT/PGUSER of a cluster with tenantcore installed (bench/run.sh
# starts one).  BENCH_ROWS (bench/lib.sh) and EXPIRED scale part 1 (defaults
# 5000000 and 1000000).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
bench_defaults - - - 5000000
EXPIRED=${EXPIRED:-1000000}
PART_ROWS=${PART_ROWS:-100000}
db=tenantcore_bench_retention
here=$(cd "$(dirname "$0")" && pwd)
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" 2>/dev/null; createdb "$db"
echo "# loading $BENCH_ROWS rows ($EXPIRED expired) in 100 tenants"
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
DROP ROLE IF EXISTS bench_ret_app;
CREATE ROLE bench_ret_app LOGIN;
SELECT tenantcore.grant_app_role('bench_ret_app');
CREATE TABLE events (organization_id uuid NOT NULL, id bigserial, at timestamptz NOT NULL, payload text,
                     PRIMARY KEY (organization_id, id));
INSERT INTO events (organization_id, at, payload)
SELECT md5((g % 100)::text)::uuid,
       CASE WHEN g <= $EXPIRED THEN now() - interval '400 days' - (g % 1000) * interval '1 minute'
            ELSE now() - (g % 300) * interval '1 day' END,
       repeat('x', 80)
  FROM generate_series(1, $BENCH_ROWS) g;
CREATE INDEX ON events (organization_id, at);
SELECT tenantcore.isolate('events');
GRANT SELECT, INSERT ON events TO bench_ret_app;
GRANT USAGE ON SEQUENCE events_id_seq TO bench_ret_app;
SELECT tenantcore.retain('events', 'at', '1 year');
SELECT tenantcore.disable_retention('tenantcore.audit_log');
VACUUM ANALYZE events;
CHECKPOINT;
SQL

cat > /tmp/tc_bench_writer.sql <<'SQL'
\set t random(0, 99)
BEGIN;
SELECT tenantcore.set_tenant(md5(:t::text)::uuid);
INSERT INTO events (at, payload) VALUES (now(), 'new');
COMMIT;
SQL

# purge <label> <run_retention arguments>: the writer runs all along: $QUIET s
# alone, then during one run_retention() call that purges every expired row,
# then $QUIET s alone again.  Ratio = the writer's mean tps (1-second samples)
# during the purge / its mean tps in the two quiet periods (both printed: load
# from elsewhere on the machine shows as a difference between them).
QUIET=${QUIET:-15}
purge() {
    local label=$1 args=$2 purged t0 t1 t2 t3
    pgbench -n -U bench_ret_app -c 1 -P 1 --progress-timestamp -f /tmp/tc_bench_writer.sql -T 3600 "$db" \
        > /tmp/tc_bench_writer.log 2>&1 &
    local wpid=$!
    sleep 2
    t0=$(now_ms); sleep "$QUIET"; t1=$(now_ms)
    q -c "CALL tenantcore.run_retention(max_runtime => '1 hour', $args)"
    t2=$(now_ms); sleep "$QUIET"; t3=$(now_ms)
    kill -TERM $wpid 2>/dev/null || true; wait $wpid 2>/dev/null || true
    purged=$(q -c "SELECT rows_affected FROM tenantcore.retention_runs WHERE rel = 'public.events' ORDER BY id DESC LIMIT 1")
    # a sample covers the second before its timestamp: count it in the period it lies in
    awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v label="$label" -v purged="$purged" '
        /^progress: [0-9.]+ s, [0-9.]+ tps/ {
            t = $2 * 1000
            if (t - 1000 >= t0 && t <= t1) { b += $4; nb++ }
            if (t - 1000 >= t1 && t <= t2) { d += $4; nd++ }
            if (t - 1000 >= t2 && t <= t3) { a += $4; na++ }
        }
        END {
            secs = (t2 - t1) / 1000; base = (b / nb + a / na) / 2
            printf "%s: %d rows in %.1f s = %.0f rows/s\n", label, purged, secs, purged / secs
            printf "%s: writer %.0f tps before, %.0f tps during the purge, %.0f tps after = %.2fx (target >= 0.80x)\n",
                   label, b / nb, d / nd, a / na, (d / nd) / base
        }' /tmp/tc_bench_writer.log
}
refill() {
    q >/dev/null <<SQL
DELETE FROM events WHERE payload = 'new';
INSERT INTO events (organization_id, at, payload)
SELECT md5((g % 100)::text)::uuid, now() - interval '400 days' - (g % 1000) * interval '1 minute', repeat('x', 80)
  FROM generate_series(1, $EXPIRED) g;
VACUUM ANALYZE events;
CHECKPOINT;
SQL
}

# the defaults (batches of 1000, pause_ratio 2) and the runner without pauses
# in batches of 10000 (as before 0.5.0), in turn
# (CONFIGS="batch:pause ..." measures others)
first=1
for cfg in ${CONFIGS:-1000:2 10000:0}; do
    [ $first = 1 ] || refill
    first=0
    purge "batch_size ${cfg%%:*}, pause_ratio ${cfg##*:}" "batch_size => ${cfg%%:*}, pause_ratio => ${cfg##*:}"
done
rm -f /tmp/tc_bench_writer.sql /tmp/tc_bench_writer.log

# 12 monthly partitions: drop vs. delete
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE plog_drop (organization_id uuid NOT NULL, at timestamptz NOT NULL, payload text) PARTITION BY RANGE (at);
CREATE TABLE plog_delete (LIKE plog_drop) PARTITION BY RANGE (at);
DO \$\$
DECLARE m date;
BEGIN
    FOR i IN 0 .. 12 LOOP
        m := date_trunc('month', now() - interval '3 years')::date + i * interval '1 month';
        EXECUTE format('CREATE TABLE %I PARTITION OF plog_drop FOR VALUES FROM (%L) TO (%L)', 'plog_drop_' || i, m, m + interval '1 month');
        EXECUTE format('CREATE TABLE %I PARTITION OF plog_delete FOR VALUES FROM (%L) TO (%L)', 'plog_delete_' || i, m, m + interval '1 month');
    END LOOP;
    CREATE TABLE plog_drop_rest PARTITION OF plog_drop DEFAULT;
    CREATE TABLE plog_delete_rest PARTITION OF plog_delete DEFAULT;
END \$\$;
INSERT INTO plog_drop SELECT md5((g % 100)::text)::uuid,
       date_trunc('month', now() - interval '3 years') + (g % 12) * interval '1 month' + interval '1 day', repeat('y', 80)
  FROM generate_series(1, 12 * $PART_ROWS) g;
INSERT INTO plog_delete SELECT * FROM plog_drop;
CREATE INDEX ON plog_drop (organization_id, at);
CREATE INDEX ON plog_delete (organization_id, at);
UPDATE tenantcore.retention_policies SET enabled = false;
SELECT tenantcore.retain('plog_drop', 'at', '2 years', 'drop_partition');
VACUUM ANALYZE plog_drop, plog_delete;
SQL
cutoff=$(q -c "SELECT date_trunc('month', now() - interval '3 years') + interval '12 months'")
start=$(now_ms); q -c "CALL tenantcore.run_retention()"; drop_ms=$(( $(now_ms) - start ))
start=$(now_ms); q -c "DELETE FROM plog_delete WHERE at < '$cutoff'"; delete_ms=$(( $(now_ms) - start ))
dropped=$(q -c "SELECT partitions_dropped FROM tenantcore.retention_runs WHERE rel = 'public.plog_drop' ORDER BY id DESC LIMIT 1")
echo "12 monthly partitions of $PART_ROWS rows: drop_partition ${drop_ms} ms ($dropped dropped), DELETE ${delete_ms} ms = $(awk -v a=$delete_ms -v b=$drop_ms 'BEGIN { printf "%.0f", a / (b ? b : 1) }')x faster to drop"
dropdb "$db"
psql -X -q -c "DROP ROLE IF EXISTS bench_ret_app"
