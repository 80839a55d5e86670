#!/usr/bin/env bash
# The no-Docker local stack: a private PostgreSQL cluster and a Kafka-protocol broker (Tansu,
# memory storage) on 127.0.0.1. Idempotent.
#   stack.sh up            install what is missing, start both, wait until healthy
#   stack.sh down          stop both (data of the PostgreSQL cluster is kept)
#   stack.sh status        print what runs
#   stack.sh env           print the environment a client needs (eval "$(stack.sh env)")
#   stack.sh restart-pg    restart PostgreSQL only (used by the failure tests)
#   stack.sh stop-pg | start-pg
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/env.sh"

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
PG_DATA="$STACK_DIR/pg/data"
PG_LOG="$STACK_DIR/pg/postgresql.log"
BROKER_LOG="$STACK_DIR/broker.log"
BROKER_PID="$STACK_DIR/broker.pid"

# initdb and postgres refuse to run as root: run them as the 'postgres' system user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_running() { [ -n "$PG_BIN" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_init() {
  [ -n "$PG_BIN" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (run install.sh)"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    say "initialising PostgreSQL cluster in $PG_DATA"
    mkdir -p "$STACK_DIR/pg"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$STACK_DIR/pg"
      # the postgres user must be able to reach its data directory
      d="$STACK_DIR/pg"; while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
    fi
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$STACK_DIR/pg/initdb.log" 2>&1 \
      || die "initdb failed, see $STACK_DIR/pg/initdb.log"
  fi
}

pg_start() {
  pg_init
  if pg_running; then say "PostgreSQL already running on 127.0.0.1:$PG_PORT"; else
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k /tmp -c max_connections=200 -c fsync=on" start >/dev/null \
      || die "PostgreSQL did not start, see $PG_LOG"
  fi
  for _ in $(seq 1 60); do
    as_pg "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q && break; sleep 0.5
  done
  as_pg "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q || die "PostgreSQL is not accepting connections on $PG_PORT"
  local psql=(as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
    "${psql[@]}" -c "CREATE ROLE \"$PG_USER\" LOGIN CREATEDB" >/dev/null || die "could not create role $PG_USER"
  fi
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
    "${psql[@]}" -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >/dev/null || die "could not create database $PG_DB"
  fi
}

pg_stop() {
  if pg_running; then say "stopping PostgreSQL"; as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null; fi
}

broker_running() { [ -f "$BROKER_PID" ] && kill -0 "$(cat "$BROKER_PID")" 2>/dev/null; }

broker_start() {
  [ -x "$STACK_DIR/bin/tansu" ] || die "broker binary missing (run install.sh)"
  if broker_running && port_open "$KAFKA_PORT"; then say "broker already running on 127.0.0.1:$KAFKA_PORT"; return; fi
  if port_open "$KAFKA_PORT"; then die "port $KAFKA_PORT is taken by another process (set CDRA_KAFKA_PORT)"; fi
  say "starting Kafka-protocol broker on 127.0.0.1:$KAFKA_PORT"
  nohup "$STACK_DIR/bin/tansu" broker \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine "memory://tansu/" >"$BROKER_LOG" 2>&1 &
  echo $! >"$BROKER_PID"
  for _ in $(seq 1 100); do port_open "$KAFKA_PORT" && break; sleep 0.1; done
  broker_running && port_open "$KAFKA_PORT" || die "broker did not start, see $BROKER_LOG"
}

broker_stop() {
  if broker_running; then
    say "stopping broker"; kill "$(cat "$BROKER_PID")" 2>/dev/null || true
    for _ in $(seq 1 50); do broker_running || break; sleep 0.1; done
    broker_running && kill -9 "$(cat "$BROKER_PID")" 2>/dev/null || true
  fi
  rm -f "$BROKER_PID"
}

case "${1:-up}" in
  up) "$HERE/install.sh"; pg_start; broker_start
      say "ready: CDRA_DATABASE_URL=$CDRA_DATABASE_URL CDRA_KAFKA_BROKERS=$CDRA_KAFKA_BROKERS" ;;
  down) broker_stop; pg_stop ;;
  status) pg_running && say "PostgreSQL: running on $PG_PORT" || say "PostgreSQL: stopped"
          broker_running && say "broker: running on $KAFKA_PORT" || say "broker: stopped" ;;
  env) printf 'export CDRA_DATABASE_URL=%q\nexport CDRA_KAFKA_BROKERS=%q\nexport LD_LIBRARY_PATH=%q\n' \
         "$CDRA_DATABASE_URL" "$CDRA_KAFKA_BROKERS" "$LD_LIBRARY_PATH" ;;
  restart-pg) pg_stop; pg_start ;;
  stop-pg) pg_stop ;;
  start-pg) pg_start ;;
  restart-broker) broker_stop; broker_start ;;
  *) die "unknown command '$1' (up|down|status|env|restart-pg|stop-pg|start-pg|restart-broker)" ;;
esac
