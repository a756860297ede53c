/* workers/sampler/sampler_quota.c: the pure half of quota sampling
 * (sampler_quota.h). */
#include "sampler_quota.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rv/hash.h"

#define US_PER_HOUR (3600LL * 1000000LL)

double sampler_quota_key(double u, double w)
{
    if (w <= 0.0) {
        return u;
    }
    return u <= 0.0 ? 0.0 : -log(u) / w;
}

int sampler_quota_buckets(const rv_rule *rule)
{
    return (int)rule->tier_count + 1;
}

/* Tier by threshold: the highest tier whose min_cents the amount reaches;
 * tier_count when below the lowest. */
static int bucket_of(const rv_rule *rule, int64_t cents)
{
    int b = (int)rule->tier_count;
    for (unsigned i = 0; i < rule->tier_count; i++) {
        if (cents >= rule->tiers[i].min_cents) {
            b = (int)i;
        }
    }
    return b;
}

/* The bucket keeps its own quota and every higher tier's, whose shortfall
 * it may fill; below the lowest threshold, every quota. A percent quota
 * keeps every sale: its take depends on the count at the close. */
static int64_t keep_of(const rv_rule *rule, int bucket)
{
    if (rule->quota.percent > 0) {
        return SAMPLER_QUOTA_KEEP_ALL;
    }
    int64_t keep = 0;
    unsigned from = bucket >= (int)rule->tier_count ? 0 : (unsigned)bucket;
    for (unsigned i = from; i < rule->tier_count; i++) {
        keep += rule->tiers[i].quota;
    }
    return keep;
}

bool sampler_quota_candidate(const rv_policy *p, const rv_calendar *cal,
                             const rv_rule *rule, const sampler_event *ev,
                             const char *worker, sampler_candidate *out)
{
    int branch = cal != NULL ? rv_calendar_branch(cal, ev->branch_id) : -1;
    if (branch < 0) {
        return false;
    }
    const rv_quota *q = &rule->quota;
    bool weekly = q->period != NULL && strcmp(q->period, "week") == 0;
    bool by_branch = q->per != NULL && strcmp(q->per, "branch") == 0;
    int64_t day = rv_calendar_local_day(cal, branch, ev->env->occurred_at_us);
    int64_t start = weekly ? day - rv_calendar_weekday(day) : day;
    int64_t end = start + (weekly ? 7 : 1);
    char start_s[RV_DAY_SIZE];
    rv_calendar_day_str(start, start_s);
    memset(out, 0, sizeof(*out));
    snprintf(out->label, sizeof(out->label), "%.31s@%.63s@%s%s", rule->id,
             by_branch ? ev->branch_id : ev->store_id, weekly ? "W" : "",
             start_s);
    out->bucket = bucket_of(rule, ev->amount_cents);
    out->keep = keep_of(rule, out->bucket);
    int64_t period_end = rv_calendar_local_to_us(cal, branch, end, 0);
    out->close_us = period_end + q->lateness_hours * US_PER_HOUR;
    const rv_rule *rules[] = {rule};
    sampler_task_for(p, ev, worker, rules, 1, &out->task);
    out->task.sample_u = rv_hash_unit(p->salt, rule->id, ev->env->event_id);
    out->task.sample_rate = 0.0;
    double w = 0.0;
    if (q->weight != NULL) {
        int64_t v =
            strcmp(q->weight, "gift") == 0 ? ev->gift_cents : ev->amount_cents;
        w = (double)(v > 0 ? v : 1);
    }
    out->key = sampler_quota_key(out->task.sample_u, w);
    rv_calendar_due_window(rule, cal, branch, period_end,
                           &out->task.due_start_us, &out->task.due_end_us);
    return true;
}

void sampler_quota_allocate(const rv_rule *rule, const size_t *counts,
                            size_t *take)
{
    size_t tiers = rule->tier_count;
    if (rule->quota.percent > 0) {
        for (size_t i = 0; i <= tiers; i++) {
            take[i] = (counts[i] * (size_t)rule->quota.percent + 99) / 100;
        }
        return;
    }
    size_t carry = 0;
    for (size_t i = tiers; i-- > 0;) {
        size_t want = (size_t)rule->tiers[i].quota + carry;
        take[i] = counts[i] < want ? counts[i] : want;
        carry = want - take[i];
    }
    take[tiers] = counts[tiers] < carry ? counts[tiers] : carry;
}

void sampler_quota_rule_of(const char *label, char *out, size_t out_size)
{
    const char *at = strchr(label, '@');
    size_t n = at != NULL ? (size_t)(at - label) : strlen(label);
    snprintf(out, out_size, "%.*s", (int)n, label);
}

void sampler_quota_decision(const rv_task *t, rv_decision_outcome outcome,
                            const char *reason, const char *worker,
                            rv_decision *out)
{
    memset(out, 0, sizeof(*out));
    const char *parts[] = {t->source_event_id, t->rule_id, "decision"};
    rv_id_derive(out->decision_id, 3, parts);
    rv_envelope_fill(&out->env, out->decision_id, t->env.occurred_at_us, worker,
                     t->source_event_id);
    rv_copy_str(out->source_event_id, sizeof(out->source_event_id),
                t->source_event_id);
    rv_copy_str(out->customer_id, sizeof(out->customer_id), t->customer_id);
    rv_copy_str(out->branch_id, sizeof(out->branch_id), t->branch_id);
    rv_copy_str(out->store_id, sizeof(out->store_id), t->store_id);
    rv_copy_str(out->rule_id, sizeof(out->rule_id), t->rule_id);
    rv_copy_str(out->policy_version, sizeof(out->policy_version),
                t->policy_version);
    rv_copy_str(out->reason, sizeof(out->reason), reason);
    out->outcome = outcome;
    out->u = t->sample_u;
    out->rate = -1.0;
    if (outcome != RV_DECISION_NOT_SELECTED) {
        rv_copy_str(out->task_id, sizeof(out->task_id), t->task_id);
    }
}
