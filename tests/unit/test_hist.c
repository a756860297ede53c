/* tests/unit/test_hist.c: the duration histogram (common/hist.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rv/hist.h"

static void test_hist_empty_reads_zero(void **state)
{
    (void)state;
    rv_hist h = {0};
    assert_int_equal(rv_hist_quantile(&h, 0.5), 0);
    assert_int_equal(rv_hist_quantile(&h, 1.0), 0);
}

static void test_hist_small_values_are_exact(void **state)
{
    (void)state;
    rv_hist h = {0};
    for (uint64_t v = 0; v < 4; v++) {
        rv_hist_add(&h, v);
    }
    assert_int_equal(h.count, 4);
    assert_int_equal(h.sum_us, 6);
    assert_int_equal(rv_hist_quantile(&h, 0.25), 0);
    assert_int_equal(rv_hist_quantile(&h, 0.5), 1);
    assert_int_equal(rv_hist_quantile(&h, 0.75), 2);
    assert_int_equal(rv_hist_quantile(&h, 0.99), 3);
    assert_int_equal(rv_hist_quantile(&h, -1.0), 0);
}

/* 1..100000 µs once each: every quantile is at most 25% above the true
 * value and never below it. */
static void test_hist_quantiles_within_a_quarter(void **state)
{
    (void)state;
    rv_hist h = {0};
    for (uint64_t v = 1; v <= 100000; v++) {
        rv_hist_add(&h, v);
    }
    const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        double want = qs[i] * 100000.0;
        uint64_t got = rv_hist_quantile(&h, qs[i]);
        assert_true((double)got >= want);
        assert_true((double)got <= want * 1.25);
    }
    assert_int_equal(rv_hist_quantile(&h, 1.0), 100000);
    assert_int_equal(h.max_us, 100000);
}

/* One slow batch among many fast ones is the p99 only when it is more
 * than 1% of them; it is always the max. Values at the top of the range
 * land in the last bucket. */
static void test_hist_tail_and_extremes(void **state)
{
    (void)state;
    rv_hist h = {0};
    for (int i = 0; i < 99; i++) {
        rv_hist_add(&h, 1000);
    }
    rv_hist_add(&h, 700000);
    uint64_t p99 = rv_hist_quantile(&h, 0.99);
    assert_true(p99 >= 1000 && p99 <= 1250);
    assert_int_equal(rv_hist_quantile(&h, 0.995), 700000);
    assert_int_equal(rv_hist_quantile(&h, 1.0), 700000);
    rv_hist_add(&h, UINT64_MAX);
    assert_int_equal(h.n[RV_HIST_BUCKETS - 1], 1);
    assert_int_equal(rv_hist_quantile(&h, 1.0), UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_empty_reads_zero),
        cmocka_unit_test(test_hist_small_values_are_exact),
        cmocka_unit_test(test_hist_quantiles_within_a_quarter),
        cmocka_unit_test(test_hist_tail_and_extremes),
    };
    return cmocka_run_group_tests_name("test_hist", tests, NULL, NULL);
}
