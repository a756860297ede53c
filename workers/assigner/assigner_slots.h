/* workers/assigner/assigner_slots.h: the call-window slots a task may be
 * booked into, in preference order. Pure: no I/O, no clock. */
#ifndef RV_ASSIGNER_SLOTS_H
#define RV_ASSIGNER_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/calendar.h"
#include "rv/model.h"
#include "rv/policy.h"

/** Most candidate slots tried for one booking. */
#define ASSIGNER_SLOTS_MAX 160

/** One (agent, local day, call window) a task could be booked into. */
typedef struct assigner_slot {
    const rv_agent *agent;   /**< borrowed from the policy */
    int64_t day;             /**< local day number */
    int window;              /**< index into policy windows */
    int64_t start_us;        /**< window start, UTC µs */
    int64_t end_us;          /**< window end, UTC µs */
    int64_t day_capacity;    /**< the agent's bookings per day (C5) */
    int64_t window_capacity; /**< the day's capacity spread evenly */
} assigner_slot;

/**
 * List up to @p cap slots for @p task: working days of the customer's
 * branch (calendar, its time zone), call windows of the policy not
 * skipped on that weekday (C1: no Monday morning, seed 001 §六), whole
 * windows inside [max(due_start, not_before), due_end), each with every
 * eligible agent: the agents of the pool serving the task's rule (the
 * rule's pool, else the customer's branch) with capacity, who take the
 * task's channel and work on that weekday (roster); for an
 * independent rule (R3, seed 000) never the salesperson who developed
 * the customer nor an agent of the customer's branch. Earlier windows
 * first. Capacity per slot is the agent's day (C5), less the policy's
 * reserve for priority work when the task is not a priority one (R8),
 * spread evenly over the day's windows. Inside one window the agents are
 * rotated by a hash of the task
 * ID, so the order is the same on every replica and replay.
 * @param pool  set to the serving pool (borrowed from the policy or task)
 * @param why   on 0 slots, a reason for the record ("no call window...")
 * @returns the number of slots written to @p out
 */
size_t assigner_slots(const rv_policy *p, const rv_calendar *cal,
                      const rv_task *task, assigner_slot *out, size_t cap,
                      const char **pool, char *why, size_t why_size);

/**
 * Whether @p task may be booked at all under @p p: its attempt is at most
 * the policy's grading.max_phone_attempts (C2, seed 001 §六.8: a second
 * call after an unanswered first one, never a third with the default 2).
 * A task past it is a producer's bug, not a visit to make: the caller
 * dead-letters it with @p why. A task produced under a policy that
 * allowed more attempts, read after the policy lowered them, is refused
 * too (the policy in force decides).
 * @param why  on false, the reason (for the dead letter)
 * @returns true when the task may be booked
 */
bool assigner_task_ok(const rv_policy *p, const rv_task *task, char *why,
                      size_t why_size);

#endif /* RV_ASSIGNER_SLOTS_H */
