/* workers/recorder/recorder_rows.h: the recorder's I/O-free part. It
 * turns consumed messages into rows of text parameters for the record's
 * tables (deploy/sql/001_init.sql) and writes the multi-row INSERT
 * statements that carry them. No Kafka or PostgreSQL calls happen here. */
#ifndef RV_RECORDER_ROWS_H
#define RV_RECORDER_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/kafka.h"
#include "rv/model.h"
#include "rv/pii.h"

/** Rows one INSERT carries at most; a batch's rows of a table are split
 *  into chunks of this many, which bounds a statement's size. */
#define RECORDER_ROWS_PER_INSERT 1000

/** The record's tables, in the order a batch writes them. */
typedef enum recorder_table {
    RECORDER_SALES = 0,
    RECORDER_WORK_ORDERS,
    RECORDER_VISIT_TASKS,
    RECORDER_TASK_RETRIES,
    RECORDER_ASSIGNMENTS,
    RECORDER_OUTCOMES,
    RECORDER_GRADES,
    RECORDER_ALERTS,
    RECORDER_CASE_EVENTS,
    RECORDER_DECISIONS,
    RECORDER_DEAD_LETTERS,
    RECORDER_TABLE_COUNT,
} recorder_table;

/** What a topic carries, by its name. */
typedef enum recorder_topic {
    RECORDER_TOPIC_UNKNOWN = 0,
    RECORDER_TOPIC_SALES,       /**< sales.events -> rv_sale */
    RECORDER_TOPIC_SERVICE,     /**< service.events -> rv_work_order */
    RECORDER_TOPIC_TASKS,       /**< visits.tasks -> rv_task */
    RECORDER_TOPIC_RETRIES,     /**< visits.retries -> rv_task */
    RECORDER_TOPIC_ASSIGNMENTS, /**< visits.assignments -> rv_assignment */
    RECORDER_TOPIC_OUTCOMES,    /**< visits.outcomes -> rv_outcome */
    RECORDER_TOPIC_GRADES,      /**< visits.grades -> rv_grade */
    RECORDER_TOPIC_ALERTS,      /**< compliance.alerts -> rv_alert (+ case) */
    RECORDER_TOPIC_CASES,       /**< compliance.cases -> rv_case_event */
    RECORDER_TOPIC_DECISIONS,   /**< visits.decisions -> rv_decision */
    RECORDER_TOPIC_DLQ,         /**< any "<topic>.dlq": recorded raw */
} recorder_topic;

/** Kind of @p topic (NUL-terminated): exact names above, or
 *  RECORDER_TOPIC_DLQ for a name ending in ".dlq". */
recorder_topic recorder_topic_of(const char *topic);

/** SQL name of @p t. Static storage. */
const char *recorder_table_name(recorder_table t);

/** Columns of @p t that the recorder fills (recorded_at is left to its
 *  default). */
size_t recorder_table_column_count(recorder_table t);

/** Name of column @p col (< recorder_table_column_count) of @p t, NULL
 *  beyond. Static storage. */
const char *recorder_table_column(recorder_table t, size_t col);

/** Rows of @p t one INSERT carries at most (RECORDER_ROWS_PER_INSERT;
 *  0 for a table that does not exist). */
size_t recorder_rows_per_insert(recorder_table t);

/**
 * Rows in the chunk of @p total rows of @p t that starts at row
 * @p first: min(recorder_rows_per_insert(t), total - first), 0 once
 * @p first >= @p total. Loop: for (first = 0; (n = ...) > 0; first += n).
 */
size_t recorder_chunk_rows(recorder_table t, size_t total, size_t first);

/**
 * Build "INSERT INTO t (cols) SELECT c1, c2::type, ... FROM
 * unnest($1::text[], ...) AS u(c1, ...) ON CONFLICT DO NOTHING": one
 * text[] parameter per column (recorder_rows_arrays), so the statement
 * is the same for any row count and PostgreSQL parses and plans it once
 * a chunk, not once a row as with a VALUES list.
 * @param sql  on RV_OK a new string, freed by the caller with free()
 * @returns RV_OK, RV_ERR_INVALID (@p t out of range), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err recorder_insert_sql(recorder_table t, char **sql);

/** Where a dead letter came from: the values of the rv.reason and
 *  rv.source.* headers of a "<topic>.dlq" message, each NULL when the
 *  header is absent. All borrowed. */
typedef struct recorder_dlq_source {
    const char *reason;
    const char *topic;
    const char *partition;
    const char *offset;
} recorder_dlq_source;

/** Rows of every table for one batch; owns its text values. */
typedef struct recorder_rows recorder_rows;

/**
 * New, empty rows whose phone numbers are sealed with @p key into the
 * phone_enc columns (deploy/sql/010_pii.sql, DESIGN §8).
 * @param key  borrowed; must outlive the rows; never NULL: a record
 *             without its phone_enc would lose the number
 * @returns RV_OK (*out freed with recorder_rows_free), RV_ERR_INVALID
 *          (@p key NULL), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err recorder_rows_new(const rv_pii_key *key,
                                      recorder_rows **out);

/** Free @p r and all its values. NULL is a no-op. */
void recorder_rows_free(recorder_rows *r);

/** Drop every row, keeping the allocated capacity for the next batch. */
void recorder_rows_clear(recorder_rows *r);

/**
 * Decode @p m (borrowed) by its topic, check its Kafka key
 * (rv/keying.h) and append its row (a visits.decisions message: a row
 * per decision), each row carrying the message's partition and offset
 * (kafka_partition, kafka_offset, migration 012). Messages on a ".dlq"
 * topic are not decoded: they become a dead_letters row, with reason and
 * source taken from @p src (may be NULL); without a complete, numeric
 * source the DLQ message's own coordinates stand in. Phone numbers are
 * stored masked (phone_masked) and sealed (phone_enc), never clear.
 * @param tag  the caller's number for @p m (its index in the batch),
 *             returned by recorder_rows_tag() for each of its rows
 * @returns RV_OK; RV_ERR_INVALID if @p m does not decode or its Kafka
 *          key is not the field its topic is keyed by (rv_keying_check,
 *          tester finding 7): errstr (may be NULL) has the reason, no row
 *          was added, the caller dead-letters it; RV_ERR_NOMEM;
 *          RV_ERR_FATAL (an internal column-count mismatch: a bug)
 */
RV_MUSTCHECK rv_err recorder_rows_add_msg(recorder_rows *r, size_t tag,
                                          const rv_msg *m,
                                          const recorder_dlq_source *src,
                                          char *errstr, size_t errstr_size);

/*
 * The per-record builders recorder_rows_add_msg uses; public for tests.
 * Each appends one row tagged @p tag from a decoded record (borrowed);
 * called outside recorder_rows_add_msg, the row's Kafka coordinates are
 * NULL.
 * @returns RV_OK, RV_ERR_NOMEM, RV_ERR_FATAL (column-count mismatch, or
 *          a phone number the key could not seal: both bugs)
 */
RV_MUSTCHECK rv_err recorder_rows_add_sale(recorder_rows *r, size_t tag,
                                           const rv_sale *s);
RV_MUSTCHECK rv_err recorder_rows_add_work_order(recorder_rows *r, size_t tag,
                                                 const rv_work_order *w);
RV_MUSTCHECK rv_err recorder_rows_add_task(recorder_rows *r, size_t tag,
                                           const rv_task *t);
RV_MUSTCHECK rv_err recorder_rows_add_retry(recorder_rows *r, size_t tag,
                                            const rv_task *t);
RV_MUSTCHECK rv_err recorder_rows_add_assignment(recorder_rows *r, size_t tag,
                                                 const rv_assignment *a);
RV_MUSTCHECK rv_err recorder_rows_add_outcome(recorder_rows *r, size_t tag,
                                              const rv_outcome *o);
RV_MUSTCHECK rv_err recorder_rows_add_grade(recorder_rows *r, size_t tag,
                                            const rv_grade *g);
RV_MUSTCHECK rv_err recorder_rows_add_decision(recorder_rows *r, size_t tag,
                                               const rv_decision *d);
RV_MUSTCHECK rv_err recorder_rows_add_case_event(recorder_rows *r, size_t tag,
                                                 const rv_case_event *e);
RV_MUSTCHECK rv_err recorder_rows_add_alert(recorder_rows *r, size_t tag,
                                            const rv_alert *a);
RV_MUSTCHECK rv_err
recorder_rows_add_dead_letter(recorder_rows *r, size_t tag, const rv_msg *m,
                              const recorder_dlq_source *src);

/** Rows of @p t so far. */
size_t recorder_rows_count(const recorder_rows *r, recorder_table t);

/**
 * The text values of rows @p first.. of @p t: row-major, column count
 * per row, NULL meaning SQL NULL (recorder_rows_arrays packs them into
 * the INSERT's parameters). Borrowed until the next add, clear or free.
 * NULL if @p first is not a row.
 */
const char *const *recorder_rows_params(const recorder_rows *r,
                                        recorder_table t, size_t first);

/**
 * The parameters of recorder_insert_sql(@p t) for rows @p first ..
 * @p first + @p n - 1: per column, the rows' values as one text[]
 * literal ("{\"a\",NULL}"; NULL meaning SQL NULL). Pass
 * (recorder_table_column_count(t), *params) to rv_pg_exec.
 * @param params  set on RV_OK; borrowed until the next call, add, clear
 *                or free
 * @returns RV_OK, RV_ERR_INVALID (@p n is 0 or the rows are not there),
 *          RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err recorder_rows_arrays(recorder_rows *r, recorder_table t,
                                         size_t first, size_t n,
                                         const char *const **params);

/** The tag given when row @p row of @p t was added. */
size_t recorder_rows_tag(const recorder_rows *r, recorder_table t, size_t row);

/** Bytes recorder_format_ts writes at most (the compiler's bound on the
 *  formatted fields; real times take 30). */
#define RECORDER_TS_SIZE 96

/** Text of a time for a timestamptz parameter: @p us µs since the epoch,
 *  UTC, as "YYYY-MM-DD HH:MM:SS.ffffff+00". */
void recorder_format_ts(int64_t us, char out[RECORDER_TS_SIZE]);

#endif /* RV_RECORDER_ROWS_H */
