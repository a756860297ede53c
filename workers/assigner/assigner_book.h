/* workers/assigner/assigner_book.h: atomic, idempotent and fair booking
 * of one task attempt against per-agent capacity counters in Redis. */
#ifndef RV_ASSIGNER_BOOK_H
#define RV_ASSIGNER_BOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "assigner_slots.h"
#include "rv/booking.h"
#include "rv/err.h"
#include "rv/redis.h"

/**
 * The booking script (one call = one atomic step, whatever the number of
 * replicas). KEYS[1] the attempt's booking; then per slot its (agent, day)
 * and (agent, day, window) counters. ARGV[1] the slot count, then per
 * slot: day capacity, window capacity, label, day number.
 * - A booking that exists is returned as it is: a re-delivered task books
 *   nothing twice and moves no counter.
 * - Otherwise, among the slots with room in both counters (C5, seed 001
 *   §四), it takes the least-loaded day of the due window (sum of the
 *   day's counters over the candidate agents), then the least-loaded
 *   agent that day, then the emptier window, then the earliest slot; it
 *   increments both counters, stores the label and returns it. So a
 *   week's work spreads over the week instead of filling Monday.
 * - No slot with room: stores and returns RV_BOOKING_NONE.
 * Key and label formats: rv/booking.h.
 */
extern rv_script assigner_book_script;

/** Arguments of one booking call; strings owned (assigner_call_fini). */
typedef struct assigner_call {
    size_t key_count;
    size_t arg_count;
    char *strings;         /* every key and arg, NUL-separated */
    const char **key_ptrs; /* into strings */
    const char **arg_ptrs; /* into strings */
} assigner_call;

/**
 * Build the call for booking attempt @p attempt of @p task_id in the
 * agent pool @p pool (the Redis Cluster hash tag of every key) over
 * @p slot_count slots (borrowed), and point @p rc_call at it.
 * @param call  zero-initialised or finished; fill with assigner_call_fini
 * @returns RV_OK, RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err assigner_call_build(assigner_call *call, const char *pool,
                                        const char *task_id, unsigned attempt,
                                        const assigner_slot *slots,
                                        size_t slot_count,
                                        rv_redis_call *rc_call);

/** Free what assigner_call_build allocated; the call is zeroed. */
void assigner_call_fini(assigner_call *call);

#endif /* RV_ASSIGNER_BOOK_H */
