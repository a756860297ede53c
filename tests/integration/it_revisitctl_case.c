/* tests/integration/it_revisitctl_case.c: `revisitctl case list|show|
 * answer|close` and `revisitctl report --cases` (workers/revisitctl/
 * cmd_case.c, report.c), the binary run as a process against the local
 * stack: PostgreSQL (RV_IT_PG_DSN) and the broker (RV_IT_KAFKA_BROKERS).
 *
 * The reading half commits cases, alerts and case events of its own
 * branch "it-case" (IDs "it-case-*", January 2016) and deletes them again
 * before and after, then compares whole outputs at a fixed --now. The
 * writing half uses IDs of this run (the topic keeps earlier runs'
 * messages), reads compliance.cases back with a group of its own and
 * runs the recorder on that topic alone to see the record. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "it_common.h"

#include "rv/cfg.h"
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/pg.h"

#define BRANCH "it-case"
#define NOW "2016-01-08T00:00:00Z"
#define OUT_MAX 65536
#define WAIT_S 60

static const char *need(const char *name)
{
    return it_need("it_revisitctl_case", name);
}

/* revisitctl with @p args (it_run_ctl), OUT_MAX bytes of output each. */
static int run_ctl(const char *const *args, char *out, char *err)
{
    return it_run_ctl(need("RV_BUILD_DIR"), args, out, err, OUT_MAX);
}

static void exec_sql(rv_pg *pg, const char *sql)
{
    char errstr[512] = "";
    if (rv_pg_exec(pg, sql, 0, NULL, NULL, errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("%s: %s", sql, errstr);
    }
}

static rv_pg *open_pg(void)
{
    rv_pg *pg = NULL;
    char errstr[512] = "";
    if (rv_pg_open(need("RV_IT_PG_DSN"), &pg, errstr, sizeof(errstr)) !=
        RV_OK) {
        fail_msg("cannot reach PostgreSQL at RV_IT_PG_DSN: %s", errstr);
    }
    return pg;
}

/* ---- reading: list, show, report --cases ------------------------------ */

static void delete_fixture(rv_pg *pg)
{
    exec_sql(pg, "DELETE FROM case_events WHERE case_id LIKE 'it-case-%'");
    exec_sql(pg, "DELETE FROM alerts WHERE case_id LIKE 'it-case-%'");
}

/* Six cases of branch it-case, seen at NOW (2016-01-08T00:00:00Z):
 *   1  A1, 3 alerts + escalation, deadline 01-07 10:00, open: overdue
 *   2  A1, 1 alert, deadline 01-12, open: not yet due
 *   3  G4, 1 alert + escalation, deadline 01-06, answered 01-07: late
 *   4  G4, 2 alerts, answered and closed before its deadline
 *   5  G4, 1 alert, no deadline (a branch the calendar lacks), open
 *   6  A1, 1 alert, deadline as 2's, open: after 2 by its ID */
static void insert_fixture(rv_pg *pg)
{
    /* The cases view takes a case's fields from its earliest alert;
     * every alert of a case here carries the case's fields. (case,
     * alert number, kind, suspected, evidence, occurred) x (case: customer,
     * store, salesperson, severity, route, notify, deadline). */
    exec_sql(pg,
             "INSERT INTO alerts (alert_id, event_id, grade_id, task_id, "
             "customer_id, branch_id, store_id, salesperson_id, kind, "
             "severity, route_to, notify, evidence, policy_version, "
             "occurred_at, deadline, case_id, suspected) "
             "SELECT v.c || '-a' || v.n, 'e', 'g', 't', k.cust, 'it-case', "
             "k.store, k.sp, v.k, k.sev, k.route, k.notify, v.ev, 'v1', "
             "v.t::timestamptz, CASE WHEN v.k = 'escalation' THEN NULL ELSE "
             "k.deadline::timestamptz END, v.c, v.s "
             "FROM (VALUES "
             "('it-case-1', 1, 'A1.password_known', false, 'q1=yes', "
             "'2016-01-04 02:00Z'), "
             "('it-case-1', 2, 'A1.password_known', true, "
             "E'notes: \xe7\x9f\xa5\xe9\x81\x93\xe5\xaf\x86\xe7\xa0\x81\\nline "
             "2', '2016-01-05 02:00Z'), "
             "('it-case-1', 3, 'A1.password_known', false, 'q1=yes', "
             "'2016-01-06 02:00Z'), "
             "('it-case-1', 4, 'escalation', false, 'not answered', "
             "'2016-01-07 10:00Z'), "
             "('it-case-2', 1, 'A1.password_known', false, 'q1=yes', "
             "'2016-01-06 02:00Z'), "
             "('it-case-3', 1, 'G4.issue', false, 'too slow', "
             "'2016-01-01 02:00Z'), "
             "('it-case-3', 2, 'escalation', false, 'not answered', "
             "'2016-01-06 10:00Z'), "
             "('it-case-4', 1, 'G4.issue', false, 'noisy', "
             "'2016-01-04 03:00Z'), "
             "('it-case-4', 2, 'G4.issue', false, 'noisy again', "
             "'2016-01-05 03:00Z'), "
             "('it-case-5', 1, 'G4.issue', false, 'late delivery', "
             "'2016-01-05 03:00Z'), "
             "('it-case-6', 1, 'A1.password_known', false, 'q1=yes', "
             "'2016-01-06 03:00Z')) AS v(c, n, k, s, ev, t) "
             "JOIN (VALUES "
             "('it-case-1', 'c1', 's1', 'p1', 'major', "
             "'branch_operations_director', 'manager', '2016-01-07 10:00Z'), "
             "('it-case-2', 'c2', 's1', NULL, 'major', "
             "'branch_operations_director', 'manager', '2016-01-12 10:00Z'), "
             "('it-case-3', 'c3', NULL, NULL, 'general', "
             "'branch_service_manager', 'assistant', '2016-01-06 10:00Z'), "
             "('it-case-4', 'c4', NULL, NULL, 'general', "
             "'branch_service_manager', 'assistant', '2016-01-08 10:00Z'), "
             "('it-case-5', 'c5', NULL, NULL, 'general', "
             "'branch_service_manager', 'assistant', NULL), "
             "('it-case-6', 'c6', NULL, NULL, 'major', "
             "'branch_operations_director', 'manager', '2016-01-12 10:00Z')) "
             "AS k(c, cust, store, sp, sev, route, notify, deadline) "
             "USING (c)");
    exec_sql(pg, "INSERT INTO case_events (event_id, case_id, action, actor, "
                 "text, occurred_at) VALUES "
                 "('it-case-e1', 'it-case-3', 'answer', 'manager:wang', "
                 "'called back, resolved', '2016-01-07 01:00Z'), "
                 "('it-case-e2', 'it-case-4', 'answer', 'manager:wang', "
                 "'fixed', '2016-01-05 04:00Z'), "
                 "('it-case-e3', 'it-case-4', 'close', 'compliance:li', "
                 "'agreed', '2016-01-06 04:00Z')");
}

#define LIST_HEAD                                                              \
    "case_id    branch   kind               severity  count  opened       "    \
    "         deadline              status    flags\n"
#define L1                                                                     \
    "it-case-1  it-case  A1.password_known  major         3  "                 \
    "2016-01-04T02:00:00Z  2016-01-07T10:00:00Z  open      "
#define L2                                                                     \
    "it-case-2  it-case  A1.password_known  major         1  "                 \
    "2016-01-06T02:00:00Z  2016-01-12T10:00:00Z  open      -\n"
#define L3                                                                     \
    "it-case-3  it-case  G4.issue           general       1  "                 \
    "2016-01-01T02:00:00Z  2016-01-06T10:00:00Z  answered  "                   \
    "escalated,answered_late\n"
#define L4                                                                     \
    "it-case-4  it-case  G4.issue           general       2  "                 \
    "2016-01-04T03:00:00Z  2016-01-08T10:00:00Z  closed    -\n"
#define L5                                                                     \
    "it-case-5  it-case  G4.issue           general       1  "                 \
    "2016-01-05T03:00:00Z  -                     open      -\n"
#define L6                                                                     \
    "it-case-6  it-case  A1.password_known  major         1  "                 \
    "2016-01-06T03:00:00Z  2016-01-12T10:00:00Z  open      -\n"

/* Widths follow the data shown: with G4.issue alone, "kind" is 8 wide. */
#define LIST_HEAD_G4                                                           \
    "case_id    branch   kind      severity  count  opened                "    \
    "deadline              status    flags\n"
#define L3_G4                                                                  \
    "it-case-3  it-case  G4.issue  general       1  2016-01-01T02:00:00Z  "    \
    "2016-01-06T10:00:00Z  answered  escalated,answered_late\n"
#define L4_G4                                                                  \
    "it-case-4  it-case  G4.issue  general       2  2016-01-04T03:00:00Z  "    \
    "2016-01-08T10:00:00Z  closed    -\n"

/* Every case of the branch, A3 order: count, deadline (none last), id;
 * overdue only for the open case past its deadline at --now. */
static void test_case_list(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    delete_fixture(pg);
    insert_fixture(pg);
    static char out[OUT_MAX], err[OUT_MAX];
    const char *dsn = need("RV_IT_PG_DSN");

    const char *all[] = {"case", "list",  "--branch", BRANCH, "--now",
                         NOW,    "--dsn", dsn,        NULL};
    assert_int_equal(run_ctl(all, out, err), 0);
    assert_string_equal(out, LIST_HEAD L1 "overdue,escalated\n" L4 L3 L2 L6 L5);

    /* Before case 1's deadline it is not overdue, still escalated. */
    const char *before[] = {"case",     "list",
                            "--branch", BRANCH,
                            "--now",    "2016-01-07T09:59:59Z",
                            "--kind",   "A1.password_known",
                            "--dsn",    dsn,
                            NULL};
    assert_int_equal(run_ctl(before, out, err), 0);
    assert_string_equal(out, LIST_HEAD L1 "escalated\n" L2 L6);

    const char *overdue[] = {"case",     "list",    "--branch", BRANCH,
                             "--status", "overdue", "--now",    NOW,
                             "--dsn",    dsn,       NULL};
    assert_int_equal(run_ctl(overdue, out, err), 0);
    assert_string_equal(out, LIST_HEAD L1 "overdue,escalated\n");

    const char *answered[] = {"case",     "list",     "--branch", BRANCH,
                              "--status", "answered", "--now",    NOW,
                              "--dsn",    dsn,        NULL};
    assert_int_equal(run_ctl(answered, out, err), 0);
    assert_string_equal(out, LIST_HEAD_G4 L3_G4);

    const char *closed[] = {"case",     "list",   "--branch", BRANCH,
                            "--status", "closed", "--now",    NOW,
                            "--dsn",    dsn,      NULL};
    assert_int_equal(run_ctl(closed, out, err), 0);
    assert_string_equal(out, LIST_HEAD_G4 L4_G4);

    const char *limit[] = {"case",  "list",    "--branch", BRANCH,  "--status",
                           "open",  "--limit", "2",        "--now", NOW,
                           "--dsn", dsn,       NULL};
    assert_int_equal(run_ctl(limit, out, err), 0);
    assert_string_equal(out, LIST_HEAD L1 "overdue,escalated\n" L2);

    delete_fixture(pg);
    rv_pg_close(pg);
}

static void test_case_show(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    delete_fixture(pg);
    insert_fixture(pg);
    static char out[OUT_MAX], err[OUT_MAX];
    const char *dsn = need("RV_IT_PG_DSN");

    const char *show1[] = {"case", "show",  "it-case-1", "--now",
                           NOW,    "--dsn", dsn,         NULL};
    assert_int_equal(run_ctl(show1, out, err), 0);
    assert_string_equal(
        out, "case_id      it-case-1\n"
             "customer     c1\n"
             "branch       it-case\n"
             "store        s1\n"
             "salesperson  p1\n"
             "kind         A1.password_known\n"
             "severity     major\n"
             "route_to     branch_operations_director\n"
             "notify       manager\n"
             "policy       v1\n"
             "count        3\n"
             "status       open\n"
             "flags        overdue,escalated\n"
             "opened       2016-01-04T02:00:00Z\n"
             "deadline     2016-01-07T10:00:00Z\n"
             "answered     -\n"
             "closed       -\n"
             "escalated    2016-01-07T10:00:00Z\n"
             "alerts (4):\n"
             "  2016-01-04T02:00:00Z  it-case-1-a1  A1.password_known  "
             "confirmed  q1=yes\n"
             /* a newline in the evidence cannot start a line */
             "  2016-01-05T02:00:00Z  it-case-1-a2  A1.password_known  "
             "suspected  notes: \xe7\x9f\xa5\xe9\x81\x93\xe5\xaf\x86\xe7\xa0"
             "\x81\\nline 2\n"
             "  2016-01-06T02:00:00Z  it-case-1-a3  A1.password_known  "
             "confirmed  q1=yes\n"
             "  2016-01-07T10:00:00Z  it-case-1-a4  escalation         "
             "confirmed  not answered\n"
             "events (0):\n");

    const char *show4[] = {"case", "show",  "it-case-4", "--now",
                           NOW,    "--dsn", dsn,         NULL};
    assert_int_equal(run_ctl(show4, out, err), 0);
    assert_non_null(strstr(out, "status       closed\n"
                                "flags        -\n"));
    assert_non_null(strstr(out, "answered     2016-01-05T04:00:00Z\n"
                                "closed       2016-01-06T04:00:00Z\n"
                                "escalated    -\n"));
    assert_non_null(strstr(out, "events (2):\n"
                                "  2016-01-05T04:00:00Z  answer  "
                                "manager:wang   fixed\n"
                                "  2016-01-06T04:00:00Z  close   "
                                "compliance:li  agreed\n"));

    const char *none[] = {"case", "show", "it-case-none", "--dsn", dsn, NULL};
    assert_int_equal(run_ctl(none, out, err), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "no case \"it-case-none\""));

    delete_fixture(pg);
    rv_pg_close(pg);
}

static void test_report_cases(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    delete_fixture(pg);
    insert_fixture(pg);
    static char out[OUT_MAX], err[OUT_MAX];
    const char *dsn = need("RV_IT_PG_DSN");
    const char *args[] = {"report", "--cases", "--branch", BRANCH, "--now",
                          NOW,      "--dsn",   dsn,        NULL};
    assert_int_equal(run_ctl(args, out, err), 0);
    assert_string_equal(
        out, "kind                cases    open  answered  closed  overdue  "
             "escalated\n"
             "A1.password_known       3       3         0       0        1  "
             "        1\n"
             "G4.issue                3       1         1       1        0  "
             "        1\n"
             "TOTAL                   6       4         1       1        1  "
             "        2\n");
    /* Past every deadline: the open case without one is never overdue. */
    const char *later[] = {"report", "--cases", "--branch",
                           BRANCH,   "--now",   "2030-01-01T00:00:00Z",
                           "--dsn",  dsn,       NULL};
    assert_int_equal(run_ctl(later, out, err), 0);
    assert_non_null(strstr(out, "TOTAL                   6       4         1"
                                "       1        3          2\n"));
    const char *bad[] = {"report", "--cases", "--now", "2016-01-08", NULL};
    assert_int_equal(run_ctl(bad, out, err), 64);
    const char *alone[] = {"report", "--now", NOW, "--dsn", dsn, NULL};
    assert_int_equal(run_ctl(alone, out, err), 64);
    delete_fixture(pg);
    rv_pg_close(pg);
}

static void test_case_argument_errors(void **state)
{
    (void)state;
    static char out[OUT_MAX], err[OUT_MAX];
    const char *dsn = need("RV_IT_PG_DSN");
    const char *status[] = {"case",  "list", "--status", "late",
                            "--dsn", dsn,    NULL};
    assert_int_equal(run_ctl(status, out, err), 64);
    const char *limit[] = {"case", "list", "--limit", "0", NULL};
    assert_int_equal(run_ctl(limit, out, err), 64);
    const char *now[] = {"case", "list", "--now", "2016-01-08T24:00:00Z", NULL};
    assert_int_equal(run_ctl(now, out, err), 64);
    const char *no_text[] = {"case", "answer", "x", "--by", "a", NULL};
    assert_int_equal(run_ctl(no_text, out, err), 64);
    const char *no_id[] = {"case", "show", NULL};
    assert_int_equal(run_ctl(no_id, out, err), 64);
    const char *empty[] = {"case",   "answer", "x",     "--by", "",
                           "--text", "t",      "--dsn", dsn,    NULL};
    assert_int_equal(run_ctl(empty, out, err), 64);
    assert_non_null(strstr(err, "actor is empty"));
    const char *not_utf8[] = {"case",      "close", "x",     "--by", "a",
                              "--opinion", "\xff",  "--dsn", dsn,    NULL};
    assert_int_equal(run_ctl(not_utf8, out, err), 64);
    assert_non_null(strstr(err, "not UTF-8"));
    static char long_text[RV_NOTES_SIZE + 1];
    memset(long_text, 'x', RV_NOTES_SIZE);
    const char *too_long[] = {"case",   "answer",  "x",     "--by", "a",
                              "--text", long_text, "--dsn", dsn,    NULL};
    assert_int_equal(run_ctl(too_long, out, err), 64);
    assert_non_null(strstr(err, "text has 1024 bytes, limit 1023"));
    const char *help[] = {"case", "--help", NULL};
    assert_int_equal(run_ctl(help, out, err), 0);
    assert_non_null(strstr(out, "revisitctl case answer CASE_ID"));
    const char *top[] = {"--help", NULL};
    assert_int_equal(run_ctl(top, out, err), 0);
    assert_non_null(strstr(out, "  case list "));
    assert_non_null(strstr(out, "  report --cases "));
}

/* ---- writing: answer, close ------------------------------------------- */

typedef struct seen {
    size_t count;       /* messages keyed by the case */
    size_t other_count; /* with another event ID than expected */
    rv_case_event last;
} seen;

/* Read compliance.cases from the start with a group of this run until
 * @p want messages keyed @p keys[0] arrived, then 3 s more; count the
 * messages of each of the @p key_count keys into @p seen[]. */
static void read_cases(const char *group, const char *const *keys,
                       size_t key_count, const char *want_event_id, size_t want,
                       seen *out)
{
    char name[] = "bootstrap.servers";
    char value[512];
    snprintf(value, sizeof(value), "%s", need("RV_IT_KAFKA_BROKERS"));
    char *names[] = {name};
    char *values[] = {value};
    rv_props kafka = {1, names, values};
    const char *topics[] = {"compliance.cases"};
    rv_consumer *kc = NULL;
    char errstr[512] = "";
    if (rv_consumer_open(&kafka, group, topics, 1, &kc, errstr,
                         sizeof(errstr)) != RV_OK) {
        fail_msg("consumer: %s", errstr);
    }
    time_t deadline = time(NULL) + WAIT_S;
    time_t quiet_until = 0;
    while (time(NULL) < deadline &&
           (quiet_until == 0 || time(NULL) < quiet_until)) {
        const rv_msg *msgs = NULL;
        size_t count = 0;
        assert_int_equal(rv_consumer_poll_batch(kc, 100, 500, &msgs, &count),
                         RV_OK);
        for (size_t i = 0; i < count; i++) {
            for (size_t k = 0; k < key_count; k++) {
                size_t len = strlen(keys[k]);
                if (msgs[i].key_len != len ||
                    memcmp(msgs[i].key, keys[k], len) != 0) {
                    continue;
                }
                out[k].count++;
                rv_case_event e;
                assert_int_equal(
                    rv_codec_decode_case_event(msgs[i].payload, msgs[i].len, &e,
                                               errstr, sizeof(errstr)),
                    RV_OK);
                if (strcmp(e.env.event_id, want_event_id) != 0) {
                    out[k].other_count++;
                }
                out[k].last = e;
            }
        }
        rv_consumer_release_batch(kc);
        if (quiet_until == 0 && out[0].count >= want) {
            quiet_until = time(NULL) + 3;
        }
    }
    rv_consumer_close(kc);
}

/* Record compliance.cases with the recorder (a group of this run, that
 * topic only) until @p case_id has @p want events in case_events. */
static void record_cases(rv_pg *pg, const char *nonce, const char *case_id,
                         long want)
{
    char group[128];
    snprintf(group, sizeof(group), "it-case-recorder-%s", nonce);
    const char *const settings[] = {
        "RV_PG_DSN", need("RV_IT_PG_DSN"), "RV_GROUP_ID", group,
        "RV_TOPICS", "compliance.cases",   NULL,
    };
    pid_t pid = it_spawn_worker_env(need("RV_BUILD_DIR"), "it_revisitctl_case",
                                    "recorder", settings);
    const char *params[] = {case_id};
    long have = -1;
    for (int i = 0; i < WAIT_S * 4 && have < want; i++) {
        rv_pg_result *res = NULL;
        char errstr[512] = "";
        assert_int_equal(rv_pg_exec(pg,
                                    "SELECT count(*) FROM case_events "
                                    "WHERE case_id = $1",
                                    1, params, &res, errstr, sizeof(errstr)),
                         RV_OK);
        have = strtol(rv_pg_result_value(res, 0, 0), NULL, 10);
        rv_pg_result_free(res);
        if (have < want) {
            it_sleep_ms(250);
        }
    }
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(have, want);
}

static void derive(char out[RV_ID_SIZE], const char *case_id,
                   const char *action, const char *actor, const char *text)
{
    const char *parts[] = {case_id, action, actor, text};
    rv_id_derive(out, 4, parts);
}

/* A2: answer twice = one fact; unknown case and close before an answer
 * are refused and send nothing; close after the recorded answer. */
static void test_case_answer_and_close(void **state)
{
    (void)state;
    char nonce[32];
    snprintf(nonce, sizeof(nonce), "%ld-%d", (long)time(NULL), (int)getpid());
    char answered[64], unanswered[64], unknown[64]; /* < RV_ID_SIZE used */
    snprintf(answered, sizeof(answered), "itk-%s-a", nonce);
    snprintf(unanswered, sizeof(unanswered), "itk-%s-b", nonce);
    snprintf(unknown, sizeof(unknown), "itk-%s-x", nonce);
    rv_pg *pg = open_pg();
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "INSERT INTO alerts (alert_id, event_id, grade_id, task_id, "
             "customer_id, branch_id, kind, severity, route_to, evidence, "
             "policy_version, occurred_at, deadline, case_id) "
             "SELECT c || '-a1', 'e', 'g', 't', 'c', 'it-case-k', "
             "'A1.password_known', 'major', 'r', 'q1=yes', 'v1', "
             "'2016-01-04 02:00Z', '2016-01-07 10:00Z', c "
             "FROM (VALUES ('%s'), ('%s')) AS v(c)",
             answered, unanswered);
    exec_sql(pg, sql);
    static char out[OUT_MAX], err[OUT_MAX];
    const char *dsn = need("RV_IT_PG_DSN");
    const char *text = "\xe8\x87\xaa\xe6\x9f\xa5\xe5\xae\x8c\xe6\x88\x90: "
                       "no violation found";

    const char *no_case[] = {"case",   "answer", unknown, "--by", "ops:zhang",
                             "--text", text,     "--dsn", dsn,    NULL};
    assert_int_equal(run_ctl(no_case, out, err), 1);
    assert_non_null(strstr(err, "no case"));
    const char *early[] = {
        "case",      "close", unanswered, "--by", "compliance:li",
        "--opinion", "ok",    "--dsn",    dsn,    NULL};
    assert_int_equal(run_ctl(early, out, err), 1);
    assert_non_null(strstr(err, "has no answer in the record yet"));
    /* An answer dated before the case opened (2016-01-04 02:00). */
    const char *before[] = {"case",  "answer",    unanswered,
                            "--by",  "ops:zhang", "--text",
                            "t",     "--at",      "1995-01-01T00:00:00Z",
                            "--dsn", dsn,         NULL};
    assert_int_equal(run_ctl(before, out, err), 1);
    assert_non_null(strstr(err, "opened at 2016-01-04T02:00:00Z: an answer "
                                "at 1995-01-01T00:00:00Z would come before "
                                "it; nothing sent"));

    char event_id[RV_ID_SIZE];
    derive(event_id, answered, "answer", "ops:zhang", text);
    char want[256];
    snprintf(want, sizeof(want),
             "answer: case=%s event=%s at=2016-01-06T08:00:00Z delivered to "
             "compliance.cases\n",
             answered, event_id);
    const char *answer[] = {"case",  "answer",    answered,
                            "--by",  "ops:zhang", "--text",
                            text,    "--at",      "2016-01-06T08:00:00Z",
                            "--dsn", dsn,         NULL};
    for (int run = 0; run < 2; run++) {
        assert_int_equal(run_ctl(answer, out, err), 0);
        assert_string_equal(out, want);
    }

    /* On the topic: both copies carry the one derived ID; nothing for
     * the refused commands. */
    char group[128];
    snprintf(group, sizeof(group), "it-case-read-%s", nonce);
    const char *keys[] = {answered, unanswered, unknown};
    seen got[3];
    memset(got, 0, sizeof(got));
    read_cases(group, keys, 3, event_id, 2, got);
    assert_int_equal(got[0].count, 2);
    assert_int_equal(got[0].other_count, 0);
    assert_int_equal(got[1].count, 0);
    assert_int_equal(got[2].count, 0);
    const rv_case_event *e = &got[0].last;
    assert_int_equal(e->action, RV_CASE_ANSWER);
    assert_string_equal(e->case_id, answered);
    assert_string_equal(e->actor, "ops:zhang");
    assert_string_equal(e->text, text);
    assert_int_equal(e->env.occurred_at_us, 1452067200000000LL);
    assert_memory_equal(e->env.producer, "revisitctl/", 11);
    assert_string_equal(e->env.causation_id, "");

    /* In the record: one event, and now the case may be closed. */
    record_cases(pg, nonce, answered, 1);
    const char *close[] = {"case",
                           "close",
                           answered,
                           "--by",
                           "compliance:li",
                           "--opinion",
                           "agreed",
                           "--at",
                           "2016-01-07T08:00:00Z",
                           "--dsn",
                           dsn,
                           NULL};
    assert_int_equal(run_ctl(close, out, err), 0);
    derive(event_id, answered, "close", "compliance:li", "agreed");
    assert_non_null(strstr(out, event_id));
    record_cases(pg, nonce, answered, 2);
    const char *show[] = {"case", "show", answered, "--dsn", dsn, NULL};
    assert_int_equal(run_ctl(show, out, err), 0);
    assert_non_null(strstr(out, "status       closed\n"));
    assert_non_null(strstr(out, "answered     2016-01-06T08:00:00Z\n"
                                "closed       2016-01-07T08:00:00Z\n"));

    /* Closed: the same answer and close again are the same facts, as
     * before; another answer or close is refused and adds nothing. */
    assert_int_equal(run_ctl(answer, out, err), 0);
    assert_int_equal(run_ctl(close, out, err), 0);
    const char *more[] = {"case",   "answer", answered, "--by", "ops:zhang",
                          "--text", "more",   "--dsn",  dsn,    NULL};
    assert_int_equal(run_ctl(more, out, err), 1);
    assert_non_null(strstr(err, "was closed at 2016-01-07T08:00:00Z"));
    const char *reopen[] = {
        "case",      "close",   answered, "--by", "compliance:li",
        "--opinion", "changed", "--dsn",  dsn,    NULL};
    assert_int_equal(run_ctl(reopen, out, err), 1);
    assert_non_null(strstr(err, "was closed at"));

    snprintf(sql, sizeof(sql),
             "DELETE FROM alerts WHERE case_id IN ('%s', '%s')", answered,
             unanswered);
    exec_sql(pg, sql);
    snprintf(sql, sizeof(sql), "DELETE FROM case_events WHERE case_id = '%s'",
             answered);
    exec_sql(pg, sql);
    rv_pg_close(pg);
}

static int setup(void **state)
{
    (void)state;
    /* The binary's broker; the database goes by --dsn. */
    const char *brokers = getenv("RV_IT_KAFKA_BROKERS");
    if (brokers == NULL || brokers[0] == '\0') {
        fprintf(stderr, "RV_IT_KAFKA_BROKERS is not set: run through "
                        "deploy/local/test.sh\n");
        return -1;
    }
    setenv("RV_KAFKA_BOOTSTRAP_SERVERS", brokers, 1);
    unsetenv("RV_PG_DSN");
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_list),
        cmocka_unit_test(test_case_show),
        cmocka_unit_test(test_report_cases),
        cmocka_unit_test(test_case_argument_errors),
        cmocka_unit_test(test_case_answer_and_close),
    };
    return cmocka_run_group_tests_name("it_revisitctl_case", tests, setup,
                                       NULL);
}
