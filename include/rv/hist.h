/* include/rv/hist.h: a fixed-size histogram of durations, for the
 * workers' shutdown line and the benchmark (issue 8): which batches and
 * ticks make a latency tail. */
#ifndef RV_HIST_H
#define RV_HIST_H

#include <stdint.h>

/** Buckets: 4 exact (0..3 µs), then 4 a power of two up to 2^64. */
#define RV_HIST_BUCKETS 252

/**
 * Log-linear counts of durations in µs: each power of two is split in 4
 * equal buckets, so a value read back is at most 25% above the true one
 * (and never above the largest value added). 2 KiB, no allocation; zero
 * it to start ({0}). Not thread-safe: one owner.
 */
typedef struct rv_hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us;
    uint64_t n[RV_HIST_BUCKETS];
} rv_hist;

/** Count one duration of @p us µs. */
void rv_hist_add(rv_hist *h, uint64_t us);

/**
 * The @p q quantile (0 <= q <= 1) of what @p h counted, in µs: the upper
 * bound of the bucket that holds it, at most max_us; 0 when empty. q = 1
 * is max_us exactly.
 */
uint64_t rv_hist_quantile(const rv_hist *h, double q);

#endif /* RV_HIST_H */
