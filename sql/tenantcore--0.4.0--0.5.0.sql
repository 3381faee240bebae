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

-- which blueprint lives in which schema (one blueprint per schema)
CREATE TABLE @extschema@.installed_blueprints (
    schema_name  regnamespace NOT NULL,
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

-- _blueprint_protect(rel, column, searchable) protects a column of a new
-- blueprint table (a thin wrapper so the blueprint bodies read well)
CREATE FUNCTION @extschema@._blueprint_protect(s name, tbl name, col name, searchable boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.protect(format('%I.%I', s, tbl)::regclass, col, searchable);
END
$$;

-- _blueprint_finish(schema) puts every table of a freshly created blueprint
-- schema under the installers: isolation, audit (ciphertext, blind indexes
-- and token hashes redacted), updated_at tracking, and the retention of
-- soft-deleted rows (30 days after deleted_at)
CREATE FUNCTION @extschema@._blueprint_finish(s name, redact jsonb, anonymize jsonb)
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
           AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id'
                          AND NOT a.attisdropped)
         ORDER BY c.oid
    LOOP
        PERFORM @extschema@.isolate(t.rel);
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

    PERFORM @extschema@._blueprint_finish(s,
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
    PERFORM @extschema@._blueprint_finish(s, '{}', '{}');
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
    PERFORM @extschema@._blueprint_finish(s, '{}', '{}');
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
    PERFORM @extschema@._blueprint_finish(s, '{}', '{}');
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
    PERFORM @extschema@._blueprint_finish(s, '{}', '{}');
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
    PERFORM @extschema@._blueprint_finish(s, '{}', '{}');
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
        SELECT b.blueprint INTO existing FROM @extschema@.installed_blueprints b WHERE b.schema_name = nsp;
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
    INSERT INTO @extschema@.installed_blueprints (schema_name, blueprint) VALUES (nsp, name);

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
     WHERE d.classid = 'pg_namespace'::regclass AND d.objid = b.schema_name::oid;
END
$$;
CREATE EVENT TRIGGER tenantcore_forget_dropped_blueprints ON sql_drop
    EXECUTE FUNCTION @extschema@._blueprints_on_sql_drop();
