/* workers/sampler/sampler_churn.c: churn visits, R7 (sampler_churn.h). */
#include "sampler_churn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/log.h"

#define US_PER_DAY 86400000000LL
#define US_PER_HOUR 3600000000LL
#define KEY_SIZE (RV_KEY_SIZE + 64)
#define NUM_SIZE 32
/* The keys of sampler_churn.h, by rule ID (and customer, event). */
#define DUE_KEY_FMT "rv:churn:%s:due"
#define HASH_KEY_FMT "rv:churn:%s:c:%s"
#define MEMO_KEY_FMT "rv:churn:%s:m:%s"
/* Keys live 4000 days: longer than any inactivity period. */
#define CHURN_TTL_S "345600000"

static rv_script offer_script = {
    .name = "churn_offer",
    .source =
        "local m = redis.call('GET', KEYS[3])\n"
        "if m then return {m} end\n"
        "local cur = redis.call('HMGET', KEYS[2], 't', 'task', 'ev')\n"
        "local t = tonumber(ARGV[1])\n"
        "if cur[3] == ARGV[6] then return {'same'} end\n"
        "if cur[1] and t <= tonumber(cur[1]) then return {'older'} end\n"
        "redis.call('HSET', KEYS[2], 't', ARGV[1], 'task', ARGV[2], 'ev', "
        "ARGV[6])\n"
        "redis.call('ZADD', KEYS[1], string.format('%.0f', t + "
        "tonumber(ARGV[3])), ARGV[4])\n"
        "redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
        "redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
        "if not cur[1] or not cur[2] then return {'new'} end\n"
        "local kind = 'overdue'\n"
        "if t < tonumber(cur[1]) + tonumber(ARGV[5]) then\n"
        "  kind = 'superseded'\n"
        "end\n"
        "redis.call('SET', KEYS[3], kind .. '|' .. cur[2], 'EX', ARGV[8])\n"
        "return {kind, cur[2]}\n",
};

static rv_script due_script = {
    .name = "churn_due",
    .source = "local z = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', "
              "ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])\n"
              "local out = {}\n"
              "for i = 1, #z, 2 do\n"
              "  out[#out + 1] = z[i]\n"
              "  out[#out + 1] = z[i + 1]\n"
              "  out[#out + 1] = redis.call('HGET', ARGV[3] .. z[i], 'task') "
              "or '-'\n"
              "end\n"
              "return out\n",
};

static rv_script fired_script = {
    .name = "churn_fired",
    .source = "local s = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
              "if s and tonumber(s) == tonumber(ARGV[2]) then\n"
              "  redis.call('ZREM', KEYS[1], ARGV[1])\n"
              "  redis.call('HDEL', KEYS[2], 'task')\n"
              "end\n"
              "return 1\n",
};

bool sampler_churn_task(const rv_policy *p, const rv_calendar *cal,
                        const rv_rule *rule, const sampler_event *ev,
                        const char *worker, rv_task *out)
{
    int branch = cal != NULL ? rv_calendar_branch(cal, ev->branch_id) : -1;
    if (branch < 0) {
        return false;
    }
    const rv_rule *rules[] = {rule};
    sampler_task_for(p, ev, worker, rules, 1, out);
    int64_t churn =
        ev->env->occurred_at_us + rule->inactivity.after_days * US_PER_DAY;
    out->env.occurred_at_us = churn;
    out->sample_u = rv_hash_unit(p->salt, rule->id, ev->env->event_id);
    rv_calendar_due_window(rule, cal, branch, churn, &out->due_start_us,
                           &out->due_end_us);
    return true;
}

void sampler_churn_offer_prepare(const rv_rule *rule, const sampler_event *ev,
                                 char *task_hex, sampler_churn_offer_call *out)
{
    int64_t after_us = rule->inactivity.after_days * US_PER_DAY;
    snprintf(out->due, sizeof(out->due), DUE_KEY_FMT, rule->id);
    snprintf(out->hkey, sizeof(out->hkey), HASH_KEY_FMT, rule->id,
             ev->customer_id);
    snprintf(out->t, sizeof(out->t), "%" PRId64, ev->env->occurred_at_us);
    snprintf(out->after, sizeof(out->after), "%" PRId64, after_us);
    snprintf(
        out->offset, sizeof(out->offset), "%" PRId64,
        (int64_t)(after_us + rule->inactivity.lateness_hours * US_PER_HOUR));
    snprintf(out->customer, sizeof(out->customer), "%s", ev->customer_id);
    snprintf(out->event, sizeof(out->event), "%s", ev->env->event_id);
    snprintf(out->memo, sizeof(out->memo), MEMO_KEY_FMT, rule->id,
             ev->env->event_id);
    out->hex = task_hex;
}

/* Reply @p r of the offer script into *result and *prev_hex. */
static rv_err churn_reply(const rv_redis_reply *r, sampler_churn_result *result,
                          char **prev_hex)
{
    *prev_hex = NULL;
    rv_err err = rv_redis_replies_check(&offer_script, r, 1);
    if (err != RV_OK) {
        return err;
    }
    const char *s = r->type == RV_REPLY_STR && r->str != NULL ? r->str : "";
    static const struct {
        const char *word;
        sampler_churn_result result;
    } words[] = {{"new", SAMPLER_CHURN_NEW},
                 {"same", SAMPLER_CHURN_SAME},
                 {"older", SAMPLER_CHURN_OLDER},
                 {"superseded|", SAMPLER_CHURN_SUPERSEDED},
                 {"overdue|", SAMPLER_CHURN_OVERDUE}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i].word);
        if (strncmp(s, words[i].word, n) == 0) {
            *result = words[i].result;
            if (s[n - 1] == '|') {
                *prev_hex = strdup(s + n);
                return *prev_hex != NULL ? RV_OK : RV_ERR_NOMEM;
            }
            return RV_OK;
        }
    }
    return RV_ERR_FATAL;
}

rv_err sampler_churn_offer_batch(rv_redis *rc,
                                 const sampler_churn_offer_call *offers,
                                 size_t count, sampler_churn_result *results,
                                 char **prev_hex)
{
    for (size_t i = 0; i < count; i++) {
        prev_hex[i] = NULL;
    }
    if (count == 0) {
        return RV_OK;
    }
    /* keys and args of call i at 11 * i and 11 * i + 3 */
    const char **strs = malloc(count * 11 * sizeof(*strs));
    rv_redis_call *calls = calloc(count, sizeof(*calls));
    rv_redis_reply *replies = calloc(count, sizeof(*replies));
    rv_err err =
        strs != NULL && calls != NULL && replies != NULL ? RV_OK : RV_ERR_NOMEM;
    for (size_t i = 0; err == RV_OK && i < count; i++) {
        const sampler_churn_offer_call *o = &offers[i];
        const char **keys = strs + 11 * i, **args = keys + 3;
        keys[0] = o->due;
        keys[1] = o->hkey;
        keys[2] = o->memo;
        args[0] = o->t;
        args[1] = o->hex;
        args[2] = o->offset;
        args[3] = o->customer;
        args[4] = o->after;
        args[5] = o->event;
        args[6] = CHURN_TTL_S;
        args[7] = RV_MEMO_TTL_S_TEXT;
        calls[i] = (rv_redis_call){3, keys, 8, args};
    }
    if (err == RV_OK) {
        err = rv_redis_eval_batch(rc, &offer_script, calls, count, replies);
    }
    for (size_t i = 0; err == RV_OK && i < count; i++) {
        err = churn_reply(&replies[i], &results[i], &prev_hex[i]);
    }
    if (err != RV_OK) {
        for (size_t i = 0; i < count; i++) {
            free(prev_hex[i]);
            prev_hex[i] = NULL;
        }
    }
    rv_redis_replies_fini(replies, count);
    free(replies);
    free(calls);
    free(strs);
    return err;
}

rv_err sampler_churn_due_list(rv_redis *rc, const rv_rule *rule, int64_t now_us,
                              sampler_churn_due *out, size_t cap, size_t *count)
{
    *count = 0;
    char due[KEY_SIZE], prefix[KEY_SIZE], now[NUM_SIZE], limit[NUM_SIZE];
    snprintf(due, sizeof(due), DUE_KEY_FMT, rule->id);
    snprintf(prefix, sizeof(prefix), HASH_KEY_FMT, rule->id, "");
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    snprintf(limit, sizeof(limit), "%zu", cap);
    const char *keys[] = {due};
    const char *args[] = {now, limit, prefix};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_eval(rc, &due_script, 1, keys, 3, args, &reply);
    if (err != RV_OK) {
        return err;
    }
    char *save = NULL;
    char *s = reply.type == RV_REPLY_STR ? reply.str : NULL;
    for (char *cust = s != NULL ? strtok_r(s, "|", &save) : NULL;
         cust != NULL && *count < cap && err == RV_OK;
         cust = strtok_r(NULL, "|", &save)) {
        char *score = strtok_r(NULL, "|", &save);
        char *hex = score != NULL ? strtok_r(NULL, "|", &save) : NULL;
        if (hex == NULL) {
            break;
        }
        sampler_churn_due *d = &out[*count];
        snprintf(d->customer, sizeof(d->customer), "%s", cust);
        snprintf(d->score, sizeof(d->score), "%s", score);
        d->hex = strdup(hex);
        err = d->hex != NULL ? RV_OK : RV_ERR_NOMEM;
        (*count)++;
    }
    rv_redis_replies_fini(&reply, 1);
    return err;
}

rv_err sampler_churn_fired(rv_redis *rc, const rv_rule *rule,
                           const sampler_churn_due *due, size_t count)
{
    if (count == 0) {
        return RV_OK;
    }
    char key[KEY_SIZE];
    snprintf(key, sizeof(key), DUE_KEY_FMT, rule->id);
    /* keys and args of call i at 4 * i: the clock, the customer's hash;
     * the customer, the score */
    const char **strs = malloc(4 * count * sizeof(*strs));
    char(*hkeys)[2 * KEY_SIZE] = malloc(count * sizeof(*hkeys));
    rv_redis_call *calls = calloc(count, sizeof(*calls));
    rv_redis_reply *replies = calloc(count, sizeof(*replies));
    rv_err err =
        strs != NULL && hkeys != NULL && calls != NULL && replies != NULL
            ? RV_OK
            : RV_ERR_NOMEM;
    for (size_t i = 0; err == RV_OK && i < count; i++) {
        snprintf(hkeys[i], sizeof(hkeys[i]), HASH_KEY_FMT, rule->id,
                 due[i].customer);
        const char **keys = strs + 4 * i, **args = keys + 2;
        keys[0] = key;
        keys[1] = hkeys[i];
        args[0] = due[i].customer;
        args[1] = due[i].score;
        calls[i] = (rv_redis_call){2, keys, 2, args};
    }
    if (err == RV_OK) {
        err = rv_redis_eval_batch(rc, &fired_script, calls, count, replies);
    }
    if (err == RV_OK) {
        err = rv_redis_replies_check(&fired_script, replies, count);
    }
    if (replies != NULL) {
        rv_redis_replies_fini(replies, count);
    }
    free(replies);
    free(calls);
    free(hkeys);
    free(strs);
    return err;
}
