-- sql/schema/blueprints.sql -- the registry of installed blueprints: what a fresh install
-- creates that cannot be re-run (doc/design.md, "Source layout").  Changes go to
-- sql/updates/ as well.

-- which blueprint lives in which schema (one blueprint per schema); kept by
-- name like isolated_schemas (namespace OIDs change in pg_upgrade)
CREATE TABLE @extschema@.installed_blueprints (
    schema_name  name         NOT NULL,
    blueprint    text         NOT NULL,
    installed_at timestamptz  NOT NULL DEFAULT pg_catalog.now(),
    installed_by name         NOT NULL DEFAULT session_user,
    CONSTRAINT installed_blueprints_pkey PRIMARY KEY (schema_name)
);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.installed_blueprints', '');
