/* workers/revisitctl/replay_offsets.h: where an event-time range starts
 * in a topic, for the replay commands (issue 7): verify, export. */
#ifndef RV_REPLAY_OFFSETS_H
#define RV_REPLAY_OFFSETS_H

#include <stdint.h>

#include "rv/cfg.h"
#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/pg.h"

/** Partitions a replay command handles per topic. */
#define REPLAY_PARTITIONS_MAX 256

/**
 * Start offsets of @p topic for event times from @p from_us (µs since the
 * epoch, UTC) into @p offsets[partition]: the broker's offsets by time
 * (ListOffsets, Kafka timestamps in ms), else, when the broker knows none
 * (the development broker answers -1), the first offset the recorder
 * recorded at or after that time (SQL function recorded_start_offsets,
 * deploy/sql/012: the kafka_offset of the topic's fact table, or
 * message_index for messages recorded before); a partition with nothing
 * recorded at or after it starts after its last recorded message, one
 * never recorded at 0. Every message of the range
 * lies at or after these offsets; callers still filter by event time.
 * RV_ERR_UNAVAILABLE when a partition's offset lies before its log start:
 * the broker deleted messages the range needs (retention), and a read
 * from there would silently miss them. On error one line "replay: ..."
 * is on stderr.
 * @param kafka       borrowed; Kafka client properties
 * @param pg          borrowed; the record, read only on the fallback
 * @param timeout_ms  bounds each broker request
 * @param offsets     @p cap entries; on RV_OK entries 0..*count-1 are set
 * @param count       on RV_OK the topic's partition count
 * @returns RV_OK, RV_ERR_UNAVAILABLE (broker, database, or messages of
 *          the range deleted), RV_ERR_FULL
 *          (more than @p cap partitions), RV_ERR_INVALID (SQL error,
 *          bad property), RV_ERR_NOMEM
 * Threads: any; @p pg is used by one thread at a time.
 */
RV_MUSTCHECK rv_err replay_start_offsets(const rv_props *kafka, rv_pg *pg,
                                         const char *topic, int64_t from_us,
                                         int timeout_ms, int64_t *offsets,
                                         int cap, int *count);

#endif /* RV_REPLAY_OFFSETS_H */
