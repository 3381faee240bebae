-- bench/isolation/server_side.sql -- the cost of the policy without the
-- client: bench.time_queries(n) runs both queries n times inside the server,
-- each iteration with a random tenant, and times the explicit-WHERE query and
-- the tenantcore one back to back (in alternating order), so both see the
-- same load.  Returns microseconds per query.  Call it as bench_app inside a
-- transaction block (set_tenant is transaction-scoped).
\set ON_ERROR_STOP 1
SET ROLE bench_owner;
CREATE FUNCTION bench.time_queries(n integer)
RETURNS TABLE (query text, explicit_us float8, tenantcore_us float8)
LANGUAGE plpgsql AS $$
DECLARE
    t  uuid;
    t0 timestamptz;
    t1 timestamptz;
    t2 timestamptz;
    e  float8[] := '{0,0}';     -- seconds: count, page
    c  float8[] := '{0,0}';
BEGIN
    FOR i IN 1..n LOOP
        t := md5((1 + floor(random() * 1000))::int::text)::uuid;
        PERFORM tenantcore.set_tenant(t);
        IF i % 2 = 0 THEN
            t0 := clock_timestamp();
            PERFORM count(*) FROM bench.items_plain WHERE organization_id = t;
            t1 := clock_timestamp();
            PERFORM count(*) FROM bench.items_tc;
            t2 := clock_timestamp();
            e[1] := e[1] + extract(epoch FROM t1 - t0); c[1] := c[1] + extract(epoch FROM t2 - t1);
            t0 := clock_timestamp();
            PERFORM id, created_at, customer, status, amount FROM bench.items_plain
              WHERE organization_id = t ORDER BY created_at DESC LIMIT 50;
            t1 := clock_timestamp();
            PERFORM id, created_at, customer, status, amount FROM bench.items_tc
              ORDER BY created_at DESC LIMIT 50;
            t2 := clock_timestamp();
            e[2] := e[2] + extract(epoch FROM t1 - t0); c[2] := c[2] + extract(epoch FROM t2 - t1);
        ELSE
            t0 := clock_timestamp();
            PERFORM count(*) FROM bench.items_tc;
            t1 := clock_timestamp();
            PERFORM count(*) FROM bench.items_plain WHERE organization_id = t;
            t2 := clock_timestamp();
            c[1] := c[1] + extract(epoch FROM t1 - t0); e[1] := e[1] + extract(epoch FROM t2 - t1);
            t0 := clock_timestamp();
            PERFORM id, created_at, customer, status, amount FROM bench.items_tc
              ORDER BY created_at DESC LIMIT 50;
            t1 := clock_timestamp();
            PERFORM id, created_at, customer, status, amount FROM bench.items_plain
              WHERE organization_id = t ORDER BY created_at DESC LIMIT 50;
            t2 := clock_timestamp();
            c[2] := c[2] + extract(epoch FROM t1 - t0); e[2] := e[2] + extract(epoch FROM t2 - t1);
        END IF;
    END LOOP;
    RETURN QUERY VALUES ('count', e[1] / n * 1e6, c[1] / n * 1e6),
                        ('page',  e[2] / n * 1e6, c[2] / n * 1e6);
END
$$;
RESET ROLE;
