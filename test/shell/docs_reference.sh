#!/usr/bin/env bash
# test/shell/docs_reference.sh -- doc/reference.md names every function, procedure,
# table, view, event trigger and setting of the installed extension: each
# must appear in backticks: a function or procedure as `tenantcore.<name>(` or
# `<name>(`, a table or view as `tenantcore.<name>` or `<name>`, a setting as
# `tenantcore.<name>`, an event trigger as `<name>`.  Functions whose name
# starts with "_" are internal and left out.  Needs PGHOST/PGPORT of a running
# server with tenantcore available (preloaded, so every setting exists).
set -euo pipefail
ref="$(cd "$(dirname "$0")/../.." && pwd)/doc/reference.md"
db=tc_docs_reference
dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION tenantcore CASCADE'

objects=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'tenantcore'),
members AS (SELECT d.classid, d.objid FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass
               AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT DISTINCT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END || ' tenantcore.' || p.proname || '('
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
 WHERE p.proname !~ '^_'
UNION
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' ELSE 'table' END || ' tenantcore.' || c.relname
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
 WHERE c.relkind IN ('r', 'p', 'v', 'm')
UNION
SELECT 'event-trigger ' || e.evtname
  FROM members m JOIN pg_event_trigger e ON m.classid = 'pg_event_trigger'::regclass AND e.oid = m.objid
UNION
SELECT 'setting ' || name FROM pg_settings WHERE name LIKE 'tenantcore.%'
ORDER BY 1
SQL
)
fail=0; n=0; missing=0
while read -r kind name; do
    n=$((n + 1))
    short=${name#tenantcore.}
    case $kind in
        function) pats=("\`$name" "\`$short") ;;
        procedure) pats=("\`$name" "\`$short" "\`CALL $name") ;;
        table|view) pats=("\`$name\`" "\`$short\`") ;;
        *) pats=("\`$name\`") ;;
    esac
    found=0
    for p in "${pats[@]}"; do grep -qF -- "$p" "$ref" && found=1; done
    if [ $found -eq 1 ]; then
        :
    else
        echo "not ok $n - $kind ${name%(} is not in doc/reference.md"; fail=1; missing=$((missing + 1))
    fi
done <<< "$objects"
echo "# $n objects of the extension, $missing missing from doc/reference.md"
[ $fail -eq 0 ] && echo "ok 1 - doc/reference.md names every function, table, view, event trigger and setting" 
echo "1..1"
exit $fail
