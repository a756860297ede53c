#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alerter_rules.h"
#include "policy_fixture.h"
#include "rv/textnorm.h"

static rv_grade grade_with(const char *q, const char *v)
{
    rv_grade g;
    memset(&g, 0, sizeof(g));
    rv_copy_str(g.env.event_id, sizeof(g.env.event_id), "grade-ev");
    g.env.occurred_at_us = utc_us("2016-07-05", 17, 10);
    rv_copy_str(g.grade_id, sizeof(g.grade_id), "grade-1");
    rv_copy_str(g.task_id, sizeof(g.task_id), "task-1");
    rv_copy_str(g.customer_id, sizeof(g.customer_id), "C-1");
    rv_copy_str(g.branch_id, sizeof(g.branch_id), "West");
    rv_copy_str(g.agent_id, sizeof(g.agent_id), "w01");
    g.verdict = RV_VERDICT_SUCCESS;
    rv_copy_str(g.compliance[0].question_id, RV_KEY_SIZE, q);
    rv_copy_str(g.compliance[0].value, RV_KEY_SIZE, v);
    g.compliance_count = 1;
    return g;
}

/* A1 (seed 000): the broker knew the client's password. A2: routed to the
 * branch operations director. */
static void test_alerter_a1_yes_raises_one_alert(void **state)
{
    fixture *fx = *state;
    rv_grade g = grade_with("a1.password_known", "yes");
    rv_alert alerts[RV_ANSWERS_MAX], again[RV_ANSWERS_MAX];
    assert_int_equal(alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0,
                                      alerts, RV_ANSWERS_MAX),
                     1);
    assert_string_equal(alerts[0].kind, "A1.password_known");
    assert_int_equal(alerts[0].severity, RV_SEVERITY_MAJOR);
    assert_string_equal(alerts[0].route_to, "branch_operations_director");
    assert_string_equal(alerts[0].evidence, "a1.password_known=yes");
    assert_string_equal(alerts[0].env.causation_id, "grade-ev");
    assert_int_equal(alerts[0].env.occurred_at_us, g.env.occurred_at_us);
    /* Same grade again: the same alert ID, so nothing new downstream. */
    assert_int_equal(alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0,
                                      again, RV_ANSWERS_MAX),
                     1);
    assert_string_equal(alerts[0].alert_id, again[0].alert_id);
}

static void test_alerter_no_or_unknown_raises_nothing(void **state)
{
    fixture *fx = *state;
    rv_alert alerts[RV_ANSWERS_MAX];
    rv_grade g = grade_with("a1.operated_account", "no");
    assert_int_equal(alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0,
                                      alerts, RV_ANSWERS_MAX),
                     0);
    g = grade_with("q.delivery", "yes"); /* not a compliance question */
    assert_int_equal(alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0,
                                      alerts, RV_ANSWERS_MAX),
                     0);
    g = grade_with("a1.unknown", "yes");
    assert_int_equal(alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0,
                                      alerts, RV_ANSWERS_MAX),
                     0);
}

static void test_alerter_each_finding_its_own_alert(void **state)
{
    fixture *fx = *state;
    rv_grade g = grade_with("a1.profit_sharing", "yes");
    rv_copy_str(g.compliance[1].question_id, RV_KEY_SIZE,
                "a1.loss_compensation");
    rv_copy_str(g.compliance[1].value, RV_KEY_SIZE, "yes");
    g.compliance_count = 2;
    rv_alert alerts[RV_ANSWERS_MAX];
    assert_int_equal(alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0,
                                      alerts, RV_ANSWERS_MAX),
                     2);
    assert_string_equal(alerts[0].kind, "A1.profit_sharing");
    assert_string_equal(alerts[1].kind, "A1.loss_compensation");
    assert_string_not_equal(alerts[0].alert_id, alerts[1].alert_id);
}

/* The policy's compliance keywords, normalised as the alerter does. */
static size_t keywords_of(const rv_policy *p, rv_textnorm *tn,
                          alerter_keyword *out, size_t cap)
{
    size_t n = 0;
    for (unsigned i = 0; i < p->question_count; i++) {
        for (unsigned k = 0; k < p->questions[i].keyword_count && n < cap;
             k++) {
            out[n].question = &p->questions[i];
            assert_int_equal(rv_textnorm_apply(tn, p->questions[i].keywords[k],
                                               out[n].text,
                                               sizeof(out[n].text)),
                             RV_OK);
            n++;
        }
    }
    return n;
}

/* Issue 5 / A1 in notes: simplified, traditional and full-width notes
 * raise the same suspected alert; a note naming nothing raises none; a
 * structured "yes" of the same kind makes the notes hit redundant. */
static void test_alerter_notes_in_any_script_are_suspected(void **state)
{
    fixture *fx = *state;
    rv_textnorm *tn = NULL;
    assert_int_equal(rv_textnorm_open(&tn, NULL, 0), RV_OK);
    static alerter_keyword kws[64];
    size_t kw_count = keywords_of(fx->policy, tn, kws, 64);
    assert_true(kw_count >= 4);
    const struct {
        const char *notes;
        const char *kind;
    } cases[] = {
        {"客户说经纪人知道我的密码", "A1.password_known"},
        {"客戶說經紀人知道我的密碼", "A1.password_known"},
        {"他曾经替我操作账户", "A1.operated_account"},
        {"經紀人答應利潤分成", "A1.profit_sharing"},
        {"他承諾保本，弥补损失", "A1.loss_compensation"},
        {"Broker said he would COVER MY LOSSES", "A1.loss_compensation"},
        {"ＢＲＯＫＥＲ　ＫＮＯＷＳ　ＭＹ　ＰＡＳＳＷＯＲＤ",
         "A1.password_known"},
        {"客户对服务很满意，没有其他问题", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rv_grade g = grade_with("q.delivery", "ok");
        char norm[2048];
        assert_int_equal(
            rv_textnorm_apply(tn, cases[i].notes, norm, sizeof(norm)), RV_OK);
        rv_alert alerts[RV_ANSWERS_MAX];
        size_t n = alerter_findings(fx->policy, fx->cal, &g, norm, kws,
                                    kw_count, alerts, RV_ANSWERS_MAX);
        if (cases[i].kind == NULL) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_int_equal(n, 1);
        assert_string_equal(alerts[0].kind, cases[i].kind);
        assert_true(alerts[0].suspected);
        assert_non_null(strstr(alerts[0].evidence, "notes: "));
    }
    /* Confirmed by a structured answer: one confirmed alert only. */
    rv_grade g = grade_with("a1.password_known", "yes");
    char norm[256];
    assert_int_equal(
        rv_textnorm_apply(tn, "他知道我的密碼", norm, sizeof(norm)), RV_OK);
    rv_alert alerts[RV_ANSWERS_MAX];
    assert_int_equal(alerter_findings(fx->policy, fx->cal, &g, norm, kws,
                                      kw_count, alerts, RV_ANSWERS_MAX),
                     1);
    assert_false(alerts[0].suspected);
    rv_textnorm_close(tn);
}

/* Issue 5: wrong numbers are the store's data to fix; a visit without
 * its recording (G3) is a quality finding. */
static void test_alerter_visit_findings(void **state)
{
    fixture *fx = *state;
    rv_alert alerts[RV_ANSWERS_MAX];
    rv_grade g = grade_with("q.delivery", "ok");
    g.verdict = RV_VERDICT_FAILED;
    g.disposition = RV_DISP_WRONG_NUMBER;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_string_equal(alerts[0].kind, "data_quality.phone");
    assert_string_equal(alerts[0].route_to, "store_service_manager");
    assert_string_equal(alerts[0].evidence, "disposition=wrong_number");
    g.disposition = RV_DISP_ANSWERED;
    g.evidence_ok = false;
    rv_copy_str(g.reason, sizeof(g.reason), "G3: no recording reference");
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_string_equal(alerts[0].kind, "quality.evidence");
    assert_int_equal(alerts[0].severity, RV_SEVERITY_IMPORTANT);
    g.evidence_ok = true;
    g.disposition = RV_DISP_NO_ANSWER;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 0);
}

/* A2 (seed 000): a compliance alert's self-check is due in 3 working
 * days; raised Friday 2016-07-01 in the West (Mon 07-04 is Independence
 * Day) it is due at the end of Thu 07-07, Los Angeles time. */
static void test_alerter_case_deadline_skips_holiday(void **state)
{
    fixture *fx = *state;
    rv_grade g = grade_with("a1.password_known", "yes");
    g.env.occurred_at_us = utc_us("2016-07-01", 20, 0); /* Fri 13:00 PDT */
    rv_alert alerts[RV_ANSWERS_MAX];
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_int_equal(alerts[0].deadline_us, utc_us("2016-07-08", 7, 0));
    /* Other findings are answered in 5 working days: Fri 07-08 + ... */
    g.compliance_count = 0;
    g.disposition = RV_DISP_WRONG_NUMBER;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_int_equal(alerts[0].deadline_us, utc_us("2016-07-12", 7, 0));
}

/* G4 (件件有着落, 事事有回音): a dissatisfied customer or an SMS "2" with
 * text opens a case for the branch's service manager, due in 5 working
 * days (A2). A4 (seed 002 no. 8): general severity tells the assistant. */
static void test_alerter_g4_issue_opens_case(void **state)
{
    fixture *fx = *state;
    rv_alert alerts[8];
    rv_grade g = grade_with("q.delivery", "ok");
    g.compliance_count = 0;
    g.disposition = RV_DISP_SMS_REPLY;
    g.channel = RV_CHANNEL_SMS;
    g.band = RV_BAND_DISSATISFIED;
    g.satisfaction = -1;
    g.issue_raised = true;
    rv_copy_str(g.issue_text, sizeof(g.issue_text), "送货太慢了");
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_string_equal(alerts[0].kind, "G4.dissatisfied");
    assert_string_equal(alerts[0].route_to, "branch_service_manager");
    assert_int_equal(alerts[0].severity, RV_SEVERITY_GENERAL);
    assert_string_equal(alerts[0].notify, "assistant");
    assert_string_equal(alerts[0].evidence, "customer: 送货太慢了");
    /* A phone visit scored 1: the score is the evidence. */
    g.disposition = RV_DISP_ANSWERED;
    g.channel = RV_CHANNEL_PHONE;
    g.satisfaction = 1;
    g.talk_time_s = 200;
    g.evidence_ok = true;
    g.issue_text[0] = '\0';
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_string_equal(alerts[0].evidence, "satisfaction 1 (dissatisfied)");
    /* Satisfied: nothing. */
    g.issue_raised = false;
    g.band = RV_BAND_SATISFIED;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 0);
}

/* A5 (seed 000 第五篇): a successful phone visit shorter than the policy's
 * 30 s is a fake-visit finding; 30 s is enough; SMS has no talk time. A4:
 * important tells the supervisor. */
static void test_alerter_a5_short_call(void **state)
{
    fixture *fx = *state;
    rv_alert alerts[8];
    rv_grade g = grade_with("q.delivery", "ok");
    g.compliance_count = 0;
    g.disposition = RV_DISP_ANSWERED;
    g.channel = RV_CHANNEL_PHONE;
    g.evidence_ok = true;
    g.talk_time_s = 12;
    rv_copy_str(g.salesperson_id, sizeof(g.salesperson_id), "s-9");
    g.attempt = 2;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_string_equal(alerts[0].kind, "quality.short_call");
    assert_string_equal(alerts[0].route_to, "call_centre_supervisor");
    assert_string_equal(alerts[0].notify, "supervisor");
    assert_string_equal(alerts[0].evidence,
                        "talk time 12 s under the minimum 30 s");
    assert_string_equal(alerts[0].salesperson_id, "s-9");
    assert_int_equal(alerts[0].attempt, 2);
    g.talk_time_s = 30;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 0);
    g.talk_time_s = 0;
    g.channel = RV_CHANNEL_SMS;
    g.disposition = RV_DISP_SMS_REPLY;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 0);
    /* A failed call is no fake visit. */
    g.channel = RV_CHANNEL_PHONE;
    g.disposition = RV_DISP_REFUSED;
    g.verdict = RV_VERDICT_FAILED;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 0);
}

/* Undelivered SMS is the store's data to fix; an on-site visit without
 * the customer's signature is not a valid visit (G3). A1 major findings
 * tell the manager (A4). */
static void test_alerter_sms_and_on_site_findings(void **state)
{
    fixture *fx = *state;
    rv_alert alerts[8];
    rv_grade g = grade_with("a1.password_known", "yes");
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_string_equal(alerts[0].notify, "manager");
    g.compliance_count = 0;
    g.verdict = RV_VERDICT_FAILED;
    g.disposition = RV_DISP_SMS_UNDELIVERED;
    g.channel = RV_CHANNEL_SMS;
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_string_equal(alerts[0].kind, "data_quality.phone");
    assert_string_equal(alerts[0].evidence, "disposition=sms_undelivered");
    g.disposition = RV_DISP_ON_SITE_DONE;
    g.channel = RV_CHANNEL_ON_SITE;
    g.evidence_ok = false;
    rv_copy_str(g.reason, sizeof(g.reason),
                "G3: no signature reference, not a valid visit");
    assert_int_equal(
        alerter_findings(fx->policy, fx->cal, &g, NULL, NULL, 0, alerts, 8), 1);
    assert_string_equal(alerts[0].kind, "quality.evidence");
    assert_string_equal(alerts[0].evidence,
                        "G3: no signature reference, not a valid visit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alerter_a1_yes_raises_one_alert),
        cmocka_unit_test(test_alerter_no_or_unknown_raises_nothing),
        cmocka_unit_test(test_alerter_each_finding_its_own_alert),
        cmocka_unit_test(test_alerter_notes_in_any_script_are_suspected),
        cmocka_unit_test(test_alerter_visit_findings),
        cmocka_unit_test(test_alerter_case_deadline_skips_holiday),
        cmocka_unit_test(test_alerter_g4_issue_opens_case),
        cmocka_unit_test(test_alerter_a5_short_call),
        cmocka_unit_test(test_alerter_sms_and_on_site_findings),
    };
    return cmocka_run_group_tests_name("alerter", tests, fixture_setup,
                                       fixture_teardown);
}
