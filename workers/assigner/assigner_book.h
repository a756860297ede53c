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
 * replicas). KEYS[1] the attempt's booking key, KEYS[1 + d] the counters
 * hash of the d-th day of the slots (rv_booking_counters_key). ARGV, in
 * this order (the candidate slots in a compact form, issue 8: a booking
 * sends its agents and days once, not two keys and four values a slot):
 * - A, D, G: the number of agents, days and groups;
 * - A agent IDs, then A day capacities (C5, less the R8 reserve);
 * - A x D window capacities, agent-major (0: the agent has no slot that
 *   day); then the D day numbers;
 * - G groups of 5, one per (day, window) in slot order: day index (1..D),
 *   window index, window start and end (UTC µs, as text), and the
 *   group's agents in slot order, one byte each (agent index 1..A).
 * - A booking that exists is returned as it is: a re-delivered task books
 *   nothing twice and moves no counter.
 * - Otherwise, among the slots with room in both counters (C5, seed 001
 *   §四), it takes the least-loaded day of the due window (sum of the
 *   day's counters over the candidate agents), then the least-loaded
 *   agent that day, then the emptier window, then the earliest slot; it
 *   increments both counters, stores the label and returns it. So a
 *   week's work spreads over the week instead of filling Monday.
 * - No slot with room: stores and returns RV_BOOKING_NONE.
 * Key, field and label formats: rv/booking.h.
 */
extern rv_script assigner_book_script;

/** Most distinct agents in one call (one byte an agent in a group). */
#define ASSIGNER_CALL_AGENTS_MAX 255

/** Arguments of one booking call. Owns its buffers, which a later
 *  assigner_call_build reuses (no allocation a call once they are big
 *  enough); freed by assigner_call_fini. */
typedef struct assigner_call {
    size_t key_count;
    size_t arg_count;
    char *strings; /* every key and arg, NUL-separated */
    size_t strings_cap;
    size_t *at;        /* offsets of the keys and args in strings */
    const char **ptrs; /* the keys, then the args: into strings */
    size_t ptrs_cap;   /* of at and of ptrs */
    /* Scratch, by slot: its agent (1..A) and day (1..D); by day: its
     * number; by agent and day: the window capacity. */
    unsigned char *slot_agent;
    size_t *slot_day;
    int64_t *day;
    size_t slots_cap; /* of slot_agent, slot_day and day */
    int64_t *wcap;
    size_t wcap_cap;
} assigner_call;

/**
 * Build the call for booking attempt @p attempt of @p task_id in the
 * agent pool @p pool (the Redis Cluster hash tag of every key) over
 * @p slot_count slots (borrowed; in the order of assigner_slots: a day's
 * slots together, a window's slots together), and point @p rc_call at
 * it (valid until the next build or fini of @p call).
 * @param call  zero-initialised, or used before: its buffers are reused
 * @returns RV_OK, RV_ERR_NOMEM, RV_ERR_INVALID (no slot; more than
 *          ASSIGNER_CALL_AGENTS_MAX agents; an agent with two day
 *          capacities, or two window capacities on one day)
 */
RV_MUSTCHECK rv_err assigner_call_build(assigner_call *call, const char *pool,
                                        const char *task_id, unsigned attempt,
                                        const assigner_slot *slots,
                                        size_t slot_count,
                                        rv_redis_call *rc_call);

/** Free what assigner_call_build allocated; the call is zeroed. */
void assigner_call_fini(assigner_call *call);

#endif /* RV_ASSIGNER_BOOK_H */
