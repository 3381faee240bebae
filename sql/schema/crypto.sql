-- sql/schema/crypto.sql -- per-tenant keys and protected columns: what a fresh install creates that cannot be
-- re-run (doc/design.md, "Source layout").  Changes go to sql/updates/ as well.

-- Per-tenant data keys, wrapped by the master key.  Nobody but the extension
-- owner can read this table; the C functions read it through SPI as the owner.
CREATE TABLE @extschema@.tenant_keys (
    organization_id uuid NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    wrapped_key bytea,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'destroyed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    destroyed_at timestamptz,
    master_key_id text,
    PRIMARY KEY (organization_id, version),
    CHECK ((status = 'destroyed') = (wrapped_key IS NULL))
);

CREATE UNIQUE INDEX tenant_keys_one_active ON @extschema@.tenant_keys (organization_id) WHERE status = 'active';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.tenant_keys', '');

-- Registry of protected columns.
CREATE TABLE @extschema@.protected_columns (
    rel regclass NOT NULL,
    column_name name NOT NULL,
    encrypted_column name NOT NULL,
    blind_index_column name,
    blind_index_purpose text,
    tenant_column name NOT NULL,
    view_name name NOT NULL,
    protected_at timestamptz NOT NULL DEFAULT now(),
    rel_name text,              -- the qualified name (0.8.0): see audited_tables.rel_name
    PRIMARY KEY (rel, column_name)
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.protected_columns', '');

-- owners register and unregister their own tables (protect() runs with the
-- caller's rights); everyone may read the registry
ALTER TABLE @extschema@.protected_columns ENABLE ROW LEVEL SECURITY;
