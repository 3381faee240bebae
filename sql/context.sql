-- sql/context.sql -- the tenant and actor context (settings, signed tokens).
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

CREATE OR REPLACE FUNCTION @extschema@.current_tenant() RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_current_tenant'
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.current_tenant() IS
    'current tenant (organization) id; NULL or an error when none is set, by tenantcore.missing_tenant';

CREATE OR REPLACE FUNCTION @extschema@.current_actor() RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_current_actor'
    LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.current_actor() IS
    'current actor (application user) id, or NULL';

CREATE OR REPLACE FUNCTION @extschema@.set_tenant(tenant uuid, is_local boolean DEFAULT true) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_set_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_tenant(uuid, boolean) IS
    'set the current tenant for the transaction (default) or the session';

CREATE OR REPLACE FUNCTION @extschema@.set_actor(actor uuid, is_local boolean DEFAULT true) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_set_actor'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_actor(uuid, boolean) IS
    'set the current actor for the transaction (default) or the session';

CREATE OR REPLACE FUNCTION @extschema@.clear_tenant() RETURNS void
    AS 'MODULE_PATHNAME', 'tenantcore_clear_tenant'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.clear_tenant() IS
    'remove the current tenant and actor for the rest of the session';

-- _creating_extension is true while an extension script runs.
CREATE OR REPLACE FUNCTION @extschema@._creating_extension() RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_creating_extension'
    LANGUAGE C STABLE;

-- tenantcore.context_mode = 'signed' (a superuser sets it, usually with
-- ALTER ROLE app SET tenantcore.context_mode = 'signed') lets only this
-- function set the tenant and the actor: it verifies a signed JSON web token
-- with the keys of tenantcore.jwt_keys_file and sets both for the current
-- transaction (doc/security.md).  Harmless for everyone, so not revoked.
CREATE OR REPLACE FUNCTION @extschema@.set_context_token(token text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tenantcore_set_context_token'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_context_token(text) IS
    'verify a signed token (JWT: HS256, RS256, ES256, EdDSA) and set its tenant and actor for the transaction; returns the tenant';

-- _citus_table_method: how Citus distributes a table ('h' by hash, 'n' a
-- reference or Citus local table), NULL for any other table and on a server
-- without Citus (read from pg_dist_partition in C, so the SQL that asks
-- compiles without Citus).  Here, with the first definitions: the installers
-- of every concern ask it.
CREATE OR REPLACE FUNCTION @extschema@._citus_table_method(rel regclass) RETURNS "char"
    AS 'MODULE_PATHNAME', 'tenantcore_citus_table_method'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._citus_table_method(regclass) IS
    'the distribution method of a Citus table (''h'' hash, ''n'' reference or local), NULL for other tables and without Citus';

-- _citus_worker: this server is a worker node of a Citus cluster, where DDL
-- arrives from the coordinator for shards and shell tables; the extension's
-- event triggers leave their bookkeeping to the coordinator there.
CREATE OR REPLACE FUNCTION @extschema@._citus_worker() RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_citus_worker'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._citus_worker() IS
    'true on a worker node of a Citus cluster';

-- _may_configure: the current role may configure rel for the extension (is
-- its owner or a member of the owning role); NULL when rel does not exist.
-- _is_temporary: rel is a temporary table (NULL when it does not exist).
-- Functions, not subqueries in the policies of the registries
-- (audited_tables, protected_columns): Citus refuses subqueries in the
-- policies of its tables, and the registries are reference tables there.
CREATE OR REPLACE FUNCTION @extschema@._may_configure(rel regclass) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
          FROM pg_catalog.pg_class c WHERE c.oid = rel);

CREATE OR REPLACE FUNCTION @extschema@._is_temporary(rel regclass) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT c.relpersistence OPERATOR(pg_catalog.=) 't' FROM pg_catalog.pg_class c WHERE c.oid = rel);
