/* common/kafka.c: the librdkafka wrapper (producer, DLQ, batch consumer).
 * Workers never include <librdkafka/rdkafka.h>; this file wraps it. */
#include "rv/kafka.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "rv/log.h"

/* How long rv_producer_send waits for room when the local queue is full:
 * QUEUE_FULL_RETRIES polls of QUEUE_FULL_POLL_MS each. */
#define QUEUE_FULL_RETRIES 10
#define QUEUE_FULL_POLL_MS 100
/* The first allocation of a batch's arrays; they double up to max_msgs. */
#define BATCH_INITIAL_CAP 64
/* How long rv_producer_open waits for the cluster's topics (see there). */
#define PRODUCER_METADATA_WAIT_MS 1000
/* Longest decimal int64 plus sign and NUL. */
#define INT64_TEXT_BYTES 24

struct rv_producer {
    rd_kafka_t *rk;
    char topic_prefix[RV_TOPIC_PREFIX_SIZE]; /* before every topic name */
    char client_id[64];    /* rv.dead_lettered_by on dead letters */
    uint64_t failed_count; /* delivery failures since the last flush */
    rv_log_ratelimit dr_rl;
    rv_log_ratelimit err_rl;
};

/* Longest wait in rv_consumer_close for a first assignment, ms. */
#define CLOSE_ASSIGN_WAIT_MS 15000

struct rv_consumer {
    rd_kafka_t *rk;
    /* The current batch: messages kept until commit or release, and the
     * rv_msg views handed out (msgs[i] points into kept[i]). */
    rd_kafka_message_t **kept;
    rv_msg *msgs;
    size_t count;
    size_t cap;
    /* Partitions revoked since the current batch started polling; their
     * offsets are not committed (their new owner re-processes them). */
    rd_kafka_topic_partition_list_t *revoked;
    rv_log_ratelimit err_rl;
    rv_log_ratelimit commit_rl;
    /* The first assignment (maybe empty) has been served. */
    bool assigned_once;
    /* Where an assigned partition starts, if the caller keeps it. */
    rv_position_fn position_fn;
    void *position_ctx;
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* librdkafka's syslog levels (0 emerg .. 7 debug) to ours. */
static rv_log_level log_level_of(int syslog_level)
{
    if (syslog_level <= 3) {
        return RV_LOG_ERROR;
    }
    if (syslog_level == 4) {
        return RV_LOG_WARN;
    }
    if (syslog_level <= 6) {
        return RV_LOG_INFO;
    }
    return RV_LOG_DEBUG;
}

/* Called from librdkafka's own threads: rv_log_emit is thread-safe.
 * librdkafka already suppresses its most repetitive lines. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    rv_log_level lvl = log_level_of(level);
    RV_LOG(lvl, "kafka_log", RV_KV_STR("lib", "rdkafka"),
           RV_KV_STR("client", rd_kafka_name(rk)), RV_KV_STR("fac", fac),
           RV_KV_STR("msg", buf));
}

/* Served on the thread that polls the handle. Transient errors (broker
 * down, all brokers down) recover by themselves: warn, rate-limited. A
 * fatal error is logged once here; the caller learns it as RV_ERR_FATAL. */
static void log_kafka_error(rd_kafka_t *rk, rv_log_ratelimit *rl, int err,
                            const char *reason)
{
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal_reason[512];
        rd_kafka_resp_err_t orig =
            rd_kafka_fatal_error(rk, fatal_reason, sizeof(fatal_reason));
        RV_LOG(RV_LOG_ERROR, "kafka_fatal",
               RV_KV_STR("client", rd_kafka_name(rk)),
               RV_KV_STR("err", rd_kafka_err2name(orig)),
               RV_KV_STR("reason", fatal_reason));
        return;
    }
    uint64_t suppressed = 0;
    if (!rv_log_ratelimit_allow(rl, &suppressed)) {
        return;
    }
    RV_LOG(RV_LOG_WARN, "kafka_error", RV_KV_STR("client", rd_kafka_name(rk)),
           RV_KV_STR("err", rd_kafka_err2name((rd_kafka_resp_err_t)err)),
           RV_KV_STR("reason", reason), RV_KV_INT("suppressed", suppressed));
}

static void on_producer_error(rd_kafka_t *rk, int err, const char *reason,
                              void *opaque)
{
    rv_producer *kp = opaque;
    log_kafka_error(rk, &kp->err_rl, err, reason);
}

static void on_consumer_error(rd_kafka_t *rk, int err, const char *reason,
                              void *opaque)
{
    rv_consumer *kc = opaque;
    log_kafka_error(rk, &kc->err_rl, err, reason);
}

/* Our producer settings, under the configured properties: the producer
 * is idempotent, so a batch resent after a lost acknowledgement is
 * written once. */
static const char *const producer_defaults[] = {
    "enable.idempotence", "true", "acks", "all", NULL,
};

/* Our consumer settings, under the configured properties.
 * fetch.wait.max.ms: how long a broker holds an empty fetch; low so
 * that a batch's last poll does not stall behind an idle partition
 * (the mock cluster waits the full time). session.timeout.ms: a
 * replica that died is replaced within 10 s, and a rebalance stuck
 * behind a member that left mid-join resolves before the close wait
 * (CLOSE_ASSIGN_WAIT_MS) runs out. queued.max.messages.kbytes: the
 * read-ahead kept in memory, 4 MiB instead of librdkafka's 64 MiB,
 * which made most of a worker's peak RSS (issue 8: sampler 64.6 ->
 * 37.6 MB, recorder 100.7 -> 33.1 MB over 100,000 sales); a batch
 * needs far less. partition.assignment.strategy: roundrobin (eager),
 * not cooperative-sticky: librdkafka before 2.3.0 (Debian 12 ships
 * 2.0.2) aborts in rd_kafka_sticky_assignor_state_destroy when a
 * cooperative consumer stops before its first assignment
 * (librdkafka issue 4312), which it_chaos_lite hit with a replica
 * leaving during a rebalance. */
static const char *const consumer_defaults[] = {
    "queued.max.messages.kbytes",
    "4096",
    "enable.auto.commit",
    "false",
    "enable.auto.offset.store",
    "false",
    "auto.offset.reset",
    "earliest",
    "partition.assignment.strategy",
    "roundrobin",
    "fetch.wait.max.ms",
    "100",
    "session.timeout.ms",
    "10000",
    NULL,
};

/* Where conf_build's problems go: the first into errstr (and building
 * stops), or, with a report function, each one to it (and building goes
 * on, so that every bad property is named). */
typedef struct conf_sink {
    char *errstr;
    size_t errstr_size;
    rv_cfg_report_fn report; /* NULL: errstr, stop at the first */
    void *report_arg;
    /* With report: one flag a configured property, set once it was
     * reported, so a check of two confs names it once. */
    bool *reported;
} conf_sink;

/* Applies name=value; on failure tells @p sink (under @p key, the
 * configuration key it came from) and returns INVALID. */
static rv_err conf_set(rd_kafka_conf_t *conf, const char *name,
                       const char *value, const char *key, bool *reported,
                       const conf_sink *sink)
{
    char kerr[256];
    if (rd_kafka_conf_set(conf, name, value, kerr, sizeof(kerr)) ==
        RD_KAFKA_CONF_OK) {
        return RV_OK;
    }
    if (sink->report == NULL) {
        rv_errf(sink->errstr, sink->errstr_size, "%s: %s", key, kerr);
    } else if (reported == NULL || !*reported) {
        sink->report(sink->report_arg, key, kerr);
        if (reported != NULL) {
            *reported = true;
        }
    }
    return RV_ERR_INVALID;
}

/* The configuration of a producer (client.id @p id) or a consumer
 * (group.id and client.id @p id): the ids, our defaults, then the
 * configured properties on top, so that configuration may override any
 * default. rv_producer_open, rv_consumer_open and rv_kafka_check_config
 * all build theirs here, so a checked configuration is the one that
 * runs. On RV_OK *out is the new conf (the caller's, destroyed by
 * rd_kafka_new or rd_kafka_conf_destroy). */
static rv_err conf_build(rd_kafka_type_t type, const char *id,
                         const rv_props *kafka, const conf_sink *sink,
                         rd_kafka_conf_t **out)
{
    bool is_consumer = type == RD_KAFKA_CONSUMER;
    const char *const *defaults =
        is_consumer ? consumer_defaults : producer_defaults;
    rv_err worst = RV_OK;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (is_consumer) {
        worst = conf_set(conf, "group.id", id, "group.id", NULL, sink);
    }
    if (worst == RV_OK && id != NULL) {
        worst = conf_set(conf, "client.id", id, "kafka.client.id", NULL, sink);
    }
    for (size_t i = 0; worst == RV_OK && defaults[i] != NULL; i += 2) {
        char key[128];
        snprintf(key, sizeof(key), "kafka.%s", defaults[i]);
        worst = conf_set(conf, defaults[i], defaults[i + 1], key, NULL, sink);
    }
    for (size_t i = 0; kafka != NULL && i < kafka->count; i++) {
        if (worst != RV_OK && sink->report == NULL) {
            break;
        }
        char key[256];
        snprintf(key, sizeof(key), "kafka.%s", kafka->names[i]);
        rv_err err =
            conf_set(conf, kafka->names[i], kafka->values[i], key,
                     sink->reported != NULL ? &sink->reported[i] : NULL, sink);
        if (err != RV_OK) {
            worst = err;
        }
    }
    if (worst != RV_OK) {
        rd_kafka_conf_destroy(conf);
        return worst;
    }
    *out = conf;
    return RV_OK;
}

/* ------------------------------------------------------------------ */
/* Configuration check */

/* The check's clients log that they have no bootstrap servers (removed on
 * purpose) and which properties belong to the other kind of client (the
 * same properties go to both): nothing of that is a configuration
 * problem, and the check runs before logging is set up. */
static void on_check_log(const rd_kafka_t *rk, int level, const char *fac,
                         const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

/* One client's configuration as conf_build makes it, each refused
 * property reported; then the client itself, created without a broker to
 * connect to, so that rd_kafka_new checks the properties together (acks
 * against enable.idempotence, the ssl.* files) as it will at start.
 * @p last holds the previous client's refusal, so one shared by producer
 * and consumer is reported once. */
static rv_err check_client(rd_kafka_type_t type, const char *id,
                           const rv_props *kafka, bool *reported, char *last,
                           size_t last_size, rv_cfg_report_fn report,
                           void *report_arg)
{
    const conf_sink sink = {
        .report = report, .report_arg = report_arg, .reported = reported};
    rd_kafka_conf_t *conf = NULL;
    rv_err err = conf_build(type, id, kafka, &sink, &conf);
    if (err != RV_OK) {
        return err; /* each refused property is reported */
    }
    char kerr[256] = "";
    if (rd_kafka_conf_set(conf, "bootstrap.servers", "", kerr, sizeof(kerr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        report(report_arg, "kafka.bootstrap.servers", kerr);
        return RV_ERR_INVALID;
    }
    rd_kafka_conf_set_log_cb(conf, on_check_log);
    rd_kafka_t *rk = rd_kafka_new(type, conf, kerr, sizeof(kerr));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf); /* not taken on failure */
        if (strcmp(kerr, last) != 0) {
            char why[320];
            snprintf(why, sizeof(why), "%s: %s",
                     type == RD_KAFKA_CONSUMER ? "consumer" : "producer", kerr);
            report(report_arg, "kafka", why);
            snprintf(last, last_size, "%s", kerr);
        }
        return RV_ERR_INVALID;
    }
    rd_kafka_destroy(rk);
    return RV_OK;
}

rv_err rv_kafka_check_config(const rv_props *kafka, const char *client_id,
                             const char *group_id, rv_cfg_report_fn report,
                             void *report_arg)
{
    size_t count = kafka != NULL ? kafka->count : 0;
    bool *reported = calloc(count + 1, sizeof(*reported));
    if (reported == NULL) {
        return RV_ERR_NOMEM;
    }
    rv_err worst = RV_OK;
    char last[256] = "";
    if (group_id == NULL || group_id[0] == '\0') {
        report(report_arg, "group.id", "is empty");
        worst = RV_ERR_INVALID;
    }
    rv_err err = check_client(RD_KAFKA_PRODUCER, client_id, kafka, reported,
                              last, sizeof(last), report, report_arg);
    if (err != RV_OK) {
        worst = err;
    }
    if (group_id != NULL && group_id[0] != '\0') {
        err = check_client(RD_KAFKA_CONSUMER, group_id, kafka, reported, last,
                           sizeof(last), report, report_arg);
        if (err != RV_OK) {
            worst = err;
        }
    }
    free(reported);
    return worst;
}

/* ------------------------------------------------------------------ */
/* Producer */

/* Served by rd_kafka_poll/rd_kafka_flush on the producer's thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                        void *opaque)
{
    (void)rk;
    rv_producer *kp = opaque;
    if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }
    kp->failed_count++;
    uint64_t suppressed = 0;
    if (rv_log_ratelimit_allow(&kp->dr_rl, &suppressed)) {
        RV_LOG(RV_LOG_WARN, "delivery_failed",
               RV_KV_STR("topic", rd_kafka_topic_name(rkm->rkt)),
               RV_KV_INT("partition", rkm->partition),
               RV_KV_STR("err", rd_kafka_err2name(rkm->err)),
               RV_KV_INT("suppressed", suppressed));
    }
}

rv_err rv_producer_open(const rv_props *kafka, const char *client_id,
                        rv_producer **out, char *errstr, size_t errstr_size)
{
    rv_err err = RV_ERR_NOMEM;
    rd_kafka_conf_t *conf = NULL;
    rv_producer *kp = calloc(1, sizeof(*kp));
    if (kp == NULL) {
        rv_errf(errstr, errstr_size, "producer: out of memory");
        goto out;
    }
    const conf_sink sink = {.errstr = errstr, .errstr_size = errstr_size};
    err = conf_build(RD_KAFKA_PRODUCER, client_id, kafka, &sink, &conf);
    if (err != RV_OK) {
        goto out;
    }
    size_t id_size = sizeof(kp->client_id);
    if (rd_kafka_conf_get(conf, "client.id", kp->client_id, &id_size) !=
        RD_KAFKA_CONF_OK) {
        kp->client_id[0] = '\0';
    }
    rd_kafka_conf_set_opaque(conf, kp);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_producer_error);
    rd_kafka_conf_set_log_cb(conf, on_log);

    char kerr[256];
    kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
    if (kp->rk == NULL) {
        rv_errf(errstr, errstr_size, "producer: %s", kerr);
        err = RV_ERR_INVALID;
        goto out;
    }
    conf = NULL; /* rd_kafka_new owns it now */
    /* Learn every topic's partitions and leaders now. In librdkafka
     * 2.0.2, rd_kafka_produceva creates a topic it has not seen without
     * querying its leader (rd_kafka_topic_new0, unlike
     * rd_kafka_topic_new), so the topic's first messages wait for the
     * main thread's 1 s topic scan to ask for its metadata: the first
     * batch of every worker took ~0.9 s (issue 8, bench.sh --latency;
     * fac=NOINFO "metadata information unknown" in the debug log). A
     * full metadata answer fills librdkafka's cache, from which a topic
     * produced to later takes its leader at once. A cluster that does
     * not answer in time is no error: the producer learns as before. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t merr =
        rd_kafka_metadata(kp->rk, 1, NULL, &md, PRODUCER_METADATA_WAIT_MS);
    if (merr == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
    } else {
        RV_LOG(RV_LOG_INFO, "producer_metadata_deferred",
               RV_KV_STR("client", kp->client_id),
               RV_KV_STR("err", rd_kafka_err2name(merr)));
    }
    *out = kp;
    kp = NULL;
    err = RV_OK;
out:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    free(kp);
    return err;
}

static rv_err err_from_produce(rd_kafka_resp_err_t kerr)
{
    switch (kerr) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return RV_OK;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return RV_ERR_FULL;
    case RD_KAFKA_RESP_ERR__FATAL:
        return RV_ERR_FATAL;
    default:
        /* Unknown topic or partition, message too large, bad argument:
         * sending the same message again cannot succeed. */
        return RV_ERR_INVALID;
    }
}

/* Queues one message; the payload, key and header values are copied.
 * hdrs (may be NULL) is taken on success and stays the caller's on
 * error. A full queue is drained by polling, briefly. */
static rv_err produce(rv_producer *kp, const char *topic, const void *key,
                      size_t key_len, const uint8_t *payload, size_t len,
                      rd_kafka_headers_t *hdrs)
{
    rd_kafka_vu_t vus[5];
    size_t n = 0;
    char prefixed[RV_TOPIC_PREFIX_SIZE + 256];
    if (kp->topic_prefix[0] != '\0') {
        int w = snprintf(prefixed, sizeof(prefixed), "%s%s", kp->topic_prefix,
                         topic);
        if (w < 0 || (size_t)w >= sizeof(prefixed)) {
            return RV_ERR_INVALID;
        }
        topic = prefixed;
    }
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[n++].u.cstr = topic;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n].u.mem.ptr = (void *)payload; /* copied: F_COPY */
    vus[n++].u.mem.size = payload != NULL ? len : 0;
    if (key != NULL) {
        vus[n].vtype = RD_KAFKA_VTYPE_KEY;
        vus[n].u.mem.ptr = (void *)key;
        vus[n++].u.mem.size = key_len;
    }
    if (hdrs != NULL) {
        vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
        vus[n++].u.headers = hdrs;
    }

    rd_kafka_resp_err_t kerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0;; attempt++) {
        rd_kafka_error_t *error = rd_kafka_produceva(kp->rk, vus, n);
        if (error == NULL) {
            kerr = RD_KAFKA_RESP_ERR_NO_ERROR;
            break;
        }
        kerr = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
        if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
            attempt == QUEUE_FULL_RETRIES) {
            break;
        }
        /* Serves delivery reports, which frees room in the queue. */
        rd_kafka_poll(kp->rk, QUEUE_FULL_POLL_MS);
    }
    /* Serve delivery reports so failures are counted early. */
    rd_kafka_poll(kp->rk, 0);
    return err_from_produce(kerr);
}

/* Adds name=value (NUL-terminated value, may be NULL). */
static void header_add(rd_kafka_headers_t *hdrs, const char *name,
                       const char *value)
{
    /* Only fails on a read-only header list, which a new one is not. */
    (void)rd_kafka_header_add(hdrs, name, -1, value,
                              value != NULL ? (ssize_t)strlen(value) : 0);
}

rv_err rv_producer_set_topic_prefix(rv_producer *kp, const char *prefix)
{
    size_t n = prefix != NULL ? strlen(prefix) : 0;
    if (n >= sizeof(kp->topic_prefix)) {
        return RV_ERR_INVALID;
    }
    memcpy(kp->topic_prefix, prefix != NULL ? prefix : "", n + 1);
    return RV_OK;
}

rv_err rv_producer_send(rv_producer *kp, const char *topic, const char *key,
                        const uint8_t *payload, size_t len,
                        const rv_header *headers, size_t header_count)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (header_count > 0) {
        hdrs = rd_kafka_headers_new(header_count);
        for (size_t i = 0; i < header_count; i++) {
            header_add(hdrs, headers[i].name, headers[i].value);
        }
    }
    rv_err err = produce(kp, topic, key, key != NULL ? strlen(key) : 0, payload,
                         len, hdrs);
    if (err == RV_OK) {
        hdrs = NULL; /* librdkafka owns them now */
    }
    if (hdrs != NULL) {
        rd_kafka_headers_destroy(hdrs);
    }
    return err;
}

rv_err rv_producer_send_dlq(rv_producer *kp, const rv_msg *src,
                            const char *reason)
{
    size_t topic_len = strlen(src->topic);
    char *dlq_topic = malloc(topic_len + sizeof(RV_DLQ_SUFFIX));
    if (dlq_topic == NULL) {
        return RV_ERR_NOMEM;
    }
    memcpy(dlq_topic, src->topic, topic_len);
    memcpy(dlq_topic + topic_len, RV_DLQ_SUFFIX, sizeof(RV_DLQ_SUFFIX));

    char partition[INT64_TEXT_BYTES];
    char offset[INT64_TEXT_BYTES];
    snprintf(partition, sizeof(partition), "%" PRId32, src->partition);
    snprintf(offset, sizeof(offset), "%" PRId64, src->offset);

    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(5);
    header_add(hdrs, RV_DLQ_HDR_REASON, reason != NULL ? reason : "");
    header_add(hdrs, RV_DLQ_HDR_BY, kp->client_id);
    header_add(hdrs, RV_DLQ_HDR_TOPIC, src->topic);
    header_add(hdrs, RV_DLQ_HDR_PARTITION, partition);
    header_add(hdrs, RV_DLQ_HDR_OFFSET, offset);

    rv_err err = produce(kp, dlq_topic, src->key, src->key_len, src->payload,
                         src->len, hdrs);
    if (err == RV_OK) {
        hdrs = NULL; /* librdkafka owns them now */
    }
    if (hdrs != NULL) {
        rd_kafka_headers_destroy(hdrs);
    }
    free(dlq_topic);
    return err;
}

rv_err rv_producer_flush(rv_producer *kp, int timeout_ms)
{
    rd_kafka_resp_err_t kerr = rd_kafka_flush(kp->rk, timeout_ms);
    uint64_t failed = kp->failed_count;
    /* A timed-out flush is retried by resending the batch: failures of
     * this round are not carried into the next one. */
    kp->failed_count = 0;
    if (rd_kafka_fatal_error(kp->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return RV_ERR_FATAL;
    }
    if (kerr == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        return RV_ERR_TIMEOUT;
    }
    if (failed > 0) {
        return RV_ERR_UNAVAILABLE;
    }
    return RV_OK;
}

void rv_producer_close(rv_producer *kp, int timeout_ms)
{
    if (kp == NULL) {
        return;
    }
    if (rd_kafka_flush(kp->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        RV_LOG(RV_LOG_WARN, "producer_close_unflushed",
               RV_KV_STR("client", rd_kafka_name(kp->rk)),
               RV_KV_INT("messages", rd_kafka_outq_len(kp->rk)),
               RV_KV_INT("timeout_ms", timeout_ms));
    }
    rd_kafka_destroy(kp->rk);
    free(kp);
}

/* ------------------------------------------------------------------ */
/* Consumer */

static bool is_listed(const rd_kafka_topic_partition_list_t *list,
                      const char *topic, int32_t partition)
{
    return rd_kafka_topic_partition_list_find(list, topic, partition) != NULL;
}

static bool batch_has_partition(const rv_consumer *kc, const char *topic,
                                int32_t partition)
{
    for (size_t i = 0; i < kc->count; i++) {
        if (kc->msgs[i].partition == partition &&
            strcmp(kc->msgs[i].topic, topic) == 0) {
            return true;
        }
    }
    return false;
}

static void log_rebalance_error(const char *what, rd_kafka_error_t *error)
{
    if (error == NULL) {
        return;
    }
    RV_LOG(RV_LOG_ERROR, "rebalance_failed", RV_KV_STR("op", what),
           RV_KV_STR("err", rd_kafka_error_name(error)),
           RV_KV_STR("reason", rd_kafka_error_string(error)));
    rd_kafka_error_destroy(error);
}

/* Served inside rd_kafka_consumer_poll and rd_kafka_consumer_close, on
 * the consumer's thread. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    rv_consumer *kc = opaque;
    const char *proto = rd_kafka_rebalance_protocol(rk);
    bool is_cooperative = proto != NULL && strcmp(proto, "COOPERATIVE") == 0;

    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        kc->assigned_once = true;
        /* A partition revoked and handed back during one batch stays
         * skipped if the batch already holds messages from before. */
        for (int i = 0; i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &parts->elems[i];
            if (!batch_has_partition(kc, p->topic, p->partition)) {
                rd_kafka_topic_partition_list_del(kc->revoked, p->topic,
                                                  p->partition);
            }
        }
        RV_LOG(RV_LOG_INFO, "partitions_assigned",
               RV_KV_INT("count", parts->cnt),
               RV_KV_STR("protocol", proto != NULL ? proto : "none"));
        rd_kafka_topic_partition_list_t *hint =
            kc->position_fn != NULL ? rd_kafka_topic_partition_list_new(8)
                                    : NULL;
        for (int i = 0; hint != NULL && i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t at =
                kc->position_fn(kc->position_ctx, p->topic, p->partition);
            if (at >= 0) {
                p->offset = at;
                rd_kafka_topic_partition_list_add(hint, p->topic, p->partition)
                    ->offset = at;
                RV_LOG(RV_LOG_INFO, "position_from_sink",
                       RV_KV_STR("topic", p->topic),
                       RV_KV_INT("partition", p->partition),
                       RV_KV_INT("offset", at));
            }
        }
        if (is_cooperative) {
            log_rebalance_error("incremental_assign",
                                rd_kafka_incremental_assign(rk, parts));
        } else {
            rd_kafka_resp_err_t kerr = rd_kafka_assign(rk, parts);
            if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
                RV_LOG(RV_LOG_ERROR, "rebalance_failed",
                       RV_KV_STR("op", "assign"),
                       RV_KV_STR("err", rd_kafka_err2name(kerr)));
            }
        }
        if (hint != NULL && hint->cnt > 0) {
            /* Bring the group's committed offset (a hint, and what lag
             * monitoring reads) to the sink's position. */
            (void)rd_kafka_commit(rk, hint, 1);
        }
        if (hint != NULL) {
            rd_kafka_topic_partition_list_destroy(hint);
        }
        break;

    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        for (int i = 0; i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &parts->elems[i];
            if (!is_listed(kc->revoked, p->topic, p->partition)) {
                rd_kafka_topic_partition_list_add(kc->revoked, p->topic,
                                                  p->partition);
            }
        }
        RV_LOG(RV_LOG_INFO, "partitions_revoked",
               RV_KV_INT("count", parts->cnt),
               RV_KV_BOOL("lost", rd_kafka_assignment_lost(rk)));
        if (is_cooperative) {
            log_rebalance_error("incremental_unassign",
                                rd_kafka_incremental_unassign(rk, parts));
        } else {
            (void)rd_kafka_assign(rk, NULL);
        }
        break;

    default:
        RV_LOG(RV_LOG_ERROR, "rebalance_failed", RV_KV_STR("op", "rebalance"),
               RV_KV_STR("err", rd_kafka_err2name(err)));
        (void)rd_kafka_assign(rk, NULL);
        break;
    }
}

void rv_consumer_set_position_fn(rv_consumer *kc, rv_position_fn fn, void *ctx)
{
    kc->position_fn = fn;
    kc->position_ctx = ctx;
}

rv_err rv_consumer_open(const rv_props *kafka, const char *group_id,
                        const char *const *topics, size_t topic_count,
                        rv_consumer **out, char *errstr, size_t errstr_size)
{
    rv_err err = RV_ERR_INVALID;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *subscription = NULL;
    rv_consumer *kc = NULL;

    if (group_id == NULL || *group_id == '\0') {
        rv_errf(errstr, errstr_size, "consumer: empty group.id");
        goto out;
    }
    if (topics == NULL || topic_count == 0) {
        rv_errf(errstr, errstr_size, "consumer %s: no topic to subscribe to",
                group_id);
        goto out;
    }
    for (size_t i = 0; i < topic_count; i++) {
        if (topics[i] == NULL || *topics[i] == '\0') {
            rv_errf(errstr, errstr_size, "consumer %s: topic %zu is empty",
                    group_id, i);
            goto out;
        }
    }

    err = RV_ERR_NOMEM;
    kc = calloc(1, sizeof(*kc));
    if (kc == NULL) {
        rv_errf(errstr, errstr_size, "consumer %s: out of memory", group_id);
        goto out;
    }
    kc->revoked = rd_kafka_topic_partition_list_new(4);

    const conf_sink sink = {.errstr = errstr, .errstr_size = errstr_size};
    err = conf_build(RD_KAFKA_CONSUMER, group_id, kafka, &sink, &conf);
    if (err != RV_OK) {
        goto out;
    }
    rd_kafka_conf_set_opaque(conf, kc);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_consumer_error);
    rd_kafka_conf_set_log_cb(conf, on_log);

    char kerr[256];
    kc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr));
    if (kc->rk == NULL) {
        rv_errf(errstr, errstr_size, "consumer %s: %s", group_id, kerr);
        err = RV_ERR_INVALID;
        goto out;
    }
    conf = NULL; /* rd_kafka_new owns it now */
    /* Errors, logs and rebalances are served by rd_kafka_consumer_poll. */
    rd_kafka_poll_set_consumer(kc->rk);

    subscription = rd_kafka_topic_partition_list_new((int)topic_count);
    for (size_t i = 0; i < topic_count; i++) {
        rd_kafka_topic_partition_list_add(subscription, topics[i],
                                          RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(kc->rk, subscription);
    if (serr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rv_errf(errstr, errstr_size, "consumer %s: subscribe: %s", group_id,
                rd_kafka_err2str(serr));
        err = RV_ERR_INVALID;
        goto out;
    }
    *out = kc;
    kc = NULL;
    err = RV_OK;
out:
    if (subscription != NULL) {
        rd_kafka_topic_partition_list_destroy(subscription);
    }
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    if (kc != NULL) {
        if (kc->rk != NULL) {
            rd_kafka_destroy(kc->rk);
        }
        rd_kafka_topic_partition_list_destroy(kc->revoked);
        free(kc);
    }
    return err;
}

void rv_consumer_release_batch(rv_consumer *kc)
{
    for (size_t i = 0; i < kc->count; i++) {
        rd_kafka_message_destroy(kc->kept[i]);
    }
    kc->count = 0;
}

/* Makes room for one more message, doubling up to max_msgs. */
static rv_err batch_reserve(rv_consumer *kc, size_t max_msgs)
{
    if (kc->count < kc->cap) {
        return RV_OK;
    }
    size_t cap = kc->cap == 0 ? BATCH_INITIAL_CAP : kc->cap * 2;
    if (cap > max_msgs) {
        cap = max_msgs;
    }
    if (cap <= kc->count || cap > SIZE_MAX / sizeof(rv_msg)) {
        return RV_ERR_NOMEM;
    }
    rd_kafka_message_t **kept = realloc(kc->kept, cap * sizeof(*kept));
    if (kept == NULL) {
        return RV_ERR_NOMEM;
    }
    kc->kept = kept;
    rv_msg *msgs = realloc(kc->msgs, cap * sizeof(*msgs));
    if (msgs == NULL) {
        return RV_ERR_NOMEM;
    }
    kc->msgs = msgs;
    kc->cap = cap;
    return RV_OK;
}

/* Keeps rkm (ownership moves to the batch) and builds its view. */
static void batch_keep(rv_consumer *kc, rd_kafka_message_t *rkm)
{
    rv_msg *m = &kc->msgs[kc->count];
    kc->kept[kc->count] = rkm;
    *m = (rv_msg){
        .topic = rd_kafka_topic_name(rkm->rkt),
        .partition = rkm->partition,
        .offset = rkm->offset,
        .timestamp_ms = rd_kafka_message_timestamp(rkm, NULL),
        .key = rkm->key,
        .key_len = rkm->key_len,
        .payload = rkm->payload,
        .len = rkm->len,
        .handle = rkm,
    };
    kc->count++;
}

/* A consumer error event: EOF is skipped, the rest logged (rate-limited;
 * the broker-level ones also reach on_consumer_error). */
static rv_err consumer_event(rv_consumer *kc, const rd_kafka_message_t *rkm)
{
    if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        return RV_OK;
    }
    if (rkm->err == RD_KAFKA_RESP_ERR__FATAL ||
        rd_kafka_fatal_error(kc->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return RV_ERR_FATAL;
    }
    uint64_t suppressed = 0;
    if (rv_log_ratelimit_allow(&kc->err_rl, &suppressed)) {
        RV_LOG(RV_LOG_WARN, "consumer_error",
               RV_KV_STR("topic",
                         rkm->rkt != NULL ? rd_kafka_topic_name(rkm->rkt) : ""),
               RV_KV_INT("partition", rkm->partition),
               RV_KV_STR("err", rd_kafka_err2name(rkm->err)),
               RV_KV_STR("reason", rd_kafka_message_errstr(rkm)),
               RV_KV_INT("suppressed", suppressed));
    }
    return RV_OK;
}

rv_err rv_consumer_poll_batch(rv_consumer *kc, size_t max_msgs, int timeout_ms,
                              const rv_msg **msgs, size_t *count)
{
    /* A batch left over is dropped uncommitted, as release_batch would. */
    rv_consumer_release_batch(kc);
    /* Revocations count from the start of the batch. */
    while (kc->revoked->cnt > 0) {
        rd_kafka_topic_partition_list_del_by_idx(kc->revoked, 0);
    }
    if (max_msgs == 0) {
        max_msgs = 1;
    }
    if (timeout_ms < 0) {
        timeout_ms = 0;
    }

    rv_err err = RV_OK;
    int64_t deadline_ms = monotonic_ms() + timeout_ms;
    while (kc->count < max_msgs) {
        /* Wait only for the first message; after it take what is ready. */
        int wait_ms = 0;
        if (kc->count == 0) {
            int64_t left_ms = deadline_ms - monotonic_ms();
            wait_ms = left_ms > 0 ? (int)left_ms : 0;
        }
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(kc->rk, wait_ms);
        if (rkm == NULL) {
            if (wait_ms == 0) {
                break;
            }
            continue; /* woken early: wait out the rest */
        }
        if (rkm->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            err = consumer_event(kc, rkm);
            rd_kafka_message_destroy(rkm);
            if (err != RV_OK) {
                goto out;
            }
            continue;
        }
        err = batch_reserve(kc, max_msgs);
        if (err != RV_OK) {
            rd_kafka_message_destroy(rkm);
            goto out;
        }
        batch_keep(kc, rkm);
    }
out:
    if (err != RV_OK) {
        rv_consumer_release_batch(kc);
        return err;
    }
    *msgs = kc->msgs;
    *count = kc->count;
    return RV_OK;
}

rv_err rv_consumer_commit_batch(rv_consumer *kc)
{
    if (kc->count == 0) {
        return RV_OK;
    }
    rd_kafka_topic_partition_list_t *offsets =
        rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < kc->count; i++) {
        const rv_msg *m = &kc->msgs[i];
        if (is_listed(kc->revoked, m->topic, m->partition)) {
            continue;
        }
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(offsets, m->topic, m->partition);
        if (p == NULL) {
            p = rd_kafka_topic_partition_list_add(offsets, m->topic,
                                                  m->partition);
            p->offset = m->offset + 1;
        } else if (m->offset + 1 > p->offset) {
            p->offset = m->offset + 1;
        }
    }

    rv_err err = RV_OK;
    if (offsets->cnt > 0) {
        rd_kafka_resp_err_t kerr = rd_kafka_commit(kc->rk, offsets, 0);
        if (kerr == RD_KAFKA_RESP_ERR__FATAL ||
            rd_kafka_fatal_error(kc->rk, NULL, 0) !=
                RD_KAFKA_RESP_ERR_NO_ERROR) {
            err = RV_ERR_FATAL;
        } else if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR &&
                   kerr != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            uint64_t suppressed = 0;
            if (rv_log_ratelimit_allow(&kc->commit_rl, &suppressed)) {
                RV_LOG(RV_LOG_WARN, "commit_failed",
                       RV_KV_STR("err", rd_kafka_err2name(kerr)),
                       RV_KV_INT("partitions", offsets->cnt),
                       RV_KV_INT("suppressed", suppressed));
            }
            err = RV_ERR_UNAVAILABLE;
        }
    }
    rd_kafka_topic_partition_list_destroy(offsets);
    if (err == RV_OK) {
        rv_consumer_release_batch(kc);
    }
    return err;
}

/* librdkafka 2.0.2 aborts (rd_assert(assignor_state) in the sticky
 * assignor) when a consumer is destroyed after its JoinGroup response but
 * before its first SyncGroup assignment: the assignor is set, its state
 * not yet (librdkafka issue #4312, fixed in 2.3.0). So a consumer that
 * never got an assignment serves the group a bounded while first. The
 * messages polled meanwhile are dropped uncommitted: their next owner
 * reads them again. */
static void wait_first_assignment(rv_consumer *kc)
{
    if (kc->assigned_once) {
        return;
    }
    int64_t deadline = monotonic_ms() + CLOSE_ASSIGN_WAIT_MS;
    while (!kc->assigned_once && monotonic_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(kc->rk, 100);
        if (rkm != NULL) {
            rd_kafka_message_destroy(rkm);
        }
    }
    if (!kc->assigned_once) {
        RV_LOG(RV_LOG_WARN, "close_before_assignment",
               RV_KV_STR("client", rd_kafka_name(kc->rk)),
               RV_KV_INT("waited_ms", CLOSE_ASSIGN_WAIT_MS));
    }
}

void rv_consumer_close(rv_consumer *kc)
{
    if (kc == NULL) {
        return;
    }
    /* Children before their parent: messages before the handle. */
    rv_consumer_release_batch(kc);
    wait_first_assignment(kc);
    rd_kafka_resp_err_t kerr = rd_kafka_consumer_close(kc->rk);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        RV_LOG(RV_LOG_WARN, "consumer_close_failed",
               RV_KV_STR("client", rd_kafka_name(kc->rk)),
               RV_KV_STR("err", rd_kafka_err2name(kerr)));
    }
    rd_kafka_destroy(kc->rk);
    rd_kafka_topic_partition_list_destroy(kc->revoked);
    free(kc->kept);
    free(kc->msgs);
    free(kc);
}

const char *rv_msg_header(const rv_msg *m, const char *name, char *buf,
                          size_t buf_size)
{
    if (m == NULL || m->handle == NULL || name == NULL || buf == NULL ||
        buf_size == 0) {
        return NULL;
    }
    /* librdkafka parses the headers lazily into the message itself, hence
     * the non-const pointer; the batch owns the message until release. */
    rd_kafka_message_t *rkm = (rd_kafka_message_t *)m->handle;
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return NULL;
    }
    const void *value = NULL;
    size_t size = 0;
    if (rd_kafka_header_get_last(hdrs, name, &value, &size) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        return NULL;
    }
    size_t n = value != NULL ? strnlen(value, size) : 0;
    if (n > buf_size - 1) {
        n = buf_size - 1;
    }
    if (n > 0) {
        memcpy(buf, value, n);
    }
    buf[n] = '\0';
    return buf;
}
