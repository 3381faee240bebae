#!/usr/bin/env bash
# test/shell/upgrade_check.sh -- upgrade path = fresh install.
#
# Installs the oldest available version of tenantcore, upgrades it step by
# step through every version up to the default one (and, in a second
# database, in one ALTER EXTENSION ... UPDATE), and compares a canonical
# description of every object of the extension (test/helpers/describe_extension.sql)
# with a fresh CREATE EXTENSION.  Exits non-zero and prints the diff on any
# difference.  Needs PGHOST/PGPORT/PGUSER of a running cluster with
# tenantcore installed (scripts/test.sh provides them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
describe="$here/../helpers/describe_extension.sql"
work=$(mktemp -d /tmp/tenantcore-upgrade.XXXXXX)
suffix=$$
db_fresh="tc_upgrade_fresh_$suffix"
db_steps="tc_upgrade_steps_$suffix"
db_direct="tc_upgrade_direct_$suffix"

psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
    for db in "$db_fresh" "$db_steps" "$db_direct"; do
        dropdb --if-exists "$db" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

default_version=$(psql -X -At -d postgres -c \
    "SELECT default_version FROM pg_available_extensions WHERE name = 'tenantcore'")
if [ -z "$default_version" ]; then
    echo "upgrade_check: tenantcore is not installed in this cluster" >&2
    exit 1
fi
# every installable version up to the default one, oldest first
mapfile -t versions < <(psql -X -At -d postgres -c "
    SELECT version FROM pg_available_extension_versions
     WHERE name = 'tenantcore'
       AND string_to_array(version, '.')::int[] <= string_to_array('$default_version', '.')::int[]
     ORDER BY string_to_array(version, '.')::int[]")
oldest=${versions[0]}
echo "versions: ${versions[*]} (oldest $oldest, default $default_version)"

describe_db() {
    psql -X -At -v ON_ERROR_STOP=1 -d "$1" -f "$describe" > "$2"
}

# fresh install of the default version
createdb "$db_fresh"
psql_q -d "$db_fresh" -c "SET client_min_messages = warning" -c "CREATE EXTENSION tenantcore CASCADE"
describe_db "$db_fresh" "$work/fresh.txt"

# oldest version, then every step
createdb "$db_steps"
psql_q -d "$db_steps" -c "SET client_min_messages = warning" \
    -c "CREATE EXTENSION tenantcore VERSION '$oldest' CASCADE"
steps=0
for v in "${versions[@]:1}"; do
    echo "step: ALTER EXTENSION tenantcore UPDATE TO '$v'"
    psql_q -d "$db_steps" -c "ALTER EXTENSION tenantcore UPDATE TO '$v'"
    steps=$((steps + 1))
done
psql_q -d "$db_steps" -c "SET client_min_messages = warning" -c "ALTER EXTENSION tenantcore UPDATE"
describe_db "$db_steps" "$work/steps.txt"

# oldest version, then one ALTER EXTENSION UPDATE to the default
createdb "$db_direct"
psql_q -d "$db_direct" -c "SET client_min_messages = warning" \
    -c "CREATE EXTENSION tenantcore VERSION '$oldest' CASCADE" \
    -c "ALTER EXTENSION tenantcore UPDATE"
describe_db "$db_direct" "$work/direct.txt"

objects=$(grep -c '^member ' "$work/fresh.txt" || true)
facts=$(wc -l < "$work/fresh.txt")
echo "compared $objects extension objects ($facts facts) after $steps upgrade step(s) from $oldest to $default_version"
if [ "$objects" -eq 0 ]; then
    echo "upgrade_check: the description of a fresh install is empty" >&2
    exit 1
fi

rc=0
# pg_upgrade refuses clusters whose tables hold reg* types other than
# regclass, regrole and regtype (their OIDs are not preserved)
bad_reg=$(psql -X -At -d "$db_fresh" -c "
    SELECT format('%s.%s %s', c.oid::regclass, quote_ident(a.attname), a.atttypid::regtype)
      FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'tenantcore'
      JOIN pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND c.relkind IN ('r', 'p', 'm')
       AND a.atttypid IN ('regproc'::regtype, 'regprocedure'::regtype, 'regoper'::regtype, 'regoperator'::regtype,
                          'regconfig'::regtype, 'regdictionary'::regtype, 'regnamespace'::regtype,
                          'regcollation'::regtype)
     ORDER BY 1")
if [ -n "$bad_reg" ]; then
    echo "upgrade_check: extension tables use reg* types that pg_upgrade refuses:" >&2
    echo "$bad_reg" >&2
    rc=1
else
    echo "no reg* column that pg_upgrade refuses"
fi
for upgraded in steps direct; do
    if ! diff -u --label "fresh $default_version" --label "upgraded ($upgraded) from $oldest" \
            "$work/fresh.txt" "$work/$upgraded.txt"; then
        echo "upgrade_check: the $upgraded upgrade from $oldest differs from a fresh install of $default_version" >&2
        rc=1
    fi
done
[ $rc -eq 0 ] && echo "upgrade path = fresh install: OK"
exit $rc
