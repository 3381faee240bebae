-- Blueprints: the catalog, bad input with its exact errors, installing twice,
-- a failure halfway, constraints the seeds ask for, cross-tenant references
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT name, seeds, tables FROM tenantcore.blueprints() ORDER BY name;

-- bad input: nothing is created
SELECT tenantcore.install_blueprint(NULL, 'bp_reg');
SELECT tenantcore.install_blueprint('cpa', NULL);
SELECT tenantcore.install_blueprint('erp', 'bp_reg');
SELECT tenantcore.install_blueprint('cpa', 'bp_reg; DROP TABLE tenantcore.organizations');
SELECT tenantcore.install_blueprint('cpa', 'BP_Reg');
SELECT tenantcore.install_blueprint('cpa', '1st');
SELECT tenantcore.install_blueprint('cpa', '');
SELECT tenantcore.install_blueprint('cpa', 'tenantcore');
SELECT tenantcore.install_blueprint('cpa', 'pg_catalog');
SELECT tenantcore.install_blueprint('cpa', 'information_schema');
SELECT count(*) AS schemas_created FROM pg_namespace WHERE nspname ILIKE 'bp_reg%' OR nspname = '1st';

-- only superusers: EXECUTE is revoked from PUBLIC, and a grant is not enough
CREATE ROLE bp_reg_user LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('bp_reg_user');
SET ROLE bp_reg_user;
SELECT tenantcore.install_blueprint('cpa', 'bp_reg');
SELECT tenantcore.seed_demo('bp_reg');
SELECT tenantcore.seed_bench('bp_reg', 1, 1);
RESET ROLE;
GRANT EXECUTE ON FUNCTION tenantcore.install_blueprint(text, name) TO bp_reg_user;
SET ROLE bp_reg_user;
SELECT tenantcore.install_blueprint('cpa', 'bp_reg');
RESET ROLE;
REVOKE ALL ON FUNCTION tenantcore.install_blueprint(text, name) FROM bp_reg_user;
DROP OWNED BY bp_reg_user;
DROP ROLE bp_reg_user;

-- install, then install again
SELECT tenantcore.install_blueprint('projects', 'bp_reg');
SELECT tenantcore.install_blueprint('projects', 'bp_reg');
SELECT tenantcore.install_blueprint('retail', 'bp_reg');
SELECT schema_name, blueprint FROM tenantcore.installed_blueprints ORDER BY 1::text;
SELECT * FROM tenantcore.lint();

-- a failure halfway (a table of the blueprint exists already) leaves nothing
CREATE SCHEMA bp_half;
CREATE TABLE bp_half.quickbooks_syncs (id int);
SELECT tenantcore.install_blueprint('cpa', 'bp_half');
SELECT relname FROM pg_class WHERE relnamespace = 'bp_half'::regnamespace ORDER BY 1;
SELECT count(*) AS registered FROM tenantcore.installed_blueprints WHERE schema_name::text = 'bp_half';
SELECT count(*) AS isolated FROM tenantcore.isolated_tables WHERE rel::text LIKE 'bp_half.%';
SELECT count(*) AS protected FROM tenantcore.protected_columns WHERE rel::text LIKE 'bp_half.%';
SELECT count(*) AS retained FROM tenantcore.retention_policies WHERE rel::text LIKE 'bp_half.%';
SET client_min_messages = warning;
DROP SCHEMA bp_half CASCADE;
RESET client_min_messages;

-- seeding: bad input
SELECT tenantcore.seed_demo(NULL);
SELECT tenantcore.seed_demo('public');
SELECT tenantcore.seed_demo('bp_reg', 0);
SELECT tenantcore.seed_bench('bp_reg', 0, 10);
SELECT tenantcore.seed_bench('bp_reg', 1, NULL);

-- the seeds' constraints, as a superuser writing for two tenants
SELECT tenantcore.install_blueprint('cpa', 'bp_cpa') IS NOT NULL AS installed LIMIT 1;
SELECT table_name, row_count FROM tenantcore.seed_demo('bp_cpa', 2) WHERE table_name::text LIKE '%clients' OR table_name::text LIKE '%invoices';
-- (terse: the failing rows hold random ids and timestamps)
\set VERBOSITY terse
BEGIN;
SELECT tenantcore.set_tenant('ac3e0000-0000-4000-8000-00000000000a') IS NOT NULL AS tenant_set;
SAVEPOINT s;
INSERT INTO bp_cpa.clients (business_name, primary_contact_email, primary_contact_name, annual_revenue)
VALUES ('Negative Inc', 'n@example.com', 'N', -1);
ROLLBACK TO s;
INSERT INTO bp_cpa.clients (business_name, primary_contact_email, primary_contact_name, status)
VALUES ('Odd Inc', 'o@example.com', 'O', 'archived');
ROLLBACK TO s;
INSERT INTO bp_cpa.clients (business_name, primary_contact_email, primary_contact_name, financial_data)
VALUES ('Array Inc', 'a@example.com', 'A', '[1, 2]');
ROLLBACK TO s;
UPDATE bp_cpa.documents SET ocr_confidence = 1.5 WHERE organization_id = tenantcore.current_tenant();
ROLLBACK TO s;
UPDATE bp_cpa.workflow_executions SET progress = 101 WHERE organization_id = tenantcore.current_tenant();
ROLLBACK TO s;
UPDATE bp_cpa.task_executions SET progress = -1 WHERE organization_id = tenantcore.current_tenant();
ROLLBACK TO s;
UPDATE bp_cpa.invoices SET total_amount = -5 WHERE organization_id = tenantcore.current_tenant();
ROLLBACK TO s;
UPDATE bp_cpa.documents SET extracted_data = '"text"' WHERE organization_id = tenantcore.current_tenant();
ROLLBACK TO s;
-- a task execution depends only on a task of its own workflow execution
UPDATE bp_cpa.task_executions t SET parent_task_id = o.id
  FROM bp_cpa.task_executions o
 WHERE t.organization_id = tenantcore.current_tenant() AND o.organization_id = t.organization_id
   AND o.workflow_execution_id <> t.workflow_execution_id;
ROLLBACK TO s;
-- a client with invoices cannot be deleted (ON DELETE RESTRICT)
DELETE FROM bp_cpa.clients WHERE organization_id = tenantcore.current_tenant();
ROLLBACK TO s;
-- a row of tenant A cannot reference a client of tenant B, whatever its id
INSERT INTO bp_cpa.notes (client_id, author_id, content)
SELECT id, 'a11ce000-0000-4000-8000-000000000001', 'cross-tenant'
  FROM bp_cpa.clients WHERE organization_id = 'b1c40000-0000-4000-8000-00000000000b' LIMIT 1;
ROLLBACK TO s;
-- QuickBooks tokens stay required although the plaintext column is nullable
INSERT INTO bp_cpa.quickbooks_tokens (organization_id, realm_id, expires_at, refresh_token)
VALUES ('ac3e0000-0000-4000-8000-00000000000a', 'r', now(), 'x');
ROLLBACK;
\set VERBOSITY default

-- a dropped schema forgets its blueprint, and the installers forget its tables
SET client_min_messages = warning;
DROP SCHEMA bp_reg, bp_cpa CASCADE;
RESET client_min_messages;
SELECT count(*) AS registered FROM tenantcore.installed_blueprints;
SELECT count(*) AS isolated FROM tenantcore.isolated_tables WHERE rel::text LIKE 'bp\_%';
SELECT count(*) AS retained FROM tenantcore.retention_policies WHERE rel::text LIKE 'bp\_%';
DELETE FROM tenantcore.organizations WHERE slug IN ('acme', 'birch');
DELETE FROM tenantcore.users WHERE email LIKE '%@acme.example' OR email LIKE '%@birch.example';
DELETE FROM tenantcore.tenant_keys WHERE organization_id IN ('ac3e0000-0000-4000-8000-00000000000a', 'b1c40000-0000-4000-8000-00000000000b');
