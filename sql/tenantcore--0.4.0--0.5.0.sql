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
-- Part 5: retention
--
-- Built-in policies (installed by this script, e.g. the audit log's 7 years)
-- with stable negative ids: pg_dump leaves them out, because CREATE EXTENSION
-- makes them again on restore, and keeps what a DBA changed on them in
-- retention_builtin_settings instead.  Retention functions check that the
-- caller owns the table.  A keep of 0 (rows go as soon as their date has
-- passed: retention_until, expires_at).  The runner pauses between batches
-- and uses no parallel workers, to leave CPU to concurrent writers.
-- ===========================================================================

ALTER TABLE @extschema@.retention_policies
    DROP CONSTRAINT retention_policies_keep_check,
    ADD CONSTRAINT retention_policies_keep_check CHECK (keep >= interval '0'),
    ADD COLUMN builtin boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT retention_policies_builtin_check CHECK (builtin = (id < 0));
ALTER TABLE @extschema@.retention_overrides
    DROP CONSTRAINT retention_overrides_keep_check,
    ADD CONSTRAINT retention_overrides_keep_check CHECK (keep >= interval '0');
COMMENT ON COLUMN @extschema@.retention_policies.builtin IS
    'made by the extension''s install script (negative id); not dumped, changes are kept in retention_builtin_settings';
-- built-in policies are made again by CREATE EXTENSION on restore: not dumped
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_policies', 'WHERE NOT builtin');

CREATE TABLE @extschema@.retention_builtin_settings (
    policy_id  integer     PRIMARY KEY REFERENCES @extschema@.retention_policies ON DELETE CASCADE
                           CHECK (policy_id < 0),
    keep       interval    NOT NULL CHECK (keep >= interval '0'),
    enabled    boolean     NOT NULL,
    changed_by name        NOT NULL DEFAULT session_user,
    changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.retention_builtin_settings IS
    'a DBA''s period and enabled flag of a built-in retention policy; dumped, and applied to the policy again on restore';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.retention_builtin_settings', '');

-- _retention_builtin_capture records a change of a built-in policy's period
-- or enabled flag in retention_builtin_settings (not the extension scripts'
-- own changes of its defaults).
CREATE FUNCTION @extschema@._retention_builtin_capture() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT @extschema@._creating_extension() THEN
        INSERT INTO @extschema@.retention_builtin_settings AS s (policy_id, keep, enabled)
        VALUES (NEW.id, NEW.keep, NEW.enabled)
        ON CONFLICT (policy_id) DO UPDATE
           SET keep = EXCLUDED.keep, enabled = EXCLUDED.enabled, changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at
         WHERE (s.keep, s.enabled) IS DISTINCT FROM (EXCLUDED.keep, EXCLUDED.enabled);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER retention_builtin_capture AFTER UPDATE OF keep, enabled ON @extschema@.retention_policies
    FOR EACH ROW WHEN (NEW.builtin AND (OLD.keep, OLD.enabled) IS DISTINCT FROM (NEW.keep, NEW.enabled))
    EXECUTE FUNCTION @extschema@._retention_builtin_capture();

-- _retention_builtin_apply gives built-in policies the settings recorded for
-- them: when pg_restore loads retention_builtin_settings (trigger), and at
-- the start of every run (for a data-only restore with triggers disabled).
CREATE FUNCTION @extschema@._retention_builtin_apply() RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    UPDATE @extschema@.retention_policies p SET keep = s.keep, enabled = s.enabled
      FROM @extschema@.retention_builtin_settings s
     WHERE p.id = s.policy_id AND (p.keep, p.enabled) IS DISTINCT FROM (s.keep, s.enabled);
END;

-- _retention_builtin_apply_trigger runs _retention_builtin_apply() after rows
-- of retention_builtin_settings are loaded or changed.
CREATE FUNCTION @extschema@._retention_builtin_apply_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@._retention_builtin_apply();
    RETURN NULL;
END
$$;
CREATE TRIGGER retention_builtin_apply AFTER INSERT OR UPDATE ON @extschema@.retention_builtin_settings
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._retention_builtin_apply_trigger();

-- _retention_caller is the role the retention functions (SECURITY DEFINER)
-- act for: the role of SET ROLE, else the session user.
CREATE FUNCTION @extschema@._retention_caller() RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user
            ELSE pg_catalog.current_setting('role')::name END;

-- _retention_check_owner raises 42501 unless the caller owns rel (or is a
-- member of its owner role, or a superuser); rel NULL (every table of a
-- tenant) needs a superuser.
CREATE FUNCTION @extschema@._retention_check_owner(rel regclass, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller name := @extschema@._retention_caller();
    owner  oid := (SELECT c.relowner FROM pg_class c WHERE c.oid = rel);
BEGIN
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = caller) THEN
        RETURN;
    END IF;
    IF owner IS NULL THEN
        RAISE EXCEPTION 'must be superuser to %', what
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A table''s owner can do it for that table only: name the table.';
    END IF;
    IF NOT pg_has_role(caller, owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', rel
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('The retention policies and legal holds of a table are set by its owner, a member of the owner role, or a superuser; role %s is none of these.', caller);
    END IF;
END
$$;

-- _retention_check validates a policy and returns the tenant column it will
-- use; shared by retain() and _builtin_retain().
CREATE FUNCTION @extschema@._retention_check(rel regclass, time_column name, keep interval,
                                             action text, anonymize jsonb) RETURNS name
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c   pg_class;
    typ regtype;
BEGIN
    IF rel IS NULL OR time_column IS NULL OR keep IS NULL OR action IS NULL THEN
        RAISE EXCEPTION 'retain: table, time column, keep and action must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    IF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot set a retention policy on temporary table "%"', rel USING ERRCODE = 'feature_not_supported';
    END IF;
    IF action NOT IN ('delete', 'anonymize', 'drop_partition') THEN
        RAISE EXCEPTION 'invalid retention action "%"', action
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use delete, anonymize or drop_partition.';
    END IF;
    IF keep < interval '0' THEN
        RAISE EXCEPTION 'retention period "%" is negative', keep USING ERRCODE = 'invalid_parameter_value';
    END IF;
    BEGIN
        PERFORM now() - keep;
    EXCEPTION WHEN datetime_field_overflow THEN
        RAISE EXCEPTION 'retention period "%" is too long', keep USING ERRCODE = 'invalid_parameter_value';
    END;
    SELECT a.atttypid INTO typ FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', time_column, rel USING ERRCODE = 'undefined_column';
    END IF;
    IF typ NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
        RAISE EXCEPTION 'column "%" of relation "%" is of type %, not a date or timestamp', time_column, rel, typ
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF action = 'drop_partition' THEN
        IF c.relkind <> 'p' OR NOT EXISTS (
               SELECT FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
                WHERE pt.partrelid = rel AND pt.partstrat = 'r' AND pt.partnatts = 1 AND a.attname = time_column) THEN
            RAISE EXCEPTION 'drop_partition needs a table partitioned by range on column "%"', time_column
                USING ERRCODE = 'wrong_object_type',
                      HINT = 'Use action => ''delete'' for tables that are not partitioned by time.';
        END IF;
    END IF;
    IF (action = 'anonymize') <> (anonymize IS NOT NULL) THEN
        RAISE EXCEPTION 'anonymize must be given for action anonymize and only for it'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass anonymize => ''{"email": "anonymized@example.invalid", "name": null}''.';
    END IF;
    IF anonymize ? time_column THEN
        RAISE EXCEPTION 'cannot anonymize the time column "%"', time_column USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM @extschema@._check_anonymize(rel, anonymize);
    RETURN @extschema@._tenant_column_of(rel);
END
$$;

-- retain: as in 0.3.0, plus the owner check, a keep of 0, and built-in
-- policies (whose action stays; action NULL means delete, or the built-in
-- policy's own action).
CREATE OR REPLACE FUNCTION @extschema@.retain(rel regclass, time_column name, keep interval,
                                              action text DEFAULT NULL, anonymize jsonb DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b    @extschema@.retention_policies;
    tcol name;
    pid  integer;
BEGIN
    IF rel IS NULL OR time_column IS NULL OR keep IS NULL THEN
        RAISE EXCEPTION 'retain: table, time column and keep must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._retention_check_owner(rel, 'set its retention policy');
    SELECT * INTO b FROM @extschema@.retention_policies p
     WHERE p.rel = retain.rel AND p.time_column = retain.time_column AND p.builtin;
    IF FOUND THEN
        -- a built-in policy: only its period changes (and it is enabled)
        IF (action IS NOT NULL AND action <> b.action) OR (anonymize IS NOT NULL AND anonymize IS DISTINCT FROM b.anonymize) THEN
            RAISE EXCEPTION 'cannot change the action of built-in retention policy % of %', b.id, rel
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = format('Its action is %s.', b.action),
                      HINT = 'Change its period with tenantcore.retain(rel, time_column, keep), or turn it off with tenantcore.disable_retention(rel).';
        END IF;
        PERFORM @extschema@._retention_check(rel, time_column, keep, b.action, b.anonymize);
        UPDATE @extschema@.retention_policies p SET keep = retain.keep, enabled = true WHERE p.id = b.id;
        RETURN b.id;
    END IF;

    action := coalesce(action, 'delete');
    tcol := @extschema@._retention_check(rel, time_column, keep, action, anonymize);
    INSERT INTO @extschema@.retention_policies AS p (rel, time_column, keep, action, anonymize, tenant_column)
    VALUES (rel, time_column, keep, action, anonymize, tcol)
    ON CONFLICT ON CONSTRAINT retention_policies_rel_time_column_key DO UPDATE
       SET keep = EXCLUDED.keep, action = EXCLUDED.action, anonymize = EXCLUDED.anonymize,
           tenant_column = EXCLUDED.tenant_column, enabled = true
    RETURNING p.id INTO pid;
    RETURN pid;
END
$$;

-- _builtin_retain installs a built-in policy with a fixed negative id, for
-- the extension's own tables (called by the install scripts).  A policy a
-- DBA had made on the same table and column becomes the built-in one: its
-- period, enabled flag, per-tenant periods and run log entries are kept.
-- Called again (by a later version), it updates the policy but leaves its
-- period and enabled flag as they are: they may be a DBA's.
CREATE FUNCTION @extschema@._builtin_retain(id integer, rel regclass, time_column name, keep interval,
                                            action text DEFAULT 'delete', enabled boolean DEFAULT true,
                                            anonymize jsonb DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tcol name;
    prev @extschema@.retention_policies;
BEGIN
    IF id IS NULL OR id >= 0 OR enabled IS NULL THEN
        RAISE EXCEPTION '_builtin_retain: the id of a built-in policy must be negative, and enabled not null'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    tcol := @extschema@._retention_check(rel, time_column, keep, action, anonymize);

    SELECT * INTO prev FROM @extschema@.retention_policies p
     WHERE p.rel = _builtin_retain.rel AND p.time_column = _builtin_retain.time_column AND p.id <> _builtin_retain.id;
    IF FOUND AND prev.builtin THEN
        RAISE EXCEPTION 'table % already has built-in retention policy % on column "%"', rel, prev.id, time_column
            USING ERRCODE = 'duplicate_object';
    END IF;
    IF FOUND THEN
        -- free (rel, time_column) for the built-in row, then move the DBA's policy onto it
        UPDATE @extschema@.retention_policies p SET time_column = '' WHERE p.id = prev.id;
    END IF;

    INSERT INTO @extschema@.retention_policies AS p (id, rel, time_column, keep, action, anonymize, tenant_column, enabled, builtin)
    VALUES (id, rel, time_column, keep, action, anonymize, tcol, enabled, true)
    ON CONFLICT ON CONSTRAINT retention_policies_pkey DO UPDATE
       SET rel = EXCLUDED.rel, time_column = EXCLUDED.time_column, action = EXCLUDED.action,
           anonymize = EXCLUDED.anonymize, tenant_column = EXCLUDED.tenant_column;

    IF prev.id IS NOT NULL THEN
        UPDATE @extschema@.retention_overrides o SET policy_id = _builtin_retain.id WHERE o.policy_id = prev.id;
        UPDATE @extschema@.retention_runs r SET policy_id = _builtin_retain.id WHERE r.policy_id = prev.id;
        DELETE FROM @extschema@.retention_policies p WHERE p.id = prev.id;
        INSERT INTO @extschema@.retention_builtin_settings AS s (policy_id, keep, enabled)
        VALUES (id, prev.keep, prev.enabled)
        ON CONFLICT (policy_id) DO UPDATE SET keep = EXCLUDED.keep, enabled = EXCLUDED.enabled;
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@._builtin_retain(integer, regclass, name, interval, text, boolean, jsonb) IS
    'internal: install a built-in retention policy (fixed negative id) on one of the extension''s own tables';

-- unretain: as in 0.3.0, plus the owner check; built-in policies cannot be
-- removed (they would come back on restore), only disabled.
CREATE OR REPLACE FUNCTION @extschema@.unretain(rel regclass, time_column name DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n   integer;
    bid integer;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION 'unretain: table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._retention_check_owner(rel, 'remove its retention policy');
    SELECT p.id INTO bid FROM @extschema@.retention_policies p
     WHERE p.rel = unretain.rel AND (unretain.time_column IS NULL OR p.time_column = unretain.time_column) AND p.builtin
     ORDER BY p.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot remove built-in retention policy % of %', bid, rel
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Turn it off with SELECT tenantcore.disable_retention(%L); that survives pg_dump.', rel::text);
    END IF;
    DELETE FROM @extschema@.retention_policies p
     WHERE p.rel = unretain.rel AND (unretain.time_column IS NULL OR p.time_column = unretain.time_column);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE NOTICE 'table % has no retention policy, skipping', rel;
    END IF;
    RETURN n;
END
$$;

-- _retention_enable turns one policy on or off.
CREATE FUNCTION @extschema@._retention_enable(rel regclass, time_column name, enabled boolean) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid integer;
BEGIN
    IF rel IS NULL THEN
        RAISE EXCEPTION '%: table must not be null', CASE WHEN enabled THEN 'enable_retention' ELSE 'disable_retention' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._retention_check_owner(rel, 'change its retention policy');
    pid := @extschema@._retention_policy(rel, time_column);
    UPDATE @extschema@.retention_policies p SET enabled = _retention_enable.enabled WHERE p.id = pid;
END
$$;

-- enable_retention and disable_retention turn a table's policy on or off
-- (for built-in policies the trigger records it for pg_dump).
CREATE FUNCTION @extschema@.enable_retention(rel regclass, time_column name DEFAULT NULL) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT @extschema@._retention_enable(rel, time_column, true);
END;
COMMENT ON FUNCTION @extschema@.enable_retention(regclass, name) IS
    'turn a table''s retention policy on again (built-in ones too; survives pg_dump)';

CREATE FUNCTION @extschema@.disable_retention(rel regclass, time_column name DEFAULT NULL) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT @extschema@._retention_enable(rel, time_column, false);
END;
COMMENT ON FUNCTION @extschema@.disable_retention(regclass, name) IS
    'turn a table''s retention policy off without forgetting it (built-in ones too; survives pg_dump)';

-- retain_for_tenant: as in 0.3.0, plus the owner check and a keep of 0.
CREATE OR REPLACE FUNCTION @extschema@.retain_for_tenant(rel regclass, tenant uuid, keep interval, time_column name DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid integer;
BEGIN
    IF rel IS NULL OR tenant IS NULL THEN
        RAISE EXCEPTION 'retain_for_tenant: table and tenant must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._retention_check_owner(rel, 'set a tenant''s retention period');
    pid := @extschema@._retention_policy(rel, time_column);
    IF (SELECT p.tenant_column IS NULL FROM @extschema@.retention_policies p WHERE p.id = pid) THEN
        RAISE EXCEPTION 'table % has no tenant column, so it has no per-tenant retention', rel
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF keep IS NULL THEN
        DELETE FROM @extschema@.retention_overrides o WHERE o.policy_id = pid AND o.organization_id = tenant;
        RETURN;
    END IF;
    IF keep < interval '0' THEN
        RAISE EXCEPTION 'retention period "%" is negative', keep USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.retention_overrides (policy_id, organization_id, keep) VALUES (pid, tenant, keep)
    ON CONFLICT ON CONSTRAINT retention_overrides_pkey DO UPDATE SET keep = EXCLUDED.keep;
END
$$;

-- hold: as in 0.3.0, plus the owner check (a hold on every table of a
-- tenant needs a superuser).
CREATE OR REPLACE FUNCTION @extschema@.hold(tenant uuid, rel regclass DEFAULT NULL, reason text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hid bigint;
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'hold: tenant must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF rel IS NOT NULL AND (SELECT relkind FROM pg_class WHERE oid = rel) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    PERFORM @extschema@._retention_check_owner(rel, 'place a legal hold on every table of a tenant');
    INSERT INTO @extschema@.legal_holds (organization_id, rel, reason) VALUES (tenant, rel, reason)
    RETURNING id INTO hid;
    RETURN hid;
END
$$;

-- release_hold: as in 0.3.0, plus the owner check of the hold's table.
CREATE OR REPLACE FUNCTION @extschema@.release_hold(hold_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h @extschema@.legal_holds;
BEGIN
    IF hold_id IS NULL THEN
        RAISE EXCEPTION 'release_hold: hold id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO h FROM @extschema@.legal_holds l WHERE l.id = hold_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'legal hold % does not exist', hold_id USING ERRCODE = 'no_data_found';
    END IF;
    -- a hold on every table (or on a dropped one) is released by a superuser
    PERFORM @extschema@._retention_check_owner(
        CASE WHEN EXISTS (SELECT FROM pg_class c WHERE c.oid = h.rel) THEN h.rel END,
        'release a legal hold on every table of a tenant (or on a dropped table)');
    UPDATE @extschema@.legal_holds l SET released_at = coalesce(l.released_at, now()) WHERE l.id = hold_id;
END
$$;

-- _retention_tx_settings pins what every transaction of the runner needs:
-- its search_path, and no parallel workers (they would take the CPU of
-- concurrent writers for a background job).
CREATE FUNCTION @extschema@._retention_tx_settings() RETURNS void
LANGUAGE sql
BEGIN ATOMIC
    SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true),
           pg_catalog.set_config('max_parallel_workers_per_gather', '0', true);
END;

-- run_retention: as in 0.3.0, plus pause_ratio (a pause after every batch,
-- pause_ratio times as long as the runner worked since its last pause),
-- smaller default batches, no parallel workers, and the settings of
-- built-in policies applied first.  A new parameter: DROP and CREATE.
DROP PROCEDURE @extschema@.run_retention(interval, integer);
CREATE PROCEDURE @extschema@.run_retention(max_runtime interval DEFAULT '10 minutes',
                                           batch_size integer DEFAULT 1000,
                                           pause_ratio real DEFAULT 2)
LANGUAGE plpgsql
AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + max_runtime;
    pids     integer[];
    pid      integer;
    p        @extschema@.retention_policies;
    run_id   bigint;
    target   regclass;
    tenant   uuid;
    cutoff   timestamptz;
    n        bigint;
    total    bigint;
    dropped  integer;
    notes    text[];
    err      text;
    item     record;
    worked   timestamptz;
BEGIN
    IF max_runtime IS NULL OR max_runtime <= interval '0' THEN
        RAISE EXCEPTION 'max_runtime must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pause_ratio IS NULL OR NOT pause_ratio BETWEEN 0 AND 100 THEN
        RAISE EXCEPTION 'pause_ratio must be between 0 and 100' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- a procedure that commits cannot pin search_path with SET; do it per transaction
    PERFORM @extschema@._retention_tx_settings();
    PERFORM @extschema@._retention_builtin_apply();
    SELECT pg_catalog.array_agg(rp.id ORDER BY rp.id) INTO pids
      FROM @extschema@.retention_policies rp WHERE rp.enabled;
    COMMIT;
    PERFORM @extschema@._retention_tx_settings();
    worked := clock_timestamp();

    FOREACH pid IN ARRAY coalesce(pids, '{}') LOOP
        EXIT WHEN pg_catalog.clock_timestamp() >= deadline;
        SELECT * INTO p FROM @extschema@.retention_policies rp WHERE rp.id = pid;
        CONTINUE WHEN NOT FOUND;
        INSERT INTO @extschema@.retention_runs (policy_id, rel, action, started_at)
        VALUES (p.id, p.rel::text, p.action, clock_timestamp()) RETURNING id INTO run_id;
        COMMIT;
        PERFORM @extschema@._retention_tx_settings();
        total := 0; dropped := 0; notes := '{}'; err := NULL;

        BEGIN
            IF p.action = 'drop_partition' THEN
                FOR item IN SELECT * FROM @extschema@._retention_partitions(p, now() - p.keep) LOOP
                    IF item.blocked IS NOT NULL THEN
                        notes := notes || format('kept %s: %s', item.name, item.blocked);
                    ELSE
                        -- as the owner of the table, like the deletes
                        PERFORM set_config('role', (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                                                     WHERE c.oid = p.rel), true);
                        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', p.rel, item.part);
                        EXECUTE format('DROP TABLE %s', item.part);
                        PERFORM set_config('role', 'none', true);
                        dropped := dropped + 1;
                        notes := notes || ('dropped ' || item.name);
                    END IF;
                END LOOP;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            err := SQLERRM;
        END;
        COMMIT;
        PERFORM @extschema@._retention_tx_settings();

        IF p.action <> 'drop_partition' AND err IS NULL THEN
            <<targets>>
            FOR target IN SELECT x FROM unnest(@extschema@._partition_tree(p.rel)) x
                           WHERE (SELECT relkind FROM pg_class WHERE oid = x) = 'r'
            LOOP
                -- one tenant at a time, each with its own period, none under a hold
                FOREACH tenant IN ARRAY CASE WHEN p.tenant_column IS NULL THEN ARRAY[NULL::uuid]
                                             ELSE ARRAY(SELECT @extschema@._retention_tenants(p, target)) END
                LOOP
                    cutoff := now() - coalesce((SELECT o.keep FROM @extschema@.retention_overrides o
                                                 WHERE o.policy_id = p.id AND o.organization_id = tenant), p.keep);
                    LOOP
                        EXIT targets WHEN clock_timestamp() >= deadline;
                        BEGIN
                            n := @extschema@._retention_batch(p, target, tenant, cutoff, batch_size);
                        EXCEPTION WHEN OTHERS THEN
                            err := SQLERRM;
                            n := 0;
                        END;
                        total := total + n;
                        COMMIT;
                        PERFORM @extschema@._retention_tx_settings();
                        EXIT targets WHEN err IS NOT NULL;
                        -- leave the machine to others for pause_ratio times
                        -- as long as the runner worked since its last pause
                        IF n > 0 AND pause_ratio > 0 THEN
                            PERFORM pg_sleep(least(extract(epoch FROM clock_timestamp() - worked) * pause_ratio,
                                                   greatest(extract(epoch FROM deadline - clock_timestamp()), 0)));
                            worked := clock_timestamp();
                        END IF;
                        EXIT WHEN n < batch_size;
                    END LOOP;
                END LOOP;
            END LOOP;
        END IF;

        UPDATE @extschema@.retention_runs r
           SET finished_at = clock_timestamp(), rows_affected = total, partitions_dropped = dropped,
               detail = nullif(array_to_string(notes, '; '), ''), error = err
         WHERE r.id = run_id;
        COMMIT;
        PERFORM @extschema@._retention_tx_settings();
    END LOOP;
END
$$;
COMMENT ON PROCEDURE @extschema@.run_retention(interval, integer, real) IS
    'apply every enabled retention policy in bounded batches, committing and pausing between them';

REVOKE EXECUTE ON FUNCTION @extschema@._retention_builtin_capture(), @extschema@._retention_builtin_apply(),
    @extschema@._retention_builtin_apply_trigger(), @extschema@._retention_check_owner(regclass, text),
    @extschema@._retention_check(regclass, name, interval, text, jsonb),
    @extschema@._builtin_retain(integer, regclass, name, interval, text, boolean, jsonb),
    @extschema@._retention_enable(regclass, name, boolean),
    @extschema@.enable_retention(regclass, name), @extschema@.disable_retention(regclass, name),
    @extschema@._retention_tx_settings()
  FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.run_retention(interval, integer, real) FROM PUBLIC;

-- The audit log is kept 7 years, then dropped by whole monthly partitions
-- (enabled: it only acts when run_retention() runs, by hand or scheduled).
SELECT @extschema@._builtin_retain(-1, '@extschema@.audit_log', 'occurred_at', '7 years', 'drop_partition', true);
