/* include/rv/kafka.h: consumer, producer and dead-letter publishing.
 * The kafka module (common/kafka.c, and common/kafka_lag.c for group lag)
 * is the only code that includes librdkafka. */
#ifndef RV_KAFKA_H
#define RV_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "rv/cfg.h"
#include "rv/err.h"

typedef struct rv_consumer rv_consumer;
typedef struct rv_producer rv_producer;

/** A consumed message: a borrowed view, valid until the consumer's next
 *  rv_consumer_poll_batch, rv_consumer_commit_batch or close. */
typedef struct rv_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    /** Broker/producer timestamp, ms (-1: none): audit, and the
     *  sampler's bound on event times ahead of it (sampler.max.ahead.ms) */
    int64_t timestamp_ms;
    const uint8_t *key; /**< may be NULL */
    size_t key_len;
    const uint8_t *payload; /**< may be NULL (tombstone) */
    size_t len;
    /** kafka.c's own message behind this view, read by rv_msg_header();
     *  NULL in a message built elsewhere (tests), which has no headers. */
    const void *handle;
} rv_msg;

/** A message header; both strings borrowed for the call. */
typedef struct rv_header {
    const char *name;
    const char *value;
} rv_header;

/** Header names on a dead-lettered message (DESIGN §3). */
#define RV_DLQ_HDR_REASON "rv.reason"
#define RV_DLQ_HDR_TOPIC "rv.source.topic"
#define RV_DLQ_HDR_PARTITION "rv.source.partition"
#define RV_DLQ_HDR_OFFSET "rv.source.offset"
/** Which worker dead-lettered it: every consumer that cannot handle a
 *  message reports it once, so a topic read by two workers (say the
 *  sampler and the recorder) may carry two dead letters of one source
 *  message; the record keeps one (keyed by source topic, partition,
 *  offset). */
#define RV_DLQ_HDR_BY "rv.dead_lettered_by"
/** Suffix of a dead-letter topic: "<topic>.dlq". */
#define RV_DLQ_SUFFIX ".dlq"

/**
 * Copy the value of header @p name (NUL-terminated) of @p m into @p buf
 * (@p buf_size >= 1 bytes), truncated and always NUL-terminated. If the
 * header appears several times the last one wins. A value is bytes: one
 * with a NUL byte reads up to it.
 * @returns @p buf, or NULL if @p m has no such header (or no handle)
 * Threads: the thread that polled @p m; valid while @p m is.
 */
const char *rv_msg_header(const rv_msg *m, const char *name, char *buf,
                          size_t buf_size);

/**
 * Check @p kafka (borrowed) for --check-config without any broker: build
 * the producer's (client.id @p client_id) and the consumer's (group.id
 * and client.id @p group_id) librdkafka configuration exactly as
 * rv_producer_open() and rv_consumer_open() do (our defaults, then
 * @p kafka on top, each with rd_kafka_conf_set), then create each client
 * with bootstrap.servers emptied, so that librdkafka also checks the
 * properties together (e.g. acks against enable.idempotence, the ssl.*
 * files), and free it; nothing connects. Each problem goes to @p report
 * once: key "kafka.<name>" for a property or value librdkafka refuses
 * (all of them, not only the first), "kafka" for a client librdkafka
 * refuses to create ("producer: ..." or "consumer: ..."), "group.id" for
 * an empty group.
 * @param client_id  NUL-terminated, borrowed; NULL = librdkafka's default
 * @param group_id   NUL-terminated, borrowed
 * @param report     called once a problem, with @p report_arg
 * @returns RV_OK (no problem), RV_ERR_INVALID (one or more reported),
 *          RV_ERR_NOMEM
 * Threads: any; librdkafka starts and joins its threads inside.
 */
RV_MUSTCHECK rv_err rv_kafka_check_config(const rv_props *kafka,
                                          const char *client_id,
                                          const char *group_id,
                                          rv_cfg_report_fn report,
                                          void *report_arg);

/**
 * Open an idempotent producer (enable.idempotence=true, acks=all), with
 * @p kafka properties (borrowed; at least bootstrap.servers) applied on
 * top. librdkafka logs go through rv_log. Waits up to 1,000 ms for the
 * cluster's topic metadata, so that the first message to a topic is sent
 * at once (not after librdkafka's 1 s topic scan); a cluster that does
 * not answer in time is logged (producer_metadata_deferred), not an
 * error.
 * @param client_id  e.g. "sampler"; borrowed
 * @param out        on RV_OK the producer, closed with rv_producer_close()
 * @returns RV_OK, RV_ERR_INVALID (a bad property; errstr names it),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_producer_open(const rv_props *kafka,
                                     const char *client_id, rv_producer **out,
                                     char *errstr, size_t errstr_size);

/**
 * Queue one message. @p key (NUL-terminated) and the @p len bytes at
 * @p payload and the headers are copied. Delivery is confirmed only by
 * rv_producer_flush(). A full local queue is polled for up to ~1 s
 * before giving up. @p key may be NULL (no key).
 * @returns RV_OK, RV_ERR_FULL (local queue full: flush and retry),
 *          RV_ERR_INVALID (unknown topic, too large, any other refusal),
 *          RV_ERR_FATAL
 * Threads: the thread that flushes; delivery reports are served there.
 */
RV_MUSTCHECK rv_err rv_producer_send(rv_producer *kp, const char *topic,
                                     const char *key, const uint8_t *payload,
                                     size_t len, const rv_header *headers,
                                     size_t header_count);

/**
 * Send a copy of @p src (borrowed) to "<src->topic>.dlq" with its key and
 * the headers rv.reason=@p reason, rv.dead_lettered_by=client_id,
 * rv.source.topic/partition/offset
 * (decimal text). @p reason (NUL-terminated, borrowed; NULL is "") names
 * what is wrong, never the payload's contents.
 * @returns as rv_producer_send, and RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_producer_send_dlq(rv_producer *kp, const rv_msg *src,
                                         const char *reason);

/**
 * Wait until every queued message is delivered or failed, at most
 * @p timeout_ms. Resets the failure count.
 * @returns RV_OK (all delivered since the last flush),
 *          RV_ERR_UNAVAILABLE (at least one delivery failed: resend),
 *          RV_ERR_TIMEOUT, RV_ERR_FATAL (fatal producer error)
 */
RV_MUSTCHECK rv_err rv_producer_flush(rv_producer *kp, int timeout_ms);

/** Flush at most @p timeout_ms, then free. NULL is a no-op. */
void rv_producer_close(rv_producer *kp, int timeout_ms);

/** Bytes of a topic prefix with its NUL. */
#define RV_TOPIC_PREFIX_SIZE 64

/**
 * Put @p prefix (copied; NULL or "" = none) before the name of every
 * topic @p kp produces to from now on, dead-letter topics included: a
 * replay (issue 7) runs the workers' own code into "replay.<id>.<topic>"
 * without touching the live topics.
 * @returns RV_OK, RV_ERR_INVALID (prefix of RV_TOPIC_PREFIX_SIZE bytes
 *          or more)
 */
RV_MUSTCHECK rv_err rv_producer_set_topic_prefix(rv_producer *kp,
                                                 const char *prefix);

/**
 * Open a consumer in group @p group_id subscribed to @p topic_count
 * topics (borrowed). Settings: enable.auto.commit=false,
 * enable.auto.offset.store=false, auto.offset.reset=earliest,
 * partition.assignment.strategy=roundrobin (every member of a group must
 * agree; cooperative-sticky aborts on an early close in librdkafka <
 * 2.3.0), queued.max.messages.kbytes=4096, fetch.wait.max.ms=100,
 * session.timeout.ms=10000,
 * client.id=@p group_id, then
 * @p kafka (borrowed) on top. The rebalance callback logs assignments
 * and revocations (partitions_assigned, partitions_revoked).
 * @returns RV_OK, RV_ERR_INVALID (bad property or topic; errstr),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_consumer_open(const rv_props *kafka,
                                     const char *group_id,
                                     const char *const *topics,
                                     size_t topic_count, rv_consumer **out,
                                     char *errstr, size_t errstr_size);

/** Where a consumer starts reading an assigned partition: the next offset
 *  to read, or -1 for the group's committed offset. Called on the
 *  consumer's thread, inside rv_consumer_poll_batch, between batches. */
typedef int64_t (*rv_position_fn)(void *ctx, const char *topic,
                                  int32_t partition);

/**
 * Let @p fn (with @p ctx, borrowed) choose the start of every partition
 * assigned from now on (issue 6, exactly-once sink: the recorder keeps
 * each partition's next offset in the same PostgreSQL transaction as its
 * rows, and the Kafka commit is only a hint). NULL = committed offsets.
 */
void rv_consumer_set_position_fn(rv_consumer *kc, rv_position_fn fn, void *ctx);

/**
 * Poll up to @p max_msgs messages, waiting at most @p timeout_ms for the
 * first and returning as soon as no more are ready. The previous batch
 * must have been committed or released (a batch still held is released
 * uncommitted first). Errors of the partition-EOF kind are skipped, other
 * consumer errors logged (consumer_error, rate-limited). On RV_OK *msgs
 * (borrowed, valid until the next call on @p kc) and *count are set;
 * *count may be 0. @p max_msgs 0 counts as 1.
 * @returns RV_OK, RV_ERR_FATAL (fatal consumer error), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_consumer_poll_batch(rv_consumer *kc, size_t max_msgs,
                                           int timeout_ms, const rv_msg **msgs,
                                           size_t *count);

/**
 * Commit, synchronously, the offset after the last message of each
 * partition in the current batch, then release the batch. Partitions
 * revoked meanwhile are skipped (their new owner re-processes them, and
 * every effect is idempotent). An empty batch commits nothing.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (commit failed, log commit_failed;
 *          the batch is kept, retry), RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err rv_consumer_commit_batch(rv_consumer *kc);

/** Release the current batch without committing it. */
void rv_consumer_release_batch(rv_consumer *kc);

/** Leave the group (rd_kafka_consumer_close) and free. A consumer that
 *  never got its first assignment first serves the group for up to 15 s
 *  (librdkafka 2.0.2 aborts on a close between JoinGroup and SyncGroup).
 *  NULL is a no-op. */
void rv_consumer_close(rv_consumer *kc);

#endif /* RV_KAFKA_H */
