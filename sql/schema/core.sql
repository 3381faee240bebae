-- sql/schema/core.sql -- the core schema (organizations, people, roles, sessions, API keys,
-- ...): what a fresh install creates that cannot be re-run (doc/design.md,
-- "Source layout").  Changes go to sql/updates/ as well.

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

-- The permission catalogue: global, keyed by its text so has_permission()
-- needs no join to find it.
CREATE TABLE @extschema@.permissions (
    key         text        NOT NULL
                CONSTRAINT permissions_key_check CHECK (key ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    description text,
    -- rows the DBA adds to the catalogue are dumped, the built-in ones are not
    builtin     boolean     NOT NULL DEFAULT false,
    CONSTRAINT permissions_pkey PRIMARY KEY (key)
);

-- System role templates, copied into every organization when it is created.
CREATE TABLE @extschema@.role_templates (
    key         text        NOT NULL
                CONSTRAINT role_templates_key_check CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    name        text        NOT NULL,
    description text,
    builtin     boolean     NOT NULL DEFAULT false,
    CONSTRAINT role_templates_pkey PRIMARY KEY (key)
);

CREATE TABLE @extschema@.role_template_permissions (
    template_key text NOT NULL REFERENCES @extschema@.role_templates (key) ON DELETE CASCADE ON UPDATE CASCADE,
    permission   text NOT NULL REFERENCES @extschema@.permissions (key) ON DELETE CASCADE ON UPDATE CASCADE,
    builtin      boolean NOT NULL DEFAULT false,
    CONSTRAINT role_template_permissions_pkey PRIMARY KEY (template_key, permission)
);

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
INSERT INTO @extschema@.permissions (key, description, builtin) VALUES
    ('organization.read',   'read the organization', true),
    ('organization.manage', 'change the organization''s name, slug and settings', true),
    ('members.read',        'list members', true),
    ('members.manage',      'invite, add and remove members, change their organization role', true),
    ('teams.read',          'list teams and their members', true),
    ('teams.manage',        'create, change and delete teams and their members', true),
    ('roles.manage',        'create roles, grant and revoke roles', true),
    ('billing.manage',      'change the subscription', true),
    ('settings.manage',     'change organization settings', true),
    ('api_keys.manage',     'create and revoke API keys of the organization', true),
    ('audit.read',          'read the audit and access logs', true);

INSERT INTO @extschema@.role_templates (key, name, description, builtin) VALUES
    ('owner',   'Owner',   'everything, including billing', true),
    ('admin',   'Admin',   'everything but billing', true),
    ('manager', 'Manager', 'manage teams, read members', true),
    ('member',  'Member',  'read the organization, its members and teams', true);

INSERT INTO @extschema@.role_template_permissions (template_key, permission, builtin)
SELECT 'owner', key, true FROM @extschema@.permissions
UNION ALL SELECT 'admin', key, true FROM @extschema@.permissions WHERE key <> 'billing.manage'
UNION ALL SELECT 'manager', unnest('{organization.read,members.read,teams.read,teams.manage}'::text[]), true
UNION ALL SELECT 'member', unnest('{organization.read,members.read,teams.read}'::text[]), true;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.permissions', 'WHERE NOT builtin');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.role_templates', 'WHERE NOT builtin');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.role_template_permissions', 'WHERE NOT builtin');

-- The global identity tables: a role sees itself and the members of the
-- current tenant, and changes only itself.  New people come through
-- create_user() / invite_member().
ALTER TABLE @extschema@.users ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

ALTER TABLE @extschema@.user_profiles ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- Who may make a person a member without the person's consent.  In 0.6.0
-- add_member(user) took any user id, and a tenant learns ids of people it
-- cannot see from its own invitations (the organization_members row):
-- invite_member, remove_member, add_member(id) made the invitee an active
-- member, visible to the tenant (users, user_profiles) without accepting.
-- user_origins records the tenant in whose context create_user() made a
-- person: those the tenant created itself it may add.  Read only by the
-- extension's functions (no privileges for PUBLIC).
CREATE TABLE @extschema@.user_origins (
    user_id         uuid        NOT NULL REFERENCES @extschema@.users (id) ON DELETE CASCADE,
    organization_id uuid        NOT NULL REFERENCES @extschema@.organizations (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT user_origins_pkey PRIMARY KEY (user_id)
);

CREATE INDEX user_origins_organization_idx ON @extschema@.user_origins (organization_id);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.user_origins', '');

-- ---------------------------------------------------------------------------
-- The core tables under the extension's own installers: isolation (tenant
-- tables), audit (with redacted columns), GDPR and built-in retention.  The
-- registry rows are builtin: CREATE EXTENSION writes them again when a dump is
-- restored, so they are not dumped, and the tables' rows are.  The policies,
-- audit and updated_at triggers and the tenant column defaults are in
-- sql/core.sql.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.user_profiles', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.roles', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.role_permissions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.organization_members', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.user_roles', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.teams', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.team_members', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.notifications', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consents', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.access_logs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.error_logs', '');

-- isolated (organizations: the tenant is the row itself)
INSERT INTO @extschema@.isolated_tables (rel, tenant_column, source, builtin) VALUES
    ('@extschema@.organizations', 'id', 'isolate', true),
    ('@extschema@.roles', 'organization_id', 'isolate', true),
    ('@extschema@.role_permissions', 'organization_id', 'isolate', true),
    ('@extschema@.organization_members', 'organization_id', 'isolate', true),
    ('@extschema@.user_roles', 'organization_id', 'isolate', true),
    ('@extschema@.teams', 'organization_id', 'isolate', true),
    ('@extschema@.team_members', 'organization_id', 'isolate', true),
    ('@extschema@.sessions', 'organization_id', 'isolate', true),
    ('@extschema@.api_keys', 'organization_id', 'isolate', true),
    ('@extschema@.subscriptions', 'organization_id', 'isolate', true),
    ('@extschema@.settings', 'organization_id', 'isolate', true),
    ('@extschema@.notifications', 'organization_id', 'isolate', true),
    ('@extschema@.consents', 'organization_id', 'isolate', true),
    ('@extschema@.access_logs', 'organization_id', 'isolate', true),
    ('@extschema@.error_logs', 'organization_id', 'isolate', true);

ALTER TABLE @extschema@.organizations ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.roles ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.role_permissions ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.organization_members ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.user_roles ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.teams ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.team_members ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.sessions ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.api_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.subscriptions ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.settings ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.notifications ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.consents ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.access_logs ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.error_logs ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- audited; bookkeeping columns that change on every login or use are not
-- audited (an UPDATE that changes only them leaves no entry).  The logs are
-- append-only records themselves: isolated, not audited.  table_id as
-- _audit_table_id() makes it; rows in the order of the tables' oids (as
-- _audit_table_id() was first applied).
INSERT INTO @extschema@.audited_tables (rel, exclude_columns, redact_columns, tenant_column, builtin, table_id, rel_name)
SELECT rel::regclass, exclude_columns::text[], redact_columns::text[], tenant_column, true,
       pg_catalog.md5('tenantcore audited table ' || rel)::uuid, rel
  FROM (VALUES
    ('@extschema@.users', '{last_login_at,updated_at}', '{password_hash}', NULL),
    ('@extschema@.organizations', '{}', '{}', 'id'),
    ('@extschema@.user_profiles', '{}', '{}', NULL),
    ('@extschema@.roles', '{}', '{}', 'organization_id'),
    ('@extschema@.role_permissions', '{}', '{}', 'organization_id'),
    ('@extschema@.organization_members', '{}', '{}', 'organization_id'),
    ('@extschema@.user_roles', '{}', '{}', 'organization_id'),
    ('@extschema@.teams', '{}', '{}', 'organization_id'),
    ('@extschema@.team_members', '{}', '{}', 'organization_id'),
    ('@extschema@.sessions', '{last_used_at}', '{token_hash}', 'organization_id'),
    ('@extschema@.api_keys', '{last_used_at}', '{key_hash}', 'organization_id'),
    ('@extschema@.subscriptions', '{}', '{}', 'organization_id'),
    ('@extschema@.settings', '{}', '{}', 'organization_id'),
    ('@extschema@.notifications', '{}', '{}', 'organization_id'),
    ('@extschema@.consents', '{}', '{}', 'organization_id')
) AS t(rel, exclude_columns, redact_columns, tenant_column);

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

-- built-in retention (negative ids: _builtin_retain(); the DBA changes them
-- with retain(), enable_retention() and disable_retention())
INSERT INTO @extschema@.retention_policies (id, rel, time_column, keep, action, tenant_column, enabled, builtin) VALUES
    (-1, '@extschema@.audit_log',   'occurred_at', '7 years', 'drop_partition', 'organization_id', true, true),
    (-2, '@extschema@.sessions',    'ended_at',    '30 days', 'delete',         'organization_id', true, true),
    (-3, '@extschema@.api_keys',    'ended_at',    '90 days', 'delete',         'organization_id', true, true),
    (-4, '@extschema@.access_logs', 'occurred_at', '1 year',  'delete',         'organization_id', true, true),
    (-5, '@extschema@.error_logs',  'occurred_at', '90 days', 'delete',         'organization_id', true, true),
    (-6, '@extschema@.audit_reads', 'recorded_at', '7 years', 'delete',         'organization_id', true, true);
