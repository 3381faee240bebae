# test/helpers/citus_test.sh -- shared by the Citus tests (test/shell/citus_audit.sh,
# citus_crypto.sh, citus_distribute.sh), sourced after scripts/lib.sh and
# scripts/citus.sh.  The tests set $app (the application role) and failed=0.

# citus_test_cluster OFFSET: Citus installed or built from its source (without
# either the test prints scripts/citus.sh's SKIP line and passes), then a
# coordinator and two workers of the test's own, on the Citus tests' base port
# plus OFFSET (each test its own ports: a cluster stopped by one test can hold
# its ports for a moment)
citus_test_cluster() {
    local rc=0
    tc_citus_ensure || rc=$?
    if [ $rc -eq 2 ]; then exit 0; fi
    [ $rc -eq 0 ] || exit $rc
    TC_CITUS_PORT=$(( ${TC_CITUS_PORT:-$(( ${TC_PORT:-56800} - 29990 ))} + $1 ))
    tc_citus_cluster_start
}

# su: psql as the superuser on the coordinator, tuples only
su() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# expect NAME EXPECTED SQL [user]: run SQL on the coordinator (as the
# application role unless a user is given) and compare the output, errors
# included (without the CONTEXT lines of Citus and PL/pgSQL)
expect() {
    local name=$1 expected=$2 sql=$3 user=${4:-$app} out
    out=$(psql -X -q -At -h 127.0.0.1 -p "${TC_CITUS_PORTS[0]}" -U "$user" -d tenantcore_citus \
              -c "$sql" 2>&1 | grep -v '^CONTEXT:\|^PL/pgSQL\|^SQL statement\|^while executing' || true)
    if [ "$out" = "$expected" ]; then
        echo "ok: $name"
    else
        echo "FAILED: $name" >&2
        diff -u --label expected --label actual <(printf '%s\n' "$expected") <(printf '%s\n' "$out") >&2 || true
        failed=1
    fi
}

# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" = "$3" ]; then echo "ok: $1"; else
        echo "FAILED: $1" >&2; echo "  expected: $2" >&2; echo "  actual:   $3" >&2; failed=1; fi
}

# pick TABLE PORT: the first of 50 made-up tenants whose shard of the
# distributed TABLE is on the worker at PORT
pick() {
    su -c "SELECT u FROM (SELECT ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid u
             FROM generate_series(1, 50) i) s
           WHERE (SELECT nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                  WHERE p.shardid = get_shard_id_for_distribution_column('$1', u)) = $2
           ORDER BY u LIMIT 1"
}

# run_plan CONDITION: runs citus_plan()'s statements for the rows matching
# CONDITION (SQL on citus_plan()'s columns) on the coordinator, as a DBA
# would paste them, in order; one ok/FAILED line
run_plan() {
    local out
    su -c "SELECT statement FROM tenantcore.citus_plan() WHERE kind <> 'problem' AND ($1) ORDER BY step, rel::text" \
        > "$TC_CITUS_DIR/plan.sql"
    if out=$(su -c "SET client_min_messages = warning" -f "$TC_CITUS_DIR/plan.sql" 2>&1); then
        echo "ok: the steps run"
    else
        echo "FAILED: the steps run: $out" >&2; failed=1
    fi
}
