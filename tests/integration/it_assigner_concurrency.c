/* tests/integration/it_assigner_concurrency.c: 3 assigner processes on
 * 10,000 tasks, each delivered twice (issue 4): exactly 10,000 bookings,
 * no agent over capacity on any day, no booking outside a call window or
 * the due window. Its own topics and pool, so nothing else is touched. */
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

#include "it_common.h"

#include "rv/booking.h"
#include "rv/calendar.h"
#include "rv/codec.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"
#include "rv/policy.h"
#include "rv/redis.h"

#define REPLICAS 3
#define TASKS 10000
#define CAPACITY 200 /* policy_conc.yaml */

static const char *need(const char *name)
{
    return it_need("it_assigner_concurrency", name);
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* Calls @p fn for every key matching @p pattern (SCAN). */
static void for_each_key(rv_redis *rc, const char *pattern,
                         void (*fn)(rv_redis *rc, const char *key, void *arg),
                         void *arg)
{
    char cursor[32] = "0";
    do {
        const char *scan[] = {"SCAN",  cursor,  "MATCH",
                              pattern, "COUNT", "5000"};
        rv_redis_reply r;
        assert_int_equal(rv_redis_command(rc, 6, scan, &r), RV_OK);
        assert_int_equal(r.type, RV_REPLY_STR);
        char *save = NULL;
        char *tok = strtok_r(r.str, "|", &save); /* "cursor|key|key..." */
        snprintf(cursor, sizeof(cursor), "%s", tok);
        while ((tok = strtok_r(NULL, "|", &save)) != NULL) {
            fn(rc, tok, arg);
        }
        rv_redis_replies_fini(&r, 1);
    } while (strcmp(cursor, "0") != 0);
}

static void delete_key(rv_redis *rc, const char *key, void *arg)
{
    (void)arg;
    const char *del[] = {"DEL", key};
    rv_redis_reply d;
    assert_int_equal(rv_redis_command(rc, 2, del, &d), RV_OK);
    rv_redis_replies_fini(&d, 1);
}

typedef struct value_list {
    char **items;
    size_t count;
    size_t cap;
} value_list;

static void collect_value(rv_redis *rc, const char *key, void *arg)
{
    value_list *v = arg;
    const char *get[] = {"GET", key};
    rv_redis_reply r;
    assert_int_equal(rv_redis_command(rc, 2, get, &r), RV_OK);
    if (v->count == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->items = realloc(v->items, v->cap * sizeof(*v->items));
        assert_non_null(v->items);
    }
    v->items[v->count++] = strdup(r.str != NULL ? r.str : "");
    rv_redis_replies_fini(&r, 1);
}

static void test_three_assigners_ten_thousand_tasks_twice(void **state)
{
    (void)state;
    const char *build = need("RV_BUILD_DIR");
    const char *brokers = need("RV_IT_KAFKA_BROKERS");
    char policy_path[1024], nonce[48], group[96], in_topic[96], out_topic[96],
        alerts_topic[96], bin[1024], err[512] = "";
    snprintf(policy_path, sizeof(policy_path),
             "%s/tests/integration/policy_conc.yaml", need("RV_SOURCE_DIR"));
    snprintf(nonce, sizeof(nonce), "%ld%d", (long)time(NULL), (int)getpid());
    snprintf(group, sizeof(group), "it-conc-%s", nonce);
    snprintf(in_topic, sizeof(in_topic), "it.conc.tasks.%s", nonce);
    snprintf(out_topic, sizeof(out_topic), "it.conc.assignments.%s", nonce);
    snprintf(alerts_topic, sizeof(alerts_topic), "it.conc.alerts.%s", nonce);
    rv_policy *p = NULL;
    rv_calendar *cal = NULL;
    assert_int_equal(rv_policy_load(policy_path, &p, err, sizeof(err)), RV_OK);
    assert_int_equal(rv_calendar_new(p, &cal, err, sizeof(err)), RV_OK);
    int branch = rv_calendar_branch(cal, "Conc");
    /* Every task: due Tue 2016-03-01 .. Mon 2016-03-14 (10 working days). */
    int64_t d0 = 0, d_end = 0;
    assert_int_equal(rv_calendar_day_parse("2016-03-01", &d0), RV_OK);
    assert_int_equal(rv_calendar_day_parse("2016-03-15", &d_end), RV_OK);
    int64_t due_start = rv_calendar_local_to_us(cal, branch, d0, 0);
    int64_t due_end = rv_calendar_local_to_us(cal, branch, d_end, 0);

    /* The pool is the branch; a fresh branch name per run keeps this
     * run's keys apart: rename it in the policy copy the workers read. */
    char pool[64];
    snprintf(pool, sizeof(pool), "Conc");
    char redis_wipe_pattern[96];
    snprintf(redis_wipe_pattern, sizeof(redis_wipe_pattern), "rv:{%s}:*", pool);
    rv_redis *rc = NULL;
    assert_int_equal(
        rv_redis_open(need("RV_IT_REDIS_URL"), 5000, &rc, err, sizeof(err)),
        RV_OK);
    /* A re-run on the same stack starts from an empty pool. */
    for_each_key(rc, redis_wipe_pattern, delete_key, NULL);

    /* Produce 10,000 tasks, each twice (a re-delivery). */
    char kn[] = "bootstrap.servers";
    char kv[512];
    snprintf(kv, sizeof(kv), "%s", brokers);
    char *names[] = {kn}, *values[] = {kv};
    rv_props props = {1, names, values};
    rv_producer *kp = NULL;
    assert_int_equal(rv_producer_open(&props, "it_conc", &kp, err, sizeof(err)),
                     RV_OK);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < TASKS; i++) {
            rv_task t;
            memset(&t, 0, sizeof(t));
            char name[80];
            snprintf(name, sizeof(name), "%08d%.20s", i, nonce);
            const char *parts[] = {"it_conc", name};
            rv_id_derive(t.task_id, 2, parts); /* 32 hex digits, as ours */
            rv_envelope_fill(&t.env, t.task_id, due_start - 1, "it", "");
            snprintf(t.customer_id, sizeof(t.customer_id), "c%d", i);
            rv_copy_str(t.branch_id, sizeof(t.branch_id), "Conc");
            rv_copy_str(t.rule_id, sizeof(t.rule_id), "R1");
            rv_copy_str(t.reasons[0], RV_REASON_SIZE, "R1");
            t.reason_count = 1;
            rv_copy_str(t.source_event_id, sizeof(t.source_event_id), "s");
            t.due_start_us = due_start;
            t.due_end_us = due_end;
            t.channel = RV_CHANNEL_PHONE;
            rv_copy_str(t.policy_version, sizeof(t.policy_version), "conc-1");
            t.attempt = 1;
            uint8_t *buf = NULL;
            size_t len = 0;
            assert_int_equal(rv_codec_encode_task(&t, &buf, &len), RV_OK);
            rv_err e;
            while ((e = rv_producer_send(kp, in_topic, t.customer_id, buf, len,
                                         NULL, 0)) == RV_ERR_FULL) {
                assert_int_equal(rv_producer_flush(kp, 30000), RV_OK);
            }
            assert_int_equal(e, RV_OK);
            free(buf);
        }
    }
    assert_int_equal(rv_producer_flush(kp, 60000), RV_OK);
    rv_producer_close(kp, 5000);

    /* Three replicas of the assigner, one consumer group. */
    setenv("RV_KAFKA_BOOTSTRAP_SERVERS", brokers, 1);
    setenv("RV_REDIS_URL", need("RV_IT_REDIS_URL"), 1);
    setenv("RV_POLICY_PATH", policy_path, 1);
    setenv("RV_GROUP_ID", group, 1);
    setenv("RV_TOPICS", in_topic, 1);
    setenv("RV_ASSIGNER_OUTPUT_TOPIC", out_topic, 1);
    setenv("RV_ASSIGNER_ALERTS_TOPIC", alerts_topic, 1);
    snprintf(bin, sizeof(bin), "%s/workers/assigner/revisit-assigner", build);
    pid_t pids[REPLICAS];
    for (int r = 0; r < REPLICAS; r++) {
        pids[r] = fork();
        if (pids[r] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            char log[1200];
            snprintf(log, sizeof(log), "%s/it_conc_assigner_%d.log", build, r);
            FILE *f = freopen(log, "w", stderr);
            (void)f;
            execl(bin, bin, (char *)NULL);
            _exit(127);
        }
    }

    /* Wait until the group has read everything (bounded). */
    const char *topics[] = {in_topic};
    int64_t deadline = now_s() + 300, lag = -1, msgs = 0;
    int zero = 0;
    while (now_s() < deadline && zero < 2) {
        sleep(1);
        if (rv_kafka_group_lag(&props, group, topics, 1, 5000, &lag, &msgs, err,
                               sizeof(err)) == RV_OK &&
            msgs == 2 * TASKS) {
            zero = lag == 0 ? zero + 1 : 0;
        }
    }
    for (int r = 0; r < REPLICAS; r++) {
        kill(pids[r], SIGTERM);
    }
    for (int r = 0; r < REPLICAS; r++) {
        int status = 0;
        waitpid(pids[r], &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(lag, 0);

    /* Exactly one booking per task, each inside a call window (C1) and
     * the due window, no agent-day over capacity (C5). */
    char pattern[96];
    snprintf(pattern, sizeof(pattern), "rv:{%s}:booking:*", pool);
    value_list labels = {0};
    for_each_key(rc, pattern, collect_value, &labels);
    size_t n = labels.count;
    assert_int_equal(n, TASKS);
    int64_t per_agent_day[10][32] = {{0}};
    for (size_t i = 0; i < n; i++) {
        rv_booked b;
        bool booked = false;
        assert_int_equal(rv_booking_parse(labels.items[i], &b, &booked), RV_OK);
        assert_true(booked);
        assert_true(b.start_us >= due_start && b.end_us <= due_end);
        assert_true(rv_calendar_is_working_day(cal, branch, b.day));
        const rv_window *w = &p->windows[b.window];
        assert_int_equal(b.start_us, rv_calendar_local_to_us(cal, branch, b.day,
                                                             w->start_min));
        assert_int_equal(
            b.end_us, rv_calendar_local_to_us(cal, branch, b.day, w->end_min));
        assert_false(w->skip_mask & (1u << rv_calendar_weekday(b.day)));
        int agent = atoi(b.agent_id + 1) - 1;
        assert_in_range(agent, 0, 9);
        assert_in_range(b.day - d0, 0, 31);
        per_agent_day[agent][b.day - d0]++;
        free(labels.items[i]);
    }
    free(labels.items);
    int64_t total = 0;
    for (int a = 0; a < 10; a++) {
        for (int d = 0; d < 32; d++) {
            assert_true(per_agent_day[a][d] <= CAPACITY);
            total += per_agent_day[a][d];
            if (per_agent_day[a][d] == 0) {
                continue;
            }
            /* The counters agree with the bookings. */
            char key[RV_BOOKING_KEY_SIZE], field[RV_BOOKING_KEY_SIZE];
            char agent_id[8];
            snprintf(agent_id, sizeof(agent_id), "k%02d", a + 1);
            rv_booking_counters_key(key, sizeof(key), pool, d0 + d);
            rv_booking_day_field(field, sizeof(field), agent_id);
            const char *get[] = {"HGET", key, field};
            rv_redis_reply v;
            assert_int_equal(rv_redis_command(rc, 3, get, &v), RV_OK);
            assert_int_equal(strtoll(v.str, NULL, 10), per_agent_day[a][d]);
            rv_redis_replies_fini(&v, 1);
        }
    }
    assert_int_equal(total, TASKS);
    rv_redis_close(rc);
    rv_calendar_free(cal);
    rv_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_assigners_ten_thousand_tasks_twice),
    };
    return cmocka_run_group_tests_name("it_assigner_concurrency", tests, NULL,
                                       NULL);
}
