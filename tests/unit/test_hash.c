#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rv/hash.h"

static void test_hash_sha256_known_vector(void **state)
{
    (void)state;
    char hex[RV_SHA256_HEX_SIZE];
    rv_sha256_hex("abc", 3, hex);
    assert_string_equal(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hash_id_is_deterministic_and_separated(void **state)
{
    (void)state;
    char a[RV_ID_SIZE], b[RV_ID_SIZE], c[RV_ID_SIZE];
    const char *p1[] = {"ev1", "R1"};
    const char *p2[] = {"ev1", "R1"};
    const char *p3[] = {"ev1R", "1"}; /* same bytes, other split */
    rv_id_derive(a, 2, p1);
    rv_id_derive(b, 2, p2);
    rv_id_derive(c, 2, p3);
    assert_int_equal(strlen(a), 32);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void test_hash_unit_is_uniform_enough(void **state)
{
    (void)state;
    int below = 0;
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "order-%d", i);
        double u = rv_hash_unit("salt", "R1", key);
        assert_true(u >= 0.0 && u < 1.0);
        if (u < 0.2) {
            below++;
        }
    }
    /* Binomial(10000, 0.2): mean 2000, sd 40; 5 sd either side. */
    assert_in_range(below, 1800, 2200);
    assert_true(rv_hash_unit("salt", "R1", "x") ==
                rv_hash_unit("salt", "R1", "x"));
    assert_true(rv_hash_unit("salt", "R1", "x") !=
                rv_hash_unit("other", "R1", "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_sha256_known_vector),
        cmocka_unit_test(test_hash_id_is_deterministic_and_separated),
        cmocka_unit_test(test_hash_unit_is_uniform_enough),
    };
    return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
