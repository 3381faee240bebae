#!/usr/bin/env bash
# test/shell/jwt_tokens.sh -- tenantcore.set_context_token() with real keys.
#
# Generates throwaway keys (RSA, P-256, Ed25519, HMAC) with the openssl tool,
# writes their JWKS into a private directory and points
# tenantcore.jwt_keys_file at it (ALTER SYSTEM, restored at exit).  As an
# application role in signed context mode: every algorithm sets tenant and
# actor; two tenants stay isolated (also in parallel workers); the context
# lasts for the transaction only (COMMIT, ROLLBACK, savepoints); expired,
# not-yet-valid, wrong-issuer, wrong-audience, tampered, unsigned,
# algorithm-confused and unknown-key tokens are refused with SQLSTATE 28000;
# a startup option cannot smuggle a tenant in; tenantcore.context_token cannot
# pin a tenant for the session; keys rotate by replacing the
# file (the old kid is refused at once, also for cached tokens); no token and
# no key ever shows in an error or in the server log.  Needs PGHOST/PGPORT/PGUSER
# of a running server; run as root or as the server's OS user.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tool=(python3 "$here/../helpers/jwt_tool.py")
A=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11
C=c2eebc99-9c0b-4ef8-bb6d-6bb9bd380a33
U=b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22
db=tc_jwt_$$
app=tc_jwt_app_$$
owner=tc_jwt_owner_$$
dir=$(mktemp -d /tmp/tc-jwt.XXXXXX)
chmod 700 "$dir"
original=$(psql -XAtq -d postgres -c "SHOW tenantcore.jwt_keys_file")
errlog=$dir/client.log
: > "$errlog"

su() { psql -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"; }
reload() { psql -XAtq -d postgres -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.3; }

cleanup() {
    psql -XAtq -d postgres -c "ALTER SYSTEM SET tenantcore.jwt_keys_file = '$original'" \
         -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
    dropdb --if-exists "$db" >/dev/null 2>&1 || true
    psql -XAtq -d postgres -c "DROP ROLE IF EXISTS $app" -c "DROP ROLE IF EXISTS $owner" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

# --- keys, readable by the server user only --------------------------------
"${tool[@]}" keys "$dir"
"${tool[@]}" jwks rsa1:rsa:"$dir/rsa.pem" ec1:ec:"$dir/ec.pem" ed1:ed:"$dir/ed.pem" hs1:oct:"$dir/hs.key" > "$dir/jwks.json"
# the rotated file: rsa1 replaced by rsa2
"${tool[@]}" jwks rsa2:rsa:"$dir/rsa2.pem" ec1:ec:"$dir/ec.pem" ed1:ed:"$dir/ed.pem" hs1:oct:"$dir/hs.key" > "$dir/jwks.next"
hs_k=$(python3 -c 'import json,sys; print([k["k"] for k in json.load(open(sys.argv[1]))["keys"] if k["kty"] == "oct"][0])' "$dir/jwks.json")
if [ "$(id -un)" != postgres ]; then
    chown postgres: "$dir" "$dir"/*
fi
chmod 600 "$dir"/*
chmod 711 "$dir"

psql -XAtq -d postgres -c "ALTER SYSTEM SET tenantcore.jwt_keys_file = '$dir/jwks.json'" >/dev/null
reload

# --- database, roles, two tenants --------------------------------------------
createdb "$db"
su <<SQL >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE $owner NOLOGIN;
SELECT tenantcore.grant_app_role('$app');
ALTER ROLE $app SET tenantcore.context_mode = 'signed';
ALTER ROLE $app SET tenantcore.jwt_issuer = 'https://issuer.test';
ALTER ROLE $app SET tenantcore.jwt_audience = 'tenantcore-test';
CREATE SCHEMA app AUTHORIZATION $owner;
GRANT USAGE ON SCHEMA app TO $app;
CREATE TABLE app.notes (organization_id uuid NOT NULL, body text NOT NULL);
INSERT INTO app.notes VALUES ('$A', 'a1'), ('$A', 'a2'), ('$C', 'c1');
SELECT tenantcore.isolate('app.notes');
ALTER TABLE app.notes OWNER TO $owner;
GRANT SELECT, INSERT ON app.notes TO $app;
SQL

# sign ALG KEYFILE HEADER PAYLOAD
sign() { "${tool[@]}" sign "$@"; }
claims() {  # claims TENANT [extra JSON members]
    echo "{\"iss\": \"https://issuer.test\", \"aud\": \"tenantcore-test\", \"exp\": \"@+300\", \"iat\": \"@-5\", \"tenant_id\": \"$1\"${2:+, $2}}"
}

# The token travels in a setting, so that no statement text holds it: the
# server log records the text of failing statements (as it would an inlined
# token; applications pass it as a bind parameter).
SET_TOKEN="SELECT tenantcore.set_context_token(current_setting('tc.token'))"
with_token() { printf "SET tc.token = '%s'" "$1"; }

failed=0
tokens=()
# expect NAME EXPECTED [psql options...]: run psql as the application role,
# compare its output (errors with SQLSTATE, without LOCATION lines; the
# seconds of time claim details, which depend on how fast the test runs, as N)
expect() {
    local name=$1 expected=$2 out
    shift 2
    out=$(psql -X -q -At -v VERBOSITY=verbose -U "${as_user:-$app}" -d "$db" "$@" 2>&1 | grep -v '^LOCATION:' | sed -E 's/lies [0-9]+ seconds/lies N seconds/' || true)
    printf '%s\n' "$out" >> "$errlog"
    if [ "$out" = "$expected" ]; then
        echo "ok: $name"
    else
        echo "FAILED: $name" >&2
        diff -u --label expected --label actual <(printf '%s\n' "$expected") <(printf '%s\n' "$out") >&2 || true
        failed=1
    fi
}

# --- every algorithm sets tenant and actor; isolation ------------------------
t_hs=$(sign HS256 "$dir/hs.key" '{"kid": "hs1"}' "$(claims $A "\"actor_id\": \"$U\"")")
t_rs=$(sign RS256 "$dir/rsa.pem" '{"kid": "rsa1", "typ": "JWT"}' "$(claims $A "\"actor_id\": \"$U\"")")
t_es=$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "$(claims $A "\"actor_id\": \"$U\"")")
t_ed=$(sign EdDSA "$dir/ed.pem" '{"kid": "ed1"}' "$(claims $A "\"actor_id\": \"$U\"")")
t_c=$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "$(claims $C)")
tokens+=("$t_hs" "$t_rs" "$t_es" "$t_ed" "$t_c")
for t in "HS256 $t_hs" "RS256 $t_rs" "ES256 $t_es" "EdDSA $t_ed"; do
    expect "${t%% *} token sets tenant and actor" "$A
$A|$U|2|a1,a2" \
        -c "$(with_token "${t#* }")" -c "BEGIN" -c "$SET_TOKEN" \
        -c "SELECT tenantcore.current_tenant(), tenantcore.current_actor(), count(*), string_agg(body, ',' ORDER BY body) FROM app.notes" \
        -c "COMMIT"
done
expect "second tenant sees only its rows, no actor claim means no actor" "$C
$C|t|1|c1" \
    -c "$(with_token "$t_c")" -c "BEGIN" -c "$SET_TOKEN" \
    -c "SELECT tenantcore.current_tenant(), tenantcore.current_actor() IS NULL, count(*), string_agg(body, ',') FROM app.notes" \
    -c "COMMIT"
expect "a token switches tenant inside one session, and a write is checked against it" "$A
$C
1
ERROR:  42501: new row violates row-level security policy for table \"notes\"" \
    -c "BEGIN" -c "$(with_token "$t_es")" -c "$SET_TOKEN" -c "COMMIT" \
    -c "BEGIN" -c "$(with_token "$t_c")" -c "$SET_TOKEN" -c "SELECT count(*) FROM app.notes" \
    -c "INSERT INTO app.notes VALUES ('$A', 'forged')" -c "ROLLBACK"
expect "parallel workers see the verified tenant" "$A
2" \
    -c "$(with_token "$t_rs")" -c "BEGIN" -c "$SET_TOKEN" \
    -c "SET LOCAL force_parallel_mode = on" -c "SET LOCAL parallel_setup_cost = 0" \
    -c "SELECT count(*) FROM app.notes" -c "COMMIT"

# --- transaction scope --------------------------------------------------------
expect "after COMMIT and ROLLBACK no tenant is left" "$A
t|0
$A
t|0" \
    -c "$(with_token "$t_hs")" -c "BEGIN" -c "$SET_TOKEN" -c "COMMIT" \
    -c "SELECT tenantcore.current_tenant() IS NULL, count(*) FROM app.notes" \
    -c "BEGIN" -c "$SET_TOKEN" -c "ROLLBACK" \
    -c "SELECT tenantcore.current_tenant() IS NULL, count(*) FROM app.notes"
expect "savepoints: ROLLBACK TO restores the tenant before it, also after a refused token" "$A
$C
$A
ERROR:  28000: token signature does not verify
$A" \
    -c "BEGIN" -c "$(with_token "$t_es")" -c "$SET_TOKEN" -c "SAVEPOINT s" \
    -c "$(with_token "$t_c")" -c "$SET_TOKEN" -c "ROLLBACK TO s" -c "SELECT tenantcore.current_tenant()" \
    -c "SAVEPOINT s2" -c "$(with_token "${t_c%.*}.${t_es##*.}")" -c "$SET_TOKEN" -c "ROLLBACK TO s2" \
    -c "SELECT tenantcore.current_tenant()" -c "COMMIT"
expect "outside a transaction block the token lasts one statement" "WARNING:  25P01: set_context_token() outside a transaction block only lasts until the end of the statement
HINT:  Call it after BEGIN.
$A
t" \
    -c "$(with_token "$t_es")" -c "$SET_TOKEN" -c "SELECT tenantcore.current_tenant() IS NULL"
expect "the verified tenant cannot be overwritten by SET in the same transaction" "$A
ERROR:  42501: tenantcore.tenant_id cannot be set in signed context mode
DETAIL:  tenantcore.context_mode is \"signed\": only a verified token sets the tenant and the actor.
HINT:  Call tenantcore.set_context_token() with the signed token of the request." \
    -c "BEGIN" -c "$(with_token "$t_es")" -c "$SET_TOKEN" -c "SET LOCAL tenantcore.tenant_id = '$C'" -c "ROLLBACK"
# PGOPTIONS is read at connection start, before the role's context_mode applies
PGOPTIONS="-c tenantcore.tenant_id=$A" expect "a startup option cannot smuggle a tenant in, not even into parallel workers" "t|0" \
    -c "SET force_parallel_mode = on" -c "SET parallel_setup_cost = 0" \
    -c "SELECT tenantcore.current_tenant() IS NULL, count(*) FROM app.notes"

# --- refused tokens -------------------------------------------------------------
refused() {  # refused NAME TOKEN EXPECTED-ERROR-LINES
    tokens+=("$2")
    expect "$1" "$3
t|0" -c "BEGIN" -c "$(with_token "$2")" -c "$SET_TOKEN" -c "ROLLBACK" \
        -c "SELECT tenantcore.current_tenant() IS NULL, count(*) FROM app.notes"
}
refused "expired token" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "$(claims $A '"exp": "@-100"')")" \
    'ERROR:  28000: token expired
DETAIL:  Its "exp" claim lies N seconds in the past.'
refused "token without exp" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "{\"iss\": \"https://issuer.test\", \"aud\": \"tenantcore-test\", \"tenant_id\": \"$A\"}")" \
    'ERROR:  28000: token has no "exp" claim
DETAIL:  Tokens without an expiry time are not accepted.'
refused "nbf in the future" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "$(claims $A '"nbf": "@+100"')")" \
    'ERROR:  28000: token is not valid yet
DETAIL:  Its "nbf" claim lies N seconds in the future.'
refused "iat in the future" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "$(claims $A '"iat": "@+100"')")" \
    'ERROR:  28000: token was issued in the future
DETAIL:  Its "iat" claim lies N seconds in the future.'
expect "within the leeway (expired 10 s ago, nbf in 10 s) a token is accepted" "$A" \
    -c "BEGIN" -c "$(with_token "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "$(claims $A '"exp": "@-10", "nbf": "@+10"')")")" \
    -c "$SET_TOKEN" -c "ROLLBACK"
refused "wrong issuer" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "{\"iss\": \"https://evil.test\", \"aud\": \"tenantcore-test\", \"exp\": \"@+300\", \"tenant_id\": \"$A\"}")" \
    'ERROR:  28000: token issuer does not match tenantcore.jwt_issuer'
refused "no issuer" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "{\"aud\": \"tenantcore-test\", \"exp\": \"@+300\", \"tenant_id\": \"$A\"}")" \
    'ERROR:  28000: token issuer does not match tenantcore.jwt_issuer
DETAIL:  The token has no "iss" claim.'
refused "wrong audience" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "{\"iss\": \"https://issuer.test\", \"aud\": [\"other\", \"more\"], \"exp\": \"@+300\", \"tenant_id\": \"$A\"}")" \
    'ERROR:  28000: token audience does not match tenantcore.jwt_audience'
expect "an audience array holding ours is accepted" "$A" \
    -c "BEGIN" -c "$(with_token "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "{\"iss\": \"https://issuer.test\", \"aud\": [\"other\", \"tenantcore-test\"], \"exp\": \"@+300\", \"tenant_id\": \"$A\"}")")" \
    -c "$SET_TOKEN" -c "ROLLBACK"
refused "tampered payload (tenant C under the signature of a token for A)" "${t_es%%.*}.$(echo "$t_c" | cut -d. -f2).${t_es##*.}" \
    'ERROR:  28000: token signature does not verify'
sig=${t_rs##*.}; flipped=${sig:0:20}$( [ "${sig:20:1}" = A ] && echo B || echo A )${sig:21}
refused "tampered signature" "${t_rs%.*}.$flipped" 'ERROR:  28000: token signature does not verify'
refused "truncated signature" "${t_ed%.*}.${sig:0:40}" 'ERROR:  28000: token signature does not verify'
refused "alg none" "$(sign none /dev/null '{}' "$(claims $A)")" \
    'ERROR:  28000: token algorithm "none" is not accepted
DETAIL:  Unsigned tokens prove nothing.'
refused "alg confusion: HS256 keyed with the RSA public key, kid of the RSA key" \
    "$(sign HS256 "$dir/rsa.pub.pem" '{"kid": "rsa1"}' "$(claims $A)")" \
    'ERROR:  28000: key "rsa1" does not verify HS256 tokens
DETAIL:  It is a key for RS256.'
refused "alg confusion: RS256 header on a token for the HMAC key" \
    "$(sign HS256 "$dir/hs.key" '{"kid": "hs1", "alg": "RS256"}' "$(claims $A)")" \
    'ERROR:  28000: key "hs1" does not verify RS256 tokens
DETAIL:  It is a key for HS256.'
refused "alg confusion without kid: the one HS256 key does not verify it" \
    "$(sign HS256 "$dir/rsa.pub.pem" '{}' "$(claims $A)")" 'ERROR:  28000: token signature does not verify'
refused "unknown kid" "$(sign ES256 "$dir/ec.pem" '{"kid": "k2"}' "$(claims $A)")" \
    'ERROR:  28000: unknown key id "k2"
HINT:  The key may have been rotated out of tenantcore.jwt_keys_file.'
refused "tenant claim not a uuid" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "$(claims acme)")" \
    'ERROR:  28000: token claim "tenant_id" is not a uuid
HINT:  Issue tokens whose "tenant_id" claim is a uuid, or change tenantcore.jwt_tenant_claim and tenantcore.jwt_actor_claim.'
refused "no tenant claim" "$(sign ES256 "$dir/ec.pem" '{"kid": "ec1"}' "{\"iss\": \"https://issuer.test\", \"aud\": \"tenantcore-test\", \"exp\": \"@+300\"}")" \
    'ERROR:  28000: token has no "tenant_id" claim naming the tenant
HINT:  Issue tokens with the claim, or change tenantcore.jwt_tenant_claim.'
expect "without kid a token is accepted when exactly one key fits its algorithm" "$A" \
    -c "BEGIN" -c "$(with_token "$(sign EdDSA "$dir/ed.pem" '{}' "$(claims $A)")")" -c "$SET_TOKEN" -c "ROLLBACK"

# --- settings of a superuser session: nested claims, cached tokens expire --------
nested=$(sign HS256 "$dir/hs.key" '{"kid": "hs1"}' "{\"exp\": \"@+300\", \"app\": {\"org\": \"$C\", \"user\": \"$U\"}}")
short=$(sign HS256 "$dir/hs.key" '{"kid": "hs1"}' "{\"exp\": \"@+2\", \"tenant_id\": \"$A\"}")
tokens+=("$nested" "$short")
su_user=${PGUSER:-postgres}
as_user=$su_user expect "dotted claim paths name nested claims (set_context_token works in open mode too)" "$C
$U" \
    -c "SET tenantcore.jwt_tenant_claim = 'app.org'" -c "SET tenantcore.jwt_actor_claim = 'app.user'" \
    -c "BEGIN" -c "$(with_token "$nested")" -c "$SET_TOKEN" -c "SELECT tenantcore.current_actor()" -c "COMMIT"
as_user=$su_user expect "a cached token is refused once it expires" "$A
ERROR:  token expired" \
    -c "SET tenantcore.jwt_leeway = 0" -c "$(with_token "$short")" \
    -c "BEGIN" -c "$SET_TOKEN" -c "COMMIT" -c "\\! sleep 3" -c "\\set VERBOSITY terse" \
    -c "BEGIN" -c "$SET_TOKEN" -c "COMMIT"

# --- key rotation: replace the file (and reload): new kid works, old kid refused --
t_rs2=$(sign RS256 "$dir/rsa2.pem" '{"kid": "rsa2"}' "$(claims $A)")
tokens+=("$t_rs2")
expect "key rotation within one session (the cached rsa1 token is refused too)" "$A
ERROR:  28000: unknown key id \"rsa2\"
HINT:  The key may have been rotated out of tenantcore.jwt_keys_file.
ERROR:  28000: unknown key id \"rsa1\"
HINT:  The key may have been rotated out of tenantcore.jwt_keys_file.
$A
$A" \
    -c "BEGIN" -c "$(with_token "$t_rs")" -c "$SET_TOKEN" -c "COMMIT" \
    -c "BEGIN" -c "$(with_token "$t_rs2")" -c "$SET_TOKEN" -c "ROLLBACK" \
    -c "\\! mv '$dir/jwks.next' '$dir/jwks.json'" -c "\\! psql -XAtq -d postgres -c 'SELECT pg_reload_conf()' >/dev/null" \
    -c "BEGIN" -c "$(with_token "$t_rs")" -c "$SET_TOKEN" -c "ROLLBACK" \
    -c "BEGIN" -c "$(with_token "$t_rs2")" -c "$SET_TOKEN" -c "COMMIT" \
    -c "BEGIN" -c "$(with_token "$t_es")" -c "$SET_TOKEN" -c "COMMIT"
expect "a broken key file is an error that shows neither path nor keys" "ERROR:  F0000: could not load the keys of tenantcore.jwt_keys_file
DETAIL:  The file is not a JSON object.
HINT:  A superuser points tenantcore.jwt_keys_file at a JWKS file (a JSON object with a \"keys\" array) readable by the server." \
    -c "\\! cp -p '$dir/jwks.json' '$dir/jwks.good' && printf '{\"keys\": [{\"kty\": \"oct\", \"k\": \"$hs_k\"' > '$dir/jwks.json'" \
    -c "BEGIN" -c "$(with_token "$t_es")" -c "$SET_TOKEN" -c "ROLLBACK" \
    -c "\\! mv '$dir/jwks.good' '$dir/jwks.json'"

# --- tenantcore.context_token cannot pin a tenant (red-team review of 0.7.0) ----
# The token setting of Citus nodes: a plain SET (or set_config()) of a valid
# token was accepted and gave its tenant to every later transaction of the
# session, beyond exp.  Refused now, without the statement (which holds the
# token, here on purpose) in the server log; without Citus SET LOCAL too.
t_pin=$(sign HS256 "$dir/hs.key" '{"kid": "hs1"}' "$(claims $A "\"actor_id\": \"$U\", \"jti\": \"pin\"")")
tokens+=("$t_pin")
expect "SET tenantcore.context_token of a valid token is refused, no tenant in this or the next transaction" "ERROR:  22023: tenantcore.context_token can only be set for a transaction
DETAIL:  It carries the signed token of set_context_token() to the nodes of a Citus cluster.
HINT:  Call tenantcore.set_context_token() with the signed token of the request.
t|t|0
ERROR:  22023: tenantcore.context_token can only be set for a transaction
DETAIL:  It carries the signed token of set_context_token() to the nodes of a Citus cluster.
HINT:  Call tenantcore.set_context_token() with the signed token of the request.
t|t|0" \
    -c "SET tenantcore.context_token = '$t_pin'" \
    -c "SELECT tenantcore.current_tenant() IS NULL, tenantcore.current_actor() IS NULL, count(*) FROM app.notes" \
    -c "$(with_token "$t_pin")" -c "SELECT set_config('tenantcore.context_token', current_setting('tc.token'), false)" \
    -c "BEGIN" -c "SET LOCAL force_parallel_mode = on" -c "SET LOCAL parallel_setup_cost = 0" \
    -c "SELECT tenantcore.current_tenant() IS NULL, tenantcore.current_actor() IS NULL, count(*) FROM app.notes" -c "COMMIT"
expect "SET LOCAL tenantcore.context_token is refused without Citus" "ERROR:  22023: tenantcore.context_token is only used on the nodes of a Citus cluster
DETAIL:  It carries the signed token of set_context_token() to the nodes of a Citus cluster.
HINT:  Call tenantcore.set_context_token() with the signed token of the request." \
    -c "BEGIN" -c "SET LOCAL tenantcore.context_token = '$t_pin'" -c "ROLLBACK"

# --- stored and configured tenants are refused (also for superusers) ----------
out=$(psql -X -q -At -d postgres -c "ALTER SYSTEM SET tenantcore.tenant_id = '$A'" 2>&1 || true)
if [ "$out" = "ERROR:  tenantcore.tenant_id cannot be set in the server configuration
DETAIL:  Every session would run inside that value.
HINT:  Set it per transaction with tenantcore.set_tenant()." ]; then echo "ok: ALTER SYSTEM SET tenantcore.tenant_id is refused"
else echo "FAILED: ALTER SYSTEM: $out" >&2; failed=1; fi

# --- no token and no key in any message or in the server log ---------------------
datadir=$(psql -XAtq -d postgres -c "SHOW data_directory")
serverlog=$(dirname "$datadir")/server.log
leaks=0
for t in "${tokens[@]}"; do
    for part in "${t%%.*}" "$(echo "$t" | cut -d. -f2)" "${t##*.}"; do
        [ ${#part} -ge 16 ] || continue
        if grep -qF -- "$part" "$errlog"; then leaks=1; echo "token part in client messages" >&2; fi
        if [ -r "$serverlog" ] && grep -qF -- "$part" "$serverlog"; then leaks=1; echo "token part in the server log" >&2; fi
    done
done
if grep -qF -- "$hs_k" "$errlog" || { [ -r "$serverlog" ] && grep -qF -- "$hs_k" "$serverlog"; }; then
    leaks=1; echo "HMAC key in messages or log" >&2
fi
if [ "$leaks" -eq 0 ]; then
    echo "ok: no token and no key in client messages${serverlog:+ or $( [ -r "$serverlog" ] && echo "the server log" || echo "(server log not readable)")}"
else failed=1; fi

[ "$failed" -eq 0 ] && echo "jwt_tokens: all checks passed"
exit "$failed"
