/* it_redis: rv_redis against a real Redis (RV_IT_REDIS_URL): pipelined
 * scripts, the NOSCRIPT path after SCRIPT FLUSH, reconnect after the
 * server drops the connection. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rv/redis.h"

#define IT_TIMEOUT_MS 2000
#define IT_CALLS 100

/* Increments KEYS[1] by ARGV[1] and returns {new value, ARGV[2]}: an
 * array reply, flattened as "<n>|<tag>". */
static const char incr_source[] =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
    "return {n, ARGV[2]}\n";

static rv_redis *open_or_fail(void)
{
    const char *url = getenv("RV_IT_REDIS_URL");
    if (url == NULL || url[0] == '\0') {
        fail_msg("RV_IT_REDIS_URL is not set");
    }
    rv_redis *rc = NULL;
    char errstr[256] = "";
    if (rv_redis_open(url, IT_TIMEOUT_MS, &rc, errstr, sizeof(errstr)) !=
        RV_OK) {
        fail_msg("%s", errstr);
    }
    return rc;
}

static void command_ok(rv_redis *rc, size_t argc, const char *const *argv,
                       rv_redis_reply *reply)
{
    assert_int_equal(rv_redis_command(rc, argc, argv, reply), RV_OK);
}

/* Delete the test keys so that the test can run again. */
static void clear_keys(rv_redis *rc, const char *prefix, int count)
{
    for (int i = 0; i < count; i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s:%d", prefix, i);
        const char *argv[] = {"DEL", key};
        rv_redis_reply r;
        command_ok(rc, 2, argv, &r);
        rv_redis_replies_fini(&r, 1);
    }
}

/* 100 calls over 10 keys, each adding 1: every key ends at 10. */
static void run_batch(rv_redis *rc, rv_script *s, const char *prefix,
                      long long expect_base)
{
    char keys[IT_CALLS][64];
    char tags[IT_CALLS][16];
    const char *key_ptr[IT_CALLS];
    const char *args[IT_CALLS][2];
    rv_redis_call calls[IT_CALLS];
    for (int i = 0; i < IT_CALLS; i++) {
        snprintf(keys[i], sizeof(keys[i]), "%s:%d", prefix, i % 10);
        snprintf(tags[i], sizeof(tags[i]), "t%d", i);
        key_ptr[i] = keys[i];
        args[i][0] = "1";
        args[i][1] = tags[i];
        calls[i] = (rv_redis_call){.key_count = 1,
                                   .keys = &key_ptr[i],
                                   .arg_count = 2,
                                   .args = args[i]};
    }
    rv_redis_reply replies[IT_CALLS];
    assert_int_equal(rv_redis_eval_batch(rc, s, calls, IT_CALLS, replies),
                     RV_OK);
    for (int i = 0; i < IT_CALLS; i++) {
        char expect[64];
        snprintf(expect, sizeof(expect), "%lld|t%d", expect_base + i / 10 + 1,
                 i);
        assert_int_equal(replies[i].type, RV_REPLY_STR);
        assert_string_equal(replies[i].str, expect);
    }
    rv_redis_replies_fini(replies, IT_CALLS);
}

static void test_redis_script_load_and_batch(void **state)
{
    (void)state;
    rv_redis *rc = open_or_fail();
    clear_keys(rc, "it:rv:batch", 10);
    rv_script s = {.name = "incr", .source = incr_source};
    assert_int_equal(rv_redis_script_load(rc, &s), RV_OK);
    assert_int_equal(strlen(s.sha), 40);
    run_batch(rc, &s, "it:rv:batch", 0);

    /* Flattening of the other reply types. */
    rv_redis_reply r;
    const char *set[] = {"SET", "it:rv:batch:0", "v"};
    command_ok(rc, 3, set, &r);
    assert_int_equal(r.type, RV_REPLY_STR);
    assert_string_equal(r.str, "OK");
    rv_redis_replies_fini(&r, 1);
    const char *get[] = {"GET", "it:rv:none"};
    command_ok(rc, 2, get, &r);
    assert_int_equal(r.type, RV_REPLY_NIL);
    rv_redis_replies_fini(&r, 1);
    const char *bad[] = {"INCR", "it:rv:batch:0"};
    command_ok(rc, 2, bad, &r);
    assert_int_equal(r.type, RV_REPLY_ERR);
    assert_non_null(strstr(r.str, "not an integer"));
    rv_redis_replies_fini(&r, 1);

    /* A script error is a reply, not a failure; a broken script is
     * RV_ERR_INVALID. */
    rv_script boom = {.name = "boom",
                      .source = "return redis.error_reply('no')"};
    rv_redis_call call = {0};
    assert_int_equal(rv_redis_eval_batch(rc, &boom, &call, 1, &r), RV_OK);
    assert_int_equal(r.type, RV_REPLY_ERR);
    rv_redis_replies_fini(&r, 1);
    rv_script broken = {.name = "broken", .source = "return {"};
    assert_int_equal(rv_redis_script_load(rc, &broken), RV_ERR_INVALID);

    clear_keys(rc, "it:rv:batch", 10);
    rv_redis_close(rc);
}

static void test_redis_noscript_after_flush(void **state)
{
    (void)state;
    rv_redis *rc = open_or_fail();
    clear_keys(rc, "it:rv:flush", 10);
    rv_script s = {.name = "incr", .source = incr_source};
    run_batch(rc, &s, "it:rv:flush", 0); /* loads on first use */
    rv_redis_reply r;
    const char *flush[] = {"SCRIPT", "FLUSH"};
    command_ok(rc, 2, flush, &r);
    rv_redis_replies_fini(&r, 1);
    const char *exists[] = {"SCRIPT", "EXISTS", s.sha};
    command_ok(rc, 3, exists, &r);
    assert_string_equal(r.str, "0"); /* an array of one 0 */
    rv_redis_replies_fini(&r, 1);
    /* Every call gets NOSCRIPT, then runs again once: each key +10. */
    run_batch(rc, &s, "it:rv:flush", 10);
    command_ok(rc, 3, exists, &r);
    assert_string_equal(r.str, "1"); /* loaded again on the way */
    rv_redis_replies_fini(&r, 1);
    clear_keys(rc, "it:rv:flush", 10);
    rv_redis_close(rc);
}

static void test_redis_reconnects_after_client_kill(void **state)
{
    (void)state;
    rv_redis *rc = open_or_fail();
    rv_redis *killer = open_or_fail();
    rv_redis_reply r;
    const char *id_argv[] = {"CLIENT", "ID"};
    command_ok(rc, 2, id_argv, &r);
    assert_int_equal(r.type, RV_REPLY_INT);
    char id[32];
    snprintf(id, sizeof(id), "%lld", r.integer);
    rv_redis_replies_fini(&r, 1);

    const char *kill_argv[] = {"CLIENT", "KILL", "ID", id};
    command_ok(killer, 4, kill_argv, &r);
    assert_int_equal(r.type, RV_REPLY_INT);
    assert_int_equal(r.integer, 1);
    rv_redis_replies_fini(&r, 1);

    const char *ping[] = {"PING"};
    assert_int_equal(rv_redis_command(rc, 1, ping, &r), RV_ERR_UNAVAILABLE);
    command_ok(rc, 1, ping, &r);
    assert_int_equal(r.type, RV_REPLY_STR);
    assert_string_equal(r.str, "PONG");
    rv_redis_replies_fini(&r, 1);

    /* The same for a pipeline: the batch fails as a whole, then works. */
    command_ok(rc, 2, id_argv, &r);
    snprintf(id, sizeof(id), "%lld", r.integer);
    rv_redis_replies_fini(&r, 1);
    command_ok(killer, 4, kill_argv, &r);
    rv_redis_replies_fini(&r, 1);
    clear_keys(killer, "it:rv:kill", 10);
    rv_script s = {.name = "incr", .source = incr_source};
    assert_int_equal(rv_redis_script_load(killer, &s), RV_OK);
    const char *key = "it:rv:kill:0";
    const char *args[] = {"1", "x"};
    rv_redis_call call = {
        .key_count = 1, .keys = &key, .arg_count = 2, .args = args};
    assert_int_equal(rv_redis_eval_batch(rc, &s, &call, 1, &r),
                     RV_ERR_UNAVAILABLE);
    assert_int_equal(rv_redis_eval_batch(rc, &s, &call, 1, &r), RV_OK);
    assert_int_equal(r.type, RV_REPLY_STR);
    rv_redis_replies_fini(&r, 1);
    clear_keys(killer, "it:rv:kill", 10);

    rv_redis_close(killer);
    rv_redis_close(rc);
}

int main(void)
{
    /* A write to a killed connection must be an error, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_script_load_and_batch),
        cmocka_unit_test(test_redis_noscript_after_flush),
        cmocka_unit_test(test_redis_reconnects_after_client_kill),
    };
    return cmocka_run_group_tests_name("it_redis", tests, NULL, NULL);
}
