-- tenantcore pgTAP: blueprints and GDPR -- install_blueprint() registers every
-- column that references a person (foreign key to users) as a subject column
-- kept on erasure; export_subject() of a person who works in two tenants
-- returns their blueprint rows of both, erase_subject() anonymizes the person
-- and leaves every blueprint row as it was; a dropped schema leaves no
-- registration behind
BEGIN;
SELECT plan(23);

SET LOCAL client_min_messages = warning;
CREATE TEMP TABLE installed AS
SELECT tenantcore.install_blueprint('cpa', 'bpg_cpa') AS rel
UNION ALL SELECT tenantcore.install_blueprint('projects', 'bpg_pm');
RESET client_min_messages;

-- registrations: exactly the uuid columns with a foreign key to users
SELECT set_eq($$SELECT rel::text, subject_column::text FROM tenantcore.subject_tables
                 WHERE rel IN (SELECT rel FROM installed)$$,
              $$SELECT con.conrelid::regclass::text, a.attname::text
                  FROM pg_constraint con JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
                 WHERE con.conrelid IN (SELECT rel FROM installed) AND con.contype = 'f'
                   AND con.confrelid = 'tenantcore.users'::regclass$$,
              'every reference to a person in a blueprint is a registered subject column');
SELECT set_eq($$SELECT rel::text || '.' || subject_column FROM tenantcore.subject_tables
                 WHERE rel IN (SELECT rel FROM installed)$$,
              $$VALUES ('bpg_cpa.clients.created_by'), ('bpg_cpa.clients.updated_by'), ('bpg_cpa.documents.reviewed_by'),
                       ('bpg_cpa.documents.uploaded_by'), ('bpg_cpa.document_annotations.author_id'),
                       ('bpg_cpa.document_comments.author_id'), ('bpg_cpa.document_shares.shared_by'),
                       ('bpg_cpa.notes.author_id'), ('bpg_cpa.engagements.assigned_to'), ('bpg_cpa.tasks.assigned_to'),
                       ('bpg_cpa.invoices.created_by'), ('bpg_cpa.report_templates.created_by'),
                       ('bpg_cpa.reports.generated_by'), ('bpg_cpa.workflow_templates.created_by'),
                       ('bpg_cpa.task_executions.assigned_to_id'),
                       ('bpg_pm.projects.owner_id'), ('bpg_pm.tasks.assignee_id'), ('bpg_pm.files.uploaded_by'),
                       ('bpg_pm.messages.sender_id'), ('bpg_pm.messages.receiver_id')$$,
              '... which are the 15 of cpa and the 5 of projects');
SELECT results_eq($$SELECT DISTINCT on_erase, anonymize IS NULL, tenant_column = 'organization_id', builtin FROM tenantcore.subject_tables
                     WHERE rel IN (SELECT rel FROM installed)$$,
                  $$VALUES ('keep', true, true, false)$$,
                  '... kept on erasure, with the tenant column, as ordinary (dumped) registrations');

-- two tenants; Sam works in both, Olga only in B
INSERT INTO tenantcore.organizations (id, name, slug) VALUES
    ('9a000000-0000-4000-8000-00000000000a', 'GDPR A', 'bpg-a'),
    ('9b000000-0000-4000-8000-00000000000b', 'GDPR B', 'bpg-b');
INSERT INTO tenantcore.users (id, email, first_name, last_name) VALUES
    ('5a000000-0000-4000-8000-000000000001', 'sam@bpg.example', 'Sam', 'Doe'),
    ('0a000000-0000-4000-8000-000000000002', 'olga@bpg.example', 'Olga', 'Roe');
INSERT INTO bpg_cpa.clients (organization_id, id, business_name, primary_contact_email, primary_contact_name, created_by) VALUES
    ('9a000000-0000-4000-8000-00000000000a', 'c1000000-0000-4000-8000-00000000000a', 'Alder', 'a@alder.example', 'Al',
     '5a000000-0000-4000-8000-000000000001'),
    ('9b000000-0000-4000-8000-00000000000b', 'c1000000-0000-4000-8000-00000000000b', 'Birch', 'b@birch.example', 'Bo',
     '0a000000-0000-4000-8000-000000000002');
INSERT INTO bpg_cpa.documents (organization_id, id, client_id, file_name, file_url, file_type, category, uploaded_by) VALUES
    ('9a000000-0000-4000-8000-00000000000a', 'd1000000-0000-4000-8000-00000000000a', 'c1000000-0000-4000-8000-00000000000a',
     'a.pdf', 's3://a', 'pdf', 'receipt', '5a000000-0000-4000-8000-000000000001'),
    ('9b000000-0000-4000-8000-00000000000b', 'd1000000-0000-4000-8000-00000000000b', 'c1000000-0000-4000-8000-00000000000b',
     'b.pdf', 's3://b', 'pdf', 'receipt', '5a000000-0000-4000-8000-000000000001'),
    ('9b000000-0000-4000-8000-00000000000b', 'd2000000-0000-4000-8000-00000000000b', 'c1000000-0000-4000-8000-00000000000b',
     'o.pdf', 's3://o', 'pdf', 'receipt', '0a000000-0000-4000-8000-000000000002');
INSERT INTO bpg_cpa.engagements (organization_id, id, client_id, name, engagement_type) VALUES
    ('9a000000-0000-4000-8000-00000000000a', 'e1000000-0000-4000-8000-00000000000a', 'c1000000-0000-4000-8000-00000000000a',
     '2025 taxes', 'tax_preparation'),
    ('9b000000-0000-4000-8000-00000000000b', 'e1000000-0000-4000-8000-00000000000b', 'c1000000-0000-4000-8000-00000000000b',
     'audit', 'audit');
INSERT INTO bpg_cpa.tasks (organization_id, id, engagement_id, title, assigned_to) VALUES
    ('9a000000-0000-4000-8000-00000000000a', 'f1000000-0000-4000-8000-00000000000a', 'e1000000-0000-4000-8000-00000000000a',
     'collect W-2', '5a000000-0000-4000-8000-000000000001'),
    ('9b000000-0000-4000-8000-00000000000b', 'f1000000-0000-4000-8000-00000000000b', 'e1000000-0000-4000-8000-00000000000b',
     'sample invoices', '5a000000-0000-4000-8000-000000000001'),
    ('9b000000-0000-4000-8000-00000000000b', 'f2000000-0000-4000-8000-00000000000b', 'e1000000-0000-4000-8000-00000000000b',
     'sign off', '0a000000-0000-4000-8000-000000000002');
INSERT INTO bpg_pm.messages (organization_id, id, sender_id, receiver_id, body) VALUES
    ('9b000000-0000-4000-8000-00000000000b', 'a1000000-0000-4000-8000-00000000000b',
     '0a000000-0000-4000-8000-000000000002', '5a000000-0000-4000-8000-000000000001', 'see you at 3');

-- export, as a superuser
CREATE TEMP TABLE x AS SELECT tenantcore.export_subject('5a000000-0000-4000-8000-000000000001') AS j;
SELECT results_eq($$SELECT e ->> 'organization_id', e ->> 'id', e ->> 'uploaded_by'
                      FROM x, jsonb_array_elements(j -> 'tables' -> 'bpg_cpa.documents') e ORDER BY 1$$,
                  $$VALUES ('9a000000-0000-4000-8000-00000000000a', 'd1000000-0000-4000-8000-00000000000a', '5a000000-0000-4000-8000-000000000001'),
                           ('9b000000-0000-4000-8000-00000000000b', 'd1000000-0000-4000-8000-00000000000b', '5a000000-0000-4000-8000-000000000001')$$,
                  'export_subject includes the documents the person uploaded, in both tenants, and not the others''');
SELECT results_eq($$SELECT e ->> 'title' FROM x, jsonb_array_elements(j -> 'tables' -> 'bpg_cpa.tasks') e ORDER BY 1$$,
                  $$VALUES ('collect W-2'), ('sample invoices')$$,
                  '... the tasks assigned to them in both tenants');
SELECT results_eq($$SELECT e ->> 'business_name' FROM x, jsonb_array_elements(j -> 'tables' -> 'bpg_cpa.clients') e$$,
                  $$VALUES ('Alder')$$, '... the client they created');
SELECT results_eq($$SELECT e ->> 'body' FROM x, jsonb_array_elements(j -> 'tables' -> 'bpg_pm.messages') e$$,
                  $$VALUES ('see you at 3')$$, '... the message they received');
SELECT is((SELECT j -> 'tables' -> 'bpg_cpa.engagements' FROM x), '[]'::jsonb,
          '... a registered table without their rows as an empty list');
SELECT ok(NOT (SELECT (j -> 'tables') ?| ARRAY['bpg_cpa.quickbooks_syncs', 'bpg_cpa.workflow_executions'] FROM x),
          '... and no table without a reference to a person');
SELECT is((SELECT jsonb_array_length(j -> 'tables' -> 'tenantcore.users') FROM x), 1, '... next to their users row');

-- erasure: the person is anonymized, the business rows stay as they were
CREATE TEMP VIEW digests AS
SELECT 'bpg_cpa.documents' AS rel, md5(string_agg(t::text, ',' ORDER BY t::text)) AS digest FROM bpg_cpa.documents t
UNION ALL SELECT 'bpg_cpa.tasks', md5(string_agg(t::text, ',' ORDER BY t::text)) FROM bpg_cpa.tasks t
UNION ALL SELECT 'bpg_cpa.clients', md5(string_agg(t::text, ',' ORDER BY t::text)) FROM bpg_cpa.clients t
UNION ALL SELECT 'bpg_pm.messages', md5(string_agg(t::text, ',' ORDER BY t::text)) FROM bpg_pm.messages t;
CREATE TEMP TABLE before_erase AS SELECT * FROM digests;
-- a legal hold on tenant B does not block: kept rows do not change
CREATE TEMP TABLE h AS SELECT tenantcore.hold('9b000000-0000-4000-8000-00000000000b', reason => 'audit of B');
CREATE TEMP TABLE e AS SELECT tenantcore.erase_subject('5a000000-0000-4000-8000-000000000001') AS j;
SELECT is((SELECT j -> 'tables' -> 'bpg_cpa.documents.uploaded_by' FROM e), '{"action": "keep", "rows": 0, "kept": 2}'::jsonb,
          'erase_subject keeps the documents the person uploaded and says how many');
SELECT is((SELECT j -> 'tables' -> 'bpg_cpa.tasks.assigned_to' FROM e), '{"action": "keep", "rows": 0, "kept": 2}'::jsonb,
          '... and the tasks assigned to them, also under a legal hold on one tenant');
SELECT is((SELECT j -> 'tables' -> 'tenantcore.users.id' FROM e), '{"action": "anonymize", "rows": 1}'::jsonb,
          '... while it anonymizes their users row');
SELECT results_eq($$SELECT email, first_name, last_name, status FROM tenantcore.users
                     WHERE id = '5a000000-0000-4000-8000-000000000001'$$,
                  $$VALUES (NULL::text, NULL::text, NULL::text, 'deleted'::text)$$,
                  'the person''s identity is gone');
SELECT set_eq('SELECT * FROM digests', 'SELECT rel, digest FROM before_erase',
              'the blueprint rows of both tenants are unchanged, references included');
SELECT results_eq($$SELECT organization_id::text, count(*) FROM bpg_cpa.documents
                     WHERE uploaded_by = '5a000000-0000-4000-8000-000000000001' GROUP BY 1 ORDER BY 1$$,
                  $$VALUES ('9a000000-0000-4000-8000-00000000000a', 1::bigint), ('9b000000-0000-4000-8000-00000000000b', 1::bigint)$$,
                  'the documents still point at the (now anonymous) person in each tenant');
SELECT is((SELECT j -> 'tables' -> 'bpg_cpa.tasks.assigned_to' FROM (SELECT tenantcore.erase_subject('5a000000-0000-4000-8000-000000000001') AS j) r),
          '{"action": "keep", "rows": 0, "kept": 2}'::jsonb, 'a second erasure finds the same rows and changes nothing');
SELECT is((SELECT jsonb_array_length(tenantcore.export_subject('5a000000-0000-4000-8000-000000000001') -> 'tables' -> 'bpg_cpa.documents')),
          2, 'an export after the erasure still lists the rows linked to the anonymous person');

-- 'keep' takes no anonymize spec; other people are not touched
SELECT throws_ok($$SELECT tenantcore.register_subject_table('bpg_cpa.tasks', 'assigned_to', 'keep', '{"title": "x"}')$$,
                 '22023', 'anonymize must be given for on_erase anonymize and only for it',
                 'keep with an anonymize spec is refused');
SELECT is((SELECT email FROM tenantcore.users WHERE id = '0a000000-0000-4000-8000-000000000002'), 'olga@bpg.example',
          'the other person is untouched');

-- a dropped schema leaves no registration behind
SET LOCAL client_min_messages = warning;
DROP SCHEMA bpg_pm CASCADE;
RESET client_min_messages;
SELECT is((SELECT count(*) FROM tenantcore.subject_tables s JOIN installed i USING (rel)), 15::bigint,
          'DROP SCHEMA forgets the registrations of its tables');
SELECT ok(NOT EXISTS (SELECT FROM tenantcore.subject_tables s WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = s.rel)),
          '... and leaves none dangling');
SELECT lives_ok($$SELECT tenantcore.export_subject('5a000000-0000-4000-8000-000000000001')$$,
                'export_subject works after the drop');

SELECT * FROM finish();
ROLLBACK;
