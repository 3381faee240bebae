-- retention policies: configuration and bad input
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
SET client_min_messages = notice;
\set SHOW_CONTEXT never
CREATE ROLE ret_reg_owner NOLOGIN;
CREATE ROLE ret_reg_app LOGIN;
SELECT tenantcore.grant_app_role('ret_reg_app');
CREATE SCHEMA ret_reg AUTHORIZATION ret_reg_owner;
GRANT USAGE ON SCHEMA ret_reg TO ret_reg_app;
SET ROLE ret_reg_owner;
CREATE TABLE ret_reg.events (
    organization_id uuid NOT NULL,
    id      bigint GENERATED ALWAYS AS IDENTITY,
    at      timestamptz,
    day     date,
    email   text,
    score   integer,
    PRIMARY KEY (organization_id, id)
);
CREATE TABLE ret_reg.global_log (at timestamp NOT NULL, msg text);
CREATE TABLE ret_reg.plog (organization_id uuid, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE ret_reg.plist (organization_id uuid, kind text, at timestamptz) PARTITION BY LIST (kind);
CREATE VIEW ret_reg.v AS SELECT * FROM ret_reg.events;
RESET ROLE;
SELECT tenantcore.isolate('ret_reg.events');

-- valid policies, and re-running retain() reconfigures the same policy
SELECT tenantcore.retain('ret_reg.events', 'at', '90 days') = tenantcore.retain('ret_reg.events', 'at', '30 days') AS same_policy;
SELECT tenantcore.retain('ret_reg.events', 'day', '1 year', 'anonymize', '{"email": null, "score": 0}') > 0 AS ok;
SELECT tenantcore.retain('ret_reg.global_log', 'at', '7 days') > 0 AS ok;
SELECT tenantcore.retain('ret_reg.plog', 'at', '1 year', 'drop_partition') > 0 AS ok;
SELECT rel, time_column, keep, action, anonymize, tenant_column, enabled, builtin, id < 0 AS fixed_id
  FROM tenantcore.retention_policies WHERE NOT builtin OR id = -1 ORDER BY rel::text, time_column;

-- bad input
SELECT tenantcore.retain(NULL, 'at', '1 day');
SELECT tenantcore.retain('ret_reg.events', NULL, '1 day');
SELECT tenantcore.retain('ret_reg.events', 'at', NULL);
SELECT tenantcore.retain('ret_reg.nosuch', 'at', '1 day');
SELECT tenantcore.retain('ret_reg.v', 'at', '1 day');
SELECT tenantcore.retain('ret_reg.events', 'nosuch', '1 day');
SELECT tenantcore.retain('ret_reg.events', 'email', '1 day');
SELECT tenantcore.retain('ret_reg.events', '"x; drop table y"', '1 day');
SELECT tenantcore.retain('ret_reg.events', 'at', '-1 day');
SELECT tenantcore.retain('ret_reg.global_log', 'at', '0') > 0 AS keep_0_for_a_date_to_purge_at;
SELECT tenantcore.retain('ret_reg.events', 'at', '1 mon -40 days');
SELECT tenantcore.retain('ret_reg.events', 'at', '200000 years');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'truncate');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'anonymize');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'delete', '{"email": null}');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'anonymize', '[1]');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'anonymize', '{}');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'anonymize', '{"nosuch": 1}');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'anonymize', '{"at": null}');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'anonymize', '{"score": "many"}');
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'anonymize', '{"email": "x''); DROP TABLE ret_reg.events; --"}') > 0 AS quoted_safely;
SELECT count(*) AS events_table_still_there FROM ret_reg.events;
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day', 'drop_partition');
SELECT tenantcore.retain('ret_reg.plist', 'at', '1 day', 'drop_partition');
CREATE TEMP TABLE ret_tmp (at timestamptz);
SELECT tenantcore.retain('ret_tmp', 'at', '1 day');

-- overrides and holds
SELECT tenantcore.retain_for_tenant('ret_reg.events', '00000000-0000-0000-0000-000000000001', '10 years');
SELECT tenantcore.retain_for_tenant('ret_reg.events', '00000000-0000-0000-0000-000000000001', '10 years', 'at');
SELECT tenantcore.retain_for_tenant('ret_reg.events', '00000000-0000-0000-0000-000000000001', '-1 day', 'at');
SELECT tenantcore.retain_for_tenant('ret_reg.events', NULL, '1 day', 'at');
SELECT tenantcore.retain_for_tenant('ret_reg.events', '00000000-0000-0000-0000-000000000001', '1 day', 'nosuch');
SELECT tenantcore.retain_for_tenant('ret_reg.global_log', '00000000-0000-0000-0000-000000000001', '1 day');
SELECT organization_id, keep FROM tenantcore.retention_overrides;
SELECT tenantcore.retain_for_tenant('ret_reg.events', '00000000-0000-0000-0000-000000000001', NULL, 'at');
SELECT count(*) AS overrides FROM tenantcore.retention_overrides;
SELECT tenantcore.hold('00000000-0000-0000-0000-000000000002', 'ret_reg.events', 'litigation') AS hold_id \gset
SELECT tenantcore.hold(NULL);
SELECT tenantcore.hold('00000000-0000-0000-0000-000000000002', 'ret_reg.v');
SELECT tenantcore.release_hold(:hold_id);
SELECT tenantcore.release_hold(:hold_id);
SELECT released_at IS NOT NULL AS released FROM tenantcore.legal_holds WHERE id = :hold_id;
SELECT tenantcore.release_hold(-1);
SELECT tenantcore.release_hold(NULL);

-- run_retention: argument checks
CALL tenantcore.run_retention(max_runtime => '0');
CALL tenantcore.run_retention(batch_size => 0);
CALL tenantcore.run_retention(pause_ratio => -1);
CALL tenantcore.run_retention(pause_ratio => NULL);

-- the built-in policy of the audit log: its period and enabled flag can be
-- changed (and are recorded for pg_dump), its action cannot, it cannot be removed
SELECT tenantcore.retain('tenantcore.audit_log', 'occurred_at', '10 years');
SELECT tenantcore.retain('tenantcore.audit_log', 'occurred_at', '10 years', 'delete');
SELECT tenantcore.disable_retention('tenantcore.audit_log');
SELECT policy_id, keep, enabled FROM tenantcore.retention_builtin_settings;
SELECT tenantcore.unretain('tenantcore.audit_log');
SELECT tenantcore.enable_retention('tenantcore.audit_log');
SELECT tenantcore.retain('tenantcore.audit_log', 'occurred_at', '7 years', 'drop_partition');
SELECT id, keep, enabled FROM tenantcore.retention_policies WHERE id = -1;
DELETE FROM tenantcore.retention_builtin_settings;
SELECT tenantcore.enable_retention(NULL);
SELECT tenantcore.disable_retention('ret_reg.v');
SELECT tenantcore._builtin_retain(5, 'ret_reg.events', 'at', '1 day');

-- the owner check: a role granted EXECUTE may only touch tables it owns
GRANT EXECUTE ON FUNCTION tenantcore.retain(regclass, name, interval, text, jsonb),
    tenantcore.unretain(regclass, name), tenantcore.retain_for_tenant(regclass, uuid, interval, name),
    tenantcore.hold(uuid, regclass, text), tenantcore.release_hold(bigint),
    tenantcore.enable_retention(regclass, name), tenantcore.disable_retention(regclass, name)
  TO ret_reg_app, ret_reg_owner;
GRANT USAGE ON SCHEMA tenantcore TO ret_reg_owner;
SET ROLE ret_reg_app;
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day');
SELECT tenantcore.unretain('ret_reg.events');
SELECT tenantcore.retain_for_tenant('ret_reg.events', '00000000-0000-0000-0000-000000000001', '1 day', 'at');
SELECT tenantcore.disable_retention('ret_reg.events', 'at');
SELECT tenantcore.hold('00000000-0000-0000-0000-000000000002', 'ret_reg.events');
SELECT tenantcore.hold('00000000-0000-0000-0000-000000000002');
SELECT tenantcore.retain('tenantcore.audit_log', 'occurred_at', '1 day');
RESET ROLE;
SET ROLE ret_reg_owner;
SELECT tenantcore.retain('ret_reg.events', 'at', '60 days') > 0 AS owner_may;
SELECT tenantcore.hold('00000000-0000-0000-0000-000000000002', 'ret_reg.events') AS owner_hold \gset
SELECT tenantcore.hold('00000000-0000-0000-0000-000000000002');
RESET ROLE;
SELECT tenantcore.hold('00000000-0000-0000-0000-000000000002') AS tenant_hold \gset
SET ROLE ret_reg_app;
SELECT tenantcore.release_hold(:owner_hold);
SELECT tenantcore.release_hold(:tenant_hold);
RESET ROLE;
SET ROLE ret_reg_owner;
SELECT tenantcore.release_hold(:owner_hold);
SELECT tenantcore.release_hold(:tenant_hold);
RESET ROLE;
SELECT tenantcore.release_hold(:tenant_hold);
SELECT rel, keep FROM tenantcore.retention_policies WHERE rel = 'ret_reg.events'::regclass ORDER BY time_column;
REVOKE EXECUTE ON FUNCTION tenantcore.retain(regclass, name, interval, text, jsonb),
    tenantcore.unretain(regclass, name), tenantcore.retain_for_tenant(regclass, uuid, interval, name),
    tenantcore.hold(uuid, regclass, text), tenantcore.release_hold(bigint),
    tenantcore.enable_retention(regclass, name), tenantcore.disable_retention(regclass, name)
  FROM ret_reg_app, ret_reg_owner;

-- an application role may not configure or run retention
SET ROLE ret_reg_app;
SELECT tenantcore.retain('ret_reg.events', 'at', '1 day');
SELECT tenantcore.hold('00000000-0000-0000-0000-000000000002');
CALL tenantcore.run_retention();
SELECT count(*) FROM tenantcore.retention_policies;
RESET ROLE;

-- pg_cron is not installed in this database: a clear error with a hint
SELECT tenantcore.schedule_retention();
SELECT tenantcore.schedule_retention(NULL);
SELECT tenantcore.unschedule_retention();

-- unretain and dropped tables
SELECT tenantcore.unretain('ret_reg.events', 'day');
SELECT tenantcore.unretain('ret_reg.events', 'day');
DROP TABLE ret_reg.global_log;
SELECT rel, time_column FROM tenantcore.retention_policies WHERE NOT builtin OR id = -1 ORDER BY rel::text, time_column;

DROP SCHEMA ret_reg CASCADE;
SELECT count(*) AS policies_left FROM tenantcore.retention_policies WHERE NOT builtin;
DROP OWNED BY ret_reg_app;
DROP OWNED BY ret_reg_owner;
DROP ROLE ret_reg_owner;
DROP ROLE ret_reg_app;
