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
        "local na, nd, ng = tonumber(ARGV[1]), tonumber(ARGV[2]),\n"
        "                   tonumber(ARGV[3])\n"
        "local id, df, dcap, wcap, dayno, cnt = {}, {}, {}, {}, {}, {}\n"
        "for a = 1, na do\n"
        "  id[a] = ARGV[3 + a]\n"
        "  df[a] = '" RV_BOOKING_DAY_FIELD_PREFIX "' .. id[a]\n"
        "  dcap[a] = tonumber(ARGV[3 + na + a])\n"
        "end\n"
        "local at = 3 + 2 * na\n"
        "for i = 1, na * nd do wcap[i] = tonumber(ARGV[at + i]) end\n"
        "at = at + na * nd\n"
        /* One hash a day: every counter of the day in one read. */
        "for d = 1, nd do\n"
        "  dayno[d] = ARGV[at + d]\n"
        "  local h, r = {}, redis.call('HGETALL', KEYS[1 + d])\n"
        "  for i = 1, #r, 2 do h[r[i]] = tonumber(r[i + 1]) end\n"
        "  cnt[d] = h\n"
        "end\n"
        "at = at + nd\n"
        /* A day's load: its candidate agents' day counters, each once. */
        "local load, seen = {}, {}\n"
        "for g = 0, ng - 1 do\n"
        "  local d, m = tonumber(ARGV[at + 5 * g + 1]), ARGV[at + 5 * g + 5]\n"
        "  for j = 1, #m do\n"
        "    local a = string.byte(m, j)\n"
        "    local k = (a - 1) * nd + d\n"
        "    if not seen[k] then\n"
        "      seen[k] = true\n"
        "      load[d] = (load[d] or 0) + (cnt[d][df[a]] or 0)\n"
        "    end\n"
        "  end\n"
        "end\n"
        "local best, bd, ba, bwf, bl, bdc, bwc\n"
        "for g = 0, ng - 1 do\n"
        "  local b = at + 5 * g\n"
        "  local d, m = tonumber(ARGV[b + 1]), ARGV[b + 5]\n"
        "  local h, l = cnt[d], load[d]\n"
        "  for j = 1, #m do\n"
        "    local a = string.byte(m, j)\n"
        "    local dc = h[df[a]] or 0\n"
        "    if dc < dcap[a] then\n"
        "      local wf = 'w' .. ARGV[b + 2] .. ':' .. id[a]\n"
        "      local wc = h[wf] or 0\n"
        "      if wc < wcap[(a - 1) * nd + d] and (best == nil or l < bl or\n"
        "         (l == bl and (dc < bdc or (dc == bdc and wc < bwc)))) then\n"
        "        best, bd, ba, bwf, bl, bdc, bwc = b, d, a, wf, l, dc, wc\n"
        "      end\n"
        "    end\n"
        "  end\n"
        "end\n"
        "local ttl = " RV_STATE_TTL_S_TEXT "\n"
        "if best == nil then\n"
        "  redis.call('SET', KEYS[1], '" RV_BOOKING_NONE "', 'EX', ttl)\n"
        "  return '" RV_BOOKING_NONE "'\n"
        "end\n"
        "local key = KEYS[1 + bd]\n"
        "redis.call('HINCRBY', key, df[ba], 1)\n"
        "redis.call('HINCRBY', key, bwf, 1)\n"
        "redis.call('EXPIRE', key, ttl)\n"
        "local label = id[ba] .. '|' .. dayno[bd] .. '|' .. ARGV[best + 2] ..\n"
        "              '|' .. ARGV[best + 3] .. '|' .. ARGV[best + 4]\n"
        "redis.call('SET', KEYS[1], label, 'EX', ttl)\n"
        "return label\n",
};

/* Resizes @p *p to @p n elements of @p size bytes; false (and @p *p as
 * it was) when memory is short. */
static bool resize(void **p, size_t n, size_t size)
{
    void *q = realloc(*p, n * size);
    if (q == NULL) {
        return false;
    }
    *p = q;
    return true;
}

/* Next capacity at least @p need, doubling from @p cap. */
static size_t next_cap(size_t cap, size_t need)
{
    size_t n = cap ? cap : 64;
    while (n < need) {
        n *= 2;
    }
    return n;
}

/* Grows @p *buf (@p *cap elements of @p size bytes) to hold @p need. */
static bool grow(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return true;
    }
    size_t n = next_cap(*cap, need);
    if (!resize(buf, n, size)) {
        return false;
    }
    *cap = n;
    return true;
}

/* Grows the slot-sized scratch of @p c to @p n slots. */
static bool grow_slots(assigner_call *c, size_t n)
{
    if (n <= c->slots_cap) {
        return true;
    }
    size_t cap = next_cap(c->slots_cap, n);
    if (!resize((void **)&c->slot_agent, cap, sizeof(*c->slot_agent)) ||
        !resize((void **)&c->slot_day, cap, sizeof(*c->slot_day)) ||
        !resize((void **)&c->day, cap, sizeof(*c->day))) {
        return false;
    }
    c->slots_cap = cap;
    return true;
}

/* Grows at[] and ptrs[] of @p c to @p n entries. */
static bool grow_ptrs(assigner_call *c, size_t n)
{
    if (n <= c->ptrs_cap) {
        return true;
    }
    size_t cap = next_cap(c->ptrs_cap, n);
    if (!resize((void **)&c->at, cap, sizeof(*c->at)) ||
        !resize((void **)&c->ptrs, cap, sizeof(*c->ptrs))) {
        return false;
    }
    c->ptrs_cap = cap;
    return true;
}

/* The call's strings as they are written; offsets until they stop
 * moving. */
typedef struct writer {
    assigner_call *call;
    size_t len;   /* bytes used in call->strings */
    size_t count; /* strings written */
    bool failed;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    assigner_call *c = w->call;
    if (w->failed ||
        !grow((void **)&c->strings, &c->strings_cap, w->len + n + 1, 1)) {
        w->failed = true;
        return;
    }
    memcpy(c->strings + w->len, s, n);
    c->strings[w->len + n] = '\0';
    c->at[w->count++] = w->len;
    w->len += n + 1;
}

static void put_str(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Decimal text of @p v, without printf's parsing of a format (the
 * assigner wrote hundreds of numbers a booking, issue 8). */
static void put_i64(writer *w, int64_t v)
{
    char d[24];
    size_t i = sizeof(d);
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        d[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        d[--i] = '-';
    }
    put(w, d + i, sizeof(d) - i);
}

rv_err assigner_call_build(assigner_call *call, const char *pool,
                           const char *task_id, unsigned attempt,
                           const assigner_slot *slots, size_t slot_count,
                           rv_redis_call *rc_call)
{
    if (slot_count == 0) {
        return RV_ERR_INVALID;
    }
    if (!grow_slots(call, slot_count)) {
        return RV_ERR_NOMEM;
    }
    /* Agents and days in order of first appearance; a group is a run of
     * slots of one (day, window). */
    const rv_agent *agent[ASSIGNER_CALL_AGENTS_MAX];
    int64_t dcap[ASSIGNER_CALL_AGENTS_MAX];
    size_t na = 0, nd = 0, ng = 0;
    for (size_t i = 0; i < slot_count; i++) {
        const assigner_slot *sl = &slots[i];
        size_t a = 0;
        while (a < na && agent[a] != sl->agent) {
            a++;
        }
        if (a == na) {
            if (na == ASSIGNER_CALL_AGENTS_MAX) {
                return RV_ERR_INVALID;
            }
            agent[na] = sl->agent;
            dcap[na++] = sl->day_capacity;
        } else if (dcap[a] != sl->day_capacity) {
            return RV_ERR_INVALID;
        }
        call->slot_agent[i] = (unsigned char)(a + 1);
        size_t d = nd;
        while (d > 0 && call->day[d - 1] != sl->day) {
            d--;
        }
        if (d == 0) {
            call->day[nd++] = sl->day;
            d = nd;
        }
        call->slot_day[i] = d;
        if (i == 0 || sl->day != slots[i - 1].day ||
            sl->window != slots[i - 1].window) {
            ng++;
        }
    }
    /* Window capacity by (agent, day); 0 where the agent has no slot. */
    if (!grow((void **)&call->wcap, &call->wcap_cap, na * nd,
              sizeof(*call->wcap))) {
        return RV_ERR_NOMEM;
    }
    memset(call->wcap, 0, na * nd * sizeof(*call->wcap));
    for (size_t i = 0; i < slot_count; i++) {
        int64_t *wc = &call->wcap[(call->slot_agent[i] - 1u) * nd +
                                  call->slot_day[i] - 1];
        if (*wc != 0 && *wc != slots[i].window_capacity) {
            return RV_ERR_INVALID;
        }
        *wc = slots[i].window_capacity;
    }
    size_t key_count = 1 + nd;
    size_t arg_count = 3 + 2 * na + na * nd + nd + 5 * ng;
    size_t total = key_count + arg_count;
    if (!grow_ptrs(call, total)) {
        return RV_ERR_NOMEM;
    }
    writer w = {.call = call};
    char s[RV_BOOKING_KEY_SIZE];
    rv_booking_key(s, sizeof(s), pool, task_id, attempt);
    put_str(&w, s);
    for (size_t d = 0; d < nd; d++) {
        rv_booking_counters_key(s, sizeof(s), pool, call->day[d]);
        put_str(&w, s);
    }
    put_i64(&w, (int64_t)na);
    put_i64(&w, (int64_t)nd);
    put_i64(&w, (int64_t)ng);
    for (size_t a = 0; a < na; a++) {
        put_str(&w, agent[a]->id);
    }
    for (size_t a = 0; a < na; a++) {
        put_i64(&w, dcap[a]);
    }
    for (size_t i = 0; i < na * nd; i++) {
        put_i64(&w, call->wcap[i]);
    }
    for (size_t d = 0; d < nd; d++) {
        put_i64(&w, call->day[d]);
    }
    for (size_t i = 0; i < slot_count;) {
        size_t j = i + 1;
        while (j < slot_count && slots[j].day == slots[i].day &&
               slots[j].window == slots[i].window) {
            j++;
        }
        put_i64(&w, (int64_t)call->slot_day[i]);
        put_i64(&w, slots[i].window);
        put_i64(&w, slots[i].start_us);
        put_i64(&w, slots[i].end_us);
        put(&w, (const char *)&call->slot_agent[i], j - i);
        i = j;
    }
    if (w.failed) {
        return RV_ERR_NOMEM;
    }
    for (size_t i = 0; i < total; i++) {
        call->ptrs[i] = call->strings + call->at[i];
    }
    call->key_count = key_count;
    call->arg_count = arg_count;
    *rc_call = (rv_redis_call){.key_count = key_count,
                               .keys = call->ptrs,
                               .arg_count = arg_count,
                               .args = call->ptrs + key_count};
    return RV_OK;
}

void assigner_call_fini(assigner_call *call)
{
    free(call->strings);
    free(call->at);
    free(call->ptrs);
    free(call->slot_agent);
    free(call->slot_day);
    free(call->day);
    free(call->wcap);
    *call = (assigner_call){0};
}
