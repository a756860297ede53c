/* workers/revisitctl/case_event.h: the CaseEvent a person's action on a
 * case becomes (`revisitctl case answer` / `case close`; DESIGN §2 A2,
 * G4). I/O-free, so the rules are unit-tested without a broker. */
#ifndef RV_CASE_EVENT_H
#define RV_CASE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rv/compiler.h"
#include "rv/err.h"
#include "rv/model.h"

/** Producer name in the envelope of every CaseEvent revisitctl sends. */
#define CASE_EVENT_PRODUCER "revisitctl"

/**
 * Build the CaseEvent for @p action on @p case_id by @p actor saying
 * @p text, at @p occurred_at_us (UTC µs; a person's action, so the wall
 * clock unless backfilled). event_id = rv_id_derive(case_id, action name,
 * actor, text): the same command given twice is one fact downstream.
 * The envelope's producer is "revisitctl/<version>", causation_id "" (a
 * person's action derives from no event).
 *
 * Checks what the codec's decoder would refuse, so that nothing is sent
 * that the recorder dead-letters: every string non-empty, within its
 * field (case_id < RV_ID_SIZE, actor < RV_KEY_SIZE, text < RV_NOTES_SIZE
 * bytes: never truncated) and valid UTF-8; @p occurred_at_us in
 * [RV_CODEC_MIN_TIME_US, RV_CODEC_MAX_TIME_US).
 *
 * @param case_id, actor, text  NUL-terminated, borrowed
 * @param out                   on RV_OK the event; untouched on error
 * @param errstr                one sentence naming the field, the value's
 *                              size and the limit; may be NULL
 * @returns RV_OK, RV_ERR_INVALID (input refused), RV_ERR_NOMEM
 */
RV_MUSTCHECK rv_err case_event_build(const char *case_id, rv_case_action action,
                                     const char *actor, const char *text,
                                     int64_t occurred_at_us, rv_case_event *out,
                                     char *errstr, size_t errstr_size);

/** What the record (PostgreSQL's case_status and case_events) says of the
 *  case of a CaseEvent about to be sent. A passive value. */
typedef struct case_record {
    bool exists;            /**< the case is in the record */
    int64_t opened_at_us;   /**< its first alert's time (UTC µs) */
    bool is_answered;       /**< it has an answer ... */
    int64_t answered_at_us; /**< ... the first at this time */
    bool is_closed;         /**< it has a final opinion ... */
    int64_t closed_at_us;   /**< ... the first at this time */
    bool has_event;         /**< an event with the new one's event_id is
                                 recorded already: the same command again */
} case_record;

/**
 * Whether the record @p r (borrowed) allows @p e (borrowed, from
 * case_event_build), so that no event contradicts the case's history:
 *  - the case exists;
 *  - the action is not before the case opened (nor a final opinion
 *    before the first answer): `case show` would list it first;
 *  - the same command again (has_event) is allowed, whatever the case's
 *    status: its event_id makes it the one fact downstream;
 *  - otherwise nothing is added to a closed case, and a close needs an
 *    answer first.
 * @returns RV_OK, RV_ERR_CONFLICT (refused; @p errstr says why, naming
 *          the case and the times, may be NULL)
 */
RV_MUSTCHECK rv_err case_event_check(const rv_case_event *e,
                                     const case_record *r, char *errstr,
                                     size_t errstr_size);

#endif /* RV_CASE_EVENT_H */
