-- hardening (issue #11): protect_trigger() checks how it is fired and every
-- column it is given; a table owner cannot attach it by hand.  On 0.6.0 a
-- hand-made trigger with a bigint tenant column crashed the server (signal 11)
-- and an int ciphertext column got a heap pointer written into the row.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

\i test/helpers/err.sql

\set ta '\'aaaaaaaa-0000-4000-8000-0000000000a1\''
\set tb '\'bbbbbbbb-0000-4000-8000-0000000000b1\''

CREATE ROLE tc_hard_owner NOLOGIN;
CREATE ROLE tc_hard_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_hard_app');
GRANT USAGE ON SCHEMA tenantcore TO tc_hard_owner;
CREATE SCHEMA hard AUTHORIZATION tc_hard_owner;
GRANT USAGE ON SCHEMA hard TO tc_hard_app;

-- protect_trigger() is kept from PUBLIC: CREATE TRIGGER with it needs EXECUTE
SELECT has_function_privilege('tc_hard_owner', 'tenantcore.protect_trigger()', 'EXECUTE') AS owner_may_attach,
       has_function_privilege('tc_hard_app', 'tenantcore.protect_trigger()', 'EXECUTE') AS app_may_attach;

-- the attacker's table: a bigint "tenant" column
SET ROLE tc_hard_owner;
CREATE TABLE hard.evil (id int PRIMARY KEY, org bigint, plain text, enc bytea, n int);
CREATE TRIGGER evil BEFORE INSERT ON hard.evil FOR EACH ROW
    EXECUTE FUNCTION tenantcore.protect_trigger('plain', 'enc', '', 'org', 'p');
-- nor can the _protect_install_trigger() helper be used without a registry row
SELECT tenantcore._protect_install_trigger('hard.evil', 'plain');
RESET ROLE;

-- a superuser still can attach it by hand: every column is checked on the first row
CREATE TRIGGER evil BEFORE INSERT OR UPDATE ON hard.evil FOR EACH ROW
    EXECUTE FUNCTION tenantcore.protect_trigger('plain', 'enc', '', 'org', 'p');
INSERT INTO hard.evil VALUES (1, 42, 'secret');
\set VERBOSITY terse
SELECT pg_temp.err($$INSERT INTO hard.evil VALUES (1, 42, 'secret')$$) AS bigint_tenant;
DROP TRIGGER evil ON hard.evil;

-- one wrong setting at a time on a table whose columns are otherwise right
CREATE TABLE hard.t (id int PRIMARY KEY, organization_id uuid, plain text, plain_vc varchar(20),
                     enc bytea, bidx bytea, n int, b bigint, txt text,
                     gen bytea GENERATED ALWAYS AS (decode('00', 'hex')) STORED, gone bytea);
ALTER TABLE hard.t DROP COLUMN gone;
CREATE VIEW hard.v AS SELECT * FROM hard.t;
CREATE FUNCTION pg_temp.try(timing text, events text, level text, args text, rel text DEFAULT 'hard.t') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE format('CREATE TRIGGER probe %s %s ON %s FOR EACH %s EXECUTE FUNCTION tenantcore.protect_trigger(%s)',
                   timing, events, rel, level, args);
    result := pg_temp.err(format($q$INSERT INTO %s (id, organization_id, plain, plain_vc) VALUES (1, %L, 'x', 'y')$q$,
                                 rel, 'aaaaaaaa-0000-4000-8000-0000000000a1'));
    IF result = 'ok' THEN
        result := pg_temp.err(format($q$UPDATE %s SET plain = 'z' WHERE id = 1$q$, rel));
    END IF;
    IF result = 'ok' THEN
        result := pg_temp.err(format($q$DELETE FROM %s WHERE id = 1$q$, rel));
    END IF;
    EXECUTE format('DROP TRIGGER probe ON %s', rel);
    EXECUTE format('DELETE FROM %s', rel);
    RETURN result;
END
$$;
SELECT label, pg_temp.try(timing, events, level, args, rel) AS result
  FROM (VALUES
    ('int tenant',         'BEFORE', 'INSERT', 'ROW', $$'plain', 'enc', '', 'n', 'p'$$, 'hard.t'),
    ('text tenant',        'BEFORE', 'INSERT', 'ROW', $$'plain', 'enc', '', 'txt', 'p'$$, 'hard.t'),
    ('int plaintext',      'BEFORE', 'INSERT', 'ROW', $$'n', 'enc', '', 'organization_id', 'p'$$, 'hard.t'),
    ('bytea plaintext',    'BEFORE', 'INSERT', 'ROW', $$'enc', 'bidx', '', 'organization_id', 'p'$$, 'hard.t'),
    ('int ciphertext',     'BEFORE', 'INSERT', 'ROW', $$'plain', 'n', '', 'organization_id', 'p'$$, 'hard.t'),
    ('text ciphertext',    'BEFORE', 'INSERT', 'ROW', $$'plain', 'txt', '', 'organization_id', 'p'$$, 'hard.t'),
    ('bigint blind index', 'BEFORE', 'INSERT', 'ROW', $$'plain', 'enc', 'b', 'organization_id', 'p'$$, 'hard.t'),
    ('missing column',     'BEFORE', 'INSERT', 'ROW', $$'plain', 'enc', '', 'tenant', 'p'$$, 'hard.t'),
    ('dropped column',     'BEFORE', 'INSERT', 'ROW', $$'plain', 'enc', '........pg.dropped.11........', 'organization_id', 'p'$$, 'hard.t'),
    ('system column',      'BEFORE', 'INSERT', 'ROW', $$'plain', 'ctid', '', 'organization_id', 'p'$$, 'hard.t'),
    ('generated column',   'BEFORE', 'INSERT', 'ROW', $$'plain', 'gen', '', 'organization_id', 'p'$$, 'hard.t'),
    ('same column twice',  'BEFORE', 'INSERT', 'ROW', $$'plain', 'enc', 'enc', 'organization_id', 'p'$$, 'hard.t'),
    ('no arguments',       'BEFORE', 'INSERT', 'ROW', '', 'hard.t'),
    ('four arguments',     'BEFORE', 'INSERT', 'ROW', $$'plain', 'enc', '', 'organization_id'$$, 'hard.t'),
    ('six arguments',      'BEFORE', 'INSERT', 'ROW', $$'plain', 'enc', '', 'organization_id', 'p', 'x'$$, 'hard.t'),
    ('AFTER',              'AFTER',  'INSERT', 'ROW', $$'plain', 'enc', '', 'organization_id', 'p'$$, 'hard.t'),
    ('statement level',    'BEFORE', 'INSERT', 'STATEMENT', $$'plain', 'enc', '', 'organization_id', 'p'$$, 'hard.t'),
    ('BEFORE DELETE',      'BEFORE', 'INSERT OR UPDATE OR DELETE', 'ROW', $$'plain', 'enc', '', 'organization_id', 'p'$$, 'hard.t'),
    ('view',               'INSTEAD OF', 'INSERT', 'ROW', $$'plain', 'enc', '', 'organization_id', 'p'$$, 'hard.v'),
    ('right: text',        'BEFORE', 'INSERT OR UPDATE', 'ROW', $$'plain', 'enc', 'bidx', 'organization_id', 'p'$$, 'hard.t'),
    ('right: varchar',     'BEFORE', 'INSERT OR UPDATE', 'ROW', $$'plain_vc', 'enc', '', 'organization_id', 'p'$$, 'hard.t')
  ) v(label, timing, events, level, args, rel);
-- the dropped column really is the one named above
SELECT attname FROM pg_attribute WHERE attrelid = 'hard.t'::regclass AND attisdropped;
-- nothing was written by the refused triggers
SELECT count(*) AS rows_left FROM hard.t;
\set VERBOSITY default
-- the full message of one refusal
CREATE TRIGGER probe BEFORE INSERT ON hard.t FOR EACH ROW
    EXECUTE FUNCTION tenantcore.protect_trigger('plain', 'n', '', 'organization_id', 'p');
INSERT INTO hard.t (id, organization_id, plain) VALUES (1, :ta, 'x');
DROP TRIGGER probe ON hard.t;
\set VERBOSITY terse

-- protect() itself still works for a table owner, and the trigger it creates
-- is checked again after ALTER TABLE changes a column's type between statements
SET ROLE tc_hard_owner;
CREATE TABLE hard.people (id int PRIMARY KEY, organization_id uuid NOT NULL, email text);
SELECT tenantcore.isolate('hard.people');
GRANT SELECT, INSERT, UPDATE ON hard.people TO tc_hard_app;
SELECT tenantcore.protect('hard.people', 'email', true);
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'hard.people'::regclass AND NOT tgisinternal;
RESET ROLE;
SET ROLE tc_hard_app;
BEGIN;
SELECT tenantcore.set_tenant(:ta) IS NOT NULL AS tenant_set;
INSERT INTO hard.people VALUES (1, :ta, 'a@example.com');
SELECT id, email IS NULL AS plaintext_gone, tenantcore.decrypt_pii(email_encrypted) AS email,
       email_bidx = tenantcore.blind_index('A@example.com') AS bidx_matches
  FROM hard.people;
SELECT pg_temp.err($$INSERT INTO hard.people VALUES (2, 'bbbbbbbb-0000-4000-8000-0000000000b1', 'b@example.com')$$) AS other_tenant_row;
COMMIT;
RESET ROLE;
-- in one transaction: a row, the plaintext column becomes integer, another
-- row (refused even with no plaintext: the trigger no longer fits the table)
BEGIN;
INSERT INTO hard.people VALUES (3, :tb, 'c@example.com');
ALTER TABLE hard.people ALTER COLUMN email TYPE integer USING NULL;
SELECT pg_temp.err($$INSERT INTO hard.people VALUES (4, 'bbbbbbbb-0000-4000-8000-0000000000b1', NULL)$$) AS after_alter;
ROLLBACK;
-- a plpgsql loop: the same statement, executed before and after the change
CREATE FUNCTION pg_temp.insert_twice() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    results text := '';
BEGIN
    FOR i IN 5..6 LOOP
        results := results || i || ': ' || pg_temp.err(format(
            $q$INSERT INTO hard.people VALUES (%s, 'bbbbbbbb-0000-4000-8000-0000000000b1', 'x@example.com')$q$, i)) || '; ';
        IF i = 5 THEN
            ALTER TABLE hard.people ALTER COLUMN email_bidx TYPE text USING encode(email_bidx, 'hex');
        END IF;
    END LOOP;
    RETURN results;
END
$$;
BEGIN;
SELECT pg_temp.insert_twice();
ROLLBACK;
SELECT id, organization_id, email IS NULL AS plaintext_gone FROM hard.people ORDER BY id;

-- the statement trigger of tenant_keys refuses to run as a row trigger (whose
-- NULL result would silently skip every row)
CREATE TABLE hard.k (id int);
CREATE TRIGGER k BEFORE INSERT ON hard.k FOR EACH ROW EXECUTE FUNCTION tenantcore._tenant_keys_changed();
SELECT pg_temp.err('INSERT INTO hard.k VALUES (1)') AS row_trigger;
SELECT count(*) AS k_rows FROM hard.k;

-- clean up
DROP SCHEMA hard CASCADE;
DELETE FROM tenantcore.tenant_keys WHERE organization_id IN (:ta, :tb);
REVOKE ALL ON SCHEMA tenantcore FROM tc_hard_owner, tc_hard_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tenantcore FROM tc_hard_app;
DROP ROLE tc_hard_owner;
DROP ROLE tc_hard_app;
