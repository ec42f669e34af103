#!/usr/bin/env bash
# pg.sh: a throwaway PostgreSQL 15 server for tests (INFRA.md).
#
#   pg.sh start DIR   initdb + start a server whose data, log and unix socket
#                     live in DIR; prints its URL:
#                     postgresql://postgres@/postgres?host=DIR&port=PORT
#   pg.sh stop DIR    stops it (-m immediate) and removes DIR
#   pg.sh restart DIR [SECONDS]
#                     stops it (-m immediate, as a crash would), waits
#                     SECONDS (default 0), starts it again on the same port
#
# Port: $PGPORT or 55432 (only names the socket file in DIR: no TCP); when
# it is taken, the next free one. Works as root (the server runs as the
# postgres user through runuser) and as an ordinary user.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
MARKER=.stockwatch-test-pg

die() { echo "pg.sh: $*" >&2; exit 1; }

# Runs a command as the server's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_busy() {
  local port=$1
  # Another server of ours in this DIR, or anything listening on the TCP
  # port (a server started with the defaults would clash on its lock file).
  [ -e "$dir/.s.PGSQL.$port.lock" ] && return 0
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
  fi
  return 1
}

start() {
  [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL server binaries in $PG_BIN"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -e "$dir/data" ]; then die "$dir/data already exists"; fi
  touch "$dir/$MARKER"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "$dir: not writable by the postgres user (is a parent directory private?)"
  fi
  as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

  local port=${PGPORT:-55432} tries=0
  while :; do
    if ! port_busy "$port" &&
      as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -s -t 30 \
        -o "-k $dir -p $port -c listen_addresses='' -c fsync=off" start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 20 ] || { tail -n 20 "$dir/log" >&2 || true; die "could not start a server"; }
    port=$((port + 1))
  done
  echo "$port" >"$dir/port"
  echo "postgresql://postgres@/postgres?host=$dir&port=$port"
}

stop() {
  [ -d "$dir" ] || return 0
  # Refuse to rm -rf a directory this script did not set up.
  [ -e "$dir/$MARKER" ] || die "$dir was not created by pg.sh start; not removing it"
  if [ -e "$dir/data/postmaster.pid" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -s stop >/dev/null 2>&1 ||
      echo "pg.sh: warning: pg_ctl stop failed in $dir" >&2
  fi
  rm -rf "$dir"
}

restart() {
  [ -e "$dir/$MARKER" ] || die "$dir was not created by pg.sh start"
  as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -s stop >/dev/null 2>&1 || true
  sleep "${1:-0}"
  as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -s -t 30 \
    -o "-k $dir -p $(cat "$dir/port") -c listen_addresses='' -c fsync=off" start >/dev/null 2>&1 ||
    { tail -n 20 "$dir/log" >&2 || true; die "could not start the server again"; }
}

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: pg.sh start|stop|restart DIR [SECONDS]"
dir=$2
case $1 in
  start) start ;;
  stop) stop ;;
  restart) restart "${3:-0}" ;;
  *) die "usage: pg.sh start|stop|restart DIR [SECONDS]" ;;
esac
