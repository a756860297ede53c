#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "grader_rules.h"
#include "policy_fixture.h"

static rv_outcome outcome(rv_disposition d, unsigned attempt)
{
    rv_outcome o;
    memset(&o, 0, sizeof(o));
    rv_copy_str(o.env.event_id, sizeof(o.env.event_id), "out-ev");
    o.env.occurred_at_us = utc_us("2016-07-05", 17, 10);
    rv_copy_str(o.outcome_id, sizeof(o.outcome_id), "out-1");
    rv_copy_str(o.task_id, sizeof(o.task_id), "task-1");
    rv_copy_str(o.customer_id, sizeof(o.customer_id), "C-1");
    rv_copy_str(o.branch_id, sizeof(o.branch_id), "West");
    rv_copy_str(o.agent_id, sizeof(o.agent_id), "w01");
    rv_copy_str(o.rule_id, sizeof(o.rule_id), "R1");
    rv_copy_str(o.phone, sizeof(o.phone), "5550001234");
    o.attempt = attempt;
    o.disposition = d;
    o.channel = RV_CHANNEL_PHONE;
    o.started_at_us = utc_us("2016-07-05", 17, 10);
    o.due_start_us = utc_us("2016-07-05", 7, 0);
    o.due_end_us = utc_us("2016-07-12", 7, 0);
    o.satisfaction = -1;
    rv_copy_str(o.questions[0], RV_KEY_SIZE, "q.satisfaction");
    rv_copy_str(o.questions[1], RV_KEY_SIZE, "q.delivery");
    o.question_count = 2;
    return o;
}

static void answer(rv_outcome *o, const char *q, const char *v)
{
    rv_copy_str(o->answers[o->answer_count].question_id, RV_KEY_SIZE, q);
    rv_copy_str(o->answers[o->answer_count].value, RV_KEY_SIZE, v);
    o->answer_count++;
}

/* G1 (seed 001 §四): connected and every question answered. */
static void test_grader_success_needs_every_answer(void **state)
{
    fixture *fx = *state;
    rv_outcome o = outcome(RV_DISP_ANSWERED, 1);
    o.satisfaction = 5;
    rv_copy_str(o.recording_ref, sizeof(o.recording_ref), "rec-1");
    answer(&o, "q.satisfaction", "5");
    answer(&o, "q.delivery", "ok");
    rv_grade g;
    rv_task retry;
    bool has_retry = true;
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_SUCCESS);
    assert_false(has_retry);
    assert_int_equal(g.band, RV_BAND_SATISFIED);
    assert_true(g.evidence_ok);
    assert_true(g.in_due_window);
    assert_string_equal(g.env.causation_id, "out-ev");

    o.answer_count = 1; /* q.delivery unanswered */
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_FAILED);
    assert_non_null(strstr(g.reason, "q.delivery"));
}

/* G2 (seed 002 no. 4): 4-5 satisfied, 3 neutral, 0-2 dissatisfied. */
static void test_grader_satisfaction_bands(void **state)
{
    fixture *fx = *state;
    const struct {
        int score;
        rv_band band;
    } cases[] = {{5, RV_BAND_SATISFIED},    {4, RV_BAND_SATISFIED},
                 {3, RV_BAND_NEUTRAL},      {2, RV_BAND_DISSATISFIED},
                 {0, RV_BAND_DISSATISFIED}, {-1, RV_BAND_NONE}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rv_outcome o = outcome(RV_DISP_ANSWERED, 1);
        answer(&o, "q.satisfaction", "x");
        answer(&o, "q.delivery", "ok");
        rv_copy_str(o.recording_ref, sizeof(o.recording_ref), "rec-1");
        o.satisfaction = cases[i].score;
        rv_grade g;
        rv_task retry;
        bool has_retry;
        grader_grade(fx->policy, &o, &g, &retry, &has_retry);
        assert_int_equal(g.verdict, RV_VERDICT_SUCCESS);
        assert_int_equal(g.band, cases[i].band);
        assert_true(g.evidence_ok);
    }
}

/* C2 (seed 001 §六.8): one unanswered call allows a second, never a
 * third. */
static void test_grader_no_answer_retries_once(void **state)
{
    fixture *fx = *state;
    rv_outcome o = outcome(RV_DISP_NO_ANSWER, 1);
    rv_grade g;
    rv_task retry;
    bool has_retry = false;
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_RETRY);
    assert_true(has_retry);
    assert_int_equal(retry.attempt, 2);
    assert_string_equal(retry.task_id, "task-1");
    /* The policy's gap: 60 minutes after the first call started. */
    assert_int_equal(retry.not_before_us,
                     o.started_at_us + 1 + 60LL * 60 * 1000000);
    assert_int_equal(retry.due_end_us, o.due_end_us);
    assert_string_equal(retry.phone, "5550001234");
    assert_int_equal(retry.question_count, 2);

    o = outcome(RV_DISP_BUSY, 2);
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_FAILED);
    assert_false(has_retry);

    /* Issue 5: a phone that is powered off is tried once more too. */
    o = outcome(RV_DISP_POWERED_OFF, 1);
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_RETRY);
    assert_true(has_retry);
    o = outcome(RV_DISP_POWERED_OFF, 2);
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_FAILED);
    assert_false(has_retry);
}

/* G3 (seed 000 第一篇, 第三篇): an answered visit without its recording
 * is not a valid visit. */
static void test_grader_no_evidence_is_not_a_visit(void **state)
{
    fixture *fx = *state;
    rv_outcome o = outcome(RV_DISP_ANSWERED, 1);
    answer(&o, "q.satisfaction", "5");
    answer(&o, "q.delivery", "ok");
    o.satisfaction = 5;
    rv_grade g;
    rv_task retry;
    bool has_retry = true;
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_FAILED);
    assert_false(has_retry);
    assert_false(g.evidence_ok);
    assert_string_equal(g.reason, "G3: no recording reference, not a valid "
                                  "visit");
    assert_int_equal(g.band, RV_BAND_NONE);
}

/* G1: powered off, out of service, wrong number are no successes and
 * are not called again. */
static void test_grader_unreachable_fails_without_retry(void **state)
{
    fixture *fx = *state;
    rv_disposition ds[] = {RV_DISP_OUT_OF_SERVICE, RV_DISP_WRONG_NUMBER,
                           RV_DISP_REFUSED, RV_DISP_ANSWERED_PARTIAL};
    for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
        rv_outcome o = outcome(ds[i], 1);
        rv_grade g;
        rv_task retry;
        bool has_retry = true;
        grader_grade(fx->policy, &o, &g, &retry, &has_retry);
        assert_int_equal(g.verdict, RV_VERDICT_FAILED);
        assert_false(has_retry);
        assert_false(g.in_due_window);
    }
}

static void test_grader_copies_compliance_answers_and_ids(void **state)
{
    fixture *fx = *state;
    rv_outcome o = outcome(RV_DISP_ANSWERED, 1);
    answer(&o, "q.satisfaction", "4");
    answer(&o, "q.delivery", "ok");
    answer(&o, "a1.password_known", "yes");
    answer(&o, "a1.profit_sharing", "no");
    rv_grade g, g2;
    rv_task retry;
    bool has_retry;
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    grader_grade(fx->policy, &o, &g2, &retry, &has_retry);
    assert_int_equal(g.compliance_count, 2);
    assert_string_equal(g.compliance[0].question_id, "a1.password_known");
    assert_string_equal(g.grade_id, g2.grade_id);
    assert_int_equal(strlen(g.grade_id), 32);
}

/* Issue 5: every disposition's verdict and retry decision, on the first
 * and on the last attempt, for the channel it belongs to. */
static void test_grader_every_disposition(void **state)
{
    fixture *fx = *state;
    const struct {
        rv_disposition d;
        rv_channel channel;
        rv_verdict first;  /* attempt 1 */
        rv_verdict second; /* attempt 2, the last (C2) */
    } cases[] = {
        {RV_DISP_ANSWERED, RV_CHANNEL_PHONE, RV_VERDICT_SUCCESS,
         RV_VERDICT_SUCCESS},
        {RV_DISP_ANSWERED_PARTIAL, RV_CHANNEL_PHONE, RV_VERDICT_FAILED,
         RV_VERDICT_FAILED},
        {RV_DISP_NO_ANSWER, RV_CHANNEL_PHONE, RV_VERDICT_RETRY,
         RV_VERDICT_FAILED},
        {RV_DISP_BUSY, RV_CHANNEL_PHONE, RV_VERDICT_RETRY, RV_VERDICT_FAILED},
        {RV_DISP_POWERED_OFF, RV_CHANNEL_PHONE, RV_VERDICT_RETRY,
         RV_VERDICT_FAILED},
        {RV_DISP_OUT_OF_SERVICE, RV_CHANNEL_PHONE, RV_VERDICT_FAILED,
         RV_VERDICT_FAILED},
        {RV_DISP_WRONG_NUMBER, RV_CHANNEL_PHONE, RV_VERDICT_FAILED,
         RV_VERDICT_FAILED},
        {RV_DISP_REFUSED, RV_CHANNEL_PHONE, RV_VERDICT_FAILED,
         RV_VERDICT_FAILED},
        {RV_DISP_SMS_REPLY, RV_CHANNEL_SMS, RV_VERDICT_SUCCESS,
         RV_VERDICT_SUCCESS},
        {RV_DISP_SMS_UNDELIVERED, RV_CHANNEL_SMS, RV_VERDICT_FAILED,
         RV_VERDICT_FAILED},
        {RV_DISP_ON_SITE_DONE, RV_CHANNEL_ON_SITE, RV_VERDICT_SUCCESS,
         RV_VERDICT_SUCCESS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (unsigned attempt = 1; attempt <= 2; attempt++) {
            rv_outcome o = outcome(cases[i].d, attempt);
            o.channel = cases[i].channel;
            answer(&o, "q.satisfaction", "4");
            answer(&o, "q.delivery", "ok");
            o.satisfaction = 4;
            rv_copy_str(o.recording_ref, sizeof(o.recording_ref), "rec-1");
            rv_copy_str(o.signature_ref, sizeof(o.signature_ref), "sig-1");
            rv_copy_str(o.sms_reply, sizeof(o.sms_reply), "1");
            rv_grade g;
            rv_task retry;
            bool has_retry = true;
            grader_grade(fx->policy, &o, &g, &retry, &has_retry);
            rv_verdict want = attempt == 1 ? cases[i].first : cases[i].second;
            if (g.verdict != want) {
                fail_msg("%s attempt %u: verdict %s, want %s (%s)",
                         rv_disposition_name(cases[i].d), attempt,
                         rv_verdict_name(g.verdict), rv_verdict_name(want),
                         g.reason);
            }
            assert_int_equal(has_retry, want == RV_VERDICT_RETRY);
            assert_int_equal(g.disposition, cases[i].d);
            assert_int_equal(g.channel, cases[i].channel);
            assert_int_equal(g.in_due_window, want == RV_VERDICT_SUCCESS);
        }
    }
}

/* G2 (seed 004): SMS reply 1 = satisfied; 2 and text = dissatisfied with
 * an issue (G4); anything else is no visit. Never a retry. */
static void test_grader_sms_replies(void **state)
{
    fixture *fx = *state;
    const struct {
        const char *reply;
        rv_verdict verdict;
        rv_band band;
        bool issue;
        const char *text;
    } cases[] = {
        {"1", RV_VERDICT_SUCCESS, RV_BAND_SATISFIED, false, ""},
        {" 1 ", RV_VERDICT_SUCCESS, RV_BAND_SATISFIED, false, ""},
        {"2 送货太慢了", RV_VERDICT_SUCCESS, RV_BAND_DISSATISFIED, true,
         "送货太慢了"},
        {"2,late delivery", RV_VERDICT_SUCCESS, RV_BAND_DISSATISFIED, true,
         "late delivery"},
        {"2", RV_VERDICT_SUCCESS, RV_BAND_DISSATISFIED, true, ""},
        {"12", RV_VERDICT_FAILED, RV_BAND_NONE, false, ""},
        {"ok", RV_VERDICT_FAILED, RV_BAND_NONE, false, ""},
        {"", RV_VERDICT_FAILED, RV_BAND_NONE, false, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rv_outcome o = outcome(RV_DISP_SMS_REPLY, 1);
        o.channel = RV_CHANNEL_SMS;
        o.question_count = 0;
        rv_copy_str(o.sms_reply, sizeof(o.sms_reply), cases[i].reply);
        rv_grade g;
        rv_task retry;
        bool has_retry = true;
        grader_grade(fx->policy, &o, &g, &retry, &has_retry);
        assert_int_equal(g.verdict, cases[i].verdict);
        assert_int_equal(g.band, cases[i].band);
        assert_int_equal(g.issue_raised, cases[i].issue);
        assert_string_equal(g.issue_text, cases[i].text);
        assert_int_equal(g.satisfaction, -1);
        assert_false(has_retry);
    }
    rv_outcome o = outcome(RV_DISP_SMS_UNDELIVERED, 1);
    o.channel = RV_CHANNEL_SMS;
    rv_copy_str(o.sms_gateway_reason, sizeof(o.sms_gateway_reason),
                "number suspended");
    rv_grade g;
    rv_task retry;
    bool has_retry = true;
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_FAILED);
    assert_false(has_retry);
    assert_string_equal(g.reason, "SMS undelivered: number suspended");
}

/* G3 on site (seed 000 第三篇): the customer's signature is the evidence;
 * a recording does not stand in for it. G4: a dissatisfied score raises
 * an issue. */
static void test_grader_on_site_needs_signature(void **state)
{
    fixture *fx = *state;
    rv_outcome o = outcome(RV_DISP_ON_SITE_DONE, 1);
    o.channel = RV_CHANNEL_ON_SITE;
    answer(&o, "q.satisfaction", "1");
    answer(&o, "q.delivery", "ok");
    o.satisfaction = 1;
    rv_copy_str(o.recording_ref, sizeof(o.recording_ref), "rec-1");
    rv_grade g;
    rv_task retry;
    bool has_retry = true;
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_FAILED);
    assert_false(g.evidence_ok);
    assert_string_equal(g.reason,
                        "G3: no signature reference, not a valid visit");
    assert_false(g.issue_raised); /* not a visit: no score counts */

    rv_copy_str(o.signature_ref, sizeof(o.signature_ref), "sig-1");
    grader_grade(fx->policy, &o, &g, &retry, &has_retry);
    assert_int_equal(g.verdict, RV_VERDICT_SUCCESS);
    assert_true(g.evidence_ok);
    assert_int_equal(g.band, RV_BAND_DISSATISFIED);
    assert_true(g.issue_raised);
    assert_false(has_retry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grader_success_needs_every_answer),
        cmocka_unit_test(test_grader_every_disposition),
        cmocka_unit_test(test_grader_sms_replies),
        cmocka_unit_test(test_grader_on_site_needs_signature),
        cmocka_unit_test(test_grader_satisfaction_bands),
        cmocka_unit_test(test_grader_no_answer_retries_once),
        cmocka_unit_test(test_grader_unreachable_fails_without_retry),
        cmocka_unit_test(test_grader_no_evidence_is_not_a_visit),
        cmocka_unit_test(test_grader_copies_compliance_answers_and_ids),
    };
    return cmocka_run_group_tests_name("grader", tests, fixture_setup,
                                       fixture_teardown);
}
