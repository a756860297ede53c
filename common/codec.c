/* common/codec.c: protobuf-c <-> rv/model.h. protobuf-c messages are
 * built over the record's own arrays (no copies) for packing, and
 * unpacked, validated, copied and freed here for decoding. */
#include "rv/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "revisit/v1/revisit.pb-c.h"
#include "rv/hash.h"

/* ---- shared helpers ---------------------------------------------------- */

/* Copies @p src into @p dst; false (with errstr) if too long or, when
 * @p required, empty. protobuf-c gives "" for unset strings. */
static bool cp(char *dst, size_t size, const char *src, const char *what,
               const char *field, bool required, char *errstr,
               size_t errstr_size)
{
    const char *s = src != NULL ? src : "";
    size_t n = strlen(s);
    if (required && n == 0) {
        rv_errf(errstr, errstr_size, "%s: %s is empty", what, field);
        return false;
    }
    if (n >= size) {
        rv_errf(errstr, errstr_size, "%s: %s has %zu bytes, limit %zu", what,
                field, n, size - 1);
        return false;
    }
    /* proto3 strings are UTF-8; protobuf-c does not check, PostgreSQL
     * would refuse the row downstream. */
    const uint8_t *bad = u8_check((const uint8_t *)s, n);
    if (bad != NULL) {
        rv_errf(errstr, errstr_size,
                "%s: %s is not UTF-8 (bad byte 0x%02x at %zu)", what, field,
                *bad, (size_t)(bad - (const uint8_t *)s));
        return false;
    }
    memcpy(dst, s, n + 1);
    return true;
}

static bool check_len(size_t len, const char *what, char *errstr,
                      size_t errstr_size)
{
    if (len > RV_CODEC_MAX_BYTES) {
        rv_errf(errstr, errstr_size, "%s: %zu bytes exceeds limit %d", what,
                len, RV_CODEC_MAX_BYTES);
        return false;
    }
    return true;
}

/* Deepest nesting of messages scan_strings() follows. Ours nest three
 * deep (SamplingDecision.more.envelope); protobuf-c's unpack recurses
 * into nested messages without a limit, so deeper input is refused
 * before it gets there. */
#define NEST_MAX 16

typedef enum {
    SCAN_OK,
    SCAN_NUL,  /* a string field holds a 0x00 byte */
    SCAN_DEEP, /* messages nested more than NEST_MAX deep */
    SCAN_BAD,  /* not wire format that protobuf-c would accept */
} scan_result;

/* The string field holding a NUL, and the message fields leading to it. */
struct scan_trail {
    const ProtobufCFieldDescriptor *field[NEST_MAX];
    unsigned count;
};

/* Reads a varint at *@p at, short of @p end; false if it runs past
 * @p end or beyond 10 bytes (protobuf-c's limit too). */
static bool get_varint(const uint8_t **at, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10 && *at < end; i++) {
        uint8_t byte = *(*at)++;
        x |= (uint64_t)(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* protobuf-c unpacks a string field into a NUL-terminated char *, so
 * "C-1\0EVIL" reaches cp() as "C-1": a message accepted under a value it
 * does not hold, equal to a key it does not match. NUL is valid UTF-8 and
 * u8_check() cannot see it, so the wire form of @p len bytes at @p at,
 * a message of type @p desc, is walked for it: every string field at any
 * depth, repeated or not, known from the descriptors. Bytes, packed
 * numbers and unknown fields are skipped. Every length is checked against
 * what remains, and each step consumes at least one byte. */
static scan_result scan_strings(const ProtobufCMessageDescriptor *desc,
                                const uint8_t *at, size_t len, unsigned depth,
                                struct scan_trail *trail)
{
    if (len == 0) {
        return SCAN_OK; /* and @p at may be NULL */
    }
    const uint8_t *end = at + len;
    while (at < end) {
        uint64_t tag = 0;
        uint64_t n = 0;
        if (!get_varint(&at, end, &tag)) {
            return SCAN_BAD;
        }
        switch (tag & 7) {
        case 0: /* varint */
            if (!get_varint(&at, end, &n)) {
                return SCAN_BAD;
            }
            continue;
        case 1: /* fixed64 */
            n = 8;
            break;
        case 2: /* length-delimited */
            if (!get_varint(&at, end, &n)) {
                return SCAN_BAD;
            }
            break;
        case 5: /* fixed32 */
            n = 4;
            break;
        default: /* groups (3, 4), which protobuf-c refuses too, 6, 7 */
            return SCAN_BAD;
        }
        if (n > (uint64_t)(end - at)) {
            return SCAN_BAD;
        }
        const ProtobufCFieldDescriptor *f = NULL;
        if ((tag & 7) == 2 && (tag >> 3) <= 0x1fffffff) {
            f = protobuf_c_message_descriptor_get_field(desc,
                                                        (unsigned)(tag >> 3));
        }
        if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING &&
            memchr(at, 0, (size_t)n) != NULL) {
            trail->field[depth] = f;
            trail->count = depth + 1;
            return SCAN_NUL;
        }
        if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (depth + 1 >= NEST_MAX) {
                return SCAN_DEEP;
            }
            trail->field[depth] = f;
            scan_result r =
                scan_strings(f->descriptor, at, (size_t)n, depth + 1, trail);
            if (r != SCAN_OK) {
                return r;
            }
        }
        at += n;
    }
    return SCAN_OK;
}

/* Unpacks @p len bytes at @p buf as a message of type @p desc, refusing
 * (NULL, errstr) one above RV_CODEC_MAX_BYTES, one with a NUL in a string
 * field or nested too deep (scan_strings), and bytes that are not a
 * message: those the scan cannot read (protobuf-c would refuse them too:
 * cut varints, lengths past the end, groups) or protobuf-c refuses. The
 * sentence calls the type v1.<name>, as the decoders always have. */
static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *desc,
                                const uint8_t *buf, size_t len,
                                const char *what, char *errstr,
                                size_t errstr_size)
{
    if (!check_len(len, what, errstr, errstr_size)) {
        return NULL;
    }
    const char *pkg = strrchr(desc->package_name, '.');
    pkg = pkg != NULL ? pkg + 1 : desc->package_name;
    struct scan_trail trail = {.count = 0};
    scan_result r = scan_strings(desc, buf, len, 0, &trail);
    if (r == SCAN_NUL) {
        char path[160] = "";
        size_t at = 0;
        for (unsigned i = 0; i < trail.count && at < sizeof(path); i++) {
            int k = snprintf(path + at, sizeof(path) - at, "%s%s",
                             i > 0 ? "." : "", trail.field[i]->name);
            at = k > 0 ? at + (size_t)k : sizeof(path);
        }
        rv_errf(errstr, errstr_size,
                "%s: not a %s.%s: field %s holds a NUL byte", what, pkg,
                desc->short_name, path);
        return NULL;
    }
    if (r == SCAN_DEEP) {
        rv_errf(errstr, errstr_size,
                "%s: not a %s.%s: messages nested more than %d deep", what, pkg,
                desc->short_name, NEST_MAX);
        return NULL;
    }
    ProtobufCMessage *m =
        r == SCAN_OK ? protobuf_c_message_unpack(desc, NULL, len, buf) : NULL;
    if (m == NULL) {
        rv_errf(errstr, errstr_size, "%s: not a %s.%s (%zu bytes)", what, pkg,
                desc->short_name, len);
    }
    return m;
}

static void env_to_pb(const rv_envelope *in, Revisit__V1__Envelope *pb)
{
    revisit__v1__envelope__init(pb);
    pb->event_id = (char *)in->event_id;
    pb->occurred_at_us = in->occurred_at_us;
    pb->produced_at_us = in->produced_at_us;
    pb->producer = (char *)in->producer;
    pb->causation_id = (char *)in->causation_id;
    pb->schema_version = in->schema_version;
}

/* An event ID is a derived ID (rv/hash.h rv_id_derive): exactly 32
 * lowercase hex digits. Anything else is no event of ours, and would be
 * the key of every derived ID and idempotent effect downstream (DESIGN
 * §4; tester finding 7). */
static bool event_id_ok(const char *id, const char *what, char *errstr,
                        size_t errstr_size)
{
    const char *s = id != NULL ? id : "";
    size_t n = strlen(s);
    bool ok = n == RV_ID_SIZE - 1;
    for (size_t i = 0; ok && i < n; i++) {
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    }
    if (!ok) {
        char q[RV_ERRQUOTE_SIZE];
        rv_errf(errstr, errstr_size,
                "%s: event_id %s is not %d lowercase hex digits", what,
                rv_errquote(q, sizeof(q), s, n), RV_ID_SIZE - 1);
    }
    return ok;
}

static bool env_from_pb(const Revisit__V1__Envelope *pb, rv_envelope *out,
                        const char *what, char *errstr, size_t errstr_size)
{
    if (pb == NULL) {
        rv_errf(errstr, errstr_size, "%s: envelope missing", what);
        return false;
    }
    if (pb->schema_version != RV_SCHEMA_VERSION) {
        rv_errf(errstr, errstr_size, "%s: schema_version %u, expected %d", what,
                pb->schema_version, RV_SCHEMA_VERSION);
        return false;
    }
    if (pb->occurred_at_us < RV_CODEC_MIN_TIME_US) {
        rv_errf(errstr, errstr_size,
                "%s: occurred_at_us %lld is before 1990-01-01 (limit %lld)",
                what, (long long)pb->occurred_at_us,
                (long long)RV_CODEC_MIN_TIME_US);
        return false;
    }
    if (pb->occurred_at_us >= RV_CODEC_MAX_TIME_US) {
        rv_errf(errstr, errstr_size,
                "%s: occurred_at_us %lld is at or after 2100-01-01 (limit "
                "%lld)",
                what, (long long)pb->occurred_at_us,
                (long long)RV_CODEC_MAX_TIME_US);
        return false;
    }
    if (!event_id_ok(pb->event_id, what, errstr, errstr_size)) {
        return false;
    }
    out->occurred_at_us = pb->occurred_at_us;
    out->produced_at_us = pb->produced_at_us;
    out->schema_version = pb->schema_version;
    return cp(out->event_id, sizeof(out->event_id), pb->event_id, what,
              "event_id", true, errstr, errstr_size) &&
           cp(out->producer, sizeof(out->producer), pb->producer, what,
              "producer", false, errstr, errstr_size) &&
           cp(out->causation_id, sizeof(out->causation_id), pb->causation_id,
              what, "causation_id", false, errstr, errstr_size);
}

/* Packs any message into a new buffer. */
static rv_err pack(const ProtobufCMessage *m, uint8_t **buf, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n > 0 ? n : 1);
    if (b == NULL) {
        return RV_ERR_NOMEM;
    }
    protobuf_c_message_pack(m, b);
    *buf = b;
    *len = n;
    return RV_OK;
}

static bool copy_questions(char (*dst)[RV_KEY_SIZE], size_t *count, size_t n,
                           char **src, const char *what, char *errstr,
                           size_t errstr_size)
{
    if (n > RV_QUESTIONS_MAX) {
        rv_errf(errstr, errstr_size, "%s: %zu questions, limit %d (C3)", what,
                n, RV_QUESTIONS_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!cp(dst[i], RV_KEY_SIZE, src[i], what, "question_id", true, errstr,
                errstr_size)) {
            return false;
        }
    }
    *count = n;
    return true;
}

static bool channel_ok(int c, const char *what, char *errstr,
                       size_t errstr_size)
{
    if (c < RV_CHANNEL_PHONE || c > RV_CHANNEL_ON_SITE) {
        rv_errf(errstr, errstr_size, "%s: channel %d unknown", what, c);
        return false;
    }
    return true;
}

/* A call's start inside the event-time range (the grader dates retries
 * and R10 months by it, the alerter its A5 hour) and its talk time within
 * RV_TALK_TIME_MAX_S: the record keeps both, and a value it cannot hold
 * left a grade without its outcome (issue 6). */
static bool call_ok(const char *what, const char *id, int64_t started_at_us,
                    uint32_t talk_time_s, char *errstr, size_t errstr_size)
{
    if (started_at_us < RV_CODEC_MIN_TIME_US ||
        started_at_us >= RV_CODEC_MAX_TIME_US) {
        rv_errf(errstr, errstr_size,
                "%s %s: started_at_us %lld outside [1990-01-01, 2100-01-01)",
                what, id, (long long)started_at_us);
        return false;
    }
    if (talk_time_s > RV_TALK_TIME_MAX_S) {
        rv_errf(errstr, errstr_size, "%s %s: talk_time_s %u over %d (a day)",
                what, id, talk_time_s, RV_TALK_TIME_MAX_S);
        return false;
    }
    return true;
}

static bool answers_from_pb(rv_answer *dst, size_t *count, size_t n,
                            Revisit__V1__Answer **src, const char *what,
                            char *errstr, size_t errstr_size)
{
    if (n > RV_ANSWERS_MAX) {
        rv_errf(errstr, errstr_size, "%s: %zu answers, limit %d", what, n,
                RV_ANSWERS_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!cp(dst[i].question_id, sizeof(dst[i].question_id),
                src[i]->question_id, what, "answer.question_id", true, errstr,
                errstr_size) ||
            !cp(dst[i].value, sizeof(dst[i].value), src[i]->value, what,
                "answer.value", false, errstr, errstr_size)) {
            return false;
        }
    }
    *count = n;
    return true;
}

/* ---- SaleEvent --------------------------------------------------------- */

rv_err rv_codec_encode_sale(const rv_sale *in, uint8_t **buf, size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__SaleEvent m;
    env_to_pb(&in->env, &env);
    revisit__v1__sale_event__init(&m);
    m.envelope = &env;
    m.order_id = (char *)in->order_id;
    m.customer_id = (char *)in->customer_id;
    m.branch_id = (char *)in->branch_id;
    m.store_id = (char *)in->store_id;
    m.amount_cents = in->amount_cents;
    m.currency = (char *)in->currency;
    m.segment = (char *)in->segment;
    m.phone = (char *)in->phone;
    m.phone_synthetic = in->phone_synthetic;
    m.line_count = in->line_count;
    m.salesperson_id = (char *)in->salesperson_id;
    m.gift_cents = in->gift_cents;
    m.customer_class = (char *)in->customer_class;
    m.new_customer = in->new_customer;
    char *categories[RV_CATEGORIES_MAX];
    size_t nc = in->category_count < RV_CATEGORIES_MAX ? in->category_count
                                                       : RV_CATEGORIES_MAX;
    for (size_t i = 0; i < nc; i++) {
        categories[i] = (char *)in->categories[i];
    }
    m.n_categories = nc;
    m.categories = categories;
    return pack(&m.base, buf, len);
}

rv_err rv_codec_decode_sale(const uint8_t *buf, size_t len, rv_sale *out,
                            char *errstr, size_t errstr_size)
{
    const char *w = "sale";
    Revisit__V1__SaleEvent *m = (Revisit__V1__SaleEvent *)unpack(
        &revisit__v1__sale_event__descriptor, buf, len, w, errstr, errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_sale r = {0};
    bool ok = env_from_pb(m->envelope, &r.env, w, errstr, errstr_size) &&
              cp(r.order_id, sizeof(r.order_id), m->order_id, w, "order_id",
                 true, errstr, errstr_size) &&
              cp(r.customer_id, sizeof(r.customer_id), m->customer_id, w,
                 "customer_id", true, errstr, errstr_size) &&
              cp(r.branch_id, sizeof(r.branch_id), m->branch_id, w, "branch_id",
                 true, errstr, errstr_size) &&
              cp(r.store_id, sizeof(r.store_id), m->store_id, w, "store_id",
                 false, errstr, errstr_size) &&
              cp(r.currency, sizeof(r.currency), m->currency, w, "currency",
                 false, errstr, errstr_size) &&
              cp(r.segment, sizeof(r.segment), m->segment, w, "segment", false,
                 errstr, errstr_size) &&
              cp(r.phone, sizeof(r.phone), m->phone, w, "phone", false, errstr,
                 errstr_size) &&
              cp(r.salesperson_id, sizeof(r.salesperson_id), m->salesperson_id,
                 w, "salesperson_id", false, errstr, errstr_size) &&
              cp(r.customer_class, sizeof(r.customer_class), m->customer_class,
                 w, "customer_class", false, errstr, errstr_size);
    if (ok && m->amount_cents < 0) {
        rv_errf(errstr, errstr_size, "sale %s: amount_cents %lld below 0",
                r.order_id, (long long)m->amount_cents);
        ok = false;
    }
    if (ok && m->gift_cents < 0) {
        rv_errf(errstr, errstr_size, "sale %s: gift_cents %lld below 0",
                r.order_id, (long long)m->gift_cents);
        ok = false;
    }
    if (ok && m->line_count > RV_LINES_MAX) {
        rv_errf(errstr, errstr_size, "sale %s: line_count %u, limit %d",
                r.order_id, (unsigned)m->line_count, RV_LINES_MAX);
        ok = false;
    }
    if (ok && m->n_categories > RV_CATEGORIES_MAX) {
        rv_errf(errstr, errstr_size, "sale %s: %zu categories, limit %d",
                r.order_id, m->n_categories, RV_CATEGORIES_MAX);
        ok = false;
    }
    for (size_t i = 0; ok && i < m->n_categories; i++) {
        ok = cp(r.categories[i], sizeof(r.categories[i]), m->categories[i], w,
                "categories[]", true, errstr, errstr_size);
    }
    r.category_count = ok ? m->n_categories : 0;
    r.gift_cents = m->gift_cents;
    r.new_customer = m->new_customer;
    r.amount_cents = m->amount_cents;
    r.phone_synthetic = m->phone_synthetic;
    r.line_count = m->line_count;
    revisit__v1__sale_event__free_unpacked(m, NULL);
    if (!ok) {
        return RV_ERR_INVALID;
    }
    *out = r;
    return RV_OK;
}

/* ---- WorkOrderEvent ---------------------------------------------------- */

rv_err rv_codec_encode_work_order(const rv_work_order *in, uint8_t **buf,
                                  size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__WorkOrderEvent m;
    env_to_pb(&in->env, &env);
    revisit__v1__work_order_event__init(&m);
    m.envelope = &env;
    m.work_order_id = (char *)in->work_order_id;
    m.kind = (Revisit__V1__WorkOrderKind)in->kind;
    m.customer_id = (char *)in->customer_id;
    m.branch_id = (char *)in->branch_id;
    m.store_id = (char *)in->store_id;
    m.phone = (char *)in->phone;
    m.phone_synthetic = in->phone_synthetic;
    return pack(&m.base, buf, len);
}

rv_err rv_codec_decode_work_order(const uint8_t *buf, size_t len,
                                  rv_work_order *out, char *errstr,
                                  size_t errstr_size)
{
    const char *w = "work_order";
    Revisit__V1__WorkOrderEvent *m = (Revisit__V1__WorkOrderEvent *)unpack(
        &revisit__v1__work_order_event__descriptor, buf, len, w, errstr,
        errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_work_order r = {0};
    bool ok = env_from_pb(m->envelope, &r.env, w, errstr, errstr_size) &&
              cp(r.work_order_id, sizeof(r.work_order_id), m->work_order_id, w,
                 "work_order_id", true, errstr, errstr_size) &&
              cp(r.customer_id, sizeof(r.customer_id), m->customer_id, w,
                 "customer_id", true, errstr, errstr_size) &&
              cp(r.branch_id, sizeof(r.branch_id), m->branch_id, w, "branch_id",
                 true, errstr, errstr_size) &&
              cp(r.store_id, sizeof(r.store_id), m->store_id, w, "store_id",
                 false, errstr, errstr_size) &&
              cp(r.phone, sizeof(r.phone), m->phone, w, "phone", false, errstr,
                 errstr_size);
    if (ok &&
        m->kind != REVISIT__V1__WORK_ORDER_KIND__WORK_ORDER_KIND_COMPLAINT &&
        m->kind != REVISIT__V1__WORK_ORDER_KIND__WORK_ORDER_KIND_REPAIR) {
        rv_errf(errstr, errstr_size, "work_order %s: kind %d unknown",
                r.work_order_id, (int)m->kind);
        ok = false;
    }
    r.kind = (rv_work_order_kind)m->kind;
    r.phone_synthetic = m->phone_synthetic;
    revisit__v1__work_order_event__free_unpacked(m, NULL);
    if (!ok) {
        return RV_ERR_INVALID;
    }
    *out = r;
    return RV_OK;
}

/* ---- VisitTask --------------------------------------------------------- */

rv_err rv_codec_encode_task(const rv_task *in, uint8_t **buf, size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__VisitTask m;
    char *reasons[RV_REASONS_MAX];
    char *questions[RV_QUESTIONS_MAX];
    env_to_pb(&in->env, &env);
    revisit__v1__visit_task__init(&m);
    m.envelope = &env;
    m.task_id = (char *)in->task_id;
    m.customer_id = (char *)in->customer_id;
    m.branch_id = (char *)in->branch_id;
    m.store_id = (char *)in->store_id;
    m.rule_id = (char *)in->rule_id;
    for (size_t i = 0; i < in->reason_count && i < RV_REASONS_MAX; i++) {
        reasons[i] = (char *)in->reasons[i];
    }
    m.n_reasons = in->reason_count;
    m.reasons = reasons;
    m.source_event_id = (char *)in->source_event_id;
    m.due_start_us = in->due_start_us;
    m.due_end_us = in->due_end_us;
    m.priority = in->priority;
    m.channel = (Revisit__V1__Channel)in->channel;
    for (size_t i = 0; i < in->question_count && i < RV_QUESTIONS_MAX; i++) {
        questions[i] = (char *)in->questions[i];
    }
    m.n_question_ids = in->question_count;
    m.question_ids = questions;
    m.policy_version = (char *)in->policy_version;
    m.attempt = in->attempt;
    m.not_before_us = in->not_before_us;
    m.phone = (char *)in->phone;
    m.sample_u = in->sample_u;
    m.sample_rate = in->sample_rate;
    m.salesperson_id = (char *)in->salesperson_id;
    m.customer_class = (char *)in->customer_class;
    return pack(&m.base, buf, len);
}

rv_err rv_codec_decode_task(const uint8_t *buf, size_t len, rv_task *out,
                            char *errstr, size_t errstr_size)
{
    const char *w = "task";
    Revisit__V1__VisitTask *m = (Revisit__V1__VisitTask *)unpack(
        &revisit__v1__visit_task__descriptor, buf, len, w, errstr, errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_task *r = calloc(1, sizeof(*r));
    bool ok = r != NULL;
    ok = ok && env_from_pb(m->envelope, &r->env, w, errstr, errstr_size) &&
         cp(r->task_id, sizeof(r->task_id), m->task_id, w, "task_id", true,
            errstr, errstr_size) &&
         cp(r->customer_id, sizeof(r->customer_id), m->customer_id, w,
            "customer_id", true, errstr, errstr_size) &&
         cp(r->branch_id, sizeof(r->branch_id), m->branch_id, w, "branch_id",
            true, errstr, errstr_size) &&
         cp(r->store_id, sizeof(r->store_id), m->store_id, w, "store_id", false,
            errstr, errstr_size) &&
         cp(r->rule_id, sizeof(r->rule_id), m->rule_id, w, "rule_id", true,
            errstr, errstr_size) &&
         cp(r->source_event_id, sizeof(r->source_event_id), m->source_event_id,
            w, "source_event_id", true, errstr, errstr_size) &&
         cp(r->policy_version, sizeof(r->policy_version), m->policy_version, w,
            "policy_version", true, errstr, errstr_size) &&
         cp(r->phone, sizeof(r->phone), m->phone, w, "phone", false, errstr,
            errstr_size) &&
         cp(r->salesperson_id, sizeof(r->salesperson_id), m->salesperson_id, w,
            "salesperson_id", false, errstr, errstr_size) &&
         cp(r->customer_class, sizeof(r->customer_class), m->customer_class, w,
            "customer_class", false, errstr, errstr_size) &&
         channel_ok(m->channel, w, errstr, errstr_size) &&
         copy_questions(r->questions, &r->question_count, m->n_question_ids,
                        m->question_ids, w, errstr, errstr_size);
    if (ok && m->n_reasons > RV_REASONS_MAX) {
        rv_errf(errstr, errstr_size, "task: %zu reasons, limit %d",
                m->n_reasons, RV_REASONS_MAX);
        ok = false;
    }
    for (size_t i = 0; ok && i < m->n_reasons; i++) {
        ok = cp(r->reasons[i], RV_REASON_SIZE, m->reasons[i], w, "reason", true,
                errstr, errstr_size);
    }
    if (ok && (m->attempt < 1 || m->attempt > RV_ATTEMPTS_MAX)) {
        rv_errf(errstr, errstr_size, "task %s: attempt %u outside 1..%d",
                r->task_id, m->attempt, RV_ATTEMPTS_MAX);
        ok = false;
    }
    if (ok && (m->due_start_us <= 0 || m->due_end_us <= m->due_start_us)) {
        rv_errf(errstr, errstr_size,
                "task %s: due window [%lld, %lld) is empty", r->task_id,
                (long long)m->due_start_us, (long long)m->due_end_us);
        ok = false;
    }
    if (ok) {
        r->reason_count = m->n_reasons;
        r->due_start_us = m->due_start_us;
        r->due_end_us = m->due_end_us;
        r->priority = m->priority;
        r->channel = (rv_channel)m->channel;
        r->attempt = m->attempt;
        r->not_before_us = m->not_before_us;
        r->sample_u = m->sample_u;
        r->sample_rate = m->sample_rate;
        *out = *r;
    }
    free(r);
    revisit__v1__visit_task__free_unpacked(m, NULL);
    return ok ? RV_OK : RV_ERR_INVALID;
}

/* ---- Assignment -------------------------------------------------------- */

rv_err rv_codec_encode_assignment(const rv_assignment *in, uint8_t **buf,
                                  size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__Assignment m;
    char *questions[RV_QUESTIONS_MAX];
    env_to_pb(&in->env, &env);
    revisit__v1__assignment__init(&m);
    m.envelope = &env;
    m.assignment_id = (char *)in->assignment_id;
    m.task_id = (char *)in->task_id;
    m.attempt = in->attempt;
    m.customer_id = (char *)in->customer_id;
    m.branch_id = (char *)in->branch_id;
    m.status = (Revisit__V1__AssignmentStatus)in->status;
    m.agent_id = (char *)in->agent_id;
    m.day = (char *)in->day;
    m.window_start_us = in->window_start_us;
    m.window_end_us = in->window_end_us;
    m.reason = (char *)in->reason;
    m.policy_version = (char *)in->policy_version;
    m.channel = (Revisit__V1__Channel)in->channel;
    for (size_t i = 0; i < in->question_count && i < RV_QUESTIONS_MAX; i++) {
        questions[i] = (char *)in->questions[i];
    }
    m.n_question_ids = in->question_count;
    m.question_ids = questions;
    m.phone = (char *)in->phone;
    m.due_end_us = in->due_end_us;
    m.due_start_us = in->due_start_us;
    m.rule_id = (char *)in->rule_id;
    m.store_id = (char *)in->store_id;
    m.salesperson_id = (char *)in->salesperson_id;
    m.window_index = in->window_index;
    return pack(&m.base, buf, len);
}

/* Whether @p s is a calendar date "YYYY-MM-DD" of [1990, 2100), the
 * event-time bounds of every message: PostgreSQL's date column refuses
 * anything else, and a bad day must be refused where it enters. */
static bool is_calendar_day(const char *s)
{
    static const int days_in[12] = {31, 28, 31, 30, 31, 30,
                                    31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return false;
    }
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return false;
        }
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
            (s[3] - '0');
    int mo = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1990 || y >= 2100 || mo < 1 || mo > 12 || d < 1) {
        return false;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days_in[mo - 1] + (mo == 2 && leap ? 1 : 0);
}

rv_err rv_codec_decode_assignment(const uint8_t *buf, size_t len,
                                  rv_assignment *out, char *errstr,
                                  size_t errstr_size)
{
    const char *w = "assignment";
    Revisit__V1__Assignment *m = (Revisit__V1__Assignment *)unpack(
        &revisit__v1__assignment__descriptor, buf, len, w, errstr, errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_assignment *r = calloc(1, sizeof(*r));
    bool ok = r != NULL;
    ok = ok && env_from_pb(m->envelope, &r->env, w, errstr, errstr_size) &&
         cp(r->assignment_id, sizeof(r->assignment_id), m->assignment_id, w,
            "assignment_id", true, errstr, errstr_size) &&
         cp(r->task_id, sizeof(r->task_id), m->task_id, w, "task_id", true,
            errstr, errstr_size) &&
         cp(r->customer_id, sizeof(r->customer_id), m->customer_id, w,
            "customer_id", true, errstr, errstr_size) &&
         cp(r->branch_id, sizeof(r->branch_id), m->branch_id, w, "branch_id",
            true, errstr, errstr_size) &&
         cp(r->agent_id, sizeof(r->agent_id), m->agent_id, w, "agent_id", false,
            errstr, errstr_size) &&
         cp(r->day, sizeof(r->day), m->day, w, "day", false, errstr,
            errstr_size) &&
         cp(r->reason, sizeof(r->reason), m->reason, w, "reason", false, errstr,
            errstr_size) &&
         cp(r->policy_version, sizeof(r->policy_version), m->policy_version, w,
            "policy_version", true, errstr, errstr_size) &&
         cp(r->phone, sizeof(r->phone), m->phone, w, "phone", false, errstr,
            errstr_size) &&
         cp(r->salesperson_id, sizeof(r->salesperson_id), m->salesperson_id, w,
            "salesperson_id", false, errstr, errstr_size) &&
         cp(r->rule_id, sizeof(r->rule_id), m->rule_id, w, "rule_id", false,
            errstr, errstr_size) &&
         cp(r->store_id, sizeof(r->store_id), m->store_id, w, "store_id", false,
            errstr, errstr_size) &&
         channel_ok(m->channel, w, errstr, errstr_size) &&
         copy_questions(r->questions, &r->question_count, m->n_question_ids,
                        m->question_ids, w, errstr, errstr_size);
    if (ok &&
        m->status !=
            REVISIT__V1__ASSIGNMENT_STATUS__ASSIGNMENT_STATUS_ASSIGNED &&
        m->status !=
            REVISIT__V1__ASSIGNMENT_STATUS__ASSIGNMENT_STATUS_UNASSIGNED) {
        rv_errf(errstr, errstr_size, "assignment %s: status %d unknown",
                r->assignment_id, (int)m->status);
        ok = false;
    }
    if (ok && r->day[0] != '\0' && !is_calendar_day(r->day)) {
        rv_errf(errstr, errstr_size,
                "assignment %s: day \"%s\" is not a date YYYY-MM-DD in "
                "[1990, 2100)",
                r->assignment_id, r->day);
        ok = false;
    }
    if (ok &&
        m->status ==
            REVISIT__V1__ASSIGNMENT_STATUS__ASSIGNMENT_STATUS_ASSIGNED &&
        (r->agent_id[0] == '\0' || m->window_end_us <= m->window_start_us)) {
        rv_errf(errstr, errstr_size,
                "assignment %s: assigned without agent or window",
                r->assignment_id);
        ok = false;
    }
    if (ok) {
        r->attempt = m->attempt;
        r->status = (rv_assignment_status)m->status;
        r->window_start_us = m->window_start_us;
        r->window_end_us = m->window_end_us;
        r->channel = (rv_channel)m->channel;
        r->due_end_us = m->due_end_us;
        r->due_start_us = m->due_start_us;
        r->window_index = m->window_index;
        *out = *r;
    }
    free(r);
    revisit__v1__assignment__free_unpacked(m, NULL);
    return ok ? RV_OK : RV_ERR_INVALID;
}

/* ---- VisitOutcome ------------------------------------------------------ */

rv_err rv_codec_encode_outcome(const rv_outcome *in, uint8_t **buf, size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__VisitOutcome m;
    Revisit__V1__Answer answers[RV_ANSWERS_MAX];
    Revisit__V1__Answer *answer_ptrs[RV_ANSWERS_MAX];
    char *questions[RV_QUESTIONS_MAX];
    env_to_pb(&in->env, &env);
    revisit__v1__visit_outcome__init(&m);
    m.envelope = &env;
    m.outcome_id = (char *)in->outcome_id;
    m.assignment_id = (char *)in->assignment_id;
    m.task_id = (char *)in->task_id;
    m.attempt = in->attempt;
    m.customer_id = (char *)in->customer_id;
    m.branch_id = (char *)in->branch_id;
    m.agent_id = (char *)in->agent_id;
    m.disposition = (Revisit__V1__Disposition)in->disposition;
    m.started_at_us = in->started_at_us;
    m.talk_time_s = in->talk_time_s;
    for (size_t i = 0; i < in->answer_count && i < RV_ANSWERS_MAX; i++) {
        revisit__v1__answer__init(&answers[i]);
        answers[i].question_id = (char *)in->answers[i].question_id;
        answers[i].value = (char *)in->answers[i].value;
        answer_ptrs[i] = &answers[i];
    }
    m.n_answers = in->answer_count;
    m.answers = answer_ptrs;
    m.satisfaction = in->satisfaction;
    m.recording_ref = (char *)in->recording_ref;
    m.notes = (char *)in->notes;
    for (size_t i = 0; i < in->question_count && i < RV_QUESTIONS_MAX; i++) {
        questions[i] = (char *)in->questions[i];
    }
    m.n_question_ids = in->question_count;
    m.question_ids = questions;
    m.due_end_us = in->due_end_us;
    m.channel = (Revisit__V1__Channel)in->channel;
    m.rule_id = (char *)in->rule_id;
    m.store_id = (char *)in->store_id;
    m.due_start_us = in->due_start_us;
    m.phone = (char *)in->phone;
    m.salesperson_id = (char *)in->salesperson_id;
    m.signature_ref = (char *)in->signature_ref;
    m.sms_reply = (char *)in->sms_reply;
    m.sms_gateway_reason = (char *)in->sms_gateway_reason;
    return pack(&m.base, buf, len);
}

rv_err rv_codec_decode_outcome(const uint8_t *buf, size_t len, rv_outcome *out,
                               char *errstr, size_t errstr_size)
{
    const char *w = "outcome";
    Revisit__V1__VisitOutcome *m = (Revisit__V1__VisitOutcome *)unpack(
        &revisit__v1__visit_outcome__descriptor, buf, len, w, errstr,
        errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_outcome *r = calloc(1, sizeof(*r));
    bool ok = r != NULL;
    ok = ok && env_from_pb(m->envelope, &r->env, w, errstr, errstr_size) &&
         cp(r->outcome_id, sizeof(r->outcome_id), m->outcome_id, w,
            "outcome_id", true, errstr, errstr_size) &&
         cp(r->assignment_id, sizeof(r->assignment_id), m->assignment_id, w,
            "assignment_id", true, errstr, errstr_size) &&
         cp(r->task_id, sizeof(r->task_id), m->task_id, w, "task_id", true,
            errstr, errstr_size) &&
         cp(r->customer_id, sizeof(r->customer_id), m->customer_id, w,
            "customer_id", true, errstr, errstr_size) &&
         cp(r->branch_id, sizeof(r->branch_id), m->branch_id, w, "branch_id",
            true, errstr, errstr_size) &&
         cp(r->agent_id, sizeof(r->agent_id), m->agent_id, w, "agent_id", true,
            errstr, errstr_size) &&
         cp(r->recording_ref, sizeof(r->recording_ref), m->recording_ref, w,
            "recording_ref", false, errstr, errstr_size) &&
         cp(r->notes, sizeof(r->notes), m->notes, w, "notes", false, errstr,
            errstr_size) &&
         cp(r->rule_id, sizeof(r->rule_id), m->rule_id, w, "rule_id", false,
            errstr, errstr_size) &&
         cp(r->store_id, sizeof(r->store_id), m->store_id, w, "store_id", false,
            errstr, errstr_size) &&
         cp(r->phone, sizeof(r->phone), m->phone, w, "phone", false, errstr,
            errstr_size) &&
         cp(r->salesperson_id, sizeof(r->salesperson_id), m->salesperson_id, w,
            "salesperson_id", false, errstr, errstr_size) &&
         cp(r->signature_ref, sizeof(r->signature_ref), m->signature_ref, w,
            "signature_ref", false, errstr, errstr_size) &&
         cp(r->sms_reply, sizeof(r->sms_reply), m->sms_reply, w, "sms_reply",
            false, errstr, errstr_size) &&
         cp(r->sms_gateway_reason, sizeof(r->sms_gateway_reason),
            m->sms_gateway_reason, w, "sms_gateway_reason", false, errstr,
            errstr_size) &&
         channel_ok(m->channel, w, errstr, errstr_size) &&
         copy_questions(r->questions, &r->question_count, m->n_question_ids,
                        m->question_ids, w, errstr, errstr_size) &&
         answers_from_pb(r->answers, &r->answer_count, m->n_answers, m->answers,
                         w, errstr, errstr_size);
    if (ok &&
        (m->disposition < REVISIT__V1__DISPOSITION__DISPOSITION_ANSWERED ||
         m->disposition > REVISIT__V1__DISPOSITION__DISPOSITION_ON_SITE_DONE)) {
        rv_errf(errstr, errstr_size, "outcome %s: disposition %d unknown",
                r->outcome_id, (int)m->disposition);
        ok = false;
    }
    if (ok && (m->satisfaction < -1 || m->satisfaction > 5)) {
        rv_errf(errstr, errstr_size,
                "outcome %s: satisfaction %d outside -1..5 (G2)", r->outcome_id,
                m->satisfaction);
        ok = false;
    }
    if (ok && (m->attempt < 1 || m->attempt > RV_ATTEMPTS_MAX)) {
        rv_errf(errstr, errstr_size, "outcome %s: attempt %u outside 1..%d",
                r->outcome_id, m->attempt, RV_ATTEMPTS_MAX);
        ok = false;
    }
    ok = ok && call_ok("outcome", r->outcome_id, m->started_at_us,
                       m->talk_time_s, errstr, errstr_size);
    if (ok) {
        r->attempt = m->attempt;
        r->disposition = (rv_disposition)m->disposition;
        r->started_at_us = m->started_at_us;
        r->talk_time_s = m->talk_time_s;
        r->satisfaction = m->satisfaction;
        r->due_end_us = m->due_end_us;
        r->due_start_us = m->due_start_us;
        r->channel = (rv_channel)m->channel;
        *out = *r;
    }
    free(r);
    revisit__v1__visit_outcome__free_unpacked(m, NULL);
    return ok ? RV_OK : RV_ERR_INVALID;
}

/* ---- Grade ------------------------------------------------------------- */

rv_err rv_codec_encode_grade(const rv_grade *in, uint8_t **buf, size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__Grade m;
    Revisit__V1__Answer answers[RV_ANSWERS_MAX];
    Revisit__V1__Answer *answer_ptrs[RV_ANSWERS_MAX];
    env_to_pb(&in->env, &env);
    revisit__v1__grade__init(&m);
    m.envelope = &env;
    m.grade_id = (char *)in->grade_id;
    m.outcome_id = (char *)in->outcome_id;
    m.task_id = (char *)in->task_id;
    m.attempt = in->attempt;
    m.customer_id = (char *)in->customer_id;
    m.branch_id = (char *)in->branch_id;
    m.agent_id = (char *)in->agent_id;
    m.verdict = (Revisit__V1__Verdict)in->verdict;
    m.disposition = (Revisit__V1__Disposition)in->disposition;
    m.satisfaction = in->satisfaction;
    m.band = (Revisit__V1__SatisfactionBand)in->band;
    m.evidence_ok = in->evidence_ok;
    m.reason = (char *)in->reason;
    for (size_t i = 0; i < in->compliance_count && i < RV_ANSWERS_MAX; i++) {
        revisit__v1__answer__init(&answers[i]);
        answers[i].question_id = (char *)in->compliance[i].question_id;
        answers[i].value = (char *)in->compliance[i].value;
        answer_ptrs[i] = &answers[i];
    }
    m.n_compliance_answers = in->compliance_count;
    m.compliance_answers = answer_ptrs;
    m.in_due_window = in->in_due_window;
    m.policy_version = (char *)in->policy_version;
    m.notes = (char *)in->notes;
    m.started_at_us = in->started_at_us;
    m.talk_time_s = in->talk_time_s;
    m.channel = (Revisit__V1__Channel)in->channel;
    m.issue_raised = in->issue_raised;
    m.issue_text = (char *)in->issue_text;
    m.store_id = (char *)in->store_id;
    m.salesperson_id = (char *)in->salesperson_id;
    return pack(&m.base, buf, len);
}

rv_err rv_codec_decode_grade(const uint8_t *buf, size_t len, rv_grade *out,
                             char *errstr, size_t errstr_size)
{
    const char *w = "grade";
    Revisit__V1__Grade *m = (Revisit__V1__Grade *)unpack(
        &revisit__v1__grade__descriptor, buf, len, w, errstr, errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_grade *r = calloc(1, sizeof(*r));
    bool ok = r != NULL;
    ok = ok && env_from_pb(m->envelope, &r->env, w, errstr, errstr_size) &&
         cp(r->grade_id, sizeof(r->grade_id), m->grade_id, w, "grade_id", true,
            errstr, errstr_size) &&
         cp(r->outcome_id, sizeof(r->outcome_id), m->outcome_id, w,
            "outcome_id", true, errstr, errstr_size) &&
         cp(r->task_id, sizeof(r->task_id), m->task_id, w, "task_id", true,
            errstr, errstr_size) &&
         cp(r->customer_id, sizeof(r->customer_id), m->customer_id, w,
            "customer_id", true, errstr, errstr_size) &&
         cp(r->branch_id, sizeof(r->branch_id), m->branch_id, w, "branch_id",
            true, errstr, errstr_size) &&
         cp(r->agent_id, sizeof(r->agent_id), m->agent_id, w, "agent_id", false,
            errstr, errstr_size) &&
         cp(r->reason, sizeof(r->reason), m->reason, w, "reason", false, errstr,
            errstr_size) &&
         cp(r->policy_version, sizeof(r->policy_version), m->policy_version, w,
            "policy_version", true, errstr, errstr_size) &&
         cp(r->notes, sizeof(r->notes), m->notes, w, "notes", false, errstr,
            errstr_size) &&
         cp(r->issue_text, sizeof(r->issue_text), m->issue_text, w,
            "issue_text", false, errstr, errstr_size) &&
         cp(r->store_id, sizeof(r->store_id), m->store_id, w, "store_id", false,
            errstr, errstr_size) &&
         cp(r->salesperson_id, sizeof(r->salesperson_id), m->salesperson_id, w,
            "salesperson_id", false, errstr, errstr_size) &&
         channel_ok(m->channel, w, errstr, errstr_size) &&
         answers_from_pb(r->compliance, &r->compliance_count,
                         m->n_compliance_answers, m->compliance_answers, w,
                         errstr, errstr_size);
    if (ok && (m->verdict < REVISIT__V1__VERDICT__VERDICT_SUCCESS ||
               m->verdict > REVISIT__V1__VERDICT__VERDICT_FAILED)) {
        rv_errf(errstr, errstr_size, "grade %s: verdict %d unknown",
                r->grade_id, (int)m->verdict);
        ok = false;
    }
    if (ok && (m->attempt < 1 || m->attempt > RV_ATTEMPTS_MAX)) {
        rv_errf(errstr, errstr_size, "grade %s: attempt %u outside 1..%d",
                r->grade_id, m->attempt, RV_ATTEMPTS_MAX);
        ok = false;
    }
    ok = ok && call_ok("grade", r->grade_id, m->started_at_us, m->talk_time_s,
                       errstr, errstr_size);
    if (ok) {
        r->attempt = m->attempt;
        r->verdict = (rv_verdict)m->verdict;
        r->disposition = (rv_disposition)m->disposition;
        r->satisfaction = m->satisfaction;
        r->band = (rv_band)m->band;
        r->evidence_ok = m->evidence_ok;
        r->in_due_window = m->in_due_window;
        r->started_at_us = m->started_at_us;
        r->talk_time_s = m->talk_time_s;
        r->channel = (rv_channel)m->channel;
        r->issue_raised = m->issue_raised;
        *out = *r;
    }
    free(r);
    revisit__v1__grade__free_unpacked(m, NULL);
    return ok ? RV_OK : RV_ERR_INVALID;
}

/* ---- ComplianceAlert --------------------------------------------------- */

rv_err rv_codec_encode_alert(const rv_alert *in, uint8_t **buf, size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__ComplianceAlert m;
    env_to_pb(&in->env, &env);
    revisit__v1__compliance_alert__init(&m);
    m.envelope = &env;
    m.alert_id = (char *)in->alert_id;
    m.grade_id = (char *)in->grade_id;
    m.task_id = (char *)in->task_id;
    m.customer_id = (char *)in->customer_id;
    m.branch_id = (char *)in->branch_id;
    m.agent_id = (char *)in->agent_id;
    m.kind = (char *)in->kind;
    m.severity = (Revisit__V1__Severity)in->severity;
    m.route_to = (char *)in->route_to;
    m.evidence = (char *)in->evidence;
    m.policy_version = (char *)in->policy_version;
    m.suspected = in->suspected;
    m.deadline_us = in->deadline_us;
    m.case_id = (char *)in->case_id;
    m.notify = (char *)in->notify;
    m.attempt = in->attempt;
    m.salesperson_id = (char *)in->salesperson_id;
    m.store_id = (char *)in->store_id;
    return pack(&m.base, buf, len);
}

rv_err rv_codec_decode_alert(const uint8_t *buf, size_t len, rv_alert *out,
                             char *errstr, size_t errstr_size)
{
    const char *w = "alert";
    Revisit__V1__ComplianceAlert *m = (Revisit__V1__ComplianceAlert *)unpack(
        &revisit__v1__compliance_alert__descriptor, buf, len, w, errstr,
        errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_alert r = {0};
    bool ok = env_from_pb(m->envelope, &r.env, w, errstr, errstr_size) &&
              cp(r.alert_id, sizeof(r.alert_id), m->alert_id, w, "alert_id",
                 true, errstr, errstr_size) &&
              cp(r.grade_id, sizeof(r.grade_id), m->grade_id, w, "grade_id",
                 false, errstr, errstr_size) &&
              cp(r.task_id, sizeof(r.task_id), m->task_id, w, "task_id", true,
                 errstr, errstr_size) &&
              cp(r.customer_id, sizeof(r.customer_id), m->customer_id, w,
                 "customer_id", true, errstr, errstr_size) &&
              cp(r.branch_id, sizeof(r.branch_id), m->branch_id, w, "branch_id",
                 true, errstr, errstr_size) &&
              cp(r.agent_id, sizeof(r.agent_id), m->agent_id, w, "agent_id",
                 false, errstr, errstr_size) &&
              cp(r.kind, sizeof(r.kind), m->kind, w, "kind", true, errstr,
                 errstr_size) &&
              cp(r.route_to, sizeof(r.route_to), m->route_to, w, "route_to",
                 false, errstr, errstr_size) &&
              cp(r.evidence, sizeof(r.evidence), m->evidence, w, "evidence",
                 false, errstr, errstr_size) &&
              cp(r.policy_version, sizeof(r.policy_version), m->policy_version,
                 w, "policy_version", true, errstr, errstr_size) &&
              cp(r.case_id, sizeof(r.case_id), m->case_id, w, "case_id", false,
                 errstr, errstr_size) &&
              cp(r.notify, sizeof(r.notify), m->notify, w, "notify", false,
                 errstr, errstr_size) &&
              cp(r.salesperson_id, sizeof(r.salesperson_id), m->salesperson_id,
                 w, "salesperson_id", false, errstr, errstr_size) &&
              cp(r.store_id, sizeof(r.store_id), m->store_id, w, "store_id",
                 false, errstr, errstr_size);
    if (ok && (m->severity < REVISIT__V1__SEVERITY__SEVERITY_GENERAL ||
               m->severity > REVISIT__V1__SEVERITY__SEVERITY_MAJOR)) {
        rv_errf(errstr, errstr_size, "alert %s: severity %d unknown",
                r.alert_id, (int)m->severity);
        ok = false;
    }
    r.severity = (rv_severity)m->severity;
    r.suspected = m->suspected;
    r.deadline_us = m->deadline_us;
    r.attempt = m->attempt;
    revisit__v1__compliance_alert__free_unpacked(m, NULL);
    if (!ok) {
        return RV_ERR_INVALID;
    }
    *out = r;
    return RV_OK;
}

/* ---- CaseEvent --------------------------------------------------------- */

rv_err rv_codec_encode_case_event(const rv_case_event *in, uint8_t **buf,
                                  size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__CaseEvent m;
    env_to_pb(&in->env, &env);
    revisit__v1__case_event__init(&m);
    m.envelope = &env;
    m.case_id = (char *)in->case_id;
    m.action = (Revisit__V1__CaseAction)in->action;
    m.actor = (char *)in->actor;
    m.text = (char *)in->text;
    return pack(&m.base, buf, len);
}

rv_err rv_codec_decode_case_event(const uint8_t *buf, size_t len,
                                  rv_case_event *out, char *errstr,
                                  size_t errstr_size)
{
    const char *w = "case event";
    Revisit__V1__CaseEvent *m = (Revisit__V1__CaseEvent *)unpack(
        &revisit__v1__case_event__descriptor, buf, len, w, errstr, errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_case_event *r = calloc(1, sizeof(*r));
    bool ok = r != NULL;
    ok = ok && env_from_pb(m->envelope, &r->env, w, errstr, errstr_size) &&
         cp(r->case_id, sizeof(r->case_id), m->case_id, w, "case_id", true,
            errstr, errstr_size) &&
         cp(r->actor, sizeof(r->actor), m->actor, w, "actor", true, errstr,
            errstr_size) &&
         cp(r->text, sizeof(r->text), m->text, w, "text", true, errstr,
            errstr_size);
    if (ok && (m->action < REVISIT__V1__CASE_ACTION__CASE_ACTION_ANSWER ||
               m->action > REVISIT__V1__CASE_ACTION__CASE_ACTION_CLOSE)) {
        rv_errf(errstr, errstr_size, "case event %s: action %d unknown",
                r->case_id, (int)m->action);
        ok = false;
    }
    if (ok) {
        r->action = (rv_case_action)m->action;
        *out = *r;
    }
    free(r);
    revisit__v1__case_event__free_unpacked(m, NULL);
    if (r == NULL) {
        return RV_ERR_NOMEM;
    }
    return ok ? RV_OK : RV_ERR_INVALID;
}

/* ---- SamplingDecision -------------------------------------------------- */

rv_err rv_codec_encode_decision(const rv_decision *in, uint8_t **buf,
                                size_t *len)
{
    Revisit__V1__Envelope env;
    Revisit__V1__SamplingDecision m;
    env_to_pb(&in->env, &env);
    revisit__v1__sampling_decision__init(&m);
    m.envelope = &env;
    m.decision_id = (char *)in->decision_id;
    m.source_event_id = (char *)in->source_event_id;
    m.customer_id = (char *)in->customer_id;
    m.branch_id = (char *)in->branch_id;
    m.store_id = (char *)in->store_id;
    m.rule_id = (char *)in->rule_id;
    m.outcome = (Revisit__V1__DecisionOutcome)in->outcome;
    m.u = in->u;
    m.rate = in->rate;
    m.policy_version = (char *)in->policy_version;
    m.reason = (char *)in->reason;
    m.task_id = (char *)in->task_id;
    return pack(&m.base, buf, len);
}

/* Validate SamplingDecision @p m into *@p out (untouched on error).
 * @returns RV_OK, RV_ERR_INVALID (errstr), RV_ERR_NOMEM */
static rv_err decision_from_pb(const Revisit__V1__SamplingDecision *m,
                               rv_decision *out, char *errstr,
                               size_t errstr_size)
{
    const char *w = "decision";
    rv_decision *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return RV_ERR_NOMEM;
    }
    bool ok =
        env_from_pb(m->envelope, &r->env, w, errstr, errstr_size) &&
        cp(r->decision_id, sizeof(r->decision_id), m->decision_id, w,
           "decision_id", true, errstr, errstr_size) &&
        cp(r->source_event_id, sizeof(r->source_event_id), m->source_event_id,
           w, "source_event_id", true, errstr, errstr_size) &&
        cp(r->customer_id, sizeof(r->customer_id), m->customer_id, w,
           "customer_id", true, errstr, errstr_size) &&
        cp(r->branch_id, sizeof(r->branch_id), m->branch_id, w, "branch_id",
           true, errstr, errstr_size) &&
        cp(r->store_id, sizeof(r->store_id), m->store_id, w, "store_id", false,
           errstr, errstr_size) &&
        cp(r->rule_id, sizeof(r->rule_id), m->rule_id, w, "rule_id", true,
           errstr, errstr_size) &&
        cp(r->policy_version, sizeof(r->policy_version), m->policy_version, w,
           "policy_version", true, errstr, errstr_size) &&
        cp(r->reason, sizeof(r->reason), m->reason, w, "reason", false, errstr,
           errstr_size) &&
        cp(r->task_id, sizeof(r->task_id), m->task_id, w, "task_id", false,
           errstr, errstr_size);
    if (ok &&
        (m->outcome <
             REVISIT__V1__DECISION_OUTCOME__DECISION_OUTCOME_SELECTED ||
         m->outcome > REVISIT__V1__DECISION_OUTCOME__DECISION_OUTCOME_MERGED)) {
        rv_errf(errstr, errstr_size, "decision %s: outcome %d unknown",
                r->decision_id, (int)m->outcome);
        ok = false;
    }
    if (ok && !(m->u >= 0.0 && m->u < 1.0)) {
        rv_errf(errstr, errstr_size, "decision %s: u %g outside [0, 1)",
                r->decision_id, m->u);
        ok = false;
    }
    if (ok && !(m->rate == -1.0 || (m->rate >= 0.0 && m->rate <= 1.0))) {
        rv_errf(errstr, errstr_size,
                "decision %s: rate %g neither -1 nor in [0, 1]", r->decision_id,
                m->rate);
        ok = false;
    }
    if (ok) {
        r->outcome = (rv_decision_outcome)m->outcome;
        r->u = m->u;
        r->rate = m->rate;
        *out = *r;
    }
    free(r);
    return ok ? RV_OK : RV_ERR_INVALID;
}

/* Unpack @p len bytes at @p buf as a SamplingDecision, or NULL (errstr). */
static Revisit__V1__SamplingDecision *decision_unpack(const uint8_t *buf,
                                                      size_t len, char *errstr,
                                                      size_t errstr_size)
{
    return (Revisit__V1__SamplingDecision *)unpack(
        &revisit__v1__sampling_decision__descriptor, buf, len, "decision",
        errstr, errstr_size);
}

rv_err rv_codec_decode_decision(const uint8_t *buf, size_t len,
                                rv_decision *out, char *errstr,
                                size_t errstr_size)
{
    Revisit__V1__SamplingDecision *m =
        decision_unpack(buf, len, errstr, errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    bool ok = m->n_more == 0;
    if (!ok) {
        rv_errf(errstr, errstr_size,
                "decision: the message carries %zu more decisions (read it "
                "with rv_codec_decode_decisions)",
                m->n_more);
    }
    rv_err err =
        ok ? decision_from_pb(m, out, errstr, errstr_size) : RV_ERR_INVALID;
    revisit__v1__sampling_decision__free_unpacked(m, NULL);
    return err;
}

rv_err rv_codec_decode_decisions(const uint8_t *buf, size_t len,
                                 rv_decision *out, size_t cap, size_t *count,
                                 char *errstr, size_t errstr_size)
{
    Revisit__V1__SamplingDecision *m =
        decision_unpack(buf, len, errstr, errstr_size);
    if (m == NULL) {
        return RV_ERR_INVALID;
    }
    rv_err err = RV_OK;
    if (cap == 0 || m->n_more > cap - 1) {
        rv_errf(errstr, errstr_size,
                "decision: the message carries %zu decisions, at most %zu "
                "taken",
                1 + m->n_more, cap);
        err = RV_ERR_INVALID;
    }
    if (err == RV_OK) {
        err = decision_from_pb(m, &out[0], errstr, errstr_size);
    }
    for (size_t i = 0; err == RV_OK && i < m->n_more; i++) {
        const Revisit__V1__SamplingDecision *d = m->more[i];
        if (d->n_more > 0) {
            rv_errf(errstr, errstr_size,
                    "decision: decision %zu of the message has a more of its "
                    "own",
                    i + 2);
            err = RV_ERR_INVALID;
            break;
        }
        err = decision_from_pb(d, &out[1 + i], errstr, errstr_size);
        if (err == RV_OK &&
            strcmp(out[1 + i].customer_id, out[0].customer_id) != 0) {
            rv_errf(errstr, errstr_size,
                    "decision %s: customer differs from the message's first "
                    "decision's",
                    out[1 + i].decision_id);
            err = RV_ERR_INVALID;
        }
    }
    if (err == RV_OK) {
        *count = 1 + m->n_more;
    }
    revisit__v1__sampling_decision__free_unpacked(m, NULL);
    return err;
}

/* Field 14 (more), wire type 2 (length-delimited). */
#define DECISION_MORE_TAG ((14u << 3) | 2u)

/* @p v as a protobuf varint at @p out (room for 10 bytes); its length. */
static size_t put_varint(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

rv_err rv_codec_join_decisions(const uint8_t *const *parts, const size_t *lens,
                               size_t n, uint8_t **buf, size_t *len)
{
    if (n == 0 || n > RV_CODEC_DECISIONS_MAX) {
        return RV_ERR_INVALID;
    }
    size_t total = lens[0];
    for (size_t i = 1; i < n; i++) {
        total += 1 + 10 + lens[i]; /* tag, length (at most), part */
    }
    if (total > RV_CODEC_MAX_BYTES + 11 * RV_CODEC_DECISIONS_MAX) {
        return RV_ERR_INVALID;
    }
    uint8_t *out = malloc(total);
    if (out == NULL) {
        return RV_ERR_NOMEM;
    }
    memcpy(out, parts[0], lens[0]);
    size_t at = lens[0];
    for (size_t i = 1; i < n; i++) {
        out[at++] = DECISION_MORE_TAG;
        at += put_varint(lens[i], out + at);
        memcpy(out + at, parts[i], lens[i]);
        at += lens[i];
    }
    if (at > RV_CODEC_MAX_BYTES) {
        free(out);
        return RV_ERR_INVALID;
    }
    *buf = out;
    *len = at;
    return RV_OK;
}

/* ---- tasks as hex ------------------------------------------------------ */

rv_err rv_codec_encode_task_hex(const rv_task *in, char **hex)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *hex = NULL;
    rv_err err = rv_codec_encode_task(in, &buf, &len);
    if (err != RV_OK) {
        return err;
    }
    *hex = malloc(2 * len + 1);
    if (*hex != NULL) {
        rv_hex_encode(buf, len, *hex);
    }
    free(buf);
    return *hex != NULL ? RV_OK : RV_ERR_NOMEM;
}

rv_err rv_codec_decode_task_hex(const char *hex, rv_task *out, char *errstr,
                                size_t errstr_size)
{
    size_t room = strlen(hex) / 2 + 1;
    uint8_t *buf = malloc(room);
    if (buf == NULL) {
        return RV_ERR_NOMEM;
    }
    long len = rv_hex_decode(hex, buf, room);
    rv_err err = RV_ERR_INVALID;
    if (len <= 0) {
        rv_errf(errstr, errstr_size, "task: not hex (%zu characters)",
                strlen(hex));
    } else {
        err = rv_codec_decode_task(buf, (size_t)len, out, errstr, errstr_size);
    }
    free(buf);
    return err;
}
