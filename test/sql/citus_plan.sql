-- tenantcore: citus_plan() (0.5.0)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- rows about this test's schema only (the database is shared by the tests)
CREATE VIEW pg_temp.my_plan AS
    SELECT step, rel, kind, detail, statement FROM tenantcore.citus_plan()
     WHERE rel::text LIKE 'cp.%'
        OR (rel::text LIKE 'tenantcore.%' AND kind <> 'problem'
            AND EXISTS (SELECT FROM pg_constraint c WHERE c.confrelid = rel AND c.conrelid::regclass::text LIKE 'cp.%'));

CREATE SCHEMA cp;
-- a well-formed tenant schema: composite keys, a global lookup table, a
-- chain of references, a partitioned table
CREATE TABLE cp.countries (code text PRIMARY KEY);
CREATE TABLE cp.clients (
    organization_id uuid NOT NULL REFERENCES tenantcore.organizations (id),
    id int, country text REFERENCES cp.countries, owner_id uuid REFERENCES tenantcore.users (id),
    PRIMARY KEY (organization_id, id));
CREATE TABLE cp.invoices (
    organization_id uuid NOT NULL, id int, client_id int,
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, client_id) REFERENCES cp.clients);
CREATE TABLE cp.lines (
    organization_id uuid NOT NULL, invoice_id int, n int,
    PRIMARY KEY (organization_id, invoice_id, n),
    FOREIGN KEY (organization_id, invoice_id) REFERENCES cp.invoices ON DELETE CASCADE);
CREATE TABLE cp.events (organization_id uuid NOT NULL, id int, PRIMARY KEY (organization_id, id))
    PARTITION BY HASH (organization_id);
CREATE TABLE cp.events_0 PARTITION OF cp.events FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE cp.events_1 PARTITION OF cp.events FOR VALUES WITH (MODULUS 2, REMAINDER 1);
SELECT count(*) AS isolated
  FROM (SELECT tenantcore.isolate(r)
          FROM unnest('{cp.clients, cp.invoices, cp.lines, cp.events}'::regclass[]) r) i;

-- referenced tables come first (tenantcore.organizations is the tenant
-- directory: a reference table, after users, which it references; then
-- tenant tables after the last reference table), partitions are not listed
SELECT * FROM pg_temp.my_plan;

-- the extension's core schema is distributable (0.8.0: its reference tables,
-- users, organizations and the global tables around them, each after those
-- it references, keep triggers that are safe there; users' policy calls a
-- function; test/shell/citus_core.sh runs the steps); every blueprint's
-- tables are
SELECT kind, count(*) FROM tenantcore.citus_plan() WHERE rel::text LIKE 'tenantcore.%' GROUP BY kind ORDER BY kind;
SELECT count(*) AS blueprint_tables
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) b,
       tenantcore.install_blueprint(b, ('cp_bp_' || b)::name);
SELECT kind, count(*) FROM tenantcore.citus_plan() WHERE rel::text LIKE 'cp\_bp\_%' GROUP BY kind ORDER BY kind;
SELECT rel, detail FROM tenantcore.citus_plan()
 WHERE kind = 'problem' AND (rel::text LIKE 'cp\_bp\_%' OR rel::text LIKE 'tenantcore.%');
SET client_min_messages = warning;
DO $$
DECLARE s name;
BEGIN
    FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cp\_bp\_%' LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', s);
    END LOOP;
END
$$;
RESET client_min_messages;

-- what Citus could not distribute, and what lets a row point at another tenant
CREATE TABLE cp.nullable_tenant (organization_id uuid, id int, UNIQUE (organization_id, id));
CREATE TABLE cp.global_unique (organization_id uuid NOT NULL, id int PRIMARY KEY, code text,
                               UNIQUE (organization_id, code));
CREATE UNIQUE INDEX global_unique_code ON cp.global_unique (code);
CREATE TABLE cp.unpaired (organization_id uuid NOT NULL, id int, client_org uuid, client_id int,
                          PRIMARY KEY (organization_id, id),
                          FOREIGN KEY (client_org, client_id) REFERENCES cp.clients);
CREATE TABLE cp.partial_fk (organization_id uuid NOT NULL, id int, client_id int,
                            PRIMARY KEY (organization_id, id), UNIQUE (organization_id, client_id));
ALTER TABLE cp.clients ADD UNIQUE (id);
ALTER TABLE cp.partial_fk ADD FOREIGN KEY (client_id) REFERENCES cp.clients (id);
CREATE TABLE cp.lookup_pointing_down (id int PRIMARY KEY, org uuid, client_id int,
                                      FOREIGN KEY (org, client_id) REFERENCES cp.clients);
SELECT count(*) AS isolated
  FROM (SELECT tenantcore.isolate(r)
          FROM unnest('{cp.nullable_tenant, cp.global_unique, cp.unpaired, cp.partial_fk}'::regclass[]) r) i;
SELECT rel, detail FROM pg_temp.my_plan WHERE kind = 'problem';

-- an application role may read the plan (it shows only catalog facts)
CREATE ROLE tc_cp_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_cp_app');
SET ROLE tc_cp_app;
SELECT count(*) AS problems_seen FROM tenantcore.citus_plan() WHERE rel::text LIKE 'cp.%' AND kind = 'problem';
RESET ROLE;

DROP SCHEMA cp CASCADE;
REVOKE ALL ON SCHEMA tenantcore FROM tc_cp_app;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA tenantcore FROM tc_cp_app;
DROP ROLE tc_cp_app;
