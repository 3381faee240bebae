-- hardening (issue #11): the audit trigger re-entered by user code.  Turning
-- a row into JSONB can run user code (here a cast to json of an enum, in
-- plpgsql); on 0.6.0 that code could invalidate the trigger's cached
-- settings (GRANT on the audited table) and fire another audit trigger
-- (INSERT into another audited table), which freed the settings still in use
-- by the outer call: the server crashed.  Settings in use are now pinned.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

CREATE ROLE tc_hara_owner NOLOGIN;
CREATE SCHEMA hara AUTHORIZATION tc_hara_owner;
SET ROLE tc_hara_owner;
CREATE TYPE hara.mood AS ENUM ('calm', 'angry', 'furious');
CREATE TABLE hara.ra (id serial PRIMARY KEY, m hara.mood, note text);
CREATE TABLE hara.rb (id serial PRIMARY KEY, note text);
-- the user code: runs while the audit trigger of ra builds its JSONB
CREATE FUNCTION hara.mood_json(v hara.mood) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
    GRANT SELECT ON hara.ra TO PUBLIC;      -- invalidates the settings of ra's trigger
    INSERT INTO hara.rb (note) VALUES ('cast of ' || v);   -- fires rb's audit trigger
    IF v = 'calm' AND current_setting('hara.depth', true) = 'deep' THEN
        -- fires ra's audit trigger again, whose cast runs this again
        INSERT INTO hara.ra (m, note) VALUES ('angry', 'nested');
    END IF;
    IF v = 'angry' AND current_setting('hara.fail', true) = 'raise' THEN
        RAISE EXCEPTION 'user code failed';
    END IF;
    IF v = 'angry' AND current_setting('hara.fail', true) = 'caught' THEN
        BEGIN
            INSERT INTO hara.ra (m, note) VALUES ('furious', 'rolled back');
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'caught: %', SQLERRM;
        END;
    END IF;
    IF v = 'furious' THEN
        RAISE EXCEPTION 'too furious';
    END IF;
    RETURN to_json(v::text);
END
$$;
CREATE CAST (hara.mood AS json) WITH FUNCTION hara.mood_json(hara.mood);
RESET ROLE;
SELECT tenantcore.audit('hara.ra'), tenantcore.audit('hara.rb');

-- the entries written since the last look (the log is append-only)
CREATE TEMP TABLE seen AS SELECT coalesce(max(id), 0) AS id FROM tenantcore.audit_log;
CREATE VIEW pg_temp.log AS
SELECT operation, table_name, new_row FROM tenantcore.audit_log
 WHERE table_name LIKE 'hara.%' AND id > (SELECT id FROM seen) ORDER BY id;

SET ROLE tc_hara_owner;
-- 1. the attacker's shape: GRANT on the audited table, then an insert into
-- another audited table, from inside the JSONB conversion
INSERT INTO hara.ra (m, note) VALUES ('calm', 'outer');
-- 2. deeper: the nested insert re-enters ra's own trigger (stale settings,
-- pinned by the outer call), whose conversion re-enters rb's again
SET hara.depth = 'deep';
INSERT INTO hara.ra (m, note) VALUES ('calm', 'outer, deep');
-- several rows in one statement, each one re-entering
INSERT INTO hara.ra (m, note) VALUES ('calm', 'row 1 of 2'), ('calm', 'row 2 of 2');
RESET ROLE;
SELECT * FROM pg_temp.log;
UPDATE seen SET id = (SELECT max(id) FROM tenantcore.audit_log);

SET ROLE tc_hara_owner;
-- 3. an error thrown by the user code two levels down: the statement fails,
-- nothing is logged, and the pins are released (the next statements work)
SET hara.fail = 'raise';
INSERT INTO hara.ra (m, note) VALUES ('calm', 'fails');
SELECT count(*) AS rows_after_error FROM hara.ra WHERE note = 'fails';
-- 4. an error three levels down, caught by the user code: the level that
-- failed releases its pin, the others go on
SET hara.fail = 'caught';
INSERT INTO hara.ra (m, note) VALUES ('calm', 'outer, caught');
RESET hara.fail;
RESET hara.depth;
INSERT INTO hara.ra (m, note) VALUES (NULL, 'plain');
INSERT INTO hara.rb (note) VALUES ('plain');
RESET ROLE;
SELECT * FROM pg_temp.log;

-- no settings left behind: one resolved entry per audit trigger (a pin
-- leaked by an error would keep detached settings alive)
SELECT count(*) AS audit_trigger_contexts FROM pg_backend_memory_contexts
 WHERE name = 'tenantcore audit trigger';

-- clean up
SELECT tenantcore.unaudit('hara.ra'), tenantcore.unaudit('hara.rb');
DROP SCHEMA hara CASCADE;
DROP ROLE tc_hara_owner;
