/* workers/sampler/sampler_churn.c: churn visits, R7 (sampler_churn.h). */
#include "sampler_churn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/codec.h"
#include "rv/hash.h"

#define US_PER_DAY 86400000000LL
#define US_PER_HOUR 3600000000LL
#define KEY_SIZE (RV_KEY_SIZE + 64)
#define NUM_SIZE 32
/* Keys live 4000 days: longer than any inactivity period. */
#define CHURN_TTL_S "345600000"

static rv_script offer_script = {
    .name = "churn_offer",
    .source =
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
        "if not cur[1] then return {'new'} end\n"
        "if t < tonumber(cur[1]) + tonumber(ARGV[5]) then\n"
        "  return {'superseded', cur[2]}\n"
        "end\n"
        "return {'overdue', cur[2]}\n",
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

rv_err sampler_churn_offer(rv_redis *rc, const rv_rule *rule,
                           const sampler_event *ev, const rv_task *task,
                           sampler_churn_result *result, char **prev_hex)
{
    *prev_hex = NULL;
    char due[KEY_SIZE], hkey[KEY_SIZE * 2];
    snprintf(due, sizeof(due), "rv:churn:%s:due", rule->id);
    snprintf(hkey, sizeof(hkey), "rv:churn:%s:c:%s", rule->id, ev->customer_id);
    char t[NUM_SIZE], offset[NUM_SIZE], after[NUM_SIZE];
    int64_t after_us = rule->inactivity.after_days * US_PER_DAY;
    snprintf(t, sizeof(t), "%" PRId64, ev->env->occurred_at_us);
    snprintf(after, sizeof(after), "%" PRId64, after_us);
    snprintf(
        offset, sizeof(offset), "%" PRId64,
        (int64_t)(after_us + rule->inactivity.lateness_hours * US_PER_HOUR));
    char *hex = NULL;
    rv_err err = rv_codec_encode_task_hex(task, &hex);
    if (err != RV_OK) {
        return err;
    }
    const char *keys[] = {due, hkey};
    const char *args[] = {
        t, hex, offset, ev->customer_id, after, ev->env->event_id, CHURN_TTL_S};
    rv_redis_reply reply = {0};
    err = rv_redis_eval(rc, &offer_script, 2, keys, 7, args, &reply);
    free(hex);
    if (err != RV_OK) {
        return err;
    }
    const char *s =
        reply.type == RV_REPLY_STR && reply.str != NULL ? reply.str : "";
    static const struct {
        const char *word;
        sampler_churn_result result;
    } words[] = {{"new", SAMPLER_CHURN_NEW},
                 {"same", SAMPLER_CHURN_SAME},
                 {"older", SAMPLER_CHURN_OLDER},
                 {"superseded|", SAMPLER_CHURN_SUPERSEDED},
                 {"overdue|", SAMPLER_CHURN_OVERDUE}};
    err = RV_ERR_FATAL;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i].word);
        if (strncmp(s, words[i].word, n) == 0) {
            *result = words[i].result;
            err = RV_OK;
            if (s[n - 1] == '|') {
                *prev_hex = strdup(s + n);
                err = *prev_hex != NULL ? RV_OK : RV_ERR_NOMEM;
            }
            break;
        }
    }
    rv_redis_replies_fini(&reply, 1);
    return err;
}

rv_err sampler_churn_due_list(rv_redis *rc, const rv_rule *rule, int64_t now_us,
                              sampler_churn_due *out, size_t cap, size_t *count)
{
    *count = 0;
    char due[KEY_SIZE], prefix[KEY_SIZE], now[NUM_SIZE], limit[NUM_SIZE];
    snprintf(due, sizeof(due), "rv:churn:%s:due", rule->id);
    snprintf(prefix, sizeof(prefix), "rv:churn:%s:c:", rule->id);
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
                           const sampler_churn_due *d)
{
    char due[KEY_SIZE];
    snprintf(due, sizeof(due), "rv:churn:%s:due", rule->id);
    const char *keys[] = {due};
    const char *args[] = {d->customer, d->score};
    return rv_redis_eval(rc, &fired_script, 1, keys, 2, args, NULL);
}
