#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

static void test_err_errquote_escapes(void **state)
{
    (void)state;
    char q[RV_ERRQUOTE_SIZE];
    assert_string_equal(rv_errquote(q, sizeof(q), "CG-12520", 8),
                        "\"CG-12520\"");
    assert_string_equal(rv_errquote(q, sizeof(q), "", 0), "\"\"");
    assert_string_equal(rv_errquote(q, sizeof(q), NULL, 5), "\"\"");
    /* Quote and backslash escaped; control bytes, DEL and non-ASCII bytes
     * as \xHH; a NUL byte inside the value is shown, not an end. */
    static const char v[] = {'a', '"', 'b', '\\', '\n', 0, 0x7f, (char)0xe5};
    assert_string_equal(rv_errquote(q, sizeof(q), v, sizeof(v)),
                        "\"a\\\"b\\\\\\x0a\\x00\\x7f\\xe5\"");
    /* Only printable ASCII comes out, whatever goes in. */
    unsigned char all[256];
    for (size_t i = 0; i < sizeof(all); i++) {
        all[i] = (unsigned char)i;
    }
    for (size_t i = 0; i + 8 <= sizeof(all); i += 8) {
        rv_errquote(q, sizeof(q), all + i, 8);
        for (const char *p = q; *p != '\0'; p++) {
            assert_true(*p >= 0x20 && *p <= 0x7e);
        }
    }
}

static void test_err_errquote_bounds_length(void **state)
{
    (void)state;
    char q[RV_ERRQUOTE_SIZE];
    char big[RV_ERRQUOTE_MAX_BYTES + 10];
    memset(big, 'x', sizeof(big));
    /* At most RV_ERRQUOTE_MAX_BYTES bytes shown, then "...". */
    rv_errquote(q, sizeof(q), big, sizeof(big));
    assert_int_equal(strlen(q), 1 + RV_ERRQUOTE_MAX_BYTES + 4);
    assert_int_equal(q[RV_ERRQUOTE_MAX_BYTES + 1], '"');
    assert_string_equal(q + RV_ERRQUOTE_MAX_BYTES + 2, "...");
    rv_errquote(q, sizeof(q), big, RV_ERRQUOTE_MAX_BYTES);
    assert_int_equal(strlen(q), RV_ERRQUOTE_MAX_BYTES + 2); /* all of it */
    /* RV_ERRQUOTE_SIZE holds the longest escapes in full. */
    memset(big, 0x01, sizeof(big));
    rv_errquote(q, sizeof(q), big, RV_ERRQUOTE_MAX_BYTES);
    assert_int_equal(strlen(q), RV_ERRQUOTE_MAX_BYTES * 4 + 2);
    /* A small buffer: whole escapes only, cut and still terminated. */
    char small[12];
    assert_string_equal(rv_errquote(small, sizeof(small), "abcdefghij", 10),
                        "\"abcdef\"...");
    assert_string_equal(rv_errquote(small, sizeof(small), "\x01\x02", 2),
                        "\"\\x01\"...");
    assert_string_equal(rv_errquote(small, sizeof(small), "abcde", 5),
                        "\"abcde\"");
    assert_string_equal(rv_errquote(small, 5, "abc", 3), "");
    assert_null(rv_errquote(NULL, 0, "abc", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_names_and_classes),
        cmocka_unit_test(test_err_errf_null_and_truncation),
        cmocka_unit_test(test_err_errquote_escapes),
        cmocka_unit_test(test_err_errquote_bounds_length),
    };
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
