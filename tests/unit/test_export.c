/* tests/unit/test_export.c: the pure parts of `revisitctl replay export`
 * and `replay report` (issue 7): CSV quoting (RFC 4180), which fields are
 * masked and how, whole rendered lines, the export order, and the
 * Markdown of an alert's lineage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit_fmt.h"
#include "export_fmt.h"
#include "rv/codec.h"

/* What @p write puts on a stream, as a string (freed by the caller). */
static char *captured(void (*write)(FILE *, const void *), const void *arg)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    write(out, arg);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void write_csv_field(FILE *out, const void *s)
{
    export_csv_field(out, s);
}

static void assert_csv(const char *in, const char *want)
{
    char *got = captured(write_csv_field, in);
    assert_string_equal(got, want);
    free(got);
}

static void test_export_csv_quotes_per_rfc4180(void **state)
{
    (void)state;
    assert_csv("plain", "plain");
    assert_csv("", "");
    assert_csv("a,b", "\"a,b\"");
    assert_csv("say \"hi\"", "\"say \"\"hi\"\"\"");
    assert_csv("\"", "\"\"\"\"");
    assert_csv("two\r\nlines", "\"two\r\nlines\"");
    assert_csv("lf\nonly", "\"lf\nonly\"");
    /* Spaces at the ends survive readers that trim unquoted fields. */
    assert_csv(" padded", "\" padded\"");
    assert_csv("in side", "in side");
    assert_csv("客户,满意", "\"客户,满意\"");
}

static void assert_mask(export_pii pii, const char *in, bool reveal,
                        const char *want)
{
    char buf[64];
    assert_string_equal(export_mask(pii, in, reveal, buf, sizeof(buf)), want);
}

static void test_export_mask_by_field_kind(void **state)
{
    (void)state;
    assert_mask(EXPORT_PII_NONE, "C-1", false, "C-1");
    assert_mask(EXPORT_PII_PHONE, "13812345678", false, "138****5678");
    assert_mask(EXPORT_PII_PHONE, "5551234", false, "*******");
    /* A kept byte of a multi-byte character would be invalid UTF-8. */
    assert_mask(EXPORT_PII_PHONE, "电话12345678", false, "**********5678");
    assert_mask(EXPORT_PII_TEXT, "broker knew the password", false, "***");
    assert_mask(EXPORT_PII_TEXT, "", false, "");
    assert_mask(EXPORT_PII_SMS, "1", false, "1");
    assert_mask(EXPORT_PII_SMS, "2 the delivery was late", false, "2 ***");
    assert_mask(EXPORT_PII_EVIDENCE, "customer: still waiting", false,
                "customer: ***");
    assert_mask(EXPORT_PII_EVIDENCE, "disposition=wrong_number", false,
                "disposition=wrong_number");
    /* --reveal: every kind as it is. */
    assert_mask(EXPORT_PII_PHONE, "13812345678", true, "13812345678");
    assert_mask(EXPORT_PII_TEXT, "notes", true, "notes");
    assert_mask(EXPORT_PII_SMS, "2 late", true, "2 late");
    assert_mask(EXPORT_PII_EVIDENCE, "customer: x", true, "customer: x");
}

/* The message of @p topic encoding @p payload, at partition 2 offset 7. */
static rv_msg msg_of(const char *topic, const uint8_t *buf, size_t len)
{
    return (rv_msg){.topic = topic,
                    .partition = 2,
                    .offset = 7,
                    .payload = buf,
                    .len = len};
}

/* Event IDs as producers derive them: 32 lowercase hex digits. */
#define SALE_EVENT_ID "5a1e0000000000000000000000000001"
#define OUTCOME_EVENT_ID "0c0e0000000000000000000000000001"

static void fill_env(rv_envelope *env, const char *id)
{
    memset(env, 0, sizeof(*env));
    rv_copy_str(env->event_id, sizeof(env->event_id), id);
    env->occurred_at_us = 1057060800123456LL; /* 2003-07-01T12:00:00.123456Z */
    env->produced_at_us = 0;
    rv_copy_str(env->producer, sizeof(env->producer), "test");
    rv_copy_str(env->causation_id, sizeof(env->causation_id), "cause-1");
    env->schema_version = RV_SCHEMA_VERSION;
}

static void sale(rv_sale *s)
{
    memset(s, 0, sizeof(*s));
    fill_env(&s->env, SALE_EVENT_ID);
    rv_copy_str(s->order_id, sizeof(s->order_id), "O-1");
    rv_copy_str(s->customer_id, sizeof(s->customer_id), "C-1");
    rv_copy_str(s->branch_id, sizeof(s->branch_id), "West");
    rv_copy_str(s->store_id, sizeof(s->store_id), "Seattle, WA");
    rv_copy_str(s->currency, sizeof(s->currency), "USD");
    rv_copy_str(s->segment, sizeof(s->segment), "Consumer");
    rv_copy_str(s->phone, sizeof(s->phone), "5550001234");
    s->amount_cents = 150000;
    s->line_count = 2;
    rv_copy_str(s->categories[0], RV_SHORT_SIZE, "Furniture");
    rv_copy_str(s->categories[1], RV_SHORT_SIZE, "Technology");
    s->category_count = 2;
}

static char *render(const char *topic, const uint8_t *buf, size_t len,
                    export_format f, bool reveal)
{
    rv_msg m = msg_of(topic, buf, len);
    export_row row = {0};
    char err[256] = "";
    assert_int_equal(export_row_build(&m, f, reveal, &row, err, sizeof(err)),
                     RV_OK);
    assert_int_equal(row.partition, 2);
    assert_int_equal(row.offset, 7);
    assert_int_equal(row.occurred_at_us, 1057060800123456LL);
    char *text = row.text;
    row.text = NULL;
    export_row_fini(&row);
    return text;
}

static void write_header(FILE *out, const void *topic)
{
    assert_int_equal(export_csv_header(topic, out), RV_OK);
}

/* A sale, whole, in both formats: the header names what the row holds,
 * the phone is masked, lists are JSON in their cell. */
static void test_export_sale_lines(void **state)
{
    (void)state;
    rv_sale s;
    sale(&s);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_sale(&s, &buf, &len), RV_OK);

    char *json = render("sales.events", buf, len, EXPORT_NDJSON, false);
    assert_string_equal(
        json,
        "{\"topic\":\"sales.events\",\"partition\":2,\"offset\":7,"
        "\"event_id\":\"" SALE_EVENT_ID "\",\"occurred_at\":\"2003-07-01T12:00:"
        "00.123456Z\",\"produced_at\":null,\"producer\":\"test\","
        "\"causation_id\":\"cause-1\",\"schema_version\":1,"
        "\"order_id\":\"O-1\",\"customer_id\":\"C-1\",\"branch_id\":"
        "\"West\",\"store_id\":\"Seattle, WA\",\"amount_cents\":150000,"
        "\"currency\":\"USD\",\"segment\":\"Consumer\",\"phone\":"
        "\"555***1234\",\"phone_synthetic\":false,\"line_count\":2,"
        "\"salesperson_id\":\"\",\"gift_cents\":0,\"customer_class\":"
        "\"\",\"new_customer\":false,\"categories\":[\"Furniture\","
        "\"Technology\"]}\n");
    free(json);

    char *header = captured(write_header, "sales.events");
    assert_string_equal(
        header, "topic,partition,offset,event_id,occurred_at,produced_at,"
                "producer,causation_id,schema_version,order_id,customer_id,"
                "branch_id,store_id,amount_cents,currency,segment,phone,"
                "phone_synthetic,line_count,salesperson_id,gift_cents,"
                "customer_class,new_customer,categories\r\n");
    free(header);
    char *csv = render("sales.events", buf, len, EXPORT_CSV, false);
    assert_string_equal(csv, "sales.events,2,7," SALE_EVENT_ID
                             ",2003-07-01T12:00:00."
                             "123456Z,,test,cause-1,1,O-1,C-1,West,"
                             "\"Seattle, WA\",150000,USD,Consumer,555***1234,"
                             "false,2,,0,,false,"
                             "\"[\"\"Furniture\"\",\"\"Technology\"\"]\"\r\n");
    free(csv);
    char *clear = render("sales.events", buf, len, EXPORT_CSV, true);
    assert_non_null(strstr(clear, ",5550001234,"));
    free(clear);
    free(buf);
}

/* An outcome: the agent's notes, the phone and the customer's SMS words
 * masked; --reveal shows them. */
static void test_export_outcome_masks_notes(void **state)
{
    (void)state;
    rv_outcome *o = calloc(1, sizeof(*o));
    assert_non_null(o);
    fill_env(&o->env, OUTCOME_EVENT_ID);
    rv_copy_str(o->outcome_id, sizeof(o->outcome_id), "o1");
    rv_copy_str(o->assignment_id, sizeof(o->assignment_id), "a1");
    rv_copy_str(o->task_id, sizeof(o->task_id), "t1");
    rv_copy_str(o->customer_id, sizeof(o->customer_id), "C-1");
    rv_copy_str(o->branch_id, sizeof(o->branch_id), "West");
    rv_copy_str(o->agent_id, sizeof(o->agent_id), "w01");
    rv_copy_str(o->notes, sizeof(o->notes), "客户表示经纪人知道密码");
    rv_copy_str(o->phone, sizeof(o->phone), "13812345678");
    rv_copy_str(o->sms_reply, sizeof(o->sms_reply), "2 \"late\", twice");
    o->attempt = 1;
    o->disposition = RV_DISP_SMS_REPLY;
    o->satisfaction = -1;
    o->channel = RV_CHANNEL_SMS;
    o->started_at_us = o->env.occurred_at_us;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(rv_codec_encode_outcome(o, &buf, &len), RV_OK);

    char *masked = render("visits.outcomes", buf, len, EXPORT_NDJSON, false);
    assert_non_null(strstr(masked, "\"notes\":\"***\""));
    assert_non_null(strstr(masked, "\"phone\":\"138****5678\""));
    assert_non_null(strstr(masked, "\"sms_reply\":\"2 ***\""));
    assert_non_null(strstr(masked, "\"satisfaction\":null"));
    assert_non_null(strstr(masked, "\"answers\":[]"));
    assert_null(strstr(masked, "密码"));
    assert_null(strstr(masked, "late"));
    free(masked);
    char *clear = render("visits.outcomes", buf, len, EXPORT_NDJSON, true);
    assert_non_null(strstr(clear, "\"notes\":\"客户表示经纪人知道密码\""));
    assert_non_null(strstr(clear, "\"sms_reply\":\"2 \\\"late\\\", twice\""));
    free(clear);
    char *csv = render("visits.outcomes", buf, len, EXPORT_CSV, true);
    assert_non_null(strstr(csv, ",\"2 \"\"late\"\", twice\","));
    free(csv);
    free(buf);
    free(o);
}

/* Every history topic has a header; other topics and bad bytes are
 * refused. */
static void test_export_topics_and_bad_messages(void **state)
{
    (void)state;
    static const char *const topics[] = {
        "sales.events",     "service.events",     "visits.tasks",
        "visits.retries",   "visits.assignments", "visits.outcomes",
        "visits.grades",    "compliance.alerts",  "compliance.cases",
        "visits.decisions",
    };
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        assert_true(export_topic_known(topics[i]));
        char *h = captured(write_header, topics[i]);
        assert_true(strncmp(h, "topic,partition,offset,event_id,", 32) == 0);
        free(h);
    }
    assert_false(export_topic_known("sales.events.dlq"));
    assert_false(export_topic_known(NULL));
    static const uint8_t junk[] = {0xff, 0x01, 0x02};
    rv_msg m = msg_of("sales.events", junk, sizeof(junk));
    export_row row = {0};
    char err[256] = "";
    assert_int_equal(
        export_row_build(&m, EXPORT_NDJSON, false, &row, err, sizeof(err)),
        RV_ERR_INVALID);
    assert_null(row.text);
    m.topic = "other.topic";
    assert_int_equal(
        export_row_build(&m, EXPORT_NDJSON, false, &row, err, sizeof(err)),
        RV_ERR_INVALID);
    assert_non_null(strstr(err, "other.topic"));
}

static void test_export_order(void **state)
{
    (void)state;
    export_row r[4] = {
        {.occurred_at_us = 2, .event_id = "a", .partition = 0, .offset = 1},
        {.occurred_at_us = 1, .event_id = "b", .partition = 3, .offset = 9},
        {.occurred_at_us = 1, .event_id = "a", .partition = 1, .offset = 5},
        {.occurred_at_us = 1, .event_id = "a", .partition = 0, .offset = 8},
    };
    qsort(r, 4, sizeof(r[0]), export_row_cmp);
    assert_int_equal(r[0].offset, 8); /* (1, a, p0) */
    assert_int_equal(r[1].offset, 5); /* (1, a, p1): the duplicate */
    assert_int_equal(r[2].offset, 9); /* (1, b) */
    assert_int_equal(r[3].offset, 1); /* (2, a) */
}

static void write_row(FILE *out, const void *l)
{
    audit_lineage_row(out, l);
}

static audit_hop found(const char *id, bool caused)
{
    return (audit_hop){AUDIT_HOP_FOUND, id, caused};
}

static void test_audit_lineage_rows(void **state)
{
    (void)state;
    audit_lineage l = {
        .alert_id = "al1",
        .kind = "A1.password_known",
        .escalates = "",
        .grade = found("g1", true),
        .outcome = found("o1", true),
        .assignment = found("s1", true),
        .task = found("t1", true),
        .source_kind = "sale",
        .source = found("e1", true),
    };
    assert_true(audit_lineage_complete(&l));
    char *row = captured(write_row, &l);
    assert_string_equal(row, "| `al1` | A1.password_known | `g1` (c) | "
                             "`o1` (c) | `s1` (c) | `t1` (c) | sale `e1` "
                             "(c) | complete |\n");
    free(row);

    /* A second attempt: the assignment was caused by the retry event. */
    l.task.caused = false;
    row = captured(write_row, &l);
    assert_non_null(strstr(row, " | `t1` | sale "));
    free(row);

    /* The grade the alert names is not in the record: the rest is
     * unknown. */
    l.grade = (audit_hop){AUDIT_HOP_MISSING, "g9", false};
    l.outcome = (audit_hop){AUDIT_HOP_MISSING, "", false};
    assert_false(audit_lineage_complete(&l));
    row = captured(write_row, &l);
    assert_string_equal(row, "| `al1` | A1.password_known | `g9` missing | "
                             "— | — | — | — | broken: grade missing |\n");
    free(row);

    /* An assigner's alert starts at its assignment; an escalation names
     * the alert it escalates; a kind with '|' stays one cell. */
    audit_lineage c = {
        .alert_id = "al2",
        .kind = "capacity|x",
        .escalates = "al1",
        .grade = {AUDIT_HOP_NONE, "", false},
        .outcome = {AUDIT_HOP_NONE, "", false},
        .assignment = found("s2", true),
        .task = found("t2", false),
        .source_kind = "",
        .source = {AUDIT_HOP_MISSING, "e2", false},
    };
    row = captured(write_row, &c);
    assert_string_equal(row, "| `al2` escalates `al1` | capacity\\|x | — | "
                             "— | `s2` (c) | `t2` | `e2` missing | broken: "
                             "business event missing |\n");
    free(row);
}

static void write_cell(FILE *out, const void *s)
{
    audit_md_cell(out, s);
}

static void test_audit_markdown_cells_and_fences(void **state)
{
    (void)state;
    char *cell = captured(write_cell, "a|b\\c\nd");
    assert_string_equal(cell, "a\\|b\\\\c d");
    free(cell);
    char fence[8];
    audit_md_fence("verify: all matched\n", fence, sizeof(fence));
    assert_string_equal(fence, "```");
    audit_md_fence("a ```` b `` c", fence, sizeof(fence));
    assert_string_equal(fence, "`````");
    audit_md_fence("``````````", fence, sizeof(fence));
    assert_string_equal(fence, "```````"); /* capped by the buffer */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_csv_quotes_per_rfc4180),
        cmocka_unit_test(test_export_mask_by_field_kind),
        cmocka_unit_test(test_export_sale_lines),
        cmocka_unit_test(test_export_outcome_masks_notes),
        cmocka_unit_test(test_export_topics_and_bad_messages),
        cmocka_unit_test(test_export_order),
        cmocka_unit_test(test_audit_lineage_rows),
        cmocka_unit_test(test_audit_markdown_cells_and_fences),
    };
    return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}
