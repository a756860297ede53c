/* workers/revisitctl/cmd_audit.c: `revisitctl replay report` (issue 7),
 * the Markdown audit report of an event-time range, read from the
 * record (deploy/sql/): what went into it, counts per table, the verify
 * result, and the lineage of every alert back to the business event
 * that started it.
 *
 * Reproducible: the body holds no wall-clock time, every list is sorted
 * in the C collation, and the inputs it names are those of the command
 * line, so the same record and arguments give the same bytes. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_fmt.h"
#include "ctl.h"
#include "ctl_args.h"
#include "ctl_time.h"
#include "rv/hash.h"
#include "rv/pg.h"

/* A verify output is a few lines per difference: this is plenty. */
#define VERIFY_MAX_BYTES (16 * 1024 * 1024)
#define EX_NOINPUT 66

static void usage(FILE *out)
{
    fprintf(out,
            "usage: revisitctl replay report --from T1 --to T2 [--verify "
            "FILE]\n"
            "           [--dsn DSN]\n"
            "  A Markdown audit report of event times [T1, T2) "
            "(YYYY-MM-DDTHH:MM:SSZ,\n"
            "  UTC) from PostgreSQL: inputs and policy versions, rows per "
            "table,\n"
            "  the replay verify output in FILE (or \"not run\"), and every "
            "alert's\n"
            "  lineage to its business event. The same record gives the "
            "same text.\n");
}

typedef struct audit {
    rv_pg *pg;
    char from[CTL_TIME_SIZE], to[CTL_TIME_SIZE];
    const char *verify_path; /* NULL: not run */
    char *verify_text;       /* owned */
    size_t verify_len;
} audit;

/* Runs @p sql with $1 from, $2 to. */
static rv_err query(audit *a, const char *sql, rv_pg_result **res)
{
    const char *params[] = {a->from, a->to};
    char errstr[512] = "";
    rv_err err = rv_pg_exec(a->pg, sql, 2, params, res, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "replay report: %s\n", errstr);
    }
    return err;
}

/* ---- header ------------------------------------------------------------ */

static const char policies_sql[] =
    "SELECT policy_version, count(*) FROM ("
    " SELECT policy_version FROM decisions WHERE occurred_at >= $1::"
    "timestamptz AND occurred_at < $2::timestamptz"
    " UNION ALL SELECT policy_version FROM visit_tasks WHERE occurred_at >= "
    "$1::timestamptz AND occurred_at < $2::timestamptz"
    " UNION ALL SELECT policy_version FROM assignments WHERE occurred_at >= "
    "$1::timestamptz AND occurred_at < $2::timestamptz"
    " UNION ALL SELECT policy_version FROM grades WHERE occurred_at >= "
    "$1::timestamptz AND occurred_at < $2::timestamptz"
    " UNION ALL SELECT policy_version FROM alerts WHERE occurred_at >= "
    "$1::timestamptz AND occurred_at < $2::timestamptz"
    ") v GROUP BY 1 ORDER BY policy_version COLLATE \"C\"";

/* The database and the last migration applied (deploy/local/stack.sh
 * keeps schema_migrations; another deployment may not). */
static rv_err record_version(audit *a, char *db, size_t db_size, char *mig,
                             size_t mig_size)
{
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    rv_err err = rv_pg_exec(a->pg,
                            "SELECT current_database(), "
                            "to_regclass('schema_migrations') IS NOT NULL",
                            0, NULL, &res, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "replay report: %s\n", errstr);
        return err;
    }
    snprintf(db, db_size, "%s", rv_pg_result_value(res, 0, 0));
    bool has = strcmp(rv_pg_result_value(res, 0, 1), "t") == 0;
    rv_pg_result_free(res);
    snprintf(mig, mig_size, "unknown (no schema_migrations)");
    if (!has) {
        return RV_OK;
    }
    err = rv_pg_exec(a->pg,
                     "SELECT coalesce(max(version COLLATE \"C\"), 'none') "
                     "FROM schema_migrations",
                     0, NULL, &res, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fprintf(stderr, "replay report: %s\n", errstr);
        return err;
    }
    snprintf(mig, mig_size, "%s", rv_pg_result_value(res, 0, 0));
    rv_pg_result_free(res);
    return RV_OK;
}

static rv_err write_header(audit *a)
{
    char db[128], mig[128];
    rv_err err = record_version(a, db, sizeof(db), mig, sizeof(mig));
    rv_pg_result *res = NULL;
    if (err == RV_OK) {
        err = query(a, policies_sql, &res);
    }
    if (err != RV_OK) {
        return err;
    }
    printf("# Audit report %s to %s\n\n", a->from, a->to);
    printf("- Range: event time (occurred_at) in [%s, %s)\n", a->from, a->to);
    printf("- Policy versions seen:");
    if (rv_pg_result_rows(res) == 0) {
        printf(" none");
    }
    for (size_t i = 0; i < rv_pg_result_rows(res); i++) {
        printf("%s `", i > 0 ? "," : "");
        audit_md_cell(stdout, rv_pg_result_value(res, i, 0));
        printf("` (%s rows)", rv_pg_result_value(res, i, 1));
    }
    printf("\n");
    rv_pg_result_free(res);
    printf("- Generated by: revisitctl %s, `replay report --from %s --to "
           "%s",
           RV_VERSION, a->from, a->to);
    if (a->verify_path != NULL) {
        printf(" --verify ");
        audit_md_cell(stdout, a->verify_path);
    }
    printf("`\n");
    printf("- Record: database `");
    audit_md_cell(stdout, db);
    printf("`, last migration `");
    audit_md_cell(stdout, mig);
    printf("`\n");
    if (a->verify_path != NULL) {
        char hex[65];
        rv_sha256_hex((const uint8_t *)a->verify_text, a->verify_len, hex);
        printf("- Verify output: ");
        audit_md_cell(stdout, a->verify_path);
        printf(", SHA-256 %s\n", hex);
    } else {
        printf("- Verify output: none\n");
    }
    return RV_OK;
}

/* ---- counts ------------------------------------------------------------ */

/* A record table and the column its rows are grouped by (NULL: total
 * only). Names from this list only ever reach the SQL. */
static const struct {
    const char *table;
    const char *by;
} count_tables[] = {
    {"sales", NULL},          {"work_orders", NULL},
    {"decisions", "outcome"}, {"visit_tasks", "rule_id"},
    {"assignments", NULL},    {"outcomes", NULL},
    {"grades", "verdict"},    {"alerts", "kind"},
    {"case_events", NULL},
};

static rv_err write_counts(audit *a)
{
    printf("\n## Counts\n\n"
           "Rows of the record whose event time (occurred_at) is in the "
           "range.\n\n"
           "| table | group | rows |\n"
           "|---|---|---:|\n");
    rv_err err = RV_OK;
    for (size_t t = 0;
         t < sizeof(count_tables) / sizeof(count_tables[0]) && err == RV_OK;
         t++) {
        char sql[512];
        const char *by = count_tables[t].by;
        snprintf(sql, sizeof(sql),
                 "SELECT %s COLLATE \"C\", count(*) FROM %s WHERE "
                 "occurred_at >= "
                 "$1::timestamptz AND occurred_at < $2::timestamptz "
                 "GROUP BY 1 ORDER BY 1",
                 by != NULL ? by : "''::text", count_tables[t].table);
        rv_pg_result *res = NULL;
        err = query(a, sql, &res);
        if (err != RV_OK) {
            break;
        }
        long long total = 0;
        for (size_t i = 0; i < rv_pg_result_rows(res); i++) {
            total += strtoll(rv_pg_result_value(res, i, 1), NULL, 10);
        }
        printf("| %s | all | %lld |\n", count_tables[t].table, total);
        for (size_t i = 0; by != NULL && i < rv_pg_result_rows(res); i++) {
            printf("| %s | %s=", count_tables[t].table, by);
            audit_md_cell(stdout, rv_pg_result_value(res, i, 0));
            printf(" | %s |\n", rv_pg_result_value(res, i, 1));
        }
        rv_pg_result_free(res);
    }
    return err;
}

/* ---- verify ------------------------------------------------------------ */

static int read_verify(audit *a)
{
    FILE *f = fopen(a->verify_path, "rb");
    if (f == NULL) {
        int e = errno;
        fprintf(stderr, "replay report: --verify %s: %s\n", a->verify_path,
                strerror(e));
        return EX_NOINPUT;
    }
    char *text = malloc(VERIFY_MAX_BYTES + 1);
    size_t n = text != NULL ? fread(text, 1, VERIFY_MAX_BYTES + 1, f) : 0;
    bool failed = ferror(f) != 0;
    fclose(f);
    if (text == NULL) {
        return 70;
    }
    if (failed || n > VERIFY_MAX_BYTES || memchr(text, '\0', n) != NULL) {
        fprintf(stderr,
                "replay report: --verify %s: not a replay verify output "
                "(unreadable, binary or over %d bytes)\n",
                a->verify_path, VERIFY_MAX_BYTES);
        free(text);
        return EX_NOINPUT;
    }
    text[n] = '\0';
    a->verify_text = text;
    a->verify_len = n;
    return 0;
}

static void write_verify(const audit *a)
{
    printf("\n## Verify\n\n");
    if (a->verify_path == NULL) {
        printf("Not run: no `revisitctl replay verify` output was given "
               "(--verify FILE).\n");
        return;
    }
    char fence[64];
    audit_md_fence(a->verify_text, fence, sizeof(fence));
    printf("Output of `revisitctl replay verify` (");
    audit_md_cell(stdout, a->verify_path);
    printf("):\n\n%s\n%s", fence, a->verify_text);
    if (a->verify_len > 0 && a->verify_text[a->verify_len - 1] != '\n') {
        printf("\n");
    }
    printf("%s\n", fence);
}

/* ---- lineage ----------------------------------------------------------- */

/* Every alert of the range, each hop looked up by the ID the row before
 * names, and whether that row's causation_id is the hop's event:
 *  - an escalation (no grade) follows the alert it escalates (its
 *    causation), then that alert's grade;
 *  - an alert of the assigner (no grade; capacity) starts at the
 *    assignment that is its causation;
 *  - the business event is a sale or work order, an outcome for an R10
 *    spot check (grader_spot.c), or the draw of an R2 population visit,
 *    known by the decision that names it as source. */
static const char lineage_sql[] =
    "SELECT a.alert_id, a.kind, coalesce(e.alert_id, ''),"
    " coalesce(nullif(a.grade_id, ''), e.grade_id, ''),"
    " g.grade_id IS NOT NULL,"
    " coalesce(coalesce(e.causation_id, a.causation_id) = g.event_id, false),"
    " coalesce(g.outcome_id, ''), o.outcome_id IS NOT NULL,"
    " coalesce(g.causation_id = o.event_id, false),"
    " coalesce(o.assignment_id, c.assignment_id, ''),"
    " s.assignment_id IS NOT NULL,"
    " coalesce(coalesce(o.causation_id, a.causation_id) = s.event_id, false),"
    " coalesce(s.task_id, ''), t.task_id IS NOT NULL,"
    " coalesce(s.causation_id = t.event_id, false),"
    " coalesce(t.source_event_id, ''),"
    " CASE WHEN sa.event_id IS NOT NULL THEN 'sale'"
    " WHEN w.event_id IS NOT NULL THEN 'work_order'"
    " WHEN so.outcome_id IS NOT NULL THEN 'outcome'"
    " WHEN dr.one IS NOT NULL THEN 'draw' ELSE '' END,"
    " coalesce(t.causation_id = t.source_event_id, false),"
    " c.assignment_id IS NOT NULL"
    " FROM alerts a"
    " LEFT JOIN LATERAL (SELECT x.alert_id, x.grade_id, x.causation_id"
    "  FROM alerts x WHERE nullif(a.grade_id, '') IS NULL"
    "  AND x.alert_id = a.causation_id AND nullif(x.grade_id, '') IS NOT NULL"
    "  LIMIT 1) e ON true"
    " LEFT JOIN LATERAL (SELECT y.assignment_id FROM assignments y"
    "  WHERE nullif(a.grade_id, '') IS NULL AND e.alert_id IS NULL"
    "  AND y.assignment_id = a.causation_id) c ON true"
    " LEFT JOIN grades g"
    "  ON g.grade_id = coalesce(nullif(a.grade_id, ''), e.grade_id)"
    " LEFT JOIN outcomes o ON o.outcome_id = g.outcome_id"
    " LEFT JOIN assignments s"
    "  ON s.assignment_id = coalesce(o.assignment_id, c.assignment_id)"
    " LEFT JOIN visit_tasks t ON t.task_id = s.task_id"
    " LEFT JOIN sales sa ON sa.event_id = t.source_event_id"
    " LEFT JOIN work_orders w ON w.event_id = t.source_event_id"
    " LEFT JOIN outcomes so ON so.outcome_id = t.source_event_id"
    " LEFT JOIN LATERAL (SELECT 1 AS one FROM decisions d"
    "  WHERE d.source_event_id = t.source_event_id LIMIT 1) dr ON true"
    " WHERE a.occurred_at >= $1::timestamptz AND a.occurred_at < "
    "$2::timestamptz"
    " ORDER BY a.occurred_at, a.alert_id COLLATE \"C\"";

enum {
    L_ALERT,
    L_KIND,
    L_ESCALATES,
    L_GRADE, /* id, found, caused: the same three for every hop */
    L_OUTCOME = L_GRADE + 3,
    L_ASSIGNMENT = L_OUTCOME + 3,
    L_TASK = L_ASSIGNMENT + 3,
    L_SOURCE = L_TASK + 3, /* id, kind, caused */
    L_FROM_ASSIGNMENT = L_SOURCE + 3,
};

static bool is_true(const rv_pg_result *res, size_t row, size_t col)
{
    return strcmp(rv_pg_result_value(res, row, col), "t") == 0;
}

static audit_hop hop_at(const rv_pg_result *res, size_t row, size_t col)
{
    return (audit_hop){
        .state =
            is_true(res, row, col + 1) ? AUDIT_HOP_FOUND : AUDIT_HOP_MISSING,
        .id = rv_pg_result_value(res, row, col),
        .caused = is_true(res, row, col + 2),
    };
}

static rv_err write_lineage(audit *a)
{
    rv_pg_result *res = NULL;
    rv_err err = query(a, lineage_sql, &res);
    if (err != RV_OK) {
        return err;
    }
    size_t n = rv_pg_result_rows(res), complete = 0;
    printf("\n## Lineage of every alert\n\n"
           "Each alert of the range back through the record: alert -> "
           "grade\n"
           "(grade_id) -> outcome -> assignment -> task (task_id) -> the\n"
           "business event (visit_tasks.source_event_id). (c): the row "
           "before\n"
           "names this one's event as its causation_id. An escalation "
           "follows\n"
           "the alert it escalates; an alert of the assigner starts at its\n"
           "assignment. A chain that breaks is listed as broken.\n\n");
    if (n > 0) {
        printf("| alert | kind | grade | outcome | assignment | task | "
               "business event | chain |\n"
               "|---|---|---|---|---|---|---|---|\n");
    }
    for (size_t i = 0; i < n; i++) {
        audit_lineage l = {
            .alert_id = rv_pg_result_value(res, i, L_ALERT),
            .kind = rv_pg_result_value(res, i, L_KIND),
            .escalates = rv_pg_result_value(res, i, L_ESCALATES),
            .grade = hop_at(res, i, L_GRADE),
            .outcome = hop_at(res, i, L_OUTCOME),
            .assignment = hop_at(res, i, L_ASSIGNMENT),
            .task = hop_at(res, i, L_TASK),
            .source_kind = rv_pg_result_value(res, i, L_SOURCE + 1),
            .source =
                {
                    .state = rv_pg_result_value(res, i, L_SOURCE + 1)[0] != '\0'
                                 ? AUDIT_HOP_FOUND
                                 : AUDIT_HOP_MISSING,
                    .id = rv_pg_result_value(res, i, L_SOURCE),
                    .caused = is_true(res, i, L_SOURCE + 2),
                },
        };
        if (is_true(res, i, L_FROM_ASSIGNMENT)) {
            l.grade = (audit_hop){AUDIT_HOP_NONE, "", false};
            l.outcome = l.grade;
        }
        complete += audit_lineage_complete(&l);
        audit_lineage_row(stdout, &l);
    }
    printf("%slineage: alerts=%zu complete=%zu broken=%zu\n", n > 0 ? "\n" : "",
           n, complete, n - complete);
    rv_pg_result_free(res);
    return RV_OK;
}

/* ---- the command ------------------------------------------------------- */

int rv_ctl_replay_report(int argc, char **argv)
{
    audit a = {0};
    const char *from = NULL, *to = NULL, *dsn = NULL;
    for (int i = 1; i < argc; i++) {
        char errstr[256] = "";
        rv_err err = RV_OK;
        if (ctl_arg_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--from") == 0) {
            err = ctl_arg_value(argc, argv, &i, &from, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--to") == 0) {
            err = ctl_arg_value(argc, argv, &i, &to, errstr, sizeof(errstr));
        } else if (strcmp(argv[i], "--verify") == 0) {
            err = ctl_arg_value(argc, argv, &i, &a.verify_path, errstr,
                                sizeof(errstr));
        } else if (strcmp(argv[i], "--dsn") == 0) {
            err = ctl_arg_value(argc, argv, &i, &dsn, errstr, sizeof(errstr));
        } else {
            rv_errf(errstr, sizeof(errstr), "unknown argument \"%s\"", argv[i]);
            err = RV_ERR_INVALID;
        }
        if (err != RV_OK) {
            fprintf(stderr, "replay report: %s\n", errstr);
            usage(stderr);
            return CTL_EX_USAGE;
        }
    }
    int64_t from_us = 0, to_us = 0;
    if (from == NULL || to == NULL || ctl_time_parse(from, &from_us) ||
        ctl_time_parse(to, &to_us) || from_us >= to_us) {
        fprintf(stderr, "replay report: --from and --to are required, "
                        "YYYY-MM-DDTHH:MM:SSZ, from before to\n");
        return 64;
    }
    ctl_time_format(from_us, a.from);
    ctl_time_format(to_us, a.to);
    dsn = rv_ctl_dsn("replay report", dsn);
    if (dsn == NULL) {
        return 78;
    }
    int code = a.verify_path != NULL ? read_verify(&a) : 0;
    if (code != 0) {
        return code;
    }
    char errstr[512] = "";
    if (rv_pg_open(dsn, &a.pg, errstr, sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "replay report: %s\n", errstr);
        code = 69;
    } else {
        /* The whole report from one snapshot of the record. */
        rv_err err = rv_pg_exec(a.pg,
                                "BEGIN ISOLATION LEVEL REPEATABLE READ "
                                "READ ONLY",
                                0, NULL, NULL, errstr, sizeof(errstr));
        if (err == RV_OK) {
            err = write_header(&a);
        }
        if (err == RV_OK) {
            err = write_counts(&a);
        }
        if (err == RV_OK) {
            write_verify(&a);
            err = write_lineage(&a);
        }
        if (err != RV_OK && errstr[0] != '\0') {
            fprintf(stderr, "replay report: %s\n", errstr);
        }
        code = err == RV_OK ? 0 : err == RV_ERR_NOMEM ? 70 : 69;
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "replay report: writing stdout failed\n");
            code = code == 0 ? 74 : code;
        }
    }
    rv_pg_close(a.pg);
    free(a.verify_text);
    return code;
}
