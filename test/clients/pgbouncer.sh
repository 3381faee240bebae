# test/clients/pgbouncer.sh -- a private PgBouncer in transaction pooling mode in
# front of the throwaway cluster (PGHOST/PGPORT), for test/clients_*.sh and
# bench/clients/run.sh.  Source it; it does not run anything by itself.
#
#   tc_pgbouncer_start POOL_SIZE DB USER...
#       starts pgbouncer (as the postgres user, it refuses to run as root) on
#       127.0.0.1 and a free port, sets TC_PGBOUNCER_PORT; the database DB of
#       the cluster is reachable under the same name, each USER may log in
#       (auth_type = trust, the cluster trusts its local socket too);
#       pool_mode = transaction, default_pool_size = POOL_SIZE, so the
#       clients share POOL_SIZE server connections per user.
#   tc_pgbouncer_stop
#       stops it (by its pid file) and removes its directory.

TC_PGBOUNCER_DIR=""
TC_PGBOUNCER_PORT=""

tc_pgbouncer_start() {
    local pool_size=$1 db=$2; shift 2
    command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed (Debian package pgbouncer)" >&2; return 1; }
    TC_PGBOUNCER_DIR=$(mktemp -d /tmp/tenantcore-pgbouncer.XXXXXX)
    # below Linux's range of ephemeral ports (32768-60999)
    local port=$((PGPORT > 32768 ? PGPORT - 30000 + 100 : PGPORT + 100))
    local u
    for u in "$@"; do printf '"%s" ""\n' "$u"; done > "$TC_PGBOUNCER_DIR/userlist.txt"
    local run=(); [ "$(id -un)" = postgres ] || run=(runuser -u postgres --)
    # should a port still be held (bind fails with "Address already in use"
    # though nothing listens there), the next port up is tried
    local attempt i
    for attempt in 1 2 3 4 5; do
        while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
        TC_PGBOUNCER_PORT=$port
        cat > "$TC_PGBOUNCER_DIR/pgbouncer.ini" <<INI
[databases]
$db = host=$PGHOST port=$PGPORT dbname=$db

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $TC_PGBOUNCER_DIR/userlist.txt
pool_mode = transaction
default_pool_size = $pool_size
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
max_db_connections = 0
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = $TC_PGBOUNCER_DIR/pgbouncer.log
pidfile = $TC_PGBOUNCER_DIR/pgbouncer.pid
INI
        chown -R postgres: "$TC_PGBOUNCER_DIR"
        rm -f "$TC_PGBOUNCER_DIR/pgbouncer.log"
        "${run[@]}" pgbouncer -d "$TC_PGBOUNCER_DIR/pgbouncer.ini" || { cat "$TC_PGBOUNCER_DIR/pgbouncer.log" >&2; return 1; }
        for i in $(seq 1 50); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
            grep -q 'Address already in use' "$TC_PGBOUNCER_DIR/pgbouncer.log" 2>/dev/null && break
            sleep 0.1
        done
        grep -q 'Address already in use' "$TC_PGBOUNCER_DIR/pgbouncer.log" 2>/dev/null || break
        port=$((port + 100))
    done
    echo "pgbouncer did not start listening on 127.0.0.1:$port" >&2
    cat "$TC_PGBOUNCER_DIR/pgbouncer.log" >&2
    return 1
}

tc_pgbouncer_stop() {
    [ -n "$TC_PGBOUNCER_DIR" ] || return 0
    if [ -s "$TC_PGBOUNCER_DIR/pgbouncer.pid" ]; then
        local pid; pid=$(cat "$TC_PGBOUNCER_DIR/pgbouncer.pid")
        kill "$pid" 2>/dev/null || true
        local i; for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$TC_PGBOUNCER_DIR"
    TC_PGBOUNCER_DIR=""
}
