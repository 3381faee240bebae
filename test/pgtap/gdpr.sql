-- tenantcore pgTAP: GDPR subject export and erasure across two tenants:
-- export content (protected columns decrypted, audit entries), erasure
-- (deleted and anonymized rows in both tenants, other subjects untouched),
-- idempotence, legal holds, application role refused, shredded tenant.
BEGIN;
SELECT plan(31);
-- the core tables' builtin registrations (0.5.0) are left out of the comparisons
CREATE FUNCTION pg_temp.without_core(j jsonb) RETURNS jsonb LANGUAGE sql AS
$$ SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM jsonb_each(j) x(k, v) WHERE k NOT LIKE 'tenantcore.%' $$;

\set owner tc_gtap_owner
\set app tc_gtap_app
\set schema gtap
\ir ../helpers/app_roles.sql
SET LOCAL ROLE tc_gtap_owner;
CREATE TABLE gtap.members (
    organization_id uuid NOT NULL,
    user_id uuid NOT NULL,
    name    text,
    email   text,
    PRIMARY KEY (organization_id, user_id)
);
CREATE TABLE gtap.sessions (
    organization_id uuid NOT NULL,
    id      int NOT NULL,
    user_id uuid NOT NULL,
    token_hash text,
    PRIMARY KEY (organization_id, id)
);
SELECT tenantcore.isolate('gtap.members');
SELECT tenantcore.isolate('gtap.sessions');
SELECT tenantcore.protect('gtap.members', 'email');
GRANT SELECT, INSERT, UPDATE, DELETE ON gtap.members, gtap.sessions TO tc_gtap_app;
GRANT SELECT ON gtap.members_decrypted TO tc_gtap_app;
RESET ROLE;

SELECT tenantcore.register_subject_table('gtap.members', 'user_id', 'anonymize',
                                         '{"name": "Deleted User", "email_encrypted": null}');
SELECT tenantcore.register_subject_table('gtap.sessions', 'user_id', 'delete');

-- a stand-in for the audit log of the audit part when it is not installed
DO $$
BEGIN
    IF to_regclass('tenantcore.audit_log') IS NULL THEN
        CREATE TABLE tenantcore.audit_log (
            id bigserial PRIMARY KEY, organization_id uuid, occurred_at timestamptz NOT NULL DEFAULT now(),
            table_name text, operation text, pk jsonb, old_row jsonb, new_row jsonb,
            changed_columns text[], actor_id uuid);
    END IF;
END
$$;

-- tenants A and B; subject S (1111...) and another person O (2222...) in both
INSERT INTO gtap.members VALUES
    ('a0000000-0000-4000-8000-00000000000a', '11111111-1111-4111-8111-111111111111', 'Sam', 'sam@a.example'),
    ('b0000000-0000-4000-8000-00000000000b', '11111111-1111-4111-8111-111111111111', 'Sam B', 'sam@b.example'),
    ('a0000000-0000-4000-8000-00000000000a', '22222222-2222-4222-8222-222222222222', 'Olga', 'olga@a.example'),
    ('b0000000-0000-4000-8000-00000000000b', '22222222-2222-4222-8222-222222222222', 'Olga B', 'olga@b.example');
INSERT INTO gtap.sessions VALUES
    ('a0000000-0000-4000-8000-00000000000a', 1, '11111111-1111-4111-8111-111111111111', 'h1'),
    ('b0000000-0000-4000-8000-00000000000b', 2, '11111111-1111-4111-8111-111111111111', 'h2'),
    ('a0000000-0000-4000-8000-00000000000a', 3, '22222222-2222-4222-8222-222222222222', 'h3'),
    ('b0000000-0000-4000-8000-00000000000b', 4, '22222222-2222-4222-8222-222222222222', 'h4');
INSERT INTO tenantcore.audit_log (organization_id, relid, table_name, operation, pk, new_row, actor_id) VALUES
    ('a0000000-0000-4000-8000-00000000000a', 0, 'gtap.x', 'INSERT', '{"id": 1}', '{"id": 1}', '11111111-1111-4111-8111-111111111111'),
    ('b0000000-0000-4000-8000-00000000000b', 0, 'gtap.x', 'INSERT', '{"id": 2}', '{"id": 2}', '11111111-1111-4111-8111-111111111111'),
    ('a0000000-0000-4000-8000-00000000000a', 0, 'gtap.x', 'INSERT', '{"id": 3}', '{"id": 3}', '22222222-2222-4222-8222-222222222222');

-- 1-4: an application role cannot export or erase anyone
SELECT function_privs_are('tenantcore', 'export_subject', ARRAY['uuid'], 'tc_gtap_app', '{}', 'application role has no EXECUTE on export_subject');
SELECT function_privs_are('tenantcore', 'erase_subject', ARRAY['uuid'], 'tc_gtap_app', '{}', 'application role has no EXECUTE on erase_subject');
SET LOCAL ROLE tc_gtap_app;
SELECT tenantcore.set_tenant('a0000000-0000-4000-8000-00000000000a');
SELECT throws_ok($$SELECT tenantcore.export_subject('11111111-1111-4111-8111-111111111111')$$, '42501',
                 'permission denied for function export_subject', 'application role cannot call export_subject');
SELECT throws_ok($$SELECT tenantcore.erase_subject('11111111-1111-4111-8111-111111111111')$$, '42501',
                 'permission denied for function erase_subject', 'application role cannot call erase_subject');
RESET ROLE;

-- 5-10: export across both tenants, protected column decrypted, audit entries
CREATE TEMP TABLE export AS SELECT tenantcore.export_subject('11111111-1111-4111-8111-111111111111') AS j;
SELECT is((SELECT j ->> 'subject' FROM export), '11111111-1111-4111-8111-111111111111', 'export names the subject');
SELECT results_eq($$SELECT r ->> 'organization_id', r ->> 'name', r ->> 'email'
                      FROM export, jsonb_array_elements(j -> 'tables' -> 'gtap.members') r ORDER BY 1$$,
                  $$VALUES ('a0000000-0000-4000-8000-00000000000a', 'Sam', 'sam@a.example'),
                           ('b0000000-0000-4000-8000-00000000000b', 'Sam B', 'sam@b.example')$$,
                  'export holds the subject''s rows of both tenants with the protected column decrypted');
SELECT is((SELECT count(*) FROM export, jsonb_array_elements(j -> 'tables' -> 'gtap.members') r WHERE r ? 'email_encrypted'),
          0::bigint, 'export leaves ciphertext out');
SELECT results_eq($$SELECT (r ->> 'id')::int FROM export, jsonb_array_elements(j -> 'tables' -> 'gtap.sessions') r ORDER BY 1$$,
                  ARRAY[1, 2], 'export holds the subject''s sessions of both tenants, no one else''s');
SELECT results_eq($$SELECT r -> 'pk' FROM export, jsonb_array_elements(j -> 'audit') r ORDER BY r ->> 'id'$$,
                  $$VALUES ('{"id": 1}'::jsonb), ('{"id": 2}'::jsonb)$$, 'export holds the audit entries of the subject as actor');
SELECT is((SELECT count(*) FROM tenantcore.gdpr_requests WHERE subject = '11111111-1111-4111-8111-111111111111' AND kind = 'export'
              AND completed_at IS NOT NULL AND pg_temp.without_core(detail -> 'rows') = '{"gtap.members": 2, "gtap.sessions": 2}'),
          1::bigint, 'the export is recorded in gdpr_requests');

-- 11-13: a legal hold on tenant B blocks the whole erasure, nothing changes
SELECT tenantcore.hold('b0000000-0000-4000-8000-00000000000b', reason => 'litigation') AS hold_id \gset
SELECT throws_ok($$SELECT tenantcore.erase_subject('11111111-1111-4111-8111-111111111111')$$, '55000',
                 'erasure of subject 11111111-1111-4111-8111-111111111111 is blocked by a legal hold',
                 'a legal hold of a tenant blocks the erasure');
SELECT results_eq($$SELECT name FROM gtap.members WHERE user_id = '11111111-1111-4111-8111-111111111111' ORDER BY organization_id$$,
                  ARRAY['Sam', 'Sam B'], 'a blocked erasure leaves the rows of every tenant unchanged');
SELECT is((SELECT count(*) FROM gtap.sessions WHERE user_id = '11111111-1111-4111-8111-111111111111')
          + (SELECT count(*) FROM tenantcore.audit_log WHERE actor_id = '11111111-1111-4111-8111-111111111111')
          + (SELECT count(*) FROM tenantcore.gdpr_requests WHERE kind = 'erasure'),
          4::bigint, 'a blocked erasure deletes no session, detaches no audit entry and records no request');
SELECT tenantcore.release_hold(:hold_id);

-- 14-20: erasure
SELECT is((SELECT jsonb_set(e, '{tables}', pg_temp.without_core(e -> 'tables'))
             FROM (SELECT tenantcore.erase_subject('11111111-1111-4111-8111-111111111111') - 'request_id') s(e)),
          '{"subject": "11111111-1111-4111-8111-111111111111", "tables": {"gtap.members.user_id": {"rows": 2, "action": "anonymize"},
            "gtap.sessions.user_id": {"rows": 2, "action": "delete"}}, "audit_entries_detached": 2}'::jsonb,
          'erase_subject returns what it did');
SELECT results_eq($$SELECT organization_id::text, name, email_encrypted IS NULL FROM gtap.members
                     WHERE user_id = '11111111-1111-4111-8111-111111111111' ORDER BY 1$$,
                  $$VALUES ('a0000000-0000-4000-8000-00000000000a', 'Deleted User', true),
                           ('b0000000-0000-4000-8000-00000000000b', 'Deleted User', true)$$,
                  'the subject''s rows are anonymized in both tenants');
SELECT is((SELECT count(*) FROM gtap.sessions WHERE user_id = '11111111-1111-4111-8111-111111111111'), 0::bigint,
          'the subject''s sessions are deleted in both tenants');
SELECT results_eq($$SELECT name, tenantcore.decrypt_pii(email_encrypted, organization_id) FROM gtap.members
                     WHERE user_id = '22222222-2222-4222-8222-222222222222' ORDER BY organization_id$$,
                  $$VALUES ('Olga', 'olga@a.example'), ('Olga B', 'olga@b.example')$$, 'another person''s rows are untouched');
SELECT is((SELECT count(*) FROM gtap.sessions WHERE user_id = '22222222-2222-4222-8222-222222222222'), 2::bigint,
          'another person''s sessions are untouched');
SELECT results_eq($$SELECT pk, actor_id FROM tenantcore.audit_log WHERE table_name = 'gtap.x' ORDER BY pk ->> 'id'$$,
                  $$VALUES ('{"id": 1}'::jsonb, NULL::uuid), ('{"id": 2}', NULL), ('{"id": 3}', '22222222-2222-4222-8222-222222222222')$$,
                  'the subject is detached from audit entries, the entries stay, other actors untouched');
SET LOCAL ROLE tc_gtap_app;
SELECT tenantcore.set_tenant('b0000000-0000-4000-8000-00000000000b');
SELECT results_eq($$SELECT name FROM gtap.members_decrypted ORDER BY name$$, ARRAY['Deleted User', 'Olga B'],
                  'the tenant sees the anonymized row through its own view');
RESET ROLE;

-- 21-23: idempotent, also when a hold was placed after the erasure
SELECT tenantcore.hold('a0000000-0000-4000-8000-00000000000a', 'gtap.members') AS hold_id \gset
SELECT is(pg_temp.without_core(tenantcore.erase_subject('11111111-1111-4111-8111-111111111111') -> 'tables'),
          '{"gtap.members.user_id": {"rows": 0, "action": "anonymize"}, "gtap.sessions.user_id": {"rows": 0, "action": "delete"}}'::jsonb,
          'a second erasure changes nothing and succeeds, a hold on already erased rows does not block it');
SELECT is((SELECT count(*) FROM tenantcore.gdpr_requests WHERE subject = '11111111-1111-4111-8111-111111111111' AND kind = 'erasure'),
          2::bigint, 'each erasure is recorded');
SELECT is((SELECT j -> 'tables' -> 'gtap.sessions' FROM (SELECT tenantcore.export_subject('11111111-1111-4111-8111-111111111111') j) e),
          '[]'::jsonb, 'an export after erasure finds no session');
SELECT tenantcore.release_hold(:hold_id);

-- 24-26: a shredded tenant's protected values cannot be decrypted: null plus a note
SELECT tenantcore.shred_tenant('b0000000-0000-4000-8000-00000000000b');
CREATE TEMP TABLE export2 AS SELECT tenantcore.export_subject('22222222-2222-4222-8222-222222222222') AS j;
SELECT results_eq($$SELECT r ->> 'name', r ->> 'email' FROM export2, jsonb_array_elements(j -> 'tables' -> 'gtap.members') r ORDER BY 1$$,
                  $$VALUES ('Olga', 'olga@a.example'), ('Olga B', NULL)$$,
                  'a value of a shredded tenant is exported as null');
SELECT is((SELECT n ->> 'note' FROM export2, jsonb_array_elements(j -> 'notes') n),
          'could not decrypt: key version 1 of tenant b0000000-0000-4000-8000-00000000000b was destroyed', 'the export says why');
SELECT is((SELECT detail ->> 'decrypt_errors' FROM tenantcore.gdpr_requests WHERE subject = '22222222-2222-4222-8222-222222222222'),
          '1', 'the request records the decrypt error');

-- 27-31: SQLSTATEs of bad registrations
CREATE TEMP TABLE gtap_tmp (who uuid);
SELECT throws_ok($$SELECT tenantcore.register_subject_table(NULL, 'user_id')$$, '22004', NULL, 'NULL table: 22004');
SELECT throws_ok($$SELECT tenantcore.register_subject_table('gtap.members_decrypted', 'user_id', 'delete')$$, '42809', NULL, 'a view: 42809');
SELECT throws_ok($$SELECT tenantcore.register_subject_table('gtap.members', 'nosuch', 'delete')$$, '42703', NULL, 'unknown column: 42703');
SELECT throws_ok($$SELECT tenantcore.register_subject_table('gtap.members', 'name', 'delete')$$, '42804', NULL, 'subject column not uuid: 42804');
SELECT throws_ok($$SELECT tenantcore.register_subject_table('gtap_tmp', 'who', 'delete')$$, '0A000', NULL, 'temporary table: 0A000');

SELECT * FROM finish();
ROLLBACK;
