/* include/rv/watermark.h: an event-time watermark kept in Redis, shared by
 * every replica of a worker: per partition the highest event time seen,
 * and the watermark is the lowest of them over the partitions that are
 * active. A partition with no message for the idle time (wall clock) does
 * not hold the watermark back while others move; partitions never heard
 * from hold it back for the idle time after the first message (with
 * hold_silent, a partition heard from never stops holding it). One hash
 * per use, e.g. "rv:alerter:watermark". */
#ifndef RV_WATERMARK_H
#define RV_WATERMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/redis.h"

/** Most partitions one batch may note; more are a configuration error. */
#define RV_WATERMARK_PARTITIONS_MAX 256

/** The highest event time per partition seen in one batch, to send to
 *  Redis once per batch rather than once per message. Zero-initialise. */
typedef struct rv_watermark_batch {
    size_t count;
    int32_t partition[RV_WATERMARK_PARTITIONS_MAX];
    int64_t max_us[RV_WATERMARK_PARTITIONS_MAX];
} rv_watermark_batch;

/** Note an event at @p event_us (µs UTC) on @p partition. @returns false
 *  (nothing noted) past RV_WATERMARK_PARTITIONS_MAX partitions. */
bool rv_watermark_note(rv_watermark_batch *b, int32_t partition,
                       int64_t event_us);

/**
 * Raise each noted partition's entry of hash @p key to its noted time if
 * higher and mark it active at @p now_us (wall clock, µs) (one atomic
 * script per partition, pipelined in one round trip), then clear @p b.
 * The hash expires a year after its last move.
 * @returns RV_OK, RV_ERR_UNAVAILABLE (retry; @p b kept), RV_ERR_NOMEM,
 *          RV_ERR_FATAL (a script error: a bug)
 */
RV_MUSTCHECK rv_err rv_watermark_advance(rv_redis *rc, const char *key,
                                         rv_watermark_batch *b, int64_t now_us);

/** How to read a watermark. */
typedef struct rv_watermark_opts {
    int partitions;  /**< of the topic; each must be heard from (or idle) */
    int64_t idle_us; /**< a partition silent this long is idle; 0 = never */
    int64_t now_us;  /**< wall clock, µs */
    /** true: a partition once heard from holds the watermark back however
     *  long it is silent; idle_us then only releases partitions never
     *  heard from. For a replay, whose input is finite and all in the
     *  broker: a partition read to its end before another must not let
     *  the watermark pass where the live workers had it. */
    bool hold_silent;
} rv_watermark_opts;

/**
 * The watermark of hash @p key, µs UTC: the lowest entry of the active
 * partitions (heard from within o->idle_us of o->now_us), or of all when
 * none is active. 0 while fewer than o->partitions partitions have been
 * heard from and the first was heard less than o->idle_us ago (never
 * with idle_us 0): an early burst on one partition never closes a period
 * the others still fill. 0 when no partition has been heard from.
 * @returns RV_OK, RV_ERR_UNAVAILABLE, RV_ERR_NOMEM, RV_ERR_FATAL
 */
RV_MUSTCHECK rv_err rv_watermark_get(rv_redis *rc, const char *key,
                                     const rv_watermark_opts *o,
                                     int64_t *out_us);

#endif /* RV_WATERMARK_H */
