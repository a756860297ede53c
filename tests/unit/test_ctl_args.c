/* tests/unit/test_ctl_args.c: the option values and numbers of
 * revisitctl's command line (workers/revisitctl/ctl_args.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_args.h"

/* A writable argv (as main gets it) holding copies of @p text (@p n
 * strings), in @p store. */
#define ARGS_MAX 8
typedef struct args {
    char text[ARGS_MAX][32];
    char *argv[ARGS_MAX];
} args;

static char **args_of(args *store, const char *const *text, int n)
{
    assert_true(n <= ARGS_MAX);
    for (int k = 0; k < n; k++) {
        assert_true(strlen(text[k]) < sizeof(store->text[k]));
        strcpy(store->text[k], text[k]);
        store->argv[k] = store->text[k];
    }
    return store->argv;
}

static void test_ctl_arg_value_takes_the_next_argument(void **state)
{
    (void)state;
    static const char *const text[] = {"report", "--now", "--help", "--dsn"};
    args store;
    int argc = 4;
    char **argv = args_of(&store, text, argc);
    int i = 1;
    const char *value = NULL;
    char errstr[128] = "";
    assert_int_equal(
        ctl_arg_value(argc, argv, &i, &value, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(i, 2);
    assert_string_equal(value, "--help"); /* whatever it looks like */

    /* The last argument has no value: named, not "unknown". */
    i = 3;
    value = "untouched";
    assert_int_equal(
        ctl_arg_value(argc, argv, &i, &value, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_string_equal(errstr, "\"--dsn\" needs a value");
    assert_int_equal(i, 3);
    assert_string_equal(value, "untouched");
}

static void test_ctl_parse_u64_takes_digits_only(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(ctl_parse_u64("0", 0, 10, &v), RV_OK);
    assert_int_equal(v, 0);
    assert_int_equal(ctl_parse_u64("600", 1, 86400, &v), RV_OK);
    assert_int_equal(v, 600);
    assert_int_equal(ctl_parse_u64("18446744073709551615", 0, UINT64_MAX, &v),
                     RV_OK);
    assert_true(v == UINT64_MAX);
    static const char *const bad[] = {
        "",
        "abc",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1e3",
        "0x10",
        "99999999999999999999999",
        "18446744073709551616",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        v = 42;
        assert_int_equal(ctl_parse_u64(bad[k], 0, UINT64_MAX, &v),
                         RV_ERR_INVALID);
        assert_int_equal(v, 42); /* untouched */
    }
    assert_int_equal(ctl_parse_u64(NULL, 0, 10, &v), RV_ERR_INVALID);
    /* The range, both ends. */
    assert_int_equal(ctl_parse_u64("0", 1, 10, &v), RV_ERR_INVALID);
    assert_int_equal(ctl_parse_u64("11", 1, 10, &v), RV_ERR_INVALID);
    assert_int_equal(ctl_parse_u64("10", 1, 10, &v), RV_OK);
    assert_int_equal(v, 10);
}

static void test_ctl_arg_u64_names_the_bad_value(void **state)
{
    (void)state;
    static const char *const text[] = {
        "wait-drained", "--timeout-s", "abc", "--timeout-s",
        "-1",           "--timeout-s", "30",  "--timeout-s"};
    args store;
    int argc = 8;
    char **argv = args_of(&store, text, argc);
    char errstr[128] = "";
    uint64_t v = 7;
    int i = 1;
    assert_int_equal(
        ctl_arg_u64(argc, argv, &i, 1, 86400, &v, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_string_equal(
        errstr, "--timeout-s \"abc\" is not a whole number in 1..86400");
    assert_int_equal(i, 1);
    assert_int_equal(v, 7);
    i = 3;
    assert_int_equal(
        ctl_arg_u64(argc, argv, &i, 1, 86400, &v, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_string_equal(errstr,
                        "--timeout-s \"-1\" is not a whole number in 1..86400");
    i = 5;
    assert_int_equal(
        ctl_arg_u64(argc, argv, &i, 1, 86400, &v, errstr, sizeof(errstr)),
        RV_OK);
    assert_int_equal(i, 6);
    assert_int_equal(v, 30);
    i = 7;
    assert_int_equal(
        ctl_arg_u64(argc, argv, &i, 1, 86400, &v, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_string_equal(errstr, "\"--timeout-s\" needs a value");
    assert_int_equal(i, 7);
}

static void test_ctl_arg_is_help(void **state)
{
    (void)state;
    assert_true(ctl_arg_is_help("--help"));
    assert_true(ctl_arg_is_help("-h"));
    assert_false(ctl_arg_is_help("--helpful"));
    assert_false(ctl_arg_is_help("help"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_arg_value_takes_the_next_argument),
        cmocka_unit_test(test_ctl_parse_u64_takes_digits_only),
        cmocka_unit_test(test_ctl_arg_u64_names_the_bad_value),
        cmocka_unit_test(test_ctl_arg_is_help),
    };
    return cmocka_run_group_tests_name("ctl_args", tests, NULL, NULL);
}
