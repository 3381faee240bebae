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
# Environment: ROWS (default 100000) e-mail addresses for tenantcore,
# SEED_ROWS (default ROWS) for the seed's functions (slow: ~0.3-0.9 ms each),
# LOOKUP_SECONDS (default 5) per pgbench run (3 runs per variant).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROWS=${ROWS:-100000}
SEED_ROWS=${SEED_ROWS:-$ROWS}
LOOKUP_SECONDS=${LOOKUP_SECONDS:-5}
export PGDATABASE=${PGDATABASE:-bench_crypto}
PGBENCH=${PGBENCH:-$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)}
TENANT=00000000-0000-4000-8000-0000000000b1

PGDATABASE=postgres psql -Xqtc "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" | grep -q 1 \
    || PGDATABASE=postgres createdb "$PGDATABASE"

echo "setting up $ROWS e-mail addresses"
psql -Xq -v ON_ERROR_STOP=1 -v rows="$ROWS" -f "$HERE/setup.sql" >/dev/null

# best of two runs of each statement, in milliseconds, in one session
times=$(psql -Xqt -v ON_ERROR_STOP=1 <<SQL
SET app.encryption_key = '$(head -c24 /dev/urandom | base64)';
SELECT tenantcore.set_tenant('$TENANT', false);
CREATE FUNCTION pg_temp.ms(q text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; best numeric := NULL; i int;
BEGIN
    FOR i IN 1..2 LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN round(best, 1);
END
\$\$;
-- warm up the key cache and the table
SELECT count(tenantcore.encrypt_pii(email)) FROM emails WHERE id <= 10;
CREATE TEMP TABLE tc_ct AS SELECT id, tenantcore.encrypt_pii(email) AS c FROM emails;
CREATE TEMP TABLE seed_ct AS SELECT id, seed.encrypt_pii(email) AS c FROM emails WHERE id <= $SEED_ROWS;
SELECT 'tc_enc', pg_temp.ms('SELECT count(tenantcore.encrypt_pii(email)) FROM emails');
SELECT 'tc_dec', pg_temp.ms('SELECT count(tenantcore.decrypt_pii(c)) FROM tc_ct');
SELECT 'seed_enc', pg_temp.ms('SELECT count(seed.encrypt_pii(email)) FROM emails WHERE id <= $SEED_ROWS');
SELECT 'seed_dec', pg_temp.ms('SELECT count(seed.decrypt_pii(c)) FROM seed_ct');
SELECT 'none', pg_temp.ms('SELECT count(email) FROM emails');
SELECT 'check', count(*) FROM tc_ct JOIN emails USING (id) WHERE tenantcore.decrypt_pii(c) = email;
SELECT 'ct_len', round(avg(octet_length(c)), 1) FROM tc_ct;
SELECT 'seed_len', round(avg(octet_length(c)), 1) FROM seed_ct;
SQL
)
val() { echo "$times" | awk -F'|' -v k="$1" '{gsub(/ /,"",$1); gsub(/ /,"",$2)} $1==k {print $2}'; }
tc_enc=$(val tc_enc); tc_dec=$(val tc_dec); seed_enc=$(val seed_enc); seed_dec=$(val seed_dec)
[ "$(val check)" = "$ROWS" ] || { echo "tenantcore round trip failed" >&2; exit 1; }

per_us() { awk -v ms="$1" -v n="$2" 'BEGIN { printf "%.1f", ms * 1000 / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
tc_enc_us=$(per_us "$tc_enc" "$ROWS"); tc_dec_us=$(per_us "$tc_dec" "$ROWS")
seed_enc_us=$(per_us "$seed_enc" "$SEED_ROWS"); seed_dec_us=$(per_us "$seed_dec" "$SEED_ROWS")

echo
echo "== encryption of $ROWS e-mail addresses (seed functions on $SEED_ROWS), best of 2 =="
printf '%-34s %12s %12s\n' "" "encrypt" "decrypt"
printf '%-34s %9s us %9s us\n' "seed plpgsql (passphrase GUC, S2K)" "$seed_enc_us" "$seed_dec_us"
printf '%-34s %9s us %9s us\n' "tenantcore (C, per-tenant key)" "$tc_enc_us" "$tc_dec_us"
printf '%-34s %11sx %11sx   (target >= 25x)\n' "tenantcore speed-up" "$(ratio "$seed_enc_us" "$tc_enc_us")" "$(ratio "$seed_dec_us" "$tc_dec_us")"
echo "ciphertext: tenantcore $(val ct_len) bytes (bytea), seed $(val seed_len) bytes (base64 text)"

echo
echo "== equality lookup on $ROWS rows, pgbench 1 client, prepared, best of 3 x ${LOOKUP_SECONDS}s each =="
tps() {
    PGOPTIONS="-c tenantcore.tenant_id=$TENANT" "$PGBENCH" -n -M prepared -c 1 -T "$LOOKUP_SECONDS" \
        -D rows="$ROWS" -f "$1" 2>/dev/null | awk '/^tps/ {print $3; exit}'
}
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
