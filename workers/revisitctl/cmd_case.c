/* workers/revisitctl/cmd_case.c: `revisitctl case`, the people's side of
 * cases (DESIGN §2 A2, A3, G4). `list` and `show` read the record (view
 * case_status, deploy/sql/005_cases.sql); `answer` (the branch's
 * self-check or answer) and `close` (the compliance department's final
 * opinion) check the record, then send one CaseEvent to compliance.cases,
 * which the recorder writes into case_events. Nothing here writes to
 * PostgreSQL: the topic is the only way a fact enters the record.
 *
 * "Overdue" is a question of the reader's clock: an open case whose
 * deadline lies before the report's time, which is --now if given and
 * the wall clock otherwise. The demo's data is years old (Superstore),
 * so against the wall clock every open case of it is overdue; --now
 * looks at the record as of a moment of its own time. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_event.h"
#include "ctl.h"
#include "ctl_time.h"
#include "rv/cfg.h"
#include "rv/codec.h"
#include "rv/kafka.h"
#include "rv/log.h"
#include "rv/pg.h"
#include "rv/runner.h"

#define EXIT_USAGE 64
#define EXIT_REFUSED 1
#define CASES_TOPIC "compliance.cases"
#define FLUSH_TIMEOUT_MS 30000
#define CLOSE_TIMEOUT_MS 5000
#define LIMIT_MAX 1000000
/* Column widths follow the data, up to this many bytes. */
#define WIDTH_MAX 64
/* Columns of the alert and event lines of `case show`. */
#define SHOW_COLS_MAX 5

/* Times come as µs since the epoch (NULL: none) and are printed by
 * ctl_time_format(): UTC, to the second, as --now takes them. */

/* $1 the report's time; $2 branch, $3 kind, $4 status or "overdue" (NULL:
 * any); $5 the limit (NULL: none). A3: repeated issues first, then the
 * nearest deadline (none last), then the ID, in byte order. */
static const char list_sql[] =
    "SELECT case_id, branch_id, kind, severity, alert_count,"
    " (extract(epoch FROM opened_at) * 1000000)::bigint,"
    " (extract(epoch FROM deadline) * 1000000)::bigint, status,"
    " coalesce(status = 'open' AND deadline < $1::timestamptz, false),"
    " escalated_at IS NOT NULL, coalesce(answered_late, false)"
    " FROM case_status"
    " WHERE ($2::text IS NULL OR branch_id = $2)"
    " AND ($3::text IS NULL OR kind = $3)"
    " AND ($4::text IS NULL OR status = $4"
    " OR ($4 = 'overdue' AND status = 'open' AND deadline < $1::timestamptz))"
    " ORDER BY alert_count DESC, deadline ASC NULLS LAST,"
    " case_id COLLATE \"C\""
    " LIMIT $5::bigint";

enum {
    LS_CASE,
    LS_BRANCH,
    LS_KIND,
    LS_SEVERITY,
    LS_COUNT,
    LS_OPENED,
    LS_DEADLINE,
    LS_STATUS,
    LS_OVERDUE,
    LS_ESCALATED,
    LS_LATE,
};

/* $1 the case, $2 the report's time. */
static const char show_sql[] =
    "SELECT case_id, customer_id, branch_id, coalesce(store_id, ''),"
    " coalesce(salesperson_id, ''), kind, severity, route_to,"
    " coalesce(notify, ''), policy_version, alert_count, status,"
    " coalesce(status = 'open' AND deadline < $2::timestamptz, false),"
    " escalated_at IS NOT NULL, coalesce(answered_late, false),"
    " (extract(epoch FROM opened_at) * 1000000)::bigint,"
    " (extract(epoch FROM deadline) * 1000000)::bigint,"
    " (extract(epoch FROM answered_at) * 1000000)::bigint,"
    " (extract(epoch FROM closed_at) * 1000000)::bigint,"
    " (extract(epoch FROM escalated_at) * 1000000)::bigint"
    " FROM case_status WHERE case_id = $1";

enum {
    SH_CASE,
    SH_CUSTOMER,
    SH_BRANCH,
    SH_STORE,
    SH_SALESPERSON,
    SH_KIND,
    SH_SEVERITY,
    SH_ROUTE_TO,
    SH_NOTIFY,
    SH_POLICY,
    SH_COUNT,
    SH_STATUS,
    SH_OVERDUE,
    SH_ESCALATED,
    SH_LATE,
    SH_OPENED,
    SH_DEADLINE,
    SH_ANSWERED_AT,
    SH_CLOSED_AT,
    SH_ESCALATED_AT,
};

/* Both: the time first, the free text last (print_rows). */
static const char show_alerts_sql[] =
    "SELECT (extract(epoch FROM occurred_at) * 1000000)::bigint, alert_id,"
    " kind, CASE WHEN suspected THEN 'suspected' ELSE 'confirmed' END,"
    " evidence FROM alerts WHERE case_id = $1"
    " ORDER BY occurred_at, alert_id COLLATE \"C\"";

static const char show_events_sql[] =
    "SELECT (extract(epoch FROM occurred_at) * 1000000)::bigint, action,"
    " actor, text FROM case_events WHERE case_id = $1"
    " ORDER BY occurred_at, event_id COLLATE \"C\"";

/* case_record: the times as µs; NULL answered_at / closed_at: none. */
static const char status_sql[] =
    "SELECT (extract(epoch FROM opened_at) * 1000000)::bigint,"
    " (extract(epoch FROM answered_at) * 1000000)::bigint,"
    " (extract(epoch FROM closed_at) * 1000000)::bigint,"
    " EXISTS (SELECT 1 FROM case_events WHERE event_id = $2)"
    " FROM case_status WHERE case_id = $1";

/* Every option of every case command; which ones a command takes is its
 * own list. All values are borrowed from argv. */
typedef struct case_opts {
    const char *case_id; /* the one positional argument */
    const char *dsn;
    const char *now;
    const char *status;
    const char *branch;
    const char *kind;
    const char *limit;
    const char *by;
    const char *text;
    const char *opinion;
    const char *at;
} case_opts;

typedef struct opt_def {
    const char *name;
    size_t offset;
} opt_def;

#define O(m) offsetof(case_opts, m)
static const opt_def opt_defs[] = {
    {"--dsn", O(dsn)},       {"--now", O(now)},   {"--status", O(status)},
    {"--branch", O(branch)}, {"--kind", O(kind)}, {"--limit", O(limit)},
    {"--by", O(by)},         {"--text", O(text)}, {"--opinion", O(opinion)},
    {"--at", O(at)},
};
#undef O

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: revisitctl case list [--status open|answered|closed|overdue]\n"
        "                            [--branch B] [--kind K] [--limit N]\n"
        "                            [--now T] [--dsn DSN]\n"
        "       revisitctl case show CASE_ID [--now T] [--dsn DSN]\n"
        "       revisitctl case answer CASE_ID --by ACTOR --text TEXT [--at "
        "T]\n"
        "       revisitctl case close CASE_ID --by ACTOR --opinion TEXT [--at "
        "T]\n"
        "  list    one line per case: case_id, branch, kind, severity, count\n"
        "          (its alerts, escalation not counted), opened, deadline, "
        "status,\n"
        "          flags (overdue, escalated, answered_late; \"-\" none). "
        "Repeated\n"
        "          issues first (A3): count, then deadline (none last), then "
        "id.\n"
        "  show    the case, its alerts and its events, in time order\n"
        "  answer  the branch's self-check or answer (A2) -> compliance.cases\n"
        "  close   the compliance department's final opinion -> "
        "compliance.cases;\n"
        "          refused while the record holds no answer (the recorder "
        "writes\n"
        "          an answer moments after it is given)\n"
        "  answer and close check that the case exists, send one CaseEvent "
        "keyed\n"
        "  by the case (event id derived from case, action, actor and text: "
        "the\n"
        "  same command twice is one fact) and succeed once it is delivered.\n"
        "  ACTOR at most 63 bytes, TEXT 1023, both UTF-8.\n"
        "  --now T  the report's time, YYYY-MM-DDTHH:MM:SSZ (UTC): a case is\n"
        "           overdue if open and its deadline is before T. Default: "
        "the\n"
        "           wall clock (the demo's data is historical: give a time "
        "of it).\n"
        "           Only overdue depends on it: answers, closes and "
        "escalations\n"
        "           are shown as recorded\n"
        "  --at T   when the person acted (default: now), for backfills and "
        "tests\n"
        "  --dsn DSN  libpq connection string (default: $RV_PG_DSN); Kafka "
        "from\n"
        "           RV_KAFKA_BOOTSTRAP_SERVERS (and any RV_KAFKA_*)\n"
        "  exit status: 0 done, 1 refused (no such case, not answered, "
        "closed, --at\n"
        "  before the case opened or a close before its answer) or "
        "failed, 64 bad\n"
        "  arguments, 78 configuration missing\n");
}

/* Parse argv[2..] of `case SUB` into @p o, taking only the options named
 * in @p allowed (NULL-terminated) and @p positional (0 or 1) positional
 * arguments. An option's value is the next argument whatever it looks
 * like (`--text --help` is a text). Returns 0, 1 for --help, or -1 after
 * telling the user what is wrong. */
static int parse_opts(int argc, char **argv, const char *const *allowed,
                      int positional, case_opts *o)
{
    const char *sub = argv[1];
    int positional_seen = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (positional_seen >= positional) {
                fprintf(stderr,
                        "revisitctl case %s: unexpected argument \"%s\"\n", sub,
                        arg);
                return -1;
            }
            o->case_id = arg;
            positional_seen++;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        const opt_def *def = NULL;
        for (size_t a = 0; allowed[a] != NULL && def == NULL; a++) {
            if (strlen(allowed[a]) != name_len ||
                strncmp(allowed[a], arg, name_len) != 0) {
                continue;
            }
            for (size_t d = 0; d < sizeof(opt_defs) / sizeof(opt_defs[0]);
                 d++) {
                if (strcmp(opt_defs[d].name, allowed[a]) == 0) {
                    def = &opt_defs[d];
                }
            }
        }
        if (def == NULL) {
            fprintf(stderr, "revisitctl case %s: unknown argument \"%s\"\n",
                    sub, arg);
            return -1;
        }
        const char *value = NULL;
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "revisitctl case %s: \"%s\" needs a value\n", sub,
                    def->name);
            return -1;
        }
        *(const char **)((char *)o + def->offset) = value;
    }
    if (positional_seen < positional) {
        fprintf(stderr, "revisitctl case %s: CASE_ID is required\n", sub);
        return -1;
    }
    return 0;
}

/* parse_opts, and the exit code when the command goes no further: 0
 * after --help, EXIT_USAGE after a mistake; -1 to go on. */
static int take_opts(int argc, char **argv, const char *const *allowed,
                     int positional, case_opts *o)
{
    int rc = parse_opts(argc, argv, allowed, positional, o);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "usage: revisitctl case --help\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* The report's time as text for SQL ("YYYY-MM-DDTHH:MM:SSZ"): --now, or
 * the wall clock. */
static bool report_time(const char *sub, const char *now,
                        char out[CTL_TIME_SIZE])
{
    int64_t us = rv_now_us();
    if (now != NULL && ctl_time_parse(now, &us) != RV_OK) {
        fprintf(stderr,
                "revisitctl case %s: --now \"%s\" is not "
                "YYYY-MM-DDTHH:MM:SSZ (UTC)\n",
                sub, now);
        return false;
    }
    ctl_time_format(us, out);
    return true;
}

/* --dsn, else $RV_PG_DSN; NULL (after saying so) if neither. */
static const char *pick_dsn(const char *sub, const char *dsn)
{
    char what[64];
    snprintf(what, sizeof(what), "case %s", sub);
    return rv_ctl_dsn(what, dsn);
}

static rv_pg *connect_pg(const char *sub, const char *dsn)
{
    char errstr[512] = "";
    rv_pg *pg = NULL;
    if (rv_pg_open(dsn, &pg, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl case %s: %s\n", sub, errstr);
        return NULL;
    }
    return pg;
}

static bool is_true(const rv_pg_result *res, size_t row, size_t col)
{
    return strcmp(rv_pg_result_value(res, row, col), "t") == 0;
}

/* A µs column as "YYYY-MM-DDTHH:MM:SSZ", "-" for NULL. */
static void format_time_col(const rv_pg_result *res, size_t row, size_t col,
                            char out[CTL_TIME_SIZE])
{
    if (rv_pg_result_is_null(res, row, col)) {
        snprintf(out, CTL_TIME_SIZE, "-");
        return;
    }
    const char *text = rv_pg_result_value(res, row, col);
    errno = 0;
    char *end = NULL;
    long long us = strtoll(text, &end, 10);
    if (errno != 0 || end == text) {
        snprintf(out, CTL_TIME_SIZE, "?");
        return;
    }
    ctl_time_format((int64_t)us, out);
}

/* "overdue,escalated,answered_late", the ones that hold; "-" if none. */
static void format_flags(char *out, size_t out_size, bool is_overdue,
                         bool is_escalated, bool is_late)
{
    snprintf(out, out_size, "%s%s%s%s%s", is_overdue ? "overdue" : "",
             is_overdue && (is_escalated || is_late) ? "," : "",
             is_escalated ? "escalated" : "",
             is_escalated && is_late ? "," : "",
             is_late ? "answered_late" : "");
    if (out[0] == '\0') {
        snprintf(out, out_size, "-");
    }
}

/* Text from the record on one line: control bytes and backslashes
 * escaped, so that an evidence or answer with a newline cannot fake a
 * line of the output. UTF-8 passes through. */
static void print_escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '\\') {
            fputs("\\\\", stdout);
        } else if (*p == '\n') {
            fputs("\\n", stdout);
        } else if (*p == '\t') {
            fputs("\\t", stdout);
        } else if (*p < 0x20 || *p == 0x7f) {
            printf("\\x%02x", *p);
        } else {
            putchar(*p);
        }
    }
}

/* @p s escaped, then spaces up to @p width bytes, then two more. */
static void print_padded(const char *s, int width)
{
    print_escaped(s);
    size_t len = strlen(s);
    for (size_t i = len; i < (size_t)width; i++) {
        putchar(' ');
    }
    fputs("  ", stdout);
}

/* Widest value of column @p col (at least the header's), at most
 * WIDTH_MAX bytes. */
static int column_width(const rv_pg_result *res, size_t col, const char *header)
{
    size_t w = strlen(header);
    for (size_t r = 0; r < rv_pg_result_rows(res); r++) {
        size_t len = strlen(rv_pg_result_value(res, r, col));
        if (len > w) {
            w = len;
        }
    }
    return (int)(w < WIDTH_MAX ? w : WIDTH_MAX);
}

/* ---- list ------------------------------------------------------------- */

static bool parse_limit(const char *s, long long *out)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > LIMIT_MAX) {
        return false;
    }
    *out = v;
    return true;
}

static bool is_status_name(const char *s)
{
    return strcmp(s, "open") == 0 || strcmp(s, "answered") == 0 ||
           strcmp(s, "closed") == 0 || strcmp(s, "overdue") == 0;
}

static void print_list(const rv_pg_result *res)
{
    int case_w = column_width(res, LS_CASE, "case_id");
    int branch_w = column_width(res, LS_BRANCH, "branch");
    int kind_w = column_width(res, LS_KIND, "kind");
    int severity_w = column_width(res, LS_SEVERITY, "severity");
    printf("%-*s  %-*s  %-*s  %-*s  %5s  %-20s  %-20s  %-8s  %s\n", case_w,
           "case_id", branch_w, "branch", kind_w, "kind", severity_w,
           "severity", "count", "opened", "deadline", "status", "flags");
    for (size_t r = 0; r < rv_pg_result_rows(res); r++) {
        char opened[CTL_TIME_SIZE], deadline[CTL_TIME_SIZE], flags[64];
        format_time_col(res, r, LS_OPENED, opened);
        format_time_col(res, r, LS_DEADLINE, deadline);
        format_flags(flags, sizeof(flags), is_true(res, r, LS_OVERDUE),
                     is_true(res, r, LS_ESCALATED), is_true(res, r, LS_LATE));
        print_padded(rv_pg_result_value(res, r, LS_CASE), case_w);
        print_padded(rv_pg_result_value(res, r, LS_BRANCH), branch_w);
        print_padded(rv_pg_result_value(res, r, LS_KIND), kind_w);
        print_padded(rv_pg_result_value(res, r, LS_SEVERITY), severity_w);
        printf("%5s  %-20s  %-20s  %-8s  %s\n",
               rv_pg_result_value(res, r, LS_COUNT), opened, deadline,
               rv_pg_result_value(res, r, LS_STATUS), flags);
    }
}

static int case_list(int argc, char **argv)
{
    static const char *const allowed[] = {
        "--status", "--branch", "--kind", "--limit", "--now", "--dsn", NULL};
    case_opts o = {0};
    int code = take_opts(argc, argv, allowed, 0, &o);
    if (code >= 0) {
        return code;
    }
    if (o.status != NULL && !is_status_name(o.status)) {
        fprintf(stderr,
                "revisitctl case list: --status \"%s\" is not open, "
                "answered, closed or overdue\n",
                o.status);
        return EXIT_USAGE;
    }
    char limit_text[24] = "";
    if (o.limit != NULL) {
        long long limit = 0;
        if (!parse_limit(o.limit, &limit)) {
            fprintf(stderr,
                    "revisitctl case list: --limit \"%s\" is not a number "
                    "in 1..%d\n",
                    o.limit, LIMIT_MAX);
            return EXIT_USAGE;
        }
        snprintf(limit_text, sizeof(limit_text), "%lld", limit);
    }
    char now[CTL_TIME_SIZE];
    if (!report_time("list", o.now, now)) {
        return EXIT_USAGE;
    }
    const char *dsn = pick_dsn("list", o.dsn);
    if (dsn == NULL) {
        return RV_CFG_EXIT_CONFIG;
    }
    rv_pg *pg = connect_pg("list", dsn);
    if (pg == NULL) {
        return EXIT_REFUSED;
    }
    const char *params[] = {now, o.branch, o.kind, o.status,
                            o.limit != NULL ? limit_text : NULL};
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    code = EXIT_REFUSED;
    if (rv_pg_exec(pg, list_sql, 5, params, &res, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr, "revisitctl case list: %s\n", errstr);
    } else {
        print_list(res);
        code = 0;
    }
    rv_pg_result_free(res);
    rv_pg_close(pg);
    return code;
}

/* ---- show ------------------------------------------------------------- */

static void print_field(const char *name, const char *value)
{
    printf("%-12s ", name);
    print_escaped(value[0] != '\0' ? value : "-");
    putchar('\n');
}

static void print_time_field(const char *name, const rv_pg_result *res,
                             size_t col)
{
    char t[CTL_TIME_SIZE];
    format_time_col(res, 0, col, t);
    print_field(name, t);
}

static int print_case(rv_pg *pg, const char *case_id, const char *now)
{
    const char *params[] = {case_id, now};
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    if (rv_pg_exec(pg, show_sql, 2, params, &res, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr, "revisitctl case show: %s\n", errstr);
        return EXIT_REFUSED;
    }
    if (rv_pg_result_rows(res) != 1) {
        fprintf(stderr, "revisitctl case show: no case \"%s\" in the record\n",
                case_id);
        rv_pg_result_free(res);
        return EXIT_REFUSED;
    }
    static const struct {
        const char *name;
        int col;
    } fields[] = {
        {"case_id", SH_CASE},
        {"customer", SH_CUSTOMER},
        {"branch", SH_BRANCH},
        {"store", SH_STORE},
        {"salesperson", SH_SALESPERSON},
        {"kind", SH_KIND},
        {"severity", SH_SEVERITY},
        {"route_to", SH_ROUTE_TO},
        {"notify", SH_NOTIFY},
        {"policy", SH_POLICY},
        {"count", SH_COUNT},
        {"status", SH_STATUS},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        print_field(fields[i].name,
                    rv_pg_result_value(res, 0, (size_t)fields[i].col));
    }
    char flags[64];
    format_flags(flags, sizeof(flags), is_true(res, 0, SH_OVERDUE),
                 is_true(res, 0, SH_ESCALATED), is_true(res, 0, SH_LATE));
    print_field("flags", flags);
    print_time_field("opened", res, SH_OPENED);
    print_time_field("deadline", res, SH_DEADLINE);
    print_time_field("answered", res, SH_ANSWERED_AT);
    print_time_field("closed", res, SH_CLOSED_AT);
    print_time_field("escalated", res, SH_ESCALATED_AT);
    rv_pg_result_free(res);
    return 0;
}

/* "TITLE (N):", then one line per row of @p sql (@p cols columns): two
 * spaces, the time (column 0, µs), the middle columns padded to their
 * widest, the last column as free text. */
static int print_rows(rv_pg *pg, const char *sql, size_t cols,
                      const char *case_id, const char *title)
{
    const char *params[] = {case_id};
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    if (rv_pg_exec(pg, sql, 1, params, &res, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl case show: %s\n", errstr);
        return EXIT_REFUSED;
    }
    size_t rows = rv_pg_result_rows(res);
    int widths[SHOW_COLS_MAX] = {0};
    for (size_t c = 1; c + 1 < cols; c++) {
        widths[c] = column_width(res, c, "");
    }
    printf("%s (%zu):\n", title, rows);
    for (size_t r = 0; r < rows; r++) {
        char t[CTL_TIME_SIZE];
        format_time_col(res, r, 0, t);
        printf("  %s  ", t);
        for (size_t c = 1; c + 1 < cols; c++) {
            print_padded(rv_pg_result_value(res, r, c), widths[c]);
        }
        print_escaped(rv_pg_result_value(res, r, cols - 1));
        putchar('\n');
    }
    rv_pg_result_free(res);
    return 0;
}

static int case_show(int argc, char **argv)
{
    static const char *const allowed[] = {"--now", "--dsn", NULL};
    case_opts o = {0};
    int code = take_opts(argc, argv, allowed, 1, &o);
    if (code >= 0) {
        return code;
    }
    char now[CTL_TIME_SIZE];
    if (!report_time("show", o.now, now)) {
        return EXIT_USAGE;
    }
    const char *dsn = pick_dsn("show", o.dsn);
    if (dsn == NULL) {
        return RV_CFG_EXIT_CONFIG;
    }
    rv_pg *pg = connect_pg("show", dsn);
    if (pg == NULL) {
        return EXIT_REFUSED;
    }
    /* One snapshot: the case, its alerts and its events agree. */
    char errstr[512] = "";
    code = EXIT_REFUSED;
    if (rv_pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
                   NULL, NULL, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl case show: %s\n", errstr);
    } else {
        code = print_case(pg, o.case_id, now);
        if (code == 0) {
            code = print_rows(pg, show_alerts_sql, 5, o.case_id, "alerts");
        }
        if (code == 0) {
            code = print_rows(pg, show_events_sql, 4, o.case_id, "events");
        }
        rv_err end = rv_pg_exec(pg, "COMMIT", 0, NULL, NULL, NULL, 0);
        (void)end; /* read only: nothing to lose if it fails */
    }
    rv_pg_close(pg);
    return code;
}

/* ---- answer, close ---------------------------------------------------- */

/* A µs column into @p us; false for NULL (or what is not a number). */
static bool time_col(const rv_pg_result *res, size_t col, int64_t *us)
{
    if (rv_pg_result_is_null(res, 0, col)) {
        return false;
    }
    const char *text = rv_pg_result_value(res, 0, col);
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text) {
        return false;
    }
    *us = (int64_t)v;
    return true;
}

/* What the record says of the case of @p e into @p out (exists false if
 * there is no such case). Returns false on a database error, after
 * saying so. */
static bool lookup_record(const char *sub, const char *dsn,
                          const rv_case_event *e, case_record *out)
{
    rv_pg *pg = connect_pg(sub, dsn);
    if (pg == NULL) {
        return false;
    }
    const char *params[] = {e->case_id, e->env.event_id};
    char errstr[512] = "";
    rv_pg_result *res = NULL;
    bool ok = rv_pg_exec(pg, status_sql, 2, params, &res, errstr,
                         sizeof(errstr)) == RV_OK;
    if (!ok) {
        fprintf(stderr, "revisitctl case %s: %s\n", sub, errstr);
    } else if (rv_pg_result_rows(res) == 1) {
        *out = (case_record){.exists = true};
        (void)time_col(res, 0, &out->opened_at_us);
        out->is_answered = time_col(res, 1, &out->answered_at_us);
        out->is_closed = time_col(res, 2, &out->closed_at_us);
        out->has_event = is_true(res, 0, 3);
    } else {
        *out = (case_record){.exists = false};
    }
    rv_pg_result_free(res);
    rv_pg_close(pg);
    return ok;
}

static bool has_bootstrap(const rv_props *kafka)
{
    for (size_t i = 0; i < kafka->count; i++) {
        if (strcmp(kafka->names[i], "bootstrap.servers") == 0 &&
            kafka->values[i][0] != '\0') {
            return true;
        }
    }
    return false;
}

/* Send @p e keyed by its case and wait until the broker has it. */
static int deliver(const char *sub, const rv_props *kafka,
                   const rv_case_event *e)
{
    char errstr[512] = "";
    rv_producer *kp = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int code = EXIT_REFUSED;
    rv_err err = rv_codec_encode_case_event(e, &buf, &len);
    if (err != RV_OK) {
        fprintf(stderr, "revisitctl case %s: %s\n", sub, rv_err_str(err));
        goto out;
    }
    if (rv_producer_open(kafka, "revisitctl", &kp, errstr, sizeof(errstr)) !=
        RV_OK) {
        fprintf(stderr, "revisitctl case %s: %s\n", sub, errstr);
        goto out;
    }
    err = rv_producer_send(kp, CASES_TOPIC, e->case_id, buf, len, NULL, 0);
    if (err == RV_OK) {
        err = rv_producer_flush(kp, FLUSH_TIMEOUT_MS);
    }
    if (err != RV_OK) {
        fprintf(stderr,
                "revisitctl case %s: not delivered to %s: %s (run it again: "
                "the same command is the same fact)\n",
                sub, CASES_TOPIC, rv_err_str(err));
        goto out;
    }
    code = 0;
out:
    rv_producer_close(kp, CLOSE_TIMEOUT_MS);
    free(buf);
    return code;
}

/* The record allows the action (case_event_check). Says why not. */
static int check_record(const char *sub, const char *dsn,
                        const rv_case_event *e)
{
    case_record r;
    if (!lookup_record(sub, dsn, e, &r)) {
        return EXIT_REFUSED;
    }
    char errstr[512] = "";
    if (case_event_check(e, &r, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "revisitctl case %s: %s; nothing sent\n", sub, errstr);
        return EXIT_REFUSED;
    }
    return 0;
}

static int case_act(int argc, char **argv, rv_case_action action)
{
    const char *sub = argv[1];
    bool is_close = action == RV_CASE_CLOSE;
    static const char *const answer_opts[] = {"--by", "--text", "--at", "--dsn",
                                              NULL};
    static const char *const close_opts[] = {"--by", "--opinion", "--at",
                                             "--dsn", NULL};
    case_opts o = {0};
    int code =
        take_opts(argc, argv, is_close ? close_opts : answer_opts, 1, &o);
    if (code >= 0) {
        return code;
    }
    const char *text = is_close ? o.opinion : o.text;
    if (o.by == NULL || text == NULL) {
        fprintf(stderr, "revisitctl case %s: --by and %s are required\n", sub,
                is_close ? "--opinion" : "--text");
        return EXIT_USAGE;
    }
    int64_t at_us = rv_now_us(); /* a person's action: now */
    if (o.at != NULL && ctl_time_parse(o.at, &at_us) != RV_OK) {
        fprintf(stderr,
                "revisitctl case %s: --at \"%s\" is not "
                "YYYY-MM-DDTHH:MM:SSZ (UTC)\n",
                sub, o.at);
        return EXIT_USAGE;
    }
    /* The input first: nothing is looked up for a command that could not
     * be sent anyway. */
    char errstr[512] = "";
    rv_case_event e;
    rv_err err = case_event_build(o.case_id, action, o.by, text, at_us, &e,
                                  errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "revisitctl case %s: %s\n", sub,
                err == RV_ERR_NOMEM ? "out of memory" : errstr);
        return err == RV_ERR_NOMEM ? EXIT_REFUSED : EXIT_USAGE;
    }
    const char *dsn = pick_dsn(sub, o.dsn);
    if (dsn == NULL) {
        return RV_CFG_EXIT_CONFIG;
    }
    static const rv_cfg_key no_keys[] = {{0}};
    rv_cfg_section sec[] = {{no_keys, NULL}};
    rv_props kafka = {0};
    if (rv_cfg_load(sec, 1, NULL, &kafka) != RV_OK) {
        return RV_CFG_EXIT_CONFIG;
    }
    if (!has_bootstrap(&kafka)) {
        fprintf(stderr,
                "revisitctl case %s: no broker: set "
                "RV_KAFKA_BOOTSTRAP_SERVERS\n",
                sub);
        code = RV_CFG_EXIT_CONFIG;
        goto out;
    }
    rv_log_init("revisitctl", RV_LOG_WARN, RV_LOG_LOGFMT);
    code = check_record(sub, dsn, &e);
    if (code != 0) {
        goto out;
    }
    code = deliver(sub, &kafka, &e);
    if (code == 0) {
        char at[CTL_TIME_SIZE];
        ctl_time_format(e.env.occurred_at_us, at);
        printf("%s: case=%s event=%s at=%s delivered to %s\n", sub, e.case_id,
               e.env.event_id, at, CASES_TOPIC);
    }
out:
    rv_cfg_fini(sec, 1, &kafka);
    return code;
}

int rv_ctl_case(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "list") == 0) {
        return case_list(argc, argv);
    }
    if (strcmp(argv[1], "show") == 0) {
        return case_show(argc, argv);
    }
    if (strcmp(argv[1], "answer") == 0) {
        return case_act(argc, argv, RV_CASE_ANSWER);
    }
    if (strcmp(argv[1], "close") == 0) {
        return case_act(argc, argv, RV_CASE_CLOSE);
    }
    fprintf(stderr, "revisitctl case: unknown command \"%s\"\n", argv[1]);
    fprintf(stderr, "usage: revisitctl case --help\n");
    return EXIT_USAGE;
}
