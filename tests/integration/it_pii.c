/* tests/integration/it_pii.c: PII and access (issue 6). Sales, a work
 * order and visit tasks of two branches of this run go through a real
 * recorder that logs in as a member of revisit_writer (so the writer role
 * has what the recorder needs); then:
 *   - no clear number of the run is in any column of any table, and
 *     phone_enc opens to the number with the stack's key;
 *   - `revisitctl reveal-phone` prints a task's number for a member of
 *     revisit_reveal and exits 77 for a user who is not;
 *   - a branch user sees only its branch in the tables and through the
 *     report views, and cannot reveal another branch's task;
 *   - revisit_reporting sees both branches and cannot INSERT.
 * Roles are cluster-wide: this run's users carry its pid and are dropped
 * at the end. */
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
#include "rv/log.h"
#include "rv/pg.h"
#include "rv/pii.h"

#define SALES 4 /* even: branch A, odd: branch B */
#define DAY "2005-03-15"
#define DAY_US INT64_C(86400000000)

static struct {
    const char *build_dir, *dsn;
    char nonce[32], group[64];
    char branch[2][48];
    char writer[48], reporting[48], branch_user[48], revealer[48];
    char task_id[SALES][RV_ID_SIZE];
    char phone[SALES + 1][16]; /* the last one: the work order's */
    rv_pii_key *key;
    rv_producer *kp;
    rv_pg *pg; /* the stack's superuser */
    it_kafka k;
} env;

static void exec_ok(rv_pg *pg, const char *sql)
{
    char err[512] = "";
    if (rv_pg_exec(pg, sql, 0, NULL, NULL, err, sizeof(err)) != RV_OK) {
        fail_msg("%s: %s", sql, err);
    }
}

static void drop_roles(void)
{
    const char *roles[] = {env.writer, env.reporting, env.branch_user,
                           env.revealer};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM branch_access WHERE role_name = '%s'", roles[i]);
        exec_ok(env.pg, sql);
        snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", roles[i]);
        exec_ok(env.pg, sql);
    }
}

/* A LOGIN user of this run in @p groups (comma-separated). */
static void create_user(const char *name, const char *groups)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN IN ROLE %s", name, groups);
    exec_ok(env.pg, sql);
}

/* The stack's DSN as user @p user (pg_hba trusts 127.0.0.1; a later
 * user= overrides the stack's). */
static void dsn_as(const char *user, char *out, size_t size)
{
    snprintf(out, size, "%s user=%s", env.dsn, user);
}

static rv_pg *open_as(const char *user)
{
    char dsn[1024], err[512] = "";
    dsn_as(user, dsn, sizeof(dsn));
    rv_pg *pg = NULL;
    if (rv_pg_open(dsn, &pg, err, sizeof(err)) != RV_OK) {
        fail_msg("connect as %s: %s", user, err);
    }
    return pg;
}

static int setup(void **state)
{
    (void)state;
    env.build_dir = it_need("it_pii", "RV_BUILD_DIR");
    env.dsn = it_need("it_pii", "RV_IT_PG_DSN");
    const char *key_file = it_need("it_pii", "RV_IT_PII_KEY_FILE");
    setenv("RV_PII_KEY_FILE", key_file, 1);
    it_kafka_init(&env.k, "it_pii");
    snprintf(env.nonce, sizeof(env.nonce), "%ld-%d", (long)time(NULL),
             (int)getpid());
    snprintf(env.group, sizeof(env.group), "it-pii-%s", env.nonce);
    for (int b = 0; b < 2; b++) {
        snprintf(env.branch[b], sizeof(env.branch[b]), "itpii-%c-%s", 'A' + b,
                 env.nonce);
    }
    int pid = (int)getpid();
    snprintf(env.writer, sizeof(env.writer), "it_pii_writer_%d", pid);
    snprintf(env.reporting, sizeof(env.reporting), "it_pii_reporting_%d", pid);
    snprintf(env.branch_user, sizeof(env.branch_user), "it_pii_branch_%d", pid);
    snprintf(env.revealer, sizeof(env.revealer), "it_pii_revealer_%d", pid);
    /* 11 digits no other test uses: 197, then the pid and the index. */
    for (int i = 0; i <= SALES; i++) {
        snprintf(env.phone[i], sizeof(env.phone[i]), "197%06d%02d",
                 pid % 1000000, i);
    }
    char err[512] = "";
    if (rv_pii_key_load(key_file, &env.key, err, sizeof(err)) != RV_OK ||
        rv_producer_open(&env.k.props, "it_pii", &env.kp, err, sizeof(err)) !=
            RV_OK ||
        rv_pg_open(env.dsn, &env.pg, err, sizeof(err)) != RV_OK) {
        fprintf(stderr, "it_pii: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    drop_roles();
    rv_producer_close(env.kp, 5000);
    rv_pg_close(env.pg);
    rv_pii_key_free(env.key);
    return 0;
}

static void derive(char out[RV_ID_SIZE], const char *what, int i)
{
    char name[96];
    snprintf(name, sizeof(name), "%s%d-%s", what, i, env.nonce);
    const char *parts[] = {"it_pii", name};
    rv_id_derive(out, 2, parts);
}

static void send_msg(const char *topic, const char *key, uint8_t *buf,
                     size_t len)
{
    assert_int_equal(rv_producer_send(env.kp, topic, key, buf, len, NULL, 0),
                     RV_OK);
    free(buf);
}

/* Per i: a sale and its task, branch A for even i, B for odd; one work
 * order in branch A. */
static void send_records(void)
{
    int64_t at = it_day_noon_us(DAY);
    for (int i = 0; i < SALES; i++) {
        rv_sale s;
        memset(&s, 0, sizeof(s));
        char id[RV_ID_SIZE];
        derive(id, "sale", i);
        rv_envelope_fill(&s.env, id, at, "it", "");
        snprintf(s.order_id, sizeof(s.order_id), "itpii-o%d-%s", i, env.nonce);
        snprintf(s.customer_id, sizeof(s.customer_id), "itpii-c%d-%s", i,
                 env.nonce);
        snprintf(s.branch_id, sizeof(s.branch_id), "%s", env.branch[i % 2]);
        snprintf(s.store_id, sizeof(s.store_id), "itpii-store");
        snprintf(s.currency, sizeof(s.currency), "USD");
        snprintf(s.phone, sizeof(s.phone), "%s", env.phone[i]);
        s.amount_cents = 10000 + i;
        it_send_sale(env.kp, &s);

        rv_task *t = calloc(1, sizeof(*t));
        assert_non_null(t);
        derive(env.task_id[i], "task", i);
        rv_envelope_fill(&t->env, env.task_id[i], at, "it", id);
        snprintf(t->task_id, sizeof(t->task_id), "%s", env.task_id[i]);
        snprintf(t->customer_id, sizeof(t->customer_id), "%s", s.customer_id);
        snprintf(t->branch_id, sizeof(t->branch_id), "%s", s.branch_id);
        snprintf(t->store_id, sizeof(t->store_id), "%s", s.store_id);
        snprintf(t->rule_id, sizeof(t->rule_id), "R1");
        snprintf(t->source_event_id, sizeof(t->source_event_id), "%s", id);
        snprintf(t->policy_version, sizeof(t->policy_version), "it-pii");
        snprintf(t->phone, sizeof(t->phone), "%s", env.phone[i]);
        t->channel = RV_CHANNEL_PHONE;
        t->attempt = 1;
        t->due_start_us = at + DAY_US;
        t->due_end_us = at + 6 * DAY_US;
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(rv_codec_encode_task(t, &buf, &len), RV_OK);
        send_msg("visits.tasks", t->customer_id, buf, len);
        free(t);
    }
    rv_work_order w;
    memset(&w, 0, sizeof(w));
    char id[RV_ID_SIZE];
    derive(id, "wo", 0);
    rv_envelope_fill(&w.env, id, at, "it", "");
    snprintf(w.work_order_id, sizeof(w.work_order_id), "itpii-wo-%s",
             env.nonce);
    w.kind = RV_WORK_ORDER_COMPLAINT;
    snprintf(w.customer_id, sizeof(w.customer_id), "itpii-c0-%s", env.nonce);
    snprintf(w.branch_id, sizeof(w.branch_id), "%s", env.branch[0]);
    snprintf(w.phone, sizeof(w.phone), "%s", env.phone[SALES]);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_work_order(&w, &buf, &len), RV_OK);
    send_msg("service.events", w.customer_id, buf, len);
    assert_int_equal(rv_producer_flush(env.kp, 10000), RV_OK);
}

/* One text value of @p sql with up to one parameter; asserts one row. */
static void query_one(rv_pg *pg, const char *sql, const char *param, char *out,
                      size_t size)
{
    const char *params[] = {param};
    rv_pg_result *res = NULL;
    char err[512] = "";
    if (rv_pg_exec(pg, sql, param != NULL ? 1 : 0, params, &res, err,
                   sizeof(err)) != RV_OK) {
        fail_msg("%s: %s", sql, err);
    }
    assert_int_equal(rv_pg_result_rows(res), 1);
    snprintf(out, size, "%s",
             rv_pg_result_is_null(res, 0, 0) ? "(null)"
                                             : rv_pg_result_value(res, 0, 0));
    rv_pg_result_free(res);
}

static int64_t count_of(rv_pg *pg, const char *sql, const char *param)
{
    char v[64];
    query_one(pg, sql, param, v, sizeof(v));
    return strtoll(v, NULL, 10);
}

/* The recorder, logged in as a member of revisit_writer, records the run
 * (and whatever else the topics hold; inserts are idempotent). */
static void test_pii_writer_records_the_run(void **state)
{
    (void)state;
    drop_roles(); /* none: the names carry this pid */
    create_user(env.writer, "revisit_writer");
    create_user(env.reporting, "revisit_reporting");
    create_user(env.branch_user, "revisit_branch, revisit_reveal");
    create_user(env.revealer, "revisit_reporting, revisit_reveal");
    char sql[512];
    snprintf(sql, sizeof(sql), "INSERT INTO branch_access VALUES ('%s', '%s')",
             env.branch_user, env.branch[0]);
    exec_ok(env.pg, sql);

    send_records();
    char dsn[1024];
    dsn_as(env.writer, dsn, sizeof(dsn));
    setenv("RV_PG_DSN", dsn, 1);
    setenv("RV_GROUP_ID", env.group, 1);
    setenv("RV_TOPICS", "sales.events,service.events,visits.tasks", 1);
    pid_t pid = it_spawn_worker(env.build_dir, "it_pii", "recorder");
    const char *topics[] = {"sales.events", "service.events", "visits.tasks"};
    int64_t lag = it_wait_group_lag(&env.k, env.group, topics, 3, 240);
    const char *names[] = {"recorder"};
    assert_int_equal(it_stop_workers(&pid, names, 1), 0);
    assert_int_equal(lag, 0);
    unsetenv("RV_TOPICS");
    for (int i = 0; i < SALES; i++) {
        assert_int_equal(count_of(env.pg,
                                  "SELECT count(*) FROM visit_tasks WHERE "
                                  "task_id = $1",
                                  env.task_id[i]),
                         1);
    }
}

/* No column of any table holds a clear number of the run: text, arrays
 * and JSON through to_jsonb, bytea (dead letters' payloads) by bytes. */
static void test_pii_no_clear_number_at_rest(void **state)
{
    (void)state;
    rv_pg_result *tabs = NULL;
    char err[512] = "";
    assert_int_equal(
        rv_pg_exec(env.pg,
                   "SELECT table_name::text FROM information_schema.tables "
                   "WHERE table_schema = current_schema() AND table_type = "
                   "'BASE TABLE' ORDER BY 1",
                   0, NULL, &tabs, err, sizeof(err)),
        RV_OK);
    assert_true(rv_pg_result_rows(tabs) >= 12);
    for (size_t t = 0; t < rv_pg_result_rows(tabs); t++) {
        const char *tab = rv_pg_result_value(tabs, t, 0);
        for (int i = 0; i <= SALES; i++) {
            char sql[512];
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM %s x WHERE strpos(to_jsonb(x)::"
                     "text, $1) > 0",
                     tab);
            if (count_of(env.pg, sql, env.phone[i]) != 0) {
                fail_msg("table %s holds a clear phone number", tab);
            }
        }
    }
    rv_pg_result_free(tabs);
    rv_pg_result *cols = NULL;
    assert_int_equal(
        rv_pg_exec(env.pg,
                   "SELECT table_name::text, column_name::text FROM "
                   "information_schema.columns WHERE table_schema = "
                   "current_schema() AND data_type = 'bytea'",
                   0, NULL, &cols, err, sizeof(err)),
        RV_OK);
    for (size_t c = 0; c < rv_pg_result_rows(cols); c++) {
        for (int i = 0; i <= SALES; i++) {
            char sql[512];
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM %s WHERE position("
                     "convert_to($1, 'UTF8') IN %s) > 0",
                     rv_pg_result_value(cols, c, 0),
                     rv_pg_result_value(cols, c, 1));
            assert_int_equal(count_of(env.pg, sql, env.phone[i]), 0);
        }
    }
    rv_pg_result_free(cols);
}

static void assert_opens_to(const char *sql, const char *id, const char *phone)
{
    char enc[RV_PII_SEALED_SIZE + 16], plain[RV_PII_PLAIN_MAX + 1];
    query_one(env.pg, sql, id, enc, sizeof(enc));
    char err[256] = "";
    if (rv_pii_open(env.key, enc, plain, sizeof(plain), err, sizeof(err)) !=
        RV_OK) {
        fail_msg("%s (%s): %s", sql, id, err);
    }
    assert_string_equal(plain, phone);
}

static void test_pii_phone_enc_opens_to_the_number(void **state)
{
    (void)state;
    for (int i = 0; i < SALES; i++) {
        char id[RV_ID_SIZE];
        derive(id, "sale", i);
        assert_opens_to("SELECT phone_enc FROM sales WHERE event_id = $1", id,
                        env.phone[i]);
        assert_opens_to("SELECT phone_enc FROM visit_tasks WHERE task_id = $1",
                        env.task_id[i], env.phone[i]);
        char masked[RV_PHONE_SIZE], v[64];
        rv_log_mask_phone(env.phone[i], masked, sizeof(masked));
        query_one(env.pg, "SELECT phone_masked FROM sales WHERE event_id = $1",
                  id, v, sizeof(v));
        assert_string_equal(v, masked);
    }
    char id[RV_ID_SIZE];
    derive(id, "wo", 0);
    assert_opens_to("SELECT phone_enc FROM work_orders WHERE event_id = $1", id,
                    env.phone[SALES]);
    /* The sale and its task hold the same text: deterministic. */
    char a[RV_PII_SEALED_SIZE + 16], b[RV_PII_SEALED_SIZE + 16];
    derive(id, "sale", 0);
    query_one(env.pg, "SELECT phone_enc FROM sales WHERE event_id = $1", id, a,
              sizeof(a));
    query_one(env.pg, "SELECT phone_enc FROM visit_tasks WHERE task_id = $1",
              env.task_id[0], b, sizeof(b));
    assert_string_equal(a, b);
}

/* revisitctl reveal-phone as @p user; its stdout into @p out. */
static int reveal_as(const char *user, const char *task_id, char *out,
                     size_t size)
{
    char dsn[1024], cmd[2048];
    dsn_as(user, dsn, sizeof(dsn));
    snprintf(cmd, sizeof(cmd),
             "%s/workers/revisitctl/revisitctl reveal-phone --task %s "
             "--dsn '%s' 2>>%s/it_pii_reveal.err",
             env.build_dir, task_id, dsn, env.build_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_pii_reveal_phone_needs_revisit_reveal(void **state)
{
    (void)state;
    char out[256], want[32];
    /* A member of revisit_reveal (and of revisit_reporting: every row). */
    for (int i = 0; i < SALES; i++) {
        assert_int_equal(
            reveal_as(env.revealer, env.task_id[i], out, sizeof(out)), 0);
        snprintf(want, sizeof(want), "%s\n", env.phone[i]);
        assert_string_equal(out, want);
    }
    /* Not a member: refused, nothing printed. */
    assert_int_equal(reveal_as(env.reporting, env.task_id[0], out, sizeof(out)),
                     77);
    assert_string_equal(out, "");
    /* A branch's member of revisit_reveal: its own branch's tasks only. */
    assert_int_equal(
        reveal_as(env.branch_user, env.task_id[0], out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "%s\n", env.phone[0]);
    assert_string_equal(out, want);
    assert_int_equal(
        reveal_as(env.branch_user, env.task_id[1], out, sizeof(out)), 1);
    assert_string_equal(out, "");
    /* No such task. */
    assert_int_equal(reveal_as(env.revealer, "no-such-task", out, sizeof(out)),
                     1);
}

/* Row-level security: the branch user sees branch A only, in the tables
 * and through the (security_invoker) report views. */
static void test_pii_branch_user_sees_only_its_branch(void **state)
{
    (void)state;
    rv_pg *pg = open_as(env.branch_user);
    const char *a = env.branch[0], *b = env.branch[1];
    static const char *const by_branch[] = {
        "SELECT count(*) FROM visit_tasks WHERE branch_id = $1",
        "SELECT count(*) FROM sales WHERE branch_id = $1",
        "SELECT count(*) FROM report_task_status WHERE branch_id = $1",
        "SELECT count(*) FROM report_branch_month WHERE branch_id = $1",
    };
    static const int64_t want_a[] = {2, 2, 2, 1};
    for (size_t q = 0; q < sizeof(by_branch) / sizeof(by_branch[0]); q++) {
        assert_int_equal(count_of(pg, by_branch[q], a), want_a[q]);
        assert_int_equal(count_of(pg, by_branch[q], b), 0);
        /* The superuser sees B's rows. */
        assert_int_equal(count_of(env.pg, by_branch[q], b), want_a[q]);
    }
    assert_int_equal(count_of(pg,
                              "SELECT orders FROM report_branch_month WHERE "
                              "branch_id = $1",
                              a),
                     2);
    /* Nothing of any other branch, whatever the filter. */
    assert_int_equal(
        count_of(pg, "SELECT count(*) FROM visit_tasks WHERE branch_id <> $1",
                 a),
        0);
    assert_int_equal(
        count_of(pg, "SELECT count(*) FROM sales WHERE branch_id <> $1", a), 0);
    assert_int_equal(count_of(pg,
                              "SELECT count(*) FROM report_branch_month "
                              "WHERE branch_id <> $1",
                              a),
                     0);
    assert_int_equal(
        count_of(pg, "SELECT count(*) FROM work_orders WHERE branch_id = $1",
                 a),
        1);
    /* And it writes nothing. */
    char err[512] = "";
    assert_int_equal(rv_pg_exec(pg,
                                "DELETE FROM visit_tasks WHERE branch_id = "
                                "'nothing'",
                                0, NULL, NULL, err, sizeof(err)),
                     RV_ERR_INVALID);
    assert_string_equal(rv_pg_sqlstate(pg), "42501");
    rv_pg_close(pg);
}

/* revisit_reporting reads every branch, the dead letters' reasons but
 * not their bytes, and cannot INSERT; the writer can (it recorded the
 * run; here once more by hand, rolled back). */
static void test_pii_reporting_reads_all_writes_nothing(void **state)
{
    (void)state;
    rv_pg *pg = open_as(env.reporting);
    for (int b = 0; b < 2; b++) {
        assert_int_equal(count_of(pg,
                                  "SELECT count(*) FROM visit_tasks WHERE "
                                  "branch_id = $1",
                                  env.branch[b]),
                         2);
        assert_int_equal(count_of(pg,
                                  "SELECT count(*) FROM report_branch_month "
                                  "WHERE branch_id = $1",
                                  env.branch[b]),
                         1);
    }
    /* What the auditor's reports read (014_reporting_reads.sql): the
     * dead letters' count and reasons, not their raw bytes, and the
     * migration log (`report --summary`, `replay report`). */
    assert_true(count_of(pg, "SELECT count(*) FROM dead_letters", NULL) >= 0);
    assert_true(count_of(pg,
                         "SELECT count(reason) + count(source_topic) FROM "
                         "dead_letters",
                         NULL) >= 0);
    assert_true(count_of(pg, "SELECT count(*) FROM schema_migrations", NULL) >=
                14);
    char err0[512] = "";
    const char *raw[] = {"SELECT payload FROM dead_letters LIMIT 1",
                         "SELECT key FROM dead_letters LIMIT 1",
                         "SELECT * FROM dead_letters LIMIT 1"};
    for (size_t i = 0; i < sizeof(raw) / sizeof(*raw); i++) {
        assert_int_equal(
            rv_pg_exec(pg, raw[i], 0, NULL, NULL, err0, sizeof(err0)),
            RV_ERR_INVALID);
        assert_string_equal(rv_pg_sqlstate(pg), "42501");
    }
    static const char insert[] =
        "INSERT INTO sales (event_id, order_id, customer_id, branch_id, "
        "store_id, amount_cents, currency, segment, phone_masked, "
        "phone_synthetic, line_count, occurred_at) VALUES ($1, 'o', 'c', "
        "'itpii-writer', 's', 1, 'USD', '', '', true, 1, now())";
    char id[RV_ID_SIZE], err[512] = "";
    derive(id, "by-hand", 0);
    const char *params[] = {id};
    assert_int_equal(rv_pg_exec(pg, insert, 1, params, NULL, err, sizeof(err)),
                     RV_ERR_INVALID);
    assert_string_equal(rv_pg_sqlstate(pg), "42501");
    assert_non_null(strstr(err, "permission denied"));
    rv_pg_close(pg);

    pg = open_as(env.writer);
    exec_ok(pg, "BEGIN");
    rv_pg_result *res = NULL;
    assert_int_equal(rv_pg_exec(pg, insert, 1, params, &res, err, sizeof(err)),
                     RV_OK);
    assert_int_equal(rv_pg_result_affected(res), 1);
    rv_pg_result_free(res);
    exec_ok(pg, "ROLLBACK");
    rv_pg_close(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pii_writer_records_the_run),
        cmocka_unit_test(test_pii_no_clear_number_at_rest),
        cmocka_unit_test(test_pii_phone_enc_opens_to_the_number),
        cmocka_unit_test(test_pii_reveal_phone_needs_revisit_reveal),
        cmocka_unit_test(test_pii_branch_user_sees_only_its_branch),
        cmocka_unit_test(test_pii_reporting_reads_all_writes_nothing),
    };
    return cmocka_run_group_tests_name("it_pii", tests, setup, teardown);
}
