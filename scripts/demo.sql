-- scripts/demo.sql -- a short tour of tenantcore on a throwaway cluster.
\set ECHO queries
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;

-- An owner role for the schema (NOLOGIN) and an application role that logs in.
CREATE ROLE demo_owner NOLOGIN;
CREATE ROLE demo_app LOGIN;
CREATE SCHEMA demo AUTHORIZATION demo_owner;
SELECT tenantcore.grant_app_role('demo_app');
SELECT tenantcore.grant_app_role('demo_owner');   -- lets the owner call the installers

SET ROLE demo_owner;
CREATE TABLE demo.invoices (
    organization_id uuid NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    customer        text NOT NULL,
    amount          numeric(12,2) NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (organization_id, id)
);
SELECT tenantcore.isolate('demo.invoices');
GRANT USAGE ON SCHEMA demo TO demo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON demo.invoices TO demo_app;
RESET ROLE;

-- The application, as tenant A and then tenant B (one transaction each,
-- as behind PgBouncer in transaction pooling mode).
SET ROLE demo_app;
BEGIN;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-00000000000a');
INSERT INTO demo.invoices (customer, amount) VALUES ('Acme', 100), ('Apex', 250);
COMMIT;
BEGIN;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-00000000000b');
INSERT INTO demo.invoices (customer, amount) VALUES ('Bolt', 75);
SELECT organization_id, customer, amount FROM demo.invoices;   -- only B's row
COMMIT;
-- writing a row for another tenant is refused by the policy
BEGIN;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-00000000000b');
\set ON_ERROR_STOP 0
INSERT INTO demo.invoices (organization_id, customer, amount)
VALUES ('00000000-0000-0000-0000-00000000000a', 'Sneaky', 1);
\set ON_ERROR_STOP 1
ROLLBACK;

BEGIN;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-00000000000a');
SELECT organization_id, customer, amount FROM demo.invoices;   -- only A's rows
COMMIT;

-- After the transaction no tenant is set: nothing is visible.
SELECT tenantcore.current_tenant() AS tenant_after_commit, count(*) AS visible_rows FROM demo.invoices;
RESET ROLE;

-- PII encryption: each tenant gets its own random data key on first use,
-- stored wrapped by the server's master key (tenantcore.master_key_file).
SET ROLE demo_app;
BEGIN;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-00000000000a');
SELECT tenantcore.encrypt_pii('alice@example.com') AS ciphertext_a \gset
SELECT tenantcore.decrypt_pii(:'ciphertext_a') AS decrypted_by_a,
       tenantcore.blind_index(' Alice@Example.com') = tenantcore.blind_index('alice@example.com') AS blind_index_matches;
COMMIT;
BEGIN;
SELECT tenantcore.set_tenant('00000000-0000-0000-0000-00000000000b');
-- tenant B cannot read tenant A's ciphertext
\set ON_ERROR_STOP 0
SELECT tenantcore.decrypt_pii(:'ciphertext_a');
\set ON_ERROR_STOP 1
ROLLBACK;
RESET ROLE;

-- Retention: keep invoices 30 days, except tenant A (under a legal hold).
ALTER TABLE demo.invoices ADD COLUMN issued_at timestamptz NOT NULL DEFAULT now();
UPDATE demo.invoices SET issued_at = now() - interval '90 days';
SELECT tenantcore.retain('demo.invoices', 'issued_at', '30 days') AS policy_id;
SELECT tenantcore.hold('00000000-0000-0000-0000-00000000000a', 'demo.invoices', 'audit in progress') AS hold_id;
CALL tenantcore.run_retention();
SELECT rel, action, rows_affected FROM tenantcore.retention_runs;
SELECT organization_id, count(*) AS invoices_left FROM demo.invoices GROUP BY 1;

-- Blueprints: the seeds' CPA practice as a ready schema (isolated, audited,
-- tax ids and tokens encrypted, retention attached), with two demo firms.
SELECT name, tables FROM tenantcore.blueprints() WHERE name IN ('cpa', 'projects');
SELECT tenantcore.install_blueprint('cpa', 'practice');
SELECT * FROM tenantcore.seed_demo('practice') WHERE table_name::text IN ('practice.clients', 'practice.invoices');
GRANT USAGE ON SCHEMA practice TO demo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA practice TO demo_app;
SET ROLE demo_app;
BEGIN;
SELECT tenantcore.set_tenant('ac3e0000-0000-4000-8000-00000000000a');   -- Acme Accounting
SELECT business_name, tax_id, status FROM practice.clients_decrypted ORDER BY business_name;
SELECT c.business_name, i.invoice_number, i.total_amount
  FROM practice.invoices i JOIN practice.clients c ON c.organization_id = i.organization_id AND c.id = i.client_id
 ORDER BY i.invoice_number;
-- a client with invoices cannot be deleted (ON DELETE RESTRICT, as the seed asks)
\set ON_ERROR_STOP 0
DELETE FROM practice.clients WHERE business_name = 'Client 1';
\set ON_ERROR_STOP 1
ROLLBACK;
RESET ROLE;

-- The lint lists what is left unprotected.
CREATE TABLE public.forgotten (organization_id uuid, note text);
SELECT severity, object, problem FROM tenantcore.lint();
