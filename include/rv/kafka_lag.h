/* include/rv/kafka_lag.h: consumer-group lag, for operators and for the
 * demo's "is the pipeline drained" check. Part of the kafka module
 * (common/kafka_lag.c). */
#ifndef RV_KAFKA_LAG_H
#define RV_KAFKA_LAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/cfg.h"
#include "rv/err.h"
#include "rv/kafka.h"

/**
 * Sum over every partition of @p topic_count topics (borrowed) of
 * (high watermark - committed offset of @p group_id), a partition with no
 * committed offset counting from its low watermark. Does not join the
 * group. @p timeout_ms bounds each broker request.
 * @param lag       on RV_OK the total lag in messages
 * @param messages  on RV_OK the total of high watermarks (may be NULL)
 * @returns RV_OK, RV_ERR_UNAVAILABLE (broker did not answer; errstr),
 *          RV_ERR_INVALID (bad property), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_kafka_group_lag(const rv_props *kafka,
                                       const char *group_id,
                                       const char *const *topics,
                                       size_t topic_count, int timeout_ms,
                                       int64_t *lag, int64_t *messages,
                                       char *errstr, size_t errstr_size);

/**
 * Number of partitions of @p topic (metadata request, bounded by
 * @p timeout_ms), e.g. for an event-time watermark that must hear from
 * every partition.
 * @returns RV_OK (*count >= 1), RV_ERR_UNAVAILABLE (broker did not answer
 *          or no such topic; errstr), RV_ERR_INVALID (bad property),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_kafka_partition_count(const rv_props *kafka,
                                             const char *topic, int timeout_ms,
                                             int *count, char *errstr,
                                             size_t errstr_size);

/* ---- time ranges and replays (issue 7) ------------------------------ */

/**
 * The first offset of every partition of @p topic whose Kafka timestamp
 * is at or after @p ts_ms (ms since the epoch), into @p offsets[partition]
 * (at most @p cap partitions): the broker's answer to ListOffsets by
 * time; -1 where it has none (the development broker answers -1 for
 * every partition: callers fall back to what the recorder recorded,
 * recorded_start_offsets in deploy/sql/012).
 * @p ts_ms = -1 asks for the end of each partition (its high watermark),
 * -2 for its log start (the oldest offset it still holds), which every
 * broker answers.
 * @returns RV_OK (*count = partitions), RV_ERR_UNAVAILABLE (errstr),
 *          RV_ERR_FULL (more than @p cap partitions), RV_ERR_INVALID,
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_kafka_offsets_for_time(const rv_props *kafka,
                                              const char *topic, int64_t ts_ms,
                                              int timeout_ms, int64_t *offsets,
                                              int cap, int *count, char *errstr,
                                              size_t errstr_size);

/**
 * Commit @p offsets[p] (next offset to read) for partitions 0..@p count-1
 * of @p topic as consumer group @p group_id's position, without joining
 * the group: a replay starts a group of its own there.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (errstr), RV_ERR_INVALID, RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_kafka_group_commit(const rv_props *kafka,
                                          const char *group_id,
                                          const char *topic,
                                          const int64_t *offsets, int count,
                                          char *errstr, size_t errstr_size);

/** A read of a topic from given offsets up to its end at open. */
typedef struct rv_kafka_range rv_kafka_range;

/**
 * Open a read of every partition of @p topic from @p start[p] (-1 for a
 * partition: its low watermark; NULL: offset 0 of every partition, the
 * whole log) up to the high watermarks as they are now. It assigns
 * partitions and never commits: no consumer group's offsets move (a
 * replay never disturbs the live groups). Messages asked for that the
 * broker no longer holds (deleted by retention; librdkafka's mock
 * cluster keeps 5 MiB a partition) are skipped and counted: see
 * rv_kafka_range_lost().
 * @param count  partitions in @p start (ignored when NULL)
 * @param out    on RV_OK, closed with rv_kafka_range_close()
 * @returns RV_OK, RV_ERR_UNAVAILABLE (errstr), RV_ERR_INVALID (partition
 *          count differs from @p count), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err rv_kafka_range_open(const rv_props *kafka,
                                        const char *topic, const int64_t *start,
                                        int count, int timeout_ms,
                                        rv_kafka_range **out, char *errstr,
                                        size_t errstr_size);

/**
 * The next message of the range into @p out (borrowed until the next
 * call or close; headers not available), or *done when every partition
 * reached its end.
 * @returns RV_OK (*done tells which), RV_ERR_TIMEOUT (nothing within
 *          @p timeout_ms; call again), RV_ERR_UNAVAILABLE
 */
RV_MUSTCHECK rv_err rv_kafka_range_next(rv_kafka_range *r, int timeout_ms,
                                        rv_msg *out, bool *done);

/**
 * Make @p r follow its topic: it no longer ends, and rv_kafka_range_next
 * hands out what the topic gets (RV_ERR_TIMEOUT when nothing new came)
 * until rv_kafka_range_end_now. For a topic still being written that must
 * be read before a broker deletes its oldest messages.
 */
void rv_kafka_range_follow(rv_kafka_range *r);

/**
 * End every partition of @p r at its high watermark now (the writers have
 * stopped): the read is done once it got there.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (errstr)
 */
RV_MUSTCHECK rv_err rv_kafka_range_end_now(rv_kafka_range *r, int timeout_ms,
                                           char *errstr, size_t errstr_size);

/**
 * Messages of the range that the broker had deleted when the read came
 * to them: before the log start at open, or skipped while reading (a
 * gap in the offsets; revisit's topics are written without transactions
 * and never compacted, so offsets have no other gaps). A reader that
 * must see every message checks it is 0 once the range is read. 0 for
 * NULL.
 */
int64_t rv_kafka_range_lost(const rv_kafka_range *r);

/** Close a range. NULL is a no-op. */
void rv_kafka_range_close(rv_kafka_range *r);

#endif /* RV_KAFKA_LAG_H */
