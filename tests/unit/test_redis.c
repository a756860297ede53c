/* test_redis: what rv_redis decides before any server answers (URL and
 * argument checks, a refused connection on loopback). The rest runs
 * against a real Redis in tests/integration/it_redis.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rv/redis.h"

static void test_redis_open_rejects_bad_urls(void **state)
{
    (void)state;
    rv_redis *rc = NULL;
    char errstr[256] = "";
    assert_int_equal(
        rv_redis_open("redis://:6379", 100, &rc, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_int_equal(
        rv_redis_open("redis://u:secret@h:1", 100, &rc, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_null(strstr(errstr, "secret"));
    assert_int_equal(
        rv_redis_open("http://h:1", 100, &rc, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_int_equal(rv_redis_open("h:99999", 100, &rc, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_int_equal(rv_redis_open("h:1/16", 100, &rc, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_int_equal(rv_redis_open("h:1/x", 100, &rc, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    /* A database in [0, 15] parses (replay keeps its state in one). */
    assert_int_equal(rv_redis_open("redis://127.0.0.1:1/15", 500, &rc, errstr,
                                   sizeof(errstr)),
                     RV_ERR_UNAVAILABLE);
    assert_int_equal(rv_redis_open("h:1", 0, &rc, errstr, sizeof(errstr)),
                     RV_ERR_INVALID);
    /* Port 1 on loopback: nothing listens. */
    assert_int_equal(rv_redis_open("redis://127.0.0.1:1/0", 500, &rc, errstr,
                                   sizeof(errstr)),
                     RV_ERR_UNAVAILABLE);
    assert_non_null(strstr(errstr, "127.0.0.1:1"));
    assert_null(rc);
    rv_redis_close(NULL);
}

static void test_redis_replies_fini_is_idempotent(void **state)
{
    (void)state;
    rv_redis_reply r[2] = {{.type = RV_REPLY_NIL}, {.type = RV_REPLY_INT}};
    rv_redis_replies_fini(r, 2);
    rv_redis_replies_fini(r, 2);
    rv_redis_replies_fini(NULL, 3);
    assert_int_equal(r[1].type, RV_REPLY_NIL);
    assert_null(r[1].str);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_open_rejects_bad_urls),
        cmocka_unit_test(test_redis_replies_fini_is_idempotent),
    };
    return cmocka_run_group_tests_name("redis", tests, NULL, NULL);
}
