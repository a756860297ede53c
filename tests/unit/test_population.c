/* tests/unit/test_population.c: the pure half of `revisitctl
 * sample-population` (workers/revisitctl/population.c), R2 (seed 000
 * 第一篇): the yearly draw, the month spread, the task and decision of a
 * customer, the opt-out, the summary line. Against the shipped policy
 * (rule R2: rate 0.10, due 20 working days from the month's first
 * working day, US federal holidays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy_fixture.h"
#include "population.h"
#include "rv/codec.h"
#include "rv/hash.h"

static const rv_rule *r2(const fixture *fx)
{
    const rv_rule *rule = rv_policy_rule(fx->policy, "R2");
    assert_non_null(rule);
    return rule;
}

/* The first customer "<prefix><n>" whose 2016 R2 draw falls in @p month
 * (0: not selected), into @p out. */
static void find_customer(const fixture *fx, const char *prefix, int month,
                          char out[32])
{
    const rv_rule *rule = r2(fx);
    for (int n = 0; n < 100000; n++) {
        snprintf(out, 32, "%s%d", prefix, n);
        double u = population_draw(fx->policy->salt, "R2", out, 2016);
        if (population_month(u, rule->rate) == month) {
            return;
        }
    }
    fail_msg("no customer for month %d", month);
}

/* DESIGN §4: u = hash(salt, rule, key), the key the customer and the
 * year, so each year draws afresh and a draw never changes. */
static void test_population_draw_is_the_sampler_hash_per_year(void **state)
{
    (void)state;
    double u = population_draw("salt", "R2", "C17", 2016);
    assert_true(u == rv_hash_unit("salt", "R2", "C17/2016"));
    assert_true(u >= 0.0 && u < 1.0);
    assert_true(u == population_draw("salt", "R2", "C17", 2016));
    assert_true(u != population_draw("salt", "R2", "C17", 2017));
    assert_true(u != population_draw("other", "R2", "C17", 2016));
    assert_true(u != population_draw("salt", "R2", "C18", 2016));
}

/* month = floor(u / rate * 12) + 1 for u < rate, else 0. */
static void test_population_month_spreads_the_draw(void **state)
{
    (void)state;
    assert_int_equal(population_month(0.0, 0.1), 1);
    assert_int_equal(population_month(0.1 / 12 * 0.999, 0.1), 1);
    assert_int_equal(population_month(0.1 / 12 * 1.001, 0.1), 2);
    assert_int_equal(population_month(0.1 * 8.5 / 12, 0.1), 9);
    assert_int_equal(population_month(0.0999999, 0.1), 12);
    /* The largest u below the rate: its quotient may round to 1. */
    assert_int_equal(population_month(0.09999999999999999, 0.1), 12);
    assert_int_equal(population_month(0.1, 0.1), 0);
    assert_int_equal(population_month(0.5, 0.1), 0);
    assert_int_equal(population_month(0.0, 0.0), 0); /* rate 0: nobody */
    assert_int_equal(population_month(0.99, 1.0), 12);
    assert_int_equal(population_month(0.5, 1.0), 7);
}

/* Over 24,000 customers: about 10% drawn, about a twelfth of them each
 * month (fixed draws: the bounds are loose, the result exact). */
static void test_population_draw_selects_the_rate_evenly(void **state)
{
    (void)state;
    enum { CUSTOMERS = 24000 };
    size_t months[POPULATION_MONTHS] = {0}, selected = 0;
    for (int n = 0; n < CUSTOMERS; n++) {
        char id[32];
        snprintf(id, sizeof(id), "C%05d", n);
        int m = population_month(
            population_draw("revisit-test-salt", "R2", id, 2016), 0.10);
        if (m > 0) {
            months[m - 1]++;
            selected++;
        }
    }
    assert_in_range(selected, 2200, 2600);
    for (int m = 0; m < POPULATION_MONTHS; m++) {
        assert_in_range(months[m], selected / 12 * 7 / 10,
                        selected / 12 * 13 / 10);
    }
}

static void test_population_check_rule(void **state)
{
    fixture *fx = *state;
    char errstr[256] = "";
    assert_int_equal(population_check_rule(r2(fx), errstr, sizeof(errstr)),
                     RV_OK);
    const rv_rule *r1 = rv_policy_rule(fx->policy, "R1");
    assert_non_null(r1);
    assert_int_equal(population_check_rule(r1, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "no trigger \"population\""));
}

/* A customer drawn for January 2016 in West (Los Angeles): the year
 * starts at 08:00Z; January 1st is a holiday, so the window opens Monday
 * the 4th and lasts 20 working days (the 18th is a holiday too), to the
 * end of February 1st. IDs derive from (customer, R2, 2016). */
static void test_population_plan_january_in_west(void **state)
{
    fixture *fx = *state;
    char id[32];
    find_customer(fx, "W", 1, id);
    const population_customer c = {id, "West", "Seattle", "206****0001"};
    population_plan plan;
    char errstr[256] = "";
    assert_int_equal(population_plan_one(fx->policy, fx->cal, r2(fx), 2016, &c,
                                         &plan, errstr, sizeof(errstr)),
                     RV_OK);
    assert_true(plan.selected);
    assert_int_equal(plan.month, 1);
    assert_true(plan.u == population_draw(fx->policy->salt, "R2", id, 2016));

    char source[RV_ID_SIZE], task_id[RV_ID_SIZE], decision_id[RV_ID_SIZE];
    const char *year_parts[] = {id, "R2", "2016"};
    rv_id_derive(source, 3, year_parts);
    const char *task_parts[] = {source, "R2"};
    rv_id_derive(task_id, 2, task_parts);
    const char *decision_parts[] = {source, "R2", "decision"};
    rv_id_derive(decision_id, 3, decision_parts);

    const rv_task *t = &plan.task;
    assert_string_equal(t->task_id, task_id);
    assert_string_equal(t->env.event_id, task_id);
    assert_string_equal(t->env.causation_id, source);
    assert_memory_equal(t->env.producer, "revisitctl/", 11);
    assert_string_equal(t->source_event_id, source);
    assert_int_equal(t->env.occurred_at_us, utc_us("2016-01-01", 8, 0));
    assert_string_equal(t->customer_id, id);
    assert_string_equal(t->branch_id, "West");
    assert_string_equal(t->store_id, "Seattle");
    assert_string_equal(t->phone, "206****0001");
    assert_string_equal(t->rule_id, "R2");
    assert_string_equal(t->policy_version, fx->policy->version);
    assert_int_equal(t->reason_count, 1);
    assert_string_equal(t->reasons[0], r2(fx)->reason);
    assert_int_equal(t->question_count, 3);
    assert_string_equal(t->questions[0], "a1.password_known");
    assert_int_equal(t->priority, r2(fx)->priority);
    assert_int_equal(t->channel, RV_CHANNEL_PHONE);
    assert_int_equal(t->attempt, 1);
    assert_true(t->sample_u == plan.u);
    assert_true(t->sample_rate == 0.10);
    assert_int_equal(t->due_start_us, utc_us("2016-01-04", 8, 0));
    assert_int_equal(t->due_end_us, utc_us("2016-02-02", 8, 0));

    const rv_decision *d = &plan.decision;
    assert_string_equal(d->decision_id, decision_id);
    assert_string_equal(d->source_event_id, source);
    assert_int_equal(d->outcome, RV_DECISION_SELECTED);
    assert_string_equal(d->task_id, task_id);
    assert_int_equal(d->env.occurred_at_us, utc_us("2016-01-01", 8, 0));
    assert_true(d->u == plan.u && d->rate == 0.10);
    assert_memory_equal(d->reason, "u 0.00", 6);
    assert_non_null(strstr(d->reason, "< rate 0.100000: month 1"));

    /* Both records pass the decoders the recorder and assigner use. */
    uint8_t *buf = NULL;
    size_t len = 0;
    rv_task back;
    assert_int_equal(rv_codec_encode_task(t, &buf, &len), RV_OK);
    assert_int_equal(
        rv_codec_decode_task(buf, len, &back, errstr, sizeof(errstr)), RV_OK);
    free(buf);
    rv_decision dback;
    assert_int_equal(rv_codec_encode_decision(d, &buf, &len), RV_OK);
    assert_int_equal(
        rv_codec_decode_decision(buf, len, &dback, errstr, sizeof(errstr)),
        RV_OK);
    free(buf);
}

/* September 2016 in East (New York, daylight time): the 1st is a
 * Thursday; Labor Day (the 5th) is skipped, the 20th working day is the
 * 29th. */
static void test_population_plan_september_in_east(void **state)
{
    fixture *fx = *state;
    char id[32];
    find_customer(fx, "E", 9, id);
    const population_customer c = {id, "East", "", ""};
    population_plan plan;
    assert_int_equal(population_plan_one(fx->policy, fx->cal, r2(fx), 2016, &c,
                                         &plan, NULL, 0),
                     RV_OK);
    assert_int_equal(plan.month, 9);
    assert_int_equal(plan.task.env.occurred_at_us, utc_us("2016-01-01", 5, 0));
    assert_int_equal(plan.task.due_start_us, utc_us("2016-09-01", 4, 0));
    assert_int_equal(plan.task.due_end_us, utc_us("2016-09-30", 4, 0));
}

/* Not drawn: a decision and no task; a branch the policy lacks and a
 * year outside the calendar are refused. */
static void test_population_plan_not_selected_and_refusals(void **state)
{
    fixture *fx = *state;
    char id[32];
    find_customer(fx, "N", 0, id);
    population_customer c = {id, "Central", "Chicago", ""};
    population_plan plan;
    char errstr[256] = "";
    assert_int_equal(population_plan_one(fx->policy, fx->cal, r2(fx), 2016, &c,
                                         &plan, errstr, sizeof(errstr)),
                     RV_OK);
    assert_false(plan.selected);
    assert_int_equal(plan.month, 0);
    assert_int_equal(plan.decision.outcome, RV_DECISION_NOT_SELECTED);
    assert_string_equal(plan.decision.task_id, "");
    assert_non_null(strstr(plan.decision.reason, ">= rate 0.100000"));

    c.branch_id = "Mars";
    assert_int_equal(population_plan_one(fx->policy, fx->cal, r2(fx), 2016, &c,
                                         &plan, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "branch \"Mars\" is not in policy"));
    c.branch_id = "West";
    assert_int_equal(population_plan_one(fx->policy, fx->cal, r2(fx), 2099, &c,
                                         &plan, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
}

/* C4: an opted-out customer keeps the draw, loses the visit. */
static void test_population_opt_out(void **state)
{
    fixture *fx = *state;
    char id[32];
    find_customer(fx, "O", 3, id);
    const population_customer c = {id, "South", "Miami", ""};
    population_plan plan;
    assert_int_equal(population_plan_one(fx->policy, fx->cal, r2(fx), 2016, &c,
                                         &plan, NULL, 0),
                     RV_OK);
    population_suppress_opt_out(&plan);
    assert_int_equal(plan.decision.outcome, RV_DECISION_SUPPRESSED_OPT_OUT);
    assert_string_equal(plan.decision.task_id, plan.task.task_id);
    assert_non_null(
        strstr(plan.decision.reason, ": month 3; the customer opted out (C4)"));
    char key[POPULATION_OPTOUT_KEY_SIZE];
    population_optout_key("C42", key);
    assert_string_equal(key, "rv:{C42}:optout");
}

/* The line: counts, months of the drawn, SHA-256 over the drawn IDs in
 * byte order, one per line, whatever order they came in. */
static void test_population_summary_line(void **state)
{
    (void)state;
    population_summary s;
    population_summary_init(&s, 2016);
    population_plan plan;
    memset(&plan, 0, sizeof(plan));
    static const struct {
        const char *id;
        int month;
        bool opted_out;
    } rows[] = {
        {"b", 3, false}, {"x", 0, false}, {"a", 12, true}, {"c", 3, false}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        plan.selected = rows[i].month > 0;
        plan.month = rows[i].month;
        rv_copy_str(plan.decision.customer_id,
                    sizeof(plan.decision.customer_id), rows[i].id);
        plan.decision.outcome = rows[i].opted_out
                                    ? RV_DECISION_SUPPRESSED_OPT_OUT
                                    : RV_DECISION_SELECTED;
        assert_int_equal(population_summary_add(&s, &plan), RV_OK);
    }
    char sha[RV_SHA256_HEX_SIZE], want[512], line[512];
    rv_sha256_hex("a\nb\nc\n", 6, sha);
    snprintf(want, sizeof(want),
             "sample-population: year=2016 population=4 selected=3 "
             "months=[0,0,2,0,0,0,0,0,0,0,0,1] sha256=%s opted_out=1",
             sha);
    assert_int_equal(population_summary_format(&s, line, sizeof(line)), RV_OK);
    assert_string_equal(line, want);
    assert_int_equal(population_summary_format(&s, line, 40), RV_ERR_FULL);
    population_summary_fini(&s);

    population_summary_init(&s, 2017);
    rv_sha256_hex("", 0, sha);
    snprintf(want, sizeof(want),
             "sample-population: year=2017 population=0 selected=0 "
             "months=[0,0,0,0,0,0,0,0,0,0,0,0] sha256=%s opted_out=0",
             sha);
    assert_int_equal(population_summary_format(&s, line, sizeof(line)), RV_OK);
    assert_string_equal(line, want);
    population_summary_fini(&s);
    population_summary_fini(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_population_draw_is_the_sampler_hash_per_year),
        cmocka_unit_test(test_population_month_spreads_the_draw),
        cmocka_unit_test(test_population_draw_selects_the_rate_evenly),
        cmocka_unit_test(test_population_check_rule),
        cmocka_unit_test(test_population_plan_january_in_west),
        cmocka_unit_test(test_population_plan_september_in_east),
        cmocka_unit_test(test_population_plan_not_selected_and_refusals),
        cmocka_unit_test(test_population_opt_out),
        cmocka_unit_test(test_population_summary_line),
    };
    return cmocka_run_group_tests_name("population", tests, fixture_setup,
                                       fixture_teardown);
}
