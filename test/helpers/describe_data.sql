-- test/helpers/describe_data.sql: a canonical dump of the data of a database
-- with tenantcore, for comparing an upgraded install with a fresh one that
-- got the same seeds (test/shell/upgrade_check.sh).  One line per fact; the
-- caller sorts them (LC_ALL=C sort).
--
-- psql variable: app, the application role (tenantcore.grant_app_role) whose
-- view of every tenant is described.  Run as a superuser with psql -At.
--
-- Two parts:
--   row <table> <col>=<value> ...  every row of every ordinary table outside
--       the system schemas and other extensions: user tables and the
--       extension's tables (its configuration tables among them).  Values
--       made at random or by the clock are normalised: uuids of
--       organizations, users and roles become their natural keys
--       (org:<slug>, user:<email>, role:<slug>/<key>), other random (version
--       4) uuids <uuid>; timestamps <ts>; bytea (ciphertexts, key material,
--       token hashes) <bytea>; oids and transaction ids <oid>, <xid>;
--       sequence-made ids <serial>.  Also inside text and JSON values.  By
--       meaning: an audit entry's record_id that is the one of its primary
--       key; the tenant of an organization's entry (the organization since
--       0.8.0, none before); a data key's master_key_id that is the current master key's
--       (NULL for keys wrapped before 0.5.0, by the master key configured then);
--       of a GDPR request's report, the part about the user's tables.
--   app <tenant> ...  what the application role sees with each tenant set:
--       rows per isolated table, the decrypted rows of every protected
--       column's view (decrypt_pii by meaning, the ciphertexts differ), the
--       blind indexes that match their value, and with no tenant set.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TEMP TABLE _labels (id uuid PRIMARY KEY, label text NOT NULL);
DO $$
BEGIN
    IF to_regclass('tenantcore.organizations') IS NOT NULL THEN
        INSERT INTO _labels SELECT o.id, 'org:' || o.slug FROM tenantcore.organizations o;
        INSERT INTO _labels SELECT u.id, 'user:' || coalesce(u.email, '(erased)') FROM tenantcore.users u
            ON CONFLICT DO NOTHING;
        INSERT INTO _labels SELECT r.id, 'role:' || o.slug || '/' || r.key
          FROM tenantcore.roles r JOIN tenantcore.organizations o ON o.id = r.organization_id
            ON CONFLICT DO NOTHING;
    END IF;
END
$$;

-- pg_temp.norm: the normalised text of a value (see above)
CREATE FUNCTION pg_temp.norm(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text;
    l text;
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    FOR m IN SELECT DISTINCT x[1] FROM regexp_matches(t, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', 'g') x LOOP
        SELECT lb.label INTO l FROM pg_temp._labels lb WHERE lb.id = m::uuid;
        IF l IS NULL AND m ~* '^.{8}-.{4}-4.{3}-[89ab]' THEN
            l := '<uuid>';
        END IF;
        IF l IS NOT NULL THEN
            t := replace(t, m, l);
        END IF;
    END LOOP;
    -- timestamps (text and JSON forms), bytea in hex
    t := regexp_replace(t, '\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d)?|Z)?', '<ts>', 'g');
    t := regexp_replace(t, '\\+x[0-9a-fA-F]*', '<bytea>', 'g');
    RETURN t;
END
$$;

-- pg_temp.user_part: the objects of a JSON report, without scalars and
-- without the members named after the extension's own tables
CREATE FUNCTION pg_temp.user_part(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT coalesce(jsonb_object_agg(k.key, (SELECT coalesce(jsonb_object_agg(m.key, m.value), '{}')
                                               FROM jsonb_each(k.value) m WHERE m.key NOT LIKE 'tenantcore.%')), '{}')
      FROM jsonb_each(j) k WHERE jsonb_typeof(k.value) = 'object'
$$;

-- part 1: every row, normalised (one SELECT per table, run by \gexec)
WITH tables AS (
    SELECT c.oid, c.oid::regclass AS rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND c.relpersistence = 'p'
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
       AND NOT EXISTS (SELECT FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
                          AND d.refclassid = 'pg_extension'::regclass AND e.extname <> 'tenantcore')
), cols AS (
    SELECT t.oid, t.rel, a.attname,
           CASE
             WHEN a.attidentity <> '' OR pg_get_expr(ad.adbin, ad.adrelid) LIKE 'nextval(%' THEN '''<serial>'''
             WHEN a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'time'::regtype, 'timetz'::regtype)
                  THEN format('CASE WHEN t.%I IS NOT NULL THEN ''<ts>'' END', a.attname)
             WHEN a.atttypid = 'bytea'::regtype THEN format('CASE WHEN t.%I IS NOT NULL THEN ''<bytea>'' END', a.attname)
             WHEN a.atttypid = 'oid'::regtype THEN format('CASE WHEN t.%I IS NOT NULL THEN ''<oid>'' END', a.attname)
             WHEN a.atttypid IN ('xid'::regtype, 'xid8'::regtype, 'cid'::regtype)
                  THEN format('CASE WHEN t.%I IS NOT NULL THEN ''<xid>'' END', a.attname)
             -- the audit log's record ids: derived from the primary key, by meaning
             WHEN a.attname = 'record_id' AND t.rel::text LIKE 'tenantcore.audit\_log%'
                  AND to_regprocedure('tenantcore._audit_record_id(uuid,jsonb)') IS NOT NULL
                  THEN 'CASE WHEN t.record_id = tenantcore._audit_record_id(t.table_id, t.pk) THEN ''<record id of pk>'''
                       ' ELSE pg_temp.norm(t.record_id::text) END'
             -- the tenant of an organization's entry: the organization itself
             -- since 0.8.0; entries written before keep the tenant that was
             -- current then (none), by meaning
             WHEN a.attname = 'organization_id' AND t.rel::text LIKE 'tenantcore.audit\_log%'
                  THEN 'CASE WHEN t.table_name = ''tenantcore.organizations'''
                       ' AND (t.organization_id IS NULL OR t.organization_id::text = t.pk->>''id'')'
                       ' THEN ''<the organization or none>'' ELSE pg_temp.norm(t.organization_id::text) END'
             -- the master key that wrapped a data key: NULL means the current one
             -- (wrapped before 0.5.0 recorded ids), by meaning
             WHEN a.attname = 'master_key_id' AND t.rel::text = 'tenantcore.tenant_keys'
                  THEN 'CASE WHEN t.master_key_id IS NULL OR t.master_key_id = tenantcore._master_key_id(false)'
                       ' THEN ''<current master key>'' ELSE t.master_key_id END'
             -- a GDPR request's report: what it did to the user's tables (the
             -- rest lists what the version that ran it registered and counted)
             WHEN a.attname = 'detail' AND t.rel::text = 'tenantcore.gdpr_requests'
                  THEN 'pg_temp.norm(pg_temp.user_part(t.detail)::text)'
             ELSE format('pg_temp.norm(t.%I::text)', a.attname)
           END AS expr
      FROM tables t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
)
SELECT format('SELECT %L || concat(%s) FROM %s t', 'row ' || rel::text,
              string_agg(format('%L, coalesce(%s, ''NULL'')', ' ' || quote_ident(attname) || '=', expr), ', '
                         ORDER BY attname COLLATE "C"),
              rel)
  FROM cols GROUP BY oid, rel ORDER BY rel::text COLLATE "C"
\gexec

-- part 2: the application role's view, tenant by tenant
SELECT set_config('tc_describe.app', :'app', false) \g /dev/null
CREATE TEMP TABLE _seen (line text);
DO $$
DECLARE
    app text := current_setting('tc_describe.app');
    tenant record;
    r record;
    n bigint;
    m bigint;
    rows_ text;
BEGIN
    FOR tenant IN
        SELECT DISTINCT x.id, pg_temp.norm(x.id::text) AS label
          FROM (SELECT o.id FROM tenantcore.organizations o
                 WHERE to_regclass('tenantcore.organizations') IS NOT NULL
                UNION SELECT '5eed0000-0000-0000-0000-0000000000a1'::uuid
                UNION SELECT '5eed0000-0000-0000-0000-0000000000b2'::uuid
                UNION SELECT NULL::uuid) x
         ORDER BY 2
    LOOP
        FOR r IN SELECT t.rel FROM tenantcore.isolated_tables t ORDER BY t.rel::text COLLATE "C" LOOP
            BEGIN
                EXECUTE format('SET LOCAL ROLE %I', app);
                IF tenant.id IS NULL THEN
                    PERFORM tenantcore.clear_tenant();
                ELSE
                    PERFORM tenantcore.set_tenant(tenant.id);
                END IF;
                EXECUTE format('SELECT count(*) FROM %s', r.rel) INTO n;
                RESET ROLE;
                INSERT INTO pg_temp._seen VALUES (format('app %s: %s rows=%s', coalesce(tenant.label, '(no tenant)'), r.rel, n));
            EXCEPTION WHEN OTHERS THEN
                RESET ROLE;
                INSERT INTO pg_temp._seen VALUES (format('app %s: %s error %s %s', coalesce(tenant.label, '(no tenant)'), r.rel,
                                                         SQLSTATE, SQLERRM));
            END;
        END LOOP;
        CONTINUE WHEN tenant.id IS NULL;
        -- every protected table's view: its rows decrypted
        FOR r IN SELECT DISTINCT format('%I.%I', n.nspname, p.view_name) AS view
                   FROM tenantcore.protected_columns p JOIN pg_class c ON c.oid = p.rel
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                  ORDER BY 1 LOOP
            BEGIN
                EXECUTE format('SET LOCAL ROLE %I', app);
                PERFORM tenantcore.set_tenant(tenant.id);
                EXECUTE format('SELECT string_agg(to_jsonb(v)::text, E''\n''), count(*) FROM %s v', r.view) INTO rows_, n;
                RESET ROLE;
                INSERT INTO pg_temp._seen
                SELECT format('app %s: %s decrypted row %s', tenant.label, r.view, pg_temp.norm(x))
                  FROM regexp_split_to_table(rows_, E'\n') x WHERE rows_ IS NOT NULL;
                INSERT INTO pg_temp._seen VALUES (format('app %s: %s rows=%s', tenant.label, r.view, n));
            EXCEPTION WHEN OTHERS THEN
                RESET ROLE;
                INSERT INTO pg_temp._seen VALUES (format('app %s: %s error %s %s', tenant.label, r.view, SQLSTATE, SQLERRM));
            END;
        END LOOP;
        -- every blind index: the rows whose index matches their decrypted value
        FOR r IN SELECT p.rel, p.column_name AS col, p.encrypted_column AS enc, p.blind_index_column AS bidx,
                        p.blind_index_purpose AS purpose
                   FROM tenantcore.protected_columns p WHERE p.blind_index_column IS NOT NULL
                  ORDER BY p.rel::text COLLATE "C", p.column_name LOOP
            BEGIN
                EXECUTE format('SET LOCAL ROLE %I', app);
                PERFORM tenantcore.set_tenant(tenant.id);
                EXECUTE format('SELECT count(*), count(*) FILTER (WHERE t.%I = tenantcore.blind_index(tenantcore.decrypt_pii(t.%I), %L)) FROM %s t',
                               r.bidx, r.enc, r.purpose, r.rel) INTO n, m;
                RESET ROLE;
                INSERT INTO pg_temp._seen VALUES (format('app %s: %s.%s blind index %s matches %s of %s rows', tenant.label, r.rel, r.col,
                                                         r.bidx, m, n));
            EXCEPTION WHEN OTHERS THEN
                RESET ROLE;
                INSERT INTO pg_temp._seen VALUES (format('app %s: %s.%s blind index error %s %s', tenant.label, r.rel, r.col,
                                                         SQLSTATE, SQLERRM));
            END;
        END LOOP;
    END LOOP;
END
$$;
SELECT line FROM _seen;
