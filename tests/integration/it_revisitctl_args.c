/* tests/integration/it_revisitctl_args.c: the command lines a tester
 * found accepted or answered wrongly, run as processes (revisitctl and a
 * worker, from RV_BUILD_DIR): each is a usage error naming the bad value
 * (64), a flag without its value says so, --help prints the usage (0),
 * and a worker's config path that is a directory is unreadable (78).
 * Every one is refused before any service is asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_common.h"

#define OUT_MAX 8192

static const char *build_dir(void)
{
    return it_need("it_revisitctl_args", "RV_BUILD_DIR");
}

/* revisitctl @p args exits @p code with @p text in its stderr (or, for
 * exit 0, its stdout). */
static void expect(const char *const *args, int code, const char *text)
{
    static char out[OUT_MAX], err[OUT_MAX];
    int got = it_run_ctl(build_dir(), args, out, err, OUT_MAX);
    const char *where = code == 0 ? out : err;
    if (got != code || strstr(where, text) == NULL) {
        fail_msg("revisitctl %s %s: exit %d (want %d), wanted \"%s\" in:\n%s",
                 args[0], args[1] != NULL ? args[1] : "", got, code, text,
                 where);
    }
}

static void test_wait_drained_timeout(void **state)
{
    (void)state;
    const char *abc[] = {"wait-drained", "--timeout-s", "abc", NULL};
    expect(abc, 64, "--timeout-s \"abc\" is not a whole number in 1..86400");
    const char *neg[] = {"wait-drained", "--timeout-s", "-1", NULL};
    expect(neg, 64, "--timeout-s \"-1\" is not a whole number");
    const char *help[] = {"wait-drained", "--help", NULL};
    expect(help, 0, "usage: revisitctl wait-drained");
}

/* With a file that does not exist: the limit is refused first (64, not
 * 66). */
static void test_import_limit(void **state)
{
    (void)state;
    const char *neg[] = {"import",  "--csv", "/nonexistent.csv",
                         "--limit", "-1",    NULL};
    expect(neg, 64, "--limit \"-1\" is not a whole number");
    const char *big[] = {"import",
                         "--csv",
                         "/nonexistent.csv",
                         "--limit",
                         "99999999999999999999999",
                         NULL};
    expect(big, 64,
           "--limit \"99999999999999999999999\" is not a whole "
           "number");
    const char *help[] = {"import", "--help", NULL};
    expect(help, 0, "usage: revisitctl import --csv PATH");
}

static void test_generate_event_time_range(void **state)
{
    (void)state;
    const char *early[] = {"generate", "--count",    "10",
                           "--start",  "1970-01-01", NULL};
    expect(early, 64, "[1990-01-01T00:00:00Z, 2100-01-01T00:00:00Z)");
    const char *late[] = {"generate", "--count",    "10",
                          "--start",  "2200-01-01", NULL};
    expect(late, 64, "bad --start \"2200-01-01\"");
    /* The first sales fit, the 700th (00:58:58 on 2100-01-01) not. */
    const char *runs_past[] = {"generate", "--count",    "700",
                               "--start",  "2099-12-31", NULL};
    expect(runs_past, 64, "run past 2100-01-01T00:00:00Z");
    const char *customers[] = {"generate",    "--count", "10",
                               "--customers", "0",       NULL};
    expect(customers, 64, "--customers \"0\" is not a whole number in 1..");
    const char *count[] = {"generate", "--count", "-5", NULL};
    expect(count, 64, "--count \"-5\"");
}

static void test_missing_values_and_help(void **state)
{
    (void)state;
    const char *now[] = {"report", "--cases", "--now", NULL};
    expect(now, 64, "\"--now\" needs a value");
    const char *dsn[] = {"report", "--dsn", NULL};
    expect(dsn, 64, "\"--dsn\" needs a value");
    const char *rebuild[] = {"rebuild-state", "--redis-url", NULL};
    expect(rebuild, 64, "\"--redis-url\" needs a value");
    const char *task[] = {"reveal-phone", "--task", NULL};
    expect(task, 64, "\"--task\" needs a value");
    const char *redis_db[] = {"replay", "verify", "--redis-db", "x", NULL};
    expect(redis_db, 64, "--redis-db \"x\" is not a whole number");
    static const char *const helps[][3] = {
        {"report", "--help", NULL},          {"rebuild-state", "--help", NULL},
        {"bench-kafka", "--help", NULL},     {"bench-pg", "--help", NULL},
        {"bench-retention", "--help", NULL}, {"generate", "--help", NULL},
        {"reveal-phone", "--help", NULL},
    };
    for (size_t k = 0; k < sizeof(helps) / sizeof(helps[0]); k++) {
        expect(helps[k], 0, "usage: revisitctl ");
    }
}

/* A worker (the sampler): -c without a path, and a path that is a
 * directory, under --check-config. */
static void test_worker_config_path(void **state)
{
    (void)state;
    char bin[1024];
    snprintf(bin, sizeof(bin), "%s/workers/sampler/revisit-sampler",
             build_dir());
    char dir[] = "/tmp/it_args_dir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s -c %s --check-config >/dev/null 2>%s/err",
             bin, dir, dir);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 78);
    char path[128], text[OUT_MAX];
    snprintf(path, sizeof(path), "%s/err", dir);
    it_read_file(path, text, sizeof(text));
    assert_non_null(strstr(text, "cannot read: Is a directory"));
    snprintf(cmd, sizeof(cmd), "%s --check-config -c >/dev/null 2>%s/err", bin,
             dir);
    status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 78);
    it_read_file(path, text, sizeof(text));
    assert_non_null(strstr(text, "\"-c\" needs a value"));
    assert_int_equal(rmdir(dir), 0); /* it_read_file removed err */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_drained_timeout),
        cmocka_unit_test(test_import_limit),
        cmocka_unit_test(test_generate_event_time_range),
        cmocka_unit_test(test_missing_values_and_help),
        cmocka_unit_test(test_worker_config_path),
    };
    return cmocka_run_group_tests_name("it_revisitctl_args", tests, NULL, NULL);
}
