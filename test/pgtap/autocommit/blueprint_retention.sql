-- the retention policies a blueprint installs, run end to end by
-- run_retention (it COMMITs, so this file runs in autocommit mode and cleans
-- up after itself): documents past their retention date are deleted with what
-- hangs off them, soft-deleted rows go 30 days after deleted_at, and a
-- soft-deleted client is anonymized (not deleted: its invoices stay).
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS bpr_cpa CASCADE;
DELETE FROM tenantcore.retention_runs;
SELECT count(*) AS installed FROM tenantcore.install_blueprint('cpa', 'bpr_cpa') \gset
SELECT count(*) AS seeded FROM tenantcore.seed_demo('bpr_cpa', 3) \gset

-- as a superuser: make some rows expire, for tenant A only
CREATE TEMP TABLE picked AS
SELECT (SELECT id FROM bpr_cpa.documents WHERE organization_id = 'ac3e0000-0000-4000-8000-00000000000a' AND version = 2
         ORDER BY id LIMIT 1) AS expired_document,
       (SELECT id FROM bpr_cpa.clients WHERE organization_id = 'ac3e0000-0000-4000-8000-00000000000a'
         ORDER BY id LIMIT 1) AS deleted_client,
       (SELECT id FROM bpr_cpa.notes WHERE organization_id = 'ac3e0000-0000-4000-8000-00000000000a'
         ORDER BY id LIMIT 1) AS deleted_note,
       (SELECT id FROM bpr_cpa.notes WHERE organization_id = 'ac3e0000-0000-4000-8000-00000000000a'
         ORDER BY id OFFSET 1 LIMIT 1) AS recent_note;
UPDATE bpr_cpa.documents SET retention_date = now() - interval '1 day' WHERE id = (SELECT expired_document FROM picked);
UPDATE bpr_cpa.clients SET deleted_at = now() - interval '40 days' WHERE id = (SELECT deleted_client FROM picked);
UPDATE bpr_cpa.notes SET deleted_at = now() - interval '40 days' WHERE id = (SELECT deleted_note FROM picked);
UPDATE bpr_cpa.notes SET deleted_at = now() - interval '2 days' WHERE id = (SELECT recent_note FROM picked);
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM bpr_cpa.documents) AS documents, (SELECT count(*) FROM bpr_cpa.document_comments) AS comments,
       (SELECT count(*) FROM bpr_cpa.notes) AS notes, (SELECT count(*) FROM bpr_cpa.clients) AS clients,
       (SELECT count(*) FROM bpr_cpa.invoices) AS invoices;

CALL tenantcore.run_retention();

SELECT plan(9);
SELECT is((SELECT count(*) FROM tenantcore.retention_runs WHERE error IS NOT NULL), 0::bigint, 'every policy ran without error');
SELECT is((SELECT count(*) FROM bpr_cpa.documents WHERE id = (SELECT expired_document FROM picked)), 0::bigint,
          'the document past its retention date is deleted');
SELECT is((SELECT count(*) FROM bpr_cpa.documents), (SELECT documents - 1 FROM before), '... and no other document');
SELECT is((SELECT count(*) FROM bpr_cpa.document_comments), (SELECT comments - 1 FROM before),
          '... its comment went with it (ON DELETE CASCADE)');
SELECT is((SELECT count(*) FROM bpr_cpa.notes), (SELECT notes - 1 FROM before),
          'the note soft-deleted 40 days ago is deleted, the one soft-deleted 2 days ago stays');
SELECT is((SELECT count(*) FROM bpr_cpa.clients), (SELECT clients FROM before), 'the soft-deleted client is not deleted');
SELECT results_eq($$SELECT business_name, primary_contact_email, tax_id_encrypted IS NULL, tax_id_bidx IS NULL
                      FROM bpr_cpa.clients WHERE id = (SELECT deleted_client FROM picked)$$,
                  $$VALUES ('deleted client', 'deleted@example.invalid', true, true)$$,
                  '... but anonymized: name, contact and encrypted tax id gone');
SELECT is((SELECT count(*) FROM bpr_cpa.invoices), (SELECT invoices FROM before), 'its invoices stay');
SELECT is((SELECT count(*) FROM bpr_cpa.clients WHERE business_name = 'deleted client'), 1::bigint,
          'no other client is anonymized');
SELECT * FROM finish();

DROP SCHEMA bpr_cpa CASCADE;
DELETE FROM tenantcore.retention_runs;
DELETE FROM tenantcore.organizations WHERE id IN ('ac3e0000-0000-4000-8000-00000000000a', 'b1c40000-0000-4000-8000-00000000000b');
DELETE FROM tenantcore.users WHERE email LIKE '%@acme.example' OR email LIKE '%@birch.example';
DELETE FROM tenantcore.tenant_keys WHERE organization_id IN ('ac3e0000-0000-4000-8000-00000000000a', 'b1c40000-0000-4000-8000-00000000000b');
