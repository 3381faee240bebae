-- tenantcore pgTAP: the audit trigger writes its row images directly in
-- JSONB's binary form (src/audit_json.c).  Every image must be the very value
-- to_jsonb() builds: equal, with the same text and key order, every key
-- found by lookup (which reads the offsets stored every 32 entries), and
-- containment both ways (which walks the binary form).  Written by a
-- non-owner application role of two tenants, on a table of 47 columns (more
-- than 32 keys), with numbers and embedded JSONB at every alignment after
-- strings of every length, JSONB scalars, NULLs, NaN and infinities, a
-- TOASTed value, excluded and redacted columns, changed-only and full-row
-- UPDATEs, and DELETEs.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(22);

CREATE ROLE tc_jl_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_jl_app');
CREATE SCHEMA jl;
GRANT USAGE ON SCHEMA jl TO tc_jl_app;

-- 45 columns of 10 types in turn, after the key and the tenant
CREATE TEMP TABLE jl_types AS
SELECT g, (ARRAY['numeric', 'jsonb', 'text', 'int', 'bool', 'float8', 'timestamptz', 'int[]', 'smallint', 'bigint'])[1 + g % 10] AS t
  FROM generate_series(1, 45) g;
SELECT format('CREATE TABLE jl.wide (id int PRIMARY KEY, organization_id uuid NOT NULL, %s)',
              string_agg(format('c%s %s', g, t), ', ' ORDER BY g)) FROM jl_types \gexec
CREATE TABLE jl.full_rows (LIKE jl.wide INCLUDING ALL);
CREATE TABLE jl.hidden (LIKE jl.wide INCLUDING ALL);
-- (the key leaves the tenant out on purpose: history() looks rows up by id alone)
SET LOCAL client_min_messages = error;
SELECT tenantcore.isolate('jl.wide'), tenantcore.audit('jl.wide');
SELECT tenantcore.isolate('jl.full_rows'), tenantcore.audit('jl.full_rows', changed_only => false);
SELECT tenantcore.isolate('jl.hidden'), tenantcore.audit('jl.hidden', exclude => '{c3, c44}', redact => '{c2, c12, c40}');
SET LOCAL client_min_messages = warning;
GRANT SELECT, INSERT, UPDATE, DELETE ON jl.wide, jl.full_rows, jl.hidden TO tc_jl_app;

-- the values of row g, column by column: lengths vary with g and the column
SELECT format($f$CREATE FUNCTION jl.fill(tenant uuid, first int, last int) RETURNS SETOF jl.wide
LANGUAGE sql AS $$ SELECT g, tenant, %s FROM generate_series(first, last) g $$$f$,
    string_agg(CASE t
        WHEN 'numeric' THEN format('CASE WHEN g %% 11 = 0 THEN NULL WHEN g %% 13 = 0 THEN ''NaN''::numeric ELSE g * 1.5 / %s END', g)
        WHEN 'jsonb' THEN format('(ARRAY[''5'', ''"s"'', ''null'', ''{"a": [1, 2.50, {"b": null}]}'', ''[true, "x", 3]'', ''{}'', ''[]'', ''true'', ''1.000'', NULL])[1 + (g + %s) %% 10]::jsonb', g)
        WHEN 'text' THEN format('CASE WHEN g %% 7 = %s %% 7 THEN NULL ELSE repeat(''é"\x'', (g + %s) %% 9) END', g, g)
        WHEN 'int' THEN format('g * %s - 500', g)
        WHEN 'bool' THEN 'CASE g % 3 WHEN 0 THEN NULL ELSE g % 2 = 0 END'
        WHEN 'float8' THEN format('(ARRAY[1e300, ''Infinity'', ''NaN'', -0.5, 0.1, NULL])[1 + (g + %s) %% 6]::float8', g)
        WHEN 'timestamptz' THEN format('''2026-01-01''::timestamptz + g * interval ''%s minutes''', g)
        WHEN 'int[]' THEN 'ARRAY[g, NULL]'
        WHEN 'smallint' THEN '(g % 300)::smallint'
        WHEN 'bigint' THEN format('g::bigint * 100000000 * %s', g) END, ', ' ORDER BY g))
  FROM jl_types \gexec
GRANT EXECUTE ON FUNCTION jl.fill(uuid, int, int) TO tc_jl_app;

\set A '\'aaaaaaaa-0000-0000-0000-00000000a1a1\''
\set B '\'bbbbbbbb-0000-0000-0000-00000000b1b1\''

SET LOCAL ROLE tc_jl_app;
SELECT tenantcore.set_tenant(:A);
INSERT INTO jl.wide SELECT * FROM jl.fill(:A, 1, 200);
INSERT INTO jl.full_rows SELECT * FROM jl.fill(:A, 1, 100);
INSERT INTO jl.hidden SELECT * FROM jl.fill(:A, 1, 100);
SELECT tenantcore.set_tenant(:B);
INSERT INTO jl.wide SELECT * FROM jl.fill(:B, 201, 400);
-- one value stored out of line (TOAST), one embedded JSONB object large enough to be compressed
INSERT INTO jl.wide (id, organization_id, c2, c1)
VALUES (401, :B, repeat('long text ', 50000), (SELECT jsonb_object_agg('k' || g, g * 0.5) FROM generate_series(1, 5000) g));
RESET ROLE;

CREATE TEMP TABLE jl_inserted AS
SELECT l.new_row AS image, to_jsonb(w) AS expected
  FROM jl.wide w JOIN tenantcore.audit_log l ON l.table_name = 'jl.wide' AND l.operation = 'INSERT' AND l.pk = jsonb_build_object('id', w.id);

SELECT is((SELECT count(*) FROM jl_inserted), 401::bigint, 'every inserted row of both tenants has an entry');
SELECT is((SELECT count(*) FROM jl_inserted WHERE image = expected), 401::bigint, 'every image equals to_jsonb() of its row');
SELECT is((SELECT count(*) FROM jl_inserted WHERE image::text = expected::text), 401::bigint, 'every image has the text of to_jsonb()');
SELECT is((SELECT count(*) FROM jl_inserted
            WHERE ARRAY(SELECT jsonb_object_keys(image)) = ARRAY(SELECT jsonb_object_keys(expected))), 401::bigint,
          'every image keeps its keys in JSONB''s order (which lookups rely on)');
SELECT is((SELECT count(*) FROM jl_inserted, jsonb_object_keys(expected) k
            WHERE image -> k IS DISTINCT FROM expected -> k OR image ->> k IS DISTINCT FROM expected ->> k),
          0::bigint, 'every one of the 47 keys is found by lookup with its value');
SELECT is((SELECT count(*) FROM jl_inserted WHERE image @> expected AND expected @> image), 401::bigint,
          'containment holds both ways');
SELECT is((SELECT count(*) FROM jl_inserted WHERE jsonb_typeof(image -> 'c1') = 'number' AND (image ->> 'c1') = (expected ->> 'c1')),
          (SELECT count(*) FROM jl_inserted WHERE jsonb_typeof(expected -> 'c1') = 'number'), 'JSONB scalars are embedded as scalars');
SELECT is((SELECT count(*) FROM jl_inserted WHERE image ->> 'c2' = repeat('long text ', 50000)
              AND image -> 'c1' -> 'k5000' = '2500.0'), 1::bigint, 'a TOASTed text and a large embedded object are copied whole');
SELECT is((SELECT count(*) FROM jl_inserted, jsonb_path_query(image, '$.** ? (@.type() == "number")') v), 
          (SELECT count(*) FROM jl_inserted, jsonb_path_query(expected, '$.** ? (@.type() == "number")') v),
          'a path query over every nested number finds the same numbers');

-- excluded and redacted columns (a NULL stays null)
CREATE FUNCTION pg_temp.hidden_image(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_object_agg(k, CASE WHEN k IN ('c2', 'c12', 'c40') AND v <> 'null' THEN '"[redacted]"' ELSE v END)
      FROM jsonb_each(j - '{c3, c44}'::text[]) e(k, v) $$;
SELECT is((SELECT count(*) FROM jl.hidden h JOIN tenantcore.audit_log l ON l.table_name = 'jl.hidden' AND l.pk = jsonb_build_object('id', h.id)
            WHERE l.new_row = pg_temp.hidden_image(to_jsonb(h))),
          100::bigint, 'excluded columns are left out and redacted ones replaced, in a valid image');
SELECT is((SELECT count(*) FROM jl.hidden h JOIN tenantcore.audit_log l ON l.table_name = 'jl.hidden' AND l.pk = jsonb_build_object('id', h.id)
            WHERE l.new_row::text = pg_temp.hidden_image(to_jsonb(h))::text),
          100::bigint, 'and with the text to_jsonb() gives');

-- UPDATE: changed-only images hold the changed columns and the key
CREATE TEMP TABLE jl_before AS SELECT id, to_jsonb(w) AS row FROM jl.wide w;
CREATE TEMP TABLE jl_before_full AS SELECT id, to_jsonb(f) AS row FROM jl.full_rows f;
SET LOCAL ROLE tc_jl_app;
SELECT tenantcore.set_tenant(:A);
UPDATE jl.wide SET c3 = c3 + 1, c9 = NULL, c22 = repeat('u', id % 5), c1 = '{"new": [1.5]}' WHERE id % 3 = 0;
UPDATE jl.full_rows SET c10 = 7.25 WHERE id <= 50;
RESET ROLE;

CREATE TEMP TABLE jl_updated AS
SELECT l.old_row, l.new_row, l.changed_columns, b.row AS before, to_jsonb(w) AS after
  FROM jl.wide w JOIN jl_before b USING (id)
  JOIN tenantcore.audit_log l ON l.table_name = 'jl.wide' AND l.operation = 'UPDATE' AND l.pk = jsonb_build_object('id', w.id);
CREATE FUNCTION pg_temp.only_keys(j jsonb, keys text[]) RETURNS jsonb LANGUAGE sql AS $$
    SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM jsonb_each(j) e(k, v) WHERE k = ANY (keys) $$;

SELECT is((SELECT count(*) FROM jl_updated), 66::bigint, 'every updated row of tenant A has an entry');
SELECT is((SELECT count(*) FROM jl_updated
            WHERE new_row = pg_temp.only_keys(after, changed_columns || '{id}')
              AND new_row::text = pg_temp.only_keys(after, changed_columns || '{id}')::text
              AND pg_column_size(new_row) = pg_column_size(pg_temp.only_keys(after, changed_columns || '{id}'))),
          66::bigint, 'changed-only new images are the changed columns and the key, as to_jsonb() builds them');
SELECT is((SELECT count(*) FROM jl_updated
            WHERE old_row = pg_temp.only_keys(before, changed_columns || '{id}')
              AND old_row::text = pg_temp.only_keys(before, changed_columns || '{id}')::text),
          66::bigint, 'changed-only old images likewise');
SELECT is((SELECT count(*) FROM jl_updated, jsonb_object_keys(new_row) k WHERE new_row -> k IS DISTINCT FROM after -> k),
          0::bigint, 'every key of the changed-only images is found by lookup');
SELECT is((SELECT count(*) FROM jl.full_rows f JOIN jl_before_full b USING (id)
              JOIN tenantcore.audit_log l ON l.table_name = 'jl.full_rows' AND l.operation = 'UPDATE' AND l.pk = jsonb_build_object('id', f.id)
            WHERE l.new_row = to_jsonb(f) AND l.new_row::text = to_jsonb(f)::text
              AND l.old_row = b.row AND l.old_row::text = b.row::text),
          50::bigint, 'full-row UPDATE images are whole rows');

-- DELETE: the old image is the whole row
SET LOCAL ROLE tc_jl_app;
SELECT tenantcore.set_tenant(:B);
DELETE FROM jl.wide WHERE id > 300;
RESET ROLE;
CREATE TEMP TABLE jl_deleted AS
SELECT l.old_row, b.row AS before
  FROM jl_before b JOIN tenantcore.audit_log l ON l.table_name = 'jl.wide' AND l.operation = 'DELETE' AND l.pk = jsonb_build_object('id', b.id);
SELECT is((SELECT count(*) FROM jl_deleted), 101::bigint, 'every deleted row of tenant B has an entry');
SELECT is((SELECT count(*) FROM jl_deleted WHERE old_row = before AND old_row::text = before::text), 101::bigint, 'every DELETE image is the row as to_jsonb() builds it');
SELECT is((SELECT count(*) FROM jl_deleted, jsonb_object_keys(before) k WHERE old_row -> k IS DISTINCT FROM before -> k),
          0::bigint, 'every key of the DELETE images is found by lookup');

-- the images read back through history() as the application role, per tenant
SET LOCAL ROLE tc_jl_app;
SELECT tenantcore.set_tenant(:A);
SELECT is((SELECT count(*) FROM tenantcore.history('jl.wide', '{"id": 3}')), 2::bigint, 'history() of a row of tenant A: INSERT and UPDATE');
SELECT is((SELECT row_data -> 'c1' FROM tenantcore.row_as_of('jl.wide', '{"id": 3}', now()) r(row_data)), '{"new": [1.5]}'::jsonb,
          'row_as_of() applies the changed-only image');
SELECT is((SELECT count(*) FROM tenantcore.history('jl.wide', '{"id": 301}')), 0::bigint, 'tenant A sees nothing of tenant B''s rows');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
