-- bench/clients/setup.sql -- two copies of the same 100,000-row table (100
-- tenants x 1,000 rows, interleaved on disk as if written over time):
--   items_plain  no row level security; queried with WHERE organization_id = ... AND id = ...
--   items_tc     isolated by tenantcore.isolate(); queried with WHERE id = ...
-- Tenant n (1..100) is md5(n::text)::uuid and owns the ids (n - 1) * 1000 + 1
-- .. n * 1000, so pgbench scripts can compute both.
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
    status          text          NOT NULL,
    amount          numeric(12,2) NOT NULL,
    PRIMARY KEY (organization_id, id)
);
INSERT INTO bench.items_plain
SELECT md5(t::text)::uuid, (t - 1) * 1000 + k, timestamptz '2026-01-01' + k * interval '1 minute',
       (ARRAY['open', 'paid', 'void'])[1 + k % 3], (k % 997) * 1.25
  FROM generate_series(1, 1000) k, generate_series(1, 100) t
 ORDER BY k, t;
CREATE TABLE bench.items_tc (LIKE bench.items_plain INCLUDING ALL);
INSERT INTO bench.items_tc SELECT * FROM bench.items_plain;
SELECT tenantcore.isolate('bench.items_tc');
GRANT SELECT ON bench.items_plain, bench.items_tc TO bench_app;
RESET ROLE;
VACUUM ANALYZE bench.items_plain, bench.items_tc;
