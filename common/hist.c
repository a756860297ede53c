/* common/hist.c: log-linear duration histogram (rv/hist.h). */
#include "rv/hist.h"

/* Index of the highest set bit of @p v (> 0). */
static unsigned top_bit(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

static unsigned bucket_of(uint64_t v)
{
    if (v < 4) {
        return (unsigned)v;
    }
    unsigned e = top_bit(v); /* >= 2 */
    unsigned sub = (unsigned)((v >> (e - 2)) & 3u);
    return 4u * (e - 1u) + sub;
}

/* The largest value bucket @p i holds. */
static uint64_t bucket_top(unsigned i)
{
    if (i < 4) {
        return i;
    }
    unsigned e = i / 4 + 1;
    uint64_t step = UINT64_C(1) << (e - 2);
    uint64_t low = (uint64_t)(4 + i % 4) * step;
    return low + (step - 1);
}

void rv_hist_add(rv_hist *h, uint64_t us)
{
    h->n[bucket_of(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us) {
        h->max_us = us;
    }
}

uint64_t rv_hist_quantile(const rv_hist *h, double q)
{
    if (h->count == 0) {
        return 0;
    }
    if (!(q < 1.0)) {
        return h->max_us;
    }
    if (!(q > 0.0)) {
        q = 0.0;
    }
    /* The rank of the quantile, 1-based: the smallest value with at
     * least q of the counts at or below it. */
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count || rank == 0) {
        rank++;
    }
    uint64_t seen = 0;
    for (unsigned i = 0; i < RV_HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= rank) {
            uint64_t top = bucket_top(i);
            return top < h->max_us ? top : h->max_us;
        }
    }
    return h->max_us;
}
