-- tenantcore: protect() of a NOT NULL column (0.6.0): the constraint moves to
-- the ciphertext column, a missing value is reported under the column's name
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

\set ta '\'a1a1a1a1-0000-4000-8000-0000000000a1\''
\set tb '\'b2b2b2b2-0000-4000-8000-0000000000b2\''

CREATE ROLE tc_pnn_owner NOLOGIN;
CREATE ROLE tc_pnn_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_pnn_app');
GRANT USAGE ON SCHEMA tenantcore TO tc_pnn_owner;
CREATE SCHEMA pnn AUTHORIZATION tc_pnn_owner;
GRANT USAGE ON SCHEMA pnn TO tc_pnn_app;

SET ROLE tc_pnn_owner;
CREATE TABLE pnn.people (
    id              int  NOT NULL,
    organization_id uuid NOT NULL,
    email           text NOT NULL,
    phone           text,
    PRIMARY KEY (organization_id, id)
);
SELECT tenantcore.isolate('pnn.people');
GRANT SELECT, INSERT, UPDATE ON pnn.people TO tc_pnn_app;
-- an empty table (before 0.6.0 every INSERT failed after this)
CREATE TABLE pnn.empty (LIKE pnn.people INCLUDING ALL);
SELECT tenantcore.isolate('pnn.empty');
GRANT SELECT, INSERT ON pnn.empty TO tc_pnn_app;
-- a key or unique column cannot hold NULL
CREATE TABLE pnn.keyed (organization_id uuid NOT NULL, code text PRIMARY KEY);
CREATE TABLE pnn.uniq (organization_id uuid NOT NULL, code text, CONSTRAINT uniq_code UNIQUE (organization_id, code));
-- a partitioned table, names that need quoting
CREATE TABLE pnn."Odd People" (id int NOT NULL, organization_id uuid NOT NULL, "E-Mail" text NOT NULL)
    PARTITION BY LIST (organization_id);
CREATE TABLE pnn."Odd People A" PARTITION OF pnn."Odd People" FOR VALUES IN ('a1a1a1a1-0000-4000-8000-0000000000a1');
CREATE TABLE pnn."Odd People B" PARTITION OF pnn."Odd People" FOR VALUES IN ('b2b2b2b2-0000-4000-8000-0000000000b2');
SELECT tenantcore.isolate('pnn."Odd People"');
GRANT SELECT, INSERT ON pnn."Odd People" TO tc_pnn_app;
RESET ROLE;
INSERT INTO pnn.people SELECT g, CASE WHEN g % 2 = 0 THEN :ta::uuid ELSE :tb::uuid END, 'p' || g || '@example.com'
  FROM generate_series(1, 20) g;
INSERT INTO pnn."Odd People" SELECT g, CASE WHEN g % 2 = 0 THEN :ta::uuid ELSE :tb::uuid END, 'o' || g || '@example.com'
  FROM generate_series(1, 6) g;
SET ROLE tc_pnn_owner;

SELECT tenantcore.protect('pnn.keyed', 'code');
SELECT tenantcore.protect('pnn.uniq', 'code');
SELECT tenantcore.protect('pnn."Odd People"', 'E-Mail') AS view;
SELECT attrelid::regclass, attname, attnotnull FROM pg_attribute
 WHERE attrelid IN ('pnn."Odd People"'::regclass, 'pnn."Odd People A"'::regclass, 'pnn."Odd People B"'::regclass)
   AND attname LIKE 'E-Mail%' ORDER BY attrelid::regclass::text, attnum;
SELECT tenantcore.protect('pnn.people', 'email', searchable => true) AS view;
SELECT tenantcore.protect('pnn.people', 'phone') AS view;
SELECT tenantcore.protect('pnn.empty', 'email') AS view;
SELECT attname, attnotnull FROM pg_attribute
 WHERE attrelid IN ('pnn.people'::regclass, 'pnn.empty'::regclass) AND attnum > 0 AND NOT attisdropped
   AND attname LIKE ANY (ARRAY['email%', 'phone%'])
 ORDER BY attrelid::regclass::text, attnum;
RESET ROLE;
SELECT count(*) AS rows, count(email) AS plaintext, count(email_encrypted) AS ciphertext FROM pnn.people;

-- the application: a value is encrypted, a missing one refused as before
SET ROLE tc_pnn_app;
BEGIN;
SELECT tenantcore.set_tenant(:ta) IS NOT NULL AS tenant_set;
INSERT INTO pnn.people (id, email) VALUES (100, 'new@example.com')
RETURNING email IS NULL AS no_plaintext, email_encrypted IS NOT NULL AS encrypted;
INSERT INTO pnn.empty (id, email) VALUES (1, 'first@example.com') RETURNING email IS NULL AS no_plaintext;
SELECT id, email FROM pnn.people_decrypted WHERE id IN (2, 100) ORDER BY id;
SELECT id, email FROM pnn.empty_decrypted;
SAVEPOINT s;
INSERT INTO pnn.people (id, phone) VALUES (101, '555');
ROLLBACK TO SAVEPOINT s;
INSERT INTO pnn.empty (id, email) VALUES (2, NULL);
ROLLBACK TO SAVEPOINT s;
-- row level security is checked first: a row for another tenant gets its error
INSERT INTO pnn.people (id, organization_id) VALUES (103, :tb);
ROLLBACK TO SAVEPOINT s;
INSERT INTO pnn."Odd People" (id, "E-Mail") VALUES (7, 'odd@example.com');
SELECT id, "E-Mail" FROM pnn."Odd People_decrypted" ORDER BY id;
INSERT INTO pnn."Odd People" (id) VALUES (8);
ROLLBACK TO SAVEPOINT s;
-- an UPDATE that does not touch the column keeps its ciphertext
UPDATE pnn.people SET phone = '556' WHERE id = 100 RETURNING email_encrypted IS NOT NULL AS kept;
-- setting it to NULL is refused
UPDATE pnn.people SET email = NULL, email_encrypted = NULL WHERE id = 100;
ROLLBACK TO SAVEPOINT s;
-- a nullable protected column still takes NULL
INSERT INTO pnn.people (id, email, phone) VALUES (102, 'x@example.com', NULL) RETURNING phone_encrypted IS NULL AS no_phone;
COMMIT;
RESET ROLE;
SELECT organization_id = :ta AS tenant_a, count(*) FROM pnn.people GROUP BY 1 ORDER BY 1;

-- clean up
SET client_min_messages = warning;
DROP SCHEMA pnn CASCADE;
RESET client_min_messages;
DELETE FROM tenantcore.tenant_keys WHERE organization_id IN (:ta, :tb);
REVOKE ALL ON SCHEMA tenantcore FROM tc_pnn_owner, tc_pnn_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tenantcore FROM tc_pnn_app;
DROP ROLE tc_pnn_owner;
DROP ROLE tc_pnn_app;
