/* tests/integration/it_replay_export.c: `revisitctl replay export` and
 * `replay report` (issue 7) against a live pipeline on the local stack.
 * 40 sales of July 2003 (a range no other test uses; customers unique to
 * the run) go through every worker. Then: every topic's export has
 * exactly as many rows as the record has for the range, phones masked,
 * the same bytes twice, in NDJSON and CSV; --reveal is refused (exit 77)
 * to a plain PostgreSQL role and allowed once it is granted
 * revisit_reveal; the report's counts equal the record's, it quotes the
 * verify output, gives the same bytes twice, shows an alert's whole
 * chain back to its sale and lists a fake alert as broken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "it_stack.h"
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/pg.h"

#define WORKER_COUNT 6
static const char *const workers[WORKER_COUNT] = {
    "sampler", "assigner", "agentsim", "grader", "alerter", "recorder"};
/* Sales on July 1..20; their visits and alerts fall before September. */
#define FROM "2003-07-01T00:00:00Z"
#define TO "2003-09-01T00:00:00Z"
#define SALES 40
#define PLAIN_ROLE "rv_it_export_plain"

static struct {
    const char *build_dir;
    const char *dsn;
    char nonce[32];
    int phone_base;
    pid_t pids[WORKER_COUNT];
    rv_producer *kp;
    rv_pg *pg;
    rv_props kafka;
    char *names[1], *values[1];
    char name[32];
    char brokers[512];
} env;

static const char *need(const char *name)
{
    return it_need("it_replay_export", name);
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = need("RV_BUILD_DIR");
    env.dsn = need("RV_IT_PG_DSN");
    snprintf(env.brokers, sizeof(env.brokers), "%s",
             need("RV_IT_KAFKA_BROKERS"));
    char policy[1024];
    snprintf(policy, sizeof(policy), "%s/tests/integration/policy_it.yaml",
             need("RV_SOURCE_DIR"));
    setenv("RV_KAFKA_BOOTSTRAP_SERVERS", env.brokers, 1);
    setenv("RV_REDIS_URL", need("RV_IT_REDIS_URL"), 1);
    setenv("RV_PG_DSN", env.dsn, 1);
    setenv("RV_POLICY_PATH", policy, 1);
    snprintf(env.nonce, sizeof(env.nonce), "%ld-%d", (long)time(NULL),
             (int)getpid());
    env.phone_base = (int)(getpid() % 10000) * 100;
    snprintf(env.name, sizeof(env.name), "bootstrap.servers");
    env.names[0] = env.name;
    env.values[0] = env.brokers;
    env.kafka = (rv_props){1, env.names, env.values};
    char err[512] = "";
    if (rv_producer_open(&env.kafka, "it_replay_export", &env.kp, err,
                         sizeof(err)) != RV_OK ||
        rv_pg_open(env.dsn, &env.pg, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "it_replay_export: %s\n", err);
        return -1;
    }
    for (int i = 0; i < WORKER_COUNT; i++) {
        env.pids[i] =
            it_spawn_worker(env.build_dir, "it_replay_export", workers[i]);
        if (env.pids[i] < 0) {
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int failures = it_stop_workers(env.pids, workers, WORKER_COUNT);
    rv_producer_close(env.kp, 5000);
    rv_pg_close(env.pg);
    return failures == 0 ? 0 : -1;
}

/* Sale @p i's phone number, in clear and masked. */
static void phone_of(int i, char *clear, char *masked)
{
    char digits[16];
    snprintf(digits, sizeof(digits), "%07d", env.phone_base + i);
    sprintf(clear, "555%s", digits);
    sprintf(masked, "555***%s", digits + 3);
}

/* Sale @p i of this run: its own customer and phone, an amount R1 always
 * selects (policy_it.yaml: rate 1 from 1500.00). */
static void send_sale(int i)
{
    rv_sale s;
    memset(&s, 0, sizeof(s));
    char name[64], day[16], masked[16];
    snprintf(name, sizeof(name), "EX%d-%s", i, env.nonce);
    snprintf(day, sizeof(day), "2003-07-%02d", 1 + i % 20);
    const char *parts[] = {"it_replay_export", name};
    char id[RV_ID_SIZE];
    rv_id_derive(id, 2, parts);
    rv_envelope_fill(&s.env, id, it_day_noon_us(day), "it_replay_export", "");
    snprintf(s.order_id, sizeof(s.order_id), "%s", name);
    snprintf(s.customer_id, sizeof(s.customer_id), "X%d-%s", i, env.nonce);
    snprintf(s.branch_id, sizeof(s.branch_id), "%s", i % 2 ? "East" : "West");
    snprintf(s.store_id, sizeof(s.store_id), "Seattle");
    snprintf(s.currency, sizeof(s.currency), "USD");
    snprintf(s.segment, sizeof(s.segment), "Consumer");
    phone_of(i, s.phone, masked);
    s.phone_synthetic = true;
    s.amount_cents = 200000 + (int64_t)i * 1000;
    s.line_count = 1;
    it_send_sale(env.kp, &s);
}

/* Runs @p cmd (sh); its whole stdout, freed by the caller; *status its
 * exit status. */
static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    assert_non_null(out);
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        size_t n = fread(out + len, 1, cap - len - 1, p);
        if (n == 0) {
            break;
        }
        len += n;
    }
    out[len] = '\0';
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* revisitctl replay export of @p topic in @p format, with @p extra
 * arguments; asserts exit status @p want. */
static char *export(const char *topic, const char *format, const char *extra,
                    int want)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "%s/workers/revisitctl/revisitctl replay export --topic %s "
             "--from " FROM " --to " TO " --format %s %s",
             env.build_dir, topic, format, extra);
    int status = -1;
    char *out = run(cmd, &status);
    assert_int_equal(status, want);
    return out;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p != NULL;
         p = strstr(p + strlen(needle), needle)) {
        n++;
    }
    return n;
}

static void exec_sql(const char *sql, const char *param)
{
    const char *params[] = {param};
    char err[512] = "";
    rv_err e =
        rv_pg_exec(env.pg, sql, param != NULL ? 1 : 0,
                   param != NULL ? params : NULL, NULL, err, sizeof(err));
    if (e != RV_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
    }
    assert_int_equal(e, RV_OK);
}

/* Rows of @p table with occurred_at in the range. */
static long long recorded(const char *table)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM %s WHERE occurred_at >= '" FROM
             "' AND occurred_at < '" TO "'",
             table);
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg, sql, 0, NULL, &res, err, sizeof(err)),
                     RV_OK);
    long long n = strtoll(rv_pg_result_value(res, 0, 0), NULL, 10);
    rv_pg_result_free(res);
    return n;
}

static void test_pipeline_runs(void **state)
{
    (void)state;
    for (int i = 0; i < SALES; i++) {
        send_sale(i);
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    it_wait_drained(env.build_dir);
    /* Escalations come on the alerter's tick (1 s) after the drain. */
    sleep(3);
    it_wait_drained(env.build_dir);
    char like[64];
    snprintf(like, sizeof(like), "%%-%s", env.nonce);
    const char *params[] = {like};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg,
                                "SELECT count(*) FROM sales WHERE "
                                "customer_id LIKE $1",
                                1, params, &res, err, sizeof(err)),
                     RV_OK);
    assert_string_equal(rv_pg_result_value(res, 0, 0), "40");
    rv_pg_result_free(res);
}

static void test_export_every_topic(void **state)
{
    (void)state;
    /* Sales: exactly the record's rows, ours all there, phones masked. */
    char *a = export("sales.events", "ndjson", "", 0);
    assert_int_equal(count_of(a, "\n"), recorded("sales"));
    char want[256];
    snprintf(want, sizeof(want), "-%s\",", env.nonce);
    assert_int_equal(count_of(a, want), 2 * SALES); /* order, customer */
    for (int i = 0; i < SALES; i++) {
        char clear[16], masked[16];
        phone_of(i, clear, masked);
        snprintf(want, sizeof(want), "\"phone\":\"%s\"", masked);
        assert_int_equal(count_of(a, want), 1);
        assert_null(strstr(a, clear));
    }
    char *b = export("sales.events", "ndjson", "", 0);
    assert_string_equal(a, b);
    free(b);

    /* CSV: the header, one row per sale, CRLF; the same twice. */
    char *csv = export("sales.events", "csv", "", 0);
    assert_true(strncmp(csv,
                        "topic,partition,offset,event_id,occurred_at,"
                        "produced_at,producer,causation_id,schema_version,"
                        "order_id,customer_id,branch_id,store_id,"
                        "amount_cents,currency,segment,phone,"
                        "phone_synthetic,line_count,salesperson_id,"
                        "gift_cents,customer_class,new_customer,"
                        "categories\r\n",
                        strlen("topic,partition,offset,event_id,occurred_at,"
                               "produced_at,producer,causation_id,schema_"
                               "version,order_id,customer_id,branch_id,store_"
                               "id,amount_cents,currency,segment,phone,phone_"
                               "synthetic,line_count,salesperson_id,gift_"
                               "cents,customer_class,new_customer,"
                               "categories\r\n")) == 0);
    assert_int_equal(count_of(csv, "\r\n"), recorded("sales") + 1);
    assert_int_equal(count_of(csv, "\n"), recorded("sales") + 1);
    snprintf(want, sizeof(want), ",USD,Consumer,555***%04d,true,1,,0,,false,[]",
             (env.phone_base + 7) % 10000);
    assert_int_equal(count_of(csv, want), 1);
    b = export("sales.events", "csv", "", 0);
    assert_string_equal(csv, b);
    free(b);
    free(csv);
    free(a);

    /* Every other topic: as many rows as its table has for the range. */
    static const struct {
        const char *topic, *table;
    } map[] = {
        {"service.events", "work_orders"},
        {"visits.tasks", "visit_tasks"},
        {"visits.retries", "task_retries"},
        {"visits.assignments", "assignments"},
        {"visits.outcomes", "outcomes"},
        {"visits.grades", "grades"},
        {"compliance.alerts", "alerts"},
        {"compliance.cases", "case_events"},
        {"visits.decisions", "decisions"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        a = export(map[i].topic, "ndjson", "", 0);
        long long n = recorded(map[i].table);
        snprintf(want, sizeof(want), "{\"topic\":\"%s\",", map[i].topic);
        if ((long long)count_of(a, "\n") != n ||
            (long long)count_of(a, want) != n) {
            fprintf(stderr, "%s: %zu lines, %s has %lld rows\n", map[i].topic,
                    count_of(a, "\n"), map[i].table, n);
        }
        assert_int_equal(count_of(a, "\n"), n);
        assert_int_equal(count_of(a, want), n);
        b = export(map[i].topic, "ndjson", "", 0);
        assert_string_equal(a, b);
        free(b);
        free(a);
    }
    /* Something of each stage was exported above. */
    assert_true(recorded("visit_tasks") >= SALES);
    assert_true(recorded("grades") > 0);
}

/* Roles belong to the cluster: the role and its grants go, if any. */
static void drop_plain_role(void)
{
    exec_sql("DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname "
             "= '" PLAIN_ROLE "') THEN EXECUTE 'DROP OWNED BY " PLAIN_ROLE
             "'; EXECUTE 'DROP ROLE " PLAIN_ROLE "'; END IF; END $$",
             NULL);
}

static void test_export_reveal_needs_the_role(void **state)
{
    (void)state;
    char clear[16], masked[16], want[64];
    phone_of(0, clear, masked);
    snprintf(want, sizeof(want), "\"phone\":\"%s\"", clear);
    /* The stack's user is a superuser: a member of every role. */
    char *a = export("sales.events", "ndjson", "--reveal", 0);
    assert_int_equal(count_of(a, want), 1);
    free(a);

    drop_plain_role(); /* a failed run's */
    exec_sql("CREATE ROLE " PLAIN_ROLE " LOGIN", NULL);
    /* Enough to export masked data (the start offsets come from what
     * the recorder recorded, on the development broker). */
    exec_sql("GRANT EXECUTE ON FUNCTION recorded_start_offsets(text, "
             "timestamptz) TO " PLAIN_ROLE,
             NULL);
    char extra[2560], errfile[1024];
    snprintf(errfile, sizeof(errfile), "%s/it_replay_export_reveal.err",
             env.build_dir);
    /* pg_hba trusts 127.0.0.1 (deploy/local/stack.sh); a later user=
     * overrides the stack's. */
    snprintf(extra, sizeof(extra),
             "--reveal --dsn '%s user=" PLAIN_ROLE "' 2>%s", env.dsn, errfile);
    a = export("sales.events", "ndjson", extra, 77);
    assert_string_equal(a, "");
    free(a);
    FILE *f = fopen(errfile, "r");
    assert_non_null(f);
    char line[512] = "";
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_non_null(strstr(line, "replay export: --reveal refused: "
                                 "PostgreSQL user \"" PLAIN_ROLE
                                 "\" is not a member of role "
                                 "revisit_reveal"));
    /* Without --reveal the same user exports, masked. */
    snprintf(extra, sizeof(extra), "--dsn '%s user=" PLAIN_ROLE "'", env.dsn);
    a = export("sales.events", "ndjson", extra, 0);
    assert_int_equal(count_of(a, want), 0);
    snprintf(want, sizeof(want), "\"phone\":\"%s\"", masked);
    assert_int_equal(count_of(a, want), 1);
    free(a);
    /* Granted the role, it may reveal. */
    exec_sql("GRANT revisit_reveal TO " PLAIN_ROLE, NULL);
    snprintf(extra, sizeof(extra), "--reveal --dsn '%s user=" PLAIN_ROLE "'",
             env.dsn);
    a = export("sales.events", "ndjson", extra, 0);
    snprintf(want, sizeof(want), "\"phone\":\"%s\"", clear);
    assert_int_equal(count_of(a, want), 1);
    free(a);
    drop_plain_role();
}

static char *report(const char *extra)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s/workers/revisitctl/revisitctl replay report --from " FROM
             " --to " TO " %s",
             env.build_dir, extra);
    int status = -1;
    char *out = run(cmd, &status);
    assert_int_equal(status, 0);
    return out;
}

/* One value of @p sql ($1: our customers' pattern). */
static void one_row(const char *sql, rv_pg_result **res)
{
    char like[64];
    snprintf(like, sizeof(like), "%%-%s", env.nonce);
    const char *params[] = {like};
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg, sql, 1, params, res, err, sizeof(err)),
                     RV_OK);
    assert_true(rv_pg_result_rows(*res) >= 1);
}

static void assert_count_line(const char *text, const char *table,
                              const char *group, long long n)
{
    char want[160];
    snprintf(want, sizeof(want), "\n| %s | %s | %lld |\n", table, group, n);
    if (strstr(text, want) == NULL) {
        fprintf(stderr, "not in the report: %s", want + 1);
    }
    assert_non_null(strstr(text, want));
}

static void test_report(void **state)
{
    (void)state;
    char path[1024], extra[1200];
    snprintf(path, sizeof(path), "%s/it_replay_export_verify.txt",
             env.build_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("replay verify: from=" FROM " to=" TO " policy=it\n"
          "verify: all matched\n",
          f);
    fclose(f);
    snprintf(extra, sizeof(extra), "--verify %s", path);
    char *a = report(extra);
    char *b = report(extra);
    assert_string_equal(a, b);
    free(b);
    fputs(a, stderr); /* in the test log, for a reader */

    static const char title[] = "# Audit report " FROM " to " TO "\n";
    assert_true(strncmp(a, title, strlen(title)) == 0);
    assert_non_null(strstr(a, "\n- Range: event time (occurred_at) in [" FROM
                              ", " TO ")\n"));
    assert_non_null(strstr(a, "\n```\nreplay verify: from=" FROM " to=" TO
                              " policy=it\nverify: all matched\n```\n"));
    static const char *const tables[] = {
        "sales",    "work_orders", "decisions", "visit_tasks", "assignments",
        "outcomes", "grades",      "alerts",    "case_events",
    };
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        assert_count_line(a, tables[i], "all", recorded(tables[i]));
    }
    rv_pg_result *res = NULL;
    one_row("SELECT (SELECT count(*) FROM decisions WHERE outcome = "
            "'selected' AND occurred_at >= '" FROM "' AND occurred_at < '" TO
            "'), (SELECT count(*) FROM visit_tasks WHERE rule_id = 'R1' AND "
            "occurred_at >= '" FROM "' AND occurred_at < '" TO "'), $1::text",
            &res);
    assert_count_line(a, "decisions", "outcome=selected",
                      strtoll(rv_pg_result_value(res, 0, 0), NULL, 10));
    assert_count_line(a, "visit_tasks", "rule_id=R1",
                      strtoll(rv_pg_result_value(res, 0, 1), NULL, 10));
    rv_pg_result_free(res);

    /* One of our alerts on a first call: its whole chain, each link also
     * a causation link. */
    one_row("SELECT a.alert_id, a.kind, g.grade_id, o.outcome_id, "
            "s.assignment_id, t.task_id, t.source_event_id FROM alerts a "
            "JOIN grades g ON g.grade_id = a.grade_id "
            "JOIN outcomes o ON o.outcome_id = g.outcome_id "
            "JOIN assignments s ON s.assignment_id = o.assignment_id "
            "JOIN visit_tasks t ON t.task_id = s.task_id "
            "WHERE a.customer_id LIKE $1 AND g.attempt = 1 AND a.occurred_at "
            "< '" TO "' ORDER BY a.alert_id LIMIT 1",
            &res);
    char want[1024];
    snprintf(want, sizeof(want),
             "\n| `%s` | %s | `%s` (c) | `%s` (c) | `%s` (c) | `%s` (c) | "
             "sale `%s` (c) | complete |\n",
             rv_pg_result_value(res, 0, 0), rv_pg_result_value(res, 0, 1),
             rv_pg_result_value(res, 0, 2), rv_pg_result_value(res, 0, 3),
             rv_pg_result_value(res, 0, 4), rv_pg_result_value(res, 0, 5),
             rv_pg_result_value(res, 0, 6));
    char alert[64];
    snprintf(alert, sizeof(alert), "%s", rv_pg_result_value(res, 0, 0));
    rv_pg_result_free(res);
    fprintf(stderr, "lineage line checked: %s", want + 1);
    assert_non_null(strstr(a, want));
    snprintf(want, sizeof(want),
             "\nlineage: alerts=%lld complete=%lld "
             "broken=0\n",
             recorded("alerts"), recorded("alerts"));
    assert_non_null(strstr(a, want));
    free(a);

    /* Without --verify: said so. An alert whose grade is not in the
     * record: listed as broken. */
    char fake[80], nograde[80];
    snprintf(fake, sizeof(fake), "fake-%s", env.nonce);
    snprintf(nograde, sizeof(nograde), "nograde-%s", env.nonce);
    exec_sql("CREATE TEMP TABLE fake_export_alert AS SELECT * FROM alerts "
             "WHERE alert_id = $1",
             alert);
    exec_sql("UPDATE fake_export_alert SET alert_id = $1, event_id = $1, "
             "kind = 'A1.fake'",
             fake);
    exec_sql("UPDATE fake_export_alert SET grade_id = $1", nograde);
    exec_sql("INSERT INTO alerts SELECT * FROM fake_export_alert", NULL);
    a = report("");
    exec_sql("DELETE FROM alerts WHERE alert_id = $1", fake);
    assert_non_null(strstr(a, "\n- Verify output: none\n"));
    assert_non_null(strstr(a, "\nNot run: no `revisitctl replay verify` "
                              "output was given (--verify FILE).\n"));
    snprintf(want, sizeof(want),
             "\n| `%s` | A1.fake | `%s` missing | — | — | — | — | broken: "
             "grade missing |\n",
             fake, nograde);
    assert_non_null(strstr(a, want));
    snprintf(want, sizeof(want),
             "\nlineage: alerts=%lld complete=%lld "
             "broken=1\n",
             recorded("alerts") + 1, recorded("alerts"));
    assert_non_null(strstr(a, want));
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_runs),
        cmocka_unit_test(test_export_every_topic),
        cmocka_unit_test(test_export_reveal_needs_the_role),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests_name("it_replay_export", tests, setup,
                                       teardown);
}
