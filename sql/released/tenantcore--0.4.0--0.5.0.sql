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
    -- NULL only once the person is erased (tenantcore.erase_subject)
    email          text
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
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_required CHECK (email IS NOT NULL OR status = 'deleted')
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
    owner_id           uuid        REFERENCES @extschema@.users (id) ON DELETE SET NULL,
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
-- Part 2: core schema
--
-- Identity, tenancy and RBAC reconciled from the seeds (doc/core.md).  Global
-- tables (Citus reference tables): users, user_profiles, permissions,
-- role_templates, role_template_permissions.  Every other table is a tenant
-- table: organization_id NOT NULL, leading its primary key, its unique keys
-- and every foreign key to another tenant table, so a row can only reference
-- rows of its own tenant; ON DELETE CASCADE from organizations.
-- ===========================================================================

-- Rows the install script writes into the registries are written again by
-- CREATE EXTENSION when a dump is restored: they are marked builtin and not
-- dumped (as subject_tables does since 0.3.0).
ALTER TABLE @extschema@.isolated_tables ADD COLUMN builtin boolean NOT NULL DEFAULT false;
ALTER TABLE @extschema@.audited_tables ADD COLUMN builtin boolean NOT NULL DEFAULT false;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.isolated_tables', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audited_tables', 'WHERE NOT builtin');

-- The anchor tables hold user data: dumped.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.users', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.organizations', '');

CREATE TABLE @extschema@.user_profiles (
    user_id     uuid        NOT NULL REFERENCES @extschema@.users (id) ON DELETE CASCADE,
    phone       text,
    avatar_url  text,
    timezone    text        NOT NULL DEFAULT 'UTC'
                CONSTRAINT user_profiles_timezone_check CHECK (pg_catalog.btrim(timezone) <> ''),
    language    text        NOT NULL DEFAULT 'en'
                CONSTRAINT user_profiles_language_check CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
    preferences jsonb       NOT NULL DEFAULT '{}'
                CONSTRAINT user_profiles_preferences_check CHECK (pg_catalog.jsonb_typeof(preferences) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT user_profiles_pkey PRIMARY KEY (user_id)
);
CREATE INDEX user_profiles_phone_idx ON @extschema@.user_profiles (phone) WHERE phone IS NOT NULL;
COMMENT ON TABLE @extschema@.user_profiles IS 'one profile per person (global, like users)';

-- The permission catalogue: global, keyed by its text so has_permission()
-- needs no join to find it.
CREATE TABLE @extschema@.permissions (
    key         text        NOT NULL
                CONSTRAINT permissions_key_check CHECK (key ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    description text,
    CONSTRAINT permissions_pkey PRIMARY KEY (key)
);
COMMENT ON TABLE @extschema@.permissions IS 'global permission catalogue ("resource.action")';

-- System role templates, copied into every organization when it is created.
CREATE TABLE @extschema@.role_templates (
    key         text        NOT NULL
                CONSTRAINT role_templates_key_check CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    name        text        NOT NULL,
    description text,
    CONSTRAINT role_templates_pkey PRIMARY KEY (key)
);
CREATE TABLE @extschema@.role_template_permissions (
    template_key text NOT NULL REFERENCES @extschema@.role_templates (key) ON DELETE CASCADE ON UPDATE CASCADE,
    permission   text NOT NULL REFERENCES @extschema@.permissions (key) ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT role_template_permissions_pkey PRIMARY KEY (template_key, permission)
);
COMMENT ON TABLE @extschema@.role_templates IS 'system roles copied into each new organization';

CREATE TABLE @extschema@.roles (
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    key             text        NOT NULL
                    CONSTRAINT roles_key_check CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    name            text        NOT NULL CONSTRAINT roles_name_check CHECK (pg_catalog.btrim(name) <> ''),
    description     text,
    is_system       boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT roles_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT roles_key_key UNIQUE (organization_id, key)
);
COMMENT ON TABLE @extschema@.roles IS 'roles of an organization: copies of the system templates and its own roles';

CREATE TABLE @extschema@.role_permissions (
    organization_id uuid NOT NULL,
    role_id         uuid NOT NULL,
    permission      text NOT NULL REFERENCES @extschema@.permissions (key) ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT role_permissions_pkey PRIMARY KEY (organization_id, role_id, permission),
    CONSTRAINT role_permissions_role_fkey FOREIGN KEY (organization_id, role_id)
        REFERENCES @extschema@.roles (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX role_permissions_permission_idx ON @extschema@.role_permissions (organization_id, permission);

CREATE TABLE @extschema@.organization_members (
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL REFERENCES @extschema@.users (id) ON DELETE CASCADE,
    role            text        NOT NULL DEFAULT 'member'
                    CONSTRAINT organization_members_role_check CHECK (role IN ('owner', 'admin', 'manager', 'member')),
    status          text        NOT NULL DEFAULT 'active'
                    CONSTRAINT organization_members_status_check CHECK (status IN ('invited', 'active', 'suspended')),
    invited_by      uuid        REFERENCES @extschema@.users (id) ON DELETE SET NULL,
    joined_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deleted_at      timestamptz,
    CONSTRAINT organization_members_pkey PRIMARY KEY (organization_id, user_id),
    -- the organization role is one of the organization's (system) roles
    CONSTRAINT organization_members_role_fkey FOREIGN KEY (organization_id, role)
        REFERENCES @extschema@.roles (organization_id, key) ON UPDATE CASCADE,
    CONSTRAINT organization_members_joined_check CHECK (status = 'invited' OR joined_at IS NOT NULL)
);
CREATE INDEX organization_members_user_idx ON @extschema@.organization_members (user_id);
CREATE INDEX organization_members_org_user_idx ON @extschema@.organization_members (organization_id, user_id)
    WHERE deleted_at IS NULL;
CREATE INDEX organization_members_org_role_idx ON @extschema@.organization_members (organization_id, role)
    WHERE deleted_at IS NULL;
COMMENT ON TABLE @extschema@.organization_members IS 'membership of a person in an organization, with the organization role';

CREATE TABLE @extschema@.user_roles (
    organization_id uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    role_id         uuid        NOT NULL,
    granted_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by      uuid        REFERENCES @extschema@.users (id) ON DELETE SET NULL,
    CONSTRAINT user_roles_pkey PRIMARY KEY (organization_id, user_id, role_id),
    CONSTRAINT user_roles_member_fkey FOREIGN KEY (organization_id, user_id)
        REFERENCES @extschema@.organization_members (organization_id, user_id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (organization_id, role_id)
        REFERENCES @extschema@.roles (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX user_roles_role_idx ON @extschema@.user_roles (organization_id, role_id);
COMMENT ON TABLE @extschema@.user_roles IS 'roles granted to a member in addition to the organization role';

CREATE TABLE @extschema@.teams (
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    name            text        NOT NULL CONSTRAINT teams_name_check CHECK (pg_catalog.btrim(name) <> ''),
    description     text,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deleted_at      timestamptz,
    CONSTRAINT teams_pkey PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX teams_name_key ON @extschema@.teams (organization_id, name) WHERE deleted_at IS NULL;

CREATE TABLE @extschema@.team_members (
    organization_id uuid        NOT NULL,
    team_id         uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    joined_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deleted_at      timestamptz,
    CONSTRAINT team_members_pkey PRIMARY KEY (organization_id, team_id, user_id),
    CONSTRAINT team_members_team_fkey FOREIGN KEY (organization_id, team_id)
        REFERENCES @extschema@.teams (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT team_members_member_fkey FOREIGN KEY (organization_id, user_id)
        REFERENCES @extschema@.organization_members (organization_id, user_id) ON DELETE CASCADE
);
CREATE INDEX team_members_user_idx ON @extschema@.team_members (organization_id, user_id) WHERE deleted_at IS NULL;

-- Sessions: a refresh token logs a member into one organization.  Only the
-- SHA-256 of the token's secret is stored.  ended_at is when the session
-- stopped being usable (expired or revoked, whichever came first): one
-- retention policy on it covers both.
CREATE TABLE @extschema@.sessions (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL,
    token_hash      bytea       NOT NULL CONSTRAINT sessions_token_hash_check CHECK (pg_catalog.length(token_hash) = 32),
    user_agent      text,
    ip_address      inet,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_used_at    timestamptz,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    ended_at        timestamptz GENERATED ALWAYS AS (LEAST(expires_at, revoked_at)) STORED,
    CONSTRAINT sessions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT sessions_member_fkey FOREIGN KEY (organization_id, user_id)
        REFERENCES @extschema@.organization_members (organization_id, user_id) ON DELETE CASCADE,
    CONSTRAINT sessions_expiry_check CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user_idx ON @extschema@.sessions (organization_id, user_id);
CREATE INDEX sessions_active_idx ON @extschema@.sessions (organization_id, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX sessions_ended_at_idx ON @extschema@.sessions (ended_at);
COMMENT ON TABLE @extschema@.sessions IS 'refresh-token sessions (only a hash of the token is stored)';

CREATE TABLE @extschema@.api_keys (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL,
    name            text        NOT NULL CONSTRAINT api_keys_name_check CHECK (pg_catalog.btrim(name) <> ''),
    key_hash        bytea       NOT NULL CONSTRAINT api_keys_key_hash_check CHECK (pg_catalog.length(key_hash) = 32),
    scopes          text[]      NOT NULL DEFAULT '{}'
                    CONSTRAINT api_keys_scopes_check
                    CHECK (pg_catalog.array_position(scopes, NULL) IS NULL
                           AND pg_catalog.array_to_string(scopes, ' ') ~ '^([a-z][a-z0-9_]*(\.[a-z*][a-z0-9_]*)*( |$))*$'),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_used_at    timestamptz,
    expires_at      timestamptz,
    revoked_at      timestamptz,
    ended_at        timestamptz GENERATED ALWAYS AS (LEAST(expires_at, revoked_at)) STORED,
    CONSTRAINT api_keys_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT api_keys_member_fkey FOREIGN KEY (organization_id, user_id)
        REFERENCES @extschema@.organization_members (organization_id, user_id) ON DELETE CASCADE,
    CONSTRAINT api_keys_expiry_check CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_keys_user_idx ON @extschema@.api_keys (organization_id, user_id);
CREATE INDEX api_keys_scopes_idx ON @extschema@.api_keys USING gin (scopes);
CREATE INDEX api_keys_ended_at_idx ON @extschema@.api_keys (ended_at);
COMMENT ON TABLE @extschema@.api_keys IS 'API keys (only a hash of the key is stored), with scopes';

CREATE TABLE @extschema@.subscriptions (
    organization_id        uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    id                     uuid        NOT NULL DEFAULT gen_random_uuid(),
    plan                   text        NOT NULL DEFAULT 'trial'
                           CONSTRAINT subscriptions_plan_check
                           CHECK (plan IN ('trial', 'starter', 'professional', 'enterprise')),
    status                 text        NOT NULL DEFAULT 'trialing'
                           CONSTRAINT subscriptions_status_check
                           CHECK (status IN ('trialing', 'active', 'past_due', 'unpaid', 'canceled', 'incomplete', 'incomplete_expired')),
    seats                  integer     NOT NULL DEFAULT 1 CONSTRAINT subscriptions_seats_check CHECK (seats > 0),
    stripe_subscription_id text,
    stripe_price_id        text,
    current_period_start   timestamptz,
    current_period_end     timestamptz,
    trial_ends_at          timestamptz,
    cancel_at              timestamptz,
    canceled_at            timestamptz,
    metadata               jsonb       NOT NULL DEFAULT '{}'
                           CONSTRAINT subscriptions_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    created_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT subscriptions_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT subscriptions_stripe_key UNIQUE (organization_id, stripe_subscription_id),
    CONSTRAINT subscriptions_period_check CHECK (current_period_end IS NULL OR current_period_start IS NULL
                                                 OR current_period_end > current_period_start)
);
-- one live subscription per organization (seed 000: Organization has one Subscription)
CREATE UNIQUE INDEX subscriptions_live_key ON @extschema@.subscriptions (organization_id)
    WHERE status NOT IN ('canceled', 'incomplete_expired');

-- Settings of the organization (user_id NULL) or of one member in it.
CREATE TABLE @extschema@.settings (
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid,
    key             text        NOT NULL CONSTRAINT settings_key_check CHECK (key ~ '^[A-Za-z0-9_.:-]{1,200}$'),
    value           jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT settings_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT settings_key_key UNIQUE (organization_id, user_id, key),
    CONSTRAINT settings_member_fkey FOREIGN KEY (organization_id, user_id)
        REFERENCES @extschema@.organization_members (organization_id, user_id) ON DELETE CASCADE
);
-- one organization-wide value per key (a unique constraint treats NULLs as distinct)
CREATE UNIQUE INDEX settings_org_key_key ON @extschema@.settings (organization_id, key) WHERE user_id IS NULL;

CREATE TABLE @extschema@.notifications (
    organization_id uuid        NOT NULL,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid        NOT NULL,
    kind            text        NOT NULL CONSTRAINT notifications_kind_check CHECK (pg_catalog.btrim(kind) <> ''),
    channel         text        NOT NULL DEFAULT 'in_app'
                    CONSTRAINT notifications_channel_check CHECK (channel IN ('in_app', 'email', 'sms', 'push')),
    title           text        NOT NULL,
    body            text,
    data            jsonb       NOT NULL DEFAULT '{}'
                    CONSTRAINT notifications_data_check CHECK (pg_catalog.jsonb_typeof(data) = 'object'),
    read_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT notifications_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT notifications_member_fkey FOREIGN KEY (organization_id, user_id)
        REFERENCES @extschema@.organization_members (organization_id, user_id) ON DELETE CASCADE
);
CREATE INDEX notifications_unread_idx ON @extschema@.notifications (organization_id, user_id, created_at DESC)
    WHERE read_at IS NULL;

-- Consents a person gave (or withdrew) to an organization.  Kept, without the
-- person, after an erasure: the proof of what was consented stays.
CREATE TABLE @extschema@.consents (
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid        REFERENCES @extschema@.users (id) ON DELETE SET NULL,
    purpose         text        NOT NULL CONSTRAINT consents_purpose_check CHECK (pg_catalog.btrim(purpose) <> ''),
    granted         boolean     NOT NULL,
    policy_version  text,
    ip_address      inet,
    user_agent      text,
    granted_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    withdrawn_at    timestamptz,
    CONSTRAINT consents_pkey PRIMARY KEY (organization_id, id),
    CONSTRAINT consents_withdrawn_check CHECK (withdrawn_at IS NULL OR withdrawn_at >= granted_at)
);
CREATE INDEX consents_user_idx ON @extschema@.consents (organization_id, user_id, purpose);

CREATE TABLE @extschema@.access_logs (
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid        REFERENCES @extschema@.users (id) ON DELETE SET NULL,
    method          text        NOT NULL
                    CONSTRAINT access_logs_method_check
                    CHECK (method IN ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')),
    endpoint        text        NOT NULL,
    status_code     integer     NOT NULL CONSTRAINT access_logs_status_code_check CHECK (status_code BETWEEN 100 AND 599),
    latency_ms      integer     CONSTRAINT access_logs_latency_check CHECK (latency_ms >= 0),
    ip_address      inet,
    user_agent      text,
    occurred_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT access_logs_pkey PRIMARY KEY (organization_id, id)
);
CREATE INDEX access_logs_occurred_idx ON @extschema@.access_logs (organization_id, occurred_at);
CREATE INDEX access_logs_user_idx ON @extschema@.access_logs (organization_id, user_id, occurred_at);

CREATE TABLE @extschema@.error_logs (
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid        REFERENCES @extschema@.users (id) ON DELETE SET NULL,
    service         text        NOT NULL,
    level           text        NOT NULL
                    CONSTRAINT error_logs_level_check CHECK (level IN ('debug', 'info', 'warn', 'error', 'fatal')),
    message         text        NOT NULL,
    stack           text,
    context         jsonb       NOT NULL DEFAULT '{}'
                    CONSTRAINT error_logs_context_check CHECK (pg_catalog.jsonb_typeof(context) = 'object'),
    occurred_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT error_logs_pkey PRIMARY KEY (organization_id, id)
);
CREATE INDEX error_logs_occurred_idx ON @extschema@.error_logs (organization_id, occurred_at);
CREATE INDEX error_logs_level_idx ON @extschema@.error_logs (organization_id, level, occurred_at);

-- The catalogue and the system roles.
INSERT INTO @extschema@.permissions (key, description) VALUES
    ('organization.read',   'read the organization'),
    ('organization.manage', 'change the organization''s name, slug and settings'),
    ('members.read',        'list members'),
    ('members.manage',      'invite, add and remove members, change their organization role'),
    ('teams.read',          'list teams and their members'),
    ('teams.manage',        'create, change and delete teams and their members'),
    ('roles.manage',        'create roles, grant and revoke roles'),
    ('billing.manage',      'change the subscription'),
    ('settings.manage',     'change organization settings'),
    ('api_keys.manage',     'create and revoke API keys of the organization'),
    ('audit.read',          'read the audit and access logs');
INSERT INTO @extschema@.role_templates (key, name, description) VALUES
    ('owner',   'Owner',   'everything, including billing'),
    ('admin',   'Admin',   'everything but billing'),
    ('manager', 'Manager', 'manage teams, read members'),
    ('member',  'Member',  'read the organization, its members and teams');
INSERT INTO @extschema@.role_template_permissions (template_key, permission)
SELECT 'owner', key FROM @extschema@.permissions
UNION ALL SELECT 'admin', key FROM @extschema@.permissions WHERE key <> 'billing.manage'
UNION ALL SELECT 'manager', unnest('{organization.read,members.read,teams.read,teams.manage}'::text[])
UNION ALL SELECT 'member', unnest('{organization.read,members.read,teams.read}'::text[]);
-- rows the DBA adds to the catalogue are dumped, the built-in ones are not
ALTER TABLE @extschema@.permissions ADD COLUMN builtin boolean NOT NULL DEFAULT false;
ALTER TABLE @extschema@.role_templates ADD COLUMN builtin boolean NOT NULL DEFAULT false;
ALTER TABLE @extschema@.role_template_permissions ADD COLUMN builtin boolean NOT NULL DEFAULT false;
UPDATE @extschema@.permissions SET builtin = true;
UPDATE @extschema@.role_templates SET builtin = true;
UPDATE @extschema@.role_template_permissions SET builtin = true;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.permissions', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.role_templates', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.role_template_permissions', 'WHERE NOT builtin');

-- _restoring is true while pg_dump/pg_restore output is loaded (both run
-- with row_security off, which an application role never can): triggers that
-- derive rows (roles of a new organization, audit entries) stay quiet then,
-- because the dump holds those rows already.
CREATE FUNCTION @extschema@._restoring() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.current_setting('row_security') = 'off';

-- _organization_created copies the system role templates into a new
-- organization.
CREATE FUNCTION @extschema@._organization_created() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO @extschema@.roles (organization_id, key, name, description, is_system)
    SELECT NEW.id, t.key, t.name, t.description, true FROM @extschema@.role_templates t;
    INSERT INTO @extschema@.role_permissions (organization_id, role_id, permission)
    SELECT NEW.id, r.id, tp.permission
      FROM @extschema@.roles r JOIN @extschema@.role_template_permissions tp ON tp.template_key = r.key
     WHERE r.organization_id = NEW.id AND r.is_system;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@._organization_created() FROM PUBLIC;
CREATE TRIGGER tenantcore_organization_roles AFTER INSERT ON @extschema@.organizations
    FOR EACH ROW WHEN (NOT @extschema@._restoring())
    EXECUTE FUNCTION @extschema@._organization_created();

-- _core_table puts one core table under the extension's own installers:
-- isolation (tenant tables), audit (with redacted columns), updated_at, and
-- dumped rows.  Registry rows are builtin.  Dropped at the end of this part.
CREATE FUNCTION @extschema@._core_table(rel regclass, tenant_column name, audited boolean, redact text[] DEFAULT '{}',
                                        exclude text[] DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trg record;
BEGIN
    IF tenant_column IS NOT NULL THEN
        INSERT INTO @extschema@.isolated_tables (rel, tenant_column, source, builtin)
        VALUES (rel, tenant_column, 'isolate', true);
        PERFORM @extschema@._apply_policy(rel, tenant_column);
    END IF;
    IF audited THEN
        INSERT INTO @extschema@.audited_tables (rel, exclude_columns, redact_columns, tenant_column, builtin)
        VALUES (rel, exclude, redact, CASE WHEN tenant_column = 'organization_id' THEN tenant_column END, true);
        PERFORM @extschema@._audit_install(rel);
        -- a restore loads the audit log with the rows: no second entry
        FOR trg IN SELECT t.oid, t.tgname, pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
                    WHERE t.tgrelid = rel AND t.tgname LIKE 'tenantcore\_audit%' AND NOT t.tgisinternal
                      AND (t.tgtype & 32) = 0 LOOP   -- not the TRUNCATE trigger
            EXECUTE format('DROP TRIGGER %I ON %s', trg.tgname, rel);
            EXECUTE regexp_replace(trg.def, ' EXECUTE FUNCTION ',
                                   ' WHEN (NOT @extschema@._restoring()) EXECUTE FUNCTION ');
        END LOOP;
    END IF;
    IF EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = 'updated_at' AND NOT a.attisdropped) THEN
        PERFORM @extschema@.track_updated_at(rel);
    END IF;
    PERFORM pg_catalog.pg_extension_config_dump(rel, '');
END
$$;

-- organizations: the tenant is the row itself
SELECT @extschema@._core_table('@extschema@.organizations', 'id', true);
ALTER TABLE @extschema@.organizations ALTER COLUMN id SET DEFAULT gen_random_uuid();
-- bookkeeping columns that change on every login or use are not audited
-- (an UPDATE that changes only them leaves no entry)
SELECT @extschema@._core_table('@extschema@.users', NULL, true, '{password_hash}', '{last_login_at,updated_at}');
SELECT @extschema@._core_table('@extschema@.user_profiles', NULL, true);
SELECT @extschema@._core_table('@extschema@.roles', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.role_permissions', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.organization_members', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.user_roles', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.teams', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.team_members', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.sessions', 'organization_id', true, '{token_hash}', '{last_used_at}');
SELECT @extschema@._core_table('@extschema@.api_keys', 'organization_id', true, '{key_hash}', '{last_used_at}');
SELECT @extschema@._core_table('@extschema@.subscriptions', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.settings', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.notifications', 'organization_id', true);
SELECT @extschema@._core_table('@extschema@.consents', 'organization_id', true);
-- the logs are append-only records themselves: isolated, not audited
SELECT @extschema@._core_table('@extschema@.access_logs', 'organization_id', false);
SELECT @extschema@._core_table('@extschema@.error_logs', 'organization_id', false);
DROP FUNCTION @extschema@._core_table(regclass, name, boolean, text[], text[]);

-- The global identity tables: a role sees itself and the members of the
-- current tenant, and changes only itself.  New people come through
-- create_user() / invite_member().
ALTER TABLE @extschema@.users ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.user_profiles ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY visible ON @extschema@.users FOR SELECT TO PUBLIC
    USING (id = @extschema@.current_actor()
           OR EXISTS (SELECT FROM @extschema@.organization_members m
                       WHERE m.organization_id = @extschema@.current_tenant() AND m.user_id = users.id));
CREATE POLICY self_update ON @extschema@.users FOR UPDATE TO PUBLIC
    USING (id = @extschema@.current_actor()) WITH CHECK (id = @extschema@.current_actor());
CREATE POLICY visible ON @extschema@.user_profiles FOR SELECT TO PUBLIC
    USING (user_id = @extschema@.current_actor()
           OR EXISTS (SELECT FROM @extschema@.organization_members m
                       WHERE m.organization_id = @extschema@.current_tenant() AND m.user_id = user_profiles.user_id));
CREATE POLICY self_write ON @extschema@.user_profiles FOR ALL TO PUBLIC
    USING (user_id = @extschema@.current_actor()) WITH CHECK (user_id = @extschema@.current_actor());

-- GDPR: the core tables that hold a person's data (builtin registrations).
INSERT INTO @extschema@.subject_tables (rel, subject_column, on_erase, anonymize, tenant_column, builtin) VALUES
    ('@extschema@.users', 'id', 'anonymize',
     '{"email": null, "password_hash": null, "first_name": null, "last_name": null, "status": "deleted"}', NULL, true),
    ('@extschema@.user_profiles', 'user_id', 'delete', NULL, NULL, true),
    ('@extschema@.organization_members', 'user_id', 'delete', NULL, 'organization_id', true),
    ('@extschema@.organization_members', 'invited_by', 'anonymize', '{"invited_by": null}', 'organization_id', true),
    ('@extschema@.user_roles', 'user_id', 'delete', NULL, 'organization_id', true),
    ('@extschema@.user_roles', 'granted_by', 'anonymize', '{"granted_by": null}', 'organization_id', true),
    ('@extschema@.team_members', 'user_id', 'delete', NULL, 'organization_id', true),
    ('@extschema@.sessions', 'user_id', 'delete', NULL, 'organization_id', true),
    ('@extschema@.api_keys', 'user_id', 'delete', NULL, 'organization_id', true),
    ('@extschema@.settings', 'user_id', 'delete', NULL, 'organization_id', true),
    ('@extschema@.notifications', 'user_id', 'delete', NULL, 'organization_id', true),
    ('@extschema@.consents', 'user_id', 'anonymize', '{"user_id": null, "ip_address": null, "user_agent": null}', 'organization_id', true),
    ('@extschema@.access_logs', 'user_id', 'anonymize', '{"user_id": null, "ip_address": null, "user_agent": null}', 'organization_id', true),
    ('@extschema@.error_logs', 'user_id', 'anonymize', '{"user_id": null}', 'organization_id', true);

-- ---------------------------------------------------------------------------
-- Functions for application code.  The tenant and the actor come from the
-- context (set_tenant, set_actor); tokens are "tcs_..." (sessions) and
-- "tck_..." (API keys): prefix, organization id, row id and a 256-bit secret
-- in hex.  Only SHA-256(secret) is stored; comparisons are constant-time (C).
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._token_secret() RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_token_secret' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@._token_hash(secret bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'tenantcore_token_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@._token_matches(secret bytea, stored bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_token_matches' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE EXECUTE ON FUNCTION @extschema@._token_secret(), @extschema@._token_hash(bytea),
    @extschema@._token_matches(bytea, bytea) FROM PUBLIC;

-- the planner support function estimates that has_permission() keeps every
-- row (its answer is the same for all rows of a query)
CREATE FUNCTION @extschema@._has_permission_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'tenantcore_has_permission_support' LANGUAGE C STRICT;
CREATE FUNCTION @extschema@.has_permission(permission text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tenantcore_has_permission' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
    SUPPORT @extschema@._has_permission_support;
COMMENT ON FUNCTION @extschema@.has_permission(text) IS
    'whether the current actor holds a permission in the current tenant (organization role or granted roles)';

-- _context returns the current tenant and actor, or raises the error that
-- says which is missing.
CREATE FUNCTION @extschema@._context(func text, need_actor boolean, OUT tenant uuid, OUT actor uuid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    tenant := @extschema@.current_tenant();
    actor := @extschema@.current_actor();
    IF tenant IS NULL THEN
        RAISE EXCEPTION '%: no tenant is set', func
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call tenantcore.set_tenant() first.';
    END IF;
    IF need_actor AND actor IS NULL THEN
        RAISE EXCEPTION '%: no actor is set', func
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call tenantcore.set_actor() first.';
    END IF;
END
$$;

-- _require_permission raises unless the actor holds the permission.
CREATE FUNCTION @extschema@._require_permission(func text, permission text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT @extschema@.has_permission(permission) THEN
        RAISE EXCEPTION '%: permission "%" required', func, permission
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;

-- _check_grantable raises unless the role exists in the tenant and the actor
-- holds every permission of it (nobody hands out more than they have).
CREATE FUNCTION @extschema@._check_grantable(func text, tenant uuid, role_key text) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid     uuid;
    missing text;
BEGIN
    SELECT r.id INTO rid FROM @extschema@.roles r WHERE r.organization_id = tenant AND r.key = role_key;
    IF rid IS NULL THEN
        RAISE EXCEPTION '%: role "%" does not exist', func, role_key USING ERRCODE = 'undefined_object';
    END IF;
    SELECT min(rp.permission) INTO missing FROM @extschema@.role_permissions rp
     WHERE rp.organization_id = tenant AND rp.role_id = rid AND NOT @extschema@._actor_has(rp.permission);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION '%: cannot hand out role "%"', func, role_key
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('The role has permission "%s", which you do not hold.', missing);
    END IF;
    RETURN rid;
END
$$;

-- _actor_has is has_permission() for a permission that varies per row (the
-- cache of has_permission holds one answer per call site).
CREATE FUNCTION @extschema@._actor_has(permission text) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN @extschema@.has_permission(permission);

CREATE FUNCTION @extschema@.create_user(email text, password_hash text DEFAULT NULL,
                                        first_name text DEFAULT NULL, last_name text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    uid uuid;
BEGIN
    IF email IS NULL THEN
        RAISE EXCEPTION 'create_user: email must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.users u WHERE lower(u.email) = lower(create_user.email)) THEN
        RAISE EXCEPTION 'create_user: a user with this e-mail address exists' USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO @extschema@.users (email, password_hash, first_name, last_name)
    VALUES (email, password_hash, first_name, last_name)
    RETURNING id INTO uid;
    RETURN uid;
END
$$;
COMMENT ON FUNCTION @extschema@.create_user(text, text, text, text) IS 'create a person (global identity); returns the id';

CREATE FUNCTION @extschema@.create_organization(name text, slug text, owner uuid DEFAULT @extschema@.current_actor(),
                                                subscription_tier text DEFAULT 'trial')
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    oid_ uuid := gen_random_uuid();
BEGIN
    IF name IS NULL OR slug IS NULL OR subscription_tier IS NULL THEN
        RAISE EXCEPTION 'create_organization: name, slug and subscription tier must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF owner IS NULL THEN
        RAISE EXCEPTION 'create_organization: owner must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the owner, or call tenantcore.set_actor() first.';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.users u WHERE u.id = owner AND u.status IN ('active', 'invited')) THEN
        RAISE EXCEPTION 'create_organization: user % does not exist or is not active', owner
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.organizations o WHERE o.slug = create_organization.slug) THEN
        RAISE EXCEPTION 'create_organization: slug "%" is taken', slug USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO @extschema@.organizations (id, name, slug, subscription_tier, owner_id)
    VALUES (oid_, name, slug, subscription_tier, owner);
    INSERT INTO @extschema@.organization_members (organization_id, user_id, role, status, joined_at)
    VALUES (oid_, owner, 'owner', 'active', now());
    RETURN oid_;
END
$$;
COMMENT ON FUNCTION @extschema@.create_organization(text, text, uuid, text) IS
    'create an organization (with its system roles) and its owner''s membership; returns the id';

CREATE FUNCTION @extschema@.my_organizations()
RETURNS TABLE (organization_id uuid, name text, slug text, role text, status text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT o.id, o.name, o.slug, m.role, m.status
      FROM @extschema@.organization_members m JOIN @extschema@.organizations o ON o.id = m.organization_id
     WHERE m.user_id = @extschema@.current_actor() AND m.deleted_at IS NULL AND o.deleted_at IS NULL
     ORDER BY o.name, o.id;
END;
COMMENT ON FUNCTION @extschema@.my_organizations() IS 'the organizations the current actor is a member of';

CREATE FUNCTION @extschema@.add_member("user" uuid, role text DEFAULT 'member') RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('add_member', true);
BEGIN
    IF "user" IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'add_member: user and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('add_member', 'members.manage');
    PERFORM @extschema@._check_grantable('add_member', ctx.tenant, role);
    IF NOT EXISTS (SELECT FROM @extschema@.users u WHERE u.id = "user" AND u.status IN ('active', 'invited')) THEN
        RAISE EXCEPTION 'add_member: user % does not exist or is not active', "user" USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user") THEN
        RAISE EXCEPTION 'add_member: user % is a member already', "user" USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO @extschema@.organization_members (organization_id, user_id, role, status, invited_by, joined_at)
    VALUES (ctx.tenant, "user", role, 'active', ctx.actor, now());
END
$$;
COMMENT ON FUNCTION @extschema@.add_member(uuid, text) IS 'add a person to the current tenant with an organization role';

CREATE FUNCTION @extschema@.invite_member(email text, role text DEFAULT 'member') RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('invite_member', true);
    uid uuid;
BEGIN
    IF email IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'invite_member: email and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('invite_member', 'members.manage');
    PERFORM @extschema@._check_grantable('invite_member', ctx.tenant, role);
    SELECT u.id INTO uid FROM @extschema@.users u WHERE lower(u.email) = lower(invite_member.email);
    IF uid IS NULL THEN
        INSERT INTO @extschema@.users (email, status) VALUES (email, 'invited') RETURNING id INTO uid;
    ELSIF EXISTS (SELECT FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = uid) THEN
        RAISE EXCEPTION 'invite_member: user % is a member already', uid USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO @extschema@.organization_members (organization_id, user_id, role, status, invited_by)
    VALUES (ctx.tenant, uid, role, 'invited', ctx.actor);
    RETURN uid;
END
$$;
COMMENT ON FUNCTION @extschema@.invite_member(text, text) IS
    'invite a person by e-mail into the current tenant (creates the user if needed); returns the user id';

CREATE FUNCTION @extschema@.accept_invitation() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('accept_invitation', true);
BEGIN
    UPDATE @extschema@.organization_members m SET status = 'active', joined_at = now()
     WHERE m.organization_id = ctx.tenant AND m.user_id = ctx.actor AND m.status = 'invited';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'accept_invitation: no open invitation for user % in this organization', ctx.actor
            USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE @extschema@.users u SET status = 'active' WHERE u.id = ctx.actor AND u.status = 'invited';
END
$$;
COMMENT ON FUNCTION @extschema@.accept_invitation() IS 'the current actor accepts its invitation into the current tenant';

-- _check_owners raises when a change would leave the tenant without an owner.
CREATE FUNCTION @extschema@._check_owners(func text, tenant uuid, "user" uuid) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM @extschema@.organization_members m
                WHERE m.organization_id = tenant AND m.user_id = "user" AND m.role = 'owner')
       AND NOT EXISTS (SELECT FROM @extschema@.organization_members m
                        WHERE m.organization_id = tenant AND m.user_id <> "user" AND m.role = 'owner'
                          AND m.status = 'active' AND m.deleted_at IS NULL) THEN
        RAISE EXCEPTION '%: user % is the last owner of the organization', func, "user"
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Make another member owner first.';
    END IF;
END
$$;

CREATE FUNCTION @extschema@.remove_member("user" uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('remove_member', true);
    r   text;
BEGIN
    IF "user" IS NULL THEN
        RAISE EXCEPTION 'remove_member: user must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF "user" <> ctx.actor THEN   -- anybody may leave
        PERFORM @extschema@._require_permission('remove_member', 'members.manage');
    END IF;
    SELECT m.role INTO r FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user";
    IF NOT FOUND THEN
        RAISE EXCEPTION 'remove_member: user % is not a member of the organization', "user" USING ERRCODE = 'undefined_object';
    END IF;
    IF "user" <> ctx.actor THEN
        PERFORM @extschema@._check_grantable('remove_member', ctx.tenant, r);
    END IF;
    PERFORM @extschema@._check_owners('remove_member', ctx.tenant, "user");
    -- team memberships, roles, sessions, API keys, settings, notifications go with it
    DELETE FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user";
END
$$;
COMMENT ON FUNCTION @extschema@.remove_member(uuid) IS
    'remove a person from the current tenant, with their roles, team memberships, sessions and API keys';

CREATE FUNCTION @extschema@.set_member_role("user" uuid, role text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('set_member_role', true);
    old text;
BEGIN
    IF "user" IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'set_member_role: user and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('set_member_role', 'members.manage');
    SELECT m.role INTO old FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user";
    IF NOT FOUND THEN
        RAISE EXCEPTION 'set_member_role: user % is not a member of the organization', "user" USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM @extschema@._check_grantable('set_member_role', ctx.tenant, role);
    PERFORM @extschema@._check_grantable('set_member_role', ctx.tenant, old);
    IF role <> 'owner' THEN
        PERFORM @extschema@._check_owners('set_member_role', ctx.tenant, "user");
    END IF;
    UPDATE @extschema@.organization_members m SET role = set_member_role.role
     WHERE m.organization_id = ctx.tenant AND m.user_id = "user";
END
$$;
COMMENT ON FUNCTION @extschema@.set_member_role(uuid, text) IS 'change the organization role of a member of the current tenant';

CREATE FUNCTION @extschema@.grant_role("user" uuid, role text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('grant_role', true);
    rid uuid;
BEGIN
    IF "user" IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'grant_role: user and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('grant_role', 'roles.manage');
    rid := @extschema@._check_grantable('grant_role', ctx.tenant, role);
    IF NOT EXISTS (SELECT FROM @extschema@.organization_members m WHERE m.organization_id = ctx.tenant AND m.user_id = "user") THEN
        RAISE EXCEPTION 'grant_role: user % is not a member of the organization', "user" USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO @extschema@.user_roles (organization_id, user_id, role_id, granted_by)
    VALUES (ctx.tenant, "user", rid, ctx.actor)
    ON CONFLICT ON CONSTRAINT user_roles_pkey DO NOTHING;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_role(uuid, text) IS
    'grant a role of the current tenant to a member; false when it was granted already';

CREATE FUNCTION @extschema@.revoke_role("user" uuid, role text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('revoke_role', true);
    rid uuid;
BEGIN
    IF "user" IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'revoke_role: user and role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('revoke_role', 'roles.manage');
    rid := @extschema@._check_grantable('revoke_role', ctx.tenant, role);
    DELETE FROM @extschema@.user_roles ur WHERE ur.organization_id = ctx.tenant AND ur.user_id = "user" AND ur.role_id = rid;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_role(uuid, text) IS
    'revoke a granted role from a member of the current tenant; false when it was not granted';

CREATE FUNCTION @extschema@.create_role(key text, name text, permissions text[] DEFAULT '{}', description text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('create_role', true);
    rid uuid;
    p   text;
BEGIN
    IF key IS NULL OR name IS NULL OR permissions IS NULL OR array_position(permissions, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'create_role: key, name and permissions must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('create_role', 'roles.manage');
    IF EXISTS (SELECT FROM @extschema@.roles r WHERE r.organization_id = ctx.tenant AND r.key = create_role.key) THEN
        RAISE EXCEPTION 'create_role: role "%" exists', key USING ERRCODE = 'duplicate_object';
    END IF;
    FOREACH p IN ARRAY permissions LOOP
        IF NOT EXISTS (SELECT FROM @extschema@.permissions x WHERE x.key = p) THEN
            RAISE EXCEPTION 'create_role: permission "%" does not exist', p USING ERRCODE = 'undefined_object';
        END IF;
        IF NOT @extschema@._actor_has(p) THEN
            RAISE EXCEPTION 'create_role: cannot hand out permission "%"', p
                USING ERRCODE = 'insufficient_privilege', DETAIL = 'You do not hold it.';
        END IF;
    END LOOP;
    INSERT INTO @extschema@.roles (organization_id, key, name, description) VALUES (ctx.tenant, key, name, description)
    RETURNING id INTO rid;
    INSERT INTO @extschema@.role_permissions (organization_id, role_id, permission)
    SELECT DISTINCT ctx.tenant, rid, x FROM unnest(permissions) x;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION @extschema@.create_role(text, text, text[], text) IS
    'create a role of the current tenant with permissions the actor holds; returns its id';

CREATE FUNCTION @extschema@.delete_role(key text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('delete_role', true);
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'delete_role: key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('delete_role', 'roles.manage');
    PERFORM @extschema@._check_grantable('delete_role', ctx.tenant, key);
    IF (SELECT r.is_system FROM @extschema@.roles r WHERE r.organization_id = ctx.tenant AND r.key = delete_role.key) THEN
        RAISE EXCEPTION 'delete_role: role "%" is a system role', key USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- the grants of the role go with it
    DELETE FROM @extschema@.roles r WHERE r.organization_id = ctx.tenant AND r.key = delete_role.key;
END
$$;
COMMENT ON FUNCTION @extschema@.delete_role(text) IS 'delete a role of the current tenant (not a system role) and its grants';

-- _active_member: the person is active, a member with status active, of an
-- organization that is not soft-deleted.
CREATE FUNCTION @extschema@._active_member(tenant uuid, "user" uuid) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT FROM @extschema@.organization_members m
                 JOIN @extschema@.users u ON u.id = m.user_id
                 JOIN @extschema@.organizations o ON o.id = m.organization_id
                WHERE m.organization_id = tenant AND m.user_id = "user" AND m.status = 'active' AND m.deleted_at IS NULL
                  AND u.status = 'active' AND u.deleted_at IS NULL AND o.deleted_at IS NULL);

-- _parse_token splits a token into organization id, row id and secret, or
-- raises 22023 without echoing the token.
CREATE FUNCTION @extschema@._parse_token(token text, prefix text, what text,
                                         OUT organization_id uuid, OUT id uuid, OUT secret bytea)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF length(token) <> 4 + 32 + 1 + 32 + 1 + 64
       OR token !~ ('^' || prefix || '_[0-9a-f]{32}_[0-9a-f]{32}_[0-9a-f]{64}$') THEN
        RAISE EXCEPTION 'malformed %', what
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Expected "%s_" followed by three groups of lower-case hex digits.', prefix);
    END IF;
    organization_id := substr(token, 5, 32)::uuid;
    id := substr(token, 38, 32)::uuid;
    secret := decode(substr(token, 71, 64), 'hex');
END
$$;

-- _make_token builds a token from its parts.
CREATE FUNCTION @extschema@._make_token(prefix text, organization_id uuid, id uuid, secret bytea) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN prefix || '_' || replace(organization_id::text, '-', '') || '_' || replace(id::text, '-', '')
       || '_' || encode(secret, 'hex');

CREATE FUNCTION @extschema@.create_session("user" uuid DEFAULT @extschema@.current_actor(), ttl interval DEFAULT '30 days',
                                           user_agent text DEFAULT NULL, ip_address inet DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx    record := @extschema@._context('create_session', false);
    secret bytea := @extschema@._token_secret();
    sid    uuid := gen_random_uuid();
BEGIN
    IF "user" IS NULL OR ttl IS NULL THEN
        RAISE EXCEPTION 'create_session: user and ttl must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF ttl <= interval '0' THEN
        RAISE EXCEPTION 'create_session: ttl must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT @extschema@._active_member(ctx.tenant, "user") THEN
        RAISE EXCEPTION 'create_session: user % is not an active member of the organization', "user"
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO @extschema@.sessions (organization_id, id, user_id, token_hash, user_agent, ip_address, expires_at)
    VALUES (ctx.tenant, sid, "user", @extschema@._token_hash(secret), user_agent, ip_address, now() + ttl);
    UPDATE @extschema@.users u SET last_login_at = now() WHERE u.id = "user";
    RETURN @extschema@._make_token('tcs', ctx.tenant, sid, secret);
END
$$;
COMMENT ON FUNCTION @extschema@.create_session(uuid, interval, text, inet) IS
    'start a session of a member in the current tenant; returns the refresh token (shown once, only its hash is stored)';

-- _session_row finds the session of a token and checks its secret, expiry
-- and revocation.
CREATE FUNCTION @extschema@._session_row(token text, func text, check_state boolean) RETURNS @extschema@.sessions
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := @extschema@._parse_token(token, 'tcs', 'session token');
    s @extschema@.sessions;
BEGIN
    SELECT * INTO s FROM @extschema@.sessions x WHERE x.organization_id = t.organization_id AND x.id = t.id FOR UPDATE;
    -- an unknown id costs a hash like a wrong secret does
    IF NOT @extschema@._token_matches(t.secret, coalesce(s.token_hash, '\x00'::bytea)) THEN
        RAISE EXCEPTION '%: invalid session token', func USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF check_state AND s.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION '%: session token revoked', func USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF check_state AND s.expires_at <= now() THEN
        RAISE EXCEPTION '%: session token expired', func USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    RETURN s;
END
$$;

CREATE FUNCTION @extschema@.validate_session(token text)
RETURNS TABLE (session_id uuid, organization_id uuid, user_id uuid, expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s @extschema@.sessions := @extschema@._session_row(token, 'validate_session', true);
BEGIN
    IF NOT @extschema@._active_member(s.organization_id, s.user_id) THEN
        RAISE EXCEPTION 'validate_session: the member or the organization of the session is not active'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    UPDATE @extschema@.sessions x SET last_used_at = now() WHERE x.organization_id = s.organization_id AND x.id = s.id;
    RETURN QUERY SELECT s.id, s.organization_id, s.user_id, s.expires_at;
END
$$;
COMMENT ON FUNCTION @extschema@.validate_session(text) IS
    'check a session token (secret, expiry, revocation, active member); returns its session, tenant and user';

CREATE FUNCTION @extschema@.revoke_session(token text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s @extschema@.sessions := @extschema@._session_row(token, 'revoke_session', false);
BEGIN
    UPDATE @extschema@.sessions x SET revoked_at = now()
     WHERE x.organization_id = s.organization_id AND x.id = s.id AND x.revoked_at IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_session(text) IS
    'revoke the session of a token (log out); false when it was revoked already';

CREATE FUNCTION @extschema@.revoke_user_sessions("user" uuid DEFAULT @extschema@.current_actor()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx record := @extschema@._context('revoke_user_sessions', true);
    n   integer;
BEGIN
    IF "user" IS NULL THEN
        RAISE EXCEPTION 'revoke_user_sessions: user must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF "user" <> ctx.actor THEN
        PERFORM @extschema@._require_permission('revoke_user_sessions', 'members.manage');
    END IF;
    UPDATE @extschema@.sessions x SET revoked_at = now()
     WHERE x.organization_id = ctx.tenant AND x.user_id = "user" AND x.revoked_at IS NULL AND x.expires_at > now();
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_user_sessions(uuid) IS
    'revoke every open session of a member in the current tenant (log out everywhere); returns how many';

CREATE FUNCTION @extschema@.create_api_key(name text, scopes text[] DEFAULT '{}', expires_at timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx    record := @extschema@._context('create_api_key', true);
    secret bytea := @extschema@._token_secret();
    kid    uuid := gen_random_uuid();
BEGIN
    IF name IS NULL OR scopes IS NULL THEN
        RAISE EXCEPTION 'create_api_key: name and scopes must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM @extschema@._require_permission('create_api_key', 'api_keys.manage');
    IF expires_at IS NOT NULL AND expires_at <= now() THEN
        RAISE EXCEPTION 'create_api_key: expires_at must be in the future' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.api_keys (organization_id, id, user_id, name, key_hash, scopes, expires_at)
    VALUES (ctx.tenant, kid, ctx.actor, name, @extschema@._token_hash(secret),
            (SELECT coalesce(array_agg(DISTINCT s ORDER BY s), '{}') FROM unnest(scopes) s), expires_at);
    RETURN @extschema@._make_token('tck', ctx.tenant, kid, secret);
END
$$;
COMMENT ON FUNCTION @extschema@.create_api_key(text, text[], timestamptz) IS
    'create an API key of the current actor in the current tenant; returns the key (shown once, only its hash is stored)';

CREATE FUNCTION @extschema@.validate_api_key(token text, scope text DEFAULT NULL)
RETURNS TABLE (api_key_id uuid, organization_id uuid, user_id uuid, scopes text[])
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := @extschema@._parse_token(token, 'tck', 'API key');
    k @extschema@.api_keys;
BEGIN
    SELECT * INTO k FROM @extschema@.api_keys x WHERE x.organization_id = t.organization_id AND x.id = t.id FOR UPDATE;
    IF NOT @extschema@._token_matches(t.secret, coalesce(k.key_hash, '\x00'::bytea)) THEN
        RAISE EXCEPTION 'validate_api_key: invalid API key' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF k.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'validate_api_key: API key revoked' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF k.expires_at <= now() THEN
        RAISE EXCEPTION 'validate_api_key: API key expired' USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF NOT @extschema@._active_member(k.organization_id, k.user_id) THEN
        RAISE EXCEPTION 'validate_api_key: the member or the organization of the API key is not active'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    -- "clients.*" covers "clients.read"
    IF scope IS NOT NULL AND NOT (scope = ANY (k.scopes)
                                  OR EXISTS (SELECT FROM unnest(k.scopes) s
                                              WHERE s LIKE '%.*' AND starts_with(scope, left(s, -1)))) THEN
        RAISE EXCEPTION 'validate_api_key: API key lacks scope "%"', scope USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE @extschema@.api_keys x SET last_used_at = now() WHERE x.organization_id = k.organization_id AND x.id = k.id;
    RETURN QUERY SELECT k.id, k.organization_id, k.user_id, k.scopes;
END
$$;
COMMENT ON FUNCTION @extschema@.validate_api_key(text, text) IS
    'check an API key (secret, expiry, revocation, active member, optional scope); returns its key id, tenant, user and scopes';

CREATE FUNCTION @extschema@.revoke_api_key(api_key_id uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ctx   record := @extschema@._context('revoke_api_key', true);
    owner uuid;
BEGIN
    IF api_key_id IS NULL THEN
        RAISE EXCEPTION 'revoke_api_key: API key id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT k.user_id INTO owner FROM @extschema@.api_keys k WHERE k.organization_id = ctx.tenant AND k.id = api_key_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'revoke_api_key: API key % does not exist', api_key_id USING ERRCODE = 'undefined_object';
    END IF;
    IF owner <> ctx.actor THEN
        PERFORM @extschema@._require_permission('revoke_api_key', 'api_keys.manage');
    END IF;
    UPDATE @extschema@.api_keys k SET revoked_at = now()
     WHERE k.organization_id = ctx.tenant AND k.id = api_key_id AND k.revoked_at IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_api_key(uuid) IS 'revoke an API key of the current tenant; false when it was revoked already';

REVOKE EXECUTE ON FUNCTION @extschema@._context(text, boolean), @extschema@._require_permission(text, text),
    @extschema@._check_grantable(text, uuid, text), @extschema@._actor_has(text), @extschema@._check_owners(text, uuid, uuid),
    @extschema@._parse_token(text, text, text), @extschema@._make_token(text, uuid, uuid, bytea),
    @extschema@._session_row(text, text, boolean), @extschema@._active_member(uuid, uuid)
  FROM PUBLIC;

-- Privileges.  The core tables and the functions above are granted to
-- PUBLIC, like the registry tables: a role reaches them only with USAGE on
-- the schema tenantcore (which grant_app_role() gives), and row level
-- security decides which rows it sees.  Password and token hashes are left
-- out of the column grants: no role but the extension's own functions reads
-- them.
GRANT SELECT (id, email, first_name, last_name, status, is_verified, last_login_at, created_at, updated_at, deleted_at),
      UPDATE (email, password_hash, first_name, last_name)
   ON @extschema@.users TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.user_profiles TO PUBLIC;
GRANT SELECT ON @extschema@.permissions, @extschema@.role_templates, @extschema@.role_template_permissions TO PUBLIC;
-- the tier, the Stripe customer, the owner and deletion are the DBA's (or a billing service's)
GRANT SELECT, UPDATE (name, slug, settings) ON @extschema@.organizations TO PUBLIC;
-- memberships and roles change only through the functions, which check the
-- actor's permissions (nobody hands out more than they hold)
GRANT SELECT ON @extschema@.organization_members, @extschema@.roles, @extschema@.role_permissions,
      @extschema@.user_roles TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE
   ON @extschema@.teams, @extschema@.team_members, @extschema@.subscriptions, @extschema@.settings,
      @extschema@.notifications, @extschema@.consents
   TO PUBLIC;
GRANT SELECT (organization_id, id, user_id, user_agent, ip_address, created_at, last_used_at, expires_at, revoked_at, ended_at)
   ON @extschema@.sessions TO PUBLIC;
GRANT SELECT (organization_id, id, user_id, name, scopes, created_at, last_used_at, expires_at, revoked_at, ended_at)
   ON @extschema@.api_keys TO PUBLIC;
GRANT SELECT, INSERT ON @extschema@.access_logs, @extschema@.error_logs TO PUBLIC;

-- ===========================================================================
-- Part 3: blueprints
--
-- Domain schemas from the seeds, installed on request into a schema the DBA
-- names: tenantcore.install_blueprint('cpa', 'practice').  Every table is
-- keyed (organization_id, id), every unique key and every foreign key between
-- tenant tables includes organization_id (so a row cannot reference another
-- tenant's row, and the schema is distributable by Citus on organization_id),
-- and every table is set up only through the public installers: isolate(),
-- audit(), protect(), retain(), track_updated_at().  doc/blueprints.md has the
-- ER diagrams and the seed-to-table map.
-- ===========================================================================

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
REVOKE ALL ON @extschema@.installed_blueprints FROM PUBLIC;
GRANT SELECT ON @extschema@.installed_blueprints TO PUBLIC;

-- blueprints() lists the blueprints install_blueprint() knows
CREATE FUNCTION @extschema@.blueprints()
RETURNS TABLE (name text, description text, seeds text, tables name[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES
    ('cpa', 'CPA practice: clients, documents with versions and collaboration, notes, engagements, '
            'tasks, invoices, reports and templates, workflows, QuickBooks integration',
     '000, 003',
     ARRAY['clients', 'documents', 'document_annotations', 'document_comments', 'document_shares',
           'notes', 'engagements', 'tasks', 'invoices', 'report_templates', 'reports',
           'workflow_templates', 'workflow_executions', 'task_executions',
           'quickbooks_tokens', 'quickbooks_syncs']::name[]),
    ('projects', 'project management: projects, tasks, files and messages', '002',
     ARRAY['projects', 'tasks', 'files', 'messages']::name[]),
    ('home_services', 'home services: customers and work orders', '004',
     ARRAY['customers', 'work_orders']::name[]),
    ('restaurant', 'restaurant: customers and orders', '004',
     ARRAY['customers', 'orders']::name[]),
    ('automotive', 'automotive: customers, vehicles and repair orders', '004',
     ARRAY['customers', 'vehicles', 'repair_orders']::name[]),
    ('retail', 'retail: customers, products, sales and sale items', '004',
     ARRAY['customers', 'products', 'sales', 'sale_items']::name[])
$$;
COMMENT ON FUNCTION @extschema@.blueprints() IS
    'the domain schemas tenantcore.install_blueprint() can install';

-- _blueprint_protect(schema, table, column, searchable) protects a column of
-- a new blueprint table (a thin wrapper so the blueprint bodies read well)
CREATE FUNCTION @extschema@._blueprint_protect(s name, tbl name, col name, searchable boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.protect(format('%I.%I', s, tbl)::regclass, col, searchable);
END
$$;

-- GDPR for blueprints.  A blueprint's references to people (uuid columns with
-- a foreign key to users: uploaded_by, assigned_to, ...) are registered as
-- subject columns with on_erase 'keep': export_subject exports the rows,
-- erase_subject leaves them and their reference alone (the person's identity
-- row in users is what erasure anonymizes; a task stays assigned to "a deleted
-- user").  'keep' is a third on_erase action of register_subject_table.
ALTER TABLE @extschema@.subject_tables DROP CONSTRAINT subject_tables_on_erase_check,
    ADD CONSTRAINT subject_tables_on_erase_check CHECK (on_erase IN ('anonymize', 'delete', 'keep'));

-- register_subject_table declares that subject_column of rel references a
-- person: erase_subject() deletes that person's rows, overwrites the columns
-- named in anonymize with literal values, or (keep) only exports them.
-- Re-registering the same column reconfigures it.
CREATE OR REPLACE FUNCTION @extschema@.register_subject_table(rel regclass, subject_column name,
                                                   on_erase text DEFAULT 'anonymize', anonymize jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c    pg_class;
    typ  regtype;
    tcol name;
BEGIN
    IF rel IS NULL OR subject_column IS NULL OR on_erase IS NULL THEN
        RAISE EXCEPTION 'register_subject_table: table, subject column and on_erase must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO c FROM pg_class WHERE oid = rel;
    IF c.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', rel USING ERRCODE = 'wrong_object_type';
    END IF;
    IF c.relispartition THEN
        RAISE EXCEPTION '"%" is a partition', rel USING ERRCODE = 'wrong_object_type',
            HINT = 'Register the partitioned table; its partitions are covered.';
    END IF;
    IF c.relpersistence = 't' THEN
        RAISE EXCEPTION 'cannot register temporary table "%" as a subject table', rel USING ERRCODE = 'feature_not_supported';
    END IF;
    SELECT a.atttypid INTO typ FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = subject_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', subject_column, rel USING ERRCODE = 'undefined_column';
    END IF;
    IF typ <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'column "%" of relation "%" is of type %, not uuid', subject_column, rel, typ
            USING ERRCODE = 'datatype_mismatch', HINT = 'The subject column holds the id of a person (a uuid).';
    END IF;
    IF on_erase NOT IN ('anonymize', 'delete', 'keep') THEN
        RAISE EXCEPTION 'invalid on_erase action "%"', on_erase
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use anonymize, delete or keep.';
    END IF;
    IF (on_erase = 'anonymize') <> (anonymize IS NOT NULL) THEN
        RAISE EXCEPTION 'anonymize must be given for on_erase anonymize and only for it'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass anonymize => ''{"email": "deleted@example.invalid", "name": "Deleted User"}''.';
    END IF;
    PERFORM @extschema@._check_anonymize(rel, anonymize);
    IF anonymize ? subject_column AND jsonb_typeof(anonymize -> subject_column) <> 'null' THEN
        RAISE EXCEPTION 'the subject column "%" can only be anonymized to null', subject_column
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Another value would attribute the rows to another person.';
    END IF;

    tcol := @extschema@._tenant_column_of(rel);

    INSERT INTO @extschema@.subject_tables AS s (rel, subject_column, on_erase, anonymize, tenant_column)
    VALUES (rel, subject_column, on_erase, anonymize, tcol)
    ON CONFLICT ON CONSTRAINT subject_tables_pkey DO UPDATE
       SET on_erase = EXCLUDED.on_erase, anonymize = EXCLUDED.anonymize, tenant_column = EXCLUDED.tenant_column;
END
$$;
COMMENT ON FUNCTION @extschema@.register_subject_table(regclass, name, text, jsonb) IS
    'declare a column that references a person: export_subject exports its rows, erase_subject deletes, anonymizes or keeps them';

-- erase_subject deletes or anonymizes a person's rows in every registered
-- table of every tenant (and leaves the rows of 'keep' registrations alone) and detaches the person from audit entries as actor,
-- in one transaction; refused as a whole when a legal hold covers any row it
-- would change.  Idempotent.
CREATE OR REPLACE FUNCTION @extschema@.erase_subject(subject uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET tenantcore.tenant_id = ''
AS $$
DECLARE
    s       @extschema@.subject_tables;
    sql     record;
    cond    text;
    held    uuid[];
    found_h uuid[];
    blocked text[] := '{}';
    n       bigint;
    summary jsonb := '{}';
    audit_n bigint;
    req     bigint;
BEGIN
    IF subject IS NULL THEN
        RAISE EXCEPTION 'erase_subject: subject must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- legal holds first: nothing changes when one blocks
    FOR s IN SELECT * FROM @extschema@.subject_tables st
              WHERE st.tenant_column IS NOT NULL AND st.on_erase <> 'keep' ORDER BY st.rel::text, st.subject_column LOOP
        held := @extschema@._retention_held_tenants(s.rel);
        CONTINUE WHEN cardinality(held) = 0;
        cond := format('%I = $1', s.subject_column);
        IF s.on_erase = 'anonymize' THEN
            cond := cond || format(' AND NOT (%s)', (@extschema@._retention_anonymize_sql(s.rel, s.anonymize)).done);
        END IF;
        EXECUTE format('SELECT array_agg(DISTINCT %I ORDER BY %I) FROM %s WHERE %s AND %I = ANY ($2)',
                       s.tenant_column, s.tenant_column, s.rel, cond, s.tenant_column)
           INTO found_h USING subject, held;
        IF found_h IS NOT NULL THEN
            blocked := blocked || format('%s (tenant %s)', s.rel, array_to_string(found_h, ', '));
        END IF;
    END LOOP;
    IF to_regclass('@extschema@.audit_log') IS NOT NULL THEN
        held := @extschema@._retention_held_tenants('@extschema@.audit_log');
        IF cardinality(held) > 0 THEN
            EXECUTE 'SELECT array_agg(DISTINCT a.organization_id ORDER BY a.organization_id) FROM @extschema@.audit_log a
                      WHERE a.actor_id = $1 AND a.organization_id = ANY ($2)'
               INTO found_h USING subject, held;
            IF found_h IS NOT NULL THEN
                blocked := blocked || format('@extschema@.audit_log (tenant %s)', array_to_string(found_h, ', '));
            END IF;
        END IF;
    END IF;
    IF cardinality(blocked) > 0 THEN
        RAISE EXCEPTION 'erasure of subject % is blocked by a legal hold', subject
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Rows under a legal hold: ' || array_to_string(blocked, '; ') || '.',
                  HINT = 'Nothing was changed. Release the hold with tenantcore.release_hold() when it ends, then erase again.';
    END IF;

    -- deletes first (dependent rows such as sessions), then anonymizations
    FOR s IN SELECT * FROM @extschema@.subject_tables st
              ORDER BY st.on_erase = 'anonymize', st.registered_at, st.rel::text, st.subject_column LOOP
        IF s.on_erase = 'keep' THEN
            -- nothing changes; the summary says how many rows stay linked
            EXECUTE format('SELECT count(*) FROM %s WHERE %I = $1', s.rel, s.subject_column) INTO n USING subject;
            summary := summary || jsonb_build_object(format('%s.%s', s.rel, quote_ident(s.subject_column)),
                                                     jsonb_build_object('action', 'keep', 'rows', 0, 'kept', n));
            CONTINUE;
        ELSIF s.on_erase = 'delete' THEN
            EXECUTE format('DELETE FROM %s WHERE %I = $1', s.rel, s.subject_column) USING subject;
        ELSE
            sql := @extschema@._retention_anonymize_sql(s.rel, s.anonymize);
            EXECUTE format('UPDATE %s SET %s WHERE %I = $1 AND NOT (%s)', s.rel, sql.set_list, s.subject_column, sql.done)
              USING subject;
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        summary := summary || jsonb_build_object(format('%s.%s', s.rel, quote_ident(s.subject_column)),
                                                 jsonb_build_object('action', s.on_erase, 'rows', n));
    END LOOP;

    -- detach the person from audit entries as actor (the entries stay)
    audit_n := NULL;
    IF to_regclass('@extschema@.audit_log') IS NOT NULL THEN
        -- the log is append-only; tenantcore.audit_internal lets the extension's own code through
        PERFORM set_config('tenantcore.audit_internal', 'on', true);
        EXECUTE 'UPDATE @extschema@.audit_log SET actor_id = NULL WHERE actor_id = $1' USING subject;
        GET DIAGNOSTICS audit_n = ROW_COUNT;
        PERFORM set_config('tenantcore.audit_internal', 'off', true);
    END IF;

    INSERT INTO @extschema@.gdpr_requests (subject, kind, completed_at, detail)
    VALUES (subject, 'erasure', clock_timestamp(),
            jsonb_build_object('tables', summary, 'audit_entries_detached', audit_n))
    RETURNING id INTO req;
    RETURN jsonb_build_object('subject', subject, 'request_id', req, 'tables', summary,
                              'audit_entries_detached', audit_n);
END
$$;
COMMENT ON FUNCTION @extschema@.erase_subject(uuid) IS
    'delete or anonymize a person''s rows in every registered table of every tenant (keep: leave them), detach them from audit entries; one transaction, idempotent';

-- _blueprint_finish(schema, blueprint, redact, anonymize) puts the tables of
-- a freshly created blueprint (and no other table of the schema) under the
-- installers: isolation, audit (ciphertext, blind indexes
-- and token hashes redacted), updated_at tracking, and the retention of
-- soft-deleted rows (30 days after deleted_at); every column that references
-- a person (a foreign key to users) is a GDPR subject column kept on erasure
CREATE FUNCTION @extschema@._blueprint_finish(s name, bp text, redact jsonb, anonymize jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t       record;
    secrets text[];
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS rel, c.relname
          FROM pg_class c
         WHERE c.relnamespace = s::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND c.relname = ANY ((SELECT b.tables FROM @extschema@.blueprints() b WHERE b.name = bp)::name[])
         ORDER BY c.oid
    LOOP
        PERFORM @extschema@.isolate(t.rel);
        -- references to people: exported by export_subject, kept by
        -- erase_subject (it anonymizes the users row they point at)
        PERFORM @extschema@.register_subject_table(t.rel, a.attname, 'keep')
           FROM pg_constraint con
           JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
          WHERE con.conrelid = t.rel AND con.contype = 'f' AND con.confrelid = '@extschema@.users'::regclass
            AND cardinality(con.conkey) = 1 AND a.atttypid = 'uuid'::regtype
          ORDER BY a.attnum;
        -- ciphertext and blind index columns of protected columns, and the
        -- secrets the blueprint names, are redacted in the audit trail
        SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
          INTO secrets
          FROM pg_attribute a
         WHERE a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped
           AND (EXISTS (SELECT FROM @extschema@.protected_columns p
                         WHERE p.rel = t.rel
                           AND a.attname IN (p.encrypted_column, p.blind_index_column))
                OR a.attname::text IN (SELECT jsonb_array_elements_text(coalesce(redact -> t.relname::text, '[]'))));
        IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = t.rel AND attname = 'updated_at' AND NOT attisdropped) THEN
            PERFORM @extschema@.audit(t.rel, exclude => '{updated_at}', redact => secrets);
            PERFORM @extschema@.track_updated_at(t.rel);
        ELSE
            PERFORM @extschema@.audit(t.rel, redact => secrets);
        END IF;
        IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = t.rel AND attname = 'deleted_at' AND NOT attisdropped) THEN
            IF anonymize ? t.relname::text THEN
                PERFORM @extschema@.retain(t.rel, 'deleted_at', '30 days', 'anonymize', anonymize -> t.relname::text);
            ELSE
                PERFORM @extschema@.retain(t.rel, 'deleted_at', '30 days');
            END IF;
        END IF;
    END LOOP;
END
$$;

-- _blueprint_cpa(schema) creates the CPA practice tables of seeds 000 and 003
CREATE FUNCTION @extschema@._blueprint_cpa(s name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format($ddl$
    CREATE TABLE %1$I.clients (
        organization_id       uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                    uuid NOT NULL DEFAULT gen_random_uuid(),
        business_name         text NOT NULL CHECK (btrim(business_name) <> ''),
        legal_name            text,
        tax_id                text,
        quickbooks_id         text,
        primary_contact_email text NOT NULL,
        primary_contact_name  text NOT NULL,
        primary_contact_phone text,
        business_address      text,
        mailing_address       text,
        business_type         text CHECK (business_type IN ('LLC', 'Corporation', 'Partnership', 'Sole Proprietorship')),
        industry              text,
        website               text,
        status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'prospect')),
        risk_level            text NOT NULL DEFAULT 'medium' CHECK (risk_level IN ('low', 'medium', 'high')),
        annual_revenue        numeric(15,2) CONSTRAINT valid_annual_revenue CHECK (annual_revenue >= 0),
        financial_data        jsonb CONSTRAINT valid_financial_data CHECK (jsonb_typeof(financial_data) = 'object'),
        custom_fields         jsonb CHECK (jsonb_typeof(custom_fields) = 'object'),
        deleted_at            timestamptz,
        created_at            timestamptz NOT NULL DEFAULT now(),
        updated_at            timestamptz NOT NULL DEFAULT now(),
        created_by            uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        updated_by            uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        PRIMARY KEY (organization_id, id)
    );
    CREATE UNIQUE INDEX clients_quickbooks_id_key ON %1$I.clients (organization_id, quickbooks_id)
        WHERE quickbooks_id IS NOT NULL;
    CREATE INDEX clients_org_status_idx ON %1$I.clients (organization_id, status);
    CREATE INDEX clients_business_name_idx ON %1$I.clients (organization_id, business_name);
    CREATE INDEX clients_primary_contact_email_idx ON %1$I.clients (organization_id, primary_contact_email);
    CREATE INDEX clients_business_name_gin ON %1$I.clients USING gin (to_tsvector('english', business_name));
    CREATE INDEX clients_active_idx ON %1$I.clients (organization_id) WHERE deleted_at IS NULL;

    CREATE TABLE %1$I.documents (
        organization_id    uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                 uuid NOT NULL DEFAULT gen_random_uuid(),
        client_id          uuid NOT NULL,
        file_name          text NOT NULL,
        file_url           text NOT NULL,
        thumbnail_url      text,
        file_type          text NOT NULL,
        mime_type          text,
        file_size          bigint CHECK (file_size >= 0),
        category           text NOT NULL CHECK (category IN ('tax_return', 'financial_statement', 'receipt', 'invoice', 'other')),
        subcategory        text,
        year               integer CHECK (year BETWEEN 1900 AND 2999),
        quarter            integer CHECK (quarter BETWEEN 1 AND 4),
        tags               text[] NOT NULL DEFAULT '{}',
        description        text,
        version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        is_latest_version  boolean NOT NULL DEFAULT true,
        parent_document_id uuid CHECK (parent_document_id <> id),
        ocr_status         text NOT NULL DEFAULT 'pending'
                           CHECK (ocr_status IN ('pending', 'processing', 'completed', 'failed', 'manual_review')),
        ocr_confidence     double precision CONSTRAINT valid_ocr_confidence CHECK (ocr_confidence >= 0 AND ocr_confidence <= 1),
        ocr_processed_at   timestamptz,
        extracted_data     jsonb CONSTRAINT valid_extracted_data CHECK (jsonb_typeof(extracted_data) = 'object'),
        raw_ocr_data       jsonb CHECK (jsonb_typeof(raw_ocr_data) = 'object'),
        ocr_model          text,
        needs_review       boolean NOT NULL DEFAULT false,
        reviewed_at        timestamptz,
        reviewed_by        uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        metadata           jsonb CHECK (jsonb_typeof(metadata) = 'object'),
        checksum           text,
        is_confidential    boolean NOT NULL DEFAULT false,
        access_level       text NOT NULL DEFAULT 'organization'
                           CHECK (access_level IN ('public', 'organization', 'client', 'restricted')),
        encryption_key     text,
        virus_scanned      boolean NOT NULL DEFAULT false,
        virus_scan_date    timestamptz,
        virus_scan_result  text CHECK (virus_scan_result IN ('clean', 'infected', 'quarantined')),
        retention_date     timestamptz,
        archive_date       timestamptz,
        is_archived        boolean NOT NULL DEFAULT false,
        uploaded_by        uuid NOT NULL REFERENCES @extschema@.users (id),
        deleted_at         timestamptz,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, client_id) REFERENCES %1$I.clients ON DELETE CASCADE,
        FOREIGN KEY (organization_id, parent_document_id) REFERENCES %1$I.documents
            ON DELETE SET NULL (parent_document_id)
    );
    CREATE UNIQUE INDEX documents_version_key ON %1$I.documents (organization_id, parent_document_id, version)
        WHERE parent_document_id IS NOT NULL;
    CREATE INDEX documents_org_client_idx ON %1$I.documents (organization_id, client_id);
    CREATE INDEX documents_parent_idx ON %1$I.documents (organization_id, parent_document_id)
        WHERE parent_document_id IS NOT NULL;
    CREATE INDEX documents_category_idx ON %1$I.documents (organization_id, category);
    CREATE INDEX documents_year_idx ON %1$I.documents (organization_id, year);
    CREATE INDEX documents_ocr_status_idx ON %1$I.documents (organization_id, ocr_status);
    CREATE INDEX documents_tags_gin ON %1$I.documents USING gin (tags);
    CREATE INDEX documents_latest_idx ON %1$I.documents (organization_id, client_id)
        WHERE is_latest_version AND deleted_at IS NULL;
    CREATE INDEX documents_created_at_idx ON %1$I.documents (organization_id, created_at DESC);
    CREATE INDEX documents_ocr_pending_idx ON %1$I.documents (created_at)
        WHERE ocr_status IN ('pending', 'processing');
    CREATE INDEX documents_retention_date_idx ON %1$I.documents (retention_date) WHERE retention_date IS NOT NULL;

    CREATE TABLE %1$I.document_annotations (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        document_id     uuid NOT NULL,
        author_id       uuid NOT NULL REFERENCES @extschema@.users (id),
        annotation_type text NOT NULL DEFAULT 'highlight'
                        CHECK (annotation_type IN ('highlight', 'note', 'drawing', 'redaction', 'stamp')),
        page            integer CHECK (page >= 1),
        position        jsonb CHECK (jsonb_typeof(position) = 'object'),
        content         text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, document_id) REFERENCES %1$I.documents ON DELETE CASCADE
    );
    CREATE INDEX document_annotations_document_idx ON %1$I.document_annotations (organization_id, document_id);

    CREATE TABLE %1$I.document_comments (
        organization_id   uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                uuid NOT NULL DEFAULT gen_random_uuid(),
        document_id       uuid NOT NULL,
        parent_comment_id uuid CHECK (parent_comment_id <> id),
        author_id         uuid NOT NULL REFERENCES @extschema@.users (id),
        content           text NOT NULL CHECK (btrim(content) <> ''),
        is_resolved       boolean NOT NULL DEFAULT false,
        resolved_at       timestamptz,
        deleted_at        timestamptz,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, document_id) REFERENCES %1$I.documents ON DELETE CASCADE,
        FOREIGN KEY (organization_id, parent_comment_id) REFERENCES %1$I.document_comments ON DELETE CASCADE
    );
    CREATE INDEX document_comments_document_idx ON %1$I.document_comments (organization_id, document_id)
        WHERE deleted_at IS NULL;

    CREATE TABLE %1$I.document_shares (
        organization_id  uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id               uuid NOT NULL DEFAULT gen_random_uuid(),
        document_id      uuid NOT NULL,
        shared_by        uuid NOT NULL REFERENCES @extschema@.users (id),
        shared_with_email text,
        token_hash       bytea NOT NULL CHECK (length(token_hash) >= 32),
        permission       text NOT NULL DEFAULT 'view' CHECK (permission IN ('view', 'comment', 'download', 'edit')),
        expires_at       timestamptz,
        revoked_at       timestamptz,
        access_count     integer NOT NULL DEFAULT 0 CHECK (access_count >= 0),
        last_accessed_at timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, token_hash),
        FOREIGN KEY (organization_id, document_id) REFERENCES %1$I.documents ON DELETE CASCADE
    );
    CREATE INDEX document_shares_document_idx ON %1$I.document_shares (organization_id, document_id);

    CREATE TABLE %1$I.notes (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        client_id       uuid NOT NULL,
        author_id       uuid NOT NULL REFERENCES @extschema@.users (id),
        title           text,
        content         text NOT NULL,
        note_type       text NOT NULL DEFAULT 'general'
                        CHECK (note_type IN ('general', 'meeting', 'call', 'email', 'task')),
        is_private      boolean NOT NULL DEFAULT false,
        tags            text[] NOT NULL DEFAULT '{}',
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, client_id) REFERENCES %1$I.clients ON DELETE CASCADE
    );
    CREATE INDEX notes_client_idx ON %1$I.notes (organization_id, client_id, created_at DESC)
        WHERE deleted_at IS NULL;

    CREATE TABLE %1$I.engagements (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        client_id       uuid NOT NULL,
        name            text NOT NULL,
        engagement_type text NOT NULL CHECK (engagement_type IN ('tax_preparation', 'audit', 'review',
                        'compilation', 'bookkeeping', 'advisory', 'payroll')),
        status          text NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'proposed', 'active', 'on_hold', 'completed', 'cancelled')),
        description     text,
        start_date      date,
        end_date        date,
        fee_type        text CHECK (fee_type IN ('fixed', 'hourly', 'retainer')),
        fee_amount      numeric(12,2) CHECK (fee_amount >= 0),
        estimated_hours numeric(8,2) CHECK (estimated_hours >= 0),
        assigned_to     uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        metadata        jsonb CHECK (jsonb_typeof(metadata) = 'object'),
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, client_id, id),
        CHECK (end_date >= start_date),
        FOREIGN KEY (organization_id, client_id) REFERENCES %1$I.clients ON DELETE CASCADE
    );
    CREATE INDEX engagements_org_status_idx ON %1$I.engagements (organization_id, status) WHERE deleted_at IS NULL;

    CREATE TABLE %1$I.tasks (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        engagement_id   uuid NOT NULL,
        assigned_to     uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        title           text NOT NULL,
        description     text,
        status          text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_progress', 'review', 'completed', 'cancelled')),
        priority        text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
        due_date        timestamptz,
        completed_at    timestamptz,
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, engagement_id) REFERENCES %1$I.engagements ON DELETE CASCADE
    );
    CREATE INDEX tasks_engagement_idx ON %1$I.tasks (organization_id, engagement_id) WHERE deleted_at IS NULL;
    CREATE INDEX tasks_assigned_idx ON %1$I.tasks (assigned_to) WHERE deleted_at IS NULL;
    CREATE INDEX tasks_due_date_idx ON %1$I.tasks (organization_id, due_date) WHERE status <> 'completed';

    CREATE TABLE %1$I.invoices (
        organization_id   uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                uuid NOT NULL DEFAULT gen_random_uuid(),
        client_id         uuid NOT NULL,
        engagement_id     uuid,
        invoice_number    text NOT NULL CHECK (btrim(invoice_number) <> ''),
        status            text NOT NULL DEFAULT 'draft'
                          CHECK (status IN ('draft', 'sent', 'viewed', 'partial', 'paid', 'overdue', 'void')),
        issue_date        date NOT NULL DEFAULT current_date,
        due_date          date,
        currency          text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
        line_items        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(line_items) = 'array'),
        subtotal          numeric(12,2) NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
        tax_amount        numeric(12,2) NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
        discount_amount   numeric(12,2) NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
        total_amount      numeric(12,2) NOT NULL DEFAULT 0 CHECK (total_amount >= 0),
        amount_paid       numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
        paid_at           timestamptz,
        stripe_invoice_id text,
        quickbooks_id     text,
        notes             text,
        created_by        uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, invoice_number),
        CHECK (due_date >= issue_date),
        FOREIGN KEY (organization_id, client_id) REFERENCES %1$I.clients ON DELETE RESTRICT,
        -- an invoice of an engagement is for the engagement's client
        FOREIGN KEY (organization_id, client_id, engagement_id)
            REFERENCES %1$I.engagements (organization_id, client_id, id) ON DELETE SET NULL (engagement_id)
    );
    CREATE INDEX invoices_client_idx ON %1$I.invoices (organization_id, client_id);
    CREATE INDEX invoices_org_status_idx ON %1$I.invoices (organization_id, status, due_date);

    CREATE TABLE %1$I.report_templates (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        name            text NOT NULL,
        description     text,
        report_type     text NOT NULL CHECK (report_type IN ('balance_sheet', 'profit_loss', 'cash_flow',
                        'tax_summary', 'financial_statement', 'custom')),
        template_data   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(template_data) = 'object'),
        is_active       boolean NOT NULL DEFAULT true,
        created_by      uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id)
    );
    CREATE UNIQUE INDEX report_templates_name_key ON %1$I.report_templates (organization_id, name)
        WHERE deleted_at IS NULL;

    CREATE TABLE %1$I.reports (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        client_id       uuid NOT NULL,
        engagement_id   uuid,
        template_id     uuid,
        title           text NOT NULL,
        report_type     text NOT NULL CHECK (report_type IN ('balance_sheet', 'profit_loss', 'cash_flow',
                        'tax_summary', 'financial_statement', 'custom')),
        status          text NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'generating', 'ready', 'failed', 'delivered')),
        period_start    date,
        period_end      date,
        data            jsonb CHECK (jsonb_typeof(data) = 'object'),
        file_url        text,
        generated_at    timestamptz,
        generated_by    uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        CHECK (period_end >= period_start),
        FOREIGN KEY (organization_id, client_id) REFERENCES %1$I.clients ON DELETE CASCADE,
        FOREIGN KEY (organization_id, engagement_id) REFERENCES %1$I.engagements
            ON DELETE SET NULL (engagement_id),
        FOREIGN KEY (organization_id, template_id) REFERENCES %1$I.report_templates
            ON DELETE SET NULL (template_id)
    );
    CREATE INDEX reports_client_idx ON %1$I.reports (organization_id, client_id) WHERE deleted_at IS NULL;
    CREATE INDEX reports_engagement_idx ON %1$I.reports (organization_id, engagement_id)
        WHERE engagement_id IS NOT NULL;

    CREATE TABLE %1$I.workflow_templates (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        name            text NOT NULL,
        description     text,
        category        text,
        version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        steps           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(steps) = 'array'),
        is_active       boolean NOT NULL DEFAULT true,
        created_by      uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, name, version)
    );
    CREATE INDEX workflow_templates_active_idx ON %1$I.workflow_templates (organization_id, name)
        WHERE deleted_at IS NULL AND is_active;

    CREATE TABLE %1$I.workflow_executions (
        organization_id    uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                 uuid NOT NULL DEFAULT gen_random_uuid(),
        name               text NOT NULL,
        status             text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
        progress           double precision NOT NULL DEFAULT 0
                           CONSTRAINT valid_progress CHECK (progress >= 0 AND progress <= 100),
        template_id        uuid,
        client_id          uuid,
        scheduled_for      timestamptz,
        started_at         timestamptz,
        completed_at       timestamptz,
        due_date           timestamptz,
        configuration      jsonb CHECK (jsonb_typeof(configuration) = 'object'),
        context            jsonb CHECK (jsonb_typeof(context) = 'object'),
        current_step_index integer NOT NULL DEFAULT 0 CHECK (current_step_index >= 0),
        error_message      text,
        retry_count        integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
        max_retries        integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0),
        is_recurring       boolean NOT NULL DEFAULT false,
        cron_expression    text,
        next_run_at        timestamptz,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        CHECK (NOT is_recurring OR cron_expression IS NOT NULL),
        FOREIGN KEY (organization_id, template_id) REFERENCES %1$I.workflow_templates
            ON DELETE SET NULL (template_id),
        FOREIGN KEY (organization_id, client_id) REFERENCES %1$I.clients ON DELETE CASCADE
    );
    CREATE INDEX workflow_executions_org_status_idx ON %1$I.workflow_executions (organization_id, status);
    CREATE INDEX workflow_executions_scheduled_idx ON %1$I.workflow_executions (status, scheduled_for);
    CREATE INDEX workflow_executions_client_idx ON %1$I.workflow_executions (organization_id, client_id)
        WHERE client_id IS NOT NULL;

    CREATE TABLE %1$I.task_executions (
        organization_id       uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                    uuid NOT NULL DEFAULT gen_random_uuid(),
        workflow_execution_id uuid NOT NULL,
        parent_task_id        uuid CHECK (parent_task_id <> id),
        title                 text NOT NULL,
        description           text,
        status                text NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'ready', 'running', 'completed', 'failed', 'skipped')),
        task_type             text NOT NULL CHECK (task_type IN ('document_review', 'data_entry', 'approval',
                              'client_request', 'notification', 'automated')),
        step_index            integer NOT NULL CHECK (step_index >= 0),
        progress              double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
        estimated_hours       numeric(8,2) CHECK (estimated_hours >= 0),
        actual_hours          numeric(8,2) CHECK (actual_hours >= 0),
        started_at            timestamptz,
        due_date              timestamptz,
        completed_at          timestamptz,
        assigned_to_id        uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        inputs                jsonb CHECK (jsonb_typeof(inputs) = 'object'),
        outputs               jsonb CHECK (jsonb_typeof(outputs) = 'object'),
        configuration         jsonb CHECK (jsonb_typeof(configuration) = 'object'),
        checklist             jsonb CHECK (jsonb_typeof(checklist) IN ('object', 'array')),
        created_at            timestamptz NOT NULL DEFAULT now(),
        updated_at            timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, workflow_execution_id, id),
        FOREIGN KEY (organization_id, workflow_execution_id) REFERENCES %1$I.workflow_executions ON DELETE CASCADE,
        -- a task depends only on a task of the same workflow execution
        FOREIGN KEY (organization_id, workflow_execution_id, parent_task_id)
            REFERENCES %1$I.task_executions (organization_id, workflow_execution_id, id)
            ON DELETE SET NULL (parent_task_id)
    );
    CREATE INDEX task_executions_workflow_idx ON %1$I.task_executions (organization_id, workflow_execution_id, step_index);
    CREATE INDEX task_executions_assigned_idx ON %1$I.task_executions (assigned_to_id);
    CREATE INDEX task_executions_org_status_idx ON %1$I.task_executions (organization_id, status);
    CREATE INDEX task_executions_parent_idx ON %1$I.task_executions (organization_id, parent_task_id)
        WHERE parent_task_id IS NOT NULL;

    CREATE TABLE %1$I.quickbooks_tokens (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        access_token    text,
        refresh_token   text,
        realm_id        text NOT NULL,
        expires_at      timestamptz NOT NULL,
        last_sync_at    timestamptz,
        is_active       boolean NOT NULL DEFAULT true,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id)
    );

    CREATE TABLE %1$I.quickbooks_syncs (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        sync_type       text NOT NULL CHECK (sync_type IN ('full', 'incremental', 'manual')),
        entity_type     text NOT NULL CHECK (entity_type IN ('customers', 'accounts', 'transactions', 'invoices')),
        status          text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
        started_at      timestamptz NOT NULL DEFAULT now(),
        completed_at    timestamptz,
        records_total   integer CHECK (records_total >= 0),
        records_success integer NOT NULL DEFAULT 0 CHECK (records_success >= 0),
        records_failed  integer NOT NULL DEFAULT 0 CHECK (records_failed >= 0),
        error_message   text,
        error_details   jsonb CHECK (jsonb_typeof(error_details) = 'object'),
        PRIMARY KEY (organization_id, id)
    );
    CREATE INDEX quickbooks_syncs_org_status_idx ON %1$I.quickbooks_syncs (organization_id, status, started_at DESC);
    $ddl$, s);

    -- the seeds encrypt tax ids, the storage key of a document and the
    -- QuickBooks tokens; the tokens stay required: their ciphertext is NOT NULL
    PERFORM @extschema@._blueprint_protect(s, 'clients', 'tax_id', true);
    PERFORM @extschema@._blueprint_protect(s, 'documents', 'encryption_key');
    PERFORM @extschema@._blueprint_protect(s, 'quickbooks_tokens', 'access_token');
    PERFORM @extschema@._blueprint_protect(s, 'quickbooks_tokens', 'refresh_token');
    EXECUTE format('ALTER TABLE %1$I.quickbooks_tokens ALTER COLUMN access_token_encrypted SET NOT NULL, '
                   'ALTER COLUMN refresh_token_encrypted SET NOT NULL', s);

    PERFORM @extschema@._blueprint_finish(s, 'cpa',
        redact => '{"document_shares": ["token_hash"]}',
        -- soft-deleted clients are anonymized, not deleted: their invoices
        -- (ON DELETE RESTRICT) are financial records that outlive them
        anonymize => '{"clients": {"business_name": "deleted client", "legal_name": null,
                                   "primary_contact_email": "deleted@example.invalid",
                                   "primary_contact_name": "deleted", "primary_contact_phone": null,
                                   "business_address": null, "mailing_address": null, "website": null,
                                   "tax_id_encrypted": null, "tax_id_bidx": null,
                                   "financial_data": null, "custom_fields": null}}');
    -- documents go when their retention date has passed
    PERFORM @extschema@.retain(format('%I.documents', s)::regclass, 'retention_date', '1 second');
END
$$;

-- _blueprint_projects(schema) creates the project tables of seed 002
CREATE FUNCTION @extschema@._blueprint_projects(s name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format($ddl$
    CREATE TABLE %1$I.projects (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        name            text NOT NULL CHECK (btrim(name) <> ''),
        description     text,
        status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'archived')),
        owner_id        uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        settings        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id)
    );
    CREATE UNIQUE INDEX projects_name_key ON %1$I.projects (organization_id, name) WHERE deleted_at IS NULL;
    CREATE INDEX projects_org_status_idx ON %1$I.projects (organization_id, status) WHERE deleted_at IS NULL;

    CREATE TABLE %1$I.tasks (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        project_id      uuid NOT NULL,
        assignee_id     uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        title           text NOT NULL CHECK (btrim(title) <> ''),
        description     text,
        status          text NOT NULL DEFAULT 'todo'
                        CHECK (status IN ('todo', 'in_progress', 'review', 'done', 'cancelled')),
        priority        text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
        progress        integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
        due_date        timestamptz,
        metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, project_id, id),
        FOREIGN KEY (organization_id, project_id) REFERENCES %1$I.projects ON DELETE CASCADE
    );
    CREATE INDEX tasks_project_idx ON %1$I.tasks (organization_id, project_id) WHERE deleted_at IS NULL;
    CREATE INDEX tasks_assignee_idx ON %1$I.tasks (assignee_id) WHERE deleted_at IS NULL;
    CREATE INDEX tasks_status_idx ON %1$I.tasks (organization_id, status) WHERE deleted_at IS NULL;
    CREATE INDEX tasks_due_date_idx ON %1$I.tasks (organization_id, due_date) WHERE deleted_at IS NULL;
    CREATE INDEX tasks_project_status_idx ON %1$I.tasks (organization_id, project_id, status)
        WHERE deleted_at IS NULL;
    CREATE INDEX tasks_metadata_gin ON %1$I.tasks USING gin (metadata);

    CREATE TABLE %1$I.files (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        project_id      uuid NOT NULL,
        task_id         uuid,
        uploaded_by     uuid NOT NULL REFERENCES @extschema@.users (id),
        file_name       text NOT NULL,
        storage_key     text NOT NULL,
        mime_type       text,
        size_bytes      bigint NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
        checksum        text,
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, storage_key),
        FOREIGN KEY (organization_id, project_id) REFERENCES %1$I.projects ON DELETE CASCADE,
        -- a file of a task belongs to the task's project
        FOREIGN KEY (organization_id, project_id, task_id) REFERENCES %1$I.tasks (organization_id, project_id, id)
            ON DELETE CASCADE
    );
    CREATE INDEX files_project_idx ON %1$I.files (organization_id, project_id) WHERE deleted_at IS NULL;

    CREATE TABLE %1$I.messages (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        project_id      uuid,
        sender_id       uuid NOT NULL REFERENCES @extschema@.users (id),
        receiver_id     uuid REFERENCES @extschema@.users (id),
        body            text NOT NULL CHECK (btrim(body) <> ''),
        read_at         timestamptz,
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        CHECK (project_id IS NOT NULL OR receiver_id IS NOT NULL),
        FOREIGN KEY (organization_id, project_id) REFERENCES %1$I.projects ON DELETE CASCADE
    );
    CREATE INDEX messages_receiver_idx ON %1$I.messages (receiver_id, created_at DESC) WHERE deleted_at IS NULL;
    CREATE INDEX messages_project_idx ON %1$I.messages (organization_id, project_id, created_at DESC)
        WHERE deleted_at IS NULL;
    $ddl$, s);
    PERFORM @extschema@._blueprint_finish(s, 'projects', '{}', '{}');
END
$$;

-- _blueprint_customers(schema) creates the customers table the industry
-- blueprints of seed 004 share (the seed's shared.customers, one per schema);
-- the seed encrypts e-mail and phone
CREATE FUNCTION @extschema@._blueprint_customers(s name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format($ddl$
    CREATE TABLE %1$I.customers (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        email           text,
        first_name      text NOT NULL,
        last_name       text NOT NULL,
        phone           text,
        address         jsonb CHECK (jsonb_typeof(address) = 'object'),
        preferences     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(preferences) = 'object'),
        tags            text[] NOT NULL DEFAULT '{}',
        created_by      uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        updated_by      uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id)
    );
    CREATE INDEX customers_active_idx ON %1$I.customers (organization_id, last_name, first_name)
        WHERE deleted_at IS NULL;
    CREATE INDEX customers_search_idx ON %1$I.customers
        USING gin (to_tsvector('english', first_name || ' ' || last_name));
    $ddl$, s);
    PERFORM @extschema@._blueprint_protect(s, 'customers', 'email', true);
    PERFORM @extschema@._blueprint_protect(s, 'customers', 'phone');
END
$$;

-- _blueprint_home_services(schema): seed 004's home_services.work_orders
CREATE FUNCTION @extschema@._blueprint_home_services(s name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@._blueprint_customers(s);
    EXECUTE format($ddl$
    CREATE TABLE %1$I.work_orders (
        organization_id    uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                 uuid NOT NULL DEFAULT gen_random_uuid(),
        customer_id        uuid NOT NULL,
        technician_id      uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        service_type       text NOT NULL,
        priority           text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
        status             text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'scheduled', 'in_progress', 'completed', 'cancelled')),
        scheduled_at       timestamptz,
        completed_at       timestamptz,
        estimated_duration interval CHECK (estimated_duration >= interval '0'),
        actual_duration    interval CHECK (actual_duration >= interval '0'),
        service_address    jsonb CHECK (jsonb_typeof(service_address) = 'object'),
        notes              text,
        internal_notes     text,
        equipment          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(equipment) = 'array'),
        parts_used         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(parts_used) = 'array'),
        labor_cost         numeric(10,2) NOT NULL DEFAULT 0 CHECK (labor_cost >= 0),
        parts_cost         numeric(10,2) NOT NULL DEFAULT 0 CHECK (parts_cost >= 0),
        total_cost         numeric(10,2) NOT NULL DEFAULT 0 CHECK (total_cost >= 0),
        metadata           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
        deleted_at         timestamptz,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, customer_id) REFERENCES %1$I.customers ON DELETE CASCADE
    );
    CREATE INDEX work_orders_org_status_idx ON %1$I.work_orders (organization_id, status) WHERE deleted_at IS NULL;
    CREATE INDEX work_orders_customer_idx ON %1$I.work_orders (organization_id, customer_id);
    CREATE INDEX work_orders_technician_idx ON %1$I.work_orders (technician_id, scheduled_at)
        WHERE deleted_at IS NULL;
    CREATE INDEX work_orders_metadata_priority_idx ON %1$I.work_orders USING gin ((metadata -> 'priority'));
    $ddl$, s);
    PERFORM @extschema@._blueprint_finish(s, 'home_services', '{}', '{}');
END
$$;

-- _blueprint_restaurant(schema): seed 004's restaurants.orders
CREATE FUNCTION @extschema@._blueprint_restaurant(s name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@._blueprint_customers(s);
    EXECUTE format($ddl$
    CREATE TABLE %1$I.orders (
        organization_id      uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                   uuid NOT NULL DEFAULT gen_random_uuid(),
        order_number         bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY,
        table_number         integer CHECK (table_number > 0),
        customer_id          uuid,
        server_id            uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        order_type           text NOT NULL DEFAULT 'dine_in'
                             CHECK (order_type IN ('dine_in', 'takeout', 'delivery', 'online')),
        status               text NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'preparing', 'ready', 'served', 'paid', 'cancelled')),
        items                jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(items) = 'array'),
        subtotal             numeric(10,2) NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
        tax_amount           numeric(10,2) NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
        tip_amount           numeric(10,2) NOT NULL DEFAULT 0 CHECK (tip_amount >= 0),
        discount_amount      numeric(10,2) NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
        total_amount         numeric(10,2) NOT NULL DEFAULT 0 CHECK (total_amount >= 0),
        payment_method       text CHECK (payment_method IN ('cash', 'card', 'mobile', 'gift_card', 'other')),
        payment_status       text NOT NULL DEFAULT 'pending'
                             CHECK (payment_status IN ('pending', 'authorized', 'paid', 'refunded', 'failed')),
        special_instructions text,
        estimated_ready_time timestamptz,
        served_at            timestamptz,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, order_number),
        CHECK (order_type <> 'dine_in' OR table_number IS NOT NULL),
        FOREIGN KEY (organization_id, customer_id) REFERENCES %1$I.customers ON DELETE SET NULL (customer_id)
    );
    CREATE INDEX orders_org_created_idx ON %1$I.orders (organization_id, created_at DESC);
    CREATE INDEX orders_org_status_idx ON %1$I.orders (organization_id, status)
        WHERE status NOT IN ('paid', 'cancelled');
    CREATE INDEX orders_customer_idx ON %1$I.orders (organization_id, customer_id) WHERE customer_id IS NOT NULL;
    $ddl$, s);
    PERFORM @extschema@._blueprint_finish(s, 'restaurant', '{}', '{}');
END
$$;

-- _blueprint_automotive(schema): seed 004's automotive.vehicles and repair_orders
CREATE FUNCTION @extschema@._blueprint_automotive(s name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@._blueprint_customers(s);
    EXECUTE format($ddl$
    CREATE TABLE %1$I.vehicles (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        customer_id     uuid NOT NULL,
        vin             text CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
        make            text NOT NULL,
        model           text NOT NULL,
        year            integer CHECK (year BETWEEN 1886 AND 2100),
        license_plate   text,
        color           text,
        mileage         integer CHECK (mileage >= 0),
        metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
        deleted_at      timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, vin),
        FOREIGN KEY (organization_id, customer_id) REFERENCES %1$I.customers ON DELETE CASCADE
    );
    CREATE INDEX vehicles_customer_idx ON %1$I.vehicles (organization_id, customer_id) WHERE deleted_at IS NULL;
    CREATE INDEX vehicles_plate_idx ON %1$I.vehicles (organization_id, license_plate) WHERE deleted_at IS NULL;

    CREATE TABLE %1$I.repair_orders (
        organization_id       uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id                    uuid NOT NULL DEFAULT gen_random_uuid(),
        customer_id           uuid NOT NULL,
        vehicle_id            uuid NOT NULL,
        technician_id         uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        order_number          bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY,
        status                text NOT NULL DEFAULT 'estimate'
                              CHECK (status IN ('estimate', 'approved', 'in_progress', 'completed', 'delivered')),
        priority              text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
        complaint_description text NOT NULL,
        diagnosis             text,
        recommended_services  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(recommended_services) = 'array'),
        approved_services     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(approved_services) = 'array'),
        parts_needed          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(parts_needed) = 'array'),
        labor_hours           numeric(5,2) NOT NULL DEFAULT 0 CHECK (labor_hours >= 0),
        labor_rate            numeric(7,2) NOT NULL DEFAULT 0 CHECK (labor_rate >= 0),
        parts_cost            numeric(10,2) NOT NULL DEFAULT 0 CHECK (parts_cost >= 0),
        estimated_total       numeric(10,2) NOT NULL DEFAULT 0 CHECK (estimated_total >= 0),
        final_total           numeric(10,2) NOT NULL DEFAULT 0 CHECK (final_total >= 0),
        mileage_in            integer CHECK (mileage_in >= 0),
        mileage_out           integer,
        drop_off_date         timestamptz,
        promised_date         timestamptz,
        completed_date        timestamptz,
        metadata              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
        deleted_at            timestamptz,
        created_at            timestamptz NOT NULL DEFAULT now(),
        updated_at            timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, order_number),
        CHECK (mileage_out >= mileage_in),
        FOREIGN KEY (organization_id, customer_id) REFERENCES %1$I.customers ON DELETE CASCADE,
        FOREIGN KEY (organization_id, vehicle_id) REFERENCES %1$I.vehicles ON DELETE CASCADE
    );
    CREATE INDEX repair_orders_org_status_idx ON %1$I.repair_orders (organization_id, status)
        WHERE deleted_at IS NULL;
    CREATE INDEX repair_orders_vehicle_idx ON %1$I.repair_orders (organization_id, vehicle_id);
    CREATE INDEX repair_orders_customer_idx ON %1$I.repair_orders (organization_id, customer_id);
    $ddl$, s);
    PERFORM @extschema@._blueprint_finish(s, 'automotive', '{}', '{}');
END
$$;

-- _blueprint_retail(schema): seed 004's retail products and sales
CREATE FUNCTION @extschema@._blueprint_retail(s name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@._blueprint_customers(s);
    EXECUTE format($ddl$
    CREATE TABLE %1$I.products (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        sku             text NOT NULL CHECK (btrim(sku) <> ''),
        name            text NOT NULL,
        description     text,
        category        text,
        price           numeric(10,2) NOT NULL CHECK (price >= 0),
        cost            numeric(10,2) CHECK (cost >= 0),
        stock_quantity  integer NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
        reorder_level   integer NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
        is_active       boolean NOT NULL DEFAULT true,
        attributes      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, sku)
    );
    CREATE INDEX products_category_idx ON %1$I.products (organization_id, category) WHERE is_active;
    CREATE INDEX products_low_stock_idx ON %1$I.products (organization_id)
        WHERE is_active AND stock_quantity <= reorder_level;
    CREATE INDEX products_search_idx ON %1$I.products USING gin (to_tsvector('english', name));

    CREATE TABLE %1$I.sales (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        sale_number     bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY,
        customer_id     uuid,
        cashier_id      uuid REFERENCES @extschema@.users (id) ON DELETE SET NULL,
        status          text NOT NULL DEFAULT 'completed'
                        CHECK (status IN ('pending', 'completed', 'refunded', 'voided')),
        payment_method  text CHECK (payment_method IN ('cash', 'card', 'mobile', 'gift_card', 'other')),
        subtotal        numeric(10,2) NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
        tax_amount      numeric(10,2) NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
        discount_amount numeric(10,2) NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
        total_amount    numeric(10,2) NOT NULL DEFAULT 0 CHECK (total_amount >= 0),
        sold_at         timestamptz NOT NULL DEFAULT now(),
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, id),
        UNIQUE (organization_id, sale_number),
        FOREIGN KEY (organization_id, customer_id) REFERENCES %1$I.customers ON DELETE SET NULL (customer_id)
    );
    CREATE INDEX sales_org_sold_at_idx ON %1$I.sales (organization_id, sold_at DESC);
    CREATE INDEX sales_customer_idx ON %1$I.sales (organization_id, customer_id) WHERE customer_id IS NOT NULL;

    CREATE TABLE %1$I.sale_items (
        organization_id uuid NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
        id              uuid NOT NULL DEFAULT gen_random_uuid(),
        sale_id         uuid NOT NULL,
        product_id      uuid NOT NULL,
        quantity        integer NOT NULL CHECK (quantity > 0),
        unit_price      numeric(10,2) NOT NULL CHECK (unit_price >= 0),
        discount_amount numeric(10,2) NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
        line_total      numeric(12,2) NOT NULL CHECK (line_total >= 0),
        PRIMARY KEY (organization_id, id),
        FOREIGN KEY (organization_id, sale_id) REFERENCES %1$I.sales ON DELETE CASCADE,
        FOREIGN KEY (organization_id, product_id) REFERENCES %1$I.products ON DELETE RESTRICT
    );
    CREATE INDEX sale_items_sale_idx ON %1$I.sale_items (organization_id, sale_id);
    CREATE INDEX sale_items_product_idx ON %1$I.sale_items (organization_id, product_id);
    $ddl$, s);
    PERFORM @extschema@._blueprint_finish(s, 'retail', '{}', '{}');
END
$$;

-- install_blueprint(name, target_schema) creates a blueprint's tables in a
-- schema (created when missing) and returns them; all or nothing
CREATE FUNCTION @extschema@.install_blueprint(name text, target_schema name)
RETURNS SETOF regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    known    text[] := ARRAY(SELECT b.name FROM @extschema@.blueprints() b);
    nsp      oid;
    existing text;
BEGIN
    IF name IS NULL OR target_schema IS NULL THEN
        RAISE EXCEPTION 'install_blueprint: blueprint name and schema must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to install blueprint "%"', name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A blueprint calls installers that only superusers may run (audit, retain).',
                  HINT = 'Run tenantcore.install_blueprint() as a superuser.';
    END IF;
    IF NOT name = ANY (known) THEN
        RAISE EXCEPTION 'unknown blueprint "%"', name
            USING ERRCODE = 'undefined_object',
                  HINT = format('Available blueprints: %s (see tenantcore.blueprints()).', array_to_string(known, ', '));
    END IF;
    IF target_schema !~ '^[a-z_][a-z0-9_]*$' THEN
        RAISE EXCEPTION 'invalid schema name %', quote_literal(target_schema)
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'A blueprint schema name is an unquoted lower-case identifier: letters a-z, digits and underscores, not starting with a digit.';
    END IF;
    IF target_schema IN ('tenantcore', 'information_schema') OR target_schema LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'cannot install a blueprint into system or extension schema %', target_schema
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT n.oid INTO nsp FROM pg_namespace n WHERE n.nspname = target_schema;
    IF nsp IS NOT NULL THEN
        SELECT b.blueprint INTO existing FROM @extschema@.installed_blueprints b WHERE b.schema_name = target_schema;
        IF existing IS NOT NULL THEN
            RAISE EXCEPTION 'schema % already holds blueprint "%"', target_schema, existing
                USING ERRCODE = 'duplicate_object',
                      HINT = 'Install into another schema, or drop the schema (DROP SCHEMA ... CASCADE) first.';
        END IF;
        IF EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = nsp
                      AND d.deptype = 'e') THEN
            RAISE EXCEPTION 'cannot install a blueprint into system or extension schema %', target_schema
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSE
        EXECUTE format('CREATE SCHEMA %I', target_schema);
        nsp := target_schema::regnamespace;
    END IF;

    EXECUTE format('SELECT @extschema@.%I($1)', '_blueprint_' || name) USING target_schema;
    DELETE FROM @extschema@.installed_blueprints b   -- a registration left over from a renamed schema
     WHERE b.schema_name = target_schema;
    INSERT INTO @extschema@.installed_blueprints (schema_name, blueprint) VALUES (target_schema, name);

    RETURN QUERY
        SELECT c.oid::regclass
          FROM @extschema@.blueprints() b, unnest(b.tables) WITH ORDINALITY t (relname, ord), pg_class c
         WHERE b.name = install_blueprint.name AND c.relnamespace = nsp AND c.relname = t.relname
         ORDER BY t.ord;
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.install_blueprint(text, name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.install_blueprint(text, name) IS
    'create a domain schema from the seeds (tenantcore.blueprints()) in a schema, isolated, audited, protected and retained';

-- a dropped schema forgets its blueprint
CREATE FUNCTION @extschema@._blueprints_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.installed_blueprints b
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_namespace'::regclass AND d.object_name = b.schema_name;
END
$$;
CREATE EVENT TRIGGER tenantcore_forget_dropped_blueprints ON sql_drop
    EXECUTE FUNCTION @extschema@._blueprints_on_sql_drop();

-- a renamed schema keeps its blueprint: the one registration whose schema no
-- longer exists takes the new name
CREATE FUNCTION @extschema@._blueprints_on_rename() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    renamed name;
BEGIN
    FOR renamed IN
        SELECT n.nspname FROM pg_event_trigger_ddl_commands() c JOIN pg_namespace n ON n.oid = c.objid
         WHERE c.classid = 'pg_namespace'::regclass
    LOOP
        IF (SELECT count(*) FROM @extschema@.installed_blueprints b
             WHERE NOT EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = b.schema_name)) = 1 THEN
            UPDATE @extschema@.installed_blueprints b SET schema_name = renamed
             WHERE NOT EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = b.schema_name);
        END IF;
    END LOOP;
END
$$;
CREATE EVENT TRIGGER tenantcore_rename_blueprints ON ddl_command_end WHEN TAG IN ('ALTER SCHEMA')
    EXECUTE FUNCTION @extschema@._blueprints_on_rename();

-- _blueprint_exec(sql, org, users, n) runs the statements of sql (separated
-- by a semicolon at the end of a line) one by one with the parameters $1-$3
CREATE FUNCTION @extschema@._blueprint_exec(sql text, org uuid, users uuid[], n integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stmt text;
BEGIN
    FOREACH stmt IN ARRAY regexp_split_to_array(sql, ';[ \t]*\n') LOOP
        IF btrim(stmt, E' \t\n') <> '' THEN
            EXECUTE stmt USING org, users, n;
        END IF;
    END LOOP;
END
$$;

-- _blueprint_fill(schema, blueprint, org, users, n) inserts made-up rows for
-- one organization: n rows in the blueprint's main table (clients, projects,
-- customers) and a few rows per main row in the tables that hang off it.
-- The caller has set the tenant to org (protected columns need it).
CREATE FUNCTION @extschema@._blueprint_fill(s name, blueprint text, org uuid, users uuid[], n integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF blueprint = 'cpa' THEN
        PERFORM @extschema@._blueprint_exec(format($q$
        INSERT INTO %1$I.clients (organization_id, business_name, legal_name, tax_id, primary_contact_email,
                                  primary_contact_name, primary_contact_phone, business_type, industry, status,
                                  risk_level, annual_revenue, financial_data, created_by)
        SELECT $1, format('Client %%s', g), format('Client %%s Holdings', g),
               format('%%s-%%s', lpad((10 + g %% 90)::text, 2, '0'), lpad(g::text, 7, '0')),
               format('owner%%s@client%%s.example', g, g), format('Owner %%s', g), format('+1-555-%%s', lpad(g::text, 4, '0')),
               (ARRAY['LLC', 'Corporation', 'Partnership', 'Sole Proprietorship'])[1 + g %% 4],
               (ARRAY['retail', 'construction', 'software', 'healthcare'])[1 + g %% 4],
               (ARRAY['active', 'active', 'prospect', 'inactive'])[1 + g %% 4],
               (ARRAY['low', 'medium', 'high'])[1 + g %% 3], 50000 + g * 1000,
               jsonb_build_object('fiscal_year_end', '12-31'), $2[1 + g %% array_length($2, 1)]
          FROM generate_series(1, $3) g;
        INSERT INTO %1$I.engagements (organization_id, client_id, name, engagement_type, status, start_date, end_date,
                                      fee_type, fee_amount, assigned_to)
        SELECT $1, c.id, 'Tax return ' || c.business_name, 'tax_preparation', 'active',
               date '2026-01-15', date '2026-04-15', 'fixed', 2500, $2[1]
          FROM %1$I.clients c WHERE c.organization_id = $1;
        INSERT INTO %1$I.tasks (organization_id, engagement_id, assigned_to, title, status, priority, due_date)
        SELECT $1, e.id, $2[1 + k %% array_length($2, 1)], t.title, t.status, 'medium', timestamptz '2026-03-01' + k * interval '1 week'
          FROM %1$I.engagements e, (VALUES (1, 'Collect documents', 'completed'), (2, 'Prepare return', 'in_progress')) t (k, title, status)
         WHERE e.organization_id = $1;
        INSERT INTO %1$I.invoices (organization_id, client_id, engagement_id, invoice_number, status, issue_date, due_date,
                                   line_items, subtotal, tax_amount, total_amount, created_by)
        SELECT $1, e.client_id, e.id,
               format('INV-%%s', lpad((row_number() OVER (ORDER BY length(c.business_name), c.business_name))::text, 6, '0')),
               'sent', date '2026-04-15', date '2026-05-15',
               jsonb_build_array(jsonb_build_object('description', e.name, 'amount', 2500)), 2500, 0, 2500, $2[1]
          FROM %1$I.engagements e JOIN %1$I.clients c ON c.organization_id = e.organization_id AND c.id = e.client_id
         WHERE e.organization_id = $1;
        INSERT INTO %1$I.notes (organization_id, client_id, author_id, title, content, note_type)
        SELECT $1, c.id, $2[1], 'Kick-off call', 'Discussed the documents needed for ' || c.business_name, 'call'
          FROM %1$I.clients c WHERE c.organization_id = $1;
        INSERT INTO %1$I.documents (organization_id, client_id, file_name, file_url, file_type, mime_type, file_size,
                                    category, year, tags, ocr_status, ocr_confidence, extracted_data, encryption_key,
                                    retention_date, uploaded_by)
        SELECT $1, c.id, 'w2-2025.pdf', 'https://files.example/' || c.id || '/w2-2025.pdf', 'pdf', 'application/pdf', 48213,
               'tax_return', 2025, ARRAY['w2', '2025'], 'completed', 0.97, jsonb_build_object('wages', 81234.5),
               encode(sha256(c.id::text::bytea), 'hex'), timestamptz '2033-04-15', $2[1]
          FROM %1$I.clients c WHERE c.organization_id = $1;
        -- a second version of every document
        WITH v1 AS (UPDATE %1$I.documents d SET is_latest_version = false
                     WHERE d.organization_id = $1 AND d.version = 1 RETURNING d.*)
        INSERT INTO %1$I.documents (organization_id, client_id, file_name, file_url, file_type, mime_type, file_size,
                                    category, year, tags, version, parent_document_id, uploaded_by)
        SELECT $1, v1.client_id, v1.file_name, v1.file_url || '?v=2', v1.file_type, v1.mime_type, v1.file_size + 100,
               v1.category, v1.year, v1.tags, 2, v1.id, $2[1 + 1 %% array_length($2, 1)]
          FROM v1;
        INSERT INTO %1$I.document_comments (organization_id, document_id, author_id, content)
        SELECT $1, d.id, $2[1], 'Please check box 12.' FROM %1$I.documents d
         WHERE d.organization_id = $1 AND d.is_latest_version;
        INSERT INTO %1$I.document_annotations (organization_id, document_id, author_id, annotation_type, page, position, content)
        SELECT $1, d.id, $2[1], 'highlight', 1, '{"x": 120, "y": 340, "w": 200, "h": 18}', 'wages'
          FROM %1$I.documents d WHERE d.organization_id = $1 AND d.is_latest_version;
        INSERT INTO %1$I.document_shares (organization_id, document_id, shared_by, shared_with_email, token_hash, permission, expires_at)
        SELECT $1, d.id, $2[1], 'owner@client.example', sha256(gen_random_uuid()::text::bytea), 'view', timestamptz '2027-01-01'
          FROM %1$I.documents d WHERE d.organization_id = $1 AND d.is_latest_version;
        INSERT INTO %1$I.report_templates (organization_id, name, report_type, template_data, created_by)
        VALUES ($1, 'Year-end summary', 'financial_statement', '{"sections": ["income", "expenses"]}', $2[1])
        ON CONFLICT DO NOTHING;
        INSERT INTO %1$I.reports (organization_id, client_id, engagement_id, template_id, title, report_type, status,
                                  period_start, period_end, data, generated_at, generated_by)
        SELECT $1, e.client_id, e.id, t.id, 'Year-end summary 2025', 'financial_statement', 'ready',
               date '2025-01-01', date '2025-12-31', '{"net_income": 12345}', now(), $2[1]
          FROM %1$I.engagements e
          JOIN %1$I.report_templates t ON t.organization_id = $1 AND t.name = 'Year-end summary'
         WHERE e.organization_id = $1;
        INSERT INTO %1$I.workflow_templates (organization_id, name, category, steps, created_by)
        VALUES ($1, 'Individual tax return', 'tax',
                '[{"title": "Collect documents"}, {"title": "Review"}, {"title": "Partner approval"}]', $2[1])
        ON CONFLICT DO NOTHING;
        INSERT INTO %1$I.workflow_executions (organization_id, name, status, progress, template_id, client_id, started_at)
        SELECT $1, 'Tax return 2025 for ' || c.business_name, 'running', 33.3, t.id, c.id, now()
          FROM %1$I.clients c
          JOIN %1$I.workflow_templates t ON t.organization_id = $1 AND t.name = 'Individual tax return'
         WHERE c.organization_id = $1;
        -- three chained steps per workflow execution: each depends on the one before
        WITH steps AS (
            SELECT w.id AS workflow_execution_id, k, gen_random_uuid() AS id
              FROM %1$I.workflow_executions w, generate_series(0, 2) k
             WHERE w.organization_id = $1)
        INSERT INTO %1$I.task_executions (organization_id, id, workflow_execution_id, parent_task_id, title, status,
                                          task_type, step_index, progress, assigned_to_id)
        SELECT $1, st.id, st.workflow_execution_id, prev.id,
               (ARRAY['Collect documents', 'Review', 'Partner approval'])[st.k + 1],
               (ARRAY['completed', 'running', 'pending'])[st.k + 1],
               (ARRAY['data_entry', 'document_review', 'approval'])[st.k + 1], st.k,
               (ARRAY[100, 50, 0])[st.k + 1], $2[1 + st.k %% array_length($2, 1)]
          FROM steps st
          LEFT JOIN steps prev ON prev.workflow_execution_id = st.workflow_execution_id AND prev.k = st.k - 1;
        INSERT INTO %1$I.quickbooks_tokens (organization_id, access_token, refresh_token, realm_id, expires_at)
        VALUES ($1, 'qb-access-' || md5($1::text), 'qb-refresh-' || md5($1::text || 'r'), '9130' || substr(md5($1::text), 1, 8),
                now() + interval '1 hour')
        ON CONFLICT DO NOTHING;
        INSERT INTO %1$I.quickbooks_syncs (organization_id, sync_type, entity_type, status, completed_at,
                                           records_total, records_success, records_failed)
        VALUES ($1, 'full', 'customers', 'completed', now(), $3, $3, 0),
               ($1, 'incremental', 'transactions', 'failed', now(), 10, 7, 3);
        $q$, s), org, users, n);
    ELSIF blueprint = 'projects' THEN
        PERFORM @extschema@._blueprint_exec(format($q$
        INSERT INTO %1$I.projects (organization_id, name, description, status, owner_id, settings)
        SELECT $1, format('Project %%s', g), 'Made-up project ' || g,
               (ARRAY['active', 'active', 'inactive', 'archived'])[1 + g %% 4], $2[1 + g %% array_length($2, 1)],
               jsonb_build_object('color', (ARRAY['red', 'green', 'blue'])[1 + g %% 3])
          FROM generate_series(1, $3) g;
        INSERT INTO %1$I.tasks (organization_id, project_id, assignee_id, title, status, priority, progress, due_date, metadata)
        SELECT $1, p.id, $2[1 + k %% array_length($2, 1)], format('Task %%s of %%s', k, p.name),
               (ARRAY['todo', 'in_progress', 'review', 'done', 'cancelled'])[k], (ARRAY['low', 'medium', 'high', 'urgent', 'medium'])[k],
               (ARRAY[0, 40, 80, 100, 0])[k], timestamptz '2026-12-01' + k * interval '3 days', jsonb_build_object('estimate_h', k * 2)
          FROM %1$I.projects p, generate_series(1, 5) k WHERE p.organization_id = $1;
        INSERT INTO %1$I.files (organization_id, project_id, task_id, uploaded_by, file_name, storage_key, mime_type, size_bytes)
        SELECT $1, t.project_id, t.id, $2[1], 'spec.pdf', 'files/' || t.id || '/spec.pdf', 'application/pdf', 10240
          FROM %1$I.tasks t WHERE t.organization_id = $1 AND t.status = 'review';
        INSERT INTO %1$I.messages (organization_id, project_id, sender_id, receiver_id, body)
        SELECT $1, p.id, $2[1], $2[array_length($2, 1)], 'Status update for ' || p.name
          FROM %1$I.projects p WHERE p.organization_id = $1;
        $q$, s), org, users, n);
    ELSE
        PERFORM @extschema@._blueprint_exec(format($q$
        INSERT INTO %1$I.customers (organization_id, email, first_name, last_name, phone, address, tags, created_by)
        SELECT $1, format('customer%%s@mail.example', g), (ARRAY['Ana', 'Ben', 'Chloe', 'Dev', 'Eli'])[1 + g %% 5],
               format('Customer%%s', g), format('+1-555-%%s', lpad(g::text, 4, '0')),
               jsonb_build_object('city', (ARRAY['Austin', 'Boston', 'Denver'])[1 + g %% 3]),
               ARRAY['demo'], $2[1]
          FROM generate_series(1, $3) g;
        $q$, s), org, users, n);
        IF blueprint = 'home_services' THEN
            PERFORM @extschema@._blueprint_exec(format($q$
            INSERT INTO %1$I.work_orders (organization_id, customer_id, technician_id, service_type, priority, status,
                                          scheduled_at, estimated_duration, service_address, parts_used,
                                          labor_cost, parts_cost, total_cost, metadata)
            SELECT $1, c.id, $2[1 + k %% array_length($2, 1)], (ARRAY['hvac_repair', 'plumbing'])[k],
                   (ARRAY['normal', 'urgent'])[k], (ARRAY['completed', 'scheduled'])[k],
                   timestamptz '2026-12-01 09:00' + k * interval '1 day', interval '2 hours', c.address,
                   '[{"part": "filter", "qty": 1}]', 120, 35, 155, jsonb_build_object('priority', (ARRAY['normal', 'urgent'])[k])
              FROM %1$I.customers c, generate_series(1, 2) k WHERE c.organization_id = $1;
            $q$, s), org, users, n);
        ELSIF blueprint = 'restaurant' THEN
            PERFORM @extschema@._blueprint_exec(format($q$
            INSERT INTO %1$I.orders (organization_id, table_number, customer_id, server_id, order_type, status, items,
                                     subtotal, tax_amount, tip_amount, total_amount, payment_method, payment_status)
            SELECT $1, CASE WHEN k = 1 THEN 1 + (abs(hashtext(c.id::text)) %% 20) END, c.id, $2[1],
                   (ARRAY['dine_in', 'takeout'])[k], 'paid',
                   '[{"item": "burger", "qty": 2, "price": 12.5}]', 25, 2.06, 4, 31.06, 'card', 'paid'
              FROM %1$I.customers c, generate_series(1, 2) k WHERE c.organization_id = $1;
            $q$, s), org, users, n);
        ELSIF blueprint = 'automotive' THEN
            PERFORM @extschema@._blueprint_exec(format($q$
            INSERT INTO %1$I.vehicles (organization_id, customer_id, vin, make, model, year, license_plate, mileage)
            SELECT $1, c.id, upper(translate(substr(md5(c.id::text) || md5(c.id::text || 'v'), 1, 17), 'ioq', '123')),
                   (ARRAY['Toyota', 'Ford', 'Honda'])[1 + abs(hashtext(c.id::text)) %% 3], 'Model ' || substr(c.id::text, 1, 4),
                   2015 + abs(hashtext(c.id::text)) %% 10, upper(substr(md5(c.id::text), 1, 7)), 42000
              FROM %1$I.customers c WHERE c.organization_id = $1;
            INSERT INTO %1$I.repair_orders (organization_id, customer_id, vehicle_id, technician_id, status,
                                            complaint_description, labor_hours, labor_rate, parts_cost,
                                            estimated_total, mileage_in, mileage_out)
            SELECT $1, v.customer_id, v.id, $2[1], 'completed', 'Brakes squeak', 1.5, 120, 80, 260, 42000, 42010
              FROM %1$I.vehicles v WHERE v.organization_id = $1;
            $q$, s), org, users, n);
        ELSIF blueprint = 'retail' THEN
            PERFORM @extschema@._blueprint_exec(format($q$
            INSERT INTO %1$I.products (organization_id, sku, name, category, price, cost, stock_quantity, reorder_level)
            SELECT $1, format('SKU-%%s', lpad(g::text, 6, '0')), format('Product %%s', g),
                   (ARRAY['apparel', 'home', 'garden'])[1 + g %% 3], 10 + g %% 50, 5 + g %% 20, 100, 10
              FROM generate_series(1, $3) g;
            WITH c AS (SELECT c.id, row_number() OVER (ORDER BY c.id) AS r FROM %1$I.customers c WHERE c.organization_id = $1),
                 sale AS (
                     INSERT INTO %1$I.sales (organization_id, customer_id, cashier_id, status, payment_method,
                                             subtotal, tax_amount, total_amount)
                     SELECT $1, c.id, $2[1], 'completed', 'card', 0, 0, 0 FROM c
                     RETURNING id, customer_id)
            INSERT INTO %1$I.sale_items (organization_id, sale_id, product_id, quantity, unit_price, line_total)
            SELECT $1, sale.id, p.id, 1, p.price, p.price
              FROM sale JOIN c ON c.id = sale.customer_id
              JOIN %1$I.products p ON p.organization_id = $1 AND p.sku = format('SKU-%%s', lpad(c.r::text, 6, '0'));
            UPDATE %1$I.sales s SET subtotal = t.total, total_amount = t.total
              FROM (SELECT sale_id, sum(line_total) AS total FROM %1$I.sale_items WHERE organization_id = $1 GROUP BY sale_id) t
             WHERE s.organization_id = $1 AND s.id = t.sale_id;
            $q$, s), org, users, n);
        END IF;
    END IF;
END
$$;

-- _blueprint_of(schema, caller) returns the blueprint installed in a schema,
-- after the checks the seeding functions share
CREATE FUNCTION @extschema@._blueprint_of(target_schema name, caller text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bp text;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to run %', caller
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('Run tenantcore.%s() as a superuser.', caller);
    END IF;
    SELECT b.blueprint INTO bp
      FROM @extschema@.installed_blueprints b JOIN pg_namespace n ON n.nspname = b.schema_name
     WHERE b.schema_name = target_schema;
    IF bp IS NULL THEN
        RAISE EXCEPTION 'schema % holds no blueprint', quote_ident(target_schema)
            USING ERRCODE = 'undefined_object',
                  HINT = 'Install one with tenantcore.install_blueprint(name, schema); tenantcore.installed_blueprints lists them.';
    END IF;
    RETURN bp;
END
$$;

-- _blueprint_counts(schema) counts the rows of every blueprint table of a
-- schema (other tables of the schema are not the blueprint's business)
CREATE FUNCTION @extschema@._blueprint_counts(target_schema name)
RETURNS TABLE (table_name regclass, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN SELECT c.oid FROM pg_class c
                WHERE c.relnamespace = target_schema::regnamespace AND c.relkind IN ('r', 'p')
                  AND c.relname = ANY ((SELECT b.tables FROM @extschema@.blueprints() b
                                         JOIN @extschema@.installed_blueprints i ON i.blueprint = b.name
                                        WHERE i.schema_name = target_schema)::name[])
                ORDER BY c.oid
    LOOP
        table_name := rel;
        EXECUTE format('SELECT count(*) FROM %s', rel) INTO row_count;
        RETURN NEXT;
    END LOOP;
END
$$;

-- seed_demo(schema) fills a blueprint schema with two demo organizations
-- (Acme Accounting and Birch & Co), their users and a few rows per table
CREATE FUNCTION @extschema@.seed_demo(target_schema name, rows_per_tenant integer DEFAULT 3)
RETURNS TABLE (table_name regclass, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bp     text;
    org    record;
    tenant text := current_setting('tenantcore.tenant_id');
BEGIN
    IF target_schema IS NULL OR rows_per_tenant IS NULL THEN
        RAISE EXCEPTION 'seed_demo: schema and rows_per_tenant must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF rows_per_tenant NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'seed_demo: rows_per_tenant must be between 1 and 1000, not %', rows_per_tenant
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use tenantcore.seed_bench() for more rows.';
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to run seed_demo'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Run tenantcore.seed_demo() as a superuser.';
    END IF;
    bp := @extschema@._blueprint_of(target_schema, 'seed_demo');
    -- once per schema (a superuser sees every tenant's rows here)
    IF EXISTS (SELECT FROM @extschema@._blueprint_counts(target_schema) c WHERE c.row_count > 0) THEN
        RAISE NOTICE 'schema % already holds rows, skipping', quote_ident(target_schema);
        RETURN QUERY SELECT * FROM @extschema@._blueprint_counts(target_schema);
        RETURN;
    END IF;
    INSERT INTO @extschema@.users (id, email, first_name, last_name, status, is_verified)
    VALUES ('a11ce000-0000-4000-8000-000000000001', 'alice@acme.example', 'Alice', 'Adams', 'active', true),
           ('a11ce000-0000-4000-8000-000000000002', 'arjun@acme.example', 'Arjun', 'Acharya', 'active', true),
           ('b0b00000-0000-4000-8000-000000000001', 'bob@birch.example', 'Bob', 'Brown', 'active', true),
           ('b0b00000-0000-4000-8000-000000000002', 'bea@birch.example', 'Bea', 'Baker', 'active', true)
    ON CONFLICT DO NOTHING;
    INSERT INTO @extschema@.organizations (id, name, slug, subscription_tier, owner_id)
    VALUES ('ac3e0000-0000-4000-8000-00000000000a', 'Acme Accounting', 'acme', 'professional',
            'a11ce000-0000-4000-8000-000000000001'),
           ('b1c40000-0000-4000-8000-00000000000b', 'Birch & Co', 'birch', 'starter',
            'b0b00000-0000-4000-8000-000000000001')
    ON CONFLICT DO NOTHING;
    FOR org IN VALUES ('ac3e0000-0000-4000-8000-00000000000a'::uuid,
                       ARRAY['a11ce000-0000-4000-8000-000000000001', 'a11ce000-0000-4000-8000-000000000002']::uuid[]),
                      ('b1c40000-0000-4000-8000-00000000000b'::uuid,
                       ARRAY['b0b00000-0000-4000-8000-000000000001', 'b0b00000-0000-4000-8000-000000000002']::uuid[])
    LOOP
        PERFORM set_config('tenantcore.tenant_id', org.column1::text, true);
        PERFORM @extschema@._blueprint_fill(target_schema, bp, org.column1, org.column2, rows_per_tenant);
    END LOOP;
    PERFORM set_config('tenantcore.tenant_id', tenant, true);
    RETURN QUERY SELECT * FROM @extschema@._blueprint_counts(target_schema);
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.seed_demo(name, integer) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.seed_demo(name, integer) IS
    'fill a blueprint schema with two demo organizations (Acme Accounting, Birch & Co) and their users';

-- seed_bench(schema, tenants, rows_per_tenant) creates tenants new
-- organizations with two users each and fills the blueprint schema for them:
-- rows_per_tenant rows in the main table of the blueprint, a few per row in
-- the others
CREATE FUNCTION @extschema@.seed_bench(target_schema name, tenants integer, rows_per_tenant integer)
RETURNS TABLE (table_name regclass, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bp     text;
    org    uuid;
    users  uuid[];
    tenant text := current_setting('tenantcore.tenant_id');
    tag    text;
BEGIN
    IF target_schema IS NULL OR tenants IS NULL OR rows_per_tenant IS NULL THEN
        RAISE EXCEPTION 'seed_bench: schema, tenants and rows_per_tenant must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF tenants < 1 OR rows_per_tenant < 1 THEN
        RAISE EXCEPTION 'seed_bench: tenants and rows_per_tenant must be at least 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to run seed_bench'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Run tenantcore.seed_bench() as a superuser.';
    END IF;
    bp := @extschema@._blueprint_of(target_schema, 'seed_bench');
    FOR i IN 1 .. tenants LOOP
        org := gen_random_uuid();
        tag := substr(replace(org::text, '-', ''), 1, 12);
        users := ARRAY[gen_random_uuid(), gen_random_uuid()];
        INSERT INTO @extschema@.users (id, email, first_name, last_name)
        SELECT u, format('user%s-%s@bench.example', k, tag), 'Bench', format('User %s', k)
          FROM unnest(users) WITH ORDINALITY AS x (u, k);
        INSERT INTO @extschema@.organizations (id, name, slug, owner_id)
        VALUES (org, format('Bench %s', tag), 'bench-' || tag, users[1]);
        PERFORM set_config('tenantcore.tenant_id', org::text, true);
        PERFORM @extschema@._blueprint_fill(target_schema, bp, org, users, rows_per_tenant);
    END LOOP;
    PERFORM set_config('tenantcore.tenant_id', tenant, true);
    RETURN QUERY SELECT * FROM @extschema@._blueprint_counts(target_schema);
END
$$;
REVOKE EXECUTE ON FUNCTION @extschema@.seed_bench(name, integer, integer) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.seed_bench(name, integer, integer) IS
    'benchmark data: tenants new organizations with rows_per_tenant rows each in a blueprint schema';

-- the blueprint helpers are internal: only install_blueprint and the seeding
-- functions (superusers) call them
REVOKE EXECUTE ON FUNCTION @extschema@._blueprint_protect(name, name, name, boolean),
                           @extschema@._blueprint_finish(name, text, jsonb, jsonb),
                           @extschema@._blueprint_cpa(name), @extschema@._blueprint_projects(name),
                           @extschema@._blueprint_customers(name), @extschema@._blueprint_home_services(name),
                           @extschema@._blueprint_restaurant(name), @extschema@._blueprint_automotive(name),
                           @extschema@._blueprint_retail(name),
                           @extschema@._blueprint_exec(text, uuid, uuid[], integer),
                           @extschema@._blueprint_fill(name, text, uuid, uuid[], integer),
                           @extschema@._blueprint_of(name, text), @extschema@._blueprint_counts(name)
    FROM PUBLIC;

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

-- ===========================================================================
-- Part 6: lint
--
-- lint() follows materialized views over views: a materialized view stores
-- the rows its owner saw through any chain of views at refresh time, so it is
-- reported whatever views lie between it and an isolated table.  Plain views
-- are reported only when they read an isolated table directly: a
-- security_invoker view checks its base relations as the current user even
-- when an owner-rights view reads it (see CREATE VIEW), and an owner-rights
-- view in the middle of a chain is reported itself.
-- ===========================================================================

CREATE OR REPLACE FUNCTION @extschema@.lint()
RETURNS TABLE (severity text, object text, problem text, fix text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH RECURSIVE user_tables AS (
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
    ), view_reads AS (
        -- every relation a view or materialized view reads directly
        SELECT DISTINCT v.oid AS view, d.refobjid AS reads
          FROM pg_class v
          JOIN pg_rewrite rw ON rw.ev_class = v.oid
          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                          AND d.refclassid = 'pg_class'::regclass
         WHERE v.relkind IN ('v', 'm') AND d.refobjid <> v.oid
    ), view_chain AS (
        -- views reading an isolated table directly (via NULL) or through other views
        SELECT vr.view, i.rel AS isolated, NULL::regclass AS via
          FROM view_reads vr JOIN isolated i ON i.rel = vr.reads
        UNION
        SELECT vr.view, c.isolated, vr.reads::regclass
          FROM view_reads vr JOIN view_chain c ON c.view = vr.reads
    ), views_over_isolated AS (
        -- one row per view and isolated table, the direct path preferred
        SELECT c.view, c.isolated, (array_agg(c.via ORDER BY c.via NULLS FIRST))[1] AS via
          FROM view_chain c GROUP BY c.view, c.isolated
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
                THEN format('materialized view stores rows of isolated table %s%s and row level security does not apply to it%s', o.isolated,
                            CASE WHEN o.via IS NOT NULL THEN format(' (through view %s)', o.via) ELSE '' END,
                            CASE WHEN EXISTS (SELECT FROM bypass_roles b WHERE b.oid = v.relowner)
                                 THEN ', and its owner bypasses row level security, so it holds every tenant''s rows'
                                 ELSE '' END)
                ELSE format('view reads isolated table %s without security_invoker%s', o.isolated,
                            CASE WHEN EXISTS (SELECT FROM bypass_roles b WHERE b.oid = v.relowner)
                                 THEN ' and its owner bypasses row level security, so it shows every tenant''s rows'
                                 ELSE ', so privileges are checked as the view owner' END)
           END,
           CASE WHEN v.relkind = 'm'
                THEN format('REVOKE ALL ON %s FROM PUBLIC; -- use a security_invoker view or an isolated table instead', v.oid::regclass)
                ELSE format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
           END
      FROM views_over_isolated o
      JOIN pg_class v ON v.oid = o.view
     WHERE v.relkind = 'm'
        -- security_invoker takes any spelling of a boolean (true, on, 1, yes, ...)
        OR (o.via IS NULL
            AND NOT EXISTS (SELECT FROM unnest(v.reloptions) opt
                        WHERE CASE WHEN opt LIKE 'security\_invoker=%' THEN substr(opt, 18)::boolean ELSE false END))
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

-- citus_plan() checks that the isolated tables can be distributed by Citus on
-- their tenant column and prints the statements that would do it: reference
-- tables first (global tables that tenant tables point to, and the tenant
-- directory -- an isolated table whose primary key is its tenant column and
-- that other tenant tables reference, such as tenantcore.organizations: one
-- row per tenant, with keys such as a slug that must be unique across
-- tenants), then every other isolated table that is not a partition,
-- referenced tables before the tables that reference them.  Problems are rows
-- of kind 'problem', with no statement.
CREATE FUNCTION @extschema@.citus_plan()
RETURNS TABLE (step integer, rel regclass, kind text, detail text, statement text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH RECURSIVE roots AS (
        SELECT t.rel, t.tenant_column, a.attnum AS tenant_attnum, a.attnotnull
          FROM @extschema@.isolated_tables t
          JOIN pg_class c ON c.oid = t.rel
          JOIN pg_attribute a ON a.attrelid = t.rel AND a.attname = t.tenant_column AND NOT a.attisdropped
         WHERE NOT c.relispartition
    ), fks AS (
        SELECT con.conname, con.conrelid AS src, con.confrelid AS dst, con.conkey, con.confkey
          FROM pg_constraint con
         WHERE con.contype = 'f' AND con.conparentid = 0
    ), directory AS (
        -- isolated tables keyed by their tenant column that other tenant tables
        -- reference by tenant: the list of tenants, a reference table
        SELECT r.rel FROM roots r
         WHERE EXISTS (SELECT FROM pg_constraint pk
                        WHERE pk.conrelid = r.rel AND pk.contype = 'p' AND pk.conkey = ARRAY[r.tenant_attnum])
           AND EXISTS (SELECT FROM fks f JOIN roots s ON s.rel = f.src
                        WHERE f.dst = r.rel AND f.src <> r.rel
                          AND f.conkey = ARRAY[s.tenant_attnum] AND f.confkey = ARRAY[r.tenant_attnum])
    ), refs AS (
        -- global tables reached from tenant tables (directly or through other global tables)
        SELECT f.dst AS rel FROM fks f JOIN roots r ON r.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
        UNION
        SELECT f.dst FROM fks f JOIN refs g ON g.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
    ), depth AS (
        -- how many tenant tables a tenant table depends on in a row
        SELECT r.rel, 0 AS n FROM roots r WHERE r.rel NOT IN (SELECT rel FROM directory)
        UNION
        SELECT f.src, d.n + 1
          FROM fks f JOIN depth d ON d.rel = f.dst JOIN roots r ON r.rel = f.src
         WHERE f.src <> f.dst AND d.n < 50 AND f.src NOT IN (SELECT rel FROM directory)
    ), problems AS (
        SELECT r.rel::regclass AS rel,
               format('tenant column %I is nullable: Citus needs a value in the distribution column of every row',
                      r.tenant_column) AS detail
          FROM roots r WHERE NOT r.attnotnull
        UNION ALL
        SELECT r.rel::regclass,
               format('unique index %s does not include the tenant column %I: Citus can only enforce uniqueness within one tenant',
                      i.indexrelid::regclass, r.tenant_column)
          FROM roots r JOIN pg_index i ON i.indrelid = r.rel
         WHERE i.indisunique AND NOT (r.tenant_attnum = ANY (i.indkey::int2[]))
           AND r.rel NOT IN (SELECT rel FROM directory)
        UNION ALL
        SELECT r.rel::regclass,
               format('foreign key %I to %s does not pair the tenant columns %I and %I: it can reference another tenant''s row',
                      f.conname, f.dst::regclass, r.tenant_column, d.tenant_column)
          FROM fks f JOIN roots r ON r.rel = f.src JOIN roots d ON d.rel = f.dst
         WHERE NOT EXISTS (SELECT FROM generate_subscripts(f.conkey, 1) k
                            WHERE f.conkey[k] = r.tenant_attnum AND f.confkey[k] = d.tenant_attnum)
        UNION ALL
        SELECT f.src::regclass,
               format('foreign key %I of a table without tenant isolation references tenant table %s: a Citus reference table cannot reference a distributed table',
                      f.conname, f.dst::regclass)
          FROM fks f JOIN roots d ON d.rel = f.dst
         WHERE NOT EXISTS (SELECT FROM roots s WHERE s.rel = f.src)
           AND f.dst NOT IN (SELECT rel FROM directory)
           AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = f.src AND c.relispartition)
    )
    SELECT * FROM (
    SELECT 1 AS step, g.rel::regclass AS rel, 'reference' AS kind, 'global table referenced by tenant tables' AS detail,
           format('SELECT create_reference_table(%L);', g.rel::regclass) AS statement
      FROM refs g
    UNION ALL
    SELECT 1, d.rel::regclass, 'reference', 'the tenant directory: one row per tenant, referenced by every tenant table',
           format('SELECT create_reference_table(%L);', d.rel::regclass)
      FROM directory d
    UNION ALL
    SELECT 2 + max(d.n), d.rel::regclass, 'distribute',
           format('distributed by %I', r.tenant_column),
           format('SELECT create_distributed_table(%L, %L);', d.rel::regclass, r.tenant_column)
      FROM depth d JOIN roots r ON r.rel = d.rel
     GROUP BY d.rel, r.tenant_column
    UNION ALL
    SELECT NULL, p.rel, 'problem', p.detail, NULL FROM problems p
    ) plan
    ORDER BY plan.step NULLS FIRST, plan.rel::text, plan.detail;
END;
COMMENT ON FUNCTION @extschema@.citus_plan() IS
    'check that isolated tables can be distributed by Citus on their tenant column; the statements that would do it, or the problems';

-- ===========================================================================
-- Part 7: master key rotation
--
-- Every wrapped data key records the id of the master key that wrapped it
-- (NULL for keys wrapped before 0.5.0: the current key).  To rotate the
-- master key, a DBA configures the new key as tenantcore.master_key_file and
-- the old one as tenantcore.previous_master_key_file, reloads, and runs
-- rewrap_tenant_keys(); then removes the previous key from the settings.
-- ===========================================================================

ALTER TABLE @extschema@.tenant_keys ADD COLUMN master_key_id text;
COMMENT ON COLUMN @extschema@.tenant_keys.master_key_id IS
    'id of the master key that wrapped wrapped_key (see master_key_status()); NULL: wrapped before 0.5.0 by the master key configured then';

CREATE FUNCTION @extschema@.rewrap_tenant_keys() RETURNS bigint
    AS 'MODULE_PATHNAME', 'tenantcore_rewrap_tenant_keys'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.rewrap_tenant_keys() IS
    'wrap every tenant data key with the current master key (the last step of a master key rotation); returns how many were rewrapped';
REVOKE EXECUTE ON FUNCTION @extschema@.rewrap_tenant_keys() FROM PUBLIC;

CREATE FUNCTION @extschema@._master_key_id(previous boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'tenantcore_master_key_id'
    LANGUAGE C VOLATILE STRICT;
REVOKE EXECUTE ON FUNCTION @extschema@._master_key_id(boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@.master_key_status()
RETURNS TABLE (wrapped_by text, master_key_id text, data_keys bigint)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH ids AS (
        SELECT @extschema@._master_key_id(false) AS current_id,
               @extschema@._master_key_id(true) AS previous_id
    )
    SELECT CASE WHEN k.master_key_id IS NULL THEN 'current (recorded before 0.5.0)'
                WHEN k.master_key_id = ids.current_id THEN 'current'
                WHEN k.master_key_id = ids.previous_id THEN 'previous'
                ELSE 'not configured' END,
           k.master_key_id, count(*)
      FROM @extschema@.tenant_keys k, ids
     WHERE k.wrapped_key IS NOT NULL
     GROUP BY 1, 2
     ORDER BY 1, 2;
END;
COMMENT ON FUNCTION @extschema@.master_key_status() IS
    'how many tenant data keys each master key wraps: a master key rotation is complete when all are wrapped by the current one';
REVOKE EXECUTE ON FUNCTION @extschema@.master_key_status() FROM PUBLIC;

-- ===========================================================================
-- Part 8: built-in retention of the core tables
--
-- Sessions and API keys end when they expire or are revoked (ended_at =
-- LEAST(expires_at, revoked_at)); they are removed after a grace period in
-- which the application can still show "this session was revoked".  Access
-- and error logs hold IP addresses and user agents (personal data), so they
-- are not kept forever either.  All enabled; a DBA changes a period with
-- retain(), or turns one off with disable_retention(): such changes survive
-- dump and restore (retention_builtin_settings).
-- ===========================================================================

SELECT @extschema@._builtin_retain(-2, '@extschema@.sessions', 'ended_at', '30 days', 'delete', true);
SELECT @extschema@._builtin_retain(-3, '@extschema@.api_keys', 'ended_at', '90 days', 'delete', true);
SELECT @extschema@._builtin_retain(-4, '@extschema@.access_logs', 'occurred_at', '1 year', 'delete', true);
SELECT @extschema@._builtin_retain(-5, '@extschema@.error_logs', 'occurred_at', '90 days', 'delete', true);
