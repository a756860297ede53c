/* workers/revisitctl/generate.h: synthetic sales shaped like the
 * Superstore sample, for the benchmark (deploy/local/bench.sh) and load
 * tests. I/O-free: sale i is a pure function of the parameters and i. */
#ifndef RV_GENERATE_H
#define RV_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/model.h"

/** Sales per day of event time by default: about 1,000,000 sales over
 *  the four years of the Superstore sample (2014-2017). */
#define GEN_PER_DAY_DEFAULT 700
/** Orders per customer on average (Superstore: 5,009 orders by 793
 *  customers, 6.3 each); the default pool is count / this. */
#define GEN_ORDERS_PER_CUSTOMER 6
/** Limits of the parameters. A day's sales are spread over 12 hours of
 *  event time, so the most per day, 432,000,000, is 10,000 sales a second
 *  of event time (one every 100 us): enough for event time to pass as
 *  fast as wall time at the benchmark's offered rates (bench.sh
 *  --latency). */
#define GEN_PER_DAY_MAX 432000000
#define GEN_CUSTOMERS_MAX 1000000000ULL

/** What a stream of synthetic sales looks like. A passive value. */
typedef struct gen_params {
    uint64_t seed;      /**< any value; the same seed, the same sales */
    int64_t start_day;  /**< day of the first sale, days since 1970-01-01 */
    uint32_t per_day;   /**< sales per day of event time, 1..GEN_PER_DAY_MAX */
    uint64_t customers; /**< size of the customer pool, 1..1e9 */
} gen_params;

/**
 * Check @p p.
 * @returns RV_OK, RV_ERR_INVALID (per_day or customers out of range, or
 *          start_day outside the event times the pipeline takes, from the
 *          day of RV_CODEC_MIN_TIME_US to the day before
 *          RV_CODEC_MAX_TIME_US: [1990-01-01, 2100-01-01) in rv/codec.h)
 * Threads: no shared state.
 */
RV_MUSTCHECK rv_err gen_params_check(const gen_params *p);

/**
 * Check that the first @p count sales of @p p (borrowed, checked by
 * gen_params_check) all occur before RV_CODEC_MAX_TIME_US, so that no
 * sale of the stream is dead-lettered for its time (the last day's sales
 * run to 01:00 the next day). Any count works, 0 too.
 * @returns RV_OK, RV_ERR_INVALID (the stream runs past)
 * Threads: no shared state.
 */
RV_MUSTCHECK rv_err gen_count_check(const gen_params *p, uint64_t count);

/** Bytes of the seen-customers set of @p p (one bit per customer), for
 *  gen_sale's @p seen. */
size_t gen_seen_bytes(const gen_params *p);

/**
 * The sale number @p index (0-based) of the stream @p p (borrowed,
 * checked by gen_params_check), into @p out:
 *  - order_id "S<seed>-O<index, 9 digits>", event_id
 *    rv_id_derive("synthetic", order_id); line_count 1.. (geometric,
 *    half the orders have one line, as in the sample);
 *  - occurred_at: day start_day + index / per_day, the sales of a day
 *    spread evenly over 13:00-01:00 UTC (daytime in the US zones), in
 *    index order; produced_at 0: the sender stamps it;
 *  - customer_id "S<seed>-C<k, 7 digits>" with k uniform over the pool
 *    (so a customer's orders are Poisson, mean count / customers); a
 *    customer's branch (Superstore Region, weighted as in the sample),
 *    segment (weighted as in the sample), home store (a city of its
 *    region, weighted as in the sample), class (R9: A 10%, B 20%, C 50%,
 *    D 20%, like the importer's) and synthetic phone ("555" + 7 digits,
 *    phone_synthetic; one number per customer, never shared while the
 *    pool is at most 10,000,000) depend on the seed and k only; 4 sales
 *    in 5 at the home store, the rest at a city of the region drawn by
 *    weight;
 *  - amount log-normal around a median of USD 152 (Superstore: median
 *    152, mean 459, p99 4,211), clamped to USD 0.50..25,000, in cents;
 *    currency "USD";
 *  - categories: each line's category drawn as the sample's lines
 *    (Office Supplies 60%, Furniture 21%, Technology 19%), distinct;
 *  - gift_cents (R4; the importer's stand-in is the order's discount): 59%
 *    of the orders have one, 10-80% of the amount, mostly 20%.
 * new_customer (R8) needs the sales before @p index: with @p seen NULL it
 * is false; else @p seen (gen_seen_bytes(p) bytes, owned by the caller,
 * zeroed before sale 0) records the customers seen so far, and a stream
 * produced in index order from 0 marks each customer's first sale.
 * Threads: no shared state (except @p seen).
 */
void gen_sale(const gen_params *p, uint64_t index, uint8_t *seen, rv_sale *out);

#endif /* RV_GENERATE_H */
