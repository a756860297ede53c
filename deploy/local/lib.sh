# deploy/local/lib.sh: helpers shared by the local stack scripts.
# Source it; it defines functions and a few variables, runs nothing.
# shellcheck shell=bash
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034

# Repository root (this file lives in deploy/local/).
RV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# Where the PostgreSQL 15 server binaries live (Debian layout).
RV_PG_BIN="${RV_PG_BIN:-/usr/lib/postgresql/15/bin}"
# Ports handed out by rv_pick_port in this process, so two services never
# get the same one before either has bound it.
RV_PORTS_TAKEN=" "
RV_PORT=""

rv_info() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}

rv_die() {
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

rv_is_root() {
    [ "$(id -u)" -eq 0 ]
}

# Runs "$@" as root: directly when we are root, else through sudo.
rv_as_root() {
    if rv_is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        rv_die "need root for: $* (install sudo or run as root)"
    fi
}

rv_need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 ||
            rv_die "command '$c' not found (run deploy/local/install-deps.sh)"
    done
}

# True if something accepts TCP connections on 127.0.0.1:$1. Uses bash's
# /dev/tcp; a closed local port refuses at once, so no timeout is needed.
rv_port_answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Sets RV_PORT to a free TCP port on 127.0.0.1 (a variable, not output: a
# $(...) subshell would forget the ports already taken). Ports come from
# 20000..31999, below Linux's ephemeral range, so outgoing connections (and
# the development broker's listeners, which bind port 0) cannot take them.
# A port is free only until someone binds it: callers retry when a bind
# fails.
rv_pick_port() {
    local tries=0 p
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    while [ "$tries" -lt 500 ]; do
        if [[ "$RV_PORTS_TAKEN" != *" $p "* ]] && ! rv_port_answers "$p"; then
            RV_PORTS_TAKEN="$RV_PORTS_TAKEN$p "
            RV_PORT="$p"
            return 0
        fi
        p=$((p + 1))
        [ "$p" -lt 32000 ] || p=20000
        tries=$((tries + 1))
    done
    rv_die "no free TCP port found on 127.0.0.1 in 20000..31999"
}

# rv_wait_until SECONDS WHAT CMD...: runs CMD every 0.2 s until it
# succeeds; returns 1 (after saying what it waited for) when SECONDS pass.
rv_wait_until() {
    local secs="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + secs))
    while ! "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            rv_info "timed out after ${secs}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# True if PID $1 is alive and its command line contains $2.
rv_pid_is() {
    local pid="$1" name="$2" cmdline
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$name"* ]]
}

# Prints the first line of file $1, or nothing if it does not exist.
rv_read1() {
    [ -r "$1" ] || return 0
    head -n 1 "$1"
}

# Writes $2 to file $1 through a temporary file and a rename, so a reader
# sees the old content or the new, never half.
rv_write_atomic() {
    local path="$1" text="$2" tmp
    tmp="$(mktemp "$path.tmp.XXXXXX")"
    printf '%s\n' "$text" >"$tmp"
    mv -f "$tmp" "$path"
}

# Prints $1 as one single-quoted shell word.
rv_shell_quote() {
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

# Absolute, physical path of directory $1 (created if missing).
rv_abs_dir() {
    mkdir -p "$1"
    (cd "$1" && pwd -P)
}

# Tails log file $1 to stderr so a failure explains itself.
rv_show_log() {
    [ -r "$1" ] || return 0
    printf -- '--- last lines of %s ---\n' "$1" >&2
    tail -n 20 "$1" >&2
    printf -- '---\n' >&2
}

# True once PID $1 has exited. A zombie counts as exited: it holds no
# port, and whether it is reaped soon depends on its parent, not on us.
rv_pid_gone() {
    local state=""
    kill -0 "$1" 2>/dev/null || return 0
    state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
        "/proc/$1/status" 2>/dev/null)" || return 0
    [ "$state" = Z ]
}

# Prints script $1's header comment (its lines after the shebang up to the
# first line that is not a comment) without the "# ": its --help.
rv_print_header() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"
}

# ---- topics of a load run (bench.sh, chaos.sh) -------------------------

# The development broker (librdkafka's mock cluster) keeps at most 5 MiB
# or 100,000 messages per partition and silently drops the oldest past
# that; it also finds a fetch's offset by walking the partition's log
# from the start, so long logs and many partitions slow it down. Bytes on
# the wire per sale (payload, key, record overhead) as measured with the
# default policy: a SaleEvent ~230; ~4.2 sampling decisions of ~320 each
# (one per sale rule evaluated); tasks, retries, bookings and alerts under
# 160; outcomes and grades (~500 bytes each, their answers and verdicts)
# up to 600 when most tasks get booked (the chaos run's roster books 0.65
# calls a sale, and a replica killed mid-batch writes some twice). A
# partition is filled to 3 MB at most, and every topic has at least 6
# partitions.
RV_SALE_BYTES=240
RV_DECISION_BYTES=1400
RV_DERIVED_BYTES=160
RV_CALL_BYTES=600
RV_PARTITION_FILL=3000000

# Prints the devbroker topic list ("name:partitions,...") for a run of $1
# sales: sales.events holds every sale; visits.decisions is capped at $2
# partitions and every other written topic at $3 (empty: no cap; with a
# cap the caller must make sure readers keep up, see bench.sh);
# service.events and compliance.cases, which a load run hardly writes,
# get 6.
rv_topic_spec() {
    local count="$1" decision_max="${2:-}" derived_max="${3:-}"
    local t p bytes max spec=""
    for t in sales.events service.events visits.tasks visits.retries \
        visits.assignments visits.outcomes visits.grades \
        compliance.alerts compliance.cases visits.decisions; do
        case "$t" in
        sales.events) bytes=$RV_SALE_BYTES max="" ;;
        visits.decisions) bytes=$RV_DECISION_BYTES max="$decision_max" ;;
        service.events | compliance.cases) bytes=0 max="" ;;
        visits.outcomes | visits.grades)
            bytes=$RV_CALL_BYTES max="$derived_max"
            ;;
        *) bytes=$RV_DERIVED_BYTES max="$derived_max" ;;
        esac
        p=$(((count * bytes + RV_PARTITION_FILL - 1) / RV_PARTITION_FILL))
        [ -z "$max" ] || [ "$p" -le "$max" ] || p="$max"
        [ "$p" -ge 6 ] || p=6
        spec="$spec${spec:+,}$t:$p"
    done
    echo "$spec"
}
