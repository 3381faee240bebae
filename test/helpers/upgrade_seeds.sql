-- test/helpers/upgrade_seeds.sql -- data of every concern, written through the
-- API of one version only (test/shell/upgrade_check.sh).
--
-- psql variables: api (the version whose API the seeds use, e.g. 0.3.0),
-- owner (a NOLOGIN role owning the seed schemas), app (the application role).
-- Run as a superuser, with ON_ERROR_STOP, in a database where tenantcore is
-- installed at version api or later: the upgrade check runs it on an install
-- of the old version api (then upgrades) and on a fresh install of the default
-- version, and compares the two.  So every section uses only what version api
-- had (guarded by the version; each section first checks with
-- to_regprocedure that the functions it calls exist), and only calls whose
-- effect the later versions keep: no tenant is set while people are created
-- (0.7.0 records the tenant of a person created in its context), owners create
-- their organizations (0.7.0 requires it of everyone but the DBA).
--
-- Tenants of the user tables: fixed ids that are no random (version 4) uuids,
-- so test/helpers/describe_data.sql keeps them.
\set ON_ERROR_STOP 1
\set T1 '5eed0000-0000-0000-0000-0000000000a1'
\set T2 '5eed0000-0000-0000-0000-0000000000b2'
SET client_min_messages = warning;

SELECT string_to_array(:'api', '.')::int[] >= '{0,2,0}' AS api_crypto,
       string_to_array(:'api', '.')::int[] >= '{0,3,0}' AS api_retention,
       string_to_array(:'api', '.')::int[] >= '{0,4,0}' AS api_audit,
       string_to_array(:'api', '.')::int[] >= '{0,5,0}' AS api_core,
       string_to_array(:'api', '.')::int[] >= '{0,6,0}' AS api_060
\gset

-- the functions a section calls must exist (the seeds of version api run on
-- every later version too: a function dropped later fails here, loudly)
CREATE FUNCTION pg_temp.need(VARIADIC fns text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE f text;
BEGIN
    FOREACH f IN ARRAY fns LOOP
        IF to_regprocedure(f) IS NULL THEN
            RAISE EXCEPTION 'upgrade_seeds: % is not in this install (api %)', f, current_setting('tc_seed.api');
        END IF;
    END LOOP;
END $$;
SELECT set_config('tc_seed.api', :'api', false);

------------------------------------------------------------------------------
-- isolation (0.1.0): an isolated table, an isolated partitioned table, an
-- isolate_schema()'d schema with a table made before and one after; rows of
-- two tenants; the application role's grants
SELECT pg_temp.need('tenantcore.isolate(regclass,name)', 'tenantcore.isolate_schema(regnamespace,name)',
                    'tenantcore.grant_app_role(regrole)', 'tenantcore.set_tenant(uuid,boolean)');
SELECT tenantcore.grant_app_role(:'app');
GRANT USAGE ON SCHEMA tenantcore TO :"owner";
CREATE SCHEMA seed AUTHORIZATION :"owner";
CREATE SCHEMA seed_app AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA seed, seed_app TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
SET ROLE :"owner";
CREATE TABLE seed.accounts (organization_id uuid NOT NULL, id int NOT NULL, name text NOT NULL,
                            PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('seed.accounts');
CREATE TABLE seed.events (organization_id uuid NOT NULL, id int NOT NULL, at date NOT NULL, kind text)
    PARTITION BY RANGE (at);
CREATE TABLE seed.events_2025 PARTITION OF seed.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT tenantcore.isolate('seed.events');
CREATE TABLE seed.events_2026 PARTITION OF seed.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE seed_app.items (organization_id uuid NOT NULL, id int NOT NULL, label text,
                             PRIMARY KEY (organization_id, id));
SELECT count(*) FROM tenantcore.isolate_schema('seed_app');
CREATE TABLE seed_app.late (organization_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (organization_id, id));
RESET ROLE;
INSERT INTO seed.accounts SELECT CASE WHEN g % 3 = 0 THEN :'T2'::uuid ELSE :'T1'::uuid END, g, 'account ' || g
  FROM generate_series(1, 12) g;
INSERT INTO seed.events SELECT CASE WHEN g % 2 = 0 THEN :'T2'::uuid ELSE :'T1'::uuid END, g,
       date '2025-10-01' + g * 17, 'kind ' || (g % 3)
  FROM generate_series(1, 16) g;
INSERT INTO seed_app.items SELECT CASE WHEN g % 4 = 0 THEN :'T2'::uuid ELSE :'T1'::uuid END, g, 'item ' || g
  FROM generate_series(1, 8) g;
INSERT INTO seed_app.late VALUES (:'T1', 1), (:'T2', 2);
-- the application role writes in its tenant (the policy's WITH CHECK)
BEGIN;
SET LOCAL ROLE :"app";
SELECT tenantcore.set_tenant(:'T2') IS NULL;
INSERT INTO seed.accounts (organization_id, id, name) VALUES (:'T2', 100, 'written by the application');
COMMIT;

------------------------------------------------------------------------------
-- crypto (0.2.0): protected columns (one searchable) with values of two
-- tenants, a key rotation between writes; a protected NOT NULL column on an
-- empty table (0.6.0 moves its constraint to the ciphertext column, and the
-- 0.6.0 upgrade mends the columns protected before)
\if :api_crypto
SELECT pg_temp.need('tenantcore.protect(regclass,name,boolean,text)', 'tenantcore.rotate_tenant_key(uuid)',
                    'tenantcore.decrypt_pii(bytea,uuid)');
SET ROLE :"owner";
CREATE TABLE seed.people (organization_id uuid NOT NULL, id int NOT NULL, name text, email text, phone text,
                          PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('seed.people');
SELECT tenantcore.protect('seed.people', 'email', true);
SELECT tenantcore.protect('seed.people', 'phone');
CREATE TABLE seed.cards (organization_id uuid NOT NULL, id int NOT NULL, pan text NOT NULL,
                         PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('seed.cards');
SELECT tenantcore.protect('seed.cards', 'pan');
RESET ROLE;
BEGIN;
SELECT tenantcore.set_tenant(:'T1') IS NULL;
INSERT INTO seed.people (organization_id, id, name, email, phone)
SELECT :'T1', g, 'person ' || g, 'p' || g || '@one.example', '+1 555 01' || g FROM generate_series(1, 4) g;
COMMIT;
BEGIN;
SELECT tenantcore.set_tenant(:'T2') IS NULL;
INSERT INTO seed.people (organization_id, id, name, email, phone)
SELECT :'T2', g, 'person ' || g, 'p' || g || '@two.example', NULL FROM generate_series(1, 3) g;
COMMIT;
SELECT tenantcore.rotate_tenant_key(:'T2') > 0;
BEGIN;
SELECT tenantcore.set_tenant(:'T2') IS NULL;
INSERT INTO seed.people (organization_id, id, name, email, phone) VALUES (:'T2', 4, 'person 4', 'p4@two.example', '+2 555 04');
UPDATE seed.people SET email = 'p1.new@two.example' WHERE organization_id = :'T2' AND id = 1;
COMMIT;
\endif

------------------------------------------------------------------------------
-- retention and GDPR (0.3.0): policies (delete, anonymize, per tenant), a
-- legal hold, a registered subject table
\if :api_retention
SELECT pg_temp.need('tenantcore.retain(regclass,name,interval,text,jsonb)',
                    'tenantcore.retain_for_tenant(regclass,uuid,interval,name)',
                    'tenantcore.hold(uuid,regclass,text)',
                    'tenantcore.register_subject_table(regclass,name,text,jsonb)',
                    'tenantcore.export_subject(uuid)', 'tenantcore.erase_subject(uuid)');
SET ROLE :"owner";
CREATE TABLE seed.visits (organization_id uuid NOT NULL, id int NOT NULL, visitor uuid, visited_on date NOT NULL,
                          note text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('seed.visits');
RESET ROLE;
INSERT INTO seed.visits SELECT CASE WHEN g % 2 = 0 THEN :'T2'::uuid ELSE :'T1'::uuid END, g,
       ('5eed0000-0000-0000-0000-0000000000' || CASE WHEN g % 2 = 0 THEN 'e' ELSE 'd' END || g % 3)::uuid,
       date '2026-01-01' + g, 'visit ' || g
  FROM generate_series(1, 6) g;
SELECT tenantcore.retain('seed.events', 'at', interval '400 days', 'drop_partition') > 0;
SELECT tenantcore.retain('seed.visits', 'visited_on', interval '3 years', 'anonymize', '{"note": null}') > 0;
SELECT tenantcore.retain_for_tenant('seed.visits', :'T2', interval '5 years');
SELECT tenantcore.hold(:'T1', 'seed.visits', 'seed: litigation') > 0;
SELECT tenantcore.register_subject_table('seed.visits', 'visitor', 'anonymize', '{"note": "erased"}');
-- a subject's export and erasure (logged in gdpr_requests; visitors d* are of
-- T1, under the hold, e* of T2)
SELECT tenantcore.export_subject('5eed0000-0000-0000-0000-0000000000d1') IS NOT NULL;
SELECT tenantcore.erase_subject('5eed0000-0000-0000-0000-0000000000e2') IS NOT NULL;
\endif

------------------------------------------------------------------------------
-- audit (0.4.0): an audited table (one column excluded, one redacted) with
-- inserts, updates and a delete in two tenants, by an actor
\if :api_audit
SELECT pg_temp.need('tenantcore.audit(regclass,text[],text[],boolean)', 'tenantcore.set_actor(uuid,boolean)');
SET ROLE :"owner";
CREATE TABLE seed.orders (organization_id uuid NOT NULL, id int NOT NULL, status text NOT NULL, total numeric,
                          secret text, internal text, PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('seed.orders');
RESET ROLE;
SELECT tenantcore.audit('seed.orders', exclude => '{internal}', redact => '{secret}');
BEGIN;
SELECT tenantcore.set_tenant(:'T1') IS NULL, tenantcore.set_actor('5eed0000-0000-0000-0000-0000000000c1') IS NULL;
INSERT INTO seed.orders VALUES (:'T1', 1, 'new', 10.50, 's1', 'i1'), (:'T1', 2, 'new', 7, 's2', 'i2');
UPDATE seed.orders SET status = 'paid', secret = 's1b' WHERE organization_id = :'T1' AND id = 1;
UPDATE seed.orders SET internal = 'i2b' WHERE organization_id = :'T1' AND id = 2;
COMMIT;
BEGIN;
SELECT tenantcore.set_tenant(:'T2') IS NULL;
INSERT INTO seed.orders VALUES (:'T2', 1, 'new', 99, NULL, NULL);
DELETE FROM seed.orders WHERE organization_id = :'T2' AND id = 1;
INSERT INTO seed.orders VALUES (:'T2', 3, 'new', 1, NULL, NULL);
COMMIT;
\endif

------------------------------------------------------------------------------
-- core (0.5.0): people, organizations made by their owners, members, a
-- custom role granted, an invitation; a blueprint schema with rows
\if :api_core
SELECT pg_temp.need('tenantcore.create_user(text,text,text,text)', 'tenantcore.create_organization(text,text,uuid,text)',
                    'tenantcore.add_member(uuid,text)', 'tenantcore.create_role(text,text,text[],text)',
                    'tenantcore.grant_role(uuid,text)', 'tenantcore.invite_member(text,text)',
                    'tenantcore.install_blueprint(text,name)', 'tenantcore.track_updated_at(regclass,name)');
SELECT tenantcore.create_user('ada@core.example', NULL, 'Ada', 'Lovelace') AS ada,
       tenantcore.create_user('bob@core.example', NULL, 'Bob', 'Builder') AS bob,
       tenantcore.create_user('cy@core.example', NULL, 'Cy', NULL) AS cy,
       tenantcore.create_user('dee@core.example') AS dee
\gset
BEGIN;
SELECT tenantcore.set_actor(:'ada') IS NULL;
SELECT tenantcore.create_organization('Ada Analytics', 'ada-analytics', :'ada', 'professional') AS org_a \gset
COMMIT;
BEGIN;
SELECT tenantcore.set_actor(:'bob') IS NULL;
SELECT tenantcore.create_organization('Bob Builds', 'bob-builds', :'bob') AS org_b \gset
COMMIT;
BEGIN;
SELECT tenantcore.set_tenant(:'org_a') IS NULL, tenantcore.set_actor(:'ada') IS NULL;
SELECT tenantcore.add_member(:'bob', 'admin');
SELECT tenantcore.add_member(:'cy');
SELECT tenantcore.create_role('auditor', 'Auditor', '{members.read}', 'reads the member list') IS NOT NULL;
SELECT tenantcore.grant_role(:'cy', 'auditor');
-- (a known address: 0.7.0 writes the person an invitation creates with the
-- tenant context cleared, so the audit entry of a new person differs by version)
SELECT tenantcore.invite_member('dee@core.example', 'manager') = :'dee';
COMMIT;
-- a blueprint schema with one client per organization
SELECT count(*) > 0 FROM tenantcore.install_blueprint('cpa', 'seed_cpa');
GRANT USAGE ON SCHEMA seed_cpa TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA seed_cpa TO :"app";
BEGIN;
SELECT tenantcore.set_tenant(:'org_a') IS NULL;
INSERT INTO seed_cpa.clients (organization_id, business_name, primary_contact_email, primary_contact_name, tax_id)
VALUES (:'org_a', 'Client of Ada', 'boss@client-a.example', 'Boss A', '12-3456789');
COMMIT;
BEGIN;
SELECT tenantcore.set_tenant(:'org_b') IS NULL;
INSERT INTO seed_cpa.clients (organization_id, business_name, primary_contact_email, primary_contact_name)
VALUES (:'org_b', 'Client of Bob', 'boss@client-b.example', 'Boss B');
COMMIT;
-- updated_at kept by the C trigger on a user table
SET ROLE :"owner";
CREATE TABLE seed.notes (organization_id uuid NOT NULL, id int NOT NULL, body text,
                         updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('seed.notes');
RESET ROLE;
SELECT tenantcore.track_updated_at('seed.notes');
INSERT INTO seed.notes (organization_id, id, body) VALUES (:'T1', 1, 'first'), (:'T2', 2, 'second');
UPDATE seed.notes SET body = 'first, edited' WHERE organization_id = :'T1' AND id = 1;
\endif

------------------------------------------------------------------------------
-- 0.6.0: protect() of a NOT NULL column that takes rows (0.6.0 moved the
-- constraint to the ciphertext column)
\if :api_060
SET ROLE :"owner";
CREATE TABLE seed.badges (organization_id uuid NOT NULL, id int NOT NULL, code text NOT NULL,
                          PRIMARY KEY (organization_id, id));
SELECT tenantcore.isolate('seed.badges');
SELECT tenantcore.protect('seed.badges', 'code');
RESET ROLE;
BEGIN;
SELECT tenantcore.set_tenant(:'T1') IS NULL;
INSERT INTO seed.badges (organization_id, id, code) VALUES (:'T1', 1, 'B-ONE');
COMMIT;
\endif

SELECT 'seeded at the API of ' || :'api';
