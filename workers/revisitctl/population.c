/* workers/revisitctl/population.c: see population.h. */
#include "population.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv/hash.h"

/* "<customer_id>/<year>": the year is always the last field, so two
 * (customer, year) pairs never share a key. */
#define DRAW_KEY_SIZE (RV_KEY_SIZE + 16)

double population_draw(const char *salt, const char *rule_id,
                       const char *customer_id, int year)
{
    char key[DRAW_KEY_SIZE];
    snprintf(key, sizeof(key), "%s/%d", customer_id, year);
    return rv_hash_unit(salt, rule_id, key);
}

int population_month(double u, double rate)
{
    if (!(rate > 0.0) || !(u < rate) || u < 0.0) {
        return 0;
    }
    /* The cast truncates, which is floor for u >= 0. u / rate < 1 in
     * exact arithmetic; rounding may reach 1.0 for the largest u below
     * rate, which belongs to the last month. */
    int m = (int)(u / rate * POPULATION_MONTHS);
    if (m >= POPULATION_MONTHS) {
        m = POPULATION_MONTHS - 1;
    }
    return m + 1;
}

void population_source_id(char out[RV_ID_SIZE], const char *customer_id,
                          const char *rule_id, int year)
{
    char year_s[16];
    snprintf(year_s, sizeof(year_s), "%d", year);
    const char *parts[] = {customer_id, rule_id, year_s};
    rv_id_derive(out, 3, parts);
}

rv_err population_check_rule(const rv_rule *rule, char *errstr,
                             size_t errstr_size)
{
    if (!rv_rule_has_trigger(rule, POPULATION_TRIGGER)) {
        rv_errf(errstr, errstr_size,
                "rule %s has no trigger \"" POPULATION_TRIGGER "\"", rule->id);
        return RV_ERR_INVALID;
    }
    if (rule->tier_count > 0) {
        rv_errf(errstr, errstr_size,
                "rule %s has amount tiers; a population has no amount: "
                "give it a rate",
                rule->id);
        return RV_ERR_INVALID;
    }
    if (rv_rule_is_quota(rule) || rv_rule_is_inactivity(rule) ||
        rv_rule_is_schedule(rule)) {
        rv_errf(errstr, errstr_size,
                "rule %s has mode %s; a population is drawn at its rate "
                "(mode bernoulli)",
                rule->id, rule->mode);
        return RV_ERR_INVALID;
    }
    const rv_when *w = &rule->when;
    if (w->segment_count > 0 || w->class_count > 0 || w->category_count > 0 ||
        w->new_customer != NULL || w->developed != NULL || w->gift != NULL) {
        rv_errf(errstr, errstr_size,
                "rule %s has when conditions; they describe a sale, and a "
                "population is drawn without them",
                rule->id);
        return RV_ERR_INVALID;
    }
    return RV_OK;
}

int64_t population_month_start(const rv_calendar *cal, int branch, int year,
                               int month)
{
    char day_s[RV_DAY_SIZE + 8];
    snprintf(day_s, sizeof(day_s), "%04d-%02d-01", year, month);
    int64_t day = 0;
    if (rv_calendar_day_parse(day_s, &day) != RV_OK) {
        day = 0; /* unreachable for the years and months callers pass */
    }
    return rv_calendar_local_to_us(cal, branch, day, 0);
}

static void fill_decision(const rv_policy *p, const rv_rule *rule,
                          const population_customer *c, const char *source_id,
                          int64_t at_us, double u, rv_decision *d)
{
    memset(d, 0, sizeof(*d));
    const char *parts[] = {source_id, rule->id, "decision"};
    rv_id_derive(d->decision_id, 3, parts);
    rv_envelope_fill(&d->env, d->decision_id, at_us, POPULATION_PRODUCER,
                     source_id);
    rv_copy_str(d->source_event_id, sizeof(d->source_event_id), source_id);
    rv_copy_str(d->customer_id, sizeof(d->customer_id), c->customer_id);
    rv_copy_str(d->branch_id, sizeof(d->branch_id), c->branch_id);
    rv_copy_str(d->store_id, sizeof(d->store_id), c->store_id);
    rv_copy_str(d->rule_id, sizeof(d->rule_id), rule->id);
    rv_copy_str(d->policy_version, sizeof(d->policy_version), p->version);
    d->u = u;
    d->rate = rule->rate;
}

static void fill_task(const rv_policy *p, const rv_rule *rule,
                      const population_customer *c, const char *source_id,
                      int64_t at_us, double u, rv_task *t)
{
    memset(t, 0, sizeof(*t));
    const char *parts[] = {source_id, rule->id};
    rv_id_derive(t->task_id, 2, parts);
    rv_envelope_fill(&t->env, t->task_id, at_us, POPULATION_PRODUCER,
                     source_id);
    rv_copy_str(t->customer_id, sizeof(t->customer_id), c->customer_id);
    rv_copy_str(t->branch_id, sizeof(t->branch_id), c->branch_id);
    rv_copy_str(t->store_id, sizeof(t->store_id), c->store_id);
    rv_copy_str(t->rule_id, sizeof(t->rule_id), rule->id);
    rv_copy_str(t->source_event_id, sizeof(t->source_event_id), source_id);
    rv_copy_str(t->policy_version, sizeof(t->policy_version), p->version);
    rv_copy_str(t->phone, sizeof(t->phone), c->phone_masked);
    rv_copy_str(t->reasons[0], RV_REASON_SIZE, rule->reason);
    t->reason_count = 1;
    for (unsigned q = 0; q < rule->question_count && q < RV_QUESTIONS_MAX;
         q++) {
        rv_copy_str(t->questions[q], RV_KEY_SIZE, rule->questions[q]);
        t->question_count++;
    }
    t->priority = rule->priority;
    t->channel = rv_channel_parse(rule->channel);
    if (t->channel == RV_CHANNEL_UNSPECIFIED) {
        t->channel = RV_CHANNEL_PHONE;
    }
    t->attempt = 1;
    t->sample_u = u;
    t->sample_rate = rule->rate;
}

rv_err population_plan_one(const rv_policy *p, const rv_calendar *cal,
                           const rv_rule *rule, int year,
                           const population_customer *c, population_plan *out,
                           char *errstr, size_t errstr_size)
{
    if (year < POPULATION_YEAR_MIN || year > POPULATION_YEAR_MAX) {
        rv_errf(errstr, errstr_size, "year %d is outside %d..%d", year,
                POPULATION_YEAR_MIN, POPULATION_YEAR_MAX);
        return RV_ERR_INVALID;
    }
    int branch = rv_calendar_branch(cal, c->branch_id);
    if (branch < 0) {
        rv_errf(errstr, errstr_size,
                "customer %s: branch \"%s\" is not in policy %s",
                c->customer_id, c->branch_id, p->version);
        return RV_ERR_INVALID;
    }
    population_plan local;
    population_plan *plan = &local;
    char source_id[RV_ID_SIZE];
    population_source_id(source_id, c->customer_id, rule->id, year);
    int64_t year_start = population_month_start(cal, branch, year, 1);
    plan->u = population_draw(p->salt, rule->id, c->customer_id, year);
    plan->month = population_month(plan->u, rule->rate);
    plan->selected = plan->month > 0;
    rv_decision *d = &plan->decision;
    fill_decision(p, rule, c, source_id, year_start, plan->u, d);
    if (!plan->selected) {
        d->outcome = RV_DECISION_NOT_SELECTED;
        snprintf(d->reason, sizeof(d->reason), "u %.6f >= rate %.6f", plan->u,
                 rule->rate);
    } else {
        rv_task *t = &plan->task;
        fill_task(p, rule, c, source_id, year_start, plan->u, t);
        rv_calendar_due_window(
            rule, cal, branch,
            population_month_start(cal, branch, year, plan->month),
            &t->due_start_us, &t->due_end_us);
        d->outcome = RV_DECISION_SELECTED;
        rv_copy_str(d->task_id, sizeof(d->task_id), t->task_id);
        snprintf(d->reason, sizeof(d->reason), "u %.6f < rate %.6f: month %d",
                 plan->u, rule->rate, plan->month);
    }
    *out = *plan;
    return RV_OK;
}

void population_suppress_opt_out(population_plan *plan)
{
    rv_decision *d = &plan->decision;
    d->outcome = RV_DECISION_SUPPRESSED_OPT_OUT;
    size_t used = strlen(d->reason);
    snprintf(d->reason + used, sizeof(d->reason) - used,
             "; the customer opted out (C4)");
}

void population_optout_key(const char *customer_id,
                           char out[POPULATION_OPTOUT_KEY_SIZE])
{
    snprintf(out, POPULATION_OPTOUT_KEY_SIZE, "rv:{%s}:optout", customer_id);
}

void population_summary_init(population_summary *s, int year)
{
    memset(s, 0, sizeof(*s));
    s->year = year;
}

rv_err population_summary_add(population_summary *s,
                              const population_plan *plan)
{
    if (plan->selected) {
        if (s->id_count == s->id_cap) {
            size_t cap = s->id_cap == 0 ? 256 : s->id_cap * 2;
            char **ids = realloc(s->ids, cap * sizeof(*ids));
            if (ids == NULL) {
                return RV_ERR_NOMEM;
            }
            s->ids = ids;
            s->id_cap = cap;
        }
        char *id = strdup(plan->decision.customer_id);
        if (id == NULL) {
            return RV_ERR_NOMEM;
        }
        s->ids[s->id_count++] = id;
        s->selected++;
        s->months[plan->month - 1]++;
        if (plan->decision.outcome == RV_DECISION_SUPPRESSED_OPT_OUT) {
            s->opted_out++;
        }
    }
    s->population++;
    return RV_OK;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

rv_err population_summary_format(population_summary *s, char *out,
                                 size_t out_size)
{
    size_t bytes = 0;
    for (size_t i = 0; i < s->id_count; i++) {
        bytes += strlen(s->ids[i]) + 1;
    }
    char *text = malloc(bytes + 1);
    if (text == NULL) {
        return RV_ERR_NOMEM;
    }
    if (s->id_count > 0) {
        qsort(s->ids, s->id_count, sizeof(*s->ids), cmp_id);
    }
    size_t at = 0;
    for (size_t i = 0; i < s->id_count; i++) {
        size_t len = strlen(s->ids[i]);
        memcpy(text + at, s->ids[i], len);
        text[at + len] = '\n';
        at += len + 1;
    }
    char sha[RV_SHA256_HEX_SIZE];
    rv_sha256_hex(text, at, sha);
    free(text);
    char months[POPULATION_MONTHS * 24];
    size_t m_at = 0;
    for (int m = 0; m < POPULATION_MONTHS; m++) {
        m_at += (size_t)snprintf(months + m_at, sizeof(months) - m_at, "%s%zu",
                                 m > 0 ? "," : "", s->months[m]);
    }
    int n = snprintf(out, out_size,
                     "sample-population: year=%d population=%zu selected=%zu "
                     "months=[%s] sha256=%s opted_out=%zu",
                     s->year, s->population, s->selected, months, sha,
                     s->opted_out);
    return n >= 0 && (size_t)n < out_size ? RV_OK : RV_ERR_FULL;
}

void population_summary_fini(population_summary *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->id_count; i++) {
        free(s->ids[i]);
    }
    free(s->ids);
    memset(s, 0, sizeof(*s));
}
