#!/usr/bin/env bash
# test/shell/c_layout.sh -- the layout of the C sources holds:
#   - one header per module (src/x.c has src/x.h, which opens with a comment
#     saying what the module is);
#   - no call cycles between files: the file-level graph (object A calls
#     into object B when A's undefined symbols include one that B defines,
#     read with nm from src/*.o) has no cycle;
#   - every symbol an object file defines globally is prefixed tc_ or is an
#     entry point PostgreSQL looks up (_PG_init, Pg_magic_func, pg_finfo_*)
#     or a SQL-callable function;
#   - the library exports (nm -D --defined-only tenantcore.so) nothing else,
#     and every C function the install and upgrade scripts name (AS
#     'MODULE_PATHNAME', '<symbol>' in sql/) is exported.
# The SQL-callable names are those of the scripts and the PG_FUNCTION_INFO_V1
# lines of src/.  TC_LAYOUT_GRAPH=1 prints the graph.  Builds the library first if it is not built.  Needs no
# server; exits non-zero on failure.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

cd "$TC_ROOT"
sources=()
objects=()
for c in src/*.c src/*/*.c; do
    [ -e "$c" ] || continue
    sources+=("$c")
    objects+=("${c%.c}.o")
done
need_build=0
[ -f tenantcore.so ] || need_build=1
for o in "${objects[@]}"; do
    [ -f "$o" ] && [ "$o" -nt "${o%.o}.c" ] || need_build=1
done
if [ "$need_build" -eq 1 ]; then
    log "building tenantcore for the layout check"
    make -s >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one header per module (the entry point tenantcore.c has none), opening
# with a comment that says what the module is, and included by its module
for c in "${sources[@]}"; do
    h=${c%.c}.h
    [ "$c" = src/tenantcore.c ] && continue
    if [ ! -f "$h" ]; then
        echo "$c: no header $h"
    elif [ "$(head -c2 "$h")" != "/*" ]; then
        echo "$h: does not open with a comment"
    elif ! grep -q "^#include \"$(basename "$h")\"" "$c"; then
        echo "$c: does not include $(basename "$h")"
    fi
done > "$tmp/headers"

# SQL-callable names: from the scripts and from the sources
grep -rhoE "MODULE_PATHNAME'[[:space:]]*,[[:space:]]*'[A-Za-z_0-9]+'" sql/ \
    | grep -oE "'[A-Za-z_0-9]+'$" | tr -d "'" | sort -u > "$tmp/sql_symbols"
grep -hoE 'PG_FUNCTION_INFO_V1\([A-Za-z_0-9]+\)' "${sources[@]}" \
    | sed 's/.*(\(.*\))/\1/' | sort -u > "$tmp/finfo_symbols"
sort -u "$tmp/sql_symbols" "$tmp/finfo_symbols" > "$tmp/sql_callable"

for o in "${objects[@]}"; do
    nm -g --defined-only "$o" | awk -v o="$o" 'NF == 3 {print o, $3}' >> "$tmp/defined"
    nm -u "$o" | awk -v o="$o" '{print o, $NF}' >> "$tmp/undefined"
done
nm -D --defined-only tenantcore.so | awk 'NF == 3 {print $3}' | sort -u > "$tmp/exported"

python3 - "$tmp" <<'PY'
import os
import sys

tmp = sys.argv[1]
def lines(name):
    with open(f"{tmp}/{name}") as f:
        return [l.split() for l in f if l.strip()]

sql_callable = {l[0] for l in lines("sql_callable")}
sql_symbols = {l[0] for l in lines("sql_symbols")}
exported = {l[0] for l in lines("exported")}
definer = {}
for obj, sym in lines("defined"):
    definer[sym] = obj
files = sorted({obj for obj, _ in lines("defined")} | {obj for obj, _ in lines("undefined")})

def allowed(sym):
    return (sym.startswith("tc_") or sym in ("_PG_init", "Pg_magic_func")
            or sym.startswith("pg_finfo_") or sym in sql_callable)

failed = False
def check(ok, what):
    global failed
    print(("ok - " if ok else "not ok - ") + what)
    failed |= not ok

# the file-level call graph
edges = {f: set() for f in files}
why = {}
for obj, sym in lines("undefined"):
    target = definer.get(sym)
    if target is not None and target != obj:
        edges[obj].add(target)
        why.setdefault((obj, target), sym)

cycle = None
state = {f: 0 for f in files}  # 0 new, 1 on the stack, 2 done
stack = []
def visit(f):
    global cycle
    state[f] = 1
    stack.append(f)
    for g in sorted(edges[f]):
        if cycle:
            return
        if state[g] == 1:
            cycle = stack[stack.index(g):] + [g]
            return
        if state[g] == 0:
            visit(g)
    stack.pop()
    state[f] = 2
for f in files:
    if state[f] == 0 and not cycle:
        visit(f)
check(cycle is None, f"no call cycle between the {len(files)} object files of src/")
if os.environ.get("TC_LAYOUT_GRAPH"):
    for f in files:
        print(f"#   {f} -> {' '.join(sorted(edges[f])) or '-'}")
if cycle:
    for a, b in zip(cycle, cycle[1:]):
        print(f"#   {a} -> {b} ({why[(a, b)]})")

bad = sorted(f"{obj}: {sym}" for sym, obj in definer.items() if not allowed(sym))
check(not bad, "every global symbol of src/*.o is prefixed tc_ or an entry point")
for b in bad:
    print(f"#   {b}")

bad = sorted(s for s in exported if not allowed(s))
check(not bad, f"tenantcore.so exports only tc_*, entry points and the {len(sql_callable)} SQL-callable functions")
for b in bad:
    print(f"#   exported: {b}")

missing = sorted(s for s in sql_symbols | sql_callable if s not in exported)
check(not missing, f"every C function of the scripts in sql/ ({len(sql_symbols)}) is exported")
for m in missing:
    print(f"#   not exported: {m}")

bad = [l[0] for l in lines("headers")] and open(f"{tmp}/headers").read().splitlines()
check(not bad, "every module has its own header, opening with a comment, included by the module")
for b in bad:
    print(f"#   {b}")

sys.exit(1 if failed else 0)
PY
