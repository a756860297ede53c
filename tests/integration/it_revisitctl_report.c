/* tests/integration/it_revisitctl_report.c: `revisitctl report` and
 * `report --summary` (workers/revisitctl/report.c) against the schema on
 * RV_IT_PG_DSN. The report reads committed data through its own
 * connection, so the test commits rows of its own branch, "it-report",
 * in January 1999, and deletes them again before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_report_run.h"

#include "ctl.h"
#include "rv/pg.h"

#define BRANCH "it-report"
#define OUT_MAX 65536

static const char *dsn(void)
{
    const char *d = getenv("RV_IT_PG_DSN");
    if (d == NULL || d[0] == '\0') {
        fail_msg("RV_IT_PG_DSN is not set: start PostgreSQL and set it");
    }
    return d;
}

static void exec1(rv_pg *pg, const char *sql)
{
    char errstr[512] = "";
    const char *params[] = {BRANCH};
    if (rv_pg_exec(pg, sql, strstr(sql, "$1") != NULL ? 1 : 0, params, NULL,
                   errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("%s: %s", sql, errstr);
    }
}

static void delete_branch(rv_pg *pg)
{
    exec1(pg, "DELETE FROM alerts WHERE branch_id = $1");
    exec1(pg, "DELETE FROM grades WHERE branch_id = $1");
    exec1(pg, "DELETE FROM assignments WHERE branch_id = $1");
    exec1(pg, "DELETE FROM visit_tasks WHERE branch_id = $1");
    exec1(pg, "DELETE FROM sales WHERE branch_id = $1");
}

/* Two orders and their two tasks in 1999-01: task 1 succeeded (score 5,
 * satisfied, in its window) with one alert, task 2 failed. */
static void insert_branch(rv_pg *pg)
{
    exec1(pg, "INSERT INTO sales (event_id, order_id, customer_id, "
              "branch_id, store_id, amount_cents, currency, segment, "
              "phone_masked, phone_synthetic, line_count, occurred_at) "
              "SELECT 'it-report-sale-' || i, 'it-report-order-' || i, "
              "'c', $1, 's', 100, 'USD', '', '', true, 1, "
              "timestamptz '1999-01-10 00:00:00+00' FROM "
              "generate_series(1, 2) i");
    exec1(pg, "INSERT INTO visit_tasks (task_id, event_id, rule_id, reasons, "
              "source_event_id, customer_id, branch_id, store_id, priority, "
              "channel, questions, policy_version, attempt, phone_masked, "
              "sample_u, sample_rate, occurred_at) "
              "SELECT 'it-report-task-' || i, 'it-report-task-' || i, 'R1', "
              "'{}', 'it-report-sale-' || i, 'c', $1, 's', 0, 'phone', '{}', "
              "'p', 1, '', 0.5, 1, timestamptz '1999-01-10 00:00:00+00' "
              "FROM generate_series(1, 2) i");
    exec1(pg, "INSERT INTO assignments (assignment_id, event_id, task_id, "
              "attempt, status, customer_id, branch_id, policy_version, "
              "channel, questions, occurred_at) "
              "SELECT 'it-report-asg-' || i, 'e', 'it-report-task-' || i, 1, "
              "'assigned', 'c', $1, 'p', 'phone', '{}', "
              "timestamptz '1999-01-11 00:00:00+00' FROM "
              "generate_series(1, 2) i");
    exec1(pg, "INSERT INTO grades (grade_id, event_id, outcome_id, task_id, "
              "attempt, customer_id, branch_id, verdict, disposition, "
              "satisfaction, band, evidence_ok, reason, compliance, "
              "in_due_window, policy_version, occurred_at) VALUES "
              "('it-report-g1', 'e', 'o', 'it-report-task-1', 1, 'c', $1, "
              "'success', 'answered', 5, 'satisfied', true, '', '[]', true, "
              "'p', timestamptz '1999-01-12 00:00:00+00'), "
              "('it-report-g2', 'e', 'o', 'it-report-task-2', 2, 'c', $1, "
              "'failed', 'no_answer', NULL, 'none', true, '', '[]', false, "
              "'p', timestamptz '1999-01-12 00:00:00+00')");
    exec1(pg, "INSERT INTO alerts (alert_id, event_id, grade_id, task_id, "
              "customer_id, branch_id, kind, severity, route_to, evidence, "
              "policy_version, occurred_at) VALUES ('it-report-a1', 'e', "
              "'it-report-g1', 'it-report-task-1', 'c', $1, 'A1.x', 'major', "
              "'r', 'e', 'p', timestamptz '1999-01-12 00:00:00+00')");
}

/* The whitespace-separated fields of the line starting with @p first. */
static size_t line_fields(const char *text, const char *first,
                          char fields[][32], size_t max)
{
    const char *line = text;
    size_t first_len = strlen(first);
    while (line != NULL && *line != '\0') {
        if (strncmp(line, first, first_len) == 0 && line[first_len] == ' ') {
            break;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    if (line == NULL || *line == '\0') {
        fail_msg("no line for %s in:\n%s", first, text);
    }
    size_t n = 0;
    const char *p = line;
    while (*p != '\0' && *p != '\n' && n < max) {
        while (*p == ' ') {
            p++;
        }
        size_t len = strcspn(p, " \n");
        if (len == 0) {
            break;
        }
        snprintf(fields[n++], 32, "%.*s", (int)(len < 31 ? len : 31), p);
        p += len;
    }
    return n;
}

static void test_report_prints_branch_month_rates(void **state)
{
    (void)state;
    rv_pg *pg = NULL;
    char errstr[512] = "";
    if (rv_pg_open(dsn(), &pg, errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("cannot reach PostgreSQL at RV_IT_PG_DSN: %s", errstr);
    }
    delete_branch(pg);
    insert_branch(pg);

    static char out[OUT_MAX];
    const char *argv[] = {"report", "--dsn", dsn()};
    assert_int_equal(run_report(3, argv, out, sizeof(out)), 0);
    assert_memory_equal(out, "branch ", 7);
    char f[12][32];
    assert_int_equal(line_fields(out, BRANCH, f, 12), 9);
    const char *expect[] = {BRANCH,  "1999-01", "2",     "2", "2",
                            "50.0%", "100.0%",  "50.0%", "1"};
    for (size_t i = 0; i < 9; i++) {
        assert_string_equal(f[i], expect[i]);
    }
    assert_int_equal(line_fields(out, "TOTAL", f, 12), 8); /* no month */

    /* --summary: one line, and its hash is SHA-256 over the task IDs in
     * byte order, each followed by a newline (computed here by SQL). */
    const char *sargv[] = {"report", "--summary", "--dsn", dsn()};
    assert_int_equal(run_report(4, sargv, out, sizeof(out)), 0);
    assert_memory_equal(out, "orders=", 7);
    assert_non_null(strstr(out, " tasks="));
    assert_non_null(strstr(out, " assigned="));
    assert_non_null(strstr(out, " dlq="));
    assert_int_equal(strchr(out, '\n') - out, strlen(out) - 1);
    rv_pg_result *res = NULL;
    assert_int_equal(
        rv_pg_exec(pg,
                   "SELECT encode(sha256(convert_to(coalesce(string_agg("
                   "task_id || E'\\n', '' ORDER BY task_id COLLATE \"C\"), "
                   "''), 'UTF8')), 'hex'), count(*) FROM visit_tasks",
                   0, NULL, &res, errstr, sizeof(errstr)),
        RV_OK);
    char want[128];
    snprintf(want, sizeof(want), " tasks=%s ", rv_pg_result_value(res, 0, 1));
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof(want), "tasks_sha256=%s\n",
             rv_pg_result_value(res, 0, 0));
    assert_non_null(strstr(out, want));
    rv_pg_result_free(res);
    /* sample_sha256: the same over "decision_id outcome" lines. */
    assert_int_equal(
        rv_pg_exec(pg,
                   "SELECT encode(sha256(convert_to(coalesce(string_agg("
                   "decision_id || ' ' || outcome || E'\\n', '' ORDER BY "
                   "decision_id COLLATE \"C\"), ''), 'UTF8')), 'hex') FROM "
                   "decisions",
                   0, NULL, &res, errstr, sizeof(errstr)),
        RV_OK);
    snprintf(want, sizeof(want), " sample_sha256=%s ",
             rv_pg_result_value(res, 0, 0));
    assert_non_null(strstr(out, want));
    rv_pg_result_free(res);

    delete_branch(pg);
    rv_pg_close(pg);
}

/* Issue 5: alerts by branch and kind. */
static void test_report_alerts_by_kind(void **state)
{
    (void)state;
    char errstr[512] = "";
    rv_pg *pg = NULL;
    assert_int_equal(
        rv_pg_open(getenv("RV_IT_PG_DSN"), &pg, errstr, sizeof(errstr)), RV_OK);
    delete_branch(pg);
    insert_branch(pg);
    static char out[OUT_MAX];
    const char *args[] = {"report", "--alerts", "--dsn",
                          getenv("RV_IT_PG_DSN")};
    assert_int_equal(run_report(4, args, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "branch     kind"));
    const char *line = strstr(out, "it-report  A1.x");
    assert_non_null(line);
    long alerts = -1, suspected = -1, past = -1;
    assert_int_equal(
        sscanf(line, "it-report A1.x %ld %ld %ld", &alerts, &suspected, &past),
        3);
    assert_true(alerts >= 1);
    assert_int_equal(suspected, 0);
    assert_non_null(strstr(out, "TOTAL"));
    delete_branch(pg);
    rv_pg_close(pg);
}

/* G5 (seed 002 no. 1): 10 scored visits, 6 satisfied = 60%: a warning
 * (below 70); 10 of 10: commendable (above 90); 4 of 10: severe. */
static void test_report_agent_bands(void **state)
{
    (void)state;
    char errstr[512] = "";
    rv_pg *pg = NULL;
    assert_int_equal(
        rv_pg_open(getenv("RV_IT_PG_DSN"), &pg, errstr, sizeof(errstr)), RV_OK);
    const char *del = "DELETE FROM grades WHERE grade_id LIKE 'it-band-%'";
    assert_int_equal(rv_pg_exec(pg, del, 0, NULL, NULL, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(
        rv_pg_exec(
            pg,
            "INSERT INTO grades (grade_id, event_id, outcome_id, task_id, "
            "attempt, customer_id, branch_id, agent_id, verdict, disposition,"
            " satisfaction, band, evidence_ok, reason, compliance, "
            "in_due_window, policy_version, occurred_at) "
            "SELECT 'it-band-' || a || '-' || i, 'e', 'o', 't', 1, 'c', "
            "'it-band', 'it-band-' || a, 'success', 'answered', "
            "CASE WHEN i <= k THEN 5 ELSE 3 END, "
            "CASE WHEN i <= k THEN 'satisfied' ELSE 'neutral' END, true, '', "
            "'[]', true, 'p', timestamptz '1998-02-10 00:00:00+00' "
            "FROM (VALUES ('a', 6), ('b', 10), ('c', 4)) AS v(a, k), "
            "generate_series(1, 10) AS i",
            0, NULL, NULL, errstr, sizeof(errstr)),
        RV_OK);
    char policy[1024];
    snprintf(policy, sizeof(policy), "%s/deploy/policy/default.yaml",
             getenv("RV_SOURCE_DIR") != NULL ? getenv("RV_SOURCE_DIR") : ".");
    setenv("RV_POLICY_PATH", policy, 1); /* the G5 thresholds 90/70/50 */
    static char out[OUT_MAX];
    const char *args[] = {"report", "--bands", "--dsn", getenv("RV_IT_PG_DSN")};
    assert_int_equal(run_report(4, args, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "it-band-a    1998-02        10          6 "
                                "        60.0%  warning\n"));
    assert_non_null(strstr(out, "it-band-b    1998-02        10         10 "
                                "       100.0%  commendable\n"));
    assert_non_null(strstr(out, "it-band-c    1998-02        10          4 "
                                "        40.0%  severe\n"));
    assert_int_equal(rv_pg_exec(pg, del, 0, NULL, NULL, errstr, sizeof(errstr)),
                     RV_OK);
    rv_pg_close(pg);
}

/* Issue 3: decisions per rule, by outcome, and tasks per rule. */
static void test_report_rules(void **state)
{
    (void)state;
    char errstr[512] = "";
    rv_pg *pg = NULL;
    assert_int_equal(
        rv_pg_open(getenv("RV_IT_PG_DSN"), &pg, errstr, sizeof(errstr)), RV_OK);
    const char *del = "DELETE FROM decisions WHERE rule_id LIKE 'it-rule-%'";
    const char *del_tasks =
        "DELETE FROM visit_tasks WHERE rule_id LIKE 'it-rule-%'";
    assert_int_equal(rv_pg_exec(pg, del, 0, NULL, NULL, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(
        rv_pg_exec(pg, del_tasks, 0, NULL, NULL, errstr, sizeof(errstr)),
        RV_OK);
    /* Tasks per rule: 2 of rule b (say two follow-ups), 1 of a rule with
     * no decision (an R10 spot check comes from the grader). */
    assert_int_equal(
        rv_pg_exec(pg,
                   "INSERT INTO visit_tasks (task_id, event_id, rule_id, "
                   "reasons, source_event_id, customer_id, branch_id, "
                   "store_id, priority, channel, questions, policy_version, "
                   "attempt, phone_masked, sample_u, sample_rate, "
                   "occurred_at) SELECT 'it-rule-task-' || r || i, 'e', "
                   "'it-rule-' || r, '{}', 's', 'c', 'b', 'st', 0, 'phone', "
                   "'{}', 'p', 1, '', 0.5, 0.5, "
                   "timestamptz '1998-02-10 00:00:00+00' FROM (VALUES ('b', "
                   "2), ('c', 1)) AS v(r, k), generate_series(1, 2) AS i "
                   "WHERE i <= k",
                   0, NULL, NULL, errstr, sizeof(errstr)),
        RV_OK);
    assert_int_equal(
        rv_pg_exec(pg,
                   "INSERT INTO decisions (decision_id, event_id, "
                   "source_event_id, customer_id, branch_id, rule_id, outcome,"
                   " u, rate, policy_version, reason, occurred_at) "
                   "SELECT 'it-rule-' || r || '-' || o || '-' || i, 'e', 's' "
                   "|| i, 'c', "
                   "'b', 'it-rule-' || r, o, 0.5, 0.5, 'p', 'why', "
                   "timestamptz '1998-02-10 00:00:00+00' "
                   "FROM (VALUES ('a', 'selected', 3), ('a', 'not_selected', "
                   "5), ('a', 'suppressed_cooldown', 1), ('b', 'merged', 2), "
                   "('b', 'suppressed_opt_out', 4)) AS v(r, o, k), "
                   "generate_series(1, 10) AS i WHERE i <= k",
                   0, NULL, NULL, errstr, sizeof(errstr)),
        RV_OK);
    static char out[OUT_MAX];
    const char *args[] = {"report", "--rules", "--dsn", getenv("RV_IT_PG_DSN")};
    assert_int_equal(run_report(4, args, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "rule        decisions     selected       "
                                "merged not_selected     cooldown      "
                                "opt_out        tasks\n"));
    assert_non_null(strstr(out, "it-rule-a            9            3        "
                                "    0            5            1            "
                                "0            0\n"));
    assert_non_null(strstr(out, "it-rule-b            6            0        "
                                "    2            0            0            "
                                "4            2\n"));
    assert_non_null(strstr(out, "it-rule-c            0            0        "
                                "    0            0            0            "
                                "0            1\n"));
    assert_non_null(strstr(out, "TOTAL"));
    assert_int_equal(rv_pg_exec(pg, del, 0, NULL, NULL, errstr, sizeof(errstr)),
                     RV_OK);
    assert_int_equal(
        rv_pg_exec(pg, del_tasks, 0, NULL, NULL, errstr, sizeof(errstr)),
        RV_OK);
    rv_pg_close(pg);
}

static void test_report_argument_errors(void **state)
{
    (void)state;
    static char out[OUT_MAX];
    const char *bad[] = {"report", "--bogus"};
    assert_int_equal(run_report(2, bad, out, sizeof(out)), 64);
    const char *unreachable[] = {"report", "--dsn",
                                 "host=127.0.0.1 port=1 connect_timeout=2"};
    assert_int_equal(run_report(3, unreachable, out, sizeof(out)), 1);
    const char *saved = getenv("RV_PG_DSN");
    char *copy = saved != NULL ? strdup(saved) : NULL;
    unsetenv("RV_PG_DSN");
    const char *none[] = {"report"};
    assert_int_equal(run_report(1, none, out, sizeof(out)), 78);
    if (copy != NULL) {
        setenv("RV_PG_DSN", copy, 1);
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_prints_branch_month_rates),
        cmocka_unit_test(test_report_alerts_by_kind),
        cmocka_unit_test(test_report_agent_bands),
        cmocka_unit_test(test_report_rules),
        cmocka_unit_test(test_report_argument_errors),
    };
    return cmocka_run_group_tests_name("it_revisitctl_report", tests, NULL,
                                       NULL);
}
