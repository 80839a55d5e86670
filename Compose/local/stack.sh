#!/usr/bin/env bash
# The no-Docker local stack on 127.0.0.1: a private PostgreSQL cluster, a Kafka-protocol broker
# (Tansu) and, for the broker's durable storage, an S3-compatible store (localbucket). Idempotent.
#   stack.sh up              install what is missing, start all, wait until healthy; a broker that
#                            runs on another storage than CDRA_BROKER_STORAGE is restarted on it
#   stack.sh down            stop broker, S3 store and PostgreSQL (their data is kept)
#   stack.sh status          print what runs, the broker's storage and whether the S3 store answers
#   stack.sh env             print the environment a client needs (eval "$(stack.sh env)")
#   stack.sh restart-pg      restart PostgreSQL only (used by the failure tests)
#   stack.sh stop-pg | start-pg
#   stack.sh crash-pg        stop PostgreSQL as a crash would (pg_ctl -m immediate; crash tests)
#   stack.sh restart-broker  restart the broker only, on the storage it ran on
#   stack.sh kill-broker     SIGKILL the broker and wait until it is gone (crash tests)
#   stack.sh stop-broker | start-broker
#                            stop the broker; start it (and its S3 store) on the storage it last ran on
# Settings (env.sh): CDRA_BROKER_STORAGE=s3 (default: topics, messages and committed offsets kept in
# $STACK_DIR/s3) or memory (lost when the broker stops); ports CDRA_PG_PORT, CDRA_KAFKA_PORT,
# CDRA_S3_PORT; CDRA_STACK_DIR. restart-broker and start-broker take CDRA_BROKER_STORAGE only when
# it is set.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/env.sh"

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
PG_DATA="$STACK_DIR/pg/data"
PG_LOG="$STACK_DIR/pg/postgresql.log"
BROKER_LOG="$STACK_DIR/broker.log"
BROKER_PID="$STACK_DIR/broker.pid"
BROKER_MODE="$STACK_DIR/broker.storage" # the storage the broker was started on: s3 or memory
S3_DATA="$STACK_DIR/s3"
S3_LOG="$STACK_DIR/s3.log"
S3_PID="$STACK_DIR/s3.pid"

case "$BROKER_STORAGE" in
  s3 | memory) ;;
  *) die "CDRA_BROKER_STORAGE must be s3 or memory, not '$BROKER_STORAGE'" ;;
esac
for _v in PG_PORT:CDRA_PG_PORT KAFKA_PORT:CDRA_KAFKA_PORT S3_PORT:CDRA_S3_PORT; do
  _n="${_v%%:*}"; _p="${!_n}"
  [[ "$_p" =~ ^[0-9]+$ ]] && [ "$_p" -ge 1 ] && [ "$_p" -le 65535 ] || die "${_v#*:} must be a port in 1-65535, not '$_p'"
done
unset _v _n _p

# initdb and postgres refuse to run as root: run them as the 'postgres' system user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Closes every descriptor above 2 in the current (sub)shell. The servers started here outlive this
# script and must not keep a descriptor it inherited: under `flock LOCK make test` one is the lock,
# and a server holding it keeps every later `flock LOCK ...` waiting for as long as it runs.
close_inherited_fds() {
  local entry fd
  for entry in "/proc/$BASHPID/fd/"*; do
    fd="${entry##*/}"
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# Names the process that listens on TCP port $1: ss (iproute2), else fuser (psmisc), else lsof.
port_holder() {
  local pid=""
  if command -v ss >/dev/null 2>&1; then
    pid="$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)"
  elif command -v fuser >/dev/null 2>&1; then
    pid="$(fuser -n tcp "$1" 2>/dev/null | awk '{print $1}' || true)"
  elif command -v lsof >/dev/null 2>&1; then
    pid="$(lsof -nP -t -iTCP:"$1" -sTCP:LISTEN 2>/dev/null | head -n 1 || true)"
  fi
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; then
    printf 'pid %s (%s)' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-240 | sed 's/ *$//')"
  elif [ -n "$pid" ]; then
    printf 'pid %s' "$pid"
  else
    printf 'a process not visible to this user (see: ss -ltnp "sport = :%s")' "$1"
  fi
}

# Stops with a message naming the holder of port $1 and the variable ($2) that picks another port.
require_free_port() {
  port_open "$1" || return 0
  local p=$(($1 + 1))
  while [ "$p" -lt $(($1 + 100)) ] && [ "$p" -le 65535 ] && port_open "$p"; do p=$((p + 1)); done
  die "$3 cannot start: 127.0.0.1:$1 is taken by $(port_holder "$1"). Stop that process, or give this" \
    "checkout another port: export $2=$p (free now) before stack.sh and make."
}

# Whether process $1 exists; a killed process that its parent has not reaped yet (a zombie) is gone.
pid_alive() {
  local state
  state="$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ]
}

# Prints the pid recorded in file $1 if that process is alive and its command line contains $2.
live_pid() {
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  printf '%s\n' "$pid"
}

# Sends SIGTERM to the process in pid file $1 (matching $2), waits up to 5 s, then SIGKILL.
stop_pid() {
  local pid
  pid="$(live_pid "$1" "$2")" || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do live_pid "$1" "$2" >/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do live_pid "$1" "$2" >/dev/null || return 0; sleep 0.1; done
}

# --- PostgreSQL -----------------------------------------------------------------------------------

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
  if [ -f "$PG_DATA/PG_VERSION" ] && pg_running; then
    local running_port
    running_port="$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    if [ -n "$running_port" ] && [ "$running_port" != "$PG_PORT" ]; then
      die "this checkout's PostgreSQL runs on port $running_port, not $PG_PORT (CDRA_PG_PORT): stack.sh restart-pg moves it"
    fi
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    require_free_port "$PG_PORT" CDRA_PG_PORT PostgreSQL
    pg_init
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    if ! (close_inherited_fds; as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k /tmp -c max_connections=200 -c fsync=on" start >/dev/null); then
      port_open "$PG_PORT" && ! pg_running \
        && die "PostgreSQL did not start: 127.0.0.1:$PG_PORT is taken by $(port_holder "$PG_PORT") (pick another with CDRA_PG_PORT), see $PG_LOG"
      die "PostgreSQL did not start, see $PG_LOG"
    fi
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

# A crash, not a shutdown: every backend is killed at once, nothing is checkpointed, and the next
# start replays the WAL (crash recovery). For the crash tests.
pg_crash() {
  if pg_running; then say "crashing PostgreSQL (pg_ctl -m immediate)"; as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null; fi
}

# --- S3 store (localbucket, see install.sh) -------------------------------------------------------

S3_MATCH="-m cdra_s3 $S3_DATA "
s3_pid() { live_pid "$S3_PID" "$S3_MATCH"; }
s3_running() { s3_pid >/dev/null; }

# One HTTP request ($1 = method, $2 = path) to the store; prints the raw answer.
s3_request() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" "$2" "$3" "$1" >&3
    cat <&3' _ "$S3_PORT" "$1" "$2" 2>/dev/null || true
}

# The health check: 0 when the store lists the bucket (ListObjectsV2), 2 when it answers S3 but the
# bucket is missing, 1 when there is no S3 answer on the port.
s3_health() {
  local answer
  answer="$(s3_request GET "/$S3_BUCKET?list-type=2&max-keys=1")"
  case "$answer" in
    "HTTP/1."?" 200 "*"<ListBucketResult"*) return 0 ;;
    "HTTP/1."?" 404 "*"<Code>NoSuchBucket</Code>"*) return 2 ;;
    *) return 1 ;;
  esac
}

s3_start() {
  local pid port rc
  if pid="$(s3_pid)"; then
    port="$(tr '\0' ' ' <"/proc/$pid/cmdline" | sed -n 's/.* --port \([0-9]*\).*/\1/p')"
    [ "$port" = "$S3_PORT" ] \
      || die "this checkout's S3 store runs on port $port, not $S3_PORT (CDRA_S3_PORT): stack.sh down first"
  else
    require_free_port "$S3_PORT" CDRA_S3_PORT "The S3 store"
    [ -f "$STACK_DIR/python/cdra_s3.py" ] || die "S3 store missing (run install.sh)"
    mkdir -p "$S3_DATA"
    say "starting S3 store (localbucket) on 127.0.0.1:$S3_PORT, data in $S3_DATA"
    (close_inherited_fds; PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$STACK_DIR/python" exec nohup python3 -m cdra_s3 "$S3_DATA" \
      --host 127.0.0.1 --port "$S3_PORT") </dev/null >"$S3_LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$S3_PID"
  fi
  rc=1
  for _ in $(seq 1 100); do
    rc=0; s3_health || rc=$?
    [ "$rc" -ne 1 ] && break
    pid_alive "$pid" || break
    sleep 0.1
  done
  [ "$rc" -ne 1 ] || die "the S3 store does not answer S3 requests on 127.0.0.1:$S3_PORT, see $S3_LOG"
  if [ "$rc" -eq 2 ]; then
    say "creating bucket $S3_BUCKET"
    case "$(s3_request PUT "/$S3_BUCKET")" in
      "HTTP/1."?" 200 "* | "HTTP/1."?" 409 "*) ;;
      *) die "could not create bucket $S3_BUCKET in the S3 store, see $S3_LOG" ;;
    esac
    s3_health || die "the S3 store does not list bucket $S3_BUCKET after creating it, see $S3_LOG"
  fi
}

s3_stop() {
  if s3_running; then say "stopping S3 store"; stop_pid "$S3_PID" "$S3_MATCH"; fi
  rm -f "$S3_PID"
}

# --- broker ---------------------------------------------------------------------------------------

BROKER_MATCH="$STACK_DIR/bin/tansu broker "
broker_pid() { live_pid "$BROKER_PID" "$BROKER_MATCH"; }
broker_running() { broker_pid >/dev/null; }
# The storage the broker was started on; brokers started before it was recorded ran on memory.
broker_mode() { cat "$BROKER_MODE" 2>/dev/null || echo memory; }

# Storage for start-broker and restart-broker: CDRA_BROKER_STORAGE if set, else the recorded one.
broker_restart_storage() {
  if [ -n "${CDRA_BROKER_STORAGE:-}" ] || [ ! -f "$BROKER_MODE" ]; then echo "$BROKER_STORAGE"; else broker_mode; fi
}

broker_start() { # $1 = s3 | memory
  local storage="$1" engine="memory://tansu/" name pid
  local -a env_args=()
  [ -x "$STACK_DIR/bin/tansu" ] || die "broker binary missing (run install.sh)"
  if broker_running; then
    if [ "$(broker_mode)" != "$storage" ]; then
      say "broker runs on $(broker_mode) storage: restarting it on $storage storage"
      broker_stop
    elif port_open "$KAFKA_PORT"; then
      [ "$storage" = s3 ] && s3_start
      say "broker already running on 127.0.0.1:$KAFKA_PORT ($storage storage)"
      return
    else
      say "broker process runs but 127.0.0.1:$KAFKA_PORT does not answer: restarting it"
      broker_stop
    fi
  fi
  require_free_port "$KAFKA_PORT" CDRA_KAFKA_PORT "The broker"
  if [ "$storage" = s3 ]; then
    s3_start
    engine="s3://$S3_BUCKET/"
    # Only these AWS_* settings reach the broker: none from the caller's environment.
    for name in $(compgen -e); do [[ "$name" == AWS_* ]] && env_args+=(-u "$name"); done
    env_args+=(AWS_ENDPOINT="http://127.0.0.1:$S3_PORT" AWS_ALLOW_HTTP=true AWS_DEFAULT_REGION=us-east-1
      AWS_ACCESS_KEY_ID=cdra-local AWS_SECRET_ACCESS_KEY=cdra-local)
  fi
  say "starting Kafka-protocol broker on 127.0.0.1:$KAFKA_PORT ($storage storage)"
  (close_inherited_fds; exec nohup env "${env_args[@]}" "$STACK_DIR/bin/tansu" broker \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine "$engine") </dev/null >"$BROKER_LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$BROKER_PID"
  echo "$storage" >"$BROKER_MODE"
  for _ in $(seq 1 150); do port_open "$KAFKA_PORT" && break; pid_alive "$pid" || break; sleep 0.1; done
  pid_alive "$pid" && port_open "$KAFKA_PORT" || die "broker did not start, see $BROKER_LOG"
}

broker_stop() {
  if broker_running; then say "stopping broker"; stop_pid "$BROKER_PID" "$BROKER_MATCH"; fi
  rm -f "$BROKER_PID" # the storage record stays, for start-broker
}

broker_kill() {
  local pid
  if pid="$(broker_pid)"; then
    say "killing broker (SIGKILL, pid $pid)"
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do broker_running || port_open "$KAFKA_PORT" || break; sleep 0.1; done
    ! broker_running || die "broker (pid $pid) is still there 10 s after SIGKILL"
  else
    say "broker not running"
  fi
  rm -f "$BROKER_PID"
}

# " (port N is taken by ...)" when something else listens on port $1, else nothing.
taken_note() { if port_open "$1"; then printf ' (port %s is taken by %s)' "$1" "$(port_holder "$1")"; fi; }

status() {
  if pg_running; then say "PostgreSQL: running on $PG_PORT (data $PG_DATA)"; else say "PostgreSQL: stopped$(taken_note "$PG_PORT")"; fi
  local pid mode rc
  if pid="$(broker_pid)"; then
    mode="$(broker_mode)"
    if port_open "$KAFKA_PORT"; then
      say "broker: running on $KAFKA_PORT, $mode storage (pid $pid)"
    else
      say "broker: process $pid runs ($mode storage) but port $KAFKA_PORT does not answer"
    fi
    [ "$mode" = "$BROKER_STORAGE" ] || say "broker: CDRA_BROKER_STORAGE=$BROKER_STORAGE, so 'up' restarts it on $BROKER_STORAGE storage"
  else
    say "broker: stopped (CDRA_BROKER_STORAGE=$BROKER_STORAGE)$(taken_note "$KAFKA_PORT")"
  fi
  if pid="$(s3_pid)"; then
    rc=0; s3_health || rc=$?
    case "$rc" in
      0) say "S3 store: running on $S3_PORT (pid $pid), healthy: lists bucket $S3_BUCKET; data $S3_DATA ($(du -sh "$S3_DATA" 2>/dev/null | cut -f1))" ;;
      2) say "S3 store: running on $S3_PORT (pid $pid), answers but has no bucket $S3_BUCKET" ;;
      *) say "S3 store: process $pid runs but does not answer S3 requests on $S3_PORT, see $S3_LOG" ;;
    esac
  elif [ "$BROKER_STORAGE" = s3 ]; then
    say "S3 store: stopped$(taken_note "$S3_PORT")"
  else
    say "S3 store: stopped (not used with memory storage)$(taken_note "$S3_PORT")"
  fi
}

case "${1:-up}" in
  up) "$HERE/install.sh"; pg_start; broker_start "$BROKER_STORAGE"
      if [ "$BROKER_STORAGE" = memory ] && s3_running; then say "S3 store not used with memory storage"; s3_stop; fi
      say "ready: CDRA_DATABASE_URL=$CDRA_DATABASE_URL CDRA_KAFKA_BROKERS=$CDRA_KAFKA_BROKERS (broker storage: $BROKER_STORAGE)" ;;
  down) broker_stop; s3_stop; pg_stop ;;
  status) status ;;
  env) printf 'export CDRA_DATABASE_URL=%q\nexport CDRA_KAFKA_BROKERS=%q\nexport LD_LIBRARY_PATH=%q\n' \
         "$CDRA_DATABASE_URL" "$CDRA_KAFKA_BROKERS" "$LD_LIBRARY_PATH" ;;
  restart-pg) pg_stop; pg_start ;;
  stop-pg) pg_stop ;;
  crash-pg) pg_crash ;;
  start-pg) pg_start ;;
  restart-broker) storage="$(broker_restart_storage)"; broker_stop; broker_start "$storage" ;;
  kill-broker) broker_kill ;;
  stop-broker) broker_stop ;;
  start-broker) broker_start "$(broker_restart_storage)" ;;
  *) die "unknown command '$1' (up|down|status|env|restart-pg|stop-pg|crash-pg|start-pg|restart-broker|kill-broker|stop-broker|start-broker)" ;;
esac
