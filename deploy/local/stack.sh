#!/usr/bin/env bash
# deploy/local/stack.sh: the local stack without Docker. Redis and
# PostgreSQL 15 from the Debian packages and the development Kafka broker
# (workers/devbroker), each on a free port of 127.0.0.1, with all state
# in one private directory.
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'EOF'
usage: stack.sh start   DIR [--build-dir BUILD]
       stack.sh stop    DIR [--wipe]
       stack.sh status  DIR
       stack.sh env     DIR
       stack.sh restart DIR redis|postgres
       stack.sh fault   DIR COMMAND...

start   start Redis, PostgreSQL (database "revisit", migrations from
        deploy/sql/) and the development broker with state in DIR, then
        write DIR/env (shell exports). Services already running are kept.
        The broker binary is BUILD/workers/devbroker/revisit-devbroker;
        BUILD is --build-dir, else $RV_BUILD_DIR, else <repo>/build.
stop    stop all three; data stays unless --wipe (then DIR is removed).
status  say what runs; exit 0 if all three run, 3 otherwise.
env     print DIR/env; use it as: . DIR/env
restart stop one service cleanly and start it again on the same port
        (Redis flushes its AOF first; PostgreSQL stops "fast"): the chaos
        run's restarts (issue 6). Clients see their connections drop.
fault   hand the development broker one fault command (the words form
        one line): "down N", "up N", "rtt N MS", "errors API COUNT ERROR"
        (see workers/devbroker/devbroker_control.h); waits until it is
        applied and exits 1 if the broker refused it.

DIR/env exports RV_KAFKA_BOOTSTRAP_SERVERS, RV_REDIS_URL, RV_PG_DSN,
RV_POLICY_PATH (the shipped default policy, an absolute path) and
RV_PII_KEY_FILE (DIR/pii.key, made once with 64 random bytes, mode 0600,
kept until --wipe: the recorder seals phone numbers with it) for the
workers and RV_IT_KAFKA_BROKERS, RV_IT_REDIS_URL, RV_IT_PG_DSN,
RV_IT_PII_KEY_FILE and RV_IT_STACK_DIR (DIR, for the tests' faults and
restarts) for the integration tests. RV_DEVBROKER_BROKERS and
RV_DEVBROKER_TOPICS, if set, pass through to the broker.
EOF
}

# Bounds of every wait, in seconds.
REDIS_WAIT_S=15
PG_WAIT_S=30
BROKER_WAIT_S=30
STOP_WAIT_S=15
# A directory that holds this file may be wiped; any other is refused.
MARKER=.revisit-stack

cmd=""
dir=""
rest=()
wipe=0
build_dir="${RV_BUILD_DIR:-$RV_ROOT/build}"
while [ "$#" -gt 0 ]; do
    case "$1" in
    --wipe) wipe=1 ;;
    --build-dir)
        [ "$#" -ge 2 ] || rv_die "--build-dir needs a value"
        build_dir="$2"
        shift
        ;;
    --build-dir=*) build_dir="${1#--build-dir=}" ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*) rv_die "unknown option $1 (try --help)" ;;
    *)
        if [ -z "$cmd" ]; then
            cmd="$1"
        elif [ -z "$dir" ]; then
            dir="$1"
        elif [ "$cmd" = fault ] || [ "$cmd" = restart ]; then
            rest+=("$1")
        else
            rv_die "unexpected argument $1 (try --help)"
        fi
        ;;
    esac
    shift
done
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    usage >&2
    exit 2
fi

# ---- paths -------------------------------------------------------------

# Sets S (absolute state dir) and every path below it.
set_paths() {
    S="$1"
    ENV_FILE="$S/env"
    REDIS_DIR="$S/redis"
    REDIS_PORT_FILE="$S/redis.port"
    REDIS_PID_FILE="$S/redis.pid"
    REDIS_LOG="$S/redis.log"
    PG_ROOT_FILE="$S/pg.root"
    PG_PORT_FILE="$S/pg.port"
    BROKER_PID_FILE="$S/devbroker.pid"
    BROKER_LOG="$S/devbroker.log"
    BOOTSTRAP_FILE="$S/kafka.bootstrap"
    CONTROL_FILE="$S/devbroker.control"
    PII_KEY_FILE="$S/pii.key"
    PG_ROOT="$(rv_read1 "$PG_ROOT_FILE")"
    [ -n "$PG_ROOT" ] || PG_ROOT="$(pg_root_for "$S")"
    PG_DATA="$PG_ROOT/data"
    PG_SOCK="$PG_ROOT/run"
    PG_LOG="$PG_ROOT/postgres.log"
}

# PostgreSQL refuses to run as root, so as root its files belong to the
# "postgres" user and every parent directory must let that user through.
# A state dir under a root-only directory (say /root/...) would not, so
# as root the cluster lives in /tmp/revisit-pg-<hash of DIR> instead,
# linked from DIR/pg.
pg_root_for() {
    if rv_is_root; then
        printf '/tmp/revisit-pg-%s\n' \
            "$(printf '%s' "$1" | sha256sum | cut -c1-12)"
    else
        printf '%s/pg\n' "$1"
    fi
}

# Runs a PostgreSQL program as the user that owns the cluster.
as_pg() {
    if rv_is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

psql_as() {
    local db="$1"
    shift
    PGOPTIONS="-c client_min_messages=warning" \
        "$RV_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
        -p "$(rv_read1 "$PG_PORT_FILE")" -U postgres -d "$db" "$@"
}

# ---- health ------------------------------------------------------------

redis_ping() {
    [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

redis_alive() {
    local port pid
    port="$(rv_read1 "$REDIS_PORT_FILE")"
    pid="$(rv_read1 "$REDIS_PID_FILE")"
    [ -n "$port" ] && rv_pid_is "$pid" redis-server && redis_ping "$port"
}

pg_ready() {
    "$RV_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres
}

pg_alive() {
    local port
    port="$(rv_read1 "$PG_PORT_FILE")"
    [ -n "$port" ] && [ -f "$PG_DATA/postmaster.pid" ] && pg_ready "$port"
}

broker_alive() {
    rv_pid_is "$(rv_read1 "$BROKER_PID_FILE")" revisit-devbroker &&
        [ -s "$BOOTSTRAP_FILE" ]
}

# ---- start -------------------------------------------------------------

# Starts redis-server on port $1 with the stack's settings.
launch_redis() {
    # --daemonize returns before the bind: the caller's ping is the test.
    # fd 9 holds the stack lock: no daemon may inherit it. The append-only
    # file is the persistence; RDB snapshots (--save "") are off: on top
    # of it they only doubled the forks that copy the whole dataset (17 in
    # 9 minutes of a 1,000,000-sale bench run, ~15 s of CPU each). The
    # file is rewritten when it has doubled and passed 512 MB, not 64 MB
    # (Redis's default): a 150,000-sale bench run forked 8 rewrites at
    # 64 MB, 5.8 s of CPU beside the server's 26.6 s. Durability is the
    # same (every second); the file may grow to ~1 GB between rewrites.
    redis-server --bind 127.0.0.1 --port "$1" --dir "$REDIS_DIR" \
        --appendonly yes --appendfsync everysec --save "" \
        --auto-aof-rewrite-min-size 512mb \
        --maxmemory-policy noeviction --daemonize yes \
        --pidfile "$REDIS_PID_FILE" --logfile "$REDIS_LOG" 9>&- ||
        rv_die "redis-server failed to start (see $REDIS_LOG)"
}

start_redis() {
    if redis_alive; then
        rv_info "redis already running on port $(rv_read1 "$REDIS_PORT_FILE")"
        return 0
    fi
    mkdir -p "$REDIS_DIR"
    local attempt pid
    for attempt in 1 2 3; do
        rv_pick_port
        rm -f "$REDIS_PID_FILE"
        launch_redis "$RV_PORT"
        if rv_wait_until "$REDIS_WAIT_S" "redis on port $RV_PORT" \
            redis_ping "$RV_PORT"; then
            rv_write_atomic "$REDIS_PORT_FILE" "$RV_PORT"
            rv_info "redis running on port $RV_PORT"
            return 0
        fi
        pid="$(rv_read1 "$REDIS_PID_FILE")"
        if rv_pid_is "$pid" redis-server; then
            kill "$pid" 2>/dev/null || true
        fi
        rv_info "redis attempt $attempt failed"
    done
    rv_show_log "$REDIS_LOG"
    rv_die "redis did not start (log: $REDIS_LOG)"
}

# Creates the cluster's directories, owned by the user that runs it.
pg_prepare_dirs() {
    if rv_is_root; then
        id postgres >/dev/null 2>&1 ||
            rv_die "no 'postgres' user (install the postgresql package)"
        if [ -L "$PG_ROOT" ]; then
            rv_die "$PG_ROOT is a symbolic link; refusing to use it"
        fi
        if [ -e "$PG_ROOT" ] && [ "$(stat -c %U "$PG_ROOT")" != postgres ]; then
            rv_die "$PG_ROOT exists but is not owned by postgres"
        fi
        install -d -m 700 -o postgres -g postgres "$PG_ROOT" "$PG_SOCK"
        ln -sfn "$PG_ROOT" "$S/pg"
    else
        mkdir -p "$PG_ROOT" "$PG_SOCK"
        chmod 700 "$PG_ROOT"
    fi
    rv_write_atomic "$PG_ROOT_FILE" "$PG_ROOT"
}

pg_init() {
    [ -s "$PG_DATA/PG_VERSION" ] && return 0
    rv_info "initdb $PG_DATA"
    as_pg "$RV_PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 \
        --no-locale >"$S/initdb.log" 2>&1 || {
        rv_show_log "$S/initdb.log"
        rv_die "initdb failed"
    }
    # Only this machine may connect, and it needs no password. The port
    # is given at each start (-p); everything else lives here.
    as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null <<'EOF'
# revisit local stack: local connections only, trusted.
local   all             all                     trust
host    all             all     127.0.0.1/32    trust
host    all             all     ::1/128         trust
EOF
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<EOF

# revisit local stack (deploy/local/stack.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_SOCK'
timezone = 'UTC'
log_timezone = 'UTC'
# A development stack: a crash may lose the last commits, never the files.
synchronous_commit = off
# The record's indexes (random 32-hex keys) outgrow the default 128 MB of
# buffers within a few hundred thousand sales; checkpoints every 1 GB of
# WAL wrote a full page image of nearly every index page they touched.
shared_buffers = '512MB'
max_wal_size = '4GB'
EOF
}

start_pg() {
    [ -x "$RV_PG_BIN/pg_ctl" ] ||
        rv_die "no $RV_PG_BIN/pg_ctl (install postgresql, or set RV_PG_BIN)"
    pg_prepare_dirs
    if pg_alive; then
        rv_info "postgres already running on port $(rv_read1 "$PG_PORT_FILE")"
        return 0
    fi
    # Running on a port we no longer know (DIR/pg.port lost): restart.
    if [ -f "$PG_DATA/postmaster.pid" ] &&
        as_pg "$RV_PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        stop_pg
    fi
    pg_init
    # A crashed server leaves postmaster.pid; pg_ctl copes with it.
    local attempt
    for attempt in 1 2 3; do
        rv_pick_port
        if as_pg "$RV_PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w \
            -t "$PG_WAIT_S" -o "-p $RV_PORT" start >/dev/null 9>&-; then
            rv_write_atomic "$PG_PORT_FILE" "$RV_PORT"
            rv_wait_until "$PG_WAIT_S" "postgres on port $RV_PORT" \
                pg_ready "$RV_PORT" || rv_die "postgres does not answer"
            rv_info "postgres running on port $RV_PORT"
            return 0
        fi
        as_pg "$RV_PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop \
            >/dev/null 2>&1 || true
        rv_info "postgres attempt $attempt failed"
    done
    rv_show_log "$PG_LOG"
    rv_die "postgres did not start (log: $PG_LOG)"
}

# Creates database "revisit" and applies deploy/sql/[0-9]*.sql in name
# order, each once, in one transaction with its schema_migrations row. A
# file with its own BEGIN keeps its transactions and is recorded after
# it succeeds (so a crash in between applies it again: keep such files
# re-runnable).
pg_setup_db() {
    local has_db
    has_db="$(psql_as postgres -tAc \
        "select 1 from pg_database where datname = 'revisit'")"
    if [ "$has_db" != 1 ]; then
        psql_as postgres -c 'create database revisit' ||
            rv_die "cannot create database revisit"
    fi
    psql_as revisit -c 'create table if not exists schema_migrations (
        version text primary key,
        applied_at timestamptz not null default now())' ||
        rv_die "cannot create schema_migrations"
    local applied f v record
    applied="$(psql_as revisit -tAc 'select version from schema_migrations')"
    local LC_ALL=C # the glob sorts by byte order
    shopt -s nullglob
    local files=("$RV_ROOT"/deploy/sql/[0-9]*.sql)
    shopt -u nullglob
    for f in "${files[@]}"; do
        v="$(basename "$f" .sql)"
        [[ "$v" =~ ^[A-Za-z0-9_.-]+$ ]] ||
            rv_die "migration name $v: only [A-Za-z0-9_.-] allowed"
        if grep -qxF -- "$v" <<<"$applied"; then
            continue
        fi
        record="insert into schema_migrations (version, applied_at)
            values ('$v', now())"
        if grep -Eiq '^[[:space:]]*(begin|start[[:space:]]+transaction)\b' \
            "$f"; then
            # The file runs its own transaction(s); record it after.
            psql_as revisit -f "$f" || rv_die "migration $f failed"
            psql_as revisit -c "$record" || rv_die "cannot record $v"
        else
            psql_as revisit -1 -f "$f" -c "$record" ||
                rv_die "migration $f failed (nothing of it was applied)"
        fi
        rv_info "applied migration $v"
    done
}

start_broker() {
    local bin="$build_dir/workers/devbroker/revisit-devbroker"
    if broker_alive; then
        rv_info "devbroker already running: $(rv_read1 "$BOOTSTRAP_FILE")"
        return 0
    fi
    [ -x "$bin" ] || rv_die "no $bin: build it first (cmake -S . -B build \
&& cmake --build build -j2) or pass --build-dir / RV_BUILD_DIR"
    local old
    old="$(rv_read1 "$BROKER_PID_FILE")"
    if rv_pid_is "$old" revisit-devbroker; then
        stop_broker
    fi
    rm -f "$BOOTSTRAP_FILE"
    # A sourced env of an earlier stack must not reach the broker.
    local unset_args=() v
    for v in $(compgen -e); do
        case "$v" in
        RV_KAFKA_* | RV_CONFIG) unset_args+=(-u "$v") ;;
        esac
    done
    # fd 9 holds the stack lock: the broker must not keep it.
    rm -f "$CONTROL_FILE" "$CONTROL_FILE.done"
    env "${unset_args[@]}" RV_DEVBROKER_BOOTSTRAP_FILE="$BOOTSTRAP_FILE" \
        RV_DEVBROKER_CONTROL_FILE="$CONTROL_FILE" "$bin" </dev/null >>"$BROKER_LOG" 2>&1 9>&- &
    local pid=$!
    rv_write_atomic "$BROKER_PID_FILE" "$pid"
    local deadline=$((SECONDS + BROKER_WAIT_S))
    while [ ! -s "$BOOTSTRAP_FILE" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rv_show_log "$BROKER_LOG"
            rv_die "devbroker exited before it was ready (log: $BROKER_LOG)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            rv_show_log "$BROKER_LOG"
            rv_die "devbroker not ready after ${BROKER_WAIT_S}s"
        fi
        sleep 0.2
    done
    rv_info "devbroker running: $(rv_read1 "$BOOTSTRAP_FILE")"
}

# The recorder's key for phone numbers (common/pii.c): 64 random bytes
# as 128 hex digits, readable by the stack's user only. Made once: a new
# key would make the numbers already recorded unreadable.
ensure_pii_key() {
    if [ ! -s "$PII_KEY_FILE" ]; then
        local tmp="$PII_KEY_FILE.tmp.$$"
        (
            umask 077
            head -c 64 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$tmp"
            echo >>"$tmp"
        ) || rv_die "cannot write $tmp"
        [ "$(tr -d '\n' <"$tmp" | wc -c)" -eq 128 ] ||
            rv_die "$tmp: the key is not 128 hex digits"
        mv -f "$tmp" "$PII_KEY_FILE"
        rv_info "made the PII key $PII_KEY_FILE"
    fi
    chmod 600 "$PII_KEY_FILE"
}

write_env() {
    local kafka redis dsn
    kafka="$(rv_read1 "$BOOTSTRAP_FILE")"
    redis="redis://127.0.0.1:$(rv_read1 "$REDIS_PORT_FILE")"
    dsn="host=127.0.0.1 port=$(rv_read1 "$PG_PORT_FILE") dbname=revisit"
    dsn="$dsn user=postgres"
    rv_write_atomic "$ENV_FILE" "# revisit local stack in $S; source this file
export RV_STACK_DIR=$(rv_shell_quote "$S")
export RV_KAFKA_BOOTSTRAP_SERVERS=$(rv_shell_quote "$kafka")
export RV_REDIS_URL=$(rv_shell_quote "$redis")
export RV_PG_DSN=$(rv_shell_quote "$dsn")
export RV_POLICY_PATH=$(rv_shell_quote "$RV_ROOT/deploy/policy/default.yaml")
export RV_PII_KEY_FILE=$(rv_shell_quote "$PII_KEY_FILE")
export RV_IT_KAFKA_BROKERS=$(rv_shell_quote "$kafka")
export RV_IT_REDIS_URL=$(rv_shell_quote "$redis")
export RV_IT_PG_DSN=$(rv_shell_quote "$dsn")
export RV_IT_PII_KEY_FILE=$(rv_shell_quote "$PII_KEY_FILE")
export RV_IT_STACK_DIR=$(rv_shell_quote "$S")"
}

all_alive() {
    redis_alive && pg_alive && broker_alive
}

start_done=0
on_start_exit() {
    if [ "$start_done" -eq 0 ]; then
        rv_info "start failed; stopping what was started"
        do_stop || true
    fi
}

do_start() {
    rv_need_cmd redis-server redis-cli runuser flock sha256sum
    if [ -s "$ENV_FILE" ] && all_alive; then
        # A stack started before the key existed gets one now.
        ensure_pii_key
        write_env
        rv_info "stack already running in $S (. $ENV_FILE)"
        return 0
    fi
    trap on_start_exit EXIT
    start_redis
    start_pg
    pg_setup_db
    start_broker
    ensure_pii_key
    write_env
    start_done=1
    trap - EXIT
    rv_info "stack ready: . $ENV_FILE"
}

# ---- stop --------------------------------------------------------------

# Sends TERM to $1, waits, then KILL. $2 names it for messages.
stop_pid() {
    local pid="$1" name="$2"
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! rv_wait_until "$STOP_WAIT_S" "$name (pid $pid) to exit" \
        rv_pid_gone "$pid"; then
        rv_info "killing $name (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

stop_broker() {
    local pid
    pid="$(rv_read1 "$BROKER_PID_FILE")"
    if rv_pid_is "$pid" revisit-devbroker; then
        stop_pid "$pid" devbroker
        rv_info "devbroker stopped"
    fi
    rm -f "$BROKER_PID_FILE" "$BOOTSTRAP_FILE"
}

stop_redis() {
    local pid port
    pid="$(rv_read1 "$REDIS_PID_FILE")"
    port="$(rv_read1 "$REDIS_PORT_FILE")"
    if rv_pid_is "$pid" redis-server; then
        # NOSAVE skips the RDB snapshot; the AOF is still flushed.
        if [ -n "$port" ]; then
            redis-cli -h 127.0.0.1 -p "$port" shutdown nosave \
                >/dev/null 2>&1 || true
        fi
        if ! rv_wait_until "$STOP_WAIT_S" "redis to exit" \
            rv_pid_gone "$pid"; then
            stop_pid "$pid" redis
        fi
        rv_info "redis stopped"
    fi
    rm -f "$REDIS_PID_FILE"
}

stop_pg() {
    if [ -f "$PG_DATA/postmaster.pid" ]; then
        if ! as_pg "$RV_PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w \
            -t "$PG_WAIT_S" stop >/dev/null; then
            rv_info "postgres did not stop in ${PG_WAIT_S}s; immediate stop"
            as_pg "$RV_PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop \
                >/dev/null || true
        fi
        rv_info "postgres stopped"
    fi
}

do_stop() {
    rm -f "$ENV_FILE"
    stop_broker
    stop_redis
    stop_pg
}

do_wipe() {
    if [ -d "$S" ] && [ ! -e "$S/$MARKER" ] && [ -n "$(ls -A "$S")" ]; then
        rv_die "$S was not made by stack.sh ($MARKER missing); not wiping"
    fi
    if [ -d "$PG_ROOT" ] && [ "$PG_ROOT" != "$S/pg" ]; then
        rv_as_root rm -rf -- "$PG_ROOT"
    fi
    rm -rf -- "$S"
    rv_info "wiped $S"
}

# ---- restart and faults (the chaos run) --------------------------------

do_restart() {
    local port
    case "$1" in
    redis)
        port="$(rv_read1 "$REDIS_PORT_FILE")"
        redis_alive || rv_die "redis is not running in $S"
        stop_redis
        launch_redis "$port"
        rv_wait_until "$REDIS_WAIT_S" "redis on port $port" \
            redis_ping "$port" || rv_die "redis did not come back"
        rv_info "redis restarted on port $port"
        ;;
    postgres)
        port="$(rv_read1 "$PG_PORT_FILE")"
        pg_alive || rv_die "postgres is not running in $S"
        as_pg "$RV_PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -m fast -w \
            -t "$PG_WAIT_S" -o "-p $port" restart >/dev/null 9>&- ||
            rv_die "postgres did not restart (log: $PG_LOG)"
        rv_wait_until "$PG_WAIT_S" "postgres on port $port" \
            pg_ready "$port" || rv_die "postgres does not answer"
        rv_info "postgres restarted on port $port"
        ;;
    *) rv_die "restart what? redis or postgres" ;;
    esac
}

do_fault() {
    [ "$#" -ge 1 ] || rv_die "fault needs a command (try --help)"
    broker_alive || rv_die "the development broker is not running in $S"
    rm -f "$CONTROL_FILE.done"
    rv_write_atomic "$CONTROL_FILE" "$*"
    rv_wait_until 10 "the broker to take the command" \
        test -s "$CONTROL_FILE.done" ||
        rv_die "the broker did not take \"$*\" (log: $BROKER_LOG)"
    local result
    result="$(rv_read1 "$CONTROL_FILE.done")"
    rm -f "$CONTROL_FILE.done"
    case "$result" in
    ok*) rv_info "fault applied: $*" ;;
    *) rv_die "fault \"$*\" refused: $result" ;;
    esac
}

# ---- status ------------------------------------------------------------

do_status() {
    local rc=0
    if redis_alive; then
        echo "redis      running  port $(rv_read1 "$REDIS_PORT_FILE") pid $(rv_read1 "$REDIS_PID_FILE")"
    else
        echo "redis      stopped"
        rc=3
    fi
    if pg_alive; then
        echo "postgres   running  port $(rv_read1 "$PG_PORT_FILE") data $PG_DATA"
    else
        echo "postgres   stopped"
        rc=3
    fi
    if broker_alive; then
        echo "devbroker  running  $(rv_read1 "$BOOTSTRAP_FILE") pid $(rv_read1 "$BROKER_PID_FILE")"
    else
        echo "devbroker  stopped"
        rc=3
    fi
    return "$rc"
}

# ---- main --------------------------------------------------------------

case "$cmd" in
start)
    set_paths "$(rv_abs_dir "$dir")"
    chmod 700 "$S"
    touch "$S/$MARKER"
    exec 9>"$S/.lock"
    flock -w 60 9 || rv_die "another stack.sh holds $S/.lock"
    do_start
    ;;
stop)
    set_paths "$(realpath -m -- "$dir")"
    if [ -d "$S" ]; then
        exec 9>"$S/.lock"
        flock -w 60 9 || rv_die "another stack.sh holds $S/.lock"
        do_stop
    else
        # The state dir is gone, but as root the cluster lives elsewhere
        # and may still run: stop it, so it cannot be mistaken for fresh.
        # Stopping what does not run is not an error (idempotent), but
        # say so: a mistyped DIR would otherwise look like a clean stop.
        rv_info "no state dir $S: nothing of it to stop"
        stop_pg
    fi
    if [ "$wipe" -eq 1 ]; then
        do_wipe
    fi
    ;;
status)
    [ -d "$dir" ] || rv_die "no state dir $dir"
    set_paths "$(rv_abs_dir "$dir")"
    do_status
    ;;
restart | fault)
    [ -d "$dir" ] || rv_die "no state dir $dir"
    set_paths "$(rv_abs_dir "$dir")"
    exec 9>"$S/.lock"
    flock -w 60 9 || rv_die "another stack.sh holds $S/.lock"
    if [ "$cmd" = restart ]; then
        [ "${#rest[@]}" -eq 1 ] || rv_die "restart DIR redis|postgres"
        do_restart "${rest[0]}"
    else
        do_fault "${rest[@]}"
    fi
    ;;
env)
    [ -s "$dir/env" ] || rv_die "no $dir/env: the stack is not running"
    cat "$dir/env"
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
