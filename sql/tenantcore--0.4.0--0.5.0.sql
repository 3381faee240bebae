-- tenantcore 0.4.0 -> 0.5.0: core schema (identity, tenancy, RBAC, sessions,
-- API keys), domain blueprints, built-in retention policies, audit speed-ups
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.5.0'" to load this file. \quit

-- ===========================================================================
-- Part 1: core schema (anchor tables)
--
-- organizations is the tenant itself: its primary key is the tenant id that
-- tenantcore.tenant_id holds.  users is global identity (one person, one
-- e-mail, many organizations): it is a Citus reference table, every other core
-- table is distributed by organization_id.
-- ===========================================================================


CREATE TABLE @extschema@.users (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    email          text        NOT NULL
                   CONSTRAINT users_email_check CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    password_hash  text,
    first_name     text,
    last_name      text,
    status         text        NOT NULL DEFAULT 'active'
                   CONSTRAINT users_status_check
                   CHECK (status IN ('invited', 'active', 'suspended', 'deleted')),
    is_verified    boolean     NOT NULL DEFAULT false,
    last_login_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deleted_at     timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX users_email_key ON @extschema@.users (pg_catalog.lower(email));
CREATE INDEX users_status_idx ON @extschema@.users (status) WHERE deleted_at IS NULL;

CREATE TABLE @extschema@.organizations (
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    name               text        NOT NULL
                       CONSTRAINT organizations_name_check CHECK (pg_catalog.btrim(name) <> ''),
    slug               text        NOT NULL
                       CONSTRAINT organizations_slug_check
                       CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    subscription_tier  text        NOT NULL DEFAULT 'trial'
                       CONSTRAINT organizations_subscription_tier_check
                       CHECK (subscription_tier IN ('trial', 'starter', 'professional', 'enterprise')),
    stripe_customer_id text,
    owner_id           uuid        REFERENCES @extschema@.users (id),
    settings           jsonb       NOT NULL DEFAULT '{}'
                       CONSTRAINT organizations_settings_check CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
    created_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deleted_at         timestamptz,
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);
CREATE INDEX organizations_active_idx ON @extschema@.organizations (id) WHERE deleted_at IS NULL;

-- updated_at_trigger(column) sets the column to now() on every UPDATE;
-- track_updated_at() installs it (one trigger per table, re-run to change
-- the column).
CREATE FUNCTION @extschema@.updated_at_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'tenantcore_updated_at_trigger'
    LANGUAGE C;

CREATE FUNCTION @extschema@.track_updated_at(rel regclass, column_name name DEFAULT 'updated_at')
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
    typ  oid;
BEGIN
    IF rel IS NULL OR column_name IS NULL THEN
        RAISE EXCEPTION 'tenantcore.track_updated_at(): relation and column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = rel;
    IF kind IS NULL OR kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel
            USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT a.atttypid INTO typ
      FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF typ IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', column_name, rel
            USING ERRCODE = 'undefined_column';
    END IF;
    IF typ <> 'timestamptz'::regtype THEN
        RAISE EXCEPTION 'column "%" of relation "%" is of type %, not timestamp with time zone',
                        column_name, rel, typ::regtype
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    EXECUTE format('CREATE OR REPLACE TRIGGER tenantcore_updated_at BEFORE UPDATE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION @extschema@.updated_at_trigger(%L)',
                   rel, column_name);
END
$$;
COMMENT ON FUNCTION @extschema@.track_updated_at(regclass, name) IS
    'keep a timestamptz column set to now() on every UPDATE of the table';

SELECT @extschema@.track_updated_at('@extschema@.users');
SELECT @extschema@.track_updated_at('@extschema@.organizations');

-- ===========================================================================
-- Part 4: audit (cheaper log indexes)
--
-- Every audited change writes one entry, so every index of the log's
-- partitions is paid for on every audited write.  0.4.0 gave each partition
-- a primary key (id, occurred_at), a btree that no query needs (ids come
-- from a sequence, only the trigger writes, history() looks entries up by
-- pk), and a hash index on pk for history() and row_as_of().  From 0.5.0 the
-- primary key is replaced by a BRIN index on (id, occurred_at): nearly free
-- to maintain in an append-only table, it still serves ranges of time and of
-- ids.  The hash index on pk stays: measured against a GIN index on pk
-- (jsonb_path_ops, pending list) and a btree on jsonb_hash_extended(pk, 0),
-- it was the cheapest per entry once the log holds earlier entries of the
-- same rows (GIN then merges into existing posting lists, the btree inserts
-- at random places).
-- Partitions made by 0.4.0 (the default one and the monthly ones created by
-- audit_maintain()) are converted here, so an upgraded log equals a fresh one.
-- ===========================================================================

-- _audit_partition_indexes creates the indexes of one partition of the log
-- (names chosen by the server, which never collide).
CREATE FUNCTION @extschema@._audit_partition_indexes(part regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('CREATE INDEX ON %s USING brin (id, occurred_at)', part);
    EXECUTE format('CREATE INDEX ON %s USING hash (pk)', part);
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._audit_partition_indexes(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._audit_prepare_partition(part regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@._audit_partition_indexes(part);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', part);
    EXECUTE format('CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_log_guard()', part);
END
$$;

-- convert the partitions made by 0.4.0: drop the primary key, add the BRIN
-- index (the hash index on pk is kept)
DO $$
DECLARE
    part regclass;
    con  name;
BEGIN
    FOR part IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
                 WHERE i.inhparent = '@extschema@.audit_log'::regclass ORDER BY i.inhrelid
    LOOP
        FOR con IN SELECT c.conname FROM pg_catalog.pg_constraint c WHERE c.conrelid = part AND c.contype = 'p' LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', part, con);
        END LOOP;
        EXECUTE format('CREATE INDEX ON %s USING brin (id, occurred_at)', part);
    END LOOP;
END
$$;
