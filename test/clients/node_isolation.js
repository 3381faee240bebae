// test/clients/node_isolation.js -- tenantcore with node-postgres (pg) behind
// PgBouncer in transaction pooling mode, started by test/shell/clients_pgbouncer.sh.
//
// Environment: PGBOUNCER_PORT (PgBouncer on 127.0.0.1), PGDATABASE, WORKERS,
// TXNS (transactions per worker), TENANTS (json: worker -> tenant uuid).
// Prints "ok - ..." / "not ok - ..." lines; exits 1 on any failure.
'use strict';
const pg = require('pg');

const port = Number(process.env.PGBOUNCER_PORT);
const database = process.env.PGDATABASE;
const workers = Number(process.env.WORKERS || 20);
const txns = Number(process.env.TXNS || 200);
const tenantOf = JSON.parse(process.env.TENANTS);
const tenants = [...new Set(Object.values(tenantOf))];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let failures = 0;
function check(cond, what) {
  if (!cond) { failures++; console.log(`not ok - node-postgres: ${what}`); }
  return cond;
}

function newPool(user, max) {
  // node-postgres uses unnamed statements unless a query is given a `name`:
  // named prepared statements break behind PgBouncer < 1.21 in transaction mode.
  const pool = new pg.Pool({ host: '127.0.0.1', port, database, user, max });
  const notices = [];
  pool.on('connect', (client) => client.on('notice', (msg) => notices.push(msg)));
  return { pool, notices };
}

// The idiom: BEGIN, set_tenant, the request's queries, COMMIT, on one client.
async function withTenant(pool, tenant, fn) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT tenantcore.set_tenant($1)', [tenant]);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

// No extra round trip: the tenant and the queries in one simple-protocol
// message (no parameters).  Without BEGIN/COMMIT the message is one implicit
// transaction: the tenant lasts until its end, an error rolls all of it back.
// The tenant is inlined, so it must be checked to be a uuid first.
async function oneMessage(pool, tenant, sql) {
  if (!UUID.test(tenant)) throw new Error(`not a uuid: ${tenant}`);
  return pool.query(`SELECT tenantcore.set_tenant('${tenant}'); ${sql}`);
}

function checkRead(rows, tenant, w) {
  // every row read has the worker's tenant, and there are rows
  return check(rows.length === 1 && rows[0].o === tenant && rows[0].cur === tenant && rows[0].n > 0,
               `worker ${w} read ${JSON.stringify(rows)} as tenant ${tenant}`);
}

const READ = `SELECT organization_id::text AS o, tenantcore.current_tenant()::text AS cur,
                     count(*)::int AS n, pg_backend_pid() AS pid
                FROM app.items GROUP BY 1, 2`;

async function worker(pool, w, backends) {
  const tenant = tenantOf[w];
  const other = tenants.find((t) => t !== tenant);
  for (let i = 0; i < txns; i++) {
    if (w % 2 === 0) {
      // step by step: BEGIN; set_tenant; read; insert; update; COMMIT
      await withTenant(pool, tenant, async (c) => {
        const r = await c.query(READ);
        checkRead(r.rows, tenant, w);
        if (r.rows[0]) backends.push([r.rows[0].pid, tenant]);
        const ins = await c.query(
          "INSERT INTO app.items (client, worker, kind) VALUES ('node', $1, 'row') RETURNING organization_id::text AS o", [w]);
        check(ins.rows[0].o === tenant, `worker ${w} inserted a row of ${ins.rows[0].o}`);
        const up = await c.query(
          "UPDATE app.items SET n = n + 1 WHERE client = 'node' AND kind = 'counter' AND worker = $1 RETURNING organization_id::text AS o", [w]);
        check(up.rows.length === 1 && up.rows[0].o === tenant, `worker ${w} updated ${JSON.stringify(up.rows)}`);
        // an attempt to write another tenant's rows changes nothing
        const x = await c.query(
          "UPDATE app.items SET n = n + 1000 WHERE organization_id = $1 RETURNING id", [other]);
        check(x.rowCount === 0, `worker ${w} updated ${x.rowCount} rows of another tenant`);
      });
    } else {
      // one message: set_tenant; read; insert; update; cross-tenant update
      const res = await oneMessage(pool, tenant, `${READ};
        INSERT INTO app.items (client, worker, kind) VALUES ('node', ${w}, 'row') RETURNING organization_id::text AS o;
        UPDATE app.items SET n = n + 1 WHERE client = 'node' AND kind = 'counter' AND worker = ${w} RETURNING organization_id::text AS o;
        UPDATE app.items SET n = n + 1000 WHERE organization_id = '${other}' RETURNING id`);
      check(res.length === 5, `worker ${w}: one message returned ${res.length} results`);
      checkRead(res[1].rows, tenant, w);
      if (res[1].rows[0]) backends.push([res[1].rows[0].pid, tenant]);
      check(res[2].rows[0].o === tenant, `worker ${w} inserted a row of ${res[2].rows[0].o} (one message)`);
      check(res[3].rows.length === 1 && res[3].rows[0].o === tenant, `worker ${w} updated ${JSON.stringify(res[3].rows)} (one message)`);
      check(res[4].rowCount === 0, `worker ${w} updated ${res[4].rowCount} rows of another tenant (one message)`);
    }
    if (i % 10 === 9) {
      // a transaction that sets no tenant, on a server connection that just
      // served some tenant: it sees no row and no tenant (missing_tenant = deny)
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const r = await c.query('SELECT count(*)::int AS n, tenantcore.current_tenant() AS cur FROM app.items');
        check(r.rows[0].n === 0 && r.rows[0].cur === null, `worker ${w}: a transaction without tenant saw ${JSON.stringify(r.rows[0])}`);
        await c.query('COMMIT');
      } finally { c.release(); }
    }
  }
}

async function main() {
  const app = newPool('tc_clients_app', workers);
  const strict = newPool('tc_clients_strict', 2);
  try {
    // 1. concurrent workers through a few shared server connections
    const backends = [];
    await Promise.all([...Array(workers).keys()].map((w) => worker(app.pool, w, backends)));
    const tenantsPerBackend = new Map();
    for (const [pid, t] of backends) {
      if (!tenantsPerBackend.has(pid)) tenantsPerBackend.set(pid, new Set());
      tenantsPerBackend.get(pid).add(t);
    }
    const shared = [...tenantsPerBackend.values()].filter((s) => s.size === tenants.length).length;
    if (check(shared > 0 && tenantsPerBackend.size <= Number(process.env.POOL_SIZE || 4),
              `server connections were not shared: ${tenantsPerBackend.size} backends, ${shared} served every tenant`) &&
        failures === 0) {
      console.log(`ok - node-postgres: ${workers} workers x ${txns} transactions over ${tenantsPerBackend.size} server connections ` +
                  `(${shared} of them served all ${tenants.length} tenants): every row read and written was the worker's tenant, ` +
                  'no transaction without set_tenant saw a row or a tenant');
    }

    // 2. writing another tenant's row is refused by the policy
    try {
      await withTenant(app.pool, tenantOf[0], (c) => c.query(
        "INSERT INTO app.items (organization_id, client, worker, kind) VALUES ($1, 'node', 0, 'row')", [tenantOf[1]]));
      check(false, 'an insert of another tenant\'s row succeeded');
    } catch (e) {
      if (check(e.code === '42501' && e.message === 'new row violates row-level security policy for table "items"',
                `insert of another tenant's row: ${e.code} ${e.message}`)) {
        console.log('ok - node-postgres: an insert of another tenant\'s row fails: new row violates row-level security policy for table "items"');
      }
    }

    // 3. missing_tenant = error: a transaction without tenant fails closed
    try {
      await strict.pool.query('SELECT count(*) FROM app.items');
      check(false, 'missing_tenant = error: a query without tenant succeeded');
    } catch (e) {
      if (check(e.code === '42501' && e.message === 'no tenant is set' &&
                e.hint === 'Call tenantcore.set_tenant() at the start of the transaction.',
                `missing_tenant = error: ${e.code} ${e.message}`)) {
        console.log('ok - node-postgres: with missing_tenant = error a query without tenant fails: 42501 no tenant is set');
      }
    }
    const n = await withTenant(strict.pool, tenantOf[0], (c) => c.query('SELECT count(*)::int AS n FROM app.items'));
    check(n.rows[0].n > 0, 'missing_tenant = error: the tenant\'s rows are not visible with set_tenant');

    // 4. set_tenant outside a transaction: the warning reaches the notice handler
    app.notices.length = 0;
    await app.pool.query('SELECT tenantcore.set_tenant($1)', [tenantOf[0]]);
    const after = await app.pool.query('SELECT tenantcore.current_tenant() AS cur, count(*)::int AS n FROM app.items');
    const warn = app.notices.find((m) => m.code === '25P01');
    if (check(warn && warn.severity === 'WARNING' &&
              warn.message === 'set_tenant() outside a transaction block only lasts until the end of the statement' &&
              warn.hint === 'Call it after BEGIN, or pass is_local => false to set it for the session.' &&
              after.rows[0].cur === null && after.rows[0].n === 0,
              `set_tenant outside a transaction: notices ${JSON.stringify(app.notices)}, then ${JSON.stringify(after.rows[0])}`)) {
      console.log('ok - node-postgres: set_tenant() outside a transaction: the client\'s notice handler gets WARNING 25P01 ' +
                  '"set_tenant() outside a transaction block only lasts until the end of the statement", the next query sees no tenant');
    }
    // ... and the one-message idiom raises no warning (the message is one implicit transaction)
    app.notices.length = 0;
    await oneMessage(app.pool, tenantOf[0], 'SELECT 1');
    check(app.notices.length === 0, `one message raised notices ${JSON.stringify(app.notices)}`);

    // 5. one message is atomic: an error rolls back the whole message, the tenant is gone after it
    try {
      await oneMessage(app.pool, tenantOf[0],
        "INSERT INTO app.items (client, worker, kind) VALUES ('node', 999, 'row'); SELECT 1 / 0");
      check(false, 'one message with a division by zero succeeded');
    } catch (e) {
      const r = await app.pool.query("SELECT count(*)::int AS n FROM app.items WHERE worker = 999");
      const left = await withTenant(app.pool, tenantOf[0], (c) => c.query("SELECT count(*)::int AS n FROM app.items WHERE worker = 999"));
      if (check(e.message === 'division by zero' && r.rows[0].n === 0 && left.rows[0].n === 0,
                `one message with an error: ${e.message}, rows left ${left.rows[0].n}`)) {
        console.log('ok - node-postgres: one message without BEGIN is one transaction: an error rolls back all of it, no warning');
      }
    }

    // 6. named prepared statements through PgBouncer 1.18 collide: two clients
    // one after the other get the server connection used last
    const c1 = await app.pool.connect();
    const c2 = await app.pool.connect();
    let collided = null;
    try {
      await c1.query({ name: 'tc_q', text: 'SELECT count(*) FROM app.items WHERE worker = $1', values: [1] });
      await c2.query({ name: 'tc_q', text: 'SELECT tenantcore.current_tenant(), $1::int', values: [2] });
    } catch (e) {
      collided = e;
    } finally {
      c1.release(true);
      c2.release(true);
    }
    if (check(collided && collided.code === '42P05', `named prepared statements did not collide: ${collided}`)) {
      console.log(`ok - node-postgres: named prepared statements through PgBouncer 1.18 collide (${collided.message}); ` +
                  'queries without a name are unnamed statements and work');
    }
  } finally {
    await app.pool.end();
    await strict.pool.end();
  }
}

main().then(() => process.exit(failures ? 1 : 0), (e) => { console.log(`not ok - node-postgres: ${e.stack}`); process.exit(1); });
