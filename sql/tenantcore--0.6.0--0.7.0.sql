-- tenantcore 0.6.0 -> 0.7.0: security hardening and the signed tenant context
\echo Use "ALTER EXTENSION tenantcore UPDATE TO '0.7.0'" to load this file. \quit

-- ===========================================================================
-- Part 1: C entry points checked (protect trigger column types, relation 0,
-- internal trigger functions kept from PUBLIC)
-- ===========================================================================

-- (end of part 1)


-- ===========================================================================
-- Part 2: restore detection, invitations, role and database settings, lint
-- ===========================================================================

-- (end of part 2)


-- ===========================================================================
-- Part 3: signed tenant context (verified JWTs)
-- ===========================================================================

-- (end of part 3)


-- ===========================================================================
-- Part 4: holes found by the adversarial suite
-- ===========================================================================

-- The audit log showed a tenant the entries of every audited table, also of
-- tables its role may not read (no SELECT privilege on any column): the whole
-- row as JSONB.  An entry is now visible only to roles that may read some
-- column of the audited table (as it is named today; entries of dropped
-- tables are visible to superusers only).  Columns hidden by column
-- privileges are still logged: redact them (audit(..., redact => ...)).
ALTER POLICY tenantcore_isolation ON @extschema@.audit_log
    USING (organization_id = @extschema@.current_tenant()
           AND pg_catalog.has_any_column_privilege(pg_catalog.to_regclass(table_name), 'SELECT'));

-- (end of part 4)


-- ===========================================================================
-- Part 5: first hour (seed_demo, schedule_retention, history, audit partitions)
-- ===========================================================================

-- (end of part 5)
