-- tenantcore pgTAP (adversarial suite): the audit log, PII encryption, key
-- tables, retention, GDPR and a seeded blueprint as seen by an application
-- role (NOSUPERUSER NOBYPASSRLS) with two tenants: only the tenant's own
-- audit entries, and only of tables the role may read; no forged, changed or
-- deleted entries; no key material; another tenant's ciphertext cannot be
-- decrypted even copied into an own row or with a forged header; another
-- tenant's blind index cannot be computed; the retention and GDPR functions
-- are out of reach; leaky functions over a blueprint see only the tenant.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(38);

\set owner atk_c_owner
\set app atk_c_app
\set schema atk_c
\ir ../helpers/app_roles.sql
CREATE SCHEMA atk_c_mine AUTHORIZATION atk_c_app;
SET LOCAL ROLE atk_c_owner;
CREATE TABLE atk_c.people (id int, organization_id uuid NOT NULL, email text, note text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('atk_c.people');
SELECT tenantcore.protect('atk_c.people', 'email', true);
-- payroll: audited, isolated, and not readable by the application role at all
CREATE TABLE atk_c.payroll (id int PRIMARY KEY, organization_id uuid NOT NULL, salary int NOT NULL);
SELECT tenantcore.isolate('atk_c.payroll');
GRANT SELECT, INSERT, UPDATE, DELETE ON atk_c.people TO atk_c_app;
GRANT SELECT ON atk_c.people_decrypted TO atk_c_app;
RESET ROLE;
SELECT tenantcore.audit('atk_c.people');
SELECT tenantcore.audit('atk_c.payroll');

\set A '\'aaaaaaaa-0000-4000-8000-000000000001\''
\set B '\'bbbbbbbb-0000-4000-8000-000000000002\''
SET LOCAL ROLE atk_c_app;
SELECT tenantcore.set_tenant(:B);
INSERT INTO atk_c.people (id, email, note) VALUES (1, 'bob@b.example', 'b note'), (2, 'bea@b.example', 'b note 2');
UPDATE atk_c.people SET note = 'b changed' WHERE id = 1;
SELECT tenantcore.set_tenant(:A);
INSERT INTO atk_c.people (id, email, note) VALUES (1, 'ann@a.example', 'a note');
UPDATE atk_c.people SET note = 'a changed' WHERE id = 1;
RESET ROLE;
INSERT INTO atk_c.payroll VALUES (1, :A, 100000), (2, :B, 200000);
SET LOCAL ROLE atk_c_app;
SELECT tenantcore.set_tenant(:A);

-- 1-6: the audit log shows only the tenant's own entries
SELECT results_eq($$SELECT operation, pk::text FROM tenantcore.audit_log WHERE table_name = 'atk_c.people' ORDER BY id$$,
                  $$VALUES ('INSERT', '{"id": 1, "organization_id": "aaaaaaaa-0000-4000-8000-000000000001"}'),
                           ('UPDATE', '{"id": 1, "organization_id": "aaaaaaaa-0000-4000-8000-000000000001"}')$$,
                  'tenant A reads its two entries of people, none of B''s three');
SELECT is((SELECT count(*) FROM tenantcore.audit_log WHERE organization_id IS DISTINCT FROM :A), 0::bigint,
          'no entry of another tenant (or of none) is visible, whatever the WHERE clause');
SELECT is((SELECT count(*) FROM tenantcore.history('atk_c.people', '{"id": 1, "organization_id": "bbbbbbbb-0000-4000-8000-000000000002"}')), 0::bigint,
          'history() of B''s row: nothing');
SELECT is(tenantcore.row_as_of('atk_c.people', '{"id": 1, "organization_id": "bbbbbbbb-0000-4000-8000-000000000002"}', now()), NULL::jsonb,
          'row_as_of() of B''s row: NULL');
SELECT is(tenantcore.row_as_of('atk_c.people', '{"id": 1, "organization_id": "aaaaaaaa-0000-4000-8000-000000000001"}', now()) ->> 'note', 'a changed',
          'row_as_of() of A''s own row works');
SELECT ok(NOT EXISTS (SELECT FROM tenantcore.audit_log WHERE new_row::text LIKE '%b.example%' OR old_row::text LIKE '%b note%'),
          'no value of B appears in any entry tenant A can read');

-- 7-9: entries of a table the role may not read are not shown (hole fixed in 0.7.0)
SELECT throws_ok('SELECT * FROM atk_c.payroll', '42501', 'permission denied for table payroll', 'the role may not read payroll');
SELECT is((SELECT count(*) FROM tenantcore.audit_log WHERE table_name = 'atk_c.payroll'), 0::bigint,
          'the audit log does not show the payroll rows of A to a role without SELECT on payroll');
SELECT is((SELECT count(*) FROM tenantcore.history('atk_c.payroll', '{"id": 1}')), 0::bigint, 'nor does history()');

-- 10-15: the log cannot be forged, changed, emptied, or read around the policy
SELECT throws_ok($$INSERT INTO tenantcore.audit_log (organization_id, relid, table_name, operation, new_row)
                   VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'atk_c.people'::regclass, 'atk_c.people', 'DELETE', '{}')$$,
                 '42501', 'permission denied for table audit_log', 'a forged entry cannot be inserted');
SELECT throws_ok($$UPDATE tenantcore.audit_log SET actor_id = NULL$$, '42501', 'permission denied for table audit_log', 'entries cannot be changed');
SELECT throws_ok($$DELETE FROM tenantcore.audit_log$$, '42501', 'permission denied for table audit_log', 'entries cannot be deleted');
SELECT throws_ok($$TRUNCATE tenantcore.audit_log$$, '42501', 'permission denied for table audit_log', 'the log cannot be truncated');
SELECT throws_ok($$SELECT count(*) FROM tenantcore.audit_log_default$$, '42501', 'permission denied for table audit_log_default',
                 'the default partition cannot be read directly');
SELECT throws_ok($$SET LOCAL row_security = off$$ || '; SELECT count(*) FROM tenantcore.audit_log', '42501',
                 'query would be affected by row-level security policy for table "audit_log"',
                 'row_security = off does not lift the policy: the query is refused');

-- 16-26: keys and ciphertext
RESET ROLE;
SELECT encode(email_encrypted, 'hex') AS b_ct, encode(email_bidx, 'hex') AS b_bidx
  FROM atk_c.people WHERE organization_id = :B AND id = 1 \gset
SET LOCAL ROLE atk_c_app;
SELECT tenantcore.set_tenant(:A);
SELECT throws_ok('SELECT * FROM tenantcore.tenant_keys', '42501', 'permission denied for table tenant_keys', 'the key table cannot be read');
SELECT throws_ok($$UPDATE tenantcore.tenant_keys SET status = 'active'$$, '42501', 'permission denied for table tenant_keys', 'nor written');
SELECT throws_ok(format('SELECT tenantcore.decrypt_pii(%L::bytea)', '\x' || :'b_ct'), '42501', 'ciphertext belongs to another tenant',
                 'B''s ciphertext does not decrypt under tenant A');
SELECT lives_ok(format('UPDATE atk_c.people SET email_encrypted = %L::bytea WHERE id = 1', '\x' || :'b_ct'),
                'B''s ciphertext copied into A''s own row (the column is writable)');
SELECT throws_ok('SELECT email FROM atk_c.people_decrypted WHERE id = 1', '42501', 'ciphertext belongs to another tenant',
                 '... still does not decrypt through the decrypted view');
SELECT throws_ok(format('SELECT tenantcore.decrypt_pii(overlay(%L::bytea PLACING %L::bytea FROM 8 FOR 16))',
                        '\x' || :'b_ct', '\xaaaaaaaa000040008000000000000001'),
                 '22023', 'ciphertext is corrupt or was not encrypted with this tenant''s key',
                 'B''s ciphertext with a header forged to name tenant A does not decrypt with A''s key');
SELECT isnt(encode(tenantcore.blind_index('email', 'bob@b.example'), 'hex'), :'b_bidx',
            'tenant A computing the blind index of B''s value gets another value than B''s index');
SELECT is_empty($$SELECT * FROM atk_c.people WHERE email_bidx = tenantcore.blind_index('email', 'bob@b.example')$$,
                'searching for B''s value by blind index under A finds nothing');
SELECT throws_ok($$SELECT tenantcore.encrypt_pii('x', 'bbbbbbbb-0000-4000-8000-000000000002')$$, '42501',
                 'permission denied for function encrypt_pii', 'encrypting for tenant B by id is refused');
SELECT throws_ok(format('SELECT tenantcore.decrypt_pii(%L::bytea, %L)', '\x' || :'b_ct', 'bbbbbbbb-0000-4000-8000-000000000002'), '42501',
                 'permission denied for function decrypt_pii', 'decrypting for tenant B by id is refused');
SELECT throws_ok($$SELECT tenantcore._protect_encrypt('atk_c.people', 'bbbbbbbb-0000-4000-8000-000000000002', 'x')$$, '42501',
                 'must be owner of table people', 'the protect helper refuses a caller who does not own the table');

-- 27-30: key management, retention and GDPR functions are out of reach, also with B's ids
SELECT is(array_agg(p.proname::text ORDER BY p.proname) FILTER (WHERE has_function_privilege(p.oid, 'EXECUTE')), NULL,
          'no key management, retention, GDPR or audit maintenance function is executable by the application role')
  FROM pg_proc p
 WHERE p.pronamespace = 'tenantcore'::regnamespace
   AND p.proname IN ('rotate_tenant_key', 'shred_tenant', 'rewrap_tenant_keys', 'master_key_status', 'retain', 'unretain',
                     'retain_for_tenant', 'hold', 'release_hold', 'enable_retention', 'disable_retention', 'run_retention',
                     'schedule_retention', 'unschedule_retention', 'register_subject_table', 'unregister_subject_table',
                     'export_subject', 'erase_subject', 'audit', 'unaudit', 'audit_maintain', 'audit_drop_partitions_before');
SELECT throws_ok($$SELECT tenantcore.shred_tenant('bbbbbbbb-0000-4000-8000-000000000002')$$, '42501',
                 'permission denied for function shred_tenant', 'shredding tenant B is refused');
SELECT throws_ok($$SELECT tenantcore.retain_for_tenant('atk_c.people', 'bbbbbbbb-0000-4000-8000-000000000002', '1 second')$$, '42501',
                 'permission denied for function retain_for_tenant', 'a retention override for tenant B is refused');
SELECT throws_ok($$SELECT tenantcore.erase_subject('bbbbbbbb-0000-4000-8000-000000000002')$$, '42501',
                 'permission denied for function erase_subject', 'erasing a subject by id is refused');
SELECT is(array_agg(c.relname::text ORDER BY c.relname) FILTER (WHERE has_table_privilege(c.oid, 'SELECT') OR has_table_privilege(c.oid, 'INSERT')
                                                                    OR has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE')),
          NULL, 'the key, retention and GDPR tables are neither readable nor writable by the application role')
  FROM pg_class c
 WHERE c.relnamespace = 'tenantcore'::regnamespace
   AND c.relname IN ('tenant_keys', 'retention_policies', 'retention_overrides', 'legal_holds', 'retention_runs',
                     'retention_builtin_settings', 'gdpr_requests', 'subject_tables');

-- 32-38: a seeded blueprint: leaky functions over every table see only the tenant's rows
RESET ROLE;
SELECT tenantcore.install_blueprint('projects', 'atk_bp');
SELECT tenantcore.seed_demo('atk_bp', 2);
GRANT USAGE ON SCHEMA atk_bp TO atk_c_app;
GRANT SELECT ON ALL TABLES IN SCHEMA atk_bp TO atk_c_app;
SELECT min(organization_id::text) AS bp_a, max(organization_id::text) AS bp_b FROM atk_bp.projects \gset
CREATE TABLE atk_c_mine.seen (rel text, v text);
ALTER TABLE atk_c_mine.seen OWNER TO atk_c_app;
SET LOCAL ROLE atk_c_app;
CREATE FUNCTION atk_c_mine.leak(rel text, v text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
    $$BEGIN INSERT INTO atk_c_mine.seen VALUES (rel, v); RETURN true; END$$;
-- leak_all(schema): every table of the schema scanned with the leaky function
-- over the whole row; returns the tables scanned
CREATE FUNCTION atk_c_mine.leak_all(s name) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE rel regclass; n bigint := 0;
BEGIN
    FOR rel IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = s::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.oid LOOP
        EXECUTE format('SELECT count(*) FROM %s t WHERE atk_c_mine.leak(%L, to_jsonb(t)::text)', rel, rel);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
SELECT tenantcore.set_tenant(:'bp_a');
SELECT is(atk_c_mine.leak_all('atk_bp'), 4::bigint, 'every table (4) of the projects blueprint scanned with a leaky function');
SELECT cmp_ok((SELECT count(*) FROM atk_c_mine.seen), '>', 0::bigint, 'the leaky function saw rows of the tenant');
SELECT is((SELECT count(*) FROM atk_c_mine.seen WHERE v NOT LIKE '%' || :'bp_a' || '%'), 0::bigint,
          'every row the leaky function saw carries tenant A''s id');
SELECT is((SELECT count(*) FROM atk_c_mine.seen WHERE v LIKE '%' || :'bp_b' || '%'), 0::bigint,
          'no row the leaky function saw carries tenant B''s id');
SELECT is((SELECT count(*) FROM atk_bp.projects WHERE organization_id::text = :'bp_b'), 0::bigint, 'B''s projects asked for by id: none');
SELECT is((SELECT count(*) FROM tenantcore.audit_log WHERE organization_id::text = :'bp_b'), 0::bigint, 'B''s blueprint audit entries: none');
SELECT tenantcore.clear_tenant();
SELECT is((SELECT count(*) FROM atk_bp.projects), 0::bigint, 'without a tenant: no blueprint row');

SELECT * FROM finish();
ROLLBACK;
