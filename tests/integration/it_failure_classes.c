/* tests/integration/it_failure_classes.c: issue 6's "known failure
 * classes", one named test each where no other test already proves the
 * class (the others are listed in the README under issue 6). Workers run
 * as processes against the shared stack; every consumer group is new and
 * starts at the end of its topics, every customer carries the run's
 * nonce, so a test reads only its own messages and rows. */
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
#include "rv/booking.h"
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"
#include "rv/pg.h"
#include "rv/redis.h"

#define TEST "it_failure_classes"
#define PARTITIONS_MAX 64

static struct {
    const char *build_dir;
    const char *source_dir;
    const char *stack_dir;
    char nonce[32];
    char policy[1024];
    rv_producer *kp;
    rv_pg *pg;
    rv_redis *rc;
    it_kafka k;
} env;

static int setup(void **state)
{
    (void)state;
    env.build_dir = it_need(TEST, "RV_BUILD_DIR");
    env.source_dir = it_need(TEST, "RV_SOURCE_DIR");
    env.stack_dir = it_need(TEST, "RV_IT_STACK_DIR");
    it_kafka_init(&env.k, TEST);
    setenv("RV_PG_DSN", it_need(TEST, "RV_IT_PG_DSN"), 1);
    setenv("RV_REDIS_URL", it_need(TEST, "RV_IT_REDIS_URL"), 1);
    snprintf(env.policy, sizeof(env.policy), "%s/deploy/policy/default.yaml",
             env.source_dir);
    setenv("RV_POLICY_PATH", env.policy, 1);
    setenv("RV_LOG_LEVEL", "info", 1);
    snprintf(env.nonce, sizeof(env.nonce), "%ld-%d", (long)time(NULL),
             (int)getpid());
    char err[512] = "";
    if (rv_producer_open(&env.k.props, TEST, &env.kp, err, sizeof(err)) !=
            RV_OK ||
        rv_pg_open(getenv("RV_PG_DSN"), &env.pg, err, sizeof(err)) != RV_OK ||
        rv_redis_open(getenv("RV_REDIS_URL"), 5000, &env.rc, err,
                      sizeof(err)) != RV_OK) {
        fprintf(stderr, "%s: %s\n", TEST, err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rv_producer_close(env.kp, 5000);
    rv_pg_close(env.pg);
    rv_redis_close(env.rc);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* The end offsets of @p topic now (its next offsets to be written). */
static int end_offsets(const char *topic, int64_t *ends)
{
    char err[512] = "";
    int count = 0;
    assert_int_equal(rv_kafka_offsets_for_time(&env.k.props, topic, -1, 10000,
                                               ends, PARTITIONS_MAX, &count,
                                               err, sizeof(err)),
                     RV_OK);
    return count;
}

/* Makes @p group start at the end of each of @p topics, so that it reads
 * only what the test produces from now on. */
static void group_at_end(const char *group, const char *const *topics, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        int64_t ends[PARTITIONS_MAX];
        int count = end_offsets(topics[t], ends);
        char err[512] = "";
        assert_int_equal(rv_kafka_group_commit(&env.k.props, group, topics[t],
                                               ends, count, err, sizeof(err)),
                         RV_OK);
    }
}

/* Starts worker @p name in consumer group @p group on @p topics (comma
 * separated), its log <build>/it_fc_<tag>_<name>.log. */
static pid_t start(const char *name, const char *tag, const char *group,
                   const char *topics)
{
    char test[64];
    snprintf(test, sizeof(test), "it_fc_%s", tag);
    setenv("RV_GROUP_ID", group, 1);
    setenv("RV_TOPICS", topics, 1);
    return it_spawn_worker(env.build_dir, test, name);
}

static void stop(pid_t pid, const char *name)
{
    const char *const names[] = {name};
    assert_int_equal(it_stop_workers(&pid, names, 1), 0);
}

static void wait_lag_zero(const char *group, const char *const *topics,
                          size_t n)
{
    assert_int_equal(it_wait_group_lag(&env.k, group, topics, n, 120), 0);
}

static int64_t one_int(const char *sql, const char *param)
{
    const char *params[] = {param};
    rv_pg_result *res = NULL;
    char err[512] = "";
    if (rv_pg_exec(env.pg, sql, param != NULL ? 1 : 0, params, &res, err,
                   sizeof(err)) != RV_OK) {
        fail_msg("%s: %s", sql, err);
    }
    assert_int_equal(rv_pg_result_rows(res), 1);
    int64_t v = strtoll(rv_pg_result_value(res, 0, 0), NULL, 10);
    rv_pg_result_free(res);
    return v;
}

/* How many lines of worker log <build>/it_fc_<tag>_<name>.log hold
 * @p needle. */
static int log_count(const char *tag, const char *name, const char *needle)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/it_fc_%s_%s.log", env.build_dir, tag,
             name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, needle) != NULL;
    }
    fclose(f);
    return n;
}

/* stack.sh VERB DIR REST... on the test stack (fault, restart). */
static void stack_cmd(const char *verb, const char *rest)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s/deploy/local/stack.sh' %s '%s' %s >&2",
             env.source_dir, verb, env.stack_dir, rest);
    assert_int_equal(system(cmd), 0);
}

/* Sum of every capacity counter of pool @p pool in Redis (day and window
 * counters alike: every field of every day's counters hash). */
static int64_t capacity_sum(const char *pool)
{
    char pattern[96], cursor[32] = "0";
    snprintf(pattern, sizeof(pattern), "rv:{%s}:cap:*", pool);
    int64_t sum = 0;
    do {
        const char *scan[] = {"SCAN",  cursor,  "MATCH",
                              pattern, "COUNT", "5000"};
        rv_redis_reply r;
        assert_int_equal(rv_redis_command(env.rc, 6, scan, &r), RV_OK);
        assert_int_equal(r.type, RV_REPLY_STR);
        char *save = NULL;
        char *tok = strtok_r(r.str, "|", &save); /* "cursor|key|key..." */
        snprintf(cursor, sizeof(cursor), "%s", tok);
        while ((tok = strtok_r(NULL, "|", &save)) != NULL) {
            const char *hvals[] = {"HVALS", tok};
            rv_redis_reply v;
            assert_int_equal(rv_redis_command(env.rc, 2, hvals, &v), RV_OK);
            assert_int_equal(v.type, RV_REPLY_STR); /* "n|n|..." */
            char *vsave = NULL;
            for (char *n = strtok_r(v.str, "|", &vsave); n != NULL;
                 n = strtok_r(NULL, "|", &vsave)) {
                sum += strtoll(n, NULL, 10);
            }
            rv_redis_replies_fini(&v, 1);
        }
        rv_redis_replies_fini(&r, 1);
    } while (strcmp(cursor, "0") != 0);
    return sum;
}

/* Field @p field of Redis hash @p key as an integer, 0 when absent. */
static int64_t redis_hash_int(const char *key, const char *field)
{
    const char *get[] = {"HGET", key, field};
    rv_redis_reply v;
    assert_int_equal(rv_redis_command(env.rc, 3, get, &v), RV_OK);
    int64_t n = v.type == RV_REPLY_STR ? strtoll(v.str, NULL, 10) : 0;
    rv_redis_replies_fini(&v, 1);
    return n;
}

/* A West R1 phone task for customer @p customer, due in March 2016; its
 * ID (and event ID) derived from @p name, as the sampler derives them. */
static void make_task(rv_task *t, const char *name, const char *customer)
{
    memset(t, 0, sizeof(*t));
    const char *parts[] = {TEST, name};
    rv_id_derive(t->task_id, 2, parts);
    rv_envelope_fill(&t->env, t->task_id, it_day_noon_us("2016-02-29"), "it",
                     "");
    rv_copy_str(t->customer_id, sizeof(t->customer_id), customer);
    rv_copy_str(t->branch_id, sizeof(t->branch_id), "West");
    rv_copy_str(t->store_id, sizeof(t->store_id), "Seattle");
    rv_copy_str(t->rule_id, sizeof(t->rule_id), "R1");
    rv_copy_str(t->reasons[0], RV_REASON_SIZE, "R1");
    t->reason_count = 1;
    rv_copy_str(t->source_event_id, sizeof(t->source_event_id), name);
    t->due_start_us = it_day_noon_us("2016-03-01");
    t->due_end_us = it_day_noon_us("2016-03-15");
    t->channel = RV_CHANNEL_PHONE;
    rv_copy_str(t->questions[0], RV_KEY_SIZE, "q.satisfaction");
    t->question_count = 1;
    rv_copy_str(t->policy_version, sizeof(t->policy_version), "it");
    t->attempt = 1;
}

static void send_bytes(const char *topic, const char *key, const uint8_t *buf,
                       size_t len)
{
    assert_int_equal(rv_producer_send(env.kp, topic, key, buf, len, NULL, 0),
                     RV_OK);
}

static void send_task(const rv_task *t)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_task(t, &buf, &len), RV_OK);
    send_bytes("visits.tasks", t->customer_id, buf, len);
    free(buf);
}

/* Sale @p i of customer @p customer ("FC<class>-<nonce>"), order
 * "<customer>-<i>", its event ID derived from the order. */
static void make_sale(rv_sale *s, const char *customer, int i)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->order_id, sizeof(s->order_id), "%s-%d", customer, i);
    const char *parts[] = {TEST, s->order_id};
    char id[RV_ID_SIZE];
    rv_id_derive(id, 2, parts);
    rv_envelope_fill(&s->env, id, it_day_noon_us("2004-02-10"), "it", "");
    rv_copy_str(s->customer_id, sizeof(s->customer_id), customer);
    rv_copy_str(s->branch_id, sizeof(s->branch_id), "West");
    rv_copy_str(s->store_id, sizeof(s->store_id), "Seattle");
    rv_copy_str(s->currency, sizeof(s->currency), "USD");
    s->amount_cents = 1000 + i;
    s->line_count = 1;
}

static void send_sale_i(const char *customer, int i)
{
    rv_sale s;
    make_sale(&s, customer, i);
    it_send_sale(env.kp, &s);
}

/* The messages of @p topic keyed @p key from offsets @p start on, in
 * offset order within their partition; *count of them. Free with
 * free_msgs. */
typedef struct kept_msg {
    int32_t partition;
    int64_t offset;
    uint8_t *payload;
    size_t len;
} kept_msg;

static kept_msg *read_keyed(const char *topic, const int64_t *start, int parts,
                            const char *key, size_t *count)
{
    rv_kafka_range *r = NULL;
    char err[512] = "";
    assert_int_equal(rv_kafka_range_open(&env.k.props, topic, start, parts,
                                         10000, &r, err, sizeof(err)),
                     RV_OK);
    kept_msg *out = NULL;
    size_t n = 0, cap = 0;
    size_t key_len = strlen(key);
    for (;;) {
        rv_msg m;
        bool done = false;
        rv_err e = rv_kafka_range_next(r, 10000, &m, &done);
        if (e == RV_ERR_TIMEOUT) {
            continue;
        }
        assert_int_equal(e, RV_OK);
        if (done) {
            break;
        }
        if (m.key_len != key_len || memcmp(m.key, key, key_len) != 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            out = realloc(out, cap * sizeof(*out));
            assert_non_null(out);
        }
        out[n].partition = m.partition;
        out[n].offset = m.offset;
        out[n].len = m.len;
        out[n].payload = malloc(m.len > 0 ? m.len : 1);
        assert_non_null(out[n].payload);
        memcpy(out[n].payload, m.payload, m.len);
        n++;
    }
    rv_kafka_range_close(r);
    *count = n;
    return out;
}

static void free_msgs(kept_msg *msgs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(msgs[i].payload);
    }
    free(msgs);
}

/* ---- the classes ----------------------------------------------------------
 */

/* No. 1: the assigner killed after its Redis step (the booking script
 * incremented the agent-day and window counters) and before it produced
 * the assignment and committed, with librdkafka's auto commit running
 * (enable.auto.commit=true every 100 ms). Restarted, it handles the task
 * again: the script finds the booking and books nothing twice, so the
 * counters moved by one booking, and the record holds one assignment. */
static void test_failure_class_1_assigner_killed_after_booking(void **state)
{
    (void)state;
    char customer[64], group[96], rgroup[96];
    snprintf(customer, sizeof(customer), "FC1-%s", env.nonce);
    snprintf(group, sizeof(group), "it-fc1-%s", env.nonce);
    snprintf(rgroup, sizeof(rgroup), "it-fc1r-%s", env.nonce);
    const char *in[] = {"visits.tasks", "visits.retries"};
    const char *out[] = {"visits.assignments"};
    group_at_end(group, in, 2);
    group_at_end(rgroup, out, 1);
    int64_t before = capacity_sum("West");

    rv_task t;
    make_task(&t, customer, customer);
    send_task(&t);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);

    /* Run 1: killed between the booking and the produce. */
    setenv("RV_KAFKA_ENABLE_AUTO_COMMIT", "true", 1);
    setenv("RV_KAFKA_AUTO_COMMIT_INTERVAL_MS", "100", 1);
    setenv("RV_ASSIGNER_CRASH_AFTER_BOOKINGS", "1", 1);
    pid_t pid = start("assigner", "1a", group, "visits.tasks,visits.retries");
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 137);
    unsetenv("RV_ASSIGNER_CRASH_AFTER_BOOKINGS");
    /* The Redis step happened; nothing was committed, auto commit or not. */
    assert_int_equal(capacity_sum("West"), before + 2);
    int64_t lag = -1;
    char err[512] = "";
    assert_int_equal(rv_kafka_group_lag(&env.k.props, group, in, 2, 10000, &lag,
                                        NULL, err, sizeof(err)),
                     RV_OK);
    assert_int_equal(lag, 1);

    /* Run 2: the task again. */
    pid = start("assigner", "1b", group, "visits.tasks,visits.retries");
    wait_lag_zero(group, in, 2);
    stop(pid, "assigner");
    unsetenv("RV_KAFKA_ENABLE_AUTO_COMMIT");
    unsetenv("RV_KAFKA_AUTO_COMMIT_INTERVAL_MS");
    pid = start("recorder", "1", rgroup, "visits.assignments");
    wait_lag_zero(rgroup, out, 1);
    stop(pid, "recorder");

    /* One booking: its agent-day counter counts it once, and the two
     * counters together moved by one booking only. */
    char key[256];
    rv_booking_key(key, sizeof(key), "West", t.task_id, 1);
    const char *get[] = {"GET", key};
    rv_redis_reply label;
    assert_int_equal(rv_redis_command(env.rc, 2, get, &label), RV_OK);
    assert_int_equal(label.type, RV_REPLY_STR);
    rv_booked b;
    bool booked = false;
    assert_int_equal(rv_booking_parse(label.str, &b, &booked), RV_OK);
    rv_redis_replies_fini(&label, 1);
    assert_true(booked);
    assert_int_equal(capacity_sum("West"), before + 2);
    char field[256];
    rv_booking_counters_key(key, sizeof(key), "West", b.day);
    rv_booking_day_field(field, sizeof(field), b.agent_id);
    assert_true(redis_hash_int(key, field) >= 1);
    assert_int_equal(
        one_int("SELECT count(*) FROM assignments WHERE task_id = $1",
                t.task_id),
        1);
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM assignments WHERE task_id = $1 AND "
             "agent_id = '%s' AND status = 'assigned'",
             b.agent_id);
    assert_int_equal(one_int(q, t.task_id), 1);
}

/* No. 9: a re-delivered task. The booking script is the assigner's
 * "INSERT ... ON CONFLICT DO NOTHING RETURNING": on a second call it
 * books nothing and returns the booking it made the first time, and the
 * assignment's ID is derived from the task. The assigner emits the same
 * assignment again: same key, and byte for byte the same message once
 * the envelope's produced_at (the wall clock of the send, by design) is
 * set aside. */
static void test_failure_class_9_redelivered_task_same_assignment(void **state)
{
    (void)state;
    char customer[64], group[96];
    snprintf(customer, sizeof(customer), "FC9-%s", env.nonce);
    snprintf(group, sizeof(group), "it-fc9-%s", env.nonce);
    const char *in[] = {"visits.tasks", "visits.retries"};
    group_at_end(group, in, 2);
    int64_t start_offsets[PARTITIONS_MAX];
    int parts = end_offsets("visits.assignments", start_offsets);
    int64_t before = capacity_sum("West");

    rv_task t;
    make_task(&t, customer, customer);
    uint8_t *task_buf = NULL;
    size_t task_len = 0;
    assert_int_equal(rv_codec_encode_task(&t, &task_buf, &task_len), RV_OK);
    pid_t pid = start("assigner", "9", group, "visits.tasks,visits.retries");
    /* Delivered, handled and committed; then delivered again. */
    for (int round = 0; round < 2; round++) {
        send_bytes("visits.tasks", customer, task_buf, task_len);
        assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
        wait_lag_zero(group, in, 2);
    }
    stop(pid, "assigner");
    free(task_buf);
    assert_int_equal(capacity_sum("West"), before + 2); /* one booking */

    size_t n = 0;
    kept_msg *msgs =
        read_keyed("visits.assignments", start_offsets, parts, customer, &n);
    assert_int_equal(n, 2);
    uint8_t *again[2] = {NULL, NULL};
    size_t again_len[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        rv_assignment a;
        char err[256] = "";
        assert_int_equal(rv_codec_decode_assignment(msgs[i].payload,
                                                    msgs[i].len, &a, err,
                                                    sizeof(err)),
                         RV_OK);
        assert_int_equal(a.status, RV_ASSIGNED);
        a.env.produced_at_us = 0;
        assert_int_equal(
            rv_codec_encode_assignment(&a, &again[i], &again_len[i]), RV_OK);
    }
    assert_int_equal(again_len[0], again_len[1]);
    assert_memory_equal(again[0], again[1], again_len[0]);
    /* And the wire bytes differ in at most produced_at's 8 bytes. */
    assert_int_equal(msgs[0].len, msgs[1].len);
    size_t differ = 0;
    for (size_t i = 0; i < msgs[0].len; i++) {
        differ += msgs[0].payload[i] != msgs[1].payload[i];
    }
    assert_true(differ <= 10); /* a varint int64 */
    free(again[0]);
    free(again[1]);
    free_msgs(msgs, n);
}

/* No. 3, bad input: bytes that are not protobuf, and a valid sale that
 * breaks a business rule (a negative amount), each go to
 * sales.events.dlq with the reason; the valid sale behind them on the
 * same partition is recorded, and the group's lag reaches 0. */
static void test_failure_class_3_bad_messages_dead_lettered(void **state)
{
    (void)state;
    char customer[64], group[96];
    snprintf(customer, sizeof(customer), "FC3-%s", env.nonce);
    snprintf(group, sizeof(group), "it-fc3-%s", env.nonce);
    const char *topics[] = {"sales.events", "sales.events.dlq"};
    group_at_end(group, topics, 2);
    const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01};
    send_bytes("sales.events", customer, junk, sizeof(junk));
    rv_sale s;
    make_sale(&s, customer, 1);
    s.amount_cents = -5;
    it_send_sale(env.kp, &s);
    send_sale_i(customer, 2);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);

    pid_t pid = start("recorder", "3", group, "sales.events,sales.events.dlq");
    wait_lag_zero(group, topics, 2);
    stop(pid, "recorder");
    assert_int_equal(
        one_int("SELECT count(*) FROM dead_letters WHERE key = "
                "convert_to($1, 'UTF8') AND source_topic = 'sales.events'",
                customer),
        2);
    assert_int_equal(
        one_int("SELECT count(*) FROM dead_letters WHERE key = "
                "convert_to($1, 'UTF8') AND reason LIKE '%amount_cents -5 "
                "below 0%'",
                customer),
        1);
    assert_int_equal(
        one_int("SELECT count(*) FROM sales WHERE customer_id = $1", customer),
        1);
    assert_int_equal(log_count("3", "recorder", " dead_lettered=2 "), 1);
}

/* No. 3, an outage: PostgreSQL stopped and started (stack.sh restart)
 * while sales flow to the recorder is not a bad message: the recorder
 * retries, dead-letters nothing and skips nothing. */
static void test_failure_class_3_postgres_outage_is_not_bad_input(void **state)
{
    (void)state;
    char customer[64], group[96];
    snprintf(customer, sizeof(customer), "FC3o-%s", env.nonce);
    snprintf(group, sizeof(group), "it-fc3o-%s", env.nonce);
    const char *topics[] = {"sales.events", "sales.events.dlq"};
    group_at_end(group, topics, 2);
    pid_t pid = start("recorder", "3o", group, "sales.events,sales.events.dlq");
    for (int i = 0; i < 10; i++) {
        send_sale_i(customer, i);
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    wait_lag_zero(group, topics, 2); /* assigned and at work */
    /* The restart runs beside the sales that keep coming. */
    pid_t restart = fork();
    if (restart == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "'%s/deploy/local/stack.sh' restart '%s' postgres >&2",
                 env.source_dir, env.stack_dir);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int i = 10; i < 40; i++) {
        send_sale_i(customer, i);
        assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
        it_sleep_ms(50);
    }
    int status = 0;
    assert_int_equal(waitpid(restart, &status, 0), restart);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    wait_lag_zero(group, topics, 2);
    stop(pid, "recorder");
    /* Our own session went down with the server. */
    rv_pg_close(env.pg);
    env.pg = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_open(getenv("RV_PG_DSN"), &env.pg, err, sizeof(err)),
                     RV_OK);
    assert_int_equal(one_int("SELECT count(DISTINCT order_id) FROM sales WHERE "
                             "customer_id = $1",
                             customer),
                     40);
    assert_int_equal(one_int("SELECT count(*) FROM dead_letters WHERE key = "
                             "convert_to($1, 'UTF8')",
                             customer),
                     0);
    assert_int_equal(log_count("3o", "recorder", " dead_lettered=0 "), 1);
    printf("class 3 outage: pg_batch_failed lines=%d\n",
           log_count("3o", "recorder", "event=pg_batch_failed"));
}

/* No. 4: produce responses delayed past the producer's request timeout
 * (every broker's responses 2.5 s late, socket.timeout.ms 1000) while
 * one customer's 30 sales are produced: requests time out and are sent
 * again. The log may hold a sale twice, but never out of order or with a
 * gap (the first copies come in send order), and the record holds each
 * sale once. */
static void test_failure_class_4_produce_timeouts_no_gap(void **state)
{
    (void)state;
    enum { SALES = 30 };
    char customer[64], group[96];
    snprintf(customer, sizeof(customer), "FC4-%s", env.nonce);
    snprintf(group, sizeof(group), "it-fc4-%s", env.nonce);
    const char *topics[] = {"sales.events"};
    group_at_end(group, topics, 1);
    int64_t start_offsets[PARTITIONS_MAX];
    int parts = end_offsets("sales.events", start_offsets);

    /* librdkafka times a ProduceRequest out on the client side after
     * socket.timeout.ms (request.timeout.ms is the broker's ack wait). */
    char n0[] = "bootstrap.servers", n1[] = "request.timeout.ms",
         n2[] = "socket.timeout.ms";
    char v0[512], v1[] = "1000", v2[] = "1000";
    snprintf(v0, sizeof(v0), "%s", env.k.brokers);
    char *names[] = {n0, n1, n2}, *values[] = {v0, v1, v2};
    rv_props props = {3, names, values};
    rv_producer *kp = NULL;
    char err[512] = "";
    assert_int_equal(rv_producer_open(&props, "it_fc4", &kp, err, sizeof(err)),
                     RV_OK);
    rv_sale s;
    make_sale(&s, customer, 0);
    it_send_sale(kp, &s); /* connected and the partition's leader known */
    assert_int_equal(rv_producer_flush(kp, 10000), RV_OK);

    for (int b = 1; b <= 3; b++) {
        char rest[64];
        snprintf(rest, sizeof(rest), "rtt %d 2500", b);
        stack_cmd("fault", rest);
    }
    for (int i = 1; i < SALES; i++) {
        make_sale(&s, customer, i);
        it_send_sale(kp, &s);
        it_sleep_ms(100);
    }
    it_sleep_ms(3000); /* several timeouts and retries */
    for (int b = 1; b <= 3; b++) {
        char rest[64];
        snprintf(rest, sizeof(rest), "rtt %d 0", b);
        stack_cmd("fault", rest);
    }
    rv_err flushed = rv_producer_flush(kp, 60000);
    rv_producer_close(kp, 5000);
    assert_int_equal(flushed, RV_OK);

    pid_t pid = start("recorder", "4", group, "sales.events");
    wait_lag_zero(group, topics, 1);
    stop(pid, "recorder");

    size_t n = 0;
    kept_msg *msgs =
        read_keyed("sales.events", start_offsets, parts, customer, &n);
    assert_true(n >= SALES);
    bool seen[SALES] = {false};
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        rv_sale got;
        assert_int_equal(rv_codec_decode_sale(msgs[i].payload, msgs[i].len,
                                              &got, err, sizeof(err)),
                         RV_OK);
        const char *dash = strrchr(got.order_id, '-');
        assert_non_null(dash);
        int k = atoi(dash + 1);
        assert_true(k >= 0 && k < SALES);
        if (!seen[k]) {
            assert_int_equal(k, next); /* first copies in send order */
            seen[k] = true;
            next++;
        }
    }
    assert_int_equal(next, SALES);
    printf("class 4: sales=%d messages=%zu duplicates=%zu\n", SALES, n,
           n - SALES);
    free_msgs(msgs, n);
    assert_int_equal(
        one_int("SELECT count(*) FROM sales WHERE customer_id = $1", customer),
        SALES);
}

/* Runs @p sql (no result wanted). */
static void exec_sql(const char *sql)
{
    rv_pg_result *res = NULL;
    char err[512] = "";
    if (rv_pg_exec(env.pg, sql, 0, NULL, &res, err, sizeof(err)) != RV_OK) {
        fail_msg("%s: %s", sql, err);
    }
    rv_pg_result_free(res);
}

/* No. 7: one row of a batch that PostgreSQL refuses fails the batch's
 * INSERT; the transaction, offsets included, is rolled back, the rows go
 * in one by one, the bad one to sales.events.dlq with the server's
 * reason, and every good row is there once. The decoders refuse whatever
 * the schema would (a sale of 3,000,000,000 lines was such a row until
 * they did), so the refusal comes from a trigger this test puts on
 * `sales` for its one order, as a constraint a DBA added would. (The
 * backend killed mid-stream: it_recorder_eos,
 * test_recorder_backend_killed_retries.) */
static void test_failure_class_7_bad_row_fails_batch_half_way(void **state)
{
    (void)state;
    char customer[64], group[96];
    snprintf(customer, sizeof(customer), "FC7-%s", env.nonce);
    snprintf(group, sizeof(group), "it-fc7-%s", env.nonce);
    char bad[96];
    snprintf(bad, sizeof(bad), "%s-5", customer);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "CREATE OR REPLACE FUNCTION it_fc7_refuse() RETURNS trigger "
             "LANGUAGE plpgsql AS $f$ BEGIN IF NEW.order_id = '%s' THEN "
             "RAISE EXCEPTION 'it_fc7: order refused' USING ERRCODE = "
             "'check_violation'; END IF; RETURN NEW; END $f$",
             bad);
    exec_sql(sql);
    exec_sql("DROP TRIGGER IF EXISTS it_fc7_refuse ON sales");
    exec_sql("CREATE TRIGGER it_fc7_refuse BEFORE INSERT ON sales FOR EACH "
             "ROW EXECUTE FUNCTION it_fc7_refuse()");
    const char *topics[] = {"sales.events", "sales.events.dlq"};
    group_at_end(group, topics, 2);
    for (int i = 0; i < 10; i++) {
        rv_sale s;
        make_sale(&s, customer, i);
        it_send_sale(env.kp, &s);
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);

    /* Started after the sales: they come as one batch. */
    pid_t pid = start("recorder", "7", group, "sales.events,sales.events.dlq");
    wait_lag_zero(group, topics, 2);
    stop(pid, "recorder");
    exec_sql("DROP TRIGGER it_fc7_refuse ON sales");
    exec_sql("DROP FUNCTION it_fc7_refuse()");
    assert_int_equal(
        one_int("SELECT count(*) FROM sales WHERE customer_id = $1", customer),
        9);
    assert_int_equal(
        one_int("SELECT count(*) FROM sales WHERE order_id = $1", bad), 0);
    assert_int_equal(
        one_int("SELECT count(*) FROM dead_letters WHERE key = "
                "convert_to($1, 'UTF8') AND source_topic = 'sales.events' "
                "AND reason LIKE '%order refused%'",
                customer),
        1);
    assert_true(log_count("7", "recorder", "event=pg_batch_rejected") >= 1);
    assert_int_equal(log_count("7", "recorder", " dead_lettered=1 "), 1);
}

/* No. 8: one partition many times in a batch, and one sale twice. The
 * partitions' next offsets are stored with INSERT ... ON CONFLICT DO
 * UPDATE, which may not touch a row twice in one statement: the recorder
 * de-duplicates them first. The batch goes in as one transaction (no
 * fallback), the offset stored is the partition's end, and the sales are
 * counted once. */
static void test_failure_class_8_one_partition_many_times_in_batch(void **state)
{
    (void)state;
    char customer[64], group[96];
    snprintf(customer, sizeof(customer), "FC8-%s", env.nonce);
    snprintf(group, sizeof(group), "it-fc8-%s", env.nonce);
    const char *topics[] = {"sales.events"};
    group_at_end(group, topics, 1);
    int64_t start_offsets[PARTITIONS_MAX];
    int parts = end_offsets("sales.events", start_offsets);
    for (int i = 0; i < 20; i++) {
        send_sale_i(customer, i);
    }
    for (int i = 0; i < 5; i++) {
        send_sale_i(customer, i); /* the same events again */
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);

    pid_t pid = start("recorder", "8", group, "sales.events");
    wait_lag_zero(group, topics, 1);
    stop(pid, "recorder");
    assert_int_equal(
        one_int("SELECT count(*) FROM sales WHERE customer_id = $1", customer),
        20);
    int64_t ends[PARTITIONS_MAX];
    assert_int_equal(end_offsets("sales.events", ends), parts);
    int64_t moved = 0;
    for (int p = 0; p < parts; p++) {
        if (ends[p] == start_offsets[p]) {
            continue;
        }
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(max(next_offset), -1) FROM recorder_offsets "
                 "WHERE group_id = $1 AND topic = 'sales.events' AND "
                 "partition = %d",
                 p);
        assert_int_equal(one_int(sql, group), ends[p]);
        moved += ends[p] - start_offsets[p];
    }
    assert_int_equal(moved, 25);
    assert_int_equal(log_count("8", "recorder", "event=pg_batch_rejected"), 0);
    assert_int_equal(log_count("8", "recorder", " fallbacks=0"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failure_class_1_assigner_killed_after_booking),
        cmocka_unit_test(test_failure_class_3_bad_messages_dead_lettered),
        cmocka_unit_test(test_failure_class_3_postgres_outage_is_not_bad_input),
        cmocka_unit_test(test_failure_class_4_produce_timeouts_no_gap),
        cmocka_unit_test(test_failure_class_7_bad_row_fails_batch_half_way),
        cmocka_unit_test(
            test_failure_class_8_one_partition_many_times_in_batch),
        cmocka_unit_test(test_failure_class_9_redelivered_task_same_assignment),
    };
    return cmocka_run_group_tests_name(TEST, tests, setup, teardown);
}
