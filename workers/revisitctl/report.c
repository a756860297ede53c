/* workers/revisitctl/report.c: `revisitctl report`, the DESIGN §2
 * "Reports" figures per branch and month, read from the record
 * (deploy/sql/001_init.sql, view report_branch_month), and the one-line
 * `--summary` the demo and the tests compare between runs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "rv/cfg.h"
#include "rv/hash.h"
#include "rv/pg.h"

#define EXIT_USAGE 64
#define EXIT_FAILURE_RT 1

/* Rates are computed here from the view's counts, so that the TOTAL line
 * is the same ratio over the summed counts, not an average of rates. */
static const char report_sql[] =
    "SELECT branch_id, to_char(month, 'YYYY-MM'), orders, tasks, done, "
    "successful, scored, satisfied, timely, alerts "
    "FROM report_branch_month "
    "ORDER BY branch_id COLLATE \"C\", month";

enum {
    COL_BRANCH,
    COL_MONTH,
    COL_ORDERS,
    COL_TASKS,
    COL_DONE,
    COL_SUCCESSFUL,
    COL_SCORED,
    COL_SATISFIED,
    COL_TIMELY,
    COL_ALERTS,
    COL_COUNT,
};

/* assigned = tasks with at least one booking that found an agent. */
static const char summary_sql[] =
    "SELECT (SELECT count(DISTINCT order_id) FROM sales), "
    "(SELECT count(*) FROM visit_tasks), "
    "(SELECT count(DISTINCT task_id) FROM assignments "
    " WHERE status = 'assigned'), "
    "(SELECT count(*) FROM outcomes), "
    "(SELECT count(*) FROM grades), "
    "(SELECT count(*) FROM alerts), "
    "(SELECT count(*) FROM dead_letters)";

static const char task_ids_sql[] =
    "SELECT task_id FROM visit_tasks ORDER BY task_id COLLATE \"C\"";

typedef struct counts {
    int64_t orders;
    int64_t tasks;
    int64_t done;
    int64_t successful;
    int64_t scored;
    int64_t satisfied;
    int64_t timely;
    int64_t alerts;
} counts;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: revisitctl report [--summary] [--dsn DSN]\n"
            "  per branch and month: orders, tasks, visits done, success,\n"
            "  satisfaction and timeliness rates, alerts; then TOTAL.\n"
            "  --summary  one line: orders= tasks= assigned= outcomes= "
            "grades= alerts= dlq= tasks_sha256=\n"
            "  --dsn DSN  libpq connection string (default: $RV_PG_DSN)\n");
}

static int64_t value_i64(const rv_pg_result *res, size_t row, size_t col)
{
    const char *text = rv_pg_result_value(res, row, col);
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text) {
        return 0;
    }
    return (int64_t)v;
}

/* "12.5%", or "-" when nothing was due. */
static void format_rate(char *out, size_t out_size, int64_t num, int64_t den)
{
    if (den <= 0) {
        snprintf(out, out_size, "-");
    } else {
        snprintf(out, out_size, "%.1f%%", 100.0 * (double)num / (double)den);
    }
}

static void print_line(FILE *out, int branch_w, const char *branch,
                       const char *month, const counts *c)
{
    char success[16], satisfaction[16], timeliness[16];
    format_rate(success, sizeof(success), c->successful, c->tasks);
    format_rate(satisfaction, sizeof(satisfaction), c->satisfied, c->scored);
    format_rate(timeliness, sizeof(timeliness), c->timely, c->tasks);
    fprintf(out,
            "%-*s  %-7s  %8" PRId64 "  %8" PRId64 "  %8" PRId64
            "  %8s  %12s  %10s  %8" PRId64 "\n",
            branch_w, branch, month, c->orders, c->tasks, c->done, success,
            satisfaction, timeliness, c->alerts);
}

static int print_report(rv_pg *pg, FILE *out)
{
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    rv_err err =
        rv_pg_exec(pg, report_sql, 0, NULL, &res, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "revisitctl report: %s\n", errstr);
        return EXIT_FAILURE_RT;
    }
    size_t rows = rv_pg_result_rows(res);
    int branch_w = (int)strlen("branch");
    for (size_t r = 0; r < rows; r++) {
        size_t len = strlen(rv_pg_result_value(res, r, COL_BRANCH));
        if (len > (size_t)branch_w && len < 200) {
            branch_w = (int)len;
        }
    }
    fprintf(out, "%-*s  %-7s  %8s  %8s  %8s  %8s  %12s  %10s  %8s\n", branch_w,
            "branch", "month", "orders", "tasks", "done", "success",
            "satisfaction", "timeliness", "alerts");
    counts total = {0};
    for (size_t r = 0; r < rows; r++) {
        counts c = {
            .orders = value_i64(res, r, COL_ORDERS),
            .tasks = value_i64(res, r, COL_TASKS),
            .done = value_i64(res, r, COL_DONE),
            .successful = value_i64(res, r, COL_SUCCESSFUL),
            .scored = value_i64(res, r, COL_SCORED),
            .satisfied = value_i64(res, r, COL_SATISFIED),
            .timely = value_i64(res, r, COL_TIMELY),
            .alerts = value_i64(res, r, COL_ALERTS),
        };
        print_line(out, branch_w, rv_pg_result_value(res, r, COL_BRANCH),
                   rv_pg_result_value(res, r, COL_MONTH), &c);
        total.orders += c.orders;
        total.tasks += c.tasks;
        total.done += c.done;
        total.successful += c.successful;
        total.scored += c.scored;
        total.satisfied += c.satisfied;
        total.timely += c.timely;
        total.alerts += c.alerts;
    }
    print_line(out, branch_w, "TOTAL", "", &total);
    rv_pg_result_free(res);
    return 0;
}

/* SHA-256 over every task_id in byte order, each followed by "\n". */
static rv_err hash_task_ids(rv_pg *pg, char hex[RV_SHA256_HEX_SIZE],
                            char *errstr, size_t errstr_size)
{
    rv_pg_result *res = NULL;
    rv_err err =
        rv_pg_exec(pg, task_ids_sql, 0, NULL, &res, errstr, errstr_size);
    if (err != RV_OK) {
        return err;
    }
    size_t rows = rv_pg_result_rows(res);
    size_t total = 0;
    for (size_t r = 0; r < rows; r++) {
        total += strlen(rv_pg_result_value(res, r, 0)) + 1;
    }
    char *buf = malloc(total + 1);
    if (buf == NULL) {
        rv_pg_result_free(res);
        return RV_ERR_NOMEM;
    }
    size_t len = 0;
    for (size_t r = 0; r < rows; r++) {
        const char *id = rv_pg_result_value(res, r, 0);
        size_t n = strlen(id);
        memcpy(buf + len, id, n);
        len += n;
        buf[len++] = '\n';
    }
    rv_sha256_hex(buf, len, hex);
    free(buf);
    rv_pg_result_free(res);
    return RV_OK;
}

static int print_summary(rv_pg *pg, FILE *out)
{
    char errstr[512] = "";
    char hex[RV_SHA256_HEX_SIZE] = "";
    rv_pg_result *res = NULL;
    /* One snapshot, so the counts and the hash describe the same data
     * even while the recorder is writing. */
    rv_err err =
        rv_pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
                   NULL, NULL, errstr, sizeof(errstr));
    if (err == RV_OK) {
        err =
            rv_pg_exec(pg, summary_sql, 0, NULL, &res, errstr, sizeof(errstr));
    }
    if (err == RV_OK) {
        err = hash_task_ids(pg, hex, errstr, sizeof(errstr));
    }
    rv_err end = rv_pg_exec(pg, "COMMIT", 0, NULL, NULL, NULL, 0);
    (void)end; /* read only: nothing to lose if it fails */
    if (err != RV_OK || rv_pg_result_rows(res) != 1) {
        fprintf(stderr, "revisitctl report: %s\n",
                err == RV_ERR_NOMEM ? "out of memory" : errstr);
        rv_pg_result_free(res);
        return EXIT_FAILURE_RT;
    }
    fprintf(out,
            "orders=%" PRId64 " tasks=%" PRId64 " assigned=%" PRId64
            " outcomes=%" PRId64 " grades=%" PRId64 " alerts=%" PRId64
            " dlq=%" PRId64 " tasks_sha256=%s\n",
            value_i64(res, 0, 0), value_i64(res, 0, 1), value_i64(res, 0, 2),
            value_i64(res, 0, 3), value_i64(res, 0, 4), value_i64(res, 0, 5),
            value_i64(res, 0, 6), hex);
    rv_pg_result_free(res);
    return 0;
}

int rv_ctl_report(int argc, char **argv)
{
    const char *dsn = NULL;
    int summary = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--summary") == 0) {
            summary = 1;
        } else if (strcmp(argv[i], "--dsn") == 0 && i + 1 < argc) {
            dsn = argv[++i];
        } else if (strncmp(argv[i], "--dsn=", 6) == 0) {
            dsn = argv[i] + 6;
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "revisitctl report: unknown argument \"%s\"\n",
                    argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (dsn == NULL) {
        dsn = getenv("RV_PG_DSN");
    }
    if (dsn == NULL || dsn[0] == '\0') {
        fprintf(stderr, "revisitctl report: no database: set RV_PG_DSN or "
                        "pass --dsn\n");
        return RV_CFG_EXIT_CONFIG;
    }
    char errstr[512] = "";
    rv_pg *pg = NULL;
    if (rv_pg_open(dsn, &pg, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl report: %s\n", errstr);
        return EXIT_FAILURE_RT;
    }
    int code = summary ? print_summary(pg, stdout) : print_report(pg, stdout);
    rv_pg_close(pg);
    return code;
}
