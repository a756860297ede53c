#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy_fixture.h"
#include "sampler_quota.h"
#include "sampler_rules.h"

static sampler_event sale_event(rv_envelope *env, const char *id,
                                const char *branch, int64_t cents, int64_t t_us)
{
    memset(env, 0, sizeof(*env));
    rv_copy_str(env->event_id, sizeof(env->event_id), id);
    env->occurred_at_us = t_us;
    return (sampler_event){.kind = "sale",
                           .env = env,
                           .customer_id = "CG-12520",
                           .branch_id = branch,
                           .store_id = "Henderson",
                           .phone = "5550001234",
                           .amount_cents = cents};
}

/* R1 (seed 001 §四): >= 5000 USD sampled at 50%, 1500-2999 at 20%. */
static void test_sampler_r1_rate_by_amount_tier(void **state)
{
    fixture *fx = *state;
    int64_t t = utc_us("2016-07-01", 19, 0);
    int big = 0, mid = 0;
    for (int i = 0; i < 4000; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ev-%d", i);
        rv_envelope env;
        rv_task task;
        bool sel = false, bypass = true;
        sampler_event ev = sale_event(&env, id, "West", 600000, t);
        assert_int_equal(sampler_plan(fx->policy, fx->cal, &ev, "t", &task,
                                      &sel, &bypass, NULL, NULL, 0),
                         RV_OK);
        big += sel;
        if (sel) {
            assert_false(bypass);
            assert_true(task.sample_u < 0.5);
            assert_true(task.sample_rate == 0.5);
        }
        ev = sale_event(&env, id, "West", 200000, t);
        assert_int_equal(sampler_plan(fx->policy, fx->cal, &ev, "t", &task,
                                      &sel, NULL, NULL, NULL, 0),
                         RV_OK);
        mid += sel;
    }
    /* Binomial(4000, 0.5): sd 32; Binomial(4000, 0.2): sd 25; 5 sd. */
    assert_in_range(big, 2000 - 160, 2000 + 160);
    assert_in_range(mid, 800 - 125, 800 + 125);
}

static void test_sampler_decision_is_deterministic(void **state)
{
    fixture *fx = *state;
    int64_t t = utc_us("2016-07-01", 19, 0);
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof(id), "det-%d", i);
        rv_envelope env;
        rv_task a, b;
        bool sa = false, sb = false;
        sampler_event ev = sale_event(&env, id, "West", 600000, t);
        assert_int_equal(sampler_plan(fx->policy, fx->cal, &ev, "t", &a, &sa,
                                      NULL, NULL, NULL, 0),
                         RV_OK);
        assert_int_equal(sampler_plan(fx->policy, fx->cal, &ev, "t", &b, &sb,
                                      NULL, NULL, NULL, 0),
                         RV_OK);
        assert_int_equal(sa, sb);
        if (sa) {
            assert_string_equal(a.task_id, b.task_id);
            assert_int_equal(a.due_start_us, b.due_start_us);
        }
    }
}

/* Sale on Fri 2016-07-01 in the West: 1 working day later is Tue 07-05
 * (Mon 07-04 is Independence Day), 5 working days to Mon 07-11, in
 * America/Los_Angeles (UTC-7 in July). */
static void test_sampler_r1_due_window_skips_holiday(void **state)
{
    fixture *fx = *state;
    const rv_rule *r1 = rv_policy_rule(fx->policy, "R1");
    assert_non_null(r1);
    int branch = rv_calendar_branch(fx->cal, "West");
    int64_t start = 0, end = 0;
    rv_calendar_due_window(r1, fx->cal, branch, utc_us("2016-07-01", 19, 0),
                           &start, &end);
    assert_int_equal(start, utc_us("2016-07-05", 7, 0));
    assert_int_equal(end, utc_us("2016-07-12", 7, 0));
}

/* R5 (seed 002 nos. 1, 5): every complaint, within 72 hours. */
static void test_sampler_r5_complaint_always_within_72h(void **state)
{
    fixture *fx = *state;
    int64_t t = utc_us("2016-03-02", 15, 30);
    for (int i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof(id), "wo-%d", i);
        rv_envelope env;
        sampler_event ev = sale_event(&env, id, "East", 0, t);
        ev.kind = i % 2 ? "complaint" : "repair";
        rv_task task;
        bool sel = false, bypass = false;
        assert_int_equal(sampler_plan(fx->policy, fx->cal, &ev, "t", &task,
                                      &sel, &bypass, NULL, NULL, 0),
                         RV_OK);
        assert_true(sel);
        assert_true(bypass); /* C4 never holds a complaint back */
        assert_string_equal(task.rule_id, "R5");
        assert_int_equal(task.priority, 10);
        assert_int_equal(task.due_start_us, t);
        assert_int_equal(task.due_end_us, t + 72LL * 3600 * 1000000);
        assert_int_equal(task.attempt, 1);
        assert_string_equal(task.env.causation_id, id);
    }
}

static void test_sampler_unknown_branch_is_invalid(void **state)
{
    fixture *fx = *state;
    rv_envelope env;
    sampler_event ev =
        sale_event(&env, "x", "Atlantis", 600000, utc_us("2016-07-01", 19, 0));
    rv_task task;
    bool sel = false;
    char err[200];
    assert_int_equal(sampler_plan(fx->policy, fx->cal, &ev, "t", &task, &sel,
                                  NULL, NULL, err, sizeof(err)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(err, "Atlantis"));
}

/* C3 (seed 001 §六.6): two rules firing on one event make one visit with
 * both reasons and at most 3 questions. */
static void test_sampler_merges_reasons_into_one_visit(void **state)
{
    (void)state;
    char path[] = "/tmp/rv_policy_c3_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *yaml =
        "version: \"t1\"\nsalt: \"s\"\ncooldown_days: 7\n"
        "grading: {max_phone_attempts: 2, satisfied_min: 4, "
        "dissatisfied_max: 2}\n"
        "questions:\n"
        "  - {id: q1, kind: info, text: a}\n"
        "  - {id: q2, kind: info, text: b}\n"
        "  - {id: q3, kind: info, text: c}\n"
        "  - {id: q4, kind: info, text: d}\n"
        "rules:\n"
        "  - {id: RA, triggers: [sale], reason: ra, rate: 1.0, priority: 1,"
        " channel: phone, questions: [q1, q2],"
        " due: {delay_working_days: 1, length_working_days: 5}}\n"
        "  - {id: RB, triggers: [sale], reason: rb, rate: 1.0, priority: 5,"
        " channel: phone, questions: [q2, q3, q4],"
        " due: {within_hours: 72}}\n"
        "call_windows:\n  - {start: \"10:00\", end: \"11:30\"}\n"
        "calendars:\n  - {id: c, weekend: [sat, sun]}\n"
        "branches:\n  - {id: West, tz: America/Los_Angeles, calendar: c}\n"
        "agents:\n  - {id: w01, branch: West, daily_capacity: 30}\n";
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    rv_policy *p = NULL;
    rv_calendar *cal = NULL;
    char err[256] = "";
    rv_err rc = rv_policy_load(path, &p, err, sizeof(err));
    unlink(path);
    if (rc != RV_OK) {
        fail_msg("policy: %s", err);
    }
    assert_int_equal(rv_calendar_new(p, &cal, err, sizeof(err)), RV_OK);
    rv_envelope env;
    sampler_event ev =
        sale_event(&env, "ev-c3", "West", 100, utc_us("2016-07-01", 19, 0));
    rv_task task;
    bool sel = false;
    static sampler_decisions dec;
    assert_int_equal(
        sampler_plan(p, cal, &ev, "t", &task, &sel, NULL, &dec, NULL, 0),
        RV_OK);
    assert_true(sel);
    assert_string_equal(task.rule_id, "RB"); /* higher priority names it */
    /* Issue 3: both evaluations are records; RA merged into RB's visit. */
    assert_int_equal(dec.count, 2);
    assert_string_equal(dec.items[0].rule_id, "RA");
    assert_int_equal(dec.items[0].outcome, RV_DECISION_MERGED);
    assert_string_equal(dec.items[0].task_id, task.task_id);
    assert_non_null(strstr(dec.items[0].reason, "merged into the RB visit"));
    assert_string_equal(dec.items[1].rule_id, "RB");
    assert_int_equal(dec.items[1].outcome, RV_DECISION_SELECTED);
    assert_string_equal(dec.items[1].policy_version, "t1");
    assert_int_equal(task.reason_count, 2);
    assert_string_equal(task.reasons[0], "rb");
    assert_string_equal(task.reasons[1], "ra");
    assert_int_equal(task.question_count, 3);
    assert_string_equal(task.questions[0], "q2");
    assert_string_equal(task.questions[1], "q3");
    assert_string_equal(task.questions[2], "q4");
    rv_calendar_free(cal);
    rv_policy_free(p);
}

/* Issue 3: every (event, rule) evaluated is a decision with its draw, the
 * rate, the policy version and why; selected exactly when a task is. */
static void test_sampler_decisions_record_every_rule(void **state)
{
    fixture *fx = *state;
    static sampler_decisions dec;
    int selected = 0, not_selected = 0;
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ev-dec-%d", i);
        rv_envelope env;
        sampler_event ev = sale_event(&env, id, "West", 200000 + i * 1000,
                                      utc_us("2016-07-01", 19, 0));
        rv_task task;
        bool sel = false;
        assert_int_equal(sampler_plan(fx->policy, fx->cal, &ev, "t", &task,
                                      &sel, NULL, &dec, NULL, 0),
                         RV_OK);
        /* Bernoulli rules a sale triggers: R1, and R9, whose condition
         * (class A or B) this class-less sale does not meet. */
        assert_int_equal(dec.count, 2);
        const rv_decision *r9 = &dec.items[1];
        assert_string_equal(r9->rule_id, "R9");
        assert_int_equal(r9->outcome, RV_DECISION_NOT_SELECTED);
        assert_non_null(strstr(r9->reason, "when.class does not hold"));
        const rv_decision *d = &dec.items[0];
        assert_string_equal(d->rule_id, "R1");
        assert_string_equal(d->source_event_id, id);
        assert_string_equal(d->policy_version, fx->policy->version);
        char want[RV_ID_SIZE];
        const char *parts[] = {id, "R1", "decision"};
        rv_id_derive(want, 3, parts);
        assert_string_equal(d->decision_id, want);
        assert_true(d->u >= 0.0 && d->u < 1.0);
        if (sel) {
            selected++;
            assert_int_equal(d->outcome, RV_DECISION_SELECTED);
            assert_true(d->u < d->rate);
            assert_true(d->u == task.sample_u);
            assert_string_equal(d->task_id, task.task_id);
        } else {
            not_selected++;
            assert_int_equal(d->outcome, RV_DECISION_NOT_SELECTED);
            assert_true(d->u >= d->rate);
            assert_string_equal(d->task_id, "");
            assert_non_null(strstr(d->reason, ">= rate"));
        }
    }
    assert_true(selected > 0 && not_selected > 0);
}

/* Issue 3 (R1, seed 001 §四): a tier takes its quota of the smallest
 * draws; a tier short of sales passes the shortfall down, and the last
 * shortfall is filled from below the lowest threshold. */
static void test_sampler_quota_allocation_fills_down(void **state)
{
    (void)state;
    rv_tier tiers[] = {
        {150000, 300000, 0, 4}, {300000, 500000, 0, 6}, {500000, -1, 0, 10}};
    rv_rule rule;
    memset(&rule, 0, sizeof(rule));
    rule.tiers = tiers;
    rule.tier_count = 3;
    size_t take[4];
    /* A store-day with 120 sales of >= 5000 and a quota of 10: 10. */
    size_t many[4] = {30, 50, 120, 100};
    sampler_quota_allocate(&rule, many, take);
    assert_int_equal(take[2], 10);
    assert_int_equal(take[1], 6);
    assert_int_equal(take[0], 4);
    assert_int_equal(take[3], 0);
    /* Only 4 such sales: the other 6 come from the next tier. */
    size_t four[4] = {30, 50, 4, 100};
    sampler_quota_allocate(&rule, four, take);
    assert_int_equal(take[2], 4);
    assert_int_equal(take[1], 12);
    assert_int_equal(take[0], 4);
    assert_int_equal(take[3], 0);
    /* Every tier short: the rest from below the lowest threshold. */
    size_t few[4] = {2, 3, 4, 100};
    sampler_quota_allocate(&rule, few, take);
    assert_int_equal(take[2] + take[1] + take[0], 9);
    assert_int_equal(take[3], 11);
    /* And nothing at all: nothing taken. */
    size_t none[4] = {0, 0, 0, 0};
    sampler_quota_allocate(&rule, none, take);
    assert_int_equal(take[0] + take[1] + take[2] + take[3], 0);
}

/* The candidate of a sale: its store-day group, its bucket by threshold
 * and how many the bucket keeps; visited from the next working day. */
static void test_sampler_quota_candidate(void **state)
{
    fixture *fx = *state;
    rv_tier tiers[] = {
        {150000, 300000, 0, 4}, {300000, 500000, 0, 6}, {500000, -1, 0, 10}};
    char id[] = "RQ", reason[] = "RQ quota", channel[] = "phone";
    rv_rule rule;
    memset(&rule, 0, sizeof(rule));
    rule.id = id;
    rule.reason = reason;
    rule.channel = channel;
    rule.tiers = tiers;
    rule.tier_count = 3;
    rule.due.length_working_days = 1;
    rule.quota.lateness_hours = 24;
    const struct {
        int64_t cents;
        int bucket;
        int64_t keep;
    } cases[] = {{900000, 2, 10}, {500000, 2, 10}, {499999, 1, 16},
                 {150000, 0, 20}, {149999, 3, 20}, {0, 3, 20}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rv_envelope env;
        /* Fri 2016-07-01 12:00 in Los Angeles. */
        sampler_event ev = sale_event(&env, "ev-q", "West", cases[i].cents,
                                      utc_us("2016-07-01", 19, 0));
        sampler_candidate c;
        assert_true(
            sampler_quota_candidate(fx->policy, fx->cal, &rule, &ev, "t", &c));
        assert_int_equal(c.bucket, cases[i].bucket);
        assert_int_equal(c.keep, cases[i].keep);
        assert_string_equal(c.label, "RQ@Henderson@2016-07-01");
        /* Closes 24 h after local midnight; due Tue 07-05 (07-04 is
         * Independence Day), Los Angeles time. */
        assert_int_equal(c.close_us, utc_us("2016-07-03", 7, 0));
        assert_int_equal(c.task.due_start_us, utc_us("2016-07-05", 7, 0));
        assert_int_equal(c.task.due_end_us, utc_us("2016-07-06", 7, 0));
        assert_string_equal(c.task.rule_id, "RQ");
        assert_true(c.task.sample_u >= 0.0 && c.task.sample_u < 1.0);
    }
    rule.quota.period = (char[]){"week"};
    rv_envelope env;
    sampler_event ev =
        sale_event(&env, "ev-q", "West", 900000, utc_us("2016-07-01", 19, 0));
    sampler_candidate c;
    assert_true(
        sampler_quota_candidate(fx->policy, fx->cal, &rule, &ev, "t", &c));
    assert_string_equal(c.label, "RQ@Henderson@W2016-06-27");
    assert_true(c.key == c.task.sample_u); /* unweighted: the draw */
    rule.quota.weight = (char[]){"amount"};
    assert_true(
        sampler_quota_candidate(fx->policy, fx->cal, &rule, &ev, "t", &c));
    assert_true(c.key == sampler_quota_key(c.task.sample_u, 900000.0));
    char rid[32];
    sampler_quota_rule_of(c.label, rid, sizeof(rid));
    assert_string_equal(rid, "RQ");
    rv_decision d;
    sampler_quota_decision(&c.task, RV_DECISION_NOT_SELECTED, "why", "t", &d);
    assert_int_equal(d.rate, -1);
    assert_string_equal(d.task_id, "");
    assert_string_equal(d.source_event_id, c.task.source_event_id);
}

/* R4 (issue 3): gift sampling by value. 40% of 50 gift records is a quota
 * of 20: the 20 smallest keys -ln(u)/w are taken, and they favour high
 * values; over many draws a record worth 10x another is chosen clearly
 * more often (weighted sampling without replacement: 10/11 for one of
 * two). Fixed IDs, so the test is deterministic. */
static void test_sampler_quota_weighted_favours_value(void **state)
{
    (void)state;
    assert_true(sampler_quota_key(0.25, 0.0) == 0.25); /* unweighted */
    assert_true(sampler_quota_key(0.0, 5.0) == 0.0);
    /* 50 records, values 1..50; keep 20 by key; the kept mean value is
     * well above the mean of all (25.5). */
    double sum_kept = 0.0;
    int trials = 200;
    for (int t = 0; t < trials; t++) {
        double keys[50];
        for (int i = 0; i < 50; i++) {
            char id[32], salt[16];
            snprintf(id, sizeof(id), "gift-%d", i);
            snprintf(salt, sizeof(salt), "s%d", t);
            keys[i] = sampler_quota_key(rv_hash_unit(salt, "R4", id), i + 1);
        }
        for (int k = 0; k < 20; k++) { /* the 20 smallest keys */
            int best = -1;
            for (int i = 0; i < 50; i++) {
                if (keys[i] >= 0 && (best < 0 || keys[i] < keys[best])) {
                    best = i;
                }
            }
            sum_kept += best + 1;
            keys[best] = -1.0;
        }
    }
    double mean_kept = sum_kept / (20.0 * trials);
    if (!(mean_kept > 30.0)) {
        fail_msg("kept mean value %.2f is not above 30", mean_kept);
    }
    /* One of two, weights 1 and 10: the heavy one about 10/11 of the
     * time. */
    int heavy = 0, n = 4000;
    for (int t = 0; t < n; t++) {
        char salt[16];
        snprintf(salt, sizeof(salt), "s%d", t);
        double light = sampler_quota_key(rv_hash_unit(salt, "R4", "a"), 1.0);
        double big = sampler_quota_key(rv_hash_unit(salt, "R4", "b"), 10.0);
        heavy += big < light;
    }
    double share = (double)heavy / n;
    if (!(share > 0.87 && share < 0.95)) {
        fail_msg("the 10x record was chosen %.3f of the time, not ~0.909",
                 share);
    }
}

/* R6 (seed 002 tips): a selected sale gets a follow-up at each offset,
 * due from then; a sale the draw does not select gets none. */
static void test_sampler_schedule_follow_ups(void **state)
{
    fixture *fx = *state;
    int64_t days[] = {7, 30, 90, 180};
    char id[] = "R6", reason[] = "R6 follow-up", channel[] = "phone",
         mode[] = "schedule", trigger[] = "sale";
    char *triggers[] = {trigger};
    rv_rule rule;
    memset(&rule, 0, sizeof(rule));
    rule.id = id;
    rule.reason = reason;
    rule.channel = channel;
    rule.mode = mode;
    rule.triggers = triggers;
    rule.trigger_count = 1;
    rule.rate = 1.0;
    rule.schedule.days = days;
    rule.schedule.day_count = 4;
    rule.due.within_hours = 72;
    rv_envelope env;
    int64_t t = utc_us("2016-07-01", 19, 0);
    sampler_event ev = sale_event(&env, "ev-r6", "West", 100000, t);
    rv_task tasks[16];
    double u = -1, rate = -1;
    assert_int_equal(sampler_schedule_tasks(fx->policy, fx->cal, &rule, &ev,
                                            "t", tasks, 16, &u, &rate),
                     4);
    assert_true(rate == 1.0 && u >= 0.0 && u < 1.0);
    for (int i = 0; i < 4; i++) {
        int64_t at = t + days[i] * 86400LL * 1000000LL;
        assert_int_equal(tasks[i].env.occurred_at_us, at);
        assert_int_equal(tasks[i].due_start_us, at);
        assert_int_equal(tasks[i].due_end_us, at + 72LL * 3600 * 1000000);
        assert_string_equal(tasks[i].rule_id, "R6");
        assert_string_equal(tasks[i].source_event_id, "ev-r6");
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(tasks[i].task_id, tasks[j].task_id);
        }
    }
    assert_non_null(strstr(tasks[2].reasons[0], "+90 days"));
    rule.rate = 0.0;
    assert_int_equal(sampler_schedule_tasks(fx->policy, fx->cal, &rule, &ev,
                                            "t", tasks, 16, &u, &rate),
                     0);
}

/* R6 warranty schedule (seed 002 no. 4): the first month after the sale,
 * quarterly in year 1, half-yearly in year 2, yearly after; here for
 * sales with a Technology line (when.categories). */
static void test_sampler_warranty_schedule(void **state)
{
    fixture *fx = *state;
    int64_t days[] = {30, 91, 182, 273, 365, 547, 730, 1095, 1460};
    char id[] = "R6W", reason[] = "R6 warranty", channel[] = "phone",
         mode[] = "schedule", trigger[] = "sale", tech[] = "Technology";
    char *triggers[] = {trigger}, *cats[] = {tech};
    rv_rule rule;
    memset(&rule, 0, sizeof(rule));
    rule.id = id;
    rule.reason = reason;
    rule.channel = channel;
    rule.mode = mode;
    rule.triggers = triggers;
    rule.trigger_count = 1;
    rule.rate = 1.0;
    rule.schedule.days = days;
    rule.schedule.day_count = 9;
    rule.due.length_working_days = 10;
    rule.when.categories = cats;
    rule.when.category_count = 1;
    rv_envelope env;
    int64_t t = utc_us("2016-07-01", 19, 0);
    sampler_event ev = sale_event(&env, "ev-w", "West", 100000, t);
    char lines[2][RV_SHORT_SIZE] = {"Furniture", "Technology"};
    ev.categories = (const char(*)[RV_SHORT_SIZE])lines;
    ev.category_count = 2;
    rv_task tasks[16];
    double u = -1, rate = -1;
    assert_int_equal(sampler_schedule_tasks(fx->policy, fx->cal, &rule, &ev,
                                            "t", tasks, 16, &u, &rate),
                     9);
    /* The last visit four years on, due from its own local day. */
    assert_int_equal(tasks[8].env.occurred_at_us, t + 1460LL * 86400 * 1000000);
    assert_true(tasks[8].due_start_us >=
                tasks[8].env.occurred_at_us - 86400LL * 1000000);
    assert_non_null(strstr(tasks[4].reasons[0], "+365 days"));
    /* No Technology line: no warranty visits. */
    ev.category_count = 1;
    assert_int_equal(sampler_schedule_tasks(fx->policy, fx->cal, &rule, &ev,
                                            "t", tasks, 16, &u, &rate),
                     0);
}

/* Issue 3 triggers: each condition of rule.when holds or excludes; a
 * sale that reports a gift also triggers "gift" (R4). */
static void test_sampler_rule_conditions(void **state)
{
    fixture *fx = *state;
    char id[] = "RC", reason[] = "RC", channel[] = "phone", sale[] = "sale";
    char *triggers[] = {sale};
    rv_rule rule;
    memset(&rule, 0, sizeof(rule));
    rule.id = id;
    rule.reason = reason;
    rule.channel = channel;
    rule.triggers = triggers;
    rule.trigger_count = 1;
    rv_envelope env;
    sampler_event ev =
        sale_event(&env, "ev-c", "West", 100000, utc_us("2016-07-01", 19, 0));
    char why[RV_REASON_SIZE] = "";
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_APPLIES);
    sampler_event wo = ev;
    wo.kind = "complaint";
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &wo, why, 160),
                     SAMPLER_NO_TRIGGER);
    /* Segments. */
    char corp[] = "Corporate", cons[] = "Consumer";
    char *segs[] = {corp};
    rule.when.segments = segs;
    rule.when.segment_count = 1;
    ev.segment = cons;
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_CONDITION_FAILS);
    assert_string_equal(why, "RC: when.segment does not hold (\"Consumer\")");
    ev.segment = corp;
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_APPLIES);
    /* Categories: any line of the order. */
    char tech[] = "Technology";
    char *cats[] = {tech};
    rule.when.categories = cats;
    rule.when.category_count = 1;
    char lines[2][RV_SHORT_SIZE] = {"Furniture", "Office Supplies"};
    ev.categories = (const char(*)[RV_SHORT_SIZE])lines;
    ev.category_count = 2;
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_CONDITION_FAILS);
    snprintf(lines[1], sizeof(lines[1]), "Technology");
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_APPLIES);
    /* New customer (R8), developed by a salesperson (R3). */
    bool yes = true;
    rule.when.new_customer = &yes;
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_CONDITION_FAILS);
    assert_non_null(strstr(why, "when.new_customer"));
    ev.new_customer = true;
    rule.when.developed = &yes;
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_CONDITION_FAILS);
    ev.salesperson_id = "S-7";
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_APPLIES);
    /* Gift: a condition, and a trigger of its own. */
    rule.when.gift = &yes;
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_CONDITION_FAILS);
    ev.gift_cents = 1500;
    assert_int_equal(sampler_rule_match(fx->policy, &rule, &ev, why, 160),
                     SAMPLER_APPLIES);
    const rv_rule *r4 = rv_policy_rule(fx->policy, "R4");
    assert_non_null(r4);
    assert_int_equal(sampler_rule_match(fx->policy, r4, &ev, why, 160),
                     SAMPLER_APPLIES);
    ev.gift_cents = 0;
    assert_int_equal(sampler_rule_match(fx->policy, r4, &ev, why, 160),
                     SAMPLER_NO_TRIGGER);
}

/* R9 (seed 002 no. 13), default policy: class A is visited after every
 * purchase within 72 h (rule R9, which R1 merges into), first (priority
 * 4 + class 3), with a 3-day cooldown; class D takes no routine visit; a
 * customer of no class falls back to the policy's cooldown. */
static void test_sampler_customer_classes(void **state)
{
    fixture *fx = *state;
    const rv_policy *p = fx->policy;
    assert_int_equal(rv_policy_cooldown_days(p, "A"), 3);
    assert_int_equal(rv_policy_cooldown_days(p, "C"), 7);
    assert_int_equal(rv_policy_cooldown_days(p, "D"), p->cooldown_days);
    assert_int_equal(rv_policy_cooldown_days(p, ""), p->cooldown_days);
    assert_int_equal(rv_policy_cooldown_days(p, NULL), p->cooldown_days);
    static sampler_decisions dec;
    int64_t t = utc_us("2016-07-01", 19, 0);
    rv_envelope env;
    sampler_event ev = sale_event(&env, "ev-class-a", "West", 600000, t);
    ev.customer_class = "A";
    rv_task task;
    bool sel = false;
    assert_int_equal(
        sampler_plan(p, fx->cal, &ev, "t", &task, &sel, NULL, &dec, NULL, 0),
        RV_OK);
    assert_true(sel);
    assert_string_equal(task.rule_id, "R9");
    assert_int_equal(task.priority, 4 + 3);
    assert_string_equal(task.customer_class, "A");
    assert_int_equal(task.due_end_us - task.due_start_us,
                     72LL * 3600 * 1000000);
    /* Class D: R1 and R9 both decline, each saying why. */
    int declined = 0;
    for (int i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ev-class-d-%d", i);
        ev = sale_event(&env, id, "West", 600000, t);
        ev.customer_class = "D";
        assert_int_equal(sampler_plan(p, fx->cal, &ev, "t", &task, &sel, NULL,
                                      &dec, NULL, 0),
                         RV_OK);
        assert_false(sel);
        assert_int_equal(dec.count, 2);
        for (size_t d = 0; d < dec.count; d++) {
            assert_int_equal(dec.items[d].outcome, RV_DECISION_NOT_SELECTED);
            declined +=
                strstr(dec.items[d].reason,
                       "class D takes only the rules that name it") != NULL;
        }
    }
    assert_int_equal(declined, 50); /* R1 (R9 fails on when.classes) */
}

/* R4 (seed 001 §五): 40% of the gift records, rounded up, per bucket. */
static void test_sampler_quota_percent(void **state)
{
    fixture *fx = *state;
    const rv_rule *r4 = rv_policy_rule(fx->policy, "R4");
    assert_non_null(r4);
    assert_int_equal(r4->quota.percent, 40);
    size_t counts[1] = {50}, take[1] = {0};
    sampler_quota_allocate(r4, counts, take);
    assert_int_equal(take[0], 20);
    counts[0] = 3;
    sampler_quota_allocate(r4, counts, take);
    assert_int_equal(take[0], 2); /* 1.2, rounded up */
    counts[0] = 0;
    sampler_quota_allocate(r4, counts, take);
    assert_int_equal(take[0], 0);
    /* The candidate keeps every record, weighted by the gift value. */
    rv_envelope env;
    sampler_event ev =
        sale_event(&env, "ev-gift", "West", 10000, utc_us("2016-07-01", 19, 0));
    ev.gift_cents = 2500;
    sampler_candidate c;
    assert_true(sampler_quota_candidate(fx->policy, fx->cal, r4, &ev, "t", &c));
    assert_int_equal(c.keep, SAMPLER_QUOTA_KEEP_ALL);
    assert_string_equal(c.label, "R4@West@W2016-06-27");
    assert_true(c.key == sampler_quota_key(c.task.sample_u, 2500.0));
}

/* A sale dated far past the moment its message was produced (a sale of
 * 2099 sent in 2026) is refused with a sentence; a day ahead, an old
 * sale, a message without a timestamp or no limit pass. */
static void test_sampler_event_time_check(void **state)
{
    (void)state;
    const int64_t produced_ms = 1796174130000LL; /* 2026-12-02 */
    const int64_t day_ms = 86400000LL;
    char errstr[256] = "";
    int64_t y2099_us = 4102272000000000LL; /* 2099-12-30T00:00:00Z */
    assert_int_equal(sampler_event_time_check("e1", y2099_us, produced_ms,
                                              day_ms, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "event e1: event time "));
    assert_non_null(strstr(errstr, "past sampler.max.ahead.ms 86400000"));
    /* Exactly the limit ahead passes, one ms more does not. */
    assert_int_equal(sampler_event_time_check("e2",
                                              (produced_ms + day_ms) * 1000,
                                              produced_ms, day_ms, NULL, 0),
                     RV_OK);
    assert_int_equal(sampler_event_time_check("e3",
                                              (produced_ms + day_ms + 1) * 1000,
                                              produced_ms, day_ms, NULL, 0),
                     RV_ERR_INVALID);
    /* History (the Superstore sample of 2014-2017) passes. */
    assert_int_equal(sampler_event_time_check("e4", 1451606400000000LL,
                                              produced_ms, day_ms, NULL, 0),
                     RV_OK);
    /* No timestamp from the broker, or no limit: not checked. */
    assert_int_equal(
        sampler_event_time_check("e5", y2099_us, -1, day_ms, NULL, 0), RV_OK);
    assert_int_equal(
        sampler_event_time_check("e6", y2099_us, produced_ms, 0, NULL, 0),
        RV_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampler_event_time_check),
        cmocka_unit_test(test_sampler_decisions_record_every_rule),
        cmocka_unit_test(test_sampler_rule_conditions),
        cmocka_unit_test(test_sampler_warranty_schedule),
        cmocka_unit_test(test_sampler_customer_classes),
        cmocka_unit_test(test_sampler_quota_percent),
        cmocka_unit_test(test_sampler_quota_allocation_fills_down),
        cmocka_unit_test(test_sampler_quota_candidate),
        cmocka_unit_test(test_sampler_quota_weighted_favours_value),
        cmocka_unit_test(test_sampler_schedule_follow_ups),
        cmocka_unit_test(test_sampler_r1_rate_by_amount_tier),
        cmocka_unit_test(test_sampler_decision_is_deterministic),
        cmocka_unit_test(test_sampler_r1_due_window_skips_holiday),
        cmocka_unit_test(test_sampler_r5_complaint_always_within_72h),
        cmocka_unit_test(test_sampler_unknown_branch_is_invalid),
        cmocka_unit_test(test_sampler_merges_reasons_into_one_visit),
    };
    return cmocka_run_group_tests_name("sampler", tests, fixture_setup,
                                       fixture_teardown);
}
