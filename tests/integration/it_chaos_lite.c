/* tests/integration/it_chaos_lite.c: the short form of the chaos run
 * (issue 6). Two replicas each of the sampler and the recorder consume
 * 1,200 sales while a sampler replica is killed with SIGKILL after each
 * of four chunks and started again (consumer groups rebalance every
 * time), a recorder replica is killed once, and a third sampler joins
 * mid-stream and later leaves with SIGTERM (a clean hand-over). The record must
 * then hold exactly the decisions and tasks an oracle computes from the policy
 * with the sampler's own pure function: lost = duplicated = differing = 0.
 * Every sale has a customer of its own, so no cooldown couples them; the
 * other workers run one replica each, so every group drains. */
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
#include "rv/calendar.h"
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"
#include "rv/pg.h"
#include "rv/policy.h"
#include "sampler_rules.h"

#define SALES 1200
#define CHUNKS 4

static struct {
    const char *build_dir;
    char nonce[32], policy[1024];
    rv_producer *kp;
    rv_pg *pg;
    it_kafka k;
    rv_policy *p;
    rv_calendar *cal;
} env;

static int setup(void **state)
{
    (void)state;
    env.build_dir = it_need("it_chaos_lite", "RV_BUILD_DIR");
    it_kafka_init(&env.k, "it_chaos_lite");
    snprintf(env.policy, sizeof(env.policy),
             "%s/tests/integration/policy_it.yaml",
             it_need("it_chaos_lite", "RV_SOURCE_DIR"));
    setenv("RV_REDIS_URL", it_need("it_chaos_lite", "RV_IT_REDIS_URL"), 1);
    setenv("RV_PG_DSN", it_need("it_chaos_lite", "RV_IT_PG_DSN"), 1);
    setenv("RV_POLICY_PATH", env.policy, 1);
    setenv("RV_BATCH_MAX", "50", 1); /* many batches, many commits */
    snprintf(env.nonce, sizeof(env.nonce), "%ld-%d", (long)time(NULL),
             (int)getpid());
    char err[512] = "";
    if (rv_producer_open(&env.k.props, "it_chaos_lite", &env.kp, err,
                         sizeof(err)) != RV_OK ||
        rv_pg_open(getenv("RV_PG_DSN"), &env.pg, err, sizeof(err)) != RV_OK ||
        rv_policy_load(env.policy, &env.p, err, sizeof(err)) != RV_OK ||
        rv_calendar_new(env.p, &env.cal, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "it_chaos_lite: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rv_producer_close(env.kp, 5000);
    rv_pg_close(env.pg);
    rv_calendar_free(env.cal);
    rv_policy_free(env.p);
    return 0;
}

/* Sale @p i: its own customer, amounts across R1's tiers. */
static void make_sale(int i, rv_sale *s)
{
    memset(s, 0, sizeof(*s));
    char name[64], id[RV_ID_SIZE];
    snprintf(name, sizeof(name), "CH%d-%s", i, env.nonce);
    const char *parts[] = {"it_chaos_lite", name};
    rv_id_derive(id, 2, parts);
    char day[16];
    snprintf(day, sizeof(day), "2006-%02d-%02d", 1 + i % 12, 1 + i % 27);
    rv_envelope_fill(&s->env, id, it_day_noon_us(day), "it", "");
    snprintf(s->order_id, sizeof(s->order_id), "%s", name);
    snprintf(s->customer_id, sizeof(s->customer_id), "%s", name);
    snprintf(s->branch_id, sizeof(s->branch_id), "%s",
             i % 3 == 0 ? "East" : "West");
    snprintf(s->store_id, sizeof(s->store_id), "Seattle");
    snprintf(s->currency, sizeof(s->currency), "USD");
    const char *pparts[] = {"phone", name};
    snprintf(s->phone, sizeof(s->phone), "555%07llu",
             (unsigned long long)(rv_hash_u64(2, pparts) % 10000000ULL));
    s->amount_cents = 50000 + (int64_t)(i % 40) * 15000;
    s->line_count = 1;
}

static void send_range(int from, int to)
{
    for (int i = from; i < to; i++) {
        rv_sale s;
        make_sale(i, &s);
        it_send_sale(env.kp, &s);
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
}

static pid_t start(const char *worker, int replica, int generation)
{
    char tag[64];
    snprintf(tag, sizeof(tag), "it_chaos_%s%d_%d", worker, replica, generation);
    return it_spawn_worker(env.build_dir, tag, worker);
}

static void kill9(pid_t pid)
{
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
}

/* "outcome|task" of decision @p id in the record, "" if none; count of
 * rows in *n. */
static void recorded(const char *id, char *out, size_t size, int *n)
{
    const char *params[] = {id};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg,
                                "SELECT outcome || '|' || coalesce(task_id, "
                                "'') FROM decisions WHERE decision_id = $1",
                                1, params, &res, err, sizeof(err)),
                     RV_OK);
    *n = (int)rv_pg_result_rows(res);
    snprintf(out, size, "%s", *n > 0 ? rv_pg_result_value(res, 0, 0) : "");
    rv_pg_result_free(res);
}

static void test_chaos_lite_kill9_replicas_lose_nothing(void **state)
{
    (void)state;
    pid_t samplers[2], recorders[2], rest[4], joiner = 0;
    /* One replica of the rest, so that every group drains and the stack
     * is left as the next test expects. */
    const char *const rest_names[4] = {"assigner", "agentsim", "grader",
                                       "alerter"};
    for (int w = 0; w < 4; w++) {
        rest[w] = start(rest_names[w], 0, 0);
    }
    int gen = 0;
    for (int r = 0; r < 2; r++) {
        samplers[r] = start("sampler", r, gen);
        recorders[r] = start("recorder", r, gen);
    }
    for (int c = 0; c < CHUNKS; c++) {
        send_range(c * SALES / CHUNKS, (c + 1) * SALES / CHUNKS);
        it_sleep_ms(1500); /* mid-stream */
        int victim = c % 2;
        kill9(samplers[victim]);
        samplers[victim] = start("sampler", victim, ++gen);
        if (c == 1) {
            kill9(recorders[1]);
            recorders[1] = start("recorder", 1, gen);
            /* A third sampler joins mid-stream (a rebalance hands it
             * partitions) ... */
            joiner = start("sampler", 2, gen);
        }
        if (c == 2) {
            /* ... and leaves cleanly: it commits what it finished and
             * exits 0 (SIGTERM drains its batch). */
            const char *const jn[] = {"sampler"};
            assert_int_equal(it_stop_workers(&joiner, jn, 1), 0);
        }
    }
    /* Drained: the sampler read every sale, the recorder everything the
     * sampler wrote (only these workers run here). */
    const char *in_s[] = {"sales.events"};
    const char *in_r[] = {"sales.events", "visits.decisions", "visits.tasks"};
    assert_int_equal(it_wait_group_lag(&env.k, "revisit-sampler", in_s, 1, 180),
                     0);
    assert_int_equal(
        it_wait_group_lag(&env.k, "revisit-recorder", in_r, 3, 180), 0);
    it_wait_drained(env.build_dir);
    const char *const names[] = {"sampler",  "sampler",  "recorder", "recorder",
                                 "assigner", "agentsim", "grader",   "alerter"};
    pid_t all[8] = {samplers[0], samplers[1], recorders[0], recorders[1],
                    rest[0],     rest[1],     rest[2],      rest[3]};
    assert_int_equal(it_stop_workers(all, names, 8), 0);

    /* The oracle: the sampler's pure decision of every sale. */
    int lost = 0, duplicated = 0, differing = 0, selected = 0;
    static sampler_decisions dec;
    for (int i = 0; i < SALES; i++) {
        rv_sale s;
        make_sale(i, &s);
        sampler_event ev = {.kind = "sale",
                            .env = &s.env,
                            .customer_id = s.customer_id,
                            .branch_id = s.branch_id,
                            .store_id = s.store_id,
                            .phone = s.phone,
                            .amount_cents = s.amount_cents};
        rv_task task;
        bool sel = false;
        assert_int_equal(sampler_plan(env.p, env.cal, &ev, "oracle", &task,
                                      &sel, NULL, &dec, NULL, 0),
                         RV_OK);
        selected += sel;
        for (size_t d = 0; d < dec.count; d++) {
            char want[160], got[160];
            int n = 0;
            snprintf(want, sizeof(want), "%s|%s",
                     rv_decision_outcome_name(dec.items[d].outcome),
                     dec.items[d].task_id);
            recorded(dec.items[d].decision_id, got, sizeof(got), &n);
            lost += n == 0;
            duplicated += n > 1;
            differing += n == 1 && strcmp(want, got) != 0;
        }
    }
    char like[64], err[512] = "";
    snprintf(like, sizeof(like), "CH%%-%s", env.nonce);
    const char *params[] = {like};
    rv_pg_result *res = NULL;
    assert_int_equal(rv_pg_exec(env.pg,
                                "SELECT (SELECT count(*) FROM sales WHERE "
                                "order_id LIKE $1), (SELECT count(*) FROM "
                                "visit_tasks WHERE customer_id LIKE $1)",
                                1, params, &res, err, sizeof(err)),
                     RV_OK);
    int sales = atoi(rv_pg_result_value(res, 0, 0));
    int tasks = atoi(rv_pg_result_value(res, 0, 1));
    rv_pg_result_free(res);
    printf("chaos-lite: sales=%d tasks=%d expected_tasks=%d lost=%d "
           "duplicated=%d differing=%d\n",
           sales, tasks, selected, lost, duplicated, differing);
    assert_int_equal(sales, SALES);
    assert_int_equal(tasks, selected);
    assert_int_equal(lost, 0);
    assert_int_equal(duplicated, 0);
    assert_int_equal(differing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos_lite_kill9_replicas_lose_nothing),
    };
    return cmocka_run_group_tests_name("it_chaos_lite", tests, setup, teardown);
}
