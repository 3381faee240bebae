# test/helpers/compare.sh -- shared by the dump + restore checks (sourced).
#
# psql_q runs psql quietly and stops at the first error; check NAME BEFORE
# AFTER prints "ok: NAME" when two snapshot files are equal, else their diff,
# and sets fail=1.

psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

fail=0
check() {  # check NAME FILE_BEFORE FILE_AFTER
    if diff -u --label "$1 before dump" --label "$1 after restore" "$2" "$3"; then
        echo "ok: $1 ($(wc -l < "$2") lines)"
    else
        echo "FAILED: $1 differs after restore" >&2
        fail=1
    fi
}
