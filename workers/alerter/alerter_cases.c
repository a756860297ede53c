/* workers/alerter/alerter_cases.c: the case clock and A5 counters in
 * Redis (alerter_cases.h). Keys:
 *   rv:casemeta:<case_id>  hash t, id, alert: the case's earliest alert so
 *                          far (event time, alert_id, hex protobuf)
 *   rv:caseoff:<case_id>   "answer", "close" or "escalated": off the clock
 *   rv:cases:due           zset case_id by the earliest alert's deadline
 *   rv:a5:<agent>:<hour>   set of successful grade_ids
 * Every key has an expiry. The due script reads rv:casemeta by name: one
 * Redis, not Redis Cluster (DESIGN §5). */
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

/* Keep the earliest alert (event time, then alert_id) of the case and put
 * the case on the clock at its deadline, unless it is off the clock. */
static rv_script track_script = {
    .name = "case_track",
    .source =
        "local cur = redis.call('HMGET', KEYS[1], 't', 'id')\n"
        "local t = tonumber(ARGV[2])\n"
        "if not cur[1] or t < tonumber(cur[1]) or\n"
        "   (t == tonumber(cur[1]) and ARGV[3] < cur[2]) then\n"
        "  redis.call('HSET', KEYS[1], 't', ARGV[2], 'id', ARGV[3], "
        "'alert', ARGV[5])\n"
        "  if ARGV[4] ~= '0' and redis.call('EXISTS', KEYS[3]) == 0 then\n"
        "    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])\n"
        "  end\n"
        "end\n"
        "redis.call('EXPIRE', KEYS[1], ARGV[6])\n"
        "return 1\n",
};

/* Take a case off the clock for good ("answer", "close", "escalated"; a
 * close is never overwritten). */
static rv_script off_script = {
    .name = "case_off",
    .source = "redis.call('ZREM', KEYS[1], ARGV[1])\n"
              "if redis.call('GET', KEYS[2]) ~= 'close' then\n"
              "  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])\n"
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

typedef struct track_call {
    char keys[3][KEY_SIZE];
    char args[4][I64_SIZE];
    char *hex;
    const char *key_ptrs[3];
    const char *arg_ptrs[6];
} track_call;

static rv_err track_prepare(const rv_alert *a, int64_t ttl_s, track_call *c)
{
    snprintf(c->keys[0], KEY_SIZE, "rv:casemeta:%s", a->case_id);
    snprintf(c->keys[1], KEY_SIZE, "%s", ALERTER_DUE_KEY);
    snprintf(c->keys[2], KEY_SIZE, "rv:caseoff:%s", a->case_id);
    snprintf(c->args[0], I64_SIZE, "%" PRId64, a->env.occurred_at_us);
    snprintf(c->args[1], I64_SIZE, "%" PRId64, a->deadline_us);
    snprintf(c->args[2], I64_SIZE, "%" PRId64, ttl_s);
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_alert(a, &buf, &len);
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
    for (size_t k = 0; k < 3; k++) {
        c->key_ptrs[k] = c->keys[k];
    }
    c->arg_ptrs[0] = a->case_id;
    c->arg_ptrs[1] = c->args[0];
    c->arg_ptrs[2] = a->alert_id;
    c->arg_ptrs[3] = c->args[1];
    c->arg_ptrs[4] = c->hex;
    c->arg_ptrs[5] = c->args[2];
    return RV_OK;
}

rv_err alerter_cases_track(rv_redis *rc, const rv_alert *alerts, size_t n,
                           int64_t ttl_s)
{
    if (n == 0) {
        return RV_OK;
    }
    track_call *tc = calloc(n, sizeof(*tc));
    rv_redis_call *calls = calloc(n, sizeof(*calls));
    rv_redis_reply *replies = calloc(n, sizeof(*replies));
    rv_err err =
        tc != NULL && calls != NULL && replies != NULL ? RV_OK : RV_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        if (strcmp(alerts[i].kind, RV_ALERT_KIND_ESCALATION) == 0 ||
            alerts[i].case_id[0] == '\0') {
            continue; /* an escalation is about a case, not in one */
        }
        err = track_prepare(&alerts[i], ttl_s, &tc[m]);
        if (err == RV_OK) {
            calls[m] = (rv_redis_call){3, tc[m].key_ptrs, 6, tc[m].arg_ptrs};
            m++;
        }
    }
    if (err == RV_OK && m > 0) {
        err = rv_redis_eval_batch(rc, &track_script, calls, m, replies);
        if (err == RV_OK) {
            err = rv_redis_replies_check(&track_script, replies, m);
            rv_redis_replies_fini(replies, m);
        }
    }
    for (size_t k = 0; tc != NULL && k < n; k++) {
        free(tc[k].hex);
    }
    free(tc);
    free(calls);
    free(replies);
    return err;
}

/* One call of off_script: its keys and arguments, and the storage they
 * point to (with @p case_id, @p ttl and @p why, borrowed). */
typedef struct off_call {
    char key[KEY_SIZE];
    const char *keys[2];
    const char *args[3];
} off_call;

/* Fill @p oc to take @p case_id off the clock with @p why for @p ttl
 * (seconds, as text); @returns the call, pointing into @p oc. */
static rv_redis_call off_call_set(off_call *oc, const char *case_id,
                                  const char *ttl, const char *why)
{
    snprintf(oc->key, sizeof(oc->key), "rv:caseoff:%s", case_id);
    oc->keys[0] = ALERTER_DUE_KEY;
    oc->keys[1] = oc->key;
    oc->args[0] = case_id;
    oc->args[1] = ttl;
    oc->args[2] = why;
    return (rv_redis_call){2, oc->keys, 3, oc->args};
}

/* Take @p case_id off the clock with @p why. */
static rv_err case_off(rv_redis *rc, const char *case_id, const char *why,
                       int64_t ttl_s)
{
    char ttl[I64_SIZE];
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s);
    off_call oc;
    rv_redis_call c = off_call_set(&oc, case_id, ttl, why);
    return rv_redis_eval(rc, &off_script, c.key_count, c.keys, c.arg_count,
                         c.args, NULL);
}

rv_err alerter_cases_act(rv_redis *rc, const rv_case_event *e, int64_t ttl_s)
{
    return case_off(rc, e->case_id, rv_case_action_name(e->action), ttl_s);
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
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_eval(rc, &due_script, 1, keys, 2, args, &reply);
    if (err != RV_OK) {
        return err;
    }
    /* "id|hex|id|hex|...": pairs, empty hex when the case's first alert
     * has expired (it cannot be escalated: taken off the clock). */
    char *cur = reply.str != NULL && reply.str[0] != '\0' ? reply.str : NULL;
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

rv_err alerter_cases_escalated(rv_redis *rc, const rv_alert *first, size_t n,
                               int64_t ttl_s)
{
    if (n == 0) {
        return RV_OK;
    }
    /* One round trip for the slice (up to 256 cases), not one a case. */
    off_call *oc = calloc(n, sizeof(*oc));
    rv_redis_call *calls = calloc(n, sizeof(*calls));
    rv_redis_reply *replies = calloc(n, sizeof(*replies));
    rv_err err =
        oc != NULL && calls != NULL && replies != NULL ? RV_OK : RV_ERR_NOMEM;
    char ttl[I64_SIZE];
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s);
    for (size_t i = 0; err == RV_OK && i < n; i++) {
        calls[i] = off_call_set(&oc[i], first[i].case_id, ttl, "escalated");
    }
    if (err == RV_OK) {
        err = rv_redis_eval_batch(rc, &off_script, calls, n, replies);
        if (err == RV_OK) {
            err = rv_redis_replies_check(&off_script, replies, n);
            rv_redis_replies_fini(replies, n);
        }
    }
    free(oc);
    free(calls);
    free(replies);
    return err;
}

rv_err alerter_agent_hour_count(rv_redis *rc, const rv_grade *g, int64_t *count)
{
    char key[KEY_SIZE];
    snprintf(key, sizeof(key), "rv:a5:%s:%" PRId64, g->agent_id,
             (int64_t)(g->started_at_us / (3600LL * 1000000LL)));
    const char *keys[] = {key};
    const char *args[] = {g->grade_id, HOUR_TTL_S};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_eval(rc, &hour_script, 1, keys, 2, args, &reply);
    if (err == RV_OK) {
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
    rv_envelope_fill(&out->env, out->alert_id, first->deadline_us, "alerter",
                     first->env.event_id);
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
}
