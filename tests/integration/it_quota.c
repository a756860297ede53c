/* tests/integration/it_quota.c: quota sampling end to end (issue 3, R1
 * seed 001 §四): a sampler process with tests/integration/policy_quota.yaml
 * (rule RQ: per store-day 5 / 3 / 2 visits among sales >= 5000 / 3000 /
 * 1500 USD, filled down, then from below) and a recorder; sales for two
 * store-days, a watermark pushed past the day on every partition, then
 * the record must hold exactly the quota's smallest draws, one decision
 * per sale, and a late sale is refused. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_stack.h"

#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/pg.h"
#include "rv/policy.h"
#include "rv/redis.h"

static struct {
    char nonce[24];
    const char *build_dir;
    rv_producer *kp;
    rv_pg *pg;
    rv_policy *policy;
    pid_t pids[2];
    int64_t base_us; /* 12:00 in Los Angeles, later than the topic's past */
    char kafka_name[32], kafka_value[256];
    char *kafka_names[1], *kafka_values[1];
} env;

static const char *need(const char *name)
{
    return it_need("it_quota", name);
}

static pid_t spawn(const char *name)
{
    char bin[1024], log[1024];
    snprintf(bin, sizeof(bin), "%s/workers/%s/revisit-%s", env.build_dir, name,
             name);
    snprintf(log, sizeof(log), "%s/it_quota_%s.log", env.build_dir, name);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    return pid;
}

#define DAY_US (86400LL * 1000000LL)

/* The tests' first day: 2019-06-03, or a week after the latest sale this
 * test's sampler has seen on the stack (a re-run: event time only moves
 * forward, and a past run's clock would close this run's days). */
static int64_t first_day_us(void)
{
    int64_t base = 18050LL * DAY_US + 19LL * 3600 * 1000000; /* 2019-06-03 */
    rv_redis *rc = NULL;
    char err[256] = "";
    if (rv_redis_open(need("RV_IT_REDIS_URL"), 5000, &rc, err, sizeof(err)) !=
        RV_OK) {
        return base;
    }
    const char *argv[] = {"HGETALL", "rv:sampler:watermark"};
    rv_redis_reply r = {0};
    if (rv_redis_command(rc, 2, argv, &r) == RV_OK && r.type == RV_REPLY_STR &&
        r.str != NULL) {
        char *save = NULL;
        for (char *f = strtok_r(r.str, "|", &save); f != NULL;
             f = strtok_r(NULL, "|", &save)) {
            char *v = strtok_r(NULL, "|", &save);
            int64_t t = v != NULL && f[0] == 'p' ? strtoll(v, NULL, 10) : 0;
            if (t + 7 * DAY_US > base) {
                base = (t / DAY_US + 7) * DAY_US + 19LL * 3600 * 1000000;
            }
        }
    }
    rv_redis_replies_fini(&r, 1);
    rv_redis_close(rc);
    return base;
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = need("RV_BUILD_DIR");
    env.base_us = first_day_us();
    char policy[1024], err[512] = "";
    snprintf(policy, sizeof(policy), "%s/tests/integration/policy_quota.yaml",
             need("RV_SOURCE_DIR"));
    const char *brokers = need("RV_IT_KAFKA_BROKERS");
    snprintf(env.nonce, sizeof(env.nonce), "%lx%x",
             (unsigned long)time(NULL) & 0xffffffUL,
             (unsigned)getpid() & 0xfffffu);
    setenv("RV_KAFKA_BOOTSTRAP_SERVERS", brokers, 1);
    setenv("RV_REDIS_URL", need("RV_IT_REDIS_URL"), 1);
    setenv("RV_PG_DSN", need("RV_IT_PG_DSN"), 1);
    setenv("RV_POLICY_PATH", policy, 1);
    setenv("RV_TICK_MS", "200", 1);
    snprintf(env.kafka_name, sizeof(env.kafka_name), "bootstrap.servers");
    snprintf(env.kafka_value, sizeof(env.kafka_value), "%s", brokers);
    env.kafka_names[0] = env.kafka_name;
    env.kafka_values[0] = env.kafka_value;
    rv_props kafka = {1, env.kafka_names, env.kafka_values};
    if (rv_policy_load(policy, &env.policy, err, sizeof(err)) != RV_OK ||
        rv_producer_open(&kafka, "it_quota", &env.kp, err, sizeof(err)) !=
            RV_OK ||
        rv_pg_open(need("RV_IT_PG_DSN"), &env.pg, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "it_quota: %s\n", err);
        return -1;
    }
    /* A sampler of its own group (it reads the topic from the start: the
     * sales of earlier tests become groups of their own, closed too). */
    char group[64];
    snprintf(group, sizeof(group), "it-quota-%s", env.nonce);
    setenv("RV_GROUP_ID", group, 1);
    env.pids[0] = spawn("sampler");
    unsetenv("RV_GROUP_ID");
    env.pids[1] = spawn("recorder");
    return env.pids[0] > 0 && env.pids[1] > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int failures = 0;
    for (int i = 0; i < 2; i++) {
        kill(env.pids[i], SIGTERM);
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        waitpid(env.pids[i], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "it_quota: worker %d ended with status %d\n", i,
                    status);
            failures++;
        }
    }
    rv_producer_close(env.kp, 5000);
    rv_pg_close(env.pg);
    rv_policy_free(env.policy);
    return failures == 0 ? 0 : -1;
}

/* Sale @p name (unique with the nonce) of customer @p customer (NULL:
 * its own) in @p store (branch West), at @p t_us; its event_id into
 * @p id. */
static void send_sale_of(const char *customer, const char *name,
                         const char *store, int64_t cents, int64_t t_us,
                         char id[RV_ID_SIZE])
{
    rv_sale s;
    memset(&s, 0, sizeof(s));
    char base[48];
    snprintf(base, sizeof(base), "%s-%s", name, env.nonce);
    const char *parts[] = {"it_quota", base};
    rv_id_derive(id, 2, parts);
    rv_envelope_fill(&s.env, id, t_us, "it_quota", "");
    rv_copy_str(s.order_id, sizeof(s.order_id), base);
    snprintf(s.customer_id, sizeof(s.customer_id), "q-%.30s-%.20s",
             customer != NULL ? customer : name, env.nonce);
    rv_copy_str(s.branch_id, sizeof(s.branch_id), "West");
    snprintf(s.store_id, sizeof(s.store_id), "%s-%s", store, env.nonce);
    rv_copy_str(s.currency, sizeof(s.currency), "USD");
    rv_copy_str(s.phone, sizeof(s.phone), "5550000003");
    s.phone_synthetic = true;
    s.amount_cents = cents;
    s.line_count = 1;
    it_send_sale(env.kp, &s);
}

static void send_sale(const char *name, const char *store, int64_t cents,
                      int64_t t_us, char id[RV_ID_SIZE])
{
    send_sale_of(NULL, name, store, cents, t_us, id);
}

static int64_t count_sql(const char *sql)
{
    char like[64];
    snprintf(like, sizeof(like), "q-%%-%s", env.nonce);
    const char *params[] = {like};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg, sql, 1, params, &res, err, sizeof(err)),
                     RV_OK);
    int64_t v = strtoll(rv_pg_result_value(res, 0, 0), NULL, 10);
    rv_pg_result_free(res);
    return v;
}

/* Wait (up to 90 s) until @p sql counts @p want. */
static int64_t wait_count(const char *sql, int64_t want)
{
    int64_t got = -1;
    for (int i = 0; i < 900 && got != want; i++) {
        got = count_sql(sql);
        if (got != want) {
            it_sleep_ms(100);
        }
    }
    return got;
}

typedef struct sale {
    char id[RV_ID_SIZE];
    int bucket; /* 2 top, 1 mid, 0 low, 3 below */
    double u;
} sale;

static int by_u(const void *a, const void *b)
{
    double x = ((const sale *)a)->u, y = ((const sale *)b)->u;
    return x < y ? -1 : x > y;
}

/* The IDs the quota must choose: in each bucket the @p take smallest u. */
static size_t expected(sale *s, size_t n, const size_t take[4], char **out)
{
    qsort(s, n, sizeof(*s), by_u);
    size_t k = 0, seen[4] = {0};
    for (size_t i = 0; i < n; i++) {
        if (seen[s[i].bucket]++ < take[s[i].bucket]) {
            out[k++] = s[i].id;
        }
    }
    return k;
}

#define MINE_DECISIONS                                                         \
    "SELECT count(*) FROM decisions WHERE customer_id LIKE $1 AND rule_id = "  \
    "'RQ'"

/* Run one Redis command @p argv (@p argc strings) on the stack's Redis;
 * its reply as text into @p out. */
static void redis_text(size_t argc, const char *const *argv, char *out,
                       size_t size)
{
    rv_redis *rc = NULL;
    char err[256] = "";
    assert_int_equal(
        rv_redis_open(need("RV_IT_REDIS_URL"), 5000, &rc, err, sizeof(err)),
        RV_OK);
    rv_redis_reply r = {0};
    assert_int_equal(rv_redis_command(rc, argc, argv, &r), RV_OK);
    snprintf(out, size, "%s", r.str != NULL ? r.str : "");
    rv_redis_replies_fini(&r, 1);
    rv_redis_close(rc);
}

/* UNLINK commands the stack's Redis has run: the sampler deletes its
 * offers' memos with it once their output is durable. */
static long unlink_calls(void)
{
    static char info[65536];
    const char *argv[] = {"INFO", "commandstats"};
    redis_text(2, argv, info, sizeof(info));
    const char *at = strstr(info, "cmdstat_unlink:calls=");
    return at != NULL ? strtol(at + strlen("cmdstat_unlink:calls="), NULL, 10)
                      : 0;
}

/* Wait (up to 30 s) until no memo key matches @p pattern; how many are
 * left. */
static long wait_memos_gone(const char *pattern)
{
    long left = -1;
    for (int i = 0; i < 300 && left != 0; i++) {
        char keys[4096];
        const char *argv[] = {"KEYS", pattern};
        redis_text(2, argv, keys, sizeof(keys));
        left = keys[0] != '\0';
        if (left != 0) {
            it_sleep_ms(100);
        }
    }
    return left;
}

static void test_quota_takes_the_smallest_draws_and_fills_down(void **state)
{
    (void)state;
    long unlinks = unlink_calls();
    static const int64_t bucket_cents[4] = {200000, 400000, 900000, 50000};
    /* Store A: 12 top, 5 mid, 5 low, 5 below: 5 + 3 + 2 (+ 0 below).
     * Store B: 2 top, 1 mid, 0 low, 20 below: 2 + 1 + 0 + 7 below. */
    static const int per_a[4] = {5, 5, 12, 5}, per_b[4] = {0, 1, 2, 20};
    static const size_t take_a[4] = {2, 3, 5, 0}, take_b[4] = {0, 1, 2, 7};
    sale a[27], b[23];
    size_t na = 0, nb = 0;
    int64_t day = env.base_us; /* 12:00 in Los Angeles */
    for (int bucket = 0; bucket < 4; bucket++) {
        for (int i = 0; i < per_a[bucket]; i++) {
            char name[32];
            snprintf(name, sizeof(name), "A%d-%d", bucket, i);
            send_sale(name, "QA", bucket_cents[bucket] + i, day + i, a[na].id);
            a[na].bucket = bucket;
            a[na].u = rv_hash_unit(env.policy->salt, "RQ", a[na].id);
            na++;
        }
        for (int i = 0; i < per_b[bucket]; i++) {
            char name[32];
            snprintf(name, sizeof(name), "B%d-%d", bucket, i);
            send_sale(name, "QB", bucket_cents[bucket] + i, day + i, b[nb].id);
            b[nb].bucket = bucket;
            b[nb].u = rv_hash_unit(env.policy->salt, "RQ", b[nb].id);
            nb++;
        }
    }
    /* The clock: a sale two days later on every partition (200 customers
     * cover the 6 partitions), so the watermark passes the day's end plus
     * the hour of lateness. */
    for (int i = 0; i < 200; i++) {
        char name[32], id[RV_ID_SIZE];
        snprintf(name, sizeof(name), "T%d", i);
        send_sale(name, "QT", 1000, day + 2 * DAY_US, id);
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);

    /* Every sale of both store-days gets one decision. */
    char like_sql[384];
    snprintf(like_sql, sizeof(like_sql),
             MINE_DECISIONS " AND store_id IN ('QA-%s', 'QB-%s')", env.nonce,
             env.nonce);
    assert_int_equal(wait_count(like_sql, (int64_t)(na + nb)),
                     (int64_t)(na + nb));
    char sel_sql[512];
    snprintf(sel_sql, sizeof(sel_sql), "%s AND outcome = 'selected'", like_sql);
    assert_int_equal(wait_count(sel_sql, 20), 20);

    /* Exactly the expected ones, and each is a task. */
    char *want[40];
    size_t k = expected(a, na, take_a, want);
    k += expected(b, nb, take_b, want + k);
    assert_int_equal(k, 20);
    for (size_t i = 0; i < k; i++) {
        const char *params[] = {want[i]};
        rv_pg_result *res = NULL;
        char err[512] = "";
        assert_int_equal(
            rv_pg_exec(env.pg,
                       "SELECT d.outcome, (SELECT count(*) FROM visit_tasks t "
                       "WHERE t.task_id = d.task_id AND t.rule_id = 'RQ') "
                       "FROM decisions d WHERE d.source_event_id = $1 AND "
                       "d.rule_id = 'RQ'",
                       1, params, &res, err, sizeof(err)),
            RV_OK);
        assert_int_equal(rv_pg_result_rows(res), 1);
        assert_string_equal(rv_pg_result_value(res, 0, 0), "selected");
        rv_pg_result_free(res);
    }
    snprintf(sel_sql, sizeof(sel_sql),
             "SELECT count(*) FROM visit_tasks WHERE customer_id LIKE $1 AND "
             "rule_id = 'RQ' AND store_id IN ('QA-%s', 'QB-%s')",
             env.nonce, env.nonce);
    assert_int_equal(wait_count(sel_sql, 20), 20);

    /* The day has closed: a sale of it arriving now is refused. */
    char late[RV_ID_SIZE];
    send_sale("late", "QA", 900000, day + 100, late);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    char late_sql[256];
    snprintf(late_sql, sizeof(late_sql),
             MINE_DECISIONS " AND source_event_id = '%s' AND outcome = "
                            "'not_selected' AND reason LIKE 'late:%%'",
             late);
    assert_int_equal(wait_count(late_sql, 1), 1);

    /* The offers that pushed a sale out kept memos (their answers, for a
     * re-delivery) until their decisions were durable, then deleted
     * them. */
    assert_true(unlink_calls() > unlinks);
    char pattern[96];
    snprintf(pattern, sizeof(pattern), "rv:ss:quota:*%s*:m:*", env.nonce);
    assert_int_equal(wait_memos_gone(pattern), 0);
}

/* The R7 decision of sale @p id: its outcome, "" if none yet. */
static void churn_outcome(const char *id, char *out, size_t size)
{
    const char *params[] = {id};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg,
                                "SELECT outcome FROM decisions WHERE "
                                "source_event_id = $1 AND rule_id = 'R7'",
                                1, params, &res, err, sizeof(err)),
                     RV_OK);
    snprintf(out, size, "%s",
             rv_pg_result_rows(res) == 1 ? rv_pg_result_value(res, 0, 0) : "");
    rv_pg_result_free(res);
}

/* Wait (up to 90 s) for the R7 decision of @p id to be @p want. */
static void expect_churn(const char *id, const char *want)
{
    char got[32] = "";
    for (int i = 0; i < 900 && strcmp(got, want) != 0; i++) {
        churn_outcome(id, got, sizeof(got));
        if (strcmp(got, want) != 0) {
            it_sleep_ms(100);
        }
    }
    assert_string_equal(got, want);
}

/* R7 (seed 002 no. 10; here one day): the churn visit fires once, a day
 * after the last purchase, and not for a purchase followed by another
 * within the day; a purchase after the day lets the previous one's visit
 * fire at once. */
static void test_churn_fires_once_after_the_last_purchase(void **state)
{
    (void)state;
    int64_t t0 = env.base_us + 7 * DAY_US;
    long unlinks = unlink_calls();
    char x1[RV_ID_SIZE], x2[RV_ID_SIZE], x3[RV_ID_SIZE], y1[RV_ID_SIZE];
    send_sale_of("X", "X1", "QC", 10000, t0, x1);
    send_sale_of("Y", "Y1", "QC", 10000, t0, y1);
    send_sale_of("X", "X2", "QC", 10000, t0 + 12 * 3600000000LL, x2);
    /* Three days later: X2's visit was due two days ago. */
    send_sale_of("X", "X3", "QC", 10000, t0 + (12 + 72) * 3600000000LL, x3);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    expect_churn(x1, "not_selected");
    expect_churn(x2, "selected");
    /* Y1's visit and X3's need the watermark: a sale later than X3 + 1 d
     * + 1 h on every partition. */
    for (int i = 0; i < 200; i++) {
        char name[32], id[RV_ID_SIZE];
        snprintf(name, sizeof(name), "U%d", i);
        send_sale(name, "QU", 1000, t0 + 6 * 24 * 3600000000LL, id);
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    expect_churn(y1, "selected");
    expect_churn(x3, "selected");
    /* Once: one R7 task per chosen purchase, none for X1. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM visit_tasks WHERE customer_id LIKE $1 AND "
             "rule_id = 'R7' AND source_event_id IN ('%s', '%s', '%s', '%s')",
             x1, x2, x3, y1);
    assert_int_equal(wait_count(sql, 3), 3);
    char one[256];
    snprintf(one, sizeof(one),
             "SELECT count(*) FROM decisions WHERE customer_id LIKE $1 AND "
             "rule_id = 'R7' AND source_event_id = '%s'",
             y1);
    assert_int_equal(count_sql(one), 1);
    /* X2's and X3's offers kept their answers (X1's and X2's visits) as
     * memos until those were durable, then deleted them. */
    assert_true(unlink_calls() > unlinks);
    char memo[128];
    snprintf(memo, sizeof(memo), "rv:churn:R7:m:%s", x2);
    assert_int_equal(wait_memos_gone(memo), 0);
    snprintf(memo, sizeof(memo), "rv:churn:R7:m:%s", x3);
    assert_int_equal(wait_memos_gone(memo), 0);
}

/* R6: a sale of 1500 USD or more gets its follow-ups at +7 and +30 days,
 * due from then, and one decision; a smaller sale none. */
static void test_schedule_follow_ups(void **state)
{
    (void)state;
    int64_t t0 = env.base_us + 30 * DAY_US;
    char big[RV_ID_SIZE], small[RV_ID_SIZE];
    send_sale_of("S", "S1", "QS", 200000, t0, big);
    send_sale_of("S", "S2", "QS", 10000, t0 + 3600000000LL, small);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM visit_tasks WHERE customer_id LIKE $1 AND "
             "rule_id = 'R6' AND source_event_id = '%s' AND due_start IN "
             "(to_timestamp(%lld / 1e6), to_timestamp(%lld / 1e6))",
             big, (long long)(t0 + 7 * DAY_US), (long long)(t0 + 30 * DAY_US));
    assert_int_equal(wait_count(sql, 2), 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM decisions WHERE customer_id LIKE $1 AND "
             "rule_id = 'R6' AND ((source_event_id = '%s' AND outcome = "
             "'selected') OR (source_event_id = '%s' AND outcome = "
             "'not_selected'))",
             big, small);
    assert_int_equal(wait_count(sql, 2), 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM visit_tasks WHERE customer_id LIKE $1 AND "
             "rule_id = 'R6' AND source_event_id = '%s'",
             small);
    assert_int_equal(count_sql(sql), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quota_takes_the_smallest_draws_and_fills_down),
        cmocka_unit_test(test_churn_fires_once_after_the_last_purchase),
        cmocka_unit_test(test_schedule_follow_ups),
    };
    return cmocka_run_group_tests_name("it_quota", tests, setup, teardown);
}
