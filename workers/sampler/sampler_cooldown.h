/* workers/sampler/sampler_cooldown.h: C4 cooldown per customer and per
 * phone number, and the opt-out list: one idempotent Lua script in Redis
 * (seed 002 no. 13). */
#ifndef RV_SAMPLER_COOLDOWN_H
#define RV_SAMPLER_COOLDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/model.h"
#include "rv/redis.h"

/** Key sizes: "rv:{<customer>}:cooldown" and the like. */
#define SAMPLER_KEY_SIZE 96

/**
 * The script. KEYS[1] the customer's decision memo (hash), KEYS[2] the
 * customer's opt-out flag, KEYS[3] the customer's visits (zset task_id ->
 * event time), KEYS[4] the phone number's visits (optional; equal to
 * KEYS[3] when the task has no number). ARGV task_id, event time t (µs),
 * cooldown (µs), "bypass" or "" (a rule the cooldown never holds back,
 * R5), "register" or "check". Returns "accept", "cooldown" or "optout".
 *
 * C4 looks back only: a visit at t is held when an accepted, registered
 * visit of the customer or of the number (two customers may share one)
 * lies in (t - cooldown, t]; a cooldown of 0 holds nothing back; the
 * opt-out list wins over bypass. "register" (visits decided on arrival)
 * records an accepted visit; "check" (visits decided later on a watermark:
 * quota, churn) does not, so a later decision never changes an earlier
 * one's inputs. The sampler registers only the visits of sales (a C4
 * bypass visit, R5 from service.events, neither waits nor holds). A
 * customer's sales come in order on one partition, so
 * the verdicts do not depend on how partitions interleave (issue 3); only
 * two customers of one number on different partitions can race. The
 * verdict is stored under the task_id: a re-delivered event gets the same
 * answer and moves nothing (idempotent).
 */
extern rv_script sampler_cooldown_script;

/** Fill the memo and opt-out keys of @p customer_id (hash-tagged). */
void sampler_cooldown_keys(const char *customer_id,
                           char cooldown_key[SAMPLER_KEY_SIZE],
                           char optout_key[SAMPLER_KEY_SIZE]);

/** The customer's visits key, "rv:{<customer>}:visits" (hash-tagged). */
void sampler_visits_key(const char *customer_id,
                        char visits_key[SAMPLER_KEY_SIZE]);

/** The visits key of phone number @p phone: "rv:{ph:<derive(phone)>}:
 *  visits" (the number itself never reaches Redis), or the customer's
 *  visits key "rv:{<customer>}:visits" when @p phone is NULL or "". */
void sampler_phone_key(const char *customer_id, const char *phone,
                       char phone_key[SAMPLER_KEY_SIZE]);

/** One prepared script call and the buffers it points into. */
typedef struct sampler_cooldown_call {
    char keys[4][SAMPLER_KEY_SIZE];
    char args[5][40];
    const char *key_ptrs[4];
    const char *arg_ptrs[5];
} sampler_cooldown_call;

/**
 * Prepare the C4 call of task @p t (customer, phone, task_id, event
 * time) with cooldown @p cooldown_us (µs, >= 0), into @p cc (which must
 * outlive @p out; @p out points into it).
 * @param bypass    the rule is never held back (R5)
 * @param register_ true for visits decided on arrival, false for visits
 *                  decided on a watermark (see the script)
 */
void sampler_cooldown_prepare(sampler_cooldown_call *cc, const rv_task *t,
                              int64_t cooldown_us, bool bypass, bool register_,
                              rv_redis_call *out);

#endif /* RV_SAMPLER_COOLDOWN_H */
