/* tests/integration/it_pipeline.c: every worker as its own process against
 * the real local stack (development broker, Redis, PostgreSQL), on a small
 * fixed input; checks the exact rows in PostgreSQL, dead-lettering of bad
 * input while the pipeline goes on, and that re-delivery adds no row. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "rv/redis.h"
#include "sampler_cooldown.h"

#define WORKER_COUNT 6
static const char *const workers[WORKER_COUNT] = {
    "sampler", "assigner", "agentsim", "grader", "alerter", "recorder"};

typedef struct it_env {
    const char *build_dir;
    char nonce[32];
    pid_t pids[WORKER_COUNT];
    rv_producer *kp;
    rv_pg *pg;
    rv_redis *rc;
    char policy[1024];
    rv_props kafka;
    char kafka_name[32];
    char kafka_value[512];
    char *kafka_names[1];
    char *kafka_values[1];
} it_env;

static it_env env;

static const char *need(const char *name)
{
    return it_need("it_pipeline", name);
}

static pid_t spawn_worker(const char *name)
{
    return it_spawn_worker(env.build_dir, "it_pipeline", name);
}

/* Every group's lag is zero, twice. */
static void wait_drained(void)
{
    it_wait_drained(env.build_dir);
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = need("RV_BUILD_DIR");
    const char *brokers = need("RV_IT_KAFKA_BROKERS");
    snprintf(env.policy, sizeof(env.policy),
             "%s/tests/integration/policy_it.yaml", need("RV_SOURCE_DIR"));
    setenv("RV_KAFKA_BOOTSTRAP_SERVERS", brokers, 1);
    setenv("RV_REDIS_URL", need("RV_IT_REDIS_URL"), 1);
    setenv("RV_PG_DSN", need("RV_IT_PG_DSN"), 1);
    setenv("RV_POLICY_PATH", env.policy, 1);
    setenv("RV_LOG_LEVEL", "info", 1);
    /* IDs of this run: the stack may have seen other runs. */
    snprintf(env.nonce, sizeof(env.nonce), "%ld-%d", (long)time(NULL),
             (int)getpid());
    snprintf(env.kafka_name, sizeof(env.kafka_name), "bootstrap.servers");
    snprintf(env.kafka_value, sizeof(env.kafka_value), "%s", brokers);
    env.kafka_names[0] = env.kafka_name;
    env.kafka_values[0] = env.kafka_value;
    env.kafka = (rv_props){1, env.kafka_names, env.kafka_values};
    char err[512] = "";
    if (rv_producer_open(&env.kafka, "it_pipeline", &env.kp, err,
                         sizeof(err)) != RV_OK ||
        rv_pg_open(need("RV_IT_PG_DSN"), &env.pg, err, sizeof(err)) != RV_OK ||
        rv_redis_open(need("RV_IT_REDIS_URL"), 5000, &env.rc, err,
                      sizeof(err)) != RV_OK) {
        fprintf(stderr, "it_pipeline: %s\n", err);
        return -1;
    }
    for (int i = 0; i < WORKER_COUNT; i++) {
        env.pids[i] = spawn_worker(workers[i]);
        if (env.pids[i] < 0) {
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int failures = it_stop_workers(env.pids, workers, WORKER_COUNT);
    rv_producer_close(env.kp, 5000);
    rv_pg_close(env.pg);
    rv_redis_close(env.rc);
    return failures == 0 ? 0 : -1;
}

/* ---- input ------------------------------------------------------------ */

static void run_id(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s-%s", name, env.nonce);
}

static int64_t day_noon_us(const char *day)
{
    return it_day_noon_us(day);
}

static void sale_id(char *out, const char *name)
{
    char base[64];
    run_id(base, sizeof(base), name);
    const char *parts[] = {"it", base};
    rv_id_derive(out, 2, parts);
}

/* Sale @p name of @p customer (both made unique per run) into @p out. */
static void make_sale(rv_sale *out, const char *name, const char *customer,
                      const char *branch, int64_t cents, const char *day)
{
    rv_sale s;
    memset(&s, 0, sizeof(s));
    char id[RV_ID_SIZE], cust[64];
    sale_id(id, name);
    run_id(cust, sizeof(cust), customer);
    rv_envelope_fill(&s.env, id, day_noon_us(day), "it_pipeline", "");
    run_id(s.order_id, sizeof(s.order_id), name);
    rv_copy_str(s.customer_id, sizeof(s.customer_id), cust);
    rv_copy_str(s.branch_id, sizeof(s.branch_id), branch);
    rv_copy_str(s.store_id, sizeof(s.store_id), "Seattle");
    rv_copy_str(s.currency, sizeof(s.currency), "USD");
    /* One number per customer: C4 also holds a number two customers
     * share (it_scripts tests that). */
    const char *pparts[] = {"phone", cust};
    snprintf(s.phone, sizeof(s.phone), "555%07llu",
             (unsigned long long)(rv_hash_u64(2, pparts) % 10000000ULL));
    s.phone_synthetic = true;
    s.amount_cents = cents;
    s.line_count = 1;
    *out = s;
}

static void send_sale(const char *name, const char *customer,
                      const char *branch, int64_t cents, const char *day)
{
    rv_sale s;
    make_sale(&s, name, customer, branch, cents, day);
    it_send_sale(env.kp, &s);
}

/* @p s on sales.events keyed by @p key (NULL: no key), whatever its
 * customer: producers key by customer_id, this one may not. */
static void send_sale_keyed(const rv_sale *s, const char *key)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_sale(s, &buf, &len), RV_OK);
    assert_int_equal(
        rv_producer_send(env.kp, "sales.events", key, buf, len, NULL, 0),
        RV_OK);
    free(buf);
}

static void send_complaint_at(const char *name, const char *customer,
                              const char *branch, int64_t t_us);

static void send_complaint(const char *name, const char *customer,
                           const char *branch, const char *day)
{
    send_complaint_at(name, customer, branch, day_noon_us(day));
}

static void send_complaint_at(const char *name, const char *customer,
                              const char *branch, int64_t t_us)
{
    rv_work_order w;
    memset(&w, 0, sizeof(w));
    char id[RV_ID_SIZE], cust[64];
    sale_id(id, name);
    run_id(cust, sizeof(cust), customer);
    rv_envelope_fill(&w.env, id, t_us, "it_pipeline", "");
    run_id(w.work_order_id, sizeof(w.work_order_id), name);
    w.kind = RV_WORK_ORDER_COMPLAINT;
    rv_copy_str(w.customer_id, sizeof(w.customer_id), cust);
    rv_copy_str(w.branch_id, sizeof(w.branch_id), branch);
    rv_copy_str(w.store_id, sizeof(w.store_id), "Seattle");
    rv_copy_str(w.phone, sizeof(w.phone), "5550000002");
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_work_order(&w, &buf, &len), RV_OK);
    assert_int_equal(rv_producer_send(env.kp, "service.events", w.customer_id,
                                      buf, len, NULL, 0),
                     RV_OK);
    free(buf);
}

/* The fixed input: A buys three times (the second inside the 7-day
 * cooldown, C4), B buys small (R1 rate 0 below 1500 USD) and complains
 * (R5), C buys big in the East. */
static void send_fixed_input(void)
{
    send_sale("S1", "A", "West", 200000, "2016-03-01");
    send_sale("S2", "A", "West", 300000, "2016-03-03");
    send_sale("S3", "A", "West", 160000, "2016-03-15");
    send_sale("S4", "B", "West", 10000, "2016-03-01");
    send_sale("S5", "C", "East", 900000, "2016-03-01");
    send_complaint("W1", "B", "West", "2016-03-02");
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
}

/* ---- PostgreSQL helpers ----------------------------------------------- */

static int64_t count(const char *sql)
{
    char like[64];
    snprintf(like, sizeof(like), "%%-%s", env.nonce);
    const char *params[] = {like};
    rv_pg_result *res = NULL;
    char err[512] = "";
    if (rv_pg_exec(env.pg, sql, 1, params, &res, err, sizeof(err)) != RV_OK) {
        fail_msg("sql failed: %s (%s)", err, sql);
    }
    int64_t n = strtoll(rv_pg_result_value(res, 0, 0), NULL, 10);
    rv_pg_result_free(res);
    return n;
}

#define MINE "customer_id LIKE $1"

/* count(*) of @p sql with its own @p n text parameters. */
static int64_t count_of(const char *sql, int n, const char *const *params)
{
    rv_pg_result *res = NULL;
    char err[512] = "";
    if (rv_pg_exec(env.pg, sql, n, params, &res, err, sizeof(err)) != RV_OK) {
        fail_msg("sql failed: %s (%s)", err, sql);
    }
    int64_t v = strtoll(rv_pg_result_value(res, 0, 0), NULL, 10);
    rv_pg_result_free(res);
    return v;
}

typedef struct counts {
    int64_t sales, work_orders, tasks, retries, assignments, outcomes, grades,
        alerts;
} counts;

static counts all_counts(void)
{
    return (counts){
        count("SELECT count(*) FROM sales WHERE " MINE),
        count("SELECT count(*) FROM work_orders WHERE " MINE),
        count("SELECT count(*) FROM visit_tasks WHERE " MINE),
        count("SELECT count(*) FROM task_retries WHERE " MINE),
        count("SELECT count(*) FROM assignments WHERE " MINE),
        count("SELECT count(*) FROM outcomes WHERE " MINE),
        count("SELECT count(*) FROM grades WHERE " MINE),
        count("SELECT count(*) FROM alerts WHERE " MINE),
    };
}

static void expect_task(const char *event, const char *rule,
                        const char *due_start, const char *due_end)
{
    char ev[RV_ID_SIZE], task[RV_ID_SIZE];
    sale_id(ev, event);
    const char *parts[] = {ev, rule};
    rv_id_derive(task, 2, parts);
    const char *params[] = {task, rule, due_start, due_end};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(
        rv_pg_exec(env.pg,
                   "SELECT count(*) FROM visit_tasks WHERE task_id = $1 "
                   "AND rule_id = $2 AND due_start = $3::timestamptz "
                   "AND due_end = $4::timestamptz AND attempt = 1",
                   4, params, &res, err, sizeof(err)),
        RV_OK);
    if (strcmp(rv_pg_result_value(res, 0, 0), "1") != 0) {
        rv_pg_result_free(res);
        fail_msg("task of %s/%s with due window [%s, %s) not recorded", event,
                 rule, due_start, due_end);
    }
    rv_pg_result_free(res);
}

/* The decision of rule @p rule on sale @p event has outcome @p outcome. */
static void expect_decision(const char *event, const char *rule,
                            const char *outcome)
{
    char ev[RV_ID_SIZE], id[RV_ID_SIZE];
    sale_id(ev, event);
    const char *parts[] = {ev, rule, "decision"};
    rv_id_derive(id, 3, parts);
    const char *params[] = {id, ev, rule};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg,
                                "SELECT outcome FROM decisions WHERE "
                                "decision_id = $1 AND source_event_id = $2 "
                                "AND rule_id = $3",
                                3, params, &res, err, sizeof(err)),
                     RV_OK);
    const char *got =
        rv_pg_result_rows(res) == 1 ? rv_pg_result_value(res, 0, 0) : "none";
    if (strcmp(got, outcome) != 0) {
        char copy[64];
        snprintf(copy, sizeof(copy), "%s", got);
        rv_pg_result_free(res);
        fail_msg("decision of %s/%s is %s, want %s", event, rule, copy,
                 outcome);
    }
    rv_pg_result_free(res);
}

/* ---- tests ------------------------------------------------------------ */

static void test_pipeline_fixed_input_gives_exact_rows(void **state)
{
    (void)state;
    send_fixed_input();
    wait_drained();
    counts c = all_counts();
    assert_int_equal(c.sales, 5);
    assert_int_equal(c.work_orders, 1);
    /* S1, S3 and S5 by R1; W1 by R5; S2 falls in A's cooldown; S4 is
     * below the sampled tier. */
    assert_int_equal(c.tasks, 4);
    /* Issue 3: one decision per (event, rule) evaluated, each telling
     * what became of it; the selected ones are exactly the tasks. */
    assert_int_equal(count("SELECT count(*) FROM decisions WHERE " MINE), 6);
    expect_decision("S1", "R1", "selected");
    expect_decision("S2", "R1", "suppressed_cooldown");
    expect_decision("S3", "R1", "selected");
    expect_decision("S4", "R1", "not_selected");
    expect_decision("S5", "R1", "selected");
    assert_int_equal(count("SELECT count(*) FROM decisions d JOIN visit_tasks "
                           "t USING (task_id) WHERE d." MINE " AND d.outcome "
                           "= 'selected' AND d.u = t.sample_u"),
                     4);
    /* West, sale Tue 2016-03-01: due Wed 03-02 .. Tue 03-08 (5 working
     * days) in America/Los_Angeles (UTC-8). */
    expect_task("S1", "R1", "2016-03-02 08:00:00+00", "2016-03-09 08:00:00+00");
    /* West, Tue 2016-03-15 is after the daylight-saving change (UTC-7). */
    expect_task("S3", "R1", "2016-03-16 07:00:00+00", "2016-03-23 07:00:00+00");
    /* East, America/New_York (UTC-5). */
    expect_task("S5", "R1", "2016-03-02 05:00:00+00", "2016-03-09 05:00:00+00");
    /* R5: within 72 hours of the complaint. */
    expect_task("W1", "R5", "2016-03-02 12:00:00+00", "2016-03-05 12:00:00+00");
    /* Every attempt is booked, inside its due window, in a call window. */
    assert_int_equal(c.assignments, c.tasks + c.retries);
    assert_int_equal(count("SELECT count(*) FROM assignments WHERE " MINE
                           " AND status = 'assigned' AND agent_id IS NOT NULL"),
                     c.assignments);
    assert_int_equal(
        count("SELECT count(*) FROM assignments a JOIN visit_tasks t "
              "USING (task_id) WHERE a." MINE " AND (a.window_start < "
              "t.due_start OR a.window_end > t.due_end)"),
        0);
    /* Every booked attempt is called, every call graded; each retry
     * follows a graded first attempt (C2), never a third attempt. */
    assert_int_equal(c.outcomes, c.assignments);
    assert_int_equal(c.grades, c.outcomes);
    assert_int_equal(c.retries, count("SELECT count(*) FROM grades WHERE " MINE
                                      " AND verdict = 'retry'"));
    assert_int_equal(
        count("SELECT count(*) FROM grades WHERE " MINE " AND attempt > 2"), 0);
    /* Each task ends with one final verdict. */
    assert_int_equal(
        count("SELECT count(DISTINCT task_id) FROM grades WHERE " MINE
              " AND verdict IN ('success', 'failed')"),
        c.tasks);
    /* A1: one alert per "yes" to a compliance question. */
    int64_t a1 = count(
        "SELECT count(*) FROM grades g, jsonb_array_elements(g.compliance)"
        " e WHERE g." MINE " AND e->>'value' = 'yes'");
    assert_int_equal(count("SELECT count(*) FROM alerts WHERE " MINE
                           " AND kind LIKE 'A1.%' AND NOT suspected"),
                     a1);
    /* Issue 5: one data-quality alert per wrong or dead number. */
    int64_t dq = count("SELECT count(*) FROM grades WHERE " MINE
                       " AND disposition IN ('wrong_number', "
                       "'out_of_service')");
    assert_int_equal(count("SELECT count(*) FROM alerts WHERE " MINE
                           " AND kind = 'data_quality.phone'"),
                     dq);
    /* G4: one case to answer per dissatisfied customer. A5: one finding
     * per successful phone visit under the policy's 30 s. */
    int64_t g4 = count("SELECT count(*) FROM grades WHERE " MINE
                       " AND band = 'dissatisfied'");
    assert_int_equal(count("SELECT count(*) FROM alerts WHERE " MINE
                           " AND kind = 'G4.dissatisfied'"),
                     g4);
    int64_t short_calls =
        count("SELECT count(*) FROM grades g JOIN outcomes o USING "
              "(outcome_id) WHERE g." MINE " AND g.verdict = 'success' AND "
              "o.talk_time_s < 30");
    assert_int_equal(count("SELECT count(*) FROM alerts WHERE " MINE
                           " AND kind = 'quality.short_call'"),
                     short_calls);
    int64_t findings = count("SELECT count(*) FROM alerts WHERE " MINE
                             " AND kind <> 'escalation'");
    assert_int_equal(findings, a1 + dq + g4 + short_calls);
    /* A3: every finding is in a case, recorded; A2: every case's deadline
     * (2016) is long past on the live clock, so each escalates once. */
    assert_int_equal(count("SELECT count(*) FROM alerts a WHERE a." MINE
                           " AND kind <> 'escalation' AND NOT EXISTS "
                           "(SELECT 1 FROM cases c WHERE c.case_id = "
                           "a.case_id)"),
                     0);
    int64_t cases = count("SELECT count(*) FROM cases WHERE " MINE
                          " AND deadline IS NOT NULL");
    int64_t escalations = 0;
    for (int i = 0; i < 100; i++) { /* the next ticks raise them: <= 10 s */
        escalations = count("SELECT count(*) FROM alerts WHERE " MINE
                            " AND kind = 'escalation'");
        if (escalations == cases) {
            break;
        }
        it_sleep_ms(100);
    }
    assert_int_equal(escalations, cases);
    /* Each escalation happened at its case's deadline. */
    assert_int_equal(count("SELECT count(*) FROM alerts e JOIN cases c USING "
                           "(case_id) WHERE e." MINE " AND e.kind = "
                           "'escalation' AND e.occurred_at = c.deadline"),
                     cases);
    /* A2: every finding opens a case due after it was raised (an
     * escalation has no deadline of its own). */
    assert_int_equal(
        count("SELECT count(*) FROM alerts WHERE " MINE
              " AND kind NOT IN ('capacity', 'escalation') AND (deadline IS "
              "NULL OR deadline <= "
              "occurred_at)"),
        0);
}

static void test_pipeline_bad_message_goes_to_dlq_and_rest_flows(void **state)
{
    (void)state;
    char key[64];
    run_id(key, sizeof(key), "D");
    const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01};
    assert_int_equal(rv_producer_send(env.kp, "sales.events", key, junk,
                                      sizeof(junk), NULL, 0),
                     RV_OK);
    assert_int_equal(rv_producer_send(env.kp, "visits.outcomes", key, junk,
                                      sizeof(junk), NULL, 0),
                     RV_OK);
    send_sale("S6", "D", "West", 500000, "2016-04-05");
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    wait_drained();
    const char *params[] = {key};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(
        rv_pg_exec(env.pg,
                   "SELECT source_topic, reason FROM dead_letters WHERE "
                   "key = convert_to($1, 'UTF8') ORDER BY source_topic",
                   1, params, &res, err, sizeof(err)),
        RV_OK);
    assert_int_equal(rv_pg_result_rows(res), 2);
    assert_string_equal(rv_pg_result_value(res, 0, 0), "sales.events");
    assert_non_null(strstr(rv_pg_result_value(res, 0, 1), "sale"));
    assert_string_equal(rv_pg_result_value(res, 1, 0), "visits.outcomes");
    assert_non_null(strstr(rv_pg_result_value(res, 1, 1), "outcome"));
    rv_pg_result_free(res);
    /* The valid sale after the bad one went all the way through. */
    assert_int_equal(count("SELECT count(*) FROM visit_tasks WHERE "
                           "customer_id = 'D-' || split_part($1, '%-', 2)"),
                     1);
}

/* Tester finding 7: a sale keyed by something other than its customer ID
 * (here its order ID) and a sale with no key at all go to
 * sales.events.dlq with the reason, exactly as a sale that does not
 * decode: neither is sampled nor recorded as a sale. The customer's good
 * sale behind them goes all the way through. */
static void test_pipeline_mis_keyed_sale_is_dead_lettered(void **state)
{
    (void)state;
    rv_sale bad, unkeyed, good;
    make_sale(&bad, "K1", "K", "West", 500000, "2016-04-07");
    make_sale(&unkeyed, "K2", "K", "West", 500000, "2016-04-07");
    make_sale(&good, "K3", "K", "West", 500000, "2016-04-08");
    send_sale_keyed(&bad, bad.order_id);
    send_sale_keyed(&unkeyed, NULL);
    send_sale_keyed(&good, good.customer_id);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    wait_drained();

    /* One dead letter each (the sampler and the recorder both reject
     * it; the record keeps one), with the key as sent and the reason. */
    char wrong[256], missing[256];
    snprintf(wrong, sizeof(wrong),
             "sales.events: Kafka key \"%s\" is not the message's "
             "customer_id \"%s\"",
             bad.order_id, bad.customer_id);
    snprintf(missing, sizeof(missing),
             "sales.events: Kafka key missing, must be the message's "
             "customer_id \"%s\"",
             unkeyed.customer_id);
    const char *wrong_params[] = {wrong, bad.order_id};
    assert_int_equal(count_of("SELECT count(*) FROM dead_letters WHERE "
                              "source_topic = 'sales.events' AND dlq_topic = "
                              "'sales.events.dlq' AND reason = $1 AND key = "
                              "convert_to($2, 'UTF8')",
                              2, wrong_params),
                     1);
    const char *missing_params[] = {missing};
    assert_int_equal(count_of("SELECT count(*) FROM dead_letters WHERE "
                              "source_topic = 'sales.events' AND dlq_topic = "
                              "'sales.events.dlq' AND reason = $1 AND key IS "
                              "NULL",
                              1, missing_params),
                     1);
    /* Nothing of the two went further. */
    const char *ids[] = {bad.env.event_id, unkeyed.env.event_id};
    assert_int_equal(count_of("SELECT count(*) FROM sales WHERE event_id IN "
                              "($1, $2)",
                              2, ids),
                     0);
    assert_int_equal(count_of("SELECT count(*) FROM decisions WHERE "
                              "source_event_id IN ($1, $2)",
                              2, ids),
                     0);
    /* The good sale after them: recorded, decided and visited. */
    const char *good_params[] = {good.env.event_id, good.customer_id};
    assert_int_equal(count_of("SELECT count(*) FROM sales WHERE event_id = $1 "
                              "AND customer_id = $2",
                              2, good_params),
                     1);
    assert_int_equal(count_of("SELECT count(*) FROM visit_tasks WHERE "
                              "source_event_id = $1 AND customer_id = $2",
                              2, good_params),
                     1);
}

/* A sale of 2099 sent today is dead-lettered by the sampler with the
 * reason (sampler.max.ahead.ms), no rule decides on it, and the sales'
 * event-time watermark does not jump to 2099: once the other partitions
 * had been silent for watermark.idle.ms it closed every open quota
 * period and churn clock at once, which a replay (holding silent
 * partitions) did not do. The customer's next sale goes through. */
static char *redis_str(size_t argc, const char *const *argv);

static void test_pipeline_far_future_sale_is_dead_lettered(void **state)
{
    (void)state;
    send_sale("F1", "F", "West", 500000, "2099-12-30");
    send_sale("F2", "F", "West", 500000, "2016-04-06");
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    wait_drained();
    assert_int_equal(count("SELECT count(*) FROM dead_letters WHERE "
                           "convert_from(key, 'UTF8') LIKE $1 AND "
                           "convert_from(key, 'UTF8') LIKE 'F-%' AND "
                           "source_topic = 'sales.events' AND reason LIKE "
                           "'%past sampler.max.ahead.ms%'"),
                     1);
    assert_int_equal(count("SELECT count(*) FROM decisions WHERE " MINE
                           " AND customer_id LIKE 'F-%' AND occurred_at >= "
                           "'2099-01-01'"),
                     0);
    assert_true(count("SELECT count(*) FROM decisions WHERE " MINE
                      " AND customer_id LIKE 'F-%'") > 0);
    const char *argv[] = {"HGETALL", "rv:sampler:watermark"};
    char *wm = redis_str(2, argv); /* "p0|t|w0|wall|...|c|..." */
    assert_non_null(wm);
    char *save = NULL;
    for (char *f = strtok_r(wm, "|", &save); f != NULL;
         f = strtok_r(NULL, "|", &save)) {
        char *v = strtok_r(NULL, "|", &save);
        assert_non_null(v);
        if (f[0] == 'p') {
            assert_true(strtoll(v, NULL, 10) < day_noon_us("2099-01-01"));
        }
    }
    free(wm);
}

/* Issue 4 shortfall: a complaint closed Friday 2016-07-01 16:00 in the
 * West must be visited within 72 h (R5), but the weekend and Independence
 * Day leave no call window: the task is recorded unassigned with the
 * reason, and the supervisors get a capacity alert. */
static void test_pipeline_shortfall_is_recorded_and_alerted(void **state)
{
    (void)state;
    int64_t fri_16_pdt = day_noon_us("2016-07-01") + 11LL * 3600 * 1000000;
    send_complaint_at("W9", "E", "West", fri_16_pdt);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    wait_drained();
    assert_int_equal(count("SELECT count(*) FROM assignments WHERE "
                           "customer_id = 'E' || substr($1, 2) AND "
                           "status = 'unassigned' AND reason LIKE "
                           "'no call window inside the due window%'"),
                     1);
    assert_int_equal(count("SELECT count(*) FROM alerts WHERE "
                           "customer_id = 'E' || substr($1, 2) AND "
                           "kind = 'capacity' AND route_to = "
                           "'call_centre_supervisor'"),
                     1);
}

static void test_pipeline_redelivery_adds_no_row(void **state)
{
    (void)state;
    counts before = all_counts();
    int64_t dlq_before = count("SELECT count(*) FROM dead_letters WHERE "
                               "convert_from(key, 'UTF8') LIKE $1");
    send_fixed_input(); /* the same events, the same IDs, again */
    send_fixed_input();
    wait_drained();
    counts after = all_counts();
    assert_memory_equal(&before, &after, sizeof(before));
    assert_int_equal(count("SELECT count(*) FROM dead_letters WHERE "
                           "convert_from(key, 'UTF8') LIKE $1"),
                     dlq_before);
}

/* ---- Redis state ------------------------------------------------------ */

typedef struct kv_list {
    char **items; /* "key=value", sorted */
    size_t count;
} kv_list;

static char *redis_str(size_t argc, const char *const *argv)
{
    rv_redis_reply r;
    assert_int_equal(rv_redis_command(env.rc, argc, argv, &r), RV_OK);
    char *s = r.type == RV_REPLY_STR ? strdup(r.str) : NULL;
    rv_redis_replies_fini(&r, 1);
    return s;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void kv_add(kv_list *l, size_t *cap, const char *key, const char *value)
{
    if (l->count == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        l->items = realloc(l->items, *cap * sizeof(*l->items));
        assert_non_null(l->items);
    }
    size_t n = strlen(key) + strlen(value) + 2;
    l->items[l->count] = malloc(n);
    assert_non_null(l->items[l->count]);
    snprintf(l->items[l->count++], n, "%s=%s", key, value);
}

/* Every assigner key of the policy's pools, with its value: a booking
 * as "key=label", a day's counters hash (":cap:") as one
 * "key#field=count" a field, since a hash's field order is its writer's. */
static kv_list assigner_state(void)
{
    static const char *const pools[] = {"West", "East", "Central", "South"};
    kv_list l = {0};
    size_t cap = 0;
    for (size_t p = 0; p < 4; p++) {
        char pattern[64];
        snprintf(pattern, sizeof(pattern), "rv:{%s}:*", pools[p]);
        char cursor[32] = "0";
        do {
            const char *scan[] = {"SCAN",  cursor,  "MATCH",
                                  pattern, "COUNT", "1000"};
            char *reply = redis_str(6, scan); /* "cursor|key|key..." */
            assert_non_null(reply);
            char *save = NULL;
            char *tok = strtok_r(reply, "|", &save);
            snprintf(cursor, sizeof(cursor), "%s", tok);
            while ((tok = strtok_r(NULL, "|", &save)) != NULL) {
                if (strstr(tok, ":cap:") == NULL) {
                    const char *get[] = {"GET", tok};
                    char *value = redis_str(2, get);
                    assert_non_null(value);
                    kv_add(&l, &cap, tok, value);
                    free(value);
                    continue;
                }
                const char *hgetall[] = {"HGETALL", tok};
                char *fields = redis_str(2, hgetall); /* "f|v|f|v..." */
                assert_non_null(fields);
                char *fsave = NULL;
                for (char *f = strtok_r(fields, "|", &fsave); f != NULL;
                     f = strtok_r(NULL, "|", &fsave)) {
                    char *v = strtok_r(NULL, "|", &fsave);
                    assert_non_null(v);
                    char key[512];
                    snprintf(key, sizeof(key), "%s#%s", tok, f);
                    kv_add(&l, &cap, key, v);
                }
                free(fields);
            }
            free(reply);
        } while (strcmp(cursor, "0") != 0);
    }
    if (l.count > 0) {
        qsort(l.items, l.count, sizeof(*l.items), cmp_item);
    }
    return l;
}

static void kv_list_free(kv_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i]);
    }
    free(l->items);
}

/* Issue 4 rebuild: after FLUSHALL and `revisitctl rebuild-state`, every
 * booking and capacity counter equals what it was. Runs last: it wipes
 * the sampler's cooldowns too. */
/* The decisions of one run's interleaving test, as text: one line per
 * decision (id, outcome, u, rate, reason, task) in ID order. */
static char *decision_text(void)
{
    char like[64];
    snprintf(like, sizeof(like), "I_-%s", env.nonce);
    const char *params[] = {like};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(
        rv_pg_exec(env.pg,
                   "SELECT coalesce(string_agg(decision_id || ' ' || outcome "
                   "|| ' ' || u || ' ' || rate || ' ' || reason || ' ' || "
                   "coalesce(task_id, '') || ' ' || policy_version, E'\\n' "
                   "ORDER BY decision_id COLLATE \"C\"), '') FROM decisions "
                   "WHERE customer_id LIKE $1",
                   1, params, &res, err, sizeof(err)),
        RV_OK);
    char *text = strdup(rv_pg_result_value(res, 0, 0));
    rv_pg_result_free(res);
    assert_non_null(text);
    return text;
}

/* Issue 3: the same events in two interleavings across partitions (each
 * customer's own order kept, as Kafka keeps it) give identical decisions,
 * byte for byte. Between the runs the record's decisions and the
 * customers' cooldown state (C4) are removed, so the second run decides
 * afresh rather than repeating the first. */
static void test_pipeline_decisions_do_not_depend_on_interleaving(void **state)
{
    (void)state;
    enum { CUSTOMERS = 6, SALES = 4 };
    static const char *const days[SALES] = {"2016-05-02", "2016-05-05",
                                            "2016-05-20", "2016-05-24"};
    static const int64_t cents[SALES] = {200000, 400000, 10000, 160000};
    char names[CUSTOMERS][SALES][16], customers[CUSTOMERS][8];
    for (int c = 0; c < CUSTOMERS; c++) {
        snprintf(customers[c], sizeof(customers[c]), "I%d", c);
        for (int k = 0; k < SALES; k++) {
            snprintf(names[c][k], sizeof(names[c][k]), "I%d-S%d", c, k);
        }
    }
    /* A: customer by customer. */
    for (int c = 0; c < CUSTOMERS; c++) {
        for (int k = 0; k < SALES; k++) {
            send_sale(names[c][k], customers[c], c % 2 ? "East" : "West",
                      cents[k] + c, days[k]);
        }
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    wait_drained();
    char *a = decision_text();

    char like[64];
    snprintf(like, sizeof(like), "I_-%s", env.nonce);
    const char *params[] = {like};
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg,
                                "DELETE FROM decisions WHERE customer_id "
                                "LIKE $1",
                                1, params, NULL, err, sizeof(err)),
                     RV_OK);
    for (int c = 0; c < CUSTOMERS; c++) {
        char cust[64], cd[SAMPLER_KEY_SIZE], opt[SAMPLER_KEY_SIZE],
            ph[SAMPLER_KEY_SIZE], phone[RV_PHONE_SIZE];
        run_id(cust, sizeof(cust), customers[c]);
        sampler_cooldown_keys(cust, cd, opt);
        const char *pparts[] = {"phone", cust};
        snprintf(phone, sizeof(phone), "555%07llu",
                 (unsigned long long)(rv_hash_u64(2, pparts) % 10000000ULL));
        sampler_phone_key(cust, phone, ph);
        char visits[SAMPLER_KEY_SIZE];
        sampler_visits_key(cust, visits);
        const char *argv[] = {"DEL", cd, ph, visits};
        rv_redis_reply r = {0};
        assert_int_equal(rv_redis_command(env.rc, 4, argv, &r), RV_OK);
        rv_redis_replies_fini(&r, 1);
    }
    /* B: round robin over the customers, last customer first. */
    for (int k = 0; k < SALES; k++) {
        for (int c = CUSTOMERS - 1; c >= 0; c--) {
            send_sale(names[c][k], customers[c], c % 2 ? "East" : "West",
                      cents[k] + c, days[k]);
        }
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    wait_drained();
    char *b = decision_text();

    /* Every sale of the set was decided, and not trivially: selected,
     * held back by the cooldown and not selected all occur. */
    size_t lines = 1;
    for (const char *p = a; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    assert_int_equal(lines, CUSTOMERS * SALES);
    assert_non_null(strstr(a, " selected "));
    assert_non_null(strstr(a, " suppressed_cooldown "));
    assert_non_null(strstr(a, " not_selected "));
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_pipeline_rebuild_state_restores_redis(void **state)
{
    (void)state;
    wait_drained();
    kv_list before = assigner_state();
    assert_true(before.count > 0);
    const char *flush[] = {"FLUSHALL"};
    free(redis_str(1, flush));
    kv_list empty = assigner_state();
    assert_int_equal(empty.count, 0);
    kv_list_free(&empty);
    char cmd[2400];
    snprintf(cmd, sizeof(cmd),
             "%s/workers/revisitctl/revisitctl rebuild-state --policy %s"
             " >/dev/null",
             env.build_dir, env.policy);
    assert_int_equal(system(cmd), 0);
    kv_list after = assigner_state();
    assert_int_equal(after.count, before.count);
    for (size_t i = 0; i < before.count; i++) {
        assert_string_equal(after.items[i], before.items[i]);
    }
    kv_list_free(&before);
    kv_list_free(&after);
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/* True if @p text holds a word of 10 or more digits alone (a phone
 * number: the test's "555" + 7 digits, or a mainland mobile's 11); digits
 * inside a hex ID do not count. */
static bool has_phone_number(const char *text)
{
    for (const char *c = text; *c != '\0'; c++) {
        if (!(*c >= '0' && *c <= '9') || (c > text && is_alnum(c[-1]))) {
            continue;
        }
        const char *e = c;
        while (*e >= '0' && *e <= '9') {
            e++;
        }
        if (e - c >= 10 && !is_alnum(*e)) {
            return true;
        }
        c = e - 1;
    }
    return false;
}

/* Issue 6, PII: no worker's log holds a phone number (they log masked
 * numbers or none). Values that are long numbers by nature (µs and ms
 * times, offsets) and the run's nonce are blanked before the scan. */
static void test_pipeline_logs_hold_no_phone_number(void **state)
{
    (void)state;
    size_t lines = 0;
    for (int i = 0; i < WORKER_COUNT; i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/it_pipeline_%s.log", env.build_dir,
                 workers[i]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char line[8192];
        while (fgets(line, sizeof(line), f) != NULL) {
            lines++;
            /* Blank out values that are numbers by nature. */
            for (char *kv = line; (kv = strchr(kv, '=')) != NULL; kv++) {
                const char *key = kv;
                while (key > line && key[-1] != ' ') {
                    key--;
                }
                bool numeric = strncmp(key, "ts=", 3) == 0 ||
                               strstr(key, "_us=") == key + (kv - key) - 3 ||
                               strstr(key, "_ms=") == key + (kv - key) - 3 ||
                               strncmp(key, "offset=", 7) == 0;
                if (numeric) {
                    for (char *v = kv + 1; *v != '\0' && *v != ' '; v++) {
                        *v = 'x';
                    }
                }
            }
            /* This run's IDs end in its nonce (epoch seconds and pid),
             * and a rejection's reason may quote them (a mis-keyed
             * message's key and customer_id): not a phone number. */
            size_t nonce_len = strlen(env.nonce);
            for (char *n = line; (n = strstr(n, env.nonce)) != NULL;
                 n += nonce_len) {
                memset(n, 'x', nonce_len);
            }
            if (has_phone_number(line)) {
                fail_msg("%s: a phone number in the log: %s", path, line);
            }
        }
        fclose(f);
    }
    assert_true(lines > 0);
}

/* Issue 6 no. 5: every key the workers' scripts write (cooldown memo,
 * visits, bookings, capacity counters) carries its expiry, set in the
 * same script: a scan finds none without one. */
static void test_pipeline_worker_keys_expire(void **state)
{
    (void)state;
    static const char *const written[] = {":cooldown", ":visits",
                                          ":booking:", ":cap:"};
    char cursor[32] = "0";
    size_t checked = 0;
    do {
        const char *scan[] = {"SCAN", cursor, "COUNT", "1000"};
        rv_redis_reply r = {0};
        assert_int_equal(rv_redis_command(env.rc, 4, scan, &r), RV_OK);
        assert_int_equal(r.type, RV_REPLY_STR);
        char *save = NULL;
        char *tok = strtok_r(r.str, "|", &save);
        assert_non_null(tok);
        snprintf(cursor, sizeof(cursor), "%s", tok);
        while ((tok = strtok_r(NULL, "|", &save)) != NULL) {
            bool ours = false;
            for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++) {
                ours = ours || strstr(tok, written[i]) != NULL;
            }
            if (!ours) {
                continue;
            }
            const char *ttl[] = {"TTL", tok};
            rv_redis_reply t = {0};
            assert_int_equal(rv_redis_command(env.rc, 2, ttl, &t), RV_OK);
            if (t.type == RV_REPLY_INT && t.integer == -1) {
                fail_msg("key %s has no expiry", tok);
            }
            rv_redis_replies_fini(&t, 1);
            checked++;
        }
        rv_redis_replies_fini(&r, 1);
    } while (strcmp(cursor, "0") != 0);
    assert_true(checked > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_fixed_input_gives_exact_rows),
        cmocka_unit_test(test_pipeline_bad_message_goes_to_dlq_and_rest_flows),
        cmocka_unit_test(test_pipeline_mis_keyed_sale_is_dead_lettered),
        cmocka_unit_test(test_pipeline_far_future_sale_is_dead_lettered),
        cmocka_unit_test(test_pipeline_shortfall_is_recorded_and_alerted),
        cmocka_unit_test(test_pipeline_redelivery_adds_no_row),
        cmocka_unit_test(test_pipeline_decisions_do_not_depend_on_interleaving),
        cmocka_unit_test(test_pipeline_worker_keys_expire),
        cmocka_unit_test(test_pipeline_logs_hold_no_phone_number),
        cmocka_unit_test(test_pipeline_rebuild_state_restores_redis),
    };
    return cmocka_run_group_tests_name("it_pipeline", tests, setup, teardown);
}
