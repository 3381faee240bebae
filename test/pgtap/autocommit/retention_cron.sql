-- One real scheduled run through pg_cron (the test cluster sets
-- cron.database_name = 'postgres').  pg_cron 1.4 schedules by the minute, so
-- this waits up to 90 seconds.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
CREATE EXTENSION IF NOT EXISTS pg_cron;
DROP TABLE IF EXISTS public.ret_cron_events;
CREATE TABLE public.ret_cron_events (organization_id uuid NOT NULL, at timestamptz NOT NULL);
INSERT INTO public.ret_cron_events SELECT '00000000-0000-0000-0000-0000000000c1', now() - (g - 0.5) * interval '1 day'
  FROM generate_series(1, 20) g;
SELECT tenantcore.retain('public.ret_cron_events', 'at', '10 days') AS policy \gset
SELECT now() AS scheduled_at \gset

SELECT plan(6);
SELECT ok(tenantcore.schedule_retention('* * * * *') > 0, 'schedule_retention registers a pg_cron job');
SELECT results_eq($$SELECT schedule, command, database FROM cron.job WHERE jobname = 'tenantcore-retention-postgres'$$,
                  $$VALUES ('* * * * *'::text, 'CALL tenantcore.run_retention()'::text, 'postgres'::text)$$,
                  'the job calls the runner in this database');

-- wait for pg_cron to run it
DO $$
BEGIN
    FOR i IN 1 .. 90 LOOP
        EXIT WHEN EXISTS (SELECT FROM tenantcore.retention_runs r JOIN tenantcore.retention_policies p ON p.id = r.policy_id
                           WHERE p.rel = 'public.ret_cron_events'::regclass AND r.finished_at IS NOT NULL);
        PERFORM pg_sleep(1);
    END LOOP;
END $$;

SELECT results_eq($$SELECT rows_affected, error FROM tenantcore.retention_runs WHERE policy_id = $$ || :policy,
                  $$VALUES (10::bigint, NULL::text)$$, 'the scheduled run purged the expired rows');
SELECT is((SELECT count(*)::int FROM public.ret_cron_events), 10, 'ten rows younger than 10 days are kept');
SELECT ok(tenantcore.unschedule_retention(), 'unschedule_retention removes the job');
SELECT is((SELECT count(*)::int FROM cron.job WHERE jobname = 'tenantcore-retention-postgres'), 0, 'no job is left');
SELECT * FROM finish();

SELECT tenantcore.unretain('public.ret_cron_events');
DROP TABLE public.ret_cron_events;
DELETE FROM tenantcore.retention_runs WHERE policy_id IS NULL;
