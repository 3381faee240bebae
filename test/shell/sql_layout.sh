#!/usr/bin/env bash
# test/shell/sql_layout.sh -- every object of tenantcore is defined in one place
# (doc/design.md, "Source layout").
#
# Static part (always): among the current sources -- sql/*.sql (re-runnable
# definitions) and sql/schema/*.sql (what only a fresh install creates) -- no
# function or procedure (name and argument types), table, view, sequence,
# type, policy, trigger or event trigger is defined twice; an update step
# (sql/updates/*.sql) defines an object at most once, and only one that the
# current sources define too (a step creates for old installs what
# sql/schema/ creates for new ones); no setting (DefineCustom*Variable in
# src/*.c) is defined twice.  The generated and released scripts
# (sql/tenantcore--*.sql, sql/released/) are not sources and are not read.
#
# With a cluster (PGHOST set): every member of a fresh CREATE EXTENSION has a
# definition in the sources.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
members=""
if [ -n "${PGHOST:-}" ]; then
    db="tc_sql_layout_$$"
    trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
    createdb "$db"
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET client_min_messages = warning" \
        -c "CREATE EXTENSION tenantcore CASCADE"
    # one line per member: kind TAB name, named as sqlsplit.defines() names them
    members=$(psql -X -At -F $'\t' -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
WITH m AS (
    SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
     WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'tenantcore' AND d.deptype = 'e'
)
SELECT 'function', p.proname || '(' || coalesce((
           SELECT string_agg(format_type(t, NULL), ',' ORDER BY o)
             FROM unnest(CASE WHEN p.prokind = 'p' THEN coalesce(p.proallargtypes, p.proargtypes::oid[])
                              ELSE p.proargtypes::oid[] END) WITH ORDINALITY u(t, o)), '') || ')'
  FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' ELSE 'table' END,
       c.relname || coalesce(' owned by ' || (SELECT oc.relname FROM pg_depend od JOIN pg_class oc ON oc.oid = od.refobjid
                                               WHERE od.classid = 'pg_class'::regclass AND od.objid = c.oid
                                                 AND od.refclassid = 'pg_class'::regclass AND od.deptype = 'a'), '')
  FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
SELECT 'event trigger', t.evtname FROM m JOIN pg_event_trigger t ON m.classid = 'pg_event_trigger'::regclass AND t.oid = m.objid
UNION ALL
SELECT 'type', t.typname FROM m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
ORDER BY 1, 2
SQL
)
fi

MEMBERS="$members" python3 - "$root" <<'PY'
import collections, glob, os, re, sys
root = sys.argv[1]
sys.path.insert(0, os.path.join(root, 'scripts'))
import sqlsplit

def rel(p):
    return os.path.relpath(p, root)

def defs(paths):
    out = collections.defaultdict(list)
    for p in paths:
        with open(p) as f:
            text = f.read()
        for line, _c, stmt in sqlsplit.split(text):
            for key in sqlsplit.defines(stmt):
                out[key].append(f'{rel(p)}:{line}')
    return out

sources = [p for p in sorted(glob.glob(f'{root}/sql/*.sql')) if not os.path.basename(p).startswith('tenantcore--')]
sources += sorted(glob.glob(f'{root}/sql/schema/*.sql'))
steps = sorted(glob.glob(f'{root}/sql/updates/*.sql'))
current = defs(sources)
problems = []
for key, where in sorted(current.items()):
    if len(where) > 1:
        problems.append(f'{key[0]} {key[1]} is defined {len(where)} times: {", ".join(where)}')
for step in steps:
    for key, where in sorted(defs([step]).items()):
        if len(where) > 1:
            problems.append(f'{key[0]} {key[1]} is defined {len(where)} times in one step: {", ".join(where)}')
        if key not in current:
            problems.append(f'{key[0]} {key[1]} is made by {where[0]} but by none of the current sources')

settings = collections.defaultdict(list)
for p in sorted(glob.glob(f'{root}/src/*.c')):
    with open(p) as f:
        text = f.read()
    for m in re.finditer(r'DefineCustom\w+Variable\s*\(\s*"([^"]+)"', text):
        settings[m.group(1)].append(f'{rel(p)}:{text.count(chr(10), 0, m.start()) + 1}')
for name, where in sorted(settings.items()):
    if len(where) > 1:
        problems.append(f'setting {name} is defined {len(where)} times: {", ".join(where)}')

kinds = collections.Counter(k for k, _n in current)
print(f'sql_layout: {len(current)} objects in {len(sources)} source files ({", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))}), '
      f'{len(steps)} update step file(s), {len(settings)} settings')

members = [l.split('\t', 1) for l in os.environ.get('MEMBERS', '').splitlines() if l]
if members:
    missing = []
    for kind, name in members:
        if kind == 'function':
            n, args = name.split('(', 1)
            name = n + '(' + ','.join(sqlsplit.type_name(a) for a in args.rstrip(')').split(',') if a) + ')'
        if ' owned by ' in name:          # the sequence of a serial column comes with its table
            if ('table', name.split(' owned by ')[1]) in current:
                continue
            name = name.split(' owned by ')[0]
        if kind == 'type' and ('table', name) in current:   # a table's row type
            continue
        if (kind, name) not in current:
            missing.append(f'{kind} {name}')
    for m in missing:
        problems.append(f'extension member {m} has no definition in the sources')
    print(f'sql_layout: {len(members)} members of a fresh install, {len(members) - len(missing)} found in the sources')
else:
    print('sql_layout: no cluster (PGHOST unset): members not compared')

for p in problems:
    print('sql_layout: ' + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
echo "sql layout: OK"
