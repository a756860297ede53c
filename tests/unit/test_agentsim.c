#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agentsim_model.h"
#include "policy_fixture.h"

static rv_assignment assignment(int i)
{
    rv_assignment a;
    memset(&a, 0, sizeof(a));
    snprintf(a.assignment_id, sizeof(a.assignment_id), "as-%d", i);
    rv_copy_str(a.env.event_id, sizeof(a.env.event_id), a.assignment_id);
    rv_copy_str(a.task_id, sizeof(a.task_id), "task");
    rv_copy_str(a.customer_id, sizeof(a.customer_id), "C-1");
    rv_copy_str(a.branch_id, sizeof(a.branch_id), "West");
    rv_copy_str(a.agent_id, sizeof(a.agent_id), "w01");
    a.attempt = 1;
    a.status = RV_ASSIGNED;
    a.channel = RV_CHANNEL_PHONE;
    a.window_start_us = utc_us("2016-07-05", 17, 0);
    a.window_end_us = utc_us("2016-07-05", 18, 30);
    rv_copy_str(a.questions[0], RV_KEY_SIZE, "q.satisfaction");
    rv_copy_str(a.questions[1], RV_KEY_SIZE, "q.delivery");
    a.question_count = 2;
    return a;
}

static void test_agentsim_same_seed_same_outcome(void **state)
{
    fixture *fx = *state;
    static rv_outcome x, y;
    for (int i = 0; i < 300; i++) {
        rv_assignment a = assignment(i);
        agentsim_call(fx->policy, "seed-1", &a, &x);
        agentsim_call(fx->policy, "seed-1", &a, &y);
        x.env.produced_at_us = y.env.produced_at_us = 0; /* wall clock */
        assert_memory_equal(&x, &y, sizeof(x));
        assert_true(x.started_at_us >= a.window_start_us);
        assert_true(x.started_at_us < a.window_end_us);
    }
}

static void test_agentsim_dispositions_are_realistic(void **state)
{
    fixture *fx = *state;
    static rv_outcome o;
    int counts[9] = {0}, yes = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        rv_assignment a = assignment(i);
        agentsim_call(fx->policy, "seed-2", &a, &o);
        counts[o.disposition]++;
        if (o.disposition == RV_DISP_ANSWERED) {
            assert_true(o.satisfaction >= 0 && o.satisfaction <= 5);
            assert_true(o.answer_count >= 2);
            assert_true(o.recording_ref[0] != '\0');
        }
        for (size_t k = 0; k < o.answer_count; k++) {
            yes += strcmp(o.answers[k].value, "yes") == 0;
        }
    }
    /* answered 66.5% (sd 0.33%), no answer 12% (sd 0.23%): 5 sd. */
    assert_in_range(counts[RV_DISP_ANSWERED], n * 665 / 1000 - 340,
                    n * 665 / 1000 + 340);
    assert_in_range(counts[RV_DISP_NO_ANSWER], n * 12 / 100 - 230,
                    n * 12 / 100 + 230);
    for (int d = RV_DISP_ANSWERED; d <= RV_DISP_REFUSED; d++) {
        assert_true(counts[d] > 0);
    }
    /* About 1% of connected calls report a compliance finding. */
    assert_in_range(yes, 70, 230);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agentsim_same_seed_same_outcome),
        cmocka_unit_test(test_agentsim_dispositions_are_realistic),
    };
    return cmocka_run_group_tests_name("agentsim", tests, fixture_setup,
                                       fixture_teardown);
}
