#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devbroker_topics.h"

static void test_devbroker_topics_parses_list_with_twins(void **state)
{
    (void)state;
    devbroker_topics t = {0};

    assert_int_equal(devbroker_topics_parse(" a.b:6 , c_d-1:1", 1, &t, NULL, 0),
                     RV_OK);
    assert_int_equal(t.count, 4);
    assert_string_equal(t.items[0].name, "a.b");
    assert_int_equal(t.items[0].partitions, 6);
    assert_string_equal(t.items[1].name, "a.b.dlq");
    assert_int_equal(t.items[1].partitions, 6);
    assert_string_equal(t.items[2].name, "c_d-1");
    assert_int_equal(t.items[2].partitions, 1);
    assert_string_equal(t.items[3].name, "c_d-1.dlq");
    devbroker_topics_fini(&t);
    assert_int_equal(t.count, 0);
    assert_null(t.items);
}

static void test_devbroker_topics_without_twins(void **state)
{
    (void)state;
    devbroker_topics t = {0};

    assert_int_equal(devbroker_topics_parse("x:3", 0, &t, NULL, 0), RV_OK);
    assert_int_equal(t.count, 1);
    assert_string_equal(t.items[0].name, "x");
    assert_int_equal(t.items[0].partitions, 3);
    devbroker_topics_fini(&t);
}

static void test_devbroker_topics_rejects_bad_entries(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",     " ",      "a",    "a:",    ":6",       "a:0",         "a:-1",
        "a:+1", "a:1001", "a:6,", ",a:6",  "a:6,,b:6", "a b:6",       "a/b:6",
        ".:6",  "..:6",   "a:6x", "a:6:7", "a:6,a:3",  "a:6,a.dlq:6", "a:99999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        devbroker_topics t = {.count = 42};
        char errstr[256] = "";
        rv_err err =
            devbroker_topics_parse(bad[i], 1, &t, errstr, sizeof(errstr));
        if (err != RV_ERR_INVALID) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_int_equal(t.count, 42); /* untouched on error */
        assert_true(strlen(errstr) > 0);
    }
    devbroker_topics t = {0};
    assert_int_equal(devbroker_topics_parse(NULL, 1, &t, NULL, 0),
                     RV_ERR_INVALID);
}

static void test_devbroker_topics_name_length_limit(void **state)
{
    (void)state;
    char spec[DEVBROKER_TOPIC_NAME_MAX + 8];
    devbroker_topics t = {0};

    /* 245 + ".dlq" is exactly the limit; 246 is one too many. */
    memset(spec, 'n', 245);
    memcpy(spec + 245, ":1", 3);
    assert_int_equal(devbroker_topics_parse(spec, 1, &t, NULL, 0), RV_OK);
    assert_int_equal(strlen(t.items[1].name), DEVBROKER_TOPIC_NAME_MAX);
    devbroker_topics_fini(&t);

    memset(spec, 'n', 246);
    memcpy(spec + 246, ":1", 3);
    assert_int_equal(devbroker_topics_parse(spec, 1, &t, NULL, 0),
                     RV_ERR_INVALID);
    assert_int_equal(devbroker_topics_parse(spec, 0, &t, NULL, 0), RV_OK);
    devbroker_topics_fini(&t);
}

static void test_devbroker_topics_entry_count_limit(void **state)
{
    (void)state;
    static char spec[DEVBROKER_TOPICS_MAX * 8];
    size_t pos = 0;
    for (int i = 0; i <= DEVBROKER_TOPICS_MAX; i++) {
        pos += (size_t)snprintf(spec + pos, sizeof(spec) - pos, "%st%d:1",
                                i > 0 ? "," : "", i);
    }
    devbroker_topics t = {0};
    assert_int_equal(devbroker_topics_parse(spec, 0, &t, NULL, 0),
                     RV_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devbroker_topics_parses_list_with_twins),
        cmocka_unit_test(test_devbroker_topics_without_twins),
        cmocka_unit_test(test_devbroker_topics_rejects_bad_entries),
        cmocka_unit_test(test_devbroker_topics_name_length_limit),
        cmocka_unit_test(test_devbroker_topics_entry_count_limit),
    };
    return cmocka_run_group_tests_name("devbroker_topics", tests, NULL, NULL);
}
