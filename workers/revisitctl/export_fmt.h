/* workers/revisitctl/export_fmt.h: the pure half of `revisitctl replay
 * export` (issue 7): one Kafka message of a history topic -> one line of
 * NDJSON or RFC 4180 CSV for auditors, personal data masked unless
 * revealed. No I/O beyond the FILE the caller passes. */
#ifndef RV_EXPORT_FMT_H
#define RV_EXPORT_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/kafka.h"
#include "rv/model.h"

/** Output formats. */
typedef enum export_format {
    EXPORT_NDJSON = 1, /**< one JSON object per line, "\n" */
    EXPORT_CSV = 2,    /**< RFC 4180: header, CRLF, quoted as needed */
} export_format;

/** Personal data a field may hold, and so how it is masked. */
typedef enum export_pii {
    EXPORT_PII_NONE = 0,
    EXPORT_PII_PHONE,    /**< rv_log_mask_phone: "138****1234"; any
                              non-ASCII byte kept also becomes '*' */
    EXPORT_PII_TEXT,     /**< people's free text: "***", "" stays "" */
    EXPORT_PII_SMS,      /**< "1" / "2 <text>": the code kept, "2 ***" */
    EXPORT_PII_EVIDENCE, /**< "customer: <words>" -> "customer: ***" */
} export_pii;

/** Text that stands for masked free text. */
#define EXPORT_MASKED "***"

/** True if @p topic (NUL-terminated) is one of the ten history topics
 *  export reads (sales.events ... visits.decisions). */
bool export_topic_known(const char *topic);

/**
 * The value of a field as exported: @p value itself when @p reveal or
 * @p pii is EXPORT_PII_NONE, else its masked form written into @p buf.
 * @param value  NUL-terminated, borrowed
 * @param buf    @p size bytes (>= 1), always NUL-terminated when used
 * @returns @p value or @p buf, borrowed from whichever it is
 */
const char *export_mask(export_pii pii, const char *value, bool reveal,
                        char *buf, size_t size);

/** Write @p s (NUL-terminated) as one RFC 4180 field: as is, or in
 *  double quotes with each '"' doubled when it holds a comma, a quote,
 *  CR or LF, or starts or ends with a space. */
void export_csv_field(FILE *out, const char *s);

/**
 * The CSV header line of @p topic's rows (column names joined by ',',
 * ending CRLF) to @p out.
 * @returns RV_OK, RV_ERR_INVALID (unknown topic), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err export_csv_header(const char *topic, FILE *out);

/** One exported message. */
typedef struct export_row {
    int64_t occurred_at_us; /**< envelope event time, UTC µs */
    char event_id[RV_KEY_SIZE];
    int32_t partition;
    int64_t offset;
    char *text; /**< the whole line with its terminator; owned */
} export_row;

/**
 * Decode @p m (borrowed) with its topic's decoder and render it: the
 * fields topic, partition, offset, the envelope (event_id, occurred_at,
 * produced_at, producer, causation_id, schema_version), then every field
 * of the message in rv/model.h order. Times as "YYYY-MM-DDTHH:MM:SS.
 * ffffffZ" (null / empty when unset), enumerations by name, lists as
 * JSON arrays (in CSV too, as the cell's text), satisfaction -1 as
 * null. Phone numbers and free text masked (export_mask) unless
 * @p reveal. The same message gives the same bytes.
 * @param out  on RV_OK filled; out->text freed with export_row_fini()
 * @returns RV_OK, RV_ERR_INVALID (unknown topic, or the message does not
 *          decode; errstr), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err export_row_build(const rv_msg *m, export_format format,
                                     bool reveal, export_row *out, char *errstr,
                                     size_t errstr_size);

/** Most rows one message renders to: a visits.decisions message carries
 *  up to RV_CODEC_DECISIONS_MAX decisions (rv/codec.h). */
#define EXPORT_ROWS_PER_MSG_MAX 64

/**
 * export_row_build for a message of one or more records: a row each, in
 * the message's order, all with the message's partition and offset and
 * each with its own envelope (a visits.decisions message carries one
 * customer's decisions, issue 8; every other topic one record).
 * @param out    @p cap rows; on RV_OK the first *count are filled, each
 *               freed with export_row_fini()
 * @param count  set to 0 on an error
 * @returns as export_row_build; RV_ERR_INVALID also when the message
 *          carries more than @p cap records (export_row_build: @p cap 1)
 */
RV_MUSTCHECK rv_err export_rows_build(const rv_msg *m, export_format format,
                                      bool reveal, export_row *out, size_t cap,
                                      size_t *count, char *errstr,
                                      size_t errstr_size);

/** Free @p r's text. NULL is a no-op. */
void export_row_fini(export_row *r);

/** qsort order of export_row: occurred_at, then event_id (bytes), then
 *  partition and offset (a message delivered twice keeps both copies). */
int export_row_cmp(const void *a, const void *b);

#endif /* RV_EXPORT_FMT_H */
