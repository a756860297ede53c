/* include/rv/keying.h: which field of a decoded message its Kafka key must
 * equal, per topic, and the check every consumer runs after decoding. */
#ifndef RV_KEYING_H
#define RV_KEYING_H

#include <stddef.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/kafka.h"

/** The field of its message that a topic's Kafka key carries. */
typedef enum rv_key_field {
    /** DESIGN §3 "Topics are keyed by customer_id", so that one
     *  customer's events stay ordered on one partition: sales.events,
     *  service.events (revisitctl import, generate), visits.tasks
     *  (sampler, grader's R10 spot checks, revisitctl sample-population),
     *  visits.retries (grader), visits.decisions (sampler,
     *  sample-population; every decision of a message is one customer's),
     *  visits.assignments (assigner), visits.outcomes (agents, agentsim),
     *  visits.grades (grader), compliance.alerts (alerter, assigner), and
     *  any topic name not listed here. */
    RV_KEY_FIELD_CUSTOMER_ID = 0,
    /** compliance.cases: a case's answers and closing opinion stay in
     *  order (revisitctl case, workers/revisitctl/cmd_case.c); a CaseEvent
     *  names no customer. */
    RV_KEY_FIELD_CASE_ID,
} rv_key_field;

/** What a decoded message offers as its key: each field NULL when the
 *  message has none. All borrowed, NUL-terminated. */
typedef struct rv_key_values {
    const char *customer_id;
    const char *case_id;
} rv_key_values;

/**
 * The field that the messages of @p topic are keyed by (see
 * rv_key_field). A name the table does not list (a test's or a replay's
 * own topic) follows DESIGN §3's rule: customer_id.
 * @param topic  NUL-terminated, borrowed; NULL reads as an unlisted name
 */
rv_key_field rv_keying_field(const char *topic);

/** Name of @p field as in the schema ("customer_id", "case_id"). Static
 *  storage, never NULL. */
const char *rv_key_field_name(rv_key_field field);

/**
 * Check that the Kafka key of @p m (borrowed) is, byte for byte, the
 * value of the field its topic is keyed by (rv_keying_field(m->topic)),
 * taken from @p values: the message @p m decoded to. A message keyed by
 * anything else would land on another customer's partition and lose its
 * order with that customer's other events (DESIGN §3, tester finding 7),
 * so it is invalid, like a message that does not decode: the caller
 * dead-letters it with @p errstr as the reason.
 * @param values  borrowed for the call
 * @param errstr  may be NULL; on RV_ERR_INVALID one sentence naming the
 *                topic, the field, the key and the value (quoted with
 *                rv_errquote)
 * @returns RV_OK; RV_ERR_INVALID when @p m has no key (NULL or empty),
 *          when its key differs from the field's value, or when
 *          @p values has no value for that field (a message of another
 *          kind than its topic carries)
 * Threads: pure function.
 */
RV_MUSTCHECK rv_err rv_keying_check(const rv_msg *m,
                                    const rv_key_values *values, char *errstr,
                                    size_t errstr_size);

#endif /* RV_KEYING_H */
