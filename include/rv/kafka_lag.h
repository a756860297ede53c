/* include/rv/kafka_lag.h: consumer-group lag, for operators and for the
 * demo's "is the pipeline drained" check. Part of the kafka module
 * (common/kafka_lag.c). */
#ifndef RV_KAFKA_LAG_H
#define RV_KAFKA_LAG_H

#include <stddef.h>
#include <stdint.h>

#include "rv/cfg.h"
#include "rv/err.h"

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

#endif /* RV_KAFKA_LAG_H */
