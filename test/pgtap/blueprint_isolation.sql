-- tenantcore pgTAP: every blueprint, installed into a fresh schema and filled
-- with two demo tenants, as seen by a non-owner application role (NOSUPERUSER
-- NOBYPASSRLS): it sees only its tenant's rows, cannot write rows of the other
-- tenant, cannot reference the other tenant's rows through any foreign key
-- (even knowing their ids), reads protected columns only decrypted for its
-- tenant; deleting an organization cascades through every table.
BEGIN;
SELECT plan(70);

CREATE ROLE bpt_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('bpt_app');
CREATE SCHEMA bpt;
GRANT USAGE ON SCHEMA bpt TO bpt_app;

-- one row of each blueprint table per tenant, as JSON, for the forgery attempts
CREATE TABLE bpt.known_rows (rel regclass, organization_id uuid, r jsonb);
GRANT SELECT ON bpt.known_rows TO bpt_app;

-- visibility_holes(schema, tenant): tables where the current role sees no row
-- of the tenant, or any row of another tenant
CREATE FUNCTION bpt.visibility_holes(s name, tenant uuid) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    rel regclass; mine bigint; other bigint;
BEGIN
    FOR rel IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = s::regnamespace AND c.relkind = 'r' ORDER BY c.oid LOOP
        EXECUTE format('SELECT count(*) FILTER (WHERE organization_id = $1), '
                       'count(*) FILTER (WHERE organization_id IS DISTINCT FROM $1) FROM %s', rel)
           INTO mine, other USING tenant;
        IF mine = 0 OR other > 0 THEN
            RETURN NEXT format('%s: %s own rows, %s foreign rows', rel, mine, other);
        END IF;
    END LOOP;
END
$$;

-- write_holes(schema, other): tables where the current role could insert a
-- row for the other tenant, or move one of its rows to it
CREATE FUNCTION bpt.write_holes(s name, other uuid) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    rel regclass; n bigint;
BEGIN
    FOR rel IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = s::regnamespace AND c.relkind = 'r' ORDER BY c.oid LOOP
        BEGIN
            EXECUTE format('INSERT INTO %s (organization_id) VALUES ($1)', rel) USING other;
            RETURN NEXT format('%s: insert for the other tenant accepted', rel);
        EXCEPTION WHEN insufficient_privilege THEN
            IF SQLERRM NOT LIKE 'new row violates row-level security policy%' THEN
                RETURN NEXT format('%s: insert: %s', rel, SQLERRM);
            END IF;
        END;
        BEGIN
            EXECUTE format('UPDATE %s SET organization_id = $1 WHERE ctid = (SELECT ctid FROM %s LIMIT 1)', rel, rel)
              USING other;
            GET DIAGNOSTICS n = ROW_COUNT;
            RETURN NEXT format('%s: update to the other tenant accepted (%s rows)', rel, n);
        EXCEPTION WHEN insufficient_privilege THEN
            IF SQLERRM NOT LIKE 'new row violates row-level security policy%' THEN
                RETURN NEXT format('%s: update: %s', rel, SQLERRM);
            END IF;
        END;
    END LOOP;
END
$$;

-- fk_holes(schema, other): for every foreign key between tables of the
-- schema, point one visible row at a row of the other tenant (whose key the
-- caller knows); every attempt must fail with 23503
CREATE FUNCTION bpt.fk_holes(s name, other uuid) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    fk record; target jsonb; sets text; n bigint;
BEGIN
    FOR fk IN
        SELECT con.conname, con.conrelid::regclass AS child, con.confrelid::regclass AS parent,
               string_agg(format('%I = ($1 ->> %L)::%s', ca.attname, pa.attname, format_type(ca.atttypid, ca.atttypmod)),
                          ', ') FILTER (WHERE ca.attname <> 'organization_id') AS sets
          FROM pg_constraint con
          CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k (ck, pk)
          JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.ck
          JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.pk
         WHERE con.contype = 'f' AND con.connamespace = s::regnamespace
           AND (SELECT relnamespace FROM pg_class WHERE oid = con.confrelid) = s::regnamespace
         GROUP BY con.oid, con.conname, con.conrelid, con.confrelid
         ORDER BY con.conname
    LOOP
        SELECT k.r INTO target FROM bpt.known_rows k WHERE k.rel = fk.parent AND k.organization_id = other;
        IF target IS NULL THEN
            RETURN NEXT format('%s: no row of the other tenant in %s to aim at', fk.conname, fk.parent);
            CONTINUE;
        END IF;
        BEGIN
            EXECUTE format('UPDATE %s SET %s WHERE ctid = (SELECT ctid FROM %s LIMIT 1)', fk.child, fk.sets, fk.child)
              USING target;
            GET DIAGNOSTICS n = ROW_COUNT;
            RETURN NEXT format('%s: reference to the other tenant accepted (%s rows)', fk.conname, n);
        EXCEPTION WHEN foreign_key_violation THEN
            NULL;
        WHEN OTHERS THEN
            RETURN NEXT format('%s: %s %s', fk.conname, SQLSTATE, SQLERRM);
        END;
    END LOOP;
END
$$;

-- fk_count(schema): foreign keys between tables of the schema (fk_holes tests each)
CREATE FUNCTION bpt.fk_count(s name) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_constraint con
     WHERE con.contype = 'f' AND con.connamespace = s::regnamespace
       AND (SELECT relnamespace FROM pg_class WHERE oid = con.confrelid) = s::regnamespace
$$;

-- protect_holes(schema): protected columns whose plaintext column holds a
-- value, or whose decrypted view does not give back every value of the tenant
CREATE FUNCTION bpt.protect_holes(s name) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    p record; plain bigint; cipher bigint; clear bigint;
BEGIN
    FOR p IN SELECT * FROM tenantcore.protected_columns pc
              WHERE (SELECT relnamespace FROM pg_class WHERE oid = pc.rel) = s::regnamespace ORDER BY pc.rel::text
    LOOP
        EXECUTE format('SELECT count(%I), count(%I) FROM %s', p.column_name, p.encrypted_column, p.rel) INTO plain, cipher;
        EXECUTE format('SELECT count(%I) FROM %I.%I', p.column_name, s, p.view_name) INTO clear;
        IF plain > 0 OR cipher = 0 OR clear <> cipher THEN
            RETURN NEXT format('%s.%s: %s plaintext, %s ciphertext, %s decrypted', p.rel, p.column_name, plain, cipher, clear);
        END IF;
    END LOOP;
END
$$;

-- visible_rows(schema): rows the current role sees in all tables of the schema
CREATE FUNCTION bpt.visible_rows(s name) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    rel regclass; n bigint; total bigint := 0;
BEGIN
    FOR rel IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = s::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;
        total := total + n;
    END LOOP;
    RETURN total;
END
$$;

-- tenant_rows(rel, tenant): rows of a tenant in a table
CREATE FUNCTION bpt.tenant_rows(rel regclass, tenant uuid) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s WHERE organization_id = $1', rel) INTO n USING tenant;
    RETURN n;
END
$$;

-- install and fill every blueprint (as the superuser), and let the application role use it
CREATE FUNCTION bpt.setup(bp text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    s name := 'bpt_' || bp;
    rel regclass;
BEGIN
    PERFORM tenantcore.install_blueprint(bp, s);
    PERFORM tenantcore.seed_demo(s, 2);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO bpt_app', s);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO bpt_app', s);
    FOR rel IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = s::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE format('INSERT INTO bpt.known_rows SELECT DISTINCT ON (organization_id) %L::regclass, organization_id, to_jsonb(t) '
                       'FROM %s t ORDER BY organization_id', rel, rel);
    END LOOP;
    RETURN (SELECT count(*) FROM bpt.known_rows k WHERE k.rel::text LIKE s || '.%');
END
$$;
SELECT cmp_ok(bpt.setup(bp), '>=', 4::bigint, format('blueprint %s installed and filled for two tenants', bp))
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp;

-- controls: the checks do catch a single-column foreign key and a table without isolation
CREATE SCHEMA bpt_control;
GRANT USAGE ON SCHEMA bpt_control TO bpt_app;
CREATE TABLE bpt_control.parent (organization_id uuid NOT NULL, id int PRIMARY KEY);
CREATE TABLE bpt_control.child (organization_id uuid NOT NULL, id int PRIMARY KEY,
                                parent_id int REFERENCES bpt_control.parent (id));
SELECT tenantcore.isolate('bpt_control.parent') IS NOT NULL AS isolated;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bpt_control TO bpt_app;
INSERT INTO bpt_control.parent VALUES ('ac3e0000-0000-4000-8000-00000000000a', 1), ('b1c40000-0000-4000-8000-00000000000b', 2);
INSERT INTO bpt_control.child VALUES ('ac3e0000-0000-4000-8000-00000000000a', 1, 1), ('b1c40000-0000-4000-8000-00000000000b', 2, 2);
INSERT INTO bpt.known_rows SELECT 'bpt_control.parent', organization_id, to_jsonb(p) FROM bpt_control.parent p;

\set A '''ac3e0000-0000-4000-8000-00000000000a'''
\set B '''b1c40000-0000-4000-8000-00000000000b'''

-- as the application role, tenant A then tenant B
SET LOCAL ROLE bpt_app;
SELECT ok(NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user),
          'the application role is neither superuser nor BYPASSRLS');
SELECT ok(NOT EXISTS (SELECT FROM pg_class c WHERE c.relnamespace::regnamespace::text LIKE 'bpt\_%'
                         AND pg_has_role(current_user, c.relowner, 'USAGE')),
          'the application role owns no blueprint table');

SELECT is(bpt.visible_rows('bpt_' || bp), 0::bigint, format('%s: no tenant set, no row visible', bp))
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp;

SELECT tenantcore.set_tenant(:A) IS NOT NULL AS tenant_a;
SELECT is_empty(format('SELECT * FROM bpt.visibility_holes(%L, %L)', 'bpt_' || bp, :A),
                format('%s: tenant A sees its rows in every table and no row of B', bp))
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp;
SELECT is_empty(format('SELECT * FROM bpt.write_holes(%L, %L)', 'bpt_' || bp, :B),
                format('%s: tenant A cannot insert rows for B or move its rows to B, in any table', bp))
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp;
SELECT is_empty(format('SELECT * FROM bpt.fk_holes(%L, %L)', 'bpt_' || bp, :B),
                format('%s: none of its %s foreign keys lets a row of A reference a row of B', bp, bpt.fk_count('bpt_' || bp)))
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp;
SELECT is_empty(format('SELECT * FROM bpt.protect_holes(%L)', 'bpt_' || bp),
                format('%s: protected columns hold no plaintext and decrypt for tenant A', bp))
  FROM unnest(ARRAY['cpa', 'home_services', 'restaurant', 'automotive', 'retail']) bp;

-- a known id of B's client, looked up directly: nothing
SELECT is_empty(format($$SELECT * FROM bpt_cpa.clients WHERE id = %L$$,
                       (SELECT r ->> 'id' FROM bpt.known_rows WHERE rel = 'bpt_cpa.clients'::regclass AND organization_id = :B)),
                'tenant A cannot read B''s client by its id');
SELECT is((SELECT count(*) FROM bpt_cpa.clients_decrypted WHERE tax_id ~ '^[0-9]{2}-[0-9]{7}$'),
          (SELECT count(*) FROM bpt_cpa.clients), 'tenant A reads its clients'' tax ids decrypted');
-- ON DELETE RESTRICT: a client with invoices stays; one without goes
SELECT throws_ok($$DELETE FROM bpt_cpa.clients$$, '23503', NULL,
                 'a client with invoices cannot be deleted (invoices ON DELETE RESTRICT)');
SELECT lives_ok($$INSERT INTO bpt_cpa.clients (id, business_name, primary_contact_email, primary_contact_name, tax_id)
                  VALUES ('c0000000-0000-4000-8000-000000000001', 'Short-lived LLC', 'x@example.com', 'X', '99-1234567')$$,
                'tenant A adds a client (tenant from the context, tax id encrypted)');
SELECT is((SELECT tax_id FROM bpt_cpa.clients_decrypted WHERE id = 'c0000000-0000-4000-8000-000000000001'), '99-1234567',
          '... and reads its tax id back');
SELECT is((SELECT count(*) FROM bpt_cpa.clients WHERE tax_id_bidx = tenantcore.blind_index('99-1234567')), 1::bigint,
          '... and finds it by its blind index');
SELECT lives_ok($$DELETE FROM bpt_cpa.clients WHERE id = 'c0000000-0000-4000-8000-000000000001'$$,
                'a client without invoices can be deleted');
SELECT lives_ok($$DELETE FROM bpt_cpa.invoices$$, 'tenant A deletes its invoices');
SELECT lives_ok($$DELETE FROM bpt_cpa.clients$$, '... and then its clients, with everything that hangs off them');
SELECT is((SELECT count(*) FROM bpt_cpa.documents) + (SELECT count(*) FROM bpt_cpa.notes)
          + (SELECT count(*) FROM bpt_cpa.engagements) + (SELECT count(*) FROM bpt_cpa.task_executions), 0::bigint,
          'documents, notes, engagements and workflow tasks of the clients are gone (ON DELETE CASCADE)');

-- a few of the seeds' constraints outside the CPA blueprint
SELECT throws_ok($$UPDATE bpt_projects.tasks SET progress = 101$$, '23514', NULL, 'projects: progress above 100 is rejected');
SELECT throws_ok($$UPDATE bpt_projects.projects SET settings = '[]'$$, '23514', NULL, 'projects: settings must be a JSON object');
SELECT throws_ok($$UPDATE bpt_home_services.work_orders SET total_cost = -1$$, '23514', NULL, 'home services: negative cost is rejected');
SELECT throws_ok($$UPDATE bpt_home_services.work_orders SET status = 'lost'$$, '23514', NULL, 'home services: unknown status is rejected');
SELECT throws_ok($$UPDATE bpt_restaurant.orders SET items = '{}'$$, '23514', NULL, 'restaurant: items must be a JSON array');
SELECT throws_ok($$UPDATE bpt_automotive.vehicles SET vin = 'NOT-A-VIN'$$, '23514', NULL, 'automotive: a malformed VIN is rejected');
SELECT throws_ok($$UPDATE bpt_automotive.repair_orders SET mileage_out = mileage_in - 1$$, '23514', NULL,
                 'automotive: mileage cannot go down during a repair');
SELECT throws_ok($$UPDATE bpt_retail.sale_items SET quantity = 0$$, '23514', NULL, 'retail: a sale item needs a positive quantity');
SELECT throws_ok($$DELETE FROM bpt_retail.products$$, '23503', NULL, 'retail: a sold product cannot be deleted');

SELECT isnt_empty($$SELECT * FROM bpt.fk_holes('bpt_control', 'b1c40000-0000-4000-8000-00000000000b')$$,
                  'control: fk_holes finds a foreign key without organization_id');
SELECT isnt_empty($$SELECT * FROM bpt.visibility_holes('bpt_control', 'ac3e0000-0000-4000-8000-00000000000a')$$,
                  'control: visibility_holes finds a table that is not isolated');

SELECT tenantcore.set_tenant(:B) IS NOT NULL AS tenant_b;
SELECT is_empty(format('SELECT * FROM bpt.visibility_holes(%L, %L)', 'bpt_' || bp, :B),
                format('%s: tenant B sees its rows in every table and no row of A', bp))
  FROM unnest(ARRAY['cpa', 'projects', 'home_services', 'restaurant', 'automotive', 'retail']) bp;
SELECT is_empty(format('SELECT * FROM bpt.fk_holes(%L, %L)', 'bpt_' || bp, :A),
                format('%s: no row of B can reference a row of A', bp))
  FROM unnest(ARRAY['cpa', 'projects']) bp;
RESET ROLE;

-- deleting an organization removes its rows from every table of every
-- blueprint (invoices included), and leaves the other tenant's alone
CREATE TEMP TABLE counts_before AS
SELECT c.oid::regclass AS rel, bpt.tenant_rows(c.oid, :B) AS n
  FROM pg_class c WHERE c.relnamespace::regnamespace::text LIKE 'bpt\_%' AND c.relnamespace <> 'bpt_control'::regnamespace AND c.relkind = 'r';
SELECT is((SELECT count(*) FROM counts_before), 31::bigint, 'the 31 tables of the six blueprints are counted');
SELECT lives_ok(format('DELETE FROM tenantcore.organizations WHERE id = %L', :A), 'organization A is deleted');
SELECT is((SELECT sum(bpt.tenant_rows(rel, :A)) FROM counts_before), 0::numeric,
          'no row of A is left in any blueprint table');
SELECT is_empty($$SELECT rel FROM counts_before
                   WHERE n = 0 OR n <> bpt.tenant_rows(rel, 'b1c40000-0000-4000-8000-00000000000b')$$,
                'every table still holds all of B''s rows');

SELECT * FROM finish();
ROLLBACK;
