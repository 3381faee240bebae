#!/usr/bin/env bash
# test/shell/released_scripts.sh -- the scripts of released versions are frozen.
#
# sql/released/ holds the install script of the first version and the upgrade
# script of every released version after it, as existing installations ran
# them.  sql/released/RELEASES lists each released version with its release
# commit and the script's path in that commit; SHA256SUMS has the checksum of
# every script.  This check fails when:
#   - a script differs from its checksum (sha256sum -c SHA256SUMS);
#   - a released version has no script, or no checksum, or a script (or a
#     checksum) belongs to no released version;
#   - with the git history at hand, a script differs from the file of its
#     release commit (git show <commit>:<path>).  A clone without that history
#     (shallow, or an export) checks the checksums only, and says so.
# Needs no database; scripts/test.sh runs it among the shell checks.
set -euo pipefail

root=${TC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
dir=$root/sql/released
fail=0
bad() { echo "released_scripts: $*" >&2; fail=1; }

[ -f "$dir/RELEASES" ] || { echo "released_scripts: $dir/RELEASES is missing" >&2; exit 1; }
[ -f "$dir/SHA256SUMS" ] || { echo "released_scripts: $dir/SHA256SUMS is missing" >&2; exit 1; }

# 1. checksums
if (cd "$dir" && sha256sum --quiet --strict -c SHA256SUMS); then
    echo "ok: checksums of $(grep -c . "$dir/SHA256SUMS") released scripts (sql/released/SHA256SUMS)"
else
    bad "a released script differs from its checksum in sql/released/SHA256SUMS" \
        "(released scripts are frozen: put the change in the next version's upgrade script)"
fi

# 2. every released version has exactly its script, every script a version
declare -A listed=()    # script name -> version
declare -A commit_of=() path_of=()
versions=()
prev=""
while read -r version commit path rest; do
    case "$version" in ''|'#'*) continue ;; esac
    if [ -z "$path" ] || [ -n "$rest" ] || ! [[ $commit =~ ^[0-9a-f]{40}$ ]]; then
        bad "RELEASES: malformed line: $version $commit $path $rest"; continue
    fi
    if [ -z "$prev" ]; then want="tenantcore--$version.sql"; else want="tenantcore--$prev--$version.sql"; fi
    name=$(basename "$path")
    if [ "$name" != "$want" ]; then
        bad "RELEASES: version $version should be released as $want (after ${prev:-nothing}), not $name"
    fi
    listed[$name]=$version
    commit_of[$name]=$commit
    path_of[$name]=$path
    versions+=("$version")
    prev=$version
done < "$dir/RELEASES"
[ ${#versions[@]} -gt 0 ] || bad "RELEASES lists no version"

summed=$(awk '{ sub(/^\*/, "", $2); print $2 }' "$dir/SHA256SUMS" | sort)
for name in "${!listed[@]}"; do
    [ -f "$dir/$name" ] || bad "released version ${listed[$name]} has no script sql/released/$name"
    grep -qxF "$name" <<< "$summed" || bad "sql/released/$name (version ${listed[$name]}) has no checksum in SHA256SUMS"
done
for f in "$dir"/*.sql; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    [ -n "${listed[$name]:-}" ] || bad "sql/released/$name is not a released version's script in RELEASES"
done
while read -r name; do
    [ -n "$name" ] || continue
    [ -n "${listed[$name]:-}" ] || bad "SHA256SUMS lists $name, which is no released version's script in RELEASES"
done <<< "$summed"
# a released script lives in sql/released/ only (make installs both places' scripts)
for f in "$root"/sql/tenantcore--*--*.sql; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    [ -z "${listed[$name]:-}" ] || bad "sql/$name is a released version's script: it belongs in sql/released/ only"
done
echo "released versions: ${versions[*]}"

# 3. each script as its release commit had it, when the history is here
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    missing=0; checked=0; differ=0
    for name in "${!listed[@]}"; do
        c=${commit_of[$name]}
        [ -f "$dir/$name" ] || continue    # reported above
        if ! git -C "$root" cat-file -e "$c^{commit}" 2>/dev/null; then
            missing=$((missing + 1)); continue
        fi
        if ! git -C "$root" cat-file -e "$c:${path_of[$name]}" 2>/dev/null; then
            bad "release commit ${c:0:12} of ${listed[$name]} has no ${path_of[$name]}"; continue
        fi
        if ! git -C "$root" show "$c:${path_of[$name]}" | cmp -s - "$dir/$name"; then
            differ=$((differ + 1))
            bad "sql/released/$name differs from ${path_of[$name]} of its release commit ${c:0:12} (version ${listed[$name]}):"
            git -C "$root" show "$c:${path_of[$name]}" | diff -u --label "${c:0:12}:${path_of[$name]}" \
                --label "sql/released/$name" - "$dir/$name" | head -40 >&2 || true
        fi
        checked=$((checked + 1))
    done
    if [ $missing -gt 0 ]; then
        echo "NOTE: $missing release commit(s) are not in this clone's history (shallow clone?):" \
             "only the checksums of their scripts were checked"
    fi
    if [ $checked -gt 0 ] && [ $differ -eq 0 ]; then
        echo "ok: $checked released scripts equal the files of their release commits (git history)"
    fi
else
    echo "NOTE: no git history here: only the checksums of the released scripts were checked"
fi

if [ $fail -eq 0 ]; then
    echo "released scripts unchanged: OK"
fi
exit $fail
