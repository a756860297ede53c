/* workers/sampler/sampler_cooldown.h: C4 per-customer cooldown and
 * opt-out, one idempotent Lua script in Redis (seed 002 no. 13). */
#ifndef RV_SAMPLER_COOLDOWN_H
#define RV_SAMPLER_COOLDOWN_H

#include <stddef.h>
#include <stdint.h>

#include "rv/redis.h"

/** Key sizes: "rv:{<customer>}:cooldown" and "rv:{<customer>}:optout". */
#define SAMPLER_KEY_SIZE 96

/**
 * The script. KEYS[1] the customer's cooldown hash, KEYS[2] the
 * customer's opt-out flag, KEYS[3] (optional) the phone number's cooldown
 * hash (sampler_phone_key; equal to KEYS[1] when there is no number);
 * ARGV task_id, event time (µs), cooldown (µs), and "bypass" or "" (a
 * rule the cooldown never holds back, R5). Returns "accept", "cooldown"
 * or "optout". C4 (seed 002 no. 13) holds a visit back while either the
 * customer or the number (two customers may share one) is inside a
 * cooldown; an accepted visit extends both to event time + cooldown; a
 * cooldown of 0 holds nothing back. The opt-out list wins over bypass.
 * The decision is stored under the task_id, so a re-delivered event gets
 * the same answer and moves nothing (idempotent).
 */
extern rv_script sampler_cooldown_script;

/** Fill the two keys of @p customer_id (hash-tagged for Redis Cluster). */
void sampler_cooldown_keys(const char *customer_id,
                           char cooldown_key[SAMPLER_KEY_SIZE],
                           char optout_key[SAMPLER_KEY_SIZE]);

/** The cooldown key of phone number @p phone: "rv:{ph:<derive(phone)>}:
 *  cooldown" (the number itself never reaches Redis), or the customer's
 *  cooldown key when @p phone is NULL or "". */
void sampler_phone_key(const char *customer_id, const char *phone,
                       char phone_key[SAMPLER_KEY_SIZE]);

#endif /* RV_SAMPLER_COOLDOWN_H */
