#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rv/codec.h"

/* An envelope whose event ID is derived from @p name, as every producer
 * derives it: 32 lowercase hex digits (tester finding 7). */
static void fill_env(rv_envelope *env, const char *name)
{
    char id[RV_ID_SIZE];
    const char *parts[] = {name};
    rv_id_derive(id, 1, parts);
    rv_envelope_fill(env, id, 1478563200000000LL, "test", "cause-1");
}

static void test_codec_sale_round_trip(void **state)
{
    (void)state;
    rv_sale in = {0}, out = {0};
    fill_env(&in.env, "sale-1");
    rv_copy_str(in.order_id, sizeof(in.order_id), "CA-2016-152156");
    rv_copy_str(in.customer_id, sizeof(in.customer_id), "CG-12520");
    rv_copy_str(in.branch_id, sizeof(in.branch_id), "South");
    rv_copy_str(in.store_id, sizeof(in.store_id), "Henderson");
    rv_copy_str(in.currency, sizeof(in.currency), "USD");
    rv_copy_str(in.phone, sizeof(in.phone), "5550001234");
    in.amount_cents = 99390;
    in.phone_synthetic = true;
    in.line_count = 2;
    rv_copy_str(in.salesperson_id, sizeof(in.salesperson_id), "S-7");
    rv_copy_str(in.customer_class, sizeof(in.customer_class), "B");
    in.gift_cents = 2500;
    in.new_customer = true;
    rv_copy_str(in.categories[0], RV_SHORT_SIZE, "Furniture");
    rv_copy_str(in.categories[1], RV_SHORT_SIZE, "Technology");
    in.category_count = 2;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, NULL, 0), RV_OK);
    free(buf);
    assert_string_equal(out.env.event_id, in.env.event_id);
    assert_int_equal(strlen(out.env.event_id), 32);
    assert_int_equal(out.env.occurred_at_us, 1478563200000000LL);
    assert_string_equal(out.env.causation_id, "cause-1");
    assert_int_equal(out.env.schema_version, 1);
    assert_string_equal(out.order_id, "CA-2016-152156");
    assert_int_equal(out.amount_cents, 99390);
    assert_true(out.phone_synthetic);
    assert_int_equal(out.line_count, 2);
    /* R3, R4, R8, R9 fields (issue 3). */
    assert_string_equal(out.salesperson_id, "S-7");
    assert_string_equal(out.customer_class, "B");
    assert_int_equal(out.gift_cents, 2500);
    assert_true(out.new_customer);
    assert_int_equal(out.category_count, 2);
    assert_string_equal(out.categories[1], "Technology");
    /* A negative gift is refused. */
    in.gift_cents = -1;
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    char err[160] = "";
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "gift_cents -1 below 0"));
    /* A line count the record's integer column cannot hold is refused
     * where the sale enters, not first by PostgreSQL (after the sampler
     * made its tasks); the limit itself passes. */
    in.gift_cents = 0;
    in.line_count = 3000000000u;
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "line_count 3000000000, limit 100000"));
    in.line_count = RV_LINES_MAX;
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_OK);
    free(buf);
}

static void test_codec_sale_rejects_negative_amount_and_garbage(void **state)
{
    (void)state;
    rv_sale in = {0}, out = {0};
    fill_env(&in.env, "sale-2");
    rv_copy_str(in.order_id, sizeof(in.order_id), "O-17");
    rv_copy_str(in.customer_id, sizeof(in.customer_id), "C-1");
    rv_copy_str(in.branch_id, sizeof(in.branch_id), "West");
    in.amount_cents = -5;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[160];
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_string_equal(err, "sale O-17: amount_cents -5 below 0");
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    assert_int_equal(
        rv_codec_decode_sale(junk, sizeof(junk), &out, err, sizeof(err)),
        RV_ERR_INVALID);
    assert_non_null(strstr(err, "not a v1.SaleEvent"));
    /* An empty payload decodes to all defaults: the envelope is missing. */
    assert_int_equal(rv_codec_decode_sale(junk, 0, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    assert_string_equal(err, "sale: envelope missing");
}

static void test_codec_task_round_trip_and_limits(void **state)
{
    (void)state;
    rv_task in = {0}, out = {0};
    fill_env(&in.env, "task-1");
    rv_copy_str(in.task_id, sizeof(in.task_id), "0123456789abcdef");
    rv_copy_str(in.customer_id, sizeof(in.customer_id), "C-1");
    rv_copy_str(in.branch_id, sizeof(in.branch_id), "West");
    rv_copy_str(in.rule_id, sizeof(in.rule_id), "R1");
    rv_copy_str(in.reasons[0], sizeof(in.reasons[0]), "post-sale");
    in.reason_count = 1;
    rv_copy_str(in.source_event_id, sizeof(in.source_event_id), "sale-1");
    in.due_start_us = 10;
    in.due_end_us = 20;
    in.channel = RV_CHANNEL_PHONE;
    rv_copy_str(in.questions[0], sizeof(in.questions[0]), "q.satisfaction");
    in.question_count = 1;
    rv_copy_str(in.policy_version, sizeof(in.policy_version), "2025.1");
    in.attempt = 1;
    in.sample_u = 0.125;
    in.sample_rate = 0.2;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_task(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_task(buf, len, &out, NULL, 0), RV_OK);
    free(buf);
    assert_string_equal(out.reasons[0], "post-sale");
    assert_string_equal(out.questions[0], "q.satisfaction");
    assert_true(out.sample_u == 0.125);
    assert_int_equal(out.channel, RV_CHANNEL_PHONE);

    char err[160];
    in.due_end_us = in.due_start_us; /* empty window */
    assert_int_equal(rv_codec_encode_task(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_task(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "due window"));
}

static void test_codec_outcome_and_grade_round_trip(void **state)
{
    (void)state;
    rv_outcome o = {0}, o2 = {0};
    fill_env(&o.env, "out-1");
    rv_copy_str(o.outcome_id, sizeof(o.outcome_id), "o1");
    rv_copy_str(o.assignment_id, sizeof(o.assignment_id), "a1");
    rv_copy_str(o.task_id, sizeof(o.task_id), "t1");
    rv_copy_str(o.customer_id, sizeof(o.customer_id), "C-1");
    rv_copy_str(o.branch_id, sizeof(o.branch_id), "West");
    rv_copy_str(o.agent_id, sizeof(o.agent_id), "w01");
    rv_copy_str(o.notes, sizeof(o.notes), "客户表示经纪人知道密码");
    o.attempt = 1;
    o.disposition = RV_DISP_ANSWERED;
    o.satisfaction = 5;
    o.channel = RV_CHANNEL_PHONE;
    o.started_at_us = o.env.occurred_at_us;
    o.talk_time_s = RV_TALK_TIME_MAX_S;
    rv_copy_str(o.answers[0].question_id, sizeof(o.answers[0].question_id),
                "a1.password_known");
    rv_copy_str(o.answers[0].value, sizeof(o.answers[0].value), "yes");
    o.answer_count = 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_outcome(&o, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_outcome(buf, len, &o2, NULL, 0), RV_OK);
    free(buf);
    assert_string_equal(o2.notes, o.notes);
    assert_string_equal(o2.answers[0].value, "yes");
    assert_int_equal(o2.satisfaction, 5);

    o.satisfaction = 6;
    char err[160];
    assert_int_equal(rv_codec_encode_outcome(&o, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_outcome(buf, len, &o2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "satisfaction 6"));
    o.satisfaction = 5;

    /* What the record cannot hold, or the grader could not date, is
     * refused here rather than graded and then refused by PostgreSQL. */
    o.talk_time_s = RV_TALK_TIME_MAX_S + 1;
    assert_int_equal(rv_codec_encode_outcome(&o, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_outcome(buf, len, &o2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "talk_time_s 86401"));
    o.talk_time_s = 60;
    const int64_t bad_starts[] = {0, RV_CODEC_MIN_TIME_US - 1,
                                  RV_CODEC_MAX_TIME_US, -(1LL << 62)};
    for (size_t i = 0; i < sizeof(bad_starts) / sizeof(bad_starts[0]); i++) {
        o.started_at_us = bad_starts[i];
        assert_int_equal(rv_codec_encode_outcome(&o, &buf, &len), RV_OK);
        assert_int_equal(
            rv_codec_decode_outcome(buf, len, &o2, err, sizeof(err)),
            RV_ERR_INVALID);
        free(buf);
        assert_non_null(strstr(err, "started_at_us"));
    }
    o.started_at_us = o.env.occurred_at_us;
    o.attempt = RV_ATTEMPTS_MAX + 1;
    assert_int_equal(rv_codec_encode_outcome(&o, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_outcome(buf, len, &o2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "attempt 11 outside 1..10"));
    o.attempt = 1;

    rv_grade g = {0}, g2 = {0};
    fill_env(&g.env, "g-1");
    rv_copy_str(g.grade_id, sizeof(g.grade_id), "g1");
    rv_copy_str(g.outcome_id, sizeof(g.outcome_id), "o1");
    rv_copy_str(g.task_id, sizeof(g.task_id), "t1");
    rv_copy_str(g.customer_id, sizeof(g.customer_id), "C-1");
    rv_copy_str(g.branch_id, sizeof(g.branch_id), "West");
    rv_copy_str(g.policy_version, sizeof(g.policy_version), "2025.1");
    g.verdict = RV_VERDICT_SUCCESS;
    g.band = RV_BAND_SATISFIED;
    g.compliance[0] = o.answers[0];
    g.compliance_count = 1;
    g.channel = RV_CHANNEL_SMS;
    g.issue_raised = true;
    g.talk_time_s = 42;
    g.started_at_us = 1467738000000000;
    g.attempt = 1;
    rv_copy_str(g.issue_text, sizeof(g.issue_text), "送货太慢");
    rv_copy_str(g.salesperson_id, sizeof(g.salesperson_id), "s-7");
    assert_int_equal(rv_codec_encode_grade(&g, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_grade(buf, len, &g2, NULL, 0), RV_OK);
    free(buf);
    assert_int_equal(g2.verdict, RV_VERDICT_SUCCESS);
    assert_string_equal(g2.compliance[0].question_id, "a1.password_known");
    assert_int_equal(g2.channel, RV_CHANNEL_SMS);
    assert_true(g2.issue_raised);
    assert_int_equal(g2.talk_time_s, 42);
    assert_int_equal(g2.started_at_us, g.started_at_us);
    assert_string_equal(g2.issue_text, "送货太慢");
    assert_string_equal(g2.salesperson_id, "s-7");

    /* A grade without a channel is not one the grader writes. */
    g.channel = RV_CHANNEL_UNSPECIFIED;
    assert_int_equal(rv_codec_encode_grade(&g, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_grade(buf, len, &g2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "channel 0"));
    g.channel = RV_CHANNEL_SMS;

    /* A grade's call is checked as its outcome's: attempt, start, talk. */
    g.attempt = 0;
    assert_int_equal(rv_codec_encode_grade(&g, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_grade(buf, len, &g2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "attempt 0"));
    g.attempt = 1;
    g.started_at_us = 0;
    assert_int_equal(rv_codec_encode_grade(&g, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_grade(buf, len, &g2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "started_at_us 0"));
    g.started_at_us = 1467738000000000;
    g.talk_time_s = UINT32_MAX;
    assert_int_equal(rv_codec_encode_grade(&g, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_grade(buf, len, &g2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "talk_time_s 4294967295"));

    /* The new dispositions and their fields travel (issue 5). */
    o.satisfaction = -1;
    o.disposition = RV_DISP_SMS_REPLY;
    o.channel = RV_CHANNEL_SMS;
    rv_copy_str(o.sms_reply, sizeof(o.sms_reply), "2 太慢");
    rv_copy_str(o.signature_ref, sizeof(o.signature_ref), "sig-9");
    rv_copy_str(o.sms_gateway_reason, sizeof(o.sms_gateway_reason), "none");
    assert_int_equal(rv_codec_encode_outcome(&o, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_outcome(buf, len, &o2, NULL, 0), RV_OK);
    free(buf);
    assert_int_equal(o2.disposition, RV_DISP_SMS_REPLY);
    assert_string_equal(o2.sms_reply, "2 太慢");
    assert_string_equal(o2.signature_ref, "sig-9");
    assert_string_equal(o2.sms_gateway_reason, "none");
    o.disposition = (rv_disposition)12;
    assert_int_equal(rv_codec_encode_outcome(&o, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_outcome(buf, len, &o2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "disposition 12 unknown"));
}

/* Tester finding 7: an event ID is 32 lowercase hex digits (the form of
 * rv_id_derive); any other is refused, by every decoder (one envelope
 * check), and the reason quotes the value safely. */
static void test_codec_event_id_must_be_32_lowercase_hex(void **state)
{
    (void)state;
    rv_sale in = {0}, out = {0};
    fill_env(&in.env, "sale-id");
    rv_copy_str(in.order_id, sizeof(in.order_id), "O-18");
    rv_copy_str(in.customer_id, sizeof(in.customer_id), "C-1");
    rv_copy_str(in.branch_id, sizeof(in.branch_id), "West");
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    static const struct {
        const char *id;
        const char *reason;
    } bad[] = {
        {"sale-1", "sale: event_id \"sale-1\" is not 32 lowercase hex digits"},
        {"", "sale: event_id \"\" is not 32 lowercase hex digits"},
        /* upper case, 31 and 33 digits, a non-hex letter */
        {"0123456789ABCDEF0123456789abcdef", NULL},
        {"0123456789abcdef0123456789abcde", NULL},
        {"0123456789abcdef0123456789abcdef0", NULL},
        {"0123456789abcdef0123456789abcdeg", NULL},
        {" 123456789abcdef0123456789abcdef", NULL},
        /* control bytes and a quote reach the reason escaped */
        {"0123456789abcdef\n\"x\x1b", "sale: event_id "
                                      "\"0123456789abcdef\\x0a\\\"x\\x1b\" "
                                      "is not 32 lowercase hex digits"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rv_copy_str(in.env.event_id, sizeof(in.env.event_id), bad[i].id);
        assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
        assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                         RV_ERR_INVALID);
        free(buf);
        if (bad[i].reason != NULL) {
            assert_string_equal(err, bad[i].reason);
        } else {
            assert_non_null(strstr(err, "is not 32 lowercase hex digits"));
        }
    }
    /* A long value is cut in the reason, never overflowing it. */
    memset(in.env.event_id, 'z', sizeof(in.env.event_id) - 1);
    in.env.event_id[sizeof(in.env.event_id) - 1] = '\0';
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "is not 32 lowercase hex digits"));
    /* The same rule in every envelope (one check): a case event. */
    rv_case_event e = {0}, e2 = {0};
    fill_env(&e.env, "ce-id");
    rv_copy_str(e.env.event_id, sizeof(e.env.event_id), "CE-1");
    rv_copy_str(e.case_id, sizeof(e.case_id), "case-1");
    rv_copy_str(e.actor, sizeof(e.actor), "ops:zhang");
    rv_copy_str(e.text, sizeof(e.text), "done");
    e.action = RV_CASE_ANSWER;
    assert_int_equal(rv_codec_encode_case_event(&e, &buf, &len), RV_OK);
    assert_int_equal(
        rv_codec_decode_case_event(buf, len, &e2, err, sizeof(err)),
        RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "event_id \"CE-1\" is not 32"));
    /* A good ID of the same message decodes. */
    fill_env(&in.env, "sale-id");
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_OK);
    free(buf);
    assert_string_equal(out.env.event_id, in.env.event_id);
}

/* compliance.cases: a person's action on a case. */
static void test_codec_case_event_round_trip(void **state)
{
    (void)state;
    rv_case_event e = {0}, e2 = {0};
    fill_env(&e.env, "ce-1");
    rv_copy_str(e.case_id, sizeof(e.case_id), "case-1");
    rv_copy_str(e.actor, sizeof(e.actor), "ops_director:zhang");
    rv_copy_str(e.text, sizeof(e.text), "自查完毕：经纪人已停职");
    e.action = RV_CASE_ANSWER;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[160];
    assert_int_equal(rv_codec_encode_case_event(&e, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_case_event(buf, len, &e2, NULL, 0), RV_OK);
    free(buf);
    assert_int_equal(e2.action, RV_CASE_ANSWER);
    assert_string_equal(e2.text, e.text);
    assert_string_equal(e2.actor, e.actor);
    e.text[0] = '\0';
    assert_int_equal(rv_codec_encode_case_event(&e, &buf, &len), RV_OK);
    assert_int_equal(
        rv_codec_decode_case_event(buf, len, &e2, err, sizeof(err)),
        RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "text"));
    rv_copy_str(e.text, sizeof(e.text), "ok");
    e.action = (rv_case_action)7;
    assert_int_equal(rv_codec_encode_case_event(&e, &buf, &len), RV_OK);
    assert_int_equal(
        rv_codec_decode_case_event(buf, len, &e2, err, sizeof(err)),
        RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "action 7 unknown"));
}

static void test_codec_assignment_and_alert_round_trip(void **state)
{
    (void)state;
    rv_assignment a = {0}, a2 = {0};
    fill_env(&a.env, "as-1");
    rv_copy_str(a.assignment_id, sizeof(a.assignment_id), "as1");
    rv_copy_str(a.task_id, sizeof(a.task_id), "t1");
    rv_copy_str(a.customer_id, sizeof(a.customer_id), "C-1");
    rv_copy_str(a.branch_id, sizeof(a.branch_id), "West");
    rv_copy_str(a.policy_version, sizeof(a.policy_version), "2025.1");
    a.attempt = 1;
    a.status = RV_ASSIGNED;
    a.channel = RV_CHANNEL_PHONE;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[160];
    /* assigned but no agent: invalid */
    assert_int_equal(rv_codec_encode_assignment(&a, &buf, &len), RV_OK);
    assert_int_equal(
        rv_codec_decode_assignment(buf, len, &a2, err, sizeof(err)),
        RV_ERR_INVALID);
    free(buf);
    rv_copy_str(a.agent_id, sizeof(a.agent_id), "w01");
    a.window_start_us = 100;
    a.window_end_us = 200;
    assert_int_equal(rv_codec_encode_assignment(&a, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_assignment(buf, len, &a2, NULL, 0), RV_OK);
    free(buf);
    assert_string_equal(a2.agent_id, "w01");
    /* The day must be a date PostgreSQL's date column takes, refused
     * where it enters rather than by the recorder alone. */
    static const struct {
        const char *day;
        rv_err want;
    } days[] = {
        {"2016-02-29", RV_OK},          {"2015-02-29", RV_ERR_INVALID},
        {"2016-13-01", RV_ERR_INVALID}, {"2016-04-31", RV_ERR_INVALID},
        {"1989-12-31", RV_ERR_INVALID}, {"2016-4-1", RV_ERR_INVALID},
        {"2016-04-0x", RV_ERR_INVALID}, {"2099-12-31", RV_OK},
    };
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        rv_copy_str(a.day, sizeof(a.day), days[i].day);
        assert_int_equal(rv_codec_encode_assignment(&a, &buf, &len), RV_OK);
        assert_int_equal(
            rv_codec_decode_assignment(buf, len, &a2, err, sizeof(err)),
            days[i].want);
        free(buf);
    }

    rv_alert al = {0}, al2 = {0};
    fill_env(&al.env, "al-1");
    rv_copy_str(al.alert_id, sizeof(al.alert_id), "al1");
    rv_copy_str(al.grade_id, sizeof(al.grade_id), "g1");
    rv_copy_str(al.task_id, sizeof(al.task_id), "t1");
    rv_copy_str(al.customer_id, sizeof(al.customer_id), "C-1");
    rv_copy_str(al.branch_id, sizeof(al.branch_id), "West");
    rv_copy_str(al.kind, sizeof(al.kind), "A1.password_known");
    rv_copy_str(al.policy_version, sizeof(al.policy_version), "2025.1");
    al.severity = RV_SEVERITY_MAJOR;
    assert_int_equal(rv_codec_encode_alert(&al, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_alert(buf, len, &al2, NULL, 0), RV_OK);
    free(buf);
    assert_string_equal(al2.kind, "A1.password_known");
    assert_int_equal(al2.severity, RV_SEVERITY_MAJOR);
}

static void test_codec_rejects_oversized_field(void **state)
{
    (void)state;
    rv_work_order w = {0}, w2 = {0};
    fill_env(&w.env, "wo-1");
    memset(w.work_order_id, 'x', sizeof(w.work_order_id) - 1);
    rv_copy_str(w.customer_id, sizeof(w.customer_id), "C-1");
    rv_copy_str(w.branch_id, sizeof(w.branch_id), "West");
    w.kind = RV_WORK_ORDER_REPAIR;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_work_order(&w, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_work_order(buf, len, &w2, NULL, 0), RV_OK);
    free(buf);
    /* Hand-build a customer_id one byte over the limit via the sale. */
    rv_sale s = {0}, s2 = {0};
    fill_env(&s.env, "s-1");
    char big[RV_KEY_SIZE + 8];
    memset(big, 'c', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rv_copy_str(s.order_id, sizeof(s.order_id), "O-1");
    rv_copy_str(s.branch_id, sizeof(s.branch_id), "West");
    /* the model truncates; check the decoder's limit on its own input */
    memcpy(s.customer_id, big, sizeof(s.customer_id) - 1);
    assert_int_equal(rv_codec_encode_sale(&s, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &s2, NULL, 0), RV_OK);
    free(buf);
    char err[160];
    uint8_t huge[8] = {0};
    assert_int_equal(rv_codec_decode_sale(huge, RV_CODEC_MAX_BYTES + 1, &s2,
                                          err, sizeof(err)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(err, "exceeds limit"));
}

static void test_codec_rejects_bad_utf8_and_far_future(void **state)
{
    (void)state;
    rv_sale in = {0}, out = {0};
    fill_env(&in.env, "sale-u");
    rv_copy_str(in.order_id, sizeof(in.order_id), "O-\xff\xfe");
    rv_copy_str(in.customer_id, sizeof(in.customer_id), "C-1");
    rv_copy_str(in.branch_id, sizeof(in.branch_id), "West");
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[160];
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_string_equal(err,
                        "sale: order_id is not UTF-8 (bad byte 0xff at 2)");
    /* Chinese text is UTF-8 and passes. */
    rv_copy_str(in.order_id, sizeof(in.order_id), "订单-17");
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, NULL, 0), RV_OK);
    free(buf);
    assert_string_equal(out.order_id, "订单-17");
    in.env.occurred_at_us = RV_CODEC_MAX_TIME_US;
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "at or after 2100-01-01"));
    in.env.occurred_at_us = RV_CODEC_MIN_TIME_US - 1;
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "before 1990-01-01"));
}

/* visits.decisions: a decision travels whole; an unknown outcome, a draw
 * outside [0, 1) or a rate that is neither -1 nor in [0, 1] is refused. */
static void test_codec_decision_round_trip_and_limits(void **state)
{
    (void)state;
    rv_decision d = {0}, d2 = {0};
    fill_env(&d.env, "dec-1");
    rv_copy_str(d.decision_id, sizeof(d.decision_id), "dec-1");
    rv_copy_str(d.source_event_id, sizeof(d.source_event_id), "sale-1");
    rv_copy_str(d.customer_id, sizeof(d.customer_id), "C-1");
    rv_copy_str(d.branch_id, sizeof(d.branch_id), "West");
    rv_copy_str(d.rule_id, sizeof(d.rule_id), "R1");
    rv_copy_str(d.policy_version, sizeof(d.policy_version), "2025.1");
    rv_copy_str(d.reason, sizeof(d.reason), "u 0.1 < rate 0.2");
    rv_copy_str(d.task_id, sizeof(d.task_id), "t1");
    d.outcome = RV_DECISION_SUPPRESSED_COOLDOWN;
    d.u = 0.125;
    d.rate = 0.2;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[160];
    assert_int_equal(rv_codec_encode_decision(&d, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_decision(buf, len, &d2, NULL, 0), RV_OK);
    free(buf);
    assert_int_equal(d2.outcome, RV_DECISION_SUPPRESSED_COOLDOWN);
    assert_true(d2.u == 0.125 && d2.rate == 0.2);
    assert_string_equal(d2.task_id, "t1");
    const struct {
        rv_decision_outcome outcome;
        double u, rate;
        const char *why;
    } bad[] = {
        {(rv_decision_outcome)9, 0.1, 0.2, "outcome 9 unknown"},
        {RV_DECISION_SELECTED, 1.0, 0.2, "u 1 outside"},
        {RV_DECISION_SELECTED, -0.5, 0.2, "u -0.5 outside"},
        {RV_DECISION_NOT_SELECTED, 0.1, 1.5, "rate 1.5"},
        {RV_DECISION_NOT_SELECTED, 0.1, -2.0, "rate -2"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d.outcome = bad[i].outcome;
        d.u = bad[i].u;
        d.rate = bad[i].rate;
        assert_int_equal(rv_codec_encode_decision(&d, &buf, &len), RV_OK);
        assert_int_equal(
            rv_codec_decode_decision(buf, len, &d2, err, sizeof(err)),
            RV_ERR_INVALID);
        free(buf);
        assert_non_null(strstr(err, bad[i].why));
    }
    d.outcome = RV_DECISION_NOT_SELECTED;
    d.u = 0.5;
    d.rate = -1.0; /* no tier covers the amount */
    assert_int_equal(rv_codec_encode_decision(&d, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_decision(buf, len, &d2, NULL, 0), RV_OK);
    free(buf);
}

/* Decision @p i of customer @p customer for the join tests. */
static void decision_of(rv_decision *d, int i, const char *customer)
{
    memset(d, 0, sizeof(*d));
    char id[32];
    snprintf(id, sizeof(id), "dec-%d", i);
    fill_env(&d->env, id);
    rv_copy_str(d->decision_id, sizeof(d->decision_id), id);
    rv_copy_str(d->source_event_id, sizeof(d->source_event_id), "sale-1");
    rv_copy_str(d->customer_id, sizeof(d->customer_id), customer);
    rv_copy_str(d->branch_id, sizeof(d->branch_id), "West");
    snprintf(d->rule_id, sizeof(d->rule_id), "R%d", i);
    rv_copy_str(d->policy_version, sizeof(d->policy_version), "2025.1");
    d->outcome = RV_DECISION_NOT_SELECTED;
    d->u = 0.01 * i;
    d->rate = 0.2;
}

/* Issue 8: one customer's decisions travel as one message, in order, each
 * whole; one decoded as a single decision, a decision of another
 * customer, a nested `more` and too many for the reader are refused. */
static void test_codec_decisions_joined(void **state)
{
    (void)state;
    enum { N = 3 };
    rv_decision d[N], out[RV_CODEC_DECISIONS_MAX];
    uint8_t *part[N + 1];
    size_t plen[N + 1];
    for (int i = 0; i < N; i++) {
        decision_of(&d[i], i, "C-1");
        assert_int_equal(rv_codec_encode_decision(&d[i], &part[i], &plen[i]),
                         RV_OK);
    }
    uint8_t *buf = NULL;
    size_t len = 0, n = 0;
    char err[200] = "";
    assert_int_equal(rv_codec_join_decisions((const uint8_t *const *)part, plen,
                                             N, &buf, &len),
                     RV_OK);
    assert_int_equal(rv_codec_decode_decisions(buf, len, out,
                                               RV_CODEC_DECISIONS_MAX, &n, err,
                                               sizeof(err)),
                     RV_OK);
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++) {
        assert_string_equal(out[i].decision_id, d[i].decision_id);
        assert_string_equal(out[i].rule_id, d[i].rule_id);
        assert_string_equal(out[i].env.event_id, d[i].env.event_id);
        assert_true(out[i].u == d[i].u);
    }
    assert_int_equal(rv_codec_decode_decision(buf, len, out, err, sizeof(err)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(err, "2 more decisions"));
    assert_int_equal(
        rv_codec_decode_decisions(buf, len, out, 2, &n, err, sizeof(err)),
        RV_ERR_INVALID);
    assert_non_null(strstr(err, "carries 3 decisions"));
    /* A nested more: the joined message as the second part. */
    uint8_t *nested = NULL;
    size_t nested_len = 0;
    const uint8_t *two[] = {part[0], buf};
    size_t two_len[] = {plen[0], len};
    assert_int_equal(
        rv_codec_join_decisions(two, two_len, 2, &nested, &nested_len), RV_OK);
    assert_int_equal(rv_codec_decode_decisions(nested, nested_len, out,
                                               RV_CODEC_DECISIONS_MAX, &n, err,
                                               sizeof(err)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(err, "more of its own"));
    free(nested);
    free(buf);
    /* One decision alone reads the same both ways. */
    assert_int_equal(rv_codec_join_decisions((const uint8_t *const *)part, plen,
                                             1, &buf, &len),
                     RV_OK);
    assert_int_equal(len, plen[0]);
    assert_int_equal(rv_codec_decode_decision(buf, len, out, NULL, 0), RV_OK);
    free(buf);
    /* Another customer's decision in the same message. */
    decision_of(&d[0], 7, "C-2");
    assert_int_equal(rv_codec_encode_decision(&d[0], &part[N], &plen[N]),
                     RV_OK);
    const uint8_t *mixed[] = {part[1], part[N]};
    size_t mixed_len[] = {plen[1], plen[N]};
    assert_int_equal(rv_codec_join_decisions(mixed, mixed_len, 2, &buf, &len),
                     RV_OK);
    assert_int_equal(rv_codec_decode_decisions(buf, len, out,
                                               RV_CODEC_DECISIONS_MAX, &n, err,
                                               sizeof(err)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(err, "customer differs"));
    free(buf);
    assert_int_equal(rv_codec_join_decisions(mixed, mixed_len, 0, &buf, &len),
                     RV_ERR_INVALID);
    assert_int_equal(rv_codec_join_decisions(mixed, mixed_len,
                                             RV_CODEC_DECISIONS_MAX + 1, &buf,
                                             &len),
                     RV_ERR_INVALID);
    for (int i = 0; i <= N; i++) {
        free(part[i]);
    }
}

/* Issue 6, bad input on every topic: each decoder refuses, with a
 * reason, bytes that are not protobuf, an empty message (no envelope) and
 * a 5 MB message; the worker sends each to the dead-letter topic. */
typedef rv_err (*decode_fn)(const uint8_t *, size_t, void *, char *, size_t);

#define DECODER(name, type)                                                    \
    static rv_err dec_##name(const uint8_t *b, size_t n, void *out, char *e,   \
                             size_t es)                                        \
    {                                                                          \
        return rv_codec_decode_##name(b, n, (type *)out, e, es);               \
    }
DECODER(sale, rv_sale)
DECODER(work_order, rv_work_order)
DECODER(task, rv_task)
DECODER(assignment, rv_assignment)
DECODER(outcome, rv_outcome)
DECODER(grade, rv_grade)
DECODER(alert, rv_alert)
DECODER(decision, rv_decision)
DECODER(case_event, rv_case_event)
#undef DECODER

static void test_codec_every_decoder_refuses_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *topic;
        decode_fn fn;
    } decoders[] = {
        {"sales.events", dec_sale},
        {"service.events", dec_work_order},
        {"visits.tasks", dec_task},
        {"visits.assignments", dec_assignment},
        {"visits.outcomes", dec_outcome},
        {"visits.grades", dec_grade},
        {"compliance.alerts", dec_alert},
        {"visits.decisions", dec_decision},
        {"compliance.cases", dec_case_event},
    };
    size_t big_len = 5u * 1024 * 1024;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    memset(big, 0x0a, big_len);
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x01};
    void *out = calloc(1, 1 << 16);
    assert_non_null(out);
    for (size_t d = 0; d < sizeof(decoders) / sizeof(decoders[0]); d++) {
        const struct {
            const uint8_t *buf;
            size_t len;
            const char *why;
        } cases[] = {
            {garbage, sizeof(garbage), "not protobuf"},
            {garbage, 0, "empty"},
            {big, big_len, "5 MB"},
        };
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
            char err[256] = "";
            rv_err e = decoders[d].fn(cases[c].buf, cases[c].len, out, err,
                                      sizeof(err));
            if (e != RV_ERR_INVALID || err[0] == '\0') {
                fail_msg("%s, %s: %s (\"%s\")", decoders[d].topic, cases[c].why,
                         rv_err_str(e), err);
            }
        }
    }
    free(out);
    free(big);
}

/* Issue 6 no. 11: GBK bytes in a string field are refused with the
 * reason (the message goes to the dead-letter topic); a valid 4-byte
 * character such as 𠮷 is accepted. */
static void test_codec_refuses_gbk_accepts_4_byte_utf8(void **state)
{
    (void)state;
    rv_sale in = {0}, out = {0};
    fill_env(&in.env, "sale-gbk");
    rv_copy_str(in.order_id, sizeof(in.order_id), "O-1");
    rv_copy_str(in.customer_id, sizeof(in.customer_id), "C-\xc4\xe3\xba\xc3");
    rv_copy_str(in.branch_id, sizeof(in.branch_id), "West");
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    char err[160] = "";
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_non_null(strstr(err, "customer_id is not UTF-8"));
    rv_copy_str(in.customer_id, sizeof(in.customer_id), "C-𠮷");
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_OK);
    free(buf);
    assert_string_equal(out.customer_id, "C-𠮷");
}

/* Overwrites with 0x00 byte @p i of the first copy of @p text in @p buf:
 * the same length, so the wire stays valid and only the string changes. */
static void put_nul(uint8_t *buf, size_t len, const char *text, size_t i)
{
    size_t n = strlen(text);
    for (size_t at = 0; at + n <= len; at++) {
        if (memcmp(buf + at, text, n) == 0) {
            buf[at + i] = 0x00;
            return;
        }
    }
    fail_msg("\"%s\" not in the encoded message", text);
}

/* Tester finding (NUL): protobuf-c hands a string field over as a
 * NUL-terminated char *, so "TST-N1\0EVIL" was taken as "TST-N1", equal
 * to its Kafka key. A NUL in any string field, at any depth, is refused
 * and the field named; the same message with '#' for the NUL decodes. */
static void test_codec_refuses_nul_in_string_fields(void **state)
{
    (void)state;
    rv_sale in = {0}, out = {0};
    fill_env(&in.env, "sale-nul");
    rv_copy_str(in.env.producer, sizeof(in.env.producer), "prod#ucer");
    rv_copy_str(in.order_id, sizeof(in.order_id), "TST-#N3");
    rv_copy_str(in.customer_id, sizeof(in.customer_id), "TST-N1#EVIL");
    rv_copy_str(in.branch_id, sizeof(in.branch_id), "West");
    rv_copy_str(in.categories[0], RV_SHORT_SIZE, "Furniture");
    rv_copy_str(in.categories[1], RV_SHORT_SIZE, "Tech#nology");
    in.category_count = 2;
    const struct {
        const char *text; /* the string; its '#' becomes the NUL */
        size_t at;
        const char *err;
    } sale_cases[] = {
        {"TST-N1#EVIL", 6,
         "sale: not a v1.SaleEvent: field customer_id holds a NUL byte"},
        {"TST-#N3", 4,
         "sale: not a v1.SaleEvent: field order_id holds a NUL byte"},
        {"Tech#nology", 4,
         "sale: not a v1.SaleEvent: field categories holds a NUL byte"},
        {"prod#ucer", 4,
         "sale: not a v1.SaleEvent: field envelope.producer "
         "holds a NUL byte"},
    };
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[200];
    assert_int_equal(rv_codec_encode_sale(&in, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_sale(buf, len, &out, err, sizeof(err)),
                     RV_OK);
    assert_string_equal(out.customer_id, "TST-N1#EVIL");
    assert_string_equal(out.categories[1], "Tech#nology");
    for (size_t c = 0; c < sizeof(sale_cases) / sizeof(sale_cases[0]); c++) {
        uint8_t *bad = malloc(len);
        assert_non_null(bad);
        memcpy(bad, buf, len);
        put_nul(bad, len, sale_cases[c].text, sale_cases[c].at);
        err[0] = '\0';
        assert_int_equal(rv_codec_decode_sale(bad, len, &out, err, sizeof(err)),
                         RV_ERR_INVALID);
        assert_string_equal(err, sale_cases[c].err);
        free(bad);
    }
    free(buf);

    /* A repeated string of a task. */
    rv_task t = {0}, t2 = {0};
    fill_env(&t.env, "task-nul");
    rv_copy_str(t.task_id, sizeof(t.task_id), "0123456789abcdef");
    rv_copy_str(t.customer_id, sizeof(t.customer_id), "C-1");
    rv_copy_str(t.branch_id, sizeof(t.branch_id), "West");
    rv_copy_str(t.rule_id, sizeof(t.rule_id), "R1");
    rv_copy_str(t.source_event_id, sizeof(t.source_event_id), "sale-1");
    t.due_start_us = 10;
    t.due_end_us = 20;
    t.channel = RV_CHANNEL_PHONE;
    rv_copy_str(t.questions[0], sizeof(t.questions[0]), "q.one");
    rv_copy_str(t.questions[1], sizeof(t.questions[1]), "q.two#x");
    t.question_count = 2;
    rv_copy_str(t.policy_version, sizeof(t.policy_version), "2025.1");
    t.attempt = 1;
    assert_int_equal(rv_codec_encode_task(&t, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_task(buf, len, &t2, NULL, 0), RV_OK);
    put_nul(buf, len, "q.two#x", 5);
    assert_int_equal(rv_codec_decode_task(buf, len, &t2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_string_equal(
        err, "task: not a v1.VisitTask: field question_ids holds a NUL byte");

    /* A string of a message in a repeated message field of an outcome. */
    rv_outcome o = {0}, o2 = {0};
    fill_env(&o.env, "out-nul");
    rv_copy_str(o.outcome_id, sizeof(o.outcome_id), "o1");
    rv_copy_str(o.assignment_id, sizeof(o.assignment_id), "a1");
    rv_copy_str(o.task_id, sizeof(o.task_id), "t1");
    rv_copy_str(o.customer_id, sizeof(o.customer_id), "C-1");
    rv_copy_str(o.branch_id, sizeof(o.branch_id), "West");
    rv_copy_str(o.agent_id, sizeof(o.agent_id), "w01");
    o.attempt = 1;
    o.disposition = RV_DISP_ANSWERED;
    o.satisfaction = 5;
    o.channel = RV_CHANNEL_PHONE;
    o.started_at_us = o.env.occurred_at_us;
    rv_copy_str(o.answers[0].question_id, sizeof(o.answers[0].question_id),
                "q.one");
    rv_copy_str(o.answers[0].value, sizeof(o.answers[0].value), "y#s");
    o.answer_count = 1;
    assert_int_equal(rv_codec_encode_outcome(&o, &buf, &len), RV_OK);
    assert_int_equal(rv_codec_decode_outcome(buf, len, &o2, NULL, 0), RV_OK);
    put_nul(buf, len, "y#s", 1);
    assert_int_equal(rv_codec_decode_outcome(buf, len, &o2, err, sizeof(err)),
                     RV_ERR_INVALID);
    free(buf);
    assert_string_equal(err, "outcome: not a v1.VisitOutcome: field "
                             "answers.value holds a NUL byte");

    /* The second decision of a joined visits.decisions message. */
    rv_decision d[2], dout[2];
    uint8_t *part[2];
    size_t plen[2];
    decision_of(&d[0], 0, "C-1");
    decision_of(&d[1], 1, "C-1");
    rv_copy_str(d[1].reason, sizeof(d[1].reason), "why#not");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rv_codec_encode_decision(&d[i], &part[i], &plen[i]),
                         RV_OK);
    }
    assert_int_equal(rv_codec_join_decisions((const uint8_t *const *)part, plen,
                                             2, &buf, &len),
                     RV_OK);
    free(part[0]);
    free(part[1]);
    size_t n = 0;
    assert_int_equal(rv_codec_decode_decisions(buf, len, dout, 2, &n, NULL, 0),
                     RV_OK);
    put_nul(buf, len, "why#not", 3);
    assert_int_equal(
        rv_codec_decode_decisions(buf, len, dout, 2, &n, err, sizeof(err)),
        RV_ERR_INVALID);
    free(buf);
    assert_string_equal(err, "decision: not a v1.SamplingDecision: field "
                             "more.reason holds a NUL byte");
}

/* @p v as a varint at @p out; its length. */
static size_t varint_at(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* A SamplingDecision with @p depth levels of `more` (field 14) inside
 * each other, the innermost empty; *len set. Freed with free(). */
static uint8_t *nested_decisions(size_t depth, size_t *len)
{
    size_t *inner = malloc((depth + 1) * sizeof(*inner));
    assert_non_null(inner);
    uint8_t tmp[10];
    inner[0] = 0; /* body of the innermost message */
    for (size_t i = 1; i <= depth; i++) {
        inner[i] = 1 + varint_at(inner[i - 1], tmp) + inner[i - 1];
    }
    uint8_t *buf = malloc(inner[depth] > 0 ? inner[depth] : 1);
    assert_non_null(buf);
    size_t at = 0;
    for (size_t i = depth; i > 0; i--) {
        buf[at++] = (14u << 3) | 2u;
        at += varint_at(inner[i - 1], buf + at);
    }
    assert_int_equal(at, inner[depth]);
    *len = at;
    free(inner);
    return buf;
}

/* The NUL scan walks hostile bytes before protobuf-c does: every decoder
 * refuses, with a reason, truncated varints, lengths past the end,
 * groups, deep nesting and every prefix of a valid message, without
 * reading past the buffer (each case is its own exact-size heap copy, so
 * ASan sees any overread). */
static void test_codec_nul_scan_survives_hostile_wire(void **state)
{
    (void)state;
    static const decode_fn decoders[] = {
        dec_sale,  dec_work_order, dec_task,     dec_assignment, dec_outcome,
        dec_grade, dec_alert,      dec_decision, dec_case_event,
    };
    static const struct {
        uint8_t bytes[12];
        size_t len;
    } cases[] = {
        {{0x80}, 1},       /* tag cut */
        {{0x08, 0xff}, 2}, /* varint cut */
        {{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
          0x01},
         12},                                      /* 11-byte varint */
        {{0x09, 1, 2, 3}, 4},                      /* fixed64 cut */
        {{0x0d, 1, 2}, 3},                         /* fixed32 cut */
        {{0x0a}, 1},                               /* no length */
        {{0x0a, 0x05, 'a'}, 3},                    /* past the end */
        {{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, 6}, /* 4 GiB */
        {{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         11},                               /* 2^64 - 1 */
        {{0x0a, 0x03, 0x0a, 0x05, 'a'}, 5}, /* inner past */
        {{0x0a, 0x02, 0x22, 0x80}, 4},      /* inner cut */
        {{0x0b, 0x0c}, 2},                  /* group */
        {{0x0e}, 1},                        /* wire type 6 */
        {{0x0f}, 1},                        /* wire type 7 */
    };
    char err[200];
    uint8_t *out = calloc(1, 1 << 16);
    assert_non_null(out);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint8_t *b = malloc(cases[c].len);
        assert_non_null(b);
        memcpy(b, cases[c].bytes, cases[c].len);
        for (size_t d = 0; d < sizeof(decoders) / sizeof(decoders[0]); d++) {
            err[0] = '\0';
            if (decoders[d](b, cases[c].len, out, err, sizeof(err)) !=
                    RV_ERR_INVALID ||
                err[0] == '\0') {
                fail_msg("case %zu, decoder %zu accepted it", c, d);
            }
        }
        free(b);
    }

    /* Nesting: refused past 16 levels, before protobuf-c recurses into
     * 50,000 of them. */
    size_t len = 0;
    uint8_t *deep = nested_decisions(15, &len);
    rv_decision dout[1];
    size_t n = 0;
    assert_int_equal(
        rv_codec_decode_decisions(deep, len, dout, 1, &n, err, sizeof(err)),
        RV_ERR_INVALID);
    assert_null(strstr(err, "nested")); /* refused, but for its more */
    free(deep);
    deep = nested_decisions(16, &len);
    assert_int_equal(
        rv_codec_decode_decision(deep, len, dout, err, sizeof(err)),
        RV_ERR_INVALID);
    assert_string_equal(err, "decision: not a v1.SamplingDecision: messages "
                             "nested more than 16 deep");
    free(deep);
    deep = nested_decisions(50000, &len);
    assert_true(len <= RV_CODEC_MAX_BYTES);
    assert_int_equal(
        rv_codec_decode_decision(deep, len, dout, err, sizeof(err)),
        RV_ERR_INVALID);
    assert_non_null(strstr(err, "nested more than 16 deep"));
    free(deep);

    /* Every prefix of a valid sale, each an exact-size copy. */
    rv_sale s = {0};
    fill_env(&s.env, "sale-cut");
    rv_copy_str(s.order_id, sizeof(s.order_id), "O-1");
    rv_copy_str(s.customer_id, sizeof(s.customer_id), "C-1");
    rv_copy_str(s.branch_id, sizeof(s.branch_id), "West");
    rv_copy_str(s.categories[0], RV_SHORT_SIZE, "Office Supplies");
    s.category_count = 1;
    s.amount_cents = 1234;
    uint8_t *buf = NULL;
    assert_int_equal(rv_codec_encode_sale(&s, &buf, &len), RV_OK);
    for (size_t cut = 1; cut < len; cut++) {
        uint8_t *b = malloc(cut);
        assert_non_null(b);
        memcpy(b, buf, cut);
        for (size_t d = 0; d < sizeof(decoders) / sizeof(decoders[0]); d++) {
            rv_err e = decoders[d](b, cut, out, NULL, 0);
            (void)e; /* some prefixes are whole messages; no crash is all */
        }
        free(b);
    }
    free(buf);
    free(out);
}

/* Issue 6 no. 10: a string longer than its field is cut on a UTF-8
 * character boundary. */
static void test_copy_str_cuts_on_character_boundary(void **state)
{
    (void)state;
    char src[300] = "A", dst[256];
    for (int i = 0; i < 85; i++) {
        strcat(src, "回");
    }
    assert_int_equal(strlen(src), 256);
    rv_copy_str(dst, sizeof(dst), src);
    assert_int_equal(strlen(dst), 253);
    assert_memory_equal(dst, src, 253);
    /* A 4-byte character (𠮷) that does not fit goes whole. */
    char four[8];
    rv_copy_str(four, 6, "ab\xf0\xa0\xae\xb7");
    assert_string_equal(four, "ab");
    rv_copy_str(four, 7, "ab\xf0\xa0\xae\xb7");
    assert_string_equal(four, "ab\xf0\xa0\xae\xb7");
    /* Fits exactly; empty; NULL. */
    rv_copy_str(four, 3, "ab");
    assert_string_equal(four, "ab");
    rv_copy_str(four, 1, "ab");
    assert_string_equal(four, "");
    rv_copy_str(four, sizeof(four), NULL);
    assert_string_equal(four, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_str_cuts_on_character_boundary),
        cmocka_unit_test(test_codec_refuses_gbk_accepts_4_byte_utf8),
        cmocka_unit_test(test_codec_every_decoder_refuses_bad_input),
        cmocka_unit_test(test_codec_sale_round_trip),
        cmocka_unit_test(test_codec_sale_rejects_negative_amount_and_garbage),
        cmocka_unit_test(test_codec_event_id_must_be_32_lowercase_hex),
        cmocka_unit_test(test_codec_task_round_trip_and_limits),
        cmocka_unit_test(test_codec_outcome_and_grade_round_trip),
        cmocka_unit_test(test_codec_assignment_and_alert_round_trip),
        cmocka_unit_test(test_codec_case_event_round_trip),
        cmocka_unit_test(test_codec_decision_round_trip_and_limits),
        cmocka_unit_test(test_codec_decisions_joined),
        cmocka_unit_test(test_codec_rejects_oversized_field),
        cmocka_unit_test(test_codec_rejects_bad_utf8_and_far_future),
        cmocka_unit_test(test_codec_refuses_nul_in_string_fields),
        cmocka_unit_test(test_codec_nul_scan_survives_hostile_wire),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
