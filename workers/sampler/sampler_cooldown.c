/* workers/sampler/sampler_cooldown.c: the C4 cooldown script. Event time
 * decides, never the clock, so a replay decides the same. */
#include "sampler_cooldown.h"

#include <stdio.h>

#include "rv/hash.h"

rv_script sampler_cooldown_script = {
    .name = "cooldown",
    .source =
        "local field = 't:' .. ARGV[1]\n"
        "local prev = redis.call('HGET', KEYS[1], field)\n"
        "if prev then return prev end\n"
        "local pk = KEYS[3]\n"
        "if pk == KEYS[1] then pk = nil end\n"
        "local decision\n"
        "if redis.call('EXISTS', KEYS[2]) == 1 then\n"
        "  decision = 'optout'\n"
        "else\n"
        "  local t = tonumber(ARGV[2])\n"
        "  local span = tonumber(ARGV[3])\n"
        "  local untl = redis.call('HGET', KEYS[1], 'until')\n"
        "  local puntl = pk and redis.call('HGET', pk, 'until')\n"
        "  local held = (untl and t < tonumber(untl)) or\n"
        "               (puntl and t < tonumber(puntl))\n"
        "  if ARGV[4] ~= 'bypass' and span > 0 and held then\n"
        "    decision = 'cooldown'\n"
        "  else\n"
        "    local nu = t + span\n"
        "    if not untl or nu > tonumber(untl) then\n"
        "      redis.call('HSET', KEYS[1], 'until', "
        "string.format('%.0f', nu))\n"
        "    end\n"
        "    if pk and (not puntl or nu > tonumber(puntl)) then\n"
        "      redis.call('HSET', pk, 'until', string.format('%.0f', nu))\n"
        "    end\n"
        "    decision = 'accept'\n"
        "  end\n"
        "end\n"
        "redis.call('HSET', KEYS[1], field, decision)\n"
        "return decision\n",
};

void sampler_cooldown_keys(const char *customer_id,
                           char cooldown_key[SAMPLER_KEY_SIZE],
                           char optout_key[SAMPLER_KEY_SIZE])
{
    snprintf(cooldown_key, SAMPLER_KEY_SIZE, "rv:{%s}:cooldown", customer_id);
    snprintf(optout_key, SAMPLER_KEY_SIZE, "rv:{%s}:optout", customer_id);
}

void sampler_phone_key(const char *customer_id, const char *phone,
                       char phone_key[SAMPLER_KEY_SIZE])
{
    if (phone == NULL || phone[0] == '\0') {
        snprintf(phone_key, SAMPLER_KEY_SIZE, "rv:{%s}:cooldown", customer_id);
        return;
    }
    char id[RV_ID_SIZE];
    const char *parts[] = {"phone", phone};
    rv_id_derive(id, 2, parts);
    snprintf(phone_key, SAMPLER_KEY_SIZE, "rv:{ph:%s}:cooldown", id);
}
