#!/usr/bin/env bash
# test/shell/protect_not_null_upgrade.sh -- the 0.6.0 upgrade mends columns that
# 0.5.0's protect() left NOT NULL: their table took no row (every INSERT
# failed with 23502); after the upgrade the constraint is on the ciphertext
# column, as protect() now puts it, and rows can be written again.  A table
# that holds rows without ciphertext (its trigger was disabled) keeps its
# constraint and the upgrade warns.  Needs PGHOST/PGPORT/PGUSER of a running
# server with tenantcore installed.
set -euo pipefail
T1=0e000000-0000-4000-8000-0000000000e1
db=tc_pnn_upgrade_$$
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"; }
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; }
trap cleanup EXIT

fail=0
check() {  # check <description> <expected> <actual>
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fail=1; fi
}
notnull() { q -c "SELECT string_agg(attname || '=' || attnotnull, ' ' ORDER BY attnum) FROM pg_attribute
                  WHERE attrelid = '$1'::regclass AND attname LIKE 'email%'"; }
insert_sqlstate() {  # the SQLSTATE of an INSERT into $1 of email $2 (SQL), or ok
    q -c "DO \$\$ BEGIN
            PERFORM tenantcore.set_tenant('$T1');
            INSERT INTO $1 (id, email) VALUES (1, $2);
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'ok';
          EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', CASE WHEN SQLERRM = 'ok' THEN 'ok' ELSE SQLSTATE || ' ' || SQLERRM END;
          END \$\$" 2>&1 | sed 's/^NOTICE: *//'
}

createdb "$db"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION tenantcore VERSION '0.5.0' CASCADE"
q >/dev/null <<SQL
CREATE TABLE empty_t (id int, organization_id uuid NOT NULL, email text NOT NULL);
SELECT tenantcore.isolate('empty_t');
SELECT tenantcore.protect('empty_t', 'email');
CREATE TABLE filled_t (id int, organization_id uuid NOT NULL, email text NOT NULL);
SELECT tenantcore.isolate('filled_t');
SELECT tenantcore.protect('filled_t', 'email');
ALTER TABLE filled_t DISABLE TRIGGER tenantcore_protect_email;
INSERT INTO filled_t VALUES (1, '$T1', 'left in plaintext');
ALTER TABLE filled_t ENABLE TRIGGER tenantcore_protect_email;
SQL

check "0.5.0: the protected column stays NOT NULL" "email=true email_encrypted=false" "$(notnull empty_t)"
check "0.5.0: every INSERT fails" \
      '23502 null value in column "email" of relation "empty_t" violates not-null constraint' \
      "$(insert_sqlstate empty_t "'a@example.com'")"

warnings=$(q -c "ALTER EXTENSION tenantcore UPDATE TO '0.6.0'" 2>&1)
check "the upgrade warns about the table with rows lacking ciphertext" \
      'WARNING:  protected column email of filled_t keeps its NOT NULL constraint' "$(echo "$warnings" | head -1)"
check "the warning's hint gives the steps" \
      'HINT:  Run ALTER TABLE filled_t ALTER COLUMN email DROP NOT NULL; UPDATE filled_t SET email = email WHERE email_encrypted IS NULL (the trigger encrypts the values); ALTER TABLE filled_t ALTER COLUMN email_encrypted SET NOT NULL; then VACUUM FULL filled_t, as old row versions still hold the plaintext.' \
      "$(echo "$warnings" | grep '^HINT')"
check "0.6.0: the constraint moved to the ciphertext column" "email=false email_encrypted=true" "$(notnull empty_t)"
check "0.6.0: a table with rows lacking ciphertext keeps its constraint" "email=true email_encrypted=false" "$(notnull filled_t)"
# the hint's steps mend the table with rows
q >/dev/null <<SQL
ALTER TABLE filled_t ALTER COLUMN email DROP NOT NULL;
UPDATE filled_t SET email = email WHERE email_encrypted IS NULL;
ALTER TABLE filled_t ALTER COLUMN email_encrypted SET NOT NULL;
VACUUM FULL filled_t;
SQL
check "the hint's steps encrypt the rows and move the constraint" "0 1 email=false email_encrypted=true" \
      "$(q -c "SELECT count(email) || ' ' || count(email_encrypted) FROM filled_t") $(notnull filled_t)"
check "0.6.0: an INSERT with a value works" "ok" "$(insert_sqlstate empty_t "'a@example.com'")"
check "0.6.0: an INSERT without one is refused by the constraint on the ciphertext" \
      '23502 null value in column "email_encrypted" of relation "empty_t" violates not-null constraint' \
      "$(insert_sqlstate empty_t "NULL")"
q >/dev/null <<SQL
BEGIN;
SELECT tenantcore.set_tenant('$T1');
INSERT INTO empty_t (id, email) VALUES (2, 'b@example.com');
COMMIT;
SQL
check "0.6.0: the value is stored encrypted and reads back through the view" "0 1 b@example.com" \
      "$(q <<SQL | tail -1
BEGIN;
SELECT tenantcore.set_tenant('$T1') IS NULL;
SELECT count(t.email) || ' ' || count(t.email_encrypted) || ' ' || min(v.email)
  FROM empty_t t JOIN empty_t_decrypted v USING (id);
COMMIT;
SQL
)"
[ "$fail" -eq 0 ]
