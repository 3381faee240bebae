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

-- tenantcore: row level security installers

-- Which tables are isolated, and on which column.  Owners register their own
-- tables (the policy below); tenantcore.lint() checks that the catalog agrees.
CREATE TABLE @extschema@.isolated_tables (
    rel           regclass    PRIMARY KEY,
    tenant_column name        NOT NULL,
    source        text        NOT NULL CHECK (source IN ('isolate', 'schema', 'partition')),
    isolated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.isolated_tables IS 'tables under tenant isolation (tenantcore.isolate)';

-- Schemas are kept by name: namespace OIDs change in pg_upgrade, and a
-- regnamespace column makes pg_upgrade refuse the cluster.
CREATE TABLE @extschema@.isolated_schemas (
    schema_name   name         PRIMARY KEY,
    tenant_column name         NOT NULL,
    isolated_at   timestamptz  NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.isolated_schemas IS 'schemas whose new tables are isolated automatically (tenantcore.isolate_schema)';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.isolated_tables', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.isolated_schemas', '');

ALTER TABLE @extschema@.isolated_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.isolated_schemas ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_registers ON @extschema@.isolated_tables
    USING (true)
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE'));
CREATE POLICY owner_unregisters ON @extschema@.isolated_tables AS RESTRICTIVE FOR DELETE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = rel)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE'));
CREATE POLICY owner_registers ON @extschema@.isolated_schemas
    USING (true)
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name), 'USAGE'));
CREATE POLICY owner_unregisters ON @extschema@.isolated_schemas AS RESTRICTIVE FOR DELETE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name), 'USAGE'));
-- UPDATE needs the owner's rights on the old row too, or a non-owner could
-- unregister another owner's table by pointing its row at a table of their own.
CREATE POLICY owner_updates ON @extschema@.isolated_tables AS RESTRICTIVE FOR UPDATE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = rel)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE'));
CREATE POLICY owner_updates ON @extschema@.isolated_schemas AS RESTRICTIVE FOR UPDATE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name), 'USAGE'));
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.isolated_tables, @extschema@.isolated_schemas TO PUBLIC;

-- _check_isolatable raises the error that explains why rel cannot be isolated
-- on tenant_column by the current user, if it cannot.
CREATE FUNCTION @extschema@._check_isolatable(rel regclass, tenant_column name, func text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c   pg_class;
    typ oid;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION '%: table must not be null', func USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF tenant_column IS NULL THEN
        RAISE EXCEPTION '%: tenant column must not be null', func USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation with OID % does not exist', rel::oid USING ERRCODE = 'undefined_table';
    END IF;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Only ordinary and partitioned tables can be tenant-isolated.';
    END IF;
    IF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot isolate temporary table "%"', rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'A temporary table is private to one session and needs no tenant policy.';
    END IF;
    IF c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                          '@extschema@'::regnamespace) THEN
        RAISE EXCEPTION 'cannot isolate "%": it belongs to a system or extension schema', rel
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_has_role(current_user, c.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', rel
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.' || func || '() as the owner of the table or a superuser.';
    END IF;
    SELECT a.atttypid INTO typ FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = tenant_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', tenant_column, rel
            USING ERRCODE = 'undefined_column',
                  HINT = 'Pass the tenant column as the second argument, e.g. tenantcore.' || func || '(''t'', ''tenant_id'').';
    END IF;
    IF typ <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'tenant column "%" of relation "%" is of type %, not uuid', tenant_column, rel, typ::regtype
            USING ERRCODE = 'datatype_mismatch';
    END IF;
END
$$;

-- _policy_expr is the expression of the tenant policy for a column.
CREATE FUNCTION @extschema@._policy_expr(tenant_column name) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.format('(%I = @extschema@.current_tenant())', tenant_column);

-- _partition_tree is rel followed by all partitions below it, top down (for a
-- table that is not partitioned, just rel).
CREATE FUNCTION @extschema@._partition_tree(rel regclass) RETURNS regclass[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT array_agg(p.relid ORDER BY p.level, p.relid) FROM pg_catalog.pg_partition_tree(rel) p),
                ARRAY[rel]);

-- _apply_policy puts one table (not its partitions) under the tenant policy.
CREATE FUNCTION @extschema@._apply_policy(rel regclass, tenant_column name) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY, '
                   'ALTER COLUMN %I SET DEFAULT @extschema@.current_tenant()', rel, tenant_column);
    IF EXISTS (SELECT FROM pg_policy WHERE polrelid = rel AND polname = 'tenantcore_isolation') THEN
        EXECUTE format('ALTER POLICY tenantcore_isolation ON %s TO PUBLIC USING %s WITH CHECK %s',
                       rel, @extschema@._policy_expr(tenant_column), @extschema@._policy_expr(tenant_column));
    ELSE
        EXECUTE format('CREATE POLICY tenantcore_isolation ON %s AS PERMISSIVE FOR ALL TO PUBLIC USING %s WITH CHECK %s',
                       rel, @extschema@._policy_expr(tenant_column), @extschema@._policy_expr(tenant_column));
    END IF;
    IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = rel AND a.attname = tenant_column AND i.indpred IS NULL) THEN
        EXECUTE format('CREATE INDEX ON %s (%I)', rel, tenant_column);
    END IF;
END
$$;

CREATE FUNCTION @extschema@.isolate(rel regclass, tenant_column name DEFAULT 'organization_id')
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @extschema@._isolate(rel, tenant_column, 'isolate');
END
$$;
COMMENT ON FUNCTION @extschema@.isolate(regclass, name) IS
    'put a table (and all its partitions) under the tenant isolation policy';

-- _isolate isolates rel and every partition below it.  All tables are
-- registered before any DDL runs, so the event trigger that the DDL fires
-- finds them isolated and does nothing.
CREATE FUNCTION @extschema@._isolate(rel regclass, tenant_column name, source text)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    existing name;
    part     regclass;
    parts    regclass[];
BEGIN
    PERFORM @extschema@._check_isolatable(rel, tenant_column, 'isolate');
    SELECT t.tenant_column INTO existing FROM @extschema@.isolated_tables t WHERE t.rel = _isolate.rel;
    IF existing IS NOT NULL AND existing <> tenant_column THEN
        RAISE EXCEPTION 'table % is already isolated on column "%"', rel, existing
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Call tenantcore.unisolate() first to change the tenant column.';
    END IF;

    parts := @extschema@._partition_tree(rel);
    FOREACH part IN ARRAY parts LOOP
        PERFORM @extschema@._check_isolatable(part, tenant_column, 'isolate');
    END LOOP;

    FOREACH part IN ARRAY parts LOOP
        INSERT INTO @extschema@.isolated_tables AS t (rel, tenant_column, source)
        VALUES (part, tenant_column, CASE WHEN part = rel THEN source ELSE 'partition' END)
        ON CONFLICT ON CONSTRAINT isolated_tables_pkey DO NOTHING;
    END LOOP;
    FOREACH part IN ARRAY parts LOOP
        PERFORM @extschema@._apply_policy(part, tenant_column);
    END LOOP;
    RETURN rel;
END
$$;

CREATE FUNCTION @extschema@.unisolate(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col   name;
    part  regclass;
    def   text;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'unisolate: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT t.tenant_column INTO col FROM @extschema@.isolated_tables t WHERE t.rel = unisolate.rel;
    IF col IS NULL THEN
        RAISE NOTICE 'table % is not isolated, skipping', rel;
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_partition_ancestors(rel) a JOIN @extschema@.isolated_tables t ON t.rel = a.relid
                WHERE a.relid <> unisolate.rel) THEN
        RAISE EXCEPTION 'table % is a partition of an isolated table', rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Unisolate the partitioned table instead; a partition reached directly must stay isolated.';
    END IF;
    PERFORM @extschema@._check_isolatable(rel, col, 'unisolate');

    FOREACH part IN ARRAY @extschema@._partition_tree(rel) LOOP
        IF EXISTS (SELECT FROM pg_policy WHERE polrelid = part AND polname = 'tenantcore_isolation') THEN
            EXECUTE format('DROP POLICY tenantcore_isolation ON %s', part);
        END IF;
        IF NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = part) THEN
            EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY', part);
        END IF;
        SELECT pg_get_expr(d.adbin, d.adrelid) INTO def
          FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         WHERE d.adrelid = part AND a.attname = col;
        IF def = '@extschema@.current_tenant()' THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', part, col);
        END IF;
        DELETE FROM @extschema@.isolated_tables t WHERE t.rel = part;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.unisolate(regclass) IS
    'remove the tenant isolation policy from a table and its partitions';

CREATE FUNCTION @extschema@.isolate_schema(schema_name regnamespace, tenant_column name DEFAULT 'organization_id')
RETURNS SETOF regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    IF schema_name IS NULL OR tenant_column IS NULL THEN
        RAISE EXCEPTION 'isolate_schema: schema and tenant column must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF schema_name IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, '@extschema@'::regnamespace)
       OR (SELECT nspname FROM pg_namespace WHERE oid = schema_name) LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'cannot isolate system or extension schema %', schema_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE oid = schema_name), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of schema %', schema_name USING ERRCODE = 'insufficient_privilege';
    END IF;

    INSERT INTO @extschema@.isolated_schemas AS s (schema_name, tenant_column)
    VALUES ((SELECT n.nspname FROM pg_namespace n WHERE n.oid = isolate_schema.schema_name), isolate_schema.tenant_column)
    ON CONFLICT ON CONSTRAINT isolated_schemas_pkey DO UPDATE SET tenant_column = EXCLUDED.tenant_column;

    FOR rel IN
        SELECT c.oid FROM pg_class c
         WHERE c.relnamespace = isolate_schema.schema_name AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = isolate_schema.tenant_column
                          AND a.attnum > 0 AND NOT a.attisdropped)
           -- a table isolated on another column already is protected: leave it
           AND NOT EXISTS (SELECT FROM @extschema@.isolated_tables t
                            WHERE t.rel = c.oid AND t.tenant_column <> isolate_schema.tenant_column)
         ORDER BY c.oid
    LOOP
        RETURN NEXT @extschema@._isolate(rel, tenant_column, 'schema');
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.isolate_schema(regnamespace, name) IS
    'isolate every table of a schema that has the tenant column, now and when created later';

CREATE FUNCTION @extschema@.unisolate_schema(schema_name regnamespace) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    IF schema_name IS NULL THEN
        RAISE EXCEPTION 'unisolate_schema: schema must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE oid = schema_name), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of schema %', schema_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM @extschema@.isolated_schemas s
     WHERE s.schema_name = (SELECT n.nspname FROM pg_namespace n WHERE n.oid = unisolate_schema.schema_name);
    IF NOT FOUND THEN
        RAISE NOTICE 'schema % is not isolated, skipping', schema_name;
        RETURN;
    END IF;
    FOR rel IN SELECT t.rel FROM @extschema@.isolated_tables t JOIN pg_class c ON c.oid = t.rel
                WHERE c.relnamespace = unisolate_schema.schema_name AND t.source = 'schema'
    LOOP
        PERFORM @extschema@.unisolate(rel);
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.unisolate_schema(regnamespace) IS
    'stop isolating a schema and unisolate the tables isolate_schema() isolated';

-- Event trigger: isolate tables created in an isolated schema, and partitions
-- created in or attached to an isolated partitioned table.  It runs as the
-- extension owner because the user running the DDL may not even have usage on
-- this schema; it only carries out what the owner of the schema or of the
-- partitioned table asked for.
CREATE FUNCTION @extschema@._on_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cmd    record;
    col    name;
    newcol name;
BEGIN
    -- a renamed schema: follow it (ALTER SCHEMA renames one schema at most,
    -- so the one registered name that no longer exists is its old name)
    IF tg_tag = 'ALTER SCHEMA' THEN
        IF (SELECT count(*) FROM @extschema@.isolated_schemas s
             WHERE NOT EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = s.schema_name)) = 1 THEN
            UPDATE @extschema@.isolated_schemas s SET schema_name = n.nspname
              FROM pg_event_trigger_ddl_commands() d JOIN pg_namespace n ON n.oid = d.objid
             WHERE d.object_type = 'schema'
               AND NOT EXISTS (SELECT FROM pg_namespace x WHERE x.nspname = s.schema_name);
        END IF;
        RETURN;
    END IF;
    FOR cmd IN SELECT DISTINCT d.objid FROM pg_event_trigger_ddl_commands() d
                WHERE d.object_type IN ('table', 'table column') AND d.classid = 'pg_class'::regclass
    LOOP
        CONTINUE WHEN NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = cmd.objid
                                     AND c.relkind IN ('r', 'p') AND c.relpersistence <> 't');
        -- an isolated table: isolate partitions created or attached below it
        SELECT t.tenant_column INTO col FROM @extschema@.isolated_tables t WHERE t.rel = cmd.objid;
        IF col IS NOT NULL THEN
            -- the tenant column was renamed: the policy and the default follow
            -- it by number, the registry follows it here
            IF NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = cmd.objid AND a.attname = col
                              AND a.attnum > 0 AND NOT a.attisdropped) THEN
                SELECT a.attname INTO newcol
                  FROM pg_policy p
                  JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                   AND d.refclassid = 'pg_class'::regclass AND d.refobjid = p.polrelid AND d.refobjsubid > 0
                  JOIN pg_attribute a ON a.attrelid = p.polrelid AND a.attnum = d.refobjsubid
                 WHERE p.polrelid = cmd.objid AND p.polname = 'tenantcore_isolation'
                 LIMIT 1;
                IF newcol IS NOT NULL THEN
                    UPDATE @extschema@.isolated_tables t SET tenant_column = newcol
                     WHERE t.rel = ANY (@extschema@._partition_tree(cmd.objid::regclass)) AND t.tenant_column = col;
                    col := newcol;
                END IF;
            END IF;
            IF EXISTS (SELECT FROM unnest(@extschema@._partition_tree(cmd.objid)) p(relid)
                        WHERE p.relid NOT IN (SELECT t.rel FROM @extschema@.isolated_tables t)) THEN
                PERFORM @extschema@._isolate(cmd.objid::regclass, col, 'isolate');
            END IF;
            CONTINUE;
        END IF;
        -- a new partition of an isolated table
        SELECT t.tenant_column INTO col
          FROM pg_partition_ancestors(cmd.objid) WITH ORDINALITY a(relid, depth)
          JOIN @extschema@.isolated_tables t ON t.rel = a.relid
         ORDER BY a.depth
         LIMIT 1;
        IF col IS NOT NULL THEN
            PERFORM @extschema@._isolate(cmd.objid::regclass, col, 'partition');
            CONTINUE;
        END IF;
        -- a new table in an isolated schema
        SELECT s.tenant_column INTO col FROM @extschema@.isolated_schemas s
          JOIN pg_namespace n ON n.nspname = s.schema_name JOIN pg_class c ON c.relnamespace = n.oid
         WHERE c.oid = cmd.objid AND NOT c.relispartition;
        IF col IS NOT NULL AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = cmd.objid AND a.attname = col
                                          AND a.attnum > 0 AND NOT a.attisdropped) THEN
            PERFORM @extschema@._isolate(cmd.objid::regclass, col, 'schema');
        END IF;
    END LOOP;
END
$$;

-- Event trigger: forget dropped tables and schemas.
CREATE FUNCTION @extschema@._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.isolated_tables t
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objid = t.rel::oid AND d.objsubid = 0;
    DELETE FROM @extschema@.isolated_schemas s
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_namespace'::regclass AND d.object_name = s.schema_name;
END
$$;

CREATE EVENT TRIGGER tenantcore_isolate_new_tables ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE', 'ALTER SCHEMA')
    EXECUTE FUNCTION @extschema@._on_ddl_command_end();
CREATE EVENT TRIGGER tenantcore_forget_dropped ON sql_drop
    EXECUTE FUNCTION @extschema@._on_sql_drop();

-- tenantcore: lint and grants

CREATE FUNCTION @extschema@.lint()
RETURNS TABLE (severity text, object text, problem text, fix text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH user_tables AS (
        SELECT c.oid::regclass AS rel, c.relowner, c.relrowsecurity, c.relforcerowsecurity, c.relispartition
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', '@extschema@')
           AND n.nspname NOT LIKE 'pg\_%'
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
    ), tenant_like AS (
        SELECT u.*, a.attname
          FROM user_tables u JOIN pg_attribute a ON a.attrelid = u.rel
         WHERE a.attnum > 0 AND NOT a.attisdropped
           AND lower(a.attname) IN ('organization_id', 'organizationid', 'org_id', 'tenant_id', 'tenantid')
    ), isolated AS (
        SELECT u.*, t.tenant_column FROM user_tables u JOIN @extschema@.isolated_tables t ON t.rel = u.rel
    ), bypass_roles AS (
        SELECT r.oid, r.rolname FROM pg_roles r
         WHERE (r.rolsuper OR r.rolbypassrls)
    )
    -- tenant-looking tables nobody isolated
    SELECT 'high', tl.rel::text,
           format('column %I looks like a tenant column but the table has no tenant policy', tl.attname),
           format('SELECT tenantcore.isolate(%L, %L);', tl.rel::text, tl.attname)
      FROM tenant_like tl
     WHERE NOT EXISTS (SELECT FROM isolated i WHERE i.rel = tl.rel)
       AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = tl.rel)
    UNION ALL
    -- registered, but the catalog no longer agrees
    SELECT 'high', i.rel::text, 'row level security is not enabled',
           format('SELECT tenantcore.isolate(%L, %L);', i.rel::text, i.tenant_column)
      FROM isolated i WHERE NOT i.relrowsecurity
    UNION ALL
    SELECT 'high', i.rel::text, 'row level security is not forced, so the table owner bypasses the tenant policy',
           format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', i.rel)
      FROM isolated i WHERE i.relrowsecurity AND NOT i.relforcerowsecurity
    UNION ALL
    SELECT 'high', i.rel::text, 'the tenant policy is missing or was changed',
           format('SELECT tenantcore.isolate(%L, %L);', i.rel::text, i.tenant_column)
      FROM isolated i
     WHERE NOT EXISTS (SELECT FROM pg_policy p
                        WHERE p.polrelid = i.rel AND p.polname = 'tenantcore_isolation' AND p.polpermissive
                          AND p.polcmd = '*' AND p.polroles = '{0}'
                          AND pg_get_expr(p.polqual, p.polrelid) = @extschema@._policy_expr(i.tenant_column)
                          AND pg_get_expr(p.polwithcheck, p.polrelid) = @extschema@._policy_expr(i.tenant_column))
    UNION ALL
    SELECT 'high', format('%s (policy %I)', i.rel, p.polname),
           'another permissive policy is ORed with the tenant policy and can expose other tenants'' rows',
           format('DROP POLICY %I ON %s; -- or recreate it AS RESTRICTIVE', p.polname, i.rel)
      FROM isolated i JOIN pg_policy p ON p.polrelid = i.rel
     WHERE p.polpermissive AND p.polname <> 'tenantcore_isolation'
    UNION ALL
    -- partitions of isolated tables that are reachable without a policy
    SELECT 'high', u.rel::text, 'partition of an isolated table is not isolated itself and leaks when queried directly',
           format('SELECT tenantcore.isolate(%L, %L);', u.rel::text, anc.tenant_column)
      FROM user_tables u
      JOIN LATERAL (SELECT t.tenant_column FROM pg_partition_ancestors(u.rel) a
                      JOIN @extschema@.isolated_tables t ON t.rel = a.relid LIMIT 1) anc ON true
     WHERE u.relispartition AND NOT EXISTS (SELECT FROM isolated i WHERE i.rel = u.rel)
    UNION ALL
    -- owners that are login roles can switch row level security off
    SELECT 'medium', i.rel::text,
           format('isolated table is owned by login role %I, which can disable row level security', r.rolname),
           format('ALTER TABLE %s OWNER TO <a NOLOGIN owner role>;', i.rel)
      FROM isolated i JOIN pg_roles r ON r.oid = i.relowner
     WHERE r.rolcanlogin AND NOT r.rolsuper
    UNION ALL
    SELECT 'high', quote_ident(r.rolname), 'role has BYPASSRLS and sees every tenant''s rows',
           format('ALTER ROLE %I NOBYPASSRLS;', r.rolname)
      FROM pg_roles r WHERE r.rolbypassrls AND NOT r.rolsuper AND r.rolname NOT LIKE 'pg\_%'
    UNION ALL
    -- views run with their owner's rights unless security_invoker is set;
    -- materialized views store rows and row level security never applies to them
    SELECT CASE WHEN EXISTS (SELECT FROM bypass_roles b WHERE b.oid = v.relowner) THEN 'high' ELSE 'medium' END,
           v.oid::regclass::text,
           CASE WHEN v.relkind = 'm'
                THEN format('materialized view stores rows of isolated table %s and row level security does not apply to it%s', i.rel,
                            CASE WHEN EXISTS (SELECT FROM bypass_roles b WHERE b.oid = v.relowner)
                                 THEN ', and its owner bypasses row level security, so it holds every tenant''s rows'
                                 ELSE '' END)
                ELSE format('view reads isolated table %s without security_invoker%s', i.rel,
                            CASE WHEN EXISTS (SELECT FROM bypass_roles b WHERE b.oid = v.relowner)
                                 THEN ' and its owner bypasses row level security, so it shows every tenant''s rows'
                                 ELSE ', so privileges are checked as the view owner' END)
           END,
           CASE WHEN v.relkind = 'm'
                THEN format('REVOKE ALL ON %s FROM PUBLIC; -- use a security_invoker view or an isolated table instead', v.oid::regclass)
                ELSE format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
           END
      FROM pg_class v
      JOIN pg_rewrite rw ON rw.ev_class = v.oid
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refclassid = 'pg_class'::regclass
      JOIN isolated i ON i.rel = d.refobjid
     WHERE v.relkind IN ('v', 'm') AND d.refobjid <> v.oid
       -- security_invoker takes any spelling of a boolean (true, on, 1, yes, ...)
       AND (v.relkind = 'm'
            OR NOT EXISTS (SELECT FROM unnest(v.reloptions) o
                            WHERE CASE WHEN o LIKE 'security\_invoker=%' THEN substr(o, 18)::boolean ELSE false END))
     GROUP BY v.oid, v.relkind, v.relowner, i.rel
    UNION ALL
    SELECT 'medium', p.oid::regprocedure::text, 'SECURITY DEFINER function without a pinned search_path',
           format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp;', p.oid::regprocedure)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prosecdef
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
       AND NOT EXISTS (SELECT FROM unnest(p.proconfig) cfg WHERE cfg LIKE 'search\_path=%')
    ORDER BY 1, 2, 3;
END;
COMMENT ON FUNCTION @extschema@.lint() IS
    'list the holes in tenant isolation: one row per problem with the SQL that fixes it';

CREATE FUNCTION @extschema@.grant_app_role(role regrole) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r pg_roles;
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'grant_app_role: role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO r FROM pg_roles WHERE oid = role;
    IF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'role % bypasses row level security', role
            USING ERRCODE = 'invalid_grant_operation',
                  DETAIL = 'Tenant isolation does not apply to superusers and roles with BYPASSRLS.',
                  HINT = format('Use a role with NOSUPERUSER NOBYPASSRLS for the application, or ALTER ROLE %I NOSUPERUSER NOBYPASSRLS.', r.rolname);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', r.rolname);
    EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.current_tenant(), @extschema@.current_actor(), '
                   '@extschema@.set_tenant(uuid, boolean), @extschema@.set_actor(uuid, boolean), '
                   '@extschema@.clear_tenant() TO %I', r.rolname);
    IF EXISTS (SELECT FROM @extschema@.isolated_tables t JOIN pg_class c ON c.oid = t.rel
                WHERE pg_has_role(role, c.relowner, 'USAGE')) THEN
        RAISE WARNING 'role % owns isolated tables', role
            USING HINT = 'An owner can disable row level security; give the tables a NOLOGIN owner role.';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_app_role(regrole) IS
    'grant an application role the use of tenantcore (schema usage, the context functions), never ownership';

-- The context functions are harmless for everyone (a role can SET the
-- settings anyway); installers check ownership themselves.  Everything else
-- is granted by grant_app_role().
REVOKE EXECUTE ON FUNCTION @extschema@.grant_app_role(regrole) FROM PUBLIC;
