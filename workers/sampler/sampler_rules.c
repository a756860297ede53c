/* workers/sampler/sampler_rules.c: rule matching, sampling draws, due
 * windows and the merge of several reasons into one visit. */
#include "sampler_rules.h"

#include <stdio.h>
#include <string.h>

#include "rv/hash.h"

#define US_PER_HOUR 3600000000LL

/* Quota (sampler_quota.h) and inactivity (sampler_churn.h) rules decide
 * later, on the watermark; a schedule rule (R6) gives its own follow-ups
 * (sampler_schedule_tasks): none of them merges with the others (C3). */
static bool decides_apart(const rv_rule *rule)
{
    return rv_rule_is_quota(rule) || rv_rule_is_inactivity(rule) ||
           rv_rule_is_schedule(rule);
}

static bool listed(char *const *list, unsigned n, const char *v)
{
    for (unsigned i = 0; v != NULL && i < n; i++) {
        if (strcmp(list[i], v) == 0) {
            return true;
        }
    }
    return false;
}

static bool flag_fails(const bool *want, bool have)
{
    return want != NULL && *want != have;
}

sampler_match sampler_rule_match(const rv_policy *p, const rv_rule *rule,
                                 const sampler_event *ev, char *why,
                                 size_t why_size)
{
    bool sale = strcmp(ev->kind, "sale") == 0;
    if (!rv_rule_has_trigger(rule, ev->kind) &&
        !(sale && ev->gift_cents > 0 && rv_rule_has_trigger(rule, "gift"))) {
        return SAMPLER_NO_TRIGGER;
    }
    const rv_when *w = &rule->when;
    const char *cls = ev->customer_class != NULL ? ev->customer_class : "";
    const char *fails = NULL;
    char value[80] = "";
    if (w->segment_count > 0 &&
        !listed(w->segments, w->segment_count, ev->segment)) {
        fails = "segment";
        snprintf(value, sizeof(value), "%.63s",
                 ev->segment != NULL ? ev->segment : "");
    } else if (w->class_count > 0 && !listed(w->classes, w->class_count, cls)) {
        fails = "class";
        snprintf(value, sizeof(value), "%s", cls);
    } else if (w->category_count > 0) {
        fails = "categories";
        for (size_t i = 0; i < ev->category_count && ev->categories != NULL;
             i++) {
            if (listed(w->categories, w->category_count, ev->categories[i])) {
                fails = NULL;
            }
        }
    }
    if (fails == NULL && flag_fails(w->new_customer, ev->new_customer)) {
        fails = "new_customer";
    } else if (fails == NULL &&
               flag_fails(w->developed, ev->salesperson_id != NULL &&
                                            ev->salesperson_id[0] != '\0')) {
        fails = "developed";
    } else if (fails == NULL && flag_fails(w->gift, ev->gift_cents > 0)) {
        fails = "gift";
    }
    if (fails != NULL) {
        snprintf(why, why_size, "%.31s: when.%s does not hold%s%s%s", rule->id,
                 fails, value[0] != '\0' ? " (\"" : "", value,
                 value[0] != '\0' ? "\")" : "");
        return SAMPLER_CONDITION_FAILS;
    }
    const rv_class *k = rv_policy_class(p, cls);
    if (k != NULL && k->routine != NULL && !*k->routine &&
        !listed(w->classes, w->class_count, cls)) {
        snprintf(why, why_size,
                 "class %s takes only the rules that name it (R9); %.31s "
                 "does not",
                 cls, rule->id);
        return SAMPLER_CONDITION_FAILS;
    }
    return SAMPLER_APPLIES;
}

/* The rate that applies to @p ev under @p rule, whose match is @p m,
 * or -1 if none does. */
static double rule_rate(const rv_rule *rule, sampler_match m,
                        const sampler_event *ev)
{
    if (decides_apart(rule) || m != SAMPLER_APPLIES) {
        return -1.0;
    }
    if (rule->tier_count == 0) {
        return rule->rate;
    }
    const rv_tier *tier = rv_rule_tier(rule, ev->amount_cents);
    return tier != NULL ? tier->rate : -1.0;
}

static void add_question(rv_task *t, const char *q)
{
    for (size_t i = 0; i < t->question_count; i++) {
        if (strcmp(t->questions[i], q) == 0) {
            return;
        }
    }
    if (t->question_count < RV_QUESTIONS_MAX) {
        rv_copy_str(t->questions[t->question_count++], RV_KEY_SIZE, q);
    }
}

/* A decision of @p rule on @p ev, outcome and reason set by the caller. */
static rv_decision *add_decision(sampler_decisions *dec, const rv_policy *p,
                                 const rv_rule *rule, const sampler_event *ev,
                                 const char *worker, double u, double rate)
{
    if (dec == NULL || dec->count == SAMPLER_DECISIONS_MAX) {
        return NULL;
    }
    rv_decision *d = &dec->items[dec->count++];
    memset(d, 0, sizeof(*d));
    const char *parts[] = {ev->env->event_id, rule->id, "decision"};
    rv_id_derive(d->decision_id, 3, parts);
    rv_envelope_fill(&d->env, d->decision_id, ev->env->occurred_at_us, worker,
                     ev->env->event_id);
    rv_copy_str(d->source_event_id, sizeof(d->source_event_id),
                ev->env->event_id);
    rv_copy_str(d->customer_id, sizeof(d->customer_id), ev->customer_id);
    rv_copy_str(d->branch_id, sizeof(d->branch_id), ev->branch_id);
    rv_copy_str(d->store_id, sizeof(d->store_id), ev->store_id);
    rv_copy_str(d->rule_id, sizeof(d->rule_id), rule->id);
    rv_copy_str(d->policy_version, sizeof(d->policy_version), p->version);
    d->u = u;
    d->rate = rate;
    return d;
}

/* Record every rule @p ev triggers: not selected (with why), or selected
 * (primary, carrying @p task_id) and merged into it (C3). */
static void decide_all(const rv_policy *p, const sampler_event *ev,
                       const char *worker, const rv_rule *primary,
                       const char *task_id, sampler_decisions *dec)
{
    for (unsigned i = 0; dec != NULL && i < p->rule_count; i++) {
        const rv_rule *rule = &p->rules[i];
        char why[RV_REASON_SIZE];
        sampler_match m = sampler_rule_match(p, rule, ev, why, sizeof(why));
        if (m == SAMPLER_NO_TRIGGER || decides_apart(rule)) {
            continue;
        }
        double rate = rule_rate(rule, m, ev);
        double u = rv_hash_unit(p->salt, rule->id, ev->env->event_id);
        rv_decision *d = add_decision(dec, p, rule, ev, worker, u, rate);
        if (d == NULL) {
            return;
        }
        if (m == SAMPLER_CONDITION_FAILS) {
            d->outcome = RV_DECISION_NOT_SELECTED;
            rv_copy_str(d->reason, sizeof(d->reason), why);
        } else if (rate < 0.0) {
            d->outcome = RV_DECISION_NOT_SELECTED;
            snprintf(d->reason, sizeof(d->reason),
                     "amount %lld cents is in no tier of %.31s",
                     (long long)ev->amount_cents, rule->id);
        } else if (u >= rate) {
            d->outcome = RV_DECISION_NOT_SELECTED;
            snprintf(d->reason, sizeof(d->reason), "u %.6f >= rate %.6f", u,
                     rate);
        } else if (rule == primary) {
            d->outcome = RV_DECISION_SELECTED;
            snprintf(d->reason, sizeof(d->reason), "u %.6f < rate %.6f", u,
                     rate);
            rv_copy_str(d->task_id, sizeof(d->task_id), task_id);
        } else {
            d->outcome = RV_DECISION_MERGED;
            snprintf(d->reason, sizeof(d->reason),
                     "u %.6f < rate %.6f; merged into the %.31s visit (C3)", u,
                     rate, primary != NULL ? primary->id : "?");
            rv_copy_str(d->task_id, sizeof(d->task_id), task_id);
        }
    }
}

void sampler_task_for(const rv_policy *p, const sampler_event *ev,
                      const char *worker, const rv_rule *const *rules, size_t n,
                      rv_task *out)
{
    const rv_rule *primary = rules[0];
    rv_task *t = out;
    memset(t, 0, sizeof(*t));
    const char *parts[] = {ev->env->event_id, primary->id};
    rv_id_derive(t->task_id, 2, parts);
    rv_envelope_fill(&t->env, t->task_id, ev->env->occurred_at_us, worker,
                     ev->env->event_id);
    rv_copy_str(t->customer_id, sizeof(t->customer_id), ev->customer_id);
    rv_copy_str(t->branch_id, sizeof(t->branch_id), ev->branch_id);
    rv_copy_str(t->store_id, sizeof(t->store_id), ev->store_id);
    rv_copy_str(t->rule_id, sizeof(t->rule_id), primary->id);
    rv_copy_str(t->source_event_id, sizeof(t->source_event_id),
                ev->env->event_id);
    rv_copy_str(t->policy_version, sizeof(t->policy_version), p->version);
    rv_copy_str(t->phone, sizeof(t->phone), ev->phone);
    rv_copy_str(t->salesperson_id, sizeof(t->salesperson_id),
                ev->salesperson_id != NULL ? ev->salesperson_id : "");
    for (size_t i = 0; i < n && i < RV_REASONS_MAX; i++) {
        rv_copy_str(t->reasons[i], RV_REASON_SIZE, rules[i]->reason);
        for (unsigned q = 0; q < rules[i]->question_count; q++) {
            add_question(t, rules[i]->questions[q]);
        }
    }
    t->reason_count = n < RV_REASONS_MAX ? n : RV_REASONS_MAX;
    const rv_class *k = rv_policy_class(p, ev->customer_class);
    t->priority = primary->priority + (k != NULL ? (int32_t)k->priority : 0);
    rv_copy_str(t->customer_class, sizeof(t->customer_class),
                ev->customer_class != NULL ? ev->customer_class : "");
    t->channel = rv_channel_parse(primary->channel);
    if (t->channel == RV_CHANNEL_UNSPECIFIED) {
        t->channel = RV_CHANNEL_PHONE;
    }
    t->attempt = 1;
}

rv_err sampler_plan(const rv_policy *p, const rv_calendar *cal,
                    const sampler_event *ev, const char *worker, rv_task *out,
                    bool *selected, bool *bypass_cooldown,
                    sampler_decisions *dec, char *errstr, size_t errstr_size)
{
    if (dec != NULL) {
        dec->count = 0;
    }
    int branch = rv_calendar_branch(cal, ev->branch_id);
    if (branch < 0) {
        rv_errf(errstr, errstr_size,
                "event %s: branch \"%s\" is not in policy %s",
                ev->env->event_id, ev->branch_id, p->version);
        return RV_ERR_INVALID;
    }
    const rv_rule *chosen[RV_REASONS_MAX];
    double chosen_u[RV_REASONS_MAX], chosen_rate[RV_REASONS_MAX];
    size_t n = 0;
    for (unsigned i = 0; i < p->rule_count && n < RV_REASONS_MAX; i++) {
        const rv_rule *rule = &p->rules[i];
        char why[8];
        double rate = rule_rate(
            rule, sampler_rule_match(p, rule, ev, why, sizeof(why)), ev);
        if (rate < 0.0) {
            continue;
        }
        double u = rv_hash_unit(p->salt, rule->id, ev->env->event_id);
        if (u < rate) {
            /* Keep the list ordered by priority, highest first; stable. */
            size_t at = n;
            while (at > 0 && chosen[at - 1]->priority < rule->priority) {
                chosen[at] = chosen[at - 1];
                chosen_u[at] = chosen_u[at - 1];
                chosen_rate[at] = chosen_rate[at - 1];
                at--;
            }
            chosen[at] = rule;
            chosen_u[at] = u;
            chosen_rate[at] = rate;
            n++;
        }
    }
    if (n == 0) {
        *selected = false;
        decide_all(p, ev, worker, NULL, "", dec);
        return RV_OK;
    }
    const rv_rule *primary = chosen[0];
    rv_task t;
    sampler_task_for(p, ev, worker, chosen, n, &t);
    bool bypass = false;
    for (size_t i = 0; i < n; i++) {
        bypass = bypass || chosen[i]->bypass_cooldown;
    }
    t.sample_u = chosen_u[0];
    t.sample_rate = chosen_rate[0];
    rv_calendar_due_window(primary, cal, branch, ev->env->occurred_at_us,
                           &t.due_start_us, &t.due_end_us);
    decide_all(p, ev, worker, primary, t.task_id, dec);
    *out = t;
    *selected = true;
    if (bypass_cooldown != NULL) {
        *bypass_cooldown = bypass;
    }
    return RV_OK;
}

size_t sampler_schedule_tasks(const rv_policy *p, const rv_calendar *cal,
                              const rv_rule *rule, const sampler_event *ev,
                              const char *worker, rv_task *out, size_t cap,
                              double *u, double *rate)
{
    *u = rv_hash_unit(p->salt, rule->id, ev->env->event_id);
    *rate = -1.0;
    int branch = cal != NULL ? rv_calendar_branch(cal, ev->branch_id) : -1;
    char why[8];
    if (branch < 0 ||
        sampler_rule_match(p, rule, ev, why, sizeof(why)) != SAMPLER_APPLIES) {
        return 0;
    }
    if (rule->tier_count == 0) {
        *rate = rule->rate;
    } else {
        const rv_tier *tier = rv_rule_tier(rule, ev->amount_cents);
        *rate = tier != NULL ? tier->rate : -1.0;
    }
    if (*rate < 0.0 || *u >= *rate) {
        return 0;
    }
    size_t n = 0;
    const rv_rule *rules[] = {rule};
    for (unsigned i = 0; i < rule->schedule.day_count && n < cap; i++) {
        rv_task *t = &out[n++];
        sampler_task_for(p, ev, worker, rules, 1, t);
        char offset[24];
        snprintf(offset, sizeof(offset), "+%lld",
                 (long long)rule->schedule.days[i]);
        const char *parts[] = {ev->env->event_id, rule->id, offset};
        rv_id_derive(t->task_id, 3, parts);
        int64_t at = ev->env->occurred_at_us +
                     rule->schedule.days[i] * 86400LL * 1000000LL;
        rv_envelope_fill(&t->env, t->task_id, at, worker, ev->env->event_id);
        snprintf(t->reasons[0], RV_REASON_SIZE, "%.100s, +%lld days",
                 rule->reason, (long long)rule->schedule.days[i]);
        t->sample_u = *u;
        t->sample_rate = *rate;
        rv_calendar_due_window(rule, cal, branch, at, &t->due_start_us,
                               &t->due_end_us);
    }
    return n;
}

rv_err sampler_event_time_check(const char *id, int64_t occurred_us,
                                int64_t produced_ms, int64_t max_ahead_ms,
                                char *errstr, size_t errstr_size)
{
    if (max_ahead_ms <= 0 || produced_ms < 0) {
        return RV_OK;
    }
    /* In ms, so that no product overflows: times are below 2100. */
    int64_t ahead_ms = occurred_us / 1000 - produced_ms;
    if (ahead_ms <= max_ahead_ms) {
        return RV_OK;
    }
    rv_errf(errstr, errstr_size,
            "event %s: event time %lld h after its message was produced, "
            "past sampler.max.ahead.ms %lld",
            id, (long long)(ahead_ms / 3600000), (long long)max_ahead_ms);
    return RV_ERR_INVALID;
}
