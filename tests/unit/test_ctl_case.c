/* tests/unit/test_ctl_case.c: revisitctl's UTC times (ctl_time.c) and the
 * CaseEvent of `case answer` / `case close` (case_event.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "case_event.h"
#include "ctl_time.h"
#include "rv/hash.h"

static void test_ctl_time_parse_and_format(void **state)
{
    (void)state;
    int64_t us = 0;
    char text[CTL_TIME_SIZE];
    assert_int_equal(ctl_time_parse("2016-01-07T16:00:00Z", &us), RV_OK);
    assert_int_equal(us, 1452182400LL * 1000000);
    ctl_time_format(us, text);
    assert_string_equal(text, "2016-01-07T16:00:00Z");
    assert_int_equal(ctl_time_parse("2016-02-29T12:34:56Z", &us), RV_OK);
    assert_int_equal(us, 1456749296LL * 1000000);
    ctl_time_format(us + 999999, text); /* the fraction is dropped */
    assert_string_equal(text, "2016-02-29T12:34:56Z");
    assert_int_equal(ctl_time_parse("1970-01-01T00:00:00Z", &us), RV_OK);
    assert_int_equal(us, 0);
    ctl_time_format(-1, text); /* towards the past, not towards 0 */
    assert_string_equal(text, "1969-12-31T23:59:59Z");
    ctl_time_format(INT64_MAX, text);
    assert_memory_equal(text, "0000-00-00T", 11);
}

static void test_ctl_time_parse_refuses_other_forms(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2016-01-07",
        "2016-01-07 16:00:00Z",
        "2016-01-07T16:00:00",
        "2016-01-07T16:00:00+08:00",
        "2016-01-07T16:00:00.5Z",
        "2015-02-29T00:00:00Z",
        "2016-13-01T00:00:00Z",
        "2016-01-07T24:00:00Z",
        "2016-01-07T16:60:00Z",
        "2016-01-07T16:00:60Z",
        "2016-01-07T1a:00:00Z",
        "0000-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t us = 42;
        assert_int_equal(ctl_time_parse(bad[i], &us), RV_ERR_INVALID);
        assert_int_equal(us, 42); /* untouched */
    }
    int64_t us = 42;
    assert_int_equal(ctl_time_parse(NULL, &us), RV_ERR_INVALID);
}

static void test_case_event_build_derives_the_id(void **state)
{
    (void)state;
    rv_case_event e, again, other;
    const int64_t at = 1452182400LL * 1000000;
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "ops:zhang",
                                      "自查完成", at, &e, NULL, 0),
                     RV_OK);
    const char *parts[] = {"case-1", "answer", "ops:zhang", "自查完成"};
    char want[RV_ID_SIZE];
    rv_id_derive(want, 4, parts);
    assert_string_equal(e.env.event_id, want);
    assert_int_equal(e.env.occurred_at_us, at);
    assert_memory_equal(e.env.producer, "revisitctl/", 11);
    assert_string_equal(e.env.causation_id, "");
    assert_int_equal(e.env.schema_version, 1);
    assert_string_equal(e.case_id, "case-1");
    assert_int_equal(e.action, RV_CASE_ANSWER);
    assert_string_equal(e.actor, "ops:zhang");
    assert_string_equal(e.text, "自查完成");

    /* Same command later: same fact. Another action or text: another. */
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "ops:zhang",
                                      "自查完成", at + 5000000, &again, NULL,
                                      0),
                     RV_OK);
    assert_string_equal(again.env.event_id, e.env.event_id);
    assert_int_equal(case_event_build("case-1", RV_CASE_CLOSE, "ops:zhang",
                                      "自查完成", at, &other, NULL, 0),
                     RV_OK);
    assert_string_not_equal(other.env.event_id, e.env.event_id);
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "ops:zhang",
                                      "自查完成.", at, &other, NULL, 0),
                     RV_OK);
    assert_string_not_equal(other.env.event_id, e.env.event_id);
}

static void test_case_event_build_refuses_bad_input(void **state)
{
    (void)state;
    const int64_t at = 1452182400LL * 1000000;
    char errstr[256];
    rv_case_event e;
    memset(&e, 0x5a, sizeof(e));
    rv_case_event untouched = e;

    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "", "t", at, &e,
                                      errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(errstr, "actor is empty");
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "a", "", at, &e,
                                      errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(errstr, "text is empty");
    assert_int_equal(case_event_build("", RV_CASE_CLOSE, "a", "t", at, &e,
                                      errstr, sizeof(errstr)),
                     RV_ERR_INVALID);

    /* Limits: refused, never truncated into another fact. */
    char text[RV_NOTES_SIZE + 1];
    memset(text, 'x', RV_NOTES_SIZE);
    text[RV_NOTES_SIZE] = '\0';
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "a", text, at,
                                      &e, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(errstr, "text has 1024 bytes, limit 1023");
    char actor[RV_KEY_SIZE + 1];
    memset(actor, 'a', RV_KEY_SIZE);
    actor[RV_KEY_SIZE] = '\0';
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, actor, "t", at,
                                      &e, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(errstr, "actor has 64 bytes, limit 63");
    char case_id[RV_ID_SIZE + 1];
    memset(case_id, 'c', RV_ID_SIZE);
    case_id[RV_ID_SIZE] = '\0';
    assert_int_equal(case_event_build(case_id, RV_CASE_ANSWER, "a", "t", at, &e,
                                      errstr, sizeof(errstr)),
                     RV_ERR_INVALID);

    /* What the recorder's decoder refuses: not UTF-8, time out of range,
     * an unknown action. */
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "a",
                                      "ok \xc3\x28", at, &e, errstr,
                                      sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "text is not UTF-8"));
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "a", "t", 0, &e,
                                      errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_int_equal(case_event_build("case-1", (rv_case_action)7, "a", "t", at,
                                      &e, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_memory_equal(&e, &untouched, sizeof(e));

    /* Exactly at the limits: accepted. */
    text[RV_NOTES_SIZE - 1] = '\0';
    actor[RV_KEY_SIZE - 1] = '\0';
    case_id[RV_ID_SIZE - 1] = '\0';
    assert_int_equal(
        case_event_build(case_id, RV_CASE_CLOSE, actor, text, at, &e, NULL, 0),
        RV_OK);
    assert_int_equal(strlen(e.text), RV_NOTES_SIZE - 1);
}

/* The record's word on an answer or a close: nothing before the case
 * opened, nothing new on a closed case, the same command again always. */
static void test_case_event_check_against_the_record(void **state)
{
    (void)state;
    const int64_t opened = 1389225600LL * 1000000; /* 2014-01-09 */
    rv_case_event answer, close, other;
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "ops:zhang",
                                      "t", opened + 1000000, &answer, NULL, 0),
                     RV_OK);
    assert_int_equal(case_event_build("case-1", RV_CASE_CLOSE, "compliance:li",
                                      "ok", opened + 2000000, &close, NULL, 0),
                     RV_OK);
    char errstr[256] = "";
    case_record r = {.exists = true, .opened_at_us = opened};
    assert_int_equal(case_event_check(&answer, &r, errstr, sizeof(errstr)),
                     RV_OK);
    /* A close needs an answer first. */
    assert_int_equal(case_event_check(&close, &r, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);
    assert_non_null(strstr(errstr, "has no answer in the record yet"));

    /* --at 1995 on a case opened in 2014. */
    assert_int_equal(case_event_build("case-1", RV_CASE_ANSWER, "ops:zhang",
                                      "t", 788918400LL * 1000000, &other, NULL,
                                      0),
                     RV_OK);
    assert_int_equal(case_event_check(&other, &r, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);
    assert_string_equal(errstr, "case case-1 opened at 2014-01-09T00:00:00Z: "
                                "an answer at 1995-01-01T00:00:00Z would "
                                "come before it");
    r.has_event = true; /* not even as a repeat */
    assert_int_equal(case_event_check(&other, &r, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);
    r.has_event = false;

    /* Answered: a close, not before the answer. */
    r.is_answered = true;
    r.answered_at_us = opened + 1000000;
    assert_int_equal(case_event_check(&close, &r, errstr, sizeof(errstr)),
                     RV_OK);
    close.env.occurred_at_us = opened + 500000;
    assert_int_equal(case_event_check(&close, &r, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);
    assert_non_null(strstr(errstr, "first answered at"));
    close.env.occurred_at_us = opened + 2000000;

    /* Closed: nothing new, answer or close... */
    r.is_closed = true;
    r.closed_at_us = opened + 2000000;
    assert_int_equal(case_event_check(&answer, &r, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);
    assert_string_equal(errstr, "case case-1 was closed at "
                                "2014-01-09T00:00:02Z: it takes no more "
                                "events, an answer neither (only the same "
                                "command again)");
    assert_int_equal(case_event_check(&close, &r, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);
    /* ... but the same command again is the same fact, as before. */
    r.has_event = true;
    assert_int_equal(case_event_check(&answer, &r, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(case_event_check(&close, &r, errstr, sizeof(errstr)),
                     RV_OK);

    case_record none = {.exists = false};
    assert_int_equal(case_event_check(&answer, &none, errstr, sizeof(errstr)),
                     RV_ERR_CONFLICT);
    assert_string_equal(errstr, "no case \"case-1\" in the record");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_time_parse_and_format),
        cmocka_unit_test(test_ctl_time_parse_refuses_other_forms),
        cmocka_unit_test(test_case_event_build_derives_the_id),
        cmocka_unit_test(test_case_event_build_refuses_bad_input),
        cmocka_unit_test(test_case_event_check_against_the_record),
    };
    return cmocka_run_group_tests_name("ctl_case", tests, NULL, NULL);
}
