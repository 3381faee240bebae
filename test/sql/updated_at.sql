-- tenantcore: track_updated_at() and its C trigger (0.5.0)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS tenantcore CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE tc_upd_owner NOLOGIN;
CREATE ROLE tc_upd_other NOLOGIN;
GRANT USAGE ON SCHEMA tenantcore TO tc_upd_owner, tc_upd_other;
CREATE SCHEMA upd AUTHORIZATION tc_upd_owner;
GRANT USAGE ON SCHEMA upd TO tc_upd_other;

SET ROLE tc_upd_owner;
CREATE TABLE upd.t (
    id         int PRIMARY KEY,
    note       text,
    changed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT '2000-01-01 00:00:00+00'
);
INSERT INTO upd.t VALUES (1, 'a', NULL), (2, 'b', NULL);

-- default column, then a named one; re-running replaces the trigger
SELECT tenantcore.track_updated_at('upd.t');
BEGIN;
UPDATE upd.t SET note = 'a2' WHERE id = 1;
SELECT id, updated_at = now() AS set_to_now, changed_at IS NULL AS other_untouched FROM upd.t ORDER BY id;
ROLLBACK;
-- a value given by the UPDATE is overwritten too: the column always tells the truth
BEGIN;
UPDATE upd.t SET updated_at = '1999-01-01' WHERE id = 2;
SELECT updated_at = now() AS overwritten FROM upd.t WHERE id = 2;
ROLLBACK;
SELECT tenantcore.track_updated_at('upd.t', 'changed_at');
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'upd.t'::regclass AND NOT tgisinternal;
BEGIN;
UPDATE upd.t SET note = 'b2' WHERE id = 2;
SELECT id, changed_at = now() AS changed_set, updated_at = now() AS old_column_untouched FROM upd.t ORDER BY id;
ROLLBACK;

-- partitioned tables: the trigger reaches every partition
CREATE TABLE upd.p (id int, updated_at timestamptz) PARTITION BY RANGE (id);
CREATE TABLE upd.p1 PARTITION OF upd.p FOR VALUES FROM (0) TO (10);
SELECT tenantcore.track_updated_at('upd.p');
CREATE TABLE upd.p2 PARTITION OF upd.p FOR VALUES FROM (10) TO (20);
INSERT INTO upd.p VALUES (1, NULL), (11, NULL);
BEGIN;
UPDATE upd.p SET id = id;
SELECT id, updated_at = now() AS set_to_now FROM upd.p ORDER BY id;
ROLLBACK;

-- a renamed column is reported, not silently ignored
ALTER TABLE upd.t RENAME COLUMN changed_at TO touched_at;
UPDATE upd.t SET note = 'x';
SELECT tenantcore.track_updated_at('upd.t', 'touched_at');
UPDATE upd.t SET note = 'x' WHERE id = 1;

-- bad input
SELECT tenantcore.track_updated_at(NULL);
SELECT tenantcore.track_updated_at('upd.t', NULL);
SELECT tenantcore.track_updated_at('upd.t', 'nope');
SELECT tenantcore.track_updated_at('upd.t', 'note');
SELECT tenantcore.track_updated_at('upd.t', 'id');
CREATE VIEW upd.v AS SELECT * FROM upd.t;
SELECT tenantcore.track_updated_at('upd.v');
SELECT tenantcore.track_updated_at('upd.t; DROP TABLE upd.t');
SELECT tenantcore.track_updated_at('upd.t', 'note"; DROP TABLE upd.t; --');
-- the trigger function cannot be misused
SELECT tenantcore.updated_at_trigger();
CREATE TRIGGER wrong AFTER UPDATE ON upd.t FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('touched_at');
UPDATE upd.t SET note = 'y' WHERE id = 1;
DROP TRIGGER wrong ON upd.t;
CREATE TRIGGER wrong BEFORE UPDATE ON upd.t FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger();
UPDATE upd.t SET note = 'y' WHERE id = 1;
DROP TRIGGER wrong ON upd.t;
CREATE TRIGGER wrong BEFORE UPDATE ON upd.t FOR EACH ROW EXECUTE FUNCTION tenantcore.updated_at_trigger('note');
UPDATE upd.t SET note = 'y' WHERE id = 1;
DROP TRIGGER wrong ON upd.t;
RESET ROLE;

-- only who may create triggers on the table may install it
SET ROLE tc_upd_other;
SELECT tenantcore.track_updated_at('upd.t');
RESET ROLE;

DROP SCHEMA upd CASCADE;
REVOKE USAGE ON SCHEMA tenantcore FROM tc_upd_owner, tc_upd_other;
DROP ROLE tc_upd_owner;
DROP ROLE tc_upd_other;
