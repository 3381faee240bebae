#!/usr/bin/env bash
# test/shell/audit_export_settled.sh -- audit_export() never skips an entry of
# a transaction that commits after an export: a transaction takes an entry's
# id when it writes, a later one takes a higher id and commits first; an
# export then must stop below the first one's id, and the next export (after
# the last id returned) must return both.  The same for a prepared
# transaction (two-phase commit, as Citus's workers use), when the cluster
# allows them (also one prepared before a restart of the server), and for a
# writer whose first id fails in a savepoint.  As the application role.  Needs PGHOST/PGPORT/PGUSER.
set -euo pipefail
HELPERS=$(cd "$(dirname "$0")/../helpers" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
db=tenantcore_audit_export_settled
dropdb --if-exists "$db" 2>/dev/null; createdb "$db"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
app() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -U tc_exp_app "$@"; }
fail() { echo "not ok - $*"; dropdb --if-exists "$db"; psql -X -q -c "DROP ROLE IF EXISTS tc_exp_app" -c "DROP ROLE IF EXISTS tc_exp_owner" >/dev/null 2>&1; exit 1; }
ok() { echo "ok - $*"; }
T=00000000-0000-0000-0000-0000000000e1

q >/dev/null <<SQL
SET client_min_messages = warning;
DROP ROLE IF EXISTS tc_exp_app;
DROP ROLE IF EXISTS tc_exp_owner;
CREATE EXTENSION tenantcore CASCADE;
\set owner tc_exp_owner
\set app tc_exp_app
\set schema exp
\\i $HELPERS/app_roles.sql
SET ROLE tc_exp_owner;
CREATE TABLE exp.notes (organization_id uuid NOT NULL, id bigserial, body text, PRIMARY KEY (organization_id, id));
GRANT SELECT, INSERT ON exp.notes TO tc_exp_app;
GRANT USAGE ON SEQUENCE exp.notes_id_seq TO tc_exp_app;
RESET ROLE;
SELECT tenantcore.isolate('exp.notes');
SELECT tenantcore.audit('exp.notes');
SQL
write() { app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T'); INSERT INTO exp.notes (body) VALUES ('$1'); COMMIT;"; }
# the ids of an export's lines, space separated
export_ids() {
    app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T');
            SELECT string_agg((e::jsonb ->> 'id'), ' ') FROM tenantcore.audit_export($1) e; COMMIT;"
}
entry_id() { q -c "SELECT id FROM tenantcore.audit_log WHERE new_row ->> 'body' = '$1'"; }
wait_for() {
    local i
    for i in $(seq 1 100); do
        [ "$(q -c "$1")" = t ] && return 0
        sleep 0.1
    done
    fail "timed out waiting for: $1"
}

write before
before=$(entry_id before)

# 1. a transaction holds an id while a later one commits
app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T'); INSERT INTO exp.notes (body) VALUES ('slow');
        SELECT pg_sleep(3); COMMIT;" >/dev/null &
slow_pid=$!
# its INSERT is done once it sleeps
wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = '$db' AND wait_event = 'PgSleep')"
write fast
fast=$(entry_id fast)
first=$(export_ids 0)
[ "$first" = "$before" ] || fail "while the slow transaction runs, the export returns '$first' (expected only $before: the fast entry $fast lies above the slow one's id)"
ok "an export stops below the id a running transaction holds ($before returned, $fast held back)"
wait $slow_pid
slow=$(entry_id slow)
[ "$slow" -lt "$fast" ] || fail "the slow transaction's id $slow is not below the fast one's $fast: the test did not set up the race"
next=$(export_ids "$before")
[ "$next" = "$slow $fast" ] || fail "resumed after $before, the export returns '$next' (expected '$slow $fast')"
ok "resumed after the last id returned, the export returns the late commit ($slow) and the entry above it ($fast)"

# 2. a savepoint that rolls back the first entry of a transaction, and a
#    rolled back transaction, hold nothing back
app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T'); SAVEPOINT s; INSERT INTO exp.notes (body) VALUES ('gone');
        ROLLBACK TO s; INSERT INTO exp.notes (body) VALUES ('kept'); COMMIT;" >/dev/null
app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T'); INSERT INTO exp.notes (body) VALUES ('aborted'); ROLLBACK;" >/dev/null
kept=$(entry_id kept)
[ "$(export_ids "$fast")" = "$kept" ] || fail "after a rolled back savepoint and a rolled back transaction the export returns '$(export_ids "$fast")' (expected $kept)"
ok "entries rolled back (a savepoint's, a transaction's) hold nothing back"

# 2b. a writer whose first id fails (the sequence at its maximum) inside a
#     savepoint, caught, going on for 2 s: its slot must not stay pending, or
#     every export would wait for it
q -c "DO \$\$ BEGIN EXECUTE format('ALTER SEQUENCE tenantcore.audit_log_id_seq MAXVALUE %s',
        (SELECT last_value FROM tenantcore.audit_log_id_seq)); END \$\$" >/dev/null
app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T');
        DO \$\$ BEGIN
            BEGIN INSERT INTO exp.notes (body) VALUES ('over'); EXCEPTION WHEN sequence_generator_limit_exceeded THEN NULL; END;
            PERFORM pg_sleep(2);
        END \$\$; COMMIT;" >/dev/null &
writer_pid=$!
wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = '$db' AND wait_event = 'PgSleep')"
start=$(date +%s%N)
got=$(export_ids "$kept")
waited_ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait $writer_pid
q -c "ALTER SEQUENCE tenantcore.audit_log_id_seq NO MAXVALUE" >/dev/null
[ "$got" = "" ] || fail "an export next to the failed writer returned '$got' (expected nothing)"
[ "$waited_ms" -lt 1500 ] || fail "the export waited ${waited_ms} ms for a writer whose first id failed in a savepoint"
ok "a writer whose first id failed in a caught savepoint holds nothing back (the export took ${waited_ms} ms)"

# 3. the export's own transaction: its own entries are settled for itself
own=$(app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T'); INSERT INTO exp.notes (body) VALUES ('own');
              SELECT count(*) FROM tenantcore.audit_export($kept); ROLLBACK;")
[ "$own" = 1 ] || fail "an export inside the writing transaction returns $own of its own entries (expected 1)"
ok "an export sees its own transaction's entries"

# 4. at repeatable read the export is refused (its snapshot would predate the check)
err=$(app -c "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT FROM tenantcore.set_tenant('$T');
              SELECT tenantcore.audit_export(0); COMMIT;" 2>&1 || true)
grep -q 'audit_export() must run at isolation level read committed, not repeatable read' <<<"$err" \
    || fail "at repeatable read: $err"
ok "at repeatable read audit_export() is refused (25000)"

# 4b. a sequence that caches ids hands them out without its lock: refused
q -c "ALTER SEQUENCE tenantcore.audit_log_id_seq CACHE 10" >/dev/null
err=$(app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T'); SELECT tenantcore.audit_export(0); COMMIT;" 2>&1 || true)
q -c "ALTER SEQUENCE tenantcore.audit_log_id_seq CACHE 1" >/dev/null
grep -q 'sequence tenantcore.audit_log_id_seq caches 10 values per backend' <<<"$err" \
    || fail "with a cached sequence: $err"
grep -q 'HINT:  ALTER SEQUENCE tenantcore.audit_log_id_seq CACHE 1;' <<<"$err" || fail "with a cached sequence, no hint: $err"
ok "a log sequence that caches ids is refused (55000), with the ALTER SEQUENCE that fixes it"

# 5. a prepared transaction holds its id until COMMIT PREPARED
if [ "$(q -c "SHOW max_prepared_transactions")" = 0 ]; then
    echo "# skipped the prepared transaction: max_prepared_transactions is 0 on this cluster"
else
    app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T'); INSERT INTO exp.notes (body) VALUES ('prepared');
            PREPARE TRANSACTION 'tc_exp_1';" >/dev/null
    write after
    after=$(entry_id after)
    got=$(export_ids "$kept")
    [ -z "$got" ] || { q -c "ROLLBACK PREPARED 'tc_exp_1'" >/dev/null; fail "with a prepared transaction holding an id the export returns '$got' (expected nothing: $after lies above it)"; }
    q -c "COMMIT PREPARED 'tc_exp_1'" >/dev/null
    prepared=$(entry_id prepared)
    got=$(export_ids "$kept")
    [ "$got" = "$prepared $after" ] || fail "after COMMIT PREPARED the export returns '$got' (expected '$prepared $after')"
    ok "a prepared transaction holds the export back until COMMIT PREPARED, which another session ran"
    kept=$after

    # a prepared transaction survives a restart, the shared memory that
    # knew its first id does not: until it ends, nothing is exported
    data="$PGHOST/../data"
    if [ -d "$data" ] && [ "$(stat -c %U "$data")" = postgres ]; then
        app -c "BEGIN; SELECT FROM tenantcore.set_tenant('$T'); INSERT INTO exp.notes (body) VALUES ('survivor');
                PREPARE TRANSACTION 'tc_exp_2';" >/dev/null
        runuser -u postgres -- "$(tc_bindir)/pg_ctl" -D "$data" -l "$PGHOST/../server.log" -w -m fast restart >/dev/null
        write after_restart
        got=$(export_ids "$kept")
        [ -z "$got" ] || { q -c "ROLLBACK PREPARED 'tc_exp_2'" >/dev/null; fail "after a restart, with a prepared transaction left from before, the export returns '$got' (expected nothing)"; }
        q -c "COMMIT PREPARED 'tc_exp_2'" >/dev/null
        got=$(export_ids "$kept")
        expected="$(entry_id survivor) $(entry_id after_restart)"
        [ "$got" = "$expected" ] || fail "after COMMIT PREPARED of the transaction prepared before the restart the export returns '$got' (expected '$expected')"
        ok "a transaction prepared before a restart holds the export back until it ends"
        after=$(entry_id after_restart)
    else
        echo "# skipped the restart with a prepared transaction: $data is not the server's data directory"
    fi
fi

# 6. many writers at once, an exporter resuming after each batch: every
#    entry exported exactly once
cat > /tmp/tc_exp_writer.$$.sql <<SQL
BEGIN;
SELECT tenantcore.set_tenant('$T');
INSERT INTO exp.notes (body) VALUES ('load');
INSERT INTO exp.notes (body) VALUES ('load');
COMMIT;
SQL
pgbench -n -T 4 -c 4 -U tc_exp_app -f /tmp/tc_exp_writer.$$.sql "$db" > /tmp/tc_exp_writer.$$.out 2>&1 &
writer=$!
last=$kept; [ -n "${after:-}" ] && last=$after
: > /tmp/tc_exp_ids.$$
while kill -0 "$writer" 2>/dev/null; do
    ids=$(export_ids "$last")
    if [ -n "$ids" ]; then
        tr ' ' '\n' <<<"$ids" >> /tmp/tc_exp_ids.$$
        last=${ids##* }
    fi
done
wait $writer || fail "the writers failed: $(cat /tmp/tc_exp_writer.$$.out)"
ids=$(export_ids "$last")
[ -z "$ids" ] || tr ' ' '\n' <<<"$ids" >> /tmp/tc_exp_ids.$$
exported=$(wc -l < /tmp/tc_exp_ids.$$)
distinct=$(sort -u /tmp/tc_exp_ids.$$ | wc -l)
written=$(q -c "SELECT count(*) FROM tenantcore.audit_log WHERE new_row ->> 'body' = 'load'")
rm -f /tmp/tc_exp_writer.$$.sql /tmp/tc_exp_writer.$$.out /tmp/tc_exp_ids.$$
echo "# 4 writers for 4 s: $written entries written, $exported exported in batches ($distinct distinct)"
[ "$written" -gt 0 ] && [ "$exported" = "$written" ] && [ "$distinct" = "$written" ] \
    || fail "exported $exported lines ($distinct distinct) of $written entries"
ok "under 4 concurrent writers, exports resumed after each batch return every entry exactly once"

dropdb "$db"
psql -X -q -c "DROP ROLE tc_exp_app" -c "DROP ROLE tc_exp_owner"
