-- sql/updates/0.6.0--0.7.0.sql -- the steps of 0.6.0 -> 0.7.0 that cannot be re-run,
-- run before the re-runnable sources (doc/design.md, "Source layout").

-- Who may make a person a member without the person's consent.  In 0.6.0
-- add_member(user) took any user id, and a tenant learns ids of people it
-- cannot see from its own invitations (the organization_members row):
-- invite_member, remove_member, add_member(id) made the invitee an active
-- member, visible to the tenant (users, user_profiles) without accepting.
-- user_origins records the tenant in whose context create_user() made a
-- person: those the tenant created itself it may add.  Read only by the
-- extension's functions (no privileges for PUBLIC).
CREATE TABLE @extschema@.user_origins (
    user_id         uuid        NOT NULL REFERENCES @extschema@.users (id) ON DELETE CASCADE,
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT user_origins_pkey PRIMARY KEY (user_id)
);

CREATE INDEX user_origins_organization_idx ON @extschema@.user_origins (organization_id);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.user_origins', '');

-- Record ids.  Every entry of an audited row carries record_id, a uuid that
-- stays the same across the row's updates (supa_audit's record_id): the
-- first 16 bytes of SHA-256 over the table's stable identity
-- (audited_tables.table_id, also stored in the entry as table_id) and the
-- text of the row's primary key as JSONB, marked as a version 8 uuid.  A
-- TRUNCATE entry's record_id is the table identity itself.  The table
-- identity survives ALTER TABLE ... RENAME, a dump and restore, and a second
-- audit() call; a row whose key changes gets a new record id from that UPDATE
-- on (the UPDATE entry itself carries the new key's id).
--
-- history() and row_as_of() look entries up by record_id: uuid equality is
-- leakproof, so its hash index serves them under the log's row-level
-- security (the JSONB comparison of 0.6.0 is not, so an application role's
-- call scanned the whole log).
ALTER TABLE @extschema@.audited_tables ADD COLUMN table_id uuid;

ALTER TABLE @extschema@.audit_log ADD COLUMN table_id uuid, ADD COLUMN record_id uuid;

CREATE TABLE @extschema@.audit_seals (
    seal_id     bigint      PRIMARY KEY CHECK (seal_id > 0),
    first_id    bigint      NOT NULL,
    last_id     bigint      NOT NULL,
    entries     bigint      NOT NULL CHECK (entries >= 0),
    range_hash  bytea       NOT NULL,
    prev_hash   bytea       NOT NULL,
    seal_hash   bytea       NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    sealed_by   name        NOT NULL DEFAULT session_user,
    CONSTRAINT audit_seals_range_check CHECK (first_id <= last_id)
);

CREATE TABLE @extschema@.audit_seal_segments (
    seal_id             bigint      NOT NULL REFERENCES @extschema@.audit_seals,
    month               date        NOT NULL,
    entries             bigint      NOT NULL CHECK (entries > 0),
    hash                bytea       NOT NULL,
    purged_at           timestamptz,
    purged_by           name,
    purged_by_retention boolean,
    PRIMARY KEY (seal_id, month)
);

CREATE TABLE @extschema@.audit_seal_point (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_value  bigint      NOT NULL,
    xid_horizon xid8        NOT NULL,
    taken_at    timestamptz NOT NULL
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_seals', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_seal_segments', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_seal_point', '');

-- Reads of protected data (0.7.0).  With tenantcore.audit_reads on (a
-- superuser setting, src/audit_reads.c), every decryption is counted per
-- statement, tenant, actor, role, table and column, and each count becomes
-- one row here when the transaction commits.
CREATE TABLE @extschema@.audit_reads (
    id                   bigserial   PRIMARY KEY,
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    statement_started_at timestamptz NOT NULL,
    backend_pid          integer     NOT NULL,
    query_id             bigint,
    organization_id      uuid        NOT NULL,
    actor_id             uuid,
    role_name            name        NOT NULL,
    table_name           text,
    column_name          name,
    reads                bigint      NOT NULL CHECK (reads > 0)
);

CREATE INDEX audit_reads_tenant_time ON @extschema@.audit_reads (organization_id, recorded_at);

CREATE INDEX audit_reads_actor_time ON @extschema@.audit_reads (actor_id, recorded_at) WHERE actor_id IS NOT NULL;

-- tenants read their own rows; only the extension (as its owner) writes
ALTER TABLE @extschema@.audit_reads ENABLE ROW LEVEL SECURITY;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_reads', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_reads_id_seq', '');

-- the registry of audited tables has row security (0.7.0; policies in sql/audit.sql)
ALTER TABLE @extschema@.audited_tables ENABLE ROW LEVEL SECURITY;
