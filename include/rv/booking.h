/* include/rv/booking.h: the assigner's Redis state, named in one place:
 * booking keys, capacity counter keys and booking labels. The assigner
 * writes them (one Lua script per booking) and `revisitctl rebuild-state`
 * restores them from the record (DESIGN §4: Redis is rebuildable). Every
 * key carries the agent pool as its Redis Cluster hash tag, so one
 * booking touches one slot. */
#ifndef RV_BOOKING_H
#define RV_BOOKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/err.h"

/** Bytes of an agent ID in a label, with its NUL. */
#define RV_BOOKING_AGENT_SIZE 64
/** Bytes of any key or label written here, with its NUL. */
#define RV_BOOKING_KEY_SIZE 256
/** The value of a booking that found no slot with room. */
#define RV_BOOKING_NONE "none"
/** Reason recorded for a task whose slots were all full (C5). */
#define RV_BOOKING_FULL_REASON                                                 \
    "no agent capacity in any call window inside the due window"

/** A booked slot. */
typedef struct rv_booked {
    char agent_id[RV_BOOKING_AGENT_SIZE];
    int64_t day;      /**< local day number of the customer's branch */
    int window;       /**< index of the policy's call window */
    int64_t start_us; /**< window start, UTC µs */
    int64_t end_us;   /**< window end, UTC µs */
} rv_booked;

/** "rv:{pool}:booking:<task_id>:<attempt>" into @p out (@p out_size). */
void rv_booking_key(char *out, size_t out_size, const char *pool,
                    const char *task_id, unsigned attempt);

/** The hash of one day's capacity counters in a pool:
 *  "rv:{pool}:cap:<day>" (@p day a local day number). Its fields are
 *  every agent's day counter (rv_booking_day_field) and window counters
 *  (rv_booking_window_field): one key a day, so a booking reads a few
 *  hashes rather than two keys per candidate slot (issue 8). */
void rv_booking_counters_key(char *out, size_t out_size, const char *pool,
                             int64_t day);

/** Prefix of a day counter's field; the booking script writes it too. */
#define RV_BOOKING_DAY_FIELD_PREFIX "d:"

/** The (agent, day) counter's field: "d:<agent>". */
void rv_booking_day_field(char *out, size_t out_size, const char *agent_id);

/** The (agent, day, window) counter's field: "w<n>:<agent>". */
void rv_booking_window_field(char *out, size_t out_size, const char *agent_id,
                             int window);

/** The label stored under a booking key:
 *  "agent|day|window|start_us|end_us". */
void rv_booking_label(char *out, size_t out_size, const rv_booked *b);

/**
 * Parse a booking value. RV_BOOKING_NONE gives *booked = false.
 * @returns RV_OK, RV_ERR_INVALID (not a label of this format)
 */
RV_MUSTCHECK rv_err rv_booking_parse(const char *value, rv_booked *out,
                                     bool *booked);

#endif /* RV_BOOKING_H */
