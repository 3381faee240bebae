-- tenantcore pgTAP: _audit_entry_hash(), written in C since 0.8.0, gives the
-- hash its SQL definition gives (the function's body until 0.8.0, which
-- seals made before keep): for entries the trigger wrote (INSERT, UPDATE,
-- DELETE, TRUNCATE, an actor, an application name with quotes and Unicode)
-- and for entries made up column by column with what a superuser could put
-- in the log (NULL everywhere, control characters, multi-dimensional arrays
-- with NULLs, infinite timestamps, oids above 2^31, IPv4 and IPv6
-- addresses, the largest ids, an array that is no text[] inside), under two
-- time zones.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(10);

CREATE FUNCTION pg_temp.spec_hash(l tenantcore.audit_log) RETURNS bytea LANGUAGE sql STABLE
RETURN sha256(convert_to(jsonb_build_array(
           l.id, l.organization_id, l.occurred_at, l.txid::text, l.relid::bigint, l.table_name, l.operation,
           encode(tenantcore._audit_jsonb_hash(l.pk), 'hex'), encode(tenantcore._audit_jsonb_hash(l.old_row), 'hex'),
           encode(tenantcore._audit_jsonb_hash(l.new_row), 'hex'), l.changed_columns, l.actor_id, l.db_user,
           l.application_name, l.client_addr::text, l.table_id, l.record_id)::text, 'UTF8'));

-- entries written by the trigger
CREATE SCHEMA eh;
CREATE TABLE eh.items (id int PRIMARY KEY, organization_id uuid, name text, price numeric, tags text[], doc jsonb, at timestamptz);
SELECT tenantcore.audit('eh.items');
SET LOCAL application_name = 'app "quoted" é中😀';
SELECT tenantcore.set_tenant('aaaaaaaa-0000-0000-0000-00000000eeee');
SELECT tenantcore.set_actor('acacacac-0000-0000-0000-00000000eeee');
INSERT INTO eh.items SELECT g, 'aaaaaaaa-0000-0000-0000-00000000eeee', E'n\u0001"\\' || g, g * 1.25, ARRAY['a', NULL],
                            jsonb_build_object('k', g, 'nested', jsonb_build_array(1.50, 'x', NULL)), now()
  FROM generate_series(1, 50) g;
UPDATE eh.items SET name = 'renamed', price = NULL WHERE id % 3 = 0;
DELETE FROM eh.items WHERE id % 5 = 0;
TRUNCATE eh.items;

SET LOCAL TimeZone = 'UTC';
SELECT is((SELECT count(*) FROM tenantcore.audit_log l WHERE l.table_name = 'eh.items'), 77::bigint,
          'the trigger wrote INSERT, UPDATE, DELETE and TRUNCATE entries');
SELECT is((SELECT count(*) FROM tenantcore.audit_log l
            WHERE l.table_name = 'eh.items' AND tenantcore._audit_entry_hash(l) = pg_temp.spec_hash(l)),
          77::bigint, 'every entry the trigger wrote hashes as the SQL definition says (UTC)');
SELECT is((SELECT count(*) FROM tenantcore.audit_log l
            WHERE l.table_name = 'eh.items' AND l.actor_id IS NOT NULL AND l.application_name LIKE 'app "quoted"%'),
          77::bigint, 'with an actor and the application name');

-- entries made up column by column
CREATE TEMP TABLE made_up (e tenantcore.audit_log);
INSERT INTO made_up SELECT ROW(v.*)::tenantcore.audit_log FROM (VALUES
    (NULL::bigint, NULL::uuid, NULL::timestamptz, NULL::xid8, NULL::oid, NULL::text, NULL::text, NULL::jsonb, NULL::jsonb,
     NULL::jsonb, NULL::text[], NULL::uuid, NULL::text, NULL::text, NULL::inet, NULL::uuid, NULL::uuid),
    (9223372036854775807, 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'infinity', '18446744073709551615', 4294967295,
     E'sch\"ema.\\tab\u0007le', 'UPDATE', '{"id": [1, {"a": null}]}', '{}', '[]',
     '{{"a\"b", NULL}, {"c\\d", "e"}}', '00000000-0000-0000-0000-000000000000', E'user\nname', '', '::1', NULL, NULL),
    (-9223372036854775808, NULL, '-infinity', '0', 0, '', '', 'null', '"s"', '1.000', '{}', NULL, NULL, NULL,
     '10.0.0.1', NULL, NULL),
    (1, NULL, '2026-12-07 12:34:56.789012+05:30', '3', 2147483648, 'public.t', 'DELETE', '{"k": 1e-20}',
     '{"big": 123456789012345678901234567890.123456789}', NULL, '{x}', NULL, 'postgres', 'psql',
     '2001:db8::1/64', 'aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000002'),
    (2, NULL, '2026-01-01 00:00+00', '4', 1, E'\u00e9\u4e2d\U0001F600 tab\there', 'INSERT', NULL, NULL,
     (SELECT jsonb_object_agg('k' || g, repeat(chr(1), g)) FROM generate_series(1, 40) g),
     '{{{a}}}', NULL, NULL, NULL, '192.168.0.0/16', NULL, NULL)) v;

SELECT is((SELECT count(*) FROM made_up m WHERE tenantcore._audit_entry_hash(m.e) = pg_temp.spec_hash(m.e)), 5::bigint,
          'made-up entries hash as the SQL definition says (UTC)');
SELECT is(tenantcore._audit_entry_hash(NULL::tenantcore.audit_log), pg_temp.spec_hash(NULL::tenantcore.audit_log),
          'a NULL entry hashes as one whose columns are all NULL');
SELECT is((SELECT count(DISTINCT tenantcore._audit_entry_hash(m.e)) FROM made_up m), 5::bigint,
          'the made-up entries hash differently');

-- a changed_columns value that is no text[] inside (a mislabelled internal
-- function makes one): rendered by the element type it names, as the SQL
-- definition renders it, not read as text (which crashed the server)
CREATE FUNCTION pg_temp.as_text_array(int8[], int8[]) RETURNS text[] LANGUAGE internal IMMUTABLE STRICT AS 'array_larger';
CREATE TEMP TABLE crafted AS
SELECT ROW(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, pg_temp.as_text_array('{1,2}', '{1,2}'),
           NULL, NULL, NULL, NULL, NULL, NULL)::tenantcore.audit_log AS e;
SELECT is((SELECT tenantcore._audit_entry_hash(e) FROM crafted), (SELECT pg_temp.spec_hash(e) FROM crafted),
          'a changed_columns value of another element type hashes as the SQL definition says');

SET LOCAL TimeZone = 'Asia/Kolkata';
SELECT is((SELECT count(*) FROM made_up m WHERE tenantcore._audit_entry_hash(m.e) = pg_temp.spec_hash(m.e)), 5::bigint,
          'and under another time zone too (the callers pin UTC)');
SELECT is((SELECT count(*) FROM tenantcore.audit_log l
            WHERE l.table_name = 'eh.items' AND tenantcore._audit_entry_hash(l) = pg_temp.spec_hash(l)),
          77::bigint, 'the trigger''s entries too');
RESET TimeZone;

CREATE ROLE tc_eh_app NOLOGIN;
SELECT tenantcore.grant_app_role('tc_eh_app');
SET LOCAL ROLE tc_eh_app;
SELECT throws_ok($$SELECT tenantcore._audit_entry_hash(NULL::tenantcore.audit_log)$$, '42501', NULL,
                 'an application role cannot call it: only the seals do');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
