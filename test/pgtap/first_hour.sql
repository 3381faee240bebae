-- tenantcore pgTAP: the first hour's fixes of 0.7.0 (issue #14) --
-- seed_demo() after the README's core schema step took the slug 'acme', and
-- history() / row_as_of() with the key of a (organization_id, id) table: the
-- tenant column from the current tenant, values of another JSON type, and
-- errors that name the key columns for a misspelled or missing column; CALL
-- run_retention() inside a transaction block
BEGIN;
SELECT plan(22);
SET LOCAL client_min_messages = warning;

-- the README's core schema step: an organization with slug 'acme'
SELECT set_config('tap.alice', tenantcore.create_user('first-alice@example.com')::text, true);
SELECT tenantcore.set_actor(current_setting('tap.alice')::uuid);
SELECT set_config('tap.acme', tenantcore.create_organization('Acme', 'acme')::text, true);
SELECT tenantcore.clear_tenant();

-- then the blueprint step: 0.6.0 failed here on a foreign key
SELECT lives_ok($$SELECT tenantcore.install_blueprint('cpa', 'first_practice')$$, 'install_blueprint after the core schema step');
SELECT lives_ok($$SELECT tenantcore.seed_demo('first_practice')$$, 'seed_demo works although slug acme is taken');
SELECT is((SELECT slug FROM tenantcore.organizations WHERE id = 'ac3e0000-0000-4000-8000-00000000000a'), 'acme-demo',
          'the demo organization Acme Accounting got another slug');
SELECT is((SELECT id::text FROM tenantcore.organizations WHERE slug = 'acme'), current_setting('tap.acme'),
          'the tour''s organization keeps its slug');
SELECT ok((SELECT count(*) FROM first_practice.clients WHERE organization_id = 'ac3e0000-0000-4000-8000-00000000000a') > 0,
          'Acme Accounting has clients');
SELECT ok((SELECT count(*) FROM first_practice.clients WHERE organization_id = 'b1c40000-0000-4000-8000-00000000000b') > 0,
          'Birch & Co has clients');
SELECT is((SELECT count(*)::int FROM first_practice.clients WHERE organization_id = current_setting('tap.acme')::uuid), 0,
          'nothing was seeded into the tour''s organization');

-- a demo user's address that belongs to someone else: a clear error, no foreign key error
SELECT tenantcore.install_blueprint('projects', 'first_projects');
UPDATE tenantcore.users SET email = 'bob-was@birch.example' WHERE id = 'b0b00000-0000-4000-8000-000000000001';
DELETE FROM tenantcore.organizations WHERE id = 'b1c40000-0000-4000-8000-00000000000b';
DELETE FROM tenantcore.users WHERE id = 'b0b00000-0000-4000-8000-000000000001';
SELECT tenantcore.create_user('bob@birch.example');
SELECT throws_ok($$SELECT tenantcore.seed_demo('first_projects')$$, '23505',
                 'seed_demo: the demo user''s e-mail address bob@birch.example belongs to another user',
                 'a demo user''s address taken by another user is a clear error');

-- history() and row_as_of() with a (organization_id, id) primary key, as the application role
CREATE ROLE first_owner NOLOGIN;
CREATE ROLE first_app LOGIN;
SELECT tenantcore.grant_app_role('first_app');
CREATE SCHEMA first_billing AUTHORIZATION first_owner;
GRANT USAGE ON SCHEMA first_billing TO first_app;
CREATE TABLE first_billing.invoices (
    organization_id uuid NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    customer        text NOT NULL,
    PRIMARY KEY (organization_id, id)
);
ALTER TABLE first_billing.invoices OWNER TO first_owner;
SELECT tenantcore.isolate('first_billing.invoices');
SELECT tenantcore.audit('first_billing.invoices');
GRANT SELECT, INSERT, UPDATE ON first_billing.invoices TO first_app;

SET LOCAL ROLE first_app;
SELECT tenantcore.set_tenant('00000000-0000-4000-8000-0000000000f1');
INSERT INTO first_billing.invoices (customer) VALUES ('Acme');
SELECT set_config('tap.inv', (SELECT id::text FROM first_billing.invoices), true);
UPDATE first_billing.invoices SET customer = 'Acme Ltd';
SELECT tenantcore.set_tenant('00000000-0000-4000-8000-0000000000f2');
INSERT INTO first_billing.invoices OVERRIDING SYSTEM VALUE VALUES (DEFAULT, current_setting('tap.inv')::bigint, 'Bolt');
SELECT tenantcore.set_tenant('00000000-0000-4000-8000-0000000000f1');

SELECT is((SELECT count(*)::int FROM tenantcore.history('first_billing.invoices', jsonb_build_object('id', current_setting('tap.inv')::bigint))),
          2, 'history with {"id": n} finds the current tenant''s row (0.6.0: nothing)');
SELECT is((SELECT array_agg(operation ORDER BY id) FROM tenantcore.history('first_billing.invoices', jsonb_build_object('id', current_setting('tap.inv')))),
          '{INSERT,UPDATE}', 'an id given as a JSON string is converted to the column''s type');
SELECT is((SELECT count(*)::int FROM tenantcore.history('first_billing.invoices',
              jsonb_build_object('organization_id', '00000000-0000-4000-8000-0000000000f1', 'id', current_setting('tap.inv')::bigint))),
          2, 'the full key finds the same entries');
SELECT is((SELECT count(*)::int FROM tenantcore.history('first_billing.invoices',
              jsonb_build_object('organization_id', '00000000-0000-4000-8000-0000000000f2', 'id', current_setting('tap.inv')::bigint))),
          0, 'another tenant''s row with the same id stays invisible');
SELECT is(tenantcore.row_as_of('first_billing.invoices', jsonb_build_object('id', current_setting('tap.inv')::bigint), now()) ->> 'customer',
          'Acme Ltd', 'row_as_of with {"id": n} replays the current tenant''s row');
SELECT throws_ok($$SELECT * FROM tenantcore.history('first_billing.invoices', '{"ids": 1}')$$, '42703',
                 'history: "ids" is not a primary key column of table first_billing.invoices',
                 'a misspelled key column is an error (0.6.0: nothing, silently)');
SELECT throws_ok($$SELECT tenantcore.row_as_of('first_billing.invoices', '{"id": 1, "customer": "x"}', now())$$, '42703',
                 'row_as_of: "customer" is not a primary key column of table first_billing.invoices',
                 'row_as_of refuses a column outside the key');
SELECT throws_ok($$SELECT * FROM tenantcore.history('first_billing.invoices', '{"organization_id": "00000000-0000-4000-8000-0000000000f1"}')$$,
                 '22023', 'history: the key lacks primary key column "id"', 'a missing key column is an error');
SELECT throws_ok($$SELECT * FROM tenantcore.history('first_billing.invoices', '[1]')$$,
                 '22023', 'history: the key must be a JSON object, not array', 'a key that is not an object is an error');
SELECT tenantcore.clear_tenant();
SELECT throws_ok($$SELECT * FROM tenantcore.history('first_billing.invoices', '{"id": 1}')$$, '22023',
                 'history: the key lacks the tenant column "organization_id" and no tenant is set',
                 'without a tenant the tenant column must be given');
RESET ROLE;

-- the hint names the key columns
CREATE FUNCTION pg_temp.hint_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
SELECT is(pg_temp.hint_of($$SELECT * FROM tenantcore.history('first_billing.invoices', '{"ids": 1}')$$),
          'The key names the primary key columns of first_billing.invoices: organization_id, id.',
          'the hint names the primary key columns');

-- audit() made this month's partition: nothing of this month stays in the default partition
SELECT is((SELECT count(*)::int FROM tenantcore.audit_log_default WHERE occurred_at >= date_trunc('month', now())), 0,
          'no entry of this month is left in the default partition');

-- CALL run_retention() inside a transaction block: a clear error (0.6.0: invalid transaction termination)
SELECT throws_ok('CALL tenantcore.run_retention()', '25001',
                 'tenantcore.run_retention() cannot run inside a transaction block',
                 'run_retention inside BEGIN says why it cannot run');
SELECT is(pg_temp.hint_of('CALL tenantcore.run_retention()'),
          'Run CALL tenantcore.run_retention(); on its own, not after BEGIN (in psql, not with AUTOCOMMIT off).',
          'and what to do');

SELECT * FROM finish();
ROLLBACK;
