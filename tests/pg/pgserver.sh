#!/usr/bin/env bash
# pgserver.sh: a throwaway PostgreSQL cluster for the tests (docs/testing.md "PostgreSQL").
#
#   tests/pg/pgserver.sh -- CMD [ARGS...]   start a cluster, run CMD with HEARTH_TEST_PG set to
#                                           its conninfo, stop and delete the cluster when CMD
#                                           ends (or this script is killed); exits with CMD's
#                                           status
#   tests/pg/pgserver.sh start              start one and print `export HEARTH_TEST_PG=...` and
#                                           `export HEARTH_TEST_PG_DIR=...` for eval
#   tests/pg/pgserver.sh stop DIR           stop the one in DIR and delete it
#
# Debian's postgresql server binaries, initdb'd as the `postgres` user (the server refuses to run
# as root) in a fresh temp dir. No TCP at all: the unix socket in that dir is the only way in
# (tests/run.sh runs each test in a network namespace of its own, where no loopback address
# would reach the server anyway; a socket file does). The role `hearth` logs in with a password
# (scram), so tests can check that a password never shows. fsync and full_page_writes off: a
# test cluster's data is thrown away, crash-safety buys nothing here. HEARTH_TEST_PG is a URI of
# the `postgres` database, as `hearth`, which may create databases (one per test:
# tests/pgtest.h).
set -euo pipefail

PG_PASSWORD=${PG_PASSWORD:-hearth-test-secret}

pgbin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    echo "pgserver.sh: no PostgreSQL server found (apt-get install postgresql)" >&2
    return 1
}

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local bin dir
    bin=$(pgbin)
    dir=$(mktemp -d /tmp/hearth-pg-XXXXXX)
    chmod 0755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C -N >"$dir/initdb.log" 2>&1 || {
        echo "pgserver.sh: initdb failed:" >&2
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        return 1
    }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
logging_collector = off
CONF
    # the superuser (the script itself) without a password, everyone else with one
    cat >"$dir/data/pg_hba.conf" <<HBA
local all postgres trust
local all all scram-sha-256
HBA
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null 2>&1
    then
        echo "pgserver.sh: the server did not start:" >&2
        tail -20 "$dir/server.log" >&2 || true
        rm -rf "$dir"
        return 1
    fi
    as_pg "$bin/psql" -q -h "$dir" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE hearth LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" >/dev/null
    PG_DIR=$dir
    PG_URI="postgresql://hearth:$PG_PASSWORD@/postgres?host=$dir"
}

stop() {
    local dir=$1 bin
    bin=$(pgbin)
    [ -d "$dir/data" ] || return 0
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    case $dir in
        /tmp/hearth-pg-*) rm -rf "$dir" ;;
    esac
}

case ${1:-} in
    start)
        start
        echo "export HEARTH_TEST_PG='$PG_URI'"
        echo "export HEARTH_TEST_PG_DIR='$PG_DIR'"
        ;;
    stop)
        stop "${2:?usage: pgserver.sh stop DIR}"
        ;;
    --)
        shift
        [ $# -gt 0 ] || { echo "usage: pgserver.sh -- CMD [ARGS...]" >&2; exit 2; }
        start
        trap 'stop "$PG_DIR"' EXIT
        trap 'exit 143' TERM INT
        export HEARTH_TEST_PG=$PG_URI HEARTH_TEST_PG_DIR=$PG_DIR
        rc=0
        "$@" || rc=$?
        exit $rc
        ;;
    *)
        sed -n '2,18p' "$0" >&2
        exit 2
        ;;
esac
