/* tests/unit/test_recorder_rows.c: the recorder's I/O-free part
 * (workers/recorder/recorder_rows.c): rows, values, SQL and chunking. */
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
#include "rv/pii.h"

/* 2016-11-08 12:34:56.123456 UTC */
#define T_US INT64_C(1478608496123456)
#define T_TEXT "2016-11-08 12:34:56.123456+00"

static size_t col_index(recorder_table t, const char *name)
{
    for (size_t c = 0; c < recorder_table_column_count(t); c++) {
        if (strcmp(recorder_table_column(t, c), name) == 0) {
            return c;
        }
    }
    fail_msg("table %s has no column %s", recorder_table_name(t), name);
    return 0;
}

/* Value of column @p name in row @p row; NULL is SQL NULL. */
static const char *value(const recorder_rows *r, recorder_table t, size_t row,
                         const char *name)
{
    const char *const *p = recorder_rows_params(r, t, row);
    assert_non_null(p);
    return p[col_index(t, name)];
}

/* The key phone numbers are sealed with; set up once for the group. */
#define TEST_KEY                                                               \
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"         \
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
static rv_pii_key *test_key;

static int key_setup(void **state)
{
    (void)state;
    return rv_pii_key_parse(TEST_KEY, &test_key, NULL, 0) == RV_OK ? 0 : -1;
}

static int key_teardown(void **state)
{
    (void)state;
    rv_pii_key_free(test_key);
    test_key = NULL;
    return 0;
}

static recorder_rows *rows_new(void)
{
    recorder_rows *r = NULL;
    assert_int_equal(recorder_rows_new(test_key, &r), RV_OK);
    return r;
}

/* phone_enc of row @p row of @p t, opened with the test key. */
static void assert_phone_enc_opens_to(const recorder_rows *r, recorder_table t,
                                      size_t row, const char *phone)
{
    const char *enc = value(r, t, row, "phone_enc");
    assert_non_null(enc);
    assert_null(strstr(enc, phone));
    char plain[RV_PII_PLAIN_MAX + 1];
    assert_int_equal(rv_pii_open(test_key, enc, plain, sizeof(plain), NULL, 0),
                     RV_OK);
    assert_string_equal(plain, phone);
}

static void fill_env(rv_envelope *env, const char *event_id)
{
    rv_copy_str(env->event_id, sizeof(env->event_id), event_id);
    env->occurred_at_us = T_US;
    env->schema_version = RV_SCHEMA_VERSION;
}

/* The sale's event ID, derived as producers derive it: 32 lowercase hex
 * digits (the decoders refuse any other, tester finding 7). */
#define SALE_EVENT_ID "5a1e0000000000000000000000000001"

static rv_sale make_sale(void)
{
    rv_sale s = {0};
    fill_env(&s.env, SALE_EVENT_ID);
    rv_copy_str(s.env.producer, sizeof(s.env.producer), "loader/0.1.0");
    s.env.produced_at_us = T_US + 1;
    rv_copy_str(s.order_id, sizeof(s.order_id), "CA-2016-152156");
    rv_copy_str(s.customer_id, sizeof(s.customer_id), "CG-12520");
    rv_copy_str(s.branch_id, sizeof(s.branch_id), "South");
    rv_copy_str(s.store_id, sizeof(s.store_id), "Henderson");
    s.amount_cents = 26196;
    rv_copy_str(s.currency, sizeof(s.currency), "USD");
    rv_copy_str(s.segment, sizeof(s.segment), "Consumer");
    rv_copy_str(s.phone, sizeof(s.phone), "13812345678");
    s.phone_synthetic = true;
    s.line_count = 2;
    return s;
}

static void test_recorder_topic_of_names_every_topic(void **state)
{
    (void)state;
    assert_int_equal(recorder_topic_of("sales.events"), RECORDER_TOPIC_SALES);
    assert_int_equal(recorder_topic_of("service.events"),
                     RECORDER_TOPIC_SERVICE);
    assert_int_equal(recorder_topic_of("visits.tasks"), RECORDER_TOPIC_TASKS);
    assert_int_equal(recorder_topic_of("visits.retries"),
                     RECORDER_TOPIC_RETRIES);
    assert_int_equal(recorder_topic_of("visits.assignments"),
                     RECORDER_TOPIC_ASSIGNMENTS);
    assert_int_equal(recorder_topic_of("visits.outcomes"),
                     RECORDER_TOPIC_OUTCOMES);
    assert_int_equal(recorder_topic_of("visits.grades"), RECORDER_TOPIC_GRADES);
    assert_int_equal(recorder_topic_of("compliance.alerts"),
                     RECORDER_TOPIC_ALERTS);
    assert_int_equal(recorder_topic_of("visits.grades.dlq"),
                     RECORDER_TOPIC_DLQ);
    assert_int_equal(recorder_topic_of(".dlq"), RECORDER_TOPIC_UNKNOWN);
    assert_int_equal(recorder_topic_of("sales.events2"),
                     RECORDER_TOPIC_UNKNOWN);
    assert_int_equal(recorder_topic_of(NULL), RECORDER_TOPIC_UNKNOWN);
}

static void test_recorder_insert_sql_unnests_one_array_per_column(void **state)
{
    (void)state;
    char *sql = NULL;
    assert_int_equal(recorder_insert_sql(RECORDER_CASE_EVENTS, &sql), RV_OK);
    assert_string_equal(
        sql, "INSERT INTO case_events (event_id, case_id, action, actor, "
             "text, occurred_at, causation_id, producer, produced_at, "
             "kafka_partition, kafka_offset) SELECT c1, c2, c3, c4, c5, "
             "c6::timestamptz, c7, c8, c9::timestamptz, c10::integer, "
             "c11::bigint FROM unnest($1::text[], $2::text[], $3::text[], "
             "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
             "$9::text[], $10::text[], $11::text[]) AS u(c1, c2, c3, c4, c5, "
             "c6, c7, c8, c9, c10, c11) ON CONFLICT DO NOTHING");
    free(sql);
    assert_int_equal(recorder_insert_sql(RECORDER_TABLE_COUNT, &sql),
                     RV_ERR_INVALID);
}

static void test_recorder_arrays_quote_escape_and_null(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    /* Dead letters without a source: the message's own topic stands in. */
    rv_msg m = {.topic = "visits.tasks.dlq", .partition = 3, .offset = 41};
    const recorder_table t = RECORDER_DEAD_LETTERS;
    assert_int_equal(recorder_rows_add_dead_letter(r, 0, &m, NULL), RV_OK);
    m.topic = "odd \"topic\" \\ {x,y}";
    m.offset = 42;
    assert_int_equal(recorder_rows_add_dead_letter(r, 1, &m, NULL), RV_OK);
    const char *const *p = NULL;
    assert_int_equal(recorder_rows_arrays(r, t, 0, 2, &p), RV_OK);
    assert_string_equal(
        p[0], "{\"visits.tasks.dlq\",\"odd \\\"topic\\\" \\\\ {x,y}\"}");
    assert_string_equal(p[1], "{\"3\",\"3\"}");
    assert_string_equal(p[2], "{\"41\",\"42\"}");
    assert_string_equal(p[7], "{NULL,NULL}"); /* no key */
    /* A sub-range; ranges past the rows or empty are refused. */
    assert_int_equal(recorder_rows_arrays(r, t, 1, 1, &p), RV_OK);
    assert_string_equal(p[2], "{\"42\"}");
    assert_int_equal(recorder_rows_arrays(r, t, 1, 2, &p), RV_ERR_INVALID);
    assert_int_equal(recorder_rows_arrays(r, t, 0, 0, &p), RV_ERR_INVALID);
    assert_int_equal(recorder_rows_arrays(r, RECORDER_SALES, 0, 1, &p),
                     RV_ERR_INVALID);
    recorder_rows_free(r);
}

static void test_recorder_chunks_cover_every_row_once(void **state)
{
    (void)state;
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        size_t per = recorder_rows_per_insert(t);
        assert_true(recorder_table_column_count(t) > 0);
        assert_int_equal(per, RECORDER_ROWS_PER_INSERT);

        /* Chunks of 100000 rows cover every row once, none too big. */
        size_t total = 100000, covered = 0, chunks = 0, n = 0;
        for (size_t first = 0; (n = recorder_chunk_rows(t, total, first)) > 0;
             first += n) {
            assert_true(n <= per);
            assert_int_equal(first, covered);
            covered += n;
            chunks++;
        }
        assert_int_equal(covered, total);
        assert_int_equal(chunks, (total + per - 1) / per);
    }
    assert_int_equal(recorder_rows_per_insert(RECORDER_TABLE_COUNT), 0);
    assert_int_equal(recorder_chunk_rows(RECORDER_SALES, 10, 10), 0);
    assert_int_equal(recorder_chunk_rows(RECORDER_SALES, 10, 7), 3);
}

static void test_recorder_sale_row_masks_phone(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    rv_sale s = make_sale();
    assert_int_equal(recorder_rows_add_sale(r, 7, &s), RV_OK);
    assert_int_equal(recorder_rows_count(r, RECORDER_SALES), 1);
    assert_int_equal(recorder_rows_tag(r, RECORDER_SALES, 0), 7);
    const recorder_table t = RECORDER_SALES;
    assert_string_equal(value(r, t, 0, "event_id"), SALE_EVENT_ID);
    assert_string_equal(value(r, t, 0, "order_id"), "CA-2016-152156");
    assert_string_equal(value(r, t, 0, "amount_cents"), "26196");
    assert_string_equal(value(r, t, 0, "phone_masked"), "138****5678");
    assert_string_equal(value(r, t, 0, "phone_synthetic"), "true");
    assert_phone_enc_opens_to(r, t, 0, "13812345678");
    assert_string_equal(value(r, t, 0, "line_count"), "2");
    assert_string_equal(value(r, t, 0, "occurred_at"), T_TEXT);
    assert_string_equal(value(r, t, 0, "produced_at"),
                        "2016-11-08 12:34:56.123457+00");
    assert_string_equal(value(r, t, 0, "producer"), "loader/0.1.0");
    assert_null(value(r, t, 0, "causation_id"));
    /* Built outside recorder_rows_add_msg: no message, no coordinates. */
    assert_null(value(r, t, 0, "kafka_partition"));
    assert_null(value(r, t, 0, "kafka_offset"));
    /* The clear number appears in no value of the row. */
    const char *const *p = recorder_rows_params(r, t, 0);
    for (size_t c = 0; c < recorder_table_column_count(t); c++) {
        assert_true(p[c] == NULL || strstr(p[c], "12345678") == NULL);
    }
    /* The same sale again seals to the same text (replays compare
     * equal); a sale without a number has no phone_enc. */
    assert_int_equal(recorder_rows_add_sale(r, 8, &s), RV_OK);
    assert_string_equal(value(r, t, 1, "phone_enc"),
                        value(r, t, 0, "phone_enc"));
    s.phone[0] = '\0';
    assert_int_equal(recorder_rows_add_sale(r, 9, &s), RV_OK);
    assert_null(value(r, t, 2, "phone_enc"));
    recorder_rows_free(r);
}

static void test_recorder_rows_need_a_key(void **state)
{
    (void)state;
    recorder_rows *r = NULL;
    assert_int_equal(recorder_rows_new(NULL, &r), RV_ERR_INVALID);
    assert_null(r);
}

static void test_recorder_short_phone_is_fully_masked(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    rv_work_order w = {0};
    fill_env(&w.env, "evt-wo-1");
    rv_copy_str(w.work_order_id, sizeof(w.work_order_id), "WO-1");
    w.kind = RV_WORK_ORDER_REPAIR;
    rv_copy_str(w.customer_id, sizeof(w.customer_id), "C1");
    rv_copy_str(w.branch_id, sizeof(w.branch_id), "East");
    rv_copy_str(w.phone, sizeof(w.phone), "55512");
    assert_int_equal(recorder_rows_add_work_order(r, 0, &w), RV_OK);
    assert_string_equal(value(r, RECORDER_WORK_ORDERS, 0, "phone_masked"),
                        "*****");
    assert_phone_enc_opens_to(r, RECORDER_WORK_ORDERS, 0, "55512");
    assert_string_equal(value(r, RECORDER_WORK_ORDERS, 0, "kind"), "repair");
    assert_string_equal(value(r, RECORDER_WORK_ORDERS, 0, "store_id"), "");
    recorder_rows_free(r);
}

static void test_recorder_task_row_escapes_arrays(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    rv_task t = {0};
    fill_env(&t.env, "0123456789abcdef0123456789abcdef");
    rv_copy_str(t.env.causation_id, sizeof(t.env.causation_id), "evt-sale-1");
    rv_copy_str(t.task_id, sizeof(t.task_id),
                "0123456789abcdef0123456789abcdef");
    rv_copy_str(t.rule_id, sizeof(t.rule_id), "R1");
    rv_copy_str(t.reasons[0], RV_REASON_SIZE, "post-sale \"tier 2\"");
    rv_copy_str(t.reasons[1], RV_REASON_SIZE, "back\\slash, {brace}");
    t.reason_count = 2;
    rv_copy_str(t.questions[0], RV_KEY_SIZE, "q.satisfaction");
    t.question_count = 1;
    t.due_start_us = T_US;
    t.due_end_us = T_US + 1000000;
    t.attempt = 1;
    t.channel = RV_CHANNEL_PHONE;
    t.sample_u = 0.25;
    t.sample_rate = 0.0 / 0.0; /* NaN must still be a float8 literal */
    rv_copy_str(t.phone, sizeof(t.phone), "+8613812345678");
    const recorder_table tt = RECORDER_VISIT_TASKS;
    assert_int_equal(recorder_rows_add_task(r, 3, &t), RV_OK);
    assert_string_equal(value(r, tt, 0, "reasons"),
                        "{\"post-sale \\\"tier 2\\\"\","
                        "\"back\\\\slash, {brace}\"}");
    assert_string_equal(value(r, tt, 0, "questions"), "{\"q.satisfaction\"}");
    assert_string_equal(value(r, tt, 0, "channel"), "phone");
    assert_string_equal(value(r, tt, 0, "due_end"),
                        "2016-11-08 12:34:57.123456+00");
    assert_null(value(r, tt, 0, "not_before"));
    assert_null(value(r, tt, 0, "produced_at"));
    assert_string_equal(value(r, tt, 0, "causation_id"), "evt-sale-1");
    assert_string_equal(value(r, tt, 0, "sample_u"), "0.25");
    assert_string_equal(value(r, tt, 0, "sample_rate"), "NaN");
    assert_string_equal(value(r, tt, 0, "phone_masked"), "+86*******5678");
    assert_phone_enc_opens_to(r, tt, 0, "+8613812345678");

    /* The same record on visits.retries goes to task_retries. */
    t.attempt = 2;
    assert_int_equal(recorder_rows_add_retry(r, 4, &t), RV_OK);
    assert_string_equal(value(r, RECORDER_TASK_RETRIES, 0, "attempt"), "2");
    assert_string_equal(value(r, RECORDER_TASK_RETRIES, 0, "task_id"),
                        t.task_id);

    /* No reasons is an empty array, not NULL. */
    t.reason_count = 0;
    t.question_count = 0;
    assert_int_equal(recorder_rows_add_task(r, 5, &t), RV_OK);
    assert_string_equal(value(r, tt, 1, "reasons"), "{}");
    assert_string_equal(value(r, tt, 1, "questions"), "{}");
    recorder_rows_free(r);
}

static void test_recorder_outcome_answers_are_json(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    rv_outcome o = {0};
    fill_env(&o.env, "evt-out-1");
    rv_copy_str(o.outcome_id, sizeof(o.outcome_id), "out1");
    rv_copy_str(o.task_id, sizeof(o.task_id), "task1");
    o.attempt = 1;
    o.disposition = RV_DISP_NO_ANSWER;
    o.satisfaction = -1;
    rv_copy_str(o.answers[0].question_id, RV_KEY_SIZE, "q1");
    rv_copy_str(o.answers[0].value, RV_KEY_SIZE, "say \"hi\"\n\\");
    rv_copy_str(o.answers[1].question_id, RV_KEY_SIZE, "q2");
    rv_copy_str(o.answers[1].value, RV_KEY_SIZE, "满意");
    o.answer_count = 2;
    rv_copy_str(o.notes, sizeof(o.notes), "客户表示滿意");
    const recorder_table t = RECORDER_OUTCOMES;
    assert_int_equal(recorder_rows_add_outcome(r, 0, &o), RV_OK);
    assert_string_equal(value(r, t, 0, "answers"),
                        "[{\"question_id\": \"q1\", \"value\": "
                        "\"say \\\"hi\\\"\\u000a\\\\\"}, "
                        "{\"question_id\": \"q2\", \"value\": \"满意\"}]");
    assert_null(value(r, t, 0, "satisfaction"));
    assert_null(value(r, t, 0, "agent_id"));
    assert_null(value(r, t, 0, "recording_ref"));
    assert_null(value(r, t, 0, "started_at"));
    assert_string_equal(value(r, t, 0, "notes"), "客户表示滿意");
    assert_string_equal(value(r, t, 0, "disposition"), "no_answer");

    o.satisfaction = 0; /* 0 is a score (extremely poor), not "none" */
    o.answer_count = 0;
    assert_int_equal(recorder_rows_add_outcome(r, 1, &o), RV_OK);
    assert_string_equal(value(r, t, 1, "satisfaction"), "0");
    assert_string_equal(value(r, t, 1, "answers"), "[]");
    recorder_rows_free(r);
}

static void test_recorder_grade_assignment_alert_rows(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    rv_grade g = {0};
    fill_env(&g.env, "evt-grade-1");
    rv_copy_str(g.grade_id, sizeof(g.grade_id), "g1");
    g.verdict = RV_VERDICT_SUCCESS;
    g.disposition = RV_DISP_ANSWERED;
    g.satisfaction = 5;
    g.band = RV_BAND_SATISFIED;
    g.evidence_ok = true;
    g.in_due_window = false;
    assert_int_equal(recorder_rows_add_grade(r, 0, &g), RV_OK);
    assert_string_equal(value(r, RECORDER_GRADES, 0, "verdict"), "success");
    assert_string_equal(value(r, RECORDER_GRADES, 0, "band"), "satisfied");
    assert_string_equal(value(r, RECORDER_GRADES, 0, "satisfaction"), "5");
    assert_string_equal(value(r, RECORDER_GRADES, 0, "in_due_window"), "false");
    assert_string_equal(value(r, RECORDER_GRADES, 0, "compliance"), "[]");

    rv_assignment a = {0};
    fill_env(&a.env, "evt-asg-1");
    rv_copy_str(a.assignment_id, sizeof(a.assignment_id), "a1");
    a.status = RV_UNASSIGNED;
    rv_copy_str(a.reason, sizeof(a.reason), "no capacity in due window");
    rv_copy_str(a.phone, sizeof(a.phone), "13812345678");
    assert_int_equal(recorder_rows_add_assignment(r, 1, &a), RV_OK);
    const recorder_table at = RECORDER_ASSIGNMENTS;
    assert_string_equal(value(r, at, 0, "status"), "unassigned");
    assert_null(value(r, at, 0, "agent_id"));
    assert_null(value(r, at, 0, "day"));
    assert_null(value(r, at, 0, "window_start"));
    a.status = RV_ASSIGNED;
    rv_copy_str(a.day, sizeof(a.day), "2016-11-09");
    rv_copy_str(a.agent_id, sizeof(a.agent_id), "agent-7");
    assert_int_equal(recorder_rows_add_assignment(r, 2, &a), RV_OK);
    assert_string_equal(value(r, at, 1, "status"), "assigned");
    assert_string_equal(value(r, at, 1, "day"), "2016-11-09");

    rv_alert al = {0};
    fill_env(&al.env, "evt-alert-1");
    rv_copy_str(al.kind, sizeof(al.kind), "A1.password_known");
    al.severity = RV_SEVERITY_MAJOR;
    assert_int_equal(recorder_rows_add_alert(r, 3, &al), RV_OK);
    assert_string_equal(value(r, RECORDER_ALERTS, 0, "severity"), "major");
    assert_string_equal(value(r, RECORDER_ALERTS, 0, "kind"),
                        "A1.password_known");
    recorder_rows_free(r);
}

static void test_recorder_dead_letter_takes_source_from_headers(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    const uint8_t payload[] = {0x00, 0xff, 0x10};
    rv_msg m = {.topic = "sales.events.dlq",
                .partition = 1,
                .offset = 42,
                .timestamp_ms = 1000,
                .key = (const uint8_t *)"CG-1",
                .key_len = 4,
                .payload = payload,
                .len = sizeof(payload)};
    recorder_dlq_source src = {.reason = "sale: not a v1.SaleEvent",
                               .topic = "sales.events",
                               .partition = "3",
                               .offset = "88123"};
    const recorder_table t = RECORDER_DEAD_LETTERS;
    assert_int_equal(recorder_rows_add_msg(r, 0, &m, &src, NULL, 0), RV_OK);
    assert_string_equal(value(r, t, 0, "source_topic"), "sales.events");
    assert_string_equal(value(r, t, 0, "source_partition"), "3");
    assert_string_equal(value(r, t, 0, "source_offset"), "88123");
    assert_string_equal(value(r, t, 0, "dlq_topic"), "sales.events.dlq");
    assert_string_equal(value(r, t, 0, "dlq_partition"), "1");
    assert_string_equal(value(r, t, 0, "dlq_offset"), "42");
    assert_string_equal(value(r, t, 0, "reason"), "sale: not a v1.SaleEvent");
    assert_string_equal(value(r, t, 0, "key"), "\\x43472d31");
    assert_string_equal(value(r, t, 0, "payload"), "\\x00ff10");
    assert_string_equal(value(r, t, 0, "kafka_timestamp"),
                        "1970-01-01 00:00:01.000000+00");
    /* A dead letter is its row and nothing else. */
    for (size_t other = 0; other < RECORDER_TABLE_COUNT; other++) {
        assert_int_equal(recorder_rows_count(r, other), other == t ? 1 : 0);
    }

    /* A bad source offset: the DLQ coordinates stand in, all three. */
    src.offset = "12x";
    src.reason = "bad \xff\xfe utf-8 \xe6\xbb\xbf";
    m.key = NULL;
    m.timestamp_ms = -1;
    m.offset = 43;
    assert_int_equal(recorder_rows_add_msg(r, 1, &m, &src, NULL, 0), RV_OK);
    assert_string_equal(value(r, t, 1, "source_topic"), "sales.events.dlq");
    assert_string_equal(value(r, t, 1, "source_partition"), "1");
    assert_string_equal(value(r, t, 1, "source_offset"), "43");
    assert_string_equal(value(r, t, 1, "reason"), "bad ?? utf-8 \xe6\xbb\xbf");
    assert_null(value(r, t, 1, "key"));
    assert_null(value(r, t, 1, "kafka_timestamp"));

    /* No headers at all. */
    m.offset = 44;
    assert_int_equal(recorder_rows_add_msg(r, 2, &m, NULL, NULL, 0), RV_OK);
    assert_string_equal(value(r, t, 2, "reason"), "no rv.reason header");
    assert_string_equal(value(r, t, 2, "source_offset"), "44");
    recorder_rows_free(r);
}

static void test_recorder_add_msg_decodes_by_topic(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    rv_sale s = make_sale();
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_sale(&s, &buf, &len), RV_OK);
    rv_msg m = {.topic = "sales.events",
                .partition = 0,
                .offset = 5,
                .timestamp_ms = -1,
                .key = (const uint8_t *)s.customer_id,
                .key_len = strlen(s.customer_id),
                .payload = buf,
                .len = len};
    char errstr[256] = "";
    assert_int_equal(
        recorder_rows_add_msg(r, 0, &m, NULL, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(recorder_rows_count(r, RECORDER_SALES), 1);
    assert_string_equal(value(r, RECORDER_SALES, 0, "phone_masked"),
                        "138****5678");
    /* The row names the message it came from (migration 012). */
    assert_string_equal(value(r, RECORDER_SALES, 0, "kafka_partition"), "0");
    assert_string_equal(value(r, RECORDER_SALES, 0, "kafka_offset"), "5");

    /* The same bytes on another topic do not decode as that record: no
     * row is added and the reason is reported (the caller dead-letters
     * the message, which keeps its coordinates). */
    m.topic = "visits.grades";
    m.offset = 6;
    assert_int_equal(
        recorder_rows_add_msg(r, 1, &m, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_true(strlen(errstr) > 0);
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        assert_int_equal(recorder_rows_count(r, t), t == RECORDER_SALES);
    }
    /* A sale added by its builder after a message: coordinates do not
     * leak from the last message added. */
    rv_sale s2 = make_sale();
    assert_int_equal(recorder_rows_add_sale(r, 9, &s2), RV_OK);
    assert_null(value(r, RECORDER_SALES, 1, "kafka_offset"));

    /* A tombstone and an unknown topic are rejected, not crashed on. */
    m.payload = NULL;
    m.len = 0;
    m.topic = "sales.events";
    errstr[0] = '\0';
    assert_int_equal(
        recorder_rows_add_msg(r, 2, &m, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "tombstone"));
    m.payload = buf;
    m.len = len;
    m.topic = "other.topic";
    assert_int_equal(recorder_rows_add_msg(r, 3, &m, NULL, NULL, 0),
                     RV_ERR_INVALID);
    free(buf);

    recorder_rows_clear(r);
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        assert_int_equal(recorder_rows_count(r, t), 0);
    }
    assert_null(recorder_rows_params(r, RECORDER_SALES, 0));
    recorder_rows_free(r);
    recorder_rows_free(NULL);
}

/* Tester finding 7: a message keyed by another value than its topic's
 * field (rv/keying.h), or by nothing, adds no row and is reported for
 * the caller to dead-letter, as one that does not decode. */
static void test_recorder_add_msg_checks_the_key(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    rv_sale s = make_sale();
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_sale(&s, &buf, &len), RV_OK);
    rv_msg m = {.topic = "sales.events",
                .partition = 0,
                .offset = 5,
                .timestamp_ms = -1,
                .key = (const uint8_t *)"CA-2016-152156", /* the order */
                .key_len = strlen("CA-2016-152156"),
                .payload = buf,
                .len = len};
    char errstr[256] = "";
    assert_int_equal(
        recorder_rows_add_msg(r, 0, &m, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_string_equal(errstr, "sales.events: Kafka key \"CA-2016-152156\" "
                                "is not the message's customer_id "
                                "\"CG-12520\"");
    m.key = NULL;
    m.key_len = 0;
    assert_int_equal(
        recorder_rows_add_msg(r, 1, &m, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "Kafka key missing"));
    for (size_t t = 0; t < RECORDER_TABLE_COUNT; t++) {
        assert_int_equal(recorder_rows_count(r, t), 0);
    }
    free(buf);

    /* compliance.cases is keyed by the case: its customer would not do. */
    rv_case_event e = {0};
    fill_env(&e.env, "0123456789abcdef0123456789abcdef");
    rv_copy_str(e.case_id, sizeof(e.case_id),
                "fedcba9876543210fedcba9876543210");
    e.action = RV_CASE_ANSWER;
    rv_copy_str(e.actor, sizeof(e.actor), "ops:zhang");
    rv_copy_str(e.text, sizeof(e.text), "self-check done");
    assert_int_equal(rv_codec_encode_case_event(&e, &buf, &len), RV_OK);
    m = (rv_msg){.topic = "compliance.cases",
                 .partition = 0,
                 .offset = 8,
                 .timestamp_ms = -1,
                 .key = (const uint8_t *)"CG-12520",
                 .key_len = 8,
                 .payload = buf,
                 .len = len};
    assert_int_equal(
        recorder_rows_add_msg(r, 2, &m, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "case_id"));
    assert_int_equal(recorder_rows_count(r, RECORDER_CASE_EVENTS), 0);
    m.key = (const uint8_t *)e.case_id;
    m.key_len = strlen(e.case_id);
    assert_int_equal(
        recorder_rows_add_msg(r, 3, &m, NULL, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(recorder_rows_count(r, RECORDER_CASE_EVENTS), 1);
    free(buf);
    recorder_rows_free(r);
}

/* Issue 8: a visits.decisions message of one customer's decisions gives
 * a decisions row each, all tagged with the message and carrying its
 * partition and offset; one bad decision in it and none is added. */
static void test_recorder_decisions_message_gives_a_row_each(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    enum { N = 3 };
    uint8_t *part[N];
    size_t plen[N];
    for (int i = 0; i < N; i++) {
        rv_decision d = {0};
        char id[RV_ID_SIZE];
        snprintf(id, sizeof(id), "dec%029d", i); /* 32 hex digits */
        fill_env(&d.env, id);
        d.env.occurred_at_us += i == 1 ? 60000000 : 0; /* the latest */
        rv_copy_str(d.decision_id, sizeof(d.decision_id), d.env.event_id);
        rv_copy_str(d.source_event_id, sizeof(d.source_event_id), "sale-1");
        rv_copy_str(d.customer_id, sizeof(d.customer_id), "C-1");
        rv_copy_str(d.branch_id, sizeof(d.branch_id), "West");
        snprintf(d.rule_id, sizeof(d.rule_id), "R%d", i + 1);
        rv_copy_str(d.policy_version, sizeof(d.policy_version), "2025.1");
        d.outcome = RV_DECISION_NOT_SELECTED;
        d.u = i == 2 ? 0.75 : 0.25;
        d.rate = 0.5;
        assert_int_equal(rv_codec_encode_decision(&d, &part[i], &plen[i]),
                         RV_OK);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_join_decisions((const uint8_t *const *)part, plen,
                                             N, &buf, &len),
                     RV_OK);
    rv_msg m = {.topic = "visits.decisions",
                .partition = 1,
                .key = (const uint8_t *)"C-1",
                .key_len = 3,
                .offset = 9,
                .timestamp_ms = -1,
                .payload = buf,
                .len = len};
    char errstr[256] = "";
    assert_int_equal(
        recorder_rows_add_msg(r, 4, &m, NULL, errstr, sizeof(errstr)), RV_OK);
    assert_int_equal(recorder_rows_count(r, RECORDER_DECISIONS), N);
    for (size_t i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof(want), "R%zu", i + 1);
        assert_string_equal(value(r, RECORDER_DECISIONS, i, "rule_id"), want);
        assert_int_equal(recorder_rows_tag(r, RECORDER_DECISIONS, i), 4);
        assert_string_equal(value(r, RECORDER_DECISIONS, i, "kafka_partition"),
                            "1");
        assert_string_equal(value(r, RECORDER_DECISIONS, i, "kafka_offset"),
                            "9");
    }
    assert_string_equal(value(r, RECORDER_DECISIONS, 1, "occurred_at"),
                        "2016-11-08 12:35:56.123456+00");
    free(buf);

    /* The third decision's draw out of range: the message is refused
     * whole (no row; dead-lettered by the caller). */
    rv_decision bad = {0};
    assert_int_equal(rv_codec_decode_decision(part[2], plen[2], &bad, NULL, 0),
                     RV_OK);
    bad.u = 1.5;
    free(part[2]);
    assert_int_equal(rv_codec_encode_decision(&bad, &part[2], &plen[2]), RV_OK);
    assert_int_equal(rv_codec_join_decisions((const uint8_t *const *)part, plen,
                                             N, &buf, &len),
                     RV_OK);
    m.payload = buf;
    m.len = len;
    m.offset = 10;
    assert_int_equal(
        recorder_rows_add_msg(r, 5, &m, NULL, errstr, sizeof(errstr)),
        RV_ERR_INVALID);
    assert_non_null(strstr(errstr, "u 1.5 outside"));
    assert_int_equal(recorder_rows_count(r, RECORDER_DECISIONS), N);
    free(buf);
    for (int i = 0; i < N; i++) {
        free(part[i]);
    }
    recorder_rows_free(r);
}

static void test_recorder_rows_grow_past_capacity(void **state)
{
    (void)state;
    recorder_rows *r = rows_new();
    rv_sale s = make_sale();
    for (size_t i = 0; i < 1000; i++) {
        snprintf(s.env.event_id, sizeof(s.env.event_id), "evt-%zu", i);
        assert_int_equal(recorder_rows_add_sale(r, i, &s), RV_OK);
    }
    assert_int_equal(recorder_rows_count(r, RECORDER_SALES), 1000);
    assert_string_equal(value(r, RECORDER_SALES, 999, "event_id"), "evt-999");
    assert_int_equal(recorder_rows_tag(r, RECORDER_SALES, 500), 500);
    /* Rows are contiguous: row 2's first value follows row 1's last. */
    const char *const *p = recorder_rows_params(r, RECORDER_SALES, 1);
    assert_string_equal(p[recorder_table_column_count(RECORDER_SALES)],
                        "evt-2");
    recorder_rows_free(r);
}

static void test_recorder_format_ts(void **state)
{
    (void)state;
    char buf[RECORDER_TS_SIZE];
    recorder_format_ts(0, buf);
    assert_string_equal(buf, "1970-01-01 00:00:00.000000+00");
    recorder_format_ts(-1, buf);
    assert_string_equal(buf, "1969-12-31 23:59:59.999999+00");
    recorder_format_ts(T_US, buf);
    assert_string_equal(buf, T_TEXT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorder_topic_of_names_every_topic),
        cmocka_unit_test(test_recorder_insert_sql_unnests_one_array_per_column),
        cmocka_unit_test(test_recorder_arrays_quote_escape_and_null),
        cmocka_unit_test(test_recorder_chunks_cover_every_row_once),
        cmocka_unit_test(test_recorder_sale_row_masks_phone),
        cmocka_unit_test(test_recorder_rows_need_a_key),
        cmocka_unit_test(test_recorder_short_phone_is_fully_masked),
        cmocka_unit_test(test_recorder_task_row_escapes_arrays),
        cmocka_unit_test(test_recorder_outcome_answers_are_json),
        cmocka_unit_test(test_recorder_grade_assignment_alert_rows),
        cmocka_unit_test(test_recorder_dead_letter_takes_source_from_headers),
        cmocka_unit_test(test_recorder_add_msg_decodes_by_topic),
        cmocka_unit_test(test_recorder_add_msg_checks_the_key),
        cmocka_unit_test(test_recorder_decisions_message_gives_a_row_each),
        cmocka_unit_test(test_recorder_rows_grow_past_capacity),
        cmocka_unit_test(test_recorder_format_ts),
    };
    return cmocka_run_group_tests_name("recorder_rows", tests, key_setup,
                                       key_teardown);
}
