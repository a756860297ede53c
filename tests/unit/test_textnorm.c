#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rv/textnorm.h"

/* A1 (seed 000, issue 5): traditional, simplified and full-width notes
 * normalise to the same text. */
static void test_textnorm_traditional_fullwidth_case(void **state)
{
    (void)state;
    rv_textnorm *tn = NULL;
    char err[256] = "";
    assert_int_equal(rv_textnorm_open(&tn, err, sizeof(err)), RV_OK);
    char a[256], b[256], c[256];
    assert_int_equal(rv_textnorm_apply(tn, "他知道我的密碼", a, sizeof(a)),
                     RV_OK);
    assert_int_equal(rv_textnorm_apply(tn, "他知道我的密码", b, sizeof(b)),
                     RV_OK);
    assert_string_equal(a, b);
    assert_string_equal(a, "他知道我的密码");
    assert_int_equal(rv_textnorm_apply(tn, "ＡＢＣ　密碼１２３", c, sizeof(c)),
                     RV_OK);
    assert_string_equal(c, "abc 密码123");
    /* Truncation keeps whole characters. */
    char small[8];
    assert_int_equal(rv_textnorm_apply(tn, "密碼密碼", small, sizeof(small)),
                     RV_OK);
    assert_string_equal(small, "密码");
    assert_int_equal(rv_textnorm_apply(tn, "\xff", c, sizeof(c)),
                     RV_ERR_INVALID);
    rv_textnorm_close(tn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_textnorm_traditional_fullwidth_case),
    };
    return cmocka_run_group_tests_name("textnorm", tests, NULL, NULL);
}
