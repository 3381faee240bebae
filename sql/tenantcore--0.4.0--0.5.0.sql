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
-- tables first (global tables that tenant tables point to), then every
-- isolated table that is not a partition, referenced tables before the tables
-- that reference them.  Problems are rows of kind 'problem', with no statement.
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
    ), refs AS (
        -- global tables reached from tenant tables (directly or through other global tables)
        SELECT f.dst AS rel FROM fks f JOIN roots r ON r.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
        UNION
        SELECT f.dst FROM fks f JOIN refs g ON g.rel = f.src
         WHERE NOT EXISTS (SELECT FROM roots d WHERE d.rel = f.dst)
    ), depth AS (
        -- how many tenant tables a tenant table depends on in a row
        SELECT r.rel, 0 AS n FROM roots r
        UNION
        SELECT f.src, d.n + 1
          FROM fks f JOIN depth d ON d.rel = f.dst JOIN roots r ON r.rel = f.src
         WHERE f.src <> f.dst AND d.n < 50
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
           AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = f.src AND c.relispartition)
    )
    SELECT * FROM (
    SELECT 1 AS step, g.rel::regclass AS rel, 'reference' AS kind, 'global table referenced by tenant tables' AS detail,
           format('SELECT create_reference_table(%L);', g.rel::regclass) AS statement
      FROM refs g
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
