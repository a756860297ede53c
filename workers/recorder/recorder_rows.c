/* workers/recorder/recorder_rows.c: messages -> text parameter rows for
 * the record's tables, and the INSERT statements that carry them.
 *
 * Every value is text (rv_pg_exec sends text parameters); each column has
 * a cast in the statement so PostgreSQL parses the text as the column's
 * type. A value PostgreSQL rejects (an impossible date, invalid UTF-8 in
 * a string the decoder passed through) fails the whole statement; the
 * worker then retries row by row and dead-letters the rows that still
 * fail, so nothing here needs to second-guess the server's parser. */
#include "recorder_rows.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rv/codec.h"
#include "rv/keying.h"
#include "rv/log.h"
#include "rv/pii.h"

/* A message header or text from the wire kept in a dead letter. */
#define DLQ_TEXT_MAX 1024

typedef struct column {
    const char *name;
    const char *cast; /* "" for text */
} column;

/* One column a line, the envelope's included. */
/* clang-format off */
/* Every fact table ends with the envelope's columns and the Kafka
 * coordinates of the message the row came from (migration 012; the topic
 * is the table's own). put_envelope fills them. */
#define ENVELOPE_COLS                                                          \
    {"occurred_at", "timestamptz"},                                            \
    {"causation_id", ""},                                                      \
    {"producer", ""},                                                          \
    {"produced_at", "timestamptz"},                                            \
    {"kafka_partition", "integer"},                                            \
    {"kafka_offset", "bigint"}

static const column sales_cols[] = {
    {"event_id", ""},
    {"order_id", ""},
    {"customer_id", ""},
    {"branch_id", ""},
    {"store_id", ""},
    {"amount_cents", "bigint"},
    {"currency", ""},
    {"segment", ""},
    {"phone_masked", ""},
    {"phone_enc", ""},
    {"phone_synthetic", "boolean"},
    {"line_count", "integer"},
    {"salesperson_id", ""},
    {"gift_cents", "bigint"},
    {"customer_class", ""},
    {"new_customer", "boolean"},
    {"categories", "text[]"},
    ENVELOPE_COLS,
};

static const column work_order_cols[] = {
    {"event_id", ""},
    {"work_order_id", ""},
    {"kind", ""},
    {"customer_id", ""},
    {"branch_id", ""},
    {"store_id", ""},
    {"phone_masked", ""},
    {"phone_enc", ""},
    {"phone_synthetic", "boolean"},
    ENVELOPE_COLS,
};

static const column task_cols[] = {
    {"task_id", ""},
    {"event_id", ""},
    {"rule_id", ""},
    {"reasons", "text[]"},
    {"source_event_id", ""},
    {"customer_id", ""},
    {"branch_id", ""},
    {"store_id", ""},
    {"due_start", "timestamptz"},
    {"due_end", "timestamptz"},
    {"priority", "integer"},
    {"channel", ""},
    {"questions", "text[]"},
    {"policy_version", ""},
    {"attempt", "integer"},
    {"not_before", "timestamptz"},
    {"phone_masked", ""},
    {"phone_enc", ""},
    {"sample_u", "double precision"},
    {"sample_rate", "double precision"},
    {"customer_class", ""},
    ENVELOPE_COLS,
};

static const column retry_cols[] = {
    {"event_id", ""},
    {"task_id", ""},
    {"attempt", "integer"},
    {"not_before", "timestamptz"},
    {"customer_id", ""},
    {"branch_id", ""},
    {"due_start", "timestamptz"},
    {"due_end", "timestamptz"},
    {"policy_version", ""},
    ENVELOPE_COLS,
};

static const column assignment_cols[] = {
    {"assignment_id", ""},
    {"event_id", ""},
    {"task_id", ""},
    {"attempt", "integer"},
    {"status", ""},
    {"customer_id", ""},
    {"branch_id", ""},
    {"agent_id", ""},
    {"day", "date"},
    {"window_start", "timestamptz"},
    {"window_end", "timestamptz"},
    {"reason", ""},
    {"policy_version", ""},
    {"channel", ""},
    {"questions", "text[]"},
    {"due_end", "timestamptz"},
    {"window_index", "integer"},
    {"salesperson_id", ""},
    ENVELOPE_COLS,
};

static const column outcome_cols[] = {
    {"outcome_id", ""},
    {"event_id", ""},
    {"assignment_id", ""},
    {"task_id", ""},
    {"attempt", "integer"},
    {"customer_id", ""},
    {"branch_id", ""},
    {"agent_id", ""},
    {"disposition", ""},
    {"channel", ""},
    {"started_at", "timestamptz"},
    {"talk_time_s", "integer"},
    {"answers", "jsonb"},
    {"satisfaction", "smallint"},
    {"recording_ref", ""},
    {"notes", ""},
    {"questions", "text[]"},
    ENVELOPE_COLS,
};

static const column grade_cols[] = {
    {"grade_id", ""},
    {"event_id", ""},
    {"outcome_id", ""},
    {"task_id", ""},
    {"attempt", "integer"},
    {"customer_id", ""},
    {"branch_id", ""},
    {"agent_id", ""},
    {"verdict", ""},
    {"disposition", ""},
    {"satisfaction", "smallint"},
    {"band", ""},
    {"evidence_ok", "boolean"},
    {"reason", ""},
    {"compliance", "jsonb"},
    {"in_due_window", "boolean"},
    {"policy_version", ""},
    ENVELOPE_COLS,
};

static const column alert_cols[] = {
    {"alert_id", ""},
    {"event_id", ""},
    {"grade_id", ""},
    {"task_id", ""},
    {"customer_id", ""},
    {"branch_id", ""},
    {"agent_id", ""},
    {"kind", ""},
    {"severity", ""},
    {"route_to", ""},
    {"evidence", ""},
    {"policy_version", ""},
    {"suspected", "boolean"},
    {"deadline", "timestamptz"},
    {"case_id", ""},
    {"notify", ""},
    {"attempt", "integer"},
    {"salesperson_id", ""},
    {"store_id", ""},
    ENVELOPE_COLS,
};

static const column decision_cols[] = {
    {"decision_id", ""},
    {"event_id", ""},
    {"source_event_id", ""},
    {"customer_id", ""},
    {"branch_id", ""},
    {"store_id", ""},
    {"rule_id", ""},
    {"outcome", ""},
    {"u", "double precision"},
    {"rate", "double precision"},
    {"policy_version", ""},
    {"reason", ""},
    {"task_id", ""},
    ENVELOPE_COLS,
};

static const column case_event_cols[] = {
    {"event_id", ""},
    {"case_id", ""},
    {"action", ""},
    {"actor", ""},
    {"text", ""},
    ENVELOPE_COLS,
};
/* clang-format on */

static const column dead_letter_cols[] = {
    {"source_topic", ""},
    {"source_partition", "integer"},
    {"source_offset", "bigint"},
    {"dlq_topic", ""},
    {"dlq_partition", "integer"},
    {"dlq_offset", "bigint"},
    {"reason", ""},
    {"key", "bytea"},
    {"payload", "bytea"},
    {"kafka_timestamp", "timestamptz"},
};

#define COLS(a) a, sizeof(a) / sizeof(a[0])
static const struct table_def {
    const char *name;
    const column *cols;
    size_t col_count;
} tables[RECORDER_TABLE_COUNT] = {
    [RECORDER_SALES] = {"sales", COLS(sales_cols)},
    [RECORDER_WORK_ORDERS] = {"work_orders", COLS(work_order_cols)},
    [RECORDER_VISIT_TASKS] = {"visit_tasks", COLS(task_cols)},
    [RECORDER_TASK_RETRIES] = {"task_retries", COLS(retry_cols)},
    [RECORDER_ASSIGNMENTS] = {"assignments", COLS(assignment_cols)},
    [RECORDER_OUTCOMES] = {"outcomes", COLS(outcome_cols)},
    [RECORDER_GRADES] = {"grades", COLS(grade_cols)},
    [RECORDER_ALERTS] = {"alerts", COLS(alert_cols)},
    [RECORDER_CASE_EVENTS] = {"case_events", COLS(case_event_cols)},
    [RECORDER_DECISIONS] = {"decisions", COLS(decision_cols)},
    [RECORDER_DEAD_LETTERS] = {"dead_letters", COLS(dead_letter_cols)},
};
#undef COLS

static const struct {
    const char *name;
    recorder_topic kind;
} topic_kinds[] = {
    {"sales.events", RECORDER_TOPIC_SALES},
    {"service.events", RECORDER_TOPIC_SERVICE},
    {"visits.tasks", RECORDER_TOPIC_TASKS},
    {"visits.retries", RECORDER_TOPIC_RETRIES},
    {"visits.assignments", RECORDER_TOPIC_ASSIGNMENTS},
    {"visits.outcomes", RECORDER_TOPIC_OUTCOMES},
    {"visits.grades", RECORDER_TOPIC_GRADES},
    {"compliance.alerts", RECORDER_TOPIC_ALERTS},
    {"compliance.cases", RECORDER_TOPIC_CASES},
    {"visits.decisions", RECORDER_TOPIC_DECISIONS},
};

/* A growable string; every append checks for failure once, at the end. */
typedef struct sbuf {
    char *s;
    size_t len;
    size_t cap;
    bool failed;
} sbuf;

static void sb_grow(sbuf *b, size_t more)
{
    if (b->failed) {
        return;
    }
    if (more > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return;
    }
    size_t need = b->len + more + 1;
    if (need <= b->cap) {
        return;
    }
    size_t cap = b->cap == 0 ? 64 : b->cap;
    while (cap < need) {
        cap *= 2;
    }
    char *s = realloc(b->s, cap);
    if (s == NULL) {
        b->failed = true;
        return;
    }
    b->s = s;
    b->cap = cap;
}

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    sb_grow(b, n);
    if (b->failed) {
        return;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

/* The finished string (owned by the caller), or NULL if any append
 * failed. An empty buffer yields "". */
static char *sb_take(sbuf *b)
{
    if (!b->failed && b->s == NULL) {
        sb_grow(b, 0);
        if (!b->failed) {
            b->s[0] = '\0';
        }
    }
    if (b->failed) {
        free(b->s);
        *b = (sbuf){0};
        return NULL;
    }
    char *s = b->s;
    *b = (sbuf){0};
    return s;
}

/* One table's rows: values[row * col_count + col], each owned or NULL. */
typedef struct rowset {
    size_t count;
    size_t cap;
    char **values;
    size_t *tags;
} rowset;

/* Most columns a table has (checked by recorder_rows_new). */
#define COLS_MAX 40

/* One decoded record of any topic (a visits.decisions message decodes
 * into recorder_rows.decisions); large, so it is allocated once with the
 * rows and reused for every message. */
typedef union record {
    rv_sale sale;
    rv_work_order work_order;
    rv_task task;
    rv_assignment assignment;
    rv_outcome outcome;
    rv_grade grade;
    rv_alert alert;
    rv_case_event case_event;
} record;

struct recorder_rows {
    rowset sets[RECORDER_TABLE_COUNT];
    const rv_pii_key *key; /* borrowed: seals phone numbers */
    /* Kafka coordinates of the message recorder_rows_add_msg is adding,
     * -1 outside it: put_envelope writes them into every fact row. */
    int32_t at_partition;
    int64_t at_offset;
    /* Decoding scratch, reused message after message. */
    record *rec;
    rv_decision *decisions; /* RV_CODEC_DECISIONS_MAX */
    /* recorder_rows_arrays' text[] literals, one per column, reused. */
    sbuf arrays[COLS_MAX];
    const char *array_params[COLS_MAX];
};

recorder_topic recorder_topic_of(const char *topic)
{
    if (topic == NULL) {
        return RECORDER_TOPIC_UNKNOWN;
    }
    for (size_t i = 0; i < sizeof(topic_kinds) / sizeof(topic_kinds[0]); i++) {
        if (strcmp(topic, topic_kinds[i].name) == 0) {
            return topic_kinds[i].kind;
        }
    }
    size_t n = strlen(topic);
    size_t suffix = strlen(RV_DLQ_SUFFIX);
    if (n > suffix && strcmp(topic + n - suffix, RV_DLQ_SUFFIX) == 0) {
        return RECORDER_TOPIC_DLQ;
    }
    return RECORDER_TOPIC_UNKNOWN;
}

const char *recorder_table_name(recorder_table t)
{
    return t < RECORDER_TABLE_COUNT ? tables[t].name : "";
}

size_t recorder_table_column_count(recorder_table t)
{
    return t < RECORDER_TABLE_COUNT ? tables[t].col_count : 0;
}

const char *recorder_table_column(recorder_table t, size_t col)
{
    if (t >= RECORDER_TABLE_COUNT || col >= tables[t].col_count) {
        return NULL;
    }
    return tables[t].cols[col].name;
}

size_t recorder_rows_per_insert(recorder_table t)
{
    return t < RECORDER_TABLE_COUNT ? RECORDER_ROWS_PER_INSERT : 0;
}

size_t recorder_chunk_rows(recorder_table t, size_t total, size_t first)
{
    if (first >= total) {
        return 0;
    }
    size_t per = recorder_rows_per_insert(t);
    return total - first < per ? total - first : per;
}

rv_err recorder_insert_sql(recorder_table t, char **sql)
{
    if (t >= RECORDER_TABLE_COUNT) {
        return RV_ERR_INVALID;
    }
    const struct table_def *d = &tables[t];
    sbuf b = {0};
    char ph[48];
    sb_puts(&b, "INSERT INTO ");
    sb_puts(&b, d->name);
    sb_puts(&b, " (");
    for (size_t c = 0; c < d->col_count; c++) {
        sb_puts(&b, c > 0 ? ", " : "");
        sb_puts(&b, d->cols[c].name);
    }
    sb_puts(&b, ") SELECT ");
    for (size_t c = 0; c < d->col_count; c++) {
        snprintf(ph, sizeof(ph), "%sc%zu", c > 0 ? ", " : "", c + 1);
        sb_puts(&b, ph);
        if (d->cols[c].cast[0] != '\0') {
            sb_puts(&b, "::");
            sb_puts(&b, d->cols[c].cast);
        }
    }
    sb_puts(&b, " FROM unnest(");
    for (size_t c = 0; c < d->col_count; c++) {
        snprintf(ph, sizeof(ph), "%s$%zu::text[]", c > 0 ? ", " : "", c + 1);
        sb_puts(&b, ph);
    }
    sb_puts(&b, ") AS u(");
    for (size_t c = 0; c < d->col_count; c++) {
        snprintf(ph, sizeof(ph), "%sc%zu", c > 0 ? ", " : "", c + 1);
        sb_puts(&b, ph);
    }
    sb_puts(&b, ") ON CONFLICT DO NOTHING");
    char *s = sb_take(&b);
    if (s == NULL) {
        return RV_ERR_NOMEM;
    }
    *sql = s;
    return RV_OK;
}

/* Append @p v as one element of a text[] literal: NULL unquoted, any
 * other text in double quotes with '"' and '\\' escaped (the array
 * input syntax of PostgreSQL's docs, "Array Value Input"). */
static void sb_put_array_elem(sbuf *b, const char *v)
{
    if (v == NULL) {
        sb_puts(b, "NULL");
        return;
    }
    sb_putc(b, '"');
    const char *run = v;
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            sb_putn(b, run, (size_t)(p - run));
            sb_putc(b, '\\');
            run = p;
        }
    }
    sb_puts(b, run);
    sb_putc(b, '"');
}

rv_err recorder_rows_arrays(recorder_rows *r, recorder_table t, size_t first,
                            size_t n, const char *const **params)
{
    if (r == NULL || t >= RECORDER_TABLE_COUNT || n == 0 ||
        first >= r->sets[t].count || n > r->sets[t].count - first) {
        return RV_ERR_INVALID;
    }
    const struct table_def *d = &tables[t];
    const rowset *rs = &r->sets[t];
    bool failed = false;
    for (size_t c = 0; c < d->col_count; c++) {
        sbuf *b = &r->arrays[c];
        b->len = 0;
        b->failed = false;
        sb_putc(b, '{');
        for (size_t i = first; i < first + n; i++) {
            if (i > first) {
                sb_putc(b, ',');
            }
            sb_put_array_elem(b, rs->values[i * d->col_count + c]);
        }
        sb_putc(b, '}');
        failed = failed || b->failed;
        r->array_params[c] = b->s;
    }
    if (failed) {
        return RV_ERR_NOMEM;
    }
    *params = r->array_params;
    return RV_OK;
}

rv_err recorder_rows_new(const rv_pii_key *key, recorder_rows **out)
{
    if (key == NULL) {
        return RV_ERR_INVALID;
    }
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        if (tables[t].col_count > COLS_MAX) {
            return RV_ERR_FATAL; /* a bug: raise COLS_MAX */
        }
    }
    recorder_rows *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return RV_ERR_NOMEM;
    }
    r->rec = malloc(sizeof(*r->rec));
    r->decisions = malloc(RV_CODEC_DECISIONS_MAX * sizeof(*r->decisions));
    if (r->rec == NULL || r->decisions == NULL) {
        recorder_rows_free(r);
        return RV_ERR_NOMEM;
    }
    r->key = key;
    r->at_partition = -1;
    r->at_offset = -1;
    *out = r;
    return RV_OK;
}

static void rowset_clear(rowset *rs, size_t col_count)
{
    for (size_t i = 0; i < rs->count * col_count; i++) {
        free(rs->values[i]);
        rs->values[i] = NULL;
    }
    rs->count = 0;
}

void recorder_rows_clear(recorder_rows *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        rowset_clear(&r->sets[t], tables[t].col_count);
    }
}

void recorder_rows_free(recorder_rows *r)
{
    if (r == NULL) {
        return;
    }
    recorder_rows_clear(r);
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        free(r->sets[t].values);
        free(r->sets[t].tags);
    }
    for (size_t c = 0; c < COLS_MAX; c++) {
        free(r->arrays[c].s);
    }
    free(r->rec);
    free(r->decisions);
    free(r);
}

size_t recorder_rows_count(const recorder_rows *r, recorder_table t)
{
    return r != NULL && t < RECORDER_TABLE_COUNT ? r->sets[t].count : 0;
}

const char *const *recorder_rows_params(const recorder_rows *r,
                                        recorder_table t, size_t first)
{
    if (r == NULL || t >= RECORDER_TABLE_COUNT || first >= r->sets[t].count) {
        return NULL;
    }
    return (const char *const *)&r->sets[t].values[first * tables[t].col_count];
}

size_t recorder_rows_tag(const recorder_rows *r, recorder_table t, size_t row)
{
    if (r == NULL || t >= RECORDER_TABLE_COUNT || row >= r->sets[t].count) {
        return 0;
    }
    return r->sets[t].tags[row];
}

/* Builds one row: values are placed left to right; the first allocation
 * failure sticks and the row is dropped at row_end. */
typedef struct row {
    rowset *rs;
    const struct table_def *def;
    size_t col;
    rv_err err;
    int32_t partition; /* the message's coordinates, -1: none */
    int64_t offset;
} row;

static rv_err row_begin(recorder_rows *r, recorder_table t, row *w)
{
    rowset *rs = &r->sets[t];
    size_t cols = tables[t].col_count;
    *w = (row){.rs = rs,
               .def = &tables[t],
               .col = 0,
               .err = RV_OK,
               .partition = r->at_partition,
               .offset = r->at_offset};
    if (rs->count < rs->cap) {
        return RV_OK;
    }
    size_t cap = rs->cap == 0 ? 16 : rs->cap * 2;
    if (cap > SIZE_MAX / sizeof(char *) / cols) {
        return RV_ERR_NOMEM;
    }
    char **values = realloc(rs->values, cap * cols * sizeof(*values));
    if (values == NULL) {
        return RV_ERR_NOMEM;
    }
    rs->values = values;
    size_t *tags = realloc(rs->tags, cap * sizeof(*tags));
    if (tags == NULL) {
        return RV_ERR_NOMEM;
    }
    rs->tags = tags;
    rs->cap = cap;
    return RV_OK;
}

/* Place @p value (owned; NULL = SQL NULL) in the next column. */
static void put_value(row *w, char *value)
{
    if (w->col >= w->def->col_count) {
        free(value);
        w->col++; /* reported by row_end */
        return;
    }
    w->rs->values[w->rs->count * w->def->col_count + w->col] = value;
    w->col++;
}

static void put_null(row *w)
{
    put_value(w, NULL);
}

static void put_str(row *w, const char *s)
{
    char *v = strdup(s != NULL ? s : "");
    if (v == NULL) {
        w->err = RV_ERR_NOMEM;
    }
    put_value(w, v);
}

/* Empty means "not given": SQL NULL. */
static void put_opt_str(row *w, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        put_null(w);
    } else {
        put_str(w, s);
    }
}

static void put_int(row *w, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    put_str(w, buf);
}

static void put_bool(row *w, bool v)
{
    put_str(w, v ? "true" : "false");
}

/* float8in accepts "NaN" and "Infinity" but not printf's "-nan". */
static void put_double(row *w, double v)
{
    char buf[40];
    if (isnan(v)) {
        snprintf(buf, sizeof(buf), "NaN");
    } else if (isinf(v)) {
        snprintf(buf, sizeof(buf), "%sInfinity", v < 0 ? "-" : "");
    } else {
        snprintf(buf, sizeof(buf), "%.17g", v);
    }
    put_str(w, buf);
}

void recorder_format_ts(int64_t us, char out[RECORDER_TS_SIZE])
{
    int64_t sec = us / 1000000;
    int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        /* Cannot happen for 64-bit time_t; PostgreSQL rejects the text
         * and the row goes to the dead-letter path. */
        snprintf(out, RECORDER_TS_SIZE, "invalid");
        return;
    }
    snprintf(out, RECORDER_TS_SIZE, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)frac);
}

static void put_ts(row *w, int64_t us)
{
    char buf[RECORDER_TS_SIZE];
    recorder_format_ts(us, buf);
    put_str(w, buf);
}

/* 0 means "not set" on the wire (proto3 default): SQL NULL. */
static void put_opt_ts(row *w, int64_t us)
{
    if (us == 0) {
        put_null(w);
    } else {
        put_ts(w, us);
    }
}

static void put_phone(row *w, const char *phone)
{
    char masked[RV_PHONE_SIZE];
    rv_log_mask_phone(phone, masked, sizeof(masked));
    put_str(w, masked);
}

/* phone_enc: the number sealed (rv/pii.h), deterministic so a rebuilt
 * record compares equal; no number is SQL NULL. A number that cannot be
 * sealed (longer than RV_PII_PLAIN_MAX: the decoder keeps RV_PHONE_SIZE)
 * or an OpenSSL failure is a broken invariant, never a bad message. */
static void put_phone_enc(row *w, const rv_pii_key *key, const char *phone)
{
    if (phone == NULL || phone[0] == '\0') {
        put_null(w);
        return;
    }
    char sealed[RV_PII_SEALED_SIZE];
    rv_err err = rv_pii_seal(key, phone, sealed, sizeof(sealed), NULL, 0);
    if (err != RV_OK) {
        w->err = err == RV_ERR_NOMEM ? err : RV_ERR_FATAL;
        put_null(w);
        return;
    }
    put_str(w, sealed);
}

/* A text[] literal: {"a","b"} with '"' and '\' escaped. */
static void put_text_array(row *w, size_t count, size_t stride,
                           const char *first)
{
    sbuf b = {0};
    sb_putc(&b, '{');
    for (size_t i = 0; i < count; i++) {
        const char *s = first + i * stride;
        sb_puts(&b, i > 0 ? ",\"" : "\"");
        for (; *s != '\0'; s++) {
            if (*s == '"' || *s == '\\') {
                sb_putc(&b, '\\');
            }
            sb_putc(&b, *s);
        }
        sb_putc(&b, '"');
    }
    sb_putc(&b, '}');
    char *v = sb_take(&b);
    if (v == NULL) {
        w->err = RV_ERR_NOMEM;
    }
    put_value(w, v);
}

/* A JSON string: quotes, backslashes and control characters escaped;
 * other bytes pass (PostgreSQL checks the encoding). */
static void sb_json_str(sbuf *b, const char *s)
{
    sb_putc(b, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            sb_putc(b, '\\');
            sb_putc(b, (char)c);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            sb_puts(b, esc);
        } else {
            sb_putc(b, (char)c);
        }
    }
    sb_putc(b, '"');
}

/* [{"question_id": "...", "value": "..."}, ...] in the order given. */
static void put_answers(row *w, const rv_answer *answers, size_t count)
{
    sbuf b = {0};
    sb_putc(&b, '[');
    for (size_t i = 0; i < count; i++) {
        sb_puts(&b, i > 0 ? ", {\"question_id\": " : "{\"question_id\": ");
        sb_json_str(&b, answers[i].question_id);
        sb_puts(&b, ", \"value\": ");
        sb_json_str(&b, answers[i].value);
        sb_putc(&b, '}');
    }
    sb_putc(&b, ']');
    char *v = sb_take(&b);
    if (v == NULL) {
        w->err = RV_ERR_NOMEM;
    }
    put_value(w, v);
}

/* bytea in hex text form, "\x0a1b..."; NULL stays NULL. */
static void put_bytes(row *w, const uint8_t *buf, size_t len)
{
    if (buf == NULL) {
        put_null(w);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    if (len > (SIZE_MAX - 3) / 2) {
        w->err = RV_ERR_NOMEM;
        put_null(w);
        return;
    }
    char *v = malloc(2 * len + 3);
    if (v == NULL) {
        w->err = RV_ERR_NOMEM;
        put_null(w);
        return;
    }
    v[0] = '\\';
    v[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        v[2 + 2 * i] = hex[buf[i] >> 4];
        v[3 + 2 * i] = hex[buf[i] & 0x0f];
    }
    v[2 * len + 2] = '\0';
    put_value(w, v);
}

static void put_envelope(row *w, const rv_envelope *env)
{
    put_ts(w, env->occurred_at_us);
    put_opt_str(w, env->causation_id);
    put_opt_str(w, env->producer);
    put_opt_ts(w, env->produced_at_us);
    if (w->partition >= 0 && w->offset >= 0) {
        put_int(w, w->partition);
        put_int(w, w->offset);
    } else {
        put_null(w);
        put_null(w);
    }
}

/* Commit the row, or drop it on failure or a column-count mismatch (a
 * table definition and its builder disagree: a bug the tests catch). */
static rv_err row_end(row *w, size_t tag)
{
    rowset *rs = w->rs;
    size_t cols = w->def->col_count;
    rv_err err = w->err;
    if (err == RV_OK && w->col != cols) {
        RV_LOG(RV_LOG_ERROR, "recorder_row_mismatch",
               RV_KV_STR("table", w->def->name),
               RV_KV_INT("columns", (int64_t)cols),
               RV_KV_INT("values", (int64_t)w->col));
        err = RV_ERR_FATAL;
    }
    if (err != RV_OK) {
        size_t filled = w->col < cols ? w->col : cols;
        for (size_t c = 0; c < filled; c++) {
            free(rs->values[rs->count * cols + c]);
            rs->values[rs->count * cols + c] = NULL;
        }
        return err;
    }
    rs->tags[rs->count] = tag;
    rs->count++;
    return RV_OK;
}

rv_err recorder_rows_add_sale(recorder_rows *r, size_t tag, const rv_sale *s)
{
    row w;
    rv_err err = row_begin(r, RECORDER_SALES, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, s->env.event_id);
    put_str(&w, s->order_id);
    put_str(&w, s->customer_id);
    put_str(&w, s->branch_id);
    put_str(&w, s->store_id);
    put_int(&w, s->amount_cents);
    put_str(&w, s->currency);
    put_str(&w, s->segment);
    put_phone(&w, s->phone);
    put_phone_enc(&w, r->key, s->phone);
    put_bool(&w, s->phone_synthetic);
    put_int(&w, s->line_count);
    put_opt_str(&w, s->salesperson_id);
    put_int(&w, s->gift_cents);
    put_str(&w, s->customer_class);
    put_bool(&w, s->new_customer);
    put_text_array(&w, s->category_count, RV_SHORT_SIZE, s->categories[0]);
    put_envelope(&w, &s->env);
    return row_end(&w, tag);
}

rv_err recorder_rows_add_work_order(recorder_rows *r, size_t tag,
                                    const rv_work_order *o)
{
    row w;
    rv_err err = row_begin(r, RECORDER_WORK_ORDERS, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, o->env.event_id);
    put_str(&w, o->work_order_id);
    put_str(&w, rv_work_order_kind_name(o->kind));
    put_str(&w, o->customer_id);
    put_str(&w, o->branch_id);
    put_str(&w, o->store_id);
    put_phone(&w, o->phone);
    put_phone_enc(&w, r->key, o->phone);
    put_bool(&w, o->phone_synthetic);
    put_envelope(&w, &o->env);
    return row_end(&w, tag);
}

rv_err recorder_rows_add_task(recorder_rows *r, size_t tag, const rv_task *t)
{
    row w;
    rv_err err = row_begin(r, RECORDER_VISIT_TASKS, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, t->task_id);
    put_str(&w, t->env.event_id);
    put_str(&w, t->rule_id);
    put_text_array(&w, t->reason_count, RV_REASON_SIZE, t->reasons[0]);
    put_str(&w, t->source_event_id);
    put_str(&w, t->customer_id);
    put_str(&w, t->branch_id);
    put_str(&w, t->store_id);
    put_opt_ts(&w, t->due_start_us);
    put_opt_ts(&w, t->due_end_us);
    put_int(&w, t->priority);
    put_str(&w, rv_channel_name(t->channel));
    put_text_array(&w, t->question_count, RV_KEY_SIZE, t->questions[0]);
    put_str(&w, t->policy_version);
    put_int(&w, t->attempt);
    put_opt_ts(&w, t->not_before_us);
    put_phone(&w, t->phone);
    put_phone_enc(&w, r->key, t->phone);
    put_double(&w, t->sample_u);
    put_double(&w, t->sample_rate);
    put_str(&w, t->customer_class);
    put_envelope(&w, &t->env);
    return row_end(&w, tag);
}

rv_err recorder_rows_add_retry(recorder_rows *r, size_t tag, const rv_task *t)
{
    row w;
    rv_err err = row_begin(r, RECORDER_TASK_RETRIES, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, t->env.event_id);
    put_str(&w, t->task_id);
    put_int(&w, t->attempt);
    put_opt_ts(&w, t->not_before_us);
    put_str(&w, t->customer_id);
    put_str(&w, t->branch_id);
    put_opt_ts(&w, t->due_start_us);
    put_opt_ts(&w, t->due_end_us);
    put_str(&w, t->policy_version);
    put_envelope(&w, &t->env);
    return row_end(&w, tag);
}

static const char *status_name(rv_assignment_status s)
{
    switch (s) {
    case RV_ASSIGNED:
        return "assigned";
    case RV_UNASSIGNED:
        return "unassigned";
    }
    return "unspecified";
}

rv_err recorder_rows_add_assignment(recorder_rows *r, size_t tag,
                                    const rv_assignment *a)
{
    row w;
    rv_err err = row_begin(r, RECORDER_ASSIGNMENTS, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, a->assignment_id);
    put_str(&w, a->env.event_id);
    put_str(&w, a->task_id);
    put_int(&w, a->attempt);
    put_str(&w, status_name(a->status));
    put_str(&w, a->customer_id);
    put_str(&w, a->branch_id);
    put_opt_str(&w, a->agent_id);
    put_opt_str(&w, a->day);
    put_opt_ts(&w, a->window_start_us);
    put_opt_ts(&w, a->window_end_us);
    put_opt_str(&w, a->reason);
    put_str(&w, a->policy_version);
    put_str(&w, rv_channel_name(a->channel));
    put_text_array(&w, a->question_count, RV_KEY_SIZE, a->questions[0]);
    put_opt_ts(&w, a->due_end_us);
    if (a->status == RV_ASSIGNED) {
        put_int(&w, a->window_index);
    } else {
        put_null(&w);
    }
    put_opt_str(&w, a->salesperson_id);
    put_envelope(&w, &a->env);
    return row_end(&w, tag);
}

rv_err recorder_rows_add_outcome(recorder_rows *r, size_t tag,
                                 const rv_outcome *o)
{
    row w;
    rv_err err = row_begin(r, RECORDER_OUTCOMES, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, o->outcome_id);
    put_str(&w, o->env.event_id);
    put_str(&w, o->assignment_id);
    put_str(&w, o->task_id);
    put_int(&w, o->attempt);
    put_str(&w, o->customer_id);
    put_str(&w, o->branch_id);
    put_opt_str(&w, o->agent_id);
    put_str(&w, rv_disposition_name(o->disposition));
    put_str(&w, rv_channel_name(o->channel));
    put_opt_ts(&w, o->started_at_us);
    put_int(&w, o->talk_time_s);
    put_answers(&w, o->answers, o->answer_count);
    if (o->satisfaction < 0) {
        put_null(&w);
    } else {
        put_int(&w, o->satisfaction);
    }
    put_opt_str(&w, o->recording_ref);
    put_opt_str(&w, o->notes);
    put_text_array(&w, o->question_count, RV_KEY_SIZE, o->questions[0]);
    put_envelope(&w, &o->env);
    return row_end(&w, tag);
}

rv_err recorder_rows_add_grade(recorder_rows *r, size_t tag, const rv_grade *g)
{
    row w;
    rv_err err = row_begin(r, RECORDER_GRADES, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, g->grade_id);
    put_str(&w, g->env.event_id);
    put_str(&w, g->outcome_id);
    put_str(&w, g->task_id);
    put_int(&w, g->attempt);
    put_str(&w, g->customer_id);
    put_str(&w, g->branch_id);
    put_opt_str(&w, g->agent_id);
    put_str(&w, rv_verdict_name(g->verdict));
    put_str(&w, rv_disposition_name(g->disposition));
    if (g->satisfaction < 0) {
        put_null(&w);
    } else {
        put_int(&w, g->satisfaction);
    }
    put_str(&w, rv_band_name(g->band));
    put_bool(&w, g->evidence_ok);
    put_str(&w, g->reason);
    put_answers(&w, g->compliance, g->compliance_count);
    put_bool(&w, g->in_due_window);
    put_str(&w, g->policy_version);
    put_envelope(&w, &g->env);
    return row_end(&w, tag);
}

rv_err recorder_rows_add_alert(recorder_rows *r, size_t tag, const rv_alert *a)
{
    row w;
    rv_err err = row_begin(r, RECORDER_ALERTS, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, a->alert_id);
    put_str(&w, a->env.event_id);
    put_str(&w, a->grade_id);
    put_str(&w, a->task_id);
    put_str(&w, a->customer_id);
    put_str(&w, a->branch_id);
    put_opt_str(&w, a->agent_id);
    put_str(&w, a->kind);
    put_str(&w, rv_severity_name(a->severity));
    put_str(&w, a->route_to);
    put_str(&w, a->evidence);
    put_str(&w, a->policy_version);
    put_bool(&w, a->suspected);
    put_opt_ts(&w, a->deadline_us);
    put_opt_str(&w, a->case_id);
    put_opt_str(&w, a->notify);
    put_int(&w, a->attempt);
    put_opt_str(&w, a->salesperson_id);
    put_opt_str(&w, a->store_id);
    put_envelope(&w, &a->env);
    return row_end(&w, tag);
}

rv_err recorder_rows_add_decision(recorder_rows *r, size_t tag,
                                  const rv_decision *d)
{
    row w;
    rv_err err = row_begin(r, RECORDER_DECISIONS, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, d->decision_id);
    put_str(&w, d->env.event_id);
    put_str(&w, d->source_event_id);
    put_str(&w, d->customer_id);
    put_str(&w, d->branch_id);
    put_opt_str(&w, d->store_id);
    put_str(&w, d->rule_id);
    put_str(&w, rv_decision_outcome_name(d->outcome));
    put_double(&w, d->u);
    put_double(&w, d->rate);
    put_str(&w, d->policy_version);
    put_str(&w, d->reason);
    put_opt_str(&w, d->task_id);
    put_envelope(&w, &d->env);
    return row_end(&w, tag);
}

rv_err recorder_rows_add_case_event(recorder_rows *r, size_t tag,
                                    const rv_case_event *e)
{
    row w;
    rv_err err = row_begin(r, RECORDER_CASE_EVENTS, &w);
    if (err != RV_OK) {
        return err;
    }
    put_str(&w, e->env.event_id);
    put_str(&w, e->case_id);
    put_str(&w, rv_case_action_name(e->action));
    put_str(&w, e->actor);
    put_str(&w, e->text);
    put_envelope(&w, &e->env);
    return row_end(&w, tag);
}

/* Length of the valid UTF-8 sequence at @p s (at most @p n bytes), 0 if
 * it is not one. Overlong forms and surrogates count as invalid, as
 * PostgreSQL's verifier does. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) {
        return 1;
    }
    size_t len;
    unsigned cp;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

/* Header text is whatever a producer wrote: keep at most DLQ_TEXT_MAX
 * bytes and replace every byte that is not valid UTF-8 with '?', so the
 * dead letter itself can always be recorded. */
static void put_header_text(row *w, const char *s)
{
    sbuf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n > DLQ_TEXT_MAX) {
        n = DLQ_TEXT_MAX;
    }
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(p + i, n - i);
        if (len == 0) {
            sb_putc(&b, '?');
            i++;
        } else {
            sb_putn(&b, s + i, len);
            i += len;
        }
    }
    char *v = sb_take(&b);
    if (v == NULL) {
        w->err = RV_ERR_NOMEM;
    }
    put_value(w, v);
}

static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL || s[0] == '\0') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

rv_err recorder_rows_add_dead_letter(recorder_rows *r, size_t tag,
                                     const rv_msg *m,
                                     const recorder_dlq_source *src)
{
    row w;
    rv_err err = row_begin(r, RECORDER_DEAD_LETTERS, &w);
    if (err != RV_OK) {
        return err;
    }
    /* The source is all three headers or none: mixing the DLQ's own
     * partition with a source topic could collide with a real source. */
    int64_t partition = 0;
    int64_t offset = 0;
    bool has_source = src != NULL && src->topic != NULL &&
                      src->topic[0] != '\0' &&
                      parse_i64(src->partition, 0, INT32_MAX, &partition) &&
                      parse_i64(src->offset, 0, INT64_MAX, &offset);
    if (has_source) {
        put_header_text(&w, src->topic);
        put_int(&w, partition);
        put_int(&w, offset);
    } else {
        put_str(&w, m->topic);
        put_int(&w, m->partition);
        put_int(&w, m->offset);
    }
    put_str(&w, m->topic);
    put_int(&w, m->partition);
    put_int(&w, m->offset);
    if (src != NULL && src->reason != NULL) {
        put_header_text(&w, src->reason);
    } else {
        put_str(&w, "no rv.reason header");
    }
    put_bytes(&w, m->key, m->key_len);
    put_bytes(&w, m->payload, m->len);
    if (m->timestamp_ms >= 0) {
        put_ts(&w, m->timestamp_ms * 1000);
    } else {
        put_null(&w);
    }
    return row_end(&w, tag);
}

/* The Kafka key check of a decoded message whose key is its customer's
 * (rv/keying.h; compliance.cases is checked with its case_id). */
static rv_err keyed_by_customer(const rv_msg *m, const char *customer_id,
                                char *errstr, size_t errstr_size)
{
    return rv_keying_check(m, &(rv_key_values){.customer_id = customer_id},
                           errstr, errstr_size);
}

/* Decode by topic into @p rec (scratch), check its Kafka key
 * (rv/keying.h) and add the fact row(s).
 * @returns RV_OK, RV_ERR_INVALID (does not decode, or keyed by another
 *          value), RV_ERR_NOMEM, RV_ERR_FATAL */
static rv_err add_fact(recorder_rows *r, size_t tag, const rv_msg *m,
                       recorder_topic kind, record *rec, char *errstr,
                       size_t errstr_size)
{
    const uint8_t *buf = m->payload;
    size_t len = m->len;
    if (buf == NULL) {
        rv_errf(errstr, errstr_size, "%s: empty message (tombstone)", m->topic);
        return RV_ERR_INVALID;
    }
    rv_err err = RV_ERR_INVALID;
    switch (kind) {
    case RECORDER_TOPIC_SALES:
        err = rv_codec_decode_sale(buf, len, &rec->sale, errstr, errstr_size);
        if (err == RV_OK) {
            err = keyed_by_customer(m, rec->sale.customer_id, errstr,
                                    errstr_size);
        }
        if (err == RV_OK) {
            err = recorder_rows_add_sale(r, tag, &rec->sale);
        }
        break;
    case RECORDER_TOPIC_SERVICE:
        err = rv_codec_decode_work_order(buf, len, &rec->work_order, errstr,
                                         errstr_size);
        if (err == RV_OK) {
            err = keyed_by_customer(m, rec->work_order.customer_id, errstr,
                                    errstr_size);
        }
        if (err == RV_OK) {
            err = recorder_rows_add_work_order(r, tag, &rec->work_order);
        }
        break;
    case RECORDER_TOPIC_TASKS:
    case RECORDER_TOPIC_RETRIES:
        err = rv_codec_decode_task(buf, len, &rec->task, errstr, errstr_size);
        if (err == RV_OK) {
            err = keyed_by_customer(m, rec->task.customer_id, errstr,
                                    errstr_size);
        }
        if (err == RV_OK) {
            err = kind == RECORDER_TOPIC_TASKS
                      ? recorder_rows_add_task(r, tag, &rec->task)
                      : recorder_rows_add_retry(r, tag, &rec->task);
        }
        break;
    case RECORDER_TOPIC_ASSIGNMENTS:
        err = rv_codec_decode_assignment(buf, len, &rec->assignment, errstr,
                                         errstr_size);
        if (err == RV_OK) {
            err = keyed_by_customer(m, rec->assignment.customer_id, errstr,
                                    errstr_size);
        }
        if (err == RV_OK) {
            err = recorder_rows_add_assignment(r, tag, &rec->assignment);
        }
        break;
    case RECORDER_TOPIC_OUTCOMES:
        err = rv_codec_decode_outcome(buf, len, &rec->outcome, errstr,
                                      errstr_size);
        if (err == RV_OK) {
            err = keyed_by_customer(m, rec->outcome.customer_id, errstr,
                                    errstr_size);
        }
        if (err == RV_OK) {
            err = recorder_rows_add_outcome(r, tag, &rec->outcome);
        }
        break;
    case RECORDER_TOPIC_GRADES:
        err = rv_codec_decode_grade(buf, len, &rec->grade, errstr, errstr_size);
        if (err == RV_OK) {
            err = keyed_by_customer(m, rec->grade.customer_id, errstr,
                                    errstr_size);
        }
        if (err == RV_OK) {
            err = recorder_rows_add_grade(r, tag, &rec->grade);
        }
        break;
    case RECORDER_TOPIC_ALERTS:
        err = rv_codec_decode_alert(buf, len, &rec->alert, errstr, errstr_size);
        if (err == RV_OK) {
            err = keyed_by_customer(m, rec->alert.customer_id, errstr,
                                    errstr_size);
        }
        if (err == RV_OK) {
            err = recorder_rows_add_alert(r, tag, &rec->alert);
        }
        break;
    case RECORDER_TOPIC_DECISIONS: {
        /* One customer's decisions of a sampler batch (issue 8): a row
         * each, all tagged with the message and carrying its offset. */
        rv_decision *ds = r->decisions;
        size_t n = 0;
        err = rv_codec_decode_decisions(buf, len, ds, RV_CODEC_DECISIONS_MAX,
                                        &n, errstr, errstr_size);
        if (err == RV_OK) { /* all of one customer (the decoder checks) */
            err = keyed_by_customer(m, ds[0].customer_id, errstr, errstr_size);
        }
        for (size_t i = 0; err == RV_OK && i < n; i++) {
            err = recorder_rows_add_decision(r, tag, &ds[i]);
        }
        break;
    }
    case RECORDER_TOPIC_CASES:
        err = rv_codec_decode_case_event(buf, len, &rec->case_event, errstr,
                                         errstr_size);
        if (err == RV_OK) {
            err = rv_keying_check(
                m, &(rv_key_values){.case_id = rec->case_event.case_id}, errstr,
                errstr_size);
        }
        if (err == RV_OK) {
            err = recorder_rows_add_case_event(r, tag, &rec->case_event);
        }
        break;
    case RECORDER_TOPIC_DLQ:
    case RECORDER_TOPIC_UNKNOWN:
        rv_errf(errstr, errstr_size, "%s: no decoder for this topic", m->topic);
        err = RV_ERR_INVALID;
        break;
    }
    return err;
}

rv_err recorder_rows_add_msg(recorder_rows *r, size_t tag, const rv_msg *m,
                             const recorder_dlq_source *src, char *errstr,
                             size_t errstr_size)
{
    recorder_topic kind = recorder_topic_of(m->topic);
    if (kind == RECORDER_TOPIC_DLQ) {
        return recorder_rows_add_dead_letter(r, tag, m, src);
    }
    bool coords = m->partition >= 0 && m->offset >= 0;
    r->at_partition = coords ? m->partition : -1;
    r->at_offset = coords ? m->offset : -1;
    rv_err err = add_fact(r, tag, m, kind, r->rec, errstr, errstr_size);
    r->at_partition = -1;
    r->at_offset = -1;
    return err;
}
