/* tests/integration/it_recorder_eos.c: the recorder as an exactly-once
 * sink (issue 6). A recorder killed right after a batch's PostgreSQL
 * COMMIT and before its Kafka commit (recorder.crash_after_commits = 1,
 * exit 137 as if killed) leaves the partitions' next offsets in
 * recorder_offsets and nothing committed in Kafka; restarted, it starts
 * where PostgreSQL says and reads no message twice. */
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
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"
#include "rv/pg.h"

static struct {
    const char *build_dir;
    char nonce[32];
    char group[64];
    rv_producer *kp;
    rv_pg *pg;
    it_kafka k;
} env;

static int setup(void **state)
{
    (void)state;
    env.build_dir = it_need("it_recorder_eos", "RV_BUILD_DIR");
    it_kafka_init(&env.k, "it_recorder_eos");
    setenv("RV_PG_DSN", it_need("it_recorder_eos", "RV_IT_PG_DSN"), 1);
    snprintf(env.nonce, sizeof(env.nonce), "%ld-%d", (long)time(NULL),
             (int)getpid());
    snprintf(env.group, sizeof(env.group), "it-eos-%s", env.nonce);
    setenv("RV_GROUP_ID", env.group, 1);
    setenv("RV_TOPICS", "sales.events", 1);
    setenv("RV_LOG_LEVEL", "info", 1);
    char err[512] = "";
    if (rv_producer_open(&env.k.props, "it_recorder_eos", &env.kp, err,
                         sizeof(err)) != RV_OK ||
        rv_pg_open(getenv("RV_PG_DSN"), &env.pg, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "it_recorder_eos: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rv_producer_close(env.kp, 5000);
    rv_pg_close(env.pg);
    return 0;
}

static void send_sale(int i)
{
    rv_sale s;
    memset(&s, 0, sizeof(s));
    char name[64];
    snprintf(name, sizeof(name), "EOS%d-%s", i, env.nonce);
    const char *parts[] = {"it_recorder_eos", name};
    char id[RV_ID_SIZE];
    rv_id_derive(id, 2, parts);
    rv_envelope_fill(&s.env, id, it_day_noon_us("2004-02-10"), "it", "");
    snprintf(s.order_id, sizeof(s.order_id), "%s", name);
    snprintf(s.customer_id, sizeof(s.customer_id), "%s", name);
    snprintf(s.branch_id, sizeof(s.branch_id), "West");
    snprintf(s.store_id, sizeof(s.store_id), "Seattle");
    snprintf(s.currency, sizeof(s.currency), "USD");
    s.amount_cents = 1000 + i;
    it_send_sale(env.kp, &s);
}

static int64_t one_int(const char *sql, const char *param)
{
    const char *params[] = {param};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg, sql, 1, params, &res, err, sizeof(err)),
                     RV_OK);
    int64_t v = strtoll(rv_pg_result_value(res, 0, 0), NULL, 10);
    rv_pg_result_free(res);
    return v;
}

static void lag(int64_t *lag_out, int64_t *messages)
{
    const char *topics[] = {"sales.events"};
    char err[512] = "";
    assert_int_equal(rv_kafka_group_lag(&env.k.props, env.group, topics, 1,
                                        10000, lag_out, messages, err,
                                        sizeof(err)),
                     RV_OK);
}

/* The messages= of the recorder's shutdown_complete line in @p log, -1
 * if none. */
static int64_t shutdown_messages(const char *log, bool *positioned)
{
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[4096];
    int64_t n = -1;
    *positioned = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        *positioned = *positioned || strstr(line, "position_from_sink") != NULL;
        const char *m = strstr(line, "event=shutdown_complete");
        if (m != NULL && (m = strstr(m, " messages=")) != NULL) {
            n = strtoll(m + 10, NULL, 10);
        }
    }
    fclose(f);
    return n;
}

static void
test_recorder_crash_between_commits_reads_nothing_twice(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++) {
        send_sale(i);
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    int64_t before_lag = 0, total = 0;
    lag(&before_lag, &total);
    assert_int_equal(before_lag, total); /* a new group: nothing read */

    /* Run 1: killed right after its first batch's COMMIT. */
    setenv("RV_RECORDER_CRASH_AFTER_COMMITS", "1", 1);
    pid_t pid = it_spawn_worker(env.build_dir, "it_recorder_eos_1", "recorder");
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 137);
    int64_t stored = one_int("SELECT coalesce(sum(next_offset), 0) FROM "
                             "recorder_offsets WHERE group_id = $1",
                             env.group);
    assert_true(stored > 0);
    int64_t after_lag = 0, after_total = 0;
    lag(&after_lag, &after_total);
    /* The batch is in PostgreSQL, Kafka knows nothing of it. */
    assert_int_equal(after_total, total);
    assert_int_equal(after_lag, total);

    /* Run 2: starts where PostgreSQL says. */
    unsetenv("RV_RECORDER_CRASH_AFTER_COMMITS");
    pid = it_spawn_worker(env.build_dir, "it_recorder_eos_2", "recorder");
    const char *topics[] = {"sales.events"};
    assert_int_equal(it_wait_group_lag(&env.k, env.group, topics, 1, 120), 0);
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char log[1200];
    snprintf(log, sizeof(log), "%s/it_recorder_eos_2_recorder.log",
             env.build_dir);
    bool positioned = false;
    int64_t read2 = shutdown_messages(log, &positioned);
    assert_true(positioned);
    /* Every message once: the first run's batch is not read again (the
     * dev broker keeps every partition from offset 0). */
    assert_int_equal(read2, total - stored);
    char like[64];
    snprintf(like, sizeof(like), "EOS%%-%s", env.nonce);
    assert_int_equal(
        one_int("SELECT count(*) FROM sales WHERE order_id LIKE $1", like), 20);
    assert_int_equal(one_int("SELECT coalesce(sum(next_offset), 0) FROM "
                             "recorder_offsets WHERE group_id = $1",
                             env.group),
                     total);
}

/* Issue 6 nos. 3 and 7: PostgreSQL going away under the recorder (its
 * backend killed again and again mid-stream) is not a bad message: the
 * batch is retried, nothing is dead-lettered, nothing skipped, every row
 * once. */
static void test_recorder_backend_killed_retries(void **state)
{
    (void)state;
    char group[96], err[512] = "";
    snprintf(group, sizeof(group), "it-eos-kill-%s", env.nonce);
    setenv("RV_GROUP_ID", group, 1);
    unsetenv("RV_RECORDER_CRASH_AFTER_COMMITS");
    /* Start at the end of sales.events: only this test's sales. */
    int64_t ends[64];
    int count = 0;
    assert_int_equal(rv_kafka_offsets_for_time(&env.k.props, "sales.events", -1,
                                               10000, ends, 64, &count, err,
                                               sizeof(err)),
                     RV_OK);
    assert_int_equal(rv_kafka_group_commit(&env.k.props, group, "sales.events",
                                           ends, count, err, sizeof(err)),
                     RV_OK);
    pid_t pid = it_spawn_worker(env.build_dir, "it_recorder_eos_k", "recorder");
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 10; i++) {
            send_sale(100 + round * 10 + i);
        }
        assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
        /* Kill every other client backend of the database (the
         * recorder's), as an outage would. */
        assert_int_equal(
            rv_pg_exec(env.pg,
                       "SELECT count(pg_terminate_backend(pid)) FROM "
                       "pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND backend_type = "
                       "'client backend'",
                       0, NULL, NULL, err, sizeof(err)),
            RV_OK);
        it_sleep_ms(300);
    }
    const char *topics[] = {"sales.events"};
    assert_int_equal(it_wait_group_lag(&env.k, group, topics, 1, 120), 0);
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char like[64];
    snprintf(like, sizeof(like), "EOS1__-%s", env.nonce);
    assert_int_equal(
        one_int("SELECT count(*) FROM sales WHERE order_id LIKE $1", like), 60);
    char log[1200];
    snprintf(log, sizeof(log), "%s/it_recorder_eos_k_recorder.log",
             env.build_dir);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[4096];
    bool totals = false, retried = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        retried = retried || strstr(line, "pg_batch_failed") != NULL;
        if (strstr(line, "event=recorder_totals") != NULL) {
            totals = true;
            assert_non_null(strstr(line, " dead_lettered=0"));
        }
    }
    fclose(f);
    assert_true(totals);
    (void)retried; /* a kill between batches leaves nothing to retry */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_recorder_crash_between_commits_reads_nothing_twice),
        cmocka_unit_test(test_recorder_backend_killed_retries),
    };
    return cmocka_run_group_tests_name("it_recorder_eos", tests, setup,
                                       teardown);
}
