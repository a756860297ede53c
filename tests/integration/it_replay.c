/* tests/integration/it_replay.c: `revisitctl replay verify` and `replay
 * rebuild` (issue 7)
 * against a live pipeline on the local stack. After a clean run every
 * decision, task, grade and alert of the range matches; the output is the
 * same twice; the live groups' offsets do not move; after deleting one
 * task row, changing one grade and inserting one fake alert, verify names
 * exactly those three and exits 1. The record is restored; a rebuild of
 * the range into a scratch schema then equals the live record. */
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
#include "rv/kafka_lag.h"
#include "rv/pg.h"

#define WORKER_COUNT 6
static const char *const workers[WORKER_COUNT] = {
    "sampler", "assigner", "agentsim", "grader", "alerter", "recorder"};
#define OUT_MAX (256 * 1024)
/* The range of this test's events: no other test uses it. */
#define FROM "2002-04-01T00:00:00Z"
#define TO "2002-06-01T00:00:00Z"

static struct {
    const char *build_dir;
    char nonce[32];
    char policy[1024];
    pid_t pids[WORKER_COUNT];
    rv_producer *kp;
    rv_pg *pg;
    it_kafka k;
} env;

static const char *need(const char *name)
{
    return it_need("it_replay", name);
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = need("RV_BUILD_DIR");
    it_kafka_init(&env.k, "it_replay");
    snprintf(env.policy, sizeof(env.policy),
             "%s/tests/integration/policy_it.yaml", need("RV_SOURCE_DIR"));
    setenv("RV_REDIS_URL", need("RV_IT_REDIS_URL"), 1);
    setenv("RV_PG_DSN", need("RV_IT_PG_DSN"), 1);
    setenv("RV_POLICY_PATH", env.policy, 1);
    snprintf(env.nonce, sizeof(env.nonce), "%ld-%d", (long)time(NULL),
             (int)getpid());
    char err[512] = "";
    if (rv_producer_open(&env.k.props, "it_replay", &env.kp, err,
                         sizeof(err)) != RV_OK ||
        rv_pg_open(need("RV_IT_PG_DSN"), &env.pg, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "it_replay: %s\n", err);
        return -1;
    }
    for (int i = 0; i < WORKER_COUNT; i++) {
        env.pids[i] = it_spawn_worker(env.build_dir, "it_replay", workers[i]);
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

/* Sale @p i of this run: customers R0..R7, amounts across the tiers. */
static void send_sale(int i)
{
    rv_sale s;
    memset(&s, 0, sizeof(s));
    char name[64], day[16];
    snprintf(name, sizeof(name), "RP%d-%s", i, env.nonce);
    snprintf(day, sizeof(day), "2002-04-%02d", 1 + (i * 3) % 28);
    const char *parts[] = {"it_replay", name};
    char id[RV_ID_SIZE];
    rv_id_derive(id, 2, parts);
    rv_envelope_fill(&s.env, id, it_day_noon_us(day), "it_replay", "");
    snprintf(s.order_id, sizeof(s.order_id), "%s", name);
    snprintf(s.customer_id, sizeof(s.customer_id), "R%d-%s", i % 8, env.nonce);
    snprintf(s.branch_id, sizeof(s.branch_id), "%s", i % 2 ? "East" : "West");
    snprintf(s.store_id, sizeof(s.store_id), "Seattle");
    snprintf(s.currency, sizeof(s.currency), "USD");
    /* Each customer its own number: two customers of one number on
     * different partitions race for its cooldown (a documented limit). */
    const char *pparts[] = {"phone", s.customer_id};
    snprintf(s.phone, sizeof(s.phone), "555%07llu",
             (unsigned long long)(rv_hash_u64(2, pparts) % 10000000ULL));
    s.phone_synthetic = true;
    s.amount_cents = 100000 + (int64_t)i * 37000;
    s.line_count = 1;
    it_send_sale(env.kp, &s);
}

/* Runs revisitctl replay verify over the range; its stdout into @p out.
 * Returns the exit status. */
static int verify(char *out, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s/workers/revisitctl/revisitctl replay verify --from " FROM
             " --to " TO " --policy %s --timeout-s 180",
             env.build_dir, env.policy);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Lag and messages of the live groups on their input topics. */
static void live_positions(int64_t out[4][2])
{
    static const char *const groups[4] = {"revisit-sampler", "revisit-grader",
                                          "revisit-alerter",
                                          "revisit-recorder"};
    static const char *const topics[4] = {"sales.events", "visits.outcomes",
                                          "visits.grades", "visits.tasks"};
    for (int g = 0; g < 4; g++) {
        char err[512] = "";
        const char *t[] = {topics[g]};
        assert_int_equal(rv_kafka_group_lag(&env.k.props, groups[g], t, 1,
                                            10000, &out[g][0], &out[g][1], err,
                                            sizeof(err)),
                         RV_OK);
    }
}

/* One value of @p sql with $1 = the nonce pattern; "" if none. */
static void one(const char *sql, char *out, size_t size)
{
    char like[64];
    snprintf(like, sizeof(like), "%%-%s", env.nonce);
    const char *params[] = {like};
    rv_pg_result *res = NULL;
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg, sql, 1, params, &res, err, sizeof(err)),
                     RV_OK);
    snprintf(out, size, "%s",
             rv_pg_result_rows(res) > 0 ? rv_pg_result_value(res, 0, 0) : "");
    rv_pg_result_free(res);
}

static void exec_sql(const char *sql, const char *param)
{
    const char *params[] = {param};
    char err[512] = "";
    assert_int_equal(rv_pg_exec(env.pg, sql, param != NULL ? 1 : 0,
                                param != NULL ? params : NULL, NULL, err,
                                sizeof(err)),
                     RV_OK);
}

static size_t count_lines(const char *text, const char *prefix)
{
    size_t n = 0;
    for (const char *l = text; l != NULL && *l != '\0';) {
        n += strncmp(l, prefix, strlen(prefix)) == 0;
        l = strchr(l, '\n');
        l = l != NULL ? l + 1 : NULL;
    }
    return n;
}

static void test_replay_verify(void **state)
{
    (void)state;
    for (int i = 0; i < 24; i++) {
        send_sale(i);
    }
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
    it_wait_drained(env.build_dir);

    static char a[OUT_MAX], b[OUT_MAX];
    int64_t before[4][2], after[4][2];
    live_positions(before);
    assert_int_equal(verify(a, sizeof(a)), 0);
    assert_non_null(strstr(a, "verify: all matched\n"));
    /* Something of every kind was compared. */
    assert_null(strstr(a, "decisions: matched=0 "));
    assert_null(strstr(a, "tasks: matched=0 "));
    assert_null(strstr(a, "grades: matched=0 "));
    /* The same range again: the same text. */
    assert_int_equal(verify(b, sizeof(b)), 0);
    assert_string_equal(a, b);
    /* The live groups did not move and no live topic grew. */
    live_positions(after);
    for (int g = 0; g < 4; g++) {
        assert_int_equal(before[g][0], 0);
        assert_int_equal(after[g][0], 0);
        assert_int_equal(after[g][1], before[g][1]);
    }

    /* Tamper with the record: one task gone, one grade changed, one alert
     * that no grade raised. */
    char task[64], grade[64], alert[64], fake[80];
    one("SELECT task_id FROM visit_tasks WHERE customer_id LIKE $1 "
        "ORDER BY task_id LIMIT 1",
        task, sizeof(task));
    one("SELECT grade_id FROM grades WHERE customer_id LIKE $1 "
        "ORDER BY grade_id LIMIT 1",
        grade, sizeof(grade));
    one("SELECT alert_id FROM alerts WHERE customer_id LIKE $1 AND "
        "producer LIKE 'alerter%' AND kind <> 'escalation' "
        "ORDER BY alert_id LIMIT 1",
        alert, sizeof(alert));
    assert_true(task[0] != '\0' && grade[0] != '\0' && alert[0] != '\0');
    snprintf(fake, sizeof(fake), "fake-%s", env.nonce);
    exec_sql("CREATE TEMP TABLE kept_task AS SELECT * FROM visit_tasks "
             "WHERE task_id = $1",
             task);
    exec_sql("CREATE TEMP TABLE kept_grade AS SELECT * FROM grades "
             "WHERE grade_id = $1",
             grade);
    exec_sql("DELETE FROM visit_tasks WHERE task_id = $1", task);
    exec_sql("UPDATE grades SET band = CASE band WHEN 'satisfied' THEN "
             "'dissatisfied' ELSE 'satisfied' END WHERE grade_id = $1",
             grade);
    exec_sql("CREATE TEMP TABLE fake_alert AS SELECT * FROM alerts "
             "WHERE alert_id = $1",
             alert);
    exec_sql("UPDATE fake_alert SET alert_id = $1, event_id = $1, kind = "
             "'A1.fake'",
             fake);
    exec_sql("INSERT INTO alerts SELECT * FROM fake_alert", NULL);

    assert_int_equal(verify(b, sizeof(b)), 1);
    assert_non_null(strstr(b, "verify: DIFFERENCES\n"));
    /* What follows is shown but not counted (R10 spot checks). */
    char *shown = strstr(b, "not counted:");
    if (shown != NULL) {
        *shown = '\0';
    }
    char want[160];
    snprintf(want, sizeof(want), "\n  missing %s ", task);
    assert_non_null(strstr(b, want));
    snprintf(want, sizeof(want), "\n  differing %s ", grade);
    assert_non_null(strstr(b, want));
    snprintf(want, sizeof(want), "\n  extra %s ", fake);
    assert_non_null(strstr(b, want));
    /* Exactly those three, nothing else. */
    assert_int_equal(count_lines(b, "  "), 3);

    /* Restore the record for whatever runs next on this stack. */
    exec_sql("INSERT INTO visit_tasks SELECT * FROM kept_task", NULL);
    exec_sql("DELETE FROM grades WHERE grade_id = $1", grade);
    exec_sql("INSERT INTO grades SELECT * FROM kept_grade", NULL);
    exec_sql("DELETE FROM alerts WHERE alert_id = $1", fake);
    assert_int_equal(verify(b, sizeof(b)), 0);
    assert_string_equal(a, b);

    /* Rebuild the range into a scratch schema with the recorder's code:
     * no difference with the live record, table by table. */
    char schema[64], cmd[2048];
    snprintf(schema, sizeof(schema), "it_rebuild_%d", (int)getpid());
    snprintf(cmd, sizeof(cmd),
             "RV_SOURCE_DIR=%s %s/workers/revisitctl/revisitctl replay "
             "rebuild --schema %s --replace --from " FROM " --to " TO
             " --timeout-s 180",
             need("RV_SOURCE_DIR"), env.build_dir, schema);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(b, 1, sizeof(b) - 1, p);
    b[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(b, "\nrebuild: no difference\n"));
    /* At least this run's 24 sales, rebuilt alike (an earlier run on
     * this stack may have added its own). */
    int live = 0, rebuilt = 0;
    const char *line = strstr(b, "\nsales: ");
    assert_non_null(line);
    assert_int_equal(
        sscanf(line, "\nsales: live=%d rebuilt=%d", &live, &rebuilt), 2);
    assert_true(live >= 24 && rebuilt == live);
    line = strstr(b, "\ngrades: ");
    assert_non_null(line);
    assert_int_equal(
        sscanf(line, "\ngrades: live=%d rebuilt=%d", &live, &rebuilt), 2);
    /* As many grades as this run's draws selected visits (or more). */
    assert_true(live >= 1 && rebuilt == live);
    snprintf(cmd, sizeof(cmd), "DROP SCHEMA %s CASCADE", schema);
    exec_sql(cmd, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_verify),
    };
    return cmocka_run_group_tests_name("it_replay", tests, setup, teardown);
}
