/* workers/assigner/assigner_book.c: the booking script and its calls. */
#include "assigner_book.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

rv_script assigner_book_script = {
    .name = "book",
    .source = "local prev = redis.call('GET', KEYS[1])\n"
              "if prev then return prev end\n"
              "local n = tonumber(ARGV[1])\n"
              "for i = 1, n do\n"
              "  local dk = KEYS[2 * i]\n"
              "  local wk = KEYS[2 * i + 1]\n"
              "  local dcap = tonumber(ARGV[3 * i - 1])\n"
              "  local wcap = tonumber(ARGV[3 * i])\n"
              "  local d = tonumber(redis.call('GET', dk) or '0')\n"
              "  local w = tonumber(redis.call('GET', wk) or '0')\n"
              "  if d < dcap and w < wcap then\n"
              "    redis.call('INCR', dk)\n"
              "    redis.call('INCR', wk)\n"
              "    redis.call('SET', KEYS[1], ARGV[3 * i + 1])\n"
              "    return ARGV[3 * i + 1]\n"
              "  end\n"
              "end\n"
              "redis.call('SET', KEYS[1], 'none')\n"
              "return 'none'\n",
};

void assigner_call_build(assigner_call *call, const char *branch_id,
                         const char *task_id, unsigned attempt,
                         const assigner_slot *slots, size_t slot_count,
                         rv_redis_call *rc_call)
{
    if (slot_count > ASSIGNER_SLOTS_MAX) {
        slot_count = ASSIGNER_SLOTS_MAX;
    }
    call->slot_count = slot_count;
    snprintf(call->keys[0], ASSIGNER_KEY_SIZE, "rv:{%s}:booking:%s:%u",
             branch_id, task_id, attempt);
    snprintf(call->args[0], ASSIGNER_LABEL_SIZE, "%zu", slot_count);
    for (size_t i = 0; i < slot_count; i++) {
        const assigner_slot *s = &slots[i];
        snprintf(call->keys[1 + 2 * i], ASSIGNER_KEY_SIZE,
                 "rv:{%s}:cap:%s:%" PRId64, branch_id, s->agent->id, s->day);
        snprintf(call->keys[2 + 2 * i], ASSIGNER_KEY_SIZE,
                 "rv:{%s}:cap:%s:%" PRId64 ":w%d", branch_id, s->agent->id,
                 s->day, s->window);
        snprintf(call->args[1 + 3 * i], ASSIGNER_LABEL_SIZE, "%" PRId64,
                 s->day_capacity);
        snprintf(call->args[2 + 3 * i], ASSIGNER_LABEL_SIZE, "%" PRId64,
                 s->window_capacity);
        snprintf(call->args[3 + 3 * i], ASSIGNER_LABEL_SIZE,
                 "%s|%" PRId64 "|%d|%" PRId64 "|%" PRId64, s->agent->id, s->day,
                 s->window, s->start_us, s->end_us);
    }
    size_t key_count = 1 + 2 * slot_count;
    size_t arg_count = 1 + 3 * slot_count;
    for (size_t i = 0; i < key_count; i++) {
        call->key_ptrs[i] = call->keys[i];
    }
    for (size_t i = 0; i < arg_count; i++) {
        call->arg_ptrs[i] = call->args[i];
    }
    *rc_call = (rv_redis_call){.key_count = key_count,
                               .keys = call->key_ptrs,
                               .arg_count = arg_count,
                               .args = call->arg_ptrs};
}

rv_err assigner_parse_label(const char *reply, assigner_booked *out,
                            bool *booked)
{
    if (reply == NULL) {
        return RV_ERR_INVALID;
    }
    if (strcmp(reply, "none") == 0) {
        *booked = false;
        return RV_OK;
    }
    assigner_booked b = {0};
    const char *bar = strchr(reply, '|');
    if (bar == NULL || bar == reply ||
        (size_t)(bar - reply) >= sizeof(b.agent_id)) {
        return RV_ERR_INVALID;
    }
    memcpy(b.agent_id, reply, (size_t)(bar - reply));
    b.agent_id[bar - reply] = '\0';
    int consumed = 0;
    if (sscanf(bar + 1, "%" SCNd64 "|%d|%" SCNd64 "|%" SCNd64 "%n", &b.day,
               &b.window, &b.start_us, &b.end_us, &consumed) != 4 ||
        bar[1 + consumed] != '\0' || b.end_us <= b.start_us) {
        return RV_ERR_INVALID;
    }
    *out = b;
    *booked = true;
    return RV_OK;
}
