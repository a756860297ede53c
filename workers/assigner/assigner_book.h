/* workers/assigner/assigner_book.h: atomic, idempotent booking of one
 * task attempt against per-agent capacity counters in Redis (C5). */
#ifndef RV_ASSIGNER_BOOK_H
#define RV_ASSIGNER_BOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "assigner_slots.h"
#include "rv/err.h"
#include "rv/redis.h"

#define ASSIGNER_KEY_SIZE 160
#define ASSIGNER_LABEL_SIZE 160

/**
 * The booking script. KEYS[1] the attempt's booking; then for each slot
 * its (agent, day) and (agent, day, window) counters. ARGV[1] the slot
 * count, then per slot: day capacity, window capacity, label. Books the
 * first slot with room in both counters (INCR both, store the label) and
 * returns the label, or "none". A booking that exists is returned as it
 * is, so a re-delivered task books nothing twice. One script = atomic,
 * whatever the number of replicas.
 */
extern rv_script assigner_book_script;

/** Arguments of one booking call, owned by the caller. */
typedef struct assigner_call {
    size_t slot_count;
    char keys[1 + 2 * ASSIGNER_SLOTS_MAX][ASSIGNER_KEY_SIZE];
    char args[1 + 3 * ASSIGNER_SLOTS_MAX][ASSIGNER_LABEL_SIZE];
    const char *key_ptrs[1 + 2 * ASSIGNER_SLOTS_MAX];
    const char *arg_ptrs[1 + 3 * ASSIGNER_SLOTS_MAX];
} assigner_call;

/** Fill @p call for booking attempt @p attempt of @p task_id in
 *  @p branch_id with @p slots, and point @p rc_call at it. */
void assigner_call_build(assigner_call *call, const char *branch_id,
                         const char *task_id, unsigned attempt,
                         const assigner_slot *slots, size_t slot_count,
                         rv_redis_call *rc_call);

/** A booked slot as the script returns it. */
typedef struct assigner_booked {
    char agent_id[64];
    int64_t day;
    int window;
    int64_t start_us;
    int64_t end_us;
} assigner_booked;

/**
 * Parse a script reply. "none" gives *booked = false.
 * @returns RV_OK, RV_ERR_INVALID (not a label this script writes)
 */
RV_MUSTCHECK rv_err assigner_parse_label(const char *reply,
                                         assigner_booked *out, bool *booked);

#endif /* RV_ASSIGNER_BOOK_H */
