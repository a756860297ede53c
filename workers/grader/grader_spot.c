/* workers/grader/grader_spot.c: R10 spot checks (grader_spot.h). Keys,
 * all with an expiry, <label> = "<agent>@<YYYY-MM>":
 *   rv:r10:<label>   zset outcome_id by draw u: the month's sample so far
 *   rv:r10t:<label>  hash outcome_id -> re-visit task (hex protobuf)
 *   rv:r10c:<label>  the month is closed: later visits are late
 *   rv:r10:open      zset label by close time (µs UTC)
 * One Redis, not Redis Cluster (the open set names other keys). */
#include "grader_spot.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/log.h"

#define OPEN_KEY "rv:r10:open"
#define KEY_SIZE (RV_KEY_SIZE + 48)
#define NUM_SIZE 32
#define US_PER_HOUR (3600LL * 1000000LL)
/* Keys live 400 days: longer than any month stays open. */
#define SPOT_TTL_S "34560000"

static rv_script offer_script = {
    .name = "spot_offer",
    .source = "if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end\n"
              "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])\n"
              "redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])\n"
              "local k = tonumber(ARGV[4])\n"
              "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], k, -1)) do\n"
              "  redis.call('HDEL', KEYS[2], m)\n"
              "end\n"
              "redis.call('ZREMRANGEBYRANK', KEYS[1], k, -1)\n"
              "redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])\n"
              "redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
              "redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
              "redis.call('EXPIRE', KEYS[3], ARGV[7])\n"
              "return 1\n",
};

static rv_script close_script = {
    .name = "spot_close",
    .source = "redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])\n"
              "redis.call('DEL', KEYS[1], KEYS[2])\n"
              "redis.call('ZREM', KEYS[4], ARGV[1])\n"
              "return 1\n",
};

/* Local month of @p t_us in @p branch: "YYYY-MM" and the UTC µs of the
 * first instant of the next month. */
static bool local_month(const rv_calendar *cal, int branch, int64_t t_us,
                        char month[8], int64_t *end_us)
{
    char day_s[RV_DAY_SIZE];
    rv_calendar_day_str(rv_calendar_local_day(cal, branch, t_us), day_s);
    unsigned y = 0, m = 0;
    if (sscanf(day_s, "%4u-%2u", &y, &m) != 2 || y > 9998 || m < 1 || m > 12) {
        return false;
    }
    snprintf(month, 8, "%04u-%02u", y % 10000u, m % 100u);
    char next[24];
    snprintf(next, sizeof(next), "%04u-%02u-01", (m == 12 ? y + 1 : y) % 10000u,
             (m == 12 ? 1 : m + 1) % 100u);
    int64_t next_day = 0;
    if (rv_calendar_day_parse(next, &next_day) != RV_OK) {
        return false;
    }
    *end_us = rv_calendar_local_to_us(cal, branch, next_day, 0);
    return true;
}

bool grader_spot_candidate(const rv_policy *p, const rv_calendar *cal,
                           const rv_outcome *o, const rv_grade *g,
                           grader_spot *out)
{
    const rv_spot_check_policy *sc = &p->spot_checks;
    if (sc->per_agent_month <= 0 || sc->rule == NULL ||
        g->verdict != RV_VERDICT_SUCCESS || o->channel != RV_CHANNEL_PHONE ||
        o->agent_id[0] == '\0' || strcmp(o->rule_id, sc->rule) == 0) {
        return false;
    }
    const rv_rule *rule = rv_policy_rule(p, sc->rule);
    int branch = cal != NULL ? rv_calendar_branch(cal, o->branch_id) : -1;
    char month[8];
    int64_t month_end = 0;
    if (rule == NULL || branch < 0 ||
        !local_month(cal, branch, o->started_at_us, month, &month_end)) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->label, sizeof(out->label), "%s@%s", o->agent_id, month);
    out->u = rv_hash_unit(p->salt, "R10", o->outcome_id);
    out->close_us = month_end + sc->lateness_hours * US_PER_HOUR;
    rv_task *t = &out->task;
    const char *parts[] = {o->outcome_id, rule->id};
    rv_id_derive(t->task_id, 2, parts);
    rv_envelope_fill(&t->env, t->task_id, month_end, "grader", o->env.event_id);
    rv_copy_str(t->customer_id, sizeof(t->customer_id), o->customer_id);
    rv_copy_str(t->branch_id, sizeof(t->branch_id), o->branch_id);
    rv_copy_str(t->store_id, sizeof(t->store_id), o->store_id);
    rv_copy_str(t->rule_id, sizeof(t->rule_id), rule->id);
    snprintf(t->reasons[0], RV_REASON_SIZE,
             "%.31s spot check of task %.32s by agent %.40s (seed 000 第五篇)",
             rule->id, o->task_id, o->agent_id);
    t->reason_count = 1;
    rv_copy_str(t->source_event_id, sizeof(t->source_event_id),
                o->env.event_id);
    rv_calendar_due_window(rule, cal, branch, month_end, &t->due_start_us,
                           &t->due_end_us);
    t->priority = (int32_t)rule->priority;
    t->channel = rv_channel_parse(rule->channel);
    for (unsigned q = 0; q < rule->question_count && q < RV_QUESTIONS_MAX;
         q++) {
        rv_copy_str(t->questions[q], RV_KEY_SIZE, rule->questions[q]);
        t->question_count++;
    }
    rv_copy_str(t->policy_version, sizeof(t->policy_version), p->version);
    t->attempt = 1;
    rv_copy_str(t->phone, sizeof(t->phone), o->phone);
    t->sample_u = out->u;
    /* R3-style independence: the agent being checked never re-visits. */
    rv_copy_str(t->salesperson_id, sizeof(t->salesperson_id), o->agent_id);
    return true;
}

rv_err grader_spot_offer(rv_redis *rc, const rv_policy *p, const grader_spot *s,
                         bool *late)
{
    *late = false;
    char zkey[KEY_SIZE], hkey[KEY_SIZE], ckey[KEY_SIZE];
    snprintf(zkey, sizeof(zkey), "rv:r10:%s", s->label);
    snprintf(hkey, sizeof(hkey), "rv:r10t:%s", s->label);
    snprintf(ckey, sizeof(ckey), "rv:r10c:%s", s->label);
    char u[NUM_SIZE], k[NUM_SIZE], close_s[NUM_SIZE];
    snprintf(u, sizeof(u), "%.17g", s->u);
    snprintf(k, sizeof(k), "%" PRId64, p->spot_checks.per_agent_month);
    snprintf(close_s, sizeof(close_s), "%" PRId64, s->close_us);
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_err err = rv_codec_encode_task(&s->task, &buf, &len);
    if (err != RV_OK) {
        return err;
    }
    char *hex = malloc(2 * len + 1);
    if (hex == NULL) {
        free(buf);
        return RV_ERR_NOMEM;
    }
    rv_hex_encode(buf, len, hex);
    free(buf);
    const char *outcome = s->task.source_event_id;
    const char *keys[] = {zkey, hkey, OPEN_KEY, ckey};
    const char *args[] = {u, outcome, hex, k, close_s, s->label, SPOT_TTL_S};
    rv_redis_reply reply = {0};
    err = rv_redis_eval(rc, &offer_script, 4, keys, 7, args, &reply);
    free(hex);
    if (err == RV_OK) {
        *late = reply.type == RV_REPLY_INT && reply.integer == 0;
        rv_redis_replies_fini(&reply, 1);
    }
    return err;
}

/* Decode the '|'-joined hex tasks of one month into @p tasks. */
static size_t decode_tasks(char *joined, rv_task *tasks, size_t cap)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(joined, "|", &save); tok != NULL && n < cap;
         tok = strtok_r(NULL, "|", &save)) {
        size_t room = strlen(tok) / 2 + 1;
        uint8_t *buf = malloc(room);
        long len = buf != NULL ? rv_hex_decode(tok, buf, room) : -1;
        char errstr[160] = "";
        if (len > 0 && rv_codec_decode_task(buf, (size_t)len, &tasks[n], errstr,
                                            sizeof(errstr)) == RV_OK) {
            n++;
        } else {
            RV_LOG(RV_LOG_WARN, "spot_task_unreadable",
                   RV_KV_STR("reason", errstr));
        }
        free(buf);
    }
    return n;
}

rv_err grader_spot_due(rv_redis *rc, int64_t now_us, rv_task *tasks, size_t cap,
                       size_t *task_count, char (*labels)[RV_KEY_SIZE + 16],
                       size_t *label_count)
{
    *task_count = 0;
    *label_count = 0;
    char now[NUM_SIZE];
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    const char *argv[] = {"ZRANGEBYSCORE", OPEN_KEY, "-inf", now,
                          "LIMIT",         "0",      "16"};
    rv_redis_reply reply = {0};
    rv_err err = rv_redis_command(rc, 7, argv, &reply);
    if (err != RV_OK) {
        return err;
    }
    char *save = NULL;
    for (char *label = reply.type == RV_REPLY_STR && reply.str != NULL
                           ? strtok_r(reply.str, "|", &save)
                           : NULL;
         label != NULL && err == RV_OK && *label_count < cap;
         label = strtok_r(NULL, "|", &save)) {
        char hkey[KEY_SIZE];
        snprintf(hkey, sizeof(hkey), "rv:r10t:%s", label);
        const char *hv[] = {"HVALS", hkey};
        rv_redis_reply vals = {0};
        err = rv_redis_command(rc, 2, hv, &vals);
        if (err != RV_OK) {
            break;
        }
        /* At most per_agent_month (<= 100) tasks a month; stop before a
         * month that does not fit, it comes next time. */
        size_t room = cap - *task_count;
        size_t want = 0;
        for (const char *c = vals.str; c != NULL && *c != '\0'; c++) {
            want += *c == '|';
        }
        want += vals.str != NULL && vals.str[0] != '\0';
        if (want > room) {
            rv_redis_replies_fini(&vals, 1);
            break;
        }
        if (vals.type == RV_REPLY_STR && vals.str != NULL) {
            *task_count += decode_tasks(vals.str, tasks + *task_count, room);
        }
        rv_redis_replies_fini(&vals, 1);
        rv_copy_str(labels[*label_count], sizeof(labels[0]), label);
        (*label_count)++;
    }
    rv_redis_replies_fini(&reply, 1);
    return err;
}

rv_err grader_spot_close(rv_redis *rc, char (*labels)[RV_KEY_SIZE + 16],
                         size_t n)
{
    rv_err err = RV_OK;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        char zkey[KEY_SIZE], hkey[KEY_SIZE], ckey[KEY_SIZE];
        snprintf(zkey, sizeof(zkey), "rv:r10:%s", labels[i]);
        snprintf(hkey, sizeof(hkey), "rv:r10t:%s", labels[i]);
        snprintf(ckey, sizeof(ckey), "rv:r10c:%s", labels[i]);
        const char *keys[] = {zkey, hkey, ckey, OPEN_KEY};
        const char *args[] = {labels[i], SPOT_TTL_S};
        err = rv_redis_eval(rc, &close_script, 4, keys, 2, args, NULL);
    }
    return err;
}
