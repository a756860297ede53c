/* include/rv/watermark.h: an event-time watermark kept in Redis, shared by
 * every replica of a worker: per partition the highest event time seen,
 * and the watermark is the lowest of them, once every partition of the
 * topic has been heard from (rv_watermark_get). One hash per use, e.g.
 * "rv:alerter:watermark". An idle partition holds the watermark back
 * until it gets an event (no idle timeout yet). */
#ifndef RV_WATERMARK_H
#define RV_WATERMARK_H

#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/redis.h"

/**
 * Raise partition @p partition's entry of hash @p key to @p event_us (µs
 * UTC) if higher; one atomic script; the hash expires a year after its
 * last move.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (retry), RV_ERR_NOMEM, RV_ERR_FATAL
 *          (a script error: a bug)
 */
RV_MUSTCHECK rv_err rv_watermark_advance(rv_redis *rc, const char *key,
                                         int32_t partition, int64_t event_us);

/**
 * The watermark of hash @p key: the lowest partition entry, µs UTC; 0
 * until entries of at least @p partitions partitions exist (a partition
 * not heard from yet holds the watermark back, so an early burst on one
 * partition never closes a period the others still fill).
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err rv_watermark_get(rv_redis *rc, const char *key,
                                     int partitions, int64_t *out_us);

#endif /* RV_WATERMARK_H */
