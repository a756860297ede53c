#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "assigner_book.h"
#include "assigner_slots.h"
#include "policy_fixture.h"

static rv_task west_task(const char *id)
{
    rv_task t;
    memset(&t, 0, sizeof(t));
    rv_copy_str(t.task_id, sizeof(t.task_id), id);
    rv_copy_str(t.branch_id, sizeof(t.branch_id), "West");
    rv_copy_str(t.rule_id, sizeof(t.rule_id), "R1");
    /* Due window of a sale on Fri 2016-07-01: Tue 07-05 .. Mon 07-11. */
    t.due_start_us = utc_us("2016-07-05", 7, 0);
    t.due_end_us = utc_us("2016-07-12", 7, 0);
    t.attempt = 1;
    return t;
}

static size_t slots_of(const fixture *fx, const rv_task *t, assigner_slot *out,
                       const char **pool, char *why, size_t why_size)
{
    return assigner_slots(fx->policy, fx->cal, t, out, ASSIGNER_SLOTS_MAX, pool,
                          why, why_size);
}

/* C1 (seed 001 §六): 10:00-11:30 and 14:00-16:30 local, not Monday
 * morning; every slot inside the due window; earliest first. */
static void test_assigner_slots_respect_windows_and_due(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-1");
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    size_t n = slots_of(fx, &t, slots, &pool, NULL, 0);
    /* 4 days x 2 windows + Monday afternoon = 9 windows x 4 agents. */
    assert_int_equal(n, 36);
    assert_string_equal(pool, "West");
    /* Tue 2016-07-05 10:00 PDT = 17:00 UTC. */
    assert_int_equal(slots[0].start_us, utc_us("2016-07-05", 17, 0));
    assert_int_equal(slots[0].end_us, utc_us("2016-07-05", 18, 30));
    for (size_t i = 0; i < n; i++) {
        assert_true(slots[i].start_us >= t.due_start_us);
        assert_true(slots[i].end_us <= t.due_end_us);
        assert_true(i == 0 || slots[i].start_us >= slots[i - 1].start_us);
        assert_string_equal(slots[i].agent->branch, "West");
        /* C5 and R8: 30 a day, 20% of it kept for priority work, the
         * rest spread over the day's windows: 2, or 1 on Monday. */
        assert_int_equal(slots[i].day_capacity, 24);
        bool monday = slots[i].start_us >= utc_us("2016-07-11", 7, 0);
        assert_int_equal(slots[i].window_capacity, monday ? 24 : 12);
    }
    /* Monday 2016-07-11: only the afternoon window. */
    assert_int_equal(slots[32].start_us, utc_us("2016-07-11", 21, 0));
    assert_int_equal(slots[32].window, 1);
    /* The four agents of a window are all offered, each once. */
    for (size_t i = 1; i < 4; i++) {
        assert_string_not_equal(slots[0].agent->id, slots[i].agent->id);
    }
}

/* R8 (seed 000 第二篇 第四条): priority work may use the whole day. */
static void test_assigner_priority_uses_the_reserve(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-prio");
    t.priority = 10;
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    size_t n = slots_of(fx, &t, slots, &pool, NULL, 0);
    assert_true(n > 0);
    assert_int_equal(slots[0].day_capacity, 30);
    assert_int_equal(slots[0].window_capacity, 15);
}

/* Roster: an agent takes only its channels and works only its days. */
static void test_assigner_roster_channels_and_days(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-roster");
    rv_agent *w01 = NULL;
    for (unsigned i = 0; i < fx->policy->agent_count; i++) {
        if (strcmp(fx->policy->agents[i].id, "w01") == 0) {
            w01 = &fx->policy->agents[i];
        }
    }
    assert_non_null(w01);
    unsigned saved_mask = w01->day_mask;
    w01->day_mask = 1u << 1; /* Tuesdays only */
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    size_t n = slots_of(fx, &t, slots, &pool, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        if (slots[i].agent == w01) {
            assert_int_equal(rv_calendar_weekday(slots[i].day), 1);
        }
    }
    w01->day_mask = saved_mask;
    t.channel = RV_CHANNEL_ON_SITE;
    char on_site[] = "on_site";
    char *channels[] = {on_site};
    for (unsigned i = 0; i < fx->policy->agent_count; i++) {
        fx->policy->agents[i].channels = channels;
        fx->policy->agents[i].channel_count = 1;
    }
    w01->channels = NULL;
    w01->channel_count = 0; /* all channels */
    n = slots_of(fx, &t, slots, &pool, NULL, 0);
    assert_true(n > 0);
    t.channel = RV_CHANNEL_SMS;
    n = slots_of(fx, &t, slots, &pool, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(slots[i].agent, w01);
    }
    for (unsigned i = 0; i < fx->policy->agent_count; i++) {
        fx->policy->agents[i].channels = NULL;
        fx->policy->agents[i].channel_count = 0;
    }
}

static void test_assigner_monday_morning_is_skipped(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-mon");
    t.due_start_us = utc_us("2016-07-11", 7, 0); /* Monday */
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    size_t n = slots_of(fx, &t, slots, &pool, NULL, 0);
    assert_int_equal(n, 4); /* only the afternoon window, 4 agents */
    assert_int_equal(slots[0].start_us, utc_us("2016-07-11", 21, 0));
    assert_int_equal(slots[0].window, 1);
}

/* C2: a retry is not booked before the first call, nor in its window. */
static void test_assigner_retry_waits_for_next_window(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-2");
    t.attempt = 2;
    t.not_before_us = utc_us("2016-07-05", 17, 20);
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    size_t n = slots_of(fx, &t, slots, &pool, NULL, 0);
    assert_true(n > 0);
    assert_int_equal(slots[0].start_us, utc_us("2016-07-05", 21, 0));
}

static void test_assigner_no_slot_gives_reason(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-3");
    /* A due window on a weekend only. */
    t.due_start_us = utc_us("2016-07-09", 7, 0);
    t.due_end_us = utc_us("2016-07-11", 7, 0);
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    char why[160] = "";
    assert_int_equal(slots_of(fx, &t, slots, &pool, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "no call window"));
    rv_copy_str(t.branch_id, sizeof(t.branch_id), "Atlantis");
    assert_int_equal(slots_of(fx, &t, slots, &pool, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "Atlantis"));
}

static void test_assigner_agent_order_is_deterministic(void **state)
{
    fixture *fx = *state;
    static assigner_slot a[ASSIGNER_SLOTS_MAX], b[ASSIGNER_SLOTS_MAX];
    int first_agent_differs = 0;
    const char *pool = NULL;
    for (int i = 0; i < 40; i++) {
        char id[32];
        snprintf(id, sizeof(id), "task-%d", i);
        rv_task t = west_task(id);
        size_t na = slots_of(fx, &t, a, &pool, NULL, 0);
        size_t nb = slots_of(fx, &t, b, &pool, NULL, 0);
        assert_int_equal(na, nb);
        assert_ptr_equal(a[0].agent, b[0].agent);
        first_agent_differs += strcmp(a[0].agent->id, "w01") != 0;
    }
    /* Rotation spreads first choices over the agents. */
    assert_true(first_agent_differs > 10);
}

/* Slots over two days, an agent missing on the second: agents and days
 * sent once, a group per (day, window) with its agents in slot order,
 * window capacity 0 where an agent has no slot; capacities that
 * disagree are refused. */
static void test_assigner_call_groups(void **state)
{
    (void)state;
    char ida[] = "a", idb[] = "b";
    rv_agent ag[2] = {{.id = ida, .daily_capacity = 4},
                      {.id = idb, .daily_capacity = 4}};
    assigner_slot sl[5] = {
        {&ag[1], 100, 0, 10, 20, 4, 2}, {&ag[0], 100, 0, 10, 20, 4, 2},
        {&ag[1], 100, 1, 30, 40, 4, 2}, {&ag[0], 100, 1, 30, 40, 4, 2},
        {&ag[1], 101, 1, 50, 60, 4, 4},
    };
    assigner_call call = {0};
    rv_redis_call rc;
    assert_int_equal(assigner_call_build(&call, "P", "t", 1, sl, 5, &rc),
                     RV_OK);
    assert_int_equal(rc.key_count, 3);
    assert_string_equal(rc.keys[1], "rv:{P}:cap:100");
    assert_string_equal(rc.keys[2], "rv:{P}:cap:101");
    static const char *const want[] = {
        "2",   "2",   "3",                    /* agents, days, groups */
        "b",   "a",   "4",  "4",              /* IDs, day capacities */
        "2",   "4",   "2",  "0",              /* window capacity b@100, b@101,
                                                 a@100, a@101 */
        "100", "101",                         /* day numbers */
        "1",   "0",   "10", "20", "\x01\x02", /* day 1 window 0: b, a */
        "1",   "1",   "30", "40", "\x01\x02", /* day 1 window 1: b, a */
        "2",   "1",   "50", "60", "\x01",     /* day 2 window 1: b */
    };
    assert_int_equal(rc.arg_count, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < rc.arg_count; i++) {
        assert_string_equal(rc.args[i], want[i]);
    }
    sl[3].window_capacity = 3; /* a@100 has 2 in window 0 */
    assert_int_equal(assigner_call_build(&call, "P", "t", 1, sl, 5, &rc),
                     RV_ERR_INVALID);
    sl[3].window_capacity = 2;
    sl[4].day_capacity = 5; /* b has 4 elsewhere */
    assert_int_equal(assigner_call_build(&call, "P", "t", 1, sl, 5, &rc),
                     RV_ERR_INVALID);
    assert_int_equal(assigner_call_build(&call, "P", "t", 1, sl, 0, &rc),
                     RV_ERR_INVALID);
    assigner_call_fini(&call);
}

static void test_assigner_call_and_label(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-4");
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    size_t n =
        assigner_slots(fx->policy, fx->cal, &t, slots, 2, &pool, NULL, 0);
    assert_int_equal(n, 2);
    /* Two agents in the first window of the first day: one group. */
    assert_int_equal(slots[0].day, slots[1].day);
    assert_int_equal(slots[0].window, slots[1].window);
    assert_ptr_not_equal(slots[0].agent, slots[1].agent);
    assigner_call call = {0};
    rv_redis_call rc;
    assert_int_equal(
        assigner_call_build(&call, pool, "task-4", 1, slots, n, &rc), RV_OK);
    assert_int_equal(rc.key_count, 2);
    assert_int_equal(rc.arg_count, 3 + 2 * 2 + 2 * 1 + 1 + 5);
    assert_string_equal(rc.keys[0], "rv:{West}:booking:task-4:1");
    char day[24], key[RV_BOOKING_KEY_SIZE], num[32];
    snprintf(day, sizeof(day), "%lld", (long long)slots[0].day);
    rv_booking_counters_key(key, sizeof(key), "West", slots[0].day);
    assert_string_equal(rc.keys[1], key);
    assert_string_equal(rc.args[0], "2"); /* agents */
    assert_string_equal(rc.args[1], "1"); /* days */
    assert_string_equal(rc.args[2], "1"); /* groups */
    assert_string_equal(rc.args[3], slots[0].agent->id);
    assert_string_equal(rc.args[4], slots[1].agent->id);
    assert_string_equal(rc.args[5], "24"); /* day capacity, R8 reserve */
    assert_string_equal(rc.args[6], "24");
    assert_string_equal(rc.args[7], "12"); /* window capacity */
    assert_string_equal(rc.args[8], "12");
    assert_string_equal(rc.args[9], day);
    assert_string_equal(rc.args[10], "1"); /* the group's day: the 1st */
    snprintf(num, sizeof(num), "%d", slots[0].window);
    assert_string_equal(rc.args[11], num);
    snprintf(num, sizeof(num), "%lld", (long long)slots[0].start_us);
    assert_string_equal(rc.args[12], num);
    snprintf(num, sizeof(num), "%lld", (long long)slots[0].end_us);
    assert_string_equal(rc.args[13], num);
    assert_string_equal(rc.args[14], "\x01\x02"); /* agents 1, 2 */
    /* A second build into the same call reuses its buffers. */
    assert_int_equal(
        assigner_call_build(&call, pool, "task-5", 2, slots, 1, &rc), RV_OK);
    assert_string_equal(rc.keys[0], "rv:{West}:booking:task-5:2");
    assert_int_equal(rc.arg_count, 3 + 2 + 1 + 1 + 5);
    assert_string_equal(rc.args[11], "\x01");
    assigner_call_fini(&call);
    rv_booked b;
    bool booked = false;
    assigner_call_fini(&call);
    assert_int_equal(rv_booking_parse("none", &b, &booked), RV_OK);
    assert_false(booked);
    assert_int_equal(rv_booking_parse("w01|x|1|2|3", &b, &booked),
                     RV_ERR_INVALID);
    assert_int_equal(rv_booking_parse("w01|1|0|5|4", &b, &booked),
                     RV_ERR_INVALID);
}

/* A policy with a compliance pool: R3 visits are served by the call
 * centre's compliance team, never by the salesperson nor their branch. */
static const char *r3_yaml =
    "version: \"r3\"\nsalt: \"s\"\ncooldown_days: 7\n"
    "grading: {max_phone_attempts: 2, satisfied_min: 4, "
    "dissatisfied_max: 2}\n"
    "questions:\n  - {id: q1, kind: info, text: a}\n"
    "rules:\n"
    "  - {id: R3, triggers: [account_opened], reason: r3, rate: 1.0,"
    " channel: phone, questions: [q1], pool: compliance, independent: true,"
    " due: {delay_working_days: 1, length_working_days: 5}}\n"
    "call_windows:\n  - {start: \"10:00\", end: \"11:30\"}\n"
    "calendars:\n  - {id: c, weekend: [sat, sun]}\n"
    "branches:\n  - {id: West, tz: America/Los_Angeles, calendar: c}\n"
    "  - {id: East, tz: America/New_York, calendar: c}\n"
    "agents:\n"
    "  - {id: w01, branch: West, daily_capacity: 30, pool: compliance}\n"
    "  - {id: w02, branch: West, daily_capacity: 30, pool: compliance}\n"
    "  - {id: e01, branch: East, daily_capacity: 30, pool: compliance}\n"
    "  - {id: e02, branch: East, daily_capacity: 30}\n";

static void load_yaml(const char *yaml, rv_policy **p, rv_calendar **cal)
{
    char path[] = "/tmp/rv_policy_r3_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    char err[256] = "";
    rv_err rc = rv_policy_load(path, p, err, sizeof(err));
    unlink(path);
    if (rc != RV_OK) {
        fail_msg("policy: %s", err);
    }
    assert_int_equal(rv_calendar_new(*p, cal, err, sizeof(err)), RV_OK);
}

/* R3 (seed 000; seed 002 supervision post): a West customer developed by
 * w01 is visited by the compliance pool, but not by w01, not by w02
 * (same branch as the customer), and not by e02 (not in the pool). */
static void test_assigner_r3_never_salesperson_nor_branch(void **state)
{
    (void)state;
    rv_policy *p = NULL;
    rv_calendar *cal = NULL;
    load_yaml(r3_yaml, &p, &cal);
    rv_task t = west_task("task-r3");
    rv_copy_str(t.rule_id, sizeof(t.rule_id), "R3");
    rv_copy_str(t.salesperson_id, sizeof(t.salesperson_id), "w01");
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    size_t n =
        assigner_slots(p, cal, &t, slots, ASSIGNER_SLOTS_MAX, &pool, NULL, 0);
    assert_string_equal(pool, "compliance");
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(slots[i].agent->id, "e01");
    }
    /* Failing example: a pool of the salesperson's own branch only. */
    rv_copy_str(t.branch_id, sizeof(t.branch_id), "East");
    rv_copy_str(t.salesperson_id, sizeof(t.salesperson_id), "x99");
    char why[160] = "";
    n = assigner_slots(p, cal, &t, slots, ASSIGNER_SLOTS_MAX, &pool, why,
                       sizeof(why));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(slots[i].agent->branch, "West");
    }
    rv_copy_str(t.salesperson_id, sizeof(t.salesperson_id), "w02");
    n = assigner_slots(p, cal, &t, slots, ASSIGNER_SLOTS_MAX, &pool, why,
                       sizeof(why));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(slots[i].agent->id, "w01");
    }
    rv_calendar_free(cal);
    rv_policy_free(p);
}

static void test_assigner_r3_no_independent_agent_is_unbooked(void **state)
{
    (void)state;
    rv_policy *p = NULL;
    rv_calendar *cal = NULL;
    load_yaml(r3_yaml, &p, &cal);
    rv_task t = west_task("task-r3b");
    rv_copy_str(t.rule_id, sizeof(t.rule_id), "R3");
    rv_copy_str(t.branch_id, sizeof(t.branch_id), "East");
    rv_copy_str(t.salesperson_id, sizeof(t.salesperson_id), "e01");
    /* Take both West agents out: no independent agent is left. */
    p->agents[0].daily_capacity = 0;
    p->agents[1].daily_capacity = 0;
    static assigner_slot slots[ASSIGNER_SLOTS_MAX];
    const char *pool = NULL;
    char why[160] = "";
    assert_int_equal(assigner_slots(p, cal, &t, slots, ASSIGNER_SLOTS_MAX,
                                    &pool, why, sizeof(why)),
                     0);
    assert_string_equal(why, "pool compliance has no independent agent with "
                             "capacity (R3)");
    rv_calendar_free(cal);
    rv_policy_free(p);
}

/* C2 (seed 001 §六.8): the policy's attempts (2) may be booked, a third
 * is refused with a reason for the dead letter. */
static void test_assigner_task_past_attempts_is_refused(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-9");
    char why[160] = "";
    t.attempt = 2;
    assert_true(assigner_task_ok(fx->policy, &t, why, sizeof(why)));
    t.attempt = 3;
    assert_false(assigner_task_ok(fx->policy, &t, why, sizeof(why)));
    assert_string_equal(why, "task task-9: attempt 3 beyond "
                             "grading.max_phone_attempts 2 (C2)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assigner_slots_respect_windows_and_due),
        cmocka_unit_test(test_assigner_monday_morning_is_skipped),
        cmocka_unit_test(test_assigner_priority_uses_the_reserve),
        cmocka_unit_test(test_assigner_roster_channels_and_days),
        cmocka_unit_test(test_assigner_retry_waits_for_next_window),
        cmocka_unit_test(test_assigner_no_slot_gives_reason),
        cmocka_unit_test(test_assigner_agent_order_is_deterministic),
        cmocka_unit_test(test_assigner_call_and_label),
        cmocka_unit_test(test_assigner_call_groups),
        cmocka_unit_test(test_assigner_r3_never_salesperson_nor_branch),
        cmocka_unit_test(test_assigner_r3_no_independent_agent_is_unbooked),
        cmocka_unit_test(test_assigner_task_past_attempts_is_refused),
    };
    return cmocka_run_group_tests_name("assigner", tests, fixture_setup,
                                       fixture_teardown);
}
