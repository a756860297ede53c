/* tests/integration/it_recorder_sql.c: the recorder's rows and INSERT
 * statements (workers/recorder/recorder_rows.c) against the real schema
 * (deploy/sql, applied by the test script) on RV_IT_PG_DSN, and the
 * report view over them. Everything runs in one transaction that is
 * rolled back, so the database is left as found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recorder_rows.h"
#include "rv/codec.h"
#include "rv/model.h"
#include "rv/pg.h"
#include "rv/pii.h"

#define T_US INT64_C(1478608496123456) /* 2016-11-08 12:34:56.123456Z */
#define DAY_US INT64_C(86400000000)
#define BRANCH "it-recorder-branch"
/* Any key: this test opens what it sealed itself. */
#define TEST_KEY                                                               \
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"         \
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"

static rv_pg *open_pg(void)
{
    const char *dsn = getenv("RV_IT_PG_DSN");
    if (dsn == NULL || dsn[0] == '\0') {
        fail_msg("RV_IT_PG_DSN is not set: start PostgreSQL and set it");
    }
    rv_pg *pg = NULL;
    char errstr[512] = "";
    if (rv_pg_open(dsn, &pg, errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("cannot reach PostgreSQL at RV_IT_PG_DSN: %s", errstr);
    }
    return pg;
}

static void exec_ok(rv_pg *pg, const char *sql)
{
    char errstr[512] = "";
    if (rv_pg_exec(pg, sql, 0, NULL, NULL, errstr, sizeof(errstr)) != RV_OK) {
        fail_msg("%s: %s", sql, errstr);
    }
}

/* Insert every row of @p t in chunks, as the recorder does.
 * @returns the first error; *inserted counts new rows. */
static rv_err insert_all(rv_pg *pg, recorder_rows *r, recorder_table t,
                         int64_t *inserted, char *errstr, size_t errstr_size)
{
    size_t total = recorder_rows_count(r, t);
    size_t n = 0;
    *inserted = 0;
    for (size_t first = 0; (n = recorder_chunk_rows(t, total, first)) > 0;
         first += n) {
        char *sql = NULL;
        const char *const *params = NULL;
        assert_int_equal(recorder_insert_sql(t, &sql), RV_OK);
        assert_int_equal(recorder_rows_arrays(r, t, first, n, &params), RV_OK);
        rv_pg_result *res = NULL;
        rv_err err = rv_pg_exec(pg, sql, recorder_table_column_count(t), params,
                                &res, errstr, errstr_size);
        free(sql);
        if (err != RV_OK) {
            return err;
        }
        *inserted += rv_pg_result_affected(res);
        rv_pg_result_free(res);
    }
    return RV_OK;
}

static void insert_ok(rv_pg *pg, recorder_rows *r, recorder_table t,
                      int64_t expect_inserted)
{
    char errstr[512] = "";
    int64_t inserted = 0;
    rv_err err = insert_all(pg, r, t, &inserted, errstr, sizeof(errstr));
    if (err != RV_OK) {
        fail_msg("insert into %s: %s", recorder_table_name(t), errstr);
    }
    assert_int_equal(inserted, expect_inserted);
}

/* The single value of @p sql with parameter @p p1 (may be NULL). */
static void query_one(rv_pg *pg, const char *sql, const char *p1, char *out,
                      size_t out_size)
{
    rv_pg_result *res = NULL;
    char errstr[512] = "";
    const char *params[] = {p1};
    if (rv_pg_exec(pg, sql, p1 != NULL ? 1 : 0, params, &res, errstr,
                   sizeof(errstr)) != RV_OK) {
        fail_msg("%s: %s", sql, errstr);
    }
    assert_int_equal(rv_pg_result_rows(res), 1);
    snprintf(out, out_size, "%s", rv_pg_result_value(res, 0, 0));
    rv_pg_result_free(res);
}

/* The event ID of the sale that goes through the decoder, which takes
 * only 32 lowercase hex digits (tester finding 7). */
#define SALE_2_EVENT_ID "5a1e0000000000000000000000000002"

static void env(rv_envelope *e, const char *event_id, const char *cause)
{
    rv_copy_str(e->event_id, sizeof(e->event_id), event_id);
    rv_copy_str(e->causation_id, sizeof(e->causation_id), cause);
    rv_copy_str(e->producer, sizeof(e->producer), "it/0");
    e->occurred_at_us = T_US;
    e->produced_at_us = T_US + 5;
    e->schema_version = RV_SCHEMA_VERSION;
}

static void make_task(rv_task *t, int i)
{
    *t = (rv_task){0};
    char id[RV_ID_SIZE];
    snprintf(id, sizeof(id), "it-task-%04d", i);
    env(&t->env, id, "it-sale-1");
    rv_copy_str(t->task_id, sizeof(t->task_id), id);
    rv_copy_str(t->customer_id, sizeof(t->customer_id), "it-cust");
    rv_copy_str(t->branch_id, sizeof(t->branch_id), BRANCH);
    rv_copy_str(t->store_id, sizeof(t->store_id), "it-store");
    rv_copy_str(t->rule_id, sizeof(t->rule_id), "R1");
    rv_copy_str(t->reasons[0], RV_REASON_SIZE, "post-sale \"R1\", {x}");
    rv_copy_str(t->reasons[1], RV_REASON_SIZE, "back\\slash");
    t->reason_count = 2;
    rv_copy_str(t->source_event_id, sizeof(t->source_event_id), "it-sale-1");
    t->due_start_us = T_US;
    t->due_end_us = T_US + 3 * DAY_US;
    t->channel = RV_CHANNEL_PHONE;
    rv_copy_str(t->questions[0], RV_KEY_SIZE, "q.sat");
    t->question_count = 1;
    rv_copy_str(t->policy_version, sizeof(t->policy_version), "it-1");
    t->attempt = 1;
    rv_copy_str(t->phone, sizeof(t->phone), "13812345678");
    t->sample_u = 0.125;
    t->sample_rate = 0.0 / 0.0;
}

static void test_recorder_rows_fit_schema_and_report_view(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    recorder_rows *r = NULL;
    rv_pii_key *key = NULL;
    assert_int_equal(rv_pii_key_parse(TEST_KEY, &key, NULL, 0), RV_OK);
    assert_int_equal(recorder_rows_new(key, &r), RV_OK);
    exec_ok(pg, "BEGIN");

    rv_sale s = {0};
    env(&s.env, "it-sale-1", "");
    rv_copy_str(s.order_id, sizeof(s.order_id), "IT-ORDER-1");
    rv_copy_str(s.customer_id, sizeof(s.customer_id), "it-cust");
    rv_copy_str(s.branch_id, sizeof(s.branch_id), BRANCH);
    rv_copy_str(s.store_id, sizeof(s.store_id), "it-store");
    s.amount_cents = 500000;
    rv_copy_str(s.currency, sizeof(s.currency), "USD");
    rv_copy_str(s.phone, sizeof(s.phone), "13812345678");
    assert_int_equal(recorder_rows_add_sale(r, 0, &s), RV_OK);
    assert_int_equal(recorder_rows_add_sale(r, 1, &s), RV_OK); /* dup */
    /* A sale consumed from Kafka: its row names the message (012). */
    rv_sale s2 = s;
    env(&s2.env, SALE_2_EVENT_ID, ""); /* decoded: 32 hex digits */
    rv_copy_str(s2.branch_id, sizeof(s2.branch_id), "it-other-branch");
    uint8_t *s2buf = NULL;
    size_t s2len = 0;
    assert_int_equal(rv_codec_encode_sale(&s2, &s2buf, &s2len), RV_OK);
    rv_msg sm = {.topic = "sales.events",
                 .partition = 2,
                 .key = (const uint8_t *)s2.customer_id,
                 .key_len = strlen(s2.customer_id),
                 .offset = 77,
                 .timestamp_ms = -1,
                 .payload = s2buf,
                 .len = s2len};
    assert_int_equal(recorder_rows_add_msg(r, 1, &sm, NULL, NULL, 0), RV_OK);
    free(s2buf);

    rv_work_order w = {0};
    env(&w.env, "it-wo-1", "");
    rv_copy_str(w.work_order_id, sizeof(w.work_order_id), "WO-1");
    w.kind = RV_WORK_ORDER_COMPLAINT;
    rv_copy_str(w.customer_id, sizeof(w.customer_id), "it-cust");
    rv_copy_str(w.branch_id, sizeof(w.branch_id), BRANCH);
    assert_int_equal(recorder_rows_add_work_order(r, 2, &w), RV_OK);

    /* 3000 tasks: more than one INSERT's worth (RECORDER_ROWS_PER_INSERT). */
    rv_task t;
    for (int i = 0; i < 3000; i++) {
        make_task(&t, i);
        assert_int_equal(recorder_rows_add_task(r, 3, &t), RV_OK);
    }
    assert_true(recorder_rows_per_insert(RECORDER_VISIT_TASKS) < 3000);
    make_task(&t, 1);
    t.attempt = 2;
    rv_copy_str(t.env.event_id, sizeof(t.env.event_id), "it-retry-1");
    assert_int_equal(recorder_rows_add_retry(r, 4, &t), RV_OK);

    /* Task 0: booked, answered, satisfied, in time, one alert.
     * Task 1: booked twice, failed. Task 2: unassigned. */
    rv_assignment a = {0};
    env(&a.env, "it-asg-0", "it-task-0000");
    rv_copy_str(a.assignment_id, sizeof(a.assignment_id), "it-asg-0");
    rv_copy_str(a.task_id, sizeof(a.task_id), "it-task-0000");
    a.attempt = 1;
    a.status = RV_ASSIGNED;
    rv_copy_str(a.agent_id, sizeof(a.agent_id), "agent-1");
    rv_copy_str(a.day, sizeof(a.day), "2016-11-09");
    a.window_start_us = T_US + DAY_US;
    a.window_end_us = T_US + DAY_US + 3600000000;
    a.channel = RV_CHANNEL_PHONE;
    assert_int_equal(recorder_rows_add_assignment(r, 5, &a), RV_OK);
    rv_copy_str(a.assignment_id, sizeof(a.assignment_id), "it-asg-1");
    rv_copy_str(a.task_id, sizeof(a.task_id), "it-task-0001");
    assert_int_equal(recorder_rows_add_assignment(r, 5, &a), RV_OK);
    rv_copy_str(a.assignment_id, sizeof(a.assignment_id), "it-asg-2");
    rv_copy_str(a.task_id, sizeof(a.task_id), "it-task-0002");
    a.status = RV_UNASSIGNED;
    a.agent_id[0] = '\0';
    a.day[0] = '\0';
    a.window_start_us = 0;
    a.window_end_us = 0;
    rv_copy_str(a.reason, sizeof(a.reason), "no capacity");
    assert_int_equal(recorder_rows_add_assignment(r, 5, &a), RV_OK);

    rv_outcome o = {0};
    env(&o.env, "it-out-0", "it-asg-0");
    rv_copy_str(o.outcome_id, sizeof(o.outcome_id), "it-out-0");
    rv_copy_str(o.assignment_id, sizeof(o.assignment_id), "it-asg-0");
    rv_copy_str(o.task_id, sizeof(o.task_id), "it-task-0000");
    o.attempt = 1;
    o.disposition = RV_DISP_ANSWERED;
    o.started_at_us = T_US + DAY_US;
    o.talk_time_s = 95;
    rv_copy_str(o.answers[0].question_id, RV_KEY_SIZE, "q.sat");
    rv_copy_str(o.answers[0].value, RV_KEY_SIZE, "5 \"very\"\t\\");
    o.answer_count = 1;
    o.satisfaction = 5;
    rv_copy_str(o.notes, sizeof(o.notes), "客戶很滿意");
    assert_int_equal(recorder_rows_add_outcome(r, 6, &o), RV_OK);

    rv_grade g = {0};
    env(&g.env, "it-grade-0", "it-out-0");
    rv_copy_str(g.grade_id, sizeof(g.grade_id), "it-grade-0");
    rv_copy_str(g.outcome_id, sizeof(g.outcome_id), "it-out-0");
    rv_copy_str(g.task_id, sizeof(g.task_id), "it-task-0000");
    rv_copy_str(g.branch_id, sizeof(g.branch_id), BRANCH);
    g.attempt = 1;
    g.verdict = RV_VERDICT_SUCCESS;
    g.disposition = RV_DISP_ANSWERED;
    g.satisfaction = 5;
    g.band = RV_BAND_SATISFIED;
    g.evidence_ok = true;
    g.in_due_window = true;
    rv_copy_str(g.reason, sizeof(g.reason), "all answered");
    assert_int_equal(recorder_rows_add_grade(r, 7, &g), RV_OK);
    rv_copy_str(g.grade_id, sizeof(g.grade_id), "it-grade-1r");
    rv_copy_str(g.task_id, sizeof(g.task_id), "it-task-0001");
    g.verdict = RV_VERDICT_RETRY;
    g.satisfaction = -1;
    g.band = RV_BAND_NONE;
    assert_int_equal(recorder_rows_add_grade(r, 7, &g), RV_OK);
    rv_copy_str(g.grade_id, sizeof(g.grade_id), "it-grade-1f");
    g.attempt = 2;
    g.verdict = RV_VERDICT_FAILED;
    assert_int_equal(recorder_rows_add_grade(r, 7, &g), RV_OK);

    rv_alert al = {0};
    env(&al.env, "it-alert-0", "it-grade-0");
    rv_copy_str(al.alert_id, sizeof(al.alert_id), "it-alert-0");
    rv_copy_str(al.task_id, sizeof(al.task_id), "it-task-0000");
    rv_copy_str(al.branch_id, sizeof(al.branch_id), BRANCH);
    rv_copy_str(al.kind, sizeof(al.kind), "A1.password_known");
    al.severity = RV_SEVERITY_MAJOR;
    assert_int_equal(recorder_rows_add_alert(r, 8, &al), RV_OK);

    const uint8_t payload[] = {0x00, 0xff, 0x80};
    rv_msg dm = {.topic = "it.recorder.dlq",
                 .partition = 0,
                 .offset = 7,
                 .timestamp_ms = 1478608496123,
                 .payload = payload,
                 .len = sizeof(payload)};
    recorder_dlq_source src = {.reason = "bad \xff bytes",
                               .topic = "it.recorder",
                               .partition = "2",
                               .offset = "99"};
    assert_int_equal(recorder_rows_add_msg(r, 9, &dm, &src, NULL, 0), RV_OK);
    assert_int_equal(recorder_rows_add_msg(r, 9, &dm, &src, NULL, 0), RV_OK);

    insert_ok(pg, r, RECORDER_SALES, 2);
    insert_ok(pg, r, RECORDER_WORK_ORDERS, 1);
    insert_ok(pg, r, RECORDER_VISIT_TASKS, 3000);
    insert_ok(pg, r, RECORDER_TASK_RETRIES, 1);
    insert_ok(pg, r, RECORDER_ASSIGNMENTS, 3);
    insert_ok(pg, r, RECORDER_OUTCOMES, 1);
    insert_ok(pg, r, RECORDER_GRADES, 3);
    insert_ok(pg, r, RECORDER_ALERTS, 1);
    insert_ok(pg, r, RECORDER_DEAD_LETTERS, 1);
    /* A retried batch inserts nothing. */
    insert_ok(pg, r, RECORDER_VISIT_TASKS, 0);
    insert_ok(pg, r, RECORDER_GRADES, 0);

    char v[256];
    query_one(pg, "SELECT phone_masked FROM sales WHERE event_id = $1",
              "it-sale-1", v, sizeof(v));
    assert_string_equal(v, "138****5678");
    query_one(pg, "SELECT phone_enc FROM sales WHERE event_id = $1",
              "it-sale-1", v, sizeof(v));
    char plain[RV_PII_PLAIN_MAX + 1];
    assert_int_equal(rv_pii_open(key, v, plain, sizeof(plain), NULL, 0), RV_OK);
    assert_string_equal(plain, "13812345678");
    query_one(pg,
              "SELECT coalesce(kafka_partition::text, 'null') || '/' || "
              "coalesce(kafka_offset::text, 'null') FROM sales "
              "WHERE event_id = $1",
              SALE_2_EVENT_ID, v, sizeof(v));
    assert_string_equal(v, "2/77");
    query_one(pg,
              "SELECT coalesce(kafka_partition::text, 'null') FROM sales "
              "WHERE event_id = $1",
              "it-sale-1", v, sizeof(v));
    assert_string_equal(v, "null");
    query_one(pg,
              "SELECT reasons[1] || '|' || reasons[2] || '|' || "
              "sample_rate::text || '|' || due_end::text FROM visit_tasks "
              "WHERE task_id = $1",
              "it-task-0007", v, sizeof(v));
    assert_string_equal(v, "post-sale \"R1\", {x}|back\\slash|NaN|"
                           "2016-11-11 12:34:56.123456+00");
    query_one(pg,
              "SELECT answers->0->>'value' || '|' || notes || '|' || "
              "satisfaction FROM outcomes WHERE outcome_id = $1",
              "it-out-0", v, sizeof(v));
    assert_string_equal(v, "5 \"very\"\t\\|客戶很滿意|5");
    query_one(pg,
              "SELECT reason || '|' || encode(payload, 'hex') || '|' || "
              "dlq_topic || '|' || source_offset FROM dead_letters WHERE "
              "source_topic = $1",
              "it.recorder", v, sizeof(v));
    assert_string_equal(v, "bad ? bytes|00ff80|it.recorder.dlq|99");
    query_one(pg,
              "SELECT coalesce(agent_id, 'null') || '|' || "
              "coalesce(day::text, 'null') FROM assignments "
              "WHERE assignment_id = $1",
              "it-asg-2", v, sizeof(v));
    assert_string_equal(v, "null|null");

    /* The report view: 3000 tasks, 2 done, 1 successful, scored,
     * satisfied and timely; 1 alert; 1 order. */
    query_one(pg,
              "SELECT concat_ws(',', month, orders, tasks, done, successful, "
              "scored, satisfied, timely, alerts) FROM report_branch_month "
              "WHERE branch_id = $1",
              BRANCH, v, sizeof(v));
    assert_string_equal(v, "2016-11-01,1,3000,2,1,1,1,1,1");

    /* A row the server refuses fails the whole statement with a data
     * exception (class 22): the recorder then goes row by row. */
    recorder_rows_clear(r);
    rv_copy_str(a.assignment_id, sizeof(a.assignment_id), "it-asg-bad");
    rv_copy_str(a.day, sizeof(a.day), "2016-13-45");
    assert_int_equal(recorder_rows_add_assignment(r, 0, &a), RV_OK);
    exec_ok(pg, "SAVEPOINT bad_row");
    char errstr[512] = "";
    int64_t inserted = 0;
    assert_int_equal(insert_all(pg, r, RECORDER_ASSIGNMENTS, &inserted, errstr,
                                sizeof(errstr)),
                     RV_ERR_INVALID);
    assert_memory_equal(rv_pg_sqlstate(pg), "22", 2);
    exec_ok(pg, "ROLLBACK TO SAVEPOINT bad_row");

    exec_ok(pg, "ROLLBACK");
    recorder_rows_free(r);
    rv_pii_key_free(key);
    rv_pg_close(pg);
}

/* Issue 8, migration 012: where a replay of an event-time range starts
 * in a topic on a broker that cannot answer offsets by time. Partitions
 * 901.. stand apart from any other test's rows; all is rolled back. */
static void test_recorded_start_offsets(void **state)
{
    (void)state;
    rv_pg *pg = open_pg();
    exec_ok(pg, "BEGIN");
    /* 901: a message of two decisions, one before the range and one in
     * it, then one in it: the range starts at the first message. */
    exec_ok(pg, "INSERT INTO decisions (decision_id, event_id, "
                "source_event_id, customer_id, branch_id, rule_id, outcome, "
                "u, rate, policy_version, reason, occurred_at, "
                "kafka_partition, kafka_offset) SELECT 'it-so-' || n, "
                "'it-so-' || n, 'it-sale', 'it-cust', 'it-so-branch', 'R1', "
                "'not_selected', 0.5, 0.1, 'v', 'r', "
                "'2016-11-08 12:00:00+00'::timestamptz + h * interval '1 "
                "hour', p, o FROM (VALUES (1, 901, 10, -1), (2, 901, 10, 1), "
                "(3, 901, 11, 2), (4, 903, 3, -2), (5, 903, 4, -1), "
                "(6, 904, 8, 1)) AS v(n, p, o, h)");
    /* 902: recorded before 012, in message_index only; 904: both. */
    exec_ok(pg, "INSERT INTO message_index (topic, partition, \"offset\", "
                "event_id, occurred_at) VALUES "
                "('visits.decisions', 902, 5, 'it-mi-1', "
                "'2016-11-08 11:00:00+00'), "
                "('visits.decisions', 902, 6, 'it-mi-2', "
                "'2016-11-08 13:00:00+00'), "
                "('visits.decisions', 904, 7, 'it-mi-3', "
                "'2016-11-08 13:00:00+00')");
    const char *sql =
        "SELECT string_agg(partition_id || ':' || start_offset, ',' ORDER BY "
        "partition_id) FROM recorded_start_offsets('visits.decisions', "
        "'2016-11-08 12:00:00+00') WHERE partition_id > 900";
    char v[256];
    query_one(pg, sql, NULL, v, sizeof(v));
    /* 903: nothing at or after the time: after its last message. */
    assert_string_equal(v, "901:10,902:6,903:5,904:7");
    /* A branch user with no branch sees none of those rows, yet gets the
     * same start: the answer is not filtered by row-level security. */
    exec_ok(pg, "SET LOCAL ROLE revisit_branch");
    query_one(pg, "SELECT count(*) FROM decisions WHERE kafka_partition > 900",
              NULL, v, sizeof(v));
    assert_string_equal(v, "0");
    query_one(pg, sql, NULL, v, sizeof(v));
    assert_string_equal(v, "901:10,902:6,903:5,904:7");
    /* A topic with no table of its own reads message_index alone. */
    query_one(pg,
              "SELECT count(*) FROM recorded_start_offsets('other.topic', "
              "now())",
              NULL, v, sizeof(v));
    assert_string_equal(v, "0");
    exec_ok(pg, "ROLLBACK");
    rv_pg_close(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorder_rows_fit_schema_and_report_view),
        cmocka_unit_test(test_recorded_start_offsets),
    };
    return cmocka_run_group_tests_name("it_recorder_sql", tests, NULL, NULL);
}
