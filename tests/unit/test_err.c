#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rv/err.h"

static void test_err_names_and_classes(void **state)
{
    (void)state;
    assert_string_equal(rv_err_str(RV_OK), "ok");
    assert_string_equal(rv_err_str(RV_ERR_TIMEOUT), "timeout");
    assert_true(rv_err_is_retriable(RV_ERR_UNAVAILABLE));
    assert_true(rv_err_is_retriable(RV_ERR_CONFLICT));
    assert_false(rv_err_is_retriable(RV_ERR_INVALID));
    assert_false(rv_err_is_retriable(RV_ERR_FATAL));
}

static void test_err_errf_null_and_truncation(void **state)
{
    (void)state;
    char buf[8];
    rv_errf(NULL, 0, "ignored %d", 1);
    rv_errf(buf, sizeof(buf), "sale %d: too long", 17);
    assert_string_equal(buf, "sale 17");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_names_and_classes),
        cmocka_unit_test(test_err_errf_null_and_truncation),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
