#!/usr/bin/env bash
# bench/audit/run.sh -- cost of the tenantcore audit trigger against no trigger
# and against a seed-style plpgsql trigger (INSERT INTO audit_logs ...
# to_jsonb(OLD), to_jsonb(NEW)), on a 20-column table shaped like seed 000's
# clients table.  Prints ratios measured in this run, and the storage floor:
# what inserting the very entries the trigger wrote costs without any trigger
# (the least a trigger writing them one at a time could cost).  Then the cost
# of tamper evidence: audit_seal() and audit_verify() over ROWS entries, and
# single-row tps with audit_seal() running every second alongside (SEAL_ROUNDS
# pairs of rounds with and without, each round starting with the log sealed),
# with BENCH_CLIENTS clients and with one.
#
# Started by bench/run.sh (PGHOST, PGPORT, PGUSER, PGDATABASE exported), or
# standalone against any server with tenantcore installed:
#   PGHOST=... PGPORT=... PGUSER=postgres bash bench/audit/run.sh
# Environment (bench/lib.sh): BENCH_ROWS (default 200000), BENCH_ROUNDS
# (repetitions of each statement and pgbench rounds, default 3), BENCH_CLIENTS
# (default 4), BENCH_SECONDS (pgbench duration of one round, default 5);
# SEAL_ROUNDS (default BENCH_ROUNDS), WARMUP (unmeasured rounds
# first, default 1: the first writes after a server start also pay for
# touching shared memory for the first time, which the later ones do not).
set -euo pipefail

. "$(dirname "$0")/../lib.sh"
bench_defaults 3 5 4 200000
WARMUP=${WARMUP:-1}
export PGDATABASE=${PGDATABASE:-bench_audit}

psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" | grep -q 1 \
    || psql -X -q -d postgres -c "CREATE DATABASE \"$PGDATABASE\""

q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT

q <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP TABLE IF EXISTS clients_none, clients_tc, clients_plpgsql, audit_logs CASCADE;
DROP FUNCTION IF EXISTS seed_audit_trigger();
CREATE TABLE clients_none (
    id                    bigserial PRIMARY KEY,
    organization_id       uuid NOT NULL,
    business_name         text NOT NULL,
    legal_name            text,
    tax_id                text,
    quickbooks_id         text,
    primary_contact_email text NOT NULL,
    primary_contact_name  text NOT NULL,
    primary_contact_phone text,
    business_address      text,
    business_type         text,
    industry              text,
    website               text,
    status                text NOT NULL DEFAULT 'active',
    risk_level            text NOT NULL DEFAULT 'medium',
    annual_revenue        numeric(14,2),
    financial_data        jsonb,
    custom_fields         jsonb,
    deleted_at            timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON clients_none (organization_id);
CREATE TABLE clients_tc (LIKE clients_none INCLUDING ALL);
CREATE TABLE clients_plpgsql (LIKE clients_none INCLUDING ALL);

-- the seeds' audit table and trigger
CREATE TABLE audit_logs (
    id              bigserial PRIMARY KEY,
    organization_id uuid,
    table_name      text NOT NULL,
    record_id       text,
    action          text NOT NULL,
    old_values      jsonb,
    new_values      jsonb,
    user_id         uuid,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON audit_logs (organization_id, created_at);
CREATE FUNCTION seed_audit_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO audit_logs (organization_id, table_name, record_id, action, old_values, user_id)
        VALUES (OLD.organization_id, TG_TABLE_NAME, OLD.id::text, TG_OP, to_jsonb(OLD),
                nullif(current_setting('app.user_id', true), '')::uuid);
        RETURN OLD;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_logs (organization_id, table_name, record_id, action, old_values, new_values, user_id)
        VALUES (NEW.organization_id, TG_TABLE_NAME, NEW.id::text, TG_OP, to_jsonb(OLD), to_jsonb(NEW),
                nullif(current_setting('app.user_id', true), '')::uuid);
        RETURN NEW;
    ELSE
        INSERT INTO audit_logs (organization_id, table_name, record_id, action, new_values, user_id)
        VALUES (NEW.organization_id, TG_TABLE_NAME, NEW.id::text, TG_OP, to_jsonb(NEW),
                nullif(current_setting('app.user_id', true), '')::uuid);
        RETURN NEW;
    END IF;
END
$$;
CREATE TRIGGER seed_audit AFTER INSERT OR UPDATE OR DELETE ON clients_plpgsql
    FOR EACH ROW EXECUTE FUNCTION seed_audit_trigger();
SELECT tenantcore.audit('clients_tc');
SQL

# time_ms SQL: run SQL once and print its duration in milliseconds: the CPU
# time of the backend (user + system, from /proc, so other load on the
# machine does not count; needs a superuser and a local server) and the
# elapsed time
time_ms() {
    psql -X -q -At -v ON_ERROR_STOP=1 <<SQL | tail -1
SELECT s[14]::bigint + s[15]::bigint AS t0, clock_timestamp() AS w0
  FROM (SELECT string_to_array(pg_read_file('/proc/self/stat'), ' ') s) x \gset
$1;
SELECT round((s[14]::bigint + s[15]::bigint - :t0) * 1000.0 / $CLK_TCK, 1) || ' ' ||
       round(extract(epoch FROM clock_timestamp() - :'w0') * 1000, 1)
  FROM (SELECT string_to_array(pg_read_file('/proc/self/stat'), ' ') s) x;
SQL
}
CLK_TCK=$(getconf CLK_TCK)

# reset: empty tables and logs, vacuum, checkpoint
reset() {
    q <<'SQL' >/dev/null
SET tenantcore.audit_internal = on;
TRUNCATE clients_none, clients_tc, clients_plpgsql, audit_logs;
TRUNCATE tenantcore.audit_log;
TRUNCATE tenantcore.audit_seal_segments, tenantcore.audit_seals, tenantcore.audit_seal_point;
SQL
    q -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
}

insert_sql() {
    cat <<SQL
INSERT INTO $1 (organization_id, business_name, legal_name, tax_id, quickbooks_id, primary_contact_email,
                primary_contact_name, primary_contact_phone, business_address, business_type, industry, website,
                annual_revenue, financial_data, custom_fields)
SELECT ('00000000-0000-0000-0000-' || lpad((g % 1000)::text, 12, '0'))::uuid,
       'Business ' || g, 'Legal Name ' || g || ' LLC', lpad(g::text, 9, '0'), 'QB' || g,
       'contact' || g || '@example.com', 'Contact Person ' || g, '+1-555-' || lpad((g % 10000)::text, 4, '0'),
       g || ' Main Street, Springfield', 'LLC', 'Accounting', 'https://example' || g || '.com',
       (g % 100000) * 10.5, jsonb_build_object('balance', g % 977, 'currency', 'USD'),
       jsonb_build_object('tier', g % 3)
  FROM generate_series(1, $BENCH_ROWS) g
SQL
}

# storage_floor OP: what storing the entries the tenantcore trigger wrote for
# OP costs without any trigger: the entries are copied out, then inserted into
# a table with the indexes of the log partition they are in (heap, WAL, hash
# index on record_id, actor btree, BRIN) that already holds the entries the
# partition held before them, as the trigger found it (the UPDATE entries go
# into a hash index that holds the INSERT entries of the same rows, which
# costs more than filling an empty one); the time to read them back (a
# sequential scan that forms every column) is measured apart and taken off.  No trigger that
# writes these entries one at a time can cost less than this.
storage_floor() {
    local part
    part=$(q -At -c "SELECT DISTINCT tableoid::regclass FROM tenantcore.audit_log WHERE operation = '$1'")
    if [ -z "$part" ] || [ "$(printf '%s\n' "$part" | wc -l)" -ne 1 ]; then
        echo "storage_floor $1: the entries are not in one partition of the log: [$part]" >&2
        return 1
    fi
    q <<SQL >/dev/null
SET client_min_messages = warning;
DROP TABLE IF EXISTS floor_src, floor_dst;
CREATE TABLE floor_src AS SELECT * FROM tenantcore.audit_log WHERE operation = '$1' ORDER BY id;
CREATE TABLE floor_dst (LIKE $part INCLUDING INDEXES);
INSERT INTO floor_dst SELECT * FROM $part WHERE id < (SELECT min(id) FROM floor_src) ORDER BY id;
VACUUM ANALYZE floor_src, floor_dst;
CHECKPOINT;
SQL
    local read insert
    read=$(time_ms "SELECT count(client_addr) FROM floor_src" | cut -d' ' -f1)
    insert=$(time_ms "INSERT INTO floor_dst SELECT * FROM floor_src" | cut -d' ' -f1)
    q -c 'DROP TABLE floor_src, floor_dst' -c 'CHECKPOINT' >/dev/null
    if ! [[ "$read" =~ ^[0-9.]+$ && "$insert" =~ ^[0-9.]+$ ]]; then
        echo "storage_floor $1: could not time the copy (read [$read], insert [$insert])" >&2
        return 1
    fi
    awk -v i="$insert" -v r="$read" 'BEGIN { printf "%.1f", i - r }'
}

declare -A T W F
ROWBYTES=0
for rep in $(seq $((1 - WARMUP)) "$BENCH_ROUNDS"); do
    reset
    for v in none tc plpgsql; do
        read -r T[insert,$v,$rep] W[insert,$v,$rep] <<< "$(time_ms "$(insert_sql clients_$v)")"
    done
    F[insert,$rep]=$(storage_floor INSERT) || exit 1
    ROWBYTES=$(q -At -c "SELECT round(avg(pg_column_size(c.*))) FROM clients_none c")
    q -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
    for v in none tc plpgsql; do
        read -r T[update,$v,$rep] W[update,$v,$rep] <<< "$(time_ms "UPDATE clients_$v SET status = 'inactive'")"
    done
    F[update,$rep]=$(storage_floor UPDATE) || exit 1
    q -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
    for v in none tc plpgsql; do
        read -r T[delete,$v,$rep] W[delete,$v,$rep] <<< "$(time_ms "DELETE FROM clients_$v")"
    done
    F[delete,$rep]=$(storage_floor DELETE) || exit 1
done

# median of the repetitions (median: bench/lib.sh)
# median_of ARRAY KEY: the median of ARRAY[KEY,1] .. ARRAY[KEY,BENCH_ROUNDS]
median_of() {
    local -n arr_=$1
    local vals=() rep
    for rep in $(seq 1 "$BENCH_ROUNDS"); do vals+=("${arr_[$2,$rep]}"); done
    median "${vals[@]}"
}

report() {  # report TITLE ARRAY
    echo
    echo "$1"
    printf '%-8s %12s %12s %12s %10s %10s\n' op none tenantcore plpgsql tc/none plpgsql/none
    declare -A M
    for op in insert update delete; do
        for v in none tc plpgsql; do
            M[$v]=$(median_of "$2" "$op,$v")
        done
        awk -v op="$op" -v n="${M[none]}" -v t="${M[tc]}" -v p="${M[plpgsql]}" -v rows="$BENCH_ROWS" 'BEGIN {
            printf "%-8s %12.1f %12.1f %12.1f %9.2fx %9.2fx\n", op, n, t, p, t / n, p / n
            if (op == "delete")
                printf "delete: trigger cost per row: tenantcore %.2f us, plpgsql %.2f us, ratio %.2f\n",
                       (t - n) * 1000 / rows, (p - n) * 1000 / rows, (t - n) / (p - n)
        }'
    done
}
report "backend CPU time, $BENCH_ROWS-row statements, 20-column table, median of $BENCH_ROUNDS runs (ms)" T
report "elapsed time, same statements (ms; includes waiting for a CPU on a busy machine)" W

# the storage floor against the targets: the best ratio a trigger writing
# these entries could reach, and the entries' size
echo
echo "storage floor: the tenantcore entries inserted without a trigger into a copy of the log as they found it (heap, WAL, hash index on record_id, actor btree, BRIN), median of $BENCH_ROUNDS runs"
printf '%-8s %10s %12s %12s %12s %12s\n' op entries 'bytes/entry' 'bytes/row' 'floor ms' 'none+floor'
for op in insert update delete; do
    f=$(median_of F "$op")
    n=$(median_of T "$op,none")
    p=$(median_of T "$op,plpgsql")
    read -r cnt bytes <<< "$(q -At -F ' ' -c "SELECT count(*), coalesce(round(avg(pg_column_size(a.*))), 0)
                                                FROM tenantcore.audit_log a WHERE operation = upper('$op')")"
    awk -v op="$op" -v f="$f" -v n="$n" -v p="$p" -v cnt="$cnt" -v bytes="$bytes" -v rb="$ROWBYTES" -v rows="$BENCH_ROWS" 'BEGIN {
        printf "%-8s %10d %12d %12d %12.1f %11.2fx\n", op, cnt, bytes, rb, f, (n + f) / n
        if (op == "delete")
            printf "delete: storing an entry costs %.2f us, 0.35 of the plpgsql trigger cost per row (the target) is %.2f us\n",
                   f * 1000 / rows, (p - n) * 1000 / rows * 0.35
    }'
done

# single-row inserts from several clients: the variants take turns, ROUNDS
# times, so a burst of other load on the machine hits all of them alike;
# the median of each variant's rounds is reported
echo
echo "single-row INSERT, pgbench -c $BENCH_CLIENTS, $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s per variant, variants in turn"
declare -A TPS
for v in none tc plpgsql; do
    cat > "$tmpdir/$v.sql" <<SQL
\set g random(1, 1000000)
INSERT INTO clients_$v (organization_id, business_name, legal_name, tax_id, primary_contact_email,
                       primary_contact_name, business_type, annual_revenue, financial_data)
VALUES (('00000000-0000-0000-0000-' || lpad((:g % 1000)::text, 12, '0'))::uuid, 'Business ' || :g,
        'Legal ' || :g, lpad(:g::text, 9, '0'), 'c' || :g || '@example.com', 'Contact ' || :g, 'LLC',
        :g * 1.5, jsonb_build_object('balance', :g));
SQL
done
for round in $(seq 1 "$BENCH_ROUNDS"); do
    for v in none tc plpgsql; do
        TPS[$v,$round]=$("$PGBENCH" -n -c "$BENCH_CLIENTS" -j "$BENCH_CLIENTS" -T "$BENCH_SECONDS" -f "$tmpdir/$v.sql" 2>/dev/null \
                         | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    done
done
declare -A TPSM
for v in none tc plpgsql; do
    vals=(); for round in $(seq 1 "$BENCH_ROUNDS"); do vals+=("${TPS[$v,$round]}"); done
    echo "tps $v: ${vals[*]}"
    TPSM[$v]=$(median "${vals[@]}")
done
awk -v n="${TPSM[none]}" -v t="${TPSM[tc]}" -v p="${TPSM[plpgsql]}" 'BEGIN {
    printf "tps (median): none %.0f, tenantcore %.0f (%.2fx), plpgsql %.0f (%.2fx)\n", n, t, t / n, p, p / n }'

# tamper evidence: sealing and verifying ROWS entries, and single-row tps
# with audit_seal() running every second next to the writers
SEAL_ROUNDS=${SEAL_ROUNDS:-$BENCH_ROUNDS}
echo
reset
q -c "$(insert_sql clients_tc)" >/dev/null
q -c 'SELECT tenantcore.audit_seal()' >/dev/null   # the seal point
seal=$(time_ms "SELECT tenantcore.audit_seal()")
verify=$(time_ms "SELECT count(*) FROM tenantcore.audit_verify()")
entries=$(q -At -c "SELECT coalesce(sum(entries), 0) FROM tenantcore.audit_seals")
awk -v s="${seal%% *}" -v v="${verify%% *}" -v n="$entries" 'BEGIN {
    printf "audit_seal(): %d entries sealed in %.1f ms CPU (%.2f us per entry); audit_verify(): %.1f ms (%.2f us per entry)\n",
           n, s, s * 1000 / n, v, v * 1000 / n }'
# seal_all: seal everything written so far (two calls: the first closes the
# range up to its seal point, the second the one up to the point the first
# set), out of the timed rounds, so that a sealing round seals only the
# entries written during it, not those of the round before
seal_all() {
    q -c 'SELECT count(*) FROM tenantcore.audit_seal()' -c 'SELECT count(*) FROM tenantcore.audit_seal()' >/dev/null
}
# seal_rounds CLIENTS: SEAL_ROUNDS pairs of rounds of pgbench with CLIENTS
# clients, without and with audit_seal() every second alongside, the order
# alternating between pairs (the log grows as the rounds go); prints the
# rounds and the medians' ratio
seal_rounds() {
    local clients=$1 round v order vals p s
    declare -A STPS
    for round in $(seq 1 "$SEAL_ROUNDS"); do
        order="plain sealing"; [ $((round % 2)) -eq 0 ] && order="sealing plain"
        for v in $order; do
            seal_all
            if [ "$v" = sealing ]; then
                ( end=$((SECONDS + BENCH_SECONDS)); while [ "$SECONDS" -lt "$end" ]; do
                      q -c 'SELECT tenantcore.audit_seal()' >/dev/null 2>&1 || true; sleep 1; done ) &
                sealer=$!
            fi
            STPS[$v,$round]=$("$PGBENCH" -n -c "$clients" -j "$clients" -T "$BENCH_SECONDS" -f "$tmpdir/tc.sql" 2>/dev/null \
                              | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
            if [ "$v" = sealing ]; then wait "$sealer"; fi
        done
    done
    vals=(); for round in $(seq 1 "$SEAL_ROUNDS"); do vals+=("${STPS[plain,$round]}"); done
    echo "tps plain, $clients clients: ${vals[*]}"
    p=$(median "${vals[@]}")
    vals=(); for round in $(seq 1 "$SEAL_ROUNDS"); do vals+=("${STPS[sealing,$round]}"); done
    echo "tps sealing, $clients clients: ${vals[*]}"
    s=$(median "${vals[@]}")
    awk -v p="$p" -v s="$s" -v c="$clients" 'BEGIN {
        printf "tps (median), %d clients: tenantcore %.0f, with audit_seal() every second %.0f (%.2fx)\n", c, p, s, s / p }'
}
echo "single-row INSERT into the audited table, $SEAL_ROUNDS pairs of rounds of ${BENCH_SECONDS}s, without and with audit_seal() every second alongside, in alternating order; every round starts with the log sealed"
echo "$BENCH_CLIENTS clients (the machine's cores busy: the sealer's CPU competes with the writers):"
seal_rounds "$BENCH_CLIENTS"
echo "1 client (CPU to spare for the sealer: what the writers themselves pay):"
seal_rounds 1
q -At -c "SELECT 'seals made while writing: ' || count(*) || ', verify findings: ' ||
                 (SELECT count(*) FROM tenantcore.audit_verify() WHERE tampered) FROM tenantcore.audit_seals"

# history() as the application role and as a superuser
echo
bash "$(dirname "$0")/history.sh"
