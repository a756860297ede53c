#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rv/keying.h"

static rv_msg msg_keyed(const char *topic, const char *key)
{
    return (rv_msg){.topic = topic,
                    .partition = 0,
                    .offset = 7,
                    .key = (const uint8_t *)key,
                    .key_len = key != NULL ? strlen(key) : 0};
}

static void test_keying_field_per_topic(void **state)
{
    (void)state;
    static const char *const by_customer[] = {
        "sales.events",       "service.events",   "visits.tasks",
        "visits.retries",     "visits.decisions", "visits.assignments",
        "visits.outcomes",    "visits.grades",    "compliance.alerts",
        "it.conc.tasks.1234", /* a test's own topic: DESIGN §3's rule */
    };
    for (size_t i = 0; i < sizeof(by_customer) / sizeof(by_customer[0]); i++) {
        assert_int_equal(rv_keying_field(by_customer[i]),
                         RV_KEY_FIELD_CUSTOMER_ID);
    }
    assert_int_equal(rv_keying_field("compliance.cases"), RV_KEY_FIELD_CASE_ID);
    assert_int_equal(rv_keying_field(NULL), RV_KEY_FIELD_CUSTOMER_ID);
    assert_string_equal(rv_key_field_name(RV_KEY_FIELD_CUSTOMER_ID),
                        "customer_id");
    assert_string_equal(rv_key_field_name(RV_KEY_FIELD_CASE_ID), "case_id");
}

static void test_keying_good_key_passes(void **state)
{
    (void)state;
    char errstr[256] = "";
    rv_msg m = msg_keyed("sales.events", "CG-12520");
    rv_key_values v = {.customer_id = "CG-12520"};
    assert_int_equal(rv_keying_check(&m, &v, errstr, sizeof(errstr)), RV_OK);
    assert_string_equal(errstr, "");
    /* compliance.cases is keyed by the case, not by a customer. */
    m = msg_keyed("compliance.cases", "0123456789abcdef0123456789abcdef");
    v = (rv_key_values){.case_id = "0123456789abcdef0123456789abcdef"};
    assert_int_equal(rv_keying_check(&m, &v, NULL, 0), RV_OK);
}

static void test_keying_wrong_key_is_invalid(void **state)
{
    (void)state;
    char errstr[256] = "";
    /* The tester's case: a sale keyed by something else than its
     * customer. */
    rv_msg m = msg_keyed("sales.events", "order-17");
    rv_key_values v = {.customer_id = "CG-12520"};
    assert_int_equal(rv_keying_check(&m, &v, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(errstr, "sales.events: Kafka key \"order-17\" is not "
                                "the message's customer_id \"CG-12520\"");
    /* A prefix of the value, or the value and more, is another key. */
    m = msg_keyed("visits.grades", "CG-1252");
    assert_int_equal(rv_keying_check(&m, &v, NULL, 0), RV_ERR_INVALID);
    m = msg_keyed("visits.grades", "CG-125200");
    assert_int_equal(rv_keying_check(&m, &v, NULL, 0), RV_ERR_INVALID);
    /* A key with a NUL byte inside is not its text before the NUL. */
    static const uint8_t nul_key[] = {'C', 'G', '-', '1', '2',
                                      '5', '2', '0', 0,   'x'};
    m = (rv_msg){
        .topic = "visits.outcomes", .key = nul_key, .key_len = sizeof(nul_key)};
    assert_int_equal(rv_keying_check(&m, &v, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "\"CG-12520\\x00x\""));
    /* A case event keyed by a customer ID, not by its case. */
    m = msg_keyed("compliance.cases", "CG-12520");
    v = (rv_key_values){.customer_id = "CG-12520",
                        .case_id = "0123456789abcdef0123456789abcdef"};
    assert_int_equal(rv_keying_check(&m, &v, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "case_id"));
}

static void test_keying_missing_key_is_invalid(void **state)
{
    (void)state;
    char errstr[256] = "";
    rv_key_values v = {.customer_id = "CG-12520"};
    rv_msg m = msg_keyed("visits.tasks", NULL);
    assert_int_equal(rv_keying_check(&m, &v, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(errstr, "visits.tasks: Kafka key missing, must be the "
                                "message's customer_id \"CG-12520\"");
    /* An empty key is no key either. */
    m = msg_keyed("visits.tasks", "");
    assert_int_equal(rv_keying_check(&m, &v, NULL, 0), RV_ERR_INVALID);
    /* A message without the topic's field (another kind of message). */
    m = msg_keyed("compliance.cases", "CG-12520");
    assert_int_equal(rv_keying_check(&m, &v, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(errstr, "compliance.cases: message has no case_id, "
                                "the field this topic is keyed by");
}

static void test_keying_reason_quotes_hostile_key(void **state)
{
    (void)state;
    char errstr[256] = "";
    rv_key_values v = {.customer_id = "CG-12520"};
    /* Quotes, a line break and an escape sequence in the key must not
     * reach a log line or a header as they are. */
    rv_msg m = msg_keyed("sales.events", "a\"b\n\x1b[31m");
    assert_int_equal(rv_keying_check(&m, &v, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_string_equal(errstr,
                        "sales.events: Kafka key \"a\\\"b\\x0a\\x1b[31m\" is "
                        "not the message's customer_id \"CG-12520\"");
    for (const char *p = errstr; *p != '\0'; p++) {
        assert_true(*p >= 0x20 && *p <= 0x7e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keying_field_per_topic),
        cmocka_unit_test(test_keying_good_key_passes),
        cmocka_unit_test(test_keying_wrong_key_is_invalid),
        cmocka_unit_test(test_keying_missing_key_is_invalid),
        cmocka_unit_test(test_keying_reason_quotes_hostile_key),
    };
    return cmocka_run_group_tests_name("keying", tests, NULL, NULL);
}
