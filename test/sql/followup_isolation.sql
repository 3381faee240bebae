-- followup_isolation: keys of isolated tables without the tenant column
-- (lint() and isolate()'s warning), and the wording of unisolate(),
-- protect() and _protect_encrypt() (0.7.0).  On 0.6.0 lint() and isolate()
-- said nothing of these keys, though the application role below learns
-- another tenant's values through them and references another tenant's row.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
CREATE ROLE tc_fui_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_fui_app');
\set a aaaaaaaa-2222-4000-8000-00000000000a
\set b bbbbbbbb-2222-4000-8000-00000000000b
CREATE SCHEMA fui;
GRANT USAGE ON SCHEMA fui TO tc_fui_app;
CREATE TABLE fui.customers (
    organization_id uuid NOT NULL,
    id              bigint PRIMARY KEY,
    email           text UNIQUE,
    code            text
);
CREATE UNIQUE INDEX customers_code_idx ON fui.customers (lower(code)) WHERE code IS NOT NULL;
CREATE TABLE fui.products (organization_id uuid NOT NULL, id bigint, PRIMARY KEY (organization_id, id));
CREATE TABLE fui.countries (code text PRIMARY KEY);   -- global: not isolated
INSERT INTO fui.countries VALUES ('DE'), ('FR');
CREATE TABLE fui.orders (
    organization_id uuid NOT NULL,
    id              bigint,
    customer_id     bigint REFERENCES fui.customers (id),
    product_id      bigint,
    country         text REFERENCES fui.countries,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, product_id) REFERENCES fui.products (organization_id, id)
);
-- a partitioned table: the key is reported once, on the partitioned table
CREATE TABLE fui.events (organization_id uuid NOT NULL, id bigint, at date NOT NULL, UNIQUE (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE fui.events_2026 PARTITION OF fui.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA fui TO tc_fui_app;

-- isolate() warns of each such key, with the statement that fixes it
SELECT tenantcore.isolate('fui.customers');
SELECT tenantcore.isolate('fui.products');
SELECT tenantcore.isolate('fui.orders');
SELECT tenantcore.isolate('fui.events');
SELECT severity, object, problem, fix FROM tenantcore.lint() WHERE object LIKE 'fui.%' ORDER BY object, problem;

-- what the keys do: the application role of tenant B learns A's values and
-- references A's customer
SET ROLE tc_fui_app;
SELECT tenantcore.set_tenant(:'a', false) IS NOT NULL AS tenant_a;
INSERT INTO fui.customers (id, email) VALUES (1, 'one@a.example'), (5, NULL);
INSERT INTO fui.products (id) VALUES (1);
SELECT tenantcore.set_tenant(:'b', false) IS NOT NULL AS tenant_b;
SELECT count(*) AS b_sees_customers FROM fui.customers;
\set VERBOSITY terse
INSERT INTO fui.customers (id, email) VALUES (2, 'one@a.example');
INSERT INTO fui.orders (id, customer_id) VALUES (1, 1);
INSERT INTO fui.orders (id, product_id) VALUES (2, 1);
\set VERBOSITY default
RESET ROLE;
DELETE FROM fui.orders;

-- the fixes lint() gives work: the composite foreign key needs a unique key
-- (organization_id, id) on customers (its fix says so), then the rest
ALTER TABLE fui.customers ADD CONSTRAINT customers_tenant_id_key UNIQUE (organization_id, id);
DO $$
DECLARE
    f text;
BEGIN
    FOR f IN SELECT l.fix FROM tenantcore.lint() l WHERE l.object LIKE 'fui.%'
              ORDER BY l.problem LIKE 'foreign key %' DESC, l.object, l.problem LOOP
        EXECUTE f;
    END LOOP;
END
$$;
SELECT count(*) AS problems_left FROM tenantcore.lint() WHERE object LIKE 'fui.%';
SET ROLE tc_fui_app;
SELECT tenantcore.set_tenant(:'b', false) IS NOT NULL AS tenant_b;
INSERT INTO fui.customers (id, email) VALUES (1, 'one@a.example') RETURNING id, email;
\set VERBOSITY terse
INSERT INTO fui.orders (id, customer_id) VALUES (1, 5);
\set VERBOSITY default
INSERT INTO fui.orders (id, customer_id, country) VALUES (1, 1, 'FR') RETURNING id, customer_id;
RESET ROLE;

-- an INSERT without a tenant (missing_tenant = deny) says what to do; one
-- that names the tenant column still meets the policy
SET ROLE tc_fui_app;
SELECT tenantcore.clear_tenant();
INSERT INTO fui.products (id) VALUES (7);
INSERT INTO fui.products (organization_id, id) VALUES (:'a', 7);
SELECT tenantcore.set_tenant(:'a', false) IS NOT NULL AS tenant_a;
INSERT INTO fui.products (id) VALUES (7) RETURNING organization_id = :'a' AS own_tenant, id;
RESET ROLE;
SELECT pg_get_expr(d.adbin, d.adrelid) AS tenant_default
  FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE d.adrelid = 'fui.products'::regclass AND a.attname = 'organization_id';
-- unisolate() drops it
SELECT tenantcore.unisolate('fui.products');
SELECT count(*) AS defaults_left FROM pg_attrdef WHERE adrelid = 'fui.products'::regclass;

-- wording: unisolate() of an extension table, protect() of a missing column,
-- _protect_encrypt() of a row without a tenant
SELECT tenantcore.unisolate('tenantcore.teams');
CREATE TEMP TABLE fui_tmp (organization_id uuid);
SELECT tenantcore.isolate('fui_tmp');
CREATE TABLE fui.secrets (organization_id uuid NOT NULL, id bigint, ssn text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('fui.secrets');
SELECT tenantcore.protect('fui.secrets', 'nope');
SELECT tenantcore.protect('fui.secrets', 'x"y');
SELECT tenantcore.protect('fui.secrets', 'ssn');
SELECT tenantcore._protect_encrypt('fui.secrets', NULL, 'x');

DROP SCHEMA fui CASCADE;
DROP OWNED BY tc_fui_app;
DROP ROLE tc_fui_app;
