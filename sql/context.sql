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

-- _citus_reference: rel is a Citus reference table (a copy on every node;
-- false for a Citus local table and on a server without Citus).
CREATE OR REPLACE FUNCTION @extschema@._citus_reference(rel regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_citus_reference'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._citus_reference(regclass) IS
    'whether a table is a Citus reference table';

-- _citus_local_shard: the local shard of rel (distributed by hash) that
-- holds tenant, NULL when this node does not hold it; rel itself when it is
-- not on the cluster.  _citus_placement: the local placement of a reference
-- table, rel itself for any other.  For triggers of reference tables, which
-- fire on every node's copy of a row.
CREATE OR REPLACE FUNCTION @extschema@._citus_local_shard(rel regclass, tenant uuid) RETURNS regclass
    AS 'MODULE_PATHNAME', 'tenantcore_citus_local_shard'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._citus_local_shard(regclass, uuid) IS
    'the local shard of a distributed table that holds a tenant (NULL: not on this node)';
CREATE OR REPLACE FUNCTION @extschema@._citus_placement(rel regclass) RETURNS regclass
    AS 'MODULE_PATHNAME', 'tenantcore_citus_placement'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._citus_placement(regclass) IS
    'the local placement of a Citus reference table (the table itself for any other)';

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

-- _qualified_name: schema.table of rel, quoted as format('%I.%I') (and as the
-- C code's tc_qualified_relation_name()), NULL when rel does not exist.
CREATE OR REPLACE FUNCTION @extschema@._qualified_name(rel regclass) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid OPERATOR(pg_catalog.=) rel);

-- _registry_rel_name: the registries of audited and protected tables record
-- each table's qualified name beside its oid (rel_name) when a row is added.
-- Only a superuser's row given its name (copied from another node of a Citus
-- cluster) keeps it; any other row gets the name of its rel, so no role can
-- register its table under another table's name (the event triggers rename
-- and forget rows by name).  Renames are followed by _registry_names_on_ddl().
CREATE OR REPLACE FUNCTION @extschema@._registry_rel_name() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.rel_name IS NULL
       OR NOT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false) THEN
        NEW.rel_name := @extschema@._qualified_name(NEW.rel);
    END IF;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._registry_rel_name() FROM PUBLIC;

-- _registry_names_on_ddl keeps rel_name of the registries in step with
-- renamed tables, tables moved to another schema and renamed schemas, by
-- identity or by the old name, never by oid (on a Citus cluster the statement reaches every
-- node's copy, each with its own oids).
CREATE OR REPLACE FUNCTION @extschema@._registry_names_on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    obj     oid;
    newname text;
    tid     uuid;
    oldname text;
BEGIN
    IF @extschema@._citus_worker() THEN
        RETURN;
    END IF;
    -- the tables altered, and the tables of a renamed schema
    FOR obj IN SELECT d.objid FROM pg_event_trigger_ddl_commands() d
                WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0
               UNION
               SELECT c.oid FROM pg_event_trigger_ddl_commands() d JOIN pg_class c ON c.relnamespace = d.objid
                WHERE d.classid = 'pg_namespace'::regclass
    LOOP
        newname := @extschema@._qualified_name(obj::regclass);
        CONTINUE WHEN newname IS NULL;
        FOR tid IN SELECT t.table_id FROM @extschema@.audited_tables t
                    WHERE t.rel::oid = obj AND t.rel_name IS DISTINCT FROM newname
        LOOP
            UPDATE @extschema@.audited_tables t SET rel_name = newname WHERE t.table_id = tid;
        END LOOP;
        FOR oldname IN SELECT DISTINCT p.rel_name FROM @extschema@.protected_columns p
                        WHERE p.rel::oid = obj AND p.rel_name IS DISTINCT FROM newname AND p.rel_name IS NOT NULL
        LOOP
            UPDATE @extschema@.protected_columns p SET rel_name = newname WHERE p.rel_name = oldname;
        END LOOP;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._registry_names_on_ddl() FROM PUBLIC;
