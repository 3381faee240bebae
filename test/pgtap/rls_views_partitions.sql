-- tenantcore pgTAP: views, partitioned tables, schema-wide isolation and the
-- plan of a query under the tenant policy, as a non-owner application role.
BEGIN;
SELECT plan(30);

\set owner tc_tap_owner
\set app tc_tap_app
\set schema tap
\ir ../helpers/app_roles.sql
ALTER DEFAULT PRIVILEGES FOR ROLE tc_tap_owner IN SCHEMA tap GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tc_tap_app;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA tap GRANT SELECT ON TABLES TO tc_tap_app;

CREATE FUNCTION tap.affected(dml text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE dml;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
SET LOCAL ROLE tc_tap_owner;
CREATE TABLE tap.notes (id int, organization_id uuid NOT NULL, body text);
SELECT tenantcore.isolate('tap.notes');
-- a view owned by the (NOLOGIN, non-superuser) table owner, without security_invoker
CREATE VIEW tap.notes_owner_v AS SELECT id, body FROM tap.notes;
CREATE VIEW tap.notes_invoker_v WITH (security_invoker = true) AS SELECT id, body FROM tap.notes;
-- functions reading the table: as the invoker, and as the (NOLOGIN) owner
CREATE FUNCTION tap.notes_invoker() RETURNS SETOF int LANGUAGE sql STABLE AS 'SELECT id FROM tap.notes ORDER BY id';
CREATE FUNCTION tap.notes_definer() RETURNS SETOF int LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS 'SELECT id FROM tap.notes ORDER BY id';
RESET ROLE;
-- views owned by a superuser: with and without security_invoker
CREATE VIEW tap.notes_super_v AS SELECT id, body FROM tap.notes;
CREATE VIEW tap.notes_super_invoker_v WITH (security_invoker = true) AS SELECT id, body FROM tap.notes;
INSERT INTO tap.notes VALUES
    (1, '11111111-1111-1111-1111-111111111111', 'a'),
    (2, '22222222-2222-2222-2222-222222222222', 'b'),
    (3, '33333333-3333-3333-3333-333333333333', 'c');

SET LOCAL ROLE tc_tap_app;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
SELECT results_eq('SELECT id FROM tap.notes_invoker_v', 'VALUES (1)', 'security_invoker view: own rows only');
SELECT results_eq('SELECT id FROM tap.notes_owner_v', 'VALUES (1)',
                  'view owned by the table owner: own rows only (RLS is forced on the owner)');
SELECT results_eq('SELECT id FROM tap.notes_super_invoker_v', 'VALUES (1)',
                  'superuser-owned view with security_invoker: own rows only');
SELECT is((SELECT count(*) FROM tap.notes_super_v), 3::bigint,
          'superuser-owned view without security_invoker bypasses RLS (the hole lint reports)');
SELECT results_eq('SELECT * FROM tap.notes_invoker()', 'VALUES (1)', 'a SECURITY INVOKER function: own rows only');
SELECT results_eq('SELECT * FROM tap.notes_definer()', 'VALUES (1)',
                  'a SECURITY DEFINER function of the table owner: own rows only (RLS is forced)');
SELECT is(tap.affected($$UPDATE tap.notes_owner_v SET body = 'x' WHERE id IN (1, 2)$$), 1::bigint,
          'an update through the owner''s view changes only own rows');
RESET ROLE;
SELECT ok(EXISTS (SELECT FROM tenantcore.lint() WHERE object = 'tap.notes_super_v' AND severity = 'high'),
          'lint reports the superuser-owned view as high');
SELECT ok(EXISTS (SELECT FROM tenantcore.lint() WHERE object = 'tap.notes_owner_v' AND severity = 'medium'),
          'lint reports the owner-owned view as medium');
SELECT ok(NOT EXISTS (SELECT FROM tenantcore.lint() WHERE object IN ('tap.notes_invoker_v', 'tap.notes_super_invoker_v')),
          'lint is silent about security_invoker views');

-- partitioned tables: partitions that exist, are created later, are attached
SET LOCAL ROLE tc_tap_owner;
CREATE TABLE tap.events (id int, organization_id uuid NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE tap.events_2025 PARTITION OF tap.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT tenantcore.isolate('tap.events');
CREATE TABLE tap.events_2026 PARTITION OF tap.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE tap.events_2027 (id int, organization_id uuid NOT NULL, at date NOT NULL);
INSERT INTO tap.events_2027 VALUES (27, '11111111-1111-1111-1111-111111111111', '2027-05-01'),
                                    (28, '22222222-2222-2222-2222-222222222222', '2027-05-01');
ALTER TABLE tap.events ATTACH PARTITION tap.events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
RESET ROLE;
INSERT INTO tap.events VALUES
    (25, '11111111-1111-1111-1111-111111111111', '2025-03-01'),
    (26, '22222222-2222-2222-2222-222222222222', '2025-03-01'),
    (35, '11111111-1111-1111-1111-111111111111', '2026-03-01'),
    (36, '22222222-2222-2222-2222-222222222222', '2026-03-01');

SET LOCAL ROLE tc_tap_app;
SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222');
SELECT results_eq('SELECT id FROM tap.events ORDER BY id', 'VALUES (26), (28), (36)',
                  'tenant B sees its rows of every partition through the parent');
SELECT results_eq('SELECT id FROM tap.events_2025', 'VALUES (26)', 'an existing partition queried directly does not leak');
SELECT results_eq('SELECT id FROM tap.events_2026', 'VALUES (36)', 'a partition created later does not leak');
SELECT results_eq('SELECT id FROM tap.events_2027', 'VALUES (28)', 'an attached partition does not leak');
SELECT throws_ok($$INSERT INTO tap.events_2026 VALUES (99, '11111111-1111-1111-1111-111111111111', '2026-06-01')$$,
                 '42501', 'new row violates row-level security policy for table "events_2026"',
                 'inserting into a partition directly is checked too');
SELECT throws_ok($$INSERT INTO tap.events VALUES (99, '11111111-1111-1111-1111-111111111111', '2026-06-01')$$,
                 '42501', 'new row violates row-level security policy for table "events"',
                 'inserting through the parent is checked');
SELECT lives_ok($$INSERT INTO tap.events (id, at) VALUES (98, '2027-06-01')$$, 'the default fills the tenant through the parent');
SELECT is(tap_count, 1::bigint, 'and the row lands in the right partition for tenant B')
  FROM (SELECT count(*) AS tap_count FROM tap.events_2027 WHERE id = 98 AND organization_id = '22222222-2222-2222-2222-222222222222') c;
SELECT throws_ok($$UPDATE tap.events_2027 SET organization_id = '11111111-1111-1111-1111-111111111111' WHERE id = 28$$,
                 '42501', 'new row violates row-level security policy for table "events_2027"',
                 'a row of a partition cannot be moved to another tenant');
SELECT tenantcore.clear_tenant();
SELECT is((SELECT count(*) FROM tap.events_2027), 0::bigint, 'no tenant: a partition shows nothing');
RESET ROLE;
SELECT is((SELECT count(*) FROM tap.events), 7::bigint, 'the superuser sees the seven rows');

-- isolate_schema: a table created later (even by another role) is isolated by the event trigger
CREATE SCHEMA tap_app AUTHORIZATION tc_tap_owner;
GRANT USAGE ON SCHEMA tap_app TO tc_tap_app;
SET LOCAL ROLE tc_tap_owner;
CREATE TABLE tap_app.before (id int, organization_id uuid);
SELECT tenantcore.isolate_schema('tap_app');
CREATE TABLE tap_app.later (id int, organization_id uuid);
GRANT SELECT, INSERT ON tap_app.before, tap_app.later TO tc_tap_app;
RESET ROLE;
INSERT INTO tap_app.later VALUES (1, '11111111-1111-1111-1111-111111111111'), (2, '22222222-2222-2222-2222-222222222222');
INSERT INTO tap_app.before VALUES (1, '11111111-1111-1111-1111-111111111111'), (2, '22222222-2222-2222-2222-222222222222');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'tap_app.later'::regclass),
          'a table created after isolate_schema has forced RLS');
SET LOCAL ROLE tc_tap_app;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
SELECT results_eq('SELECT id FROM tap_app.later', 'VALUES (1)', 'the later table shows only the tenant''s rows');
SELECT results_eq('SELECT id FROM tap_app.before', 'VALUES (1)', 'the existing table too');
SELECT throws_ok($$INSERT INTO tap_app.later VALUES (3, '22222222-2222-2222-2222-222222222222')$$,
                 '42501', 'new row violates row-level security policy for table "later"',
                 'and rejects rows for another tenant');
RESET ROLE;

-- the planner uses the tenant index under the policy
SET LOCAL ROLE tc_tap_owner;
CREATE TABLE tap.big (id int PRIMARY KEY, organization_id uuid NOT NULL, payload text);
SELECT tenantcore.isolate('tap.big');
RESET ROLE;
INSERT INTO tap.big
SELECT g, ('00000000-0000-0000-0000-' || lpad((g % 200)::text, 12, '0'))::uuid, repeat('x', 40)
  FROM generate_series(1, 40000) g;
ANALYZE tap.big;
CREATE FUNCTION tap.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        result := result || line || E'\n';
    END LOOP;
    RETURN result;
END
$$;
SET LOCAL ROLE tc_tap_app;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-000000000007');
SELECT is((SELECT count(*) FROM tap.big), 200::bigint, 'one tenant of 200 sees its 200 rows of 40,000');
SELECT matches(tap.plan('SELECT * FROM tap.big'), 'Index',
               'a query with no WHERE uses an index scan under the policy');
SELECT matches(tap.plan('SELECT * FROM tap.big'), 'organization_id = tenantcore\.current_tenant\(\)',
               'with the tenant policy as an index condition');
SELECT matches(tap.plan('SELECT * FROM tap.big WHERE payload LIKE ''x%'' ORDER BY id LIMIT 50'),
               'Index Cond: \(organization_id = tenantcore\.current_tenant\(\)\)',
               'a page query under the policy uses an index');
SELECT doesnt_match(tap.plan('SELECT count(*) FROM tap.big'), 'Seq Scan', 'count(*) of one tenant does not seq-scan');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
