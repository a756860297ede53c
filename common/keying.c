/* common/keying.c: the Kafka key rule of every topic (rv/keying.h). */
#include "rv/keying.h"

#include <string.h>

/* The topics not keyed by customer_id, each with the producer that keys
 * it so; every other topic is keyed by customer_id (DESIGN §3). */
static const struct {
    const char *topic;
    rv_key_field field;
} exceptions[] = {
    {"compliance.cases", RV_KEY_FIELD_CASE_ID}, /* revisitctl case */
};

rv_key_field rv_keying_field(const char *topic)
{
    if (topic == NULL) {
        return RV_KEY_FIELD_CUSTOMER_ID;
    }
    for (size_t i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++) {
        if (strcmp(topic, exceptions[i].topic) == 0) {
            return exceptions[i].field;
        }
    }
    return RV_KEY_FIELD_CUSTOMER_ID;
}

const char *rv_key_field_name(rv_key_field field)
{
    switch (field) {
    case RV_KEY_FIELD_CUSTOMER_ID:
        return "customer_id";
    case RV_KEY_FIELD_CASE_ID:
        return "case_id";
    }
    return "unknown";
}

rv_err rv_keying_check(const rv_msg *m, const rv_key_values *values,
                       char *errstr, size_t errstr_size)
{
    rv_key_field field = rv_keying_field(m->topic);
    const char *name = rv_key_field_name(field);
    const char *topic = m->topic != NULL ? m->topic : "";
    const char *want =
        field == RV_KEY_FIELD_CASE_ID ? values->case_id : values->customer_id;
    char key_q[RV_ERRQUOTE_SIZE];
    char want_q[RV_ERRQUOTE_SIZE];
    if (want == NULL) {
        rv_errf(errstr, errstr_size,
                "%s: message has no %s, the field this topic is keyed by",
                topic, name);
        return RV_ERR_INVALID;
    }
    size_t want_len = strlen(want);
    rv_errquote(want_q, sizeof(want_q), want, want_len);
    if (m->key == NULL || m->key_len == 0) {
        rv_errf(errstr, errstr_size,
                "%s: Kafka key missing, must be the message's %s %s", topic,
                name, want_q);
        return RV_ERR_INVALID;
    }
    if (m->key_len != want_len || memcmp(m->key, want, want_len) != 0) {
        rv_errf(errstr, errstr_size,
                "%s: Kafka key %s is not the message's %s %s", topic,
                rv_errquote(key_q, sizeof(key_q), m->key, m->key_len), name,
                want_q);
        return RV_ERR_INVALID;
    }
    return RV_OK;
}
