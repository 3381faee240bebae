#!/usr/bin/env bash
# scripts/setup.sh -- set everything up and show tenantcore working:
# Debian packages, build, install, a throwaway cluster, CREATE EXTENSION and
# a short demo.  The cluster is removed at the end unless KEEP=1.
. "$(dirname "$0")/lib.sh"

tc_install_packages
tc_build_install
tc_cluster_start
if [ "${KEEP:-0}" = 1 ]; then trap - EXIT; fi

log "running the demo (scripts/demo.sql)"
psql -X -v ON_ERROR_STOP=1 -q -f "$TC_ROOT/scripts/demo.sql"

if [ "${KEEP:-0}" = 1 ]; then
    log "cluster kept: psql -h $PGHOST -p $PGPORT -U postgres   (stop: pg_ctl -D $TC_CLUSTER/data stop)"
fi
