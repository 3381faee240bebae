-- tenantcore: COPY under the tenant policy, as a non-owner application role
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE tc_copy_owner NOLOGIN;
CREATE ROLE tc_copy_app LOGIN NOSUPERUSER NOBYPASSRLS;
SELECT tenantcore.grant_app_role('tc_copy_app');
CREATE SCHEMA cp AUTHORIZATION tc_copy_owner;
GRANT USAGE ON SCHEMA cp TO tc_copy_app;
CREATE TABLE cp.items (id int, organization_id uuid NOT NULL, name text);
CREATE TABLE cp.parted (id int, organization_id uuid NOT NULL) PARTITION BY LIST (id);
CREATE TABLE cp.parted_1 PARTITION OF cp.parted FOR VALUES IN (1, 2, 3);
ALTER TABLE cp.items OWNER TO tc_copy_owner;
ALTER TABLE cp.parted OWNER TO tc_copy_owner;
ALTER TABLE cp.parted_1 OWNER TO tc_copy_owner;
SELECT tenantcore.isolate('cp.items');
SELECT tenantcore.isolate('cp.parted');
GRANT SELECT, INSERT ON cp.items, cp.parted, cp.parted_1 TO tc_copy_app;
COPY cp.items FROM STDIN;
1	11111111-1111-1111-1111-111111111111	a1
2	22222222-2222-2222-2222-222222222222	b1
3	11111111-1111-1111-1111-111111111111	a2
\.
COPY cp.parted FROM STDIN;
1	11111111-1111-1111-1111-111111111111
2	22222222-2222-2222-2222-222222222222
\.

SET ROLE tc_copy_app;
-- no tenant: COPY TO shows nothing
COPY cp.items TO STDOUT;
-- COPY FROM is refused under row level security (PostgreSQL: use INSERT),
-- with or without a tenant, so it cannot be used to get around WITH CHECK
COPY cp.items (id, name) FROM STDIN;
9	none
\.
BEGIN;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
-- COPY TO of the table runs as a query under the policy
COPY cp.items TO STDOUT;
COPY (SELECT * FROM cp.items ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER);
COPY cp.parted_1 TO STDOUT;
-- COPY TO of a partitioned table reads ONLY the parent under RLS: no row
COPY cp.parted TO STDOUT;
COPY (SELECT * FROM cp.parted) TO STDOUT;
COPY cp.items (id, name) FROM STDIN;
4	a3
\.
ROLLBACK;
BEGIN;
SELECT tenantcore.set_tenant('11111111-1111-1111-1111-111111111111');
COPY cp.parted_1 FROM STDIN;
3	22222222-2222-2222-2222-222222222222
\.
ROLLBACK;
BEGIN;
SELECT tenantcore.set_tenant('22222222-2222-2222-2222-222222222222');
COPY cp.items TO STDOUT;
COPY (SELECT * FROM cp.parted) TO STDOUT;
COMMIT;
RESET ROLE;
-- RLS is forced, so even the owner cannot COPY FROM (loading is a job for a
-- superuser, e.g. pg_restore)
SET ROLE tc_copy_owner;
COPY cp.items FROM STDIN;
7	11111111-1111-1111-1111-111111111111	owner
\.
COPY cp.items TO STDOUT;
RESET ROLE;

-- what is stored
SELECT id, organization_id, name FROM cp.items ORDER BY id;
SELECT id, organization_id FROM cp.parted ORDER BY id;

SET client_min_messages = warning;
DROP SCHEMA cp CASCADE;
RESET client_min_messages;
DROP OWNED BY tc_copy_owner, tc_copy_app;
DROP ROLE tc_copy_owner, tc_copy_app;
