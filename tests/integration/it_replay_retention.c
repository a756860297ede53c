/* tests/integration/it_replay_retention.c: `revisitctl replay verify`
 * when the broker deletes the oldest messages of a partition the replay
 * writes (issue 7; a tester's finding: differing=9, then differing=7, on
 * one range of one record).
 *
 * The development broker (librdkafka's mock cluster) keeps 5 MiB a
 * partition and deletes the oldest message sets past it; a replay's
 * output topics get its default 4 partitions, the live ones 6. Three
 * customers of seed SEED sit on three live partitions of
 * visits.decisions but two of them share a partition of the replay's
 * (CRC-32 of the key modulo 6 and 4: see PREMISE), so that partition
 * gets about twice what any live one holds: past 5 MiB there, under it
 * live. verify used to read its output only once the replay was done,
 * with the first decisions of that partition deleted: "extra" rows, or
 * "differing" ones where a later decision of the same ID was left (a
 * re-imported sale's "not selected: a later purchase is known" in the
 * tester's run), a different count each run. It now reads the output as
 * it is written: all matched, the same text twice.
 *
 * And a range whose history the broker deleted is refused (exit 69):
 * here an export of visits.decisions after 6 MiB more on one partition.
 *
 * On a stack of its own (deploy/local/stack.sh in the build tree): the
 * shared test stack's topics must keep their history for the other
 * replay tests, which now refuse a range the broker no longer holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "it_stack.h"
#include "rv/kafka_lag.h"

#define TEST "it_replay_retention"
#define WORKER_COUNT 6
static const char *const workers[WORKER_COUNT] = {
    "sampler", "assigner", "agentsim", "grader", "alerter", "recorder"};
#define OUT_MAX (256 * 1024)
/* The generated sales: SALES of CUSTOMERS customers from 2003-01-01, 100
 * a day (80 days), and the range verified (all of them). About 0.9 MB
 * of decisions a 1,000 sales for the two customers together. */
#define SEED "11"
#define CUSTOMERS "3"
#define SALES "8000"
#define FROM "2003-01-01T00:00:00Z"
#define TO "2003-06-01T00:00:00Z"
/* PREMISE: keys S11-C0000000, S11-C0000001, S11-C0000002 go to live
 * partitions 0, 2, 4 of 6 and to replay partitions 0, 2, 0 of 4 (CRC-32
 * of the key modulo the count, librdkafka's default partitioner): the
 * first and the third share one. */
#define SHARED_A "S11-C0000000"
#define SHARED_B "S11-C0000002"
/* The broker's limit a partition, and the margins the premise keeps. */
#define BROKER_KEEPS_BYTES (5 * 1024 * 1024)
#define PARTITIONS_MAX 64
/* What the export check adds to one live partition: 6 MiB. */
#define JUNK_BYTES (64 * 1024)
#define JUNK_COUNT 96

static struct {
    const char *build_dir;
    char stack_dir[1024];
    char stack_sh[1024];
    pid_t pids[WORKER_COUNT];
    int started;
} env;

/* Every "export NAME='value'" line of the stack's env file into this
 * process's environment: the workers and revisitctl it runs inherit it,
 * and it_kafka_init reads RV_IT_KAFKA_BROKERS. */
static int load_stack_env(void)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/env", env.stack_dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, TEST ": no %s\n", path);
        return -1;
    }
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "export ", 7) != 0) {
            continue;
        }
        char *name = line + 7, *eq = strchr(name, '=');
        if (eq == NULL) {
            continue;
        }
        *eq = '\0';
        char *value = eq + 1;
        value[strcspn(value, "\n")] = '\0';
        size_t len = strlen(value);
        if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'') {
            value[len - 1] = '\0';
            value++;
        }
        setenv(name, value, 1);
        n++;
    }
    fclose(f);
    return n > 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = it_need(TEST, "RV_BUILD_DIR");
    snprintf(env.stack_dir, sizeof(env.stack_dir), "%s/" TEST "-stack",
             env.build_dir);
    snprintf(env.stack_sh, sizeof(env.stack_sh), "%s/deploy/local/stack.sh",
             it_need(TEST, "RV_SOURCE_DIR"));
    /* The broker's own topic list (6 partitions each), whatever the
     * caller's shell holds. */
    unsetenv("RV_DEVBROKER_TOPICS");
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "'%s' stop '%s' --wipe >/dev/null 2>&1; "
             "RV_BUILD_DIR='%s' '%s' start '%s' >&2",
             env.stack_sh, env.stack_dir, env.build_dir, env.stack_sh,
             env.stack_dir);
    if (system(cmd) != 0 || load_stack_env() != 0) {
        fprintf(stderr, TEST ": cannot start a stack in %s\n", env.stack_dir);
        return -1;
    }
    char policy[1100];
    snprintf(policy, sizeof(policy), "%s/deploy/policy/default.yaml",
             it_need(TEST, "RV_SOURCE_DIR"));
    setenv("RV_POLICY_PATH", policy, 1);
    /* The live workers stop waiting for silent partitions after 2 s, as
     * the replay's do: the record is whole when the pipeline drained. */
    static const char *const worker_env[] = {"RV_WATERMARK_IDLE_MS", "2000",
                                             NULL};
    for (int i = 0; i < WORKER_COUNT; i++) {
        env.pids[i] =
            it_spawn_worker_env(env.build_dir, TEST, workers[i], worker_env);
        if (env.pids[i] < 0) {
            return -1;
        }
        env.started++;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int failures = it_stop_workers(env.pids, workers, env.started);
    char cmd[2200];
    snprintf(cmd, sizeof(cmd), "'%s' stop '%s' --wipe >&2", env.stack_sh,
             env.stack_dir);
    if (system(cmd) != 0) {
        failures++;
    }
    return failures == 0 ? 0 : -1;
}

/* revisitctl replay verify over the range; its stdout into @p out.
 * Returns the exit status. */
static int verify(char *out, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s/workers/revisitctl/revisitctl replay verify --from " FROM
             " --to " TO " --timeout-s 400",
             env.build_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Bytes of the live visits.decisions messages: of the two customers that
 * share a replay partition, and of the fullest live partition; and
 * whether the broker deleted any live message of the topic. */
static void decision_bytes(const it_kafka *k, int64_t *shared,
                           int64_t *live_max, bool *live_deleted)
{
    char err[512] = "";
    rv_kafka_range *r = NULL;
    assert_int_equal(rv_kafka_range_open(&k->props, "visits.decisions", NULL, 0,
                                         10000, &r, err, sizeof(err)),
                     RV_OK);
    int64_t per_part[PARTITIONS_MAX] = {0};
    *shared = 0;
    for (;;) {
        rv_msg m;
        bool done = false;
        assert_int_equal(rv_kafka_range_next(r, 10000, &m, &done), RV_OK);
        if (done) {
            break;
        }
        if (m.partition >= 0 && m.partition < PARTITIONS_MAX) {
            per_part[m.partition] += (int64_t)m.len;
        }
        if ((m.key_len == strlen(SHARED_A) &&
             memcmp(m.key, SHARED_A, m.key_len) == 0) ||
            (m.key_len == strlen(SHARED_B) &&
             memcmp(m.key, SHARED_B, m.key_len) == 0)) {
            *shared += (int64_t)m.len;
        }
    }
    *live_deleted = rv_kafka_range_lost(r) > 0;
    rv_kafka_range_close(r);
    *live_max = 0;
    for (int p = 0; p < PARTITIONS_MAX; p++) {
        *live_max = per_part[p] > *live_max ? per_part[p] : *live_max;
    }
}

static void test_replay_verify_outlives_the_broker_limit(void **state)
{
    (void)state;
    it_kafka k;
    it_kafka_init(&k, TEST);
    const char *gen[] = {"generate",   "--count",   SALES, "--customers",
                         CUSTOMERS,    "--seed",    SEED,  "--start",
                         "2003-01-01", "--per-day", "100", NULL};
    static char out[8192], err[8192];
    int rc = it_run_ctl(env.build_dir, gen, out, err, sizeof(out));
    if (rc != 0) {
        fprintf(stderr, "%s%s", out, err);
    }
    assert_int_equal(rc, 0);
    it_wait_drained(env.build_dir);
    /* The last quota periods and spot checks close on ticks after the
     * inputs are read (watermark.idle.ms above): then drained again. */
    it_sleep_ms(5000);
    it_wait_drained(env.build_dir);

    /* The premise: the live record is whole (nothing deleted live, every
     * live partition under the limit) and the replay's shared partition
     * gets past the limit. */
    int64_t shared = 0, live_max = 0;
    bool live_deleted = true;
    decision_bytes(&k, &shared, &live_max, &live_deleted);
    fprintf(stderr,
            TEST ": decisions of the shared replay partition %lld bytes, "
                 "fullest live partition %lld\n",
            (long long)shared, (long long)live_max);
    assert_false(live_deleted);
    assert_true(live_max < BROKER_KEEPS_BYTES);
    assert_true(shared > BROKER_KEEPS_BYTES + BROKER_KEEPS_BYTES / 5);

    static char a[OUT_MAX], b[OUT_MAX];
    rc = verify(a, sizeof(a));
    if (rc != 0 || strstr(a, "verify: all matched\n") == NULL) {
        fprintf(stderr, "%.*s\n", 4000, a);
    }
    assert_int_equal(rc, 0);
    assert_non_null(strstr(a, "verify: all matched\n"));
    assert_null(strstr(a, "decisions: matched=0 "));
    assert_int_equal(verify(b, sizeof(b)), 0);
    assert_string_equal(a, b);

    /* Now the broker deletes live history: 6 MiB more on the first
     * customer's partition of visits.decisions (bytes no worker can
     * decode: the recorder dead-letters them). An export of the range
     * must say so and stop (exit 69), not start from what is left. */
    rv_producer *kp = NULL;
    char perr[512] = "";
    assert_int_equal(rv_producer_open(&k.props, TEST, &kp, perr, sizeof(perr)),
                     RV_OK);
    uint8_t *junk = calloc(1, JUNK_BYTES);
    assert_non_null(junk);
    for (int i = 0; i < JUNK_COUNT; i++) {
        assert_int_equal(rv_producer_send(kp, "visits.decisions", SHARED_A,
                                          junk, JUNK_BYTES, NULL, 0),
                         RV_OK);
    }
    assert_int_equal(rv_producer_flush(kp, 30000), RV_OK);
    rv_producer_close(kp, 10000);
    free(junk);
    const char *exp[] = {"replay",   "export", "--topic", "visits.decisions",
                         "--from",   FROM,     "--to",    TO,
                         "--format", "ndjson", NULL};
    rc = it_run_ctl(env.build_dir, exp, a, b, sizeof(a));
    if (rc != 69) {
        fprintf(stderr, "%.*s\n", 4000, b);
    }
    assert_int_equal(rc, 69);
    assert_non_null(strstr(b, "the messages before were deleted"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_verify_outlives_the_broker_limit),
    };
    return cmocka_run_group_tests_name(TEST, tests, setup, teardown);
}
