/* tests/unit/test_kafka.c: producer, DLQ, batch consumer and the runner
 * against librdkafka's in-process mock cluster (no network beyond
 * loopback). Each test gets a fresh cluster; a consumer group's first
 * join takes 3 s on the mock, so each case takes 4-8 s and CTest runs
 * each case as its own entry. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "rv/health.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"
#include "rv/log.h"
#include "rv/runner.h"

/* Bounds every wait in this file: a broken build fails, never hangs. */
#define WAIT_MAX_MS 20000
#define WATCHDOG_S 30
#define FLUSH_MS 10000
#define REC_MAX 16

/* Counts rd_kafka_commit calls made by common/kafka.c: the test links
 * with -Wl,--wrap=rd_kafka_commit. */
static int commit_calls;

rd_kafka_resp_err_t __real_rd_kafka_commit(
    rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *offsets, int async);
rd_kafka_resp_err_t __wrap_rd_kafka_commit(
    rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *offsets, int async);

rd_kafka_resp_err_t __wrap_rd_kafka_commit(
    rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *offsets, int async)
{
    commit_calls++;
    return __real_rd_kafka_commit(rk, offsets, async);
}

static char prop_bootstrap[] = "bootstrap.servers";
/* After a member leaves, the mock waits session.timeout.ms - 1000 for the
 * others before a new member's join completes; a first join takes 3 s
 * without heartbeats, so the session must outlast that. */
static char prop_session[] = "session.timeout.ms";
static char val_session[] = "4500";
static char prop_heartbeat[] = "heartbeat.interval.ms";
static char val_heartbeat[] = "500";
/* RV_TEST_KAFKA_DEBUG=1 logs the consumers' group protocol at debug. */
#define DEBUG_ENV "RV_TEST_KAFKA_DEBUG"
static char prop_debug[] = "debug";
static char val_debug[] = "cgrp,consumer,fetch";

struct fx {
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
    char *p_names[1];
    char *p_values[1];
    rv_props pprops; /* producer */
    char *c_names[4];
    char *c_values[4];
    rv_props cprops; /* consumer */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_alarm(int sig)
{
    (void)sig;
    rv_stop_request(); /* async-signal-safe: sets a flag */
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    fx->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(fx->mock_rk);
    fx->mc = rd_kafka_mock_cluster_new(fx->mock_rk, 3);
    assert_non_null(fx->mc);
    assert_int_equal(rd_kafka_mock_topic_create(fx->mc, "t.in", 2, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(fx->mc, "t.out", 1, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(fx->mc, "t.in.dlq", 1, 1), 0);
    snprintf(fx->bootstraps, sizeof(fx->bootstraps), "%s",
             rd_kafka_mock_cluster_bootstraps(fx->mc));

    fx->p_names[0] = prop_bootstrap;
    fx->p_values[0] = fx->bootstraps;
    fx->pprops = (rv_props){1, fx->p_names, fx->p_values};
    fx->c_names[0] = prop_bootstrap;
    fx->c_values[0] = fx->bootstraps;
    fx->c_names[1] = prop_session;
    fx->c_values[1] = val_session;
    fx->c_names[2] = prop_heartbeat;
    fx->c_values[2] = val_heartbeat;
    fx->cprops = (rv_props){3, fx->c_names, fx->c_values};
    if (getenv(DEBUG_ENV) != NULL) {
        fx->c_names[3] = prop_debug;
        fx->c_values[3] = val_debug;
        fx->cprops.count = 4;
    }

    rv_stop_reset();
    commit_calls = 0;
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(WATCHDOG_S);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    alarm(0);
    rv_stop_reset();
    rd_kafka_mock_cluster_destroy(fx->mc);
    rd_kafka_destroy(fx->mock_rk);
    free(fx);
    /* Every handle's threads are gone before LSan looks. */
    assert_int_equal(rd_kafka_wait_destroyed(10000), 0);
    return 0;
}

static rv_producer *open_producer(struct fx *fx)
{
    rv_producer *kp = NULL;
    char errstr[256] = "";
    rv_err err =
        rv_producer_open(&fx->pprops, "test", &kp, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fail_msg("rv_producer_open: %s", errstr);
    }
    return kp;
}

static rv_consumer *open_consumer(struct fx *fx, const char *group)
{
    static const char *const topics[] = {"t.in"};
    rv_consumer *kc = NULL;
    char errstr[256] = "";
    rv_err err = rv_consumer_open(&fx->cprops, group, topics, 1, &kc, errstr,
                                  sizeof(errstr));
    if (err != RV_OK) {
        fail_msg("rv_consumer_open: %s", errstr);
    }
    return kc;
}

static void send_text(rv_producer *kp, const char *topic, const char *key,
                      const char *text)
{
    assert_int_equal(rv_producer_send(kp, topic, key, (const uint8_t *)text,
                                      strlen(text), NULL, 0),
                     RV_OK);
}

/* Copies len bytes at p into a NUL-terminated buffer of cap bytes. */
static void copy_text(char *out, size_t cap, const void *p, size_t len)
{
    assert_true(len < cap);
    if (len > 0) {
        memcpy(out, p, len);
    }
    out[len] = '\0';
}

/* One message read back by read_topic. */
struct rec {
    char key[32];
    char payload[32];
    char reason[64];
    char src_topic[32];
    char src_partition[24];
    char src_offset[24];
    char by[32];
};

static void get_header(rd_kafka_headers_t *hdrs, const char *name, char *out,
                       size_t cap)
{
    const void *val = NULL;
    size_t size = 0;
    out[0] = '\0';
    if (hdrs != NULL &&
        rd_kafka_header_get_last(hdrs, name, &val, &size) == 0) {
        copy_text(out, cap, val, size);
    }
}

/* Reads every message of @p topic (@p partitions partitions) from the
 * beginning to its end, without a group, into @p out. */
static size_t read_topic(struct fx *fx, const char *topic, int partitions,
                         struct rec *out, size_t cap)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                       fx->bootstraps, errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    /* consumer_poll needs a group; assign() never joins it. */
    assert_int_equal(
        rd_kafka_conf_set(conf, "group.id", "reader", errstr, sizeof(errstr)),
        RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "enable.partition.eof", "true",
                                       errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "fetch.wait.max.ms", "50", errstr,
                                       sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++) {
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    assert_int_equal(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);

    size_t n = 0;
    int eofs = 0;
    int64_t deadline = now_ms() + WAIT_MAX_MS;
    while (eofs < partitions && now_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
        if (rkm == NULL) {
            continue;
        }
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            assert_true(n < cap);
            struct rec *r = &out[n++];
            copy_text(r->key, sizeof(r->key), rkm->key, rkm->key_len);
            copy_text(r->payload, sizeof(r->payload), rkm->payload, rkm->len);
            rd_kafka_headers_t *hdrs = NULL;
            (void)rd_kafka_message_headers(rkm, &hdrs);
            get_header(hdrs, RV_DLQ_HDR_REASON, r->reason, sizeof(r->reason));
            get_header(hdrs, RV_DLQ_HDR_TOPIC, r->src_topic,
                       sizeof(r->src_topic));
            get_header(hdrs, RV_DLQ_HDR_PARTITION, r->src_partition,
                       sizeof(r->src_partition));
            get_header(hdrs, RV_DLQ_HDR_OFFSET, r->src_offset,
                       sizeof(r->src_offset));
            get_header(hdrs, RV_DLQ_HDR_BY, r->by, sizeof(r->by));
        }
        rd_kafka_message_destroy(rkm);
    }
    assert_int_equal(eofs, partitions);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

/* The offset @p group committed on t.in [@p partition], or a negative
 * RD_KAFKA_OFFSET_* when it has none. */
static int64_t committed_offset(struct fx *fx, const char *group,
                                int32_t partition)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                       fx->bootstraps, errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)),
        RD_KAFKA_CONF_OK);
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, "t.in", partition);
    assert_int_equal(rd_kafka_committed(rk, parts, 10000), 0);
    int64_t offset = parts->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return offset;
}

/* (a) Five keyed messages with headers are consumed and committed; a
 * second consumer in the group starts after them and sees only what came
 * later. */
static void test_kafka_consume_commit_resume(void **state)
{
    struct fx *fx = *state;
    rv_producer *kp = open_producer(fx);
    char key[8];
    char text[8];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(text, sizeof(text), "m%d", i);
        const rv_header hdrs[] = {{"h.idx", text + 1}, {"h.empty", NULL}};
        assert_int_equal(rv_producer_send(kp, "t.in", key,
                                          (const uint8_t *)text, strlen(text),
                                          hdrs, 2),
                         RV_OK);
    }
    assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);

    rv_consumer *kc = open_consumer(fx, "g.a");
    int seen[5] = {0};
    int32_t partition_of[5] = {0};
    int total = 0;
    int64_t deadline = now_ms() + WAIT_MAX_MS;
    while (total < 5 && now_ms() < deadline) {
        const rv_msg *msgs = NULL;
        size_t count = 0;
        assert_int_equal(rv_consumer_poll_batch(kc, 10, 500, &msgs, &count),
                         RV_OK);
        for (size_t i = 0; i < count; i++) {
            assert_string_equal(msgs[i].topic, "t.in");
            assert_true(msgs[i].partition == 0 || msgs[i].partition == 1);
            copy_text(text, sizeof(text), msgs[i].payload, msgs[i].len);
            copy_text(key, sizeof(key), msgs[i].key, msgs[i].key_len);
            assert_int_equal(text[0], 'm');
            int idx = text[1] - '0';
            assert_true(idx >= 0 && idx < 5);
            assert_int_equal(key[1], text[1]);
            char hval[8];
            assert_non_null(
                rv_msg_header(&msgs[i], "h.idx", hval, sizeof(hval)));
            assert_string_equal(hval, text + 1);
            assert_non_null(
                rv_msg_header(&msgs[i], "h.empty", hval, sizeof(hval)));
            assert_string_equal(hval, "");
            assert_null(rv_msg_header(&msgs[i], "h.none", hval, sizeof(hval)));
            seen[idx]++;
            partition_of[idx] = msgs[i].partition;
            total++;
        }
        assert_int_equal(rv_consumer_commit_batch(kc), RV_OK);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(seen[i], 1);
    }
    assert_true(commit_calls >= 1);
    rv_consumer_close(kc);

    /* One sentinel into each partition that holds old messages, keyed
     * like one of them so it lands there. */
    int sentinels = 0;
    for (int32_t p = 0; p < 2; p++) {
        for (int i = 0; i < 5; i++) {
            if (partition_of[i] == p) {
                snprintf(key, sizeof(key), "k%d", i);
                snprintf(text, sizeof(text), "s%d", (int)p);
                send_text(kp, "t.in", key, text);
                sentinels++;
                break;
            }
        }
    }
    assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);

    kc = open_consumer(fx, "g.a");
    int got = 0;
    deadline = now_ms() + WAIT_MAX_MS;
    while (got < sentinels && now_ms() < deadline) {
        const rv_msg *msgs = NULL;
        size_t count = 0;
        assert_int_equal(rv_consumer_poll_batch(kc, 10, 500, &msgs, &count),
                         RV_OK);
        for (size_t i = 0; i < count; i++) {
            copy_text(text, sizeof(text), msgs[i].payload, msgs[i].len);
            assert_int_equal(text[0], 's'); /* nothing already committed */
            got++;
        }
        assert_int_equal(rv_consumer_commit_batch(kc), RV_OK);
    }
    assert_int_equal(got, sentinels);
    rv_consumer_close(kc);
    rv_producer_close(kp, FLUSH_MS);
}

/* (b) The runner: "bad" goes to t.in.dlq with its provenance, the rest
 * is forwarded to t.out. */
struct route_ctx {
    int seen;
    int32_t bad_partition;
    int64_t bad_offset;
};

static rv_err route_batch(void *ctx, const rv_msg *msgs, size_t count,
                          rv_producer *kp)
{
    struct route_ctx *c = ctx;
    for (size_t i = 0; i < count; i++) {
        const rv_msg *m = &msgs[i];
        rv_err err;
        if (m->len == 3 && memcmp(m->payload, "bad", 3) == 0) {
            c->bad_partition = m->partition;
            c->bad_offset = m->offset;
            err = rv_producer_send_dlq(kp, m, "payload is bad");
        } else {
            char key[32];
            copy_text(key, sizeof(key), m->key, m->key_len);
            err =
                rv_producer_send(kp, "t.out", key, m->payload, m->len, NULL, 0);
        }
        if (err != RV_OK) {
            return err;
        }
    }
    c->seen += (int)count;
    if (c->seen >= 3) {
        rv_stop_request();
    }
    return RV_OK;
}

static void test_kafka_runner_dead_letters_bad_input(void **state)
{
    struct fx *fx = *state;
    rv_producer *kp = open_producer(fx);
    send_text(kp, "t.in", "c1", "ok1");
    send_text(kp, "t.in", "c2", "bad");
    send_text(kp, "t.in", "c3", "ok2");
    assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);

    rv_consumer *kc = open_consumer(fx, "g.b");
    struct route_ctx ctx = {.bad_offset = -1};
    rv_runner_opts opts = {.batch_max = 100,
                           .poll_timeout_ms = 200,
                           .flush_timeout_ms = FLUSH_MS,
                           .backoff_max_ms = 1000};
    rv_runner_stats stats = {0};
    assert_int_equal(rv_runner_run(kc, kp, route_batch, &ctx, &opts, &stats),
                     RV_OK);
    assert_int_equal(ctx.seen, 3);
    assert_int_equal(stats.messages, 3);
    assert_true(stats.batches >= 1);
    assert_int_equal(stats.retries, 0);
    rv_consumer_close(kc);
    rv_producer_close(kp, FLUSH_MS);

    struct rec recs[REC_MAX];
    size_t n = read_topic(fx, "t.in.dlq", 1, recs, REC_MAX);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0].payload, "bad");
    assert_string_equal(recs[0].key, "c2");
    assert_string_equal(recs[0].reason, "payload is bad");
    assert_string_equal(recs[0].by, "test");
    assert_string_equal(recs[0].src_topic, "t.in");
    char expect[24];
    snprintf(expect, sizeof(expect), "%d", (int)ctx.bad_partition);
    assert_string_equal(recs[0].src_partition, expect);
    snprintf(expect, sizeof(expect), "%lld", (long long)ctx.bad_offset);
    assert_string_equal(recs[0].src_offset, expect);

    n = read_topic(fx, "t.out", 1, recs, REC_MAX);
    assert_int_equal(n, 2);
    int has_ok1 = 0;
    int has_ok2 = 0;
    for (size_t i = 0; i < n; i++) {
        has_ok1 += strcmp(recs[i].payload, "ok1") == 0 &&
                   strcmp(recs[i].key, "c1") == 0;
        has_ok2 += strcmp(recs[i].payload, "ok2") == 0 &&
                   strcmp(recs[i].key, "c3") == 0;
    }
    assert_int_equal(has_ok1, 1);
    assert_int_equal(has_ok2, 1);
}

/* (c) A retriable error calls the batch fn again with the same batch, and
 * its offsets are committed once, after the success; on_durable is called
 * once, for the attempt whose output was flushed. */
struct retry_ctx {
    int calls;
    size_t count;
    int32_t partition;
    int64_t offsets[REC_MAX];
    int same_batch;
    int commits_at_second_call;
    rv_health *health;
    bool red_at_second_call;
    char why[160];
    int durable_calls;      /* on_durable, once the output is flushed */
    int calls_at_durable;   /* batch calls made by then */
    int commits_at_durable; /* commits made by then */
};

static void note_durable(void *ctx)
{
    struct retry_ctx *c = ctx;
    c->durable_calls++;
    c->calls_at_durable = c->calls;
    c->commits_at_durable = commit_calls;
}

static rv_err flaky_batch(void *ctx, const rv_msg *msgs, size_t count,
                          rv_producer *kp)
{
    (void)kp;
    struct retry_ctx *c = ctx;
    c->calls++;
    if (c->calls == 1) {
        c->count = count < REC_MAX ? count : REC_MAX;
        c->partition = msgs[0].partition;
        for (size_t i = 0; i < c->count; i++) {
            c->offsets[i] = msgs[i].offset;
        }
        return RV_ERR_UNAVAILABLE;
    }
    c->same_batch = count == c->count;
    for (size_t i = 0; c->same_batch && i < count; i++) {
        c->same_batch = msgs[i].offset == c->offsets[i] &&
                        msgs[i].partition == c->partition;
    }
    c->commits_at_second_call = commit_calls;
    c->red_at_second_call = rv_health_is_red(c->health, c->why, sizeof(c->why));
    rv_stop_request();
    return RV_OK;
}

static void test_kafka_runner_retries_same_batch(void **state)
{
    struct fx *fx = *state;
    rv_producer *kp = open_producer(fx);
    /* One key: one partition, one fetch, one batch. */
    send_text(kp, "t.in", "same", "r1");
    send_text(kp, "t.in", "same", "r2");
    send_text(kp, "t.in", "same", "r3");
    assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);

    rv_consumer *kc = open_consumer(fx, "g.c");
    struct retry_ctx ctx = {0};
    /* Red after one failure (issue 6 no. 6: repeated failure turns the
     * health red), green again after the batch went through. */
    char herr[128] = "";
    assert_int_equal(
        rv_health_start("127.0.0.1", 0, 1, &ctx.health, herr, sizeof(herr)),
        RV_OK);
    rv_health_ready(ctx.health);
    rv_runner_opts opts = {.batch_max = 100,
                           .poll_timeout_ms = 200,
                           .flush_timeout_ms = FLUSH_MS,
                           .backoff_max_ms = 1000,
                           .health = ctx.health,
                           .on_durable = note_durable};
    rv_runner_stats stats = {0};
    assert_int_equal(rv_runner_run(kc, kp, flaky_batch, &ctx, &opts, &stats),
                     RV_OK);
    /* Told once, after the retry succeeded and before the commit. */
    assert_int_equal(ctx.durable_calls, 1);
    assert_int_equal(ctx.calls_at_durable, 2);
    assert_int_equal(ctx.commits_at_durable, 0);
    assert_true(ctx.red_at_second_call);
    assert_string_equal(ctx.why, "handle: unavailable (1 failures in a row)");
    assert_false(rv_health_is_red(ctx.health, NULL, 0));
    rv_health_stop(ctx.health);
    assert_int_equal(ctx.calls, 2);
    assert_int_equal(ctx.count, 3);
    assert_true(ctx.same_batch);
    assert_int_equal(ctx.commits_at_second_call, 0); /* none before success */
    assert_int_equal(commit_calls, 1);
    assert_int_equal(stats.batches, 1);
    assert_int_equal(stats.messages, 3);
    assert_int_equal(stats.retries, 1);
    /* The batch's time counts its retry and the 50 ms back-off before it
     * (the shutdown line's batch_max_ms). */
    assert_int_equal(stats.batch_us.count, 1);
    assert_true(rv_hist_quantile(&stats.batch_us, 1.0) >= 50000);
    assert_int_equal(stats.tick_us.count, 0);
    /* One flush and one commit: the failed attempt stopped before its
     * flush; both within the batch's time. */
    assert_int_equal(stats.flush_us.count, 1);
    assert_int_equal(stats.commit_us.count, 1);
    assert_true(stats.flush_us.sum_us + stats.commit_us.sum_us <=
                stats.batch_us.sum_us);
    rv_consumer_close(kc);
    rv_producer_close(kp, FLUSH_MS);

    /* The group's committed offset is the one after the batch. */
    assert_int_equal(committed_offset(fx, "g.c", ctx.partition),
                     ctx.offsets[2] + 1);
}

/* (d) Effects done but the commit failed: only the commit is retried.
 * Then, stopped while the batch fn keeps failing, the runner gives up
 * after the back-off has been at its max 3 times, without committing;
 * stopped while only the commit keeps failing, it hands the batch over
 * uncommitted and returns RV_OK. */
struct stuck_ctx {
    int calls;
    int is_stuck; /* every call fails */
    int64_t first_offset;
};

static rv_err stuck_batch(void *ctx, const rv_msg *msgs, size_t count,
                          rv_producer *kp)
{
    (void)count;
    (void)kp;
    struct stuck_ctx *c = ctx;
    c->calls++;
    c->first_offset = msgs[0].offset;
    rv_stop_request(); /* the batch in flight must still be finished */
    return c->is_stuck ? RV_ERR_UNAVAILABLE : RV_OK;
}

/* Issue 8: a tick that leaves due work (*more) is called again after the
 * next poll, not tick_ms later, and does not starve the batches. */
struct slice_ctx {
    int ticks;
    int batches;
    int ticks_after_batch;
};

static rv_err slicing_tick(void *ctx, rv_producer *kp, bool *more)
{
    (void)kp;
    struct slice_ctx *c = ctx;
    c->ticks++;
    if (c->batches > 0) {
        c->ticks_after_batch++;
        rv_stop_request();
        return RV_OK;
    }
    *more = true; /* a backlog: slice after slice until the batch came */
    return RV_OK;
}

static rv_err counting_batch(void *ctx, const rv_msg *msgs, size_t count,
                             rv_producer *kp)
{
    (void)msgs;
    (void)count;
    (void)kp;
    struct slice_ctx *c = ctx;
    c->batches++;
    return RV_OK;
}

static void test_kafka_runner_tick_slices(void **state)
{
    struct fx *fx = *state;
    rv_producer *kp = open_producer(fx);
    send_text(kp, "t.in", "k", "s1");
    assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);
    rv_consumer *kc = open_consumer(fx, "g.slices");
    struct slice_ctx ctx = {0};
    /* Ticks every minute: without slices the second tick would come
     * after the test's time limit. */
    rv_runner_opts opts = {.batch_max = 100,
                           .poll_timeout_ms = 1000,
                           .flush_timeout_ms = FLUSH_MS,
                           .backoff_max_ms = 1000,
                           .on_tick = slicing_tick,
                           .tick_ms = 60000};
    rv_runner_stats stats = {0};
    int64_t t0 = now_ms();
    assert_int_equal(rv_runner_run(kc, kp, counting_batch, &ctx, &opts, &stats),
                     RV_OK);
    assert_true(now_ms() - t0 < 30000);
    assert_int_equal(ctx.batches, 1);
    assert_true(ctx.ticks >= 2);
    assert_int_equal(ctx.ticks_after_batch, 1);
    assert_int_equal(stats.tick_us.count, (uint64_t)ctx.ticks);
    rv_consumer_close(kc);
    rv_producer_close(kp, FLUSH_MS);
}

static void test_kafka_runner_commit_retry_and_stop_give_up(void **state)
{
    struct fx *fx = *state;
    rv_producer *kp = open_producer(fx);
    send_text(kp, "t.in", "same", "x1");
    assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);

    /* The next OffsetCommit (API key 8) fails, permanently for librdkafka
     * so that it reaches us instead of being retried inside. */
    rd_kafka_mock_push_request_errors(
        fx->mc, 8, 1, RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
    rv_consumer *kc = open_consumer(fx, "g.d");
    struct stuck_ctx ctx = {0};
    rv_runner_opts opts = {.batch_max = 100,
                           .poll_timeout_ms = 200,
                           .flush_timeout_ms = FLUSH_MS,
                           .backoff_max_ms = 100};
    rv_runner_stats stats = {0};
    assert_int_equal(rv_runner_run(kc, kp, stuck_batch, &ctx, &opts, &stats),
                     RV_OK);
    assert_int_equal(ctx.calls, 1);
    assert_int_equal(commit_calls, 2);
    assert_int_equal(stats.batches, 1);
    assert_int_equal(stats.retries, 1);
    int32_t partition = 0;
    int64_t committed = -1;
    for (int32_t p = 0; p < 2 && committed < 0; p++) {
        committed = committed_offset(fx, "g.d", p);
        partition = p;
    }
    assert_int_equal(committed, ctx.first_offset + 1);

    rv_stop_reset();
    send_text(kp, "t.in", "same", "x2");
    assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);
    ctx = (struct stuck_ctx){.is_stuck = 1};
    int64_t start_ms = now_ms();
    assert_int_equal(rv_runner_run(kc, kp, stuck_batch, &ctx, &opts, &stats),
                     RV_ERR_UNAVAILABLE);
    /* Back-offs 50, 100, 100, 100: the third time at the max gives up. */
    assert_int_equal(ctx.calls, 4);
    assert_int_equal(stats.retries, 3);
    assert_int_equal(stats.batches, 0);
    assert_true(now_ms() - start_ms < 5000);
    assert_int_equal(commit_calls, 2);

    /* Stopped with the effects durable and every commit refused (the
     * group moved on): the batch is left to the next owner, a clean
     * hand-over, RV_OK. Back-offs 50, 100, 100: four commits fail. */
    rv_stop_reset();
    send_text(kp, "t.in", "same", "x3");
    assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);
    rd_kafka_mock_push_request_errors(
        fx->mc, 8, 4, RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
        RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
        RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
        RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
    ctx = (struct stuck_ctx){0};
    assert_int_equal(rv_runner_run(kc, kp, stuck_batch, &ctx, &opts, &stats),
                     RV_OK);
    assert_int_equal(ctx.calls, 1);
    assert_int_equal(commit_calls, 6);
    assert_int_equal(stats.batches, 1); /* handled; its effects durable */
    rv_consumer_close(kc);
    rv_producer_close(kp, FLUSH_MS);
    assert_int_equal(committed_offset(fx, "g.d", partition), committed);
}

/* argv[1], if given, runs only the tests matching that name (CTest runs
 * one case per process, so that the cases' group joins overlap). */
/* Issue 7 (replay verify): the mock cluster keeps 5 MiB a partition and
 * deletes the oldest message sets past it, as the development broker
 * does. A range that follows a topic while it is written reads every
 * message, the ones past the end seen at open included (lost 0); a range
 * opened from offset 0 afterwards counts what the broker deleted
 * (rv_kafka_range_lost) instead of starting at the log start without a
 * word. */
#define BIG_MSG_BYTES (64 * 1024)
static char prop_fetch_wait[] = "fetch.wait.max.ms";
static char val_fetch_wait[] = "10";
#define BIG_MSG_COUNT 128 /* 8 MiB in one partition */

/* The next message of @p r within @p wait_ms; false if none came. */
static bool range_take(rv_kafka_range *r, int wait_ms, int64_t *offset)
{
    rv_msg m;
    bool done = false;
    rv_err err = rv_kafka_range_next(r, wait_ms, &m, &done);
    if (err == RV_ERR_TIMEOUT || done) {
        return false;
    }
    assert_int_equal(err, RV_OK);
    *offset = m.offset;
    return true;
}

static void test_kafka_range_follow_and_lost(void **state)
{
    struct fx *fx = *state;
    rv_producer *kp = open_producer(fx);
    uint8_t *payload = calloc(1, BIG_MSG_BYTES);
    assert_non_null(payload);
    char errstr[256] = "";
    /* A fetch at the end of the log waits 10 ms for more, not 500. */
    char *names[] = {prop_bootstrap, prop_fetch_wait};
    char *values[] = {fx->bootstraps, val_fetch_wait};
    rv_props rprops = {2, names, values};
    rv_kafka_range *r = NULL;
    assert_int_equal(rv_kafka_range_open(&rprops, "t.out", NULL, 0, FLUSH_MS,
                                         &r, errstr, sizeof(errstr)),
                     RV_OK);
    rv_kafka_range_follow(r);
    int64_t got = 0, offset = -1;
    for (int i = 0; i < BIG_MSG_COUNT; i++) {
        payload[0] = (uint8_t)i;
        assert_int_equal(
            rv_producer_send(kp, "t.out", "k", payload, BIG_MSG_BYTES, NULL, 0),
            RV_OK);
        assert_int_equal(rv_producer_flush(kp, FLUSH_MS), RV_OK);
        /* A reader that keeps up: at most 1 MiB behind the writer. */
        if ((i + 1) % 16 != 0 && i + 1 < BIG_MSG_COUNT) {
            continue;
        }
        int64_t t0 = now_ms();
        while (got <= i && now_ms() - t0 < WAIT_MAX_MS) {
            if (range_take(r, 100, &offset)) {
                assert_int_equal(offset, got);
                got++;
            }
        }
        assert_int_equal(got, i + 1);
    }
    assert_int_equal(
        rv_kafka_range_end_now(r, FLUSH_MS, errstr, sizeof(errstr)), RV_OK);
    assert_false(range_take(r, FLUSH_MS, &offset)); /* done */
    assert_int_equal(got, BIG_MSG_COUNT);
    assert_int_equal(rv_kafka_range_lost(r), 0);
    rv_kafka_range_close(r);

    /* Afterwards, from offset 0: the first messages are gone, counted. */
    r = NULL;
    assert_int_equal(rv_kafka_range_open(&rprops, "t.out", NULL, 0, FLUSH_MS,
                                         &r, errstr, sizeof(errstr)),
                     RV_OK);
    int64_t late = 0;
    while (range_take(r, FLUSH_MS, &offset)) {
        late++;
    }
    assert_true(rv_kafka_range_lost(r) > 0);
    assert_int_equal(late + rv_kafka_range_lost(r), BIG_MSG_COUNT);
    rv_kafka_range_close(r);
    free(payload);
    rv_producer_close(kp, FLUSH_MS);
}

/* What rv_kafka_check_config reported: "key: why" lines. */
typedef struct problems {
    int count;
    char text[2048];
} problems;

static void collect(void *arg, const char *key, const char *why)
{
    problems *p = arg;
    size_t len = strlen(p->text);
    snprintf(p->text + len, sizeof(p->text) - len, "%s: %s\n", key, why);
    p->count++;
}

/* rv_props owns non-const strings: copies of a test's literals. */
#define PROPS_MAX 8
typedef struct owned_props {
    char *names[PROPS_MAX];
    char *values[PROPS_MAX];
    rv_props props;
} owned_props;

static void props_make(owned_props *o, const char *const *names,
                       const char *const *values, size_t n)
{
    assert_true(n <= PROPS_MAX);
    for (size_t i = 0; i < n; i++) {
        o->names[i] = strdup(names[i]);
        o->values[i] = strdup(values[i]);
        assert_non_null(o->names[i]);
        assert_non_null(o->values[i]);
    }
    o->props = (rv_props){n, o->names, o->values};
}

static void props_drop(owned_props *o)
{
    for (size_t i = 0; i < o->props.count; i++) {
        free(o->names[i]);
        free(o->values[i]);
    }
}

/* rv_kafka_check_config on @p n properties; its result, problems in *p. */
static rv_err check_props(const char *const *names, const char *const *values,
                          size_t n, const char *group_id, problems *p)
{
    owned_props o;
    props_make(&o, names, values, n);
    *p = (problems){0};
    rv_err err =
        rv_kafka_check_config(&o.props, "checker", group_id, collect, p);
    props_drop(&o);
    return err;
}

static void expect_problem(const problems *p, const char *want)
{
    if (strstr(p->text, want) == NULL) {
        fail_msg("problems \"%s\" lack \"%s\"", p->text, want);
    }
}

/* Tester finding 9: --check-config builds the producer's and the
 * consumer's librdkafka configuration as the clients do (conf_build),
 * naming every bad property once, and creates each client without a
 * broker, so that librdkafka's checks of properties together run. No
 * cluster: nothing connects. */
static void test_kafka_conf_check(void **state)
{
    (void)state;
    problems p = {0};
    /* Good: none, ours, and a default overridden consistently. */
    assert_int_equal(rv_kafka_check_config(NULL, "checker", "g", collect, &p),
                     RV_OK);
    static const char *const good_n[] = {"bootstrap.servers", "linger.ms",
                                         "enable.idempotence", "acks",
                                         "session.timeout.ms"};
    static const char *const good_v[] = {"127.0.0.1:1", "5", "false", "1",
                                         "30000"};
    assert_int_equal(check_props(good_n, good_v, 5, "g", &p), RV_OK);
    assert_int_equal(p.count, 0);

    /* Every bad key and value, each once (producer and consumer). */
    static const char *const bad_n[] = {
        "bogus.key", "linger.ms", "auto.offset.reset", "bootstrap.servers"};
    static const char *const bad_v[] = {"1", "abc", "sometimes", "127.0.0.1:1"};
    assert_int_equal(check_props(bad_n, bad_v, 4, "g", &p), RV_ERR_INVALID);
    assert_int_equal(p.count, 3);
    expect_problem(&p, "kafka.bogus.key: No such configuration property");
    expect_problem(&p, "kafka.linger.ms: Invalid value");
    expect_problem(&p, "kafka.auto.offset.reset: Invalid value");

    /* Accepted one by one, refused together: acks=1 against our
     * enable.idempotence=true, which rd_kafka_new checks. Only the
     * producer minds acks. */
    static const char *const acks_n[] = {"acks"};
    static const char *const acks_v[] = {"1"};
    assert_int_equal(check_props(acks_n, acks_v, 1, "g", &p), RV_ERR_INVALID);
    assert_int_equal(p.count, 1);
    expect_problem(&p, "kafka: producer: `acks` must be set to `all`");

    /* A file librdkafka reads when the client is created: both clients
     * refuse it alike, said once. */
    static const char *const ssl_n[] = {"security.protocol", "ssl.ca.location"};
    static const char *const ssl_v[] = {"ssl", "/nonexistent/ca.pem"};
    assert_int_equal(check_props(ssl_n, ssl_v, 2, "g", &p), RV_ERR_INVALID);
    assert_int_equal(p.count, 1);
    expect_problem(&p, "kafka: producer: ssl.ca.location");

    /* An empty group. */
    assert_int_equal(check_props(good_n, good_v, 1, "", &p), RV_ERR_INVALID);
    expect_problem(&p, "group.id: is empty");

    /* The clients build their configuration the same way: the first bad
     * property stops them, named alike, before any connection. */
    owned_props o;
    props_make(&o, bad_n, bad_v, 4);
    char errstr[256] = "";
    rv_producer *kp = NULL;
    assert_int_equal(
        rv_producer_open(&o.props, "checker", &kp, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "kafka.bogus.key: No such configuration"));
    assert_null(kp);
    props_drop(&o);
    props_make(&o, bad_n + 1, bad_v + 1, 3);
    rv_consumer *kc = NULL;
    const char *topics[] = {"t"};
    assert_int_equal(
        rv_consumer_open(&o.props, "g", topics, 1, &kc, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "kafka.linger.ms: Invalid value"));
    assert_null(kc);
    props_drop(&o);
}

int main(int argc, char **argv)
{
    rv_log_init("test_kafka",
                getenv(DEBUG_ENV) != NULL ? RV_LOG_DEBUG : RV_LOG_INFO,
                RV_LOG_LOGFMT);
    if (argc > 1) {
        cmocka_set_test_filter(argv[1]);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kafka_consume_commit_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_kafka_runner_dead_letters_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kafka_runner_retries_same_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_kafka_runner_commit_retry_and_stop_give_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kafka_runner_tick_slices, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kafka_range_follow_and_lost, setup,
                                        teardown),
        cmocka_unit_test(test_kafka_conf_check),
    };
    return cmocka_run_group_tests_name("kafka", tests, NULL, NULL);
}
