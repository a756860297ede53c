/* workers/sampler/sampler_cooldown.c: the C4 cooldown script. Event time
 * decides, never the clock, so a replay decides the same. */
#include "sampler_cooldown.h"

#include <stdio.h>

#include "rv/hash.h"

rv_script sampler_cooldown_script = {
    .name = "cooldown",
    .source = "local field = 't:' .. ARGV[1]\n"
              "local prev = redis.call('HGET', KEYS[1], field)\n"
              "if prev then return prev end\n"
              "local pk = KEYS[4]\n"
              "if pk == KEYS[3] then pk = nil end\n"
              "local decision = 'accept'\n"
              "local t = tonumber(ARGV[2])\n"
              "local span = tonumber(ARGV[3])\n"
              "if redis.call('EXISTS', KEYS[2]) == 1 then\n"
              "  decision = 'optout'\n"
              "elseif ARGV[4] ~= 'bypass' and span > 0 then\n"
              "  local lo = '(' .. string.format('%.0f', t - span)\n"
              "  local hi = string.format('%.0f', t)\n"
              "  if redis.call('ZCOUNT', KEYS[3], lo, hi) > 0 or\n"
              "     (pk and redis.call('ZCOUNT', pk, lo, hi) > 0) then\n"
              "    decision = 'cooldown'\n"
              "  end\n"
              "end\n"
              "local ttl = " RV_STATE_TTL_S_TEXT "\n"
              "if decision == 'accept' and ARGV[5] == 'register' then\n"
              "  redis.call('ZADD', KEYS[3], t, ARGV[1])\n"
              "  redis.call('EXPIRE', KEYS[3], ttl)\n"
              "  if pk then\n"
              "    redis.call('ZADD', pk, t, ARGV[1])\n"
              "    redis.call('EXPIRE', pk, ttl)\n"
              "  end\n"
              "end\n"
              "redis.call('HSET', KEYS[1], field, decision)\n"
              "redis.call('EXPIRE', KEYS[1], ttl)\n"
              "return decision\n",
};

void sampler_cooldown_keys(const char *customer_id,
                           char cooldown_key[SAMPLER_KEY_SIZE],
                           char optout_key[SAMPLER_KEY_SIZE])
{
    snprintf(cooldown_key, SAMPLER_KEY_SIZE, "rv:{%s}:cooldown", customer_id);
    snprintf(optout_key, SAMPLER_KEY_SIZE, "rv:{%s}:optout", customer_id);
}

void sampler_visits_key(const char *customer_id,
                        char visits_key[SAMPLER_KEY_SIZE])
{
    snprintf(visits_key, SAMPLER_KEY_SIZE, "rv:{%s}:visits", customer_id);
}

void sampler_phone_key(const char *customer_id, const char *phone,
                       char phone_key[SAMPLER_KEY_SIZE])
{
    if (phone == NULL || phone[0] == '\0') {
        sampler_visits_key(customer_id, phone_key);
        return;
    }
    char id[RV_ID_SIZE];
    const char *parts[] = {"phone", phone};
    rv_id_derive(id, 2, parts);
    snprintf(phone_key, SAMPLER_KEY_SIZE, "rv:{ph:%s}:visits", id);
}

void sampler_cooldown_prepare(sampler_cooldown_call *cc, const rv_task *t,
                              int64_t cooldown_us, bool bypass, bool register_,
                              rv_redis_call *out)
{
    sampler_cooldown_keys(t->customer_id, cc->keys[0], cc->keys[1]);
    sampler_visits_key(t->customer_id, cc->keys[2]);
    sampler_phone_key(t->customer_id, t->phone, cc->keys[3]);
    snprintf(cc->args[0], sizeof(cc->args[0]), "%s", t->task_id);
    snprintf(cc->args[1], sizeof(cc->args[1]), "%lld",
             (long long)t->env.occurred_at_us);
    snprintf(cc->args[2], sizeof(cc->args[2]), "%lld",
             (long long)(cooldown_us > 0 ? cooldown_us : 0));
    snprintf(cc->args[3], sizeof(cc->args[3]), "%s", bypass ? "bypass" : "");
    snprintf(cc->args[4], sizeof(cc->args[4]), "%s",
             register_ ? "register" : "check");
    for (int i = 0; i < 4; i++) {
        cc->key_ptrs[i] = cc->keys[i];
    }
    for (int i = 0; i < 5; i++) {
        cc->arg_ptrs[i] = cc->args[i];
    }
    *out = (rv_redis_call){.key_count = 4,
                           .keys = cc->key_ptrs,
                           .arg_count = 5,
                           .args = cc->arg_ptrs};
}
