-- GDPR: subject table registration, bad input, privileges
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never
CREATE ROLE gdpr_reg_owner NOLOGIN;
CREATE ROLE gdpr_reg_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('gdpr_reg_app');
CREATE SCHEMA gdpr_reg AUTHORIZATION gdpr_reg_owner;
GRANT USAGE ON SCHEMA gdpr_reg TO gdpr_reg_app;
SET ROLE gdpr_reg_owner;
CREATE TABLE gdpr_reg.users (
    organization_id uuid NOT NULL,
    id       uuid NOT NULL,
    email    text,
    name     text,
    age      integer,
    legacy_id text,
    PRIMARY KEY (organization_id, id)
);
CREATE TABLE gdpr_reg.notes (author uuid, body text);
CREATE TABLE gdpr_reg.plog (organization_id uuid, actor uuid, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE gdpr_reg.plog_2026 PARTITION OF gdpr_reg.plog FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW gdpr_reg.v AS SELECT * FROM gdpr_reg.users;
RESET ROLE;
SELECT tenantcore.isolate('gdpr_reg.users');

-- valid registrations; registering again reconfigures
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'anonymize', '{"email": "deleted@example.invalid", "name": "Deleted User", "age": null}');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', anonymize => '{"email": "deleted@example.invalid", "name": "Deleted User"}');
SELECT tenantcore.register_subject_table('gdpr_reg.notes', 'author', 'delete');
SELECT tenantcore.register_subject_table('gdpr_reg.plog', 'actor', 'anonymize', '{"actor": null}');
SELECT rel, subject_column, on_erase, anonymize, tenant_column FROM tenantcore.subject_tables WHERE NOT builtin ORDER BY rel::text, subject_column;

-- bad input
SELECT tenantcore.register_subject_table(NULL, 'id');
SELECT tenantcore.register_subject_table('gdpr_reg.users', NULL);
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', NULL);
SELECT tenantcore.register_subject_table('gdpr_reg.nosuch', 'id');
SELECT tenantcore.register_subject_table('gdpr_reg.v', 'id', 'delete');
SELECT tenantcore.register_subject_table('gdpr_reg.plog_2026', 'actor', 'delete');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'nosuch', 'delete');
SELECT tenantcore.register_subject_table('gdpr_reg.users', '"x; drop table y"', 'delete');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'legacy_id', 'delete');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'truncate');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'delete', '{"email": null}');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'anonymize', '[1]');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'anonymize', '{}');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'anonymize', '{"nosuch": 1}');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'anonymize', '{"age": "old"}');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'anonymize', '{"id": "00000000-0000-0000-0000-000000000009"}');
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', 'anonymize', '{"email": "x''); DROP TABLE gdpr_reg.users; --"}');
SELECT count(*) AS users_table_still_there FROM gdpr_reg.users;
SELECT tenantcore.register_subject_table('gdpr_reg.users', 'id', anonymize => '{"email": "deleted@example.invalid", "name": "Deleted User"}');
CREATE TEMP TABLE gdpr_tmp (who uuid);
SELECT tenantcore.register_subject_table('gdpr_tmp', 'who', 'delete');
-- the failed calls changed nothing
SELECT rel, subject_column, on_erase, anonymize FROM tenantcore.subject_tables WHERE NOT builtin ORDER BY rel::text, subject_column;

SELECT tenantcore.export_subject(NULL);
SELECT tenantcore.erase_subject(NULL);
SELECT tenantcore.unregister_subject_table(NULL);

-- an application role may not register, export or erase
SET ROLE gdpr_reg_app;
SELECT tenantcore.register_subject_table('gdpr_reg.notes', 'author', 'delete');
SELECT tenantcore.unregister_subject_table('gdpr_reg.notes');
SELECT tenantcore.export_subject('00000000-0000-0000-0000-000000000001');
SELECT tenantcore.erase_subject('00000000-0000-0000-0000-000000000001');
SELECT count(*) FROM tenantcore.gdpr_requests;
SELECT count(*) FROM tenantcore.subject_tables WHERE NOT builtin;
RESET ROLE;

-- an empty export and erasure are recorded
-- (the core tables' builtin registrations are left out here; test/core_gdpr.sql covers them)
SELECT jsonb_set(e, '{tables}', (SELECT jsonb_object_agg(k, v) FROM jsonb_each(e -> 'tables') x(k, v)
                                  WHERE k NOT LIKE 'tenantcore.%')) AS export
  FROM (SELECT tenantcore.export_subject('00000000-0000-0000-0000-000000000001') - 'exported_at' - 'request_id') s(e);
-- (audit_entries_detached is null without the audit log, a count with it)
SELECT jsonb_set(e, '{tables}', (SELECT jsonb_object_agg(k, v) FROM jsonb_each(e -> 'tables') x(k, v)
                                  WHERE k NOT LIKE 'tenantcore.%')) AS erasure
  FROM (SELECT tenantcore.erase_subject('00000000-0000-0000-0000-000000000001') - 'request_id' - 'audit_entries_detached') s(e);
SELECT subject, kind, requested_by, completed_at IS NOT NULL AS completed FROM tenantcore.gdpr_requests ORDER BY id;

-- unregister and dropped tables
SELECT tenantcore.unregister_subject_table('gdpr_reg.notes');
SELECT tenantcore.unregister_subject_table('gdpr_reg.notes');
DROP TABLE gdpr_reg.plog;
SELECT rel, subject_column FROM tenantcore.subject_tables WHERE NOT builtin ORDER BY rel::text, subject_column;

DROP SCHEMA gdpr_reg CASCADE;
SELECT count(*) AS subject_tables_left FROM tenantcore.subject_tables WHERE NOT builtin;
TRUNCATE tenantcore.gdpr_requests;
DROP OWNED BY gdpr_reg_app;
DROP ROLE gdpr_reg_owner;
DROP ROLE gdpr_reg_app;
