-- sql/isolation.sql -- tenant isolation: isolate(), the registry policies, the event triggers.
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

COMMENT ON TABLE @extschema@.isolated_tables IS 'tables under tenant isolation (tenantcore.isolate)';
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.isolated_tables, @extschema@.isolated_schemas TO PUBLIC;

COMMENT ON TABLE @extschema@.isolated_schemas IS 'schemas whose new tables are isolated automatically (tenantcore.isolate_schema)';

-- _policy_expr is the expression of the tenant policy for a column.
CREATE OR REPLACE FUNCTION @extschema@._policy_expr(tenant_column name) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.format('(%I = @extschema@.current_tenant())', tenant_column);

-- _partition_tree is rel followed by all partitions below it, top down (for a
-- table that is not partitioned, just rel).
CREATE OR REPLACE FUNCTION @extschema@._partition_tree(rel regclass) RETURNS regclass[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce((SELECT array_agg(p.relid ORDER BY p.level, p.relid) FROM pg_catalog.pg_partition_tree(rel) p),
                ARRAY[rel]);

CREATE OR REPLACE FUNCTION @extschema@.isolate(rel regclass, tenant_column name DEFAULT 'organization_id')
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

-- Event trigger: isolate tables created in an isolated schema, and partitions
-- created in or attached to an isolated partitioned table.  It runs as the
-- extension owner because the user running the DDL may not even have usage on
-- this schema; it only carries out what the owner of the schema or of the
-- partitioned table asked for.
CREATE OR REPLACE FUNCTION @extschema@._on_ddl_command_end() RETURNS event_trigger
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
CREATE OR REPLACE FUNCTION @extschema@._on_sql_drop() RETURNS event_trigger
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

DROP EVENT TRIGGER IF EXISTS tenantcore_isolate_new_tables;
CREATE EVENT TRIGGER tenantcore_isolate_new_tables ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE', 'ALTER SCHEMA')
    EXECUTE FUNCTION @extschema@._on_ddl_command_end();

DROP EVENT TRIGGER IF EXISTS tenantcore_forget_dropped;
CREATE EVENT TRIGGER tenantcore_forget_dropped ON sql_drop
    EXECUTE FUNCTION @extschema@._on_sql_drop();

CREATE OR REPLACE FUNCTION @extschema@.grant_app_role(role regrole) RETURNS void
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

-- isolate_schema() and unisolate_schema() refused a caller who does not own
-- the schema without saying what to do: the same checks, with a hint
CREATE OR REPLACE FUNCTION @extschema@.isolate_schema(schema_name regnamespace, tenant_column name DEFAULT 'organization_id')
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
        RAISE EXCEPTION 'must be owner of schema %', schema_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.isolate_schema() as the owner of the schema (SET ROLE) or a superuser.';
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

CREATE OR REPLACE FUNCTION @extschema@.unisolate_schema(schema_name regnamespace) RETURNS void
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
        RAISE EXCEPTION 'must be owner of schema %', schema_name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run tenantcore.unisolate_schema() as the owner of the schema (SET ROLE) or a superuser.';
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

-- _check_isolatable raises the error that explains why rel cannot be isolated
-- on tenant_column by the current user, if it cannot.  The error names the
-- installer that refuses (func): unisolate() of a table of an extension
-- schema no longer says "cannot isolate".
CREATE OR REPLACE FUNCTION @extschema@._check_isolatable(rel regclass, tenant_column name, func text)
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
        RAISE EXCEPTION 'cannot % temporary table "%"', func, rel
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'A temporary table is private to one session and needs no tenant policy.';
    END IF;
    IF c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                          '@extschema@'::regnamespace) THEN
        RAISE EXCEPTION 'cannot % "%": it belongs to a system or extension schema', func, rel
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

-- _isolate isolates rel and every partition below it.  All tables are
-- registered before any DDL runs, so the event trigger that the DDL fires
-- finds them isolated and does nothing.  It warns of the keys of the table
-- without the tenant column (_tenant_key_problems); isolate() and
-- isolate_schema() call it.
CREATE OR REPLACE FUNCTION @extschema@._isolate(rel regclass, tenant_column name, source text)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    existing name;
    part     regclass;
    parts    regclass[];
    k        record;
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
    -- the policy does not cover constraints (tenantcore.lint() lists these too)
    FOR k IN SELECT * FROM @extschema@._tenant_key_problems(rel, tenant_column) LOOP
        RAISE WARNING 'table %: %', rel, k.problem
            USING HINT = 'Make the key include the tenant column: ' || k.fix;
    END LOOP;
    RETURN rel;
END
$$;

-- The tenant column's default.  With missing_tenant = deny an INSERT without
-- a tenant got current_tenant() = NULL and then PostgreSQL's bare "new row
-- violates row-level security policy".  The default is now
-- _tenant_default(): the current tenant, or the error that says what to do.
-- With missing_tenant = error current_tenant() raises its own error first,
-- as before.  An INSERT that names the tenant column does not evaluate the
-- default (and still meets the policy's WITH CHECK).  _tenant_default() is
-- an SQL function without SET clause, so the planner inlines it: a row costs
-- the current_tenant() call, as before.
CREATE OR REPLACE FUNCTION @extschema@._no_tenant_for_insert() RETURNS uuid
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'no tenant is set'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = 'The tenant column of a tenant-isolated table defaults to the current tenant.',
              HINT = CASE WHEN current_setting('tenantcore.context_mode', true) = 'signed'
                          THEN 'Call tenantcore.set_context_token() in the transaction first.'
                          ELSE 'Call tenantcore.set_tenant() in the transaction first.' END;
END
$$;
COMMENT ON FUNCTION @extschema@._no_tenant_for_insert() IS
    'raise the error of an INSERT into a tenant-isolated table without a tenant';

CREATE OR REPLACE FUNCTION @extschema@._tenant_default() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
RETURN COALESCE(@extschema@.current_tenant(), @extschema@._no_tenant_for_insert());
COMMENT ON FUNCTION @extschema@._tenant_default() IS
    'the default of the tenant column of an isolated table: the current tenant, or an error with a hint';

-- _apply_policy puts one table (not its partitions) under the tenant policy;
-- the tenant column's default becomes _tenant_default().
CREATE OR REPLACE FUNCTION @extschema@._apply_policy(rel regclass, tenant_column name) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    distributed boolean := false;
BEGIN
    -- Citus refuses to change the default of a distribution column: a table
    -- distributed by its tenant column keeps its default (isolated before
    -- create_distributed_table(), it has _tenant_default() already)
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1 '
                'AND p.partkey IS NOT NULL AND pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) = $2)'
           INTO distributed USING rel, tenant_column;
    END IF;
    IF distributed THEN
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', rel);
        IF NOT EXISTS (SELECT FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                        WHERE d.adrelid = rel AND a.attname = tenant_column
                          AND pg_get_expr(d.adbin, d.adrelid) = '@extschema@._tenant_default()') THEN
            RAISE NOTICE 'table % is distributed by %: its default is left as it is (Citus does not change a distribution column)', rel, quote_ident(tenant_column)
                USING HINT = 'An INSERT without the tenant column then fails with PostgreSQL''s row level security error instead of "no tenant is set"; isolate tables before create_distributed_table() to get both.';
        END IF;
    ELSE
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY, '
                       'ALTER COLUMN %I SET DEFAULT @extschema@._tenant_default()', rel, tenant_column);
    END IF;
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

-- unisolate undoes isolate(): drops the policy and the default isolate() set
-- (_tenant_default(), or current_tenant() as set by 0.1.0-0.6.0), and
-- unregisters the table and its partitions.
CREATE OR REPLACE FUNCTION @extschema@.unisolate(rel regclass) RETURNS void
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
        IF def IN ('@extschema@._tenant_default()', '@extschema@.current_tenant()') THEN
            EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', part, col);
        END IF;
        DELETE FROM @extschema@.isolated_tables t WHERE t.rel = part;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.unisolate(regclass) IS
    'remove the tenant isolation policy from a table and its partitions';

DROP POLICY IF EXISTS owner_registers ON @extschema@.isolated_schemas;
CREATE POLICY owner_registers ON @extschema@.isolated_schemas
    USING (true)
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name), 'USAGE'));

DROP POLICY IF EXISTS owner_registers ON @extschema@.isolated_tables;
CREATE POLICY owner_registers ON @extschema@.isolated_tables
    USING (true)
    WITH CHECK (pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE'));

DROP POLICY IF EXISTS owner_unregisters ON @extschema@.isolated_schemas;
CREATE POLICY owner_unregisters ON @extschema@.isolated_schemas AS RESTRICTIVE FOR DELETE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name), 'USAGE'));

DROP POLICY IF EXISTS owner_unregisters ON @extschema@.isolated_tables;
CREATE POLICY owner_unregisters ON @extschema@.isolated_tables AS RESTRICTIVE FOR DELETE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = rel)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE'));

DROP POLICY IF EXISTS owner_updates ON @extschema@.isolated_schemas;
CREATE POLICY owner_updates ON @extschema@.isolated_schemas AS RESTRICTIVE FOR UPDATE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = schema_name), 'USAGE'));

-- UPDATE needs the owner's rights on the old row too, or a non-owner could
-- unregister another owner's table by pointing its row at a table of their own.
DROP POLICY IF EXISTS owner_updates ON @extschema@.isolated_tables;
CREATE POLICY owner_updates ON @extschema@.isolated_tables AS RESTRICTIVE FOR UPDATE
    USING (NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = rel)
           OR pg_catalog.pg_has_role(current_user,
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel), 'USAGE'));
