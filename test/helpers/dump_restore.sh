# test/helpers/dump_restore.sh -- shared by the test/shell/*_dump_restore.sh
# checks: a source and a target database (dropped at exit), the dump and
# restore between them, and check().  Source it with a short name:
#     . "$(dirname "$0")/../helpers/dump_restore.sh" gdpr
# It sets src and dst (the databases tc_<name>_dump_src_<pid> and
# tc_<name>_dump_dst_<pid>, both created), dir (a scratch directory) and
# fail=0.  Needs PGHOST/PGPORT/PGUSER of a running server.
src=tc_${1:?a name}_dump_src_$$
dst=tc_${1}_dump_dst_$$
dir=$(mktemp -d)
trap 'rm -rf "$dir"; dropdb --if-exists "$src" 2>/dev/null; dropdb --if-exists "$dst" 2>/dev/null' EXIT
createdb "$src"; createdb "$dst"
fail=0

# dump_restore [FROM TO]: pg_dump -Fc of FROM (default $src), pg_restore
# --exit-on-error into TO (default $dst)
dump_restore() {
    local from=${1:-$src} to=${2:-$dst}
    pg_dump -Fc -d "$from" -f "$dir/dump.$from"
    pg_restore -d "$to" --exit-on-error "$dir/dump.$from"
}

# check DESCRIPTION SQL: SQL must return t, on $DB (default the target);
# prints a TAP line, sets fail=1 otherwise (an error counts as not t)
check() {
    local got; got=$(psql -XAtq -d "${DB:-$dst}" -c "$2" 2>&1 | tail -1) || true
    if [ "$got" = t ]; then echo "ok - $1"; else echo "not ok - $1 (got: $got)"; fail=1; fi
}
