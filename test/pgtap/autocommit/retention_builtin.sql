-- Built-in policies and the recipes for the seeds' other retention rules, end
-- to end through run_retention (it COMMITs: autocommit mode, cleans up):
-- the audit log's built-in 7 years (drop_partition), a built-in policy
-- installed with _builtin_retain() on a sessions table whose ended_at is
-- LEAST(expires_at, revoked_at), soft-deleted rows past a grace period
-- (deleted_at), documents past their retention date (keep '0').
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DROP SCHEMA IF EXISTS ret_bi CASCADE;
DROP ROLE IF EXISTS ret_bi_owner;
CREATE ROLE ret_bi_owner NOLOGIN;
CREATE SCHEMA ret_bi AUTHORIZATION ret_bi_owner;
DROP TABLE IF EXISTS tenantcore.audit_log_p201801, tenantcore.audit_log_p202101;

SET ROLE ret_bi_owner;
-- a core-style sessions table: a session ends when it expires or is revoked
CREATE TABLE ret_bi.sessions (
    organization_id uuid NOT NULL,
    id          integer NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    ended_at    timestamptz GENERATED ALWAYS AS (LEAST(expires_at, revoked_at)) STORED,
    PRIMARY KEY (organization_id, id)
);
INSERT INTO ret_bi.sessions (organization_id, id, expires_at, revoked_at) VALUES
    ('00000000-0000-0000-0000-0000000000b1', 1, now() + interval '7 days', NULL),                      -- active
    ('00000000-0000-0000-0000-0000000000b1', 2, now() - interval '40 days', NULL),                     -- expired long ago
    ('00000000-0000-0000-0000-0000000000b1', 3, now() + interval '7 days', now() - interval '40 days'), -- revoked long ago
    ('00000000-0000-0000-0000-0000000000b1', 4, now() - interval '10 days', NULL),                     -- expired, in grace
    ('00000000-0000-0000-0000-0000000000b2', 5, now() - interval '40 days', now() - interval '50 days');
-- soft deletion: rows deleted more than 30 days ago go
CREATE TABLE ret_bi.clients (organization_id uuid NOT NULL, id integer, created_at timestamptz, deleted_at timestamptz);
INSERT INTO ret_bi.clients VALUES
    ('00000000-0000-0000-0000-0000000000b1', 1, now() - interval '5 years', NULL),
    ('00000000-0000-0000-0000-0000000000b1', 2, now() - interval '5 years', now() - interval '31 days'),
    ('00000000-0000-0000-0000-0000000000b1', 3, now() - interval '5 years', now() - interval '29 days'),
    ('00000000-0000-0000-0000-0000000000b2', 4, now() - interval '5 years', now() - interval '1 year');
-- documents: each carries the date until which it must be kept
CREATE TABLE ret_bi.documents (organization_id uuid NOT NULL, id integer, retention_until date);
INSERT INTO ret_bi.documents VALUES
    ('00000000-0000-0000-0000-0000000000b1', 1, NULL),
    ('00000000-0000-0000-0000-0000000000b1', 2, current_date - 1),
    ('00000000-0000-0000-0000-0000000000b1', 3, current_date + 1),
    ('00000000-0000-0000-0000-0000000000b2', 4, current_date - 400);
RESET ROLE;

-- audit log partitions: one ended 8 years ago, one 5 years ago
CREATE TABLE tenantcore.audit_log_p201801 PARTITION OF tenantcore.audit_log
    FOR VALUES FROM ('2018-01-01 00:00+00') TO ('2018-02-01 00:00+00');
CREATE TABLE tenantcore.audit_log_p202101 PARTITION OF tenantcore.audit_log
    FOR VALUES FROM ('2021-01-01 00:00+00') TO ('2021-02-01 00:00+00');
INSERT INTO tenantcore.audit_log (organization_id, occurred_at, relid, table_name, operation)
VALUES ('00000000-0000-0000-0000-0000000000b1', '2018-01-15', 0, 'x', 'INSERT'),
       ('00000000-0000-0000-0000-0000000000b1', '2021-01-15', 0, 'x', 'INSERT');

SELECT tenantcore._builtin_retain(-101, 'ret_bi.sessions', 'ended_at', '30 days');
SELECT tenantcore.retain('ret_bi.clients', 'deleted_at', '30 days');
SELECT tenantcore.retain('ret_bi.documents', 'retention_until', '0');
SELECT id AS audit_policy, enabled AS audit_enabled FROM tenantcore.retention_policies
 WHERE rel = 'tenantcore.audit_log'::regclass \gset
SELECT tenantcore.enable_retention('tenantcore.audit_log');
SELECT coalesce(max(id), 0) AS last_run FROM tenantcore.retention_runs \gset

CALL tenantcore.run_retention();

SELECT plan(10);
SELECT is(:audit_policy, -1, 'the audit log''s built-in policy has the fixed id -1');
SELECT results_eq($$SELECT rel::text, time_column::text COLLATE "default", keep, action, builtin FROM tenantcore.retention_policies
                     WHERE id IN (-1, -101) ORDER BY id DESC$$,
                  $$VALUES ('tenantcore.audit_log', 'occurred_at', interval '7 years', 'drop_partition', true),
                           ('ret_bi.sessions', 'ended_at', interval '30 days', 'delete', true)$$,
                  'built-in policies: the audit log (7 years, drop_partition) and the one _builtin_retain installed');
SELECT is((SELECT detail FROM tenantcore.retention_runs WHERE policy_id = -1 AND id > :last_run),
          'dropped tenantcore.audit_log_p201801', 'the built-in policy dropped the audit partition older than 7 years');
SELECT ok(to_regclass('tenantcore.audit_log_p201801') IS NULL AND to_regclass('tenantcore.audit_log_p202101') IS NOT NULL,
          'the 8-year-old partition is gone, the 5-year-old one is kept');
SELECT results_eq($$SELECT id FROM ret_bi.sessions ORDER BY id$$, $$VALUES (1), (4)$$,
                  'sessions: ended (expired or revoked) more than 30 days ago are deleted; active and in-grace ones stay');
SELECT results_eq($$SELECT id FROM ret_bi.clients ORDER BY id$$, $$VALUES (1), (3)$$,
                  'soft-deleted rows past the 30-day grace go; rows never deleted (deleted_at NULL) stay');
SELECT results_eq($$SELECT id FROM ret_bi.documents ORDER BY id$$, $$VALUES (1), (3)$$,
                  'documents past their retention date go (keep 0); no date (NULL) or a future date stay');
SELECT results_eq($$SELECT rel, rows_affected, error FROM tenantcore.retention_runs
                     WHERE id > $$ || :last_run || $$ AND rel LIKE 'ret_bi.%' ORDER BY rel$$,
                  $$VALUES ('ret_bi.clients', 2::bigint, NULL::text), ('ret_bi.documents', 2::bigint, NULL),
                           ('ret_bi.sessions', 3::bigint, NULL)$$,
                  'the run log counts the purged rows of each table');

-- a second run is idempotent
SELECT coalesce(max(id), 0) AS last_run FROM tenantcore.retention_runs \gset
CALL tenantcore.run_retention();
SELECT is((SELECT sum(rows_affected + partitions_dropped)::int FROM tenantcore.retention_runs WHERE id > :last_run), 0,
          'a second run finds nothing to do');

-- dropping the table forgets its built-in policy
DROP TABLE ret_bi.sessions;
SELECT ok(NOT EXISTS (SELECT FROM tenantcore.retention_policies WHERE id = -101),
          'a built-in policy goes with its table');
SELECT * FROM finish();

SELECT CASE WHEN :'audit_enabled' THEN tenantcore.enable_retention('tenantcore.audit_log')
            ELSE tenantcore.disable_retention('tenantcore.audit_log') END;
DELETE FROM tenantcore.retention_builtin_settings WHERE policy_id = -1;
DROP TABLE IF EXISTS tenantcore.audit_log_p201801, tenantcore.audit_log_p202101;
DROP SCHEMA ret_bi CASCADE;
DELETE FROM tenantcore.retention_runs WHERE policy_id IS NULL OR policy_id = -1;
DROP ROLE ret_bi_owner;
