/* workers/revisitctl/replay_offsets.c: start offsets of an event-time
 * range (replay_offsets.h). Moved out of cmd_replay.c, unchanged, so that
 * replay verify and replay export start at the same place. */
#include "replay_offsets.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl_time.h"
#include "rv/kafka_lag.h"

/* Every offset of @p offsets (-1: none) is one the broker still holds:
 * a range that starts before a partition's log start would silently be
 * read from there (retention deleted the rest; the development broker
 * keeps 5 MiB a partition), and a replay of it would lack the history
 * the live workers had. */
static rv_err check_retained(const rv_props *kafka, const char *topic,
                             const int64_t *offsets, int count, int timeout_ms)
{
    char errstr[512] = "";
    int64_t *low = calloc((size_t)count + 1, sizeof(*low));
    int n = 0;
    rv_err err =
        low != NULL
            ? rv_kafka_offsets_for_time(kafka, topic, -2, timeout_ms, low,
                                        count, &n, errstr, sizeof(errstr))
            : RV_ERR_NOMEM;
    if (err != RV_OK) {
        fprintf(stderr, "replay: log start of %s: %s\n", topic,
                err == RV_ERR_NOMEM ? rv_err_str(err) : errstr);
    }
    for (int p = 0; err == RV_OK && p < n && p < count; p++) {
        if (offsets[p] >= 0 && low[p] > offsets[p]) {
            fprintf(stderr,
                    "replay: %s/%d: the range starts at offset %lld but the "
                    "broker holds offsets from %lld on: the messages "
                    "before were deleted (retention; the development broker "
                    "keeps 5 MiB a partition)\n",
                    topic, p, (long long)offsets[p], (long long)low[p]);
            err = RV_ERR_UNAVAILABLE;
        }
    }
    free(low);
    return err;
}

rv_err replay_start_offsets(const rv_props *kafka, rv_pg *pg, const char *topic,
                            int64_t from_us, int timeout_ms, int64_t *offsets,
                            int cap, int *count)
{
    char errstr[512] = "";
    rv_err err =
        rv_kafka_offsets_for_time(kafka, topic, from_us / 1000, timeout_ms,
                                  offsets, cap, count, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "replay: %s\n", errstr);
        return err;
    }
    bool known = false;
    for (int p = 0; p < *count; p++) {
        known = known || offsets[p] >= 0;
    }
    if (known) {
        return check_retained(kafka, topic, offsets, *count, timeout_ms);
    }
    char from[CTL_TIME_SIZE];
    ctl_time_format(from_us, from);
    const char *params[] = {topic, from};
    rv_pg_result *res = NULL;
    /* The kafka_offset of the topic's fact table, message_index for
     * what was recorded before migration 012 (deploy/sql/012). */
    err = rv_pg_exec(pg,
                     "SELECT partition_id, start_offset FROM "
                     "recorded_start_offsets($1, $2::timestamptz)",
                     2, params, &res, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "replay: recorded offsets of %s: %s\n", topic, errstr);
        return err;
    }
    for (int p = 0; p < *count; p++) {
        offsets[p] = 0;
    }
    for (size_t i = 0; i < rv_pg_result_rows(res); i++) {
        long p = strtol(rv_pg_result_value(res, i, 0), NULL, 10);
        if (p >= 0 && p < *count) {
            offsets[p] = strtoll(rv_pg_result_value(res, i, 1), NULL, 10);
        }
    }
    rv_pg_result_free(res);
    return check_retained(kafka, topic, offsets, *count, timeout_ms);
}
