-- sql/blueprints.sql -- blueprints (install_blueprint) and demo data (seed_demo, seed_bench).
-- Re-runnable definitions, each the current one: both the full install script
-- and the upgrade script run this file (doc/design.md, "Source layout").

REVOKE ALL ON @extschema@.installed_blueprints FROM PUBLIC;
GRANT SELECT ON @extschema@.installed_blueprints TO PUBLIC;

-- blueprints() lists the blueprints install_blueprint() knows
CREATE OR REPLACE FUNCTION @extschema@.blueprints()
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_protect(s name, tbl name, col name, searchable boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.protect(format('%I.%I', s, tbl)::regclass, col, searchable);
END
$$;

-- _blueprint_finish(schema, blueprint, redact, anonymize) puts the tables of
-- a freshly created blueprint (and no other table of the schema) under the
-- installers: isolation, audit (ciphertext, blind indexes
-- and token hashes redacted), updated_at tracking, and the retention of
-- soft-deleted rows (30 days after deleted_at); every column that references
-- a person (a foreign key to users) is a GDPR subject column kept on erasure
CREATE OR REPLACE FUNCTION @extschema@._blueprint_finish(s name, bp text, redact jsonb, anonymize jsonb)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_cpa(s name)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_projects(s name)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_customers(s name)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_home_services(s name)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_restaurant(s name)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_automotive(s name)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_retail(s name)
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
CREATE OR REPLACE FUNCTION @extschema@.install_blueprint(name text, target_schema name)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprints_on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.installed_blueprints b
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_namespace'::regclass AND d.object_name = b.schema_name;
END
$$;

DROP EVENT TRIGGER IF EXISTS tenantcore_forget_dropped_blueprints;
CREATE EVENT TRIGGER tenantcore_forget_dropped_blueprints ON sql_drop
    EXECUTE FUNCTION @extschema@._blueprints_on_sql_drop();

-- a renamed schema keeps its blueprint: the one registration whose schema no
-- longer exists takes the new name
CREATE OR REPLACE FUNCTION @extschema@._blueprints_on_rename() RETURNS event_trigger
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

DROP EVENT TRIGGER IF EXISTS tenantcore_rename_blueprints;
CREATE EVENT TRIGGER tenantcore_rename_blueprints ON ddl_command_end WHEN TAG IN ('ALTER SCHEMA')
    EXECUTE FUNCTION @extschema@._blueprints_on_rename();

-- _blueprint_exec(sql, org, users, n) runs the statements of sql (separated
-- by a semicolon at the end of a line) one by one with the parameters $1-$3
CREATE OR REPLACE FUNCTION @extschema@._blueprint_exec(sql text, org uuid, users uuid[], n integer)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_fill(s name, blueprint text, org uuid, users uuid[], n integer)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_of(target_schema name, caller text)
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
CREATE OR REPLACE FUNCTION @extschema@._blueprint_counts(target_schema name)
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

-- seed_bench(schema, tenants, rows_per_tenant) creates tenants new
-- organizations with two users each and fills the blueprint schema for them:
-- rows_per_tenant rows in the main table of the blueprint, a few per row in
-- the others
CREATE OR REPLACE FUNCTION @extschema@.seed_bench(target_schema name, tenants integer, rows_per_tenant integer)
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

-- seed_demo(schema) fills a blueprint schema with two demo organizations
-- (Acme Accounting and Birch & Co), their users and a few rows per table.
-- 0.6.0 inserted the organizations with ON CONFLICT DO NOTHING, so after the
-- README's core schema step (an organization with slug 'acme') Acme
-- Accounting was silently skipped and the seeding failed on a foreign key.
-- The demo organizations keep their ids (documented, used by the demos) and
-- take another slug when theirs belongs to another organization; a demo
-- user's e-mail address taken by another user is a clear error.
CREATE OR REPLACE FUNCTION @extschema@.seed_demo(target_schema name, rows_per_tenant integer DEFAULT 3)
RETURNS TABLE (table_name regclass, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bp     text;
    org    record;
    u      record;
    new_slug text;
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
    FOR u IN VALUES ('a11ce000-0000-4000-8000-000000000001'::uuid, 'alice@acme.example', 'Alice', 'Adams'),
                    ('a11ce000-0000-4000-8000-000000000002'::uuid, 'arjun@acme.example', 'Arjun', 'Acharya'),
                    ('b0b00000-0000-4000-8000-000000000001'::uuid, 'bob@birch.example', 'Bob', 'Brown'),
                    ('b0b00000-0000-4000-8000-000000000002'::uuid, 'bea@birch.example', 'Bea', 'Baker')
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM @extschema@.users x WHERE x.id = u.column1);
        IF EXISTS (SELECT FROM @extschema@.users x WHERE lower(x.email) = u.column2) THEN
            RAISE EXCEPTION 'seed_demo: the demo user''s e-mail address % belongs to another user', u.column2
                USING ERRCODE = 'unique_violation',
                      DETAIL = format('The demo users have fixed ids; %s is demo user %s.', u.column2, u.column1),
                      HINT = 'Seed the demo into a database without users of the example.com demo domains.';
        END IF;
        INSERT INTO @extschema@.users (id, email, first_name, last_name, status, is_verified)
        VALUES (u.column1, u.column2, u.column3, u.column4, 'active', true);
    END LOOP;
    FOR org IN VALUES ('ac3e0000-0000-4000-8000-00000000000a'::uuid, 'Acme Accounting', 'acme', 'professional',
                       'a11ce000-0000-4000-8000-000000000001'::uuid),
                      ('b1c40000-0000-4000-8000-00000000000b'::uuid, 'Birch & Co', 'birch', 'starter',
                       'b0b00000-0000-4000-8000-000000000001'::uuid)
    LOOP
        CONTINUE WHEN EXISTS (SELECT FROM @extschema@.organizations o WHERE o.id = org.column1);
        new_slug := org.column3;
        IF EXISTS (SELECT FROM @extschema@.organizations o WHERE o.slug = new_slug) THEN
            new_slug := org.column3 || '-demo';
            IF EXISTS (SELECT FROM @extschema@.organizations o WHERE o.slug = new_slug) THEN
                new_slug := org.column3 || '-demo-' || left(org.column1::text, 8);
            END IF;
            RAISE NOTICE 'demo organization "%" gets slug "%": "%" belongs to another organization',
                         org.column2, new_slug, org.column3;
        END IF;
        INSERT INTO @extschema@.organizations (id, name, slug, subscription_tier, owner_id)
        VALUES (org.column1, org.column2, new_slug, org.column4, org.column5);
    END LOOP;
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
