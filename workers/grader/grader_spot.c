/* workers/grader/grader_spot.c: R10 spot checks (grader_spot.h), kept
 * in the sample store (rv/sample_store.h, namespace "r10": one group per
 * agent and month, one bucket, the payload is the re-visit task). */
#include "grader_spot.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/log.h"
#include "rv/sample_store.h"

#define SPOT_NS "r10"
#define US_PER_HOUR (3600LL * 1000000LL)

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

rv_err grader_spot_offer_batch(rv_redis *rc, const rv_policy *p,
                               const grader_spot *spots, size_t count,
                               bool *late)
{
    if (count == 0) {
        return RV_OK;
    }
    rv_sample_offer *o = calloc(count, sizeof(*o));
    char **hex = calloc(count, sizeof(*hex));
    char **trimmed = calloc(count, sizeof(*trimmed));
    rv_err err =
        o != NULL && hex != NULL && trimmed != NULL ? RV_OK : RV_ERR_NOMEM;
    for (size_t i = 0; err == RV_OK && i < count; i++) {
        const grader_spot *s = &spots[i];
        err = rv_codec_encode_task_hex(&s->task, &hex[i]);
        o[i] = (rv_sample_offer){
            .ns = SPOT_NS,
            .label = s->label,
            .bucket = 0,
            .u = s->u,
            .member = s->task.source_event_id,
            .payload = hex[i],
            .keep = p->spot_checks.per_agent_month,
            .close_us = s->close_us,
        };
    }
    if (err == RV_OK) {
        err = rv_sample_offer_batch(rc, o, count, late, trimmed);
    }
    for (size_t i = 0; i < count && hex != NULL; i++) {
        free(hex[i]);
        /* a visit not chosen needs no record of its own */
        free(trimmed != NULL ? trimmed[i] : NULL);
    }
    free(trimmed);
    free(hex);
    free(o);
    return err;
}

rv_err grader_spot_offer(rv_redis *rc, const rv_policy *p, const grader_spot *s,
                         bool *late)
{
    return grader_spot_offer_batch(rc, p, s, 1, late);
}

rv_err grader_spot_due(rv_redis *rc, int64_t now_us, rv_task *tasks, size_t cap,
                       size_t *task_count, char (*labels)[RV_SAMPLE_LABEL_SIZE],
                       size_t *label_count)
{
    *task_count = 0;
    *label_count = 0;
    char due[16][RV_SAMPLE_LABEL_SIZE];
    size_t n = 0;
    rv_err err = rv_sample_due(rc, SPOT_NS, now_us, due, 16, &n);
    for (size_t g = 0; g < n && err == RV_OK; g++) {
        rv_sample_member *m = NULL;
        size_t count = 0;
        err = rv_sample_read(rc, SPOT_NS, due[g], 1, &m, &count);
        if (err != RV_OK) {
            break;
        }
        if (count > cap - *task_count) {
            rv_sample_members_free(m, count); /* next tick */
            break;
        }
        for (size_t i = 0; i < count; i++) {
            char errstr[160] = "";
            if (rv_codec_decode_task_hex(m[i].payload, &tasks[*task_count],
                                         errstr, sizeof(errstr)) == RV_OK) {
                (*task_count)++;
            } else {
                RV_LOG(RV_LOG_WARN, "spot_task_unreadable",
                       RV_KV_STR("reason", errstr));
            }
        }
        rv_sample_members_free(m, count);
        memcpy(labels[(*label_count)++], due[g], RV_SAMPLE_LABEL_SIZE);
    }
    return err;
}

rv_err grader_spot_close(rv_redis *rc, char (*labels)[RV_SAMPLE_LABEL_SIZE],
                         size_t n)
{
    rv_err err = RV_OK;
    for (size_t i = 0; i < n && err == RV_OK; i++) {
        err = rv_sample_close(rc, SPOT_NS, labels[i], 1);
    }
    return err;
}
