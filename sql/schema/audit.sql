-- sql/schema/audit.sql -- the audit log, its registry and seals: what a fresh install creates that cannot be
-- re-run (doc/design.md, "Source layout").  Changes go to sql/updates/ as well.

CREATE SEQUENCE @extschema@.audit_log_id_seq AS bigint;

CREATE TABLE @extschema@.audit_log (
    id               bigint      NOT NULL DEFAULT pg_catalog.nextval('@extschema@.audit_log_id_seq'),
    organization_id  uuid,
    occurred_at      timestamptz NOT NULL DEFAULT pg_catalog.transaction_timestamp(),
    txid             xid8        NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    relid            oid         NOT NULL,
    table_name       text        NOT NULL,
    operation        text        NOT NULL
                     CONSTRAINT audit_log_operation_check CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    pk               jsonb,
    old_row          jsonb,
    new_row          jsonb,
    changed_columns  text[],
    actor_id         uuid,
    db_user          text        NOT NULL DEFAULT session_user,
    application_name text,
    client_addr      inet,
    table_id         uuid,
    record_id        uuid
) PARTITION BY RANGE (occurred_at);

ALTER SEQUENCE @extschema@.audit_log_id_seq OWNED BY @extschema@.audit_log.id;

-- Indexes live on each partition, not on the parent: the parent is an
-- extension member that a restore recreates with CREATE EXTENSION, and a
-- dumped partition attached to a parent that already has indexes would get
-- them twice (pg_restore then fails on the partition's own primary key).
-- Each partition has the indexes of _audit_partition_indexes(): a BRIN index
-- on (id, occurred_at), a hash index on record_id for history() and
-- row_as_of() (a hash index costs far less per insert than a btree, whose
-- inserts spend their time comparing), and (actor_id, occurred_at) for
-- audit_by_actor().
CREATE TABLE @extschema@.audit_log_default PARTITION OF @extschema@.audit_log DEFAULT;

CREATE INDEX ON @extschema@.audit_log_default USING brin (id, occurred_at);
CREATE INDEX ON @extschema@.audit_log_default USING hash (record_id);
CREATE INDEX ON @extschema@.audit_log_default (actor_id, occurred_at) WHERE actor_id IS NOT NULL;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log_default', '');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log_id_seq', '');

-- tenants read their own entries; nobody but the trigger writes
ALTER TABLE @extschema@.audit_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

ALTER TABLE @extschema@.audit_log_default ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- Which tables are audited, and how.  The trigger itself carries the same
-- settings as arguments, so the C trigger needs no lookup and every backend
-- sees a change through the relcache invalidation of CREATE TRIGGER.
--
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
CREATE TABLE @extschema@.audited_tables (
    rel             regclass    PRIMARY KEY,
    exclude_columns text[]      NOT NULL DEFAULT '{}',
    redact_columns  text[]      NOT NULL DEFAULT '{}',
    changed_only    boolean     NOT NULL DEFAULT true,
    tenant_column   name,
    audited_at      timestamptz NOT NULL DEFAULT now(),
    builtin         boolean     NOT NULL DEFAULT false,
    table_id        uuid        NOT NULL CONSTRAINT audited_tables_table_id_key UNIQUE,
    -- the table's qualified name, kept on renames (0.8.0): on a Citus
    -- cluster rel holds the oid of one node, and a node added later gets
    -- the coordinator's oids; tenantcore's lookups there go by name
    rel_name        text
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.audited_tables', 'WHERE NOT builtin');

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
