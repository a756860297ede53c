/* workers/alerter/alerter_cases.c: cases, escalation clock, watermark and
 * A5 counters in Redis (alerter_cases.h). Keys:
 *   rv:{customer}:case:<kind>  hash id/opened/deadline/until: the case
 *                              the customer's next alert of kind joins
 *   rv:alertcase:<alert_id>    "case_id|opened|deadline" of that alert
 *   rv:casemeta:<case_id>      hash alert (first alert, hex protobuf),
 *                              merge (the merge key's name)
 *   rv:caseoff:<case_id>       "answer" or "close": off the clock
 *   rv:cases:due               zset case_id by deadline
 *   rv:a5:<agent>:<hour>       set of successful grade_ids
 * Every key has an expiry. The case scripts read rv:casemeta and the
 * merge key by name: one Redis, not Redis Cluster (DESIGN §5). */
#include "alerter_cases.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/log.h"

#define KEY_SIZE (RV_KEY_SIZE * 2 + 32)
#define I64_SIZE 24

static rv_script join_script = {
    .name = "case_join",
    .source =
        "local m = redis.call('GET', KEYS[2])\n"
        "if m then return m end\n"
        "local t = tonumber(ARGV[1])\n"
        "local cur = redis.call('HMGET', KEYS[1], 'id', 'opened', "
        "'deadline', 'until')\n"
        "local id, opened, deadline\n"
        "if cur[1] and t >= tonumber(cur[2]) and t < tonumber(cur[4]) then\n"
        "  id, opened, deadline = cur[1], cur[2], cur[3]\n"
        "else\n"
        "  id, opened, deadline = ARGV[4], ARGV[1], ARGV[2]\n"
        "  redis.call('HSET', KEYS[1], 'id', id, 'opened', opened, "
        "'deadline', deadline, 'until', "
        "string.format('%.0f', t + tonumber(ARGV[3])))\n"
        "  redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
        "  redis.call('HSET', KEYS[4], 'alert', ARGV[6], 'merge', KEYS[1])\n"
        "  redis.call('EXPIRE', KEYS[4], ARGV[5])\n"
        "  if deadline ~= '0' and redis.call('EXISTS', KEYS[5]) == 0 then\n"
        "    redis.call('ZADD', KEYS[3], deadline, id)\n"
        "  end\n"
        "end\n"
        "local v = id .. '|' .. opened .. '|' .. deadline\n"
        "redis.call('SET', KEYS[2], v, 'EX', ARGV[5])\n"
        "return v\n",
};

static rv_script act_script = {
    .name = "case_act",
    .source = "redis.call('ZREM', KEYS[1], ARGV[1])\n"
              "local prev = redis.call('GET', KEYS[2])\n"
              "if prev ~= 'close' then\n"
              "  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])\n"
              "end\n"
              "if ARGV[3] == 'close' then\n"
              "  local mk = redis.call('HGET', KEYS[3], 'merge')\n"
              "  if mk and redis.call('HGET', mk, 'id') == ARGV[1] then\n"
              "    redis.call('DEL', mk)\n"
              "  end\n"
              "end\n"
              "return 1\n",
};

static rv_script due_script = {
    .name = "case_due",
    .source = "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', "
              "ARGV[1], 'LIMIT', 0, ARGV[2])\n"
              "local out = {}\n"
              "for _, id in ipairs(ids) do\n"
              "  out[#out + 1] = id\n"
              "  out[#out + 1] = redis.call('HGET', 'rv:casemeta:' .. id, "
              "'alert') or ''\n"
              "end\n"
              "return out\n",
};

static rv_script hour_script = {
    .name = "agent_hour",
    .source = "redis.call('SADD', KEYS[1], ARGV[1])\n"
              "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
              "return redis.call('SCARD', KEYS[1])\n",
};

/* An agent-hour set is needed while that hour's grades still arrive. */
#define HOUR_TTL_S "172800"

/* A script reply that must be a string or integer; an error is a bug. */
static rv_err reply_ok(const rv_script *s, const rv_redis_reply *r)
{
    if (r->type == RV_REPLY_ERR) {
        RV_LOG(RV_LOG_ERROR, "redis_script_error", RV_KV_STR("script", s->name),
               RV_KV_STR("reason", r->str != NULL ? r->str : ""));
        return RV_ERR_FATAL;
    }
    return RV_OK;
}

typedef struct join_call {
    char keys[5][KEY_SIZE];
    char args[6][I64_SIZE];
    char *hex;
    char case_id_arg[RV_ID_SIZE];
    const char *key_ptrs[5];
    const char *arg_ptrs[6];
} join_call;

static rv_err join_prepare(const rv_alert *a, int64_t window_us, int64_t ttl_s,
                           join_call *c)
{
    char case_id[RV_ID_SIZE];
    const char *parts[] = {a->alert_id, "case"};
    rv_id_derive(case_id, 2, parts);
    snprintf(c->keys[0], KEY_SIZE, "rv:{%s}:case:%s", a->customer_id, a->kind);
    snprintf(c->keys[1], KEY_SIZE, "rv:alertcase:%s", a->alert_id);
    snprintf(c->keys[2], KEY_SIZE, "%s", ALERTER_DUE_KEY);
    snprintf(c->keys[3], KEY_SIZE, "rv:casemeta:%s", case_id);
    snprintf(c->keys[4], KEY_SIZE, "rv:caseoff:%s", case_id);
    snprintf(c->args[0], I64_SIZE, "%" PRId64, a->env.occurred_at_us);
    snprintf(c->args[1], I64_SIZE, "%" PRId64, a->deadline_us);
    snprintf(c->args[2], I64_SIZE, "%" PRId64, window_us);
    rv_copy_str(c->case_id_arg, sizeof(c->case_id_arg), case_id);
    snprintf(c->args[4], I64_SIZE, "%" PRId64, ttl_s);
    /* The first alert as it will be, so an escalation can cite it. */
    rv_alert first = *a;
    rv_copy_str(first.case_id, sizeof(first.case_id), case_id);
    first.case_opened_at_us = a->env.occurred_at_us;
    first.case_deadline_us = a->deadline_us;
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_alert(&first, &buf, &len);
    if (err != RV_OK) {
        return err;
    }
    c->hex = malloc(2 * len + 1);
    if (c->hex == NULL) {
        free(buf);
        return RV_ERR_NOMEM;
    }
    rv_hex_encode(buf, len, c->hex);
    free(buf);
    for (size_t k = 0; k < 5; k++) {
        c->key_ptrs[k] = c->keys[k];
    }
    for (size_t k = 0; k < 5; k++) {
        c->arg_ptrs[k] = c->args[k];
    }
    c->arg_ptrs[3] = c->case_id_arg;
    c->arg_ptrs[5] = c->hex;
    return RV_OK;
}

/* "case_id|opened|deadline" into @p a. */
static rv_err join_apply(const char *reply, rv_alert *a)
{
    char id[RV_ID_SIZE];
    long long opened = 0, deadline = 0;
    if (reply == NULL ||
        sscanf(reply, "%32[0-9a-f]|%lld|%lld", id, &opened, &deadline) != 3) {
        RV_LOG(RV_LOG_ERROR, "redis_reply_malformed",
               RV_KV_STR("script", join_script.name));
        return RV_ERR_FATAL;
    }
    rv_copy_str(a->case_id, sizeof(a->case_id), id);
    a->case_opened_at_us = opened;
    a->case_deadline_us = deadline;
    return RV_OK;
}

rv_err alerter_cases_join(rv_redis *rc, rv_alert *alerts, size_t n,
                          int64_t window_us, int64_t ttl_s)
{
    if (n == 0) {
        return RV_OK;
    }
    join_call *jc = calloc(n, sizeof(*jc));
    rv_redis_call *calls = calloc(n, sizeof(*calls));
    rv_redis_reply *replies = calloc(n, sizeof(*replies));
    size_t *which = calloc(n, sizeof(*which));
    rv_err err = jc != NULL && calls != NULL && replies != NULL && which != NULL
                     ? RV_OK
                     : RV_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        if (strcmp(alerts[i].kind, RV_ALERT_KIND_ESCALATION) == 0) {
            continue; /* an escalation carries its case already */
        }
        err = join_prepare(&alerts[i], window_us, ttl_s, &jc[m]);
        if (err == RV_OK) {
            calls[m] = (rv_redis_call){5, jc[m].key_ptrs, 6, jc[m].arg_ptrs};
            which[m++] = i;
        }
    }
    if (err == RV_OK && m > 0) {
        err = rv_redis_eval_batch(rc, &join_script, calls, m, replies);
        for (size_t k = 0; k < m && err == RV_OK; k++) {
            err = reply_ok(&join_script, &replies[k]);
            if (err == RV_OK) {
                err = join_apply(replies[k].str, &alerts[which[k]]);
            }
        }
        rv_redis_replies_fini(replies, m);
    }
    for (size_t k = 0; jc != NULL && k < n; k++) {
        free(jc[k].hex);
    }
    free(jc);
    free(calls);
    free(replies);
    free(which);
    return err;
}

rv_err alerter_cases_act(rv_redis *rc, const rv_case_event *e, int64_t ttl_s)
{
    char due[KEY_SIZE], off[KEY_SIZE], meta[KEY_SIZE], ttl[I64_SIZE];
    snprintf(due, sizeof(due), "%s", ALERTER_DUE_KEY);
    snprintf(off, sizeof(off), "rv:caseoff:%s", e->case_id);
    snprintf(meta, sizeof(meta), "rv:casemeta:%s", e->case_id);
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s);
    const char *keys[] = {due, off, meta};
    const char *args[] = {e->case_id, ttl, rv_case_action_name(e->action)};
    rv_redis_call call = {3, keys, 3, args};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_eval_batch(rc, &act_script, &call, 1, &reply);
    if (err == RV_OK) {
        err = reply_ok(&act_script, &reply);
        rv_redis_replies_fini(&reply, 1);
    }
    return err;
}

/* One "id|hex" pair of the due reply into @p out. @returns false if the
 * case has no readable first alert (expired meta). */
static bool due_entry(const char *hex, rv_alert *out)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        return false;
    }
    long len = rv_hex_decode(hex, buf, cap);
    char errstr[160] = "";
    bool ok = len > 0 && rv_codec_decode_alert(buf, (size_t)len, out, errstr,
                                               sizeof(errstr)) == RV_OK;
    free(buf);
    return ok;
}

rv_err alerter_cases_due(rv_redis *rc, int64_t now_us, rv_alert *first,
                         size_t cap, size_t *count)
{
    *count = 0;
    char now[I64_SIZE], limit[I64_SIZE];
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    snprintf(limit, sizeof(limit), "%zu", cap);
    const char *keys[] = {ALERTER_DUE_KEY};
    const char *args[] = {now, limit};
    rv_redis_call call = {1, keys, 2, args};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_eval_batch(rc, &due_script, &call, 1, &reply);
    if (err != RV_OK) {
        return err;
    }
    err = reply_ok(&due_script, &reply);
    /* "id|hex|id|hex|...": pairs, empty hex when the case's first alert
     * has expired (it cannot be escalated: taken off the clock). */
    char *cur = err == RV_OK && reply.str != NULL && reply.str[0] != '\0'
                    ? reply.str
                    : NULL;
    while (cur != NULL && err == RV_OK && *count < cap) {
        char *id = cur;
        char *hex = strchr(id, '|');
        if (hex == NULL) {
            break;
        }
        *hex++ = '\0';
        char *next = strchr(hex, '|');
        if (next != NULL) {
            *next++ = '\0';
        }
        cur = next;
        if (due_entry(hex, &first[*count])) {
            (*count)++;
            continue;
        }
        RV_LOG(RV_LOG_WARN, "case_meta_unreadable", RV_KV_STR("case_id", id));
        const char *argv[] = {"ZREM", ALERTER_DUE_KEY, id};
        rv_redis_reply r2 = {0};
        err = rv_redis_command(rc, 3, argv, &r2);
        rv_redis_replies_fini(&r2, 1);
    }
    rv_redis_replies_fini(&reply, 1);
    return err;
}

rv_err alerter_cases_escalated(rv_redis *rc, const rv_alert *first, size_t n)
{
    rv_err err = RV_OK;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        const char *argv[] = {"ZREM", ALERTER_DUE_KEY, first[i].case_id};
        rv_redis_reply reply = {0};
        err = rv_redis_command(rc, 3, argv, &reply);
        if (err == RV_OK && reply.type == RV_REPLY_ERR) {
            err = RV_ERR_FATAL;
        }
        rv_redis_replies_fini(&reply, 1);
    }
    return err;
}

rv_err alerter_agent_hour_count(rv_redis *rc, const rv_grade *g, int64_t *count)
{
    char key[KEY_SIZE];
    snprintf(key, sizeof(key), "rv:a5:%s:%" PRId64, g->agent_id,
             (int64_t)(g->started_at_us / (3600LL * 1000000LL)));
    const char *keys[] = {key};
    const char *args[] = {g->grade_id, HOUR_TTL_S};
    rv_redis_call call = {1, keys, 2, args};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_eval_batch(rc, &hour_script, &call, 1, &reply);
    if (err == RV_OK) {
        err = reply_ok(&hour_script, &reply);
        *count = reply.type == RV_REPLY_INT ? reply.integer : 0;
        rv_redis_replies_fini(&reply, 1);
    }
    return err;
}

void alerter_escalation(const rv_alert *first, const char *escalate_to,
                        const char *notify, rv_alert *out)
{
    memset(out, 0, sizeof(*out));
    const char *parts[] = {first->case_id, RV_ALERT_KIND_ESCALATION};
    rv_id_derive(out->alert_id, 2, parts);
    /* Event time: the moment the case became overdue, whatever clock
     * noticed it, so a replay records the same fact. */
    rv_envelope_fill(&out->env, out->alert_id, first->case_deadline_us,
                     "alerter", first->env.event_id);
    rv_copy_str(out->task_id, sizeof(out->task_id), first->task_id);
    rv_copy_str(out->customer_id, sizeof(out->customer_id), first->customer_id);
    rv_copy_str(out->branch_id, sizeof(out->branch_id), first->branch_id);
    rv_copy_str(out->agent_id, sizeof(out->agent_id), first->agent_id);
    rv_copy_str(out->store_id, sizeof(out->store_id), first->store_id);
    rv_copy_str(out->salesperson_id, sizeof(out->salesperson_id),
                first->salesperson_id);
    rv_copy_str(out->kind, sizeof(out->kind), RV_ALERT_KIND_ESCALATION);
    out->severity = RV_SEVERITY_MAJOR;
    rv_copy_str(out->route_to, sizeof(out->route_to), escalate_to);
    rv_copy_str(out->notify, sizeof(out->notify), notify);
    snprintf(out->evidence, sizeof(out->evidence),
             "case %.32s (%s) not answered by its deadline", first->case_id,
             first->kind);
    rv_copy_str(out->policy_version, sizeof(out->policy_version),
                first->policy_version);
    rv_copy_str(out->case_id, sizeof(out->case_id), first->case_id);
    out->case_opened_at_us = first->case_opened_at_us;
    out->case_deadline_us = first->case_deadline_us;
}
