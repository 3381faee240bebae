-- test/clients/setup.sql -- the schema of test/shell/clients_pgbouncer.sh, run as a
-- superuser in its database: a NOLOGIN owner, two application roles (one with
-- missing_tenant = deny, the default, one with missing_tenant = error), a
-- tenant-isolated table, three tenants with one counter row per worker.
SET client_min_messages = warning;
CREATE EXTENSION tenantcore CASCADE;
CREATE ROLE tc_clients_owner NOLOGIN;
CREATE ROLE tc_clients_app LOGIN NOSUPERUSER NOBYPASSRLS;
CREATE ROLE tc_clients_strict LOGIN NOSUPERUSER NOBYPASSRLS;
ALTER ROLE tc_clients_strict SET tenantcore.missing_tenant = error;
SELECT tenantcore.grant_app_role('tc_clients_owner');
SELECT tenantcore.grant_app_role('tc_clients_app');
SELECT tenantcore.grant_app_role('tc_clients_strict');
CREATE SCHEMA app AUTHORIZATION tc_clients_owner;
GRANT USAGE ON SCHEMA app TO tc_clients_app, tc_clients_strict;
SET ROLE tc_clients_owner;
CREATE TABLE app.items (
    organization_id uuid NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    client          text NOT NULL,       -- node or python
    worker          int  NOT NULL,
    kind            text NOT NULL,       -- counter (one per worker, updated) or row (inserted)
    n               int  NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, id)
);
SELECT tenantcore.isolate('app.items');
GRANT SELECT, INSERT, UPDATE ON app.items TO tc_clients_app, tc_clients_strict;
RESET ROLE;
-- the tenants, and which tenant each worker (0..19) of each client works for
CREATE TABLE public.worker_tenant (client text, worker int, tenant uuid, PRIMARY KEY (client, worker));
INSERT INTO public.worker_tenant
SELECT c, w, (ARRAY['a0000000-0000-4000-8000-00000000000a', 'b0000000-0000-4000-8000-00000000000b',
                    'c0000000-0000-4000-8000-00000000000c'])[w % 3 + 1]::uuid
  FROM unnest(ARRAY['node', 'python']) c, generate_series(0, 19) w;
-- as the superuser (no row level security): one counter per worker
INSERT INTO app.items (organization_id, client, worker, kind)
SELECT tenant, client, worker, 'counter' FROM public.worker_tenant;
