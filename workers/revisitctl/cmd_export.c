/* workers/revisitctl/cmd_export.c: `revisitctl replay export` (issue 7),
 * one topic's history of an event-time range for auditors.
 *
 * The messages come from Kafka, not from the record: the export shows
 * what the workers actually exchanged. It starts where replay verify
 * starts (replay_offsets.h), reads every partition to its end without a
 * consumer group (rv_kafka_range_*), keeps the messages whose envelope
 * occurred_at lies in [from, to) and prints them sorted by (occurred_at,
 * event_id), so the same range gives the same bytes whatever the
 * partitioning or the order of delivery. Personal data is masked unless
 * --reveal, which the database decides: the user must be a member of
 * role revisit_reveal (deploy/sql/008_roles.sql). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_args.h"
#include "ctl_time.h"
#include "export_fmt.h"
#include "replay_offsets.h"
#include "rv/cfg.h"
#include "rv/kafka_lag.h"
#include "rv/log.h"
#include "rv/pg.h"

#define KAFKA_TIMEOUT_MS 10000
/* Consecutive empty polls before a read that has not reached its end
 * gives up. */
#define READ_TIMEOUTS_MAX 6

static void usage(FILE *out)
{
    fprintf(out,
            "usage: revisitctl replay export --topic T --from T1 --to T2\n"
            "           --format ndjson|csv [--reveal] [--dsn DSN]\n"
            "  Every message of topic T whose event time (occurred_at) is "
            "in\n"
            "  [T1, T2), T1 and T2 YYYY-MM-DDTHH:MM:SSZ (UTC), read from "
            "Kafka\n"
            "  without moving any consumer group, sorted by (occurred_at,\n"
            "  event_id): one JSON object per line, or CSV (RFC 4180) with "
            "a\n"
            "  header; the message's fields with topic, partition, offset.\n"
            "  Phone numbers and free text (notes, customers' words) are\n"
            "  masked; --reveal shows them, if the PostgreSQL user is a "
            "member\n"
            "  of role revisit_reveal (else exit 77).\n"
            "  T: sales.events service.events visits.tasks visits.retries\n"
            "     visits.assignments visits.outcomes visits.grades\n"
            "     compliance.alerts compliance.cases visits.decisions\n");
}

typedef struct rows {
    export_row *items;
    size_t count, cap;
} rows;

static void rows_fini(rows *r)
{
    for (size_t i = 0; i < r->count; i++) {
        export_row_fini(&r->items[i]);
    }
    free(r->items);
}

/* Appends @p row (its text moves into @p r). */
static rv_err rows_add(rows *r, export_row *row)
{
    if (r->count == r->cap) {
        size_t cap = r->cap == 0 ? 256 : r->cap * 2;
        export_row *items = realloc(r->items, cap * sizeof(*items));
        if (items == NULL) {
            return RV_ERR_NOMEM;
        }
        r->items = items;
        r->cap = cap;
    }
    r->items[r->count++] = *row;
    row->text = NULL;
    return RV_OK;
}

typedef struct job {
    const char *topic;
    int64_t from_us, to_us;
    export_format format;
    bool reveal;
    rv_props kafka;
    rv_pg *pg;
} job;

/* Reads the range into @p out; counts the messages that did not decode
 * into @p skipped. */
static rv_err read_range(const job *j, rows *out, size_t *skipped)
{
    int64_t offsets[REPLAY_PARTITIONS_MAX];
    int count = 0;
    rv_err err = replay_start_offsets(&j->kafka, j->pg, j->topic, j->from_us,
                                      KAFKA_TIMEOUT_MS, offsets,
                                      REPLAY_PARTITIONS_MAX, &count);
    if (err != RV_OK) {
        return err;
    }
    char errstr[512] = "";
    rv_kafka_range *range = NULL;
    err = rv_kafka_range_open(&j->kafka, j->topic, offsets, count,
                              KAFKA_TIMEOUT_MS, &range, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "replay export: %s: %s\n", j->topic, errstr);
        return err;
    }
    int timeouts = 0;
    for (;;) {
        rv_msg m;
        bool done = false;
        err = rv_kafka_range_next(range, KAFKA_TIMEOUT_MS, &m, &done);
        if (err == RV_ERR_TIMEOUT && ++timeouts < READ_TIMEOUTS_MAX) {
            continue;
        }
        if (err != RV_OK || done) {
            break;
        }
        timeouts = 0;
        export_row row[EXPORT_ROWS_PER_MSG_MAX];
        size_t n = 0;
        rv_err rerr = export_rows_build(&m, j->format, j->reveal, row,
                                        EXPORT_ROWS_PER_MSG_MAX, &n, errstr,
                                        sizeof(errstr));
        if (rerr == RV_ERR_INVALID) {
            /* Dead-lettered by the workers; not a fact of the history. */
            (*skipped)++;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (rerr == RV_OK && row[i].occurred_at_us >= j->from_us &&
                row[i].occurred_at_us < j->to_us) {
                rerr = rows_add(out, &row[i]);
            }
            export_row_fini(&row[i]);
        }
        if (rerr != RV_OK) {
            err = rerr;
            break;
        }
    }
    int64_t lost = rv_kafka_range_lost(range);
    if (err == RV_OK && lost > 0) {
        /* Deleted between the start offsets and the read: an export
         * never leaves out a message without saying so. */
        fprintf(stderr,
                "replay export: %s: the broker deleted %lld messages of "
                "the range before they were read (retention)\n",
                j->topic, (long long)lost);
        err = RV_ERR_UNAVAILABLE;
    }
    rv_kafka_range_close(range);
    if (err != RV_OK) {
        fprintf(stderr, "replay export: reading %s: %s\n", j->topic,
                rv_err_str(err));
    }
    return err;
}

static int run(job *j)
{
    if (j->reveal) {
        int code = rv_ctl_check_reveal(j->pg, "replay export: --reveal");
        if (code != 0) {
            return code;
        }
    }
    rows r = {0};
    size_t skipped = 0;
    rv_err err = read_range(j, &r, &skipped);
    int code = err == RV_OK ? 0 : err == RV_ERR_NOMEM ? 70 : 69;
    if (err == RV_OK) {
        if (r.count > 1) {
            qsort(r.items, r.count, sizeof(r.items[0]), export_row_cmp);
        }
        if (j->format == EXPORT_CSV) {
            err = export_csv_header(j->topic, stdout);
            code = err == RV_OK ? 0 : 70;
        }
        for (size_t i = 0; i < r.count && err == RV_OK; i++) {
            fputs(r.items[i].text, stdout);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "replay export: writing stdout failed\n");
            code = 74;
        }
    }
    if (skipped > 0) {
        fprintf(stderr,
                "replay export: %zu message(s) of %s did not decode and are "
                "left out (see %s.dlq)\n",
                skipped, j->topic, j->topic);
    }
    rows_fini(&r);
    return code;
}

int rv_ctl_replay_export(int argc, char **argv)
{
    job j = {0};
    const char *from = NULL, *to = NULL, *format = NULL, *dsn = NULL;
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--topic") == 0) {
            err =
                ctl_arg_value(argc, argv, &i, &j.topic, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--from") == 0) {
            err = ctl_arg_value(argc, argv, &i, &from, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--to") == 0) {
            err = ctl_arg_value(argc, argv, &i, &to, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--format") == 0) {
            err =
                ctl_arg_value(argc, argv, &i, &format, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--reveal") == 0) {
            j.reveal = true;
        } else if (strcmp(argv[i], "--dsn") == 0) {
            err = ctl_arg_value(argc, argv, &i, &dsn, errstr, sizeof(errstr));
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "replay export: %s\n", errstr);
            usage(stderr);
            return CTL_EX_USAGE;
        }
    }
    if (j.topic == NULL || !export_topic_known(j.topic)) {
        fprintf(stderr,
                "replay export: --topic must name a history topic, "
                "got \"%s\"\n",
                j.topic != NULL ? j.topic : "");
        usage(stderr);
        return 64;
    }
    if (from == NULL || to == NULL || ctl_time_parse(from, &j.from_us) ||
        ctl_time_parse(to, &j.to_us) || j.from_us >= j.to_us) {
        fprintf(stderr, "replay export: --from and --to are required, "
                        "YYYY-MM-DDTHH:MM:SSZ, from before to\n");
        return 64;
    }
    if (format != NULL && strcmp(format, "ndjson") == 0) {
        j.format = EXPORT_NDJSON;
    } else if (format != NULL && strcmp(format, "csv") == 0) {
        j.format = EXPORT_CSV;
    } else {
        fprintf(stderr, "replay export: --format must be ndjson or csv\n");
        return 64;
    }
    dsn = rv_ctl_dsn("replay export", dsn);
    if (dsn == NULL) {
        return 78;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    if (rv_cfg_load(sec, 1, NULL, &j.kafka) != RV_OK) {
        return 78;
    }
    char errstr[512] = "";
    int code = 0;
    if (rv_pg_open(dsn, &j.pg, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "replay export: %s\n", errstr);
        code = 69;
    } else {
        code = run(&j);
    }
    rv_pg_close(j.pg);
    rv_cfg_fini(sec, 1, &j.kafka);
    return code;
}
