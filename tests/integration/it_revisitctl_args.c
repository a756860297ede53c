/* tests/integration/it_revisitctl_args.c: the command lines a tester
 * found accepted or answered wrongly, run as processes (revisitctl and a
 * worker, from RV_BUILD_DIR): each is a usage error naming the bad value
 * (64), a flag without its value says so, --help prints the usage (0),
 * and a worker's config path that is a directory is unreadable (78);
 * --check-config names every bad setting (78) or passes (0).
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

/* A worker (the sampler): a path that is a directory, under
 * --check-config (78), -c without a path and an unknown argument (64,
 * EX_USAGE). */
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
    assert_int_equal(WEXITSTATUS(status), 64); /* usage, not config */
    it_read_file(path, text, sizeof(text));
    assert_non_null(strstr(text, "\"-c\" needs a value"));
    snprintf(cmd, sizeof(cmd), "%s --bogus >/dev/null 2>%s/err", bin, dir);
    status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 64);
    it_read_file(path, text, sizeof(text));
    assert_non_null(strstr(text, "unknown argument \"--bogus\""));
    assert_int_equal(rmdir(dir), 0); /* it_read_file removed err */
}

/* The worker's config and environment are the test's own: a variable
 * of the caller's (a stack's RV_REDIS_URL, say) would override the
 * file. */
#define WORKER_ENV_CLEAN                                                       \
    "env -u RV_CONFIG -u RV_REDIS_URL -u RV_PG_DSN -u RV_POLICY_PATH "         \
    "-u RV_HEALTH_ADDRESS -u RV_HEALTH_PORT -u RV_KAFKA_BOOTSTRAP_SERVERS "    \
    "-u RV_PII_KEY_FILE "

/* Runs revisit-@p worker -c @p conf --check-config in @p dir; its exit
 * code, stdout in @p out and stderr in @p err (OUT_MAX bytes each). */
static int check_config(const char *worker, const char *dir, const char *conf,
                        char *out, char *err)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             WORKER_ENV_CLEAN "%s/workers/%s/revisit-%s -c %s --check-config "
                              ">%s/out 2>%s/err",
             build_dir(), worker, worker, conf, dir, dir);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    char path[256];
    snprintf(path, sizeof(path), "%s/out", dir);
    it_read_file(path, out, OUT_MAX);
    snprintf(path, sizeof(path), "%s/err", dir);
    it_read_file(path, err, OUT_MAX);
    return WEXITSTATUS(status);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void expect_in(const char *text, const char *want)
{
    if (strstr(text, want) == NULL) {
        fail_msg("wanted \"%s\" in:\n%s", want, text);
    }
}

/* Tester finding 9: --check-config checks every setting start-up uses,
 * without a server: the policy (an unknown key named on its own line),
 * redis.url, the kafka.* properties, the health address, and the
 * recorder's pg.dsn and pii.key.file; one "config: <key>: <why>" line a
 * problem, exit 78; 0 and the effective config when all pass. */
static void test_worker_check_config(void **state)
{
    (void)state;
    const char *src = it_need("it_revisitctl_args", "RV_SOURCE_DIR");
    char dir[] = "/tmp/it_check_XXXXXX";
    assert_non_null(mkdtemp(dir));
    static char out[OUT_MAX], err[OUT_MAX], text[OUT_MAX * 8];
    char conf[256], policy[256], key[256];
    snprintf(conf, sizeof(conf), "%s/w.conf", dir);
    snprintf(policy, sizeof(policy), "%s/policy.yaml", dir);
    snprintf(key, sizeof(key), "%s/pii.key", dir);

    /* Good: the sampler prints its config and the policy, exit 0. */
    char body[1024];
    snprintf(body, sizeof(body),
             "policy.path = %s/deploy/policy/default.yaml\n"
             "redis.url = redis://127.0.0.1:6379/2\n"
             "kafka.bootstrap.servers = 127.0.0.1:1\n"
             "kafka.linger.ms = 5\n"
             "health.address = 127.0.0.1\n"
             "health.port = 9464\n",
             src);
    write_text(conf, body, 0600);
    assert_int_equal(check_config("sampler", dir, conf, out, err), 0);
    expect_in(out, "redis.url = redis://127.0.0.1:6379/2");
    expect_in(out, "kafka.linger.ms = 5");
    expect_in(out, "policy ");
    expect_in(out, ": version ");
    assert_null(strstr(err, "config:"));

    /* Bad: a policy with an unknown key after a comment, a port out of
     * range, an unknown librdkafka key, a bad value, a host name for the
     * probe. Every one is said, once, under its key. */
    char path[512];
    snprintf(path, sizeof(path), "%s/deploy/policy/default.yaml", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = '\0';
    char *at = strstr(text, "\ncooldown_days: 7");
    assert_non_null(at);
    memcpy(at + 1, "cooldown_dayz", 13);
    int line = 2;
    for (const char *p = text; p < at; p++) {
        line += *p == '\n';
    }
    write_text(policy, text, 0600);
    snprintf(body, sizeof(body),
             "policy.path = %s\n"
             "redis.url = redis://127.0.0.1:99999\n"
             "kafka.bootstrap.servers = 127.0.0.1:1\n"
             "kafka.bogus.key = 1\n"
             "kafka.linger.ms = soon\n"
             "health.address = localhost\n",
             policy);
    write_text(conf, body, 0600);
    assert_int_equal(check_config("sampler", dir, conf, out, err), 78);
    char want[512];
    snprintf(want, sizeof(want),
             "config: policy.path: policy %s: cooldown_dayz is an unknown "
             "key (line %d)\n",
             policy, line);
    expect_in(err, want);
    expect_in(err, "config: redis.url: redis: URL port is not a number in "
                   "[1, 65535]\n");
    expect_in(err, "config: kafka.bogus.key: No such configuration "
                   "property: \"bogus.key\"\n");
    expect_in(err, "config: kafka.linger.ms: Invalid value");
    expect_in(err, "config: health.address: \"localhost\" is not an IPv4 "
                   "address");
    assert_int_equal(count_of(err, "config: "), 5);

    /* Properties librdkafka refuses only together. */
    snprintf(body, sizeof(body),
             "policy.path = %s/deploy/policy/default.yaml\n"
             "kafka.bootstrap.servers = 127.0.0.1:1\n"
             "kafka.acks = 1\n",
             src);
    write_text(conf, body, 0600);
    assert_int_equal(check_config("sampler", dir, conf, out, err), 78);
    expect_in(err, "config: kafka: producer: `acks` must be set to `all` "
                   "when `enable.idempotence` is true\n");
    assert_int_equal(count_of(err, "config: "), 1);

    /* A setting refused while loading (a bad log.level, batch.max out of
     * range) no longer hides the others; and the two start-up found
     * missing only when it ran: no bootstrap servers, no input topic. */
    snprintf(body, sizeof(body),
             "policy.path = %s/deploy/policy/default.yaml\n"
             "log.level = loud\n"
             "batch.max = 0\n"
             "redis.url = redis://h:0\n"
             "topics = ,\n"
             "kafka.acks = 1\n",
             src);
    write_text(conf, body, 0600);
    assert_int_equal(check_config("sampler", dir, conf, out, err), 78);
    expect_in(err, "config: log.level: \"loud\" is not debug, info, warn or "
                   "error\n");
    expect_in(err, "batch.max: 0 is outside [1, 100000]");
    expect_in(err, "config: redis.url: ");
    expect_in(err, "config: kafka.bootstrap.servers: not set");
    expect_in(err, "config: topics: no input topic\n");
    expect_in(err, "config: kafka: producer: `acks` must be set to `all`");
    assert_int_equal(count_of(err, "config: "), 6);

    /* The recorder's key file: good, then readable by others, then too
     * short; a bad redis.url is none of its business (it has no Redis). */
    write_text(
        key,
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
        "\n",
        0600);
    snprintf(body, sizeof(body),
             "pg.dsn = host=/nonexistent\n"
             "pii.key.file = %s\n"
             "redis.url = redis://127.0.0.1:99999\n"
             "kafka.bootstrap.servers = 127.0.0.1:1\n",
             key);
    write_text(conf, body, 0600);
    assert_int_equal(check_config("recorder", dir, conf, out, err), 0);
    expect_in(out, "pii.key.file = ");
    /* Its connection string, parsed as libpq would, the password hidden
     * from the line as from the printed config. */
    snprintf(body, sizeof(body),
             "pg.dsn = host=/nonexistent passwrd=s3cret-pw port=70000\n"
             "pii.key.file = %s\n"
             "kafka.bootstrap.servers = 127.0.0.1:1\n",
             key);
    write_text(conf, body, 0600);
    assert_int_equal(check_config("recorder", dir, conf, out, err), 78);
    expect_in(err, "config: pg.dsn: pg: connection string: invalid "
                   "connection option \"...\"\n");
    assert_int_equal(count_of(err, "config: "), 1);
    assert_null(strstr(err, "s3cret-pw"));
    assert_null(strstr(out, "s3cret-pw"));
    snprintf(body, sizeof(body),
             "pg.dsn = host=/nonexistent port=70000\n"
             "pii.key.file = %s\n"
             "kafka.bootstrap.servers = 127.0.0.1:1\n",
             key);
    write_text(conf, body, 0600);
    assert_int_equal(check_config("recorder", dir, conf, out, err), 78);
    expect_in(err, "config: pg.dsn: pg: connection string: port is not a "
                   "number in [1, 65535]\n");
    snprintf(body, sizeof(body),
             "pg.dsn = host=/nonexistent\n"
             "pii.key.file = %s\n"
             "redis.url = redis://127.0.0.1:99999\n"
             "kafka.bootstrap.servers = 127.0.0.1:1\n",
             key);
    write_text(conf, body, 0600);
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(check_config("recorder", dir, conf, out, err), 78);
    expect_in(err, "config: pii.key.file: pii key file ");
    expect_in(err, "mode 0644 lets group or others in");
    assert_int_equal(count_of(err, "config: "), 1);
    write_text(key, "0011\n", 0600);
    assert_int_equal(check_config("recorder", dir, conf, out, err), 78);
    expect_in(err, "config: pii.key.file: pii key file ");
    expect_in(err, "4 characters, need 128 hex digits");
    assert_int_equal(unlink(key), 0);
    assert_int_equal(check_config("recorder", dir, conf, out, err), 78);
    expect_in(err, "No such file or directory");

    assert_int_equal(unlink(conf), 0);
    assert_int_equal(unlink(policy), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_drained_timeout),
        cmocka_unit_test(test_import_limit),
        cmocka_unit_test(test_generate_event_time_range),
        cmocka_unit_test(test_missing_values_and_help),
        cmocka_unit_test(test_worker_config_path),
        cmocka_unit_test(test_worker_check_config),
    };
    return cmocka_run_group_tests_name("it_revisitctl_args", tests, NULL, NULL);
}
