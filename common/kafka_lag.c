/* common/kafka_lag.c: committed offsets vs. watermarks of a group. */
#include "rv/kafka_lag.h"

#include <stdio.h>
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
    if (rd_kafka_conf_set(conf, "group.id", group_id, kerr, sizeof(kerr)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", kerr,
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
