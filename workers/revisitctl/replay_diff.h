/* workers/revisitctl/replay_diff.h: the comparison behind `revisitctl
 * replay verify` (issue 7): what a replay recomputed against what the
 * record holds, row by row. Pure: no I/O. */
#ifndef RV_REPLAY_DIFF_H
#define RV_REPLAY_DIFF_H

#include <stddef.h>
#include <stdio.h>

#include "rv/compiler.h"
#include "rv/err.h"

/** One row: its ID and a canonical text of the compared fields. */
typedef struct replay_row {
    char *id;
    char *fp;   /**< e.g. "R1|selected|0.123|0.5|<task>|2025.1" */
    size_t seq; /**< order of addition: of an ID's rows, the first wins */
} replay_row;

/** A growable list of rows; strings owned. Zero-initialise. */
typedef struct replay_rows {
    replay_row *items;
    size_t count, cap;
} replay_rows;

/**
 * Append a row (both strings copied).
 * @returns RV_OK, RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err replay_rows_add(replay_rows *l, const char *id,
                                    const char *fp);

/** Free the rows. */
void replay_rows_fini(replay_rows *l);

/** Counts of one comparison. */
typedef struct replay_counts {
    size_t matched;   /**< same ID, same fields */
    size_t missing;   /**< recomputed, not in the record */
    size_t extra;     /**< in the record, not recomputed */
    size_t differing; /**< same ID, other fields */
} replay_counts;

/**
 * Compare @p replayed with @p recorded (both sorted here by ID; an ID
 * twice in one list counts once, its first fields) and write, for
 * @p what ("decisions", "tasks", ...), a line of counts
 * "<what>: matched=N missing=N extra=N differing=N" and then one line per
 * difference, in ID order: "  missing <id> <fp>", "  extra <id> <fp>",
 * "  differing <id> replay=<fp> record=<fp>". Same input, same text.
 * @param out  may be NULL (counts only)
 */
replay_counts replay_diff(replay_rows *replayed, replay_rows *recorded,
                          const char *what, FILE *out);

#endif /* RV_REPLAY_DIFF_H */
