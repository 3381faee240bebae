# scripts/lib.sh -- shared by setup.sh, test.sh and bench/run.sh: packages,
# build, and a throwaway PostgreSQL cluster (own data dir, socket dir, port).
# Source it; it does not run anything by itself.
#
# Environment:
#   PG_MAJOR    PostgreSQL major version (default 15)
#   TC_DESTDIR  install into a private copy of PostgreSQL under this directory
#               instead of the system one (parallel development)
#   TC_PORT     port of the throwaway cluster (default: first free from 55432)
#   TC_PRELOAD  shared_preload_libraries of the throwaway cluster
#               (default pg_cron,tenantcore; test/shell/preload_required.sh runs without)

set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
TC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TC_DESTDIR=${TC_DESTDIR:-}
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
export PG_CONFIG

log() { printf '\n==> %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# tc_install_packages installs the Debian packages tenantcore needs.
tc_install_packages() {
    local pkgs="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-contrib
                postgresql-$PG_MAJOR-cron postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl
                make gcc libssl-dev openssl python3
                pgbouncer python3-psycopg"
    # node and npm for test/clients (node-postgres): Debian's, unless a node is there already
    command -v node >/dev/null || pkgs="$pkgs nodejs npm"
    local missing=""
    for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        log "installing Debian packages:$missing"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        # the server package must not create and start its own cluster
        as_root mkdir -p /etc/postgresql-common/createcluster.d
        echo 'create_main_cluster = false' | as_root tee /etc/postgresql-common/createcluster.d/tenantcore.conf >/dev/null
        # shellcheck disable=SC2086
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
}

# tc_bindir prints the directory of the server binaries to run.
tc_bindir() {
    if [ -n "$TC_DESTDIR" ]; then
        echo "$TC_DESTDIR/usr/lib/postgresql/$PG_MAJOR/bin"
    else
        echo "/usr/lib/postgresql/$PG_MAJOR/bin"
    fi
}

# tc_build_install builds tenantcore warning-free and installs it.
tc_build_install() {
    log "building tenantcore"
    make -C "$TC_ROOT" -s clean >/dev/null
    make -C "$TC_ROOT" -s 2> "$TC_ROOT/build.log" || { cat "$TC_ROOT/build.log"; return 1; }
    if grep -E 'warning:' "$TC_ROOT/build.log"; then
        echo "build has compiler warnings" >&2; return 1
    fi
    rm -f "$TC_ROOT/build.log"
    if [ -n "$TC_DESTDIR" ]; then
        # a private, relocatable copy of the server, so parallel work does not collide
        if [ ! -x "$(tc_bindir)/postgres" ]; then
            mkdir -p "$TC_DESTDIR/usr/lib/postgresql" "$TC_DESTDIR/usr/share/postgresql"
            cp -a "/usr/lib/postgresql/$PG_MAJOR" "$TC_DESTDIR/usr/lib/postgresql/"
            cp -a "/usr/share/postgresql/$PG_MAJOR" "$TC_DESTDIR/usr/share/postgresql/"
        fi
        make -C "$TC_ROOT" -s install DESTDIR="$TC_DESTDIR" >/dev/null
    else
        as_root make -C "$TC_ROOT" -s install >/dev/null
    fi
}

TC_CLUSTER=""
TC_SOCKDIR=""

# tc_free_port prints a free TCP port on loopback.
tc_free_port() {
    local port=${TC_PORT:-55432}
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [ -e "/tmp/.s.PGSQL.$port" ]; do
        port=$((port + 1))
    done
    echo "$port"
}

# tc_cluster_start starts a throwaway cluster as the postgres user and exports
# PGHOST, PGPORT, PGUSER for the clients.  Extra postgresql.conf lines may be
# passed as arguments.
tc_cluster_start() {
    local bindir; bindir=$(tc_bindir)
    TC_CLUSTER=$(mktemp -d /tmp/tenantcore-pg.XXXXXX)
    TC_SOCKDIR="$TC_CLUSTER/sock"
    mkdir -p "$TC_SOCKDIR"
    PGPORT=$(tc_free_port)
    chown -R postgres: "$TC_CLUSTER" 2>/dev/null || true
    chmod 755 "$TC_CLUSTER"
    local run=(); [ "$(id -un)" = postgres ] || run=(as_root runuser -u postgres --)
    "${run[@]}" "$bindir/initdb" -D "$TC_CLUSTER/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    # a random master key for PII encryption, readable only by the server user
    "${run[@]}" sh -c "umask 077; head -c32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' > '$TC_CLUSTER/master.key'"
    {
        echo "port = $PGPORT"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$TC_SOCKDIR'"
        echo "shared_preload_libraries = '${TC_PRELOAD-pg_cron,tenantcore}'"
        echo "cron.database_name = 'postgres'"
        echo "cron.use_background_workers = on"
        echo "max_worker_processes = 16"
        echo "fsync = off"
        echo "log_min_messages = warning"
        echo "tenantcore.master_key_file = '$TC_CLUSTER/master.key'"
        for line in "$@"; do echo "$line"; done
    } | "${run[@]}" tee -a "$TC_CLUSTER/data/postgresql.conf" >/dev/null
    "${run[@]}" "$bindir/pg_ctl" -D "$TC_CLUSTER/data" -l "$TC_CLUSTER/server.log" -w start >/dev/null
    export PGHOST="$TC_SOCKDIR" PGPORT PGUSER=postgres PGDATABASE=postgres
    trap tc_cluster_stop EXIT
    log "throwaway cluster running: PGHOST=$PGHOST PGPORT=$PGPORT"
}

# tc_cluster_reuse DIR takes over a cluster that tc_cluster_start made and
# KEEP=1 kept (DIR is its TC_CLUSTER directory): it restarts the server, so
# that the freshly installed library is the one loaded, and exports the same
# PGHOST, PGPORT, PGUSER.  The cluster is left running at the end.
tc_cluster_reuse() {
    TC_CLUSTER=$(cd "$1" && pwd)
    [ -f "$TC_CLUSTER/data/postgresql.conf" ] || { echo "$1 is not a cluster made by scripts/lib.sh" >&2; return 1; }
    TC_SOCKDIR="$TC_CLUSTER/sock"
    PGPORT=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$TC_CLUSTER/data/postgresql.conf" | tail -1)
    local run=(); [ "$(id -un)" = postgres ] || run=(as_root runuser -u postgres --)
    "${run[@]}" "$(tc_bindir)/pg_ctl" -D "$TC_CLUSTER/data" -l "$TC_CLUSTER/server.log" -w restart >/dev/null
    export PGHOST="$TC_SOCKDIR" PGPORT PGUSER=postgres PGDATABASE=postgres
    log "reusing the kept cluster $TC_CLUSTER: PGHOST=$PGHOST PGPORT=$PGPORT"
}

# tc_cluster_stop stops and removes the throwaway cluster (also on failure).
tc_cluster_stop() {
    [ -n "$TC_CLUSTER" ] || return 0
    local run=(); [ "$(id -un)" = postgres ] || run=(as_root runuser -u postgres --)
    "${run[@]}" "$(tc_bindir)/pg_ctl" -D "$TC_CLUSTER/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$TC_CLUSTER"
    TC_CLUSTER=""
}
