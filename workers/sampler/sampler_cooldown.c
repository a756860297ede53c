/* workers/sampler/sampler_cooldown.c: the C4 cooldown script. Event time
 * decides, never the clock, so a replay decides the same. */
#include "sampler_cooldown.h"

#include <stdio.h>

rv_script sampler_cooldown_script = {
    .name = "cooldown",
    .source =
        "local field = 't:' .. ARGV[1]\n"
        "local prev = redis.call('HGET', KEYS[1], field)\n"
        "if prev then return prev end\n"
        "local decision\n"
        "if redis.call('EXISTS', KEYS[2]) == 1 then\n"
        "  decision = 'optout'\n"
        "else\n"
        "  local t = tonumber(ARGV[2])\n"
        "  local untl = redis.call('HGET', KEYS[1], 'until')\n"
        "  if ARGV[4] ~= 'bypass' and tonumber(ARGV[3]) > 0 and untl and\n"
        "     t < tonumber(untl) then\n"
        "    decision = 'cooldown'\n"
        "  else\n"
        "    local nu = t + tonumber(ARGV[3])\n"
        "    if not untl or nu > tonumber(untl) then\n"
        "      redis.call('HSET', KEYS[1], 'until', "
        "string.format('%.0f', nu))\n"
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
