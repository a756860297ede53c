/* tests/integration/it_report_agents.c: `revisitctl report --agents`
 * (workers/revisitctl/report.c) against the schema on RV_IT_PG_DSN: visits
 * booked per agent and day against the roster's daily_capacity (C5,
 * issue 4). The roster is the shipped policy (RV_POLICY_PATH set to
 * deploy/policy/default.yaml); the test reads the capacities from it
 * rather than assuming them. Its rows sit under their own branch,
 * "it-agents", in February 1998, committed (the report reads through its
 * own connection) and deleted before and after. */
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
#include "rv/policy.h"

#define BRANCH "it-agents"
#define GHOST "it-agents-ghost" /* an agent the roster does not list */
#define OUT_MAX 65536
#define FIELDS_MAX 12
#define FIELD_SIZE 64

static const char *dsn(void)
{
    const char *d = getenv("RV_IT_PG_DSN");
    if (d == NULL || d[0] == '\0') {
        fail_msg("RV_IT_PG_DSN is not set: start PostgreSQL and set it");
    }
    return d;
}

/* RV_POLICY_PATH for the report, and the same policy loaded here. */
static rv_policy *use_default_policy(void)
{
    const char *src = getenv("RV_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof(path), "%s/deploy/policy/default.yaml", src);
    assert_int_equal(setenv("RV_POLICY_PATH", path, 1), 0);
    rv_policy *p = NULL;
    char errstr[512] = "";
    if (rv_policy_load(path, &p, errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("%s", errstr);
    }
    return p;
}

/* Run @p sql with the one text parameter @p p1. */
static void exec1(rv_pg *pg, const char *sql, const char *p1)
{
    const char *params[] = {p1};
    char errstr[512] = "";
    if (rv_pg_exec(pg, sql, 1, params, NULL, errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("%s: %s", sql, errstr);
    }
}

static void delete_branch(rv_pg *pg)
{
    exec1(pg, "DELETE FROM assignments WHERE branch_id = $1", BRANCH);
}

/* @p count bookings of @p agent on @p day, attempt @p attempt, status
 * @p status; IDs "it-agents-<agent>-<day>-<attempt>-<status>-<i>". */
static void book(rv_pg *pg, const char *agent, const char *day, int count,
                 int attempt, const char *status)
{
    static const char sql[] =
        "INSERT INTO assignments (assignment_id, event_id, task_id, "
        "attempt, status, customer_id, branch_id, agent_id, day, "
        "window_start, window_end, policy_version, channel, questions, "
        "occurred_at) "
        "SELECT 'it-agents-' || $2 || '-' || $3 || '-' || $4 || '-' || $5 "
        "|| '-' || i, 'e', 'it-agents-task-' || $2 || '-' || $3 || '-' || i, "
        "$4::int, $5, 'c', '" BRANCH "', $2, $3::date, "
        "$3::date + time '10:00', $3::date + time '11:30', 'p', 'phone', "
        "'{}', $3::date FROM generate_series(1, $1::int) i";
    char n[16], att[16];
    snprintf(n, sizeof(n), "%d", count);
    snprintf(att, sizeof(att), "%d", attempt);
    const char *params[] = {n, agent, day, att, status};
    char errstr[512] = "";
    if (rv_pg_exec(pg, sql, 5, params, NULL, errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("%s: %s", sql, errstr);
    }
}

/* Fields of the line whose 2nd and 3rd fields are @p agent and @p day
 * ("TOTAL" for the agent's total). Returns the field count and the line's
 * offset in @p text, or 0 and -1 if there is none. */
static size_t find_line(const char *text, const char *agent, const char *day,
                        char fields[FIELDS_MAX][FIELD_SIZE], long *at)
{
    *at = -1;
    for (const char *line = text; line != NULL && *line != '\0';) {
        size_t n = 0;
        const char *p = line;
        while (*p != '\0' && *p != '\n' && n < FIELDS_MAX) {
            while (*p == ' ') {
                p++;
            }
            size_t len = strcspn(p, " \n");
            if (len == 0) {
                break;
            }
            snprintf(fields[n++], FIELD_SIZE, "%.*s",
                     (int)(len < FIELD_SIZE - 1 ? len : FIELD_SIZE - 1), p);
            p += len;
        }
        if (n >= 3 && strcmp(fields[1], agent) == 0 &&
            strcmp(fields[2], day) == 0) {
            *at = (long)(line - text);
            return n;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return 0;
}

/* Assert the line of @p agent and @p day is exactly @p expect (@p n
 * fields); returns its offset, for order checks. */
static long expect_line(const char *out, const char *agent, const char *day,
                        const char *const *expect, size_t n)
{
    char f[FIELDS_MAX][FIELD_SIZE];
    long at = -1;
    size_t got = find_line(out, agent, day, f, &at);
    if (got == 0) {
        fail_msg("no line for %s %s in:\n%s", agent, day, out);
    }
    if (got != n) {
        fail_msg("line for %s %s has %zu fields, want %zu:\n%s", agent, day,
                 got, n, out);
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i], expect[i]) != 0) {
            fail_msg("line for %s %s: field %zu is \"%s\", want \"%s\":\n%s",
                     agent, day, i, f[i], expect[i], out);
        }
    }
    return at;
}

static void load_str(char *out, size_t size, int64_t booked, int64_t cap)
{
    snprintf(out, size, "%.1f%%", 100.0 * (double)booked / (double)cap);
}

/* Two agents of one branch in the roster: @p a, and @p b after it in
 * byte order (the report sorts by branch, agent, day). */
static void pick_agents(const rv_policy *p, const rv_agent **a,
                        const rv_agent **b)
{
    for (unsigned i = 0; i < p->agent_count; i++) {
        for (unsigned j = 0; j < p->agent_count; j++) {
            const rv_agent *x = &p->agents[i];
            const rv_agent *y = &p->agents[j];
            if (strcmp(x->branch, y->branch) == 0 && strcmp(x->id, y->id) < 0 &&
                x->daily_capacity > 0 && y->daily_capacity > 0) {
                *a = x;
                *b = y;
                return;
            }
        }
    }
    fail_msg("the policy has no two agents of one branch with capacity");
}

static void test_report_agents_booked_against_capacity(void **state)
{
    (void)state;
    rv_policy *p = use_default_policy();
    const rv_agent *a = NULL;
    const rv_agent *b = NULL;
    pick_agents(p, &a, &b);
    int64_t cap_a = a->daily_capacity;
    int64_t cap_b = b->daily_capacity;
    rv_pg *pg = NULL;
    char errstr[512] = "";
    if (rv_pg_open(dsn(), &pg, errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("cannot reach PostgreSQL at RV_IT_PG_DSN: %s", errstr);
    }
    delete_branch(pg);
    /* February 1998: agent a one over capacity on the 2nd (must never
     * happen: flagged), 3 on the 3rd of which one second attempt (C2: a
     * booking too); b one on the 2nd; an agent the roster lacks. Not
     * counted: an unassigned row, days just outside the month. */
    book(pg, a->id, "1998-02-02", (int)cap_a + 1, 1, "assigned");
    book(pg, a->id, "1998-02-03", 2, 1, "assigned");
    book(pg, a->id, "1998-02-03", 1, 2, "assigned");
    book(pg, a->id, "1998-02-03", 4, 1, "unassigned");
    book(pg, b->id, "1998-02-02", 1, 1, "assigned");
    book(pg, GHOST, "1998-02-27", 2, 1, "assigned");
    book(pg, a->id, "1998-01-31", 1, 1, "assigned");
    book(pg, a->id, "1998-03-01", 1, 1, "assigned");

    static char out[OUT_MAX];
    const char *args[] = {"report",  "--agents", "--month",
                          "1998-02", "--dsn",    dsn()};
    /* Exit status 1: a day is over capacity. */
    assert_int_equal(run_report(6, args, out, sizeof(out)), 1);
    assert_memory_equal(out, "branch ", 7);
    char booked[24], cap[24], load[24], load2[24], total_cap[24],
        total_load[24], max[40];
    snprintf(booked, sizeof(booked), "%lld", (long long)(cap_a + 1));
    snprintf(cap, sizeof(cap), "%lld", (long long)cap_a);
    load_str(load, sizeof(load), cap_a + 1, cap_a);
    const char *a1[] = {a->branch, a->id, "1998-02-02", booked, cap, load, "!"};
    long at_a1 = expect_line(out, a->id, "1998-02-02", a1, 7);
    load_str(load2, sizeof(load2), 3, cap_a);
    const char *a2[] = {a->branch, a->id, "1998-02-03", "3", cap, load2};
    long at_a2 = expect_line(out, a->id, "1998-02-03", a2, 6);
    snprintf(booked, sizeof(booked), "%lld", (long long)(cap_a + 4));
    snprintf(total_cap, sizeof(total_cap), "%lld", (long long)(2 * cap_a));
    load_str(total_load, sizeof(total_load), cap_a + 4, 2 * cap_a);
    snprintf(max, sizeof(max), "max=%s", load);
    const char *at[] = {a->branch,  a->id,    "TOTAL", booked, total_cap,
                        total_load, "days=2", max,     "!"};
    long at_at = expect_line(out, a->id, "TOTAL", at, 9);

    snprintf(cap, sizeof(cap), "%lld", (long long)cap_b);
    load_str(load, sizeof(load), 1, cap_b);
    snprintf(max, sizeof(max), "max=%s", load);
    const char *b1[] = {b->branch, b->id, "1998-02-02", "1", cap, load};
    long at_b1 = expect_line(out, b->id, "1998-02-02", b1, 6);
    const char *bt[] = {b->branch, b->id, "TOTAL",  "1",
                        cap,       load,  "days=1", max};
    long at_bt = expect_line(out, b->id, "TOTAL", bt, 8);

    /* Not in the roster: the booked branch, capacity and load unknown. */
    const char *g1[] = {BRANCH, GHOST, "1998-02-27", "2", "-", "-"};
    long at_g1 = expect_line(out, GHOST, "1998-02-27", g1, 6);
    const char *gt[] = {BRANCH, GHOST, "TOTAL",  "2",
                        "-",    "-",   "days=1", "max=-"};
    long at_gt = expect_line(out, GHOST, "TOTAL", gt, 8);

    /* Sorted by branch, agent, day; each total after its agent's days. */
    assert_true(at_a1 < at_a2 && at_a2 < at_at && at_at < at_b1 &&
                at_b1 < at_bt);
    assert_true(at_g1 < at_gt);
    if (strcmp(a->branch, BRANCH) < 0) {
        assert_true(at_bt < at_g1);
    } else {
        assert_true(at_gt < at_a1);
    }
    /* The days outside the month are not shown. */
    char f[FIELDS_MAX][FIELD_SIZE];
    long none = 0;
    assert_int_equal(find_line(out, a->id, "1998-01-31", f, &none), 0);
    assert_int_equal(find_line(out, a->id, "1998-03-01", f, &none), 0);

    /* Back to capacity: exactly full, no flag, exit 0. */
    exec1(pg,
          "DELETE FROM assignments WHERE assignment_id = "
          "'it-agents-' || $1 || '-1998-02-02-1-assigned-1'",
          a->id);
    assert_int_equal(run_report(6, args, out, sizeof(out)), 0);
    snprintf(booked, sizeof(booked), "%lld", (long long)cap_a);
    snprintf(cap, sizeof(cap), "%lld", (long long)cap_a);
    const char *full[] = {a->branch, a->id, "1998-02-02",
                          booked,    cap,   "100.0%"};
    expect_line(out, a->id, "1998-02-02", full, 6);
    assert_null(strchr(out, '!'));

    /* Without --month every day shows, those around February too. */
    const char *all[] = {"report", "--agents", "--dsn", dsn()};
    (void)run_report(4, all, out, sizeof(out));
    load_str(load, sizeof(load), 1, cap_a);
    const char *jan[] = {a->branch, a->id, "1998-01-31", "1", cap, load};
    expect_line(out, a->id, "1998-01-31", jan, 6);
    const char *mar[] = {a->branch, a->id, "1998-03-01", "1", cap, load};
    expect_line(out, a->id, "1998-03-01", mar, 6);

    delete_branch(pg);
    rv_pg_close(pg);
    rv_policy_free(p);
}

static void test_report_agents_argument_errors(void **state)
{
    (void)state;
    static char out[OUT_MAX];
    rv_policy_free(use_default_policy());
    const char *bad_month[] = {"report",  "--agents", "--month",
                               "1998-13", "--dsn",    dsn()};
    assert_int_equal(run_report(6, bad_month, out, sizeof(out)), 64);
    const char *short_month[] = {"report", "--agents", "--month=1998-2",
                                 "--dsn", dsn()};
    assert_int_equal(run_report(5, short_month, out, sizeof(out)), 64);
    const char *month_alone[] = {"report", "--month", "1998-02", "--dsn",
                                 dsn()};
    assert_int_equal(run_report(5, month_alone, out, sizeof(out)), 64);
    const char *both[] = {"report", "--agents", "--summary", "--dsn", dsn()};
    assert_int_equal(run_report(5, both, out, sizeof(out)), 64);
    /* A policy that does not load is a config error (EX_CONFIG). */
    assert_int_equal(setenv("RV_POLICY_PATH", "/nonexistent/policy.yaml", 1),
                     0);
    const char *agents[] = {"report", "--agents", "--dsn", dsn()};
    assert_int_equal(run_report(4, agents, out, sizeof(out)), 78);
    rv_policy_free(use_default_policy());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_agents_booked_against_capacity),
        cmocka_unit_test(test_report_agents_argument_errors),
    };
    return cmocka_run_group_tests_name("it_report_agents", tests, NULL, NULL);
}
