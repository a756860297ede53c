/* common/kafka_lag.c: committed offsets vs. watermarks of a group. */
#include "rv/kafka_lag.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static rv_err make_handle(const rv_props *kafka, const char *group_id,
                          rd_kafka_t **out, char *errstr, size_t errstr_size)
{
    char kerr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) {
        return RV_ERR_NOMEM;
    }
    /* auto.offset.reset: a read whose next offset the broker deleted
     * goes on from the log start, where rv_kafka_range_next sees the
     * gap, rather than jumping to the end. */
    if (rd_kafka_conf_set(conf, "group.id", group_id, kerr, sizeof(kerr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", kerr,
                          sizeof(kerr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", kerr,
                          sizeof(kerr)) != RD_KAFKA_CONF_OK) {
        rv_errf(errstr, errstr_size, "lag: %s", kerr);
        rd_kafka_conf_destroy(conf);
        return RV_ERR_INVALID;
    }
    for (size_t i = 0; kafka != NULL && i < kafka->count; i++) {
        if (rd_kafka_conf_set(conf, kafka->names[i], kafka->values[i], kerr,
                              sizeof(kerr)) != RD_KAFKA_CONF_OK) {
            rv_errf(errstr, errstr_size, "lag: kafka.%s: %s", kafka->names[i],
                    kerr);
            rd_kafka_conf_destroy(conf);
            return RV_ERR_INVALID;
        }
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr));
    if (rk == NULL) {
        rv_errf(errstr, errstr_size, "lag: %s", kerr);
        rd_kafka_conf_destroy(conf);
        return RV_ERR_INVALID;
    }
    *out = rk;
    return RV_OK;
}

/* Adds every partition of @p topic to @p parts (metadata request). */
static rv_err add_partitions(rd_kafka_t *rk, const char *topic,
                             rd_kafka_topic_partition_list_t *parts,
                             int timeout_ms, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr =
        rkt != NULL ? rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms)
                    : RD_KAFKA_RESP_ERR__INVALID_ARG;
    rv_err err = RV_OK;
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
        md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rv_errf(errstr, errstr_size, "lag: metadata of %s: %s", topic,
                rd_kafka_err2str(kerr != RD_KAFKA_RESP_ERR_NO_ERROR
                                     ? kerr
                                     : md->topics[0].err));
        err = RV_ERR_UNAVAILABLE;
    } else {
        for (int p = 0; p < md->topics[0].partition_cnt; p++) {
            rd_kafka_topic_partition_list_add(parts, topic,
                                              md->topics[0].partitions[p].id);
        }
    }
    if (md != NULL) {
        rd_kafka_metadata_destroy(md);
    }
    if (rkt != NULL) {
        rd_kafka_topic_destroy(rkt);
    }
    return err;
}

rv_err rv_kafka_group_lag(const rv_props *kafka, const char *group_id,
                          const char *const *topics, size_t topic_count,
                          int timeout_ms, int64_t *lag, int64_t *messages,
                          char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk = NULL;
    rv_err err = make_handle(kafka, group_id, &rk, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new((int)topic_count * 8);
    for (size_t t = 0; t < topic_count && err == RV_OK; t++) {
        err = add_partitions(rk, topics[t], parts, timeout_ms, errstr,
                             errstr_size);
    }
    if (err == RV_OK) {
        rd_kafka_resp_err_t kerr = rd_kafka_committed(rk, parts, timeout_ms);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rv_errf(errstr, errstr_size, "lag: committed offsets of %s: %s",
                    group_id, rd_kafka_err2str(kerr));
            err = RV_ERR_UNAVAILABLE;
        }
    }
    int64_t total_lag = 0, total_msgs = 0;
    for (int i = 0; err == RV_OK && i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t kerr = rd_kafka_query_watermark_offsets(
            rk, tp->topic, tp->partition, &low, &high, timeout_ms);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rv_errf(errstr, errstr_size, "lag: watermarks of %s/%d: %s",
                    tp->topic, (int)tp->partition, rd_kafka_err2str(kerr));
            err = RV_ERR_UNAVAILABLE;
            break;
        }
        int64_t from = tp->offset >= 0 ? tp->offset : low;
        total_lag += high > from ? high - from : 0;
        total_msgs += high;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    if (err == RV_OK) {
        *lag = total_lag;
        if (messages != NULL) {
            *messages = total_msgs;
        }
    }
    return err;
}

rv_err rv_kafka_partition_count(const rv_props *kafka, const char *topic,
                                int timeout_ms, int *count, char *errstr,
                                size_t errstr_size)
{
    rd_kafka_t *rk = NULL;
    rv_err err =
        make_handle(kafka, "revisit-metadata", &rk, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(8);
    err = parts != NULL ? add_partitions(rk, topic, parts, timeout_ms, errstr,
                                         errstr_size)
                        : RV_ERR_NOMEM;
    if (err == RV_OK && parts->cnt < 1) {
        rv_errf(errstr, errstr_size, "metadata of %s: no partitions", topic);
        err = RV_ERR_UNAVAILABLE;
    }
    if (err == RV_OK) {
        *count = parts->cnt;
    }
    if (parts != NULL) {
        rd_kafka_topic_partition_list_destroy(parts);
    }
    rd_kafka_destroy(rk);
    return err;
}

/* ---- time ranges and replays (issue 7) -------------------------------- */

rv_err rv_kafka_offsets_for_time(const rv_props *kafka, const char *topic,
                                 int64_t ts_ms, int timeout_ms,
                                 int64_t *offsets, int cap, int *count,
                                 char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk = NULL;
    rv_err err = make_handle(kafka, "revisit-replay", &rk, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(8);
    err = add_partitions(rk, topic, parts, timeout_ms, errstr, errstr_size);
    if (err == RV_OK && parts->cnt > cap) {
        rv_errf(errstr, errstr_size, "%s has %d partitions, more than %d",
                topic, parts->cnt, cap);
        err = RV_ERR_FULL;
    }
    for (int i = 0; err == RV_OK && i < parts->cnt; i++) {
        parts->elems[i].offset = ts_ms;
    }
    if (err == RV_OK) {
        rd_kafka_resp_err_t kerr =
            rd_kafka_offsets_for_times(rk, parts, timeout_ms);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rv_errf(errstr, errstr_size, "offsets of %s at %lld: %s", topic,
                    (long long)ts_ms, rd_kafka_err2str(kerr));
            err = RV_ERR_UNAVAILABLE;
        }
    }
    for (int i = 0; err == RV_OK && i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p < 0 || p >= parts->cnt) {
            rv_errf(errstr, errstr_size, "%s: partition %d out of order", topic,
                    (int)p);
            err = RV_ERR_UNAVAILABLE;
            break;
        }
        offsets[p] = parts->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR
                         ? parts->elems[i].offset
                         : -1;
    }
    if (err == RV_OK) {
        *count = parts->cnt;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    return err;
}

rv_err rv_kafka_group_commit(const rv_props *kafka, const char *group_id,
                             const char *topic, const int64_t *offsets,
                             int count, char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk = NULL;
    rv_err err = make_handle(kafka, group_id, &rk, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(count);
    for (int p = 0; p < count; p++) {
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = offsets[p];
    }
    rd_kafka_resp_err_t kerr = rd_kafka_commit(rk, parts, 0);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rv_errf(errstr, errstr_size, "commit of %s for %s: %s", topic, group_id,
                rd_kafka_err2str(kerr));
        err = RV_ERR_UNAVAILABLE;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    return err;
}

struct rv_kafka_range {
    rd_kafka_t *rk;
    char *topic;
    int64_t *end; /* per partition: the high watermark at open (extend) */
    int64_t *next;
    int count;
    int64_t lost;             /* asked for, no longer in the broker */
    rd_kafka_message_t *held; /* behind the last rv_msg handed out */
};

void rv_kafka_range_close(rv_kafka_range *r)
{
    if (r == NULL) {
        return;
    }
    if (r->held != NULL) {
        rd_kafka_message_destroy(r->held);
    }
    if (r->rk != NULL) {
        rd_kafka_destroy(r->rk);
    }
    free(r->end);
    free(r->next);
    free(r->topic);
    free(r);
}

rv_err rv_kafka_range_open(const rv_props *kafka, const char *topic,
                           const int64_t *start, int count, int timeout_ms,
                           rv_kafka_range **out, char *errstr,
                           size_t errstr_size)
{
    rv_kafka_range *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return RV_ERR_NOMEM;
    }
    /* Reads only: assigns, never subscribes nor commits. */
    rv_err err = make_handle(kafka, "revisit-replay-reader", &r->rk, errstr,
                             errstr_size);
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(8);
    if (err == RV_OK) {
        err = add_partitions(r->rk, topic, parts, timeout_ms, errstr,
                             errstr_size);
    }
    if (err == RV_OK && start != NULL && parts->cnt != count) {
        rv_errf(errstr, errstr_size, "%s has %d partitions, not %d", topic,
                parts->cnt, count);
        err = RV_ERR_INVALID;
    }
    if (err == RV_OK) {
        r->count = parts->cnt;
        r->end = calloc((size_t)r->count + 1, sizeof(*r->end));
        r->next = calloc((size_t)r->count + 1, sizeof(*r->next));
        r->topic = strdup(topic);
        err = r->end != NULL && r->next != NULL && r->topic != NULL
                  ? RV_OK
                  : RV_ERR_NOMEM;
    }
    for (int i = 0; err == RV_OK && i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t kerr = rd_kafka_query_watermark_offsets(
            r->rk, topic, tp->partition, &low, &high, timeout_ms);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR || tp->partition >= r->count) {
            rv_errf(errstr, errstr_size, "watermarks of %s/%d: %s", topic,
                    (int)tp->partition, rd_kafka_err2str(kerr));
            err = RV_ERR_UNAVAILABLE;
            break;
        }
        /* NULL: the whole log from offset 0; -1: from the log start. */
        int64_t from = start == NULL               ? 0
                       : start[tp->partition] >= 0 ? start[tp->partition]
                                                   : low;
        if (from < low) {
            r->lost += low - from; /* deleted before we came */
            from = low;
        }
        tp->offset = from;
        r->next[tp->partition] = from;
        r->end[tp->partition] = high;
    }
    if (err == RV_OK &&
        rd_kafka_assign(r->rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rv_errf(errstr, errstr_size, "assign %s failed", topic);
        err = RV_ERR_UNAVAILABLE;
    }
    if (parts != NULL) {
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (err != RV_OK) {
        rv_kafka_range_close(r);
        return err;
    }
    *out = r;
    return RV_OK;
}

static bool range_done(const rv_kafka_range *r)
{
    for (int p = 0; p < r->count; p++) {
        if (r->next[p] < r->end[p]) {
            return false;
        }
    }
    return true;
}

rv_err rv_kafka_range_next(rv_kafka_range *r, int timeout_ms, rv_msg *out,
                           bool *done)
{
    if (r->held != NULL) {
        rd_kafka_message_destroy(r->held);
        r->held = NULL;
    }
    for (;;) {
        if (range_done(r)) {
            *done = true;
            return RV_OK;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout_ms);
        if (m == NULL) {
            return RV_ERR_TIMEOUT;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
            rd_kafka_message_destroy(m);
            if (eof) {
                continue;
            }
            return RV_ERR_UNAVAILABLE;
        }
        if (m->partition < 0 || m->partition >= r->count ||
            m->offset >= r->end[m->partition]) {
            /* Past the end seen at open: not part of the range. */
            if (m->partition >= 0 && m->partition < r->count) {
                r->next[m->partition] = r->end[m->partition];
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->offset > r->next[m->partition]) {
            /* Deleted under us (retention): the consumer went on from
             * the log start (auto.offset.reset). Our topics are written
             * without transactions and never compacted: offsets have no
             * other gaps. */
            r->lost += m->offset - r->next[m->partition];
        }
        r->next[m->partition] = m->offset + 1;
        r->held = m;
        rd_kafka_timestamp_type_t tst;
        *out = (rv_msg){.topic = rd_kafka_topic_name(m->rkt),
                        .partition = m->partition,
                        .offset = m->offset,
                        .timestamp_ms = rd_kafka_message_timestamp(m, &tst),
                        .key = m->key,
                        .key_len = m->key_len,
                        .payload = m->payload,
                        .len = m->len,
                        .handle = NULL};
        *done = false;
        return RV_OK;
    }
}

void rv_kafka_range_follow(rv_kafka_range *r)
{
    for (int p = 0; p < r->count; p++) {
        r->end[p] = INT64_MAX;
    }
}

rv_err rv_kafka_range_end_now(rv_kafka_range *r, int timeout_ms, char *errstr,
                              size_t errstr_size)
{
    for (int p = 0; p < r->count; p++) {
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t kerr = rd_kafka_query_watermark_offsets(
            r->rk, r->topic, p, &low, &high, timeout_ms);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rv_errf(errstr, errstr_size, "watermarks of %s/%d: %s", r->topic, p,
                    rd_kafka_err2str(kerr));
            return RV_ERR_UNAVAILABLE;
        }
        r->end[p] = high;
    }
    return RV_OK;
}

int64_t rv_kafka_range_lost(const rv_kafka_range *r)
{
    return r != NULL ? r->lost : 0;
}
