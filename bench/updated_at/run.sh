#!/usr/bin/env bash
# bench/updated_at/run.sh -- the cost of keeping updated_at current.
#
# A 200,000-row table shaped like the seeds' tables (12 columns); an UPDATE of
# one column of every row, timed inside the server, for:
#   none        no trigger
#   tenantcore  tenantcore.track_updated_at() (C trigger)
#   seed        the seeds' plpgsql update_updated_at_column() trigger
# The three variants are three copies of the same table.  Every UPDATE runs in
# a subtransaction that is rolled back, so no round leaves dead rows for the
# next; the variants take turns in a random order, and each figure is the median over the rounds.
#
# Started by bench/run.sh (PGHOST, PGPORT, PGDATABASE exported).
# Settings (bench/lib.sh): BENCH_ROUNDS (default 7), BENCH_ROWS (default 200000).
set -euo pipefail

. "$(dirname "$0")/../lib.sh"
bench_defaults 7 - - 200000

psql -X -q -v ON_ERROR_STOP=1 -v rows="$BENCH_ROWS" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
CREATE SCHEMA ub;
CREATE TABLE ub.none (
    organization_id uuid NOT NULL, id bigint NOT NULL, name text NOT NULL, email text,
    phone text, status text NOT NULL, revenue numeric(12,2), tags text[],
    metadata jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz,
    PRIMARY KEY (organization_id, id));
INSERT INTO ub.none (organization_id, id, name, email, phone, status, revenue, tags, metadata)
SELECT ('00000000-0000-4000-8000-' || lpad((i % 100)::text, 12, '0'))::uuid, i,
       'client ' || i, 'c' || i || '@example.com', '+1555' || i, 'active', i * 1.5,
       ARRAY['a', 'b'], jsonb_build_object('n', i)
  FROM generate_series(1, :rows) i;
CREATE TABLE ub.tenantcore (LIKE ub.none INCLUDING ALL);
INSERT INTO ub.tenantcore SELECT * FROM ub.none;
CREATE TABLE ub.seed (LIKE ub.none INCLUDING ALL);
INSERT INTO ub.seed SELECT * FROM ub.none;
SELECT tenantcore.track_updated_at('ub.tenantcore');
CREATE FUNCTION ub.update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;
CREATE TRIGGER update_updated_at BEFORE UPDATE ON ub.seed
    FOR EACH ROW EXECUTE FUNCTION ub.update_updated_at_column();
VACUUM ANALYZE ub.none, ub.tenantcore, ub.seed;

-- time one UPDATE of every row of a table, rolled back, in milliseconds
CREATE FUNCTION ub.time_update(rel regclass) RETURNS float8 LANGUAGE plpgsql AS
$$
DECLARE
    t0 timestamptz;
    ms float8;
BEGIN
    BEGIN
        t0 := clock_timestamp();
        EXECUTE format('UPDATE %s SET status = ''inactive''', rel);
        ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'rollback';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RETURN ms;
END
$$;
CREATE TABLE ub.timings (variant text, ms float8);
SQL

for _ in $(seq "$BENCH_ROUNDS"); do
    psql -X -q -v ON_ERROR_STOP=1 -c "
        INSERT INTO ub.timings SELECT v, ub.time_update(('ub.' || v)::regclass)
          FROM (SELECT v FROM unnest(ARRAY['none', 'tenantcore', 'seed']) v ORDER BY random()) o"
done

psql -X -q -v ON_ERROR_STOP=1 -v rows="$BENCH_ROWS" -v rounds="$BENCH_ROUNDS" <<'SQL'
\pset footer off
\echo updated_at: UPDATE of one column of :rows rows, median of :rounds rounds
WITH m AS (
    SELECT variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
      FROM ub.timings GROUP BY variant)
SELECT m.variant,
       round(m.ms::numeric, 1) AS ms,
       round((m.ms / n.ms)::numeric, 2) AS "x none",
       round(((m.ms - n.ms) * 1000 / :rows)::numeric, 3) AS "trigger us/row"
  FROM m, m n WHERE n.variant = 'none'
 ORDER BY m.ms;
WITH m AS (
    SELECT variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
      FROM ub.timings GROUP BY variant)
SELECT round(((s.ms - n.ms) / NULLIF(t.ms - n.ms, 0))::numeric, 1)
           AS "seed trigger cost / tenantcore trigger cost"
  FROM m s, m t, m n WHERE s.variant = 'seed' AND t.variant = 'tenantcore' AND n.variant = 'none';
SQL
