/* workers/assigner/assigner_book.c: the booking script and its calls. */
#include "assigner_book.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rv_script assigner_book_script = {
    .name = "book",
    .source =
        "local prev = redis.call('GET', KEYS[1])\n"
        "if prev then return prev end\n"
        "local n = tonumber(ARGV[1])\n"
        "local dcnt, wcnt, dayload, seen, cnt = {}, {}, {}, {}, {}\n"
        /* Every counter with MGET, 1000 keys a call (unpack's stack). */
        "for a = 1, 2 * n, 1000 do\n"
        "  local v = redis.call('MGET', unpack(KEYS, a + 1,\n"
        "                                      math.min(a + 999, 2 * n) + 1))\n"
        "  for j = 1, #v do cnt[a + j - 1] = tonumber(v[j]) or 0 end\n"
        "end\n"
        "for i = 1, n do\n"
        "  dcnt[i] = cnt[2 * i - 1]\n"
        "  wcnt[i] = cnt[2 * i]\n"
        "  local day = ARGV[4 * i + 1]\n"
        "  if not seen[KEYS[2 * i]] then\n"
        "    seen[KEYS[2 * i]] = true\n"
        "    dayload[day] = (dayload[day] or 0) + dcnt[i]\n"
        "  end\n"
        "end\n"
        "local best = nil\n"
        "for i = 1, n do\n"
        "  if dcnt[i] < tonumber(ARGV[4 * i - 2]) and\n"
        "     wcnt[i] < tonumber(ARGV[4 * i - 1]) then\n"
        "    local l = dayload[ARGV[4 * i + 1]]\n"
        "    if best == nil then best = i else\n"
        "      local bl = dayload[ARGV[4 * best + 1]]\n"
        "      if l < bl or (l == bl and (dcnt[i] < dcnt[best] or\n"
        "         (dcnt[i] == dcnt[best] and wcnt[i] < wcnt[best]))) then\n"
        "        best = i\n"
        "      end\n"
        "    end\n"
        "  end\n"
        "end\n"
        "local ttl = " RV_STATE_TTL_S_TEXT "\n"
        "if best == nil then\n"
        "  redis.call('SET', KEYS[1], '" RV_BOOKING_NONE "', 'EX', ttl)\n"
        "  return '" RV_BOOKING_NONE "'\n"
        "end\n"
        "redis.call('INCR', KEYS[2 * best])\n"
        "redis.call('EXPIRE', KEYS[2 * best], ttl)\n"
        "redis.call('INCR', KEYS[2 * best + 1])\n"
        "redis.call('EXPIRE', KEYS[2 * best + 1], ttl)\n"
        "redis.call('SET', KEYS[1], ARGV[4 * best], 'EX', ttl)\n"
        "return ARGV[4 * best]\n",
};

/* A growing buffer of NUL-terminated strings, addressed by offset until
 * it stops growing. */
typedef struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
    bool failed;
} strbuf;

#define STR_MAX 256

static size_t sb_add(strbuf *b, const char *text)
{
    size_t n = strnlen(text, STR_MAX - 1);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->buf, cap);
        if (p == NULL) {
            b->failed = true;
            return 0;
        }
        b->buf = p;
        b->cap = cap;
    }
    size_t at = b->len;
    memcpy(b->buf + at, text, n);
    b->buf[at + n] = '\0';
    b->len += n + 1;
    return at;
}

rv_err assigner_call_build(assigner_call *call, const char *pool,
                           const char *task_id, unsigned attempt,
                           const assigner_slot *slots, size_t slot_count,
                           rv_redis_call *rc_call)
{
    assigner_call_fini(call);
    size_t key_count = 1 + 2 * slot_count;
    size_t arg_count = 1 + 4 * slot_count;
    size_t *key_at = calloc(key_count, sizeof(*key_at));
    size_t *arg_at = calloc(arg_count, sizeof(*arg_at));
    strbuf b = {0};
    char s[STR_MAX];
    if (key_at == NULL || arg_at == NULL) {
        b.failed = true;
    }
    for (size_t i = 0; !b.failed && i < key_count; i++) {
        if (i == 0) {
            rv_booking_key(s, sizeof(s), pool, task_id, attempt);
        } else if (i % 2 == 1) {
            const assigner_slot *sl = &slots[(i - 1) / 2];
            rv_booking_day_key(s, sizeof(s), pool, sl->agent->id, sl->day);
        } else {
            const assigner_slot *sl = &slots[(i - 1) / 2];
            rv_booking_window_key(s, sizeof(s), pool, sl->agent->id, sl->day,
                                  sl->window);
        }
        key_at[i] = sb_add(&b, s);
    }
    for (size_t i = 0; !b.failed && i < arg_count; i++) {
        if (i == 0) {
            snprintf(s, sizeof(s), "%zu", slot_count);
        } else {
            const assigner_slot *sl = &slots[(i - 1) / 4];
            switch ((i - 1) % 4) {
            case 0:
                snprintf(s, sizeof(s), "%" PRId64, sl->day_capacity);
                break;
            case 1:
                snprintf(s, sizeof(s), "%" PRId64, sl->window_capacity);
                break;
            case 2:
                snprintf(s, sizeof(s), "%s|%" PRId64 "|%d|%" PRId64 "|%" PRId64,
                         sl->agent->id, sl->day, sl->window, sl->start_us,
                         sl->end_us);
                break;
            default:
                snprintf(s, sizeof(s), "%" PRId64, sl->day);
                break;
            }
        }
        arg_at[i] = sb_add(&b, s);
    }
    call->key_ptrs = calloc(key_count, sizeof(*call->key_ptrs));
    call->arg_ptrs = calloc(arg_count, sizeof(*call->arg_ptrs));
    if (b.failed || call->key_ptrs == NULL || call->arg_ptrs == NULL) {
        free(key_at);
        free(arg_at);
        free(b.buf);
        assigner_call_fini(call);
        return RV_ERR_NOMEM;
    }
    call->strings = b.buf;
    for (size_t i = 0; i < key_count; i++) {
        call->key_ptrs[i] = b.buf + key_at[i];
    }
    for (size_t i = 0; i < arg_count; i++) {
        call->arg_ptrs[i] = b.buf + arg_at[i];
    }
    call->key_count = key_count;
    call->arg_count = arg_count;
    free(key_at);
    free(arg_at);
    *rc_call = (rv_redis_call){.key_count = key_count,
                               .keys = call->key_ptrs,
                               .arg_count = arg_count,
                               .args = call->arg_ptrs};
    return RV_OK;
}

void assigner_call_fini(assigner_call *call)
{
    free(call->strings);
    free(call->key_ptrs);
    free(call->arg_ptrs);
    *call = (assigner_call){0};
}
