#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rv/cfg.h"

struct demo_cfg {
    char *topic;
    int64_t batch_max;
    bool verbose;
    char *dsn;
};

#define F(m) offsetof(struct demo_cfg, m)
static const rv_cfg_key demo_keys[] = {
    {"demo.topic", RV_CFG_STR, F(topic), "sales.events", 0, 0, 0, "topic"},
    {"demo.batch.max", RV_CFG_INT, F(batch_max), "500", 1, 1000, 0, "rows"},
    {"demo.verbose", RV_CFG_BOOL, F(verbose), "false", 0, 0, 0, "more"},
    {"pg.dsn", RV_CFG_STR, F(dsn), NULL, 0, 0, RV_CFG_REQUIRED | RV_CFG_SECRET,
     "libpq"},
    {0},
};
#undef F

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/rv_cfg_test_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_cfg_precedence_default_file_env(void **state)
{
    (void)state;
    struct demo_cfg c = {0};
    rv_props kafka = {0};
    rv_cfg_section sec[] = {{demo_keys, &c}};
    /* Not from a developer's shell: this test sets its own. */
    unsetenv("RV_KAFKA_BOOTSTRAP_SERVERS");
    unsetenv("RV_PG_DSN");
    char *path = write_tmp("# comment\ndemo.batch.max = 20\n"
                           "pg.dsn = host=x\nkafka.acks = all\n");
    setenv("RV_DEMO_BATCH_MAX", "30", 1);
    setenv("RV_KAFKA_LINGER_MS", "5", 1);
    assert_int_equal(rv_cfg_load(sec, 1, path, &kafka), RV_OK);
    unsetenv("RV_DEMO_BATCH_MAX");
    unsetenv("RV_KAFKA_LINGER_MS");
    unlink(path);
    assert_string_equal(c.topic, "sales.events");
    assert_int_equal(c.batch_max, 30);
    assert_false(c.verbose);
    assert_string_equal(c.dsn, "host=x");
    assert_int_equal(kafka.count, 2);
    assert_string_equal(kafka.names[0], "acks");
    assert_string_equal(kafka.names[1], "linger.ms");
    rv_cfg_fini(sec, 1, &kafka);
    assert_null(c.topic);
}

static void test_cfg_rejects_range_unknown_and_missing(void **state)
{
    (void)state;
    struct demo_cfg c = {0};
    rv_cfg_section sec[] = {{demo_keys, &c}};
    char *path = write_tmp("demo.batch.max = 5000\nnope = 1\n");
    assert_int_equal(rv_cfg_load(sec, 1, path, NULL), RV_ERR_INVALID);
    unlink(path);
    rv_cfg_fini(sec, 1, NULL);
}

/* A path that is not a readable file is refused like a missing one
 * (exit 78): a directory opens for reading but reads nothing, and was
 * taken as an empty file, the defaults. */
static void test_cfg_refuses_unreadable_file(void **state)
{
    (void)state;
    struct demo_cfg c = {0};
    rv_cfg_section sec[] = {{demo_keys, &c}};
    setenv("RV_PG_DSN", "host=x", 1);
    char dir[] = "/tmp/rv_cfg_dir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(rv_cfg_load(sec, 1, dir, NULL), RV_ERR_INVALID);
    rv_cfg_fini(sec, 1, NULL);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(rv_cfg_load(sec, 1, dir, NULL), RV_ERR_INVALID);
    rv_cfg_fini(sec, 1, NULL);
    /* The same settings from the environment alone load. */
    assert_int_equal(rv_cfg_load(sec, 1, NULL, NULL), RV_OK);
    rv_cfg_fini(sec, 1, NULL);
    unsetenv("RV_PG_DSN");
}

/* A worker's -c without its path says so, not "unknown argument". */
static void test_cli_parse(void **state)
{
    (void)state;
    char prog[] = "revisit-demo", c[] = "-c", path[] = "/etc/x.conf",
         check[] = "--check-config";
    char *ok[] = {prog, c, path, check};
    rv_cli cli;
    assert_int_equal(rv_cli_parse(4, ok, &cli), RV_OK);
    assert_string_equal(cli.config_path, "/etc/x.conf");
    assert_true(cli.check_config);
    assert_false(cli.help);
    char *missing[] = {prog, check, c};
    assert_int_equal(rv_cli_parse(3, missing, &cli), RV_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfg_precedence_default_file_env),
        cmocka_unit_test(test_cfg_rejects_range_unknown_and_missing),
        cmocka_unit_test(test_cfg_refuses_unreadable_file),
        cmocka_unit_test(test_cli_parse),
    };
    return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
