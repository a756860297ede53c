#!/usr/bin/env bash
# deploy/local/chaos.sh: the chaos run (issue 6). Proves that crashes,
# replicas, restarts and broker faults lose or duplicate nothing.
#
# Two runs of the same N synthetic sales (revisitctl generate, seeded),
# each on a fresh local stack of its own:
#   clean  one replica of every worker and the agent simulator, no fault;
#   chaos  REPLICAS replicas of each (consumer groups share the
#          partitions), sales offered at a steady rate while, every few
#          seconds, a random replica is killed with SIGKILL and started
#          again (and after every third kill another one is stopped with
#          SIGTERM, which must hand over cleanly and exit 0, and started
#          again: consumer groups rebalance mid-stream); on the way
#          Redis is restarted (AOF on), PostgreSQL is restarted, the
#          development broker fails Fetch, OffsetCommit, Metadata and
#          Heartbeat requests, slows one broker down and drops one for a
#          while (librdkafka's mock cluster calls, stack.sh fault).
# Then the record (PostgreSQL) of the chaos run is compared with the
# clean one, table by table, by ID, and the script prints
#   <table>: clean=… chaos=… lost=… duplicated=… differing=… extra=…
# for tasks, bookings, grades and alerts, then over_capacity (agent-days
# booked over the roster's daily capacity), the broker's dropped
# messages (every topic's low watermark must still be 0) and what the
# run did: kills, restarts, broker faults, replicas that exited on their
# own. Exit 0 only if every count is 0.
#
# Compared, per table (the fields that depend only on the input and the
# policy, not on the order in which replicas happen to run):
#   tasks     every field but the envelope (event, producer, times)
#   bookings  task, attempt, customer, branch, channel, questions, due
#             end; which agent, day and window a task gets depends on
#             the order in which bookings reach the capacity counters,
#             by design (C5 first come, first served): checked by
#             over_capacity and by the capacity counters in Redis, which
#             must sum to the bookings recorded (each counted once)
#   grades    everything of the verdict but the call's time (in_due_window
#             and the envelope follow the booked window)
#   alerts    every field but the envelope and the case's deadline
# Not compared, only counted: tasks that found no capacity for some
# attempt in either run (the last slots of a busy day go to whoever comes
# first), with their bookings, grades and alerts; R10 spot checks, drawn
# per agent and month, so they follow the agents the bookings chose; case
# escalations (A2), whose case period and deadline count from the first
# call's time, which follows the booked window; and call-rate findings
# (A5), one per agent and hour of calls.
#
# usage: chaos.sh [N] [--ci] [--keep] [--attempts N]
#   N       sales (default 100000; --ci: 5000)
#   --ci    the short form CI runs (ctest label "chaos"): 5,000 sales,
#           a kill every 2 s, at least 12 kills
#   --keep  leave both stacks and the logs in place
#   --attempts N  run again, up to N runs in all, when the development
#           broker itself aborted (exit 75; librdkafka's mock cluster,
#           see broker_check); any other failure ends it at once (the
#           ctest chaos_ci uses 2)
#
# Environment (all optional):
#   RV_CHAOS_BUILD_DIR  build to use; default: build a Release build in
#                       <repo>/build-chaos. Set (say by ctest) to use it
#                       as it is.
#   RV_CHAOS_DIR        state and logs (default <repo>/.run/chaos)
#   RV_CHAOS_SEED       generator and schedule seed (default 1)
#   RV_CHAOS_REPLICAS   replicas per worker in the chaos run (default 3)
#   RV_CHAOS_RATE       sales/s offered in the chaos run (default 800;
#                       --ci 250)
#   RV_CHAOS_KILL_EVERY_S   seconds between kills (default 3; --ci 2)
#   RV_CHAOS_MIN_KILLS  kills at least (default 20; --ci 12)
#   RV_CHAOS_TIMEOUT_S  longest wait for a drain (default 1800)
#   RV_CHAOS_CAPACITY_FACTOR  the agents' daily capacity of the shipped
#                       policy times this, in both runs (default 3; 1 =
#                       the shipped roster, most tasks then contended)
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORKERS="sampler assigner agentsim grader alerter recorder"

# Exit status when the development broker itself aborted (see
# broker_check): not a finding about revisit.
EXIT_BROKER_ABORTED=75

count=""
ci=0
keep=0
attempts=1
args=("$@")
while [ "$#" -gt 0 ]; do
    case "$1" in
    --ci) ci=1 ;;
    --keep) keep=1 ;;
    --attempts)
        [ "$#" -ge 2 ] && [[ "$2" =~ ^[1-9]$ ]] ||
            rv_die "--attempts needs a number 1..9"
        attempts="$2"
        shift
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
if [ "$attempts" -gt 1 ]; then
    # Run again only when the development broker aborted: the run's own
    # findings are never retried away.
    once=()
    skip=0
    for a in "${args[@]}"; do
        if [ "$skip" -eq 1 ]; then
            skip=0
        elif [ "$a" = --attempts ]; then
            skip=1
        else
            once+=("$a")
        fi
    done
    for ((attempt = 1; attempt <= attempts; attempt++)); do
        rc=0
        "$0" "${once[@]}" || rc=$?
        [ "$rc" -eq "$EXIT_BROKER_ABORTED" ] || exit "$rc"
        rv_info "attempt $attempt of $attempts: the development broker" \
            "aborted (librdkafka's mock cluster, not revisit)"
    done
    rv_info "the development broker aborted in every attempt"
    exit "$rc"
fi
if [ "$ci" -eq 1 ]; then
    count="${count:-5000}"
    rate="${RV_CHAOS_RATE:-250}"
    kill_every="${RV_CHAOS_KILL_EVERY_S:-2}"
    min_kills="${RV_CHAOS_MIN_KILLS:-12}"
else
    count="${count:-100000}"
    rate="${RV_CHAOS_RATE:-800}"
    kill_every="${RV_CHAOS_KILL_EVERY_S:-3}"
    min_kills="${RV_CHAOS_MIN_KILLS:-20}"
fi
[ "$count" -ge 1 ] || rv_die "N must be at least 1"
seed="${RV_CHAOS_SEED:-1}"
replicas="${RV_CHAOS_REPLICAS:-3}"
timeout_s="${RV_CHAOS_TIMEOUT_S:-1800}"
capacity_factor="${RV_CHAOS_CAPACITY_FACTOR:-3}"
[[ "$capacity_factor" =~ ^[1-9][0-9]*$ ]] ||
    rv_die "RV_CHAOS_CAPACITY_FACTOR must be a whole number >= 1"
base="${RV_CHAOS_DIR:-$RV_ROOT/.run/chaos}"
stack="$RV_ROOT/deploy/local/stack.sh"
cd "$RV_ROOT"

if [ -n "${RV_CHAOS_BUILD_DIR:-}" ]; then
    build_dir="$RV_CHAOS_BUILD_DIR"
else
    build_dir="$RV_ROOT/build-chaos"
    "$RV_ROOT/deploy/local/install-deps.sh"
    rv_info "building Release in $build_dir"
    cmake -S "$RV_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
        -DRV_SANITIZE= -DRV_BUILD_TESTS=OFF \
        -DRV_INTEGRATION_TESTS=OFF >/dev/null
    cmake --build "$build_dir" -j "$(nproc)" >/dev/null
fi
ctl="$build_dir/workers/revisitctl/revisitctl"
[ -x "$ctl" ] || rv_die "no $ctl: build first"
t_start=$SECONDS # the runs' time, the build's aside

# Partitions: enough that no partition outgrows the broker's limits
# (every message stays until the end, where its low watermark is checked).
topic_spec=$(rv_topic_spec "$count")

mkdir -p "$base"
exec 8>"$base/.lock"
flock -n 8 || rv_die "another chaos.sh is running on $base"

# The policy of both runs: the shipped one with every agent's daily
# capacity times $capacity_factor. The synthetic sales make ~280 tasks a
# day, more than the shipped roster books (360 a day in all, fewer in a
# busy branch), and a task that finds no capacity is left out of the
# comparison (C5 is first come, first served); with more capacity most
# tasks are booked and compared, and the busiest days still fill up, so
# over_capacity still has something to check.
policy="$base/policy.yaml"
perl -pe "s/(daily_capacity:\s*)(\d+)/\$1 . (\$2 * $capacity_factor)/e" \
    "$RV_ROOT/deploy/policy/default.yaml" >"$policy"

# ---- workers -----------------------------------------------------------

# One line per replica: "pid worker replica"; rewritten as replicas
# restart.
pids_file=""
logs=""
declare -A pid_of
start_replica() { # worker replica
    local w="$1" r="$2"
    # fd 8 holds the run's lock: nothing started may keep it.
    "$build_dir/workers/$w/revisit-$w" >>"$logs/$w.$r.log" 2>&1 8>&- &
    pid_of["$w.$r"]=$!
}

start_all() { # replicas
    local w r
    for w in $WORKERS; do
        for ((r = 1; r <= $1; r++)); do
            start_replica "$w" "$r"
        done
    done
}

# Waits up to 60 s for PID $1 (already sent SIGTERM) to exit, then kills
# it; its exit status into reaped_rc. (Not a $(...): only this shell may
# wait for its children.)
reaped_rc=0
reap() {
    reaped_rc=0
    if ! timeout 60 tail --pid="$1" -f /dev/null; then
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || reaped_rc=$?
}

# SIGTERM to every replica; each must exit 0 (a clean hand-over).
stop_all() {
    local k bad=0
    for k in "${!pid_of[@]}"; do
        kill -TERM "${pid_of[$k]}" 2>/dev/null || true
    done
    for k in "${!pid_of[@]}"; do
        reap "${pid_of[$k]}"
        if [ "$reaped_rc" -ne 0 ]; then
            rv_info "replica $k exited $reaped_rc on SIGTERM (log: $logs/$k.log)"
            bad=1
        fi
        unset "pid_of[$k]"
    done
    return "$bad"
}

# Replicas that exited without being asked: restarted, as a supervisor
# (systemd, Kubernetes) would, and counted.
self_exits=0
supervise() {
    local k rc
    for k in "${!pid_of[@]}"; do
        if ! kill -0 "${pid_of[$k]}" 2>/dev/null; then
            rc=0
            wait "${pid_of[$k]}" 2>/dev/null || rc=$?
            self_exits=$((self_exits + 1))
            rv_info "replica $k exited on its own ($rc); restarting"
            start_replica "${k%.*}" "${k##*.}"
        fi
    done
}

current=""
gen_pid=""
cleanup() {
    local k
    for k in "${!pid_of[@]}"; do
        kill -KILL "${pid_of[$k]}" 2>/dev/null || true
    done
    if [ -n "$gen_pid" ]; then
        kill -KILL "$gen_pid" 2>/dev/null || true
    fi
    if [ -n "$current" ] && [ "$keep" -eq 0 ]; then
        "$stack" stop "$current" --wipe >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- one run -----------------------------------------------------------

# Rows of query $1 on the current stack's record, tab-separated.
psql_q() {
    # shellcheck disable=SC2153 # RV_PG_DSN comes from the stack's env
    psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 "$RV_PG_DSN" -c "$1"
}

# The record of a run, one file per table: "id<TAB>md5 of the compared
# fields", sorted; spot checks (R10) apart. See the header.
dump_record() { # dir
    local out="$1" q
    local spot="(select task_id from visit_tasks where rule_id = 'R10')"
    q="select task_id, md5(concat_ws('|', rule_id, reasons::text,
        source_event_id, customer_id, branch_id, store_id, due_start,
        due_end, priority, channel, questions::text, policy_version,
        attempt, not_before, phone_masked, sample_u, sample_rate,
        occurred_at))
       from visit_tasks where rule_id <> 'R10' order by 1"
    psql_q "$q" >"$out/tasks"
    q="select assignment_id, md5(concat_ws('|', task_id, attempt,
        customer_id, branch_id, channel, questions::text, due_end,
        policy_version)), task_id
       from assignments where task_id not in $spot order by 1"
    psql_q "$q" >"$out/bookings"
    q="select grade_id, md5(concat_ws('|', outcome_id, task_id, attempt,
        customer_id, branch_id, verdict, disposition, satisfaction, band,
        evidence_ok, reason, compliance::text, policy_version)), task_id
       from grades where task_id not in $spot order by 1"
    psql_q "$q" >"$out/grades"
    q="select alert_id, md5(concat_ws('|', kind, severity, route_to,
        evidence, suspected, policy_version, grade_id, task_id, attempt,
        customer_id, branch_id)), task_id
       from alerts where task_id not in $spot
        and kind not in ('escalation', 'quality.call_rate')
       order by 1"
    psql_q "$q" >"$out/alerts"
    psql_q "select count(*) filter (where kind = 'escalation'),
        count(*) filter (where kind = 'quality.call_rate') from alerts" \
        >"$out/by_time"
    # Tasks that found no capacity for some attempt (C5: first come, first
    # served, so which tasks get the last slots of a day depends on the
    # order of arrival): their bookings, grades and alerts are not
    # compared.
    psql_q "select distinct task_id from assignments
        where status <> 'assigned' order by 1" >"$out/contended"
    # Every booking counted once against capacity, whatever crashed
    # between the booking script and the commit (issue 6 no. 1): the sum
    # of the (agent, day) counters in Redis (the d: fields of the days'
    # counters hashes, rv/booking.h) against the bookings in the
    # record. A booking counted twice takes a slot from another customer.
    local port="${RV_REDIS_URL##*:}"
    redis-cli -h 127.0.0.1 -p "${port%%/*}" EVAL "
        local sum, cur = 0, '0'
        repeat
            local r = redis.call('SCAN', cur, 'MATCH', 'rv:*:cap:*',
                                 'COUNT', 10000)
            cur = r[1]
            for _, k in ipairs(r[2]) do
                local h = redis.call('HGETALL', k)
                for i = 1, #h, 2 do
                    if string.sub(h[i], 1, 2) == 'd:' then
                        sum = sum + tonumber(h[i + 1])
                    end
                end
            end
        until cur == '0'
        return sum" 0 >"$out/capacity_counted"
    psql_q "select count(*) from assignments where status = 'assigned'" \
        >"$out/booked"
    psql_q "select
        (select count(*) from visit_tasks where rule_id = 'R10'),
        (select count(*) from assignments where task_id in $spot),
        (select count(*) from grades where task_id in $spot),
        (select count(*) from alerts where task_id in $spot)" >"$out/spot"
    psql_q "select count(*) from sales" >"$out/sales"
    psql_q "select count(*) from dead_letters" >"$out/dead_letters"
    # Agent-days over capacity: revisitctl report --agents marks them.
    "$ctl" report --agents >"$out/agents.txt" || true
    grep -c ' !$' "$out/agents.txt" >"$out/over_capacity" || true
    # Dropped by the broker: the low watermark of every topic.
    "$ctl" bench-retention >"$out/retention.txt" || true
}

# Waits until every consumer group has read everything.
# The development broker is librdkafka 2.0.2's mock cluster, which
# asserts when a group member sends a second JoinGroup while its first
# is pending (rd_kafka_mock_cgrp_member_add: `!member->resp'), which it
# did right after a group coordinator came back up; run() keeps the
# coordinators off the broker that goes down. Without a broker nothing
# can drain: say so at once, and exit EXIT_BROKER_ABORTED (--attempts
# runs again on it).
broker_check() {
    local pid
    pid="$(rv_read1 "$current/devbroker.pid")"
    if ! rv_pid_is "$pid" revisit-devbroker; then
        rv_info "the development broker died:" \
            "$(grep -v '^ts=' "$current/devbroker.log" | tail -n 2)"
        exit "$EXIT_BROKER_ABORTED"
    fi
}

wait_drained() {
    local t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$timeout_s" ]; do
        broker_check
        supervise
        if "$ctl" wait-drained --timeout-s 20 >/dev/null 2>&1; then
            return 0
        fi
    done
    rv_die "the pipeline did not drain in ${timeout_s}s"
}

kills=0
restarts_redis=0
restarts_pg=0
broker_faults=0
# One step of the fault schedule after kill number $1.
fault_step() {
    case "$1" in
    2)
        "$stack" restart "$current" redis 8>&-
        restarts_redis=$((restarts_redis + 1))
        ;;
    4)
        "$stack" restart "$current" postgres 8>&-
        restarts_pg=$((restarts_pg + 1))
        ;;
    6)
        # Not Produce: librdkafka's idempotent producer takes a later
        # request's success as proof that an earlier failed one was
        # written (rd_kafka_dr_implicit_ack), which a real broker's
        # sequence check guarantees; the mock cluster of librdkafka 2.0.2
        # checks sequences of transactional producers only, so it would
        # lose the failed batch while the producer reports it delivered.
        # Produce faults come from "down" (no request succeeds, in order)
        # and "rtt" (every request late) instead.
        "$stack" fault "$current" errors Fetch 30 NOT_LEADER_FOR_PARTITION
        "$stack" fault "$current" errors OffsetCommit 5 REQUEST_TIMED_OUT
        "$stack" fault "$current" errors Metadata 5 LEADER_NOT_AVAILABLE
        "$stack" fault "$current" errors Heartbeat 5 NOT_COORDINATOR
        broker_faults=$((broker_faults + 4))
        ;;
    8)
        "$stack" fault "$current" rtt 1 2000
        broker_faults=$((broker_faults + 1))
        ;;
    9) "$stack" fault "$current" rtt 1 0 ;;
    10)
        "$stack" fault "$current" down 2
        broker_faults=$((broker_faults + 1))
        ;;
    11) "$stack" fault "$current" up 2 ;;
    esac
}

# Kills a random replica (the schedule is seeded) and starts it again.
# A replica ("worker.n") drawn with the seeded RANDOM, into picked. (Not
# a $(...): a subshell's draw would not advance this shell's RANDOM.)
picked=""
pick_replica() {
    local keys
    mapfile -t keys < <(printf '%s\n' "${!pid_of[@]}" | sort)
    picked="${keys[$((RANDOM % ${#keys[@]}))]}"
}

kill_one() {
    local k pid
    pick_replica
    k="$picked"
    pid="${pid_of[$k]}"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    echo "kill $kills: $k (pid $pid) at +$((SECONDS - t_run))s" >>"$logs/schedule"
    start_replica "${k%.*}" "${k##*.}"
}

# Stops a random replica with SIGTERM and starts it again: it must hand
# its partitions over cleanly (commit what it finished, leave the group,
# exit 0) while the others go on; the group rebalances twice.
graceful=0
graceful_failed=0
graceful_one() {
    local k pid rc
    pick_replica
    k="$picked"
    pid="${pid_of[$k]}"
    kill -TERM "$pid" 2>/dev/null || true
    reap "$pid"
    rc=$reaped_rc
    graceful=$((graceful + 1))
    [ "$rc" -eq 0 ] || graceful_failed=$((graceful_failed + 1))
    echo "leave $graceful: $k (pid $pid) exit $rc at +$((SECONDS - t_run))s" >>"$logs/schedule"
    start_replica "${k%.*}" "${k##*.}"
}

run() { # name replicas chaos(0|1)
    local name="$1" n="$2" chaos="$3" gen_rc=0
    current="$base/$name"
    logs="$base/$name.logs"
    "$stack" stop "$current" --wipe >/dev/null 2>&1 || true
    rm -rf "$logs" "$base/$name.record"
    mkdir -p "$logs" "$base/$name.record"
    RV_DEVBROKER_TOPICS="$topic_spec" RV_BUILD_DIR="$build_dir" \
        "$stack" start "$current" >"$logs/stack.log" 2>&1 8>&- || {
        rv_show_log "$logs/stack.log"
        rv_die "the $name stack did not start"
    }
    # Every group's coordinator on broker 1, so that broker 2, which the
    # schedule takes down, leads partitions only: librdkafka 2.0.2's mock
    # cluster aborts when members re-join a coordinator that went down
    # and came back (broker_check; it did in 3 of 12 runs). Coordinator
    # failover is thus not exercised here; rebalances are, all along.
    local w
    for w in $WORKERS; do
        "$stack" fault "$current" coordinator "revisit-$w" 1 \
            >>"$logs/stack.log" 2>&1 8>&- ||
            rv_die "cannot place the group coordinators (see $logs/stack.log)"
    done
    # shellcheck source=/dev/null
    . "$current/env"
    export RV_POLICY_PATH="$policy"
    t_run=$SECONDS
    if [ "$chaos" -eq 0 ]; then
        "$ctl" generate --count "$count" --seed "$seed" >"$logs/generate.log"
        start_all "$n"
    else
        start_all "$n"
        "$ctl" generate --count "$count" --seed "$seed" --rate "$rate" \
            >"$logs/generate.log" 2>&1 8>&- &
        gen_pid=$!
        RANDOM="$seed"
        while kill -0 "$gen_pid" 2>/dev/null || [ "$kills" -lt "$min_kills" ]; do
            sleep "$kill_every"
            broker_check
            supervise
            kill_one
            fault_step "$kills" >>"$logs/schedule" 2>&1 ||
                rv_die "a fault step failed: $(tail -n 3 "$logs/schedule")"
            # After the fault step: a broker taken down comes back one
            # period later, however long a hand-over takes.
            if [ $((kills % 3)) -eq 0 ]; then
                graceful_one
            fi
        done
        wait "$gen_pid" || gen_rc=$?
        gen_pid=""
        [ "$gen_rc" -eq 0 ] ||
            rv_die "the generator failed ($gen_rc): $(tail -n 3 "$logs/generate.log")"
    fi
    wait_drained
    rv_info "$name run drained after $((SECONDS - t_run)) s"
    dump_record "$base/$name.record"
    stop_all || rv_die "a replica did not stop cleanly"
    if [ "$keep" -eq 0 ]; then
        "$stack" stop "$current" --wipe >/dev/null 2>&1 || true
    fi
    current=""
}

rv_info "chaos run: sales=$count seed=$seed replicas=$replicas topics $topic_spec; in $base"
run clean 1 0
clean_s=$((SECONDS - t_start))
run chaos "$replicas" 1
chaos_s=$((SECONDS - t_start - clean_s))

# ---- compare -----------------------------------------------------------

failed=0
C="$base/clean.record"
X="$base/chaos.record"
sort -u "$C/contended" "$X/contended" >"$base/contended"
# Prints one table's counts; rows ($3 = task) of a contended task are
# left out on both sides.
compare() { # table
    local line
    line=$(awk -F'\t' -v t="$1" '
        FILENAME == ARGV[1] { skip[$1] = 1; next }
        $3 != "" && ($3 in skip) { next }
        FILENAME == ARGV[2] { want[$1] = $2; nc++; next }
        { seen[$1]++; got[$1] = $2; nx++ }
        END {
            for (k in want) {
                if (!(k in seen)) lost++
                else if (seen[k] > 1) dup++
                else if (got[k] != want[k]) diff++
            }
            for (k in seen) if (!(k in want)) extra++
            printf "%s: clean=%d chaos=%d lost=%d duplicated=%d differing=%d extra=%d\n",
                t, nc, nx, lost, dup, diff, extra
        }' "$base/contended" "$C/$1" "$X/$1")
    echo "$line"
    [[ "$line" =~ lost=0\ duplicated=0\ differing=0\ extra=0$ ]] || failed=1
}
echo "# chaos.sh: N=$count seed=$seed replicas=$replicas rate=${rate}/s on $(nproc) cores"
for t in tasks bookings grades alerts; do
    compare "$t"
done
spot_c=$(tr '\t' '|' <"$C/spot")
spot_x=$(tr '\t' '|' <"$X/spot")
echo "not compared (C5: tasks that found no capacity for an attempt): clean=$(wc -l <"$C/contended") chaos=$(wc -l <"$X/contended") either=$(wc -l <"$base/contended")"
echo "not compared (A2 escalations and A5 call-rate findings: they count from the calls' booked times; escalation|call_rate): clean=$(tr '\t' '|' <"$C/by_time") chaos=$(tr '\t' '|' <"$X/by_time")"
echo "not compared (R10 spot checks follow the booked agents; tasks|bookings|grades|alerts): clean=$spot_c chaos=$spot_x"
over=$(cat "$X/over_capacity")
counted=$(cat "$X/capacity_counted")
booked=$(cat "$X/booked")
dropped=$(awk '{ d = $5; sub(/dropped=/, "", d); s += d } END { print s + 0 }' \
    "$X/retention.txt")
topics_read=$(grep -c '^bench-retention:' "$X/retention.txt" || true)
echo "over_capacity=$over capacity_counted=$counted booked=$booked (clean: $(cat "$C/capacity_counted") and $(cat "$C/booked"))"
echo "sales: clean=$(cat "$C/sales") chaos=$(cat "$X/sales") dead_letters: clean=$(cat "$C/dead_letters") chaos=$(cat "$X/dead_letters")"
echo "broker: topics=$topics_read dropped=$dropped (every low watermark must be 0)"
echo "faults: kills=$kills graceful_leaves=$graceful (unclean: $graceful_failed) redis_restarts=$restarts_redis postgres_restarts=$restarts_pg broker_faults=$broker_faults self_exits=$self_exits"
echo "time: clean=${clean_s}s chaos=${chaos_s}s"
[ "$over" = 0 ] && [ "$counted" = "$booked" ] || failed=1
[ "$dropped" = 0 ] && [ "$topics_read" -eq 20 ] || failed=1
[ "$(cat "$C/sales")" = "$count" ] && [ "$(cat "$X/sales")" = "$count" ] ||
    failed=1
[ "$(cat "$X/dead_letters")" = "$(cat "$C/dead_letters")" ] || failed=1
[ "$kills" -ge "$min_kills" ] || failed=1
[ "$graceful_failed" -eq 0 ] || failed=1
if [ "$failed" -ne 0 ]; then
    echo "chaos: FAILED (records and logs in $base)"
    keep=1
    exit 1
fi
echo "chaos: OK"
