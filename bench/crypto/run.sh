#!/usr/bin/env bash
# bench/crypto/run.sh -- PII encryption: tenantcore's encrypt_pii/decrypt_pii
# (random per-tenant data key, no password stretching) vs. the seed's
# plpgsql encrypt_pii/decrypt_pii (pgp_sym_encrypt with a passphrase from a
# GUC, default iterated S2K), on the same e-mail addresses; and a blind-index
# equality lookup vs. a plaintext index lookup (pgbench, one client).
#
# Started by bench/run.sh, or standalone against a running server that has a
# tenantcore master key configured:
#     PGHOST=... PGPORT=... PGUSER=postgres bash bench/crypto/run.sh
# Environment (bench/lib.sh): BENCH_ROWS (default 100000) e-mail addresses
# for tenantcore, BENCH_ROUNDS (default 10) interleaved rounds, BENCH_SECONDS
# (default 5) per pgbench run (3 runs per variant); SEED_ROWS (default
# BENCH_ROWS) for the seed's functions (slow: ~0.3-0.9 ms each).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
bench_defaults 10 5 - 100000
SEED_ROWS=${SEED_ROWS:-$BENCH_ROWS}
export PGDATABASE=${PGDATABASE:-bench_crypto}
TENANT=00000000-0000-4000-8000-0000000000b1

PGDATABASE=postgres psql -Xqtc "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" | grep -q 1 \
    || PGDATABASE=postgres createdb "$PGDATABASE"

echo "setting up $BENCH_ROWS e-mail addresses"
psql -Xq -v ON_ERROR_STOP=1 -v rows="$BENCH_ROWS" -f "$HERE/setup.sql" >/dev/null

# Interleaved rounds: each round encrypts (INSERT ... SELECT f(email)) and
# decrypts (SELECT count(f(c))) a slice with tenantcore, then a slice with the
# seed's functions, so load from elsewhere on the machine hits both alike.
# Wall time and the backend's own CPU time (/proc/self/stat) are summed.
CLK=$(getconf CLK_TCK)
n=$((BENCH_ROWS / BENCH_ROUNDS)); s=$((SEED_ROWS / BENCH_ROUNDS))
times=$(psql -Xqt -v ON_ERROR_STOP=1 <<SQL
SET app.encryption_key = '$(head -c24 /dev/urandom | base64)';
SELECT tenantcore.set_tenant('$TENANT', false);
CREATE FUNCTION pg_temp.cpu_ms() RETURNS numeric LANGUAGE sql AS \$\$
    SELECT (f[12]::numeric + f[13]::numeric) * 1000 / $CLK
      FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s
\$\$;
CREATE TEMP TABLE m (what text, wall numeric, cpu numeric);
CREATE FUNCTION pg_temp.run(what text, q text) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; c0 numeric;
BEGIN
    c0 := pg_temp.cpu_ms();
    t0 := clock_timestamp();
    EXECUTE q;
    INSERT INTO m VALUES (what, extract(epoch FROM clock_timestamp() - t0) * 1000, pg_temp.cpu_ms() - c0);
END
\$\$;
CREATE TEMP TABLE tc_ct (id int, c bytea);
CREATE TEMP TABLE seed_ct (id int, c text);
-- warm-up: key cache, pgcrypto loaded, plans
SELECT count(tenantcore.decrypt_pii(tenantcore.encrypt_pii(email))) FROM emails WHERE id <= 10;
SELECT count(seed.decrypt_pii(seed.encrypt_pii(email))) FROM emails WHERE id <= 2;
DO \$\$
BEGIN
    FOR r IN 0..$BENCH_ROUNDS - 1 LOOP
        PERFORM pg_temp.run('tc_enc', format('INSERT INTO tc_ct SELECT id, tenantcore.encrypt_pii(email) FROM emails WHERE id > %s AND id <= %s', r * $n, (r + 1) * $n));
        PERFORM pg_temp.run('seed_enc', format('INSERT INTO seed_ct SELECT id, seed.encrypt_pii(email) FROM emails WHERE id > %s AND id <= %s', r * $s, (r + 1) * $s));
        PERFORM pg_temp.run('tc_dec', format('SELECT count(tenantcore.decrypt_pii(c)) FROM tc_ct WHERE id > %s AND id <= %s', r * $n, (r + 1) * $n));
        PERFORM pg_temp.run('seed_dec', format('SELECT count(seed.decrypt_pii(c)) FROM seed_ct WHERE id > %s AND id <= %s', r * $s, (r + 1) * $s));
    END LOOP;
END
\$\$;
SELECT what, round(sum(wall), 1), round(sum(cpu), 1) FROM m GROUP BY what;
SELECT 'check', count(*), 0 FROM tc_ct JOIN emails USING (id) WHERE tenantcore.decrypt_pii(c) = email;
SELECT 'seed_check', count(*), 0 FROM seed_ct JOIN emails USING (id) WHERE seed.decrypt_pii(c) = email AND id <= 100;
SELECT 'ct_len', round(avg(octet_length(c)), 1), 0 FROM tc_ct;
SELECT 'seed_len', round(avg(octet_length(c)), 1), 0 FROM seed_ct;
SQL
)
val() { echo "$times" | awk -F'|' -v k="$1" -v col="$2" '{for (i = 1; i <= NF; i++) gsub(/ /, "", $i)} $1==k {print $col}'; }
[ "$(val check 2)" = "$((n * BENCH_ROUNDS))" ] || { echo "tenantcore round trip failed" >&2; exit 1; }
[ "$(val seed_check 2)" = "100" ] || { echo "seed round trip failed" >&2; exit 1; }

per_us() { awk -v ms="$1" -v n="$2" 'BEGIN { printf "%.1f", ms * 1000 / n }'; }
tcn=$((n * BENCH_ROUNDS)); sn=$((s * BENCH_ROUNDS))

echo
echo "== encryption of $tcn e-mail addresses with tenantcore and $sn with the seed's functions, $BENCH_ROUNDS interleaved rounds =="
printf '%-36s %14s %14s %14s %14s\n' "per value" "encrypt wall" "encrypt CPU" "decrypt wall" "decrypt CPU"
for who in seed tc; do
    label="seed plpgsql (passphrase GUC, S2K)"; cnt=$sn
    [ "$who" = tc ] && { label="tenantcore (C, per-tenant key)"; cnt=$tcn; }
    printf '%-36s %11s us %11s us %11s us %11s us\n' "$label" \
        "$(per_us "$(val ${who}_enc 2)" $cnt)" "$(per_us "$(val ${who}_enc 3)" $cnt)" \
        "$(per_us "$(val ${who}_dec 2)" $cnt)" "$(per_us "$(val ${who}_dec 3)" $cnt)"
done
for col in 2 3; do
    kind=wall; [ $col = 3 ] && kind=CPU
    printf '%-36s %13sx %28sx   (target >= 25x)\n' "tenantcore speed-up ($kind)" \
        "$(ratio "$(per_us "$(val seed_enc $col)" $sn)" "$(per_us "$(val tc_enc $col)" $tcn)")" \
        "$(ratio "$(per_us "$(val seed_dec $col)" $sn)" "$(per_us "$(val tc_dec $col)" $tcn)")"
done
echo "ciphertext: tenantcore $(val ct_len 2) bytes (bytea), seed $(val seed_len 2) bytes (base64 text)"

echo
echo "== equality lookup on $BENCH_ROWS rows, pgbench 1 client, prepared, best of 3 x ${BENCH_SECONDS}s each =="
tps() { PGOPTIONS="-c tenantcore.tenant_id=$TENANT" bench_tps -M prepared -c 1 -D rows="$BENCH_ROWS" -f "$1"; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }
tps "$HERE/lookup_plain.sql" >/dev/null  # warm-up
# alternate the two, best of three each, so load from elsewhere hits both alike
plain_tps=0; bidx_tps=0
for _ in 1 2 3; do
    plain_tps=$(best "$plain_tps" "$(tps "$HERE/lookup_plain.sql")")
    bidx_tps=$(best "$bidx_tps" "$(tps "$HERE/lookup_bidx.sql")")
done
printf '%-34s %12s tps\n' "plaintext index (email = ...)" "$plain_tps"
printf '%-34s %12s tps\n' "blind index (email_bidx = ...)" "$bidx_tps"
printf '%-34s %11sx   (target <= 1.5x)\n' "blind index time / plaintext time" "$(ratio "$plain_tps" "$bidx_tps")"

echo
echo "== reads of protected data recorded (tenantcore.audit_reads), pgbench 1 client, $BENCH_ROUNDS rounds x ${BENCH_SECONDS}s, off and on mixed in each run =="
# each script sets tenantcore.audit_reads first (both pay for the SET); with
# it on, the commit writes one audit_reads row per statement and column
for r in $(seq 1 "$BENCH_ROUNDS"); do
    record < <(PGOPTIONS="-c tenantcore.tenant_id=$TENANT" bench_latencies "$BENCH_SECONDS" - "" -M prepared \
                   -D rows="$BENCH_ROWS" -- "$HERE"/reads/one_off.pgbench "$HERE"/reads/one_on.pgbench)
    record < <(PGOPTIONS="-c tenantcore.tenant_id=$TENANT" bench_latencies "$BENCH_SECONDS" - "" -M prepared \
                   -D rows="$BENCH_ROWS" -- "$HERE"/reads/many_off.pgbench "$HERE"/reads/many_on.pgbench)
done
recorded=$(psql -XAtq -c "SELECT count(*), coalesce(sum(reads), 0) FROM tenantcore.audit_reads WHERE organization_id = '$TENANT'")
# shellcheck disable=SC2086
for v in one many; do
    off=$(median ${runs[${v}_off]}); on=$(median ${runs[${v}_on]})
    per_round=$(ratios "${v}_on" "${v}_off" | paste -sd' ')
    printf '%-34s off %8.3f ms  on %8.3f ms  on/off %sx (rounds: %s)\n' \
        "$([ "$v" = one ] && echo "1 row per transaction" || echo "1,000 rows per transaction")" \
        "$off" "$on" "$(median $per_round | awk '{printf "%.2f", $1}')" "$per_round"
done
awk -v one_off="$(median ${runs[one_off]})" -v one_on="$(median ${runs[one_on]})" \
    -v many_off="$(median ${runs[many_off]})" -v many_on="$(median ${runs[many_on]})" 'BEGIN {
    printf "recording costs %.1f us per transaction (one row) and %.3f us per value read beyond it (1,000 rows)\n",
           (one_on - one_off) * 1000, ((many_on - many_off) - (one_on - one_off)) * 1000 / 999 }'
echo "audit_reads rows written (statements x columns) and values counted: ${recorded/|/, }"
psql -XAtq -c "DELETE FROM tenantcore.audit_reads WHERE organization_id = '$TENANT'"
