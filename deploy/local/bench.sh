#!/usr/bin/env bash
# deploy/local/bench.sh: the benchmark (issue 8). Measures the pipeline
# and, in the same run, the raw limits of the machine it runs on. Builds
# a Release build of its own, starts the local stack in a private
# directory, runs every worker (one replica each) plus the agent
# simulator, prints one line per figure, "name: value unit", and stops
# everything it started.
#
# usage: bench.sh [N]                  throughput: N synthetic sales
#                                      (default 1000000), fed to workers
#                                      it has started first as fast as
#                                      they keep up (a closed loop on
#                                      their lag), then drained
#        bench.sh --latency [SECONDS]  latency: sales offered at a steady
#                                      rate (default 1,000/s) for SECONDS
#                                      (default 60) to workers it has
#                                      started first (not preloaded);
#                                      sale produced -> booking durable
#
# Environment (all optional):
#   RV_BENCH_BUILD_DIR  build directory       (default <repo>/build-bench)
#   RV_BENCH_DIR        stack state directory (default <repo>/.run/bench)
#   RV_BENCH_SEED       generator seed        (default 1)
#   RV_BENCH_RATE       latency mode: sales/s (default 1000)
#   RV_BENCH_PG_ROWS    rows of the PostgreSQL probe (default 200000)
#   RV_BENCH_TIMEOUT_S  longest wait for the drain (default 3600)
#   RV_BENCH_WARMUP_S   latency mode: seconds of sales left out of the
#                       latency.steady_* figures (default 10)
#   RV_BENCH_PER_DAY    latency mode: sales per day of event time
#                       (default RV_BENCH_RATE x 43,200: a day's sales
#                       span 12 hours, so event time passes as fast as
#                       wall time; 700, the generator's default, packs a
#                       week of event time into ~5 s)
#   RV_BENCH_CUSTOMERS  latency mode: customer pool (default 166,666,
#                       the pool of the default 1,000,000-sale run)
#   RV_BENCH_TOPICS     topics as name:partitions,... (default: sized
#                       for the lag allowed: rv_topic_spec in lib.sh,
#                       LAG_MAX_MSGS below; latency mode:
#                       one partition a topic)
#   RV_DEVBROKER_BROKERS  mock brokers (default: the stack's 3;
#                       latency mode: 1)
#   RV_KAFKA_FETCH_WAIT_MAX_MS  how long the broker holds a worker's
#                       empty fetch (default: the workers' 100; latency
#                       mode: 10)
#   RV_BENCH_LAG_MAX    throughput mode: messages the workers may lag
#                       behind (all groups) before the generator waits
#                       (default 40000; the topics are sized for it)
#   RV_BENCH_KEEP       1: stop the stack at the end but keep its data,
#                       to query the record afterwards (stack.sh start
#                       RV_BENCH_DIR); the next run wipes it (default 0)
# Any other RV_* setting (say RV_KAFKA_QUEUED_MAX_MESSAGES_KBYTES) reaches
# every worker as usual.
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKERS="sampler assigner agentsim grader alerter recorder"
# Nothing may be dropped before every reader consumed it (lib.sh,
# rv_topic_spec): a topic holds what its readers may lag behind, with a
# bounded number of partitions. The checks count every message through
# every worker and into the record.
#
# The throughput run grants the generator what the workers' lag, summed
# over every consumer group (a sale the sampler has not read, or granted
# and not yet sent, counts once), leaves of LAG_MAX_MSGS messages,
# GRANT_SALES at least, each second: a closed loop, so its rate is the
# rate the pipeline sustains to the record. Loaded up front, 1,000,000
# sales let the sampler run ahead of the recorder, and within 3 minutes
# the broker dropped visits.decisions messages the recorder had not read
# (~1.6 KB each at that density, ~3,200 a partition in 5 MiB); a loop on
# the record's lag alone let the sampler's backlog grow, and at 7
# minutes visits.tasks (~400 bytes, ~13,000 a partition) dropped unread
# messages.
#
# So no topic need hold more than LAG_MAX_MSGS + GRANT_SALES messages
# (50,000): the topics are sized for that many sales, not for N. Fewer
# partitions make fewer, larger message sets, and the development broker
# walks a partition's sets from the oldest on every fetch: at 300,000
# sales (against 64 partitions for visits.decisions, 12 for the others,
# 24 for sales.events and 100,000 messages of lag) its CPU went 41.4 ->
# 23.6 s, the pipeline 1,642 -> 1,798 sales/s. Even if the recorder
# stopped, 50,000 sales behind would make ~38,000 tasks, ~6,400 a
# partition of 6, and 50,000 decisions messages fit in 20 partitions
# (~3,200 each).
DECISION_PARTITIONS_MAX=20
DERIVED_PARTITIONS_MAX=6
LAG_MAX_MSGS="${RV_BENCH_LAG_MAX:-40000}"
GRANT_SALES=10000

mode=throughput
count=1000000
seconds=60
while [ "$#" -gt 0 ]; do
    case "$1" in
    --latency)
        mode=latency
        if [ "$#" -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]]; then
            seconds="$2"
            shift
        fi
        ;;
    -h | --help)
        rv_print_header "$0"
        exit 0
        ;;
    *)
        [[ "$1" =~ ^[0-9]+$ ]] || rv_die "unknown argument $1 (try --help)"
        count="$1"
        ;;
    esac
    shift
done

build_dir="${RV_BENCH_BUILD_DIR:-$RV_ROOT/build-bench}"
bench_dir="${RV_BENCH_DIR:-$RV_ROOT/.run/bench}"
seed="${RV_BENCH_SEED:-1}"
rate="${RV_BENCH_RATE:-1000}"
pg_rows="${RV_BENCH_PG_ROWS:-200000}"
timeout_s="${RV_BENCH_TIMEOUT_S:-3600}"
warmup_s="${RV_BENCH_WARMUP_S:-10}"
stack="$RV_ROOT/deploy/local/stack.sh"
ctl="$build_dir/workers/revisitctl/revisitctl"
[[ "$warmup_s" =~ ^[0-9]+$ ]] || rv_die "RV_BENCH_WARMUP_S must be whole seconds"
if [ "$mode" = latency ]; then
    [ "$seconds" -ge 1 ] || rv_die "--latency needs at least 1 second"
    [ "$warmup_s" -lt "$seconds" ] ||
        rv_die "RV_BENCH_WARMUP_S ($warmup_s) leaves no steady sales in a ${seconds} s run"
    count=$((rate * seconds))
    # Sales offered in real time: event time passes as fast as wall time
    # (a day's sales span 12 hours in the generator). With the
    # generator's default 700 a day, a week of event time passed every
    # ~5 s of the run, and every 5 s the sampler closed the four regions'
    # weekly R4 quota periods at once (270-775 members each, ~2,500
    # decisions), which a real week does once: those bursts made the
    # 300-700 ms peaks of the latency tail. RV_BENCH_PER_DAY=700 still
    # measures that.
    # (The generator takes up to 432,000,000 a day, 10,000 sales/s:
    # GEN_PER_DAY_MAX in workers/revisitctl/generate.h.)
    per_day=$((rate * 43200 < 432000000 ? rate * 43200 : 432000000))
    per_day="${RV_BENCH_PER_DAY:-$per_day}"
    customers="${RV_BENCH_CUSTOMERS:-166666}"
    [[ "$per_day" =~ ^[0-9]+$ && "$customers" =~ ^[0-9]+$ ]] ||
        rv_die "RV_BENCH_PER_DAY and RV_BENCH_CUSTOMERS must be whole numbers"
fi
[ "$count" -ge 1 ] || rv_die "N must be at least 1"
cd "$RV_ROOT"
t_start=$(date +%s%N)

# Prints one figure.
fig() {
    printf '%s: %s %s\n' "$1" "$2" "$3"
}

# awk arithmetic on figures: calc EXPR (variables a, b, ... from $2 on).
calc() {
    local expr="$1"
    shift
    awk -v a="${1:-0}" -v b="${2:-0}" -v c="${3:-0}" \
        "BEGIN { x = $expr; printf \"%.${DIGITS:-0}f\", x }"
}

# Value of key $2 in the logfmt-style line $1 ("k=v k=v").
field() {
    sed -n "s/.*[ ^]$2=\([^ ]*\).*/\1/p" <<<" $1" | head -n 1
}

"$RV_ROOT/deploy/local/install-deps.sh"
rv_need_cmd redis-benchmark redis-cli

rv_info "building Release in $build_dir"
cmake -S "$RV_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG -fno-omit-frame-pointer" \
    -DRV_SANITIZE= -DRV_BUILD_TESTS=OFF -DRV_INTEGRATION_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" >/dev/null

held_sales=$((LAG_MAX_MSGS + GRANT_SALES))
[ "$count" -ge "$held_sales" ] || held_sales=$count
topic_spec=$(rv_topic_spec "$held_sales" "$DECISION_PARTITIONS_MAX" \
    "$DERIVED_PARTITIONS_MAX")
if [ "$mode" = latency ]; then
    # The development broker (librdkafka's mock cluster) walks a
    # partition's log from its oldest message set on every fetch, and
    # holds a fetch that finds nothing for the whole fetch.wait.max.ms
    # (it is not woken when a message arrives). At a steady 1,000
    # sales/s every batch writes a small message set to each partition
    # it touches, so the logs fill with sets and the walk took 76-81% of
    # the broker's CPU (perf), a third of the pipeline's; and each hop
    # waited up to 100 ms on a held fetch. The readers keep up at this
    # rate, so one broker and one partition a topic are enough (the
    # checks below still fail the run if anything was dropped unread),
    # and a 10 ms hold bounds that wait. Measured 60 s at 1,000/s:
    # broker CPU 29 -> 9 s (1 broker, 1 partition), steady p99 0.8-3.9 s
    # -> 0.43-0.60 s with a 30 ms hold, while a week of event time
    # passed every 5 s (see per_day above). In real time (event time as
    # fast as wall time) and with producers that know their topics from
    # the start (rv_producer_open), steady p99 by hold: 15 ms 78-133 ms
    # (six runs), 10 ms 58-90 ms (four runs), 7 ms 91 ms; broker CPU
    # 22-24, 25-28, 31 s: shorter holds mean more fetches, each walking
    # the partition's log.
    topic_spec=$(sed 's/:[0-9]*/:1/g' <<<"$topic_spec")
    export RV_DEVBROKER_BROKERS="${RV_DEVBROKER_BROKERS:-1}"
    export RV_KAFKA_FETCH_WAIT_MAX_MS="${RV_KAFKA_FETCH_WAIT_MAX_MS:-10}"
fi
topic_spec="${RV_BENCH_TOPICS:-$topic_spec}"

mkdir -p "$(dirname "$bench_dir")"
exec 8>"$bench_dir.lock"
flock -n 8 || rv_die "another bench.sh is running on $bench_dir"
workers_pids="$bench_dir.workers"
logs="$bench_dir.logs"
stop_workers() {
    [ -f "$workers_pids" ] || return 0
    local pid _
    while read -r pid _; do
        if rv_pid_is "$pid" /workers/; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done <"$workers_pids"
    while read -r pid _; do
        rv_wait_until 60 "worker $pid to stop" rv_pid_gone "$pid" ||
            kill -KILL "$pid" 2>/dev/null || true
    done <"$workers_pids"
    rm -f "$workers_pids"
}
drain_pid=""
gen_pid=""
cleanup() {
    if [ -n "$drain_pid" ]; then
        kill "$drain_pid" 2>/dev/null || true
    fi
    if [ -n "$gen_pid" ]; then
        kill "$gen_pid" 2>/dev/null || true
    fi
    stop_workers
    if [ "${RV_BENCH_KEEP:-0}" = 1 ]; then
        "$stack" stop "$bench_dir" >/dev/null 2>&1 || true
        rv_info "kept the record: $stack start $bench_dir"
    else
        "$stack" stop "$bench_dir" --wipe >/dev/null 2>&1 || true
    fi
}
stop_workers
"$stack" stop "$bench_dir" --wipe >/dev/null
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$logs"
mkdir -p "$logs"
RV_DEVBROKER_TOPICS="$topic_spec" RV_BUILD_DIR="$build_dir" \
    "$stack" start "$bench_dir" >"$logs/stack.log" 2>&1 || {
    rv_show_log "$logs/stack.log"
    rv_die "the stack did not start"
}
# shellcheck source=/dev/null
. "$bench_dir/env"
export RV_POLICY_PATH="$RV_ROOT/deploy/policy/default.yaml"
redis_port="${RV_REDIS_URL##*:}"
redis_cli() {
    redis-cli -h 127.0.0.1 -p "$redis_port" "$@"
}
psql_q() {
    # shellcheck disable=SC2153 # RV_PG_DSN comes from $bench_dir/env
    psql -X -q -At -v ON_ERROR_STOP=1 "$RV_PG_DSN" -c "$1"
}

start_workers() {
    : >"$workers_pids"
    local w
    for w in $WORKERS; do
        "$build_dir/workers/$w/revisit-$w" >"$logs/$w.log" 2>&1 &
        echo "$! $w" >>"$workers_pids"
    done
}

workers_alive() {
    local pid w
    while read -r pid w; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rv_info "worker $w (pid $pid) stopped"
            rv_show_log "$logs/$w.log"
            return 1
        fi
    done <"$workers_pids"
}

# Every worker holds its partitions (rv_consumer logs the assignment).
workers_assigned() {
    local w
    for w in $WORKERS; do
        grep -q 'event=partitions_assigned' "$logs/$w.log" || return 1
    done
}

# CPU seconds of the workers and of PostgreSQL (the recorder's work)
# together, so far.
busy_cpu_s() {
    local pid _ p pg total=0
    while read -r pid _; do
        total=$(DIGITS=2 calc 'a + b' "$total" "$(proc_cpu_s "$pid")")
    done <"$workers_pids"
    pg=$(head -n 1 "$RV_STACK_DIR/pg/data/postmaster.pid" 2>/dev/null) ||
        true
    if [[ "$pg" =~ ^[0-9]+$ ]]; then
        for p in "$pg" $(pgrep -P "$pg" || true); do
            total=$(DIGITS=2 calc 'a + b' "$total" "$(proc_cpu_s "$p")")
        done
    fi
    echo "$total"
}

# Messages not yet consumed by the workers that read them, over every
# consumer group (the recorder's reads every topic): a sale the sampler
# has not read counts once, though it makes ~6 messages; empty if the
# broker did not answer.
pipeline_lag() {
    field "$("$ctl" wait-drained --once 2>/dev/null || true)" lag
}

# The throughput run's sales, granted to the generator (generate
# --credit-stdin, through a FIFO) as the pipeline's lag allows; sets
# gen_line and lag_waits (the checks, a second apart, that found it too
# far behind).
feed_sales() {
    local fifo="$bench_dir.grants" out="$logs/generate.out" granted=0
    local lag delivered grant
    rm -f "$fifo"
    mkfifo "$fifo"
    "$ctl" generate --count "$count" --seed "$seed" --credit-stdin \
        <"$fifo" >"$out" &
    gen_pid=$!
    exec 9>"$fifo"
    # A generator that died makes a grant fail (EPIPE), not this script.
    trap '' PIPE
    lag_waits=0
    while kill -0 "$gen_pid" 2>/dev/null; do
        workers_alive || rv_die "a worker stopped while sales were fed"
        if [ "$granted" -lt "$count" ]; then
            lag=$(pipeline_lag)
            # Granted sales not in sales.events yet count as lag too.
            delivered=$(sed -n 's/^generate: delivered=//p' "$out" |
                tail -n 1)
            lag=$((${lag:-LAG_MAX_MSGS} + granted - ${delivered:-0}))
            if [ "$lag" -lt "$LAG_MAX_MSGS" ]; then
                # What is left of the allowance, GRANT_SALES at least.
                grant=$((LAG_MAX_MSGS - lag))
                [ "$grant" -ge "$GRANT_SALES" ] || grant=$GRANT_SALES
                [ "$grant" -le $((count - granted)) ] ||
                    grant=$((count - granted))
                echo "$grant" >&9 || true
                granted=$((granted + grant))
            else
                lag_waits=$((lag_waits + 1))
            fi
        else
            exec 9>&- # end of input: the generator finishes
        fi
        sleep 1
    done
    exec 9>&-
    trap - PIPE
    rm -f "$fifo"
    wait "$gen_pid" || rv_die "generate failed (see above)"
    gen_pid=""
    gen_line=$(grep '^generate: sales=' "$out")
}

# Waits until the pipeline is drained. wait-drained asks the broker for
# every partition's offsets each second, which costs the broker CPU the
# workers need; so first wait, cheaply, for the workers and PostgreSQL to
# fall idle (under 0.15 CPU seconds in 2 s: the ticks), then confirm.
wait_drained() {
    local before after idle active=0 t0=$SECONDS
    local deadline=$((SECONDS + timeout_s))
    before=$(busy_cpu_s)
    while [ "$SECONDS" -lt "$deadline" ]; do
        sleep 2
        workers_alive ||
            rv_die "the pipeline cannot drain without every worker"
        after=$(busy_cpu_s)
        idle=$(calc 'b - a < 0.15 ? 1 : 0' "$before" "$after")
        before="$after"
        # Idle before any work is the groups forming, not the end.
        if [ "$idle" = 0 ]; then
            active=1
        elif [ "$active" = 1 ] || [ $((SECONDS - t0)) -ge 30 ]; then
            break
        fi
    done
    # At least 1 s (wait-drained refuses 0): past the deadline it reports
    # the lag still left.
    drain_s=$((deadline - SECONDS + 10))
    [ "$drain_s" -ge 1 ] || drain_s=1
    "$ctl" wait-drained --timeout-s "$drain_s" >"$logs/drain.log" &
    drain_pid=$!
    while kill -0 "$drain_pid" 2>/dev/null; do
        if ! workers_alive; then
            kill "$drain_pid" 2>/dev/null || true
            rv_die "the pipeline cannot drain without every worker"
        fi
        sleep 1
    done
    wait "$drain_pid" || rv_die "the pipeline did not drain in ${timeout_s}s"
    drain_pid=""
}

# Peak RSS (VmHWM, kB) and CPU seconds of each worker, read while it
# still runs: the peak over its whole life.
declare -A hwm_kb cpu_s
sample_workers() {
    local pid w
    while read -r pid w; do
        hwm_kb[$w]=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' \
            "/proc/$pid/status")
        cpu_s[$w]=$(proc_cpu_s "$pid")
    done <"$workers_pids"
}

# CPU seconds (user + system) of PID $1 so far; 0 for a process that
# is gone (a PostgreSQL backend that ended since pgrep listed it).
proc_cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{
        sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' \
        "/proc/$1/stat" 2>/dev/null || echo 0
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rv_info "$mode run: sales=$count topics $topic_spec; logs in $logs"
redis_cli config resetstat >/dev/null

if [ "$mode" = throughput ]; then
    start_workers
    rv_wait_until 120 "every worker's partitions" workers_assigned ||
        rv_die "the workers did not join their groups"
    t_workers=$(date +%s%N)
    feed_sales
    wait_drained
    t_drained=$(date +%s%N)
else
    start_workers
    rv_wait_until 120 "every worker's partitions" workers_assigned ||
        rv_die "the workers did not join their groups"
    gen_line=$(env -u RV_KAFKA_FETCH_WAIT_MAX_MS "$ctl" generate \
        --count "$count" --seed "$seed" --rate "$rate" \
        --per-day "$per_day" --customers "$customers")
    wait_drained
fi
sample_workers
redis_stats=$(redis_cli info commandstats)
# Kept for a closer look: time a call by command (usec_per_call), the
# dataset's size and the append-only file's rewrites.
redis_cli info all >"$logs/redis-info.txt" 2>&1 || true
# Redis's CPU with its append-only file's rewrites: each a forked child
# that copies the whole dataset, reaped by the server (cutime, cstime).
redis_cpu=$(awk -v hz="$(getconf CLK_TCK)" '{
    sub(/^.*\) /, ""); printf "%.1f", ($12 + $13 + $14 + $15) / hz }' \
    "/proc/$(rv_read1 "$RV_STACK_DIR/redis.pid")/stat" 2>/dev/null || echo 0)
redis_rewrites=$(awk -F: '$1 == "aof_rewrites" { print $2 + 0 }' \
    "$logs/redis-info.txt" 2>/dev/null || true)
broker_cpu=$(proc_cpu_s "$(rv_read1 "$RV_STACK_DIR/devbroker.pid")")
pg_cpu=0
pg_master=$(head -n 1 "$RV_STACK_DIR/pg/data/postmaster.pid" 2>/dev/null) || true
if [[ "$pg_master" =~ ^[0-9]+$ ]]; then
    for p in "$pg_master" $(pgrep -P "$pg_master" || true); do
        pg_cpu=$(DIGITS=1 calc 'a + b' "$pg_cpu" "$(proc_cpu_s "$p")")
    done
fi
stop_workers

# ---- checks ----------------------------------------------------------

# Messages written per topic (high watermarks) and dropped by the broker
# since (low watermarks).
"$ctl" bench-retention >"$logs/retention.log" || true
written_to() {
    awk -v want=" $* " '{
        t = $2; sub(/topic=/, "", t); m = $3; sub(/messages=/, "", m)
        if (index(want, " " t " ")) s += m } END { print s + 0 }' \
        "$logs/retention.log"
}
dropped=$(awk '{ d = $5; sub(/dropped=/, "", d); s += d } END { print s + 0 }' \
    "$logs/retention.log")
written=$(awk '{ m = $3; sub(/messages=/, "", m); s += m } END { print s + 0 }' \
    "$logs/retention.log")
[ "$(wc -l <"$logs/retention.log")" -eq 20 ] || {
    cat "$logs/retention.log" >&2
    rv_die "cannot read the topics' offsets"
}
sales_rows=$(psql_q "select count(*) from sales")
summary=$("$ctl" report --summary)
dlq=$(field "$summary" dlq)
# Every message reached every worker that reads it, and the record: the
# recorder stores each partition's next offset in the transaction of its
# rows (recorder_offsets), so their sum is the messages it has recorded.
recorded=$(psql_q "select coalesce(sum(next_offset), 0) from recorder_offsets
  where group_id = 'revisit-recorder'")
# And each of them left a row naming it (kafka_partition, kafka_offset,
# deploy/sql/012) or a dead letter naming it (source_*), topic by topic
# (below).
declare -A table_of=(
    [sales.events]=sales [service.events]=work_orders
    [visits.tasks]=visit_tasks [visits.retries]=task_retries
    [visits.assignments]=assignments [visits.outcomes]=outcomes
    [visits.grades]=grades [compliance.alerts]=alerts
    [compliance.cases]=case_events [visits.decisions]=decisions
)
fact_tables="${table_of[*]}"
declare -A inputs=(
    [sampler]="sales.events service.events"
    [assigner]="visits.tasks visits.retries"
    [agentsim]="visits.assignments"
    [grader]="visits.outcomes"
    [alerter]="visits.grades compliance.cases"
)
lost=""
# More than written is a re-delivery, not a loss: a batch whose commit
# did not land (the group lost its partitions, say to a broker that did
# not answer a heartbeat for a session timeout) is read again by the
# partition's next owner, and its effects are idempotent.
redelivered=0
for w in "${!inputs[@]}"; do
    line=$(grep -h 'event=shutdown_complete' "$logs/$w.log" | tail -n 1)
    got=$(field "$line" messages)
    want=$(written_to "${inputs[$w]}")
    if [ "${got:-0}" -lt "$want" ]; then
        lost="$lost $w consumed ${got:-0} of $want;"
    elif [ "${got:-0}" -gt "$want" ]; then
        redelivered=$((redelivered + got - want))
        rv_info "$w consumed $((got - want)) messages twice" \
            "($(grep -c 'event=commit_skipped' "$logs/$w.log") commits" \
            "skipped, $(grep -c 'lost=true' "$logs/$w.log") assignments lost)"
    fi
done
# A consumer that found its offset gone skipped what the broker dropped,
# whatever its count says (a re-delivery may make up the number).
for w in "${!inputs[@]}" recorder; do
    if grep -qi 'offset out of range' "$logs/$w.log"; then
        lost="$lost $w read past messages the broker had dropped;"
    fi
done
[ "$sales_rows" -eq "$count" ] ||
    lost="$lost $sales_rows sales recorded of $count;"
[ "$recorded" -eq "$written" ] ||
    lost="$lost $recorded messages recorded of $written written;"
# A message without a row of its own repeats an ID already recorded:
# the table's key keeps the first copy. The workers re-send a fact by ID
# when they cannot tell it was sent: an A5 call-rate finding for each
# later grade of the agent-hour (until d8a6ea8 also an R7 churn visit
# both fired by the watermark and found due by a later purchase: 5.5% of
# the messages at 1,000,000 sales). Loss shows in the counts above, not
# here; this says how much is sent twice, per topic.
# Each message of a dead-letter topic is a dead_letters row (dlq_*).
with_rows=$(psql_q "select count(*) from dead_letters")
for topic in "${!table_of[@]}"; do
    n=$(psql_q "select (select count(distinct (kafka_partition, kafka_offset))
      from ${table_of[$topic]}) + (select count(*) from dead_letters
      where source_topic = '$topic')")
    want=$(written_to "$topic")
    with_rows=$((with_rows + n))
    if [ "$n" -lt "$want" ]; then
        rv_info "$((want - n)) of $want $topic messages repeat an ID" \
            "already recorded"
    fi
done
if [ -n "$lost" ]; then
    cat "$logs/retention.log" >&2
    rv_die "messages lost:$lost the development broker drops a" \
        "partition's oldest messages past 5 MiB: give the topics more" \
        "partitions (RV_BENCH_TOPICS)"
fi

# ---- figures ---------------------------------------------------------

echo "# bench.sh $mode: N=$count seed=$seed on $(nproc) cores" \
    "($(lscpu | sed -n 's/^Model name:[[:space:]]*//p')), load average" \
    "before $load_before"
fig bench.sales "$count" sales
fig generate.rate "$(field "$gen_line" rate_per_s)" sales/s
if [ "$mode" = throughput ]; then
    # checks, a second apart, that found the workers too far behind to
    # grant more sales (feed_sales)
    fig generate.lag_waits "$lag_waits" waits
fi
fig check.sales_recorded "$sales_rows" sales
fig check.messages_written "$written" msgs
fig check.messages_consumed_and_recorded "$recorded" msgs
fig check.messages_with_rows "$with_rows" msgs
# Dropped by the broker after every reader had it (else the run failed).
fig check.dropped_after_use "$dropped" msgs
# Read twice by the workers (a lost assignment's uncommitted batch).
fig check.redelivered "$redelivered" msgs
fig check.dead_letters "${dlq:-?}" msgs

# Per worker, from first to last output (envelope produced_at, wall
# time), and the recorder from its first row to its last (recorded_at).
spans=$(psql_q "
with recorded (a, b) as ($(sep=""; for t in $fact_tables; do
    printf '%s select min(recorded_at), max(recorded_at) from %s' "$sep" "$t"
    sep=" union all"
done))
select 'sampler', extract(epoch from max(produced_at) - min(produced_at))
  from decisions
union all select 'assigner',
  extract(epoch from max(produced_at) - min(produced_at)) from assignments
union all select 'agentsim',
  extract(epoch from max(produced_at) - min(produced_at)) from outcomes
union all select 'grader',
  extract(epoch from max(produced_at) - min(produced_at)) from grades
union all select 'alerter',
  extract(epoch from max(produced_at) - min(produced_at)) from alerts
union all select 'recorder', extract(epoch from max(b) - min(a)) from recorded
union all select 'pipeline',
  extract(epoch from (select max(b) from recorded)
                   - (select min(produced_at) from decisions))")
span_of() {
    awk -F'|' -v w="$1" '$1 == w { print ($2 == "" ? 0 : $2) }' <<<"$spans"
}
pipeline_s=$(span_of pipeline)
if [ "$mode" = throughput ]; then
    fig pipeline.throughput "$(calc 'b > 0 ? a / b : 0' "$count" \
        "$pipeline_s")" sales/s
    fig pipeline.seconds "$(DIGITS=1 calc a "$pipeline_s")" s
    # Workers started to drain seen: joining the groups (a few seconds
    # on the development broker) and the drain check (3 s) included.
    fig pipeline.wall "$(DIGITS=1 calc '(b - a) / 1e9' "$t_workers" \
        "$t_drained")" s
fi

declare -A rate_of batch_ms busy_of
for w in $WORKERS; do
    line=$(grep -h 'event=shutdown_complete' "$logs/$w.log" | tail -n 1)
    msgs=$(field "$line" messages)
    busy_ms=$(field "$line" busy_ms)
    batches=$(field "$line" batches)
    busy_of[$w]="${busy_ms:-0}"
    batch_ms[$w]=$(DIGITS=1 calc 'b > 0 ? a / b : 0' "${busy_ms:-0}" \
        "${batches:-0}")
    rate_of[$w]=$(calc 'b > 0 ? a * 1000 / b : 0' "${msgs:-0}" \
        "${busy_ms:-0}")
    fig "$w.messages" "${msgs:-0}" msgs
    fig "$w.throughput" "$(calc 'b > 0 ? a / b : 0' "${msgs:-0}" \
        "$(span_of "$w")")" msgs/s
    fig "$w.busy_rate" "${rate_of[$w]}" msgs/s
    fig "$w.batch_busy" "${batch_ms[$w]}" ms
    # A message waits for its whole batch and for any tick before it:
    # where a latency tail comes from (the runner's histograms, within
    # 25% above the true value).
    fig "$w.batch_p50" "$(field "$line" batch_p50_ms)" ms
    fig "$w.batch_p99" "$(field "$line" batch_p99_ms)" ms
    fig "$w.batch_max" "$(field "$line" batch_max_ms)" ms
    # Of which the broker's part: the flush (acknowledgement of the
    # batch's output) and the offset commit.
    fig "$w.flush_p50" "$(field "$line" flush_p50_ms)" ms
    fig "$w.flush_p99" "$(field "$line" flush_p99_ms)" ms
    fig "$w.commit_p50" "$(field "$line" commit_p50_ms)" ms
    fig "$w.commit_p99" "$(field "$line" commit_p99_ms)" ms
    if [ "$(field "$line" ticks)" != 0 ]; then
        fig "$w.ticks" "$(field "$line" ticks)" ticks
        fig "$w.tick_busy" "$(field "$line" tick_busy_ms)" ms
        fig "$w.tick_p99" "$(field "$line" tick_p99_ms)" ms
        fig "$w.tick_max" "$(field "$line" tick_max_ms)" ms
    fi
    fig "$w.cpu" "${cpu_s[$w]:-0}" s
    fig "$w.cpu_per_msg" "$(calc 'b > 0 ? a * 1e6 / b : 0' \
        "${cpu_s[$w]:-0}" "${msgs:-0}")" us
    fig "$w.peak_rss" "$(DIGITS=1 calc 'a / 1024' "${hwm_kb[$w]:-0}")" MB
done
rows=$(field "$(grep -h 'event=recorder_totals' "$logs/recorder.log" |
    tail -n 1)" rows_inserted)
fig recorder.rows "${rows:-0}" rows
fig devbroker.cpu "$broker_cpu" s
fig redis.cpu "$redis_cpu" s
fig redis.aof_rewrites "${redis_rewrites:-0}" rewrites
fig postgres.cpu "$pg_cpu" s
# Everything the pipeline burnt, per sale, and the rate the machine's
# cores would allow at that cost.
cpu_total=$(printf '%s\n' "${cpu_s[@]}" "$broker_cpu" "$redis_cpu" "$pg_cpu" |
    awk '{ s += $1 } END { printf "%.1f", s }')
fig pipeline.cpu "$cpu_total" s
fig pipeline.cpu_per_sale "$(calc 'a * 1e6 / b' "$cpu_total" "$count")" us
fig pipeline.cpu_bound "$(calc 'a > 0 ? c * b / a : 0' "$cpu_total" \
    "$count" "$(nproc)")" sales/s
# Redis commands per sale, by command (who calls what: worker logs).
redis_calls=$(sed -n 's/^cmdstat_\([a-z_|]*\):calls=\([0-9]*\),.*/\1 \2/p' \
    <<<"$redis_stats" | tr -d '\r' | sort -k2,2nr)
total_calls=$(awk '{ s += $2 } END { print s + 0 }' <<<"$redis_calls")
fig redis.calls_per_sale "$(DIGITS=2 calc 'a / b' "$total_calls" \
    "$count")" calls
while read -r cmd calls; do
    [ -n "$cmd" ] || continue
    fig "redis.calls_per_sale.$cmd" "$(DIGITS=2 calc 'a / b' "$calls" \
        "$count")" calls
done < <(head -n 6 <<<"$redis_calls")

if [ "$mode" = latency ]; then
    # A sale's produce time (its envelope) to its booking: made (the
    # assignment's envelope, written after the Redis booking) and durable
    # in PostgreSQL (recorded_at: now() of the recorder's transaction,
    # which commits a few ms later). Only visits decided on the sale's
    # arrival: a quota (R4) or churn (R7) rule decides when the sales'
    # event-time watermark closes its period, by design later.
    held=$(awk '/^rules:/ { r = 1; next }
        r && /^[a-z_]+:/ { r = 0 }
        r && /^  - id:/ { id = $3 }
        r && /^    mode: *(quota|inactivity)/ { printf "%s\047%s\047", sep, id; sep = "," }' \
        "$RV_POLICY_PATH")
    # The steady figures leave out the sales of the first warmup_s
    # seconds: the first fetches, connections and batches of a freshly
    # started pipeline (p99 about 2.9 s in the first 5 s of a 500/s run,
    # 0.3-1.0 s after it).
    lat=$(psql_q "
with x as (
  select extract(epoch from a.recorded_at - s.produced_at) * 1000 as d,
         extract(epoch from a.produced_at - s.produced_at) * 1000 as m,
         extract(epoch from t.produced_at - s.produced_at) * 1000 as h1,
         extract(epoch from a.produced_at - t.produced_at) * 1000 as h2,
         extract(epoch from a.recorded_at - a.produced_at) * 1000 as h3,
         s.produced_at >= min(s.produced_at) over ()
                          + interval '$warmup_s seconds' as steady
  from assignments a
  join visit_tasks t on t.task_id = a.task_id
  join sales s on s.event_id = t.source_event_id
  where a.attempt = 1 and t.rule_id not in (${held:-''}))
select count(*),
  percentile_cont(array[0.5, 0.95, 0.99]) within group (order by d),
  max(d),
  percentile_cont(array[0.5, 0.95, 0.99]) within group (order by m),
  count(*) filter (where steady),
  percentile_cont(array[0.5, 0.95, 0.99]) within group (order by d)
    filter (where steady),
  percentile_cont(array[0.5, 0.99]) within group (order by h1)
    filter (where steady),
  percentile_cont(array[0.5, 0.99]) within group (order by h2)
    filter (where steady),
  percentile_cont(array[0.5, 0.99]) within group (order by h3)
    filter (where steady)
from x")
    IFS='|' read -r lat_n lat_p lat_max lat_m st_n st_p hop1 hop2 hop3 \
        <<<"$lat"
    read -r p50 p95 p99 <<<"$(tr -d '{}' <<<"$lat_p" | tr ',' ' ')"
    read -r m50 m95 m99 <<<"$(tr -d '{}' <<<"$lat_m" | tr ',' ' ')"
    read -r s50 s95 s99 <<<"$(tr -d '{}' <<<"$st_p" | tr ',' ' ')"
    fig latency.offered_rate "$(field "$gen_line" rate_per_s)" sales/s
    # Seconds of event time a second of the run, within a day's 12
    # trading hours (the generator skips the other 12).
    fig latency.event_time_pace "$(DIGITS=1 calc 'a * 43200 / b' \
        "$rate" "$per_day")" "event s per wall s"
    fig latency.customers "$customers" customers
    fig latency.brokers "$RV_DEVBROKER_BROKERS" brokers
    fig latency.partitions_per_topic "$(sed 's/^[^:]*:\([0-9]*\).*/\1/' \
        <<<"$topic_spec")" partitions
    fig latency.fetch_wait_max "$RV_KAFKA_FETCH_WAIT_MAX_MS" ms
    fig latency.bookings "$lat_n" bookings
    fig latency.rules_excluded "$(tr -d "'" <<<"${held:-none}")" rules
    fig latency.durable_p50 "$(DIGITS=1 calc a "$p50")" ms
    fig latency.durable_p95 "$(DIGITS=1 calc a "$p95")" ms
    fig latency.durable_p99 "$(DIGITS=1 calc a "$p99")" ms
    fig latency.durable_max "$(DIGITS=1 calc a "$lat_max")" ms
    fig latency.booked_p50 "$(DIGITS=1 calc a "$m50")" ms
    fig latency.booked_p95 "$(DIGITS=1 calc a "$m95")" ms
    fig latency.booked_p99 "$(DIGITS=1 calc a "$m99")" ms
    fig latency.steady_after "$warmup_s" s
    fig latency.steady_bookings "$st_n" bookings
    fig latency.steady_durable_p50 "$(DIGITS=1 calc a "$s50")" ms
    fig latency.steady_durable_p95 "$(DIGITS=1 calc a "$s95")" ms
    fig latency.steady_durable_p99 "$(DIGITS=1 calc a "$s99")" ms
    # The steady figures hop by hop: the sale to its task (the sampler,
    # with the sale's wait in sales.events), the task to its booking (the
    # assigner, with the wait in visits.tasks), the booking to the record
    # (the recorder, with the wait in visits.assignments).
    for hop in sampler:"$hop1" assigner:"$hop2" recorder:"$hop3"; do
        read -r h50 h99 <<<"$(tr -d '{}' <<<"${hop#*:}" | tr ',' ' ')"
        fig "latency.steady_hop_${hop%%:*}_p50" "$(DIGITS=1 calc a "$h50")" ms
        fig "latency.steady_hop_${hop%%:*}_p99" "$(DIGITS=1 calc a "$h99")" ms
    done
else
    # The machine's limits, with the workers stopped: one plain consumer
    # on the same topic, Redis pipelined and not, PostgreSQL multi-row
    # inserts like the recorder's.
    kafka_out=$("$ctl" bench-kafka --topic sales.events)
    kafka_rate=$(field "$(grep '^bench-kafka:' <<<"$kafka_out")" msgs_per_s)
    rtt_line=$(grep '^bench-kafka-rtt:' <<<"$kafka_out")
    flush_ms=$(field "$rtt_line" flush_p50_ms)
    commit_ms=$(field "$rtt_line" commit_p50_ms)
    redis_p16=$(redis-benchmark -h 127.0.0.1 -p "$redis_port" --dbnum 9 \
        -n 2000000 -P 16 -r 100000 -t set -q --csv | tail -n 1 |
        cut -d, -f2 | tr -d '"')
    redis_p1=$(redis-benchmark -h 127.0.0.1 -p "$redis_port" --dbnum 9 \
        -n 100000 -P 1 -c 1 -r 100000 -t set -q --csv | tail -n 1 |
        cut -d, -f2 | tr -d '"')
    pg_line=$("$ctl" bench-pg --rows "$pg_rows")
    pg_rate=$(field "$pg_line" rows_per_s)
    fig limit.kafka_consume "$kafka_rate" msgs/s
    fig limit.kafka_flush_p50 "$flush_ms" ms
    fig limit.kafka_commit_p50 "$commit_ms" ms
    fig limit.redis_set_pipelined "$(calc a "$redis_p16")" ops/s
    fig limit.redis_set_round_trips "$(calc a "$redis_p1")" ops/s
    fig limit.pg_insert "$pg_rate" rows/s
    # Each worker's busy rate against the limit of what it does per
    # message or per batch: every worker consumes from the broker and
    # pays a flush and a commit per batch; the sampler, assigner, grader
    # and alerter call Redis (100% = one round trip per message); the
    # recorder's rows (its tables', a row per decision) per busy second
    # against the probe's.
    DIGITS=1
    for w in $WORKERS; do
        fig "$w.of_kafka_consume" "$(calc '100 * a / b' "${rate_of[$w]}" \
            "$kafka_rate")" %
        fig "$w.kafka_floor_of_batch" "$(calc \
            'c > 0 ? 100 * (a + b) / c : 0' "$flush_ms" "$commit_ms" \
            "${batch_ms[$w]}")" %
    done
    for w in sampler assigner grader alerter; do
        fig "$w.of_redis_round_trips" "$(calc '100 * a / b' \
            "${rate_of[$w]}" "$redis_p1")" %
    done
    fig recorder.of_pg_insert "$(calc 'b > 0 ? 100 * a * 1000 / b / c : 0' \
        "${rows:-0}" "${busy_of[recorder]}" "$pg_rate")" %
    unset DIGITS
fi

t_end=$(date +%s%N)
fig bench.wall "$(DIGITS=1 calc '(b - a) / 1e9' "$t_start" "$t_end")" s
