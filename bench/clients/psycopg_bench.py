"""bench/clients/psycopg_bench.py -- started by bench/clients/run.sh: the
tenantcore transaction with psycopg 3 through PgBouncer, for each way of
sending the tenant, against the explicit-filter statement.  Prints
"variant/psycopg latency_ms" per variant and round (average per transaction).

Environment: PGBOUNCER_PORT, PGDATABASE, ROUNDS, LOOPS (transactions per
variant and round), BLOCK (transactions per variant before switching, so
that load from other processes hits all variants alike; default 100).
"""
import hashlib
import os
import random
import time

import psycopg

PORT = int(os.environ["PGBOUNCER_PORT"])
ROUNDS = int(os.environ.get("ROUNDS", 5))
LOOPS = int(os.environ.get("LOOPS", 3000))
BLOCK = int(os.environ.get("BLOCK", 100))
TENANTS = [hashlib.md5(str(n).encode()).hexdigest() for n in range(1, 101)]
PLAIN = "SELECT id, status, amount FROM bench.items_plain WHERE organization_id = %s AND id = %s"
TC = "SELECT id, status, amount FROM bench.items_tc WHERE id = %s"


def pick():
    n = random.randint(1, 100)
    return TENANTS[n - 1], (n - 1) * 1000 + random.randint(1, 1000)


def explicit(conn, cur):
    tenant, id_ = pick()
    return conn.execute(PLAIN, [tenant, id_]).fetchone()


def naive(conn, cur):
    tenant, id_ = pick()
    with conn.transaction():
        conn.execute("SELECT tenantcore.set_tenant(%s)", [tenant])
        return conn.execute(TC, [id_]).fetchone()


def pipeline_transaction(conn, cur):
    # psycopg 3.1 syncs the pipeline when the transaction block starts and
    # ends: several round trips
    tenant, id_ = pick()
    with conn.pipeline(), conn.transaction():
        conn.execute("SELECT tenantcore.set_tenant(%s)", [tenant])
        c = conn.execute(TC, [id_])
    return c.fetchone()


def pipeline(conn, cur):
    # BEGIN and COMMIT as statements: one Sync, one round trip
    tenant, id_ = pick()
    with conn.pipeline():
        conn.execute("BEGIN")
        conn.execute("SELECT tenantcore.set_tenant(%s)", [tenant])
        c = conn.execute(TC, [id_])
        conn.execute("COMMIT")
    return c.fetchone()


def one_message(conn, cur):
    # cur is a psycopg.ClientCursor: parameters bound on the client, so
    # several statements go out as one simple-protocol message
    tenant, id_ = pick()
    cur.execute("SELECT tenantcore.set_tenant(%s); " + TC, [tenant, id_])
    cur.nextset()
    return cur.fetchone()


VARIANTS = [explicit, naive, pipeline_transaction, pipeline, one_message]


def main():
    with psycopg.connect(host="127.0.0.1", port=PORT, dbname=os.environ["PGDATABASE"], user="bench_app",
                         autocommit=True, prepare_threshold=None) as conn:
        cur = psycopg.ClientCursor(conn)
        for v in VARIANTS:  # warm up, and check that each way returns the row
            for _ in range(200):
                row = v(conn, cur)
                assert row is not None, f"{v.__name__} returned no row"
        for _ in range(ROUNDS):
            spent = {v.__name__: 0.0 for v in VARIANTS}
            for _ in range(LOOPS // BLOCK):
                for v in VARIANTS:
                    start = time.perf_counter()
                    for _ in range(BLOCK):
                        v(conn, cur)
                    spent[v.__name__] += time.perf_counter() - start
            for name, s in spent.items():
                print(f"{name}/psycopg {1000 * s / (LOOPS // BLOCK * BLOCK):.4f}")


if __name__ == "__main__":
    main()
