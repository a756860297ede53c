#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
    /* Due window of a sale on Fri 2016-07-01: Tue 07-05 .. Mon 07-11. */
    t.due_start_us = utc_us("2016-07-05", 7, 0);
    t.due_end_us = utc_us("2016-07-12", 7, 0);
    t.attempt = 1;
    return t;
}

/* C1 (seed 001 §六): 10:00-11:30 and 14:00-16:30 local, not Monday
 * morning; every slot inside the due window; earliest first. */
static void test_assigner_slots_respect_windows_and_due(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-1");
    assigner_slot slots[ASSIGNER_SLOTS_MAX];
    char why[160] = "";
    size_t n = assigner_slots(fx->policy, fx->cal, &t, slots,
                              ASSIGNER_SLOTS_MAX, why, sizeof(why));
    /* 4 days x 2 windows + Monday afternoon = 9 windows x 4 agents. */
    assert_int_equal(n, ASSIGNER_SLOTS_MAX);
    /* Tue 2016-07-05 10:00 PDT = 17:00 UTC. */
    assert_int_equal(slots[0].start_us, utc_us("2016-07-05", 17, 0));
    assert_int_equal(slots[0].end_us, utc_us("2016-07-05", 18, 30));
    for (size_t i = 0; i < n; i++) {
        assert_true(slots[i].start_us >= t.due_start_us);
        assert_true(slots[i].end_us <= t.due_end_us);
        assert_true(i == 0 || slots[i].start_us >= slots[i - 1].start_us);
        assert_string_equal(slots[i].agent->branch, "West");
        assert_int_equal(slots[i].day_capacity, 30);
        assert_int_equal(slots[i].window_capacity, 15); /* 30 over 2 */
    }
    /* The four agents of a window are all offered, each once. */
    for (size_t i = 1; i < 4; i++) {
        assert_string_not_equal(slots[0].agent->id, slots[i].agent->id);
    }
}

static void test_assigner_monday_morning_is_skipped(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-mon");
    t.due_start_us = utc_us("2016-07-11", 7, 0); /* Monday */
    assigner_slot slots[ASSIGNER_SLOTS_MAX];
    size_t n = assigner_slots(fx->policy, fx->cal, &t, slots,
                              ASSIGNER_SLOTS_MAX, NULL, 0);
    assert_int_equal(n, 4); /* only the afternoon window, 4 agents */
    assert_int_equal(slots[0].start_us, utc_us("2016-07-11", 21, 0));
    assert_int_equal(slots[0].window, 1);
}

/* C2: a retry is not booked before the first call. */
static void test_assigner_retry_waits_for_next_window(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-2");
    t.attempt = 2;
    t.not_before_us = utc_us("2016-07-05", 17, 20);
    assigner_slot slots[ASSIGNER_SLOTS_MAX];
    size_t n = assigner_slots(fx->policy, fx->cal, &t, slots,
                              ASSIGNER_SLOTS_MAX, NULL, 0);
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
    assigner_slot slots[ASSIGNER_SLOTS_MAX];
    char why[160] = "";
    assert_int_equal(assigner_slots(fx->policy, fx->cal, &t, slots,
                                    ASSIGNER_SLOTS_MAX, why, sizeof(why)),
                     0);
    assert_non_null(strstr(why, "no call window"));
    rv_copy_str(t.branch_id, sizeof(t.branch_id), "Atlantis");
    assert_int_equal(assigner_slots(fx->policy, fx->cal, &t, slots,
                                    ASSIGNER_SLOTS_MAX, why, sizeof(why)),
                     0);
    assert_non_null(strstr(why, "Atlantis"));
}

static void test_assigner_agent_order_is_deterministic(void **state)
{
    fixture *fx = *state;
    assigner_slot a[ASSIGNER_SLOTS_MAX], b[ASSIGNER_SLOTS_MAX];
    int first_agent_differs = 0;
    for (int i = 0; i < 40; i++) {
        char id[32];
        snprintf(id, sizeof(id), "task-%d", i);
        rv_task t = west_task(id);
        size_t na = assigner_slots(fx->policy, fx->cal, &t, a,
                                   ASSIGNER_SLOTS_MAX, NULL, 0);
        size_t nb = assigner_slots(fx->policy, fx->cal, &t, b,
                                   ASSIGNER_SLOTS_MAX, NULL, 0);
        assert_int_equal(na, nb);
        assert_ptr_equal(a[0].agent, b[0].agent);
        first_agent_differs += strcmp(a[0].agent->id, "w01") != 0;
    }
    /* Rotation spreads first choices over the agents. */
    assert_true(first_agent_differs > 10);
}

static void test_assigner_call_and_label(void **state)
{
    fixture *fx = *state;
    rv_task t = west_task("task-4");
    assigner_slot slots[ASSIGNER_SLOTS_MAX];
    size_t n = assigner_slots(fx->policy, fx->cal, &t, slots, 2, NULL, 0);
    assert_int_equal(n, 2);
    static assigner_call call;
    rv_redis_call rc;
    assigner_call_build(&call, "West", "task-4", 1, slots, n, &rc);
    assert_int_equal(rc.key_count, 5);
    assert_int_equal(rc.arg_count, 7);
    assert_string_equal(rc.keys[0], "rv:{West}:booking:task-4:1");
    assert_non_null(strstr(rc.keys[1], "rv:{West}:cap:"));
    assert_string_equal(rc.args[0], "2");
    assigner_booked b;
    bool booked = false;
    assert_int_equal(assigner_parse_label(rc.args[3], &b, &booked), RV_OK);
    assert_true(booked);
    assert_string_equal(b.agent_id, slots[0].agent->id);
    assert_int_equal(b.start_us, slots[0].start_us);
    assert_int_equal(assigner_parse_label("none", &b, &booked), RV_OK);
    assert_false(booked);
    assert_int_equal(assigner_parse_label("w01|x|1|2|3", &b, &booked),
                     RV_ERR_INVALID);
    assert_int_equal(assigner_parse_label("w01|1|0|5|4", &b, &booked),
                     RV_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assigner_slots_respect_windows_and_due),
        cmocka_unit_test(test_assigner_monday_morning_is_skipped),
        cmocka_unit_test(test_assigner_retry_waits_for_next_window),
        cmocka_unit_test(test_assigner_no_slot_gives_reason),
        cmocka_unit_test(test_assigner_agent_order_is_deterministic),
        cmocka_unit_test(test_assigner_call_and_label),
    };
    return cmocka_run_group_tests_name("assigner", tests, fixture_setup,
                                       fixture_teardown);
}
