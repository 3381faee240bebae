# scripts/citus.sh -- Citus for the tests and benchmarks: find or build it,
# and start a throwaway Citus cluster (a coordinator and two workers).
# Source it after scripts/lib.sh; it does not run anything by itself.
#
# Environment:
#   TC_CITUS_TARBALL    the Citus 13.2.2 source tarball (default
#                       $TC_ROOT/../shared/vendor/citus-13.2.2.tar.gz)
#   TC_CITUS_CACHE      where the build is kept between runs (default
#                       /var/tmp/tenantcore-citus-13.2.2-<sha256 prefix>)
#   TC_CITUS_PORT       port of the coordinator; the workers use the next two
#                       (default: TC_PORT - 29990, or 26810: below Linux's range
#                       of ephemeral ports, 32768-60999, where a connection of
#                       an earlier test can hold a port)

TC_CITUS_VERSION=13.2.2
TC_CITUS_TARBALL=${TC_CITUS_TARBALL:-$TC_ROOT/../shared/vendor/citus-$TC_CITUS_VERSION.tar.gz}

# tc_citus_installed succeeds when citus.so is installed where tenantcore is.
tc_citus_installed() {
    local libdir; libdir=$("$PG_CONFIG" --pkglibdir)
    [ -f "${TC_DESTDIR:+$TC_DESTDIR}$libdir/citus.so" ]
}

# tc_citus_build_install builds Citus from the tarball (once; the build is
# cached, keyed on the tarball's sha256) and installs it where tenantcore goes.
tc_citus_build_install() {
    local sha cache
    sha=$(sha256sum "$TC_CITUS_TARBALL" | cut -c1-12)
    cache=${TC_CITUS_CACHE:-/var/tmp/tenantcore-citus-$TC_CITUS_VERSION-$sha}
    if [ ! -f "$cache/.tenantcore-built" ]; then
        log "building Citus $TC_CITUS_VERSION from $TC_CITUS_TARBALL (a few minutes)"
        local pkgs="liblz4-dev libzstd-dev libkrb5-dev" missing="" p
        for p in $pkgs; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
        done
        if [ -n "$missing" ]; then
            as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
            # shellcheck disable=SC2086
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
        fi
        rm -rf "$cache"
        mkdir -p "$cache"
        tar xzf "$TC_CITUS_TARBALL" -C "$cache" --strip-components=1
        # PostgreSQL 15.18's headers declare have_createdb_privilege(), which
        # Citus's PG < 16 compatibility header also defines as a static
        # function: rename Citus's copy and map the name to it
        sed -i -e '/^#else/,$ s/^have_createdb_privilege(void)/citus_compat_have_createdb_privilege(void)/' \
            "$cache/src/include/pg_version_compat.h"
        grep -q '^citus_compat_have_createdb_privilege(void)' "$cache/src/include/pg_version_compat.h" || {
            echo "the have_createdb_privilege fix did not apply to $TC_CITUS_TARBALL" >&2; return 1; }
        sed -i -e '/^citus_compat_have_createdb_privilege(void)/,/^}/ { /^}/ a\
#define have_createdb_privilege() citus_compat_have_createdb_privilege()
}' "$cache/src/include/pg_version_compat.h"
        ( cd "$cache" && ./configure -q --without-libcurl PG_CONFIG="$PG_CONFIG" >/dev/null \
            && make -s -j2 >"$cache/build.log" 2>&1 ) || { tail -50 "$cache/build.log" >&2; return 1; }
        touch "$cache/.tenantcore-built"
    fi
    log "installing Citus $TC_CITUS_VERSION"
    if [ -n "$TC_DESTDIR" ]; then
        make -C "$cache" -s install DESTDIR="$TC_DESTDIR" >/dev/null 2>&1
    else
        as_root make -C "$cache" -s install >/dev/null 2>&1
    fi
}

# tc_citus_ensure makes Citus available; it returns 2 (with a SKIP line) when
# it is neither installed nor buildable from the tarball.
tc_citus_ensure() {
    if tc_citus_installed; then
        return 0
    fi
    if [ ! -f "$TC_CITUS_TARBALL" ]; then
        echo "SKIP: Citus is not installed and its source ($TC_CITUS_TARBALL) is not there" \
             "(set TC_CITUS_TARBALL, or install postgresql-$PG_MAJOR-citus-13.2, see doc/citus.md)"
        return 2
    fi
    tc_citus_build_install
}

TC_CITUS_DIR=""
TC_CITUS_PORTS=()

# tc_citus_cluster_start starts a coordinator and two workers as the postgres
# user (each its own data dir and port, on 127.0.0.1 with trust
# authentication, one master key file shared by all three), creates the
# database tenantcore_citus with citus and tenantcore on every node and
# registers the workers.  Exports PGHOST/PGPORT/PGDATABASE of the coordinator.
tc_citus_cluster_start() {
    local bindir; bindir=$(tc_bindir)
    local base=${TC_CITUS_PORT:-$(( ${TC_PORT:-56800} - 29990 ))}
    TC_CITUS_PORTS=("$base" "$((base + 1))" "$((base + 2))")
    TC_CITUS_DIR=$(mktemp -d /tmp/tenantcore-citus.XXXXXX)
    chmod 755 "$TC_CITUS_DIR"
    chown postgres: "$TC_CITUS_DIR"
    local run=(); [ "$(id -un)" = postgres ] || run=(as_root runuser -u postgres --)
    "${run[@]}" sh -c "umask 077; head -c32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' > '$TC_CITUS_DIR/master.key'"
    trap tc_citus_cluster_stop EXIT
    local i port dir
    for i in 0 1 2; do
        port=${TC_CITUS_PORTS[$i]}
        dir="$TC_CITUS_DIR/node$i"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "port $port is in use (set TC_CITUS_PORT)" >&2; return 1
        fi
        "${run[@]}" mkdir -p "$dir/sock"
        "${run[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
        {
            echo "port = $port"
            echo "listen_addresses = '127.0.0.1'"
            echo "unix_socket_directories = '$dir/sock'"
            echo "shared_preload_libraries = 'citus,pg_cron,tenantcore'"
            echo "cron.database_name = 'tenantcore_citus'"
            echo "cron.use_background_workers = on"
            echo "max_worker_processes = 24"
            echo "max_connections = 200"
            echo "max_prepared_transactions = 100"
            echo "fsync = off"
            echo "log_min_messages = warning"
            echo "citus.max_adaptive_executor_pool_size = 4"
            # the nodes talk over loopback without SSL
            echo "citus.node_conninfo = 'sslmode=disable'"
            echo "tenantcore.master_key_file = '$TC_CITUS_DIR/master.key'"
        } | "${run[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null
        # the ports lie in Linux's range of ephemeral ports: a client
        # connection of an earlier test may hold one (bind fails with
        # "Address already in use" though nothing listens there); the node
        # then takes the next port up
        local attempt
        for attempt in 1 2 3 4 5; do
            if "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null; then
                break
            fi
            if [ "$attempt" -eq 5 ] || ! grep -q 'Address already in use' "$dir/server.log"; then
                echo "node $i of the Citus cluster did not start; its server log:" >&2
                tail -n 20 "$dir/server.log" >&2
                return 1
            fi
            port=$((port + 100))
            TC_CITUS_PORTS[$i]=$port
            echo "port = $port" | "${run[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null
        done
    done
    for i in 0 1 2; do
        psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${TC_CITUS_PORTS[$i]}" -U postgres -d postgres \
            -c 'CREATE DATABASE tenantcore_citus' >/dev/null
        # citus on every node; tenantcore (and pgcrypto) reach the workers
        # through the coordinator, which propagates CREATE EXTENSION
        psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${TC_CITUS_PORTS[$i]}" -U postgres -d tenantcore_citus \
            -c 'CREATE EXTENSION citus' >/dev/null
    done
    export PGHOST=127.0.0.1 PGPORT=${TC_CITUS_PORTS[0]} PGUSER=postgres PGDATABASE=tenantcore_citus
    psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
SELECT citus_set_coordinator_host('127.0.0.1', ${TC_CITUS_PORTS[0]});
SELECT citus_add_node('127.0.0.1', ${TC_CITUS_PORTS[1]});
SELECT citus_add_node('127.0.0.1', ${TC_CITUS_PORTS[2]});
CREATE EXTENSION tenantcore CASCADE;
SQL
    log "Citus cluster running: coordinator 127.0.0.1:${TC_CITUS_PORTS[0]}, workers ${TC_CITUS_PORTS[1]}, ${TC_CITUS_PORTS[2]}"
}

# tc_citus_psql_node N runs psql on node N (0 coordinator, 1 and 2 workers).
tc_citus_psql_node() {
    local n=$1; shift
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${TC_CITUS_PORTS[$n]}" -U postgres -d tenantcore_citus "$@"
}

# tc_citus_crash_check fails when a node's server log shows a crash.
tc_citus_crash_check() {
    local i rc=0
    for i in 0 1 2; do
        if grep -En 'terminated by signal|PANIC|server process .* was terminated' "$TC_CITUS_DIR/node$i/server.log"; then
            echo "node $i of the Citus cluster crashed (lines above)" >&2; rc=1
        fi
    done
    return $rc
}

# tc_citus_cluster_stop stops and removes the three nodes.
tc_citus_cluster_stop() {
    [ -n "$TC_CITUS_DIR" ] || return 0
    local run=(); [ "$(id -un)" = postgres ] || run=(as_root runuser -u postgres --)
    local i
    for i in 0 1 2; do
        "${run[@]}" "$(tc_bindir)/pg_ctl" -D "$TC_CITUS_DIR/node$i/data" -m immediate stop >/dev/null 2>&1 || true
    done
    rm -rf "$TC_CITUS_DIR"
    TC_CITUS_DIR=""
}
