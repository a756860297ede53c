/* tests/unit/test_devbroker_control.c: the development broker's fault
 * commands (workers/devbroker/devbroker_control.c, issue 6 chaos run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <librdkafka/rdkafka.h>

#include "devbroker_control.h"

static void test_devbroker_control_parses_each_command(void **state)
{
    (void)state;
    devbroker_ctl c;
    assert_int_equal(devbroker_ctl_parse("down 2\n", &c, NULL, 0), RV_OK);
    assert_int_equal(c.kind, DEVBROKER_CTL_DOWN);
    assert_int_equal(c.broker_id, 2);
    assert_int_equal(devbroker_ctl_parse("  up\t3 ", &c, NULL, 0), RV_OK);
    assert_int_equal(c.kind, DEVBROKER_CTL_UP);
    assert_int_equal(c.broker_id, 3);
    assert_int_equal(devbroker_ctl_parse("rtt 1 6000", &c, NULL, 0), RV_OK);
    assert_int_equal(c.kind, DEVBROKER_CTL_RTT);
    assert_int_equal(c.broker_id, 1);
    assert_int_equal(c.rtt_ms, 6000);
    assert_int_equal(
        devbroker_ctl_parse("errors Produce 7 NOT_LEADER_FOR_PARTITION", &c,
                            NULL, 0),
        RV_OK);
    assert_int_equal(c.kind, DEVBROKER_CTL_ERRORS);
    assert_int_equal(c.api_key, 0);
    assert_int_equal(c.count, 7);
    assert_int_equal(c.err_code, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    assert_int_equal(
        devbroker_ctl_parse("errors offsetcommit 1 request_timed_out", &c, NULL,
                            0),
        RV_OK);
    assert_int_equal(c.api_key, 8);
    assert_int_equal(c.err_code, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    assert_int_equal(
        devbroker_ctl_parse("coordinator revisit-sampler 1", &c, NULL, 0),
        RV_OK);
    assert_int_equal(c.kind, DEVBROKER_CTL_COORDINATOR);
    assert_string_equal(c.group, "revisit-sampler");
    assert_int_equal(c.broker_id, 1);
}

static void test_devbroker_control_skips_blank_and_comments(void **state)
{
    (void)state;
    devbroker_ctl c;
    assert_int_equal(devbroker_ctl_parse("\n", &c, NULL, 0), RV_OK);
    assert_int_equal(c.kind, DEVBROKER_CTL_SKIP);
    assert_int_equal(devbroker_ctl_parse("# down 1", &c, NULL, 0), RV_OK);
    assert_int_equal(c.kind, DEVBROKER_CTL_SKIP);
}

static void test_devbroker_control_refuses_bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *why;
    } bad[] = {
        {"reboot 1", "unknown command \"reboot\""},
        {"down", "down takes 1 argument, got 0"},
        {"down 1 2", "down takes 1 argument, got 2"},
        {"down 0", "broker \"0\" is not 1..16"},
        {"up 17", "broker \"17\" is not 1..16"},
        {"down -1", "broker \"-1\" is not 1..16"},
        {"rtt 1 600001", "rtt \"600001\" is not 0..600000 ms"},
        {"rtt 1 1e3", "rtt \"1e3\" is not 0..600000 ms"},
        {"errors Vote 1 NOT_LEADER_FOR_PARTITION", "unknown request \"Vote\""},
        {"errors Fetch 0 NOT_LEADER_FOR_PARTITION", "count \"0\" is not"},
        {"errors Fetch 2 NO_SUCH_ERROR", "unknown broker error"},
        /* librdkafka's own (negative) codes are not broker errors. */
        {"errors Fetch 2 _TRANSPORT", "unknown broker error"},
        {"errors Fetch 2", "errors takes 3 arguments, got 2"},
        {"coordinator g", "coordinator takes 2 arguments, got 1"},
        {"coordinator g/x 1", "group \"g/x\" is not a group id"},
        {"coordinator g 0", "broker \"0\" is not 1..16"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        devbroker_ctl c;
        char why[256] = "";
        assert_int_equal(devbroker_ctl_parse(bad[i].line, &c, why, sizeof(why)),
                         RV_ERR_INVALID);
        if (strstr(why, bad[i].why) == NULL) {
            fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].line, why,
                     bad[i].why);
        }
    }
    char longline[400];
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    devbroker_ctl c;
    assert_int_equal(devbroker_ctl_parse(longline, &c, NULL, 0),
                     RV_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devbroker_control_parses_each_command),
        cmocka_unit_test(test_devbroker_control_skips_blank_and_comments),
        cmocka_unit_test(test_devbroker_control_refuses_bad_lines),
    };
    return cmocka_run_group_tests_name("devbroker_control", tests, NULL, NULL);
}
