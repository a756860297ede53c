#!/usr/bin/env bash
# deploy/kafka/create-topics.sh: create every revisit topic and its
# dead-letter twin <topic>.dlq on a real Apache Kafka cluster with
# kafka-topics.sh. Idempotent: existing topics are kept, and a topic
# whose partition count differs from the list is reported (exit 1), never
# altered: more partitions would move customers to other partitions and
# break their ordering (DESIGN §3).
#
# Environment (all optional):
#   BOOTSTRAP       bootstrap servers           (default localhost:19092)
#   REPLICATION     replication factor          (default 3)
#   MIN_ISR         min.insync.replicas         (default 2, 1 if REPLICATION=1)
#   TOPICS          name:partitions,...         (default: the system's list)
#   KAFKA_BIN       directory of kafka-topics.sh (default: from PATH, else
#                   /opt/kafka/bin)
#   COMMAND_CONFIG  client properties file for TLS/SASL (--command-config)
#
# Retention is unlimited (retention.ms=-1, retention.bytes=-1,
# cleanup.policy=delete, never compact) on every topic, twins included
# (issue 7): the history must outlive the audit period. `revisitctl
# replay verify`, `replay rebuild` and `replay export` re-read it from
# Kafka, not from PostgreSQL, and no audit period is fixed in advance (an
# inquiry can reach back years), so no time or size limit would be safe;
# compaction would keep one message per customer and lose the history.
# Size the disks for it; `revisitctl bench-retention` shows whether a
# topic still holds every message it was sent. `--create --if-not-exists`
# leaves an existing topic's settings alone, so the retention settings
# are also applied to every topic with kafka-configs.sh (a topic created
# by hand or by the broker's 7-day default gets them too).
set -euo pipefail

BOOTSTRAP="${BOOTSTRAP:-localhost:19092}"
REPLICATION="${REPLICATION:-3}"
if ! [[ "$REPLICATION" =~ ^[1-9][0-9]*$ ]]; then
    printf 'create-topics: error: REPLICATION=%s\n' "$REPLICATION" >&2
    exit 1
fi
if [ "$REPLICATION" -gt 1 ]; then
    MIN_ISR="${MIN_ISR:-2}"
else
    MIN_ISR="${MIN_ISR:-1}"
fi
# Keep in step with devbroker.topics (workers/devbroker/main.c).
TOPICS="${TOPICS:-sales.events:6,service.events:6,visits.tasks:6,visits.retries:6,visits.assignments:6,visits.outcomes:6,visits.grades:6,compliance.alerts:6,compliance.cases:6,visits.decisions:6}"

die() {
    printf 'create-topics: error: %s\n' "$*" >&2
    exit 1
}

if [ -n "${KAFKA_BIN:-}" ]; then
    kafka_topics="$KAFKA_BIN/kafka-topics.sh"
elif command -v kafka-topics.sh >/dev/null 2>&1; then
    kafka_topics="$(command -v kafka-topics.sh)"
else
    kafka_topics=/opt/kafka/bin/kafka-topics.sh
fi
[ -x "$kafka_topics" ] || die "kafka-topics.sh not found (set KAFKA_BIN)"
if ! [[ "$MIN_ISR" =~ ^[1-9][0-9]*$ ]] || [ "$MIN_ISR" -gt "$REPLICATION" ]; then
    die "MIN_ISR=$MIN_ISR must be 1..REPLICATION"
fi

kafka_configs="$(dirname "$kafka_topics")/kafka-configs.sh"
[ -x "$kafka_configs" ] || die "kafka-configs.sh not found beside $kafka_topics"
retention=retention.ms=-1,retention.bytes=-1,cleanup.policy=delete

common=(--bootstrap-server "$BOOTSTRAP")
if [ -n "${COMMAND_CONFIG:-}" ]; then
    common+=(--command-config "$COMMAND_CONFIG")
fi

# Parse the whole list before touching the cluster.
names=()
counts=()
IFS=',' read -r -a entries <<<"$TOPICS"
[ "${#entries[@]}" -gt 0 ] || die "TOPICS is empty"
for e in "${entries[@]}"; do
    e="${e// /}"
    [[ "$e" =~ ^([A-Za-z0-9._-]+):([1-9][0-9]{0,3})$ ]] ||
        die "TOPICS entry \"$e\": expected name:partitions"
    names+=("${BASH_REMATCH[1]}" "${BASH_REMATCH[1]}.dlq")
    counts+=("${BASH_REMATCH[2]}" "${BASH_REMATCH[2]}")
done

rc=0
for i in "${!names[@]}"; do
    t="${names[$i]}"
    n="${counts[$i]}"
    "$kafka_topics" "${common[@]}" --create --if-not-exists --topic "$t" \
        --partitions "$n" --replication-factor "$REPLICATION" \
        --config retention.ms=-1 --config retention.bytes=-1 \
        --config min.insync.replicas="$MIN_ISR" \
        --config cleanup.policy=delete >/dev/null
    "$kafka_configs" "${common[@]}" --alter --entity-type topics \
        --entity-name "$t" --add-config "$retention" >/dev/null
    have="$("$kafka_topics" "${common[@]}" --describe --topic "$t" |
        sed -n 's/.*PartitionCount:[[:space:]]*\([0-9]*\).*/\1/p' | head -n 1)"
    if [ "$have" != "$n" ]; then
        printf 'create-topics: %s has %s partitions, the list says %s\n' \
            "$t" "${have:-?}" "$n" >&2
        rc=1
    else
        printf 'create-topics: %s ok (%s partitions, replication %s)\n' \
            "$t" "$n" "$REPLICATION"
    fi
done
exit "$rc"
