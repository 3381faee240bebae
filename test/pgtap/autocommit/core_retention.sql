-- The built-in retention policies of the core tables (0.5.0 Part 8), end to
-- end through run_retention (it COMMITs: autocommit mode, cleans up):
-- sessions and API keys 30 / 90 days after they ended (expired or revoked),
-- access logs after a year, error logs after 90 days; live rows stay.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
DELETE FROM tenantcore.organizations WHERE slug = 'core-retention-test';
DELETE FROM tenantcore.users WHERE email = 'core-retention@example.com';

SELECT tenantcore.create_user('core-retention@example.com') AS u \gset
SELECT tenantcore.set_actor(:'u', false) IS NOT NULL AS actor_set \gset
SELECT tenantcore.create_organization('Core Retention', 'core-retention-test', :'u') AS o \gset

-- ended long ago, ended within the grace period, still live
INSERT INTO tenantcore.sessions (organization_id, user_id, token_hash, created_at, expires_at, revoked_at, user_agent) VALUES
    (:'o', :'u', gen_random_bytes(32), now() - interval '90 days', now() - interval '40 days', NULL, 'expired long ago'),
    (:'o', :'u', gen_random_bytes(32), now() - interval '90 days', now() + interval '1 day', now() - interval '31 days', 'revoked long ago'),
    (:'o', :'u', gen_random_bytes(32), now() - interval '20 days', now() - interval '10 days', NULL, 'expired in grace'),
    (:'o', :'u', gen_random_bytes(32), now() - interval '1 day', now() + interval '29 days', NULL, 'live');
INSERT INTO tenantcore.api_keys (organization_id, user_id, name, key_hash, created_at, expires_at, revoked_at)
SELECT :'o', :'u', n, gen_random_bytes(32), now() - interval '1 year', e, r
  FROM (VALUES ('revoked long ago', NULL::timestamptz, now() - interval '100 days'),
               ('revoked in grace', NULL, now() - interval '80 days'),
               ('no expiry', NULL, NULL)) v(n, e, r);
INSERT INTO tenantcore.access_logs (organization_id, user_id, method, endpoint, status_code, occurred_at) VALUES
    (:'o', :'u', 'GET', '/old', 200, now() - interval '13 months'),
    (:'o', :'u', 'GET', '/recent', 200, now() - interval '11 months');
INSERT INTO tenantcore.error_logs (organization_id, service, level, message, occurred_at) VALUES
    (:'o', 'api', 'error', 'old', now() - interval '100 days'),
    (:'o', 'api', 'error', 'recent', now() - interval '80 days');

CALL tenantcore.run_retention();

SELECT plan(6);
SELECT results_eq(format('SELECT user_agent FROM tenantcore.sessions WHERE organization_id = %L ORDER BY 1', :'o'),
                  $$VALUES ('expired in grace'), ('live')$$,
                  'sessions that ended more than 30 days ago are removed, the others stay');
SELECT results_eq(format('SELECT name FROM tenantcore.api_keys WHERE organization_id = %L ORDER BY 1', :'o'),
                  $$VALUES ('no expiry'), ('revoked in grace')$$,
                  'API keys that ended more than 90 days ago are removed, the others stay');
SELECT results_eq(format('SELECT endpoint FROM tenantcore.access_logs WHERE organization_id = %L', :'o'),
                  $$VALUES ('/recent')$$, 'access logs are kept for a year');
SELECT results_eq(format('SELECT message FROM tenantcore.error_logs WHERE organization_id = %L', :'o'),
                  $$VALUES ('recent')$$, 'error logs are kept for 90 days');
SELECT results_eq($$SELECT format('%s %s.%s %s %s %s', id, rel, time_column::text COLLATE "default", keep, action, enabled) COLLATE "default"
                      FROM tenantcore.retention_policies
                     WHERE builtin AND id BETWEEN -5 AND -2 ORDER BY id DESC$$,
                  $$VALUES ('-2 tenantcore.sessions.ended_at 30 days delete t'),
                           ('-3 tenantcore.api_keys.ended_at 90 days delete t'),
                           ('-4 tenantcore.access_logs.occurred_at 1 year delete t'),
                           ('-5 tenantcore.error_logs.occurred_at 90 days delete t')$$,
                  'the four built-in policies of the core tables');
SELECT ok((SELECT sum(rows_affected) FROM tenantcore.retention_runs r
            WHERE r.policy_id BETWEEN -5 AND -2 AND r.error IS NULL
              AND r.started_at >= now() - interval '10 minutes') >= 5,
          'the run log records the rows each built-in policy removed');
SELECT * FROM finish();

DELETE FROM tenantcore.organizations WHERE id = :'o';
DELETE FROM tenantcore.users WHERE id = :'u';
SELECT tenantcore.clear_tenant();
