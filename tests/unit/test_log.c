#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rv/log.h"

/* Runs one RV_LOG with stderr redirected into a pipe; returns the line. */
static void capture(rv_log_format fmt, char *out, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    rv_log_init("sampler", RV_LOG_INFO, fmt);
    RV_LOG(RV_LOG_DEBUG, "hidden", RV_KV_INT("n", 1));
    RV_LOG(RV_LOG_WARN, "message_rejected", RV_KV_STR("topic", "sales.events"),
           RV_KV_INT("partition", 3), RV_KV_STR("reason", "amount \"-5\""));
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, cap - 1);
    close(fds[0]);
    assert_true(n > 0);
    out[n] = '\0';
}

static void test_log_logfmt_line(void **state)
{
    (void)state;
    char line[1024];
    capture(RV_LOG_LOGFMT, line, sizeof(line));
    assert_non_null(strstr(line, " level=warn worker=sampler "
                                 "event=message_rejected topic=sales.events "
                                 "partition=3 reason=\"amount \\\"-5\\\"\"\n"));
    assert_null(strstr(line, "hidden"));
    assert_int_equal(strncmp(line, "ts=", 3), 0);
}

static void test_log_json_line(void **state)
{
    (void)state;
    char line[1024];
    capture(RV_LOG_JSON, line, sizeof(line));
    assert_non_null(strstr(line, "\"level\":\"warn\",\"worker\":\"sampler\","
                                 "\"event\":\"message_rejected\","
                                 "\"topic\":\"sales.events\",\"partition\":3"));
    assert_non_null(strstr(line, "}\n"));
}

static void test_log_mask_phone(void **state)
{
    (void)state;
    char out[32];
    rv_log_mask_phone("13812341234", out, sizeof(out));
    assert_string_equal(out, "138****1234");
    rv_log_mask_phone("12345", out, sizeof(out));
    assert_string_equal(out, "*****");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_logfmt_line),
        cmocka_unit_test(test_log_json_line),
        cmocka_unit_test(test_log_mask_phone),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
