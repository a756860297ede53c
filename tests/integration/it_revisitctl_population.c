/* tests/integration/it_revisitctl_population.c: `revisitctl
 * sample-population` (workers/revisitctl/cmd_population.c, R2 seed 000
 * 第一篇), the binary run as a process against the local stack:
 * PostgreSQL (RV_IT_PG_DSN), Redis (RV_IT_REDIS_URL) and the broker
 * (RV_IT_KAFKA_BROKERS), with the shipped policy (R2 at 10%).
 *
 * The fixture is sales of customers "itpop-*" written straight into the
 * record, all in 1999-2002, years no other test uses in the policy's
 * branches: 180 customers with business before 2001, some of whom moved
 * branch or store later; 20 with sales only in 2001 or after; customers
 * on both sides of the local new year of Los Angeles and New York; one
 * with a sale in a branch the policy lacks. For 2001 the population is
 * 183 customers, each drawn by the pure function (population.h), one
 * drawn customer on the opt-out list. The summary line must be exact,
 * twice and in a dry run; on the topics every copy carries the derived
 * IDs (earlier runs on the same stack add copies of the same facts), and
 * a recorder of its own writes one row per task and decision. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#include "population.h"
#include "rv/calendar.h"
#include "rv/codec.h"
#include "rv/hash.h"
#include "rv/kafka.h"
#include "rv/kafka_lag.h"
#include "rv/pg.h"
#include "rv/policy.h"
#include "rv/redis.h"
#include "sampler_cooldown.h"

#define YEAR 2001
#define IN_COUNT 180   /* itpop-000..179: business before 2001 */
#define OUT_COUNT 20   /* itpop-180..199: sales in 2001 and after only */
#define POPULATION 183 /* the 180, b1, b3 and b6 */
#define OUT_MAX 65536
#define WAIT_S 120
#define SQL_MAX (256 * 1024)

static const char *const branches[4] = {"West", "Central", "East", "South"};

/* The latest sale before 2001 of one population customer. */
typedef struct expect {
    char customer[32];
    const char *branch;
    char store[32];
    char phone[32];
    double u;
    int month; /* 0: not drawn */
    bool opted_out;
    char task_id[RV_ID_SIZE];
    char decision_id[RV_ID_SIZE];
    size_t task_copies;
    size_t decision_copies;
    rv_decision_outcome outcome; /* as last seen on the topic */
} expect;

static struct {
    const char *build_dir;
    char policy_path[1024];
    rv_policy *policy;
    rv_calendar *cal;
    rv_pg *pg;
    rv_redis *rc;
    expect exp[POPULATION]; /* in byte order of the customer ID */
    size_t drawn, opted_out;
    char optout_key[SAMPLER_KEY_SIZE];
    char summary[1024]; /* the line the command must print */
    char kafka_name[32], kafka_value[512];
    char *kafka_names[1], *kafka_values[1];
    rv_props kafka;
} env;

static const char *need(const char *name)
{
    return it_need("it_revisitctl_population", name);
}

/* revisitctl with @p args (it_run_ctl), OUT_MAX bytes of output each. */
static int run_ctl(const char *const *args, char *out, char *err)
{
    return it_run_ctl(env.build_dir, args, out, err, OUT_MAX);
}

static void exec_sql(const char *sql)
{
    char errstr[512] = "";
    if (rv_pg_exec(env.pg, sql, 0, NULL, NULL, errstr, sizeof(errstr)) !=
        RV_OK) {
        fail_msg("%.200s: %s", sql, errstr);
    }
}

static int64_t count_sql(const char *sql)
{
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    if (rv_pg_exec(env.pg, sql, 0, NULL, &res, errstr, sizeof(errstr)) !=
        RV_OK) {
        fail_msg("%s: %s", sql, errstr);
    }
    int64_t n = strtoll(rv_pg_result_value(res, 0, 0), NULL, 10);
    rv_pg_result_free(res);
    return n;
}

static void redis_cmd(size_t argc, const char *const *argv)
{
    rv_redis_reply r = {0};
    assert_int_equal(rv_redis_command(env.rc, argc, argv, &r), RV_OK);
    assert_int_not_equal(r.type, RV_REPLY_ERR);
    rv_redis_replies_fini(&r, 1);
}

static void delete_fixture(void)
{
    exec_sql("DELETE FROM sales WHERE customer_id LIKE 'itpop-%'");
    exec_sql("DELETE FROM visit_tasks WHERE customer_id LIKE 'itpop-%'");
    exec_sql("DELETE FROM decisions WHERE customer_id LIKE 'itpop-%'");
    if (env.optout_key[0] != '\0') {
        const char *del[] = {"DEL", env.optout_key};
        redis_cmd(2, del);
    }
}

/* One VALUES row of a sale at @p at (UTC, "YYYY-MM-DD HH:MM:SS"). */
static void add_sale(char *sql, const char *event, const char *customer,
                     const char *branch, const char *store, const char *phone,
                     const char *at)
{
    size_t len = strlen(sql);
    int n = snprintf(sql + len, SQL_MAX - len,
                     "%s('itpop-e-%s', 'o-%s', '%s', '%s', '%s', 1000, 'USD', "
                     "'Consumer', '%s', true, 1, timestamptz '%s+00')",
                     sql[len - 1] == ')' ? ", " : "", event, event, customer,
                     branch, store, phone, at);
    assert_true(n > 0 && (size_t)n < SQL_MAX - len);
}

/* The sales (see the file's comment); the expectation of each of the
 * 180 is its latest sale before the year. */
static void insert_fixture(void)
{
    char *sql = malloc(SQL_MAX);
    assert_non_null(sql);
    snprintf(sql, SQL_MAX,
             "INSERT INTO sales (event_id, order_id, customer_id, "
             "branch_id, store_id, amount_cents, currency, segment, "
             "phone_masked, phone_synthetic, line_count, occurred_at) "
             "VALUES ");
    for (int i = 0; i < IN_COUNT + OUT_COUNT; i++) {
        char cust[32], ev[48], store[32], phone[32], at[32];
        snprintf(cust, sizeof(cust), "itpop-%03d", i);
        if (i >= IN_COUNT) {
            /* Only after the year began: not in the population. */
            snprintf(ev, sizeof(ev), "%03d-x", i);
            snprintf(at, sizeof(at), "%d-%02d-10 12:00:00", YEAR + i % 2,
                     1 + i % 12);
            add_sale(sql, ev, cust, branches[i % 4], "s-x", "999****0000", at);
            continue;
        }
        snprintf(ev, sizeof(ev), "%03d-a", i);
        snprintf(store, sizeof(store), "s%d-a", i % 7);
        snprintf(phone, sizeof(phone), "555****%04d", i);
        snprintf(at, sizeof(at), "1999-%02d-%02d 12:00:00", 1 + i % 12,
                 1 + i % 28);
        add_sale(sql, ev, cust, branches[i % 4], store, phone, at);
        if (i % 3 == 0) { /* moved: the later sale names the customer's */
            snprintf(ev, sizeof(ev), "%03d-b", i);
            snprintf(phone, sizeof(phone), "666****%04d", i);
            snprintf(at, sizeof(at), "2000-06-%02d 12:00:00", 1 + i % 28);
            add_sale(sql, ev, cust, branches[(i + 1) % 4], "s-late", phone, at);
        }
        if (i % 5 == 0) { /* a sale in the year itself changes nothing */
            snprintf(ev, sizeof(ev), "%03d-c", i);
            snprintf(at, sizeof(at), "%d-03-01 12:00:00", YEAR);
            add_sale(sql, ev, cust, branches[(i + 2) % 4], "s-after",
                     "777****0000", at);
        }
    }
    /* The local new year: 08:00Z in Los Angeles, 05:00Z in New York. */
    add_sale(sql, "b1", "itpop-b1", "West", "s-b1", "", "2001-01-01 07:59:59");
    add_sale(sql, "b2", "itpop-b2", "West", "s-b2", "", "2001-01-01 08:00:00");
    add_sale(sql, "b3", "itpop-b3", "East", "s-b3", "", "2001-01-01 04:59:59");
    add_sale(sql, "b4", "itpop-b4", "East", "s-b4", "", "2001-01-01 05:00:00");
    /* A branch the policy does not list. */
    add_sale(sql, "b5", "itpop-b5", "itpop-mars", "s-b5", "",
             "2000-05-05 12:00:00");
    /* Later in UTC, but after New York's new year: West stays latest. */
    add_sale(sql, "b6w", "itpop-b6", "West", "s-b6w", "",
             "2001-01-01 07:00:00");
    add_sale(sql, "b6e", "itpop-b6", "East", "s-b6e", "",
             "2001-01-01 07:30:00");
    exec_sql(sql);
    free(sql);
}

static int cmp_expect(const void *a, const void *b)
{
    return strcmp(((const expect *)a)->customer, ((const expect *)b)->customer);
}

/* The population, its draws (the pure function) and the line the command
 * must print; the first drawn customer goes on the opt-out list. */
static void build_expectation(void)
{
    const rv_rule *rule = rv_policy_rule(env.policy, "R2");
    assert_non_null(rule);
    size_t n = 0;
    for (int i = 0; i < IN_COUNT; i++) {
        expect *e = &env.exp[n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->customer, sizeof(e->customer), "itpop-%03d", i);
        bool moved = i % 3 == 0;
        e->branch = branches[moved ? (i + 1) % 4 : i % 4];
        if (moved) {
            snprintf(e->store, sizeof(e->store), "s-late");
        } else {
            snprintf(e->store, sizeof(e->store), "s%d-a", i % 7);
        }
        snprintf(e->phone, sizeof(e->phone), "%s****%04d",
                 moved ? "666" : "555", i);
    }
    static const struct {
        const char *id, *branch, *store;
    } edge[] = {{"itpop-b1", "West", "s-b1"},
                {"itpop-b3", "East", "s-b3"},
                {"itpop-b6", "West", "s-b6w"}};
    for (size_t k = 0; k < 3; k++) {
        expect *e = &env.exp[n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->customer, sizeof(e->customer), "%s", edge[k].id);
        e->branch = edge[k].branch;
        snprintf(e->store, sizeof(e->store), "%s", edge[k].store);
    }
    assert_int_equal(n, POPULATION);
    qsort(env.exp, n, sizeof(env.exp[0]), cmp_expect);

    size_t months[POPULATION_MONTHS] = {0};
    char ids[POPULATION * 32] = "";
    size_t ids_len = 0;
    env.drawn = 0;
    for (size_t i = 0; i < n; i++) {
        expect *e = &env.exp[i];
        e->u = population_draw(env.policy->salt, "R2", e->customer, YEAR);
        e->month = population_month(e->u, rule->rate);
        char source[RV_ID_SIZE], year[8];
        snprintf(year, sizeof(year), "%d", YEAR);
        const char *parts[] = {e->customer, "R2", year};
        rv_id_derive(source, 3, parts);
        const char *task_parts[] = {source, "R2"};
        rv_id_derive(e->task_id, 2, task_parts);
        const char *dec_parts[] = {source, "R2", "decision"};
        rv_id_derive(e->decision_id, 3, dec_parts);
        if (e->month == 0) {
            continue;
        }
        months[e->month - 1]++;
        env.drawn++;
        ids_len += (size_t)snprintf(ids + ids_len, sizeof(ids) - ids_len,
                                    "%s\n", e->customer);
        if (env.opted_out == 0) {
            e->opted_out = true;
            env.opted_out = 1;
            char cooldown[SAMPLER_KEY_SIZE];
            sampler_cooldown_keys(e->customer, cooldown, env.optout_key);
            char mine[POPULATION_OPTOUT_KEY_SIZE];
            population_optout_key(e->customer, mine);
            /* revisitctl reads the key the sampler's C4 script reads. */
            assert_string_equal(mine, env.optout_key);
        }
    }
    /* 10% of 183, spread: the fixture is not degenerate. */
    assert_in_range(env.drawn, 8, 30);
    char sha[RV_SHA256_HEX_SIZE];
    rv_sha256_hex(ids, ids_len, sha);
    int at = snprintf(env.summary, sizeof(env.summary),
                      "sample-population: year=%d population=%d selected=%zu "
                      "months=[",
                      YEAR, POPULATION, env.drawn);
    for (int m = 0; m < POPULATION_MONTHS; m++) {
        at += snprintf(env.summary + at, sizeof(env.summary) - (size_t)at,
                       "%s%zu", m > 0 ? "," : "", months[m]);
    }
    snprintf(env.summary + at, sizeof(env.summary) - (size_t)at,
             "] sha256=%s opted_out=1\n", sha);
}

static expect *find_expect(const char *customer, size_t len)
{
    for (size_t i = 0; i < POPULATION; i++) {
        if (strlen(env.exp[i].customer) == len &&
            memcmp(env.exp[i].customer, customer, len) == 0) {
            return &env.exp[i];
        }
    }
    return NULL;
}

/* ---- the command ------------------------------------------------------ */

/* Exact line in a dry run and in two real runs; the warning names the
 * branch the policy lacks. */
static void test_population_summary_is_exact_and_stable(void **state)
{
    (void)state;
    static char out[OUT_MAX], err[OUT_MAX];
    const char *dsn = need("RV_IT_PG_DSN");
    char year[8];
    snprintf(year, sizeof(year), "%d", YEAR);
    const char *dry[] = {"sample-population",
                         "--year",
                         year,
                         "--policy",
                         env.policy_path,
                         "--dsn",
                         dsn,
                         "--dry-run",
                         NULL};
    int code = run_ctl(dry, out, err);
    if (code != 0) {
        fail_msg("exit %d: %s", code, err);
    }
    assert_string_equal(out, env.summary);
    assert_non_null(strstr(err, "dry run: nothing sent"));
    assert_non_null(strstr(err, "in branches policy"));
    for (int run = 0; run < 2; run++) {
        const char *real[] = {
            "sample-population", "--year",        year,    "--rule", "R2",
            "--policy",          env.policy_path, "--dsn", dsn,      NULL};
        code = run_ctl(real, out, err);
        if (code != 0) {
            fail_msg("run %d: exit %d: %s", run, code, err);
        }
        assert_string_equal(out, env.summary);
    }
    print_message("%s", out);
}

static void test_population_refuses_bad_input(void **state)
{
    (void)state;
    static char out[OUT_MAX], err[OUT_MAX];
    const char *dsn = need("RV_IT_PG_DSN");
    const char *no_year[] = {"sample-population", "--dsn", dsn, NULL};
    assert_int_equal(run_ctl(no_year, out, err), 64);
    const char *bad_year[] = {"sample-population", "--year", "20x1", NULL};
    assert_int_equal(run_ctl(bad_year, out, err), 64);
    const char *wrong_rule[] = {
        "sample-population", "--year", "2001", "--rule",    "R1", "--policy",
        env.policy_path,     "--dsn",  dsn,    "--dry-run", NULL};
    assert_int_equal(run_ctl(wrong_rule, out, err), 78);
    assert_non_null(strstr(err, "no trigger \"population\""));
    assert_string_equal(out, "");
}

/* ---- the topics ------------------------------------------------------- */

/* Every message of visits.tasks and visits.decisions, from the start,
 * with a group of this run; the fixture's are checked. */
static void test_population_topics_carry_derived_ids(void **state)
{
    (void)state;
    char group[96];
    snprintf(group, sizeof(group), "it-pop-read-%ld-%d", (long)time(NULL),
             (int)getpid());
    const char *topics[] = {"visits.tasks", "visits.decisions"};
    char errstr[512] = "";
    int64_t total = 0, highs = 0;
    assert_int_equal(rv_kafka_group_lag(&env.kafka, group, topics, 2, 10000,
                                        &total, &highs, errstr, sizeof(errstr)),
                     RV_OK);
    rv_consumer *kc = NULL;
    if (rv_consumer_open(&env.kafka, group, topics, 2, &kc, errstr,
                         sizeof(errstr)) != RV_OK) {
        fail_msg("consumer: %s", errstr);
    }
    int64_t seen = 0;
    size_t strays = 0;
    time_t deadline = time(NULL) + WAIT_S;
    while (seen < total && time(NULL) < deadline) {
        const rv_msg *msgs = NULL;
        size_t count = 0;
        assert_int_equal(rv_consumer_poll_batch(kc, 500, 500, &msgs, &count),
                         RV_OK);
        for (size_t i = 0; i < count; i++) {
            const rv_msg *m = &msgs[i];
            seen++;
            if (m->key_len < 6 || memcmp(m->key, "itpop-", 6) != 0) {
                continue;
            }
            expect *e = find_expect((const char *)m->key, m->key_len);
            if (e == NULL) {
                strays++; /* a customer outside the population */
                continue;
            }
            if (strcmp(m->topic, "visits.tasks") == 0) {
                rv_task t;
                assert_int_equal(rv_codec_decode_task(m->payload, m->len, &t,
                                                      errstr, sizeof(errstr)),
                                 RV_OK);
                assert_true(e->month > 0 && !e->opted_out);
                assert_string_equal(t.task_id, e->task_id);
                assert_string_equal(t.customer_id, e->customer);
                assert_string_equal(t.branch_id, e->branch);
                assert_string_equal(t.store_id, e->store);
                assert_string_equal(t.phone, e->phone);
                assert_string_equal(t.rule_id, "R2");
                assert_string_equal(t.policy_version, env.policy->version);
                assert_true(t.sample_u == e->u && t.sample_rate == 0.10);
                int b = rv_calendar_branch(env.cal, e->branch);
                assert_true(b >= 0);
                /* Event time: the local new year of the branch. */
                int64_t start_h = strcmp(e->branch, "West") == 0      ? 8
                                  : strcmp(e->branch, "Central") == 0 ? 6
                                                                      : 5;
                assert_int_equal(t.env.occurred_at_us,
                                 (11323LL * 86400 + start_h * 3600) * 1000000);
                /* Due from the first working day of the month drawn. */
                int64_t day = rv_calendar_local_day(env.cal, b, t.due_start_us);
                assert_int_equal(rv_calendar_local_to_us(env.cal, b, day, 0),
                                 t.due_start_us);
                char day_s[RV_DAY_SIZE], want[16];
                rv_calendar_day_str(day, day_s);
                snprintf(want, sizeof(want), "%d-%02d-", YEAR, e->month);
                assert_memory_equal(day_s, want, 8);
                assert_true(rv_calendar_is_working_day(env.cal, b, day));
                for (int64_t d = day - 1; d > day - 31; d--) {
                    char s[RV_DAY_SIZE];
                    rv_calendar_day_str(d, s);
                    if (memcmp(s, want, 8) != 0) {
                        break;
                    }
                    assert_false(rv_calendar_is_working_day(env.cal, b, d));
                }
                assert_true(t.due_end_us > t.due_start_us);
                e->task_copies++;
            } else {
                rv_decision d;
                assert_int_equal(rv_codec_decode_decision(m->payload, m->len,
                                                          &d, errstr,
                                                          sizeof(errstr)),
                                 RV_OK);
                assert_string_equal(d.decision_id, e->decision_id);
                assert_true(d.u == e->u);
                e->outcome = d.outcome;
                e->decision_copies++;
            }
        }
        rv_consumer_release_batch(kc);
    }
    rv_consumer_close(kc);
    assert_true(seen >= total);
    assert_int_equal(strays, 0);
    /* At least this run's two copies of each fact, and never another ID
     * (checked above): a re-run repeats the same facts. */
    for (size_t i = 0; i < POPULATION; i++) {
        const expect *e = &env.exp[i];
        assert_true(e->decision_copies >= 2);
        rv_decision_outcome want = e->month == 0 ? RV_DECISION_NOT_SELECTED
                                   : e->opted_out
                                       ? RV_DECISION_SUPPRESSED_OPT_OUT
                                       : RV_DECISION_SELECTED;
        assert_int_equal(e->outcome, want);
        if (e->month > 0 && !e->opted_out) {
            assert_true(e->task_copies >= 2);
            assert_int_equal(e->task_copies, e->decision_copies);
        } else {
            assert_int_equal(e->task_copies, 0);
        }
    }
}

/* ---- the record ------------------------------------------------------- */

/* A recorder of its own reads both topics from the start: every copy of
 * every run collapses into one row per task and decision. */
static void test_population_recorded_once(void **state)
{
    (void)state;
    char group[96];
    snprintf(group, sizeof(group), "it-pop-recorder-%ld-%d", (long)time(NULL),
             (int)getpid());
    const char *const settings[] = {
        "RV_PG_DSN", need("RV_IT_PG_DSN"), "RV_GROUP_ID",
        group,       "RV_TOPICS",          "visits.tasks,visits.decisions",
        NULL,
    };
    pid_t pid = it_spawn_worker_env(env.build_dir, "it_revisitctl_population",
                                    "recorder", settings);
    const char *topics[] = {"visits.tasks", "visits.decisions"};
    int64_t lag = -1;
    int zero = 0;
    time_t deadline = time(NULL) + WAIT_S;
    while (time(NULL) < deadline && zero < 2) {
        it_sleep_ms(500);
        char errstr[512] = "";
        if (rv_kafka_group_lag(&env.kafka, group, topics, 2, 5000, &lag, NULL,
                               errstr, sizeof(errstr)) == RV_OK) {
            zero = lag == 0 ? zero + 1 : 0;
        }
    }
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(lag, 0);
    assert_int_equal(
        count_sql("SELECT count(*) FROM decisions WHERE customer_id LIKE "
                  "'itpop-%'"),
        POPULATION);
    assert_int_equal(
        count_sql("SELECT count(DISTINCT customer_id) FROM decisions WHERE "
                  "customer_id LIKE 'itpop-%' AND rule_id = 'R2'"),
        POPULATION);
    assert_int_equal(
        count_sql("SELECT count(*) FROM visit_tasks WHERE customer_id LIKE "
                  "'itpop-%'"),
        (int64_t)(env.drawn - env.opted_out));
    assert_int_equal(
        count_sql("SELECT count(*) FROM decisions WHERE customer_id LIKE "
                  "'itpop-%' AND outcome = 'selected'"),
        (int64_t)(env.drawn - env.opted_out));
    assert_int_equal(
        count_sql("SELECT count(*) FROM decisions WHERE customer_id LIKE "
                  "'itpop-%' AND outcome = 'suppressed_opt_out'"),
        1);
    /* Nobody whose business began in the year: itpop-180.., b2, b4, b5. */
    assert_int_equal(
        count_sql("SELECT count(*) FROM decisions WHERE customer_id IN "
                  "('itpop-180', 'itpop-199', 'itpop-b2', 'itpop-b4', "
                  "'itpop-b5')"),
        0);
    /* The record keeps masked phones as they came. */
    assert_int_equal(
        count_sql("SELECT count(*) FROM visit_tasks WHERE customer_id LIKE "
                  "'itpop-%' AND phone_masked NOT LIKE '___****____' AND "
                  "phone_masked <> ''"),
        0);
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = need("RV_BUILD_DIR");
    const char *brokers = need("RV_IT_KAFKA_BROKERS");
    snprintf(env.policy_path, sizeof(env.policy_path),
             "%s/deploy/policy/default.yaml", need("RV_SOURCE_DIR"));
    /* The binary's broker and Redis; the database goes by --dsn. */
    setenv("RV_KAFKA_BOOTSTRAP_SERVERS", brokers, 1);
    setenv("RV_REDIS_URL", need("RV_IT_REDIS_URL"), 1);
    unsetenv("RV_PG_DSN");
    unsetenv("RV_POLICY_PATH");
    snprintf(env.kafka_name, sizeof(env.kafka_name), "bootstrap.servers");
    snprintf(env.kafka_value, sizeof(env.kafka_value), "%s", brokers);
    env.kafka_names[0] = env.kafka_name;
    env.kafka_values[0] = env.kafka_value;
    env.kafka = (rv_props){1, env.kafka_names, env.kafka_values};
    char errstr[512] = "";
    if (rv_policy_load(env.policy_path, &env.policy, errstr, sizeof(errstr)) !=
            RV_OK ||
        rv_calendar_new(env.policy, &env.cal, errstr, sizeof(errstr)) !=
            RV_OK ||
        rv_pg_open(need("RV_IT_PG_DSN"), &env.pg, errstr, sizeof(errstr)) !=
            RV_OK ||
        rv_redis_open(need("RV_IT_REDIS_URL"), 5000, &env.rc, errstr,
                      sizeof(errstr)) != RV_OK) {
        fprintf(stderr, "it_revisitctl_population: %s\n", errstr);
        return -1;
    }
    build_expectation();
    delete_fixture();
    insert_fixture();
    const char *set[] = {"SET", env.optout_key, "1"};
    redis_cmd(3, set);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    delete_fixture();
    rv_redis_close(env.rc);
    rv_pg_close(env.pg);
    rv_calendar_free(env.cal);
    rv_policy_free(env.policy);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_population_summary_is_exact_and_stable),
        cmocka_unit_test(test_population_refuses_bad_input),
        cmocka_unit_test(test_population_topics_carry_derived_ids),
        cmocka_unit_test(test_population_recorded_once),
    };
    return cmocka_run_group_tests_name("it_revisitctl_population", tests, setup,
                                       teardown);
}
