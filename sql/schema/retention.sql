-- sql/schema/retention.sql -- retention policies, legal holds, runs: what a fresh install creates that cannot be
-- re-run (doc/design.md, "Source layout").  Changes go to sql/updates/ as well.

CREATE TABLE @extschema@.retention_policies (
    id            serial      PRIMARY KEY,
    rel           regclass    NOT NULL,
    time_column   name        NOT NULL,
    keep          interval    NOT NULL CHECK (keep >= interval '0'),
    action        text        NOT NULL CHECK (action IN ('delete', 'anonymize', 'drop_partition')),
    anonymize     jsonb       CHECK (anonymize IS NULL OR jsonb_typeof(anonymize) = 'object'),
    tenant_column name,
    enabled       boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    builtin       boolean     NOT NULL DEFAULT false,
    UNIQUE (rel, time_column),
    CHECK ((action = 'anonymize') = (anonymize IS NOT NULL)),
    CONSTRAINT retention_policies_builtin_check CHECK (builtin = (id < 0))
);

CREATE TABLE @extschema@.retention_overrides (
    policy_id       integer  NOT NULL REFERENCES @extschema@.retention_policies ON DELETE CASCADE,
    organization_id uuid     NOT NULL,
    keep            interval NOT NULL CHECK (keep >= interval '0'),
    PRIMARY KEY (policy_id, organization_id)
);

CREATE TABLE @extschema@.legal_holds (
    id              bigserial   PRIMARY KEY,
    organization_id uuid        NOT NULL,
    rel             regclass,
    reason          text,
    placed_by       name        NOT NULL DEFAULT session_user,
    placed_at       timestamptz NOT NULL DEFAULT now(),
    released_at     timestamptz
);

CREATE INDEX ON @extschema@.legal_holds (organization_id) WHERE released_at IS NULL;

CREATE TABLE @extschema@.retention_runs (
    id                 bigserial   PRIMARY KEY,
    policy_id          integer     REFERENCES @extschema@.retention_policies ON DELETE SET NULL,
    rel                text        NOT NULL,
    action             text        NOT NULL,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz,
    rows_affected      bigint      NOT NULL DEFAULT 0,
    partitions_dropped integer     NOT NULL DEFAULT 0,
    detail             text,
    error              text
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_policies_id_seq', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_overrides', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.legal_holds', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.legal_holds_id_seq', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_runs', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_runs_id_seq', '');

-- built-in policies are made again by CREATE EXTENSION on restore: not dumped
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_policies', 'WHERE NOT builtin');

CREATE TABLE @extschema@.retention_builtin_settings (
    policy_id  integer     PRIMARY KEY REFERENCES @extschema@.retention_policies ON DELETE CASCADE
                           CHECK (policy_id < 0),
    keep       interval    NOT NULL CHECK (keep >= interval '0'),
    enabled    boolean     NOT NULL,
    changed_by name        NOT NULL DEFAULT session_user,
    changed_at timestamptz NOT NULL DEFAULT now()
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_builtin_settings', '');
