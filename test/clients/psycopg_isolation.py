"""test/clients/psycopg_isolation.py -- tenantcore with psycopg 3 behind
PgBouncer in transaction pooling mode, started by test/shell/clients_pgbouncer.sh.

Environment: PGBOUNCER_PORT (PgBouncer on 127.0.0.1), PGDATABASE, WORKERS,
TXNS (transactions per worker), TENANTS (json: worker -> tenant uuid).
Prints "ok - ..." / "not ok - ..." lines; exits 1 on any failure.
"""
import json
import os
import sys
import threading
from collections import namedtuple

import psycopg

PORT = int(os.environ["PGBOUNCER_PORT"])
DB = os.environ["PGDATABASE"]
WORKERS = int(os.environ.get("WORKERS", 20))
TXNS = int(os.environ.get("TXNS", 200))
POOL_SIZE = int(os.environ.get("POOL_SIZE", 4))
TENANT_OF = {int(k): v for k, v in json.loads(os.environ["TENANTS"]).items()}
TENANTS = sorted(set(TENANT_OF.values()))

Notice = namedtuple("Notice", "severity sqlstate message_primary message_hint")
failures = []
lock = threading.Lock()


def check(cond, what):
    if not cond:
        with lock:
            failures.append(what)
        print(f"not ok - psycopg 3: {what}", flush=True)
    return cond


def connect(user="tc_clients_app", **kwargs):
    # autocommit=True: `with conn.transaction()` is then a real BEGIN/COMMIT.
    # prepare_threshold=None: psycopg prepares a query (a named prepared
    # statement) on its 5th execution by default, which breaks behind
    # PgBouncer < 1.21 in transaction mode.
    kwargs.setdefault("autocommit", True)
    return psycopg.connect(host="127.0.0.1", port=PORT, dbname=DB, user=user,
                           prepare_threshold=None, **kwargs)


READ = """SELECT organization_id::text, tenantcore.current_tenant()::text,
                 count(*), pg_backend_pid()
            FROM app.items GROUP BY 1, 2"""


def transaction(conn, w, tenant, other):
    """The request's statements; returns the cursors, read after the
    transaction (in a pipeline, results arrive when the pipeline syncs)."""
    return [
        conn.execute(READ),
        conn.execute("INSERT INTO app.items (client, worker, kind) VALUES ('python', %s, 'row') "
                     "RETURNING organization_id::text", [w]),
        conn.execute("UPDATE app.items SET n = n + 1 WHERE client = 'python' AND kind = 'counter' "
                     "AND worker = %s RETURNING organization_id::text", [w]),
        conn.execute("UPDATE app.items SET n = n + 1000 WHERE organization_id = %s RETURNING id", [other]),
    ]


def check_transaction(cursors, w, tenant, backends):
    read, ins, up, x = cursors
    rows = read.fetchall()
    check(len(rows) == 1 and rows[0][0] == tenant and rows[0][1] == tenant and rows[0][2] > 0,
          f"worker {w} read {rows} as tenant {tenant}")
    if rows:
        backends.append((rows[0][3], tenant))
    org = ins.fetchone()[0]
    check(org == tenant, f"worker {w} inserted a row of {org}")
    updated = up.fetchall()
    check(updated == [(tenant,)], f"worker {w} updated {updated}")
    check(x.fetchall() == [], f"worker {w} updated rows of another tenant")


def worker(w, backends):
    tenant = TENANT_OF[w]
    other = next(t for t in TENANTS if t != tenant)
    pipeline = w % 2 == 1
    with connect() as conn:
        for i in range(TXNS):
            if pipeline:
                # no extra round trip: BEGIN ... COMMIT as statements in one
                # pipeline, one Sync (`with conn.pipeline(), conn.transaction()`
                # is correct too, but psycopg 3.1 syncs at the block's start
                # and end: more round trips)
                try:
                    with conn.pipeline():
                        conn.execute("BEGIN")
                        conn.execute("SELECT tenantcore.set_tenant(%s)", [tenant])
                        cursors = transaction(conn, w, tenant, other)
                        conn.execute("COMMIT")
                except psycopg.Error:
                    conn.rollback()
                    raise
            else:
                with conn.transaction():
                    conn.execute("SELECT tenantcore.set_tenant(%s)", [tenant])
                    cursors = transaction(conn, w, tenant, other)
            check_transaction(cursors, w, tenant, backends)
            if i % 10 == 9:
                with conn.transaction():
                    n, cur = conn.execute("SELECT count(*), tenantcore.current_tenant() FROM app.items").fetchone()
                    check(n == 0 and cur is None, f"worker {w}: a transaction without tenant saw {n} rows, tenant {cur}")


def concurrent():
    backends = []
    threads = [threading.Thread(target=lambda w=w: guarded(worker, w, backends)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    per_backend = {}
    for pid, t in backends:
        per_backend.setdefault(pid, set()).add(t)
    shared = sum(1 for s in per_backend.values() if len(s) == len(TENANTS))
    if check(shared > 0 and len(per_backend) <= POOL_SIZE,
             f"server connections were not shared: {len(per_backend)} backends, {shared} served every tenant") \
            and not failures:
        print(f"ok - psycopg 3: {WORKERS} workers x {TXNS} transactions (half in conn.pipeline()) over "
              f"{len(per_backend)} server connections ({shared} of them served all {len(TENANTS)} tenants): "
              "every row read and written was the worker's tenant, no transaction without set_tenant saw a row or a tenant")


def guarded(fn, *args):
    try:
        fn(*args)
    except Exception as e:  # a failure of a worker thread fails the test
        check(False, f"{fn.__name__}{args[:1]}: {type(e).__name__}: {e}")


def request(conn, tenant=None):
    """One web request: its own transaction, setting the tenant if it has one."""
    with conn.transaction():
        if tenant:
            conn.execute("SELECT tenantcore.set_tenant(%s)", [tenant])
        return conn.execute("SELECT count(*), tenantcore.current_tenant()::text FROM app.items").fetchone()


def savepoint_trap():
    a = TENANT_OF[0]
    # The trap: autocommit=False (psycopg's default).  Any statement outside
    # `with conn.transaction()` (here a health check) opens a transaction that
    # is never committed; `conn.transaction()` then is only a SAVEPOINT, its
    # end a RELEASE SAVEPOINT, and the tenant stays set for the next request.
    with connect(autocommit=False) as conn:
        conn.execute("SELECT 1")
        n_a, _ = request(conn, a)
        n, cur = request(conn)          # a request that sets no tenant
        status = conn.info.transaction_status
        check(n == n_a and n > 0 and cur == a and status == psycopg.pq.TransactionStatus.INTRANS,
              f"the savepoint trap did not show: second request saw {n} rows, tenant {cur}, status {status}")
        conn.rollback()
    # The idiom: autocommit=True, every request in `with conn.transaction()`.
    with connect() as conn:
        conn.execute("SELECT 1")
        n_a, _ = request(conn, a)
        n, cur = request(conn)
        status = conn.info.transaction_status
        if check(n_a > 0 and n == 0 and cur is None and status == psycopg.pq.TransactionStatus.IDLE,
                 f"autocommit=True: second request saw {n} rows, tenant {cur}, status {status}"):
            print("ok - psycopg 3: with autocommit=False an earlier statement turns conn.transaction() into a savepoint and "
                  f"the next request inherits the tenant ({n_a} rows of it seen); with autocommit=True the next request sees 0 rows")


def fails_closed():
    with connect("tc_clients_strict") as conn:
        try:
            conn.execute("SELECT count(*) FROM app.items")
            check(False, "missing_tenant = error: a query without tenant succeeded")
        except psycopg.errors.InsufficientPrivilege as e:
            if check(e.diag.message_primary == "no tenant is set"
                     and e.diag.message_hint == "Call tenantcore.set_tenant() at the start of the transaction.",
                     f"missing_tenant = error: {e.diag.sqlstate} {e.diag.message_primary}"):
                print("ok - psycopg 3: with missing_tenant = error a query without tenant fails: 42501 no tenant is set")
        n, _ = request(conn, TENANT_OF[0])
        check(n > 0, "missing_tenant = error: the tenant's rows are not visible with set_tenant")


def keep_notice(notices):
    # the Diagnostic is only valid during the callback: copy what is needed
    return lambda d: notices.append(Notice(d.severity, d.sqlstate, d.message_primary, d.message_hint))


def warning_reaches_client():
    notices = []
    with connect() as conn:
        conn.add_notice_handler(keep_notice(notices))
        conn.execute("SELECT tenantcore.set_tenant(%s)", [TENANT_OF[0]])
        n, cur = conn.execute("SELECT count(*), tenantcore.current_tenant() FROM app.items").fetchone()
        d = notices[0] if notices else None
        if check(d is not None and d.severity == "WARNING" and d.sqlstate == "25P01"
                 and d.message_primary == "set_tenant() outside a transaction block only lasts until the end of the statement"
                 and d.message_hint == "Call it after BEGIN, or pass is_local => false to set it for the session."
                 and n == 0 and cur is None,
                 f"set_tenant outside a transaction: notices {[x.message_primary for x in notices]}, then {n} rows, tenant {cur}"):
            print("ok - psycopg 3: set_tenant() outside a transaction: conn.add_notice_handler() gets WARNING 25P01, "
                  "the next query sees no tenant")


def one_message():
    """A ClientCursor binds parameters on the client, so several statements
    with parameters go out as one simple-protocol message (one implicit
    transaction when autocommit=True)."""
    notices = []
    with connect() as conn:
        conn.add_notice_handler(keep_notice(notices))
        cur = psycopg.ClientCursor(conn)
        cur.execute("SELECT tenantcore.set_tenant(%s); "
                    "SELECT count(*), tenantcore.current_tenant()::text FROM app.items WHERE worker = %s",
                    [TENANT_OF[0], 0])
        cur.nextset()
        n, t = cur.fetchone()
        after = conn.execute("SELECT tenantcore.current_tenant()").fetchone()[0]
        if check(n > 0 and t == TENANT_OF[0] and after is None and not notices,
                 f"one message: {n} rows, tenant {t}, afterwards {after}, notices {len(notices)}"):
            print("ok - psycopg 3: ClientCursor sends set_tenant and the query in one message: tenant set, no warning, gone afterwards")


def pipeline_idioms():
    """conn.pipeline() with BEGIN and COMMIT as statements: an error leaves the
    transaction failed until conn.rollback(), which ends it and the tenant;
    without BEGIN, the pipeline up to its Sync is one implicit transaction in
    which set_config('tenantcore.tenant_id', ..., true) holds."""
    a = TENANT_OF[0]
    with connect() as conn:
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute("SELECT tenantcore.set_tenant(%s)", [a])
                conn.execute("INSERT INTO app.items (client, worker, kind) VALUES ('python', 999, 'row')")
                conn.execute("SELECT 1 / 0")
                conn.execute("COMMIT")
            check(False, "a pipeline with a division by zero succeeded")
        except psycopg.errors.DivisionByZero:
            failed = conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
            conn.rollback()
            n, cur = request(conn)
            with conn.transaction():
                conn.execute("SELECT tenantcore.set_tenant(%s)", [a])
                n999 = conn.execute("SELECT count(*) FROM app.items WHERE worker = 999").fetchone()[0]
            check(failed and n == 0 and cur is None and n999 == 0,
                  f"pipeline error: failed {failed}, then {n} rows, tenant {cur}, rows of the failed insert {n999}")
        with conn.pipeline():
            conn.execute("SELECT set_config('tenantcore.tenant_id', %s, true)", [a])
            c = conn.execute("SELECT count(*), tenantcore.current_tenant()::text FROM app.items")
        n, t = c.fetchone()
        after = conn.execute("SELECT tenantcore.current_tenant()").fetchone()[0]
        if check(n > 0 and t == a and after is None, f"pipeline without BEGIN: {n} rows, tenant {t}, afterwards {after}"):
            print("ok - psycopg 3: in conn.pipeline() an error needs conn.rollback() after BEGIN; without BEGIN "
                  "set_config('tenantcore.tenant_id', $1, true) holds until the pipeline's end and is gone afterwards")


def prepared_statements():
    """PgBouncer 1.18 in transaction mode does not track named prepared
    statements: two connections that prepare (psycopg names them _pg3_0,
    _pg3_1, ... per connection) on the same server connection collide.  With
    prepare_threshold=None (connect() above) nothing is prepared."""
    a = TENANT_OF[0]
    with psycopg.connect(host="127.0.0.1", port=PORT, dbname=DB, user="tc_clients_app", autocommit=True,
                         prepare_threshold=0) as c1, \
         psycopg.connect(host="127.0.0.1", port=PORT, dbname=DB, user="tc_clients_app", autocommit=True,
                         prepare_threshold=0) as c2:
        error = None
        try:
            # one after the other: PgBouncer hands out the server connection used last
            c1.execute("SELECT count(*) FROM app.items WHERE worker = %s", [1]).fetchone()
            c2.execute("SELECT tenantcore.current_tenant(), %s::int", [2]).fetchone()
            c1.execute("SELECT count(*) FROM app.items WHERE worker = %s", [1]).fetchone()
        except psycopg.Error as e:
            error = e
    check(isinstance(error, (psycopg.errors.DuplicatePreparedStatement, psycopg.errors.InvalidSqlStatementName)),
          f"named prepared statements through PgBouncer 1.18 did not collide: {error!r}")
    with connect() as c1, connect() as c2:
        for _ in range(10):
            n1 = request(c1, a)[0]
            n2 = request(c2, a)[0]
    if check(n1 > 0 and n1 == n2, f"prepare_threshold=None: {n1} and {n2} rows") and error is not None:
        print(f"ok - psycopg 3: prepared statements through PgBouncer 1.18 collide ({error.diag.message_primary}); "
              "with prepare_threshold=None they are not used and every query works")


def main():
    concurrent()
    guarded(savepoint_trap)
    guarded(fails_closed)
    guarded(warning_reaches_client)
    guarded(one_message)
    guarded(pipeline_idioms)
    guarded(prepared_statements)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
