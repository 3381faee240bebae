-- tenantcore: tenant and actor context
\echo Use "CREATE EXTENSION tenantcore" to load this file. \quit

CREATE FUNCTION @extschema@.current_tenant() RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_current_tenant'
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.current_tenant() IS
    'current tenant (organization) id; NULL or an error when none is set, by tenantcore.missing_tenant';

CREATE FUNCTION @extschema@.current_actor() RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_current_actor'
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.current_actor() IS
    'current actor (application user) id, or NULL';

CREATE FUNCTION @extschema@.set_tenant(tenant uuid, is_local boolean DEFAULT true) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_set_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_tenant(uuid, boolean) IS
    'set the current tenant for the transaction (default) or the session';

CREATE FUNCTION @extschema@.set_actor(actor uuid, is_local boolean DEFAULT true) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_set_actor'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_actor(uuid, boolean) IS
    'set the current actor for the transaction (default) or the session';

CREATE FUNCTION @extschema@.clear_tenant() RETURNS void
    AS 'MODULE_PATHNAME', 'tenantcore_clear_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.clear_tenant() IS
    'remove the current tenant and actor for the rest of the session';
