-- sql/schema/gdpr.sql -- GDPR requests and subject tables: what a fresh install creates that cannot be
-- re-run (doc/design.md, "Source layout").  Changes go to sql/updates/ as well.

CREATE TABLE @extschema@.gdpr_requests (
    id           bigserial   PRIMARY KEY,
    subject      uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('export', 'erasure')),
    requested_by name        NOT NULL DEFAULT session_user,
    requested_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    detail       jsonb
);

CREATE INDEX ON @extschema@.gdpr_requests (subject);

-- The tables that hold a person's data.  For blueprints, a blueprint's references to people (uuid columns with
-- a foreign key to users: uploaded_by, assigned_to, ...) are registered as
-- subject columns with on_erase 'keep': export_subject exports the rows,
-- erase_subject leaves them and their reference alone (the person's identity
-- row in users is what erasure anonymizes; a task stays assigned to "a deleted
-- user").  'keep' is a third on_erase action of register_subject_table.
CREATE TABLE @extschema@.subject_tables (
    rel            regclass    NOT NULL,
    subject_column name        NOT NULL,
    on_erase       text        NOT NULL CHECK (on_erase IN ('anonymize', 'delete', 'keep')),
    anonymize      jsonb       CHECK (anonymize IS NULL OR jsonb_typeof(anonymize) = 'object'),
    tenant_column  name,
    builtin        boolean     NOT NULL DEFAULT false,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rel, subject_column),
    CHECK ((on_erase = 'anonymize') = (anonymize IS NOT NULL))
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.gdpr_requests', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.gdpr_requests_id_seq', '');

-- registrations of the extension's own tables (builtin, made by its install
-- script) are made again by CREATE EXTENSION on restore: not dumped
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subject_tables', 'WHERE NOT builtin');
