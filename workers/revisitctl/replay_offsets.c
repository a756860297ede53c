/* workers/revisitctl/replay_offsets.c: start offsets of an event-time
 * range (replay_offsets.h). Moved out of cmd_replay.c, unchanged, so that
 * replay verify and replay export start at the same place. */
#include "replay_offsets.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl_time.h"
#include "rv/kafka_lag.h"

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
        return RV_OK;
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
    return RV_OK;
}
