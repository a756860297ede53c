/* workers/revisitctl/export_fmt.c: one history message -> one NDJSON or
 * CSV line (export_fmt.h). Each message is first built as a JSON object
 * (jansson keeps the insertion order, so the keys come in the order of
 * the builders below); NDJSON prints the object, CSV prints its values
 * in that order and the header its keys, taken from an all-zero record
 * of the topic, so header and rows cannot disagree. */
#include "export_fmt.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_time.h"
#include "rv/codec.h"
#include "rv/log.h"

/* Doubles with every digit a reader needs to get the same double back. */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(17))

typedef enum kind {
    K_SALE,
    K_WORK_ORDER,
    K_TASK,
    K_ASSIGNMENT,
    K_OUTCOME,
    K_GRADE,
    K_ALERT,
    K_CASE,
    K_DECISION,
} kind;

static const struct {
    const char *topic;
    kind k;
} topics[] = {
    {"sales.events", K_SALE},
    {"service.events", K_WORK_ORDER},
    {"visits.tasks", K_TASK},
    /* A second attempt is a VisitTask too (C2). */
    {"visits.retries", K_TASK},
    {"visits.assignments", K_ASSIGNMENT},
    {"visits.outcomes", K_OUTCOME},
    {"visits.grades", K_GRADE},
    {"compliance.alerts", K_ALERT},
    {"compliance.cases", K_CASE},
    {"visits.decisions", K_DECISION},
};

typedef union record {
    rv_sale sale;
    rv_work_order work_order;
    rv_task task;
    rv_assignment assignment;
    rv_outcome outcome;
    rv_grade grade;
    rv_alert alert;
    rv_case_event case_event;
    rv_decision decision;
} record;

static bool kind_of(const char *topic, kind *out)
{
    for (size_t i = 0; topic != NULL && i < sizeof(topics) / sizeof(topics[0]);
         i++) {
        if (strcmp(topic, topics[i].topic) == 0) {
            *out = topics[i].k;
            return true;
        }
    }
    return false;
}

bool export_topic_known(const char *topic)
{
    kind k;
    return kind_of(topic, &k);
}

/* ---- masking ----------------------------------------------------------- */

const char *export_mask(export_pii pii, const char *value, bool reveal,
                        char *buf, size_t size)
{
    if (reveal || pii == EXPORT_PII_NONE || value[0] == '\0') {
        return value;
    }
    switch (pii) {
    case EXPORT_PII_PHONE:
        rv_log_mask_phone(value, buf, size);
        /* The mask works on bytes: a kept byte of a multi-byte character
         * would leave invalid UTF-8, and a number has none to keep. */
        for (char *c = buf; *c != '\0'; c++) {
            *c = (unsigned char)*c >= 0x80 ? '*' : *c;
        }
        return buf;
    case EXPORT_PII_SMS: {
        /* G2: "1" satisfied, "2 <the customer's words>". */
        size_t code = strcspn(value, " ");
        if (value[code] == '\0') {
            return value;
        }
        snprintf(buf, size, "%.*s " EXPORT_MASKED, (int)code, value);
        return buf;
    }
    case EXPORT_PII_EVIDENCE: {
        /* The alerter quotes the customer (G4) after this prefix; other
         * evidence is the system's own text. */
        static const char prefix[] = "customer: ";
        if (strncmp(value, prefix, sizeof(prefix) - 1) != 0) {
            return value;
        }
        snprintf(buf, size, "%s" EXPORT_MASKED, prefix);
        return buf;
    }
    case EXPORT_PII_TEXT:
    case EXPORT_PII_NONE:
        break;
    }
    snprintf(buf, size, "%s", EXPORT_MASKED);
    return buf;
}

/* ---- CSV --------------------------------------------------------------- */

void export_csv_field(FILE *out, const char *s)
{
    size_t n = strlen(s);
    bool quote = strpbrk(s, ",\"\r\n") != NULL ||
                 (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"') {
            fputc('"', out);
        }
        fputc(*s, out);
    }
    fputc('"', out);
}

/* ---- building the object ----------------------------------------------- */

typedef struct builder {
    json_t *o;
    bool reveal;
    bool failed; /* a value was not valid UTF-8, or out of memory */
} builder;

/* Takes the reference to @p v (NULL: failed). */
static void put(builder *b, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(b->o, key, v) != 0) {
        b->failed = true;
    }
}

static void put_str(builder *b, const char *key, const char *s)
{
    put(b, key, json_string(s));
}

static void put_pii(builder *b, const char *key, export_pii pii, const char *s)
{
    char buf[RV_NOTES_SIZE];
    put_str(b, key, export_mask(pii, s, b->reveal, buf, sizeof(buf)));
}

static void put_int(builder *b, const char *key, int64_t v)
{
    put(b, key, json_integer((json_int_t)v));
}

static void put_bool(builder *b, const char *key, bool v)
{
    put(b, key, json_boolean(v));
}

static void put_real(builder *b, const char *key, double v)
{
    put(b, key, json_real(v));
}

/* UTC µs as "YYYY-MM-DDTHH:MM:SS.ffffffZ"; 0 (unset on the wire) null. */
static void put_time(builder *b, const char *key, int64_t us)
{
    if (us == 0) {
        put(b, key, json_null());
        return;
    }
    char base[CTL_TIME_SIZE], text[40];
    ctl_time_format(us, base);
    int64_t frac = us % 1000000;
    frac = frac < 0 ? frac + 1000000 : frac;
    snprintf(text, sizeof(text), "%.19s.%06" PRId64 "Z", base, frac);
    put_str(b, key, text);
}

/* @p count strings of @p stride bytes from @p first, as a JSON array. */
static void put_strs(builder *b, const char *key, const char *first,
                     size_t count, size_t stride)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < count; i++) {
        if (json_array_append_new(a, json_string(first + i * stride)) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    put(b, key, a);
}

static void put_answers(builder *b, const char *key, const rv_answer *ans,
                        size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < count; i++) {
        json_t *o = json_pack("{s:s, s:s}", "question_id", ans[i].question_id,
                              "value", ans[i].value);
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    put(b, key, a);
}

static void put_envelope(builder *b, const rv_envelope *e)
{
    put_str(b, "event_id", e->event_id);
    put_time(b, "occurred_at", e->occurred_at_us);
    put_time(b, "produced_at", e->produced_at_us);
    put_str(b, "producer", e->producer);
    put_str(b, "causation_id", e->causation_id);
    put_int(b, "schema_version", e->schema_version);
}

#define STRS(b, key, arr, n) put_strs(b, key, arr[0], n, sizeof(arr[0]))

static void build_sale(builder *b, const rv_sale *s)
{
    put_envelope(b, &s->env);
    put_str(b, "order_id", s->order_id);
    put_str(b, "customer_id", s->customer_id);
    put_str(b, "branch_id", s->branch_id);
    put_str(b, "store_id", s->store_id);
    put_int(b, "amount_cents", s->amount_cents);
    put_str(b, "currency", s->currency);
    put_str(b, "segment", s->segment);
    put_pii(b, "phone", EXPORT_PII_PHONE, s->phone);
    put_bool(b, "phone_synthetic", s->phone_synthetic);
    put_int(b, "line_count", s->line_count);
    put_str(b, "salesperson_id", s->salesperson_id);
    put_int(b, "gift_cents", s->gift_cents);
    put_str(b, "customer_class", s->customer_class);
    put_bool(b, "new_customer", s->new_customer);
    STRS(b, "categories", s->categories, s->category_count);
}

static void build_work_order(builder *b, const rv_work_order *w)
{
    put_envelope(b, &w->env);
    put_str(b, "work_order_id", w->work_order_id);
    put_str(b, "kind", rv_work_order_kind_name(w->kind));
    put_str(b, "customer_id", w->customer_id);
    put_str(b, "branch_id", w->branch_id);
    put_str(b, "store_id", w->store_id);
    put_pii(b, "phone", EXPORT_PII_PHONE, w->phone);
    put_bool(b, "phone_synthetic", w->phone_synthetic);
}

static void build_task(builder *b, const rv_task *t)
{
    put_envelope(b, &t->env);
    put_str(b, "task_id", t->task_id);
    put_str(b, "customer_id", t->customer_id);
    put_str(b, "branch_id", t->branch_id);
    put_str(b, "store_id", t->store_id);
    put_str(b, "rule_id", t->rule_id);
    STRS(b, "reasons", t->reasons, t->reason_count);
    put_str(b, "source_event_id", t->source_event_id);
    put_time(b, "due_start", t->due_start_us);
    put_time(b, "due_end", t->due_end_us);
    put_int(b, "priority", t->priority);
    put_str(b, "channel", rv_channel_name(t->channel));
    STRS(b, "questions", t->questions, t->question_count);
    put_str(b, "policy_version", t->policy_version);
    put_int(b, "attempt", t->attempt);
    put_time(b, "not_before", t->not_before_us);
    put_pii(b, "phone", EXPORT_PII_PHONE, t->phone);
    put_real(b, "sample_u", t->sample_u);
    put_real(b, "sample_rate", t->sample_rate);
    put_str(b, "salesperson_id", t->salesperson_id);
    put_str(b, "customer_class", t->customer_class);
}

static void build_assignment(builder *b, const rv_assignment *a)
{
    put_envelope(b, &a->env);
    put_str(b, "assignment_id", a->assignment_id);
    put_str(b, "task_id", a->task_id);
    put_int(b, "attempt", a->attempt);
    put_str(b, "customer_id", a->customer_id);
    put_str(b, "branch_id", a->branch_id);
    put_str(b, "status",
            a->status == RV_ASSIGNED     ? "assigned"
            : a->status == RV_UNASSIGNED ? "unassigned"
                                         : "unspecified");
    put_str(b, "agent_id", a->agent_id);
    put_str(b, "day", a->day);
    put_time(b, "window_start", a->window_start_us);
    put_time(b, "window_end", a->window_end_us);
    put_str(b, "reason", a->reason);
    put_str(b, "policy_version", a->policy_version);
    put_str(b, "channel", rv_channel_name(a->channel));
    STRS(b, "questions", a->questions, a->question_count);
    put_pii(b, "phone", EXPORT_PII_PHONE, a->phone);
    put_time(b, "due_start", a->due_start_us);
    put_time(b, "due_end", a->due_end_us);
    put_str(b, "rule_id", a->rule_id);
    put_str(b, "store_id", a->store_id);
    put_str(b, "salesperson_id", a->salesperson_id);
    put_int(b, "window_index", a->window_index);
}

/* G2: -1 means no score. */
static void put_satisfaction(builder *b, int32_t v)
{
    put(b, "satisfaction", v < 0 ? json_null() : json_integer(v));
}

static void build_outcome(builder *b, const rv_outcome *o)
{
    put_envelope(b, &o->env);
    put_str(b, "outcome_id", o->outcome_id);
    put_str(b, "assignment_id", o->assignment_id);
    put_str(b, "task_id", o->task_id);
    put_int(b, "attempt", o->attempt);
    put_str(b, "customer_id", o->customer_id);
    put_str(b, "branch_id", o->branch_id);
    put_str(b, "agent_id", o->agent_id);
    put_str(b, "disposition", rv_disposition_name(o->disposition));
    put_time(b, "started_at", o->started_at_us);
    put_int(b, "talk_time_s", o->talk_time_s);
    put_answers(b, "answers", o->answers, o->answer_count);
    put_satisfaction(b, o->satisfaction);
    put_str(b, "recording_ref", o->recording_ref);
    put_pii(b, "notes", EXPORT_PII_TEXT, o->notes);
    STRS(b, "questions", o->questions, o->question_count);
    put_time(b, "due_start", o->due_start_us);
    put_time(b, "due_end", o->due_end_us);
    put_str(b, "channel", rv_channel_name(o->channel));
    put_str(b, "rule_id", o->rule_id);
    put_str(b, "store_id", o->store_id);
    put_pii(b, "phone", EXPORT_PII_PHONE, o->phone);
    put_str(b, "salesperson_id", o->salesperson_id);
    put_str(b, "signature_ref", o->signature_ref);
    put_pii(b, "sms_reply", EXPORT_PII_SMS, o->sms_reply);
    put_str(b, "sms_gateway_reason", o->sms_gateway_reason);
}

static void build_grade(builder *b, const rv_grade *g)
{
    put_envelope(b, &g->env);
    put_str(b, "grade_id", g->grade_id);
    put_str(b, "outcome_id", g->outcome_id);
    put_str(b, "task_id", g->task_id);
    put_int(b, "attempt", g->attempt);
    put_str(b, "customer_id", g->customer_id);
    put_str(b, "branch_id", g->branch_id);
    put_str(b, "agent_id", g->agent_id);
    put_str(b, "verdict", rv_verdict_name(g->verdict));
    put_str(b, "disposition", rv_disposition_name(g->disposition));
    put_satisfaction(b, g->satisfaction);
    put_str(b, "band", rv_band_name(g->band));
    put_bool(b, "evidence_ok", g->evidence_ok);
    put_str(b, "reason", g->reason);
    put_answers(b, "compliance", g->compliance, g->compliance_count);
    put_bool(b, "in_due_window", g->in_due_window);
    put_str(b, "policy_version", g->policy_version);
    put_pii(b, "notes", EXPORT_PII_TEXT, g->notes);
    put_time(b, "started_at", g->started_at_us);
    put_int(b, "talk_time_s", g->talk_time_s);
    put_str(b, "channel", rv_channel_name(g->channel));
    put_bool(b, "issue_raised", g->issue_raised);
    put_pii(b, "issue_text", EXPORT_PII_TEXT, g->issue_text);
    put_str(b, "store_id", g->store_id);
    put_str(b, "salesperson_id", g->salesperson_id);
}

static void build_alert(builder *b, const rv_alert *a)
{
    put_envelope(b, &a->env);
    put_str(b, "alert_id", a->alert_id);
    put_str(b, "grade_id", a->grade_id);
    put_str(b, "task_id", a->task_id);
    put_str(b, "customer_id", a->customer_id);
    put_str(b, "branch_id", a->branch_id);
    put_str(b, "agent_id", a->agent_id);
    put_str(b, "kind", a->kind);
    put_str(b, "severity", rv_severity_name(a->severity));
    put_str(b, "route_to", a->route_to);
    put_pii(b, "evidence", EXPORT_PII_EVIDENCE, a->evidence);
    put_str(b, "policy_version", a->policy_version);
    put_bool(b, "suspected", a->suspected);
    put_time(b, "deadline", a->deadline_us);
    put_str(b, "case_id", a->case_id);
    put_str(b, "notify", a->notify);
    put_int(b, "attempt", a->attempt);
    put_str(b, "salesperson_id", a->salesperson_id);
    put_str(b, "store_id", a->store_id);
}

static void build_case_event(builder *b, const rv_case_event *e)
{
    put_envelope(b, &e->env);
    put_str(b, "case_id", e->case_id);
    put_str(b, "action", rv_case_action_name(e->action));
    put_str(b, "actor", e->actor);
    put_pii(b, "text", EXPORT_PII_TEXT, e->text);
}

static void build_decision(builder *b, const rv_decision *d)
{
    put_envelope(b, &d->env);
    put_str(b, "decision_id", d->decision_id);
    put_str(b, "source_event_id", d->source_event_id);
    put_str(b, "customer_id", d->customer_id);
    put_str(b, "branch_id", d->branch_id);
    put_str(b, "store_id", d->store_id);
    put_str(b, "rule_id", d->rule_id);
    put_str(b, "outcome", rv_decision_outcome_name(d->outcome));
    put_real(b, "u", d->u);
    put_real(b, "rate", d->rate);
    put_str(b, "policy_version", d->policy_version);
    put_str(b, "reason", d->reason);
    put_str(b, "task_id", d->task_id);
}

/* The object of @p rec (a @p k record); NULL if a value could not be
 * represented or memory ran out. */
static json_t *build(kind k, const record *rec, const char *topic,
                     int32_t partition, int64_t offset, bool reveal)
{
    builder b = {.o = json_object(), .reveal = reveal};
    if (b.o == NULL) {
        return NULL;
    }
    put_str(&b, "topic", topic);
    put_int(&b, "partition", partition);
    put_int(&b, "offset", offset);
    switch (k) {
    case K_SALE:
        build_sale(&b, &rec->sale);
        break;
    case K_WORK_ORDER:
        build_work_order(&b, &rec->work_order);
        break;
    case K_TASK:
        build_task(&b, &rec->task);
        break;
    case K_ASSIGNMENT:
        build_assignment(&b, &rec->assignment);
        break;
    case K_OUTCOME:
        build_outcome(&b, &rec->outcome);
        break;
    case K_GRADE:
        build_grade(&b, &rec->grade);
        break;
    case K_ALERT:
        build_alert(&b, &rec->alert);
        break;
    case K_CASE:
        build_case_event(&b, &rec->case_event);
        break;
    case K_DECISION:
        build_decision(&b, &rec->decision);
        break;
    }
    if (b.failed) {
        json_decref(b.o);
        return NULL;
    }
    return b.o;
}

static rv_err decode(kind k, const uint8_t *buf, size_t len, record *rec,
                     const rv_envelope **env, char *errstr, size_t errstr_size)
{
    switch (k) {
    case K_SALE:
        *env = &rec->sale.env;
        return rv_codec_decode_sale(buf, len, &rec->sale, errstr, errstr_size);
    case K_WORK_ORDER:
        *env = &rec->work_order.env;
        return rv_codec_decode_work_order(buf, len, &rec->work_order, errstr,
                                          errstr_size);
    case K_TASK:
        *env = &rec->task.env;
        return rv_codec_decode_task(buf, len, &rec->task, errstr, errstr_size);
    case K_ASSIGNMENT:
        *env = &rec->assignment.env;
        return rv_codec_decode_assignment(buf, len, &rec->assignment, errstr,
                                          errstr_size);
    case K_OUTCOME:
        *env = &rec->outcome.env;
        return rv_codec_decode_outcome(buf, len, &rec->outcome, errstr,
                                       errstr_size);
    case K_GRADE:
        *env = &rec->grade.env;
        return rv_codec_decode_grade(buf, len, &rec->grade, errstr,
                                     errstr_size);
    case K_ALERT:
        *env = &rec->alert.env;
        return rv_codec_decode_alert(buf, len, &rec->alert, errstr,
                                     errstr_size);
    case K_CASE:
        *env = &rec->case_event.env;
        return rv_codec_decode_case_event(buf, len, &rec->case_event, errstr,
                                          errstr_size);
    case K_DECISION:
        *env = &rec->decision.env;
        return rv_codec_decode_decision(buf, len, &rec->decision, errstr,
                                        errstr_size);
    }
    return RV_ERR_INVALID;
}

/* ---- rendering --------------------------------------------------------- */

/* One CSV cell of @p v: a string as is, null empty, anything else as its
 * compact JSON text. */
static bool csv_value(FILE *out, const json_t *v)
{
    if (json_is_string(v)) {
        export_csv_field(out, json_string_value(v));
        return true;
    }
    if (json_is_null(v)) {
        return true;
    }
    char *text = json_dumps(v, JSON_FLAGS | JSON_ENCODE_ANY);
    if (text == NULL) {
        return false;
    }
    export_csv_field(out, text);
    free(text);
    return true;
}

/* @p o's keys (@p header) or values as one CSV line, CRLF, into a new
 * string. */
static char *csv_line(const json_t *o, bool header)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL) {
        return NULL;
    }
    bool ok = true;
    bool first = true;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)o, key, value)
    {
        if (!first) {
            fputc(',', out);
        }
        first = false;
        if (header) {
            export_csv_field(out, key);
        } else {
            ok = ok && csv_value(out, value);
        }
    }
    fputs("\r\n", out);
    ok = ferror(out) == 0 && ok;
    if (fclose(out) != 0 || !ok) {
        free(text);
        return NULL;
    }
    return text;
}

static char *ndjson_line(const json_t *o)
{
    char *json = json_dumps(o, JSON_FLAGS);
    if (json == NULL) {
        return NULL;
    }
    size_t n = strlen(json);
    char *line = malloc(n + 2);
    if (line != NULL) {
        memcpy(line, json, n);
        line[n] = '\n';
        line[n + 1] = '\0';
    }
    free(json);
    return line;
}

rv_err export_csv_header(const char *topic, FILE *out)
{
    kind k;
    if (!kind_of(topic, &k)) {
        return RV_ERR_INVALID;
    }
    record *zero = calloc(1, sizeof(*zero));
    if (zero == NULL) {
        return RV_ERR_NOMEM;
    }
    json_t *o = build(k, zero, topic, 0, 0, true);
    free(zero);
    char *line = o != NULL ? csv_line(o, true) : NULL;
    json_decref(o);
    if (line == NULL) {
        return RV_ERR_NOMEM;
    }
    fputs(line, out);
    free(line);
    return RV_OK;
}

static_assert(EXPORT_ROWS_PER_MSG_MAX >= RV_CODEC_DECISIONS_MAX,
              "a decisions message renders to at most this many rows");

/* Render record @p rec (its envelope @p env) of message @p m into *@p out.
 * @returns RV_OK, RV_ERR_NOMEM */
static rv_err render_row(kind k, const record *rec, const rv_envelope *env,
                         const rv_msg *m, export_format format, bool reveal,
                         export_row *out)
{
    json_t *o = build(k, rec, m->topic, m->partition, m->offset, reveal);
    char *text = NULL;
    if (o != NULL) {
        text = format == EXPORT_CSV ? csv_line(o, false) : ndjson_line(o);
    }
    json_decref(o);
    if (text == NULL) {
        /* The decoders passed valid UTF-8 only: what fails is memory. */
        return RV_ERR_NOMEM;
    }
    out->occurred_at_us = env->occurred_at_us;
    rv_copy_str(out->event_id, sizeof(out->event_id), env->event_id);
    out->partition = m->partition;
    out->offset = m->offset;
    out->text = text;
    return RV_OK;
}

rv_err export_rows_build(const rv_msg *m, export_format format, bool reveal,
                         export_row *out, size_t cap, size_t *count,
                         char *errstr, size_t errstr_size)
{
    *count = 0;
    kind k;
    if (!kind_of(m->topic, &k)) {
        rv_errf(errstr, errstr_size, "%s: not a history topic",
                m->topic != NULL ? m->topic : "(null)");
        return RV_ERR_INVALID;
    }
    if (m->payload == NULL) {
        rv_errf(errstr, errstr_size,
                "%s [%" PRId32 "] at %" PRId64 ": empty message (tombstone)",
                m->topic, m->partition, m->offset);
        return RV_ERR_INVALID;
    }
    record *rec = malloc(sizeof(*rec));
    /* A decisions message carries one customer's decisions (issue 8). */
    rv_decision *ds =
        k == K_DECISION ? malloc(RV_CODEC_DECISIONS_MAX * sizeof(*ds)) : NULL;
    if (rec == NULL || (k == K_DECISION && ds == NULL)) {
        free(rec);
        free(ds);
        return RV_ERR_NOMEM;
    }
    const rv_envelope *env = NULL;
    size_t n = 1;
    rv_err err =
        k == K_DECISION
            ? rv_codec_decode_decisions(m->payload, m->len, ds,
                                        RV_CODEC_DECISIONS_MAX, &n, errstr,
                                        errstr_size)
            : decode(k, m->payload, m->len, rec, &env, errstr, errstr_size);
    if (err == RV_OK && n > cap) {
        rv_errf(errstr, errstr_size,
                "%s [%" PRId32 "] at %" PRId64
                ": carries %zu records, room for %zu",
                m->topic, m->partition, m->offset, n, cap);
        err = RV_ERR_INVALID;
    }
    for (size_t i = 0; err == RV_OK && i < n; i++) {
        if (k == K_DECISION) {
            rec->decision = ds[i];
            env = &rec->decision.env;
        }
        err = render_row(k, rec, env, m, format, reveal, &out[i]);
        if (err == RV_OK) {
            *count = i + 1;
        }
    }
    if (err != RV_OK) {
        for (size_t i = 0; i < *count; i++) {
            export_row_fini(&out[i]);
        }
        *count = 0;
    }
    free(ds);
    free(rec);
    return err;
}

rv_err export_row_build(const rv_msg *m, export_format format, bool reveal,
                        export_row *out, char *errstr, size_t errstr_size)
{
    size_t count = 0;
    return export_rows_build(m, format, reveal, out, 1, &count, errstr,
                             errstr_size);
}

void export_row_fini(export_row *r)
{
    if (r != NULL) {
        free(r->text);
        r->text = NULL;
    }
}

int export_row_cmp(const void *a, const void *b)
{
    const export_row *x = a, *y = b;
    if (x->occurred_at_us != y->occurred_at_us) {
        return x->occurred_at_us < y->occurred_at_us ? -1 : 1;
    }
    int c = strcmp(x->event_id, y->event_id);
    if (c != 0) {
        return c;
    }
    if (x->partition != y->partition) {
        return x->partition < y->partition ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}
