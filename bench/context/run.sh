#!/usr/bin/env bash
# bench/context/run.sh -- cost of the signed tenant context.
#
# A non-owner application role reads one row by primary key from an isolated
# table (100 tenants x 1,000 rows) in a transaction that first sets the
# tenant, three ways mixed in one pgbench run (-M prepared, so the token is a
# bind parameter as in an application):
#   open   -- SELECT tenantcore.set_tenant($1)
#   hs256  -- SELECT tenantcore.set_context_token($1), an HS256 token
#   es256  -- SELECT tenantcore.set_context_token($1), an ES256 token
# Each transaction picks one of TOKENS tenants at random and first fetches its
# credentials (tenant id, both tokens) from a table, the same statement for
# all three, like an application taking them from its session.  The tokens
# repeat, as a pooled connection sees one user's token on many requests, so
# the per-session cache of verified tokens answers after the first use.  A
# second run of all three, as a role with tenantcore.jwt_cache_size = 0,
# verifies every token every time (the uncached cost).  A plpgsql loop inside the server
# gives the cost of the calls alone, in microseconds.  Prints the latencies
# and the ratios measured in this run; target: hs256 / open and es256 / open
# <= 1.05 (cached).
#
# Started by bench/run.sh (PGHOST, PGPORT, PGUSER, PGDATABASE exported), or
# standalone against a server with tenantcore installed that this script may
# ALTER SYSTEM (it points tenantcore.jwt_keys_file at generated keys and
# restores the setting at exit):
#   PGHOST=... PGPORT=... PGUSER=postgres bash bench/context/run.sh
# Run as root or as the server's OS user (the key file must be the server's).
# Environment: BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5), TOKENS
# (default 100), LOOPS (server-side calls per measurement, default 2000).
set -euo pipefail

TOKENS=${TOKENS:-100}
LOOPS=${LOOPS:-2000}
ROWS=1000
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../lib.sh"
bench_defaults 3 5 - -
export PGDATABASE=${PGDATABASE:-bench_context}
APP=tc_bench_ctx_app
NOCACHE=tc_bench_ctx_nocache
tool=(python3 "$TC_ROOT/test/helpers/jwt_tool.py")

psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" | grep -q 1 \
    || psql -X -q -d postgres -c "CREATE DATABASE \"$PGDATABASE\""

keys=$(mktemp -d /tmp/tc-bench-context.XXXXXX)
tmp=$(mktemp /tmp/tc-bench-context.XXXXXX)
original=$(psql -XAtq -d postgres -c "SHOW tenantcore.jwt_keys_file")
cleanup() {
    psql -XAtq -d postgres -c "ALTER SYSTEM SET tenantcore.jwt_keys_file = '$original'" \
         -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
    rm -rf "$keys" "$tmp"
}
trap cleanup EXIT

# keys: an HMAC secret and a P-256 key pair, readable by the server only
"${tool[@]}" keys "$keys"
"${tool[@]}" jwks hs1:oct:"$keys/hs.key" ec1:ec:"$keys/ec.pem" > "$keys/jwks.json"
[ "$(id -un)" = postgres ] || chown -R postgres: "$keys"
chmod 600 "$keys"/*
chmod 711 "$keys"
psql -XAtq -d postgres -c "ALTER SYSTEM SET tenantcore.jwt_keys_file = '$keys/jwks.json'" \
     -c "SELECT pg_reload_conf()" >/dev/null

say "context: loading $TOKENS tenants x $ROWS rows, signing $TOKENS HS256 and $TOKENS ES256 tokens ..."
psql -X -q -v ON_ERROR_STOP=1 -v rows="$ROWS" -v tokens="$TOKENS" <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS bench CASCADE;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_bench_ctx_app') THEN
        CREATE ROLE tc_bench_ctx_app LOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_bench_ctx_nocache') THEN
        CREATE ROLE tc_bench_ctx_nocache LOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_bench_ctx_owner') THEN
        CREATE ROLE tc_bench_ctx_owner NOLOGIN;
    END IF;
END $$;
SELECT tenantcore.grant_app_role('tc_bench_ctx_app'), tenantcore.grant_app_role('tc_bench_ctx_nocache');
ALTER ROLE tc_bench_ctx_nocache SET tenantcore.jwt_cache_size = 0;
CREATE SCHEMA bench AUTHORIZATION tc_bench_ctx_owner;
GRANT USAGE ON SCHEMA bench TO tc_bench_ctx_app, tc_bench_ctx_nocache;
CREATE TABLE bench.items (organization_id uuid NOT NULL, id int NOT NULL, body text NOT NULL,
                          PRIMARY KEY (organization_id, id));
INSERT INTO bench.items
SELECT md5(t::text)::uuid, g, 'item ' || g FROM generate_series(1, :tokens) t, generate_series(1, :rows) g;
SELECT tenantcore.isolate('bench.items');
ALTER TABLE bench.items OWNER TO tc_bench_ctx_owner;
CREATE TABLE bench.creds (n int PRIMARY KEY, tenant uuid NOT NULL, hs256 text, es256 text);
INSERT INTO bench.creds SELECT t, md5(t::text)::uuid FROM generate_series(1, :tokens) t;
GRANT SELECT ON bench.items, bench.creds TO tc_bench_ctx_app, tc_bench_ctx_nocache;
ANALYZE bench.items, bench.creds;
SQL
for n in $(seq 1 "$TOKENS"); do
    tenant=$(psql -XAtq -c "SELECT tenant FROM bench.creds WHERE n = $n")
    claims="{\"exp\": \"@+86400\", \"tenant_id\": \"$tenant\", \"actor_id\": \"$tenant\"}"
    printf '%s\t%s\t%s\n' "$n" "$("${tool[@]}" sign HS256 "$keys/hs.key" '{"kid": "hs1"}' "$claims")" \
        "$("${tool[@]}" sign ES256 "$keys/ec.pem" '{"kid": "ec1"}' "$claims")"
done > "$tmp"
psql -X -q -v ON_ERROR_STOP=1 \
    -c "CREATE TEMP TABLE t (n int, hs256 text, es256 text)" \
    -c "\\copy t FROM '$tmp'" \
    -c "UPDATE bench.creds c SET hs256 = t.hs256, es256 = t.es256 FROM t WHERE t.n = c.n"

# the plan: the policy's tenant is an index condition
plan=$(psql -XAtq -U "$APP" -c "BEGIN" -c "SELECT tenantcore.set_tenant(md5('1')::uuid)" \
    -c "EXPLAIN (COSTS OFF) SELECT id, body FROM bench.items WHERE id = 7" -c "COMMIT")
grep -q 'Index Scan' <<<"$plan" || { say "the indexed SELECT is not an index scan:"; say "$plan"; exit 1; }

# run_pgbench ROLE SECONDS SCRIPT... prints "script latency_ms" and
# "script:set latency_ms" (the statement that sets the tenant; pgbench -r)
run_pgbench() {
    local role=$1 seconds=$2 f files=(); shift 2
    for f in "$@"; do files+=("$DIR/scripts/$f.pgbench"); done
    bench_latencies "$seconds" set 'SELECT tenantcore\\.set_' -M prepared -U "$role" \
        -D tokens="$TOKENS" -D rows="$ROWS" -- "${files[@]}"
}

say "warming up ..."
run_pgbench "$APP" 2 open hs256 es256 >/dev/null
say "measuring: pgbench -n -r -M prepared -c 1, $BENCH_ROUNDS rounds x $BENCH_SECONDS s, cached and uncached"
for r in $(seq 1 "$BENCH_ROUNDS"); do
    record < <(run_pgbench "$APP" "$BENCH_SECONDS" open hs256 es256)
    run_pgbench "$NOCACHE" "$BENCH_SECONDS" open hs256 es256 | sed 's/^/nocache_/' > "$tmp"
    record < "$tmp"
    say "  round $r of $BENCH_ROUNDS done"
done

# inside the server: LOOPS calls in one transaction, microseconds per call
server_us() {  # server_us ROLE EXPRESSION (over row c of bench.creds)
    psql -XAtq -U "$1" -v ON_ERROR_STOP=1 -c "BEGIN" -c "
        CREATE FUNCTION pg_temp.t() RETURNS float8 LANGUAGE plpgsql AS \$\$
        DECLARE c bench.creds; s timestamptz; i int;
        BEGIN
            SELECT * INTO c FROM bench.creds WHERE n = 1;
            PERFORM $2;
            s := clock_timestamp();
            FOR i IN 1..$LOOPS LOOP PERFORM $2; END LOOP;
            RETURN extract(epoch FROM clock_timestamp() - s) * 1e6 / $LOOPS;
        END \$\$" -c "SELECT round(pg_temp.t()::numeric, 2)" -c "COMMIT"
}
for r in $(seq 1 "$BENCH_ROUNDS"); do
    {
        echo "srv_open $(server_us "$APP" "tenantcore.set_tenant(c.tenant)")"
        echo "srv_hs256 $(server_us "$APP" "tenantcore.set_context_token(c.hs256)")"
        echo "srv_es256 $(server_us "$APP" "tenantcore.set_context_token(c.es256)")"
        echo "srv_nocache_hs256 $(server_us "$NOCACHE" "tenantcore.set_context_token(c.hs256)")"
        echo "srv_nocache_es256 $(server_us "$NOCACHE" "tenantcore.set_context_token(c.es256)")"
    } > "$tmp"
    record < "$tmp"
done

# shellcheck disable=SC2086
{
say ""
say "results (median over $BENCH_ROUNDS rounds; transaction = credentials lookup, BEGIN, set, indexed SELECT, COMMIT):"
printf '  %-22s %16s %16s %18s\n' variant "transaction ms" "set statement ms" "in server us/call"
printf '  %-22s %16.4f %16.4f %18.2f\n' "open set_tenant" "$(median ${runs[open]})" "$(median ${runs[open:set]})" "$(median ${runs[srv_open]})"
printf '  %-22s %16.4f %16.4f %18.2f\n' "HS256 token, cached" "$(median ${runs[hs256]})" "$(median ${runs[hs256:set]})" "$(median ${runs[srv_hs256]})"
printf '  %-22s %16.4f %16.4f %18.2f\n' "ES256 token, cached" "$(median ${runs[es256]})" "$(median ${runs[es256:set]})" "$(median ${runs[srv_es256]})"
printf '  %-22s %16.4f %16.4f %18.2f\n' "HS256 token, uncached" "$(median ${runs[nocache_hs256]})" "$(median ${runs[nocache_hs256:set]})" "$(median ${runs[srv_nocache_hs256]})"
printf '  %-22s %16.4f %16.4f %18.2f\n' "ES256 token, uncached" "$(median ${runs[nocache_es256]})" "$(median ${runs[nocache_es256:set]})" "$(median ${runs[srv_nocache_es256]})"
say ""
say "ratios (transaction time; target for the cached tokens: <= 1.05):"
for v in hs256 es256; do
    per_round=$(ratios "$v" open | paste -sd' ')
    r=$(median $per_round | awk '{printf "%.3f", $1}')
    say "  $v cached / open   = $r ($(awk -v r="$r" 'BEGIN{print (r <= 1.05 ? "meets target" : "ABOVE TARGET")}'); rounds: $per_round)"
done
for v in hs256 es256; do
    per_round=$(ratios "nocache_$v" nocache_open | paste -sd' ')
    say "  $v uncached / open = $(median $per_round | awk '{printf "%.3f", $1}') (rounds: $per_round)"
done
}
