#!/usr/bin/env bash
# test/shell/docs_examples.sh -- every SQL example of README.md and doc/*.md runs as
# written, in order: the ```sql blocks of each page are run one after the
# other in one psql session (ON_ERROR_STOP, as the superuser postgres; the
# pages switch roles with SET ROLE), each page in a fresh database of a
# throwaway cluster of this test's own; the roles a page creates are dropped
# after it.  Markers, on the line before the block's opening fence:
#   <!-- no-run -->   the block needs another setup (a second server, a JWKS,
#                     ...): not run (keep these few); also ```sql no-run
#   <!-- fails -->    the block shows an error: its last statement must fail
# README.md runs in the database named by cron.database_name, so its tour can
# create pg_cron.  Usage: test/shell/docs_examples.sh [page.md ...]  (DOCS_SHOW=1
# prints what psql printed)
. "$(dirname "$0")/../../scripts/lib.sh"
tc_cluster_start "cron.database_name = 'docs_readme'" >/dev/null 2>&1
work=$(mktemp -d /tmp/tc-docs.XXXXXX)
trap 'rm -rf "$work"; tc_cluster_stop' EXIT

# extract <page>: the page's runnable blocks as one psql script
extract() {
    awk -v page="$1" '
        function marker(s) { return s ~ /^[ \t]*<!--[ \t]*no-run[ \t]*-->[ \t]*$/ ? "skip" : \
                                    s ~ /^[ \t]*<!--[ \t]*fails[ \t]*-->[ \t]*$/ ? "fails" : "" }
        !inblock && /^[ \t]*```sql([ \t].*)?$/ {
            inblock = 1; mode = marker(prev); if ($0 ~ /no-run/) mode = "skip"
            if (mode != "skip") {
                printf "\\echo [docs] %s:%d\n", page, NR
                if (mode == "fails") print "\\set ON_ERROR_STOP 0"
            }
            next
        }
        inblock && /^[ \t]*```[ \t]*$/ {
            inblock = 0; prev = $0
            if (mode == "fails") {
                print "\\if :ERROR"; print "\\else"
                printf "\\echo DOCS_EXPECTED_ERROR_MISSING %s:%d\n", page, NR; print "\\endif"
                print "\\set ON_ERROR_STOP 1"
            }
            next
        }
        inblock && mode != "skip" { sub(/^   /, ""); print; next }
        !inblock && $0 !~ /^[ \t]*$/ { prev = $0 }
    ' "$1"
}

pages=("$@")
[ ${#pages[@]} -gt 0 ] || pages=("$TC_ROOT/README.md" "$TC_ROOT"/doc/*.md)
fail=0; n=0
for page in "${pages[@]}"; do
    name=$(basename "$page" .md | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '_')
    db=docs_$name
    script=$work/$name.sql
    extract "$page" > "$script"
    grep -q '^\\echo \[docs\]' "$script" || continue
    n=$((n + 1))
    roles_before=$(psql -XAtq -c "SELECT string_agg(quote_literal(rolname), ',') FROM pg_roles")
    createdb "$db"
    out=$work/$name.out
    rc=0
    (cd "$TC_ROOT" && PGOPTIONS='-c client_min_messages=warning' \
        psql -X -v ON_ERROR_STOP=1 -d "$db" -f "$script") > "$out" 2>&1 || rc=$?
    if [ $rc -ne 0 ] || grep -q DOCS_EXPECTED_ERROR_MISSING "$out"; then
        echo "not ok $n - ${page#"$TC_ROOT"/}: its examples do not run as written"
        grep -n '\[docs\]\|ERROR\|DOCS_EXPECTED\|psql:' "$out" | tail -15 | sed 's/^/#   /'
        fail=1
    else
        echo "ok $n - ${page#"$TC_ROOT"/}: $(grep -c '^\[docs\]' "$out") blocks run as written"
    fi
    [ -z "${DOCS_SHOW:-}" ] || cat "$out"
    dropdb --force "$db"
    for r in $(psql -XAtq -c "SELECT quote_ident(rolname) FROM pg_roles WHERE rolname NOT IN ($roles_before)"); do
        psql -XAtq -c "DROP ROLE $r" >/dev/null
    done
done
echo "1..$n"
exit $fail
