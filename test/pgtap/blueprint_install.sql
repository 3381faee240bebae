-- tenantcore pgTAP: install_blueprint() -- errors with their SQLSTATE, the
-- shape of every blueprint (keys and foreign keys that include
-- organization_id, the installers applied), installing twice, and a failure
-- halfway that leaves nothing behind
BEGIN;
SELECT plan(45);

CREATE SCHEMA bpi;
-- shape_holes(schema): every way a blueprint table breaks the rules of issue 6
CREATE FUNCTION bpi.shape_holes(s name) RETURNS SETOF text LANGUAGE sql AS $$
    WITH t AS (SELECT c.oid, c.oid::regclass AS rel FROM pg_class c
                WHERE c.relnamespace = s::regnamespace AND c.relkind = 'r')
    -- primary key (organization_id, id)
    SELECT rel || ': primary key is not (organization_id, id)' FROM t
     WHERE NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = t.oid AND i.indisprimary
                          AND (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(i.indkey) WITH ORDINALITY k (attnum, n)
                                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) = '{organization_id,id}')
    UNION ALL
    -- organization_id NOT NULL, referencing organizations ON DELETE CASCADE
    SELECT rel || ': organization_id is nullable' FROM t
     WHERE NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = t.oid AND attname = 'organization_id')
    UNION ALL
    SELECT rel || ': no organization_id -> organizations ON DELETE CASCADE' FROM t
     WHERE NOT EXISTS (SELECT FROM pg_constraint con WHERE con.conrelid = t.oid AND con.contype = 'f'
                          AND con.confrelid = 'tenantcore.organizations'::regclass AND con.confdeltype = 'c'
                          AND con.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = t.oid AND attname = 'organization_id')])
    UNION ALL
    -- every unique index includes organization_id
    SELECT format('%s: unique index %s without organization_id', rel, i.indexrelid::regclass) FROM t
      JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique
     WHERE NOT (SELECT attnum FROM pg_attribute WHERE attrelid = t.oid AND attname = 'organization_id') = ANY (i.indkey)
    UNION ALL
    -- every foreign key to another tenant table pairs organization_id with organization_id
    SELECT format('%s: foreign key %s does not pair organization_id', rel, con.conname) FROM t
      JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f'
     WHERE con.confrelid NOT IN ('tenantcore.organizations'::regclass, 'tenantcore.users'::regclass)
       AND NOT EXISTS (SELECT FROM unnest(con.conkey, con.confkey) k (ck, pk)
                        WHERE ck = (SELECT attnum FROM pg_attribute WHERE attrelid = con.conrelid AND attname = 'organization_id')
                          AND pk = (SELECT attnum FROM pg_attribute WHERE attrelid = con.confrelid AND attname = 'organization_id'))
    UNION ALL
    -- a foreign key to a tenant table in another schema
    SELECT format('%s: foreign key %s leaves the schema', rel, con.conname) FROM t
      JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f'
     WHERE con.confrelid NOT IN ('tenantcore.organizations'::regclass, 'tenantcore.users'::regclass)
       AND (SELECT relnamespace FROM pg_class WHERE oid = con.confrelid) <> s::regnamespace
    UNION ALL
    -- the installers: isolated (forced RLS), audited, updated_at tracked, soft deletes retained
    SELECT rel || ': not isolated' FROM t
     WHERE NOT EXISTS (SELECT FROM tenantcore.isolated_tables it WHERE it.rel = t.oid)
        OR NOT (SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = t.oid)
    UNION ALL
    SELECT rel || ': not audited' FROM t
     WHERE NOT EXISTS (SELECT FROM tenantcore.audited_tables a WHERE a.rel = t.oid)
    UNION ALL
    SELECT rel || ': updated_at not tracked' FROM t
     WHERE EXISTS (SELECT FROM pg_attribute WHERE attrelid = t.oid AND attname = 'updated_at')
       AND NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = t.oid AND tgname = 'tenantcore_updated_at')
    UNION ALL
    SELECT rel || ': soft-deleted rows not retained' FROM t
     WHERE EXISTS (SELECT FROM pg_attribute WHERE attrelid = t.oid AND attname = 'deleted_at')
       AND NOT EXISTS (SELECT FROM tenantcore.retention_policies p WHERE p.rel = t.oid AND p.time_column = 'deleted_at')
    UNION ALL
    -- the seeds' soft-delete indexes
    SELECT rel || ': no partial index on deleted_at IS NULL' FROM t
     WHERE EXISTS (SELECT FROM pg_attribute WHERE attrelid = t.oid AND attname = 'deleted_at')
       AND NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = t.oid
                          AND pg_get_expr(i.indpred, i.indrelid) LIKE '%deleted_at IS NULL%')
$$;

-- errors, with their SQLSTATE
SELECT throws_ok($$SELECT tenantcore.install_blueprint(NULL, 'bpi_x')$$, '22004',
                 'install_blueprint: blueprint name and schema must not be null', 'NULL blueprint name');
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', NULL)$$, '22004',
                 'install_blueprint: blueprint name and schema must not be null', 'NULL schema');
SELECT throws_ok($$SELECT tenantcore.install_blueprint('crm', 'bpi_x')$$, '42704', 'unknown blueprint "crm"',
                 'unknown blueprint');
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', 'x"; DROP SCHEMA tenantcore CASCADE; --')$$, '42602',
                 $m$invalid schema name 'x"; DROP SCHEMA tenantcore CASCADE; --'$m$, 'an injection-like schema name');
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', 'Mixed')$$, '42602', NULL, 'a schema name that needs quoting');
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', 'pg_toast')$$, '42501',
                 'cannot install a blueprint into system or extension schema pg_toast', 'a system schema');
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', 'tenantcore')$$, '42501', NULL, 'the extension''s schema');
CREATE ROLE bpi_user NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('bpi_user');
SET LOCAL ROLE bpi_user;
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', 'bpi_x')$$, '42501',
                 'permission denied for function install_blueprint', 'an application role cannot install');
SELECT throws_ok($$SELECT tenantcore.seed_demo('bpi_x')$$, '42501', NULL, 'nor seed');
RESET ROLE;
GRANT EXECUTE ON FUNCTION tenantcore.install_blueprint(text, name), tenantcore.seed_demo(name, integer) TO bpi_user;
SET LOCAL ROLE bpi_user;
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', 'bpi_x')$$, '42501',
                 'permission denied to install blueprint "cpa"', 'a non-superuser with EXECUTE cannot install either');
SELECT throws_ok($$SELECT tenantcore.seed_demo('bpi_x')$$, '42501', 'permission denied to run seed_demo',
                 'nor seed');
RESET ROLE;
SELECT hasnt_schema('bpi_x', 'no schema was created by the refused calls');

-- every blueprint into a fresh schema: the tables of blueprints(), in its order
CREATE TEMP TABLE installed AS
SELECT bp, row_number() OVER () AS n, rel
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp,
       LATERAL tenantcore.install_blueprint(bp, 'bpi_' || bp) rel;
SELECT results_eq(format('SELECT rel::text FROM installed WHERE bp = %L ORDER BY n', bp),
                  format('SELECT (%L || unnest(tables)) COLLATE "default" FROM tenantcore.blueprints() WHERE name = %L', 'bpi_' || bp || '.', bp),
                  format('install_blueprint(%L) creates its tables and returns them', bp))
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp;
SELECT is_empty(format('SELECT * FROM bpi.shape_holes(%L)', 'bpi_' || bp),
                format('%s: keys include organization_id, every table isolated, audited, tracked, retained', bp))
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp;
SELECT is_empty('SELECT * FROM tenantcore.lint()', 'lint() finds no hole in the six blueprints');
SELECT results_eq($$SELECT schema_name::text COLLATE "default", blueprint FROM tenantcore.installed_blueprints ORDER BY 1$$,
                  $$VALUES ('bpi_automotive', 'automotive'), ('bpi_cpa', 'cpa'), ('bpi_home_services', 'home_services'),
                           ('bpi_projects', 'projects'), ('bpi_restaurant', 'restaurant'), ('bpi_retail', 'retail')$$,
                  'the registry records each schema and its blueprint');
-- the control: shape_holes does see a table that breaks the rules
CREATE TABLE bpi_cpa.extra (organization_id uuid, id int PRIMARY KEY, client_id uuid UNIQUE);
SELECT set_eq($$SELECT h FROM bpi.shape_holes('bpi_cpa') h WHERE h LIKE 'bpi_cpa.extra:%'$$,
              $$VALUES ('bpi_cpa.extra: primary key is not (organization_id, id)'), ('bpi_cpa.extra: organization_id is nullable'),
                       ('bpi_cpa.extra: no organization_id -> organizations ON DELETE CASCADE'),
                       ('bpi_cpa.extra: unique index bpi_cpa.extra_pkey without organization_id'),
                       ('bpi_cpa.extra: unique index bpi_cpa.extra_client_id_key without organization_id'),
                       ('bpi_cpa.extra: not isolated'), ('bpi_cpa.extra: not audited')$$,
              'control: shape_holes reports a table that breaks the rules');
DROP TABLE bpi_cpa.extra;

-- what the installers were asked for (CPA)
SELECT set_eq($$SELECT rel::text || '.' || column_name FROM tenantcore.protected_columns WHERE rel::text LIKE 'bpi_cpa.%'$$,
              $$VALUES ('bpi_cpa.clients.tax_id'), ('bpi_cpa.documents.encryption_key'),
                       ('bpi_cpa.quickbooks_tokens.access_token'), ('bpi_cpa.quickbooks_tokens.refresh_token')$$,
              'cpa: tax ids, document keys and QuickBooks tokens are protected');
SELECT set_eq($$SELECT unnest(redact_columns) FROM tenantcore.audited_tables WHERE rel = 'bpi_cpa.quickbooks_tokens'::regclass$$,
              $$VALUES ('access_token_encrypted'), ('refresh_token_encrypted')$$,
              'cpa: the token ciphertext is redacted in the audit trail');
SELECT set_eq($$SELECT unnest(redact_columns) FROM tenantcore.audited_tables WHERE rel = 'bpi_cpa.document_shares'::regclass$$,
              $$VALUES ('token_hash')$$, 'cpa: share token hashes are redacted in the audit trail');
SELECT set_eq($$SELECT time_column || ' ' || keep || ' ' || action FROM tenantcore.retention_policies
                 WHERE rel = 'bpi_cpa.documents'::regclass$$,
              $$VALUES ('retention_date 00:00:01 delete'), ('deleted_at 30 days delete')$$,
              'cpa: documents go after their retention date, and 30 days after a soft delete');
SELECT is((SELECT action FROM tenantcore.retention_policies WHERE rel = 'bpi_cpa.clients'::regclass), 'anonymize',
          'cpa: soft-deleted clients are anonymized (their invoices stay)');
SELECT col_not_null('bpi_cpa', 'quickbooks_tokens', 'access_token_encrypted', 'cpa: a QuickBooks token is required (ciphertext NOT NULL)');
SELECT has_index('bpi_cpa', 'documents', 'documents_tags_gin', 'cpa: GIN index on document tags');

-- installing twice: a clear error, the first install untouched
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', 'bpi_cpa')$$, '42710',
                 'schema bpi_cpa already holds blueprint "cpa"', 'installing twice is an error');
SELECT throws_ok($$SELECT tenantcore.install_blueprint('retail', 'bpi_cpa')$$, '42710', NULL,
                 'so is another blueprint into the same schema');
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = 'bpi_cpa'::regnamespace AND relkind = 'r'), 16::bigint,
          'the first install keeps its 16 tables');

-- a failure halfway: the last table's audit trigger fails, after the other
-- tables were created, protected, isolated, audited and retained
CREATE FUNCTION bpi.fail_late() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands() WHERE object_identity = 'tenantcore_audit on bpi_late.quickbooks_syncs') THEN
        RAISE EXCEPTION 'injected failure';
    END IF;
END
$$;
CREATE EVENT TRIGGER bpi_fail_late ON ddl_command_end WHEN TAG IN ('CREATE TRIGGER') EXECUTE FUNCTION bpi.fail_late();
CREATE TEMP TABLE registry_before AS
SELECT (SELECT count(*) FROM tenantcore.isolated_tables) AS isolated, (SELECT count(*) FROM tenantcore.audited_tables) AS audited,
       (SELECT count(*) FROM tenantcore.protected_columns) AS protected, (SELECT count(*) FROM tenantcore.retention_policies) AS retained,
       (SELECT count(*) FROM tenantcore.installed_blueprints) AS installed, (SELECT count(*) FROM tenantcore.subject_tables) AS subjects;
SELECT throws_ok($$SELECT tenantcore.install_blueprint('cpa', 'bpi_late')$$, 'P0001', 'injected failure',
                 'an install that fails at its last step raises the error');
DROP EVENT TRIGGER bpi_fail_late;
SELECT hasnt_schema('bpi_late', '... and leaves no schema');
SELECT results_eq($$SELECT (SELECT count(*) FROM tenantcore.isolated_tables), (SELECT count(*) FROM tenantcore.audited_tables),
                           (SELECT count(*) FROM tenantcore.protected_columns), (SELECT count(*) FROM tenantcore.retention_policies),
                           (SELECT count(*) FROM tenantcore.installed_blueprints), (SELECT count(*) FROM tenantcore.subject_tables)$$,
                  'SELECT * FROM registry_before', '... and no registration of any installer');
SELECT lives_ok($$SELECT tenantcore.install_blueprint('cpa', 'bpi_late')$$, 'the same install then succeeds');

-- an existing (empty) schema is used as it is; a dropped schema forgets its blueprint
CREATE SCHEMA bpi_existing;
CREATE TABLE bpi_existing.mine (organization_id uuid NOT NULL, id int, deleted_at timestamptz, PRIMARY KEY (organization_id, id));
SELECT lives_ok($$SELECT tenantcore.install_blueprint('restaurant', 'bpi_existing')$$, 'a blueprint goes into an existing schema');
SELECT ok(NOT EXISTS (SELECT FROM tenantcore.isolated_tables WHERE rel = 'bpi_existing.mine'::regclass)
          AND NOT EXISTS (SELECT FROM tenantcore.audited_tables WHERE rel = 'bpi_existing.mine'::regclass)
          AND NOT EXISTS (SELECT FROM tenantcore.retention_policies WHERE rel = 'bpi_existing.mine'::regclass),
          '... and leaves the schema''s other tables alone');
SET LOCAL client_min_messages = warning;
DROP SCHEMA bpi_existing CASCADE;
RESET client_min_messages;
SELECT is((SELECT count(*) FROM tenantcore.installed_blueprints WHERE blueprint = 'restaurant'), 1::bigint,
          'dropping the schema removes its registry row');

-- a renamed schema keeps its blueprint
ALTER SCHEMA bpi_retail RENAME TO bpi_shop;
SELECT results_eq($$SELECT blueprint FROM tenantcore.installed_blueprints WHERE schema_name = 'bpi_shop'$$,
                  $$VALUES ('retail')$$, 'a renamed schema keeps its registration');

SELECT * FROM finish();
ROLLBACK;
