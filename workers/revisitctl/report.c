/* workers/revisitctl/report.c: `revisitctl report`, the DESIGN §2
 * "Reports" figures per branch and month, read from the record
 * (deploy/sql/001_init.sql, view report_branch_month), the one-line
 * `--summary` the demo and the tests compare between runs, and
 * `--agents`: bookings per agent and day against the roster's daily
 * capacity (C5, issue 4), and `--cases`: cases per kind and state (A2,
 * A3, G4; deploy/sql/005_cases.sql). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_args.h"
#include "ctl_time.h"
#include "rv/cfg.h"
#include "rv/hash.h"
#include "rv/pg.h"
#include "rv/policy.h"
#include "rv/runner.h"

#define EXIT_USAGE 64
#define EXIT_FAILURE_RT 1
#define DEFAULT_POLICY_PATH "deploy/policy/default.yaml"

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

/* --agents: bookings per agent and local day ($1: first day of the month
 * or NULL for all). Grouped by agent and day, not by the customer's
 * branch: R3 books compliance visits to agents of another branch, and
 * capacity (C5) is the agent's whatever branch the customer is in. Every
 * attempt is a booking of its own (C2). The branch shown is the agent's
 * in the roster; the booked branch only stands in for an agent the
 * policy no longer lists. Sorted in C, after that join. */
static const char agents_sql[] =
    "SELECT agent_id, to_char(day, 'YYYY-MM-DD'), count(*), "
    "min(branch_id COLLATE \"C\") "
    "FROM assignments "
    "WHERE status = 'assigned' AND agent_id IS NOT NULL AND day IS NOT NULL "
    "AND ($1::date IS NULL OR (day >= $1::date "
    "AND day < ($1::date + interval '1 month')::date)) "
    "GROUP BY agent_id, day";

enum {
    AG_AGENT,
    AG_DAY,
    AG_BOOKED,
    AG_BRANCH,
};

/* One agent and day; strings borrowed from the result or the policy. */
typedef struct agent_day {
    const char *branch;
    const char *agent;
    const char *day; /* "YYYY-MM-DD": sorts as text */
    int64_t booked;
    int64_t capacity; /* daily_capacity, -1 if not in the roster */
} agent_day;

/* One agent's TOTAL line. */
typedef struct agent_total {
    int64_t booked;
    int64_t capacity; /* summed over its days; -1 if not in the roster */
    int64_t days;
    double max_load; /* highest booked / capacity of a day; < 0: none */
    int64_t over_days;
} agent_total;

/* Alerts by branch and kind (issue 5): how many, how many only suspected
 * from notes, and how many whose case deadline (A2) has passed now. */
static const char alerts_sql[] =
    "SELECT branch_id, kind, count(*),"
    " count(*) FILTER (WHERE suspected),"
    " count(*) FILTER (WHERE deadline < now())"
    " FROM alerts GROUP BY branch_id, kind"
    " ORDER BY branch_id COLLATE \"C\", kind COLLATE \"C\"";

/* Issue 3: per rule, the (event, rule) pairs evaluated and what became of
 * them (visits.decisions), and the tasks the rule made (visit_tasks: R6
 * makes one per follow-up, R10 tasks come from the grader). */
static const char rules_sql[] =
    "WITH d AS (SELECT rule_id, count(*) AS n,"
    " count(*) FILTER (WHERE outcome = 'selected') AS sel,"
    " count(*) FILTER (WHERE outcome = 'merged') AS mer,"
    " count(*) FILTER (WHERE outcome = 'not_selected') AS nsel,"
    " count(*) FILTER (WHERE outcome = 'suppressed_cooldown') AS cd,"
    " count(*) FILTER (WHERE outcome = 'suppressed_opt_out') AS opt"
    " FROM decisions GROUP BY rule_id),"
    " t AS (SELECT rule_id, count(*) AS n FROM visit_tasks GROUP BY rule_id)"
    " SELECT rule_id, coalesce(d.n, 0), coalesce(d.sel, 0),"
    " coalesce(d.mer, 0), coalesce(d.nsel, 0), coalesce(d.cd, 0),"
    " coalesce(d.opt, 0), coalesce(t.n, 0)"
    " FROM d FULL JOIN t USING (rule_id) ORDER BY rule_id COLLATE \"C\"";

/* Counts of a --rules line, in the order of rules_sql after the rule. */
#define RULE_COUNTS 7

/* G5: per agent and month, successful visits with a score and how many
 * of them were satisfied. */
static const char bands_sql[] =
    "SELECT agent_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM'),"
    " count(*) FILTER (WHERE verdict = 'success' AND satisfaction IS NOT "
    "NULL),"
    " count(*) FILTER (WHERE verdict = 'success' AND band = 'satisfied')"
    " FROM grades WHERE agent_id IS NOT NULL AND agent_id <> ''"
    " GROUP BY 1, 2 ORDER BY agent_id COLLATE \"C\", 2";

/* --cases: per kind ($2: one branch, NULL for all), the cases in each
 * state, those open past their deadline at the report's time $1 (the
 * reader's clock: --now, else the wall clock) and those escalated. */
static const char cases_sql[] =
    "SELECT kind, count(*),"
    " count(*) FILTER (WHERE status = 'open'),"
    " count(*) FILTER (WHERE status = 'answered'),"
    " count(*) FILTER (WHERE status = 'closed'),"
    " count(*) FILTER (WHERE status = 'open' AND deadline < $1::timestamptz),"
    " count(*) FILTER (WHERE escalated_at IS NOT NULL)"
    " FROM case_status WHERE ($2::text IS NULL OR branch_id = $2)"
    " GROUP BY kind ORDER BY kind COLLATE \"C\"";

/* Counts of a --cases line, in the order of cases_sql after the kind. */
#define CASE_COUNTS 6

static const char task_ids_sql[] =
    "SELECT task_id FROM visit_tasks ORDER BY task_id COLLATE \"C\"";

/* The sample: every sampling decision and its outcome (issue 3). */
static const char decision_rows_sql[] =
    "SELECT decision_id || ' ' || outcome FROM decisions"
    " ORDER BY decision_id COLLATE \"C\"";

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
            "       revisitctl report --agents [--month YYYY-MM] [--dsn DSN]\n"
            "       revisitctl report --alerts [--dsn DSN]\n"
            "       revisitctl report --rules [--dsn DSN]\n"
            "       revisitctl report --bands [--dsn DSN]\n"
            "       revisitctl report --cases [--now T] [--branch B] [--dsn "
            "DSN]\n"
            "  per branch and month: orders, tasks, visits done, success,\n"
            "  satisfaction and timeliness rates, alerts; then TOTAL.\n"
            "  --summary  one line: orders= tasks= assigned= outcomes= "
            "grades= alerts= dlq= sample_sha256=\n"
            "             tasks_sha256= (sample_sha256: over every sampling "
            "decision\n"
            "             and its outcome; tasks_sha256: over every task ID)\n"
            "  --agents   per agent and day: visits booked against the "
            "roster's\n"
            "             daily_capacity (policy file $RV_POLICY_PATH, "
            "default\n"
            "             " DEFAULT_POLICY_PATH "), load; a TOTAL per agent "
            "with its\n"
            "             days and highest day load. A day booked over "
            "capacity\n"
            "             is marked \"!\" and the exit status is 1.\n"
            "  --alerts   per branch and kind: alerts, those only suspected "
            "from\n"
            "             notes, those whose case deadline has passed\n"
            "  --rules    per sampling rule: (event, rule) decisions, "
            "selected,\n"
            "             merged (C3), not selected, held back by the "
            "cooldown or\n"
            "             the opt-out list (C4), and the tasks the rule "
            "made;\n"
            "             then TOTAL\n"
            "  --bands    per agent and month: satisfaction rate of scored "
            "visits\n"
            "             and its G5 band (policy grading.band_*)\n"
            "  --cases    per case kind: cases, open, answered, closed, "
            "overdue\n"
            "             (open past the deadline at the report's time), "
            "escalated\n"
            "             (an escalation alert raised); then TOTAL\n"
            "  --month M  with --agents: only days of month M (YYYY-MM)\n"
            "  --now T    with --cases: the report's time, "
            "YYYY-MM-DDTHH:MM:SSZ (UTC);\n"
            "             default the wall clock (the demo's data is "
            "historical)\n"
            "  --branch B with --cases: only branch B\n"
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

/* SHA-256 over the rows of @p sql (one text column, ordered), each
 * followed by "\n". */
static rv_err hash_rows(rv_pg *pg, const char *sql,
                        char hex[RV_SHA256_HEX_SIZE], char *errstr,
                        size_t errstr_size)
{
    rv_pg_result *res = NULL;
    rv_err err = rv_pg_exec(pg, sql, 0, NULL, &res, errstr, errstr_size);
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
    char sample_hex[RV_SHA256_HEX_SIZE] = "";
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
        err = hash_rows(pg, decision_rows_sql, sample_hex, errstr,
                        sizeof(errstr));
    }
    if (err == RV_OK) {
        err = hash_rows(pg, task_ids_sql, hex, errstr, sizeof(errstr));
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
            " dlq=%" PRId64 " sample_sha256=%s tasks_sha256=%s\n",
            value_i64(res, 0, 0), value_i64(res, 0, 1), value_i64(res, 0, 2),
            value_i64(res, 0, 3), value_i64(res, 0, 4), value_i64(res, 0, 5),
            value_i64(res, 0, 6), sample_hex, hex);
    rv_pg_result_free(res);
    return 0;
}

static int print_alerts(rv_pg *pg, FILE *out)
{
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    if (rv_pg_exec(pg, alerts_sql, 0, NULL, &res, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr, "revisitctl report: %s\n", errstr);
        return EXIT_FAILURE_RT;
    }
    fprintf(out, "%-10s %-24s %8s %10s %12s\n", "branch", "kind", "alerts",
            "suspected", "past_due");
    int64_t total[3] = {0, 0, 0};
    for (size_t r = 0; r < rv_pg_result_rows(res); r++) {
        int64_t v[3];
        for (int c = 0; c < 3; c++) {
            v[c] = value_i64(res, r, (size_t)c + 2);
            total[c] += v[c];
        }
        fprintf(out, "%-10s %-24s %8" PRId64 " %10" PRId64 " %12" PRId64 "\n",
                rv_pg_result_value(res, r, 0), rv_pg_result_value(res, r, 1),
                v[0], v[1], v[2]);
    }
    fprintf(out, "%-10s %-24s %8" PRId64 " %10" PRId64 " %12" PRId64 "\n",
            "TOTAL", "", total[0], total[1], total[2]);
    rv_pg_result_free(res);
    return 0;
}

static int print_rules(rv_pg *pg, FILE *out)
{
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    if (rv_pg_exec(pg, rules_sql, 0, NULL, &res, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr, "revisitctl report: %s\n", errstr);
        return EXIT_FAILURE_RT;
    }
    static const char *const heads[RULE_COUNTS] = {
        "decisions", "selected", "merged", "not_selected",
        "cooldown",  "opt_out",  "tasks"};
    fprintf(out, "%-8s", "rule");
    for (int c = 0; c < RULE_COUNTS; c++) {
        fprintf(out, " %12s", heads[c]);
    }
    fputc('\n', out);
    int64_t total[RULE_COUNTS] = {0};
    for (size_t r = 0; r <= rv_pg_result_rows(res); r++) {
        bool last = r == rv_pg_result_rows(res);
        fprintf(out, "%-8s", last ? "TOTAL" : rv_pg_result_value(res, r, 0));
        for (int c = 0; c < RULE_COUNTS; c++) {
            int64_t v = last ? total[c] : value_i64(res, r, (size_t)c + 1);
            total[c] += last ? 0 : v;
            fprintf(out, " %12" PRId64, v);
        }
        fputc('\n', out);
    }
    rv_pg_result_free(res);
    return 0;
}

/* G5 (seed 002 no. 1): the band of a monthly satisfaction rate. */
static const char *agent_band(const rv_grading *g, int64_t satisfied,
                              int64_t scored)
{
    if (scored == 0) {
        return "-";
    }
    double rate = 100.0 * (double)satisfied / (double)scored;
    if (rate > (double)g->band_commendable_above) {
        return "commendable";
    }
    if (rate < (double)g->band_severe_below) {
        return "severe";
    }
    if (rate < (double)g->band_warning_below) {
        return "warning";
    }
    return "normal";
}

static int print_bands(rv_pg *pg, const rv_policy *p, FILE *out)
{
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    if (rv_pg_exec(pg, bands_sql, 0, NULL, &res, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr, "revisitctl report: %s\n", errstr);
        return EXIT_FAILURE_RT;
    }
    fprintf(out, "%-12s %-8s %8s %10s %13s  %s\n", "agent", "month", "scored",
            "satisfied", "satisfaction", "band");
    for (size_t r = 0; r < rv_pg_result_rows(res); r++) {
        int64_t scored = value_i64(res, r, 2);
        int64_t satisfied = value_i64(res, r, 3);
        char rate[16];
        format_rate(rate, sizeof(rate), satisfied, scored);
        fprintf(out, "%-12s %-8s %8" PRId64 " %10" PRId64 " %13s  %s\n",
                rv_pg_result_value(res, r, 0), rv_pg_result_value(res, r, 1),
                scored, satisfied, rate,
                agent_band(&p->grading, satisfied, scored));
    }
    rv_pg_result_free(res);
    return 0;
}

static void print_case_line(FILE *out, int kind_w, const char *kind,
                            const int64_t v[CASE_COUNTS])
{
    fprintf(out,
            "%-*s  %6" PRId64 "  %6" PRId64 "  %8" PRId64 "  %6" PRId64
            "  %7" PRId64 "  %9" PRId64 "\n",
            kind_w, kind, v[0], v[1], v[2], v[3], v[4], v[5]);
}

static int print_cases(rv_pg *pg, const char *now, const char *branch,
                       FILE *out)
{
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    const char *params[] = {now, branch};
    if (rv_pg_exec(pg, cases_sql, 2, params, &res, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr, "revisitctl report: %s\n", errstr);
        return EXIT_FAILURE_RT;
    }
    size_t rows = rv_pg_result_rows(res);
    int kind_w = (int)strlen("TOTAL");
    for (size_t r = 0; r < rows; r++) {
        size_t len = strlen(rv_pg_result_value(res, r, 0));
        if (len > (size_t)kind_w && len < 200) {
            kind_w = (int)len;
        }
    }
    fprintf(out, "%-*s  %6s  %6s  %8s  %6s  %7s  %9s\n", kind_w, "kind",
            "cases", "open", "answered", "closed", "overdue", "escalated");
    int64_t total[CASE_COUNTS] = {0};
    for (size_t r = 0; r < rows; r++) {
        int64_t v[CASE_COUNTS];
        for (size_t c = 0; c < CASE_COUNTS; c++) {
            v[c] = value_i64(res, r, c + 1);
            total[c] += v[c];
        }
        print_case_line(out, kind_w, rv_pg_result_value(res, r, 0), v);
    }
    print_case_line(out, kind_w, "TOTAL", total);
    rv_pg_result_free(res);
    return 0;
}

static const rv_agent *roster_agent(const rv_policy *p, const char *id)
{
    for (unsigned i = 0; i < p->agent_count; i++) {
        if (p->agents[i].id != NULL && strcmp(p->agents[i].id, id) == 0) {
            return &p->agents[i];
        }
    }
    return NULL;
}

/* Branch, agent, day, in byte order (as COLLATE "C"). */
static int cmp_agent_day(const void *a, const void *b)
{
    const agent_day *x = a;
    const agent_day *y = b;
    int c = strcmp(x->branch, y->branch);
    if (c == 0) {
        c = strcmp(x->agent, y->agent);
    }
    if (c == 0) {
        c = strcmp(x->day, y->day);
    }
    return c;
}

/* "103.3%", or "-" without a known, non-zero capacity. */
static void format_load(char *out, size_t out_size, double load)
{
    if (load < 0) {
        snprintf(out, out_size, "-");
    } else {
        snprintf(out, out_size, "%.1f%%", 100.0 * load);
    }
}

static double day_load(int64_t booked, int64_t capacity)
{
    return capacity > 0 ? (double)booked / (double)capacity : -1.0;
}

static void format_capacity(char *out, size_t out_size, int64_t capacity)
{
    if (capacity < 0) {
        snprintf(out, out_size, "-");
    } else {
        snprintf(out, out_size, "%" PRId64, capacity);
    }
}

static void print_agent_total(FILE *out, int branch_w, int agent_w,
                              const agent_day *last, const agent_total *t)
{
    char cap[24], load[24], max[24];
    format_capacity(cap, sizeof(cap), t->capacity);
    format_load(load, sizeof(load), day_load(t->booked, t->capacity));
    format_load(max, sizeof(max), t->max_load);
    fprintf(out,
            "%-*s  %-*s  %-10s  %8" PRId64 "  %8s  %7s  days=%" PRId64
            " max=%s%s\n",
            branch_w, last->branch, agent_w, last->agent, "TOTAL", t->booked,
            cap, load, t->days, max, t->over_days > 0 ? " !" : "");
}

/* Rows sorted by branch, agent, day; prints them and returns the number
 * of days booked over capacity. */
static int64_t print_agent_days(FILE *out, const agent_day *rows, size_t count)
{
    int branch_w = (int)strlen("branch");
    int agent_w = (int)strlen("agent");
    for (size_t r = 0; r < count; r++) {
        size_t len = strlen(rows[r].branch);
        if (len > (size_t)branch_w && len < 200) {
            branch_w = (int)len;
        }
        len = strlen(rows[r].agent);
        if (len > (size_t)agent_w && len < 200) {
            agent_w = (int)len;
        }
    }
    fprintf(out, "%-*s  %-*s  %-10s  %8s  %8s  %7s\n", branch_w, "branch",
            agent_w, "agent", "day", "booked", "capacity", "load");
    int64_t over_total = 0;
    agent_total t = {.max_load = -1.0};
    for (size_t r = 0; r < count; r++) {
        const agent_day *d = &rows[r];
        /* C5: never more bookings than capacity on a day. */
        bool is_over = d->capacity >= 0 && d->booked > d->capacity;
        char cap[24], load[24];
        format_capacity(cap, sizeof(cap), d->capacity);
        format_load(load, sizeof(load), day_load(d->booked, d->capacity));
        fprintf(out, "%-*s  %-*s  %-10s  %8" PRId64 "  %8s  %7s%s\n", branch_w,
                d->branch, agent_w, d->agent, d->day, d->booked, cap, load,
                is_over ? " !" : "");
        t.booked += d->booked;
        t.capacity = d->capacity < 0 ? -1 : t.capacity + d->capacity;
        t.days++;
        double l = day_load(d->booked, d->capacity);
        if (l > t.max_load) {
            t.max_load = l;
        }
        t.over_days += is_over ? 1 : 0;
        bool is_last = r + 1 == count ||
                       strcmp(rows[r + 1].branch, d->branch) != 0 ||
                       strcmp(rows[r + 1].agent, d->agent) != 0;
        if (is_last) {
            print_agent_total(out, branch_w, agent_w, d, &t);
            over_total += t.over_days;
            t = (agent_total){.max_load = -1.0};
        }
    }
    return over_total;
}

/* "YYYY-MM" (month 01..12) -> "YYYY-MM-01" in @p out. */
static bool parse_month(const char *s, char out[11])
{
    if (s == NULL || strlen(s) != 7 || s[4] != '-') {
        return false;
    }
    for (int i = 0; i < 7; i++) {
        if (i != 4 && (s[i] < '0' || s[i] > '9')) {
            return false;
        }
    }
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    if (m < 1 || m > 12 || strncmp(s, "0000", 4) == 0) {
        return false;
    }
    snprintf(out, 11, "%s-01", s);
    return true;
}

static int print_agents(rv_pg *pg, const rv_policy *p, const char *month_day,
                        FILE *out)
{
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    const char *params[] = {month_day};
    int code = EXIT_FAILURE_RT;
    agent_day *rows = NULL;
    rv_err err =
        rv_pg_exec(pg, agents_sql, 1, params, &res, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "revisitctl report: %s\n", errstr);
        goto out;
    }
    size_t count = rv_pg_result_rows(res);
    rows = calloc(count > 0 ? count : 1, sizeof(*rows));
    if (rows == NULL) {
        fprintf(stderr, "revisitctl report: out of memory\n");
        goto out;
    }
    for (size_t r = 0; r < count; r++) {
        const char *agent = rv_pg_result_value(res, r, AG_AGENT);
        const rv_agent *a = roster_agent(p, agent);
        rows[r] = (agent_day){
            .branch = a != NULL && a->branch != NULL
                          ? a->branch
                          : rv_pg_result_value(res, r, AG_BRANCH),
            .agent = agent,
            .day = rv_pg_result_value(res, r, AG_DAY),
            .booked = value_i64(res, r, AG_BOOKED),
            .capacity = a != NULL ? a->daily_capacity : -1,
        };
    }
    qsort(rows, count, sizeof(*rows), cmp_agent_day);
    int64_t over = print_agent_days(out, rows, count);
    if (over > 0) {
        fprintf(stderr,
                "revisitctl report: %" PRId64 " agent-day(s) booked over "
                "capacity (C5), marked \"!\"\n",
                over);
        goto out;
    }
    code = 0;
out:
    free(rows);
    rv_pg_result_free(res);
    return code;
}

int rv_ctl_report(int argc, char **argv)
{
    const char *dsn = NULL;
    const char *month = NULL;
    const char *now = NULL;
    const char *branch = NULL;
    int summary = 0;
    int agents = 0;
    int alerts = 0;
    int rules = 0;
    int bands = 0;
    int cases = 0;
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (strcmp(argv[i], "--summary") == 0) {
            summary = 1;
        } else if (strcmp(argv[i], "--agents") == 0) {
            agents = 1;
        } else if (strcmp(argv[i], "--alerts") == 0) {
            alerts = 1;
        } else if (strcmp(argv[i], "--bands") == 0) {
            bands = 1;
        } else if (strcmp(argv[i], "--rules") == 0) {
            rules = 1;
        } else if (strcmp(argv[i], "--cases") == 0) {
            cases = 1;
        } else if (strcmp(argv[i], "--now") == 0) {
            err = ctl_arg_value(argc, argv, &i, &now, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--branch") == 0) {
            err =
                ctl_arg_value(argc, argv, &i, &branch, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--month") == 0) {
            err = ctl_arg_value(argc, argv, &i, &month, errstr, sizeof(errstr));
        } else if (strncmp(argv[i], "--month=", 8) == 0) {
            month = argv[i] + 8;
        } else if (strcmp(argv[i], "--dsn") == 0) {
            err = ctl_arg_value(argc, argv, &i, &dsn, errstr, sizeof(errstr));
        } else if (strncmp(argv[i], "--dsn=", 6) == 0) {
            dsn = argv[i] + 6;
        } else if (ctl_arg_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "revisitctl report: %s\n", errstr);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    char month_day[11] = "";
    if (summary + agents + alerts + rules + bands + cases > 1) {
        fprintf(stderr, "revisitctl report: --summary, --agents, --alerts, "
                        "--rules, --bands and --cases are separate reports; "
                        "give one\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (month != NULL && !agents) {
        fprintf(stderr, "revisitctl report: --month needs --agents\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((now != NULL || branch != NULL) && !cases) {
        fprintf(stderr, "revisitctl report: --now and --branch need "
                        "--cases\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    char now_text[CTL_TIME_SIZE];
    int64_t now_us = rv_now_us();
    if (now != NULL && ctl_time_parse(now, &now_us) != RV_OK) {
        fprintf(stderr,
                "revisitctl report: --now \"%s\" is not "
                "YYYY-MM-DDTHH:MM:SSZ (UTC)\n",
                now);
        usage(stderr);
        return EXIT_USAGE;
    }
    ctl_time_format(now_us, now_text);
    if (month != NULL && !parse_month(month, month_day)) {
        fprintf(stderr,
                "revisitctl report: --month \"%s\" is not YYYY-MM with "
                "month 01..12\n",
                month);
        usage(stderr);
        return EXIT_USAGE;
    }
    dsn = rv_ctl_dsn("report", dsn);
    if (dsn == NULL) {
        return RV_CFG_EXIT_CONFIG;
    }
    char errstr[512] = "";
    rv_policy *p = NULL;
    if (agents || bands) {
        /* The roster (or the bands) first: a bad policy is a config error,
         * whatever the database says. */
        const char *path = getenv("RV_POLICY_PATH");
        if (path == NULL || path[0] == '\0') {
            path = DEFAULT_POLICY_PATH;
        }
        if (rv_policy_load(path, &p, errstr, sizeof(errstr)) != RV_OK) {
            fprintf(stderr, "revisitctl report: %s\n", errstr);
            return RV_CFG_EXIT_CONFIG;
        }
    }
    rv_pg *pg = NULL;
    if (rv_pg_open(dsn, &pg, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl report: %s\n", errstr);
        rv_policy_free(p);
        return EXIT_FAILURE_RT;
    }
    int code;
    if (agents) {
        code = print_agents(pg, p, month != NULL ? month_day : NULL, stdout);
    } else if (alerts) {
        code = print_alerts(pg, stdout);
    } else if (bands) {
        code = print_bands(pg, p, stdout);
    } else if (rules) {
        code = print_rules(pg, stdout);
    } else if (cases) {
        code = print_cases(pg, now_text, branch, stdout);
    } else if (summary) {
        code = print_summary(pg, stdout);
    } else {
        code = print_report(pg, stdout);
    }
    rv_pg_close(pg);
    rv_policy_free(p);
    return code;
}
