#!/usr/bin/env bash
# bench/core/run.sh -- cost of tenantcore.has_permission() inside a row level
# security policy.  One tenant's 10,000 rows (of 30,000 in three tenants) are
# read by a non-owner application role through three copies of one table:
#   plain  -- the tenant isolation policy only
#   tc     -- plus a restrictive policy USING (tenantcore.has_permission('clients.read'))
#   seed   -- plus a restrictive policy calling a seed-style plpgsql
#             SECURITY DEFINER has_permission(user, resource, action) that
#             queries the role tables (seed 004's has_permission(auth.uid(), ...))
# Three queries: count(*) over the tenant's 10,000 rows, a 50-row page, and
# "calls": the check alone, called for each of 10,000 rows of generate_series()
# (its argument depends on the row, so the planner cannot hoist it into a
# one-time filter, which it does for a constant argument outside a policy).
# Prints the time per query of each and the ratios measured in this run.
#
# Started by bench/run.sh (PGHOST, PGPORT, PGUSER, PGDATABASE exported), or
# standalone against any server with tenantcore installed:
#   PGHOST=... PGPORT=... PGUSER=postgres bash bench/core/run.sh
# Environment (bench/lib.sh): BENCH_ROWS per tenant (default 10000), BENCH_ROUNDS
# (repetitions, default 5); ITERATIONS (executions of each query per
# repetition, default 200).
set -euo pipefail

. "$(dirname "$0")/../lib.sh"
bench_defaults 5 - - 10000
ITERATIONS=${ITERATIONS:-200}
export PGDATABASE=${PGDATABASE:-bench_core}
APP=tc_bench_core_app

psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" | grep -q 1 \
    || psql -X -q -d postgres -c "CREATE DATABASE \"$PGDATABASE\""

q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

q -v rows="$BENCH_ROWS" -v app="$APP" <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS bench CASCADE;
DELETE FROM tenantcore.organizations WHERE slug LIKE 'bench-%';
DELETE FROM tenantcore.users WHERE email LIKE '%@bench.invalid';
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tc_bench_core_app') THEN
        CREATE ROLE tc_bench_core_app LOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END $$;
SELECT tenantcore.grant_app_role(:'app');
INSERT INTO tenantcore.permissions (key, description) VALUES ('clients.read', 'read clients') ON CONFLICT DO NOTHING;
INSERT INTO tenantcore.users (id, email) VALUES
    ('a0000000-0000-4000-8000-00000000000a', 'owner@bench.invalid'),
    ('b0000000-0000-4000-8000-00000000000b', 'reader@bench.invalid');

-- three tenants; in the first, the reader holds clients.read through a granted role
BEGIN;
SELECT tenantcore.set_actor('a0000000-0000-4000-8000-00000000000a');
SELECT tenantcore.set_tenant(tenantcore.create_organization('Bench 1', 'bench-1'));
SELECT tenantcore.create_organization('Bench 2', 'bench-2'), tenantcore.create_organization('Bench 3', 'bench-3');
SELECT tenantcore.add_member('b0000000-0000-4000-8000-00000000000b');
SELECT tenantcore.create_role('reader', 'Reader', '{clients.read}');
SELECT tenantcore.grant_role('b0000000-0000-4000-8000-00000000000b', 'reader');
COMMIT;

CREATE SCHEMA bench;
GRANT USAGE ON SCHEMA bench TO tc_bench_core_app;
CREATE TABLE bench.clients_plain (organization_id uuid NOT NULL, id int NOT NULL, business_name text NOT NULL,
                                  status text NOT NULL, annual_revenue numeric(14,2), PRIMARY KEY (organization_id, id));
INSERT INTO bench.clients_plain
SELECT o.id, g, 'client ' || g, CASE WHEN g % 5 = 0 THEN 'inactive' ELSE 'active' END, g * 10
  FROM tenantcore.organizations o, generate_series(1, :rows) g WHERE o.slug LIKE 'bench-%';
CREATE TABLE bench.clients_tc (LIKE bench.clients_plain INCLUDING ALL);
CREATE TABLE bench.clients_seed (LIKE bench.clients_plain INCLUDING ALL);
INSERT INTO bench.clients_tc SELECT * FROM bench.clients_plain;
INSERT INTO bench.clients_seed SELECT * FROM bench.clients_plain;
SELECT tenantcore.isolate('bench.clients_plain'), tenantcore.isolate('bench.clients_tc'), tenantcore.isolate('bench.clients_seed');

-- seed 004's has_permission(auth.uid(), resource, action): plpgsql, SECURITY DEFINER, one query per call
CREATE FUNCTION bench.seed_has_permission(uid uuid, resource text, action text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM tenantcore.organization_members m
          JOIN tenantcore.user_roles ur ON ur.organization_id = m.organization_id AND ur.user_id = m.user_id
          JOIN tenantcore.role_permissions rp ON rp.organization_id = ur.organization_id AND rp.role_id = ur.role_id
         WHERE m.organization_id = current_setting('tenantcore.tenant_id')::uuid AND m.user_id = uid
           AND m.status = 'active' AND rp.permission = resource || '.' || action);
END
$$;
CREATE POLICY need_read ON bench.clients_tc AS RESTRICTIVE FOR SELECT
    USING (tenantcore.has_permission('clients.read'));
CREATE POLICY need_read ON bench.clients_seed AS RESTRICTIVE FOR SELECT
    USING (bench.seed_has_permission(tenantcore.current_actor(), 'clients', 'read'));
GRANT SELECT ON ALL TABLES IN SCHEMA bench TO tc_bench_core_app;
-- avg_ms runs a query n times (after one warm-up run) and returns ms per run
CREATE FUNCTION bench.avg_ms(q text, n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
BEGIN
    EXECUTE q;
    t0 := clock_timestamp();
    FOR i IN 1 .. n LOOP
        EXECUTE q;
    END LOOP;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
END
$$;
VACUUM ANALYZE bench.clients_plain, bench.clients_tc, bench.clients_seed;

-- people (0.8.0): 10,000 persons, 2,000 of them members of the first tenant;
-- two copies of their rows, one with the policy "visible" of tenantcore.users
-- (_member_visible(), the tenant's members loaded once per statement), one
-- with the subquery it replaced (0.7.0: EXISTS over organization_members)
INSERT INTO tenantcore.users (id, email)
SELECT md5('bench person ' || g)::uuid, 'person' || g || '@bench.invalid' FROM generate_series(1, 10000) g;
INSERT INTO tenantcore.organization_members (organization_id, user_id, role, status, joined_at)
SELECT o.id, md5('bench person ' || g)::uuid, 'member', 'active', now()
  FROM tenantcore.organizations o, generate_series(1, 2000) g WHERE o.slug = 'bench-1';
CREATE TABLE bench.people_tc AS SELECT id, email, created_at FROM tenantcore.users WHERE email LIKE '%@bench.invalid';
CREATE TABLE bench.people_sub AS SELECT * FROM bench.people_tc;
ALTER TABLE bench.people_tc ADD PRIMARY KEY (id), ENABLE ROW LEVEL SECURITY;
ALTER TABLE bench.people_sub ADD PRIMARY KEY (id), ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible ON bench.people_tc FOR SELECT
    USING (id = tenantcore.current_actor() OR tenantcore._member_visible(id));
CREATE POLICY visible ON bench.people_sub FOR SELECT
    USING (id = tenantcore.current_actor()
           OR EXISTS (SELECT FROM tenantcore.organization_members m
                       WHERE m.organization_id = tenantcore.current_tenant() AND m.user_id = people_sub.id
                         AND m.status <> 'invited'));
GRANT SELECT ON bench.people_tc, bench.people_sub TO tc_bench_core_app;
VACUUM ANALYZE bench.people_tc, bench.people_sub, tenantcore.organization_members;
SQL

tenant=$(psql -XAt -c "SELECT id FROM tenantcore.organizations WHERE slug = 'bench-1'")
export PGOPTIONS="-c tenantcore.tenant_id=$tenant -c tenantcore.actor_id=b0000000-0000-4000-8000-00000000000b"

# the three variants must return the same rows, or the comparison means nothing
for v in plain tc seed; do
    n=$(psql -XAt -U "$APP" -c "SELECT count(*) FROM bench.clients_$v")
    if [ "$n" != "$BENCH_ROWS" ]; then
        echo "bench core: clients_$v shows $n rows to the reader, expected $BENCH_ROWS" >&2; exit 1
    fi
done
n=$(PGOPTIONS="-c tenantcore.tenant_id=$tenant -c tenantcore.actor_id=a0000000-0000-4000-8000-00000000000a" \
    psql -XAt -U "$APP" -c "SELECT count(*) FROM bench.clients_seed")
echo "check: rows of the tenant the reader sees in each variant: $BENCH_ROWS (the seed-style policy hides them from the owner, who has no granted role: $n)"

# the queries of each variant
declare -A sql
for v in plain tc seed; do
    sql[count.$v]="SELECT count(*) FROM bench.clients_$v WHERE status = 'active'"
    sql[page.$v]="SELECT id, business_name FROM bench.clients_$v WHERE status = 'active' ORDER BY id LIMIT 50 OFFSET 5000"
done
sql[calls.plain]="SELECT count(*) FROM generate_series(1, $BENCH_ROWS) g WHERE g > 0"
sql[calls.tc]="SELECT count(*) FROM generate_series(1, $BENCH_ROWS) g WHERE g > 0 AND tenantcore.has_permission(CASE WHEN g > 0 THEN 'clients.read' END)"
sql[calls.seed]="SELECT count(*) FROM generate_series(1, $BENCH_ROWS) g WHERE g > 0 AND bench.seed_has_permission(tenantcore.current_actor(), CASE WHEN g > 0 THEN 'clients' END, 'read')"

# Each repetition runs every variant in one session of the application role,
# interleaved, timing ITERATIONS executions inside the server (no client or
# connection noise); the seed-style variant, ~100x slower, runs 1/20 as often.
declare -A lat
order=(plain tc seed)
for rep in $(seq 1 "$BENCH_ROUNDS"); do
    for query in count page calls; do
        # one session per query and repetition: a warm-up run of every
        # variant first (the first queries of a backend are slower), then
        # the measured runs, in an order that rotates between repetitions
        script="SELECT bench.avg_ms(:'q_plain', 20), bench.avg_ms(:'q_tc', 20), bench.avg_ms(:'q_seed', 1);"
        for v in "${order[@]}"; do
            n=$ITERATIONS; [ "$v" = seed ] && n=$(( (ITERATIONS + 19) / 20 ))
            script="$script SELECT '$v', round(bench.avg_ms(:'q_$v', $n)::numeric, 3);"
        done
        while IFS='|' read -r v ms; do
            [ -n "$ms" ] && lat[$query.$v]="${lat[$query.$v]:-} $ms"
        done < <(echo "$script" | psql -XAt -U "$APP" -v ON_ERROR_STOP=1 -v q_plain="${sql[$query.plain]}" \
                                       -v q_tc="${sql[$query.tc]}" -v q_seed="${sql[$query.seed]}" | grep '|')
        order=("${order[@]:1}" "${order[0]}")
    done
done

echo
echo "has_permission() in a row level security policy, $BENCH_ROWS rows of the current tenant"
echo "(ms per query, median of $BENCH_ROUNDS repetitions of $ITERATIONS executions; seed-style: $(( (ITERATIONS + 19) / 20 )))"
printf '%-6s %12s %12s %12s %14s %14s\n' query plain_ms tc_ms seed_ms tc/plain seed/tc
for query in count page calls; do
    p=$(echo "${lat[$query.plain]}" | median); t=$(echo "${lat[$query.tc]}" | median); s=$(echo "${lat[$query.seed]}" | median)
    printf '%-6s %12s %12s %12s %14s %14s\n' "$query" "$p" "$t" "$s" \
        "$(awk -v a="$t" -v b="$p" 'BEGIN {printf "%.2fx", a / b}')" \
        "$(awk -v a="$s" -v b="$t" 'BEGIN {printf "%.1fx", a / b}')"
done
echo "(tc/plain: cost of the permission check over the isolation policy alone; seed/tc: the seed-style plpgsql check against tenantcore's)"

# people: the policy "visible" with _member_visible() vs the 0.7.0 subquery
n_tc=$(psql -XAt -U "$APP" -c "SELECT count(*) FROM bench.people_tc")
n_sub=$(psql -XAt -U "$APP" -c "SELECT count(*) FROM bench.people_sub")
if [ "$n_tc" != "$n_sub" ] || [ "$n_tc" != 2002 ]; then
    echo "bench core: the reader sees $n_tc persons through _member_visible(), $n_sub through the subquery (expected 2002: the 2,000 members, the owner and the reader)" >&2; exit 1
fi
declare -A people
people[count]="SELECT count(*) FROM bench.people_%s"
people[page]="SELECT id, email FROM bench.people_%s ORDER BY email LIMIT 50 OFFSET 1000"
people[one]="SELECT email FROM bench.people_%s WHERE id = md5('bench person 77')::uuid"
declare -A plat
for rep in $(seq 1 "$BENCH_ROUNDS"); do
    for query in count page one; do
        q_tc=$(printf "${people[$query]}" tc); q_sub=$(printf "${people[$query]}" sub)
        while IFS='|' read -r v ms; do
            [ -n "$ms" ] && plat[$query.$v]="${plat[$query.$v]:-} $ms"
        done < <(psql -XAt -U "$APP" -v ON_ERROR_STOP=1 -v q_tc="$q_tc" -v q_sub="$q_sub" <<EOF2 | grep '|'
SELECT bench.avg_ms(:'q_tc', 10), bench.avg_ms(:'q_sub', 10);
SELECT 'tc', round(bench.avg_ms(:'q_tc', $ITERATIONS)::numeric, 3);
SELECT 'sub', round(bench.avg_ms(:'q_sub', $ITERATIONS)::numeric, 3);
EOF2
)
    done
done
echo
echo "people (tenantcore.users' policy \"visible\"): 10,000 persons, 2,000 members of the tenant"
echo "(ms per query, median of $BENCH_ROUNDS repetitions of $ITERATIONS executions)"
printf '%-6s %12s %12s %14s\n' query tc_ms subquery_ms tc/subquery
for query in count page one; do
    t=$(echo "${plat[$query.tc]}" | median); u=$(echo "${plat[$query.sub]}" | median)
    printf '%-6s %12s %12s %14s\n' "$query" "$t" "$u" "$(awk -v a="$t" -v b="$u" 'BEGIN {printf "%.2fx", a / b}')"
done
echo "(tc: _member_visible(), the tenant's members loaded once per statement; subquery: the 0.7.0 policy)"
