#!/usr/bin/env bash
# test/shell/upgrade_check.sh -- upgrade path = fresh install.
#
# Installs the oldest available version of tenantcore, upgrades it step by
# step through every version up to the default one (and, in a second
# database, in one ALTER EXTENSION ... UPDATE), and compares a canonical
# description of every object of the extension (test/helpers/describe_extension.sql)
# with a fresh CREATE EXTENSION.
#
# Then, for every released version older than the default one (installed
# from the scripts frozen in sql/released/, see test/shell/released_scripts.sh),
# in a database of its own: installs that version, writes the seeds of every
# concern through that version's API (test/helpers/upgrade_seeds.sql),
# upgrades with ALTER EXTENSION tenantcore UPDATE, and compares it with a
# fresh install of the default version that got the same seeds (at the same
# old API): (a) the extension's objects, (b) privileges, pg_init_privs among
# them (describe_extension.sql), the user's objects the installers made and
# their privileges (describe_extension.sql with describe_scope=user), and (c)
# the data, normalised, and what the application role sees of each tenant
# (test/helpers/describe_data.sql).
#
# Exits non-zero and prints the diff on any difference.  Needs
# PGHOST/PGPORT/PGUSER of a running cluster with tenantcore installed
# (scripts/test.sh provides them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
describe="$here/../helpers/describe_extension.sql"
describe_data="$here/../helpers/describe_data.sql"
seeds="$here/../helpers/upgrade_seeds.sql"
work=$(mktemp -d /tmp/tenantcore-upgrade.XXXXXX)
suffix=$$
db_fresh="tc_upgrade_fresh_$suffix"
db_steps="tc_upgrade_steps_$suffix"
db_direct="tc_upgrade_direct_$suffix"
owner="tc_upgrade_owner_$suffix"
app="tc_upgrade_app_$suffix"
seeded_dbs=()
started=$SECONDS

psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
    for db in "$db_fresh" "$db_steps" "$db_direct" "${seeded_dbs[@]}"; do
        dropdb --if-exists "$db" >/dev/null 2>&1 || true
    done
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $app" -c "DROP ROLE IF EXISTS $owner" >/dev/null 2>&1 || true
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

# the server installs the old versions from the released scripts: the files
# in its extension directory have the checksums of sql/released/SHA256SUMS
sums="$here/../../sql/released/SHA256SUMS"
installed_sums=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c "
    SELECT encode(sha256(pg_read_binary_file(s.setting || '/extension/' || f.name)), 'hex') || '  ' || f.name
      FROM pg_config s, unnest(string_to_array(\$\$$(awk '{ print $2 }' "$sums" | tr '\n' ' ')\$\$, ' ')) f(name)
     WHERE s.name = 'SHAREDIR' AND f.name <> ''")
if [ "$installed_sums" = "$(cat "$sums")" ]; then
    echo "the server's scripts of the released versions are the released ones ($(grep -c . "$sums") scripts, sql/released/SHA256SUMS)"
else
    diff -u --label "sql/released/SHA256SUMS" --label "the server's extension directory" "$sums" - <<< "$installed_sums" || true
    echo "upgrade_check: the server installs old versions from scripts other than the released ones" >&2
    rc=1
fi

# every kept old version with seeds: upgraded = fresh install + the same seeds
psql_q -d postgres -c "CREATE ROLE $owner NOLOGIN" -c "CREATE ROLE $app LOGIN NOSUPERUSER NOBYPASSRLS"

seed_db() {  # seed_db DB API_VERSION
    psql -X -q -At -v ON_ERROR_STOP=1 -v api="$2" -v owner="$owner" -v app="$app" -d "$1" -f "$seeds" \
        > "$work/seed.out" 2>&1 || { cat "$work/seed.out" >&2; echo "upgrade_check: seeds at the API of $2 failed in $1" >&2; return 1; }
}
describe_all() {  # describe_all DB PREFIX: PREFIX.objects, PREFIX.user, PREFIX.data
    psql -X -At -v ON_ERROR_STOP=1 -d "$1" -f "$describe" > "$2.objects"
    psql -X -At -v ON_ERROR_STOP=1 -v describe_scope=user -d "$1" -f "$describe" > "$2.user"
    psql -X -q -At -v ON_ERROR_STOP=1 -v app="$app" -d "$1" -f "$describe_data" | LC_ALL=C sort > "$2.data"
}
count() { grep -cE "$1" || true; }  # count REGEX: lines of stdin that match
compare() {  # compare WHAT FRESH UPGRADED VERSION
    if diff -u --label "fresh $default_version + seeds of $4: $1" --label "$4 + seeds, upgraded: $1" "$2" "$3" > "$work/diff"; then
        return 0
    fi
    head -150 "$work/diff"
    [ "$(wc -l < "$work/diff")" -le 150 ] || echo "... ($(wc -l < "$work/diff") diff lines)"
    echo "upgrade_check: $4 with seeds, upgraded to $default_version, differs from a fresh install with the same seeds: $1" >&2
    return 1
}

kept=0; total_objects=0; total_facts=0; total_rows=0; total_seen=0
for v in "${versions[@]}"; do
    [ "$v" != "$default_version" ] || continue
    tag=${v//./_}
    db_old="tc_upgrade_seeded_${tag}_$suffix"
    db_new="tc_upgrade_seedfresh_${tag}_$suffix"
    seeded_dbs+=("$db_old" "$db_new")
    t0=$SECONDS
    createdb "$db_old"
    psql_q -d "$db_old" -c "SET client_min_messages = warning" -c "CREATE EXTENSION tenantcore VERSION '$v' CASCADE"
    seed_db "$db_old" "$v"
    psql_q -d "$db_old" -c "SET client_min_messages = warning" -c "ALTER EXTENSION tenantcore UPDATE"
    describe_all "$db_old" "$work/old_$tag"
    createdb "$db_new"
    psql_q -d "$db_new" -c "SET client_min_messages = warning" -c "CREATE EXTENSION tenantcore CASCADE"
    seed_db "$db_new" "$v"
    describe_all "$db_new" "$work/new_$tag"
    vrc=0
    compare "extension objects and privileges" "$work/new_$tag.objects" "$work/old_$tag.objects" "$v" || vrc=1
    compare "user objects and privileges" "$work/new_$tag.user" "$work/old_$tag.user" "$v" || vrc=1
    compare "data" "$work/new_$tag.data" "$work/old_$tag.data" "$v" || vrc=1
    objects=$(cat "$work/new_$tag.objects" "$work/new_$tag.user" | count '^member ')
    facts=$(cat "$work/new_$tag.objects" "$work/new_$tag.user" | count '')
    privs=$(cat "$work/new_$tag.objects" "$work/new_$tag.user" | count 'acl=|^init privs|^default acl')
    rows=$(count '^row ' < "$work/new_$tag.data")
    seen=$(count '^app ' < "$work/new_$tag.data")
    echo "$v + seeds, upgraded = fresh $default_version + seeds: $objects objects ($facts facts, $privs of privileges)," \
         "$rows data rows, $seen facts as the application role: $([ $vrc -eq 0 ] && echo OK || echo DIFFERS) ($((SECONDS - t0)) s)"
    if [ "$rows" -eq 0 ] || [ "$seen" -eq 0 ]; then
        echo "upgrade_check: the seeded databases of $v describe no data" >&2
        vrc=1
    fi
    [ $vrc -eq 0 ] || rc=1
    kept=$((kept + 1)); total_objects=$((total_objects + objects)); total_facts=$((total_facts + facts))
    total_rows=$((total_rows + rows)); total_seen=$((total_seen + seen))
    dropdb "$db_old"; dropdb "$db_new"
done
echo "compared $kept kept version(s) with seeds: $total_objects objects, $total_facts facts, $total_rows data rows," \
     "$total_seen application role facts in all ($((SECONDS - started)) s)"
if [ "$kept" -eq 0 ]; then
    echo "upgrade_check: no released version older than $default_version to upgrade from" >&2
    rc=1
fi
# every released version (sql/released/RELEASES) was one of them
for r in $(awk '!/^#/ && NF { print $1 }' "$here/../../sql/released/RELEASES"); do
    [ "$r" != "$default_version" ] || continue
    if [[ " ${versions[*]} " != *" $r "* ]]; then
        echo "upgrade_check: released version $r is not installable in this cluster" >&2
        rc=1
    fi
done
[ $rc -eq 0 ] && echo "upgrade with seeds = fresh install with seeds: OK"
exit $rc
