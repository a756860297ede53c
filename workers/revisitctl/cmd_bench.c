/* workers/revisitctl/cmd_bench.c: `revisitctl bench-kafka`, `bench-pg`
 * and `bench-retention`, the raw limits of the machine that the
 * benchmark (deploy/local/bench.sh) sets the workers' rates against:
 * what one plain consumer reads from the broker and what a batch's flush
 * and commit cost, what PostgreSQL takes in multi-row INSERT ... ON
 * CONFLICT DO NOTHING (the recorder's statement) on a table shaped like
 * visit_tasks; and whether the development broker dropped messages. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_args.h"
#include "rv/cfg.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"
#include "rv/log.h"
#include "rv/pg.h"

/* The workers' batch.max default: one poll, one transaction. */
#define BATCH_DEFAULT 500
#define BATCH_MAX 2000
#define POLL_TIMEOUT_MS 200
#define LAG_TIMEOUT_MS 5000
#define PG_ROWS_DEFAULT 200000
#define PG_ROWS_MAX 100000000ULL
/* Round trips of the per-batch probe, and its topic. */
#define RTT_ROUNDS 100
#define RTT_TOPIC "revisit.bench.probe"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- bench-kafka ---------------------------------------------------- */

/* Consumes every message of @p topic once in a fresh group; the clock
 * runs from the first message to the last, so joining the group (about
 * 3 s on the development broker) is not counted. */
static int kafka_consume_all(const rv_props *kafka, const char *topic,
                             uint64_t batch, long timeout_s)
{
    char group[96], errstr[512] = "";
    snprintf(group, sizeof(group), "revisit-bench-kafka-%ld-%ld",
             (long)getpid(), (long)time(NULL));
    const char *topics[] = {topic};
    int64_t lag = 0, total = 0;
    if (rv_kafka_group_lag(kafka, group, topics, 1, LAG_TIMEOUT_MS, &lag,
                           &total, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "bench-kafka: %s\n", errstr);
        return 69;
    }
    /* A fresh group reads from each partition's low watermark: lag is
     * what there is to read. */
    rv_consumer *kc = NULL;
    if (rv_consumer_open(kafka, group, topics, 1, &kc, errstr,
                         sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "bench-kafka: %s\n", errstr);
        return 69;
    }
    int code = 0;
    int64_t seen = 0;
    uint64_t bytes = 0;
    double first = 0, last = 0, deadline = mono_s() + (double)timeout_s;
    while (seen < lag) {
        if (mono_s() > deadline) {
            fprintf(stderr, "bench-kafka: %lld of %lld messages after %ld s\n",
                    (long long)seen, (long long)lag, timeout_s);
            code = 1;
            break;
        }
        const rv_msg *msgs = NULL;
        size_t n = 0;
        if (rv_consumer_poll_batch(kc, (size_t)batch, POLL_TIMEOUT_MS, &msgs,
                                   &n) != RV_OK) {
            fprintf(stderr, "bench-kafka: consumer failed\n");
            code = 69;
            break;
        }
        if (n > 0) {
            if (seen == 0) {
                first = mono_s();
            }
            for (size_t i = 0; i < n; i++) {
                bytes += msgs[i].len;
            }
            seen += (int64_t)n;
            last = mono_s();
        }
        rv_consumer_release_batch(kc);
    }
    rv_consumer_close(kc);
    if (code == 0) {
        double secs = last - first;
        printf("bench-kafka: topic=%s messages=%lld bytes=%llu seconds=%.3f "
               "msgs_per_s=%.0f\n",
               topic, (long long)seen, (unsigned long long)bytes, secs,
               secs > 0 ? (double)seen / secs : 0.0);
    }
    return code;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The @p q quantile (0..1) of the @p n sorted values at @p v. */
static double quantile(const double *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* What every worker pays once per batch, whatever its size: the
 * producer's flush (delivery confirmed, acks=all) and the consumer's
 * synchronous commit. @p rounds one-message round trips on a topic of
 * its own (the development broker creates it on first use). */
static int kafka_round_trips(const rv_props *kafka, uint64_t rounds)
{
    char group[96], errstr[512] = "";
    snprintf(group, sizeof(group), "revisit-bench-rtt-%ld-%ld", (long)getpid(),
             (long)time(NULL));
    const char *topics[] = {RTT_TOPIC};
    double *flush_ms = calloc((size_t)rounds, sizeof(double));
    double *commit_ms = calloc((size_t)rounds, sizeof(double));
    rv_producer *kp = NULL;
    rv_consumer *kc = NULL;
    int code = 69;
    if (flush_ms == NULL || commit_ms == NULL) {
        fprintf(stderr, "bench-kafka: out of memory\n");
        goto out;
    }
    if (rv_producer_open(kafka, "revisitctl-bench", &kp, errstr,
                         sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "bench-kafka: %s\n", errstr);
        goto out;
    }
    static const uint8_t probe[] = "probe";
    for (uint64_t i = 0; i <= rounds; i++) {
        double t0 = mono_s();
        if (rv_producer_send(kp, RTT_TOPIC, "probe", probe, sizeof(probe), NULL,
                             0) != RV_OK ||
            rv_producer_flush(kp, 10000) != RV_OK) {
            fprintf(stderr, "bench-kafka: probe not delivered\n");
            goto out;
        }
        if (i > 0) { /* the first one also fetches metadata */
            flush_ms[i - 1] = (mono_s() - t0) * 1000;
        }
    }
    if (rv_consumer_open(kafka, group, topics, 1, &kc, errstr,
                         sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "bench-kafka: %s\n", errstr);
        goto out;
    }
    double deadline = mono_s() + 60;
    for (uint64_t i = 0; i < rounds;) {
        const rv_msg *msgs = NULL;
        size_t n = 0;
        if (mono_s() > deadline ||
            rv_consumer_poll_batch(kc, 1, POLL_TIMEOUT_MS, &msgs, &n) !=
                RV_OK) {
            fprintf(stderr, "bench-kafka: probes not consumed\n");
            goto out;
        }
        if (n == 0) {
            continue;
        }
        double t0 = mono_s();
        if (rv_consumer_commit_batch(kc) != RV_OK) {
            fprintf(stderr, "bench-kafka: commit failed\n");
            goto out;
        }
        commit_ms[i++] = (mono_s() - t0) * 1000;
    }
    qsort(flush_ms, (size_t)rounds, sizeof(double), cmp_double);
    qsort(commit_ms, (size_t)rounds, sizeof(double), cmp_double);
    printf("bench-kafka-rtt: rounds=%llu flush_p50_ms=%.2f flush_p99_ms=%.2f "
           "commit_p50_ms=%.2f commit_p99_ms=%.2f\n",
           (unsigned long long)rounds, quantile(flush_ms, rounds, 0.5),
           quantile(flush_ms, rounds, 0.99), quantile(commit_ms, rounds, 0.5),
           quantile(commit_ms, rounds, 0.99));
    code = 0;
out:
    rv_consumer_close(kc);
    rv_producer_close(kp, 1000);
    free(commit_ms);
    free(flush_ms);
    return code;
}

int rv_ctl_bench_kafka(int argc, char **argv)
{
    const char *topic = "sales.events";
    uint64_t batch = BATCH_DEFAULT, timeout_s = 600, rounds = RTT_ROUNDS;
    static const char usage[] =
        "usage: revisitctl bench-kafka [--topic T] [--batch N] "
        "[--timeout-s S] [--round-trips R]\n";
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--topic") == 0) {
            err = ctl_arg_value(argc, argv, &i, &topic, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--round-trips") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 0, 100000, &rounds, errstr,
                              sizeof(errstr));
        } else if (strcmp(argv[i], "--batch") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, 100000, &batch, errstr,
                              sizeof(errstr));
        } else if (strcmp(argv[i], "--timeout-s") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, 86400, &timeout_s, errstr,
                              sizeof(errstr));
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "bench-kafka: %s\n", errstr);
            fputs(usage, stderr);
            return CTL_EX_USAGE;
        }
    }
    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    rv_props kafka = {0};
    if (rv_cfg_load(sec, 1, NULL, &kafka) != RV_OK) {
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    int code = kafka_consume_all(&kafka, topic, batch, (long)timeout_s);
    if (code == 0 && rounds > 0) {
        code = kafka_round_trips(&kafka, rounds);
    }
    rv_cfg_fini(sec, 1, &kafka);
    return code;
}

/* ---- bench-retention ------------------------------------------------ */

static const char *const all_topics[] = {
    "sales.events",         "service.events",       "visits.tasks",
    "visits.retries",       "visits.assignments",   "visits.outcomes",
    "visits.grades",        "compliance.alerts",    "compliance.cases",
    "visits.decisions",     "sales.events.dlq",     "service.events.dlq",
    "visits.tasks.dlq",     "visits.retries.dlq",   "visits.assignments.dlq",
    "visits.outcomes.dlq",  "visits.grades.dlq",    "compliance.alerts.dlq",
    "compliance.cases.dlq", "visits.decisions.dlq",
};

/* The development broker drops a partition's oldest messages past its
 * limits (librdkafka's mock: 5 MiB or 100,000 messages), which moves the
 * low watermark up. A group that never committed counts its lag from the
 * low watermark, so its lag is the sum of (high - low) and the
 * messages the sum of high: they are equal if and only if every low
 * watermark is still 0. */
int rv_ctl_bench_retention(int argc, char **argv)
{
    if (argc > 1 && ctl_arg_is_help(argv[1])) {
        printf("usage: revisitctl bench-retention\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "bench-retention: unknown argument \"%s\"\n", argv[1]);
        return CTL_EX_USAGE;
    }
    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    rv_props kafka = {0};
    if (rv_cfg_load(sec, 1, NULL, &kafka) != RV_OK) {
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    int code = 0;
    for (size_t t = 0; t < sizeof(all_topics) / sizeof(all_topics[0]); t++) {
        char errstr[512] = "";
        int64_t retained = 0, messages = 0;
        if (rv_kafka_group_lag(&kafka, "revisit-bench-retention",
                               &all_topics[t], 1, LAG_TIMEOUT_MS, &retained,
                               &messages, errstr, sizeof(errstr)) != RV_OK) {
            fprintf(stderr, "bench-retention: %s\n", errstr);
            code = 69;
            break;
        }
        printf("bench-retention: topic=%s messages=%lld retained=%lld "
               "dropped=%lld\n",
               all_topics[t], (long long)messages, (long long)retained,
               (long long)(messages - retained));
        if (retained != messages) {
            code = 1;
        }
    }
    rv_cfg_fini(sec, 1, &kafka);
    return code;
}

/* ---- bench-pg ------------------------------------------------------- */

#define PG_TABLE "bench_visit_tasks"
/* visit_tasks' columns as the recorder writes them (recorder_rows.c):
 * text parameters, cast where the column is not text. Every column but
 * recorded_at (its default, the transaction's time): pg_check_columns
 * refuses to measure rows narrower than the recorder's. */
static const struct {
    const char *name;
    const char *cast;
} task_cols[] = {
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
    {"sample_u", "double precision"},
    {"sample_rate", "double precision"},
    {"occurred_at", "timestamptz"},
    {"causation_id", ""},
    {"producer", ""},
    {"produced_at", "timestamptz"},
    {"phone_enc", ""},
    {"customer_class", ""},
    {"kafka_partition", "integer"},
    {"kafka_offset", "bigint"},
};
#define TASK_COLS (sizeof(task_cols) / sizeof(task_cols[0]))
/* Longest text of one value below, with NUL. */
#define VALUE_SIZE 96

/* INSERT INTO bench_visit_tasks (...) VALUES ($1, ...), ... ON CONFLICT
 * DO NOTHING for @p rows rows; NULL when out of memory. */
static char *insert_sql(size_t rows)
{
    size_t cap = 512 + rows * TASK_COLS * 32;
    char *s = malloc(cap);
    if (s == NULL) {
        return NULL;
    }
    size_t len = (size_t)snprintf(s, cap, "INSERT INTO " PG_TABLE " (");
    for (size_t c = 0; c < TASK_COLS; c++) {
        len += (size_t)snprintf(s + len, cap - len, "%s%s", c ? ", " : "",
                                task_cols[c].name);
    }
    len += (size_t)snprintf(s + len, cap - len, ") VALUES ");
    size_t n = 1;
    for (size_t r = 0; r < rows; r++) {
        len += (size_t)snprintf(s + len, cap - len, "%s(", r ? ", " : "");
        for (size_t c = 0; c < TASK_COLS; c++) {
            len += (size_t)snprintf(
                s + len, cap - len, "%s$%zu%s%s", c ? ", " : "", n++,
                task_cols[c].cast[0] ? "::" : "", task_cols[c].cast);
        }
        len += (size_t)snprintf(s + len, cap - len, ")");
    }
    snprintf(s + len, cap - len, " ON CONFLICT DO NOTHING");
    return s;
}

/* The values of row @p i, like a task of the Superstore sample: derived
 * IDs, a reason, three questions, due window, masked and sealed phone. */
static void task_row(uint64_t i, char (*v)[VALUE_SIZE])
{
    char num[32], id[RV_ID_SIZE];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)i);
    const char *sale[] = {"bench-sale", num};
    rv_id_derive(id, 2, sale);
    const char *task[] = {id, "R1"};
    rv_id_derive(v[0], 2, task);
    memcpy(v[1], v[0], RV_ID_SIZE);
    snprintf(v[2], VALUE_SIZE, "R1");
    snprintf(v[3], VALUE_SIZE,
             "{\"R1 post-sale satisfaction visit by amount tier\"}");
    snprintf(v[4], VALUE_SIZE, "%s", id);
    snprintf(v[5], VALUE_SIZE, "S1-C%07llu", (unsigned long long)(i / 6));
    snprintf(v[6], VALUE_SIZE, "West");
    snprintf(v[7], VALUE_SIZE, "Los Angeles");
    unsigned day = (unsigned)(i / 700 % 28) + 1;
    snprintf(v[8], VALUE_SIZE, "2016-02-%02u 16:00:00+00", day);
    snprintf(v[9], VALUE_SIZE, "2016-03-%02u 00:30:00+00", day);
    snprintf(v[10], VALUE_SIZE, "0");
    snprintf(v[11], VALUE_SIZE, "phone");
    snprintf(v[12], VALUE_SIZE, "{q.satisfaction,q.delivery,q.product}");
    snprintf(v[13], VALUE_SIZE, "2025.1");
    snprintf(v[14], VALUE_SIZE, "1");
    snprintf(v[15], VALUE_SIZE, "2016-02-%02u 16:00:00+00", day);
    snprintf(v[16], VALUE_SIZE, "555****%04llu",
             (unsigned long long)(i % 10000));
    snprintf(v[17], VALUE_SIZE, "0.%016llu",
             (unsigned long long)(i * 2654435761ULL % 10000000000000000ULL));
    snprintf(v[18], VALUE_SIZE, "0.05");
    snprintf(v[19], VALUE_SIZE, "2016-02-%02u 13:00:00.000000+00", day);
    snprintf(v[20], VALUE_SIZE, "%s", id);
    snprintf(v[21], VALUE_SIZE, "sampler/0.1.0");
    snprintf(v[22], VALUE_SIZE, "2025-01-01 00:00:00.000000+00");
    /* As wide as the recorder's sealed number (common/pii.c: "v1:" and
     * the base64 of a 16-byte tag and 10 digits). */
    snprintf(v[23], VALUE_SIZE, "v1:%036llu",
             (unsigned long long)(i * 2654435761ULL));
    snprintf(v[24], VALUE_SIZE, "%s", i % 5 == 0 ? "vip" : "");
    /* One partition of six, offsets rising as a topic's would. */
    snprintf(v[25], VALUE_SIZE, "%llu", (unsigned long long)(i % 6));
    snprintf(v[26], VALUE_SIZE, "%llu", (unsigned long long)(i / 6));
}

static rv_err pg_run(rv_pg *pg, const char *sql, const char *what)
{
    char errstr[512] = "";
    rv_err err = rv_pg_exec(pg, sql, 0, NULL, NULL, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "bench-pg: %s: %s\n", what, errstr);
    }
    return err;
}

/* 0 when task_cols names every column of visit_tasks but recorded_at
 * (the recorder's row width), 65 (and which are missing) when a
 * migration added one the probe does not fill, 69 on a database error. */
static int pg_check_columns(rv_pg *pg)
{
    size_t cap = 16;
    for (size_t c = 0; c < TASK_COLS; c++) {
        cap += strlen(task_cols[c].name) + 1;
    }
    char *names = malloc(cap);
    if (names == NULL) {
        fprintf(stderr, "bench-pg: out of memory\n");
        return 69;
    }
    size_t len = (size_t)snprintf(names, cap, "{recorded_at");
    for (size_t c = 0; c < TASK_COLS; c++) {
        len +=
            (size_t)snprintf(names + len, cap - len, ",%s", task_cols[c].name);
    }
    snprintf(names + len, cap - len, "}");
    const char *params[] = {names};
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    int code = 69;
    if (rv_pg_exec(pg,
                   "SELECT coalesce(string_agg(column_name::text, ', ' "
                   "ORDER BY ordinal_position), '') "
                   "FROM information_schema.columns WHERE table_schema = "
                   "current_schema() AND table_name = 'visit_tasks' AND "
                   "column_name::text <> ALL($1::text[])",
                   1, params, &res, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "bench-pg: columns: %s\n", errstr);
    } else if (rv_pg_result_value(res, 0, 0)[0] != '\0') {
        fprintf(stderr,
                "bench-pg: visit_tasks has columns the probe does not fill "
                "(%s): add them to task_cols in cmd_bench.c, as the "
                "recorder writes them\n",
                rv_pg_result_value(res, 0, 0));
        code = 65;
    } else {
        code = 0;
    }
    rv_pg_result_free(res);
    free(names);
    return code;
}

/* Inserts @p rows rows, @p batch per statement and transaction. */
static int pg_insert_all(rv_pg *pg, uint64_t rows, uint64_t batch)
{
    int code = 69;
    char *sql = insert_sql((size_t)batch);
    char(*vals)[VALUE_SIZE] = calloc((size_t)batch * TASK_COLS, VALUE_SIZE);
    const char **params = calloc((size_t)batch * TASK_COLS, sizeof(*params));
    char *last_sql = NULL;
    if (sql == NULL || vals == NULL || params == NULL) {
        fprintf(stderr, "bench-pg: out of memory\n");
        goto out;
    }
    for (size_t k = 0; k < (size_t)batch * TASK_COLS; k++) {
        params[k] = vals[k];
    }
    uint64_t inserted = 0;
    double t0 = mono_s();
    for (uint64_t first = 0; first < rows; first += batch) {
        size_t n = (size_t)(rows - first < batch ? rows - first : batch);
        for (size_t r = 0; r < n; r++) {
            task_row(first + r, &vals[r * TASK_COLS]);
        }
        const char *stmt = sql;
        if (n < batch) {
            free(last_sql);
            last_sql = insert_sql(n);
            if (last_sql == NULL) {
                fprintf(stderr, "bench-pg: out of memory\n");
                goto out;
            }
            stmt = last_sql;
        }
        if (pg_run(pg, "BEGIN", "begin") != RV_OK) {
            goto out;
        }
        char errstr[512] = "";
        rv_pg_result *res = NULL;
        if (rv_pg_exec(pg, stmt, n * TASK_COLS, params, &res, errstr,
                       sizeof(errstr)) != RV_OK) {
            fprintf(stderr, "bench-pg: insert: %s\n", errstr);
            rv_err rb = pg_run(pg, "ROLLBACK", "rollback");
            (void)rb; /* reported; the connection closes next anyway */
            goto out;
        }
        inserted += (uint64_t)rv_pg_result_affected(res);
        rv_pg_result_free(res);
        if (pg_run(pg, "COMMIT", "commit") != RV_OK) {
            goto out;
        }
    }
    double secs = mono_s() - t0;
    printf("bench-pg: table=" PG_TABLE " rows=%llu inserted=%llu batch=%llu "
           "seconds=%.3f rows_per_s=%.0f\n",
           (unsigned long long)rows, (unsigned long long)inserted,
           (unsigned long long)batch, secs,
           secs > 0 ? (double)rows / secs : 0.0);
    code = 0;
out:
    free(last_sql);
    free(params);
    free(vals);
    free(sql);
    return code;
}

int rv_ctl_bench_pg(int argc, char **argv)
{
    const char *dsn_arg = NULL;
    uint64_t rows = PG_ROWS_DEFAULT, batch = BATCH_DEFAULT;
    static const char usage[] =
        "usage: revisitctl bench-pg [--rows N] [--batch B] [--dsn DSN]\n";
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--dsn") == 0) {
            err =
                ctl_arg_value(argc, argv, &i, &dsn_arg, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--rows") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, PG_ROWS_MAX, &rows, errstr,
                              sizeof(errstr));
        } else if (strcmp(argv[i], "--batch") == 0) {
            err = ctl_arg_u64(argc, argv, &i, 1, BATCH_MAX, &batch, errstr,
                              sizeof(errstr));
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "bench-pg: %s\n", errstr);
            fputs(usage, stderr);
            return CTL_EX_USAGE;
        }
    }
    const char *dsn = rv_ctl_dsn("bench-pg", dsn_arg);
    if (dsn == NULL) {
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    char errstr[512] = "";
    rv_pg *pg = NULL;
    if (rv_pg_open(dsn, &pg, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "bench-pg: %s\n", errstr);
        return 69;
    }
    /* Same columns, defaults, primary key and indexes as the real table;
     * a scratch table of its own, dropped afterwards. */
    int code = 69;
    if (pg_run(pg, "DROP TABLE IF EXISTS " PG_TABLE, "drop") == RV_OK &&
        pg_run(pg, "CREATE TABLE " PG_TABLE " (LIKE visit_tasks INCLUDING ALL)",
               "create") == RV_OK) {
        code = pg_check_columns(pg);
        if (code == 0) {
            code = pg_insert_all(pg, rows, batch);
        }
        if (pg_run(pg, "DROP TABLE IF EXISTS " PG_TABLE, "drop") != RV_OK) {
            code = 69;
        }
    }
    rv_pg_close(pg);
    return code;
}
