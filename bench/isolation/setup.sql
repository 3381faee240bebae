-- bench/isolation/setup.sql -- three copies of the same 1,000,000-row table
-- (1,000 tenants x 1,000 rows, interleaved on disk as if written over time):
--   items_plain  no row level security; queried with WHERE organization_id = ...
--   items_tc     isolated by tenantcore.isolate()
--   items_seed   the policy of seed 004: USING (organization_id = get_current_tenant_id())
--                through a plpgsql SECURITY DEFINER function
-- Tenant n (1..1000) is md5(n::text)::uuid, so pgbench scripts can compute it.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_owner') THEN
        CREATE ROLE bench_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_app') THEN
        CREATE ROLE bench_app LOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;
SELECT tenantcore.grant_app_role('bench_app');
SELECT tenantcore.grant_app_role('bench_owner');

CREATE SCHEMA bench AUTHORIZATION bench_owner;
GRANT USAGE ON SCHEMA bench TO bench_app;

SET ROLE bench_owner;

CREATE TABLE bench.items_plain (
    organization_id uuid          NOT NULL,
    id              bigint        NOT NULL,
    created_at      timestamptz   NOT NULL,
    customer        text          NOT NULL,
    status          text          NOT NULL,
    amount          numeric(12,2) NOT NULL,
    note            text
);
INSERT INTO bench.items_plain
SELECT md5((1 + (g::bigint * 7919) % 1000)::text)::uuid,
       g,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '30 seconds',
       'customer ' || (g % 5000),
       (ARRAY['draft', 'sent', 'paid', 'void'])[1 + g % 4],
       (g % 100000) / 100.0,
       md5(g::text)
  FROM generate_series(1, 1000000) g;

CREATE TABLE bench.items_tc (LIKE bench.items_plain);
INSERT INTO bench.items_tc SELECT * FROM bench.items_plain;
CREATE TABLE bench.items_seed (LIKE bench.items_plain);
INSERT INTO bench.items_seed SELECT * FROM bench.items_plain;

-- the same keys and indexes on all three, led by the tenant column
ALTER TABLE bench.items_plain ADD PRIMARY KEY (organization_id, id);
ALTER TABLE bench.items_tc    ADD PRIMARY KEY (organization_id, id);
ALTER TABLE bench.items_seed  ADD PRIMARY KEY (organization_id, id);
CREATE INDEX ON bench.items_plain (organization_id, created_at);
CREATE INDEX ON bench.items_tc    (organization_id, created_at);
CREATE INDEX ON bench.items_seed  (organization_id, created_at);

-- (a) tenantcore (the primary key is led by organization_id, so isolate()
--     creates no further index)
SELECT tenantcore.isolate('bench.items_tc');

-- (c) seed 004's tenant function and policy.  The seed's fallback to
--     auth.jwt() is left out (there is no auth schema here); the function is,
--     as in the seed, plpgsql, SECURITY DEFINER and (by default) VOLATILE.
CREATE FUNCTION bench.get_current_tenant_id() RETURNS uuid AS $$
BEGIN
    RETURN (current_setting('app.current_tenant_id', true))::uuid;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;
ALTER TABLE bench.items_seed ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation_items ON bench.items_seed
    USING (organization_id = bench.get_current_tenant_id());

GRANT SELECT ON bench.items_plain, bench.items_tc, bench.items_seed TO bench_app;
RESET ROLE;

VACUUM (FREEZE, ANALYZE) bench.items_plain, bench.items_tc, bench.items_seed;
CHECKPOINT;
